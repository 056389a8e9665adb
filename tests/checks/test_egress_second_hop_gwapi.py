"""egress-routes-to-asm's second hop (red21e): Gateway API mesh routes, and the port the mesh hop sends to.

Shapes:
- Istio's egress-gateway task with the Gateway API (istio/istio.io content/en/docs/tasks/traffic-management/egress/
  egress-gateway snips.sh, snip_egress_gateway_for_http_traffic_4/6, _https_traffic_4): HTTPRoute/TLSRoute
  direct-cnn-to-egress-gateway (parentRef the ServiceEntry cnn, backendRef the egress gateway's Service, port 80 /
  443), Gateway cnn-egress-gateway (gatewayClassName istio, a listener for edition.cnn.com on 80 / 443 Passthrough),
  route forward-cnn-from-egress-gateway (parentRef that Gateway, backendRef kind Hostname edition.cnn.com). The mesh
  route's hosts are the ServiceEntry's (istio/istio@1.24.6 pilot/pkg/config/kube/gateway/conversion.go,
  serviceEntryHosts); here the mesh hop is moved to ASM's egress Service istio-asm-egressgateway.
- The Gateway bound to ASM's pre-deployed egress gateway through spec.addresses (a Hostname naming its Service, in its
  namespace: istio/istio@1.24.6 conversion.go extractGatewayServices, push_context.go mergeGateways; ASM deploys no
  gateway for a Gateway): tests/checks/test_gateway_api_egress.py bound_to_asm.
- Ports: istiod puts a Gateway server's (a listener's) port on the targetPort of the Service port of that number
  (pilot/pkg/model/gateway.go @1.24.6 resolvePorts); the mesh hop reaches the gateway at the Service port its
  destination / backendRef names. ASM's egress Service holds spec.ports of its IstioGateway (corev1.ServicePort,
  aliyun/alibabacloud-servicemesh-api@4df57487 alibabacloudservicemesh/v1/istiogateway_types.go): tests/factory
  gateway_service, 80 and 443.
Main: every case below that is not a PASS was PASS AA1601 / AA1602 (a GO once Istio's egress gateway is gone).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_egress_second_hop import (
    ASM_PODS,
    ASM_SVC,
    CR,
    ISTIO_PODS,
    NOT_FORWARDED,
    ONLY,
    asm_egress_hop,
    cnn_entry,
    cnn_gateway,
    cnn_vs,
    codes,
)
from tests.checks.test_gateways import asm_side, egress_gateways

ROUTE_PASS = ("PASS", "AA1602")
VS_PASS = ("PASS", "AA1601")
PORT_UNEXPOSED = ("FAIL", "AA1615")
PORT_UNROUTED = ("FAIL", "AA1616")
FORWARD_UNREAD = ("UNKNOWN", "AA1635")


def tls_entry() -> dict[str, Any]:
    entry = cnn_entry()
    entry["spec"]["ports"] = [{"number": 80, "name": "http-port", "protocol": "HTTP"},
                              {"number": 443, "name": "tls", "protocol": "TLS"}]
    return entry


def mesh_route(kind: str = "HTTPRoute", port: int = 80) -> dict[str, Any]:
    """The task's direct-cnn-to-egress-gateway, its backendRef moved to ASM's egress gateway's Service."""
    route = f.k8s_route(kind, "direct-cnn-to-egress-gateway", "default",
                        [{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "cnn"}])
    route["spec"]["rules"] = [{"backendRefs": [{"name": "istio-asm-egressgateway", "namespace": "istio-system",
                                                "port": port}]}]
    return route


def gwapi_hop(kind: str = "HTTPRoute", port: int = 80, *, attached: bool = True) -> list[dict[str, Any]]:
    """The task's cnn-egress-gateway and forward-cnn-from-egress-gateway, the Gateway bound to ASM's egress Service."""
    gateway = f.k8s_gateway("cnn-egress-gateway", "istio-system", hostname="edition.cnn.com", uid_salt="asm")
    gateway["spec"]["addresses"] = [{"type": "Hostname",
                                     "value": "istio-asm-egressgateway.istio-system.svc.cluster.local"}]
    listener = gateway["spec"]["listeners"][0]
    listener["port"] = port
    if kind == "TLSRoute":
        listener.update(name="tls", protocol="TLS", tls={"mode": "Passthrough"})
    out = [gateway]
    if attached:
        forward = f.k8s_route(kind, "forward-cnn-from-egress-gateway", "istio-system",
                              [{"name": "cnn-egress-gateway"}], uid_salt="asm")
        forward["spec"]["hostnames"] = ["edition.cnn.com"]
        forward["spec"]["rules"] = [{"backendRefs": [{"kind": "Hostname", "group": "networking.istio.io",
                                                      "name": "edition.cnn.com", "port": port}]}]
        out.append(forward)
    return out


def judged(a) -> list[tuple[str, str]]:
    """The findings on routes: the ASM control plane's N/A AA1641 (no VirtualService of it routes egress) left out."""
    return [c for c in codes(a) if c != ("NOT_APPLICABLE", "AA1641")]


def run(audit, cluster: list[dict[str, Any]], asm: list[dict[str, Any]], **kw: Any):
    """Istio's egress gateway already gone (egress_gateways()[2:]): a PASS here is a GO."""
    return audit({"cluster-a": [*egress_gateways()[2:], tls_entry(), *cluster]}, "uninstall", config=ONLY,
                 asm=asm_side(CR, tls_entry(), *asm), **kw)


# ================================================================ 1. Gateway API mesh routes get a second hop
@pytest.mark.parametrize("kind,port", [("HTTPRoute", 80), ("TLSRoute", 443)])
def test_gateway_api_mesh_route_to_asm_without_a_second_hop_fails(audit, kind, port):
    """Nothing on ASM's egress gateway serves edition.cnn.com (the classic Gateway still selects Istio's pods)."""
    a = run(audit, [mesh_route(kind, port)], [cnn_gateway(ISTIO_PODS)])
    assert judged(a) == [NOT_FORWARDED]
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("kind,port", [("HTTPRoute", 80), ("TLSRoute", 443)])
def test_gateway_api_mesh_route_with_a_gateway_api_second_hop_passes(audit, kind, port):
    a = run(audit, [mesh_route(kind, port)], gwapi_hop(kind, port))
    assert judged(a) == [ROUTE_PASS]


def test_gateway_api_mesh_route_with_a_classic_second_hop_passes(audit):
    a = run(audit, [mesh_route()], asm_egress_hop())
    assert judged(a) == [ROUTE_PASS]


def test_gateway_api_second_hop_without_an_attached_route_fails(audit):
    """The Gateway bound to ASM's egress Service has the listener, but no route attached: a 404 there."""
    a = run(audit, [mesh_route()], gwapi_hop(attached=False))
    assert judged(a) == [NOT_FORWARDED]


def test_virtualservice_mesh_hop_with_a_gateway_api_second_hop_passes(audit):
    """The classic mesh hop (the seed's VirtualService) and the second hop on a Gateway API Gateway bound to ASM's
    egress gateway: main said FAIL AA1614 (it read Istio Gateways only)."""
    vs = cnn_vs(ASM_SVC)
    vs["spec"]["gateways"] = ["mesh"]
    vs["spec"]["http"] = vs["spec"]["http"][:1]
    a = run(audit, [vs], [vs, *gwapi_hop()])
    assert codes(a) == [VS_PASS]


def test_the_mesh_routes_service_entry_only_on_asm_still_gets_a_second_hop(audit):
    """Istio's config imported into ASM: the parent ServiceEntry lives on the ASM control plane only, the route stays in
    the data plane (review21: main found no hosts for it and passed the route, AA1602, a GO)."""
    a = audit({"cluster-a": [*egress_gateways()[2:], mesh_route()]}, "uninstall", config=ONLY,
              asm=asm_side(CR, tls_entry(), cnn_gateway(ISTIO_PODS)))
    assert judged(a) == [NOT_FORWARDED]
    assert a.result.verdict == "NO-GO"
    a = audit({"cluster-a": [*egress_gateways()[2:], mesh_route()]}, "uninstall", config=ONLY,
              asm=asm_side(CR, tls_entry(), *gwapi_hop()))
    assert judged(a) == [ROUTE_PASS]


def test_the_mesh_routes_service_entry_unread_on_asm_is_unknown(audit):
    a = audit({"cluster-a": [*egress_gateways()[2:], mesh_route()]}, "uninstall", config=ONLY,
              asm=asm_side(CR, tls_entry(), *gwapi_hop()), unreadable={"asm": {K.SERVICEENTRY: "403 Forbidden"}})
    assert judged(a) == [FORWARD_UNREAD]


def test_gateway_api_routes_unread_on_asm_is_unknown(audit):
    a = run(audit, [mesh_route()], gwapi_hop(), unreadable={"asm": {K.K8S_HTTPROUTE: "403 Forbidden"}})
    assert judged(a) == [FORWARD_UNREAD]


# ================================================================ 2. the port the mesh hop sends to
def https_only_hop() -> list[dict[str, Any]]:
    """ASM's egress Gateway serves edition.cnn.com on 443 only (TLS passthrough, the task's HTTPS variant)."""
    gateway = f.istio_object("Gateway", "asm-egress", "istio-system", {
        "selector": dict(ASM_PODS),
        "servers": [{"port": {"number": 443, "name": "tls", "protocol": "TLS"}, "hosts": ["edition.cnn.com"],
                     "tls": {"mode": "PASSTHROUGH"}}]})
    vs = f.istio_object("VirtualService", "asm-egress-hop", "istio-system", {
        "hosts": ["edition.cnn.com"], "gateways": ["asm-egress"],
        "tls": [{"match": [{"port": 443, "sniHosts": ["edition.cnn.com"]}],
                 "route": [{"destination": {"host": "edition.cnn.com", "port": {"number": 443}}}]}]})
    return [gateway, vs]


def mesh_vs(port: int) -> dict[str, Any]:
    vs = cnn_vs(ASM_SVC)
    vs["spec"]["gateways"] = ["mesh"]
    vs["spec"]["http"] = vs["spec"]["http"][:1]
    vs["spec"]["http"][0]["route"][0]["destination"]["port"]["number"] = port
    return vs


def test_mesh_hop_to_port_80_while_asm_serves_the_host_on_443_only_fails(audit):
    a = run(audit, [mesh_vs(80)], [mesh_vs(80), *https_only_hop()])
    assert codes(a) == [PORT_UNROUTED]
    assert a.result.verdict == "NO-GO"


def test_gateway_api_mesh_route_to_80_while_the_listener_is_on_443_fails(audit):
    a = run(audit, [mesh_route("HTTPRoute", 80)], gwapi_hop("TLSRoute", 443))
    assert judged(a) == [PORT_UNROUTED]


def test_mesh_hop_to_a_port_asms_egress_service_does_not_expose_fails(audit):
    """The mesh hop sends to 8080 and ASM's Gateway has a server on 8080, but ASM's egress Service exposes 80 and 443
    only: the sidecar has no such port of that Service to send to."""
    gateway, vs = asm_egress_hop()
    gateway["spec"]["servers"][0]["port"]["number"] = 8080
    a = run(audit, [mesh_vs(8080)], [mesh_vs(8080), gateway, vs])
    assert codes(a) == [PORT_UNEXPOSED]


def test_mesh_hop_on_the_served_port_passes(audit):
    a = run(audit, [mesh_vs(80)], [mesh_vs(80), *asm_egress_hop()])
    assert codes(a) == [VS_PASS]
