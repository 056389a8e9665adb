"""purge-preview and Istio's CNI plug-in: the purge deletes istio-cni-node while ASM's pods may need it.

Shapes:
- Istio's node agent as istio/istio@1.24.6:manifests/charts/istio-cni/templates/daemonset.yaml renders it (DaemonSet
  `istio-cni-node`, labels k8s-app: istio-cni-node, operator.istio.io/component: "Cni", app.kubernetes.io/name:
  istio-cni; container install-cni), so `istioctl uninstall --purge` deletes it; its agent then takes the plug-in off
  every node (cni/pkg/install/install.go Cleanup, cni/pkg/cmd/root.go @1.24.6).
- Istio's plug-in redirects any pod with istio-proxy, the sidecar status annotation and no istio-init
  (cni/pkg/plugin/plugin.go doAddRun @1.24.6), whoever injected it; a CNI-mode pod carries istio-validation instead
  (pkg/kube/inject/testdata/inject/hello.yaml.cni.injected @1.24.6).
- ASM's side as its documents give it: the plug-in on or off and the namespaces it skips
  (DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration Enabled /
  ExcludeNamespaces; config asm.cni / asm.cni_exclude_namespaces). Which init container ASM's injector gives pods in
  a namespace its plug-in skips is not published: the finding is UNKNOWN, not FAIL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import factory as f
from tests.checks.test_purge import operator_install, operator_labels

CHECK = "purge-preview"


def istio_cni_daemonset(namespace: str = "kube-system") -> dict[str, Any]:
    labels = {"k8s-app": "istio-cni-node", "app.kubernetes.io/name": "istio-cni", **operator_labels("Cni")}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta("istio-cni-node", namespace, labels),
            "spec": {"selector": {"matchLabels": {"k8s-app": "istio-cni-node"}},
                     "template": {"metadata": {"labels": {"k8s-app": "istio-cni-node",
                                                          "sidecar.istio.io/inject": "false"}},
                                  "spec": {"containers": [{"name": "install-cni",
                                                           "image": "docker.io/istio/install-cni:1.24.6"}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3}}


def _validation(image: str) -> dict[str, Any]:
    """istio-validation as the injection template writes it in CNI mode (hello.yaml.cni.injected @1.24.6)."""
    return {"name": "istio-validation", "image": image,
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x",
                     "", "-b", "*", "-d", "15090,15021,15020", "--run-validation", "--skip-rule-apply"]}


def _in_cni_mode(p: dict[str, Any]) -> dict[str, Any]:
    """The factory's pod (istio-init first: hello.yaml.injected, native-sidecar.yaml.injected @1.24.6) injected in CNI
    mode instead: istio-validation where istio-init was, in its init containers, their statuses and the status
    annotation (hello.yaml.cni.injected)."""
    p["spec"]["initContainers"] = [_validation(c["image"]) if c["name"] == "istio-init" else c
                                   for c in p["spec"]["initContainers"]]
    for st in p["status"].get("initContainerStatuses") or ():
        if st["name"] == "istio-init":
            st["name"] = "istio-validation"
    status = json.loads(p["metadata"]["annotations"]["sidecar.istio.io/status"])
    status["initContainers"] = ["istio-validation" if n == "istio-init" else n for n in status["initContainers"]]
    p["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps(status)
    return p


def asm_cni_mode_pod(name: str, namespace: str) -> dict[str, Any]:
    """A pod on ASM's proxy injected in CNI mode: istio-validation, no istio-init (hello.yaml.cni.injected)."""
    return _in_cni_mode(f.pod(name, namespace, proxy="asm",
                              owner=("ReplicaSet", f"{name.rsplit('-', 1)[0]}-5d8f7c9b6")))


def asm_init_mode_pod(name: str, namespace: str) -> dict[str, Any]:
    """A pod on ASM's proxy injected without CNI: istio-init sets up its own redirection (the factory's pod: the
    istio-init init container and status annotation of istio/istio@1.24.6:pkg/kube/inject/testdata/inject/
    hello.yaml.injected)."""
    p = f.pod(name, namespace, proxy="asm", owner=("ReplicaSet", f"{name.rsplit('-', 1)[0]}-5d8f7c9b6"))
    assert [c["name"] for c in p["spec"]["initContainers"]] == ["istio-init"]
    return p


def asm_native_cni_mode_pod(name: str, namespace: str) -> dict[str, Any]:
    """ASM's native sidecar injected in CNI mode: istio-validation, then istio-proxy (restartPolicy Always) among the
    init containers, no istio-init (the native-sidecar order of Istio's injection template @1.24.6)."""
    return _in_cni_mode(f.pod(name, namespace, proxy="asm", native=True,
                              owner=("ReplicaSet", f"{name.rsplit('-', 1)[0]}-7c9b6d8f5")))


def cluster(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*operator_install(), istio_cni_daemonset(), f.namespace("shop", {"istio.io/rev": "1-24-6"}),
            asm_cni_mode_pod("cart-5d8f7c9b6-abcde", "shop"), *extra]


def mesh_detail(enabled: bool, exclude: str = "") -> dict[str, Any]:
    return {"DescribeServiceMeshDetail": {"ServiceMesh": {
        "ServiceMeshInfo": {"Version": "v1.24.6.62-g5c7e1f0b-aliyun"},
        "Spec": {"MeshConfig": {"SidecarInjector": {"InitCNIConfiguration": {
            "Enabled": enabled, "ExcludeNamespaces": exclude}}}}}}}


def test_unknown_when_asm_cni_skips_the_namespace_of_asm_pods(audit):
    """ASM's plug-in skips shop (ExcludeNamespaces), where ASM's pods run: today Istio's plug-in may be what
    redirects them; the purge removes it. Was PASS AA2501 (a GO)."""
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              asm_openapi=mesh_detail(True, "kube-system,shop"), config=f.only_checks(CHECK))
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2535")]
    assert rows[0]["evidence"]["istio_cni"] == ["kube-system/istio-cni-node"]
    assert rows[0]["evidence"]["asm_pod_namespaces_skipped"] == ["shop"]
    assert "-n shop" in rows[0]["remediation"]
    assert (a.result.verdict, a.result.exit_code) == ("INCOMPLETE", 3)  # was ("GO", 0)


def test_unknown_when_asm_cni_is_on_and_its_exclusions_are_not_known(audit):
    """config asm.cni: true says the plug-in is on, not which namespaces it skips."""
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], config={"asm": {"cni": True}})
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("UNKNOWN", "AA2535")]


def test_pass_when_asm_cni_serves_the_namespaces_of_asm_pods(audit):
    """ASM's own agent redirects the pods of the namespaces it does not skip: Istio's may go."""
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              asm_openapi=mesh_detail(True, "kube-system"))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]
    stated = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
                   config={"asm": {"cni": True, "cni_exclude_namespaces": []}})
    assert [(r["status"], r["code"]) for r in stated.rows(CHECK)] == [("PASS", "AA2501")]


def test_pass_when_asm_cni_is_off(audit):
    """ASM without its plug-in injects istio-init (ASM: "Enable the CNI plug-in"), which Istio's plug-in leaves
    alone: nothing of ASM's relies on it."""
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              asm_openapi=mesh_detail(False, "shop"))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]


# ---------------------------------------------------------------- ASM's CNI state not known (AA2537)
def init_mode_cluster(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*operator_install(), istio_cni_daemonset(), f.namespace("shop", {"istio.io/rev": "1-24-6"}),
            asm_init_mode_pod("cart-5d8f7c9b6-abcde", "shop"), *extra]


def test_unknown_when_asm_cni_is_not_known_and_asm_pods_were_injected_in_cni_mode(audit):
    """Nothing says whether ASM's plug-in is on (no config asm.cni, no DescribeServiceMeshDetail answer) and ASM's
    pod lists istio-validation, no istio-init: Istio's plug-in, which the purge removes, may be the one redirecting
    it. Was PASS AA2501 (a GO)."""
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], config=f.only_checks(CHECK))
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2537")]
    assert rows[0]["evidence"]["istio_cni"] == ["kube-system/istio-cni-node"]
    assert rows[0]["evidence"]["asm_cni_mode_pod_namespaces"] == ["shop"]
    assert "DescribeServiceMeshDetail" in rows[0]["remediation"] and "-n shop" in rows[0]["remediation"]
    assert (a.result.verdict, a.result.exit_code) == ("INCOMPLETE", 3)  # was ("GO", 0)


@pytest.mark.parametrize("answer", [
    {"_errors": {"DescribeServiceMeshDetail": "Forbidden.NoPermission (HTTP 403)"}},
    {"DescribeServiceMeshDetail": {"ServiceMesh": {"ServiceMeshInfo": {"Version": "v1.24.6.62-g5c7e1f0b-aliyun"},
                                                   "Spec": {"MeshConfig": {}}}}},
], ids=["answer unreadable", "answer without InitCNIConfiguration"])
def test_unknown_when_the_asm_answer_does_not_tell_the_cni_state(audit, answer):
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], asm_openapi=answer,
              config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("UNKNOWN", "AA2537")]


def test_unknown_for_a_native_asm_sidecar_injected_in_cni_mode(audit):
    pods = [p for p in cluster() if p.get("kind") != "Pod"] + [asm_native_cni_mode_pod("api-7c9b6d8f5-fghij", "pay")]
    a = audit({"cluster-a": [*pods, f.namespace("pay")]}, "uninstall", asm=[f.migration_cr("Migrating")],
              config=f.only_checks(CHECK))
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2537")]
    assert rows[0]["evidence"]["asm_cni_mode_pod_namespaces"] == ["pay"]


def test_pass_when_asm_cni_is_not_known_but_every_asm_pod_carries_istio_init(audit):
    """istio-init redirects the pod itself and Istio's plug-in leaves it alone (plugin.go doAddRun @1.24.6): the
    purge takes nothing such pods need."""
    a = audit({"cluster-a": init_mode_cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]


def test_only_the_namespaces_of_cni_mode_pods_are_named(audit):
    """A namespace whose ASM pods all carry istio-init is not named, where ASM's plug-in is unknown and where it
    skips it."""
    extra = (f.namespace("pay"), asm_cni_mode_pod("api-5d8f7c9b6-fghij", "pay"))
    unknown = audit({"cluster-a": init_mode_cluster(*extra)}, "uninstall", asm=[f.migration_cr("Migrating")],
                    config=f.only_checks(CHECK))
    (row,) = unknown.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["asm_cni_mode_pod_namespaces"]) == ("UNKNOWN", "AA2537",
                                                                                            ["pay"])
    skipped = audit({"cluster-a": init_mode_cluster(*extra)}, "uninstall", asm=[f.migration_cr("Migrating")],
                    asm_openapi=mesh_detail(True, "shop,pay"), config=f.only_checks(CHECK))
    (row,) = skipped.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["asm_pod_namespaces_skipped"]) == ("UNKNOWN", "AA2535",
                                                                                           ["pay"])
    only_init = audit({"cluster-a": init_mode_cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
                      asm_openapi=mesh_detail(True, "shop"), config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in only_init.rows(CHECK)] == [("PASS", "AA2501")]


def test_pass_without_istio_cni_whatever_asm_cni_is(audit):
    """No istio-cni-node in the purge: nothing of a CNI plug-in goes."""
    objects = [o for o in cluster() if not (o.get("kind") == "DaemonSet"
                                            and o["metadata"]["name"] == "istio-cni-node")]
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]


def test_the_pod_frame_tells_cni_mode_from_the_init_containers():
    """istio-proxy and no istio-init: cni_redirect, istio-validation or not; istio-init: not; no proxy: not."""
    from auditor import mesh
    from auditor.inventory import POD_COLUMNS, summarise_pod

    bare = f.pod("plain-1", "shop", proxy="asm")  # neither init container: still left to a CNI plug-in
    del bare["spec"]["initContainers"], bare["status"]["initContainerStatuses"]
    pods = [asm_cni_mode_pod("a-5d8f7c9b6-1", "shop"), asm_native_cni_mode_pod("b-7c9b6d8f5-1", "shop"),
            asm_init_mode_pod("c-5d8f7c9b6-1", "shop"), bare, f.pod("d-1", "shop", proxy=None)]
    rows = [dict(zip(POD_COLUMNS, summarise_pod(p, mesh.ProxyRules()), strict=True)) for p in pods]
    assert [r["cni_redirect"] for r in rows] == [True, True, False, True, False]
