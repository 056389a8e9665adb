"""cross-cluster-gateway-first: ASM's cross-network gateway deployed in the cluster but serving nothing (red19c).

With an east-west gateway in use, workloads on ASM's proxy reach the other clusters through ASM's cross-network
gateway (IstioGateway gatewayType cross-network, Deployment istio-<name> in istio-system). Main passed AA1801 / AA1802
on the IstioGateway's existence and creation time alone, also when its Deployment in the cluster had no pod available
(unschedulable, crash-looping, scaled to 0): a GO to Migrating, and to the uninstall that removes Istio's east-west
gateway, with no cross-cluster path for the moved workloads. asm-gateways-present judges ingress and egress
replacements the same way (AA1713, tests/checks/test_asm_gateway_serving.py); the Deployment's status shapes are
those of that test (kubernetes/api apps/v1 DeploymentStatus: counts of 0 omitted; condition Available=False reason
MinimumReplicasUnavailable, kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go).
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_asm_gateway_serving import half_ready, pods_not_ready, scaled_to_zero
from tests.checks.test_gateways import GW_TIME, IDS, asm_side, eastwest, moved_pods

CHECK = "cross-cluster-gateway-first"
ONLY = {**IDS, **f.only_checks(CHECK)}
MOVED = "2026-11-14T00:00:00Z"  # after GW_TIME: the order the procedure asks for


def crossnet(shape=None) -> dict:
    """ASM's cross-network gateway as its IstioGateway controller deploys it in the cluster (tests/factory.py)."""
    dep = f.gateway_deployment("istio-asm-cross-network-m1", asm=True, gateway_type="cross-network",
                               labels={"topology.istio.io/network": "network-1"})
    if shape is not None:
        shape(dep)
    return dep


CR = f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)


@pytest.mark.parametrize("gate", ["migrating", "uninstall"])
@pytest.mark.parametrize("shape", [pods_not_ready, scaled_to_zero])
def test_a_cross_network_gateway_with_no_pod_available_fails(audit, gate, shape):
    """Main: PASS AA1801 (created before the first ASM-proxied pod)."""
    a = audit({"cluster-a": [*eastwest(), crossnet(shape), *moved_pods(MOVED)]}, gate, config=ONLY,
              asm=asm_side(CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1812", "blocker")
    assert row["evidence"]["cross_network_pods"]["istio-system/istio-asm-cross-network-m1"]["available"] == 0
    assert "describe deployment/istio-asm-cross-network-m1" in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_before_any_move_too(audit):
    """No workload on ASM's proxy yet: main PASS AA1802 ("exists"); the first moved workload would have no path."""
    a = audit({"cluster-a": [*eastwest(), crossnet(pods_not_ready)]}, "migrating", config=ONLY, asm=asm_side(CR))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("FAIL", "AA1812")]


@pytest.mark.parametrize("shape", [None, half_ready])
def test_a_cross_network_gateway_with_a_pod_available_passes(audit, shape):
    a = audit({"cluster-a": [*eastwest(), crossnet(shape), *moved_pods(MOVED)]}, "uninstall", config=ONLY,
              asm=asm_side(CR))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA1801")]


def test_declared_for_the_cluster_without_its_deployment_fails(audit):
    """The IstioGateway naming the cluster, no istio-<name> Deployment there: it serves nothing (red22g: was PASS
    AA1801; tests/checks/test_crossnet_reachable_22g.py)."""
    a = audit({"cluster-a": [*eastwest(), *moved_pods(MOVED)]}, "uninstall", config=ONLY, asm=asm_side(CR))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("FAIL", "AA1814")]


def test_pod_counts_the_status_does_not_give_are_unknown_not_0_of_0(audit):
    """A DaemonSet whose controller wrote no status yet (kubernetes/api apps/v1 DaemonSetStatus: desiredNumberScheduled
    has no omitempty, so only an unwritten status lacks it; auditor/rollouts.py reads it as no count): main FAILed
    AA1812 "0 of 0 pod(s) available"; how many pods serve cannot be told: UNKNOWN AA1833, not a NO-GO."""
    def unwritten_daemonset(dep):
        dep["kind"] = "DaemonSet"
        dep["spec"].pop("replicas", None)
        dep["status"] = {}

    a = audit({"cluster-a": [*eastwest(), crossnet(unwritten_daemonset), *moved_pods(MOVED)]}, "uninstall",
              config=ONLY, asm=asm_side(CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1833")
    assert "describe daemonset/istio-asm-cross-network-m1" in row["remediation"]
    assert a.result.verdict == "INCOMPLETE"
