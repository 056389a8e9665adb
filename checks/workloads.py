"""Workload templates and ASM-proxied pods: manual injection (kube-inject) and readiness after the move."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh, rollouts
from auditor.check import ClusterCheck, Context
from auditor.inventory import (
    ACTIVE_PHASES,
    WORKLOAD_KEY,
    ClusterInventory,
    value_counts,
    workload_columns,
    workload_sizes,
)
from auditor.istio import (
    STATUS_ANNOTATION,
    TemplateInjection,
    among,
    manual_injections,
    pod_columns,
    replica_rows,
    rerender_remediation,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status


class ManualInjection(ClusterCheck):
    id = "manual-injection"
    title = "No workload template carries a kube-injected Istio sidecar"
    # The finished gate too: a kube-injected template that runs no pod now (scaled to zero, a CronJob between runs)
    # shows no Istio sidecar to istio-sidecars-remaining, and its next pods bring Istio's proxy back after the purge,
    # with no istiod to serve it. One rule (istio.manual_injections), judged here in every gate it matters.
    gates = (Gate.ASSESSMENT, Gate.MIGRATING, Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.MAJOR
    rationale = ("`istioctl kube-inject` writes Istio's proxy into the workload template itself. Every new pod "
                 "gets that proxy again, frozen as it was rendered: a restart does not add "
                 "PROXY_CONFIG_XDS_AGENT, and relabelling for ASM moves the pod only if an injector re-injects "
                 "it. The manifest has to be re-rendered without kube-inject. After the uninstall, such a template "
                 "(even one that runs no pod now) still brings Istio's proxy, with no istiod left to serve it.")
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
    _BOOTSTRAP = ("template holds {containers} of Istio's injection without istio-proxy (istioctl kube-inject with a "
                  "proxyless template such as grpc-simple): its xDS bootstrap names Istio's istiod")
    BAKED_BOOTSTRAP = Outcome("AA0612", Status.FAIL, "a workload template holds what Istio's injector added for a "
                              "proxyless app (kube-injected grpc-simple: an xDS bootstrap naming Istio's istiod): "
                              "after the uninstall its pods get no configuration",
                              message=_BOOTSTRAP + ", which the uninstall removes")
    BOOTSTRAP_TO_PLAN = Outcome("AA0623", Status.WARN, "a workload template holds what Istio's injector added for a "
                                "proxyless app (kube-injected grpc-simple): plan to re-render it before Istio goes",
                                message=_BOOTSTRAP + ": re-render it before Istio is uninstalled")
    UNREAD = Outcome("AA0630", Status.UNKNOWN, "workload templates of some kinds could not be read",
                     message="could not read {reasons}")
    outcomes = (CLEAN, BAKED, BAKED_WITHOUT_XDS, BAKED_BOOTSTRAP, BAKED_TO_PLAN, STATUS_ONLY, BAKED_WITH_XDS,
                BOOTSTRAP_TO_PLAN, UNREAD)
    needs = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET)
    # CRDs: an OpenKruise kind not collected is no blind spot where no CRD defines it (istio.crd_absent).
    uses = (K.CRONJOB, K.JOB, K.REPLICASET, K.REPLICATIONCONTROLLER, K.CLONESET, *K.ADVANCED_KINDS, K.CRD)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        found, missing = manual_injections(cluster, ctx.inv.rules)
        for subject, inj in self._subjects(cluster, ctx.inv.rules, found):
            yield self._judge(cluster.name, ctx.gate, subject, inj)
        if missing:
            yield self.report(self.UNREAD, cluster.name,
                              params={"reasons": "; ".join(f"{k}: {why}" for k, why in missing.items())},
                              evidence={"unread_kinds": missing})
        elif not found:
            yield self.report(self.CLEAN, cluster.name, params={})

    @staticmethod
    def _subjects(cluster: ClusterInventory, rules: mesh.ProxyRules, found: dict[tuple[str, str, str],
                  TemplateInjection]) -> list[tuple[dict[str, Any], TemplateInjection]]:
        """Each kube-injected workload's finding subject (what, remediation, evidence) in workload order, built once
        per cluster for the three gates: only the outcome depends on the gate. The gates' findings share the
        (read-only) evidence dicts, as same_in_every_gate's copies do."""
        def build() -> list[tuple[dict[str, Any], TemplateInjection]]:
            return [({"kind": kind, "namespace": namespace, "name": name,
                      "remediation": rerender_remediation(cluster.name, kind, namespace, name,
                                                          proxyless=not inj.container and bool(inj.injected)),
                      "evidence": {"image": inj.image, "native": inj.native, "status_annotation": inj.status_annotation,
                                   "xds_agent": inj.xds_agent, "proxy_container": inj.container,
                                   # Where the template was read when not from the workload itself (a Rollout's
                                   # ReplicaSet, a ScaledJob's Job).
                                   **({"template_of": inj.template_of} if inj.template_of else {}),
                                   **({"injected_containers": [*inj.injected]} if inj.injected else {})}}, inj)
                    for (namespace, kind, name), inj in sorted(found.items())]
        # Keyed as manual_injections is (its rules, the default kinds): `found` is that memo's answer.
        return list(cluster.memo(("manual_injection_subjects", id(rules)), build))

    def _judge(self, cluster: str, gate: Gate, subject: dict[str, Any], inj: TemplateInjection) -> Finding:
        if not inj.container and inj.injected:
            # No proxy, but what the injector added for a proxyless app (grpc-simple's bootstrap init container):
            # the app takes its configuration from Istio's istiod, named in the template itself.
            params = {"containers": ", ".join(inj.injected)}
            outcome = self.BAKED_BOOTSTRAP if gate in (Gate.UNINSTALL, Gate.FINISHED) else self.BOOTSTRAP_TO_PLAN
            return self.report(outcome, cluster, params=params, **subject)
        if not inj.container:
            # Only the annotation: the template was copied from an injected pod; injectors read it as a
            # previous injection to strip. Harmless for current injectors, confusing in every audit.
            return self.report(self.STATUS_ONLY, cluster, params={"annotation": STATUS_ANNOTATION}, **subject)
        # A native sidecar is an init container (evidence "native" says so).
        params = {"image": inj.image, "field": "initContainers" if inj.native else "containers"}
        if gate is Gate.ASSESSMENT:
            return self.report(self.BAKED_TO_PLAN, cluster, params=params, **subject)
        if gate is Gate.MIGRATING:
            if inj.xds_agent not in mesh.GO_TRUE:  # as pilot-agent parses it (strconv.ParseBool)
                return self.report(self.BAKED_WITHOUT_XDS, cluster, params={**params, "xds_agent": inj.xds_agent},
                                   **subject)
            return self.report(self.BAKED_WITH_XDS, cluster, params=params, **subject)
        return self.report(self.BAKED, cluster, params=params, **subject)


class AsmProxiesReady(ClusterCheck):
    id = "asm-proxies-ready"
    title = "Pods on ASM proxies are ready and not restarting"
    gates = (Gate.UNINSTALL,)
    severity = Severity.MAJOR
    rationale = ("The migration procedure's last condition before uninstalling Istio: workloads injected with "
                 "ASM's proxy function as expected. Unready or crash-looping ASM-proxied pods are the first sign they "
                 "do not.")
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
    SHORT = Outcome("AA1313", Status.FAIL, "a workload moved to ASM runs fewer pods than it should: its new pods "
                    "are not created (ASM's injector unreachable or refusing, admission, quota...)",
                    message="{existing} of {desired} pod(s) exist, {available} available{why}")
    UNPROXIED = Outcome("AA1314", Status.FAIL, "pods of a workload labelled for ASM's proxy (sidecar.asm.aliyun.com/"
                        "inject=true) run no proxy at all: ASM's injector did not take them (its injection policy, a "
                        "webhook that failed open, an opt-out label), so the workload left the mesh instead of moving "
                        "to ASM",
                        message="{unproxied} of {total} pod(s) carry sidecar.asm.aliyun.com/inject=true and run no "
                                "proxy: they are outside the mesh",
                        fix="Find why ASM's injector did not take the pods (ASM's injection policy, its injector "
                            "webhook's reachability and failurePolicy, a sidecar.istio.io/inject=false label on the "
                            "template), then recreate them; a workload that must stay outside the mesh drops the "
                            "label instead.")
    # Both labels on one template: ASM's injector, like Istio's, honours sidecar.istio.io/inject=false
    # (rollouts.opts_out_of_injection), so its pods were proxyless under Istio too and stay so by the template's own
    # choice: told, not blocking (main: FAIL AA1314, a NO-GO on a workload that never was in the mesh).
    OPTED_OUT = Outcome("AA1315", Status.WARN, "pods of a workload labelled for ASM's proxy (sidecar.asm.aliyun.com/"
                        "inject=true) run no proxy because its template also opts out (sidecar.istio.io/inject="
                        "\"false\"), which ASM's injector honours as Istio's did: it stays outside the mesh",
                        Severity.MINOR,
                        message="{unproxied} of {total} pod(s) carry sidecar.asm.aliyun.com/inject=true and run no "
                                "proxy: the template also carries sidecar.istio.io/inject=false, which ASM's injector "
                                "honours, as Istio's did",
                        fix="If the workload is meant to stay outside the mesh, drop sidecar.asm.aliyun.com/inject "
                            "from its template; if it is meant to move to ASM, drop sidecar.istio.io/inject=false "
                            "and recreate its pods.")
    WORKLOADS_UNREAD = Outcome("AA1330", Status.UNKNOWN, "the workloads could not be read, so a moved workload short "
                               "of its pods (none created, none listed) cannot be seen",
                               message="{kinds} could not be read: a workload moved to ASM whose pods cannot be "
                                       "created would not show here ({reason})",
                               fix="Grant list on Deployments, StatefulSets and DaemonSets (`asm-audit rbac`), then "
                                   "audit again.")
    NO_ASM_PROXY = Outcome("AA1340", Status.NOT_APPLICABLE, "no pod runs ASM's proxy yet",
                           message="no pod runs an ASM proxy yet")
    outcomes = (READY, NOT_READY, RESTARTING, NOT_READY_AND_RESTARTING, SHORT, UNPROXIED, OPTED_OUT, WORKLOADS_UNREAD,
                NO_ASM_PROXY)
    needs = (K.POD,)
    # The workloads' status: a moved workload whose pods cannot be created has none to judge (rollouts.py).
    uses = (K.REPLICASET, K.JOB, *rollouts.KINDS)
    restart_threshold = 3  # restartCount (all containers) above this counts as restarting

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        # Only the rows and columns read, as frames of those columns' arrays: filtering copies each column kept.
        columns = [*WORKLOAD_KEY, "name", "ready", "restarts", "phase"]
        # The ASM proxies' workload key and what tells a bad pod; their names and phases only for the bad ones.
        moved = among(pods["proxy"], (mesh.PROXY_ASM,)) & among(pods["phase"], ACTIVE_PHASES)
        asm = pod_columns(pods, moved, [*WORKLOAD_KEY, "ready", "restarts"])
        sizes = workload_sizes(asm) if not asm.empty else {}
        short, unread = rollouts.shortfalls(cluster, set(sizes))
        if short:  # rare: which of them lack pods (unready pods that exist are judged below, one finding each)
            # A pod being deleted is none of them: its controller counts it no more (istio.replica_rows).
            existing = workload_sizes(pod_columns(pods, replica_rows(pods), WORKLOAD_KEY))
            short = [(gap, n) for gap in short
                     if (n := existing.get((gap.namespace, gap.kind, gap.name), 0)) < gap.desired]
        yield from self._short(cluster.name, short)
        found = self._unproxied(cluster, pods)
        yield from found
        unproxied = [x for x in found if x.code != self.OPTED_OUT.code]  # what keeps the cluster from READY
        if unread:
            yield self.report(self.WORKLOADS_UNREAD, cluster.name, params={
                "kinds": ", ".join(unread), "reason": "; ".join(f"{k}: {why}" for k, why in unread.items())},
                evidence={"unread": unread})
        if asm.empty:
            if not short and not unread and not unproxied:
                yield self.report(self.NO_ASM_PROXY, cluster.name, params={})
            return
        not_ready = ~asm["ready"].to_numpy().astype(bool)
        restarting = (asm["restarts"] > self.restart_threshold).to_numpy()
        bad_rows = moved.copy()
        bad_rows[moved] = not_ready | restarting
        bad = pod_columns(pods, bad_rows, columns)
        # Plain lists in workload order (inventory.workload_columns): no DataFrame, nor dict of lists, per workload.
        keys, bounds, values = workload_columns(bad, ("name", "ready", "restarts", "phase"))
        pod_names, readiness, restart_counts, pod_phases = (values[c] for c in ("name", "ready", "restarts", "phase"))
        phases_seen: dict[tuple[Any, ...], dict[str, int]] = {}
        commands: dict[Any, str] = {}  # namespace -> the kubectl prefix of its commands: made once per namespace
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            total = int(sizes.get((namespace, kind, name), end - start))
            rows = list(zip(pod_names[start:end], readiness[start:end], restart_counts[start:end], strict=True))
            unready = [pod for pod, ready, _ in rows if not ready]
            looping = {str(pod): int(count) for pod, _, count in rows if count > self.restart_threshold}
            params: dict[str, Any] = {"unready": len(unready), "total": total}
            outcome = self.NOT_READY
            if looping:
                params.update(restarting=len(looping), threshold=self.restart_threshold,
                              max_restarts=max(looping.values()))
                outcome = self.NOT_READY_AND_RESTARTING if unready else self.RESTARTING
            first = mesh.object_ref("pod", str(pod_names[start]))  # a pod's name, not the finding's own
            k = commands.get(namespace)
            if k is None:
                k = commands[namespace] = f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(namespace)}"
            yield self.report(outcome, cluster.name, params=params, kind=kind,
                            namespace=namespace, name=name,
                            remediation=(f"{k} describe {first}; {k} logs {first} "
                                         "-c istio-proxy --previous"),
                            evidence={"not_ready": sorted(unready)[:20], "restarting": looping,
                                      "phases": {**value_counts(pod_phases[start:end], phases_seen)},
                                      "pod_count": total,
                                      "restart_threshold": self.restart_threshold})
        if bad.empty and not short and not unread and not unproxied:
            workloads = len(sizes)
            yield self.report(self.READY, cluster.name, params={"pods": len(asm), "workloads": workloads,
                                                                 "threshold": self.restart_threshold},
                              evidence={"pods": len(asm), "workloads": workloads})

    def _unproxied(self, cluster: ClusterInventory, pods: Any) -> list[Finding]:
        """AA1314 for each workload whose pods carry ASM's migration label (sidecar.asm.aliyun.com/inject=true, the
        seed's way to move a workload) yet run no proxy: the label asked ASM's injector for its proxy and the pod was
        admitted without one (classified by what it runs, not by the label: a pod the label moved runs ASM's proxy).
        Nothing Istio's is left of it and no ASM-proxied pod of it is unready, so no other rule of this gate sees it.
        Active pods not being deleted (istio.replica_rows); a proxyless gRPC app's bootstrap is judged elsewhere; a
        workload no injector ever injects (rollouts.never_injected: hostNetwork, kube-system...) was outside the mesh
        under Istio too, and the label changes nothing for it."""
        if "asm_inject" not in pods or len(pods) == 0:
            return []
        rows = replica_rows(pods) & among(pods["proxy"], (mesh.PROXY_NONE,)) & pods["asm_inject"].to_numpy(dtype=bool)
        if "xds_server" in pods:
            rows &= among(pods["xds_server"], ("",))
        if not rows.any():
            return []
        totals = workload_sizes(pod_columns(pods, replica_rows(pods), WORKLOAD_KEY))
        keys, bounds, values = workload_columns(pod_columns(pods, rows, [*WORKLOAD_KEY, "name"]), ("name",))
        found, where = [], cluster.name
        for g, (namespace, kind, name) in enumerate(keys):
            if rollouts.never_injected(cluster, kind, namespace, name):
                continue
            names = sorted(str(n) for n in values["name"][bounds[g]:bounds[g + 1]])
            k = f"{mesh.kubectl(where)} {mesh.ns_flag(namespace)}"
            if rollouts.opts_out_of_injection(cluster, kind, namespace, name):
                found.append(self.report(
                    self.OPTED_OUT, where, params={"unproxied": len(names), "total": int(
                        totals.get((namespace, kind, name), len(names)))}, kind=kind, namespace=namespace, name=name,
                    remediation=(f"{k} get {mesh.object_ref(mesh.sh(kind.lower()), name)} -o jsonpath="
                                 "'{.spec.template.metadata.labels}'  # both labels; drop the one that is not meant"),
                    evidence={"unproxied": names[:20], "pods": len(names), "asm_inject_label": True,
                              "sidecar_inject": "false"}))
                continue
            found.append(self.report(
                self.UNPROXIED, where, params={"unproxied": len(names), "total": int(
                    totals.get((namespace, kind, name), len(names)))}, kind=kind, namespace=namespace, name=name,
                remediation=(f"{k} describe {mesh.object_ref('pod', names[0])}; {k} get mutatingwebhookconfigurations "
                             "-o yaml  # why ASM's injector did not take it; once it does, recreate its pods:\n"
                             + mesh.restart_command(where, kind, namespace, name)),
                evidence={"unproxied": names[:20], "pods": len(names), "asm_inject_label": True}))
        return found

    def _short(self, cluster: str, short: list[tuple[rollouts.Shortfall, int]]) -> Iterable[Finding]:
        """AA1313 for each moved workload with fewer pods than it should run (`existing`: its pods listed)."""
        for gap, existing in short:
            k = f"{mesh.kubectl(cluster)} {mesh.ns_flag(gap.namespace)}"
            ref = mesh.object_ref(mesh.sh(gap.kind.lower()), gap.name)
            yield self.report(self.SHORT, cluster, params={"existing": existing, "desired": gap.desired,
                                                           "available": gap.available,
                                                           "why": f" ({gap.why})" if gap.why else ""},
                              kind=gap.kind, namespace=gap.namespace, name=gap.name,
                              remediation=f"{k} describe {ref}; {k} get events --field-selector reason=FailedCreate",
                              evidence={"desired": gap.desired, "available": gap.available, "pods": existing,
                                        "condition": gap.why, "asm_inject_label": gap.marked})
