"""Which objects of a kind carry a label or an annotation that more than one check looks for (issue 18).

purge-preview (operator.istio.io/component, meta.helm.sh/release-name) and istio-residue (gateway.istio.io/managed)
each walked every Deployment and Service of a cluster for one key's presence, and gitops-drift read the metadata of
every mesh workload for its Argo CD, Flux and Helm markers: ~19,500 objects' metadata read cold per walk at 50k pods
(~10 ms each). One walk per kind answers every key listed here, memoised per cluster; most objects carry none of
them, which one set test in C over each map's keys tells.
"""

from __future__ import annotations

from typing import Any

from auditor.gatewayapi import MANAGED_LABEL
from auditor.inventory import ClusterInventory
from auditor.kinds import Kind
from auditor.mesh import HELM_RELEASE

COMPONENT_LABEL = "operator.istio.io/component"  # what `istioctl uninstall --purge` deletes (purge-preview)
# HELM_RELEASE (auditor/mesh.py): Helm 3.2+ on every object of a release
# The markers of the tools that re-apply objects from Git or a chart (checks/gitops.py says what each names).
ARGO_TRACKING = "argocd.argoproj.io/tracking-id"
# Argo CD's label tracking under the key its FAQ recommends for application.instanceLabelKey
# (argoproj/argo-cd@v3.5.1:docs/faq.md, docs/user-guide/resource_tracking.md "Use custom label").
ARGO_INSTANCE = "argocd.argoproj.io/instance"
INSTANCE = "app.kubernetes.io/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
FLUX_KUSTOMIZATION = "kustomize.toolkit.fluxcd.io"
FLUX_HELMRELEASE = "helm.toolkit.fluxcd.io"
# Rancher Fleet's agent (and wrangler's apply, which Fleet's deployer reuses) annotates every object it deploys with
# its object set's id, "<agent default namespace>-<bundle>" (rancher/fleet@v0.16.1 internal/helmdeployer/
# postrender.go, internal/cmd/agent/deployer/desiredset/plan.go GetSetID, GetLabelsAndAnnotations).
FLEET_ID = "objectset.rio.cattle.io/id"
# KubeVela's application controller labels every object it dispatches with its Application's name and namespace
# (kubevela/kubevela@v1.10.9 pkg/appfile/appfile.go generateAndFilterCommonLabels; pkg/oam/labels.go).
KUBEVELA_APP = "app.oam.dev/name"
KUBEVELA_APP_NAMESPACE = "app.oam.dev/namespace"
NETWORK_LABEL = "topology.istio.io/network"  # an east-west gateway Service's network (network-consistency)
# The keys the walk looks for: asking about any other raises KeyError (add it here).
LABELS = (COMPONENT_LABEL, MANAGED_LABEL, f"{FLUX_KUSTOMIZATION}/name", f"{FLUX_HELMRELEASE}/name", INSTANCE,
          MANAGED_BY, NETWORK_LABEL, ARGO_INSTANCE, KUBEVELA_APP)
ANNOTATIONS = (HELM_RELEASE, ARGO_TRACKING, FLEET_ID)
_LABEL_SET, _ANNOTATION_SET = frozenset(LABELS), frozenset(ANNOTATIONS)

Found = tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]


def carrying_label(cluster: ClusterInventory, kind: Kind, key: str) -> list[dict[str, Any]]:
    """The objects of `kind` whose metadata.labels hold `key` (any value), in the order read. Read it, never change
    it. Raises EvidenceUnavailable as cluster.objects(kind) does."""
    return _found(cluster, kind)[0][key]


def carrying_annotation(cluster: ClusterInventory, kind: Kind, key: str) -> list[dict[str, Any]]:
    """The objects of `kind` whose metadata.annotations hold `key` (any value), in the order read. Read it, never
    change it. Raises EvidenceUnavailable as cluster.objects(kind) does."""
    return _found(cluster, kind)[1][key]


def _found(cluster: ClusterInventory, kind: Kind) -> Found:
    objects = cluster.objects(kind)  # an unreadable kind raises here, as each reader's own walk did
    return cluster.memo(_memo_key(kind, objects), lambda: (_walk(objects), objects))[0]


def _memo_key(kind: Kind, objects: list[dict[str, Any]]) -> tuple[Any, ...]:
    # Keyed by the list walked (held by the memo, so its id stays its own) and its length: a kind's list replaced or
    # grown since is walked again. A list changed in place at the same length is not: the collector never does that
    # (it assigns a new list and calls forget(), which empties the memo).
    return "labelled", kind.key, id(objects), len(objects)


def walked(cluster: ClusterInventory, kind: Kind, objects: list[dict[str, Any]]) -> bool:
    """Whether the walk of `objects`, the kind's current list, is memoised."""
    return cluster.memoised(_memo_key(kind, objects))


def remember(cluster: ClusterInventory, kind: Kind, objects: list[dict[str, Any]], found: Found) -> None:
    """Memoise what a LabelWalk of `objects`, the kind's current list, found (a walk shared with other views)."""
    cluster.memo(_memo_key(kind, objects), lambda: (found, objects))


def _walk(objects: list[dict[str, Any]]) -> Found:
    walk = LabelWalk()
    walk.add(objects)
    return walk.result()


class LabelWalk:
    """The walk of a kind's objects, in pieces added in list order (see ClusterInventory._deployment_views)."""

    def __init__(self) -> None:
        self.labelled: dict[str, list[dict[str, Any]]] = {key: [] for key in LABELS}
        self.annotated: dict[str, list[dict[str, Any]]] = {key: [] for key in ANNOTATIONS}

    def add(self, objects: list[dict[str, Any]]) -> None:
        labelled, annotated = self.labelled, self.annotated
        for obj in objects:
            meta = obj.get("metadata") or {}
            labels = meta.get("labels")
            if labels and not _LABEL_SET.isdisjoint(labels):
                for key in LABELS:
                    if key in labels:
                        labelled[key].append(obj)
            annotations = meta.get("annotations")
            if annotations and not _ANNOTATION_SET.isdisjoint(annotations):
                for key in ANNOTATIONS:
                    if key in annotations:
                        annotated[key].append(obj)

    def result(self) -> Found:
        return self.labelled, self.annotated
