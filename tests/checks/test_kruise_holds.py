"""OpenKruise's workloads: what recreates their pods safely, and what holds them on an earlier template (red22f).

Shapes from openkruise/kruise@v1.9.0:
- apis/apps/v1beta1/statefulset_types.go (Advanced StatefulSet): updateStrategy.type RollingUpdate|OnDelete;
  rollingUpdate.partition (int32, ordinals below it kept), maxUnavailable, podUpdatePolicy ReCreate (default) |
  InPlaceIfPossible | InPlaceOnly, paused ("the StatefulSet is paused").
- apis/apps/v1beta1/daemonset_types.go (Advanced DaemonSet): updateStrategy.type RollingUpdate|OnDelete;
  rollingUpdate.rollingUpdateType Standard|InPlaceIfPossible, partition ("The number of DaemonSet pods remained to be
  old version"), paused.
- apis/apps/v1alpha1/cloneset_types.go (CloneSet): updateStrategy.type ReCreate|InPlaceIfPossible|InPlaceOnly,
  partition ("the desired number of pods in old revisions", int or percent), paused.
- openkruise/kruise-tools@v1.2.2 pkg/internal/polymorphichelpers/objectrestarter.go: `kubectl kruise rollout restart`
  restarts CloneSets (annotation kubectl.kruise.io/restartedAt) and no Advanced StatefulSet or DaemonSet.

On main an Advanced StatefulSet's or DaemonSet's pods were "restarted" by deleting every one of them back to back
(`xargs -r -n 1 kubectl delete`: each delete returns once its pod is gone, before its replacement is Ready), an outage
for a quorum of three; and a paused, OnDelete or partitioned OpenKruise workload whose template was labelled was told
to restart (or, for a CloneSet, `kubectl kruise rollout restart`), which moves no pod while the hold stands.
"""

from __future__ import annotations

from typing import Any

from auditor import mesh
from tests import factory as f
from tests.checks.test_idle_controllers import ASTS, _template, advanced_pods, advanced_statefulset
from tests.checks.test_idle_workloads import CHECK, base

ASM = {mesh.ASM_INJECT_LABEL: "true"}
BACK_TO_BACK = "xargs -r -n 1"  # main's deletion of every pod, none waited for


def _asts(strategy: dict[str, Any], *, labelled: bool = True) -> dict[str, Any]:
    sts = advanced_statefulset("ledger", 3, labels=ASM if labelled else None)
    sts["spec"]["updateStrategy"] = strategy
    return sts


def cloneset(name: str, strategy: dict[str, Any], *, labelled: bool = True, replicas: int = 3) -> dict[str, Any]:
    return {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": f.meta(name, "shop"),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": _template(name, ASM if labelled else None), "updateStrategy": strategy},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "updatedReplicas": 0, "observedGeneration": 2}}


def cloneset_pods(name: str, count: int) -> list[dict[str, Any]]:
    pods = [f.pod(f"{name}-{s}", "shop", proxy="istio", owner=("CloneSet", name), labels={"app": name})
            for s in ("x7k2p", "b9q4m", "r3t8w")[:count]]
    for pod in pods:
        pod["metadata"]["ownerReferences"][0]["apiVersion"] = "apps.kruise.io/v1alpha1"
    return pods


def _row(run: Any, name: str) -> dict[str, Any]:
    return run.by_name(CHECK)[name]


def test_a_restart_pending_advanced_statefulset_rolls_through_its_controller_not_all_pods_at_once(audit):
    """Template labelled, pods labelled and still on Istio's sidecar (AA1211): podUpdatePolicy ReCreate, so a template
    change rolls the pods by the controller, maxUnavailable at a time (main: every pod deleted back to back)."""
    sts = _asts({"type": "RollingUpdate", "rollingUpdate": {"podUpdatePolicy": "ReCreate", "maxUnavailable": 1}})
    run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 3, "istio", labels=ASM)]}, "uninstall")
    row = _row(run, "ledger")
    assert (row["status"], row["code"], row["kind"]) == ("FAIL", "AA1211", ASTS)
    assert "patch statefulsets.apps.kruise.io/ledger " in row["remediation"]
    assert "restartedAt" in row["remediation"]
    assert BACK_TO_BACK not in row["remediation"]


def test_an_in_place_advanced_statefulset_deletes_its_pods_one_by_one_asking(audit):
    """In place, a template annotation keeps the pods (and their sidecar): they are deleted by owner, xargs asking
    before each (main: all at once)."""
    sts = _asts({"type": "RollingUpdate", "rollingUpdate": {"podUpdatePolicy": "InPlaceIfPossible"}})
    run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 3, "istio", labels=ASM)]}, "uninstall")
    row = _row(run, "ledger")
    assert (row["status"], row["code"]) == ("FAIL", "AA1211")
    assert "xargs -r -p -n 1" in row["remediation"] and BACK_TO_BACK not in row["remediation"]


def test_restart_commands_of_advanced_kinds_never_delete_every_pod_back_to_back():
    for kind in ("StatefulSet.apps.kruise.io", "DaemonSet.apps.kruise.io"):
        command = mesh.restart_command("c1", kind, "shop", "ledger")
        assert BACK_TO_BACK not in command and "xargs -r -p -n 1" in command, kind


def test_an_on_delete_advanced_statefulset_labelled_for_asm_is_held(audit):
    sts = _asts({"type": "OnDelete"})
    run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 3, "istio")]}, "uninstall")
    row = _row(run, "ledger")
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == "OnDelete"
    assert "xargs -r -p -n 1" in row["remediation"] and BACK_TO_BACK not in row["remediation"]


def test_a_paused_or_partitioned_advanced_statefulset_labelled_for_asm_is_held(audit):
    for rolling, hold, patch in (
            ({"paused": True, "podUpdatePolicy": "ReCreate"}, "updateStrategy paused",
             '{"spec":{"updateStrategy":{"rollingUpdate":{"paused":false}}}}'),
            ({"partition": 2, "podUpdatePolicy": "ReCreate"}, "partition 2",
             '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')):
        sts = _asts({"type": "RollingUpdate", "rollingUpdate": rolling})
        run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 3, "istio")]}, "uninstall")
        row = _row(run, "ledger")
        assert (row["status"], row["code"], row["evidence"]["update_hold"]) == ("FAIL", "AA1241", hold)
        assert f"patch statefulsets.apps.kruise.io/ledger --type='merge' -p '{patch}'" in row["remediation"]


def test_a_paused_cloneset_labelled_for_asm_is_resumed_not_restarted(audit):
    """main: AA1241 with no hold, `kubectl kruise rollout restart`, which rolls no pod of a paused CloneSet."""
    run = audit({"c1": [*base(), cloneset("web", {"type": "ReCreate", "paused": True}), *cloneset_pods("web", 3)]},
                "uninstall")
    row = _row(run, "web")
    assert (row["status"], row["code"], row["evidence"]["update_hold"]) == ("FAIL", "AA1241", "updateStrategy paused")
    assert ("patch clonesets.apps.kruise.io/web --type='merge' -p '{\"spec\":{\"updateStrategy\":{\"paused\":false}}}'"
            in row["remediation"])


def test_a_partitioned_cloneset_still_on_istio_is_labelled_and_its_partition_lowered(audit):
    """Not labelled (AA1210): the label moves only the pods above the partition; main gave the label alone."""
    cs = cloneset("web", {"type": "ReCreate", "partition": "100%"}, labelled=False)
    run = audit({"c1": [*base(), cs, *cloneset_pods("web", 3)]}, "uninstall")
    row = _row(run, "web")
    assert (row["status"], row["code"]) == ("FAIL", "AA1210")
    assert ("patch clonesets.apps.kruise.io/web --type='merge' -p '{\"spec\":{\"updateStrategy\":{\"partition\":0}}}'"
            in row["remediation"])
