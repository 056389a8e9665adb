"""Evidence from pods that do not (or no longer) serve (red19c).

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
The istiod Deployment, its ReplicaSet and pods as tests/checks/test_mesh_config.py writes them (istio/istio@1.24.6
manifests/charts/istio-control/istio-discovery: container `discovery`).
"""

from __future__ import annotations

from typing import Any

import pytest

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
