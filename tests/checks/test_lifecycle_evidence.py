"""Evidence from pods that do not (or no longer) serve (red19c): not Ready, or being deleted.

istiod-restarted, at the migrating gate, proves that each istiod revision runs the mesh config ASM's
SetupIstioForMigrate edit wrote: its pods started after the mesh ConfigMap's last change. Main passed AA1001 on the
start times alone, so a restart whose new istiod pods never became Ready (the old ones deleted: `kubectl delete pod -l
app=istiod`, an eviction, a node drain) was a GO to switch to Migrating with no istiod serving injection, xDS or
certificates to the Istio sidecars that keep running through the migration.

The pod shapes are those Kubernetes writes:
- unschedulable: the scheduler's PodScheduled=False, reason Unschedulable (v1.PodReasonUnschedulable) with the
  filter's message, phase Pending, no startTime (the kubelet's) and no container statuses (kubernetes/kubernetes
  pkg/scheduler/schedule_one.go, handleSchedulingFailure);
- crash-looping: the kubelet's state.waiting reason CrashLoopBackOff, "back-off 5m0s restarting failed container=..."
  (pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff, kubecontainer.ErrCrashLoopBackOff), lastState
  terminated, and Ready/ContainersReady False reason ContainersNotReady (pkg/kubelet/status/generate.go);
- image not pulled: phase Pending, state.waiting reason ImagePullBackOff (pkg/kubelet/images ErrImagePullBackOff).
- being deleted (Terminating): metadata.deletionTimestamp (the time the grace period ends) and
  deletionGracePeriodSeconds, set by the API server on a graceful delete (kubectl delete, a drain's eviction, a
  rollout scaling the old ReplicaSet down); phase and Ready unchanged until the kubelet has stopped the containers
  (k8s.io/apimachinery pkg/apis/meta/v1 types.go ObjectMeta.DeletionTimestamp). Its controller counts it no more
  (kubernetes/kubernetes pkg/controller/controller_utils.go IsPodActive) and makes another in its place.
The istiod Deployment, its ReplicaSet and pods as tests/checks/test_mesh_config.py writes them (istio/istio@1.24.6
manifests/charts/istio-control/istio-discovery: container `discovery`).

asm-proxies-ready, at the uninstall gate, FAILs AA1313 for a workload moved to ASM with fewer pods than it should run
(its new pods not created: ASM's injector webhook unreachable or refusing). Main counted the workload's Terminating
pods among those it runs: while its pods were being replaced (a drain, an eviction) and no replacement could be
created, the check PASSed AA1301 (its Terminating pods still Ready) until their grace period ended.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from auditor import mesh, podwire
from auditor.inventory import POD_COLUMNS, summarise_pod
from tests import factory as f
from tests.checks.test_mesh_config import AFTER, BEFORE, CHANGED, istiod_with_pods
from tests.checks.test_remote import primary_cluster, remote_cluster, rows

CHECK = "istiod-restarted"


def _not_ready(pod: dict[str, Any], message: str) -> None:
    pod["status"]["conditions"] = [
        {"type": "PodReadyToStartContainers", "status": "True"},
        {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": message},
        {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": message},
        {"type": "PodScheduled", "status": "True"}]


def unschedulable(pod: dict[str, Any]) -> dict[str, Any]:
    """istiod's requests (500m CPU, 2Gi memory by default) fit no node: it never starts."""
    pod["spec"].pop("nodeName", None)
    pod["status"] = {"phase": "Pending", "qosClass": "Burstable", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No "
                    "preemption victims found for incoming pod."}]}
    return pod


def crash_looping(pod: dict[str, Any]) -> dict[str, Any]:
    name = pod["metadata"]["name"]
    _not_ready(pod, "containers with unready status: [discovery]")
    for status in pod["status"]["containerStatuses"]:
        status.update(name="discovery", ready=False, started=False, restartCount=6, state={"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off 5m0s restarting failed container=discovery pod={name}_istio-system(1f2e)"}},
            lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": AFTER, "finishedAt": AFTER}})
    return pod


def image_not_pulled(pod: dict[str, Any]) -> dict[str, Any]:
    _not_ready(pod, "containers with unready status: [discovery]")
    pod["status"]["phase"] = "Pending"
    for status in pod["status"]["containerStatuses"]:
        status.update(name="discovery", ready=False, started=False, restartCount=0, state={"waiting": {
            "reason": "ImagePullBackOff", "message": 'Back-off pulling image "docker.io/istio/pilot:1.22.3"'}})
    return pod


@pytest.mark.parametrize("shape", [unschedulable, crash_looping, image_not_pulled])
def test_istiod_restarted_after_the_change_but_not_ready_fails(audit, shape):
    """Main: PASS AA1001 (every pod started after the change)."""
    dep, rs, *pods = istiod_with_pods(started=[AFTER, AFTER])
    run = audit({"c1": [dep, rs, *map(shape, pods), f.mesh_configmap(changed=CHANGED)]}, "migrating")
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1013", "blocker")
    assert sorted(row["evidence"]["pods_not_ready"]) == sorted(p["metadata"]["name"] for p in pods)
    assert " -n istio-system describe pod/" in row["remediation"] and "-c discovery --previous" in row["remediation"]


def test_a_stale_pod_that_is_not_ready_serves_nothing_either(audit):
    """The old pod still listed but crash-looping too: none serves; another restart alone does not help."""
    dep, rs, new, old = istiod_with_pods(started=[AFTER, BEFORE])
    [row] = audit({"c1": [dep, rs, crash_looping(new), crash_looping(old), f.mesh_configmap(changed=CHANGED)]},
                  "migrating").rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1013")


def test_one_ready_pod_after_the_change_still_serves(audit):
    """A second replica unschedulable beside a Ready one: the new config is served (the rule is not 'all Ready')."""
    dep, rs, ready, waiting = istiod_with_pods(started=[AFTER, AFTER])
    [row] = audit({"c1": [dep, rs, ready, unschedulable(waiting), f.mesh_configmap(changed=CHANGED)]},
                  "migrating").rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1001")


@pytest.mark.parametrize("shape", [unschedulable, crash_looping])
def test_a_fleet_whose_restarted_istiod_serves_nothing_is_no_go(audit, shape):
    """The primary-remote fleet test_remote.py audits to a GO (istioctl 1.30.3 install, its istiod pod started after
    the mesh config's change), its istiod pod now not Ready: the primary FAILs and so does the remote it serves
    (AA1012, as for a stale istiod). Main: GO."""
    primary = primary_cluster()
    for pod in (o for o in primary if o["kind"] == "Pod" and o["metadata"]["labels"].get("app") == "istiod"):
        shape(pod)
    a = audit({"primary": primary, "remote": remote_cluster()}, "migrating", config=f.only_checks(CHECK))
    assert rows(a, CHECK, "primary") == [("FAIL", "AA1013")]
    assert rows(a, CHECK, "remote") == [("FAIL", "AA1012")]
    assert a.result.verdict.value == "NO-GO"


# ---------------------------------------------------------------- pods being deleted
DELETED = {"deletionTimestamp": "2026-11-15T12:00:30Z", "deletionGracePeriodSeconds": 30}


def terminating(pod: dict[str, Any]) -> dict[str, Any]:
    """A graceful delete seconds ago: the kubelet has not stopped the containers yet (Running, still Ready)."""
    pod["metadata"].update(DELETED)
    return pod


def test_the_pod_frame_says_which_pods_are_being_deleted_on_both_readers():
    """The dict reader and the Struct reader (podwire.Pod: snapshot files of pods, live pages) agree."""
    pods = [terminating(f.pod("cart-1", proxy="asm")), f.pod("cart-2", proxy="asm")]
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert structs is not None
    column = POD_COLUMNS.index("deleting")
    rules = mesh.ProxyRules()
    assert [summarise_pod(p, rules)[column] for p in pods] == [True, False]
    assert [summarise_pod(p, rules) for p in structs] == [summarise_pod(p, rules) for p in pods]


MOVED_LABELS = {"app": "cart", mesh.ASM_INJECT_LABEL: "true"}
FAILED_CREATE = ('Internal error occurred: failed calling webhook "rev.object.sidecar-injector.istio.io": failed to '
                 'call webhook: Post "https://istiod-1-24-6.istio-system.svc:443/inject?timeout=10s": context deadline '
                 'exceeded')


def moved_cart(status: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    dep, rs = f.deployment("cart", replicas=2, template_labels=MOVED_LABELS)
    dep["status"] = status
    return dep, rs


def test_a_moved_workload_whose_only_pods_are_being_deleted_and_not_replaced_is_short(audit):
    """A drain evicted both ASM-proxied pods of cart; the ReplicaSet cannot create their replacements (ASM's injector
    webhook times out): the Deployment controller's status counts no pod (replicas omitted) and says why. Main: PASS
    AA1301 (the two Terminating pods Ready), a GO for the uninstall while cart is going to zero pods."""
    cart = moved_cart({"observedGeneration": 1, "unavailableReplicas": 2, "conditions": [
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
         "message": "Deployment does not have minimum availability."},
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": FAILED_CREATE}]})
    pods = [terminating(p) for p in f.workload_pods(cart, 2, proxy="asm", labels=MOVED_LABELS)]
    a = audit({"c1": [*cart, *pods]}, "uninstall", config=f.only_checks("asm-proxies-ready"))
    [row] = a.rows("asm-proxies-ready")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA1313", "cart")
    assert (row["evidence"]["pods"], row["evidence"]["desired"], row["evidence"]["available"]) == (0, 2, 0)
    assert "FailedCreate" in row["evidence"]["condition"]
    assert a.result.verdict.value == "NO-GO"


def test_a_rollout_replacing_terminating_pods_with_ready_ones_still_passes(audit):
    """kubectl rollout restart of a moved workload: the new ReplicaSet's pods Ready and available, the old ones
    Terminating. No shortfall (the rule counts pods being deleted out, not as unready)."""
    cart = moved_cart({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                       "availableReplicas": 2})
    old = [terminating(p) for p in f.workload_pods(cart, 2, proxy="asm", labels=MOVED_LABELS)]
    new = f.workload_pods(cart, 2, first=2, proxy="asm", labels=MOVED_LABELS)
    a = audit({"c1": [*cart, *old, *new]}, "uninstall", config=f.only_checks("asm-proxies-ready"))
    assert [(r["status"], r["code"]) for r in a.rows("asm-proxies-ready")] == [("PASS", "AA1301")]


def test_a_ready_istiod_pod_being_deleted_serves_no_new_config(audit):
    """The one Ready istiod pod deleted (kubectl delete pod, a drain), its replacement unschedulable: nothing will
    serve. Main: PASS AA1001."""
    dep, rs, leaving, waiting = istiod_with_pods(started=[AFTER, AFTER])
    [row] = audit({"c1": [dep, rs, terminating(leaving), unschedulable(waiting), f.mesh_configmap(changed=CHANGED)]},
                  "migrating").rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1013")
    assert row["evidence"]["pods_not_ready"][leaving["metadata"]["name"]] == "Running (Terminating)"
