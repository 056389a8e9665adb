"""report.html (self-contained) and report.pdf (the CAB pack, WeasyPrint) from the same templates.

Safety, because every string in these reports may come from a cluster:
- Jinja2 runs sandboxed with autoescape on; cluster data is only ever a value, never template source.
- report.html has no external reference: CSS and the one script are inline, and a Content-Security-Policy
  pins the script by its SHA-256 and forbids every fetch, so even a slipped-through tag could load nothing.
- WeasyPrint gets a URL fetcher that refuses every URL: no network, no file system, no data: URLs either
  (the templates need none: charts are inline SVG, fonts come from fontconfig).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

import reports
from auditor import i18n
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.model import STATUS_RANK
from auditor.render import changes, write_atomic
from auditor.render import context as report_context
from auditor.render.counts import plural
from auditor.render.localize import localized

TEMPLATES = Path(reports.__file__).parent / "templates"
PAPER_SIZES = {"a4": "A4", "letter": "Letter"}
log = logging.getLogger("asm_audit")


class FetchRefused(Exception):
    """Raised for every resource WeasyPrint asks for: the PDF is built from the inline document alone."""


def refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise FetchRefused(f"asm-audit fetches nothing while rendering the PDF (asked for {url[:80]!r})")


def url_fetcher() -> Any:
    """A fetcher that refuses everything, in the form the installed WeasyPrint expects: a URLFetcher
    subclass from version 66 on (it reads attributes of the fetcher), a plain function before."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:
        return refuse_fetch

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            return refuse_fetch(url)

    return RefusingFetcher(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)


def num(value: Any) -> str:
    """1234567 -> '1,234,567' in the report's language (what the templates print for counts)."""
    try:
        return i18n.format_number(int(value))
    except (TypeError, ValueError):
        return str(value)


def fmt_num(value: float | None, unit: str = "") -> str:
    """Counts for the traffic table: '-' when absent, thousands separators, bytes in KiB/MiB/GiB."""
    if value is None:
        return "-"
    if unit == "B":
        for suffix, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if value >= size:
                return f"{value / size:,.1f} {suffix}"
        return f"{value:,.0f} B"
    return f"{value:,.0f}" if float(value).is_integer() or value >= 100 else f"{value:,.2f}"


# Where a long name may wrap: after these, never inside a word (`eastwes|t`, `AuthorizationP|olicy`).
NAME_BREAKS = re.compile(r"([-/.])")
# The break opportunity: <wbr> in report.html (not copied with the name); a zero-width space in report.pdf, because
# WeasyPrint lays a <wbr> out as a box of its own and then breaks inside the next part of the name instead.
HTML_BREAK, PDF_BREAK = "<wbr>", "\u200b"


@pass_context
def wbr(context: Any, value: Any) -> Markup:
    """A cluster, check or object name, escaped, with a line-break opportunity after each '-', '/' and '.'."""
    mark = context.get("name_break", HTML_BREAK)
    return Markup(NAME_BREAKS.sub(lambda m: m.group(1) + mark, str(escape(value))))


# A `...` span of a title or advice (a command named in prose: "What `istioctl uninstall --purge` will delete"):
# Markdown's code span, shown as code in HTML and PDF rather than as backticks. One line, no backtick inside.
TICKED = re.compile(r"`([^`\n]+)`")


def ticks(value: Any) -> Markup:
    """`value` escaped, each `...` span in it as <code class="tick"> (the backticks dropped; kept on one line by the
    style sheet, where a command block's own <code> wraps)."""
    return Markup(TICKED.sub(lambda m: f'<code class="tick">{m.group(1)}</code>', str(escape(value))))


@cache
def environment(lang: str = i18n.DEFAULT_LANG) -> SandboxedEnvironment:
    """The templates in `lang`: jinja2.ext.i18n with that language's catalog (`_`, `ngettext` in templates)."""
    env = SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["num"] = num
    env.filters["wbr"] = wbr
    env.filters["ticks"] = ticks
    env.globals["plural"] = plural
    env.globals["status_rank"] = STATUS_RANK  # the one status order (auditor/model.py), for sortable columns
    return env


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _render(template: str, **values: Any) -> str:
    lang = i18n.current()
    return environment(lang).get_template(template).render(html_lang=lang, **values)


def html_document(result: AuditResult) -> str:
    result = localized(result)
    ctx = report_context.build(result, report_context.HTML_LIMITS)
    ctx["changes"] = changes.plan(result)
    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return _render("report.html.j2", ctx=ctx, css=Markup(_asset("base.css") + _asset("screen.css")),
                   script=Markup(script), script_hash=f"sha256-{digest}", fmt_num=fmt_num)


def paper_of(result: AuditResult, paper: str | None = None) -> str:
    choice = (paper or result.options.get("paper") or "a4").lower()
    if choice not in PAPER_SIZES:
        raise UsageError(f"unknown paper size {choice!r}; choose a4 or letter")
    return PAPER_SIZES[choice]


def css_string(text: str) -> str:
    """A CSS string literal (for @page margin boxes); the text is the catalog's, never cluster data."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ") + '"'


def page_footer_css() -> Markup:
    """The @page footer in the report's language: the note, and "Page N of M" with CSS counters."""
    note = i18n.gettext("asm-audit CAB pack \u2014 read-only audit; the complete findings are in findings.csv / "
                        "findings.json")
    page = i18n.gettext("Page {page} of {pages}")
    parts: list[str] = []
    for piece in re.split(r"(\{page\}|\{pages\})", page):
        if piece == "{page}":
            parts.append("counter(page)")
        elif piece == "{pages}":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return Markup(f"@page {{ @bottom-left {{ content: {css_string(note)}; }} "
                  f"@bottom-right {{ content: {' '.join(parts)}; }} }}")


def pdf_document(result: AuditResult, paper: str | None = None) -> str:
    result = localized(result)
    ctx = report_context.build(result, report_context.PDF_LIMITS)
    ctx["changes"] = changes.plan(result)
    return _render("report.pdf.j2", ctx=ctx, css=Markup(_asset("base.css") + _asset("print.css")),
                   paper=paper_of(result, paper), fmt_num=fmt_num, name_break=PDF_BREAK,
                   page_footer=page_footer_css())


def render_html(result: AuditResult, out_dir: Path) -> Path:
    return write_atomic(Path(out_dir) / "report.html", html_document(result).encode("utf-8"))


def render_pdf(result: AuditResult, out_dir: Path, paper: str | None = None) -> Path:
    from weasyprint import HTML  # imported late: it pulls in Pango; JSON-only runs need not pay for it

    document = pdf_document(result, paper)
    # WeasyPrint logs (does not raise) when a fetch fails; the refusing fetcher makes any stray reference
    # visible in the log instead of reaching out.
    data = HTML(string=document, base_url=None, url_fetcher=url_fetcher()).write_pdf()
    return write_atomic(Path(out_dir) / "report.pdf", data)
