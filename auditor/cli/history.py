"""`asm-audit history --history PATH`: the runs recorded by `run --history PATH`, oldest first."""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from auditor.errors import UsageError
from auditor.history import RUN_COLUMNS, History
from auditor.render import show_controls

FORMATS = ("table", "json", "csv")
_AGO = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """`7d`, `12h`, `90m` ago, or an ISO date/time (UTC when no offset), as Unix seconds."""
    value = text.strip()
    match = _AGO.match(value)
    if match:
        return (time.time() if now is None else now) - int(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--since {text!r}: expected a duration like 7d, 12h, 90m or an ISO date like "
                         "2026-11-01") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def _cell(value: Any) -> str:
    return "-" if value is None else show_controls(str(value))


def history(
    path: Annotated[Path, typer.Option("--history", help="The history database `run --history` writes.")],
    since: Annotated[str | None, typer.Option("--since", help="Only runs from then on: 7d, 12h, or an ISO "
                                              "date/time.")] = None,
    format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """List the recorded runs: verdict, gate, blockers, UNKNOWN findings, Istio-sidecar pods left."""
    fmt = format.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    start = parse_since(since) if since else None
    with History(path, create=False) as db:
        runs = db.runs(start)
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps({"runs": runs}, option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(RUN_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(runs)
    else:
        table = Table(title=f"{len(runs)} run(s) in {show_controls(str(path))}", title_justify="left")
        shown = ("id", "generated_at", "gate", "verdict", "blockers", "unknown", "istio_sidecar_pods")
        for column in shown:
            table.add_column(column, justify="right" if column in ("id", "blockers", "unknown",
                                                                   "istio_sidecar_pods") else "left")
        for run in runs:
            table.add_row(*(_cell(run[c]) for c in shown))
        Console(highlight=False, markup=False, emoji=False, width=160 if not sys.stdout.isatty() else None).print(table)
    sys.stdout.flush()
