"""PROXY_CONFIG_XDS_AGENT on Istio-proxy pods: only pods created after SetupIstioForMigrate carry it. And on Istio's
proxies outside Kubernetes (VMs, auditor/vms.py), whose pilot-agent takes it from the files written at onboarding."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import idle, istio, mesh, rollouts, vms
from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.errors import EvidenceUnavailable
from auditor.gateways import INSTALL_ISTIOCTL, SCAN_KINDS, gateway_workloads, proxy_config_templates
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ClusterInventory, value_counts, workload_columns, workload_sizes
from auditor.istio import (
    UNCLASSIFIED_MESSAGE,
    WORKLOAD_KEY,
    OperatorHold,
    among,
    iop_patch_command,
    istio_proxy_rows,
    operator_hold,
    pod_columns,
    proxyless_rows,
    unclassified_proxy_findings,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status


def seen_values_text(seen: dict[str, int]) -> str:
    """The values seen and their counts as the message writes them ("<absent> x3, false x1")."""
    return ", ".join(f"{value} x{count}" for value, count in seen.items())


# PROXY_CONFIG_XDS_AGENT values pilot-agent reads as true (env.Register(..., false, ...) parses a bool with
# strconv.ParseBool: pkg/env/var.go @1.22.0..1.30.3); anything else is its default, false.
_TRUE_SPELLINGS = tuple(sorted(mesh.GO_TRUE))
# The advice of an istioctl-rendered gateway's remediation (AA1112): shell comments the catalog holds.
ISTIOCTL_RENDERED = N_("rendered by istioctl from an IstioOperator and not injected: a restart does not add the "
                       "setting.")
SET_IN_ISTIOOPERATOR = N_("Set spec.meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT: \"true\" in the "
                          "IstioOperator you installed with, then re-apply it with the istioctl of the installed "
                          "version:")
OR_SET_ENV = N_("or set it on the workload directly (the next `istioctl install` must carry it too):")
OPERATOR_RENDERED = N_("rendered by that in-cluster istio-operator from that IstioOperator and not injected: a restart "
                       "does not add the setting. Set it in that IstioOperator; the operator then renders the gateway "
                       "with it:")


# AA1114/AA1115 and AA1134/AA1135 say the same of a template (their meanings tell a workload running no pod from one
# whose template changed under its pods).
_TEMPLATE_FIX = ("Remove PROXY_CONFIG_XDS_AGENT from the proxyMetadata of the pod template's proxy.istio.io/config "
                 "annotation (or set it to \"true\"):\n{command}")
_TEMPLATE_TAKEN = ("{kind} {namespace}/{name} ({why}) sets PROXY_CONFIG_XDS_AGENT={value} in its pod template's "
                   "proxy.istio.io/config, and Istio's injector webhook(s) {webhooks} take its next pods: they start "
                   "without the setting and cannot talk mTLS to ASM proxies")
_TEMPLATE_UNPROVEN_FIX = ("Find which injector takes its pods (kubectl get mutatingwebhookconfigurations; the "
                          "namespace's labels); where it is Istio's, remove PROXY_CONFIG_XDS_AGENT from the "
                          "annotation's proxyMetadata (or set it to \"true\"):\n{command}")
_TEMPLATE_UNPROVEN = ("{kind} {namespace}/{name} ({why}) sets PROXY_CONFIG_XDS_AGENT={value} in its pod template's "
                      "proxy.istio.io/config; whether Istio's injector takes its next pods cannot be told ({reason})")
# AA1110's advice where the workload's own template turns it off: shell comment the catalog holds.
TEMPLATE_TURNS_IT_OFF = N_("its pod template's proxy.istio.io/config turns PROXY_CONFIG_XDS_AGENT off, and a restart "
                           "would keep it off: remove it from the annotation's proxyMetadata (or set it to \"true\") "
                           "first, then restart")
# Why a workload with running pods is judged by its template (AA1115's {why}).
MADE_BEFORE = N_("its running pods were made before its template turned the setting off")


class PodsXdsAgent(ClusterCheck):
    id = "pods-xds-agent"
    title = "Every Istio-sidecar pod carries PROXY_CONFIG_XDS_AGENT=true"
    gates = (Gate.MIGRATING,)
    severity = Severity.BLOCKER
    rationale = ("Only pods created after SetupIstioForMigrate (and after istiod restarted) carry the setting "
                 "that lets Istio sidecars and ASM proxies talk mTLS during the migration. The value must be one "
                 "pilot-agent reads as true (\"true\"; Go's ParseBool also takes True, TRUE, t, T, 1): a grep for the "
                 "name alone would also pass \"false\". Istio ingress/egress gateways "
                 "originate mTLS to moved workloads too, so their pods are checked as well (severity major); east-west "
                 "gateways only pass mTLS through and are not. Istio's proxies on VMs (WorkloadGroups, "
                 "WorkloadEntries) take it only from the cluster.env written at their onboarding, read once when "
                 "their agent starts: never from istiod's mesh config, and the cluster cannot show it.")
    remediation = "Restart the workload so its pods are injected again (kubectl rollout restart)."
    _LACK = "{missing}/{total} {what} lack PROXY_CONFIG_XDS_AGENT=\"true\" (seen: {seen})"
    CARRIED = Outcome("AA1101", Status.PASS, "every Istio-proxy pod of the workloads carries "
                      "PROXY_CONFIG_XDS_AGENT=true",
                      message="{workloads} workload(s) on Istio's proxy carry PROXY_CONFIG_XDS_AGENT=\"true\"")
    NO_ISTIO_PROXY = Outcome("AA1102", Status.PASS, "no pod runs Istio's proxy (east-west gateways aside): nothing "
                             "to restart", message="no pod runs Istio's proxy: nothing to restart")
    MISSING = Outcome("AA1110", Status.FAIL, "pods of a workload lack PROXY_CONFIG_XDS_AGENT=true: restart the "
                      "workload", message=_LACK.replace("{what}", "pod(s)"))
    GATEWAY_MISSING = Outcome("AA1111", Status.FAIL, "ingress/egress gateway pods lack PROXY_CONFIG_XDS_AGENT=true: "
                              "restart the gateway (injected: the gateway chart, Gateway API)", Severity.MAJOR,
                              message=_LACK.replace("{what}", "gateway pod(s)"))
    ISTIOCTL_GATEWAY_MISSING = Outcome("AA1112", Status.FAIL, "an istioctl/IstioOperator gateway lacks "
                                       "PROXY_CONFIG_XDS_AGENT=true: it is not injected, so set the IstioOperator "
                                       "value and re-install (or `kubectl set env`), never a restart", Severity.MAJOR,
                                       message=_LACK.replace("{what}", "gateway pod(s)"))
    UNCLASSIFIED = Outcome("AA1130", Status.UNKNOWN,
                           "pods whose proxy marks contradict each other: Istio's or ASM's cannot be told",
                           message=UNCLASSIFIED_MESSAGE)
    # Istio's proxies on VMs (auditor/vms.py): their pilot-agent reads PROXY_CONFIG_XDS_AGENT once, at start, from the
    # VM's cluster.env, written at onboarding; istiod's mesh config never reaches it, and the cluster cannot show it.
    VM_GROUP_OVERRIDE = Outcome(
        "AA1113", Status.FAIL, "VM proxies of a WorkloadGroup are connected to Istio's istiod, and the group's own "
        "proxy config (proxy.istio.io/config) sets PROXY_CONFIG_XDS_AGENT to a value pilot-agent reads as false: it "
        "overrides the mesh config in the cluster.env istioctl generates from the group, so regenerating the files "
        "keeps it off",
        fix="Remove PROXY_CONFIG_XDS_AGENT from the WorkloadGroup's proxy.istio.io/config (or set it to \"true\"); on "
            "each of its VMs add PROXY_CONFIG_XDS_AGENT=true to /var/lib/istio/envoy/cluster.env and restart the proxy "
            "(systemctl restart istio).",
        message="WorkloadGroup {namespace}/{name} sets PROXY_CONFIG_XDS_AGENT={value} in its proxy.istio.io/config, "
                "over the mesh config's value, in every cluster.env istioctl generates from it; {connected} of its VM "
                "proxy(ies) are connected to Istio's istiod (pod(s) {pods})")
    VM_ON_ISTIO = Outcome(
        "AA1131", Status.UNKNOWN, "VM proxies are connected to this cluster's self-built istiod, and whether their "
        "pilot-agent started with PROXY_CONFIG_XDS_AGENT=true cannot be told from the cluster: it reads the setting "
        "once, at start, from the VM's cluster.env (written at onboarding), never from istiod's mesh config; verify on "
        "istiod or the VM, then exempt the finding",
        fix="Verify on the istiod pod (its /debug/adsz lists the proxy watching ProxyConfig) or on the VM (the running "
            "pilot-agent's /proc/<pid>/environ); where it is missing, add PROXY_CONFIG_XDS_AGENT=true to the VM's "
            "/var/lib/istio/envoy/cluster.env and restart the proxy (systemctl restart istio); then exempt the code "
            "for the object with the reason.",
        message="{subject} {namespace}/{name}: {connected} VM proxy(ies) connected to Istio's istiod (pod(s) {pods}); "
                "whether each pilot-agent started with PROXY_CONFIG_XDS_AGENT=true is on the VM (cluster.env), not in "
                "the cluster")
    VM_UNPROVEN = Outcome(
        "AA1132", Status.UNKNOWN, "a WorkloadGroup or WorkloadEntry stands for VM proxies whose control plane cannot "
        "be told from the cluster: on Istio's istiod, each needs PROXY_CONFIG_XDS_AGENT=true in the environment its "
        "pilot-agent started with; verify, then exempt the finding",
        fix="Find which istiod the VM proxies use (istioctl proxy-status on Istio's); for those on it, verify the "
            "setting on the VM (the running pilot-agent's /proc/<pid>/environ) and add it to cluster.env where it is "
            "missing; then exempt the code for the object with the reason.",
        message="{subject} {namespace}/{name} stands for VM proxy(ies) ({why}); which istiod they use, and whether "
                "their pilot-agent started with PROXY_CONFIG_XDS_AGENT=true, cannot be told here")
    VM_UNREAD = Outcome(
        "AA1133", Status.UNKNOWN, "WorkloadEntries or WorkloadGroups cannot be read: VM proxies on Istio's istiod "
        "without PROXY_CONFIG_XDS_AGENT cannot be ruled out",
        fix="Grant list on workloadentries and workloadgroups (networking.istio.io; `asm-audit rbac`), or collect them "
            "into the snapshot, then audit again.",
        message="{kind} objects cannot be read ({reason}): VM proxies on Istio's istiod without "
                "PROXY_CONFIG_XDS_AGENT cannot be ruled out")
    # A workload that runs no pod now (auditor/idle.py: scaled to 0, a CronJob between runs...) whose pod template's
    # proxy.istio.io/config turns the setting off: Istio's injector merges that annotation over the mesh config
    # (mesh.annotation_xds_agent), so its next pods start without it, and no pod shows it yet.
    TEMPLATE_OFF = Outcome(
        "AA1114", Status.FAIL, "a workload that runs no pod now turns PROXY_CONFIG_XDS_AGENT off in its pod template's "
        "proxy.istio.io/config annotation, and Istio's injector takes its next pods: they start without the setting",
        fix=_TEMPLATE_FIX, message=_TEMPLATE_TAKEN)
    TEMPLATE_OFF_UNPROVEN = Outcome(
        "AA1134", Status.UNKNOWN, "a workload that runs no pod now turns PROXY_CONFIG_XDS_AGENT off in its pod "
        "template's proxy.istio.io/config annotation, and whether Istio's injector takes its next pods cannot be told",
        fix=_TEMPLATE_UNPROVEN_FIX, message=_TEMPLATE_UNPROVEN)
    # A workload whose running pods carry the setting (or run no Istio proxy) while its template turns it off: the
    # template changed after they were made and was not rolled out (an OnDelete StatefulSet or DaemonSet, a paused
    # Deployment, a partition, a CronJob whose earlier Job still runs). The injector reads the template's annotation
    # when it makes each pod (istio/istio@1.22.3 pkg/kube/inject/webhook.go injectPod: GetProxyConfigOrDefault over
    # the pod's annotations), so the next pods start without it; the running pods show nothing of it.
    TEMPLATE_OFF_UNDER_PODS = Outcome(
        "AA1115", Status.FAIL, "a workload's running pods were made before its pod template's proxy.istio.io/config "
        "annotation turned PROXY_CONFIG_XDS_AGENT off (not rolled out: OnDelete, paused, a CronJob's earlier Job), and "
        "Istio's injector takes its next pods: they start without the setting",
        fix=_TEMPLATE_FIX, message=_TEMPLATE_TAKEN)
    TEMPLATE_OFF_UNDER_PODS_UNPROVEN = Outcome(
        "AA1135", Status.UNKNOWN, "a workload's running pods were made before its pod template's proxy.istio.io/config "
        "annotation turned PROXY_CONFIG_XDS_AGENT off, and whether Istio's injector takes its next pods cannot be told",
        fix=_TEMPLATE_UNPROVEN_FIX, message=_TEMPLATE_UNPROVEN)
    # The workload kinds holding pod templates could not be read: a template turning the setting off (AA1114, AA1115)
    # is not seen, where an injector of Istio's (or of no proven owner) may take its next pods.
    TEMPLATE_KINDS_UNREAD = Outcome(
        "AA1136", Status.UNKNOWN, "workload kinds could not be read: a pod template turning PROXY_CONFIG_XDS_AGENT off "
        "for the next pods Istio's injector makes (a workload that runs no pod now, or one whose template changed "
        "under its running pods) cannot be ruled out",
        fix="Grant list on the kinds named (`asm-audit rbac`), or collect them into the snapshot, then audit again.",
        message="{kinds} could not be read ({reason}): a pod template turning PROXY_CONFIG_XDS_AGENT off for the next "
                "pods Istio's injector makes cannot be ruled out")
    outcomes = (CARRIED, NO_ISTIO_PROXY, MISSING, GATEWAY_MISSING, ISTIOCTL_GATEWAY_MISSING, UNCLASSIFIED,
                VM_GROUP_OVERRIDE, VM_ON_ISTIO, VM_UNPROVEN, VM_UNREAD, TEMPLATE_OFF, TEMPLATE_OFF_UNPROVEN,
                TEMPLATE_OFF_UNDER_PODS, TEMPLATE_OFF_UNDER_PODS_UNPROVEN, TEMPLATE_KINDS_UNREAD)
    needs = (K.POD,)
    # IstioOperators: what the in-cluster istio-operator renders an istioctl gateway from (its remediation).
    # StatefulSets: whether a restart recreates their pods (rollouts.update_hold: OnDelete, a partition).
    # CloneSets and OpenKruise's Advanced kinds: their update strategy's holds and restart (update_hold, _restart).
    # The workloads that run no pod (idle.IDLE_KINDS), their namespaces and the injector webhooks: whose next pods a
    # template turning the setting off gives Istio's injector (AA1114, AA1115); what idle.py reads with them (an Argo
    # Rollout's hold, a Knative Revision's Route) and the CRDs (an OpenKruise kind no CRD defines is not unread:
    # AA1136).
    uses = (K.REPLICASET, K.JOB, K.DEPLOYMENT, K.STATEFULSET, K.CLONESET, *K.ADVANCED_KINDS, *SCAN_KINDS,
            K.WORKLOADENTRY, K.WORKLOADGROUP, K.ISTIOOPERATOR, *idle.IDLE_KINDS, K.NAMESPACE, K.MUTATING_WEBHOOK,
            K.ARGO_ROLLOUT, K.KNATIVE_REVISION, K.CRD)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        yield from unclassified_proxy_findings(self, self.UNCLASSIFIED, cluster, pods)
        istio = istio_proxy_rows(pods)
        installers = {}
        if cluster.available(K.DEPLOYMENT):
            config = ctx.config
            installers = {(g.namespace, g.kind, g.name): g.installed_by for g in gateway_workloads(
                cluster, ctx.inv.rules, config.gateways if config is not None else None)}
        # East-west gateways pass mTLS through (AUTO_PASSTHROUGH) without terminating it: their trust does
        # not matter. Ingress/egress gateways originate mTLS to moved workloads, so they are checked.
        # Compared as categories (one comparison per distinct value), not converted to text pod by pod.
        eastwest = among(pods["gateway_label"], ("eastwestgateway",))
        skipped = int((istio & eastwest).sum())
        # Only the rows and columns read, as frames of those columns' arrays: selecting copies each column it keeps.
        columns = [*WORKLOAD_KEY, "name", "role", "xds_agent"]
        # The proxies' workload key alone (what `sizes` counts); their other columns only where the value lacks.
        judged = istio & ~eastwest
        proxies = pod_columns(pods, judged, WORKLOAD_KEY)
        # Vectorised: one mask over all pods, then only the workloads that lack the value are grouped.
        # pilot-agent reads the value with Go's strconv.ParseBool (mesh.GO_TRUE): "True" and "1" are on too.
        missing_all = pod_columns(pods, judged & ~among(pods["xds_agent"], _TRUE_SPELLINGS), columns)
        sizes = workload_sizes(proxies)
        # Plain lists in workload order (inventory.workload_columns): no DataFrame, nor dict of lists, per workload.
        keys, bounds, values = workload_columns(missing_all, ("name", "xds_agent", "role"))
        pod_names, xds_values, roles = values["name"], values["xds_agent"], values["role"]
        seen_before: dict[tuple[Any, ...], dict[str, int]] = {}
        # A workload whose own template turns it off gets it off again from a restart: its template is edited first.
        turning_off = _templates_turning_off(cluster) if keys else {}
        # id of a dict of seen_before -> that dict (held, so its id is not reused) and its text: written once per
        # distinct values
        seen_texts: dict[int, tuple[dict[str, int], str]] = {}
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            total = int(sizes.get((namespace, kind, name), end - start))
            seen = value_counts(xds_values[start:end], seen_before)
            known = seen_texts.get(id(seen))
            if known is None or known[0] is not seen:
                known = seen_texts[id(seen)] = (seen, seen_values_text(seen))
            seen_text = known[1]
            gateway = mesh.ROLE_GATEWAY in roles[start:end]
            installed_by = installers.get((namespace, kind, name), "") if gateway else ""
            outcome = (self.ISTIOCTL_GATEWAY_MISSING if installed_by == INSTALL_ISTIOCTL
                       else self.GATEWAY_MISSING if gateway else self.MISSING)
            yield self.report(
                outcome, cluster.name, params={"missing": end - start, "total": total,
                                               "seen": seen_text},
                kind=kind, namespace=namespace, name=name,
                # An injected workload is restarted (rollouts.restart_command: a paused, OnDelete or partitioned
                # one by what does recreate its pods); an istioctl-rendered gateway is re-rendered (_remedy).
                remediation=self._remedy(cluster.name, kind, namespace, name, installed_by,
                                         self._hold(cluster, kind, namespace, name))
                if installed_by == INSTALL_ISTIOCTL else _restart(cluster, kind, namespace, name, turning_off),
                evidence={"pods": pod_names[start:min(end, start + 20)], "values": {**seen}, "pod_count": total,
                          "gateway": gateway, "installed_by": installed_by or None})
        machines = self._vm_findings(cluster)
        yield from machines
        templates = self._template_findings(cluster, pods, keys)
        yield from templates
        # The workloads lacking the value that `sizes` counts (a pod with a missing key is grouped by neither).
        ok_workloads = len(sizes) - len(sizes.keys() & keys)
        # Proxyless gRPC apps (Istio's grpc-simple: no proxy, an xDS bootstrap) have no agent to carry the setting:
        # not judged here, but said, so "nothing to restart" does not pass them as pods without a mesh (the uninstall
        # gate's istio-sidecars-remaining judges which istiod they use).
        proxyless = int(proxyless_rows(pods).sum())
        extra = {"proxyless_grpc_pods_not_judged": proxyless} if proxyless else {}
        if proxies.empty:
            if machines or templates:  # "nothing to restart" would hide the VM proxies or templates reported above
                return
            yield self.report(self.NO_ISTIO_PROXY, cluster.name, params={},
                              evidence={"workloads_ok": 0, "eastwest_gateway_pods_skipped": skipped, **extra})
        elif ok_workloads:
            yield self.report(self.CARRIED, cluster.name, params={"workloads": ok_workloads},
                              evidence={"workloads_ok": ok_workloads, "eastwest_gateway_pods_skipped": skipped,
                                        **extra})

    def _template_findings(self, cluster: ClusterInventory, pods: Any,
                           lacking: list[tuple[Any, ...]]) -> list[Finding]:
        """Per workload whose pod template's proxy.istio.io/config sets the value to one pilot-agent reads as false,
        where its next pods are made from that template: one that runs no pod now (AA1114/AA1134), and one whose
        running pods were made before (AA1115/AA1135; those already lacking it, `lacking`, are AA1110's). FAIL where
        Istio's injector webhook selects it (and ASM's does not take it by its label), UNKNOWN where what selects it
        cannot be told (namespaces or webhooks unread, an injector not proven Istio's or ASM's). The workload kinds
        unread: AA1136, where an injector of Istio's may be there. Only the templates naming the key are judged
        (mesh.annotation_xds_agent reads the text first): at 50k pods the others cost a dict lookup each."""
        running: dict[str, set[tuple[str, str]]] | None = None

        def running_of() -> dict[str, set[tuple[str, str]]]:
            nonlocal running
            if running is None:
                running = idle.active_workloads(pods)
            return running

        out: list[Finding] = []
        kinds_unread = idle.unread_workload_kinds(cluster, running_of)
        if kinds_unread and _istio_injector_may_exist(cluster):
            reason = "; ".join(f"{k}: {why}" for k, why in kinds_unread.items())
            out.append(self.report(self.TEMPLATE_KINDS_UNREAD, cluster.name,
                                   params={"kinds": ", ".join(kinds_unread), "reason": reason},
                                   evidence={"unread": kinds_unread}))
        if not _some_template_turns_off(cluster):  # most clusters: one walk of the templates, no workload judged
            return out
        idle_reading = idle.idle_workloads(cluster, running_of(), wanted=_template_turns_off)
        under_pods = idle.judge_candidates(cluster, _templates_under_pods(
            cluster, running_of(), {tuple(map(str, key)) for key in lacking}))
        for reading, taken, unproven in ((idle_reading, self.TEMPLATE_OFF, self.TEMPLATE_OFF_UNPROVEN),
                                         (under_pods, self.TEMPLATE_OFF_UNDER_PODS,
                                          self.TEMPLATE_OFF_UNDER_PODS_UNPROVEN)):
            for w in [*reading.workloads, *reading.undecided]:
                out.extend(self._template_finding(cluster.name, w, taken, unproven))
        return out

    def _template_finding(self, cluster: str, w: idle.IdleWorkload, taken: Outcome,
                          unproven: Outcome) -> list[Finding]:
        value = mesh.annotation_xds_agent(((w.template.get("metadata") or {}).get("annotations")) or {})
        subject = {"kind": w.kind, "namespace": w.namespace, "name": w.name}
        evidence: dict[str, Any] = {"why": str(w.why), "value": value, "istio_injectors": w.istio,
                                    "asm_injectors": w.asm, "unproven_injectors": w.unproven,
                                    "labelled_for_asm": w.asm_labelled}
        if taken is self.TEMPLATE_OFF:
            evidence.update(pods=0, why_no_pod=evidence.pop("why"))
        if w.template_of:
            evidence["template_of"] = w.template_of
        params = {**subject, "why": w.why, "value": mesh.sh_text(repr(value)),
                  "command": _edit_template_command(cluster, w.kind, w.namespace, w.name)}
        if w.undecided or (w.unproven and not w.istio):
            reason = w.undecided or Phrase(N_("injector webhook(s) {webhooks} select it, and whose istiod "
                                              "answers them is not proven"), webhooks=", ".join(w.unproven))
            return [self.report(unproven, cluster, params={**params, "reason": reason},
                                evidence={**evidence, "undecided": str(reason)}, **subject)]
        if w.istio and not (w.asm and w.asm_labelled):
            return [self.report(taken, cluster, params={**params, "webhooks": ", ".join(w.istio)}, evidence=evidence,
                                **subject)]
        return []

    @staticmethod
    def _hold(cluster: ClusterInventory, kind: str, namespace: str, name: str) -> OperatorHold | None:
        """The running istio-operator's hold on an istioctl/IstioOperator gateway workload (auditor/istio.py)."""
        workload_kind = {"Deployment": K.DEPLOYMENT, "DaemonSet": K.DAEMONSET}.get(kind)
        if workload_kind is None or not cluster.available(workload_kind):
            return None
        obj = cluster.get(workload_kind, name, namespace)
        return operator_hold(cluster, obj) if obj is not None else None

    @staticmethod
    def _remedy(cluster: str, kind: str, namespace: str, name: str, installed_by: str,
                hold: OperatorHold | None = None) -> str:
        """Injected pods get the setting at their next start; istioctl/IstioOperator gateways are not injected:
        their env was rendered at install time from the IstioOperator, so a restart changes nothing. One the running
        in-cluster istio-operator renders is changed in the IstioOperator it reconciles (a change of it makes the
        operator render the gateway again), not by another `istioctl install`."""
        if installed_by != INSTALL_ISTIOCTL:
            return mesh.restart_command(cluster, kind, namespace, name)
        # The advice as catalog comments (said in the report's language: render/localize.comments_said); the names on
        # a line of their own (the finding names its subject, the command names the workload).
        if hold is not None:
            return (f"# istio-operator {mesh.sh_text(hold.operator)}, IstioOperator {mesh.sh_text(hold.subject)}\n"
                    f"# {OPERATOR_RENDERED}\n" + iop_patch_command(cluster, hold))
        return (f"# {ISTIOCTL_RENDERED}\n# {SET_IN_ISTIOOPERATOR}\n"
                f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} install -f "
                "\"${ISTIOOPERATOR_FILE:?the IstioOperator file you installed with}\"\n"
                f"# {OR_SET_ENV}\n"
                f"{mesh.kubectl_in(cluster, namespace)} set env {mesh.object_ref(kind.lower(), name)} "
                f"{mesh.XDS_AGENT_KEY}=true")

    # ---------------------------------------------------------------- Istio's proxies on VMs
    def _vm_findings(self, cluster: ClusterInventory) -> list[Finding]:
        """One finding per WorkloadGroup with VM proxies and per user-written WorkloadEntry with a proxy
        (auditor/vms.py); none where the cluster has neither. Never a PASS: what a VM's agent started with is on the
        VM. FAIL only where the group's own onboarding config proves the setting off."""
        found = vms.vm_proxies(cluster)
        out = [self.report(self.VM_UNREAD, cluster.name, params={"kind": kind, "reason": reason}, kind=kind,
                           evidence={"kind": kind, "reason": reason})
               for kind, reason in found.unread]
        if not found.groups and not found.entries:
            return out
        try:
            istiod = vms.istiod_pods(cluster)
            revisions = {f"{(d.get('metadata') or {}).get('namespace') or ''}/{(d.get('metadata') or {}).get('name')}":
                         mesh.istiod_revision(d) for d in cluster.istiod_deployments()}
            istiod_unread = ""
        except EvidenceUnavailable as exc:
            istiod, revisions, istiod_unread = {}, {}, exc.reason
        for group in found.groups:
            out.append(self._group_finding(cluster.name, group, istiod, revisions, istiod_unread))
        for entry in found.entries:
            out.append(self._entry_finding(cluster.name, entry, istiod, revisions, istiod_unread))
        return out

    def _group_finding(self, cluster: str, group: vms.VmGroup, istiod: dict[str, str], revisions: dict[str, str],
                       istiod_unread: str) -> Finding:
        state = vms.group_state(group, istiod)
        on_istio, elsewhere, disconnected = state.counts
        value = vms.onboarding_xds_agent(group.obj)
        connected_at = {e_name: vms.connected_at(e) for e in group.entries
                        if (e_name := str((e.get("metadata") or {}).get("name") or "")) in state.on_istio}
        evidence: dict[str, Any] = {
            "workload_group_exists": group.exists, "workload_entries": len(group.entries),
            "on_istio_istiod": state.on_istio, "connected_at": connected_at, "connected_elsewhere": state.elsewhere,
            "not_connected": state.disconnected, "istiod_pods": vms.listed(istiod),
            "onboarding_xds_agent": value}
        if istiod_unread:
            evidence["istiod_pods_unread"] = istiod_unread
        subject = {"kind": K.WORKLOADGROUP.kind, "namespace": group.namespace, "name": group.name}
        where = {"subject": K.WORKLOADGROUP.kind, "namespace": group.namespace, "name": group.name}
        if not on_istio:
            # A Phrase: a report in another language says the clause in it too (a WorkloadEntry's `why` is its
            # address and proxy signs, kept as written).
            why = Phrase(N_("{entries} auto-registered WorkloadEntry(ies): {elsewhere} connected to an istiod other "
                            "than this cluster's self-built one, {disconnected} not connected"),
                         entries=len(group.entries), elsewhere=elsewhere, disconnected=disconnected) if group.entries \
                else Phrase(N_("no auto-registered WorkloadEntry of it in this cluster"))
            return self.report(self.VM_UNPROVEN, cluster, params={**where, "why": why},
                               remediation=_vm_unproven(cluster, group.namespace, self.VM_UNPROVEN.code),
                               evidence=evidence, **subject)
        pods = vms.listed(set(state.on_istio.values()))
        pods_text = ", ".join(pods[:5]) + (" ..." if len(pods) > 5 else "")
        regenerate = _regenerate(cluster, group.namespace, group.name, pods, istiod, revisions)
        if value is not None and not vms.agent_reads_true(value):
            return self.report(self.VM_GROUP_OVERRIDE, cluster, params={
                "namespace": group.namespace, "name": group.name, "value": mesh.sh_text(value),
                "connected": on_istio, "pods": pods_text},
                remediation=(f"# the group's proxy.istio.io/config (metadata or spec.metadata annotations) must not "
                             f"turn it off: remove {mesh.XDS_AGENT_KEY} from its proxyMetadata (or set it to "
                             f"\"true\")\n"
                             f"{mesh.kubectl_in(cluster, group.namespace)} edit "
                             f"{mesh.object_ref('workloadgroups.networking.istio.io', group.name)}\n" + regenerate),
                evidence=evidence, **subject)
        return self.report(self.VM_ON_ISTIO, cluster, params={**where, "connected": on_istio, "pods": pods_text},
                           remediation=_vm_verify(cluster, group.namespace, pods, istiod, self.VM_ON_ISTIO.code)
                           + "\n" + regenerate, evidence=evidence, **subject)

    def _entry_finding(self, cluster: str, entry: dict[str, Any], istiod: dict[str, str], revisions: dict[str, str],
                       istiod_unread: str) -> Finding:
        facts = vms.entry_facts(entry, istiod, istiod_unread)
        namespace, name, address, pod, signs, evidence = (facts.namespace, facts.name, facts.address, facts.pod,
                                                          facts.signs, facts.evidence)
        evidence["connected_at"] = vms.connected_at(entry)
        subject = {"kind": K.WORKLOADENTRY.kind, "namespace": namespace, "name": name}
        where = {"subject": K.WORKLOADENTRY.kind, "namespace": namespace, "name": name}
        if vms.on_istio(entry, istiod):
            return self.report(self.VM_ON_ISTIO, cluster, params={**where, "connected": 1, "pods": pod},
                               remediation=_vm_verify(cluster, namespace, [pod], istiod, self.VM_ON_ISTIO.code)
                               + "\n" + _regenerate(cluster, namespace, "", [pod], istiod, revisions),
                               evidence=evidence, **subject)
        return self.report(self.VM_UNPROVEN, cluster, params={**where, "why": joined("; ", [address, *signs])},
                           remediation=_vm_unproven(cluster, namespace, self.VM_UNPROVEN.code), evidence=evidence,
                           **subject)


def _template_turns_off(template: dict[str, Any]) -> bool:
    """Whether a pod template's proxy.istio.io/config sets PROXY_CONFIG_XDS_AGENT to a value pilot-agent reads as
    false (idle.idle_workloads' `wanted`)."""
    metadata = template.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not annotations:
        return False
    value = mesh.annotation_xds_agent(annotations)
    return value is not None and value not in mesh.GO_TRUE


# The kinds beside idle.IDLE_KINDS whose objects hold the pod templates idle.idle_workloads judges (a foreign owner's
# by its ReplicaSets or Jobs: inventory.slim keeps no template of a Deployment's ReplicaSet nor of a CronJob's Job).
_OWNED_TEMPLATE_HOLDERS = (K.REPLICASET, K.JOB)


def _some_template_turns_off(cluster: ClusterInventory) -> bool:
    """Whether any pod template read sets PROXY_CONFIG_XDS_AGENT off in its proxy.istio.io/config, before
    idle.idle_workloads (which reads the pods' workloads and the ReplicaSets' owners) is asked at all: the templates
    carrying the annotation (gateways.proxy_config_templates, the Deployments' noted by the gateway scan), few; the
    workloads' own found once (_templates_turning_off, which AA1110's remediation asked already)."""
    if _templates_turning_off(cluster):
        return True
    for kind in _OWNED_TEMPLATE_HOLDERS:
        if not cluster.available(kind):
            continue
        for obj in proxy_config_templates(cluster, kind):
            template = istio.pod_template(kind, obj)
            if template is not None and _template_turns_off(template):
                return True
    return False


def _templates_under_pods(cluster: ClusterInventory, running: dict[str, set[tuple[str, str]]],
                          lacking: set[tuple[str, ...]]) -> list[idle.Candidate]:
    """The workloads with an active pod whose own pod template turns the setting off (idle.judge_candidates'
    candidates), from the templates carrying proxy.istio.io/config alone (gateways.proxy_config_templates, few):
    those not left to an injector (a gateway's own istio-proxy container, opted out) or in a namespace Istio's injector
    skips are not, nor those whose pods lack it already (`lacking`, (namespace, kind, name): AA1110 asks their
    restart). A paused Deployment is judged by its own template too: `kubectl rollout resume` rolls it out."""
    out: list[idle.Candidate] = []
    for (namespace, kind_name, name), template in _templates_turning_off(cluster).items():
        if (namespace, name) in running.get(kind_name, ()) and (namespace, kind_name, name) not in lacking \
                and namespace not in idle.IGNORED_NAMESPACES and idle.left_to_injector(template):
            out.append((kind_name, Phrase(MADE_BEFORE), template, namespace, name, ""))
    return out


def _templates_turning_off(cluster: ClusterInventory) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(namespace, workload kind, name) -> its own pod template, of the workloads (idle.IDLE_KINDS read) whose
    template's proxy.istio.io/config turns the setting off, from the templates carrying that annotation alone
    (gateways.proxy_config_templates, few); once per cluster."""
    def build() -> dict[tuple[str, str, str], dict[str, Any]]:
        found: dict[tuple[str, str, str], dict[str, Any]] = {}
        for kind in idle.IDLE_KINDS:
            if not cluster.available(kind):
                continue
            kind_name = K.workload_kind(kind)
            for obj in proxy_config_templates(cluster, kind):
                meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
                template = istio.pod_template(kind, obj)
                if template is not None and _template_turns_off(template):
                    found.setdefault((str(meta.get("namespace") or ""), kind_name, str(meta.get("name") or "")),
                                     template)
        return found
    return cluster.memo("xds_agent_templates_turning_off", build)


def _restart(cluster: ClusterInventory, kind: str, namespace: str, name: str,
             turning_off: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """The restart of an injected workload whose pods lack the setting (rollouts.restart_command), after the edit of
    its pod template where that template's proxy.istio.io/config turns it off: the injector would give the restarted
    pods the template's value again (istio/istio@1.22.3 pkg/kube/inject/webhook.go)."""
    restart = rollouts.restart_command(cluster, kind, namespace, name)
    if not turning_off or (str(namespace), str(kind), str(name)) not in turning_off:  # most clusters: none
        return restart
    return (f"# {TEMPLATE_TURNS_IT_OFF}\n{_edit_template_command(cluster.name, str(kind), str(namespace), str(name))}\n"
            + restart)


def _istio_injector_may_exist(cluster: ClusterInventory) -> bool:
    """Whether an injector webhook of Istio's, or of no proven owner, may take pods (the webhook configurations
    unread: it may): else no template's next pods get Istio's proxy, whatever it says."""
    if not cluster.available(K.MUTATING_WEBHOOK):
        return True
    return any(hook.owner != idle.ASM for hook in idle.injectors(cluster))


def _edit_template_command(cluster: str, kind: str, namespace: str, name: str) -> str:
    """The command that opens a workload's pod template for editing (a CronJob's under spec.jobTemplate); a comment for
    a kind read through what it owns (an Argo Rollout, a KEDA ScaledJob)."""
    resource = mesh.template_resource(kind) or {"CronJob": "cronjob", "ScaledJob": "scaledjobs.keda.sh"}.get(kind)
    if resource is None:
        return (f"# edit the pod template of {mesh.sh_text(kind)} {mesh.sh_text(namespace)}/{mesh.sh_text(name)} in "
                "its manifest")
    return f"{mesh.kubectl_in(cluster, namespace)} edit {mesh.object_ref(resource, name)}"


# The type a pilot-agent started with PROXY_CONFIG_XDS_AGENT=true asks istiod for (pkg/model/xds.go ProxyConfigType;
# pkg/istio-agent/xds_proxy.go sends it only then), listed among each connection's watches by istiod's /debug/adsz
# (pilot/pkg/xds/debug.go AdsClient.Watches @1.22.0..1.30.3).
_PCDS = "type.googleapis.com/istio.mesh.v1alpha1.ProxyConfig"
# pilot-agent runs as istio-proxy (istio-start.sh: exec sudo -E -u "${EXEC_USER}", istio-proxy by default @1.30.3):
# only root reads its /proc/<pid>/environ, so sudo opens the file (a `< /proc/...` redirect is the operator's shell's).
_ON_VM = ("# on each VM, the environment its running pilot-agent started with (must print "
          "PROXY_CONFIG_XDS_AGENT=true):\n"
          "sudo cat /proc/$(pgrep -o -f 'pilot-agent proxy')/environ | tr '\\0' '\\n' "
          "| grep '^PROXY_CONFIG_XDS_AGENT='")


def _vm_verify(cluster: str, namespace: str, pods: list[str], istiod: dict[str, str], code: str) -> str:
    """The commands that show, per istiod pod the VMs are connected to, which of the namespace's proxies did not ask
    for ProxyConfig (started without the setting), and the same on the VM itself."""
    # `clients` is left out of istiod's answer when no proxy is connected (json omitempty): `// []`, not an error.
    query = (f"(.clients // [])[] | select(.metadata.NAMESPACE == $ns) | select(.watches // {{}} | has(\"{_PCDS}\") "
             "| not) | \"started without PROXY_CONFIG_XDS_AGENT: \\(.connectionId) \\(.address)\"")
    lines = ["# pilot-agent reads PROXY_CONFIG_XDS_AGENT once, at start, from its environment (the VM's cluster.env); "
             "one started with it watches ProxyConfig on istiod. Proxies of this namespace that do not:"]
    for pod in pods[:5]:
        istiod_namespace = istiod.get(pod, "istio-system/").split("/", 1)[0] or "istio-system"
        lines.append(f"{mesh.kubectl_in(cluster, istiod_namespace)} exec {mesh.object_ref('pod', pod)} -c discovery -- "
                     f"pilot-discovery request GET /debug/adsz | jq -r --arg ns {mesh.sh(namespace)} {mesh.sh(query)}")
    lines.append(_ON_VM)
    lines.append(f"# once each VM is confirmed, exempt {code} for this object with the reason")
    return "\n".join(lines)


def _regenerate(cluster: str, namespace: str, group: str, pods: list[str], istiod: dict[str, str],
                revisions: dict[str, str]) -> str:
    """Where a VM lacks it: the line added to its cluster.env (istio-start.sh, run by istio.service, sources it with
    `set -a`; the other lines, such as ISTIO_SVC_IP from --internalIP, stay as onboarded) and its proxy restarted; and
    how its files are generated again from the group, which now carry it."""
    deployment = next((istiod[p] for p in pods if p in istiod), "istio-system/istiod")
    istiod_namespace = deployment.split("/", 1)[0] or "istio-system"
    revision = revisions.get(deployment, "default")
    source = (f"--name {mesh.sh(group)} --namespace {mesh.sh(namespace)} --autoregister" if group else
              "-f \"${WORKLOADGROUP_FILE:?the WorkloadGroup file this VM was onboarded from}\"")
    flags = (f" --istioNamespace {mesh.sh(istiod_namespace)}" if istiod_namespace != "istio-system" else "") + (
        f" --revision {mesh.sh(revision)}" if revision != "default" else "")
    return ("# where it is missing: on the VM, add it to the cluster.env istio-start.sh sources (a later line wins) "
            "and restart the proxy:\n"
            f"echo '{mesh.XDS_AGENT_KEY}=true' | sudo tee -a /var/lib/istio/envoy/cluster.env && "
            "sudo systemctl restart istio\n"
            "# with the setting in the mesh config and not turned off by the WorkloadGroup, the files generated from "
            "the group carry it: when a VM is onboarded again, generate them with the flags it was onboarded with "
            "(--internalIP, --externalIP, --ingressIP):\n"
            f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} x workload entry configure {source}{flags} "
            "-o vm-files")


def _vm_unproven(cluster: str, namespace: str, code: str) -> str:
    columns = ("custom-columns=NAME:.metadata.name,ADDRESS:.spec.address,"
               "GROUP:.metadata.annotations.istio\\.io/autoRegistrationGroup,"
               "ISTIOD:.metadata.annotations.istio\\.io/workloadController,"
               "CONNECTED:.metadata.annotations.istio\\.io/connectedAt")
    return ("# which istiod do these proxies use? Istio's lists every proxy connected to it (a VM as "
            "<hostname>.<namespace>):\n"
            f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} proxy-status\n"
            f"{mesh.kubectl_in(cluster, namespace)} get workloadentries.networking.istio.io -o {mesh.sh(columns)}\n"
            + _ON_VM + f"\n# once each VM is confirmed on ASM, or started with the setting, exempt {code} for this "
            "object with the reason")
