"""asm-gateways-present at the uninstall gate: ASM's gateway replaces Istio's only if the Istio Gateways give it
listeners (red18f).

istiod gives a gateway pod the servers of the Gateways (networking.istio.io) whose spec.selector is a subset of its
labels, or that have no selector (istio/istio@1.30.3: pilot/pkg/model/push_context.go mergeGateways). Bookinfo's
Gateway selects Istio's ingress gateway by `istio: ingressgateway` (istio/istio@1.30.3:
samples/bookinfo/networking/bookinfo-gateway.yaml); ASM's gateway pods carry `app: istio-<name>`, `istio: <name>`
(the IstioGateway controller's labels as tests/factory.py gateway_deployment(asm=True) models them; ASM's migration
topic names the gateway ingressgateway-asm). Imported into ASM as it is, the Gateway still selects Istio's pods only:
ASM's gateway runs, its Service is on the CLB, and it has no listener for bookinfo's host. Main: PASS AA1701.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateways import IDS, asm_ingress, asm_side, ingress

CHECK = "asm-gateways-present"
ONLY = {**IDS, **f.only_checks(CHECK, "istio-config-imported")}
ASM_CR = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])


def bookinfo_gateway(selector: dict[str, str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"},
                                         "hosts": ["*"]}]}
    if selector is not None:
        spec["selector"] = selector
    return f.istio_object("Gateway", "bookinfo-gateway", "shop", spec)


def bookinfo_vs() -> dict[str, Any]:
    """The sample's VirtualService (hosts `*`, gateways [bookinfo-gateway], http routes to productpage 9080): a
    Gateway's listener serves only what the routes bound to it take (red20f, tests/checks/
    test_asm_gateway_routes_bound.py)."""
    return f.virtualservice("bookinfo", "shop", hosts=["*"], gateways=["bookinfo-gateway"], http=[
        {"match": [{"uri": {"exact": "/productpage"}}],
         "route": [{"destination": {"host": "productpage", "port": {"number": 9080}}}]}])


def run(audit, gateway: dict[str, Any]):
    objects = [*ingress(), *asm_ingress(), gateway, bookinfo_vs()]
    return audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, gateway, bookinfo_vs()))


def test_gateways_selecting_only_istios_pods_leave_asms_gateway_without_listeners(audit):
    a = run(audit, bookinfo_gateway({"istio": "ingressgateway"}))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == (
        "FAIL", "AA1714", "blocker", "istio-ingressgateway")
    assert row["evidence"]["gateways_selecting_istio"] == ["shop/bookinfo-gateway"]
    assert a.result.verdict == "NO-GO"


def test_a_gateway_selecting_asms_pods_or_every_gateway_passes(audit):
    for selector in ({"istio": "ingressgateway-asm"}, None):
        a = run(audit, bookinfo_gateway(selector))
        assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1701")], selector


def test_no_gateway_selecting_istios_pods_says_nothing_of_listeners(audit):
    """Nothing binds Istio's gateway (its Gateway removed, or another one's): no listener it had is lost."""
    a = run(audit, bookinfo_gateway({"istio": "other-gateway"}))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1701")]


def test_the_asm_control_planes_gateways_unread_leave_the_listeners_unknown(audit):
    """ASM's istiod reads ASM's copies: with them unread, a selector that binds only Istio's pods there is not seen:
    UNKNOWN AA1736, never the PASS AA1701 (which it was when red18f added AA1714; session 16)."""
    gateway = bookinfo_gateway({"istio": "ingressgateway-asm"})  # even one that would pass: ASM's copy is not seen
    a = audit({"cluster-a": [*ingress(), *asm_ingress(), gateway]}, "uninstall", config=ONLY, asm=asm_side(ASM_CR),
              unreadable={"asm": {K.GATEWAY: "forbidden: gateways.networking.istio.io is forbidden"}})
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1736", "istio-ingressgateway")
    assert "forbidden" in row["evidence"]["gateways_unread"][0]
    assert a.result.verdict != "GO"


def test_the_clusters_gateways_unread_leave_the_listeners_unknown(audit):
    a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_CR, bookinfo_gateway({"istio": "ingressgateway-asm"})),
              unreadable={"cluster-a": {K.GATEWAY: "403 Forbidden"}})
    # The gateway scan reads the cluster's Gateways too (AA1732); the replacement's listeners are not a PASS either.
    assert sorted((r["status"], r["code"]) for r in a.rows(CHECK)) == [("UNKNOWN", "AA1732"), ("UNKNOWN", "AA1736")]
