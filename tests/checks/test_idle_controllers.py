"""istio-sidecars-remaining and the workloads of controllers the auditor does not read, when they run no pod (red19a).

auditor/idle.py judges the workloads that run no pod by their own templates (Deployments, StatefulSets, DaemonSets,
CronJobs, ReplicationControllers, CloneSets). Argo Rollouts and KEDA's ScaledJob are kinds the auditor does not read:
their pods are judged through the ReplicaSets and Jobs they own, whose templates inventory.slim keeps (podwire
TEMPLATE_OWNER_KINDS). A Rollout scaled to zero (by hand, or by a KEDA ScaledObject whose scaleTargetRef names it) and
a ScaledJob between runs show no pod, so on main the check counted nothing of them and passed (AA1201: GO at the
uninstall gate, and at the finished gate), while their next pods get Istio's sidecar from Istio's injector (then none
once the purge deletes it).

Shapes:
- A Rollout's ReplicaSet as Argo Rollouts makes it (argoproj/argo-rollouts@v1.9.1:rollout/sync.go
  createDesiredReplicaSet: name <rollout>-<pod-template-hash>, NewControllerRef to the Rollout (argoproj.io/v1alpha1),
  label rollouts-pod-template-hash on itself and its template (pkg/apis/rollouts/v1alpha1/types.go
  DefaultRolloutUniqueLabelKey), the template copied from the Rollout's spec.template (or, with spec.workloadRef, the
  referenced Deployment's: rollout/templateref.go); annotation rollout.argoproj.io/revision). Scaled to zero, every
  ReplicaSet stays with replicas 0 (revisionHistoryLimit keeps the old ones).
- A ScaledJob's Jobs as KEDA makes them (kedacore/keda@v2.20.2:pkg/scaling/executor/scale_jobs.go generateJobs:
  GenerateName <scaledjob>-, labels app.kubernetes.io/managed-by: keda-operator and scaledjob.keda.sh/name, annotation
  scaledjob.keda.sh/generation, spec copied from spec.jobTargetRef with the template label scaledjob.keda.sh/name,
  SetControllerReference to the ScaledJob (keda.sh/v1alpha1)); finished ones are kept up to successfulJobsHistoryLimit
  (default 100, defaultSuccessfulJobsHistoryLimit).
- The injector webhooks, namespaces and control plane: tests/checks/test_idle_workloads.py (istio-discovery
  mutatingwebhook.yaml @1.24.6; ASM's injector as the demo models it).
"""

from __future__ import annotations

from typing import Any

from auditor import mesh
from tests import factory as f
from tests.checks.test_idle_workloads import ASM_TAKES_ALL, CHECK, base, codes

LATER = "2026-11-12T08:00:00Z"


def _template(app: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app, **(extra or {})}},
            "spec": {"containers": [{"name": "app", "image": f"registry.example.com/shop/{app}:2.0"}]}}


def rollout_replicaset(rollout: str, template_hash: str, revision: int, replicas: int, *, namespace: str = "shop",
                       labels: dict[str, str] | None = None, created: str = f.T0) -> dict[str, Any]:
    """argo-rollouts@v1.9.1 rollout/sync.go createDesiredReplicaSet's ReplicaSet (see the module's docstring)."""
    hashed = {"rollouts-pod-template-hash": template_hash}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": f.meta(f"{rollout}-{template_hash}", namespace, {"app": rollout, **hashed},
                               {"rollout.argoproj.io/revision": str(revision)}, created, ownerReferences=[
                                   {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": rollout,
                                    "uid": f._uid(namespace, rollout), "controller": True,
                                    "blockOwnerDeletion": True}]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": rollout, **hashed}},
                     "template": _template(rollout, {**hashed, **(labels or {})})},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "observedGeneration": 1}}


def rollout_pods(rs: dict[str, Any], count: int, proxy: str = "asm") -> list[dict[str, Any]]:
    name = rs["metadata"]["name"]
    labels = rs["spec"]["template"]["metadata"]["labels"]
    return [f.pod(f"{name}-{i}", rs["metadata"]["namespace"], proxy=proxy, owner=("ReplicaSet", name),
                  labels=dict(labels)) for i in range(count)]


def scaledjob_job(scaled_job: str, suffix: str, *, namespace: str = "batch", labels: dict[str, str] | None = None,
                  created: str = f.T0, done: bool = True) -> dict[str, Any]:
    """keda@v2.20.2 scale_jobs.go generateJobs' Job (see the module's docstring), finished or running."""
    meta_labels = {"app.kubernetes.io/name": scaled_job, "app.kubernetes.io/version": "2.20.2",
                   "app.kubernetes.io/part-of": scaled_job, "app.kubernetes.io/managed-by": "keda-operator",
                   "scaledjob.keda.sh/name": scaled_job}
    template = _template(scaled_job, {"scaledjob.keda.sh/name": scaled_job, **(labels or {})})
    template["spec"]["restartPolicy"] = "OnFailure"
    status: dict[str, Any] = {"startTime": created}
    if done:
        status.update({"succeeded": 1, "completionTime": created,
                       "conditions": [{"type": "Complete", "status": "True"}]})
    else:
        status["active"] = 1
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": f.meta(f"{scaled_job}-{suffix}", namespace, meta_labels,
                               {"scaledjob.keda.sh/generation": "1"}, created, ownerReferences=[
                                   {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "name": scaled_job,
                                    "uid": f._uid(namespace, scaled_job), "controller": True,
                                    "blockOwnerDeletion": True}]),
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": template},
            "status": status}


# ------------------------------------------------------------------ Argo Rollouts scaled to zero
def test_a_rollout_scaled_to_zero_that_istio_still_injects_fails(audit):
    """main: AA1201 PASS (GO at the uninstall gate): the Rollout's ReplicaSets run no pod, and only Deployments,
    StatefulSets... were looked at for idle templates."""
    objs = [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0),
            rollout_replicaset("checkout", "7c4d5e6f8", 2, 0, created=LATER)]
    run = audit({"c1": [*base(), *objs]}, "uninstall")
    assert codes(run)[("Rollout", "checkout")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["checkout"]
    assert row["namespace"] == "shop"
    assert row["evidence"]["istio_injectors"] == ["istio-sidecar-injector (namespace.sidecar-injector.istio.io)"]
    assert row["evidence"]["template_of"] == "ReplicaSet shop/checkout-7c4d5e6f8"  # the newest one
    # The Rollout's own plugin restarts it, after the label in its template (or in its workloadRef's Deployment's).
    assert "argo rollouts restart" in row["remediation"]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]
    assert run.result.verdict.value == "NO-GO"


def test_after_the_purge_a_rollout_scaled_to_zero_gets_no_proxy(audit):
    run = audit({"c1": [*base(istio=False), rollout_replicaset("checkout", "6b9f7d8c5", 1, 0)]}, "finished")
    assert codes(run)[("Rollout", "checkout")] == ("FAIL", "AA1219")
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]


def test_a_rollout_scaled_to_zero_labelled_for_asm_passes(audit):
    """Its newest ReplicaSet's template carries ASM's label: the controller makes the ReplicaSet of a changed template
    whatever the replicas (argo-rollouts@v1.9.1 rollout/controller.go: `if roCtx.newRS == nil` ->
    createDesiredReplicaSet, at 0 replicas); an older one without the label, kept for rollback, says nothing of its
    next pods."""
    objs = [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0),
            rollout_replicaset("checkout", "7c4d5e6f8", 2, 0, labels={mesh.ASM_INJECT_LABEL: "true"},
                               created=LATER)]
    for gate, istio in (("uninstall", True), ("finished", False)):
        run = audit({"c1": [*base(istio=istio), *objs]}, gate, asm_openapi=ASM_TAKES_ALL)
        assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")], gate


def test_a_running_rollout_is_judged_by_its_pods_only(audit):
    old = rollout_replicaset("checkout", "6b9f7d8c5", 1, 0)
    new = rollout_replicaset("checkout", "7c4d5e6f8", 2, 2, labels={mesh.ASM_INJECT_LABEL: "true"}, created=LATER)
    run = audit({"c1": [*base(), old, new, *rollout_pods(new, 2)]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_rollout_in_a_namespace_nothing_injects_passes(audit):
    run = audit({"c1": [*base(), rollout_replicaset("checkout", "6b9f7d8c5", 1, 0, namespace="plain")]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


# ------------------------------------------------------------------ KEDA ScaledJob between runs
def test_a_scaledjob_between_runs_that_istio_still_injects_fails(audit):
    """main: AA1201 PASS. Its finished Jobs' pods are Succeeded (not active), and a finished Job makes no pod again,
    but the ScaledJob makes new Jobs from the same template at its next trigger."""
    jobs = [scaledjob_job("queue-worker", "x7b2k"), scaledjob_job("queue-worker", "p4m9q", created=LATER)]
    pods = [f.pod("queue-worker-x7b2k-abcde", "batch", proxy="istio", owner=("Job", "queue-worker-x7b2k"),
                  phase="Succeeded")]
    run = audit({"c1": [*base(), *jobs, *pods]}, "uninstall")
    assert codes(run)[("ScaledJob", "queue-worker")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["queue-worker"]
    assert row["namespace"] == "batch"
    assert row["evidence"]["template_of"] == "Job batch/queue-worker-p4m9q"
    # The patch goes to the ScaledJob's spec.jobTargetRef.template (KEDA copies it into every Job it makes).
    assert "patch scaledjobs.keda.sh/queue-worker" in row["remediation"]
    assert '"jobTargetRef":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}' in \
        row["remediation"]
    assert run.result.verdict.value == "NO-GO"


def test_after_the_purge_a_scaledjob_between_runs_gets_no_proxy(audit):
    run = audit({"c1": [*base(istio=False), scaledjob_job("queue-worker", "x7b2k")]}, "finished")
    assert codes(run)[("ScaledJob", "queue-worker")] == ("FAIL", "AA1219")


def test_a_scaledjob_whose_newest_job_is_labelled_or_running_passes(audit):
    labelled = [scaledjob_job("queue-worker", "x7b2k"),
                scaledjob_job("queue-worker", "p4m9q", labels={mesh.ASM_INJECT_LABEL: "true"}, created=LATER)]
    running = scaledjob_job("mailer", "r2d2x", done=False)
    pods = [f.pod("mailer-r2d2x-abcde", "batch", proxy="asm", owner=("Job", "mailer-r2d2x"))]
    run = audit({"c1": [*base(), *labelled, running, *pods]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_job_of_an_owner_that_does_not_make_jobs_again_is_not_an_idle_workload(audit):
    """Only the owners known to make Jobs again from one template (KEDA's ScaledJob) are judged as idle workloads: a
    finished Job of anything else (a JobSet, a Helm hook's owner) makes no pod again."""
    job = scaledjob_job("trainer", "a1b2c")
    job["metadata"]["ownerReferences"][0].update({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet"})
    run = audit({"c1": [*base(), job]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


# ------------------------------------------------------------------ OpenKruise Advanced StatefulSet / DaemonSet
# openkruise/kruise@v1.9.0: apis/apps/v1beta1/statefulset_types.go (apps.kruise.io/v1beta1 StatefulSet, shortNames
# sts/asts, spec.updateStrategy.rollingUpdate.podUpdatePolicy ReCreate|InPlaceIfPossible|InPlaceOnly) and
# daemonset_types.go (apps.kruise.io/v1beta1 DaemonSet, rollingUpdate.rollingUpdateType); their controllers make pods
# from spec.template owned through NewControllerRef(set, apps.kruise.io/v1beta1 StatefulSet | DaemonSet)
# (pkg/controller/statefulset/stateful_set_utils.go newStatefulSetPod: <set>-<ordinal>, label
# statefulset.kubernetes.io/pod-name; pkg/controller/daemonset/daemonset_controller.go).
def advanced_statefulset(name: str, replicas: int, *, namespace: str = "shop", labels: dict[str, str] | None = None,
                         template: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet", "metadata": f.meta(name, namespace),
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "template": template or _template(name, labels),
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"podUpdatePolicy": "ReCreate", "maxUnavailable": 1}}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "observedGeneration": 1}}


def advanced_daemonset(name: str, *, namespace: str = "shop") -> dict[str, Any]:
    template = _template(name)
    template["spec"]["nodeSelector"] = {"pool": "gpu"}
    return {"apiVersion": "apps.kruise.io/v1beta1", "kind": "DaemonSet", "metadata": f.meta(name, namespace),
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template,
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"rollingUpdateType": "Standard", "maxUnavailable": 1}}},
            "status": {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberReady": 0,
                       "numberMisscheduled": 0, "numberAvailable": 0}}


def advanced_pods(name: str, count: int, proxy: str, *, namespace: str = "shop",
                  labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    pods = []
    for i in range(count):
        pod = f.pod(f"{name}-{i}", namespace, proxy=proxy, owner=("StatefulSet", name),
                    labels={"app": name, "statefulset.kubernetes.io/pod-name": f"{name}-{i}", **(labels or {})})
        pod["metadata"]["ownerReferences"][0]["apiVersion"] = "apps.kruise.io/v1beta1"
        pods.append(pod)
    return pods


ASTS = "StatefulSet.apps.kruise.io"


def test_an_advanced_statefulset_scaled_to_zero_that_istio_still_injects_fails(audit):
    """main: not read (its kind name is the built-in's, its group OpenKruise's): AA1201 PASS, GO."""
    run = audit({"c1": [*base(), advanced_statefulset("ledger", 0)]}, "uninstall")
    assert codes(run)[(ASTS, "ledger")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["ledger"]
    assert "patch statefulsets.apps.kruise.io/ledger " in row["remediation"]
    assert "podUpdatePolicy" in row["remediation"]  # in place, the pods would keep their sidecar
    assert run.result.verdict.value == "NO-GO"


def test_after_the_purge_an_advanced_statefulset_scaled_to_zero_gets_no_proxy(audit):
    run = audit({"c1": [*base(istio=False), advanced_statefulset("ledger", 0)]}, "finished")
    assert codes(run)[(ASTS, "ledger")] == ("FAIL", "AA1219")


def test_an_advanced_daemonset_no_node_runs_fails(audit):
    run = audit({"c1": [*base(), advanced_daemonset("gpu-agent")]}, "uninstall")
    assert codes(run)[("DaemonSet.apps.kruise.io", "gpu-agent")] == ("FAIL", "AA1218")
    assert "patch daemonsets.apps.kruise.io/gpu-agent " in run.by_name(CHECK)["gpu-agent"]["remediation"]


def test_pods_of_an_advanced_statefulset_are_told_to_patch_it_not_the_builtin(audit):
    """main: workload StatefulSet/ledger, remediation `kubectl patch statefulset/ledger`: the apps/v1 resource, which
    is not there (or is another workload of the same name)."""
    run = audit({"c1": [*base(), advanced_statefulset("ledger", 2), *advanced_pods("ledger", 2, "istio")]},
                "uninstall")
    row = run.by_name(CHECK)["ledger"]
    assert (row["status"], row["code"], row["kind"]) == ("FAIL", "AA1210", ASTS)
    assert "patch statefulsets.apps.kruise.io/ledger " in row["remediation"]
    assert "statefulset/ledger" not in row["remediation"]


def test_a_restart_pending_advanced_statefulset_is_rolled_by_its_controller(audit):
    """No restart verb of kubectl's (nor of the kruise plugin's) takes it: with podUpdatePolicy ReCreate its template's
    restartedAt annotation is changed and its controller rolls the pods (red22f: no longer every pod deleted back to
    back; tests/checks/test_kruise_holds.py)."""
    labels = {mesh.ASM_INJECT_LABEL: "true"}
    run = audit({"c1": [*base(), advanced_statefulset("ledger", 2, labels=labels),
                        *advanced_pods("ledger", 2, "istio", labels=labels)]}, "uninstall")
    row = run.by_name(CHECK)["ledger"]
    assert (row["status"], row["code"], row["kind"]) == ("FAIL", "AA1211", ASTS)
    assert "patch statefulsets.apps.kruise.io/ledger " in row["remediation"]
    assert "rollout restart" not in row["remediation"]


def test_a_running_advanced_statefulset_on_asm_and_a_builtin_beside_it_pass(audit):
    labels = {mesh.ASM_INJECT_LABEL: "true"}
    builtin = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta("cache", "shop"),
               "spec": {"replicas": 1, "serviceName": "cache", "selector": {"matchLabels": {"app": "cache"}},
                        "template": _template("cache", labels)},
               "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}}
    cache_pod = f.pod("cache-0", "shop", proxy="asm", owner=("StatefulSet", "cache"), labels={"app": "cache", **labels})
    run = audit({"c1": [*base(), advanced_statefulset("ledger", 2, labels=labels),
                        *advanced_pods("ledger", 2, "asm", labels=labels), builtin, cache_pod]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_kube_injected_advanced_statefulset_scaled_to_zero_fails_manual_injection(audit):
    """main: manual-injection did not read it (AA0601 PASS), and idle skips templates that hold istio-proxy (judged
    by manual-injection): the uninstall gate said GO for a workload whose next pods bring Istio's sidecar back."""
    from tests.checks.test_workloads import injected_template
    sts = advanced_statefulset("ledger", 0, template=injected_template("ledger", "shop"))
    run = audit({"c1": [*base(), sts]}, "uninstall")
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA0610", ASTS, "ledger")
    assert "statefulsets.apps.kruise.io/ledger" in row["remediation"] or "statefulset.apps.kruise.io" in \
        row["remediation"]


def test_scaledjob_commands_patch_its_job_target_template_and_wait_for_its_next_run():
    assert mesh.asm_inject_command("c1", "ScaledJob", "batch", "queue-worker") == (
        'kubectl --kubeconfig="${KUBECONFIG_C1:?}" -n batch patch scaledjobs.keda.sh/queue-worker --type=\'merge\' -p '
        '\'{"spec":{"jobTargetRef":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}}\'')
    # A CronJob's patch is the one it always was (spec.jobTemplate.spec.template).
    assert mesh.asm_inject_command("c1", "CronJob", "batch", "nightly").endswith(
        '\'{"spec":{"jobTemplate":{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}}}\'')
    assert mesh.restart_command("c1", "ScaledJob", "batch", "q;rm") == (
        "# pods of ScaledJob batch/'q;rm' pick up the change at their next run")
    assert mesh.asm_inject_command("c1", "ScaledJob", "batch", "--all").split(" patch ")[1].startswith(
        "scaledjobs.keda.sh/--all ")


def test_an_argo_cd_managed_advanced_statefulset_is_named_by_gitops_drift(audit):
    """gitops-drift looked its pods' workload up among apps/v1 StatefulSets, found none and took it as unmanaged
    (main: AA2701 PASS); Argo CD's tracking-id annotation (argo-cd docs, resource tracking: <app>:<group>/<kind>:
    <namespace>/<name>) is on the Advanced StatefulSet itself."""
    sts = advanced_statefulset("ledger", 2)
    sts["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "payments:apps.kruise.io/StatefulSet:shop/ledger"}
    run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 2, "istio")]}, "migrating")
    rows = [r for r in run.rows("gitops-drift") if r["name"] == "ledger"]
    assert [(r["status"], r["code"], r["kind"]) for r in rows] == [("WARN", "AA2720", ASTS)]


# ------------------------------------------------------------------ asm-proxies-ready: moved OpenKruise workloads short
def test_a_moved_cloneset_whose_pods_cannot_be_created_fails_asm_proxies_ready(audit):
    """A CloneSet labelled for ASM whose new pods ASM's injector refuses (or admission rejects): the CloneSet controller
    deletes the old pods and creates none (kruise@v1.9.0 CloneSetStatus availableReplicas 0 of spec.replicas): nothing
    Istio's left, no ASM pod unready. main: asm-proxies-ready read Deployments/StatefulSets/DaemonSets only:
    NOT_APPLICABLE AA1340 (GO to uninstall a mesh whose moved workload runs nothing)."""
    clone = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": f.meta("search", "shop"),
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "search"}},
                      "template": _template("search", {mesh.ASM_INJECT_LABEL: "true"}),
                      "updateStrategy": {"type": "ReCreate"}},
             "status": {"observedGeneration": 2, "replicas": 0, "readyReplicas": 0, "availableReplicas": 0,
                        "updatedReplicas": 0, "updatedReadyReplicas": 0}}
    rows = audit({"c1": [clone]}, "uninstall").rows("asm-proxies-ready")
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [("FAIL", "AA1313", "CloneSet", "search")]


def test_a_moved_advanced_statefulset_short_of_its_pods_fails_asm_proxies_ready(audit):
    labels = {mesh.ASM_INJECT_LABEL: "true"}
    sts = advanced_statefulset("ledger", 3, labels=labels)
    sts["status"].update({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1})
    run = audit({"c1": [*base(), sts, *advanced_pods("ledger", 1, "asm", labels=labels)]}, "uninstall")
    rows = [r for r in run.rows("asm-proxies-ready") if r["name"] == "ledger"]
    assert [(r["status"], r["code"], r["kind"]) for r in rows] == [("FAIL", "AA1313", ASTS)]
    assert rows[0]["evidence"]["pods"] == 1  # its one running pod counted as its own (the workload keys agree)


def test_a_moved_advanced_statefulset_with_all_its_pods_passes_asm_proxies_ready(audit):
    labels = {mesh.ASM_INJECT_LABEL: "true"}
    run = audit({"c1": [*base(), advanced_statefulset("ledger", 2, labels=labels),
                        *advanced_pods("ledger", 2, "asm", labels=labels)]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows("asm-proxies-ready")] == [("PASS", "AA1301")]


def test_a_moved_rollout_whose_pods_cannot_be_created_fails_asm_proxies_ready(audit):
    """The Rollout labelled for ASM made a new ReplicaSet (3 replicas wanted) whose pods ASM's injector refuses, and
    scaled the old one down: no Istio pod left, no ASM pod unready. main: AA1301 PASS beside the other moved workload
    (the Rollout is not read, its ReplicaSets were not counted), GO to uninstall."""
    old = rollout_replicaset("checkout", "6b9f7d8c5", 1, 0)
    new = rollout_replicaset("checkout", "7c4d5e6f8", 2, 3, labels={mesh.ASM_INJECT_LABEL: "true"}, created=LATER)
    new["status"] = {"replicas": 0, "observedGeneration": 1, "conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "admission webhook denied"}]}
    run = audit({"c1": [*base(), old, new]}, "uninstall")
    rows = run.rows("asm-proxies-ready")
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [("FAIL", "AA1313", "Rollout", "checkout")]
    assert (rows[0]["evidence"]["desired"], rows[0]["evidence"]["available"]) == (3, 0)
    # Running all its pods on ASM's proxy, it is not short.
    new["status"] = {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "observedGeneration": 1}
    run = audit({"c1": [*base(), old, new, *rollout_pods(new, 3)]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows("asm-proxies-ready")] == [("PASS", "AA1301")]


# ------------------------------------------------------------------ workload kinds unread
def test_unread_workload_kinds_leave_idle_workloads_unknown_not_a_pass(audit):
    """main: a workload kind the reader may not list (RBAC) was left out of the idle reading without a word: a
    StatefulSet scaled to zero, a Rollout's ReplicaSets, an Advanced StatefulSet unseen, AA1201 PASS, GO."""
    from auditor import kinds as K
    cases = [(K.STATEFULSET, []), (K.REPLICASET, [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0)])]
    if hasattr(K, "ADVANCED_STATEFULSET"):  # (main has no such kind: the first cases already fail there)
        # (OpenKruise installed: its CRD is there, so the kind unread is a blind spot)
        cases.append((K.ADVANCED_STATEFULSET,
                      [advanced_statefulset("ledger", 0), f.crd("statefulsets.apps.kruise.io")]))
    for kind, objs in cases:
        run = audit({"c1": [*base(), *objs]}, "uninstall", unreadable={"c1": {kind: "403 Forbidden"}})
        found = [(r["status"], r["code"]) for r in run.rows(CHECK)]
        assert ("UNKNOWN", "AA1238") in found and ("PASS", "AA1201") not in found, kind.key
        [row] = [r for r in run.rows(CHECK) if r["code"] == "AA1238"]
        [(unread_kind, why)] = row["evidence"]["unread"].items()
        assert unread_kind == K.workload_kind(kind) and why.startswith("403 Forbidden")


def test_an_openkruise_kind_not_collected_is_no_blind_spot_where_no_crd_defines_it(audit):
    """A snapshot taken before the auditor read Advanced StatefulSets holds none of them and no word of them: with the
    CRDs read and none of OpenKruise's among them, nothing of that kind can exist (no AA1238); with OpenKruise's CRD
    there, it could."""
    from auditor import kinds as K
    unread = {"c1": {kind: "not collected" for kind in K.ADVANCED_KINDS}}
    run = audit({"c1": [*base(), f.crd("virtualservices.networking.istio.io")]}, "uninstall", unreadable=unread)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]
    run = audit({"c1": [*base(), f.crd("statefulsets.apps.kruise.io")]}, "uninstall", unreadable=unread)
    [row] = [r for r in run.rows(CHECK) if r["code"] == "AA1238"]
    assert row["status"] == "UNKNOWN" and list(row["evidence"]["unread"]) == ["StatefulSet.apps.kruise.io"]


def test_manual_injection_is_not_unknown_for_an_openkruise_kind_no_crd_defines(audit):
    """The same rule for manual-injection's template kinds: a snapshot of the previous release (no Advanced
    StatefulSets collected) of a cluster without OpenKruise stays AA0601, where it would have turned AA0630 UNKNOWN."""
    from auditor import kinds as K
    unread = {"c1": {kind: "not collected" for kind in (K.CLONESET, *K.ADVANCED_KINDS)}}
    run = audit({"c1": [*base(), f.crd("virtualservices.networking.istio.io")]}, "uninstall", unreadable=unread)
    assert [(r["status"], r["code"]) for r in run.rows("manual-injection")] == [("PASS", "AA0601")]
    run = audit({"c1": [*base(), f.crd("clonesets.apps.kruise.io")]}, "uninstall", unreadable=unread)
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0630")
    assert list(row["evidence"]["unread_kinds"]) == ["CloneSet"]
