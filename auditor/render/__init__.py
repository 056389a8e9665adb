"""Renderers: turn an AuditResult into files. They never compute verdicts."""

from __future__ import annotations

import functools
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

from auditor.engine import AuditResult
from auditor.errors import UsageError

Renderer = Callable[[AuditResult, Path], Path]
DEFAULT_FORMATS = ("html", "pdf", "json")

# Characters that drive a terminal or reorder what it shows: C0/C1 controls (ESC, CR, NUL...), DEL, bidi marks,
# embeddings, overrides and isolates (U+202E shows "exe.txt" as "txt.exe"), line/paragraph separators.
# Where cluster text is shown as plain text (terminal, findings.csv) they become visible escapes such as \x1b.
CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
CONTROL_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                                     *range(0x2066, 0x206A))})


def show_controls(text: str, keep: str = "") -> str:
    """`text` with the characters above shown as escapes, except those in `keep` (e.g. newline in a CSV cell)."""
    table = {c: v for c, v in CONTROL_ESCAPES.items() if chr(c) not in keep} if keep else CONTROL_ESCAPES
    return text.translate(table)


@functools.cache
def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, data: bytes) -> Path:
    """Write via a temp file and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp creates 0600; reports are meant to be shared like any file the user writes.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# Format -> (module, function). A module is imported only when one of its formats is asked for: the HTML/PDF
# machinery (Jinja2, WeasyPrint) costs more to import than a small CI gate's whole JSON audit.
_RENDERERS: dict[str, tuple[str, str]] = {
    "json": ("json_out", "render"), "csv": ("csv_out", "render"), "junit": ("junit", "render"),
    "md": ("markdown", "render"), "html": ("html", "render_html"), "pdf": ("html", "render_pdf"),
}


# The file each format writes into --out (the renderers' names): a run that does not write one of them removes an
# earlier run's copy (cli/run.py), so a report directory never holds two runs' verdicts.
REPORT_FILES = ("findings.json", "findings.csv", "junit.xml", "summary.md", "report.html", "report.pdf")
# What each report says of its maker near its start (a file of one of those names that does not is the user's: a
# summary.md or report.html of their own in `--out .` was deleted, review22b).
_OWN_MARKS: dict[str, tuple[bytes, ...]] = {
    "findings.json": (b'"schema_version"', b'"tool_version"'),  # both
    "findings.csv": (b"cluster,gate,check_id,",),
    "junit.xml": (b'<testsuites name="asm-audit"',),
    "summary.md": (b"asm\\-audit ",),  # the header table's Tool cell, Markdown-escaped
    "report.html": (b"asm-audit</title>",),
}
_HEAD = 16384
_STREAM = re.compile(rb"(?<!end)stream\r?\n")  # a stream's start, not the line after "endstream"


def written_by_asm_audit(path: Path) -> bool:
    """Whether `path` (one of REPORT_FILES) is a report this tool wrote, by what the report says of its maker: the
    PDF by its document information's Subject "asm-audit <version>; ..." (in a compressed object stream, read from the
    end where WeasyPrint writes it)."""
    try:
        if path.name == "report.pdf":
            data = path.read_bytes()
            if not data.startswith(b"%PDF-"):
                return False
            for found in reversed(list(_STREAM.finditer(data))[-32:]):
                end = data.find(b"endstream", found.end())
                try:
                    text = zlib.decompressobj().decompress(data[found.end():end], 1 << 22)
                except zlib.error:
                    continue
                if b"/Subject (asm-audit " in text:
                    return True
            return b"/Subject (asm-audit " in data  # an information dictionary written uncompressed
        with path.open("rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return False
    marks = _OWN_MARKS.get(path.name, ())
    return bool(marks) and all(mark in head for mark in marks)


def renderers(formats: Iterable[str] | None = None) -> dict[str, Renderer]:
    """The renderers of `formats` (default: every format) this build can run; a format whose module cannot be
    imported (an optional dependency missing) is left out."""
    import importlib

    table: dict[str, Renderer] = {}
    for fmt in _RENDERERS if formats is None else formats:
        if fmt not in _RENDERERS:
            continue
        module_name, function = _RENDERERS[fmt]
        try:
            module = importlib.import_module(f"auditor.render.{module_name}")
        except ImportError:
            if fmt in ("json", "csv"):
                raise  # always shipped: a failure here is a broken install, not an option
            continue
        table[fmt] = getattr(module, function)
    return table


def parse_formats(text: str) -> list[str]:
    wanted = [f.strip().lower() for f in text.split(",") if f.strip()]
    known = ("html", "pdf", "json", "csv", "junit", "md")
    bad = [f for f in wanted if f not in known]
    if bad or not wanted:
        raise UsageError(f"unknown format {', '.join(bad) or text!r}; choose from {', '.join(known)}")
    return list(dict.fromkeys(wanted))


PDF_LIBRARIES_HINT = "apt-get install libpango-1.0-0 libpangoft2-1.0-0"


def check_outputs(out: Path, formats: list[str]) -> None:
    """Refuse, before any audit starts, outputs this run cannot write: hours of collection must not end in a
    crash at the last step."""
    if str(out) == "-" and formats != ["json"]:
        raise UsageError("--out - writes findings.json to stdout; use it with --format json")
    if "pdf" in formats:
        try:
            import weasyprint  # noqa: F401  (loads Pango through cffi: an OSError when the library is absent)
        except (ImportError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"the PDF report needs Pango, which could not be loaded ({first[:120]}); install it "
                             f"({PDF_LIBRARIES_HINT}) or leave pdf out of --format") from exc


def render_all(result: AuditResult, out_dir: Path, formats: list[str]) -> list[Path]:
    table = renderers(formats)
    missing = [f for f in formats if f not in table]
    if missing:
        raise UsageError(f"format(s) not available in this build: {', '.join(missing)}")
    return [table[f](result, out_dir) for f in formats]
