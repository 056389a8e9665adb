"""The one per-cluster idiom (ClusterCheck): a cluster whose judgement crashes is UNKNOWN for it alone."""

from __future__ import annotations

from tests import factory as f
from tests.checks.test_network import istio_system

CHECK = "network-consistency"


def test_a_crash_in_cluster_2_of_3_keeps_the_findings_of_clusters_1_and_3(audit):
    # The injector's values name `global` as a string: reading global.network crashes the judgement here only.
    odd_injector = f.configmap("istio-sidecar-injector", "istio-system", {"values": '{"global": "not-a-map"}'})
    a = audit({"cluster-1": [istio_system("network-1")],
               "cluster-2": [istio_system("network-2"), odd_injector],
               "cluster-3": [istio_system("network-3")]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-1": "network-1", "cluster-2": "network-2",
                                           "cluster-3": "network-9"}}})
    rows = sorted((r["cluster"], r["status"], r["code"]) for r in a.rows(CHECK))
    assert rows == [("cluster-1", "PASS", "AA1901"), ("cluster-2", "UNKNOWN", "AA0002"),
                    ("cluster-3", "FAIL", "AA1910")]
    assert a.result.verdict.value == "NO-GO"

