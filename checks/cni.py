"""istio-cni in use, and namespaces that will reject ASM's `istio-init` (domain.md, "Beyond the seed": CNI).

Istio with istio-cni (DaemonSet `istio-cni-node`) injects no privileged `istio-init`; ASM without its CNI plug-in
does, and `istio-init` needs NET_ADMIN / NET_RAW and root, which Pod Security `baseline` and `restricted` (label
`pod-security.kubernetes.io/enforce`) and ValidatingAdmissionPolicies checking capabilities or the user reject. ASM's
CNI state comes from the config (`asm.cni`), the saved DescribeServiceMeshDetail answer
(`ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration.Enabled` / `ExcludeNamespaces`), or an ASM-marked
CNI DaemonSet in the cluster. The namespaces the plug-in skips (where ASM injects istio-init after all) come from the
config (`asm.cni_exclude_namespaces`), else the answer's ExcludeNamespaces; where neither says, they are not known,
and a meshed namespace that forbids istio-init is UNKNOWN, not a PASS. Policies of Gatekeeper, Kyverno or Kubewarden
are not read: their webhooks are named instead. On OpenShift SecurityContextConstraints, not read either, admit pods: a
meshed namespace there that ASM's plug-in is not known to cover is UNKNOWN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from auditor import kinds as K
from auditor import mesh, podwire
from auditor.asmcni import asm_cni_state
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.inventory import ClusterInventory
from auditor.istio import TEMPLATE_KINDS, among, istio_sidecar_rows, pod_template
from auditor.model import Finding, Gate, Outcome, Severity, Status

PODS_NAMED = 5
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_FORBIDDING = ("baseline", "restricted")
# Istio's CNI node agent: `istio-cni-node` (mesh.ISTIO_CNI_DAEMONSET, Istio's chart), or one per OpenShift Service
# Mesh 2 release since 2.3, `istio-cni-node-v2-3` ... `-v2-6` in openshift-operators, whose pods are always injected
# without istio-init (maistra/istio-operator@maistra-2.5.0: resources/helm/v2.5/istio_cni/templates/
# daemonset-v2.5.yaml; pkg/controller/servicemesh/controlplane/cni_pruner.go lists them).
ISTIO_CNI_NAME = re.compile(re.escape(mesh.ISTIO_CNI_DAEMONSET) + r"(-v[0-9]+-[0-9]+)?")
# Every OpenShift namespace carries the UID range its SecurityContextConstraints allot (openshift/api:
# security/v1/consts.go UIDRangeAnnotation, set by OpenShift's namespace SCC allocation controller). There SCCs, not Pod
# Security labels, admit pods: the default restricted-v2 admits neither NET_ADMIN/NET_RAW nor runAsUser 0, so
# istio-init needs an SCC granted to the pod's service account, which is not read here.
OPENSHIFT_UID_RANGE = "openshift.io/sa.scc.uid-range"
SCC_FIX = ("On OpenShift, SecurityContextConstraints admit istio-init only through an SCC allowing NET_ADMIN/NET_RAW "
           "and runAsUser 0 that the namespace's service accounts may use (restricted-v2 does not): check with "
           "`oc get pods -n <namespace> -o yaml | grep openshift.io/scc` and `oc adm policy who-can use scc <name>`. "
           "Enable ASM's CNI plug-in for the namespace (then set asm.cni and asm.cni_exclude_namespaces in the "
           "config), or grant such an SCC, and audit again.")
INJECTION_LABELS = ("istio-injection", "istio.io/rev")
# What an admission policy's CEL must name to be able to reject istio-init and admit istio-validation: the fields in
# which they differ (istio/istio@1.24.6:manifests/charts/istio-control/istio-discovery/files/injection-template.yaml:
# istio-init adds NET_ADMIN/NET_RAW and runs as root, runAsNonRoot false, a writable root file system; istio-validation,
# the CNI one, adds nothing and runs as 1337, runAsNonRoot true, read-only). A policy requiring non-root users
# (vap-library/vap-library@v0.1.12:policies/pss-running-as-non-root/policy.yaml, Kyverno's CEL require-run-as-nonroot
# as a generated ValidatingAdmissionPolicy) rejects istio-init as surely as one on capabilities.
CAPABILITY_WORDS = ("NET_ADMIN", "NET_RAW", "capabilities", "runAsNonRoot", "runAsUser", "runAsGroup",
                    "readOnlyRootFilesystem")
# Admission engines whose policies are not read, told by the name of a ValidatingWebhookConfiguration, of one of its
# webhooks, or a label value: Kubewarden names each policy's configuration `clusterwide-<policy>` /
# `namespaced-<ns>-<policy>`, its webhook `<that>.kubewarden.admission`, labelled app.kubernetes.io/part-of: kubewarden
# (kubewarden/kubewarden-controller@v1.35.0:internal/controller/policy_subreconciler_webhook.go, api/policies/v1/
# clusteradmissionpolicy_types.go GetUniqueName): no "kubewarden" in the configuration's name. A policy with `mutating:
# true` gets a MutatingWebhookConfiguration of that shape instead, which rejects as well: the recommended
# capabilities-psp and user-group-psp policies of its kubewarden-defaults chart are (charts/kubewarden-defaults/
# templates/capabilities-policy.yaml, user-group-policy.yaml @v1.35.0).
POLICY_ENGINES = ("gatekeeper", "kyverno", "kubewarden")
ENABLE_ASM_CNI = ("Enable ASM's CNI plug-in before moving the namespace (ASM console: Data Plane Component "
                  "Management, or OpenAPI UpdateMeshFeature CniEnabled=true), then set asm.cni: true in the config "
                  "and audit again.")
EXCLUSIONS_FIX = ("State the namespaces ASM's CNI plug-in skips: asm.cni_exclude_namespaces in the config (a list, "
                  "or ASM's comma-separated ExcludeNamespaces; [] when it skips none; ASM console: Data Plane "
                  "Component Management > CNI), or give the DescribeServiceMeshDetail answer; then audit again.")
EXCLUDED_FIX = ("Remove the namespaces from ASM's CNI plug-in ExcludeNamespaces (ASM console: Data Plane Component "
                "Management), or confirm that no admission policy rejects istio-init's NET_ADMIN/NET_RAW there.")


def meshed_namespaces(cluster: ClusterInventory, pods: pd.DataFrame) -> set[str]:
    """Namespaces whose pods run Istio's sidecar or that are labelled for Istio's injection: they move to ASM.

    A pod of any phase counts: a CronJob's pods, injected by their own label `sidecar.istio.io/inject: "true"` in a
    namespace labelled for nothing (Istio's object.sidecar-injector.istio.io webhook, istio/istio@1.24.6:
    manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml), are Succeeded between runs, and
    the next run is injected by ASM."""
    # Only the namespace column of those pods, each distinct value once: selecting the rows of the whole frame copied
    # its ~30 columns.
    sidecars = (among(pods["proxy"], (mesh.PROXY_ISTIO,)) & among(pods["role"], (mesh.ROLE_SIDECAR,))
                if not pods.empty else None)
    names = {str(ns) for ns in pods["namespace"][sidecars].unique()} if sidecars is not None else set()
    labelled: dict[str, dict[str, str]] = {}
    for ns in cluster.objects(K.NAMESPACE):
        meta = ns.get("metadata") or {}
        labels = meta.get("labels") or {}
        labelled[meta.get("name", "")] = labels
        if labels.get("istio-injection") == "enabled" or labels.get("istio.io/rev"):
            names.add(meta.get("name", ""))
    # A workload with no pod now (scaled to zero, a CronJob whose finished Jobs are deleted: ttlSecondsAfterFinished)
    # whose pod template asks Istio's object webhooks for injection in a namespace labelled for neither
    # (object.sidecar-injector: sidecar.istio.io/inject "true"; rev.object: istio.io/rev; both only where the namespace
    # has neither istio-injection nor istio.io/rev). Gateways' templates (inject.istio.io/templates: gateway) get no
    # istio-init.
    # Each object's namespace is asked first: in a meshed cluster most namespaces are known already, and their templates
    # are not read (a walk of ~29,000 templates at 50k pods otherwise).
    decided = names | {name for name, labels in labelled.items() if "istio-injection" in labels or
                       "istio.io/rev" in labels}
    for kind in TEMPLATE_KINDS:
        if not cluster.available(kind):
            continue
        owned_skipped = kind in (K.REPLICASET, K.JOB)  # judged through their owner (istio.workload_templates)
        for obj in cluster.objects(kind):
            obj_meta = obj.get("metadata") or {}
            namespace = obj_meta.get("namespace")
            if type(namespace) is str and namespace in decided:
                continue  # nearly every object: its namespace as written, no str() of it
            namespace = str(namespace or "")
            if namespace in decided or (owned_skipped and podwire.judged_through_owner(obj_meta)):
                continue
            template = pod_template(kind, obj)
            meta = (template.get("metadata") or {}) if template is not None else {}
            labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
            if "gateway" in str(annotations.get("inject.istio.io/templates") or ""):
                continue
            if labels.get("sidecar.istio.io/inject") == "true" or (
                    labels.get("istio.io/rev") and labels.get("sidecar.istio.io/inject") != "false"):
                names.add(namespace)
                decided.add(namespace)
    return names


def cni_injected(pods: pd.DataFrame) -> list[str]:
    """Where Istio's running sidecars were injected without istio-init, no node agent of Istio's CNI being seen: the
    injector wrote istio-validation (CNI mode) instead (istio/istio@1.24.6: manifests/charts/istio-control/
    istio-discovery/files/injection-template.yaml; pkg/kube/inject/testdata/inject/hello.yaml.cni.injected), so NOT
    APPLICABLE ("Istio's pods already run istio-init") would be false. Proxyless pods (their xDS bootstrap) are not
    counted; one namespace named a line, at most PODS_NAMED."""
    if pods.empty:
        return []
    rows = istio_sidecar_rows(pods) & pods["cni_redirect"].to_numpy(dtype=bool) & among(pods["xds_server"], ("",))
    if not rows.any():
        return []
    spaces = sorted({str(ns) for ns in pods["namespace"][rows].unique()})
    return [f"{ns}: Istio sidecars injected without istio-init" for ns in spaces[:PODS_NAMED]]


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A label selector's matchLabels against a namespace; matchExpressions count as matching (fail safe)."""
    return all(labels.get(k) == v for k, v in ((selector or {}).get("matchLabels") or {}).items())


def capability_policies(cluster: ClusterInventory) -> list[tuple[str, dict[str, Any]]]:
    """(policy name, binding namespaceSelector) of ValidatingAdmissionPolicies that check what istio-init asks for
    (CAPABILITY_WORDS: capabilities, the root user, a writable root file system)."""
    if not (cluster.available(K.VALIDATING_ADMISSION_POLICY) and cluster.available(
            K.VALIDATING_ADMISSION_POLICY_BINDING)):
        return []
    checking = set()
    for policy in cluster.objects(K.VALIDATING_ADMISSION_POLICY):
        expressions = " ".join(str(v.get("expression") or "") for v in (policy.get("spec") or {}).get(
            "validations") or ())
        if any(word in expressions for word in CAPABILITY_WORDS):
            checking.add((policy.get("metadata") or {}).get("name", ""))
    out = []
    for binding in cluster.objects(K.VALIDATING_ADMISSION_POLICY_BINDING):
        spec = binding.get("spec") or {}
        if spec.get("policyName") in checking and "Deny" in (spec.get("validationActions") or ["Deny"]):
            out.append((str(spec["policyName"]), (spec.get("matchResources") or {}).get("namespaceSelector") or {}))
    return out


def policy_engine_webhooks(cluster: ClusterInventory) -> list[str]:
    """The webhook configurations (validating or mutating: either may reject a pod) of POLICY_ENGINES."""
    engines = set()
    for kind in (K.VALIDATING_WEBHOOK, K.MUTATING_WEBHOOK):
        if not cluster.available(kind):
            continue
        for hook in cluster.objects(kind):
            meta = hook.get("metadata") or {}
            names = [str(meta.get("name", "")), *(str(w.get("name", "")) for w in hook.get("webhooks") or ()
                                                   if isinstance(w, dict)),
                     *(str(v) for v in (meta.get("labels") or {}).values())]
            if any(e in n for n in names for e in POLICY_ENGINES):
                engines.add(str(meta.get("name", "")))
    return sorted(engines)


class CniCompatibility(ClusterCheck):
    id = "cni-compatibility"
    title = "Where Istio used istio-cni, ASM's istio-init is not rejected by Pod Security or admission policies"
    gates = (Gate.ASSESSMENT, Gate.MIGRATING)
    severity = Severity.BLOCKER
    rationale = ("Istio with istio-cni injects no privileged init container; ASM without its CNI plug-in injects "
                 "istio-init (NET_ADMIN, NET_RAW), which Pod Security baseline/restricted and capability policies "
                 "reject: the moved pods are never created.")
    remediation = ENABLE_ASM_CNI
    _FORBIDS = "{why} forbids istio-init's NET_ADMIN/NET_RAW"
    _CNI_UNKNOWN = _FORBIDS + "; Istio used istio-cni ({istio_cni}); "
    _ENGINES_MEANING = "Gatekeeper, Kyverno or Kubewarden admits pods here and their policies are not read; "
    _ENGINES = ("admission webhooks {engines} may forbid istio-init's capabilities; their policies are not read and "
                "ASM's CNI plug-in ")
    _UNREAD = ("{kinds} could not be read, so admission policies forbidding istio-init cannot be ruled out, and ASM's "
               "CNI plug-in ")
    _SKIPS_UNKNOWN = ("is on ({source}) but neither config asm.cni_exclude_namespaces nor a DescribeServiceMeshDetail "
                      "answer (InitCNIConfiguration.ExcludeNamespaces) says which namespaces it skips")
    CLEAN = Outcome("AA2601", Status.PASS, "no namespace moving to ASM forbids istio-init's capabilities",
                    message="no namespace moving to ASM forbids istio-init's capabilities ({checked} checked)")
    CNI_ON = Outcome("AA2602", Status.PASS, "ASM's CNI plug-in is on: ASM injects no istio-init",
                     message="ASM's CNI plug-in is on ({source}); {forbidding} meshed namespace(s) forbid istio-init")
    REJECTED = Outcome("AA2610", Status.FAIL, "a namespace moving to ASM forbids istio-init's capabilities and ASM's "
                       "CNI plug-in is off: its pods will be rejected",
                       message=_FORBIDS + " and ASM's CNI plug-in is off ({source}): pods moved to ASM will be "
                                          "rejected")
    EXCLUDED = Outcome("AA2611", Status.FAIL, "a namespace moving to ASM forbids istio-init's capabilities and ASM's "
                       "CNI plug-in skips it (ExcludeNamespaces): its pods will be rejected",
                       message=_FORBIDS + " and ASM's CNI plug-in skips this namespace (ExcludeNamespaces) ({source}): "
                                          "pods moved to ASM will be rejected")
    ENGINES = Outcome("AA2620", Status.WARN, _ENGINES_MEANING + "whether ASM's CNI plug-in is on is not known",
                      Severity.MAJOR,
                      message=_ENGINES + "is not known to be on")
    ENGINES_CNI_OFF = Outcome("AA2621", Status.WARN, _ENGINES_MEANING + "ASM's CNI plug-in is off", Severity.MAJOR,
                              message=_ENGINES + "is off ({source})")
    ENGINES_EXCLUSIONS_UNKNOWN = Outcome("AA2623", Status.WARN, _ENGINES_MEANING + "ASM's CNI plug-in is on and which "
                                         "namespaces it skips (ExcludeNamespaces) is not known", Severity.MAJOR,
                                         fix=EXCLUSIONS_FIX,
                                         message=_ENGINES + _SKIPS_UNKNOWN)
    ENGINES_EXCLUDED = Outcome("AA2622", Status.WARN, _ENGINES_MEANING + "ASM's CNI plug-in skips meshed namespaces "
                               "(ExcludeNamespaces), where ASM injects istio-init", Severity.MAJOR,
                               message=_ENGINES + "skips {namespaces} (ExcludeNamespaces) ({source}), where ASM "
                                                  "injects istio-init")
    CNI_UNKNOWN = Outcome("AA2630", Status.UNKNOWN, "a namespace moving to ASM forbids istio-init's capabilities and "
                          "neither the config (asm.cni) nor a DescribeServiceMeshDetail answer says whether ASM's CNI "
                          "plug-in is on", message=_CNI_UNKNOWN + "neither config asm.cni nor a "
                                                                  "DescribeServiceMeshDetail answer says whether ASM's "
                                                                  "CNI plug-in is on")
    POLICIES_UNREAD = Outcome("AA2631", Status.UNKNOWN, "admission policies could not be read and whether ASM's CNI "
                              "plug-in is on is not known", message=_UNREAD + "is not known to be on")
    CNI_ANSWER_UNREADABLE = Outcome("AA2632", Status.UNKNOWN, "a namespace moving to ASM forbids istio-init's "
                                    "capabilities and the DescribeServiceMeshDetail answer could not be read",
                                    message=_CNI_UNKNOWN + "DescribeServiceMeshDetail could not be read: {reason}")
    CNI_ANSWER_SILENT = Outcome("AA2633", Status.UNKNOWN, "a namespace moving to ASM forbids istio-init's capabilities "
                                "and the DescribeServiceMeshDetail answer has no InitCNIConfiguration.Enabled",
                                message=_CNI_UNKNOWN + "the DescribeServiceMeshDetail answer has no "
                                                       "SidecarInjector.InitCNIConfiguration.Enabled")
    # ASM's CNI plug-in on, but which namespaces it skips (ExcludeNamespaces) not known (asm.cni or an ASM-marked
    # DaemonSet tells the one, not the other): ASM may inject istio-init in any meshed namespace, so what forbids it
    # there is not answered by the plug-in being on. Stating the exclusions (asm.cni_exclude_namespaces) decides.
    EXCLUSIONS_UNKNOWN = Outcome("AA2636", Status.UNKNOWN, "a namespace moving to ASM forbids istio-init's "
                                 "capabilities, ASM's CNI plug-in is on and which namespaces it skips "
                                 "(ExcludeNamespaces) is not known", fix=EXCLUSIONS_FIX,
                                 message=_FORBIDS + "; ASM's CNI plug-in " + _SKIPS_UNKNOWN + ": if it skips this "
                                         "namespace, pods moved to ASM will be rejected")
    POLICIES_UNREAD_EXCLUSIONS_UNKNOWN = Outcome("AA2637", Status.UNKNOWN, "admission policies could not be read, "
                                                 "ASM's CNI plug-in is on and which namespaces it skips "
                                                 "(ExcludeNamespaces) is not known", fix=EXCLUSIONS_FIX,
                                                 message=_UNREAD + _SKIPS_UNKNOWN)
    POLICIES_UNREAD_CNI_OFF = Outcome("AA2634", Status.UNKNOWN, "admission policies could not be read and ASM's CNI "
                                      "plug-in is off", message=_UNREAD + "is off ({source})")
    # ASM's CNI plug-in on, but ExcludeNamespaces names meshed namespaces: ASM injects istio-init there, so the
    # policies not read decide those namespaces as they decide all of them when the plug-in is off.
    POLICIES_UNREAD_EXCLUDED = Outcome("AA2635", Status.UNKNOWN, "admission policies could not be read and ASM's CNI "
                                       "plug-in skips meshed namespaces (ExcludeNamespaces), where ASM injects "
                                       "istio-init", message=_UNREAD + "skips {namespaces} (ExcludeNamespaces) "
                                                                       "({source}), where ASM injects istio-init")
    # OpenShift: SecurityContextConstraints (not read) admit pods, and a namespace without a Pod Security label is not
    # thereby open to istio-init; unless ASM's CNI plug-in is known to cover it, whether its pods are admitted is not
    # known.
    SCC_UNREAD = Outcome("AA2638", Status.UNKNOWN, "a namespace moving to ASM is on OpenShift, whose "
                         "SecurityContextConstraints (not read) decide whether istio-init is admitted, and ASM's CNI "
                         "plug-in is not known to cover it", fix=SCC_FIX,
                         message="OpenShift's SecurityContextConstraints decide whether istio-init's NET_ADMIN/NET_RAW "
                                 "and root user are admitted here (restricted-v2 admits neither; SCCs are not read), "
                                 "and ASM's CNI plug-in is not known to cover this namespace ({source})")
    NO_ISTIO_CNI = Outcome("AA2640", Status.NOT_APPLICABLE, "Istio does not use istio-cni here (no istio-cni-node "
                           "DaemonSet of Istio's): pods already pass admission with istio-init",
                           message="no istio-cni-node DaemonSet of Istio's: Istio's pods already run istio-init, which "
                                   "ASM injects too")
    outcomes = (CLEAN, CNI_ON, REJECTED, EXCLUDED, ENGINES, ENGINES_CNI_OFF, ENGINES_EXCLUDED,
                ENGINES_EXCLUSIONS_UNKNOWN, CNI_UNKNOWN, POLICIES_UNREAD,
                CNI_ANSWER_UNREADABLE, CNI_ANSWER_SILENT, POLICIES_UNREAD_CNI_OFF, POLICIES_UNREAD_EXCLUDED,
                EXCLUSIONS_UNKNOWN, POLICIES_UNREAD_EXCLUSIONS_UNKNOWN, SCC_UNREAD, NO_ISTIO_CNI)
    # Why the ASM CNI state is unknown (AsmCni.unknown_why) -> the UNKNOWN that says so.
    _CNI_UNKNOWN_BY_WHY = {"unsaid": CNI_UNKNOWN, "unreadable": CNI_ANSWER_UNREADABLE, "no_field": CNI_ANSWER_SILENT}
    needs = (K.DAEMONSET, K.NAMESPACE, K.POD)
    # Admission policies; unread, they are named (POLICY_KINDS).
    POLICY_KINDS = (K.VALIDATING_ADMISSION_POLICY, K.VALIDATING_ADMISSION_POLICY_BINDING, K.VALIDATING_WEBHOOK,
                    K.MUTATING_WEBHOOK)
    # Workload templates: namespaces injected by their pods' labels where no pod runs now (meshed_namespaces).
    uses = (*POLICY_KINDS, *(k for k in TEMPLATE_KINDS if k is not K.DAEMONSET))

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        istio_cni = sorted(f"{(d.get('metadata') or {}).get('namespace')}/{(d.get('metadata') or {}).get('name')}"
                           for d in cluster.objects(K.DAEMONSET)
                           if ISTIO_CNI_NAME.fullmatch(str((d.get("metadata") or {}).get("name", "")))
                           and not mesh.asm_owned(d.get("metadata") or {}))
        pods = cluster.pods()
        if not istio_cni:
            istio_cni = cni_injected(pods)
        if not istio_cni:
            yield self.report(self.NO_ISTIO_CNI, cluster.name, params={})
            return
        asm_cni = asm_cni_state(cluster, ctx)
        meshed = meshed_namespaces(cluster, pods)
        policies = capability_policies(cluster)
        unread = [k.kind for k in self.POLICY_KINDS if not cluster.available(k)]
        evidence: dict[str, Any] = {"istio_cni": istio_cni, "asm_cni": asm_cni.enabled,
                                    "asm_cni_source": asm_cni.source, **({"not_read": unread} if unread else {})}
        if asm_cni.enabled:  # the namespaces it skips: a sorted list and where it came from, or None (not known)
            evidence["asm_cni_excluded"] = sorted(asm_cni.excluded) if asm_cni.excluded is not None else None
            evidence["asm_cni_excluded_source"] = asm_cni.excluded_source or None
        excluded_known = asm_cni.excluded is not None
        forbidding = blocked = 0
        for ns in sorted(cluster.objects(K.NAMESPACE), key=lambda n: (n.get("metadata") or {}).get("name", "")):
            meta = ns.get("metadata") or {}
            name, labels = meta.get("name", ""), meta.get("labels") or {}
            if name not in meshed:
                continue
            reasons = ([f"Pod Security {PSA_ENFORCE}={labels[PSA_ENFORCE]}"]
                       if labels.get(PSA_ENFORCE) in PSA_FORBIDDING else [])
            reasons += [f"ValidatingAdmissionPolicy {policy}" for policy, selector in policies
                        if _selects(selector, labels)]
            covered = asm_cni.enabled and excluded_known and name not in asm_cni.excluded
            if not reasons:
                if OPENSHIFT_UID_RANGE in (meta.get("annotations") or {}) and not covered:
                    blocked += 1
                    yield self.report(self.SCC_UNREAD, cluster.name, params={"source": asm_cni.source},
                                      kind="Namespace", name=name, remediation=self.SCC_UNREAD.fix,
                                      evidence={**evidence, "openshift_uid_range": meta["annotations"][
                                          OPENSHIFT_UID_RANGE]})
                continue
            forbidding += 1
            params = {"why": " and ".join(reasons), "source": asm_cni.source}
            where = {"kind": "Namespace", "name": name, "evidence": {**evidence, "forbidden_by": reasons}}
            if covered:
                continue
            blocked += 1
            if asm_cni.enabled and not excluded_known:
                yield self.report(self.EXCLUSIONS_UNKNOWN, cluster.name, params=params, **where)
            elif asm_cni.enabled is None:
                yield self.report(self._CNI_UNKNOWN_BY_WHY[asm_cni.unknown_why], cluster.name,
                                  params={**params, "istio_cni": ", ".join(istio_cni), "reason": asm_cni.reason},
                                  remediation="Set asm.cni (true/false) in the config or give the "
                                              "DescribeServiceMeshDetail answer; " + ENABLE_ASM_CNI, **where)
            else:
                yield self.report(self.EXCLUDED if asm_cni.enabled else self.REJECTED, cluster.name, params=params,
                                  remediation=ENABLE_ASM_CNI, **where)
        if blocked:
            return
        if unread and not asm_cni.enabled:
            yield self.report(self.POLICIES_UNREAD if asm_cni.enabled is None else self.POLICIES_UNREAD_CNI_OFF,
                              cluster.name, params={"kinds": ", ".join(unread), "source": asm_cni.source},
                              remediation=ENABLE_ASM_CNI, evidence=evidence)
            return
        if asm_cni.enabled and not excluded_known and unread:
            yield self.report(self.POLICIES_UNREAD_EXCLUSIONS_UNKNOWN, cluster.name,
                              params={"kinds": ", ".join(unread), "source": asm_cni.source},
                              remediation="Let the auditor read the kinds named and audit again, or "
                                          + EXCLUSIONS_FIX[0].lower() + EXCLUSIONS_FIX[1:], evidence=evidence)
            return
        skipped = sorted(meshed & asm_cni.excluded) if asm_cni.enabled and excluded_known else []
        if unread and skipped:
            yield self.report(self.POLICIES_UNREAD_EXCLUDED, cluster.name,
                              params={"kinds": ", ".join(unread), "namespaces": ", ".join(skipped),
                                      "source": asm_cni.source},
                              remediation="Let the auditor read the kinds named and audit again. " + EXCLUDED_FIX,
                              evidence={**evidence, "excluded_meshed_namespaces": skipped})
            return
        engines = policy_engine_webhooks(cluster)
        if engines and (not asm_cni.enabled or skipped or not excluded_known):
            outcome = (self.ENGINES_EXCLUSIONS_UNKNOWN if asm_cni.enabled and not excluded_known else
                       self.ENGINES_EXCLUDED if asm_cni.enabled else
                       self.ENGINES if asm_cni.enabled is None else self.ENGINES_CNI_OFF)
            yield self.report(outcome, cluster.name,
                              params={"engines": ", ".join(engines), "source": asm_cni.source,
                                      "namespaces": ", ".join(skipped)},
                              remediation=(EXCLUSIONS_FIX if asm_cni.enabled and not excluded_known else
                                           EXCLUDED_FIX if asm_cni.enabled else ENABLE_ASM_CNI),
                              evidence={**evidence, "policy_engines": engines,
                                        **({"excluded_meshed_namespaces": skipped} if skipped else {})})
            return
        yield self.report(self.CNI_ON if asm_cni.enabled else self.CLEAN, cluster.name,
                          params={"source": asm_cni.source, "forbidding": forbidding, "checked": len(meshed)},
                          evidence={**evidence, "meshed_namespaces": sorted(meshed)[:50]})
