"""The pod frame's build, counted in work, never timed (issue 18): a categorical column is told text from its few
distinct values, not value by value. Rows or values out of the ordinary meet what they met before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd
import pytest
from pandas.core.arrays.categorical import CategoricalAccessor

from auditor import inventory, mesh, podwire
from auditor import kinds as K
from auditor.inventory import POD_COLUMNS, ClusterInventory, summarise_pod, summarise_pods, workload_groups
from tests.factory import deployment, pod, workload_pods

PODS = 6


def _cluster() -> ClusterInventory:
    """PODS pods: 3 of a Deployment in `shop`, 2 of one in `a-shop` (no proxy), a bare one."""
    web, api = deployment("web"), deployment("api", namespace="a-shop")
    pods = [*workload_pods(web, 3), *workload_pods(api, 2, proxy=None), pod("bare", proxy="istio")]
    cluster = ClusterInventory(name="c1", objects_by_kind={
        K.POD.key: [], K.REPLICASET.key: [web[1], api[1]], K.DEPLOYMENT.key: [web[0], api[0]], K.SERVICE.key: [],
        K.JOB.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in pods]
    return cluster


def _calls(monkeypatch: pytest.MonkeyPatch, owner: Any, attribute: str,
           record: Callable[..., int] = lambda *args: 1) -> list[int]:
    """What `record` tells of each call of owner.attribute made from auditor.inventory (pandas calls these too)."""
    recorded: list[int] = []
    original = getattr(owner, attribute)

    def counting(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals["__name__"] == "auditor.inventory":
            recorded.append(record(*args))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, counting)
    return recorded


def _assert_the_usual_frame(frame: pd.DataFrame) -> None:
    assert frame["name"].tolist()[-1] == "bare"
    assert frame["namespace"].cat.categories.tolist() == ["a-shop", "shop"]
    assert frame["namespace"].tolist() == ["shop"] * 3 + ["a-shop"] * 2 + ["shop"]
    assert str(frame["restarts"].dtype) == "int64" and str(frame["ready"].dtype) == "bool"
    assert str(frame["name"].dtype) == "str"
    assert frame["workload_name"].tolist() == ["web"] * 3 + ["api"] * 2 + ["bare"]
    assert frame["workload_kind"].tolist() == ["Deployment"] * 5 + ["Pod"]


def test_a_categorical_column_is_told_text_from_its_distinct_values(monkeypatch: pytest.MonkeyPatch):
    asked = _calls(monkeypatch, pd.api.types, "infer_dtype", lambda values, *args: len(values))
    frame = _cluster().pods()
    # Value by value only for the 18 columns that are not categories (session 17: the bool cni_redirect; session 19:
    # the bool deleting; session 21: the bool ambient); before: all 29 (27 + the workload kind, name).
    assert asked.count(PODS) == 18
    # the 15 categories' distinct values (session 16: xds_server, "" in every pod here)
    assert sorted(asked)[:15] == [1] * 4 + [2] * 10 + [3]
    _assert_the_usual_frame(frame)


def _with(cluster: ClusterInventory, row: int, column: str, value: Any) -> ClusterInventory:
    cluster.pod_rows[row] = tuple(value if c == column else v
                                  for c, v in zip(POD_COLUMNS, cluster.pod_rows[row], strict=True))
    return cluster


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("phase", None, [None, "Running"]),  # missing: no category
    ("phase", 7, [7, "Running"]),  # not text
    ("revision", float("nan"), [None, "default"]),
])
def test_a_categorical_column_holding_something_else_takes_the_inferring_path(
        monkeypatch: pytest.MonkeyPatch, column: str, value: Any, expected: list[Any]):
    records = _calls(monkeypatch, pd.DataFrame, "from_records")
    frame = _with(_cluster(), 0, column, value).pods()
    assert records == [1]
    got = [None if not isinstance(v, list) and pd.isna(v) else v for v in frame[column].tolist()[:2]]
    assert got == expected
    assert str(frame[column].dtype) == "category"


def test_an_unhashable_value_in_a_categorical_column_meets_the_same_error():
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        _with(_cluster(), 0, "gateway_label", ["ingressgateway"]).pods()


def test_rows_not_of_the_columns_length_meet_the_same_error():
    short = _cluster()
    short.pod_rows[2] = short.pod_rows[2][:-1]
    with pytest.raises(ValueError, match="shorter"):
        short.pods()
    long = _cluster()
    long.pod_rows = [(*row, "extra") for row in long.pod_rows]
    with pytest.raises(ValueError, match="longer"):
        long.pods()


def test_the_workload_columns_are_coded_per_profile_not_per_pod(monkeypatch: pytest.MonkeyPatch):
    """7 pods of 3 profiles (web's 3, api's 2, the 2 bare ones): every categorical column is factorized over at most
    the 3 profiles (most over their distinct combinations, here as many), and the workload names over web's and api's
    owners plus the 2 bare pods' names; before, the workload kind and name were factorized over the 7 pods."""
    web, api = deployment("web"), deployment("api", namespace="a-shop")
    pods = [*workload_pods(web, 3), *workload_pods(api, 2, proxy=None), pod("lone", proxy="istio"),
            pod("bare", proxy="istio")]
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    cluster = ClusterInventory(name="c1", objects_by_kind={
        K.POD.key: [], K.REPLICASET.key: [web[1], api[1]], K.DEPLOYMENT.key: [web[0], api[0]], K.SERVICE.key: [],
        K.JOB.key: []})
    summarise_pods(structs, mesh.ProxyRules(), cluster.pod_summaries)
    assert len(cluster.pod_summaries.profiles) == 3
    factorized = _calls(monkeypatch, pd, "factorize", lambda values, *args: len(values))
    frame = cluster.pods()
    assert sorted(factorized) == [3] * 14 + [4]  # 13 categorical columns and the workload kind; the workload name
    assert frame["workload_kind"].tolist() == ["Deployment"] * 5 + ["Pod"] * 2
    assert frame["workload_kind"].cat.categories.tolist() == ["Deployment", "Pod"]
    assert frame["workload_name"].tolist() == ["web"] * 3 + ["api"] * 2 + ["lone", "bare"]
    assert frame["workload_name"].cat.categories.tolist() == ["api", "bare", "lone", "web"]
    assert frame["workload_name"].cat.codes.tolist() == [3, 3, 3, 0, 0, 2, 1]


@pytest.mark.parametrize(("by_pod_name", "order"), [(True, [4, 3, 0, 1, 2, 5]), (False, [3, 4, 0, 1, 2, 5])])
def test_workload_groups_reads_the_categoricals_own_codes(monkeypatch: pytest.MonkeyPatch, by_pod_name: bool,
                                                         order: list[int]):
    """Seven readers group pods per workload in an audit: each key column's codes and categories are read from its
    Categorical, not through a `.cat` accessor (an accessor and a Series each, ~25 us a column), and the pod names'
    missing values from their array, not a Series of flags."""
    frame = _cluster().pods()
    accessors: list[int] = []
    build_accessor = CategoricalAccessor.__init__

    def counting(self: CategoricalAccessor, data: Any) -> None:
        accessors.append(1)
        build_accessor(self, data)

    monkeypatch.setattr(CategoricalAccessor, "__init__", counting)
    flags = _calls(monkeypatch, pd.Series, "isna")
    keys, rows, starts = workload_groups(frame, by_pod_name=by_pod_name)
    assert accessors == [] and flags == []
    assert keys == [("a-shop", "Deployment", "api"), ("shop", "Deployment", "web"), ("shop", "Pod", "bare")]
    assert rows.tolist() == order  # api's pods by name (fqkwn, wlkhs) when asked, then web's, then the bare pod
    assert starts.tolist() == [0, 2, 5, 6]


def _deployments_cluster(count: int) -> ClusterInventory:
    """`count` Deployments of 2 pods each, summarised as the collector does (Structs)."""
    owned = [deployment(f"app{n}") for n in range(count)]
    pods = [p for dep_rs in owned for p in workload_pods(dep_rs, 2)]
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    cluster = ClusterInventory(name="c1", objects_by_kind={
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in owned], K.DEPLOYMENT.key: [dep for dep, _ in owned],
        K.SERVICE.key: [], K.JOB.key: []})
    summarise_pods(structs, mesh.ProxyRules(), cluster.pod_summaries)
    return cluster


def _python_calls_in_inventory(cluster: ClusterInventory) -> tuple[int, pd.DataFrame]:
    """The Python functions of auditor/inventory.py (comprehensions too) called while the pod frame is built."""
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename == inventory.__file__:
            calls += 1

    sys.setprofile(profile)
    try:
        frame = cluster.pods()
    finally:
        sys.setprofile(None)
    return calls, frame


def test_the_pod_frame_makes_no_python_call_per_owner():
    """Owners are resolved to their workloads in one loop: 2 or 6 Deployments, the same calls (before: one call per
    distinct owner)."""
    few, few_frame = _python_calls_in_inventory(_deployments_cluster(2))
    many, many_frame = _python_calls_in_inventory(_deployments_cluster(6))
    assert few == many
    assert few_frame["workload_name"].tolist() == ["app0", "app0", "app1", "app1"]
    assert many_frame["workload_name"].tolist() == [f"app{n}" for n in range(6) for _ in range(2)]
    assert set(many_frame["workload_kind"].tolist()) == {"Deployment"}


def test_categories_shared_by_profiles_are_factorized_per_combination(monkeypatch: pytest.MonkeyPatch):
    """6 Deployments of 2 pods: 6 profiles with one combination of the 11 categorical columns other than the namespace
    (proxy marks, phase, role...): those are factorized over 1 value each, the namespace and the workload kind over the
    6 profiles, the workload names over the 6 owners (before: the 12 categorical columns over the 6 profiles, the
    workload kind and name over the 12 pods)."""
    cluster = _deployments_cluster(6)
    assert len(cluster.pod_summaries.profiles) == 6
    factorized = _calls(monkeypatch, pd, "factorize", lambda values, *args: len(values))
    frame = cluster.pods()
    assert sorted(factorized) == [1] * 12 + [6] * 3  # (session 16: xds_server, a 12th shared one)
    assert frame["phase"].tolist() == ["Running"] * 12 and frame["phase"].cat.categories.tolist() == ["Running"]
    assert frame["role"].tolist() == ["sidecar"] * 12
    assert frame["owner_kind"].tolist() == ["ReplicaSet"] * 12
    assert frame["namespace"].cat.categories.tolist() == ["shop"]
    assert frame["proxy"].tolist() == ["istio"] * 12
