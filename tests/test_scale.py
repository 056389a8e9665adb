"""Bounded, single-pass collection: what keeps a 150k-pod audit near the time and memory of reading it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest

from auditor import api
from auditor import kinds as K
from auditor.engine import read_ahead
from auditor.findings import records
from auditor.inventory import WORKLOAD_KEY, workload_rows
from auditor.sources import snapshot as snapshot_module
from auditor.sources.snapshot import SnapshotWriter, open_snapshot
from bench.generate import generate


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "snap"
    generate(300, out)
    return out


def _key(result) -> list[tuple]:
    return sorted((r["gate"], r["check_id"], r["status"], r["namespace"] or "", r["name"] or "", r["message"])
                  for r in records(result.findings))


@pytest.mark.parametrize("phase", ["all", "auto"])
def test_each_snapshot_file_is_parsed_once(cluster: Path, monkeypatch, phase: str):
    parsed: list[Path] = []
    real = snapshot_module.read_snapshot_file  # every file's bytes (pod files are decoded without read_object_file)

    def counting(path: Path, *args, **kwargs):
        parsed.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", counting)
    result = api.run_audit(api.Target(snapshot=str(cluster)), phase=phase)
    assert len(result.inventory.data_planes[0].pods()) == 300
    # The auto gate reads Deployments first; one pass reads everything else along with them. (The small
    # ASM control plane is read in two passes: the migration CR decides the gate, then what checks need.)
    data_plane = [p for p in parsed if p.parent.name == "cluster-a"]
    assert len(data_plane) == len(set(data_plane)), sorted(p.name for p in data_plane)
    assert {p.name for p in data_plane} >= {"pods-0000.json", "deployments-0000.json", "replicasets-0000.json"}


def test_a_written_snapshot_is_split_and_audits_the_same(cluster: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(snapshot_module, "WRITE_PART_ITEMS", 40)
    direct = api.run_audit(api.Target(snapshot=str(cluster)), phase="all")
    # Re-snapshot through the writer (what `asm-audit snapshot` does while collecting).
    out = tmp_path / "re.tar.gz"
    api.run_audit(sources=open_snapshot(cluster), phase="all", snapshot_out=out)
    unpacked = tmp_path / "re"
    import tarfile

    with tarfile.open(out) as tar:
        tar.extractall(unpacked, filter="data")
    parts = sorted(p.name for p in (unpacked / "cluster-a").glob("pods*.json"))
    assert parts[0] == "pods.json" and "pods.part0007.json" in parts  # 300 pods, 40 per file
    for part in parts:
        items = orjson.loads((unpacked / "cluster-a" / part).read_bytes())["items"]
        assert 0 < len(items) <= 40
    again = api.run_audit(api.Target(snapshot=str(unpacked)), phase="all")
    # The written snapshot was collected now, the generated one on its fixed date: only their age differs (AA0012).
    assert _key(again) == [k for k in _key(direct) if k[1] != "evidence-age"]


def test_read_ahead_keeps_order_and_raises_where_the_source_failed():
    def pages():
        yield [1]
        yield [2]
        raise RuntimeError("page 3 failed")

    seen = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in read_ahead(pages()):
            seen.append(page)
    assert seen == [[1], [2]]


def test_read_ahead_reads_while_the_consumer_works_and_stops_when_it_stops():
    produced: list[int] = []
    done = threading.Event()

    def pages():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            done.set()

    for item in read_ahead(pages(), depth=2):
        time.sleep(0.05)  # meanwhile the helper has fetched the next pages
        assert len(produced) >= item + 2
        if item == 3:
            break
    time.sleep(0.3)
    assert len(produced) <= 7  # the helper stopped soon after the consumer did, never ran ahead unbounded


def test_workload_rows_match_pandas_groupby():
    frame = pd.DataFrame({
        "namespace": pd.Categorical(["b", "a", "a", "b", "a"]),
        "workload_kind": pd.Categorical(["Deployment", "Deployment", "Job", "Deployment", "Deployment"]),
        "workload_name": ["x", "y", "z", "x", "y"],
        "name": ["x-2", "y-1", "z-1", "x-1", "y-0"],
        "ready": [True, False, True, True, True],
    })
    expected = [(key, sorted(group["name"].tolist()))
                for key, group in frame.groupby(list(WORKLOAD_KEY), observed=True, sort=True)]
    got = [(key, rows["name"]) for key, rows in workload_rows(frame, ("name", "ready"))]
    assert got == expected
    assert dict(workload_rows(frame, ("ready",)))[("a", "Deployment", "y")]["ready"] == [True, False]
    assert list(workload_rows(frame.iloc[0:0], ("name",))) == []


def test_collected_kinds_are_slimmed(cluster: Path):
    result = api.run_audit(api.Target(snapshot=str(cluster)), phase="all")
    inv = result.inventory.data_planes[0]
    rs = inv.objects(K.REPLICASET)[0]
    assert set(rs) <= {"apiVersion", "kind", "metadata", "status", "spec"}
    assert "template" not in (rs.get("spec") or {}) or not rs["metadata"].get("ownerReferences")
    assert all("fieldsV1" not in m for obj in inv.objects(K.CONFIGMAP)
               for m in obj["metadata"].get("managedFields") or ())
    # The summaries (collected: pod_summaries; handed in: pod_rows) are freed once the frame is built.
    assert not inv.pod_rows and len(inv.pod_summaries) == 0 and not inv.pod_summaries.profiles
    assert isinstance(SnapshotWriter, type)
