"""istio-sidecars-remaining: paused Deployments and Argo Rollouts, whose pods come from an earlier template (fix22k).

Shapes:
- A paused Deployment (apps/v1 DeploymentSpec.paused): the controller's sync of a paused Deployment makes no
  ReplicaSet for a changed template and scales the one of its template, else the active ones, else the newest
  (kubernetes/kubernetes@v1.31.0 pkg/controller/deployment/sync.go sync: getAllReplicaSetsAndSyncRevision(ctx, d,
  rsList, false), scale; util/deployment_util.go FindActiveOrLatest). A ReplicaSet's labels are its template's plus
  pod-template-hash (sync.go getNewReplicaSet), which is all inventory.slim keeps of a Deployment's ReplicaSet.
  `kubectl rollout restart` refuses a paused Deployment (kubernetes/kubectl@v0.31.14 pkg/polymorphichelpers/
  objectrestarter.go).
- An Argo Rollout (argoproj/argo-rollouts@v1.8.4 pkg/apis/rollouts/v1alpha1/types.go): spec.template or
  spec.workloadRef {apiVersion apps/v1, kind Deployment, name, scaleDown}; spec.paused; status.pauseConditions
  [{reason CanaryPauseStep, startTime}] and controllerPause at a canary `pause` step; status.currentPodHash (its
  template's ReplicaSet) and status.stableRS (the promoted one), by the ReplicaSets' rollouts-pod-template-hash label;
  status.currentStepIndex. A paused Rollout is `len(status.pauseConditions) > 0 || spec.paused` (rollout/sync.go).
  `kubectl argo rollouts restart` sets spec.restartAt and the controller deletes each pod, its own ReplicaSet making
  it again from its template (rollout/restart.go); `kubectl argo rollouts promote` clears spec.paused and the pause
  conditions (pkg/kubectl-argo-rollouts/cmd/promote/promote.go: unpausePatch, clearPauseConditionsPatch; v1.8 has no
  `resume`).
- A Rollout's ReplicaSets: tests/checks/test_idle_controllers.py rollout_replicaset (rollout/sync.go
  createDesiredReplicaSet); injector webhooks, namespaces, control plane: tests/checks/test_idle_workloads.py.
"""

from __future__ import annotations

import copy
from typing import Any

from auditor import kinds as K
from auditor import mesh
from tests import factory as f
from tests.checks.test_idle_controllers import LATER, rollout_pods, rollout_replicaset
from tests.checks.test_idle_workloads import ASM_TAKES_ALL, CHECK, base, codes

ASM = {mesh.ASM_INJECT_LABEL: "true"}


def _commands(remediation: str) -> str:
    """The remediation's command lines (its `# ...` notes left out)."""
    return "\n".join(line for line in remediation.splitlines() if not line.lstrip().startswith("#"))


def paused_at_zero(rs_labelled: bool) -> list[dict[str, Any]]:
    """Deployment `reports` scaled to 0 and paused, then labelled for ASM: its only ReplicaSet (made before, at 0)
    has the earlier template's labels, unless `rs_labelled`."""
    dep, rs = f.deployment("reports", replicas=0, template_labels={"app": "reports", **ASM})
    dep["spec"]["paused"] = True
    dep["status"] = {"observedGeneration": 3,
                     "conditions": [{"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
                                     "message": "Deployment is paused"}]}
    if not rs_labelled:
        template_hash = rs["metadata"]["labels"]["pod-template-hash"]
        rs["metadata"]["labels"] = {"app": "reports", "pod-template-hash": template_hash}
        rs["spec"]["template"] = copy.deepcopy(rs["spec"]["template"])  # (f.deployment shares one template)
        rs["spec"]["template"]["metadata"]["labels"] = {"app": "reports"}
    rs["status"] = {"replicas": 0}
    return [dep, rs]


def test_a_paused_deployment_at_zero_labelled_after_its_pause_fails(audit):
    """Old: PASS AA1201 (its template asks for ASM's proxy, ASM's injector takes it: GO); a scale-up scales its
    earlier ReplicaSet, whose pods Istio's injector takes. New: FAIL AA1218, the step `kubectl rollout resume`."""
    run = audit({"c1": [*base(), *paused_at_zero(rs_labelled=False)]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert codes(run)[("Deployment", "reports")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["reports"]
    assert row["evidence"]["update_hold"] == "paused"
    assert row["evidence"]["template_of"].startswith("ReplicaSet shop/reports-")
    assert "rollout resume deployment/reports" in row["remediation"]
    assert run.result.verdict.value == "NO-GO"


def test_a_paused_deployment_at_zero_whose_replicaset_is_labelled_passes(audit):
    run = audit({"c1": [*base(), *paused_at_zero(rs_labelled=True)]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_paused_deployment_at_zero_with_replicasets_unread_is_unknown(audit):
    run = audit({"c1": [*base(), *paused_at_zero(rs_labelled=False)]}, "uninstall", asm_openapi=ASM_TAKES_ALL,
                unreadable={"c1": {K.REPLICASET: "403 Forbidden"}})
    found = [(r["status"], r["code"]) for r in run.rows(CHECK)]
    assert ("UNKNOWN", "AA1236") in found
    assert ("PASS", "AA1201") not in found


def test_a_paused_deployment_whose_pods_lost_their_proxy_is_resumed_not_restarted(audit):
    """At the finished gate, pods of a paused Deployment labelled for ASM run no proxy (AA1220): old remediation
    `kubectl rollout restart deployment/web`, which kubectl refuses for a paused Deployment."""
    dep, rs = f.deployment("web", template_labels={"app": "web", **ASM})
    dep["spec"]["paused"] = True
    rs["metadata"]["labels"] = {"app": "web", "pod-template-hash": rs["metadata"]["labels"]["pod-template-hash"]}
    pods = f.workload_pods((dep, rs), 2, proxy=None, created=LATER)
    run = audit({"c1": [*base(istio=False), dep, rs, *pods]}, "finished", asm_openapi=ASM_TAKES_ALL)
    row = run.by_name(CHECK)["web"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1220")
    assert "rollout resume deployment/web" in row["remediation"]


def reverted_while_paused() -> list[dict[str, Any]]:
    """Deployment `reports` rolled to an ASM-labelled template (its ReplicaSet RS2, the newest), paused, its template
    put back to the earlier, unlabelled one (RS1's, older), then scaled to 0: no ReplicaSet is active (spec.replicas
    0), so a scale-up scales the ReplicaSet whose template equals the Deployment's (FindNewReplicaSet, EqualIgnoreHash),
    RS1, and only with none such the newest (kubernetes/kubernetes@v1.31.0 pkg/controller/deployment/util/
    deployment_util.go FindActiveOrLatest: `if newRS != nil { return newRS }; return oldRSs[0]`)."""
    dep, rs1 = f.deployment("reports", replicas=0, template_labels={"app": "reports"})
    dep["spec"]["paused"] = True
    dep["status"] = {"observedGeneration": 5,
                     "conditions": [{"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
                                     "message": "Deployment is paused"}]}
    rs1["spec"]["replicas"], rs1["status"] = 0, {"replicas": 0}
    rs1["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    _, rs2 = f.deployment("reports", replicas=0, template_labels={"app": "reports", **ASM})
    labelled_hash = "5f8d9c7b6"
    rs2["metadata"].update(name=f"reports-{labelled_hash}", uid=f._uid("shop", f"reports-{labelled_hash}"),
                           creationTimestamp=LATER, annotations={"deployment.kubernetes.io/revision": "2"})
    rs2["metadata"]["labels"] = {"app": "reports", **ASM, "pod-template-hash": labelled_hash}
    rs2["metadata"]["ownerReferences"] = rs1["metadata"]["ownerReferences"]
    rs2["spec"]["template"] = copy.deepcopy(rs2["spec"]["template"])
    rs2["spec"]["template"]["metadata"]["labels"] = {"app": "reports", **ASM, "pod-template-hash": labelled_hash}
    rs2["spec"]["replicas"], rs2["status"] = 0, {"replicas": 0}
    return [dep, rs1, rs2]


def test_a_paused_deployment_at_zero_reverted_to_its_unlabelled_template_fails(audit):
    """Old: judged by the newest ReplicaSet (RS2, labelled for ASM): PASS AA1201, GO; a scale-up scales RS1 (its
    template is the Deployment's), whose pods Istio's injector takes. New: FAIL AA1218."""
    run = audit({"c1": [*base(), *reverted_while_paused()]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert codes(run)[("Deployment", "reports")] == ("FAIL", "AA1218")
    assert run.result.verdict.value == "NO-GO"


def test_a_paused_deployment_at_zero_whose_newest_replicaset_is_unlabelled_still_fails(audit):
    """The other way round: the template labelled for ASM and an older ReplicaSet whose labels are its own, the newest
    not labelled. Labels alone do not prove the older one's template is the Deployment's (an image may differ), and
    then the newest is scaled: judged by the one not labelled for ASM, as before (FAIL AA1218)."""
    dep, rs1, rs2 = reverted_while_paused()
    dep["spec"]["template"]["metadata"]["labels"] = {"app": "reports", **ASM}
    for rs, labels in ((rs1, {"app": "reports", **ASM}), (rs2, {"app": "reports"})):  # RS1 older, RS2 newest
        labels["pod-template-hash"] = rs["metadata"]["labels"]["pod-template-hash"]
        rs["metadata"]["labels"] = labels
        rs["spec"]["template"] = copy.deepcopy(rs["spec"]["template"])
        rs["spec"]["template"]["metadata"]["labels"] = dict(labels)
    run = audit({"c1": [*base(), dep, rs1, rs2]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert codes(run)[("Deployment", "reports")] == ("FAIL", "AA1218")


# ------------------------------------------------------------------ Argo Rollouts
STABLE, CANARY = "6b9f7d8c5", "7c4d5e6f8"


def rollout(name: str = "checkout", *, replicas: int = 4, labels: dict[str, str] | None = None,
            paused: bool = False, pause_step: bool = False, stable: str = STABLE, current: str = CANARY,
            workload_ref: str = "") -> dict[str, Any]:
    """A canary Rollout with steps setWeight 25, pause {}, setWeight 100 (types.go RolloutSpec, RolloutStatus)."""
    spec: dict[str, Any] = {
        "replicas": replicas, "revisionHistoryLimit": 3,
        "selector": {"matchLabels": {"app": name}},
        "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 100}]}}}
    if workload_ref:
        spec["workloadRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload_ref,
                               "scaleDown": "progressively"}
    else:
        spec["template"] = {"metadata": {"labels": {"app": name, **(labels or {})}},
                            "spec": {"containers": [{"name": "app", "image": f"registry.example.com/shop/{name}:2.0"}]}}
    if paused:
        spec["paused"] = True
    status: dict[str, Any] = {"currentPodHash": current, "stableRS": stable, "replicas": replicas,
                              "observedGeneration": "5", "phase": "Paused" if paused or pause_step else "Progressing",
                              "currentStepIndex": 1 if pause_step else 0, "canary": {}}
    if pause_step:
        status.update(pauseConditions=[{"reason": "CanaryPauseStep", "startTime": LATER}], controllerPause=True)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": f.meta(name, "shop", {"app": name}, generation=5), "spec": spec, "status": status}


def canary_in_flight(ro: dict[str, Any], stable_pods: int, canary_pods: int) -> list[dict[str, Any]]:
    """The stable ReplicaSet (earlier template, no ASM label) on Istio's sidecar, the canary (labelled) on ASM's."""
    stable = rollout_replicaset("checkout", STABLE, 1, stable_pods)
    canary = rollout_replicaset("checkout", CANARY, 2, canary_pods, labels=ASM, created=LATER)
    return [ro, stable, canary, *rollout_pods(stable, stable_pods, proxy="istio"),
            *rollout_pods(canary, canary_pods, proxy="asm")]


def test_a_rollout_paused_at_a_canary_pause_step_is_held_and_promoted(audit):
    """Old: AA1210 (the Rollout not read: "not labelled yet"), `kubectl argo rollouts restart`, which recreates the
    stable pods from the same template. New: AA1241, `kubectl argo rollouts promote`."""
    objs = canary_in_flight(rollout(labels=ASM, pause_step=True), 3, 1)
    run = audit({"c1": [*base(), *objs]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == "Rollout paused"
    assert "kubectl argo rollouts promote -n shop -- checkout" in row["remediation"]
    assert "kubectl argo rollouts restart" not in _commands(row["remediation"])


def test_a_rollout_whose_canary_steps_are_under_way_is_held(audit):
    objs = canary_in_flight(rollout(labels=ASM), 3, 1)
    run = audit({"c1": [*base(), *objs]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == "Rollout update not promoted"
    assert "argo rollouts promote" in row["remediation"]
    assert "kubectl argo rollouts restart" not in _commands(row["remediation"])


def test_a_paused_rollout_not_labelled_is_patched_then_promoted(audit):
    """spec.paused, its template without ASM's label: the label goes on the Rollout's template, then it is promoted
    (old: a comment and `kubectl argo rollouts restart`)."""
    ro = rollout(paused=True, stable=STABLE, current=STABLE)
    stable = rollout_replicaset("checkout", STABLE, 1, 2)
    run = audit({"c1": [*base(), ro, stable, *rollout_pods(stable, 2, proxy="istio")]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1210")
    assert "patch rollouts.argoproj.io/checkout --type='merge'" in row["remediation"]
    assert "kubectl argo rollouts promote -n shop -- checkout" in row["remediation"]


def test_a_rollout_with_a_workload_ref_is_labelled_through_its_deployment(audit):
    """spec.workloadRef: the Rollout's template is its Deployment's (scaled to 0 by the Rollout)."""
    dep, dep_rs = f.deployment("checkout-template", replicas=0, template_labels={"app": "checkout", **ASM})
    dep["status"] = {"observedGeneration": 2}
    dep_rs["status"] = {"replicas": 0}
    objs = canary_in_flight(rollout(workload_ref="checkout-template", pause_step=True), 3, 1)
    run = audit({"c1": [*base(), dep, dep_rs, *objs]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")  # old: AA1210, its template not read
    # Not labelled: the patch goes on the Deployment.
    dep["spec"]["template"]["metadata"]["labels"] = {"app": "checkout"}
    run = audit({"c1": [*base(), dep, dep_rs, *objs]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1210")
    assert "patch deployment/checkout-template --type='merge'" in row["remediation"]


def test_a_paused_rollout_at_zero_whose_canary_is_labelled_fails(audit):
    """Scaled to 0 while paused at its pause step: its newest ReplicaSet (the canary) is labelled, its stable one not;
    a scale-up gives the stable one the replicas the canary's weight does not take. Old: PASS AA1201 (judged by the
    newest: GO). New: FAIL AA1218, the step `kubectl argo rollouts promote`."""
    ro = rollout(replicas=0, labels=ASM, pause_step=True)
    objs = [ro, rollout_replicaset("checkout", STABLE, 1, 0),
            rollout_replicaset("checkout", CANARY, 2, 0, labels=ASM, created=LATER)]
    run = audit({"c1": [*base(), *objs]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert codes(run)[("Rollout", "checkout")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["checkout"]
    assert row["evidence"]["template_of"] == f"ReplicaSet shop/checkout-{STABLE}"
    assert "argo rollouts promote" in row["remediation"]
    # Promoted (stableRS is the canary): PASS.
    done = rollout(replicas=0, labels=ASM, stable=CANARY, current=CANARY)
    run = audit({"c1": [*base(), done, *objs[1:]]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_an_idle_rollout_with_the_rollouts_unread_is_unknown(audit):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": f.meta("rollouts.argoproj.io"),
           "spec": {"group": "argoproj.io", "scope": "Namespaced",
                    "names": {"kind": "Rollout", "plural": "rollouts", "singular": "rollout", "shortNames": ["ro"]},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True}]}}
    objs = [crd, rollout_replicaset("checkout", STABLE, 1, 0),
            rollout_replicaset("checkout", CANARY, 2, 0, labels=ASM, created=LATER)]
    run = audit({"c1": [*base(), *objs]}, "uninstall", asm_openapi=ASM_TAKES_ALL,
                unreadable={"c1": {K.ARGO_ROLLOUT: "403 Forbidden"}})
    assert ("UNKNOWN", "AA1238") in [(r["status"], r["code"]) for r in run.rows(CHECK)]


def held_rollout_losing_its_proxy() -> list[dict[str, Any]]:
    """At a canary pause step, its template labelled for ASM: the canary ReplicaSet (listed first: the API server
    lists by name) runs ASM's proxy, the stable one's pods run none (made from the earlier, unlabelled template)."""
    canary_hash = "1d2c3b4a5"
    ro = rollout(labels=ASM, pause_step=True, current=canary_hash)
    canary = rollout_replicaset("checkout", canary_hash, 2, 1, labels=ASM, created=LATER)
    stable = rollout_replicaset("checkout", STABLE, 1, 3)
    return [ro, canary, stable, *rollout_pods(canary, 1, proxy="asm"), *rollout_pods(stable, 3, proxy=None)]


def test_a_held_rollout_whose_stable_pods_lost_their_proxy_is_promoted_not_restarted(audit):
    """AA1220 at the finished gate. Old remediation `kubectl argo rollouts restart`, which recreates the stable pods
    from their own, unlabelled ReplicaSet (argo-rollouts@v1.8.4 rollout/restart.go): they never reach ASM. New: the
    release (promote), as AA1241's."""
    run = audit({"c1": [*base(istio=False), *held_rollout_losing_its_proxy()]}, "finished", asm_openapi=ASM_TAKES_ALL)
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1220")
    commands = _commands(row["remediation"])
    assert "kubectl argo rollouts promote -n shop -- checkout" in commands
    assert "kubectl argo rollouts restart" not in commands


def _gated_promote(remediation: str) -> None:
    """The Rollout's state is shown first (`kubectl argo rollouts get rollout`), nothing waits on `status` (it returns
    only once Healthy or Degraded: at a pause step it times out), and promote is a step of its own, a `#` line saying
    when above it: run at a setWeight step or during an analysis, promote skips it (argoproj/argo-rollouts@v1.8.4
    pkg/kubectl-argo-rollouts/cmd/promote/promote.go: not paused, it moves status.currentStepIndex on)."""
    lines = remediation.splitlines()
    commands = _commands(remediation)
    assert "kubectl argo rollouts status" not in commands
    shown = next(i for i, line in enumerate(lines) if "kubectl argo rollouts get rollout -n shop -- checkout" in line)
    promote = next(i for i, line in enumerate(lines) if "kubectl argo rollouts promote -n shop -- checkout" in line)
    assert shown < promote and lines[promote - 1].lstrip().startswith("#")


def test_a_rollout_under_way_is_shown_before_a_gated_promote(audit):
    """AA1241 of a Rollout whose canary steps are under way: old `status --timeout 300s` then `promote`, whatever the
    step (a promote during setWeight or analysis skips it)."""
    run = audit({"c1": [*base(), *canary_in_flight(rollout(labels=ASM), 3, 1)]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    _gated_promote(row["remediation"])


def test_a_rollout_labelled_now_is_shown_before_a_gated_promote(audit):
    """AA1210 of a Rollout not held, not labelled: the label goes on its template, its strategy rolls it out, and
    promote is run only where it waits (old: `status --timeout 300s` then `promote`)."""
    ro = rollout(stable=STABLE, current=STABLE)
    stable = rollout_replicaset("checkout", STABLE, 1, 2)
    run = audit({"c1": [*base(), ro, stable, *rollout_pods(stable, 2, proxy="istio")]}, "uninstall")
    row = run.by_name(CHECK)["checkout"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1210")
    assert "patch rollouts.argoproj.io/checkout --type='merge'" in row["remediation"]
    _gated_promote(row["remediation"])
