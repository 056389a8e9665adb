"""A real Prometheus for tests: write OpenMetrics, backfill it with promtool, serve it on 127.0.0.1.

    series = [Series("istio_requests_total", {...}, counter(start, end, rate=lambda t: 10.0))]
    with PrometheusServer(series, tmp_path) as prom:
        ... prom.url ...

`promtool tsdb create-blocks-from openmetrics` turns the text into TSDB blocks in a fresh data
directory; `/usr/bin/prometheus` starts on them with a scrape-less config (so nothing but the
backfilled series exists) and is stopped afterwards. `FaultProxy` sits in front of it for the cases
a healthy Prometheus cannot produce on demand (slow answers, HTTP errors, auth); `tls_files` makes a
throw-away CA and server certificate with openssl so Prometheus itself can serve HTTPS.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
STEP = 60  # seconds between backfilled samples, like a 1m scrape interval

# Basic-auth user for the TLS server (bcrypt cost 4 keeps each request cheap).
BASIC_USER = "auditor"
BASIC_PASSWORD = "audit-pass"
_BASIC_HASH = "$2b$04$X.pCQ235GtvlrbAiFsWyS.bk4lpihr6sUruEuE.WLfFrLaJyTYDnO"


@dataclass
class Series:
    metric: str                      # sample name, e.g. istio_requests_total
    labels: dict[str, str]
    samples: list[tuple[float, float]] = field(default_factory=list)  # (unix seconds, value), ascending


def counter(start: float, end: float, *, rate: Callable[[float], float] | float = 0.0, initial: float = 0.0,
            resets: Iterable[float] = (), step: int = STEP) -> list[tuple[float, float]]:
    """Samples of a counter from start to end: grows by rate(t)*step per sample, drops to 0 at each reset."""
    rate_at = rate if callable(rate) else (lambda _t, r=float(rate): r)
    pending = sorted(resets)
    value = float(initial)
    out = []
    t = float(start)
    while t <= end:
        restarted = False
        while pending and pending[0] <= t:
            pending.pop(0)
            value, restarted = 0.0, True  # the process restarted: the counter starts over from 0
        if out and not restarted:
            value += rate_at(t) * step
        out.append((t, round(value, 6)))
        t += step
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics(series: Iterable[Series]) -> str:
    """OpenMetrics text: one family per metric (counters declared as such), samples in time order."""
    families: dict[str, list[Series]] = {}
    for s in series:
        families.setdefault(s.metric, []).append(s)
    lines = []
    for metric, members in families.items():
        family = metric[: -len("_total")] if metric.endswith("_total") else metric
        lines.append(f"# TYPE {family} {'counter' if metric.endswith('_total') else 'gauge'}")
        for s in members:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            lines.extend(f"{metric}{{{labels}}} {v:.17g} {t:.3f}" for t, v in s.samples)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tls_files(directory: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl), as {ca, cert, key}."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca-key.pem"
    cert, key, csr = directory / "server.pem", directory / "server-key.pem", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=asm-audit test CA")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out",
        str(cert), "-days", "2", "-extfile", str(ext))
    return {"ca": ca, "cert": cert, "key": key}


def wait_ready(process: subprocess.Popen[bytes], request: urllib.request.Request, timeout: float,
               context: ssl.SSLContext | None = None) -> bool:
    """Poll a readiness URL until it answers 200 (True), the process exits or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(request, timeout=1, context=context) as answer:
                if answer.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server the tests started, killing it when it does not stop within 10 seconds."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class PrometheusServer:
    """Backfill `series` into a fresh TSDB and run a real Prometheus on it (context manager)."""

    def __init__(self, series: Iterable[Series], workdir: Path, *, tls: dict[str, Path] | None = None,
                 basic_auth: bool = False, ready_timeout: float = 20.0, scrape: list[str] | None = None) -> None:
        self.series = list(series)
        self.scrape = scrape or []  # host:port targets scraped every second (honor_labels, e.g. a Pushgateway)
        self.workdir = Path(workdir)
        self.tls = tls
        self.basic_auth = basic_auth
        self.ready_timeout = ready_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        source = self.workdir / "series.om"
        started = time.perf_counter()
        if self.series:
            source.write_text(openmetrics(self.series))
            subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data)],
                           check=True, capture_output=True)
        self.timings["backfill_s"] = time.perf_counter() - started
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n")  # scrapes nothing
        if self.scrape:
            config.write_text(json.dumps({  # JSON is YAML
                "global": {"scrape_interval": "1s", "evaluation_interval": "1h"},
                "scrape_configs": [{"job_name": "scraped", "honor_labels": True,
                                    "static_configs": [{"targets": self.scrape}]}]}))
        args = [PROMETHEUS, f"--storage.tsdb.path={data}", f"--config.file={config}",
                "--storage.tsdb.retention.time=3650d", "--log.level=warn"]
        if self.tls or self.basic_auth:
            web: dict[str, Any] = {}
            if self.tls:
                web["tls_server_config"] = {"cert_file": str(self.tls["cert"]), "key_file": str(self.tls["key"])}
            if self.basic_auth:
                web["basic_auth_users"] = {BASIC_USER: _BASIC_HASH}
            web_file = self.workdir / "web.yml"
            web_file.write_text(json.dumps(web))  # JSON is YAML
            args.append(f"--web.config.file={web_file}")
        log = (self.workdir / "prometheus.log").open("wb")
        for _attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            started = time.perf_counter()
            self.process = subprocess.Popen([*args, f"--web.listen-address=127.0.0.1:{self.port}"],
                                            stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                self.timings["start_s"] = time.perf_counter() - started
                return
            self.stop()
        raise RuntimeError(f"prometheus did not become ready; see {self.workdir / 'prometheus.log'}")

    def _wait_ready(self) -> bool:
        context = ssl._create_unverified_context() if self.tls else None  # readiness only; tests verify TLS
        headers = {}
        if self.basic_auth:
            import base64

            headers["Authorization"] = "Basic " + base64.b64encode(
                f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        assert self.process is not None
        return wait_ready(self.process, urllib.request.Request(f"{self.url}/-/ready", headers=headers),
                          self.ready_timeout, context)

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)


class FaultProxy:
    """An HTTP server on 127.0.0.1 in front of a real Prometheus that can misbehave on purpose.

    delay: seconds to wait before answering; status: answer every request with this HTTP status and a
    Prometheus-shaped error body; require: (header, value) that must be present, else 401; warnings: the
    top-level `warnings` of Prometheus' API response added to every answer (a Thanos querier's partial
    response). Requests seen are kept in `.seen` as (path, headers).
    """

    def __init__(self, upstream: str, *, delay: float = 0.0, status: int | None = None,
                 require: tuple[str, str] | None = None, error: str = "injected by FaultProxy",
                 warnings: list[str] | None = None, warnings_on: str = "") -> None:
        self.upstream = upstream.rstrip("/")
        self.warnings = warnings  # added to each successful answer, as a Thanos querier's partial response says
        self.warnings_on = warnings_on  # only to the answers of paths holding it (e.g. "query_range"), if given
        self.delay = delay
        self.status = status
        self.require = require
        self.error = error
        self.seen: list[tuple[str, dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # keep test output clean
                pass

            def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                proxy.seen.append((self.path, dict(self.headers.items())))
                if proxy.delay:
                    time.sleep(proxy.delay)
                if proxy.require and self.headers.get(proxy.require[0]) != proxy.require[1]:
                    self._answer(401, b"Unauthorized\n", "text/plain")
                    return
                if proxy.status is not None:
                    kind = "bad_data" if proxy.status == 400 else "execution" if proxy.status == 422 else "server"
                    body = json.dumps({"status": "error", "errorType": kind, "error": proxy.error}).encode()
                    self._answer(proxy.status, body)
                    return
                try:
                    with urllib.request.urlopen(proxy.upstream + self.path, timeout=30) as answer:
                        body = answer.read()
                        if proxy.warnings and answer.status == 200 and proxy.warnings_on in self.path:
                            body = json.dumps({**json.loads(body), "warnings": proxy.warnings}).encode()
                        self._answer(answer.status, body)
                except urllib.error.HTTPError as exc:
                    self._answer(exc.code, exc.read())
                except OSError as exc:  # upstream gone (e.g. stopped while this request slept)
                    self._answer(502, str(exc).encode(), "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and tests start many proxies.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


# ---------------------------------------------------------------- gateway series, as Istio exports them
FAMILY_METRICS = {
    "requests": "istio_requests_total",
    "connections": "istio_tcp_connections_opened_total",
    "bytes_sent": "istio_tcp_sent_bytes_total",
    "bytes_received": "istio_tcp_received_bytes_total",
}
WINDOW_S = 24 * 3600


def gateway_labels(namespace: str, workload: str, pod: str, cluster: str | None = "cluster-a",
                   **extra: str) -> dict[str, str]:
    """Labels of a gateway's own (reporter="source") series after the usual kubernetes-pods relabelling."""
    # A subset of Istio's standard labels (enough to be realistic, small enough to backfill quickly).
    labels = {"reporter": "source", "source_workload": workload, "source_workload_namespace": namespace,
              "destination_service": "productpage.shop.svc.cluster.local", "destination_workload": "productpage",
              "request_protocol": "http", "response_code": "200", "namespace": namespace, "pod": pod}
    if cluster is not None:
        labels["cluster"] = cluster
    labels.update(extra)
    return labels


def family(name: str, labels: dict[str, str], samples: list[tuple[float, float]]) -> Series:
    tcp = name != "requests"
    labels = dict(labels)
    if tcp:  # TCP series carry no HTTP labels
        labels.pop("response_code", None)
        labels["request_protocol"] = "tcp"
    return Series(FAMILY_METRICS[name], labels, samples)


# Scenario namespace -> (gateway Deployment name, gateway type). Each scenario is told apart by its namespace.
SCENARIOS: dict[str, tuple[str, str]] = {
    "busy": ("istio-ingressgateway", "ingress"),
    "before": ("istio-ingressgateway", "ingress"),
    "drained": ("istio-ingressgateway", "ingress"),
    "absent": ("istio-ingressgateway", "ingress"),
    "reset": ("istio-ingressgateway", "ingress"),
    "eastwest": ("istio-eastwestgateway", "eastwest"),
    "longlived": ("istio-eastwestgateway", "eastwest"),
    "born": ("istio-ingressgateway", "ingress"),
    "late": ("istio-ingressgateway", "ingress"),
    "stopped": ("istio-ingressgateway", "ingress"),
    "elsewhere": ("istio-ingressgateway", "ingress"),
    "nolabel": ("istio-ingressgateway", "ingress"),
    "nolabel-busy": ("istio-ingressgateway", "ingress"),
    "multi": ("istio-ingressgateway", "ingress"),
    "trickle": ("istio-egressgateway", "egress"),
    "one": ("istio-ingressgateway", "ingress"),
    "born-one": ("istio-ingressgateway", "ingress"),
}


def scenario_series(now: float) -> list[Series]:
    """Every test scenario's series, ending at `now` (a whole minute), with a 24h window in mind.

    Data start 26h before `now`, so "before the window" has two hours of history.
    """
    end = float(now)
    start_w = end - WINDOW_S
    begin = start_w - 2 * 3600
    out: list[Series] = []

    def add(ns: str, name: str, samples: list[tuple[float, float]], pod: str = "gw-a",
            cluster: str | None = "cluster-a", workload: str | None = None, **extra: str) -> None:
        gw = workload or SCENARIOS[ns][0]
        out.append(family(name, gateway_labels(ns, gw, f"{gw}-{pod}", cluster, **extra), samples))

    # busy: 10 req/s for the whole span over two pods and two response codes (FAIL, 864,000 requests)
    add("busy", "requests", counter(begin, end, rate=5.9, initial=1_000_000), pod="gw-a")
    add("busy", "requests", counter(begin, end, rate=0.1, initial=2_000), pod="gw-a", response_code="503")
    add("busy", "requests", counter(begin, end, rate=4.0, initial=750_000), pod="gw-b")
    # before: traffic stopped 1h before the window, series scraped on (PASS)
    add("before", "requests", counter(begin, end, rate=lambda t: 5.0 if t <= start_w - 3600 else 0.0,
                                      initial=40_000))
    # drained: flat requests and TCP counters over the whole span (PASS)
    add("drained", "requests", counter(begin, end, initial=123_456))
    add("drained", "connections", counter(begin, end, initial=42))
    add("drained", "bytes_sent", counter(begin, end, initial=1_048_576))
    add("drained", "bytes_received", counter(begin, end, initial=524_288))
    # absent: only another workload's series in the namespace (UNKNOWN)
    add("absent", "requests", counter(begin, end, rate=1.0), workload="productpage")
    # reset: 100 -> 200 by mid-window, restart to 0, back to 100 at the end: last - first = 0, increase = 200
    add("reset", "requests", counter(begin, end, rate=lambda t: 100 / (12 * 3600) if t > start_w else 0.0,
                                     initial=100, resets=[end - 12 * 3600]))
    # eastwest: TLS passthrough, TCP only (FAIL)
    add("eastwest", "connections", counter(begin, end, rate=0.5, initial=10_000))
    add("eastwest", "bytes_sent", counter(begin, end, rate=20_000, initial=9e8))
    add("eastwest", "bytes_received", counter(begin, end, rate=15_000, initial=7e8))
    # longlived: no new connection in the window, bytes still flowing on an old one (FAIL)
    add("longlived", "connections", counter(begin, end, initial=12))
    add("longlived", "bytes_sent", counter(begin, end, rate=300, initial=5e6))
    add("longlived", "bytes_received", counter(begin, end, initial=4e6))
    # born: one pod flat all along; a new pod's counter appears 6h before the end already at 7 (FAIL, 7)
    add("born", "requests", counter(begin, end, initial=500), pod="gw-a")
    add("born", "requests", counter(end - 6 * 3600, end, initial=7), pod="gw-new")
    # late: series only for the last 6h (UNKNOWN: not scraped from the window's start)
    add("late", "requests", counter(end - 6 * 3600, end, initial=3))
    # stopped: flat, but no sample for the last 3h (UNKNOWN: not scraped to the end)
    add("stopped", "requests", counter(begin, end - 3 * 3600, initial=900))
    # elsewhere: flat series of another cluster only (UNKNOWN unless mapped)
    add("elsewhere", "requests", counter(begin, end, initial=77), cluster="prod-hz")
    # nolabel / nolabel-busy: no cluster label at all
    add("nolabel", "requests", counter(begin, end, initial=64), cluster=None)
    add("nolabel-busy", "requests", counter(begin, end, rate=2.0, initial=64), cluster=None)
    # multi: the same gateway in two clusters, told apart by the label: a busy, b drained
    add("multi", "requests", counter(begin, end, rate=2.0, initial=5_000), cluster="cluster-a")
    add("multi", "requests", counter(begin, end, initial=6_000), cluster="cluster-b")
    # trickle: an egress gateway still carrying 0.01 req/s (FAIL, 864 requests)
    add("trickle", "requests", counter(begin, end, rate=0.01, initial=99_000))
    # one: exactly one request, mid-window, on a series scraped all along (FAIL: one request is traffic)
    mid = end - 12 * 3600
    add("one", "requests", counter(begin, end, rate=lambda t: 1 / STEP if t == mid else 0.0, initial=321))
    # born-one: a new pod's series first seen inside the window at exactly 1 (FAIL, 1 request)
    add("born-one", "requests", counter(begin, end, initial=50), pod="gw-a")
    add("born-one", "requests", counter(end - 6 * 3600, end, initial=1), pod="gw-new")
    return out


T0 = "2026-11-10T08:00:00Z"  # a pod started long before any window (tests/factory.py T0)


def gateway_deployment(name: str, namespace: str, gateway_type: str, *, asm: bool = False,
                       pods: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A gateway Deployment (+ its ReplicaSet) as istioctl / ASM install it: label istio=<type>gateway,
    an istio-proxy running `proxy router`; `pods`: its running pods, name -> start time (RFC 3339)."""
    from tests import factory

    label = {"ingress": "ingressgateway", "egress": "egressgateway", "eastwest": "eastwestgateway"}[gateway_type]
    labels = {"app": name, "istio": label}
    if asm:
        labels["asm.alibabacloud.com/managed-by-asm"] = "true"
    proxy = factory.proxy_container("asm" if asm else "istio", gateway=True)
    dep, rs = factory.deployment(name, namespace, template_labels=dict(labels), labels=labels,
                                 containers=[proxy])
    rs_name = rs["metadata"]["name"]
    return [dep, rs, *(factory.pod(pod, namespace, proxy="asm" if asm else "istio", gateway=True, created=started,
                                   owner=("ReplicaSet", rs_name), labels={**labels, "pod-template-hash":
                                                                          rs_name.rsplit("-", 1)[-1]})
                       for pod, started in (pods or {}).items())]


def scenario_gateways(namespaces: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The gateway Deployments of the given scenarios (all by default)."""
    out: list[dict[str, Any]] = []
    for ns in namespaces if namespaces is not None else SCENARIOS:
        name, gtype = SCENARIOS[ns]
        # The pod the scenario's series were scraped from (their pod label): series without a cluster label prove the
        # cluster's gateway idle only when scraped from its own pods (AA1557).
        out += gateway_deployment(name, ns, gtype, pods={f"{name}-gw-a": T0} if ns.startswith("nolabel") else None)
    return out


# ---------------------------------------------------------------- the demo's recorded traffic
DEMO_QUERY_TIME = "2026-11-20T09:30:00Z"   # the demo snapshot's collected_at
DEMO_PODS = {
    ("cluster-a", "istio-ingressgateway"): ("6c5vllv5jp-ghhdz", "6c5vllv5jp-tr9dd"),
    ("cluster-a", "istio-egressgateway"): ("wcknd56zfl-ncfv7",),
    ("cluster-a", "istio-eastwestgateway"): ("k58x9bg8d6-zrmwk", "k58x9bg8d6-5b2bb"),
    ("cluster-b", "istio-ingressgateway"): ("qd9dntjqcd-kzvkb", "qd9dntjqcd-9xbqf"),
    ("cluster-b", "istio-eastwestgateway"): ("qmmpjqccbc-qkzfl", "qmmpjqccbc-cq5mn"),
}


def demo_series() -> list[Series]:
    """The demo's gateways over 30h before its collection time, with a daily rhythm.

    Ingress: clients moved to the ASM ingress gateway 28h before (CLB weight ramp), flat since: drained.
    Egress (cluster-a): since 27h before, ~1% of the old egress rate (35 -> 0.35 req/s) still goes through
    Istio's gateway.
    East-west: busy TLS passthrough (TCP only) in both clusters.
    """
    import math

    from auditor.sources.prometheus import parse_rfc3339

    end = parse_rfc3339(DEMO_QUERY_TIME)
    begin = end - 30 * 3600
    drained_at = end - 28 * 3600
    ramp = 2 * 3600

    def daily(base: float) -> Callable[[float], float]:
        return lambda t: base * (1 + 0.45 * math.sin(2 * math.pi * (t - 6 * 3600) / 86400))

    def shifting(base: float) -> Callable[[float], float]:  # weight moved to ASM over two hours
        return lambda t: 0.0 if t >= drained_at else base * min(1.0, (drained_at - t) / ramp)

    def cut_to(when: float, before: float, after: float) -> Callable[[float], float]:
        later = daily(after)
        return lambda t: before if t < when else later(t)

    out: list[Series] = []
    for (cluster, gw), pods in DEMO_PODS.items():
        for i, suffix in enumerate(pods):
            labels = gateway_labels("istio-system", gw, f"{gw}-{suffix}", cluster,
                                    destination_service="frontend.shop.svc.cluster.local",
                                    destination_workload="frontend")
            if gw == "istio-ingressgateway":
                out.append(family("requests", labels, counter(begin, end, rate=shifting(38.0 - 4 * i),
                                                               initial=41_000_000 + 3_100_000 * i)))
            elif gw == "istio-egressgateway":
                egress = dict(labels, destination_service="edition.cnn.com", destination_workload="unknown")
                # VirtualServices moved 99% of egress to ASM's gateway 27h before; 1% still goes through Istio's.
                out.append(family("requests", egress, counter(begin, end, rate=cut_to(end - 27 * 3600, 35.0, 0.35),
                                                               initial=2_460_000)))
                out.append(family("connections", egress, counter(begin, end, rate=daily(0.02), initial=51_000)))
                out.append(family("bytes_sent", egress, counter(begin, end, rate=daily(900), initial=7.1e9)))
                out.append(family("bytes_received", egress, counter(begin, end, rate=daily(5200),
                                                                     initial=4.2e10)))
            else:  # east-west: mTLS passthrough, TCP only
                scale = 1.0 if cluster == "cluster-a" else 0.7
                east = dict(labels, destination_service="cart.shop.svc.cluster.local", destination_workload="cart")
                out.append(family("connections", east, counter(begin, end, rate=daily(1.5 * scale),
                                                                initial=3_800_000 + 1000 * i)))
                out.append(family("bytes_sent", east, counter(begin, end, rate=daily(250_000 * scale),
                                                               initial=6.4e11)))
                out.append(family("bytes_received", east, counter(begin, end, rate=daily(180_000 * scale),
                                                                   initial=4.9e11)))
    return out


def record_demo(workdir: Path) -> dict[str, Any]:
    """Measure the demo snapshot's gateways against a real Prometheus holding demo_series()."""
    import datetime as dt

    from auditor import api
    from auditor.config import Config
    from auditor.sources.prometheus import parse_rfc3339
    from auditor.sources.snapshot import open_snapshot

    with PrometheusServer(demo_series(), workdir) as prom:
        config = Config.model_validate({"prometheus": {"url": prom.url, "window": "24h"}})
        now = dt.datetime.fromtimestamp(parse_rfc3339(DEMO_QUERY_TIME), dt.UTC)
        result = api.run_audit(sources=open_snapshot(api.demo_snapshot_path()), phase="uninstall", config=config,
                               now=now)
    record = result.inventory.traffic.to_record()
    record["url"] = "http://prometheus.monitoring:9090"  # what the demo pretends; the test server's port varies
    record["prometheus_clock"] = DEMO_QUERY_TIME  # ...and its Prometheus' clock (the test server's is today's)
    return record


if __name__ == "__main__":  # python -m tests.prometheus_server  -> rewrites the demo's prometheus.json
    import sys
    import tempfile

    target = Path(__file__).resolve().parents[1] / "auditor" / "demo" / "snapshot" / "prometheus.json"
    with tempfile.TemporaryDirectory() as tmp:
        demo = record_demo(Path(tmp))
    demo.pop("stats", None)
    target.write_text(json.dumps(demo, indent=1, sort_keys=False) + "\n")
    print(f"wrote {target}", file=sys.stderr)
