# ruff: noqa: F811  (pytest injects the imported `parity` fixture by its name)
"""Under `--fail-on-new`, the blockers the baseline already had are said as accepted in every CI output (red22h).

A GO run (exit 0) wrote junit.xml with a <failure> for each blocker accepted from the baseline: the Jenkins junit step
marks such a build UNSTABLE, Azure's PublishTestResults fails the task, GitLab shows the merge request's tests red,
while the exit code said GO. Accepted blockers now pass in junit.xml (listed in <system-out> with the reason), and
findings.json/csv say `baseline_accepted` per finding; a new blocker stays a <failure>.

Fixtures: the demo snapshot and its istio-system/istio ConfigMap as tests/test_ci_outputs_22h.py writes it (the
istio-discovery chart's `mesh` key, istio/istio@1.22.3), judged by mesh-config-parity alone.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from auditor.cli.main import main
from tests.test_ci_outputs_22h import PARITY, parity, set_mesh_config  # noqa: F401  (parity is a fixture)


def run(parity: dict[str, Any], snapshot: Path, name: str) -> tuple[int, dict[str, Any], ET.Element]:
    out = parity["tmp"] / f"junit-{name}"
    code = main(["run", "--snapshot", str(snapshot), "--phase", "uninstall", "--out", str(out), "--format",
                 "json,junit", "-q", "--config", str(parity["cfg"]), "--baseline", str(parity["old_path"]),
                 "--fail-on-new"])
    return code, json.loads((out / "findings.json").read_text()), ET.parse(out / "junit.xml").getroot()


def parity_case(root: ET.Element) -> ET.Element:
    cases = [c for c in root.iter("testcase") if c.get("name", "").startswith(f"{PARITY} [cluster-a]")]
    assert len(cases) == 1
    return cases[0]


def test_a_go_run_under_fail_on_new_has_no_junit_failure(parity):
    """Was: exit 0, verdict GO, and junit.xml with failures="1" (the accepted AA2413)."""
    code, doc, root = run(parity, parity["before"], "same")
    assert code == 0 and doc["verdict"] == "GO"
    assert sum(int(s.get("failures")) for s in root.iter("testsuite")) == 0
    case = parity_case(root)
    assert case.find("failure") is None and case.find("error") is None
    assert "AA2413" in case.get("name") and "accepted" in (case.findtext("system-out") or "")
    accepted = [(r["code"], r["status"]) for r in doc["findings"] if r["baseline_accepted"]]
    assert accepted == [("AA2413", "FAIL")]


def test_a_new_blocker_beside_an_accepted_one_is_the_failure(parity):
    after = parity["tmp"] / "junit-after"
    if not after.exists():
        shutil.copytree(parity["before"], after)
        set_mesh_config(after, "cluster-a", rootNamespace="istio-config")
    code, doc, root = run(parity, after, "new")
    assert code == 1 and doc["verdict"] == "NO-GO"
    failure = parity_case(root).find("failure")
    # The failure lists the new blocker alone (AA2417, rootNamespace); AA2413 (outboundTrafficPolicy) is accepted.
    assert failure is not None and failure.text.count("FAIL [") == 1 and "rootNamespace" in failure.text
    assert {r["code"]: r["baseline_accepted"] for r in doc["findings"] if r["status"] == "FAIL"} == {
        "AA2413": True, "AA2417": False}


@pytest.mark.parametrize("fmt", ["json"])
def test_without_a_baseline_no_finding_is_accepted(tmp_path, fmt):
    from auditor.api import demo_snapshot_path

    code = main(["run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path), "--format", fmt, "-q"])
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert code == 1 and doc["findings"] and not any(r["baseline_accepted"] for r in doc["findings"])
