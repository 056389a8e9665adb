"""The pod-frame checks' cost, counted in work, never timed (issue 18): pods are grouped per workload from integer
codes (no pandas sort or groupby per check), and the pod frame is built column by column, each column's type told
once (no DataFrame.from_records guessing it value by value) unless a column holds something unexpected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from auditor import kinds as K
from auditor import mesh
from auditor.check import Context
from auditor.inventory import POD_COLUMNS, ClusterInventory, Inventory, summarise_pod, workload_rows, workload_sizes
from auditor.model import Gate
from checks.restart_risk import RestartRisk, Risk
from checks.sidecars import IstioSidecarsRemaining
from checks.workloads import AsmProxiesReady
from checks.xds_agent import PodsXdsAgent
from tests.factory import deployment, pod, read_none_of_the_other_workload_kinds, workload_pods
from tests.test_lookup_cost import CountingObject


def _cluster() -> ClusterInventory:
    web, api, cart = deployment("web"), deployment("api"), deployment("cart", namespace="a-shop")
    pods = [*workload_pods(web, 3, xds_agent=None), *workload_pods(api, 2, proxy="asm", ready=False),
            *workload_pods(cart, 2), pod("solo", proxy="istio"), pod("bare", proxy=None)]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [web[1], api[1], cart[1]], K.DEPLOYMENT.key: [web[0], api[0], cart[0]],
        K.SERVICE.key: [], K.STATEFULSET.key: [], K.JOB.key: [], K.PDB.key: [], K.CONFIGMAP.key: [],
        K.WORKLOADENTRY.key: [], K.WORKLOADGROUP.key: [],
        **read_none_of_the_other_workload_kinds()})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in pods]
    return cluster


@pytest.fixture
def pandas_sorts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the pandas sorts and groupings called (DataFrame/Series sort_values and groupby)."""
    calls: list[str] = []
    for owner in (pd.DataFrame, pd.Series):
        for method in ("sort_values", "groupby"):
            original = getattr(owner, method)

            def counting(self: Any, *args: Any, _original: Any = original, _name: str = f"{owner.__name__}.{method}",
                         **kwargs: Any) -> Any:
                calls.append(_name)
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(owner, method, counting)
    yield calls


def test_the_pod_checks_group_workloads_without_pandas_sorts(pandas_sorts: list[str]):
    cluster = _cluster()
    ctx = Context(inv=Inventory(data_planes=[cluster]), gate=Gate.MIGRATING)
    cluster.pods()
    judged = {check.id: [(f.status.value, f.namespace, f.name, f.message) for f in check.check_cluster(cluster, ctx)]
              for check in (RestartRisk(), IstioSidecarsRemaining(), PodsXdsAgent(), AsmProxiesReady())}
    # Before: restart-risk grouped once, the sidecars one sort, xds-agent two groupings and a sort, asm-proxies-ready
    # a grouping and a sort (7 in all).
    assert pandas_sorts == []
    assert [(status, ns, name) for status, ns, name, _ in judged["istio-sidecars-remaining"]] == [
        ("FAIL", "a-shop", "cart"), ("FAIL", "shop", "web"), ("FAIL", "shop", "solo")]
    assert judged["pods-xds-agent"] == [
        ("FAIL", "shop", "web", '3/3 pod(s) lack PROXY_CONFIG_XDS_AGENT="true" (seen: <absent> x3)'),
        ("PASS", "", "", '2 workload(s) on Istio\'s proxy carry PROXY_CONFIG_XDS_AGENT="true"')]
    assert judged["asm-proxies-ready"] == [("FAIL", "shop", "api", "2 not ready of 2 ASM-proxied pod(s)")]
    assert [(status, ns, name) for status, ns, name, _ in judged["restart-risk"]] == [
        ("WARN", "a-shop", "cart"), ("WARN", "shop", "web"), ("WARN", "shop", "solo"), ("WARN", "", "")]


def test_workload_groups_follow_category_codes_and_pod_names_without_sorting(pandas_sorts: list[str]):
    # Categories deliberately not in text order: pandas' groupby and sort_values follow the codes, and so do these.
    frame = pd.DataFrame({
        "namespace": pd.Categorical(["b", "a", "b", "a", "b"], categories=["b", "a"]),
        "workload_kind": pd.Categorical(["Job", "Deployment", "Deployment", "Deployment", "Job"]),
        "workload_name": ["x", "y", "x", "y", "x"],
        "name": ["x-2", "y-1", "x-9", "y-0", "x-1"],
        "ready": [True, False, True, True, False],
    })
    assert list(workload_rows(frame, ("name", "ready"))) == [
        (("b", "Deployment", "x"), {"name": ["x-9"], "ready": [True]}),
        (("b", "Job", "x"), {"name": ["x-1", "x-2"], "ready": [False, True]}),
        (("a", "Deployment", "y"), {"name": ["y-0", "y-1"], "ready": [True, False]})]
    assert workload_sizes(frame) == {("b", "Deployment", "x"): 1, ("b", "Job", "x"): 2, ("a", "Deployment", "y"): 2}
    assert pandas_sorts == []


def test_workload_rows_of_a_frame_with_a_missing_key_are_sorted_by_pandas_as_before(pandas_sorts: list[str]):
    frame = pd.DataFrame({"namespace": ["a", None, "a"], "workload_kind": ["Pod", "Pod", "Pod"],
                          "workload_name": ["p", "q", "o"], "name": ["p", "q", "o"]})
    keys = [key for key, _ in workload_rows(frame, ("name",))]
    assert keys[:2] == [("a", "Pod", "o"), ("a", "Pod", "p")]
    assert pd.isna(keys[2][0]) and keys[2][1:] == ("Pod", "q")  # the missing namespace last, as pandas sorts it
    assert pandas_sorts == ["DataFrame.sort_values"]


def test_the_pod_frame_is_built_column_by_column(monkeypatch: pytest.MonkeyPatch):
    records: list[int] = []
    from_records = pd.DataFrame.from_records

    def counting(*args: Any, **kwargs: Any) -> pd.DataFrame:
        records.append(1)
        return from_records(*args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "from_records", counting)
    frame = _cluster().pods()
    assert records == []  # before: one from_records guessing 27 column types value by value, then 12 astype
    dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    assert [dtypes[c] for c in ("namespace", "name", "ready", "restarts", "proxy", "term_grace", "revision",
                                "workload_kind", "workload_name")] == [
        "category", "str", "bool", "int64", "category", "int64", "category", "category", "category"]
    assert frame["namespace"].cat.categories.tolist() == ["a-shop", "shop"]  # in text order, as astype sorts them
    assert frame["workload_name"].tolist() == ["web"] * 3 + ["api"] * 2 + ["cart"] * 2 + ["solo", "bare"]

    # A column holding something else (here a restart count that is not a number) takes the inferring path.
    odd = _cluster()
    odd.pod_rows[0] = tuple("many" if c == "restarts" else v for c, v in zip(POD_COLUMNS, odd.pod_rows[0],
                                                                            strict=True))
    assert odd.pods()["restarts"].tolist()[:2] == ["many", 0]
    assert records == [1]


def _shop(workloads: int, **pod_kw: Any) -> ClusterInventory:
    """`workloads` Deployments alike (2 replicas, 2 Istio-sidecar pods each), a single-replica one and a bare pod."""
    made = [deployment(f"web-{i}") for i in range(workloads)]
    solo = deployment("solo", replicas=1)
    pods = [p for dep_rs in made for p in workload_pods(dep_rs, 2, **pod_kw)]
    pods += [*workload_pods(solo, 1, **pod_kw), pod("bare", proxy="istio", **pod_kw)]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in (*made, solo)],
        K.DEPLOYMENT.key: [dep for dep, _ in (*made, solo)], K.SERVICE.key: [], K.STATEFULSET.key: [], K.JOB.key: [],
        K.PDB.key: [], K.CONFIGMAP.key: [], K.WORKLOADENTRY.key: [], K.WORKLOADGROUP.key: [],
        **read_none_of_the_other_workload_kinds()})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in pods]
    return cluster


def test_pods_showing_the_same_values_are_counted_once(monkeypatch: pytest.MonkeyPatch):
    from collections import Counter

    counted: list[int] = []
    most_common = Counter.most_common

    def counting(self: Counter, *args: Any) -> Any:
        counted.append(sum(self.values()))
        return most_common(self, *args)

    monkeypatch.setattr(Counter, "most_common", counting)
    cluster = _shop(4, xds_agent=None)
    findings = list(PodsXdsAgent().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                  gate=Gate.MIGRATING)))
    # Before: the values of every workload's pods were counted (6 workloads); now once per distinct sequence of
    # values: one pod showing <absent> (solo, bare), two (web-0..3).
    assert counted == [1, 2]
    assert [(f.name, f.message, f.evidence["values"]) for f in findings] == [
        ("solo", '1/1 pod(s) lack PROXY_CONFIG_XDS_AGENT="true" (seen: <absent> x1)', {"<absent>": 1}),
        *[(f"web-{i}", '2/2 pod(s) lack PROXY_CONFIG_XDS_AGENT="true" (seen: <absent> x2)', {"<absent>": 2})
          for i in range(4)],
        ("bare", '1/1 pod(s) lack PROXY_CONFIG_XDS_AGENT="true" (seen: <absent> x1)', {"<absent>": 1})]
    assert findings[1].evidence["values"] is not findings[2].evidence["values"]


def test_the_values_seen_are_written_once_per_distinct_count(monkeypatch: pytest.MonkeyPatch):
    from checks import xds_agent

    written: list[dict[str, int]] = []
    seen_values_text = xds_agent.seen_values_text

    def counting(seen: dict[str, int]) -> str:
        written.append(seen)
        return seen_values_text(seen)

    monkeypatch.setattr(xds_agent, "seen_values_text", counting)
    cluster = _shop(4, xds_agent=None)
    findings = list(PodsXdsAgent().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                  gate=Gate.MIGRATING)))
    assert [f.params["seen"] for f in findings] == ["<absent> x1", *["<absent> x2"] * 4, "<absent> x1"]
    # Before: written for each of the 6 workloads lacking the value; now once per distinct count.
    assert written == [{"<absent>": 1}, {"<absent>": 2}]


def test_the_images_of_workloads_alike_are_sorted_once(monkeypatch: pytest.MonkeyPatch):
    from checks import sidecars

    sorted_images: list[list[str]] = []

    def counting(values: Any) -> list[Any]:
        out = sorted(values)
        sorted_images.append(out)
        return out

    monkeypatch.setattr(sidecars, "sorted", counting, raising=False)
    cluster = _shop(4)
    findings = list(IstioSidecarsRemaining().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                            gate=Gate.UNINSTALL)))
    image = "docker.io/istio/proxyv2:1.22.3"
    assert [(f.name, f.evidence["images"]) for f in findings] == [
        ("solo", [image]), *[(f"web-{i}", [image]) for i in range(4)], ("bare", [image])]
    # Before: sorted for each of the 6 workloads; now once per distinct sequence of images (one pod, two pods).
    assert sorted_images == [[image], [image]]
    assert findings[0].evidence["images"] is not findings[1].evidence["images"]


def test_the_kubectl_prefix_of_a_namespace_is_made_once(monkeypatch: pytest.MonkeyPatch):
    flags: list[str] = []
    ns_flag = mesh.ns_flag

    def counted(namespace: str) -> str:
        flags.append(namespace)
        return ns_flag(namespace)

    monkeypatch.setattr(mesh, "ns_flag", counted)
    made = [deployment(f"web-{i}") for i in range(3)]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.STATEFULSET.key: [], K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in made], K.DEPLOYMENT.key: [dep for dep, _ in made],
        **read_none_of_the_other_workload_kinds()})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for dep_rs in made
                        for p in workload_pods(dep_rs, 2, proxy="asm", ready=False)]
    findings = list(AsmProxiesReady().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                     gate=Gate.UNINSTALL)))
    assert [(f.name, f.message, f.remediation.split(" describe ")[0]) for f in findings] == [
        (f"web-{i}", "2 not ready of 2 ASM-proxied pod(s)", 'kubectl --kubeconfig="${KUBECONFIG_C1:?}" -n shop')
        for i in range(3)]
    assert flags == ["shop"]  # before: once per workload not ready (3)


def test_the_command_moving_a_workload_is_built_once_for_every_check_asking(monkeypatch: pytest.MonkeyPatch):
    """restart-risk and istio-sidecars-remaining both give each workload still on Istio's sidecar the command that
    moves it (~5,000 workloads each at 50k pods): built once per workload, the same string in both findings."""
    refs: list[tuple[str, str]] = []
    object_ref = mesh.object_ref

    def counted(resource: str, name: str) -> str:
        refs.append((resource, name))
        return object_ref(resource, name)

    monkeypatch.setattr(mesh, "object_ref", counted)
    shop = deployment("once-moved", namespace="once-ns", replicas=1)
    cluster = ClusterInventory(name="once-cluster", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [shop[1]], K.DEPLOYMENT.key: [shop[0]], K.SERVICE.key: [],
        K.STATEFULSET.key: [], K.JOB.key: [], K.PDB.key: [], K.CONFIGMAP.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in workload_pods(shop, 1)]
    ctx = Context(inv=Inventory(data_planes=[cluster]), gate=Gate.UNINSTALL)
    risky = [f for f in RestartRisk().check_cluster(cluster, ctx) if f.name == "once-moved"]
    left = [f for f in IstioSidecarsRemaining().check_cluster(cluster, ctx) if f.name == "once-moved"]
    command = ('kubectl --kubeconfig="${KUBECONFIG_ONCE_CLUSTER:?}" -n once-ns patch deployment/once-moved '
               """--type='merge' -p '{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"""
               """"true"}}}}}'""")
    assert [f.remediation for f in left] == [command]
    assert [f.remediation.endswith("\nThen move it:\n" + command) for f in risky] == [True]
    assert refs == [("deployment", "once-moved")]  # one per check before


def test_a_command_for_an_unhashable_name_fails_as_before():
    with pytest.raises(TypeError, match="expected string or bytes-like object, got 'list'"):
        mesh.asm_inject_command("c1", "Deployment", "shop", ["web"])  # type: ignore[arg-type]


def _risks_of_four_apps_and_a_solo() -> list[Any]:
    """restart-risk's findings for four Deployments of 2 replicas (2 pods each) and one of 1, in one namespace."""
    apps = [deployment(f"app-{i}", replicas=2) for i in range(4)]
    solo = deployment("solo", replicas=1)
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in (*apps, solo)],
        K.DEPLOYMENT.key: [dep for dep, _ in (*apps, solo)], K.SERVICE.key: [], K.STATEFULSET.key: [], K.JOB.key: [],
        K.PDB.key: [], K.CONFIGMAP.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules())
                        for p in [*(p for app in apps for p in workload_pods(app, 2)), *workload_pods(solo, 1)]]
    return list(RestartRisk().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                 gate=Gate.MIGRATING)))


def test_workloads_showing_the_same_facts_are_scored_once(monkeypatch: pytest.MonkeyPatch):
    """restart-risk scores ~5,000 workloads at 50k pods that show a few dozen distinct facts (kind, grace and drain,
    controller shape, preStop, PodDisruptionBudget, ports): each distinct facts is scored once and its reasons and
    fixes written once, not once per workload."""
    added: list[str] = []
    add = Risk.add

    def counted(self: Risk, points: int, reason: str, fix: str = "") -> None:
        added.append(reason)
        add(self, points, reason, fix)

    monkeypatch.setattr(Risk, "add", counted)
    findings = _risks_of_four_apps_and_a_solo()
    no_prestop = "no preStop hook in the app: it may exit before endpoints stop sending traffic"
    no_pdb = "no PodDisruptionBudget: node drains during the move are not limited"
    single = "single replica: no other pod serves while it restarts"
    # Before: 2 reasons for each of the 4 apps, 3 for solo (11).
    assert added == [no_prestop, no_pdb, single, no_prestop, no_pdb]
    assert [(f.name, f.message, f.evidence["reasons"]) for f in findings[:-1]] == [
        *[(f"app-{i}", f"restart risk 2 (medium risk (score 2-4)): +1 {no_prestop}; +1 {no_pdb}",
           [f"+1 {no_prestop}", f"+1 {no_pdb}"]) for i in range(4)],
        ("solo", f"restart risk 4 (medium risk (score 2-4)): +2 {single}; +1 {no_prestop}; +1 {no_pdb}",
         [f"+2 {single}", f"+1 {no_prestop}", f"+1 {no_pdb}"])]
    assert findings[0].remediation == (
        "Add a preStop hook (e.g. sleep 5) to the app container.\nAdd a PodDisruptionBudget.\nThen move it:\n"
        "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n shop patch deployment/app-0 --type='merge' -p "
        "'{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"sidecar.asm.aliyun.com/inject\":\"true\"}}}}}'")


def test_restart_risk_finds_the_workloads_in_the_inventorys_index_without_a_scan_of_its_own():
    """gitops-drift indexes the Deployments and StatefulSets by (namespace, name) (cluster.by_namespace_and_name);
    restart-risk scanned them all again into a dict of its own (~10,000 at 50k pods). It reads the same index now."""
    apps = [deployment(f"app-{i}", replicas=1 + i % 2) for i in range(6)]
    idle = [deployment(f"idle-{i}") for i in range(4)]  # no pod: never looked up
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in (*apps, *idle)],
        K.DEPLOYMENT.key: [CountingObject(dep) for dep, _ in (*apps, *idle)], K.SERVICE.key: [],
        K.STATEFULSET.key: [], K.JOB.key: [], K.PDB.key: [], K.CONFIGMAP.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for app in apps for p in workload_pods(app, 2)]
    cluster.pods()
    assert len(cluster.by_namespace_and_name(K.DEPLOYMENT)) == 10  # as gitops-drift reads it
    CountingObject.reads = 0
    findings = list(RestartRisk().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                 gate=Gate.MIGRATING)))
    # 10 before: every Deployment's, idle ones included. Now only the 6 it reports on, each looked up in the index for
    # its remediation (rollouts.inject_command: a Knative Revision's Deployment is moved through its Service).
    assert CountingObject.reads <= len(apps)
    assert [(f.name, f.evidence["score"]) for f in findings[:-1]] == [
        ("app-0", 4), ("app-1", 2), ("app-2", 4), ("app-3", 2), ("app-4", 4), ("app-5", 2)]


def test_a_deployment_listed_twice_is_scored_by_its_last_copy_as_before():
    """A hand-made snapshot may list a Deployment twice: restart-risk reads the last copy, as its own dict did."""
    twice, rs = deployment("twice", replicas=3)
    last = {**twice, "spec": {**twice["spec"], "replicas": 1}}
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs], K.DEPLOYMENT.key: [twice, last], K.SERVICE.key: [],
        K.STATEFULSET.key: [], K.JOB.key: [], K.PDB.key: [], K.CONFIGMAP.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules()) for p in workload_pods((twice, rs), 1)]
    assert cluster.unique_index(K.DEPLOYMENT) is None
    assert cluster.get(K.DEPLOYMENT, "twice", "shop") is twice  # a lookup answers the first, as a scan would
    findings = list(RestartRisk().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                 gate=Gate.MIGRATING)))
    assert [(f.name, f.evidence["reasons"][0]) for f in findings[:-1]] == [
        ("twice", "+2 single replica: no other pod serves while it restarts")]


def test_the_commands_of_a_namespace_quote_it_once(monkeypatch: pytest.MonkeyPatch):
    """restart-risk, istio-sidecars-remaining and pods-xds-agent give ~9,000 workloads a command at 50k pods, each
    headed `kubectl --kubeconfig=... -n NAMESPACE`: the head is made once per (cluster, namespace), not the namespace
    quoted through sh() (a regex) for every command. Names unique to this test: the heads are kept per process."""
    asked: list[str] = []
    shell_safe = mesh.shell_safe

    def counted(text: str) -> bool:
        asked.append(text)
        return shell_safe(text)

    monkeypatch.setattr(mesh, "shell_safe", counted)
    commands = [mesh.asm_inject_command("heads-cluster", "Deployment", "heads-ns", f"web-{i}") for i in range(3)]
    commands += [mesh.restart_command("heads-cluster", "StatefulSet", "heads-ns", "db"),
                 mesh.quit_proxy_command("heads-cluster", "heads-ns", "job-1-x2k")]
    head = 'kubectl --kubeconfig="${KUBECONFIG_HEADS_CLUSTER:?}" -n heads-ns'
    patch = """'{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}'"""
    assert commands == [
        *(f"{head} patch deployment/web-{i} --type='merge' -p {patch}" for i in range(3)),
        f"{head} rollout restart statefulset/db",
        f"{head} exec pod/job-1-x2k -c istio-proxy -- pilot-agent request POST quitquitquit"]
    assert asked.count("heads-ns") == 1  # before: once per command (5)
    assert mesh.kubectl_in("heads-cluster", "-heads") == (
        'kubectl --kubeconfig="${KUBECONFIG_HEADS_CLUSTER:?}" --namespace=-heads')


def test_a_command_for_an_unhashable_namespace_fails_as_before():
    with pytest.raises(AttributeError, match="'list' object has no attribute 'startswith'"):
        mesh.asm_inject_command("c1", "Deployment", ["shop"], "web")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="'list' object has no attribute 'startswith'"):
        mesh.restart_command("c1", "Deployment", ["shop"], "web")  # type: ignore[arg-type]


def test_the_findings_of_the_same_facts_share_what_the_risk_says(monkeypatch: pytest.MonkeyPatch):
    """restart-risk writes ~4,000 findings at 50k pods from a few dozen distinct Risks: each Risk's outcome, params
    and texts are made once and its findings share them (one params dict, as they share the reasons list)."""
    written: list[int] = []
    texts = Risk.texts

    def counted(self: Risk) -> tuple[str, str]:
        written.append(self.score)
        return texts(self)

    monkeypatch.setattr(Risk, "texts", counted)
    findings = _risks_of_four_apps_and_a_solo()[:-1]
    assert written == [2, 4]  # before: once per finding (2, 2, 2, 2, 4)
    assert [(f.name, f.code, f.params, f.evidence["wave"]) for f in findings] == [
        *[(f"app-{i}", "AA1420", {"score": 2, "reasons": "+1 no preStop hook in the app: it may exit before "
                                  "endpoints stop sending traffic; +1 no PodDisruptionBudget: node drains during the "
                                  "move are not limited"}, 2) for i in range(4)],
        ("solo", "AA1420", {"score": 4, "reasons": "+2 single replica: no other pod serves while it restarts; +1 no "
                            "preStop hook in the app: it may exit before endpoints stop sending traffic; +1 no "
                            "PodDisruptionBudget: node drains during the move are not limited"}, 2)]
    assert len({id(f.params) for f in findings}) == 2
    assert [f.remediation.split("\nThen move it:\n")[0] for f in findings] == [
        *["Add a preStop hook (e.g. sleep 5) to the app container.\nAdd a PodDisruptionBudget."] * 4,
        "Scale to 2 or more replicas for the move.\nAdd a preStop hook (e.g. sleep 5) to the app container.\n"
        "Add a PodDisruptionBudget."]


def test_only_a_namespace_with_budgets_has_them_matched(monkeypatch: pytest.MonkeyPatch):
    """Most namespaces have no PodDisruptionBudget: their workloads are not matched against an empty list (a generator
    and any() per workload, ~5,000 at 50k pods). A namespace's budgets still decide for its own workloads."""
    from checks import restart_risk

    matched: list[int] = []

    def counted_any(values: Any) -> bool:
        found = list(values)
        matched.append(len(found))
        return True in found

    monkeypatch.setattr(restart_risk, "any", counted_any, raising=False)
    shop = [deployment(f"app-{i}") for i in range(3)]
    guarded = deployment("db", namespace="guarded")
    budget = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
              "metadata": {"name": "db", "namespace": "guarded"},
              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}}
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DAEMONSET.key: [],
        K.POD.key: [], K.REPLICASET.key: [rs for _, rs in (*shop, guarded)],
        K.DEPLOYMENT.key: [dep for dep, _ in (*shop, guarded)], K.SERVICE.key: [], K.STATEFULSET.key: [],
        K.JOB.key: [], K.PDB.key: [budget], K.CONFIGMAP.key: []})
    cluster.pod_rows = [summarise_pod(p, mesh.ProxyRules())
                        for p in [*(p for app in shop for p in workload_pods(app, 2)), *workload_pods(guarded, 2)]]
    findings = list(RestartRisk().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                 gate=Gate.MIGRATING)))
    assert matched == [1]  # before: once per workload (4), three of them over no budget
    assert [(f.namespace, f.name, f.evidence["reasons"]) for f in findings[:-1]] == [
        *[("shop", f"app-{i}", ["+1 no preStop hook in the app: it may exit before endpoints stop sending traffic",
                                "+1 no PodDisruptionBudget: node drains during the move are not limited"])
          for i in range(3)]]
    assert findings[-1].evidence["waves"][0]["list"] == ["guarded/Deployment/db (1)"]


def test_istio_sidecars_remaining_looks_workloads_up_only_among_kube_injected_ones(monkeypatch: pytest.MonkeyPatch):
    """With no kube-injected template (most clusters) no workload key is looked up (~5,000 at 50k pods)."""
    from checks import sidecars

    class Counting(dict):
        lookups = 0

        def __contains__(self, key: object) -> bool:
            Counting.lookups += 1
            return super().__contains__(key)

    injections = sidecars.manual_injections
    monkeypatch.setattr(sidecars, "manual_injections",
                        lambda cluster, rules: (Counting(injections(cluster, rules)[0]), {}))
    cluster = _cluster()
    findings = list(IstioSidecarsRemaining().check_cluster(cluster, Context(inv=Inventory(data_planes=[cluster]),
                                                                            gate=Gate.UNINSTALL)))
    assert [(f.code, f.namespace, f.name) for f in findings] == [
        ("AA1210", "a-shop", "cart"), ("AA1210", "shop", "web"), ("AA1210", "shop", "solo")]
    assert Counting.lookups == 0  # before: 3
