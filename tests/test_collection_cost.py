"""Collection's work is counted, not timed (issue 18).

The pod summary: a cluster has few proxy builds and settings and few distinct port names, but tens of thousands
of pods: the marks of a proxy container (image kind, CA service, ASM env, xDS agent value, exit on zero) are
decided once per distinct (image, env read), a port name's long-lived answer once per name, and a pod's summary
makes a bounded number of Python calls. The rows themselves are compared with the dict reader's
(tests/test_pod_structs.py).

ReplicaSets and Jobs: a file of owned ones is decoded in one pass, not item by item.

Scanning a snapshot: a file of pods is freed before the next one is decoded (one page of Structs in memory, not
two), and the big files are read in a helper thread while the ones before them are parsed and summarised, never
more bytes read and not yet parsed than the biggest of them.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from auditor import collect as collect_module
from auditor import inventory, mesh, podwire
from auditor import kinds as K
from auditor.collect import Collector
from auditor.inventory import POD_COLUMNS, Inventory, summarise_pod
from auditor.sources import snapshot as snapshot_module
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.test_podwire import owner_objects

PODS = 40


def same_workload_pods(port_name: str) -> list[dict[str, Any]]:
    """Pods of one ReplicaSet as the injector leaves them (`istio.io/rev` set, as in the bench clusters)."""
    return [f.pod(f"cart-5d8f7c9b6-{i:05d}", owner=("ReplicaSet", "cart-5d8f7c9b6"),
                  annotations={"istio.io/rev": "default"},
                  ports=[{"containerPort": 8080, "name": port_name, "protocol": "TCP"}]) for i in range(PODS)]


def as_structs(pods: list[dict[str, Any]]) -> list[podwire.Pod]:
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert structs is not None
    return structs


class Counting:
    """Stands in for an object (a compiled pattern, a decoder), counting the calls of one of its methods."""

    def __init__(self, wrapped: Any, method: str) -> None:
        self.wrapped, self.method, self.calls = wrapped, method, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if name != self.method:
            return attribute

        def counted(*args: Any) -> Any:
            self.calls += 1
            return attribute(*args)

        return counted


@pytest.mark.parametrize("reader", ["struct", "dict"])
def test_a_proxy_s_marks_are_decided_once_per_distinct_proxy(monkeypatch: pytest.MonkeyPatch, reader: str):
    pods = same_workload_pods("http")
    rules = mesh.ProxyRules()
    calls = {"has_asm_env": 0, "xds_agent_value": 0}
    has_asm_env, xds_agent_value = rules.has_asm_env, mesh.xds_agent_value

    def counted_has_asm_env(env: dict[str, str]) -> bool:
        calls["has_asm_env"] += 1
        return has_asm_env(env)

    def counted_xds_agent_value(env: dict[str, str]) -> str | None:
        calls["xds_agent_value"] += 1
        return xds_agent_value(env)

    monkeypatch.setattr(rules, "has_asm_env", counted_has_asm_env)
    monkeypatch.setattr(mesh, "xds_agent_value", counted_xds_agent_value)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in (as_structs(pods) if reader == "struct" else pods)]
    assert calls == {"has_asm_env": 1, "xds_agent_value": 1}
    assert {(row["proxy_image"], row["xds_agent"], row["asm_env"], row["role"]) for row in rows} == {
        (f.ISTIO_PROXY_IMAGE, "true", False, "sidecar")}


def test_a_proxy_with_other_env_values_gets_its_own_marks():
    rules = mesh.ProxyRules()
    istio, asm = f.pod("web-1"), f.pod("web-2", proxy="asm")
    gateway = f.pod("gw-1", gateway=True, proxy_env={"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "TRUE"}, xds_agent=None)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in as_structs([istio, asm, gateway, istio, asm, gateway])]
    assert [(row["asm_env"], row["xds_agent"], row["exit_on_zero"], row["role"]) for row in rows] == [
        (False, "true", False, "sidecar"), (True, "true", False, "sidecar"), (False, "<absent>", True, "gateway")] * 2


def test_a_port_name_is_searched_once_for_many_pods(monkeypatch: pytest.MonkeyPatch):
    counting = Counting(inventory._LONG_LIVED_PORT, "search")
    monkeypatch.setattr(inventory, "_LONG_LIVED_PORT", counting)
    rules = mesh.ProxyRules()
    # Names no other test summarises, so the answers remembered per name start here.
    grpc_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("grpc-summary-cost"))]
    http_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("http-summary-cost"))]
    long_lived = POD_COLUMNS.index("long_lived")
    assert [row[long_lived] for row in grpc_rows] == [True] * PODS
    assert [row[long_lived] for row in http_rows] == [False] * PODS
    assert counting.calls == 2


def python_calls(work: Callable[[], Any]) -> int:
    """Python function calls made while `work()` runs (its own call included)."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def test_a_struct_pod_s_summary_makes_few_python_calls():
    """Per pod with a sidecar, one pod at a time: summarise_pod, the page loop, the summary state, its ports and the
    env comprehension: 5 (main: 14, with the proxy's columns and role, the row and its five own copies in calls of
    their own; 26 before the marks and port names were remembered); nothing per env var, annotation or port."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the first pod decides the proxy marks and the port name
    assert python_calls(lambda: [summarise_pod(pod, rules) for pod in pods[1:]]) <= 2 + (PODS - 1) * 5


def test_a_page_of_struct_pods_is_summarised_in_one_loop():
    """Per pod with a sidecar: its ports and the env comprehension, 2 calls; the summary state, the reader, the
    proxy's columns and role, the row and its copies of text are no call per pod (main: 14 per pod, one
    summarise_pod each)."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the first pod decides the proxy marks and the port name
    collector = SimpleNamespace(inv=SimpleNamespace(rules=rules))
    rows: list[tuple] = []
    calls = python_calls(lambda: rows.extend(Collector._summaries(collector, pods)))  # type: ignore[arg-type]
    assert len(rows) == PODS
    assert calls <= 4 + PODS * 2


# ---------------------------------------------------------------- scanning a snapshot of several pod files
POD_FILES = 4


def write_pod_files(root: Path) -> Path:
    for part in range(POD_FILES):
        pods = [f.pod(f"web-{part}-{i}", owner=("ReplicaSet", "web-5d8f7c9b6")) for i in range(30)]
        (root / f"pods-{part:04d}.json").write_bytes(
            orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    return root


class Page(list):
    """A page of pods that can be watched (a plain list takes no weak reference)."""


def collect_pods(root: Path) -> Inventory:
    inv = Inventory(data_planes=[])
    Collector(open_snapshot(root), inv).ensure([K.POD], "data-plane")
    return inv


def test_a_file_of_pods_is_freed_before_the_next_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pages: list[weakref.ref] = []
    alive_at_decode: list[int] = []
    decode = podwire.pod_structs

    def watched(raw: bytes) -> Page | None:
        alive_at_decode.append(sum(page() is not None for page in pages))
        pods = decode(raw)
        if pods is None:
            return None
        page = Page(pods)
        pages.append(weakref.ref(page))
        return page

    monkeypatch.setattr(podwire, "pod_structs", watched)
    inv = collect_pods(write_pod_files(tmp_path))
    assert len(inv.data_planes[0].pod_rows) == POD_FILES * 30
    assert alive_at_decode == [0] * POD_FILES  # before: [0, 1, 1, 1] (the last page held until the next was read)


def record_readers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(file name, read by the main thread) of every snapshot file read from now on."""
    readers: list[tuple[str, bool]] = []
    read = snapshot_module.read_snapshot_file

    def recorded(path: Path) -> bytes:
        readers.append((path.name, threading.current_thread() is threading.main_thread()))
        return read(path)

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", recorded)
    return readers


def test_the_next_big_file_is_read_in_a_helper_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    readers = record_readers(monkeypatch)
    monkeypatch.setattr(snapshot_module, "READ_AHEAD_BYTES", 1, raising=False)  # every file counts as big
    inv = collect_pods(write_pod_files(tmp_path))
    assert len(inv.data_planes[0].pod_rows) == POD_FILES * 30
    # The first file is read by the scan itself; each next one while the one before it is summarised.
    assert readers == [("pods-0000.json", True), ("pods-0001.json", False), ("pods-0002.json", False),
                       ("pods-0003.json", False)]


def test_a_big_file_is_read_while_the_small_files_before_it_are_parsed(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch):
    """The first pod file of a snapshot comes after several small files (ConfigMaps ... Namespaces): its read
    started only once the last of them was parsed, and the scan then waited for it (~30-60 ms at 10k pods)."""
    write_pod_files(tmp_path)
    for name in ("configmaps", "deployments", "namespaces"):  # sorted before pods-*.json, each one object
        (tmp_path / f"{name}-0000.json").write_bytes(orjson.dumps(
            {"apiVersion": "v1", "kind": "List", "items": [f.namespace(name)]}))
    monkeypatch.setattr(snapshot_module, "READ_AHEAD_BYTES", 2000, raising=False)  # the pod files only
    pod_file_read = threading.Event()
    read = snapshot_module.read_snapshot_file
    read_during: dict[str, bool] = {}

    def recorded(path: Path) -> bytes:
        if path.name == "pods-0000.json":
            pod_file_read.set()
        elif path.name == "namespaces-0000.json":  # the last small file, read by the scan
            read_during[path.name] = pod_file_read.wait(timeout=10)  # before: never, until it was parsed
        return read(path)

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", recorded)
    inv = collect_pods(tmp_path)
    assert len(inv.data_planes[0].pod_rows) == POD_FILES * 30
    assert read_during == {"namespaces-0000.json": True}


def test_a_pod_file_is_read_ahead_once_the_one_before_it_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Bytes read ahead and not yet parsed never exceed the biggest file: a pod file is read once the one before it
    is parsed, not while it is (two files in memory at once)."""
    write_pod_files(tmp_path)
    monkeypatch.setattr(snapshot_module, "READ_AHEAD_BYTES", 1, raising=False)
    events: list[str] = []
    read, decode = snapshot_module.read_snapshot_file, podwire.pod_structs

    def recorded_read(path: Path) -> bytes:
        events.append(f"read {path.name}")
        return read(path)

    def recorded_decode(raw: bytes) -> Any:
        pods = decode(raw)
        events.append(f"parsed {pods[0].metadata.name.rsplit('-', 1)[0]}")
        return pods

    monkeypatch.setattr(snapshot_module, "read_snapshot_file", recorded_read)
    monkeypatch.setattr(podwire, "pod_structs", recorded_decode)
    collect_pods(tmp_path)
    assert events == ["read pods-0000.json", "parsed web-0", "read pods-0001.json", "parsed web-1",
                      "read pods-0002.json", "parsed web-2", "read pods-0003.json", "parsed web-3"]


def test_a_small_file_is_read_by_the_scan_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A thread costs more than reading a small file (a hand-made snapshot may hold thousands)."""
    readers = record_readers(monkeypatch)
    collect_pods(write_pod_files(tmp_path))
    assert [in_main for _, in_main in readers] == [True] * POD_FILES


# ---------------------------------------------------------------- owned ReplicaSets and Jobs
def test_a_file_of_owned_replicasets_is_decoded_in_one_pass(monkeypatch: pytest.MonkeyPatch):
    rs, old_rs = owner_objects()[:2]
    items = [rs, old_rs] * 50
    counting = Counting(podwire._TYPE_META, "decode")  # the item-by-item path's first decode of each item
    monkeypatch.setattr(podwire, "_TYPE_META", counting)
    reduced = podwire.reduced_list(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    assert counting.calls == 0  # before: one per item (100), then _OWNED's one per item
    assert reduced is not None and len(reduced["items"]) == 100
    assert [inventory.slim(K.REPLICASET, item) for item in reduced["items"][:2]] == [
        inventory.slim(K.REPLICASET, orjson.loads(orjson.dumps(full))) for full in (rs, old_rs)]
    assert "spec" not in reduced["items"][0] and reduced["items"][1]["metadata"]["name"] == "cart-7c9d8f6b54"


def test_a_file_with_ownerless_replicasets_and_jobs_is_decoded_in_two_passes(monkeypatch: pytest.MonkeyPatch):
    """An ownerless one is a workload of its own: parsed whole, template and all, from its own bytes, which a second
    pass over the file finds; no item is decoded one by one (main: _TYPE_META and _OWNED once per item, 2 x 100).
    """
    rs, old_rs, orphan_rs, cron_job, standalone_job = owner_objects()
    for items in ([rs, orphan_rs] * 50, [cron_job, standalone_job, old_rs, rs] * 25):
        type_meta = Counting(podwire._TYPE_META, "decode")  # the item-by-item path's first decode of each item
        owned = Counting(podwire._OWNED, "decode")  # its second
        monkeypatch.setattr(podwire, "_TYPE_META", type_meta)
        monkeypatch.setattr(podwire, "_OWNED", owned)
        reduced = podwire.reduced_list(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        assert (type_meta.calls, owned.calls) == (0, 0)
        assert reduced is not None and len(reduced["items"]) == 100
        assert not isinstance(reduced["items"], podwire.OwnedItems)  # shape-checked as before (two kinds, or whole)
        for got, full in zip(reduced["items"], items, strict=True):
            if full["metadata"].get("ownerReferences"):
                assert "spec" not in got and got["metadata"]["name"] == full["metadata"]["name"]
            else:
                assert got == orjson.loads(orjson.dumps(full))
        assert reduced["apiVersion"] == "v1" and reduced["kind"] == "List"
        monkeypatch.undo()


def test_a_file_of_owned_replicasets_is_not_shape_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Their msgspec types (podwire._Owned) are the shape rules or stricter for all that is kept; shapes.all_fit
    would convert every item a second time (main: all 100 items)."""
    rs, old_rs = owner_objects()[:2]
    path = tmp_path / "replicasets.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [rs, old_rs] * 50}))
    checked: list[int] = []
    all_fit = snapshot_module.all_fit

    def counted(items: list[Any]) -> bool:
        checked.append(len(items))
        return all_fit(items)

    monkeypatch.setattr(snapshot_module, "all_fit", counted)
    fast = list(snapshot_module.read_object_file(path, reduce=True))
    assert checked == []
    full = list(snapshot_module.read_object_file(path))
    assert checked == [100]  # the full parse still checks them
    assert [inventory.slim(K.REPLICASET, obj) for obj in fast] == [inventory.slim(K.REPLICASET, obj) for obj in full]
    assert len(fast) == 100 and "spec" not in fast[0]


def test_a_decoded_owned_replicaset_or_job_keeps_its_status_uncopied():
    """podwire decodes an owned ReplicaSet's or Job's status to its counts only: slim takes that dict as it is (main:
    a copy per object, ~17,800 at 50k pods). A status holding more is still cut down to the counts, in its order."""
    rs, _, _, cron_job, _ = owner_objects()
    for kind, full in ((K.REPLICASET, rs), (K.JOB, cron_job)):
        decoded = podwire._OWNED.decode(orjson.dumps(full))
        slimmed = inventory.slim(kind, decoded)
        assert slimmed["status"] is decoded["status"]
        assert inventory.slim(kind, slimmed)["status"] is decoded["status"]  # idempotent, no copy either
    assert inventory.slim(K.REPLICASET, orjson.loads(orjson.dumps(rs)))["status"] == {"replicas": 2,
                                                                                     "readyReplicas": 2}
    assert list(inventory.slim(K.JOB, {"metadata": {"name": "j"}, "status": {
        "succeeded": 1, "startTime": "t", "active": 0, "failed": 2}})["status"].items()) == [
        ("succeeded", 1), ("active", 0), ("failed", 2)]
    assert inventory.slim(K.JOB, {"metadata": {"name": "j"}, "status": None})["status"] == {}


def test_a_page_of_services_is_slimmed_without_a_call_per_service(monkeypatch: pytest.MonkeyPatch):
    """Kinds kept whole but for managedFields' bodies are slimmed in one loop (main: one slim call per object)."""
    services = [f.service(f"web-{i}", "shop") for i in range(100)]
    for service in services[::2]:
        service["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:x": {}}}]
    expected = [inventory.slim(K.SERVICE, orjson.loads(orjson.dumps(service))) for service in services]
    calls = 0
    slim = inventory.slim

    def counted(kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return slim(kind, obj)

    monkeypatch.setattr(inventory, "slim", counted)
    monkeypatch.setattr(collect_module, "slim", counted, raising=False)
    kept: list[dict[str, Any]] = []
    Collector._absorb(SimpleNamespace(writer=None), None, None, K.SERVICE, services, kept)  # type: ignore[arg-type]
    assert calls == 0
    assert kept == expected and kept[0]["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Apply"}]

