"""The restart command per workload kind: built-in kinds, ReplicaSets without a Deployment, and the
workload kinds of Argo Rollouts and OpenKruise, which `kubectl rollout restart` does not know."""

from __future__ import annotations

import shlex
import subprocess

from auditor import mesh
from tests import factory as f


def test_builtin_kinds_keep_their_commands():
    assert mesh.restart_command("c1", "Deployment", "shop", "cart") == (
        "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n shop rollout restart deployment/cart")
    assert mesh.restart_command("c1", "Pod", "ops", "debug").startswith(
        "kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n ops delete pod/debug")


def test_argo_rollouts_and_openkruise_clonesets_use_their_plugins():
    assert mesh.restart_command("cluster-a", "Rollout", "shop", "web") == (
        "KUBECONFIG=\"${KUBECONFIG_CLUSTER_A:?}\" kubectl argo rollouts restart -n shop -- web")
    clone = mesh.restart_command("cluster-a", "CloneSet", "shop", "web")
    assert clone.startswith(
        "KUBECONFIG=\"${KUBECONFIG_CLUSTER_A:?}\" kubectl kruise rollout restart -n shop cloneset/web  # ")
    assert "InPlaceIfPossible" in clone  # in-place updates keep the old sidecar: said on the same line


def test_other_controllers_get_advice_not_a_wrong_command():
    """`delete pod <workload name>` would name no pod: say what to do instead, on one comment line."""
    text = mesh.restart_command("c1", "Workflow", "ci", "nightly-build")
    assert text.startswith("# restart the pods of Workflow ci/nightly-build through its controller")
    assert "\n" not in mesh.restart_command("c1", "Odd\nkind", "ci", "x")


def owned_pods(command: str, kubectl_output: str) -> list[str]:
    """Run the command's filter stage (`owner=... awk ...`, the real awk) on what `kubectl get pods -o
    custom-columns` prints."""
    pipeline = command.split(" | ")
    assert pipeline[0].endswith("--no-headers -o " + shlex.quote(mesh._OWNER_COLUMNS))
    out = subprocess.run(["sh", "-c", pipeline[1]], input=kubectl_output, capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def test_a_replicaset_without_deployment_restarts_exactly_the_pods_it_owns():
    command = mesh.restart_command("c1", "ReplicaSet", "shop", "web")
    listing = ("web-x2v9q     ReplicaSet   web\n"
               "web-6d9f8-ab  ReplicaSet   web-6d9f8\n"   # another ReplicaSet, same prefix
               "web-k7m2p     Job          web\n"         # a Job of the same name names its pods alike
               "web-z9x8w     DaemonSet    web\n"
               "debug         <none>       <none>\n")
    assert owned_pods(command, listing) == ["pod/web-x2v9q"]
    assert "| xargs -r -n 1 " in command and command.endswith("delete  # one at a time; the ReplicaSet recreates them")
    # Backslashes in a name stay themselves (awk -v would turn w\145b into web and pick web's pods).
    odd = mesh.restart_command("c1", "ReplicaSet", "shop", "w\\145b")
    assert owned_pods(odd, "web-x2v9q ReplicaSet web\nw-1 ReplicaSet w\\145b\n") == ["pod/w-1"]
    # Shell metacharacters are one quoted word, never code.
    assert owned_pods(mesh.restart_command("c1", "ReplicaSet", "shop", "a;touch x"), "p ReplicaSet a;touch\n") == []


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
    assert row["remediation"] == "KUBECONFIG=\"${KUBECONFIG_C1:?}\" kubectl argo rollouts restart -n shop -- web"


def test_moving_clonesets_to_asm_patches_their_template_rollouts_get_steps():
    command = mesh.asm_inject_command("c1", "CloneSet", "shop", "web")
    assert command.startswith('kubectl --kubeconfig="${KUBECONFIG_C1:?}" -n shop patch clonesets.apps.kruise.io/web ')
    assert "InPlaceIfPossible" in command
    words = shlex.split(command, comments=True)
    assert words[words.index("-p") + 1] == (
        '{"spec":{"template":{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}}}')
    # A Rollout may take its template from a Deployment (spec.workloadRef): a patch of spec.template would
    # add a second one. Say where to label, then give the restart.
    comment, restart = mesh.asm_inject_command("c1", "Rollout", "shop", "web").split("\n")
    assert comment.startswith("# add label sidecar.asm.aliyun.com/inject=true") and "spec.workloadRef" in comment
    assert restart == mesh.restart_command("c1", "Rollout", "shop", "web")
