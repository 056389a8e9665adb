"""stuck-sidecar-jobs: Job pods held Running by a classic sidecar after their application ended.

Shapes: the Job controller's pods (owner reference to the Job, label job-name, restartPolicy Never; tests/factory
job_pod: phase Running, app container terminated with exit 0, classic istio-proxy still running, Ready False);
a CronJob's Jobs are named <cronjob>-<scheduled minute> and owned by the CronJob (kubernetes
pkg/controller/cronjob/utils.go getJobFromTemplate2).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f

CHECK = "stuck-sidecar-jobs"
CONFIG = f.only_checks(CHECK)


def job(name: str, namespace: str, cronjob: str | None = None) -> dict[str, Any]:
    m = f.meta(name, namespace, {"job-name": name})
    if cronjob:
        m["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob,
                                 "uid": f._uid(namespace, cronjob), "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": m,
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                     "template": {"metadata": {"labels": {"job-name": name}},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "app", "image": "registry.example.com/job:1"}]}}},
            "status": {"active": 1, "startTime": f.T0}}


def cronjob(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, namespace),
            "spec": {"schedule": "0 2 * * *", "concurrencyPolicy": "Forbid",
                     "jobTemplate": {"spec": {"template": {"spec": {
                         "restartPolicy": "Never",
                         "containers": [{"name": "app", "image": "registry.example.com/report:1"}]}}}}}}


def test_job_pods_held_by_istio_sidecar_fail_with_the_command_ending_each_proxy(audit):
    objects = [job("migrate-db", "data"), f.job_pod("migrate-db-7x2k4", "data", "migrate-db"),
               f.job_pod("migrate-db-9q4m8", "data", "migrate-db")]
    for phase in ("migrating", "uninstall"):
        [row] = audit({"c1": objects}, phase, config=CONFIG).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2910", "major")
        assert (row["kind"], row["namespace"], row["name"]) == ("Job", "data", "migrate-db")
        assert row["evidence"]["pods"] == ["migrate-db-7x2k4", "migrate-db-9q4m8"]
        # Advice lines, then one command a line (none ends a sentence: `quitquitquit.` is another path).
        assert [line for line in row["remediation"].splitlines() if line.startswith("kubectl ")] == [
            'kubectl --kubeconfig="${KUBECONFIG_C1:?}" -n data exec pod/migrate-db-7x2k4 -c istio-proxy '
            "-- pilot-agent request POST quitquitquit",
            'kubectl --kubeconfig="${KUBECONFIG_C1:?}" -n data exec pod/migrate-db-9q4m8 -c istio-proxy '
            "-- pilot-agent request POST quitquitquit"]
        assert row["evidence"]["pod_count"] == 2 and row["evidence"]["jobs"] == ["migrate-db"]


def test_not_audited_at_assessment(audit):
    objects = [job("migrate-db", "data"), f.job_pod("migrate-db-7x2k4", "data", "migrate-db")]
    assert audit({"c1": objects}, "assessment", config=CONFIG).rows(CHECK) == []


def test_cronjob_pods_held_fail_naming_the_cronjob_and_how_to_move_it(audit):
    objects = [cronjob("nightly-report", "data"), job("nightly-report-29381760", "data", cronjob="nightly-report"),
               f.job_pod("nightly-report-29381760-b7kqz", "data", "nightly-report-29381760")]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2911")
    assert (row["kind"], row["name"]) == ("CronJob", "nightly-report")
    assert row["evidence"]["jobs"] == ["nightly-report-29381760"]
    # The CronJob's move is the last command line.
    assert row["remediation"].splitlines()[-1] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n data patch cronjob/nightly-report "
        "--type='merge' -p '{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"metadata\":{\"labels\":"
        "{\"sidecar.asm.aliyun.com/inject\":\"true\"}}}}}}}'")


def test_held_pods_of_unreadable_jobs_fail_and_say_the_cronjob_cannot_be_told(audit):
    objects = [f.job_pod("nightly-report-29381760-b7kqz", "data", "nightly-report-29381760")]
    rows = audit({"c1": objects}, "migrating", config=CONFIG, unreadable={"c1": {K.JOB: "forbidden"}}).rows(CHECK)
    assert sorted((r["status"], r["code"], r["kind"], r["name"]) for r in rows) == [
        ("FAIL", "AA2910", "Job", "nightly-report-29381760"), ("UNKNOWN", "AA2930", "", "")]
    unknown = next(r for r in rows if r["status"] == "UNKNOWN")
    assert unknown["evidence"]["jobs"] == ["data/nightly-report-29381760"]


def test_unreadable_pods_are_unknown_never_pass(audit):
    run = audit({"c1": [job("migrate-db", "data")]}, "migrating", config=CONFIG,
                unreadable={"c1": {K.POD: "forbidden"}})
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("UNKNOWN", "AA0001")]


def test_job_pods_still_working_pass(audit):
    objects = [job("migrate-db", "data"), f.job_pod("migrate-db-7x2k4", "data", "migrate-db", app_finished=False)]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["classic_job_pods"]) == ("PASS", "AA2901", 1)


def test_native_sidecar_jobs_and_services_only_are_not_applicable(audit):
    dep = f.deployment("cart")
    objects = [*dep, *f.workload_pods(dep, 2), job("migrate-db", "data"),
               f.job_pod("migrate-db-7x2k4", "data", "migrate-db", native=True)]  # kubelet ends it: Succeeded
    [row] = audit({"c1": objects}, "uninstall", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2940")
    assert row["evidence"]["job_pods_with_proxy"] == 1


def test_no_pods_at_all_is_not_applicable(audit):
    [row] = audit({"c1": []}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2941")


def test_job_pods_held_by_asm_sidecar_warn_minor(audit):
    objects = [job("migrate-db", "data"), f.job_pod("migrate-db-7x2k4", "data", "migrate-db", proxy="asm")]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA2920", "minor")


def test_job_pods_held_by_a_proxy_with_contradicting_marks_have_their_own_code(audit):
    """ASM's env on Istio's release image: neither mesh's proxy for sure, judged as Istio's (blocks either way)."""
    pod = f.job_pod("migrate-db-7x2k4", "data", "migrate-db", image="docker.io/istio/proxyv2:1.22.3",
                    proxy_env={"ASM_ID": "c1"})
    [row] = audit({"c1": [job("migrate-db", "data"), pod]}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == ("FAIL", "AA2912", "major", "migrate-db")


def test_native_sidecar_job_pod_still_running_after_its_app_is_not_held(audit):
    # Istio 1.30 injects a Job's istio-proxy as a native sidecar (initContainers, restartPolicy: Always;
    # pkg/kube/inject/testdata/inject/job.yaml.injected @1.30.3): the kubelet ends it once the app is done, so a pod
    # seen Running in between (its app terminated, the sidecar being stopped) is not held, and must not fail.
    pod = f.job_pod("migrate-db-7x2k4", "data", "migrate-db", native=True)
    pod["status"]["phase"] = "Running"
    [row] = audit({"c1": [job("migrate-db", "data"), pod]}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["job_pods_with_proxy"]) == ("NOT_APPLICABLE", "AA2940", 1)


# ---------------------------------------------------------------- run-to-completion pods no Job owns
def _held_run_pod(name: str, namespace: str, owner: tuple[str, str] | None, app_containers: list[str],
                  labels: dict[str, str], api_version: str = "") -> dict[str, Any]:
    """A restartPolicy Never pod whose app containers all exited while its classic istio-proxy runs on."""
    p = f.pod(name, namespace, owner=owner, labels=labels)
    app = p["spec"]["containers"][0]
    p["spec"]["containers"] = [{**app, "name": c} for c in app_containers] + p["spec"]["containers"][1:]
    p["spec"]["restartPolicy"] = "Never"
    if owner:
        p["metadata"]["ownerReferences"][0]["apiVersion"] = api_version
    done = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": f.T0,
                           "finishedAt": "2026-11-10T08:05:00Z"}}
    p["status"]["containerStatuses"] = [
        *({"name": c, "ready": False, "restartCount": 0, "image": app["image"], "started": False, "state": done}
          for c in app_containers),
        {"name": "istio-proxy", "ready": True, "restartCount": 0, "image": f.ISTIO_PROXY_IMAGE, "started": True,
         "state": {"running": {"startedAt": f.T0}}}]
    p["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]
    return p


def argo_pod() -> dict[str, Any]:
    """An Argo Workflows step pod: owned by its Workflow (controller ref), label workflows.argoproj.io/workflow,
    restartPolicy Never (argoproj/argo-workflows@v3.7.18:workflow/controller/workflowpod.go); containers wait and
    main. Argo ends an injected sidecar by exec'ing `/bin/sh -c "kill -15 1"` in it unless the pod names the command
    (workflow/signal/signal.go, annotation workflows.argoproj.io/kill-cmd-istio-proxy; docs/sidecar-injection.md: this
    "can fail"), e.g. with no /bin/sh in a distroless proxyv2: istio-proxy then runs on."""
    return _held_run_pod("etl-7w9sd-main-3211", "data", ("Workflow", "etl-7w9sd"), ["wait", "main"],
                         {"workflows.argoproj.io/workflow": "etl-7w9sd", "workflows.argoproj.io/completed": "false"},
                         "argoproj.io/v1alpha1")


def tekton_pod() -> dict[str, Any]:
    """A Tekton TaskRun pod: owned by its TaskRun, label tekton.dev/taskRun, restartPolicy Never, steps named
    step-* (tektoncd/pipeline@v1.15.0:pkg/pod/pod.go, entrypoint.go IsContainerStep)."""
    return _held_run_pod("build-x7k2p-pod", "ci", ("TaskRun", "build-x7k2p"), ["step-clone", "step-build"],
                         {"tekton.dev/taskRun": "build-x7k2p", "app.kubernetes.io/managed-by": "tekton-pipelines"},
                         "tekton.dev/v1")


def bare_pod() -> dict[str, Any]:
    """`kubectl run --restart=Never` (or a Helm test hook, an Airflow KubernetesPodOperator pod): no owner."""
    return _held_run_pod("one-off-migration", "data", None, ["app"], {"run": "one-off-migration"})


@pytest.mark.parametrize(("make", "kind", "name"), [
    (argo_pod, "Workflow", "etl-7w9sd"),
    (tekton_pod, "TaskRun", "build-x7k2p"),
    (bare_pod, "Pod", "one-off-migration"),
])
def test_held_run_to_completion_pods_no_job_owns_fail(audit, make, kind, name):
    """A pod held Running by Istio's classic sidecar never completes nor moves, whoever made it: judged like a
    Job's pod (it was NOT_APPLICABLE, 'no Running Job pod runs a classic sidecar': a GO at migrating)."""
    pod = make()
    for phase in ("migrating", "uninstall"):
        [row] = audit({"c1": [pod]}, phase, config=CONFIG).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2913", "major")
        assert (row["kind"], row["name"]) == (kind, name)
        assert row["evidence"]["pods"] == [pod["metadata"]["name"]]
        assert "pilot-agent request POST quitquitquit" in row["remediation"]


def test_a_held_argo_pod_makes_the_migrating_gate_no_go(audit):
    run = audit({"c1": [argo_pod()]}, "migrating", config=CONFIG)
    assert run.result.verdict.value == "NO-GO"


def test_an_always_restarting_pod_whose_app_just_exited_is_not_held(audit):
    """restartPolicy Always (a Deployment's pod): the kubelet restarts an app container that exited, so its
    terminated state is a moment, not a held pod."""
    pod = _held_run_pod("cart-5d8f7c9b6-abcde", "shop", ("ReplicaSet", "cart-5d8f7c9b6"), ["app"], {"app": "cart"},
                        "apps/v1")
    pod["spec"]["restartPolicy"] = "Always"
    pod["metadata"]["labels"]["pod-template-hash"] = "5d8f7c9b6"
    [row] = audit({"c1": [pod]}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2940")
