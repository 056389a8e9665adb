"""The east-west gateway without a network in a fleet: another primary's meshNetworks may route through it (fix23m).

Cluster A is judged on its own objects to hold the single-cluster VM gateway (istio/istio@1.22.3:
samples/multicluster/gen-eastwest-gateway.sh --single-cluster: no topology.istio.io/network label, Service ports
15021/15443/15012/15017; tests/checks/test_crossnet_vm_gateway_23g.py). Cluster B, a primary with a network, lists in
its meshNetworks (values.global.meshNetworks, rendered by istio/istio@1.22.3:manifests/charts/istio-control/
istio-discovery/templates/configmap.yaml as the mesh ConfigMap's `meshNetworks: networks: ...`; the shape its
values.yaml comment gives: `<network>: {endpoints: [{fromRegistry: <registry>}], gateways: [{registryServiceName:
<svc>.<ns>.svc.cluster.local, port: 443}]}` or `gateways: [{address: 1.1.1.1, port: 80}]`) a network whose endpoints
come from cluster A's registry and whose gateway is A's east-west gateway. B's istiod then puts A's endpoints on that
network and takes the gateway from A's Service of that name (its load balancer address) or the address listed
(istio/istio@1.22.3:pilot/pkg/serviceregistry/kube/controller/network.go reloadMeshNetworks, getGatewayDetails,
extractGatewaysInner; pilot/pkg/model/network.go NetworkManager.reload): B's proxies reach A's pods through that
gateway, which so carries cross-network traffic and needs ASM's cross-network gateway in its place.

Main (fix23f, fix23g) judged A's gateway on A's objects alone: N/A AA1841 (cross-cluster-gateway-first) and N/A
AA1941 (network-consistency), a GO with workloads already on ASM's proxy and no ASM cross-network gateway for A. Now
they are judged as a cross-network gateway, as before fix23f/fix23g: FAIL AA1811, UNKNOWN AA1931 (+ the switch).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factory as f
from tests.checks.test_crossnet_vm_gateway_23g import MOVED, ONLY, flat_primary
from tests.checks.test_gateways import asm_side, moved_pods
from tests.checks.test_network import istio_system, istiod_with_cluster_id, mesh_configmap_with_networks
from tests.checks.test_network_flat_split_23f import single_cluster_eastwest
from tests.checks.test_vm_proxies import workload_group

CHECK = "cross-cluster-gateway-first"
NETWORK_CHECK = "network-consistency"
A_LB = "47.98.10.1"  # cluster A's east-west gateway's load balancer address
B_LB = "47.98.20.2"

# Cluster B's own network, as every multi-network primary lists it.
NETWORK_B = """  network-b:
    endpoints:
    - fromRegistry: cluster-b
    gateways:
    - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local
      port: 15443
"""


def network_a(gateway: str, registry: str = "cluster-a") -> str:
    return f"""  network-a:
    endpoints:
    - fromRegistry: {registry}
    gateways:
    - {gateway}
      port: 15443
"""


BY_SERVICE = "registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local"


def cluster_a(lb: str | None = A_LB) -> list[dict[str, Any]]:
    """A's flat primary (CLUSTER_ID cluster-a, no network), its VM gateway with its load balancer's address, VMs, and
    workloads already on ASM's proxy."""
    gateway = single_cluster_eastwest()
    gateway[1]["status"] = {"loadBalancer": {"ingress": [{"ip": lb}]} if lb else {}}
    return [*flat_primary(), *gateway, workload_group(), *moved_pods(MOVED)]


def cluster_b(mesh_networks: str) -> list[dict[str, Any]]:
    """B's primary on network-b: its istiod (CLUSTER_ID cluster-b), its mesh ConfigMap's meshNetworks, its
    east-west gateway (network-b)."""
    svc = f.gateway_service("istio-eastwestgateway", ports=[15021, 15443],
                            labels={"istio": "eastwestgateway", "topology.istio.io/network": "network-b"})
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": B_LB}]}}
    return [istio_system("network-b"), istiod_with_cluster_id("cluster-b"),
            mesh_configmap_with_networks("networks:\n" + mesh_networks),
            f.gateway_deployment("istio-eastwestgateway", labels={"topology.istio.io/network": "network-b"}), svc]


def codes(a, check: str, cluster: str = "cluster-a") -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(check) if r["cluster"] == cluster]


def audit_fleet(audit, a_objects, b_objects, *, b_first: bool = False, phase: str = "uninstall"):
    clusters = {"cluster-b": b_objects, "cluster-a": a_objects} if b_first else \
        {"cluster-a": a_objects, "cluster-b": b_objects}
    return audit(clusters, phase, config=ONLY, asm=asm_side())


@pytest.mark.parametrize("b_first", [False, True])
@pytest.mark.parametrize("gateway", [BY_SERVICE, f"address: {A_LB}", "address: eastwest.cluster-a.example.com"])
def test_another_primary_routing_through_the_gateway_makes_it_cross_network(audit, gateway, b_first):
    """Main: N/A AA1841 and N/A AA1941 (GO) while B's proxies reach A's pods through A's gateway and A's moved
    workloads have no ASM cross-network gateway. A host name may alias A's load balancer: not told apart."""
    a = audit_fleet(audit, cluster_a(), cluster_b(NETWORK_B + network_a(gateway)), b_first=b_first)
    assert codes(a, CHECK) == [("FAIL", "AA1811")]
    assert codes(a, NETWORK_CHECK)[0] == ("UNKNOWN", "AA1931")
    assert "AA1941" not in {code for _, code in codes(a, NETWORK_CHECK)}
    assert a.result.exit_code != 0


def test_another_network_listing_the_gateways_address_makes_it_cross_network(audit):
    """An address gateway of another network that is A's load balancer's: B sends that network's calls to A's
    gateway, whatever registry the network names (main: N/A AA1841)."""
    a = audit_fleet(audit, cluster_a(), cluster_b(NETWORK_B + network_a(f"address: {A_LB}", registry="cluster-c")))
    assert codes(a, CHECK) == [("FAIL", "AA1811")]


@pytest.mark.parametrize("phase", ["uninstall", "all"])
def test_a_fleet_whose_other_primary_does_not_route_through_it_keeps_the_vm_gateway(audit, phase):
    """B's meshNetworks name only its own network: A's gateway is the VM gateway, as for a single cluster (each gate
    judged in conclude from the one record)."""
    a = audit_fleet(audit, cluster_a(), cluster_b(NETWORK_B), phase=phase)
    gates = len({r["gate"] for r in a.rows(CHECK)})
    assert gates == (2 if phase == "all" else 1)  # migrating and uninstall
    assert codes(a, CHECK) == [("NOT_APPLICABLE", "AA1841")] * gates
    assert codes(a, NETWORK_CHECK) == [("NOT_APPLICABLE", "AA1941")] * gates
    assert codes(a, CHECK, "cluster-b") and "ENGINE" not in str(codes(a, CHECK, "cluster-b"))


def test_a_network_of_a_registry_through_another_address_keeps_the_vm_gateway(audit):
    """B puts A's registry on network-a through an IP that A's load balancer (its address read) does not have: that
    gateway, not A's east-west one, carries the calls."""
    a = audit_fleet(audit, cluster_a(), cluster_b(NETWORK_B + network_a("address: 47.98.30.3")))
    assert codes(a, CHECK) == [("NOT_APPLICABLE", "AA1841")]
    assert codes(a, NETWORK_CHECK) == [("NOT_APPLICABLE", "AA1941")]


def test_the_other_primarys_mesh_networks_unreadable_is_no_vm_gateway(audit):
    """B's meshNetworks could not be read: whether they route through A's gateway is not shown (as before)."""
    objects = cluster_b(NETWORK_B)
    objects[2]["data"]["meshNetworks"] = "networks: [not, a, map"
    a = audit_fleet(audit, cluster_a(), objects)
    assert codes(a, CHECK) == [("FAIL", "AA1811")]
    assert codes(a, NETWORK_CHECK)[0] == ("UNKNOWN", "AA1931")


def test_the_other_clusters_deployments_unread_is_no_vm_gateway(audit):
    """B's istiods could not be read: its meshNetworks are not known."""
    from auditor import kinds as K

    a = audit({"cluster-a": cluster_a(), "cluster-b": cluster_b(NETWORK_B + network_a(BY_SERVICE))}, "uninstall",
              config=ONLY, asm=asm_side(), unreadable={"cluster-b": {K.DEPLOYMENT: "forbidden"}})
    assert codes(a, CHECK) == [("FAIL", "AA1811")]


def test_every_gate_judges_the_held_gateway_as_cross_network(audit):
    """check_cluster runs once for both gates (same_in_every_gate); each gate's conclude reads the one record."""
    a = audit_fleet(audit, cluster_a(), cluster_b(NETWORK_B + network_a(BY_SERVICE)), phase="all")
    assert codes(a, CHECK) == [("FAIL", "AA1811")] * 2
    assert [c for c in codes(a, NETWORK_CHECK) if c[1] == "AA1931"] == [("UNKNOWN", "AA1931")] * 2
    row = next(r for r in a.rows(CHECK) if r["cluster"] == "cluster-a")
    assert row["evidence"]["vm_gateway_unproven"]  # why, for the operator
