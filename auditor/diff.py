"""What changed between two audits: two findings.json documents (schema_version 1), or a baseline and a run.

A subject is (cluster, gate, check_id, kind, namespace, name). A check may give several findings for one
subject; the subject's status is the worst of them (status changes are told per subject). A blocker is a subject and
a finding code and the finding's aspect (model.Outcome.aspect: which field, provider or category of the object it is
about): one object may block for several reasons (mesh-config-parity says each mesh-config difference of a revision on
its ConfigMap, each under one code), and a new reason is a new blocker, never one the baseline already accepted.
"Blocks" is judged as each report recorded it: a non-exempt FAIL of severity blocker/major (any FAIL or WARN when that
report ran with --strict). So an exemption that expired, or a severity raised in the config, makes a
blocker "new" even when the cluster did not change: the approver did not accept it before.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from auditor import wire
from auditor.errors import UsageError
from auditor.findings import blocking_mask, is_blocking, records
from auditor.model import STATUS_RANK, Severity, Status, Verdict

SCHEMA_VERSION = 1
SIDECARS_CHECK = "istio-sidecars-remaining"
# Worst first: the order a subject's several findings collapse in.
ABSENT = "absent"
REQUIRED_FINDING_KEYS = ("cluster", "gate", "check_id", "status", "severity")
STATUSES = tuple(s.value for s in Status)
SEVERITIES = tuple(s.value for s in Severity)
VERDICTS = tuple(v.value for v in Verdict)

Key = tuple[str, str, str, str, str, str]  # cluster, gate, check_id, kind, namespace, name
BlockerKey = tuple[str, str, str, str, str, str, str, str]  # a Key, the finding's code and its aspect


# ---------------------------------------------------------------- reading
def load_report(path: str | Path) -> dict[str, Any]:
    """A findings.json, checked enough that a wrong file is a usage error (exit 2), not a wrong diff."""
    path = Path(path)
    if path.is_dir():  # a report directory (--out): its findings.json is what is compared
        inside = path / "findings.json"
        hint = f"give its findings.json: {inside}" if inside.is_file() else "give a findings.json"
        raise UsageError(f"{path}: is a directory; {hint}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from exc
    check_report(doc, str(path))
    doc["_source"] = str(path)  # for the report's "since" line; never written back
    return doc


def check_report(doc: Any, where: str) -> None:
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise UsageError(f"{where}: not an asm-audit findings.json (no schema_version)")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise UsageError(f"{where}: findings.json schema_version {doc['schema_version']!r} is not supported "
                         f"(this asm-audit reads {SCHEMA_VERSION})")
    findings = doc.get("findings")
    if not isinstance(findings, list) or not isinstance(doc.get("verdict"), str):
        raise UsageError(f"{where}: findings.json without a findings list or verdict")
    # A value outside the documented sets would be compared as if it meant something ("PASSED" is no PASS).
    _check_value(where, "verdict", doc["verdict"], VERDICTS)
    baseline = doc.get("baseline")
    if isinstance(baseline, dict) and baseline.get("verdict_without_baseline") is not None:
        _check_value(where, "baseline.verdict_without_baseline", baseline["verdict_without_baseline"], VERDICTS)
    for i, rec in enumerate(findings):
        if not isinstance(rec, dict) or any(k not in rec for k in REQUIRED_FINDING_KEYS):
            raise UsageError(f"{where}: findings[{i}] lacks one of {', '.join(REQUIRED_FINDING_KEYS)}")
        _check_value(where, f"findings[{i}].status", rec["status"], STATUSES)
        _check_value(where, f"findings[{i}].severity", rec["severity"], SEVERITIES)
        for key in ("cluster", "gate", "check_id"):
            if not isinstance(rec[key], str):
                raise UsageError(f"{where}: findings[{i}].{key} is not a string: {rec[key]!r:.80}")


def _check_value(where: str, field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UsageError(f"{where}: {field} {value!r:.80} is not one of {', '.join(allowed)}")


def audit_verdict(doc: dict[str, Any]) -> str:
    """The verdict of the audit itself (before any --fail-on-new relief), so runs compare like with like."""
    baseline = doc.get("baseline") or {}
    return baseline.get("verdict_without_baseline") or doc["verdict"]


# ---------------------------------------------------------------- subjects
_KEY_COLUMNS = ("cluster", "gate", "check_id", "kind", "namespace", "name")


def key_of(rec: dict[str, Any]) -> Key:
    return tuple(str(rec.get(k) or "") for k in _KEY_COLUMNS)  # type: ignore[return-value]


def blocker_key_of(rec: dict[str, Any]) -> BlockerKey:
    # A report written before findings carried an aspect has none: its blockers of aspected outcomes match nothing
    # now (new, not accepted: the safe side, once).
    return (*key_of(rec), str(rec.get("code") or ""), str(rec.get("aspect") or ""))  # type: ignore[return-value]


@dataclass
class Subject:
    key: Key
    status: str
    blocking: bool
    severity: str
    title: str
    message: str
    remediation: str
    exempt: bool
    code: str = ""
    aspect: str = ""

    def as_dict(self) -> dict[str, Any]:
        cluster, gate, check_id, kind, namespace, name = self.key
        return {"cluster": cluster, "gate": gate, "check_id": check_id, "code": self.code, "aspect": self.aspect,
                "kind": kind, "namespace": namespace, "name": name, "status": self.status, "severity": self.severity,
                "title": self.title, "message": self.message, "remediation": self.remediation, "exempt": self.exempt}


def _subject_of(key: Key, recs: list[dict[str, Any]], strict: bool) -> Subject:
    # The representative: a blocking finding if any, else the worst status.
    rep = min(recs, key=lambda r: (not is_blocking(r, strict), STATUS_RANK.get(str(r.get("status")), 9)))
    return Subject(key, str(rep.get("status")), is_blocking(rep, strict), str(rep.get("severity")),
                   str(rep.get("title") or ""), str(rep.get("message") or ""),
                   str(rep.get("remediation") or ""), bool(rep.get("exempt")), str(rep.get("code") or ""),
                   str(rep.get("aspect") or ""))


def subjects(findings: Iterable[dict[str, Any]], strict: bool = False) -> dict[Key, Subject]:
    grouped: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for rec in findings:
        grouped[key_of(rec)].append(rec)
    return {key: _subject_of(key, recs, strict) for key, recs in grouped.items()}


def blockers_of(findings: Iterable[dict[str, Any]], strict: bool = False) -> dict[BlockerKey, Subject]:
    """The blocking findings by subject and code: what `--fail-on-new` accepts and `diff` counts as one blocker."""
    grouped: dict[BlockerKey, list[dict[str, Any]]] = defaultdict(list)
    for rec in findings:
        if is_blocking(rec, strict):
            grouped[blocker_key_of(rec)].append(rec)
    return {key: _subject_of(key[:6], recs, strict) for key, recs in grouped.items()}  # type: ignore[arg-type]


def blocking_counts(doc: dict[str, Any]) -> Counter[BlockerKey]:
    """How many blocking findings of each blocker the report holds."""
    strict = bool((doc.get("options") or {}).get("strict"))
    return Counter(blocker_key_of(rec) for rec in doc.get("findings") or () if is_blocking(rec, strict))


# ---------------------------------------------------------------- migration progress
def _sidecar_workloads(doc: dict[str, Any]) -> tuple[dict[str, dict[tuple[str, str, str], int]], set[str]]:
    """Per cluster: Istio-sidecar workloads (kind, ns, name) -> pods, and the clusters the check judged."""
    left: dict[str, dict[tuple[str, str, str], int]] = defaultdict(dict)
    judged: set[str] = set()
    for rec in doc.get("findings") or ():
        if rec.get("check_id") != SIDECARS_CHECK or rec.get("status") not in ("FAIL", "PASS"):
            continue
        cluster = str(rec.get("cluster"))
        judged.add(cluster)
        if rec.get("status") == "FAIL" and rec.get("name"):
            evidence = rec.get("evidence") or {}
            pods = evidence.get("pod_count") if isinstance(evidence, dict) else None
            workload = (str(rec.get("kind") or ""), str(rec.get("namespace") or ""), str(rec["name"]))
            # The same workload appears once per gate audited: count it once.
            left[cluster][workload] = int(pods) if isinstance(pods, int) else left[cluster].get(workload, 0)
    return left, judged


def _fleet_rows(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    fleet = doc.get("fleet") or ()
    rows = fleet.get("clusters") or () if isinstance(fleet, dict) else fleet  # findings.json nests the rows
    return {str(r.get("cluster")): r for r in rows if isinstance(r, dict)}


def _data_planes(doc: dict[str, Any]) -> list[str]:
    names = [str(c.get("name")) for c in doc.get("clusters") or ()
             if isinstance(c, dict) and c.get("role", "data-plane") == "data-plane"]
    return names


def _label(workload: tuple[str, str, str]) -> str:
    return "/".join(x for x in workload if x)


def migration_progress(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Istio-sidecar workloads and pods per cluster, before and after; which workloads moved.

    Workloads come from istio-sidecars-remaining findings (uninstall/finished gates). Where that check did
    not run, the pod counts of the fleet overview are used (any gate that reads pods); otherwise unknown.
    """
    old_left, old_judged = _sidecar_workloads(old)
    new_left, new_judged = _sidecar_workloads(new)
    old_fleet, new_fleet = _fleet_rows(old), _fleet_rows(new)
    clusters = list(dict.fromkeys([*_data_planes(old), *_data_planes(new), *old_judged, *new_judged]))
    rows = []
    for cluster in clusters:
        before = _side(cluster, old_left, old_judged, old_fleet)
        after = _side(cluster, new_left, new_judged, new_fleet)
        row: dict[str, Any] = {"cluster": cluster,
                               "istio_sidecar_workloads": {"before": before["workloads"],
                                                           "after": after["workloads"]},
                               "istio_sidecar_pods": {"before": before["pods"], "after": after["pods"]},
                               "asm_proxy_pods": {"before": before["asm"], "after": after["asm"]},
                               "moved": None, "back_on_istio": None, "source": after["source"] or before["source"]}
        if cluster in old_judged and cluster in new_judged:
            gone = sorted(set(old_left.get(cluster, {})) - set(new_left.get(cluster, {})))
            came = sorted(set(new_left.get(cluster, {})) - set(old_left.get(cluster, {})))
            row["moved"] = [_label(w) for w in gone]
            row["back_on_istio"] = [_label(w) for w in came]
        elif isinstance(before["workloads"], int) and isinstance(after["workloads"], int):
            row["moved_count"] = max(before["workloads"] - after["workloads"], 0)
        rows.append(row)
    moved = [r["moved"] for r in rows if r["moved"] is not None]
    return {"clusters": rows, "moved_total": sum(len(m) for m in moved) if moved else None}


def _side(cluster: str, left: dict[str, dict[tuple[str, str, str], int]], judged: set[str],
          fleet: dict[str, dict[str, Any]]) -> dict[str, Any]:
    row = fleet.get(cluster) or {}
    asm = row.get("asm_proxy_pods")
    if cluster in judged:
        workloads = left.get(cluster, {})
        return {"workloads": len(workloads), "pods": sum(workloads.values()), "asm": asm,
                "source": SIDECARS_CHECK}
    if row.get("istio_sidecar_workloads") is not None:
        return {"workloads": row["istio_sidecar_workloads"], "pods": row.get("istio_sidecar_pods"), "asm": asm,
                "source": "pods"}
    return {"workloads": None, "pods": None, "asm": asm, "source": None}


# ---------------------------------------------------------------- comparing
def _header(doc: dict[str, Any]) -> dict[str, Any]:
    return {"generated_at": doc.get("generated_at"), "gate": doc.get("gate"), "gates": doc.get("gates"),
            "verdict": audit_verdict(doc), "tool_version": doc.get("tool_version"),
            "inputs_sha256": doc.get("inputs_sha256"), "summary": doc.get("summary")}


def _sort_key(item: dict[str, Any]) -> tuple:
    return (item["check_id"], item["cluster"], item["gate"], item["namespace"], item["name"], item["code"],
            item.get("aspect") or "")


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The delta from `old` to `new` (both findings.json documents) as plain JSON-able data."""
    old_strict = bool((old.get("options") or {}).get("strict"))
    new_strict = bool((new.get("options") or {}).get("strict"))
    before = subjects(old.get("findings") or (), old_strict)
    after = subjects(new.get("findings") or (), new_strict)
    # Blockers by subject and code: a new code on an object that blocked before is a new blocker.
    blocked_before = blockers_of(old.get("findings") or (), old_strict)
    blocked_after = blockers_of(new.get("findings") or (), new_strict)

    new_blockers = [s.as_dict() for k, s in blocked_after.items() if k not in blocked_before]
    resolved = []
    for k, s in blocked_before.items():
        if k not in blocked_after:
            item = s.as_dict()
            now = after.get(k[:6])  # type: ignore[call-overload]
            item["now"] = ("exempt " + now.status) if now and now.exempt else (now.status if now else ABSENT)
            resolved.append(item)
    still = sum(1 for k in blocked_after if k in blocked_before)

    changes = []
    per_check: dict[str, Counter[str]] = defaultdict(Counter)
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        was = b.status if b else ABSENT
        now = a.status if a else ABSENT
        if was == now and (b is None or a is None or b.exempt == a.exempt):
            continue
        subject = (a or b)
        assert subject is not None
        item = {**subject.as_dict(), "from": was, "to": now,
                "exempt_before": bool(b and b.exempt), "exempt_after": bool(a and a.exempt)}
        item.pop("status")
        changes.append(item)
        per_check[k[2]][f"{was}->{now}"] += 1

    old_verdict, new_verdict = audit_verdict(old), audit_verdict(new)
    return {
        "old": _header(old),
        "new": _header(new),
        "verdict_change": {"from": old_verdict, "to": new_verdict, "changed": old_verdict != new_verdict},
        "gate_changed": (old.get("gates") or [old.get("gate")]) != (new.get("gates") or [new.get("gate")]),
        "blockers": {"before": len(blocked_before), "after": len(blocked_after),
                     "new": len(new_blockers), "resolved": len(resolved), "still_open": still},
        "new_blockers": sorted(new_blockers, key=_sort_key),
        "resolved_blockers": sorted(resolved, key=_sort_key),
        "status_changes": changes,
        "status_changes_by_check": {c: dict(sorted(n.items())) for c, n in sorted(per_check.items())},
        "migration": migration_progress(old, new),
    }


# ---------------------------------------------------------------- rendering
def _subject(item: dict[str, Any]) -> str:
    return "/".join(x for x in (item.get("kind"), item.get("namespace"), item.get("name")) if x) or "(cluster)"


def _count(value: Any) -> str:
    return "?" if value is None else str(value)


def _arrow(pair: dict[str, Any]) -> str:
    return f"{_count(pair.get('before'))} -> {_count(pair.get('after'))}"


def render_text(delta: dict[str, Any], top: int = 25) -> str:
    old, new = delta["old"], delta["new"]
    verdict = delta["verdict_change"]
    b = delta["blockers"]
    lines = [
        f"asm-audit diff: {old['generated_at']} ({_gates(old)}) -> {new['generated_at']} ({_gates(new)})",
        f"verdict: {verdict['from']} -> {verdict['to']}" + ("" if verdict["changed"] else " (unchanged)"),
        f"blockers: {b['before']} -> {b['after']} ({b['new']} new, {b['resolved']} resolved, "
        f"{b['still_open']} still open)",
    ]
    if delta["gate_changed"]:
        lines.append("note: the two reports audit different gates; findings of a gate only one of them "
                     "audited show as new or resolved")
    for title, items, extra in (("New blockers", delta["new_blockers"], None),
                                ("Resolved blockers", delta["resolved_blockers"], "now")):
        lines.append("")
        lines.append(f"{title} ({len(items)})")
        for item in items[:top]:
            tail = f" [now {item[extra]}]" if extra else ""
            lines.append(f"  {item['check_id']}  {item['cluster']}  {_subject(item)}  ({item['gate']}): "
                         f"{item['message']}{tail}")
        if len(items) > top:
            lines.append(f"  ... and {len(items) - top} more (--format json lists all)")
    lines += ["", "Migration progress (Istio sidecars left)"]
    mig = delta["migration"]["clusters"]
    if not mig:
        lines.append("  no data-plane cluster in either report")
    for row in mig:
        moved = row.get("moved")
        moved_text = (f"{len(moved)} moved" + (f": {', '.join(moved[:8])}" + (" ..." if len(moved) > 8 else "")
                                               if moved else "")) if moved is not None else (
            f"{row['moved_count']} fewer" if "moved_count" in row else "moved: unknown")
        back = row.get("back_on_istio") or []
        back_text = f"; {len(back)} new on Istio: {', '.join(back[:8])}" if back else ""
        lines.append(f"  {row['cluster']}: workloads {_arrow(row['istio_sidecar_workloads'])}, "
                     f"pods {_arrow(row['istio_sidecar_pods'])}; {moved_text}{back_text}")
    lines += ["", f"Status changes ({len(delta['status_changes'])} subjects)"]
    for check_id, counts in delta["status_changes_by_check"].items():
        lines.append(f"  {check_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines) + "\n"


def _gates(header: dict[str, Any]) -> str:
    gates = header.get("gates") or [header.get("gate")]
    return ", ".join(str(g) for g in gates)


def render_markdown(delta: dict[str, Any], top: int = 50) -> str:
    # Text from the reports (names, messages) escaped as summary.md escapes it: pipes, markup, mentions, controls.
    from auditor.render.markdown import code_span, md

    old, new = delta["old"], delta["new"]
    verdict = delta["verdict_change"]
    b = delta["blockers"]
    out = [
        "## asm-audit: since last report",
        "",
        f"**Verdict:** {verdict['from']} → **{verdict['to']}**" + ("" if verdict["changed"] else " (unchanged)"),
        f"  \n**Blockers:** {b['before']} → {b['after']} ({b['new']} new, {b['resolved']} resolved, "
        f"{b['still_open']} still open)",
        f"  \nReports: {code_span(old['generated_at'])} ({md(_gates(old))}) → {code_span(new['generated_at'])} "
        f"({md(_gates(new))})",
        "",
    ]
    if delta["gate_changed"]:
        out += ["> The two reports audit different gates; findings of a gate only one of them audited show "
                "as new or resolved.", ""]
    for title, items, extra in (("New blockers", delta["new_blockers"], None),
                                ("Resolved blockers", delta["resolved_blockers"], "now")):
        out.append(f"### {title} ({len(items)})")
        if items:
            out += ["", "| check | cluster | subject | gate | " + ("now |" if extra else "message |"),
                    "|---|---|---|---|---|"]
            for item in items[:top]:
                last = item[extra] if extra else item["message"]
                out.append(f"| {code_span(item['check_id'])} | {md(item['cluster'])} | {md(_subject(item))} | "
                           f"{md(item['gate'])} | {md(last)} |")
            if len(items) > top:
                out.append(f"\n… and {len(items) - top} more.")
        out.append("")
    out += ["### Migration progress (Istio sidecars left)", "",
            "| cluster | workloads | pods | moved since last report |", "|---|---|---|---|"]
    for row in delta["migration"]["clusters"]:
        moved = row.get("moved")
        moved_text = (", ".join(moved[:10]) + (" …" if len(moved) > 10 else "") if moved else "none") if (
            moved is not None) else (f"{row['moved_count']} fewer" if "moved_count" in row else "unknown")
        out.append(f"| {md(row['cluster'])} | {_arrow(row['istio_sidecar_workloads'])} | "
                   f"{_arrow(row['istio_sidecar_pods'])} | {md(moved_text, 1000)} |")
    out += ["", f"### Status changes ({len(delta['status_changes'])} subjects)", ""]
    for check_id, counts in delta["status_changes_by_check"].items():
        out.append(f"- {code_span(check_id)}: " + ", ".join(f"{md(k)} {v}" for k, v in counts.items()))
    return "\n".join(out) + "\n"


def render_json(delta: dict[str, Any]) -> bytes:
    return wire.dumps(delta, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


FORMATS = {"text": render_text, "md": render_markdown}


# ---------------------------------------------------------------- run --baseline
def existing_blockers(frame: pd.DataFrame, baseline: dict[str, Any], strict: bool,
                      audited_checks: Iterable[str] | None = None) -> pd.Series:
    """Rows that block now and whose subject already blocked in the baseline report with the same finding code and
    aspect (accepted debt); another code or aspect on that subject is another reason to block, not accepted. No more
    rows of one blocker are accepted than the baseline had: a second finding of an outcome that declares no aspect
    is a reason the baseline did not show.

    With `audited_checks`, only findings of those checks: the engine's own (gate-selection's AA0011, the gate already
    past) are no debt to carry, as no exemption applies to them (findings.apply_exemptions): a pipeline pinned to a
    gate the migration has left would say GO from its second run on."""
    if frame.empty:
        return pd.Series([], dtype=bool, index=frame.index)
    known = blocking_counts(baseline)
    candidates = blocking_mask(frame, strict).to_numpy(dtype=bool, copy=True)
    if audited_checks is not None:
        candidates &= frame["check_id"].astype(str).isin(list(audited_checks)).to_numpy(dtype=bool)
    accepted = np.zeros(len(frame), dtype=bool)
    rows = np.flatnonzero(candidates)
    if len(rows) and known:
        blocking = frame.iloc[rows]
        cols = [blocking[c].astype(str).where(blocking[c].notna(), "") for c in (*_KEY_COLUMNS, "code", "aspect")]
        for row, key in zip(rows, zip(*cols, strict=True), strict=True):
            if known[key] > 0:  # type: ignore[index]
                known[key] -= 1  # type: ignore[index]
                accepted[row] = True
    return pd.Series(accepted, index=frame.index, dtype=bool)


def since_baseline(result: Any, baseline: dict[str, Any], *, fail_on_new: bool, accepted: int,
                   verdict_without_baseline: str, source: str | None = None) -> dict[str, Any]:
    """The "since last report" section of a run: compare(baseline, this run) plus how it gated."""
    current = {
        "generated_at": result.generated_at, "gate": result.gate, "gates": result.gates,
        "verdict": verdict_without_baseline, "tool_version": result.tool_version,
        "inputs_sha256": result.inputs_sha256, "summary": result.summary, "options": result.options,
        "clusters": result.clusters, "fleet": result.fleet, "findings": records(result.findings),
    }
    delta = compare(baseline, current)
    delta.update({"baseline_file": source, "fail_on_new": fail_on_new,
                  "verdict_without_baseline": verdict_without_baseline,
                  "accepted_from_baseline": accepted if fail_on_new else 0})
    return delta
