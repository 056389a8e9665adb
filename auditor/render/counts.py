"""How many blockers a report states. Light on purpose (pandas only): the terminal summary of a JSON-only CI
gate imports it without the HTML machinery."""

from __future__ import annotations

import pandas as pd

from auditor.i18n import ngettext

# What one blocker is: the same workload failing the same check is one thing to fix, however many gates
# (--phase all) report it.
BLOCKER_IDENTITY = ("cluster", "check_id", "kind", "namespace", "name")


def distinct_blockers(block: pd.DataFrame) -> int:
    return len(block[list(BLOCKER_IDENTITY)].astype(str).drop_duplicates())


def blocker_counts(block: pd.DataFrame, gates: list[str]) -> tuple[int, list[tuple[str, int]]]:
    """Distinct blockers, and the blocking findings of each gate (in gate order, gates without any left out)."""
    if block.empty:
        return 0, []
    per_gate = block["gate"].astype(str).value_counts()
    return distinct_blockers(block), [(g, int(per_gate[g])) for g in gates if per_gate.get(g, 0)]


def per_gate_text(per_gate: list[tuple[str, int]]) -> str:
    """'migrating 5, uninstall 23, finished 26' ('' for one gate or none: nothing to add). Gate names are the
    product's own words (auditor.model.GATE_ORDER), never cluster text."""
    return ", ".join(f"{g} {n:,}" for g, n in per_gate) if len(per_gate) > 1 else ""


def plural(n: int, one: str, many: str, count: bool = True) -> str:
    """'1 warning' / '12 warnings' (count=False: the word alone, for a label beside a big number). One place for
    every counted noun, so one page never says '1 warnings' beside '12 warning(s)'. The words go through ngettext
    (the catalog extractor reads `plural` as ngettext: literal words only)."""
    word = ngettext(one, many, n)
    return f"{n:,} {word}" if count else word
