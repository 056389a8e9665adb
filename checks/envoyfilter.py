"""EnvoyFilters that will not apply to ASM's proxies (domain.md, "Beyond the seed / EnvoyFilters").

- `configPatches[].match.proxy.proxyVersion` is an RE2 regex istiod matches (unanchored) against the proxy's
  ISTIO_VERSION metadata; a proxy without a match gets no patch, silently (istio/istio
  pilot/pkg/model/envoyfilter.go proxyMatch).
- Deprecated Envoy names (`envoy.http_connection_manager`, `envoy.lua`, `envoy.listener.tls_inspector`...,
  istio/istio pkg/config/xds/deprecated.go): istiod translated them in listener matches until Istio 1.18 and no
  longer does since 1.19 (pilot/pkg/networking/core/v1alpha3/envoyfilter/listener_patch.go), so on ASM (>= 1.24) a
  match on them selects nothing; Envoy no longer looks extensions up by name.
- The v2 xDS API (`envoy.config.filter.*.v2.*`, `envoy.api.v2.*` type URLs) is gone from Envoy since 1.18: istiod
  rejects such a patch ("referenced type unknown (hint: try using the v3 XDS API)").
- Wasm plugins compiled into Istio's own proxy, loaded through the null VM (`vm_config.runtime:
  envoy.wasm.runtime.null`, `code.local.inline_string: envoy.wasm.stats|attributegen|metadata_exchange|
  null.stackdriver|access_log_policy`): istio/proxy registers them at 1.17.0 (extensions/*/plugin.cc, config.cc
  RegisterNullVmPluginFactory), drops stats and attributegen at 1.18.0 and every one of them by 1.23.0. A proxy
  without the plugin fails to create the filter and rejects the listener ("Failed to load NullVM plugin",
  "Unable to create Wasm HTTP filter": istio/istio issues 45921, 47042), or skips it when fail_open: on ASM's
  proxies (>= 1.24) such a patch never works. Users copied these from the installer's stats filters and from
  Istio's docs (classify-metrics' attributegen filter).
- Wasm modules Istio's proxy image shipped as files (`code.local.filename: /etc/istio/extensions/stats-filter.wasm`,
  `stats-filter.compiled.wasm`, `metadata-exchange-filter[.compiled].wasm`; pilot/docker/Dockerfile.proxyv2 @1.16.0,
  1.17.0), loaded through the v8 runtime by the installer's telemetry filters with telemetry.v2.prometheus.wasmEnabled
  (telemetryv2_1.16.yaml @1.16.0) and by users' copies of them: Istio removed the files from proxyv2 at 1.18
  (istio/istio PR 43595; Dockerfile.proxyv2 @1.18.0 copies none), and Envoy fails to create a Wasm filter whose code
  cannot be loaded and rejects the listener ("Unable to create Wasm HTTP filter": istio/istio issue 42614).
- `configPatches[].match.proxy.metadata`: exact matches on the proxy's node metadata (istiod proxyMatch, above;
  istio/api networking/v1alpha3/envoy_filter.proto ProxyMatch.metadata). A pod's own spec decides some keys the same
  under either mesh (its name, namespace, workload, containers, ports); the install decides the others
  (`CLUSTER_ID` from global.multiCluster.clusterName, default `Kubernetes`, where ASM's proxies carry the ACK cluster
  id; `NETWORK`, `MESH_ID`, `ISTIO_VERSION`, proxyMetadata): whether ASM's proxies match those is not known.
- Istio's installer generated per-release telemetry filters (`stats-filter-1.x`, `tcp-stats-filter-1.x`,
  `metadata-exchange-1.x`, `tcp-metadata-exchange-1.x`, `stackdriver-filter-1.x`; Istio 1.10 to 1.21,
  manifests/charts/istio-control/istio-discovery/templates/telemetryv2_1.x.yaml) matching only that release's
  proxies: they go with the release, and ASM's proxies have the telemetry built in.
- Istio's root namespace (meshConfig.rootNamespace; the istio-discovery chart writes global.istioNamespace,
  istio-system, unless set): istiod applies the EnvoyFilters there to the proxies of every namespace (selector or
  not), those of any other namespace to that namespace's proxies only (pilot/pkg/model/push_context.go EnvoyFilters
  @1.30.3). ASM's root namespace is istio-system ("binding a template to the istio-system namespace makes it globally
  effective": alibabacloud.com/help/en/alibaba-cloud-service-mesh/latest/manage-envoy-filters), or asm.mesh_config's
  rootNamespace: a filter imported under the same namespace narrows or widens when the two differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.asm import asm_proxy_versions, asm_version
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.envoyfilters import INSTALLER_LABELS, generated_release, istio_roots, proxy_version, proxy_version_regexes
from auditor.errors import EvidenceUnavailable
from auditor.gateways import asm_root_namespace
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status

KIND = K.ENVOYFILTER.kind
LISTED = 10
# Istio's own bound on a proxyVersion expression; longer ones match no proxy (pilot/pkg/model/envoyfilter.go).
MAX_PROXY_VERSION_LEN = 1024
# Python's `re` accepts what RE2 (Go's regexp, used by istiod) refuses: lookarounds and backreferences.
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=")
# Deprecated name -> its canonical name (istio/istio pkg/config/xds/deprecated.go). `envoy.ext_authz` named both
# the HTTP and the network filter; `envoy.gzip` is gone altogether (the compressor filter replaced it).
REMOVED_NAMES: dict[str, str] = {
    "envoy.buffer": "envoy.filters.http.buffer",
    "envoy.cors": "envoy.filters.http.cors",
    "envoy.csrf": "envoy.filters.http.csrf",
    "envoy.http_dynamo_filter": "envoy.filters.http.dynamo",
    "envoy.ext_authz": "envoy.filters.http.ext_authz (HTTP) or envoy.filters.network.ext_authz (network)",
    "envoy.fault": "envoy.filters.http.fault",
    "envoy.grpc_http1_bridge": "envoy.filters.http.grpc_http1_bridge",
    "envoy.grpc_json_transcoder": "envoy.filters.http.grpc_json_transcoder",
    "envoy.grpc_web": "envoy.filters.http.grpc_web",
    "envoy.gzip": "envoy.filters.http.compressor (with the gzip compressor library)",
    "envoy.health_check": "envoy.filters.http.health_check",
    "envoy.ip_tagging": "envoy.filters.http.ip_tagging",
    "envoy.lua": "envoy.filters.http.lua",
    "envoy.rate_limit": "envoy.filters.http.ratelimit",
    "envoy.router": "envoy.filters.http.router",
    "envoy.squash": "nothing (the squash filter was removed from Envoy)",
    "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
    "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
    "envoy.listener.original_src": "envoy.filters.listener.original_src",
    "envoy.listener.proxy_protocol": "envoy.filters.listener.proxy_protocol",
    "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
    "envoy.client_ssl_auth": "envoy.filters.network.client_ssl_auth",
    "envoy.http_connection_manager": "envoy.filters.network.http_connection_manager",
    "envoy.mongo_proxy": "envoy.filters.network.mongo_proxy",
    "envoy.ratelimit": "envoy.filters.network.ratelimit",
    "envoy.redis_proxy": "envoy.filters.network.redis_proxy",
    "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
}
_TYPE_KEYS = ("@type", "type_url", "typeUrl")
_V2_FILTER_TYPE = re.compile(r"envoy\.config\.filter\.(http|network|listener|udp)\.(\w+)\.v2\w*\.(\w+)")
_V2_TYPE = re.compile(r"envoy\.api\.v2\.|envoy\.config\.filter\.|envoy\.config\.[\w.]+\.v2(alpha\d*)?\.")
# Istio's own ALPN filter config keeps its v2alpha1 package name: istiod knows the type (pkg/config/xds/
# filter_types.gen.go imports istio.io/api/envoy/config/filter/http/alpn/v2alpha1) and Istio's proxy builds the filter
# (istio/proxy proto package istio.envoy.config.filter.http.alpn.v2alpha1), @1.22.0 to 1.30: not Envoy's v2 API.
_CURRENT_ISTIO_TYPES = ("istio.envoy.config.filter.http.alpn.v2alpha1.",)
_PURGE_LABEL = "operator.istio.io/component"
NULL_VM = "envoy.wasm.runtime.null"
ISTIO_EXTENSIONS_DIR = "/etc/istio/extensions/"  # where Istio's proxyv2 image kept its Wasm modules until 1.17
# The files it kept there (pilot/docker/Dockerfile.proxyv2 @1.17.0 COPYs these four, @1.18.0 none): another file of the
# directory is the user's own (mounted by sidecar.istio.io/userVolumeMount, as Admiral does), not the image's.
ISTIO_IMAGE_WASM_FILES = frozenset(f"{ISTIO_EXTENSIONS_DIR}{name}" for name in (
    "stats-filter.wasm", "stats-filter.compiled.wasm", "metadata-exchange-filter.wasm",
    "metadata-exchange-filter.compiled.wasm"))
# Where an EnvoyFilter is fixed (a fix template's end, its commands as fields: a report in another language translates
# the prose around them, where prose and commands joined in code stayed English).
# The commands on lines of their own after the advice: shown as a command block to copy (render split_remediation).
_EDIT_FIX = ("Fix it where ASM's proxies read it, then in the cluster so that a new import carries the fix:\n"
             "{asm_edit}\n{cluster_edit}")
# Node metadata a pod's own spec decides, the same under Istio's and ASM's injection (injection-template.yaml
# ISTIO_META_* from the pod, pilot-agent's POD_NAME/POD_NAMESPACE/SERVICE_ACCOUNT/INSTANCE_IP @1.22.0-1.30.3).
POD_METADATA = frozenset({"NAME", "NAMESPACE", "SERVICE_ACCOUNT", "INSTANCE_IPS", "NODE_NAME", "WORKLOAD_NAME",
                          "OWNER", "APP_CONTAINERS", "POD_PORTS"})
_VM_CONFIG_KEYS = ("vm_config", "vmConfig")
_SET_VERSION = ("Set asm.version in the config (or give the saved DescribeServiceMeshDetail answer) and audit "
                "again.")
_READ_PODS = "Let the auditor read the pods of the clusters named and audit again."


@dataclass
class AsmVersions:
    """The version strings ASM's proxies may report as ISTIO_VERSION, per source ("1.24.6" and, from a raw
    `v1.24.6.62-g5c7e1f0b-aliyun`, "1.24.6.62-g5c7e1f0b-aliyun": which of them a proxy reports is not documented,
    so a regex must match every spelling)."""

    instance: tuple[str, ...] = ()      # the ASM instance: what new injections get
    instance_source: str = ""
    proxies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ASM proxy image -> spellings
    unread: str = ""                     # why the instance version could not be read
    # Data planes whose pods could not be read -> why: the ASM proxies running there (and their versions) are unseen.
    pods_unread: dict[str, str] = field(default_factory=dict)

    def all(self) -> list[tuple[str, tuple[str, ...]]]:
        out = [(f"ASM {self.instance[0]} ({self.instance_source})", self.instance)] if self.instance else []
        return out + [(f"ASM proxy image {image}", spellings) for image, spellings in sorted(self.proxies.items())]

    def label(self) -> str:
        return ", ".join(dict.fromkeys(spellings[0] for _, spellings in self.all()))


def _spellings(raw: str | None) -> tuple[str, ...]:
    version = mesh.parse_version(raw)
    if version is None:
        return ()
    plain = str(version)
    full = str(raw).strip().removeprefix("v")
    return (plain, full) if full != plain and full.startswith(plain) else (plain,)


def asm_versions(ctx: Context) -> AsmVersions:
    """ASM's proxy versions: the instance version (auditor/asm.py asm_version) and the ASM proxies' image tags."""
    out = AsmVersions()
    try:
        version, source, raw = asm_version(ctx)
    except EvidenceUnavailable as exc:  # a live OpenAPI read that failed
        version, source, raw, out.unread = None, "", None, exc.reason
    if version is not None:
        spellings = _spellings(raw) if mesh.parse_version(raw) == version else ()
        out.instance, out.instance_source = spellings or (str(version),), source
    elif raw is not None:
        out.unread = f"cannot read a version from {raw!r} ({source})"
    for image in asm_proxy_versions(ctx):
        spellings = _spellings(mesh.image_tag(image))
        if spellings:
            out.proxies[image] = spellings
    out.pods_unread = {c.name: c.unread_reason(K.POD) for c in ctx.inv.data_planes if not c.available(K.POD)}
    return out


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every dict entry under `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key), item
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def removed_names(patches: list[Any]) -> list[dict[str, str]]:
    """Every deprecated Envoy name in the patches' matches and values, with where it is and what replaces it."""
    out = []
    for i, patch in enumerate(patches):
        for path, key, value in _walk(patch, f"configPatches[{i}]"):
            if key == "name" and isinstance(value, str) and value in REMOVED_NAMES:
                out.append({"path": f"{path}.name", "name": value, "use": REMOVED_NAMES[value]})
    return out


def v2_types(patches: list[Any]) -> list[dict[str, str]]:
    """Every type URL of Envoy's removed v2 API in the patches, with its v3 replacement where it is mechanical."""
    out = []
    for i, patch in enumerate(patches):
        for path, key, value in _walk(patch, f"configPatches[{i}]"):
            if key in _TYPE_KEYS and isinstance(value, str) and _V2_TYPE.search(value) and not any(
                    value.rsplit("/", 1)[-1].startswith(t) for t in _CURRENT_ISTIO_TYPES):
                m = _V2_FILTER_TYPE.search(value)
                use = (f"type.googleapis.com/envoy.extensions.filters.{m.group(1)}.{m.group(2)}.v3.{m.group(3)}"
                       if m else "its v3 type (envoy.extensions.* / envoy.config.*.v3)")
                out.append({"path": f"{path}.{key}", "type": value, "use": use})
    return out


def null_vm_plugins(patches: list[Any]) -> list[dict[str, str]]:
    """Every Wasm VM config of the patches' values that loads a plugin compiled into the proxy (the null VM runtime),
    with where it is and the plugin's name (`code.local.inline_string`; protobuf JSON takes either spelling)."""
    out = []
    for i, patch in enumerate(patches):
        for path, key, value in _walk(patch.get("patch"), f"configPatches[{i}].patch"):
            if key not in _VM_CONFIG_KEYS or not isinstance(value, dict) or value.get("runtime") != NULL_VM:
                continue
            code = value.get("code") if isinstance(value.get("code"), dict) else {}
            local = code.get("local") if isinstance(code.get("local"), dict) else {}
            plugin = local.get("inline_string") or local.get("inlineString") or "(no inline_string)"
            out.append({"path": f"{path}.{key}", "plugin": str(plugin), "patch": str(i)})
    return out


def image_wasm_files(patches: list[Any]) -> list[dict[str, str]]:
    """Every Wasm VM config of the patches' values whose code is one of the files Istio's proxy image kept in its
    extensions directory (`code.local.filename`, ISTIO_IMAGE_WASM_FILES), with where it is and the file."""
    out = []
    for i, patch in enumerate(patches):
        for path, key, value in _walk(patch.get("patch"), f"configPatches[{i}].patch"):
            if key not in _VM_CONFIG_KEYS or not isinstance(value, dict):
                continue
            code = value.get("code") if isinstance(value.get("code"), dict) else {}
            local = code.get("local") if isinstance(code.get("local"), dict) else {}
            filename = local.get("filename")
            if isinstance(filename, str) and filename in ISTIO_IMAGE_WASM_FILES:
                out.append({"path": f"{path}.{key}", "file": filename, "patch": str(i)})
    return out


def regex_problem(expression: Any) -> str | None:
    """Why a proxyVersion expression is not one istiod can use, or None."""
    if not isinstance(expression, str):
        return f"proxyVersion {expression!r} is not a string"
    if len(expression) > MAX_PROXY_VERSION_LEN:
        return f"proxyVersion is {len(expression)} characters (istiod matches no proxy beyond {MAX_PROXY_VERSION_LEN})"
    if _NOT_RE2.search(expression):
        return f"proxyVersion {expression!r} uses a lookaround or backreference, which RE2 (istiod) refuses"
    try:
        re.compile(expression)
    except re.error as exc:
        return f"proxyVersion {expression!r} is not a valid regex ({exc})"
    return None


def install_metadata(patches: list[dict[str, Any]]) -> dict[str, str]:
    """The `match.proxy.metadata` entries of the patches that a pod's spec does not decide (POD_METADATA)."""
    out: dict[str, str] = {}
    for patch in patches:
        match = patch.get("match")
        proxy = match.get("proxy") if isinstance(match, dict) else None
        metadata = proxy.get("metadata") if isinstance(proxy, dict) else None
        if isinstance(metadata, dict):
            out.update({str(k): str(v) for k, v in metadata.items() if str(k) not in POD_METADATA})
    return out


def _reaches_asm(patch: dict[str, Any], known: list[tuple[str, tuple[str, ...]]]) -> bool:
    """The patch applies to ASM's proxies as far as its proxyVersion tells: it has none, or its regex matches one
    of ASM's known versions. False when the regex is unusable or ASM's version is unknown (judged UNKNOWN apart)."""
    version = proxy_version(patch)
    if version is None:
        return True
    if regex_problem(version) or not known:
        return False
    regex = re.compile(str(version))
    return any(regex.search(s) for _, spellings in known for s in spellings)


def _match_without_version(patch: dict[str, Any]) -> str:
    """A patch's applyTo and match minus proxy.proxyVersion: two patches alike but for it do the same thing."""
    match = json.loads(json.dumps(patch.get("match") or {}, default=str))
    proxy = match.get("proxy")
    if isinstance(proxy, dict):
        proxy.pop("proxyVersion", None)
        if not proxy:
            match.pop("proxy")
    return json.dumps([patch.get("applyTo"), match], sort_keys=True)


def _selects_by_labels(spec: dict[str, Any]) -> bool:
    selector = spec.get("workloadSelector")
    return bool(selector.get("labels")) if isinstance(selector, dict) else bool(selector)


def _patches_listed(items: list[dict[str, Any]], key: str) -> str:
    """`<item[key]> at configPatches[i], ...; ...`: each value once, with the patches naming it (the first LISTED
    items; the whole path of each is in the evidence)."""
    at: dict[str, list[str]] = {}
    for item in items[:LISTED]:
        at.setdefault(item[key], []).append(f"configPatches[{item['patch']}]")
    return "; ".join(f"{value} at {', '.join(patches)}" for value, patches in at.items())


class EnvoyFilterCompatibility(ClusterCheck):
    id = "envoyfilter-compatibility"
    title = "Every EnvoyFilter applies to ASM's proxies"
    gates = (Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.MAJOR
    rationale = ("An EnvoyFilter whose proxyVersion regex excludes ASM's proxy version, or that names Envoy filters "
                 "or v2 API types newer Envoy removed, silently stops applying (or is rejected) once the workload "
                 "runs ASM's proxy. Filters Istio's installer generated for one release belong to that release.")
    remediation = ("Make proxyVersion match ASM's version (or drop it), use the canonical envoy.filters.* names and "
                   "v3 types, on ASM's control plane and in the cluster; leave the installer's filters to Istio.")
    COMPATIBLE = Outcome(
        "AA2801", Status.PASS, "every EnvoyFilter applies to ASM's proxies (proxyVersion, names and types checked)",
        message="{total} EnvoyFilter(s), all compatible with ASM's proxies ({versions}){generated}")
    VERSION_EXCLUDED = Outcome(
        "AA2810", Status.FAIL, "a proxyVersion match excludes ASM's proxy version: the patch never applies to "
        "ASM's proxies",
        fix="Make proxyVersion match {excluded} (e.g. '{example}') or drop it. " + _EDIT_FIX,
        message="proxyVersion {regexes} does not match ASM's proxy version {excluded}: {patches} of {total} patch(es) "
                "stop applying when the workloads move to ASM's proxy")
    REMOVED_NAME = Outcome(
        "AA2811", Status.FAIL, "the filter names an Envoy extension by a deprecated name newer Envoy and istiod no "
        "longer know: its match selects nothing (or Envoy rejects it) on ASM's proxies", fix=_EDIT_FIX,
        message="uses Envoy names removed from ASM's Envoy: {names}")
    V2_TYPE = Outcome(
        "AA2812", Status.FAIL, "the filter uses a type URL of Envoy's removed v2 API: istiod rejects the patch",
        fix=_EDIT_FIX,
        message="uses type URLs of Envoy's removed v2 API: {types}")
    NULL_VM_PLUGIN = Outcome(
        "AA2813", Status.FAIL, "the filter loads a Wasm plugin compiled into Istio's own proxy (null VM runtime), "
        "which Istio's proxy no longer has since 1.23, nor ASM's: on ASM's proxies Envoy fails to create the filter "
        "and rejects the listener (or skips the filter when it fails open)",
        fix="Replace what it does before the workloads move: metric dimensions and tags through the Telemetry API "
            "(metrics overrides, tagOverrides) or ASM's observability settings (stats and metadata exchange are built "
            "into ASM's proxies), Wasm code of your own through a WasmPlugin with a Wasm module; then remove the "
            "patch. " + _EDIT_FIX,
        message="loads Wasm plugins of the null VM runtime that ASM's proxy does not have: {plugins}")
    IMAGE_WASM_FILE = Outcome(
        "AA2816", Status.FAIL, "the filter loads a Wasm module from a file Istio's proxy image shipped until 1.17 "
        "(/etc/istio/extensions/): Istio's image has none since 1.18, and ASM's proxy is built on Istio 1.24 or "
        "later; on ASM's proxies Envoy fails to create the filter and rejects the listener (or skips the filter when "
        "it fails open)",
        fix="Replace what it does before the workloads move: metric dimensions and tags through the Telemetry API "
            "(metrics overrides, tagOverrides) or ASM's observability settings (stats and metadata exchange are built "
            "into ASM's proxies), Wasm code of your own through a WasmPlugin with a Wasm module; then remove the "
            "patch. " + _EDIT_FIX,
        message="loads Wasm modules from files of Istio's proxy image that ASM's proxy does not have: {files}")
    # A filter's scope follows the root namespace (module docstring): imported into ASM under the same namespace, one
    # in Istio's custom root namespace reaches the proxies of that namespace only, one in ASM's root namespace (Istio's
    # not) every proxy of the mesh.
    ROOT_NARROWED = Outcome(
        "AA2814", Status.FAIL, "the filter is in Istio's root namespace, which is not ASM's: Istio applies it to the "
        "proxies of every namespace, ASM only to those of its own namespace",
        fix="Create it in ASM's root namespace {asm_root} (on ASM's control plane, and in the cluster so that a new "
            "import carries it), then delete it from {namespace}.",
        message="in {namespace}, Istio's root namespace ({configmaps}): Istio applies it to the proxies of every "
                "namespace; ASM's root namespace is {asm_root}, and there it applies to the proxies of {namespace} "
                "only")
    ROOT_WIDENED = Outcome(
        "AA2815", Status.FAIL, "the filter, without a workloadSelector, is in ASM's root namespace, which is not "
        "Istio's: Istio applies it to the proxies of its own namespace only, ASM to those of every namespace",
        fix="Give it a workloadSelector selecting only the proxies it served (in ASM's root namespace {asm_root} a "
            "selector applies in every namespace), or recreate it in the namespace they run in. " + _EDIT_FIX,
        message="in {namespace}, ASM's root namespace; Istio's root namespace is {roots}: Istio applies it to the "
                "proxies of {namespace} only; ASM applies it to those of every namespace")
    GENERATED = Outcome(
        "AA2820", Status.WARN, "a telemetry filter Istio's installer generated for one Istio release: it goes with "
        "that release; ASM needs no equivalent (its proxies have the telemetry built in)", Severity.MINOR,
        fix="Nothing to carry to ASM: do not import it. {removal}: {delete}",
        message="generated by Istio {release}'s installer for its own proxies (proxyVersion {regexes}): it goes with "
                "Istio; ASM needs no equivalent (stats and metadata exchange are built into ASM's proxies; metrics "
                "are configured in ASM's observability settings)")
    UNJUDGEABLE = Outcome(
        "AA2830", Status.UNKNOWN, "a proxyVersion regex istiod cannot use (invalid, not RE2, too long) or malformed "
        "configPatches: whether the filter applies cannot be told", fix=_EDIT_FIX,
        message="cannot be judged: {reason}")
    VERSION_UNKNOWN = Outcome(
        "AA2831", Status.UNKNOWN, "the filter matches on proxyVersion and ASM's version is unknown", fix=_SET_VERSION,
        message="matches proxyVersion {regexes} but ASM's proxy version is unknown ({why}): whether it applies to "
                "ASM's proxies cannot be told")
    SPELLING = Outcome(
        "AA2832", Status.UNKNOWN, "the proxyVersion regex matches one spelling of ASM's version and not the other "
        "(which one ASM's proxies report as ISTIO_VERSION is not documented)",
        fix="Match the version prefix only (e.g. '^1\\.24.*'). " + _EDIT_FIX,
        message="proxyVersion {regexes} matches {matched} but not {unmatched}: which of them ASM's proxies report "
                "is not documented")
    PROXIES_UNSEEN = Outcome(
        "AA2833", Status.UNKNOWN, "the filter matches on proxyVersion and the pods of some data plane could not be "
        "read: the ASM proxies already running there, and the versions they report, are unseen", fix=_READ_PODS,
        message="proxyVersion {regexes} matches ASM {versions}, but the pods of {clusters} could not be read: ASM "
                "proxies already running there may report a version it does not match")
    METADATA_UNKNOWN = Outcome(
        "AA2834", Status.UNKNOWN, "the filter matches proxy node metadata the install decides (cluster id, network, "
        "mesh id, version, proxy metadata): whether ASM's proxies carry the same values is not known",
        fix="Read the values on a pod already on ASM's proxy (its istio-proxy env ISTIO_META_<KEY>, or istioctl "
            "proxy-config bootstrap POD) and make the match accept them, or drop it. " + _EDIT_FIX,
        message="matches proxy metadata {metadata}: ASM's proxies take these from ASM's install, and whether they "
                "equal these values is not known")
    NONE = Outcome("AA2840", Status.NOT_APPLICABLE, "no EnvoyFilter exists in the cluster (the kind was read)",
                   message="no EnvoyFilter in the cluster{why}")
    outcomes = (COMPATIBLE, VERSION_EXCLUDED, REMOVED_NAME, V2_TYPE, NULL_VM_PLUGIN, ROOT_NARROWED, ROOT_WIDENED,
                IMAGE_WASM_FILE, GENERATED, UNJUDGEABLE,
                VERSION_UNKNOWN, SPELLING, PROXIES_UNSEEN, METADATA_UNKNOWN, NONE)
    needs = (K.ENVOYFILTER,)
    # Service, Deployment, Pod: where ASM's version shows when no config or OpenAPI answer says it; Deployment and
    # ConfigMap: istiod's mesh config, naming Istio's root namespace.
    uses = (K.SERVICE, K.DEPLOYMENT, K.POD, K.CONFIGMAP)
    reads_other_clusters = True  # ASM's version and proxy images from every data plane (asm_versions)

    # The gate changes nothing (the filters, ASM's versions from the config, answers and every data plane): each
    # filter's regexes are compiled and its patches walked once, not once per gate.
    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        filters = cluster.objects(K.ENVOYFILTER)
        if not filters:
            why = "" if cluster.served(K.ENVOYFILTER) else " (the EnvoyFilter CRD is not served)"
            yield self.report(self.NONE, cluster.name, params={"why": why})
            return
        versions = asm_versions(ctx)
        scope = (istio_roots(cluster), asm_root_namespace(ctx.setting("config")))
        problems = generated = 0
        for obj in filters:
            findings = list(self._judge(cluster, obj, filters, versions, scope))
            generated += any(f.code == self.GENERATED.code for f in findings)
            problems += any(f.code != self.GENERATED.code for f in findings)
            yield from findings
        if not problems:
            note = f"; {generated} generated by Istio's installer (warned)" if generated else ""
            yield self.report(self.COMPATIBLE, cluster.name,
                              params={"total": len(filters), "versions": versions.label() or "not needed",
                                      "generated": note},
                              evidence={"envoyfilters": len(filters), "generated": generated,
                                        "asm_versions": [v for v, _ in versions.all()]})

    def _where(self, obj: dict[str, Any]) -> dict[str, str]:
        meta = _meta(obj)
        return {"kind": KIND, "namespace": str(meta.get("namespace") or ""), "name": str(meta.get("name") or "")}

    @staticmethod
    def _edit_params(cluster: str, where: dict[str, str]) -> dict[str, str]:
        """The two edit commands as fields of a fix template (_EDIT_FIX), which a report translates around them."""
        ref = f"{mesh.ns_flag(where['namespace'])} edit {mesh.object_ref('envoyfilter', where['name'])}"
        return {"asm_edit": f"{mesh.ASM_KUBECTL} {ref}", "cluster_edit": f"{mesh.kubectl(cluster)} {ref}"}

    def _judge(self, cluster: ClusterInventory, obj: dict[str, Any], filters: list[dict[str, Any]],
               versions: AsmVersions, scope: tuple[dict[str, list[str]], str]) -> Iterator[Finding]:
        where = self._where(obj)
        spec = obj.get("spec")
        patches = spec.get("configPatches") if isinstance(spec, dict) else None
        if not isinstance(patches, list) or not all(isinstance(p, dict) for p in patches):
            yield self.report(self.UNJUDGEABLE, cluster.name,
                              params={"reason": "spec.configPatches is not a list of patches",
                                      **self._edit_params(cluster.name, where)}, **where)
            return
        regexes = proxy_version_regexes(patches)
        shown = ", ".join(f"'{r}'" for r in regexes)
        release = generated_release(obj, regexes)
        if release:
            yield self._generated_finding(cluster.name, obj, release, shown, where)
            return
        bad = [why for p in patches if (v := proxy_version(p)) is not None and (why := regex_problem(v))]
        if bad:
            yield self.report(self.UNJUDGEABLE, cluster.name,
                              params={"reason": "; ".join(sorted(set(bad))), **self._edit_params(cluster.name, where)},
                              **where)
        else:
            yield from self._versions(cluster.name, obj, patches, filters, versions, shown, where)
        for outcome, key, label, found in ((self.REMOVED_NAME, "names", "name", removed_names(patches)),
                                           (self.V2_TYPE, "types", "type", v2_types(patches))):
            if found:
                listed = ", ".join(f"{item[label]} at {item['path']} (use {item['use']})" for item in found[:LISTED])
                yield self.report(outcome, cluster.name, params={key: listed, **self._edit_params(cluster.name, where)},
                                  evidence={key: found[:LISTED]}, **where)
        # Only the patches that reach ASM's proxies: one pinned to an Istio release is judged by its proxyVersion
        # (VERSION_EXCLUDED, or nothing when an ASM twin covers it); an unusable regex or an unknown ASM version is
        # UNKNOWN above.
        known = versions.all()
        reaching = {str(i) for i, p in enumerate(patches) if _reaches_asm(p, known)}
        if reaching or not known:  # a filter pinned to Istio's releases alone serves Istio's proxies, wherever it is
            yield from self._scope(cluster.name, spec, scope, where)
        matched = install_metadata([p for i, p in enumerate(patches) if str(i) in reaching])
        if matched:
            shown_metadata = ", ".join(f"{k}={v!r}" for k, v in sorted(matched.items()))
            yield self.report(self.METADATA_UNKNOWN, cluster.name,
                              params={"metadata": shown_metadata, **self._edit_params(cluster.name, where)},
                              evidence={"metadata": matched}, **where)
        plugins = [item for item in null_vm_plugins(patches) if item["patch"] in reaching]
        if plugins:
            # Each plugin once, with the patches loading it: the installer's stats filter loads the same plugin in
            # three patches, one per proxy direction.
            yield self.report(self.NULL_VM_PLUGIN, cluster.name,
                              params={"plugins": _patches_listed(plugins, "plugin"),
                                      **self._edit_params(cluster.name, where)},
                              evidence={"plugins": plugins[:LISTED]}, **where)
        files = [item for item in image_wasm_files(patches) if item["patch"] in reaching]
        if files:
            yield self.report(self.IMAGE_WASM_FILE, cluster.name,
                              params={"files": _patches_listed(files, "file"),
                                      **self._edit_params(cluster.name, where)},
                              evidence={"files": files[:LISTED]}, **where)

    def _scope(self, cluster: str, spec: dict[str, Any], scope: tuple[dict[str, list[str]], str],
               where: dict[str, str]) -> Iterator[Finding]:
        """A filter whose reach changes with the root namespace (ROOT_NARROWED; ROOT_WIDENED for one without a
        workloadSelector). One attached by targetRefs reaches the objects it names in its own namespace on either
        side: left alone."""
        roots, asm = scope
        namespace = where["namespace"]
        if not roots or spec.get("targetRefs") or spec.get("targetRef"):
            return
        evidence = {"istio_root_namespaces": roots, "asm_root_namespace": asm}
        if namespace in roots and namespace != asm:
            yield self.report(self.ROOT_NARROWED, cluster,
                              params={"namespace": namespace, "asm_root": asm,
                                      "configmaps": ", ".join(f"ConfigMap {c}" for c in roots[namespace])},
                              evidence=evidence, **where)
        elif namespace == asm and any(root != asm for root in roots) and not _selects_by_labels(spec):
            # Selector-less only: one selecting by labels reaches, on ASM, the pods of other namespaces carrying them
            # too, which the pods' labels (not read here) would tell; a gateway's selector rarely matches elsewhere.
            others = ", ".join(f"{root} (ConfigMap {c})" for root, cms in sorted(roots.items()) if root != asm
                               for c in cms)
            yield self.report(self.ROOT_WIDENED, cluster,
                              params={"namespace": namespace, "asm_root": asm, "roots": others,
                                      **self._edit_params(cluster, where)},
                              evidence=evidence, **where)

    def _generated_finding(self, cluster: str, obj: dict[str, Any], release: str, shown: str,
                           where: dict[str, str]) -> Finding:
        labels = _meta(obj).get("labels") or {}
        delete = (f"{mesh.kubectl(cluster)} {mesh.ns_flag(where['namespace'])} delete "
                  f"{mesh.object_ref('envoyfilter', where['name'])}")
        # Which uninstall removes it, a clause said in the report's language (the fix template's {removal}).
        if _PURGE_LABEL in labels:
            removal = Phrase(N_("`istioctl uninstall --purge` deletes it with Istio (label {label}); once no Istio "
                                "{release} proxy is left it may go earlier"), label=_PURGE_LABEL, release=release)
        else:
            removal = Phrase(N_("`helm uninstall` of the istiod release that rendered it removes it; once no Istio "
                                "{release} proxy is left"), release=release)
        return self.report(self.GENERATED, cluster,
                           params={"release": release, "regexes": shown, "removal": removal, "delete": delete},
                           evidence={"labels": {k: labels[k] for k in INSTALLER_LABELS if k in labels}}, **where)

    def _versions(self, cluster: str, obj: dict[str, Any], patches: list[dict[str, Any]],
                  filters: list[dict[str, Any]], versions: AsmVersions, shown: str,
                  where: dict[str, str]) -> Iterator[Finding]:
        versioned = [p for p in patches if proxy_version(p) is not None]
        if not versioned:
            return
        known = versions.all()
        if not known:
            why = versions.unread or ("no config asm.version, no DescribeServiceMeshDetail answer, no ASM istiod-<rev> "
                                      "Service, no ASM proxy seen")
            yield self.report(self.VERSION_UNKNOWN, cluster, params={"regexes": shown, "why": why},
                              remediation=_SET_VERSION, **where)
            return
        excluded: dict[str, None] = {}
        partial: list[tuple[str, str]] = []
        uncovered = 0
        for patch in versioned:
            regex = re.compile(str(proxy_version(patch)))
            misses = []
            for _, spellings in known:
                hits = [s for s in spellings if regex.search(s)]
                if not hits:
                    misses.append(spellings[0])
                elif len(hits) < len(spellings):
                    partial.append((hits[0], next(s for s in spellings if s not in hits)))
            if misses and not self._covered(obj, patch, filters, known):
                uncovered += 1
                excluded.update(dict.fromkeys(misses))
        if uncovered:
            yield self.report(self.VERSION_EXCLUDED, cluster,
                              params={"regexes": shown, "excluded": ", ".join(excluded), "patches": uncovered,
                                      "total": len(patches),
                                      "example": f"^{re.escape(next(iter(excluded)).rsplit('.', 1)[0])}.*",
                                      **self._edit_params(cluster, where)},
                              evidence={"asm_versions": [v for v, _ in known]}, **where)
        elif partial:
            matched, unmatched = partial[0]
            yield self.report(self.SPELLING, cluster, params={"regexes": shown, "matched": matched,
                                                              "unmatched": unmatched,
                                                              **self._edit_params(cluster, where)},
                              evidence={"asm_versions": [v for v, _ in known]}, **where)
        elif not versions.instance:
            why = versions.unread or "only ASM proxy image tags tell it, and new injections get the instance's version"
            yield self.report(self.VERSION_UNKNOWN, cluster, params={"regexes": shown, "why": why},
                              remediation=_SET_VERSION, evidence={"asm_versions": [v for v, _ in known]}, **where)
        elif versions.pods_unread:
            # The versions compared are not all there are: an older ASM proxy in an unread data plane may be excluded.
            unread = "; ".join(f"{name} ({why})" for name, why in sorted(versions.pods_unread.items()))
            yield self.report(self.PROXIES_UNSEEN, cluster, params={"regexes": shown, "versions": versions.label(),
                                                                    "clusters": unread},
                              remediation=_READ_PODS,
                              evidence={"asm_versions": [v for v, _ in known], "pods_unread": versions.pods_unread},
                              **where)

    @staticmethod
    def _covered(obj: dict[str, Any], patch: dict[str, Any], filters: list[dict[str, Any]],
                 known: list[tuple[str, tuple[str, ...]]]) -> bool:
        """Another patch alike but for proxyVersion (in this filter, or in one of the same namespace and workload
        selector) matches every ASM version: a per-version pair, the excluded one only serves Istio's proxies."""
        key = _match_without_version(patch)
        meta, selector = _meta(obj), (obj.get("spec") or {}).get("workloadSelector")
        for other in filters:
            spec = other.get("spec") if isinstance(other.get("spec"), dict) else {}
            if _meta(other).get("namespace") != meta.get("namespace") or spec.get("workloadSelector") != selector:
                continue
            for candidate in spec.get("configPatches") or ():
                if candidate is patch or not isinstance(candidate, dict) or _match_without_version(candidate) != key:
                    continue
                version = proxy_version(candidate)
                if version is None:
                    return True  # applies to every proxy, ASM's included
                if regex_problem(version):
                    continue
                regex = re.compile(str(version))
                if all(regex.search(s) for _, spellings in known for s in spellings):
                    return True
        return False
