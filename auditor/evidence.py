"""How old the audited evidence is. A snapshot shows its clusters as they were when it was collected (its manifest's
`collected_at`, written by `asm-audit snapshot`); a GO on last week's snapshot says nothing of the cluster a step is
about to change. Past `snapshot.max_age`, or when the time is unreadable or after the audit's own clock, every gate
gets an UNKNOWN (AA0012) that blocks GO like any missing evidence. A hand-made snapshot without a manifest time is
audited as it is: the reports say the time was not recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from auditor.check import EVIDENCE_STALE
from auditor.findings import Finding
from auditor.i18n import N_, Phrase
from auditor.model import Gate
from auditor.sources.base import SourceSet
from auditor.sources.prometheus import duration_seconds

# A snapshot "collected" this far after the audit's clock is a clock or manifest problem, not skew between two hosts.
FUTURE_TOLERANCE_S = 300
CHECK_ID = "evidence-age"
TITLE = "Evidence age (snapshot)"

STALE = N_("the snapshot was collected at {collected_at}, {age} before this audit (snapshot.max_age {max_age})")
FUTURE = N_("the snapshot says it was collected at {collected_at}, {age} after this audit's clock: the manifest or "
            "a clock is wrong")
UNREADABLE = N_("the snapshot's collection time {value} (manifest.json collected_at) is not a time")


@dataclass(frozen=True)
class EvidenceTime:
    """When the evidence was read: `collected_at` (RFC 3339, UTC) and its age at the audit, or None (a live audit:
    now; a snapshot without a readable time); `problem`: why a GO cannot stand on it (None: it can)."""

    collected_at: str | None
    age_s: int | None
    problem: Phrase | None = None
    raw: Any = None


def span(seconds: int) -> str:
    """`17d 2h`, `5h 10m`, `12m`: an age as an operator reads it."""
    days, rest = divmod(abs(int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time with its zone (what `snapshot` writes: 2026-11-20T09:30:00Z), as UTC; None otherwise."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else None  # a time of no zone is no time


def evidence_time(sources: SourceSet, now: dt.datetime, max_age: str | None) -> EvidenceTime:
    """When the sources' evidence was collected, and whether its age lets a GO stand (`max_age`: config
    snapshot.max_age, a duration; None: any age; the bundled example: any age)."""
    raw = sources.collected_at
    if sources.origin != "snapshot" or raw is None:
        return EvidenceTime(None, None)
    when = parse_time(raw)
    if when is None:
        return EvidenceTime(None, None, Phrase(UNREADABLE, value=repr(raw)[:80]), raw)
    collected = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    age = int((now.astimezone(dt.UTC) - when).total_seconds())
    if age < -FUTURE_TOLERANCE_S:
        return EvidenceTime(collected, age, Phrase(FUTURE, collected_at=collected, age=span(-age)), raw)
    max_age_s = duration_seconds(max_age) if max_age is not None and not sources.example else None
    if max_age_s is not None and age > max_age_s:
        return EvidenceTime(collected, age, Phrase(STALE, collected_at=collected, age=span(age), max_age=max_age),
                            raw)
    return EvidenceTime(collected, max(age, 0), None, raw)


def evidence_findings(evidence: EvidenceTime, gates: list[Gate]) -> list[Finding]:
    """One UNKNOWN per gate audited when the evidence's age does not let a GO stand; none otherwise."""
    if evidence.problem is None:
        return []
    params = {"reason": evidence.problem}
    facts = {"collected_at": evidence.collected_at if evidence.collected_at else evidence.raw,
             "age_seconds": evidence.age_s}
    return [Finding(EVIDENCE_STALE.status, "mesh", EVIDENCE_STALE.message.format_map(params),
                    remediation=EVIDENCE_STALE.fix, severity=EVIDENCE_STALE.severity, gate=gate.value,
                    check_id=CHECK_ID, title=TITLE, evidence=facts, code=EVIDENCE_STALE.code,
                    default_severity=EVIDENCE_STALE.severity, params=params) for gate in gates]


COLLECTED = N_("snapshot collected {when}, {age} before this audit")
NOT_RECORDED = N_("snapshot; when it was collected is not recorded")
NOT_A_TIME = N_("snapshot; its collection time is not a time (AA0012)")
READ_LIVE = N_("read live during this audit")


def evidence_said(result: Any) -> Phrase:
    """Where and when an audit's evidence comes from (an AuditResult: options.origin, collected_at, evidence_age_s,
    evidence_unreadable), for the reports and the terminal; the time in the reader's language (format_timestamp)."""
    from auditor.i18n import format_timestamp

    if result.options.get("origin") != "snapshot":
        return Phrase(READ_LIVE)
    if result.collected_at is None or result.evidence_age_s is None:
        return Phrase(NOT_A_TIME if getattr(result, "evidence_unreadable", False) else NOT_RECORDED)
    age = result.evidence_age_s
    return Phrase(COLLECTED, when=format_timestamp(result.collected_at), age=span(age) if age >= 0 else "0m")
