"""`asm-audit demo`: the whole product on the bundled example; no cluster needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor import api
from auditor.cli.common import LangOpt, OutOpt, PhaseOpt, Progress, QuietOpt, resolve_lang
from auditor.cli.run import PaperOpt, check_paper, check_phase, emit
from auditor.render import check_outputs, parse_formats, renderers
from auditor.sources.snapshot import open_snapshot


def demo(
    out: OutOpt = Path("asm-audit-demo"),
    phase: PhaseOpt = "auto",
    format: Annotated[str | None, typer.Option("--format", help="Default: every format.")] = None,
    paper: PaperOpt = "a4",
    quiet: QuietOpt = False,
    lang: LangOpt = None,
) -> None:
    """Audit the bundled example: ASM control plane + two clusters mid-migration with an east-west gateway."""
    formats = parse_formats(format) if format else [f for f in ("html", "pdf", "json", "csv", "junit", "md")
                                                    if f in renderers()]
    language = resolve_lang(lang)
    check_phase(phase)
    paper = check_paper(paper)
    check_outputs(out, formats)
    sources = open_snapshot(api.demo_snapshot_path())
    with Progress(quiet) as progress:
        result = api.run_audit(phase=phase, sources=sources, progress=progress)
    result.options["paper"] = paper  # read by the PDF renderer
    emit(result, out, formats, quiet, language)
    raise typer.Exit(result.exit_code)
