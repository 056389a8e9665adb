"""istio-gateway-traffic: a partial answer (Prometheus API `warnings`) is no proof of zero traffic (AA1560, fix22a).

A Thanos querier (partial response on by default), or Cortex / Mimir, answers 200 with the series it could get and
puts the stores that did not answer in the response's top-level `warnings` (the Prometheus API's Response: status,
data, warnings, as cortexproject/cortex pkg/api/query/response.go spells it; Thanos' store proxy turns a store's error
into a warning "receive series from <store>: ...", thanos-io/thanos pkg/store). prometheus_api_client returns
data.result only, so main never saw them: a store's missing series (one replica's, a Prometheus shard's, the window's
start) looked like no traffic, PASS AA1501. Now the warnings are kept with the answers, recorded in the snapshot, and a
zero with warnings is UNKNOWN AA1560; traffic seen in a partial answer stays FAIL.

The Prometheus is REAL (promtool backfill of tests/prometheus_server.scenario_series); FaultProxy in front of it adds
the `warnings` a Thanos querier sends. Audited live, then from the recording.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import api
from auditor.config import Config
from tests.prometheus_server import FaultProxy, scenario_gateways, scenario_series
from tests.test_traffic import Live, audit_live, live_prometheus
from tests.test_traffic_window_time import codes

NAMESPACES = ["drained", "busy"]  # drained: zero over the whole window (PASS); busy: 10 requests/s (FAIL)
WARNING = ('receive series from Addr: 10.0.3.7:10901 LabelSets: {cluster="cluster-a", '
           'prometheus_replica="prometheus-k8s-1"} Mint: 1700000000000 Maxt: 9223372036854775807: '
           'rpc error: code = Unavailable desc = connection refused')


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(scenario_series, tmp_path_factory)


@pytest.mark.parametrize("warnings, expected", [
    (None, {"drained": ("PASS", "AA1501"), "busy": ("FAIL", "AA1510")}),
    ([WARNING], {"drained": ("UNKNOWN", "AA1560"), "busy": ("FAIL", "AA1510")}),  # main: drained PASS AA1501
])
def test_a_zero_in_a_partial_answer_is_no_proof(prom: Live, tmp_path: Path, warnings: list[str] | None,
                                                expected: dict[str, tuple[str, str]]) -> None:
    with FaultProxy(prom.url, warnings=warnings) as proxy:
        live = audit_live(scenario_gateways(NAMESPACES), {"url": proxy.url}, prom.when, tmp_path,
                          tmp_path / "snap.tar.gz")
    assert codes(live) == expected
    assert live.verdict.value == "NO-GO"
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(),
                            now=prom.when)
    assert codes(offline) == expected  # the warnings are recorded with the answers


def test_a_partial_range_answer_is_no_proof_either(prom: Live, tmp_path: Path) -> None:
    """Only the range queries (the hourly series the gaps are read from) answered partially: their warnings were not
    kept (review22a), and the zero was PASS AA1501."""
    with FaultProxy(prom.url, warnings=[WARNING], warnings_on="/api/v1/query_range") as proxy:
        live = audit_live(scenario_gateways(NAMESPACES), {"url": proxy.url}, prom.when, tmp_path,
                          tmp_path / "snap.tar.gz")
    assert codes(live) == {"drained": ("UNKNOWN", "AA1560"), "busy": ("FAIL", "AA1510")}
