"""API faults through the real kubernetes client: throttling, 5xx, expired continue tokens, timeouts, a
run deadline, unreachable or dropped clusters, garbage answers, Ctrl-C. Never GO without the evidence.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.cli.main import main
from auditor.findings import records
from auditor.sources import live
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.test_readonly import NOW, comparable, live_demo

REPO = Path(__file__).resolve().parents[1]


def cluster_objects() -> list[dict[str, Any]]:
    """A small mid-migration data plane: istiod, mesh config, Istio-sidecar and ASM-proxy workloads (12 pods)."""
    cart, web = f.deployment("cart"), f.deployment("web")
    return [f.namespace("istio-system", {"topology.istio.io/network": "network-1"}),
            f.namespace("shop", {"istio-injection": "enabled"}), f.istiod(), f.mesh_configmap(),
            *cart, *web, *f.workload_pods(cart, 6, proxy="istio"), *f.workload_pods(web, 6, proxy="asm")]


# The checks these tests judge by (their verdict is GO on the healthy fixture at --phase migrating); the
# rest of the catalogue is disabled so that an exit code 3 is caused by the fault under test alone.
FOCUS = ("pods-xds-agent", "migration-resource", "manual-injection")


def focus_config(tmp_path: Path) -> Path:
    from auditor.registry import load_registry

    path = tmp_path / "focus.yaml"
    path.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks if c not in FOCUS]}}))
    return path


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "BASE_DELAY_S", 0.01)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "PAGE_SIZE", 4)


@pytest.fixture
def served(tmp_path: Path, fake_api: FakeApiServer, fake_asm: FakeApiServer) -> api.Target:
    return serve(tmp_path, fake_api, fake_asm)


def serve(tmp_path: Path, fake_api: FakeApiServer, fake_asm: FakeApiServer, extra: Iterable[dict[str, Any]] = ()
          ) -> api.Target:
    """cluster_objects() (and `extra`) on the data plane's fake API server, the migration resource in
    SetupIstioForMigrate on ASM's, and a kubeconfig for each."""
    fake_api.load([*cluster_objects(), *extra])
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    return api.Target(kubeconfig=str(kc), context="prod", asm_kubeconfig=str(akc), asm_context="asm")


def cli(target: api.Target, out: Path, *extra: str) -> list[str]:
    return ["run", "--kubeconfig", str(target.kubeconfig), "--context", str(target.context), "--asm-kubeconfig",
            str(target.asm_kubeconfig), "--out", str(out), "--format", "json", "--quiet",
            "--config", str(focus_config(out.parent)), *extra]


def snapshot_cli(target: api.Target, tarball: Path, *extra: str) -> list[str]:
    """`asm-audit snapshot` of the served clusters into `tarball`, quiet."""
    return ["snapshot", "--out", str(tarball), "--kubeconfig", str(target.kubeconfig), "--context",
            str(target.context), "--asm-kubeconfig", str(target.asm_kubeconfig), "--asm-context",
            str(target.asm_context), *extra, "--quiet"]


def test_the_focused_fixture_is_go_without_faults(served, tmp_path, capsys):
    """The baseline of the exit-code assertions below: no fault, GO (exit 0)."""
    assert main(cli(served, tmp_path / "out", "--phase", "migrating")) == 0


def served_dir(target: api.Target) -> Path:
    return Path(str(target.kubeconfig)).parent


def rows(result: Any, check_id: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records(result.findings) if check_id is None or r["check_id"] == check_id]


def pod_checks(result: Any) -> list[dict[str, Any]]:
    return [r for r in rows(result) if r["check_id"] in ("pods-xds-agent", "istio-sidecars-remaining")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubeconfig_to(path: Path, port: int, context: str = "down") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": context, "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}]}))
    return path


# ---------------------------------------------------------------- throttling and server errors
def test_429_with_retry_after_is_honoured_then_the_list_succeeds(served, fake_api):
    baseline = api.run_audit(served, "all", now=NOW)
    fake_api.clear_requests()
    fake_api.add_fault(r"^/api/v1/pods$", 429, times=1, retry_after=1)
    started = time.monotonic()
    result = api.run_audit(served, "all", now=NOW)
    assert time.monotonic() - started >= 1.0  # waited as told
    assert [r.status for r in fake_api.requests if r.path == "/api/v1/pods"] == [429, 200]
    assert comparable(result) == comparable(baseline)


def test_retry_after_is_capped_so_a_hostile_server_cannot_stall_the_run(served, fake_api, monkeypatch):
    monkeypatch.setattr(live, "MAX_RETRY_AFTER_S", 0.2)
    fake_api.add_fault(r"^/api/v1/pods$", 429, times=2, retry_after=3600)
    started = time.monotonic()
    result = api.run_audit(served, "all", now=NOW)
    assert time.monotonic() - started < 5
    assert all(r["status"] != "UNKNOWN" or "Pod" not in r["message"] for r in pod_checks(result))


@pytest.mark.parametrize("retry_after", ["soon", "-5", "nan", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_garbage_retry_after_falls_back_to_our_own_bounded_delay(served, fake_api, fast_retries, retry_after):
    fake_api.add_fault(r"^/api/v1/pods$", 429, times=1, body='{"kind":"Status","code":429}')
    fake_api.add_fault(r"^/api/v1/pods$", 503, times=1)
    # The fake's retry_after is an int; send a garbage header through a raw body fault instead.
    fake_api._faults[0].retry_after = retry_after  # type: ignore[assignment]
    started = time.monotonic()
    result = api.run_audit(served, "all", now=NOW)
    assert time.monotonic() - started < 5
    assert [r.status for r in fake_api.requests if r.path == "/api/v1/pods"] == [429, 503, 200]
    assert {r["status"] for r in pod_checks(result)} <= {"PASS", "FAIL", "WARN", "NOT_APPLICABLE"}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_backoff(served, fake_api, fast_retries, status):
    baseline = api.run_audit(served, "all", now=NOW)
    fake_api.clear_requests()
    fake_api.add_fault(r"^/apis/apps/v1/deployments$", status, times=2)
    result = api.run_audit(served, "all", now=NOW)
    assert [r.status for r in fake_api.requests if r.path == "/apis/apps/v1/deployments"] == [status, status, 200]
    assert comparable(result) == comparable(baseline)


def test_persistent_503_gives_up_after_bounded_attempts_and_reports_unknown(served, fake_api, fast_retries,
                                                                             tmp_path, capsys):
    fake_api.add_fault(r"^/api/v1/pods$", 503, times=None)
    code = main(cli(served, tmp_path / "out", "--phase", "migrating"))
    assert code == 3
    assert len([r for r in fake_api.requests if r.path == "/api/v1/pods"]) == live.MAX_ATTEMPTS
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    assert row["status"] == "UNKNOWN" and "HTTP 503" in row["message"]
    assert doc["verdict"] == "INCOMPLETE"
    # The rest was still read: the migration resource was judged on its evidence.
    assert any(r["check_id"] == "migration-resource" and r["status"] == "PASS" for r in doc["findings"])


# ---------------------------------------------------------------- 410 Gone on a continue token
def test_410_on_a_continue_token_restarts_the_list_once_with_no_double_counting(served, fake_api, small_pages):
    baseline = api.run_audit(served, "all", now=NOW)
    fake_api.clear_requests()
    fake_api.expire_continue_tokens(1)
    result = api.run_audit(served, "all", now=NOW)
    statuses = [r.status for r in fake_api.requests if "continue" in r.query]
    assert 410 in statuses
    assert comparable(result) == comparable(baseline)  # nothing counted twice after the restart


def test_410_twice_reports_the_list_as_unreadable(served, fake_api, small_pages, tmp_path, capsys):
    fake_api.expire_continue_tokens(2)
    code = main(cli(served, tmp_path / "out", "--phase", "migrating"))
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    unknown = [r for r in doc["findings"] if r["status"] == "UNKNOWN"]
    assert code == 3 and doc["verdict"] == "INCOMPLETE"
    assert any("expired twice while being read" in r["message"] for r in unknown)


# ---------------------------------------------------------------- timeouts
def test_per_request_timeout_makes_that_kind_unknown_and_the_rest_is_read(served, fake_api, tmp_path, capsys):
    fake_api.add_fault(r"^/api/v1/pods$", 200, times=None, delay_s=3)
    started = time.monotonic()
    code = main(cli(served, tmp_path / "out", "--phase", "migrating", "--timeout", "0.5"))
    assert time.monotonic() - started < 3
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    assert row["status"] == "UNKNOWN" and "no answer within 0.5s (--timeout)" in row["message"]
    assert code == 3
    assert any(r["check_id"] == "migration-resource" and r["status"] == "PASS" for r in doc["findings"])


def test_a_server_too_slow_for_version_is_unreachable_without_waiting_on_every_kind(served, fake_api):
    fake_api.add_fault(r"^/version$", 200, times=None, delay_s=3)
    started = time.monotonic()
    result = api.run_audit(api.Target(**{**served.__dict__, "timeout_s": 0.3}), "migrating",
                           focus_config(served_dir(served)), now=NOW)
    assert time.monotonic() - started < 2.5
    [facts] = [c for c in result.clusters if c["name"] == "prod"]
    assert facts["reachable"] is False and "no answer within 0.3s" in facts["error"]
    assert all(r["status"] == "UNKNOWN" for r in rows(result) if r["cluster"] == "prod")
    assert result.exit_code == 3


def test_run_deadline_stops_collection_and_leaves_the_rest_unknown(served, fake_api, tmp_path, capsys):
    for path in (r"^/api/v1/pods$", r"^/api/v1/services$", r"^/apis/apps/v1/deployments$",
                 r"^/apis/apps/v1/replicasets$", r"^/api/v1/configmaps$", r"^/api/v1/namespaces$"):
        fake_api.add_fault(path, 200, times=None, delay_s=0.7)
    started = time.monotonic()
    code = main(cli(served, tmp_path / "out", "--phase", "migrating", "--run-timeout", "1.5"))
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code == 3 and doc["verdict"] == "INCOMPLETE"
    deadline = [r for r in doc["findings"] if r["status"] == "UNKNOWN" and "--run-timeout" in r["message"]]
    assert deadline, [r["message"] for r in doc["findings"] if r["status"] == "UNKNOWN"]
    assert "run deadline of 1.5s" in deadline[0]["message"]


def test_run_deadline_also_cuts_a_server_that_trickles(served, fake_api, tmp_path, capsys):
    """64 bytes every 0.2 s never trips --timeout (per wait), so only --run-timeout can stop it."""
    fake_api.add_fault(r"^/api/v1/pods$", 200, times=None, trickle_s=0.2)
    started = time.monotonic()
    code = main(cli(served, tmp_path / "out", "--phase", "migrating", "--run-timeout", "1.5", "--timeout", "5"))
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed  # the pod list alone would take minutes at this pace
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code == 3 and doc["verdict"] == "INCOMPLETE"
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    assert row["status"] == "UNKNOWN" and "run deadline of 1.5s (--run-timeout)" in row["message"]


def test_a_slow_but_steady_answer_is_read_whole(served, fake_api, tmp_path, capsys):
    """Reading in pieces changes nothing for an answer that arrives in time."""
    fake_api.add_fault(r"^/apis/apps/v1/deployments$", 200, times=None, trickle_s=0.001)
    assert main(cli(served, tmp_path / "out", "--phase", "migrating", "--run-timeout", "60")) == 0


def test_snapshot_run_deadline_records_what_was_not_read(served, fake_api, tmp_path, capsys):
    """`asm-audit snapshot --run-timeout`: stops in time, exit 3, and the snapshot says what it lacks."""
    for path in (r"^/api/v1/pods$", r"^/api/v1/services$", r"^/apis/apps/v1/deployments$",
                 r"^/apis/apps/v1/replicasets$", r"^/api/v1/configmaps$", r"^/api/v1/namespaces$"):
        fake_api.add_fault(path, 200, times=None, delay_s=0.7)
    tarball = tmp_path / "snap.tar.gz"
    started = time.monotonic()
    code = main(snapshot_cli(served, tarball, "--run-timeout", "1.5"))
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3 and elapsed < 6, (code, elapsed)
    assert "not read, recorded as such" in err and "prod/" in err
    # Offline, the kinds the deadline cut off are UNKNOWN with the reason, never PASS.
    result = api.run_audit(api.Target(snapshot=str(tarball)), "migrating", focus_config(tmp_path), now=NOW)
    unknown = [r for r in rows(result) if r["status"] == "UNKNOWN"]
    assert unknown and any("--run-timeout" in r["message"] for r in unknown)
    assert result.exit_code == 3


@pytest.mark.parametrize("flag, value", [("--timeout", "0"), ("--timeout", "nan"), ("--run-timeout", "-1"),
                                         ("--run-timeout", "inf")])
def test_bad_timeouts_are_usage_errors(served, tmp_path, capsys, flag, value):
    code = main(cli(served, tmp_path / "out", flag, value))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and flag in err[0]


# ---------------------------------------------------------------- unreachable clusters
def test_an_unreachable_cluster_is_unknown_never_go(tmp_path, fake_asm, capsys):
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    kc = kubeconfig_to(tmp_path / "kc", free_port())
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    code = main(["run", "--kubeconfig", str(kc), "--asm-kubeconfig", str(akc), "--phase", "migrating", "--out",
                 str(tmp_path / "out"), "--format", "json", "--quiet", "--config", str(focus_config(tmp_path))])
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code == 3 and doc["verdict"] == "INCOMPLETE"
    down = [r for r in doc["findings"] if r["cluster"] == "down"]
    assert down and all(r["status"] == "UNKNOWN" and "unreachable" in r["message"] for r in down)
    [facts] = [c for c in doc["clusters"] if c["name"] == "down"]
    assert facts["reachable"] is False


def test_one_cluster_down_does_not_stop_the_others(tmp_path, capsys):
    with live_demo(tmp_path) as demo:
        down = kubeconfig_to(tmp_path / "down.kc", free_port())
        argv = ["run", "--phase", "all", *demo.argv("cluster-a"), "--cluster", f"cluster-down={down}@down",
                "--out", str(tmp_path / "out"), "--format", "json", "--quiet"]
        code = main(argv)
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code in (1, 3) and doc["verdict"] != "GO"
    facts = {c["name"]: c for c in doc["clusters"]}
    assert facts["cluster-a"]["reachable"] and not facts["cluster-down"]["reachable"]
    a_rows = [r for r in doc["findings"] if r["cluster"] == "cluster-a"]
    assert {"PASS", "FAIL"} & {r["status"] for r in a_rows}, "cluster-a was audited on its evidence"
    down_rows = [r for r in doc["findings"] if r["cluster"] == "cluster-down"]
    assert down_rows and all(r["status"] == "UNKNOWN" for r in down_rows)
    assert all("unreachable" in r["message"] for r in down_rows)


def test_unreachable_asm_control_plane_makes_its_checks_unknown(tmp_path, fake_api, capsys):
    fake_api.load(cluster_objects())
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    akc = kubeconfig_to(tmp_path / "akc", free_port(), context="asm")
    result = api.run_audit(api.Target(kubeconfig=str(kc), asm_kubeconfig=str(akc)), "auto", now=NOW)
    assert result.gate == "assessment" and "migration state unknown" in result.gate_reason
    # The gate is a guess: even when every check of it passes, the audit is not GO.
    [guess] = rows(result, "gate-selection")
    assert guess["status"] == "UNKNOWN" and "the gate is a guess" in guess["message"]
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3
    all_result = api.run_audit(api.Target(kubeconfig=str(kc), asm_kubeconfig=str(akc)), "setup", now=NOW)
    [mig] = rows(all_result, "migration-resource")
    assert mig["status"] == "UNKNOWN" and "unreachable" in mig["message"]


class _DroppingServer:
    """Accepts TCP connections and closes them at once: every request dies mid-flight."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.recv(4096)
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture
def dropping() -> Iterator[_DroppingServer]:
    server = _DroppingServer()
    yield server
    server.close()


def test_dropped_connections_are_retried_then_the_cluster_is_unreachable(tmp_path, dropping, fast_retries):
    kc = kubeconfig_to(tmp_path / "kc", dropping.port)
    result = api.run_audit(api.Target(kubeconfig=str(kc)), "migrating", now=NOW)
    assert dropping.accepted == live.MAX_ATTEMPTS  # /version tried MAX_ATTEMPTS times, then nothing else
    [facts] = result.clusters
    assert facts["reachable"] is False and "connection dropped" in facts["error"]
    assert result.exit_code == 3


# ---------------------------------------------------------------- garbage and auth
@pytest.mark.parametrize("body, expect", [
    ("this is not json", "not valid JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    ('{"kind": "PodList", "items": 5}', "malformed list answer"),
    ('{"kind": "PodList", "items": [1, "x"]}', "malformed list answer"),
    ('{"kind": "PodList", "items": [], "metadata": {"continue": 7}}', "continue token is not a string"),
    ('{"kind": "PodList", "items": [{"metadata": {"name": "\\udcff"}}]}', "not valid JSON"),
])
def test_garbage_answers_make_the_kind_unknown_not_a_crash(served, fake_api, body, expect):
    fake_api.add_fault(r"^/api/v1/pods$", 200, times=None, body=body)
    result = api.run_audit(served, "migrating", focus_config(served_dir(served)), now=NOW)
    [row] = rows(result, "pods-xds-agent")
    assert row["status"] == "UNKNOWN" and expect in row["message"]
    assert result.exit_code == 3


def test_rejected_credentials_are_unknown_never_go(tmp_path, fake_api, fake_asm, capsys):
    fake_api.load(cluster_objects())
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    fake_api.write_kubeconfig(tmp_path / "ok", context="ok")  # the server now requires a token
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod", token="stolen", accept_token=False)
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    result = api.run_audit(api.Target(kubeconfig=str(kc), asm_kubeconfig=str(akc)), "migrating",
                           focus_config(tmp_path), now=NOW)
    [row] = rows(result, "pods-xds-agent")
    assert row["status"] == "UNKNOWN" and "unauthorized" in row["message"]
    assert result.exit_code == 3


# ---------------------------------------------------------------- Ctrl-C
def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_when_listing_pods(argv: list[str], cwd: Path, env: dict[str, str], servers: list[FakeApiServer]
                                ) -> tuple[subprocess.Popen[str], str, float]:
    """Run the CLI in a subprocess, send SIGINT once every server has been asked for its pods (lists the tests
    delay); return the process, its stderr and how long it took to end after the signal."""
    # preexec_fn: a shell starts background jobs with SIGINT ignored and children inherit that (Python then
    # installs no KeyboardInterrupt handler); the child gets the default back, as from an interactive shell.
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli.main", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 30
        while not all(any(r.path == "/api/v1/pods" for r in s.requests) for s in servers):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached the pod lists"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
        return proc, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ctrl_c_exits_promptly_with_one_line_and_no_report(tmp_path, fake_api, fake_asm):
    fake_api.load(cluster_objects())
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    fake_api.add_fault(r"^/api/v1/pods$", 200, times=None, delay_s=30)
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc, err, took = interrupt_when_listing_pods(
        ["run", "--kubeconfig", str(kc), "--asm-kubeconfig", str(akc), "--phase", "all", "--out", str(out),
         "--format", "json,csv", "--quiet"], tmp_path, env, [fake_api])
    assert proc.returncode == 130
    assert took < 3, took
    assert err.splitlines() == ["asm-audit: error: interrupted; no report was written"], err
    assert "Traceback" not in err
    assert not (out / "findings.json").exists() and not (out / "report.html").exists()
    assert not list(tmp_path.glob(".out.*.partial"))


# ---------------------------------------------------------------- outputs never lost
OLD = {"findings.json": b'{"old": true}', "findings.csv": b"old,csv\n", "report.html": b"<p>old report</p>"}


def old_report(out: Path) -> None:
    out.mkdir(parents=True)
    for name, data in OLD.items():
        (out / name).write_bytes(data)


def test_a_failing_renderer_leaves_the_previous_report_untouched(tmp_path, capsys, monkeypatch):
    from auditor.render import csv_out

    def disk_full(result: Any, out_dir: Path) -> Path:
        (Path(out_dir) / "findings.csv").write_bytes(b"half a fi")  # what a crash mid-write leaves behind
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(csv_out, "render", disk_full)
    crash_dir = tmp_path / "crash"  # the traceback's file goes here, not into the machine's /tmp on every test run
    crash_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(crash_dir))
    out = tmp_path / "report"
    old_report(out)
    code = main(["run", "--snapshot", str(api.demo_snapshot_path()), "--phase", "uninstall", "--out", str(out),
                 "--format", "json,md,csv", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 4 and len(err) == 1 and "No space left on device" in err[0]
    crash_logs = list(crash_dir.glob("asm-audit-crash-*.log"))
    assert len(crash_logs) == 1 and str(crash_logs[0]) in err[0] and "OSError" in crash_logs[0].read_text()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == OLD  # not one file replaced, none added
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_a_successful_run_replaces_the_report_files_and_leaves_no_temporaries(tmp_path, capsys):
    out = tmp_path / "report"
    old_report(out)
    code = main(["run", "--snapshot", str(api.demo_snapshot_path()), "--phase", "uninstall", "--out", str(out),
                 "--format", "json,csv", "--quiet"])
    assert code == 1
    assert json.loads((out / "findings.json").read_text())["gate"] == "uninstall"
    assert (out / "findings.csv").read_bytes() != OLD["findings.csv"]
    # Not asked for, and not a report this tool wrote (an earlier run's would be removed: tests/test_ci_outputs_22h.py):
    # left alone.
    assert (out / "report.html").read_bytes() == OLD["report.html"]
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "findings.json", "report.html"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_write_atomic_never_leaves_half_a_file(tmp_path, monkeypatch):
    from auditor import render

    target = tmp_path / "findings.json"
    target.write_bytes(b"previous")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(render.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render.write_atomic(target, b"new content")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.json"]  # the temp file is gone too


def test_out_pointing_at_a_file_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "report"
    out.write_text("not a directory")
    code = main(["run", "--snapshot", str(api.demo_snapshot_path()), "--phase", "uninstall", "--out", str(out),
                 "--format", "json", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a directory" in err[0]
    assert out.read_text() == "not a directory"


def test_a_live_pod_with_fields_of_the_wrong_type_is_no_crash(served, fake_api, tmp_path, capsys):
    """A live answer is shape-checked like a snapshot: odd types never end the run, and are never judged (the
    API server would not send them: such an answer is no evidence). The pods are UNKNOWN, naming the pod."""
    odd = f.pod("odd-1", owner=None)
    odd["metadata"]["creationTimestamp"] = 1700000000
    odd["status"]["startTime"] = 1700000001
    odd["metadata"]["labels"] = {"pod-template-hash": 7}
    fake_api.load([odd])
    code = main(cli(served, tmp_path / "out", "--phase", "migrating"))
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    assert row["status"] == "UNKNOWN", row
    assert "Pod 'shop/odd-1': metadata.creationTimestamp must be a string" in row["message"], row
    assert code == 3


def test_ctrl_c_while_a_fleet_is_read_into_a_snapshot(tmp_path, fake_api, fake_asm):
    """Two clusters read side by side into a snapshot: exit 130, one line, no archive, no temp files left."""
    second = FakeApiServer().start()
    try:
        for server in (fake_api, second):
            server.load(cluster_objects())
            server.add_fault(r"^/api/v1/pods$", 200, times=None, delay_s=30)
        fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(json.dumps({
            "clusters": [{"name": "one", "kubeconfig": str(fake_api.write_kubeconfig(tmp_path / "k1", context="a"))},
                         {"name": "two", "kubeconfig": str(second.write_kubeconfig(tmp_path / "k2", context="b"))}],
            "asm": {"kubeconfig": str(fake_asm.write_kubeconfig(tmp_path / "akc", context="asm"))}}))
        scratch = tmp_path / "tmp"
        scratch.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(scratch)}
        out = tmp_path / "snap.tar.gz"
        proc, err, took = interrupt_when_listing_pods(["snapshot", "--fleet", str(fleet), "--out", str(out),
                                                       "--quiet"], tmp_path, env, [fake_api, second])
    finally:
        second.stop()
    assert proc.returncode == 130, err
    assert took < 5, took
    assert err.splitlines() == ["asm-audit: error: interrupted; no report was written"], err
    assert not out.exists()
    assert not list(scratch.iterdir())  # the writer's temp directory is gone


def exec_plugin_kubeconfig(path: Path, server: str, plugin: Path) -> Path:
    """A kubeconfig (context `prod`) whose user runs `plugin` as its credential plugin (users[].user.exec)."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": str(plugin), "interactiveMode": "Never"}}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}]}))
    return path


@pytest.mark.parametrize("old_token_accepted", [True, False], ids=["old-token-still-valid", "old-token-refused"])
def test_a_credential_plugin_that_fails_to_renew(tmp_path, fake_api, fake_asm, old_token_accepted):
    """First call: a token already past its expiry; later calls fail (a login that timed out mid-run).

    The old token is still sent: a server that takes it gives a normal audit; one that refuses it gives
    UNKNOWN naming the plugin's failure. Either way no stray log line.
    """
    fake_api.load(cluster_objects())
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    fake_api.write_kubeconfig(tmp_path / "token-only", context="t",
                              token="renew-me" if old_token_accepted else "someone-else")  # what the server takes
    marker = tmp_path / "called"
    plugin = tmp_path / "fake-login"
    plugin.write_text("#!/bin/sh\n"
                      f"if [ -e '{marker}' ]; then echo 'login session expired' >&2; exit 1; fi\n"
                      f"touch '{marker}'\n"
                      "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", \"kind\": \"ExecCredential\", "
                      "\"status\": {\"token\": \"renew-me\", \"expirationTimestamp\": \"2020-01-01T00:00:00Z\"}}'\n")
    plugin.chmod(0o755)
    kc = exec_plugin_kubeconfig(tmp_path / "kc", fake_api.url, plugin)
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    # In a subprocess: under pytest the root logger has a capturing handler, so a stray line would not show.
    proc = subprocess.run([sys.executable, "-m", "auditor.cli.main", "run", "--kubeconfig", str(kc),
                           "--asm-kubeconfig", str(akc), "--phase", "migrating", "--out", str(tmp_path / "out"),
                           "--format", "json", "--quiet", "--config", str(focus_config(tmp_path))],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    code, err = proc.returncode, proc.stderr
    assert "ERROR" not in err and "Traceback" not in err, err
    assert marker.exists()  # the plugin ran, and failed when asked to renew
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    if old_token_accepted:
        assert code == 0 and row["status"] == "PASS"
    else:
        assert code == 3 and row["status"] == "UNKNOWN"
        assert "credential plugin failed to renew the token: exec: process returned 1" in row["message"], row


@pytest.mark.parametrize("mutate", [
    lambda p: p["status"].__setitem__("phase", 1),
    lambda p: p["metadata"]["labels"].__setitem__("istio", 5),
    lambda p: p["spec"].__setitem__("terminationGracePeriodSeconds", "30s"),
    lambda p: p["metadata"].setdefault("annotations", {}).__setitem__("proxy.istio.io/config", 7),
], ids=["int-phase", "int-istio-label", "text-grace", "int-proxy-config"])
def test_a_live_pod_that_cannot_be_summarised_makes_pods_unknown_named(served, fake_api, tmp_path, capsys, mutate):
    """Types the summary cannot use: the cluster's pods are UNKNOWN naming the pod, never exit 4, never GO."""
    odd = f.pod("odd-2", owner=None, labels={"app": "odd"})
    mutate(odd)
    fake_api.load([odd])
    code = main(cli(served, tmp_path / "out", "--phase", "migrating"))
    capsys.readouterr()
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code == 3 and doc["verdict"] == "INCOMPLETE"
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    # Refused by the shape check of the list answer (auditor.sources.shapes), before the summary meets it.
    assert row["status"] == "UNKNOWN" and "GET /api/v1/pods: Pod 'shop/odd-2': " in row["message"], row
    assert row["message"].endswith("; Pod objects were not judged"), row


def test_the_snapshot_writer_ignores_threads_that_write_after_an_abort(tmp_path):
    """After Ctrl-C the main thread aborts the writer while a fleet thread may still be reading a page."""
    from types import SimpleNamespace

    from auditor import kinds as K
    from auditor.sources.snapshot import SnapshotWriter

    writer = SnapshotWriter(tmp_path / "snap.tar.gz")
    source = SimpleNamespace(name="one", role="data-plane", cluster_id=None)
    writer.begin(source, K.POD)
    writer.items(source, K.POD, [f.pod("a-1")])
    writer.abort()
    assert not writer.root.exists()
    # What the late thread still does: nothing fails, nothing is recreated.
    writer.items(source, K.POD, [f.pod("a-2")])
    writer.end(source, K.POD, "ok")
    writer.unreachable(source, "late")
    writer.version(source, f.version_info())
    writer.begin(source, K.SERVICE)
    assert not writer.root.exists()
    assert not (tmp_path / "snap.tar.gz").exists()
