"""purge-preview: a workload on ASM's proxy whose pod template still carries operator.istio.io/component (red22m).

`istioctl uninstall --purge` deletes the Pods carrying the label, whoever owns them (NamespacedResources lists Pods:
istio/istio@1.10.6, 1.16.7, 1.22.3 operator/pkg/helmreconciler/prune.go; @1.24.6, 1.26.3 operator/pkg/uninstall/
prune.go, GetPrunedResources with a selector of the label's existence alone). The east-west gateway as istioctl renders
it with an injection template (istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/templates/
injected-deployment.yaml; samples/multicluster/gen-eastwest-gateway.sh sets `injectionTemplate: gateway`): the label on
the Deployment and on its pod template, `image: auto`, serviceAccountName `<gateway>-service-account`, which
templates/serviceaccount.yaml renders with the same label (as role.yaml the `<gateway>-sds` Role). Restarted in an
istio-system where ASM's injector answers (the seed's east-west gateway note), its pods run ASM's proxy.

main: AA2510's fix takes the label off the Deployment alone; audited again, the purge was called clean (AA2501, a GO)
while it deletes every pod of the gateway and the ServiceAccount they run as, so they cannot be created again.
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_purge_in_use import chart_labels

CHECK = "purge-preview"
COMPONENT = "operator.istio.io/component"


def eastwest_gateway(ns: str = "istio-system", *, deployment_label: bool = True, template_label: bool = True,
                     proxy: str = "asm") -> list[dict[str, Any]]:
    """The injected east-west gateway of injected-deployment.yaml @1.24.6, its pods on `proxy`."""
    container = {"name": "istio-proxy", "image": "auto", "ports": [{"containerPort": 15021}]}
    labels = {**chart_labels("IngressGateways", "istio-eastwestgateway", "eastwestgateway"),
              "topology.istio.io/network": "network-1"}
    pod_labels = {"app": "istio-eastwestgateway", "istio": "eastwestgateway", COMPONENT: "IngressGateways",
                  "install.operator.istio.io/owning-resource": "unknown", "sidecar.istio.io/inject": "true",
                  "service.istio.io/canonical-name": "istio-eastwestgateway", "topology.istio.io/network": "network-1",
                  "app.kubernetes.io/name": "istio-ingressgateway"}
    if not deployment_label:
        labels.pop(COMPONENT)
    if not template_label:
        pod_labels.pop(COMPONENT)
    dep, rs = f.deployment("istio-eastwestgateway", ns, replicas=1, template_labels=pod_labels,
                           template_annotations={"sidecar.istio.io/inject": "true",
                                                 "inject.istio.io/templates": "gateway"},
                           containers=[container], labels=labels)
    dep["spec"]["template"]["spec"]["serviceAccountName"] = "istio-eastwestgateway-service-account"
    pods = f.workload_pods((dep, rs), 1, proxy=proxy, gateway=True, xds_agent=None)
    return [dep, rs, *pods]


def run(audit, cluster: list[dict[str, Any]]):
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), *cluster]}, "uninstall", asm=[f.migration_cr("Migrating")])
    return a.rows(CHECK)


def test_fail_when_only_the_deployments_label_was_taken_off(audit):
    rows = run(audit, eastwest_gateway(deployment_label=False))
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2514", "Deployment", "istio-eastwestgateway")]
    lines = rows[0]["remediation"].splitlines()
    assert any("patch deployment/istio-eastwestgateway" in line and "--type=json" in line for line in lines)
    assert any("label serviceaccount/istio-eastwestgateway-service-account -n istio-system "
               "operator.istio.io/component-" in line for line in lines)
    assert rows[0]["evidence"]["service_account"] == "istio-eastwestgateway-service-account"


def test_fail_in_a_namespace_where_nothing_else_carries_the_label(audit):
    # A gateway namespace of its own (IstioOperator spec.components.ingressGateways[].namespace): its Deployment's label
    # taken off, nothing else of that namespace read carries it.
    rows = run(audit, [f.namespace("istio-gateways"),
                       *eastwest_gateway("istio-gateways", deployment_label=False)])
    assert [(r["status"], r["code"], r["namespace"], r["name"]) for r in rows] == [
        ("FAIL", "AA2514", "istio-gateways", "istio-eastwestgateway")]


def test_aa2510_of_a_labelled_template_takes_the_label_off_the_template_and_account_too(audit):
    rows = run(audit, eastwest_gateway())
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2510", "Deployment", "istio-eastwestgateway")]
    assert "patch deployment/istio-eastwestgateway" in rows[0]["remediation"]
    assert "label serviceaccount/istio-eastwestgateway-service-account" in rows[0]["remediation"]


def test_pass_once_the_template_carries_the_label_no_more(audit):
    rows = run(audit, eastwest_gateway(deployment_label=False, template_label=False))
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2501")]


def test_istios_own_gateway_on_istios_proxy_is_no_finding(audit):
    # Not moved: the purge deleting Istio's gateway and its pods is what it is for.
    rows = run(audit, eastwest_gateway(proxy="istio"))
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2501")]
