"""The audit history: every `run --history PATH` appended to an SQLite database (stdlib sqlite3).

The file is ours only when it says so: SQLite's header, `PRAGMA application_id` = APPLICATION_ID and a
`user_version` (the schema version) we know. Anything else (another program's database, a corrupt or foreign
file, a newer schema) is a UsageError (exit 2) and the file is never written. A missing or empty file is
created in one IMMEDIATE transaction, so two runs starting at once cannot both initialise it; the journal is
WAL and every append is one IMMEDIATE transaction with a busy timeout, so concurrent runs queue, never clash.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import UsageError
from auditor.tracking import RunRecord

APPLICATION_ID = 0x41534D41  # "ASMA"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generated_at TEXT NOT NULL,
    ts REAL NOT NULL,
    gate TEXT NOT NULL,
    verdict TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    inputs_sha256 TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    blockers INTEGER NOT NULL,
    unknown INTEGER NOT NULL,
    istio_sidecar_pods INTEGER          -- NULL: no cluster's pods could be read
);
CREATE INDEX runs_by_time ON runs (ts);
CREATE TABLE run_verdicts (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    cluster TEXT NOT NULL, gate TEXT NOT NULL, verdict TEXT NOT NULL,
    PRIMARY KEY (run_id, cluster, gate)
);
CREATE TABLE run_checks (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    cluster TEXT NOT NULL, gate TEXT NOT NULL, check_id TEXT NOT NULL, status TEXT NOT NULL,
    severity TEXT NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX run_checks_by_run ON run_checks (run_id);
CREATE TABLE run_blockers (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    cluster TEXT NOT NULL, gate TEXT NOT NULL, check_id TEXT NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX run_blockers_by_run ON run_blockers (run_id);
CREATE TABLE run_clusters (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    cluster TEXT NOT NULL,
    istio_sidecar_pods INTEGER,         -- NULL: its pods could not be read
    PRIMARY KEY (run_id, cluster)
);
CREATE TABLE run_sidecar_pods (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    cluster TEXT NOT NULL, namespace TEXT NOT NULL, pods INTEGER NOT NULL
);
CREATE INDEX run_sidecar_pods_by_run ON run_sidecar_pods (run_id);
"""

RUN_COLUMNS = ("id", "generated_at", "gate", "verdict", "exit_code", "blockers", "unknown", "istio_sidecar_pods",
               "inputs_sha256", "tool_version")


def enable_wal(conn: sqlite3.Connection, timeout_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """PRAGMA journal_mode = WAL, waiting as the busy timeout does. Another run that opened the new file between its
    creation and this switch may be appending (in the rollback journal, holding the write lock): SQLite then answers
    "database is locked" at once instead of calling the busy handler (a connection holding a read lock may not wait
    for one holding the write lock: deadlock avoidance), so the switch is tried again until that append commits."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


@dataclass(frozen=True)
class PreviousRun:
    """What the last recorded run said: for 'what changed' in notifications."""

    id: int
    generated_at: str
    verdict: str
    gate: str
    blockers: int
    istio_sidecar_pods: int | None
    verdicts: dict[tuple[str, str], str]


def _refuse(path: Path, why: str) -> UsageError:
    return UsageError(f"--history {path}: {why}; the file was not changed")


def _looks_like_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER


class History:
    """An open history database (context manager). `create=False` only reads an existing one."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.conn = self._open(create)

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ opening
    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise UsageError(f"--history {path} is a directory")
        exists = path.exists()
        if not exists and not create:
            raise UsageError(f"--history {path}: no such history database")
        if not exists and not path.parent.is_dir():
            raise UsageError(f"--history {path}: directory {path.parent} does not exist")
        try:
            if exists and path.stat().st_size and not _looks_like_sqlite(path):
                raise _refuse(path, "not an asm-audit history (not an SQLite database, or corrupt)")
        except OSError as exc:
            raise UsageError(f"--history {path}: cannot read: {exc.strerror or exc}") from exc
        uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'ro'}"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise UsageError(f"--history {path}: cannot open: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self._initialised(conn):
                if not create:
                    raise _refuse(path, "an empty database, not an asm-audit history")
                self._initialise(conn)
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _refuse(path, f"not a readable asm-audit history ({exc})") from exc
        except UsageError:
            conn.close()
            raise
        return conn

    def _initialised(self, conn: sqlite3.Connection) -> bool:
        """True for our schema, False for an empty database; UsageError for anything else."""
        # One statement, so one snapshot: read one by one, another run creating the same file could commit between
        # the reads (its application id unseen, its schema seen), and the file was refused as another program's.
        application_id, version, tables = conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id()), "
            "(SELECT user_version FROM pragma_user_version()), (SELECT count(*) FROM sqlite_master)").fetchone()
        if application_id == 0 and version == 0 and tables == 0:
            return False
        if application_id != APPLICATION_ID:
            raise _refuse(self.path, "another program's SQLite database, not an asm-audit history")
        if version > SCHEMA_VERSION:
            raise _refuse(self.path, f"history schema {version} is newer than this asm-audit knows "
                                     f"({SCHEMA_VERSION}); upgrade asm-audit")
        if version < 1:
            raise _refuse(self.path, f"unknown history schema {version}")
        return True

    def _initialise(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # a second run creating the same file waits here, then finds it done
        try:
            if not self._initialised(conn):
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        enable_wal(conn)  # kept in the file: readers never block the appending run

    # ------------------------------------------------------------ writing
    def append(self, record: RunRecord) -> int:
        """Add one run (all its rows or none); returns its id."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            run_id = conn.execute(
                "INSERT INTO runs (generated_at, ts, gate, verdict, exit_code, inputs_sha256, tool_version, "
                "blockers, unknown, istio_sidecar_pods) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.generated_at, record.timestamp, record.gate, record.verdict, record.exit_code,
                 record.inputs_sha256, record.tool_version, record.blockers_total(), record.status_total("UNKNOWN"),
                 record.sidecar_pods_total())).lastrowid
            conn.executemany("INSERT INTO run_verdicts VALUES (?, ?, ?, ?)",
                             [(run_id, c, g, v) for (c, g), v in record.verdicts.items()])
            conn.executemany("INSERT INTO run_checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(run_id, c.cluster, c.gate, c.check_id, c.status, c.severity, c.count)
                              for c in record.checks])
            conn.executemany("INSERT INTO run_blockers VALUES (?, ?, ?, ?, ?)",
                             [(run_id, b.cluster, b.gate, b.check_id, b.count) for b in record.blockers])
            clusters = sorted({c for c, _ in record.verdicts} | set(record.sidecar_pods))
            conn.executemany("INSERT INTO run_clusters VALUES (?, ?, ?)",
                             [(run_id, c, sum(record.sidecar_pods[c].values()) if c in record.sidecar_pods else None)
                              for c in clusters])
            conn.executemany("INSERT INTO run_sidecar_pods VALUES (?, ?, ?, ?)",
                             [(run_id, cluster, ns, n) for cluster, per_ns in record.sidecar_pods.items()
                              for ns, n in per_ns.items()])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        assert run_id is not None
        return int(run_id)

    # ------------------------------------------------------------ reading
    def runs(self, since: float | None = None) -> list[dict[str, Any]]:
        """Every run (oldest first), from `since` (Unix seconds) on."""
        rows = self.conn.execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE ts >= ? ORDER BY ts, id",
            (since if since is not None else float("-inf"),)).fetchall()
        return [dict(zip(RUN_COLUMNS, row, strict=True)) for row in rows]

    def previous(self) -> PreviousRun | None:
        row = self.conn.execute("SELECT id, generated_at, verdict, gate, blockers, istio_sidecar_pods FROM runs "
                                "ORDER BY ts DESC, id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        verdicts = {(c, g): v for c, g, v in self.conn.execute(
            "SELECT cluster, gate, verdict FROM run_verdicts WHERE run_id = ?", (row[0],))}
        return PreviousRun(*row, verdicts=verdicts)

    def burndown(self, limit: int = 500) -> dict[str, Any]:
        """The last `limit` runs as series: Istio-sidecar pods left per cluster, blockers per audited gate.

        A gate's series has a point only where that gate was audited (0 blockers there is a real 0); a cluster's
        only where its pods were read.
        """
        runs = self.conn.execute("SELECT id, ts FROM (SELECT id, ts FROM runs ORDER BY ts DESC, id DESC LIMIT ?) "
                                 "ORDER BY ts, id", (limit,)).fetchall()
        if not runs:
            return {"runs": 0, "sidecars": {}, "blockers": {}}
        first = runs[0][0]
        when = dict(runs)
        sidecars: dict[str, list[tuple[float, float]]] = {}
        for run_id, cluster, pods in self.conn.execute(
                "SELECT run_id, cluster, istio_sidecar_pods FROM run_clusters WHERE run_id >= ? AND "
                "istio_sidecar_pods IS NOT NULL ORDER BY run_id", (first,)):
            if run_id in when:
                sidecars.setdefault(cluster, []).append((when[run_id], float(pods)))
        blockers: dict[str, list[tuple[float, float]]] = {}
        counts = {(r, g): n for r, g, n in self.conn.execute(
            "SELECT run_id, gate, SUM(count) FROM run_blockers WHERE run_id >= ? GROUP BY run_id, gate", (first,))}
        for run_id, gate in self.conn.execute(
                "SELECT DISTINCT run_id, gate FROM run_verdicts WHERE run_id >= ? ORDER BY run_id", (first,)):
            if run_id in when:
                blockers.setdefault(gate, []).append((when[run_id], float(counts.get((run_id, gate), 0))))
        return {"runs": len(runs), "sidecars": sidecars, "blockers": blockers}
