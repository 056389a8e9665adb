"""Pods that still run Istio's sidecar (not ASM's proxy), one finding per workload; and Istio's proxies outside
Kubernetes (VMs), which the cluster shows only through WorkloadGroups and WorkloadEntries (auditor/vms.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import idle, mesh, rollouts, vms
from auditor import kinds as K
from auditor.asm import injection_policy
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ACTIVE_PHASES, ClusterInventory, workload_columns, workload_counts
from auditor.istio import (
    ON_ISTIO_MESSAGE,
    SERVER_ABSENT,
    UNCLASSIFIED_MESSAGE,
    WORKLOAD_KEY,
    ambient_capture_is_asms,
    among,
    istio_sidecar_rows,
    manual_injections,
    pod_columns,
    proxyless_rows,
    proxyless_server_owner,
    rerender_remediation,
    unclassified_proxy_findings,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status

# What AA1218 says a workload's next pods get once Istio's injector is deleted.
AFTER_ASM = Phrase(N_("ASM's proxy from ASM's injector"))
AFTER_NONE = Phrase(N_("no proxy at all (ASM's injector does not select it)"))
# Why AA1239 cannot tell whether ASM's injector takes a template its webhook selects, when ASM's policy is read.
ONLY_ASKED = N_("ASM's injector injects only pods carrying sidecar.istio.io/inject=true ({source}) and the template "
                "does not carry it; whether ASM's label sidecar.asm.aliyun.com/inject=true stands in for it is not "
                "documented")
# Why a held workload that runs no pod (idle.IdleWorkload.held) is judged by an earlier template (AA1218's, AA1219's
# {why}): a paused Deployment's scale-up scales an earlier ReplicaSet, a held Argo Rollout's its stable one.
HELD_IDLE = N_("{why}; {hold}: its next pods are made from the template of {made_from}")
# What AA1220 says selects a workload's template now when no injector webhook does.
NO_INJECTOR_NOW = Phrase(N_("no injector webhook of the cluster selects its template (Istio's is gone; ASM's injects "
                            "only templates labelled sidecar.asm.aliyun.com/inject=true during the migration)"))
# What AA1235's message says for a bootstrap whose istiod cannot be read from it (mesh.XDS_SERVER_UNREADABLE).
UNNAMED_SERVER = Phrase(N_("an istiod its bootstrap does not name"))

def _workloads_and_reasons(workloads: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The params and evidence of one UNKNOWN about several workloads ("<kind> <namespace>/<name>", why): the first
    five named, each reason once in the workloads' order (the first three said)."""
    names = [ref for ref, _ in workloads]
    distinct: dict[str, str] = {}
    for _, why in workloads:
        distinct.setdefault(str(why), why)
    said = list(distinct.values())
    params = {"count": len(names), "workloads": ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""),
              "reason": joined("; ", [*said[:3], *(["..."] if len(said) > 3 else [])])}
    return params, {"workloads": names[:20], "workload_count": len(names), "reasons": list(distinct)[:20]}


class IstioSidecarsRemaining(ClusterCheck):
    id = "istio-sidecars-remaining"
    title = "No pod still runs an Istio sidecar"
    gates = (Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("`istioctl uninstall --purge` removes istiod; pods still on Istio's sidecar then lose their "
                 "control plane and certificates. Every workload must run ASM's proxy first. So must every VM proxy "
                 "(WorkloadGroup, WorkloadEntry) bootstrapped against Istio's istiod, and every proxyless gRPC app "
                 "whose injected xDS bootstrap (Istio's grpc-simple template) names Istio's istiod. A workload that "
                 "runs no pod now (scaled to zero, a CronJob between runs) gets its next pods' proxy from the injector "
                 "webhooks then present: Istio's gives its sidecar, and once the purge deletes it an unlabelled "
                 "template gets none. At the finished gate, pods already created that way (no proxy where their "
                 "namespace or template asks for one) are outside the mesh their ASM-proxied peers enforce.")
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
    # The template asks for ASM's proxy and these pods are of an earlier one (rollouts.update_hold): a paused
    # Deployment, an OnDelete StatefulSet or DaemonSet, a StatefulSet's partition, or a rollout under way or stuck.
    # (main: AA1210 "not labelled yet", with the label patch that changes nothing for them.)
    HELD = Outcome("AA1241", Status.FAIL, "the workload's template is labelled for ASM's proxy, but its pods were made "
                   "from an earlier template and still run Istio's sidecar: its update strategy holds them (paused, "
                   "OnDelete, a StatefulSet partition) or its rollout has not replaced them yet",
                   message=_LEFT + " although its template is labelled sidecar.asm.aliyun.com/inject=true: {why}")
    UNCLASSIFIED = Outcome("AA1230", Status.UNKNOWN,
                           "pods whose proxy marks contradict each other: Istio's or ASM's cannot be told",
                           message=UNCLASSIFIED_MESSAGE)
    # Contradicting marks where one is a CA_ADDR of Istio's istiod (or of one the cluster no longer has): Istio's
    # injector made the pod with ASM's image (its values' hub/proxy.image, or sidecar.istio.io/proxyImage), or the
    # like. Which image it runs does not matter to the uninstall: the istiod it depends on goes (or went) with it.
    ON_ISTIO_CONTROL_PLANE = Outcome(
        "AA1240", Status.FAIL, "pods run a proxy marked ASM's (image or env) whose CA_ADDR or PROXY_CONFIG "
        "discoveryAddress names Istio's istiod, or an istiod the cluster no longer has (purged): they depend on "
        "Istio's control plane, whatever image they run",
        message=ON_ISTIO_MESSAGE)
    VM_GROUP_ON_ISTIO = Outcome("AA1214", Status.FAIL, "VM proxies auto-registered from a WorkloadGroup are connected "
                                "to this cluster's self-built istiod: the uninstall cuts them off from xDS and "
                                "certificates",
                                message="{connected} of {entries} VM proxy(ies) of WorkloadGroup {namespace}/{name} "
                                        "are connected to Istio's istiod (pod(s) {pods})")
    VM_ENTRY_ON_ISTIO = Outcome("AA1215", Status.FAIL, "the proxy of a WorkloadEntry (a VM or other workload outside "
                                "Kubernetes) is connected to this cluster's self-built istiod",
                                message="the proxy of WorkloadEntry {namespace}/{name} ({address}) is connected to "
                                        "Istio's istiod (pod {pod})")
    VM_GROUP_UNPROVEN = Outcome("AA1231", Status.UNKNOWN, "a WorkloadGroup bootstraps VM proxies, and which control "
                                "plane they use cannot be told from the cluster: verify it, then exempt the finding",
                                message="WorkloadGroup {namespace}/{name} bootstraps VM proxies, and which istiod they "
                                        "use cannot be told here ({entries} auto-registered WorkloadEntry(ies): "
                                        "{elsewhere} connected to an istiod other than this cluster's self-built "
                                        "one, {disconnected} not connected)")
    VM_ENTRY_UNPROVEN = Outcome("AA1232", Status.UNKNOWN, "a WorkloadEntry stands for a workload with a proxy "
                                "(service account, Istio mutual TLS, health checks, an istiod's stamps), and which "
                                "control plane that proxy uses cannot be told from the cluster: verify it, then exempt "
                                "the finding",
                                message="WorkloadEntry {namespace}/{name} ({address}) stands for a workload with a "
                                        "proxy ({signs}), and which istiod it uses cannot be told here")
    VM_UNREAD = Outcome("AA1233", Status.UNKNOWN, "WorkloadEntries or WorkloadGroups cannot be read: VM proxies still "
                        "on Istio's istiod cannot be ruled out",
                        fix="Grant list on workloadentries and workloadgroups (networking.istio.io; `asm-audit rbac`), "
                            "or collect them into the snapshot, then audit again.",
                        message="{kind} objects cannot be read ({reason}): VM proxies still on Istio's istiod cannot "
                                "be ruled out")
    CA_OWNER_UNREAD = Outcome(
        "AA1234", Status.UNKNOWN, "pods count as ASM's by their image or env, but whether their CA_ADDR names the "
        "local self-built istiod (which would make them Istio's or unclassifiable) cannot be told: Services or "
        "Deployments unread",
        message="{pods} pod(s) count as ASM's, but the istiod their CA_ADDR names ({ca_services}) cannot be told ASM's "
                "or Istio's: {reason}",
        fix="Grant list on Services and Deployments (`asm-audit rbac`), then audit again.")
    # Proxyless gRPC apps injected with Istio's grpc-simple template (mesh.proxyless_xds_server): no proxy, but an xDS
    # bootstrap naming an istiod, from which the app takes its configuration straight.
    PROXYLESS_ON_ISTIO = Outcome(
        "AA1216", Status.FAIL, "a proxyless gRPC app (Istio's grpc-simple injection: no proxy, an xDS bootstrap) takes "
        "its configuration straight from Istio's istiod: the uninstall leaves it without an xDS server",
        message="{total} pod(s) of a proxyless gRPC app take xDS straight from Istio's istiod {server} (bootstrap "
                "written by init container grpc-bootstrap-init): the uninstall removes it")
    PROXYLESS_NO_SERVER = Outcome(
        "AA1217", Status.FAIL, "a proxyless gRPC app (Istio's grpc-simple injection) takes its configuration from an "
        "istiod the cluster does not have (removed, or never there): it gets none",
        message="{total} pod(s) of a proxyless gRPC app take xDS straight from {server}, which the cluster's Services "
                "and Deployments do not show: they get no configuration")
    PROXYLESS_UNPROVEN = Outcome(
        "AA1235", Status.UNKNOWN, "a proxyless gRPC app (Istio's grpc-simple injection) takes its configuration "
        "straight from an istiod that cannot be told ASM's or Istio's",
        fix="Find which control plane serves the app (the bootstrap its grpc-bootstrap-init container writes, "
            "`istioctl proxy-status` on Istio's istiod); move it to ASM (ASM documents proxyless gRPC with the "
            "grpc-agent template), or grant list on Services and Deployments (`asm-audit rbac`) and audit again.",
        message="{total} pod(s) of a proxyless gRPC app take xDS straight from {server}, which cannot be told ASM's "
                "or Istio's: {why}")
    # Workloads that run no pod now (auditor/idle.py): their next pods are injected by the webhooks the cluster has.
    IDLE_ON_ISTIO = Outcome(
        "AA1218", Status.FAIL, "a workload that runs no pod now (scaled to zero, a CronJob between runs, a DaemonSet "
        "no node runs) is selected by Istio's injector and not moved to ASM's: its next pods get Istio's sidecar, and "
        "once the purge deletes Istio's injector they get no proxy unless ASM's injector selects them",
        message="{kind} {namespace}/{name} runs no pod ({why}); its next pods get Istio's sidecar from {webhooks}, and "
                "{after} once `istioctl uninstall --purge` deletes that injector",
        fix="Label the pod template for ASM's proxy (no pod restarts while none runs); then its next pods get ASM's "
            "proxy:\n{command}")
    IDLE_NO_INJECTOR = Outcome(
        "AA1219", Status.FAIL, "a workload that runs no pod now asks for a sidecar (its namespace's or template's "
        "injection labels) but no injector webhook of the cluster selects it (Istio's is gone; during the migration "
        "ASM's injects only templates labelled sidecar.asm.aliyun.com/inject=true): its next pods start with no proxy",
        message="{kind} {namespace}/{name} runs no pod ({why}); its next pods start with no proxy: {asks} asks for "
                "one, and no injector webhook of the cluster selects its template",
        fix="Label the pod template for ASM's proxy (no pod restarts while none runs), and check that ASM's injector "
            "selects it:\n{command}")
    IDLE_UNPROVEN = Outcome(
        "AA1236", Status.UNKNOWN, "a workload that runs no pod now: which proxy its next pods get cannot be told (an "
        "injector webhook whose istiod is not proven ASM's or Istio's, a selector of no known shape, or the "
        "namespaces or webhook configurations unread)",
        message="{count} workload(s) that run no pod now ({workloads}): which proxy their next pods get cannot be "
                "told: {reason}",
        fix="Read what calls the injector webhooks named and which namespaces they select "
            "(`kubectl get mutatingwebhookconfigurations -o yaml`), or grant list on namespaces and "
            "mutatingwebhookconfigurations (`asm-audit rbac`); label each such template "
            "sidecar.asm.aliyun.com/inject=true, then audit again.")
    IDLE_ASM_POLICY = Outcome(
        "AA1239", Status.UNKNOWN, "a workload that runs no pod now is selected by ASM's injector webhook, and whether "
        "ASM's injection policy gives its next pods a proxy cannot be told: the policy is not read, or it injects only "
        "pods carrying sidecar.istio.io/inject=true and the template does not carry it",
        message="{count} workload(s) that run no pod now ({workloads}) are selected by ASM's injector webhook, and "
                "whether ASM's injector gives their next pods a proxy cannot be told: {reason}",
        fix="Give ASM's injection policy (DescribeServiceMeshDetail: --asm-mesh-id and --asm-region, or a saved answer "
            "in config asm.describe_service_mesh_detail); where ASM injects only pods that ask for it (\"Include "
            "sidecar.istio.io/inject: true\"), label each such template sidecar.istio.io/inject=true as well; then "
            "audit again.")
    IDLE_KINDS_UNREAD = Outcome(
        "AA1238", Status.UNKNOWN, "workload kinds could not be read: a workload of theirs that runs no pod now (scaled "
        "to zero, between runs) is not seen, nor which proxy its next pods get",
        message="{kinds} could not be read ({reason}): a workload of theirs that runs no pod now is not seen, nor "
                "which proxy its next pods get",
        fix="Grant list on the kinds named (`asm-audit rbac`), or collect them into the snapshot, then audit again.")
    # Pods that run no proxy where their labels ask for one (auditor/idle.unmeshed_pods), at the finished gate.
    UNMESHED = Outcome(
        "AA1220", Status.FAIL, "(finished gate) pods of a workload run no proxy although their namespace's or "
        "template's injection labels ask for one, and it lost the mesh: other pods of it run one, its template asks "
        "for ASM's, or its pods were made since ASM's proxies came (created while no injector selected them: once "
        "`istioctl uninstall "
        "--purge` deleted Istio's injector, ASM's takes only templates labelled sidecar.asm.aliyun.com/inject=true "
        "during the migration): they are outside the mesh, and their ASM-proxied peers under STRICT mTLS or "
        "AuthorizationPolicies refuse them",
        message="{total} pod(s) of {kind} {namespace}/{name} run no proxy although {asks} asks for one; {now}",
        fix="Label the pod template for ASM's proxy and recreate its pods (patching a Deployment's, StatefulSet's or "
            "DaemonSet's template rolls them); or, if the workload must stay outside the mesh, label its template "
            "sidecar.istio.io/inject=false:\n{command}")
    UNMESHED_NEVER_SEEN = Outcome(
        "AA1221", Status.WARN, "(finished gate) pods of a workload run no proxy although their namespace's or "
        "template's injection labels ask for one, none of its pods runs one, and all were made before ASM's first "
        "proxy: made in Istio's time without a sidecar (before their namespace was labelled, never restarted), the "
        "uninstall changed nothing for them; outside the mesh all the same",
        message="{total} pod(s) of {kind} {namespace}/{name} run no proxy although {asks} asks for one; none of its "
                "pods runs one and all were made before ASM's first proxy ({asm_since}); {now}",
        fix="If the workload belongs in the mesh: label its pod template for ASM's proxy and recreate its pods "
            "(patching a Deployment's, StatefulSet's or DaemonSet's template rolls them); if it must stay outside the "
            "mesh, label its template sidecar.istio.io/inject=false:\n{command}")
    UNMESHED_UNPROVEN = Outcome(
        "AA1237", Status.UNKNOWN, "(finished gate) pods of a workload run no proxy while others of it run one, and "
        "whether their namespace or template asks for one (or the pods opt out) cannot be told: the namespaces "
        "unread, or in a namespace that asks, a workload whose template is not read",
        message="{count} workload(s) run pods with no proxy beside pods with one ({workloads}), and whether injection "
                "is asked for them cannot be told: {reason}",
        fix="Grant list on namespaces and the workload kinds named (`asm-audit rbac`) and audit again.")
    # Pods Istio's CNI agent captured into the ambient data plane (the pod frame's `ambient`): no proxy of their own,
    # their traffic through ztunnel (and a waypoint where one is used), both configured and given certificates by
    # Istio's istiod, which the purge removes with Istio's CNI agent. Istio's own uninstall guide: "You must remove
    # workloads from the ambient data plane before uninstalling Istio" (istio.io docs/ambient/getting-started/cleanup).
    AMBIENT = Outcome(
        "AA1222", Status.FAIL, "pods of a workload are on Istio's ambient data plane (captured into ztunnel by Istio's "
        "CNI agent): the uninstall removes the istiod that configures ztunnel and issues its certificates; this "
        "procedure does not move them to ASM",
        message="{total} pod(s) of {kind} {namespace}/{name} are on Istio's ambient data plane (annotated "
                "ambient.istio.io/redirection=enabled: their traffic goes through ztunnel), not on ASM's proxy",
        fix="Take the workload off the ambient data plane before the uninstall: label its pod template for ASM's "
            "proxy (Istio's CNI agent never captures a pod with a sidecar), and once no pod of the namespace is "
            "captured remove its istio.io/dataplane-mode label (a pod's own label likewise):\n{command}")
    outcomes = (CLEAN, LEFT, RESTART_PENDING, PARTLY_MOVED, BAKED_IN, HELD, AMBIENT, UNCLASSIFIED,
                ON_ISTIO_CONTROL_PLANE, VM_GROUP_ON_ISTIO,
                VM_ENTRY_ON_ISTIO, VM_GROUP_UNPROVEN, VM_ENTRY_UNPROVEN, VM_UNREAD, CA_OWNER_UNREAD, PROXYLESS_ON_ISTIO,
                PROXYLESS_NO_SERVER, PROXYLESS_UNPROVEN, IDLE_ON_ISTIO, IDLE_NO_INJECTOR, IDLE_UNPROVEN,
                IDLE_ASM_POLICY, IDLE_KINDS_UNREAD, UNMESHED,
                UNMESHED_NEVER_SEEN, UNMESHED_UNPROVEN)
    needs = (K.POD,)
    # Services: which istiod a proxy's CA_ADDR names is told from them (CA_OWNER_UNREAD when they are not read).
    # Namespaces and injector webhooks: which proxy a workload running no pod gets next (auditor/idle.py).
    uses = (K.REPLICASET, K.JOB, K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.REPLICATIONCONTROLLER,
            K.CLONESET, *K.ADVANCED_KINDS,
            K.ARGO_ROLLOUT,  # a Rollout's hold and template (rollouts.update_hold, idle._held_rollout)
            K.SERVICE, K.WORKLOADENTRY, K.WORKLOADGROUP, K.NAMESPACE, K.MUTATING_WEBHOOK,
            K.KNATIVE_REVISION,  # whether a Route names a Knative Revision whose Deployment runs no pod (idle.py)
            K.CRD,  # CRDs: an OpenKruise kind not collected is no blind spot where no CRD defines it
            K.CONFIGMAP)  # istio-cni-config: Istio's ambient CNI (istio.ambient_capture_is_asms)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        found = self._every_gate(cluster, ctx)
        if ctx.gate is not Gate.FINISHED:
            return found
        # The finished gate only: at the uninstall gate Istio's injector still takes every pod its selectors match,
        # so a pod with no proxy where its labels ask for one was not left so by the migration (nor does the
        # uninstall change it); from the purge on, ASM's injector (during the migration: only templates labelled
        # sidecar.asm.aliyun.com/inject=true) is the only one left, and a pod created then gets none.
        unmeshed = self._unmeshed_findings(cluster, cluster.pods())
        if not unmeshed:
            return found  # the findings judged once (the same objects as the uninstall gate's)
        return [*(f for f in found if f.code != self.CLEAN.code), *unmeshed]

    @same_in_every_gate
    def _every_gate(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
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
                remediation = rollouts.restart_command(cluster, kind, namespace, name)
                outcome = self.RESTART_PENDING
            elif labelled:
                params["labelled"] = labelled
                remediation = rollouts.inject_command(cluster, kind, namespace, name)
                outcome = self.PARTLY_MOVED
            elif rollouts.template_asks_asm(cluster, kind, namespace, name):
                # Labelled already: what holds its pods on the earlier template is the next step, not the label.
                hold = rollouts.update_hold(cluster, kind, namespace, name)
                params["why"] = rollouts.hold_why(hold)
                evidence["update_hold"] = hold
                remediation = rollouts.unfinished_command(cluster, kind, namespace, name, hold)
                outcome = self.HELD
            else:
                remediation = rollouts.inject_command(cluster, kind, namespace, name)
                outcome = self.LEFT
            yield self.report(outcome, cluster.name, params=params, kind=kind, namespace=namespace, name=name,
                              remediation=remediation, evidence=evidence)
        ambient = self._ambient_findings(cluster, pods)
        yield from ambient
        unclassified = list(unclassified_proxy_findings(self, self.UNCLASSIFIED, cluster, pods,
                                                        on_istio=self.ON_ISTIO_CONTROL_PLANE))
        yield from unclassified
        proxyless = self._proxyless_findings(cluster, pods, ctx)
        yield from proxyless
        machines, plain = self._vm_findings(cluster)
        yield from machines
        idle = self._idle_findings(cluster, pods, ctx)
        yield from idle
        # The workload kinds unread (AA1238) leave the pods' own judgement as it is: only no PASS beside it.
        judged_idle = [f for f in idle if f.code != self.IDLE_KINDS_UNREAD.code]
        if sidecars.empty and not ambient and not unclassified and not proxyless and not judged_idle:
            moved = (pods["proxy"] == mesh.PROXY_ASM) & (pods["role"] == mesh.ROLE_SIDECAR)
            unproven = self._ca_owner_unread(cluster, pods, moved)
            if unproven is not None:
                yield unproven
            elif not machines and not idle:
                asm = int(moved.sum())
                gateways = int((pods["role"] == mesh.ROLE_GATEWAY).sum())
                evidence = {"asm_proxy_pods": asm, "gateway_pods": gateways, "pods": len(pods)}
                if plain:  # read and judged: endpoints without a proxy (databases a ServiceEntry selects)
                    evidence["workload_entries_without_proxy"] = plain
                yield self.report(self.CLEAN, cluster.name, params={"asm": asm}, evidence=evidence)

    def _ambient_findings(self, cluster: ClusterInventory, pods: Any) -> list[Finding]:
        """Per workload whose active pods Istio's CNI agent captured into the ambient data plane (mesh.
        AMBIENT_REDIRECTION, the pod frame's `ambient`) and that run no proxy of their own: FAIL. Without the column
        (a frame of another make), none."""
        if "ambient" not in pods or pods.empty:
            return []
        rows = (pods["ambient"].to_numpy(dtype=bool) & among(pods["proxy"], (mesh.PROXY_NONE,))
                & among(pods["phase"], ACTIVE_PHASES))
        if not rows.any():
            return []
        # ASM's own ambient data plane (its ztunnel, none of Istio's) may capture pods the same way: those stay on
        # ASM's. With anything less proven the capture counts as Istio's (istio.ambient_capture_is_asms).
        if ambient_capture_is_asms(cluster):
            return []
        captured = pod_columns(pods, rows, [*WORKLOAD_KEY, "name"])
        keys, bounds, values = workload_columns(captured, ("name",))
        out: list[Finding] = []
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            subject = {"kind": kind, "namespace": namespace, "name": name}
            command = (f"{mesh.asm_inject_command(cluster.name, kind, namespace, name)}\n"
                       f"{mesh.kubectl(cluster.name)} label namespace {mesh.sh(namespace)} istio.io/dataplane-mode-")
            out.append(self.report(self.AMBIENT, cluster.name, params={**subject, "total": end - start,
                                                                         "command": command},
                                   evidence={"pods": values["name"][start:min(end, start + 20)],
                                             "pod_count": end - start}, **subject))
        return out

    def _idle_findings(self, cluster: ClusterInventory, pods: Any, ctx: Context) -> list[Finding]:
        """The workloads that run no pod now (auditor/idle.py), judged by the injector webhooks that select their
        template: FAIL where Istio's does (their next pods get its sidecar, then none once the purge deletes it) or,
        with no injector of Istio's left, where their injection labels ask for a proxy no webhook gives; UNKNOWN where
        what selects them cannot be told, or where ASM's does and ASM's own injection policy (auditor/asm.
        injection_policy) is not known to take the template."""
        reading = idle.idle_workloads(cluster, idle.active_workloads(pods))
        out: list[Finding] = []
        if reading.kinds_unread:
            kinds = reading.kinds_unread
            out.append(self.report(self.IDLE_KINDS_UNREAD, cluster.name, params={
                "kinds": ", ".join(kinds), "reason": "; ".join(f"{k}: {why}" for k, why in kinds.items())},
                evidence={"unread": kinds}))
        if not reading.workloads and not reading.undecided:
            return out
        any_istio = any(h.owner == idle.ISTIO for h in idle.injectors(cluster)) \
            if cluster.available(K.MUTATING_WEBHOOK) else True
        unproven: list[tuple[idle.IdleWorkload, str]] = [(w, w.undecided) for w in reading.undecided]
        on_asm_policy: list[tuple[idle.IdleWorkload, Any]] = []
        policy = None
        label_taken: str | bool | None = False  # False: not looked for yet
        for w in reading.workloads:
            subject = {"kind": w.kind, "namespace": w.namespace, "name": w.name}
            evidence: dict[str, Any] = {"pods": 0, "why_no_pod": str(w.why), "template_labels": w.labels,
                                        "asks_for_injection": w.asks, "istio_injectors": w.istio,
                                        "asm_injectors": w.asm, "unproven_injectors": w.unproven,
                                        "labelled_for_asm": w.asm_labelled}
            if w.template_of:  # an owner not read (an Argo Rollout, a KEDA ScaledJob): judged by what it owns
                evidence["template_of"] = w.template_of
            # The label, and what moves its next pods where the label alone does not (rollouts.inject_command: a
            # paused or partitioned workload; a Knative Revision's Deployment, whose Knative Service's template it is).
            command = rollouts.inject_command(cluster, w.kind, w.namespace, w.name)
            why: Any = w.why
            if w.held:  # a paused Deployment or a held Argo Rollout: its next pods are made from an earlier template
                evidence["update_hold"] = w.held
                why = Phrase(HELD_IDLE, why=w.why, hold=rollouts.hold_why(w.held), made_from=w.template_of)
                if rollouts.template_asks_asm(cluster, w.kind, w.namespace, w.name):
                    # Its own template is labelled already: releasing the hold is the step (resume, promote).
                    command = rollouts.unfinished_command(cluster, w.kind, w.namespace, w.name, w.held)
            if w.istio and not (w.asm and w.asm_labelled):
                after = AFTER_ASM if w.asm else AFTER_NONE
                out.append(self.report(self.IDLE_ON_ISTIO, cluster.name, params={
                    **subject, "why": why, "webhooks": ", ".join(w.istio), "after": after, "command": command},
                    evidence=evidence, **subject))
            elif w.asm:
                # ASM's webhook selects it; its injector then applies ASM's pod-level condition (read once).
                if policy is None:
                    policy = injection_policy(ctx)
                if label_taken is False and w.asm_labelled and policy.only_asked is not False:
                    label_taken = idle.asm_label_taken(cluster, pods)  # what ASM did, its policy unread
                takes = idle.asm_takes(w, policy.only_asked, None if policy.selector else label_taken or None)
                if takes is None:
                    on_asm_policy.append((w, policy.source))
                elif not takes:
                    on_asm_policy.append((w, Phrase(ONLY_ASKED, source=policy.source)))
                continue  # ASM's injector takes its next pods
            elif w.unproven:
                unproven.append((w, Phrase(N_("injector webhook(s) {webhooks} select it, and whose istiod answers "
                                              "them is not proven"), webhooks=", ".join(w.unproven))))
            elif w.asks and not any_istio:
                out.append(self.report(self.IDLE_NO_INJECTOR, cluster.name, params={
                    **subject, "why": why, "asks": joined(", ", w.asks), "command": command},
                    evidence=evidence, **subject))
        if unproven:
            params, evidence = _workloads_and_reasons([(f"{w.kind} {w.namespace}/{w.name}", why)
                                                       for w, why in unproven])
            out.append(self.report(self.IDLE_UNPROVEN, cluster.name, params=params,
                                   evidence={**evidence, "unread": reading.unread}))
        if on_asm_policy:
            params, evidence = _workloads_and_reasons([(f"{w.kind} {w.namespace}/{w.name}", why)
                                                       for w, why in on_asm_policy])
            if policy is not None:  # read for the first of them
                evidence.update(asm_injection_policy=str(policy.source), only_asked=policy.only_asked)
            if label_taken:
                evidence["asm_took_a_template_by_its_label"] = label_taken
            out.append(self.report(self.IDLE_ASM_POLICY, cluster.name, params=params, evidence=evidence))
        return out

    def _unmeshed_findings(self, cluster: ClusterInventory, pods: Any) -> list[Finding]:
        """Per workload whose active pods run no proxy although their namespace's or template's injection labels ask
        for one (auditor/idle.unmeshed_pods): FAIL where it shows it lost the mesh (other pods of it run a proxy, or
        its template asks for ASM's by ASM's label), WARN where none of its pods runs one (pods made before their
        namespace was labelled look the same, and the uninstall changed nothing for them); one UNKNOWN for the
        workloads of the first kind of which whether injection is asked cannot be told (the second would be a WARN at
        most)."""
        reading = idle.unmeshed_pods(cluster, pods)
        out: list[Finding] = []
        for w in reading.workloads:
            if reading.webhooks_unread:
                now = Phrase(N_("which injector webhook selects its template now cannot be told ({reason})"),
                             reason=reading.webhooks_unread)
            elif w.istio:
                now = Phrase(N_("Istio's injector {webhooks} selects its template: its pods were created without it"),
                             webhooks=", ".join(w.istio))
            elif w.asm:
                now = Phrase(N_("ASM's injector {webhooks} selects its template now: its pods were created before"),
                             webhooks=", ".join(w.asm))
            elif w.unproven:
                now = Phrase(N_("injector webhook(s) {webhooks} select its template, and whose istiod answers them is "
                                "not proven"), webhooks=", ".join(w.unproven))
            else:
                now = NO_INJECTOR_NOW
            subject = {"kind": w.kind, "namespace": w.namespace, "name": w.name}
            # Labelled for ASM already: its pods only need recreating; else the label first (a patch of a Deployment's,
            # StatefulSet's or DaemonSet's template rolls its pods).
            # (rollouts': a paused Deployment is resumed, as `kubectl rollout restart` refuses it, and an Argo
            # Rollout read is labelled where its template is.)
            # (a held Argo Rollout is promoted: its restart remakes the stable pods from their unlabelled template.)
            command = (rollouts.labelled_restart_command(cluster, w.kind, w.namespace, w.name) if w.asm_labelled
                       else rollouts.inject_command(cluster, w.kind, w.namespace, w.name))
            evidence: dict[str, Any] = {"pods": w.pods, "pod_count": w.pod_count, "asks_for_injection": w.asks,
                                        "template_labels": w.labels, "labelled_for_asm": w.asm_labelled,
                                        "istio_injectors": w.istio, "asm_injectors": w.asm,
                                        "unproven_injectors": w.unproven}
            if reading.webhooks_unread:
                evidence["injectors_unread"] = reading.webhooks_unread
            evidence["pods_with_proxy"] = w.meshed_siblings
            evidence["made_since_asm_proxies"] = w.made_since_asm
            lost = w.meshed_siblings > 0 or w.asm_labelled or w.made_since_asm
            out.append(self.report(self.UNMESHED if lost else self.UNMESHED_NEVER_SEEN, cluster.name, params={
                **subject, "total": w.pod_count, "asks": joined(", ", w.asks), "now": now, "command": command,
                "asm_since": reading.asm_since}, evidence=evidence, **subject))
        lost = set(reading.undecided_meshed)
        undecided = [(ref, why) for ref, why in reading.undecided if ref in lost]
        if undecided:
            params, evidence = _workloads_and_reasons(undecided)
            out.append(self.report(self.UNMESHED_UNPROVEN, cluster.name, params=params, evidence=evidence))
        return out

    def _proxyless_findings(self, cluster: ClusterInventory, pods: Any, ctx: Context) -> list[Finding]:
        """One finding per workload whose pods are proxyless gRPC apps (istio.proxyless_rows) whose bootstrap's istiod
        is not proven ASM's: FAIL when it is Istio's, UNKNOWN when it cannot be told (never counted as moved)."""
        rows = proxyless_rows(pods)
        if not rows.any():  # the usual case: no column selected
            return []
        selected = pod_columns(pods, rows, [*WORKLOAD_KEY, "name", "xds_server"])
        keys, bounds, values = workload_columns(selected, ("name", "xds_server"))
        owners: dict[str, tuple[str, str]] = {}
        baked: dict[Any, Any] | None = None
        out = []
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            servers = sorted({str(s) for s in values["xds_server"][start:end]})
            judged = {server: owners.setdefault(server, proxyless_server_owner(cluster, server)) for server in servers}
            on_istio = [server for server, (owner, _) in judged.items() if owner == mesh.OWNER_ISTIO]
            absent = [server for server, (owner, _) in judged.items() if owner == SERVER_ABSENT]
            unproven = {server: why for server, (owner, why) in judged.items()
                        if owner not in (mesh.OWNER_ISTIO, mesh.OWNER_ASM, SERVER_ABSENT)}
            if not on_istio and not absent and not unproven:
                continue  # every pod's bootstrap names ASM's istiod
            total = end - start
            evidence: dict[str, Any] = {"pods": values["name"][start:min(end, start + 20)], "pod_count": total,
                                        "xds_servers": servers, "owners": {s: why for s, (_, why) in judged.items()},
                                        "proxyless_template": "grpc-simple"}
            if baked is None:
                baked, _ = manual_injections(cluster, ctx.inv.rules)
            if (namespace, kind, name) in baked:
                evidence["manual_injection"] = True
                remediation = rerender_remediation(cluster.name, kind, namespace, name, proxyless=True)
            else:
                remediation = ("# ASM's documented proxyless gRPC mode: annotation inject.istio.io/templates="
                               "grpc-agent and ASM's injection label on the pod template (in its manifest too); this "
                               "restarts it:\n"
                               + mesh.asm_proxyless_inject_command(cluster.name, kind, namespace, name))
            subject = {"kind": kind, "namespace": namespace, "name": name, "evidence": evidence}
            if on_istio:
                out.append(self.report(self.PROXYLESS_ON_ISTIO, cluster.name,
                                       params={"total": total, "server": ", ".join(on_istio)},
                                       remediation=remediation, **subject))
            elif absent:
                out.append(self.report(self.PROXYLESS_NO_SERVER, cluster.name,
                                       params={"total": total, "server": ", ".join(absent)},
                                       remediation=remediation, **subject))
            else:
                # A bootstrap naming no istiod this reader can tell (mesh.XDS_SERVER_UNREADABLE, "?") is said as such,
                # never as a bare "?" in the report; its reason stands alone.
                out.append(self.report(self.PROXYLESS_UNPROVEN, cluster.name, params={
                    "total": total, "server": joined(", ", [UNNAMED_SERVER if server == mesh.XDS_SERVER_UNREADABLE
                                                             else server for server in unproven]),
                    "why": joined("; ", [why if server == mesh.XDS_SERVER_UNREADABLE else joined(": ", [server, why])
                                         for server, why in unproven.items()])},
                    remediation=self.PROXYLESS_UNPROVEN.fix + "\n" + remediation, **subject))
        return out

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

    def _vm_findings(self, cluster: ClusterInventory) -> tuple[list[Finding], int]:
        """Istio's proxies outside Kubernetes (auditor/vms.py): FAIL where istiod's own stamps show one connected to a
        pod of this cluster's self-built istiod; UNKNOWN where a proxy is shown but not its control plane, or where
        the kinds cannot be read. Plain WorkloadEntries (no proxy) are only counted."""
        found = vms.vm_proxies(cluster)
        out = [self.report(self.VM_UNREAD, cluster.name, params={"kind": kind, "reason": reason}, kind=kind,
                           evidence={"kind": kind, "reason": reason})
               for kind, reason in found.unread]
        if not found.groups and not found.entries:
            return out, found.plain
        try:
            istiod = vms.istiod_pods(cluster)
            istiod_unread = ""
        except EvidenceUnavailable as exc:
            istiod, istiod_unread = {}, exc.reason
        for group in found.groups:
            out.append(self._group_finding(cluster.name, group, istiod, istiod_unread))
        for entry in found.entries:
            out.append(self._entry_finding(cluster.name, entry, istiod, istiod_unread))
        return out, found.plain

    def _group_finding(self, cluster: str, group: vms.VmGroup, istiod: dict[str, str], istiod_unread: str
                       ) -> Finding:
        state = vms.group_state(group, istiod)
        on_istio, elsewhere, disconnected = state.counts
        evidence: dict[str, Any] = {
            "workload_group_exists": group.exists, "workload_entries": len(group.entries),
            "on_istio_istiod": state.on_istio, "connected_elsewhere": state.elsewhere,
            "not_connected": state.disconnected, "istiod_pods": vms.listed(istiod)}
        if istiod_unread:
            evidence["istiod_pods_unread"] = istiod_unread
        subject = {"kind": K.WORKLOADGROUP.kind, "namespace": group.namespace, "name": group.name}
        if on_istio:
            pods = vms.listed(set(state.on_istio.values()))
            return self.report(self.VM_GROUP_ON_ISTIO, cluster, params={
                "connected": on_istio, "entries": len(group.entries), "namespace": group.namespace,
                "name": group.name, "pods": ", ".join(pods[:5]) + (" ..." if len(pods) > 5 else "")},
                remediation=_move_vms(cluster, group.namespace), evidence=evidence, **subject)
        return self.report(self.VM_GROUP_UNPROVEN, cluster, params={
            "namespace": group.namespace, "name": group.name, "entries": len(group.entries),
            "elsewhere": elsewhere, "disconnected": disconnected},
            remediation=_verify_vms(cluster, group.namespace, self.VM_GROUP_UNPROVEN.code), evidence=evidence,
            **subject)

    def _entry_finding(self, cluster: str, entry: dict[str, Any], istiod: dict[str, str], istiod_unread: str
                       ) -> Finding:
        facts = vms.entry_facts(entry, istiod, istiod_unread)
        namespace, name, address, pod, signs, evidence = (facts.namespace, facts.name, facts.address, facts.pod,
                                                          facts.signs, facts.evidence)
        subject = {"kind": K.WORKLOADENTRY.kind, "namespace": namespace, "name": name}
        if vms.on_istio(entry, istiod):
            return self.report(self.VM_ENTRY_ON_ISTIO, cluster, params={
                "namespace": namespace, "name": name, "address": address, "pod": pod},
                remediation=_move_vms(cluster, namespace), evidence=evidence, **subject)
        return self.report(self.VM_ENTRY_UNPROVEN, cluster, params={
            "namespace": namespace, "name": name, "address": address, "signs": joined("; ", signs)},
            remediation=_verify_vms(cluster, namespace, self.VM_ENTRY_UNPROVEN.code), evidence=evidence, **subject)


def _vm_commands(cluster: str, namespace: str) -> str:
    """Istio's istiod lists every proxy connected to it (a VM as <hostname>.<namespace>); the WorkloadEntries show
    which istiod pod stamped each one connected; on a VM, /etc/hosts maps istiod's name to the gateway its proxy dials
    (istioctl x workload entry configure writes both files: istioctl/pkg/workload/workload.go @1.30.3)."""
    columns = ("custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,"
               "GROUP:.metadata.annotations.istio\\.io/autoRegistrationGroup,"
               "ISTIOD:.metadata.annotations.istio\\.io/workloadController,"
               "CONNECTED:.metadata.annotations.istio\\.io/connectedAt")
    return (f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} proxy-status\n"
            f"{mesh.kubectl_in(cluster, namespace)} get workloadentries.networking.istio.io -o {mesh.sh(columns)}\n"
            "# on each VM: grep -h istiod /etc/hosts /etc/istio/config/mesh")


def _move_vms(cluster: str, namespace: str) -> str:
    return ("# re-bootstrap each VM's proxy against ASM's control plane (ASM's VM onboarding files) and restart it; "
            "then none of these may be left on Istio's istiod:\n" + _vm_commands(cluster, namespace))


def _verify_vms(cluster: str, namespace: str, code: str) -> str:
    return ("# which istiod do these proxies use? Istio's lists every proxy connected to it; once each is confirmed "
            f"on ASM, exempt {code} for this object with the reason:\n" + _vm_commands(cluster, namespace))
