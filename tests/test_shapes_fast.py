"""The shape rules checked in C (shapes._fits) never accept what the Python walk refuses (issue 18).

Many objects of every kind with a body schema, each mutated at a random place into a random wrong (or right)
value: whenever the walk names a problem, object_problem still names that same problem.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from auditor import podwire
from auditor.sources import shapes
from bench.generate import Workload, pods_of
from tests import factory as f

ODD_VALUES: list[Any] = [None, True, False, 0, 7, 1.5, 2**70, "", "x", [], [None], ["x"], [1], {}, {"k": None},
                         {"k": "v"}, {"k": 1}, {1: "v"}, [{}], [{"name": 3}], [{"name": "n"}]]


def objects() -> list[dict[str, Any]]:
    rng = random.Random(5)
    dep, rs = f.deployment("cart")
    sts = copy.deepcopy(dep) | {"kind": "StatefulSet"}
    ds = copy.deepcopy(dep) | {"kind": "DaemonSet"}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("j", "shop"),
           "spec": {"template": copy.deepcopy(dep["spec"]["template"])}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta("c", "shop"),
            "spec": {"jobTemplate": {"spec": {"template": copy.deepcopy(dep["spec"]["template"])}}}}
    out = [dep, rs, sts, ds, job, cron, f.service("web", "shop", annotations={"a": "b"}), f.configmap(
        "istio", "istio-system", {"mesh": "x"}), f.migration_cr("Migrating"), f.pod("p-1"), f.crd("x.example.com"),
           f.namespace("shop", labels={"l": "v"})]
    w = Workload("Deployment", "team-1", "svc", 2, "istio", True, 0.5, False, rng)
    out.extend({"apiVersion": "v1", "kind": "Pod", **p} for p in pods_of(w, rng))
    return out


def places(value: Any, path: tuple = ()) -> list[tuple]:
    """Every (container, key) path inside `value`."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in items:
        found.append((*path, key))
        found.extend(places(sub, (*path, key)))
    return found


def walk(kind: str, doc: dict[str, Any]) -> str | None:
    """What the Python walk alone says (the rules as they were before the C check)."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return f"{kind} object without metadata.name"
    problem = shapes._metadata_problem(meta) or shapes._body_problem(kind, doc)
    if problem is None:
        return None
    namespace = meta.get("namespace")
    name = f"{namespace}/{meta['name']}" if isinstance(namespace, str) and namespace else meta["name"]
    return f"{kind} {name!r}: {problem}"


def mutated(original: dict, path: tuple, rng: random.Random) -> dict:
    """A deep copy of `original` with the value at `path` replaced by one of ODD_VALUES."""
    doc = copy.deepcopy(original)
    holder = doc
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return doc


@pytest.mark.parametrize("seed", range(4))
def test_mutated_objects_get_exactly_the_walks_verdict(seed):
    rng = random.Random(seed)
    checked = refused = 0
    for original in objects():
        paths = [p for p in places(original) if p[0] not in ("kind", "apiVersion")]  # the kind is given
        for _ in range(60):
            path = rng.choice(paths)
            doc = mutated(original, path, rng)
            expected = walk(doc["kind"], doc)
            assert shapes.object_problem(doc["kind"], doc) == expected, path
            checked += 1
            refused += expected is not None
    assert checked == 60 * len(objects())
    assert refused > checked // 4  # the mutations do hit the rules


def test_well_formed_objects_are_accepted_in_c():
    for doc in objects():
        assert shapes._fits(doc["kind"], doc), doc["kind"]


@pytest.mark.parametrize("seed", range(3))
def test_owned_items_podwire_vouches_for_all_fit(seed):
    """A file of owned ReplicaSets or Jobs decoded in one pass is not shape-checked again when podwire marks its
    items (podwire.OwnedItems): whatever the mutation (kind and apiVersion included), shapes.all_fit holds for
    every file so marked, as it did when it checked them."""
    rng = random.Random(seed)
    dep, rs = f.deployment("cart")
    rs["metadata"]["managedFields"] = [{"manager": "kube-controller-manager", "operation": "Update"}]
    rs["status"] = {"replicas": 2, "readyReplicas": 2, "observedGeneration": 3}
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("nightly-1", "shop", ownerReferences=[
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "controller": True}]),
        "spec": {"template": copy.deepcopy(dep["spec"]["template"])}, "status": {"succeeded": 1}}
    marked = unmarked = 0
    for original in (rs, job):
        other = copy.deepcopy(original)
        other["metadata"]["name"] += "-2"
        paths = places(original)
        for _ in range(200):
            path = rng.choice(paths)
            doc = mutated(original, path, rng)
            if rng.random() < 0.25:  # or the key taken out (kind, apiVersion: as the items of a typed List)
                holder = doc
                for key in path[:-1]:
                    holder = holder[key]
                if isinstance(holder, dict):
                    del holder[path[-1]]
            list_kind = rng.choice(["List", f"{original['kind']}List"])
            raw = json.dumps({"apiVersion": "v1", "kind": list_kind, "items": [other, doc]}).encode()  # 2**70 too
            reduced = podwire.reduced_list(raw)
            items = reduced and reduced["items"]
            if isinstance(items, podwire.OwnedItems):
                assert shapes.all_fit(list(items)), doc
                marked += 1
            else:
                unmarked += 1
    assert marked > 100 and unmarked > 100  # both ways taken


def _dup_text(original: dict, path: tuple, rng: random.Random) -> bytes | None:
    """`original` as JSON text with the key at `path` written twice: a random ODD_VALUES value and the original one,
    in random order (JSON allows repeated keys; a decoded object holds the last)."""
    holder_path, key = path[:-1], path[-1]
    holder = original
    for step in holder_path:
        holder = holder[step]
    if not isinstance(holder, dict):
        return None
    doc = copy.deepcopy(original)
    target = doc
    for step in holder_path:
        target = target[step]
    target[key] = "__DUP__"
    text = json.dumps(doc, separators=(",", ":"))
    pair = [json.dumps(rng.choice(ODD_VALUES)), json.dumps(holder[key])]
    rng.shuffle(pair)
    name = json.dumps(key)
    return text.replace(f'{name}:"__DUP__"', f"{name}:{pair[0]},{name}:{pair[1]}", 1).encode()


@pytest.mark.parametrize("seed", range(3))
def test_all_fit_on_the_json_text_agrees_with_the_conversion(seed):
    """shapes.all_fit given the List's JSON text (a typed decode of it) never accepts what converting the decoded
    items refuses: mutated objects, and repeated keys (one occurrence wrong), of every kind with a body schema."""
    from auditor import wire

    rng = random.Random(seed)
    accepted = refused = 0
    for original in objects():
        if original["kind"] == "Pod":
            continue  # files of pods are decoded by podwire
        other = copy.deepcopy(original)
        other["metadata"]["name"] += "-2"
        paths = [p for p in places(original) if p[0] not in ("kind", "apiVersion")]
        for _ in range(40):
            path = rng.choice(paths)
            if rng.random() < 0.5:
                item = json.dumps(mutated(original, path, rng)).encode()
            else:
                item = _dup_text(original, path, rng) or json.dumps(original).encode()
            raw = b'{"apiVersion":"v1","kind":"List","items":[' + json.dumps(other).encode() + b"," + item + b"]}"
            items = wire.loads(raw)["items"]
            expected = shapes.all_fit(items)
            assert shapes.all_fit(items, raw) == expected, (path, item)
            assert shapes.all_fit(items, memoryview(raw)) == expected
            accepted += expected
            refused += not expected
    assert accepted > 100 and refused > 100  # both ways taken
