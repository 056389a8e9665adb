"""gitops-drift: namespaces and mesh workloads whose injection change belongs in Git (Argo CD, Flux, Helm).

Markers as the controllers write them: Argo CD's annotation argocd.argoproj.io/tracking-id
"<app>:<group>/<kind>:<namespace>/<name>" (argo-cd util/argo/resource_tracking.go) and its label-tracking
app.kubernetes.io/instance; Flux kustomize-controller's kustomize.toolkit.fluxcd.io/name + /namespace labels and
helm-controller's helm.toolkit.fluxcd.io/name + /namespace labels; Helm 3's meta.helm.sh/release-name and
release-namespace annotations with label app.kubernetes.io/managed-by=Helm (helm pkg/action/validate.go).
At the uninstall gate: the objects `istioctl uninstall --purge` deletes that Argo CD or Flux applies (see below).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests import install_shapes as shapes

CHECK = "gitops-drift"
CONFIG = f.only_checks(CHECK)


def managed_deployment(name: str, namespace: str, *, labels: dict | None = None, annotations: dict | None = None,
                       proxy: str | None = "istio", pods: int = 2) -> list[dict[str, Any]]:
    dep, rs = f.deployment(name, namespace, labels={"app": name, **(labels or {})})
    if annotations:
        dep["metadata"]["annotations"] = dict(annotations)
    return [dep, rs, *f.workload_pods((dep, rs), pods, proxy=proxy)]


def test_argo_cd_workload_on_istio_warns_major_naming_the_application(audit):
    objects = managed_deployment("cart", "shop", annotations={
        "argocd.argoproj.io/tracking-id": "shop-prod:apps/Deployment:shop/cart"})
    for phase in ("assessment", "migrating"):
        [row] = audit({"c1": objects}, phase, config=CONFIG).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA2720", "major")
        assert (row["kind"], row["namespace"], row["name"]) == ("Deployment", "shop", "cart")
        assert (row["evidence"]["managed_by"], row["evidence"]["pods_on_istio"]) == ("Argo CD Application shop-prod", 2)
        assert row["remediation"].startswith("Add the label sidecar.asm.aliyun.com/inject=true to the pod template "
                                             "of Deployment shop/cart in the source of Argo CD Application shop-prod")


def test_workloads_not_judged_at_uninstall(audit):
    """At the uninstall gate only what the purge deletes is asked about (the injection changes are done by then)."""
    objects = managed_deployment("cart", "shop", annotations={
        "argocd.argoproj.io/tracking-id": "shop-prod:apps/Deployment:shop/cart"})
    rows = audit({"c1": objects}, "uninstall", config=CONFIG).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2702")]


def test_apps_in_any_namespace_tracking_id_names_namespace_and_application(audit):
    objects = managed_deployment("cart", "shop", annotations={
        "argocd.argoproj.io/tracking-id": "team-a_shop:apps/Deployment:shop/cart"})
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert row["evidence"]["managed_by"] == "Argo CD Application team-a/shop"


def test_flux_namespace_and_helm_workload_on_asm_warn_minor(audit):
    flux_ns = f.namespace("pay", {"istio-injection": "enabled", "kustomize.toolkit.fluxcd.io/name": "apps",
                                  "kustomize.toolkit.fluxcd.io/namespace": "flux-system"})
    helm = managed_deployment("payments", "pay", proxy="asm", labels={
        "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "payments"},
        annotations={"meta.helm.sh/release-name": "payments", "meta.helm.sh/release-namespace": "pay"})
    rows = audit({"c1": [flux_ns, *helm]}, "migrating", config=CONFIG).by_name(CHECK)
    assert sorted(rows) == ["pay", "payments"]
    ns = rows["pay"]
    assert (ns["status"], ns["code"], ns["severity"], ns["kind"]) == ("WARN", "AA2722", "minor", "Namespace")
    assert ns["evidence"] == {"managed_by": "Flux Kustomization flux-system/apps",
                              "labels": {"istio-injection": "enabled"}}
    workload = rows["payments"]
    assert (workload["status"], workload["code"], workload["severity"]) == ("WARN", "AA2721", "minor")
    assert (workload["evidence"]["managed_by"], workload["evidence"]["pods_on_istio"]) == ("Helm release pay/payments",
                                                                                         0)


def test_flux_helmrelease_labels_name_the_helmrelease(audit):
    objects = managed_deployment("web", "shop", labels={
        "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "flux-system",
        "app.kubernetes.io/managed-by": "Helm"},
        annotations={"meta.helm.sh/release-name": "shop-web", "meta.helm.sh/release-namespace": "shop"})
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["code"], row["evidence"]["managed_by"]) == ("AA2720", "Flux HelmRelease flux-system/web")


def test_unmanaged_mesh_workloads_and_namespaces_pass(audit):
    objects = [f.namespace("shop", {"istio-injection": "enabled"}), *managed_deployment("cart", "shop")]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2701")
    assert row["evidence"] == {"workloads": 1, "namespaces": 1}


def test_no_sidecar_and_no_injection_label_is_not_applicable(audit):
    argo_ns = f.namespace("tools", {"app.kubernetes.io/instance": "tools"})
    objects = [argo_ns, *managed_deployment("cli", "tools", proxy=None)]
    [row] = audit({"c1": objects}, "assessment", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2740")


def test_unreadable_deployments_are_unknown_never_pass(audit):
    objects = [f.namespace("shop", {"istio-injection": "enabled"}), *managed_deployment("cart", "shop")]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG,
                  unreadable={"c1": {K.DEPLOYMENT: "forbidden"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2730")
    assert row["evidence"] == {"objects": ["shop/Deployment/cart"], "count": 1}


def test_unreadable_pods_are_unknown(audit):
    run = audit({"c1": managed_deployment("cart", "shop")}, "migrating", config=CONFIG,
                unreadable={"c1": {K.POD: "forbidden"}})
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("UNKNOWN", "AA0001")]


def test_a_standalone_job_tracked_by_annotation_warns(audit):
    """A Job of its own (no CronJob) deployed by Argo CD with annotation tracking (the default since Argo CD 3.0:
    argocd.argoproj.io/tracking-id "<app>:<group>/<kind>:<namespace>/<name>"). The inventory used to drop every
    Job's annotations, so the marker was never seen and the check said CLEAN (AA2701)."""
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("migrate-db", "shop"),
           "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                    "template": {"metadata": {"labels": {"job-name": "migrate-db"}},
                                 "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image":
                                                                                   "registry.example.com/shop/migrate:4.2"}]}}},
           "status": {"active": 1, "startTime": "2026-11-10T08:00:00Z"}}
    job["metadata"]["annotations"] = {"argocd.argoproj.io/tracking-id": "shop-prod:batch/Job:shop/migrate-db"}
    pod = f.job_pod("migrate-db-x7k2p", "shop", "migrate-db", app_finished=False)
    [row] = audit({"c1": [job, pod]}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("WARN", "AA2720", "Job", "migrate-db")
    assert row["evidence"]["managed_by"] == "Argo CD Application shop-prod"


def test_every_marker_gitops_asks_for_is_one_the_shared_walk_records():
    """gitops-drift asks the shared walk (auditor/labelled.py) which workloads carry its markers; a marker the walk
    does not record would raise KeyError at run time (a crashed check: UNKNOWN). Both lists must agree."""
    from auditor import labelled
    from checks import gitops

    assert set(labelled.LABELS) >= gitops._MARKER_LABELS
    assert set(labelled.ANNOTATIONS) >= gitops._MARKER_ANNOTATIONS


def test_argo_cd_label_tracking_under_its_recommended_custom_key_is_a_marker(audit):
    """Argo CD's FAQ recommends application.instanceLabelKey: argocd.argoproj.io/instance (argoproj/argo-cd@v3.5.1:
    docs/faq.md "Why Is My App Out Of Sync Even After Syncing?", docs/user-guide/resource_tracking.md "Use custom
    label"); label tracking then writes that label alone (SetAppInstance, util/argo/resource_tracking.go), with
    <namespace>_<app> for an Application outside Argo CD's namespace (Application.InstanceName,
    pkg/apis/application/v1alpha1/types.go). main read no marker there: AA2701 PASS for a self-healed workload and
    namespace whose kubectl injection change the next sync reverts."""
    ns = f.namespace("shop", {"istio-injection": "enabled", "argocd.argoproj.io/instance": "shop-namespaces"})
    objects = [ns, *managed_deployment("cart", "shop", labels={"argocd.argoproj.io/instance": "team-a_shop-prod"})]
    rows = audit({"c1": objects}, "migrating", config=CONFIG).by_name(CHECK)
    assert sorted(rows) == ["cart", "shop"]
    assert (rows["cart"]["status"], rows["cart"]["code"]) == ("WARN", "AA2720")
    assert rows["cart"]["evidence"]["managed_by"].startswith("Argo CD Application team-a/shop-prod")
    assert (rows["shop"]["status"], rows["shop"]["code"]) == ("WARN", "AA2722")
    assert rows["shop"]["evidence"]["managed_by"].startswith("Argo CD Application shop-namespaces")


# ---------------------------------------------------------------- the uninstall gate: the purge undone by a sync
ISTIO = shapes.Injector("1.24.6")
HELM_MARKS = ("meta.helm.sh/release-name", "meta.helm.sh/release-namespace")


def _group(obj: dict[str, Any]) -> str:
    api_version = obj["apiVersion"]
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def argo_cd_rendered_istiod(app: str) -> list[dict[str, Any]]:
    """The istiod chart as an Argo CD Application (source repoURL https://istio-release.storage.googleapis.com/charts,
    chart istiod) applies it: Argo CD renders it with `helm template` (no Helm release annotations; the chart's own
    labels, operator.istio.io/component: Pilot among them, stay: istio-discovery templates @1.24.6) and annotates every
    object argocd.argoproj.io/tracking-id "<app>:<group>/<kind>:<namespace>/<name>" (annotation tracking, the default
    since 3.0: argoproj/argo-cd@v3.5.1 util/argo/resource_tracking.go BuildAppInstanceValue, SetAppInstance)."""
    out = shapes.istiod(ISTIO, method="helm")
    for obj in out:
        meta = obj["metadata"]
        notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in HELM_MARKS}
        if obj["kind"] not in ("Pod", "ReplicaSet"):  # what the controllers make is not tracked
            notes["argocd.argoproj.io/tracking-id"] = (f"{app}:{_group(obj)}/{obj['kind']}:"
                                                       f"{meta.get('namespace') or ''}/{meta['name']}")
        meta["annotations"] = notes
    return out


def flux_applied_istiod(controller: str, name: str, namespace: str, method: str) -> list[dict[str, Any]]:
    """istiod as Flux applies it: a HelmRelease's chart installed by helm-controller (Helm's release annotations, and
    the origin labels helm.toolkit.fluxcd.io/name + /namespace of its post-renderer: fluxcd/helm-controller@v1.6.3
    internal/postrender/common_renderer.go originLabels), or `istioctl manifest generate` output in a Kustomization's
    source (kustomize-controller's kustomize.toolkit.fluxcd.io/name + /namespace: fluxcd/kustomize-controller@v1.9.4
    internal/controller/kustomization_controller.go SetOwnerLabels)."""
    out = shapes.istiod(ISTIO, method=method)
    for obj in out:
        labels = obj["metadata"].setdefault("labels", {})
        if method == "istioctl":  # what `istioctl install` adds when it applies (getOwnerLabels), not generate
            labels.pop("operator.istio.io/managed", None)
            labels.pop("operator.istio.io/version", None)
        if obj["kind"] not in ("Pod", "ReplicaSet"):
            labels.update({f"{controller}/name": name, f"{controller}/namespace": namespace})
    return out


@pytest.mark.parametrize(("objects", "manager"), [
    (argo_cd_rendered_istiod("istio-istiod"), "Argo CD Application istio-istiod"),
    (argo_cd_rendered_istiod("platform_istiod"), "Argo CD Application platform/istiod"),
    (flux_applied_istiod("helm.toolkit.fluxcd.io", "istiod", "flux-system", "helm"),
     "Flux HelmRelease flux-system/istiod"),
    (flux_applied_istiod("kustomize.toolkit.fluxcd.io", "istio", "flux-system", "istioctl"),
     "Flux Kustomization flux-system/istio"),
], ids=["argo-cd", "argo-cd apps in any namespace", "flux helmrelease", "flux kustomization"])
def test_istiod_applied_by_argo_cd_or_flux_fails_the_uninstall_gate(audit, objects, manager):
    """`istioctl uninstall --purge` deletes istiod and its webhooks; the Application/Kustomization/HelmRelease that
    applies them installs them again at its next sync (Argo CD's selfHeal within seconds, argo-cd@v3.5.1
    docs/user-guide/auto_sync.md), and its injector gives new pods Istio's sidecar again. main did not audit the
    uninstall gate at all: GO."""
    apps = shapes.injected_workload(ISTIO, "cart", "shop")
    run = audit({"c1": [*objects, *apps]}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2723", "major")
    assert row["evidence"]["managed_by"] == manager
    assert {"Deployment istio-system/istiod", "MutatingWebhookConfiguration istio-sidecar-injector"} <= set(
        row["evidence"]["objects"])
    assert run.result.verdict.value == "NO-GO"


@pytest.mark.parametrize("method", ["helm", "istioctl"])
def test_istio_installed_by_helm_or_istioctl_passes_the_uninstall_gate(audit, method):
    """Helm's own marks (meta.helm.sh/release-name, app.kubernetes.io/managed-by: Helm) and the chart's
    app.kubernetes.io/instance (istio.labels, istio-discovery templates/zzz_profile.yaml @1.24.6) are no controller
    that re-applies the purged objects: helm uninstall removes what is left (istio-residue). istioctl renders the same
    charts as release "istio" (istio/istio@1.24.6 operator/pkg/helm/helm.go renderChart) with Helm's Release.Service
    "Helm" (helm/helm@v3.16.1 pkg/chartutil/values.go ToRenderValues, the Helm istioctl 1.24.6 builds with), so its
    objects carry app.kubernetes.io/instance: istio too, beside the operator.istio.io/managed: Reconcile its install
    adds to every object it applies (applyLabelsAndAnnotations -> getOwnerLabels, operator/pkg/install/install.go)."""
    objects = shapes.istiod(ISTIO, method=method)
    if method == "istioctl":
        for obj in objects:
            if obj["kind"] not in ("Pod", "ReplicaSet"):
                obj["metadata"].setdefault("labels", {}).update({
                    "app.kubernetes.io/instance": "istio", "app.kubernetes.io/managed-by": "Helm",
                    "operator.istio.io/managed": "Reconcile", "operator.istio.io/version": ISTIO.version})
    run = audit({"c1": objects}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2702")
    assert row["evidence"]["count"] >= 4
    assert run.result.verdict.value == "GO"


def test_unreadable_webhooks_at_uninstall_are_unknown_never_pass(audit):
    run = audit({"c1": shapes.istiod(ISTIO, method="helm")}, "uninstall", config=CONFIG,
                unreadable={"c1": {K.MUTATING_WEBHOOK: "forbidden"}})
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2731")


def label_tracked_istiod(instance: str) -> list[dict[str, Any]]:
    """The istiod chart rendered with `helm template` (no Helm release annotations) and applied by an Argo CD
    Application `instance` under label tracking (app.kubernetes.io/instance on every object it applies)."""
    objects = shapes.istiod(ISTIO, method="helm")
    for obj in objects:
        meta = obj["metadata"]
        meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in HELM_MARKS}
        if obj["kind"] not in ("Pod", "ReplicaSet"):
            meta.setdefault("labels", {})["app.kubernetes.io/instance"] = instance
    return objects


def test_istiod_chart_under_argo_cd_label_tracking_is_unknown_at_uninstall(audit):
    """Argo CD before 3.0 tracked by label by default: app.kubernetes.io/instance=<app> on every object it applies
    (SetAppInstance, TrackingMethodLabel: argo-cd@v3.5.1 util/argo/resource_tracking.go; common.LabelKeyAppInstance),
    which Istio's charts write themselves (istio.labels, istio-discovery templates/zzz_profile.yaml @1.24.6). Rendered
    with `helm template`, the objects carry no Helm release annotation, and no operator.istio.io/managed (istioctl
    install's getOwnerLabels, operator/pkg/install/install.go @1.24.6): nothing tells whether an Application re-applies
    them after the purge. main: no finding at uninstall (GO)."""
    objects = label_tracked_istiod("istiod")
    run = audit({"c1": objects}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2732")
    assert row["evidence"]["instance"] == "istiod"
    assert "Deployment istio-system/istiod" in row["evidence"]["objects"]
    assert run.result.verdict.value == "INCOMPLETE"


def test_namespace_labelled_by_argo_cd_managed_namespace_metadata_warns(audit):
    """An Application's syncPolicy.managedNamespaceMetadata (with CreateNamespace=true) sets its labels on the
    destination namespace by server-side apply at every sync and writes no tracking on it, only the annotation
    argocd.argoproj.io/sync-options: ServerSideApply=true (argoproj/argo-cd@v3.5.1 controller/sync_namespace.go
    syncNamespace, appendSSAAnnotation; docs/user-guide/sync-options.md "Namespace Auto-Creation"). main read no
    marker there: AA2701 PASS, while a kubectl change of the namespace's injection label is reverted."""
    ns = f.namespace("shop", {"istio-injection": "enabled"})
    ns["metadata"]["annotations"] = {"argocd.argoproj.io/sync-options": "ServerSideApply=true"}
    objects = [ns, *managed_deployment("cart", "shop")]
    [row] = audit({"c1": objects}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("WARN", "AA2722", "Namespace", "shop")
    assert row["evidence"]["managed_by"].startswith("the Argo CD Application deploying into shop")


def test_istioctl_tag_set_webhook_is_not_taken_for_argo_cd_label_tracking(audit):
    """`istioctl tag set prod-stable --revision 1-24-6` renders the revision-tag webhook from the istiod chart
    (istio/istio@1.24.6 istioctl/pkg/tag/generate.go, helm.Render; templates/revision-tags.yaml: operator.istio.io/
    component: Pilot and istio.labels) as release "istio" (operator/pkg/helm/helm.go renderChart) and creates it: no
    Helm release annotation, no operator.istio.io/managed, app.kubernetes.io/instance: istio. istioctl's render,
    not an Application's label tracking: no AA2732."""
    inj = shapes.Injector("1.24.6", revision="1-24-6")
    tag = shapes.revision_tag("prod-stable", inj)
    meta = tag["metadata"]
    meta["annotations"] = {}
    meta["labels"].update({"release": "istio", "app.kubernetes.io/instance": "istio"})
    objects = [*shapes.istiod(inj, method="istioctl"), tag]
    [row] = audit({"c1": objects}, "uninstall", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2702")


# ---------------------------------------------------------------- review20b
def test_an_application_named_istio_under_label_tracking_is_unknown_not_istioctl(audit):
    """The chart rendered with `helm template` by an Application named "istio" (label tracking, Argo CD's default
    before 3.0: app.kubernetes.io/instance=istio on every object) is not istioctl's render: only istioctl's revision-tag
    webhooks carry istio.io/tag (templates/revision-tags.yaml @1.24.6). Before: PASS AA2702, a GO."""
    objects = label_tracked_istiod("istio")
    [row] = audit({"c1": objects}, "uninstall", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2732")


def test_an_istiooperator_applied_by_argo_cd_for_the_in_cluster_operator_fails(audit):
    """Istio 1.22 by the in-cluster istio-operator (`istioctl operator init`; its chart's Deployment carries no
    operator.istio.io/component and survives the purge) reconciling IstioOperator
    istio-system/example-istiocontrolplane, which Argo CD applies (tracking-id: argo-cd@v3.5.1
    util/argo/resource_tracking.go). The purge deletes the IstioOperator (operator/pkg/helmreconciler/prune.go
    @1.22.0, --purge), Argo CD's next sync re-creates it and the operator installs istiod again. Before: PASS AA2702."""
    from tests.checks.test_mesh_config_operator import IOP, iop, operator

    istiod = f.istiod()
    istiod["metadata"].setdefault("labels", {}).update({
        "operator.istio.io/component": "Pilot", "operator.istio.io/managed": "Reconcile",
        "install.operator.istio.io/owning-resource": IOP,
        "install.operator.istio.io/owning-resource-namespace": "istio-system"})
    cr = iop(annotations={"argocd.argoproj.io/tracking-id":
                          f"istio:install.istio.io/IstioOperator:istio-system/{IOP}"})
    rows = audit({"c1": [istiod, operator(), cr]}, "uninstall", config=CONFIG).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("FAIL", "AA2723")]
    assert f"IstioOperator istio-system/{IOP}" in rows[0]["evidence"]["objects"]
    # Without the operator running, the CR re-created reconciles nothing: not named.
    rows = audit({"c1": [istiod, cr]}, "uninstall", config=CONFIG).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2702")]


def test_an_istiooperator_under_argo_cd_label_tracking_is_unknown(audit):
    """review20c: the same IstioOperator applied by Argo CD's default label tracking (app.kubernetes.io/instance only:
    argo-cd common/common.go LabelKeyAppInstance) is unproven (AA2732), not PASS AA2702."""
    from tests.checks.test_mesh_config_operator import IOP, iop, operator

    istiod = f.istiod()
    istiod["metadata"].setdefault("labels", {}).update({
        "operator.istio.io/component": "Pilot", "operator.istio.io/managed": "Reconcile",
        "install.operator.istio.io/owning-resource": IOP,
        "install.operator.istio.io/owning-resource-namespace": "istio-system"})
    cr = iop()
    cr["metadata"].setdefault("labels", {})["app.kubernetes.io/instance"] = "istio-control-plane"
    rows = audit({"c1": [istiod, operator(), cr]}, "uninstall", config=CONFIG).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2732")]
    assert rows[0]["evidence"]["objects"] == [f"IstioOperator istio-system/{IOP}"]


# --- red22b -----------------------------------------------------------------------------------------------------------
def fleet_deployed_istiod(bundle: str) -> list[dict[str, Any]]:
    """Istio's istiod chart deployed by Rancher Fleet's agent from a GitRepo path (bundle `bundle`): Fleet installs
    every bundle as a Helm release, named after the bundle unless helm.releaseName is set (rancher/fleet@v0.16.1
    internal/helmdeployer/deployer.go getOpts, names.HelmReleaseName), so Helm's release annotations are there; its
    post-renderer adds to every object the annotation objectset.rio.cattle.io/id "<agent default namespace>-<bundle>"
    ("default-<bundle>": internal/helmdeployer/postrender.go Run, internal/cmd/agent/deployer/desiredset/plan.go
    GetSetID, GetLabelsAndAnnotations; internal/cmd/agent/operator.go defaultNamespace) and the label
    objectset.rio.cattle.io/hash, the SHA-1 of that id (desiredset_apply.go objectSetHash)."""
    objects = shapes.istiod(ISTIO, method="helm")
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] in ("Pod", "ReplicaSet"):  # made by the Deployment, not deployed by Fleet
            continue
        meta["annotations"] = {**(meta.get("annotations") or {}), "meta.helm.sh/release-name": bundle,
                               "meta.helm.sh/release-namespace": "istio-system",
                               "objectset.rio.cattle.io/id": f"default-{bundle}"}
        meta.setdefault("labels", {})["objectset.rio.cattle.io/hash"] = "6c1c3b2f0e5d8f09a1b4c7d2e3f4a5b6c7d8e9f0"
    return objects


def test_istiod_deployed_by_rancher_fleet_fails_the_uninstall_gate(audit):
    """Fleet's agent re-deploys a bundle whose Helm release is gone (internal/cmd/agent/deployer/deployer.go
    helmdeploy: EnsureInstalled, internal/helmdeployer/history.go), at its next Git change, or at once with the
    GitRepo's correctDrift (gitrepo_types.go CorrectDrift): after the purge (or the `helm uninstall` purge-preview
    offers for the release) istiod and its injector come back. Before: PASS AA2702, read as a plain Helm release."""
    apps = shapes.injected_workload(ISTIO, "cart", "shop")
    run = audit({"c1": [*fleet_deployed_istiod("mesh-istio-istiod"), *apps]}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2723")
    assert "default-mesh-istio-istiod" in row["evidence"]["managed_by"]
    assert {"Deployment istio-system/istiod", "MutatingWebhookConfiguration istio-sidecar-injector"} <= set(
        row["evidence"]["objects"])
    assert "keepResources" in row["remediation"]
    assert run.result.verdict.value == "NO-GO"


def test_a_fleet_deployed_workload_names_fleet(audit):
    """A mesh workload Fleet deploys: its injection label belongs in the GitRepo's source, as for Argo CD and Flux."""
    dep = managed_deployment("cart", "shop", annotations={"meta.helm.sh/release-name": "shop-apps",
                                                          "meta.helm.sh/release-namespace": "shop",
                                                          "objectset.rio.cattle.io/id": "default-shop-apps"})
    [row] = audit({"c1": dep}, "migrating", config=CONFIG).rows(CHECK)
    assert (row["status"], row["code"]) == ("WARN", "AA2720")
    assert "default-shop-apps" in row["evidence"]["managed_by"]


def wrangler_applied_istiod(set_id: str, owner: tuple[str, str, str] | None) -> list[dict[str, Any]]:
    """Istio's istiod as a controller built on rancher/wrangler's apply writes it (rancher/wrangler@v3.7.1
    pkg/apply/desiredset_apply.go GetLabelsAndAnnotations: annotation objectset.rio.cattle.io/id = its set id, a
    handler's name or a UUID; with an owner, objectset.rio.cattle.io/owner-gvk/-name/-namespace; label
    objectset.rio.cattle.io/hash; desiredset_compare.go: objectset.rio.cattle.io/applied). No Helm release: wrangler
    applies the objects itself, unlike Fleet's agent (which installs each bundle as a Helm release)."""
    objects = shapes.istiod(ISTIO, method="istioctl")
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] in ("Pod", "ReplicaSet"):
            continue
        annotations = {"objectset.rio.cattle.io/id": set_id, "objectset.rio.cattle.io/applied": "H4sIAAAAAAAA/w=="}
        if owner:
            gvk, namespace, name = owner
            annotations |= {"objectset.rio.cattle.io/owner-gvk": gvk, "objectset.rio.cattle.io/owner-name": name,
                            "objectset.rio.cattle.io/owner-namespace": namespace}
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
        meta.setdefault("labels", {})["objectset.rio.cattle.io/hash"] = "0e7b5d0c5b1d4f5f7e0b2f1c9d8a7b6c5d4e3f2a"
    return objects


@pytest.mark.parametrize(("set_id", "owner"), [
    ("mesh-installer", ("mesh.example.io/v1, Kind=MeshInstall", "istio-system", "default")),
    ("9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", None),
    # A core kind's GroupVersionKind.String() has an empty group: "/v1, Kind=ConfigMap" (review22b: the command said
    # configmap.v1/..., which kubectl reads as resource configmap of API group "v1").
    ("addon-installer", ("/v1, Kind=ConfigMap", "kube-system", "istio-addon"))])
def test_istiod_applied_by_a_wrangler_controller_is_not_sent_to_fleet(audit, set_id, owner):
    """Rancher's own controllers apply with wrangler and write the same id annotation, with no Helm release. Still
    FAIL AA2723 (wrangler applies its set again when its handler runs), but the fix sent the operator to Fleet's
    GitRepo and bundles (keepResources), which do not exist for it (fix22j)."""
    apps = shapes.injected_workload(ISTIO, "cart", "shop")
    run = audit({"c1": [*wrangler_applied_istiod(set_id, owner), *apps]}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2723")
    assert set_id in row["evidence"]["managed_by"]
    assert "fleet.cattle.io" not in row["remediation"] and "keepResources" not in row["remediation"]
    if owner:  # the next command finds the object that owns the set
        resource = {"/v1, Kind=ConfigMap": "configmap"}.get(owner[0], "meshinstall.v1.mesh.example.io")
        assert f"-n {owner[1]} get {resource}/{owner[2]} -o yaml" in row["remediation"]
    # Fleet's (its Helm release beside the id) keeps Fleet's fix.
    run = audit({"c1": [*fleet_deployed_istiod("mesh-istio-istiod"), *apps]}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2723") and "keepResources" in row["remediation"]


def kubevela_dispatched_istiod(app: str, namespace: str) -> list[dict[str, Any]]:
    """`istioctl manifest generate` output as a KubeVela Application's k8s-objects component dispatches it: every
    workload and trait object carries app.oam.dev/name, /namespace, /appRevision and /component (kubevela/
    kubevela@v1.10.9 pkg/appfile/appfile.go generateAndFilterCommonLabels; pkg/oam/labels.go)."""
    objects = shapes.istiod(ISTIO, method="istioctl")
    for obj in objects:
        labels = obj["metadata"].setdefault("labels", {})
        labels.pop("operator.istio.io/managed", None)  # generated, not `istioctl install`ed
        if obj["kind"] not in ("Pod", "ReplicaSet"):
            labels.update({"app.oam.dev/name": app, "app.oam.dev/namespace": namespace,
                           "app.oam.dev/appRevision": f"{app}-v1", "app.oam.dev/component": "istio-control-plane"})
    return objects


def test_istiod_dispatched_by_a_kubevela_application_fails_the_uninstall_gate(audit):
    """KubeVela's application controller re-applies every resource of its resource tracker at each re-sync (state
    keep, every 5 minutes by default: pkg/resourcekeeper/statekeep.go StateKeep, cmd/core/app/options/options.go
    application-re-sync-period), re-creating what the purge deleted. Before: PASS AA2702."""
    apps = shapes.injected_workload(ISTIO, "cart", "shop")
    run = audit({"c1": [*kubevela_dispatched_istiod("mesh", "vela-system"), *apps]}, "uninstall", config=CONFIG)
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2723")
    assert row["evidence"]["managed_by"] == "KubeVela Application vela-system/mesh"
    assert "Deployment istio-system/istiod" in row["evidence"]["objects"]
    assert "--orphan" in row["remediation"]
    assert run.result.verdict.value == "NO-GO"
