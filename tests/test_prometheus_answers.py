"""Prometheus answers that are not numbers are never "zero traffic" (issue 16, item 4).

Only a real 0 over a covered window proves that nothing flowed through an Istio gateway. Each case goes
through the real engine (snapshot of the gateway Deployment + live Prometheus), and the answers recorded
in a snapshot give the same UNKNOWN offline.

- A REAL Prometheus (backfilled with promtool) for what it can produce: NaN from a NaN sample, and a
  scalar result from a scalar-shaped query.
- `AnswerDouble`: a small HTTP server on 127.0.0.1 speaking Prometheus' HTTP API, for answers a real
  Prometheus never gives (text, negative increase, a sample without value, empty increases while series
  exist, a scalar result for the gateway's own queries). It is a test double of a third-party service.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from auditor import api
from auditor.config import Config, PrometheusConfig
from auditor.engine import AuditResult
from auditor.findings import records
from auditor.sources.prometheus import GatewayTraffic, PrometheusClient, TrafficData
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.prometheus_server import (
    PrometheusServer,
    Series,
    counter,
    family,
    gateway_deployment,
    gateway_labels,
)

CHECK = "istio-gateway-traffic"
WINDOW_S = 24 * 3600
NAMESPACE = "edge"


def snapshot(root: Path, manifest_extra: dict[str, Any] | None = None) -> Path:
    objects = gateway_deployment("istio-ingressgateway", NAMESPACE, "ingress")
    manifest = {"clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a", "complete": True}],
                **(manifest_extra or {})}
    return f.write_snapshot(root, {"cluster-a": objects}, versions={"cluster-a": f.version_info()},
                            manifest=manifest)


def audit_with(root: Path, url: str | None, now: int) -> AuditResult:
    config = Config.model_validate({"prometheus": {"url": url, "timeout": 5}} if url else {})
    return api.run_audit(sources=open_snapshot(root), phase="uninstall", config=config,
                         now=dt.datetime.fromtimestamp(now, dt.UTC))


def gateway_finding(result: AuditResult) -> dict[str, Any]:
    found = [r for r in records(result.findings) if r["check_id"] == CHECK]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- the test double
class AnswerDouble:
    """Prometheus' HTTP API on 127.0.0.1: the gateway's series cover the whole window, every minute; the answer to
    `sum(increase(istio_requests_total...))` is `requests` (a vector sample's value, or a whole `data` object
    when `data` is set); every other increase is an empty vector."""

    def __init__(self, *, requests: Any = "0", data: dict[str, Any] | None = None,
                 empty_increases: bool = False) -> None:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path.endswith("/query_range"):
                    payload = {"resultType": "matrix", "result": []}
                else:
                    payload = double.answer(params["query"], float(params["time"]))
                body = json.dumps({"status": "success", "data": payload}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.requests, self.data, self.empty_increases = requests, data, empty_increases
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def answer(self, query: str, at: float) -> dict[str, Any]:
        def vector(value: Any, metric: dict[str, str] | None = None) -> dict[str, Any]:
            return {"resultType": "vector", "result": [{"metric": metric or {}, "value": [at, value]}]}

        if query.startswith("min_over_time(timestamp(count"):
            return vector(f"{at - WINDOW_S:.0f}", {"cluster": "cluster-a"})
        if query.startswith("max_over_time(timestamp(count"):
            return vector(f"{at:.0f}", {"cluster": "cluster-a"})
        if query.startswith("count_over_time(count"):  # present at every minute of the window (series_present)
            return vector(f"{WINDOW_S // 60 + 1}", {"cluster": "cluster-a"})
        if query.startswith("sum(increase(istio_requests_total") and not self.empty_increases:
            if self.data is not None:
                return self.data
            sample = {"metric": {}} if self.requests is None else {"metric": {}, "value": [at, self.requests]}
            return {"resultType": "vector", "result": [sample]}
        return {"resultType": "vector", "result": []}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> AnswerDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def now() -> int:
    """The audit's time, taken when a test runs: the double's HTTP Date is Prometheus' clock, and a window ending at
    a time taken when the module was imported (minutes earlier on a busy suite) ends before it (AA1554)."""
    return int(time.time()) // 60 * 60


NOW = now()

# name -> (double settings, words the UNKNOWN message must contain)
HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "text": ({"requests": "lots"}, "not a number (got 'lots')"),
    "negative": ({"requests": "-5"}, "counter increase cannot be negative"),
    "no value": ({"requests": None}, "without a [time, value] pair"),
    "NaN": ({"requests": "NaN"}, "is NaN (not a finite number"),
    "+Inf": ({"requests": "+Inf"}, "is +Inf (not a finite number"),
    "empty increases": ({"empty_increases": True}, "an empty answer is not zero"),
    "scalar result": ({"data": {"resultType": "scalar", "result": [NOW, "0"]}}, "not an instant vector"),
    "string result": ({"data": {"resultType": "string", "result": [NOW, "0"]}}, "not an instant vector"),
}


def test_the_double_gives_pass_for_a_real_zero(tmp_path: Path) -> None:
    """The double is faithful enough: a real "0" over a covered window is a PASS (the control case)."""
    root = snapshot(tmp_path / "snap")
    with AnswerDouble(requests="0") as double:
        result = audit_with(root, double.url, now())
    row = gateway_finding(result)
    assert (row["status"], row["code"]) == ("PASS", "AA1501"), row["message"]
    assert row["evidence"]["requests"] == 0.0


@pytest.mark.parametrize("case", list(HOSTILE))
def test_an_answer_that_is_not_a_number_is_unknown(case: str, tmp_path: Path) -> None:
    settings, words = HOSTILE[case]
    root = snapshot(tmp_path / "snap")
    with AnswerDouble(**settings) as double:
        result = audit_with(root, double.url, now())
    row = gateway_finding(result)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1534"), (case, row["status"], row["message"])
    assert words in row["message"], row["message"]  # what is wrong with the answer, quoted
    assert row["evidence"]["requests"] is None
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3


@pytest.mark.parametrize("case", ["text", "negative", "no value", "scalar result"])
def test_recorded_answers_are_validated_the_same_way(case: str, tmp_path: Path) -> None:
    """A snapshot's recorded Prometheus data goes through the same validation: the same UNKNOWN offline."""
    settings, words = HOSTILE[case]
    with AnswerDouble(**settings) as double:
        live = audit_with(snapshot(tmp_path / "live"), double.url, NOW)
    record = live.inventory.traffic.to_record()
    offline = audit_with(snapshot(tmp_path / "offline", {"prometheus": record}), None, NOW)
    live_row, offline_row = gateway_finding(live), gateway_finding(offline)
    assert (offline_row["status"], offline_row["code"]) == ("UNKNOWN", "AA1534") and words in offline_row["message"]
    assert offline_row["message"] == live_row["message"]
    assert offline.exit_code == 3


def test_a_hand_made_recording_with_a_negative_zero_proof_is_unknown(tmp_path: Path) -> None:
    """A recording edited by hand: presence over the window, requests increase -1 (was PASS on main)."""
    at = float(NOW)
    sample = lambda value, metric=None: {"metric": metric or {}, "value": [at, value]}  # noqa: E731
    gateway = {"cluster": "cluster-a", "namespace": NAMESPACE, "name": "istio-ingressgateway",
               "gateway_type": "ingress", "cluster_label": "cluster", "cluster_wanted": "cluster-a",
               "cluster_value": "cluster-a", "error": None, "promql": {},
               "results": {"series_from": [sample(str(NOW - WINDOW_S), {"cluster": "cluster-a"})],
                           "series_until": [sample(str(NOW), {"cluster": "cluster-a"})],
                           "requests": [sample("-1")]}}
    record = TrafficData(origin="recorded", url=None, window="24h", window_seconds=WINDOW_S, query_time=at,
                         cluster_label="cluster").to_record()
    record["gateways"] = [gateway]
    result = audit_with(snapshot(tmp_path / "snap", {"prometheus": record}), None, NOW)
    row = gateway_finding(result)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1534") and "answer to 'requests' is -1" in row["message"]
    assert result.exit_code == 3


# ---------------------------------------------------------------- a real Prometheus
@pytest.fixture(scope="module")
def real_prometheus(tmp_path_factory: pytest.TempPathFactory):
    """The gateway's request counter is flat over 26h, and its last sample is NaN."""
    end = float(NOW)
    samples = counter(end - WINDOW_S - 2 * 3600, end, initial=500)
    samples[-1] = (end, math.nan)
    labels = gateway_labels(NAMESPACE, "istio-ingressgateway", "istio-ingressgateway-gw-a")
    series: list[Series] = [family("requests", labels, samples)]
    with PrometheusServer(series, tmp_path_factory.mktemp("prom-nan")) as server:
        yield server


def test_nan_from_a_real_prometheus_is_unknown(real_prometheus: PrometheusServer, tmp_path: Path) -> None:
    result = audit_with(snapshot(tmp_path / "snap"), real_prometheus.url, NOW)
    row = gateway_finding(result)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1534"), row["message"]
    assert "answer to 'requests' is NaN" in row["message"]
    assert result.exit_code == 3


def test_scalar_result_from_a_real_prometheus_is_not_a_vector(real_prometheus: PrometheusServer) -> None:
    client = PrometheusClient(PrometheusConfig(url=real_prometheus.url, timeout=5))
    try:
        answer = client.query("scalar(sum(istio_requests_total))", float(NOW))
    finally:
        client.close()
    assert isinstance(answer, list) and len(answer) == 2  # [time, "value"]: what a scalar result looks like
    traffic = GatewayTraffic("cluster-a", NAMESPACE, "istio-ingressgateway", "ingress",
                             answers={"requests": answer})
    assert traffic.answer_problem() is not None
    assert "not an instant vector" in traffic.answer_problem()
    assert traffic.increase("requests") is None
