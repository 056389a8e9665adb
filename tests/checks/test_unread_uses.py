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


def test_envoyfilter_with_proxy_version_is_unknown_not_pass_when_the_pods_are_forbidden(audit):
    """The filter matches ASM's instance (1.24.6) but not the older ASM proxy pods still run (the shape of
    test_envoyfilter.py's test_asm_proxies_seen_in_the_data_plane_count_too: FAIL AA2810 when read). With pods
    unreadable those proxies cannot be seen: main said PASS AA2801."""
    from tests.checks.test_envoyfilter import CHECK, WITH_ASM, hcm_tweaks

    old_asm = f.pod("cart-1", proxy="asm", image="registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:"
                    "v1.22.6.54-g0a1b2c3-aliyun")
    objects = [hcm_tweaks("^1\\.24.*"), old_asm]
    [read] = audit({"c1": objects}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (read["status"], read["code"]) == ("FAIL", "AA2810")
    [row] = audit({"c1": objects}, "migrating", config=WITH_ASM,
                  unreadable={"c1": {K.POD: FORBIDDEN_PODS}}).rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2833", "hcm-tweaks")
    assert "c1" in row["message"] and "forbidden" in row["message"]
    # A filter without proxyVersion applies to every proxy: the pods change nothing, it still passes.
    [plain] = audit({"c1": [hcm_tweaks(None), old_asm]}, "migrating", config=WITH_ASM,
                    unreadable={"c1": {K.POD: FORBIDDEN_PODS}}).rows(CHECK)
    assert (plain["status"], plain["code"]) == ("PASS", "AA2801")
