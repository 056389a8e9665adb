"""An ASM IstioGateway being deleted counts as absent in every check that reads the ASM gateways (red20c).

`kubectl delete` of an IstioGateway that carries finalizers leaves it on the ASM control plane with
metadata.deletionTimestamp until they are removed (kubernetes/apiserver pkg/registry/generic/registry/store.go
updateForGracefulDeletionAndFinalizers; the shape is tests/checks/test_asm_gateway_serving.being_deleted); ASM's
IstioGateway controller then removes the gateway's istio-<name> Deployment and Service from the clusters
(aliyun/alibabacloud-servicemesh-api@4df57487:alibabacloudservicemesh/v1/istiogateway_types.go: an IstioGateway is
deployed per spec.clusterIds). Session 19 made asm-gateways-present say so (AA1718); main still counted such a gateway
as present in the other readers of auditor.gateways.asm_gateways, each a GO where the only ASM gateway of its role
was going: egress-routes-to-asm (PASS AA1601 on routes to it), ingress-lb-weights (PASS AA2001 "Istio 0 : ASM 100"
with the ASM side leaving the CLB), cross-cluster-gateway-first (PASS AA1801/AA1802), and asm-gateways-present's own
role-unknown branch (WARN AA1723 "confirm" instead of FAIL AA1711). One rule now: auditor.gateways.going_workloads.
"""

from __future__ import annotations

import pytest

from auditor.gateways import AsmGateway
from tests import factory as f
from tests.checks.test_asm_gateway_serving import INGRESS_CR, being_deleted
from tests.checks.test_crossnet_serving import CR as CROSSNET_CR
from tests.checks.test_crossnet_serving import MOVED, crossnet
from tests.checks.test_gateways import IDS, asm_ingress, asm_side, eastwest, egress_gateways, ingress, moved_pods

DELETED_AT = "2026-11-20T09:00:00Z"  # being_deleted's deletionTimestamp


def test_the_rule_keys_the_workloads_of_gateways_being_deleted():
    from auditor.gateways import going_workloads  # new (red20c)

    def gw(name: str, deleting: str = "") -> AsmGateway:
        return AsmGateway("istio-system", name, "ingress", "ingress", ("c-a",), "", deleting=deleting)

    going = going_workloads([gw("old", DELETED_AT), gw("new")])
    assert list(going) == [("istio-system", "istio-old")]
    assert going[("istio-system", "istio-old")].deleting == DELETED_AT


# ---------------------------------------------------------------- egress-routes-to-asm
EGRESS = "egress-routes-to-asm"
EGRESS_CR = f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a"])
# ASM's controller names the egress gateway's Service istio-<IstioGateway name>; egress_gateways() also holds the
# seed's alias Service asm-egressgateway in front of the same pods.
ASM_SERVICE = "istio-asm-egressgateway.istio-system.svc.cluster.local"
ALIAS = "asm-egressgateway.istio-system.svc.cluster.local"


def cnn(host: str) -> dict:
    """Istio's egress-gateway task's route (istio/istio@1.24.6:samples/... egress task, direct-cnn-through-egress-
    gateway), moved 100% to ASM's egress gateway."""
    return f.virtualservice("direct-cnn-through-egress-gateway", hosts=["edition.cnn.com"],
                            gateways=["istio-egressgateway", "mesh"], http=[f.route((host, 100))])


@pytest.mark.parametrize("host", [ASM_SERVICE, ALIAS])
def test_egress_routed_to_an_asm_egress_gateway_being_deleted_fails(audit, host):
    """Main: PASS AA1601 "all egress to the ASM egress gateway", a GO; the egress is dropped once it is gone."""
    vs = cnn(host)
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", config=IDS,
              asm=asm_side(being_deleted(EGRESS_CR), vs))
    rows = a.rows(EGRESS)
    assert [(r["status"], r["code"], r["severity"]) for r in rows] == [("FAIL", "AA1613", "blocker")]
    assert rows[0]["evidence"]["asm_gateways_being_deleted"] == {"istio-system/asm-egressgateway": DELETED_AT}
    assert a.result.verdict == "NO-GO"
    # The same gateway staying carries it (the control; with its second hop, red20z).
    from tests.checks.test_egress_second_hop import asm_egress_hop

    b = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", config=IDS,
              asm=asm_side(EGRESS_CR, vs, *asm_egress_hop()))
    assert [(r["status"], r["code"]) for r in b.rows(EGRESS)] == [("PASS", "AA1601")]


def test_the_patch_sends_egress_to_the_asm_gateway_that_stays(audit):
    """A route still on Istio's egress gateway (FAIL AA1610 on main too): the patch names the staying ASM gateway's
    Service, not the one being deleted."""
    staying = [f.gateway_deployment("istio-egress-new", asm=True, gateway_type="egress"),
               f.gateway_service("istio-egress-new", type_="ClusterIP",
                                 selector={"app": "istio-egress-new", "istio": "egress-new"})]
    vs = cnn("istio-egressgateway.istio-system.svc.cluster.local")
    a = audit({"cluster-a": [*egress_gateways(), *staying, vs]}, "uninstall", config=IDS,
              asm=asm_side(being_deleted(EGRESS_CR), f.istio_gateway_cr("egress-new", "egress", cluster_ids=["c-a"]),
                           vs))
    [row] = a.rows(EGRESS)
    assert (row["status"], row["code"]) == ("FAIL", "AA1610")
    assert "istio-egress-new.istio-system.svc.cluster.local" in row["remediation"]


# ---------------------------------------------------------------- ingress-lb-weights
LB = "ingress-lb-weights"


def test_istio_weight_0_with_the_asm_side_being_deleted_fails(audit):
    """ASM's ingress cut-over done (Istio 0 : ASM 100 on the shared CLB), then the ASM IstioGateway deleted: main PASS
    AA2001; its Service and backends leave the CLB, so nothing serves it (AA2014)."""
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", config=IDS,
              asm=asm_side(being_deleted(INGRESS_CR)))
    [row] = a.rows(LB)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2014", "blocker")
    assert a.result.verdict == "NO-GO"
    b = audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", config=IDS, asm=asm_side(INGRESS_CR))
    assert [(r["status"], r["code"]) for r in b.rows(LB)] == [("PASS", "AA2001")]


def test_another_asm_gateway_on_the_clb_that_stays_serves_it(audit):
    """Blue/green of ASM gateways on one CLB: the one staying carries the share."""
    from tests.checks.test_gateways import clb_reuse

    ann = {"asm.alibabacloud.com/managed-by-asm": "true", **clb_reuse("lb-1"),
           "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight": "100"}
    new = [f.gateway_deployment("istio-ingress-new", asm=True, gateway_type="ingress"),
           f.gateway_service("istio-ingress-new", annotations=ann,
                             selector={"app": "istio-ingress-new", "istio": "ingress-new"})]
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("100"), *new]}, "uninstall", config=IDS,
              asm=asm_side(being_deleted(INGRESS_CR), f.istio_gateway_cr("ingress-new", "ingress",
                                                                         cluster_ids=["c-a"])))
    [row] = a.rows(LB)
    assert (row["status"], row["code"]) == ("PASS", "AA2001")
    assert row["evidence"]["split"].startswith("Istio 0 : ASM 100")


# ---------------------------------------------------------------- cross-cluster-gateway-first
CROSS = "cross-cluster-gateway-first"


@pytest.mark.parametrize("gate", ["migrating", "uninstall"])
@pytest.mark.parametrize("moved", [True, False])
def test_the_cross_network_gateway_being_deleted_fails(audit, gate, moved):
    """Main: PASS AA1801 (moved pods) or AA1802 (none yet), a GO, with the cross-cluster path going away."""
    objects = [*eastwest(), crossnet(), *(moved_pods(MOVED) if moved else [])]
    a = audit({"cluster-a": objects}, gate, config={**IDS, **f.only_checks(CROSS)},
              asm=asm_side(being_deleted(CROSSNET_CR)))
    [row] = a.rows(CROSS)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1813", "blocker")
    assert row["evidence"]["deletionTimestamp"] == {"istio-system/asm-cross-network-m1": DELETED_AT}
    assert "get istiogateway/asm-cross-network-m1 -o yaml" in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_a_cross_network_gateway_that_stays_beside_one_being_deleted_passes(audit):
    new = f.gateway_deployment("istio-cross-new", asm=True, gateway_type="cross-network",
                               labels={"topology.istio.io/network": "network-1"})
    a = audit({"cluster-a": [*eastwest(), crossnet(), new, *moved_pods(MOVED)]}, "uninstall",
              config={**IDS, **f.only_checks(CROSS)},
              asm=asm_side(being_deleted(CROSSNET_CR),
                           f.istio_gateway_cr("cross-new", "cross-network", cluster_ids=["c-a"],
                                              created=CROSSNET_CR["metadata"]["creationTimestamp"])))
    [row] = a.rows(CROSS)
    assert (row["status"], row["code"]) == ("PASS", "AA1801")
    assert row["evidence"]["cross_network_gateways"] == [
        f"istio-system/cross-new (cross-network, created {CROSSNET_CR['metadata']['creationTimestamp']})"]
    assert row["evidence"]["being_deleted"] == {"istio-system/asm-cross-network-m1": DELETED_AT}


# ---------------------------------------------------------------- asm-gateways-present, role unknown
def test_a_role_unknown_istio_gateway_with_only_an_asm_gateway_being_deleted_is_not_replaced(audit):
    """tests/checks/test_gateway_shapes.py's gw-7 (no label, name, Gateway or Service tells its role): beside a
    serving ASM gateway, WARN AA1723 (confirm); main gave the same WARN, a GO, when that ASM gateway was being
    deleted: nothing replaces gw-7 then (FAIL AA1711)."""
    from tests.checks.test_gateway_shapes import PRESENT, cluster, custom_gateway

    cr = f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])
    objects = cluster(*custom_gateway("gw-7", "edge", "gw-7"),
                      f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress"))
    a = audit({"cluster-a": objects}, "uninstall", config=IDS, asm=asm_side(being_deleted(cr)))
    assert [(r["status"], r["code"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1711")]
    assert a.result.verdict == "NO-GO"
    b = audit({"cluster-a": objects}, "uninstall", config=IDS, asm=asm_side(cr))
    assert [(r["status"], r["code"]) for r in b.rows(PRESENT)] == [("WARN", "AA1723")]


def test_a_role_unknown_istio_gateway_beside_an_asm_gateway_with_no_pod_available_is_not_replaced(audit):
    """The same with the ASM gateway's Deployment scaled to 0 (tests/checks/test_asm_gateway_serving.scaled_to_zero):
    it serves nothing, as asm-gateways-present says of a matched one (AA1713); main: WARN AA1723, a GO."""
    from tests.checks.test_asm_gateway_serving import scaled_to_zero
    from tests.checks.test_gateway_shapes import PRESENT, cluster, custom_gateway

    cr = f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])
    dep = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    scaled_to_zero(dep)
    a = audit({"cluster-a": cluster(*custom_gateway("gw-7", "edge", "gw-7"), dep)}, "uninstall", config=IDS,
              asm=asm_side(cr))
    assert [(r["status"], r["code"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1711")]
