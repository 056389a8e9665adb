"""`asm-audit checks`: the catalogue, built-ins and plugins alike."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.table import Table

from auditor.cli.common import err
from auditor.errors import UsageError
from auditor.model import Gate
from auditor.registry import load_registry


def checks(
    phase: Annotated[str | None, typer.Option("--phase", help="Only checks of this gate.")] = None,
    format: Annotated[str, typer.Option("--format", help="table, json or md.")] = "table",
) -> None:
    """List the check catalogue: id, gates, severity, finding codes, rationale, remediation."""
    if phase is not None and phase not in {g.value for g in Gate}:
        raise UsageError(f"unknown phase {phase!r}; choose one of: {', '.join(g.value for g in Gate)}")
    if format not in ("table", "json", "md"):
        raise UsageError(f"unknown format {format!r}; choose table, json or md")
    registry = load_registry()
    rows = [c.metadata() for c in registry.ordered() if phase is None or Gate(phase) in c.gates]
    if format == "json":
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    elif format == "md":
        lines = ["| id | gates | severity | codes | title |", "|---|---|---|---|---|"]
        lines += [f"| `{r['id']}` | {', '.join(r['gates'])} | {r['severity']} | "
                  f"{' '.join(o['code'] + ' ' + o['status'] for o in r['outcomes'])} | {r['title']} |" for r in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        table = Table(title="asm-audit checks")
        for col in ("id", "gates", "severity", "codes", "title"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r["id"], ", ".join(r["gates"]), r["severity"],
                          " ".join(o["code"] for o in r["outcomes"]), r["title"])
        from rich.console import Console

        Console().print(table)
    for name, problem in registry.broken.items():
        err.print(f"[yellow]plugin {name} not loaded:[/] {problem}")
