"""gitops-reinstall: the GitOps controllers' own objects that install Istio's control plane again after the purge.

Shapes as the controllers serve them (read from upstream, not copied):
- Argo CD Application / ApplicationSet: argoproj/argo-cd@v3.5.1 pkg/apis/application/v1alpha1/types.go
  (spec.source{repoURL,chart,path,targetRevision,helm}, spec.sources, spec.destination{server,name,namespace},
  spec.syncPolicy.automated{prune,selfHeal,enabled}, status.resources[]{group,version,kind,namespace,name,status}),
  applicationset_types.go (spec.generators, spec.template{metadata,spec}, spec.syncPolicy) and
  docs/operator-manual/applicationset/Application-Deletion.md (generated Applications carry an ownerReference to
  their ApplicationSet); a Helm-chart Application as docs/user-guide/helm.md declares one.
- Flux HelmRelease v2: fluxcd/helm-controller@v1.6.3 api/v2/helmrelease_types.go (spec.chart.spec{chart,sourceRef},
  spec.suspend, spec.kubeConfig.secretRef, status.history[] of snapshot_types.go {chartName,chartVersion,...},
  status.inventory.entries[]{id,v}).
- Flux Kustomization v1: fluxcd/kustomize-controller@v1.9.4 api/v1/kustomization_types.go (spec{interval,path,prune,
  sourceRef,suspend}) and inventory_types.go (entries[].id '<namespace>_<name>_<group>_<kind>').
- Istio's charts: istio.io "Install with Helm" (repository https://istio-release.storage.googleapis.com/charts,
  charts base, istiod, gateway, cni, ztunnel).

Before this check (red21b), none of these objects was read: after `istioctl uninstall --purge` no tracking label is
left on Istio's objects, so gitops-drift had nothing to ask and the finished gate was GO with an Application of Istio's
istiod chart still syncing into the cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f

CHECK = "gitops-reinstall"
CONFIG = f.only_checks(CHECK)
ISTIO_CHARTS = "https://istio-release.storage.googleapis.com/charts"
IN_CLUSTER = {"server": "https://kubernetes.default.svc", "namespace": "istio-system"}


def application(name: str, *, source: dict[str, Any] | None = None, automated: bool | None = True,
                destination: dict[str, str] | None = None, resources: list[dict[str, Any]] | None = None,
                owner: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"project": "default", "destination": destination or IN_CLUSTER,
                            "source": source or {"repoURL": ISTIO_CHARTS, "chart": "istiod",
                                                 "targetRevision": "1.22.3",
                                                 "helm": {"releaseName": "istiod"}}}
    if automated is not None:
        spec["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True, **({} if automated else
                                                                                 {"enabled": False})},
                              "syncOptions": ["CreateNamespace=true"]}
    meta = f.meta(name, "argocd")
    meta["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": owner,
                                    "uid": "5b1f", "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta, "spec": spec,
            "status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Missing"},
                       "resources": resources or []}}


def helmrelease(name: str, chart: str = "istiod", *, suspend: bool = False,
                kube_config: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": "10m", "releaseName": name, "targetNamespace": "istio-system",
                            "chart": {"spec": {"chart": chart, "version": "1.22.3",
                                               "sourceRef": {"kind": "HelmRepository", "name": "istio"}}}}
    if suspend:
        spec["suspend"] = True
    if kube_config:
        spec["kubeConfig"] = {"secretRef": {"name": "prod-kubeconfig"}}
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": f.meta(name, "flux-system"),
            "spec": spec,
            "status": {"history": [{"name": name, "namespace": "istio-system", "version": 1, "status": "deployed",
                                    "chartName": chart, "chartVersion": "1.22.3", "appVersion": "1.22.3",
                                    "digest": "sha256:0", "configDigest": "sha256:1"}]}}


def kustomization(name: str, entries: list[str], *, suspend: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": "10m", "path": "./infrastructure/istio", "prune": True,
                            "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    if suspend:
        spec["suspend"] = True
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": f.meta(name, "flux-system"), "spec": spec,
            "status": {"inventory": {"entries": [{"id": e, "v": "v1"} for e in entries]}}}


def rows(audit, objects: list[dict[str, Any]], gate: str = "finished", **kw: Any) -> list[tuple[str, str, str]]:
    return [(r["status"], r["code"], r["name"]) for r in audit({"c1": objects}, gate, config=CONFIG, **kw).rows(CHECK)]


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_an_application_of_istiods_chart_with_automated_sync_fails(audit, gate):
    run = audit({"c1": [application("istiod")]}, gate, config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA3010", "blocker")
    assert (row["kind"], row["namespace"], row["name"]) == ("Application", "argocd", "istiod")
    assert "finalizers" in row["remediation"] and "delete applications.argoproj.io/istiod" in row["remediation"]
    assert run.result.verdict.value == "NO-GO"


def test_no_automated_sync_is_not_enough(audit):
    """Argo CD has no suspend: a manual sync (invited by the OutOfSync/Missing status the purge leaves) reinstalls."""
    assert rows(audit, [application("istiod", automated=False)]) == [("FAIL", "AA3011", "istiod")]
    assert rows(audit, [application("istiod", automated=None)]) == [("FAIL", "AA3011", "istiod")]


def test_a_git_path_rendering_an_istio_operator_is_known_by_the_resources_it_manages(audit):
    app = application("mesh", source={"repoURL": "https://git.example.com/platform/mesh.git",
                                      "path": "clusters/prod/istio", "targetRevision": "main"},
                      resources=[{"group": "install.istio.io", "version": "v1alpha1", "kind": "IstioOperator",
                                  "namespace": "istio-system", "name": "control-plane", "status": "OutOfSync"}])
    assert rows(audit, [app]) == [("FAIL", "AA3010", "mesh")]


def test_an_oci_source_and_a_git_checkout_of_istio_are_istios(audit):
    oci = application("istiod-oci", source={"repoURL": "oci://gcr.io/istio-release/charts/istiod",
                                            "targetRevision": "1.24.6"})
    git = application("istiod-git", source={"repoURL": "https://github.com/istio/istio.git", "targetRevision":
                                            "1.22.3", "path": "manifests/charts/istio-control/istio-discovery"})
    assert sorted(rows(audit, [oci, git])) == [("FAIL", "AA3010", "istiod-git"), ("FAIL", "AA3010", "istiod-oci")]


def test_applications_without_istio_or_pointing_elsewhere(audit):
    other = application("ingress-nginx", source={"repoURL": "https://kubernetes.github.io/ingress-nginx",
                                                 "chart": "ingress-nginx", "targetRevision": "4.11.2"})
    assert rows(audit, [other]) == [("PASS", "AA3001", "")]
    remote = application("istiod-prod", destination={"server": "https://10.0.0.12:6443", "namespace": "istio-system"})
    # Which cluster that is cannot be told: it may be another cluster being migrated (never a silent PASS).
    assert rows(audit, [remote, other]) == [("UNKNOWN", "AA3031", "istiod-prod")]


def test_a_generated_application_names_its_application_set(audit):
    appset = {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": f.meta("istio", "argocd"),
              "spec": {"generators": [{"list": {"elements": [{"cluster": "in-cluster",
                                                              "url": "https://kubernetes.default.svc"}]}}],
                       "template": {"metadata": {"name": "{{cluster}}-istiod"},
                                    "spec": {"project": "default",
                                             "source": {"repoURL": ISTIO_CHARTS, "chart": "istiod",
                                                        "targetRevision": "1.22.3"},
                                             "destination": {"server": "{{url}}", "namespace": "istio-system"}}}}}
    run = audit({"c1": [appset, application("in-cluster-istiod", owner="istio")]}, "finished", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["application_set"]) == ("FAIL", "AA3010", "istio")
    assert "delete applicationsets.argoproj.io/istio --cascade=orphan" in row["remediation"]
    # Alone (its Application deleted, the controller not running), templated: which clusters it fills in is unknown.
    assert rows(audit, [appset]) == [("UNKNOWN", "AA3031", "istio")]
    appset["spec"]["template"]["spec"]["destination"] = IN_CLUSTER
    assert rows(audit, [appset]) == [("FAIL", "AA3012", "istio")]


def test_flux_helmrelease_of_istiod_fails_unless_suspended(audit):
    assert rows(audit, [helmrelease("istiod")]) == [("FAIL", "AA3013", "istiod")]
    [row] = audit({"c1": [helmrelease("istiod", suspend=True)]}, "finished", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA3001")
    assert row["evidence"]["suspended"] == ["Flux HelmRelease flux-system/istiod"]
    # Another cluster's (spec.kubeConfig: a Secret, never read): unknown, not passed.
    assert rows(audit, [helmrelease("istiod", kube_config=True)]) == [("UNKNOWN", "AA3031", "istiod")]
    # Istio's base chart alone installs no control plane; a chart named like it from an unread repository is not
    # taken for Istio's.
    assert rows(audit, [helmrelease("istio-base", chart="base")]) == [("PASS", "AA3001", "")]


def test_flux_kustomization_applying_istiod_fails_unless_suspended(audit):
    entries = ["istio-system_istiod_apps_Deployment",
               "_istio-sidecar-injector_admissionregistration.k8s.io_MutatingWebhookConfiguration",
               "istio-system_istiod__Service"]
    assert rows(audit, [kustomization("istio", entries)]) == [("FAIL", "AA3013", "istio")]
    assert rows(audit, [kustomization("istio", entries, suspend=True)]) == [("PASS", "AA3001", "")]
    assert rows(audit, [kustomization("apps", ["shop_cart_apps_Deployment"])]) == [("PASS", "AA3001", "")]


def test_no_controller_is_not_applicable_and_unreadable_is_unknown(audit):
    assert rows(audit, []) == [("NOT_APPLICABLE", "AA3040", "")]
    not_served = {"c1": {k: "not-served" for k in K.GITOPS_KINDS}}
    assert rows(audit, [], unreadable=not_served) == [("NOT_APPLICABLE", "AA3040", "")]
    forbidden = {"c1": {K.ARGO_APPLICATION: "forbidden: applications.argoproj.io"}}
    assert rows(audit, [helmrelease("istiod", suspend=True)], unreadable=forbidden) == [("UNKNOWN", "AA3030", "")]
    # What was read still fails beside what was not.
    assert sorted(rows(audit, [helmrelease("istiod")], unreadable=forbidden)) == [
        ("FAIL", "AA3013", "istiod"), ("UNKNOWN", "AA3030", "")]


def test_the_finished_gate_is_no_longer_go_with_istiods_application_left(audit):
    """The defect end to end, every check on: Istio purged, the migration Finished, nothing of Istio left in the
    cluster but the Argo CD Application of its istiod chart (automated sync). The old code said GO."""
    run = audit({"c1": [application("istiod")]}, "finished", asm=[f.migration_cr("Finished", "Finished")],
                config={"snapshot": {"max_age": None}})
    assert run.result.verdict.value == "NO-GO"
    assert [(r["check_id"], r["code"]) for r in records_failing(run)] == [(CHECK, "AA3010")]


def records_failing(run) -> list[dict[str, Any]]:
    return [r for r in run.rows(CHECK) + [r for c in ("migration-resource", "istio-control-plane-removed",
                                                      "istio-residue", "istio-sidecars-remaining")
                                          for r in run.rows(c)] if r["status"] in ("FAIL", "UNKNOWN")]
