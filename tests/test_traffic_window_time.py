"""istio-gateway-traffic: a recorded zero is evidence of the window it measured, not of the cluster now (AA1554).

`asm-audit snapshot --prometheus URL` queries Prometheus after collecting the objects (auditor/api.py run_audit: the
live provider's query time is taken at measure time, the manifest's collected_at at the start of the run), so the
recording's `query_time` is at or after the snapshot's `collected_at`. A top-level prometheus.json wins over the
manifest's recording (auditor/sources/snapshot.py _recorded_prometheus): one copied from an earlier run into a fresh
snapshot (taken without --prometheus, "the traffic check will be UNKNOWN offline") made main say PASS AA1501 (the
uninstall gate's proof of no traffic) on a zero counted three weeks before; AA0012 judges collected_at only. Now the
zero is UNKNOWN AA1554 when the window ends before the snapshot was collected, ends after the audit's clock, or (a
snapshot that does not say when it was collected) ends longer than snapshot.max_age before the audit. Traffic in an
old recording stays FAIL.

Also (below): series missing for hours inside the window (AA1555), and a window asked by a host whose clock is behind
Prometheus' (AA1554, live and recorded).

The recordings are what a REAL Prometheus answered (tests/prometheus_server.py: promtool-backfilled scenarios), written
by the real snapshot writer.
"""

from __future__ import annotations

import datetime as dt
import json
import tarfile
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
    scenario_gateways,
    scenario_series,
)
from tests.test_traffic import Live, audit, audit_live, live_prometheus, rows, write

NAMESPACES = ["drained", "busy"]  # drained: zero over the whole window (PASS); busy: 10 requests/s (FAIL)
WEEKS = dt.timedelta(weeks=3)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(scenario_series, tmp_path_factory)


def stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def recording(prom: Live, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The manifest's `prometheus` of a snapshot `asm-audit snapshot --prometheus` wrote at prom.when."""
    tmp = tmp_path_factory.mktemp("recording")
    audit_live(scenario_gateways(NAMESPACES), {"url": prom.url}, prom.when, tmp, tmp / "snap.tar.gz")
    with tarfile.open(tmp / "snap.tar.gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["collected_at"] == manifest["prometheus"]["query_time"] == stamp(prom.when)
    return manifest["prometheus"]


def snapshot_with(root: Path, record: dict[str, Any], collected_at: str | None) -> Path:
    manifest = {"collected_at": collected_at} if collected_at else {}
    root = write(root, {"cluster-a": scenario_gateways(NAMESPACES)}, manifest)
    (root / "prometheus.json").write_text(json.dumps(record))  # wins over the manifest's recording
    return root


def codes(result: Any) -> dict[str, tuple[str, str]]:
    return {ns: (r["status"], r["code"]) for (_, ns), r in rows(result).items()}


def test_the_recording_of_the_same_run_still_proves_the_zero(prom: Live, recording: dict, tmp_path: Path) -> None:
    result = audit(snapshot_with(tmp_path / "snap", recording, stamp(prom.when)), prom.when + dt.timedelta(hours=2))
    assert codes(result) == {"drained": ("PASS", "AA1501"), "busy": ("FAIL", "AA1510")}


def test_an_old_recording_in_a_fresh_snapshot_is_no_proof(prom: Live, recording: dict, tmp_path: Path) -> None:
    collected = prom.when + WEEKS  # a snapshot of today, the traffic of three weeks ago
    result = audit(snapshot_with(tmp_path / "snap", recording, stamp(collected)), collected + dt.timedelta(hours=1))
    assert codes(result) == {"drained": ("UNKNOWN", "AA1554"), "busy": ("FAIL", "AA1510")}  # main: PASS AA1501
    assert result.verdict.value == "NO-GO"


def test_a_recording_a_few_minutes_from_collected_at_stands(prom: Live, recording: dict, tmp_path: Path) -> None:
    # collected_at is taken when the run starts, the query after the objects are read (a large fleet: long after);
    # a recording ending a few minutes before collected_at is within a scrape's lag.
    for minutes in (-90, 5):
        collected = prom.when + dt.timedelta(minutes=minutes)
        result = audit(snapshot_with(tmp_path / f"snap{minutes}", recording, stamp(collected)),
                       prom.when + dt.timedelta(hours=1))
        assert codes(result)["drained"] == ("PASS", "AA1501"), minutes


@pytest.mark.parametrize("max_age, audited_after, code", [
    (None, dt.timedelta(hours=2), "AA1501"),   # default max_age 24h
    (None, WEEKS, "AA1554"),                   # main: PASS
    ("30d", WEEKS, "AA1501"),                  # the operator's setting
])
def test_a_snapshot_without_collected_at_holds_the_window_to_max_age(prom: Live, recording: dict, tmp_path: Path,
                                                                     max_age: str | None, audited_after: dt.timedelta,
                                                                     code: str) -> None:
    root = snapshot_with(tmp_path / "snap", recording, None)
    config = Config.model_validate({"snapshot": {"max_age": max_age}} if max_age else {})
    result = api.run_audit(sources=api.open_snapshot(root), phase="uninstall", config=config,
                           now=prom.when + audited_after)
    assert codes(result)["drained"][1] == code and codes(result)["busy"] == ("FAIL", "AA1510")


def test_a_window_that_ends_after_the_audits_clock_is_no_proof(prom: Live, recording: dict, tmp_path: Path) -> None:
    result = audit(snapshot_with(tmp_path / "snap", recording, None), prom.when - dt.timedelta(hours=2))
    assert codes(result)["drained"] == ("UNKNOWN", "AA1554")  # main: PASS AA1501


# ---------------------------------------------------------------- a gap inside the window (AA1555)
# Presence at both ends of the window said PASS whatever lay between. Prometheus not scraping the gateway for hours (its
# target down, Prometheus itself down) while the gateway's proxy restarts (its counters start over at 0) or its pod is
# replaced (a new pod's series, born at 0) loses every request of that time: increase() sees only samples, and treats
# the drop after the gap as a reset from 0. main: PASS AA1501 for both.
GW = "istio-ingressgateway"


def gap_series(now: float) -> list[Series]:
    end = float(now)
    begin = end - WINDOW_S - 2 * 3600
    down, back = end - 20 * 3600, end - 2 * 3600  # not scraped for 18 hours

    def labels(ns: str, pod: str) -> dict[str, str]:
        return gateway_labels(ns, GW, f"{GW}-{pod}")

    return [
        # replaced: pod gw-a scraped until `down`; its replacement gw-b scraped from `back`, at 0 (idle since)
        family("requests", labels("gap-replaced", "gw-a"), counter(begin, down, initial=500)),
        family("requests", labels("gap-replaced", "gw-b"), counter(back, end, initial=0)),
        # restarted: the same series, 500 before the gap, 0 after it (the proxy restarted inside the gap)
        family("requests", labels("gap-restarted", "gw-a"), counter(begin, down, initial=500) + counter(back, end)),
        # counted: the same proxy, not restarted: what crossed it in the gap shows in its counter after (FAIL)
        family("requests", labels("gap-counted", "gw-a"), counter(begin, down, initial=500)
               + counter(back, end, initial=800)),
        # recent: idle for a day, busy for the last hour (1 request/s)
        family("requests", labels("recent", "gw-a"), counter(begin, end, rate=lambda t: 1.0 if t > end - 3600 else 0.0,
                                                             initial=500)),
        # blip: Prometheus restarted, no sample for 8 minutes, idle gateway: within a scrape's tolerance (PASS)
        family("requests", labels("gap-blip", "gw-a"), counter(begin, end - 6 * 3600, initial=500)
               + counter(end - 6 * 3600 + 8 * 60, end, initial=500)),
    ]


GAP_CODES = {"gap-replaced": ("UNKNOWN", "AA1555"), "gap-restarted": ("UNKNOWN", "AA1555"),
             "gap-counted": ("FAIL", "AA1510"), "gap-blip": ("PASS", "AA1501"), "recent": ("FAIL", "AA1510")}


@pytest.fixture(scope="module")
def gap_prom(tmp_path_factory: pytest.TempPathFactory):
    yield from live_prometheus(gap_series, tmp_path_factory, "gap-prom")


def test_a_scrape_gap_inside_the_window_is_no_proof(gap_prom: Live, tmp_path: Path) -> None:
    objects = [o for ns in GAP_CODES for o in gateway_deployment(GW, ns, "ingress")]
    live = audit_live(objects, {"url": gap_prom.url}, gap_prom.when, tmp_path, tmp_path / "snap.tar.gz")
    assert codes(live) == GAP_CODES  # main: PASS AA1501 for gap-replaced and gap-restarted
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(),
                            now=gap_prom.when)
    assert codes(offline) == GAP_CODES  # the recording carries the count of minutes present


def test_a_recording_made_before_the_coverage_was_asked_is_judged_as_before(recording: dict, prom: Live,
                                                                              tmp_path: Path) -> None:
    older = json.loads(json.dumps(recording))
    for gateway in older["gateways"]:
        gateway["results"].pop("series_present", None)
        gateway["promql"].pop("series_present", None)
    result = audit(snapshot_with(tmp_path / "snap", older, stamp(prom.when)), prom.when + dt.timedelta(hours=1))
    assert codes(result) == {"drained": ("PASS", "AA1501"), "busy": ("FAIL", "AA1510")}


# ---------------------------------------------------------------- the asking host's clock behind Prometheus' (AA1554)
# The window ends at this host's clock: 90 minutes behind, it ends 90 minutes before Prometheus' now and leaves out
# what came since (main: PASS AA1501 for `recent`, busy for the last hour). Prometheus' clock is the
# Date header of its first answer (RFC 9110 section 6.6.1: an origin server with a clock sends Date; Prometheus' Go
# net/http server does), recorded in the snapshot with the query time.
def test_a_window_asked_by_a_host_whose_clock_is_behind_is_no_proof(gap_prom: Live, tmp_path: Path) -> None:
    behind = gap_prom.when - dt.timedelta(minutes=90)  # this host's clock, as the audit reads it
    objects = gateway_deployment(GW, "recent", "ingress") + gateway_deployment(GW, "gap-blip", "ingress")
    live = audit_live(objects, {"url": gap_prom.url}, behind, tmp_path, tmp_path / "snap.tar.gz")
    assert codes(live)["recent"] == ("UNKNOWN", "AA1554")  # main: PASS AA1501
    assert live.inventory.traffic.prometheus_clock >= gap_prom.now
    offline = api.run_audit(api.Target(snapshot=str(tmp_path / "snap.tar.gz")), "uninstall", Config(), now=behind)
    assert codes(offline)["recent"] == ("UNKNOWN", "AA1554")
