"""A newcomer's first run: missing system libraries and impossible output choices are refused in one line,
exit 2, before any cluster or snapshot is read (issue 17, item 6)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor import api

REPO = Path(__file__).resolve().parent.parent
DEMO = str(api.demo_snapshot_path())

# What WeasyPrint does on a machine without Pango: cffi's dlopen fails while `import weasyprint` runs.
NO_PANGO_SITECUSTOMIZE = '''
import sys


class NoPango:
    def find_spec(self, name, path=None, target=None):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError("cannot load library 'libgobject-2.0-0': libgobject-2.0-0: cannot open shared object "
                          "file: No such file or directory")
        return None


sys.meta_path.insert(0, NoPango())
'''


@pytest.fixture
def no_pango_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_PANGO_SITECUSTOMIZE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(REPO)])
    return env


def asm_audit(env: dict[str, str] | None, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli.main", *argv], capture_output=True, text=True,
                          env=env, timeout=120)


def stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return proc.stderr.strip().splitlines()


def test_the_simulated_environment_really_lacks_pango(no_pango_env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-c", "import weasyprint"], capture_output=True, text=True,
                          env=no_pango_env, timeout=60)
    assert proc.returncode == 1
    assert "OSError: cannot load library 'libgobject-2.0-0'" in proc.stderr


@pytest.mark.parametrize("argv", [
    ("demo",),
    ("demo", "--format", "pdf"),
    ("run", "--snapshot", DEMO, "--format", "json,pdf"),
])
def test_without_pango_a_pdf_run_is_one_line_with_the_install_command(
        no_pango_env: dict[str, str], tmp_path: Path, argv: tuple[str, ...]) -> None:
    out = tmp_path / "report"
    proc = asm_audit(no_pango_env, *argv, "--out", str(out))
    lines = stderr_lines(proc)
    assert proc.returncode == 2, proc.stderr
    # One line: no progress ("cluster-a: reading ..."), no verdict, so the audit never started.
    assert len(lines) == 1, lines
    assert lines[0].startswith("asm-audit: error: ")
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "site"]


def test_without_pango_a_run_without_pdf_still_works(no_pango_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = asm_audit(no_pango_env, "demo", "--format", "json,html", "--out", str(out), "--quiet")
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "report.html"]


@pytest.mark.parametrize("argv", [
    ("run", "--snapshot", DEMO, "--format", "html"),
    ("run", "--snapshot", DEMO, "--format", "json,csv"),
    ("demo", "--format", "md"),
])
def test_out_dash_with_a_non_json_format_is_refused_before_the_audit(argv: tuple[str, ...]) -> None:
    proc = asm_audit({**os.environ, "PYTHONPATH": str(REPO)}, *argv, "--out", "-")
    lines = stderr_lines(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, lines  # no "cluster-a: reading ..." progress: refused before collecting
    assert lines[0] == "asm-audit: error: --out - writes findings.json to stdout; use it with --format json"
    assert proc.stdout == ""
