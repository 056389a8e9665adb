"""findings.csv: one row per finding, evidence as compact JSON, safe to open in a spreadsheet.

findings.json is the exact record; this file is what people open in Excel or LibreOffice, so two things
are done to text cells there:
- a cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR: OWASP's
  "CSV injection") gets a leading apostrophe, which spreadsheets read as "this is text";
- a cell longer than Excel's limit (32,767 characters) is cut, saying how much more findings.json holds
  (a longer cell spills into the next rows in Excel, shifting every column after it).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd

from auditor.engine import AuditResult
from auditor.render import write_atomic

CELL_LIMIT = 32_767  # Excel's maximum characters per cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """One text cell made safe for a spreadsheet (see the module docstring)."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    if len(text) > CELL_LIMIT:
        note = f"\u2026 [{len(text) - CELL_LIMIT + 200:,} more characters in findings.json]"
        text = text[:CELL_LIMIT - 200] + note
    return text


def _needs_care(value: object) -> bool:
    return isinstance(value, str) and (value.startswith(_FORMULA_START) or len(value) > CELL_LIMIT)


def render(result: AuditResult, out_dir: Path) -> Path:
    frame = result.findings.copy()
    frame["evidence"] = [orjson.dumps(e, default=str).decode() for e in frame["evidence"]]
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):  # text: object, str or category columns
            values = frame[name].tolist()
            if any(_needs_care(v) for v in values):
                frame[name] = [spreadsheet_text(v) if _needs_care(v) else v for v in values]
    return write_atomic(out_dir / "findings.csv", frame.to_csv(index=False).encode("utf-8"))
