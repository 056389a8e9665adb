"""junit.xml and summary.md from real audits, parsed back the way CI tools and chat read them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.engine import AuditResult
from auditor.model import Finding, Severity, Status
from auditor.render import junit, markdown
from tests.test_render_html_pdf import HOSTILE, ISTIO_WORKLOADS, audit_scene, with_findings

OUTCOMES = ("failure", "error", "skipped")


@pytest.fixture(scope="module")
def all_gates(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    """Every gate on the migrating scene: FAILs, PASSes, NOT_APPLICABLE (earlier gates), UNKNOWNs (no Prometheus)."""
    return audit_scene(tmp_path_factory.mktemp("scene"), phase="all")


@pytest.fixture(scope="module")
def no_asm(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    """No ASM control plane given: the migration resource cannot be read (UNKNOWN)."""
    return audit_scene(tmp_path_factory.mktemp("noasm"), phase="setup", asm=False)


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def outcome(case: ET.Element) -> str:
    found = [child.tag for child in case if child.tag in OUTCOMES]
    assert len(found) <= 1, f"testcase {case.get('name')} has {found}"
    return found[0] if found else "passed"


def test_junit_shape_and_counts_add_up(all_gates: AuditResult, tmp_path: Path) -> None:
    root = parse(junit.render(all_gates, tmp_path))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"asm-audit {g}" for g in all_gates.gates]
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        cases = suite.findall("testcase")
        outcomes = [outcome(c) for c in cases]
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == outcomes.count("failure")
        assert int(suite.get("errors")) == outcomes.count("error")
        assert int(suite.get("skipped")) == outcomes.count("skipped")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp"))
        assert float(suite.get("time")) == 0
        for case in cases:
            assert case.get("name") and case.get("classname", "").startswith("asm-audit.") and case.get("time")
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert props["overall_verdict"] == "NO-GO" and props["inputs_sha256"] == all_gates.inputs_sha256
        for key in totals:
            totals[key] += int(suite.get(key))
    assert {k: int(root.get(k)) for k in totals} == totals
    # One testcase per (gate, check, cluster) that has findings.
    frame = all_gates.findings
    expected = frame.groupby([frame["gate"].astype(str), frame["check_id"].astype(str),
                              frame["cluster"].astype(str)]).ngroups
    assert totals["tests"] == expected
    assert totals["failures"] and totals["skipped"] and totals["errors"]


def test_junit_maps_statuses(all_gates: AuditResult, no_asm: AuditResult, tmp_path: Path) -> None:
    root = parse(junit.render(all_gates, tmp_path))
    # testcase names: "<check> [<cluster>] <codes>"; keyed here by check and cluster
    cases = {(s.get("name").split()[-1], " ".join(c.get("name").split()[:2])): c for s in root
             for c in s.findall("testcase")}
    sidecars = cases[("uninstall", "istio-sidecars-remaining [cluster-a]")]
    assert sidecars.get("name") == "istio-sidecars-remaining [cluster-a] AA1210"
    failure = sidecars.find("failure")
    assert failure is not None and failure.get("type") == "blocker"
    assert failure.get("message").startswith("3 FAIL")
    for cluster, name in ISTIO_WORKLOADS:
        if cluster == "cluster-a":
            assert f"/{name}:" in failure.text
    assert "remediation: kubectl" in failure.text
    setup_cr = cases[("setup", "migration-resource [asm]")]
    assert outcome(setup_cr) == "skipped", "state Migrating: the setup step is behind, NOT_APPLICABLE"
    k8s = cases[("assessment", "kubernetes-version [cluster-a]")]
    assert outcome(k8s) == "passed" and "PASS" in k8s.find("system-out").text

    no = parse(junit.render(no_asm, tmp_path / "noasm"))
    cr = next(c for c in no.iter("testcase") if c.get("name").startswith("migration-resource"))
    error = cr.find("error")
    assert error is not None and error.get("type") == "UNKNOWN" and "ASM" in error.get("message")


def test_junit_exempt_failure_passes_and_is_listed(all_gates: AuditResult, tmp_path: Path) -> None:
    exempt = Finding(Status.FAIL, "cluster-z", "still on Istio", kind="Deployment", namespace="legacy",
                     name="old", severity=Severity.BLOCKER, gate="uninstall", check_id="istio-sidecars-remaining",
                     title="t", exempt=True, exempt_reason="CHG-1234 until 2027-01-31")
    root = parse(junit.render(with_findings(all_gates, [exempt]), tmp_path))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("istio-sidecars-remaining [cluster-z]"))
    assert outcome(case) == "passed"
    assert "exempt: CHG-1234" in case.find("system-out").text


def test_junit_strips_xml_invalid_characters_and_escapes(all_gates: AuditResult, tmp_path: Path) -> None:
    bad = Finding(Status.FAIL, "cluster-a", HOSTILE + " \udcff", kind="Deployment", namespace="shop",
                  name="evil\x01", remediation="echo '<x>' \x1b[0m", severity=Severity.BLOCKER, gate="uninstall",
                  check_id="istio-sidecars-remaining", title="t")
    path = junit.render(with_findings(all_gates, [bad]), tmp_path)
    raw = path.read_bytes()
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", raw)
    assert b"<script>" not in raw and b"&lt;script&gt;" in raw
    root = parse(path)  # parses: no invalid character survived
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("istio-sidecars-remaining [cluster-a]"))
    text = case.find("failure").text
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text and "shop/evil:" in text


def test_junit_caps_lines_per_testcase(all_gates: AuditResult, tmp_path: Path) -> None:
    many = [Finding(Status.FAIL, "cluster-q", f"pod {i} on Istio", kind="Deployment", namespace="bulk",
                    name=f"w{i:04d}", severity=Severity.BLOCKER, gate="uninstall",
                    check_id="istio-sidecars-remaining", title="t") for i in range(500)]
    root = parse(junit.render(with_findings(all_gates, many), tmp_path))
    case = next(c for c in root.iter("testcase") if c.get("name").startswith("istio-sidecars-remaining [cluster-q]"))
    failure = case.find("failure")
    assert failure.get("message").startswith("500 FAIL")
    assert failure.text.count("FAIL [blocker]") == junit.MAX_LINES
    assert "450 more in findings.csv" in failure.text


# ---------------------------------------------------------------- summary.md
def test_markdown_has_verdict_counts_and_blockers(all_gates: AuditResult, tmp_path: Path) -> None:
    text = markdown.render(all_gates, tmp_path).read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("## ") and "NO-GO" in first and "all gate" in first
    assert f"FAIL {all_gates.summary['FAIL']}" in text and "blocking**" in text
    assert "### Blockers" in text
    for _, name in ISTIO_WORKLOADS:
        assert f"/{name} |" in text
    assert "```bash\n" in text and "sidecar.asm.aliyun.com/inject" in text
    assert "**Per gate:**" in text
    # Every table row has as many cells as its header.
    for block in re.findall(r"(\|[^\n]*\|\n\|(?:---\|)+\n(?:\|[^\n]*\|\n)+)", text):
        lines = block.strip().splitlines()
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, lines


def test_markdown_incomplete_lists_unknowns(no_asm: AuditResult, tmp_path: Path) -> None:
    text = markdown.document(no_asm)
    assert "INCOMPLETE" in text.splitlines()[0] and "### Unknown" in text and "migration-resource" in text


def test_markdown_escapes_hostile_text(all_gates: AuditResult) -> None:
    bad = Finding(Status.FAIL, "cluster-a", HOSTILE + " ```` fence", kind="Deployment", namespace="shop",
                  name="a|b", remediation="echo '```' && echo @everyone", severity=Severity.BLOCKER,
                  gate="uninstall", check_id="istio-sidecars-remaining", title="t")
    text = markdown.document(with_findings(all_gates, [bad]))
    assert "<script>" not in text and "&lt;script&gt;" in text and "<img" not in text
    assert "@admins" not in text and "@\u2060admins" in text, "no @mention"
    assert "http://evil" not in text, "no autolink"
    assert "a\\|b" in text, "pipes cannot break the table"
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\u202e]", text)
    # The command block's fence is longer than any backtick run inside it.
    fence = re.search(r"^(`{3,})bash$", text, re.M).group(1)
    body = text.split(fence + "bash\n", 1)[1].split("\n" + fence, 1)[0]
    assert "echo '```'" in body and len(fence) > 3


def test_markdown_command_block_stays_pasteable(all_gates: AuditResult) -> None:
    advice = Finding(Status.FAIL, "cluster-a", "east-west traffic", kind="Deployment", namespace="istio-system",
                     name="istio-eastwestgateway", remediation="Move the remaining workloads to ASM proxies,\n"
                     "then audit again after a full window.", severity=Severity.BLOCKER, gate="assessment",
                     check_id="aaa-first", title="t")
    text = markdown.document(with_findings(all_gates, [advice]))
    block = text.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert "# Move the remaining workloads to ASM proxies,\n# then audit again" in block
    assert all(line.startswith(("kubectl", "#", "istioctl")) for line in block.splitlines()), block
    assert "\\(" not in text and "\\)" not in text, "parentheses need no escape (noise in chat)"


def gfm_cells(line: str) -> int:
    """Cell separators GitHub sees in a table row: a backslash escapes the next character, `\\\\|` is a bare pipe."""
    count, escaped = 0, False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            count += 1
    return count


def test_markdown_pipes_in_any_cell_keep_the_row_whole(all_gates: AuditResult) -> None:
    """Issue 17 item 7: a `|` (or `\\|`) in a cluster, subject, check id or message cannot split a table row."""
    bad = Finding(Status.FAIL, "c|1", "left | right \\| more", kind="Deploy|ment", namespace="sh\\|op",
                  name="a|b\\", severity=Severity.BLOCKER, gate="uninstall", check_id="check\\|x", title="t",
                  remediation="kubectl get pods")
    text = markdown.document(with_findings(all_gates, [bad]))
    tables = re.findall(r"(\|[^\n]*\|\n\|(?:---\|)+\n(?:\|[^\n]*\|\n)+)", text)
    assert tables
    for block in tables:
        lines = block.strip().splitlines()
        assert {gfm_cells(line) for line in lines} == {gfm_cells(lines[0])}, lines
    assert any("c\\|1" in line and "left \\| right" in line for line in text.splitlines())


def test_markdown_drops_bidi_marks_and_separators(all_gates: AuditResult) -> None:
    bad = Finding(Status.FAIL, "cluster-a", "x\u200fy\u061cz\u2028w\u202ev", kind="Deployment", namespace="shop",
                  name="cart", severity=Severity.BLOCKER, gate="uninstall", check_id="aaa", title="t")
    text = markdown.document(with_findings(all_gates, [bad]))
    assert "xyzwv" in text
    assert not re.search("[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text)
