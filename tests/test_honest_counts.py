"""--phase all: the same workload blocking several gates is one blocker to fix; each gate's count is shown
beside the distinct count (issue 17, item 5)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
from pathlib import Path

import pytest

from auditor.api import run_audit
from auditor.cli.main import main
from auditor.render import context
from auditor.sources.snapshot import open_snapshot
from tests.test_render_html_pdf import migration_scene

# The scene: 4 workloads still on Istio's sidecar block both the uninstall and the finished gate (8 findings,
# 4 blockers); the finished gate adds 2 control-plane and 2 residue blockers and tools/grafana (no proxy in an
# istio-injection=enabled namespace: AA1220 since red18b), the migrating gate 2 istiod restarts: 15 blocking
# findings, 11 distinct blockers.
PER_GATE = "per gate: migrating 2, uninstall 4, finished 9"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def all_gates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("all-gates")
    snap = migration_scene(root / "snap")
    out = root / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["run", "--snapshot", str(snap), "--phase", "all", "--format", "json,md,html,pdf",
                     "--out", str(out)])
    assert code == 1
    return out, err.getvalue()


def test_terminal_counts_distinct_blockers_with_per_gate_beside(all_gates: tuple[Path, str]) -> None:
    _, stderr = all_gates
    assert f"Blockers (11; {PER_GATE})" in stderr


def test_summary_md_counts_distinct_blockers(all_gates: tuple[Path, str]) -> None:
    out, _ = all_gates
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert f"**Do not proceed:** 11 blocking finding(s) must be fixed first ({PER_GATE})." in text
    assert f"**11 blocking** ({PER_GATE})" in text
    assert "15 blocking" not in text


def test_pdf_page_one_counts_distinct_blockers(all_gates: tuple[Path, str]) -> None:
    out, _ = all_gates
    page1 = squash(subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-enc", "UTF-8", str(out / "report.pdf"),
                                   "-"], check=True, capture_output=True, text=True).stdout)
    assert "Do not proceed with the audited gates: 11 blocking findings from 4 checks must be fixed first " \
           f"({PER_GATE})." in page1


def test_what_blocks_the_step_counts_each_subject_once(tmp_path: Path) -> None:
    result = run_audit(sources=open_snapshot(migration_scene(tmp_path / "snap")), phase="all")
    subjects = {row["check_id"]: row["count"] for row in context.build(result)["blockers_by_check"]}
    # The 4 workloads on Istio's sidecar are 4 subjects, not 8 (they block uninstall and finished); grafana's pod runs
    # no proxy where its namespace asks for one (finished only).
    assert subjects == {"istio-sidecars-remaining": 5, "istio-control-plane-removed": 2, "istiod-restarted": 2,
                        "istio-residue": 2}


def test_html_blockers_heading_counts_distinct_blockers(all_gates: tuple[Path, str]) -> None:
    out, _ = all_gates
    text = (out / "report.html").read_text(encoding="utf-8")
    assert f"<h2>Blockers (11; {PER_GATE})</h2>" in text


def test_one_gate_has_no_per_gate_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = migration_scene(tmp_path / "snap")
    out = tmp_path / "out"
    assert main(["run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "md", "--out", str(out)]) == 1
    assert "Blockers (4)" in capsys.readouterr().err
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Do not proceed:** 4 blocking finding(s) must be fixed first." in text
    assert "per gate" not in text
