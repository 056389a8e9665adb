"""Live clusters through the `kubernetes` package: its kubeconfig/auth handling, our raw GETs.

Lists are read page by page (`limit` + `continue`) as raw JSON and parsed with orjson; the client's
model objects are never built for lists (they cost ~50 KB and ~1.6 ms per pod). Only GET requests are
ever sent, and never for Secrets.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import urllib3

from auditor.errors import ClusterUnreachable, KindNotServed, SourceError, UsageError
from auditor.kinds import Kind
from auditor.sources.base import LIST_RESTARTED, ClusterSource, ListRestarted

PAGE_SIZE = int(os.environ.get("ASM_AUDIT_PAGE_SIZE", "500"))
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_S = 10.0
FORBIDDEN_PATH_PARTS = ("/secrets",)


class LiveCluster(ClusterSource):
    def __init__(self, name: str, role: str, kubeconfig: str | None, context: str | None,
                 timeout_s: float = 30.0, cluster_id: str | None = None) -> None:
        self.name = name
        self.role = role
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout_s = timeout_s
        self.cluster_id = cluster_id
        self._client: Any = None
        self._groups: dict[str, list[str]] | None = None
        self._resources: dict[str, set[str] | None] = {}
        self.requests = 0
        # What was read, hashed as it arrives: the report's inputs_sha256 for a live run.
        self.digest = hashlib.sha256()

    def describe(self) -> str:
        where = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return f"{self.name} (kubeconfig {where}, context {self.context or 'current'})"

    # -- client, built on first use so nothing happens at import or construction
    def validate(self) -> None:
        """Load the kubeconfig now so a bad one is a usage error before any collection starts."""
        self._api()

    def _api(self) -> Any:
        if self._client is None:
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException

            path = self.kubeconfig
            if path and not Path(os.path.expanduser(path)).is_file():
                raise UsageError(f"cluster {self.name}: kubeconfig {path} not found")
            if not path:
                default = os.environ.get("KUBECONFIG", "~/.kube/config")
                first = default.split(os.pathsep)[0]
                if not Path(os.path.expanduser(first)).is_file():
                    raise UsageError(f"cluster {self.name}: no kubeconfig ({default} not found); "
                                     "pass --kubeconfig or --snapshot")
            configuration = client.Configuration()
            try:
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
            configuration.retries = 0  # we retry ourselves, with Retry-After and a bound
            self._client = client.ApiClient(configuration)
            self._client.user_agent = "asm-audit (read-only)"
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- one GET
    def _raw_get(self, path: str, query: list[tuple[str, Any]] | None = None) -> tuple[int, bytes, Any]:
        if any(part in path for part in FORBIDDEN_PATH_PARTS):
            raise SourceError(f"refusing to read {path}: Secrets are never read")
        api = self._api()
        url = api.configuration.host.rstrip("/") + path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": "application/json", "User-Agent": api.user_agent}
        # Authentication the way the client does it (token, basic, client cert via pool).
        auth = api.configuration.auth_settings().get("BearerToken")
        if auth and auth.get("value"):
            headers[auth["key"]] = auth["value"]
        self.requests += 1
        try:
            resp = api.rest_client.pool_manager.request(
                "GET", url, headers=headers, preload_content=True,
                timeout=urllib3.Timeout(connect=min(10.0, self.timeout_s), read=self.timeout_s),
                retries=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnreachable(f"{type(exc).__name__}: {_short(exc)}") from exc
        return resp.status, resp.data, resp.headers

    def _get_json(self, path: str, query: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        delay = 0.5
        for attempt in range(1, MAX_ATTEMPTS + 1):
            status, body, headers = self._raw_get(path, query)
            if 200 <= status < 300:
                self.digest.update(path.encode() + b"\n" + body)
                try:
                    return orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    raise SourceError(f"GET {path}: answer is not JSON", status=status) from exc
            if status in (429, 500, 502, 503, 504) and attempt < MAX_ATTEMPTS:
                retry_after = headers.get("Retry-After")
                try:
                    wait = min(float(retry_after), MAX_RETRY_AFTER_S) if retry_after else delay
                except ValueError:
                    wait = delay
                time.sleep(wait)
                delay *= 2
                continue
            raise SourceError(_status_reason(path, status, body), status=status)
        raise AssertionError("unreachable")

    # -- interface
    def version(self) -> dict[str, Any]:
        return self._get_json("/version")

    def _served_version(self, kind: Kind) -> str | None:
        if not kind.group:
            return "v1" if self._has_resource("/api/v1", kind.plural) else None
        if self._groups is None:
            groups = self._get_json("/apis").get("groups") or []
            self._groups = {g.get("name"): [v.get("version") for v in g.get("versions") or ()]
                            for g in groups}
        served = self._groups.get(kind.group) or []
        for version in [*kind.versions, *served]:
            if version in served and self._has_resource(f"/apis/{kind.group}/{version}", kind.plural):
                return version
        return None

    def _has_resource(self, gv_path: str, plural: str) -> bool:
        if gv_path not in self._resources:
            try:
                listing = self._get_json(gv_path)
                self._resources[gv_path] = {r.get("name") for r in listing.get("resources") or ()}
            except SourceError as exc:
                if exc.status == 404:
                    self._resources[gv_path] = None
                else:
                    raise
        names = self._resources[gv_path]
        return bool(names) and plural in names

    def pages(self, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        version = self._served_version(kind)
        if version is None:
            raise KindNotServed(f"{kind.kind} ({kind.group or 'core'}) is not served by this cluster")
        prefix = f"/apis/{kind.group}/{version}" if kind.group else "/api/v1"
        path = f"{prefix}/{kind.plural}"
        token: str | None = None
        restarted = False
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if token:
                query.append(("continue", token))
            try:
                answer = self._get_json(path, query)
            except SourceError as exc:
                if exc.status == 410 and token and not restarted:
                    # The continue token expired mid-list: start over once, consistently.
                    restarted = True
                    token = None
                    yield LIST_RESTARTED
                    continue
                if exc.status == 404:
                    raise KindNotServed(exc.reason, status=404) from exc
                raise
            items = answer.get("items") or []
            yield items
            token = (answer.get("metadata") or {}).get("continue") or None
            if not token:
                return


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
