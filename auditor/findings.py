"""The findings DataFrame, exemptions and the verdict (product.md "Results")."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditor.config import Exemption
from auditor.i18n import N_, Phrase, ngettext
from auditor.i18n import gettext as _
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
    findings = list(findings)

    def text(values: list[Any]) -> Any:  # pandas infers its string dtype from values; none at all are objects
        return values if findings else pd.Series([], dtype=object)

    # A list per field read by attribute (`f.cluster`: no getattr by name, no tuple per finding for the collector
    # to walk); a categorical column built from its distinct values (_categorical).
    frame = pd.DataFrame({
        "cluster": _categorical([f.cluster for f in findings]),
        "gate": _categorical([f.gate for f in findings], GATE_DTYPE),
        "check_id": _categorical([f.check_id for f in findings]),
        "title": text([f.title for f in findings]),
        "severity": _categorical([f.severity for f in findings], SEVERITY_DTYPE, text=True),
        "status": _categorical([f.status for f in findings], STATUS_DTYPE, text=True),
        "kind": _categorical([f.kind for f in findings]),
        "namespace": _categorical([f.namespace for f in findings]),
        "name": text([f.name for f in findings]),
        "message": text([f.message for f in findings]),
        "remediation": text([f.remediation for f in findings]),
        "evidence": pd.Series([f.evidence for f in findings], dtype=object),
        "exempt": pd.Series([bool(f.exempt) for f in findings], dtype=bool),
        "exempt_reason": text([f.exempt_reason for f in findings]),
        "default_severity": _categorical([f.default_severity or f.severity for f in findings], SEVERITY_DTYPE,
                                         text=True),
        "code": _categorical([f.code for f in findings]),
        "aspect": _categorical([f.aspect for f in findings]),
        "baseline_accepted": np.zeros(len(findings), dtype=bool),  # set by the engine under --fail-on-new
    }, columns=list(FINDING_COLUMNS))
    # The message template's values, for the human reports in another language (auditor/render/localize.py);
    # not one of FINDING_COLUMNS: findings.json and findings.csv do not carry it.
    frame["params"] = pd.Series([f.params for f in findings], dtype=object, index=frame.index)
    return frame


def _categorical(values: list[Any], dtype: pd.CategoricalDtype | None = None, *, text: bool = False) -> pd.Categorical:
    """`pd.Categorical(values, dtype=dtype)`, of `str(value)` for each value with `text`, built by pandas from each
    distinct value once: a findings column holds a few values (enum members, shared names) in 25,000 rows, and pandas
    hashed (and `str` wrote) every row. Distinct by equality, as pandas tells them apart; with `text`, by object (equal
    objects may write different texts), each written once."""
    distinct_of_row, firsts = _distinct_by_object(values) if text else _distinct_by_equality(values)
    distinct = [values[row] for row in firsts]
    if text:
        distinct = [str(v) for v in distinct]
    if dtype is None:
        once = pd.Categorical(distinct)
        dtype, codes = once.dtype, once.codes
    else:
        # A value outside a fixed dtype's categories is missing (NaN), said outright: pandas deprecates doing it
        # silently (it will raise), and a plugin's finding may carry any status or severity.
        position = {category: i for i, category in enumerate(dtype.categories)}
        codes = np.array([position.get(value, -1) for value in distinct], dtype=np.intp)
    # Each code is one of the dtype's categories or -1 by construction: not checked again row by row.
    return pd.Categorical.from_codes(codes[distinct_of_row], dtype=dtype, validate=False)


def _distinct_by_equality(values: list[Any]) -> tuple[np.ndarray, list[int]]:
    """Each row's distinct value (numbered in order of first appearance) and the first row holding each, values
    told apart by equality (a dict of them)."""
    first_row: dict[Any, int] = {}  # each distinct value -> the first row holding it
    rows = np.fromiter(map(first_row.setdefault, values, range(len(values))), dtype=np.intp, count=len(values))
    firsts = list(first_row.values())
    number = np.empty(len(values), dtype=np.intp)
    number[firsts] = np.arange(len(firsts))
    return number[rows], firsts


def _distinct_by_object(values: list[Any]) -> tuple[np.ndarray, list[int]]:
    """_distinct_by_equality with values told apart by object: their ids numbered by pandas (in C) rather than looked
    up in a dict row by row (a status or severity column is a few enum members in 25,000 rows)."""
    count = len(values)
    numbers, ids = pd.factorize(np.fromiter(map(id, values), dtype=np.intp, count=count))
    first = np.full(len(ids), count, dtype=np.intp)
    np.minimum.at(first, numbers, np.arange(count))
    return numbers, first.tolist()


@dataclass
class ExemptionReport:
    """What the config's exemptions did in this run: for the report's exemptions section."""

    applied: dict[int, int] = field(default_factory=dict)   # exemption index -> findings matched
    expired: list[Exemption] = field(default_factory=list)
    unused: list[Exemption] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)    # all of them, in config order
    unknown_exempted: dict[int, int] = field(default_factory=dict)  # index -> UNKNOWN findings accepted
    would_match: dict[int, int] = field(default_factory=dict)  # expired index -> findings it would match
    audited_checks: set[str] | None = None  # None: not known (then "unused" cannot say why)
    today: dt.date | None = None

    def state(self, index: int) -> str:
        exemption = self.exemptions[index]
        if self.today is not None and exemption.expired(self.today):
            return "expired"
        return "applied" if index in self.applied else "unused"

    def entries(self, soon_days: int = 14) -> list[dict[str, Any]]:
        """Every exemption with its state, counts, and why an unused one matched nothing."""
        out = []
        for i, e in enumerate(self.exemptions):
            item: dict[str, Any] = {**e.model_dump(mode="json"), "index": i, "state": self.state(i),
                                    "check_id": e.check_id, "matched": self.applied.get(i, 0),
                                    "unknown_exempted": self.unknown_exempted.get(i, 0)}
            if item["state"] == "expired":
                item["would_match"] = self.would_match.get(i, 0)
            if item["state"] == "unused":
                item["why"] = self._why_unused(e)
            if e.expires and self.today and item["state"] != "expired":
                left = (e.expires - self.today).days
                item["days_left"] = left
                item["expires_soon"] = left <= soon_days
            out.append(item)
        return out

    def _why_unused(self, e: Exemption) -> str:
        if self.audited_checks is not None and not any(fnmatch.fnmatchcase(c, e.check_id)
                                                       for c in self.audited_checks):
            return "its check was not audited in this run (other gate, or disabled)"
        return "no FAIL/WARN/UNKNOWN finding matched (fixed, or the pattern is stale)"


def apply_exemptions(findings: list[Finding], exemptions: list[Exemption], today: dt.date, *,
                     audited_checks: Iterable[str] | None = None) -> ExemptionReport:
    """Mark matching FAIL/WARN/UNKNOWN findings exempt (first matching exemption wins).

    Exempt findings stay in the report with the reason; they no longer block. Expired exemptions match
    nothing (the findings block again) but are listed, with how many findings they would have covered.
    An exemption can cover an UNKNOWN on purpose (e.g. a gateway Prometheus does not scrape); the report
    counts those separately so missing evidence is never accepted silently.
    """
    report = ExemptionReport(exemptions=list(exemptions), today=today,
                             audited_checks=set(audited_checks) if audited_checks is not None else None)
    active = [(i, e) for i, e in enumerate(exemptions) if not e.expired(today)]
    lapsed = [(i, e) for i, e in enumerate(exemptions) if e.expired(today)]
    report.expired = [e for _, e in lapsed]
    audited = report.audited_checks
    if not exemptions:
        return report  # nothing to match: not a subject built per finding (25,000 at 50k pods)
    for f in findings:
        if f.status in (Status.PASS, Status.NOT_APPLICABLE):
            continue
        if audited is not None and f.check_id not in audited:
            continue  # the engine's own findings (gate selection, broken plugins) are never exempted
        subject = (f.check_id, f.cluster, f.namespace, f.name, f.kind, str(f.status), f.code)
        for i, e in lapsed:
            if e.matches(*subject):
                report.would_match[i] = report.would_match.get(i, 0) + 1
        for i, e in active:
            if e.matches(*subject):
                f.exempt = True
                f.exempt_reason = exemption_text(e)
                report.applied[i] = report.applied.get(i, 0) + 1
                if f.status == Status.UNKNOWN:
                    report.unknown_exempted[i] = report.unknown_exempted.get(i, 0) + 1
                break
    report.unused = [e for i, e in active if i not in report.applied]
    return report


def exemption_text(e: Exemption) -> str:
    who = f" (owner {e.owner})" if e.owner else ""
    until = f", until {e.expires.isoformat()}" if e.expires else ""
    ticket = f" [{e.ticket}]" if e.ticket else ""
    return f"{e.reason}{ticket}{who}{until}"


def exemption_notes(report: ExemptionReport) -> list[str]:
    """One line per exemption the reader must act on: expired (blocking again), unused (stale)."""
    notes = []
    for item in report.entries():
        pattern = report.exemptions[item["index"]].subject()
        if item["state"] == "expired":
            notes.append(Phrase(N_("exemption {pattern} expired on {expires}; not applied ({count} finding(s) count "
                                   "again)"), pattern=pattern, expires=item["expires"], count=item["would_match"]))
        elif item["state"] == "unused":
            notes.append(Phrase(N_("exemption {pattern} is unused: {why}"), pattern=pattern, why=item["why"]))
        if item["unknown_exempted"]:
            notes.append(Phrase(N_("exemption {pattern} accepts {count} UNKNOWN finding(s) (missing evidence): "
                                   "{reason}"), pattern=pattern, count=item["unknown_exempted"], reason=item["reason"]))
    return notes


def blocking_mask(frame: pd.DataFrame, strict: bool = False) -> pd.Series:
    """THE rule for what blocks: a non-exempt FAIL of severity blocker/major (with --strict: any FAIL or WARN).
    Every caller (verdict, reports, diff, --baseline) asks this one function or is_blocking()."""
    status = frame["status"]
    if strict:
        blocking = _text_in(status, (Status.FAIL.value, Status.WARN.value))
    else:
        blocking = _text_in(status, (Status.FAIL.value,)) & _text_in(frame["severity"], BLOCKING_SEVERITIES)
    return pd.Series(blocking & ~frame["exempt"].to_numpy(dtype=bool), index=frame.index)


def _text_in(column: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    """Which rows' text (`column.astype(str)`) is one of `values` (group_codes: a categorical column's asked once per
    category; the text of 25,000 findings' statuses was built and compared per row)."""
    return group_codes(column, list(values), text=True) >= 0


def is_blocking(rec: dict[str, Any], strict: bool = False) -> bool:
    """blocking_mask() for one finding record (a findings.json row)."""
    if rec.get("exempt"):
        return False
    status = rec.get("status")
    if strict:
        return status in (Status.FAIL.value, Status.WARN.value)
    return status == Status.FAIL.value and rec.get("severity") in BLOCKING_SEVERITIES


def unknown_mask(frame: pd.DataFrame) -> pd.Series:
    """The non-exempt UNKNOWN findings: missing evidence that makes a verdict INCOMPLETE (unless --allow-unknown)."""
    return pd.Series(_text_in(frame["status"], (Status.UNKNOWN.value,)) & ~frame["exempt"].to_numpy(dtype=bool),
                     index=frame.index)


def verdict_of_counts(findings: int, blocking: int, unknown: int, *, allow_unknown: bool = False) -> Verdict:
    """THE verdict of a set of findings, from three counts: all of them, the blocking ones (blocking_mask) and the
    non-exempt UNKNOWNs (unknown_mask). NO-GO on a blocker; INCOMPLETE on UNKNOWN; an audit with no findings at all
    proves nothing, so it is INCOMPLETE, never GO."""
    if not findings:
        return Verdict.INCOMPLETE
    if blocking:
        return Verdict.NO_GO
    if not allow_unknown and unknown:
        return Verdict.INCOMPLETE
    return Verdict.GO


def verdict_of(frame: pd.DataFrame, *, allow_unknown: bool = False, strict: bool = False) -> Verdict:
    """NO-GO on a non-exempt blocker/major FAIL (any FAIL or WARN with --strict); INCOMPLETE on UNKNOWN
    (verdict_of_counts)."""
    if frame.empty:
        return Verdict.INCOMPLETE
    return verdict_of_counts(len(frame), int(blocking_mask(frame, strict).sum()), int(unknown_mask(frame).sum()),
                             allow_unknown=allow_unknown)


# The columns a verdict reads (verdict_of, blocking_mask) and the gate that splits findings into verdicts.
VERDICT_COLUMNS = ["gate", "status", "severity", "exempt"]


def group_codes(column: pd.Series, labels: list[str], *, text: bool = False) -> np.ndarray:
    """Each row's position in `labels` (distinct), -1 for a value that is none of them; with `text`, the value as
    `column.astype(str)` writes it."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return _category_positions(column, labels, text=text)
    return np.asarray(pd.Index(labels, dtype=object).get_indexer(column.astype(str) if text else column),
                      dtype=np.intp)


def _category_positions(column: pd.Series, labels: list[str], *, text: bool) -> np.ndarray:
    """group_codes of a categorical column: each category looked up once, a missing value (code -1) in no label.

    The few categories are looked up in a dict of the labels, and the codes read from the Categorical itself: a pandas
    Index of the labels and the `.cat` accessor's Series were most of a verdict's fixed cost (an audit asks this about
    twenty times)."""
    categorical = column.array
    categories = categorical.categories
    position = {label: i for i, label in enumerate(labels)}
    found = [position.get(category, -1) for category in (categories.astype(str) if text else categories)]
    found.append(-1)
    return np.array(found, dtype=np.intp)[categorical.codes]


def count_by(groups: np.ndarray, size: int, mask: Any = None) -> np.ndarray:
    """How many rows (of `mask`'s, when given) each group 0..size-1 has; rows of group -1 count nowhere."""
    chosen = groups >= 0
    if mask is not None:
        chosen &= np.asarray(mask, dtype=bool)
    return np.bincount(groups[chosen], minlength=size)


def verdicts_by_group(frame: pd.DataFrame, groups: np.ndarray, size: int, gates: Iterable[str], *,
                      allow_unknown: bool = False, strict: bool = False) -> list[dict[str, Verdict | None]]:
    """For each group 0..size-1 of the rows (`groups`, -1: none), the verdict_of its findings of each gate, None for
    a gate the group has no finding of: what slicing the frame per group and gate and asking verdict_of each slice
    says, from one pass of each mask over the whole frame."""
    gates = list(gates)
    distinct = list(dict.fromkeys(gates))
    gate = group_codes(frame["gate"], distinct)
    cell = np.where((groups >= 0) & (gate >= 0), groups * len(distinct) + gate, -1)
    cells = size * len(distinct)
    found, blocking, unknown = (count_by(cell, cells, mask).reshape(size, len(distinct)) for mask in (
        None, blocking_mask(frame, strict), unknown_mask(frame)))
    columns = [distinct.index(g) for g in gates]
    return [{g: verdict_of_counts(found[r, i], blocking[r, i], unknown[r, i], allow_unknown=allow_unknown)
             if found[r, i] else None for g, i in zip(gates, columns, strict=True)} for r in range(size)]


def verdicts_by_gate(frame: pd.DataFrame, gates: Iterable[str], *, allow_unknown: bool = False,
                     strict: bool = False) -> dict[str, Verdict]:
    """verdict_of each gate's findings (INCOMPLETE for a gate with none), counted over the whole frame: no slice per
    gate (a 50k-pod audit has 25,000 findings)."""
    every = np.zeros(len(frame), dtype=np.intp)
    by_gate = verdicts_by_group(frame, every, 1, gates, allow_unknown=allow_unknown, strict=strict)[0]
    return {g: v or Verdict.INCOMPLETE for g, v in by_gate.items()}


def exit_code_of(verdict: Verdict) -> int:
    return EXIT_CODES[verdict]


def summary_of(frame: pd.DataFrame) -> dict[str, int]:
    return summaries_by_group(frame, np.zeros(len(frame), dtype=np.intp), 1)[0]


def summaries_by_group(frame: pd.DataFrame, groups: np.ndarray, size: int) -> list[dict[str, int]]:
    """summary_of each group 0..size-1 of the rows (`groups`, -1: none): findings per status."""
    statuses = [s.value for s in Status]
    status = group_codes(frame["status"], statuses, text=True) if not frame.empty else groups
    cell = np.where(groups >= 0, groups * len(statuses) + status, -1)
    counts = count_by(np.where(status >= 0, cell, -1), size * len(statuses)).reshape(size, len(statuses))
    return [{s: int(n) for s, n in zip(statuses, row, strict=True)} for row in counts]


def config_effects(frame: pd.DataFrame) -> dict[str, int]:
    """What the config did to the findings: exempted ones, and ones whose severity it changed."""
    if frame.empty:
        return {"exempted": 0, "severity_overridden": 0}
    severity, default = frame["severity"], frame["default_severity"]
    if isinstance(severity.dtype, pd.CategoricalDtype) and isinstance(default.dtype, pd.CategoricalDtype):
        # Compared as the texts they write (each category's written once), not written out row by row first; a
        # missing value differs from any text and from another missing one, as the texts' comparison says.
        ids: dict[str, int] = {}
        now, before = _text_ids(severity, ids), _text_ids(default, ids)
        changed = (now != before) | (now < 0) | (before < 0)
    else:
        changed = (severity.astype(str) != default.astype(str)).to_numpy(dtype=bool)
    return {"exempted": int(frame["exempt"].sum()), "severity_overridden": int(changed.sum())}


def _text_ids(column: pd.Series, ids: dict[str, int]) -> np.ndarray:
    """Each row's text (as `column.astype(str)` writes it) as its number in `ids` (the texts met so far, shared by the
    columns compared); -1 for a missing value."""
    categorical = column.array
    found = [ids.setdefault(text, len(ids)) for text in categorical.categories.astype(str)]
    found.append(-1)
    return np.array(found, dtype=np.intp)[categorical.codes]


def disclosure(summary: dict[str, int], unknown_accepted: int = 0) -> str:
    """The words said next to the verdict, e.g. "2 findings exempted, 3 severities overridden, 1 check disabled by
    config" (summary.checks_disabled: the audited gates' checks the config disabled), and the
    UNKNOWN findings --allow-unknown let through (`unknown_accepted`): each changed what the verdict says."""
    exempted, overridden = summary.get("exempted", 0), summary.get("severity_overridden", 0)
    parts = []
    if exempted:
        parts.append(ngettext("{n} finding exempted", "{n} findings exempted", exempted).format(n=exempted))
    if overridden:
        parts.append(ngettext("{n} severity overridden", "{n} severities overridden", overridden).format(n=overridden))
    disabled = summary.get("checks_disabled", 0)
    if disabled:  # the gate's checks the config disabled: their findings, blockers included, do not exist
        parts.append(ngettext("{n} check disabled", "{n} checks disabled", disabled).format(n=disabled))
    said = _("{parts} by config").format(parts=", ".join(parts)) if parts else ""
    if unknown_accepted:
        said += (", " if said else "") + ngettext("{n} UNKNOWN accepted by --allow-unknown",
                                                  "{n} UNKNOWN accepted by --allow-unknown",
                                                  unknown_accepted).format(n=unknown_accepted)
    return said


def unknown_accepted(result: Any) -> int:
    """The UNKNOWN findings a GO took as they are because the run was given --allow-unknown (0 otherwise): without
    the flag that verdict would be INCOMPLETE, so every output says so beside it."""
    frame = result.findings
    if not (result.options or {}).get("allow_unknown") or frame.empty or result.verdict is not Verdict.GO:
        return 0
    return int(unknown_mask(frame).sum())


def strict_of(result: Any) -> bool:
    """Whether the run was given --strict (then WARN and minor FAIL block too: blocking_mask(frame, strict))."""
    return bool((result.options or {}).get("strict"))


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    order = {Verdict.NO_GO: 0, Verdict.INCOMPLETE: 1, Verdict.GO: 2}
    items = list(verdicts)
    return min(items, key=order.__getitem__) if items else Verdict.INCOMPLETE


def blockers(frame: pd.DataFrame, strict: bool = False) -> pd.DataFrame:
    """The findings that block (blocking_mask: with --strict, WARN and minor FAIL too), most severe first."""
    if frame.empty:
        return frame
    return frame[blocking_mask(frame, strict)].sort_values(["severity", "check_id", "cluster", "namespace", "name"])


# The columns a record holds as text: "" for a missing value.
_RECORD_TEXT_KEYS = ("cluster", "gate", "check_id", "severity", "default_severity", "status", "kind", "namespace",
                     "aspect")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with str values for categoricals (for JSON and templates).

    Built column by column: the values a row of `frame.itertuples` holds, a categorical column's text written once
    per category (a namedtuple, a dict and eight texts per row took 0.1 s at 25,000 findings)."""
    columns = [c for c in frame.columns if c != "params"]
    values = {c: frame[c].tolist() for c in columns if c not in _RECORD_TEXT_KEYS}
    values |= {key: _record_texts(frame[key]) for key in _RECORD_TEXT_KEYS}
    values["exempt"] = list(map(bool, values["exempt"]))
    values["baseline_accepted"] = list(map(bool, values["baseline_accepted"]))
    return [dict(zip(columns, row, strict=True)) for row in zip(*(values[c] for c in columns), strict=True)]


def _record_texts(column: pd.Series) -> list[str]:
    """Each value of `column` as a record writes it: "" when missing, else its str()."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return ["" if pd.isna(v) else str(v) for v in column]
    texts = np.array([*_record_texts(pd.Series(column.cat.categories, dtype=object)), ""], dtype=object)
    return texts[np.asarray(column.cat.codes, dtype=np.intp)].tolist()
