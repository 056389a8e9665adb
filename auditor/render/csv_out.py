"""findings.csv: one row per finding, evidence as compact JSON, safe to open in a spreadsheet.

findings.json is the exact record; this file is what people open in Excel or LibreOffice (or `cat`), so
three things are done to text cells there:
- control and bidi characters (CR, NUL, ESC, U+202E...) are shown as escapes such as `\\x0d`: a bare CR
  ends a record for many CSV readers (forged rows), ESC drives the terminal of whoever runs `cat findings.csv`;
  newlines and tabs stay (multi-line commands), inside a quoted field;
- a cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR: OWASP's
  "CSV injection") gets a leading apostrophe, which spreadsheets read as "this is text";
- a cell longer than Excel's limit (32,767 characters) is cut, saying how much more findings.json holds
  (a longer cell spills into the next rows in Excel, shifting every column after it).
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pandas as pd

from auditor import wire
from auditor.engine import AuditResult
from auditor.render import CONTROL_ESCAPES, show_controls, write_atomic

CELL_LIMIT = 32_767  # Excel's maximum characters per cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_KEPT = "\n\t"  # inside a quoted field, harmless: multi-line commands keep their lines
_SHOWN = re.compile("[" + "".join(re.escape(chr(c)) for c in CONTROL_ESCAPES if chr(c) not in _KEPT) + "]")


def _excel_length(text: str) -> int:
    """Excel counts UTF-16 code units: a character beyond the BMP (an emoji) counts twice."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def spreadsheet_text(text: str) -> str:
    """One text cell made safe for a spreadsheet (see the module docstring)."""
    text = show_controls(text, keep=_KEPT)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    if _excel_length(text) > CELL_LIMIT:
        budget, end = CELL_LIMIT - 200, 0  # room for the note
        while budget >= (2 if ord(text[end]) > 0xFFFF else 1):  # only for the rare cell over the limit
            budget -= 2 if ord(text[end]) > 0xFFFF else 1
            end += 1
        text = f"{text[:end]}\u2026 [{len(text) - end:,} more characters in findings.json]"
    return text


def _needs_care(value: object) -> bool:
    return isinstance(value, str) and (value.startswith(_FORMULA_START) or _SHOWN.search(value) is not None or (
        len(value) > CELL_LIMIT // 2 and _excel_length(value) > CELL_LIMIT))


def render(result: AuditResult, out_dir: Path) -> Path:
    frame = result.findings.drop(columns=["params"], errors="ignore")
    # A non-text key in evidence (a number, as findings.json writes it) is written, not an error.
    frame["evidence"] = [wire.dumps(e, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
                         for e in frame["evidence"]]
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):  # text: object, str or category columns
            values = frame[name].tolist()
            if any(_needs_care(v) for v in values):
                frame[name] = [spreadsheet_text(v) if _needs_care(v) else v for v in values]
    return write_atomic(out_dir / "findings.csv", frame.to_csv(index=False).encode("utf-8"))
