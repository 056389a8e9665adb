"""Traffic through Istio gateways, from Prometheus (live) or as recorded in a snapshot.

The source measures and never judges: for every Istio gateway Deployment of every data-plane
cluster it runs a fixed set of named PromQL queries at one evaluation time and keeps Prometheus'
answers verbatim (`GatewayTraffic.answers`). `checks/traffic.py` derives the numbers from those
answers and decides. A snapshot records exactly the same structure (window, query time, PromQL and
answers per gateway), so an offline audit derives the same numbers and gives the same finding.

Queries (selector S = the gateway as the reporting client, domain.md):
  S = reporter="source", source_workload="<gw>", source_workload_namespace="<ns>"[, <cluster_label>="<c>"]
- series_from / series_until: first and last minute in the window at which any of the gateway's
  request/TCP series existed, grouped by the cluster label (this also tells which clusters the
  series carry). Presence over the whole window is what proves the gateway was scraped. (A series
  counts as present while its last sample is within Prometheus' lookback, 5m by default; a target
  that goes away is marked stale by Prometheus at once.)
  The three presence queries are grouped by the pod too (POD_LABELS, as Prometheus' kubernetes_sd relabelling writes
  it): which pods the series were scraped from, and when, tells this cluster's gateway from another's and one replica
  that stopped being scraped while the others went on.
- series_present: at how many of those minutes the series existed (grouped the same way). Fewer than the minutes
  from the first to the last is a gap: Prometheus did not scrape the gateway for a while inside the window.
- requests, connections, bytes_sent, bytes_received: sum(increase(<counter>{S}[W])); increase()
  handles counter resets.
- *_new_series: the first values of series born inside the window (no sample in the hour before
  it). Istio creates its counters at the first request, so a new series already counts traffic that
  increase() cannot see.
- last_seen: the last minute at which any of those counters grew (subquery, 5m lookback).
- series / tcp_series: hourly requests/s and TCP connections/s over the window (query_range).
- proxy_present: for the gateway's running pods (the inventory's) that have no request/TCP series in the window, at
  how many of the presence steps each one's proxy exported PROXY_UPTIME, by the pod (asked only when there are such
  pods and the series carry a pod label). Istio creates its request/TCP counters at a proxy's first request, so an idle
  replica has none; Envoy's uptime gauge is in the same scrape from the proxy's start: a replica scraped all window
  with no request/TCP series served nothing in it.
Prometheus' own clock at the query time (the Date header of its first answer) is kept beside the query time
(`prometheus_clock`): a host whose clock is behind asks for a window that ends before Prometheus' now.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from auditor.config import Config, PrometheusConfig
from auditor.errors import EvidenceUnavailable, UsageError
from auditor.gateways import gateway_pod_starts, istio_gateways
from auditor.secretfile import read_secret_file

log = logging.getLogger("asm_audit")

RECORD_FORMAT = "asm-audit-prometheus"
RECORD_VERSION = 1

FAMILIES: dict[str, str] = {
    "requests": "istio_requests_total",
    "connections": "istio_tcp_connections_opened_total",
    "bytes_sent": "istio_tcp_sent_bytes_total",
    "bytes_received": "istio_tcp_received_bytes_total",
}
ALL_FAMILIES = "|".join(FAMILIES.values())
# The pod label of a scraped series: istio/istio@1.24.6 samples/addons/prometheus.yaml (job kubernetes-pods) writes
# `pod` from __meta_kubernetes_pod_name (and `namespace`); older relabelling wrote `pod_name`.
POD_LABELS = ("pod", "pod_name", "kubernetes_pod_name")  # the last: Istio's addon config @1.7.0..1.12.x
# A gauge every Istio proxy exports from its start, in the same scrape as its request/TCP counters: `server` is one of
# the stats prefixes istio-agent always includes (requiredEnvoyStatsMatcherInclusionPrefixes, istio/istio@1.24.6
# pkg/bootstrap/config.go), served with Istio's own metrics on the merged endpoint :15020/stats/prometheus
# (pilot/cmd/pilot-agent/status/server.go handleStats). Not `up`: the agent answers 200 with its own metrics when it
# cannot read Envoy's (handleStats logs and goes on), so up == 1 does not show that the proxy's counters were scraped.
PROXY_UPTIME = "envoy_server_uptime"
# The labels of the pod's namespace beside each pod label of POD_LABELS: the kubernetes-pods job writes namespace/pod
# (istio/istio@1.24.6 samples/addons/prometheus.yaml), Istio's PodMonitor namespace/pod_name (samples/addons/extras/
# prometheus-operator.yaml), the addon config @1.7.0..1.12.x kubernetes_namespace/kubernetes_pod_name.
POD_NAMESPACE_LABELS = {"pod": "namespace", "pod_name": "namespace", "kubernetes_pod_name": "kubernetes_namespace"}
BORN_LOOKBACK = "1h"      # a series with no sample in this hour before the window is new in the window
LAST_SEEN_RANGE = "5m"    # increase() range of the last-seen subquery
MIN_WINDOW_S = 600

_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
# Query errors that concern one query (bad_data, execution), not the whole Prometheus.
_PER_QUERY_STATUS = (400, 422)


def duration_seconds(text: Any) -> int | None:
    """A Prometheus duration (`24h`, `1d12h`, `90m`) in whole seconds, or None when it is not one."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) and text else None
    if not match or not any(match.groups()):
        return None
    return int(sum(int(g) * unit for g, unit in zip(match.groups(), _UNIT_S, strict=True) if g))


def parse_duration(text: str) -> int:
    """A Prometheus duration (`24h`, `1d12h`, `90m`) in whole seconds; UsageError when invalid."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise UsageError(f"traffic window {text!r} is not a Prometheus duration like 24h, 7d or 90m")
    if seconds < MIN_WINDOW_S:
        raise UsageError(f"traffic window {text!r} is shorter than 10m: too short to prove anything")
    return seconds


def prom_duration(seconds: int) -> str:
    for unit, suffix in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds % unit == 0:
            return f"{seconds // unit}{suffix}"
    return f"{seconds}s"


def rfc3339(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def http_date(value: Any) -> float | None:
    """An HTTP Date header (`Mon, 07 Dec 2026 03:55:00 GMT`) in unix seconds, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() if when.tzinfo is not None else None


def redact_url(url: str) -> str:
    """The URL without user:password@ (recorded in snapshots and reports)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def window_steps(window_s: int) -> tuple[int, int]:
    """(subquery step, series step): 1m resolution for presence/last seen, hourly chart points."""
    sub_step = max(60, math.ceil(window_s / 1440 / 60) * 60)
    if window_s >= 2 * 3600:
        series_step = max(3600, math.ceil(window_s / 744 / 3600) * 3600)  # at most a month of hours
    else:
        series_step = max(60, window_s // 12 // 60 * 60)
    return sub_step, series_step


# ---------------------------------------------------------------- measurements
def _value(sample: dict[str, Any]) -> float | None:
    try:
        value = float(sample["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


# Answers that are counter increases: a real one is a finite number >= 0 (increase() handles resets).
COUNTER_ANSWERS = frozenset({*FAMILIES, *(f"{family}_new_series" for family in FAMILIES)})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _shown_text(value: Any, limit: int = 200) -> str:
    """A remote server's text as a report may quote it: a string, cut at `limit` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def sample_problem(name: str, sample: Any) -> str | None:
    """Why one sample of an instant answer is not a number we may judge by, or None when it is."""
    if not isinstance(sample, dict):
        return f"answer to {name!r} is not an instant vector (got {_shown(sample)}; a scalar or string result?)"
    if not isinstance(sample.get("metric", {}), dict):
        return f"answer to {name!r} has a sample whose labels are not a mapping ({_shown(sample.get('metric'))})"
    pair = sample.get("value")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return f"answer to {name!r} has a sample without a [time, value] pair (got {_shown(pair)})"
    raw = pair[1]
    try:
        # Prometheus sends numbers as text; a hand-made recording may hold plain JSON numbers.
        value = float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None:
        return f"answer to {name!r} has a value that is not a number (got {_shown(raw)})"
    if not math.isfinite(value):
        return f"answer to {name!r} is {raw} (not a finite number: no increase can be read from it)"
    if name in COUNTER_ANSWERS and value < 0:
        return f"answer to {name!r} is {raw}: a counter increase cannot be negative"
    return None


@dataclass
class GatewayTraffic:
    """Prometheus' answers for one gateway; the numbers are derived, identically live and offline."""

    cluster: str
    namespace: str
    name: str
    gateway_type: str
    cluster_label: str = ""          # "" = the numbers are not restricted by a cluster label
    cluster_wanted: str | None = None  # the label value that names this cluster (config or cluster name)
    cluster_value: str | None = None  # label value the numbers are restricted to ("" = series without it)
    promql: dict[str, str] = field(default_factory=dict)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    error: str | None = None
    # query name -> the `warnings` Prometheus' API sent beside its answer (a Thanos querier's partial response: a store
    # did not answer and its series are missing). Absent from recordings made before they were kept.
    warnings: dict[str, list[str]] = field(default_factory=dict)

    # -- derived
    def _samples(self, name: str) -> list[dict[str, Any]]:
        """The well-formed samples of an answer (malformed ones are reported by `answer_problem`)."""
        answer = self.answers.get(name)
        if not isinstance(answer, list):
            return []
        return [s for s in answer if isinstance(s, dict) and isinstance(s.get("metric", {}), dict)]

    def answer_problem(self) -> str | None:
        """Why Prometheus' instant answers (live or recorded) cannot be judged, or None.

        Only finite numbers are evidence: NaN, +-Inf, text, a missing value, a scalar or string result
        instead of a vector, or a negative counter increase make the gateway UNKNOWN, never "zero".
        """
        for name, answer in self.answers.items():
            if name in RANGE_QUERIES:
                continue  # chart points only; never judged
            if not isinstance(answer, list):
                return f"answer to {name!r} is not a list of samples (got {_shown(answer)})"
            for sample in answer:
                problem = sample_problem(name, sample)
                if problem:
                    return problem
        return None

    def scalar(self, name: str) -> float | None:
        values = [v for v in (_value(s) for s in self._samples(name)) if v is not None]
        return sum(values) if values else None

    def grouped(self, name: str) -> dict[str, float]:
        """An answer by cluster label value; the pods' answers of one value combined: the earliest first presence,
        the latest last presence, the steps present of the pods summed (`pod_presence` keeps them apart)."""
        combine = {"series_from": min, "series_until": max}.get(name)
        out: dict[str, float] = {}
        for sample in self._samples(name):
            value = _value(sample)
            if value is not None:
                key = (sample.get("metric") or {}).get(self.cluster_label, "") if self.cluster_label else ""
                out[key] = (combine or float.__add__)(out[key], value) if key in out else value
        return out

    def _per_pod(self, name: str) -> dict[str, float]:
        """pod -> value of a presence answer, for the series the numbers are restricted to ("" = no pod label)."""
        out: dict[str, float] = {}
        for sample in self._samples(name):
            value, metric = _value(sample), sample.get("metric") or {}
            if value is None:
                continue
            if self.cluster_label and metric.get(self.cluster_label, "") != self.cluster_value:
                continue
            out[next((str(metric[lbl]) for lbl in POD_LABELS if metric.get(lbl)), "")] = value
        return out

    def pod_presence(self) -> dict[str, tuple[float, float, float | None]]:
        """pod -> (first, last, steps present or None when not asked) of the gateway's series in the window, by the
        pod label of the scrape ("" = series without one, or a recording made before the pods were asked)."""
        first, last, present = self._per_pod("series_from"), self._per_pod("series_until"), None
        if "series_present" in self.answers:
            present = self._per_pod("series_present")
        return {pod: (first[pod], last.get(pod, first[pod]), None if present is None else present.get(pod, 0.0))
                for pod in first}

    def proxy_steps(self) -> dict[str, float] | None:
        """pod -> presence steps at which its proxy exported PROXY_UPTIME (`proxy_present`, asked for the running
        replicas without request/TCP series); None: not asked (no such replica, or a recording made before it was)."""
        if "proxy_present" not in self.answers:
            return None
        return self._per_pod("proxy_present")

    @property
    def clusters_seen(self) -> list[str]:
        """Cluster label values of the gateway's series in the window ("" = series without the label)."""
        return sorted(self.grouped("series_from"))

    @property
    def scope(self) -> str:
        """none | mismatch | cluster | unlabelled | all: what the numbers cover."""
        seen = self.grouped("series_from")
        if not seen:
            return "none"
        if not self.cluster_label:
            return "all"
        if self.cluster_value is None or self.cluster_value not in seen:
            return "mismatch"
        return "cluster" if self.cluster_value else "unlabelled"

    def _scoped(self, name: str) -> float | None:
        if not self.cluster_label:
            return self.grouped(name).get("")
        if self.cluster_value is None:
            return None
        return self.grouped(name).get(self.cluster_value)

    @property
    def series_from(self) -> float | None:
        return self._scoped("series_from")

    @property
    def series_until(self) -> float | None:
        return self._scoped("series_until")

    def increase(self, family: str) -> float | None:
        return self.scalar(family)

    def new_series(self, family: str) -> float | None:
        return self.scalar(f"{family}_new_series")

    @property
    def last_seen(self) -> float | None:
        return self.scalar("last_seen")

    def points(self, name: str) -> list[list[Any]]:
        """[[RFC3339, value], ...] of a range answer (summed over series)."""
        by_time: dict[float, float] = {}
        for series in self._samples(name):
            values = series.get("values")
            for point in values if isinstance(values, list) else ():
                try:
                    ts, value = float(point[0]), float(point[1])
                except (TypeError, ValueError, IndexError, KeyError):
                    continue
                if math.isfinite(value) and math.isfinite(ts):
                    by_time[ts] = by_time.get(ts, 0.0) + value
        return [[rfc3339(ts), round(v, 6)] for ts, v in sorted(by_time.items())]

    # -- record
    def to_record(self) -> dict[str, Any]:
        record = {"cluster": self.cluster, "namespace": self.namespace, "name": self.name,
                  "gateway_type": self.gateway_type, "cluster_label": self.cluster_label,
                  "cluster_wanted": self.cluster_wanted, "cluster_value": self.cluster_value,
                  "error": self.error, "promql": dict(self.promql), "results": dict(self.answers)}
        if self.warnings:  # only when there are: a recording without warnings reads as it did before they were kept
            record["warnings"] = dict(self.warnings)
        return record

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> GatewayTraffic:
        return cls(cluster=str(rec["cluster"]), namespace=str(rec["namespace"]), name=str(rec["name"]),
                   gateway_type=str(rec.get("gateway_type") or ""),
                   cluster_label=str(rec.get("cluster_label") or ""),
                   cluster_wanted=rec.get("cluster_wanted"), cluster_value=rec.get("cluster_value"),
                   promql=dict(rec.get("promql") or {}), answers=dict(rec.get("results") or {}),
                   error=rec.get("error"),
                   warnings={str(name): [str(w) for w in ws]
                             for name, ws in dict(rec.get("warnings") or {}).items() if ws})


@dataclass
class TrafficData:
    """Everything measured for one audit: window, evaluation time, and one entry per gateway."""

    origin: str                # "live" | "recorded"
    url: str | None
    window: str
    window_seconds: int
    query_time: float          # the evaluation time of every query (unix seconds)
    cluster_label: str
    gateways: list[GatewayTraffic] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # A recording's snapshot: when it was collected (unix seconds; None: live, or a snapshot whose manifest has no
    # readable collected_at). Not part of the record: the snapshot's manifest says it.
    collected_at: float | None = None
    # Prometheus' clock when the query time was this host's (unix seconds; None: not told): a window that ends well
    # before it was asked by a host whose clock is behind, and leaves out what came since.
    prometheus_clock: float | None = None

    @property
    def window_start(self) -> float:
        return self.query_time - self.window_seconds

    def find(self, cluster: str, namespace: str, name: str) -> GatewayTraffic | None:
        for g in self.gateways:
            if (g.cluster, g.namespace, g.name) == (cluster, namespace, name):
                return g
        return None

    def to_record(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT, "format_version": RECORD_VERSION, "url": self.url,
                "window": self.window, "window_seconds": self.window_seconds,
                "query_time": rfc3339(self.query_time), "prometheus_clock": rfc3339(self.prometheus_clock),
                "cluster_label": self.cluster_label,
                "stats": dict(self.stats), "gateways": [g.to_record() for g in self.gateways]}

    @classmethod
    def from_record(cls, rec: Any, where: str = "recorded Prometheus data") -> TrafficData:
        """Validate and load a recording; malformed input is a UsageError naming where it came from."""
        if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT:
            raise UsageError(f"{where}: not an {RECORD_FORMAT} record (missing 'format')")
        if rec.get("format_version") != RECORD_VERSION:
            raise UsageError(f"{where}: unsupported format_version {rec.get('format_version')!r}")
        try:
            window = str(rec["window"])
            seconds = int(rec.get("window_seconds") or parse_duration(window))
            query_time = parse_rfc3339(str(rec["query_time"]))
            clock = rec.get("prometheus_clock")
            prometheus_clock = parse_rfc3339(str(clock)) if clock else None
            gateways = [GatewayTraffic.from_record(g) for g in rec.get("gateways") or []]
            stats = dict(rec.get("stats") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{where}: malformed record: {type(exc).__name__}: {exc}") from exc
        return cls(origin="recorded", url=rec.get("url"), window=window, window_seconds=seconds,
                   query_time=query_time, cluster_label=str(rec.get("cluster_label") or ""),
                   gateways=gateways, stats=stats, prometheus_clock=prometheus_clock)


# ---------------------------------------------------------------- errors
class PrometheusUnavailable(Exception):
    """Prometheus as a whole cannot answer (unreachable, timeout, TLS, auth, 5xx): stop asking."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QueryFailed(Exception):
    """One query was refused (HTTP 400/422): that gateway is UNKNOWN, the others go on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_STATUS = re.compile(r"HTTP Status Code (\d+) \((.*)\)\s*$", re.S)
_PROM_ERROR = re.compile(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _http_reason(message: str) -> tuple[int | None, str]:
    match = _STATUS.search(message)
    if not match:
        return None, message[:200]
    status = int(match.group(1))
    body = match.group(2)
    err = _PROM_ERROR.search(body)
    detail = err.group(1) if err else body.strip("b'\"")[:160]
    return status, detail


_KNOWN_CAUSES = ("Connection refused", "Name or service not known", "No route to host",
                 "Temporary failure in name resolution", "Connection reset by peer", "certificate verify failed",
                 "wrong version number", "Remote end closed connection", "hostname mismatch",
                 "self-signed certificate", "unable to get local issuer certificate")


def _read_timeout(exc: BaseException) -> bool:
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError

    cause = exc.args[0] if exc.args else None
    return isinstance(cause, ReadTimeoutError) or (
        isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError))


def _short(exc: BaseException) -> str:
    """The useful words of a requests/urllib3 error, without connection-pool and object reprs."""
    text = str(exc)
    found = [marker for marker in _KNOWN_CAUSES if marker in text]
    return ", ".join(found) if found else text[:200]


# ---------------------------------------------------------------- live client
class PrometheusClient:
    """Thin wrapper of prometheus_api_client.PrometheusConnect: auth, TLS, timeouts, error mapping."""

    def __init__(self, cfg: PrometheusConfig) -> None:
        import requests
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        if not cfg.url:
            raise UsageError("no Prometheus URL: pass --prometheus URL or set prometheus.url")
        parts = urlsplit(cfg.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--prometheus {redact_url(cfg.url)!r}: expected an http(s):// URL")
        if not math.isfinite(cfg.timeout) or cfg.timeout <= 0:
            raise UsageError("prometheus timeout must be a positive number of seconds")
        self.url = redact_url(cfg.url).rstrip("/")
        self.timeout = float(cfg.timeout)
        headers: dict[str, str] = {}
        token = cfg.bearer_token
        if cfg.bearer_token_file:
            if token:
                raise UsageError("prometheus: give bearer_token or bearer_token_file, not both")
            token = read_secret_file(cfg.bearer_token_file, "prometheus bearer token file")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = None
        if cfg.username or cfg.password_file:
            if not (cfg.username and cfg.password_file):
                raise UsageError("prometheus: basic auth needs both username and password_file")
            if token:
                raise UsageError("prometheus: use either a bearer token or basic auth, not both")
            auth = (cfg.username, read_secret_file(cfg.password_file, "prometheus password file"))
        elif parts.username:
            auth = (parts.username, parts.password or "")  # https://user:pass@host, as requests does
        if cfg.ca_file and not Path(cfg.ca_file).is_file():
            raise UsageError(f"prometheus.ca_file {cfg.ca_file}: no such file")

        # A session of our own, as the library's users do for a custom CA: verify is a path or a bool.
        session = requests.Session()
        session.verify = False if cfg.insecure_skip_verify else (cfg.ca_file or True)
        self._insecure = cfg.insecure_skip_verify
        # One quick retry of a refused connection or a 502/503/504 from a proxy; never of a read
        # timeout (that would double the wait); the final 5xx answer is reported, not swallowed.
        retry = Retry(total=2, connect=1, read=0, status=1, other=0, backoff_factor=0.2,
                      status_forcelist=(502, 503, 504), raise_on_status=False,
                      respect_retry_after_header=False, allowed_methods=("GET",))
        self._requests = requests
        # Prometheus' own clock: the Date header of its first answer (HTTP servers stamp every response), and this
        # host's clock when it came. No query of its own: the counts of queries and requests stay what they were.
        self.server_clock: float | None = None
        self.local_clock: float | None = None
        session.hooks["response"].append(self._clock)
        # The `warnings` of the last answer: prometheus_api_client returns data.result only, and a Thanos querier (or
        # Cortex/Mimir) answers 200 with the series it could get and warnings naming the stores that did not answer
        # (the Prometheus API's Response: status, data, warnings; cortexproject/cortex pkg/api/query/response.go).
        self.warnings: list[str] = []
        session.hooks["response"].append(self._keep_warnings)
        self.client = PrometheusConnect(url=self.url, headers=headers or None, auth=auth,
                                        session=session, retry=retry, timeout=self.timeout)
        self.queries = 0
        self.seconds = 0.0

    def close(self) -> None:
        self.client.close()

    def _clock(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        if self.server_clock is None and getattr(response, "status_code", 0) == 200:
            self.server_clock = http_date(response.headers.get("Date"))
            self.local_clock = time.time() if self.server_clock is not None else None
        return response

    def _keep_warnings(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        if getattr(response, "status_code", 0) == 200 and b'"warnings"' in (response.content or b""):
            try:
                said = response.json().get("warnings")
            except (ValueError, AttributeError):
                said = None
            if said:
                self.warnings = [_shown_text(w) for w in (said if isinstance(said, list) else [said])]
        return response

    def _call(self, fn: Callable[[], Any]) -> list[dict[str, Any]]:
        requests = self._requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        self.warnings = []
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                if self._insecure:  # the user asked for it; do not print a warning per query
                    warnings.simplefilter("ignore")
                result = fn()
        except requests.exceptions.SSLError as exc:
            raise PrometheusUnavailable(f"TLS error talking to {self.url}: {_short(exc)} "
                                        "(set prometheus.ca_file, or insecure_skip_verify)") from exc
        except requests.exceptions.Timeout as exc:
            raise PrometheusUnavailable(f"no answer from {self.url} within "
                                        f"{self.timeout:g}s (prometheus.timeout)") from exc
        except requests.exceptions.ConnectionError as exc:
            if _read_timeout(exc):  # with a Retry object, requests reports a read timeout this way
                raise PrometheusUnavailable(f"no answer from {self.url} within {self.timeout:g}s "
                                            "(prometheus.timeout)") from exc
            raise PrometheusUnavailable(f"{self.url} unreachable: {_short(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise PrometheusUnavailable(f"request to {self.url} failed: {_short(exc)}") from exc
        except PrometheusApiClientException as exc:
            status, detail = _http_reason(str(exc))
            if status in _PER_QUERY_STATUS:
                raise QueryFailed(f"Prometheus refused the query (HTTP {status}): {detail}") from exc
            hint = {401: " (check the bearer token / credentials)", 403: " (not allowed to query)",
                    404: " (is the URL Prometheus' base URL?)"}.get(status or 0, "")
            raise PrometheusUnavailable(f"{self.url} answered HTTP {status}{hint}: {detail}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # 200 but not a Prometheus API answer
            raise PrometheusUnavailable(f"{self.url} did not answer like Prometheus' HTTP API: "
                                        f"{type(exc).__name__}") from exc
        finally:
            self.queries += 1
            self.seconds += time.perf_counter() - started
        if not isinstance(result, list):
            raise PrometheusUnavailable(f"{self.url} gave an unexpected answer ({type(result).__name__})")
        return result

    def query(self, promql: str, at: float) -> list[dict[str, Any]]:
        params = {"time": f"{at:.3f}", "timeout": f"{self.timeout:g}s"}
        return self._call(lambda: self.client.custom_query(promql, params=params))

    def query_range(self, promql: str, start: float, end: float, step: int) -> list[dict[str, Any]]:
        params = {"timeout": f"{self.timeout:g}s"}
        return self._call(lambda: self.client.custom_query_range(
            promql, start_time=dt.datetime.fromtimestamp(start, dt.UTC),
            end_time=dt.datetime.fromtimestamp(end, dt.UTC), step=str(step), params=params))


# ---------------------------------------------------------------- the queries
def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def gateway_selector(namespace: str, name: str) -> str:
    return (f'reporter="source",source_workload="{_label_value(name)}",'
            f'source_workload_namespace="{_label_value(namespace)}"')


def _presence_by(cluster_label: str) -> str:
    return f" by ({', '.join((cluster_label, *POD_LABELS) if cluster_label else POD_LABELS)})"


def presence_queries(base: str, cluster_label: str, window: str, sub_step: str) -> dict[str, str]:
    by = _presence_by(cluster_label)
    present = f'count{by} ({{__name__=~"{ALL_FAMILIES}",{base}}})'
    return {"series_from": f"min_over_time(timestamp({present})[{window}:{sub_step}])",
            "series_until": f"max_over_time(timestamp({present})[{window}:{sub_step}])"}


def coverage_query(base: str, cluster_label: str, window: str, sub_step: str) -> dict[str, str]:
    """At how many of the presence query's steps any of the gateway's series existed: a gap between the first and the
    last is time Prometheus did not scrape the gateway (target or Prometheus down), whose traffic a proxy restarted or
    replaced meanwhile takes with it."""
    by = _presence_by(cluster_label)
    present = f'count{by} ({{__name__=~"{ALL_FAMILIES}",{base}}})'
    return {"series_present": f"count_over_time({present}[{window}:{sub_step}])"}


def traffic_queries(sel: str, window: str, sub_step: str, series_step: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for family, metric in FAMILIES.items():
        m = f"{metric}{{{sel}}}"
        out[family] = f"sum(increase({m}[{window}]))"
        out[f"{family}_new_series"] = (f"sum(min_over_time({m}[{window}]) "
                                       f"unless last_over_time({m}[{BORN_LOOKBACK}] offset {window}))")
    grew = " or ".join(f"(sum(increase({metric}{{{sel}}}[{LAST_SEEN_RANGE}])) > 0)" for metric in FAMILIES.values())
    out["last_seen"] = f"max_over_time(timestamp({grew})[{window}:{sub_step}])"
    out["series"] = f'sum(rate({FAMILIES["requests"]}{{{sel}}}[{series_step}]))'
    out["tcp_series"] = f'sum(rate({FAMILIES["connections"]}{{{sel}}}[{series_step}]))'
    return out


def proxy_presence_query(namespace: str, pods: list[str], cluster_label: str, cluster_value: str | None,
                         window: str, sub_step: str) -> dict[str, str]:
    """At how many of the presence query's steps each of `pods` (exact names, of `namespace`) exported PROXY_UPTIME:
    whether Prometheus scraped the proxy of a replica that has no request/TCP series."""
    names = "|".join(_label_value(re.escape(pod)) for pod in pods)
    scoped = f',{cluster_label}="{_label_value(cluster_value)}"' if cluster_label and cluster_value is not None else ""
    uptime = " or ".join(f'{PROXY_UPTIME}{{{ns_label}="{_label_value(namespace)}",{pod_label}=~"{names}"{scoped}}}'
                         for pod_label, ns_label in POD_NAMESPACE_LABELS.items())
    return {"proxy_present": f"count_over_time(count{_presence_by(cluster_label)} ({uptime})[{window}:{sub_step}])"}


RANGE_QUERIES = ("series", "tcp_series")


class PrometheusSource:
    """Measures every Istio gateway of an inventory against a live Prometheus."""

    def __init__(self, cfg: PrometheusConfig, *, now: dt.datetime | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.window_s = parse_duration(cfg.window)
        self.window = cfg.window.strip()
        self.now = now
        self.progress = progress or (lambda _m: None)
        self.client = PrometheusClient(cfg)  # validates URL, auth files, CA file: UsageError up front

    def close(self) -> None:
        self.client.close()

    def __call__(self, inv: Any, config: Config) -> TrafficData:
        return self.measure(inv, config)

    def measure(self, inv: Any, config: Config) -> TrafficData:
        now = self.now or dt.datetime.now(dt.UTC)
        at = float(int(now.timestamp()))  # whole seconds: recorded exactly as RFC3339
        label = self.cfg.cluster_label.strip()
        data = TrafficData(origin="live", url=self.client.url, window=self.window,
                           window_seconds=self.window_s, query_time=at, cluster_label=label)
        failure: str | None = None
        for cluster in inv.data_planes:
            try:
                gateways = istio_gateways(cluster, inv.rules, config.gateways)
            except EvidenceUnavailable:
                continue  # the check says UNKNOWN for this cluster from the inventory itself
            for gw in gateways:
                traffic = GatewayTraffic(cluster.name, gw.namespace, gw.name, gw.type, cluster_label=label)
                data.gateways.append(traffic)
                if failure:
                    traffic.error = failure
                    continue
                self.progress(f"prometheus: {cluster.name} {gw.namespace}/{gw.name}")
                running = gateway_pod_starts(cluster, gw, running=True) or {}
                try:
                    self._measure(traffic, at, self.cfg.cluster_label_values.get(cluster.name, cluster.name),
                                  sorted(running))
                except PrometheusUnavailable as exc:
                    failure = traffic.error = exc.reason
                except QueryFailed as exc:
                    traffic.error = exc.reason
        if self.client.server_clock is not None and self.client.local_clock is not None:
            # Prometheus' clock at the query time: what this host's clock moved since `at`, on Prometheus' clock.
            local_at = now.timestamp() if self.now is None else self.client.local_clock
            data.prometheus_clock = float(round(self.client.server_clock - (self.client.local_clock - local_at)))
        data.stats = {"queries": self.client.queries, "seconds": round(self.client.seconds, 3)}
        log.debug("prometheus: %s queries in %.3fs", self.client.queries, self.client.seconds)
        return data

    def _measure(self, traffic: GatewayTraffic, at: float, expected: str, running: list[str]) -> None:
        sub_step_s, series_step_s = window_steps(self.window_s)
        sub_step, series_step = prom_duration(sub_step_s), prom_duration(series_step_s)
        base = gateway_selector(traffic.namespace, traffic.name)
        label = traffic.cluster_label
        traffic.cluster_wanted = expected if label else None
        self._run(traffic, presence_queries(base, label, self.window, sub_step), at)
        seen = traffic.grouped("series_from")
        if not seen:
            return  # no series at all: nothing more to ask (UNKNOWN, never PASS)
        self._run(traffic, coverage_query(base, label, self.window, sub_step), at)
        sel = base
        if label:
            if expected in seen:
                traffic.cluster_value = expected
            elif "" in seen:
                traffic.cluster_value = ""  # label="" selects the series that do not carry it
            else:
                return  # only other clusters' series: nothing of this cluster to measure
            sel = f'{base},{label}="{_label_value(traffic.cluster_value)}"'
        scraped = traffic.pod_presence()
        idle = [pod for pod in running if pod not in scraped]
        if idle and "" not in scraped:  # series without a pod label cannot tell which replicas have none
            self._run(traffic, proxy_presence_query(traffic.namespace, idle, label, traffic.cluster_value,
                                                    self.window, sub_step), at)
        queries = traffic_queries(sel, self.window, sub_step, series_step)
        self._run(traffic, {k: v for k, v in queries.items() if k not in RANGE_QUERIES}, at)
        start = at - self.window_s + series_step_s
        for name in RANGE_QUERIES:
            traffic.promql[name] = queries[name]
            traffic.answers[name] = _ordered(self.client.query_range(queries[name], start, at, series_step_s))
            self._keep_warnings(traffic, name)

    def _keep_warnings(self, traffic: GatewayTraffic, name: str) -> None:
        # A range answer is as partial as an instant one when a store did not answer (review22a: only the instant
        # queries' were kept, and the series' gaps are read from the range answers).
        if self.client.warnings:
            traffic.warnings[name] = list(self.client.warnings)

    def _run(self, traffic: GatewayTraffic, queries: dict[str, str], at: float) -> None:
        for name, promql in queries.items():
            traffic.promql[name] = promql
            traffic.answers[name] = _ordered(self.client.query(promql, at))
            self._keep_warnings(traffic, name)


def _ordered(result: list[Any]) -> list[Any]:
    """Prometheus returns series in no particular order; sorted, a recording is reproducible.

    An answer that is not a vector of labelled samples (a scalar or string result) is kept as it came:
    `GatewayTraffic.answer_problem` names it and the gateway is UNKNOWN.
    """
    if not all(isinstance(s, dict) and isinstance(s.get("metric") or {}, dict) for s in result):
        return result
    return sorted(result, key=lambda s: sorted((s.get("metric") or {}).items()))


# ---------------------------------------------------------------- providers (engine.run_audit's traffic_provider)
def recorded_provider(record: Any, where: str = "snapshot prometheus data", *,
                      collected_at: float | None = None) -> Callable[[Any, Config], TrafficData]:
    """The recording as measured; `collected_at`: when the snapshot holding it was collected (the check compares
    the recording's window end with it)."""
    data = TrafficData.from_record(record, where)  # validated before collection starts
    data.collected_at = collected_at

    def provide(_inv: Any, _config: Config) -> TrafficData:
        return data

    return provide


def live_provider(cfg: PrometheusConfig, *, now: dt.datetime | None = None,
                  progress: Callable[[str], None] | None = None) -> PrometheusSource:
    return PrometheusSource(cfg, now=now, progress=progress)

