"""The checks' cost at scale, counted in work (calls, value-by-value reads), never timed (issue 18).

A check whose findings do not depend on the gate is judged once per cluster and audit, and each gate gets its own
copies (same findings, stamped per gate); derived views several checks ask for are computed once per cluster; the
pod frame is read through `tolist()`, never value by value (pandas boxes each value of a string array: ~1 µs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from auditor import judge, mesh
from auditor import kinds as K
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.config import Config
from auditor.engine import run_audit
from auditor.gateways import eastwest_signals
from auditor.inventory import ClusterInventory, summarise_pod, workload_rows, workload_sizes
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.sources.snapshot import open_snapshot
from checks.restart_risk import RestartRisk
from tests import factory
from tests.factory import deployment, istiod, mesh_configmap, namespace, pod, service, workload_pods

GATES_OF_RESTART_RISK = ["assessment", "migrating", "uninstall"]


def _cluster_objects() -> list[dict[str, Any]]:
    cart = deployment("cart", replicas=1)
    web = deployment("web", replicas=3)
    return [namespace("shop", {"istio-injection": "enabled"}), istiod(), mesh_configmap(), *cart, *web,
            *workload_pods(cart, 1), *workload_pods(web, 3, prestop=True), pod("bare", proxy="istio")]


def test_a_gate_independent_check_scores_once_for_its_three_gates(audit, monkeypatch):
    calls: list[str] = []
    aggregate = RestartRisk._aggregate

    def counting(cluster: ClusterInventory, pods: pd.DataFrame, rows: np.ndarray) -> list[Any]:
        calls.append(cluster.name)
        return aggregate(cluster, pods, rows)

    monkeypatch.setattr(RestartRisk, "_aggregate", staticmethod(counting))
    result = audit({"c1": _cluster_objects()}, "all")
    assert calls == ["c1"]  # once per cluster, not once per gate (3 before)
    rows = result.rows("restart-risk")
    by_gate = {gate: [(r["status"], r["code"], r["kind"], r["namespace"], r["name"], r["message"], r["severity"],
                       r["remediation"], r["evidence"]) for r in rows if r["gate"] == gate]
               for gate in GATES_OF_RESTART_RISK}
    assert sorted({r["gate"] for r in rows}) == sorted(GATES_OF_RESTART_RISK)
    # Every gate has the same findings, stamped with its own gate.
    assert by_gate["assessment"] == by_gate["migrating"] == by_gate["uninstall"]
    assert [(s, n) for s, _, _, _, n, *_ in by_gate["assessment"]] == [
        ("WARN", "cart"), ("WARN", "bare"), ("WARN", "")]


def test_each_gate_gets_its_own_finding_objects_sharing_the_read_only_evidence(audit, monkeypatch):
    """Own Finding objects (each with its gate); the evidence and params dicts are shared: nothing changes them in
    place after the check, and a fleet keeps every cluster's findings (fail on the old code: 9 evidence dicts, one
    per gate and workload)."""
    judged: list[Finding] = []
    finish = judge._Judging.finish

    def keeping(self: judge._Judging, stamp: Any) -> list[Finding]:
        out = finish(self, stamp)
        if self.check.id == "restart-risk":
            judged.extend(out)
        return out

    monkeypatch.setattr(judge._Judging, "finish", keeping)
    audit({"c1": _cluster_objects()}, "all")
    assert len(judged) == 9
    assert len({id(f) for f in judged}) == 9
    assert len({id(f.evidence) for f in judged}) == 3  # one per workload, whatever the gates
    assert len({id(f.params) for f in judged}) == 3
    assert [f.gate for f in judged] == ["assessment"] * 3 + ["migrating"] * 3 + ["uninstall"] * 3
    by_gate = [[(f.name, f.evidence, f.params, f.severity, f.default_severity, f.code, f.remediation)
                for f in judged[i:i + 3]] for i in (0, 3, 6)]
    assert by_gate[0] == by_gate[1] == by_gate[2]


def test_a_finding_judged_once_is_stamped_once_whatever_the_gates(audit, monkeypatch):
    """Outcome, severity override and shell-safe command do not depend on the gate: a gate-independent check's
    findings are stamped once, each further gate gets a copy with its gate (fail on the old code: 9 stamps, and a
    shell check of each name per gate)."""
    stamped: list[tuple[str, str]] = []
    stamp = judge._stamp

    def counting(f: Finding, check: Any, gate: str, *rest: Any) -> Finding:
        if check.id == "restart-risk":
            stamped.append((gate, f.name))
        return stamp(f, check, gate, *rest)

    monkeypatch.setattr(judge, "_stamp", counting)
    rows = audit({"c1": _cluster_objects()}, "all",
                 config={"checks": {"severity": {"restart-risk": "major"}}}).rows("restart-risk")
    assert stamped == [("assessment", "cart"), ("assessment", "bare"), ("assessment", "")]
    assert [(r["gate"], r["name"], r["severity"], r["default_severity"]) for r in rows] == [
        (gate, name, "major", default) for gate in GATES_OF_RESTART_RISK
        for name, default in (("cart", "minor"), ("bare", "minor"), ("", "info"))]


def test_a_crashing_gate_independent_check_is_unknown_in_every_gate(audit, monkeypatch):
    def crash(cluster: ClusterInventory, pods: pd.DataFrame, rows: np.ndarray) -> list[Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(RestartRisk, "_aggregate", staticmethod(crash))
    rows = audit({"c1": _cluster_objects()}, "all").rows("restart-risk")
    assert [(r["gate"], r["status"], r["code"]) for r in rows] == [
        ("assessment", "UNKNOWN", "AA0002"), ("migrating", "UNKNOWN", "AA0002"), ("uninstall", "UNKNOWN", "AA0002")]


def _eastwest_cluster() -> ClusterInventory:
    east = service("istio-eastwestgateway", "istio-system", labels={"topology.istio.io/network": "net1"},
                   ports=[{"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}])
    return ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [], K.SERVICE.key: [east]})


def test_eastwest_signals_read_the_services_once_per_cluster(monkeypatch):
    cluster = _eastwest_cluster()
    reads: list[str] = []
    objects = cluster.objects

    def counting(kind: K.Kind) -> list[dict[str, Any]]:
        reads.append(kind.kind)
        return objects(kind)

    monkeypatch.setattr(cluster, "objects", counting)
    rules = mesh.ProxyRules()
    first = eastwest_signals(cluster, rules)
    first.append("changed by a caller")
    second = eastwest_signals(cluster, rules)
    assert second == ["Service istio-system/istio-eastwestgateway (network net1, port 15443)"]
    assert reads.count("Service") == 1  # once per cluster (four checks in two gates asked: 7 scans before)


def test_eastwest_signals_of_a_cluster_without_services_stay_unreadable():
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: []}, errors={K.SERVICE.key: "forbidden"})
    for _ in range(2):  # a failure is not memoised as "no signal"
        with pytest.raises(Exception, match="forbidden"):
            eastwest_signals(cluster, mesh.ProxyRules())


def _pod_cluster() -> ClusterInventory:
    rules = mesh.ProxyRules()
    web, api = deployment("web"), deployment("api")
    pods = [*workload_pods(web, 3), *workload_pods(api, 2, proxy="asm"), pod("bare", proxy=None),
            pod("solo", proxy="istio")]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.POD.key: [], K.REPLICASET.key: [web[1], api[1]],
                                                           K.DEPLOYMENT.key: [web[0], api[0]], K.SERVICE.key: []})
    cluster.pod_rows = [summarise_pod(p, rules) for p in pods]
    return cluster


def test_the_pod_frame_is_never_read_value_by_value(monkeypatch):
    cluster = _pod_cluster()
    boxed: list[str] = []
    iterate = pd.api.extensions.ExtensionArray.__iter__

    def counting(self: Any) -> Any:
        boxed.append(type(self).__name__)
        return iterate(self)

    monkeypatch.setattr(pd.api.extensions.ExtensionArray, "__iter__", counting)
    frame = cluster.pods()
    groups = list(workload_rows(frame, ("name", "proxy", "native")))
    sizes = workload_sizes(frame)
    assert boxed == []  # before: 3 string columns iterated value by value to classify the proxies
    assert [(key, group["proxy"]) for key, group in groups] == [
        (("shop", "Deployment", "api"), ["asm", "asm"]),
        (("shop", "Deployment", "web"), ["istio", "istio", "istio"]),
        (("shop", "Pod", "bare"), ["none"]),
        (("shop", "Pod", "solo"), ["istio"])]
    assert sizes == {("shop", "Deployment", "api"): 2, ("shop", "Deployment", "web"): 3, ("shop", "Pod", "bare"): 1,
                     ("shop", "Pod", "solo"): 1}


def test_pods_per_workload_are_looked_up_in_a_dict_not_a_multiindex(audit, monkeypatch):
    searches: list[Any] = []
    get_loc = pd.MultiIndex.get_loc

    def counting(self: pd.MultiIndex, key: Any) -> Any:
        searches.append(key)
        return get_loc(self, key)

    monkeypatch.setattr(pd.MultiIndex, "get_loc", counting)
    legacy, api = deployment("legacy"), deployment("api")
    objects = [*_cluster_objects(), *legacy, *api, *workload_pods(legacy, 2, xds_agent=None),
               *workload_pods(api, 1, proxy="asm"), *workload_pods(api, 1, first=1, proxy="asm", ready=False)]
    result = audit({"c1": objects}, "all")
    assert searches == []  # before: one MultiIndex search per workload in pods-xds-agent and asm-proxies-ready
    assert [(r["status"], r["name"], r["message"]) for r in result.rows("pods-xds-agent")] == [
        ("FAIL", "legacy", '2/2 pod(s) lack PROXY_CONFIG_XDS_AGENT="true" (seen: <absent> x2)'),
        ("PASS", "", "3 workload(s) on Istio's proxy carry PROXY_CONFIG_XDS_AGENT=\"true\"")]
    assert [(r["status"], r["name"], r["message"]) for r in result.rows("asm-proxies-ready")] == [
        ("FAIL", "api", "1 not ready of 2 ASM-proxied pod(s)")]


class _OnceJudgedPlugin(ClusterCheck):
    """A plugin judged once for its two gates that returns an outcome it never declared, already carrying what the
    engine stamps (check id, default severity): the engine's guard must still judge it, in every gate."""

    id = "zz-once"
    title = "A third-party check judged once"
    gates = (Gate.ASSESSMENT, Gate.MIGRATING)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    outcomes: ClassVar[tuple[Outcome, ...]] = (Outcome("ZZO001", Status.FAIL, "bad"),)

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Any:
        return [Finding(Status.PASS, cluster.name, "a PASS it never declared", check_id="zz-once",
                        default_severity=Severity.INFO, severity=Severity.INFO),
                Finding(Status.FAIL, cluster.name, "a code it never declared", code="ZZO999", check_id="zz-once",
                        default_severity=Severity.MINOR)]


def test_an_undeclared_outcome_judged_once_is_untrusted_in_every_gate(tmp_path):
    snapshot = tmp_path / "snap"
    factory.write_snapshot(snapshot, {"c1": [namespace("istio-system")]}, versions={"c1": factory.version_info()},
                           manifest={"clusters": [{"name": "c1", "role": "data-plane", "dir": "c1",
                                                   "complete": True}]})
    result = run_audit(open_snapshot(snapshot), "all", Config(), extra_checks=[_OnceJudgedPlugin])
    frame = result.findings
    rows = frame[frame["check_id"].astype(str) == "zz-once"][["gate", "status", "code", "message"]]
    assert rows.astype(str).values.tolist() == [
        ["assessment", "UNKNOWN", "AA0004", "zz-once reported an undeclared PASS outcome: a PASS it never declared"],
        ["assessment", "FAIL", "AA0004", "zz-once reported undeclared code ZZO999: a code it never declared"],
        ["migrating", "UNKNOWN", "AA0004", "zz-once reported an undeclared PASS outcome: a PASS it never declared"],
        ["migrating", "FAIL", "AA0004", "zz-once reported undeclared code ZZO999: a code it never declared"]]
    assert result.gate_verdicts["assessment"] == result.gate_verdicts["migrating"] == "NO-GO"


class _DeclaresPass(ClusterCheck):
    id = "zz-declares-pass"
    title = "Declares its PASS"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    outcomes: ClassVar[tuple[Outcome, ...]] = (Outcome("ZZS001", Status.PASS, "fine"),)
    shared: ClassVar[Finding]  # set by the test: one object both checks return

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Any:
        return [self.shared]


class _DeclaresFailOnly(_DeclaresPass):
    id = "zz-declares-fail"
    title = "Declares a FAIL only"
    outcomes: ClassVar[tuple[Outcome, ...]] = (Outcome("ZZT001", Status.FAIL, "bad"),)


def test_one_finding_object_returned_by_two_checks_is_judged_for_each(tmp_path, monkeypatch):
    """A stamped finding is copied, not stamped again, only for the check it was stamped for: the same object from
    another check meets that check's undeclared-outcome guard (a PASS it does not declare is UNKNOWN there), and the
    first check's finding keeps its own outcome (the old code stamped the one object twice: both rows the second's)."""
    monkeypatch.setattr(_DeclaresPass, "shared", Finding(Status.PASS, "c1", "one object from two checks"),
                        raising=False)
    snapshot = tmp_path / "snap"
    factory.write_snapshot(snapshot, {"c1": [namespace("istio-system")]}, versions={"c1": factory.version_info()},
                           manifest={"clusters": [{"name": "c1", "role": "data-plane", "dir": "c1",
                                                   "complete": True}]})
    result = run_audit(open_snapshot(snapshot), "assessment", Config(),
                       extra_checks=[_DeclaresPass, _DeclaresFailOnly])
    frame = result.findings
    rows = frame[frame["check_id"].astype(str).str.startswith("zz-declares")][["check_id", "status", "code"]]
    assert rows.astype(str).values.tolist() == [["zz-declares-pass", "PASS", "ZZS001"],
                                                ["zz-declares-fail", "UNKNOWN", "AA0004"]]


# The checks run in two gates or more whose findings do not depend on the gate: judged once per cluster and audit
# (same_in_every_gate). The others, and why: manual-injection's outcome is the gate's (plan it / xds agent / still
# bakes Istio in); migration-resource (mesh-wide) compares the state with the one the gate needs and names the gate;
# asm-version is mesh-wide (no check_cluster; its second gate costs ~0.1 ms: what it reads is kept per cluster);
# gitops-drift judges the injection changes once for assessment and migrating, and at uninstall what the purge
# deletes instead.
JUDGED_ONCE = ["cni-compatibility", "cross-cluster-gateway-first", "envoyfilter-compatibility",
               "gitops-reinstall", "istio-sidecars-remaining", "istio-version", "kubernetes-version",
               "mesh-config-parity", "network-consistency", "restart-risk", "stuck-sidecar-jobs"]
JUDGED_PER_GATE = ["gitops-drift", "manual-injection"]


@pytest.mark.parametrize("data_planes", [["cluster-a", "cluster-b"], ["cluster-a"]],
                         ids=["fleet, cluster by cluster", "one cluster, gate by gate"])
def test_every_gate_independent_check_hands_each_gate_the_findings_it_judged_once(
        demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_planes: list[str]):
    """Judged once, a check gives every gate the same Finding objects (the engine then copies them per gate); judged
    per gate, new ones. Over the demo in phase all, whichever way the engine walks the clusters (fail on the old
    code: envoyfilter-compatibility judged per gate)."""
    snapshot = tmp_path / "demo"
    shutil.copytree(demo_dir, snapshot)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["clusters"] = [c for c in manifest["clusters"] if c["role"] == "asm" or c["name"] in data_planes]
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    judged: dict[str, dict[str, dict[str, list[int]]]] = {}  # check -> cluster -> gate -> ids of its findings
    cluster = judge._Judging.cluster

    def recording(self: judge._Judging, inventory: ClusterInventory) -> None:
        done = len(self.out)
        cluster(self, inventory)
        by_gate = judged.setdefault(self.check.id, {}).setdefault(inventory.name, {})
        by_gate[self.ctx.gate.value] = [id(f) for f in self.out[done:]]

    monkeypatch.setattr(judge._Judging, "cluster", recording)
    run_audit(open_snapshot(snapshot), "all", Config())
    multi_gate = {check: clusters for check, clusters in judged.items()
                  if len(next(iter(clusters.values()))) > 1 and any(ids for gates in clusters.values()
                                                                    for ids in gates.values())}
    assert all(sorted(clusters) == data_planes for clusters in multi_gate.values())
    once = sorted(check for check, clusters in multi_gate.items()
                  if all(len({tuple(ids) for ids in gates.values()}) == 1 for gates in clusters.values()))
    assert once == JUDGED_ONCE
    assert sorted(set(multi_gate) - set(once)) == JUDGED_PER_GATE
