"""mesh-config-xds-agent where the in-cluster istio-operator renders the mesh ConfigMap from an IstioOperator.

ASM's SetupIstioForMigrate writes PROXY_CONFIG_XDS_AGENT into the ConfigMap, not into the IstioOperator. The
istio-operator (Istio 1.10..1.23; `istioctl operator init`) applies every object it renders from the IstioOperator when
it starts (controller-runtime lists the IstioOperators, operatorPredicates.CreateFunc -> Reconcile, and a new pod's
object cache is empty, so ApplyManifest applies them all: istio/istio@1.20.0 operator/pkg/controller/
istiocontrolplane/istiocontrolplane_controller.go, operator/pkg/helmreconciler/apply.go) and whenever the IstioOperator
changes; an edit of the ConfigMap itself triggers nothing (ownedResourcePredicates.UpdateFunc returns false, same
@1.10.6, 1.16.0, 1.23.6). So the ConfigMap holds the setting until the operator's pod restarts (a node drain), then
loses it mid-migration: pods started after that cannot talk mTLS to ASM proxies. main: PASS AA0901, GO.
"""

from __future__ import annotations

import copy

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_mesh_config import istiod_with_pods

IOP = "example-istiocontrolplane"  # the name in Istio's operator docs (kubectl apply of an IstioOperator)


def operator_configmap(owner: str = IOP, owner_namespace: str = "istio-system", revision: str = "default",
                       xds_agent: str | None = "true") -> dict:
    """The mesh ConfigMap as the operator applies it, plus ASM's later edit: the owner labels every rendered object
    gets (getCoreOwnerLabels + addComponentLabels, istio/istio@1.20.0 operator/pkg/helmreconciler/reconciler.go:
    operator.istio.io/managed=Reconcile, install.operator.istio.io/owning-resource[-namespace], istio.io/rev,
    operator.istio.io/version, operator.istio.io/component)."""
    cm = f.mesh_configmap(xds_agent, revision=revision)
    cm["metadata"]["labels"].update({
        "operator.istio.io/managed": "Reconcile", "install.operator.istio.io/owning-resource": owner,
        "install.operator.istio.io/owning-resource-namespace": owner_namespace, "operator.istio.io/version": "1.20.0",
        "release": "istio"})
    return cm


def iop(name: str = IOP, namespace: str = "istio-system", *, mesh_config: dict | None = None,
        values: dict | None = None, annotations: dict | None = None, revision: str = "") -> dict:
    """A user's IstioOperator as applied for the operator to reconcile (the operator adds its finalizer,
    istio-finalizer.install.istio.io: istiocontrolplane_controller.go)."""
    obj = f.istio_operator_cr(name, namespace)
    obj["spec"] = {"profile": "default", "hub": "docker.io/istio", "tag": "1.20.0"}
    if revision:
        obj["spec"]["revision"] = revision
    if mesh_config is not None:
        obj["spec"]["meshConfig"] = mesh_config
    if values is not None:
        obj["spec"]["values"] = values
    if annotations:
        obj["metadata"]["annotations"] = annotations
    return obj


CARRIED = {"defaultConfig": {"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "true"}}}


def operator(revision: str = "", watch: str = "istio-system") -> dict:
    dep = copy.deepcopy(f.istio_operator_deployment(revision=revision, version="1.20.0"))
    for env in dep["spec"]["template"]["spec"]["containers"][0]["env"]:
        if env["name"] == "WATCH_NAMESPACE":
            env["value"] = watch
    return dep


def row_of(audit, objects, **kw) -> dict:
    [row] = audit({"c1": objects}, "migrating", **kw).rows("mesh-config-xds-agent")
    return row


def test_operator_renders_the_configmap_from_an_istiooperator_without_the_setting(audit):
    # main: PASS AA0901 (the operator was named only when the setting was already gone).
    row = row_of(audit, [*istiod_with_pods(), operator(), operator_configmap(),
                         iop(mesh_config={"accessLogFile": "/dev/stdout"})])
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA0916", "major")
    assert row["evidence"]["istio_operator"] == f"istio-system/{IOP}"
    assert f"istiooperators.install.istio.io/{IOP}" in row["remediation"]
    assert '"PROXY_CONFIG_XDS_AGENT":"true"' in row["remediation"]


def test_istiooperator_turning_it_off_fails_too(audit):
    off = {"defaultConfig": {"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "false"}}}
    row = row_of(audit, [*istiod_with_pods(), operator(), operator_configmap(), iop(mesh_config=off)])
    assert (row["status"], row["code"]) == ("FAIL", "AA0916")
    # spec.meshConfig wins over spec.values.meshConfig (translate.go APIMapping "meshConfig" -> values meshConfig)
    row = row_of(audit, [*istiod_with_pods(), operator(), operator_configmap(),
                         iop(mesh_config=off, values={"meshConfig": CARRIED})])
    assert (row["status"], row["code"]) == ("FAIL", "AA0916")


def test_istiooperator_carrying_the_setting_passes(audit):
    for kw in ({"mesh_config": CARRIED}, {"values": {"meshConfig": CARRIED}}):
        row = row_of(audit, [*istiod_with_pods(), operator(), operator_configmap(), iop(**kw)])
        assert (row["status"], row["code"]) == ("PASS", "AA0901"), kw


def test_what_the_operator_does_not_reconcile_passes(audit):
    # istioctl's own record (installed-state, annotated install.istio.io/ignoreReconcile: operator/cmd/mesh/install.go
    # @1.20.0), an operator of another revision (REVISION env), one watching another namespace (WATCH_NAMESPACE), no
    # operator at all, Helm's charts (owning-resource: unknown).
    cases = [
        [operator(), operator_configmap(owner="installed-state"),
         iop("installed-state", annotations={"install.istio.io/ignoreReconcile": "true"})],
        [operator(revision="1-21-0"), operator_configmap(), iop()],
        [operator(watch="istio-operator-crs"), operator_configmap(), iop()],
        [operator_configmap(), iop()],
        [operator(), operator_configmap(owner="unknown")],
    ]
    for extra in cases:
        row = row_of(audit, [*istiod_with_pods(), *extra])
        assert (row["status"], row["code"]) == ("PASS", "AA0901"), extra


def test_every_namespace_watched_and_the_same_revision_reconciles(audit):
    row = row_of(audit, [*istiod_with_pods(), operator(watch=""), operator_configmap(), iop()])
    assert (row["status"], row["code"]) == ("FAIL", "AA0916")
    row = row_of(audit, [*istiod_with_pods("1-20-0", "1.20.0"), operator(revision="1-20-0", watch="a,istio-system"),
                         operator_configmap(revision="1-20-0"), iop(revision="1-20-0")])
    assert (row["status"], row["code"]) == ("FAIL", "AA0916")


def test_istiooperators_unread_is_unknown(audit):
    # main: PASS AA0901
    row = row_of(audit, [*istiod_with_pods(), operator(), operator_configmap()],
                 unreadable={"c1": {K.ISTIOOPERATOR: "403 Forbidden: istiooperators.install.istio.io"}})
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0934")
    assert "403 Forbidden" in row["message"]


# ---------------------------------------------------------------- pods-xds-agent: the operator's istioctl gateways
def test_operator_rendered_gateway_is_fixed_in_its_istiooperator_not_by_istioctl_install(audit):
    # Istio's docs install gateways with their own IstioOperator (profile empty, components.ingressGateways); the
    # operator renders them (gateways/istio-ingress/templates/deployment.yaml @1.20.0: env from the IstioOperator's
    # meshConfig.defaultConfig.proxyMetadata, never injected) with its owner labels. main: the remediation said
    # `istioctl install -f` (a second, istioctl-managed install beside the operator's) or `kubectl set env`.
    from tests import install_shapes as S
    objs = [o for o in S.iop_gateway(S.Injector("1.20.0"), "istio-ingressgateway", "IngressGateways",
                                     istio_label="ingressgateway") if o["kind"] != "Namespace"]
    for obj in objs:
        if obj["kind"] in ("Deployment", "Service", "ReplicaSet"):
            obj["metadata"]["labels"].update({"install.operator.istio.io/owning-resource": "gateways",
                                              "install.operator.istio.io/owning-resource-namespace": "istio-system",
                                              "operator.istio.io/managed": "Reconcile"})
    gateways_iop = iop("gateways")
    gateways_iop["spec"] = {"profile": "empty", "components": {"ingressGateways": [
        {"name": "istio-ingressgateway", "enabled": True}]}}
    a = audit({"c1": [*istiod_with_pods(), operator(), operator_configmap(), iop(mesh_config=CARRIED), gateways_iop,
                      *objs]}, "migrating")
    [row] = [r for r in a.rows("pods-xds-agent") if r["name"] == "istio-ingressgateway"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1112")
    assert "patch istiooperators.install.istio.io/gateways --type=merge" in row["remediation"]
    assert "install -f" not in row["remediation"]
