"""asm-gateways-present at the uninstall gate: Kubernetes Ingresses that Istio's istiod serves on Istio's gateway
(red19d). Main read no Ingress at all: an ASM gateway replacing Istio's passed (AA1701, a GO) while the Ingresses'
hosts lived only on Istio's gateway, which `istioctl uninstall --purge` deletes.

What istiod does with an Ingress (istio/istio@1.24.6, and @1.30.3 where the code moved to krt collections:
pilot/pkg/config/kube/ingress/controller.go, conversion.go | virtualservices.go, gateways.go): unless its mesh config's
ingressControllerMode is OFF (pilot/pkg/bootstrap/configcontroller.go) it processes an Ingress annotated
`kubernetes.io/ingress.class: <ingressClass>` (modes STRICT and DEFAULT), or naming an IngressClass whose
spec.controller is `istio.io/ingress-controller`, or (DEFAULT only) naming neither; it gives each a Gateway selecting
`istio: <ingressSelector>` (else `istio: <ingressService>` unless that is istio-ingressgateway, else
`istio: ingressgateway`: getIngressGatewaySelector) and a VirtualService per rule host. Defaults: ingressService
istio-ingressgateway, ingressControllerMode STRICT, ingressClass istio (pkg/config/mesh/mesh.go DefaultMeshConfig; the
istio-discovery chart's templates/configmap.yaml sets none of them). The IngressClass is the user's: Istio's Kubernetes
Ingress task applies `IngressClass istio` (controller istio.io/ingress-controller) with the Ingress
(istio.io/latest/docs/tasks/traffic-management/ingress/kubernetes-ingress/); no Istio chart renders one (@1.24.6,
@1.30.3).

ASM's side: ASM (>= 1.16) serves Ingresses of class istio (annotation or IngressClass) only on an ASM gateway where
"Enable Ingress API access" was turned on in its console (help.aliyun.com/document_detail/613527.html, "使用ASM网关作为
Ingress Controller暴露集群内的服务", step 1), a setting no Kubernetes object shows (IstioGateway has no such field:
aliyun/alibabacloud-servicemesh-api@4df57487 alibabacloudservicemesh/v1/istiogateway_types.go). So the finding is
UNKNOWN AA1739 (confirm, then exempt), never PASS.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_asm_gateway_hosts_ports import ASM, ONLY, gateway, istio_ingress, run, server

CHECK = "asm-gateways-present"


def ingress_class(name: str = "istio", controller: str = "istio.io/ingress-controller") -> dict[str, Any]:
    """The IngressClass of Istio's Kubernetes Ingress task (controller istio.io/ingress-controller)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": f.meta(name),
            "spec": {"controller": controller}}


def ingress(name: str = "ingress", namespace: str = "default", *, class_name: str | None = "istio",
            annotation: str | None = None, host: str = "httpbin.example.com") -> dict[str, Any]:
    """networking.k8s.io/v1 Ingress as Istio's task writes it (httpbin, /status Prefix, port 8000); ASM's topic writes
    the same with the `kubernetes.io/ingress.class: istio` annotation instead of ingressClassName."""
    obj: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": f.meta(name, namespace),
        "spec": {"rules": [{"host": host, "http": {"paths": [
            {"path": "/status", "pathType": "Prefix",
             "backend": {"service": {"name": "httpbin", "port": {"number": 8000}}}}]}}]}}
    if class_name is not None:
        obj["spec"]["ingressClassName"] = class_name
    if annotation is not None:
        obj["metadata"]["annotations"] = {"kubernetes.io/ingress.class": annotation}
    return obj


def mesh_with(extra: str) -> dict[str, Any]:
    """Istio's mesh ConfigMap `istio` (tests/factory.py mesh_configmap) with Ingress settings added to its `mesh`."""
    cm = f.mesh_configmap()
    cm["data"]["mesh"] += extra
    return cm


def audit_with(audit, *objects: dict[str, Any], mesh: dict[str, Any] | None = None, istio=None,
               asm_gateways: list[dict[str, Any]] | None = None, **kw: Any):
    """Istio's istiod (default revision) and its mesh config, Istio's ingress gateway, ASM's replacing it, and
    `objects`; no Istio Gateway in the cluster (so AA1714/AA1715 have nothing to say), `asm_gateways` on ASM's side."""
    control = [f.istiod(version="1.24.6"), mesh or f.mesh_configmap()]
    return run(audit, [*control, *objects], asm_gateways or [], istio=istio, **kw)


def codes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


def test_an_ingress_of_istios_ingressclass_is_not_shown_served_by_asm(audit):
    a = audit_with(audit, ingress_class(), ingress())
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1739", "istio-ingressgateway")
    assert row["evidence"]["ingresses"] == {"default/ingress": ["httpbin.example.com"]}
    assert row["evidence"]["ingress_selectors"] == ["istio=ingressgateway"]
    assert a.result.verdict == "INCOMPLETE"


def test_an_ingress_annotated_istio_as_asms_topic_writes_it(audit):
    a = audit_with(audit, ingress("shop", "shop", class_name=None, annotation="istio", host="shop.example.com"))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1739")
    assert row["evidence"]["ingresses"] == {"shop/shop": ["shop.example.com"]}


def test_ingresses_of_another_controller_are_not_istios(audit):
    """nginx's class by IngressClass and by annotation; an Ingress naming no class under the default STRICT mode; an
    IngressClass that does not exist: Istio serves none of them."""
    a = audit_with(audit, ingress_class("nginx", "k8s.io/ingress-nginx"), ingress("a", class_name="nginx"),
                   ingress("b", class_name=None, annotation="nginx"), ingress("c", class_name=None),
                   ingress("d", class_name="gone"))
    assert codes(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"


def test_default_mode_serves_an_ingress_naming_no_class(audit):
    a = audit_with(audit, ingress("c", class_name=None), mesh=mesh_with("ingressControllerMode: DEFAULT\n"))
    assert codes(a) == [("UNKNOWN", "AA1739")]


def test_mode_off_runs_no_ingress_controller(audit):
    a = audit_with(audit, ingress_class(), ingress(), ingress("b", class_name=None, annotation="istio"),
                   mesh=mesh_with("ingressControllerMode: \"OFF\"\n"))
    assert codes(a) == [("PASS", "AA1701")]


def test_a_custom_ingress_class_name_in_the_mesh_config(audit):
    """ingressClass: the annotation's value istiod matches (the IngressClass path goes by the controller)."""
    a = audit_with(audit, ingress("b", class_name=None, annotation="istio"), mesh=mesh_with("ingressClass: mesh\n"))
    assert codes(a) == [("PASS", "AA1701")]
    a = audit_with(audit, ingress("b", class_name=None, annotation="mesh"), mesh=mesh_with("ingressClass: mesh\n"))
    assert codes(a) == [("UNKNOWN", "AA1739")]


def test_an_ingress_selector_that_picks_another_gateway(audit):
    """ingressSelector names other pods: Istio's istio=ingressgateway pods get no Ingress listener; a gateway labelled
    istio=<ingressService> (not istio-ingressgateway) does."""
    a = audit_with(audit, ingress_class(), ingress(), mesh=mesh_with("ingressSelector: edge\n"))
    assert codes(a) == [("PASS", "AA1701")]
    a = audit_with(audit, ingress_class(), ingress(), mesh=mesh_with("ingressService: edge-ingress\n"),
                   istio=istio_ingress(name="edge-ingress", label="edge-ingress"))
    assert codes(a) == [("UNKNOWN", "AA1739")]


def test_ingresses_unread_are_unknown_not_pass(audit):
    a = audit_with(audit, ingress_class(), ingress(), unreadable={"cluster-a": {K.INGRESS: "403 Forbidden"}})
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1739")
    assert "403 Forbidden" in row["evidence"]["unread"][0]


def test_an_ingressclass_unread_leaves_an_ingress_naming_one_unknown(audit):
    a = audit_with(audit, ingress(), unreadable={"cluster-a": {K.INGRESSCLASS: "403 Forbidden"}})
    assert codes(a) == [("UNKNOWN", "AA1739")]
    # ...but not one that the annotation decides.
    a = audit_with(audit, ingress(class_name=None, annotation="nginx"),
                   unreadable={"cluster-a": {K.INGRESSCLASS: "403 Forbidden"}})
    assert codes(a) == [("PASS", "AA1701")]


def test_ingress_hosts_moved_to_a_gateway_on_asms_pods_are_served(audit):
    """The remediation's other way: the hosts served by an Istio Gateway (on ASM's control plane) selecting ASM's
    gateway pods, as AA1715 reads them; a host it does not cover keeps the UNKNOWN."""
    moved = gateway("httpbin", "default", ASM, server(80, ["httpbin.example.com"]))
    a = audit_with(audit, ingress_class(), ingress(), asm_gateways=[moved])
    assert codes(a) == [("PASS", "AA1701")]
    a = audit_with(audit, ingress_class(), ingress(), ingress("b", host="blog.example.com"), asm_gateways=[moved])
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1739")
    assert row["evidence"]["ingresses"] == {"default/b": ["blog.example.com"]}


def test_no_ingress_at_all_keeps_the_pass(audit):
    a = audit_with(audit)
    assert codes(a) == [("PASS", "AA1701")]


def test_the_check_reads_ingresses_and_ingressclasses():
    """A kind newly read is collected and granted (asm-audit rbac computes the role from `uses`)."""
    from auditor.rbac import required_kinds
    from auditor.registry import load_registry

    check = load_registry().checks[CHECK]
    assert {K.INGRESS, K.INGRESSCLASS} <= set(check.uses)
    assert {K.INGRESS, K.INGRESSCLASS} <= set(required_kinds("uninstall")["data-plane"])
    assert ONLY
