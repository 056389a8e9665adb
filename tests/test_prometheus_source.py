"""The Prometheus source against a REAL Prometheus (backfilled with promtool), and what can go wrong on
the way to it: a closed port, a slow answer, HTTP 4xx/5xx, bearer/basic auth, TLS with a custom CA.

Nothing is mocked at the HTTP level: prometheus-api-client talks to /usr/bin/prometheus, directly or
through tests.prometheus_server.FaultProxy (a real HTTP server on 127.0.0.1) for the failure cases.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from auditor import kinds as K
from auditor.config import Config, PrometheusConfig
from auditor.errors import UsageError
from auditor.inventory import ClusterInventory, Inventory
from auditor.sources.prometheus import (
    GatewayTraffic,
    PrometheusSource,
    TrafficData,
    parse_duration,
    redact_url,
)
from tests.prometheus_server import (
    BASIC_PASSWORD,
    BASIC_USER,
    FaultProxy,
    PrometheusServer,
    closed_port_url,
    scenario_gateways,
    scenario_series,
    tls_files,
)

WINDOW = 24 * 3600


class Live:
    def __init__(self, server: PrometheusServer, now: int) -> None:
        self.server, self.now, self.url = server, now, server.url


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    now = int(time.time()) // 60 * 60
    with PrometheusServer(scenario_series(now), tmp_path_factory.mktemp("prom")) as server:
        yield Live(server, now)


def inventory(clusters: dict[str, list[str]]) -> Inventory:
    inv = Inventory(data_planes=[])
    for name, namespaces in clusters.items():
        cluster = ClusterInventory(name=name)
        cluster.objects_by_kind[K.DEPLOYMENT.key] = [
            o for o in scenario_gateways(namespaces) if o["kind"] == "Deployment"]
        inv.data_planes.append(cluster)
    return inv


def measure(url: str, now: int, namespaces: list[str], clusters: tuple[str, ...] = ("cluster-a",),
            **settings) -> TrafficData:
    cfg = PrometheusConfig(url=url, window=settings.pop("window", "24h"), **settings)
    source = PrometheusSource(cfg, now=dt.datetime.fromtimestamp(now, dt.UTC))
    try:
        return source.measure(inventory({c: namespaces for c in clusters}), Config())
    finally:
        source.close()


def one(data: TrafficData, namespace: str, cluster: str = "cluster-a") -> GatewayTraffic:
    found = [g for g in data.gateways if g.namespace == namespace and g.cluster == cluster]
    assert len(found) == 1, data.gateways
    return found[0]


# ---------------------------------------------------------------- numbers from a real Prometheus
def test_traffic_in_window_is_counted_over_pods_and_codes(prom: Live) -> None:
    g = one(measure(prom.url, prom.now, ["busy"]), "busy")
    assert g.error is None and g.scope == "cluster" and g.cluster_value == "cluster-a"
    # 5.9 + 0.1 (503s) + 4.0 req/s for 24h
    assert g.increase("requests") == pytest.approx(864_000, rel=0.002)
    assert g.increase("connections") is None  # no TCP series: None, not zero
    assert g.new_series("requests") is None
    assert prom.now - 300 <= g.last_seen <= prom.now
    assert g.series_from <= prom.now - WINDOW + 60 and g.series_until == prom.now
    points = g.points("series")
    assert len(points) == 24 and all(p[1] == pytest.approx(10.0, rel=0.01) for p in points)
    assert points[-1][0] == dt.datetime.fromtimestamp(prom.now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sel = 'reporter="source",source_workload="istio-ingressgateway",source_workload_namespace="busy"'
    assert g.promql["requests"] == f'sum(increase(istio_requests_total{{{sel},cluster="cluster-a"}}[24h]))'
    # By pod too: whose series they are.
    assert "count by (cluster, pod, pod_name, kubernetes_pod_name)" in g.promql["series_from"]
    assert set(g.pod_presence()) == {"istio-ingressgateway-gw-a", "istio-ingressgateway-gw-b"}


def test_counter_reset_inside_the_window(prom: Live) -> None:
    data = scenario_series(prom.now)
    samples = next(s.samples for s in data if s.labels["source_workload_namespace"] == "reset")
    in_window = [v for t, v in samples if t >= prom.now - WINDOW]
    # The fixture is meaningful: first and last value in the window are equal, a naive difference is 0.
    assert in_window[0] == pytest.approx(in_window[-1]) and min(in_window) == 0
    g = one(measure(prom.url, prom.now, ["reset"]), "reset")
    assert g.increase("requests") == pytest.approx(200, abs=3)  # 100 before the restart + 100 after


def test_traffic_only_before_the_window(prom: Live) -> None:
    g = one(measure(prom.url, prom.now, ["before"]), "before")
    assert g.increase("requests") == 0 and g.new_series("requests") is None
    assert g.last_seen is None
    assert g.series_from <= prom.now - WINDOW + 60 and g.series_until == prom.now
    # The same data over a 26h window does see it.
    wide = one(measure(prom.url, prom.now, ["before"], window="26h"), "before")
    assert wide.increase("requests") > 3000 and wide.last_seen <= prom.now - WINDOW - 3600 + 300


def test_zero_increase_with_series_present(prom: Live) -> None:
    g = one(measure(prom.url, prom.now, ["drained"]), "drained")
    assert [g.increase(f) for f in ("requests", "connections", "bytes_sent", "bytes_received")] == [0, 0, 0, 0]
    assert g.last_seen is None and g.scope == "cluster"
    assert all(v == 0 for _, v in g.points("series")) and len(g.points("tcp_series")) == 24


def test_absent_series_stop_after_the_presence_query(prom: Live) -> None:
    g = one(measure(prom.url, prom.now, ["absent"]), "absent")
    assert g.scope == "none" and g.error is None
    assert set(g.promql) == {"series_from", "series_until"}  # nothing else asked: nothing to measure
    assert g.increase("requests") is None


def test_series_born_inside_the_window_count_their_first_value(prom: Live) -> None:
    g = one(measure(prom.url, prom.now, ["born"]), "born")
    assert g.increase("requests") == 0
    assert g.new_series("requests") == 7


def test_tcp_only_and_long_lived_connections(prom: Live) -> None:
    data = measure(prom.url, prom.now, ["eastwest", "longlived"])
    east, long = one(data, "eastwest"), one(data, "longlived")
    assert east.increase("requests") is None
    assert east.increase("connections") == pytest.approx(0.5 * WINDOW, rel=0.002)
    assert east.increase("bytes_sent") == pytest.approx(20_000 * WINDOW, rel=0.002)
    assert long.increase("connections") == 0 and long.increase("bytes_sent") == pytest.approx(300 * WINDOW, rel=0.002)
    assert long.last_seen is not None


def test_cluster_label_selects_mismatches_and_absence(prom: Live) -> None:
    data = measure(prom.url, prom.now, ["elsewhere", "nolabel", "multi"], clusters=("cluster-a", "cluster-b"))
    assert one(data, "elsewhere").scope == "mismatch" and one(data, "elsewhere").clusters_seen == ["prod-hz"]
    assert one(data, "elsewhere").cluster_wanted == "cluster-a"
    nolabel = one(data, "nolabel", "cluster-b")
    assert nolabel.scope == "unlabelled" and nolabel.cluster_value == ""
    assert 'cluster=""' in nolabel.promql["requests"]
    assert one(data, "multi", "cluster-a").increase("requests") == pytest.approx(2.0 * WINDOW, rel=0.002)
    assert one(data, "multi", "cluster-b").increase("requests") == 0
    mapped = measure(prom.url, prom.now, ["elsewhere"], cluster_label_values={"cluster-a": "prod-hz"})
    assert one(mapped, "elsewhere").scope == "cluster" and one(mapped, "elsewhere").increase("requests") == 0
    unlabelled = measure(prom.url, prom.now, ["multi"], cluster_label="")
    g = one(unlabelled, "multi")
    # No cluster label to group by.
    assert g.scope == "all" and "count by (pod, pod_name, kubernetes_pod_name)" in g.promql["series_from"]
    assert g.increase("requests") == pytest.approx(2.0 * WINDOW, rel=0.002)  # both clusters summed


def test_record_round_trip_keeps_every_answer(prom: Live) -> None:
    data = measure(prom.url, prom.now, ["busy", "drained", "absent"])
    record = data.to_record()
    assert record["window"] == "24h" and record["query_time"].endswith("Z")
    assert set(record["gateways"][0]) >= {"promql", "results", "cluster", "namespace", "name"}
    again = TrafficData.from_record(record)
    for before, after in zip(data.gateways, again.gateways, strict=True):
        assert after.answers == before.answers and after.promql == before.promql
        assert after.increase("requests") == before.increase("requests")
        assert after.points("series") == before.points("series")
    assert again.query_time == data.query_time and again.origin == "recorded"
    with pytest.raises(UsageError, match="not an asm-audit-prometheus record"):
        TrafficData.from_record({"window": "24h"})
    with pytest.raises(UsageError, match="malformed"):
        TrafficData.from_record({**record, "query_time": "yesterday"})


def test_query_count_and_time(prom: Live) -> None:
    namespaces = ["busy", "drained", "reset", "eastwest", "trickle"]
    started = time.perf_counter()
    data = measure(prom.url, prom.now, namespaces)
    elapsed = time.perf_counter() - started
    assert data.stats["queries"] == 14 * len(namespaces)  # 2 presence, coverage, 4+4 counters, last seen, 2 ranges
    assert elapsed < 10, f"{data.stats['queries']} queries took {elapsed:.2f}s"
    print(f"\n{data.stats['queries']} queries for {len(namespaces)} gateways in {elapsed:.3f}s "
          f"(in queries {data.stats['seconds']:.3f}s); backfill {prom.server.timings}")


# ---------------------------------------------------------------- failures on the way
def test_prometheus_down_stops_after_the_first_refusal(prom: Live) -> None:
    started = time.perf_counter()
    data = measure(closed_port_url(), prom.now, ["busy", "drained", "reset"])
    assert time.perf_counter() - started < 3
    assert all(g.error and "unreachable" in g.error and "Connection refused" in g.error for g in data.gateways)
    assert data.stats["queries"] == 1


def test_slow_answer_beyond_the_timeout(prom: Live) -> None:
    with FaultProxy(prom.url, delay=2.0) as proxy:
        started = time.perf_counter()
        data = measure(proxy.url, prom.now, ["busy", "drained", "reset"], timeout=0.3)
        elapsed = time.perf_counter() - started
    assert all(g.error and "no answer" in g.error and "0.3s" in g.error for g in data.gateways), data.gateways
    assert len(proxy.seen) == 1 and elapsed < 1.5  # a read timeout is not retried, and the rest are not asked
    assert "timeout=0.3s" in proxy.seen[0][0]  # Prometheus is told to give up as well


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_unknown_for_every_gateway(prom: Live, status: int) -> None:
    with FaultProxy(prom.url, status=status, error="queries are disabled") as proxy:
        data = measure(proxy.url, prom.now, ["busy", "drained"])
    assert all(f"HTTP {status}" in g.error and "queries are disabled" in g.error for g in data.gateways)
    assert 1 <= len(proxy.seen) <= 2  # at most one retry of a 503, then stop


@pytest.mark.parametrize("status", [400, 422])
def test_a_refused_query_fails_its_gateway_only(prom: Live, status: int) -> None:
    with FaultProxy(prom.url, status=status, error="query processing would load too many samples") as proxy:
        data = measure(proxy.url, prom.now, ["busy", "drained"])
    assert all(f"refused the query (HTTP {status})" in g.error and "too many samples" in g.error
               for g in data.gateways)
    assert len(proxy.seen) == 2  # each gateway tried (one query each)


def test_not_found_means_a_wrong_url(prom: Live) -> None:
    with FaultProxy(prom.url, status=404) as proxy:
        data = measure(proxy.url + "/prometheus", prom.now, ["busy"])
    assert "HTTP 404" in data.gateways[0].error and "base URL" in data.gateways[0].error


def test_bearer_token_from_a_file(prom: Live, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    with FaultProxy(prom.url, require=("Authorization", "Bearer s3cr3t-token")) as proxy:
        denied = measure(proxy.url, prom.now, ["busy"])
        allowed = measure(proxy.url, prom.now, ["busy"], bearer_token_file=str(token))
    assert "HTTP 401" in denied.gateways[0].error and "bearer token" in denied.gateways[0].error
    assert allowed.gateways[0].error is None
    assert allowed.gateways[0].increase("requests") == pytest.approx(864_000, rel=0.002)
    assert proxy.seen[-1][1]["Authorization"] == "Bearer s3cr3t-token"
    with pytest.raises(UsageError, match="token file"):
        PrometheusSource(PrometheusConfig(url=prom.url, bearer_token_file=str(tmp_path / "missing")))


def test_https_with_custom_ca_and_basic_auth(prom: Live, tmp_path: Path) -> None:
    tls = tls_files(tmp_path / "tls")
    password = tmp_path / "password"
    password.write_text(BASIC_PASSWORD)
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    auth = {"username": BASIC_USER, "password_file": str(password)}
    busy = [s for s in scenario_series(prom.now) if s.labels["source_workload_namespace"] == "busy"]
    with PrometheusServer(busy, tmp_path / "prom", tls=tls, basic_auth=True) as secure:
        trusted = measure(secure.url, prom.now, ["busy"], ca_file=str(tls["ca"]), **auth)
        untrusted = measure(secure.url, prom.now, ["busy"], **auth)
        skipped = measure(secure.url, prom.now, ["busy"], insecure_skip_verify=True, **auth)
        bad_password = measure(secure.url, prom.now, ["busy"], ca_file=str(tls["ca"]),
                               username=BASIC_USER, password_file=str(wrong))
        in_url = measure(secure.url.replace("https://", f"https://{BASIC_USER}:{BASIC_PASSWORD}@"), prom.now,
                         ["busy"], ca_file=str(tls["ca"]))
    assert trusted.gateways[0].error is None
    assert trusted.gateways[0].increase("requests") == pytest.approx(864_000, rel=0.002)
    assert "TLS error" in untrusted.gateways[0].error and "certificate verify failed" in untrusted.gateways[0].error
    assert skipped.gateways[0].error is None
    assert "HTTP 401" in bad_password.gateways[0].error
    assert in_url.gateways[0].error is None and BASIC_PASSWORD not in (in_url.url or "")


# ---------------------------------------------------------------- inputs
def test_durations_and_urls() -> None:
    assert parse_duration("24h") == 86400 and parse_duration("1d12h") == 129600 and parse_duration("90m") == 5400
    for bad in ("24 hours", "", "h", "-1h"):
        with pytest.raises(UsageError, match="not a Prometheus duration"):
            parse_duration(bad)
    with pytest.raises(UsageError, match="shorter than 10m"):
        parse_duration("5m")
    assert redact_url("https://u:p@prom.example:9090/x") == "https://prom.example:9090/x"
    with pytest.raises(UsageError, match="http"):
        PrometheusSource(PrometheusConfig(url="prom:9090"))
    with pytest.raises(UsageError, match="both username and password_file"):
        PrometheusSource(PrometheusConfig(url="http://prom:9090", username="u"))
