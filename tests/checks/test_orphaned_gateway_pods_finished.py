"""An Istio gateway's pods left running at the finished gate after their Deployment went with `--cascade=orphan`.

Shape: istioctl's default profile at 1.10.6 (tests/install_shapes.py istioctl_profile: the gateway as
manifests/charts/gateways/istio-ingress/templates/deployment.yaml @1.10.6 renders it, not injected, image
docker.io/istio/proxyv2:1.10.6, args `proxy router`), every application moved to ASM, then the gateway's Deployment
deleted with `kubectl delete deployment istio-ingressgateway --cascade=orphan` (kubectl's documented orphan deletion:
the ReplicaSet and its pods stay, no owner above them). Istio's proxy still runs in the cluster: the finished gate must
not say GO. The uninstall gate already says UNKNOWN for such pods (AA1531, AA1731); the finished gate's checks read
gateways from Deployments/DaemonSets only and said nothing: GO (red21g). Now istio-residue FAILs AA2318 on the
ReplicaSet left behind, with its delete command.
"""

from __future__ import annotations

from pathlib import Path

from auditor.findings import records
from tests import install_shapes as s
from tests.test_install_shapes import _belongs_to, audit


def _orphaned_gateway() -> s.Shape:
    shape = s.moved_to_asm(s.istioctl_profile("default", "1.10.6"))
    gone = shape.istio_sidecar_workloads | {(s.ISTIO_NS, "istiod")}
    shape.objects = [o for o in shape.objects if not _belongs_to(o, gone)
                     and not (o["kind"] == "Deployment" and o["metadata"]["name"] == "istio-ingressgateway")
                     and not (o["kind"] in ("Service", "ConfigMap", "MutatingWebhookConfiguration")
                              and o["metadata"]["name"] in ("istiod", "istio", "istio-sidecar-injector"))]
    for obj in shape.objects:
        if obj["kind"] == "ReplicaSet" and obj["metadata"]["name"].startswith("istio-ingressgateway-"):
            obj["metadata"].pop("ownerReferences", None)  # what --cascade=orphan leaves
    return shape


def test_uninstall_gate_already_refuses_orphaned_gateway_pods(tmp_path: Path) -> None:
    result = audit(tmp_path, _orphaned_gateway(), "uninstall", "Migrating")
    assert result.verdict != "GO"


def test_finished_gate_refuses_orphaned_gateway_pods(tmp_path: Path) -> None:
    result = audit(tmp_path, _orphaned_gateway(), "finished", "Finished")
    assert result.verdict == "NO-GO"
    orphans = [r for r in records(result.findings) if r["code"] == "AA2318"]
    assert [(r["status"], r["kind"], r["namespace"]) for r in orphans] == [("FAIL", "ReplicaSet", s.ISTIO_NS)]
    assert orphans[0]["name"].startswith("istio-ingressgateway-")
    assert " delete replicaset/istio-ingressgateway-" in orphans[0]["remediation"]
    # the gateway chart's LoadBalancer Service (istio-ingress templates/service.yaml @1.10.6) still selects them: it
    # goes with them, or the re-audit after AA2318's command is GO with it left (review21c)
    assert " delete service/istio-ingressgateway" in orphans[0]["remediation"]
    assert orphans[0]["evidence"]["services"] == ["istio-ingressgateway"]


def test_the_finished_gate_names_no_orphan_while_the_deployment_is_there(tmp_path: Path) -> None:
    """Control: the gateway's Deployment still there is AA2310's (its pods are explained), never AA2318 too."""
    shape = s.moved_to_asm(s.istioctl_profile("default", "1.10.6"))
    result = audit(tmp_path, shape, "finished", "Finished")
    codes = {r["code"] for r in records(result.findings) if r["check_id"] == "istio-residue"}
    assert "AA2310" in codes and "AA2318" not in codes


def test_gateway_pods_terminating_after_their_deployments_delete_are_no_orphans(tmp_path: Path) -> None:
    """Right after AA2310's own remediation (`kubectl delete deployment`): the ReplicaSet is gone, its pods are
    Terminating (metadata.deletionTimestamp set by the API server, apiserver registry/rest/delete.go): they leave by
    themselves. review21c: FAIL AA2318 with `delete replicaset/...` of an object no longer there, NO-GO."""
    shape = _orphaned_gateway()
    shape.objects = [o for o in shape.objects
                     if not (o["kind"] == "ReplicaSet" and o["metadata"]["name"].startswith("istio-ingressgateway-"))]
    for obj in shape.objects:
        if obj["kind"] == "Pod" and obj["metadata"]["name"].startswith("istio-ingressgateway-"):
            obj["metadata"]["deletionTimestamp"] = "2026-11-20T10:00:00Z"
            obj["metadata"]["deletionGracePeriodSeconds"] = 30
    result = audit(tmp_path, shape, "finished", "Finished")
    assert not [r for r in records(result.findings) if r["code"] == "AA2318"]


def test_replicasets_unread_leave_the_orphans_unknown(tmp_path: Path) -> None:
    """ReplicaSets unread: which owner explains the gateway pods is a guess (the pod frame names the Deployment the
    pod-template-hash suggests, review21c: `delete deployment/...` of a Deployment already gone): UNKNOWN, not a FAIL
    naming the wrong object."""
    from auditor import kinds as K
    from tests.test_release_charts_gates import audit as audit_with_unread

    result = audit_with_unread(tmp_path, _orphaned_gateway(), "finished", "Finished",
                               unreadable={K.REPLICASET: "403 Forbidden: replicasets"})
    residue = [r for r in records(result.findings) if r["check_id"] == "istio-residue"]
    assert not [r for r in residue if r["code"] == "AA2318"]
    assert ("UNKNOWN", "AA2330") in {(r["status"], r["code"]) for r in residue}
    assert result.verdict != "GO"
