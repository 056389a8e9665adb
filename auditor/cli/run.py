"""`asm-audit run`: audit live clusters or a snapshot for a gate and write the reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from auditor import api
from auditor.cli.common import OutOpt, PhaseOpt, Progress, QuietOpt, print_summary
from auditor.engine import PHASES, AuditResult
from auditor.errors import UsageError
from auditor.render import DEFAULT_FORMATS, parse_formats, render_all
from auditor.render.json_out import dumps


def check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase!r}; choose one of: {', '.join(PHASES)}")


def target_from(snapshot: str | None, kubeconfig: str | None, context: str | None, cluster: list[str],
                asm_kubeconfig: str | None, asm_context: str | None, timeout: float) -> api.Target:
    if timeout <= 0:
        raise UsageError("--timeout must be positive")
    return api.Target(snapshot=snapshot, kubeconfig=kubeconfig, context=context,
                      clusters=[api.ClusterSpec.parse(c) for c in cluster or []],
                      asm_kubeconfig=asm_kubeconfig, asm_context=asm_context, timeout_s=timeout)


def emit(result: AuditResult, out: Path, formats: list[str], quiet: bool) -> None:
    if str(out) == "-":
        if formats != ["json"]:
            raise UsageError("--out - writes findings.json to stdout; use it with --format json")
        sys.stdout.buffer.write(dumps(result) + b"\n")
        print_summary(result, [], quiet)
        return
    written = render_all(result, out, formats)
    print_summary(result, written, quiet)


def run(
    phase: PhaseOpt = "auto",
    kubeconfig: Annotated[str | None, typer.Option(help="Data-plane kubeconfig (default: $KUBECONFIG).")] = None,
    context: Annotated[str | None, typer.Option(help="Context in the kubeconfig (default: current).")] = None,
    asm_kubeconfig: Annotated[str | None, typer.Option(help="ASM control-plane kubeconfig "
                                                       "(default: $ASM_KUBECONFIG).")] = None,
    asm_context: Annotated[str | None, typer.Option(help="Context in the ASM kubeconfig.")] = None,
    cluster: Annotated[list[str] | None, typer.Option(help="NAME=KUBECONFIG[@CONTEXT], repeatable.")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus URL for gateway traffic.")] = None,
    snapshot: Annotated[str | None, typer.Option(help="Audit a snapshot directory or .tar.gz.")] = None,
    traffic_window: Annotated[str | None, typer.Option(help="Traffic window, e.g. 24h.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML config file.")] = None,
    out: OutOpt = Path("asm-audit-report"),
    format: Annotated[str, typer.Option("--format", help="html,pdf,json,csv,junit,md")] = ",".join(
        DEFAULT_FORMATS),
    allow_unknown: Annotated[bool, typer.Option(help="UNKNOWN findings do not block GO.")] = False,
    strict: Annotated[bool, typer.Option(help="WARN and minor FAIL block GO too.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per API request.")] = 30.0,
    quiet: QuietOpt = False,
) -> None:
    """Audit one gate (default: the next step the cluster shows) and write the reports."""
    formats = parse_formats(format)
    check_phase(phase)
    target = target_from(snapshot, kubeconfig, context, cluster or [], asm_kubeconfig, asm_context, timeout)
    cfg = api.load_config(config)
    if prometheus:
        cfg.prometheus.url = prometheus
    if traffic_window:
        cfg.prometheus.window = traffic_window
    with Progress(quiet) as progress:
        result = api.run_audit(target, phase, cfg, allow_unknown=allow_unknown, strict=strict,
                               progress=progress)
    emit(result, out, formats, quiet)
    raise typer.Exit(result.exit_code)
