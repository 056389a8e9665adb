"""Istio's Helm releases in a cluster, the order they come off, and which of them `helm uninstall` may remove.

One statement for purge-preview (AA2521: every release, in order) and for istio-control-plane-removed / istio-residue
(the command of a leftover that one of Istio's releases installed). Istio's charts label istiod's objects
operator.istio.io/component: Pilot under Helm too (istio-discovery templates @1.22.8..1.30.3), beside Helm's
meta.helm.sh/release-name/-namespace annotations (helm/helm@v3.21.4:pkg/action/validate.go setMetadataVisitor); a
`kubectl delete` or `istioctl uninstall --purge` of them leaves Helm's record of the release (Secret
sh.helm.release.v1.*), which `helm list` shows deployed and the next `helm upgrade` or GitOps sync installs again.
`helm uninstall` removes what is left of the release and the record (objects already gone are skipped: rdelete,
helm/helm@v3.21.4:pkg/kube/client.go), and every object of the release: never offered when ASM's data plane uses one
of them (gateways.asm_data_plane_uses), nor when what would tell is not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.config import GatewaysConfig
from auditor.errors import EvidenceUnavailable
from auditor.gateways import asm_data_plane_uses, asm_proxied_workloads_of
from auditor.inventory import ClusterInventory
from auditor.kinds import Kind
from auditor.labelled import HELM_RELEASE, carrying_annotation

ISTIO_SYSTEM = "istio-system"
Release = tuple[str, str]  # (release name, its namespace)
# The kinds of a release whose use by ASM's data plane gateways.asm_data_plane_uses judges: a release whose objects of
# these kinds cannot all be read cannot be said safe to uninstall.
JUDGED_KINDS: tuple[Kind, ...] = (K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.DEPLOYMENT, K.DAEMONSET, K.SERVICE,
                                  K.CONFIGMAP)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def istio_release_of(meta: dict[str, Any]) -> Release | None:
    """(release, namespace) of the Helm release of Istio that installed this object (its chart labels, or the
    operator.istio.io/component Istio's charts write under Helm too), None for anything else (the Sail operator's
    renders, which it re-creates: judged apart, AA2522 / AA2216)."""
    if mesh.sail_installed(meta):
        return None
    # The release annotation's value first: a cheap test, before the install-label rules.
    release = mesh.helm_release(meta, ISTIO_SYSTEM)
    if release is None or mesh.istio_installed(meta) not in ("Helm chart labels", "istioctl/operator labels"):
        return None
    return release


def istio_helm_releases(cluster: ClusterInventory, kinds: tuple[Kind, ...] = JUDGED_KINDS
                        ) -> dict[Release, list[tuple[str, dict[str, Any]]]]:
    """Istio's Helm releases among the objects of `kinds` -> their objects ((kind, object) pairs), from one walk of
    each kind that the other labelled.py questions share. Raises EvidenceUnavailable for a kind not read."""
    out: dict[Release, list[tuple[str, dict[str, Any]]]] = {}
    for kind in kinds:
        for obj in carrying_annotation(cluster, kind, HELM_RELEASE):
            release = istio_release_of(_meta(obj))
            if release is not None:
                out.setdefault(release, []).append((kind.kind, obj))
    return out


def release_rank(objs: list[tuple[str, dict[str, Any]]]) -> int:
    """The order Istio's Helm releases come off (Istio's Helm install docs, "Uninstall": the gateway releases, then
    istiod, then istio-base): 0 a gateway chart, 1 the rest (istiod, istio-cni, ztunnel), 2 the release holding CRDs
    or the base chart (base/templates/crds.yaml @1.24.6: its CRDs stay, helm.sh/resource-policy keep), whose
    validating webhook and CRDs the control plane's releases still use until they are gone."""
    charts = {str((_meta(obj).get("labels") or {}).get("helm.sh/chart") or "") for _, obj in objs}
    if any(kind == "CustomResourceDefinition" for kind, _ in objs) or any(c.startswith("base-") for c in charts):
        return 2
    return 0 if any(c.startswith("gateway") for c in charts) else 1


def uninstall_order(releases: dict[Release, list[tuple[str, dict[str, Any]]]]) -> list[Release]:
    return sorted(releases, key=lambda key: (release_rank(releases[key]), key))


def key_of(release: Release) -> str:
    return f"{release[1]}/{release[0]}"


def releases_asm_runs_on(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig | None,
                         releases: dict[Release, list[tuple[str, dict[str, Any]]]]) -> dict[str, str]:
    """`<namespace>/<release>` of the releases one of whose objects ASM's data plane runs on -> why
    (gateways.asm_data_plane_uses): `helm uninstall` of a gateway chart release (manifests/charts/gateway @1.24.6,
    istio-proxy `image: auto`) whose pods ASM's injector restarted deletes ASM's gateway and its Service; of istiod's
    release, the mesh ConfigMap `istio` a gateway on ASM's proxy mounts, or a revision tag calling ASM's istiod."""
    if not releases:
        return {}
    spaces = {_meta(obj).get("namespace", "") for objs in releases.values() for _, obj in objs}
    asm = asm_proxied_workloads_of(cluster, rules, names, spaces)
    kept: dict[str, str] = {}
    for release, objs in sorted(releases.items()):
        uses = asm_data_plane_uses(cluster, objs, asm)
        if uses:
            (kind, ns, name), why = sorted(uses.items())[0]
            kept[key_of(release)] = f"{kind} {ns + '/' if ns else ''}{name}: {why}"
    return kept


@dataclass
class ReleasePlan:
    """How each of Istio's Helm releases in a cluster comes off: `helm uninstall` (in `order`), or not (`kept`: ASM's
    data plane uses one of its objects; `unread`: whether it does cannot be told)."""

    order: list[Release] = field(default_factory=list)       # the removable ones, in uninstall order
    ranks: dict[Release, int] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)        # <namespace>/<release> -> why (what ASM uses)
    unread: str = ""                                          # the kinds not read, and why

    def removable(self, release: Release) -> bool:
        return not self.unread and release in self.ranks and key_of(release) not in self.kept

    def before(self, release: Release) -> list[Release]:
        """The removable releases that come off before `release` (a lower rank)."""
        rank = self.ranks.get(release, 0)
        return [r for r in self.order if self.ranks[r] < rank]


def release_plan(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig | None) -> ReleasePlan:
    """Istio's Helm releases of the cluster and how each comes off, once per cluster for every reader."""

    def compute() -> ReleasePlan:
        try:
            releases = istio_helm_releases(cluster)
        except EvidenceUnavailable:
            unread = "; ".join(f"{kind.kind} ({cluster.unread_reason(kind)})" for kind in JUDGED_KINDS
                               if not cluster.available(kind))
            return ReleasePlan(unread=unread or "not read")
        kept = releases_asm_runs_on(cluster, rules, names, releases)
        ranks = {key: release_rank(objs) for key, objs in releases.items()}
        order = [key for key in uninstall_order(releases) if key_of(key) not in kept]
        return ReleasePlan(order=order, ranks=ranks, kept=kept)

    return cluster.memo(("istio_release_plan", id(rules), repr(names or GatewaysConfig())), compute)
