"""No traffic through Istio's ingress / egress / east-west gateways over a window (Prometheus).

One finding per Istio gateway Deployment per cluster. PASS needs proof: the gateway's series exist
from the start to the end of the window (it was scraped) and none of its counters grew. Traffic
is a FAIL with the numbers; everything else (no Prometheus, errors, no series, partial series,
series of other clusters) is UNKNOWN with the reason. The numbers come from Prometheus' answers
recorded by auditor/sources/prometheus.py, identically live and from a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.config import Config
from auditor.gateways import (
    EASTWEST,
    EGRESS,
    INGRESS,
    LOOKED_FOR,
    ROLE_UNKNOWN,
    GatewayWorkload,
    istio_gateways,
    stray_gateway_findings,
)
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.sources.prometheus import GatewayTraffic, TrafficData, parse_rfc3339, rfc3339, window_steps

TYPE_NAMES = {INGRESS: "ingress", EGRESS: "egress", EASTWEST: "east-west", ROLE_UNKNOWN: "(role unknown)"}
MIN_TOLERANCE_S = 600  # a scrape may lag; presence within 10 minutes of either end of the window counts

REMEDIATION = {
    INGRESS: ("Move the remaining clients to the ASM ingress gateway (shared CLB: set the Istio gateway "
              "Service's weight to 0; or move DNS), then audit again after a full window."),
    EGRESS: ("Route every egress VirtualService 100% to the ASM egress gateway (weight 0 or no route to "
             "istio-egressgateway), then audit again after a full window."),
    EASTWEST: ("Cross-cluster traffic still crosses the Istio east-west gateway: enable ASM's cross-network "
               "gateway, move the remaining workloads to ASM proxies, then audit again after a full window."),
}
NO_PROMETHEUS = ("Pass --prometheus URL (config prometheus.url) of the Prometheus that scrapes the gateways, "
                 "or audit a snapshot recorded with `asm-audit snapshot --prometheus URL`.")
SCRAPE_HINT = ("Make sure Prometheus scrapes the gateway pods (istio_requests_total / istio_tcp_* with "
               "reporter=\"source\"), then audit again after a full window.")


def _count(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.2f}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TiB"


def _sum(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


class IstioGatewayTraffic(ClusterCheck):
    id = "istio-gateway-traffic"
    title = "No traffic through Istio ingress / egress / east-west gateways"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("`istioctl uninstall --purge` deletes Istio's gateways; whatever still flows through them is "
                 "lost. Only Prometheus can prove that nothing flowed over a window: series present for the "
                 "whole window with zero increase. No series is no proof.")
    remediation = "Move the remaining traffic to the ASM gateways, then audit again after a full window."
    outcomes = (
        Outcome("AA1501", Status.PASS,
                "Prometheus proves zero traffic through the Istio gateway over the whole window"),
        Outcome("AA1510", Status.FAIL, "traffic still crosses the Istio gateway in the window"),
        Outcome("AA1530", Status.UNKNOWN,
                "no proof either way: no Prometheus, no series, a partial window, an answer that is not a number"),
        Outcome("AA1531", Status.UNKNOWN, "pods run Istio's proxy as a gateway (`proxy router`) but no gateway "
                "Deployment or DaemonSet explains them: their traffic is not measured"),
        Outcome("AA1540", Status.NOT_APPLICABLE, "no Istio gateway in the cluster (what was looked for is named)"),
    )
    needs = (K.DEPLOYMENT,)
    uses = (K.POD, K.REPLICASET)   # to explain missing series by gateway pods started inside the window
    needs_traffic = True

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        config: Config = ctx.config
        gateways = istio_gateways(cluster, ctx.inv.rules, config.gateways)
        stray = stray_gateway_findings(self, cluster, ctx.inv.rules, config.gateways, "AA1531",
                                       "their traffic is not measured")
        yield from stray
        if not gateways and not stray:
            yield self.not_applicable(cluster.name, f"no Istio gateway in this cluster (looked for {LOOKED_FOR}); "
                                      "ASM gateways are not counted")
            return
        traffic: TrafficData | None = ctx.inv.traffic if isinstance(ctx.inv.traffic, TrafficData) else None
        several = len(ctx.inv.data_planes) > 1
        for gw in gateways:
            yield self._judge(cluster, gw, traffic, several)

    # ------------------------------------------------------------ one gateway
    def _judge(self, cluster: ClusterInventory, gw: GatewayWorkload, traffic: TrafficData | None,
               several: bool) -> Finding:
        kind = {"kind": gw.kind, "namespace": gw.namespace, "name": gw.name}
        what = f"Istio {TYPE_NAMES.get(gw.type, gw.type)} gateway"
        if traffic is None:
            return self.unknown(cluster.name, f"{what}: no Prometheus configured, so no proof of zero traffic",
                                remediation=NO_PROMETHEUS, evidence=_evidence(gw, None, None), **kind)
        window = traffic.window
        measured = traffic.find(cluster.name, gw.namespace, gw.name)
        as_of = f"(window {window} up to {rfc3339(traffic.query_time)})"
        if measured is None:
            return self.unknown(cluster.name, f"{what}: not in the recorded Prometheus data {as_of}",
                                remediation=NO_PROMETHEUS, evidence=_evidence(gw, traffic, None), **kind)
        evidence = _evidence(gw, traffic, measured)
        if measured.error:
            return self.unknown(cluster.name, f"{what}: Prometheus could not answer: {measured.error}",
                                remediation="Fix the Prometheus connection (URL, credentials, CA, timeout) "
                                            "and audit again.", evidence=evidence, **kind)
        problem = measured.answer_problem()
        if problem:
            return self.unknown(cluster.name, f"{what}: Prometheus' answer is not evidence: {problem} {as_of}",
                                remediation=SCRAPE_HINT, evidence=evidence, **kind)
        label = traffic.cluster_label
        scope = measured.scope
        if scope == "none":
            return self.unknown(cluster.name, f"{what}: no request or TCP series in Prometheus {as_of}; "
                                "absent series prove nothing (not scraped, renamed, or no traffic since the "
                                f"pods started){_restarts(cluster, gw, traffic)}",
                                remediation=SCRAPE_HINT, evidence=evidence, **kind)
        if scope == "mismatch":
            seen = ", ".join(f"{label}={v!r}" for v in measured.clusters_seen)
            return self.unknown(cluster.name, f"{what}: series exist only for {seen}, none for "
                                f"{label}={measured.cluster_wanted or cluster.name!r} {as_of}",
                                remediation=f"Map the cluster to its label value with prometheus.cluster_label_values"
                                            f" (e.g. {{{cluster.name}: <value>}}) or set prometheus.cluster_label.",
                                evidence=evidence, **kind)
        shared = ""
        if scope in ("unlabelled", "all") and several:
            shared = (f"; the series carry no {label or 'cluster'!r} label, so these numbers cover every "
                      f"audited cluster's {gw.namespace}/{gw.name}")

        tolerance = max(MIN_TOLERANCE_S, 2 * window_steps(traffic.window_seconds)[0])
        start, end = traffic.window_start, traffic.query_time
        first, last = measured.series_from, measured.series_until
        from_start = first is not None and first <= start + tolerance
        to_end = last is not None and last >= end - tolerance

        increases = {f: measured.increase(f) for f in ("requests", "connections", "bytes_sent", "bytes_received")}
        born = {f: measured.new_series(f) for f in increases}
        grew = any((v or 0) > 0 for v in increases.values())
        born_traffic = any((v or 0) > 0 for v in born.values())
        if grew or (born_traffic and from_start):
            # New series count when Prometheus was already scraping the gateway at the window's start:
            # Istio creates a counter at its first request, so its first value is traffic in the window.
            counted = born if from_start else dict.fromkeys(born, 0.0)
            numbers = _numbers(increases, counted)
            evidence.update(numbers)
            seen = rfc3339(measured.last_seen)
            extra = ""
            if born_traffic and not from_start:
                extra = (f" (plus {_count(_sum(*born.values()))} counted by series first seen inside the window, "
                         "not included: Prometheus has no data for the gateway at the window's start)")
            amounts = [text for value, text in (
                (numbers["requests"], f"{_count(numbers['requests'])} requests"),
                (numbers["connections"], f"{_count(numbers['connections'])} TCP connections"),
                (numbers["bytes"], f"{_bytes(numbers['bytes'])} TCP bytes")) if value is not None]
            return self.fail(cluster.name,
                             f"{what}: traffic in the last {window} up to {rfc3339(end)}: {', '.join(amounts)}; "
                             f"last seen {seen or 'when its series first appeared'}{extra}{shared}",
                             remediation=REMEDIATION.get(gw.type, self.remediation), evidence=evidence, **kind)
        if born_traffic:
            return self.unknown(cluster.name,
                                f"{what}: series first seen at {rfc3339(first)}, inside the window, already "
                                f"counting {_count(_sum(*born.values()))}: either traffic after a restart or "
                                f"Prometheus began scraping then {as_of}",
                                remediation=SCRAPE_HINT, evidence=evidence, **kind)
        if not (from_start and to_end):
            gap = []
            if not from_start:
                gap.append(f"begin only at {rfc3339(first)}")
            if not to_end:
                gap.append(f"end at {rfc3339(last)}")
            return self.unknown(cluster.name,
                                f"{what}: zero increase, but the series {' and '.join(gap)}: the window "
                                f"{rfc3339(start)}..{rfc3339(end)} is not fully covered"
                                f"{_restarts(cluster, gw, traffic)}",
                                remediation=SCRAPE_HINT, evidence=evidence, **kind)
        if shared:
            return self.unknown(cluster.name,
                                f"{what}: zero increase {as_of}{shared}; that does not prove this cluster's "
                                "gateway was scraped",
                                remediation=(f"Give the series a {label!r} label (external_labels or relabelling) "
                                             "or query one Prometheus per cluster."),
                                evidence=evidence, **kind)
        families = [f for f, v in increases.items() if v is not None]
        if not families:
            # Series exist, yet no counter's increase() gave a number: nothing shows a real 0.
            return self.unknown(cluster.name, f"{what}: series present, but no request or TCP counter gave an "
                                f"increase over the window (empty answers) {as_of}; an empty answer is not zero",
                                remediation=SCRAPE_HINT, evidence=evidence, **kind)
        evidence.update(_numbers(increases, born))
        return self.passed(cluster.name,
                           f"{what}: no traffic in the last {window} up to {rfc3339(end)}: series present from "
                           f"{rfc3339(first)} to {rfc3339(last)} with zero increase ({', '.join(families)})",
                           evidence=evidence, **kind)


def _numbers(increases: dict[str, float | None], born: dict[str, float | None]) -> dict[str, float | None]:
    total = {f: _sum(increases[f], born.get(f)) for f in increases}
    return {"requests": _round(total["requests"]), "connections": _round(total["connections"]),
            "bytes": _round(_sum(total["bytes_sent"], total["bytes_received"]))}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _evidence(gw: GatewayWorkload, traffic: TrafficData | None, measured: GatewayTraffic | None) -> dict[str, Any]:
    """Exactly the keys the report charts: numbers stay None until a check proves them."""
    return {
        "gateway_type": gw.type, "requests": None, "connections": None, "bytes": None,
        "last_seen": rfc3339(measured.last_seen) if measured else None,
        "window": traffic.window if traffic else None,
        "promql": dict(measured.promql) if measured else {},
        "series": measured.points("series") if measured else [],
        "tcp_series": measured.points("tcp_series") if measured else [],
    }


def _restarts(cluster: ClusterInventory, gw: GatewayWorkload, traffic: TrafficData) -> str:
    """Gateway pods started inside the window explain missing series: Istio creates counters on first use."""
    if not cluster.available(K.POD):
        return ""
    pods = cluster.pods()
    mine = pods[(pods["namespace"] == gw.namespace) & (pods["workload_name"] == gw.name)]
    started = []
    for value in mine["started"]:
        try:
            if value and parse_rfc3339(str(value)) > traffic.window_start:
                started.append(str(value))
        except ValueError:
            continue
    if not started:
        return ""
    return (f"; {len(started)} gateway pod(s) started inside the window (latest {max(started)}): an idle "
            "restarted gateway has no series until its first request")
