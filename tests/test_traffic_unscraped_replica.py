"""istio-gateway-traffic: a gateway scaled to more replicas than Prometheus scrapes (AA1558, AA1559).

A gateway pod Prometheus never scrapes has no series at all, so neither presence nor a gap tells of it: the zero of
its scraped siblings was PASS AA1501 on main whatever crossed the unscraped replica. The series are what Prometheus'
kubernetes-pods job writes for a gateway pod (`pod` from __meta_kubernetes_pod_name, istio/istio@1.24.6
samples/addons/prometheus.yaml, job kubernetes-pods); a pod is scraped only while its prometheus.io/scrape annotation
and port are what the job keeps (istio/istio@1.24.6 manifests/charts/gateway/values.yaml podAnnotations), so a replica
with other annotations (a hand-scaled copy, a patched template) or a target the job drops has no series. Istio's
labels as tests/prometheus_server.py gateway_labels writes them. The Prometheus is REAL (promtool backfill), queried
live and then from the recording.

Scenarios (pods name -> start time; r1 idle and scraped the whole window):
- unscraped: r2 runs since long before the window, with no series in it: UNKNOWN AA1558 (main: PASS AA1501);
- scaled-up: r3 started 4 hours ago (an HPA's scale-up), no series: an idle new replica has none until its first
  request (Istio creates its counters then), PASS;
- both: r1 and r2 both scraped, idle: PASS;
- evicted: r2 since long before the window but Failed (evicted: status.phase Failed, as the kubelet leaves it), no
  series: it carries no traffic, PASS.

Series without a pod label (a kubernetes_sd pod-role job that keeps only `instance`, `<pod IP>:15020`, and `job`, as
Prometheus' kubernetes_sd writes them without relabelling: the `count by (cluster, pod, ...)` of the presence queries
folds every replica into one): one replica's series stopping while another's go on is invisible.
- nopod: r1 scraped all along, r2 (still running) scraped only until 20 hours before the end: UNKNOWN AA1559 (main:
  PASS AA1501);
- nopod-one: one replica, scraped all along: its presence is the gateway's, PASS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.config import Config
from tests.prometheus_server import WINDOW_S, Series, counter, family, gateway_deployment, gateway_labels
from tests.test_traffic import Live, audit_live, live_prometheus
from tests.test_traffic_replicas import GW, LONG_AGO, R1, R2, R3, codes, stamp


def series(now: float) -> list[Series]:
    end = float(now)
    begin = end - WINDOW_S - 2 * 3600

    def flat(ns: str, pod: str, initial: float = 500) -> Series:
        return family("requests", gateway_labels(ns, GW, pod, "cluster-a"), counter(begin, end, initial=initial))

    return [flat("unscraped", R1), flat("scaled-up", R1), flat("both", R1), flat("both", R2, initial=900),
            flat("evicted", R1),
            bare("nopod", "10.0.0.11:15020", begin, end), bare("nopod", "10.0.0.12:15020", begin, end - 20 * 3600),
            bare("nopod-one", "10.0.0.13:15020", begin, end)]


def bare(ns: str, instance: str, start: float, stop: float) -> Series:
    """A gateway series scraped by a job that writes no pod label: Istio's labels, `instance` and `job` only."""
    labels = gateway_labels(ns, GW, "-", "cluster-a", instance=instance, job="kubernetes-pods")
    del labels["pod"], labels["namespace"]
    return family("requests", labels, counter(start, stop, initial=500))


def pods(now: float) -> dict[str, dict[str, str]]:
    return {
        "unscraped": {R1: LONG_AGO, R2: LONG_AGO},
        "scaled-up": {R1: LONG_AGO, R3: stamp(now - 4 * 3600)},
        "both": {R1: LONG_AGO, R2: LONG_AGO},
        "evicted": {R1: LONG_AGO, R2: LONG_AGO},
        "nopod": {R1: LONG_AGO, R2: LONG_AGO},
        "nopod-one": {R1: LONG_AGO},
    }


def objects(now: float) -> list[dict[str, Any]]:
    out = [o for ns, running in pods(now).items() for o in gateway_deployment(GW, ns, "ingress", pods=running)]
    for o in out:
        if o["kind"] == "Pod" and (o["metadata"]["namespace"], o["metadata"]["name"]) == ("evicted", R2):
            o["status"]["phase"] = "Failed"
    return out


EXPECTED = {"unscraped": ("UNKNOWN", "AA1558"), "scaled-up": ("PASS", "AA1501"), "both": ("PASS", "AA1501"),
            "evicted": ("PASS", "AA1501"), "nopod": ("UNKNOWN", "AA1559"), "nopod-one": ("PASS", "AA1501")}
# main: PASS AA1501 for every one of them (with the cluster label)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(series, tmp_path_factory)


@pytest.mark.parametrize("cluster_label", ["cluster", ""])
def test_a_replica_prometheus_never_scrapes(prom: Live, tmp_path: Path, cluster_label: str) -> None:
    live = audit_live(objects(prom.now), {"url": prom.url, "cluster_label": cluster_label}, prom.when, tmp_path,
                      tmp_path / "snap.tar.gz")
    # Without the cluster label every series counts, and series without a pod label cannot be shown this cluster's
    # (AA1557, as before).
    expected = EXPECTED if cluster_label else {**EXPECTED, "nopod": ("UNKNOWN", "AA1557"),
                                               "nopod-one": ("UNKNOWN", "AA1557")}
    assert codes(live) == expected
    assert live.verdict.value == "INCOMPLETE"  # main: GO
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(),
                            now=prom.when)
    assert codes(offline) == expected
