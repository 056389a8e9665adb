"""ClusterInventory.get: what a scan in list order returns, at the cost of one pass per kind, not one per call.

Found by the 50k-pod bench (issue 18): gitops-drift asks get() once per mesh workload; a scan per call read
15,000 Deployments 20,536 times (70 s of a 28 s-without-it audit). Counted in metadata reads, not timed.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from auditor.errors import EvidenceUnavailable
from auditor.inventory import ClusterInventory, ClusterPending


class CountingObject(dict):
    """An API object that counts how often its metadata is read."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        if key == "metadata":
            CountingObject.reads += 1
        return super().get(key, default)


def deployment(name: str, namespace: str, uid: str) -> CountingObject:
    # Shape as kube-apiserver lists Deployments (apps/v1): the index reads only metadata.name/namespace.
    return CountingObject({"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": name, "namespace": namespace, "uid": uid}, "spec": {}})


def cluster_of(objects: list[dict[str, Any]]) -> ClusterInventory:
    return ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: objects})


def test_one_lookup_per_workload_reads_each_object_once():
    objects = [deployment(f"app-{i}", f"ns-{i % 50}", f"uid-{i}") for i in range(3000)]
    cluster = cluster_of(objects)
    CountingObject.reads = 0
    for i in range(3000):
        assert cluster.get(K.DEPLOYMENT, f"app-{i}", f"ns-{i % 50}")["metadata"]["uid"] == f"uid-{i}"
    # One pass builds the index (3,000 reads); a scan per call read ~4.5 million.
    assert CountingObject.reads <= 3000


def test_same_answers_as_a_scan_in_list_order():
    first = deployment("web", "a", "uid-1")
    same_name_other_ns = deployment("web", "b", "uid-2")
    duplicate = deployment("web", "a", "uid-3")  # a hand-made snapshot may repeat an object: the first wins
    cluster = cluster_of([first, same_name_other_ns, duplicate])
    assert cluster.get(K.DEPLOYMENT, "web", "a")["metadata"]["uid"] == "uid-1"
    assert cluster.get(K.DEPLOYMENT, "web", "b")["metadata"]["uid"] == "uid-2"
    assert cluster.get(K.DEPLOYMENT, "web")["metadata"]["uid"] == "uid-1"  # any namespace: the first in order
    assert cluster.get(K.DEPLOYMENT, "web", "c") is None
    assert cluster.get(K.DEPLOYMENT, "api", "a") is None


def test_a_kind_collected_again_is_looked_up_afresh():
    cluster = cluster_of([deployment("web", "a", "uid-1")])
    assert cluster.get(K.DEPLOYMENT, "web", "a")["metadata"]["uid"] == "uid-1"
    cluster.objects_by_kind[K.DEPLOYMENT.key] = [deployment("web", "a", "uid-9")]
    assert cluster.get(K.DEPLOYMENT, "web", "a")["metadata"]["uid"] == "uid-9"
    cluster.objects_by_kind[K.DEPLOYMENT.key].append(deployment("api", "a", "uid-10"))
    assert cluster.get(K.DEPLOYMENT, "api", "a")["metadata"]["uid"] == "uid-10"


def test_objects_without_a_name_and_unhashable_names_match_nothing():
    nameless = CountingObject({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "a"}})
    odd = CountingObject({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": ["not", "a", "string"], "namespace": "a"}})
    cluster = cluster_of([nameless, odd, deployment("web", "a", "uid-1")])
    assert cluster.get(K.DEPLOYMENT, "web", "a")["metadata"]["uid"] == "uid-1"
    assert cluster.get(K.DEPLOYMENT, "", "a") is None


def test_lookups_after_the_first_skip_the_readability_checks_of_objects(monkeypatch: pytest.MonkeyPatch):
    # gitops-drift asks get() once per mesh workload (~10,000 at 50k pods): objects() and its _require for each
    # cost more than the lookup itself (issue 18, round 2). Counted in objects() calls.
    calls: list[str] = []
    objects = ClusterInventory.objects

    def counted(self: ClusterInventory, kind: K.Kind) -> list[dict[str, Any]]:
        calls.append(kind.kind)
        return objects(self, kind)

    monkeypatch.setattr(ClusterInventory, "objects", counted)
    cluster = cluster_of([deployment(f"app-{i}", "shop", f"uid-{i}") for i in range(3000)])
    for i in range(3000):
        assert cluster.get(K.DEPLOYMENT, f"app-{i}", "shop")["metadata"]["uid"] == f"uid-{i}"
    assert calls == ["Deployment"]  # 3,000 before


def test_a_kind_made_unreadable_after_a_lookup_raises_as_objects_does():
    cluster = cluster_of([deployment("web", "a", "uid-1")])
    assert cluster.get(K.DEPLOYMENT, "web", "a")["metadata"]["uid"] == "uid-1"
    cluster.record_error(K.DEPLOYMENT, "403 Forbidden")
    with pytest.raises(EvidenceUnavailable, match="could not read Deployment in c1: 403 Forbidden"):
        cluster.get(K.DEPLOYMENT, "web", "a")

    released = cluster_of([deployment("web", "a", "uid-1")])
    assert released.get(K.DEPLOYMENT, "web")["metadata"]["uid"] == "uid-1"
    released.release(keep_memo=())
    with pytest.raises(EvidenceUnavailable, match="Deployment objects of c1 were released once its checks ran"):
        released.get(K.DEPLOYMENT, "web")

    pending = cluster_of([deployment("web", "a", "uid-1")])
    assert pending.get(K.DEPLOYMENT, "web")["metadata"]["uid"] == "uid-1"
    pending.pending = True
    with pytest.raises(ClusterPending):
        pending.get(K.DEPLOYMENT, "web")

    unreachable = cluster_of([deployment("web", "a", "uid-1")])
    assert unreachable.get(K.DEPLOYMENT, "web")["metadata"]["uid"] == "uid-1"
    unreachable.unreachable = "connection refused"
    with pytest.raises(EvidenceUnavailable, match="cluster c1 unreachable: connection refused"):
        unreachable.get(K.DEPLOYMENT, "web")


def test_a_kind_key_is_one_string_read_again_not_built_per_read():
    # Read ~50,000 times per audit at 50k pods (every lookup): a property built a new f-string each time.
    assert K.DEPLOYMENT.key == "deployments.apps"
    assert K.DEPLOYMENT.key is K.DEPLOYMENT.key
    assert K.VIRTUALSERVICE.key is K.VIRTUALSERVICE.key
    assert K.POD.key == "pods"
    assert K.Kind("Deployment", "apps", ("v1",), "deployments") == K.DEPLOYMENT
    assert hash(K.Kind("Deployment", "apps", ("v1",), "deployments")) == hash(K.DEPLOYMENT)
    assert K.Kind("Deployment", "apps", ("v1",), "deployments", namespaced=False) != K.DEPLOYMENT


def test_the_unique_index_is_given_only_when_every_object_has_a_key_of_its_own():
    web, api = deployment("web", "a", "uid-1"), deployment("api", "a", "uid-2")
    assert cluster_of([web, api]).unique_index(K.DEPLOYMENT) == {("a", "web"): web, ("a", "api"): api}
    no_namespace = CountingObject({"metadata": {"name": "bare"}})
    no_name = CountingObject({"metadata": {"namespace": "a"}})
    unhashable = CountingObject({"metadata": {"name": ["web"], "namespace": "a"}})
    for objects in ([web, deployment("web", "a", "uid-3")], [web, no_namespace], [web, no_name], [web, unhashable]):
        cluster = cluster_of(objects)
        assert cluster.unique_index(K.DEPLOYMENT) is None
        assert cluster.get(K.DEPLOYMENT, "web", "a") is web  # lookups answer as before
