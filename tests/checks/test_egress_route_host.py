"""egress-routes-to-asm at the uninstall gate: a route moved to an ASM egress gateway host that no Service (nor
ServiceEntry) answers to drops that egress, so it is no proof that ASM's gateway carries it (red18f).

The seed's example (ASM's migration topic, Step 3) moves the VirtualService of Istio's egress-gateway task to
`asm-egressgateway.istio-system.svc.cluster.local` "assume your ASM egress gateway is called asm-egressgateway", while
ASM's IstioGateway controller creates the gateway's Deployment and Service as istio-<name> in istio-system
(alibabacloud.com/help/en/asm/user-guide/customize-the-scaling-policy-of-asm-gateway: "a Deployment named
istio-<gateway-name> in the istio-system namespace"; the Service alike, domain.md). Followed to the letter for an
IstioGateway named asm-egressgateway, the route names a Service that does not exist: Istio drops traffic to a
destination found neither among the Services nor the ServiceEntries (istio.io/latest/docs/reference/config/networking/
virtual-service, Destination.host), and `istioctl analyze` says IST0101 of it (istio/istio@1.30.3:pkg/config/analysis/
analyzers/virtualservice/destinationhosts.go analyzeVirtualService). Main classed the configured name
(gateways.asm_egress, default asm-egressgateway) as ASM's gateway whether a Service of that name exists or not: PASS
AA1601, a GO while ASM's gateway gets none of that egress and Istio's none either (the traffic check sees zero).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_egress_second_hop import asm_egress_hop
from tests.checks.test_gateways import ASM_EGRESS, ISTIO_EGRESS, asm_side, cnn_vs, egress_gateways
from tests.checks.test_gateways_gwx16 import backend, classic_egress, cnn_entry, mesh_route

CHECK = "egress-routes-to-asm"
IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
ONLY = {**IDS, **f.only_checks(CHECK)}
ASM_EGRESS_CR = f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a"])
ASM_SERVICE_HOST = "istio-asm-egressgateway.istio-system.svc.cluster.local"  # the Service ASM creates
FORBIDDEN_SE = ("forbidden: serviceentries.networking.istio.io is forbidden: User \"audit\" cannot list resource "
                "\"serviceentries\" in API group \"networking.istio.io\"")


def without_alias() -> list[dict[str, Any]]:
    """Istio's egress gateway and ASM's (istio-asm-egressgateway), without the alias Service asm-egressgateway."""
    return [o for o in egress_gateways() if o["metadata"]["name"] != "asm-egressgateway"]


def rows(a) -> list[tuple[str, str, str, str]]:
    return [(r["cluster"], r["status"], r["code"], r["name"]) for r in a.rows(CHECK)]


def test_the_seeds_host_without_its_service_is_a_fail(audit):
    vs = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    a = audit({"cluster-a": [*without_alias(), vs]}, "uninstall", config=ONLY, asm=asm_side(ASM_EGRESS_CR, vs))
    # the ASM control plane's copy says the same of the same spec: reported once
    assert rows(a) == [("cluster-a", "FAIL", "AA1612", "direct-cnn-through-egress-gateway")]
    [row] = a.rows(CHECK)
    assert row["severity"] == "blocker"
    assert row["evidence"]["asm_hosts_unanswered"] == {ASM_EGRESS: ["cluster-a"]}
    assert "istio-<IstioGateway name>" in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_the_seeds_host_with_its_alias_service_or_asms_own_service_passes(audit):
    # ASM's egress gateway routes the host on (red20z: asm_egress_hop, the second hop AA1614 asks for)
    vs = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_EGRESS_CR, vs, *asm_egress_hop()))
    assert rows(a) == [("cluster-a", "PASS", "AA1601", "direct-cnn-through-egress-gateway")]
    vs = cnn_vs((ISTIO_EGRESS, 0), (ASM_SERVICE_HOST, 100))
    a = audit({"cluster-a": [*without_alias(), vs]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_EGRESS_CR, vs, *asm_egress_hop()))
    assert rows(a) == [("cluster-a", "PASS", "AA1601", "direct-cnn-through-egress-gateway")]
    assert a.result.verdict == "GO"


def test_a_weight_0_destination_to_nowhere_carries_nothing_and_passes(audit):
    """The missing host at weight 0 beside ASM's real Service at 100: no traffic goes to it."""
    vs = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 0), (ASM_SERVICE_HOST, 100))
    a = audit({"cluster-a": [*without_alias(), vs]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_EGRESS_CR, vs, *asm_egress_hop()))
    assert rows(a) == [("cluster-a", "PASS", "AA1601", "direct-cnn-through-egress-gateway")]


def test_only_the_asm_control_planes_copy_routes_to_nowhere(audit):
    """The route lives on the ASM control plane only (imported, then removed from the cluster): ASM's proxies follow
    it, and the host answers to nothing in the data plane."""
    vs = cnn_vs((ASM_EGRESS, 100))
    a = audit({"cluster-a": without_alias()}, "uninstall", config=ONLY, asm=asm_side(ASM_EGRESS_CR, vs))
    assert ("asm", "FAIL", "AA1612", "direct-cnn-through-egress-gateway") in rows(a)
    assert a.result.verdict == "NO-GO"


def test_a_gateway_api_mesh_route_to_a_missing_service_is_a_fail(audit):
    """Istio's egress task with the Gateway API, its backendRef moved to a Service asm-egressgateway that is not
    there (Gateway API: ResolvedRefs False, BackendNotFound)."""
    route = mesh_route([backend("istio-egressgateway", 0), backend("asm-egressgateway")])
    asm_gw = [o for o in without_alias() if "asm" in o["metadata"]["name"]]
    a = audit({"cluster-a": [*classic_egress(), *asm_gw, cnn_entry(), route]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_EGRESS_CR))
    assert [r for r in rows(a) if r[0] == "cluster-a"] == [
        ("cluster-a", "FAIL", "AA1612", "direct-cnn-to-egress-gateway")]
    assert a.rows(CHECK)[0]["kind"] == "HTTPRoute"


def test_a_missing_service_with_the_serviceentries_unread_is_unknown(audit):
    """No Service of that name, and a ServiceEntry (unread) could still answer to the host: not a PASS."""
    vs = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    a = audit({"cluster-a": [*without_alias(), vs]}, "uninstall", config=ONLY, asm=asm_side(ASM_EGRESS_CR, vs),
              unreadable={"cluster-a": {K.SERVICEENTRY: FORBIDDEN_SE}})
    assert ("cluster-a", "UNKNOWN", "AA1634", "direct-cnn-through-egress-gateway") in rows(a)
    assert a.result.verdict != "GO"
