"""The fast pod decoding (auditor.podwire) must summarise every pod exactly as the full parse does."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import msgspec
import orjson
import pytest

from auditor import kinds as K
from auditor import mesh, podwire
from auditor.errors import UsageError
from auditor.inventory import POD_COLUMNS, PodSummaries, slim, summarise_pod, summarise_pods
from auditor.sources.snapshot import read_object_file
from bench.generate import Workload, pods_of
from tests import factory as f

RULES = mesh.ProxyRules()


def varied_pods() -> list[dict]:
    """Pods exercising every field the summary reads: proxies, owners, probes, drain, ports, statuses."""
    rng = random.Random(3)
    pods = [
        f.pod("a-1", proxy="istio", native=True, owner=("ReplicaSet", "a-5d8f7c9b6"), restarts=3, prestop=True),
        f.pod("b-1", proxy="istio", xds_agent=None, ports=[{"containerPort": 50051, "name": "grpc-api"}]),
        f.pod("b-2", proxy="istio", xds_agent="false", phase="Pending", ready=False, grace=None),
        f.pod("c-1", proxy="asm", owner=("Job", "c-28391"), proxy_env={"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "true"}),
        f.pod("gw-1", "istio-system", proxy="istio", gateway=True, labels={"istio": "ingressgateway"}),
        f.pod("d-1", proxy=None, owner=("StatefulSet", "d")),
        f.pod("e-1", proxy="istio", annotations={"proxy.istio.io/config": "terminationDrainDuration: 45s\n",
                                                  "istio.io/rev": "canary"},
              labels={"app": "e", "sidecar.asm.aliyun.com/inject": "true"}),
        f.pod("e-2", proxy="istio", annotations={"proxy.istio.io/config": "terminationDrainDuration: [oops"}),
        f.pod("e-3", proxy="istio", image="mirror.example.com/acs/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun"),
        f.job_pod("j-1", "shop", "j"),  # app terminated, classic istio-proxy still running: held_by_proxy
    ]
    for proxy, native in (("istio", False), ("istio", True), ("asm", True), ("none", False)):
        w = Workload("Deployment", "team-1", f"svc-{proxy}-{native}", 3, proxy, native, 0.5, proxy == "asm", rng)
        pods.extend({"apiVersion": "v1", "kind": "Pod", **p} for p in pods_of(w, rng))
    w = Workload("CronJob", "team-2", "nightly", 2, "istio", False, 1.0, False, rng)
    pods.extend({"apiVersion": "v1", "kind": "Pod", **p} for p in pods_of(w, rng))
    return pods


def test_decoded_pods_summarise_exactly_like_full_pods():
    pods = varied_pods()
    body = orjson.dumps({"apiVersion": "v1", "kind": "PodList", "metadata": {"continue": "tok", "resourceVersion": "9"},
                         "items": pods})
    answer = podwire.decode_pod_list(body)
    assert isinstance(answer, podwire.CheckedPodList)
    assert sorted(answer) == ["apiVersion", "items", "kind", "metadata"]  # only the keys the JSON has
    assert answer["metadata"] == {"continue": "tok", "resourceVersion": "9"}
    assert len(answer["items"]) == 24
    for full, reduced in zip(pods, answer["items"], strict=True):
        # Structs, read by attribute (inventory.summarise_pods), not dicts for the slower dict reader.
        assert type(reduced) is podwire.Pod
        assert summarise_pod(reduced, RULES) == summarise_pod(full, RULES)
        # What is skipped really is skipped: the reduced pod declares none of the rest.
        assert not hasattr(reduced.spec, "volumes")


def test_live_page_items_without_kind_are_pod_structs_and_a_status_keeps_its_message():
    pod = f.pod("x-1")
    item = {k: v for k, v in pod.items() if k not in ("apiVersion", "kind")}
    body = orjson.dumps({"kind": "PodList", "metadata": {"continue": "c2", "remainingItemCount": 40},
                         "items": [item]})
    answer = podwire.decode_pod_list(body)
    assert answer["metadata"] == {"continue": "c2", "remainingItemCount": 40}
    [decoded] = answer["items"]
    assert type(decoded) is podwire.Pod and decoded.kind is msgspec.UNSET
    assert summarise_pod(decoded, RULES) == summarise_pod(pod, RULES)
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
              "message": "too old resource version", "code": 410}
    assert podwire.decode_pod_list(orjson.dumps(status)) == {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
        "message": "too old resource version"}
    # null where the list has a string or a list: refused, parsed whole (as before the Structs).
    for odd in ({"kind": "PodList", "items": None}, {"kind": None, "items": []}, {"kind": "PodList", "metadata": None},
                {"kind": "PodList", "items": [{**item, "kind": None}]}):
        answer = podwire.decode_pod_list(orjson.dumps(odd))
        assert type(answer) is dict and answer == odd


def test_snapshot_list_reduced_pods_and_whole_other_objects(tmp_path: Path):
    pods = varied_pods()
    dep, rs = f.deployment("cart")
    path = tmp_path / "mixed.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [dep, *pods, rs]}))
    full = list(read_object_file(path))
    fast = list(read_object_file(path, reduce=True))
    assert [o["kind"] for o in fast] == [o["kind"] for o in full]
    assert fast[0] == dep  # other kinds are parsed whole
    assert slim(K.REPLICASET, fast[-1]) == slim(K.REPLICASET, rs) and "spec" not in fast[-1]  # owned: reduced
    # The fast path really is taken for a mixed file (it once fell back whole on every non-pod item).
    assert podwire.reduced_list(path.read_bytes()) is not None
    for a, b in zip(full[1:-1], fast[1:-1], strict=True):
        assert summarise_pod(b, RULES) == summarise_pod(a, RULES)


def test_a_file_of_pods_only_is_decoded_in_one_pass_with_the_same_summaries(tmp_path: Path):
    pods = varied_pods()
    path = tmp_path / "pods.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    one_pass = podwire._pod_file(path.read_bytes())
    assert one_pass is not None and len(one_pass["items"]) == 24
    full = list(read_object_file(path))
    fast = list(read_object_file(path, reduce=True))
    assert [o["metadata"]["name"] for o in fast] == [o["metadata"]["name"] for o in full]
    for a, b in zip(full, fast, strict=True):
        assert summarise_pod(b, RULES) == summarise_pod(a, RULES)
    # A file holding another kind is not a pod file: it takes the item-by-item path.
    dep, _rs = f.deployment("cart")
    assert podwire._pod_file(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [*pods, dep]})) is None
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"containers": []}}
    assert podwire._pod_file(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [service]})) is None


def test_typed_podlist_items_without_kind_are_pods(tmp_path: Path):
    pod = f.pod("x-1")
    item = {k: v for k, v in pod.items() if k not in ("apiVersion", "kind")}
    path = tmp_path / "pods.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": [item]}))
    (obj,) = read_object_file(path, reduce=True)
    assert obj["kind"] == "Pod" and summarise_pod(obj, RULES) == summarise_pod(pod, RULES)


def test_typed_replicasetlist_items_without_kind_are_replicasets(tmp_path: Path):
    """Items of a typed List may omit their kind: the one-pass file of owned ReplicaSets gives them the List's, as
    the full parse does (they are not taken for a List of one kind as they are)."""
    rs, old_rs = owner_objects()[:2]
    items = [{k: v for k, v in obj.items() if k != "kind"} for obj in (rs, old_rs)]
    path = tmp_path / "replicasets.json"
    path.write_bytes(orjson.dumps({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "items": items}))
    fast = list(read_object_file(path, reduce=True))
    full = list(read_object_file(path))
    assert [obj["kind"] for obj in fast] == ["ReplicaSet", "ReplicaSet"]
    assert [slim(K.REPLICASET, obj) for obj in fast] == [slim(K.REPLICASET, obj) for obj in full]


@pytest.mark.parametrize("mutate", [
    lambda p: p["metadata"].__setitem__("labels", {"app": 5}),
    lambda p: p["metadata"].__setitem__("ownerReferences", [{"kind": "ReplicaSet"}]),
    lambda p: p["metadata"].pop("name"),
    lambda p: p["metadata"].__setitem__("managedFields", ["not-an-object"]),
    lambda p: p["spec"]["containers"][-1]["env"][2].__setitem__("valueFrom", "not-an-object"),
    lambda p: p["spec"]["containers"][-1].__setitem__("command", "not-a-list"),
])
def test_malformed_pods_meet_the_usual_errors(tmp_path: Path, mutate):
    pod = f.pod("bad-1")
    mutate(pod)
    assert_usual_error(tmp_path / "pods.json", pod)


def assert_usual_error(path: Path, *objects: dict) -> None:
    """Anything the fast path refuses is read the usual way, so the usual error names the file."""
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    with pytest.raises(UsageError) as full_error:
        list(read_object_file(path))
    with pytest.raises(UsageError) as fast_error:
        list(read_object_file(path, reduce=True))
    assert str(fast_error.value) == str(full_error.value)
    assert str(path) in str(fast_error.value)


APP_ENV = [{"name": "LOG_LEVEL", "value": "info"},
           {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}]


def workload_with_app_env(count: int, native: bool = False) -> list[dict]:
    """Pods of one ReplicaSet listed together, the env of their app and of their proxy the same in each (as the pods
    of a workload have them)."""
    pods = [f.pod(f"cart-5d8f7c9b6-{i}", owner=("ReplicaSet", "cart-5d8f7c9b6"), native=native) for i in range(count)]
    for pod in pods:
        pod["spec"]["containers"][0]["env"] = copy.deepcopy(APP_ENV)
    return pods


def assert_refused_after_fitting_pods(tmp_path: Path, pods: list[dict], container: str, key: str,
                                      value: object) -> None:
    """Three pods of a workload, the 2nd's `container` given `value` as its `key`: the 1st and 3rd decode as Structs
    (with the summaries of the full parse), all three do not; a file of them takes the dict path, where the usual
    error names the problem, and a live page of them is parsed whole (and shape-checked)."""
    spec = pods[1]["spec"]
    [bad] = [c for c in (*spec["containers"], *spec.get("initContainers", ())) if c["name"] == container]
    bad[key] = value
    fitting = [pods[0], pods[2]]
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": fitting}))
    assert structs is not None
    assert [summarise_pod(pod, RULES) for pod in structs] == [summarise_pod(pod, RULES) for pod in fitting]
    assert podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods})) is None
    body = orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": pods})
    answer = podwire.decode_pod_list(body)
    assert not isinstance(answer, podwire.CheckedPodList) and answer == orjson.loads(body)
    assert_usual_error(tmp_path / "pods.json", *pods)


@pytest.mark.parametrize("native", [False, True], ids=["classic", "native"])
@pytest.mark.parametrize(("container", "env"), [
    ("app", [APP_ENV[0], {"name": "POD_IP", "value": 5}]),
    ("app", [APP_ENV[0], {"name": "POD_IP", "valueFrom": "status.podIP"}]),
    ("app", [APP_ENV[0], {"value": "10.0.0.10"}]),
    ("app", [APP_ENV[0], None]),
    ("app", {"LOG_LEVEL": "info"}),
    ("istio-proxy", [{"name": "CA_ADDR", "value": ["istiod.istio-system.svc:15012"]}]),
], ids=["int-value", "str-valueFrom", "no-name", "null-item", "not-a-list", "proxy-list-value"])
def test_a_malformed_env_after_a_fitting_one_is_refused(tmp_path: Path, container: str, env: object, native: bool):
    """The 2nd pod of a workload with an env that does not fit, after a 1st pod whose env (of the container of the same
    name) fits: an env is checked once per distinct bytes, never skipped for its container's name. A file takes the
    dict path, where the usual error names the problem; a live page is parsed whole (and shape-checked)."""
    assert_refused_after_fitting_pods(tmp_path, workload_with_app_env(3, native), container, "env", env)


def test_a_pod_s_env_is_read_as_before():
    """A container's env kept as its JSON reads the same: absent, null, empty and set envs, equal or not to the env of
    the pod before, give the summary of the full parse, pod by pod and as a page (whose envs were decoded to check
    them)."""
    pods = workload_with_app_env(6)
    pods[1]["spec"]["containers"][1]["env"] = None
    del pods[2]["spec"]["containers"][1]["env"]
    pods[3]["spec"]["containers"][1]["env"] = []
    pods[4]["spec"]["containers"][1]["env"].append({"name": "CA_ADDR", "value": "istiod-1-24.istio-system.svc:15012"})
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert structs is not None
    assert [bytes(pod.spec.containers[0].env) for pod in structs] == [orjson.dumps(APP_ENV)] * 6
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, RULES), strict=True)) for pod in structs]
    assert [row["ca_service"] for row in rows] == ["istio-system/istiod", "", "", "", "istio-system/istiod-1-24",
                                                   "istio-system/istiod"]
    assert [summarise_pod(pod, RULES) for pod in structs] == [summarise_pod(pod, RULES) for pod in pods]
    page = PodSummaries.empty()
    summarise_pods(structs, RULES, page)
    assert page.whole_rows() == [summarise_pod(pod, RULES) for pod in pods]


@pytest.mark.parametrize("native", [False, True], ids=["classic", "native"])
@pytest.mark.parametrize(("container", "key", "value"), [
    ("istio-proxy", "args", "proxy sidecar"),
    ("istio-proxy", "args", ["proxy", 5]),
    ("istio-proxy", "args", ["proxy", None]),
    ("istio-proxy", "command", {"0": "pilot-agent"}),
    ("app", "command", ["/cart", ["--port"]]),
    ("app", "args", [True]),
], ids=["args-text", "args-int", "args-null-item", "command-object", "command-nested", "app-args-bool"])
def test_malformed_args_after_fitting_ones_are_refused(tmp_path: Path, container: str, key: str, value: object,
                                                       native: bool):
    """The 2nd pod of a workload with args or a command that do not fit, after a 1st pod whose (of the container of the
    same name) fit: they are checked once per distinct bytes, as an env is, never skipped. A file takes the dict path,
    where the usual error names the problem; a live page is parsed whole (and shape-checked)."""
    pods = workload_with_app_env(3, native)
    for pod in pods:
        for c in (*pod["spec"]["containers"], *pod["spec"].get("initContainers", ())):
            c.setdefault("command", ["/bin/run"])
    assert_refused_after_fitting_pods(tmp_path, pods, container, key, value)


def test_malformed_answers_fall_back_to_the_full_parse():
    body = orjson.dumps({"kind": "PodList", "items": [{"metadata": {"name": "p", "labels": {"a": 1}}}]})
    assert podwire.decode_pod_list(body) == orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        podwire.decode_pod_list(b'{"kind": "PodList", "items": [')


# ---------------------------------------------------------------- ReplicaSets and Jobs
def owner_objects() -> list[dict]:
    """Owned and ownerless ReplicaSets and Jobs, as the API server returns them."""
    dep, rs = f.deployment("cart", template_annotations={"sidecar.istio.io/inject": "true"})
    rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "4",
                                     "deployment.kubernetes.io/desired-replicas": "2"}
    rs["metadata"]["managedFields"] = [{"manager": "kube-controller-manager", "operation": "Update",
                                        "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:status": {"f:replicas": {}}}}]
    rs["status"].update(readyReplicas=2, availableReplicas=2, fullyLabeledReplicas=2, observedGeneration=3)
    old_rs = orjson.loads(orjson.dumps(rs))
    old_rs["metadata"]["name"] = "cart-7c9d8f6b54"
    old_rs["spec"]["replicas"] = 0
    old_rs["status"] = {"replicas": 0, "observedGeneration": 2}
    orphan_rs = orjson.loads(orjson.dumps(rs))
    orphan_rs["metadata"]["name"] = "legacy-frontend-5f7b9c"
    del orphan_rs["metadata"]["ownerReferences"]
    template = dep["spec"]["template"]
    cron_job = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": f.meta("nightly-29391840", "shop", {"app": "nightly"}, ownerReferences=[
                    {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "0c5e7a7e-cron",
                     "controller": True, "blockOwnerDeletion": True}]),
                "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": template},
                "status": {"startTime": f.T0, "completionTime": f.T0, "succeeded": 1, "ready": 0}}
    standalone_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("db-migrate", "shop"),
                      "spec": {"backoffLimit": 2, "template": template}, "status": {"active": 1, "failed": 1}}
    return [rs, old_rs, orphan_rs, cron_job, standalone_job]


def foreign_owned_objects() -> list[dict]:
    """A ReplicaSet and a Job owned by kinds whose template is not read (argoproj/argo-rollouts@v1.9.1:rollout/sync.go,
    kedacore/keda@v2.20.2:pkg/scaling/executor/scale_jobs.go): kept whole, their templates are their pods' only."""
    rs, _, _, cron_job, _ = owner_objects()
    rollout_rs = orjson.loads(orjson.dumps(rs))
    rollout_rs["metadata"]["name"] = "checkout-6b9f7d8c5"
    rollout_rs["metadata"]["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                                  "name": "checkout", "uid": "9a1f-rollout", "controller": True,
                                                  "blockOwnerDeletion": True}]
    scaled_job = orjson.loads(orjson.dumps(cron_job))
    scaled_job["metadata"]["name"] = "queue-worker-x7b2k"
    scaled_job["metadata"]["ownerReferences"] = [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
                                                  "name": "queue-worker", "uid": "4e2d-scaledjob", "controller": True,
                                                  "blockOwnerDeletion": True}]
    return [rollout_rs, scaled_job]


def _judged_through_owner(obj: dict) -> bool:
    return any(ref["kind"] in ("Deployment", "CronJob") for ref in obj["metadata"].get("ownerReferences") or ())


def test_owned_replicasets_and_jobs_decode_to_what_slim_keeps():
    objects = owner_objects() + foreign_owned_objects()
    for kind in ("ReplicaSet", "Job"):
        full_items = [o for o in objects if o["kind"] == kind]
        # The API server's typed lists omit kind and apiVersion on items.
        items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in full_items]
        body = orjson.dumps({"apiVersion": full_items[0]["apiVersion"], "kind": f"{kind}List",
                             "metadata": {"continue": "next-page", "resourceVersion": "77"}, "items": items})
        answer = podwire.decode_owned_list(body)
        assert answer["metadata"]["continue"] == "next-page"
        kind_obj = K.kind_of(full_items[0])
        for full, reduced in zip(items, answer["items"], strict=True):
            assert slim(kind_obj, reduced) == slim(kind_obj, orjson.loads(orjson.dumps(full)))
            # A Deployment's or CronJob's: the template (nearly all the bytes) is skipped; ownerless or of another
            # owner: kept whole for its checks.
            assert ("spec" in reduced) == (not _judged_through_owner(full))
            assert ("spec" in slim(kind_obj, reduced)) == (not _judged_through_owner(full))


def test_snapshot_list_reduces_owned_objects_only(tmp_path: Path):
    objects = owner_objects() + foreign_owned_objects()
    path = tmp_path / "owners.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    full = list(read_object_file(path))
    fast = list(read_object_file(path, reduce=True))
    assert [o["metadata"]["name"] for o in fast] == [o["metadata"]["name"] for o in full]
    for a, b in zip(full, fast, strict=True):
        kind = K.kind_of(a)
        assert slim(kind, b) == slim(kind, a)
    assert "spec" not in fast[0] and fast[2]["spec"] == full[2]["spec"]  # owned vs ownerless ReplicaSet
    assert fast[5]["spec"] == full[5]["spec"] and fast[6]["spec"] == full[6]["spec"]  # a Rollout's, a ScaledJob's


@pytest.mark.parametrize("mutate", [
    lambda o: o["metadata"].__setitem__("labels", {"app": 5}),
    lambda o: o["metadata"].__setitem__("creationTimestamp", 1700000000),
    lambda o: o["metadata"]["ownerReferences"][0].pop("name"),
])
def test_malformed_owned_objects_meet_the_usual_errors(tmp_path: Path, mutate):
    rs = owner_objects()[0]
    mutate(rs)
    assert_usual_error(tmp_path / "replicasets.json", rs)


def test_owned_list_answers_msgspec_refuses_are_parsed_whole():
    rs = owner_objects()[0]
    rs["status"]["replicas"] = "two"
    body = orjson.dumps({"kind": "ReplicaSetList", "items": [rs]})
    assert podwire.decode_owned_list(body) == orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        podwire.decode_owned_list(b'{"kind": "ReplicaSetList", "items": [')


def test_summary_rows_hold_their_own_copies_of_per_pod_strings():
    """Rows must not pin the parsed page's memory (see inventory._own): equal strings, other objects."""
    pod = f.pod("cart-5d8f7c9b6-x2v9q", owner=("ReplicaSet", "cart-5d8f7c9b6"))
    row = dict(zip(POD_COLUMNS, summarise_pod(pod, RULES), strict=True))
    for column, value in (("name", pod["metadata"]["name"]), ("owner_name", "cart-5d8f7c9b6"),
                          ("created", pod["metadata"]["creationTimestamp"])):
        original = value if column != "owner_name" else pod["metadata"]["ownerReferences"][0]["name"]
        assert row[column] == original and row[column] is not original


def test_a_live_pod_of_the_wrong_types_is_summarised_not_a_crash():
    """msgspec refuses it, orjson parses it whole (no type checks on a live answer): the summary still runs."""
    pod = f.pod("odd-1")
    pod["metadata"]["creationTimestamp"] = 1700000000
    pod["status"]["startTime"] = 1700000001
    body = orjson.dumps({"kind": "PodList", "items": [pod]})
    [decoded] = podwire.decode_pod_list(body)["items"]
    row = dict(zip(POD_COLUMNS, summarise_pod(decoded, RULES), strict=True))
    assert row["name"] == "odd-1" and row["created"] == "1700000000" and row["started"] == "1700000001"
