"""Workloads on Istio's ambient data plane at the uninstall and finished gates (istio-sidecars-remaining AA1222).

The ambient pods are tests/install_shapes.ambient_mesh's (charts/ztunnel, charts/istio-cni @1.24.6): no proxy of their
own, annotated ambient.istio.io/redirection: enabled by Istio's CNI agent once captured (the annotationPatch of
cni/pkg/util/podutil.go @1.22.0..1.30.3; removed again when it lets the pod go, cni/pkg/nodeagent/informers.go
@1.24.6). ztunnel takes its configuration and certificates from Istio's istiod, which the uninstall removes; Istio's
own guide: "You must remove workloads from the ambient data plane before uninstalling Istio"
(istio.io docs/ambient/getting-started/cleanup). Before the fix both gates said GO with such pods running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import install_shapes as s
from tests.test_install_shapes import _moved_but, audit, gateways_only, rows

AMBIENT_NS = "ambient-apps"


def _l4_only(shape: s.Shape) -> s.Shape:
    """The ambient shape without its waypoint (ztunnel only: L4, the common first step of ambient)."""
    shape.objects = [o for o in shape.objects if "waypoint" not in o["metadata"]["name"]]
    return shape


def _ambient_apps(shape: s.Shape) -> list[dict[str, Any]]:
    return [o for o in shape.objects if o["kind"] in ("Namespace", "Deployment", "ReplicaSet", "Pod")
            and AMBIENT_NS in (o["metadata"].get("namespace"), o["metadata"]["name"])
            and "waypoint" not in o["metadata"]["name"]]


def _enrolled_by_pod_label(shape: s.Shape) -> s.Shape:
    """The namespace unlabelled, the pods enrolled by their own label istio.io/dataplane-mode: ambient (what
    PodRedirectionEnabled accepts as well, cni/pkg/util/podutil.go @1.24.6)."""
    for obj in shape.objects:
        meta = obj["metadata"]
        if obj["kind"] == "Namespace" and meta["name"] == AMBIENT_NS:
            meta["labels"] = {k: v for k, v in meta["labels"].items() if k != "istio.io/dataplane-mode"}
        elif obj["kind"] == "Pod" and meta.get("namespace") == AMBIENT_NS and "waypoint" not in meta["name"]:
            meta["labels"]["istio.io/dataplane-mode"] = "ambient"
    return shape


@pytest.mark.parametrize("enrol", ["namespace", "pod-label"])
def test_ambient_workloads_block_the_uninstall(tmp_path: Path, enrol: str) -> None:
    """Every sidecar moved to ASM; the ambient namespace's pods still go through ztunnel. Old: PASS AA1201, GO."""
    shape = _l4_only(gateways_only("ambient-1.24.6"))
    if enrol == "pod-label":
        shape = _enrolled_by_pod_label(shape)
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    found = [(r["status"], r["code"], r["kind"], r["namespace"], r["name"])
             for r in rows(result, "istio-sidecars-remaining")]
    assert found == [("FAIL", "AA1222", "Deployment", AMBIENT_NS, "reviews")]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_ambient_pods_left_after_the_purge_block_finished(tmp_path: Path) -> None:
    """The purge removed istiod, ztunnel and Istio's CNI agent; the captured pods keep the annotation (nobody let them
    go) and their in-pod redirection to a ztunnel that is gone. Old: PASS AA1201 and every other check PASS, GO."""
    shape = s.ambient_shape("1.24.6")
    apps = _ambient_apps(shape)
    shape = _moved_but(shape, {("Namespace", s.ISTIO_NS)})
    shape.objects += apps
    result = audit(tmp_path, shape, "finished", "Finished")
    [row] = [r for r in rows(result, "istio-sidecars-remaining") if r["status"] != "PASS"]
    assert (row["status"], row["code"], row["namespace"], row["name"]) == ("FAIL", "AA1222", AMBIENT_NS, "reviews")
    assert row["evidence"]["pod_count"] == 2
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_pods_of_an_ambient_namespace_not_captured_are_not_judged_ambient(tmp_path: Path) -> None:
    """The label asks, the annotation tells: pods Istio's CNI agent did not capture (opted out with
    istio.io/dataplane-mode: none, host network) carry no annotation and are not on ztunnel."""
    shape = _l4_only(gateways_only("ambient-1.24.6"))
    for obj in shape.objects:
        if obj["kind"] == "Pod" and obj["metadata"].get("namespace") == AMBIENT_NS:
            obj["metadata"]["labels"]["istio.io/dataplane-mode"] = "none"
            obj["metadata"]["annotations"].pop("ambient.istio.io/redirection", None)
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert [(r["status"], r["code"]) for r in rows(result, "istio-sidecars-remaining")] == [("PASS", "AA1201")]
