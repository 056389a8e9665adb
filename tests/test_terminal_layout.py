"""What a person reads in a terminal or a CI log (issue 17, item 2): ids, codes and object names never break
mid-word; narrow or piped, one line per finding (`SEVERITY code check cluster kind/ns/name: message`); the verdict
is the last line; progress lines are short and whole; an unreachable cluster is one line naming its server."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from auditor.cli.common import Progress
from auditor.cli.main import main
from tests.test_faults import free_port, kubeconfig_to

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# Names the demo prints that a folding table used to cut (`istio-sidecars-rema|ining`).
WHOLE_NAMES = ("istio-sidecars-remaining", "mesh-config-xds-agent", "istio-control-plane-removed")
DEMO_FIRST_BLOCKER = ("BLOCKER AA1610 egress-routes-to-asm cluster-a "
                      "VirtualService/shop/direct-cnn-through-egress-gateway: edition.cnn.com: the Istio egress "
                      "gateway still gets traffic")


def env_for(columns: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    env.update(PYTHONPATH=str(REPO), COLUMNS=str(columns), TERM="xterm-256color")
    return env


def piped(columns: int, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli.main", *argv], capture_output=True, text=True,
                          env=env_for(columns), timeout=180, cwd=REPO)


def in_terminal(columns: int, *argv: str) -> tuple[int, str]:
    """Run asm-audit on a pseudo-terminal of `columns` columns; its screen output (colours stripped)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 200, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli.main", *argv], stdin=slave, stdout=slave,
                            stderr=slave, env=env_for(columns), cwd=REPO, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=180)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")


def test_checks_at_80_columns_piped_keeps_every_id_and_code_whole() -> None:
    proc = piped(80, "checks")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    for name in WHOLE_NAMES:
        assert any(line.startswith(name + " (") for line in lines), name
    # istio-sidecars-remaining's codes, whole (the first line of them: AA1215 wraps to the next)
    assert "    codes: AA1201 AA1210 AA1211 AA1212 AA1213 AA1241 AA1222 AA1230 AA1240 AA1214" in lines


def test_checks_in_an_80_column_terminal_keeps_every_id_whole() -> None:
    code, screen = in_terminal(80, "checks")
    assert code == 0
    lines = screen.splitlines()
    for name in WHOLE_NAMES:
        assert any(line.startswith(name + " (") for line in lines), name
    assert max(len(line) for line in lines) <= 80


def test_checks_in_a_wide_terminal_is_a_table_with_whole_ids() -> None:
    code, screen = in_terminal(120, "checks")
    assert code == 0
    assert "asm-audit checks" in screen
    for name in WHOLE_NAMES:
        assert re.search(rf"^ {re.escape(name)} +\S", screen, re.M), name
    assert max(len(line) for line in screen.splitlines()) <= 120


def test_demo_piped_prints_one_line_per_blocker_and_the_verdict_last(tmp_path: Path) -> None:
    proc = piped(80, "demo", "--format", "json", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert "Blockers (27)" in lines
    assert any(line.startswith(DEMO_FIRST_BLOCKER) for line in lines)
    blocker_lines = [line for line in lines if line.startswith("BLOCKER ")]
    assert len(blocker_lines) == 10  # the top 10; "... and 17 more in the report"
    assert "... and 17 more in the report" in lines
    verdict = "NO-GO  gate uninstall (state Migrating and Istio's control plane still installed) exit 1"
    assert [line.strip() for line in lines].count(verdict) == 2 and lines[-1].strip() == verdict
    assert lines[4].strip() == verdict  # after where the demo snapshot is and the 3 progress lines


def test_demo_in_an_80_column_terminal_prints_lines_not_a_folded_table(tmp_path: Path) -> None:
    code, screen = in_terminal(80, "demo", "--format", "json", "--out", str(tmp_path / "out"))
    assert code == 1
    assert DEMO_FIRST_BLOCKER in screen.replace("\n", "")  # the terminal wraps the long line, we do not
    assert "┃" not in screen
    assert screen.strip().splitlines()[-1].strip().startswith("NO-GO  gate uninstall")


def test_demo_in_a_wide_terminal_is_a_table_whose_names_stay_whole(tmp_path: Path) -> None:
    code, screen = in_terminal(140, "demo", "--format", "json", "--out", str(tmp_path / "out"))
    assert code == 1
    assert "┃ check" in screen
    for whole in ("istio-sidecars-remaining", "shop/direct-cnn-through-egress-gateway", "AuthorizationPolicy",
                  "istio-system/istio-eastwestgateway", "AA1610"):
        assert re.search(rf"│ {re.escape(whole)} +│", screen), whole
    assert max(len(line) for line in screen.splitlines() if line[:1] in "┏┃┡│└") <= 140


def test_snapshot_progress_lines_fit_80_columns(tmp_path: Path) -> None:
    proc = piped(80, "demo", "--format", "json", "--out", str(tmp_path / "out"))
    reading = [line for line in proc.stderr.splitlines() if ": reading " in line]
    # --phase auto: each cluster's files in one pass, the ASM cluster's too (its migration state with every kind any
    # gate's checks read: before, the migration state first and the other 21 kinds in a second pass)
    assert reading == ["asm: reading 23 kinds from the snapshot", "cluster-a: reading 64 kinds from the snapshot",
                       "cluster-b: reading 64 kinds from the snapshot"]


class RecordingStream(io.StringIO):
    """Records each write call: a line written in two calls can be split by another thread's line."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)

    def isatty(self) -> bool:
        return False


def test_progress_lines_from_fleet_threads_are_written_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = RecordingStream()
    monkeypatch.setattr(sys, "stderr", stream)
    progress = Progress(quiet=False)

    def report(cluster: str) -> None:
        for i in range(200):
            progress(f"{cluster}: reading Kind{i}")

    with progress:
        threads = [threading.Thread(target=report, args=(f"cluster-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(stream.calls) == 800
    assert all(re.fullmatch(r"cluster-\d: reading Kind\d+\n", call) for call in stream.calls)


def test_an_unreachable_cluster_is_one_line_naming_its_server_and_cause(tmp_path: Path, capsys) -> None:
    port = free_port()
    kc = kubeconfig_to(tmp_path / "kc", port)
    code = main(["run", "--kubeconfig", str(kc), "--phase", "all", "--format", "json", "--out",
                 str(tmp_path / "out")])
    assert code == 3
    err = capsys.readouterr().err
    about_down = [line for line in err.splitlines() if " unreachable: " in line]
    assert about_down == [f"UNKNOWN cluster down unreachable: cannot connect to http://127.0.0.1:{port}: "
                          "connection refused (78 finding(s) UNKNOWN)"]
    assert "NewConnectionError" not in err
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [facts] = [c for c in doc["clusters"] if c["name"] == "down"]
    assert facts["error"] == f"cannot connect to http://127.0.0.1:{port}: connection refused"
    assert not any("NewConnectionError" in r["message"] for r in doc["findings"])


# config-import's remediation for a spec that differs (checks/config_import.py): a comment, then the command; the
# namespace of the object quoted by sh() holds a newline, as a hostile name could.
DIFFERS_REMEDIATION = ("# decide which spec is right; to make ASM's equal to the cluster's:\n"
                       "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n 'shop\nevil' get virtualservice/cart -o yaml")


def test_next_prints_each_line_of_a_remediation_and_a_quoted_newline_as_an_escape() -> None:
    """The remediation's own newline (between the comment and the command) starts a line under the first; the one
    inside a quoted name stays visible as an escape (a name must not forge a line). Before, both were `\\x0a`."""
    from auditor.cli.common import next_lines

    assert next_lines(DIFFERS_REMEDIATION) == [
        "next: # decide which spec is right; to make ASM's equal to the cluster's:",
        "      kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n 'shop\\x0aevil' get virtualservice/cart -o yaml"]


@pytest.mark.parametrize("text,lines", [
    ("kubectl delete istio/default\n# if it stays: kubectl patch istio/default --type=merge", 2),  # Sail's fallback
    ("echo 'never closed\nkubectl get pods", 1),  # a quote that does not close: nothing tells the lines apart
    ('kubectl -n "a\nb" get pods\nkubectl get svc', 2),  # a newline inside double quotes is the name's
    ("kubectl get pods \\\n  -A", 1),  # an escaped newline continues the command
])
def test_next_splits_only_at_the_shell_texts_own_newlines(text: str, lines: int) -> None:
    from auditor.cli.common import next_lines

    printed = next_lines(text)
    assert len(printed) == lines
    assert all("\n" not in line for line in printed)


def test_next_lines_sit_under_the_first_command_in_chinese() -> None:
    from auditor import i18n
    from auditor.cli.common import next_lines

    with i18n.language("zh-CN"):
        head, second = next_lines("a\nb")
    prefix = "\u4e0b\u4e00\u6b65\uff1a"  # the translation's "next: ", four wide characters of two cells each
    assert head == prefix + "a" and second == " " * 8 + "b"
