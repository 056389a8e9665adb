"""Workload templates and ASM-proxied pods: manual injection (kube-inject) and readiness after the move."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context
from auditor.inventory import ACTIVE_PHASES, ClusterInventory, workload_rows
from auditor.model import Finding, Gate, Outcome, Severity, Status

STATUS_ANNOTATION = "sidecar.istio.io/status"
# Kinds whose objects carry a pod template; ReplicaSets and Jobs only when nothing owns them.
TEMPLATE_KINDS: tuple[K.Kind, ...] = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.JOB, K.REPLICASET)


def pod_template(kind: K.Kind, obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if kind is K.CRONJOB:
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def workload_templates(cluster: ClusterInventory, kinds: Iterable[K.Kind] = TEMPLATE_KINDS
                       ) -> tuple[list[tuple[K.Kind, dict[str, Any], dict[str, Any]]], dict[str, str]]:
    """(kind, object, pod template) of every top-level workload whose kind was read, and the kinds that
    could not be read (kind -> reason), so a caller never mistakes an unread kind for "none found"."""
    found: list[tuple[K.Kind, dict[str, Any], dict[str, Any]]] = []
    missing: dict[str, str] = {}
    for kind in kinds:
        if not cluster.available(kind):
            missing[kind.kind] = cluster.errors.get(kind.key) or cluster.unreachable or "not collected"
            continue
        for obj in cluster.objects(kind):
            meta = obj.get("metadata") or {}
            if kind in (K.REPLICASET, K.JOB) and meta.get("ownerReferences"):
                continue  # a Deployment's ReplicaSet or a CronJob's Job: judged through its owner
            template = pod_template(kind, obj)
            if template is not None:
                found.append((kind, obj, template))
    return found, missing


@dataclass(frozen=True)
class TemplateInjection:
    """What a workload template carries of a sidecar that an injector would otherwise add."""

    container: bool        # an istio-proxy container with a concrete Istio image
    status_annotation: bool
    native: bool
    image: str
    xds_agent: str         # PROXY_CONFIG_XDS_AGENT in the template's proxy ('<absent>' when not set)


def template_injection(template: dict[str, Any], rules: mesh.ProxyRules) -> TemplateInjection | None:
    """An Istio sidecar baked into a pod template (istioctl kube-inject), or None.

    Not counted: gateways (they define their proxy by design), `image: auto` (the documented injection
    customisation, filled in by the injector) and ASM's proxy.
    """
    spec = template.get("spec") or {}
    annotations = ((template.get("metadata") or {}).get("annotations")) or {}
    has_status = STATUS_ANNOTATION in annotations
    container, native = mesh.find_proxy_container(spec)
    concrete = False
    image = ""
    xds = "<absent>"
    if container is not None:
        image = container.get("image") or ""
        env = mesh.env_map(container)
        marks = mesh.ProxyMarks(rules.has_asm_env(env), rules.image_kind(image), mesh.OWNER_UNPROVEN, image)
        # Gateways and ambient proxies (ztunnel, waypoints) define their proxy by design; ASM's is not Istio's.
        if mesh.proxy_role(container) != mesh.ROLE_SIDECAR or mesh.classify(marks) == mesh.PROXY_ASM:
            return None
        concrete = image not in ("", "auto")
        value = mesh.xds_agent_value(env)
        xds = "<absent>" if value is None else value
    if not concrete and not has_status:
        return None
    return TemplateInjection(concrete, has_status, native, image, xds)


def manual_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kinds: Iterable[K.Kind] = TEMPLATE_KINDS
                      ) -> tuple[dict[tuple[str, str, str], TemplateInjection], dict[str, str]]:
    """(namespace, kind, name) -> what the template carries; plus the kinds that could not be read."""
    kinds = tuple(kinds)
    # Several checks and gates ask; one pass over the templates per cluster (tens of thousands at scale).
    found, missing = cluster.memo(("manual_injections", id(rules), tuple(k.key for k in kinds)),
                                  lambda: _manual_injections(cluster, rules, kinds))
    return dict(found), dict(missing)


def _manual_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kinds: tuple[K.Kind, ...]
                       ) -> tuple[dict[tuple[str, str, str], TemplateInjection], dict[str, str]]:
    templates, missing = workload_templates(cluster, kinds)
    out = {}
    for kind, obj, template in templates:
        found = template_injection(template, rules)
        if found is not None:
            meta = obj.get("metadata") or {}
            out[(meta.get("namespace", ""), kind.kind, meta.get("name", ""))] = found
    return out, missing


def rerender_remediation(cluster: str, kind: str, namespace: str, name: str) -> str:
    return (f"Re-render {mesh.sh_text(kind)} {mesh.sh_text(namespace)}/{mesh.sh_text(name)} from its source "
            "manifest without `istioctl kube-inject` "
            "(no istio-proxy/istio-init/istio-validation containers, no sidecar.istio.io/status annotation), "
            f"add label sidecar.asm.aliyun.com/inject=true to its pod template and apply it; check with: "
            f"{mesh.kubectl(cluster)} {mesh.ns_flag(namespace)} get {mesh.object_ref(mesh.sh(kind.lower()), name)} "
            "-o yaml | grep -n istio-proxy")


class ManualInjection(ClusterCheck):
    id = "manual-injection"
    title = "No workload template carries a kube-injected Istio sidecar"
    gates = (Gate.ASSESSMENT, Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.MAJOR
    rationale = ("`istioctl kube-inject` writes Istio's proxy into the workload template itself. Every new pod "
                 "gets that proxy again, frozen as it was rendered: a restart does not add "
                 "PROXY_CONFIG_XDS_AGENT, and relabelling for ASM moves the pod only if an injector re-injects "
                 "it. The manifest has to be re-rendered without kube-inject.")
    remediation = "Re-render the manifest without istioctl kube-inject, label it for ASM injection, apply it."
    _BAKED = "template contains Istio's istio-proxy ({image}) in {field}"
    CLEAN = Outcome("AA0601", Status.PASS, "no workload template contains istio-proxy",
                    message="no workload template carries an Istio sidecar (kube-inject)")
    BAKED = Outcome("AA0610", Status.FAIL, "a workload template contains Istio's proxy (istioctl kube-inject): "
                    "relabelling will not move it, and it keeps bringing Istio's sidecar into new pods",
                    message=_BAKED + ": it still brings Istio's sidecar into new pods")
    BAKED_WITHOUT_XDS = Outcome("AA0611", Status.FAIL, "a kube-injected template lacks "
                                "PROXY_CONFIG_XDS_AGENT=\"true\": a restart during the migration re-creates pods "
                                "that cannot talk to ASM proxies",
                                message=_BAKED + " with PROXY_CONFIG_XDS_AGENT={xds_agent}: a restart re-creates pods "
                                                 "without PROXY_CONFIG_XDS_AGENT=\"true\"")
    BAKED_TO_PLAN = Outcome("AA0620", Status.WARN, "a workload template contains Istio's proxy (istioctl kube-inject): "
                            "plan to re-render it before the move",
                            message=_BAKED + ": plan to re-render it; relabelling alone may keep Istio's proxy")
    STATUS_ONLY = Outcome("AA0621", Status.WARN, "a workload template carries sidecar.istio.io/status without a "
                          "proxy container (copied from an injected pod): harmless, confusing", Severity.MINOR,
                          message="template carries {annotation} but no istio-proxy container (copied from an "
                                  "injected pod?)")
    BAKED_WITH_XDS = Outcome("AA0622", Status.WARN, "a kube-injected template carries PROXY_CONFIG_XDS_AGENT=true: "
                             "fine during the migration, but it must be re-rendered to move to ASM",
                             message=_BAKED + " (it carries PROXY_CONFIG_XDS_AGENT=true); it will have to be "
                                              "re-rendered to move to ASM")
    UNREAD = Outcome("AA0630", Status.UNKNOWN, "workload templates of some kinds could not be read",
                     message="could not read {reasons}")
    outcomes = (CLEAN, BAKED, BAKED_WITHOUT_XDS, BAKED_TO_PLAN, STATUS_ONLY, BAKED_WITH_XDS, UNREAD)
    needs = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET)
    uses = (K.CRONJOB, K.JOB, K.REPLICASET)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        found, missing = manual_injections(cluster, ctx.inv.rules)
        for (namespace, kind, name), inj in sorted(found.items()):
            yield self._judge(cluster.name, ctx.gate, namespace, kind, name, inj)
        if missing:
            yield self.report(self.UNREAD, cluster.name,
                              params={"reasons": "; ".join(f"{k}: {why}" for k, why in missing.items())},
                              evidence={"unread_kinds": missing})
        elif not found:
            yield self.report(self.CLEAN, cluster.name, params={})

    def _judge(self, cluster: str, gate: Gate, namespace: str, kind: str, name: str,
               inj: TemplateInjection) -> Finding:
        subject = {"kind": kind, "namespace": namespace, "name": name,
                   "remediation": rerender_remediation(cluster, kind, namespace, name),
                   "evidence": {"image": inj.image, "native": inj.native, "status_annotation": inj.status_annotation,
                                "xds_agent": inj.xds_agent, "proxy_container": inj.container}}
        if not inj.container:
            # Only the annotation: the template was copied from an injected pod; injectors read it as a
            # previous injection to strip. Harmless for current injectors, confusing in every audit.
            return self.report(self.STATUS_ONLY, cluster, params={"annotation": STATUS_ANNOTATION}, **subject)
        # A native sidecar is an init container (evidence "native" says so).
        params = {"image": inj.image, "field": "initContainers" if inj.native else "containers"}
        if gate is Gate.ASSESSMENT:
            return self.report(self.BAKED_TO_PLAN, cluster, params=params, **subject)
        if gate is Gate.MIGRATING:
            if inj.xds_agent != "true":
                return self.report(self.BAKED_WITHOUT_XDS, cluster, params={**params, "xds_agent": inj.xds_agent},
                                   **subject)
            return self.report(self.BAKED_WITH_XDS, cluster, params=params, **subject)
        return self.report(self.BAKED, cluster, params=params, **subject)


class AsmProxiesReady(ClusterCheck):
    id = "asm-proxies-ready"
    title = "Pods on ASM proxies are ready and not restarting"
    gates = (Gate.UNINSTALL,)
    severity = Severity.MAJOR
    rationale = ("The seed's last condition before uninstalling Istio: workloads injected with ASM's proxy "
                 "function as expected. Unready or crash-looping ASM-proxied pods are the first sign they do not.")
    remediation = "Find the cause in the pod's events and the istio-proxy log before removing Istio."
    _RESTARTING = "{restarting} restarted more than {threshold} times (max {max_restarts})"
    READY = Outcome("AA1301", Status.PASS, "every ASM-proxied pod is ready and not restarting",
                    message="all {pods} ASM-proxied pod(s) of {workloads} workload(s) ready, none restarted more than "
                            "{threshold} times")
    NOT_READY = Outcome("AA1310", Status.FAIL, "ASM-proxied pods of a workload are not ready",
                        message="{unready} not ready of {total} ASM-proxied pod(s)")
    RESTARTING = Outcome("AA1311", Status.FAIL, "ASM-proxied pods of a workload restart over and over",
                         message=_RESTARTING + " of {total} ASM-proxied pod(s)")
    NOT_READY_AND_RESTARTING = Outcome("AA1312", Status.FAIL, "ASM-proxied pods of a workload are not ready and "
                                       "restart over and over",
                                       message="{unready} not ready and " + _RESTARTING + " of {total} ASM-proxied "
                                               "pod(s)")
    NO_ASM_PROXY = Outcome("AA1340", Status.NOT_APPLICABLE, "no pod runs ASM's proxy yet",
                           message="no pod runs an ASM proxy yet")
    outcomes = (READY, NOT_READY, RESTARTING, NOT_READY_AND_RESTARTING, NO_ASM_PROXY)
    needs = (K.POD,)
    uses = (K.REPLICASET, K.JOB)
    restart_threshold = 3  # restartCount (all containers) above this counts as restarting

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        asm = pods[(pods["proxy"] == mesh.PROXY_ASM) & pods["phase"].isin(ACTIVE_PHASES)]
        if asm.empty:
            yield self.report(self.NO_ASM_PROXY, cluster.name, params={})
            return
        not_ready = ~asm["ready"].astype(bool)
        restarting = asm["restarts"] > self.restart_threshold
        bad = asm[not_ready | restarting]
        sizes = asm.groupby(["namespace", "workload_kind", "workload_name"], observed=True).size()
        # Plain lists per workload (inventory.workload_rows): no DataFrame per group at 150k pods.
        for (namespace, kind, name), group in workload_rows(bad, ("name", "ready", "restarts", "phase")):
            total = int(sizes.get((namespace, kind, name), len(group["name"])))
            rows = list(zip(group["name"], group["ready"], group["restarts"], strict=True))
            unready = [pod for pod, ready, _ in rows if not ready]
            looping = {str(pod): int(count) for pod, _, count in rows if count > self.restart_threshold}
            params: dict[str, Any] = {"unready": len(unready), "total": total}
            outcome = self.NOT_READY
            if looping:
                params.update(restarting=len(looping), threshold=self.restart_threshold,
                              max_restarts=max(looping.values()))
                outcome = self.NOT_READY_AND_RESTARTING if unready else self.RESTARTING
            first = mesh.object_ref("pod", str(group["name"][0]))  # a pod's name, not the finding's own
            k = f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(namespace)}"
            yield self.report(outcome, cluster.name, params=params, kind=kind,
                            namespace=namespace, name=name,
                            remediation=(f"{k} describe {first}; {k} logs {first} "
                                         "-c istio-proxy --previous"),
                            evidence={"not_ready": sorted(unready)[:20], "restarting": looping,
                                      "phases": dict(Counter(map(str, group["phase"])).most_common()),
                                      "pod_count": total,
                                      "restart_threshold": self.restart_threshold})
        if bad.empty:
            workloads = len(sizes)
            yield self.report(self.READY, cluster.name, params={"pods": len(asm), "workloads": workloads,
                                                                 "threshold": self.restart_threshold},
                              evidence={"pods": len(asm), "workloads": workloads})


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.astype(str).value_counts().items() if v}
