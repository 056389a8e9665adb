"""summary.md for PR comments and chat: verdict, counts, top blockers and their commands.

GitHub-flavoured Markdown renders inline HTML, links and @mentions, so text from clusters is escaped:
HTML metacharacters as entities, Markdown punctuation with backslashes, table pipes, and mentions,
issue references and bare URLs broken with a word joiner so a hostile status.message can neither inject
markup nor ping anyone. Commands go into fenced blocks whose fence is longer than any backtick run inside.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from auditor.engine import AuditResult
from auditor.evidence import evidence_said
from auditor.findings import disclosure, strict_of, unknown_accepted
from auditor.i18n import format_timestamp, say
from auditor.i18n import gettext as _
from auditor.render import write_atomic
from auditor.render.changes import plan
from auditor.render.context import (
    GATE_STEP,
    STATUS_ORDER,
    accepted_from_baseline,
    blocking_mask,
    clean,
    commands_once,
    looks_like_command,
    remediation_items,
    split_remediation,
    subject_of,
    uninstall_ranks,
)
from auditor.render.counts import blocker_counts, per_gate_text
from auditor.render.localize import localized

TOP = 10
ICON = {"GO": "\U0001f7e2", "NO-GO": "\U0001f534", "INCOMPLETE": "\U0001f7e1"}
WJ = "\u2060"  # word joiner: invisible, but breaks @mentions, #refs and autolinks
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # emphasis, code, links, tables, strike; < > & become entities


def _commented(text: str) -> str:
    """Advice as shell comments, and the commands after it (if it is so shaped) as they are."""
    advice, commands = split_remediation(text)
    if not commands:
        return "# " + text.replace("\n", "\n# ")
    return "# " + advice.replace("\n", "\n# ") + "\n" + commands


def md(value: object, limit: int = 300) -> str:
    """One line of cluster text, safe inside a Markdown paragraph or table cell."""
    text = clean(value, limit).replace("\n", " ").replace("\t", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("@", "@" + WJ).replace("://", ":" + WJ + "//").replace("www.", "www" + WJ + ".")
    return re.sub(r"#(?=\d)", "#" + WJ, text)  # "#123" would link an issue


def code_span(value: object, limit: int = 120) -> str:
    """Inline code: no backticks inside. A value with a table pipe is plain escaped text instead: GFM splits a
    row at `\\|` (escaped backslash, bare pipe), and inside a code span a backslash cannot be escaped."""
    text = clean(value, limit).replace("\n", " ").replace("`", "'")
    if "|" in text:
        return md(text, limit)
    return f"`{text}`" if text else ""


def code_block(lines: list[str], lang: str = "bash") -> str:
    body = "\n".join(clean(line, 4000) for line in lines)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}\n{fence}"


def _table(rows: pd.DataFrame, with_status: bool = False) -> list[str]:
    columns = ([_("Status")] if with_status else []) + [_("Severity"), _("Check"), _("Cluster"), _("Subject"),
                                                          _("Finding")]
    head = "| " + " | ".join(columns) + " |"
    out = [head, "|" + "---|" * (6 if with_status else 5)]
    for r in rows.itertuples(index=False):
        status = f"{md(r.status)} | " if with_status else ""
        out.append(f"| {status}{md(r.severity)} | {code_span(r.check_id, 80)} | {md(r.cluster, 80)} | "
                   f"{md(subject_of(r.kind, r.namespace, r.name), 160)} | {md(r.message, 240)} |")
    return out


def document(result: AuditResult) -> str:
    result = localized(result)
    frame = result.findings
    verdict = result.verdict.value
    step = _(GATE_STEP.get(result.gate, "every gate"))
    names = [c["name"] for c in result.clusters if c.get("role") == "data-plane"]
    accepted_unknown = unknown_accepted(result)
    said = disclosure(result.summary, accepted_unknown)
    config = f" ({md(said)})" if said else ""
    gate = _("{gate} gate").format(gate=md(result.gate))
    lines = [f"## {ICON.get(verdict, '')} {verdict}{config} \u2014 {gate} ({md(step)})", ""]
    block = frame[blocking_mask(frame, strict_of(result))] if not frame.empty else frame
    status = frame["status"].astype(str) if not frame.empty else pd.Series(dtype=str)
    unknown = frame[(status == "UNKNOWN") & ~frame["exempt"]] if not frame.empty else frame
    n_block, per_gate = blocker_counts(block, list(result.gates))
    beside = _(" (per gate: {per_gate})").format(per_gate=md(per_gate_text(per_gate))) if per_gate_text(
        per_gate) else ""
    if verdict == "NO-GO":
        lines.append(_("**Do not proceed:** {n} blocking finding(s) must be fixed first{beside}.").format(
            n=f"{n_block:,}", beside=beside))
    elif verdict == "INCOMPLETE":
        lines.append(_("**No decision:** {n} result(s) lack evidence (UNKNOWN is not PASS).").format(
            n=f"{len(unknown):,}"))
    elif accepted_unknown:  # never "nothing unknown" when UNKNOWNs were let through
        lines.append(_("**Go under --allow-unknown:** no blocking finding, but {n} result(s) lack evidence "
                       "(UNKNOWN is not PASS; without --allow-unknown: INCOMPLETE).").format(n=f"{accepted_unknown:,}"))
        if accepted_from_baseline(result):
            lines.append(_("{n} known blocker(s) accepted under --fail-on-new (without the baseline: {verdict})."
                           ).format(n=f"{accepted_from_baseline(result):,}",
                                    verdict=md(result.baseline_delta.get("verdict_without_baseline"))))
    elif accepted_from_baseline(result):
        lines.append(_("**Go under --fail-on-new:** no blocking finding new since the baseline, nothing unknown; "
                       "{n} known blocker(s) accepted (without the baseline: {verdict}).").format(
            n=f"{accepted_from_baseline(result):,}",
            verdict=md(result.baseline_delta.get("verdict_without_baseline"))))
    else:
        lines.append(_("**Go:** no blocking finding, nothing unknown."))
    lines.append("")
    counts = " \u00b7 ".join(f"{s.replace('_', ' ')} {result.summary.get(s, 0):,}" for s in STATUS_ORDER
                             if result.summary.get(s))
    live = _("n/a (live)")
    lines += [
        "| " + " | ".join((_("Clusters"), _("Audited at"), _("Exit code"), _("Tool"), _("Inputs SHA-256"))) + " |",
        "|---|---|---|---|---|",
        f"| {md(', '.join(names), 400) or '-'} | {md(format_timestamp(result.generated_at))} | {result.exit_code} | "
        f"asm\\-audit {md(result.tool_version)} | {code_span(result.inputs_sha256, 80) or live} |", "",
        _("**Evidence:** {said}").format(said=md(say(evidence_said(result)))), "",
        _("**Findings:** {counts} \u2014 **{n} blocking**{beside}").format(
            counts=counts or _("none"), n=f"{n_block:,}", beside=beside), ""]
    if len(result.gate_verdicts) > 1:
        behind = result.past_gates()[1]  # a GO about a step the migration has taken already says so
        lines.append(_("**Per gate:**") + " " + ", ".join(
            f"{md(g)} {ICON.get(v, '')} {v}" + (" (" + _("already past") + ")" if g in behind else "")
            for g, v in result.gate_verdicts.items()))
        lines.append("")
    if not block.empty:
        shown = block.sort_values(["severity", "check_id", "cluster", "namespace", "name"]).head(TOP)
        lines += [_("### Blockers ({n})").format(n=f"{len(block):,}"), "", *_table(shown, strict_of(result)), ""]
        if len(block) > TOP:
            lines += [_("\u2026 and {n} more in `findings.csv` / `report.html`.").format(n=f"{len(block) - TOP:,}"), ""]
        # Advice that is not a command becomes a comment, so the block stays pasteable into a shell; the command
        # lines that follow advice (context.split_remediation) stay commands.
        # Each command once, a Helm release's uninstall in purge-preview's order (context.commands_once).
        commands = [c if looks_like_command(c) else _commented(c)
                    for c in commands_once(remediation_items(shown, cut=False), uninstall_ranks(result.findings))]
        if commands:
            summary = _("Commands for these blockers")  # not inside an f-string: the extractor reads calls only
            lines += [f"<details><summary>{summary}</summary>", "", code_block(commands), "", "</details>", ""]
    if not unknown.empty:
        lines += [_("### Unknown ({n})").format(n=f"{len(unknown):,}"), "", *_table(unknown.head(5)), ""]
        if len(unknown) > 5:
            lines += [_("\u2026 and {n} more in `findings.csv`.").format(n=f"{len(unknown) - 5:,}"), ""]
    expired = result.exemptions.expired
    if expired:
        lines += [_("**Expired exemptions (not applied):**") + " " + ", ".join(
            _("{check} ({reason}, expired {date})").format(check=code_span(e.check, 80), reason=md(e.reason, 120),
                                                          date=e.expires) for e in expired[:5]), ""]
    lines += _changes_section(result)
    lines.append(_("_Full evidence: `report.pdf` (CAB pack), `report.html`, `findings.json`._"))
    return "\n".join(lines) + "\n"


def _changes_section(result: AuditResult) -> list[str]:
    """What each gate's step changes and how to back out (auditor/render/changes.py), folded: it is long."""
    out: list[str] = []
    not_counted, labelled = _("n/a"), _("{label}: {item}")
    for g in plan(result):
        gate = _("{gate} gate").format(gate=md(g["gate"]))
        out += [f"**{gate} ({md(g['step'])})**", ""]
        for label, key in ((_("Creates"), "creates"), (_("Changes"), "changes"), (_("Deletes"), "deletes")):
            out += ["- " + labelled.format(label=label, item=md(item, 400)) for item in g[key]]
        for c in g["clusters"]:
            out += [f"- {md(c['name'], 80)}: **{not_counted if n['count'] is None else format(n['count'], ',')}** "
                    f"{md(n['what'], 200)}" + (f" ({md(n['detail'], 200)})" if n["detail"] else "")
                    for n in c["numbers"]]
        for label, key in ((_("Before the step"), "undo_before"), (_("Back out after"), "undo_after"),
                           (_("Cannot be undone"), "irreversible")):
            out += ["- " + labelled.format(label=label, item=md(item, 400)) for item in g[key]]
        before, after = "# " + _("before the step"), "# " + _("back out after")
        commands = (([before, *g["undo_before_commands"]] if g["undo_before_commands"] else [])
                    + ([after, *g["undo_after_commands"]] if g["undo_after_commands"] else []))
        out += (["", code_block(commands)] if commands else []) + [""]
    if not out:
        return []
    summary = _("What each step changes, and how to back out")
    return [f"<details><summary>{summary}</summary>", "", *out, "</details>", ""]


def render(result: AuditResult, out_dir: Path) -> Path:
    return write_atomic(Path(out_dir) / "summary.md", document(result).encode("utf-8"))
