"""Istio installed by the Sail operator (istio-ecosystem/sail-operator, tests/install_shapes.py sail_shape), audited
at each gate through the public API on a snapshot directory.

Facts (istio-ecosystem/sail-operator@1.30.3): pkg/helm/postrenderer.go + chartmanager.go give every object it renders
the label managed-by: sail-operator and an ownerReference to its IstioRevision / IstioRevisionTag / IstioCNI (owner
namespace ""); pkg/watches/istiod.go: it watches what it rendered and installs it again;
chart/templates/deployment.yaml: its own Deployment sail-operator (app.kubernetes.io/component: sail-operator);
api/v1: Istio, IstioRevision, IstioRevisionTag, IstioCNI, ZTunnel in group sailoperator.io, cluster-scoped. Istio's
charts it renders (resources/v1.30.3/charts/istiod/templates/validatingwebhookconfiguration.yaml,
charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml) give the validators no
operator.istio.io/component: `istioctl uninstall --purge` leaves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor import mesh
from tests import install_shapes as s
from tests.test_install_shapes import _belongs_to, audit, rows

COMPONENT = "operator.istio.io/component"


def _codes(result: Any, check_id: str, status: str = "FAIL") -> set[tuple[str, str, str]]:
    return {(r["code"], r["kind"], r["name"]) for r in rows(result, check_id) if r["status"] == status}


def after_purge(shape: s.Shape, *, operator: bool) -> s.Shape:
    """Every application moved to ASM, then `istioctl uninstall --purge` (objects labelled operator.istio.io/component
    deleted, istiod's pods with its Deployment); the Sail operator uninstalled first (`helm uninstall sail-operator`:
    its CRDs and resources stay, chart/crds) or still installed."""
    shape = s.moved_to_asm(shape)
    objects = [o for o in shape.objects if not _belongs_to(o, shape.istio_sidecar_workloads)]
    objects = [o for o in objects if COMPONENT not in (o["metadata"].get("labels") or {})
               and not (o["kind"] in ("ReplicaSet", "Pod") and o["metadata"]["name"].startswith("istiod"))]
    if not operator:
        objects = [o for o in objects if o["metadata"].get("namespace") != s.SAIL_NS]
    shape.objects, shape.istio_sidecar_workloads = objects, set()
    return shape


def test_the_validators_and_resources_a_purge_leaves_of_a_sail_install_are_no_go(tmp_path: Path) -> None:
    # Owned by IstioRevision/default, the validators were taken for ASM's ("owned by"): a false GO on main.
    result = audit(tmp_path, after_purge(s.sail_shape(cni=True), operator=False), "finished", "Finished")
    assert _codes(result, "istio-control-plane-removed") == {
        ("AA2212", "ValidatingWebhookConfiguration", "istio-validator-istio-system"),
        ("AA2212", "ValidatingWebhookConfiguration", "istiod-default-validator"),
        ("AA2216", "Istio", "default"), ("AA2216", "IstioCNI", "default")}  # its IstioRevision goes with the Istio
    istio = next(r for r in rows(result, "istio-control-plane-removed")
                 if r["code"] == "AA2216" and r["kind"] == "Istio")
    assert istio["remediation"].startswith(
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" delete istios.sailoperator.io/default')
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_the_sail_operator_left_at_the_finished_gate_is_a_blocker(tmp_path: Path) -> None:
    result = audit(tmp_path, after_purge(s.sail_shape(), operator=True), "finished", "Finished")
    found = _codes(result, "istio-control-plane-removed")
    assert ("AA2215", "Deployment", "sail-operator") in found and ("AA2216", "Istio", "default") in found
    operator = next(r for r in rows(result, "istio-control-plane-removed") if r["code"] == "AA2215")
    # Its resources first (it uninstalls what it installed), then its Helm release (chart/README.md).
    assert operator["remediation"].endswith(
        'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall sail-operator -n sail-operator')
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_revision_based_sail_install_left_whole_at_the_finished_gate(tmp_path: Path) -> None:
    """RevisionBased: revision default-v1-30-3 behind IstioRevisionTag default (controllers/istio/istio_controller.go);
    the tag's webhook is owned by the IstioRevisionTag, the injector by the IstioRevision: both are Istio's."""
    shape = s.moved_to_asm(s.sail_shape(revision_based=True))
    result = audit(tmp_path, shape, "finished", "Finished")
    found = _codes(result, "istio-control-plane-removed")
    assert {("AA2210", "Deployment", "istiod-default-v1-30-3"),
            ("AA2212", "MutatingWebhookConfiguration", "istio-sidecar-injector-default-v1-30-3"),
            ("AA2212", "MutatingWebhookConfiguration", "istio-revision-tag-default"),
            ("AA2215", "Deployment", "sail-operator"), ("AA2216", "Istio", "default"),
            ("AA2216", "IstioRevisionTag", "default")} <= found
    injector = next(r for r in rows(result, "istio-control-plane-removed")
                    if r["name"] == "istio-sidecar-injector-default-v1-30-3")
    assert "Sail operator" in injector["remediation"]  # deleted alone, the operator re-creates it
    # What the operator rendered is its own to remove: not "run istioctl uninstall --purge" (AA2328).
    assert "AA2328" not in {r["code"] for r in rows(result, "istio-residue")}
    assert ("WARN", "AA2326") in {(r["status"], r["code"]) for r in rows(result, "istio-residue")
                                  if r["name"] == "istio-default-v1-30-3"}


def test_purge_preview_of_a_sail_install_says_the_operator_re_creates_what_it_deletes(tmp_path: Path) -> None:
    # main: every rendered object "ASM's or another owner's" (AA2510 FAIL, told to strip the purge label) and the
    # operator's Helm releases to `helm uninstall` (AA2521).
    result = audit(tmp_path, s.moved_to_asm(s.sail_shape(cni=True)), "uninstall", "Migrating")
    found = {(r["status"], r["code"]) for r in rows(result, "purge-preview")}
    assert ("WARN", "AA2522") in found
    assert not {code for _, code in found} & {"AA2510", "AA2521"}
    sail = next(r for r in rows(result, "purge-preview") if r["code"] == "AA2522")
    assert sail["remediation"].splitlines()[:2] == [
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" delete istios.sailoperator.io/default',
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" delete istiocnis.sailoperator.io/default']


def test_the_assessment_names_the_sail_operator_and_where_the_mesh_setting_must_go(tmp_path: Path) -> None:
    result = audit(tmp_path, s.sail_shape(), "assessment", None)
    warned = [r for r in rows(result, "istio-revisions") if r["status"] == "WARN"]
    assert [(r["code"], r["name"]) for r in warned] == [("AA0422", "sail-operator")]
    assert warned[0]["remediation"] == (
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" patch istios.sailoperator.io/default --type=merge -p '
        '\'{"spec":{"values":{"meshConfig":{"defaultConfig":{"proxyMetadata":{"PROXY_CONFIG_XDS_AGENT":"true"}}}}}}\'')
    result = audit(tmp_path / "m", s.sail_shape(), "migrating", "SetupIstioForMigrate")
    absent = next(r for r in rows(result, "mesh-config-xds-agent") if r["code"] == "AA0910")
    assert "spec.values.meshConfig.defaultConfig.proxyMetadata" in absent["remediation"]


def test_what_tells_the_sail_operator_and_its_objects() -> None:
    dep = next(o for o in s.sail_operator() if o["kind"] == "Deployment")
    assert mesh.is_sail_operator(dep) and mesh.is_istio_operator(dep)
    renamed = {**dep, "metadata": {**dep["metadata"], "name": "mesh-operator"}}  # the chart's deployment.name
    assert mesh.is_sail_operator(renamed) and mesh.is_istio_operator(renamed)
    ossm = {"metadata": {"name": "x", "namespace": "openshift-operators"},
            "spec": {"template": {"metadata": {"labels": {"control-plane": "servicemesh-operator3"}}}}}
    assert mesh.is_sail_operator(ossm) and mesh.is_istio_operator(ossm)
    other = {"metadata": {"name": "x", "labels": {"control-plane": "controller-manager",
                                                  "app.kubernetes.io/component": "manager"}}}
    assert not mesh.is_sail_operator(other) and not mesh.is_istio_operator(other)
    owned = {"name": "istio", "ownerReferences": [s.sail_owner("IstioRevision", "default")]}
    assert mesh.asm_owned(owned) is None and mesh.sail_installed(owned)
    by_gateway = {"name": "gw", "ownerReferences": [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                                                     "name": "public"}]}
    assert mesh.asm_owned(by_gateway) == "owned by Gateway/public"  # other owners still count


def test_a_sail_installed_istio_cni_is_istios_for_cni_compatibility(tmp_path: Path) -> None:
    """IstioCNI default renders istio-cni-node owned by the IstioCNI (pkg/reconcile/cni.go, postrenderer.go): Istio's
    CNI, so a restricted namespace moving to ASM needs ASM's CNI. main took it for ASM's ("owned by"): AA2640 N/A."""
    shape = s.sail_shape(cni=True)
    for obj in shape.objects:
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] == s.APPS_NS:
            obj["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "restricted"
    result = audit(tmp_path, shape, "assessment", None)
    assert [(r["status"], r["code"], r["name"]) for r in rows(result, "cni-compatibility")] == [
        ("UNKNOWN", "AA2630", s.APPS_NS)]  # ASM's CNI state not given: never N/A


def test_the_sail_operator_installed_through_olm_is_still_flagged(tmp_path: Path) -> None:
    """OperatorHub / OpenShift Service Mesh 3: OLM creates the Deployment of the bundle's CSV
    (bundle/manifests/sailoperator.clusterserviceversion.yaml @1.30.3, deployment sail-operator) and owns it: labels
    olm.owner / olm.owner.namespace and an ownerReference to the ClusterServiceVersion. That owner is not ASM."""
    shape = after_purge(s.sail_shape(), operator=True)
    for obj in shape.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "sail-operator":
            meta = obj["metadata"]
            meta["namespace"] = "openshift-operators"
            meta.pop("annotations", None)
            meta["labels"].update({"olm.owner": "sailoperator.v1.30.3", "olm.owner.kind": "ClusterServiceVersion",
                                   "olm.owner.namespace": "openshift-operators"})
            meta["ownerReferences"] = [{"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
                                        "name": "sailoperator.v1.30.3", "uid": "0c5e2a3b-0000-4000-8000-00000000c5e1",
                                        "controller": False, "blockOwnerDeletion": False}]
    result = audit(tmp_path, shape, "finished", "Finished")
    operator = [r for r in rows(result, "istio-control-plane-removed") if r["code"] == "AA2215"]
    assert [(r["namespace"], r["name"]) for r in operator] == [("openshift-operators", "sail-operator")]
    assert operator[0]["remediation"].endswith(
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n openshift-operators delete '
        'clusterserviceversions.operators.coreos.com/sailoperator.v1.30.3')
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)
