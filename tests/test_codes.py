"""Finding codes: declared as data per check, unique, on every finding, usable in config, explained by the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from auditor.check import ENGINE_OUTCOMES, ClusterCheck, Context
from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import run_audit
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.registry import load_registry, validate_check
from auditor.sources.snapshot import open_snapshot
from tests import factory as f

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"^[A-Z]{2,4}[0-9]{3,4}$")


def test_every_builtin_check_declares_unique_well_formed_codes():
    registry = load_registry()
    assert registry.broken == {}
    seen: dict[str, str] = {o.code: "engine" for o in ENGINE_OUTCOMES}
    for check in registry.ordered():
        assert check.outcomes, check.id
        for outcome in check.outcomes:
            assert CODE.match(outcome.code), outcome.code
            assert outcome.code not in seen, (outcome.code, check.id, seen.get(outcome.code))
            assert outcome.meaning.strip()
            seen[outcome.code] = check.id
    assert len(seen) >= 90  # 23 checks x 3-5 outcomes + the engine's


def test_every_finding_of_the_demo_has_a_declared_code(demo_dir):
    result = run_audit(open_snapshot(demo_dir), "all", Config())
    codes = load_registry().codes()
    frame = result.findings
    assert (frame["code"].astype(str) != "").all()
    for check_id, code, status in zip(frame["check_id"].astype(str), frame["code"].astype(str),
                                      frame["status"].astype(str), strict=True):
        owner, outcome = codes[code]
        assert owner in (check_id, "engine"), (check_id, code)
        assert outcome.status.value == status, (check_id, code, status)


def test_findings_json_carries_code_and_default_severity(tmp_path, demo_dir):
    out = tmp_path / "out"
    proc = subprocess.run(["asm-audit", "run", "--snapshot", str(demo_dir), "--phase", "uninstall", "--format",
                           "json,junit", "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "findings.json").read_text())
    assert doc["schema_version"] == 1
    assert all(CODE.match(r["code"]) and r["default_severity"] for r in doc["findings"])
    sidecars = [r for r in doc["findings"] if r["check_id"] == "istio-sidecars-remaining" and r["status"] == "FAIL"]
    # the demo has plain leftovers, a workload labelled but not restarted (shop/checkout, paused: AA1241), and a
    # kube-injected template
    assert sidecars and {r["code"] for r in sidecars} <= {"AA1210", "AA1211", "AA1212", "AA1213", "AA1241"}
    assert {r["code"] for r in sidecars if r["evidence"].get("manual_injection")} == {"AA1213"}
    junit = (out / "junit.xml").read_text()
    assert re.search(r'testcase name="istio-sidecars-remaining \[cluster-a\] [^"]*AA1210', junit)


def test_severity_override_and_exemption_by_code(demo_dir):
    base = run_audit(open_snapshot(demo_dir), "uninstall", Config())
    assert base.verdict.value == "NO-GO"
    config = Config.model_validate({
        "checks": {"severity": {"AA1210": "info"}},
        "exemptions": [{"check": "AA1530", "reason": "CHG-9: gateways not scraped, drained by DNS",
                        "namespace": "*"}]})
    result = run_audit(open_snapshot(demo_dir), "uninstall", config)
    frame = result.findings
    sidecars = frame[frame["code"].astype(str) == "AA1210"]
    assert len(sidecars) and set(sidecars["severity"].astype(str)) == {"info"}
    assert set(sidecars["default_severity"].astype(str)) == {"blocker"}
    # the same check's other outcomes keep their severity: the override named one code
    others = frame[(frame["check_id"].astype(str) == "istio-sidecars-remaining")
                   & (frame["code"].astype(str) != "AA1210")]
    assert set(others["severity"].astype(str)) <= {"blocker"}
    traffic = frame[frame["code"].astype(str) == "AA1530"]
    assert len(traffic) and traffic["exempt"].all()


def test_unknown_codes_in_config_are_bad_input(tmp_path, demo_dir):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("exemptions:\n  - check: ZZ9999\n    reason: 'CHG-1: nope'\n")
    proc = subprocess.run(["asm-audit", "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--format", "json",
                           "--out", str(tmp_path / "o"), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "ZZ9999" in proc.stderr and "Traceback" not in proc.stderr


def test_explain_prints_meaning_why_and_fix():
    proc = subprocess.run(["asm-audit", "explain", "AA1210"], capture_output=True, text=True)
    assert proc.returncode == 0
    lines = {ln.split(":", 1)[0].strip(): ln for ln in proc.stdout.splitlines()}
    assert lines["check"].endswith("istio-sidecars-remaining (No pod still runs an Istio sidecar)")
    assert {"meaning", "why", "fix", "gates"} <= set(lines)
    bad = subprocess.run(["asm-audit", "explain", "AA12100"], capture_output=True, text=True)
    assert bad.returncode == 2 and "AA1210" in bad.stderr


def test_every_declared_code_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    # In process: one interpreter per code (259 of them) cost minutes of CI; the installed script's own wiring
    # is covered by test_explain_prints_meaning_why_and_fix.
    for code in load_registry().codes():
        exit_code = main(["explain", code])
        out = capsys.readouterr().out
        assert exit_code == 0 and out.startswith(code), code


def test_readme_catalogue_is_generated_from_the_code():
    md = subprocess.run(["asm-audit", "checks", "--format", "md"], capture_output=True, text=True, check=True).stdout
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- catalogue:start", 1)[1].split("-->", 1)[1].split("<!-- catalogue:end -->", 1)[0]
    assert block.strip() == md.strip()


# ---------------------------------------------------------------- plugins and undeclared outcomes
class _Plugin(ClusterCheck):
    id = "zz-plugin"
    title = "A third-party check"
    gates = (Gate.UNINSTALL,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    OK = Outcome("ZZP001", Status.PASS, "fine")
    outcomes: ClassVar[tuple[Outcome, ...]] = (OK,)
    emit: ClassVar[str] = "pass"

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Any:
        if self.emit == "pass":
            yield self.report(self.OK, cluster.name, "fine")
        elif self.emit == "undeclared-status":
            yield self.fail(cluster.name, "a FAIL it never declared")
        else:
            yield Finding(Status.PASS, cluster.name, "a code it never declared", code="ZZP999")


def _plugin_audit(tmp_path: Path, emit: str) -> list[dict]:
    objects = {"cluster-a": [f.namespace("istio-system")], "asm": [f.migration_cr("Migrating")]}
    f.write_snapshot(tmp_path / emit, objects,
                     versions={"cluster-a": f.version_info(), "asm": f.version_info()},
                     manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a",
                                             "complete": True},
                                            {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]})
    plugin = type(f"P_{emit.replace('-', '_')}", (_Plugin,), {"emit": emit})
    result = run_audit(open_snapshot(tmp_path / emit), "uninstall", Config(), extra_checks=[plugin])
    frame = result.findings
    return frame[frame["check_id"].astype(str) == "zz-plugin"][["status", "code"]].astype(str).to_dict("records")


def test_a_plugin_finding_of_a_declared_outcome_keeps_its_code(tmp_path):
    assert _plugin_audit(tmp_path, "pass") == [{"status": "PASS", "code": "ZZP001"}]


def test_a_plugin_finding_with_an_undeclared_status_or_code_is_an_unknown_of_its_own(tmp_path):
    # an undeclared FAIL stays a FAIL (--allow-unknown must not turn it into a GO); a PASS becomes UNKNOWN
    assert _plugin_audit(tmp_path, "undeclared-status") == [{"status": "FAIL", "code": "AA0004"}]
    assert _plugin_audit(tmp_path, "undeclared-code") == [{"status": "UNKNOWN", "code": "AA0004"}]


def test_a_plugin_without_outcomes_does_not_load():
    class NoCodes(ClusterCheck):
        id = "zz-nocodes"
        title = "t"
        gates = (Gate.UNINSTALL,)
        severity = Severity.MAJOR
        rationale = "r"
        remediation = "r"

    assert "declares no outcomes" in (validate_check(NoCodes) or "")


def test_explain_shows_a_templated_fix_with_named_slots_not_format_braces():
    # migration-resource's AA0712 fix is the template "Do what the message says, then retry: {retry}".
    proc = subprocess.run([sys.executable, "-m", "auditor.cli.main", "explain", "AA0712"], capture_output=True,
                          text=True, cwd=ROOT)
    fix = next(ln for ln in proc.stdout.splitlines() if ln.startswith("fix:"))
    assert fix == "fix:     Do what the message says, then retry: <retry>"


def test_loading_the_registry_gathers_the_taken_codes_once_per_entry_point(monkeypatch):
    """Each check's codes are checked against every code taken before it, kept up to date as checks are added: the
    codes are gathered once per entry point, not once per check (fail on the old code: once for each of the built-in
    checks, ~0.5 ms of every audit); a clash is still refused."""
    from auditor.registry import Registry
    from checks import BUILTIN_CHECKS

    gathered: list[int] = []
    real = Registry.codes

    def counting(self: Registry) -> dict[str, tuple[str, Outcome]]:
        gathered.append(len(self.checks))
        return real(self)

    monkeypatch.setattr(Registry, "codes", counting)
    registry = load_registry()
    assert gathered == [0]
    assert list(registry.checks) == [c.id for c in BUILTIN_CHECKS] and registry.broken == {}

    class Thief(ClusterCheck):
        id = "zz-thief"
        title = "Thief"
        gates = (Gate.ASSESSMENT,)
        severity = Severity.MINOR
        rationale = "test"
        remediation = "test"
        outcomes: ClassVar[tuple[Outcome, ...]] = (Outcome("ZZT001", Status.PASS, "fine"),
                                                   Outcome(BUILTIN_CHECKS[0].outcomes[0].code, Status.FAIL, "stolen"))

    gathered.clear()
    registry = load_registry([Thief])
    assert gathered == [0, len(BUILTIN_CHECKS)]
    assert "zz-thief" not in registry.checks
    assert registry.broken == {f"{__name__}:zz-thief": f"code {BUILTIN_CHECKS[0].outcomes[0].code} already belongs to "
                                                       f"{BUILTIN_CHECKS[0].id}"}
