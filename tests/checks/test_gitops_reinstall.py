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
    # Alone (its Application deleted, the controller not running): its list element fills in this cluster (red22b:
    # was UNKNOWN AA3031, the template's {{url}} read as any cluster).
    assert rows(audit, [appset]) == [("FAIL", "AA3012", "istio")]
    # A generator whose parameters are not readable here (a cluster generator): which clusters it fills in is unknown.
    appset["spec"]["generators"] = [{"clusters": {"selector": {"matchLabels": {"mesh": "istio"}}}}]
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


# --- review21 (fix21b) ------------------------------------------------------------------------------------------------
def child_entry(kind: str, name: str, *, synced: bool) -> dict[str, Any]:
    """An entry of a root Application's status.resources for a child it applies (ResourceStatus, argo-cd@v3.5.1
    types.go; an app of apps as docs/operator-manual/cluster-bootstrapping.md declares one: the parent's Git path holds
    the child Applications' manifests, and a child not in the cluster is listed OutOfSync with health Missing)."""
    entry: dict[str, Any] = {"group": "argoproj.io", "version": "v1alpha1", "kind": kind, "namespace": "argocd",
                             "name": name, "status": "Synced" if synced else "OutOfSync"}
    entry["health"] = {"status": "Healthy" if synced else "Missing"}
    return entry


def root(children: list[dict[str, Any]], automated: bool | None = True) -> dict[str, Any]:
    return application("root", source={"repoURL": "https://git.example.com/platform/apps.git", "path": "apps",
                                       "targetRevision": "main"}, destination={
        "server": "https://kubernetes.default.svc", "namespace": "argocd"}, resources=children, automated=automated)


def test_app_of_apps_child_names_its_parent_whose_fix_comes_first(audit):
    """Before: the child's remediation removed its finalizer and deleted it, and the root's next sync (selfHeal)
    re-created it with its finalizer, Istio and all; the root itself passed."""
    run = audit({"c1": [root([child_entry("Application", "istiod", synced=True)]), application("istiod")]},
                "finished", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA3010", "istiod")
    assert row["evidence"]["parents"] == ["Argo CD Application argocd/root"]
    fix = row["remediation"]
    assert fix.index("delete applications.argoproj.io/root") < fix.index("delete applications.argoproj.io/istiod")


def test_app_of_apps_with_its_istiod_child_deleted_fails_on_the_root(audit):
    """The child deleted (as AA3010's remediation said) and the root left: its next sync re-creates it. Before: PASS
    AA3001 (review21, false GO)."""
    missing = [child_entry("Application", "istiod", synced=False)]
    assert rows(audit, [root(missing)]) == [("FAIL", "AA3010", "root")]
    assert rows(audit, [root(missing, automated=False)]) == [("FAIL", "AA3011", "root")]
    # A child whose name says nothing of Istio: what it installs is in Git, not readable here.
    other = [child_entry("Application", "platform-addons", synced=False)]
    assert rows(audit, [root(other)]) == [("UNKNOWN", "AA3033", "root")]
    # A child in the cluster that installs no Istio, and a child of a root deploying elsewhere: nothing re-created here.
    nginx = application("ingress-nginx", source={"repoURL": "https://kubernetes.github.io/ingress-nginx",
                                                 "chart": "ingress-nginx", "targetRevision": "4.11.2"})
    assert rows(audit, [root([child_entry("Application", "ingress-nginx", synced=True)]), nginx]) == [
        ("PASS", "AA3001", "")]
    remote_root = root(missing)
    remote_root["spec"]["destination"] = {"server": "https://10.0.0.12:6443", "namespace": "argocd"}
    assert rows(audit, [remote_root]) == [("PASS", "AA3001", "")]


def test_flux_kustomization_re_creating_istiods_helmrelease(audit):
    """flux2-kustomize-helm-example's layout: Kustomization 'infrastructure' applies HelmRelease istiod (inventory id
    '<namespace>_<name>_<group>_<kind>', kustomize-controller@v1.9.4 api/v1/inventory_types.go)."""
    entries = ["flux-system_istiod_helm.toolkit.fluxcd.io_HelmRelease",
               "flux-system_istio_source.toolkit.fluxcd.io_HelmRepository"]
    # Before: PASS AA3001 with the HelmRelease deleted.
    assert rows(audit, [kustomization("infrastructure", entries)]) == [("FAIL", "AA3013", "infrastructure")]
    assert rows(audit, [kustomization("infrastructure", entries, suspend=True)]) == [("PASS", "AA3001", "")]
    run = audit({"c1": [kustomization("infrastructure", entries), helmrelease("istiod")]}, "finished", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA3013", "istiod")
    assert row["evidence"]["parents"] == ["Flux Kustomization flux-system/infrastructure"]
    fix = row["remediation"]
    assert fix.index("suspend kustomization infrastructure") < fix.index("suspend helmrelease istiod")
    unknown = kustomization("infrastructure", ["flux-system_apps_kustomize.toolkit.fluxcd.io_Kustomization"])
    assert rows(audit, [unknown]) == [("UNKNOWN", "AA3033", "infrastructure")]


def argocd_manager_rbac() -> list[dict[str, Any]]:
    """What `argocd cluster add` leaves in the cluster it registers (argo-cd@v3.5.1 util/clusterauth/clusterauth.go:
    InstallClusterManagerRBAC, upsertClusterRole/upsertClusterRoleBinding, ArgoCDManagerClusterPolicyRules)."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": f.meta("argocd-manager-role"),
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": f.meta("argocd-manager-role-binding"),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "argocd-manager-role"},
               "subjects": [{"kind": "ServiceAccount", "name": "argocd-manager", "namespace": "kube-system"}]}
    return [role, binding]


def test_a_cluster_managed_by_an_argo_cd_elsewhere_is_unknown(audit):
    """No Application here, but an Argo CD in another cluster applies to this one. Before: NOT_APPLICABLE AA3040."""
    assert rows(audit, argocd_manager_rbac()) == [("UNKNOWN", "AA3032", "argocd-manager-role-binding")]
    # Beside this cluster's own objects too: what the other Argo CD applies is not read here.
    assert rows(audit, [*argocd_manager_rbac(), helmrelease("istiod", suspend=True)]) == [
        ("UNKNOWN", "AA3032", "argocd-manager-role-binding")]
    other = argocd_manager_rbac()[1]
    other["metadata"] = f.meta("ops-admin")
    assert rows(audit, [other]) == [("NOT_APPLICABLE", "AA3040", "")]
    forbidden = {"c1": {K.CLUSTERROLEBINDING: "forbidden: clusterrolebindings.rbac.authorization.k8s.io"}}
    assert rows(audit, [], unreadable=forbidden) == [("UNKNOWN", "AA3030", "")]


@pytest.mark.parametrize("repo", ["oci://gcr.io/istio-release/charts/istiod", "oci://registry.example.com/mirror/istiod"])
def test_argo_cds_oci_chart_form(audit, repo):
    """argo-cd@v3.5.1 docs/user-guide/oci.md: an OCI Helm chart's repoURL names the chart and `path` is ".". Before:
    PASS AA3001."""
    app = application("istiod", source={"repoURL": repo, "targetRevision": "1.24.6", "path": "."})
    assert rows(audit, [app]) == [("FAIL", "AA3010", "istiod")]


@pytest.mark.parametrize(("source", "expected"), [
    # istio/istio@1.24.6..1.30.3 manifests/charts: base (CRDs, istiod-default-validator), gateway (a gateway
    # Deployment), istio-cni and ztunnel (DaemonSets) hold neither istiod nor an injector webhook. Before: FAIL AA3010.
    ({"repoURL": ISTIO_CHARTS, "chart": "base"}, ("WARN", "AA3020")),
    ({"repoURL": ISTIO_CHARTS, "chart": "gateway"}, ("WARN", "AA3020")),
    ({"repoURL": ISTIO_CHARTS, "chart": "cni"}, ("WARN", "AA3020")),
    ({"repoURL": "oci://gcr.io/istio-release/charts/ztunnel", "path": "."}, ("WARN", "AA3020")),
    ({"repoURL": "https://github.com/istio/istio.git", "path": "manifests/charts/gateways/istio-ingress"},
     ("WARN", "AA3020")),
    # manifests/charts/default (chart istio-default): the default revision tag's injector webhook, failurePolicy Fail.
    ({"repoURL": "https://github.com/istio/istio.git", "path": "manifests/charts/default"}, ("FAIL", "AA3010")),
    ({"repoURL": ISTIO_CHARTS, "chart": "istiod"}, ("FAIL", "AA3010")),
])
def test_only_charts_installing_istiod_or_an_injector_fail(audit, source, expected):
    app = application("istio", source={**source, "targetRevision": "1.24.6"})
    assert rows(audit, [app]) == [(*expected, "istio")]
    # Flux's HelmRelease names no repository (its HelmRepository is not read): only control-plane charts count.
    assert rows(audit, [helmrelease("istio", chart="gateway")]) == [("PASS", "AA3001", "")]


# --- red22b -----------------------------------------------------------------------------------------------------------
def templated_appset(elements: list[dict[str, Any]], *, go_template: bool = False) -> dict[str, Any]:
    """An ApplicationSet installing Istio's charts one Application per list element, the chart (and destination) in
    its template's parameters (argo-cd@v3.5.1 applicationset/generators/list.go: a plain element's string values are
    parameters by key, its `values` map's as values.<key>; with goTemplate the element itself, `.key`;
    docs/operator-manual/applicationset/Generators-List.md). Its Applications are not in the cluster (deleted, and
    the controller not running)."""
    param = (lambda key: f"{{{{.{key}}}}}") if go_template else (lambda key: f"{{{{{key}}}}}")
    spec: dict[str, Any] = {
        "generators": [{"list": {"elements": elements}}],
        "template": {"metadata": {"name": f"istio-{param('chart')}"},
                     "spec": {"project": "default",
                              "source": {"repoURL": ISTIO_CHARTS, "chart": param("chart"), "targetRevision": "1.24.6"},
                              "destination": {"server": param("url"), "namespace": "istio-system"},
                              "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}}
    if go_template:
        spec["goTemplate"] = True
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": f.meta("istio", "argocd"),
            "spec": spec}


@pytest.mark.parametrize("go_template", [False, True])
def test_an_application_sets_list_parameters_fill_its_template(audit, go_template):
    """Before: PASS AA3001 (the chart `{{chart}}` named nothing of Istio's)."""
    here = "https://kubernetes.default.svc"
    elements = [{"chart": "base", "url": here}, {"chart": "istiod", "url": here}]
    assert rows(audit, [templated_appset(elements, go_template=go_template)]) == [("FAIL", "AA3012", "istio")]
    # The same charts into another cluster: which that is cannot be told here.
    elsewhere = [{**e, "url": "https://10.0.0.12:6443"} for e in elements]
    assert rows(audit, [templated_appset(elsewhere, go_template=go_template)]) == [("UNKNOWN", "AA3031", "istio")]
    # Only Istio's base chart: what it puts back is a warning, as for an Application of it.
    assert rows(audit, [templated_appset(elements[:1], go_template=go_template)]) == [("WARN", "AA3020", "istio")]


# --- fix22j: nested generators, elementsYaml, parameters not readable here -----------------------------------------
# Shapes from argo-cd@v3.5.1: applicationset/generators/list.go (elements, then elementsYaml's YAML list appended),
# matrix.go (exactly two generators; each set of the first combined with each set of the second, the second's fields
# filled from the first's set), merge.go (the first generator's sets, each overridden by a later generator's set with
# the same mergeKeys values), generator_spec_processor.go (a generator's own template over the ApplicationSet's), and
# docs/operator-manual/applicationset/Generators-{Matrix,Merge,List}.md.
HERE = "https://kubernetes.default.svc"
CLUSTERS = {"clusters": {"selector": {"matchLabels": {"mesh": "istio"}}}}


def appset_of(generators: list[dict[str, Any]], *, server: str = "{{.server}}", path: str | None = None,
              go_template: bool = True) -> dict[str, Any]:
    """An ApplicationSet of Istio's repository whose chart (and destination) are parameters of its generators."""
    source: dict[str, Any] = {"repoURL": ISTIO_CHARTS, "chart": "{{.chart}}", "targetRevision": "1.24.6"}
    if path is not None:
        source = {"repoURL": "https://git.example.com/platform/addons.git", "path": path, "targetRevision": "main"}
    spec: dict[str, Any] = {"generators": generators,
                            "template": {"metadata": {"name": "{{.name}}-addon"},
                                         "spec": {"project": "default", "source": source,
                                                  "destination": {"server": server, "namespace": "istio-system"},
                                                  "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}}
    if go_template:
        spec["goTemplate"] = True
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": f.meta("addons", "argocd"),
            "spec": spec}


def test_a_list_nested_in_a_matrix_fills_the_chart(audit):
    """The brief's scenario: matrix of the clusters generator and a list naming istiod. Was PASS AA3001 (only the
    top-level list.elements were read; the chart stayed '{{.chart}}')."""
    matrix = {"matrix": {"generators": [CLUSTERS, {"list": {"elements": [{"chart": "istiod"}]}}]}}
    # The destination is the clusters generator's `server`: not readable here.
    assert rows(audit, [appset_of([matrix])]) == [("UNKNOWN", "AA3031", "addons")]
    assert rows(audit, [appset_of([matrix], server=HERE)]) == [("FAIL", "AA3012", "addons")]
    # A list whose element names the cluster: both generators' parameters combined.
    both = {"matrix": {"generators": [{"list": {"elements": [{"server": HERE}]}},
                                      {"list": {"elements": [{"chart": "gateway"}, {"chart": "istiod"}]}}]}}
    assert rows(audit, [appset_of([both])]) == [("FAIL", "AA3012", "addons")]


def test_elements_yaml_is_read(audit):
    """list.elementsYaml (Argo CD 2.9+): a YAML list of the elements. Was PASS AA3001."""
    text = f"- chart: istiod\n  server: {HERE}\n- chart: base\n  server: {HERE}\n"
    assert rows(audit, [appset_of([{"list": {"elements": [], "elementsYaml": text}}])]) == [
        ("FAIL", "AA3012", "addons")]
    # The docs' shape: a matrix's list filled from a git file's content, not readable here.
    git_files = {"git": {"repoURL": "https://git.example.com/platform/addons.git", "revision": "HEAD",
                         "files": [{"path": "clusters/prod/addons.yaml"}]}}
    dynamic = {"matrix": {"generators": [git_files, {"list": {"elementsYaml": "{{ .key.components | toJson }}"}}]}}
    assert rows(audit, [appset_of([dynamic], server=HERE)]) == [("UNKNOWN", "AA3034", "addons")]


def test_a_merge_overrides_by_its_merge_keys(audit):
    base = {"list": {"elements": [{"name": "prod", "server": HERE, "chart": "gateway"}]}}
    override = {"list": {"elements": [{"name": "prod", "chart": "istiod"}, {"name": "dev", "chart": "cni"}]}}
    merge = {"merge": {"mergeKeys": ["name"], "generators": [base, override]}}
    assert rows(audit, [appset_of([merge])]) == [("FAIL", "AA3012", "addons")]
    # No set of the override shares the base's merge key: discarded, the base's gateway chart stays (a warning).
    merge["merge"]["mergeKeys"] = ["server"]
    assert rows(audit, [appset_of([merge])]) == [("WARN", "AA3020", "addons")]
    # The docs' shape: a clusters base overridden per cluster by a list: the clusters it leaves alone keep the
    # clusters generator's chart parameter, not readable here.
    merge = {"merge": {"mergeKeys": ["server"], "generators": [
        CLUSTERS, {"list": {"elements": [{"server": "https://10.0.0.12:6443", "chart": "gateway"}]}}]}}
    assert rows(audit, [appset_of([merge], server=HERE)]) == [("UNKNOWN", "AA3034", "addons")]


def test_a_chart_or_path_a_generator_not_read_here_fills_is_unknown(audit):
    """Was PASS AA3001: the template as written names no Istio chart, but the git/clusters generator fills it."""
    git_dirs = {"git": {"repoURL": "https://git.example.com/platform/addons.git", "revision": "HEAD",
                        "directories": [{"path": "addons/*"}]}}
    assert rows(audit, [appset_of([git_dirs], server=HERE, path="{{.path.path}}")]) == [
        ("UNKNOWN", "AA3034", "addons")]
    assert rows(audit, [appset_of([CLUSTERS], server=HERE)]) == [("UNKNOWN", "AA3034", "addons")]
    # Controls: a chart every element fills, none Istio's, and a fixed non-Istio source with a clusters generator.
    filled = appset_of([{"list": {"elements": [{"chart": "gateway-api", "server": HERE}]}}])
    filled["spec"]["template"]["spec"]["source"]["repoURL"] = "https://charts.example.com"
    assert rows(audit, [filled]) == [("PASS", "AA3001", "")]
    fixed = appset_of([CLUSTERS], path="addons/ingress-nginx")
    assert rows(audit, [fixed]) == [("PASS", "AA3001", "")]


def test_a_generators_own_template_is_read(audit):
    """A generator's template overrides the ApplicationSet's (mergeGeneratorTemplate)."""
    own = {"list": {"elements": [{"name": "prod", "server": HERE}],
                    "template": {"metadata": {}, "spec": {"project": "default",
                                                          "source": {"repoURL": ISTIO_CHARTS, "chart": "istiod",
                                                                     "targetRevision": "1.24.6"}}}}}
    appset = appset_of([own], path="addons/ingress-nginx")
    assert rows(audit, [appset]) == [("FAIL", "AA3012", "addons")]
