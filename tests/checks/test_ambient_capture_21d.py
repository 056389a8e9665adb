"""Ambient enrolment told by the capture annotation (fix21d, after review21b).

Istio's CNI agent annotates a pod it captured into ztunnel ambient.istio.io/redirection: enabled (the annotationPatch
of cni/pkg/util/podutil.go @1.22.0..1.30.3), whatever enrolled it: its namespace, its template's label, or a label
set by hand on the pod (PodRedirectionEnabled reads the pod's own labels; cni/pkg/nodeagent/informers.go re-captures a
running pod whose labels change, @1.24.6). So a pod with a phase and no annotation is not on ztunnel, and one with it
is, whatever its template says. The ambient profile is tests/checks/test_false_nogo_21c._ambient_profile (charts/
ztunnel, charts/istio-cni with AMBIENT_ENABLED @1.24.6).

1. A pod labelled istio.io/dataplane-mode=ambient by hand (template unlabelled) and captured: old PASS AA0502, GO.
   Now FAIL AA0510.
2. A running proxyless pod whose template cannot be found (kubectl run, an Argo Workflow step, a Tekton TaskRun, a
   StrimziPodSet's broker): old UNKNOWN AA0530 (INCOMPLETE). Now PASS AA0502; only a pod with no status yet stays
   undecided.
3. Pods captured by ASM's own ambient data plane (ASM >= 1.25 runs ztunnel too, docs "Choose a data plane mode"):
   istio-sidecars-remaining no longer FAILs them AA1222 when ASM's ztunnel is the only one (old: FAIL AA1222). With
   Istio's ztunnel beside it, or no ztunnel at all, the FAIL stands.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests import factory as f
from tests.checks.test_false_nogo_21c import AMB, _ambient_profile

SIDECARS = "istio-sidecars-remaining"
CAPTURED = {"ambient.istio.io/redirection": "enabled"}


def _ledger(*, captured: bool, pod_label: bool) -> list[dict[str, Any]]:
    """Deployment shop/ledger with an unlabelled template and one running pod without proxy."""
    ledger = f.deployment("ledger", replicas=1)
    pods = f.workload_pods(ledger, 1, proxy=None)
    for p in pods:
        if pod_label:  # kubectl label pod ... istio.io/dataplane-mode=ambient
            p["metadata"]["labels"]["istio.io/dataplane-mode"] = "ambient"
        if captured:
            p["metadata"].setdefault("annotations", {}).update(CAPTURED)
    return [*ledger, *pods]


def _codes(run: Any, check: str) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in run.rows(check)]


# ---------------------------------------------------------------- 1. a pod captured, its template unlabelled
def test_a_pod_labelled_by_hand_and_captured_is_in_use(audit):
    run = audit({"c1": [*_ambient_profile(), *_ledger(captured=True, pod_label=True)]}, "assessment",
                config=f.only_checks(AMB))
    assert _codes(run, AMB) == [("FAIL", "AA0510")]  # old: PASS AA0502, GO
    assert run.result.verdict == "NO-GO"
    [row] = run.rows(AMB)
    assert any("ledger" in s for s in row["evidence"]["signals"])


def test_a_captured_pod_with_no_ambient_component_seen_is_in_use(audit):
    """The annotation with no ztunnel or ambient istio-cni of anyone's read (one not recognised, or removed with the
    pods' redirection left in place): in use all the same. Old: PASS AA0501."""
    run = audit({"c1": _ledger(captured=True, pod_label=False)}, "assessment", config=f.only_checks(AMB))
    assert _codes(run, AMB) == [("FAIL", "AA0510")]


def test_a_labelled_pod_not_captured_is_not_in_use(audit):
    """The pod's own label with no annotation on a running pod: the agent did not capture it (host network, or
    capture refused): not on ztunnel; the template unlabelled enrols no next pod."""
    run = audit({"c1": [*_ambient_profile(), *_ledger(captured=False, pod_label=True)]}, "assessment",
                config=f.only_checks(AMB))
    assert _codes(run, AMB) == [("PASS", "AA0502")]


# ---------------------------------------------------------------- 2. templates not found
# Owners whose kind carries no pod template the audit reads: a bare pod (kubectl run), an Argo Workflow step
# (argoproj/argo-workflows workflow/controller/workflowpod.go: ownerReference kind Workflow), a Tekton TaskRun's pod
# (tektoncd/pipeline pkg/pod/pod.go: ownerReference kind TaskRun), a Strimzi broker (strimzi-kafka-operator
# StrimziPodSetController: ownerReference kind StrimziPodSet).
OWNERS = [None, ("Workflow", "nightly"), ("TaskRun", "build-7x2k9"), ("StrimziPodSet", "my-cluster-kafka")]


@pytest.mark.parametrize("owner", OWNERS, ids=["bare", "workflow", "taskrun", "strimzi"])
def test_a_running_pod_without_template_is_told_by_its_annotation(audit, owner):
    p = f.pod("step-1", "shop", proxy=None, owner=owner)
    run = audit({"c1": [*_ambient_profile(), p]}, "assessment")
    assert _codes(run, AMB) == [("PASS", "AA0502")]  # old: UNKNOWN AA0530, INCOMPLETE
    captured = copy.deepcopy(p)
    captured["metadata"].setdefault("annotations", {}).update(CAPTURED)
    run = audit({"c1": [*_ambient_profile(), captured]}, "assessment")
    assert _codes(run, AMB) == [("FAIL", "AA0510")]


def test_a_pod_with_no_status_and_no_template_stays_unknown(audit):
    """Not yet set up on a node: whether the agent will capture it cannot be told without its labels."""
    p = f.pod("step-1", "shop", proxy=None, owner=("Workflow", "nightly"))
    p.pop("status")
    run = audit({"c1": [*_ambient_profile(), p]}, "assessment")
    assert _codes(run, AMB) == [("UNKNOWN", "AA0530")]
    [row] = run.rows(AMB)
    assert any("Workflow shop/nightly" in s for s in row["evidence"]["undecided"])


# ---------------------------------------------------------------- 3. ASM's own ambient
def _asm_ztunnel() -> dict[str, Any]:
    """ASM's ztunnel in the data-plane cluster: Istio's charts/ztunnel DaemonSet shape with an ASM key, the mark
    ambient-mode already skips ASM's components by (no published manifest of ASM's ztunnel was found)."""
    from tests.install_shapes import ISTIO_NS, _daemonset

    return _daemonset("ztunnel", ISTIO_NS, {"app": "ztunnel", "asm.alibabacloud.com/managed-by-asm": "true"},
                      "istio-proxy", "registry-cn-hangzhou.ack.aliyuncs.com/acs/ztunnel:v1.25.3.1-aliyun")


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_pods_on_asms_ambient_are_not_on_istios(audit, gate):
    run = audit({"c1": [_asm_ztunnel(), *_ledger(captured=True, pod_label=False)]}, gate,
                config=f.only_checks(SIDECARS))
    assert "AA1222" not in [c for _, c in _codes(run, SIDECARS)]  # old: FAIL AA1222


@pytest.mark.parametrize("with_asm", [False, True])
def test_pods_with_istios_ztunnel_present_still_fail(audit, with_asm):
    objects = [*_ambient_profile(), *_ledger(captured=True, pod_label=False), *([_asm_ztunnel()] if with_asm else [])]
    run = audit({"c1": objects}, "uninstall", config=f.only_checks(SIDECARS))
    assert ("FAIL", "AA1222") in _codes(run, SIDECARS)


def test_daemonsets_unread_keep_the_fail(audit):
    from auditor import kinds as K

    run = audit({"c1": [_asm_ztunnel(), *_ledger(captured=True, pod_label=False)]}, "uninstall",
                config=f.only_checks(SIDECARS), unreadable={"c1": {K.DAEMONSET: "403 Forbidden: daemonsets"}})
    assert ("FAIL", "AA1222") in _codes(run, SIDECARS)


def test_asms_ambient_alone_is_not_istios_at_assessment(audit):
    run = audit({"c1": [_asm_ztunnel(), *_ledger(captured=True, pod_label=False)]}, "assessment",
                config=f.only_checks(AMB))
    assert _codes(run, AMB) == [("PASS", "AA0501")]


def test_istios_ambient_cni_told_by_its_configmap_keeps_the_fail(audit):
    """ASM's ztunnel beside Istio's istio-cni, whose AMBIENT_ENABLED reaches its container only by envFrom from the
    ConfigMap istio-cni-config (charts/istio-cni templates/daemonset.yaml and configmap.yaml @1.24.6; the shape after
    `helm uninstall ztunnel` with Istio's CNI left): review21c: Istio's CNI agent, which captured the pod, was not seen
    (ambient_daemonsets read container env only), the capture read as ASM's: PASS AA1201, GO."""
    from tests.install_shapes import Injector, istio_cni

    objects = [_asm_ztunnel(), *istio_cni(Injector("1.24.6"), ambient=True), *_ledger(captured=True, pod_label=False)]
    run = audit({"c1": objects}, "uninstall", config=f.only_checks(SIDECARS))
    assert ("FAIL", "AA1222") in _codes(run, SIDECARS)


def test_configmaps_unread_keep_the_fail(audit):
    from auditor import kinds as K

    run = audit({"c1": [_asm_ztunnel(), *_ledger(captured=True, pod_label=False)]}, "uninstall",
                config=f.only_checks(SIDECARS), unreadable={"c1": {K.CONFIGMAP: "403 Forbidden: configmaps"}})
    assert ("FAIL", "AA1222") in _codes(run, SIDECARS)
