"""cross-cluster-gateway-first: the single-cluster east-west gateway that only lets VMs reach istiod (fix23g).

istio/istio@1.22.3:samples/multicluster/gen-eastwest-gateway.sh --single-cluster ("single-cluster installations may
need this gateway to allow VMs to get discovery") writes an IstioOperator whose istio-eastwestgateway carries the labels
istio: eastwestgateway, app: istio-eastwestgateway and, unlike the --network form, no topology.istio.io/network label,
no ISTIO_META_REQUESTED_NETWORK_VIEW env and no global.network; its Service exposes 15021, 15443, 15012 and 15017.
istiod keeps a network gateway only for a gateway with a network (getGatewayDetails,
istio/istio@1.22.3:pilot/pkg/serviceregistry/kube/controller/network.go), so this one carries no cross-network traffic:
what it serves are the VMs (WorkloadGroup, WorkloadEntry) on the cluster's own network.

Main treated it as a cross-network gateway: WARN AA1820 before the first move, then FAIL AA1811 (no ASM cross-network
gateway) or AA1814 (one declared for the cluster, not deployed) once pods run ASM's proxy: a NO-GO for a single-cluster
mesh that needs no cross-network gateway at all. network-consistency already says N/A AA1941 of the same gateway
(tests/checks/test_network_flat_split_23f.py), by the same predicate (auditor/network.vm_gateway). The VMs themselves
are judged by istio-sidecars-remaining (AA1214 / AA1215 / AA1231 / AA1232), not here.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_gateways import GW_TIME, IDS, asm_side, eastwest, moved_pods
from tests.checks.test_network import istio_system, istiod_with_cluster_id
from tests.checks.test_network_flat_split_23f import single_cluster_eastwest
from tests.checks.test_vm_proxies import workload_group

CHECK = "cross-cluster-gateway-first"
ONLY = {**IDS, **f.only_checks(CHECK, "network-consistency")}
MOVED = "2026-11-14T00:00:00Z"


def flat_primary() -> list[dict]:
    """A single-cluster primary: istiod, no network anywhere (istio-system unlabelled, no global.network)."""
    return [istio_system(None), istiod_with_cluster_id("cluster-a")]


def codes(a, check: str = CHECK) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(check)]


@pytest.mark.parametrize("gate", ["migrating", "uninstall"])
def test_vm_gateway_with_pods_on_asm_is_not_a_cross_network_gateway(audit, gate):
    """Main: FAIL AA1811 (NO-GO): pods on ASM's proxy and no ASM cross-network gateway."""
    objects = [*flat_primary(), *single_cluster_eastwest(), workload_group(), *moved_pods(MOVED)]
    a = audit({"cluster-a": objects}, gate, config=ONLY, asm=asm_side())
    assert codes(a) == [("NOT_APPLICABLE", "AA1841")]
    assert codes(a, "network-consistency") == [("NOT_APPLICABLE", "AA1941")]  # the same gateway, the same judgement
    [row] = a.rows(CHECK)
    assert row["evidence"]["vm_proxies"] == ["WorkloadGroup bookinfo/reviews"]


def test_vm_gateway_before_any_move(audit):
    """Main: WARN AA1820."""
    objects = [*flat_primary(), *single_cluster_eastwest(), workload_group()]
    a = audit({"cluster-a": objects}, "migrating", config=ONLY, asm=asm_side())
    assert codes(a) == [("NOT_APPLICABLE", "AA1841")]


def test_vm_gateway_with_a_cross_network_gateway_declared_but_not_deployed(audit):
    """Main: FAIL AA1814: a cross-network IstioGateway for the cluster, not deployed in it, carries nothing here."""
    objects = [*flat_primary(), *single_cluster_eastwest(), workload_group(), *moved_pods(MOVED)]
    cr = f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(cr))
    assert codes(a) == [("NOT_APPLICABLE", "AA1841")]


def test_eastwest_gateway_without_network_or_vms_is_judged_as_before(audit):
    """No VM proxy: what the gateway serves is not shown (another cluster's meshNetworks may name it): as main."""
    objects = [*flat_primary(), *single_cluster_eastwest(), *moved_pods(MOVED)]
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side())
    assert codes(a) == [("FAIL", "AA1811")]


def test_vm_gateway_unproven_while_webhooks_unread(audit):
    """The injector's webhook path (not read) may give the cluster a network: not shown to be the VM gateway."""
    from auditor import kinds as K

    objects = [*flat_primary(), *single_cluster_eastwest(), workload_group(), *moved_pods(MOVED)]
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(),
              unreadable={"cluster-a": {K.MUTATING_WEBHOOK: "forbidden"}})
    assert codes(a) == [("FAIL", "AA1811")]


def test_eastwest_gateway_with_a_network_and_vms_is_cross_network(audit):
    """gen-eastwest-gateway.sh --network network-1 (the multi-network VM guide): a cross-network gateway, as main."""
    objects = [*eastwest(), workload_group(), *moved_pods(MOVED)]
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side())
    assert codes(a) == [("FAIL", "AA1811")]
