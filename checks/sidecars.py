"""Pods that still run Istio's sidecar (not ASM's proxy), one finding per workload."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.inventory import ClusterInventory, workload_columns, workload_counts
from auditor.istio import (
    UNCLASSIFIED_MESSAGE,
    WORKLOAD_KEY,
    istio_sidecar_rows,
    manual_injections,
    pod_columns,
    rerender_remediation,
    unclassified_proxy_findings,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status


class IstioSidecarsRemaining(ClusterCheck):
    id = "istio-sidecars-remaining"
    title = "No pod still runs an Istio sidecar"
    gates = (Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("`istioctl uninstall --purge` removes istiod; pods still on Istio's sidecar then lose their "
                 "control plane and certificates. Every workload must run ASM's proxy first.")
    remediation = "Label the pod template with sidecar.asm.aliyun.com/inject=true (rolling restart)."
    _LEFT = "{total} pod(s) still run Istio's sidecar ({native} native, {classic} classic)"
    CLEAN = Outcome("AA1201", Status.PASS, "no pod runs Istio's sidecar",
                    message="no Istio sidecar left ({asm} pods on ASM proxies; gateway pods are judged by the gateway "
                            "checks)")
    LEFT = Outcome("AA1210", Status.FAIL, "pods of a workload still run Istio's sidecar; the workload is not "
                   "labelled for ASM's proxy yet", message=_LEFT)
    RESTART_PENDING = Outcome("AA1211", Status.FAIL, "the workload is labelled for ASM's proxy but its pods still run "
                              "Istio's sidecar: restart pending",
                              message="restart pending: {total} pod(s) labelled sidecar.asm.aliyun.com/inject=true "
                                      "still run Istio's sidecar ({native} native, {classic} classic)")
    PARTLY_MOVED = Outcome("AA1212", Status.FAIL, "some pods of the workload carry the ASM label, all still run "
                           "Istio's sidecar: rollout in progress or stuck",
                           message=_LEFT + "; {labelled} of them carry sidecar.asm.aliyun.com/inject=true (rollout in "
                                           "progress or stuck?)")
    BAKED_IN = Outcome("AA1213", Status.FAIL, "Istio's sidecar is in the workload template itself (istioctl "
                       "kube-inject): relabelling alone does not move it; re-render the manifest",
                       message=_LEFT + "; the workload template itself contains istio-proxy (kube-inject), so "
                                       "relabelling alone may not move it")
    UNCLASSIFIED = Outcome("AA1230", Status.UNKNOWN,
                           "pods whose proxy marks contradict each other: Istio's or ASM's cannot be told",
                           message=UNCLASSIFIED_MESSAGE)
    CA_OWNER_UNREAD = Outcome(
        "AA1231", Status.UNKNOWN, "pods count as ASM's by their image or env, but whether their CA_ADDR names the "
        "local self-built istiod (which would make them Istio's or unclassifiable) cannot be told: Services or "
        "Deployments unread",
        message="{pods} pod(s) count as ASM's, but the istiod their CA_ADDR names ({ca_services}) cannot be told ASM's "
                "or Istio's: {reason}",
        fix="Grant list on Services and Deployments (`asm-audit rbac`), then audit again.")
    outcomes = (CLEAN, LEFT, RESTART_PENDING, PARTLY_MOVED, BAKED_IN, UNCLASSIFIED, CA_OWNER_UNREAD)
    needs = (K.POD,)
    # Services: which istiod a proxy's CA_ADDR names is told from them (CA_OWNER_UNREAD when they are not read).
    uses = (K.REPLICASET, K.JOB, K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.SERVICE)

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        # Only the rows and columns read, as a frame of those columns' arrays: filtering copies each column kept.
        sidecars = pod_columns(pods, istio_sidecar_rows(pods), [*WORKLOAD_KEY, "name", "native", "asm_inject",
                                                                "proxy_image"])
        baked, _ = manual_injections(cluster, ctx.inv.rules) if not sidecars.empty else ({}, {})
        # Plain lists in workload order (inventory.workload_columns): no DataFrame, nor dict of lists, per workload.
        keys, bounds, values = workload_columns(sidecars, ("name", "native", "asm_inject", "proxy_image"))
        natives, labels = workload_counts(values["native"], bounds), workload_counts(values["asm_inject"], bounds)
        pod_names, images = values["name"], values["proxy_image"]
        # A workload's pods' images -> their distinct texts, sorted: written once per distinct sequence (a workload's
        # pods mostly run the same image), a copy per finding.
        distinct_images: dict[tuple[Any, ...], list[str]] = {}
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            native, labelled, total = natives[g], labels[g], end - start
            params = {"total": total, "native": native, "classic": total - native}
            workload_images = tuple(images[start:end])
            image_texts = distinct_images.get(workload_images)
            if image_texts is None:
                image_texts = distinct_images[workload_images] = sorted({str(i) for i in workload_images})
            evidence = {"pods": pod_names[start:min(end, start + 20)], "pod_count": total, "native": native,
                        "images": [*image_texts], "labelled_for_asm": labelled, "restart_pending": labelled == total}
            if baked and (namespace, kind, name) in baked:  # most clusters: none kube-injected, no key per workload
                remediation = rerender_remediation(cluster.name, kind, namespace, name)
                evidence["manual_injection"] = True
                outcome = self.BAKED_IN
            elif labelled == total:
                remediation = mesh.restart_command(cluster.name, kind, namespace, name)
                outcome = self.RESTART_PENDING
            elif labelled:
                params["labelled"] = labelled
                remediation = mesh.asm_inject_command(cluster.name, kind, namespace, name)
                outcome = self.PARTLY_MOVED
            else:
                remediation = mesh.asm_inject_command(cluster.name, kind, namespace, name)
                outcome = self.LEFT
            yield self.report(outcome, cluster.name, params=params, kind=kind, namespace=namespace, name=name,
                              remediation=remediation, evidence=evidence)
        unclassified = list(unclassified_proxy_findings(self, self.UNCLASSIFIED, cluster, pods))
        yield from unclassified
        if sidecars.empty and not unclassified:
            moved = (pods["proxy"] == mesh.PROXY_ASM) & (pods["role"] == mesh.ROLE_SIDECAR)
            unproven = self._ca_owner_unread(cluster, pods, moved)
            if unproven is not None:
                yield unproven
                return
            asm = int(moved.sum())
            gateways = int((pods["role"] == mesh.ROLE_GATEWAY).sum())
            yield self.report(self.CLEAN, cluster.name, params={"asm": asm},
                              evidence={"asm_proxy_pods": asm, "gateway_pods": gateways, "pods": len(pods)})

    def _ca_owner_unread(self, cluster: ClusterInventory, pods: Any, moved: Any) -> Finding | None:
        """With the istiod Services or Deployments unread, no CA_ADDR's istiod is proven Istio's
        (mesh.OWNER_UNPROVEN), so a proxy with ASM's image or env and CA_ADDR at the local self-built istiod (a
        contradiction, AA1230, when they are read) counts as ASM's: "no Istio sidecar left" is then not proven for the
        ASM-counted pods that name an in-cluster istiod. None when both kinds were read or no such pod exists."""
        unread = [kind for kind in (K.SERVICE, K.DEPLOYMENT) if not cluster.available(kind)]
        if not unread:
            return None
        named = pods.loc[moved & (pods["ca_service"].astype(str) != ""), ["name", "ca_service"]]
        if named.empty:
            return None
        services = sorted({str(s) for s in named["ca_service"]})
        reason = "; ".join(f"{kind.kind} unread: {cluster.unread_reason(kind)}" for kind in unread)
        return self.report(self.CA_OWNER_UNREAD, cluster.name,
                           params={"pods": len(named), "ca_services": ", ".join(services), "reason": reason},
                           evidence={"pods": [str(n) for n in named["name"][:20]], "pod_count": len(named),
                                     "ca_services": services, "unread": [kind.kind for kind in unread]})
