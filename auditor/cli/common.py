"""What the commands share: console on stderr, progress, error handling, the human summary."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.table import Table

from auditor import i18n
from auditor.config import Config
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.findings import blockers, disclosure
from auditor.i18n import gettext as _
from auditor.i18n import pgettext
from auditor.model import Status, Verdict
from auditor.render import show_controls
from auditor.render.counts import blocker_counts, per_gate_text


def escape(text: str) -> str:
    """Rich markup escaped and control characters made visible: safe to print whatever a cluster holds.

    Cluster data reaches the terminal: ANSI escapes, NUL, CR, newlines and bidi overrides are shown as escapes,
    so a hostile name cannot recolour, rewrite or forge lines of the summary."""
    return _markup_escape(show_controls(str(text)))


# Human output goes to stderr; stdout stays clean for machine output.
# Piped into a CI log there is no terminal width; 80 columns would fold every table row.
err = Console(stderr=True, highlight=False, soft_wrap=True,
              width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 140)

VERDICT_STYLE = {Verdict.GO: "bold white on green", Verdict.NO_GO: "bold white on red",
                 Verdict.INCOMPLETE: "bold black on yellow"}

PhaseOpt = Annotated[str, typer.Option("--phase", help="Gate: auto, all, assessment, setup, migrating, "
                                       "uninstall, finished.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Report directory ('-' prints findings.json to stdout).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, only the verdict line.")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Language of the terminal summary, HTML, PDF and summary.md: en or zh-CN (default: from "
    "LC_ALL/LANG). findings.json, CSV and JUnit stay English.")]


def resolve_lang(lang: str | None) -> str:
    """--lang, else the locale's language (a bad --lang is a usage error, before any audit starts)."""
    return i18n.parse_lang(lang) if lang is not None else i18n.lang_from_env()


# Where to read from: the same options for `run` and `snapshot`.
KubeconfigOpt = Annotated[str | None, typer.Option(help="Data-plane kubeconfig (default: $KUBECONFIG).")]
ContextOpt = Annotated[str | None, typer.Option(help="Context in the kubeconfig (default: current).")]
AsmKubeconfigOpt = Annotated[str | None, typer.Option(help="ASM control-plane kubeconfig (default: $ASM_KUBECONFIG).")]
AsmContextOpt = Annotated[str | None, typer.Option(help="Context in the ASM kubeconfig.")]
ClusterOpt = Annotated[list[str] | None, typer.Option(help=r"NAME=KUBECONFIG\[@CONTEXT], repeatable.")]
FleetOpt = Annotated[Path | None, typer.Option(help="Fleet file: data-plane clusters with kubeconfig/context "
                                               "(and the ASM control plane).")]
ConfigOpt = Annotated[Path | None, typer.Option(help="YAML config file.")]
# ASM's own facts through its OpenAPI (auditor/sources/asm_openapi.py); credentials from the SDK's default chain.
AsmMeshIdOpt = Annotated[str | None, typer.Option(help="ASM instance id: read its version, networks and clusters "
                                                  "from the ASM OpenAPI (config asm.mesh_id).")]
AsmRegionOpt = Annotated[str | None, typer.Option(help="Region of the ASM instance, e.g. cn-hangzhou (config "
                                                  "asm.region).")]
AsmEndpointOpt = Annotated[str | None, typer.Option(help="ASM OpenAPI endpoint, e.g. a VPC endpoint (default: the "
                                                    "SDK's public endpoint; config asm.endpoint).")]


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
    help="Seconds to wait for an API answer to start or go on (each wait; --run-timeout bounds the run).")]
RunTimeoutOpt = Annotated[float | None, typer.Option(
    help="Deadline in seconds for the whole collection; what is not read by then is UNKNOWN.")]


class Progress:
    """Progress on stderr: a Rich status line on a TTY, plain lines otherwise, nothing with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._status = None

    def __enter__(self) -> Progress:
        if not self.quiet and self.tty:
            self._status = err.status("collecting...")
            self._status.__enter__()
        return self

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self._status is not None:
            self._status.update(escape(message))
        else:
            print(show_controls(message), file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


def print_summary(result: AuditResult, written: list[Path], quiet: bool = False, top: int = 10) -> None:
    if i18n.current() != i18n.DEFAULT_LANG:  # imported only then: a JSON-only CI gate loads no report machinery
        from auditor.render.localize import localized

        result = localized(result)
    verdict = result.verdict
    gates = ", ".join(result.gates) if result.gate == "all" else result.gate
    said = disclosure(result.summary)
    config = f" [bold]- {escape(said)}[/]" if said else ""
    err.print(f"[{VERDICT_STYLE[verdict]}] {verdict.value} [/]{config} "
              + _("gate {gate}").format(gate=f"[bold]{escape(gates)}[/]")
              + f" ({escape(result.gate_reason)}) " + _("exit {code}").format(code=result.exit_code))
    if quiet:
        return
    counts = "  ".join(f"{s.value} {result.summary.get(s.value, 0)}" for s in Status if result.summary.get(s.value))
    err.print(_("findings: {counts}").format(counts=counts or _("none")))
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
    accepted = int(delta.get("accepted_from_baseline") or 0)
    block = blockers(result.findings)
    if not block.empty:
        accepted_text = _("; {n} already in the baseline, not blocking (--fail-on-new)").format(n=accepted) if (
            accepted) else ""
        n_block, per_gate = blocker_counts(block, list(result.gates))
        beside = _("; per gate: {per_gate}").format(per_gate=per_gate_text(per_gate)) if per_gate_text(
            per_gate) else ""
        table = Table(title=_("Blockers ({n}{beside}{accepted})").format(n=n_block, beside=beside,
                                                                      accepted=accepted_text),
                      title_justify="left", show_lines=False, expand=False)
        for col in (pgettext("terminal column", "check"), pgettext("terminal column", "cluster"),
                    pgettext("terminal column", "subject"), pgettext("terminal column", "message")):
            table.add_column(col, overflow="fold")
        for row in block.head(top).itertuples(index=False):
            subject = "/".join(x for x in (row.kind, row.namespace, row.name) if x)
            table.add_row(escape(str(row.check_id)), escape(str(row.cluster)), escape(subject),
                          escape(str(row.message)))
        err.print(table)
        if len(block) > top:
            err.print(_("... and {n} more in the report").format(n=len(block) - top))
        first = block.iloc[0]
        if first["remediation"]:
            err.print(_("next: {remediation}").format(remediation=escape(str(first["remediation"]))))
    unknown = result.findings[result.findings["status"].astype(str) == "UNKNOWN"]
    if not unknown.empty and verdict is not Verdict.NO_GO:
        err.print(f"[yellow]{len(unknown)} UNKNOWN[/] " + _("(no evidence; --allow-unknown to accept):"))
        for row in unknown.head(top).itertuples(index=False):
            err.print(f"  {escape(str(row.check_id))} {escape(str(row.cluster))}: {escape(str(row.message))}")
    for note in result.notes:
        err.print(_("note: {note}").format(note=escape(note)))
    for path in written:
        err.print(_("wrote {path}").format(path=escape(str(path))))
