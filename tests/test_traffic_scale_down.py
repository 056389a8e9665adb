"""istio-gateway-traffic: a gateway replica gone inside the window without a replacement is no gap (review19b).

increase() counts a pod's traffic up to its last scrape; what it cannot see is what crossed the pod afterwards, which
matters only where the pod lived on unscraped. A scale-down (by hand, or the HorizontalPodAutoscaler the gateway charts
enable: istio/istio@1.24.6 manifests/charts/gateway/values.yaml autoscaling) and two rollouts in one window (the first
replacement gone too) leave series that end with their pods: AA1556 made each such audit INCOMPLETE (UNKNOWN, a false
NO-GO on a healthy gateway). A pod still running unscraped, or one replaced long after its last scrape, stays UNKNOWN
AA1556 (tests/test_traffic_replicas.py). Series as Istio's gateway proxies export them and Prometheus' kubernetes-pods
job labels them (tests/prometheus_server.py, samples/addons/prometheus.yaml @1.24.6), backfilled by promtool into a real
Prometheus; pods as the fake API server serves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.prometheus_server import WINDOW_S, counter, family, gateway_deployment, gateway_labels
from tests.test_traffic import audit_live, live_prometheus
from tests.test_traffic_replicas import GW, LONG_AGO, R1, R2, R3, RS, codes, stamp

R4 = f"{RS}-zz9kk"


def series(now: int) -> list[Any]:
    end = float(now)
    begin, cut, cut2 = end - WINDOW_S - 2 * 3600, end - 20 * 3600, end - 10 * 3600

    def flat(ns: str, pod: str, start: float, stop: float, initial: float = 500.0) -> Any:
        return family("requests", gateway_labels(ns, GW, pod, "cluster-a"), counter(start, stop, initial=initial))

    return [
        # 2 -> 1 replicas 20h ago: r2 deleted, none in its place.
        flat("scaledown", R1, begin, end), flat("scaledown", R2, begin, cut, initial=900),
        # r2 replaced by r3 20h ago, r3 by r4 10h ago (r4 idle: no series until its first request).
        flat("tworoll", R1, begin, end), flat("tworoll", R2, begin, cut, initial=900),
        flat("tworoll", R3, cut, cut2, initial=0),
        # The same on a one-replica gateway.
        flat("tworoll1", R2, begin, cut, initial=900), flat("tworoll1", R3, cut, cut2, initial=0),
        flat("tworoll1", R4, cut2, end, initial=0),
    ]


def running(now: int) -> dict[str, dict[str, str]]:
    return {"scaledown": {R1: LONG_AGO}, "tworoll": {R1: LONG_AGO, R4: stamp(now - 10 * 3600 - 60)},
            "tworoll1": {R4: stamp(now - 10 * 3600 - 60)}}


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from live_prometheus(series, tmp_path_factory)


def test_a_scale_down_and_two_rollouts_are_no_gap(prom: Any, tmp_path: Path) -> None:
    objects = [o for ns, pods in running(prom.now).items() for o in gateway_deployment(GW, ns, "ingress", pods=pods)]
    live = audit_live(objects, {"url": prom.url, "cluster_label": "cluster"}, prom.when, tmp_path)
    assert codes(live) == {ns: ("PASS", "AA1501") for ns in ("scaledown", "tworoll", "tworoll1")}
