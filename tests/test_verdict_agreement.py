"""Every verdict a reader or a pipeline sees agrees with what blocks (red20v).

Beside the run's verdict, readers read one verdict per cluster (findings.json `fleet` and `cluster_verdicts`, the
terminal's and the reports' "per cluster"), pipelines the gauge asm_audit_verdict{cluster,gate} (and the history,
the chat notification), CI systems one JUnit testcase per check and cluster. On main, a finding of no data plane (the
ASM control plane's, the gate selection's AA0010/AA0011, the evidence's age AA0012) made the run INCOMPLETE or NO-GO
while the data plane's row and gauge said GO (0): a dashboard of the gauge, or a pipeline reading cluster_verdicts,
went on. The rule now (auditor/fleet.py): a data plane's verdict at a gate is the worse of its own findings' and the
mesh-wide findings' of that gate (one ASMMigrateFromIstio, one step for every cluster); a gate with none of its own
findings proves nothing about it (INCOMPLETE). JUnit: with --strict a WARN blocks, so it is a <failure> (main:
passed while the run was NO-GO); a gate that is not GO without any red testcase (a gate none of whose checks said
anything: --phase all with its checks disabled) gets a `verdict [gate]` testcase in error or failed (main: an empty,
green suite while the run was INCOMPLETE, exit 3).

Snapshots as tests/test_gate_selection.py and tests/test_evidence_age.py build them (the migration resource as
ASM's type declares it: aliyun/alibabacloud-servicemesh-api@766a6077f30d:alibabacloudservicemesh/v1/
asmmigratefromistio_types.go, via tests/factory.migration_cr).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import run_audit
from auditor.metrics import registry_of
from auditor.notify import summary_lines
from auditor.render import junit
from auditor.sources.snapshot import open_snapshot
from auditor.tracking import record_of
from tests import factory as f
from tests.test_evidence_age import NOW, ago, stamped_snapshot
from tests.test_gate_selection import istio_cluster, snapshot

ASM_VERSION = {"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}}
ORDER = {"NO-GO": 0, "INCOMPLETE": 1, "GO": 2}
GAUGE = {"GO": 0.0, "NO-GO": 1.0, "INCOMPLETE": 3.0}


def _paused(root: Path) -> Path:
    """--phase auto, the migration resource in a state none of the migration's: AA0010 (cluster asm), UNKNOWN."""
    return snapshot(root, istio_cluster(), cr_state="Paused")


def _past(root: Path) -> Path:
    """--phase setup with the migration at Migrating: AA0011 (cluster mesh), blocker FAIL."""
    return snapshot(root, istio_cluster(asm_pods=2), cr_state="Migrating")


def _refused(root: Path) -> Path:
    """--phase setup, state Init with the controller's status.message set: migration-resource FAIL on asm."""
    snapshot(root, istio_cluster(), cr_state="Init")
    cr = f.migration_cr("Init", message="precheck failed: istio-system is labelled istio-injection=disabled")
    (root / "asm" / "objects.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [cr]}))
    return root


def _stale(root: Path) -> Path:
    """A snapshot three days old (snapshot.max_age 24h): AA0012 (cluster mesh), UNKNOWN, in every gate."""
    return stamped_snapshot(root, ago(days=3))


# (snapshot, phase, the run's verdict, the mesh-wide code that decides it); main said GO for cluster-a in each
CASES: dict[str, tuple[Callable[[Path], Path], str, str, str]] = {
    "AA0010 gate guessed": (_paused, "auto", "INCOMPLETE", "AA0010"),
    "AA0011 gate already past": (_past, "setup", "NO-GO", "AA0011"),
    "ASM control plane FAIL": (_refused, "setup", "NO-GO", "AA0712"),
    "AA0012 stale evidence": (_stale, "assessment", "INCOMPLETE", "AA0012"),
}


def _audit(case: str, root: Path, phase: str | None = None, **kw: Any) -> Any:
    build, default_phase, _, _ = CASES[case]
    config = {**ASM_VERSION} if case == "AA0012 stale evidence" else {**ASM_VERSION, "snapshot": {"max_age": None}}
    return run_audit(open_snapshot(build(root)), phase or default_phase, Config.model_validate(config), now=NOW, **kw)


def _gauge(result: Any) -> dict[tuple[str, str], float]:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    text = generate_latest(registry_of(record_of(result))).decode()
    return {(s.labels["cluster"], s.labels["gate"]): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "asm_audit_verdict"}


@pytest.mark.parametrize("case", list(CASES))
def test_a_mesh_wide_finding_decides_each_clusters_verdict_too(case: str, tmp_path: Path) -> None:
    _, _, verdict, code = CASES[case]
    result = _audit(case, tmp_path / "snap")
    assert result.verdict.value == verdict
    # The data plane's own findings are clean of it: the finding that decides is of no data plane.
    rows = result.findings
    deciding = rows[rows["code"].astype(str) == code]
    assert len(deciding) and not (deciding["cluster"].astype(str) == "cluster-a").any()
    gate = result.gates[0]
    # findings.json's fleet rows and cluster_verdicts (main: cluster-a GO)
    assert result.cluster_verdicts["cluster-a"] == verdict
    row = next(r for r in result.fleet if r["cluster"] == "cluster-a")
    assert (row["verdict"], row["gate_verdicts"], row["mesh_wide"]) == (verdict, {gate: verdict}, verdict)
    assert (row["blockers"], row["unknown"]) == (0, 0)  # its own counts stay its own
    # the gauge asm_audit_verdict{cluster="cluster-a"} (main: 0, GO), the history's and the notification's verdicts
    assert _gauge(result)[("cluster-a", gate)] == GAUGE[verdict]
    assert record_of(result).verdicts[("cluster-a", gate)] == verdict
    _, lines = summary_lines(record_of(result), None, False)
    assert f"cluster-a {verdict}" in next(line for line in lines if line.startswith("clusters: "))
    # the fleet verdict is the worst of the rows, which is the run's
    order = [ORDER[r["verdict"]] for r in result.fleet if r["verdict"]]
    assert min(order) == ORDER[verdict]
    # the report's clusters table says where the cluster's verdict comes from (its own counts are 0)
    from auditor.render.html import html_document

    assert re.search(r"<b>cluster-a</b>.*?mesh-wide findings: " + verdict + "<", html_document(result), re.S)


def test_every_gate_of_phase_all_per_cluster_includes_the_mesh_wide_findings(tmp_path: Path) -> None:
    """--phase all on a stale snapshot: AA0012 in each gate. Main: the assessment and setup gauges of cluster-a said
    GO while those gates were INCOMPLETE."""
    result = _audit("AA0012 stale evidence", tmp_path / "snap", "all")
    assert result.gate_verdicts["assessment"] == result.gate_verdicts["setup"] == "INCOMPLETE"
    gauge = _gauge(result)
    for gate, verdict in result.gate_verdicts.items():
        # one data plane: its verdict at each gate is the gate's
        assert gauge[("cluster-a", gate)] == GAUGE[verdict], gate
    row = next(r for r in result.fleet if r["cluster"] == "cluster-a")
    assert row["gate_verdicts"] == result.gate_verdicts


def test_the_cli_writes_the_same_cluster_verdicts_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """findings.json, the metrics file, summary.md and the exit code of one run agree about cluster-a."""
    root = _stale(tmp_path / "snap")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(ASM_VERSION))
    out, prom = tmp_path / "out", tmp_path / "asm_audit.prom"
    code = main(["run", "--snapshot", str(root), "--phase", "assessment", "--config", str(config), "--out", str(out),
                 "--format", "json,junit", "--metrics-file", str(prom), "--quiet"])
    capsys.readouterr()
    doc = json.loads((out / "findings.json").read_text())
    assert (code, doc["verdict"]) == (3, "INCOMPLETE")
    assert doc["cluster_verdicts"]["cluster-a"] == "INCOMPLETE"  # main: GO
    assert re.search(r'^asm_audit_verdict\{cluster="cluster-a",gate="assessment"\} 3\.0$', prom.read_text(), re.M)


# ---------------------------------------------------------------- JUnit
def _suites(result: Any) -> dict[str, dict[str, Any]]:
    root = ET.fromstring(junit.dumps(result))
    out = {}
    for suite in root.iter("testsuite"):
        cases = {c.get("name"): next((x.tag for x in c if x.tag in ("failure", "error", "skipped")), "passed")
                 for c in suite.iter("testcase")}
        counts = {k: int(suite.get(k)) for k in ("tests", "failures", "errors", "skipped")}
        assert counts["tests"] == len(cases)
        assert counts["failures"] == sum(v == "failure" for v in cases.values())
        assert counts["errors"] == sum(v == "error" for v in cases.values())
        out[suite.get("name").removeprefix("asm-audit ")] = {"cases": cases, **counts}
    return out


def _red(suite: dict[str, Any]) -> bool:
    return bool(suite["failures"] or suite["errors"])


def test_junit_with_strict_fails_the_warn_that_blocks(tmp_path: Path) -> None:
    """--strict: restart-risk's WARNs block (NO-GO, exit 1); main wrote every testcase green."""
    root = snapshot(tmp_path / "snap", istio_cluster())
    result = run_audit(open_snapshot(root), "assessment", Config.model_validate(
        {**ASM_VERSION, "snapshot": {"max_age": None}}), strict=True)
    assert result.verdict.value == "NO-GO"
    suite = _suites(result)["assessment"]
    assert suite["failures"] >= 1  # main: 0
    warned = [n for n in suite["cases"] if n.startswith("restart-risk [cluster-a]")]
    assert warned and all(suite["cases"][n] == "failure" for n in warned)
    # without --strict the same WARNs do not block: green, and the run is GO
    plain = run_audit(open_snapshot(root), "assessment", Config.model_validate(
        {**ASM_VERSION, "snapshot": {"max_age": None}}))
    assert plain.verdict.value == "GO" and not _red(_suites(plain)["assessment"])


def test_junit_a_gate_nothing_was_audited_in_is_not_green(tmp_path: Path) -> None:
    """--phase all with only kubernetes-version enabled (assessment, setup): the other gates have no finding at all
    and are INCOMPLETE (exit 3). Main wrote them as empty suites (0 tests): CI showed all green."""
    root = snapshot(tmp_path / "snap", istio_cluster(), cr_state="Init")
    result = run_audit(open_snapshot(root), "all", Config.model_validate(f.only_checks("kubernetes-version")))
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3
    suites = _suites(result)
    for gate, verdict in result.gate_verdicts.items():
        assert _red(suites[gate]) == (verdict != "GO"), gate
        if verdict == "INCOMPLETE":
            assert suites[gate]["cases"] == {f"verdict [{gate}]": "error"}
    # and the per-cluster verdicts say so too: nothing was judged of cluster-a there
    row = next(r for r in result.fleet if r["cluster"] == "cluster-a")
    assert row["gate_verdicts"]["migrating"] == "INCOMPLETE" and row["verdict"] == "INCOMPLETE"


@pytest.mark.parametrize("case", list(CASES))
def test_junit_is_never_all_green_unless_go(case: str, tmp_path: Path) -> None:
    result = _audit(case, tmp_path / "snap")
    for gate, suite in _suites(result).items():
        assert _red(suite) == (result.gate_verdicts[gate] != "GO"), gate


# ---------------------------------------------------------------- --phase all: each gate's verdict read on its own
@pytest.mark.parametrize("allow_unknown", [False, True])
def test_phase_all_with_an_unrecognised_state_says_no_gate_is_go(allow_unknown: bool, tmp_path: Path) -> None:
    """State "Paused" (none of the migration's): --phase assessment and --phase setup alone are INCOMPLETE (AA0010).
    Main, --phase all: assessment GO (its checks never read the resource) and, with --allow-unknown, setup GO too
    (migration-resource's AA0730 accepted), in gate_verdicts, the per-gate JUnit suites and the CAB pack."""
    root = _paused(tmp_path / "snap")
    config = Config.model_validate({**ASM_VERSION, "snapshot": {"max_age": None}})
    result = run_audit(open_snapshot(root), "all", config, allow_unknown=allow_unknown)
    for gate in result.gates:
        alone = run_audit(open_snapshot(root), gate, config, allow_unknown=allow_unknown)
        assert alone.verdict.value != "GO", gate
        assert result.gate_verdicts[gate] != "GO", gate  # main: assessment GO (and setup GO with --allow-unknown)
    assert [r.gate for r in result.findings.itertuples() if r.code == "AA0010"] == list(result.gates)


def test_the_cab_runbook_never_says_now_go_for_a_step_already_taken(tmp_path: Path) -> None:
    """--phase all at state Migrating (no AA0011 there by design): main's runbook said "Now (GO): join the
    cluster(s) to ASM" and "Now (GO): desiredState -> SetupIstioForMigrate" with the command switching it back."""
    from auditor.render.context import HTML_LIMITS, runbook

    root = _past(tmp_path / "snap")
    result = run_audit(open_snapshot(root), "all", Config.model_validate(
        {**ASM_VERSION, "snapshot": {"max_age": None}}))
    assert result.gate_verdicts["assessment"] == result.gate_verdicts["setup"] == "GO"  # their checks pass
    empty = result.findings.iloc[:0]
    steps = {s["title"]: s for s in runbook(result, empty, empty, HTML_LIMITS)}
    now = [t for t in steps if t.startswith("Now (GO):")]
    assert now == [], now  # main: assessment's and setup's steps
    for title, step in steps.items():
        if "SetupIstioForMigrate" in title or "Migrating" in title.split(":")[-1]:
            assert not any("desiredState" in c and "patch" in c for c in step["commands"]), title
    # The per-gate verdicts a reader sees say which GO is about a step already taken (summary.md, HTML/PDF).
    from auditor.render.html import html_document
    from auditor.render.markdown import document as markdown_document

    per_gate = next(line for line in markdown_document(result).splitlines() if line.startswith("**Per gate:**"))
    assert "assessment 🟢 GO (already past)" in per_gate and "setup 🟢 GO (already past)" in per_gate
    assert "uninstall 🔴 NO-GO," in per_gate  # the step ahead is not past
    assert "assessment: GO (already past)</span>" in html_document(result)
    # ... and so does findings.json, for a pipeline reading gate_verdicts (main: GO for both, nothing else said).
    from auditor.render.json_out import document as json_document

    past = json_document(result)["gates_past"]
    assert {"assessment", "setup"} <= set(past) and "uninstall" not in past and "finished" not in past


def test_strict_blockers_are_counted_by_the_gauge_and_the_notification(tmp_path: Path) -> None:
    """--strict: restart-risk's WARNs make the run NO-GO. Main: asm_audit_blockers absent and the chat said
    "NO-GO ... blockers 0" (blocking_mask without --strict)."""
    from auditor.findings import blocking_mask

    root = snapshot(tmp_path / "snap", istio_cluster())
    result = run_audit(open_snapshot(root), "assessment", Config.model_validate(
        {**ASM_VERSION, "snapshot": {"max_age": None}}), strict=True)
    assert result.verdict.value == "NO-GO"
    blocking = int(blocking_mask(result.findings, True).sum())
    record = record_of(result)
    assert blocking and record.blockers_total() == blocking  # main: 0
    _, lines = summary_lines(record, None, False)
    assert f"blockers {blocking}," in lines[1]


@pytest.mark.parametrize("case", ["AA0010 gate guessed", "AA0012 stale evidence"])
def test_the_terminal_never_offers_allow_unknown_where_it_is_refused(case: str, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    """Main's terminal said "(no evidence; --allow-unknown to accept)" beside AA0010 / AA0012, which the engine
    refuses to accept (red20p): the reader re-ran with the flag and got INCOMPLETE again."""
    build, phase, _, code = CASES[case]
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(ASM_VERSION if code == "AA0012" else {**ASM_VERSION,
                                                                          "snapshot": {"max_age": None}}))
    argv = ["run", "--snapshot", str(build(tmp_path / "snap")), "--phase", phase, "--config", str(config),
            "--out", str(tmp_path / "out"), "--format", "json"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "--allow-unknown to accept" not in err and f"--allow-unknown would not accept {code}" in err
    assert main([*argv, "--allow-unknown"]) == 3  # indeed refused
