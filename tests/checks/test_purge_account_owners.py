"""purge-preview: the labelled ServiceAccounts that pods of any owner on ASM's proxy run as (fix23b, lead 1).

`istioctl uninstall --purge` deletes every ServiceAccount carrying operator.istio.io/component (NamespacedResources:
istio/istio@1.22.3 operator/pkg/helmreconciler/prune.go; @1.24.6 operator/pkg/uninstall/prune.go), and the gateways
chart renders `<gateway>-service-account` with it (istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/templates/
serviceaccount.yaml: labels app, istio, release, istio.io/rev, install.operator.istio.io/owning-resource,
operator.istio.io/component "IngressGateways", app.kubernetes.io/name). Whatever owns the pods, a pod running as a
deleted account loses its token and cannot be made again: the StatefulSet controller, the Job controller and Argo
Rollouts' ReplicaSets create pods with the template's serviceAccountName (the API server's ServiceAccount admission
plugin fills `default` when none is named, and refuses a pod naming an account that does not exist).

main: AA2515 read the accounts of Deployments and DaemonSets only: a StatefulSet (or CronJob, Rollout, bare pod) on
ASM's proxy running as a labelled account was a GO.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "purge-preview"
COMPONENT = "operator.istio.io/component"
ACCOUNT = "istio-ingressgateway-service-account"
NS = "istio-system"


def chart_account(name: str = ACCOUNT, ns: str = NS) -> dict[str, Any]:
    """The ingress gateway's account as templates/serviceaccount.yaml @1.24.6 renders it under istioctl."""
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway", "release": "istio", "istio.io/rev": "default",
              "install.operator.istio.io/owning-resource": "unknown", COMPONENT: "IngressGateways",
              "app.kubernetes.io/name": "istio-ingressgateway"}
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-sa-{ns}-{name}", "labels": labels}}


def _template(name: str, account: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": f"registry.example.com/{name}:1"}]}
    if account:
        spec["serviceAccountName"] = account
    return {"metadata": {"labels": {"app": name}}, "spec": spec}


def _pods(name: str, owner: tuple[str, str], count: int, account: str | None, ns: str = NS,
          proxy: str = "asm") -> list[dict[str, Any]]:
    """Pods on `proxy` as the API server keeps them: spec.serviceAccountName filled (`default` when none named)."""
    pods = [f.pod(f"{name}-{i}", ns, proxy=proxy, owner=owner, labels={"app": name}) for i in range(count)]
    for pod in pods:
        pod["spec"]["serviceAccountName"] = account or "default"
    return pods


def statefulset(name: str = "edge-proxy", account: str | None = ACCOUNT, ns: str = NS,
                proxy: str = "asm") -> list[dict[str, Any]]:
    """A StatefulSet (apps/v1) and its pods <name>-<ordinal> on `proxy`, running as `account`."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta(name, ns, {"app": name}),
           "spec": {"replicas": 2, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                    "template": _template(name, account)},
           "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}}
    return [sts, *_pods(name, ("StatefulSet", name), 2, account, ns, proxy)]


def cronjob(name: str = "cert-sync", account: str | None = ACCOUNT) -> list[dict[str, Any]]:
    """A CronJob (batch/v1), the Job it made (ownerReference controller: the CronJob) and that Job's pod."""
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, NS),
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": _template(name, account)}}}}
    job_meta = f.meta(f"{name}-29000000", NS)
    job_meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": name,
                                    "uid": cron["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
           "spec": {"template": _template(name, account)}}
    return [cron, job, *_pods(f"{name}-29000000", ("Job", f"{name}-29000000"), 1, account)]


def rollout(name: str = "edge-canary", account: str | None = ACCOUNT) -> list[dict[str, Any]]:
    """An Argo Rollout (argoproj.io/v1alpha1, its own spec.template: argoproj/argo-rollouts@v1.8.4
    pkg/apis/rollouts/v1alpha1/types.go), the ReplicaSet it owns (labelled rollouts-pod-template-hash) and its pods."""
    ro = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": f.meta(name, NS),
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": _template(name, account)}}
    rs_meta = f.meta(f"{name}-6c5d8b7f9", NS, {"app": name, "rollouts-pod-template-hash": "6c5d8b7f9"})
    rs_meta["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name,
                                   "uid": ro["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
          "spec": {"replicas": 1, "template": _template(name, account)}}
    return [ro, rs, *_pods(f"{name}-6c5d8b7f9", ("ReplicaSet", rs_meta["name"]), 1, account)]


def audit_of(audit, cluster: list[dict[str, Any]], **kw: Any):
    return audit({"cluster-a": [f.istiod(version="1.24.6"), chart_account(), *cluster]}, "uninstall",
                 asm=[f.migration_cr("Migrating")], **kw)


def found(a) -> list[tuple[str, str, str, str]]:
    return [(r["status"], r["code"], r["kind"], r["name"]) for r in a.rows(CHECK)]


def test_fail_when_a_statefulset_on_asm_runs_as_a_labelled_account(audit):
    a = audit_of(audit, statefulset())
    assert found(a) == [("FAIL", "AA2515", "ServiceAccount", ACCOUNT)]  # main: PASS AA2501
    assert (a.result.verdict, a.result.exit_code) == ("NO-GO", 1)  # main: ("GO", 0)
    assert a.rows(CHECK)[0]["evidence"]["asm_workloads"] == [f"StatefulSet {NS}/edge-proxy"]


def test_fail_when_a_cronjobs_pods_on_asm_run_as_a_labelled_account(audit):
    a = audit_of(audit, cronjob())
    assert found(a) == [("FAIL", "AA2515", "ServiceAccount", ACCOUNT)]  # main: PASS AA2501
    assert a.rows(CHECK)[0]["evidence"]["asm_workloads"] == [f"CronJob {NS}/cert-sync"]


def test_fail_when_a_rollouts_pods_on_asm_run_as_a_labelled_account(audit):
    a = audit_of(audit, rollout())
    assert found(a) == [("FAIL", "AA2515", "ServiceAccount", ACCOUNT)]  # main: PASS AA2501
    assert a.rows(CHECK)[0]["evidence"]["asm_workloads"] == [f"Rollout {NS}/edge-canary"]


def test_pass_when_the_statefulset_runs_as_another_account(audit):
    assert found(audit_of(audit, statefulset(account="edge-proxy"))) == [("PASS", "AA2501", "", "")]
    assert found(audit_of(audit, statefulset(account=None))) == [("PASS", "AA2501", "", "")]


def test_pass_when_the_statefulset_runs_istios_proxy(audit):
    # Istio's own pods running as the account the purge deletes: the uninstall removes them too (other checks say so).
    assert found(audit_of(audit, statefulset(proxy="istio"))) == [("PASS", "AA2501", "", "")]


def test_a_statefulset_in_another_namespace_is_not_the_accounts(audit):
    assert found(audit_of(audit, [f.namespace("db"), *statefulset(ns="db")])) == [("PASS", "AA2501", "", "")]


def test_unknown_for_a_bare_pod_on_asm_beside_a_labelled_account(audit):
    # A pod without owner: the inventory keeps pods as summaries, not which account each runs as.
    a = audit_of(audit, _pods("debug", None, 1, ACCOUNT))
    assert found(a) == [("UNKNOWN", "AA2544", "", "")]  # main: PASS AA2501
    assert (a.result.verdict, a.result.exit_code) == ("INCOMPLETE", 3)
    row = a.rows(CHECK)[0]
    assert (row["namespace"], row["evidence"]["labelled_accounts"]) == (NS, [ACCOUNT])
    assert row["evidence"]["asm_workloads"] == [f"Pod {NS}/debug-0"]


def test_unknown_when_statefulsets_cannot_be_read(audit):
    a = audit_of(audit, statefulset(), unreadable={"cluster-a": {K.STATEFULSET: "403 Forbidden"}})
    assert ("UNKNOWN", "AA2544", "", "") in found(a)  # main: PASS AA2501
    assert ("FAIL", "AA2515", "ServiceAccount", ACCOUNT) not in found(a)


def test_a_fail_for_the_account_stands_for_the_unread_pods(audit):
    # The only labelled account is already FAIL: an UNKNOWN about it would add nothing.
    a = audit_of(audit, [*statefulset(), *_pods("debug", None, 1, ACCOUNT)])
    assert found(a) == [("FAIL", "AA2515", "ServiceAccount", ACCOUNT)]


def test_unknown_when_service_accounts_are_not_read_and_a_statefulset_runs_as_a_chart_account(audit):
    # ServiceAccounts unread (snapshots before session 22): AA2543 named the Deployments/DaemonSets' accounts only.
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), *statefulset()]}, "uninstall",
              asm=[f.migration_cr("Migrating")], unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    assert found(a) == [("UNKNOWN", "AA2543", "", "")]  # main: PASS AA2501
    assert a.rows(CHECK)[0]["evidence"]["accounts"] == [f"{NS}/{ACCOUNT}"]


def test_unread_accounts_leave_an_apps_statefulset_elsewhere_alone(audit):
    # An application's own account outside the namespaces the purge touches is no installer's (review22c).
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), f.namespace("db"), *statefulset(account="db", ns="db")]},
              "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    assert found(a) == [("PASS", "AA2501", "", "")]
