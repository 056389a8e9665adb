"""The shared helpers' work per object or per workload (issue 18), counted in calls, never timed.

At 50k pods the gateway scan walks ~9,500 Deployments per cluster (a question asked twice per Deployment is ~9,500
calls too many), and the pod checks group ~5,000 workloads per call of workload_groups (8 calls per audit).
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd
import pytest

from auditor import gateways, istio, labelled, mesh
from auditor import kinds as K
from auditor.config import GatewaysConfig
from auditor.inventory import ClusterInventory, workload_groups
from checks import topology
from tests import factory as f


def app_deployment(name: str, namespace: str) -> dict[str, Any]:
    # Shape of a plain application Deployment (no istio-proxy in its template, no gateway label or name).
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {"replicas": 2, "template": {
                "metadata": {"labels": {"app": name, "version": "v1"}},
                "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{name}:1.0"}]}}}}


def ingress_gateway() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system",
                         "labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
            "spec": {"template": {
                "metadata": {"labels": {"app": "istio-ingressgateway", "istio": "ingressgateway"}},
                "spec": {"containers": [{"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.3",
                                         "args": ["proxy", "router"]}]}}}}


def test_gateway_scan_asks_each_deployments_stated_role_once(monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    stated_type = gateways._stated_type

    def counting(labels: dict[str, str], name: str, roles_by_name: dict[str, str]) -> str | None:
        calls.append(name)
        return stated_type(labels, name, roles_by_name)

    monkeypatch.setattr(gateways, "_stated_type", counting)
    apps = [app_deployment(f"app-{i}", f"team-{i % 7}") for i in range(40)]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [*apps, ingress_gateway()]})
    found = gateways.gateway_workloads(cluster, mesh.ProxyRules(), GatewaysConfig())
    assert [(g.type, g.namespace, g.name, g.asm) for g in found] == [
        ("ingress", "istio-system", "istio-ingressgateway", False)]
    # Once per Deployment, of its merged labels; the code before asked each app Deployment twice (its own labels,
    # then its template's) before skipping it: 81 calls.
    assert len(calls) == 41
    assert sorted(set(calls)) == sorted([f"app-{i}" for i in range(40)] + ["istio-ingressgateway"])


def test_workload_groups_read_each_workloads_key_from_the_sorted_codes(monkeypatch: pytest.MonkeyPatch):
    takes: list[int] = []
    take = pd.Series.take

    def counting(self: pd.Series, indices: Any, *args: Any, **kwargs: Any) -> pd.Series:
        takes.append(len(indices))
        return take(self, indices, *args, **kwargs)

    monkeypatch.setattr(pd.Series, "take", counting)
    # Categories deliberately not in text order; workload_name as text (not categorical): both kinds of key column.
    frame = pd.DataFrame({
        "namespace": pd.Categorical(["b", "a", "b", "a", "b", "a"], categories=["b", "a", "unused"]),
        "workload_kind": pd.Categorical(["Job", "Deployment", "Deployment", "Deployment", "Job", "Pod"]),
        "workload_name": pd.array(["x", "y", "x", "y", "x", "solo"], dtype="str"),
        "name": pd.array(["x-2", "y-1", "x-9", "y-0", "x-1", "solo"], dtype="str"),
    })
    for by_pod_name in (True, False):
        keys, order, starts = workload_groups(frame, by_pod_name=by_pod_name)
        assert keys == [("b", "Deployment", "x"), ("b", "Job", "x"), ("a", "Deployment", "y"), ("a", "Pod", "solo")]
        assert [type(value) for key in keys for value in key] == [str] * 12
        assert starts.tolist() == [0, 1, 3, 5, 6]
    assert order.tolist() == [2, 0, 4, 1, 3, 5]  # by_pod_name=False: rows in frame order within a workload
    # The code before took each key column at the workloads' first rows and listed it: 3 takes per call.
    assert takes == []


def kube_injected(name: str, namespace: str) -> dict[str, Any]:
    # An application Deployment rendered with `istioctl kube-inject`: Istio's sidecar baked into its template.
    dep = app_deployment(name, namespace)
    template = dep["spec"]["template"]
    template["metadata"]["annotations"] = {"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'}
    template["spec"]["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.3",
                                           "args": ["proxy", "sidecar"]})
    return dep


def test_deployment_templates_are_walked_once_for_the_gateway_scan_and_manual_injections(
        monkeypatch: pytest.MonkeyPatch):
    walked: list[int] = []
    find_proxy_container = mesh.find_proxy_container

    def counting(spec: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        walked.append(id(spec))
        return find_proxy_container(spec)

    monkeypatch.setattr(mesh, "find_proxy_container", counting)
    apps = [app_deployment(f"app-{i}", f"team-{i % 7}") for i in range(40)]
    deployments = [*apps, kube_injected("baked", "team-9"), ingress_gateway()]
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments, K.DAEMONSET.key: []})
    rules = mesh.ProxyRules()
    found = gateways.gateway_workloads(cluster, rules, GatewaysConfig())
    assert [(g.type, g.namespace, g.name) for g in found] == [("ingress", "istio-system", "istio-ingressgateway")]
    injected, missing = istio.manual_injections(cluster, rules, (K.DEPLOYMENT, K.DAEMONSET))
    assert injected == {("team-9", "Deployment", "baked"): istio.TemplateInjection(
        container=True, status_annotation=True, native=False, image="docker.io/istio/proxyv2:1.22.3",
        xds_agent="<absent>")}
    assert missing == {}
    # Each template's istio-proxy looked for once (42 Deployments); the code before walked the Deployments again for
    # the manual injections: 84.
    assert len(walked) == 42


def test_manual_injections_answer_alike_asked_before_or_after_the_gateway_scan():
    def answers(gateways_first: bool) -> tuple[Any, ...]:
        deployments = [app_deployment("app", "team-1"), kube_injected("baked", "team-2"), ingress_gateway()]
        statefulsets = [{**kube_injected("db", "team-3"), "kind": "StatefulSet"}]
        cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments,
                                                               K.STATEFULSET.key: statefulsets},
                                   errors={K.DAEMONSET.key: "forbidden"})
        rules = mesh.ProxyRules()
        if gateways_first:
            scanned = gateways.gateway_workloads(cluster, rules, GatewaysConfig())
        injected = istio.manual_injections(cluster, rules)
        if not gateways_first:
            scanned = gateways.gateway_workloads(cluster, rules, GatewaysConfig())
        return [(g.type, g.name) for g in scanned], list(injected[0]), injected[1]

    assert answers(True) == answers(False) == (
        [("ingress", "istio-ingressgateway")],
        [("team-2", "Deployment", "baked"), ("team-3", "StatefulSet", "db")],
        {"DaemonSet": "forbidden", "CronJob": "not collected", "Job": "not collected", "ReplicaSet": "not collected",
         "ReplicationController": "not collected", "CloneSet": "not collected",
         "StatefulSet.apps.kruise.io": "not collected", "DaemonSet.apps.kruise.io": "not collected"})


def test_a_template_the_gateway_scan_cannot_judge_for_manual_injections_is_left_to_their_own_walk():
    broken = kube_injected("baked", "team-2")
    broken["spec"]["template"]["spec"]["containers"][1]["env"] = ["not-a-mapping"]  # malformed: not shape-checked
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [broken, ingress_gateway()]})
    rules = mesh.ProxyRules()
    found = gateways.gateway_workloads(cluster, rules, GatewaysConfig())
    assert [g.name for g in found] == ["istio-ingressgateway"]  # the gateway scan answers as it always did
    with pytest.raises(AttributeError):
        istio.manual_injections(cluster, rules)  # and manual_injections meets the error it always met


def test_the_istio_operator_rule_runs_no_generator_per_deployment():
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    apps = [app_deployment(f"app-{i}", f"team-{i}") for i in range(30)]
    answers = []
    sys.setprofile(profile)
    try:
        for dep in apps:
            answers.append(mesh.is_istio_operator(dep))
    finally:
        sys.setprofile(None)
    assert answers == [False] * 30
    # One frame per Deployment; the code before resumed a generator over the label maps and keys: 5 more each.
    assert calls == ["is_istio_operator"] * 30


class CountedWalks(list):
    """A kind's objects that count the walks over them (each `for` over the list is one)."""

    walks = 0

    def __iter__(self) -> Any:
        self.walks += 1
        return super().__iter__()


def test_the_gateway_scan_finds_the_istio_operator_and_waypoints_so_their_readers_walk_no_deployment_again():
    operator = f.istio_operator_deployment(revision="1-22-3")
    waypoint = app_deployment("waypoint", "team-3")
    waypoint["metadata"]["labels"]["gateway.networking.k8s.io/gateway-class-name"] = "istio-waypoint"
    deployments = CountedWalks([*(app_deployment(f"app-{i}", f"team-{i % 7}") for i in range(40)), operator,
                                waypoint, ingress_gateway()])
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments, K.DAEMONSET.key: [],
                                                           K.NAMESPACE.key: []})
    found = gateways.gateway_workloads(cluster, mesh.ProxyRules(), GatewaysConfig())
    assert [g.name for g in found] == ["istio-ingressgateway"]
    assert deployments.walks == 1
    for _ in range(2):
        assert [d["metadata"]["name"] for d in cluster.istio_operator_deployments()] == ["istio-operator-1-22-3"]
        assert topology.ambient_signals(cluster) == ["Deployment team-3/waypoint (waypoint proxy)"]
    # One walk for the gateways, the istio-operator and the waypoints; before, istio_operator_deployments walked them
    # again, and ambient-mode each time it was asked: 4.
    assert deployments.walks == 1


def test_the_deployment_views_walk_by_themselves_without_a_gateway_scan():
    waypoint = app_deployment("waypoint", "team-3")
    waypoint["metadata"]["labels"]["gateway.networking.k8s.io/gateway-class-name"] = "istio-waypoint"
    deployments = CountedWalks([app_deployment("app", "team-1"), f.istio_operator_deployment(), waypoint])
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments})
    assert [d["metadata"]["name"] for d in cluster.waypoint_deployments()] == ["waypoint"]
    assert [d["metadata"]["name"] for d in cluster.istio_operator_deployments()] == ["istio-operator"]
    assert deployments.walks == 2
    cluster.waypoint_deployments(), cluster.istio_operator_deployments()
    assert deployments.walks == 2  # memoised


def test_the_istio_operator_rule_raising_in_the_gateway_scan_is_left_to_its_own_walk(monkeypatch: pytest.MonkeyPatch):
    is_operator = mesh.is_istio_operator

    def failing(dep: dict[str, Any]) -> bool:
        if dep["metadata"]["name"] == "odd":
            raise KeyError("odd")
        return is_operator(dep)

    monkeypatch.setattr(mesh, "is_istio_operator", failing)
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [
        app_deployment("odd", "team-1"), f.istio_operator_deployment(), ingress_gateway()]})
    found = gateways.gateway_workloads(cluster, mesh.ProxyRules(), GatewaysConfig())
    assert [g.name for g in found] == ["istio-ingressgateway"]  # the gateway scan answers as it always did
    with pytest.raises(KeyError, match="odd"):
        cluster.istio_operator_deployments()  # and the operator's readers meet the error they always met
    assert cluster.waypoint_deployments() == []  # walked by itself: nothing the failed walk found is taken


def test_eastwest_signals_and_gateway_services_walk_the_services_once():
    front = f.service("istio-ingressgateway", "istio-system")
    front["spec"]["selector"] = {"istio": "ingressgateway"}
    network = f.service("cross-network", "istio-system", labels={"topology.istio.io/network": "net-1"},
                        ports=[{"name": "tls", "port": 15443}])
    services = CountedWalks([*(f.service(f"app-{i}", f"team-{i % 7}") for i in range(30)), front, network])
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [ingress_gateway()],
                                                           K.SERVICE.key: services})
    rules, names = mesh.ProxyRules(), GatewaysConfig()
    for _ in range(2):
        assert gateways.eastwest_signals(cluster, rules, names) == [
            "Service istio-system/cross-network (network net-1, port 15443)"]
        assert [(s.namespace, s.name, s.gateway.name) for s in gateways.gateway_services(cluster, rules, names)] == [
            ("istio-system", "istio-ingressgateway", "istio-ingressgateway")]
    # One walk of the Services for both, and the istiod Services' owners' (the gateway scan classifies the gateway's
    # proxy); before, one each: 3.
    assert services.walks == 2


class CountedLookups(dict):
    """A label map that counts the lookups (get) made in it."""

    gets = 0

    def get(self, key: Any, default: Any = None) -> Any:
        CountedLookups.gets += 1
        return super().get(key, default)


def test_the_gateway_scan_looks_up_no_operator_label_of_a_deployment_carrying_none():
    deployments = [app_deployment(f"app-{i}", f"team-{i % 7}") for i in range(40)]
    deployments.append(ingress_gateway())
    for dep in deployments:
        dep["metadata"]["labels"] = CountedLookups(dep["metadata"]["labels"])
        dep["spec"]["template"]["metadata"]["labels"] = CountedLookups(dep["spec"]["template"]["metadata"]["labels"])
    CountedLookups.gets = 0
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments})
    found = gateways.gateway_workloads(cluster, mesh.ProxyRules(), GatewaysConfig())
    assert [(g.type, g.name, g.installed_by) for g in found] == [("ingress", "istio-ingressgateway", "other")]
    assert [d["metadata"]["name"] for d in cluster.istio_operator_deployments()] == []
    # Two lookups, for the gateway's install labels (_installed_by); the waypoint rule (mesh.is_waypoint_workload)
    # reads the scan's merged label map, not these. Before, one more per Deployment (the waypoint's class in its own
    # labels): 43; and before that both istio-operator labels in both label maps of every Deployment
    # (mesh.is_istio_operator): 4 more each, 207.
    assert CountedLookups.gets == 2


class ReadLog(dict):
    """An API object that logs each read of its metadata (into `log`, by the object's name)."""

    log: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        if key == "metadata":
            ReadLog.log.append(dict.__getitem__(self, "metadata")["name"])
        return super().get(key, default)


def logged_deployments(count: int) -> list[dict[str, Any]]:
    # ~1 in 100 an istiod (label app=istiod), ~1 in 50 carrying operator.istio.io/component, as a cluster lists them.
    deployments = []
    for i in range(count):
        dep = f.istiod(revision=f"r{i}") if i % 100 == 7 else app_deployment(f"app-{i}", f"team-{i % 7}")
        if i % 50 == 3:
            dep["metadata"]["labels"]["operator.istio.io/component"] = "Pilot"
        dep["metadata"]["name"] = f"dep-{i}"
        deployments.append(ReadLog(dep))
    return deployments


def test_the_deployments_metadata_views_read_each_deployment_in_one_walk(monkeypatch: pytest.MonkeyPatch):
    """istiod_deployments (the pod frame's proxy classification), the name index (restart-risk, gitops-drift) and
    labelled.py's walk (gitops-drift, purge-preview) each read every Deployment's metadata in a walk of its own: at
    50k pods ~9,500 Deployments read cold three times. Now istiod_deployments, which every audit asks first, builds
    all three in one walk, each Deployment read by the three views while it is still in cache."""
    monkeypatch.setattr(ReadLog, "log", [])
    deployments = logged_deployments(2000)
    cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments})
    assert [d["metadata"]["name"] for d in cluster.istiod_deployments()] == [f"dep-{i}" for i in range(7, 2000, 100)]
    assert cluster.get(K.DEPLOYMENT, "dep-1999", "team-4") is deployments[1999]
    assert cluster.get(K.DEPLOYMENT, "dep-1999", "team-5") is None
    assert [d["metadata"]["name"] for d in labelled.carrying_label(cluster, K.DEPLOYMENT, labelled.COMPONENT_LABEL)
            ] == sorted({f"dep-{i}" for i in range(2000) if i % 100 == 7 or i % 50 == 3}, key=lambda n: int(n[4:]))
    log = ReadLog.log
    assert len(log) == 3 * 2000  # each view reads each Deployment's metadata once, as before
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for position, name in enumerate(log):
        first.setdefault(name, position)
        last[name] = position
    # Between the first view's read of a Deployment and the last view's, fewer reads than one walk of the kind (the
    # views read pieces of 256 in turn): the code before walked all 2,000 twice in between (4,000 reads).
    assert max(last[name] - first[name] for name in first) < 2000


def test_each_deployment_view_answers_alike_whichever_is_asked_first():
    def answers(first: str) -> tuple[Any, ...]:
        deployments = [ReadLog(dep) for dep in logged_deployments(600)]
        cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments})
        asks = {"istiod": lambda: [d["metadata"]["name"] for d in cluster.istiod_deployments()],
                "index": lambda: (cluster.get(K.DEPLOYMENT, "dep-507") is deployments[507],
                                  len(cluster.by_namespace_and_name(K.DEPLOYMENT)),
                                  cluster.unique_index(K.DEPLOYMENT) is not None),
                "labelled": lambda: [d["metadata"]["name"] for d in labelled.carrying_label(
                    cluster, K.DEPLOYMENT, labelled.COMPONENT_LABEL)]}
        got = {name: asks[name]() for name in (first, *(n for n in asks if n != first))}
        cluster.forget()  # the memo emptied (the collector added a kind): asked again, the same answers
        return got, {name: ask() for name, ask in asks.items()}

    istiods = [f"dep-{i}" for i in range(7, 600, 100)]
    component = [f"dep-{i}" for i in range(600) if i % 100 == 7 or i % 50 == 3]
    expected = {"istiod": istiods, "index": (True, 600, True), "labelled": component}
    for first in ("istiod", "index", "labelled"):
        got, again = answers(first)
        assert got == again == expected


def test_a_deployment_view_whose_walk_raises_is_left_to_its_own_walk():
    # Malformed (a live answer no shape check refused): labels not a mapping. The name index does not read labels;
    # istiod_deployments and labelled.py's walk meet the errors they always met, each in its own walk.
    odd = app_deployment("odd", "team-1")
    odd["metadata"]["labels"] = 5
    deployments = [app_deployment(f"app-{i}", "team-1") for i in range(300)] + [odd, f.istiod()]
    for first in ("istiod", "index", "labelled"):
        cluster = ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: deployments})
        if first == "index":
            assert cluster.get(K.DEPLOYMENT, "odd", "team-1") is odd
        with pytest.raises(AttributeError, match="'int' object has no attribute 'get'"):
            cluster.istiod_deployments()
        with pytest.raises(TypeError, match="'int' object is not iterable"):
            labelled.carrying_label(cluster, K.DEPLOYMENT, labelled.COMPONENT_LABEL)
        assert cluster.get(K.DEPLOYMENT, "istiod", "istio-system") is deployments[-1]
        assert cluster.unique_index(K.DEPLOYMENT) is not None
