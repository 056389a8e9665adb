"""`asm-audit demo`: the whole product on the bundled example; no cluster needed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from auditor import api, i18n
from auditor.cli.common import (
    OUTPUTS,
    ConfigOpt,
    LangOpt,
    OutOpt,
    PhaseOpt,
    Progress,
    QuietOpt,
    err,
    escape,
    resolve_lang,
)
from auditor.cli.run import (
    FORMAT_HELP,
    AllowUnknownOpt,
    BaselineOpt,
    PaperOpt,
    StrictOpt,
    check_paper,
    check_phase,
    emit,
)
from auditor.diff import load_report
from auditor.errors import UsageError
from auditor.i18n import gettext as _
from auditor.render import check_outputs, parse_formats, renderers
from auditor.sources.snapshot import open_snapshot

DEMO_EXAMPLES = """Examples:

asm-audit demo
asm-audit demo --phase all --format html --out demo-report
asm-audit demo --strict --config my-policy.yaml
asm-audit demo --export-snapshot demo-snap && asm-audit run --snapshot demo-snap
"""

ExportOpt = Annotated[Path | None, typer.Option(
    "--export-snapshot", metavar="DIR", rich_help_panel=OUTPUTS,
    help="Copy the bundled snapshot to DIR (new or empty) and stop; audit it with run --snapshot DIR.")]


def export_snapshot(target: Path) -> Path:
    """Copy the bundled snapshot to `target`; refuses to mix it into a directory that holds anything."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"--export-snapshot {target}: exists and is not an empty directory; give a new one")
    try:
        if target.exists():
            target.rmdir()
        shutil.copytree(api.demo_snapshot_path(), target)
    except OSError as exc:
        raise UsageError(f"--export-snapshot {target}: cannot write: {exc.strerror or exc}") from exc
    return target


def demo(
    out: OutOpt = Path("asm-audit-demo"),
    format: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP + " Default: every format.",
                                               rich_help_panel=OUTPUTS)] = None,
    paper: PaperOpt = "a4",
    quiet: QuietOpt = False,
    export: ExportOpt = None,
    phase: PhaseOpt = "auto",
    config: ConfigOpt = None,
    allow_unknown: AllowUnknownOpt = False,
    strict: StrictOpt = False,
    baseline: BaselineOpt = None,
    lang: LangOpt = None,
) -> None:
    """Audit the bundled example: ASM control plane + two clusters mid-migration with an east-west gateway."""
    language = resolve_lang(lang)
    if export is not None:
        where = export_snapshot(export)
        with i18n.language(language):
            err.print(_("wrote the demo snapshot to {path}; audit it with: asm-audit run --snapshot {path}").format(
                path=escape(str(where))))
        raise typer.Exit(0)
    formats = parse_formats(format) if format else [f for f in ("html", "pdf", "json", "csv", "junit", "md")
                                                    if f in renderers()]
    check_phase(phase)
    paper = check_paper(paper)
    check_outputs(out, formats)
    previous = load_report(baseline) if baseline else None  # a bad baseline fails before the audit
    cfg = api.load_config(config)
    snapshot = api.demo_snapshot_path()
    if not quiet:
        with i18n.language(language):
            err.print(_("demo snapshot: {path} (a copy: asm-audit demo --export-snapshot DIR)").format(
                path=escape(str(snapshot))))
    sources = open_snapshot(snapshot)
    with Progress(quiet, language) as progress:
        result = api.run_audit(phase=phase, config=cfg, sources=sources, progress=progress, strict=strict,
                               allow_unknown=allow_unknown, baseline=previous)
    result.options["paper"] = paper  # read by the PDF renderer
    emit(result, out, formats, quiet, language)
    raise typer.Exit(result.exit_code)
