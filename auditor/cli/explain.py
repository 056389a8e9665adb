"""`asm-audit explain CODE`: what a finding code means, why it matters, how to fix it."""

from __future__ import annotations

import difflib
import re
import sys
from typing import Annotated

import typer

from auditor.errors import UsageError
from auditor.registry import load_registry

FIX_SLOT = re.compile(r"\{(\w+)\}")  # a `{field}` of an Outcome.fix template


def explain(code: Annotated[str, typer.Argument(help="A finding code, e.g. AA1210 (see `asm-audit checks`).")]) -> None:
    """Explain a finding code: the outcome it names, why it matters, and how to fix it."""
    registry = load_registry()
    codes = registry.codes()
    wanted = code.strip().upper()
    if wanted not in codes:
        near = difflib.get_close_matches(wanted, list(codes), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else "; `asm-audit checks --format json` lists them"
        named = registry.checks.get(code.strip().lower())
        if named is not None:  # a check id, as the catalogue and the reports show it: name its codes
            hint = f"; that is a check id, whose codes are {' '.join(o.code for o in named.outcomes)}"
        raise UsageError(f"unknown finding code {code!r}{hint}")
    owner, outcome = codes[wanted]
    check = registry.checks.get(owner)
    severity = outcome.severity or (check.severity if check else None)
    lines = [f"{outcome.code}  {outcome.status.value}" + (f"  {severity.value}" if severity else ""),
             f"check:   {owner}" + (f" ({check.title})" if check else " (reported by the engine for any check)"),
             f"meaning: {outcome.meaning}"]
    if check:
        lines.append(f"why:     {check.rationale}")
        # A templated fix names its per-finding values as <field>: the finding itself carries them filled in.
        fix = FIX_SLOT.sub(r"<\1>", outcome.fix) if outcome.fix else check.remediation
        lines.append(f"fix:     {fix}")
        gates = ", ".join(g.value for g in check.gates)
        lines.append(f"gates:   {gates}")
    elif outcome.fix:  # an engine outcome with a next step of its own (the gate selection's)
        lines.append("fix:     " + FIX_SLOT.sub(r"<\1>", outcome.fix))
    sys.stdout.write("\n".join(lines) + "\n")
