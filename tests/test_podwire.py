"""The fast pod decoding (auditor.podwire) must summarise every pod exactly as the full parse does."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from auditor import mesh, podwire
from auditor.errors import UsageError
from auditor.inventory import summarise_pod
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
    assert answer["metadata"]["continue"] == "tok"
    assert len(answer["items"]) == len(pods)
    for full, reduced in zip(pods, answer["items"], strict=True):
        assert summarise_pod(reduced, RULES) == summarise_pod(full, RULES)
        # What is skipped really is skipped: the reduced pod is a small fraction of the full one.
        assert "volumes" not in reduced.get("spec", {})


def test_snapshot_list_reduced_pods_and_whole_other_objects(tmp_path: Path):
    pods = varied_pods()
    dep, rs = f.deployment("cart")
    path = tmp_path / "mixed.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [dep, *pods, rs]}))
    full = list(read_object_file(path))
    fast = list(read_object_file(path, reduce_pods=True))
    assert [o["kind"] for o in fast] == [o["kind"] for o in full]
    assert fast[0] == dep and fast[-1] == rs  # other kinds are parsed whole
    for a, b in zip(full[1:-1], fast[1:-1], strict=True):
        assert summarise_pod(b, RULES) == summarise_pod(a, RULES)


def test_typed_podlist_items_without_kind_are_pods(tmp_path: Path):
    pod = f.pod("x-1")
    item = {k: v for k, v in pod.items() if k not in ("apiVersion", "kind")}
    path = tmp_path / "pods.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "PodList", "items": [item]}))
    (obj,) = read_object_file(path, reduce_pods=True)
    assert obj["kind"] == "Pod" and summarise_pod(obj, RULES) == summarise_pod(pod, RULES)


@pytest.mark.parametrize("mutate", [
    lambda p: p["metadata"].__setitem__("labels", {"app": 5}),
    lambda p: p["metadata"].__setitem__("ownerReferences", [{"kind": "ReplicaSet"}]),
    lambda p: p["metadata"].pop("name"),
    lambda p: p["metadata"].__setitem__("managedFields", ["not-an-object"]),
    lambda p: p["spec"]["containers"][-1]["env"][2].__setitem__("valueFrom", "not-an-object"),
    lambda p: p["spec"]["containers"][-1].__setitem__("command", "not-a-list"),
])
def test_malformed_pods_meet_the_usual_errors(tmp_path: Path, mutate):
    """Anything the fast path refuses is read the usual way, so the usual error names the file."""
    pod = f.pod("bad-1")
    mutate(pod)
    path = tmp_path / "pods.json"
    path.write_bytes(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}))
    with pytest.raises(UsageError) as full_error:
        list(read_object_file(path))
    with pytest.raises(UsageError) as fast_error:
        list(read_object_file(path, reduce_pods=True))
    assert str(fast_error.value) == str(full_error.value)
    assert str(path) in str(fast_error.value)


def test_malformed_answers_fall_back_to_the_full_parse():
    body = orjson.dumps({"kind": "PodList", "items": [{"metadata": {"name": "p", "labels": {"a": 1}}}]})
    assert podwire.decode_pod_list(body) == orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        podwire.decode_pod_list(b'{"kind": "PodList", "items": [')
