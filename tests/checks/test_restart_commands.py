"""The restart command per workload kind: built-in kinds, ReplicaSets without a Deployment, and the
workload kinds of Argo Rollouts and OpenKruise, which `kubectl rollout restart` does not know."""

from __future__ import annotations

import re
import shlex

from auditor import mesh
from tests import factory as f


def test_builtin_kinds_keep_their_commands():
    assert mesh.restart_command("c1", "Deployment", "shop", "cart") == (
        "kubectl --kubeconfig=\"${KUBECONFIG_C1}\" -n shop rollout restart deployment/cart")
    assert mesh.restart_command("c1", "Pod", "ops", "debug").startswith(
        "kubectl --kubeconfig=\"${KUBECONFIG_C1}\" -n ops delete pod debug")


def test_argo_rollouts_and_openkruise_clonesets_use_their_plugins():
    assert mesh.restart_command("cluster-a", "Rollout", "shop", "web") == (
        "KUBECONFIG=\"${KUBECONFIG_CLUSTER_A}\" kubectl argo rollouts restart -n shop web")
    assert mesh.restart_command("cluster-a", "CloneSet", "shop", "web") == (
        "KUBECONFIG=\"${KUBECONFIG_CLUSTER_A}\" kubectl kruise rollout restart -n shop cloneset/web")


def test_other_controllers_get_advice_not_a_wrong_command():
    """`delete pod <workload name>` would name no pod: say what to do instead, on one comment line."""
    text = mesh.restart_command("c1", "Workflow", "ci", "nightly-build")
    assert text.startswith("# restart the pods of Workflow ci/nightly-build through its controller")
    assert "\n" not in mesh.restart_command("c1", "Odd\nkind", "ci", "x")


def grep_pattern(command: str) -> re.Pattern[str]:
    words = shlex.split(command)
    return re.compile(words[words.index("-E") + 1])


def test_a_replicaset_without_deployment_restarts_exactly_its_pods():
    command = mesh.restart_command("c1", "ReplicaSet", "shop", "legacy.v1-5f7b9c")
    pattern = grep_pattern(command)
    assert pattern.search("pod/legacy.v1-5f7b9c-x2v9q")
    assert not pattern.search("pod/legacy.v1-5f7b9c-v2-x2v9q")  # another ReplicaSet's pod
    assert not pattern.search("pod/legacyxv1-5f7b9c-x2v9q")  # the dot is literal
    assert command.endswith("delete  # the ReplicaSet recreates them")
    # Long names: the API server cuts generateName prefixes at 58 characters before the 5 random ones.
    long_name = "a" * 60
    assert grep_pattern(mesh.restart_command("c1", "ReplicaSet", "shop", long_name)).search(
        "pod/" + "a" * 58 + "x2v9q")


def test_pods_of_an_argo_rollout_get_the_argo_command(audit):
    rollout_rs = f.meta("web-6d9f8b7c5", "shop", {"app": "web", "rollouts-pod-template-hash": "6d9f8b7c5"})
    rollout_rs["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web",
                                      "uid": "3b1f0c2e-rollout", "controller": True, "blockOwnerDeletion": True}]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rollout_rs,
          "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
                                               "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
          "status": {"replicas": 2}}
    pods = [f.pod(f"web-6d9f8b7c5-{s}", owner=("ReplicaSet", "web-6d9f8b7c5"), xds_agent=None) for s in "ab"]
    [row] = audit({"c1": [rs, *pods]}, "migrating").rows("pods-xds-agent")
    assert (row["status"], row["kind"], row["name"]) == ("FAIL", "Rollout", "web")
    assert row["remediation"] == "KUBECONFIG=\"${KUBECONFIG_C1}\" kubectl argo rollouts restart -n shop web"


def test_moving_rollouts_and_clonesets_to_asm_patches_their_template():
    for kind, resource in (("Rollout", "rollouts.argoproj.io"), ("CloneSet", "clonesets.apps.kruise.io")):
        command = mesh.asm_inject_command("c1", kind, "shop", "web")
        assert command.startswith(f"kubectl --kubeconfig=\"${{KUBECONFIG_C1}}\" -n shop patch {resource} web ")
        words = shlex.split(command)
        assert words[words.index("-p") + 1] == (
            '{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}')
