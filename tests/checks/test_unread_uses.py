"""Checks whose PASS or NOT_APPLICABLE rests on a kind they only `use`: with that kind unreadable (forbidden, a server
error, not collected in a hand-made snapshot) they say UNKNOWN naming it, never the PASS or N/A (fs14 sweep)."""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateway_shapes import IDS, TRAFFIC, cluster

FORBIDDEN_PODS = "forbidden: pods is forbidden: User \"audit\" cannot list resource \"pods\" in API group \"\""


def test_gateway_traffic_is_unknown_not_na_when_the_pods_are_forbidden(audit):
    """A bare pod running `proxy router` (the shape of test_router_pods_without_a_gateway_workload_are_reported) is an
    Istio gateway only its pod tells of: with pods unreadable, main said NOT_APPLICABLE AA1540 "no Istio gateway"."""
    bare = f.pod("ingress-debug", "edge", proxy="istio", gateway=True, labels={"app": "ingress-debug"})
    asm = [f.migration_cr("Migrating")]
    read = audit({"cluster-a": cluster(bare)}, "uninstall", asm=asm, config=IDS)
    assert [(r["status"], r["code"]) for r in read.rows(TRAFFIC)] == [("UNKNOWN", "AA1531")]
    unread = audit({"cluster-a": cluster(bare)}, "uninstall", asm=asm, config=IDS,
                   unreadable={"cluster-a": {K.POD: FORBIDDEN_PODS}})
    [row] = unread.rows(TRAFFIC)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1551")
    assert "pods" in row["message"] and "forbidden" in row["message"]
