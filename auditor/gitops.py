"""What the GitOps controllers' own objects say about Istio: whether an Argo CD Application/ApplicationSet or a Flux
HelmRelease/Kustomization installs Istio's control plane, into which cluster, and whether it can apply. Pure functions
of the objects as the API serves them (checks/gitops.py judges with them).

Shapes read: argoproj/argo-cd@v3.5.1 pkg/apis/application/v1alpha1/types.go (ApplicationSpec: source, sources,
sourceHydrator.drySource, destination{server,name}, syncPolicy.automated{enabled}; status.resources[]{group,kind,
namespace,name}) and applicationset_types.go (spec.template.spec, ownerReferences of the Applications it generates);
fluxcd/helm-controller@v1.6.3 api/v2 (spec.chart.spec.chart, spec.suspend, spec.kubeConfig, status.history[].chartName,
status.inventory.entries[].id) and fluxcd/kustomize-controller@v1.9.4 api/v1 (spec.suspend, spec.kubeConfig,
status.inventory.entries[].id "<namespace>_<name>_<group>_<kind>")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Istio's Helm repositories (istio.io "Install with Helm": https://istio-release.storage.googleapis.com/charts; the
# same charts as OCI artifacts under gcr.io/istio-release/charts) and their charts (istio/istio manifests/charts).
ISTIO_CHART_REPOS = ("istio-release.storage.googleapis.com/charts", "gcr.io/istio-release/charts")
ISTIO_CHARTS = frozenset({"base", "istiod", "istiod-remote", "gateway", "cni", "ztunnel"})
# The charts of Istio's control plane (istiod and its injector webhook) whatever repository serves them (a mirror, a
# Git checkout of istio/istio: manifests/charts/istio-control/istio-discovery is the istiod chart's directory).
CONTROL_PLANE_CHARTS = frozenset({"istiod", "istiod-remote", "istio-discovery"})
ISTIO_GIT_REPOS = ("github.com/istio/istio",)
# Argo CD's names for the cluster it runs in (argo-cd common/common.go KubernetesInternalAPIServerAddr, InClusterName).
IN_CLUSTER_SERVERS = frozenset({"https://kubernetes.default.svc", "https://kubernetes.default.svc:443",
                                "https://kubernetes.default.svc.cluster.local"})
IN_CLUSTER_NAME = "in-cluster"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else {}: the objects are input (a snapshot, a live answer not shape-checked)."""
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list field (ownerReferences, sources...); a field of another shape holds none."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _repo(url: str) -> str:
    """A repository URL without scheme, trailing slash or .git, lower-cased: how Istio's are compared."""
    out = url.strip().lower()
    for scheme in ("oci://", "https://", "http://"):
        if out.startswith(scheme):
            out = out[len(scheme):]
    out = out.rstrip("/")
    return out[:-4] if out.endswith(".git") else out


def istio_chart(repo_url: str, chart: str) -> str:
    """The Istio chart a (repository, chart) names, or "": a control-plane chart from any repository, any of Istio's
    charts from Istio's repositories (an OCI repoURL may end with the chart itself)."""
    repo = _repo(repo_url)
    name = chart.strip().rstrip("/").rsplit("/", 1)[-1]  # a chart given as a path (Flux: ./manifests/charts/...)
    for known in ISTIO_CHART_REPOS:
        if repo.startswith(known + "/") and not name:
            name = repo[len(known) + 1:].split("/", 1)[0]
            repo = known
    if name in CONTROL_PLANE_CHARTS or (repo in ISTIO_CHART_REPOS and name in ISTIO_CHARTS):
        return name
    return ""


def istio_object(group: str, kind: str, name: str) -> bool:
    """Whether an object a controller applied is Istio's control plane or what installs it: istiod, its injector
    webhook, an IstioOperator (the in-cluster operator installs istiod from it), a Sail operator Istio/IstioRevision."""
    if group == "apps" and kind == "Deployment":
        return name == "istiod" or name.startswith("istiod-")
    if group == "admissionregistration.k8s.io" and kind == "MutatingWebhookConfiguration":
        return name.startswith("istio-sidecar-injector")
    return (group == "install.istio.io" and kind == "IstioOperator") or (
        group == "sailoperator.io" and kind in ("Istio", "IstioRevision"))


def _argo_sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    sources = [mapping(spec.get("source"))] if spec.get("source") else []
    sources += items(spec.get("sources"))
    dry = mapping(mapping(spec.get("sourceHydrator")).get("drySource"))
    return [*sources, dry] if dry else sources


def argo_installs(spec: dict[str, Any], status: dict[str, Any] | None = None) -> list[str]:
    """What of Istio an Application (or an ApplicationSet's template) installs, as its sources and the resources it
    manages say ("chart istiod of <repo>", "Deployment istio-system/istiod"); [] when none is Istio's."""
    found: list[str] = []
    for source in _argo_sources(spec):
        repo, chart, path = _text(source.get("repoURL")), _text(source.get("chart")), _text(source.get("path"))
        name = istio_chart(repo, chart) if chart or not path else ""
        if name:
            found.append(f"chart {name} of {repo}")
        elif path and (istio_chart("", path) or (_repo(repo) in ISTIO_GIT_REPOS
                                                  and path.strip("/").startswith("manifests/charts"))):
            found.append(f"path {path} of {repo}")
    for res in items((status or {}).get("resources")):
        group, kind, name = _text(res.get("group")), _text(res.get("kind")), _text(res.get("name"))
        if istio_object(group, kind, name):
            found.append(_subject(kind, _text(res.get("namespace")), name))
    return found


def argo_destination(spec: dict[str, Any]) -> str:
    """"" when an Application's destination is the cluster Argo CD runs in; else the cluster it names."""
    dest = mapping(spec.get("destination"))
    server, name = _text(dest.get("server")).strip().rstrip("/"), _text(dest.get("name")).strip()
    if server in IN_CLUSTER_SERVERS or name == IN_CLUSTER_NAME or not (server or name):
        return ""
    return server or name


def argo_automated(spec: dict[str, Any]) -> bool:
    """Automated sync on (SyncPolicy.IsAutomatedSyncEnabled: `automated` set and `enabled` not false)."""
    automated = mapping(spec.get("syncPolicy")).get("automated")
    return isinstance(automated, dict) and automated.get("enabled") is not False


def templated(value: str) -> bool:
    """An ApplicationSet template field filled per generated Application (fasttemplate or Go template)."""
    return "{{" in value


def _inventory(status: dict[str, Any]) -> Iterable[tuple[str, str, str, str]]:
    """(namespace, name, group, kind) of each entry of a Flux status.inventory ('<namespace>_<name>_<group>_<kind>':
    none of the four holds '_', the namespace and group are empty for cluster-scoped and core objects)."""
    for entry in items(mapping(status.get("inventory")).get("entries")):
        parts = _text(entry.get("id")).split("_")
        if len(parts) == 4:
            yield parts[0], parts[1], parts[2], parts[3]


def flux_installs(kind: str, spec: dict[str, Any], status: dict[str, Any]) -> list[str]:
    """What of Istio a HelmRelease (its chart, the charts of its release history) or a Kustomization (its inventory)
    installs; [] when none is Istio's. A HelmRelease's repository URL is on its HelmRepository, not read: only the
    control-plane charts are known by name there."""
    found: list[str] = []
    if kind == "HelmRelease":
        chart = _text(mapping(mapping(spec.get("chart")).get("spec")).get("chart"))
        names = [chart] + [_text(h.get("chartName")) for h in items(status.get("history"))]
        for name in dict.fromkeys(n for n in names if n):
            if istio_chart("", name):
                found.append(f"chart {name}")
    for namespace, name, group, obj_kind in _inventory(status):
        if istio_object(group, obj_kind, name):
            found.append(_subject(obj_kind, namespace, name))
    return found


def _subject(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace + '/' if namespace else ''}{name}"
