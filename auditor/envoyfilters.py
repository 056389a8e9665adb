"""What an EnvoyFilter says about itself, as more than one check reads it.

Istio's installer generates per-release telemetry filters (`stats-filter-1.x`, `tcp-stats-filter-1.x`,
`metadata-exchange-1.x`, `tcp-metadata-exchange-1.x`, `stackdriver-filter-1.x`, with `-<revision>` for a revision;
Istio 1.10 to 1.21, manifests/charts/istio-control/istio-discovery/templates/telemetryv2_1.x.yaml) that match only
that release's proxies: they go with the release. Helm labels them `istio.io/rev` only; istioctl adds
operator.istio.io/component.
"""

from __future__ import annotations

import re
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.inventory import ClusterInventory
from auditor.istio import istiods

GENERATED_NAME = re.compile(r"^(stats-filter|tcp-stats-filter|metadata-exchange|tcp-metadata-exchange|"
                            r"stackdriver-filter|tcp-stackdriver-filter)-(1\.\d+)(-[a-z0-9-]+)?$")
INSTALLER_LABELS = ("istio.io/rev", "operator.istio.io/component")


def proxy_version(patch: Any) -> Any:
    """`match.proxy.proxyVersion` of one config patch, or None."""
    match = patch.get("match") if isinstance(patch, dict) else None
    proxy = match.get("proxy") if isinstance(match, dict) else None
    return proxy.get("proxyVersion") if isinstance(proxy, dict) else None


def proxy_version_regexes(patches: list[Any]) -> list[str]:
    """The distinct proxyVersion regexes of the patches, sorted."""
    return sorted({str(v) for p in patches if (v := proxy_version(p)) is not None})


def generated_release(obj: dict[str, Any], regexes: list[str]) -> str | None:
    """The Istio release whose installer made the filter (its name and labels say so, and its patches match that
    release's proxies only), else None: a user's copy under the same name is the user's."""
    meta = obj.get("metadata") or {}
    m = GENERATED_NAME.match(str(meta.get("name") or ""))
    labels = meta.get("labels") or {}
    if m and any(k in labels for k in INSTALLER_LABELS) and regexes == [f"^{re.escape(m.group(2))}.*"]:
        return m.group(2)
    return None


def installer_telemetry_release(obj: dict[str, Any]) -> str | None:
    """generated_release() read off the object's own patches (None when they are not a list of patches)."""
    spec = obj.get("spec")
    patches = spec.get("configPatches") if isinstance(spec, dict) else None
    if not isinstance(patches, list) or not all(isinstance(p, dict) for p in patches):
        return None
    return generated_release(obj, proxy_version_regexes(patches))


# The memo key of istio_roots: kept when a fleet's cluster is released after its checks (engine.KEPT_VIEWS), for
# envoyfilter-compatibility, which runs after every data plane was read.
ROOTS_VIEW = "istio_root_namespaces"


def istio_roots(cluster: ClusterInventory) -> dict[str, list[str]]:
    """Istio's root namespaces -> the mesh ConfigMaps (namespace/name) that say so, one per istiod revision whose mesh
    config was read (telemetry.mesh_view; one without rootNamespace means istio-system, istiod's default). A revision
    whose mesh config was not read adds nothing; so do unread Deployments or ConfigMaps."""
    return cluster.memo(ROOTS_VIEW, lambda: _roots(cluster))


def _roots(cluster: ClusterInventory) -> dict[str, list[str]]:
    from auditor.telemetry import mesh_view  # telemetry reads installer_telemetry_release from here

    if not (cluster.available(K.DEPLOYMENT) and cluster.available(K.CONFIGMAP)):
        return {}
    roots: dict[str, list[str]] = {}
    for revision in sorted({mesh.istiod_revision(d) for d in istiods(cluster)}):
        view = mesh_view(cluster, revision)
        if view.root is not None and view.where is not None:
            roots.setdefault(view.root, []).append("/".join(view.where))
    return roots
