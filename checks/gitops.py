"""Namespaces and mesh workloads managed by Argo CD, Flux or Helm (domain.md, "Beyond the seed"): an injection
label set with kubectl is reverted at their next sync, so the move to ASM must be made in Git. At the uninstall gate,
the same for `istioctl uninstall --purge`: what it deletes must not be applied by Argo CD or Flux, whose next sync
installs Istio's control plane again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from auditor import gitops, mesh
from auditor import kinds as K
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.inventory import WORKLOAD_KEY, ClusterInventory, workload_groups
from auditor.istio import OperatorHold, among, crd_absent, operator_hold, pod_columns
from auditor.labelled import (
    ARGO_INSTANCE,
    ARGO_TRACKING,
    COMPONENT_LABEL,
    FLEET_ID,
    FLUX_HELMRELEASE,
    FLUX_KUSTOMIZATION,
    HELM_RELEASE,
    INSTANCE,
    KUBEVELA_APP,
    KUBEVELA_APP_NAMESPACE,
    MANAGED_BY,
    carrying_annotation,
    carrying_label,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status

# The markers each tool writes on the objects it applies:
# - Argo CD: annotation argocd.argoproj.io/tracking-id "<app>:<group>/<kind>:<namespace>/<name>" (annotation
#   tracking), or label app.kubernetes.io/instance "<app>" (label tracking, Argo CD's default before 3.0), or the
#   label its FAQ recommends as application.instanceLabelKey, argocd.argoproj.io/instance "<app>" (the only marker
#   label tracking then writes; <namespace>_<app> for an Application outside Argo CD's namespace: Application.
#   InstanceName, argoproj/argo-cd@v3.5.1:pkg/apis/application/v1alpha1/types.go, util/argo/resource_tracking.go).
# - Flux: labels kustomize.toolkit.fluxcd.io/name + /namespace (kustomize-controller), helm.toolkit.fluxcd.io/name
#   + /namespace (helm-controller's post-renderer).
# - Rancher Fleet: annotation objectset.rio.cattle.io/id "default-<bundle>" beside Helm's (its agent installs each
#   bundle as a Helm release: rancher/fleet@v0.16.1 internal/helmdeployer/postrender.go, install.go). Without Helm's
#   release annotations the same id is wrangler's apply, which Rancher's own controllers use (its set id a handler's
#   name or a UUID, the owner in objectset.rio.cattle.io/owner-gvk/-name/-namespace: rancher/wrangler@v3.7.1
#   pkg/apply/desiredset_apply.go GetLabelsAndAnnotations); k3s's add-ons write it empty (no set id, an owner).
# - KubeVela: labels app.oam.dev/name + /namespace on what its Application dispatches (re-applied at every re-sync,
#   state keep: kubevela/kubevela@v1.10.9 pkg/resourcekeeper/statekeep.go).
# - Helm 3.2+: annotations meta.helm.sh/release-name + release-namespace, label app.kubernetes.io/managed-by=Helm.
# Namespace labels that decide injection (Istio's and ASM's).
INJECTION_LABELS = ("istio-injection", "istio.io/rev", mesh.ASM_INJECT_LABEL)
# Flux's (name label, namespace label, what applies it), spelled once rather than per object asked about.
_FLUX_LABELS = tuple((f"{prefix}/name", f"{prefix}/namespace", what) for prefix, what in (
    (FLUX_KUSTOMIZATION, "Flux Kustomization"), (FLUX_HELMRELEASE, "Flux HelmRelease")))
# By the pod frame's workload kind: an OpenKruise Advanced StatefulSet's or DaemonSet's is said with its group
# (kinds.workload_kind); read as the built-in's, its pods' workload found no object and passed as unmanaged.
WORKLOAD_KINDS = {K.workload_kind(k): k for k in (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.JOB,
                                                  *K.ADVANCED_KINDS)}
LISTED = 20
# The keys manager() reads: an object carrying none of them names no manager (most objects, asked per workload).
_MARKER_LABELS = frozenset((*(name for name, _, _ in _FLUX_LABELS), ARGO_INSTANCE, INSTANCE, MANAGED_BY,
                            KUBEVELA_APP))
_MARKER_ANNOTATIONS = frozenset((ARGO_TRACKING, HELM_RELEASE, FLEET_ID))
_INJECTION_LABEL_SET = frozenset(INJECTION_LABELS)
# The kinds of the objects `istioctl uninstall --purge` deletes (every one labelled operator.istio.io/component:
# istio/istio operator/pkg/uninstall/prune.go; Istio's charts write the label on istiod's objects under Helm and Argo
# CD too, istio-discovery templates @1.22.8..1.30.3) that every gate reads: istiod and its injector/validator webhooks
# among them. One of these applied by Argo CD or Flux comes back at the next sync after the purge (Argo CD's selfHeal
# within seconds: argo-cd@v3.5.1 docs/user-guide/auto_sync.md; a Kustomization at its interval, kustomize-controller
# applies every object of its source), and with istiod its injector: new pods get Istio's sidecar again.
PURGED_KINDS: tuple[K.Kind, ...] = (K.DEPLOYMENT, K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.SERVICE, K.CONFIGMAP,
                                    K.DAEMONSET, K.CRD)
# The markers applier() reads, asked of the shared walk (labelled.py) rather than of every purged object's metadata.
_APPLIER_LABELS = (*(name for name, _, _ in _FLUX_LABELS), ARGO_INSTANCE, KUBEVELA_APP)
_APPLIER_ANNOTATIONS = (ARGO_TRACKING, FLEET_ID)
# How applier() names a Fleet bundle and another wrangler apply set (the remediation of AA2723 tells them apart).
FLEET_BUNDLE = "Rancher Fleet bundle"
WRANGLER_SET = "Rancher wrangler apply set"
# wrangler's owner annotations (desiredset_apply.go LabelGVK, LabelName, LabelNamespace).
WRANGLER_OWNER_GVK = "objectset.rio.cattle.io/owner-gvk"
WRANGLER_OWNER_NAME = "objectset.rio.cattle.io/owner-name"
WRANGLER_OWNER_NAMESPACE = "objectset.rio.cattle.io/owner-namespace"
KUBEVELA = "KubeVela Application"
# istioctl install labels what it applies operator.istio.io/managed: Reconcile (getOwnerLabels, istio/istio@1.24.6..
# 1.30.3 operator/pkg/install/install.go; getCoreOwnerLabels @1.22.8 operator/pkg/helmreconciler/reconciler.go).
ISTIOCTL_MANAGED = "operator.istio.io/managed"
# istioctl renders Istio's charts as release "istio" (renderChart, operator/pkg/helm/helm.go @1.24.6), with Helm's
# Release.Service "Helm" (helm/helm@v3.16.1 pkg/chartutil/values.go): what it writes without installing (`istioctl tag
# set`'s revision-tag webhooks, istioctl/pkg/tag/generate.go; `istioctl manifest generate`) carries
# app.kubernetes.io/instance: istio and no operator.istio.io/managed. Argo CD's label tracking names the Application,
# so only the revision-tag webhooks (TAG_LABEL) are told apart as istioctl's; `manifest generate | kubectl apply` output
# is unproven (AA2732) like a label-tracked Application's.
ISTIOCTL_RELEASE = "istio"
# The label `istioctl tag set` writes on a revision tag's webhook (templates/revision-tags.yaml @1.24.6).
TAG_LABEL = "istio.io/tag"


def applier(meta: dict[str, Any]) -> str:
    """The Argo CD Application, Flux Kustomization/HelmRelease, Rancher Fleet bundle or KubeVela Application that
    applies this object, as the markers only those controllers write say (not Helm's nor app.kubernetes.io/instance,
    which Istio's charts and istioctl write too); "" when none is set."""
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    own_ns = meta.get("namespace") or ""
    for name_label, namespace_label, what in _FLUX_LABELS:
        if labels.get(name_label):
            return f"{what} {labels.get(namespace_label) or own_ns}/{labels[name_label]}"
    tracking = annotations.get(ARGO_TRACKING)
    if tracking:
        return f"Argo CD Application {tracking.split(':', 1)[0].replace('_', '/', 1)}"
    instance = labels.get(ARGO_INSTANCE)
    if instance:
        return f"Argo CD Application {instance.replace('_', '/', 1)} (label tracking, {ARGO_INSTANCE})"
    vela = labels.get(KUBEVELA_APP)
    if vela:
        return f"{KUBEVELA} {labels.get(KUBEVELA_APP_NAMESPACE) or own_ns}/{vela}"
    set_id = annotations.get(FLEET_ID)
    if set_id:
        release = annotations.get(HELM_RELEASE)
        if release:
            # Fleet's agent: it re-deploys the bundle when its Helm release is gone (deployer.go helmdeploy,
            # EnsureInstalled), at its next Git change, or at once with the GitRepo's correctDrift.
            return f"{FLEET_BUNDLE} {set_id} ({FLEET_ID}; Helm release {release})"
        # Another controller on wrangler's apply (Rancher's own): it applies its set again when its handler runs.
        owner = wrangler_owner(annotations)
        said = f"; owner {owner[0]} {owner[1] + '/' if owner[1] else ''}{owner[2]}" if owner else ""
        return f"{WRANGLER_SET} {set_id} ({FLEET_ID}{said})"
    return ""


def wrangler_owner(annotations: dict[str, Any]) -> tuple[str, str, str] | None:
    """(kubectl resource "<kind>.<version>.<group>", namespace, name) of the owner wrangler's apply names (owner-gvk is
    GroupVersionKind.String(): "<group>/<version>, Kind=<kind>", the group empty for core kinds); None without one."""
    gvk, name = str(annotations.get(WRANGLER_OWNER_GVK) or ""), str(annotations.get(WRANGLER_OWNER_NAME) or "")
    group_version, sep, kind = gvk.partition(", Kind=")
    if not (sep and kind and name):
        return None
    group, _, version = group_version.rpartition("/")
    # A core kind by its name alone: kubectl reads `secret.v1` as resource secret of API group "v1" (review22b).
    resource = f"{kind.lower()}.{version}.{group}" if group else kind.lower()
    return resource, str(annotations.get(WRANGLER_OWNER_NAMESPACE) or ""), name


def manager(meta: dict[str, Any]) -> str:
    """Who re-applies this object from Git or a chart, named as its markers say; "" when no marker is set."""
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if _MARKER_LABELS.isdisjoint(labels) and _MARKER_ANNOTATIONS.isdisjoint(annotations):
        return ""
    by = applier(meta)
    if by:
        return by
    own_ns = meta.get("namespace") or ""
    if annotations.get(HELM_RELEASE):
        return f"Helm release {annotations.get(mesh.HELM_RELEASE_NAMESPACE) or own_ns}/{annotations[HELM_RELEASE]}"
    instance = labels.get(INSTANCE)
    if labels.get(MANAGED_BY) == "Helm":
        # `helm template` output applied by a tool (Argo CD renders charts this way): no release annotations.
        return f"Helm chart (instance {instance}), applied by Argo CD or another tool" if instance else \
            "Helm chart, applied by Argo CD or another tool"
    if instance:
        return f"Argo CD Application {instance} (label tracking; app.kubernetes.io/instance, not confirmed)"
    return ""


# Argo CD's managedNamespaceMetadata (an Application's syncPolicy, with CreateNamespace=true) sets its labels on the
# destination namespace by server-side apply at every sync, without tracking (argoproj/argo-cd@v3.5.1
# controller/sync_namespace.go: SetAppInstance left a TODO, issue 11196; docs/user-guide/sync-options.md), and
# annotates it argocd.argoproj.io/sync-options: ServerSideApply=true (appendSSAAnnotation; gitops-engine/pkg/sync/
# common/types.go).
ARGO_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def _argo_namespace_metadata(meta: dict[str, Any]) -> str:
    """The Argo CD Application whose managedNamespaceMetadata labels this namespace, as far as the namespace tells."""
    options = (meta.get("annotations") or {}).get(ARGO_SYNC_OPTIONS)
    if isinstance(options, str) and "ServerSideApply=true" in options:
        return (f"the Argo CD Application deploying into {meta.get('name') or ''} "
                f"(syncPolicy.managedNamespaceMetadata, {ARGO_SYNC_OPTIONS}: {options}; no tracking)")
    return ""


def _marked(cluster: ClusterInventory, kind: K.Kind) -> set[int]:
    """The ids of the objects of `kind` that carry a key manager() reads, from one walk of the kind that purge-preview's
    and istio-residue's questions share (labelled.py): manager() names no manager for any other object, so their
    metadata is not read (most workloads at 50k pods, read cold)."""
    return {id(obj) for key in _MARKER_LABELS for obj in carrying_label(cluster, kind, key)} | {
        id(obj) for key in _MARKER_ANNOTATIONS for obj in carrying_annotation(cluster, kind, key)}


def _injection_labels(labels: dict[str, str]) -> dict[str, str]:
    """A namespace's labels that decide injection, in the order it carries them."""
    return {k: v for k, v in labels.items() if k in INJECTION_LABELS}


def _pods_per_workload(sidecars: pd.DataFrame) -> list[tuple[tuple[str, str, str], int, int]]:
    """(workload, its pods, those not on ASM's proxy), sorted by workload as `workload_rows` yields them: counted
    with numpy over the rows in workload order (inventory.workload_groups), not by listing each pod of 13,000
    workloads in Python; by pandas' groupby when a key is missing or not text."""
    if sidecars.empty:
        return []
    groups = workload_groups(sidecars, by_pod_name=False)
    if groups is not None:  # the workloads' order from integer codes, counted with numpy: no pandas groupby
        keys, order, starts = groups
        not_moved_in_order = (sidecars["proxy"] != mesh.PROXY_ASM).to_numpy(dtype=np.int64)[order]
        on_istio = np.add.reduceat(not_moved_in_order, starts[:-1])
        return list(zip(keys, np.diff(starts).tolist(), on_istio.tolist(), strict=True))
    not_moved = (sidecars["proxy"] != mesh.PROXY_ASM).groupby([sidecars[k] for k in WORKLOAD_KEY], observed=True,
                                                              sort=True, dropna=False).agg(["size", "sum"])
    return list(zip(not_moved.index.tolist(), not_moved["size"].tolist(), not_moved["sum"].tolist(), strict=True))


def label_tracked(meta: dict[str, Any]) -> str:
    """The app.kubernetes.io/instance of an object applied from rendered manifests by a tool that left no mark of its
    own, as Argo CD's label tracking does (its default before 3.0): neither Helm's release annotation nor istioctl's
    operator.istio.io/managed; "" otherwise. istioctl's revision-tag webhooks (instance "istio", labelled istio.io/tag)
    are istioctl's; an Application named "istio" writes the same instance on everything else (review20b)."""
    labels = meta.get("labels") or {}
    instance = str(labels.get(INSTANCE) or "")
    if not instance or ISTIOCTL_MANAGED in labels or (meta.get("annotations") or {}).get(HELM_RELEASE):
        return ""
    return "" if instance == ISTIOCTL_RELEASE and TAG_LABEL in labels else instance


def _operator_holds(cluster: ClusterInventory) -> list[OperatorHold]:
    """The running in-cluster istio-operator's holds on the Deployments the purge deletes (istio.operator_hold), one
    per IstioOperator: what it reconciles istiod from (Istio <= 1.23)."""
    if not cluster.available(K.DEPLOYMENT):
        return []
    holds: dict[tuple[str, str], OperatorHold] = {}
    for obj in carrying_label(cluster, K.DEPLOYMENT, COMPONENT_LABEL):
        hold = operator_hold(cluster, obj)
        if hold is not None:
            holds.setdefault((hold.namespace, hold.name), hold)
    return list(holds.values())


class GitopsDrift(ClusterCheck):
    id = "gitops-drift"
    title = "Injection changes of GitOps- and Helm-managed objects are made in Git"
    gates = (Gate.ASSESSMENT, Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.MAJOR
    rationale = ("Argo CD, Flux and Helm re-apply the manifests in Git: an injection label set with kubectl is "
                 "reverted at the next sync (self-heal), and the workload goes back to Istio's sidecar at its next "
                 "rollout.")
    remediation = ("Add sidecar.asm.aliyun.com/inject=true to the pod template (and the namespace's injection "
                   "labels) in Git or the chart values of the Application/Kustomization/HelmRelease/release named.")
    CLEAN = Outcome("AA2701", Status.PASS, "no mesh workload nor injection-labelled namespace carries an Argo CD, "
                    "Flux or Helm marker",
                    message="{workloads} mesh workload(s) and {namespaces} injection-labelled namespace(s) carry no "
                            "Argo CD, Flux or Helm marker")
    WORKLOAD_ON_ISTIO = Outcome("AA2720", Status.WARN, "a GitOps/Helm-managed workload still runs Istio's sidecar: "
                                "its injection change belongs in Git, a kubectl change is reverted at the next sync",
                                message="managed by {manager}; {on_istio} of {pods} pod(s) still run Istio's sidecar: "
                                        "make the injection change in Git")
    WORKLOAD_MOVED = Outcome("AA2721", Status.WARN, "a GitOps/Helm-managed workload runs ASM's proxy: make sure its "
                             "injection label is in Git, or its next sync and rollout bring Istio's sidecar back",
                             Severity.MINOR, message="managed by {manager}; its {pods} pod(s) run ASM's proxy: make "
                                                     "sure the injection label is in Git")
    NAMESPACE = Outcome("AA2722", Status.WARN, "a GitOps/Helm-managed namespace carries injection labels: change "
                        "them in Git, a kubectl change is reverted at the next sync", Severity.MINOR,
                        message="managed by {manager}; injection labels {labels}")
    MARKERS_UNREAD = Outcome("AA2730", Status.UNKNOWN, "the objects carrying the markers (workload controllers, "
                             "Namespaces) could not be read: whether they are managed from Git cannot be told",
                             message="the markers of {count} object(s) could not be read (kind not collected, not "
                                     "readable, or not a built-in workload kind): {objects}")
    NO_MESH = Outcome("AA2740", Status.NOT_APPLICABLE, "no pod runs a sidecar and no namespace carries injection "
                      "labels", message="no pod runs a sidecar and no namespace carries injection labels")
    # The uninstall gate: what `istioctl uninstall --purge` deletes must not be applied from Git.
    PURGE_KEPT = Outcome("AA2702", Status.PASS, "none of the objects `istioctl uninstall --purge` deletes is applied "
                         "by Argo CD, Flux, Rancher Fleet or KubeVela", message="none of the {count} object(s) "
                         "labelled operator.istio.io/component carries Argo CD's, Flux's, Rancher Fleet's or "
                         "KubeVela's marker")
    PURGE_REVERTED = Outcome("AA2723", Status.FAIL, "objects `istioctl uninstall --purge` deletes are applied by Argo "
                             "CD, Flux, Rancher Fleet or KubeVela: their next sync installs Istio's control plane "
                             "again",
                             message="{count} object(s) the purge deletes are applied by {manager} ({objects}): its "
                                     "next sync installs them again")
    PURGE_UNPROVEN = Outcome("AA2732", Status.UNKNOWN, "objects `istioctl uninstall --purge` deletes were applied "
                             "from rendered manifests by a tool that left no mark of its own, as Argo CD's label "
                             "tracking does: whether its next sync installs them again cannot be told",
                             message="{count} object(s) the purge deletes carry app.kubernetes.io/instance={instance} "
                                     "and neither Helm's release annotations nor istioctl's labels ({objects})")
    PURGE_UNREAD = Outcome("AA2731", Status.UNKNOWN, "the objects `istioctl uninstall --purge` deletes could not all "
                           "be read: whether Argo CD or Flux applies them cannot be told",
                           message="not read: {kinds}")
    outcomes = (CLEAN, PURGE_KEPT, WORKLOAD_ON_ISTIO, WORKLOAD_MOVED, NAMESPACE, PURGE_REVERTED, MARKERS_UNREAD,
                PURGE_UNREAD, PURGE_UNPROVEN, NO_MESH)
    needs = (K.POD,)
    uses = (K.NAMESPACE, *WORKLOAD_KINDS.values(), *PURGED_KINDS, K.ISTIOOPERATOR)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        if ctx.gate is Gate.UNINSTALL:
            return self._purge(cluster)
        return self._injection(cluster, ctx)

    def _purge(self, cluster: ClusterInventory) -> Iterable[Finding]:
        """The uninstall gate: the objects the purge deletes that Argo CD or Flux applies, per Application/
        Kustomization/HelmRelease. ASM's own objects and the Sail operator's renders (istio-residue AA2215) are not
        asked about.

        Argo CD's label tracking under its default key (its default before 3.0) writes app.kubernetes.io/instance only,
        which Istio's charts write too (istio.labels, istio-discovery templates/zzz_profile.yaml @1.24.6): an object
        carrying it with neither Helm's release annotations (helm install/upgrade, Flux's helm-controller) nor
        istioctl's operator.istio.io/managed was applied from rendered manifests, as Argo CD applies a chart (`helm
        template`) and as `helm template | kubectl apply` does: that is unproven (AA2732), never a PASS. Unless the
        instance is istioctl's release name (ISTIOCTL_RELEASE) on a revision-tag webhook `istioctl tag set` rendered
        (it carries istio.io/tag). With the in-cluster istio-operator (Istio <= 1.23) running, the IstioOperator it
        reconciles istiod from is what Argo CD or Flux may apply: the purge deletes it (prune.go @1.22.0), their next
        sync re-creates it and the operator installs istiod again (AA2723 names it)."""
        by_applier: dict[str, list[str]] = {}
        examples: dict[str, dict[str, Any]] = {}  # a wrangler set's (not Fleet's): the metadata of one of its objects
        unproven: dict[str, list[str]] = {}
        unread: list[str] = []
        count = 0
        for kind in PURGED_KINDS:
            if not cluster.available(kind):
                unread.append(f"{kind.kind} ({cluster.unread_reason(kind)})")
                continue
            purged = carrying_label(cluster, kind, COMPONENT_LABEL)
            count += len(purged)
            applied = {id(obj) for key in _APPLIER_LABELS for obj in carrying_label(cluster, kind, key)} | {
                id(obj) for key in _APPLIER_ANNOTATIONS for obj in carrying_annotation(cluster, kind, key)}
            instanced = {id(obj) for obj in carrying_label(cluster, kind, INSTANCE)}
            for obj in purged:
                if id(obj) not in applied and id(obj) not in instanced:
                    continue
                meta = obj.get("metadata") or {}
                if mesh.asm_owned(meta) or mesh.sail_installed(meta):
                    continue
                ns = meta.get("namespace")
                subject = f"{kind.kind} {ns + '/' if ns else ''}{meta.get('name')}"
                by = applier(meta)
                if by:
                    by_applier.setdefault(by, []).append(subject)
                    if by.startswith(WRANGLER_SET):
                        examples.setdefault(by, meta)
                    continue
                instance = label_tracked(meta)
                if instance:
                    unproven.setdefault(instance, []).append(subject)
        for hold in _operator_holds(cluster):
            if hold.iop is None:
                unread.append(f"{K.ISTIOOPERATOR.kind} {hold.namespace}/{hold.name} the operator {hold.operator} "
                              f"reconciles ({hold.unread})")
                continue
            iop_meta = hold.iop.get("metadata") or {}
            subject = f"{K.ISTIOOPERATOR.kind} {hold.namespace}/{hold.name}"
            if by := applier(iop_meta):
                by_applier.setdefault(by, []).append(subject)
                if by.startswith(WRANGLER_SET):
                    examples.setdefault(by, iop_meta)
            elif instance := label_tracked(iop_meta):  # Argo CD's default label tracking (review20c)
                unproven.setdefault(instance, []).append(subject)
        for by, objects in sorted(by_applier.items()):
            yield self.report(self.PURGE_REVERTED, cluster.name,
                              params={"count": len(objects), "manager": by, "objects": ", ".join(objects[:LISTED])},
                              evidence={"managed_by": by, "objects": objects[:LISTED], "count": len(objects)},
                              remediation=self._fleet_fix(by) if by.startswith(FLEET_BUNDLE) else
                              self._wrangler_fix(cluster.name, by, examples[by]) if by in examples else
                              self._kubevela_fix(cluster.name, by) if by.startswith(KUBEVELA) else
                              f"Take Istio out of {by} before the purge, leaving its objects in place "
                              "for the purge to judge and delete: delete it without its resources (Argo CD: `argocd "
                              "app delete <app> --cascade=false`; Flux: set `prune: false` on the Kustomization, or "
                              "delete a HelmRelease after `flux suspend helmrelease <name>`: helm-controller "
                              "uninstalls no suspended release, fluxcd/helm-controller#568), or delete Istio's "
                              "manifests or chart from its source without pruning. Suspending it (Argo CD: no "
                              "automated sync; Flux: `flux suspend`) holds it only until someone resumes it. The "
                              "objects keep its marks: then exempt AA2723 for this cluster (it cannot tell an orphan "
                              "from an applied object) and run the purge.")
        for instance, objects in sorted(unproven.items()):
            yield self.report(self.PURGE_UNPROVEN, cluster.name, params={
                "count": len(objects), "instance": instance, "objects": ", ".join(objects[:LISTED])},
                evidence={"instance": instance, "objects": objects[:LISTED], "count": len(objects)},
                remediation=f"Find what applied them: `kubectl get applications.argoproj.io -A` (on the Argo CD "
                f"that manages this cluster) for an Application {instance} (label tracking), and take Istio out "
                "of it before the purge (see AA2723); if they were applied by hand (`helm template | kubectl "
                "apply`, `istioctl manifest generate`), exempt this code for the cluster.")
        if unread:
            yield self.report(self.PURGE_UNREAD, cluster.name, params={"kinds": "; ".join(unread)},
                              evidence={"unread": unread},
                              remediation="Grant get/list on the kinds named and audit again; or look for Argo CD's "
                              "and Flux's markers by hand: kubectl get deploy,mutatingwebhookconfigurations -A -l "
                              "operator.istio.io/component -o jsonpath='{..metadata.labels}{..metadata.annotations}'.")
        elif not by_applier and not unproven:
            yield self.report(self.PURGE_KEPT, cluster.name, params={"count": count}, evidence={"count": count})

    @staticmethod
    def _fleet_fix(by: str) -> str:
        """Taking Istio out of a Fleet bundle without deleting its objects: the agent deletes only the Helm release's
        record of a bundle removed with keepResources (rancher/fleet@v0.16.1 internal/helmdeployer/delete.go
        deleteByRelease), which it reads from the release (install.go: the chart's fleet.cattle.io/keep-resources
        annotation), so the bundle must be deployed again with it first."""
        return (f"Take Istio out of {by} before the purge, leaving its objects in place for the purge to judge and "
                "delete. On the cluster running Fleet's manager (Rancher's local cluster), find the GitRepo that "
                "makes the bundle (`kubectl get bundles.fleet.cattle.io -A`, `kubectl get gitrepos.fleet.cattle.io "
                "-A`), set `keepResources: true` on it and wait until the bundle is deployed again (Ready), then "
                "remove Istio's path from the GitRepo (or delete the GitRepo): its agent then deletes only the Helm "
                "release's record. `paused: true` on the GitRepo holds back only the changes in Git: the agent still "
                "installs again a release that is gone (after the purge or `helm uninstall`). The objects keep its "
                "marks: then exempt AA2723 for this cluster (it cannot tell an orphan from an applied object) and run "
                "the purge.")

    @staticmethod
    def _wrangler_fix(cluster: str, by: str, meta: dict[str, Any]) -> str:
        """A set wrangler's apply writes outside Fleet (Rancher's own controllers, an operator built on wrangler):
        no GitRepo nor bundle to edit; the controller applies its set again from its owner object or its own
        desired state whenever its handler runs (rancher/wrangler@v3.7.1 pkg/apply)."""
        lines = [f"# {mesh.sh_text(by)}: a controller built on Rancher's wrangler (not a Fleet bundle: no Helm "
                 "release) applies these objects and applies them again when its handler runs; find it and stop it "
                 "applying Istio before the purge"]
        set_id = str((meta.get("annotations") or {}).get(FLEET_ID) or "")
        owner = wrangler_owner(meta.get("annotations") or {})
        if owner:
            resource, namespace, name = owner
            lines.append("# the object it applies them for (delete it or take Istio out of it, as its controller "
                         "documents):")
            head = mesh.kubectl_in(cluster, namespace) if namespace else mesh.kubectl(cluster)
            lines.append(f"{head} get {mesh.sh(resource)}/{mesh.sh(name)} -o yaml")
        else:
            lines.append(f"# its set id {mesh.sh_text(set_id)} names the controller's handler (or is a UUID it "
                         "generated): the other objects carrying it tell which controller that is")
            lines.append(f"{mesh.kubectl(cluster)} get deployments,daemonsets,services,configmaps,"
                         "mutatingwebhookconfigurations,validatingwebhookconfigurations -A -o custom-columns="
                         "'KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,"
                         "SET:.metadata.annotations.objectset\\.rio\\.cattle\\.io/id' | grep -F -- "
                         f"{mesh.sh(set_id)}")
        lines.append("# the objects keep its marks: then exempt AA2723 for this cluster (it cannot tell an orphan "
                     "from an applied object) and run the purge")
        return "\n".join(lines)

    @staticmethod
    def _kubevela_fix(cluster: str, by: str) -> str:
        """Deleting a KubeVela Application and leaving what it dispatched (`vela delete --orphan`: kubevela/
        kubevela@v1.10.9 references/cli/delete.go); run where the Application is (the hub of a multi-cluster
        KubeVela)."""
        ns, _, name = by[len(KUBEVELA) + 1:].partition("/")
        return (f"# {mesh.sh_text(by)} re-applies them at every re-sync (state keep): take Istio out of it before "
                "the purge, leaving its objects in place for the purge to judge and delete (run it where the "
                "Application is: this cluster, or the hub cluster of a multi-cluster KubeVela)\n"
                f"KUBECONFIG={mesh.kubeconfig_var(cluster)} vela delete {mesh.sh(name)} -n {mesh.sh(ns)} --orphan"
                "\n# or remove Istio's component from it in Git or its definition; the objects keep its labels: then "
                "exempt AA2723 for this cluster and run the purge")

    @same_in_every_gate
    def _injection(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        # Only the columns counted, not a copy of all 30 for tens of thousands of pods.
        sidecars = pod_columns(pods, ~among(pods["proxy"], (mesh.PROXY_NONE,)) & among(pods["role"], (
            mesh.ROLE_SIDECAR,)), (*WORKLOAD_KEY, "proxy")) if not pods.empty else pods
        unread: list[str] = []
        warned = 0
        per_workload = _pods_per_workload(sidecars)
        readable = {kind: cluster.available(k) for kind, k in WORKLOAD_KINDS.items()}  # asked per workload
        # What cluster.get answers, as a dict per kind read: one lookup per workload (~10,000 at 50k pods).
        lookups: dict[str, Mapping[tuple[Any, Any], dict[str, Any]]] = {}
        marked: dict[str, set[int]] = {}  # per kind read: the objects carrying a marker (_marked)
        # The workload kinds read of which no object carries a marker (often every kind): their workloads are passed
        # over with one set lookup each (~10,000 at 50k pods), not the kind's questions asked again for each.
        unmarked: set[Any] = set()
        for kind in dict.fromkeys(key[1] for key, _, _ in per_workload):  # each kind once, in the workloads' order
            workload_kind = WORKLOAD_KINDS.get(kind)
            if workload_kind is not None and readable[kind] and not marked.setdefault(
                    kind, _marked(cluster, workload_kind)):
                unmarked.add(kind)
        for (namespace, kind, name), pods_count, on_istio in per_workload:
            if kind in unmarked:
                continue
            workload_kind = WORKLOAD_KINDS.get(kind)
            if workload_kind is None or not readable[kind]:
                unread.append(f"{namespace}/{kind}/{name}")
                continue
            marks = marked[kind]  # some object of the kind carries a marker (the others are in `unmarked`)
            by_key = lookups.get(kind)
            if by_key is None:
                by_key = lookups[kind] = cluster.by_namespace_and_name(workload_kind)
            obj = by_key.get((namespace, name)) if namespace is not None else cluster.get(workload_kind, name)
            if not obj or id(obj) not in marks:
                continue  # no marker, so no manager: its metadata is not read
            by = manager(obj.get("metadata") or {})
            if not by:
                continue
            warned += 1
            yield self._workload(cluster.name, namespace, kind, name, by, pods_count, on_istio)
        namespaces_seen = 0
        if cluster.available(K.NAMESPACE):
            for ns in cluster.objects(K.NAMESPACE):
                meta = ns.get("metadata") or {}
                labels = meta.get("labels") or {}
                if _INJECTION_LABEL_SET.isdisjoint(labels):
                    continue  # most namespaces: no label dict built
                namespaces_seen += 1
                by = manager(meta) or _argo_namespace_metadata(meta)
                if by:  # the injection labels picked only for a namespace reported (most carry no marker)
                    warned += 1
                    yield self._namespace(cluster.name, meta.get("name") or "", by, _injection_labels(labels))
        else:
            unread.append(f"Namespaces ({cluster.errors.get(K.NAMESPACE.key) or 'not collected'})")
        if unread:
            yield self.report(self.MARKERS_UNREAD, cluster.name,
                              params={"count": len(unread), "objects": ", ".join(unread[:LISTED])},
                              evidence={"objects": unread[:LISTED], "count": len(unread)},
                              remediation="Grant get/list on the kinds named and audit again; for other "
                              "controllers (Argo Rollouts, bare pods) look for the markers by hand: kubectl get "
                              "KIND NAME -o jsonpath='{.metadata.labels}{.metadata.annotations}'.")
        elif not warned:
            if sidecars.empty and not namespaces_seen:
                yield self.report(self.NO_MESH, cluster.name, params={})
            else:
                workloads = len(per_workload)
                yield self.report(self.CLEAN, cluster.name, params={"workloads": workloads,
                                                                    "namespaces": namespaces_seen},
                                  evidence={"workloads": workloads, "namespaces": namespaces_seen})

    def _workload(self, cluster: str, namespace: str, kind: str, name: str, by: str, pods: int,
                  on_istio: int) -> Finding:
        evidence = {"managed_by": by, "pods": pods, "pods_on_istio": on_istio}
        fix = (f"Add the label sidecar.asm.aliyun.com/inject=true to the pod template of {kind} {namespace}/{name} "
               f"in the source of {by} (Git or chart values) and sync it; a kubectl patch is reverted at the next "
               "sync.")
        params = {"manager": by, "on_istio": on_istio, "pods": pods}
        return self.report(self.WORKLOAD_ON_ISTIO if on_istio else self.WORKLOAD_MOVED, cluster, params=params,
                           kind=kind, namespace=namespace, name=name, remediation=fix, evidence=evidence)

    def _namespace(self, cluster: str, name: str, by: str, injection: dict[str, str]) -> Finding:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(injection.items()))
        return self.report(self.NAMESPACE, cluster, params={"manager": by, "labels": labels}, kind="Namespace",
                           name=name, evidence={"managed_by": by, "labels": injection},
                           remediation=f"Change the injection labels of Namespace {name} in the source of {by} "
                           "(Git or chart values); a kubectl label is reverted at the next sync.")


# ================================================================ gitops-reinstall
# An Argo CD/Flux object by (kind, namespace, name).
_Key = tuple[K.Kind, str, str]


class _Family:
    """Which Argo CD/Flux objects apply which, as the appliers' status lists them (app of apps: a root Application's
    status.resources names its child Applications, Synced or OutOfSync/Missing; a Flux Kustomization's
    status.inventory its HelmReleases and Kustomizations). Only appliers that apply here count: an Application whose
    destination is this cluster, a Flux object neither suspended nor applying through a kubeConfig. ApplicationSets
    are left out: their generated Applications name them by ownerReference (GitopsReinstall._argo)."""

    def __init__(self, cluster: str, objects: Mapping[K.Kind, list[dict[str, Any]]]) -> None:
        self.cluster = cluster
        self._kinds = {(k.group, k.kind): k for k in objects}  # the kinds read: a child of another is not judged
        self._present = {(k, str(gitops.mapping(o.get("metadata")).get("namespace") or ""),
                          str(gitops.mapping(o.get("metadata")).get("name") or "")) for k, objs in objects.items()
                         for o in objs}
        self._parents: dict[_Key, list[_Key]] = {}
        for kind, objs in objects.items():
            if kind is K.ARGO_APPLICATIONSET:
                continue
            for obj in objs:
                meta, spec = gitops.mapping(obj.get("metadata")), gitops.mapping(obj.get("spec"))
                if kind is K.ARGO_APPLICATION:
                    here = not gitops.argo_destination(spec)
                else:
                    here = spec.get("suspend") is not True and not spec.get("kubeConfig")
                if not here:
                    continue
                parent = (kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
                for child in self._children(gitops.mapping(obj.get("status"))):
                    if child != parent:
                        self._parents.setdefault(child, []).append(parent)

    def _children(self, status: dict[str, Any]) -> list[_Key]:
        return [(self._kinds[(group, kind)], ns, name) for group, kind, ns, name in gitops.children(status)
                if (group, kind) in self._kinds]

    def absent(self, status: dict[str, Any]) -> list[tuple[str, bool]]:
        """The objects of a read kind this applier applies that are not in the cluster, each with whether its name is
        Istio's control plane's (gitops.istio_named)."""
        return [(_said(child), gitops.istio_named(child[2])) for child in dict.fromkeys(self._children(status))
                if child not in self._present]

    def parents(self, key: _Key) -> list[str]:
        return [_said(p) for p in self._parents.get(key, [])]

    def said(self, key: _Key, subject: str) -> str:
        """The subject, naming what re-creates it."""
        parents = self.parents(key)
        return f"{subject} (applied by {', '.join(parents)})" if parents else subject

    def fix(self, key: _Key, seen: frozenset[_Key] = frozenset()) -> str:
        """The commands that stop its appliers re-creating it, the outermost first ("" without one): deleted or
        suspended before it, or the next sync of one brings it (and its finalizer patched away) back."""
        lines: list[str] = []
        for parent in self._parents.get(key, []):
            if parent in seen:
                continue
            lines.append(self.fix(parent, seen | {key, parent}).rstrip("\n"))
            kind, ns, name = parent
            child = mesh.sh_text(_said(key))
            if kind is K.ARGO_APPLICATION:
                kubectl, app = mesh.kubectl_in(self.cluster, ns), f"applications.argoproj.io/{mesh.sh(name)}"
                lines.append(f"# {mesh.sh_text(_said(parent))} re-creates {child} at its next sync (app of apps): "
                             "take it out of its source in Git, or first delete that Application without cascading "
                             "(what it deployed stays in place)")
                lines.append(f"{kubectl} patch {app} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'")
                lines.append(f"{kubectl} delete {app}")
            else:
                lines.append(f"# {mesh.sh_text(_said(parent))} re-creates {child} at its next reconciliation: "
                             "suspend it first (that deletes nothing), then take it out of its source in Git")
                lines.append(f"flux --kubeconfig={mesh.kubeconfig_var(self.cluster)} suspend {kind.kind.lower()} "
                             f"{mesh.sh(name)} {mesh.ns_flag(ns)}")
        text = "\n".join(line for line in lines if line)
        return text + "\n" if text else ""


def _said(key: _Key) -> str:
    kind, ns, name = key
    tool = "Argo CD" if kind.group == "argoproj.io" else "Flux"
    return f"{tool} {kind.kind} {ns + '/' if ns else ''}{name}"


# The chart sources a HelmRelease's chartRef may name that the auditor reads (ExternalArtifact is not read).
_CHART_SOURCES = {"OCIRepository": K.FLUX_OCIREPOSITORY, "HelmChart": K.FLUX_HELMCHART}


class GitopsReinstall(ClusterCheck):
    """The GitOps controllers' own objects, read in the cluster they run in: after `istioctl uninstall --purge` no
    tracking mark is left on Istio's objects (gitops-drift AA2723 asks them before), but the Application, HelmRelease
    or Kustomization that installed them is still there and installs istiod and its injector again at its next sync.

    Argo CD has no suspend (argo-cd@v3.5.1 types.go: SyncPolicy has no such field; the alpha skip-reconcile
    annotation is undone by deleting it): an Application without automated sync still reinstalls Istio at the next
    manual sync, which the OutOfSync/Missing status the purge leaves invites, or when someone turns automated sync
    on. Only its deletion (without cascading, so that nothing else is deleted with it) or a source or destination
    without Istio proves it gone, so both fail (AA3010 automated, AA3011 manual: a team that accepts the manual one
    exempts that code with its reason). Flux's `spec.suspend: true` stops helm-controller and kustomize-controller
    from reconciling it at all (neither installs nor uninstalls: fluxcd/helm-controller#568): a suspended one passes,
    named in the evidence."""

    id = "gitops-reinstall"
    title = "No Argo CD, Flux, Rancher Fleet or KubeVela object installs Istio's control plane again"
    gates = (Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("After `istioctl uninstall --purge` no tracking label is left on Istio's objects, but the Argo CD "
                 "Application (or the ApplicationSet generating it), Flux HelmRelease or Kustomization, Rancher Fleet "
                 "Bundle or KubeVela Application that installed them still holds Istio's charts or manifests: its "
                 "next sync installs istiod and its injector webhook again, new pods get Istio's sidecar and two "
                 "injectors race with ASM's.")
    remediation = ("Delete the Application without cascading (or take Istio out of its source in Git); suspend or "
                   "delete the Flux HelmRelease/Kustomization named; take Istio out of the Fleet GitRepo (with "
                   "keepResources) or delete the KubeVela Application with --orphan.")
    CLEAN = Outcome("AA3001", Status.PASS, "no Argo CD Application/ApplicationSet, Flux HelmRelease/Kustomization, "
                    "Rancher Fleet Bundle nor KubeVela Application installs Istio's control plane in this cluster",
                    message="{count} Argo CD/Flux/Fleet/KubeVela object(s) read: none installs Istio's control plane "
                            "in this cluster ({suspended} suspended Flux object(s) of Istio's)")
    ARGO_AUTOMATED = Outcome("AA3010", Status.FAIL, "an Argo CD Application with automated sync installs Istio's "
                             "control plane: its next sync reinstalls istiod and its injector",
                             message="{subject} installs {installs}; automated sync reinstalls it")
    ARGO_MANUAL = Outcome("AA3011", Status.FAIL, "an Argo CD Application without automated sync installs Istio's "
                          "control plane: the next manual sync (or turning automated sync on) reinstalls it",
                          message="{subject} installs {installs}; its next manual sync reinstalls it")
    ARGO_GENERATOR = Outcome("AA3012", Status.FAIL, "an Argo CD ApplicationSet's template installs Istio's control "
                             "plane in this cluster: it generates an Application that reinstalls it",
                             message="{subject} templates Applications installing {installs} in this cluster")
    FLUX = Outcome("AA3013", Status.FAIL, "a Flux HelmRelease or Kustomization installs Istio's control plane and is "
                   "not suspended: its next reconciliation reinstalls it",
                   message="{subject} installs {installs} and is not suspended")
    UNREAD = Outcome("AA3030", Status.UNKNOWN, "the Argo CD, Flux, Rancher Fleet or KubeVela objects could not be "
                     "read: whether one installs Istio again cannot be told", message="not read: {kinds}")
    ELSEWHERE = Outcome("AA3031", Status.UNKNOWN, "an Argo CD, Flux, Rancher Fleet or KubeVela object installing "
                        "Istio's control plane targets a cluster the auditor cannot identify: it may be this one or "
                        "another cluster being migrated",
                        message="{subject} installs {installs} into {target}")
    NONE = Outcome("AA3040", Status.NOT_APPLICABLE, "no Argo CD Application/ApplicationSet, Flux "
                   "HelmRelease/Kustomization, Rancher Fleet Bundle nor KubeVela Application in this cluster",
                   message="no Argo CD Application/ApplicationSet, Flux HelmRelease/Kustomization, Rancher Fleet "
                           "Bundle nor KubeVela Application found")
    OTHER_CHART = Outcome("AA3020", Status.WARN, "an Argo CD Application or ApplicationSet applies Istio's base, "
                          "gateway, cni or ztunnel chart: none installs istiod nor an injector, but its next sync puts "
                          "those Istio objects back after the purge", Severity.MAJOR,
                          message="{subject} applies {charts}")
    REMOTE_ARGO = Outcome("AA3032", Status.UNKNOWN, "this cluster is registered with an Argo CD that runs in another "
                          "cluster (`argocd cluster add` left its argocd-manager ServiceAccount bound here): that Argo "
                          "CD's Applications are not readable here and may install Istio again",
                          message="{binding} binds ServiceAccount {account} to {role} (`argocd cluster add`)")
    CHILD_UNREAD = Outcome("AA3033", Status.UNKNOWN, "an Argo CD or Flux object applies Argo CD/Flux objects that are "
                           "not in the cluster (deleted): its next sync re-creates them, and what they install is in "
                           "Git, not readable here", message="{subject} re-creates {children}, not in this cluster")
    GENERATOR_UNREAD = Outcome("AA3034", Status.UNKNOWN, "an Argo CD ApplicationSet's generators fill the chart, "
                               "path or repository of its template with parameters not readable here (a clusters, "
                               "git or other generator's): whether it installs Istio's control plane cannot be told",
                               message="{subject} fills {fields} from generators not readable here")
    FLEET = Outcome("AA3014", Status.FAIL, "a Rancher Fleet Bundle of the cluster's own workspace (fleet-local) "
                    "renders Istio's control plane: Fleet's agent installs it again once the purge has removed it",
                    message="{subject} renders {installs}")
    KUBEVELA = Outcome("AA3015", Status.FAIL, "a KubeVela Application dispatches Istio's control plane into this "
                       "cluster: its next re-sync applies it again after the purge",
                       message="{subject} dispatches {installs}")
    CHART_UNREAD = Outcome("AA3035", Status.UNKNOWN, "a Flux HelmRelease takes its chart from the source its "
                           "spec.chartRef names, which could not be read, and has no release history: whether it "
                           "installs Istio's control plane cannot be told",
                           message="{subject} takes its chart from {source}")
    SNAPSHOT_KINDS = Outcome("AA3036", Status.UNKNOWN, "a Flux Kustomization served as v1beta1 lists what it applied "
                             "by kind only (status.snapshot, no inventory): kinds Istio's control plane is made of "
                             "are among them, without their names", message="{subject} applies {kinds}")
    FLEET_OCI = Outcome("AA3037", Status.UNKNOWN, "a Rancher Fleet Bundle keeps its contents in an OCI registry "
                        "(spec.contentsId, no spec.resources): whether it renders Istio's control plane cannot be "
                        "told from the Bundle", message="{subject} keeps its contents in OCI artifact {contents}, "
                        "deployed to {target}")
    outcomes = (CLEAN, ARGO_AUTOMATED, ARGO_MANUAL, ARGO_GENERATOR, FLUX, FLEET, KUBEVELA, OTHER_CHART, UNREAD,
                ELSEWHERE, REMOTE_ARGO, CHILD_UNREAD, GENERATOR_UNREAD, CHART_UNREAD, SNAPSHOT_KINDS, FLEET_OCI, NONE)
    # ClusterRoleBindings: what `argocd cluster add` leaves in a cluster an Argo CD elsewhere manages. The optional
    # kinds (a chartRef's source, Fleet's Bundles, KubeVela's Applications) and the CRDs that say whether Fleet's and
    # KubeVela's kinds exist at all (a snapshot taken before they were read holds none of them).
    REQUIRED = (*K.GITOPS_KINDS, K.CLUSTERROLEBINDING)
    APPLIERS = (K.FLEET_BUNDLE, K.KUBEVELA_APPLICATION)
    uses = (*REQUIRED, *K.GITOPS_OPTIONAL_KINDS, K.CRD)


    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        # Fleet's and KubeVela's kinds not read are a blind spot unless the cluster's CRDs (read) define neither.
        unread = [f"{k.kind}.{k.group} ({cluster.unread_reason(k)})" if k in self.APPLIERS else
                  f"{k.kind} ({cluster.unread_reason(k)})" for k in (*self.REQUIRED, *self.APPLIERS)
                  if not cluster.available(k) and not (k in self.APPLIERS and crd_absent(cluster, k))]
        objects = {k: cluster.objects(k) for k in K.GITOPS_KINDS if cluster.available(k)}
        family = _Family(cluster.name, objects)
        judged = [*self._argo(cluster, objects, family), *self._flux(cluster, objects, family),
                  *self._fleet(cluster), *self._kubevela(cluster), *self._remote_argo(cluster)]
        suspended = [f for f in judged if isinstance(f, str)]
        yield from (f for f in judged if not isinstance(f, str))
        if unread:
            yield self.report(self.UNREAD, cluster.name, params={"kinds": "; ".join(unread)},
                              evidence={"unread": unread},
                              remediation="Grant get/list on applications/applicationsets.argoproj.io, "
                              "helmreleases.helm.toolkit.fluxcd.io, kustomizations.kustomize.toolkit.fluxcd.io, "
                              "clusterrolebindings.rbac.authorization.k8s.io and, where their CRDs exist, "
                              "bundles.fleet.cattle.io and applications.core.oam.dev, and audit again.")
        elif len(suspended) == len(judged):
            # Fleet's Bundles and KubeVela's Applications read count too: "none found" would be false with them.
            count = sum(len(v) for v in objects.values()) + sum(
                len(cluster.objects(k)) for k in self.APPLIERS if cluster.available(k))
            if not count:
                yield self.report(self.NONE, cluster.name, params={})
            else:
                yield self.report(self.CLEAN, cluster.name, params={"count": count, "suspended": len(suspended)},
                                  evidence={"count": count, "suspended": suspended[:LISTED]})

    def _remote_argo(self, cluster: ClusterInventory) -> Iterable[Finding]:
        """`argocd cluster add` run against this cluster: the Argo CD managing it runs elsewhere, so no Application
        here says what it installs (argo-cd@v3.5.1 util/clusterauth/clusterauth.go InstallClusterManagerRBAC:
        ServiceAccount argocd-manager in --system-namespace, default kube-system, bound by ClusterRoleBinding
        argocd-manager-role-binding to ClusterRole argocd-manager-role; with --namespace a RoleBinding of that name
        per namespace instead, not read)."""
        if not cluster.available(K.CLUSTERROLEBINDING):
            return
        for binding in cluster.objects(K.CLUSTERROLEBINDING):
            found = gitops.argo_manager(binding)
            if found is None:
                continue
            name, account, role = found
            yield self.report(self.REMOTE_ARGO, cluster.name, params={
                "binding": f"ClusterRoleBinding {name}", "account": account, "role": f"ClusterRole {role}"},
                kind=K.CLUSTERROLEBINDING.kind, name=name, evidence={"service_account": account, "role": role},
                remediation="Audit the cluster that runs that Argo CD (`argocd cluster list` there names this "
                "cluster): its Applications whose destination is this cluster are judged there (AA3031). If none "
                "installs Istio, exempt AA3032 for this cluster with that reason.")

    def _argo(self, cluster: ClusterInventory, objects: dict[K.Kind, list[dict[str, Any]]],
              family: _Family) -> Iterable[Finding]:
        apps = objects.get(K.ARGO_APPLICATION, [])
        generated: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (namespace, ApplicationSet) -> its Applications
        for app in apps:
            meta = gitops.mapping(app.get("metadata"))
            for ref in gitops.items(meta.get("ownerReferences")):
                if ref.get("kind") == "ApplicationSet":
                    generated.setdefault((meta.get("namespace") or "", str(ref.get("name") or "")), []).append(app)
        for app in apps:
            meta = gitops.mapping(app.get("metadata"))
            spec = gitops.mapping(app.get("spec"))
            status = gitops.mapping(app.get("status"))
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            target = gitops.argo_destination(spec)
            installs = gitops.argo_installs(spec, status)
            # An app of apps whose child is gone: its next sync re-creates it (children are applied here only when
            # its destination is this cluster).
            absent = [] if target else family.absent(status)
            installs += [f"{child} (not in the cluster: re-created at its next sync)" for child, named in absent
                         if named]
            owner = next((str(r.get("name") or "") for r in gitops.items(meta.get("ownerReferences"))
                          if r.get("kind") == "ApplicationSet"), "")
            subject = f"Argo CD Application {ns}/{name}"
            key = (K.ARGO_APPLICATION, ns, name)
            if installs and target:
                yield self._elsewhere(cluster.name, K.ARGO_APPLICATION, ns, name, subject, installs, target)
            elif installs:
                automated = gitops.argo_automated(spec)
                yield self.report(self.ARGO_AUTOMATED if automated else self.ARGO_MANUAL, cluster.name,
                                  params={"subject": family.said(key, subject),
                                          "installs": ", ".join(installs[:LISTED])},
                                  kind=K.ARGO_APPLICATION.kind, namespace=ns, name=name,
                                  evidence={"installs": installs[:LISTED], "automated_sync": automated,
                                            "application_set": owner, "applied_by": applier(meta),
                                            "parents": family.parents(key)},
                                  remediation=family.fix(key) + self._argo_fix(cluster.name, ns, name, owner,
                                                                               applier(meta)))
            elif any(not named for _, named in absent):
                yield self._child_unread(cluster.name, family, key, subject,
                                         [child for child, named in absent if not named],
                                         self._argo_fix(cluster.name, ns, name, owner, applier(meta)))
            elif not target and (charts := gitops.argo_other_charts(spec)):
                yield self._other_chart(cluster.name, family, key, subject, charts,
                                        self._argo_fix(cluster.name, ns, name, owner, applier(meta)))
        for appset in objects.get(K.ARGO_APPLICATIONSET, []):
            meta = gitops.mapping(appset.get("metadata"))
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            if generated.get((ns, name)):
                continue  # its Applications are judged above, each naming it
            # One spec per list element, its parameters filled in (the chart and destination may be among them).
            here: list[str] = []
            elsewhere: dict[str, list[str]] = {}
            charts: list[str] = []
            unfilled: list[str] = []
            for spec in gitops.appset_specs(gitops.mapping(appset.get("spec"))):
                installs = gitops.argo_installs(spec)
                if not installs:
                    # A chart, path or repository a generator not readable here fills in (clusters, git...):
                    # what it installs is not known (was the template as written: no Istio chart, PASS).
                    unfilled.extend(gitops.unfilled_source(spec))
                target = gitops.argo_destination(spec)
                if any(gitops.templated(str(v)) for v in gitops.mapping(spec.get("destination")).values()):
                    # Which clusters its generators fill in is not known without running them; none generated here.
                    target = "the clusters its generators name"
                if installs and target:
                    elsewhere.setdefault(target, []).extend(installs)
                elif installs:
                    here.extend(installs)
                elif not target:
                    charts.extend(gitops.argo_other_charts(spec))
            here, charts, unfilled = (list(dict.fromkeys(here)), list(dict.fromkeys(charts)),
                                      list(dict.fromkeys(unfilled)))
            subject = f"Argo CD ApplicationSet {ns}/{name}"
            key = (K.ARGO_APPLICATIONSET, ns, name)
            if here:
                yield self.report(self.ARGO_GENERATOR, cluster.name,
                                  params={"subject": family.said(key, subject),
                                          "installs": ", ".join(here[:LISTED])},
                                  kind=K.ARGO_APPLICATIONSET.kind, namespace=ns, name=name,
                                  evidence={"installs": here[:LISTED], "applied_by": applier(meta),
                                            "parents": family.parents(key)},
                                  remediation=family.fix(key) + self._appset_fix(cluster.name, ns, name))
            elif unfilled:
                yield self.report(self.GENERATOR_UNREAD, cluster.name,
                                  params={"subject": family.said(key, subject),
                                          "fields": ", ".join(unfilled[:LISTED])},
                                  kind=K.ARGO_APPLICATIONSET.kind, namespace=ns, name=name,
                                  evidence={"unfilled": unfilled[:LISTED], "applied_by": applier(meta),
                                            "parents": family.parents(key)},
                                  remediation=self._generator_fix(cluster.name, ns, name))
            elif elsewhere:
                yield self._elsewhere(cluster.name, K.ARGO_APPLICATIONSET, ns, name, subject,
                                      list(dict.fromkeys(i for found in elsewhere.values() for i in found)),
                                      ", ".join(elsewhere))
            elif charts:
                yield self._other_chart(cluster.name, family, key, subject, charts,
                                        self._appset_fix(cluster.name, ns, name))

    def _flux(self, cluster: ClusterInventory, objects: dict[K.Kind, list[dict[str, Any]]],
              family: _Family) -> Iterable[Finding | str]:
        """Findings, and the subjects of the suspended ones (text) for the PASS's evidence."""
        for kind in (K.FLUX_HELMRELEASE, K.FLUX_KUSTOMIZATION):
            for obj in objects.get(kind, []):
                meta = gitops.mapping(obj.get("metadata"))
                spec = gitops.mapping(obj.get("spec"))
                status = gitops.mapping(obj.get("status"))
                installs = gitops.flux_installs(kind.kind, spec, status)
                ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
                chart_unread = ""
                if kind is K.FLUX_HELMRELEASE and not installs:
                    found, chart_unread = self._chart_ref(cluster, spec, status, ns)
                    installs += found
                suspects = gitops.flux_snapshot_suspects(status) if kind is K.FLUX_KUSTOMIZATION else []
                remote = bool(spec.get("kubeConfig"))
                # What it applied and is gone comes back at its next reconciliation (applied here: no kubeConfig).
                absent = [] if remote else family.absent(status)
                installs += [f"{child} (not in the cluster: re-created at its next reconciliation)"
                             for child, named in absent if named]
                unread_children = [child for child, named in absent if not named]
                if not installs and not unread_children and not chart_unread and not suspects:
                    continue
                subject = f"Flux {kind.kind} {ns}/{name}"
                key = (kind, ns, name)
                if spec.get("suspend") is True:
                    yield subject
                elif not installs and chart_unread:
                    yield self.report(self.CHART_UNREAD, cluster.name,
                                      params={"subject": family.said(key, subject), "source": chart_unread},
                                      kind=kind.kind, namespace=ns, name=name,
                                      evidence={"source": chart_unread, "parents": family.parents(key)},
                                      remediation=self._chart_unread_fix(cluster.name, ns, name)
                                      + family.fix(key) + self._flux_fix(cluster.name, kind, ns, name)
                                      + "\n# if it is not, exempt AA3035 for this object with that reason")
                elif not installs and suspects:
                    yield self.report(self.SNAPSHOT_KINDS, cluster.name,
                                      params={"subject": family.said(key, subject), "kinds": ", ".join(
                                          suspects[:LISTED])}, kind=kind.kind, namespace=ns, name=name,
                                      evidence={"kinds": suspects[:LISTED], "parents": family.parents(key)},
                                      remediation=f"# read what it applies: {mesh.kubectl_in(cluster.name, ns)} get "
                                      f"{kind.key}/{mesh.sh(name)} -o jsonpath='{{.spec.path}}' (in its Git source); "
                                      "if it holds istiod, an injector or an IstioOperator:\n"
                                      + family.fix(key) + self._flux_fix(cluster.name, kind, ns, name)
                                      + "\n# if it does not, exempt AA3036 for this object with that reason")
                elif remote:
                    # The cluster it applies to is in a Secret it names: never read.
                    yield self._elsewhere(cluster.name, kind, ns, name, subject, installs,
                                          "the cluster of its spec.kubeConfig Secret")
                elif not installs:
                    yield self._child_unread(cluster.name, family, key, subject, unread_children,
                                             self._flux_fix(cluster.name, kind, ns, name))
                else:
                    yield self.report(self.FLUX, cluster.name,
                                      params={"subject": family.said(key, subject),
                                              "installs": ", ".join(installs[:LISTED])},
                                      kind=kind.kind, namespace=ns, name=name,
                                      evidence={"installs": installs[:LISTED], "applied_by": applier(meta),
                                                "parents": family.parents(key)},
                                      remediation=family.fix(key) + self._flux_fix(cluster.name, kind, ns, name))

    @staticmethod
    def _chart_ref(cluster: ClusterInventory, spec: dict[str, Any], status: dict[str, Any], ns: str
                   ) -> tuple[list[str], str]:
        """(what of Istio's control plane the chart source a HelmRelease's spec.chartRef names holds, why that
        source could not be read): helm-controller v2's chartRef (an OCIRepository or HelmChart of source-controller)
        leaves spec.chart empty, so the chart is known from the source or, once released, from status.history
        (flux_installs reads it). With a history the source not read is judged on the history, as before."""
        ref = gitops.flux_chart_ref(spec, ns)
        if ref is None:
            return [], ""
        ref_kind, ref_ns, ref_name = ref
        said = f"{ref_kind} {ref_ns}/{ref_name}"
        source_kind = _CHART_SOURCES.get(ref_kind)
        if source_kind is None or not cluster.available(source_kind):
            why = cluster.unread_reason(source_kind) if source_kind else "a kind the auditor does not read"
            return [], "" if gitops.flux_history_charts(status) else f"{said} ({why})"
        source = cluster.get(source_kind, ref_name, ref_ns)
        if source is None:
            return [], "" if gitops.flux_history_charts(status) else f"{said} (not in the cluster)"
        found = gitops.flux_source_chart(ref_kind, source)
        return ([f"{found}, {said}"] if found else []), ""

    @staticmethod
    def _chart_unread_fix(cluster: str, ns: str, name: str) -> str:
        return (f"# read the chart it installs: {mesh.kubectl_in(cluster, ns)} get helmreleases.helm.toolkit.fluxcd.io/"
                f"{mesh.sh(name)} -o jsonpath='{{.spec.chartRef}}', then that source's spec.url or spec.chart; if "
                "it is istiod (or istiod-remote, istio-discovery, istio-default):\n")

    def _fleet(self, cluster: ClusterInventory) -> Iterable[Finding]:
        """Fleet's Bundles, read in the cluster running Fleet's manager: one of workspace fleet-local targets this
        cluster (FAIL); another workspace's targets downstream clusters the auditor cannot name (AA3031). A paused
        Bundle still fails: `paused` holds back changes only, the agent installs a release that is gone again."""
        if not cluster.available(K.FLEET_BUNDLE):
            return
        for bundle in cluster.objects(K.FLEET_BUNDLE):
            meta = gitops.mapping(bundle.get("metadata"))
            spec, status = gitops.mapping(bundle.get("spec")), gitops.mapping(bundle.get("status"))
            installs = gitops.fleet_installs(spec, status)
            contents = gitops.fleet_contents_in_oci(spec)
            if not installs and not contents:
                continue
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            subject = f"Rancher Fleet Bundle {ns}/{name}"
            if not installs:
                yield self._fleet_oci(cluster.name, ns, name, subject, contents, status, meta)
                continue
            if ns != gitops.FLEET_LOCAL:
                yield self._elsewhere(cluster.name, K.FLEET_BUNDLE, ns, name, subject, installs,
                                      f"the clusters its targets select (Fleet workspace {ns})")
                continue
            repo = str((meta.get("labels") or {}).get("fleet.cattle.io/repo-name") or "")
            kubectl = mesh.kubectl_in(cluster.name, ns)
            find = (f"# the GitRepo making it (label fleet.cattle.io/repo-name): {mesh.sh_text(repo)}\n" if repo else
                    f"# the GitRepo making it (no fleet.cattle.io/repo-name label: find it)\n{kubectl} get "
                    "gitrepos.fleet.cattle.io -o wide\n")
            yield self.report(self.FLEET, cluster.name, params={"subject": subject,
                                                                "installs": ", ".join(installs[:LISTED])},
                              kind=K.FLEET_BUNDLE.kind, namespace=ns, name=name,
                              evidence={"installs": installs[:LISTED], "gitrepo": repo},
                              remediation=f"{find}{kubectl} patch gitrepos.fleet.cattle.io/"
                              f"{mesh.sh(repo or '<gitrepo>')} --type=merge -p "
                              "'{\"spec\":{\"keepResources\":true}}'\n# wait until the bundle is Ready again, then "
                              "take Istio's path out of the GitRepo in Git (or delete the GitRepo): its agent then "
                              "deletes only the Helm release's record, and the purge judges and deletes the rest")

    def _fleet_oci(self, cluster: str, ns: str, name: str, subject: str, contents: str, status: dict[str, Any],
                   meta: dict[str, Any]) -> Finding:
        """A Bundle whose contents fleet apply pushed to an OCI registry: what it renders is read from its
        BundleDeployments' status.resources (what the agent deployed: bundledeployment_types.go, labelled
        fleet.cattle.io/bundle-name and bundle-namespace) or from the GitRepo's paths."""
        target = ("this cluster" if ns == gitops.FLEET_LOCAL else
                  f"the clusters its targets select (Fleet workspace {ns})")
        reference = str(status.get("ociReference") or "")
        repo = str((meta.get("labels") or {}).get("fleet.cattle.io/repo-name") or "")
        kubectl = mesh.kubectl_in(cluster, ns)
        selector = f"fleet.cattle.io/bundle-name={name},fleet.cattle.io/bundle-namespace={ns}"
        return self.report(
            self.FLEET_OCI, cluster, params={"subject": subject, "contents": contents, "target": target},
            kind=K.FLEET_BUNDLE.kind, namespace=ns, name=name,
            evidence={"contents_id": contents, "oci_reference": reference, "gitrepo": repo, "target": target},
            remediation=f"# where its contents are (the OCI artifact):\n{kubectl} get bundles.fleet.cattle.io/"
            f"{mesh.sh(name)} -o jsonpath='{{.status.ociReference}}'\n# what Fleet's agents deployed from them:\n"
            f"{mesh.kubectl(cluster)} get bundledeployments.fleet.cattle.io -A -l {mesh.sh(selector)} -o "
            "jsonpath='{range .items[*]}{.status.resources}{\"\\n\"}{end}'\n# the paths of the GitRepo making it "
            f"(label fleet.cattle.io/repo-name: {mesh.sh_text(repo or '<none>')}):\n{kubectl} get "
            f"gitrepos.fleet.cattle.io/{mesh.sh(repo or '<gitrepo>')} -o jsonpath='{{.spec.paths}}'\n"
            "# if they hold istiod, an injector or an IstioOperator, take Istio out of it as AA3014 says; if they "
            "do not, exempt AA3037 for this object with that reason")

    def _kubevela(self, cluster: ClusterInventory) -> Iterable[Finding]:
        """KubeVela's Applications, read in the cluster KubeVela runs in (the hub): what one dispatches to the hub
        fails; to a managed cluster, named by its topology policies or applied resources, is AA3031 (both when it
        dispatches to the hub and to others)."""
        if not cluster.available(K.KUBEVELA_APPLICATION):
            return
        for app in cluster.objects(K.KUBEVELA_APPLICATION):
            meta = gitops.mapping(app.get("metadata"))
            by_cluster = gitops.kubevela_installs(gitops.mapping(app.get("spec")), gitops.mapping(app.get("status")))
            ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            subject = f"{KUBEVELA} {ns}/{name}"
            here = by_cluster.pop("", [])
            if here:
                yield self.report(self.KUBEVELA, cluster.name, params={"subject": subject,
                                                                       "installs": ", ".join(here[:LISTED])},
                                  kind=K.KUBEVELA_APPLICATION.kind, namespace=ns, name=name,
                                  evidence={"installs": here[:LISTED]},
                                  remediation=f"KUBECONFIG={mesh.kubeconfig_var(cluster.name)} vela delete "
                                  f"{mesh.sh(name)} -n {mesh.sh(ns)} --orphan\n# or take Istio's component out of "
                                  "it in Git; --orphan leaves what it dispatched for the purge to judge and delete")
            if by_cluster:  # the managed clusters' part (a topology of the hub and others gives both findings)
                yield self._elsewhere(cluster.name, K.KUBEVELA_APPLICATION, ns, name, subject,
                                      [i for found in by_cluster.values() for i in found], ", ".join(by_cluster))

    def _child_unread(self, cluster: str, family: _Family, key: _Key, subject: str, children: list[str],
                      fix: str) -> Finding:
        kind, ns, name = key
        return self.report(self.CHILD_UNREAD, cluster, params={"subject": family.said(key, subject),
                                                               "children": ", ".join(children[:LISTED])},
                           kind=kind.kind, namespace=ns, name=name,
                           evidence={"children": children[:LISTED], "parents": family.parents(key)},
                           remediation=f"# read {mesh.sh_text(', '.join(children[:LISTED]))} in Git: if one installs "
                           f"Istio, take it out of the source of {mesh.sh_text(subject)}, or stop that:\n"
                           + family.fix(key) + fix + "\n# if none does, exempt AA3033 for this object with that "
                           "reason")

    def _other_chart(self, cluster: str, family: _Family, key: _Key, subject: str, charts: list[str],
                     fix: str) -> Finding:
        kind, ns, name = key
        return self.report(self.OTHER_CHART, cluster, params={"subject": family.said(key, subject),
                                                              "charts": "; ".join(charts[:LISTED])},
                           kind=kind.kind, namespace=ns, name=name,
                           evidence={"charts": charts[:LISTED], "parents": family.parents(key)},
                           remediation=family.fix(key) + fix)

    @staticmethod
    def _flux_fix(cluster: str, kind: K.Kind, ns: str, name: str) -> str:
        flux = f"flux --kubeconfig={mesh.kubeconfig_var(cluster)}"
        return (f"{flux} suspend {kind.kind.lower()} {mesh.sh(name)} {mesh.ns_flag(ns)}\n"
                f"# or without the flux CLI: {mesh.kubectl_in(cluster, ns)} patch "
                f"{kind.key}/{mesh.sh(name)} --type=merge -p '{{\"spec\":{{\"suspend\":true}}}}'"
                "\n# then take Istio out of its source in Git; delete it only while suspended "
                "(helm-controller uninstalls no suspended release, kustomize-controller prunes "
                "nothing of a suspended Kustomization)")

    def _elsewhere(self, cluster: str, kind: K.Kind, ns: str, name: str, subject: str, installs: list[str],
                   target: str) -> Finding:
        return self.report(self.ELSEWHERE, cluster, params={"subject": subject, "installs": ", ".join(
            installs[:LISTED]), "target": target}, kind=kind.kind, namespace=ns, name=name,
            evidence={"installs": installs[:LISTED], "target": target},
            remediation=f"If {target} is a cluster being migrated to ASM, take Istio out of {subject} (see AA3010/"
            "AA3013); if it is not, exempt AA3031 for this object with that reason.")

    @staticmethod
    def _argo_fix(cluster: str, ns: str, name: str, appset: str, applied_by: str) -> str:
        kubectl = mesh.kubectl_in(cluster, ns)
        app = f"applications.argoproj.io/{mesh.sh(name)}"
        lines = []
        if appset:
            lines.append(f"# generated by ApplicationSet {mesh.sh_text(appset)}, which re-creates it: delete that "
                         "first, keeping its Applications (or take Istio out of its template in Git)")
            lines.append(f"{kubectl} delete applicationsets.argoproj.io/{mesh.sh(appset)} --cascade=orphan")
        if applied_by:
            lines.append(f"# applied by {mesh.sh_text(applied_by)}: take it out of that source too, or it comes back")
        lines.append("# without its resources-finalizer the delete leaves what it deployed in place (the purge "
                     "judges and deletes it)")
        lines.append(f"{kubectl} patch {app} --type=merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'")
        lines.append(f"{kubectl} delete {app}")
        return "\n".join(lines)

    @staticmethod
    def _generator_fix(cluster: str, ns: str, name: str) -> str:
        """What the ApplicationSet generates, as Argo CD's ApplicationSet controller renders it (`argocd appset
        generate`, argo-cd@v3.5.1 cmd/argocd/commands/applicationset.go: the Applications it would make, made
        nowhere), then the usual choice."""
        kubectl = mesh.kubectl_in(cluster, ns)
        return (f"# list what it generates (run where Argo CD's API server is reachable):\n"
                f"{kubectl} get applicationsets.argoproj.io/{mesh.sh(name)} -o yaml > appset.yaml\n"
                "argocd appset generate appset.yaml -o yaml\n"
                "# if an Application it lists installs istiod, an injector or an IstioOperator into this cluster, "
                "take Istio out of its template or generators in Git, or:\n"
                f"{kubectl} delete applicationsets.argoproj.io/{mesh.sh(name)} --cascade=orphan\n"
                "# if none does, exempt AA3034 for this object with that reason")

    @staticmethod
    def _appset_fix(cluster: str, ns: str, name: str) -> str:
        return (f"{mesh.kubectl_in(cluster, ns)} delete applicationsets.argoproj.io/{mesh.sh(name)} --cascade=orphan"
                "\n# or take Istio out of its template or generators in Git")
