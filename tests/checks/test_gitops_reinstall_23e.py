"""gitops-reinstall (fix23e): what installs Istio's control plane again that main did not read.

Shapes as the controllers serve them (read from upstream, not copied):
- Flux HelmRelease v2 with spec.chartRef (fluxcd/helm-controller@v1.6.3 api/v2/helmrelease_types.go ChartRef,
  reference_types.go CrossNamespaceSourceReference {apiVersion, kind: OCIRepository|HelmChart|ExternalArtifact, name,
  namespace}); spec.chart is then empty and status.history absent until a release succeeds (snapshot_types.go).
- Flux OCIRepository / HelmChart v1 (fluxcd/source-controller@v1.9.1 api/v1/ocirepository_types.go spec{url, ref,
  layerSelector}, helmchart_types.go spec{chart, version, sourceRef}).
- Flux Kustomization v1beta1 (fluxcd/kustomize-controller@v0.15.5 api/v1beta1/snapshot_types.go: status.snapshot
  {checksum, entries[]{namespace, kinds{"<group>/<version>, Kind=<kind>": kind}}}, no inventory before v1beta2).
- Rancher Fleet Bundle (rancher/fleet@v0.16.1 pkg/apis/fleet.cattle.io/v1alpha1/bundle_types.go: spec.helm{chart,
  repo, releaseName, version}, spec.resources[]{name, content, encoding "base64+gz"}; label
  fleet.cattle.io/repo-name; workspace fleet-local = the manager's own cluster). status.resourceKey[] only as Fleet up
  to v0.12 wrote it (v0.12.0 internal/cmd/controller/reconciler/bundle_status.go setResourceKey; v0.13 and later set
  it nil: v0.16.1 reconciler/bundle_controller.go).
- KubeVela Application (kubevela/kubevela@v1.10.9 apis/core.oam.dev/v1beta1/application_types.go spec.components[]
  {name, type, properties}, spec.policies[]{type topology, properties.clusters}; common/types.go status.
  appliedResources[] ClusterObjectReference {cluster, creator, apiVersion, kind, namespace, name}).

Main said PASS (GO at the finished gate) for each object below that installs istiod.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gitops_reinstall import helmrelease, kustomization

CHECK = "gitops-reinstall"
CONFIG = f.only_checks(CHECK)
ISTIO_CHARTS = "https://istio-release.storage.googleapis.com/charts"


def rows(audit, objects: list[dict[str, Any]], gate: str = "finished", **kw: Any) -> list[tuple[str, str, str]]:
    return sorted((r["status"], r["code"], r["name"])
                  for r in audit({"c1": objects}, gate, config=CONFIG, **kw).rows(CHECK))


# --- 1. a HelmRelease's chartRef -------------------------------------------------------------------------------------
def chart_ref_release(name: str, kind: str, source: str, *, history: str | None = None) -> dict[str, Any]:
    release = helmrelease(name)
    release["spec"].pop("chart")
    release["spec"]["chartRef"] = {"kind": kind, "name": source}
    release["status"] = {"conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed"}]}
    if history:
        release["status"]["history"] = [{"name": name, "namespace": "istio-system", "version": 1,
                                         "status": "deployed", "chartName": history, "chartVersion": "1.24.6",
                                         "digest": "sha256:0", "configDigest": "sha256:1"}]
    return release


def oci_repository(name: str, url: str) -> dict[str, Any]:
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": f.meta(name, "flux-system"),
            "spec": {"interval": "10m", "url": url, "ref": {"tag": "1.24.6"},
                     "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                       "operation": "copy"}}}


def helm_chart(name: str, chart: str) -> dict[str, Any]:
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart", "metadata": f.meta(name, "flux-system"),
            "spec": {"interval": "10m", "chart": chart, "version": "1.24.6",
                     "sourceRef": {"kind": "HelmRepository", "name": "istio"}}}


def test_a_chart_ref_to_istiods_oci_chart_without_history_fails(audit):
    release = chart_ref_release("istiod", "OCIRepository", "istiod")
    assert rows(audit, [release, oci_repository("istiod", "oci://gcr.io/istio-release/charts/istiod")]) == [
        ("FAIL", "AA3013", "istiod")]
    run = audit({"c1": [release, oci_repository("istiod", "oci://registry.example.com/mirror/istiod")]}, "finished",
                asm=[f.migration_cr("Finished", "Finished")], config={"snapshot": {"max_age": None}})
    assert run.result.verdict.value == "NO-GO"  # main: GO
    # Another chart is no Istio's.
    assert rows(audit, [release, oci_repository("istiod", "oci://ghcr.io/stefanprodan/charts/podinfo")]) == [
        ("PASS", "AA3001", "")]


def test_a_chart_ref_to_a_helm_chart_of_istiod_fails(audit):
    release = chart_ref_release("mesh", "HelmChart", "mesh-istiod")
    assert rows(audit, [release, helm_chart("mesh-istiod", "istiod")]) == [("FAIL", "AA3013", "mesh")]
    assert rows(audit, [release, helm_chart("mesh-istiod", "./manifests/charts/istio-control/istio-discovery")]) \
        == [("FAIL", "AA3013", "mesh")]
    assert rows(audit, [release, helm_chart("mesh-istiod", "base")]) == [("PASS", "AA3001", "")]


def test_a_chart_ref_whose_source_is_not_read_is_unknown_without_history(audit):
    release = chart_ref_release("istiod", "OCIRepository", "istiod")
    forbidden = {"c1": {K.FLUX_OCIREPOSITORY: "forbidden: ocirepositories.source.toolkit.fluxcd.io"}}
    assert rows(audit, [release], unreadable=forbidden) == [("UNKNOWN", "AA3035", "istiod")]
    assert rows(audit, [release]) == [("UNKNOWN", "AA3035", "istiod")]  # the source is not in the cluster
    assert rows(audit, [chart_ref_release("x", "ExternalArtifact", "istiod")]) == [("UNKNOWN", "AA3035", "x")]
    # With a release history the chart is known from it, as before.
    assert rows(audit, [chart_ref_release("istiod", "OCIRepository", "istiod", history="istiod")],
                unreadable=forbidden) == [("FAIL", "AA3013", "istiod")]
    assert rows(audit, [chart_ref_release("app", "OCIRepository", "app", history="podinfo")],
                unreadable=forbidden) == [("PASS", "AA3001", "")]
    # Suspended: helm-controller installs nothing.
    suspended = chart_ref_release("istiod", "OCIRepository", "istiod")
    suspended["spec"]["suspend"] = True
    assert rows(audit, [suspended], unreadable=forbidden) == [("PASS", "AA3001", "")]


# --- 2. a v1beta1 Kustomization --------------------------------------------------------------------------------------
def v1beta1_kustomization(name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    obj = kustomization(name, [])
    obj["apiVersion"] = "kustomize.toolkit.fluxcd.io/v1beta1"
    obj["status"] = {"lastAppliedRevision": "main/3b1f", "snapshot": {"checksum": "9f2c", "entries": entries}}
    return obj


def test_a_v1beta1_kustomization_lists_kinds_only_and_is_unknown_when_istios_are_among_them(audit):
    istio = v1beta1_kustomization("istio", [
        {"namespace": "", "kinds": {"admissionregistration.k8s.io/v1, Kind=MutatingWebhookConfiguration":
                                    "MutatingWebhookConfiguration"}},
        {"namespace": "istio-system", "kinds": {"apps/v1, Kind=Deployment": "Deployment", "/v1, Kind=Service":
                                                "Service"}}])
    assert rows(audit, [istio]) == [("UNKNOWN", "AA3036", "istio")]  # main: PASS
    apps = v1beta1_kustomization("apps", [{"namespace": "shop", "kinds": {"apps/v1, Kind=Deployment": "Deployment"}}])
    assert rows(audit, [apps]) == [("PASS", "AA3001", "")]


# --- 3. Fleet and KubeVela ------------------------------------------------------------------------------------------
def gz(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode())).decode()


def bundle(name: str, namespace: str = "fleet-local", *, helm: dict[str, str] | None = None,
           resources: list[dict[str, str]] | None = None, keys: list[dict[str, str]] | None = None) -> dict[str, Any]:
    meta = f.meta(name, namespace)
    meta["labels"] = {"fleet.cattle.io/repo-name": "mesh", "fleet.cattle.io/bundle-namespace": namespace}
    spec: dict[str, Any] = {"defaultNamespace": "istio-system", "resources": resources or [],
                            "targets": [{"clusterGroup": "default"}]}
    if helm:
        spec["helm"] = helm
    return {"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Bundle", "metadata": meta, "spec": spec,
            # resourceKey: only a Fleet up to v0.12 wrote it (omitempty: absent from v0.13's Bundles)
            "status": {**({"resourceKey": keys} if keys else {}), "summary": {"desiredReady": 1, "ready": 1}}}


def test_a_fleet_bundle_rendering_istiod_fails(audit):
    by_helm = bundle("mesh-istiod", helm={"chart": "istiod", "repo": ISTIO_CHARTS, "releaseName": "istiod",
                                          "version": "1.24.6"})
    by_chart = bundle("mesh-cp", resources=[
        {"name": "istiod/Chart.yaml", "content": gz("apiVersion: v2\nname: istiod\nversion: 1.24.6\n"),
         "encoding": "base64+gz"},
        {"name": "istiod/templates/deployment.yaml", "content": gz("kind: Deployment\n{{ .Values }}\n"),
         "encoding": "base64+gz"}])
    # status.resourceKey as Fleet up to v0.12 wrote it (v0.12.0 reconciler/bundle_status.go setResourceKey)
    by_key = bundle("mesh-keys", keys=[{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "istio-system",
                                        "name": "istiod"}])
    plain = bundle("mesh-plain", resources=[{"name": "operator/iop.yaml", "content":
                                             "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"
                                             "metadata:\n  name: control-plane\n  namespace: istio-system\n"}])
    assert rows(audit, [by_helm, by_chart, by_key, plain]) == [
        ("FAIL", "AA3014", "mesh-cp"), ("FAIL", "AA3014", "mesh-istiod"), ("FAIL", "AA3014", "mesh-keys"),
        ("FAIL", "AA3014", "mesh-plain")]
    run = audit({"c1": [by_helm]}, "finished", asm=[f.migration_cr("Finished", "Finished")],
                config={"snapshot": {"max_age": None}})
    assert run.result.verdict.value == "NO-GO"  # main: GO
    # A downstream workspace's bundle targets clusters the auditor cannot name.
    assert rows(audit, [bundle("mesh-istiod", "fleet-default", helm={"chart": "istiod", "repo": ISTIO_CHARTS})]) \
        == [("UNKNOWN", "AA3031", "mesh-istiod")]
    # fix23n: a Bundle read counts (AA3001), "no GitOps object found" (AA3040) would be false.
    assert rows(audit, [bundle("web", helm={"chart": "podinfo", "repo": "https://stefanprodan.github.io/podinfo"})]) \
        == [("PASS", "AA3001", "")]


def vela(name: str, components: list[dict[str, Any]], applied: list[dict[str, str]],
         policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"components": components}
    if policies:
        spec["policies"] = policies
    return {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application", "metadata": f.meta(name, "vela-system"),
            "spec": spec, "status": {"status": "running", "appliedResources": applied}}


ISTIOD_OBJECTS = {"name": "istiod", "type": "k8s-objects", "properties": {"objects": [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"}}]}}


def test_a_kubevela_application_dispatching_istiod_fails(audit):
    applied = [{"cluster": "local", "creator": "workflow", "apiVersion": "apps/v1", "kind": "Deployment",
                "namespace": "istio-system", "name": "istiod"}]
    assert rows(audit, [vela("istio", [ISTIOD_OBJECTS], applied)]) == [("FAIL", "AA3015", "istio")]
    helm = {"name": "istiod", "type": "helm", "properties": {"repoType": "helm", "url": ISTIO_CHARTS,
                                                             "chart": "istiod", "version": "1.24.6"}}
    assert rows(audit, [vela("istio", [helm], [])]) == [("FAIL", "AA3015", "istio")]
    # Dispatched to a managed cluster (topology policy): which one that is cannot be told from here.
    topology = [{"name": "prod", "type": "topology", "properties": {"clusters": ["prod-hz"]}}]
    assert rows(audit, [vela("istio", [ISTIOD_OBJECTS], [], topology)]) == [("UNKNOWN", "AA3031", "istio")]
    web = {"name": "web", "type": "webservice", "properties": {"image": "nginx"}}
    assert rows(audit, [vela("web", [web], [])]) == [("PASS", "AA3001", "")]  # fix23n: counted, as for a Bundle


def crd(kind: K.Kind) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": kind.key}, "spec": {"group": kind.group, "names": {"plural": kind.plural,
                                                                                     "kind": kind.kind}}}


@pytest.mark.parametrize("kind", [K.FLEET_BUNDLE, K.KUBEVELA_APPLICATION])
def test_fleet_and_kubevela_not_read_are_a_blind_spot_only_where_their_crd_is(audit, kind):
    not_collected = {"c1": {kind: f"the snapshot holds no {kind.kind} objects for this cluster (not collected)"}}
    # A snapshot taken before the kind was read, of a cluster without it: judged as before.
    assert rows(audit, [helmrelease("istiod", suspend=True)], unreadable=not_collected) == [("PASS", "AA3001", "")]
    assert rows(audit, [helmrelease("istiod", suspend=True), crd(kind)], unreadable=not_collected) == [
        ("UNKNOWN", "AA3030", "")]
