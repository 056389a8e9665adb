"""junit.xml for CI widgets: one testsuite per gate, one testcase per check and cluster.

A testcase carries the worst non-exempt status of its findings: FAIL -> <failure> (with --strict a WARN too: it
blocks), UNKNOWN -> <error>, all NOT_APPLICABLE -> <skipped>, otherwise it passes (WARN, exempt findings and
blockers --fail-on-new accepted from the baseline are listed in <system-out>). A CI system shows each testcase green
or red: a gate whose verdict is not GO while none of its testcases says so (a gate with no finding at all is
INCOMPLETE: nothing was audited there) gets one more testcase, `verdict [gate]`, failed (NO-GO) or in error
(INCOMPLETE), so no suite is all green where the gate is not GO.
The shape is the one Jenkins, GitLab, GitHub test reporters and Azure read: testsuites/testsuite/testcase
with tests/failures/errors/skipped counts that add up.
Text from clusters goes through `clean` (XML 1.0 forbids most control characters) and ElementTree
escaping; each testcase lists at most MAX_LINES findings, the rest are in findings.csv.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from auditor.engine import AuditResult
from auditor.findings import strict_of
from auditor.model import GATE_ORDER, SEVERITY_RANK, STATUS_RANK
from auditor.render import write_atomic
from auditor.render.context import clean, subject_of

MAX_LINES = 50
MESSAGE_CHARS = 300


def _line(row: pd.Series) -> str:
    subject = subject_of(row["kind"], row["namespace"], row["name"]) or "-"
    text = f"{row['status']} [{row['severity']}] {subject}: {clean(row['message'], 1000)}"
    if row["exempt"]:
        text += f" (exempt: {clean(row['exempt_reason'], 300)})"
    elif row["baseline_accepted"]:
        text += " (accepted: in the baseline, --fail-on-new)"
    if row["remediation"] and str(row["status"]) in ("FAIL", "UNKNOWN", "WARN"):
        text += f"\n    remediation: {clean(row['remediation'], 2000)}"
    return text


def _lines(group: pd.DataFrame) -> str:
    shown = [_line(r) for _, r in group.head(MAX_LINES).iterrows()]
    if len(group) > MAX_LINES:
        shown.append(f"... {len(group) - MAX_LINES:,} more in findings.csv")
    return "\n".join(shown)


def _testcase(suite: ET.Element, gate: str, check_id: str, cluster: str, group: pd.DataFrame,
              strict: bool = False) -> str:
    """Add one testcase; returns its outcome: failure, error, skipped or passed."""
    codes = " ".join(sorted({str(c) for c in group["code"] if c})) if "code" in group else ""
    case = ET.SubElement(suite, "testcase", {
        "name": clean(f"{check_id} [{cluster}]" + (f" {codes}" if codes else ""), 300),
        "classname": clean(f"asm-audit.{gate}.{check_id}", 300),
        "time": "0"})
    status = group["status"].astype(str)
    # Exempt findings and, under --fail-on-new, blockers the baseline already had do not block: not red here either
    # (a GO run's junit.xml with failures fails the CI step the exit code let through).
    live = group[~(group["exempt"] | group["baseline_accepted"])]
    live_status = live["status"].astype(str)
    outcome = "passed"
    failed = live_status.isin(("FAIL", "WARN") if strict else ("FAIL",))
    if failed.any():
        failing = live[failed]
        first = failing.iloc[0]
        worst = min(failing["severity"].astype(str), key=lambda s: SEVERITY_RANK.get(s, 9))
        said = " ".join(f"{n} {st}" for st, n in failing["status"].astype(str).value_counts().sort_index().items())
        el = ET.SubElement(case, "failure", {
            "message": clean(f"{said}: {first['message']}", MESSAGE_CHARS), "type": worst})
        el.text = _lines(failing)
        outcome = "failure"
    elif (live_status == "UNKNOWN").any():
        unknown = live[live_status == "UNKNOWN"]
        el = ET.SubElement(case, "error", {
            "message": clean(f"{len(unknown)} UNKNOWN: {unknown.iloc[0]['message']}", MESSAGE_CHARS),
            "type": "UNKNOWN"})
        el.text = _lines(unknown)
        outcome = "error"
    elif len(group) and (status == "NOT_APPLICABLE").all():
        ET.SubElement(case, "skipped", {"message": clean(f"not applicable: {group.iloc[0]['message']}",
                                                         MESSAGE_CHARS)})
        outcome = "skipped"
    # Everything else (passes, warnings, exempt findings, and the UNKNOWN behind a failure) for the record.
    rest = group.drop(index=live[failed].index) if outcome == "failure" else group
    if outcome == "error":
        rest = rest.drop(index=live[live_status == "UNKNOWN"].index)
    if outcome != "skipped" and len(rest):
        order = rest.assign(_rank=rest["status"].astype(str).map(STATUS_RANK).fillna(9)).sort_values(
            "_rank", kind="stable").drop(columns="_rank")
        ET.SubElement(case, "system-out").text = _lines(order)
    return outcome


def _verdict_case(suite: ET.Element, gate: str, verdict: str, counts: dict[str, int]) -> str | None:
    """The gate's verdict as a testcase of its own, when it is not GO and no testcase of the suite is red for it: a
    NO-GO without a failure, an INCOMPLETE without a failure or an error (a gate none of whose checks said anything:
    an empty suite reads as green). Returns the outcome added, or None."""
    if verdict == "NO-GO" and not counts["failures"]:
        outcome, tag = "failure", "failure"
    elif verdict == "INCOMPLETE" and not counts["failures"] and not counts["errors"]:
        outcome, tag = "error", "error"
    else:
        return None
    case = ET.SubElement(suite, "testcase", {"name": f"verdict [{gate}]", "classname": f"asm-audit.{gate}.verdict",
                                             "time": "0"})
    why = (f"the {gate} gate is {verdict}: no finding of this gate was reported" if not counts["tests"] else
           f"the {gate} gate is {verdict} (see findings.json)")
    ET.SubElement(case, tag, {"message": why, "type": verdict})
    return outcome


def document(result: AuditResult) -> ET.Element:
    root = ET.Element("testsuites", {"name": "asm-audit"})
    strict = strict_of(result)
    frame = result.findings
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    timestamp = clean(result.generated_at).removesuffix("Z")[:19]
    gates = [g.value for g in GATE_ORDER if g.value in result.gates] or list(result.gates)
    for gate in gates:
        suite = ET.SubElement(root, "testsuite", {
            "name": f"asm-audit {gate}", "timestamp": timestamp, "hostname": "asm-audit", "time": "0"})
        props = ET.SubElement(suite, "properties")
        for name, value in (("verdict", result.gate_verdicts.get(gate, result.verdict.value)),
                            ("overall_verdict", result.verdict.value), ("exit_code", str(result.exit_code)),
                            ("inputs_sha256", result.inputs_sha256), ("tool_version", result.tool_version),
                            ("clusters", ", ".join(c["name"] for c in result.clusters))):
            ET.SubElement(props, "property", {"name": name, "value": clean(value, 1000)})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        sub = frame[frame["gate"].astype(str) == gate] if not frame.empty else frame
        if not sub.empty:
            keys = [sub["check_id"].astype(str), sub["cluster"].astype(str)]
            for (check_id, cluster), group in sub.groupby(keys, sort=False):
                outcome = _testcase(suite, gate, check_id, cluster, group, strict)
                counts["tests"] += 1
                if outcome != "passed":
                    counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[outcome]] += 1
        added = _verdict_case(suite, gate, result.gate_verdicts.get(gate, result.verdict.value), counts)
        if added:
            counts["tests"] += 1
            counts[{"failure": "failures", "error": "errors"}[added]] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    return root


def dumps(result: AuditResult) -> bytes:
    tree = ET.ElementTree(document(result))
    ET.indent(tree, space="  ")
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True) + b"\n"


def render(result: AuditResult, out_dir: Path) -> Path:
    return write_atomic(Path(out_dir) / "junit.xml", dumps(result))
