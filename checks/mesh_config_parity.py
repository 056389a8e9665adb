"""Istio's mesh config (every revision) against ASM's where behaviour depends on it (domain.md, "Beyond the seed":
mesh config parity).

Istio's side: ConfigMap `istio` / `istio-<rev>` (key `mesh`, YAML MeshConfig) of each istiod, plus any such
ConfigMap in istio-system; a field it leaves out has Istio's default (pkg/config/mesh/mesh.go DefaultMeshConfig).
What each revision's sidecars intercept (its injector's values global.proxy.includeIPRanges and the like, ConfigMap
istio-sidecar-injector[-<rev>]) is compared with ASM's global sidecar setting (config `asm.sidecar_interception`, then
the answer's IncludeIPRanges, ExcludeIPRanges, ExcludeInboundPorts, ExcludeOutboundPorts).
ASM's side, field by field: config `asm.mesh_config` (Istio MeshConfig YAML) first, then the DescribeServiceMeshDetail
answer (`ServiceMesh.Spec.MeshConfig`, servicemesh 2020-01-11 API), mapped as ASM_API_FIELDS says. A field neither
gives is not assumed to be a default: trust domain and extension providers are not in that API at all, so without
`asm.mesh_config` they are UNKNOWN (trust domain always; providers when something names one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context
from auditor.config import is_duration, mesh_config_problem
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase, joined, problem_of
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import among, applied_shared_mesh, istiods, mesh_configmap_of, shared_mesh_config
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.remote import Istiod, Links, Remote, remote_outcomes

ISTIO_NS = "istio-system"
DETAIL = "DescribeServiceMeshDetail"
CONFIG_KEY = "config asm.mesh_config"
TRUST_DOMAIN = "trustDomain"
PROVIDERS = "extensionProviders"
OUTBOUND = "outboundTrafficPolicy.mode"
HOLD = "defaultConfig.holdApplicationUntilProxyStarts"
DNS_CAPTURE = "defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE"
DRAIN = "defaultConfig.drainDuration"
TERMINATION_DRAIN = "defaultConfig.terminationDrainDuration"
LOCALITY = "localityLbSetting.enabled"
LOCALITY_RULES = "localityLbSetting"
# Where mesh-wide configuration lives: istiod applies PeerAuthentication, RequestAuthentication, AuthorizationPolicy,
# Sidecar, EnvoyFilter, Telemetry, WasmPlugin, ProxyConfig and DestinationRule of this namespace to every namespace
# (pilot/pkg/model/authentication.go, authorization.go, telemetry.go, proxy_config.go, push_context.go
# @1.22.0..1.30.3); Helm's istio-discovery chart writes it as global.istioNamespace unless meshConfig sets it
# (templates/configmap.yaml @1.24.6). A config object is imported into its own namespace: where the roots differ, what
# was mesh-wide on Istio applies to one namespace on ASM, and what was one namespace's in ASM's root becomes mesh-wide.
ROOT = "rootNamespace"
# Where a Service, VirtualService or DestinationRule that sets no exportTo (annotation networking.istio.io/exportTo,
# field exportTo) is visible: istiod's default is every namespace ("*") unless the mesh config lists others
# (pilot/pkg/model/push_context.go initDefaultExportMaps @1.22.0..1.30.3). Most objects set none: a difference changes
# which namespaces reach each Service and which routes and policies their proxies take.
EXPORT_TO = ("defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo")
# The namespaces istiod discovers Services and endpoints in, and (since 1.22's enhanced resource scoping) reads Istio
# configuration of: every namespace when unset (pkg/kube/namespace/filter.go; pilot/pkg/config/kube/crdclient/client.go
# namespaceFilter @1.24.0, 1.30.3). Where the selectors differ, moved workloads stop finding Services of the namespaces
# ASM leaves out, and configuration Istio never read takes effect in the ones it adds.
DISCOVERY = "discoverySelectors"
# How the proxies normalize a request path before routes and AuthorizationPolicy paths match it (Envoy's
# normalize_path, merge_slashes, path_with_escaped_slashes_action: pilot/pkg/networking/core/listener_builder.go
# @1.22.0, @1.30.3; DEFAULT is BASE). Istio's security best practices set MERGE_SLASHES or DECODE_AND_MERGE_SLASHES so
# that `//admin` or `%2Fadmin` cannot pass a rule on `/admin`: a weaker normalization on ASM reopens that.
PATH_NORMALIZATION = "pathNormalization.normalization"
# What a sidecar intercepts: the injector's Helm values global.proxy.<name> (ConfigMap istio-sidecar-injector[-<rev>],
# key `values`: istio-discovery templates/istiod-injector-configmap.yaml), which the injection template writes into
# every pod's istio-init / istio-validation args and traffic.sidecar.istio.io/* annotations unless the pod's own
# annotation says otherwise (files/injection-template.yaml `annotation .ObjectMeta ... .Values.global.proxy.<name>`,
# istio/istio@1.22.3 and @1.30.3). A pod template's own annotations move with the pod (ASM's injector reads the same
# ones); the mesh-wide values are what changes when a pod is re-injected by ASM. Defaults (values.yaml @1.22.3,
# @1.30.3): every outbound address and inbound port, no exclusion. ASM's global values are its console's Sidecar
# Proxy Setting (a namespace's setting there overrides them).
INTERCEPTION_DEFAULTS: dict[str, list[str]] = {
    "includeIPRanges": ["*"], "excludeIPRanges": [], "includeInboundPorts": ["*"], "excludeInboundPorts": [],
    "includeOutboundPorts": [], "excludeOutboundPorts": []}
INTERCEPTION_VALUE = "global.proxy.{name}"
# The ECS metadata server (its address on every Alibaba Cloud instance), as an excludeIPRanges entry.
METADATA_SERVER = frozenset({"100.100.100.200/32", "100.100.100.200"})
INTERCEPTION = {INTERCEPTION_VALUE.format(name=name): name for name in INTERCEPTION_DEFAULTS}
CONFIG_INTERCEPTION = "config asm.sidecar_interception"
# Fields whose difference changes behaviour but not who may talk to whom: a WARN each.
PROXY_DEFAULTS = (HOLD, DNS_CAPTURE, DRAIN, TERMINATION_DRAIN, LOCALITY, LOCALITY_RULES)
# Istio's defaults for what a mesh ConfigMap leaves out (pkg/config/mesh/mesh.go, 1.18 to 1.29).
ISTIO_DEFAULTS: dict[str, Any] = {TRUST_DOMAIN: "cluster.local", OUTBOUND: "ALLOW_ANY", HOLD: False,
                                  DNS_CAPTURE: False, DRAIN: "45s", TERMINATION_DRAIN: "5s", LOCALITY: True,
                                  LOCALITY_RULES: {}, ROOT: "istio-system",
                                  **{name: ["*"] for name in EXPORT_TO}, DISCOVERY: [],
                                  PATH_NORMALIZATION: "BASE"}
# Extension providers every istiod defines itself (DefaultMeshConfig.ExtensionProviders): ASM's istiod too.
BUILTIN_PROVIDERS = frozenset({"prometheus", "stackdriver", "envoy"})
# A CUSTOM AuthorizationPolicy names its provider only: istiod builds the ext_authz filter from the mesh config's
# provider of that name (service, port, timeout, failOpen, headers: pilot/pkg/security/authz/builder/extauthz.go
# @1.24.6), so a provider of the same name on ASM that calls another service or port decides the requests differently
# (or, failing to reach it, denies them all, or with failOpen lets them all through). Its body is compared, the port as
# a number (a string in YAML parses as one: meshconfig ...ExtAuthz*Provider.port is uint32).
_PROVIDER_PORTS = ("port",)
# ASM's DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig -> MeshConfig field. Not in that API: trustDomain,
# trustDomainAliases, extensionProviders, holdApplicationUntilProxyStarts (UpdateMeshFeature sets it but Describe
# does not return it), drainDuration, localityLbSetting failover/distribute (their answer shape is undocumented).
# ExtraConfiguration.DiscoverySelectors is ASM's "service discovery selectors" (an ASM scoped to labelled namespaces,
# beside an Istio that discovers every one, passed when asm.mesh_config did not repeat them).
# Of the interception values, the answer gives IncludeIPRanges, ExcludeIPRanges, ExcludeInboundPorts and
# ExcludeOutboundPorts, each a comma-separated string (aliyun/alibabacloud-java-sdk@8b7a7d8d servicemesh-20200111 ...
# models/DescribeServiceMeshDetailResponseBody.java ...ServiceMeshSpecMeshConfig); not includeInboundPorts nor
# includeOutboundPorts (config asm.sidecar_interception gives them).
_ASM_INTERCEPTION_FIELDS = {name: name[0].upper() + name[1:] for name in (
    "includeIPRanges", "excludeIPRanges", "excludeInboundPorts", "excludeOutboundPorts")}
ASM_API_FIELDS = {OUTBOUND: "OutboundTrafficPolicy", DNS_CAPTURE: "Proxy.EnableDNSProxying",
                  TERMINATION_DRAIN: "ExtraConfiguration.TerminationDrainDuration",
                  LOCALITY: "LocalityLB.Enabled (else EnableLocalityLB)",
                  DISCOVERY: "ExtraConfiguration.DiscoverySelectors",
                  **{INTERCEPTION_VALUE.format(name=name): api for name, api in _ASM_INTERCEPTION_FIELDS.items()}}
# The aliyun CLI (UpdateMeshFeature) parameter that sets each field on ASM, where there is one.
ASM_UPDATE_PARAMS = {OUTBOUND: "OutboundTrafficPolicy", DNS_CAPTURE: "DNSProxyingEnabled",
                     HOLD: "HoldApplicationUntilProxyStarts", TERMINATION_DRAIN: "TerminationDrainDuration",
                     LOCALITY: "LocalityLoadBalancing",
                     # UpdateMeshFeatureRequest.java @64b04e9d: each a comma-separated string
                     **{INTERCEPTION_VALUE.format(name=name): name[0].upper() + name[1:]
                        for name in INTERCEPTION_DEFAULTS}}
# ISTIO_META_DNS_CAPTURE as pilot-agent (env.Register: strconv.ParseBool, its default false when the value does not
# parse: pilot/cmd/pilot-agent/options/options.go, pkg/env/var.go), istio-cni (cni/pkg/plugin/sidecar_redirect.go) and
# istiod (pkg/model/proxy.go StringBool) read it, @1.22.0 to 1.30.3: Go's true spellings (mesh.GO_TRUE), "1" and "T"
# included.
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
LISTED = 5
# Fix fields built as shell words or prose already (quoted where needed when made).
# A shell comment after ASM's update command (said in the reader's language: render/localize.comments_said).
KEEPS_ISTIO_VALUE = N_("gives ASM Istio's value")
PREFORMATTED = frozenset({"command", "asm_command", "mesh_id", "configmap", "field", "injector", "setting"})


def seconds(duration: str) -> float:
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(duration))


def same(field_name: str, a: Any, b: Any) -> bool:
    if field_name in (DRAIN, TERMINATION_DRAIN) and is_duration(a) and is_duration(b):
        return seconds(a) == seconds(b)
    return bool(a == b)


def listed(items: Iterable[str]) -> str:
    names = sorted(set(items))
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return ", ".join(names[:LISTED]) + more


def _in_order(values: list[Any]) -> list[Any]:
    return sorted(values, key=lambda v: orjson.dumps(v, option=orjson.OPT_SORT_KEYS))


# The SDK types ASM's selectors as bare dicts; whether its answer spells their keys as Kubernetes does (matchLabels) or
# in the answer's own PascalCase (MatchLabels) is undocumented: both read alike.
_SELECTOR_KEYS = {"MatchLabels": "matchLabels", "MatchExpressions": "matchExpressions"}
_EXPRESSION_KEYS = {"Key": "key", "Operator": "operator", "Values": "values"}


def _expression(expression: Any) -> Any:
    """A matchExpressions entry as Kubernetes reads it: an empty or null `values` (Exists, DoesNotExist) is none, and
    the values of In/NotIn are a set."""
    if not isinstance(expression, dict):
        return expression
    out = {_EXPRESSION_KEYS.get(k, k): v for k, v in expression.items()}
    values = out.get("values")
    if not values:
        out.pop("values", None)
    elif isinstance(values, list):
        out["values"] = _in_order(values)
    return out


def canonical_selector(selector: dict[str, Any]) -> dict[str, Any]:
    """A label selector as LabelSelectorAsSelector reads it: null or empty matchLabels / matchExpressions are none,
    its expressions (ANDed) and their values in one order, keys spelled as Kubernetes does."""
    out: dict[str, Any] = {}
    for key, value in selector.items():
        key = _SELECTOR_KEYS.get(key, key)
        if key in ("matchLabels", "matchExpressions") and not value:
            continue
        out[key] = _in_order([_expression(e) for e in value]) if key == "matchExpressions" and isinstance(
            value, list) else value
    return out


def ordered_selectors(selectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """discoverySelectors as one canonical list: they are ORed, so their order says nothing, and each is read as
    Kubernetes reads a label selector (equal selectors written two ways are no difference)."""
    return _in_order([canonical_selector(s) for s in selectors])


def mesh_fields(config: dict[str, Any], *, defaults: bool) -> dict[str, Any]:
    """The compared fields of a MeshConfig mapping (already shape-checked); Istio's defaults fill the gaps
    only when `defaults` (Istio's own ConfigMap; never ASM's, whose gaps stay unknown)."""
    out: dict[str, Any] = dict(ISTIO_DEFAULTS) if defaults else {}
    default_config = config.get("defaultConfig") or {}
    metadata = default_config.get("proxyMetadata") or {}
    locality = config.get("localityLbSetting")
    normalization = ((config["pathNormalization"] or {}).get("normalization", "DEFAULT")
                     if "pathNormalization" in config else None)
    found = {TRUST_DOMAIN: config.get("trustDomain"),
             OUTBOUND: (config.get("outboundTrafficPolicy") or {}).get("mode", "ALLOW_ANY")
             if "outboundTrafficPolicy" in config else None,
             HOLD: default_config.get("holdApplicationUntilProxyStarts"),
             DNS_CAPTURE: metadata["ISTIO_META_DNS_CAPTURE"] in mesh.GO_TRUE
             if "ISTIO_META_DNS_CAPTURE" in metadata else None,
             DRAIN: default_config.get("drainDuration"),
             TERMINATION_DRAIN: default_config.get("terminationDrainDuration"),
             LOCALITY: locality.get("enabled", True) if isinstance(locality, dict) else None,
             LOCALITY_RULES: {k: v for k, v in locality.items() if k != "enabled"}
             if isinstance(locality, dict) else None,
             ROOT: config.get("rootNamespace"),
             **{name: sorted(set(config[name] or ["*"])) for name in EXPORT_TO if name in config},
             DISCOVERY: ordered_selectors(config[DISCOVERY] or []) if DISCOVERY in config else None,
             PATH_NORMALIZATION: "BASE" if normalization == "DEFAULT" else normalization}
    out.update({k: v for k, v in found.items() if v is not None})
    if "trustDomainAliases" in config or defaults:
        out["trustDomainAliases"] = list(config.get("trustDomainAliases") or [])
    if "extensionProviders" in config or defaults:
        out[PROVIDERS] = sorted({p["name"] for p in config.get("extensionProviders") or ()} | BUILTIN_PROVIDERS)
    return out


@dataclass
class AsmSide:
    """ASM's mesh config, field by field, with where each value came from; `missing` says why there is none."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # field -> where its value came from
    origins: list[str] = field(default_factory=list)       # what was read: the config key, the OpenAPI answer
    missing: str = ""
    mesh_id: str = "<mesh-id>"
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)  # asm.mesh_config's extensionProviders by name

    def source(self) -> str:
        """What was read, as a Phrase (an OpenAPI answer's origin is one: a message says it in the reader's
        language)."""
        if len(self.origins) < 2:
            return self.origins[0] if self.origins else ""
        return Phrase(N_("{first} and {last}"), first=joined(", ", self.origins[:-1]), last=self.origins[-1])

    def not_in(self) -> str:
        return Phrase(N_("not in {source}"), source=self.source())


# What an ext_authz provider leaves out means these (pilot/pkg/security/authz/builder/extauthz.go @1.24.6: timeout
# 600s, failOpen false, statusOnError Envoy's 403); its header lists are matched as "any of", so their order says
# nothing. Written out on one side and implicit on the other, the provider is the same.
_EXT_AUTHZ_KINDS = ("envoyExtAuthzHttp", "envoyExtAuthzGrpc")
_EXT_AUTHZ_DEFAULTS: dict[str, tuple[Any, ...]] = {"failOpen": (False,), "statusOnError": ("", "403"),
                                                   "timeout": ("600s", "10m", "600.0s")}


def _camel(key: str) -> str:
    """protojson takes a field's proto name (envoy_ext_authz_grpc) as its JSON name (envoyExtAuthzGrpc)."""
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _provider_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        key = _camel(str(key))
        if key in _PROVIDER_PORTS and isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if kind in _EXT_AUTHZ_KINDS:
            if value in ([], {}, None) or value in _EXT_AUTHZ_DEFAULTS.get(key, ()):
                continue
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = sorted(value)
        out[key] = value
    return out


def provider_bodies(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A MeshConfig's extensionProviders by name, each without its name, its field names as protojson's JSON names,
    its ports as numbers (_PROVIDER_PORTS), an ext_authz provider without what it leaves out by default and with its
    header lists in order; the last of a name wins, as overlaid() keeps it."""
    out: dict[str, dict[str, Any]] = {}
    for provider in _dicts(config.get("extensionProviders")):
        body: dict[str, Any] = {}
        for kind, settings in provider.items():
            if kind == "name":
                continue
            kind = _camel(str(kind))
            body[kind] = _provider_settings(kind, settings) if isinstance(settings, dict) else settings
        out[str(provider.get("name"))] = body
    return out


def shown(value: Any) -> str:
    """A MeshConfig value as YAML writes it: true/false, names comma-separated, mappings as flow YAML."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip() if value else "{}"
    return str(value)


def flow(value: list[Any]) -> str:
    """A list of mappings (discoverySelectors) as flow YAML, "(none)" when empty."""
    return yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip() if value else "(none)"


def interception_list(value: Any, name: str) -> list[str] | None:
    """An interception value (a comma-separated string, as Helm values, ASM's answer and UpdateMeshFeature write it; a
    number where Helm's --set typed a single port) as a sorted list of its entries, whitespace and order aside; ["*"]
    where a `*` takes every address or port; None when it is neither (the injector could not render it either)."""
    if isinstance(value, bool) or not isinstance(value, str | int | list):
        return None
    parts = value if isinstance(value, list) else [value]
    if not all(isinstance(part, str | int) and not isinstance(part, bool) for part in parts):
        return None
    items = sorted({item.strip() for part in parts for item in str(part).split(",") if item.strip()})
    return ["*"] if "*" in items and name.startswith("include") else items


def _detail_fields(detail: dict[str, Any]) -> dict[str, Any]:
    """The MeshConfig fields DescribeServiceMeshDetail's answer gives (ASM_API_FIELDS), as Istio writes them."""
    spec = ((detail.get("ServiceMesh") or {}).get("Spec") or {}).get("MeshConfig") or {}
    out: dict[str, Any] = {}
    if spec.get("OutboundTrafficPolicy") in ("ALLOW_ANY", "REGISTRY_ONLY"):
        out[OUTBOUND] = spec["OutboundTrafficPolicy"]
    dns = (spec.get("Proxy") or {}).get("EnableDNSProxying")
    if isinstance(dns, bool):
        out[DNS_CAPTURE] = dns
    drain = (spec.get("ExtraConfiguration") or {}).get("TerminationDrainDuration")
    if is_duration(drain):
        out[TERMINATION_DRAIN] = drain
    # ASM's "service discovery selectors": Kubernetes label selectors, as UpdateMeshFeature's DiscoverySelectors sets
    # them (aliyun/alibabacloud-java-sdk servicemesh-20200111 UpdateMeshFeatureRequest.java example
    # [{"matchExpressions":[{"key":"asm-discovery","operator":"Exists"}]}]); an empty list selects every namespace.
    selectors = (spec.get("ExtraConfiguration") or {}).get("DiscoverySelectors")
    if isinstance(selectors, list) and all(isinstance(s, dict) for s in selectors):
        out[DISCOVERY] = ordered_selectors(selectors)
    for name, api in _ASM_INTERCEPTION_FIELDS.items():
        # An empty IncludeIPRanges would take no outbound address at all: more likely a value the answer leaves
        # unset than a mesh that intercepts no egress, so it is not taken as ASM's value (an empty exclusion is none).
        if isinstance(spec.get(api), str) and (spec[api].strip() or name != "includeIPRanges"):
            out[INTERCEPTION_VALUE.format(name=name)] = interception_list(spec[api], name)
    locality = (spec.get("LocalityLB") or {}).get("Enabled")
    locality = locality if isinstance(locality, bool) else spec.get("EnableLocalityLB")
    if isinstance(locality, bool):
        out[LOCALITY] = locality
    return out


def asm_side(ctx: Context) -> AsmSide:
    side = AsmSide()
    config = ctx.setting("config")
    asm_config = getattr(config, "asm", None)
    if asm_config is not None and asm_config.mesh_id:
        side.mesh_id = asm_config.mesh_id
    if asm_config is not None and asm_config.mesh_config is not None:
        for name, value in mesh_fields(asm_config.mesh_config, defaults=False).items():
            side.values[name], side.sources[name] = value, CONFIG_KEY
        side.providers = provider_bodies(asm_config.mesh_config)
        side.origins.append(CONFIG_KEY)
    if asm_config is not None and asm_config.sidecar_interception:
        for name, value in asm_config.sidecar_interception.items():
            key = INTERCEPTION_VALUE.format(name=name)
            side.values[key], side.sources[key] = interception_list(value, name), CONFIG_INTERCEPTION
        side.origins.append(CONFIG_INTERCEPTION)
    why: str = Phrase(N_("neither {config} nor a {action} answer gives ASM's mesh config"), config=CONFIG_KEY,
                      action=DETAIL)
    try:
        detail = ctx.inv.openapi_answer(DETAIL)
    except EvidenceUnavailable as exc:
        detail, why = None, Phrase(N_("no {config}, and {action} could not be read: {reason}"), config=CONFIG_KEY,
                                   action=DETAIL, reason=exc.reason)
    if detail:
        side.mesh_id = str(((detail.get("ServiceMesh") or {}).get("ServiceMeshInfo") or {}).get("ServiceMeshId")
                           or side.mesh_id)
        origin = ctx.inv.openapi_origin(DETAIL)
        side.origins.append(origin)
        for name, value in _detail_fields(detail).items():
            if name not in side.values:
                side.values[name], side.sources[name] = value, Phrase(N_("{origin} ({field})"), origin=origin,
                                                                       field=ASM_API_FIELDS[name])
        if not side.sources:
            why = Phrase(N_("no {config}, and the {action} answer has no MeshConfig field this check maps"),
                         config=CONFIG_KEY, action=DETAIL)
    if not side.sources:
        side.missing = why
    return side


@dataclass
class Revision:
    revision: str
    namespace: str
    configmap: str
    fields: dict[str, Any]
    default_providers: dict[str, Any]  # defaultProviders: metrics/tracing/accessLogging -> provider names
    # field -> the ConfigMap (namespace, name) that sets Istio's value, where it is not the mesh config
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The trust domains of meshConfig.caCertificates: Istio's proxies accept peers of these too.
    ca_trust_domains: list[str] = field(default_factory=list)
    # The ConfigMap istiod reads under this mesh config (SHARED_MESH_CONFIG), when there is one.
    shared: str = ""
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)  # extensionProviders by name
    # The injector ConfigMap whose values say what this revision's sidecars intercept (INTERCEPTION, in `fields`), and
    # why they are not known where they are not.
    injector: str = ""
    injector_problem: str = ""

    def trust_domains(self) -> list[str]:
        """The trust domains Istio's proxies of this revision accept a peer of, exactly (no wildcard): trustDomain,
        trustDomainAliases and caCertificates' trustDomains (pilot/pkg/networking/plugin/authn/util.go
        TrustDomainsForValidation, a `spiffe://<td>/` prefix match of the peer's SAN in the inbound TLS context:
        pilot/pkg/security/model/authentication.go; the same aliases expand the SANs a client expects of a server:
        pilot/pkg/model/push_context.go addServiceAccounts, @1.22.0-1.30.3)."""
        return list(dict.fromkeys([self.fields[TRUST_DOMAIN], *self.fields.get("trustDomainAliases", []),
                                   *self.ca_trust_domains]))


def ca_trust_domains(config: dict[str, Any]) -> list[str]:
    return [td for cert in _dicts(config.get("caCertificates"))
            for td in _strings(cert.get("trustDomains"))]


HOLD_VALUE = "global.proxy.holdApplicationUntilProxyStarts"
def overlaid(user: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """istiod's mesh config `own` applied on the shared one `user` as ApplyMeshConfig applies a source: every field of
    `own` replaces the user's, but defaultConfig (merged field by field, proxyMetadata key by key: MergeProxyConfig),
    defaultProviders (field by field), extensionProviders (by name) and trustDomainAliases (the union)."""
    out = {**user, **own}
    if isinstance(user.get("defaultConfig"), dict) and isinstance(own.get("defaultConfig"), dict):
        merged = {**user["defaultConfig"], **own["defaultConfig"]}
        metadata = {**(user["defaultConfig"].get("proxyMetadata") or {}),
                    **(own["defaultConfig"].get("proxyMetadata") or {})}
        if metadata:
            merged["proxyMetadata"] = metadata
        out["defaultConfig"] = merged
    if isinstance(user.get("defaultProviders"), dict) and isinstance(own.get("defaultProviders"), dict):
        out["defaultProviders"] = {**user["defaultProviders"], **own["defaultProviders"]}
    if isinstance(user.get("extensionProviders"), list) and isinstance(own.get("extensionProviders"), list):
        by_name = {p.get("name"): p for p in user["extensionProviders"] if isinstance(p, dict)}
        by_name.update({p.get("name"): p for p in own["extensionProviders"] if isinstance(p, dict)})
        out["extensionProviders"] = list(by_name.values())
    if "trustDomainAliases" in user or "trustDomainAliases" in own:
        out["trustDomainAliases"] = sorted(set(_strings(user.get("trustDomainAliases"), own.get("trustDomainAliases"))))
    return out


def injector_proxy_values(cluster: ClusterInventory, namespace: str, revision: str
                          ) -> tuple[str, dict[str, Any] | None, str]:
    """(the revision's injector ConfigMap, its Helm values' global.proxy or None, why None).

    istiod reads its injection template and values from ConfigMap istio-sidecar-injector[-<rev>] of its namespace, key
    `values` as JSON (templates/istiod-injector-configmap.yaml; pilot/pkg/bootstrap/sidecarinjector.go, which skips
    injection where the ConfigMap is missing, @1.22.3)."""
    name = "istio-sidecar-injector" + ("" if revision in ("", "default") else f"-{revision}")
    cm = cluster.get(K.CONFIGMAP, name, namespace)
    if cm is None:
        return name, None, Phrase(N_("not found"))
    text = (cm.get("data") or {}).get("values")
    if not isinstance(text, str) or not text:
        return name, None, Phrase(N_("it has no key values"))
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError:
        return name, None, Phrase(N_("its key values is not JSON"))  # the injector cannot render with it either
    # The chart always renders global.proxy (values.yaml); without it nothing says what the pods intercept.
    global_values = values.get("global") if isinstance(values, dict) else None
    proxy = global_values.get("proxy") if isinstance(global_values, dict) else None
    if not isinstance(proxy, dict):
        return name, None, Phrase(N_("its values' global.proxy is not a mapping"))
    return name, proxy, ""


def injector_hold(proxy: dict[str, Any] | None) -> bool:
    """Whether the injector's values hold the revision's applications until the proxy starts.

    Istio's injection template holds them when the pod's ProxyConfig (the mesh's defaultConfig) says so *or* the
    values' global.proxy.holdApplicationUntilProxyStarts does (files/injection-template.yaml `$holdProxy`
    @1.22.0-1.30.3; NOTES.txt only warns that the value is deprecated)."""
    return proxy is not None and proxy.get("holdApplicationUntilProxyStarts") is True


def injector_interception(proxy: dict[str, Any]) -> tuple[dict[str, list[str]], str]:
    """The interception values of the injector's global.proxy (a value left out is the chart's default), and the
    first that cannot be read ("" when none)."""
    out: dict[str, list[str]] = {}
    for name, default in INTERCEPTION_DEFAULTS.items():
        value = interception_list(proxy[name], name) if name in proxy else default
        if value is None:
            return out, INTERCEPTION_VALUE.format(name=name)
        out[INTERCEPTION_VALUE.format(name=name)] = value
    return out, ""


def revision_proxies(cluster: ClusterInventory, revision: str) -> int | None:
    """How many active pods of the cluster run Istio's proxy of this revision (the injector's `istio.io/rev`
    annotation, the sidecar status's revision), None when pods were not read."""
    if not cluster.available(K.POD):
        return None
    pods = cluster.pods()
    if pods.empty:
        return 0
    wanted = ("", "default") if revision in ("", "default") else (revision,)
    rows = (among(pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN)) & among(pods["phase"], ACTIVE_PHASES)
            & among(pods["revision"], wanted))
    return int(rows.sum())


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The mappings of a list field (objects are not type-checked on load: anything else is skipped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(*values: Any) -> list[str]:
    return [s for value in values if isinstance(value, list) for s in value if isinstance(s, str)]


def _ref(obj: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec")
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}", spec if isinstance(spec, dict) else {}


def authorization_references(cluster: ClusterInventory) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(policy "ns/name" -> its principals that name a trust domain, provider -> CUSTOM policies naming it)."""
    principals: dict[str, list[str]] = {}
    custom: dict[str, list[str]] = {}
    for policy in cluster.objects(K.AUTHORIZATIONPOLICY):
        ref, spec = _ref(policy)
        if spec.get("action") == "CUSTOM" and isinstance(spec.get("provider"), dict):
            custom.setdefault(str(spec["provider"].get("name") or ""), []).append(f"AuthorizationPolicy {ref}")
        found: list[str] = []
        for rule in _dicts(spec.get("rules")):
            for source in _dicts(rule.get("from")):
                src = source.get("source") if isinstance(source.get("source"), dict) else {}
                found += _strings(src.get("principals"), src.get("notPrincipals"))
            for condition in _dicts(rule.get("when")):
                if condition.get("key") == "source.principal":
                    found += _strings(condition.get("values"), condition.get("notValues"))
        # Istio checks the trust domain only of `<td>/ns/<ns>/sa/<sa>` with td other than `*` (trustdomain/bundle.go)
        enforced = [p for p in found if len(p.split("/")) == 5 and p.split("/")[0] != "*"]
        if enforced:
            principals[ref] = enforced
    return principals, custom


def telemetry_references(cluster: ClusterInventory) -> dict[str, list[str]]:
    """provider name -> the Telemetry objects (and the part) naming it."""
    refs: dict[str, list[str]] = {}
    for telemetry in cluster.objects(K.TELEMETRY):
        ref, spec = _ref(telemetry)
        for part in ("tracing", "accessLogging", "metrics"):
            for entry in _dicts(spec.get(part)):
                for provider in _dicts(entry.get("providers")):
                    refs.setdefault(str(provider.get("name") or ""), []).append(f"Telemetry {ref} ({part})")
    return refs


# Which of Istio's proxies must accept ASM's trust domain, per gate: every one while workloads move (gateways included:
# an Istio gateway originates mTLS to moved workloads, expecting their SANs in Istio's trust domain or its aliases:
# pilot/pkg/model/push_context.go addServiceAccounts, ExpandWithTrustDomains @1.22.0, @1.30.3); at the uninstall gate
# only those that are not gateways. There every workload is on ASM, and the Istio gateways still running are the ones
# `uninstall --purge` removes: istio-gateway-traffic proves each carries no traffic over the window (blocks, or UNKNOWN
# without proof, otherwise: every active Istio or unproven `proxy router` pod,
# auditor/gateways.unrecognised_gateway_pods), and a gateway that carries no traffic originates no mTLS. Their
# listeners do not check a client's trust domain at all (an ISTIO_MUTUAL Gateway server is given no trust domains:
# pilot/pkg/networking/core/listener.go ApplyToCommonTLSContext(..., []string{}, ...) @1.22.0, @1.30.3), and an
# east-west gateway passes mTLS through (AUTO_PASSTHROUGH).
COUNTS_GATEWAYS = {Gate.MIGRATING: True, Gate.UNINSTALL: False}


def istio_proxies(cluster: ClusterInventory, *, gateways: bool = True) -> int | None:
    """How many active pods of the cluster run Istio's proxy (or one whose marks contradict each other), gateways
    included or not; None when the pods were not read. A Succeeded or Failed pod runs no container, its proxy none
    (a finished Job's, an evicted pod kept for its record): it rejects nobody."""
    if not cluster.available(K.POD):
        return None
    pods = cluster.pods()
    if pods.empty:
        return 0
    rows = among(pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN)) & among(pods["phase"], ACTIVE_PHASES)
    if not gateways:
        rows &= ~among(pods["role"], (mesh.ROLE_GATEWAY,))
    return int(rows.sum())


def remote_proxies(cluster: ClusterInventory) -> dict[str, tuple[int, int]]:
    """A remote cluster's active Istio proxy pods by revision (istio_proxies): (all, not gateways). All that
    `conclude` needs of its pods (a few numbers), kept once its objects are released."""
    pods = cluster.pods()
    if pods.empty:
        return {}
    proxied = among(pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN)) & among(pods["phase"], ACTIVE_PHASES)
    sidecars = proxied & ~among(pods["role"], (mesh.ROLE_GATEWAY,))
    out: dict[str, tuple[int, int]] = {}
    for rows, at in ((proxied, 0), (sidecars, 1)):
        for revision, count in pods.loc[rows, "revision"].astype(str).value_counts().items():
            if count:
                key = str(revision) or "default"
                pair = list(out.get(key, (0, 0)))
                pair[at] += int(count)
                out[key] = (pair[0], pair[1])
    return out


@dataclass(frozen=True)
class Acceptance:
    """Whether one revision's mesh config lets Istio's proxies accept ASM's trust domain: kept per istiod for the remote
    clusters it serves (Links.keep), a few strings."""

    revision: str
    configmap: str       # "ConfigMap <ns>/<name>", shell-quoted where needed
    asm_value: str       # ASM's trustDomain
    istio_value: str     # the trust domains the revision's proxies accept
    accepted: bool
    asm_source: str


@dataclass
class Judged:
    """A cluster's findings judged once for both gates: the same in each, but for those on Istio's proxies that reject
    ASM's trust domain (AA2415), which each gate counts its own way (COUNTS_GATEWAYS), and the PASS that stands in a
    gate where nothing else is found. Without a mesh config here, what `_no_istio_here` found, which each gate's record
    of the fleet takes (_no_istio_or_remote)."""

    unreadable: list[Finding] = field(default_factory=list)  # mesh ConfigMaps that cannot be read
    findings: list[Finding] = field(default_factory=list)
    rejected: dict[Gate, list[Finding]] = field(default_factory=dict)
    clean: Finding | None = None
    acceptance: dict[tuple[str, str], Acceptance] = field(default_factory=dict)  # mesh ConfigMap -> its revision's
    no_istio: Finding | None = None  # no mesh config here: N/A or UNKNOWN (_no_istio_here)
    own_config: bool = False         # ... and Istio config objects here name principals or providers

    def of(self, gate: Gate) -> list[Finding]:
        found = [*self.findings, *self.rejected.get(gate, ())]
        return [*self.unreadable, *(found if found or self.clean is None else [self.clean])]


def accepts(trust_domain: str, asm_domains: list[str]) -> bool:
    """ASM's trust domain bundle accepts `trust_domain`: equal, or matched by a `*suffix` alias."""
    return any(trust_domain == d or (d.startswith("*") and trust_domain.endswith(d[1:])) for d in asm_domains)


class MeshConfigParity(ClusterCheck):
    id = "mesh-config-parity"
    title = "Istio's mesh config (every revision) and ASM's agree where behaviour depends on it"
    gates = (Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.BLOCKER
    rationale = ("Workloads moved to ASM run under ASM's mesh config: a different trust domain denies "
                 "AuthorizationPolicy principals and cross-mesh mTLS, a missing extension provider fails the "
                 "Telemetry or CUSTOM policy naming it, another outboundTrafficPolicy opens or breaks egress, "
                 "other sidecar interception ranges or ports change what bypasses the proxy, and proxy defaults "
                 "change start-up, DNS and draining.")
    remediation = ("Make ASM's mesh config match Istio's (ASM console, or aliyun servicemesh UpdateMeshFeature), "
                   "or change Istio's mesh ConfigMap to what ASM will do, before moving workloads; then set "
                   "asm.mesh_config so the audit can compare.")
    CLEAN = Outcome("AA2401", Status.PASS, "Istio's mesh config of every revision agrees with ASM's on every "
                    "compared field", message="{revisions}: ASM's mesh config ({asm_source}) agrees on {compared}")
    TRUST_DOMAIN_DIFFERS = Outcome(
        "AA2410", Status.FAIL, "Istio's trust domain is neither ASM's trust domain nor one of its aliases: mTLS "
        "identities and principals do not match across the two meshes",
        message="revision {revision}: Istio's trustDomain {istio_value} is not ASM's trust domain or an alias "
        "({asm_value}); Istio's workloads' identities will not be accepted by ASM's proxies ({policies} "
        "AuthorizationPolicy(ies) name principals)",
        fix="Add {istio_value} to ASM's trustDomainAliases (ASM console: mesh config) or give ASM Istio's trust "
            "domain, then set asm.mesh_config trustDomain/trustDomainAliases to what ASM has.")
    ASM_TRUST_DOMAIN_REJECTED = Outcome(
        "AA2415", Status.FAIL, "ASM's trust domain is neither Istio's trust domain nor one of its aliases while "
        "Istio's proxies still run: they reject the certificates of ASM's workloads calling them, and of ASM's "
        "servers they call (mTLS peer trust domain validation)",
        message="revision {revision}: ASM's trustDomain {asm_value} is not among the trust domains Istio's proxies "
        "accept ({istio_value}); {proxies} pod(s) still run Istio's proxy and reject mTLS with ASM's workloads, both "
        "ways",
        fix="Add {asm_value} to Istio's trustDomainAliases (meshConfig of revision {revision}, through the "
            "IstioOperator or Helm values that render {configmap}) before moving workloads, or give ASM Istio's trust "
            "domain and then set asm.mesh_config trustDomain/trustDomainAliases in the config to what ASM has.")
    REMOTE_REJECTS = Outcome(
        "AA2416", Status.FAIL, "the Istio proxies of a remote cluster run under the mesh config of an audited "
        "primary's istiod that does not accept ASM's trust domain: they reject mTLS with ASM's workloads, both ways",
        message="revision {revision}: {proxies} pod(s) here run Istio's proxy served by istiod {istiod} of cluster "
        "{primary}, whose mesh config ({configmap}) does not accept ASM's trustDomain {asm_value} (it accepts "
        "{istio_value}): they reject mTLS with ASM's workloads, both ways",
        fix="Add {asm_value} to Istio's trustDomainAliases in cluster {primary} (meshConfig of revision {revision}, "
            "through the IstioOperator or Helm values that render {configmap}) before moving workloads, or give ASM "
            "Istio's trust domain and then set asm.mesh_config trustDomain/trustDomainAliases in the config to what "
            "ASM has.")
    PRINCIPAL_REJECTED = Outcome(
        "AA2411", Status.FAIL, "an AuthorizationPolicy names principals of a trust domain ASM does not accept: "
        "requests it allows are denied (or ones it denies allowed) once workloads move",
        message="AuthorizationPolicy {namespace}/{name}: principal(s) {principals} carry a trust domain ASM does "
        "not accept ({asm_value})",
        fix="Add the trust domain(s) {trust_domains} to ASM's trustDomainAliases, or rewrite the principals of "
            "AuthorizationPolicy {namespace}/{name} to ASM's trust domain.")
    PROVIDER_MISSING = Outcome(
        "AA2412", Status.FAIL, "an extension provider named by a Telemetry or a CUSTOM AuthorizationPolicy is not "
        "defined in ASM's mesh config: telemetry stops, CUSTOM authorization fails closed",
        message="extension provider {provider} is named by {objects} but ASM's mesh config does not define it "
        "(ASM has: {asm_value})",
        fix="Define extension provider {provider} in ASM's mesh config (ASM console) before moving; for CUSTOM "
            "authorization ASM uses ASMSecurityPolicy (custom authorization service). Or change the objects "
            "naming it. Then list it in asm.mesh_config extensionProviders.",
        aspect=("provider",))
    PROVIDER_DIFFERS = Outcome(
        "AA2424", Status.FAIL, "an extension provider named by a CUSTOM AuthorizationPolicy is defined otherwise in "
        "ASM's mesh config (another service, port or setting): the policy's requests are decided by another "
        "authorization call",
        message="revision {revision}: extension provider {provider}, named by {objects}, is {istio_value} on Istio and "
        "{asm_value} on ASM ({asm_source}): those requests are authorized by another call once workloads move",
        fix="Give ASM's extension provider {provider} Istio's definition (ASM console: mesh config), or change the "
            "policies naming it; then write it into asm.mesh_config extensionProviders as ASM has it.",
        aspect=("revision", "provider"))
    ROOT_NAMESPACE_DIFFERS = Outcome(
        "AA2417", Status.FAIL, "rootNamespace differs: Istio's mesh-wide configuration (PeerAuthentication, "
        "AuthorizationPolicy, Sidecar, EnvoyFilter, Telemetry... in its root namespace) applies to that namespace "
        "alone on ASM, and ASM's root namespace makes mesh-wide what was one namespace's",
        message="revision {revision}: rootNamespace is {istio_value} on Istio and {asm_value} on ASM ({asm_source}): "
        "objects in {istio_value} stop applying mesh-wide once imported, those in {asm_value} start to",
        fix="Before importing, move the mesh-wide objects of namespace {istio_value} into namespace {asm_value} on the "
            "ASM control plane and review what namespace {asm_value} holds, or give the two meshes the same "
            "rootNamespace; then set asm.mesh_config rootNamespace to ASM's.")
    EXPORT_TO_DIFFERS = Outcome(
        "AA2418", Status.FAIL, "a default exportTo differs: Services, VirtualServices or DestinationRules that set no "
        "exportTo are visible to other namespaces on one side and not on the other",
        message="revision {revision}: {field} is {istio_value} on Istio and {asm_value} on ASM ({asm_source}): "
        "objects that set no exportTo change which namespaces see them once workloads move",
        fix="Give the two meshes the same {field} (ASM console: mesh config, or {field} in Istio's {configmap}), then "
            "set asm.mesh_config {field} to ASM's.",
        aspect=("revision", "field"))
    DISCOVERY_DIFFERS = Outcome(
        "AA2419", Status.FAIL, "discoverySelectors differ: ASM's istiod discovers Services and reads Istio "
        "configuration in other namespaces than Istio's",
        message="revision {revision}: discoverySelectors are {istio_value} on Istio and {asm_value} on ASM "
        "({asm_source}): moved workloads lose the Services of namespaces ASM leaves out, and configuration Istio never "
        "read applies in namespaces ASM adds",
        fix="Give the two meshes the same discoverySelectors (ASM console: discovery selectors, or meshConfig "
            "discoverySelectors in Istio's {configmap}), then set asm.mesh_config discoverySelectors to ASM's.")
    PATH_NORMALIZATION_DIFFERS = Outcome(
        "AA2423", Status.FAIL, "pathNormalization differs: request paths are matched against routes and "
        "AuthorizationPolicy paths after another normalization on ASM",
        message="revision {revision}: pathNormalization.normalization is {istio_value} on Istio and {asm_value} on "
        "ASM ({asm_source}): paths that one side merges or decodes reach the other's routes and AuthorizationPolicy "
        "rules as they were sent",
        fix="Give the two meshes the same pathNormalization (ASM console: mesh config, or meshConfig pathNormalization "
            "in Istio's {configmap}), then set asm.mesh_config pathNormalization to ASM's.")
    OUTBOUND_DIFFERS = Outcome(
        "AA2413", Status.FAIL, "outboundTrafficPolicy.mode differs: REGISTRY_ONLY -> ALLOW_ANY opens egress, "
        "ALLOW_ANY -> REGISTRY_ONLY breaks calls to hosts without a ServiceEntry",
        message="revision {revision}: outboundTrafficPolicy.mode is {istio_value} on Istio and {asm_value} on ASM "
        "({asm_source}): {effect}",
        # The command on a line of its own: shown as a command block to copy (render split_remediation).
        fix="Make them equal before moving: set outboundTrafficPolicy.mode: {asm_value} in Istio's {configmap} "
            "(through the IstioOperator/Helm values meshConfig that own it), or give ASM Istio's value:\n"
            "aliyun servicemesh UpdateMeshFeature --ServiceMeshId {mesh_id} --OutboundTrafficPolicy {istio_value}")
    PROXY_DEFAULT_DIFFERS = Outcome(
        "AA2420", Status.WARN, "a proxy default or locality setting differs between Istio's and ASM's mesh config: "
        "moved pods behave differently", Severity.MAJOR,
        message="revision {revision}: {field} is {istio_value} on Istio and {asm_value} on ASM ({asm_source})",
        fix="Decide which value the workloads need and set it on the other side: in ASM's console, or {field} in "
            "Istio's {configmap}.{asm_command}",
        aspect=("revision", "field"))
    PROXY_DEFAULT_UNCOMPARED = Outcome(
        "AA2421", Status.WARN, "Istio sets a proxy default ASM's side does not give: it cannot be compared",
        Severity.MINOR,
        message="revision {revision}: Istio sets {field}: {istio_value}; ASM's value is not known ({reason})",
        fix="Read the value in ASM's console and write it into asm.mesh_config ({field}).",
        aspect=("revision", "field"))
    INTERCEPTION_DIFFERS = Outcome(
        "AA2425", Status.FAIL, "a sidecar traffic interception value (addresses or ports taken into or kept out of the "
        "proxy) differs between Istio's injector and ASM's global sidecar setting: pods moved to ASM intercept other "
        "traffic (a pod template's own traffic.sidecar.istio.io annotations move with it; the mesh-wide values do not)",
        message="revision {revision}: {field} is {istio_value} on Istio ({injector}) and {asm_value} on ASM "
        "({asm_source}): pods moved to ASM intercept other traffic than Istio's did",
        # The command on a line of its own: shown as a command block to copy (render split_remediation).
        fix="Make them equal before moving: set {field} in the Helm values that render Istio's {injector} "
            "(IstioOperator values or the istiod chart), or give ASM Istio's value (ASM console: Sidecar Proxy "
            "Setting, global; a namespace's setting there overrides it for that namespace; where Istio's value is "
            "empty, clear ASM's there: an empty parameter is no value to the aliyun CLI){asm_command}",
        aspect=("revision", "field"))
    INTERCEPTION_UNKNOWN = Outcome(
        "AA2426", Status.UNKNOWN, "Istio's injector intercepts other traffic than its default and ASM's global sidecar "
        "interception value is not known",
        message="revision {revision}: Istio sets {field} to {istio_value} ({injector}); ASM's value is not known "
        "({reason})",
        fix="Read ASM's global Sidecar Proxy Setting (ASM console) and write it into the config's "
            "asm.sidecar_interception ({name}), or give the DescribeServiceMeshDetail answer (it has IncludeIPRanges, "
            "ExcludeIPRanges, ExcludeInboundPorts and ExcludeOutboundPorts).",
        aspect=("revision", "field"))
    INJECTOR_UNREADABLE = Outcome(
        "AA2427", Status.UNKNOWN, "the injector ConfigMap of a revision whose pods run here cannot be read: what its "
        "sidecars intercept is not known, so it cannot be compared with ASM's",
        message="revision {revision}: Istio's injector values {namespace}/{name} cannot be read ({problem}); {proxies} "
        "pod(s) run that revision's proxy",
        fix="Inspect it: {command}")
    NO_ASM_SIDE = Outcome(
        "AA2430", Status.UNKNOWN, "ASM's mesh config is not known: neither asm.mesh_config nor a "
        "DescribeServiceMeshDetail answer",
        message="{revisions}: ASM's mesh config cannot be compared: {reason}",
        fix="Set asm.mesh_config in the config (ASM's MeshConfig as YAML: trustDomain, trustDomainAliases, "
            "extensionProviders, outboundTrafficPolicy, defaultConfig...) or give the DescribeServiceMeshDetail "
            "answer (asm.describe_service_mesh_detail, or --asm-mesh-id/--asm-region).")
    ASM_FIELD_UNKNOWN = Outcome(
        "AA2431", Status.UNKNOWN, "a field that decides who may talk to whom (trust domain, a referenced "
        "extension provider, outboundTrafficPolicy, or one Istio changed from its default: rootNamespace, a default "
        "exportTo, discoverySelectors, pathNormalization) is not given by ASM's side",
        message="{field}: ASM's value is not known ({reason}); Istio's is {istio_value}; affected: {affected}",
        fix="Write ASM's {field} into asm.mesh_config (read it in ASM's console); DescribeServiceMeshDetail does "
            "not return it.",
        aspect=("field",))
    ISTIO_UNREADABLE = Outcome(
        "AA2433", Status.UNKNOWN, "an Istio mesh ConfigMap is missing or cannot be parsed",
        message="revision {revision}: Istio's mesh config {namespace}/{name} cannot be read: {problem}",
        fix="Inspect it: {command}")
    ELSEWHERE = Outcome(
        "AA2434", Status.UNKNOWN, "Istio proxies run here without a local istiod or mesh ConfigMap: their mesh "
        "config lives in another cluster",
        message="no Istio mesh ConfigMap here, but {proxies} pod(s) run Istio's proxy: audit the cluster whose "
                "istiod serves them", fix="Audit the primary cluster that runs their istiod.")
    NO_ISTIO = Outcome(
        "AA2440", Status.NOT_APPLICABLE, "no Istio mesh config and no pod running Istio's proxy",
        message="looked for istiod Deployments (label app=istiod), ConfigMaps istio / istio-<rev> with key mesh "
                "in istio-system, and pods running Istio's proxy: none found")
    # A remote cluster (no istiod, no mesh ConfigMap) judged against the audited primary whose istiod serves it
    # (auditor/remote.py): its pods run under that istiod's mesh config and the primary's Istio config objects.
    REMOTE = remote_outcomes(passed="AA2402", failed="AA2414", warned="AA2422", unjudged="AA2435",
                             unlinked="AA2436")
    outcomes = (CLEAN, TRUST_DOMAIN_DIFFERS, ASM_TRUST_DOMAIN_REJECTED, REMOTE_REJECTS, PRINCIPAL_REJECTED,
                PROVIDER_MISSING, PROVIDER_DIFFERS, ROOT_NAMESPACE_DIFFERS, EXPORT_TO_DIFFERS, DISCOVERY_DIFFERS,
                PATH_NORMALIZATION_DIFFERS, OUTBOUND_DIFFERS, INTERCEPTION_DIFFERS, INTERCEPTION_UNKNOWN,
                INJECTOR_UNREADABLE, PROXY_DEFAULT_DIFFERS,
                PROXY_DEFAULT_UNCOMPARED, NO_ASM_SIDE,
                ASM_FIELD_UNKNOWN, ISTIO_UNREADABLE, ELSEWHERE, NO_ISTIO, *REMOTE)
    needs = (K.DEPLOYMENT, K.CONFIGMAP, K.AUTHORIZATIONPOLICY, K.TELEMETRY)
    # Istio proxies without a local mesh config: UNKNOWN, not N/A; their istiod's cluster named by istio-system's
    # annotation (Namespace).
    uses = (K.POD, K.REPLICASET, K.NAMESPACE)

    def prepare(self, ctx: Context) -> None:
        # A record of the fleet per gate: what a primary shows differs by gate (AA2415 counts gateways while workloads
        # move, not at the uninstall gate), and so what the remotes it serves are judged by.
        self.links = Links()

    def deferred(self) -> frozenset[str]:
        return super().deferred() | self.links.deferred()

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        return self.links.conclude(self, ctx, self.REMOTE,
                                   then=lambda remote, serving: self._remote_rejects(remote, serving, ctx.gate))

    def say(self, outcome: Outcome, cluster: str, params: dict[str, Any], evidence: dict[str, Any] | None = None,
            **subject: Any) -> Finding:
        """A finding from the outcome's template; its params stay in the evidence (field, both values, sources),
        and a fix without fields is the remediation as it stands."""
        if outcome.fix and "remediation" not in subject:
            # Names from cluster objects (providers, principals, ConfigMaps) are quoted where a fix shows them.
            subject["remediation"] = outcome.fix.format(**{
                k: v if k in PREFORMATTED or not isinstance(v, str) else mesh.sh_text(v) for k, v in params.items()})
        return self.report(outcome, cluster, params=params, evidence={**params, **(evidence or {})}, **subject)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        # Recorded also when there is none: its Deployments were read, no istiod here for a remote to be served by.
        self.links.primary(cluster, deployments)
        # Judged once for both gates (kept as check.same_in_every_gate keeps it, dropped with the cluster's objects);
        # each gate takes its part.
        key = (type(self), cluster.name, id(cluster))
        judged = ctx.judged_once.get(key)
        if not isinstance(judged, Judged):
            judged = ctx.judged_once[key] = self._judge(cluster, ctx)
        if judged.no_istio is not None:  # the remote's record is this gate's (self.links)
            return list(self._no_istio_or_remote(cluster, ctx, judged))
        found = judged.of(ctx.gate)
        # A remote cluster served by one of these istiods runs under this cluster's mesh config and Istio config
        # objects: it is judged by the worst of what was found here, and by whether its own Istio proxies must accept
        # ASM's trust domain under that mesh config (_remote_rejects).
        for dep in deployments:
            for finding in found:
                self.links.judged(cluster, dep, finding)
            acceptance = judged.acceptance.get(mesh_configmap_of(dep))
            if acceptance is not None:
                self.links.keep(cluster, dep, acceptance)
        return found

    def _judge(self, cluster: ClusterInventory, ctx: Context) -> Judged:
        revisions, unreadable = self._istio_side(cluster)
        if not revisions:
            return Judged(unreadable=unreadable) if unreadable else self._no_istio_here(cluster)
        names = listed(f"{r.revision} ({r.namespace}/{r.configmap})" for r in revisions)
        side = asm_side(ctx)
        if side.missing:
            return Judged(unreadable, [self.say(
                self.NO_ASM_SIDE, cluster.name, params={"revisions": names, "reason": side.missing},
                evidence={"revisions": [r.__dict__ for r in revisions]})])
        principals, custom = authorization_references(cluster)
        found = [*self._trust_domain(cluster, revisions, side, principals),
                 *self._providers(cluster, revisions, side, custom)]
        for rev in revisions:
            found += self._compare_revision(cluster, rev, side)
        judged = Judged(unreadable, found)
        if TRUST_DOMAIN in side.values:
            self._acceptance(cluster, revisions, side, judged)
        if found:
            return judged
        # An interception value is compared only where every revision's injector was read.
        compared = sorted(n for n in side.values if side.values[n] is not None and (
            n not in INTERCEPTION or all(n in r.fields for r in revisions)))
        judged.clean = self.say(
            self.CLEAN, cluster.name,
            params={"revisions": names, "asm_source": side.source(), "compared": ", ".join(compared)},
            evidence={"compared": {n: {"asm": side.values[n], "asm_source": side.sources[n],
                                       "istio": {r.revision: r.fields.get(n) for r in revisions}}
                                   for n in compared},
                      "not_compared": sorted((set(ISTIO_DEFAULTS) | set(INTERCEPTION)) - set(compared))})
        return judged

    # -- Istio's side
    def _istio_side(self, cluster: ClusterInventory) -> tuple[list[Revision], list[Finding]]:
        wanted: dict[tuple[str, str], str] = {}
        shared: dict[tuple[str, str], str] = {}  # istiod's mesh ConfigMap -> the one it reads under it
        for dep in istiods(cluster):
            key = mesh_configmap_of(dep)
            wanted.setdefault(key, mesh.istiod_revision(dep))
            if (name := shared_mesh_config(dep)) and name != key[1]:
                shared.setdefault(key, name)
        # A shared ConfigMap named like a revision's (istio-user) is part of a mesh config, not one of its own.
        underneath = {(namespace, name) for (namespace, _), name in shared.items()}
        for cm in mesh.mesh_configmaps(cluster.objects(K.CONFIGMAP), ISTIO_NS):
            name = cm["metadata"]["name"]
            if (ISTIO_NS, name) not in underneath:
                wanted.setdefault((ISTIO_NS, name), mesh.revision_of_configmap(name))
        revisions: list[Revision] = []
        problems: list[Finding] = []
        for (namespace, name), revision in sorted(wanted.items()):
            cm = cluster.get(K.CONFIGMAP, name, namespace)
            try:
                if cm is None or "mesh" not in (cm.get("data") or {}):
                    raise ValueError(Phrase(N_("not found (or it has no key mesh), so istiod's mesh config is not "
                                               "known")))
                config = mesh.parse_mesh(cm)
                problem = mesh_config_problem(config)
                if problem:
                    raise ValueError(problem)
                user = self._shared_config(cluster, namespace, shared.get((namespace, name)))
                if user is not None:
                    config = overlaid(user, config)
                    problem = mesh_config_problem(config)
                    if problem:
                        raise ValueError(problem)
            except ValueError as exc:
                command = (f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(namespace)} get "
                           f"{mesh.object_ref('configmap', name)} -o jsonpath='{{.data.mesh}}'")
                problems.append(self.say(self.ISTIO_UNREADABLE, cluster.name, kind="ConfigMap",
                                            namespace=namespace, name=name,
                                            params={"revision": revision, "namespace": namespace, "name": name,
                                                    "problem": problem_of(exc), "command": command}))
                continue
            rev = Revision(revision, namespace, name, mesh_fields(config, defaults=True),
                           config.get("defaultProviders") or {}, ca_trust_domains=ca_trust_domains(config),
                           shared=shared.get((namespace, name), "") if user is not None else "",
                           providers=provider_bodies(config))
            rev.injector, proxy, rev.injector_problem = injector_proxy_values(cluster, namespace, revision)
            if rev.fields[HOLD] is not True and injector_hold(proxy):
                rev.fields[HOLD], rev.origins[HOLD] = True, (namespace, rev.injector)
            if proxy is not None:
                interception, unreadable_value = injector_interception(proxy)
                if unreadable_value:
                    rev.injector_problem = Phrase(N_("its value {value} is not a comma-separated string"),
                                                  value=unreadable_value)
                else:
                    rev.fields.update(interception)
            revisions.append(rev)
        return revisions, problems

    @staticmethod
    def _shared_config(cluster: ClusterInventory, namespace: str, name: str | None) -> dict[str, Any] | None:
        """The mesh config of the shared ConfigMap istiod reads under its own, None when there is none it applies
        (not named, absent, or invalid: istiod ignores it)."""
        applied = applied_shared_mesh(cluster, namespace, name)
        return applied[1] if applied is not None else None

    def _no_istio_here(self, cluster: ClusterInventory) -> Judged:
        """No mesh config here: N/A, or UNKNOWN (ELSEWHERE), which a remote whose istiod may be an audited cluster's
        leaves to `conclude` (_no_istio_or_remote); not when it holds Istio config objects of its own that name
        principals or providers (a primary's findings say nothing of those: UNKNOWN as before)."""
        finding = self._no_istio(cluster)
        if finding.status is not Status.UNKNOWN:
            return Judged(no_istio=finding)
        principals, custom = authorization_references(cluster)
        return Judged(no_istio=finding, own_config=bool(principals or custom or telemetry_references(cluster)))

    def _no_istio_or_remote(self, cluster: ClusterInventory, ctx: Context, judged: Judged) -> Iterable[Finding]:
        finding = judged.no_istio
        if finding is None or finding.status is not Status.UNKNOWN or judged.own_config:
            return [finding] if finding is not None else []
        return self.links.no_istiod(self, cluster, ctx, keep=remote_proxies, finding=finding)

    def _no_istio(self, cluster: ClusterInventory) -> Finding:
        if not cluster.available(K.POD):
            raise EvidenceUnavailable("no Istio mesh ConfigMap here and pods were not read: cannot tell whether "
                                      "Istio proxies here take their mesh config from another cluster",
                                      cluster=cluster.name)
        pods = cluster.pods()
        proxies = int(pods["proxy"].isin([mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN]).sum()) if not pods.empty else 0
        if proxies:
            return self.say(self.ELSEWHERE, cluster.name, params={"proxies": proxies},
                               evidence={"istio_proxy_pods": proxies})
        return self.say(self.NO_ISTIO, cluster.name, params={})

    # -- trust domain and AuthorizationPolicy principals
    def _trust_domain(self, cluster: ClusterInventory, revisions: list[Revision], side: AsmSide,
                      principals: dict[str, list[str]]) -> Iterator[Finding]:
        if TRUST_DOMAIN not in side.values:
            affected = (Phrase(N_("{count} AuthorizationPolicy(ies) with principals ({policies}) and mTLS between "
                                  "Istio's and ASM's workloads"), count=len(principals), policies=listed(principals))
                        if principals else Phrase(N_("mTLS identities between Istio's and ASM's workloads")))
            yield self.say(self.ASM_FIELD_UNKNOWN, cluster.name,
                              params={"field": TRUST_DOMAIN, "reason": side.not_in(),
                                      "istio_value": listed(r.fields[TRUST_DOMAIN] for r in revisions),
                                      "affected": affected},
                              evidence={"policies_with_principals": sorted(principals)})
            return
        asm_domains = [side.values[TRUST_DOMAIN], *side.values.get("trustDomainAliases", [])]
        asm_shown = ", ".join(asm_domains)
        for rev in revisions:
            # mTLS peer validation takes the trust domains as they are written (a `spiffe://<td>/` prefix, see
            # Revision.trust_domains): a `*` in an alias is a wildcard for AuthorizationPolicy principals only.
            if rev.fields[TRUST_DOMAIN] not in asm_domains:
                yield self.say(self.TRUST_DOMAIN_DIFFERS, cluster.name, kind="ConfigMap", namespace=rev.namespace,
                                  name=rev.configmap,
                                  params={"revision": rev.revision, "istio_value": rev.fields[TRUST_DOMAIN],
                                          "asm_value": asm_shown, "policies": len(principals)},
                                  evidence={"asm_source": side.sources[TRUST_DOMAIN]})
        # `cluster.local` in a principal stands for the local trust domain (Istio's, while the workload is there).
        istio_domains = {r.fields[TRUST_DOMAIN] for r in revisions}
        for ref, names in sorted(principals.items()):
            rejected = sorted({p for p in names for td in ([*istio_domains] if p.split("/")[0] == "cluster.local"
                                                          else [p.split("/")[0]]) if not accepts(td, asm_domains)})
            if rejected:
                namespace, name = ref.split("/", 1)
                domains = sorted({p.split("/")[0] for p in rejected})
                yield self.say(self.PRINCIPAL_REJECTED, cluster.name, kind="AuthorizationPolicy",
                                  namespace=namespace, name=name,
                                  params={"namespace": namespace, "name": name, "principals": listed(rejected),
                                          "asm_value": asm_shown, "trust_domains": ", ".join(domains)},
                                  evidence={"rejected": rejected, "asm_source": side.sources[TRUST_DOMAIN]})

    # -- the other way round, while Istio's proxies still run: they accept ASM's workloads only when ASM's trust domain
    # is one of theirs
    def _acceptance(self, cluster: ClusterInventory, revisions: list[Revision], side: AsmSide, judged: Judged) -> None:
        """Per revision whether its proxies accept ASM's trust domain (judged.acceptance, for the remotes its istiod
        serves), and per gate the FAIL of each revision that does not while pods here run Istio's proxy (the gate's
        count: COUNTS_GATEWAYS)."""
        asm_domain = side.values[TRUST_DOMAIN]
        for rev in revisions:
            configmap = f"ConfigMap {mesh.sh_text(rev.namespace)}/{mesh.sh_text(rev.configmap)}"
            judged.acceptance[(rev.namespace, rev.configmap)] = Acceptance(
                rev.revision, configmap, asm_domain, ", ".join(rev.trust_domains()),
                asm_domain in rev.trust_domains(), side.sources[TRUST_DOMAIN])
        if all(fact.accepted for fact in judged.acceptance.values()):
            return
        counted: dict[bool, int | None] = {}
        for gate in self.gates:
            gateways = COUNTS_GATEWAYS.get(gate, True)
            if gateways not in counted:
                counted[gateways] = istio_proxies(cluster, gateways=gateways)
            proxies = counted[gateways]
            judged.rejected[gate] = [] if proxies == 0 else [self.say(
                self.ASM_TRUST_DOMAIN_REJECTED, cluster.name, kind="ConfigMap", namespace=rev.namespace,
                name=rev.configmap,
                params={"revision": fact.revision, "asm_value": fact.asm_value, "istio_value": fact.istio_value,
                        "configmap": fact.configmap,
                        "proxies": "an unknown number of (pods not read)" if proxies is None else str(proxies)},
                evidence={"asm_source": fact.asm_source, "gateways_counted": gateways})
                for rev, fact in ((r, judged.acceptance[(r.namespace, r.configmap)]) for r in revisions)
                if not fact.accepted]

    def _remote_rejects(self, remote: Remote, serving: dict[str, list[Istiod]], gate: Gate) -> Iterator[Finding]:
        """A linked remote's Istio proxies, by revision, under the mesh config of the istiod serving them: a FAIL where
        that mesh config does not accept ASM's trust domain and pods of that revision run here (the gate's count)."""
        counts = remote.kept if isinstance(remote.kept, dict) else {}
        gateways = COUNTS_GATEWAYS.get(gate, True)
        for revision, serving_istiods in sorted(serving.items()):
            rejecting = [(i, fact) for i in serving_istiods if isinstance(fact := self.links.fact_of(i), Acceptance)
                         and not fact.accepted]
            if not rejecting:
                continue  # accepted, or not judged there (ASM's trust domain or the mesh config unknown: UNKNOWN)
            every, sidecars = counts.get(revision, (remote.revisions.get(revision, 0),) * 2)
            proxies = every if gateways else sidecars
            if not proxies:
                continue
            istiod, fact = rejecting[0]
            yield self.say(self.REMOTE_REJECTS, remote.cluster,
                           params={"revision": revision, "proxies": str(proxies),
                                   "istiod": f"{istiod.namespace}/{istiod.name}", "primary": istiod.cluster,
                                   "configmap": fact.configmap, "asm_value": fact.asm_value,
                                   "istio_value": fact.istio_value},
                           evidence={"asm_source": fact.asm_source, "primary_cluster": istiod.cluster,
                                     "gateways_counted": gateways})

    # -- extension providers named by Telemetry, CUSTOM policies and Istio's defaultProviders
    def _providers(self, cluster: ClusterInventory, revisions: list[Revision], side: AsmSide,
                   custom: dict[str, list[str]]) -> Iterator[Finding]:
        refs = telemetry_references(cluster)
        for name, objects in custom.items():
            refs.setdefault(name, []).extend(objects)
        for rev in revisions:
            for part, names in rev.default_providers.items():
                for name in names or ():
                    refs.setdefault(str(name), []).append(
                        f"ConfigMap {rev.namespace}/{rev.configmap} (defaultProviders.{part})")
        wanted = {n: objs for n, objs in refs.items() if n not in BUILTIN_PROVIDERS}
        if not wanted:
            return
        if PROVIDERS not in side.values:
            yield self.say(self.ASM_FIELD_UNKNOWN, cluster.name,
                              params={"field": PROVIDERS, "reason": side.not_in(),
                                      "istio_value": listed(wanted),
                                      "affected": listed(o for objs in wanted.values() for o in objs)},
                              evidence={"references": wanted})
            return
        for name, objects in sorted(wanted.items()):
            if name not in side.values[PROVIDERS]:
                yield self.say(self.PROVIDER_MISSING, cluster.name,
                                  params={"provider": name, "objects": listed(objects),
                                          "asm_value": ", ".join(side.values[PROVIDERS])},
                                  evidence={"objects": sorted(set(objects)), "asm_source": side.sources[PROVIDERS]})
            elif name in custom:
                yield from self._provider_body(cluster, revisions, side, name, custom[name])

    def _provider_body(self, cluster: ClusterInventory, revisions: list[Revision], side: AsmSide, name: str,
                       policies: list[str]) -> Iterator[Finding]:
        """A provider CUSTOM AuthorizationPolicies name, which ASM defines too: FAIL PROVIDER_DIFFERS for each
        revision defining it otherwise than ASM; UNKNOWN when ASM's side gives its name alone (its body unknown)."""
        asm_body = side.providers.get(name)
        defining = [rev for rev in revisions if name in rev.providers]
        if not defining:
            return
        if not asm_body:
            yield self.say(self.ASM_FIELD_UNKNOWN, cluster.name,
                           params={"field": f"{PROVIDERS}[{name}]", "reason": side.not_in(),
                                   "istio_value": shown(defining[0].providers[name]), "affected": listed(policies)},
                           evidence={"policies": sorted(set(policies))})
            return
        for rev in defining:
            if rev.providers[name] != asm_body:
                yield self.say(self.PROVIDER_DIFFERS, cluster.name, kind="ConfigMap", namespace=rev.namespace,
                               name=rev.configmap,
                               params={"revision": rev.revision, "provider": name, "objects": listed(policies),
                                       "istio_value": shown(rev.providers[name]), "asm_value": shown(asm_body),
                                       "asm_source": side.sources[PROVIDERS]},
                               evidence={"policies": sorted(set(policies)), "istio_provider": rev.providers[name],
                                         "asm_provider": asm_body})

    # -- what the revision's sidecars intercept (its injector's values) against ASM's global sidecar setting
    def _interception(self, cluster: ClusterInventory, rev: Revision, side: AsmSide, common: dict[str, Any]
                      ) -> list[Finding]:
        subject = {"kind": "ConfigMap", "namespace": rev.namespace, "name": rev.injector}
        injector = f"ConfigMap {mesh.sh_text(rev.namespace)}/{mesh.sh_text(rev.injector)}"
        given = [key for key in INTERCEPTION if side.values.get(key) is not None]
        if rev.injector_problem:
            # Only where ASM's side gives something to compare, and pods of the revision run (or were not read): a
            # mesh ConfigMap left behind without its injector and pods intercepts nothing.
            proxies = revision_proxies(cluster, rev.revision) if given else 0
            if proxies == 0:
                return []
            command = (f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(rev.namespace)} get "
                       f"{mesh.object_ref('configmap', rev.injector)} -o jsonpath='{{.data.values}}'")
            return [self.say(self.INJECTOR_UNREADABLE, cluster.name, **subject,
                             params={"revision": rev.revision, "namespace": rev.namespace, "name": rev.injector,
                                     "problem": rev.injector_problem, "command": command,
                                     "proxies": "an unknown number of (pods not read)" if proxies is None
                                     else str(proxies)},
                             evidence={"asm_given": given})]
        out: list[Finding] = []
        for key, name in INTERCEPTION.items():
            istio_value = rev.fields[key]
            asm_value = side.values.get(key)
            if name == "excludeIPRanges" and asm_value:
                # Alibaba Cloud's metadata server kept out of ASM's proxy is no mesh traffic: a moved pod reaches it
                # as before (REGISTRY_ONLY no longer blocks it); said as a difference it would fail ordinary meshes.
                asm_value = [entry for entry in asm_value if entry not in METADATA_SERVER or entry in istio_value]
            if asm_value is None:
                if istio_value != INTERCEPTION_DEFAULTS[name]:
                    out.append(self.say(self.INTERCEPTION_UNKNOWN, cluster.name, **subject,
                                        params={"revision": rev.revision, "field": key, "name": name,
                                                "istio_value": shown(istio_value), "injector": injector,
                                                "reason": side.not_in()}))
            elif asm_value != istio_value:
                out.append(self.say(self.INTERCEPTION_DIFFERS, cluster.name, **subject,
                                    params={**common, "field": key, "istio_value": shown(istio_value),
                                            "asm_value": shown(side.values[key]), "asm_source": side.sources[key],
                                            "injector": injector,
                                            # The command only with a value to give: `--ExcludeOutboundPorts ''` is
                                            # refused by the CLI or leaves ASM's value as it is (review22a).
                                            "asm_command": f"\naliyun servicemesh UpdateMeshFeature --ServiceMeshId "
                                                           f"{common['mesh_id']} --{ASM_UPDATE_PARAMS[key]} "
                                                           f"{mesh.sh(','.join(istio_value))}" if istio_value else ""},
                                    evidence={"istio_entries": istio_value, "asm_entries": side.values[key]}))
        return out

    # -- outboundTrafficPolicy and proxy defaults, per revision
    def _compare_revision(self, cluster: ClusterInventory, rev: Revision, side: AsmSide) -> list[Finding]:
        subject = {"kind": "ConfigMap", "namespace": rev.namespace, "name": rev.configmap}
        common = {"revision": rev.revision,
                  "configmap": f"ConfigMap {mesh.sh_text(rev.namespace)}/{mesh.sh_text(rev.configmap)}",
                  "mesh_id": mesh.sh(side.mesh_id)}
        out: list[Finding] = []
        istio_out = rev.fields[OUTBOUND]
        if OUTBOUND not in side.values:
            out.append(self.say(self.ASM_FIELD_UNKNOWN, cluster.name, **subject,
                                   params={"field": OUTBOUND, "reason": side.not_in(),
                                           "istio_value": istio_out,
                                           "affected": Phrase(N_("egress of every moved pod"))}))
        elif side.values[OUTBOUND] != istio_out:
            effect = (Phrase(N_("egress to hosts outside the registry, blocked on Istio, is open on ASM"))
                      if istio_out == "REGISTRY_ONLY" else
                      Phrase(N_("calls to hosts without a ServiceEntry, working on Istio, fail on ASM")))
            out.append(self.say(self.OUTBOUND_DIFFERS, cluster.name, **subject,
                                   params={**common, "istio_value": istio_out, "asm_value": side.values[OUTBOUND],
                                           "asm_source": side.sources[OUTBOUND], "effect": effect}))
        istio_root = rev.fields[ROOT]
        if ROOT not in side.values:
            # ASM's gaps are not assumed to be Istio's defaults; a root Istio moved elsewhere is where it matters.
            if istio_root != ISTIO_DEFAULTS[ROOT]:
                out.append(self.say(self.ASM_FIELD_UNKNOWN, cluster.name, **subject,
                                    params={"field": ROOT, "reason": side.not_in(), "istio_value": istio_root,
                                            "affected": Phrase(N_("mesh-wide configuration in namespace {namespace}"),
                                                               namespace=istio_root)}))
        elif side.values[ROOT] != istio_root:
            out.append(self.say(self.ROOT_NAMESPACE_DIFFERS, cluster.name, **subject,
                                params={**common, "istio_value": istio_root, "asm_value": side.values[ROOT],
                                        "asm_source": side.sources[ROOT]}))
        for name in EXPORT_TO:
            istio_value = rev.fields[name]
            if name not in side.values:
                if istio_value != ISTIO_DEFAULTS[name]:
                    out.append(self.say(self.ASM_FIELD_UNKNOWN, cluster.name, **subject,
                                        params={"field": name, "reason": side.not_in(),
                                                "istio_value": shown(istio_value),
                                                "affected": Phrase(N_("objects that set no exportTo"))}))
            elif side.values[name] != istio_value:
                out.append(self.say(self.EXPORT_TO_DIFFERS, cluster.name, **subject,
                                    params={**common, "field": name, "istio_value": shown(istio_value),
                                            "asm_value": shown(side.values[name]), "asm_source": side.sources[name]}))
        istio_selectors = rev.fields[DISCOVERY]
        if DISCOVERY not in side.values:
            if istio_selectors:
                out.append(self.say(self.ASM_FIELD_UNKNOWN, cluster.name, **subject,
                                    params={"field": DISCOVERY, "reason": side.not_in(),
                                            "istio_value": flow(istio_selectors),
                                            "affected": Phrase(N_("Services and configuration of every namespace"))}))
        elif side.values[DISCOVERY] != istio_selectors:
            out.append(self.say(self.DISCOVERY_DIFFERS, cluster.name, **subject,
                                params={**common, "istio_value": flow(istio_selectors),
                                        "asm_value": flow(side.values[DISCOVERY]),
                                        "asm_source": side.sources[DISCOVERY]}))
        istio_paths = rev.fields[PATH_NORMALIZATION]
        if PATH_NORMALIZATION not in side.values:
            if istio_paths != ISTIO_DEFAULTS[PATH_NORMALIZATION]:
                out.append(self.say(self.ASM_FIELD_UNKNOWN, cluster.name, **subject,
                                    params={"field": PATH_NORMALIZATION, "reason": side.not_in(),
                                            "istio_value": istio_paths,
                                            "affected": Phrase(N_("AuthorizationPolicy and route path matching"))}))
        elif side.values[PATH_NORMALIZATION] != istio_paths:
            out.append(self.say(self.PATH_NORMALIZATION_DIFFERS, cluster.name, **subject,
                                params={**common, "istio_value": istio_paths,
                                        "asm_value": side.values[PATH_NORMALIZATION],
                                        "asm_source": side.sources[PATH_NORMALIZATION]}))
        for name in PROXY_DEFAULTS:
            istio_value = rev.fields[name]
            # Istio's value set elsewhere than the mesh config (the injector's values): said where, in the evidence.
            origin = ({"istio_source": f"ConfigMap {'/'.join(rev.origins[name])} values {HOLD_VALUE}"}
                      if name in rev.origins else {})
            if name not in side.values:
                if not same(name, istio_value, ISTIO_DEFAULTS[name]):
                    out.append(self.say(self.PROXY_DEFAULT_UNCOMPARED, cluster.name, **subject,
                                           params={"revision": rev.revision, "field": name,
                                                   "istio_value": shown(istio_value),
                                                   "reason": side.not_in()}, evidence=origin))
            elif not same(name, istio_value, side.values[name]):
                parameter = ASM_UPDATE_PARAMS.get(name)
                command = (f"\naliyun servicemesh UpdateMeshFeature --ServiceMeshId {common['mesh_id']} "
                           f"--{parameter} {mesh.sh(shown(istio_value))}  # {KEEPS_ISTIO_VALUE}" if parameter else "")
                where = ({"configmap": f"{common['configmap']} (Istio sets it by {HOLD_VALUE} in the values of "
                                       f"ConfigMap {mesh.sh_text(rev.origins[name][0])}/"
                                       f"{mesh.sh_text(rev.origins[name][1])})"} if name in rev.origins else {})
                out.append(self.say(self.PROXY_DEFAULT_DIFFERS, cluster.name, **subject,
                                       params={**common, "field": name, "istio_value": shown(istio_value),
                                               "asm_value": shown(side.values[name]),
                                               "asm_source": side.sources[name],
                                               "asm_command": command, **where}, evidence=origin))
        out += self._interception(cluster, rev, side, common)
        if rev.shared:  # Istio's values are the mesh config's over the shared ConfigMap's: say where to look
            for finding in out:
                finding.evidence["istio_shared_mesh_config"] = f"ConfigMap {rev.namespace}/{rev.shared}"
        return out
