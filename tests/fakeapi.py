"""A small, read-only fake Kubernetes API server for tests and benchmarks.

Why: live-mode code must be tested with the REAL ``kubernetes`` Python client talking HTTP, so
paging, discovery, error bodies and headers are exercised exactly as in production. Mocking the
client would only test our assumptions about it.

Standard library only (``http.server`` in a daemon thread, ``json``); PyYAML for loading files.

Usage::

    with FakeApiServer() as api:
        api.load(objects)                      # or api.load_yaml_dir(path)
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        client = kubernetes.config.new_client_from_config(config_file=str(kubeconfig),
                                                          context="fake")
        ...
        assert not any("/secrets" in r.path for r in api.requests)

Behaviour worth knowing (documented here because tests rely on it):

* Only GET is served. Any other method, and any ``watch=true|1`` request, answers 405 with a
  ``Status`` body and is recorded in :attr:`FakeApiServer.requests` (the auditor is read-only).
* Kinds are looked up in a registry of built-in kinds; :meth:`FakeApiServer.register_kind` adds
  CRD kinds. Loading an object of an unknown kind auto-registers it with the plural guessed the
  way Kubernetes guesses it (``UnsafeGuessKindToResource``: lowercase kind, then ``s``/``es``/
  ``ies``) and namespaced iff the object carries ``metadata.namespace``. Register the kind first
  when the guess would be wrong (e.g. ``Endpoints``-like irregular plurals).
* List items carry no ``apiVersion``/``kind`` for built-in kinds, like the real server; items of
  registered custom kinds DO carry them, because the real server serves custom resources that
  way. Client code must therefore not depend on either shape.
* One object is served under every registered version of its group/kind (as the real server
  does for multi-version CRDs; no conversion is attempted besides ``apiVersion``).
* Answers are gzip-compressed when the request accepts gzip (``Accept-Encoding``) and the body is at
  least :attr:`FakeApiServer.gzip_min_bytes` (128 KiB, as kube-apiserver's APIResponseCompression does);
  ``gzip_min_bytes = None`` turns compression off. :attr:`RequestRecord.bytes_sent` is the body as sent.
* ``resourceVersion=0`` on a list without ``continue`` is served as kube-apiserver's watch cache serves
  it before pagination from the cache: the whole list in one answer, ``limit`` ignored. ``resourceVersion``
  together with ``continue`` is refused (400), as by the real server.
* Continue tokens are opaque base64 JSON (offset, resourceVersion, path); they are only valid
  for the path that issued them (400 otherwise, like a malformed token on a real server).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import json
import re
import threading
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = ["EXPIRED_CONTINUE_MESSAGE", "GZIP_MIN_BYTES", "FakeApiServer", "RequestRecord", "ResourceType",
           "guess_plural"]

# Real kube-apiserver message, verbatim, so code matching on it is tested against the truth.
EXPIRED_CONTINUE_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)

# Reason per status code, as the real server puts it in Status.reason.
_REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

_DEFAULT_MESSAGES: dict[int, str] = {
    401: "Unauthorized",
    403: "forbidden (injected fault)",
    404: "the server could not find the requested resource",
    410: "gone (injected fault)",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within requested timeout - context deadline exceeded",
}

_FIRST_RESOURCE_VERSION = 1000
# kube-apiserver gzips answers of at least this many bytes when the client accepts gzip (APIResponseCompression).
GZIP_MIN_BYTES = 128 * 1024


@dataclass(frozen=True)
class ResourceType:
    """One served resource: what discovery advertises and where its objects live."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    builtin: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


@dataclass
class RequestRecord:
    """One request as the server saw it (``status`` is filled in when the answer is sent)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int | None = None
    started: float = field(default_factory=time.monotonic)
    duration_s: float | None = None
    bytes_sent: int | None = None  # the body as sent (compressed when Content-Encoding is gzip)
    content_encoding: str | None = None


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int | None
    retry_after: int | None
    delay_s: float
    body: str | None
    trickle_s: float = 0.0


class _Trickle(bytes):
    """A body the handler sends a few bytes at a time, `interval_s` apart (a server that trickles)."""

    interval_s: float = 0.0


@dataclass
class _Entry:
    namespace: str
    name: str
    labels: dict[str, str]
    blob: bytes  # JSON of the object without apiVersion/kind, serialized once at load time


class _Store:
    """Objects of one (group, plural), kept sorted by (namespace, name) for stable paging."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], _Entry] = {}
        self._sorted: list[_Entry] | None = None
        self._namespaces: list[str] = []

    def put(self, entry: _Entry) -> None:
        self.by_key[(entry.namespace, entry.name)] = entry
        self._sorted = None  # re-sort lazily: loading 150k objects must not sort 150k times

    def remove(self, namespace: str, name: str) -> bool:
        found = self.by_key.pop((namespace, name), None) is not None
        if found:
            self._sorted = None
        return found

    def entries(self, namespace: str | None = None) -> list[_Entry]:
        if self._sorted is None:
            self._sorted = [self.by_key[k] for k in sorted(self.by_key)]
            self._namespaces = [e.namespace for e in self._sorted]
        if namespace is None:
            return self._sorted
        # Sorted by namespace first, so one namespace is a contiguous slice found by bisection.
        lo = bisect_left(self._namespaces, namespace)
        hi = bisect_right(self._namespaces, namespace)
        return self._sorted[lo:hi]


def guess_plural(kind: str) -> str:
    """Kubernetes' own guess (apimachinery ``UnsafeGuessKindToResource``)."""
    singular = kind.lower()
    if not singular:
        raise ValueError("cannot guess the plural of an empty kind")
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


# (group, version, kind, plural, namespaced): the common built-in kinds.
_BUILTIN_KINDS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("", "v1", "Pod", "pods", True),
    ("", "v1", "Service", "services", True),
    ("", "v1", "Endpoints", "endpoints", True),
    ("", "v1", "ConfigMap", "configmaps", True),
    ("", "v1", "Secret", "secrets", True),
    ("", "v1", "ServiceAccount", "serviceaccounts", True),
    ("", "v1", "Event", "events", True),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True),
    ("", "v1", "ReplicationController", "replicationcontrollers", True),
    ("", "v1", "ResourceQuota", "resourcequotas", True),
    ("", "v1", "LimitRange", "limitranges", True),
    ("", "v1", "Namespace", "namespaces", False),
    ("", "v1", "Node", "nodes", False),
    ("", "v1", "PersistentVolume", "persistentvolumes", False),
    ("apps", "v1", "Deployment", "deployments", True),
    ("apps", "v1", "ReplicaSet", "replicasets", True),
    ("apps", "v1", "StatefulSet", "statefulsets", True),
    ("apps", "v1", "DaemonSet", "daemonsets", True),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    ("batch", "v1", "Job", "jobs", True),
    ("batch", "v1", "CronJob", "cronjobs", True),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", True),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    (
        "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations", False,
    ),
    (
        "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations", False,
    ),
    (
        "admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies", False,
    ),
    (
        "admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings", False,
    ),
    (
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition",
        "customresourcedefinitions", False,
    ),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ("coordination.k8s.io", "v1", "Lease", "leases", True),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", False),
)

# Gateway API CRDs (gateway.networking.k8s.io) as each release channel serves them: (kind, plural, namespaced,
# versions). From the CRDs of kubernetes-sigs/gateway-api: v0.8 (v1beta1 era), v1.2 standard+experimental.
GATEWAY_API_CRDS: dict[str, tuple[tuple[str, str, bool, tuple[str, ...]], ...]] = {
    "v0.8": (("GatewayClass", "gatewayclasses", False, ("v1beta1",)), ("Gateway", "gateways", True, ("v1beta1",)),
             ("HTTPRoute", "httproutes", True, ("v1beta1",)), ("GRPCRoute", "grpcroutes", True, ("v1alpha2",)),
             ("TCPRoute", "tcproutes", True, ("v1alpha2",)), ("TLSRoute", "tlsroutes", True, ("v1alpha2",)),
             ("ReferenceGrant", "referencegrants", True, ("v1alpha2", "v1beta1"))),
    "v1.2": (("GatewayClass", "gatewayclasses", False, ("v1", "v1beta1")),
             ("Gateway", "gateways", True, ("v1", "v1beta1")), ("HTTPRoute", "httproutes", True, ("v1", "v1beta1")),
             ("GRPCRoute", "grpcroutes", True, ("v1",)), ("TCPRoute", "tcproutes", True, ("v1alpha2",)),
             ("TLSRoute", "tlsroutes", True, ("v1alpha2",)), ("ReferenceGrant", "referencegrants", True, ("v1beta1",))),
}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key giving Kubernetes' version priority: GA > beta > alpha, higher numbers first."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)  # non-Kubernetes-style versions last, alphabetically
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    stage_rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (stage_rank, -major, -minor, version)


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _status(code: int, message: str, reason: str | None = None,
            details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class _HttpError(Exception):
    """Raised inside request handling to answer with a Kubernetes Status."""

    def __init__(self, code: int, message: str, reason: str | None = None,
                 details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.body = _status(code, message, reason, details)
        self.headers = headers or {}


# --------------------------------------------------------------------------- label selectors

_SET_RE = re.compile(r"^\s*(!?)\s*([^\s!=()]+)\s*(?:(in|notin)\s*\((.*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)\s*$")

_Requirement = tuple[str, str, frozenset[str]]  # (key, operator, values)


def _split_selector(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in (s.strip() for s in parts) if p]


def parse_label_selector(selector: str) -> list[_Requirement]:
    """Parse the label selector syntax the API server accepts; ValueError when invalid."""
    requirements: list[_Requirement] = []
    for part in _split_selector(selector):
        eq = _EQ_RE.match(part)
        if eq:
            op = "!=" if eq.group(2) == "!=" else "="
            requirements.append((eq.group(1), op, frozenset([eq.group(3)])))
            continue
        st = _SET_RE.match(part)
        if not st:
            raise ValueError(f"unable to parse requirement: {part!r}")
        negated, key, op, values = st.group(1), st.group(2), st.group(3), st.group(4)
        if op:
            if negated:
                raise ValueError(f"unable to parse requirement: {part!r}")
            vals = frozenset(v.strip() for v in values.split(",") if v.strip())
            requirements.append((key, op, vals))
        else:
            requirements.append((key, "!exists" if negated else "exists", frozenset()))
    return requirements


def _labels_match(labels: dict[str, str], requirements: list[_Requirement]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        if op == "=":
            ok = present and labels[key] in values
        elif op == "!=" or op == "notin":
            ok = not present or labels[key] not in values
        elif op == "in":
            ok = present and labels[key] in values
        elif op == "exists":
            ok = present
        else:  # "!exists"
            ok = not present
        if not ok:
            return False
    return True


_FieldRequirement = tuple[str, bool, str]  # (field, equal?, value)


def _parse_field_selector(selector: str) -> list[_FieldRequirement]:
    out: list[_FieldRequirement] = []
    for part in (p.strip() for p in selector.split(",")):
        if not part:
            continue
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not m:
            raise _HttpError(400, f"invalid selector: '{selector}'; can't understand '{part}'")
        name = m.group(1).strip()
        if name not in ("metadata.name", "metadata.namespace"):
            # Same wording as the real server for unsupported field labels.
            raise _HttpError(400, f'"{name}" is not a known field selector: only '
                             '"metadata.name", "metadata.namespace"')
        out.append((name, m.group(2) != "!=", m.group(3).strip()))
    return out


def _fields_match(entry: _Entry, requirements: list[_FieldRequirement]) -> bool:
    for name, equal, value in requirements:
        actual = entry.name if name == "metadata.name" else entry.namespace
        if (actual == value) != equal:
            return False
    return True


# --------------------------------------------------------------------------- RBAC


def _rules_allow(rules: list[dict[str, Any]], group: str, plural: str, verb: str,
                 name: str | None) -> bool:
    for rule in rules:
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        verbs = rule.get("verbs") or []
        names = rule.get("resourceNames") or []
        if "*" not in groups and group not in groups:
            continue
        if "*" not in resources and plural not in resources:
            continue
        if "*" not in verbs and verb not in verbs:
            continue
        # resourceNames restrict to named gets; a list can never be satisfied by them.
        if names and (name is None or name not in names):
            continue
        return True
    return False


# --------------------------------------------------------------------------- the server


class FakeApiServer:
    """A read-only Kubernetes API server on 127.0.0.1 serving loaded objects to real clients."""

    def __init__(self, token: str | None = None, user: str = "test") -> None:
        self._lock = threading.RLock()
        self._types: dict[tuple[str, str, str], ResourceType] = {}  # (group, version, kind)
        self._by_plural: dict[tuple[str, str, str], ResourceType] = {}  # (group, version, plural)
        self._stores: dict[tuple[str, str], _Store] = {}  # (group, plural)
        self._resource_version = _FIRST_RESOURCE_VERSION
        self._tokens: set[str] = set()
        if token is not None:
            self._tokens.add(token)
        self.user = user
        self._faults: list[_Fault] = []
        self._rbac_rules: list[dict[str, Any]] | None = None
        self._expire_continue = 0
        self._requests: list[RequestRecord] = []
        self._version: dict[str, str] = {}
        self.set_version("v1.30.4")
        # Answers at least this large are gzipped when the client accepts it (kube-apiserver: 128 KiB); None: never.
        self.gzip_min_bytes: int | None = GZIP_MIN_BYTES
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[Any] = set()
        # TCP connections accepted so far: benchmarks assert the client's pool reuses them.
        self.connections_opened = 0
        for group, version, kind, plural, namespaced in _BUILTIN_KINDS:
            self._register(ResourceType(group, version, kind, plural, namespaced, builtin=True))

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeApiServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = type("_BoundHandler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        # A short poll interval only bounds how long stop() waits; requests wake the loop anyway.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"fakeapi-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on an injected delay
        httpd.shutdown()
        httpd.server_close()
        # Keep-alive connections would otherwise keep their handler threads blocked on read.
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(2)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeApiServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- configuration

    def write_kubeconfig(self, path: str | Path, context: str = "fake",
                         token: str | None = "test-token", cluster_name: str | None = None,
                         namespace: str | None = None, merge: bool = False,
                         accept_token: bool = True) -> Path:
        """Write a kubeconfig pointing at this server; returns the path.

        The token is added to the tokens the server accepts (``accept_token=False`` writes a
        kubeconfig with a token the server will reject, for 401 tests). Once any token is
        accepted, requests without a valid ``Authorization: Bearer`` answer 401.
        ``merge=True`` adds/replaces this context in an existing file (two clusters, one file)
        and keeps that file's current-context.
        """
        path = Path(path)
        cluster = cluster_name or context
        user_name = f"{context}-user"
        if token is not None and accept_token:
            with self._lock:
                self._tokens.add(token)
        config: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [], "users": [], "contexts": [], "current-context": context,
        }
        if merge and path.exists():
            loaded = yaml.safe_load(path.read_text()) or {}
            config.update({k: v for k, v in loaded.items() if v is not None})
            for key in ("clusters", "users", "contexts"):
                config[key] = [e for e in config.get(key) or [] if e.get("name") not in
                               {"clusters": cluster, "users": user_name, "contexts": context}[key]]
        user: dict[str, Any] = {"token": token} if token is not None else {}
        ctx: dict[str, Any] = {"cluster": cluster, "user": user_name}
        if namespace:
            ctx["namespace"] = namespace
        config["clusters"].append({"name": cluster, "cluster": {"server": self.url}})
        config["users"].append({"name": user_name, "user": user})
        config["contexts"].append({"name": context, "context": ctx})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def set_version(self, git_version: str = "v1.30.4", major: str | None = None,
                    minor: str | None = None, **extra: str) -> None:
        """Set what ``/version`` answers; major/minor are derived from ``git_version``."""
        m = re.match(r"^v?(\d+)\.(\d+)", git_version)
        derived_major, derived_minor = (m.group(1), m.group(2)) if m else ("", "")
        info = {
            "major": major if major is not None else derived_major,
            "minor": minor if minor is not None else derived_minor,
            "gitVersion": git_version,
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-08-01T00:00:00Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
        info.update(extra)
        with self._lock:
            self._version = info

    def register_kind(self, group: str, version: str, kind: str, plural: str | None = None,
                      namespaced: bool = True) -> ResourceType:
        """Serve a (custom) kind; its group/version then appears in discovery."""
        rt = ResourceType(group, version, kind, plural or guess_plural(kind), namespaced,
                          builtin=False)
        with self._lock:
            self._register(rt)
        return rt

    def install_gateway_api(self, release: str = "v1.2") -> None:
        """Serve the Gateway API CRDs of a release (GATEWAY_API_CRDS), empty until objects are loaded."""
        for kind, plural, namespaced, versions in GATEWAY_API_CRDS[release]:
            for version in versions:
                self.register_kind("gateway.networking.k8s.io", version, kind, plural, namespaced)

    def _register(self, rt: ResourceType) -> None:
        if rt.group == "" and rt.version != "v1":
            raise ValueError("the core group only serves v1")
        self._types[(rt.group, rt.version, rt.kind)] = rt
        self._by_plural[(rt.group, rt.version, rt.plural)] = rt
        self._stores.setdefault((rt.group, rt.plural), _Store())

    def add_fault(self, path_regex: str, status: int, times: int | None = 1,
                  retry_after: int | None = None, delay_s: float = 0.0,
                  body: str | None = None, trickle_s: float = 0.0) -> None:
        """Answer requests whose path matches (``re.search``) with ``status``.

        ``times=None``: forever. ``retry_after`` sets the Retry-After header (and
        ``details.retryAfterSeconds``). ``delay_s`` sleeps first; with status 200 the request is
        then answered normally. ``body``, when given, is sent verbatim instead of a Status JSON.
        ``trickle_s`` (status 200): the answer is sent 64 bytes at a time, that many seconds apart, so
        no single read waits long but the whole answer takes ages. Faults apply after authentication and
        the method check, before RBAC and routing.
        """
        fault = _Fault(re.compile(path_regex), status, times, retry_after, delay_s, body, trickle_s)
        with self._lock:
            self._faults.append(fault)

    def replica_without_crd(self, group: str, version: str, plural: str | None = None) -> None:
        """From now on, answer as an API server replica whose view lags the discovery the client read.

        kube-apiserver's views are separate informers: ``/apis`` is listed by the aggregator from its APIServices
        (one registered per CRD group/version; kubernetes staging/src/k8s.io/kube-aggregator/pkg/apiserver/
        handler_apis.go), ``/apis/<group>/<version>`` by the CRD versionDiscoveryHandler, and a
        list by the crdHandler from its CRD lister; with several replicas, each has its own. A CRD the handler does not
        (or no longer) know goes to the delegate chain, whose end is the NotFound handler (kubernetes
        staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/customresource_handler.go ServeHTTP and its
        "server B not have observed the established ... results in a 404" note; customresource_discovery.go;
        staging/src/k8s.io/apiserver/pkg/util/notfoundhandler/not_found_handler.go): a Status with code 404, reason
        NotFound, "the server could not find the requested resource". With ``plural``, lists and gets of that
        resource answer it while discovery still lists it; without, the group/version's own discovery answers it
        while ``/apis`` still lists the version.
        """
        prefix = re.escape(f"/apis/{group}/{version}")
        if plural is None:
            self.add_fault(f"^{prefix}/?$", 404, times=None)
        else:
            self.add_fault(f"^{prefix}/(namespaces/[^/]+/)?{re.escape(plural)}(/[^/]+)?/?$", 404, times=None)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def enforce_rbac(self, rules: list[dict[str, Any]] | None, user: str | None = None) -> None:
        """Allow only what these ClusterRole-style rules grant (None: allow everything).

        Discovery (``/api``, ``/apis`` and below up to group/version) and ``/version`` are always
        allowed, as for any authenticated user on a real cluster.
        """
        with self._lock:
            self._rbac_rules = [dict(r) for r in rules] if rules is not None else None
            if user is not None:
                self.user = user

    def expire_continue_tokens(self, n: int = 1) -> None:
        """The next ``n`` requests carrying a continue token answer 410 Expired."""
        with self._lock:
            self._expire_continue += n

    # ----------------------------------------------------------------- objects

    def load(self, objects: Iterable[dict[str, Any]]) -> int:
        """Add objects (real-shaped dicts); returns how many were loaded.

        ``kind: List`` (and ``<Kind>List``) documents are flattened. Missing
        ``metadata.resourceVersion``/``uid`` are assigned. Same (kind, namespace, name) replaces.
        """
        count = 0
        with self._lock:
            for obj in objects:
                for item in _flatten(obj):
                    self._load_one(item)
                    count += 1
        return count

    def load_yaml_dir(self, path: str | Path) -> int:
        """Load every *.yaml, *.yml and *.json file under ``path`` (recursively, sorted)."""
        root = Path(path)
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and p.suffix.lower() in (".yaml", ".yml", ".json"))
        count = 0
        for file in files:
            with file.open(encoding="utf-8") as fh:
                # JSON is YAML, but json.load is much faster for big dumps.
                docs = [json.load(fh)] if file.suffix.lower() == ".json" else list(
                    yaml.load_all(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
            count += self.load(d for d in docs if d)
        return count

    def remove(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object (simulates a change between list pages); True when it existed."""
        group, version = _split_api_version(api_version)
        with self._lock:
            rt = self._types.get((group, version, kind))
            if rt is None:
                return False
            return self._stores[(group, rt.plural)].remove(
                (namespace or "") if rt.namespaced else "", name)

    def _load_one(self, obj: dict[str, Any]) -> None:
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        meta = obj.get("metadata")
        if not api_version or not kind or not isinstance(meta, dict) or not meta.get("name"):
            raise ValueError(f"object needs apiVersion, kind and metadata.name: {obj!r:.200}")
        group, version = _split_api_version(api_version)
        rt = self._types.get((group, version, kind))
        if rt is None:
            # Unknown kind: reuse what another version of the group says, else guess (see
            # module docstring) so that dumps of unfamiliar CRDs load without ceremony.
            sibling = next((t for (g, _v, k), t in self._types.items()
                            if g == group and k == kind), None)
            rt = ResourceType(group, version, kind,
                              sibling.plural if sibling else guess_plural(kind),
                              sibling.namespaced if sibling else bool(meta.get("namespace")),
                              builtin=sibling.builtin if sibling else False)
            self._register(rt)
        meta = dict(meta)
        if rt.namespaced:
            meta.setdefault("namespace", "default")  # as kubectl apply would
        else:
            meta.pop("namespace", None)
        self._resource_version += 1
        meta.setdefault("resourceVersion", str(self._resource_version))
        meta.setdefault("uid", str(uuid.uuid5(
            uuid.NAMESPACE_URL, f"{group}/{kind}/{meta.get('namespace', '')}/{meta['name']}")))
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        body["metadata"] = meta
        blob = json.dumps(body, separators=(",", ":")).encode()
        labels = meta.get("labels") or {}
        entry = _Entry(meta.get("namespace", ""), str(meta["name"]),
                       {str(k): str(v) for k, v in labels.items()}, blob)
        self._stores[(group, rt.plural)].put(entry)

    # ----------------------------------------------------------------- request log

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, in arrival order."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def paths(self) -> list[str]:
        """Paths of all logged requests (handy for ``assert not any('/secrets' in p ...)``)."""
        return [r.path for r in self.requests]

    # ----------------------------------------------------------------- request handling

    def _handle(self, method: str, raw_path: str, headers: dict[str, str]
                ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        kept = {"Accept": headers.get("accept"), "User-Agent": headers.get("user-agent"),
                "Accept-Encoding": headers.get("accept-encoding")}
        record = RequestRecord(method, path, query, {k: v for k, v in kept.items() if v is not None})
        with self._lock:
            self._requests.append(record)
        try:
            status, extra, body = self._respond(method, path, query, headers)
        except _HttpError as err:
            status, extra, body = err.code, err.headers, _dumps(err.body)
        except Exception as exc:  # a bug here must surface as a 500 Status, not a hang
            status, extra, body = 500, {}, _dumps(_status(500, f"fakeapi bug: {exc!r}"))
        minimum = self.gzip_min_bytes
        if (minimum is not None and len(body) >= minimum and not isinstance(body, _Trickle)
                and _accepts_gzip(headers.get("accept-encoding", ""))):
            # Level 1, as kube-apiserver compresses (defaultGzipContentEncodingLevel).
            body = gzip.compress(body, compresslevel=1, mtime=0)
            extra = {**extra, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        with self._lock:
            record.status = status
            record.duration_s = time.monotonic() - record.started
            record.bytes_sent = len(body)
            record.content_encoding = extra.get("Content-Encoding")
        return status, extra, body

    def _respond(self, method: str, path: str, query: dict[str, str],
                 headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            tokens = set(self._tokens)
        if tokens:
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in tokens:
                raise _HttpError(401, "Unauthorized")
        if method != "GET":
            raise _HttpError(405, f"the fake API server is read-only: {method} is not allowed")
        if query.get("watch", "").lower() in ("true", "1") or "/watch/" in path:
            raise _HttpError(405, "watch is not allowed: the auditor must never watch")
        fault = self._take_fault(path)
        if fault is not None:
            if fault.delay_s:
                self._stopping.wait(fault.delay_s)
            fault_headers = {"Retry-After": str(fault.retry_after)} \
                if fault.retry_after is not None else {}
            if fault.body is not None:
                return fault.status, fault_headers, fault.body.encode()
            if fault.status != 200:
                details = {"retryAfterSeconds": fault.retry_after} \
                    if fault.retry_after is not None else None
                raise _HttpError(fault.status,
                                 _DEFAULT_MESSAGES.get(fault.status, "injected fault"),
                                 details=details, headers=fault_headers)
            if fault.trickle_s:
                status, extra, body = self._route(path.rstrip("/") or "/", query)
                trickle = _Trickle(body)
                trickle.interval_s = fault.trickle_s
                return status, extra, trickle
        return self._route(path.rstrip("/") or "/", query)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining is not None and fault.remaining <= 0:
                    continue
                if fault.pattern.search(path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = path.strip("/").split("/") if path != "/" else []
        if parts == ["version"]:
            with self._lock:
                return _ok(self._version)
        if parts[:1] == ["api"]:
            if len(parts) == 1:
                return _ok({"kind": "APIVersions", "versions": ["v1"],
                            "serverAddressByClientCIDRs": [
                                {"clientCIDR": "0.0.0.0/0",
                                 "serverAddress": f"127.0.0.1:{self.port}"}]})
            return self._resource_request("", parts[1], parts[2:], query)
        if parts[:1] == ["apis"]:
            if len(parts) == 1:
                return _ok({"kind": "APIGroupList", "apiVersion": "v1",
                            "groups": self._group_list()})
            if len(parts) == 2:
                group = next((g for g in self._group_list() if g["name"] == parts[1]), None)
                if group is None:
                    raise _HttpError(404, "the server could not find the requested resource")
                return _ok({"kind": "APIGroup", "apiVersion": "v1", **group})
            return self._resource_request(parts[1], parts[2], parts[3:], query)
        raise _HttpError(404, "the server could not find the requested resource")

    def _group_list(self) -> list[dict[str, Any]]:
        with self._lock:
            versions: dict[str, set[str]] = {}
            for g, v, _k in self._types:
                if g:
                    versions.setdefault(g, set()).add(v)
        groups = []
        for g in sorted(versions):
            ordered = sorted(versions[g], key=_version_priority)
            entries = [{"groupVersion": f"{g}/{v}", "version": v} for v in ordered]
            # The python DynamicClient compares preferredVersion to a versions[] entry by dict
            # equality, so it must be an identical dict.
            groups.append({"name": g, "versions": entries, "preferredVersion": dict(entries[0])})
        return groups

    def _resource_request(self, group: str, version: str, rest: list[str],
                          query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            served = [t for (g, v, _k), t in self._types.items() if g == group and v == version]
        if not served:
            raise _HttpError(404, "the server could not find the requested resource")
        if not rest:
            return _ok(_resource_list(group, version, served))
        # [plural] | [plural, name] | [namespaces, ns, plural] | [namespaces, ns, plural, name]
        # In the core group "namespaces" is also a resource: /api/v1/namespaces/{name} is a get.
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 2:  # subresources (status, log, scale...) are not served
            raise _HttpError(404, "the server could not find the requested resource")
        plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
        return self._serve_objects(group, version, plural, namespace, name, query)

    def _serve_objects(self, group: str, version: str, plural: str, namespace: str | None,
                       name: str | None, query: dict[str, str]
                       ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            rt = self._by_plural.get((group, version, plural))
        if rt is None or (namespace is not None and not rt.namespaced) or (
                namespace is None and name is not None and rt.namespaced):
            raise _HttpError(404, "the server could not find the requested resource")
        self._authorize(rt, "get" if name is not None else "list", namespace, name)
        if name is None and query.get("continue") and query.get("resourceVersion"):
            raise _HttpError(400, "specifying resource version is not allowed when using continue")
        if name is None and query.get("continue"):
            with self._lock:
                expired = self._expire_continue > 0
                if expired:
                    self._expire_continue -= 1
            if expired:
                raise _HttpError(410, EXPIRED_CONTINUE_MESSAGE, reason="Expired")
        with self._lock:
            store = self._stores[(group, plural)]
            if name is not None:
                entry = store.by_key.get((namespace or "", name))
                if entry is None:
                    details = {"name": name, "kind": plural}
                    if group:
                        details["group"] = group
                    raise _HttpError(404, f'{_qualified(rt)} "{name}" not found',
                                     details=details)
                return 200, {}, _with_type(entry.blob, rt)
            entries = store.entries(namespace)
            resource_version = str(self._resource_version)
        return 200, {}, self._list_page(rt, entries, path_key(group, version, plural, namespace),
                                        resource_version, query)

    def _authorize(self, rt: ResourceType, verb: str, namespace: str | None,
                   name: str | None) -> None:
        with self._lock:
            rules, user = self._rbac_rules, self.user
        if rules is None or _rules_allow(rules, rt.group, rt.plural, verb, name):
            return
        # Like the real server, the subject is the group-qualified resource ("deployments.apps").
        subject = f'{_qualified(rt)} "{name}"' if name is not None else _qualified(rt)
        scope = f'in the namespace "{namespace}"' if namespace is not None else "at the cluster scope"
        message = (f'{subject} is forbidden: User "{user}" cannot {verb} resource "{rt.plural}" '
                   f'in API group "{rt.group}" {scope}')
        details: dict[str, Any] = {"kind": rt.plural}
        if name is not None:
            details["name"] = name
        if rt.group:
            details["group"] = rt.group
        raise _HttpError(403, message, details=details)

    def _list_page(self, rt: ResourceType, entries: list[_Entry], key: str,
                   resource_version: str, query: dict[str, str]) -> bytes:
        label_sel = query.get("labelSelector", "")
        field_sel = query.get("fieldSelector", "")
        if label_sel:
            try:
                reqs = parse_label_selector(label_sel)
            except ValueError as exc:
                raise _HttpError(400, f"unable to parse requirement: {exc}") from exc
            entries = [e for e in entries if _labels_match(e.labels, reqs)]
        if field_sel:
            freqs = _parse_field_selector(field_sel)
            entries = [e for e in entries if _fields_match(e, freqs)]
        offset = 0
        token = query.get("continue")
        if token:
            offset, resource_version = _decode_continue(token, key)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise _HttpError(400, f"invalid limit: {query.get('limit')!r}") from exc
        if query.get("resourceVersion") == "0" and not token:
            limit = 0  # the watch cache answers the whole list, whatever the limit

        end = len(entries) if limit <= 0 else min(len(entries), offset + limit)
        page = entries[offset:end]
        meta: dict[str, Any] = {"resourceVersion": resource_version}
        if end < len(entries):
            meta["continue"] = _encode_continue(end, resource_version, key)
            meta["remainingItemCount"] = len(entries) - end
        head = _dumps({"apiVersion": rt.api_version, "kind": f"{rt.kind}List",
                       "metadata": meta})[:-1] + b',"items":['
        items = b",".join(e.blob for e in page) if rt.builtin else b",".join(_with_type(e.blob, rt) for e in page)
        return head + items + b"]}"


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header accepts gzip (`gzip`, `gzip;q=0.5`; not `gzip;q=0`)."""
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def path_key(group: str, version: str, plural: str, namespace: str | None) -> str:
    """The list a continue token belongs to (tokens are only valid for that list)."""
    return f"{group}/{version}/{namespace or ''}/{plural}"


def _encode_continue(offset: int, resource_version: str, key: str) -> str:
    raw = json.dumps({"o": offset, "rv": resource_version, "p": key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str, key: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, rv, path = int(data["o"]), str(data["rv"]), str(data["p"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _HttpError(400, f"continue key is not valid: {exc}") from exc
    if path != key:
        raise _HttpError(400, "continue key is not valid: continue token was issued for "
                         "another list")
    return offset, rv


def _qualified(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def _with_type(blob: bytes, rt: ResourceType) -> bytes:
    # Splice apiVersion/kind in front of the pre-serialized object instead of re-serializing it.
    return (b'{"apiVersion":' + json.dumps(rt.api_version).encode() + b',"kind":'
            + json.dumps(rt.kind).encode() + b"," + blob[1:])


def _resource_list(group: str, version: str, served: list[ResourceType]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [
            {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
             "kind": t.kind, "verbs": ["get", "list", "watch"]}
            for t in sorted(served, key=lambda t: t.plural)
        ],
    }


def _flatten(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = str(obj.get("kind", ""))
    if kind.endswith("List") and isinstance(obj.get("items"), list):
        # `kubectl get -o yaml` writes kind: List with typed items; raw API dumps write
        # <Kind>List whose items lack apiVersion/kind, which we restore from the list.
        item_kind = kind[:-4] if kind != "List" else None
        for item in obj["items"]:
            if item_kind and "kind" not in item:
                item = {"apiVersion": obj.get("apiVersion"), "kind": item_kind, **item}
            yield from _flatten(item)
    else:
        yield obj


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _ok(obj: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, _dumps(obj)


class _Handler(BaseHTTPRequestHandler):
    """HTTP glue; all decisions are made in FakeApiServer._handle."""

    api: FakeApiServer  # set on the per-server subclass
    # Keep-alive lets the client's urllib3 pool reuse connections (matters for benchmarks).
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    server_version = "fakeapi/1"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with self.api._lock:
            self.api._connections.add(self.connection)
            self.api.connections_opened += 1

    def finish(self) -> None:
        with self.api._lock:
            self.api._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # the structured request log replaces stderr noise

    def _dispatch(self) -> None:
        # Drain any request body so the next request on this keep-alive connection parses.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, body = self.api._handle(self.command, self.path, headers)
        try:
            self.send_response(status)
            # Aggregated discovery (Accept: ...;g=apidiscovery.k8s.io;v=v2) is ignored on
            # purpose: plain application/json makes clients fall back to legacy discovery.
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD" and isinstance(body, _Trickle):
                for start in range(0, len(body), 64):
                    self.wfile.write(body[start:start + 64])
                    self.wfile.flush()
                    if self.api._stopping.wait(body.interval_s):
                        break
            elif self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # client gave up (e.g. its timeout fired)

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_OPTIONS = _dispatch
