"""Istio/ASM domain knowledge shared by checks: proxy classification, versions, mesh config.

One place for these facts so that checks stay small (see ../shared/docs/domain.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from auditor import yamlsafe
from auditor.i18n import N_, Phrase

PROXY_CONTAINER = "istio-proxy"
# The init container that sets up a sidecar's traffic redirection itself (injection without CNI); Istio's CNI plug-in
# leaves a pod listing it alone (cni/pkg/plugin/plugin.go doAddRun, ISTIOINIT @1.24.6).
ISTIO_INIT = "istio-init"
ASM_INJECT_LABEL = "sidecar.asm.aliyun.com/inject"
XDS_AGENT_KEY = "PROXY_CONFIG_XDS_AGENT"
# What Go's strconv.ParseBool takes as true: how pilot-agent and istiod read a boolean setting (pkg/env Register of a
# bool: PROXY_CONFIG_XDS_AGENT, ISTIO_META_DNS_CAPTURE, EXTERNAL_ISTIOD... @1.22.0 to 1.30.3); anything else, "false"
# or unparsable, is the default (false for these).
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})

# Proxy kinds of a pod, as stored in the inventory.
PROXY_NONE = "none"
PROXY_ISTIO = "istio"
PROXY_ASM = "asm"
PROXY_UNKNOWN = "unknown"  # marks that contradict each other: counted neither as Istio's nor as ASM's
# Role of the istio-proxy container: a sidecar next to an app, or a gateway (`proxy router`).
ROLE_SIDECAR = "sidecar"
ROLE_GATEWAY = "gateway"
# Ambient data-plane proxies (ztunnel, waypoints): Istio's, but neither an app's sidecar nor a gateway to replace;
# the ambient-mode check judges them (this migration procedure does not cover ambient).
ROLE_AMBIENT = "ambient"


# What a proxy image says: ASM's own build, an Istio release, or nothing readable (digest, `latest`).
IMAGE_ASM, IMAGE_ISTIO, IMAGE_UNREADABLE = "asm", "istio", ""
# Who runs the istiod a proxy's CA_ADDR names (see istiod_owners).
OWNER_ASM, OWNER_ISTIO, OWNER_UNPROVEN = "asm", "istio", ""
# An istiod Service carrying ASM's marks AND Istio's install labels: whose it is cannot be told, so the proxies
# it serves are UNKNOWN (never ASM's, never silently Istio's).
OWNER_CONFLICT = "conflict"
# An istiod the cluster does not have: Services and Deployments were read and neither is named so. After `istioctl
# uninstall --purge` deleted Istio's istiod, the proxies Istio's injector made still name it (CA_ADDR
# istiod[-<rev>].<ns>.svc:15012, injection-template.yaml @1.22.3): they get no certificates nor configuration, whatever
# image they run (the injector's values or a pod's sidecar.istio.io/proxyImage may name ASM's).
OWNER_ABSENT = "absent"
_OWNER_WORDS = {OWNER_ASM: "ASM's istiod", OWNER_ISTIO: "Istio's istiod",
                OWNER_CONFLICT: "an istiod Service with both ASM's marks and Istio's install labels",
                OWNER_ABSENT: "an istiod the cluster does not have (removed, or never there)"}


@dataclass
class ProxyRules:
    """How to tell an ASM proxy from an Istio sidecar: only by marks ASM alone sets (domain.md).

    Configurable because registries get mirrored. An aliyuncs.com registry proves nothing (teams mirror
    Istio's proxyv2 into their own Alibaba Cloud registry); ASM's image is ASM's build in its own repository
    `acs/proxyv2` on ASM's registry hosts, or ASM's tag scheme `v1.24.6.62-g<sha>-aliyun`.

    That repository alone is no proof either: ACK's `acs` namespace re-publishes other builds under their own tags
    (`acs/alpine`, `acs/maven`), ACK's own in-cluster Istio (its `istio.alibabacloud.com` Istio resource, istio-pilot
    in istio-system, Istio's injector) injected `registry.cn-beijing.aliyuncs.com/acs/proxyv2:1.4.6`, and ASM up to
    1.8 tagged its proxy the same way (`registry-vpc.cn-beijing.aliyuncs.com/acs/proxyv2:1.8.6`). There only ASM's
    own tags (`v<version>.<build>-g<sha>-aliyun`: `acs/proxyv2:v1.14.3.47-ga31201346f-aliyun` in an ASM-injected pod
    with ASM_ID) or a digest are ASM's image; an Istio release tag there is read as no mark (IMAGE_UNREADABLE), so the
    proxy's env and CA_ADDR decide. Hosts: ASM's registries only (`registry[-intl][-vpc].<region>.aliyuncs.com`,
    `registry-<region>[-vpc].ack.aliyuncs.com`), never an ACR Enterprise instance's `<name>-registry.<region>.cr.
    aliyuncs.com`, the customer's own registry whatever its name.
    """

    asm_image_patterns: list[str] = field(default_factory=lambda: [
        # registry[-intl][-vpc].<region>.aliyuncs.com/acs/proxyv2, registry-<region>[-vpc].ack.aliyuncs.com/acs/proxyv2:
        # a `v` tag (ASM's; Istio's release tags have none) or a digest
        r"^(?:registry(?:-intl)?(?:-vpc)?\.[a-z0-9-]+|registry-[a-z0-9-]+\.ack)\.aliyuncs\.com/acs/proxyv2(?:@|:v[^:@/]*(?:@|$))",
        r":v?\d+\.\d+\.\d+(\.\d+)?-g[0-9a-f]+-aliyun(?:@|$)",  # ASM tags: v1.22.6.54-g<sha>-aliyun[@digest]
    ])
    asm_env_names: list[str] = field(default_factory=lambda: ["ASM_ID", "ASM_APP_VERSION"])
    # CA_ADDRs that may name an istiod (`istiod[-<rev>].<ns>.svc[...]:15012`). Naming ASM's revision pattern
    # proves nothing (Istio's own revisions are named 1-24-2 too): the Service must be proven ASM's.
    asm_ca_addr_pattern: str = r"^istiod(-[a-z0-9-]+)?\.[a-z0-9-]+\.svc"

    def __post_init__(self) -> None:
        self._image_res = [re.compile(p) for p in self.asm_image_patterns]
        self._ca_re = re.compile(self.asm_ca_addr_pattern)

    def image_kind(self, image: str) -> str:
        """IMAGE_ASM for ASM's image, IMAGE_ISTIO for a release-tagged image of anyone else's (Istio's, or a
        mirror of it), IMAGE_UNREADABLE when the reference says nothing (digest only, `latest`, no image, an Istio
        release tag in ASM's own repository)."""
        if any(r.search(image) for r in self._image_res):
            return IMAGE_ASM
        if _ASM_REPOSITORY.match(image):  # ASM's repository, an Istio release tag: ACK's Istio, old ASM (see above)
            return IMAGE_UNREADABLE
        return IMAGE_ISTIO if parse_version(image_tag(image)) else IMAGE_UNREADABLE

    def has_asm_env(self, env: dict[str, str]) -> bool:
        return any(name in env for name in self.asm_env_names)

    def ca_service(self, ca_addr: str) -> str:
        """`<namespace>/<service>` of the istiod a CA_ADDR names, "" when it names none (other CA, absent)."""
        if not ca_addr or not self._ca_re.search(ca_addr):
            return ""
        m = _CA_SERVICE.match(ca_addr)
        return f"{m.group(2)}/{m.group(1)}" if m else ""


# ASM's own repository on ASM's registries with a tag not in ASM's `v` scheme (ProxyRules: an Istio release tag, as
# ACK's Istio and ASM up to 1.8 ran): no mark either way, whatever asm_image_patterns say.
_ASM_REPOSITORY = re.compile(
    r"(?:registry(?:-intl)?(?:-vpc)?\.[a-z0-9-]+|registry-[a-z0-9-]+\.ack)\.aliyuncs\.com/acs/proxyv2:(?!v)")
_CA_SERVICE = re.compile(r"^(istiod(?:-[a-z0-9-]+)?)\.([a-z0-9-]+)\.svc\b")


@dataclass(frozen=True, slots=True)
class ProxyMarks:
    """What a proxy container says about who made it; classify() turns it into a proxy kind."""

    asm_env: bool       # ASM_ID / ASM_APP_VERSION present
    image_kind: str     # IMAGE_*
    ca_owner: str       # OWNER_* of the istiod its CA_ADDR names
    image: str = ""
    ca_service: str = ""

    def describe(self) -> str:
        parts = []
        if self.asm_env:
            parts.append("ASM env (ASM_ID/ASM_APP_VERSION): ASM")
        if self.image_kind:
            parts.append(f"image {self.image}: {'ASM' if self.image_kind == IMAGE_ASM else 'Istio release'}")
        if self.ca_owner:
            parts.append(f"CA_ADDR/discoveryAddress name {self.ca_service.strip()}: "
                         f"{_OWNER_WORDS.get(self.ca_owner, self.ca_owner)}")
        return "; ".join(parts) or "no mark"


def classify(marks: ProxyMarks) -> str:
    """The rule table: ASM only by marks ASM alone sets, none of them contradicted.

    ASM marks: ASM env, ASM's image, CA_ADDR of an istiod proven ASM's.
    Istio marks: a release-tagged image that is not ASM's (Istio's or a mirror), CA_ADDR of a local istiod, or,
    without ASM's env, CA_ADDR of an istiod the cluster does not have (OWNER_ABSENT: Istio's, purged).
    | ASM marks | Istio marks | kind                                                 |
    | any       | none        | asm                                                  |
    | any       | any         | unknown (named with its marks; blocks GO)            |
    | none      | any or none | istio (an istio-proxy nothing proves ASM's is Istio's) |
    A CA_ADDR naming an istiod Service whose own marks conflict (OWNER_CONFLICT) makes the proxy unknown.
    """
    if marks.ca_owner == OWNER_CONFLICT:
        return PROXY_UNKNOWN
    asm = marks.asm_env or marks.image_kind == IMAGE_ASM or marks.ca_owner == OWNER_ASM
    istio = marks.image_kind == IMAGE_ISTIO or on_istio_control_plane(marks)
    if asm and istio:
        return PROXY_UNKNOWN
    return PROXY_ASM if asm else PROXY_ISTIO


def worst_owner(owners: list[str]) -> str:
    """The owner of a proxy's control plane from the owners of the istiods it names (CA and xDS): Istio's if either
    is, then one not in the cluster, then a conflict, then unproven; ASM's only when every one is; unproven for none."""
    for owner in (OWNER_ISTIO, OWNER_ABSENT, OWNER_CONFLICT, OWNER_UNPROVEN):
        if owner in owners:
            return owner
    return OWNER_ASM if owners else OWNER_UNPROVEN


# The env var Istio's injector writes the pod's proxy config into, minus its defaults (injection-template.yaml
# `{{ protoToJSON .ProxyConfig }}`, pkg/kube/inject/template.go cleanProxyConfig @1.22.3); pilot-agent applies it over
# the mesh defaults, then the pod's proxy.istio.io/config annotation over it (pilot/cmd/pilot-agent/config/config.go
# ConstructProxyConfig, getMeshConfig @1.22.3).
PROXY_CONFIG_ENV = "PROXY_CONFIG"
# Between the two istiods a proxy names in the pod frame's ca_service column, when they differ.
SERVICES_SEPARATOR = " "


# The discoveryAddress of Istio's default proxy config (mesh.DefaultProxyConfig, pkg/config/mesh/mesh.go @1.10.0 ..
# @1.30.3): Istio's injector leaves it out of PROXY_CONFIG (pkg/kube/inject/template.go cleanProxyConfig).
DEFAULT_DISCOVERY_ADDRESS = "istiod.istio-system.svc:15012"


def istiod_services(rules: ProxyRules, ca_addr: str, proxy_config: str, asm_env: bool = False) -> str:
    """`<namespace>/<service>` of the istiod a proxy's CA_ADDR names, and, where PROXY_CONFIG writes a discoveryAddress
    naming another istiod, that one too (SERVICES_SEPARATOR between): the proxy takes its certificates from the first
    and its configuration (xDS) from the second. The injector writes discoveryAddress only where it is not the default
    istiod.istio-system.svc:15012 (cleanProxyConfig): a revision's, or a remote's; with a CA of another make
    (`global.caAddress`, e.g. cert-manager's istio-csr) CA_ADDR names no istiod and the discoveryAddress is the only
    name. Where CA_ADDR names a CA that is no istiod and PROXY_CONFIG is an object without a discoveryAddress, the
    proxy dials the default: read as such for a proxy without ASM's env (Istio's injector on its default revision with
    istio-csr as CA: otherwise the image alone decided, ASM's if ASM's); ASM's injector writes its own (its pods carry
    ASM's env), so theirs is not guessed, nor that of a proxy with no CA_ADDR (no injector writes none). Never raises:
    a live pod's PROXY_CONFIG may be anything."""
    ca = rules.ca_service(ca_addr)
    # Where the default would not be read, a PROXY_CONFIG without the word needs no parsing (nearly every proxy).
    guess_default = not (ca or asm_env or not ca_addr)
    if not ca and not asm_env:
        ca = outside_istiod(ca_addr)
    if "discoveryAddress" not in proxy_config and not guess_default:
        return ca
    try:
        # No PROXY_CONFIG (only where the default is guessed): a rendered gateway (charts/gateways istio-ingress
        # templates/deployment.yaml @1.22.8), whose agent takes the mounted mesh config's defaults (the istio
        # ConfigMap at /etc/istio/config). orjson refuses nesting deeper than 1024 (ValueError): json would recurse.
        parsed = orjson.loads(proxy_config) if proxy_config.strip() else {}
    except ValueError:
        return ca
    if not isinstance(parsed, dict):
        return ca
    address = parsed.get("discoveryAddress")
    if not isinstance(address, str) or not address:  # absent (or null): the default, dropped by cleanProxyConfig
        return _named(ca, rules.ca_service(DEFAULT_DISCOVERY_ADDRESS) if guess_default else "")
    return _named(ca, rules.ca_service(address) or ("" if asm_env else outside_istiod(address)))


def _named(*services: str) -> str:
    """The pod frame's ca_service value of these istiods: each once, in order, none empty."""
    return SERVICES_SEPARATOR.join(dict.fromkeys(s for s in services if s))


# An istiod reached by address, not by a Service of the cluster: the CA_ADDR / discoveryAddress `<host>:15012` Istio's
# guides make the injector write for a control plane in another cluster. The external control plane guide sets both
# to $EXTERNAL_ISTIOD_ADDR:15012, the address of the external cluster's gateway exposing istiod (istio.io content/en/
# docs/setup/install/external-controlplane/index.md, snip get_external_istiod_iop: meshConfig.defaultConfig.
# discoveryAddress and values.global.caAddress); a remote pointed at the primary's east-west gateway IP is the same
# shape. ASM's injector writes its own istiod-<rev>.istio-system.svc and ASM's env, so for a proxy without ASM's env
# such an address is Istio's control plane outside this cluster, never a proof of ASM's (classify: OWNER_ABSENT).
OUTSIDE_NAMED = "address:"
_OUTSIDE_ISTIOD = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):15012$")


def outside_istiod(address: str) -> str:
    """OUTSIDE_NAMED + `address` when it names istiod's port 15012 at an IP or a host that is no istiod Service name
    (the caller asks rules.ca_service first), "" otherwise (another CA such as istio-csr on 443, nothing)."""
    address = address.strip()
    if len(address) > 270 or not _OUTSIDE_ISTIOD.match(address):  # a DNS name is at most 253 characters
        return ""
    return OUTSIDE_NAMED + address.lower()


# The pod's own proxy config: pilot-agent reads the pod's annotations at every start (the downward API file
# /etc/istio/pod/annotations the injector mounts) and applies this one LAST, over PROXY_CONFIG (pilot/cmd/pilot-agent/
# config/config.go getMeshConfig @1.22.3). The injector merges it into PROXY_CONFIG only when it injects: set later on
# the pod, or on a kube-injected template, it reaches the agent and not the env.
PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config"
# ApplyProxyConfig reads YAML into protojson, which takes the JSON name and the proto field name alike.
_DISCOVERY_KEYS = ("discoveryAddress", "discovery_address")
_ANNOTATION_ADDRESSES_KEPT = 1_000


def _may_name_an_address(annotation: str) -> bool:
    # A key spelled by escapes has one of YAML's character escapes in a quoted key; other backslashes (a stats
    # matcher's regexps) spell no key.
    return "iscovery" in annotation or any(e in annotation for e in ("\\x", "\\u", "\\U"))


def _annotation_addresses(annotation: str) -> tuple[str, ...]:
    """The discoveryAddress values a proxy.istio.io/config text writes (none where it cannot be read)."""
    if not _may_name_an_address(annotation):
        return ()
    try:
        # pilot-agent reads it with sigs.k8s.io/yaml: the first document only (config.go ApplyProxyConfig @1.22.3).
        parsed = yamlsafe.safe_load_first(annotation)
    except Exception:  # a malformed annotation stops that pod's agent, not the audit; it names no istiod here
        return ()
    if not isinstance(parsed, dict):
        return ()
    return tuple(a for key in _DISCOVERY_KEYS if isinstance(a := parsed.get(key), str) and a)


# YAML's character escapes: a quoted key may spell PROXY_CONFIG_XDS_AGENT with them.
_YAML_ESCAPES = ("\\x", "\\u", "\\U")


def annotation_xds_agent(annotations: Any) -> str | None:
    """PROXY_CONFIG_XDS_AGENT as a pod's (or pod template's) proxy.istio.io/config annotation sets it in proxyMetadata.
    Istio's injector merges that annotation, key by key, over the mesh config's defaultConfig and the namespace's
    ProxyConfig, under a ProxyConfig whose selector matches the pod, and writes the result's proxyMetadata as
    istio-proxy's env (pkg/kube/inject/webhook.go GetProxyConfigOrDefault; pilot/pkg/model/proxy_config.go
    EffectiveProxyConfig, proxyConfigFromAnnotation; injection-template.yaml `range .ProxyConfig.ProxyMetadata`,
    @1.22.3 and 1.24.6). None when it does not name the key, or names it with no string (protojson then refuses the
    annotation and the injector ignores it)."""
    text = annotations.get(PROXY_CONFIG_ANNOTATION) if isinstance(annotations, dict) else None
    # The text first: the annotation is rare, and one that never spells the key (nor a YAML escape) cannot set it.
    if not isinstance(text, str) or (XDS_AGENT_KEY not in text and not any(e in text for e in _YAML_ESCAPES)):
        return None
    try:
        parsed = yamlsafe.safe_load_first(text)
    except Exception:  # a malformed annotation is refused by the injector: it sets nothing
        return None
    if not isinstance(parsed, dict):
        return None
    value = None
    for key in ("proxyMetadata", "proxy_metadata"):  # protojson takes the JSON name and the proto field name alike
        metadata = parsed.get(key)
        if isinstance(metadata, dict) and XDS_AGENT_KEY in metadata:
            value = metadata[XDS_AGENT_KEY]
    return value if isinstance(value, str) else None


# A workload's pods share the text: parsed once, remembered by a digest of it (an annotation may be up to 256 KiB:
# the texts themselves are not kept).
_addresses_by_digest: dict[bytes, tuple[str, ...]] = {}


# The text before and its addresses (a workload's pods are listed together), swapped as one tuple: readers in other
# threads (a fleet's clusters) see a pair, never half of two.
_last_annotation: tuple[str | None, tuple[str, ...]] = (None, ())


def _kept_annotation_addresses(annotation: str) -> tuple[str, ...]:
    global _last_annotation
    text, found = _last_annotation
    if annotation == text:
        return found
    found = _remembered_addresses(annotation)
    _last_annotation = (annotation, found)
    return found


def _remembered_addresses(annotation: str) -> tuple[str, ...]:
    if not _may_name_an_address(annotation):  # nearly every annotation (drain, holdApplication...): no digest
        return ()
    key = hashlib.blake2b(annotation.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    found = _addresses_by_digest.get(key)
    if found is None:
        found = _annotation_addresses(annotation)
        if len(_addresses_by_digest) < _ANNOTATION_ADDRESSES_KEPT:
            _addresses_by_digest[key] = found
    return found


def with_annotation_istiod(rules: ProxyRules, services: str, annotation: Any) -> str:
    """The pod frame's ca_service column (istiod_services) plus the istiod the pod's proxy.istio.io/config annotation
    names as discoveryAddress, where another: the agent dials it from its next start, or dials it already; which one
    it started with cannot be told, so both count (the worst owner decides). Never raises."""
    if not isinstance(annotation, str) or not annotation:
        return services
    named = services.split(SERVICES_SEPARATOR) if services else []
    for address in _kept_annotation_addresses(annotation):
        xds = rules.ca_service(address)
        if xds and xds not in named and ANNOTATION_NAMED + xds not in named:
            named.append(ANNOTATION_NAMED + xds)
    return SERVICES_SEPARATOR.join(named)


# Marks an istiod the pod's annotation names (with_annotation_istiod), not an injector: one the cluster does not have
# is no ASM injector's stale name (on_istio_control_plane's excuse for ASM's env) but the user's, whom the agent obeys.
ANNOTATION_NAMED = "annotation:"


def on_istio_control_plane(marks: ProxyMarks) -> bool:
    """Whether a proxy's CA_ADDR names Istio's istiod (a local istiod Deployment backs it, or Istio's install labels)
    or one the cluster does not have: it depends on the control plane `istioctl uninstall --purge` removes (or already
    removed), whoever built its image or set its env. Where its other marks are ASM's (classify: PROXY_UNKNOWN) the
    uninstall and finished gates still judge it: a FAIL, not a doubt --allow-unknown may accept."""
    # ASM's env (ASM_ID) is written by ASM's injector alone, which also wrote the CA_ADDR: an istiod not seen beside it
    # is no sign of Istio's (an image is: Istio's injector writes any image its values or the pod's annotation name).
    return marks.ca_owner == OWNER_ISTIO or (marks.ca_owner == OWNER_ABSENT and not marks.asm_env)


def find_proxy_container(spec: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The istio-proxy container of a pod spec and whether it is a native sidecar.

    Newer Istio injects it into initContainers with restartPolicy Always; older releases (and
    manual injection) into containers. Both are checked.
    """
    for container in spec.get("initContainers") or ():
        if container.get("name") == PROXY_CONTAINER and container.get("restartPolicy") == "Always":
            return container, True
    for container in spec.get("containers") or ():
        if container.get("name") == PROXY_CONTAINER:
            return container, False
    return None, False


def env_map(container: dict[str, Any]) -> dict[str, str]:
    """Literal env values of a container (valueFrom entries count as present with an empty value)."""
    out: dict[str, str] = {}
    for item in container.get("env") or ():
        name = item.get("name")
        if name:
            value = item.get("value")
            out[name] = "" if value is None else str(value)
    return out


def proxy_role(container: dict[str, Any]) -> str:
    """ROLE_GATEWAY for `proxy router`, ROLE_AMBIENT for `proxy waypoint` / ztunnel, else ROLE_SIDECAR."""
    return role_of(container.get("args") or (), str(container.get("image") or ""))


# What a proxy's args (`pilot-agent proxy <type>`) and image say it is: a gateway, an ambient proxy, else a sidecar.
GATEWAY_PROXY_ARG = "router"
WAYPOINT_PROXY_ARG = "waypoint"
AMBIENT_PROXY_ARGS = (WAYPOINT_PROXY_ARG, "ztunnel")
AMBIENT_IMAGE_MARK = "/ztunnel:"
# Every arg that makes a proxy other than a sidecar, as a set: for a reader testing a whole page of proxies.
NON_SIDECAR_ARGS = frozenset((GATEWAY_PROXY_ARG, *AMBIENT_PROXY_ARGS))


# What Istio's CNI agent writes on a pod it captured into the ambient data plane (annotation.AmbientRedirection,
# constants.AmbientRedirectionEnabled: the annotationPatch of cni/pkg/util/podutil.go @1.22.0..1.30.3).
AMBIENT_REDIRECTION = "ambient.istio.io/redirection"
AMBIENT_REDIRECTION_ENABLED = "enabled"


def role_of(args: Any, image: str) -> str:
    """proxy_role from a proxy container's args and image (what pods decoded as Structs give)."""
    if GATEWAY_PROXY_ARG in args:
        return ROLE_GATEWAY
    if any(arg in args for arg in AMBIENT_PROXY_ARGS) or AMBIENT_IMAGE_MARK in image:
        return ROLE_AMBIENT
    return ROLE_SIDECAR


def is_gateway_proxy(container: dict[str, Any]) -> bool:
    """Gateways run `pilot-agent proxy router`; sidecars run `proxy sidecar`."""
    args = container.get("args") or ()
    return GATEWAY_PROXY_ARG in args


def is_waypoint_proxy(container: dict[str, Any]) -> bool:
    """Ambient waypoints run `pilot-agent proxy waypoint` (istiod's waypoint template, Istio 1.20 to 1.28)."""
    args = container.get("args") or ()
    return WAYPOINT_PROXY_ARG in args


def xds_agent_value(env: dict[str, str]) -> str | None:
    """PROXY_CONFIG_XDS_AGENT as pilot-agent reads it: its own environment variable, read once at start
    (pilot/cmd/pilot-agent/options/options.go @1.22.0..1.30.3: env.Register(...).Get() at package init). The same key
    inside PROXY_CONFIG's proxyMetadata is not it: pilot-agent copies only ISTIO_META_* keys of proxyMetadata into the
    node metadata (pkg/bootstrap/config.go GetNodeMetaData) and none into its environment. The injector writes both;
    a pod with only the JSON one runs without it."""
    return env.get(XDS_AGENT_KEY)



# Proxyless gRPC, Istio's injection template `grpc-simple` (istiod's injector ConfigMap; manifests/charts/istio-control/
# istio-discovery/files/grpc-simple.yaml, rendered in pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected
# @1.12.0..1.30.3): no istio-proxy, but an init container `grpc-bootstrap-init` whose shell command writes the app's xDS
# bootstrap (the app's GRPC_XDS_BOOTSTRAP names the file) with SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010",
# ISTIO_NAMESPACE an env var of that init container (`value: |` of global.istioNamespace: "istio-system\n"). The app
# then takes its configuration from that istiod, straight, and loses it when that istiod is removed.
# (`grpc-agent`, the template ASM documents for proxyless gRPC, runs istio-proxy as an agent: classified as any proxy.)
PROXYLESS_BOOTSTRAP_INIT = "grpc-bootstrap-init"
# The xds_server of a pod whose bootstrap init container names no istiod this reader can tell.
XDS_SERVER_UNREADABLE = "?"
# Names of at most 63 characters (DNS labels): a bounded match per "istiod" in the text, so a hostile command of
# "istiod-istiod-..." costs linear time. Host names in any case (DNS names are case-insensitive:
# "Istiod.Istio-System.svc" resolves to Istio's istiod, and was no match, so a second, lower-case name elsewhere in the
# text was taken for the one the bootstrap uses); the shell variable's name is case-sensitive.
_BOOTSTRAP_ISTIOD = re.compile(
    r"((?i:istiod)(?:-[A-Za-z0-9-]{1,56})?)\.(\$\{ISTIO_NAMESPACE\}|\$ISTIO_NAMESPACE\b|[A-Za-z0-9-]{1,63})\.(?i:svc)"
    r"(?![A-Za-z0-9-])")


def proxyless_xds_server(command: Any, args: Any, env: Any) -> str:
    """`<namespace>/<service>` of the istiod the xDS bootstrap of a grpc-bootstrap-init container names (its command
    and args, `${ISTIO_NAMESPACE}` from its env: a list of (name, value) with None for valueFrom), or
    XDS_SERVER_UNREADABLE when it names none, or more than one, or a namespace variable without a literal value.
    Never raises: a live pod's fields may be of any type."""
    texts = [part for field in (command, args) if isinstance(field, list) for part in field if isinstance(part, str)]
    found = {(service.lower(), namespace if namespace.startswith("$") else namespace.lower())
             for text in texts for service, namespace in (m.groups() for m in _BOOTSTRAP_ISTIOD.finditer(text))}
    if len(found) != 1:
        return XDS_SERVER_UNREADABLE
    [(service, namespace)] = found
    if namespace.startswith("$"):
        values = [value for name, value in env if name == "ISTIO_NAMESPACE"] if isinstance(env, list) else []
        namespace = values[-1].strip() if values and isinstance(values[-1], str) else ""
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", namespace):
            return XDS_SERVER_UNREADABLE
    return f"{namespace}/{service}"

# ---------------------------------------------------------------- versions
_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")
_REV_VERSION = re.compile(r"^(\d+)-(\d+)(?:-(\d+))?$")


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


def parse_version(text: str | None) -> Version | None:
    """Parse `v1.28.3-aliyun.1`, `1.22.3-distroless`, `v1.24.6.62-g5c7e1f0b-aliyun`, `1-24-6`.

    `latest`, digests and garbage give None: the caller says UNKNOWN rather than guessing.
    """
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    m = _SEMVER.match(text) or _REV_VERSION.match(text)
    if not m or any(len(g) > 9 for g in m.groups() if g):  # absurd digit runs (int() refuses > 4300 digits)
        return None
    major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if major > 99 or minor > 999:
        return None
    return Version(major, minor, patch)


def image_tag(image: str | None) -> str | None:
    """The tag of an image reference, None when it is pinned by digest only or has no tag."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1] or None


def kubernetes_version(version_info: dict[str, Any] | None) -> Version | None:
    """The release a /version answer names; None for none, and for 0.0: Kubernetes' placeholder of a build without
    version stamping (gitVersion "v0.0.0-master+$Format:%H$", gitMajor/gitMinor "": kubernetes/kubernetes@0abf1fc0
    staging/src/k8s.io/component-base/version/base.go) is no release."""
    if not version_info:
        return None
    parsed = parse_version(version_info.get("gitVersion"))
    if parsed and (parsed.major, parsed.minor) != (0, 0):
        return parsed
    major, minor = _version_part(version_info.get("major")), _version_part(version_info.get("minor"))
    if major is None or minor is None or (major, minor) == (0, 0):
        return None
    return Version(major, minor)


# What Kubernetes writes as /version's major and minor: digits, the minor followed by "+" when gitVersion has a suffix
# (kubernetes/kubernetes@v1.35.8:hack/lib/version.sh kube::version::get_version_vars: KUBE_GIT_MAJOR/MINOR are the
# regex's digit groups of KUBE_GIT_VERSION, then `KUBE_GIT_MINOR+="+"`). "20.5", "2 1", [2, 1] or 20.5 are none of
# it: their digits run together ("205") were read as Kubernetes 1.205.
_VERSION_PART = re.compile(r"([0-9]{1,9})\+?")


def _version_part(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10**9 else None
    m = _VERSION_PART.fullmatch(value.strip()) if isinstance(value, str) else None
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------- mesh config
MESH_CONFIGMAP = re.compile(r"^istio(-.+)?$")


def mesh_configmaps(configmaps: list[dict[str, Any]], namespace: str = "istio-system") -> list[dict[str, Any]]:
    """Mesh ConfigMaps: `istio` or `istio-<rev>` in istio-system holding a `mesh` key."""
    out = []
    for cm in configmaps:
        meta = cm.get("metadata") or {}
        if meta.get("namespace") != namespace or not MESH_CONFIGMAP.match(meta.get("name", "")):
            continue
        if "mesh" in (cm.get("data") or {}):
            out.append(cm)
    return out


def parse_mesh(cm: dict[str, Any]) -> dict[str, Any]:
    """The `mesh` YAML of a mesh ConfigMap; raises ValueError with a reason when it is not YAML."""
    text = (cm.get("data") or {}).get("mesh") or ""
    try:
        mesh = yamlsafe.safe_load(text) or {}
    except yaml.YAMLError as exc:
        # Phrases (the ValueError's argument): a message says them in the reader's language, the parser's own words
        # as they are.
        raise ValueError(Phrase(N_("mesh config is not valid YAML: {error}"),
                                error=str(exc).splitlines()[0] if str(exc) else "")) from exc
    if not isinstance(mesh, dict):
        raise ValueError(Phrase(N_("mesh config is not a mapping")))
    return mesh


def revision_of_configmap(name: str) -> str:
    return name[len("istio-"):] if name.startswith("istio-") else "default"


def parse_time(text: str | None) -> dt.datetime | None:
    """RFC3339 as Kubernetes writes it; None when absent or unreadable (the caller says UNKNOWN)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def last_change_time(obj: dict[str, Any]) -> str | None:
    """The newest managedFields time (RFC3339 sorts as text), else creationTimestamp."""
    meta = obj.get("metadata") or {}
    times = [m.get("time") for m in meta.get("managedFields") or () if m.get("time")]
    return max(times) if times else meta.get("creationTimestamp")


# ---------------------------------------------------------------- Istio's node agents
ISTIO_CNI_DAEMONSET = "istio-cni-node"  # Istio's CNI plug-in's DaemonSet (charts/istio-cni), in any namespace


def is_ztunnel(daemonset: dict[str, Any]) -> bool:
    """Istio's ambient node proxy (charts/ztunnel): named ztunnel or labelled app=ztunnel, or (from 1.26, whose
    `resourceName` renames it) app.kubernetes.io/name=ztunnel (templates/daemonset.yaml @1.26.8)."""
    labels = (daemonset.get("metadata") or {}).get("labels") or {}
    return (daemonset.get("metadata") or {}).get("name") == "ztunnel" or "ztunnel" in (
        labels.get("app"), labels.get("app.kubernetes.io/name"))


# ---------------------------------------------------------------- istiod
def is_istiod_deployment(dep: dict[str, Any]) -> bool:
    """The self-built control plane: label app=istiod (ASM's is managed: only a headless Service)."""
    labels = (dep.get("metadata") or {}).get("labels") or {}
    return labels.get("app") == "istiod"


# Istio's ambient waypoint proxies: the Gateway API class istiod deploys them for, the label naming it, and the
# labels `istioctl waypoint apply` puts on the waypoint's Gateway (istiod copies a Gateway's labels to its Deployment).
WAYPOINT_CLASS = "istio-waypoint"
GATEWAY_CLASS_LABEL = "gateway.networking.k8s.io/gateway-class-name"
WAYPOINT_FOR_LABELS = ("istio.io/waypoint-for", "gateway.istio.io/waypoint-for")
_WAYPOINT_FOR, _GATEWAY_WAYPOINT_FOR = WAYPOINT_FOR_LABELS
# Which of istiod's controllers made a Gateway API deployment (pkg/config/constants/constants.go): the mesh
# controller makes waypoints (1.20 on), the east-west controller ambient's east-west gateways (1.27 on).
MANAGED_BY_CONTROLLER_LABEL = "gateway.istio.io/managed"
WAYPOINT_CONTROLLER = "istio.io-mesh-controller"
EASTWEST_CONTROLLER = "istio.io-eastwest-controller"


def is_waypoint_workload(labels: dict[str, str], proxy: dict[str, Any] | None) -> bool:
    """A waypoint proxy of Istio's ambient data plane, from a workload's labels (its pod template's over its own)
    and its istio-proxy container (find_proxy_container).

    istiod writes the class label on a waypoint's Deployment only from Istio 1.28; before, the controller that made
    it (gateway.istio.io/managed: istio.io-mesh-controller) and the Gateway's own labels (waypoint-for when `istioctl
    waypoint` made the Gateway). Its waypoint template runs `proxy waypoint` in every release (manifests/charts/
    istio-control/istio-discovery/files/waypoint.yaml, 1.20 to 1.28) -- but so do ambient's east-west gateways
    (class istio-east-west, made by the east-west controller: testdata/deployment/istio-east-west.yaml @1.27.9,
    1.28.10), which are gateways between networks, not waypoints: the controller, then the class decide first. The
    controller before the class: a GatewayClass of the user's naming whose controllerName is the mesh controller
    deploys waypoints too, labelled with its own name (deploymentcontroller.go @1.28.10 picks the template by the
    class's controller; custom-class.yaml @1.28.10).
    Labels one by one (asked per Deployment, where a generator costs more than the test); args only of a proxy.
    """
    controller = labels.get(MANAGED_BY_CONTROLLER_LABEL)
    if controller == WAYPOINT_CONTROLLER:
        return True
    if controller == EASTWEST_CONTROLLER:
        return False
    gateway_class = labels.get(GATEWAY_CLASS_LABEL)
    if gateway_class is not None:
        return gateway_class == WAYPOINT_CLASS
    return (_WAYPOINT_FOR in labels or _GATEWAY_WAYPOINT_FOR in labels
            or (proxy is not None and is_waypoint_proxy(proxy)))


def is_eastwest_gateway_api(labels: dict[str, str]) -> bool:
    """A Gateway API deployment istiod made for a gateway between networks: class istio-east-west (or another class
    naming east-west), or, without a class label (1.27), made by the east-west controller."""
    return "east-west" in labels.get(GATEWAY_CLASS_LABEL, "") or labels.get(
        MANAGED_BY_CONTROLLER_LABEL) == EASTWEST_CONTROLLER


def is_waypoint_deployment(dep: dict[str, Any]) -> bool:
    """is_waypoint_workload of a Deployment (or DaemonSet) as the gateway scan reads it."""
    template = (dep.get("spec") or {}).get("template") or {}
    labels = {**((dep.get("metadata") or {}).get("labels") or {}),
              **(((template.get("metadata") or {}).get("labels")) or {})}
    return is_waypoint_workload(labels, find_proxy_container(template.get("spec") or {})[0])


# The Sail operator (istio-ecosystem/sail-operator, Istio's operator since the istio-operator's removal; Red Hat
# OpenShift Service Mesh 3 ships it as servicemesh-operator3). chart/templates/deployment.yaml @1.30.3: Deployment
# `{{ .Values.deployment.name }}` (sail-operator), labelled app.kubernetes.io/component: sail-operator (fixed) and
# control-plane: <deployment name>, its container `sail-operator` running /sail-operator. Tuples, not sets: a value
# read from a cluster may be anything (a list is unhashable), `in` a tuple only compares.
SAIL_OPERATOR_NAMES = ("sail-operator", "servicemesh-operator3")
_SAIL_COMPONENT, _SAIL_CONTROL_PLANE = "app.kubernetes.io/component", "control-plane"
# The API group of its resources (Istio, IstioRevision, IstioRevisionTag, IstioCNI, ZTunnel) and the label its Helm
# post-renderer puts on every object it renders (pkg/helm/postrenderer.go, pkg/constants ManagedByLabelValue
# "sail-operator"; pkg/install/library.go "sail-library" when embedded as a library).
SAIL_GROUP = "sailoperator.io"
SAIL_MANAGED_BY = "managed-by"
SAIL_MANAGED_BY_VALUES = ("sail-operator", "sail-library")
# The API groups of Istio's installers: an object owned by one of their resources is Istio's installation, not ASM's.
ISTIO_INSTALLER_GROUPS = (SAIL_GROUP, "install.istio.io")

ISTIO_OPERATOR = "istio-operator"
# The labels that say a Deployment (or its pods) is an operator of Istio's: Istio's chart sets `name`, other packagings
# `app.kubernetes.io/name`; the Sail operator's chart app.kubernetes.io/component and control-plane.
_OPERATOR_LABELS = ("name", "app.kubernetes.io/name")
_OPERATOR_NAME, _OPERATOR_APP_NAME = _OPERATOR_LABELS
_OPERATOR_LABEL_SET = frozenset((*_OPERATOR_LABELS, _SAIL_COMPONENT, _SAIL_CONTROL_PLANE))


def is_sail_operator(dep: dict[str, Any]) -> bool:
    """The Sail operator's Deployment: named sail-operator / servicemesh-operator3, or labelled as its chart labels it
    (app.kubernetes.io/component: sail-operator; control-plane: sail-operator | servicemesh-operator3), on the
    Deployment or its pod template."""
    meta = dep.get("metadata") or {}
    if meta.get("name") in SAIL_OPERATOR_NAMES:
        return True
    template = ((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}
    for labels in (meta.get("labels"), template.get("labels")):
        if isinstance(labels, dict) and (labels.get(_SAIL_COMPONENT) == "sail-operator"
                                         or labels.get(_SAIL_CONTROL_PLANE) in SAIL_OPERATOR_NAMES):
            return True
    return False


def is_istio_operator(dep: dict[str, Any]) -> bool:
    """An in-cluster operator of Istio's, which reconciles Istio's installation back: the istio-operator (Istio 1.24
    removed it; older installs run it) or the Sail operator (is_sail_operator tells which). The istio-operator as
    Istio's own chart makes it (manifests/charts/istio-operator, which `istioctl operator init [--revision R]`
    renders): named istio-operator, or istio-operator-<revision>; the Deployment itself unlabelled, its pods labelled
    name=istio-operator. Also a Deployment or pod template labelled app.kubernetes.io/name=istio-operator.
    """
    meta = dep.get("metadata") or {}
    name = meta.get("name")
    if name == ISTIO_OPERATOR or name in SAIL_OPERATOR_NAMES:
        return True
    template = ((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}
    # Asked of every Deployment (~9,500 at 50k pods): one set test in C over each label map's keys rules out nearly
    # all of them before any lookup; no generator nor loop over the maps (a frame or iterator per Deployment), no call
    # of is_sail_operator (a frame each): its label tests are written out here.
    labels = meta.get("labels")
    if labels and not _OPERATOR_LABEL_SET.isdisjoint(labels.keys()) and (
            labels.get(_OPERATOR_NAME) == ISTIO_OPERATOR or labels.get(_OPERATOR_APP_NAME) == ISTIO_OPERATOR
            or labels.get(_SAIL_COMPONENT) == "sail-operator"
            or labels.get(_SAIL_CONTROL_PLANE) in SAIL_OPERATOR_NAMES):
        return True
    labels = template.get("labels")
    return bool(labels) and not _OPERATOR_LABEL_SET.isdisjoint(labels.keys()) and (
        labels.get(_OPERATOR_NAME) == ISTIO_OPERATOR or labels.get(_OPERATOR_APP_NAME) == ISTIO_OPERATOR
        or labels.get(_SAIL_COMPONENT) == "sail-operator" or labels.get(_SAIL_CONTROL_PLANE) in SAIL_OPERATOR_NAMES)


def istiod_revision(dep: dict[str, Any]) -> str:
    labels = (dep.get("metadata") or {}).get("labels") or {}
    return labels.get("istio.io/rev") or "default"


# Every Istio release is 1.x (istio/istio tags 1.0.0 to 1.30.3, no other major): a tag read as another major numbers
# something else, never the Istio release an istiod runs. Maistra and Red Hat OpenShift Service Mesh 2.x tag istiod's
# image with the product's own version (pilot-ubi8:2.0.2 and pilot-rhel8:2.0.8 for 2.0, pilot-rhel8:2.1.0 for 2.1:
# maistra/istio-operator@maistra-2.5.0 manifests-maistra/2.1.0/maistraoperator.v2.1.0.clusterserviceversion.yaml,
# manifests-servicemesh/2.1.0/servicemeshoperator.v2.1.0.clusterserviceversion.yaml), a product built on another Istio
# (OpenShift Service Mesh 2.1 on Istio 1.9, 2.4 on 1.16, 2.6 on 1.20: Red Hat's release announcements,
# redhat.com/en/blog/introducing-openshift-service-mesh-2.1-federation-has-arrived), and label its istiod Deployment
# `maistra-version` (resources/helm/v2.0 .. v2.5/istio-control/istio-discovery/templates/deployment.yaml there).
ISTIO_MAJOR = 1
MAISTRA_VERSION_LABEL = "maistra-version"


def istio_release(version: Version | None) -> Version | None:
    """`version` when it can be an Istio release (1.x), else None."""
    return version if version is not None and version.major == ISTIO_MAJOR else None


def maistra_version(dep: dict[str, Any]) -> str | None:
    """The Maistra / OpenShift Service Mesh version an istiod Deployment is labelled with (maistra-version), None when
    it is not Maistra's."""
    labels = (dep.get("metadata") or {}).get("labels") or {}
    value = labels.get(MAISTRA_VERSION_LABEL) if isinstance(labels, dict) else None
    return None if value is None else str(value)


def istiod_version(dep: dict[str, Any]) -> tuple[Version | None, str]:
    """Version of an istiod Deployment and where it came from (image tag, then labels): an Istio release (1.x) only;
    a Maistra / OpenShift Service Mesh istiod's image tags and labels number the product, not Istio."""
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    maistra = maistra_version(dep)
    if maistra is not None:
        return None, f"Maistra / OpenShift Service Mesh {maistra} (label {MAISTRA_VERSION_LABEL})"
    for c in containers:
        if c.get("name") == "discovery" or "pilot" in (c.get("image") or ""):
            tag = image_tag(c.get("image"))
            v = istio_release(parse_version(tag))
            if v:
                return v, f"image {c.get('image')}"
    labels = (dep.get("metadata") or {}).get("labels") or {}
    for key in ("operator.istio.io/version", "app.kubernetes.io/version"):
        v = istio_release(parse_version(labels.get(key)))
        if v:
            return v, f"label {key}={labels[key]}"
    image = containers[0].get("image") if containers else None
    return None, f"image {image!r} has no readable version tag"


ISTIOD_SERVICE_PREFIX = "istiod"  # tested alone first where every Service is asked
ISTIOD_SERVICE = re.compile(rf"^{ISTIOD_SERVICE_PREFIX}(-[a-z0-9-]+)?$")
ASM_MARK = "asm.alibabacloud.com"


def asm_marked(meta: dict[str, Any]) -> bool:
    """Whether an object's labels or annotations carry one of ASM's keys (asm.alibabacloud.com/...)."""
    return any(ASM_MARK in str(k) for k in (*(meta.get("labels") or {}), *(meta.get("annotations") or {})))


def asm_owned(meta: dict[str, Any]) -> str | None:
    """Why ASM (or another owner) owns this object, None when nothing says so (a Phrase: findings say it in the
    reader's language)."""
    labels = meta.get("labels") or {}
    if asm_marked(meta):
        return Phrase(N_("ASM label/annotation"))
    if labels.get("provider") == "asm":
        return Phrase(N_("label {label}"), label="provider=asm")
    # An owner of Istio's installers (sail-operator's IstioRevision, IstioCNI...; an IstioOperator) proves the object is
    # Istio's installation, not ASM's: pkg/helm/postrenderer.go adds that ownerReference to every object it renders.
    refs = [r for r in meta.get("ownerReferences") or () if not installer_owned_ref(r)]
    if refs:
        return Phrase(N_("owned by {owner}"), owner=f"{refs[0].get('kind')}/{refs[0].get('name')}")
    return None


def owner_group(ref: Any) -> str | None:
    """The API group of the resource an ownerReference names ("" for the core group), None for a malformed one."""
    return str(ref.get("apiVersion") or "").partition("/")[0] if isinstance(ref, dict) else None


def installer_owned_ref(ref: Any) -> bool:
    """Whether an ownerReference names a resource of one of Istio's installers (ISTIO_INSTALLER_GROUPS)."""
    return owner_group(ref) in ISTIO_INSTALLER_GROUPS


SAIL_INSTALLED = "rendered by the Sail operator"


def sail_mesh_config_patch(cluster: str, istio: str, resource: str = "istios.sailoperator.io") -> str:
    """The command that puts PROXY_CONFIG_XDS_AGENT into a Sail `Istio` resource's values (or, `resource`, an
    IstioRevision's), from which the Sail operator renders the mesh config (api/v1/values_types.gen.go:
    spec.values.meshConfig.defaultConfig.proxyMetadata)."""
    return (f"{kubectl(cluster)} patch {object_ref(resource, istio)} --type=merge -p "
            "'{\"spec\":{\"values\":{\"meshConfig\":{\"defaultConfig\":{\"proxyMetadata\":"
            "{\"PROXY_CONFIG_XDS_AGENT\":\"true\"}}}}}}'")


def unowned_among(items: list[tuple[Any, dict[str, Any]]]) -> list[tuple[Any, dict[str, Any]]]:
    """The (item, its metadata) pairs that no other among them owns (an ownerReference to its uid): what a user
    deletes, the owned ones going with their owners (an Istio's IstioRevisions). uids compared as text: a hand-made
    snapshot may hold anything there."""
    present = {str(uid) for _, meta in items if (uid := meta.get("uid"))}
    return [(item, meta) for item, meta in items
            if not any(isinstance(r, dict) and str(r.get("uid")) in present for r in meta.get("ownerReferences") or ())]


def sail_installed(meta: dict[str, Any]) -> bool:
    """Rendered by the Sail operator: its managed-by label, or an owner reference to one of its resources."""
    labels = meta.get("labels") or {}
    return labels.get(SAIL_MANAGED_BY) in SAIL_MANAGED_BY_VALUES or any(
        owner_group(r) == SAIL_GROUP for r in meta.get("ownerReferences") or ())


# Helm 3.2+ writes both on every object of a release (setMetadataVisitor, helm/helm@v3.21.4:pkg/action/validate.go,
# called by install.go/upgrade.go); the release's record lives in that namespace, which `helm uninstall -n` names.
HELM_RELEASE = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def helm_release(meta: dict[str, Any], default_namespace: str = "") -> tuple[str, str] | None:
    """(release, namespace of the release) of an object Helm installed, None when it carries no release annotation;
    the namespace falls back to the object's own, then to `default_namespace` (a cluster-scoped object)."""
    notes = meta.get("annotations") or {}
    release = notes.get(HELM_RELEASE)
    if not release:
        return None
    return str(release), str(notes.get(HELM_RELEASE_NAMESPACE) or meta.get("namespace") or default_namespace)


def helm_uninstall(cluster: str, release: str, namespace: str) -> str:
    """The command that removes a Helm release (and Helm's record of it) from a cluster."""
    return f"helm --kubeconfig={kubeconfig_var(cluster)} uninstall {sh(release)} {ns_flag(namespace)}"


def istio_installed(meta: dict[str, Any]) -> str | None:
    """Why this object looks installed by Istio (the Sail operator, istioctl/operator or Helm), None otherwise."""
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if sail_installed(meta):
        return SAIL_INSTALLED
    if "operator.istio.io/component" in labels or "install.operator.istio.io/owning-resource" in labels:
        return "istioctl/operator labels"
    release = str(annotations.get(HELM_RELEASE) or labels.get("release") or "")
    chart = str(labels.get("helm.sh/chart") or labels.get("chart") or "")
    if "istio" in release or chart.startswith(("istio", "base-", "istiod-", "gateway")) or (
            labels.get("app.kubernetes.io/part-of") == "istio"):
        return "Helm chart labels"
    return None


def istiod_owners(services: list[dict[str, Any]], deployments: list[dict[str, Any]],
                  webhooks: list[dict[str, Any]] | None = None) -> dict[str, tuple[str, str]]:
    """`<namespace>/<name>` of every istiod[-<rev>] Service or istiod Deployment -> (OWNER_*, why).

    ASM's managed control plane leaves a Service istiod-<rev> with nothing behind it in the cluster. A
    self-built Istio has a Service of the same shape (`istiod-1-24-2` from a version-named revision), backed
    by its own istiod Deployment and labelled by its installer. So a Service is ASM's only when no local
    istiod Deployment backs it and it carries no Istio install labels (domain.md). One with ASM's marks and
    Istio's install labels but nothing behind it is OWNER_CONFLICT: the marks contradict each other.
    A remote cluster's Istio has nothing behind its istiod Service either, and up to 1.23 its charts label it not at
    all: without ASM's marks, what applied it, Istio's injector webhooks (`webhooks`, the MutatingWebhookConfigurations
    read) calling it, or its shape decides (_unlabelled_istiod_owner).
    """
    called = istio_injector_services(webhooks)
    local: dict[str, dict[str, Any]] = {}
    for dep in deployments:
        if is_istiod_deployment(dep):
            meta = dep.get("metadata") or {}
            local[f"{meta.get('namespace', '')}/{meta.get('name', '')}"] = dep
    out: dict[str, tuple[str, str]] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        name = meta.get("name", "")
        if not name.startswith(ISTIOD_SERVICE_PREFIX) or not ISTIOD_SERVICE.match(name):  # every Service: prefix first
            continue
        key = f"{meta.get('namespace', '')}/{name}"
        selector = (svc.get("spec") or {}).get("selector") or {}
        backing = [k for k, dep in local.items() if k == key or (
            selector and k.split("/")[0] == meta.get("namespace") and _selects(selector, dep))]
        installed = istio_installed(meta)
        marked = asm_marked(meta)
        if backing:
            out[key] = (OWNER_ISTIO, f"istiod Deployment {backing[0]} runs in the cluster")
        elif marked and installed:
            out[key] = (OWNER_CONFLICT, f"Service {key} carries ASM's {ASM_MARK} marks and {installed}")
        elif marked:
            out[key] = (OWNER_ASM, Phrase(N_("Service {service} carries ASM's {mark} labels/annotations"),
                                          service=key, mark=ASM_MARK))
        elif installed:
            out[key] = (OWNER_ISTIO, f"Service {key} carries {installed}")
        else:
            out[key] = _unlabelled_istiod_owner(key, meta, svc.get("spec") or {}, called.get(key))
    for key in local:  # a CA_ADDR naming a local istiod Deployment is Istio's, with or without its Service
        out.setdefault(key, (OWNER_ISTIO, f"istiod Deployment {key} runs in the cluster"))
    return out


# What else than Istio's install labels (istio_installed) an istiod[-<rev>] Service with nothing behind it carries when
# Istio installed it for a remote cluster. Istio's remote charts up to 1.23 (manifests/charts/base and istiod-remote,
# templates/services.yaml @1.10.6..1.23.6: Service istiod[-<rev>] or istiod[-<rev>]-remote, no selector, port tcp-istiod
# 15012 (+ tcp-webhook 443->15017 from 1.14), type ExternalName for a remotePilotAddress host name, else an IP in an
# Endpoints object) write no label at all on it: only the tool that applied the chart marks it. Helm 3.2+ labels
# app.kubernetes.io/managed-by=Helm and annotates meta.helm.sh/release-name on every object of a release, whatever its
# name (setMetadataVisitor, helm/helm@v3.21.4:pkg/action/validate.go, called by install.go/upgrade.go); `helm
# template | kubectl apply` and Argo CD (which renders charts itself) leave no Helm mark, Argo CD its tracking instead.
# From 1.24 the istiod chart's remote profile labels it app.kubernetes.io/part-of=istio and helm.sh/chart=istiod-<v>
# (remote-istiod-service.yaml @1.24.6..1.30.3), which istio_installed reads.
HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
REMOTE_ISTIOD_SUFFIX = "-remote"  # istiod[-<rev>]-remote: the remote control plane's Service beside a local istiod
# The markers of the tools that apply objects from Git (checks/gitops.py, auditor/labelled.py name the same keys):
# Argo CD's annotation tracking and label tracking (its default before 3.0), Flux's kustomize-/helm-controller labels.
GITOPS_ANNOTATIONS = ("argocd.argoproj.io/tracking-id",)
GITOPS_LABELS = ("kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name", "app.kubernetes.io/instance")


def istio_injector_services(webhooks: Any) -> dict[str, str]:
    """`<namespace>/<service>` each of Istio's injector webhooks calls -> why that webhook is Istio's.

    Istio's: a MutatingWebhookConfiguration carrying Istio's install labels (istio_installed) and none of ASM's marks.
    The remote charts hard-code operator.istio.io/component: "Pilot" on theirs, whatever applied them
    (istiod-remote/templates/mutatingwebhook.yaml @1.10.6..1.23.6), so they tell a remote install the Service's own
    metadata does not. A webhook calling a URL (istiodRemote.injectionURL) names no Service."""
    out: dict[str, str] = {}
    for config in webhooks or ():
        meta = (config.get("metadata") if isinstance(config, dict) else None) or {}
        if not isinstance(meta, dict) or asm_marked(meta):
            continue
        installed = istio_installed(meta)
        if not installed:
            continue
        for hook in config.get("webhooks") or ():
            service = ((hook.get("clientConfig") if isinstance(hook, dict) else None) or {}).get("service") or {}
            if isinstance(service, dict) and service.get("name"):
                key = f"{service.get('namespace') or ''}/{service['name']}"
                out.setdefault(key, f"Istio's injector webhook {meta.get('name')} ({installed}) calls it")
    return out


def _unlabelled_istiod_owner(key: str, meta: dict[str, Any], spec: dict[str, Any],
                             called_by: str | None = None) -> tuple[str, str]:
    """Owner of an istiod Service with no local istiod behind it, no ASM mark and no Istio install label.

    ASM's managed control plane leaves such a Service (domain.md: headless, nothing behind it); so does Istio's remote
    install up to 1.23 when what applied it wrote none of Istio's labels. Never ASM's:
    - installed by Helm, whatever the release's name (a release of the cluster's own), or named as the remote charts
      name it beside a local istiod (`istiod[-<rev>]-remote`): OWNER_ISTIO;
    - called by Istio's injector webhook (`called_by`), an ExternalName, or tracked by Argo CD / Flux: OWNER_UNPROVEN,
      as nothing published shows what ASM's own webhooks and Service carry. A proxy naming it keeps ASM's env or image
      as its only ASM marks, one without them is Istio's, and no ASM version is read from its name.
    Else OWNER_ASM (the domain rule).
    """
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    release = annotations.get(HELM_RELEASE)
    if release or labels.get(HELM_MANAGED_BY[0]) == HELM_MANAGED_BY[1]:
        named = f" (release {release})" if release else ""
        return OWNER_ISTIO, (f"Service {key} was installed by Helm{named} with no local istiod behind it: Istio's "
                             "remote charts install it so (charts base, istiod-remote up to 1.23 label it no further)")
    if key.endswith(REMOTE_ISTIOD_SUFFIX):
        return OWNER_ISTIO, f"Service {key} bears the name Istio's remote charts give a remote control plane's istiod"
    if called_by:
        return OWNER_UNPROVEN, f"Service {key} has no local istiod behind it, but {called_by}"
    if spec.get("type") == "ExternalName":
        return OWNER_UNPROVEN, (f"Service {key} is an ExternalName ({spec.get('externalName')}), as Istio's remote "
                                "charts write for a remote istiod's host name; ASM's managed one is headless")
    tracked = [k for k in GITOPS_ANNOTATIONS if annotations.get(k)] + [k for k in GITOPS_LABELS if labels.get(k)]
    if tracked:
        return OWNER_UNPROVEN, (f"Service {key} was applied from Git or a chart ({tracked[0]}), as Istio's remote "
                                "install can be; ASM's managed control plane is not")
    return OWNER_ASM, Phrase(N_("Service {service} has no local istiod behind it and no Istio install labels"),
                             service=key)


def _selects(selector: dict[str, Any], dep: dict[str, Any]) -> bool:
    labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
    return all(labels.get(k) == v for k, v in selector.items())


def asm_istiod_names(owners: dict[str, tuple[str, str]], namespace: str | None = None) -> set[str]:
    """Names of ASM's istiod Services among istiod_owners' answer (in `namespace` when given): what a webhook or a
    CA_ADDR of ASM's names."""
    return {key.partition("/")[2] for key, (owner, _) in owners.items()
            if owner == OWNER_ASM and (namespace is None or key.partition("/")[0] == namespace)}


def asm_istiod_versions(owners: dict[str, tuple[str, str]]) -> list[tuple[str, Version]]:
    """(Service name, version) of ASM's istiod-<rev> Services in istio-system whose revision is a version
    (`istiod-1-24-6` -> 1.24.6). Never an Istio one: a version-named Istio revision says nothing of ASM."""
    out = []
    for key, (owner, _) in owners.items():
        namespace, _, name = key.partition("/")
        m = re.match(r"^istiod-(\d+-\d+-\d+)$", name)
        if owner == OWNER_ASM and namespace == "istio-system" and m:
            v = parse_version(m.group(1))
            if v:
                out.append((name, v))
    return out


def kubeconfig_var(cluster: str) -> str:
    """Placeholder for a cluster's kubeconfig in remediation commands, e.g. "${KUBECONFIG_CLUSTER_A:?}".

    Double-quoted: the operator's path may hold spaces (macOS home directories often do). `:?`: unset, the
    shell stops the command, where an empty --kubeconfig would fall back to kubectl's current context,
    which may be another cluster.
    """
    return '"${' + kubeconfig_env(cluster) + ':?}"'


@functools.lru_cache(maxsize=1024)  # asked once per remediation command: tens of thousands per audit, few clusters
def kubeconfig_env(cluster: str) -> str:
    """The environment variable that holds a cluster's kubeconfig path, e.g. KUBECONFIG_CLUSTER_A."""
    return "KUBECONFIG_" + re.sub(r"[^A-Za-z0-9]", "_", cluster).upper()



# ---------------------------------------------------------------- remediation commands
ASM_KUBECTL = 'kubectl --kubeconfig="${ASM_KUBECONFIG:?}"'
_ROLLOUT_KINDS = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset"}
# Owner kinds restarted by their own kubectl plugin: (plugin and its restart verb, resource prefix).
# The Argo plugin takes a bare name: `--` ends its options, so a Rollout named `--all` stays a name.
_PLUGIN_RESTARTS = {"Rollout": ("argo rollouts restart", "-- "), "CloneSet": ("kruise rollout restart", "cloneset/")}
# A CloneSet updating in place (updateStrategy InPlaceIfPossible/InPlaceOnly) keeps its pods: no injection. So do an
# OpenKruise Advanced StatefulSet's (spec.updateStrategy.rollingUpdate.podUpdatePolicy) and Advanced DaemonSet's
# (spec.updateStrategy.rollingUpdate.rollingUpdateType) in place (openkruise/kruise@v1.9.0 apis/apps/v1beta1/
# statefulset_types.go, daemonset_types.go: InPlaceIfPossible).
_IN_PLACE_NOTE = ("  # if its updateStrategy.type is InPlaceIfPossible or InPlaceOnly, the pods are updated in "
                  "place and keep their sidecar: delete them one by one instead")
_IN_PLACE_NOTES = {
    "CloneSet": _IN_PLACE_NOTE,
    "StatefulSet.apps.kruise.io": "  # if its updateStrategy.rollingUpdate.podUpdatePolicy is InPlaceIfPossible or "
                                  "InPlaceOnly, the pods are updated in place and keep their sidecar: delete them one "
                                  "by one instead",
    "DaemonSet.apps.kruise.io": "  # if its updateStrategy.rollingUpdate.rollingUpdateType is InPlaceIfPossible, the "
                                "pods are updated in place and keep their sidecar: delete them one by one instead"}
# OpenKruise's Advanced StatefulSet and DaemonSet (kinds.workload_kind): no restart verb of kubectl's or of the kruise
# plugin's (openkruise/kruise-tools@v1.2.2 pkg/internal/polymorphichelpers/objectrestarter.go restarts CloneSets only):
# their pods are deleted one at a time, selected by their controller reference (the built-in's kind name).
_ADVANCED_OWNER_KINDS = {"StatefulSet.apps.kruise.io": "StatefulSet", "DaemonSet.apps.kruise.io": "DaemonSet"}
_OWNER_COLUMNS = ("custom-columns=NAME:.metadata.name,KIND:.metadata.ownerReferences[0].kind,"
                  "OWNER:.metadata.ownerReferences[0].name")
# Kinds whose pod template is always spec.template (a patch there rolls the pods): built-ins, OpenKruise.
_TEMPLATE_KINDS = {**_ROLLOUT_KINDS, "CloneSet": "clonesets.apps.kruise.io",
                   "StatefulSet.apps.kruise.io": "statefulsets.apps.kruise.io",
                   "DaemonSet.apps.kruise.io": "daemonsets.apps.kruise.io"}
# Kinds that make Jobs from a template of their own, and where it is: a CronJob's spec.jobTemplate.spec, KEDA's
# ScaledJob's spec.jobTargetRef (a JobSpec copied into each Job it makes: kedacore/keda@v2.20.2 apis/keda/v1alpha1/
# scaledjob_types.go, pkg/scaling/executor/scale_jobs.go generateJobs; CRD scaledjobs.keda.sh).
_RUN_KINDS = {"CronJob": ("cronjob", "jobTemplate", "spec"), "ScaledJob": ("scaledjobs.keda.sh", "jobTargetRef")}
# What a Kubernetes name can hold that a shell reads as one plain word (RBAC names add ':', '@', '+', '=').
_SHELL_WORD = re.compile(r"[A-Za-z0-9._:@+=-]+")
_shell_word = _SHELL_WORD.fullmatch  # bound once: asked about every name of every command (~100,000 at 50k pods)


def shell_safe(text: str) -> bool:
    """True when `text` can stand unquoted in a copy-pasted command (no spaces, quotes, $, ;, newlines...)."""
    return _shell_word(text or "") is not None


def sh(text: str) -> str:
    """`text` as one shell word: unchanged when safe, else single-quoted (names from a snapshot are untrusted)."""
    return text if shell_safe(text) else shlex.quote(text)


# Characters that end a line when pasted into a terminal (the tty turns CR into NL) or drive it (ESC).
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def sh_text(text: str) -> str:
    """`text` quoted like sh() and kept on one line, for a `# ...` comment or prose around a command.

    Quoting does not help there: a newline ends the comment and whatever follows runs as a command, so
    control characters are shown escaped (`\\n`, `\\x1b`).
    """
    return one_line(sh(text))


def command_lines(text: str) -> list[str] | None:
    """`text` split at the newlines of the shell text itself: outside single and double quotes and not escaped by a
    backslash (a newline in a comment ends it). None when a quote does not close: then nothing tells which newlines
    are the text's own."""
    lines: list[str] = []
    start, quote, index, size = 0, "", 0, len(text)
    while index < size:
        char = text[index]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif quote == '"':
            if char == "\\":
                index += 1
            elif char == '"':
                quote = ""
        elif char == "\\":
            index += 1
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == start or text[index - 1] in " \t"):
            end = text.find("\n", index)  # a comment: quotes in it mean nothing
            index = size if end < 0 else end
            continue
        elif char == "\n":
            lines.append(text[start:index])
            start = index + 1
        index += 1
    if quote:
        return None
    lines.append(text[start:])
    return lines


def one_line(text: str) -> str:
    """`text` with the characters that end or drive a terminal line shown escaped: a command (its words already quoted
    by sh()) or prose made a `# ...` comment stays one line."""
    return _LINE_BREAKING.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@functools.lru_cache(maxsize=1024)
def kubectl(cluster: str) -> str:
    return f"kubectl --kubeconfig={kubeconfig_var(cluster)}"


def ns_flag(namespace: str) -> str:
    """`-n NAMESPACE` as shell words; `--namespace=NAMESPACE` (one argument) when the name starts with `-`, so
    no tool on the way (xargs, a plugin) can read it as an option of its own."""
    return f"--namespace={sh(namespace)}" if namespace.startswith("-") else f"-n {sh(namespace)}"


def kubectl_in(cluster: str, namespace: str) -> str:
    """`kubectl --kubeconfig=... -n NAMESPACE`: the head of every command about one namespace's objects.

    Built once per (cluster, namespace) while among the last _HEADS_KEPT asked: a workload's commands (restart-risk,
    istio-sidecars-remaining, pods-xds-agent... ~9,000 at 50k pods) otherwise quote its namespace through sh() each."""
    try:
        return _kept_kubectl_in(cluster, namespace)
    except TypeError:  # an unhashable value (malformed input) is not kept: built, or refused, as it always was
        return _kubectl_in(cluster, namespace)


def _kubectl_in(cluster: str, namespace: str) -> str:
    return f"{kubectl(cluster)} {ns_flag(namespace)}"


_HEADS_KEPT = 8192  # ~100 bytes each; typed, as _kept_asm_inject_command is
_kept_kubectl_in = functools.lru_cache(maxsize=_HEADS_KEPT, typed=True)(_kubectl_in)


def object_ref(resource: str, name: str) -> str:
    """`resource/name` as one argument: kubectl reads `pod/--all` as a pod's name, where `pod --all` would
    delete every pod. Names taken from a cluster or a snapshot can be anything, so every command uses this."""
    return f"{resource}/{sh(name)}"


def quit_proxy_command(cluster: str, namespace: str, pod: str) -> str:
    """The command that ends one pod's classic istio-proxy so a run-to-completion pod completes (what Istio's Job
    workaround has the application call: POST /quitquitquit on the agent)."""
    return (f"{kubectl_in(cluster, namespace)} exec {object_ref('pod', pod)} -c {PROXY_CONTAINER} "
            "-- pilot-agent request POST quitquitquit")


def restart_command(cluster: str, kind: str, namespace: str, name: str) -> str:
    """The command that recreates a workload's pods so the injector runs again."""
    if kind in _RUN_KINDS:  # a comment: the names must not break out of its line
        return f"# pods of {kind} {sh_text(namespace)}/{sh_text(name)} pick up the change at their next run"
    if kind in _PLUGIN_RESTARTS:
        # Workload kinds of popular controllers, restarted by their own kubectl plugins (which take the
        # kubeconfig from the environment, not from flags before the plugin's name).
        plugin, resource = _PLUGIN_RESTARTS[kind]
        return (f"KUBECONFIG={kubeconfig_var(cluster)} kubectl {plugin} {ns_flag(namespace)} "
                f"{resource}{sh(name)}" + (_IN_PLACE_NOTE if kind == "CloneSet" else ""))
    if kind in _ADVANCED_OWNER_KINDS:
        # Asking before each pod: deleted back to back (each `kubectl delete` returns once its pod is gone, before its
        # replacement is Ready) a quorum of three loses two members at once. rollouts.restart_command, reading the
        # object, has its controller roll them where a template change recreates pods.
        return delete_owned_pods(cluster, _ADVANCED_OWNER_KINDS[kind], namespace, name, ask=True)
    if kind not in (*_ROLLOUT_KINDS, "Job", "ReplicaSet", "Pod"):
        return (f"# restart the pods of {sh_text(kind)} {sh_text(namespace)}/{sh_text(name)} through its "
                "controller (not a built-in workload kind)")
    if kind == "ReplicaSet":
        return delete_owned_pods(cluster, kind, namespace, name)
    k = kubectl_in(cluster, namespace)
    if kind in _ROLLOUT_KINDS:
        return f"{k} rollout restart {object_ref(_ROLLOUT_KINDS[kind], name)}"
    if kind == "Job":
        return f"{k} delete pod -l job-name={sh(name)}  # or re-run the Job"
    return f"{k} delete {object_ref('pod', name)}  # recreate it from its manifest"


# What the prompt of delete_owned_pods(ask=True) asks of the reader (a catalog comment: said in the report's language).
ASK_EACH_POD = N_("xargs -p asks before each pod: answer y once the pod deleted before it is back and Ready")


def delete_owned_pods(cluster: str, kind: str, namespace: str, name: str, *, ask: bool = False) -> str:
    """Delete the pods a controller owns one at a time, selected by owner reference, not by name: a Job or
    DaemonSet of the same name makes pods named alike. The owner's name reaches awk through the environment
    (ENVIRON), which, unlike `awk -v`, does not turn backslash sequences into other characters. `ask`: on the terminal
    before each deletion (xargs -p): a controller that replaces its pods only when they are deleted (updateStrategy
    OnDelete) does not wait for one to be Ready before the next is deleted, and neither does xargs."""
    k = kubectl_in(cluster, namespace)
    tail = (f"-p -n 1 {k} delete  # {ASK_EACH_POD}" if ask
            else f"-n 1 {k} delete  # one at a time; the {kind} recreates them")
    return (f"{k} get pods --no-headers -o '{_OWNER_COLUMNS}' | owner={sh(name)} awk "
            f"'$2 == \"{kind}\" && $3 == ENVIRON[\"owner\"] {{print \"pod/\" $1}}' | xargs -r {tail}")


def asm_inject_command(cluster: str, kind: str, namespace: str, name: str) -> str:
    """The seed's command that moves a workload to the ASM proxy (triggers a rolling restart).

    Several checks ask it of the same workload (restart-risk and istio-sidecars-remaining: ~5,000 workloads each at
    50k pods): built once while among the last _COMMANDS_KEPT asked, the same string then shared by their findings."""
    try:
        return _kept_asm_inject_command(cluster, kind, namespace, name)
    except TypeError:  # an unhashable value (malformed input) is not kept: built, or refused, as it always was
        return _asm_inject_command(cluster, kind, namespace, name)


def _asm_inject_command(cluster: str, kind: str, namespace: str, name: str) -> str:
    if kind == "Rollout":
        # An Argo Rollout holds its template itself or points at a Deployment's (spec.workloadRef).
        return (f"# add label sidecar.asm.aliyun.com/inject=true to the pod template of Rollout "
                f"{sh_text(namespace)}/{sh_text(name)} (its spec.template, or that of the Deployment its "
                f"spec.workloadRef names), then restart it:\n{restart_command(cluster, kind, namespace, name)}")
    if kind not in _TEMPLATE_KINDS and kind not in _RUN_KINDS:
        # The kind comes from an owner reference (any string): it and the names stand in a comment.
        return (f"# add label sidecar.asm.aliyun.com/inject=true to the pod template of {sh_text(kind)} "
                f"{sh_text(namespace)}/{sh_text(name)} in its manifest, then recreate it")
    k = kubectl_in(cluster, namespace)
    if kind in _TEMPLATE_KINDS:
        return (f"{k} patch {object_ref(_TEMPLATE_KINDS[kind], name)} --type='merge' -p '{_INJECT_TEMPLATE_PATCH}'"
                + _IN_PLACE_NOTES.get(kind, ""))
    resource, *path = _RUN_KINDS[kind]
    return f"{k} patch {object_ref(resource, name)} --type='merge' -p '{_template_patch(path, _INJECT_LABEL)}'"


def template_resource(kind: str) -> str | None:
    """The resource a patch of a workload kind's spec.template names (`statefulset`, `clonesets.apps.kruise.io`...),
    None for a kind whose template is not spec.template."""
    return _TEMPLATE_KINDS.get(kind)


def pod_owner_kind(kind: str) -> str:
    """The kind a workload's pods name in their controller reference (an Advanced StatefulSet's: `StatefulSet`)."""
    return _ADVANCED_OWNER_KINDS.get(kind, kind)


# A merge patch that changes a pod template as `kubectl rollout restart` does (its restartedAt annotation, the time of
# the run): the controller then rolls the pods by its update strategy.
RESTARTED_AT_PATCH = ("'{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":"
                      "\"'\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"'\"}}}}}'")


def _template_patch(path: list[str], template: str) -> str:
    """A merge patch that sets `template` (JSON) as the pod template under spec.<path...>.template."""
    inner = '{"template":' + template + "}"
    for key in reversed(path):
        inner = '{"' + key + '":' + inner + "}"
    return '{"spec":' + inner + "}"


# The merge patches that add ASM's injection label to a pod template (spelled once: one per workload moved).
_INJECT_LABEL = '{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"}}}'
_INJECT_TEMPLATE_PATCH = '{"spec":{"template":' + _INJECT_LABEL + "}}"
# A proxyless gRPC app moves to ASM's proxyless mode: the injection label and the template ASM documents for it
# (inject.istio.io/templates: grpc-agent, "Use the proxyless service mesh feature in gRPC services"). The label alone
# leaves the template annotation grpc-simple, whose bootstrap names istiod.istio-system.svc (Istio's Service name).
_PROXYLESS_INJECT = ('{"metadata":{"labels":{"sidecar.asm.aliyun.com/inject":"true"},'
                     '"annotations":{"inject.istio.io/templates":"grpc-agent"}}}')


def asm_proxyless_inject_command(cluster: str, kind: str, namespace: str, name: str) -> str:
    """asm_inject_command for a proxyless gRPC app (Istio's grpc-simple): the label and grpc-agent in one patch."""
    if kind not in _TEMPLATE_KINDS and kind != "CronJob":  # a Rollout, an owner's kind: in a comment
        return (f"# set the pod template's annotation inject.istio.io/templates to grpc-agent (ASM's documented "
                f"proxyless gRPC mode) and label sidecar.asm.aliyun.com/inject=true on {sh_text(kind)} "
                f"{sh_text(namespace)}/{sh_text(name)} in its manifest, then restart it")
    k = kubectl_in(cluster, namespace)
    if kind == "CronJob":
        patch = '{"spec":{"jobTemplate":{"spec":{"template":' + _PROXYLESS_INJECT + "}}}}"
        return f"{k} patch {object_ref('cronjob', name)} --type='merge' -p '{patch}'"
    patch = '{"spec":{"template":' + _PROXYLESS_INJECT + "}}"
    return (f"{k} patch {object_ref(_TEMPLATE_KINDS[kind], name)} --type='merge' -p '{patch}'"
            + _IN_PLACE_NOTES.get(kind, ""))


# Commands kept (~200 bytes each); typed: 1 and True, equal keys, would otherwise share one (names are text: anything
# else is malformed input).
_COMMANDS_KEPT = 16384
_kept_asm_inject_command = functools.lru_cache(maxsize=_COMMANDS_KEPT, typed=True)(_asm_inject_command)


def migration_patch(field_json: str) -> str:
    """Merge-patch ASMMigrateFromIstio/default; the JSON is one shell word (single-quoted, as JSON always is)."""
    return f"{ASM_KUBECTL} patch asmmigratefromistio default --type='merge' -p {sh(field_json)}"


def desired_state_command(state: str) -> str:
    return migration_patch(json.dumps({"spec": {"desiredState": state}}, separators=(",", ":")))


def retry_command(next_counter: int) -> str:
    return migration_patch('{"spec":{"retryCounter":' + str(next_counter) + "}}")
