"""egress-routes-to-asm at the uninstall gate: ASM's egress gateway must carry the egress on, not only receive it
(red20z).

Istio's egress pattern has two hops (istio/istio.io content/en/docs/tasks/traffic-management/egress/egress-gateway:
Gateway `istio-egressgateway` selecting `istio: egressgateway` with an HTTP server on 80 for edition.cnn.com, and a
VirtualService bound to `istio-egressgateway` and `mesh` whose mesh match sends the host to the egress gateway's
Service and whose gateway match sends it on to edition.cnn.com; istio/istio@1.30.3
tests/integration/pilot/testdata/tunneling/gateway/tcp/{gateway,virtual-service}.tmpl.yaml: the same with TCP servers
and the two hops in two VirtualServices, one bound to `mesh`, one to the Gateway). istiod builds a gateway's listeners
only from the Gateways selecting its pods and its routes only from the VirtualServices bound to those Gateways: an HTTP
server without a route gets a 404 virtual host ("no vhosts; Setting up a default 404 vhost"), a TCP/TLS one no filter
chain ("listener missed network filter") (istio/istio@1.30.3 and @1.24.6 pilot/pkg/networking/core/gateway.go).

The migration step under test repoints the mesh hop at ASM's egress Service (istio-asm-egressgateway, as ASM's
controller names it) and leaves the Gateway selecting `istio: egressgateway`: ASM's egress gateway answers 404.
Main: PASS AA1601, and with Istio's egress gateway Deployment already gone (asm-gateways-present then N/A AA1740) the
verdict is GO while every such egress request fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateways import asm_side, egress_gateways

CHECK = "egress-routes-to-asm"
IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
ONLY = {**IDS, **f.only_checks(CHECK)}
CR = f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a"])
ISTIO_SVC = "istio-egressgateway.istio-system.svc.cluster.local"
ASM_SVC = "istio-asm-egressgateway.istio-system.svc.cluster.local"
ISTIO_PODS = {"istio": "egressgateway"}        # Istio's egress gateway pods (the task's selector)
ASM_PODS = {"istio": "asm-egressgateway"}      # ASM's egress gateway pods (tests/factory gateway_deployment)
NOT_FORWARDED = ("FAIL", "AA1614")
FORWARD_UNREAD = ("UNKNOWN", "AA1635")
PASS = ("PASS", "AA1601")


def cnn_gateway(selector: dict[str, str], protocol: str = "HTTP") -> dict[str, Any]:
    return f.istio_object("Gateway", "istio-egressgateway", "default", {
        "selector": selector,
        "servers": [{"port": {"number": 80, "name": protocol.lower(), "protocol": protocol},
                     "hosts": ["edition.cnn.com"]}]})


def cnn_vs(first_hop: str, gateway: str = "istio-egressgateway") -> dict[str, Any]:
    """The task's VirtualService: both hops, bound to the egress Gateway and `mesh`."""
    return f.istio_object("VirtualService", "direct-cnn-through-egress-gateway", "default", {
        "hosts": ["edition.cnn.com"], "gateways": [gateway, "mesh"],
        "http": [{"match": [{"gateways": ["mesh"], "port": 80}],
                  "route": [{"destination": {"host": first_hop, "port": {"number": 80}}, "weight": 100}]},
                 {"match": [{"gateways": [gateway], "port": 80}],
                  "route": [{"destination": {"host": "edition.cnn.com", "port": {"number": 80}}, "weight": 100}]}]})


def tcp_hops(first_hop: str) -> list[dict[str, Any]]:
    """The tunneling test's two VirtualServices (mesh hop, gateway hop), TCP on 80."""
    mesh_hop = f.istio_object("VirtualService", "mesh-route-outbound", "default", {
        "hosts": ["edition.cnn.com"], "gateways": ["mesh"],
        "tcp": [{"match": [{"port": 80}], "route": [{"destination": {"host": first_hop, "port": {"number": 80}}}]}]})
    gw_hop = f.istio_object("VirtualService", "egress-gw-route-outbound", "default", {
        "hosts": ["edition.cnn.com"], "gateways": ["istio-egressgateway"],
        "tcp": [{"match": [{"port": 80}],
                 "route": [{"destination": {"host": "edition.cnn.com", "port": {"number": 80}}}]}]})
    return [mesh_hop, gw_hop]


def cnn_entry() -> dict[str, Any]:
    return f.istio_object("ServiceEntry", "cnn", "default", {
        "hosts": ["edition.cnn.com"], "ports": [{"number": 80, "name": "http-port", "protocol": "HTTP"}],
        "resolution": "DNS"})


def asm_egress_hop(*hosts: str) -> list[dict[str, Any]]:
    """The second hop on ASM's egress gateway, for tests whose mesh hop should pass: a Gateway selecting ASM's egress
    pods with an HTTP server on 80 for `hosts`, and a VirtualService bound to it sending them on (the task's pair)."""
    hosts = hosts or ("edition.cnn.com",)
    gateway = f.istio_object("Gateway", "asm-egress", "istio-system", {
        "selector": dict(ASM_PODS),
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": list(hosts)}]})
    vs = f.istio_object("VirtualService", "asm-egress-hop", "istio-system", {
        "hosts": list(hosts), "gateways": ["asm-egress"],
        "http": [{"route": [{"destination": {"host": h, "port": {"number": 80}}}]} for h in hosts[:1]]})
    return [gateway, vs]


def run(audit, config: list[dict[str, Any]], *, istio_running: bool = True, **kw: Any):
    cluster = egress_gateways() if istio_running else egress_gateways()[2:]  # [2:]: Istio's Deployment/Service gone
    return audit({"cluster-a": [*cluster, *config, cnn_entry()]}, "uninstall", config=ONLY,
                 asm=asm_side(CR, *config, cnn_entry()), **kw)


def codes(a) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(CHECK)]


@pytest.mark.parametrize("istio_running", [True, False])
def test_mesh_hop_repointed_while_the_gateway_selects_istios_pods_is_a_fail(audit, istio_running):
    a = run(audit, [cnn_gateway(ISTIO_PODS), cnn_vs(ASM_SVC)], istio_running=istio_running)
    assert codes(a) == [NOT_FORWARDED]
    [row] = a.rows(CHECK)
    assert row["evidence"]["unrouted_hosts"] == {"edition.cnn.com": ["cluster-a"]}
    assert a.result.verdict == "NO-GO"


def test_two_virtualservices_tcp_with_the_gateway_on_istios_pods_is_a_fail(audit):
    a = run(audit, [cnn_gateway(ISTIO_PODS, "TCP"), *tcp_hops(ASM_SVC)], istio_running=False)
    assert codes(a) == [NOT_FORWARDED]


def test_gateway_on_asms_pods_with_the_second_hop_bound_passes(audit):
    a = run(audit, [cnn_gateway(ASM_PODS), cnn_vs(ASM_SVC)], istio_running=False)
    assert codes(a) == [PASS]
    a = run(audit, [cnn_gateway(ASM_PODS, "TCP"), *tcp_hops(ASM_SVC)], istio_running=False)
    assert codes(a) == [PASS]  # the gateway hop sends to no egress gateway: not judged


def test_gateway_on_asms_pods_without_a_bound_second_hop_is_a_fail(audit):
    """The Gateway moved to ASM's pods, but the gateway hop's VirtualService is bound to `mesh` only."""
    vs = cnn_vs(ASM_SVC)
    vs["spec"]["gateways"] = ["mesh"]
    vs["spec"]["http"][1]["match"] = [{"port": 80}]
    a = run(audit, [cnn_gateway(ASM_PODS), vs], istio_running=False)
    assert codes(a) == [NOT_FORWARDED]


@pytest.mark.parametrize("kind", [K.GATEWAY, K.VIRTUALSERVICE])
def test_asms_gateways_or_virtualservices_unread_is_unknown(audit, kind):
    config = [cnn_gateway(ISTIO_PODS), cnn_vs(ASM_SVC)]
    a = run(audit, config, istio_running=False, unreadable={"asm": {kind: "403 Forbidden"}})
    if kind is K.VIRTUALSERVICE:  # the cluster's copy judged; ASM's VirtualServices unread is AA1630 as before
        assert FORWARD_UNREAD in codes(a)
    else:
        assert codes(a) == [FORWARD_UNREAD]


def test_still_on_istios_gateway_stays_a_to_istio_fail(audit):
    a = run(audit, [cnn_gateway(ISTIO_PODS), cnn_vs(ISTIO_SVC)])
    assert codes(a) == [("FAIL", "AA1610")]
