"""cni-compatibility through the real engine: Istio on istio-cni, namespaces that reject ASM's istio-init.

The DaemonSet is shaped as Istio's `cni` chart (istioctl component Cni) writes it: `istio-cni-node` with label
k8s-app=istio-cni-node. ASM's side comes from config asm.cni or DescribeServiceMeshDetail
(ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration, Alibaba Cloud's servicemesh 2020-01-11 SDK).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f

CHECK = "cni-compatibility"


def istio_cni_daemonset(namespace: str = "istio-system") -> dict[str, Any]:
    labels = {"k8s-app": "istio-cni-node", "operator.istio.io/component": "Cni", "istio.io/rev": "default",
              "install.operator.istio.io/owning-resource": "installed-state"}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": f.meta("istio-cni-node", namespace, labels),
            "spec": {"selector": {"matchLabels": {"k8s-app": "istio-cni-node"}},
                     "template": {"metadata": {"labels": {"k8s-app": "istio-cni-node"}},
                                  "spec": {"containers": [{"name": "install-cni",
                                                           "image": "docker.io/istio/install-cni:1.22.3"}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3}}


def meshed_cluster(ns_labels: dict[str, str] | None = None, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Namespace shop (Istio injection on, plus ns_labels) with two pods on Istio's sidecar, and istio-cni."""
    app = f.deployment("cart")
    return [f.namespace("shop", labels={"istio-injection": "enabled", **(ns_labels or {})}),
            f.namespace("istio-system"), istio_cni_daemonset(), f.istiod(), *app, *f.workload_pods(app, 2), *extra]


RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def mesh_detail(enabled: bool, exclude: str = "") -> dict[str, Any]:
    return {"DescribeServiceMeshDetail": {"ServiceMesh": {
        "ServiceMeshInfo": {"Version": "v1.24.6.62-g5c7e1f0b-aliyun"},
        "Spec": {"MeshConfig": {"SidecarInjector": {"InitCNIConfiguration": {
            "Enabled": enabled, "ExcludeNamespaces": exclude}}}}}}}


def test_not_applicable_without_istio_cni(audit):
    app = f.deployment("cart")
    a = audit({"cluster-a": [f.namespace("shop", labels=RESTRICTED), f.istiod(), *app, *f.workload_pods(app, 2)]},
              "assessment")
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2640")


def test_fail_when_pod_security_restricted_and_asm_cni_off(audit):
    a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config={"asm": {"cni": False}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA2610", "Namespace", "shop")
    assert row["evidence"]["forbidden_by"] == ["Pod Security pod-security.kubernetes.io/enforce=restricted"]
    assert row["evidence"]["istio_cni"] == ["istio-system/istio-cni-node"]


def test_fail_when_asm_cni_skips_the_namespace(audit):
    a = audit({"cluster-a": meshed_cluster({"pod-security.kubernetes.io/enforce": "baseline"})}, "assessment",
              asm_openapi=mesh_detail(True, exclude="kube-system,shop"))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2611", "shop")


def test_fail_when_an_admission_policy_checks_capabilities(audit):
    policy = f.admission_policy("deny-net-admin", labels={"app": "security-baseline"})
    policy["spec"]["validations"] = [{"expression": "object.spec.containers.all(c, !has(c.securityContext) || "
                                                    "!c.securityContext.capabilities.add.exists(x, x == 'NET_ADMIN'))"}]
    binding = f.admission_policy("deny-net-admin-binding", binding=True, labels={"app": "security-baseline"})
    binding["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}
    a = audit({"cluster-a": meshed_cluster(None, policy, binding)}, "migrating", asm=[f.migration_cr("Migrating")],
              config={"asm": {"cni": False}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "shop")
    assert row["evidence"]["forbidden_by"] == ["ValidatingAdmissionPolicy deny-net-admin"]


def test_unknown_when_asm_cni_state_is_not_known(audit):
    a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment")
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2630", "shop")


def test_unknown_when_admission_policies_cannot_be_read(audit):
    a = audit({"cluster-a": meshed_cluster()}, "assessment",
              unreadable={"cluster-a": {K.VALIDATING_ADMISSION_POLICY: "403 Forbidden"}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2631")


def test_warn_when_kyverno_admits_pods_and_asm_cni_is_unknown(audit):
    kyverno = f.webhook_config("kyverno-resource-validating-webhook-cfg", mutating=False, service_name="kyverno-svc",
                               labels={"webhook.kyverno.io/managed-by": "kyverno"})
    a = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment")
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("WARN", "AA2620")
    assert row["evidence"]["policy_engines"] == ["kyverno-resource-validating-webhook-cfg"]


def test_pass_when_asm_cni_is_on(audit):
    a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", asm_openapi=mesh_detail(True))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    assert row["evidence"]["asm_cni"] is True


def test_pass_when_no_meshed_namespace_forbids_istio_init(audit):
    a = audit({"cluster-a": meshed_cluster({"pod-security.kubernetes.io/enforce": "privileged"})}, "assessment")
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2601")
    assert row["evidence"]["meshed_namespaces"] == ["shop"]


def test_each_unknown_asm_cni_state_has_its_own_code(audit):
    """Why ASM's CNI state is unknown is an outcome of its own: nothing said, answer unreadable, answer silent."""
    unreadable = {"_errors": {"DescribeServiceMeshDetail": "Forbidden.NoPermission (HTTP 403)"}}
    silent = {"DescribeServiceMeshDetail": {"ServiceMesh": {"Spec": {"MeshConfig": {"SidecarInjector": {}}}}}}
    (told_nothing,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment").rows(CHECK)
    (no_answer,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", asm_openapi=unreadable).rows(CHECK)
    (no_field,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", asm_openapi=silent).rows(CHECK)
    assert [(r["status"], r["code"]) for r in (told_nothing, no_answer, no_field)] == [
        ("UNKNOWN", "AA2630"), ("UNKNOWN", "AA2632"), ("UNKNOWN", "AA2633")]
    assert "Forbidden.NoPermission (HTTP 403)" in no_answer["message"]  # the recorded error, verbatim


def test_policies_unread_or_policy_engine_with_asm_cni_off_have_their_own_codes(audit):
    kyverno = f.webhook_config("kyverno-resource-validating-webhook-cfg", mutating=False, service_name="kyverno-svc",
                               labels={"webhook.kyverno.io/managed-by": "kyverno"})
    off = {"asm": {"cni": False}}
    (engines,) = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment", config=off).rows(CHECK)
    (unread,) = audit({"cluster-a": meshed_cluster()}, "assessment", config=off,
                      unreadable={"cluster-a": {K.VALIDATING_ADMISSION_POLICY: "403 Forbidden"}}).rows(CHECK)
    assert [(r["status"], r["code"]) for r in (engines, unread)] == [("WARN", "AA2621"), ("UNKNOWN", "AA2634")]
    assert (engines["severity"], engines["evidence"]["asm_cni_source"]) == ("major", "config asm.cni")


def net_admin_policy() -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy denying NET_ADMIN and its binding to the namespaces labelled for injection
    (admissionregistration.k8s.io/v1, as test_fail_when_an_admission_policy_checks_capabilities has it)."""
    policy = f.admission_policy("deny-net-admin", labels={"app": "security-baseline"})
    policy["spec"]["validations"] = [{"expression": "object.spec.containers.all(c, !has(c.securityContext) || "
                                                    "!c.securityContext.capabilities.add.exists(x, x == 'NET_ADMIN'))"}]
    binding = f.admission_policy("deny-net-admin-binding", binding=True, labels={"app": "security-baseline"})
    binding["spec"]["matchResources"] = {"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}
    return [policy, binding]


def test_asm_cni_on_but_skipping_a_meshed_namespace_is_unknown_when_policies_are_unread(audit):
    """ASM's CNI plug-in is on but its ExcludeNamespaces names shop: ASM injects istio-init there. Whether an admission
    policy forbids it was not read, so CNI_ON (PASS) does not hold for shop. Read, the same cluster FAILs (AA2611)."""
    detail = mesh_detail(True, exclude="kube-system,shop")
    (read,) = audit({"cluster-a": meshed_cluster(None, *net_admin_policy())}, "assessment",
                    asm_openapi=detail).rows(CHECK)
    assert (read["status"], read["code"], read["name"]) == ("FAIL", "AA2611", "shop")
    for unread in (K.VALIDATING_ADMISSION_POLICY, K.VALIDATING_ADMISSION_POLICY_BINDING):
        run = audit({"cluster-a": meshed_cluster(None, *net_admin_policy())}, "assessment", asm_openapi=detail,
                    unreadable={"cluster-a": {unread: "403 Forbidden"}})
        (row,) = run.rows(CHECK)
        assert (row["status"], row["code"]) == ("UNKNOWN", "AA2635")
        assert unread.kind in row["message"] and "shop" in row["message"]
        assert run.result.verdict == "INCOMPLETE"  # was GO: the one non-PASS here is restart-risk's WARN


def test_asm_cni_on_skipping_no_meshed_namespace_passes_with_policies_unread(audit):
    """ASM's CNI plug-in covers every meshed namespace: no istio-init anywhere, so unread policies change nothing."""
    (row,) = audit({"cluster-a": meshed_cluster(None, *net_admin_policy())}, "assessment",
                   asm_openapi=mesh_detail(True, exclude="kube-system"),
                   unreadable={"cluster-a": {K.VALIDATING_ADMISSION_POLICY: "403 Forbidden"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")


def test_policy_engine_warns_when_asm_cni_skips_a_meshed_namespace(audit):
    """Kyverno admits pods (its policies are not read) and ASM's CNI plug-in skips shop: ASM injects istio-init there,
    so the engine's policies matter as when the plug-in is off (main said CNI_ON PASS AA2602)."""
    kyverno = f.webhook_config("kyverno-resource-validating-webhook-cfg", mutating=False, service_name="kyverno-svc",
                               labels={"webhook.kyverno.io/managed-by": "kyverno"})
    (row,) = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment",
                   asm_openapi=mesh_detail(True, exclude="shop")).rows(CHECK)
    assert (row["status"], row["code"]) == ("WARN", "AA2622")
    assert row["evidence"]["policy_engines"] == ["kyverno-resource-validating-webhook-cfg"]
    (covered,) = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment",
                       asm_openapi=mesh_detail(True, exclude="kube-system")).rows(CHECK)
    assert (covered["status"], covered["code"]) == ("PASS", "AA2602")


# ---------------------------------------------------------------- ASM's CNI plug-in on, its exclusions (not) known
# ExcludeNamespaces is one comma-separated string in ASM's API: UpdateMeshFeature CniExcludeNamespaces, example
# `kube-system` (aliyun/alibabacloud-csharp-sdk servicemesh-20200111/core/Models/UpdateMeshFeatureRequest.cs), and
# mesh_config.sidecar_injector.init_cni_configuration.exclude_namespaces, TypeString, sent as CniExcludeNamespaces
# (aliyun/terraform-provider-alicloud alicloud/resource_alicloud_service_mesh_service_mesh.go).
ONLY_CNI = f.only_checks(CHECK)


def cni_config(**asm: Any) -> dict[str, Any]:
    return {**ONLY_CNI, "asm": asm}


def test_asm_cni_on_by_config_with_its_exclusions_unknown_is_not_a_pass(audit):
    """asm.cni: true tells the plug-in is on, not which namespaces it skips: if it skips shop, ASM injects istio-init
    there and restricted Pod Security rejects the moved pods. Main passed it (AA2602) and the gate went GO."""
    a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=cni_config(cni=True))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("UNKNOWN", "AA2636", "Namespace", "shop")
    assert row["evidence"]["asm_cni_excluded"] is None
    assert "asm.cni_exclude_namespaces" in row["remediation"]
    assert a.result.verdict == "INCOMPLETE"


def test_stated_exclusions_decide_and_keep_a_go_possible(audit):
    """The user states the exclusions: none (a GO), or shop (FAIL AA2611), as a list or ASM's comma-separated string."""
    a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment",
              config=cni_config(cni=True, cni_exclude_namespaces=[]))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    assert (row["evidence"]["asm_cni_excluded"], row["evidence"]["asm_cni_excluded_source"]) == (
        [], "config asm.cni_exclude_namespaces")
    assert a.result.verdict == "GO"
    for excluded in ("kube-system,shop", ["kube-system", "shop"]):
        a = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment",
                  config=cni_config(cni=True, cni_exclude_namespaces=excluded))
        (row,) = a.rows(CHECK)
        assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2611", "shop")
        assert a.result.verdict == "NO-GO"


def test_exclusions_from_the_answer_when_the_config_says_only_that_cni_is_on(audit):
    """asm.cni: true beside a DescribeServiceMeshDetail answer: the answer's ExcludeNamespaces tells the exclusions;
    the config's asm.cni_exclude_namespaces, when written, wins. An answer calling the plug-in off tells nothing of
    the exclusions of the one the config calls on."""
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=cni_config(cni=True),
                   asm_openapi=mesh_detail(True, exclude="kube-system,shop")).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2611")
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=cni_config(cni=True),
                   asm_openapi=mesh_detail(True, exclude="kube-system")).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment",
                   config=cni_config(cni=True, cni_exclude_namespaces=["kube-system"]),
                   asm_openapi=mesh_detail(True, exclude="kube-system,shop")).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=cni_config(cni=True),
                   asm_openapi=mesh_detail(False)).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2636")


def test_config_exclusions_apply_to_the_answers_plug_in_too(audit):
    """The answer says the plug-in is on and skips nothing; the config says it skips shop (e.g. changed since the
    answer was saved): the config wins, as asm.cni does over the answer's Enabled."""
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment",
                   config=cni_config(cni_exclude_namespaces="shop"), asm_openapi=mesh_detail(True)).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2611")


def test_asm_marked_cni_daemonset_tells_the_plug_in_is_on_not_its_exclusions(audit):
    """An ASM-marked CNI DaemonSet proves the plug-in runs (the check's third source; the DaemonSet's name in ASM is
    not confirmed, any name holding `cni` counts), not which namespaces it skips. Main passed (AA2602)."""
    asm_cni = istio_cni_daemonset("kube-system")
    asm_cni["metadata"]["labels"] = {"k8s-app": "istio-cni-node", "provider": "asm"}
    asm_cni["metadata"]["annotations"] = {"asm.alibabacloud.com/managed-by-asm": "true"}
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED, asm_cni)}, "assessment", config=ONLY_CNI).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2636")
    assert row["evidence"]["asm_cni_source"].startswith("ASM-marked DaemonSet")
    (row,) = audit({"cluster-a": meshed_cluster(RESTRICTED, asm_cni)}, "assessment",
                   config=cni_config(cni_exclude_namespaces=[])).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")


def test_policies_unread_with_exclusions_unknown_is_unknown(audit):
    """Admission policies not read, ASM's CNI plug-in on, its exclusions unknown: a namespace it skips gets istio-init,
    which an unread policy may reject (as AA2635 with known exclusions). Main passed (AA2602)."""
    unreadable = {"cluster-a": {K.VALIDATING_ADMISSION_POLICY: "403 Forbidden"}}
    a = audit({"cluster-a": meshed_cluster()}, "assessment", config=cni_config(cni=True), unreadable=unreadable)
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2637")
    assert "ValidatingAdmissionPolicy" in row["message"]
    assert a.result.verdict == "INCOMPLETE"
    (row,) = audit({"cluster-a": meshed_cluster()}, "assessment",
                   config=cni_config(cni=True, cni_exclude_namespaces=[]), unreadable=unreadable).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")


def test_policy_engine_with_exclusions_unknown_warns(audit):
    """Kyverno admits pods (its policies not read), ASM's CNI plug-in on, its exclusions unknown: WARN (major), as
    with known exclusions naming a meshed namespace (AA2622). Main passed (AA2602)."""
    kyverno = f.webhook_config("kyverno-resource-validating-webhook-cfg", mutating=False, service_name="kyverno-svc",
                               labels={"webhook.kyverno.io/managed-by": "kyverno"})
    (row,) = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment", config=cni_config(cni=True)).rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA2623", "major")
    assert row["evidence"]["policy_engines"] == ["kyverno-resource-validating-webhook-cfg"]
    (row,) = audit({"cluster-a": meshed_cluster(None, kyverno)}, "assessment",
                   config=cni_config(cni=True, cni_exclude_namespaces="kube-system")).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")


def test_asm_cni_on_and_no_meshed_namespace_forbidding_passes_with_exclusions_unknown(audit):
    """Nothing forbids istio-init in the meshed namespaces, policies read, no policy engine: whichever namespaces the
    plug-in skips, ASM's istio-init is admitted there."""
    (row,) = audit({"cluster-a": meshed_cluster({"pod-security.kubernetes.io/enforce": "privileged"})}, "assessment",
                   config=cni_config(cni=True)).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    assert row["evidence"]["asm_cni_excluded"] is None


# ---------------------------------------------------------------- policies on the user, not on capabilities
# istio-init runs as root (runAsUser 0, runAsNonRoot false, writable root file system) where istio-validation, the CNI
# one, runs as 1337 with runAsNonRoot true (istio/istio@1.24.6:manifests/charts/istio-control/istio-discovery/files/
# injection-template.yaml): a policy requiring non-root users admits Istio's CNI pods and rejects ASM's istio-init.
def non_root_policy() -> list[dict[str, Any]]:
    """vap-library/vap-library@v0.1.12: policies/pss-running-as-non-root/policy.yaml (one of its validations, cut
    short) and release-process/release/bindings.yaml's deny binding, enforced by a namespace label."""
    policy = f.admission_policy("pss-running-as-non-root.vap-library.com", labels={})
    policy["spec"]["validations"] = [{
        "expression": "object.kind != 'Pod' || (!has(object.spec.initContainers) || (has(object.spec.initContainers) "
                      "&& (object.spec.initContainers.all(container, ((!has(container.securityContext) || "
                      "(has(container.securityContext) && !has(container.securityContext.runAsNonRoot))) && "
                      "(has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && "
                      "object.spec.securityContext.runAsNonRoot == true)) || (has(container.securityContext) && "
                      "has(container.securityContext.runAsNonRoot) && container.securityContext.runAsNonRoot == "
                      "true)))))",
        "message": "securityContext.runAsNonRoot must be set to true on any containers, initContainers, and "
                   "ephemeralContainers in Pods", "reason": "Invalid"}]
    binding = f.admission_policy("pss-running-as-non-root-deny.vap-library.com", binding=True, labels={})
    binding["spec"] = {"policyName": "pss-running-as-non-root.vap-library.com", "validationActions": ["Deny", "Audit"],
                       "matchResources": {"matchPolicy": "Equivalent", "objectSelector": {}, "namespaceSelector": {
                           "matchLabels": {"vap-library.com/pss-running-as-non-root": "deny"}}}}
    return [policy, binding]


def test_policy_requiring_non_root_users_rejects_istio_init(audit):
    """A ValidatingAdmissionPolicy requiring runAsNonRoot names no capability: main read it as harmless and passed
    (AA2601), and the gate went GO while ASM's istio-init (root) would be rejected in shop."""
    labelled = {"vap-library.com/pss-running-as-non-root": "deny"}
    a = audit({"cluster-a": meshed_cluster(labelled, *non_root_policy())}, "assessment",
              config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "shop")
    assert row["evidence"]["forbidden_by"] == ["ValidatingAdmissionPolicy pss-running-as-non-root.vap-library.com"]
    assert a.result.verdict == "NO-GO"
    # The binding selects namespaces by label: one without it admits istio-init.
    (row,) = audit({"cluster-a": meshed_cluster(None, *non_root_policy())}, "assessment",
                   config=cni_config(cni=False)).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2601")


def test_kyverno_generated_policy_on_root_user_rejects_istio_init(audit):
    """Kyverno's CEL require-run-as-nonroot as the ValidatingAdmissionPolicy Kyverno generates from it
    (kyverno/policies: pod-security-cel/restricted/require-run-as-nonroot/.chainsaw-test/vap-assert.yaml and
    vapbinding-assert.yaml: owned by the ClusterPolicy, a binding without namespaceSelector). Main passed (AA2601)."""
    owner = [{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "name": "require-run-as-nonroot"}]
    policy = f.admission_policy("require-run-as-nonroot", labels={"app.kubernetes.io/managed-by": "kyverno"})
    policy["metadata"]["ownerReferences"] = owner
    policy["spec"]["validations"] = [{"expression": "(object.spec.containers + (has(object.spec.initContainers) ? "
                                                    "object.spec.initContainers : [])).all(container, "
                                                    "has(container.securityContext) && "
                                                    "has(container.securityContext.runAsNonRoot) && "
                                                    "container.securityContext.runAsNonRoot == true)"}]
    binding = f.admission_policy("require-run-as-nonroot-binding", binding=True,
                                 labels={"app.kubernetes.io/managed-by": "kyverno"})
    binding["metadata"]["ownerReferences"] = owner
    (row,) = audit({"cluster-a": meshed_cluster(None, policy, binding)}, "assessment",
                   config=cni_config(cni=False)).rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "shop")


# ---------------------------------------------------------------- Kubewarden: its webhooks' names do not say it
def kubewarden_webhook(policy: str, *, mutating: bool) -> dict[str, Any]:
    """The webhook configuration Kubewarden's controller writes for a ClusterAdmissionPolicy
    (kubewarden/kubewarden-controller@v1.35.0: internal/controller/policy_subreconciler_webhook.go,
    api/policies/v1/clusteradmissionpolicy_types.go GetUniqueName `clusterwide-<name>`, internal/constants
    PartOfLabelKey/Value, PolicyServerServicePort 443, policyserver_controller.go `policy-server-<name>`), with the
    namespaceSelector of its kubewarden-defaults chart (templates/_helpers.tpl policy-namespace-selector)."""
    unique = f"clusterwide-{policy}"
    return {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration",
            "metadata": {"name": unique, "labels": {"app.kubernetes.io/part-of": "kubewarden"},
                         "annotations": {"kubewardenPolicyName": policy, "kubewardenPolicyNamespace": ""}},
            "webhooks": [{"name": f"{unique}.kubewarden.admission", "admissionReviewVersions": ["v1"],
                          "sideEffects": "None", "failurePolicy": "Fail", "matchPolicy": "Equivalent",
                          "clientConfig": {"service": {"namespace": "kubewarden", "name": "policy-server-default",
                                                       "path": f"/validate/{unique}", "port": 443}},
                          "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                                     "operations": ["CREATE", "UPDATE"]}],
                          "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                      "operator": "NotIn",
                                                                      "values": ["kube-system", "kubewarden"]}]}}]}


@pytest.mark.parametrize("mutating", [True, False])
def test_kubewarden_webhooks_are_a_policy_engine(audit, mutating):
    """Kubewarden's recommended policies (kubewarden-defaults@v1.35.0 values.yaml: drop-capabilities with
    capabilities-psp, `mutating: true`) reject istio-init's NET_ADMIN in protect mode; their configurations are named
    clusterwide-<policy>, not after Kubewarden. Main saw no policy engine and passed (AA2601): now the WARN (major)
    Gatekeeper and Kyverno get."""
    hook = kubewarden_webhook("drop-capabilities", mutating=mutating)
    a = audit({"cluster-a": meshed_cluster(None, hook)}, "assessment", config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA2621", "major")
    assert row["evidence"]["policy_engines"] == ["clusterwide-drop-capabilities"]


def test_unread_mutating_webhooks_leave_policy_engines_unknown(audit):
    """A mutating policy of an engine may reject istio-init: with MutatingWebhookConfigurations not read, whether
    one is there cannot be told (as with the validating ones)."""
    (row,) = audit({"cluster-a": meshed_cluster()}, "assessment", config=cni_config(cni=False),
                   unreadable={"cluster-a": {K.MUTATING_WEBHOOK: "403 Forbidden"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2634")
    assert "MutatingWebhookConfiguration" in row["message"]


# ---------------------------------------------------------------- OpenShift Service Mesh 2: one CNI DaemonSet a release
def test_openshift_service_mesh_cni_daemonset_is_istio_cni(audit):
    """OpenShift Service Mesh 2.3+ names its CNI node agent per release, istio-cni-node-v2-5 in openshift-operators
    (maistra/istio-operator@maistra-2.5.0: resources/helm/v2.5/istio_cni/templates/daemonset-v2.5.yaml), and injects
    every pod without istio-init. Main found no istio-cni-node and said NOT_APPLICABLE (AA2640): a restricted member
    namespace whose pods will get ASM's istio-init went unjudged."""
    ds = istio_cni_daemonset("openshift-operators")
    ds["metadata"]["name"] = "istio-cni-node-v2-5"
    ds["metadata"]["labels"] = {"maistra-version": "2.5.0", "k8s-app": "istio-cni-node-v2-5", "release": "istio_cni"}
    ds["spec"]["selector"] = {"matchLabels": {"k8s-app": "istio-cni-node-v2-5"}}
    ds["spec"]["template"]["metadata"]["labels"] = {"k8s-app": "istio-cni-node-v2-5", "release": "istio_cni"}
    app = f.deployment("cart")
    member = f.namespace("shop", labels={"maistra.io/member-of": "istio-system", **RESTRICTED})
    a = audit({"cluster-a": [member, f.namespace("istio-system"), ds, f.istiod(), *app, *f.workload_pods(app, 2)]},
              "assessment", config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "shop")
    assert row["evidence"]["istio_cni"] == ["openshift-operators/istio-cni-node-v2-5"]


# ---------------------------------------------------------------- injected by the pod's own label, between runs
def test_cronjob_injected_by_pod_label_in_an_unlabelled_namespace_is_judged(audit):
    """Istio injects pods labelled sidecar.istio.io/inject: "true" in namespaces labelled for nothing
    (object.sidecar-injector.istio.io, istio/istio@1.24.6: manifests/charts/istio-control/istio-discovery/templates/
    mutatingwebhook.yaml). A CronJob's pods are Succeeded between runs (native sidecar: tests/factory job_pod,
    pkg/kube/inject/testdata/inject/job.yaml.injected @1.30.3). Main counted only active pods: `batch` (restricted)
    was not meshed, shop passed, and the gate went GO; ASM's istio-init on the next run is rejected."""
    done = f.job_pod("nightly-report-29381760-b7kqz", "batch", "nightly-report-29381760", native=True)
    done["metadata"]["labels"]["sidecar.istio.io/inject"] = "true"
    assert done["status"]["phase"] == "Succeeded"
    a = audit({"cluster-a": meshed_cluster(None, f.namespace("batch", labels=RESTRICTED), done)}, "assessment",
              config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "batch")
    assert a.result.verdict == "NO-GO"


def openshift_member(name: str = "shop", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """An OpenShift namespace: the SCC allocation annotations every namespace gets (openshift/api:
    security/v1/consts.go UIDRangeAnnotation, SupplementalGroupsAnnotation, MCSAnnotation), a Service Mesh member."""
    ns = f.namespace(name, labels={"maistra.io/member-of": "istio-system", **(labels or {})})
    ns["metadata"]["annotations"] = {"openshift.io/sa.scc.uid-range": "1000680000/10000",
                                     "openshift.io/sa.scc.supplemental-groups": "1000680000/10000",
                                     "openshift.io/sa.scc.mcs": "s0:c26,c15"}
    return ns


def ossm_cluster(*namespaces: dict[str, Any]) -> list[dict[str, Any]]:
    ds = istio_cni_daemonset("openshift-operators")
    ds["metadata"]["name"] = "istio-cni-node-v2-5"
    app = f.deployment("cart")
    return [*namespaces, f.namespace("istio-system"), ds, f.istiod(), *app, *f.workload_pods(app, 2)]


def test_openshift_namespace_without_pod_security_label_is_not_a_pass(audit):
    """On OpenShift, SecurityContextConstraints admit pods; the default restricted-v2 admits neither istio-init's
    NET_ADMIN/NET_RAW nor its runAsUser 0, and member namespaces carry no Pod Security enforce label. Main said
    NOT_APPLICABLE here (AA2640, the DaemonSet's name) and, with Istio's own istio-cni-node, passed (AA2601: 'no
    namespace forbids istio-init'): a GO. SCCs are not read, so it is UNKNOWN until ASM's CNI plug-in is known to cover
    the namespace."""
    a = audit({"cluster-a": ossm_cluster(openshift_member())}, "assessment", config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("UNKNOWN", "AA2638", "Namespace", "shop")
    assert a.result.verdict == "INCOMPLETE"
    # ASM's CNI plug-in on and skipping nothing: no istio-init, nothing for an SCC to reject.
    (row,) = audit({"cluster-a": ossm_cluster(openshift_member())}, "assessment",
                   config=cni_config(cni=True, cni_exclude_namespaces=[])).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2602")
    # A Pod Security label that forbids it still decides: FAIL.
    (row,) = audit({"cluster-a": ossm_cluster(openshift_member(labels=RESTRICTED))}, "assessment",
                   config=cni_config(cni=False)).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2610")


def test_openshift_namespace_with_istio_cni_node_was_a_pass_on_main(audit):
    """The same namespace beside Istio's own istio-cni-node (Sail's IstioCNI renders that name on OpenShift Service
    Mesh 3): main passed it (AA2601)."""
    objects = [openshift_member(), *meshed_cluster()[1:]]
    (row,) = audit({"cluster-a": objects}, "assessment", config=cni_config(cni=False)).rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2638", "shop")


# ---------------------------------------------------------------- CNI-mode pods without a node agent seen
def test_istio_pods_injected_in_cni_mode_without_a_daemonset_seen_are_judged(audit):
    """Istio's sidecars carry istio-validation, not istio-init (CNI mode, hello.yaml.cni.injected @1.24.6), while no
    istio-cni-node of Istio's is listed (deleted, or named otherwise): main said NOT_APPLICABLE (AA2640, 'Istio's
    pods already run istio-init'), which the pods contradict; ASM's istio-init would be rejected in restricted shop."""
    from tests.checks.test_purge_cni import _in_cni_mode

    app = f.deployment("cart")
    pods = [_in_cni_mode(p) for p in f.workload_pods(app, 2)]
    a = audit({"cluster-a": [f.namespace("shop", labels={"istio-injection": "enabled", **RESTRICTED}),
                             f.namespace("istio-system"), f.istiod(), *app, *pods]},
              "assessment", config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "shop")
    assert row["evidence"]["istio_cni"] == ["shop: Istio sidecars injected without istio-init"]
    # With istio-init (the factory's pods), no plug-in of Istio's: NOT_APPLICABLE holds.
    (row,) = audit({"cluster-a": [f.namespace("shop", labels={"istio-injection": "enabled", **RESTRICTED}),
                                  f.istiod(), *app, *f.workload_pods(app, 2)]}, "assessment",
                   config=cni_config(cni=False)).rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2640")


def labelled_cronjob(name: str, namespace: str, labels: dict[str, str],
                     annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A CronJob whose Jobs delete themselves when done (ttlSecondsAfterFinished): between runs no pod is left."""
    template = {"metadata": {"labels": labels, **({"annotations": annotations} if annotations else {})},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "report", "image": "registry.example.com/report:1"}]}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, namespace),
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"ttlSecondsAfterFinished": 300,
                                                                       "template": template}}}}


def test_workload_injected_by_its_template_labels_with_no_pod_now_is_judged(audit):
    """A CronJob asking for Istio's injection by its pods' own label (sidecar.istio.io/inject: "true", Istio's
    object.sidecar-injector webhook: istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates/
    mutatingwebhook.yaml), its finished Jobs gone: no pod, no namespace label. Main did not count `batch` as meshed and
    passed (AA2601); its next run, injected by ASM, gets istio-init, which restricted Pod Security rejects."""
    job = labelled_cronjob("nightly-report", "batch", {"app": "report", "sidecar.istio.io/inject": "true"})
    a = audit({"cluster-a": meshed_cluster(None, f.namespace("batch", labels=RESTRICTED), job)}, "assessment",
              config=cni_config(cni=False))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2610", "batch")
    # A namespace labelled istio-injection=disabled keeps the object webhook out; a gateway template gets no
    # istio-init (inject.istio.io/templates: gateway, the istio/gateway chart).
    for ns_labels, template_annotations in (({"istio-injection": "disabled", **RESTRICTED}, None),
                                            (RESTRICTED, {"inject.istio.io/templates": "gateway"})):
        job = labelled_cronjob("nightly-report", "batch", {"app": "report", "sidecar.istio.io/inject": "true"},
                               template_annotations)
        (row,) = audit({"cluster-a": meshed_cluster(None, f.namespace("batch", labels=ns_labels), job)},
                       "assessment", config=cni_config(cni=False)).rows(CHECK)
        assert (row["status"], row["code"]) == ("PASS", "AA2601")


# ---------------------------------------------------------------- review20: pods with no istio-init for another reason
# Istio's injector writes neither istio-init nor istio-validation for interception mode NONE (istio/istio@1.24.6
# manifests/charts/istio-control/istio-discovery/files/injection-template.yaml, the `ne ... NONE` guard; the
# annotation sidecar.istio.io/interceptionMode on every pod), and the grpc-agent template (files/grpc-agent.yaml
# @1.24.6, asked by inject.istio.io/templates) no init container at all: such pods are redirected by no CNI plug-in,
# and are no evidence that Istio used one (fa33fcf took them for it: FAIL AA2610 on a restricted namespace).
def _no_init_pods(annotations: dict[str, str]) -> list[dict]:
    app = f.deployment("cart")
    pods = f.workload_pods(app, 2, annotations=annotations)
    for pod in pods:
        pod["spec"].pop("initContainers", None)
        pod["status"].pop("initContainerStatuses", None)
    return [f.namespace("shop", labels={"istio-injection": "enabled", **RESTRICTED}), f.namespace("istio-system"),
            f.istiod(), *app, *pods]


@pytest.mark.parametrize("annotations", [{"sidecar.istio.io/interceptionMode": "NONE"},
                                         {"inject.istio.io/templates": "grpc-agent"}], ids=["none", "grpc-agent"])
def test_pods_without_redirection_are_no_evidence_of_istio_cni(audit, annotations):
    a = audit({"cluster-a": _no_init_pods(annotations)}, "assessment", config=cni_config(cni=False))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("NOT_APPLICABLE", "AA2640")]
    # The same pods in REDIRECT mode without istio-init: CNI mode (istio-validation), judged as fa33fcf does.
    a = audit({"cluster-a": _no_init_pods({"sidecar.istio.io/interceptionMode": "REDIRECT"})}, "assessment",
              config=cni_config(cni=False))
    assert ("FAIL", "AA2610") in [(r["status"], r["code"]) for r in a.rows(CHECK)]
