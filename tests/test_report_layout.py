"""report.pdf and report.html as a person reads them (issue 17, items 4 and 5): names wrap only after '-', '/'
or '.', never mid-word; the HTML fits a phone; a deep link's filter is announced; counted nouns agree with their
number; an unreachable cluster is one line and the timeline draws its state as unknown."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auditor.cli.main import main
from auditor.model import Finding, Severity, Status
from auditor.render import charts, context, html
from tests.test_faults import free_port, kubeconfig_to
from tests.test_render_html_pdf import audit_scene, with_findings

TEMPLATES = Path(html.TEMPLATES)


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--format", "json,html,pdf", "--out", str(out), "-q"]) == 1
    return out


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def mid_word_breaks(pdf: Path, doc: dict[str, Any]) -> list[str]:
    """Line ends that cut a name (a kind, namespace, name, check id or cluster, split at '-', '/', '.') inside a
    word. A line that wraps at a space in the source text (prose) is not counted."""
    names = {"eastwest"}  # the traffic table's gateway type
    for row in doc["findings"]:
        for field in ("kind", "namespace", "name", "check_id", "cluster"):
            names |= {part for part in re.split(r"[-/.]", str(row.get(field) or "")) if 4 <= len(part) <= 30}
    source = "\n".join(strings_in(doc))
    lines = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    cuts = []
    for above, below in itertools.pairwise(lines):
        left, right = re.search(r"[A-Za-z0-9]+$", above), re.match(r"[A-Za-z0-9]+", below)
        if not left or not right or f"{left.group()} {right.group()}" in source:
            continue
        joined, at = left.group() + right.group(), len(left.group())
        if any(joined.find(n) != -1 and joined.find(n) < at < joined.find(n) + len(n) for n in names):
            cuts.append(f"{left.group()}|{right.group()}")
    return cuts


def test_pdf_never_cuts_a_name_mid_word(demo_reports: Path) -> None:
    doc = json.loads((demo_reports / "findings.json").read_text())
    assert mid_word_breaks(demo_reports / "report.pdf", doc) == []


def test_pdf_traffic_table_keeps_the_gateway_type_whole(demo_reports: Path) -> None:
    lines = subprocess.run(["pdftotext", "-enc", "UTF-8", str(demo_reports / "report.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    assert "eastwes" not in lines and "eastwest" in lines


def test_html_names_break_after_separators_only(demo_reports: Path) -> None:
    text = (demo_reports / "report.html").read_text(encoding="utf-8")
    assert "shop/<wbr>direct-<wbr>cnn-<wbr>through-<wbr>egress-<wbr>gateway" in text
    assert "istio-<wbr>sidecars-<wbr>remaining" in text
    base = (TEMPLATES / "base.css").read_text()
    assert ".subject { overflow-wrap: break-word; }" in base
    assert "td.msg .message { overflow-wrap: break-word; white-space: pre-line; }" in base
    assert "table.grid td { overflow-wrap: break-word; }" in (TEMPLATES / "print.css").read_text()


def test_the_pdf_gets_zero_width_breaks_not_wbr_boxes() -> None:
    """WeasyPrint lays a <wbr> out as its own box and then cuts the next part of the name: the PDF gets U+200B."""
    pdf_env = html.environment().from_string("{{ name|wbr }}")
    assert pdf_env.render(name="a-b/c.d<e>", name_break=html.PDF_BREAK) == "a-\u200bb/\u200bc.\u200bd&lt;e&gt;"
    assert pdf_env.render(name="a-b/c.d<e>") == "a-<wbr>b/<wbr>c.<wbr>d&lt;e&gt;"


def test_html_wraps_every_table_so_the_page_fits_a_phone(demo_reports: Path) -> None:
    text = (demo_reports / "report.html").read_text(encoding="utf-8")
    tables = len(re.findall(r"<table\b", text))
    wrapped = len(re.findall(r'<div class="table-wrap"><table\b', text))
    assert tables == 10 and wrapped == 10
    screen = (TEMPLATES / "screen.css").read_text()
    assert ".table-wrap { max-width: 100%; overflow-x: auto; }" in screen
    phone = screen[screen.index("@media (max-width: 600px)"):]
    for rule in ("header.top { flex-wrap: wrap;", "nav.toc { position: static;", "main { padding: 4px 8px 24px; }",
                 ".filters label, .filters select, .filters input { width: 100%; min-width: 0; }"):
        assert rule in phone, rule


def test_a_deep_link_filter_is_announced(demo_reports: Path) -> None:
    text = (demo_reports / "report.html").read_text(encoding="utf-8")
    assert '<p class="filter-note js-only" id="findings-filter-note" role="status" hidden></p>' in text
    script = (TEMPLATES / "report.js").read_text()
    assert 'document.getElementById("findings-filter-note")' in script
    assert 'say("filter-on", "Filter on: {filters}").replace("{filters}",' in script  # words from the catalog
    assert 'data-say-filter-on="Filter on: {filters}" data-say-show-all="Show all"' in text
    assert "window.location.search.slice(1)" in script  # report.html?status=FAIL as well as #findings?status=FAIL


def test_counted_words_agree_with_their_number(tmp_path: Path) -> None:
    go = audit_scene(tmp_path / "go", phase="setup", state="Init")
    one_warning = Finding(Status.WARN, "cluster-a", "one warning", kind="Deployment", namespace="shop", name="cart",
                          severity=Severity.MINOR, gate="setup", check_id="manual-injection", title="t")
    result = with_findings(go, [one_warning])
    assert result.verdict.value == "GO"
    page = html.html_document(result)
    assert "<b>1</b><span>warning</span>" in page and "1 warning is listed for the record." in page
    assert "<b>2</b><span>clusters</span>" in page
    assert "warnings</span>" not in page and "warning(s)" not in page


def test_headline_counts_say_finding_or_findings(tmp_path: Path) -> None:
    result = audit_scene(tmp_path / "nogo")
    ctx = context.build(result)
    assert ctx["headline"] == ("Do not proceed with istioctl uninstall --purge: 4 blocking findings from 1 check "
                               "must be fixed first.")


@pytest.fixture(scope="module")
def unreachable_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("down")
    port = free_port()
    kc = kubeconfig_to(root / "kc", port)
    assert main(["run", "--kubeconfig", str(kc), "--phase", "all", "--format", "json,html,pdf", "--out",
                 str(root / "out"), "-q"]) == 3
    return root / "out", port


def test_an_unreachable_cluster_is_one_line_in_the_reports(unreachable_reports: tuple[Path, int]) -> None:
    out, port = unreachable_reports
    line = f"cannot connect to http://127.0.0.1:{port}: connection refused"
    page = (out / "report.html").read_text(encoding="utf-8")
    unknowns = page[page.index('<section class="card" id="unknowns">'):]
    unknowns = unknowns[:unknowns.index("</section>")]
    assert unknowns.count(line) == 1  # (the complete, filterable list under "All checks" keeps every finding)
    assert f"<li><b>down</b> unreachable: {line} \u2014 78 findings UNKNOWN.</li>" in unknowns
    pdf = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out / "report.pdf"), "-"], check=True,
                         capture_output=True, text=True).stdout
    # Once in each place that speaks of it: page 1's "What could not be judged", the runbook's "Restore the missing
    # evidence", the traffic and restart-risk sections, section 6, the clusters table and the CAB plan's "what the
    # step changes" (its numbers cannot be counted there); never per kind or check.
    assert "".join(pdf.split()).count("".join(line.split())) == 7
    assert "objects cannot be compared" not in pdf


def test_the_timeline_draws_an_unreachable_cluster_as_unknown(unreachable_reports: tuple[Path, int]) -> None:
    out, _ = unreachable_reports
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "state unknown: down" in text
    assert "\u25b2 down" not in text  # not placed under "Not joined"


def test_stage_index_reads_reachability_and_asm_membership() -> None:
    assert charts.stage_index(None, ["assessment"]) == 0
    assert charts.stage_index(None, ["assessment"], reachable=False) is None
    assert charts.stage_index("Migrating", ["uninstall"], reachable=False) is None
    assert charts.stage_index(None, ["assessment"], joined=True) is None
    assert charts.stage_index(None, ["assessment"], joined=False) == 0
