"""istio-gateway-traffic: an idle gateway replica that Prometheus scrapes is no unscraped replica (AA1558, fix22a).

Istio's proxy creates its istio_requests_total / istio_tcp_* counters at its first request, so a replica restarted
before the window and idle since is scraped without any such series: main said UNKNOWN AA1558 (INCOMPLETE) although
the evidence exists. Every proxy exports Envoy's `server.*` stats from its start (istio-agent always includes the
`server` prefix: istio/istio@1.24.6 pkg/bootstrap/config.go requiredEnvoyStatsMatcherInclusionPrefixes), served with
Istio's metrics on :15020/stats/prometheus (pilot/cmd/pilot-agent/status/server.go handleStats), so the scrape that
would carry the replica's counters carries `envoy_server_uptime` with the same target labels: `namespace` and `pod`
from the kubernetes-pods job's relabelling (istio/istio@1.24.6 samples/addons/prometheus.yaml), or
`kubernetes_namespace` / `kubernetes_pod_name` in the addon config of 1.7..1.12 (istio/istio@1.10.0
samples/addons/prometheus.yaml). `up` is not that evidence: the agent answers 200 with its own metrics when it cannot
read Envoy's (handleStats logs the error and goes on). The Prometheus is REAL (promtool backfill), queried live and
then from the recording.

Scenarios (r1 idle, its request series and uptime scraped all window; r2 running since long before the window, no
request/TCP series):
- idle: r2's uptime all window: PASS AA1501 (main: UNKNOWN AA1558);
- idle-1.10: the same with the 1.10 addon's kubernetes_namespace / kubernetes_pod_name labels: PASS (main: AA1558);
- tcp: a TCP-only gateway (r1's istio_tcp_* series), r2's uptime all window: PASS (main: AA1558);
- unscraped: r2 has no uptime either: UNKNOWN AA1558 (Prometheus never scrapes it: the false GO AA1558 was made for);
- stopped: r2's uptime ends 20 hours before the end (it still runs): UNKNOWN AA1558;
- late: r2's uptime begins 6 hours before the end: UNKNOWN AA1558;
- up-only: r2's target answers (`up` 1 all window) but no Envoy stats: UNKNOWN AA1558;
- elsewhere: the uptime of a pod of r2's name in another namespace: UNKNOWN AA1558;
- other-cluster: r2's uptime only with cluster="cluster-b": UNKNOWN AA1558 with the cluster label; without it
  (prometheus.cluster_label "": every series counts, one audited cluster) PASS.
A recording made before the uptime was asked (no `proxy_present` answer) keeps AA1558: no evidence, no PASS.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.config import Config
from tests.prometheus_server import WINDOW_S, Series, counter, family, gateway_deployment, gateway_labels
from tests.test_traffic import Live, audit, audit_live, live_prometheus, write
from tests.test_traffic_replicas import GW, LONG_AGO, R1, R2, codes

UPTIME = "envoy_server_uptime"
SCENARIOS = ("idle", "idle-1.10", "tcp", "unscraped", "stopped", "late", "up-only", "elsewhere", "other-cluster")


def target(ns: str, pod: str, cluster: str | None = "cluster-a", old: bool = False) -> dict[str, str]:
    """The labels the kubernetes-pods job gives every series of a gateway pod's scrape (the 1.10 addon's: `old`)."""
    labels = {"job": "kubernetes-pods", "instance": f"10.0.{len(ns)}.{len(pod) % 200}:15020", "app": GW,
              "istio": "ingressgateway"}
    labels.update({"kubernetes_namespace": ns, "kubernetes_pod_name": pod} if old else {"namespace": ns, "pod": pod})
    if cluster is not None:
        labels["cluster"] = cluster
    return labels


def gauge(name: str, labels: dict[str, str], start: float, stop: float, value: float | None = None) -> Series:
    """A gauge sampled every minute (Envoy's uptime grows with the time; `value`: a constant such as up's 1)."""
    return Series(name, labels, [(t, value if value is not None else t - start + 3600)
                                 for t, _ in counter(start, stop)])


def series(now: float) -> list[Series]:
    end = float(now)
    begin = end - WINDOW_S - 2 * 3600

    def requests(ns: str, pod: str, old: bool = False) -> Series:
        labels = gateway_labels(ns, GW, pod, "cluster-a")
        if old:
            del labels["namespace"], labels["pod"]
            labels.update(kubernetes_namespace=ns, kubernetes_pod_name=pod)
        return family("requests", labels, counter(begin, end, initial=500))

    def uptime(ns: str, pod: str, start: float = begin, stop: float = end, **kw: Any) -> Series:
        return gauge(UPTIME, target(ns, pod, **kw), start, stop)

    out = []
    for ns in SCENARIOS:  # r1: idle, scraped all window
        if ns == "tcp":
            tcp = gateway_labels(ns, GW, R1, "cluster-a")
            out += [family(f, tcp, counter(begin, end, initial=70)) for f in ("connections", "bytes_sent",
                                                                               "bytes_received")]
        else:
            out.append(requests(ns, R1, old=ns == "idle-1.10"))
        out.append(uptime(ns, R1, old=ns == "idle-1.10"))
    out += [
        uptime("idle", R2), uptime("idle-1.10", R2, old=True), uptime("tcp", R2),
        uptime("stopped", R2, stop=end - 20 * 3600), uptime("late", R2, start=end - 6 * 3600),
        gauge("up", target("up-only", R2), begin, end, value=1.0),
        uptime("somewhere-else", R2),
        uptime("other-cluster", R2, cluster="cluster-b"),
    ]
    return out


def objects() -> list[dict[str, Any]]:
    return [o for ns in SCENARIOS for o in gateway_deployment(GW, ns, "ingress", pods={R1: LONG_AGO, R2: LONG_AGO})]


EXPECTED = {"idle": ("PASS", "AA1501"), "idle-1.10": ("PASS", "AA1501"), "tcp": ("PASS", "AA1501"),
            "unscraped": ("UNKNOWN", "AA1558"), "stopped": ("UNKNOWN", "AA1558"), "late": ("UNKNOWN", "AA1558"),
            "up-only": ("UNKNOWN", "AA1558"), "elsewhere": ("UNKNOWN", "AA1558"),
            "other-cluster": ("UNKNOWN", "AA1558")}
# main: UNKNOWN AA1558 for every one of them
PROVEN = ("idle", "idle-1.10", "tcp")


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(series, tmp_path_factory)


@pytest.mark.parametrize("cluster_label", ["cluster", ""])
def test_an_idle_replica_whose_proxy_was_scraped_served_nothing(prom: Live, tmp_path: Path,
                                                                 cluster_label: str) -> None:
    live = audit_live(objects(), {"url": prom.url, "cluster_label": cluster_label}, prom.when, tmp_path,
                      tmp_path / "snap.tar.gz")
    expected = EXPECTED if cluster_label else {**EXPECTED, "other-cluster": ("PASS", "AA1501")}
    assert codes(live) == expected
    assert live.verdict.value == "INCOMPLETE"
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(),
                            now=prom.when)
    assert codes(offline) == expected  # the uptime answers are recorded and replayed


def test_only_the_replicas_without_series_are_asked_about(prom: Live, tmp_path: Path) -> None:
    """The uptime query is one more per gateway with a running replica lacking request/TCP series, none otherwise."""
    both = gateway_deployment(GW, "idle", "ingress", pods={R1: LONG_AGO})  # r1 has its series: nothing to ask
    live = audit_live(both, {"url": prom.url, "cluster_label": "cluster"}, prom.when, tmp_path)
    assert codes(live) == {"idle": ("PASS", "AA1501")}
    assert "proxy_present" not in live.inventory.traffic.gateways[0].answers
    assert live.inventory.traffic.stats["queries"] == 14


def test_a_recording_made_before_the_uptime_was_asked_keeps_aa1558(prom: Live, tmp_path: Path) -> None:
    audit_live(objects(), {"url": prom.url, "cluster_label": "cluster"}, prom.when, tmp_path,
               tmp_path / "snap.tar.gz")
    with tarfile.open(tmp_path / "snap.tar.gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    record = manifest["prometheus"]
    asked = [g for g in record["gateways"] if "proxy_present" in g["results"]]
    assert {g["namespace"] for g in asked} == set(SCENARIOS)
    for gateway in asked:  # as the recorder before this change wrote it
        gateway["results"].pop("proxy_present")
        gateway["promql"].pop("proxy_present")
    root = write(tmp_path / "old", {"cluster-a": objects()}, {"collected_at": manifest["collected_at"]})
    (root / "prometheus.json").write_text(json.dumps(record))
    result = audit(root, prom.when)
    assert codes(result) == {ns: ("UNKNOWN", "AA1558") for ns in SCENARIOS}
    assert result.verdict.value == "INCOMPLETE"
