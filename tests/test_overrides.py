"""Severity overrides reach every finding of a check and nothing the config did is hidden (issue 16, item 7).

- `checks.severity` applies to every finding of the check, also those the check gave a severity of its own
  (restart-risk: major/minor/info per workload); `default_severity` keeps the one before the config.
- `summary.exempted` / `summary.severity_overridden` in findings.json, and the same words next to the verdict
  in the terminal, summary.md, report.html and page 1 of report.pdf.

All on the bundled demo (uninstall gate): 26 FAIL, 11 WARN, 17 PASS, 2 NOT_APPLICABLE, no UNKNOWN.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from auditor import api
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import records
from auditor.model import Verdict
from auditor.sources.snapshot import open_snapshot
from tests import factory as f

# Every check with a blocking FAIL in the demo, downgraded: the demo's NO-GO becomes GO. ASM's trust domain is
# in no OpenAPI answer: given here, so mesh-config-parity compares it instead of saying UNKNOWN.
DOWNGRADED = ["asm-proxies-ready", "egress-routes-to-asm", "envoyfilter-compatibility", "ingress-lb-weights",
              "istio-config-imported", "istio-gateway-traffic", "istio-sidecars-remaining", "manual-injection",
              "mesh-config-parity",
              "purge-preview"]
HIDDEN_GO_CONFIG = {
    "checks": {"severity": dict.fromkeys(DOWNGRADED, "info")},
    "asm": {"mesh_config": {"trustDomain": "cluster.local"}},
    "exemptions": [{"check": "restart-risk", "cluster": "cluster-b", "reason": "CHG-42: restarts at night"}],
}
DISCLOSURE = "5 findings exempted, 36 severities overridden by config"


def demo_audit(config: dict) -> api.AuditResult:
    return api.run_audit(sources=open_snapshot(api.demo_snapshot_path()), phase="uninstall",
                         config=Config.model_validate(config))


def test_override_reaches_findings_whose_check_set_its_own_severity() -> None:
    result = demo_audit({"checks": {"severity": {"restart-risk": "blocker"}}})
    risk = [r for r in records(result.findings) if r["check_id"] == "restart-risk"]
    assert Counter(r["severity"] for r in risk) == {"blocker": 11}
    assert Counter(r["default_severity"] for r in risk) == {"minor": 7, "major": 2, "info": 2}
    assert result.summary["severity_overridden"] == 11 and result.summary["exempted"] == 0
    # --strict makes a WARN block whatever its severity; without it WARNs never block: still the FAILs' NO-GO.
    assert result.verdict.value == "NO-GO"


def test_without_config_default_severity_equals_severity_and_nothing_is_counted() -> None:
    result = demo_audit({})
    rows = records(result.findings)
    assert all(r["default_severity"] == r["severity"] for r in rows) and len(rows) == 65
    assert result.summary["exempted"] == 0 and result.summary["severity_overridden"] == 0


def test_an_override_equal_to_the_default_is_not_counted() -> None:
    result = demo_audit({"checks": {"severity": {"istio-sidecars-remaining": "blocker"}}})
    assert result.summary["severity_overridden"] == 0


@pytest.fixture(scope="module")
def hidden_go(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    tmp = tmp_path_factory.mktemp("hidden-go")
    cfg = tmp / "asm-audit.yaml"
    cfg.write_text(json.dumps(HIDDEN_GO_CONFIG))
    out = tmp / "out"
    proc = subprocess.run(["python", "-m", "auditor.cli.main", "run", "--snapshot", str(api.demo_snapshot_path()),
                           "--phase", "uninstall", "--config", str(cfg), "--out", str(out),
                           "--format", "json,md,html,pdf", "--quiet"], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stderr, out


def test_downgraded_go_is_counted_in_findings_json(hidden_go: tuple[int, str, Path]) -> None:
    code, err, out = hidden_go
    assert code == 0, err
    doc = json.loads((out / "findings.json").read_text())
    assert doc["schema_version"] == 1 and doc["verdict"] == "GO"
    assert doc["summary"]["exempted"] == 5 and doc["summary"]["severity_overridden"] == 36
    assert doc["summary"]["FAIL"] == 27  # the statuses are unchanged: only their weight was
    downgraded = [f for f in doc["findings"] if f["check_id"] in DOWNGRADED]
    assert Counter(f["severity"] for f in downgraded) == {"info": 36}
    assert Counter(f["default_severity"] for f in downgraded) == {"blocker": 28, "major": 8}
    assert sum(f["exempt"] for f in doc["findings"]) == 5


def test_downgraded_go_is_said_next_to_the_verdict_in_the_terminal(hidden_go: tuple[int, str, Path]) -> None:
    _code, err, _out = hidden_go
    first = " ".join(err.splitlines()[0].split())  # the verdict is padded inside its coloured badge
    assert first.startswith(f"GO - {DISCLOSURE} gate uninstall"), first


def test_downgraded_go_is_said_next_to_the_verdict_in_summary_md(hidden_go: tuple[int, str, Path]) -> None:
    heading = (hidden_go[2] / "summary.md").read_text().splitlines()[0]
    assert heading.startswith("## ") and f"GO ({DISCLOSURE})" in heading, heading


def test_downgraded_go_is_said_in_the_html_verdict_badge(hidden_go: tuple[int, str, Path]) -> None:
    html = (hidden_go[2] / "report.html").read_text()
    badge = html[html.index('<div class="verdict '):]
    badge = badge[:badge.index("</div>")]
    assert '<span class="verdict-word">GO</span>' in badge and DISCLOSURE in badge


def test_downgraded_go_is_said_on_pdf_page_1(hidden_go: tuple[int, str, Path]) -> None:
    page1 = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(hidden_go[2] / "report.pdf"), "-"],
                           check=True, capture_output=True, text=True).stdout
    words = " ".join(page1.split())
    assert "GO The evidence supports istioctl uninstall --purge" in words
    assert f"exit 0 {DISCLOSURE}" in words  # in the verdict badge, under the exit code
    assert f"Config: {DISCLOSURE}." in words  # and in the headline beside it


# ---------------------------------------------------------------- the engine's codes (red20p)
def test_a_severity_override_naming_an_engine_code_is_refused(tmp_path) -> None:
    """AA0004 is every check's undeclared FAIL (stays a FAIL so nothing accepts it by accident): on main
    `checks.severity: {AA0004: info}` demoted it for every check at once and a plugin's undeclared FAIL became GO."""
    from pydantic import ValidationError

    from tests.test_codes import _Plugin

    objects = {"cluster-a": [f.namespace("istio-system")], "asm": [f.migration_cr("Migrating")]}
    versions = {"cluster-a": f.version_info(), "asm": f.version_info()}
    root = f.write_snapshot(tmp_path / "snap", objects, versions=versions,
                            manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a",
                                                    "complete": True},
                                                   {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]})
    plugin = type("P_undeclared_fail", (_Plugin,), {"emit": "undeclared-status"})
    settings = {"checks": {"disable": f.only_checks()["checks"]["disable"]}, "snapshot": {"max_age": None}}
    plain = run_audit(open_snapshot(root), "uninstall", Config.model_validate(settings), extra_checks=[plugin])
    assert plain.verdict is Verdict.NO_GO
    with pytest.raises(ValidationError, match="AA0004 is the engine's code"):
        config = Config.model_validate({**settings, "checks": {**settings["checks"], "severity": {"AA0004": "info"}}})
        assert run_audit(open_snapshot(root), "uninstall", config, extra_checks=[plugin]).verdict is not Verdict.GO
