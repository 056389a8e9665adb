"""pods-xds-agent: templates turning PROXY_CONFIG_XDS_AGENT off under running pods, and workload kinds unread (fix23j).

Istio's injector reads a pod's proxy config when the API server admits the pod: `(wh *Webhook) inject` calls
`wh.env.GetProxyConfigOrDefault(pod.Namespace, pod.Labels, pod.Annotations, wh.meshConfig)` for each pod it is sent
(istio/istio@1.22.3 pkg/kube/inject/webhook.go), the pod's annotations being its workload template's. A template
changed after its pods were made is not in them until new pods are made from it:
- a StatefulSet with `updateStrategy: OnDelete` makes a pod of the update revision only when one is deleted
  (kubernetes/kubernetes@v1.31.0 pkg/controller/statefulset/stateful_set_control.go: OnDelete returns before updating;
  status.currentRevision stays on the old revision, status.updateRevision names the new one);
- a CronJob's Job copies spec.jobTemplate when the Job is made (pkg/controller/cronjob/utils.go getJobFromTemplate2
  @v1.31.0): a Job made earlier runs the earlier template while the CronJob's next Job gets the new one;
- a paused Deployment makes no ReplicaSet for a changed template until `kubectl rollout resume`
  (pkg/controller/deployment/sync.go sync @v1.31.0, auditor/idle._paused_deployment).
Main judged only the running pods (all "true": PASS AA1101, GO) and templates of workloads running no pod (AA1114).

With CronJobs or StatefulSets unread (RBAC forbidden, a snapshot without them), main's AA1114 said nothing of a
CronJob between runs it could not see: GO.
"""

from __future__ import annotations

import copy
from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_idle_workloads import base, cronjob
from tests.checks.test_xds_agent_templates_23a import OFF, ON, with_annotations

CHECK = "pods-xds-agent"
ONLY = f.only_checks(CHECK)


def codes(run: Any) -> dict[str, tuple[str, str]]:
    return {r["name"]: (r["status"], r["code"]) for r in run.rows(CHECK) if r["status"] != "PASS"}


def ondelete_statefulset(name: str, namespace: str, annotations: dict[str, str] | None,
                         template_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A StatefulSet with updateStrategy OnDelete whose template was changed after its pods were made (apps/v1
    StatefulSetStatus: currentRevision the pods' revision, updateRevision the new template's)."""
    template: dict[str, Any] = {"metadata": {"labels": template_labels or {"app": name}},
                                "spec": {"containers": [{"name": "db", "image": f"registry.example.com/{name}:2"}]}}
    if annotations:
        template["metadata"]["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta(name, namespace),
            "spec": {"replicas": 2, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "updateStrategy": {"type": "OnDelete"}, "template": template},
            "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                       "updatedReplicas": 0, "currentRevision": f"{name}-6b8f9c7d5",
                       "updateRevision": f"{name}-7c9d8e6f4"}}


def statefulset_pods(name: str, namespace: str, count: int = 2, **kw: Any) -> list[dict[str, Any]]:
    return [f.pod(f"{name}-{i}", namespace, owner=("StatefulSet", name), labels={"app": name}, **kw)
            for i in range(count)]


def test_an_ondelete_statefulset_whose_template_turned_it_off_fails(audit):
    """Its pods carry "true" (made before); the pod made when one is deleted starts without it.
    Main: PASS AA1101, GO."""
    objs = [*base(), ondelete_statefulset("db", "shop", OFF), *statefulset_pods("db", "shop", xds_agent="true")]
    run = audit({"c1": objs}, "migrating", config=ONLY)
    assert codes(run) == {"db": ("FAIL", "AA1115")}
    [row] = [r for r in run.rows(CHECK) if r["name"] == "db"]
    assert (row["kind"], row["namespace"], row["severity"]) == ("StatefulSet", "shop", "blocker")
    assert row["evidence"]["value"] == "false" and row["evidence"]["istio_injectors"]
    assert (run.result.verdict, run.result.exit_code) == ("NO-GO", 1)


def test_a_cronjob_whose_earlier_job_still_runs_with_it_fails(audit):
    cron = with_annotations(cronjob("nightly", "batch"), OFF)
    earlier = copy.deepcopy(cron["spec"]["jobTemplate"]["spec"]["template"])
    earlier["metadata"].pop("annotations")  # the Job copied the template before it changed
    job_meta = f.meta("nightly-29000000", "batch", {"app": "nightly"})
    job_meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                                    "uid": cron["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": {"template": earlier},
           "status": {"active": 1}}
    pod = f.job_pod("nightly-29000000-abcde", "batch", "nightly-29000000", app_finished=False, xds_agent="true")
    run = audit({"c1": [*base(), cron, job, pod]}, "migrating", config=ONLY)
    assert codes(run) == {"nightly": ("FAIL", "AA1115")}
    assert run.result.verdict == "NO-GO"


def test_a_paused_deployment_whose_template_turned_it_off_fails(audit):
    """Its running pods come from the ReplicaSet made before the change; `rollout resume` rolls the template out."""
    dep, rs = f.deployment("cart2", "shop")
    dep["spec"]["paused"] = True
    dep["spec"]["template"] = copy.deepcopy(dep["spec"]["template"])
    dep["spec"]["template"]["metadata"]["annotations"] = dict(OFF)
    run = audit({"c1": [*base(), dep, rs, *f.workload_pods((dep, rs), 2, xds_agent="true")]}, "migrating",
                config=ONLY)
    assert codes(run) == {"cart2": ("FAIL", "AA1115")}


def test_templates_under_pods_that_keep_it_or_that_istio_does_not_take_pass(audit):
    """"True" keeps it; ASM's webhook takes a template labelled for it; no webhook selects the namespace `plain`;
    pods lacking it already are AA1110's alone (test_xds_agent_templates_23a)."""
    objs = [*base(),
            ondelete_statefulset("kept", "shop", ON), *statefulset_pods("kept", "shop", xds_agent="true"),
            ondelete_statefulset("moved", "shop", OFF, {"app": "moved", "sidecar.asm.aliyun.com/inject": "true"}),
            *statefulset_pods("moved", "shop", xds_agent="true"),
            ondelete_statefulset("plaindb", "plain", OFF), *statefulset_pods("plaindb", "plain", proxy=None)]
    run = audit({"c1": objs}, "migrating", config=ONLY)
    assert codes(run) == {}
    assert run.result.verdict == "GO"


def test_webhooks_unread_leave_a_template_under_pods_unknown(audit):
    objs = [*base(), ondelete_statefulset("db", "shop", OFF), *statefulset_pods("db", "shop", xds_agent="true")]
    run = audit({"c1": objs}, "migrating", config=ONLY, unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden"}})
    assert codes(run) == {"db": ("UNKNOWN", "AA1135")}
    assert run.result.verdict != "GO"


def test_workload_kinds_unread_are_unknown_where_istio_may_inject(audit):
    """CronJobs and StatefulSets forbidden: a CronJob between runs (or a StatefulSet) whose template turns it off is
    not seen. Main: PASS AA1101, GO."""
    unreadable = {"c1": {K.CRONJOB: "403 Forbidden", K.STATEFULSET: "403 Forbidden"}}
    run = audit({"c1": [*base(), with_annotations(cronjob("nightly", "batch"), OFF)]}, "migrating", config=ONLY,
                unreadable=unreadable)
    rows = [r for r in run.rows(CHECK) if r["status"] != "PASS"]
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA1136")]
    assert set(rows[0]["evidence"]["unread"]) == {"CronJob", "StatefulSet"}
    assert run.result.verdict != "GO"


def test_workload_kinds_unread_with_only_asms_injector_say_nothing(audit):
    """No injector of Istio's (the webhook configurations read): no template's next pods get Istio's proxy."""
    run = audit({"c1": base(istio=False)}, "migrating", config=ONLY,
                unreadable={"c1": {K.CRONJOB: "403 Forbidden"}})
    assert codes(run) == {}


def test_pods_lacking_it_under_a_template_turning_it_off_are_told_to_edit_it_before_the_restart(audit):
    """AA1110 alone (the template is not reported a second time), but a restart alone would give the new pods the
    template's value again: the edit of the template comes first. Main: the restart alone."""
    dep = f.deployment("cart2", "shop", template_annotations=OFF)
    plain = f.deployment("web", "shop")
    run = audit({"c1": [*base(), *dep, *f.workload_pods(dep, 2, xds_agent="false", annotations=OFF),
                        *plain, *f.workload_pods(plain, 1, xds_agent=None)]}, "migrating", config=ONLY)
    assert codes(run) == {"cart2": ("FAIL", "AA1110"), "web": ("FAIL", "AA1110")}
    rows = run.by_name(CHECK)
    edit, restart = rows["cart2"]["remediation"].split("\n")[1:]
    assert edit.endswith("edit deployment/cart2") and restart.endswith("rollout restart deployment/cart2")
    assert "edit" not in rows["web"]["remediation"]
