"""Where reports go and what is written beside them (issue 16 items 14, 15): never into the evidence, never a
mixed report set, and a crash log that no planted symlink can redirect."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli.common import escape
from auditor.cli.main import main
from tests import factory as f

REPO = Path(__file__).resolve().parents[1]


def small_snapshot(root: Path) -> Path:
    dep, rs = f.deployment("cart")
    return f.write_snapshot(root, {"c1": [f.namespace("shop"), dep, rs, *f.workload_pods((dep, rs), 2)]},
                            versions={"c1": f.version_info()})


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a directory)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# ---------------------------------------------------------------- --out inside the snapshot
@pytest.mark.parametrize("where", [".", "reports", "c1/reports"])
def test_out_inside_the_snapshot_is_refused_and_the_evidence_untouched(tmp_path, capsys, where):
    snap = small_snapshot(tmp_path / "snap")
    before = tree(snap)
    code, err = run_cli(capsys, "run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "json,csv",
                        "--out", str(snap / where), "--quiet")
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("asm-audit: error: --out ") and "inside the snapshot" in err[0]
    assert tree(snap) == before


def test_out_beside_the_snapshot_is_fine(tmp_path, capsys):
    snap = small_snapshot(tmp_path / "snap")
    code, _ = run_cli(capsys, "run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "json",
                      "--out", str(tmp_path / "snap-reports"), "--quiet")
    assert code == 1  # cart still runs Istio sidecars
    assert (tmp_path / "snap-reports" / "findings.json").is_file()


# ---------------------------------------------------------------- report sets move together
def test_one_unwritable_report_leaves_the_previous_set_untouched(tmp_path, capsys):
    snap = small_snapshot(tmp_path / "snap")
    out = tmp_path / "out"
    first, _ = run_cli(capsys, "run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "md,json,csv",
                       "--out", str(out), "--quiet")
    assert first == 1
    (out / "findings.csv").unlink()
    (out / "findings.csv").mkdir()  # the one target a file cannot replace
    (out / "findings.csv" / "keep.txt").write_text("mine")
    before = tree(out)
    assert set(before) == {"summary.md", "findings.json", "findings.csv", "findings.csv/keep.txt"}
    # A different gate: every new report would differ from the old one.
    code, err = run_cli(capsys, "run", "--snapshot", str(snap), "--phase", "assessment", "--format", "md,json,csv",
                        "--out", str(out), "--quiet")
    assert code in (2, 4), err
    assert len(err) == 1 and err[0].startswith("asm-audit: error: ") and "Traceback" not in err[0]
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []  # no scratch left


def test_a_symlink_where_a_report_goes_is_refused_and_not_followed(tmp_path, capsys):
    snap = small_snapshot(tmp_path / "snap")
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("do not touch")
    (out / "findings.json").symlink_to(victim)
    code, err = run_cli(capsys, "run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "json",
                        "--out", str(out), "--quiet")
    assert code == 2 and len(err) == 1 and "findings.json" in err[0], err
    assert victim.read_text() == "do not touch" and (out / "findings.json").is_symlink()


# ---------------------------------------------------------------- crash log
def test_crash_log_is_a_private_new_file_never_a_planted_symlink(tmp_path):
    """An internal error (stdout closed: sys.stdout is None) with symlinks planted at every path the old code
    would have used during the next two minutes: none is followed, the log is a new 0600 file."""
    scratch, victim = tmp_path / "tmp", tmp_path / "victim.txt"
    scratch.mkdir()
    victim.write_text("precious")
    start = dt.datetime.now()
    for second in range(120):
        stamp = (start + dt.timedelta(seconds=second)).strftime("%Y%m%d-%H%M%S")
        (scratch / f"asm-audit-crash-{stamp}.log").symlink_to(victim)
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "auditor.cli.main", "checks", "--format", "json"],
                          preexec_fn=lambda: os.close(1), stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert proc.returncode == 4
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("asm-audit: error: internal error: AttributeError") and "(details in " in line
    log = Path(line.split("(details in ", 1)[1].rstrip(")"))
    assert victim.read_text() == "precious"
    assert log.parent == scratch and not log.is_symlink()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "Traceback" in log.read_text()


# ---------------------------------------------------------------- terminal
def test_terminal_escape_shows_bidi_marks_and_separators():
    assert escape("a\u2028b\u061cc\u200ed\u202ee\x1b[31m[red]") == "a\\u2028b\\u061cc\\u200ed\\u202ee\\x1b[31m\\[red]"
