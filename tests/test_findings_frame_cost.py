"""The work per finding after the checks, counted (a 50k-pod audit has 25,000 findings whose columns hold a few enum
members and shared names): the findings frame's categorical columns are built by pandas from each distinct value a
column holds, not by hashing (and writing out as text) every finding's; findings.json's records write each category's
text once; a fleet pools each finding's strings once, not once per gate."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from auditor import api, judge
from auditor.findings import findings_frame, records
from auditor.model import Finding, Severity, Status
from bench.fleet import ensure_fleet
from bench.generate import generate

CLUSTERS = ("c0", "c1")
NAMESPACES = ("ns0", "ns1", "ns2", "ns3")


def _findings(count: int) -> list[Finding]:
    return [Finding(Status.FAIL if i % 3 else Status.PASS, CLUSTERS[i % 2], f"m{i}", kind="Deployment",
                    namespace=NAMESPACES[i % 4], name=f"w{i}", severity=Severity.MAJOR if i % 2 else Severity.MINOR,
                    gate="migrating" if i % 2 else "setup", check_id="restart-risk", title="Restart risk",
                    default_severity=None if i % 5 else Severity.INFO, code="AA1101") for i in range(count)]


@pytest.fixture
def categorical_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many values each pd.Categorical built while the test runs was given."""
    sizes: list[int] = []
    real = pd.Categorical.__init__

    def counting(self: pd.Categorical, values: Any = None, *args: Any, **kwargs: Any) -> None:
        sizes.append(len(values) if values is not None else 0)
        real(self, values, *args, **kwargs)

    monkeypatch.setattr(pd.Categorical, "__init__", counting)
    return sizes


def test_categorical_columns_are_built_from_the_distinct_objects(categorical_sizes: list[int]) -> None:
    """1,000 findings: each categorical column is built from its few distinct values (at most 5 here: the
    statuses, severities, gates, clusters, namespaces). On the old code 9 categoricals were given all 1,000."""
    frame = findings_frame(_findings(1_000))
    assert len(frame) == 1_000
    # cluster, check_id, kind, namespace, code; gate, status and both severities are made from codes (fixed dtypes)
    assert len(categorical_sizes) == 5
    assert max(categorical_sizes) <= 5
    assert frame["status"].astype(str).tolist()[:4] == ["PASS", "FAIL", "FAIL", "PASS"]
    assert frame["severity"].astype(str).tolist()[:3] == ["minor", "major", "minor"]
    assert frame["default_severity"].astype(str).tolist()[:6] == ["info", "major", "minor", "major", "minor", "info"]
    assert frame["namespace"].astype(str).tolist()[:5] == ["ns0", "ns1", "ns2", "ns3", "ns0"]
    assert list(frame["namespace"].cat.categories) == ["ns0", "ns1", "ns2", "ns3"]
    assert frame["gate"].astype(str).tolist()[:2] == ["setup", "migrating"]


class _Legacy(str, enum.Enum):  # noqa: UP042 (a StrEnum writes its value: this one must not)
    """A plugin's own status: equal to "FAIL", but its text (str()) is "_Legacy.FAIL"."""

    FAIL = "FAIL"


def test_equal_objects_with_different_texts_stay_apart() -> None:
    """Status and severity are the text each value writes (str()): an object equal to "FAIL" whose text is not
    "FAIL" is no status (NaN), while the plain "FAIL" next to it is one; a missing severity is NaN too."""
    findings = _findings(4)
    findings[0].status = _Legacy.FAIL
    findings[1].status = "FAIL"  # type: ignore[assignment]
    findings[2].severity = None
    findings[3].severity = "major"  # type: ignore[assignment]
    frame = findings_frame(findings)
    assert frame["status"].isna().tolist() == [True, False, False, False]
    assert frame["status"].astype(str).tolist()[1:] == ["FAIL", "FAIL", "PASS"]
    assert frame["severity"].isna().tolist() == [False, False, True, False]
    assert frame["severity"].tolist()[:2] == ["minor", "major"] and frame["severity"].tolist()[3] == "major"
    assert frame["default_severity"].isna().tolist() == [False, False, True, False]
    assert [frame["default_severity"].tolist()[i] for i in (0, 1, 3)] == ["info", "major", "major"]


def test_records_write_each_category_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.json's rows: a categorical column's text is written once per category, not asked of every row (the
    old code asked pd.isna 8 times per row: 8,000 times here); what each row says is unchanged."""
    findings = _findings(1_000)
    findings[1].severity = None
    frame = findings_frame(findings)
    asked: list[object] = []
    real = pd.isna

    def counting(value: Any) -> Any:
        asked.append(value)
        return real(value)

    monkeypatch.setattr(pd, "isna", counting)
    rows = records(frame)
    assert len(asked) <= 40
    assert len(rows) == 1_000
    assert rows[0] == {"cluster": "c0", "gate": "setup", "check_id": "restart-risk", "title": "Restart risk",
                       "severity": "minor", "status": "PASS", "kind": "Deployment", "namespace": "ns0", "name": "w0",
                       "message": "m0", "remediation": "", "evidence": {}, "exempt": False, "exempt_reason": None,
                       "default_severity": "info", "code": "AA1101"}
    assert (rows[1]["severity"], rows[1]["default_severity"], rows[1]["status"]) == ("", "", "FAIL")
    assert [r["namespace"] for r in rows[:5]] == ["ns0", "ns1", "ns2", "ns3", "ns0"]
    assert all(type(r["exempt"]) is bool for r in rows)


def test_a_fleet_pools_each_findings_strings_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot fleet judged cluster by cluster pools its findings' strings (judge._share_strings): a finding judged
    once for every gate (same_in_every_gate) is the same object in each gate, and is handed over once, not once per
    gate (on the old code some findings of this 2 x 100-pod fleet came back once per gate)."""
    generate(100, tmp_path / "single")
    fleet = ensure_fleet(tmp_path / "single", 2, tmp_path)
    given: list[int] = []
    real = judge._share_strings

    def counting(findings: Iterable[Finding], pool: dict[str, str]) -> None:
        findings = list(findings)
        given.extend(map(id, findings))
        real(findings, pool)

    monkeypatch.setattr(judge, "_share_strings", counting)
    api.run_audit(api.Target(snapshot=str(fleet)), phase="all")
    assert len(given) > 100
    assert len(given) == len(set(given))
