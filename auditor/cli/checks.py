"""`asm-audit checks`: the catalogue, built-ins and plugins alike."""

from __future__ import annotations

import sys
import textwrap
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from auditor.cli.common import TABLE_MIN_WIDTH, err
from auditor.errors import UsageError, unknown_phase
from auditor.model import Gate
from auditor.registry import load_registry


def checks(
    phase: Annotated[str | None, typer.Option("--phase", help="Only checks of this gate.")] = None,
    format: Annotated[str, typer.Option("--format", help="table, json or md.")] = "table",
) -> None:
    """List the check catalogue: id, gates, severity, finding codes, title (json: rationale, remediation too)."""
    if phase is not None and phase not in {g.value for g in Gate}:
        raise unknown_phase(phase, [g.value for g in Gate])
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
        print_catalogue(rows)
    for name, problem in registry.broken.items():
        err.print(f"[yellow]plugin {name} not loaded:[/] {problem}")


def print_catalogue(rows: list[dict[str, Any]]) -> None:
    """A table on a wide terminal; below TABLE_MIN_WIDTH columns or piped, a few lines per check (nothing folds).

    Ids and codes are never folded mid-word (`istio-sidecars-rema|ining`): the id column does not wrap, codes wrap
    only between codes, and the title takes the width that is left."""
    out = Console(emoji=False)  # ids, titles and codes as written
    if not out.is_terminal or out.width < TABLE_MIN_WIDTH:
        for r in rows:
            out.print(f"[bold]{escape(r['id'])}[/] ({r['severity']}; {', '.join(r['gates'])})", soft_wrap=True)
            out.print(Padding(escape(r["title"]), (0, 0, 0, 4), expand=False))
            # Wrapped between codes only (a check can declare a dozen), so the line fits the terminal.
            out.print(textwrap.fill(" ".join(o["code"] for o in r["outcomes"]), width=max(out.width, 40),
                                    initial_indent="    codes: ", subsequent_indent=" " * 11,
                                    break_long_words=False, break_on_hyphens=False), soft_wrap=True)
        return
    table = Table(title="asm-audit checks", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("gates", min_width=len("assessment,"))
    table.add_column("severity", no_wrap=True)
    table.add_column("codes", min_width=len("AA0000"), max_width=len("AA0000 AA0000"))
    table.add_column("title", min_width=20)
    for r in rows:
        table.add_row(r["id"], ", ".join(r["gates"]), r["severity"], " ".join(o["code"] for o in r["outcomes"]),
                      escape(r["title"]))
    out.print(table)
