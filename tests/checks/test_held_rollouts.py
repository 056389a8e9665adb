"""Workloads whose update strategy keeps their pods on an earlier template: a template change (the ASM label, or
`kubectl rollout restart`) moves no pod, or only some. The remediations must name what does move them, and a template
already labelled for ASM must not be reported as "not labelled yet" with a patch that changes nothing.

Shapes from the API types and kubectl itself:
- kubernetes/api@v0.31.0 apps/v1/types.go: StatefulSetUpdateStrategy type OnDelete ("Pods are recreated from the
  StatefulSetSpec when they are manually deleted"), RollingUpdateStatefulSetStrategy.partition ("All pods from ordinal
  Partition-1 to 0 remain untouched"), DaemonSetUpdateStrategy type OnDelete ("Replace the old daemons only when it's
  killed"), DeploymentSpec.paused.
- kubernetes/kubectl@v0.31.14 pkg/polymorphichelpers/objectrestarter.go: `rollout restart` of a paused Deployment
  fails ("can't restart paused deployment (run rollout resume first)").
"""

from __future__ import annotations

from typing import Any

from tests import factory as f

ASM_LABEL = {"sidecar.asm.aliyun.com/inject": "true"}
K = "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n shop"


def statefulset(name: str, *, replicas: int = 3, strategy: dict[str, Any] | None = None,
                labelled: bool = False) -> dict[str, Any]:
    """A StatefulSet as the API server returns it (updateStrategy defaulted to RollingUpdate, partition 0)."""
    labels = {"app": name, **(ASM_LABEL if labelled else {})}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta(name, "shop", {"app": name}),
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
                     "podManagementPolicy": "OrderedReady",
                     "updateStrategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 60,
                                           "containers": [{"name": "db", "image": "registry.example.com/db:1"}]}}},
            "status": {"observedGeneration": 2, "replicas": replicas, "readyReplicas": replicas,
                       "availableReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": 0,
                       "currentRevision": f"{name}-5d7f9c6b8", "updateRevision": f"{name}-7c9d4f5b6"}}


def set_pods(name: str, ordinals: range, proxy: str = "istio", revision: str = "5d7f9c6b8",
             **kw: Any) -> list[dict[str, Any]]:
    """The StatefulSet's pods <name>-<ordinal>, of the revision they were made from."""
    return [f.pod(f"{name}-{i}", "shop", proxy=proxy, owner=("StatefulSet", name),
                  labels={"app": name, "controller-revision-hash": f"{name}-{revision}",
                          "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                          **(ASM_LABEL if proxy == "asm" else {})}, **kw) for i in ordinals]


def daemonset(name: str, *, labelled: bool = False, on_delete: bool = True) -> dict[str, Any]:
    labels = {"app": name, **(ASM_LABEL if labelled else {})}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta(name, "shop", {"app": name}),
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "updateStrategy": {"type": "OnDelete"} if on_delete else {
                         "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "agent",
                                                           "image": "registry.example.com/agent:1"}]}}},
            "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 2,
                       "numberAvailable": 2, "updatedNumberScheduled": 0, "observedGeneration": 2}}


def daemon_pods(name: str, count: int = 2, **kw: Any) -> list[dict[str, Any]]:
    return [f.pod(f"{name}-{s}", "shop", owner=("DaemonSet", name),
                  labels={"app": name, "controller-revision-hash": "6b8d7f9c5", "pod-template-generation": "1"},
                  **kw) for s in ("x7k2p", "q9m4z")[:count]]


def paused_deployment(name: str, *, labelled: bool) -> tuple[tuple[dict, dict], list[dict[str, Any]]]:
    """A paused Deployment whose template was labelled for ASM while paused: the controller made no new ReplicaSet,
    its pods are the old one's (status as the Deployment controller writes it: updatedReplicas 0,
    Progressing Unknown DeploymentPaused)."""
    old = f.deployment(name)
    pods = f.workload_pods(old, 2)
    dep, _ = f.deployment(name, template_labels={"app": name, **(ASM_LABEL if labelled else {})})
    dep["spec"]["paused"] = True
    dep["metadata"]["generation"] = 2
    dep["status"].update(observedGeneration=2, updatedReplicas=0, conditions=[
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused",
         "message": "Deployment is paused"}])
    return (dep, old[1]), pods


def commands(remediation: str) -> str:
    """The remediation's commands, without its comments (advice said in the reader's language)."""
    return "\n".join(line.split("  # ")[0] for line in remediation.splitlines() if not line.startswith("#"))


def sidecar_row(run: Any, name: str) -> dict[str, Any]:
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == name]
    return row


def test_on_delete_statefulset_labelled_for_asm_is_held_not_unlabelled(audit):
    """Labelled for ASM, OnDelete: its pods move only when deleted. Not "not labelled yet" with the same patch."""
    db = statefulset("db", strategy={"type": "OnDelete"}, labelled=True)
    run = audit({"c1": [db, *set_pods("db", range(3))]}, "uninstall")
    row = sidecar_row(run, "db")
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1241", "blocker")
    assert row["evidence"]["update_hold"] == "OnDelete"
    assert "patch" not in commands(row["remediation"]) and "rollout restart" not in commands(row["remediation"])
    assert "awk '$2 == \"StatefulSet\"" in commands(row["remediation"]) and "delete" in commands(row["remediation"])


def test_on_delete_statefulset_restart_commands_delete_its_pods(audit):
    """pods-xds-agent (migrating) and restart-risk: `rollout restart` of an OnDelete StatefulSet recreates no pod."""
    db = statefulset("db", strategy={"type": "OnDelete"})
    pods = set_pods("db", range(3), xds_agent=None)
    run = audit({"c1": [db, *pods]}, "migrating")
    [xds] = [r for r in run.rows("pods-xds-agent") if r["name"] == "db"]
    assert xds["code"] == "AA1110"
    restart = commands(xds["remediation"])
    assert "rollout restart" not in restart and "awk '$2 == \"StatefulSet\"" in restart
    [risk] = [r for r in run.rows("restart-risk") if r["name"] == "db"]
    assert "awk '$2 == \"StatefulSet\"" in commands(risk["remediation"])  # the label alone moves no pod
    unlabelled = sidecar_row(audit({"c1": [db, *set_pods("db", range(3))]}, "uninstall"), "db")
    assert unlabelled["code"] == "AA1210"  # not labelled: the patch, then the deletions
    assert "patch statefulset/db" in commands(unlabelled["remediation"])
    assert "awk '$2 == \"StatefulSet\"" in commands(unlabelled["remediation"])


def test_partitioned_statefulset_keeps_its_low_ordinals(audit):
    """partition 2 of 3: db-2 moved to ASM, db-0 and db-1 stay on Istio's sidecar, and deleting them recreates them
    from the earlier revision: the partition has to come down."""
    db = statefulset("db", strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, labelled=True)
    pods = [*set_pods("db", range(2)), *set_pods("db", range(2, 3), proxy="asm", revision="7c9d4f5b6")]
    run = audit({"c1": [db, *pods]}, "uninstall")
    row = sidecar_row(run, "db")
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == "partition 2"
    assert '"partition":0' in commands(row["remediation"]) and "delete" not in commands(row["remediation"])


def test_paused_deployment_is_resumed_not_restarted(audit):
    (dep, rs), pods = paused_deployment("web", labelled=True)
    row = sidecar_row(audit({"c1": [dep, rs, *pods]}, "uninstall"), "web")
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == "paused"
    assert f"{K} rollout resume deployment/web" in commands(row["remediation"])
    assert "rollout restart" not in commands(row["remediation"]) and "patch" not in commands(row["remediation"])
    # Unlabelled and paused, in the migrating gate: kubectl refuses `rollout restart` of a paused Deployment.
    (dep, rs), pods = paused_deployment("web", labelled=False)
    for pod in pods:
        pod["spec"]["containers"][1]["env"] = [e for e in pod["spec"]["containers"][1]["env"]
                                               if e["name"] != "PROXY_CONFIG_XDS_AGENT"]
    run = audit({"c1": [dep, rs, *pods]}, "migrating")
    [xds] = [r for r in run.rows("pods-xds-agent") if r["name"] == "web"]
    assert xds["code"] == "AA1110"
    lines = commands(xds["remediation"]).splitlines()
    assert lines.index(f"{K} rollout resume deployment/web") < lines.index(f"{K} rollout restart deployment/web")


def test_labelled_deployment_whose_rollout_has_not_replaced_its_pods(audit):
    """Template labelled, the old ReplicaSet's pods still on Istio's sidecar (rollout under way or stuck): AA1241,
    not AA1210 with a patch already applied."""
    old = f.deployment("cart")
    dep, rs = f.deployment("cart", template_labels={"app": "cart", **ASM_LABEL})
    dep["status"].update(updatedReplicas=1, conditions=[
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": "ReplicaSet \"cart-x\" has timed out progressing."}])
    new_pods = f.workload_pods((dep, rs), 1, proxy="asm", ready=False, labels=ASM_LABEL)
    run = audit({"c1": [dep, rs, old[1], *f.workload_pods(old, 2), *new_pods]}, "uninstall")
    row = sidecar_row(run, "cart")
    assert (row["status"], row["code"]) == ("FAIL", "AA1241")
    assert row["evidence"]["update_hold"] == ""
    assert "rollout status deployment/cart" in commands(row["remediation"])


def test_on_delete_daemonset_and_rolling_ones_keep_their_commands(audit):
    agent = daemonset("agent", labelled=True)
    row = sidecar_row(audit({"c1": [agent, *daemon_pods("agent")]}, "uninstall"), "agent")
    assert (row["code"], row["evidence"]["update_hold"]) == ("AA1241", "OnDelete")
    assert "awk '$2 == \"DaemonSet\"" in commands(row["remediation"])
    rolling = daemonset("agent", on_delete=False)
    row = sidecar_row(audit({"c1": [rolling, *daemon_pods("agent")]}, "uninstall"), "agent")
    assert row["code"] == "AA1210"
    assert commands(row["remediation"]) == (
        f"{K} patch daemonset/agent --type='merge' -p "
        '\'{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}\'')
