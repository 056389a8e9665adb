"""What the commands share: console on stderr, progress, error handling, the human summary."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape as _markup_escape

from auditor import i18n, mesh
from auditor.config import Config
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.evidence import evidence_said
from auditor.findings import blockers, disclosure, strict_of, unknown_accepted
from auditor.i18n import gettext as _
from auditor.i18n import pgettext, say
from auditor.model import Status, Verdict
from auditor.render import show_controls
from auditor.render.counts import blocker_counts, per_gate_text

if TYPE_CHECKING:
    from rich.table import Table


def escape(text: str) -> str:
    """Rich markup escaped and control characters made visible: safe to print whatever a cluster holds.

    Cluster data reaches the terminal: ANSI escapes, NUL, CR, newlines and bidi overrides are shown as escapes,
    so a hostile name cannot recolour, rewrite or forge lines of the summary."""
    return _markup_escape(show_controls(str(text)))


# Human output goes to stderr; stdout stays clean for machine output.
# Piped into a CI log there is no terminal width; 80 columns would fold every table row.
# No emoji codes: `:warning:` in a name read from a cluster or snapshot is shown as written, not as an emoji.
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False,
              width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 140)

VERDICT_STYLE = {Verdict.GO: "bold white on green", Verdict.NO_GO: "bold white on red",
                 Verdict.INCOMPLETE: "bold black on yellow"}

# --help groups the options in these panels (Typer's rich_help_panel), in this order.
CLUSTERS, PROMETHEUS, OUTPUTS, POLICY = "Clusters", "Prometheus", "Outputs", "Policy"

PhaseOpt = Annotated[str, typer.Option("--phase", help="Gate: auto, all, assessment, setup, migrating, "
                                       "uninstall, finished.", rich_help_panel=POLICY)]
OutOpt = Annotated[Path, typer.Option("--out", help="Report directory ('-' prints findings.json to stdout).",
                                      rich_help_panel=OUTPUTS)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, only the verdict line.",
                                        rich_help_panel=OUTPUTS)]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Language of the terminal summary, HTML, PDF and summary.md: en or zh-CN (default: from "
    "LC_ALL/LANG). findings.json, CSV and JUnit stay English.", rich_help_panel=OUTPUTS)]


def resolve_lang(lang: str | None) -> str:
    """--lang, else the locale's language (a bad --lang is a usage error, before any audit starts)."""
    return i18n.parse_lang(lang) if lang is not None else i18n.lang_from_env()


# Where to read from: the same options for `run` and `snapshot`.
KubeconfigOpt = Annotated[str | None, typer.Option(help="Data-plane kubeconfig (default: $KUBECONFIG).",
                                                   rich_help_panel=CLUSTERS)]
ContextOpt = Annotated[str | None, typer.Option(help="Context in the kubeconfig (default: current).",
                                                rich_help_panel=CLUSTERS)]
AsmKubeconfigOpt = Annotated[str | None, typer.Option(help="ASM control-plane kubeconfig (default: $ASM_KUBECONFIG).",
                                                      rich_help_panel=CLUSTERS)]
AsmContextOpt = Annotated[str | None, typer.Option(help="Context in the ASM kubeconfig.", rich_help_panel=CLUSTERS)]
ClusterOpt = Annotated[list[str] | None, typer.Option(help=r"NAME=KUBECONFIG\[@CONTEXT], repeatable.",
                                                      rich_help_panel=CLUSTERS)]
FleetOpt = Annotated[Path | None, typer.Option(help="Fleet file: data-plane clusters with kubeconfig/context "
                                               "(and the ASM control plane).", rich_help_panel=CLUSTERS)]
ConfigOpt = Annotated[Path | None, typer.Option(help="YAML config file.", rich_help_panel=POLICY)]
# ASM's own facts through its OpenAPI (auditor/sources/asm_openapi.py); credentials from the SDK's default chain.
AsmMeshIdOpt = Annotated[str | None, typer.Option(help="ASM instance id: read its version, networks and clusters "
                                                  "from the ASM OpenAPI (config asm.mesh_id).",
                                                  rich_help_panel=CLUSTERS)]
AsmRegionOpt = Annotated[str | None, typer.Option(help="Region of the ASM instance, e.g. cn-hangzhou (config "
                                                  "asm.region).", rich_help_panel=CLUSTERS)]
AsmEndpointOpt = Annotated[str | None, typer.Option(help="ASM OpenAPI endpoint, e.g. a VPC endpoint (default: the "
                                                    "SDK's public endpoint; config asm.endpoint).",
                                                    rich_help_panel=CLUSTERS)]


def apply_asm_options(config: Config, mesh_id: str | None, region: str | None, endpoint: str | None,
                      snapshot: str | None = None) -> Config:
    """The --asm-* flags over the config's asm.mesh_id / region / endpoint."""
    if snapshot and (mesh_id or region or endpoint):
        raise UsageError("--asm-mesh-id/--asm-region/--asm-endpoint read ASM live and cannot be combined with "
                         "--snapshot (the snapshot carries the ASM OpenAPI answers it was taken with)")
    for key, value in (("mesh_id", mesh_id), ("region", region), ("endpoint", endpoint)):
        if value is not None:
            setattr(config.asm, key, value)
    return config


TimeoutOpt = Annotated[float, typer.Option(
    help="Seconds to wait for an API answer to start or go on (each wait; --run-timeout bounds the run).",
    rich_help_panel=CLUSTERS)]
RunTimeoutOpt = Annotated[float | None, typer.Option(
    help="Deadline in seconds for the whole collection; what is not read by then is UNKNOWN.",
    rich_help_panel=CLUSTERS)]


# Below this width (or without a terminal: a CI log) a table would fold ids and names; one line per finding
# instead, like `istioctl analyze`, which grep and a narrow log viewer both read whole.
TABLE_MIN_WIDTH = 100


def one_line_per_finding() -> bool:
    return not err.is_terminal or err.width < TABLE_MIN_WIDTH


class Progress:
    """Progress on stderr: a Rich status line on a TTY, plain lines otherwise, nothing with --quiet.

    Fleet clusters are read in threads: each plain line is written whole under a lock (one write call),
    so two clusters' lines never interleave."""

    def __init__(self, quiet: bool, lang: str = i18n.DEFAULT_LANG) -> None:
        self.quiet = quiet
        self.lang = lang  # the audit runs in English (findings.json); its progress lines are said in the reader's
        self.tty = sys.stderr.isatty()
        self._status = None
        self._lock = threading.Lock()

    def __enter__(self) -> Progress:
        if not self.quiet and self.tty:
            with i18n.language(self.lang):
                self._status = err.status(_("collecting..."))
            self._status.__enter__()
        return self

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if isinstance(message, i18n.Phrase):
            with i18n.language(self.lang):
                message = say(message)
        with self._lock:
            if self._status is not None:
                self._status.update(escape(message))
            else:
                sys.stderr.write(show_controls(message) + "\n")
                sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


def subject_of(row: Any) -> str:
    return "/".join(str(x) for x in (row.kind, row.namespace, row.name) if x)


def finding_line(row: Any, status: str) -> str:
    """`BLOCKER AA1410 egress-routes-to-asm cluster-a VirtualService/shop/cnn: message` (markup escaped)."""
    subject = subject_of(row)
    where = f" {escape(subject)}" if subject else ""
    return (f"{escape(status)} {escape(str(row.code))} {escape(str(row.check_id))} {escape(str(row.cluster))}{where}: "
            f"{escape(str(row.message))}")


def verdict_line(result: AuditResult) -> str:
    verdict = result.verdict
    gates = ", ".join(result.gates) if result.gate == "all" else result.gate
    said = disclosure(result.summary, unknown_accepted(result))
    config = f" [bold]- {escape(said)}[/]" if said else ""
    # One template for the whole line: a language sets its own brackets and spacing (zh-CN: full-width, no spaces).
    return (f"[{VERDICT_STYLE[verdict]}] {verdict.value} [/]{config} "
            + _("{gate} ({reason}) {exit}").format(
                gate=_("gate {gate}").format(gate=f"[bold]{escape(gates)}[/]"), reason=escape(say(result.gate_reason)),
                exit=_("exit {code}").format(code=result.exit_code)))


def print_summary(result: AuditResult, written: list[Path], quiet: bool = False, top: int = 10) -> None:
    """The verdict line, counts, blockers, unknowns, notes, files written, and the verdict line again: the last
    line of a CI log is the answer."""
    if i18n.current() != i18n.DEFAULT_LANG:  # imported only then: a JSON-only CI gate loads no report machinery
        from auditor.render.localize import localized

        result = localized(result)
    verdict = verdict_line(result)
    err.print(verdict)
    if quiet:
        return
    counts = "  ".join(f"{s.value} {result.summary.get(s.value, 0)}" for s in Status if result.summary.get(s.value))
    err.print(_("findings: {counts}").format(counts=counts or _("none")))
    if result.options.get("origin") == "snapshot":
        err.print(_("evidence: {said}").format(said=escape(say(evidence_said(result)))))
    fleet = getattr(result, "fleet", None) or []
    if sum(1 for r in fleet if r["role"] == "data-plane") > 1:  # per-cluster verdicts (auditor/fleet.py)
        err.print(_("clusters: ") + ", ".join(f"{escape(str(r['cluster']))} {r['verdict']}" + (
            f" ({r['state']})" if r["state"] != "ok" else "") for r in fleet if r["verdict"]))
    delta = getattr(result, "baseline_delta", None) or {}
    if delta:
        moved = (delta.get("migration") or {}).get("moved_total")
        err.print(_("since {when}: {new} new blocker(s), {resolved} resolved, {open} still open").format(
            when=escape(str(delta["old"].get("generated_at"))), new=delta["blockers"]["new"],
            resolved=delta["blockers"]["resolved"], open=delta["blockers"]["still_open"])
            + (_("; {n} workload(s) moved off Istio sidecars").format(n=moved) if moved else ""))
    _print_blockers(result, int(delta.get("accepted_from_baseline") or 0), top)
    if result.verdict is not Verdict.NO_GO:
        _print_unknowns(result, top)
    for note in result.notes:
        err.print(_("note: {note}").format(note=escape(note)))
    for path in written:
        err.print(_("wrote {path}").format(path=escape(str(path))))
    err.print(verdict)


def _print_blockers(result: AuditResult, accepted: int, top: int) -> None:
    block = blockers(result.findings, strict_of(result))  # what the verdict counted: --strict's too
    if block.empty:
        return
    accepted_text = _("; {n} already in the baseline, not blocking (--fail-on-new)").format(n=accepted) if (
        accepted) else ""
    n_block, per_gate = blocker_counts(block, list(result.gates))
    beside = _("; per gate: {per_gate}").format(per_gate=per_gate_text(per_gate)) if per_gate_text(
        per_gate) else ""
    title = _("Blockers ({n}{beside}{accepted})").format(n=n_block, beside=beside, accepted=accepted_text)
    shown = block.head(top)
    table = None if one_line_per_finding() else _blocker_table(title, shown)
    if table is not None:
        err.print(table)
    else:
        err.print(title)
        for row in shown.itertuples(index=False):
            err.print(finding_line(row, str(row.severity).upper()))
    if len(block) > top:
        err.print(_("... and {n} more in the report").format(n=len(block) - top))
    first = block.iloc[0]
    if first["remediation"]:
        for line in next_lines(str(first["remediation"])):
            err.print(line)


def next_lines(remediation: str) -> list[str]:
    """The `next:` lines of a remediation, escaped: one per line of the shell text (a comment and its command, a command
    and its fallback), a line's newline shown as an escape only where it is inside quotes (a name's: sh() quotes
    names) or where the quotes do not close."""
    lines = mesh.command_lines(remediation) or [remediation]
    template = _("next: {remediation}")
    indent = " " * cell_len(template.split("{remediation}")[0])  # under the first line's command (CJK: 2 cells)
    return [template.format(remediation=escape(lines[0])), *(indent + escape(line) for line in lines[1:])]


def _blocker_table(title: str, rows: pd.DataFrame) -> Table | None:
    """Ids, codes, cluster and object names are never folded mid-word (no_wrap); the message takes what is left.
    The subject is kind on one line and namespace/name on the next, so it stays whole and narrow. None when the
    whole names leave the message too little room: the caller prints lines then."""
    from rich.table import Table  # only a wide terminal shows a table (a CI log gets lines)
    from rich.text import Text

    cells = []
    for row in rows.itertuples(index=False):
        place = "/".join(str(x) for x in (row.namespace, row.name) if x)
        cells.append(([escape(str(row.check_id)), escape(str(row.code))], [escape(str(row.cluster))],
                      [escape(x) for x in (str(row.kind or ""), place) if x], escape(str(row.message))))
    widths = [max((len(Text.from_markup(line)) for c in cells for line in c[i]), default=0) for i in range(3)]
    message_min = 24
    if sum(widths) + message_min + 13 > err.width:  # 13: borders and padding of four columns
        return None
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for name in (pgettext("terminal column", "check"), pgettext("terminal column", "cluster"),
                 pgettext("terminal column", "subject")):
        table.add_column(name, no_wrap=True)
    table.add_column(pgettext("terminal column", "message"), min_width=message_min, overflow="fold")
    for check, cluster, subject, message in cells:
        table.add_row(f"{check[0]}\n[dim]{check[1]}[/]", cluster[0], "\n".join(subject), message)
    return table


def _not_acceptable(unknown: pd.DataFrame, down: dict[str, str], unread_primary: dict[str, list[str]]) -> list[str]:
    """What --allow-unknown does not accept among these UNKNOWN findings (the engine's rule, engine.py): a cluster
    not read at all, a data plane's primary kinds not read (options.unread_primary_kinds: its Pods), evidence too old
    (AA0012), no judgement made (judge.UNJUDGED_CODES: AA0010, a crashed or silent check, a plugin not loaded). Exempt
    ones aside."""
    from auditor.check import EVIDENCE_STALE
    from auditor.judge import UNJUDGED_CODES

    live = unknown[~unknown["exempt"].to_numpy(dtype=bool)]
    codes = sorted(set(live["code"].astype(str)) & (UNJUDGED_CODES | {EVIDENCE_STALE.code}))
    on = set(live["cluster"].astype(str))
    unread = [f"{', '.join(kinds)} of {name}" for name, kinds in sorted(unread_primary.items())
              if name not in down and name in on]
    return [*sorted(name for name in down if name in on), *unread, *codes]


def _print_unknowns(result: AuditResult, top: int) -> None:
    """UNKNOWN findings, one line each; an unreachable cluster is one line naming its server and error, not one
    repeated line per check that could not read it."""
    frame = result.findings
    unknown = frame[frame["status"].astype(str) == "UNKNOWN"]
    if unknown.empty:
        return
    down = {str(c["name"]): str(c.get("error") or "") for c in result.clusters if c.get("reachable") is False}
    on_down = unknown["cluster"].astype(str).isin(list(down))
    if (result.options or {}).get("allow_unknown"):  # given already: saying "to accept" would mislead
        err.print(f"[yellow]{len(unknown)} UNKNOWN[/] " + _("(no evidence; accepted by --allow-unknown):"))
    elif (result.options or {}).get("allow_unknown_refused"):
        # Why it does not apply (a cluster not read at all, old evidence, no judgement made) is the notes' word.
        err.print(f"[yellow]{len(unknown)} UNKNOWN[/] " + _("(--allow-unknown does not apply here; the notes below "
                                                            "say why):"))
    elif refused := _not_acceptable(unknown, down, (result.options or {}).get("unread_primary_kinds") or {}):
        # The engine refuses --allow-unknown for these (engine.py): "to accept" would send the reader round once more.
        err.print(f"[yellow]{len(unknown)} UNKNOWN[/] " + _("(--allow-unknown would not accept {what}):").format(
            what=escape(", ".join(refused))))
    else:
        err.print(f"[yellow]{len(unknown)} UNKNOWN[/] " + _("(no evidence; --allow-unknown to accept):"))
    for name, error in down.items():
        n = int((unknown["cluster"].astype(str) == name).sum())
        if n:
            err.print(_("UNKNOWN cluster {cluster} unreachable: {error} ({n} finding(s) UNKNOWN)").format(
                cluster=escape(name), error=escape(error), n=n))
    # --phase all reports one missing piece of evidence in each gate that needs it: shown once.
    rest = unknown[~on_down].drop_duplicates(["code", "check_id", "cluster", "kind", "namespace", "name", "message"])
    for row in rest.head(top).itertuples(index=False):
        err.print(finding_line(row, "UNKNOWN"))
    if len(rest) > top:
        err.print(_("... and {n} more in the report").format(n=len(rest) - top))
