"""istio-gateway-traffic through the real engine, against a REAL Prometheus (backfilled with promtool).

Scenarios (tests/prometheus_server.SCENARIOS) are told apart by namespace; each test audits a snapshot
holding the gateway Deployments of the scenarios it needs. Also: no Prometheus, Prometheus down,
snapshot-recorded traffic giving the same finding offline as live, the CLI, and the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from auditor import api
from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import AuditResult
from auditor.findings import records
from auditor.sources.prometheus import RECORD_FORMAT
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.prometheus_server import (
    PrometheusServer,
    closed_port_url,
    gateway_deployment,
    record_demo,
    scenario_gateways,
    scenario_series,
)

CHECK = "istio-gateway-traffic"
EVIDENCE_KEYS = {"gateway_type", "requests", "connections", "bytes", "last_seen", "window", "promql", "series",
                 "tcp_series"}


class Live:
    def __init__(self, server: PrometheusServer, now: int) -> None:
        self.server, self.now, self.url = server, now, server.url

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, dt.UTC)


def live_prometheus(series: Any, tmp_path_factory: pytest.TempPathFactory, name: str = "prom") -> Iterator[Live]:
    """A real Prometheus backfilled with `series(now)` (now: this minute), for a module's fixture to yield."""
    now = int(time.time()) // 60 * 60
    with PrometheusServer(series(now), tmp_path_factory.mktemp(name)) as server:
        yield Live(server, now)


def audit_live(objects: list[dict], prometheus: dict[str, Any], now: dt.datetime, tmp: Path,
               snapshot_out: Path | None = None) -> AuditResult:
    """The uninstall gate audited live: `objects` served as cluster-a by a fake API server, the config's `prometheus`
    block as given (its window 24h unless it says), optionally recorded into `snapshot_out`."""
    with FakeApiServer() as server:
        server.set_version("v1.30.4-aliyun.1")
        server.load(objects)
        kubeconfig = server.write_kubeconfig(tmp / "kubeconfig", context="cluster-a")
        config = Config.model_validate({"prometheus": {"window": "24h", **prometheus}})
        return api.run_audit(api.Target(kubeconfig=str(kubeconfig)), "uninstall", config, now=now,
                             snapshot_out=snapshot_out)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(scenario_series, tmp_path_factory)


def write(root: Path, clusters: dict[str, list[dict]], manifest_extra: dict | None = None) -> Path:
    manifest: dict[str, Any] = {"clusters": [{"name": c, "role": "data-plane", "dir": c, "complete": True}
                                             for c in clusters], **(manifest_extra or {})}
    return f.write_snapshot(root, clusters, versions={c: f.version_info() for c in clusters}, manifest=manifest)


def audit(root: Path, now: dt.datetime, prometheus: dict | None = None) -> AuditResult:
    config = Config.model_validate({"prometheus": prometheus} if prometheus else {})
    return api.run_audit(sources=open_snapshot(root), phase="uninstall", config=config, now=now)


def rows(result: AuditResult) -> dict[tuple[str, str], dict[str, Any]]:
    """Findings of this check keyed by (cluster, namespace)."""
    out = {}
    for r in records(result.findings):
        if r["check_id"] == CHECK:
            assert (r["cluster"], r["namespace"]) not in out, r
            out[(r["cluster"], r["namespace"])] = r
    return out


# ---------------------------------------------------------------- one cluster, every scenario
EXPECTED = {
    "busy": "FAIL", "before": "PASS", "drained": "PASS", "absent": "UNKNOWN", "reset": "FAIL",
    "eastwest": "FAIL", "longlived": "FAIL", "born": "FAIL", "late": "UNKNOWN", "stopped": "UNKNOWN",
    "elsewhere": "UNKNOWN", "nolabel": "PASS", "nolabel-busy": "FAIL", "multi": "FAIL", "trickle": "FAIL",
    "one": "FAIL", "born-one": "FAIL",
}
# Each scenario's declared outcome: traffic AA1510, proof of zero AA1501, and every UNKNOWN its own reason.
EXPECTED_CODES = {
    "busy": "AA1510", "before": "AA1501", "drained": "AA1501", "absent": "AA1535", "reset": "AA1510",
    "eastwest": "AA1510", "longlived": "AA1510", "born": "AA1510", "late": "AA1537", "stopped": "AA1538",
    "elsewhere": "AA1536", "nolabel": "AA1501", "nolabel-busy": "AA1510", "multi": "AA1510", "trickle": "AA1510",
    "one": "AA1510", "born-one": "AA1510",
}


@pytest.fixture(scope="module")
def single(prom: Live, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    root = write(tmp_path_factory.mktemp("single") / "snap", {"cluster-a": scenario_gateways()})
    result = audit(root, prom.when, {"url": prom.url})
    assert result.verdict.value == "NO-GO"
    return rows(result)


def test_every_scenario_gets_its_status(single: dict) -> None:
    got = {ns: row["status"] for (_, ns), row in single.items()}
    assert got == EXPECTED
    assert {ns: row["code"] for (_, ns), row in single.items()} == EXPECTED_CODES
    for row in single.values():
        assert set(row["evidence"]) == EVIDENCE_KEYS, row["namespace"]
        assert row["kind"] == "Deployment" and row["severity"] == "blocker" and row["gate"] == "uninstall"


def test_fail_carries_the_numbers(single: dict, prom: Live) -> None:
    busy = single[("cluster-a", "busy")]
    assert busy["code"] == "AA1510" and "864,000 requests" in busy["message"]  # the numbers, formatted
    ev = busy["evidence"]
    assert ev["requests"] == pytest.approx(864_000, rel=0.002) and ev["connections"] is None and ev["bytes"] is None
    assert ev["window"] == "24h" and ev["gateway_type"] == "ingress"
    assert dt.datetime.fromisoformat(ev["last_seen"].replace("Z", "+00:00")).timestamp() >= prom.now - 300
    assert len(ev["series"]) == 24 and ev["series"][0][1] == pytest.approx(10.0, rel=0.01)
    assert ev["promql"]["requests"].startswith("sum(increase(istio_requests_total{")
    trickle = single[("cluster-a", "trickle")]
    assert "864 requests" in trickle["message"] and trickle["evidence"]["gateway_type"] == "egress"
    assert "egress VirtualService" in trickle["remediation"]


def test_counter_reset_is_traffic(single: dict) -> None:
    row = single[("cluster-a", "reset")]
    assert row["evidence"]["requests"] == pytest.approx(200, abs=3)  # last == first value, yet 200 requests


def test_tcp_traffic_through_eastwest(single: dict) -> None:
    east = single[("cluster-a", "eastwest")]
    assert "43,200 TCP connections" in east["message"] and "requests" not in east["message"]
    assert east["evidence"]["bytes"] == pytest.approx(35_000 * 86_400, rel=0.002)
    assert len(east["evidence"]["tcp_series"]) == 24 and east["evidence"]["series"] == []
    assert "east-west" in east["remediation"]
    long = single[("cluster-a", "longlived")]
    assert long["evidence"]["connections"] == 0 and long["evidence"]["bytes"] > 0  # bytes on an old connection


def test_new_series_in_the_window_count(single: dict) -> None:
    born = single[("cluster-a", "born")]
    assert born["evidence"]["requests"] == 7 and "7 requests" in born["message"]


def test_a_single_request_is_traffic(single: dict) -> None:
    """The smallest traffic there is: one request (a threshold of "more than one" would call it idle)."""
    born = single[("cluster-a", "born-one")]
    assert born["status"] == "FAIL" and born["evidence"]["requests"] == 1 and "1 requests" in born["message"]
    one = single[("cluster-a", "one")]
    # increase() extrapolates to the window's edges: 1 request reads as 1.0 to 1.001.
    assert one["status"] == "FAIL" and one["evidence"]["requests"] == pytest.approx(1, abs=0.002), one["evidence"]


def test_pass_needs_series_over_the_whole_window(single: dict, prom: Live) -> None:
    drained = single[("cluster-a", "drained")]
    assert drained["code"] == "AA1501"
    assert drained["evidence"]["requests"] == 0 and drained["evidence"]["connections"] == 0
    assert drained["evidence"]["bytes"] == 0 and drained["evidence"]["last_seen"] is None
    before = single[("cluster-a", "before")]
    assert before["evidence"]["requests"] == 0 and all(v == 0 for _, v in before["evidence"]["series"])
    late = single[("cluster-a", "late")]
    assert late["code"] == "AA1537" and late["evidence"]["requests"] is None
    stopped = single[("cluster-a", "stopped")]
    # The last sample is 3h before the end; presence lasts Prometheus' 5m lookback after it (backfilled data
    # has no staleness markers, which a live target that disappears gets at once).
    ends = [dt.datetime.fromtimestamp(prom.now - 3 * 3600 + m * 60, dt.UTC).strftime("%Y-%m-%dT%H:%M")
            for m in range(6)]
    assert stopped["code"] == "AA1538" and any(e in stopped["message"] for e in ends)


def test_no_series_is_never_pass(single: dict) -> None:
    absent = single[("cluster-a", "absent")]
    assert (absent["status"], absent["code"]) == ("UNKNOWN", "AA1535")
    assert set(absent["evidence"]["promql"]) == {"series_from", "series_until"}
    elsewhere = single[("cluster-a", "elsewhere")]
    assert elsewhere["code"] == "AA1536" and "cluster='prod-hz'" in elsewhere["message"]
    assert "cluster_label_values (cluster-a: <value>)" in elsewhere["remediation"]


# ---------------------------------------------------------------- cluster labels
def test_two_clusters_told_apart_by_label(prom: Live, tmp_path: Path) -> None:
    namespaces = ["multi", "nolabel", "nolabel-busy"]
    root = write(tmp_path / "snap", {c: scenario_gateways(namespaces) for c in ("cluster-a", "cluster-b")})
    got = rows(audit(root, prom.when, {"url": prom.url}))
    assert got[("cluster-a", "multi")]["status"] == "FAIL"
    assert got[("cluster-b", "multi")]["status"] == "PASS"
    for cluster in ("cluster-a", "cluster-b"):
        shared = got[(cluster, "nolabel")]
        assert (shared["status"], shared["code"]) == ("UNKNOWN", "AA1539")
        busy = got[(cluster, "nolabel-busy")]
        assert (busy["status"], busy["code"]) == ("FAIL", "AA1511")


def test_label_value_mapping(prom: Live, tmp_path: Path) -> None:
    root = write(tmp_path / "snap", {"cluster-a": scenario_gateways(["elsewhere"])})
    got = rows(audit(root, prom.when, {"url": prom.url, "cluster_label_values": {"cluster-a": "prod-hz"}}))
    assert got[("cluster-a", "elsewhere")]["status"] == "PASS"
    assert 'cluster="prod-hz"' in got[("cluster-a", "elsewhere")]["evidence"]["promql"]["requests"]


# ---------------------------------------------------------------- inventory side
def test_asm_gateways_are_not_judged_and_restarts_explain_absence(prom: Live, tmp_path: Path) -> None:
    asm_gw = gateway_deployment("istio-asm-ingressgateway", "busy", "ingress", asm=True)
    absent_dep, absent_rs = gateway_deployment("istio-ingressgateway", "absent", "ingress")
    recent = dt.datetime.fromtimestamp(prom.now - 2 * 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods = f.workload_pods((absent_dep, absent_rs), 2, proxy="istio", gateway=True, created=recent)
    root = write(tmp_path / "snap", {"cluster-a": [*scenario_gateways(["busy"]), *asm_gw, absent_dep, absent_rs,
                                                   *pods]})
    got = rows(audit(root, prom.when, {"url": prom.url}))
    assert set(got) == {("cluster-a", "busy"), ("cluster-a", "absent")}
    assert got[("cluster-a", "busy")]["name"] == "istio-ingressgateway"
    absent = got[("cluster-a", "absent")]
    assert absent["code"] == "AA1535" and absent["remediation"].startswith("2 gateway pod(s) started inside the window")


def test_restarts_read_only_the_gateway_pods_start_times(prom: Live, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Explaining missing series reads the start times of the gateway's pods, not a copy of their ~30 columns."""
    from checks import traffic

    taken: list[tuple[int, int]] = []
    take = pd.DataFrame.take
    restarts = traffic._restarts
    explaining = [False]

    def counted_take(self: pd.DataFrame, indices: Any, axis: Any = 0, **kwargs: Any) -> pd.DataFrame:
        out = take(self, indices, axis=axis, **kwargs)
        if explaining[0]:
            taken.append(out.shape)
        return out

    def counted_restarts(*args: Any) -> str:
        explaining[0] = True
        try:
            return restarts(*args)
        finally:
            explaining[0] = False

    monkeypatch.setattr(pd.DataFrame, "take", counted_take)
    monkeypatch.setattr(traffic, "_restarts", counted_restarts)
    absent_dep, absent_rs = gateway_deployment("istio-ingressgateway", "absent", "ingress")
    recent = dt.datetime.fromtimestamp(prom.now - 2 * 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pods = f.workload_pods((absent_dep, absent_rs), 2, proxy="istio", gateway=True, created=recent)
    web = f.deployment("web")  # a workload of its own: the gateway's pods are not all the frame's
    root = write(tmp_path / "snap", {"cluster-a": [*scenario_gateways(["busy"]), absent_dep, absent_rs, *pods, *web,
                                                   *f.workload_pods(web, 1)]})
    absent = rows(audit(root, prom.when, {"url": prom.url}))[("cluster-a", "absent")]
    assert absent["code"] == "AA1535" and absent["remediation"].startswith("2 gateway pod(s) started inside the window")
    assert taken == []  # before: [(2, 29)], the gateway's two pods with every column of the frame


def test_no_gateway_is_not_applicable(tmp_path: Path) -> None:
    root = write(tmp_path / "snap", {"cluster-a": list(f.deployment("cart"))})
    got = rows(audit(root, dt.datetime.now(dt.UTC)))
    assert [(r["status"], r["code"]) for r in got.values()] == [("NOT_APPLICABLE", "AA1540")]


def test_no_prometheus_is_unknown(tmp_path: Path) -> None:
    root = write(tmp_path / "snap", {"cluster-a": scenario_gateways(["drained"])})
    result = audit(root, dt.datetime.now(dt.UTC))
    row = rows(result)[("cluster-a", "drained")]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1530")
    assert "--prometheus" in row["remediation"] and row["evidence"]["requests"] is None
    assert result.verdict.value != "GO"


def test_prometheus_down_is_unknown(prom: Live, tmp_path: Path) -> None:
    root = write(tmp_path / "snap", {"cluster-a": scenario_gateways(["drained", "busy"])})
    got = rows(audit(root, prom.when, {"url": closed_port_url(), "timeout": 2}))
    assert {(r["status"], r["code"]) for r in got.values()} == {("UNKNOWN", "AA1533")}
    assert all("Connection refused" in r["message"] for r in got.values())  # Prometheus' own reason, quoted


# ---------------------------------------------------------------- snapshots: the same finding offline
def comparable(row: dict[str, Any]) -> tuple:
    return (row["status"], row["message"], row["remediation"], json.dumps(row["evidence"], sort_keys=True))


def test_recorded_traffic_gives_the_same_finding_offline(prom: Live, tmp_path: Path) -> None:
    namespaces = ["busy", "drained", "absent", "eastwest", "stopped"]
    tarball = tmp_path / "snap.tar.gz"
    live = audit_live(scenario_gateways(namespaces), {"url": prom.url}, prom.when, tmp_path, tarball)
    offline = api.run_audit(api.Target(snapshot=str(tarball)), "uninstall", Config(), now=prom.when)
    live_rows, offline_rows = rows(live), rows(offline)
    assert {k: r["status"] for k, r in live_rows.items()} == {("cluster-a", ns): EXPECTED[ns] for ns in namespaces}
    assert {k: comparable(r) for k, r in offline_rows.items()} == {k: comparable(r) for k, r in live_rows.items()}
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    record = manifest["prometheus"]
    assert record["format"] == RECORD_FORMAT and record["window"] == "24h"
    assert record["query_time"] == prom.when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(set(g["promql"]) <= set(g["results"]) for g in record["gateways"])
    assert any("recorded Prometheus answers" in n for n in offline.notes)
    # Offline, the recording's window stands; asking for another one says so instead of pretending.
    other = api.run_audit(api.Target(snapshot=str(tarball)), "uninstall",
                          Config.model_validate({"prometheus": {"window": "6h"}}), now=prom.when)
    assert {k: comparable(r) for k, r in rows(other).items()} == {k: comparable(r) for k, r in live_rows.items()}
    assert any("traffic window 6h not applied" in n for n in other.notes)


def test_cli_snapshot_then_offline_run(prom: Live, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    namespaces = ["busy", "drained", "absent"]
    with FakeApiServer() as server:
        server.set_version("v1.30.4-aliyun.1")
        server.load(scenario_gateways(namespaces))
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context="cluster-a")
        tarball = tmp_path / "snap.tar.gz"
        code = main(["snapshot", "--out", str(tarball), "--kubeconfig", str(kubeconfig), "--prometheus", prom.url,
                     "--traffic-window", "24h", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert "gateway traffic recorded for 3 gateway(s)" in capsys.readouterr().err
    code = main(["run", "--snapshot", str(tarball), "--phase", "uninstall", "--format", "json", "--out", "-",
                 "--quiet"])
    doc = json.loads(capsys.readouterr().out)
    got = {x["namespace"]: x["status"] for x in doc["findings"] if x["check_id"] == CHECK}
    assert got == {ns: EXPECTED[ns] for ns in namespaces} and code == doc["exit_code"] == 1


def test_bad_inputs_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write(tmp_path / "snap", {"cluster-a": scenario_gateways(["busy"])})
    assert main(["run", "--snapshot", str(root), "--traffic-window", "24hours", "--quiet", "--out", "-",
                 "--format", "json"]) == 2
    assert "not a Prometheus duration" in capsys.readouterr().err
    assert main(["run", "--snapshot", str(root), "--prometheus", "http://127.0.0.1:9",
                 "--prometheus-bearer-token-file", str(tmp_path / "nope"), "--quiet", "--out", "-",
                 "--format", "json"]) == 2
    assert "bearer token file" in capsys.readouterr().err
    (root / "prometheus.json").write_text("{not json")
    assert main(["run", "--snapshot", str(root), "--quiet", "--out", "-", "--format", "json"]) == 2
    assert "prometheus.json: malformed JSON" in capsys.readouterr().err


# ---------------------------------------------------------------- recorded answers of rarer shapes
RECORDED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def recorded_gateway(namespace: str, **answers: str) -> dict[str, Any]:
    """One gateway's recorded answers (no cluster label): instant values by query name, the rest empty."""
    at = RECORDED_AT.timestamp()
    names = ["series_from", "series_until", "last_seen", "series", "tcp_series"] + [
        f"{family}{suffix}" for family in ("requests", "connections", "bytes_sent", "bytes_received")
        for suffix in ("", "_new_series")]
    results = {name: [{"metric": {}, "value": [at, answers[name]]}] if name in answers else [] for name in names}
    return {"cluster": "cluster-a", "namespace": namespace, "name": "istio-ingressgateway",
            "gateway_type": "ingress", "cluster_label": "", "cluster_wanted": None, "cluster_value": None,
            "error": None, "promql": {}, "results": results}


def test_recorded_answers_give_outcomes_of_their_own(tmp_path: Path) -> None:
    start, end = RECORDED_AT.timestamp() - 86_400, RECORDED_AT.timestamp()
    gateways = {ns: gateway_deployment("istio-ingressgateway", ns, "ingress")
                for ns in ("late-busy", "empty", "unrecorded")}
    root = write(tmp_path / "snap", {"cluster-a": [o for objs in gateways.values() for o in objs]})
    (root / "prometheus.json").write_text(json.dumps({
        "format": RECORD_FORMAT, "format_version": 1, "url": "http://prometheus.monitoring:9090", "window": "24h",
        "window_seconds": 86_400, "query_time": RECORDED_AT.strftime("%Y-%m-%dT%H:%M:%SZ"), "cluster_label": "",
        "gateways": [
            # scraped only from an hour before the end, yet counting: traffic, plus what new series saw
            recorded_gateway("late-busy", series_from=str(end - 3600), series_until=str(end), requests="5",
                             requests_new_series="7"),
            # series over the whole window, but every increase() answer empty: not a zero
            recorded_gateway("empty", series_from=str(start), series_until=str(end)),
        ]}))
    got = rows(audit(root, RECORDED_AT))
    assert {ns: (r["status"], r["code"]) for (_, ns), r in got.items()} == {
        "late-busy": ("FAIL", "AA1512"), "empty": ("UNKNOWN", "AA1534"), "unrecorded": ("UNKNOWN", "AA1532")}
    assert got[("cluster-a", "late-busy")]["evidence"]["requests"] == 5  # the new series' 7 are not counted


# ---------------------------------------------------------------- the demo
def test_demo_shows_the_three_gateways() -> None:
    result = api.run_audit(sources=open_snapshot(api.demo_snapshot_path()), phase="uninstall")
    got = {(r["cluster"], r["name"]): r["status"] for r in records(result.findings) if r["check_id"] == CHECK}
    assert got == {
        ("cluster-a", "istio-ingressgateway"): "PASS", ("cluster-a", "istio-egressgateway"): "FAIL",
        ("cluster-a", "istio-eastwestgateway"): "FAIL",
        ("cluster-b", "istio-ingressgateway"): "PASS", ("cluster-b", "istio-eastwestgateway"): "FAIL",
    }


def test_demo_recording_is_what_a_real_prometheus_answers(tmp_path: Path) -> None:
    committed = json.loads((api.demo_snapshot_path() / "prometheus.json").read_text())
    fresh = record_demo(tmp_path)
    fresh.pop("stats")
    assert fresh == committed  # regenerate with: python -m tests.prometheus_server
