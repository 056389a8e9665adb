"""The findings DataFrame, exemptions and the verdict (product.md "Results")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditor.config import Exemption
from auditor.model import (
    EXIT_CODES,
    FINDING_COLUMNS,
    Finding,
    Gate,
    Severity,
    Status,
    Verdict,
)

STATUS_DTYPE = pd.CategoricalDtype([s.value for s in Status], ordered=True)
SEVERITY_DTYPE = pd.CategoricalDtype([s.value for s in Severity], ordered=True)
GATE_DTYPE = pd.CategoricalDtype([g.value for g in Gate], ordered=True)
BLOCKING_SEVERITIES = (Severity.BLOCKER.value, Severity.MAJOR.value)


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    rows = [
        (f.cluster, f.gate, f.check_id, f.title, str(f.severity), str(f.status), f.kind, f.namespace,
         f.name, f.message, f.remediation, f.evidence, f.exempt, f.exempt_reason)
        for f in findings
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(FINDING_COLUMNS))
    frame["status"] = frame["status"].astype(STATUS_DTYPE)
    frame["severity"] = frame["severity"].astype(SEVERITY_DTYPE)
    frame["gate"] = frame["gate"].astype(GATE_DTYPE)
    for col in ("cluster", "check_id", "kind", "namespace"):
        frame[col] = frame[col].astype("category")
    frame["exempt"] = frame["exempt"].astype(bool)
    return frame


@dataclass
class ExemptionReport:
    applied: dict[int, int] = field(default_factory=dict)   # exemption index -> findings matched
    expired: list[Exemption] = field(default_factory=list)
    unused: list[Exemption] = field(default_factory=list)


def apply_exemptions(findings: list[Finding], exemptions: list[Exemption], today: dt.date) -> ExemptionReport:
    """Mark matching FAIL/WARN/UNKNOWN findings exempt; expired exemptions match nothing but are listed."""
    report = ExemptionReport()
    active = [(i, e) for i, e in enumerate(exemptions) if not e.expired(today)]
    report.expired = [e for e in exemptions if e.expired(today)]
    for f in findings:
        if f.status in (Status.PASS, Status.NOT_APPLICABLE):
            continue
        for i, e in active:
            if e.matches(f.check_id, f.cluster, f.namespace, f.name, f.kind):
                f.exempt = True
                who = f" (owner {e.owner})" if e.owner else ""
                until = f", until {e.expires.isoformat()}" if e.expires else ""
                ticket = f" [{e.ticket}]" if e.ticket else ""
                f.exempt_reason = f"{e.reason}{ticket}{who}{until}"
                report.applied[i] = report.applied.get(i, 0) + 1
                break
    report.unused = [e for i, e in active if i not in report.applied]
    return report


def verdict_of(frame: pd.DataFrame, *, allow_unknown: bool = False, strict: bool = False) -> Verdict:
    """NO-GO on a non-exempt blocker/major FAIL (any FAIL or WARN with --strict); INCOMPLETE on UNKNOWN.

    An audit with no findings at all proves nothing, so it is INCOMPLETE, never GO.
    """
    if frame.empty:
        return Verdict.INCOMPLETE
    live = frame[~frame["exempt"]]
    status = live["status"].astype(str)
    failing = status == Status.FAIL.value
    if strict:
        failing = failing | (status == Status.WARN.value)
    else:
        failing = failing & live["severity"].astype(str).isin(BLOCKING_SEVERITIES)
    if failing.any():
        return Verdict.NO_GO
    if not allow_unknown and (status == Status.UNKNOWN.value).any():
        return Verdict.INCOMPLETE
    return Verdict.GO


def exit_code_of(verdict: Verdict) -> int:
    return EXIT_CODES[verdict]


def summary_of(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["status"].astype(str).value_counts() if not frame.empty else {}
    return {s.value: int(counts.get(s.value, 0)) for s in Status}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    order = {Verdict.NO_GO: 0, Verdict.INCOMPLETE: 1, Verdict.GO: 2}
    items = list(verdicts)
    return min(items, key=order.__getitem__) if items else Verdict.INCOMPLETE


def blockers(frame: pd.DataFrame) -> pd.DataFrame:
    """Non-exempt FAILs that block, most severe first."""
    if frame.empty:
        return frame
    mask = (~frame["exempt"]) & (frame["status"].astype(str) == Status.FAIL.value) & frame[
        "severity"].astype(str).isin(BLOCKING_SEVERITIES)
    return frame[mask].sort_values(["severity", "check_id", "cluster", "namespace", "name"])


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with str values for categoricals (for JSON and templates)."""
    out = []
    for row in frame.itertuples(index=False):
        d = row._asdict()
        for key in ("cluster", "gate", "check_id", "severity", "status", "kind", "namespace"):
            d[key] = "" if pd.isna(d[key]) else str(d[key])
        d["exempt"] = bool(d["exempt"])
        out.append(d)
    return out
