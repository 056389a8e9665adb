"""Checks whose PASS or NOT_APPLICABLE rests on a kind they only `use`: with that kind unreadable (forbidden, a server
error, not collected in a hand-made snapshot) they say UNKNOWN naming it, never the PASS or N/A (fs14 sweep)."""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateway_shapes import IDS, PRESENT, TRAFFIC, cluster

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


def test_asm_gateways_present_is_unknown_not_na_when_the_pods_are_forbidden(audit):
    """The same bare `proxy router` pod: read, asm-gateways-present cannot tell what replaces it (UNKNOWN AA1731); with
    pods unreadable main said NOT_APPLICABLE AA1740 "no Istio ingress or egress gateway" (its `uses` lacked pods)."""
    from checks.gateways import AsmGatewaysPresent

    assert K.POD in AsmGatewaysPresent.uses  # read whichever other checks of the gate are enabled
    bare = f.pod("ingress-debug", "edge", proxy="istio", gateway=True, labels={"app": "ingress-debug"})
    asm = [f.migration_cr("Migrating")]
    read = audit({"cluster-a": cluster(bare)}, "uninstall", asm=asm, config=IDS)
    assert [(r["status"], r["code"]) for r in read.rows(PRESENT)] == [("UNKNOWN", "AA1731")]
    unread = audit({"cluster-a": cluster(bare)}, "uninstall", asm=asm, config=IDS,
                   unreadable={"cluster-a": {K.POD: FORBIDDEN_PODS}})
    [row] = unread.rows(PRESENT)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1733")
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


# ---------------------------------------------------------------- restart-risk
ASM_VERSION = {"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}}


def _restart_plan(audit, objects: list[dict], unreadable: dict | None = None, gate: str = "assessment"):
    run = audit({"c1": objects}, gate, unreadable={"c1": unreadable} if unreadable else None, config=ASM_VERSION)
    return run, {r["name"]: r for r in run.rows("restart-risk")}


def test_restart_risk_plan_is_unknown_not_pass_when_an_unread_kind_could_make_a_workload_risky(audit):
    """Each kind restart-risk only uses can add points that make a workload risky (score 2+, WARN): read, each scenario
    WARNs; unread, main said PASS AA1401 (a GO under --strict, where the WARN blocks)."""
    from auditor.findings import verdict_of

    # No preStop (+1) and no PodDisruptionBudget (+1): medium risk. PDBs unread: 1, and main passed the plan. Beside
    # it an Istio the assessment gate finds in order: GO on main under --strict, NO-GO with the PDBs read.
    plain = f.deployment("cart", replicas=3)
    no_pdb = [f.namespace("shop", labels={"istio-injection": "enabled"}), f.namespace("istio-system"), f.istiod(),
              f.mesh_configmap(), *plain, *f.workload_pods(plain, 3)]
    # The mesh config's defaultConfig.terminationDrainDuration (ProxyConfig, istio/istio pilot/pkg/model/
    # proxy_config_test.go@1.24.6) above the pods' 30s grace period: +3. ConfigMaps unread: the 5s default assumed.
    mesh = f.configmap("istio", "istio-system", {"mesh": "defaultConfig:\n  terminationDrainDuration: 45s\n"})
    safe = f.deployment("web", replicas=3)
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": f.meta("web", "shop"),
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
    long_drain = [mesh, *safe, *f.workload_pods(safe, 3, prestop=True), pdb]
    # strategy Recreate (+3): every pod stops before new ones start. Deployments unread: not seen.
    recreate = f.deployment("batchy", replicas=3)
    recreate[0]["spec"]["strategy"] = {"type": "Recreate"}
    pdb_batchy = {**pdb, "metadata": f.meta("batchy", "shop"),
                  "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "batchy"}}}}
    recreated = [*recreate, *f.workload_pods(recreate, 3, prestop=True), pdb_batchy]
    for objects, kind, name, risky in ((no_pdb, K.PDB, "cart", "AA1420"), (long_drain, K.CONFIGMAP, "web", "AA1420"),
                                       (recreated, K.DEPLOYMENT, "batchy", "AA1420")):
        run, read = _restart_plan(audit, objects)
        assert (read[name]["status"], read[name]["code"]) == ("WARN", risky), kind.kind
        if kind is K.PDB:
            assert verdict_of(run.result.findings, strict=True) == "NO-GO"
        run, rows = _restart_plan(audit, objects, {kind: "403 Forbidden"})
        assert name not in rows, kind.kind  # not scored as risky: what made it so was not read
        assert (rows[""]["status"], rows[""]["code"]) == ("UNKNOWN", "AA1430"), kind.kind
        assert kind.kind in rows[""]["message"] and "403 Forbidden" in rows[""]["message"]
        if kind is K.PDB:  # no other assessment check reads PDBs: main's GO under --strict
            assert verdict_of(run.result.findings, strict=True) == "INCOMPLETE"


def test_restart_risk_plan_passes_with_a_kind_unread_that_cannot_make_any_workload_risky(audit):
    """Scored 0 (preStop, 3 replicas): an unread PodDisruptionBudget adds at most 1, the plan's PASS holds (as
    test_restart_risk.py's test_unreadable_pdbs_are_said_not_guessed has it)."""
    dep = f.deployment("cart", replicas=3)
    _, rows = _restart_plan(audit, [*dep, *f.workload_pods(dep, 3, prestop=True)], {K.PDB: "403 Forbidden"})
    assert (rows[""]["status"], rows[""]["code"]) == ("PASS", "AA1401")
