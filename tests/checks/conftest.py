"""Check tests run the real engine on a snapshot written from real-shaped objects (tests/factory.py).

`audit(clusters, phase, ...)` writes the objects with `write_snapshot`, marks the collection complete
(a kind with no objects is an empty, known answer) except for the kinds named in `unreadable`
(recorded as a read error, so the engine's UNKNOWN path is exercised), and returns an `Audit` whose
`rows(check_id)` are the findings of one check as plain dicts.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.config import Config
from auditor.engine import AuditResult, run_audit
from auditor.findings import records
from auditor.kinds import Kind
from auditor.sources.snapshot import open_snapshot
from tests.factory import version_info, write_snapshot

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)


@dataclass
class Audit:
    result: AuditResult

    def rows(self, check_id: str, gate: str | None = None) -> list[dict[str, Any]]:
        return [r for r in records(self.result.findings)
                if r["check_id"] == check_id and (gate is None or r["gate"] == gate)]

    def statuses(self, check_id: str, gate: str | None = None) -> list[str]:
        return [r["status"] for r in self.rows(check_id, gate)]

    def by_name(self, check_id: str, gate: str | None = None) -> dict[str, dict[str, Any]]:
        """Rows keyed by subject name ("" for cluster-level rows; later rows win)."""
        return {r["name"]: r for r in self.rows(check_id, gate)}


AuditFn = Callable[..., Audit]


@pytest.fixture
def audit(tmp_path: Path) -> AuditFn:
    counter = itertools.count()

    def run(clusters: dict[str, list[dict]], phase: str, *, asm: list[dict] | None = None,
            versions: dict[str, dict | None] | None = None,
            unreadable: dict[str, dict[Kind, str]] | None = None,
            config: Config | dict | None = None, asm_openapi: dict | None = None) -> Audit:
        root = tmp_path / f"snap-{next(counter)}"
        all_clusters = dict(clusters)
        if asm is not None:
            all_clusters["asm"] = asm
        # Every cluster answers /version unless a test says otherwise (None = no version.json).
        vers = {name: version_info() for name in all_clusters}
        vers.update(versions or {})
        entries = []
        for name in all_clusters:
            entry: dict[str, Any] = {"name": name, "role": "asm" if name == "asm" else "data-plane",
                                     "dir": name, "complete": True}
            bad = (unreadable or {}).get(name) or {}
            if bad:
                entry["kinds"] = {kind.key: reason for kind, reason in bad.items()}
            entries.append(entry)
        manifest: dict[str, Any] = {"clusters": entries}
        if asm_openapi:
            manifest["asm_openapi"] = asm_openapi
        write_snapshot(root, all_clusters, versions={k: v for k, v in vers.items() if v is not None},
                       manifest=manifest)
        if isinstance(config, dict):
            config = Config.model_validate(config)
        return Audit(run_audit(open_snapshot(root), phase, config, now=NOW))

    return run
