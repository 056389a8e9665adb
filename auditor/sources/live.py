"""Live clusters through the `kubernetes` package: its kubeconfig/auth handling, our raw GETs.

Lists are read page by page (`limit` + `continue`) as raw JSON and parsed with orjson; the client's
model objects are never built for lists (they cost ~50 KB and ~1.6 ms per pod). Only GET requests are
ever sent, and never for Secrets.

Gentle on the API server: every request accepts gzip (kube-apiserver compresses answers over 128 KiB; a
50k-pod cluster is ~10x fewer bytes on the wire), says who sends it (USER_AGENT, with our version, for the
server's audit log and API Priority and Fairness), and the small cluster-scoped kinds are listed from the
API server's watch cache (FROM_WATCH_CACHE), not from etcd.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import orjson
import urllib3

from auditor import __version__, podwire, wire
from auditor import kinds as K
from auditor.errors import ClusterUnreachable, KindNotServed, SourceError, UsageError
from auditor.kinds import Kind
from auditor.sources.base import LIST_RESTARTED, ClusterSource, ListRestarted
from auditor.sources.shapes import object_problem

PAGE_SIZE = int(os.environ.get("ASM_AUDIT_PAGE_SIZE", "500"))
DEFAULT_KUBECONFIG = "~/.kube/config"  # kubectl's, when KUBECONFIG is unset or empty
# Retries of 429/5xx/dropped connections: at most MAX_ATTEMPTS tries, waits of BASE_DELAY_S doubling
# (or the server's Retry-After, capped), so one request never costs more than ~MAX_ATTEMPTS * cap.
MAX_ATTEMPTS = 4
BASE_DELAY_S = 0.5
MAX_RETRY_AFTER_S = 10.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Path segments never requested, whatever a check asks for: Secrets hold credentials.
FORBIDDEN_SEGMENTS = frozenset({"secrets"})
USER_AGENT = f"asm-audit/{__version__} (read-only)"
# Listed with resourceVersion=0: served by the API server's watch cache instead of a quorum read of etcd. Only
# cluster-scoped configuration (webhooks, admission policies, CRDs, cluster RBAC, GatewayClasses, the ASM
# migration): its size is set by what is installed, not by tenants or workloads, so it is read in one page, and
# the cache's answer is the same list (at most the cache's few milliseconds behind etcd). Not namespaces (one per
# tenant, up to 10,000) and not pods or other workload kinds: before pagination from the watch cache (Kubernetes
# 1.33+), resourceVersion=0 ignores `limit` and the server would build one answer of every pod (1.7 GB at 150k
# pods), the opposite of gentle; paged without resourceVersion they are consistent reads, which Kubernetes 1.31+
# (ConsistentListFromCache) also serves from the cache.
FROM_WATCH_CACHE = frozenset(k for k in K.ALL_KINDS if not k.namespaced and k is not K.NAMESPACE)


class DeadlineExceeded(SourceError):
    """The run's deadline (--run-timeout) passed: what is left is not read, its checks are UNKNOWN."""


class RequestTimeout(SourceError):
    """One request got no answer within --timeout."""


class ConnectionDropped(SourceError):
    """The connection broke mid-request; retried like a 503."""


class RunDeadline:
    """One deadline shared by every cluster of a run (monotonic clock); None means no deadline."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds if seconds else None

    def remaining(self) -> float | None:
        return None if self.expires is None else self.expires - time.monotonic()

    def check(self, what: str) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded(f"run deadline of {self.seconds:g}s (--run-timeout) reached before {what}")


class _PluginErrors(logging.Filter):
    """Keeps the ERROR records a thread logs while it captures, instead of printing them.

    The kubernetes client reports a failing credential plugin only with `logging.error` on the root logger
    (a stray `ERROR:root:` line), then goes on without credentials. One filter, installed once on the root
    logger and routing by thread: handlers added and removed per call would race between the threads of a
    fleet (a handler list changing under `callHandlers` skips handlers). Other threads' records pass.
    """

    def __init__(self) -> None:
        super().__init__()
        self.active: dict[int, list[str]] = {}  # thread ident -> its messages; each thread touches its own key

    def filter(self, record: logging.LogRecord) -> bool:
        messages = self.active.get(record.thread) if record.levelno >= logging.ERROR else None
        if messages is None:
            return True
        messages.append(" ".join(record.getMessage().split())[:300])
        return False

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        ident = threading.get_ident()
        messages: list[str] = []
        self.active[ident] = messages
        try:
            yield messages
        finally:
            self.active.pop(ident, None)


_PLUGIN_ERRORS = _PluginErrors()
_PLUGIN_ERRORS_LOCK = threading.Lock()


class PluginTimedOut(Exception):
    """A credential plugin gave no answer in time and was killed."""


class _PluginBound(threading.local):
    """Per thread (a fleet reads its clusters side by side): how long a credential plugin may run now, and
    what happened to the last one that ran out of time."""

    seconds: float | None = None
    timed_out: str = ""


_PLUGIN_BOUND = _PluginBound()


class _BoundedPopen(subprocess.Popen):  # type: ignore[type-arg]
    """The client's credential plugin process, which it waits for without a timeout (`communicate()`).

    A plugin that hangs (a login waiting for a browser, a network call to a dead IdP) would hold the run past
    --timeout and --run-timeout. Here it is waited for at most the bound of the calling thread, then killed
    with everything it started (its own process group, unless it talks to the user's terminal).
    """

    def __init__(self, args: Any, **kwargs: Any) -> None:
        self._own_group = kwargs.get("stdin") is None  # interactive plugins keep the terminal's group
        if self._own_group:
            kwargs["process_group"] = 0
        super().__init__(args, **kwargs)

    def communicate(self, input: Any = None, timeout: float | None = None) -> Any:
        bound = _PLUGIN_BOUND.seconds if timeout is None else timeout
        try:
            return super().communicate(input, timeout=bound)
        except subprocess.TimeoutExpired:
            self._kill()
            command = self.args[0] if isinstance(self.args, list | tuple) and self.args else self.args
            _PLUGIN_BOUND.timed_out = (f"the kubeconfig's credential plugin {str(command)[:200]!r} gave no answer "
                                       f"within {bound:g}s and was stopped")
            raise PluginTimedOut(_PLUGIN_BOUND.timed_out) from None

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self._own_group:
                os.killpg(self.pid, signal.SIGKILL)
            else:
                self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            super().communicate(timeout=2)  # reap it and close its pipes
        for pipe in (self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()


class _BoundedSubprocess(types.ModuleType):
    """`subprocess` as the client's exec provider sees it: the same module, with Popen bounded."""

    Popen = _BoundedPopen

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)


_SUBPROCESS_LOCK = threading.Lock()


@contextlib.contextmanager
def _bounded_plugins(seconds: float) -> Iterator[None]:
    """Credential plugins started by the client in this thread, within the block, run at most `seconds`."""
    from kubernetes.config import exec_provider

    with _SUBPROCESS_LOCK:
        if not isinstance(exec_provider.subprocess, _BoundedSubprocess):
            exec_provider.subprocess = _BoundedSubprocess("subprocess")
    _PLUGIN_BOUND.seconds, _PLUGIN_BOUND.timed_out = seconds, ""
    try:
        yield
    finally:
        _PLUGIN_BOUND.seconds = None


def _plugin_errors() -> _PluginErrors:
    """The root logger's filter, installed at first use (not at import)."""
    with _PLUGIN_ERRORS_LOCK:
        root = logging.getLogger()
        if _PLUGIN_ERRORS not in root.filters:
            root.addFilter(_PLUGIN_ERRORS)
    return _PLUGIN_ERRORS


class LiveCluster(ClusterSource):
    def __init__(self, name: str, role: str, kubeconfig: str | None, context: str | None,
                 timeout_s: float = 30.0, cluster_id: str | None = None,
                 deadline: RunDeadline | None = None) -> None:
        self.name = name
        self.role = role
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout_s = timeout_s
        self.cluster_id = cluster_id
        self.deadline = deadline or RunDeadline(None)
        self._client: Any = None
        self._groups: dict[str, list[str]] | None = None
        self._resources: dict[str, set[str] | None] = {}
        self.requests = 0
        self.plugin_timed_out = ""  # a credential plugin that hung and was killed: the cluster is unreachable
        self.renewal_failure = ""  # the last message of a credential plugin that failed to renew the token
        # What was read, hashed as it arrives: the report's inputs_sha256 for a live run.
        self.digest = hashlib.sha256()

    def describe(self) -> str:
        where = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return f"{self.name} (kubeconfig {where}, context {self.context or 'current'})"

    # -- client, built on first use so nothing happens at import or construction
    def validate(self) -> None:
        """Load the kubeconfig now so a bad one is a usage error before any collection starts.

        A credential plugin that hangs is no usage error: the cluster is unreachable (UNKNOWN), as it says when
        the collection asks for its /version.
        """
        with contextlib.suppress(ClusterUnreachable):
            self._api()

    def _plugin_bound(self) -> contextlib.AbstractContextManager[None]:
        """A credential plugin may take what one request may (--timeout), never past the run's deadline."""
        left = self.deadline.remaining()
        return _bounded_plugins(self.timeout_s if left is None else max(0.05, min(self.timeout_s, left)))

    def _api(self) -> Any:
        if self.plugin_timed_out:  # not started again: it would only hang again
            raise ClusterUnreachable(self.plugin_timed_out)
        if self._client is None:
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException

            path = self.kubeconfig
            if path and not Path(os.path.expanduser(path)).is_file():
                raise UsageError(f"cluster {self.name}: kubeconfig {path} not found")
            if not path:
                # An empty KUBECONFIG is kubectl's default (~/.kube/config), as an unset one is; the client would read
                # it as no file at all ("( not found)" here, while ~/.kube/config was there).
                named = os.environ.get("KUBECONFIG") or ""
                first = (named or DEFAULT_KUBECONFIG).split(os.pathsep)[0]
                if not Path(os.path.expanduser(first)).is_file():
                    raise UsageError(f"cluster {self.name}: no kubeconfig ({named or DEFAULT_KUBECONFIG} not found); "
                                     "pass --kubeconfig or --snapshot")
                if not named:
                    path = os.path.expanduser(DEFAULT_KUBECONFIG)
            self._check_kubeconfig(path)
            configuration = client.Configuration()
            try:
                with _plugin_errors().capture() as plugin_errors, self._plugin_bound():
                    config.load_kube_config(config_file=path, context=self.context,
                                            client_configuration=configuration, persist_config=False)
            except ConfigException as exc:
                raise UsageError(f"cluster {self.name}: {str(exc).splitlines()[0]}") from exc
            except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
                # The loader raises bare errors on malformed YAML or missing fields.
                raise UsageError(f"cluster {self.name}: malformed kubeconfig {path or ''}: "
                                 f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                                 ) from exc
            except Exception as exc:  # yaml errors and others from the loader
                raise UsageError(f"cluster {self.name}: cannot load kubeconfig: "
                                 f"{str(exc).splitlines()[0]}") from exc
            if _PLUGIN_BOUND.timed_out:
                self.plugin_timed_out = _PLUGIN_BOUND.timed_out
                raise ClusterUnreachable(self.plugin_timed_out)
            if plugin_errors:
                # The loader only logs a failing credential plugin and goes on without credentials: every
                # request would then be refused, hiding the cause (an expired login, a missing profile).
                raise UsageError(f"cluster {self.name}: the kubeconfig's credential plugin failed: "
                                 f"{plugin_errors[0]} (log in again, or check users[].user.exec)")
            configuration.retries = 0  # we retry ourselves, with Retry-After and a bound
            self._client = client.ApiClient(configuration)
            self._client.user_agent = USER_AGENT
        return self._client

    def _check_kubeconfig(self, path: str | None) -> None:
        """Our own reading of the kubeconfig file(s), for one-line errors that name the file, line and context.

        The client's loader reports malformed files as bare TypeErrors or YAML dumps, and only logs a missing
        credential plugin; it loads the files again after this.
        """
        files = [path] if path else [f for f in (os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG).split(os.pathsep)
                                     if f and Path(os.path.expanduser(f)).is_file()]
        # Merged like kubectl: the first file that names an entry wins.
        entries: dict[str, dict[str, dict[str, Any]]] = {"contexts": {}, "clusters": {}, "users": {}}
        current = None
        for file in files:
            doc = _read_kubeconfig(self.name, file)
            for section, named in entries.items():
                items = doc.get(section)
                if items is None:
                    continue
                if not isinstance(items, list) or not all(
                        isinstance(e, dict) and isinstance(e.get("name"), str) for e in items):
                    raise UsageError(f"cluster {self.name}: malformed kubeconfig {file}: '{section}' must be a "
                                     "list of entries with a name")
                for entry in items:
                    named.setdefault(entry["name"], entry)
            if not current and isinstance(doc.get("current-context"), str):
                current = doc["current-context"]
        where = ", ".join(files)
        contexts = list(entries["contexts"])
        known = f" (contexts: {', '.join(contexts)})" if contexts else " (it defines no context)"
        if self.context and self.context not in contexts:
            raise UsageError(f"cluster {self.name}: unknown context {self.context!r} in kubeconfig {where}{known}")
        if not self.context and not current:
            raise UsageError(f"cluster {self.name}: kubeconfig {where} has no current-context; "
                             f"pass --context{known}")
        name = self.context or current
        context = (entries["contexts"].get(name) or {}).get("context")
        if not isinstance(context, dict):
            return  # the client's own message names what is missing
        cluster = (entries["clusters"].get(context.get("cluster")) or {}).get("cluster")
        server = cluster.get("server") if isinstance(cluster, dict) else None
        if isinstance(server, str) and not server.startswith(("https://", "http://")):
            raise UsageError(f"cluster {self.name}: context {name!r} has server {server[:100]!r}; expected an "
                             "https:// URL")
        user = (entries["users"].get(context.get("user")) or {}).get("user")
        plugin = (user.get("exec") or {}) if isinstance(user, dict) else {}
        command = plugin.get("command") if isinstance(plugin, dict) else None
        # Bare names are looked up on PATH, absolute paths checked; relative paths (resolved against the
        # kubeconfig's directory by kubectl) are left to the client.
        checkable = isinstance(command, str) and command and (os.sep not in command or os.path.isabs(command))
        if checkable and shutil.which(command) is None:
            raise UsageError(f"cluster {self.name}: the credential plugin {command!r} of context {name!r} is not "
                             "installed (not found on PATH)")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def server(self) -> str | None:
        """The API server URL its kubeconfig names, once loaded (validate): with the cluster's kube-system uid, it
        tells one cluster given under two names (collect.one_cluster_twice)."""
        return str(self._client.configuration.host).rstrip("/") if self._client is not None else None

    # -- one GET
    def _raw_get(self, path: str, query: list[tuple[str, Any]] | None = None) -> tuple[int, bytes, Any]:
        refuse_unsafe(path, query)
        if self.plugin_timed_out:  # the cause, rather than the deadline it may have used up
            raise ClusterUnreachable(self.plugin_timed_out)
        self.deadline.check(f"GET {path}")
        api = self._api()
        url = api.configuration.host.rstrip("/") + path + ("?" + urlencode(query) if query else "")
        # gzip: urllib3 decompresses as it reads, so the body, the digest and the errors are the same as without.
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": api.user_agent}
        # Authentication the way the client does it (token, basic, client cert via pool). An exec credential
        # that expired is refreshed here by the client, which only logs a failing plugin.
        with _plugin_errors().capture() as plugin_errors, self._plugin_bound():
            auth = api.configuration.auth_settings().get("BearerToken")
        if _PLUGIN_BOUND.timed_out:
            self.plugin_timed_out = _PLUGIN_BOUND.timed_out
            raise ClusterUnreachable(self.plugin_timed_out)
        # The old token is sent; if refused, the 401 says why (_get_json). No message: no failed renewal now.
        self.renewal_failure = plugin_errors[0] if plugin_errors else ""
        if auth and auth.get("value"):
            headers[auth["key"]] = auth["value"]
        # Never wait past the run's deadline: the last request gets what is left of it.
        left = self.deadline.remaining()
        read_timeout = self.timeout_s if left is None else max(0.05, min(self.timeout_s, left))
        self.requests += 1
        try:
            resp = api.rest_client.pool_manager.request(
                "GET", url, headers=headers, preload_content=False,
                timeout=urllib3.Timeout(connect=min(10.0, read_timeout), read=read_timeout),
                retries=False)
            body = self._read_body(resp, path)
        except urllib3.exceptions.ReadTimeoutError as exc:
            self.deadline.check(f"GET {path} answered")
            raise RequestTimeout(f"timed out: no answer within {read_timeout:g}s (--timeout): GET {path}") from exc
        except urllib3.exceptions.ProtocolError as exc:
            raise ConnectionDropped(f"connection dropped: {_short(exc)}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(unreachable_reason(api.configuration.host, exc)) from exc
        return resp.status, body, resp.headers

    def _read_body(self, resp: Any, path: str) -> bytes:
        """The whole answer, checking the run's deadline between reads.

        --timeout bounds each wait for bytes; a server that trickles a few bytes at a time never trips it.
        Without this check such a server would hold the run past --run-timeout, however far.
        """
        chunks: list[bytes] = []
        try:
            if self.deadline.expires is None:
                return resp.read()  # nothing to check between pieces: one read is ~10% faster at 50k pods
            while True:
                chunk = resp.read1(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                if self.deadline.expires is not None and self.deadline.remaining() <= 0:
                    resp.close()  # drop the connection: what is left of the answer is not wanted
                    self.deadline.check(f"GET {path} was read to the end")
            return b"".join(chunks)
        finally:
            resp.release_conn()

    def _get_json(self, path: str, query: list[tuple[str, Any]] | None = None,
                  decode: Callable[[bytes], Any] = wire.loads) -> dict[str, Any]:
        delay = BASE_DELAY_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                status, body, headers = self._raw_get(path, query)
            except ConnectionDropped as exc:
                # A GET is idempotent: a connection reset (API server restart, stale keep-alive) is retried.
                if attempt == MAX_ATTEMPTS:
                    raise ClusterUnreachable(f"{exc.reason} (after {MAX_ATTEMPTS} attempts)") from exc
                self._backoff(delay, None, path)
                delay *= 2
                continue
            if 200 <= status < 300:
                self.digest.update(path.encode() + b"\n" + body)
                try:
                    answer = decode(body)
                except orjson.JSONDecodeError as exc:
                    raise SourceError(f"GET {path}: answer is not valid JSON ({exc})", status=status) from exc
                if not isinstance(answer, dict):
                    raise SourceError(f"GET {path}: answer is not a JSON object", status=status)
                return answer
            if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                self._backoff(delay, headers.get("Retry-After"), path)
                delay *= 2
                continue
            reason = _status_reason(path, status, body)
            if status == 401 and self.renewal_failure:
                reason += (f" (the kubeconfig's credential plugin failed to renew the token: {self.renewal_failure};"
                           " log in again, then re-run)")
            raise SourceError(reason, status=status)
        raise AssertionError("unreachable")

    def _backoff(self, delay: float, retry_after: str | None, path: str) -> None:
        """Wait before a retry: the server's Retry-After (seconds, capped) or our doubling delay; never
        past the run's deadline."""
        wait = delay
        if retry_after:
            try:
                wait = float(retry_after)
            except ValueError:  # an HTTP-date or garbage: our own delay
                wait = delay
            if not math.isfinite(wait):
                wait = delay
        wait = min(max(wait, 0.0), MAX_RETRY_AFTER_S)
        left = self.deadline.remaining()
        if left is not None and left <= wait:
            time.sleep(max(left, 0.0))
            self.deadline.check(f"retrying GET {path}")
        time.sleep(wait)

    # -- interface
    def version(self) -> dict[str, Any]:
        try:
            return self._get_json("/version")
        except RequestTimeout as exc:
            # A server that cannot answer /version in time will not answer lists: do not wait on each.
            raise ClusterUnreachable(exc.reason) from exc

    def _served_version(self, kind: Kind) -> str | None:
        if not kind.group:
            if self._has_resource("/api/v1", kind.plural):
                return "v1"
            # Every kube-apiserver serves the core kinds read here at /api/v1 (kubernetes pkg/registry/core/rest/
            # storage_core.go): a discovery without them is not the API server's, and proves no absence.
            answer = "not found" if self._resources.get("/api/v1") is None else f"does not list {kind.plural}"
            raise SourceError(f"GET /api/v1: {answer}, though every Kubernetes API server serves {kind.plural} there "
                              f"(is the kubeconfig's server a Kubernetes API server?); {kind.kind} objects were not "
                              "read", status=404)
        if self._groups is None:
            groups = _list_of_dicts(_discovery(self._get_json("/apis"), "/apis", "APIGroupList", "groups", kind))
            self._groups = {g.get("name"): [v.get("version") for v in _list_of_dicts(g.get("versions"))]
                            for g in groups}
        served = self._groups.get(kind.group) or []
        for version in [*kind.versions, *served]:
            if version in served and self._has_resource(f"/apis/{kind.group}/{version}", kind.plural):
                return version
        # /apis lists these versions, yet their discovery answered 404: the API server's views disagree (a CRD being
        # installed or removed, API server replicas out of step). What they would list is not known: not "not served".
        missing = [f"{kind.group}/{v}" for v in served if self._resources.get(f"/apis/{kind.group}/{v}", ()) is None]
        if missing:
            raise SourceError(f"GET /apis/{missing[0]}: not found, though /apis lists {missing[0]} (the API "
                              "server's discovery disagrees with itself: a CRD being installed or removed, or API "
                              f"server replicas out of step); {kind.kind} objects were not read, retry the audit",
                              status=404)
        return None

    def _has_resource(self, gv_path: str, plural: str) -> bool:
        if gv_path not in self._resources:
            try:
                listing = _discovery(self._get_json(gv_path), gv_path, "APIResourceList", "resources")
                self._resources[gv_path] = {r.get("name") for r in _list_of_dicts(listing)}
            except SourceError as exc:
                if exc.status != 404:
                    raise
                self._resources[gv_path] = None
        names = self._resources[gv_path]
        return bool(names) and plural in names

    def pages(self, kind: Kind, decode: Callable[[bytes], Any] = wire.loads
              ) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        """Pages of a list; `decode` parses each answer (the engine passes a faster, reducing one for pods)."""
        version = self._served_version(kind)
        if version is None:
            raise KindNotServed(f"{kind.kind} ({kind.group or 'core'}) is not served by this cluster")
        prefix = f"/apis/{kind.group}/{version}" if kind.group else "/api/v1"
        path = f"{prefix}/{kind.plural}"
        token: str | None = None
        restarted = False
        seen_tokens: set[str] = set()  # of this pass over the list: a server that repeats one would page forever
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))  # never with a resourceVersion: the server refuses both
            elif kind in FROM_WATCH_CACHE:
                query.append(("resourceVersion", "0"))
            try:
                answer = self._get_json(path, query, decode)
            except DeadlineExceeded:
                raise
            except SourceError as exc:
                if exc.status == 410 and token and not restarted:
                    # The continue token expired mid-list: start over once, consistently.
                    restarted = True
                    token = None
                    seen_tokens.clear()
                    yield LIST_RESTARTED
                    continue
                if exc.status == 410 and token:
                    raise SourceError(f"the list of {kind.key} expired twice while being read (continue token "
                                      "too old: the cluster changes faster than it can be paged); retry the "
                                      "audit, or raise ASM_AUDIT_PAGE_SIZE", status=410) from exc
                if exc.status == 404 and not token and not restarted:
                    # Discovery has just listed the resource (_served_version), so this 404 is no proof that the kind
                    # is not served: a replica that has not (or no longer) seen the CRD answers it (kubernetes
                    # apiextensions-apiserver customresource_handler.go: a CRD its lister lacks goes to the delegate's
                    # NotFound). Read as "not served", every object of the kind would vanish from the audit.
                    raise SourceError(f"{exc.reason} (though discovery lists {kind.plural} in {prefix[1:]}: the API "
                                      "server's answers disagree, a CRD being installed or removed or API server "
                                      f"replicas out of step); {kind.kind} objects were not read, retry the audit",
                                      status=404) from exc
                if exc.status == 403:
                    raise SourceError(forbidden_message(kind), status=403) from exc
                raise
            yield list_items(kind, path, answer)
            meta = answer.get("metadata")
            token = meta.get("continue") if isinstance(meta, dict) else None
            if not token:
                remaining = meta.get("remainingItemCount") if isinstance(meta, dict) else None
                if remaining not in (None, 0):
                    # k8s.io/apimachinery meta/v1 ListMeta: remainingItemCount is "the number of subsequent items in
                    # the list which are not included in this list response", omitted once the list is complete. A
                    # page that counts more items yet gives no continue token to read them is not the whole list.
                    raise SourceError(f"GET {path}: the list answer says {str(remaining)[:40]} more items remain "
                                      f"(metadata.remainingItemCount) but gives no continue token to read them; "
                                      f"{kind.kind} objects were not all read")
                return
            if not isinstance(token, str):
                raise SourceError(f"GET {path}: malformed list answer (continue token is not a string)")
            if token in seen_tokens:
                raise SourceError(f"GET {path}: the API server repeated continue token {token[:40]!r} (the list "
                                  f"would never end); {kind.kind} objects were not all read")
            seen_tokens.add(token)


def _discovery(answer: dict[str, Any], path: str, expected: str, field: str, kind: Kind | None = None) -> Any:
    """The `field` of a discovery answer (APIGroupList groups, APIResourceList resources), or a SourceError.

    kube-apiserver writes these as typed objects, with their kind (k8s.io/apiserver pkg/endpoints/discovery, in
    discovery/unaggregated/ in newer releases: root.go an APIGroupList, version.go an APIResourceList). A 200 that
    is a Status, another object or lacks the field (a proxy's, an error page's) lists nothing: read as an empty
    discovery it made every kind "not served", its objects none.
    """
    got, value = answer.get("kind"), answer.get(field, ())
    if got == expected and (value is None or isinstance(value, list)):  # null: how Go writes an empty list
        return value
    if got == expected:
        what = f"an {expected} without a list of {field}"
    elif got == "Status":
        what = _describe_status(answer)
    else:
        what = f"kind {str(got)[:100]!r}" if got is not None else "an object without kind"
    read = f"{kind.kind} objects were not read" if kind else "what it serves is not known"
    raise SourceError(f"GET {path}: the answer is {what}, not an {expected}; {read}")


def _describe_status(answer: dict[str, Any]) -> str:
    detail = ", ".join(str(answer[k])[:200] for k in ("status", "reason", "message") if answer.get(k))
    return f"a Status ({detail})" if detail else "a Status"


def list_items(kind: Kind, path: str, answer: dict[str, Any]) -> list[Any]:
    """The objects of one list page, or a SourceError (the kind UNKNOWN for this cluster) naming what is wrong.

    Only a `<Kind>List` with `items` proves what exists: an HTTP 200 carrying a Status, a list of another kind
    or no items at all is not "none of them". Each object must have the shape checks rely on, as in a
    snapshot (auditor.sources.shapes); one that has not names itself, instead of being read as "no sidecar".
    """
    expected = f"{kind.kind}List"
    got = answer.get("kind")
    if got != expected:
        if got == "Status":
            what = _describe_status(answer)
        else:
            what = f"kind {str(got)[:100]!r}" if got is not None else "an object without kind"
        raise SourceError(f"GET {path}: the answer is {what}, not a {expected}; {kind.kind} objects were not read")
    if "items" not in answer:
        raise SourceError(f"GET {path}: the {expected} has no items; {kind.kind} objects were not read")
    items = answer["items"]
    if items is None:  # how Go encodes an empty (nil) list
        return []
    if kind is K.POD and isinstance(answer, podwire.CheckedPodList):
        # podwire.Pod Structs: their types enforce the shape rules and metadata.name; only their kind is left.
        for pod in items:
            _refuse_foreign_item(path, kind, None if pod.kind is msgspec.UNSET else pod.kind)
        return items
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SourceError(f"GET {path}: malformed list answer (items is not a list of objects)")
    for item in items:
        _refuse_foreign_item(path, kind, item.get("kind"))
        problem = object_problem(kind.kind, item)
        if problem:
            raise SourceError(f"GET {path}: {problem}; {kind.kind} objects were not judged")
    return items


def _refuse_foreign_item(path: str, kind: Kind, item_kind: Any) -> None:
    """A list item that names another kind than its list's (an item without kind is of the list's kind)."""
    if item_kind is not None and item_kind != kind.kind:
        raise SourceError(f"GET {path}: the {kind.kind}List holds a {str(item_kind)[:100]!r}; {kind.kind} objects "
                          "were not read")


def forbidden_message(kind: Kind, verb: str = "list") -> str:
    """What a 403 means, in the words of the fix: which permission to grant (the RBAC of `asm-audit rbac`)."""
    group = f'API group "{kind.group}"' if kind.group else 'the core API group ("")'
    return (f"forbidden: cannot {verb} {kind.key} — grant get and list on {kind.plural} in {group} "
            "(`asm-audit rbac` prints the read-only ClusterRole)")


def _list_of_dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def refuse_unsafe(path: str, query: list[tuple[str, Any]] | None = None) -> None:
    """The read-only guarantee, enforced where every request is made: no Secrets, no watches."""
    segments = path.split("?")[0].lower().split("/")
    if FORBIDDEN_SEGMENTS & set(segments):
        raise SourceError(f"refusing to read {path}: Secrets are never read")
    if "watch" in segments or any(k == "watch" for k, _ in query or ()):
        raise SourceError(f"refusing to watch {path}: the auditor only lists")


def _read_kubeconfig(cluster: str, file: str) -> dict[str, Any]:
    import yaml

    from auditor import yamlsafe

    try:
        text = Path(os.path.expanduser(file)).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cluster {cluster}: kubeconfig {file} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"cluster {cluster}: cannot read kubeconfig {file}: {exc.strerror or exc}") from exc
    try:
        doc = yamlsafe.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"cluster {cluster}: malformed kubeconfig {file}{line}: {problem}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UsageError(f"cluster {cluster}: kubeconfig {file} is not a kubeconfig "
                         f"(expected a mapping, found {type(doc).__name__})")
    return doc


# The cause of a failed connection in a person's words, by the innermost OS error (errno) or urllib3 class.
_CONNECT_ERRNO = {errno.ECONNREFUSED: "connection refused", errno.EHOSTUNREACH: "no route to host",
                  errno.ENETUNREACH: "network unreachable", errno.ETIMEDOUT: "connection timed out",
                  errno.ECONNRESET: "connection reset"}


def unreachable_reason(server: str, exc: BaseException) -> str:
    """'cannot connect to https://10.0.0.1:6443: connection refused': the server and the cause, once, instead of
    urllib3's repr (`NewConnectionError: HTTPConnection(host=..., port=...): Failed to establish...`)."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # urllib3 wraps the socket error in reason / __cause__
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _CONNECT_ERRNO:
            return f"cannot connect to {server}: {_CONNECT_ERRNO[cause.errno]}"
        if isinstance(cause, urllib3.exceptions.NameResolutionError | socket.gaierror):
            return f"cannot connect to {server}: host name not resolved"
        # NewConnectionError subclasses ConnectTimeoutError whatever the cause: its socket error tells
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
                cause, urllib3.exceptions.NewConnectionError):
            return f"cannot connect to {server}: connection timed out"
        if isinstance(cause, urllib3.exceptions.SSLError):
            return f"cannot connect to {server}: TLS handshake failed ({_short(cause)})"
        inner = getattr(cause, "reason", None)
        cause = inner if isinstance(inner, BaseException) else cause.__cause__ or cause.__context__
    return f"cannot connect to {server}: {type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."


def _status_reason(path: str, status: int, body: bytes) -> str:
    message = ""
    try:
        message = (orjson.loads(body) or {}).get("message") or ""
    except (orjson.JSONDecodeError, AttributeError):
        message = body[:200].decode("utf-8", "replace")
    label = {401: "unauthorized", 403: "forbidden", 404: "not found", 410: "gone", 429: "throttled"}.get(
        status, f"HTTP {status}")
    return f"{label}: GET {path}" + (f": {message}" if message else "")
