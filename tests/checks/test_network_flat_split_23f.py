"""network-consistency: ASM splitting Istio's one flat network, and an east-west gateway without a network (fix23f).

Istio's side. A cluster whose istio-system namespace has no topology.istio.io/network label, whose injector has no
global.network and whose istiod's meshNetworks name it nowhere is on no network: istiod gives its proxies and
endpoints the empty network, which Proxy.InNetwork treats as the same as every other
(istio/istio@1.22.3:pilot/pkg/model/context.go `identifier.IsSameOrEmpty`): pods of every cluster reach each other
directly (istio-discovery's chart renders no network without values.global.network:
istio/istio@1.22.3:manifests/charts/istio-control/istio-discovery/templates/deployment.yaml).

ASM's side: DescribeMeshMultiClusterNetwork's MultiClusterNetworks, per cluster id Network / EnableGateway /
GatewayName / CustomGatewayAddress (the answer shape tests/checks/test_network.py uses; auditor/asm.network_items).

What ASM's istiod (Istio's code) does once ASM puts the clusters in different networks
(istio/istio@1.22.3..1.30.3:pilot/pkg/xds/endpoints/ep_filters.go EndpointsByNetworkFilter): an endpoint on another
network is sent directly while that network has no gateway (`InNetwork(epNetwork) || len(gateways) == 0`), and only
through the gateway, mutual-TLS endpoints only, once it has one. ASM's gateway for a network is its cross-network
gateway, which its IstioGateway controller deploys in the cluster as istio-<name> (tests/checks/test_crossnet_serving.py
shapes it). Main said WARN AA1920 in every case: a GO also where the gateway the other networks are sent to has no pod
available (every cross-cluster call into the cluster from an ASM proxy fails).

The east-west gateway without a network: istio/istio@1.22.3:samples/multicluster/gen-eastwest-gateway.sh
--single-cluster ("single-cluster installations may need this gateway to allow VMs to get discovery") labels it
istio: eastwestgateway, app: istio-eastwestgateway, without topology.istio.io/network or
ISTIO_META_REQUESTED_NETWORK_VIEW, Service ports 15021, 15443, 15012, 15017. Main said UNKNOWN AA1931 (INCOMPLETE)
whatever the cluster held, and FAIL AA1912 when ASM's cross-cluster mesh proxy switch is off.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_asm_gateway_serving import half_ready, pods_not_ready, scaled_to_zero
from tests.checks.test_network import istio_system, istiod_with_cluster_id
from tests.checks.test_vm_proxies import workload_group

CHECK = "network-consistency"
IDS = {"cluster-a": "c-a", "cluster-b": "c-b"}
ONLY = {"asm": {"cluster_ids": IDS}, **f.only_checks(CHECK)}


def answer(**by_id: tuple[str, bool, str]) -> dict:
    """DescribeMeshMultiClusterNetwork: cluster id -> (Network, EnableGateway, CustomGatewayAddress)."""
    return {"DescribeMeshMultiClusterNetwork": {"RequestId": "5F1A0C3D", "MultiClusterNetworks": {
        cid.replace("_", "-"): {"Network": net, "EnableGateway": gw, "GatewayName": "asm-cross-network-m1",
                                "CustomGatewayAddress": custom} for cid, (net, gw, custom) in by_id.items()}}}


def flat(name: str) -> list[dict]:
    """A primary of a flat multi-primary mesh: istiod named by its cluster, no network anywhere."""
    return [istio_system(None), istiod_with_cluster_id(name)]


NAME = "istio-asm-cross-network-m1"


def crossnet(shape=None, lb: dict | None = None) -> list[dict]:
    """ASM's cross-network gateway as its IstioGateway controller deploys it, and its Service on 15443 with a load
    balancer address (tests/checks/test_crossnet_serving.py, test_crossnet_reachable_22g.py)."""
    dep = f.gateway_deployment(NAME, asm=True, gateway_type="cross-network",
                               labels={"topology.istio.io/network": "network-1"})
    if shape is not None:
        shape(dep)
    svc = f.gateway_service(NAME, ports=[15021, 15443],
                            labels={"app": NAME, "asm.alibabacloud.com/managed-by-asm": "true"})
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "47.98.1.10"}]} if lb is None else lb}
    return [dep, svc]


def codes(a, cluster: str) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(CHECK) if r["cluster"] == cluster]


SPLIT = answer(c_a=("network-1", True, ""), c_b=("network-2", True, ""))


@pytest.mark.parametrize("shape", [scaled_to_zero, pods_not_ready])
def test_split_flat_network_whose_gateway_serves_nothing_fails(audit, shape):
    """Main: WARN AA1920 (GO) while ASM proxies in network-2 send every call into cluster-a to a gateway with no pod."""
    a = audit({"cluster-a": [*flat("cluster-a"), *crossnet(shape)], "cluster-b": flat("cluster-b")}, "uninstall",
              asm=[], config=ONLY, asm_openapi=SPLIT)
    assert codes(a, "cluster-a") == [("FAIL", "AA1913")]
    row = a.rows(CHECK)[0]
    assert row["evidence"]["asm_other_networks"] == {"network-2": ["cluster id c-b"]}
    assert "network-2" in row["remediation"]  # the fix template, filled
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("shape", [None, half_ready])
def test_split_flat_network_through_a_serving_gateway_warns(audit, shape):
    a = audit({"cluster-a": [*flat("cluster-a"), *crossnet(shape)], "cluster-b": flat("cluster-b")}, "uninstall",
              asm=[], config=ONLY, asm_openapi=SPLIT)
    assert codes(a, "cluster-a") == [("WARN", "AA1922")]
    # cluster-b runs no ASM cross-network gateway: cluster-a's ASM proxies still reach its pods directly
    assert codes(a, "cluster-b") == [("WARN", "AA1921")]


def test_split_flat_network_without_any_gateway_warns(audit):
    a = audit({"cluster-a": flat("cluster-a"), "cluster-b": flat("cluster-b")}, "migrating", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("network-1", False, ""), c_b=("network-2", False, "")))
    assert codes(a, "cluster-a") == [("WARN", "AA1921")] and codes(a, "cluster-b") == [("WARN", "AA1921")]


def test_a_gateway_without_an_address_is_no_network_gateway(audit):
    """Its Service's status.loadBalancer `{}` (no address yet), no custom address: istiod keeps no gateway for the
    network, so the other networks still reach this cluster's pods directly (not the FAIL of a gateway they are sent
    to)."""
    a = audit({"cluster-a": [*flat("cluster-a"), *crossnet(scaled_to_zero, lb={})], "cluster-b": flat("cluster-b")},
              "uninstall", asm=[], config=ONLY, asm_openapi=SPLIT)
    assert codes(a, "cluster-a") == [("WARN", "AA1921")]
    assert a.rows(CHECK)[0]["evidence"]["cross_network_gateways_without_address"] == [f"istio-system/{NAME}"]


def test_one_asm_network_for_every_cluster_is_as_before(audit):
    a = audit({"cluster-a": [*flat("cluster-a"), *crossnet(scaled_to_zero)], "cluster-b": flat("cluster-b")},
              "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("network-1", False, ""), c_b=("network-1", False, "")))
    assert codes(a, "cluster-a") == [("WARN", "AA1920")] and codes(a, "cluster-b") == [("WARN", "AA1920")]


def test_a_custom_gateway_address_with_nothing_here_is_unknown(audit):
    a = audit({"cluster-a": flat("cluster-a"), "cluster-b": flat("cluster-b")}, "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("network-1", True, "47.0.0.10:15443"), c_b=("network-2", False, "")))
    assert codes(a, "cluster-a") == [("UNKNOWN", "AA1939")]


def test_same_istio_network_split_by_asm_fails(audit):
    """Istio's guides give both clusters one network (multi-primary on one network: global.network network1); ASM
    putting one in another is the seed's mismatch: FAIL AA1910 already (no change)."""
    clusters = {name: [istio_system("network-1"), istiod_with_cluster_id(name)] for name in IDS}
    a = audit(clusters, "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("network-1", False, ""), c_b=("network-2", False, "")))
    assert codes(a, "cluster-a") == [("PASS", "AA1901")] and codes(a, "cluster-b") == [("FAIL", "AA1910")]


# ---------------------------------------------------------------- an east-west gateway without a network (VMs)
def single_cluster_eastwest() -> list[dict]:
    """gen-eastwest-gateway.sh --single-cluster: no network label, ports 15021/15443/15012/15017."""
    return [f.gateway_deployment("istio-eastwestgateway", istio_label="eastwestgateway"),
            f.gateway_service("istio-eastwestgateway", ports=[15021, 15443, 15012, 15017],
                              labels={"istio": "eastwestgateway", "app": "istio-eastwestgateway"})]


def test_eastwest_gateway_without_network_serving_vms_is_judged(audit):
    """Main: UNKNOWN AA1931 and FAIL AA1912 (the switch off): NO-GO for a single-cluster mesh whose gateway only lets
    VMs reach istiod."""
    objects = [*flat("cluster-a"), *single_cluster_eastwest(), workload_group()]
    a = audit({"cluster-a": objects}, "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("", False, "")))
    assert codes(a, "cluster-a") == [("NOT_APPLICABLE", "AA1941")]
    assert a.rows(CHECK)[0]["evidence"]["vm_proxies"] == ["WorkloadGroup bookinfo/reviews"]
    # ASM putting the cluster in a network of its own (no other cluster): as for a cluster without the gateway
    a = audit({"cluster-a": objects}, "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("network-1", False, "")))
    assert codes(a, "cluster-a") == [("WARN", "AA1920")]


def test_eastwest_gateway_without_network_or_vms_stays_unknown(audit):
    a = audit({"cluster-a": [*flat("cluster-a"), *single_cluster_eastwest()]}, "uninstall", asm=[], config=ONLY,
              asm_openapi=answer(c_a=("", True, "")))
    assert ("UNKNOWN", "AA1931") in codes(a, "cluster-a")
    row = next(r for r in a.rows(CHECK) if r["code"] == "AA1931")
    assert "WorkloadGroup" in row["evidence"]["vm_gateway_unproven"]
