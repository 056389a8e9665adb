"""`asm-audit snapshot`: collect once, read-only, for an audit elsewhere (air-gapped CAB, support)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor import api
from auditor.cli.common import Progress, QuietOpt, err
from auditor.cli.run import target_from
from auditor.errors import UsageError


def snapshot(
    out: Annotated[Path, typer.Option("--out", help="The .tar.gz to write.")],
    kubeconfig: Annotated[str | None, typer.Option(help="Data-plane kubeconfig (default: $KUBECONFIG).")] = None,
    context: Annotated[str | None, typer.Option(help="Context in the kubeconfig.")] = None,
    asm_kubeconfig: Annotated[str | None, typer.Option(help="ASM kubeconfig (default: $ASM_KUBECONFIG).")] = None,
    asm_context: Annotated[str | None, typer.Option(help="Context in the ASM kubeconfig.")] = None,
    cluster: Annotated[list[str] | None, typer.Option(help="NAME=KUBECONFIG[@CONTEXT], repeatable.")] = None,
    fleet: Annotated[Path | None, typer.Option(help="Fleet file: data-plane clusters with kubeconfig/context "
                                               "(and the ASM control plane).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Record gateway traffic from this Prometheus.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML config file.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per API request.")] = 30.0,
    quiet: QuietOpt = False,
) -> None:
    """Read everything every gate needs (GET only, never Secrets) into a snapshot .tar.gz."""
    if not out.name.endswith((".tar.gz", ".tgz")):
        raise UsageError("--out must name a .tar.gz file")
    target = target_from(None, kubeconfig, context, cluster or [], asm_kubeconfig, asm_context, timeout)
    target.fleet = str(fleet) if fleet else None
    cfg = api.load_config(config)
    if prometheus:
        cfg.prometheus.url = prometheus
    with Progress(quiet) as progress:
        result = api.run_audit(target, "all", cfg, progress=progress, snapshot_out=out)
    unreachable = [c["name"] for c in result.clusters if not c["reachable"]]
    err.print(f"wrote {out} ({out.stat().st_size // 1024} KiB; clusters: "
              f"{', '.join(c['name'] for c in result.clusters)})")
    if unreachable:
        err.print(f"[yellow]unreachable, recorded as such:[/] {', '.join(unreachable)}")
        raise typer.Exit(3)
