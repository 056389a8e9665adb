"""purge-preview through the real engine: what `istioctl uninstall --purge` deletes (operator/pkg/uninstall/prune.go).

Objects are shaped as `istioctl install` writes them (labels operator.istio.io/component and
install.operator.istio.io/owning-resource on every rendered object, CRDs of the Base component included) and as
`helm install istio-base` / `helm install istiod` write them (app.kubernetes.io/managed-by: Helm, helm.sh/chart,
meta.helm.sh/release-name / release-namespace annotations).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests import install_shapes as S

CHECK = "purge-preview"
ASM_MARKS = {"asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm"}


def operator_labels(component: str) -> dict[str, str]:
    """The labels istioctl's installer puts on every object it renders."""
    return {"operator.istio.io/component": component, "install.operator.istio.io/owning-resource": "installed-state",
            "install.operator.istio.io/owning-resource-namespace": "istio-system",
            "operator.istio.io/version": "1.22.3", "release": "istio"}


def istio_crd(plural: str, group: str, kind: str, labels: dict[str, str]) -> dict[str, Any]:
    crd = f.crd(f"{plural}.{group}", labels=labels)
    crd["spec"]["names"]["kind"] = kind
    return crd


def operator_install() -> list[dict[str, Any]]:
    """istioctl install --set profile=default, version 1.22.3: istiod, its Service, webhooks, RBAC, one CRD."""
    return [
        f.istiod(version="1.22.3"),
        f.service("istiod", "istio-system", labels={"app": "istiod", "istio": "pilot", **operator_labels("Pilot")}),
        f.webhook_config("istio-sidecar-injector", labels=operator_labels("Pilot")),
        f.webhook_config("istiod-default-validator", mutating=False, labels=operator_labels("Base")),
        f.cluster_rbac("istiod-clusterrole-istio-system", labels=operator_labels("Pilot")),
        istio_crd("virtualservices", "networking.istio.io", "VirtualService", operator_labels("Base")),
        f.namespace("istio-system"),
    ]


def reviews_vs() -> dict[str, Any]:
    return f.istio_object("VirtualService", "reviews", "shop", {"hosts": ["reviews"], "http": [
        {"route": [{"destination": {"host": "reviews"}}]}]})


def test_pass_lists_what_the_purge_deletes_and_the_istioctl_version(audit):
    a = audit({"cluster-a": operator_install()}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")
    assert row["evidence"]["deleted_count"] == 6
    assert row["evidence"]["by_kind"] == {"ClusterRole": 1, "CustomResourceDefinition": 1, "Deployment": 1,
                                          "MutatingWebhookConfiguration": 1, "Service": 1,
                                          "ValidatingWebhookConfiguration": 1}
    assert "CustomResourceDefinition/virtualservices.networking.istio.io" in row["evidence"]["deleted"]
    assert row["evidence"]["istioctl"] == "use istioctl 1.22.3 (the installed istiod's version)"
    assert row["remediation"] == (
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall --purge --dry-run  # istioctl 1.22.3')
    assert "Secrets" in row["evidence"]["not_read"]


def test_warn_when_a_crd_takes_stored_objects_already_on_asm(audit):
    a = audit({"cluster-a": [*operator_install(), reviews_vs()]}, "uninstall",
              asm=[f.migration_cr("Migrating"), reviews_vs()])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("WARN", "AA2520")
    assert row["evidence"]["cascade"] == ["1 VirtualService.networking.istio.io"]


def test_fail_when_a_crd_takes_stored_objects_not_on_asm(audit):
    a = audit({"cluster-a": [*operator_install(), reviews_vs()]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2511")
    assert row["name"] == "virtualservices.networking.istio.io"
    assert row["evidence"]["not_on_asm"] == ["VirtualService/shop/reviews"]


def test_fail_when_an_asm_object_carries_the_operator_label(audit):
    # An ASM gateway whose manifest was copied from Istio's keeps operator.istio.io/component: the purge deletes it.
    asm_gateway = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress",
                                       labels={"operator.istio.io/component": "IngressGateways"})
    a = audit({"cluster-a": [*operator_install(), asm_gateway]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == (
        "FAIL", "AA2510", "Deployment", "istio-ingressgateway-asm")
    assert row["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label deployment/'
                                  "istio-ingressgateway-asm -n istio-system operator.istio.io/component-")


def test_fail_when_a_crd_takes_asm_objects_with_it(audit):
    asm_filter = f.istio_object("EnvoyFilter", "asm-stats", "istio-system", {"configPatches": []}, labels=ASM_MARKS)
    cluster = [*operator_install(), istio_crd("envoyfilters", "networking.istio.io", "EnvoyFilter",
                                              operator_labels("Base")), asm_filter]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2512", "envoyfilters.networking.istio.io")
    assert row["remediation"] == ("Remove operator.istio.io/component from CRD envoyfilters.networking.istio.io "
                                  "before the purge so it stays")
    assert row["evidence"]["asm_objects"] == ["EnvoyFilter/istio-system/asm-stats (ASM label/annotation)"]


def test_unknown_when_the_stored_objects_of_a_purged_crd_cannot_be_read(audit):
    a = audit({"cluster-a": operator_install()}, "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"cluster-a": {K.VIRTUALSERVICE: "403 Forbidden"}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2532")
    assert "403 Forbidden" in row["message"]  # the API server's reason, quoted


def test_unknown_when_asm_copies_cannot_be_read(audit):
    a = audit({"cluster-a": [*operator_install(), reviews_vs()]}, "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"asm": {K.VIRTUALSERVICE: "403 Forbidden"}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2533")
    assert row["evidence"]["stored"] == ["VirtualService/shop/reviews"]


def test_unknown_when_a_purged_crd_defines_a_kind_the_auditor_does_not_read(audit):
    cluster = [*operator_install(), istio_crd("network-attachment-definitions", "k8s.cni.cncf.io",
                                              "NetworkAttachmentDefinition", operator_labels("Cni"))]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == (
        "UNKNOWN", "AA2530", "network-attachment-definitions.k8s.cni.cncf.io")


def test_unknown_when_an_istiod_carries_no_installer_labels(audit):
    bare = f.istiod()
    bare["metadata"]["labels"] = {"app": "istiod", "istio.io/rev": "default"}
    a = audit({"cluster-a": [bare]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2531", "istiod")


def test_helm_installed_istio_names_the_releases_to_uninstall(audit):
    """f.helm_installed_istio as the charts write it (istiod's Deployment labelled operator.istio.io/component:
    Pilot). The test asserted before a shape without that label (AA2521 alone, istio-base first): the purge does
    delete istiod's Deployment (listed, AA2501), and both releases come off with `helm uninstall`, istio-base last."""
    a = audit({"cluster-a": f.helm_installed_istio()}, "uninstall", asm=[f.migration_cr("Migrating")])
    rows = {r["code"]: r for r in a.rows(CHECK)}
    assert {code: r["status"] for code, r in rows.items()} == {"AA2501": "PASS", "AA2521": "WARN"}
    assert rows["AA2521"]["remediation"] == (
        'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istiod -n istio-system\n'
        'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istio-base -n istio-system')
    assert rows["AA2521"]["evidence"]["deleted_by_the_purge"] == {
        "istio-system/istiod": ["Deployment/istio-system/istiod"]}


@pytest.mark.parametrize("version", ["1.22.8", "1.24.6", "1.26.8", "1.30.3"])
def test_a_helm_installed_istiod_labelled_pilot_is_a_release_to_helm_uninstall(audit, version):
    """`helm install istiod istio/istiod -n istio-system` (tests/install_shapes.py helm_revision: istio-discovery
    templates/{deployment,service,configmap,mutatingwebhook}.yaml @version write operator.istio.io/component: Pilot
    beside Helm's labels and release annotations). main: purge-preview said only AA2501 PASS with `istioctl uninstall
    --purge`, never the istiod release: the purge deletes istiod's labelled objects (prune.go @1.24.0..1.30.3 selects
    by the label alone) and leaves Helm's record of the release (Secret sh.helm.release.v1.istiod.v1), so `helm list`
    still shows an istiod that is gone and the next `helm upgrade` (or a GitOps sync of it) installs it again."""
    shape = S.moved_to_asm(S.helm_revision(version, ""))
    a = audit({"cluster-a": shape.objects}, "uninstall", asm=[f.migration_cr("Migrating")])
    [row] = [r for r in a.rows(CHECK) if r["code"] == "AA2521"]
    assert row["status"] == "WARN"
    assert row["remediation"] == 'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istiod -n istio-system'
    assert "Deployment/istio-system/istiod" in row["evidence"]["deleted_by_the_purge"]["istio-system/istiod"]


def test_not_applicable_without_any_istio_install(audit):
    app = f.deployment("web")
    a = audit({"cluster-a": [f.namespace("shop"), *app, *f.workload_pods(app, 2, proxy="asm")]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2540")
