"""istio-gateway-traffic: "zero increase" proves nothing of metrics the mesh told the gateway not to report (tel15).

Prometheus' answers are recorded in the snapshot (as `asm-audit snapshot --prometheus` records them, the shape of
tests/test_traffic.py's recorded answers): the gateway's series cover the whole window, and each family's
`sum(increase(...))` is "0", or empty where the family has no series. On main every case below with a harmful
Telemetry was PASS AA1501 (a false GO); it is now UNKNOWN AA1552 naming the object, and the harmless ones stay PASS.

Shapes:
- Telemetry objects as the API and docs write them: istio/api@1.30.3:telemetry/v1alpha1/telemetry.proto (the
  examples in its header: "Disable server-side metrics for Prometheus for an entire mesh", "Add dimensions to all
  Prometheus metrics for the `foo` namespace", "Remove the `response_code` dimension ... for the `bar.foo`
  workload") and istio.io docs tasks/observability/metrics/telemetry-api (remove-tags, custom-tags). Disabling
  the TCP metrics or REQUEST_COUNT uses the same `overrides[].match.metric` + `disabled: true` fields.
- What applies to a gateway, and in which mode: istio/istio@1.30.3:pilot/pkg/model/telemetry.go
  (applicableTelemetries, mergeMetrics, MetricsForClass: the Gateway listener class reports CLIENT metrics) and
  pilot/pkg/model/policyattachment.go (ShouldAttachPolicy: targetRefs only for Gateway API gateways).
- The mesh config as istio/istio@1.30.3:manifests/charts/istio-control/istio-discovery/templates/configmap.yaml
  renders it (rootNamespace, defaultProviders.metrics [prometheus]); extensionProviders as meshConfig writes them.
- Gateways: tests/prometheus_server.gateway_deployment (istioctl's labels istio=ingressgateway|eastwestgateway).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor import kinds as K
from auditor.config import Config
from auditor.findings import records
from auditor.sources.prometheus import RECORD_FORMAT
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.prometheus_server import gateway_deployment

CHECK = "istio-gateway-traffic"
AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
FAMILIES = ("requests", "connections", "bytes_sent", "bytes_received")
TCP = ("connections", "bytes_sent", "bytes_received")
INGRESS = ("istio-system", "istio-ingressgateway")
EASTWEST = ("istio-system", "istio-eastwestgateway")


# ---------------------------------------------------------------- inputs
def recorded(namespace: str, name: str, zero: tuple[str, ...]) -> dict[str, Any]:
    """One gateway's recorded answers: series over the whole window; `zero` families answer 0, the others nothing
    (no series of that family, as when Istio does not report it)."""
    at = AT.timestamp()
    sample = lambda value, metric=None: [{"metric": metric or {}, "value": [at, value]}]  # noqa: E731
    pod = {"pod": f"{name}-gw-a"}  # the gateway's pod the series were scraped from (audit() runs it)
    results: dict[str, Any] = {"series_from": sample(str(at - 86_400), pod), "series_until": sample(str(at), pod),
                               "last_seen": [], "series": [], "tcp_series": []}
    for family in FAMILIES:
        results[family] = sample("0") if family in zero else []
        results[f"{family}_new_series"] = []
    return {"cluster": "cluster-a", "namespace": namespace, "name": name, "gateway_type": "", "cluster_label": "",
            "cluster_wanted": None, "cluster_value": None, "error": None, "promql": {}, "results": results}


# An ingress gateway carrying HTTP and TCP (all four families flat), an east-west gateway whose TLS passthrough is TCP
# only: with TCP metrics switched off only its request series (istiod's 15012/15017 are HTTP/gRPC) remain.
GATEWAYS = {INGRESS: ("ingress", FAMILIES), EASTWEST: ("eastwest", ("requests",))}


def telemetry(name: str, namespace: str, spec: dict[str, Any], created: str | None = None) -> dict[str, Any]:
    obj = f.istio_object("Telemetry", name, namespace, spec)
    if created:
        obj["metadata"]["creationTimestamp"] = created
    return obj


def mesh_config(extra: str = "", root: str = "istio-system") -> dict[str, Any]:
    """The `istio` ConfigMap as the istio-discovery chart renders it (1.18 to 1.30.3: defaultProviders.metrics)."""
    mesh = ("defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n  proxyMetadata:\n"
            "    PROXY_CONFIG_XDS_AGENT: \"true\"\ndefaultProviders:\n  metrics:\n  - prometheus\n"
            f"enablePrometheusMerge: true\nrootNamespace: {root}\ntrustDomain: cluster.local\n{extra}")
    return f.configmap("istio", "istio-system", {"mesh": mesh, "meshNetworks": "networks: {}"},
                       labels={"istio.io/rev": "default", "operator.istio.io/component": "Pilot"})


def audit(tmp_path: Path, objects: list[dict[str, Any]], *, kinds: dict[str, str] | None = None,
          gateways: dict[tuple[str, str], tuple[str, tuple[str, ...]]] | None = None,
          results: list[Any] | None = None) -> dict[str, dict[str, Any]]:
    """The check's findings by gateway name, on a snapshot of the gateways + `objects` + recorded answers (the audit's
    result appended to `results` when given)."""
    gateways = GATEWAYS if gateways is None else gateways
    # Gateway API gateways come with `objects` (istiod's Deployment for a Gateway); the others are istioctl's.
    items = [o for (ns, name), (role, _) in gateways.items() if role != "gateway-api"
             for o in gateway_deployment(name, ns, role, pods={f"{name}-gw-a": f.T0})] + objects
    entry: dict[str, Any] = {"name": "cluster-a", "role": "data-plane", "dir": "cluster-a", "complete": True}
    if kinds:
        entry["kinds"] = kinds
    record = {"format": RECORD_FORMAT, "format_version": 1, "url": "http://prometheus.monitoring:9090",
              "window": "24h", "window_seconds": 86_400, "query_time": AT.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "cluster_label": "", "gateways": [recorded(ns, name, zero) for (ns, name), (_, zero) in gateways.items()]}
    root = f.write_snapshot(tmp_path / "snap", {"cluster-a": items}, versions={"cluster-a": f.version_info()},
                            manifest={"clusters": [entry], "prometheus": record})
    result = api.run_audit(sources=open_snapshot(root), phase="uninstall", config=Config(), now=AT)
    if results is not None:
        results.append(result)
    out = {}
    for row in records(result.findings):
        if row["check_id"] == CHECK:
            assert row["name"] not in out, row
            out[row["name"]] = row
    return out


def codes(rows: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {name: (row["status"], row["code"]) for name, row in rows.items()}


PASS = ("PASS", "AA1501")
HIDDEN = ("UNKNOWN", "AA1552")


# ---------------------------------------------------------------- the false GOs of main
DISABLE_TCP = {"metrics": [{"providers": [{"name": "prometheus"}], "overrides": [
    {"match": {"metric": "TCP_OPENED_CONNECTIONS"}, "disabled": True},
    {"match": {"metric": "TCP_CLOSED_CONNECTIONS"}, "disabled": True},
    {"match": {"metric": "TCP_SENT_BYTES"}, "disabled": True},
    {"match": {"metric": "TCP_RECEIVED_BYTES"}, "disabled": True}]}]}


def test_tcp_metrics_disabled_mesh_wide_hide_the_eastwest_traffic(tmp_path: Path) -> None:
    """The brief's case: TCP metrics off in the root namespace, requests flowing. The east-west gateway (TLS
    passthrough: TCP only) shows flat request series: main said PASS AA1501 "no traffic"; its TCP traffic was never
    counted."""
    rows = audit(tmp_path, [mesh_config(), telemetry("mesh-default", "istio-system", DISABLE_TCP)])
    assert codes(rows) == {"istio-eastwestgateway": HIDDEN, "istio-ingressgateway": HIDDEN}
    east = rows["istio-eastwestgateway"]
    assert "Telemetry istio-system/mesh-default" in east["message"] and "TCP_OPENED_CONNECTIONS" in east["message"]
    assert "istio_tcp_connections_opened_total" in east["message"] and "istio_requests_total" not in east["message"]
    assert "get telemetry/mesh-default -o yaml" in east["remediation"] and "-n istio-system" in east["remediation"]
    assert east["evidence"]["requests"] is None  # a zero that proves nothing is not shown as a measured zero
    assert east["evidence"]["metrics_hidden"][0]["source"] == "Telemetry istio-system/mesh-default"


def test_a_disabled_request_count_on_the_gateway_by_selector(tmp_path: Path) -> None:
    """A workload Telemetry selecting the ingress gateway by its labels, CLIENT mode (what a gateway reports):
    requests are not counted, TCP series stay flat (main: PASS)."""
    spec = {"selector": {"matchLabels": {"istio": "ingressgateway"}},
            "metrics": [{"providers": [{"name": "prometheus"}],
                         "overrides": [{"match": {"metric": "REQUEST_COUNT", "mode": "CLIENT"}, "disabled": True}]}]}
    rows = audit(tmp_path, [mesh_config(), telemetry("ingress-no-requests", "istio-system", spec)])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": PASS}
    assert rows["istio-ingressgateway"]["evidence"]["metrics_hidden"] == [
        {"source": "Telemetry istio-system/ingress-no-requests", "reason": "disables REQUEST_COUNT",
         "metrics": ["istio_requests_total"]}]


@pytest.mark.parametrize("tag", ["source_workload", "source_workload_namespace", "reporter"])
def test_a_removed_or_rewritten_label_the_proof_selects_by(tmp_path: Path, tag: str) -> None:
    """A tag override (the docs' remove-tags shape) on a label the queries select by: those series no longer match
    reporter="source",source_workload=<gateway>; the ones left are flat (main: PASS)."""
    removed = {"metrics": [{"providers": [{"name": "prometheus"}], "overrides": [
        {"match": {"mode": "CLIENT_AND_SERVER", "metric": "TCP_SENT_BYTES"},
         "tagOverrides": {tag: {"operation": "REMOVE"}}}]}]}
    rows = audit(tmp_path, [mesh_config(), telemetry("remove-tags", "istio-system", removed)])
    assert codes(rows)["istio-ingressgateway"] == HIDDEN
    assert f"removes the {tag} label of TCP_SENT_BYTES" in rows["istio-ingressgateway"]["message"]
    rewritten = {"metrics": [{"overrides": [{"match": {"metric": "REQUEST_COUNT", "mode": "CLIENT"},
                                             "tagOverrides": {tag: {"value": "'edge'"}}}]}]}
    rows = audit(tmp_path / "b", [mesh_config(), telemetry("custom-tags", "istio-system", rewritten)])
    assert codes(rows)["istio-ingressgateway"] == HIDDEN
    assert f"rewrites the {tag} label of REQUEST_COUNT" in rows["istio-ingressgateway"]["message"]


def test_a_namespace_telemetry_of_the_gateways_namespace(tmp_path: Path) -> None:
    """A selector-less Telemetry in the gateway's own namespace (not the root) applies to it; one in a third namespace
    does not (istiod reads the root's, the workload namespace's, and the workload namespace's selected ones)."""
    gateways = {("istio-ingress", "istio-ingressgateway"): ("ingress", FAMILIES)}
    rows = audit(tmp_path, [mesh_config(), telemetry("namespace-metrics", "istio-ingress", DISABLE_TCP)],
                 gateways=gateways)
    assert codes(rows) == {"istio-ingressgateway": HIDDEN}
    rows = audit(tmp_path / "b", [mesh_config(), telemetry("namespace-metrics", "shop", DISABLE_TCP)],
                 gateways=gateways)
    assert codes(rows) == {"istio-ingressgateway": PASS}


def test_the_root_namespace_is_the_mesh_configs(tmp_path: Path) -> None:
    """meshConfig.rootNamespace: istio-config makes a Telemetry there mesh-wide (and one in istio-system, neither root
    nor the gateway's namespace, harmless to a gateway in istio-ingress)."""
    gateways = {("istio-ingress", "istio-ingressgateway"): ("ingress", FAMILIES)}
    rows = audit(tmp_path, [mesh_config(root="istio-config"), telemetry("mesh-default", "istio-config", DISABLE_TCP)],
                 gateways=gateways)
    assert codes(rows) == {"istio-ingressgateway": HIDDEN}
    rows = audit(tmp_path / "b", [mesh_config(root="istio-config"),
                                  telemetry("mesh-default", "istio-system", DISABLE_TCP)], gateways=gateways)
    assert codes(rows) == {"istio-ingressgateway": PASS}
    # Without the mesh config the root is not known: any namespace holding a selector-less Telemetry may be it.
    rows = audit(tmp_path / "c", [telemetry("mesh-default", "istio-config", DISABLE_TCP)], gateways=gateways)
    assert codes(rows) == {"istio-ingressgateway": HIDDEN}


def test_all_metrics_disabled_for_clients_then_requests_back(tmp_path: Path) -> None:
    """mergeMetrics: an ALL_METRICS `disabled: true` drops the provider's CLIENT filter; a later override of that mode
    brings the filter back, with only what it names disabled. Here: all off at the root, REQUEST_COUNT re-enabled in
    the gateway's workload Telemetry: TCP stays hidden."""
    root = {"metrics": [{"providers": [{"name": "prometheus"}],
                         "overrides": [{"match": {"metric": "ALL_METRICS", "mode": "CLIENT"}, "disabled": True}]}]}
    back = {"selector": {"matchLabels": {"istio": "ingressgateway"}},
            "metrics": [{"overrides": [{"match": {"metric": "REQUEST_COUNT"}, "disabled": False},
                                       {"match": {"metric": "TCP_SENT_BYTES"}, "disabled": True}]}]}
    rows = audit(tmp_path, [mesh_config(), telemetry("mesh-default", "istio-system", root),
                            telemetry("gateway-requests", "istio-system", back)])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    assert rows["istio-ingressgateway"]["evidence"]["metrics_hidden"] == [
        {"source": "Telemetry istio-system/gateway-requests", "reason": "disables TCP_SENT_BYTES",
         "metrics": ["istio_tcp_sent_bytes_total"]}]
    assert "disables all metrics for clients" in rows["istio-eastwestgateway"]["message"]


def test_a_long_reporting_interval_hides_the_end_of_the_window(tmp_path: Path) -> None:
    """reportingInterval (telemetry.proto: TCP metrics only, default 5s): TCP bytes of a connection still open are
    reported once per interval; an hour is longer than the proof's tolerance at the window's end."""
    spec = {"metrics": [{"providers": [{"name": "prometheus"}], "reportingInterval": "3600s"}]}
    rows = audit(tmp_path, [mesh_config(), telemetry("mesh-default", "istio-system", spec)])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    hidden = rows["istio-eastwestgateway"]["evidence"]["metrics_hidden"]
    assert [h["metrics"] for h in hidden] == [["istio_tcp_connections_opened_total", "istio_tcp_sent_bytes_total",
                                               "istio_tcp_received_bytes_total"]]
    rows = audit(tmp_path / "b", [mesh_config(), telemetry("mesh-default", "istio-system", {
        "metrics": [{"providers": [{"name": "prometheus"}], "reportingInterval": "15s"}]})])
    assert set(codes(rows).values()) == {PASS}


def test_metrics_sent_to_another_provider_only(tmp_path: Path) -> None:
    """The gateway namespace's Telemetry names an OpenTelemetry provider only (meshConfig.extensionProviders): istiod
    builds the stats filter for Prometheus-type providers only, so nothing reaches Prometheus."""
    providers = ("extensionProviders:\n- name: otel\n  opentelemetry:\n"
                 "    service: opentelemetry-collector.observability.svc.cluster.local\n    port: 4317\n")
    spec = {"metrics": [{"providers": [{"name": "otel"}]}]}
    rows = audit(tmp_path, [mesh_config(providers), telemetry("otel-only", "istio-system", spec)])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    assert "none of them Prometheus" in rows["istio-ingressgateway"]["message"]
    # A Prometheus-type provider of another name is Prometheus all the same.
    providers = "extensionProviders:\n- name: prom-edge\n  prometheus: {}\n"
    rows = audit(tmp_path / "b", [mesh_config(providers), telemetry("prom", "istio-system", {
        "metrics": [{"providers": [{"name": "prom-edge"}]}]})])
    assert set(codes(rows).values()) == {PASS}


def test_a_mesh_config_without_a_metrics_provider(tmp_path: Path) -> None:
    """values.telemetry.enabled=false (or v2.enabled / v2.prometheus.enabled false, or meshConfig.defaultProviders set
    without metrics) renders no defaultProviders.metrics: with no Telemetry naming a provider, no stats filter (1.18+;
    before, the installer's stats-filter-1.x EnvoyFilters made it, and their presence keeps the PASS)."""
    cm = mesh_config()
    cm["data"]["mesh"] = cm["data"]["mesh"].replace("defaultProviders:\n  metrics:\n  - prometheus\n",
                                                    "defaultProviders:\n  accessLogging:\n  - envoy\n")
    rows = audit(tmp_path, [cm])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    assert "ConfigMap istio-system/istio" in rows["istio-ingressgateway"]["message"]
    assert "get configmap/istio -o jsonpath='{.data.mesh}'" in rows["istio-ingressgateway"]["remediation"]
    rows = audit(tmp_path / "b", [cm, installer_stats_filter()])
    assert set(codes(rows).values()) == {PASS}


def installer_stats_filter(gateway_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """`stats-filter-1.16` as istio/istio@1.16.0:manifests/charts/istio-control/istio-discovery/templates/
    telemetryv2_1.16.yaml renders it (its GATEWAY patch; the configuration is configOverride.gateway when set)."""
    config = gateway_config or {"debug": "false", "stat_prefix": "istio", "disable_host_header_fallback": True}
    wasm = {"config": {"root_id": "stats_outbound",
                       "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                         "value": json.dumps(config, indent=2) + "\n"},
                       "vm_config": {"vm_id": "stats_outbound", "runtime": "envoy.wasm.runtime.null",
                                     "code": {"local": {"inline_string": "envoy.wasm.stats"}}}}}
    patch = {"applyTo": "HTTP_FILTER",
             "match": {"context": "GATEWAY", "proxy": {"proxyVersion": "^1\\.16.*"},
                       "listener": {"filterChain": {"filter": {
                           "name": "envoy.filters.network.http_connection_manager",
                           "subFilter": {"name": "envoy.filters.http.router"}}}}},
             "patch": {"operation": "INSERT_BEFORE", "value": {"name": "istio.stats", "typed_config": {
                 "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                 "type_url": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "value": wasm}}}}
    return f.istio_object("EnvoyFilter", "stats-filter-1.16", "istio-system",
                          {"priority": -1, "configPatches": [patch]}, labels={"istio.io/rev": "default"})


def test_envoyfilters_on_the_stats_filter(tmp_path: Path) -> None:
    """Before 1.18 the installer's stats-filter-1.x made the gateway's metrics, tailored by
    telemetry.v2.prometheus.configOverride.gateway (drop, tags_to_remove); a user's EnvoyFilter patching istio.stats on
    the gateway (here removing it) leaves what the gateway reports unknown. Main: PASS for both."""
    override = {"debug": "false", "stat_prefix": "istio",
                "metrics": [{"name": "tcp_sent_bytes_total", "drop": True},
                            {"tags_to_remove": ["source_workload"], "name": "requests_total"}]}
    rows = audit(tmp_path, [installer_stats_filter(override)])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    assert rows["istio-ingressgateway"]["evidence"]["metrics_hidden"] == [
        {"source": "EnvoyFilter istio-system/stats-filter-1.16", "reason": "drops TCP_SENT_BYTES",
         "metrics": ["istio_tcp_sent_bytes_total"]},
        {"source": "EnvoyFilter istio-system/stats-filter-1.16", "reason": "removes the source_workload label of "
         "REQUEST_COUNT", "metrics": ["istio_requests_total"]}]
    removal = f.istio_object("EnvoyFilter", "no-gateway-stats", "istio-system", {
        "workloadSelector": {"labels": {"istio": "ingressgateway"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {"context": "GATEWAY", "listener": {"filterChain": {
            "filter": {"name": "envoy.filters.network.http_connection_manager",
                       "subFilter": {"name": "istio.stats"}}}}}, "patch": {"operation": "REMOVE"}}]})
    rows = audit(tmp_path / "b", [mesh_config(), removal])
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": PASS}
    assert "patches the gateway's stats filter istio.stats (REMOVE HTTP_FILTER)" in (
        rows["istio-ingressgateway"]["message"])
    # The same patch for sidecars only, or an EnvoyFilter that does not touch the stats filter: nothing changes.
    sidecars = json.loads(json.dumps(removal))
    sidecars["spec"]["configPatches"][0]["match"]["context"] = "SIDECAR_OUTBOUND"
    lua = f.istio_object("EnvoyFilter", "gateway-lua", "istio-system", {
        "workloadSelector": {"labels": {"istio": "ingressgateway"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {"context": "GATEWAY"}, "patch": {
            "operation": "INSERT_BEFORE", "value": {"name": "envoy.filters.http.lua", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "inlineCode": "function envoy_on_request(h) end"}}}}]})
    rows = audit(tmp_path / "c", [mesh_config(), sidecars, lua])
    assert set(codes(rows).values()) == {PASS}


def test_a_gateway_api_gateway_is_targeted_by_targetrefs(tmp_path: Path) -> None:
    """telemetry.proto: "Gateways and waypoints are targeted for telemetry configuration using the targetRefs field".
    A Telemetry in the Gateway's namespace naming it (kind Gateway, group gateway.networking.k8s.io) applies to the
    Deployment istiod made for it (label gateway.networking.k8s.io/gateway-name); one naming another Gateway does
    not."""
    gateway = f.k8s_gateway("edge", "istio-ingress")
    deployed = [gateway, *f.gateway_api_deployment(gateway)]
    rs = next(o for o in deployed if o["kind"] == "ReplicaSet")  # its pod, which recorded() names the series'
    deployed.append(f.pod("edge-istio-gw-a", "istio-ingress", gateway=True,
                          owner=("ReplicaSet", rs["metadata"]["name"]),
                          labels=rs["spec"]["template"]["metadata"]["labels"]))
    gateways = {("istio-ingress", "edge-istio"): ("gateway-api", FAMILIES)}

    def targeting(name: str) -> dict[str, Any]:
        return telemetry("edge-metrics", "istio-ingress", {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": name}], **DISABLE_TCP})

    rows = audit(tmp_path, [mesh_config(), *deployed, targeting("edge")], gateways=gateways)
    assert codes(rows) == {"edge-istio": HIDDEN}
    rows = audit(tmp_path / "b", [mesh_config(), *deployed, targeting("internal")], gateways=gateways)
    assert codes(rows) == {"edge-istio": PASS}


@pytest.mark.parametrize("kind", [K.TELEMETRY, K.ENVOYFILTER], ids=lambda k: k.kind)
def test_telemetry_or_envoyfilters_unreadable_is_unknown_not_pass(tmp_path: Path, kind: K.Kind) -> None:
    """Telemetry objects (or EnvoyFilters) forbidden: any of them may switch the gateway's metrics off (main: PASS)."""
    forbidden = (f'forbidden: {kind.key} is forbidden: User "audit" cannot list resource "{kind.plural}" in API group '
                 f'"{kind.group}" at the cluster scope')
    rows = audit(tmp_path, [mesh_config()], kinds={kind.key: forbidden})
    unread = ("UNKNOWN", "AA1553")
    assert codes(rows) == {"istio-ingressgateway": unread, "istio-eastwestgateway": unread}
    assert f"the {kind.kind} objects could not be read (forbidden" in rows["istio-ingressgateway"]["message"]


# ---------------------------------------------------------------- harmless Telemetry: PASS stays PASS
def test_harmless_telemetry_keeps_the_pass(tmp_path: Path) -> None:
    """The API's own examples that do not touch what a gateway reports: server-side metrics off mesh-wide (a gateway
    reports as a client), added dimensions, a removed response_code on another workload, tracing and access logging,
    a workload Telemetry of another workload, a targetRef (ignored for a gateway that is not a Gateway API one)."""
    objects = [
        mesh_config(),
        telemetry("mesh-default", "istio-system", {
            "tracing": [{"randomSamplingPercentage": 10.0}], "accessLogging": [{"providers": [{"name": "envoy"}]}],
            "metrics": [{"providers": [{"name": "prometheus"}], "overrides": [
                {"match": {"metric": "ALL_METRICS", "mode": "SERVER"}, "disabled": True},
                {"tagOverrides": {"request_method": {"value": "request.method"},
                                  "request_host": {"value": "request.host"}}},
                {"match": {"mode": "CLIENT_AND_SERVER", "metric": "REQUEST_COUNT"},
                 "tagOverrides": {"grpc_response_status": {"operation": "REMOVE"}}},
                {"match": {"metric": "REQUEST_DURATION"}, "disabled": True}]}]}),
        telemetry("remove-response-code", "istio-system", {
            "selector": {"matchLabels": {"service.istio.io/canonical-name": "bar"}},
            "metrics": [{"providers": [{"name": "prometheus"}], "overrides": [
                {"match": {"metric": "REQUEST_COUNT"}, "tagOverrides": {"response_code": {"operation": "REMOVE"}}},
                {"match": {"metric": "TCP_SENT_BYTES"}, "disabled": True}]}]}),
        telemetry("waypoint-only", "istio-system", {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint"}],
            "metrics": [{"overrides": [{"disabled": True}]}]}),
        telemetry("stackdriver-off", "istio-system", {
            "metrics": [{"providers": [{"name": "stackdriver"}], "overrides": [{"disabled": True}]}]},
            created="2026-11-12T00:00:00Z"),  # a second selector-less one, newer: istiod reads only the oldest
    ]
    rows = audit(tmp_path, objects)
    assert codes(rows) == {"istio-ingressgateway": PASS, "istio-eastwestgateway": PASS}


def test_no_telemetry_and_the_charts_mesh_config_keep_the_pass(tmp_path: Path) -> None:
    rows = audit(tmp_path, [mesh_config()])
    assert codes(rows) == {"istio-ingressgateway": PASS, "istio-eastwestgateway": PASS}
    assert rows["istio-ingressgateway"]["evidence"]["requests"] == 0


def test_demo_keeps_its_verdict_and_gateway_findings() -> None:
    result = api.run_audit(sources=open_snapshot(api.demo_snapshot_path()), phase="uninstall")
    got = {(r["cluster"], r["name"]): r["code"] for r in records(result.findings) if r["check_id"] == CHECK}
    assert got[("cluster-a", "istio-ingressgateway")] == got[("cluster-b", "istio-ingressgateway")] == "AA1501"


# ---------------------------------------------------------------- live, and its snapshot offline
def test_live_and_its_snapshot_judge_the_telemetry_alike(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Against a live API server and Prometheus' HTTP API (tests/test_prometheus_answers.AnswerDouble: series over the
    whole window, requests 0), a Telemetry disabling the gateway's TCP metrics: UNKNOWN AA1552 live, and the same
    from the snapshot `asm-audit snapshot` took of that cluster (it holds the Telemetry objects)."""
    from auditor.cli.main import main
    from tests.fakeapi import FakeApiServer
    from tests.test_prometheus_answers import AnswerDouble

    def findings(argv: list[str]) -> dict[str, tuple[str, str]]:
        main([*argv, "--phase", "uninstall", "--format", "json", "--out", "-", "--quiet"])
        doc = json.loads(capsys.readouterr().out)
        return {x["name"]: (x["status"], x["code"]) for x in doc["findings"] if x["check_id"] == CHECK}

    objects = [*gateway_deployment("istio-ingressgateway", "istio-system", "ingress"), mesh_config()]
    for telemetries, expected in (([], PASS), ([telemetry("mesh-default", "istio-system", DISABLE_TCP)], HIDDEN)):
        with FakeApiServer() as server, AnswerDouble(requests="0") as prometheus:
            server.set_version("v1.30.4-aliyun.1")
            server.load(objects + telemetries)
            kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", context="cluster-a")
            live = findings(["run", "--kubeconfig", str(kubeconfig), "--prometheus", prometheus.url])
            tarball = tmp_path / f"snap-{len(telemetries)}.tar.gz"
            assert main(["snapshot", "--out", str(tarball), "--kubeconfig", str(kubeconfig), "--prometheus",
                         prometheus.url, "--quiet"]) == 0
            capsys.readouterr()
        assert live == {"istio-ingressgateway": expected}
        assert findings(["run", "--snapshot", str(tarball)]) == live


def test_what_hides_the_traffic_is_said_in_the_reports_language(tmp_path: Path) -> None:
    """zh15: AA1552's {hidden} clauses (what each Telemetry, EnvoyFilter or mesh config does to the gateway's metrics)
    were English inside a zh-CN message; they are i18n.Phrases the report says in its language, the objects, labels,
    metrics and filter names as written. English as before."""
    from auditor import i18n
    from auditor.render.localize import localized

    override = {"debug": "false", "stat_prefix": "istio",
                "metrics": [{"name": "tcp_sent_bytes_total", "drop": True},
                            {"tags_to_remove": ["source_workload"], "name": "requests_total"}]}
    removal = f.istio_object("EnvoyFilter", "no-gateway-stats", "istio-system", {
        "workloadSelector": {"labels": {"istio": "eastwestgateway"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {"context": "GATEWAY", "listener": {"filterChain": {
            "filter": {"name": "envoy.filters.network.http_connection_manager",
                       "subFilter": {"name": "istio.stats"}}}}}, "patch": {"operation": "REMOVE"}}]})
    results: list[Any] = []
    rows = audit(tmp_path, [installer_stats_filter(override), removal], results=results)
    assert codes(rows) == {"istio-ingressgateway": HIDDEN, "istio-eastwestgateway": HIDDEN}
    assert ("EnvoyFilter istio-system/stats-filter-1.16 drops TCP_SENT_BYTES, removes the source_workload label of "
            "REQUEST_COUNT") in rows["istio-ingressgateway"]["message"]
    with i18n.language("zh-CN"):
        said = {r["name"]: r["message"] for r in records(localized(results[0]).findings)
                if r["check_id"] == CHECK and r["code"] == "AA1552"}
    ingress, east = said["istio-ingressgateway"], said["istio-eastwestgateway"]
    for english in ("drops", "removes the", "patches the gateway's stats filter", "what the gateway reports"):
        assert english not in ingress and english not in east, english
    assert "EnvoyFilter istio-system/stats-filter-1.16 丢弃（TCP_SENT_BYTES）" in ingress  # noqa: RUF001
    assert "移除 source_workload 标签（REQUEST_COUNT）" in ingress  # noqa: RUF001
    assert ("EnvoyFilter istio-system/no-gateway-stats 修补了网关的统计过滤器 istio.stats"
            "（REMOVE HTTP_FILTER）") in east  # noqa: RUF001
