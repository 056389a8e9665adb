"""asm-proxies-ready: a workload moved to ASM whose pods cannot be created has no pod to judge.

The seed's last condition before `istioctl uninstall --purge`: "Workloads that have injected with ASM mesh proxy
function as expected". After `kubectl patch ... sidecar.asm.aliyun.com/inject=true` the workload's new pods go through
ASM's injector; when that webhook cannot be reached or refuses (or admission rejects istio-init), the ReplicaSet
creates no pod. With strategy Recreate the Istio pods are already gone: nothing Istio's is left, no ASM pod is
unready, and main said N/A AA1340 (or PASS AA1301 beside the pods that did start): GO to uninstall a mesh whose
moved workload runs nothing.

Status shapes as the controllers write them (kubernetes/kubernetes pkg/controller/replicaset/replica_set_utils.go
calculateStatus: condition ReplicaFailure True, reason FailedCreate, message = the create error; pkg/controller/
deployment/sync.go copies it as the Deployment's ReplicaFailure condition; progress.go sets Progressing False
ProgressDeadlineExceeded; apps/v1 types.go: availableReplicas, StatefulSetStatus.availableReplicas (1.22+),
DaemonSetStatus desiredNumberScheduled / numberAvailable, all omitempty when 0).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "asm-proxies-ready"
ASM_LABELS = {"app": "cart", "sidecar.asm.aliyun.com/inject": "true"}  # the seed's patch of the pod template
WEBHOOK_ERROR = ('Internal error occurred: failed calling webhook "object.sidecar-injector.istio.io": failed to call '
                 'webhook: Post "https://istiod-1-24-6.istio-system.svc:443/inject?timeout=10s": context deadline '
                 'exceeded')


def stuck_status(replicas: int, available: int) -> dict[str, Any]:
    """A Deployment whose ReplicaSet cannot create pods: availableReplicas omitted when 0 (omitempty)."""
    status: dict[str, Any] = {
        "observedGeneration": 2, "replicas": available, "updatedReplicas": available,
        "unavailableReplicas": replicas - available,
        "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
             "message": "Deployment does not have minimum availability.",
             "lastUpdateTime": "2026-12-05T10:02:11Z", "lastTransitionTime": "2026-12-05T10:02:11Z"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": WEBHOOK_ERROR,
             "lastUpdateTime": "2026-12-05T10:02:12Z", "lastTransitionTime": "2026-12-05T10:02:12Z"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": 'ReplicaSet "cart-7d9f8b6c5d" is progressing.',
             "lastUpdateTime": "2026-12-05T10:02:12Z", "lastTransitionTime": "2026-12-05T10:02:11Z"}]}
    if available:
        status["availableReplicas"] = status["readyReplicas"] = available
    return status


def moved(replicas: int = 3, *, available: int | None = None, strategy: str = "RollingUpdate",
          labels: dict | None = None) -> tuple[dict, dict]:
    dep, rs = f.deployment("cart", replicas=replicas, template_labels=labels or ASM_LABELS)
    dep["spec"]["strategy"] = {"type": strategy}
    if available is not None:
        dep["status"] = stuck_status(replicas, available)
    return dep, rs


def rows(audit, objects: list[dict], **kw: Any) -> list[dict]:
    return audit({"c1": objects}, "uninstall", **kw).rows(CHECK)


def codes(found: list[dict]) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in found]


def test_recreate_workload_with_no_pod_created_fails(audit):
    dep, rs = moved(strategy="Recreate", available=0)
    found = rows(audit, [dep, rs])
    assert codes(found) == [("FAIL", "AA1313")]  # main: NOT_APPLICABLE AA1340
    [row] = found
    assert (row["kind"], row["namespace"], row["name"]) == ("Deployment", "shop", "cart")
    assert row["evidence"]["desired"] == 3 and row["evidence"]["available"] == 0
    assert "FailedCreate" in row["evidence"]["condition"] and row["evidence"]["asm_inject_label"] is True
    assert row["severity"] == "major"


def test_some_pods_started_the_rest_cannot_be_created_fails(audit):
    dep_rs = moved(available=1)
    found = rows(audit, [*dep_rs, *f.workload_pods(dep_rs, 1, proxy="asm")])
    assert ("FAIL", "AA1313") in codes(found)  # main: PASS AA1301 (the one pod that exists is ready)
    assert ("PASS", "AA1301") not in codes(found)


def test_a_workload_with_asm_pods_but_no_label_is_judged_by_its_pods_workload(audit):
    """Moved through the namespace (ASM's injection) rather than the template label: its ASM pods name it."""
    dep_rs = moved(available=1, labels={"app": "cart"})
    found = rows(audit, [*dep_rs, *f.workload_pods(dep_rs, 1, proxy="asm")])
    [short] = [r for r in found if r["code"] == "AA1313"]
    assert short["evidence"]["asm_inject_label"] is False


def test_every_moved_workload_available_passes(audit):
    dep_rs = moved()
    found = rows(audit, [*dep_rs, *f.workload_pods(dep_rs, 2, proxy="asm")])
    assert codes(found) == [("PASS", "AA1301")]


def test_workload_not_moved_is_not_this_checks_business(audit):
    dep_rs = moved(available=0, labels={"app": "cart"})
    found = rows(audit, [*dep_rs])
    assert codes(found) == [("NOT_APPLICABLE", "AA1340")]


def test_scaled_to_zero_is_not_short(audit):
    dep, rs = moved(replicas=0)
    dep["status"] = {"observedGeneration": 2}
    assert codes(rows(audit, [dep, rs])) == [("NOT_APPLICABLE", "AA1340")]


def test_daemonset_moved_with_pods_missing_fails(audit):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta("node-agent", "shop"),
          "spec": {"selector": {"matchLabels": {"app": "node-agent"}},
                   "template": {"metadata": {"labels": {"app": "node-agent", "sidecar.asm.aliyun.com/inject": "true"}},
                                "spec": {"containers": [{"name": "agent", "image": "registry.example.com/agent:2"}]}}},
          # numberAvailable omitted: 0 (omitempty)
          "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0,
                     "numberReady": 0, "numberUnavailable": 3, "observedGeneration": 4, "updatedNumberScheduled": 3}}
    found = rows(audit, [ds])
    assert codes(found) == [("FAIL", "AA1313")]
    assert found[0]["kind"] == "DaemonSet"


def test_statefulset_counts_available_replicas(audit):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta("db", "shop"),
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db", "sidecar.asm.aliyun.com/inject": "true"}},
                                 "spec": {"containers": [{"name": "db", "image": "registry.example.com/db:16"}]}}},
           "status": {"replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1,
                      "availableReplicas": 1, "observedGeneration": 3}}
    found = rows(audit, [sts])
    assert codes(found) == [("FAIL", "AA1313")]


def test_workloads_unread_is_unknown(audit):
    dep_rs = moved()
    found = rows(audit, [*dep_rs, *f.workload_pods(dep_rs, 2, proxy="asm")],
                 unreadable={"c1": {K.DEPLOYMENT: "deployments.apps is forbidden"}})
    assert ("UNKNOWN", "AA1330") in codes(found)
    assert ("PASS", "AA1301") not in codes(found)


def test_the_deployments_shared_walk_picks_the_same_candidates():
    """The Deployments' metadata walk (istiod_deployments, asked first in every audit) keeps the ones whose counts may
    fall short; shortfalls() then reads only those, and answers as its own walk does."""
    from auditor import rollouts
    from auditor.inventory import ClusterInventory

    def cluster() -> ClusterInventory:
        stuck, _ = moved(available=1)
        fine, _ = f.deployment("web", template_labels={"app": "web", "sidecar.asm.aliyun.com/inject": "true"})
        return ClusterInventory(name="c1", objects_by_kind={K.DEPLOYMENT.key: [stuck, fine], K.STATEFULSET.key: [],
                                                            K.DAEMONSET.key: []})

    alone, walked = cluster(), cluster()
    walked.istiod_deployments()  # the shared walk
    deployments = walked.objects(K.DEPLOYMENT)
    assert walked.memoised(rollouts.short_memo_key(deployments))
    assert rollouts.shortfalls(walked, set()) == rollouts.shortfalls(alone, set())
    assert [s.name for s in rollouts.shortfalls(walked, set())[0]] == ["cart"]
