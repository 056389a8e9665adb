"""Work an audit does per finding or per pod, counted. The verdicts of a finished audit slice each gate's and each
fleet row's findings out of the findings frame narrowed to the columns a verdict reads, never with every finding's
message and evidence (a 50k-pod audit has 25,000 findings, sliced once per gate and per cluster row); the pod frame's
proxies are classified from category codes."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from auditor import api
from auditor.findings import apply_exemptions, findings_frame
from auditor.fleet import overview
from auditor.model import FINDING_COLUMNS, Finding, Severity, Status, Verdict

NARROW = {"cluster", "gate", "status", "severity", "exempt"}


@pytest.fixture(scope="module")
def demo_result() -> api.AuditResult:
    return api.run_audit(api.Target(snapshot=api.demo_snapshot_path()), phase="all")


@pytest.fixture
def row_slices(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The columns of every findings frame (one with a gate) a boolean mask selects rows of, while the test runs."""
    sliced: list[set[str]] = []
    real = pd.DataFrame.__getitem__

    def getitem(self: pd.DataFrame, key: object) -> object:
        if isinstance(key, pd.Series) and key.dtype == bool and "gate" in self.columns:
            sliced.append(set(self.columns))
        return real(self, key)

    monkeypatch.setattr(pd.DataFrame, "__getitem__", getitem)
    return sliced


def test_fleet_overview_slices_only_the_columns_a_row_reads(demo_result, row_slices):
    rows = overview(demo_result.inventory, demo_result.findings, demo_result.gates)
    assert [r["verdict"] for r in rows[:2]] == ["NO-GO", "NO-GO"]
    # Counted over the whole frame: no slice per cluster and gate (on the old code: one per cluster and gate).
    assert row_slices == []


def test_gate_verdicts_slice_only_the_columns_a_verdict_reads(demo_result, row_slices):
    from auditor.findings import verdicts_by_gate  # new with this test: the engine sliced the whole frame per gate

    verdicts = verdicts_by_gate(demo_result.findings, demo_result.gates)
    assert verdicts == {g: Verdict(v) for g, v in demo_result.gate_verdicts.items()}
    assert row_slices == []  # counted over the whole frame (the old code sliced it once per gate: 5 slices)


def _count_text_columns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the Series (the columns of the DataFrames) written out as text (`astype(str)`) from now on."""
    as_text: list[str] = []
    series_astype, frame_astype = pd.Series.astype, pd.DataFrame.astype

    def series(self: pd.Series, dtype: object, *args: object, **kwargs: object) -> pd.Series:
        if dtype is str:
            as_text.append(str(self.name))
        return series_astype(self, dtype, *args, **kwargs)

    def frame(self: pd.DataFrame, dtype: object, *args: object, **kwargs: object) -> pd.DataFrame:
        if dtype is str:
            as_text.append(",".join(map(str, self.columns)))
        return frame_astype(self, dtype, *args, **kwargs)

    monkeypatch.setattr(pd.Series, "astype", series)
    monkeypatch.setattr(pd.DataFrame, "astype", frame)
    return as_text


def test_proxies_are_classified_without_writing_a_pods_marks_as_text(demo_result, monkeypatch):
    """Each pod's proxy kind comes from its marks' category codes (one decision per distinct marks): converting the
    proxy, image-kind and CA columns to text cost a 50k-pod frame 15 ms for the same answer."""
    cluster = demo_result.inventory.data_planes[0]
    frame = cluster.pods().copy()
    as_text = _count_text_columns(monkeypatch)
    cluster._classify_proxies(frame)
    assert as_text == []
    assert frame["proxy"].value_counts().to_dict() == {"istio": 18, "asm": 11, "none": 5, "unknown": 0}


def test_no_exemptions_means_no_work_per_finding():
    """Without exemptions nothing is matched, so no finding is even looked at (a subject tuple was built for each
    of the 25,000 findings of a 50k-pod audit). Objects that are no Findings prove it: they fail on the old code."""
    report = apply_exemptions([object()] * 1_000, [], dt.date(2026, 12, 6), audited_checks=["restart-risk"])
    assert (report.applied, report.unused, report.expired, report.would_match) == ({}, [], [], {})


@pytest.mark.parametrize("count", [0, 3])
def test_the_findings_frame_has_the_same_columns_and_types_with_or_without_findings(count):
    """Built column by column (categories from the values): the dtypes every reader relies on, also for an audit
    with no finding at all (pandas infers text columns from values; with none they stay objects)."""
    findings = [Finding(Status.FAIL, "c1", f"m{i}", kind="Deployment", namespace="shop", name=f"w{i}",
                        remediation="kubectl ...", evidence={"pods": i}, severity=Severity.MAJOR, gate="migrating",
                        check_id="restart-risk", title="Restart risk", default_severity=Severity.MINOR,
                        code="AA1101", params={"n": i}) for i in range(count)]
    frame = findings_frame(findings)
    assert list(frame.columns) == [*FINDING_COLUMNS, "params"]
    categorical = {"cluster", "gate", "check_id", "severity", "status", "kind", "namespace", "default_severity",
                   "code"}
    assert {c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)} == categorical
    assert list(frame["status"].cat.categories) == [s.value for s in Status]
    assert frame["exempt"].dtype == bool
    assert frame["evidence"].dtype == object and frame["params"].dtype == object
    assert frame["message"].tolist() == [f"m{i}" for i in range(count)]
    assert frame["default_severity"].astype(str).tolist() == ["minor"] * count


def test_verdicts_and_fleet_rows_write_no_column_out_as_text(demo_result, monkeypatch):
    """The statuses, severities and cluster names are compared per category, not written out as text per finding
    first (and the Istio-sidecar workloads counted from their names as they are): on the old code every verdict
    mask and every fleet row wrote whole columns out as text (`astype(str)`)."""
    from auditor.findings import verdicts_by_gate

    as_text = _count_text_columns(monkeypatch)
    rows = overview(demo_result.inventory, demo_result.findings, demo_result.gates)
    verdicts = verdicts_by_gate(demo_result.findings, demo_result.gates)
    assert as_text == []
    assert [(r["cluster"], r["verdict"], r["blockers"], r.get("istio_sidecar_workloads")) for r in rows] == [
        ("cluster-a", "NO-GO", 38, 8), ("cluster-b", "NO-GO", 22, 5), ("asm", "GO", 0, None)]
    assert {g: v.value for g, v in verdicts.items()} == demo_result.gate_verdicts
