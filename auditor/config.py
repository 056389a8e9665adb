"""The optional YAML config file: check selection, severities, exemptions, ASM facts, gateways.

Validated strictly: an unknown key is a usage error naming it (exit 2), never silently ignored.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import re
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.errors import UsageError
from auditor.i18n import N_, Phrase
from auditor.model import CODE_PATTERN, Severity
from auditor.yamlsafe import BoundedSafeLoader

# Ids used in early drafts of the product contract, mapped to the catalogue's stable ids.
CHECK_ALIASES = {
    "graceful-shutdown-risk": "restart-risk",
    "xds-agent-proxy-metadata": "pods-xds-agent",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The engine's own codes (AA00xx, auditor/check.py ENGINE_OUTCOMES): reported on behalf of every check (unreadable
# evidence AA0001, a crashed check AA0002, ...). An exemption or a severity override naming one would reach every
# check's such findings at once (what a catch-all check pattern does, refused below), not the one the operator saw.
ENGINE_CODE = re.compile(r"AA00[0-9]{2}")


def engine_code_problem(code: str, what: str, example: str) -> str | None:
    """Why `code` cannot be named by `what` (an exemption, a severity override; `example`: what to write instead),
    or None."""
    if not ENGINE_CODE.fullmatch(code):
        return None
    return (f"{code} is the engine's code, reported on behalf of every check (unreadable evidence, a crashed check, "
            f"...): {what} must name a check or one of its own codes (e.g. {example})")


class ChecksConfig(_Strict):
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)

    @field_validator("severity")
    @classmethod
    def _no_engine_codes(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        for key in value:
            problem = engine_code_problem(key, "a severity override",
                                          "checks.severity: {<check id or its code>: minor}")
            if problem:
                raise ValueError(problem)
        return value


ExemptStatus = Literal["FAIL", "WARN", "UNKNOWN"]
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# Ids no catalogue holds: a check pattern matching all of them matches whatever id a check may have.
UNLIKELY_CHECK_IDS = ("a", "Z", "0", "zz-unlikely-check-9", "x_y", "UNK0001", "plugin:none", "-", "check.v2")


def matches_any_id(pattern: str) -> bool:
    """True when a check pattern matches any id at all (`*`, `**`, `?*`, `[!@]*`...; not `[!-]*`, which misses ids
    starting with `-`: catch_all_checks refuses it, as it matches every registered id)."""
    return all(fnmatch.fnmatchcase(probe, pattern) for probe in UNLIKELY_CHECK_IDS)


def catch_all_checks(pattern: str, check_ids: Iterable[str]) -> bool:
    """True when a check pattern matches every registered check id (e.g. `*-*` today) or any id at all."""
    ids = list(check_ids)
    return matches_any_id(pattern) or (len(ids) > 1 and all(fnmatch.fnmatchcase(c, pattern) for c in ids))


class Exemption(_Strict):
    """Accepts findings of one check on matching subjects (globs), with a reason and an optional expiry.

    `expires` is the last day the exemption applies (UTC date of the run); from the next day on it is
    listed as expired and the findings block again. `status` narrows it (default: FAIL, WARN and UNKNOWN).
    """

    check: str
    cluster: str = "*"
    namespace: str = "*"
    name: str = "*"
    kind: str = "*"
    status: list[ExemptStatus] = Field(default_factory=lambda: ["FAIL", "WARN", "UNKNOWN"])
    reason: str
    owner: str | None = None
    ticket: str | None = None
    expires: dt.date | None = None

    @field_validator("reason")
    @classmethod
    def _reason_required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("every exemption needs a non-empty reason")
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _a_day(cls, value: Any) -> Any:
        # The last day it applies, as a date. pydantic would take a time of day at midnight
        # (`2027-01-31T00:00:00+08:00`, a Unix time) as that date, dropping the zone: applied until the end of
        # 2027-01-31 UTC, 32 hours after the moment written (a GO the operator did not give). Only a plain date.
        if isinstance(value, dt.datetime) or (value is not None and not isinstance(value, dt.date | str)) or (
                isinstance(value, str) and not _DATE.fullmatch(value)):
            raise ValueError("expires is the last day the exemption applies, a date YYYY-MM-DD (UTC), "
                             "not a time of day or a number")
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _one_status(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _narrow(self) -> Exemption:
        # An exemption of every check would turn any audit into GO: refuse `*`, `**`, `?*`, `[!@]*`... here;
        # patterns that match every registered id but not every conceivable one, like `*-*` or `[!-]*`, are refused
        # by the engine once the registry is known (catch_all_checks).
        if not self.check.strip() or matches_any_id(self.check_id):
            raise ValueError(f"check {self.check!r} matches every check id: an exemption must name a check "
                             "(one exemption per check; globs like 'istio-*' are fine)")
        problem = engine_code_problem(self.check, "an exemption", "check: <check id> with status: [UNKNOWN]")
        if problem:
            raise ValueError(problem)
        return self

    @property
    def check_id(self) -> str:
        """The catalogue id (old draft ids mapped through CHECK_ALIASES)."""
        return CHECK_ALIASES.get(self.check, self.check)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    @property
    def by_code(self) -> bool:
        """`check:` names a finding code (AA1210) rather than a check id."""
        return bool(re.fullmatch(CODE_PATTERN, self.check))

    def matches(self, check_id: str, cluster: str, namespace: str, name: str, kind: str,
                status: str | None = None, code: str = "") -> bool:
        return ((status is None or status in self.status)
                and (code == self.check if self.by_code else fnmatch.fnmatchcase(check_id, self.check_id))
                and fnmatch.fnmatchcase(cluster or "", self.cluster)
                and fnmatch.fnmatchcase(namespace or "", self.namespace)
                and fnmatch.fnmatchcase(name or "", self.name)
                # kinds are written either way in the wild ("deployment", "Deployment")
                and fnmatch.fnmatchcase((kind or "").lower(), self.kind.lower()))

    def subject(self) -> str:
        """Human-readable pattern, e.g. `pods-xds-agent cluster-a/legacy-*/batch-*`."""
        parts = [self.cluster, self.namespace, self.name]
        where = "/".join(parts) if any(p != "*" for p in parts) else "*"
        kind = f" {self.kind}" if self.kind != "*" else ""
        return f"{self.check}{kind} {where}"


class PrometheusConfig(_Strict):
    url: str | None = None
    window: str = "24h"
    timeout: float = 30.0
    bearer_token_file: str | None = None
    bearer_token: str | None = None
    username: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    cluster_label: str = "cluster"  # "" = series carry no cluster label; do not restrict by one
    # audit cluster name -> value of cluster_label in Prometheus, when they differ (default: the name)
    cluster_label_values: dict[str, str] = Field(default_factory=dict)


_NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS-1123 label, as Kubernetes names them


def split_names(text: str) -> list[str]:
    """ASM's comma-separated namespace list (ExcludeNamespaces, CniExcludeNamespaces: `kube-system,shop`)."""
    return [name.strip() for name in text.split(",") if name.strip()]
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+$")
# MeshConfig fields mesh-config-parity compares (a near miss of one of them is a typo, not another field).
MESH_CONFIG_COMPARED = ("trustDomain", "trustDomainAliases", "extensionProviders", "defaultProviders",
                        "outboundTrafficPolicy", "defaultConfig", "localityLbSetting", "rootNamespace",
                        "defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo",
                        "discoverySelectors", "pathNormalization")


# Istio's injector values global.proxy.<name> that say what a sidecar intercepts (asm.sidecar_interception).
SIDECAR_INTERCEPTION = ("includeIPRanges", "excludeIPRanges", "includeInboundPorts", "excludeInboundPorts",
                        "includeOutboundPorts", "excludeOutboundPorts")


# meshconfig ProxyPathNormalization.NormalizationType (istio/api mesh/v1alpha1/config.proto).
PATH_NORMALIZATIONS = ("DEFAULT", "NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES")


def is_duration(value: Any) -> bool:
    """A protobuf Duration as MeshConfig YAML writes it: Go's `45s`, `1m30s`, `500ms`."""
    return isinstance(value, str) and bool(_DURATION.match(value))


def mesh_config_problem(mesh: dict[str, Any]) -> str | None:
    """Why an Istio MeshConfig mapping cannot be compared (wrong type of a compared field, a typo), or None."""
    for key in mesh:
        close = difflib.get_close_matches(str(key), MESH_CONFIG_COMPARED, n=1, cutoff=0.85)
        if close and key != close[0]:
            return Phrase(N_("unknown MeshConfig field {field}; did you mean {close}?"), field=repr(key),
                          close=repr(close[0]))
    checks: list[tuple[str, Any, bool]] = [
        ("trustDomain", mesh.get("trustDomain"), isinstance(mesh.get("trustDomain"), str)),
        ("rootNamespace", mesh.get("rootNamespace"), isinstance(mesh.get("rootNamespace"), str)),
        ("discoverySelectors", mesh.get("discoverySelectors"), isinstance(mesh.get("discoverySelectors"), list)
         and all(isinstance(s, dict) for s in mesh["discoverySelectors"])),
        ("pathNormalization", mesh.get("pathNormalization"), isinstance(mesh.get("pathNormalization"), dict)
         and mesh["pathNormalization"].get("normalization", "DEFAULT") in PATH_NORMALIZATIONS),
        *((name, mesh.get(name), isinstance(mesh.get(name), list) and all(isinstance(v, str) for v in mesh[name]))
          for name in ("defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo")),
        ("trustDomainAliases", mesh.get("trustDomainAliases"), isinstance(mesh.get("trustDomainAliases"), list)
         and all(isinstance(a, str) for a in mesh["trustDomainAliases"])),
        ("extensionProviders", mesh.get("extensionProviders"), isinstance(mesh.get("extensionProviders"), list)
         and all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in mesh["extensionProviders"])),
        ("defaultProviders", mesh.get("defaultProviders"), isinstance(mesh.get("defaultProviders"), dict)),
        ("outboundTrafficPolicy", mesh.get("outboundTrafficPolicy"), isinstance(mesh.get("outboundTrafficPolicy"),
         dict) and mesh["outboundTrafficPolicy"].get("mode", "ALLOW_ANY") in ("ALLOW_ANY", "REGISTRY_ONLY")),
        ("localityLbSetting", mesh.get("localityLbSetting"), isinstance(mesh.get("localityLbSetting"), dict)
         and isinstance(mesh["localityLbSetting"].get("enabled", True), bool)),
    ]
    default = mesh.get("defaultConfig")
    checks.append(("defaultConfig", default, isinstance(default, dict)))
    if isinstance(default, dict):
        metadata = default.get("proxyMetadata")
        checks += [
            ("defaultConfig.holdApplicationUntilProxyStarts", default.get("holdApplicationUntilProxyStarts"),
             isinstance(default.get("holdApplicationUntilProxyStarts"), bool)),
            # proxyMetadata is map<string,string>: an unquoted `true` is a bool that istiod rejects.
            ("defaultConfig.proxyMetadata", metadata,
             isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())),
            ("defaultConfig.drainDuration", default.get("drainDuration"), is_duration(default.get("drainDuration"))),
            ("defaultConfig.terminationDrainDuration", default.get("terminationDrainDuration"),
             is_duration(default.get("terminationDrainDuration"))),
        ]
    for where, value, fine in checks:
        if value is not None and not fine:
            # A Phrase (said in the reader's language where a finding carries it, AA2433); the value clipped.
            return Phrase(N_("MeshConfig field {field} has the wrong shape or value: {value}"), field=where,
                          value=repr(value)[:150])
    return None


class AsmConfig(_Strict):
    # The live ASM OpenAPI (auditor/sources/asm_openapi.py); the --asm-* flags override these.
    mesh_id: str | None = None
    region: str | None = None
    endpoint: str | None = None
    version: str | None = None
    describe_service_mesh_detail: str | None = None
    networks: dict[str, str] = Field(default_factory=dict)
    multi_cluster_network: str | None = None
    cluster_ids: dict[str, str] = Field(default_factory=dict)
    # ASM's CNI plug-in on (true) or off (false); None: read it from DescribeServiceMeshDetail (cni-compatibility)
    cni: bool | None = None
    # The namespaces ASM's CNI plug-in skips, where ASM injects istio-init after all (ASM's InitCNIConfiguration.
    # ExcludeNamespaces, UpdateMeshFeature CniExcludeNamespaces): a list, or the comma-separated string ASM's console
    # and API use; [] when it skips none. Left out: from DescribeServiceMeshDetail, else not known (cni-compatibility).
    cni_exclude_namespaces: list[str] | None = None
    # ASM's mesh config as Istio MeshConfig (YAML text or a mapping; mesh-config-parity). Fields left out are
    # not assumed to be Istio's defaults: they are read from DescribeServiceMeshDetail where it has them.
    mesh_config: dict[str, Any] | None = None
    # ASM's global sidecar traffic interception (its console's Sidecar Proxy Setting), by the names of Istio's injector
    # values global.proxy.<name>, each a comma-separated string (or a list): what DescribeServiceMeshDetail does not
    # give (includeInboundPorts, includeOutboundPorts) or stands before its answer (mesh-config-parity).
    sidecar_interception: dict[str, Any] | None = None

    @field_validator("sidecar_interception", mode="before")
    @classmethod
    def _sidecar_interception(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"expected a mapping of {', '.join(SIDECAR_INTERCEPTION)} to comma-separated values")
        for name, entries in value.items():
            if name not in SIDECAR_INTERCEPTION:
                raise ValueError(f"unknown interception value {name!r}: one of {', '.join(SIDECAR_INTERCEPTION)}")
            parts = entries if isinstance(entries, list) else [entries]
            if not all(isinstance(part, str | int) and not isinstance(part, bool) for part in parts):
                raise ValueError(f"{name}: expected a comma-separated string of addresses or ports (or a list)")
        return value

    @field_validator("cni_exclude_namespaces", mode="before")
    @classmethod
    def _cni_exclude_namespaces(cls, value: Any) -> Any:
        # Runs only when the key is written: a bare `cni_exclude_namespaces:` (null) would silently mean "not known".
        if value is None:
            raise ValueError("give the namespaces ASM's CNI plug-in skips as a list, or [] when it skips none")
        if isinstance(value, str):
            value = split_names(value)
        if not isinstance(value, list):
            raise ValueError("expected a list of namespace names (or ASM's comma-separated string)")
        for name in value:
            if not isinstance(name, str) or not _NAMESPACE_NAME.fullmatch(name):
                raise ValueError(f"not a namespace name: {name!r} (lowercase letters, digits and '-', at most 63)")
        return value

    @field_validator("mesh_config", mode="before")
    @classmethod
    def _mesh_config(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = load_yaml(value)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = f" (line {mark.line + 1} of the text)" if mark is not None else ""
                raise ValueError(f"not valid YAML{line}: {getattr(exc, 'problem', exc)}") from exc
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError("expected an Istio MeshConfig: a mapping, or YAML text holding one")
        problem = mesh_config_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class GatewaysConfig(_Strict):
    istio_ingress: str = "istio-ingressgateway"
    istio_egress: str = "istio-egressgateway"
    istio_eastwest: str = "istio-eastwestgateway"
    asm_ingress: str | None = None
    asm_egress: str = "asm-egressgateway"
    namespace: str = "istio-system"


class ClassificationConfig(_Strict):
    """Regular expressions (Python `re`, searched) that tell ASM's proxy from Istio's; None = built-in."""

    asm_image_patterns: list[str] | None = None
    asm_env_names: list[str] | None = None
    asm_ca_addr_pattern: str | None = None

    @field_validator("asm_image_patterns", "asm_ca_addr_pattern")
    @classmethod
    def _compiles(cls, value: list[str] | str | None) -> list[str] | str | None:
        # A bad pattern is the user's input error (exit 2), not a crash in the middle of collection.
        for pattern in [value] if isinstance(value, str) else value or ():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
        return value


NAMED_DISABLED = 12  # disabled checks named in the note beside the verdict (summary.checks_disabled counts them all)
# The checks residue.allow narrows (checks/residue.py: its _LeftoverCheck subclasses).
RESIDUE_ALLOW_CHECKS = ("istio-control-plane-removed", "istio-residue")
# Objects of Istio's control plane and leftovers, as the residue checks name them (checks/residue.py allow_reason:
# "Kind/name", and "Kind/namespace/name" for a namespaced one), and names no cluster holds: a residue.allow pattern
# matching one subject of each matches whatever object a check may name.
_RESIDUE_PROBES: tuple[tuple[str, ...], ...] = (
    ("Deployment/istiod", "Deployment/istio-system/istiod"),
    ("MutatingWebhookConfiguration/istio-sidecar-injector",),
    ("CustomResourceDefinition/virtualservices.networking.istio.io",),
    ("ConfigMap/istio", "ConfigMap/istio-system/istio"),
    ("Z/a", "Z/b/a"), ("a/0",), ("x.y.z/-", "x.y.z/n/-"),
)


def residue_allow_matches_everything(pattern: str) -> bool:
    """True when a residue.allow glob keeps every object the residue checks may name (`*`, `*/*`, `**`, `?*`...)."""
    return all(any(fnmatch.fnmatchcase(subject, pattern) for subject in subjects) for subjects in _RESIDUE_PROBES)


# Istio's control plane, which no residue.allow pattern may keep out of the residue checks (the finished gate said GO
# with it there, only a note saying so): each shape is a sequence of literal text and runs of name characters
# ("one or more", or "any"), matched against a pattern as the checks match it (checks/residue.py allow_reason:
# "Kind/name" and "Kind/namespace/name"). istiod's Deployment and its revisions' istiod-<rev> in any namespace
# (istio/istio manifests/charts/istio-control/istio-discovery templates/deployment.yaml); the injector webhooks
# istio-sidecar-injector[-<rev>] and a revision tag's istio-revision-tag-<tag> (mutatingwebhook.yaml, istioctl tag);
# the validators istio-validator-<rev>-<namespace> (validatingwebhookconfiguration.yaml) and istiod-default-validator
# (base chart); the mesh ConfigMap istio[-<rev>] in istio-system (configmap.yaml). The ConfigMap's revision is read as
# a versioned one (1-22-3, a digit first), a conventional name (canary, stable...) or any text a wildcard stands for:
# istio-<rev> shares its prefix with Istio's other ConfigMaps (istio-ca-root-cert, istio-sidecar-injector...),
# which a narrow pattern may name.
_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_NAME = _LABEL | {"."}
_DIGIT = frozenset("0123456789")
_NS = (_LABEL, 1)  # a namespace: one or more label characters
_REVISION_NAMES = ("canary", "stable", "default", "prod", "prod-stable", "prod-canary", "latest")
_Shape = tuple[str | tuple[frozenset[str], int], ...]


def _both_forms(kind: str, name: tuple[str | tuple[frozenset[str], int], ...],
                namespace: str | tuple[frozenset[str], int] = _NS) -> list[_Shape]:
    return [(f"{kind}/", *name), (f"{kind}/", namespace, "/", *name)]


_RESIDUE_PROTECTED: tuple[tuple[str, list[_Shape]], ...] = (
    ("istiod's Deployment", [*_both_forms("Deployment", ("istiod",)),
                             *_both_forms("Deployment", ("istiod-", (_LABEL, 1)))]),
    ("Istio's sidecar injector webhook", [
        ("MutatingWebhookConfiguration/istio-sidecar-injector", (_NAME, 0)),
        ("MutatingWebhookConfiguration/istio-revision-tag-", (_NAME, 1))]),
    ("Istio's validating webhook", [("ValidatingWebhookConfiguration/istio-validator-", (_NAME, 1)),
                                    ("ValidatingWebhookConfiguration/istiod-default-validator",)]),
    ("Istio's mesh ConfigMap istio[-<rev>]", [
        *_both_forms("ConfigMap", ("istio",), "istio-system"),
        *_both_forms("ConfigMap", ("istio-", (_DIGIT, 1), (_LABEL, 0)), "istio-system"),
        *(shape for rev in _REVISION_NAMES for shape in _both_forms("ConfigMap", (f"istio-{rev}",), "istio-system")),
        *_both_forms("ConfigMap", ("istio-", (frozenset("x"), 1)), "istio-system")]),
)


def _glob_tokens(pattern: str) -> list[str]:
    """fnmatch's tokens: '*', '?', a bracket set as written ('[a-z]', '[!x]'), or one literal character (a '['
    without its ']' is literal, as fnmatch.translate reads it)."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 1
            if j < len(pattern):
                tokens.append(pattern[i:j + 1])
                i = j + 1
                continue
        tokens.append(char)
        i += 1
    return tokens


def _glob_matches_shape(pattern: str, shape: _Shape) -> bool:
    """Whether some text of `shape` matches the fnmatch pattern: a search over (pattern token, shape item, item
    consumed) pairs, each step one character both accept (a single character is asked of fnmatch itself)."""
    tokens = _glob_tokens(pattern)
    items: list[tuple[frozenset[str], int, bool]] = []  # (characters, least count, repeats)
    for part in shape:
        if isinstance(part, str):
            items.extend((frozenset(c), 1, False) for c in part)
        else:
            items.append((part[0], part[1], True))

    def accepts(token: str, char: str) -> bool:
        return token in ("*", "?") or (token == char if len(token) == 1 else fnmatch.fnmatchcase(char, token))

    start = (0, 0, 0)
    seen, todo = {start}, [start]
    while todo:
        g, t, used = todo.pop()
        if g == len(tokens) and t == len(items):
            return True
        moves: list[tuple[int, int, int]] = []
        if g < len(tokens) and tokens[g] == "*":
            moves.append((g + 1, t, used))  # the star matches nothing more
        if t < len(items):
            chars, least, repeats = items[t]
            if used >= least:
                moves.append((g, t + 1, 0))  # the item is done
            if g < len(tokens) and (repeats or not used):
                token = tokens[g]
                step = g if token == "*" else g + 1
                if any(accepts(token, c) for c in chars):
                    moves.append((step, t, 1))
        for move in moves:
            if move not in seen:
                seen.add(move)
                todo.append(move)
    return False


def residue_allow_keeps_control_plane(pattern: str) -> str:
    """What of Istio's control plane a residue.allow glob would keep out of the residue checks; "" for none."""
    for what, shapes in _RESIDUE_PROTECTED:
        if any(_glob_matches_shape(pattern, shape) for shape in shapes):
            return what
    return ""


class ResidueConfig(_Strict):
    allow: list[str] = Field(default_factory=list)  # "Kind/name" globs that ASM or you own

    @field_validator("allow")
    @classmethod
    def _narrow(cls, value: list[str]) -> list[str]:
        # `*` kept istiod, Istio's webhooks and every leftover out of istio-control-plane-removed and istio-residue:
        # the finished gate said GO with Istio's control plane still there, and nothing said so beside the verdict.
        for pattern in value:
            if residue_allow_matches_everything(pattern):
                raise ValueError(f"residue.allow {pattern!r} matches every object: name what ASM or you own "
                                 "(\"Kind/name\" or \"Kind/namespace/name\", globs like 'ClusterRole/istio-reader-*' "
                                 "are fine)")
            # `*istio*` passed the test above and still kept istiod, its webhooks and the mesh config (GO, fix22j).
            kept = residue_allow_keeps_control_plane(pattern)
            if kept:
                raise ValueError(f"residue.allow {pattern!r} matches {kept}: Istio's control plane is never allowed "
                                 "(exempt a finding with its reason instead); name what ASM or you own more narrowly")
        return value


class SnapshotConfig(_Strict):
    """How old a snapshot's evidence may be for a GO (`run --snapshot`): a Prometheus duration (`24h`, `7d`), or null
    for any age (the report still says when it was collected)."""

    max_age: str | None = "24h"

    @field_validator("max_age")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        from auditor.sources.prometheus import duration_seconds  # here: the sources import this module

        if value is not None and not duration_seconds(value):
            raise ValueError(f"not a duration like 24h, 7d or 90m: {value!r} (null: any age)")
        return value


# istioctl create-remote-secret names each remote's Secret istio-remote-secret-<remote>
# (remoteSecretNameFromClusterName, istioctl/pkg/multicluster/remote_secret.go @1.22.3): the operator writes <remote>.
REMOTE_SECRET_PREFIX = "istio-remote-secret-"


def remote_clusters_problem(value: Any) -> str | None:
    """Why `remote_clusters` has the wrong shape (one line), or None. The shape: {primary: [remote, ...]}, the primary
    by this audit's cluster name or its istiod's CLUSTER_ID, each remote by this audit's name for it; [] for none."""
    if not isinstance(value, dict):
        return ("expected a mapping of each primary cluster (this audit's name or its istiod's CLUSTER_ID) to the list "
                "of remote clusters its istiod serves")
    for primary, remotes in value.items():
        if not isinstance(primary, str) or not primary.strip() or not primary.isprintable():
            return f"a primary cluster must be named by a non-empty, printable text: {primary!r}"
        if remotes is None:
            # A bare `cluster-a:` would silently mean "declares nothing" where the operator meant a list.
            return f"{primary}: give the remote clusters its istiod serves as a list, or [] when it serves none"
        if not isinstance(remotes, list):
            return f"{primary}: expected a list of remote cluster names, got {type(remotes).__name__}"
        for remote in remotes:
            if not isinstance(remote, str) or not remote.isprintable() or any(c.isspace() or c == "," for c in remote) \
                    or not remote:
                return f"{primary}: not a cluster name: {remote!r} (one name per item, no spaces or commas)"
            if remote.startswith(REMOTE_SECRET_PREFIX):
                return (f"{primary}: {remote!r} is a remote secret's name: write the remote cluster's name (what "
                        f"follows {REMOTE_SECRET_PREFIX}, as this audit names that cluster)")
            if remote == primary:
                return f"{primary}: a cluster is not its own remote"
    return None


class Config(_Strict):
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    exemptions: list[Exemption] = Field(default_factory=list)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    asm: AsmConfig = Field(default_factory=AsmConfig)
    gateways: GatewaysConfig = Field(default_factory=GatewaysConfig)
    classification: ClassificationConfig = Field(default_factory=ClassificationConfig)
    residue: ResidueConfig = Field(default_factory=ResidueConfig)
    snapshot: SnapshotConfig = Field(default_factory=SnapshotConfig)
    # Per primary cluster (this audit's name, or its istiod's CLUSTER_ID), the remote clusters its istiod serves
    # (EXTERNAL_ISTIOD true: primary-remote, external control plane), as this audit names them: written from the
    # primary's remote secrets (names only; the tool never reads Secrets). purge-preview (AA2539, AA2541, AA2542).
    remote_clusters: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("remote_clusters", mode="before")
    @classmethod
    def _remote_clusters(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("give each primary cluster's remote clusters as a mapping ({primary: [remote, ...]})")
        problem = remote_clusters_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def remotes_of(self, cluster: str, cluster_id: str | None) -> set[str] | None:
        """The remote clusters declared for an istiod of `cluster` running with `cluster_id` (both keys' together:
        declaring more only asks more to be audited); None when neither is declared."""
        keys = [k for k in (cluster, cluster_id) if k is not None and k in self.remote_clusters]
        if not keys:
            return None
        return {remote for key in keys for remote in self.remote_clusters[key]}

    def disabled(self) -> set[str]:
        return {CHECK_ALIASES.get(c, c) for c in self.checks.disable}

    def severity_overrides(self) -> dict[str, Severity]:
        return {CHECK_ALIASES.get(k, k): v for k, v in self.checks.severity.items()}

    def aliases_used(self) -> dict[str, str]:
        """Old draft check ids the file uses -> the catalogue ids they were mapped to."""
        used = [*self.checks.disable, *self.checks.severity, *(e.check for e in self.exemptions)]
        return {old: CHECK_ALIASES[old] for old in used if old in CHECK_ALIASES}

    def left_out_notes(self, disabled_here: list[str], run_checks: Iterable[str]) -> list[Phrase]:
        """What this config keeps out of the audited gates' judgement, said beside the verdict (product.md: nothing
        that changed the verdict is hidden): the gates' checks it disables (`disabled_here`: none of their findings
        exist, a blocker among them never shows), and its residue.allow globs where a check they narrow ran."""
        notes = []
        if disabled_here:
            # Named up to NAMED_DISABLED (a focused config disables most of the catalogue); the count says the rest.
            named = ", ".join(disabled_here[:NAMED_DISABLED]) + (
                f" (+{len(disabled_here) - NAMED_DISABLED})" if len(disabled_here) > NAMED_DISABLED else "")
            notes.append(Phrase(N_("checks.disable in the config: {checks} not run at this gate (their findings, "
                                   "blockers included, are not in this report)"), checks=named))
        narrowed = [c for c in RESIDUE_ALLOW_CHECKS if c in set(run_checks)]
        if self.residue.allow and narrowed:
            notes.append(Phrase(N_("residue.allow in the config: objects matching {patterns} are not judged as "
                                   "Istio's leftovers ({checks})"),
                                patterns=", ".join(self.residue.allow), checks=", ".join(narrowed)))
        return notes

    def alias_note(self) -> str | None:
        used = self.aliases_used()
        if not used:
            return None
        pairs = ", ".join(f"{old} -> {new}" for old, new in sorted(used.items()))
        return f"config uses old check id(s) {pairs}; write the catalogue id(s) instead"


# ---------------------------------------------------------------- error messages
def dotted(loc: tuple[Any, ...]) -> str:
    """('exemptions', 0, 'nmae') -> 'exemptions[0].nmae'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(annotation: Any) -> Any:
    """The model (or container) inside Optional[...] / X | None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the last element of `loc` (None when it is not a model)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin is list and args:
            current = _unwrap(args[0])
        elif origin is dict and len(args) == 2:
            current = _unwrap(args[1])
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def describe_error(error: dict[str, Any], root: type[BaseModel]) -> str:
    """One line for one pydantic error: the dotted path, and for unknown keys what is allowed there."""
    loc = tuple(error.get("loc", ()))
    where = dotted(loc)
    if error.get("type") == "extra_forbidden":
        holder = model_at(root, loc)
        allowed = list(holder.model_fields) if holder else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1) if allowed else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        keys = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown key '{where}'{keys}{hint}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "missing":
        return f"missing required key '{where}'"
    got = error.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) and len(repr(got)) < 60 else ""
    return f"'{where or '(top level)'}': {message}{shown}"


def validation_message(exc: ValidationError, root: type[BaseModel]) -> str:
    errors = exc.errors()
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    # An unknown key first: a misspelt key (`raeson:`) is also a "missing required key 'reason'", and only the unknown
    # key's line names what was typed and what was meant.
    first = next((e for e in errors if e.get("type") == "extra_forbidden"), errors[0])
    return describe_error(first, root) + more


# Files named in the config; relative paths are taken relative to the config file.
_PATH_FIELDS = (("asm", "describe_service_mesh_detail"), ("asm", "multi_cluster_network"),
                ("prometheus", "bearer_token_file"), ("prometheus", "password_file"), ("prometheus", "ca_file"))


def _resolve_paths(config: Config, base: Path) -> None:
    for section, key in _PATH_FIELDS:
        holder = getattr(config, section)
        value = getattr(holder, key)
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_absolute() and (base / path).exists():
            setattr(holder, key, str(base / path))
        else:
            setattr(holder, key, str(path))


class _Loader(BoundedSafeLoader):
    """Safe YAML without implicit timestamps: dates reach pydantic as text, so `2027-13-01` is a clear
    validation error naming its key instead of a ValueError from inside the YAML parser."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects


def read_yaml_file(path: Path, what: str) -> Any:
    """A user's YAML file (config, fleet): unreadable or malformed is one UsageError naming `what`, file, line."""
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{what} {path}:{line}: malformed YAML: {getattr(exc, 'problem', exc)}") from exc


M = TypeVar("M", bound=BaseModel)


def validate_file_model(model: type[M], raw: dict[str, Any], path: Path, what: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise UsageError(f"{what} {path}: {validation_message(exc, model)}") from exc


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    path = Path(path)
    raw = read_yaml_file(path, "config")
    if raw is None:
        return Config()
    if not isinstance(raw, dict):
        raise UsageError(f"config {path}: expected a mapping at the top level")
    config = validate_file_model(Config, raw, path, "config")
    _resolve_paths(config, path.parent)
    return config


def load_openapi_answer(path: str) -> dict[str, Any]:
    """A saved ASM OpenAPI answer (JSON) named in the config; unreadable is a usage error (exit 2)."""
    import orjson

    try:
        answer = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"config: cannot read saved ASM OpenAPI answer {path}: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"config: saved ASM OpenAPI answer {path} is not JSON: {exc}") from exc
    if not isinstance(answer, dict):
        raise UsageError(f"config: saved ASM OpenAPI answer {path} is not a JSON object")
    return answer


def check_openapi_answer(action: str, path: str, answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` (load_openapi_answer's) when the fields checks read have the SDK's types; a usage error otherwise."""
    from auditor.sources.shapes import openapi_answer_problem

    problem = openapi_answer_problem(action, answer)
    if problem:
        raise UsageError(f"config: saved ASM OpenAPI answer {path} ({action}): {problem}")
    return answer
