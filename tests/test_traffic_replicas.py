"""istio-gateway-traffic: whose pods the series were scraped from, one replica at a time (AA1555, AA1556, AA1557).

The series are what Prometheus' kubernetes-pods job writes for a gateway pod: the gateway's pods carry
prometheus.io/scrape "true", port 15020, path /stats/prometheus (istio/istio@1.24.6
manifests/charts/gateway/values.yaml podAnnotations; manifests/charts/gateways/istio-ingress/templates/deployment.yaml
alike), and the job's relabelling adds `namespace` from __meta_kubernetes_namespace and `pod` from
__meta_kubernetes_pod_name (istio/istio@1.24.6 samples/addons/prometheus.yaml, job kubernetes-pods), so each series
names the pod it came from (`<ReplicaSet>-<5 characters>`). Istio's own labels (reporter, source_workload, ...) as
tests/prometheus_server.py gateway_labels writes them. The Prometheus is REAL (promtool backfill), queried live and
then from the recording.

1. Another cluster's Prometheus (the wrong URL), its series without a cluster label: the same-named gateway there is
   idle, so main said PASS AA1501 for this cluster's gateway whatever crossed it. Its series were scraped from pods that
   do not run in this cluster: UNKNOWN AA1557. The series of this cluster's own pod still prove the zero.
2. Multi-replica gateways, the presence of all replicas together continuous because one idle replica kept being
   scraped (main: PASS AA1501 for each):
   - a replica not scraped from 20h before the end and replaced hours later (its replacement idle: no series, as Istio
     creates a counter at its first request): what crossed it after its last scrape is lost: UNKNOWN AA1556;
   - a replica not scraped from 20h before the end and still running: UNKNOWN AA1556;
   - a replica not scraped for 18 hours whose proxy restarted meanwhile (its counter from 0 again): AA1555, as the
     whole gateway's gap is;
   - a replica replaced in a rollout (its replacement started as its series end): its series ending is explained, PASS.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.config import Config
from tests.prometheus_server import (
    WINDOW_S,
    Series,
    counter,
    family,
    gateway_deployment,
    gateway_labels,
)
from tests.test_traffic import Live, audit_live, live_prometheus, rows

GW = "istio-ingressgateway"
RS = gateway_deployment(GW, "x", "ingress")[1]["metadata"]["name"]  # <name>-<pod-template-hash>, as pods are named
R1, R2, R3 = f"{RS}-7hx2q", f"{RS}-m4zkp", f"{RS}-c9wtd"  # this cluster's replicas
OTHER = f"{RS}-q8r5n"  # the same-named gateway's pod in another cluster (same template, same hash, another suffix)
LONG_AGO = "2026-11-10T08:00:00Z"


def stamp(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def series(now: float) -> list[Series]:
    end = float(now)
    begin = end - WINDOW_S - 2 * 3600
    cut, back = end - 20 * 3600, end - 2 * 3600

    def flat(ns: str, pod: str, start: float, stop: float, initial: float = 500, cluster: str | None = "cluster-a"):
        return family("requests", gateway_labels(ns, GW, pod, cluster), counter(start, stop, initial=initial))

    return [
        # 1. series without a cluster label: another cluster's idle gateway (foreign), this cluster's own (own)
        flat("foreign", OTHER, begin, end, cluster=None),
        flat("own", R1, begin, end, cluster=None),
        # 2. r1 idle and scraped all along; r2 scraped until `cut`
        flat("replaced", R1, begin, end), flat("replaced", R2, begin, cut, initial=900),
        flat("unscraped", R1, begin, end), flat("unscraped", R2, begin, cut, initial=900),
        flat("restarted", R1, begin, end),
        family("requests", gateway_labels("restarted", GW, R2, "cluster-a"),
               counter(begin, cut, initial=900) + counter(back, end)),
        flat("rollout", R1, begin, end), flat("rollout", R2, begin, cut, initial=900),
    ]


def pods(now: float) -> dict[str, dict[str, str]]:
    """The gateway pods running in the audited cluster, name -> start time, per scenario."""
    return {
        "foreign": {R1: LONG_AGO},
        "own": {R1: LONG_AGO},
        "replaced": {R1: LONG_AGO, R3: stamp(now - 4 * 3600)},        # r2 replaced 16h after its last scrape
        "unscraped": {R1: LONG_AGO, R2: LONG_AGO},                    # r2 runs, not scraped for 20h
        "restarted": {R1: LONG_AGO, R2: LONG_AGO},
        "rollout": {R1: LONG_AGO, R3: stamp(now - 20 * 3600 - 120)},  # r3 started 2 minutes before r2 went
    }


EXPECTED = {"foreign": ("UNKNOWN", "AA1557"), "own": ("PASS", "AA1501"), "replaced": ("UNKNOWN", "AA1556"),
            "unscraped": ("UNKNOWN", "AA1556"), "restarted": ("UNKNOWN", "AA1555"), "rollout": ("PASS", "AA1501")}
# main: PASS AA1501 for every one of them


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(series, tmp_path_factory)


def codes(result: Any) -> dict[str, tuple[str, str]]:
    return {ns: (r["status"], r["code"]) for (_, ns), r in rows(result).items()}


@pytest.mark.parametrize("cluster_label", ["cluster", ""])
def test_whose_pods_the_series_came_from(prom: Live, tmp_path: Path, cluster_label: str) -> None:
    objects = [o for ns, running in pods(prom.now).items() for o in gateway_deployment(GW, ns, "ingress", pods=running)]
    live = audit_live(objects, {"url": prom.url, "cluster_label": cluster_label}, prom.when, tmp_path,
                      tmp_path / "snap.tar.gz")
    expected = EXPECTED  # with the cluster label unset ("": every series counts), the same
    assert codes(live) == expected
    assert live.verdict.value == "INCOMPLETE"  # main: no finding of this check keeps it from GO
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(),
                            now=prom.when)
    assert codes(offline) == expected  # the recording keeps the pods of the series

