"""No traffic through Istio's ingress / egress / east-west gateways over a window (Prometheus).

One finding per Istio gateway Deployment per cluster. PASS needs proof: the gateway's series exist
from the start to the end of the window (it was scraped) and none of its counters grew. Traffic
is a FAIL with the numbers; everything else (no Prometheus, errors, no series, partial series,
series of other clusters) is UNKNOWN with the reason. The numbers come from Prometheus' answers
recorded by auditor/sources/prometheus.py, identically live and from a snapshot.

A zero proves nothing of metrics the gateway's proxy does not report as the queries read them: before a PASS,
auditor/telemetry.py replays istiod's Telemetry rules for the gateway (Telemetry objects, the mesh config's
providers, EnvoyFilters on the stats filter); a metric switched off or relabelled there, or Telemetry or EnvoyFilters
unread, is UNKNOWN instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.config import Config
from auditor.errors import EvidenceUnavailable
from auditor.evidence import FUTURE_TOLERANCE_S, span
from auditor.gateways import (
    EASTWEST,
    EGRESS,
    INGRESS,
    LOOKED_FOR,
    ROLE_UNKNOWN,
    SCAN_KINDS,
    SCAN_UNREAD,
    SCAN_UNREAD_FIX,
    STRAY_GATEWAY,
    STRAY_GATEWAY_FIX,
    GatewayWorkload,
    gateway_pod_starts,
    istio_gateways,
    scan_unread_findings,
    stray_gateway_findings,
)
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.sources.prometheus import (
    FAMILIES,
    POD_LABELS,
    GatewayTraffic,
    TrafficData,
    duration_seconds,
    parse_rfc3339,
    rfc3339,
    window_steps,
)
from auditor.telemetry import RELIED_TAGS, Gap, gateway_metrics_gaps, telemetry_command

# Phrases: a message says the role in the reader's language (findings.json keeps the English word).
TYPE_NAMES = {INGRESS: Phrase(N_("ingress")), EGRESS: Phrase(N_("egress")), EASTWEST: Phrase(N_("east-west")),
              ROLE_UNKNOWN: Phrase(N_("(role unknown)"))}
MIN_TOLERANCE_S = 600  # a scrape may lag; presence within 10 minutes of either end of the window counts

# Prose (N_: in the catalog, so a report says it in its language; findings.json keeps the English).
REMEDIATION = {
    INGRESS: N_("Move the remaining clients to the ASM ingress gateway (shared CLB: set the Istio gateway "
                "Service's weight to 0; or move DNS), then audit again after a full window."),
    EGRESS: N_("Route every egress VirtualService 100% to the ASM egress gateway (weight 0 or no route to "
               "istio-egressgateway), then audit again after a full window."),
    EASTWEST: N_("Cross-cluster traffic still crosses the Istio east-west gateway: enable ASM's cross-network "
                 "gateway, move the remaining workloads to ASM proxies, then audit again after a full window."),
}
NO_PROMETHEUS_FIX = ("Pass --prometheus URL (config prometheus.url) of the Prometheus that scrapes the gateways, "
                 "or audit a snapshot recorded with `asm-audit snapshot --prometheus URL`.")
SCRAPE_HINT = ("Make sure Prometheus scrapes the gateway pods (istio_requests_total / istio_tcp_* with "
               "reporter=\"source\"), then audit again after a full window.")
PROMETHEUS_ERROR_FIX = "Fix the Prometheus connection (URL, credentials, CA, timeout) and audit again."
CLUSTER_LABEL_FIX = ("Map the cluster to its label value with prometheus.cluster_label_values ({cluster}: <value>) "
                     "or set prometheus.cluster_label.")
# The commands showing the objects are a field of the fix (not English put before it), so a report in another language
# says the whole remediation in that language.
# The command ends the text: a full stop after it would be copied into its last argument (`-o yaml.`).
METRICS_HIDDEN_FIX = ("Make the gateway's proxy report REQUEST_COUNT and the TCP metrics to Prometheus (mode CLIENT) "
                      "with their reporter, source_workload and source_workload_namespace labels: remove the override "
                      "or patch (or give it mode SERVER, or a selector that leaves the gateway out), then audit again "
                      "after a full window. See the object: {commands}")
PARTIAL_ANSWER_FIX = ("Make every store behind the query endpoint answer (the warning names the one that did not: a "
                      "Thanos sidecar or store gateway, a Cortex or Mimir ingester), or point --prometheus at the "
                      "Prometheus that scrapes the gateways, then audit again: `asm-audit run --phase uninstall "
                      "--prometheus URL`")
# A Prometheus whose series carry no pod label stays so audit after audit (AA1559): say why, and the way out.
POD_LABEL_FIX = ("The series carry no pod label: a Prometheus that federates Istio's workload-level recording rules "
                 "(sum without the instance and pod labels, as istio.io's production-scale monitoring advises) or a "
                 "scrape job that writes no pod label cannot tell the replicas apart, and stays so. Point --prometheus "
                 "(prometheus.url) at the Prometheus that scrapes the gateway pods themselves (the cluster's own, "
                 "holding the raw istio_requests_total with its pod label), or give the scrape job the pod label "
                 "(relabel __meta_kubernetes_pod_name to pod), then audit again: `asm-audit run --phase uninstall "
                 "--prometheus URL`")
TELEMETRY_UNREAD_FIX = ("Let the auditor list telemetries.telemetry.istio.io and envoyfilters.networking.istio.io "
                        "(`asm-audit rbac` prints the ClusterRole), or take a snapshot that holds them, and audit "
                        "again.")
CLUSTER_LABEL_MISSING_FIX = ("Give the series the cluster label prometheus.cluster_label names (external_labels or "
                             "relabelling) or query one Prometheus per cluster.")
WINDOW_NOT_NOW_FIX = ("Set this host's clock right (NTP), record the gateway traffic again with the snapshot "
                      "(`asm-audit snapshot --prometheus URL`) or audit with --prometheus URL, and audit again.")
# Why a recorded window is not of now (AA1554).
RECORDED_BEFORE = N_("the recorded window ends {gap} before the snapshot was collected ({collected_at})")
RECORDED_LONG_AGO = N_("the recorded window ends {age} before this audit (snapshot.max_age {max_age}) and the snapshot "
                       "does not say when it was collected")
RECORDED_AFTER = N_("the recorded window ends {age} after this audit's clock")
BEHIND_PROMETHEUS = N_("the window ends {gap} before Prometheus' own clock said it was ({clock}): the clock of the "
                       "host that asked is behind, and what crossed the gateway since is not in the window")
# Parts of the message templates below (one gateway's finding).
GATEWAY = "Istio {gateway_type} gateway: "
AS_OF = "(window {window} up to {query_time})"
TRAFFIC_SEEN = "traffic in the last {window} up to {end}: {amounts}; last seen {last_seen}"


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
    PASS = Outcome("AA1501", Status.PASS,
                   "Prometheus proves zero traffic through the Istio gateway over the whole window",
                   message=GATEWAY + "no traffic in the last {window} up to {end}: series present from {first} to "
                           "{last} with zero increase ({families})")
    TRAFFIC = Outcome("AA1510", Status.FAIL, "traffic still crosses the Istio gateway in the window",
                      message=GATEWAY + TRAFFIC_SEEN)
    TRAFFIC_ALL_CLUSTERS = Outcome(
        "AA1511", Status.FAIL, "traffic crosses an Istio gateway of this name in the window; the series carry no "
        "cluster label, so the numbers may come from another audited cluster's gateway of the same name",
        fix=CLUSTER_LABEL_MISSING_FIX,
        message=GATEWAY + TRAFFIC_SEEN + "; the series carry no {label!r} label, so these numbers cover every audited "
                "cluster's {namespace}/{name}")
    TRAFFIC_NEW_SERIES_UNCOUNTED = Outcome(
        "AA1512", Status.FAIL, "traffic still crosses the Istio gateway in the window; more was counted by series "
        "first seen inside the window, which are left out because Prometheus has no data at the window's start",
        message=GATEWAY + TRAFFIC_SEEN + " (plus {uncounted} counted by series first seen inside the window, not "
                "included: Prometheus has no data for the gateway at the window's start)")
    NO_PROMETHEUS = Outcome("AA1530", Status.UNKNOWN, "no Prometheus configured (and none recorded in the "
                            "snapshot): no proof of zero traffic", fix=NO_PROMETHEUS_FIX,
                            message=GATEWAY + "no Prometheus configured, so no proof of zero traffic")
    STRAY = Outcome("AA1531", Status.UNKNOWN, "pods run Istio's proxy as a gateway (`proxy router`) but no gateway "
                    "Deployment or DaemonSet explains them: their traffic is not measured", fix=STRAY_GATEWAY_FIX,
                    message=STRAY_GATEWAY + "their traffic is not measured")
    NOT_RECORDED = Outcome("AA1532", Status.UNKNOWN, "the recorded Prometheus data (snapshot) holds nothing for "
                           "this gateway", fix=NO_PROMETHEUS_FIX,
                           message=GATEWAY + "not in the recorded Prometheus data " + AS_OF)
    PROMETHEUS_ERROR = Outcome("AA1533", Status.UNKNOWN, "Prometheus could not answer (unreachable, refused, "
                               "HTTP or query error)", fix=PROMETHEUS_ERROR_FIX,
                               message=GATEWAY + "Prometheus could not answer: {error}")
    ANSWER_NOT_EVIDENCE = Outcome("AA1534", Status.UNKNOWN, "Prometheus answered, but not with finite numbers "
                                  "(NaN, Inf, text, a negative increase, the wrong result type, or empty answers "
                                  "where a counter's increase was asked): an answer that is not a number is not zero",
                                  fix=SCRAPE_HINT,
                                  message=GATEWAY + "Prometheus' answer is not evidence: {problem} " + AS_OF)
    NO_SERIES = Outcome("AA1535", Status.UNKNOWN, "Prometheus has no request or TCP series of the gateway: absent "
                        "series prove nothing (not scraped, renamed, or idle since its pods started)",
                        fix=SCRAPE_HINT,
                        message=GATEWAY + "no request or TCP series in Prometheus " + AS_OF + "; absent series prove "
                                "nothing (not scraped, renamed, or no traffic since the pods started)")
    OTHER_CLUSTER_LABEL = Outcome(
        "AA1536", Status.UNKNOWN, "the gateway's series carry other clusters' label values only: the cluster is not "
        "mapped to its label value", fix=CLUSTER_LABEL_FIX,
        message=GATEWAY + "series exist only for {seen}, none for {label}={wanted!r} " + AS_OF)
    NEW_SERIES_ONLY = Outcome(
        "AA1537", Status.UNKNOWN, "the gateway's series first appear inside the window already counting: traffic "
        "after a restart, or Prometheus began scraping then", fix=SCRAPE_HINT,
        message=GATEWAY + "series first seen at {first}, inside the window, already counting {counted}: either traffic "
                "after a restart or Prometheus began scraping then " + AS_OF)
    PARTIAL_WINDOW = Outcome(
        "AA1538", Status.UNKNOWN, "zero increase, but the gateway's series do not cover the whole window",
        fix=SCRAPE_HINT,
        message=GATEWAY + "zero increase, but the series cover only {first}..{last}: the window {start}..{end} is not "
                "fully covered")
    ZERO_ALL_CLUSTERS = Outcome(
        "AA1539", Status.UNKNOWN, "zero increase, but the series carry no cluster label: they do not prove that "
        "this cluster's gateway was scraped", fix=CLUSTER_LABEL_MISSING_FIX,
        message=GATEWAY + "zero increase " + AS_OF + "; the series carry no {label!r} label, so these numbers cover "
                "every audited cluster's {namespace}/{name}; that does not prove this cluster's gateway was scraped")
    NO_GATEWAY = Outcome("AA1540", Status.NOT_APPLICABLE,
                         "no Istio gateway in the cluster (what was looked for is named)",
                         message=f"no Istio gateway in this cluster (looked for {LOOKED_FOR}); ASM gateways are not "
                                 "counted")
    # AA1530-AA1539 are taken: the next UNKNOWN code of the range.
    GATEWAYS_UNSEEN = Outcome("AA1550", Status.UNKNOWN, "the DaemonSets could not be read: an Istio gateway deployed "
                              "as a DaemonSet may have been missed, and its traffic with it", fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "an Istio gateway deployed as a DaemonSet may have been missed, so "
                                                    "it cannot tell that no traffic crosses any Istio gateway")
    # Pods tell of the gateways no Deployment or DaemonSet explains (STRAY): unread, one of them may be missed.
    STRAYS_UNSEEN = Outcome("AA1551", Status.UNKNOWN, "the pods could not be read: an Istio gateway whose pods no "
                            "Deployment or DaemonSet explains (a bare pod, another controller) may have been missed, "
                            "and its traffic with it", fix=SCAN_UNREAD_FIX,
                            message=SCAN_UNREAD + "an Istio gateway whose pods no Deployment or DaemonSet explains may "
                                                  "have been missed, so it cannot tell that no traffic crosses any "
                                                  "Istio gateway")
    # Zero increase is a proof only of what the gateway's proxy reports: the Telemetry API, the mesh config and
    # EnvoyFilters can switch off or relabel some of the metrics for the gateway while the others flow
    # (auditor/telemetry.py).
    METRICS_HIDDEN = Outcome(
        "AA1552", Status.UNKNOWN, "zero increase, but the mesh's telemetry configuration (a Telemetry object, an "
        "EnvoyFilter on the stats filter, or the mesh config) switches off or relabels, for this gateway, metrics the "
        "traffic queries read: their traffic is not counted",
        fix=METRICS_HIDDEN_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but {hidden}: the traffic of {metrics} is not counted, so the "
                "zero does not show that the gateway is idle")
    TELEMETRY_UNREAD = Outcome(
        "AA1553", Status.UNKNOWN, "zero increase, but the Telemetry objects or the EnvoyFilters could not be read: one "
        "of them may switch off or relabel the gateway's metrics", fix=TELEMETRY_UNREAD_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but {reason}: a Telemetry object or an EnvoyFilter may switch "
                "off or relabel the gateway's metrics, so the zero does not show that the gateway is idle")
    # A recording is evidence of the window it measured: a zero counted up to long before the snapshot was collected
    # (a prometheus.json of an earlier run put into a fresh snapshot), up to long before the audit (a snapshot that
    # does not say when it was collected), or up to after the audit's clock, is no proof that the gateway is idle now;
    # nor, live or recorded, a window asked by a host whose clock is behind Prometheus'.
    WINDOW_NOT_NOW = Outcome(
        "AA1554", Status.UNKNOWN, "zero increase, but the window does not end now: before Prometheus' own clock, "
        "before the snapshot was collected (or, for a snapshot that does not say when, longer than snapshot.max_age "
        "before the audit), or after the audit's clock: the zero is not evidence of the gateway now",
        fix=WINDOW_NOT_NOW_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but {reason}: the zero does not show that the gateway is idle "
                "now")
    # Presence from the start to the end of the window says nothing of the hours between: a gateway Prometheus did not
    # scrape for a while (its target or Prometheus down) takes the traffic of a proxy restarted or replaced then with it
    # (the counter started over, or a new pod's series began at zero): increase() never sees it.
    SERIES_GAP = Outcome(
        "AA1555", Status.UNKNOWN, "zero increase, but the gateway's series are missing for a while inside the window: "
        "Prometheus did not scrape the gateway then, and the traffic of a proxy restarted or replaced meanwhile is not "
        "counted", fix=SCRAPE_HINT,
        message=GATEWAY + "zero increase, but between {first} and {last} the series are missing for {missing} (window "
                "{window} up to {query_time}): what crossed a proxy restarted or replaced then is not counted")
    # The series of a gateway are grouped by the pod they were scraped from (the pod label of Prometheus'
    # kubernetes_sd relabelling): presence of the whole is not presence of each replica. One replica's series ending
    # inside the window while the others go on is a replica Prometheus stopped scraping (it still runs) or one deleted;
    # a deletion is explained only by a replacement started then (a rollout), else the traffic it carried until it
    # went is not counted.
    REPLICA_UNSCRAPED = Outcome(
        "AA1556", Status.UNKNOWN, "zero increase, but the series of one of the gateway's pods end inside the window "
        "while the others go on, and no gateway pod started then replaced it (or the pod still runs): what crossed "
        "that pod after its last scrape is not counted", fix=SCRAPE_HINT,
        message=GATEWAY + "zero increase " + AS_OF + ", but the series of pod(s) {pods} end inside the window (last "
                "scraped {last}) while the others go on, and {why}: what crossed them after is not counted")
    # Series without a cluster label are any Prometheus' series of a gateway of that namespace and name: those of
    # another cluster's Prometheus (the wrong URL, or a snapshot's recording of another cluster) prove nothing of this
    # cluster's gateway. The pods they were scraped from at the window's end must be this cluster's gateway pods.
    FOREIGN_PODS = Outcome(
        "AA1557", Status.UNKNOWN, "zero increase, but the series carry no cluster label and the pods they were scraped "
        "from at the window's end are not this cluster's gateway pods: they may be another cluster's Prometheus' "
        "series of a gateway of the same name", fix=CLUSTER_LABEL_MISSING_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but the series carry no {label!r} label and were scraped at "
                "the window's end from {pods}, {why}: they do not prove this cluster's gateway was idle")
    # A replica Prometheus never scrapes has no series at all: no presence ends, no gap shows, and its siblings' zero
    # says nothing of it. A pod that ran through the whole window with none while a sibling's were scraped is that
    # (behind one Service the siblings share the traffic); an idle replica started inside the window (an HPA's) has no
    # series until its first request, as Istio creates its counters then, and proves nothing either way.
    # An idle replica has no request/TCP series either (Istio creates the counters at the first request): one whose
    # proxy's uptime gauge (PROXY_UPTIME, the same scrape) covers the window was scraped and served nothing.
    REPLICA_NEVER_SCRAPED = Outcome(
        "AA1558", Status.UNKNOWN, "zero increase, but a gateway pod running since before the window has no series in "
        "it, nor its proxy's envoy_server_uptime for the whole window, while another pod's were scraped: Prometheus "
        "does not scrape it, and what crossed it is not counted",
        fix=SCRAPE_HINT,
        message=GATEWAY + "zero increase " + AS_OF + ", but pod(s) {pods}, running since before the window, have no "
                "series in it, nor envoy_server_uptime for the whole window, while {scraped} were scraped: what "
                "crossed them is not counted")
    # Series without a pod label (a scrape job that writes none, or a Prometheus that federates Istio's workload-level
    # recording rules, which sum the pod away: istio.io docs/ops/best-practices/observability, "Using Prometheus for
    # production-scale monitoring") fold every replica into one presence: one replica's series stopping, or never
    # there, while another's go on shows no gap. With one replica running that is the gateway's presence; with
    # several, nothing proves each was scraped. Permanent for such a Prometheus: the way out is the one that scrapes
    # the pods.
    REPLICAS_UNTOLD = Outcome(
        "AA1559", Status.UNKNOWN, "zero increase, but the series carry no pod label and the gateway runs several pods: "
        "nothing shows that each of them was scraped for the whole window", fix=POD_LABEL_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but the series carry no pod label ({labels}) and the gateway "
                "runs {count} pods ({pods}): nothing shows that each was scraped for the whole window")
    # A querier in front of several stores (Thanos' partial response, on by default) answers 200 with the series it
    # could get and a warning naming the stores that did not answer: a store's missing series (another replica's, the
    # window's start) then look like no traffic. Traffic seen in such an answer is still traffic.
    PARTIAL_ANSWER = Outcome(
        "AA1560", Status.UNKNOWN, "zero increase, but Prometheus answered with warnings (a query endpoint such as "
        "Thanos' returns a partial answer when one of its stores does not answer): series missing from a partial "
        "answer prove nothing", fix=PARTIAL_ANSWER_FIX,
        message=GATEWAY + "zero increase " + AS_OF + ", but Prometheus warned about its answer to {query}: {warning}; "
                "series missing from a partial answer prove nothing")
    outcomes = (PASS, TRAFFIC, TRAFFIC_ALL_CLUSTERS, TRAFFIC_NEW_SERIES_UNCOUNTED, NO_PROMETHEUS, STRAY, NOT_RECORDED,
                PROMETHEUS_ERROR, ANSWER_NOT_EVIDENCE, NO_SERIES, OTHER_CLUSTER_LABEL, NEW_SERIES_ONLY, PARTIAL_WINDOW,
                ZERO_ALL_CLUSTERS, GATEWAYS_UNSEEN, STRAYS_UNSEEN, METRICS_HIDDEN, TELEMETRY_UNREAD, WINDOW_NOT_NOW,
                SERIES_GAP, REPLICA_UNSCRAPED, FOREIGN_PODS, REPLICA_NEVER_SCRAPED, REPLICAS_UNTOLD, PARTIAL_ANSWER,
                NO_GATEWAY)
    needs = (K.DEPLOYMENT,)
    # Pods and ReplicaSets: to explain missing series by gateway pods started inside the window. Telemetry, the mesh
    # ConfigMaps and EnvoyFilters: what the gateway's proxy reports (a zero is no proof with Telemetry or EnvoyFilters
    # unread).
    uses = (*SCAN_KINDS, K.POD, K.REPLICASET, K.TELEMETRY, K.CONFIGMAP, K.ENVOYFILTER)
    needs_traffic = True

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        config: Config = ctx.config
        gateways = istio_gateways(cluster, ctx.inv.rules, config.gateways)
        stray = stray_gateway_findings(self, cluster, ctx.inv.rules, config.gateways, self.STRAY)
        yield from stray
        # Every Istio gateway is judged whatever its role: only one missed (a DaemonSet's) spoils the PASS and N/A.
        unseen = scan_unread_findings(self, cluster, self.GATEWAYS_UNSEEN, (K.DAEMONSET,))
        # ...and so does a stray gateway (stray_gateway_findings), which only the pods tell of: none when unread.
        unseen += scan_unread_findings(self, cluster, self.STRAYS_UNSEEN, (K.POD,))
        yield from unseen
        if not gateways and not stray and not unseen:
            yield self.report(self.NO_GATEWAY, cluster.name, params={})
            return
        traffic: TrafficData | None = ctx.inv.traffic if isinstance(ctx.inv.traffic, TrafficData) else None
        several = len(ctx.inv.data_planes) > 1
        for gw in gateways:
            yield self._judge(cluster, gw, traffic, several, ctx.now, config.snapshot.max_age)

    # ------------------------------------------------------------ one gateway
    def _judge(self, cluster: ClusterInventory, gw: GatewayWorkload, traffic: TrafficData | None,
               several: bool, ctx_now: dt.datetime, max_age: str | None) -> Finding:
        subject = {"kind": gw.kind, "namespace": gw.namespace, "name": gw.name}
        params: dict[str, Any] = {"gateway_type": TYPE_NAMES.get(gw.type, gw.type)}

        def gateway_finding(outcome: Outcome, evidence: dict[str, Any], explanation: str = "",
                            **values: Any) -> Finding:
            """A finding of this gateway; a fix without fields is its remediation, after what explains it."""
            remediation = {"remediation": explanation + outcome.fix} if "{" not in outcome.fix else {}
            return self.report(outcome, cluster.name, params={**params, **values}, evidence=evidence,
                               **remediation, **subject)

        if traffic is None:
            return gateway_finding(self.NO_PROMETHEUS, _evidence(gw, None, None))
        window = traffic.window
        params.update(window=window, query_time=rfc3339(traffic.query_time))
        measured = traffic.find(cluster.name, gw.namespace, gw.name)
        if measured is None:
            return gateway_finding(self.NOT_RECORDED, _evidence(gw, traffic, None))
        evidence = _evidence(gw, traffic, measured)
        if measured.error:
            return gateway_finding(self.PROMETHEUS_ERROR, evidence, error=measured.error)
        problem = measured.answer_problem()
        if problem:
            return gateway_finding(self.ANSWER_NOT_EVIDENCE, evidence, problem=problem)
        label = traffic.cluster_label
        scope = measured.scope
        if scope == "none":
            return gateway_finding(self.NO_SERIES, evidence, _restarts(cluster, gw, traffic))
        if scope == "mismatch":
            seen = ", ".join(f"{label}={v!r}" for v in measured.clusters_seen)
            return gateway_finding(self.OTHER_CLUSTER_LABEL, evidence, seen=seen, label=label,
                                   wanted=measured.cluster_wanted or cluster.name, cluster=cluster.name)
        shared = scope in ("unlabelled", "all") and several
        if shared:
            params.update(label=label or "cluster", namespace=gw.namespace, name=gw.name)

        tolerance = max(MIN_TOLERANCE_S, 2 * window_steps(traffic.window_seconds)[0])
        start, end = traffic.window_start, traffic.query_time
        first, last = measured.series_from, measured.series_until
        from_start = first is not None and first <= start + tolerance
        to_end = last is not None and last >= end - tolerance
        params.update(end=rfc3339(end))

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
            amounts = [text for value, text in (
                (numbers["requests"], Phrase(N_("{count} requests"), count=_count(numbers["requests"]))),
                (numbers["connections"], Phrase(N_("{count} TCP connections"), count=_count(numbers["connections"]))),
                (numbers["bytes"], Phrase(N_("{size} TCP bytes"), size=_bytes(numbers["bytes"])))) if value is not None]
            params.update(amounts=joined(", ", amounts), last_seen=rfc3339(measured.last_seen) or "n/a")
            remediation = REMEDIATION.get(gw.type, self.remediation)
            uncounted = _sum(*born.values()) if born_traffic and not from_start else None
            outcome = self.TRAFFIC
            if shared:  # the numbers may not even be this cluster's: that says more than what was left out
                outcome = self.TRAFFIC_ALL_CLUSTERS
            elif uncounted is not None:
                outcome, params["uncounted"] = self.TRAFFIC_NEW_SERIES_UNCOUNTED, _count(uncounted)
            return self.report(outcome, cluster.name, params=params, remediation=remediation, evidence=evidence,
                               **subject)
        if measured.warnings:
            query, said = next(iter(measured.warnings.items()))
            return gateway_finding(self.PARTIAL_ANSWER, evidence, query=query, warning="; ".join(said))
        if born_traffic:
            return gateway_finding(self.NEW_SERIES_ONLY, evidence, first=rfc3339(first),
                                   counted=_count(_sum(*born.values())))
        if not (from_start and to_end):
            return gateway_finding(self.PARTIAL_WINDOW, evidence, _restarts(cluster, gw, traffic),
                                   first=rfc3339(first) or "n/a", last=rfc3339(last) or "n/a", start=rfc3339(start))
        missing, gap_from, gap_until = _missing_inside(measured, traffic.window_seconds)
        if missing > tolerance:
            return gateway_finding(self.SERIES_GAP, evidence, first=rfc3339(gap_from), last=rfc3339(gap_until),
                                   missing=span(int(missing)))
        if shared:
            return gateway_finding(self.ZERO_ALL_CLUSTERS, evidence)
        families = [f for f, v in increases.items() if v is not None]
        if not families:
            # Series exist, yet no counter's increase() gave a number: nothing shows a real 0.
            return gateway_finding(self.ANSWER_NOT_EVIDENCE, evidence, problem="no request or TCP counter gave an "
                                   "increase over the window (empty answers; an empty answer is not zero)")
        not_now = _window_not_now(traffic, ctx_now, max_age, tolerance)
        if not_now is not None:
            return gateway_finding(self.WINDOW_NOT_NOW, evidence, reason=not_now)
        relied = (*RELIED_TAGS, label) if label else RELIED_TAGS
        try:
            gaps = gateway_metrics_gaps(cluster, gw.namespace, gw.pod_labels, relied, tolerance)
        except EvidenceUnavailable as exc:
            return gateway_finding(self.TELEMETRY_UNREAD, evidence, reason=exc.reason)
        if gaps:
            evidence["metrics_hidden"] = [{"source": g.source, "reason": str(g.reason),
                                           "metrics": [FAMILIES[f] for f in g.families]} for g in gaps]
            commands = "; ".join(dict.fromkeys(telemetry_command(cluster.name, g) for g in gaps))
            return gateway_finding(self.METRICS_HIDDEN, evidence, commands=commands, hidden=_hidden(gaps),
                                   metrics=", ".join(FAMILIES[f] for f in FAMILIES
                                                     if any(f in g.families for g in gaps)))
        presence = measured.pod_presence()
        current = gateway_pod_starts(cluster, gw)
        if scope in ("unlabelled", "all"):
            at_end = sorted(pod for pod, (_, until, _) in presence.items() if until >= (last or 0) - 1)
            foreign = _foreign(at_end, current)
            if foreign is not None:
                return gateway_finding(self.FOREIGN_PODS, evidence, label=label or "cluster", why=foreign,
                                       pods=", ".join(repr(p) for p in at_end) or "n/a")
        ended = sorted((until, pod) for pod, (_, until, _) in presence.items() if until < end - tolerance)
        firsts = [first for first, _, _ in presence.values() if first is not None]
        unexplained = _unexplained(ended, current, tolerance, firsts)
        if unexplained is not None:
            pods, why = unexplained
            return gateway_finding(self.REPLICA_UNSCRAPED, evidence, pods=", ".join(repr(p) for p, _ in pods),
                                   last=", ".join(rfc3339(t) or "n/a" for _, t in pods), why=why)
        running = gateway_pod_starts(cluster, gw, running=True)
        if "" in presence and running is not None and len(running) > 1:
            return gateway_finding(self.REPLICAS_UNTOLD, evidence, labels=", ".join(POD_LABELS), count=len(running),
                                   pods=", ".join(repr(p) for p in sorted(running)))
        never = _never_scraped(presence, running, start)
        if never:
            # A replica whose proxy Prometheus scraped all window yet has no request/TCP series served nothing: Istio
            # creates those counters at the first request. A recording made before that was asked keeps AA1558.
            never = [pod for pod in never if not _proxy_scraped(measured, pod, traffic.window_seconds, tolerance)]
        if never:
            return gateway_finding(self.REPLICA_NEVER_SCRAPED, evidence, pods=", ".join(repr(p) for p in never),
                                   scraped=", ".join(repr(p) for p in sorted(presence)))
        evidence.update(_numbers(increases, born))
        return gateway_finding(self.PASS, evidence, first=rfc3339(first), last=rfc3339(last),
                               families=", ".join(families))


def _missing_inside(measured: GatewayTraffic, window_s: int) -> tuple[float, float | None, float | None]:
    """The longest time inside the window the gateway's series were missing, with the span it lies in: of one pod's
    series between its own first and last presence (the proxy may have restarted then while the other replicas went
    on), or of all of them between the first and the last presence. (0, ...): none missing, or a recording made
    before series_present was asked."""
    first, last = measured.series_from, measured.series_until
    if "series_present" not in measured.answers or first is None or last is None:
        return 0.0, first, last
    step = window_steps(window_s)[0]
    presence = measured.pod_presence()
    worst: tuple[float, float | None, float | None] = (0.0, first, last)
    for pod_first, pod_last, present in presence.values():
        missing = max(0.0, (round((pod_last - pod_first) / step) + 1 - (present or 0)) * step)
        if missing > worst[0]:
            worst = (missing, pod_first, pod_last)
    # All of them: the stretches between the pods' spans (each pod's span counted whole: its own gap is judged above).
    between, reach = 0.0, None
    for pod_first, pod_last, _ in sorted(presence.values()):
        if reach is not None and pod_first > reach + step:
            between += pod_first - reach - step
        reach = pod_last if reach is None else max(reach, pod_last)
    if between > worst[0]:
        worst = (between, first, last)
    return worst


def _foreign(at_end: list[str], current: dict[str, float | None] | None) -> Phrase | None:
    """Why the pods scraped at the window's end are not shown to be this cluster's gateway pods, or None."""
    if current is None:
        return Phrase(N_("and the cluster's pods could not be read to tell whose they are"))
    if not at_end or "" in at_end:
        return Phrase(N_("series without a pod label, so nothing tells whose they are"))
    strangers = [p for p in at_end if p not in current]
    if strangers:
        if len(strangers) == len(at_end):
            return Phrase(N_("none of which run in this cluster"))
        return Phrase(N_("of which {pods} do not run in this cluster"), pods=", ".join(repr(p) for p in strangers))
    return None


def _unexplained(ended: list[tuple[float, str]], current: dict[str, float | None] | None,
                 tolerance: float, firsts: list[float] = ()) -> tuple[list[tuple[str, float]], Phrase] | None:
    """Pods whose series end inside the window unexplained (with why), or None. increase() counts a pod's traffic up to
    its last scrape: what it does not see is what crossed the pod after it, which matters only where the pod lived on
    unscraped. A pod still running is that (Prometheus stopped scraping it). A pod gone is explained unless something
    shows it lived on: a gateway pod running now started more than `tolerance` after its last scrape, and none started,
    nor any other pod's series began (`firsts`), within `tolerance` of it (a rollout's replacement starts as the old pod
    stops; a scale-down, an HPA's, has none: review19b, its AA1556 made every such audit INCOMPLETE)."""
    if not ended:
        return None
    if current is None:
        why = Phrase(N_("the cluster's pods could not be read to tell whether they were replaced"))
        return [(p, t) for t, p in ended], why
    running = [p for _, p in ended if p in current]
    if running:
        why = Phrase(N_("the pod(s) still run (Prometheus stopped scraping them)"))
        return [(p, t) for t, p in ended if p in running], why
    starts = [s for s in current.values() if s is not None]
    near = [*starts, *firsts]
    lost = [(p, t) for t, p in ended if not p or (any(s - t > tolerance for s in starts)
                                                  and not any(abs(s - t) <= tolerance for s in near))]
    if lost:
        return lost, Phrase(N_("a gateway pod running now started long after they stopped being scraped, and none "
                               "started as they did: they lived on unscraped"))
    return None


def _never_scraped(presence: dict[str, tuple[float, float, float | None]], current: dict[str, float | None] | None,
                   start: float) -> list[str]:
    """The gateway's running pods started before the window (so in it all along) without any series in it, while the
    series name the pods they came from. Series without a pod label cannot tell the pods apart (nothing is claimed);
    pods unread are judged where the series' pods are (FOREIGN_PODS, REPLICA_UNSCRAPED)."""
    if current is None or not presence or "" in presence:
        return []
    return sorted(pod for pod, started in current.items()
                  if pod not in presence and started is not None and started <= start)


def _proxy_scraped(measured: GatewayTraffic, pod: str, window_s: int, tolerance: float) -> bool:
    """Whether the pod's proxy exported its uptime gauge at the presence steps of the whole window but `tolerance`
    (PROXY_UPTIME, in the scrape that would carry its request/TCP counters had it served anything)."""
    steps = measured.proxy_steps()
    if not steps or pod not in steps:
        return False
    step = window_steps(window_s)[0]
    return (window_s // step - steps[pod]) * step <= tolerance


def _window_not_now(traffic: TrafficData, now: dt.datetime, max_age: str | None, tolerance: float) -> Phrase | None:
    """Why a window is not evidence of now, or None. Live or recorded, a window that ends well before Prometheus' own
    clock (the Date of its first answer) was asked by a host whose clock is behind.

    `asm-audit snapshot` queries Prometheus after collecting the objects, so a recording's window ends at or after the
    snapshot's collected_at; one that ends more than `tolerance` before it measured an earlier run. Without a
    collected_at, the window's end is held to snapshot.max_age as a snapshot's time is (auditor/evidence.py).
    """
    end, audit_at = traffic.query_time, now.timestamp()
    if traffic.prometheus_clock is not None and traffic.prometheus_clock - end > tolerance:
        return Phrase(BEHIND_PROMETHEUS, gap=span(int(traffic.prometheus_clock - end)),
                      clock=rfc3339(traffic.prometheus_clock))
    if traffic.origin != "recorded":
        return None
    if end > audit_at + FUTURE_TOLERANCE_S:
        return Phrase(RECORDED_AFTER, age=span(int(end - audit_at)))
    if traffic.collected_at is not None:
        if end < traffic.collected_at - tolerance:
            return Phrase(RECORDED_BEFORE, gap=span(int(traffic.collected_at - end)),
                          collected_at=rfc3339(traffic.collected_at))
        return None  # the snapshot's own age is judged once for every gate (AA0012)
    max_age_s = duration_seconds(max_age) if max_age is not None else None
    if max_age_s is not None and audit_at - end > max_age_s:
        return Phrase(RECORDED_LONG_AGO, age=span(int(audit_at - end)), max_age=max_age)
    return None


def _hidden(gaps: list[Gap]) -> str:
    """What hides the traffic, one clause per object: `Telemetry istio-system/mesh-default disables ...`; an
    i18n.Phrase whose clauses a report says in its language (sources, names and metrics as written)."""
    by_source: dict[str, list[str]] = {}
    for gap in gaps:
        by_source.setdefault(gap.source, []).append(gap.reason)
    return joined("; ", (Phrase("{source} {reasons}", source=source,
                                reasons=joined(", ", dict.fromkeys(reasons)))
                         for source, reasons in by_source.items()))


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
    # Only the start times of the gateway's pods: selecting their rows of the frame copied each of its ~30 columns.
    started_at = pods["started"][(pods["namespace"] == gw.namespace) & (pods["workload_name"] == gw.name)]
    started = []
    for value in started_at:
        try:
            if value and parse_rfc3339(str(value)) > traffic.window_start:
                started.append(str(value))
        except ValueError:
            continue
    if not started:
        return ""
    return (f"{len(started)} gateway pod(s) started inside the window (latest {max(started)}): an idle restarted "
            "gateway has no series until its first request. ")
