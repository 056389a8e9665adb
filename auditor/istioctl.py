"""Which istioctl removes Istio, and how it spells the command (purge-preview, migration-resource, istio-residue).

The version is the one the operator-installed istiods' images pin (istio.istiod_pinned_version): labels are never
trusted for it. Revisions of different versions have no single istioctl: each revision's removal runs its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory
from auditor.istio import istiod_pinned_version
from auditor.labelled import COMPONENT_LABEL

# `uninstall` is at istioctl's root from 1.15 (purge_command).
EXPERIMENTAL_UNTIL = (1, 15)
# The version of the istioctl that installed an object: istioctl writes it on everything it installs
# (operator/pkg/helmreconciler/reconciler.go getCoreOwnerLabels @1.10.6..1.23.6; operator/pkg/install/install.go
# getOwnerLabels @1.24.6: version.Info.Version).
VERSION_LABEL = "operator.istio.io/version"


def installer_version(meta: dict[str, Any]) -> str:
    """The VERSION_LABEL of an object's metadata, "" when absent or not a version."""
    value = (meta.get("labels") or {}).get(VERSION_LABEL)
    return value if isinstance(value, str) and mesh.parse_version(value) is not None else ""


def one_version(versions: Iterable[str]) -> str:
    """The one version these name ("" when none, or several: no single istioctl removes them)."""
    found = {v for v in versions if v}
    return found.pop() if len(found) == 1 else ""


def installed_versions(cluster: ClusterInventory) -> tuple[list[mesh.Version], list[Any]]:
    """The versions the operator-installed istiods' images pin, and why each of the others cannot be read."""
    versions: list[mesh.Version] = []
    unread: list[Any] = []
    for dep in cluster.istiod_deployments():
        if COMPONENT_LABEL in ((dep.get("metadata") or {}).get("labels") or {}):
            version, why = istiod_pinned_version(dep)
            if version:
                versions.append(version)
            else:
                unread.append(why)
    return versions, unread


def old_prune_version(cluster: ClusterInventory) -> tuple[mesh.Version | None, Any]:
    """(version, why): the lowest Istio version the installed istiods' images pin, with which the configuration
    istioctl before 1.20 prunes is judged (a canary 1.18 + 1.19 has no single istioctl, and each revision's removal
    runs its own: the oldest prunes the most); None with why when no version can be read (review22c: was PASS)."""
    versions, unread = installed_versions(cluster)
    if versions:
        return min(versions, key=lambda v: (v.major, v.minor, v.patch)), ""
    return None, "; ".join(str(why) for why in unread) or Phrase(N_("no istiod carrying {label} runs"),
                                                                  label=COMPONENT_LABEL)


def istioctl_version(cluster: ClusterInventory) -> tuple[str, str]:
    """(version, note): the Istio version whose istioctl must run the purge ("" when not one), from the
    operator-installed istiod images."""
    pinned, unread = installed_versions(cluster)
    versions = {str(v) for v in pinned}
    if len(versions) == 1 and not unread:
        version = versions.pop()
        return version, f"use istioctl {version} (the installed istiod's version)"
    if versions:
        # `uninstall` is under `istioctl x` up to 1.14 (purge_command): each revision's spelling.
        spelled = "istioctl [x] uninstall --revision <rev>`, `x` up to 1.14" if any(
            (v.major, v.minor) < EXPERIMENTAL_UNTIL for v in pinned) else "istioctl uninstall --revision <rev>`"
        return "", (f"istiod revisions run {', '.join(sorted(versions))}; use the istioctl of each revision's "
                    f"version (`{spelled}) before --purge")
    return "", "the installed Istio version cannot be read from istiod's image; confirm it with `istioctl version`"


# The memo key of installed_istioctl, kept when a cluster's objects are released (engine.KEPT_VIEWS).
ISTIOCTL_VIEW = "installed_istioctl"


def installed_istioctl(cluster: ClusterInventory) -> tuple[str, str]:
    """istioctl_version, once per cluster and kept after its objects are released: migration-resource (AA0702) runs
    after every data plane was judged. ("", why) when Deployments were not read."""
    def compute() -> tuple[str, str]:
        if not cluster.available(K.DEPLOYMENT):
            return "", f"istiod's Deployments could not be read: {cluster.unread_reason(K.DEPLOYMENT)}"
        return istioctl_version(cluster)
    return cluster.memo(ISTIOCTL_VIEW, compute)


def purge_command(cluster: str, version: str) -> str:
    """`istioctl uninstall --purge` as the istioctl of `version` spells it ("" when not one: the root command of
    today's). `uninstall` is under `istioctl x` up to 1.14 (istioctl/cmd/root.go: experimentalCmd.AddCommand(mesh.
    UninstallCmd) @1.10.6..1.14.6, rootCmd from 1.15.0): `istioctl uninstall` is no command of 1.10..1.14. The one
    spelling of it for purge-preview (AA2501's preview), migration-resource (AA0702) and istio-residue (AA2328)."""
    parsed = mesh.parse_version(version) if version else None
    experimental = "x " if parsed is not None and (parsed.major, parsed.minor) < EXPERIMENTAL_UNTIL else ""
    return f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} {experimental}uninstall --purge"


def preview_command(cluster: str, version: str) -> str:
    """The command that previews the purge with the istioctl of `version` ("" when not one): purge_command with
    --dry-run, which 1.10's uninstall does not take (operator/cmd/mesh/uninstall.go @1.10.6: no addFlags; @1.11.0 adds
    it): there the purge's own selection, listed with kubectl, is the preview, and it asks before it deletes."""
    kubeconfig = f"--kubeconfig={mesh.kubeconfig_var(cluster)}"
    parsed = mesh.parse_version(version) if version else None
    if parsed is not None and (parsed.major, parsed.minor) < (1, 11):
        # Secrets too (helmreconciler/prune.go @1.10.6 NamespacedResources): their names, as kubectl lists them.
        kinds = ("deployments,daemonsets,services,configmaps,secrets,pods,serviceaccounts,roles,rolebindings,"
                 "poddisruptionbudgets,horizontalpodautoscalers,envoyfilters,gateways.networking.istio.io,"
                 "virtualservices,destinationrules,peerauthentications,persistentvolumeclaims")
        cluster_kinds = ("mutatingwebhookconfigurations,validatingwebhookconfigurations,clusterroles,"
                         "clusterrolebindings,customresourcedefinitions")
        return (f"kubectl {kubeconfig} get {kinds} -A -l {COMPONENT_LABEL}\n"
                f"kubectl {kubeconfig} get {cluster_kinds} -l {COMPONENT_LABEL}\n"
                f"# {purge_command(cluster, version)}")
    return f"{purge_command(cluster, version)} --dry-run"
