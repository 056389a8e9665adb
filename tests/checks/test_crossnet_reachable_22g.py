"""cross-cluster-gateway-first: ASM's cross-network gateway declared for the cluster but not deployed there, or deployed
with no address other networks can reach (red22g).

The seed: with an east-west gateway, deploy ASM's cross-cluster gateway before the first workload moves to ASM's proxy.
Main passed AA1801 on the IstioGateway's clusterIds and creation time alone:
- when ASM's controller had put no istio-<name> Deployment in the cluster (not created yet, or its creation failed):
  it serves nothing there (asm-gateways-present says so of ingress and egress: AA1712);
- when the Deployment serves but its LoadBalancer Service has no address yet (status.loadBalancer `{}`: the CLB not
  created, quota, a bad annotation): istiod keeps a network gateway only with an address (extractGatewaysInner loops
  over svc.Attributes.ClusterExternalAddresses, which ConvertService fills from status.loadBalancer.ingress[].ip /
  hostname and spec.externalIPs: istio/istio@1.22.3 pilot/pkg/serviceregistry/kube/controller/network.go,
  pilot/pkg/serviceregistry/kube/conversion.go), so no other network reaches this one through it; unless ASM is given
  an address of its own for the cluster (DescribeMeshMultiClusterNetwork `CustomGatewayAddress`, "ip:port": ASM's
  OpenAPI reference, api-servicemesh-2020-01-11-describemeshmulticlusternetwork).
Shapes: the IstioGateway and the Deployment its controller writes (tests/factory.py, as test_crossnet_serving.py); the
Service as the API server writes it before the cloud controller set an address (status.loadBalancer: {}).
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_gateways import GW_TIME, IDS, asm_side, eastwest, moved_pods
from tests.checks.test_network import answer

CHECK = "cross-cluster-gateway-first"
ONLY = {**IDS, **f.only_checks(CHECK)}
MOVED = "2026-11-14T00:00:00Z"  # after GW_TIME: the order the procedure asks for
NAME = "istio-asm-cross-network-m1"
CR = f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)


def crossnet(lb: dict | None = None, *, service_type: str = "LoadBalancer", external_ips: list[str] | None = None
             ) -> list[dict]:
    """ASM's cross-network gateway in the cluster: its Deployment (serving) and its Service on 15443."""
    dep = f.gateway_deployment(NAME, asm=True, gateway_type="cross-network",
                               labels={"topology.istio.io/network": "network-1"})
    svc = f.gateway_service(NAME, ports=[15021, 15443], type_=service_type,
                            labels={"app": NAME, "asm.alibabacloud.com/managed-by-asm": "true"})
    if external_ips:
        svc["spec"]["externalIPs"] = external_ips
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "47.98.1.10"}]} if lb is None else lb}
    return [dep, svc]


def custom_address(address: str) -> dict:
    saved = answer(c_a=("network-1", True))
    saved["DescribeMeshMultiClusterNetwork"]["MultiClusterNetworks"]["c-a"]["CustomGatewayAddress"] = address
    return saved


def codes(a) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(CHECK)]


@pytest.mark.parametrize("gate", ["migrating", "uninstall"])
def test_declared_for_the_cluster_but_not_deployed_fails(audit, gate):
    """Main: PASS AA1801, GO with moved workloads and no cross-network gateway running anywhere in the cluster."""
    a = audit({"cluster-a": [*eastwest(), *moved_pods(MOVED)]}, gate, config=ONLY, asm=asm_side(CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1814", "blocker")
    assert row["evidence"]["not_deployed"] == ["istio-system/istio-asm-cross-network-m1"]
    assert a.result.verdict == "NO-GO"


def test_not_deployed_before_any_move_warns(audit):
    """Nothing moved yet: as MISSING (AA1820), a WARN before the Migrating phase in which the seed deploys it (main:
    PASS AA1802, "exists")."""
    a = audit({"cluster-a": [*eastwest()]}, "migrating", config=ONLY, asm=asm_side(CR))
    assert codes(a) == [("WARN", "AA1821")]


def test_another_deployment_of_that_name_is_not_taken_for_none(audit):
    """A Deployment istio-<name> there that the gateway scan does not take for ASM's cross-network gateway: deployed
    all the same (judged as before), not AA1814."""
    dep = f.deployment(NAME, "istio-system")
    a = audit({"cluster-a": [*eastwest(), *dep, *moved_pods(MOVED)]}, "uninstall", config=ONLY, asm=asm_side(CR))
    assert codes(a) == [("PASS", "AA1801")]


def test_load_balancer_without_address_fails(audit):
    """Main: PASS AA1801. ASM's answer gives the cluster no address of its own (CustomGatewayAddress "")."""
    a = audit({"cluster-a": [*eastwest(), *crossnet({}), *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR), asm_openapi=answer(c_a=("network-1", True)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1815", "blocker")
    assert "istio-system/istio-asm-cross-network-m1" in row["evidence"]["no_address"]
    assert a.result.verdict == "NO-GO"


def test_load_balancer_without_address_and_no_network_answer_is_unknown(audit):
    """Whether ASM was given an address of its own for the cluster (CustomGatewayAddress) is not known: UNKNOWN."""
    a = audit({"cluster-a": [*eastwest(), *crossnet({}), *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR))
    assert codes(a) == [("UNKNOWN", "AA1834")]
    assert a.result.verdict == "INCOMPLETE"


@pytest.mark.parametrize("shape", [
    {"lb": None},                                                     # the CLB's address written
    {"lb": {"ingress": [{"hostname": "lb.example.com"}]}},
    {"lb": {}, "external_ips": ["10.0.0.9"]},                         # spec.externalIPs: istiod takes those too
    {"lb": {}, "service_type": "NodePort"},                           # not a load balancer: not judged here
])
def test_an_address_or_no_load_balancer_passes(audit, shape):
    a = audit({"cluster-a": [*eastwest(), *crossnet(**shape), *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR), asm_openapi=answer(c_a=("network-1", True)))
    assert codes(a) == [("PASS", "AA1801")]


def test_custom_gateway_address_stands_in_for_the_load_balancer(audit):
    a = audit({"cluster-a": [*eastwest(), *crossnet({}), *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR), asm_openapi=custom_address("47.98.1.10:15443"))
    assert codes(a) == [("PASS", "AA1801")]


def test_a_status_never_written_is_not_read_as_pending(audit):
    """A hand-made snapshot whose Service has no status at all: not read, so not judged (as before)."""
    objs = crossnet({})
    objs[1].pop("status")
    a = audit({"cluster-a": [*eastwest(), *objs, *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR), asm_openapi=answer(c_a=("network-1", True)))
    assert codes(a) == [("PASS", "AA1801")]
