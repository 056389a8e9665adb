"""`asm-audit snapshot`: collect once, read-only, for an audit elsewhere (air-gapped CAB, support)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from auditor import api
from auditor.cli.common import (
    AsmContextOpt,
    AsmEndpointOpt,
    AsmKubeconfigOpt,
    AsmMeshIdOpt,
    AsmRegionOpt,
    ClusterOpt,
    ConfigOpt,
    ContextOpt,
    FleetOpt,
    KubeconfigOpt,
    Progress,
    QuietOpt,
    RunTimeoutOpt,
    TimeoutOpt,
    apply_asm_options,
    err,
)
from auditor.cli.prometheus_options import (
    CaFileOpt,
    InsecureOpt,
    PasswordFileOpt,
    PromTimeoutOpt,
    TokenFileOpt,
    TrafficWindowOpt,
    UsernameOpt,
    apply_prometheus_options,
)
from auditor.cli.run import target_from
from auditor.errors import UsageError


def snapshot(
    out: Annotated[Path, typer.Option("--out", help="The .tar.gz to write.")],
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    asm_kubeconfig: AsmKubeconfigOpt = None,
    asm_context: AsmContextOpt = None,
    cluster: ClusterOpt = None,
    fleet: FleetOpt = None,
    asm_mesh_id: AsmMeshIdOpt = None,
    asm_region: AsmRegionOpt = None,
    asm_endpoint: AsmEndpointOpt = None,
    prometheus: Annotated[str | None, typer.Option(help="Record gateway traffic from this Prometheus.")] = None,
    traffic_window: TrafficWindowOpt = None,
    prometheus_bearer_token_file: TokenFileOpt = None,
    prometheus_username: UsernameOpt = None,
    prometheus_password_file: PasswordFileOpt = None,
    prometheus_ca_file: CaFileOpt = None,
    prometheus_insecure_skip_verify: InsecureOpt = False,
    prometheus_timeout: PromTimeoutOpt = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 30.0,
    run_timeout: RunTimeoutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Read everything every gate needs (GET only, never Secrets) into a snapshot .tar.gz."""
    if not out.name.endswith((".tar.gz", ".tgz")):
        raise UsageError("--out must name a .tar.gz file")
    target = target_from(None, kubeconfig, context, cluster or [], asm_kubeconfig, asm_context, timeout,
                         run_timeout)
    target.fleet = str(fleet) if fleet else None
    cfg = apply_prometheus_options(
        api.load_config(config), url=prometheus, window=traffic_window,
        bearer_token_file=prometheus_bearer_token_file, username=prometheus_username,
        password_file=prometheus_password_file, ca_file=prometheus_ca_file,
        insecure_skip_verify=prometheus_insecure_skip_verify, timeout=prometheus_timeout)
    cfg = apply_asm_options(cfg, asm_mesh_id, asm_region, asm_endpoint)
    with Progress(quiet) as progress:
        result = api.run_audit(target, "all", cfg, progress=progress, snapshot_out=out)
    unreachable = [c["name"] for c in result.clusters if not c["reachable"]]
    err.print(f"wrote {out} ({out.stat().st_size // 1024} KiB; clusters: "
              f"{', '.join(c['name'] for c in result.clusters)})")
    traffic = result.inventory.traffic if result.inventory else None
    if traffic is None:
        err.print("gateway traffic not recorded (no --prometheus): the traffic check will be UNKNOWN offline")
    else:
        failed = [g for g in traffic.gateways if g.error]
        err.print(f"gateway traffic recorded for {len(traffic.gateways)} gateway(s), window {traffic.window}"
                  + (f"; [yellow]{len(failed)} without an answer[/]: {escape(failed[0].error or '')}"
                     if failed else ""))
    openapi_errors = (result.inventory.asm_openapi.get("_errors") or {}) if result.inventory else {}
    for line in dict.fromkeys(openapi_errors.values()):
        # Recorded as such: offline, the checks that needed the answer are UNKNOWN with this line.
        err.print(f"[yellow]not recorded:[/] {escape(line)}")
    unread = [f"{c.name}/{kind}" for c in result.inventory.clusters() for kind in c.errors] if result.inventory else []
    if unread:
        # Recorded with their reason (e.g. the --run-timeout deadline): offline, those checks are UNKNOWN.
        err.print(f"[yellow]{len(unread)} kind(s) not read, recorded as such:[/] {escape(', '.join(unread[:8]))}"
                  + (f" and {len(unread) - 8} more" if len(unread) > 8 else ""))
    if unreachable:
        err.print(f"[yellow]unreachable, recorded as such:[/] {', '.join(unreachable)}")
    if unreachable or unread or openapi_errors:
        raise typer.Exit(3)
