"""findings.csv: one row per finding, evidence as compact JSON."""

from __future__ import annotations

from pathlib import Path

import orjson

from auditor.engine import AuditResult
from auditor.render import write_atomic


def render(result: AuditResult, out_dir: Path) -> Path:
    frame = result.findings.copy()
    frame["evidence"] = [orjson.dumps(e, default=str).decode() for e in frame["evidence"]]
    return write_atomic(out_dir / "findings.csv", frame.to_csv(index=False).encode("utf-8"))
