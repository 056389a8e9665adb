"""`asm-audit run`: audit live clusters or a snapshot for a gate and write the reports."""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from auditor import api, i18n
from auditor.cli.common import (
    CLUSTERS,
    OUTPUTS,
    POLICY,
    PROMETHEUS,
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
    LangOpt,
    OutOpt,
    PhaseOpt,
    Progress,
    QuietOpt,
    RunTimeoutOpt,
    TimeoutOpt,
    apply_asm_options,
    print_summary,
    resolve_lang,
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
from auditor.cli.tracking_options import (
    HistoryOpt,
    MetricsFileOpt,
    NotifyFormatOpt,
    NotifyOnOpt,
    NotifyOpt,
    NotifySecretFileOpt,
    PushgatewayJobOpt,
    PushgatewayOpt,
    Tracking,
)
from auditor.diff import load_report
from auditor.engine import PHASES, AuditResult
from auditor.errors import UsageError, unknown_phase
from auditor.render import (
    DEFAULT_FORMATS,
    REPORT_FILES,
    check_outputs,
    parse_formats,
    render_all,
    written_by_asm_audit,
)
from auditor.render.json_out import dumps


def check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise unknown_phase(phase, list(PHASES))


PaperOpt = Annotated[str, typer.Option("--paper", help="PDF paper size: a4 or letter.", rich_help_panel=OUTPUTS)]
# Every value spelled out, so that --help shows them all at 80 columns.
FORMAT_HELP = "Comma-separated: html, pdf, json, csv, junit, md."
AllowUnknownOpt = Annotated[bool, typer.Option("--allow-unknown", help="UNKNOWN findings do not block GO.",
                                               rich_help_panel=POLICY)]
StrictOpt = Annotated[bool, typer.Option("--strict", help="WARN and minor FAIL block GO too.", rich_help_panel=POLICY)]
BaselineOpt = Annotated[Path | None, typer.Option(
    "--baseline", help="A previous findings.json: adds 'since last report'.", rich_help_panel=POLICY)]
SnapshotOpt = Annotated[str | None, typer.Option(help="Audit a snapshot directory or .tar.gz.",
                                                 rich_help_panel=CLUSTERS)]
RUN_EXAMPLES = """Examples:

  asm-audit run --kubeconfig prod.kc --asm-kubeconfig asm.kc
  asm-audit run --fleet fleet.yaml --phase all --format html,pdf,md
  asm-audit run --snapshot audit.tar.gz --out reports/ --strict
  asm-audit run ... --prometheus http://prometheus:9090 --traffic-window 7d
  asm-audit run ... --baseline last/findings.json --fail-on-new --format junit
"""


def check_paper(paper: str) -> str:
    if paper.lower() not in ("a4", "letter"):
        raise UsageError(f"unknown paper size {paper!r}; choose a4 or letter")
    return paper.lower()


def target_from(snapshot: str | None, kubeconfig: str | None, context: str | None, cluster: list[str],
                asm_kubeconfig: str | None, asm_context: str | None, timeout: float,
                run_timeout: float | None = None) -> api.Target:
    if not math.isfinite(timeout) or timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if run_timeout is not None and (not math.isfinite(run_timeout) or run_timeout <= 0):
        raise UsageError("--run-timeout must be a positive number of seconds")
    return api.Target(snapshot=snapshot, kubeconfig=kubeconfig, context=context,
                      clusters=[api.ClusterSpec.parse(c) for c in cluster or []],
                      asm_kubeconfig=asm_kubeconfig, asm_context=asm_context, timeout_s=timeout,
                      run_timeout_s=run_timeout)


def check_out_outside(out: Path, snapshot: str | None) -> None:
    """--out inside the snapshot directory would write reports into the evidence they were made from."""
    if not snapshot or str(out) == "-":
        return
    evidence, reports = Path(snapshot).resolve(), out.resolve()
    if reports == evidence or evidence in reports.parents:
        raise UsageError(f"--out {out} is inside the snapshot {snapshot}: write the reports elsewhere, the "
                         "snapshot is evidence")


def render_staged(result: AuditResult, out: Path, formats: list[str]) -> list[Path]:
    """Render every format into a scratch directory next to --out, then move the files into place.

    Why: a renderer failing half-way (or Ctrl-C) must leave an existing report directory exactly as it
    was, never a mix of new and old files presented as one report.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as exc:
        raise UsageError(f"cannot write the report next to {out}: {exc.strerror or exc}") from exc
    try:
        returned = render_all(result, stage, formats)
        out.mkdir(parents=True, exist_ok=True)
        # Every file a renderer left (the ones it returned first, in format order).
        files = list(dict.fromkeys([*returned, *sorted(p for p in stage.rglob("*") if p.is_file())]))
        moves = [(path, out / path.relative_to(stage)) for path in files]
        _move_set(moves, out, stage, stale=_earlier_reports(out, {target for _, target in moves}))
        return [target for path, target in moves if path in returned]
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _earlier_reports(out: Path, written: set[Path]) -> list[Path]:
    """The report files of an earlier run in --out that this run does not write (another --format): left there, a
    junit.xml or summary.md saying GO would sit beside this run's findings.json saying NO-GO, and a pipeline step that
    reads it would act on the old verdict. Only the file names the renderers write, and of those only the files that
    say they are this tool's reports (render.written_by_asm_audit): anything else is the user's, left as it is."""
    return [out / name for name in REPORT_FILES if out / name not in written
            and ((out / name).is_symlink() or ((out / name).is_file() and written_by_asm_audit(out / name)))]


def _move_set(moves: list[tuple[Path, Path]], out: Path, stage: Path, stale: list[Path] | None = None) -> None:
    """Move the new report files into place all together or not at all, and take an earlier run's `stale` reports away.

    Each old file is first set aside (inside the stage); if any move fails, the new files placed so far are
    removed and the old ones put back, so --out never holds a new report.html beside an old findings.json.
    """
    for _, target in moves:  # what cannot be replaced by a file is refused before anything moves
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise UsageError(f"--out {out}: {target.name} exists and is not a regular file; nothing was written")
    previous = stage / ".previous"
    kept: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for target in stale or []:  # set aside like a replaced file: back in place if the move fails
            aside = previous / target.relative_to(out)
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, aside)
            kept.append((aside, target))
        for path, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                aside = previous / target.relative_to(out)
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, aside)
                kept.append((aside, target))
            os.replace(path, target)
            placed.append(target)
    except OSError as exc:
        for target in placed:
            target.unlink(missing_ok=True)
        for aside, target in reversed(kept):
            os.replace(aside, target)
        raise UsageError(f"--out {out}: cannot write the report set: {exc.strerror or exc}; the previous "
                         "report files are unchanged") from exc


def emit(result: AuditResult, out: Path, formats: list[str], quiet: bool, lang: str = i18n.DEFAULT_LANG) -> None:
    """Write the reports and the terminal summary; the human ones in `lang` (machine output stays English)."""
    check_outputs(out, formats)
    with i18n.language(lang):
        if str(out) == "-":
            sys.stdout.buffer.write(dumps(result) + b"\n")
            print_summary(result, [], quiet)
            return
        written = render_staged(result, out, formats)
        print_summary(result, written, quiet)


def run(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    asm_kubeconfig: AsmKubeconfigOpt = None,
    asm_context: AsmContextOpt = None,
    cluster: ClusterOpt = None,
    fleet: FleetOpt = None,
    asm_mesh_id: AsmMeshIdOpt = None,
    asm_region: AsmRegionOpt = None,
    asm_endpoint: AsmEndpointOpt = None,
    snapshot: SnapshotOpt = None,
    timeout: TimeoutOpt = 30.0,
    run_timeout: RunTimeoutOpt = None,
    prometheus: Annotated[str | None, typer.Option(metavar="URL", help="Prometheus URL for gateway traffic.",
                                                   rich_help_panel=PROMETHEUS)] = None,
    traffic_window: TrafficWindowOpt = None,
    prometheus_bearer_token_file: TokenFileOpt = None,
    prometheus_username: UsernameOpt = None,
    prometheus_password_file: PasswordFileOpt = None,
    prometheus_ca_file: CaFileOpt = None,
    prometheus_insecure_skip_verify: InsecureOpt = False,
    prometheus_timeout: PromTimeoutOpt = None,
    out: OutOpt = Path("asm-audit-report"),
    format: Annotated[str, typer.Option("--format", help=FORMAT_HELP, rich_help_panel=OUTPUTS)] = ",".join(
        DEFAULT_FORMATS),
    paper: PaperOpt = "a4",
    quiet: QuietOpt = False,
    metrics_file: MetricsFileOpt = None,
    pushgateway: PushgatewayOpt = None,
    pushgateway_job: PushgatewayJobOpt = "asm-audit",
    history: HistoryOpt = None,
    notify: NotifyOpt = None,
    notify_format: NotifyFormatOpt = None,
    notify_on: NotifyOnOpt = None,
    notify_secret_file: NotifySecretFileOpt = None,
    phase: PhaseOpt = "auto",
    config: ConfigOpt = None,
    allow_unknown: AllowUnknownOpt = False,
    strict: StrictOpt = False,
    baseline: BaselineOpt = None,
    fail_on_new: Annotated[bool, typer.Option("--fail-on-new", help="With --baseline: only blockers new since the "
                                              "baseline make NO-GO.", rich_help_panel=POLICY)] = False,
    lang: LangOpt = None,
) -> None:
    """Audit one gate (default: the next step the cluster shows) and write the reports."""
    formats = parse_formats(format)
    language = resolve_lang(lang)
    check_phase(phase)
    paper = check_paper(paper)
    target = target_from(snapshot, kubeconfig, context, cluster or [], asm_kubeconfig, asm_context, timeout,
                         run_timeout)
    target.fleet = str(fleet) if fleet else None
    check_out_outside(out, snapshot)
    check_outputs(out, formats)
    if fail_on_new and baseline is None:
        raise UsageError("--fail-on-new needs --baseline OLD.json")
    previous = load_report(baseline) if baseline else None  # a bad baseline fails before collection
    cfg = apply_prometheus_options(
        api.load_config(config), url=prometheus, window=traffic_window,
        bearer_token_file=prometheus_bearer_token_file, username=prometheus_username,
        password_file=prometheus_password_file, ca_file=prometheus_ca_file,
        insecure_skip_verify=prometheus_insecure_skip_verify, timeout=prometheus_timeout)
    cfg = apply_asm_options(cfg, asm_mesh_id, asm_region, asm_endpoint, snapshot)
    tracking = Tracking(metrics_file=metrics_file, pushgateway=pushgateway, pushgateway_job=pushgateway_job,
                        history_path=history, notify_spec=notify, notify_format=notify_format,
                        notify_on=notify_on, notify_secret_file=notify_secret_file, quiet=quiet)
    try:
        tracking.check()
        with Progress(quiet, language) as progress:
            result = api.run_audit(target, phase, cfg, allow_unknown=allow_unknown, strict=strict,
                                   progress=progress, baseline=previous, fail_on_new=fail_on_new)
        result.options["paper"] = paper  # read by the PDF renderer
        tracking.before_reports(result)
        emit(result, out, formats, quiet, language)
        tracking.after_reports()
    finally:
        tracking.close()
    raise typer.Exit(result.exit_code)
