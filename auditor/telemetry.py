"""Which of Istio's standard metrics a gateway's proxy reports to Prometheus, as istiod computes it.

istio-gateway-traffic proves "no traffic" from istio_requests_total and istio_tcp_* with reporter="source" and
source_workload(_namespace)=<gateway>. The Telemetry API and the mesh config can switch those metrics off or
reshape them for one gateway while its other series flow (series present, zero increase: a false "no traffic").
This module replays istiod's own rules (istio/istio pilot/pkg/model/telemetry.go, the same from 1.18 to 1.30.3):

- Which Telemetry objects apply to a workload (`applicableTelemetries`): the oldest selector-less one of the root
  namespace (meshConfig.rootNamespace, default istio-system), then the oldest selector-less one of the workload's
  namespace (when not the root), then, in creation order, those of the workload's namespace whose selector matches
  its labels; targetRefs attach only to Gateway API gateways, by `Gateway <gateway-name label>` in the same namespace
  (pilot/pkg/model/policyattachment.go ShouldAttachPolicy). "Oldest": sortConfigByCreationTime (creation time, then
  name).
- How their `metrics` merge (`mergeMetrics`): providers of the last entry that names any replace the mesh's
  `defaultProviders.metrics`; an entry without providers applies to its parent's; overrides apply in order;
  an override matching all metrics with `disabled: true` drops the provider's filter for its modes, and any later
  override of that mode brings it back; `disabled` and `tagOverrides` (UPSERT/REMOVE) are per metric and mode.
  `reportingInterval` is the provider's TCP reporting period (default 5s; telemetry/v1alpha1/telemetry.proto).
- A gateway's listeners are of class Gateway, which reports CLIENT metrics (`MetricsForClass`, `workloadMode`):
  an override of mode SERVER does not touch it; CLIENT or CLIENT_AND_SERVER (the default) does.
- Only providers of type `prometheus` in meshConfig.extensionProviders (Istio's built-in `prometheus` included,
  names compared case-insensitively: fetchProvider) make the stats filter (buildHTTP/TCPTelemetryFilter).
- The mesh config's defaults: pkg/config/mesh/mesh.go has no default metrics provider; the istio-discovery chart
  writes `defaultProviders.metrics: [prometheus]` unless telemetry.enabled / telemetry.v2.enabled /
  telemetry.v2.prometheus.enabled is false or meshConfig.defaultProviders is set (templates/_helpers.tpl
  default-prometheus, 1.18 to 1.30.3). Before 1.18 the chart made the stats filters as EnvoyFilters
  (`stats-filter-1.x`, `tcp-stats-filter-1.x`) instead, with no defaultProviders.

What the auditor cannot know (the mesh config not read, a revision's ConfigMap not found, a provider of unknown
type) is taken at its worst: every namespace holding a selector-less Telemetry may be the root, and a provider of
unknown type may be Prometheus (so its overrides count). A Telemetry that only adds tags, touches other metrics,
other providers, mode SERVER, or other workloads changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor import istio, mesh
from auditor import kinds as K
from auditor.envoyfilters import installer_telemetry_release
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory

# What the traffic proof reads (auditor/sources/prometheus.py FAMILIES) -> Istio's metric enum.
FAMILY_METRICS: dict[str, str] = {
    "requests": "REQUEST_COUNT",
    "connections": "TCP_OPENED_CONNECTIONS",
    "bytes_sent": "TCP_SENT_BYTES",
    "bytes_received": "TCP_RECEIVED_BYTES",
}
TCP_FAMILIES = ("connections", "bytes_sent", "bytes_received")
# metricToPrometheusMetric (telemetry.go): a customMetric of one of these names is the standard metric itself.
PROMETHEUS_NAMES: dict[str, str] = {
    "REQUEST_COUNT": "requests_total", "REQUEST_DURATION": "request_duration_milliseconds",
    "REQUEST_SIZE": "request_bytes", "RESPONSE_SIZE": "response_bytes",
    "TCP_OPENED_CONNECTIONS": "tcp_connections_opened_total", "TCP_CLOSED_CONNECTIONS": "tcp_connections_closed_total",
    "TCP_SENT_BYTES": "tcp_sent_bytes_total", "TCP_RECEIVED_BYTES": "tcp_received_bytes_total",
    "GRPC_REQUEST_MESSAGES": "request_messages_total", "GRPC_RESPONSE_MESSAGES": "response_messages_total",
}
_BY_PROMETHEUS_NAME = {v: k for k, v in PROMETHEUS_NAMES.items()}
ALL_METRICS = tuple(PROMETHEUS_NAMES)
# The labels the proof selects the gateway's series by (auditor/sources/prometheus.gateway_selector).
RELIED_TAGS = ("reporter", "source_workload", "source_workload_namespace")
ROOT_DEFAULT = "istio-system"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
KUBERNETES_GATEWAY = ("gateway.networking.k8s.io", "Gateway")
MAYBE = "(the mesh's default metrics provider, not known)"  # a provider of unknown name and type
PROMETHEUS = "prometheus"
STATS_FILTER = "istio.stats"   # xds.StatsFilterName (pkg/config/xds/filters.go @1.30.3), also the wasm filter's name
STATS_TYPE = "stats.PluginConfig"  # the native stats filter's config type (istio.io/api envoy/extensions/stats)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class Gap:
    """One reason the gateway's series may not count its traffic: which families, and what made it so."""

    families: tuple[str, ...]
    kind: str          # Telemetry | ConfigMap
    namespace: str
    name: str
    # What it does: "disables", "removes the reporter label of", or a whole clause; an i18n.Phrase, which a report
    # says in its language (names, values and metrics as written).
    action: str
    metrics: tuple[str, ...] = ()  # Istio's metric names the action names (none when the action says it all)

    @property
    def source(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def reason(self) -> str:
        if not self.metrics:
            return self.action
        return Phrase(N_("{action} {metrics}"), action=self.action, metrics=", ".join(self.metrics))


@dataclass
class MeshView:
    """What one mesh config tells about metrics; None fields are not known (taken at their worst)."""

    where: tuple[str, str] | None          # (namespace, name) of the ConfigMap read, None when none was
    root: str | None = None
    default_metrics: list[str] | None = None   # defaultProviders.metrics ([] = none)
    providers: dict[str, str] | None = None    # lower-cased provider name -> type (prometheus, stackdriver, ...)


@dataclass
class _Override:
    disabled: tuple[bool, str] | None = None         # (disabled, the Telemetry that set it last)
    tags: dict[str, tuple[str, str]] = field(default_factory=dict)  # tag -> (UPSERT|REMOVE, Telemetry)


@dataclass
class _ProviderState:
    all_disabled: str | None = None                  # the Telemetry whose override dropped every CLIENT metric
    metrics: dict[str, _Override] = field(default_factory=dict)
    interval: tuple[float | None, str, str] | None = None  # (seconds or None when unreadable, as written, Telemetry)


# ---------------------------------------------------------------- reading the objects
def _ref(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _target_refs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    refs = _dicts(spec.get("targetRefs"))
    if not refs and isinstance(spec.get("targetRef"), dict):
        refs = [spec["targetRef"]]
    return refs


def _match_labels(spec: dict[str, Any]) -> dict[str, Any]:
    selector = spec.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    return labels if isinstance(labels, dict) else {}


def namespace_wide(spec: dict[str, Any]) -> bool:
    return not _match_labels(spec) and not _target_refs(spec)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _seconds(text: Any) -> float | None:
    """A protobuf/Go duration ("300s", "1m", "1h30m") in seconds; None when it is not one."""
    raw = str(text).strip()
    parts = _DURATION.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


def _created(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")


def _by_creation(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """sortConfigByCreationTime: creation time, then name, then namespace (RFC 3339 UTC strings sort as times)."""
    return sorted(objs, key=lambda o: (_created(o), _ref(o)[1], _ref(o)[0]))


def _attaches(spec: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    """ShouldAttachPolicy for a gateway (not a waypoint) of `labels` in `namespace`, the policy in its namespace."""
    refs = _target_refs(spec)
    gateway_name = labels.get(GATEWAY_NAME_LABEL)
    if gateway_name is None:
        # Not a Gateway API gateway: targetRefs make the policy ignored; otherwise its selector decides.
        return not refs and all(labels.get(str(k)) == str(v) for k, v in _match_labels(spec).items())
    if not refs:
        # ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY (default true, pilot/pkg/features/pilot.go): the selector decides.
        return all(labels.get(str(k)) == str(v) for k, v in _match_labels(spec).items())
    for ref in refs:
        group = str(ref.get("group") or "")
        if (group, str(ref.get("kind") or "")) == KUBERNETES_GATEWAY and str(ref.get("name") or "") == gateway_name \
                and str(ref.get("namespace") or namespace) == namespace:
            return True
    return False


def applicable(telemetries: list[dict[str, Any]], namespace: str, labels: dict[str, str],
               root: str) -> list[dict[str, Any]]:
    """The Telemetry objects istiod applies to the gateway, in its order (later ones override earlier ones)."""
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for obj in _by_creation(telemetries):
        by_ns.setdefault(_ref(obj)[0], []).append(obj)
    out: list[dict[str, Any]] = []
    for ns in (root, namespace) if namespace != root else (root,):
        wide = [o for o in by_ns.get(ns, ()) if namespace_wide(_spec(o))]
        if wide:
            out.append(wide[0])
    out += [o for o in by_ns.get(namespace, ()) if not namespace_wide(_spec(o))
            and _attaches(_spec(o), namespace, labels)]
    return out


# ---------------------------------------------------------------- the mesh config
def _provider_type(provider: dict[str, Any]) -> str:
    kinds = [k for k in provider if k != "name"]
    return str(kinds[0]) if len(kinds) == 1 else "unknown"


def _unreadable_by_istiod(config: dict[str, Any]) -> bool:
    """Whether a field read here has a type the MeshConfig proto refuses (rootNamespace a string, defaultProviders a
    mapping whose metrics are a list of strings, extensionProviders a list of mappings named by a string): istiod then
    discards the whole mesh config ("invalid mesh config, using last known state": pkg/config/mesh/meshwatcher/
    collection.go, mesh.ApplyMeshConfig -> protomarshal.ApplyYAML @1.30.3). null is absent, as in protobuf JSON."""
    root = config.get("rootNamespace")
    defaults = config.get("defaultProviders")
    metrics = defaults.get("metrics") if isinstance(defaults, dict) else None
    providers = config.get("extensionProviders")
    return ((root is not None and not isinstance(root, str))
            or (defaults is not None and not isinstance(defaults, dict))
            or (metrics is not None and not (isinstance(metrics, list) and all(isinstance(m, str) for m in metrics)))
            or (providers is not None and not (isinstance(providers, list) and all(
                isinstance(p, dict) and isinstance(p.get("name"), str | None) for p in providers))))


def mesh_view(cluster: ClusterInventory, revision: str) -> MeshView:
    """The mesh config istiod of `revision` reads (its config-volume ConfigMap, else istio[-<rev>] in istio-system);
    what cannot be read stays None."""
    if not cluster.available(K.CONFIGMAP):
        return MeshView(None)
    wanted: list[tuple[str, str]] = []
    if cluster.available(K.DEPLOYMENT):
        wanted += [istio.mesh_configmap_of(d) for d in istio.istiods(cluster) if mesh.istiod_revision(d) == revision]
    wanted.append((ROOT_DEFAULT, "istio" if revision == "default" else f"istio-{revision}"))
    for namespace, name in wanted:
        cm = cluster.get(K.CONFIGMAP, name, namespace)
        if cm is None or "mesh" not in (cm.get("data") or {}):
            continue
        try:
            config = mesh.parse_mesh(cm)
        except ValueError:
            return MeshView((namespace, name))
        if _unreadable_by_istiod(config):
            # istiod refuses the whole mesh config (ApplyMeshConfig: a field of the wrong type fails the proto
            # conversion) and runs on its last known one, or the default: what it reads is not known here.
            return MeshView((namespace, name))
        view = MeshView((namespace, name), root=str(config.get("rootNamespace") or ROOT_DEFAULT))
        defaults = config.get("defaultProviders")
        metrics = defaults.get("metrics") if isinstance(defaults, dict) else None
        view.default_metrics = [str(m) for m in metrics] if isinstance(metrics, list) else []
        # DefaultMeshConfig's providers; the mesh config's replace those of the same name (ApplyMeshConfig).
        providers = {PROMETHEUS: PROMETHEUS, "stackdriver": "stackdriver", "envoy": "envoyFileAccessLog"}
        for provider in _dicts(config.get("extensionProviders")):
            providers[str(provider.get("name") or "").lower()] = _provider_type(provider)
        view.providers = providers
        return view
    return MeshView(None)


# ---------------------------------------------------------------- mergeMetrics, for CLIENT mode
def _modes_client(match: dict[str, Any]) -> bool:
    return str(match.get("mode") or "CLIENT_AND_SERVER") in ("CLIENT", "CLIENT_AND_SERVER")


def _is_all(match: dict[str, Any]) -> bool:
    if "customMetric" in match and match.get("customMetric"):
        return False
    return str(match.get("metric") or "ALL_METRICS") == "ALL_METRICS"


def _matches(match: dict[str, Any]) -> tuple[str, ...]:
    custom = match.get("customMetric")
    if custom:
        name = str(custom)
        return (_BY_PROMETHEUS_NAME.get(name, name),)
    metric = str(match.get("metric") or "ALL_METRICS")
    return ALL_METRICS if metric == "ALL_METRICS" else (metric,)


def _merge(entries: list[tuple[str, dict[str, Any]]], defaults: list[str]
           ) -> tuple[list[str], str | None, dict[str, _ProviderState]]:
    """(providers in scope, the Telemetry that chose them or None for the mesh's defaults, each one's CLIENT state)."""
    in_scope, chosen_by = list(defaults), None
    for ref, entry in entries:
        names = [str(p.get("name") or "") for p in _dicts(entry.get("providers"))]
        if names:
            in_scope, chosen_by = names, ref
    states: dict[str, _ProviderState] = {}
    parent = list(defaults)
    for ref, entry in entries:
        names = [str(p.get("name") or "") for p in _dicts(entry.get("providers"))] or parent
        parent = names
        for provider in names:
            if provider not in in_scope:
                continue
            state = states.setdefault(provider, _ProviderState())
            if entry.get("reportingInterval") not in (None, ""):
                written = str(entry["reportingInterval"])
                state.interval = (_seconds(written), written, ref)
            for override in _dicts(entry.get("overrides")):
                match = override.get("match") if isinstance(override.get("match"), dict) else {}
                disabled = override.get("disabled")
                if _is_all(match) and _truthy(disabled):
                    if _modes_client(match):
                        state.all_disabled = ref
                    continue
                if not _modes_client(match):
                    continue
                state.all_disabled = None  # "root namespace disables all, but then enables them by namespace scoped"
                tags = override.get("tagOverrides") if isinstance(override.get("tagOverrides"), dict) else {}
                for metric in _matches(match):
                    current = state.metrics.setdefault(metric, _Override())
                    if disabled is not None:
                        current.disabled = (_truthy(disabled), ref)
                    for tag, change in tags.items():
                        operation = str((change or {}).get("operation") or "UPSERT") if isinstance(change, dict) \
                            else "UPSERT"
                        current.tags[str(tag)] = (operation, ref)
    return in_scope, chosen_by, states


def _split(ref: str) -> tuple[str, str]:
    namespace, _, name = ref.partition("/")
    return namespace, name


def _provider_gaps(state: _ProviderState, relied: tuple[str, ...], interval_limit_s: float) -> list[Gap]:
    """What one Prometheus provider's CLIENT configuration hides of the families the proof reads."""
    gaps: list[Gap] = []
    if state.all_disabled:
        return [Gap(tuple(FAMILY_METRICS), "Telemetry", *_split(state.all_disabled),
                    Phrase(N_("disables all metrics for clients (gateways report as clients)")))]
    for family, metric in FAMILY_METRICS.items():
        override = state.metrics.get(metric)
        if override is None:
            continue
        if override.disabled and override.disabled[0]:
            gaps.append(Gap((family,), "Telemetry", *_split(override.disabled[1]), Phrase(N_("disables")),
                                (metric,)))
        for tag in relied:
            if tag in override.tags:
                operation, ref = override.tags[tag]
                action = (Phrase(N_("removes the {tag} label of"), tag=tag) if operation == "REMOVE"
                          else Phrase(N_("rewrites the {tag} label of"), tag=tag))
                gaps.append(Gap((family,), "Telemetry", *_split(ref), action, (metric,)))
    if state.interval is not None:
        seconds, written, ref = state.interval
        if seconds is None or seconds > interval_limit_s:
            setting = f"reportingInterval {written!r}"
            limit = f"{interval_limit_s:.0f}"
            action = (Phrase(N_("sets {setting} (not a duration): TCP traffic is reported only that often, longer "
                                "than the {limit}s the proof allows at the window's end"), setting=setting, limit=limit)
                      if seconds is None else
                      Phrase(N_("sets {setting}: TCP traffic is reported only that often, longer than the {limit}s "
                                "the proof allows at the window's end"), setting=setting, limit=limit))
            gaps.append(Gap(TCP_FAMILIES, "Telemetry", *_split(ref), action))
    return gaps


def _join(gaps: list[Gap]) -> list[Gap]:
    """One Gap per (object, action), families and metrics merged in the proof's order."""
    merged: dict[tuple[str, str, str, str], tuple[list[str], list[str]]] = {}
    for gap in gaps:
        families, metrics = merged.setdefault((gap.kind, gap.namespace, gap.name, gap.action), ([], []))
        families += [f for f in gap.families if f not in families]
        metrics += [m for m in gap.metrics if m not in metrics]
    order = list(FAMILY_METRICS)
    metric_order = [*FAMILY_METRICS.values(), *ALL_METRICS]
    return [Gap(tuple(sorted(fams, key=order.index)), *key,
                tuple(sorted(mets, key=lambda m: metric_order.index(m) if m in metric_order else len(metric_order))))
            for key, (fams, mets) in merged.items()]


def metrics_gaps(telemetries: list[dict[str, Any]], view: MeshView, namespace: str, labels: dict[str, str],
                 relied: tuple[str, ...], interval_limit_s: float, root: str,
                 stats_filters: bool | None = False) -> list[Gap]:
    """Why the gateway's series may miss traffic under this mesh config and root namespace ([] = nothing hides it)."""
    entries = [(f"{ns}/{name}", entry) for obj in applicable(telemetries, namespace, labels, root)
               for ns, name in (_ref(obj),) for entry in _dicts(_spec(obj).get("metrics"))]
    defaults = view.default_metrics if view.default_metrics is not None else [MAYBE]
    in_scope, chosen_by, states = _merge(entries, defaults)

    def kind_of(name: str) -> str:
        if name == MAYBE or view.providers is None:
            return "maybe"
        return view.providers.get(name.lower(), "missing")

    prometheus = [p for p in dict.fromkeys(in_scope) if kind_of(p) in (PROMETHEUS, "maybe")]
    if not prometheus:
        shown = ", ".join(in_scope)
        if chosen_by is not None:
            return [Gap(tuple(FAMILY_METRICS), "Telemetry", *_split(chosen_by),
                        Phrase(N_("sends the gateway's metrics to provider(s) {providers}, none of them Prometheus"),
                               providers=shown))]
        # The mesh's defaults: before 1.18 the installer's EnvoyFilters made the stats filter without them.
        if view.where is not None and (view.default_metrics or stats_filters is False):
            return [Gap(tuple(FAMILY_METRICS), "ConfigMap", *view.where,
                        Phrase(N_("names no Prometheus metrics provider (defaultProviders.metrics: [{providers}])"),
                               providers=shown))]
        return []
    # A family is counted when one Prometheus provider reports it untouched; else every provider's reason counts.
    per_provider = [_provider_gaps(states.get(p, _ProviderState()), relied, interval_limit_s) for p in prometheus]
    gaps: list[Gap] = []
    for family in FAMILY_METRICS:
        hidden = [[g for g in found if family in g.families] for found in per_provider]
        if all(hidden):
            gaps += [Gap((family,), g.kind, g.namespace, g.name, g.action, g.metrics)
                     for found in hidden for g in found]
    return _join(gaps)


# ---------------------------------------------------------------- EnvoyFilters on the stats filter
def _envoyfilter_attaches(obj: dict[str, Any], namespace: str, labels: dict[str, str], root: str) -> bool:
    """getMatchedEnvoyFilters (push_context.go @1.30.3): the root namespace's and the workload namespace's filters,
    by ShouldAttachPolicy with `workloadSelector.labels` as the selector (targetRefs: same namespace only)."""
    ns = _ref(obj)[0]
    spec = _spec(obj)
    if ns not in (root, namespace) or (_target_refs(spec) and ns != namespace):
        return False
    selector = spec.get("workloadSelector")
    match_labels = selector.get("labels") if isinstance(selector, dict) else None
    as_policy = {"selector": {"matchLabels": match_labels if isinstance(match_labels, dict) else {}},
                 "targetRefs": spec.get("targetRefs")}
    return _attaches(as_policy, namespace, labels)


def _mentions_stats(value: Any) -> bool:
    if isinstance(value, str):
        return STATS_FILTER in value or STATS_TYPE in value
    if isinstance(value, dict):
        return any(_mentions_stats(k) or _mentions_stats(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions_stats(v) for v in value)
    return False


# wellknown.HTTPConnectionManager (pkg/wellknown/wellknown.go @1.30.3), and the deprecated name older EnvoyFilters use
_HCM_NAMES = ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager")


def _replaces_hcm(config_patch: dict[str, Any]) -> bool:
    """A NETWORK_FILTER REPLACE of the HTTP connection manager: istiod puts the patch's value in its place whole
    (pilot/pkg/networking/core/envoyfilter/listener_patch.go, REPLACE of a network filter matched by name @1.30.3), so
    the stats filter among its http_filters is gone unless the value names it (then _mentions_stats saw it)."""
    match = config_patch.get("match") if isinstance(config_patch.get("match"), dict) else {}
    patch = config_patch.get("patch") if isinstance(config_patch.get("patch"), dict) else {}
    listener = match.get("listener") if isinstance(match.get("listener"), dict) else {}
    chain = listener.get("filterChain") if isinstance(listener.get("filterChain"), dict) else {}
    network = chain.get("filter") if isinstance(chain.get("filter"), dict) else {}
    return (config_patch.get("applyTo") == "NETWORK_FILTER" and patch.get("operation") == "REPLACE"
            and network.get("name") in _HCM_NAMES)


def _stats_configs(value: Any) -> list[dict[str, Any]]:
    """The stats plugin configurations (JSON text holding `metrics`) inside a patch: the installer's filters before 1.18
    carried telemetry.v2.prometheus.configOverride.gateway there."""
    found: list[dict[str, Any]] = []
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return found
        if isinstance(parsed, dict) and isinstance(parsed.get("metrics"), list):
            found.append(parsed)
    elif isinstance(value, dict):
        for v in value.values():
            found += _stats_configs(v)
    elif isinstance(value, list):
        for v in value:
            found += _stats_configs(v)
    return found


def _installer_config_gaps(config: dict[str, Any], ref: str, relied: tuple[str, ...]) -> list[Gap]:
    """The stats plugin's `metrics` overrides (name "" = every metric; drop, tags_to_remove, dimensions)."""
    gaps: list[Gap] = []
    for item in _dicts(config.get("metrics")):
        name = str(item.get("name") or "")
        metrics = ALL_METRICS if not name else (_BY_PROMETHEUS_NAME.get(name, name),)
        families = tuple(f for f, m in FAMILY_METRICS.items() if m in metrics)
        if not families:
            continue
        shown = tuple(FAMILY_METRICS[f] for f in families)
        if _truthy(item.get("drop")):
            gaps.append(Gap(families, "EnvoyFilter", *_split(ref), Phrase(N_("drops")), shown))
        removed = item.get("tags_to_remove") if isinstance(item.get("tags_to_remove"), list) else []
        dimensions = item.get("dimensions") if isinstance(item.get("dimensions"), dict) else {}
        for tag in relied:
            if tag in removed:
                gaps.append(Gap(families, "EnvoyFilter", *_split(ref),
                                Phrase(N_("removes the {tag} label of"), tag=tag), shown))
            if tag in dimensions:
                gaps.append(Gap(families, "EnvoyFilter", *_split(ref),
                                Phrase(N_("rewrites the {tag} label of"), tag=tag), shown))
    return gaps


def envoyfilter_gaps(envoyfilters: list[dict[str, Any]], namespace: str, labels: dict[str, str], root: str,
                     relied: tuple[str, ...]) -> list[Gap]:
    """EnvoyFilters that patch the gateway's stats filter (istio.stats, where the istio_* metrics come from).

    The installer's own telemetry filters (before 1.18) are read for their configOverride; any other patch of the
    stats filter applying to a gateway (context GATEWAY or ANY) may remove or reshape what it reports: not judged
    further, it is a gap of every family.
    """
    gaps: list[Gap] = []
    for obj in _by_creation(envoyfilters):
        if not _envoyfilter_attaches(obj, namespace, labels, root):
            continue
        ref = "/".join(_ref(obj))
        installer = installer_telemetry_release(obj) is not None
        for config_patch in _dicts(_spec(obj).get("configPatches")):
            match = config_patch.get("match") if isinstance(config_patch.get("match"), dict) else {}
            if str(match.get("context") or "ANY") not in ("ANY", "GATEWAY"):
                continue
            patch = config_patch.get("patch") if isinstance(config_patch.get("patch"), dict) else {}
            if not _mentions_stats(config_patch):
                if _replaces_hcm(config_patch):
                    gaps.append(Gap(tuple(FAMILY_METRICS), "EnvoyFilter", *_split(ref),
                                    Phrase(N_("replaces the gateway's HTTP connection manager, and with it the stats "
                                              "filter {filter} it holds, by one that does not name it (REPLACE "
                                              "NETWORK_FILTER): what the gateway reports is not known"),
                                           filter=STATS_FILTER)))
                continue
            if installer:
                for config in _stats_configs(patch.get("value")):
                    gaps += _installer_config_gaps(config, ref, relied)
                continue
            what = " ".join(str(v) for v in (patch.get("operation"), config_patch.get("applyTo")) if v)
            gaps.append(Gap(tuple(FAMILY_METRICS), "EnvoyFilter", *_split(ref),
                            Phrase(N_("patches the gateway's stats filter {filter} ({operation}): what the gateway "
                                      "reports is not known"), filter=STATS_FILTER, operation=what)
                            if what else
                            Phrase(N_("patches the gateway's stats filter {filter} (no operation): what the gateway "
                                      "reports is not known"), filter=STATS_FILTER)))
    return gaps


def gateway_metrics_gaps(cluster: ClusterInventory, namespace: str, pod_labels: dict[str, str],
                         relied: tuple[str, ...], interval_limit_s: float) -> list[Gap]:
    """Why the gateway's series may not count all its traffic ([] = nothing the auditor can see hides it).

    Raises EvidenceUnavailable when the Telemetry objects or the EnvoyFilters were not read: any of them may hide it.
    """
    for kind in (K.TELEMETRY, K.ENVOYFILTER):
        if not cluster.available(kind):
            raise EvidenceUnavailable(f"the {kind.kind} objects could not be read ({cluster.unread_reason(kind)})",
                                      kind=kind.kind, cluster=cluster.name)
    telemetries = [o for o in cluster.objects(K.TELEMETRY) if isinstance(o, dict)]
    envoyfilters = [o for o in cluster.objects(K.ENVOYFILTER) if isinstance(o, dict) and (
        _mentions_stats(_spec(o)) or any(_replaces_hcm(p) for p in _dicts(_spec(o).get("configPatches"))))]
    revision = str(pod_labels.get("istio.io/rev") or "default")
    view = mesh_view(cluster, revision)
    if view.root is not None:
        roots = [view.root]
    else:
        # The root namespace is not known: any namespace holding a selector-less Telemetry (or an EnvoyFilter on the
        # stats filter) may be it.
        roots = list(dict.fromkeys([ROOT_DEFAULT, *sorted(
            [_ref(o)[0] for o in telemetries if namespace_wide(_spec(o))] + [_ref(o)[0] for o in envoyfilters])]))
    gaps: list[Gap] = []
    for root in roots:
        gaps += envoyfilter_gaps(envoyfilters, namespace, pod_labels, root, relied)
    if not telemetries and view.root is None:
        return _join(gaps)
    # Before 1.18 the installer's EnvoyFilters made the stats filter with no defaultProviders: any filter on it may.
    stats_filters = any(_mentions_stats(_spec(o)) for o in envoyfilters)
    for root in roots:
        gaps += metrics_gaps(telemetries, view, namespace, pod_labels, relied, interval_limit_s, root, stats_filters)
    return _join(gaps)


def telemetry_command(cluster: str, gap: Gap) -> str:
    """The read-only command that shows what the gap names."""
    if gap.kind == "ConfigMap":
        return (f"{mesh.kubectl(cluster)} {mesh.ns_flag(gap.namespace)} get "
                f"{mesh.object_ref('configmap', gap.name)} -o jsonpath='{{.data.mesh}}'")
    return f"{mesh.kubectl(cluster)} {mesh.ns_flag(gap.namespace)} get {mesh.object_ref('telemetry', gap.name)} -o yaml"
