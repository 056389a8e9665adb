"""A GO must stand on evidence of the cluster as it is: a snapshot's age (its manifest's collected_at).

Before this, `collected_at` (written by `asm-audit snapshot`: auditor/sources/snapshot.py SnapshotWriter.finish) was
read by nothing: a three-week-old snapshot audited at the uninstall gate said GO (exit 0) about a cluster the
migration had changed since, and no report said when its evidence was collected. Now: past config snapshot.max_age
(default 24h), with a time that is no time, or a time after the audit's clock, every gate audited gets UNKNOWN AA0012
(blocks GO: INCOMPLETE, exit 3); findings.json carries collected_at and evidence_age_seconds either way. A hand-made
snapshot without a manifest time is audited as before (the contract lets users build snapshots by hand).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import records
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.test_gate_selection import istio_cluster

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
# A plain Istio cluster that the assessment gate finds ready (test_gate_selection: GO with the ASM version typed in).
ASM_VERSION = {"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}}


def stamped_snapshot(root: Path, collected_at: Any = None, *, stamp: bool = True) -> Path:
    """The cluster as `asm-audit snapshot` writes it: manifest.json with format, clusters and collected_at."""
    manifest: dict[str, Any] = {"format": "asm-audit-snapshot", "format_version": 1, "tool_version": "1.0.0",
                                "clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a",
                                              "complete": True}]}
    if stamp:
        manifest["collected_at"] = collected_at
    return f.write_snapshot(root, {"cluster-a": istio_cluster()}, versions={"cluster-a": f.version_info()},
                            manifest=manifest)


def audit(root: Path, config: dict[str, Any] | None = None, **kw: Any) -> Any:
    return run_audit(open_snapshot(root), "assessment", Config.model_validate({**ASM_VERSION, **(config or {})}),
                     now=NOW, **kw)


def age_rows(result: Any) -> list[tuple[str, str, str]]:
    return [(r["gate"], r["status"], r["code"]) for r in records(result.findings) if r["check_id"] == "evidence-age"]


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).isoformat(timespec="seconds").replace("+00:00", "Z")


def test_a_fresh_snapshot_is_go_and_says_when_it_was_collected(tmp_path: Path) -> None:
    result = audit(stamped_snapshot(tmp_path, ago(hours=2)))
    assert result.verdict.value == "GO" and result.exit_code == 0
    assert age_rows(result) == []
    assert result.collected_at == ago(hours=2) and result.evidence_age_s == 7200


@pytest.mark.parametrize("collected_at", [ago(days=3), ago(hours=25)])
def test_a_snapshot_older_than_max_age_is_incomplete(tmp_path: Path, collected_at: str) -> None:
    result = audit(stamped_snapshot(tmp_path, collected_at))  # main: GO, exit 0
    assert age_rows(result) == [("assessment", "UNKNOWN", "AA0012")]
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3


def test_every_gate_audited_gets_the_unknown(tmp_path: Path) -> None:
    root = stamped_snapshot(tmp_path, ago(days=3))
    result = run_audit(open_snapshot(root), "all", Config.model_validate(ASM_VERSION), now=NOW)
    assert sorted(g for g, _, _ in age_rows(result)) == sorted(result.gates)
    assert set(result.gate_verdicts.values()) <= {"INCOMPLETE", "NO-GO"}


@pytest.mark.parametrize("max_age, verdict", [("7d", "GO"), ("48h", "INCOMPLETE"), (None, "GO")])
def test_max_age_is_the_operators_to_set(tmp_path: Path, max_age: str | None, verdict: str) -> None:
    result = audit(stamped_snapshot(tmp_path, ago(days=3)), {"snapshot": {"max_age": max_age}})
    assert result.verdict.value == verdict
    assert result.evidence_age_s == 3 * 86400  # said either way


@pytest.mark.parametrize("collected_at", ["yesterday", 1764582600, "2026-11-20 09:30:00", "2026-11-20T09:30:00",
                                          "", ["2026-11-20T09:30:00Z"]])
def test_a_collection_time_that_is_no_time_is_unknown(tmp_path: Path, collected_at: Any) -> None:
    # A time without its zone is no time either: whose 09:30 is it?
    result = audit(stamped_snapshot(tmp_path, collected_at))
    assert age_rows(result) == [("assessment", "UNKNOWN", "AA0012")]
    assert result.exit_code == 3


def test_a_collection_time_after_the_audits_clock_is_unknown(tmp_path: Path) -> None:
    result = audit(stamped_snapshot(tmp_path, (NOW + dt.timedelta(hours=2)).isoformat()))
    assert age_rows(result) == [("assessment", "UNKNOWN", "AA0012")]
    # Two hosts' clocks a minute apart are not that.
    assert age_rows(audit(stamped_snapshot(tmp_path / "skew", ago(seconds=-60)))) == []


def test_a_hand_made_snapshot_without_a_time_is_audited_as_before(tmp_path: Path) -> None:
    for root in (stamped_snapshot(tmp_path / "no-key", stamp=False), stamped_snapshot(tmp_path / "null", None)):
        result = audit(root)
        assert age_rows(result) == [] and result.verdict.value == "GO"
        assert result.collected_at is None and result.evidence_age_s is None


def test_allow_unknown_does_not_accept_old_evidence(tmp_path: Path) -> None:
    """Like a cluster that could not be read at all (engine: allow_unknown_refused), evidence of what the cluster was is
    no piece of evidence missing: --allow-unknown does not turn it into a GO (review19: it did, exit 0 on a snapshot
    three weeks old); snapshot.max_age is where older evidence is accepted."""
    result = audit(stamped_snapshot(tmp_path, ago(days=21)), allow_unknown=True)
    assert age_rows(result) == [("assessment", "UNKNOWN", "AA0012")]
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3
    assert result.options["allow_unknown_refused"] is True and result.options["allow_unknown"] is False
    # Another UNKNOWN is still accepted where the evidence's age is within max_age.
    fresh = audit(stamped_snapshot(tmp_path / "fresh", ago(hours=1)), allow_unknown=True)
    assert fresh.options["allow_unknown_refused"] is False


def test_findings_json_and_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = stamped_snapshot(tmp_path / "snap", "2026-01-05T08:00:00Z")  # older than any run of this test
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(ASM_VERSION))
    code = main(["run", "--snapshot", str(root), "--phase", "assessment", "--config", str(config), "--out",
                 str(tmp_path / "out"), "--format", "json"])
    assert code == 3, capsys.readouterr().err
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert doc["collected_at"] == "2026-01-05T08:00:00Z" and doc["evidence_age_seconds"] > 86400
    assert [r["code"] for r in doc["findings"] if r["status"] == "UNKNOWN"] == ["AA0012"]


def test_a_bad_max_age_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = stamped_snapshot(tmp_path / "snap", ago(hours=1))
    config = tmp_path / "config.yaml"
    config.write_text("snapshot:\n  max_age: soon\n")
    code = main(["run", "--snapshot", str(root), "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "snapshot.max_age" in err and "Traceback" not in err


def test_the_bundled_demo_is_an_example_and_its_copy_is_a_snapshot(tmp_path: Path) -> None:
    from auditor import api

    # The bundled example (`asm-audit demo`, or its path given to run) carries an old collected_at by nature: its age
    # blocks nothing, and the reports still say it. A copy (demo --export-snapshot) is judged like any snapshot.
    assert main(["demo", "--out", str(tmp_path / "demo"), "--format", "json", "--quiet"]) == 1
    doc = json.loads((tmp_path / "demo" / "findings.json").read_text())
    assert doc["collected_at"] and not [r for r in doc["findings"] if r["code"] == "AA0012"]
    assert age_rows(run_audit(open_snapshot(api.demo_snapshot_path()), "uninstall", Config(), now=NOW)) == []
    assert main(["demo", "--export-snapshot", str(tmp_path / "copy"), "--quiet"]) == 0
    result = run_audit(open_snapshot(tmp_path / "copy"), "uninstall", Config(), now=NOW)
    assert age_rows(result) == [("uninstall", "UNKNOWN", "AA0012")]


def test_the_reports_say_where_and_when_the_evidence_comes_from(tmp_path: Path) -> None:
    from auditor import evidence

    said = {name: evidence.evidence_said(audit(stamped_snapshot(tmp_path / name, value, stamp=stamp))).template
            for name, value, stamp in (("fresh", ago(hours=2), True), ("none", None, False),
                                       ("bad", "yesterday", True))}
    # A time that is no time is not "not recorded" (review19): AA0012 names the value.
    assert said == {"fresh": evidence.COLLECTED, "none": evidence.NOT_RECORDED, "bad": evidence.NOT_A_TIME}
