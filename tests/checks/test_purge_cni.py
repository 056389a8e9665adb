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


def asm_cni_mode_pod(name: str, namespace: str) -> dict[str, Any]:
    """A pod on ASM's proxy injected in CNI mode: istio-validation, no istio-init (hello.yaml.cni.injected)."""
    p = f.pod(name, namespace, proxy="asm", owner=("ReplicaSet", f"{name.rsplit('-', 1)[0]}-5d8f7c9b6"))
    p["spec"]["initContainers"] = [{"name": "istio-validation", "image": f.ASM_PROXY_IMAGE,
                                    "args": ["istio-iptables", "--run-validation", "--skip-rule-apply"]}]
    status = json.loads(p["metadata"]["annotations"]["sidecar.istio.io/status"])
    status["initContainers"] = ["istio-validation"]
    p["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps(status)
    return p


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
