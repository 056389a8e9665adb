"""The pod checks' fixed pandas cost, counted in work, never timed (issue 18): a check selects from the pod frame only
the rows it reports and the columns it reads, and counts without pandas' grouping. Each selection of rows copies every
column it keeps (the pod frame has ~30), and a grouping costs ~0.7 ms however few the pods: dropping these took
~4-6 ms off the judge of a 10k-pod cluster (~80-90 ms).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from auditor import inventory, mesh
from auditor import kinds as K
from auditor.check import Context
from auditor.inventory import ClusterInventory, Inventory, summarise_pod
from auditor.istio import equal_to, unclassified_proxy_findings
from auditor.model import Gate
from checks.cni import meshed_namespaces
from checks.mesh_config import IstiodRestarted
from checks.residue import IstioControlPlaneRemoved, _istiod_named
from checks.restart_risk import RestartRisk
from checks.sidecars import IstioSidecarsRemaining
from checks.stuck_jobs import StuckSidecarJobs
from checks.versions import IstioVersion
from checks.workloads import AsmProxiesReady
from checks.xds_agent import PodsXdsAgent
from tests.checks import test_pod_check_cost
from tests.factory import (
    deployment,
    istiod,
    job_pod,
    mesh_configmap,
    meta,
    pod,
    read_none_of_the_other_workload_kinds,
    workload_pods,
)


def _cluster() -> ClusterInventory:
    web = deployment("web")
    control = istiod()
    _, control_rs = deployment("istiod", "istio-system", template_labels={"app": "istiod", "istio.io/rev": "default"})
    migrate = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("migrate-db", "data")}
    pods = [*workload_pods(web, 3), pod("bare", proxy=None), *workload_pods((control, control_rs), 1, proxy=None),
            job_pod("migrate-db-7x2k4", "data", "migrate-db"), job_pod("migrate-db-9q4m8", "data", "migrate-db")]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.STATEFULSET.key: [], K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [web[1], control_rs], K.DEPLOYMENT.key: [web[0], control],
        K.JOB.key: [migrate], K.SERVICE.key: [], K.NAMESPACE.key: [], K.CONFIGMAP.key: [mesh_configmap()],
        K.WORKLOADENTRY.key: [], K.WORKLOADGROUP.key: [],
        **read_none_of_the_other_workload_kinds()})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in pods]
    return cluster


@pytest.fixture
def pandas_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Each selection of rows from a DataFrame as (rows, columns) kept, and "groupby" for each pandas grouping."""
    work: list[Any] = []
    take = pd.DataFrame.take

    def counted_take(self: pd.DataFrame, indices: Any, axis: Any = 0, **kwargs: Any) -> pd.DataFrame:
        taken = take(self, indices, axis=axis, **kwargs)
        if axis in (0, "index"):
            work.append(taken.shape)
        return taken

    monkeypatch.setattr(pd.DataFrame, "take", counted_take)
    for owner in (pd.DataFrame, pd.Series):
        grouping = owner.groupby

        def counted_groupby(self: Any, *args: Any, _grouping: Any = grouping, **kwargs: Any) -> Any:
            work.append("groupby")
            return _grouping(self, *args, **kwargs)

        monkeypatch.setattr(owner, "groupby", counted_groupby)
    yield work


@pytest.fixture
def cluster_ctx(pandas_work: list[Any]) -> tuple[ClusterInventory, Context]:
    cluster = _cluster()
    cluster.pods()
    pandas_work.clear()  # the pod frame's own build is not counted
    return cluster, Context(inv=Inventory(data_planes=[cluster]), gate=Gate.MIGRATING)


def _prepared(check: Any, ctx: Context) -> Any:
    """The check as the engine hands it a cluster: prepared first (the istiod checks keep their fleet record there)."""
    check.prepare(ctx)
    return check


def test_stuck_jobs_select_only_the_held_pods_and_the_columns_reported(cluster_ctx: Any, pandas_work: list[Any]):
    stuck = [(f.code, f.name, f.evidence["pods"]) for f in StuckSidecarJobs().check_cluster(*cluster_ctx)]
    # Before: (2, 29): the Job pods with a proxy, all the frame's columns (the classic and held ones then among them);
    # then (2, 6), the held pods' six columns. Now a frame of those columns' arrays.
    assert (stuck, pandas_work) == ([("AA2910", "migrate-db", ["migrate-db-7x2k4", "migrate-db-9q4m8"])], [])


def test_istio_version_counts_proxies_per_revision_and_image_without_selecting_or_grouping(
        cluster_ctx: Any, pandas_work: list[Any]):
    versions = [(f.code, f.name, f.evidence.get("compared_pods")) for f in _prepared(IstioVersion(), cluster_ctx[1])
                .check_cluster(*cluster_ctx)]
    # Before: (5, 2) and a groupby: the Istio proxies' two columns selected, then grouped by pandas.
    assert (versions, pandas_work) == ([("AA0201", "istiod", None), ("AA0202", "", 5)], [])


def test_istiod_restarted_selects_only_istiods_own_pods(cluster_ctx: Any, pandas_work: list[Any]):
    check = _prepared(IstiodRestarted(), cluster_ctx[1])
    restarted = [(f.code, f.name, list(f.evidence["pods_started"])) for f in check.check_cluster(*cluster_ctx)]
    # Before: (4, 5), (1, 5): every active Deployment pod's five columns, then istiod's own pod among them; then (1, 3),
    # its three columns by loc. Now a frame of those columns' arrays at the rows of the frame's codes (istio.equal_to).
    assert (restarted, pandas_work) == ([("AA1010", "istiod", ["istiod-g9h59xpj9-ktxrc"])], [])


def test_no_contradicting_marks_select_nothing(cluster_ctx: Any, pandas_work: list[Any]):
    cluster, _ = cluster_ctx
    sidecars = IstioSidecarsRemaining()
    # No pod's marks contradict each other. Before: (0, 29), an empty selection of all the frame's columns.
    assert list(unclassified_proxy_findings(sidecars, sidecars.UNCLASSIFIED, cluster, cluster.pods())) == []
    assert pandas_work == []


def test_xds_agent_selects_the_istio_proxies_once(cluster_ctx: Any, pandas_work: list[Any]):
    xds = [(f.code, f.params) for f in PodsXdsAgent().check_cluster(*cluster_ctx)]
    # Before: (0, 29), (5, 9), (0, 9): the contradicting marks' empty selection, the Istio proxies with nine columns
    # (with east-west gateways among them, a second selection without them), then those lacking the value; then
    # (5, 6), (0, 6): the proxies' six columns, then those lacking the value. Now frames of the columns' arrays.
    assert (xds, pandas_work) == ([("AA1101", {"workloads": 2})], [])


def test_istiod_pods_of_a_listed_deployment_are_not_grouped(cluster_ctx: Any, pandas_work: list[Any]):
    cluster, ctx = cluster_ctx
    removed = [(f.code, f.name, f.evidence["category"]) for f in IstioControlPlaneRemoved().check_cluster(cluster, ctx)]
    # istiod's pod belongs to the istiod Deployment listed: no orphan. Before: (1, 3), a groupby, (1, 3); then (1, 3),
    # the loc of its three columns (now taken from numpy masks: no DataFrame take).
    assert removed == [("AA2210", "istiod", "istiod"), ("AA2230", "", "webhooks"), ("AA2230", "", "istio_operators")]
    assert pandas_work == []


def test_istiod_names_are_matched_on_a_categorys_values_without_factorizing_each_pod(monkeypatch: pytest.MonkeyPatch):
    factorized: list[int] = []
    factorize = pd.factorize

    def counted(values: Any, *args: Any, **kwargs: Any) -> Any:
        factorized.append(len(values))
        return factorize(values, *args, **kwargs)

    monkeypatch.setattr(pd, "factorize", counted)
    names = pd.Series(pd.Categorical(["istiod", "web", None, "istiod-1-24-2", "web"],
                                     categories=["web", "istiod-1-24-2", "istiod", "unused"]))
    assert _istiod_named(names).tolist() == [True, False, False, True, False]
    assert factorized == []  # before: [5], the pods' values factorized again
    assert _istiod_named(pd.Series(["istiod", "web", "istiod"], dtype=object)).tolist() == [True, False, True]
    assert factorized == [3]



def test_istiod_names_of_sorted_categories_are_matched_in_their_run_alone_with_the_same_answer():
    """The pod frame's categories are in text order (~12,000 workload names at 50k pods): only the run of names starting
    "istiod" (all the pattern can match) is matched, and every name gets the answer the pattern gives it."""
    names = sorted(["a", "istio", "istiocsr", "istiod", "istiod-", "istiod-1-24-2", "istiod-x\n", "istiodd",
                    "istiod-canary", "istiod\u00e9", "istioe", "istiod-a-b-c", "web", "zz", "\u00e9"])
    pods = pd.Series(pd.Categorical([*names, None, "istiod"], categories=names))
    expected = [bool(re.match(r"^istiod(-.+)?$", n)) for n in names] + [False, True]
    assert _istiod_named(pods).tolist() == expected
    assert sum(expected) == 6
    # Categories out of text order: every name matched, the same answers.
    shuffled = pd.Series(pd.Categorical([*names, None, "istiod"], categories=names[::-1]))
    assert _istiod_named(shuffled).tolist() == expected


def test_equal_to_answers_as_equality_on_the_column():
    """istio.equal_to: `(column == value).to_numpy()`, a categorical's from its codes (a missing value is equal to
    nothing; a value among no category matches no row), other columns and values as pandas compares them."""
    categorical = pd.Series(pd.Categorical(["istiod", None, "web", "istiod", "web-2"],
                                           categories=["web", "istiod", "web-2", "unused"]))
    for value in ("istiod", "web", "unused", "absent", "", 3, None):
        assert equal_to(categorical, value).tolist() == (categorical == value).tolist(), value
    text = pd.Series(["istiod", "web", None], dtype=object)
    assert equal_to(text, "web").tolist() == [False, True, False]

def test_meshed_namespaces_read_only_the_namespace_column(cluster_ctx: Any, pandas_work: list[Any]):
    cluster, _ = cluster_ctx
    # Before: (5, 29), every Istio sidecar pod with all the frame's columns.
    assert (meshed_namespaces(cluster, cluster.pods()), pandas_work) == ({"data", "shop"}, [])


@pytest.fixture
def series_conversions(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Each pandas conversion of a Series' values (map, astype, where, fillna) as (method, rows)."""
    calls: list[tuple[str, int]] = []
    for method in ("map", "astype", "where", "fillna"):
        original = getattr(pd.Series, method)

        def counted(self: pd.Series, *args: Any, _original: Any = original, _method: str = method, **kwargs: Any
                    ) -> Any:
            calls.append((_method, len(self)))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(pd.Series, method, counted)
    yield calls


def test_restart_risk_copies_no_frame_of_the_sidecar_pods(cluster_ctx: Any, pandas_work: list[Any],
                                                          series_conversions: list[tuple[str, int]]):
    risks = [(f.code, f.name, f.evidence.get("pods"), f.evidence.get("grace_seconds"))
             for f in RestartRisk().check_cluster(*cluster_ctx)]
    assert risks == [("AA1420", "migrate-db", 2, 30), ("AA1422", "", None, None)]
    # Before: (5, 14), the Istio sidecar pods with fourteen columns (taken from a copy of those columns of every pod),
    # and 15 conversions of their columns (map, astype, where, fillna). Now numpy arrays of the columns read, and only
    # the two held pods' names converted to text.
    assert pandas_work == []
    assert series_conversions == [("astype", 2)]


@pytest.fixture
def isin_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The rows of each Series.isin (it hashes every row, however few the categories)."""
    calls: list[int] = []
    isin = pd.Series.isin

    def counted(self: pd.Series, values: Any) -> pd.Series:
        calls.append(len(self))
        return isin(self, values)

    monkeypatch.setattr(pd.Series, "isin", counted)
    yield calls


def test_the_pod_checks_tell_phases_and_kinds_from_category_codes(cluster_ctx: Any, isin_calls: list[int]):
    cluster, ctx = cluster_ctx
    checks = (RestartRisk(), IstioSidecarsRemaining(), PodsXdsAgent(), AsmProxiesReady(), StuckSidecarJobs(),
              IstioVersion())
    judged = {check.id: [f.code for f in _prepared(check, ctx).check_cluster(cluster, ctx)] for check in checks}
    assert judged == {"restart-risk": ["AA1420", "AA1422"], "istio-sidecars-remaining": ["AA1210", "AA1210"],
                      "pods-xds-agent": ["AA1101"], "asm-proxies-ready": ["AA1340"], "stuck-sidecar-jobs": ["AA2910"],
                      "istio-version": ["AA0201", "AA0202"]}
    # Before: 8 isin over the frame's 7 pods (phase among the active phases, workload kind a Job's).
    assert isin_calls == []


def test_sidecars_and_asm_proxies_select_only_the_rows_and_columns_read(pandas_work: list[Any]):
    cluster = test_pod_check_cost._cluster()
    cluster.pods()
    pandas_work.clear()
    ctx = Context(inv=Inventory(data_planes=[cluster]), gate=Gate.UNINSTALL)
    sidecars = [(f.code, f.name, f.evidence.get("pod_count")) for f in IstioSidecarsRemaining().check_cluster(
        cluster, ctx)]
    ready = [(f.code, f.name, f.evidence["not_ready"]) for f in AsmProxiesReady().check_cluster(cluster, ctx)]
    assert sidecars == [("AA1210", "cart", 2), ("AA1210", "web", 3), ("AA1210", "solo", 1)]
    assert ready == [("AA1310", "api", ["api-k4swzpbv2-fqkwn", "api-k4swzpbv2-wlkhs"])]
    # Before: (6, 10), the Istio sidecar pods with ten columns, and (2, 7), the ASM proxies with seven. Now frames of
    # the columns' arrays at those rows.
    assert pandas_work == []


def test_xds_agent_groups_the_proxies_and_those_lacking_the_value_once_each(monkeypatch: pytest.MonkeyPatch):
    grouped: list[int] = []
    workload_groups = inventory.workload_groups

    def counted(frame: pd.DataFrame, by_pod_name: bool = True) -> Any:
        grouped.append(len(frame))
        return workload_groups(frame, by_pod_name)

    monkeypatch.setattr(inventory, "workload_groups", counted)
    cluster = test_pod_check_cost._cluster()
    ctx = Context(inv=Inventory(data_planes=[cluster]), gate=Gate.MIGRATING)
    xds = [(f.code, f.name, f.params) for f in PodsXdsAgent().check_cluster(cluster, ctx)]
    assert xds == [("AA1110", "web", {"missing": 3, "total": 3, "seen": "<absent> x3"}),
                   ("AA1101", "", {"workloads": 2})]
    # Before: [6, 3, 3]: the workloads lacking the value were grouped a second time to be counted.
    assert grouped == [6, 3]
