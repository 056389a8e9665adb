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
                   "code", "aspect"}
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
        # cluster-a 39: its kube-injected template blocks the finished gate too (manual-injection AA0610, red18b).
        ("cluster-a", "NO-GO", 39, 8), ("cluster-b", "NO-GO", 22, 5), ("asm", "GO", 0, None)]
    assert {g: v.value for g, v in verdicts.items()} == demo_result.gate_verdicts


@pytest.fixture
def pandas_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pandas lookups made while the test runs: an Index searched for values (`get_indexer`), a column's values
    tested for membership (`isin`), rows deduplicated (`drop_duplicates`)."""
    made: list[str] = []
    for owner, name in ((pd.Index, "get_indexer"), (pd.Series, "isin"), (pd.DataFrame, "drop_duplicates")):
        real = getattr(owner, name)

        def counting(self: object, *args: object, _real: object = real, _name: str = name, **kwargs: object) -> object:
            made.append(_name)
            return _real(self, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(owner, name, counting)
    return made


def test_verdicts_summary_and_fleet_rows_ask_each_category_not_pandas(demo_result, pandas_lookups, monkeypatch):
    """The gate verdicts, the summary, what the config did and the fleet rows (with each cluster's Istio-sidecar
    workloads, counted from the pod frame's category codes) make no pandas lookup and write no column out as text: the
    few categories of a column are looked up in a dict. On the old code each status, severity, gate and cluster column
    asked a pandas Index of the labels (23 `get_indexer` here), each cluster's pods were tested with `isin` three times
    and deduplicated, and config_effects wrote both severity columns out as text: a fixed ~5 ms of every audit."""
    from auditor.findings import config_effects, summary_of, verdicts_by_gate

    as_text = _count_text_columns(monkeypatch)
    frame = demo_result.findings
    rows = overview(demo_result.inventory, frame, demo_result.gates)
    verdicts = verdicts_by_gate(frame, demo_result.gates)
    summary = summary_of(frame)
    effects = config_effects(frame)
    assert pandas_lookups == []
    assert as_text == []
    assert [(r["cluster"], r["verdict"], r["blockers"], r["unknown"], r["counts"]["PASS"], r.get("istio_sidecar_pods"),
             r.get("asm_proxy_pods"), r.get("istio_sidecar_workloads"), r.get("pods")) for r in rows] == [
        ("cluster-a", "NO-GO", 39, 2, 27, 13, 7, 8, 34), ("cluster-b", "NO-GO", 22, 2, 30, 11, 8, 5, 30),
        ("asm", "GO", 0, 0, 4, None, None, None, None)]
    assert {g: v.value for g, v in verdicts.items()} == {"assessment": "GO", "setup": "GO", "migrating": "NO-GO",
                                                         "uninstall": "NO-GO", "finished": "NO-GO"}
    # manual-injection at finished (red18b): cluster-a's kube-injected template FAIL AA0610, cluster-b PASS AA0601.
    # gitops-drift at uninstall (red20h): AA2702 PASS in each data-plane cluster.
    # gitops-reinstall at uninstall and finished (red21b): AA3040 NOT_APPLICABLE in each data-plane cluster (the demo
    # runs neither Argo CD nor Flux).
    assert summary == {"PASS": 61, "FAIL": 61, "WARN": 41, "UNKNOWN": 4, "NOT_APPLICABLE": 13}
    assert effects == {"exempted": 0, "severity_overridden": 0}


def test_what_the_config_did_is_counted_from_the_severities_texts(monkeypatch):
    """A severity differs from the default when the texts they write differ; a missing one (None, or a value no
    severity is) differs from any, another missing one included. Counted per category (fail on the old code: both
    columns written out as text)."""
    from auditor.findings import config_effects

    findings = [Finding(Status.FAIL, "c1", "m", severity=Severity.MAJOR, default_severity=Severity.MINOR),
                Finding(Status.FAIL, "c1", "m", severity=Severity.MAJOR, default_severity=Severity.MAJOR),
                Finding(Status.WARN, "c1", "m", severity=None, default_severity=None),
                Finding(Status.PASS, "c1", "m", severity=Severity.MINOR),
                Finding(Status.FAIL, "c1", "m", severity="odd", default_severity=Severity.INFO),  # type: ignore[arg-type]
                Finding(Status.FAIL, "c1", "m", severity=Severity.INFO, default_severity=Severity.BLOCKER, exempt=True)]
    frame = findings_frame(findings)
    as_text = _count_text_columns(monkeypatch)
    assert config_effects(frame) == {"exempted": 1, "severity_overridden": 4}
    assert as_text == []


def test_sidecar_pods_and_workloads_are_the_same_from_categories_or_plain_values():
    """The Istio-sidecar pods and their distinct workloads, counted from category codes when the pod frame's columns
    are categorical and from the values themselves when not: the same rows and the same count either way, a workload
    with a missing namespace counted once."""
    import numpy as np

    from auditor import mesh
    from auditor.fleet import _distinct_workloads, istio_sidecar_pods

    pods = pd.DataFrame({
        "namespace": ["shop", "shop", "shop", None, None, "pay", "pay"],
        "workload_kind": ["Deployment", "Deployment", "StatefulSet", "Deployment", "Deployment", "Deployment", "Job"],
        "workload_name": ["web", "web", "web", "orphan", "orphan", "api", "api"],
        "phase": ["Running", "Pending", "Running", "Running", "Running", "Succeeded", "Running"],
        "role": [mesh.ROLE_SIDECAR] * 6 + ["gateway"],
        "proxy": [mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN, mesh.PROXY_ISTIO, mesh.PROXY_ISTIO, mesh.PROXY_ISTIO,
                  mesh.PROXY_ISTIO, mesh.PROXY_ISTIO]}, dtype=object)
    categorical = pods.astype("category")
    for frame in (pods, categorical):
        rows = istio_sidecar_pods(frame)
        assert rows.index.tolist() == [0, 1, 2, 3, 4]
        assert _distinct_workloads(frame, np.isin(np.arange(len(frame)), rows.index)) == 3
