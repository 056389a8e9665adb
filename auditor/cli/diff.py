"""`asm-audit diff OLD.json NEW.json`: what changed since the last report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor import diff as delta_of
from auditor.errors import UsageError
from auditor.render import show_controls

FORMATS = ("text", "md", "json")


def diff(
    old: Annotated[Path, typer.Argument(help="The earlier findings.json.")],
    new: Annotated[Path, typer.Argument(help="The later findings.json.")],
    format: Annotated[str, typer.Option("--format", help="text, md or json.")] = "text",
) -> None:
    """New and resolved blockers, status changes per check, migration progress, verdict change.

    Exit 0 whatever changed (gate on `run --baseline OLD.json --fail-on-new` instead); 2 when a file is
    unreadable or not a findings.json of schema_version 1.
    """
    fmt = format.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    delta = delta_of.compare(delta_of.load_report(old), delta_of.load_report(new))
    if fmt == "json":
        sys.stdout.buffer.write(delta_of.render_json(delta) + b"\n")
    else:
        # Names and messages come from the reports: no terminal escape or bidi override reaches the screen.
        sys.stdout.write(show_controls(delta_of.FORMATS[fmt](delta), keep="\n"))
    sys.stdout.flush()
