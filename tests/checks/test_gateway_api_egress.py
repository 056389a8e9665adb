"""A Gateway API egress gateway (class istio) needs ASM's egress gateway, not its ingress gateway.

Shape: Istio's egress-gateway task with the Gateway API (istio/istio.io content/en/docs/tasks/traffic-management/
egress/egress-gateway, snips.sh snip_egress_gateway_for_http_traffic_4/6 and _https_traffic_4): Gateway
cnn-egress-gateway (gatewayClassName istio, annotation networking.istio.io/service-type: ClusterIP, listener hostname
edition.cnn.com), HTTPRoute direct-cnn-to-egress-gateway (parentRef the ServiceEntry cnn, backend
cnn-egress-gateway-istio), HTTPRoute forward-cnn-from-egress-gateway (parentRef the Gateway, backendRef kind Hostname,
group networking.istio.io, name edition.cnn.com); istiod deploys cnn-egress-gateway-istio (kube-gateway.yaml).
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_gateways import IDS, asm_ingress, asm_side

CHECK = "asm-gateways-present"


def cnn_entry() -> dict:
    return f.istio_object("ServiceEntry", "cnn", "default", {
        "hosts": ["edition.cnn.com"], "ports": [{"number": 80, "name": "http-port", "protocol": "HTTP"}],
        "resolution": "DNS"})


def egress_gateway_api(backend_kind: str = "Hostname", protocol: str = "HTTP") -> list[dict]:
    gateway = f.k8s_gateway("cnn-egress-gateway", "default", hostname="edition.cnn.com")
    gateway["metadata"]["annotations"] = {"networking.istio.io/service-type": "ClusterIP"}
    dep, rs, svc = f.gateway_api_deployment(gateway)
    svc["spec"]["type"] = "ClusterIP"
    route_kind = "HTTPRoute" if protocol == "HTTP" else "TLSRoute"
    to_gateway = f.k8s_route(route_kind, "direct-cnn-to-egress-gateway", "default",
                             [{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "cnn"}],
                             backend="cnn-egress-gateway-istio", port=80)
    from_gateway = f.k8s_route(route_kind, "forward-cnn-from-egress-gateway", "default",
                               [{"name": "cnn-egress-gateway"}], port=80)
    from_gateway["spec"]["hostnames"] = ["edition.cnn.com"]
    backend = {"kind": backend_kind, "group": "networking.istio.io", "port": 80,
               "name": "edition.cnn.com" if backend_kind == "Hostname" else "cnn"}
    from_gateway["spec"]["rules"] = [{"backendRefs": [backend]}]
    return [cnn_entry(), gateway, dep, rs, svc, to_gateway, from_gateway]


@pytest.mark.parametrize("backend_kind,protocol", [("Hostname", "HTTP"), ("Hostname", "TLS"), ("ServiceEntry", "HTTP")])
def test_gateway_api_egress_gateway_is_not_replaced_by_asm_ingress(audit, backend_kind, protocol):
    """main typed every Gateway API gateway but east-west as ingress: ASM's ingress gateway 'replaced' this egress
    gateway (PASS AA1701) while ASM has no egress gateway."""
    a = audit({"cluster-a": [*egress_gateway_api(backend_kind, protocol), *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    rows = [(r["status"], r["code"], r["name"]) for r in a.rows(CHECK)]
    assert rows == [("FAIL", "AA1710", "cnn-egress-gateway-istio")]
    assert "ASM egress gateway" in a.rows(CHECK)[0]["message"]


def bound_to_asm(service: str, hostname: str) -> list[dict]:
    """The Gateway moved onto ASM's gateway, and a route attached to it: ASM deploys none for a Gateway, it binds to
    ASM's through spec.addresses (tests/checks/test_gateway_api_asm_binding.py)."""
    # In the ASM gateway's own namespace: istiod binds a Gateway only to a Service of its namespace (mergeGateways,
    # istio/istio@1.24.6 pilot/pkg/model/push_context.go).
    gateway = f.k8s_gateway("moved", "istio-system", hostname=hostname, uid_salt="asm")
    gateway["spec"]["addresses"] = [{"type": "Hostname", "value": f"{service}.istio-system.svc.cluster.local"}]
    return [gateway, f.k8s_route("HTTPRoute", "moved", "default", [{"name": "moved", "namespace": "istio-system"}],
                                 uid_salt="asm")]


def test_gateway_api_egress_gateway_replaced_by_asm_egress(audit):
    asm_egress = [f.gateway_deployment("istio-asm-egressgateway", asm=True, gateway_type="egress"),
                  f.gateway_service("istio-asm-egressgateway", type_="ClusterIP",
                                    selector={"app": "istio-asm-egressgateway", "istio": "asm-egressgateway"})]
    a = audit({"cluster-a": [*egress_gateway_api(), *asm_egress]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a"]),
                           *bound_to_asm("istio-asm-egressgateway", "edition.cnn.com")))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1701")]


def test_gateway_api_ingress_gateway_stays_ingress(audit):
    """Routes to Services of the cluster (the default k8s_route backend): ingress, replaced by ASM's ingress."""
    gateway = f.k8s_gateway("web", "edge")
    route = f.k8s_route("HTTPRoute", "shop", "shop", [{"name": "web", "namespace": "edge"}])
    a = audit({"cluster-a": [gateway, *f.gateway_api_deployment(gateway), route, *asm_ingress()]}, "uninstall",
              config=IDS, asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"]),
                                       *bound_to_asm("istio-ingressgateway-asm", "*.example.com")))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1701")]


def test_mesh_internal_service_entry_backend_stays_ingress(audit):
    objs = egress_gateway_api("ServiceEntry")
    objs[0]["spec"]["location"] = "MESH_INTERNAL"
    a = audit({"cluster-a": [*objs, *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"]),
                           *bound_to_asm("istio-ingressgateway-asm", "edition.cnn.com")))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1701")]
