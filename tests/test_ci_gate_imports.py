"""A small CI gate (`run --snapshot ... --format json`) pays only for what its report needs (issue 18).

Checked in a fresh interpreter, through the real entry point: which modules the run loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor import api

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, sys
from auditor.cli.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "weasyprint", "markupsafe")
               or m in ("auditor.render.html", "auditor.render.junit", "auditor.render.markdown"))
# What a snapshot's JSON run has no use for: Typer's rich help (Rich's markdown, syntax and traceback), the live
# source and its HTTP client, the metrics and notification clients, the history's SQLite, the terminal's table (a
# quiet run prints one line), the commands not run.
unused = sorted(m for m in sys.modules if m.split(".")[0] in ("urllib3", "prometheus_client", "markdown_it",
                                                              "pygments", "kubernetes")
                or m in ("typer.rich_utils", "rich.markdown", "rich.traceback", "rich.table", "auditor.sources.live",
                         "urllib.request", "http.client", "sqlite3")
                or (m.startswith("auditor.cli.") and m not in ("auditor.cli.main", "auditor.cli.run",
                                                                "auditor.cli.common", "auditor.cli.prometheus_options",
                                                                "auditor.cli.tracking_options")))
print(json.dumps({"code": code, "heavy": heavy, "unused": unused}))
"""


def run_probe(*argv: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_json_gate_loads_neither_jinja2_nor_the_html_pdf_junit_or_markdown_renderers(tmp_path):
    probe = run_probe("run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json", "--out",
                      str(tmp_path / "out"), "--quiet")
    assert probe["code"] == 1 and probe["heavy"] == []  # the demo is NO-GO
    assert json.loads((tmp_path / "out" / "findings.json").read_text())["exit_code"] == 1


def test_a_snapshot_json_run_loads_no_help_formatter_http_client_metrics_client_or_other_command(tmp_path):
    probe = run_probe("run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json", "--out",
                      str(tmp_path / "out"), "--quiet")
    assert probe["code"] == 1 and probe["unused"] == []


def test_help_still_loads_the_help_formatter_and_lists_every_command():
    probe = run_probe("--help")
    assert probe["code"] == 0 and "typer.rich_utils" in probe["unused"]
    assert {"auditor.cli.checks", "auditor.cli.demo", "auditor.cli.explain", "auditor.cli.snapshot"} <= set(
        probe["unused"])


def test_asking_for_html_loads_its_renderer(tmp_path):
    probe = run_probe("run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json,html", "--out",
                      str(tmp_path / "out"), "--quiet")
    assert probe["code"] == 1 and "jinja2" in probe["heavy"] and "auditor.render.html" in probe["heavy"]
    assert (tmp_path / "out" / "report.html").is_file()


# OpenBLAS starts a thread pool (one thread per core) when numpy loads; the audit does no linear algebra.
THREADS_PROBE = """
import json, os, sys
from auditor.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "threads": len(os.listdir("/proc/self/task"))}))
"""


def run_threads_probe(env: dict[str, str], *argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", THREADS_PROBE, *argv], capture_output=True, text=True, cwd=ROOT,
                          env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_gate_starts_no_blas_thread_pool(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    probe = run_threads_probe(env, "run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json", "--out",
                              str(tmp_path / "out"), "--quiet")
    # Only the main thread is left: no BLAS workers (the snapshot hash's thread has finished).
    assert probe == {"code": 1, "blas": "1", "threads": 1}


def test_a_blas_thread_count_the_user_set_is_kept(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    probe = run_threads_probe(env, "run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json", "--out",
                              str(tmp_path / "out"), "--quiet")
    assert probe["code"] == 1 and probe["blas"] == "2"


# Which entry-point groups a run scans (importlib.metadata walks every installed package for each scan).
ENTRY_POINTS_PROBE = """
import importlib.metadata, json, os, sys
scanned = []
real = importlib.metadata.entry_points
def counting(**params):
    scanned.append(params.get("group"))
    return real(**params)
importlib.metadata.entry_points = counting
from auditor.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "scanned": scanned, "plugins": os.environ.get("PYDANTIC_DISABLE_PLUGINS")}))
"""


def test_a_gate_scans_only_its_own_plugin_group_not_pydantics(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    proc = subprocess.run([sys.executable, "-c", ENTRY_POINTS_PROBE, "run", "--snapshot", str(api.demo_snapshot_path()),
                           "--format", "json", "--out", str(tmp_path / "out"), "--quiet"], capture_output=True,
                          text=True, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, timeout=300)
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    assert probe == {"code": 1, "scanned": ["asm_audit.checks"], "plugins": "__all__"}


# Interpreter shutdown collects every object the run left (pandas', pydantic's, the audit's) only to free memory the
# exit frees anyway: ~50 ms of a small gate. The console script (main() reading sys.argv) ends the process, so it leaves
# them out of those collections; a caller passing argv keeps running, and its objects stay collectable.
SHUTDOWN_PROBE = """
import atexit, gc, json, sys
atexit.register(lambda: print(json.dumps({"frozen_at_exit": gc.get_freeze_count() > 0})))
from auditor.cli.main import main
if sys.argv[1] == "entry":
    sys.argv[1:] = sys.argv[2:]
    main()  # as the asm-audit console script calls it
else:
    print(json.dumps({"code": main(sys.argv[2:]), "frozen_after_main": gc.get_freeze_count() > 0}))
"""


def run_shutdown_probe(how: str, out: Path) -> tuple[int, list[dict]]:
    argv = ["run", "--snapshot", str(api.demo_snapshot_path()), "--format", "json", "--out", str(out), "--quiet"]
    proc = subprocess.run([sys.executable, "-c", SHUTDOWN_PROBE, how, *argv], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_the_console_script_leaves_its_objects_out_of_the_shutdown_collections(tmp_path):
    code, lines = run_shutdown_probe("entry", tmp_path / "out")
    assert code == 1  # the demo is NO-GO: the exit code still comes through
    assert lines == [{"frozen_at_exit": True}]  # before: False; and atexit handlers still run
    assert json.loads((tmp_path / "out" / "findings.json").read_text())["exit_code"] == 1


def test_a_caller_passing_argv_keeps_its_objects_collectable(tmp_path):
    code, lines = run_shutdown_probe("call", tmp_path / "out")
    assert code == 0 and lines == [{"code": 1, "frozen_after_main": False}, {"frozen_at_exit": False}]


def test_the_console_script_still_removes_a_tarballs_extracted_copy_at_exit(tmp_path):
    """Nothing of a .tar.gz's extracted copy is left behind by a console-script run that froze its objects at exit
    (the copy goes when the audit closes its sources, or at exit by its finalizer)."""
    import tarfile

    archive = tmp_path / "snap.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(api.demo_snapshot_path(), arcname="snapshot")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    argv = ["run", "--snapshot", str(archive), "--format", "json", "--out", str(tmp_path / "out"), "--quiet"]
    proc = subprocess.run([sys.executable, "-c", SHUTDOWN_PROBE, "entry", *argv], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}, timeout=300)
    assert proc.returncode == 1 and json.loads(proc.stdout.splitlines()[-1]) == {"frozen_at_exit": True}
    assert list(scratch.iterdir()) == []  # no asm-audit-snapshot-* directory left behind
