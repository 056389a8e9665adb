"""What the GitOps controllers' own objects say about Istio: whether an Argo CD Application/ApplicationSet or a Flux
HelmRelease/Kustomization installs Istio's control plane, into which cluster, and whether it can apply. Pure functions
of the objects as the API serves them (checks/gitops.py judges with them).

Shapes read: argoproj/argo-cd@v3.5.1 pkg/apis/application/v1alpha1/types.go (ApplicationSpec: source, sources,
sourceHydrator.drySource, destination{server,name}, syncPolicy.automated{enabled}; status.resources[]{group,kind,
namespace,name}) and applicationset_types.go (spec.template.spec, ownerReferences of the Applications it generates);
fluxcd/helm-controller@v1.6.3 api/v2 (spec.chart.spec.chart, spec.suspend, spec.kubeConfig, status.history[].chartName,
status.inventory.entries[].id) and fluxcd/kustomize-controller@v1.9.4 api/v1 (spec.suspend, spec.kubeConfig,
status.inventory.entries[].id "<namespace>_<name>_<group>_<kind>"; v1beta1's status.snapshot, kinds only); a
HelmRelease's spec.chartRef and the OCIRepository/HelmChart it names (fluxcd/source-controller@v1.9.1 api/v1); Rancher
Fleet's Bundle (rancher/fleet@v0.16.1) and KubeVela's Application (kubevela/kubevela@v1.10.9)."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable
from typing import Any

import yaml

from auditor.yamlsafe import BoundedSafeLoader, safe_load

# Istio's Helm repositories (istio.io "Install with Helm": https://istio-release.storage.googleapis.com/charts; the
# same charts as OCI artifacts under gcr.io/istio-release/charts) and their charts (istio/istio manifests/charts).
ISTIO_CHART_REPOS = ("istio-release.storage.googleapis.com/charts", "gcr.io/istio-release/charts")
ISTIO_CHARTS = frozenset({"base", "istiod", "istiod-remote", "gateway", "cni", "ztunnel"})
# The charts of Istio's control plane (istiod and its injector webhook) whatever repository serves them (a mirror, a
# Git checkout of istio/istio: manifests/charts/istio-control/istio-discovery is the istiod chart's directory), and
# istio-default (manifests/charts/default @1.24.6..1.30.3: the default revision tag's sidecar-injector
# MutatingWebhookConfiguration, failurePolicy Fail, pointing at istiod: with istiod purged every pod creation it
# selects fails).
CONTROL_PLANE_CHARTS = frozenset({"istiod", "istiod-remote", "istio-discovery", "istio-default"})
# What Istio's other charts re-create, read from their templates (istio/istio@1.24.6..1.30.3 manifests/charts/*/
# templates): none holds istiod or an injector webhook, so they are not what AA3010 says, but after the purge they
# put Istio's objects back (WARN AA3020). The key is the chart's name (Chart.yaml) or its directory in istio/istio.
OTHER_CHART_EFFECTS = {
    # base: crds.yaml, and with defaultRevision set (its default "default") defaultrevision-validatingwebhook
    # configuration.yaml: istiod-default-validator for every Istio API group, calling Service istiod in istio-system
    # (failurePolicy Ignore when rendered fresh, as Argo CD's `helm template` does; none, so Fail, on a Helm upgrade
    # @1.30.3).
    "base": "Istio's CRDs and ValidatingWebhookConfiguration istiod-default-validator, which calls the purged istiod",
    # gateway: deployment.yaml, image "auto" that only an injector's gateway template fills in; service.yaml.
    "gateway": "an Istio gateway Deployment (image \"auto\", filled in by an injector) and its Service",
    # istio-cni (chart "cni"): daemonset.yaml istio-cni-node, configmap-cni.yaml, its ClusterRole(Binding).
    "cni": "Istio's CNI node agent DaemonSet istio-cni-node and its ClusterRoles",
    # ztunnel: daemonset.yaml ztunnel, rbac.yaml: ambient mode's node proxy, which needs istiod for its certificates.
    "ztunnel": "Istio's ambient node proxy DaemonSet ztunnel, which cannot start without istiod",
}
_CHART_DIRS = {"istio-cni": "cni", "istio-ingress": "gateway", "istio-egress": "gateway", "default": "istio-default"}
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


def _oci_chart(repo_url: str, path: str) -> tuple[str, str]:
    """(repository, chart) of an Argo CD OCI source whose repoURL is the chart itself and whose path is "." or empty
    (argo-cd@v3.5.1 docs/user-guide/oci.md: "the path should always be set to `.`" for an OCI Helm chart); ("", "")
    for any other source."""
    url = repo_url.strip().rstrip("/")
    if not url.lower().startswith("oci://") or path.strip() not in ("", ".", "./"):
        return "", ""
    repo, _, chart = url[len("oci://"):].rpartition("/")
    return (f"oci://{repo}", chart) if repo and chart else ("", "")


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
        # istio-revision-tag-<tag>: a revision tag's injector (the istio-default chart's istio-revision-tag-default,
        # manifests/charts/default/templates/mutatingwebhook.yaml @1.24.6..1.30.3; `istioctl tag set`).
        return name.startswith(("istio-sidecar-injector", "istio-revision-tag-"))
    return (group == "install.istio.io" and kind == "IstioOperator") or (
        group == "sailoperator.io" and kind in ("Istio", "IstioRevision"))


def _argo_sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    sources = [mapping(spec.get("source"))] if spec.get("source") else []
    sources += items(spec.get("sources"))
    dry = mapping(mapping(spec.get("sourceHydrator")).get("drySource"))
    return [*sources, dry] if dry else sources


def _istio_git_chart(repo: str, path: str) -> str:
    """The Istio chart a path names: a chart directory anywhere (a mirror), or any directory of istio/istio's
    manifests/charts ("istio-control" for one not known by name: read as the control plane, fail safe)."""
    name = istio_chart("", path)
    if name:
        return name
    parts = path.strip().strip("/").split("/")
    if _repo(repo) in ISTIO_GIT_REPOS and parts[:2] == ["manifests", "charts"]:
        last = parts[-1] if len(parts) > 2 else ""
        return _CHART_DIRS.get(last, last if last in OTHER_CHART_EFFECTS else "istio-control")
    return ""


def argo_charts(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(chart name, how the source names it) for each source of an Application (or an ApplicationSet's template) that
    is one of Istio's charts; the name is a key of OTHER_CHART_EFFECTS or a control-plane chart."""
    found: list[tuple[str, str]] = []
    for source in _argo_sources(spec):
        repo, chart, path = _text(source.get("repoURL")), _text(source.get("chart")), _text(source.get("path"))
        chart_repo = repo
        if not chart:  # an OCI chart as Argo CD's OCI guide declares it: the repoURL ends with it, path "."
            oci_repo, oci_chart = _oci_chart(repo, path)
            if oci_chart:
                chart_repo, chart, path = oci_repo, oci_chart, ""
        name = istio_chart(chart_repo, chart) if chart or not path else ""
        if name:
            found.append((name, f"chart {name} of {repo}"))
        elif path:
            name = _istio_git_chart(repo, path)
            if name:
                found.append((name, f"path {path} of {repo}"))
    return found


def control_plane(chart: str) -> bool:
    """Whether an Istio chart argo_charts names installs istiod or an injector (what AA3010 says it reinstalls)."""
    return chart not in OTHER_CHART_EFFECTS


def argo_installs(spec: dict[str, Any], status: dict[str, Any] | None = None) -> list[str]:
    """What of Istio's control plane an Application (or an ApplicationSet's template) installs, as its sources and the
    resources it manages say ("chart istiod of <repo>", "Deployment istio-system/istiod"); [] when none is."""
    found = [said for chart, said in argo_charts(spec) if control_plane(chart)]
    for res in items((status or {}).get("resources")):
        group, kind, name = _text(res.get("group")), _text(res.get("kind")), _text(res.get("name"))
        if istio_object(group, kind, name):
            found.append(_subject(kind, _text(res.get("namespace")), name))
    return found


def argo_other_charts(spec: dict[str, Any]) -> list[str]:
    """Istio's charts an Application's sources apply that install no control plane, each with what it re-creates."""
    return [f"{said} ({OTHER_CHART_EFFECTS[chart]})" for chart, said in argo_charts(spec) if not control_plane(chart)]


# The GitOps objects a parent applies (app of apps: argo-cd@v3.5.1 docs/operator-manual/cluster-bootstrapping.md, a
# root Application whose source holds Application manifests; Flux: a Kustomization applying HelmReleases and
# Kustomizations, fluxcd/flux2-kustomize-helm-example), by (group, kind).
GITOPS_GROUP_KINDS = frozenset({("argoproj.io", "Application"), ("argoproj.io", "ApplicationSet"),
                                ("helm.toolkit.fluxcd.io", "HelmRelease"),
                                ("kustomize.toolkit.fluxcd.io", "Kustomization")})


def children(status: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(group, kind, namespace, name) of the Argo CD/Flux objects an Application (status.resources: ResourceStatus,
    types.go, listed while OutOfSync/Missing too) or a Flux object (status.inventory) applies: what its next sync
    re-creates when deleted."""
    found = [(_text(r.get("group")), _text(r.get("kind")), _text(r.get("namespace")), _text(r.get("name")))
             for r in items(status.get("resources"))]
    found += [(group, kind, namespace, name) for namespace, name, group, kind in _inventory(status)]
    return [c for c in found if (c[0], c[1]) in GITOPS_GROUP_KINDS and c[3]]


def istio_named(name: str) -> bool:
    """A GitOps object named as Istio's control plane release (istio.io "Install with Helm": `helm install istiod
    istio/istiod`; a revision's istiod-<rev>): read as installing it when its own spec is not in the cluster."""
    return name in CONTROL_PLANE_CHARTS or name.startswith("istiod-")


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


# A template parameter: fasttemplate's {{key}} / {{values.key}}, or Go template's {{.key}} / {{ .values.key }}.
_PARAMETER = re.compile(r"\{\{\s*\.?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")


def _parameter(element: dict[str, Any], path: str) -> str | None:
    """A parameter set's value for a parameter: by its key (fasttemplate's flat values.<key> too) or its path."""
    value: Any = element.get(path)
    if value is None:
        value = element
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return None
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else None


def _filled(value: Any, element: dict[str, Any]) -> Any:
    """`value` (a template's field, at any depth) with the element's parameters filled in; others left as written."""
    if isinstance(value, str):
        return _PARAMETER.sub(lambda m: _parameter(element, m.group(1)) or m.group(0), value)
    if isinstance(value, dict):
        return {k: _filled(v, element) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, element) for v in value]
    return value


# The generators whose parameters come from outside the ApplicationSet (Argo CD's cluster Secrets, Git, an SCM or
# pull-request API, a plugin, a placement decision: argo-cd@v3.5.1 applicationset/generators/): not readable here, so
# a template parameter of theirs stays as written (one parameter set that fills nothing).
_NESTING = ("matrix", "merge")
# Parameter sets one ApplicationSet is expanded into, at most: past it (a matrix of long lists) the rest are not
# enumerated, and one set filling nothing stands for them (unproven, never a silent PASS).
MAX_PARAMETER_SETS = 5000
_UNREAD: list[dict[str, Any]] = [{}]


def _generator_kind(generator: dict[str, Any]) -> str:
    """The generator's kind: its one key other than `selector` (ApplicationSetGenerator's fields)."""
    return next((key for key, value in generator.items() if key != "selector" and isinstance(value, dict)), "")


def _deep_merged(winner: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """`winner` with what it lacks taken from `other`, map by map (mergo.Merge without override: a field of
    `winner` set to a value stays; a nested map is merged)."""
    out = dict(other)
    for key, value in winner.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merged(value, out[key])
        elif value not in (None, "", {}, []):
            out[key] = value
    return out


def _list_parameters(generator: dict[str, Any]) -> list[dict[str, Any]]:
    """A list generator's parameter sets (argo-cd@v3.5.1 applicationset/generators/list.go): its elements, then those
    of elementsYaml (Argo CD 2.9+: a YAML list of the elements, appended). An elementsYaml still holding a template
    (a matrix's second generator filled from the first's parameters that are not readable here) or not a YAML list
    of mappings is unread: one set filling nothing."""
    found = items(generator.get("elements"))
    text = generator.get("elementsYaml")
    if isinstance(text, str) and text.strip():
        loaded: Any = None
        if not templated(text):
            try:
                loaded = safe_load(text)
            except yaml.YAMLError:  # what it lists is not known (Argo CD's controller errors on it too)
                loaded = None
        if isinstance(loaded, list) and all(isinstance(e, dict) for e in loaded):
            found = [*found, *loaded]
        else:
            found = [*found, *_UNREAD]
    return found


def _parameter_sets(generator: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The parameter sets a generator makes, as far as the ApplicationSet itself says: a list's elements, a matrix's
    combinations (matrix.go: each set of the first generator with each of the second, the second's fields filled
    from the first's set), a merge's (merge.go: the first generator's sets, each overridden by a later one's set of
    the same mergeKeys values). A generator whose parameters are not readable here makes one set filling nothing."""
    kind = _generator_kind(generator)
    body = mapping(generator.get(kind))
    if depth > 8 or kind not in ("list", *_NESTING):
        return list(_UNREAD)
    if kind == "list":
        return _list_parameters(body)
    children = items(body.get("generators"))
    if kind == "matrix":
        if len(children) != 2:  # Argo CD refuses it (ErrLessThanTwoGenerators/ErrMoreThanTwoGenerators): no Apps
            return []
        out: list[dict[str, Any]] = []
        for first in _parameter_sets(children[0], depth + 1):
            for second in _parameter_sets(_filled(children[1], first), depth + 1):
                # Both sets' parameters, the first's winning (matrix.go: mergo.Merge of the second, then the first
                # with override; fasttemplate's CombineStringMaps takes both).
                out.append(_deep_merged(first, second))
                if len(out) >= MAX_PARAMETER_SETS:
                    return [*out, *_UNREAD]
        return out
    return _merged_sets(children, [k for k in body.get("mergeKeys") or () if isinstance(k, str)], depth)


def _merged_sets(children: list[dict[str, Any]], merge_keys: list[str], depth: int) -> list[dict[str, Any]]:
    """A merge generator's parameter sets (merge.go): each set of the first generator, overridden by the set of a
    later generator with the same values of the merge keys. A later generator not readable here may override any
    set: each then also stands overridden by unknown values (only its merge keys known)."""
    if len(children) < 2 or not merge_keys:
        return []  # Argo CD refuses it (ErrLessThanTwoGeneratorsInMerge, ErrNoMergeKeys): no Applications
    later = [_parameter_sets(child, depth + 1) for child in children[1:]]
    out: list[dict[str, Any]] = []
    for base in _parameter_sets(children[0], depth + 1):
        if not base:  # the first generator's sets are not readable: any later set may be one of them, or none
            out.append(base)
            out.extend(s for sets in later for s in sets if s)
            continue
        merged = dict(base)
        unknown_override = False
        for sets in later:
            unknown_override |= any(not s for s in sets)
            key = [_parameter(base, k) for k in merge_keys]
            for override in sets:
                if override and [_parameter(override, k) for k in merge_keys] == key:
                    merged = _deep_merged(override, merged)
        out.append(merged)
        if unknown_override:
            out.append({k: merged[k] for k in merge_keys if k in merged})
        if len(out) >= MAX_PARAMETER_SETS:
            return [*out, *_UNREAD]
    return out


def appset_specs(appset_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The Application specs an ApplicationSet makes, one per parameter set of each generator with its parameters
    filled in (argo-cd@v3.5.1 applicationset/generators/: list.go, matrix.go, merge.go; a plain list element's string
    values by key, its `values` map's as values.<key>; with goTemplate the element itself), in the template a
    generator of its own may override (generator_spec_processor.go mergeGeneratorTemplate). A parameter of a
    generator not readable here (clusters, git...) stays as written: see unfilled_source."""
    base = mapping(appset_spec.get("template"))
    specs: list[dict[str, Any]] = []
    for generator in items(appset_spec.get("generators")):
        own = mapping(mapping(generator.get(_generator_kind(generator))).get("template"))
        template = mapping((_deep_merged(own, base) if own else base).get("spec"))
        if not templated(repr(template)):  # nothing to fill: one Application spec whatever the parameters
            specs.append(template)
            continue
        specs.extend(_filled(template, params) for params in _parameter_sets(generator))
    return specs or [mapping(base.get("spec"))]


def unfilled_source(spec: dict[str, Any]) -> list[str]:
    """The fields naming what an Application (made from an ApplicationSet's template) installs, its repoURL, chart
    or path, that still hold a template parameter: what they name is not known here."""
    return [f"{field} {source[field]}" for source in _argo_sources(spec) for field in ("repoURL", "chart", "path")
            if templated(_text(source.get(field)))]


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
        names = [chart, *flux_history_charts(status)]
        for name in dict.fromkeys(n for n in names if n):
            if istio_chart("", name):
                found.append(f"chart {name}")
    for namespace, name, group, obj_kind in _inventory(status):
        if istio_object(group, obj_kind, name):
            found.append(_subject(obj_kind, namespace, name))
    return found


# What `argocd cluster add` creates in the cluster it registers (argo-cd@v3.5.1 util/clusterauth/clusterauth.go:
# ArgoCDManagerServiceAccount, ArgoCDManagerClusterRole, ArgoCDManagerClusterRoleBinding; InstallClusterManagerRBAC).
ARGOCD_MANAGER_ACCOUNT = "argocd-manager"
ARGOCD_MANAGER_ROLE = "argocd-manager-role"
ARGOCD_MANAGER_BINDING = "argocd-manager-role-binding"


def argo_manager(binding: dict[str, Any]) -> tuple[str, str, str] | None:
    """(binding, "<namespace>/argocd-manager", role) when a ClusterRoleBinding is the one `argocd cluster add` writes:
    its name, bound to ServiceAccount argocd-manager (in --system-namespace, kube-system by default); else None."""
    name = _text(mapping(binding.get("metadata")).get("name"))
    if name != ARGOCD_MANAGER_BINDING:
        return None
    for subject in items(binding.get("subjects")):
        if subject.get("kind") == "ServiceAccount" and subject.get("name") == ARGOCD_MANAGER_ACCOUNT:
            role = _text(mapping(binding.get("roleRef")).get("name")) or ARGOCD_MANAGER_ROLE
            return name, f"{_text(subject.get('namespace'))}/{ARGOCD_MANAGER_ACCOUNT}", role
    return None


def _subject(kind: str, namespace: str, name: str) -> str:
    return f"{kind} {namespace + '/' if namespace else ''}{name}"


# ---------------------------------------------------------------- a HelmRelease's chartRef
# The kinds a HelmRelease's spec.chartRef may name (helm-controller@v1.6.3 api/v2/reference_types.go
# CrossNamespaceSourceReference, kubebuilder Enum OCIRepository;HelmChart;ExternalArtifact).
CHART_REF_KINDS = ("OCIRepository", "HelmChart", "ExternalArtifact")


def flux_chart_ref(spec: dict[str, Any], own_namespace: str) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of the chart source a HelmRelease's spec.chartRef names (its namespace defaults to the
    HelmRelease's); None without one."""
    ref = mapping(spec.get("chartRef"))
    kind, name = _text(ref.get("kind")), _text(ref.get("name"))
    if not (kind or name):
        return None
    return kind, _text(ref.get("namespace")) or own_namespace, name


def flux_history_charts(status: dict[str, Any]) -> list[str]:
    """The chart names of a HelmRelease's release history (status.history[].chartName, snapshot_types.go)."""
    return [n for n in (_text(h.get("chartName")) for h in items(status.get("history"))) if n]


def flux_source_chart(kind: str, source: dict[str, Any]) -> str:
    """The control-plane chart an OCIRepository (spec.url: the chart's own OCI address, oci://<registry>/<path>/<chart>:
    source-controller@v1.9.1 api/v1 ocirepository_types.go) or a HelmChart (spec.chart: a chart name, or a path in
    its GitRepository/Bucket: helmchart_types.go) holds, said with where it is from; "" when it holds none."""
    spec = mapping(source.get("spec"))
    if kind == "OCIRepository":
        url = _text(spec.get("url")).strip().rstrip("/")
        repo, _, chart = url.rpartition("/")
        found = istio_chart(repo, chart) if repo and chart else ""
        return f"chart {found} ({url})" if found and control_plane(found) else ""
    chart = _text(spec.get("chart"))
    found = istio_chart("", chart)
    return f"chart {found} (HelmChart {chart})" if found else ""


# ---------------------------------------------------------------- a v1beta1 Kustomization's snapshot
def _gvk_group(gvk: str) -> str:
    """The group of a GroupVersionKind.String(), "<group>/<version>, Kind=<kind>" ("" for a core kind)."""
    group_version = gvk.split(",", 1)[0].strip()
    return group_version.rpartition("/")[0]


def flux_snapshot_suspects(status: dict[str, Any]) -> list[str]:
    """What a Kustomization served as v1beta1 says it applied, when it has no inventory: status.snapshot.entries[]
    {namespace, kinds: {"<group>/<version>, Kind=<kind>": kind}} (kustomize-controller@v0.15.5 api/v1beta1/
    snapshot_types.go NewSnapshot; v1beta2 replaced it by status.inventory), kinds per namespace without names. The
    kinds that may be Istio's control plane or what installs it: a MutatingWebhookConfiguration (an injector), an
    IstioOperator, a Sail operator Istio/IstioRevision, a Deployment in a namespace named istio-*."""
    if mapping(status.get("inventory")).get("entries"):
        return []
    found: list[str] = []
    for entry in items(mapping(status.get("snapshot")).get("entries")):
        namespace = _text(entry.get("namespace"))
        for gvk, kind in mapping(entry.get("kinds")).items():
            group, kind = _gvk_group(str(gvk)), _text(kind)
            suspect = (group == "admissionregistration.k8s.io" and kind == "MutatingWebhookConfiguration") or (
                group == "install.istio.io" and kind == "IstioOperator") or (
                group == "sailoperator.io" and kind in ("Istio", "IstioRevision")) or (
                group == "apps" and kind == "Deployment" and namespace.startswith("istio"))
            if suspect:
                found.append(f"{kind} ({f'namespace {namespace}' if namespace else 'cluster-scoped'})")
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- Rancher Fleet's Bundles
# Fleet's manager workspace for the cluster it runs in (Rancher's local cluster, a standalone Fleet's own: rancher/
# fleet@v0.16.1 docs, "fleet-local" and "fleet-default" namespaces): a Bundle elsewhere targets downstream clusters.
FLEET_LOCAL = "fleet-local"
# Bounds on a Bundle resource decoded here (base64+gz): a chart's files are small; past it the resource is not read.
MAX_BUNDLE_RESOURCE = 4 << 20


def _bundle_content(resource: dict[str, Any]) -> str:
    """A Bundle resource's text (spec.resources[].content, encoding "" or "base64+gz": bundle_types.go
    BundleResource); "" when not decodable within MAX_BUNDLE_RESOURCE."""
    content = _text(resource.get("content"))
    if _text(resource.get("encoding")) != "base64+gz":
        return content[:MAX_BUNDLE_RESOURCE]
    try:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip
        data = inflate.decompress(base64.b64decode(content), MAX_BUNDLE_RESOURCE)
        return data.decode("utf-8", "replace")
    except (ValueError, zlib.error):
        return ""


def _manifest_objects(text: str) -> Iterable[dict[str, Any]]:
    """The mappings of a plain YAML manifest's documents; none for a Helm template ({{ }}) or unparsable text."""
    if not text or "{{" in text:
        return
    try:
        for doc in yaml.load_all(text, Loader=BoundedSafeLoader):
            if isinstance(doc, dict):
                yield doc
    except yaml.YAMLError:
        return


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def bundle_file_read(name: str) -> bool:
    """Whether fleet_installs reads a Bundle resource of this name: a chart's Chart.yaml, a plain manifest (not one of
    a chart's templates, which need rendering, nor its crds/)."""
    path = f"/{name}"
    if path.rsplit("/", 1)[-1] in ("Chart.yaml", "Chart.yml"):
        return True
    return name.endswith((".yaml", ".yml", ".json")) and "/templates/" not in path and "/crds/" not in path


# What a manifest of Istio's control plane (istio_object) holds somewhere: a manifest without any is not parsed.
_ISTIO_HINTS = ("istiod", "istio-sidecar-injector", "istio-revision-tag-", "IstioOperator", "sailoperator.io")
# A chart archive `helm dependency update` fetched into an umbrella chart's charts/, "<name>-<version>.tgz" (helm/
# helm@v3.18.4 pkg/chartutil/save.go); Helm loads every chart of charts/ as a subchart, listed in Chart.yaml or not
# (pkg/chart/loader/load.go).
_CHART_ARCHIVE = re.compile(r"(?:^|/)charts/([A-Za-z0-9._-]+?)-v?[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+-]*\.tgz$")


def bundle_resource_kept(resource: dict[str, Any]) -> dict[str, Any] | None:
    """What the inventory keeps of a Bundle resource: a file fleet_installs reads whole, a chart archive's name only
    (its chart is named there; the archive is not read), nothing of the rest."""
    name = _text(resource.get("name"))
    if _CHART_ARCHIVE.search(name):
        return {"name": name}
    return resource if bundle_file_read(name) else None


def _istio_manifest(obj: dict[str, Any]) -> Iterable[str]:
    """Istio's control-plane objects in a manifest document: the object itself, or the items of a list (`kind: List`,
    a <Kind>List with items[]), which kubectl and Fleet apply item by item (rancher/wrangler pkg/yaml/yaml.go
    ToObjects flattens an UnstructuredList)."""
    if _text(obj.get("kind")).endswith("List") and isinstance(obj.get("items"), list):
        for item in items(obj.get("items")):
            yield from _istio_manifest(item)
        return
    meta = mapping(obj.get("metadata"))
    kind, name = _text(obj.get("kind")), _text(meta.get("name"))
    if istio_object(_group_of(_text(obj.get("apiVersion"))), kind, name):
        yield _subject(kind, _text(meta.get("namespace")), name)


def _chart_yaml_installs(name: str, meta: dict[str, Any]) -> list[str]:
    """The control-plane charts a Chart.yaml is or depends on: its own name, and each of its dependencies[]{name,
    repository, alias} (an umbrella chart: helm/helm@v3.18.4 pkg/chart/dependency.go Dependency), judged by the same
    rule as any chart source (a `condition` is not evaluated: read as enabled, fail safe)."""
    found: list[str] = []
    chart = istio_chart("", _text(meta.get("name")))
    if chart:
        found.append(f"chart {chart} ({name})")
    for dependency in items(meta.get("dependencies")):
        chart = istio_chart(_text(dependency.get("repository")), _text(dependency.get("name")))
        if chart and control_plane(chart):
            found.append(f"chart {chart}, a dependency of {name}")
    return found


def fleet_installs(spec: dict[str, Any], status: dict[str, Any]) -> list[str]:
    """What of Istio's control plane a Fleet Bundle renders: its Helm chart (spec.helm{chart,repo}), the Chart.yaml
    among its resources (a chart fleet apply downloaded or a directory of the GitRepo: "This includes the content of
    downloaded helm charts") with its dependencies and the chart archives of its charts/ (fleet apply runs `helm
    dependency update` in a chart's directory: rancher/fleet@v0.16.1 internal/bundlereader/loaddirectory.go), a plain
    manifest among them (YAML or JSON, a `kind: List`'s items), or the resource keys it lists (status.resourceKey[]{
    apiVersion,kind,namespace,name}: written by Fleet up to v0.12, reconciler/bundle_status.go setResourceKey; set to
    nil from v0.13, reconciler/bundle_controller.go); [] when none is. A Bundle whose contents are in an OCI registry
    has no resources (see fleet_contents_in_oci)."""
    found: list[str] = []
    helm = mapping(spec.get("helm"))
    chart = istio_chart(_text(helm.get("repo")), _text(helm.get("chart")))
    if chart and control_plane(chart):
        found.append(f"chart {chart}")
    for resource in items(spec.get("resources")):
        name = _text(resource.get("name"))
        archive = _CHART_ARCHIVE.search(name)
        if name.rsplit("/", 1)[-1] in ("Chart.yaml", "Chart.yml"):
            found += _chart_yaml_installs(name, next(iter(_manifest_objects(_bundle_content(resource))), {}))
        elif archive:
            chart = istio_chart("", archive.group(1))
            if chart:
                found.append(f"chart {chart} ({name})")
        elif bundle_file_read(name):
            text = _bundle_content(resource)
            if any(hint in text for hint in _ISTIO_HINTS):
                for obj in _manifest_objects(text):
                    found += _istio_manifest(obj)
    for key in items(status.get("resourceKey")):
        kind, name = _text(key.get("kind")), _text(key.get("name"))
        if istio_object(_group_of(_text(key.get("apiVersion"))), kind, name):
            found.append(_subject(kind, _text(key.get("namespace")), name))
    return list(dict.fromkeys(found))


def fleet_contents_in_oci(spec: dict[str, Any]) -> str:
    """The id of a Bundle's contents stored in an OCI registry (spec.contentsId), "" when they are in the Bundle:
    fleet apply with an OCI registry secret pushes them there and leaves spec.resources nil (rancher/fleet@v0.16.1
    internal/cmd/cli/apply/apply.go saveOCIBundle; OCI storage on unless its OCI_STORAGE variable is false,
    internal/ocistorage/ociwrapper.go OCIIsEnabled)."""
    return _text(spec.get("contentsId")).strip()


# ---------------------------------------------------------------- KubeVela's Applications
# The hub's own cluster in KubeVela (pkg/multicluster ClusterLocalName "local"; an empty cluster is the hub too).
KUBEVELA_LOCAL = ("", "local")
# The one label of the hub's virtual cluster "local" (oam-dev/cluster-gateway, as vendored by kubevela@v1.10.9,
# pkg/apis/cluster/v1alpha1/virtualcluster_types.go newVirtualCluster: "<MetaApiGroupName>/control-plane" "true",
# pkg/config/meta.go "cluster.core.oam.dev"); a managed cluster's is "false".
KUBEVELA_HUB_LABELS = {"cluster.core.oam.dev/control-plane": "true"}


def kubevela_placements(policies: list[dict[str, Any]]) -> tuple[bool, list[str]]:
    """(whether the hub is among the clusters an Application's topology policies place it in, the other clusters,
    named or described), as kubevela@v1.10.9 pkg/policy/topology.go GetPlacementsFromTopologyPolicies reads them:
    without a topology policy the hub only; per policy its `clusters` when set (the hub if "local" is among them),
    else its clusterLabelSelector (every virtual cluster whose labels match, the hub's own among them: oam-dev/
    cluster-gateway virtualcluster_client.go List starts from the local cluster; {} matches every cluster), else the
    hub. Every topology policy counts (a workflow's deploy steps may use fewer: a superset, fail safe); none placing
    anything is read as the hub."""
    hub, others, any_topology = False, [], False
    for policy in policies:
        if _text(policy.get("type")) != "topology":
            continue
        any_topology = True
        props = mapping(policy.get("properties"))
        clusters, selector = props.get("clusters"), props.get("clusterLabelSelector")
        if isinstance(clusters, list):
            names = [c for c in clusters if isinstance(c, str)]
            hub = hub or any(c in KUBEVELA_LOCAL for c in names)
            others += [c for c in names if c not in KUBEVELA_LOCAL]
        elif isinstance(selector, dict):
            if all(KUBEVELA_HUB_LABELS.get(str(k)) == str(v) for k, v in selector.items()):
                hub = True  # {} or the hub's own label selects it
            if selector.get("cluster.core.oam.dev/control-plane") != "true":
                said = ", ".join(f"{k}={v}" for k, v in selector.items())
                others.append(f"the clusters labelled {said}" if said else "every cluster registered with KubeVela")
        else:
            hub = True  # neither (a deprecated clusterSelector needs a feature gate off by default): the hub
    if not any_topology or not (hub or others):
        hub = True
    return hub, list(dict.fromkeys(others))


def kubevela_installs(spec: dict[str, Any], status: dict[str, Any]) -> dict[str, list[str]]:
    """What of Istio's control plane a KubeVela Application dispatches, by cluster ("" the one it runs in, the hub):
    the resources it applied (status.appliedResources[] of common.ClusterObjectReference {cluster, apiVersion, kind,
    namespace, name}: kubevela@v1.10.9 apis/core.oam.dev/common/types.go), and its components (a `helm` component's
    properties {url, chart}, the fluxcd addon's; a `k8s-objects` component's properties.objects) into each cluster its
    topology policies place it in (kubevela_placements): the hub's part under "", the others' under their names."""
    out: dict[str, list[str]] = {}
    for ref in items(status.get("appliedResources")):
        kind, name = _text(ref.get("kind")), _text(ref.get("name"))
        if istio_object(_group_of(_text(ref.get("apiVersion"))), kind, name):
            cluster = _text(ref.get("cluster"))
            out.setdefault("" if cluster in KUBEVELA_LOCAL else cluster, []).append(
                _subject(kind, _text(ref.get("namespace")), name))
    hub, others = kubevela_placements(items(spec.get("policies")))
    targets = ([""] if hub else []) + others
    for component in items(spec.get("components")):
        props = mapping(component.get("properties"))
        kind = _text(component.get("type"))
        found: list[str] = []
        if kind == "helm":
            chart = istio_chart(_text(props.get("url")), _text(props.get("chart")))
            if chart and control_plane(chart):
                found.append(f"chart {chart} (component {_text(component.get('name'))})")
        elif kind == "k8s-objects":
            for obj in items(props.get("objects")):
                found += _istio_manifest(obj)
        for target in targets if found else ():
            out.setdefault(target, []).extend(found)
    return {cluster: list(dict.fromkeys(found)) for cluster, found in out.items()}
