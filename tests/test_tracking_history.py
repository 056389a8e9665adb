"""--history: runs appended to SQLite, listed by `asm-audit history`, drawn as a burn-down; foreign files refused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.api import demo_snapshot_path
from auditor.cli.main import main
from auditor.history import History
from tests import factory as f


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def burn_down_snapshots(root: Path, left: tuple[int, ...]) -> list[Path]:
    """One snapshot per step: `cart` has 6 pods, `n` of them still on Istio's sidecar, the rest on ASM's proxy."""
    snapshots = []
    for i, n in enumerate(left):
        cart = f.deployment("cart")
        objects = [f.namespace("shop"), f.istiod(), f.mesh_configmap(), *cart,
                   *f.workload_pods(cart, n, proxy="istio"), *f.workload_pods(cart, 6 - n, first=n, proxy="asm")]
        # Complete: the cluster has no other objects (its Services are known, none: the ASM pods' CA_ADDR names no
        # istiod of Istio's; without them it would be unproven, AA1234; nor are there VMs).
        snapshots.append(f.write_snapshot(root / f"step{i}", {"c1": objects}, versions={"c1": f.version_info()},
                                          manifest={"clusters": [{"name": "c1", "complete": True}]}))
    return snapshots


def audit_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str], db: Path, left: tuple[int, ...],
                formats: str = "json") -> list[int]:
    config = tmp_path / "only.yaml"
    config.write_text(json.dumps(f.only_checks("istio-sidecars-remaining")))  # JSON is YAML
    codes = []
    for i, snapshot in enumerate(burn_down_snapshots(tmp_path / "snapshots", left)):
        code, _, _ = run_cli(capsys, "run", "--snapshot", str(snapshot), "--phase", "uninstall", "--config",
                             str(config), "--out", str(tmp_path / f"out{i}"), "--format", formats, "--quiet",
                             "--history", str(db))
        codes.append(code)
    return codes


def test_each_run_is_appended_and_listed_as_table_json_and_csv(tmp_path, capsys):
    db = tmp_path / "history.db"
    assert audit_steps(tmp_path, capsys, db, (6, 3, 0)) == [1, 1, 0]
    code, out, _ = run_cli(capsys, "history", "--history", str(db), "--format", "json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [(r["id"], r["gate"], r["verdict"], r["exit_code"], r["blockers"], r["unknown"], r["istio_sidecar_pods"])
            for r in runs] == [(1, "uninstall", "NO-GO", 1, 1, 0, 6), (2, "uninstall", "NO-GO", 1, 1, 0, 3),
                               (3, "uninstall", "GO", 0, 0, 0, 0)]
    assert all(len(r["inputs_sha256"]) == 64 for r in runs)
    code, out, _ = run_cli(capsys, "history", "--history", str(db), "--format", "csv", "--since", "1d")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["istio_sidecar_pods"] for r in rows] == ["6", "3", "0"]
    code, out, _ = run_cli(capsys, "history", "--history", str(db), "--since", "2999-01-01")
    assert code == 0 and "0 run(s)" in out
    code, out, _ = run_cli(capsys, "history", "--history", str(db))
    assert code == 0 and "3 run(s)" in out and "NO-GO" in out
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT namespace, pods FROM run_sidecar_pods WHERE run_id = 2").fetchall() == [
            ("shop", 3)]


def test_reports_show_the_burn_down_of_sidecars_and_blockers(tmp_path, capsys):
    db = tmp_path / "history.db"
    assert audit_steps(tmp_path, capsys, db, (6, 3, 0), formats="json,html") == [1, 1, 0]
    html = (tmp_path / "out2" / "report.html").read_text()
    assert "Burn-down over 3 recorded run(s)" in html
    assert "Pods still on Istio&#39;s sidecar, per cluster" in html or "Pods still on Istio's sidecar" in html
    assert "c1: 0" in html and "uninstall: 0" in html  # the legends give the last value of each series
    with History(db, create=False) as history:
        series = history.burndown()
    assert series["runs"] == 3
    assert [v for _, v in series["sidecars"]["c1"]] == [6.0, 3.0, 0.0]
    assert [v for _, v in series["blockers"]["uninstall"]] == [1.0, 1.0, 0.0]
    first = (tmp_path / "out0" / "report.html").read_text()
    assert "Burn-down over 1 recorded run(s)" in first


def test_without_history_the_reports_have_no_burn_down(tmp_path, capsys):
    code, _, _ = run_cli(capsys, "run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path / "out"),
                         "--format", "html", "--quiet")
    assert code == 1
    assert "Burn-down over" not in (tmp_path / "out" / "report.html").read_text()


def foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
        conn.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    conn.close()


def newer_schema(path: Path) -> None:
    History(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: p.write_bytes(b"\x00garbage, not a database\n" * 40), "not an SQLite database"),
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000), "not a readable asm-audit history"),
    (foreign_database, "another program's SQLite database"),
    (newer_schema, "newer than this asm-audit knows"),
])
def test_a_corrupt_or_foreign_file_is_exit_2_and_never_changed(tmp_path, capsys, make, says):
    db = tmp_path / "history.db"
    make(db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, _, err = run_cli(capsys, "run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path / "out"),
                           "--format", "json", "--quiet", "--history", str(db))
    assert code == 2
    assert len(err) == 1 and says in err[0] and "not changed" in err[0]
    assert not (tmp_path / "out").exists()  # refused before collection
    code, _, err = run_cli(capsys, "history", "--history", str(db))
    assert code == 2 and len(err) == 1
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_history_of_a_missing_or_empty_file_is_exit_2_and_creates_nothing(tmp_path, capsys):
    code, _, err = run_cli(capsys, "history", "--history", str(tmp_path / "none.db"))
    assert code == 2 and "no such history database" in err[0]
    assert not (tmp_path / "none.db").exists()
    code, _, err = run_cli(capsys, "history", "--history", str(tmp_path), "--format", "json")
    assert code == 2 and "is a directory" in err[0]
    code, _, err = run_cli(capsys, "history", "--history", str(tmp_path / "none.db"), "--since", "yesterday")
    assert code == 2 and "--since" in err[0]


def test_an_empty_file_becomes_a_history(tmp_path, capsys):
    db = tmp_path / "history.db"
    db.touch()
    code, _, _ = run_cli(capsys, "run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path / "out"),
                         "--format", "json", "--quiet", "--history", str(db))
    assert code == 1
    code, out, _ = run_cli(capsys, "history", "--history", str(db), "--format", "json")
    assert [r["verdict"] for r in json.loads(out)["runs"]] == ["NO-GO"]


APPENDER = textwrap.dedent("""
    import sys
    from auditor.api import demo_snapshot_path, run_audit, Target
    from auditor.history import History
    from auditor.tracking import record_of
    record = record_of(run_audit(Target(snapshot=str(demo_snapshot_path())), "auto"))
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start appending at the same moment
    for _ in range(int(sys.argv[2])):
        with History(sys.argv[1]) as history:
            history.append(record)
""")


def test_two_processes_appending_at_once_lose_nothing(tmp_path):
    db = tmp_path / "fresh.db"  # not there yet: both processes also race to create it
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(db), "40"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM runs").fetchone() == (80, 80)
        assert conn.execute("SELECT count(*) FROM run_verdicts").fetchone()[0] == 80 * 3
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_cli_runs_at_once_both_record(tmp_path):
    db = tmp_path / "history.db"
    argv = [sys.executable, "-m", "auditor.cli.main", "run", "--snapshot", str(demo_snapshot_path()), "--format",
            "json", "--quiet", "--history", str(db)]
    procs = [subprocess.Popen([*argv, "--out", str(tmp_path / f"out{i}")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, err
        assert "warning" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 2


class _Rows:
    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def fetchone(self) -> tuple:
        return self.rows[0]


class _AnotherRunCreatesItAfterTheFirstRead:
    """A connection to a history file being created: right after our first read, another run initialises the file
    (what two runs appending to a fresh --history at once do; the race test above met it about once in 40 rounds)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn, self.path, self.reads = conn, path, 0

    def execute(self, sql: str) -> _Rows:
        rows = self.conn.execute(sql).fetchall()  # fetched whole: no lock held while the other run writes
        self.reads += 1
        if self.reads == 1:
            History(self.path).close()
        return _Rows(rows)


def test_a_history_another_run_creates_meanwhile_is_not_taken_for_a_foreign_file(tmp_path):
    db = tmp_path / "fresh.db"
    conn = sqlite3.connect(db, isolation_level=None)
    ours = History.__new__(History)
    ours.path = db
    # Before: the application id read before the other run's commit, the schema after it: "another program's".
    assert ours._initialised(_AnotherRunCreatesItAfterTheFirstRead(conn, db)) is False  # empty, as first seen
    conn.close()
    with History(db) as history:  # and the file is a history
        assert history.conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


def test_switching_a_new_history_to_wal_waits_for_an_append_in_progress(tmp_path):
    """A second run that opens the file between its creation and the first run's switch to WAL appends in the rollback
    journal, holding the write lock: SQLite answered the switch "database is locked" at once (no busy wait), and the
    first run failed with exit 2 (seen once in CI: test_two_processes_appending_at_once_lose_nothing). Real SQLite."""
    import threading

    from auditor.history import enable_wal

    db = tmp_path / "new.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (a)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")  # an append in progress, in the rollback journal
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    conn = sqlite3.connect(db, isolation_level=None, timeout=60)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        conn.execute("PRAGMA journal_mode = WAL")  # what the history did: no wait
    enable_wal(conn, timeout_s=30)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    conn.close()
