"""Snapshot files of pods are decoded into msgspec Structs (auditor.podwire.Pod) and summarised by attribute.

Two promises: the Struct reader of summarise_pod gives exactly the row the dict reader gives for the same pod, and
the Struct types are never laxer than the shape rules (auditor.sources.shapes) they stand in for: a pod they
accept has no shape problem. Checked over real-shaped pods and random mutations of them (hypothesis). Other kinds:
a List's shapes are checked in one msgspec pass per kind (shapes.all_fit), never laxer than object by object. The
speed is counted, not timed: dict lookups while scanning and summarising a file of pods, object_problem calls.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import auditor
from auditor import kinds as K
from auditor import mesh, podwire
from auditor.errors import UsageError
from auditor.inventory import PodSummaries, summarise_pod, summarise_pods
from auditor.sources import shapes
from auditor.sources import snapshot as snapshot_module
from auditor.sources.shapes import object_problem
from auditor.sources.snapshot import SnapshotCluster
from tests import factory as f
from tests import test_shapes_fast
from tests.test_podwire import varied_pods

RULES = mesh.ProxyRules()
PODS = varied_pods()
MUTATE = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values an odd or hostile snapshot may hold anywhere: nulls, empty and wrong-typed values, and the few strings
# the summary compares with (so a mutation can also turn a field into a meaningful value).
ODD_VALUES = st.sampled_from([
    None, "", "x", "true", "True", "Always", "Ready", "Running", "istio-proxy", "grpc-web", "router", 0, 3, -1,
    True, False, 2.5, [], {}, ["router"], [None], {"a": "b"}, {"a": None}, {"terminated": None},
    {"terminated": {}}, {"preStop": {}}, {"preStop": {"exec": {}}}, [{"name": "CA_ADDR", "value": None}],
    [{"name": "ASM_ID"}], 2**70,
])


def paths_of(value: Any, where: tuple = ()) -> list[tuple]:
    """Every place inside a JSON value: dict keys and list indexes, depth first."""
    found = [where] if where else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths_of(item, (*where, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths_of(item, (*where, index)))
    return found


@st.composite
def mutated_pods(draw: st.DrawFn) -> dict[str, Any]:
    pod = copy.deepcopy(draw(st.sampled_from(PODS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = paths_of(pod)
        where = draw(st.sampled_from(places))
        parent = pod
        for step in where[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "add" and isinstance(parent[where[-1]], dict):
            key = draw(st.sampled_from(["terminated", "preStop", "controller", "restartPolicy", "value", "kind",
                                        "labels", "annotations", "status", "ports", "state", "x"]))
            parent[where[-1]][key] = copy.deepcopy(draw(ODD_VALUES))
        else:
            parent[where[-1]] = copy.deepcopy(draw(ODD_VALUES))
    return pod


def structs_of(pods: list[dict[str, Any]]) -> list[podwire.Pod] | None:
    return podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))


def test_real_shaped_pods_decode_as_structs_and_summarise_like_dicts():
    structs = structs_of(PODS)
    assert structs is not None and len(structs) == 24
    for pod, struct in zip(PODS, structs, strict=True):
        assert summarise_pod(struct, RULES) == summarise_pod(pod, RULES)


def test_the_cni_mode_column_is_the_same_on_both_paths():
    """cni_redirect (istio-proxy and no istio-init init container) read from Structs and from dicts, pods listed one
    after the other with the same lists (decided once per list on the Struct path) and apart: CNI mode as
    istio/istio@1.24.6:pkg/kube/inject/testdata/inject/hello.yaml.cni.injected writes it (istio-validation), native,
    init mode (hello.yaml.injected: istio-init), and no proxy."""
    from auditor.inventory import POD_COLUMNS
    from tests.checks.test_purge_cni import asm_cni_mode_pod, asm_init_mode_pod, asm_native_cni_mode_pod

    pods = [asm_cni_mode_pod("a-5d8f7c9b6-1", "shop"), asm_cni_mode_pod("a-5d8f7c9b6-2", "shop"),
            asm_init_mode_pod("c-5d8f7c9b6-1", "shop"), asm_init_mode_pod("c-5d8f7c9b6-2", "shop"),
            asm_native_cni_mode_pod("b-7c9b6d8f5-1", "shop"), f.pod("d-1", "shop", proxy=None),
            asm_cni_mode_pod("a-5d8f7c9b6-3", "shop")]
    structs = structs_of(pods)
    assert structs is not None
    column = POD_COLUMNS.index("cni_redirect")
    from_dicts = [summarise_pod(pod, RULES) for pod in pods]
    assert [summarise_pod(struct, RULES) for struct in structs] == from_dicts
    assert [row[column] for row in from_dicts] == [True, True, False, False, True, False, True]
    summaries = PodSummaries.empty()
    summarise_pods(structs, RULES, summaries)  # one page: the lists' decisions carried from pod to pod
    assert summaries.whole_rows() == from_dicts


def test_one_pods_annotation_istiod_is_its_own_not_the_next_pods():
    """Pods of one workload share their containers (decided once per list on the Struct path); the first carries a
    proxy.istio.io/config annotation naming Istio's istiod (mesh.with_annotation_istiod), the others none. review21d:
    the annotation's istiod was written into the list's value and carried to every pod after it (AA1240 on pods
    without the annotation, on live audits and JSON snapshots only)."""
    from auditor.inventory import POD_COLUMNS

    first = f.pod("cart-5d8f7c9b6-a", "shop", proxy="asm", owner=("ReplicaSet", "cart-5d8f7c9b6"),
                  annotations={"proxy.istio.io/config": "discoveryAddress: istiod.istio-system.svc:15012\n"})
    rest = []
    for suffix in "bc":
        pod = copy.deepcopy(first)
        pod["metadata"]["name"] = f"cart-5d8f7c9b6-{suffix}"
        del pod["metadata"]["annotations"]["proxy.istio.io/config"]
        rest.append(pod)
    pods = [first, *rest]
    structs = structs_of(pods)
    assert structs is not None
    from_dicts = [summarise_pod(pod, RULES) for pod in pods]
    column = POD_COLUMNS.index("ca_service")
    assert from_dicts[0][column].endswith(mesh.ANNOTATION_NAMED + "istio-system/istiod")
    assert all(mesh.ANNOTATION_NAMED not in row[column] for row in from_dicts[1:])
    summaries = PodSummaries.empty()
    summarise_pods(structs, RULES, summaries)
    assert summaries.whole_rows() == from_dicts


@MUTATE
@given(mutated_pods())
def test_a_mutated_pod_the_structs_accept_has_no_shape_problem_and_the_same_row(pod: dict[str, Any]):
    raw = json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}).encode()
    structs = podwire.pod_structs(raw)
    if structs is None:  # refused: the file takes the dict path (orjson, shape walk, dict reader)
        return
    (full,) = orjson.loads(raw)["items"]  # as the dict path parses it
    assert object_problem("Pod", full) is None
    assert summarise_pod(structs[0], RULES) == summarise_pod(full, RULES)


def test_null_and_absent_differ_where_the_dict_reader_tells_them_apart():
    """`terminated: null` counts as terminated (the dict reader tests `"terminated" in state`)."""
    base = next(p for p in PODS if p["metadata"]["name"] == "j-1")  # app terminated, classic proxy running
    for state, held in (({"terminated": None}, True), ({}, False), ({"running": {}}, False)):
        pod = copy.deepcopy(base)
        for cs in pod["status"]["containerStatuses"]:
            if cs["name"] != "istio-proxy":
                cs["state"] = state
        (struct,) = structs_of([pod]) or ()
        row, dict_row = summarise_pod(struct, RULES), summarise_pod(pod, RULES)
        assert row == dict_row and row[10] is held  # held_by_proxy


def test_files_the_structs_do_not_cover_take_the_dict_path():
    pod = PODS[0]
    without_kind = {k: v for k, v in pod.items() if k != "kind"}
    assert structs_of([without_kind]) is None  # typed PodList items without kind: dict path as before
    assert structs_of([{**pod, "apiVersion": "example.com/v1"}]) is None  # not the core Pod
    assert structs_of([{**pod, "kind": "Deployment"}]) is None
    assert podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "Other", "items": [pod]})) is None
    assert podwire.pod_structs(b'{"kind": "List", "items": [') is None


OWN_CODE = str(Path(auditor.__file__).parent)


def count_dict_lookups(work: Any) -> tuple[Any, int]:
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        # Ours only: a library's own lookups (PyYAML's resolver, for a pod's proxy.istio.io/config) vary by release.
        if (event == "c_call" and getattr(arg, "__qualname__", "") == "dict.get"
                and OWN_CODE in frame.f_code.co_filename):
            calls += 1

    sys.setprofile(count)
    try:
        result = work()
    finally:
        sys.setprofile(None)
    return result, calls


def test_a_snapshot_file_of_pods_is_scanned_and_summarised_without_dicts_per_pod(tmp_path: Path):
    """Pods come out of the scan as Structs, and their summaries do a few dict lookups each (annotations,
    labels, env), not one per field read (70 per pod with TypedDict dicts)."""
    (tmp_path / "pods.json").write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": PODS}))
    source = SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True})
    pages = list(source.scan([K.POD], reduce=True))
    assert [type(obj) for _, page in pages for obj in page] == [podwire.Pod] * 24

    def scan_and_summarise() -> list[tuple]:
        return [summarise_pod(pod, RULES) for _, page in source.scan([K.POD], reduce=True) for pod in page]

    rows, lookups = count_dict_lookups(scan_and_summarise)
    assert rows == [summarise_pod(pod, RULES) for pod in PODS]
    assert lookups <= 24 * 12


# ---------------------------------------------------------------- other kinds: a List's shapes checked in one pass
def test_a_list_checked_in_one_pass_is_never_laxer_than_object_by_object():
    """shapes.all_fit accepts a List only if object_problem finds nothing in any of its objects."""
    rng = random.Random(11)
    accepted = 0
    for original in test_shapes_fast.objects():
        paths = test_shapes_fast.places(original)
        for _ in range(40):
            path = rng.choice(paths)
            doc = test_shapes_fast.mutated(original, path, rng)
            items = [copy.deepcopy(original), doc]
            if shapes.all_fit(items):
                accepted += 1
                assert [object_problem(o["kind"], o) for o in items] == [None, None], path
                assert doc["kind"] == original["kind"] and doc["apiVersion"] == original["apiVersion"]
    assert accepted > 100  # harmless mutations (e.g. of values no rule reads) do pass


@pytest.fixture
def object_problem_calls(monkeypatch) -> list[str]:
    """The kinds snapshot reading asks object_problem about, one entry per object looked at."""
    calls: list[str] = []
    real = snapshot_module.object_problem
    monkeypatch.setattr(snapshot_module, "object_problem", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    return calls


def test_a_file_of_one_kind_is_shape_checked_in_one_pass(tmp_path: Path, object_problem_calls: list[str]):
    """Counted, not timed: no object_problem call per Deployment of a well-formed file (one per object before);
    a file with one malformed object still names it, as object by object."""
    calls = object_problem_calls
    deployments = [f.deployment(f"web-{i}")[0] for i in range(50)]
    path = tmp_path / "deployments.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": deployments}))
    source = SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True})
    [(kind, objects)] = list(source.scan([K.DEPLOYMENT], reduce=True))
    assert kind is K.DEPLOYMENT and objects == deployments
    assert calls == []
    deployments[37]["spec"]["replicas"] = "three"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": deployments}))
    with pytest.raises(UsageError, match=r"deployments\.json: Deployment 'shop/web-37': spec\.replicas must be a "
                                         r"whole number"):
        list(SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True}).scan([K.DEPLOYMENT], reduce=True))
    assert len(calls) == 38  # object by object, up to the malformed one


def test_a_file_of_several_kinds_is_shape_checked_kind_by_kind(tmp_path: Path, object_problem_calls: list[str]):
    """Istio configuration comes as one List of several kinds: checked one kind at a time (no object_problem call
    per object), each kind's objects in file order; read_object_file still yields them in file order."""
    items = []
    for i in range(6):
        for kind in ("VirtualService", "DestinationRule"):
            items.append({"apiVersion": "networking.istio.io/v1", "kind": kind,
                          "metadata": {"name": f"{kind.lower()}-{i}", "namespace": "shop"}, "spec": {"hosts": ["x"]}})
    path = tmp_path / "istio-config.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    source = SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True})
    found = dict(source.scan([K.VIRTUALSERVICE, K.DESTINATIONRULE], reduce=True))
    assert found[K.VIRTUALSERVICE] == items[0::2] and found[K.DESTINATIONRULE] == items[1::2]
    assert object_problem_calls == []
    assert list(snapshot_module.read_object_file(path)) == items
    items[7]["metadata"]["labels"] = {"app": 5}  # the fourth DestinationRule
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    with pytest.raises(UsageError, match=r"DestinationRule 'shop/destinationrule-3': metadata\.labels must map "
                                         r"strings to strings"):
        list(SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True}).scan([K.DESTINATIONRULE], reduce=True))


@pytest.mark.parametrize("kind", ["pods only", "mixed"])
def test_a_whole_number_beyond_64_bits_meets_the_full_parse_error(tmp_path: Path, kind: str):
    """orjson reads 2**70 as a float, which the shape rules refuse: the fast paths must not accept it as an int."""
    pod = copy.deepcopy(PODS[0])
    pod["status"]["containerStatuses"][0]["restartCount"] = 2**70
    items = [pod] if kind == "pods only" else [pod, f.deployment("cart")[0]]
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    with pytest.raises(UsageError) as full:
        list(snapshot_module.read_object_file(path))
    with pytest.raises(UsageError) as scanned:
        list(SnapshotCluster("c1", "data-plane", tmp_path, {"complete": True}).scan([K.POD], reduce=True))
    assert str(scanned.value) == str(full.value)
    assert "restartCount must be a whole number" in str(full.value)
