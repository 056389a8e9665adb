"""pods-xds-agent: a value pilot-agent reads as true; one finding per workload with the restart command."""

from __future__ import annotations

import json

from auditor import kinds as K
from tests import factory as f


def test_pods_with_true_pass(audit):
    cart = f.deployment("cart")
    run = audit({"c1": [*cart, *f.workload_pods(cart, 2, xds_agent="true")]}, "migrating")
    [row] = run.rows("pods-xds-agent")
    assert (row["status"], row["code"], row["evidence"]["workloads_ok"]) == ("PASS", "AA1101", 1)


def test_false_fails_like_absent_one_finding_per_workload(audit):
    cart = f.deployment("cart")
    web = f.deployment("web", "front")
    pods = [*f.workload_pods(cart, 1, xds_agent="false"), *f.workload_pods(cart, 2, xds_agent="true")[1:],
            *f.workload_pods(web, 2, xds_agent=None)]
    run = audit({"c1": [*cart, *web, *pods]}, "migrating")
    rows = run.by_name("pods-xds-agent")
    assert set(rows) == {"cart", "web"}  # no PASS row: no workload is fully done
    assert (rows["cart"]["status"], rows["cart"]["code"], rows["cart"]["evidence"]["pod_count"]) == (
        "FAIL", "AA1110", 2)
    assert rows["cart"]["evidence"]["values"] == {"false": 1}  # the seed's grep would have passed this pod
    assert rows["web"]["evidence"]["values"] == {"<absent>": 2}
    assert rows["cart"]["remediation"] == ("kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n shop "
                                           "rollout restart deployment/cart")
    assert rows["web"]["remediation"].endswith("-n front rollout restart deployment/web")
    assert rows["web"]["severity"] == "blocker"


def test_value_is_read_as_pilot_agent_parses_it(audit):
    """pilot-agent reads PROXY_CONFIG_XDS_AGENT with env.Register(..., false, ...), a bool parsed by Go's
    strconv.ParseBool, the default (false) for anything it cannot parse (istio/istio@1.30.3 pkg/env/var.go,
    pilot/cmd/pilot-agent/options/options.go; the same @1.22.3, 1.24.0): "True" and "1" are on (main: FAIL AA1110,
    a restart asked for pods that have the setting), "yes", "on" and " true" are off."""
    on = [f.pod(name, owner=None, xds_agent=value) for name, value in (("a", "True"), ("b", "1"), ("c", "TRUE"),
                                                                       ("d", "t"))]
    [row] = audit({"c1": on}, "migrating").rows("pods-xds-agent")
    assert (row["status"], row["code"]) == ("PASS", "AA1101")
    off = [f.pod(name, owner=None, xds_agent=value) for name, value in (("e", "yes"), ("g", "on"), ("h", " true"))]
    rows = audit({"c1": off}, "migrating").by_name("pods-xds-agent")
    assert {name: (row["status"], row["code"]) for name, row in rows.items()} == {
        name: ("FAIL", "AA1110") for name in ("e", "g", "h")}
    assert "delete pod/e" in rows["e"]["remediation"]


def test_the_value_only_inside_proxy_config_json_is_not_the_agents(audit):
    """pilot-agent reads PROXY_CONFIG_XDS_AGENT from its own environment, once at start (pilot/cmd/pilot-agent/
    options/options.go @1.22.0..1.30.3: env.Register(...).Get()); of PROXY_CONFIG's proxyMetadata it takes only the
    ISTIO_META_* keys, into node metadata (pkg/bootstrap/config.go GetNodeMetaData). A pod whose key is only in the
    JSON runs without it: main said PASS."""
    pod = f.pod("a", owner=None, xds_agent=None)
    env = pod["spec"]["containers"][1]["env"]
    for item in env:
        if item["name"] == "PROXY_CONFIG":
            item["value"] = json.dumps({"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "true"}})
    [row] = audit({"c1": [pod]}, "migrating").rows("pods-xds-agent")
    assert row["status"] == "FAIL"


def test_istio_gateways_are_checked_asm_proxies_are_not(audit):
    gw = f.deployment("istio-ingressgateway", "istio-system",
                      template_labels={"app": "istio-ingressgateway", "istio": "ingressgateway"})
    moved = f.deployment("cart")
    pods = [*f.workload_pods(gw, 1, gateway=True, xds_agent=None), *f.workload_pods(moved, 2, proxy="asm",
                                                                                    xds_agent=None)]
    rows = audit({"c1": [*gw, *moved, *pods]}, "migrating").rows("pods-xds-agent")
    [row] = rows
    assert row["name"] == "istio-ingressgateway" and row["status"] == "FAIL"
    assert (row["code"], row["severity"], row["evidence"]["gateway"]) == ("AA1111", "major", True)


def test_no_istio_proxy_left_passes(audit):
    [row] = audit({"c1": [f.pod("a", owner=None, proxy="asm")]}, "migrating").rows("pods-xds-agent")
    assert (row["status"], row["code"], row["evidence"]["workloads_ok"]) == ("PASS", "AA1102", 0)


def test_unreadable_pods_are_unknown(audit):
    [row] = audit({"c1": []}, "migrating", unreadable={"c1": {K.POD: "403 Forbidden"}}).rows("pods-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "403 Forbidden" in row["message"]  # the recorded error, verbatim


def test_eastwest_gateway_passes_mtls_through_and_is_not_checked(audit):
    ew = f.deployment("istio-eastwestgateway", "istio-system",
                      template_labels={"app": "istio-eastwestgateway", "istio": "eastwestgateway"})
    cart = f.deployment("cart")
    pods = [*f.workload_pods(ew, 2, gateway=True, xds_agent=None), *f.workload_pods(cart, 1)]
    [row] = audit({"c1": [*ew, *cart, *pods]}, "migrating").rows("pods-xds-agent")
    assert row["status"] == "PASS" and row["evidence"]["eastwest_gateway_pods_skipped"] == 2


def test_the_pod_annotation_proxy_metadata_is_not_the_agents(audit):
    """red21h, checked and no defect: pilot-agent applies the pod's proxy.istio.io/config annotation last, over
    PROXY_CONFIG (pilot/cmd/pilot-agent/config/config.go getMeshConfig @1.22.3), but PROXY_CONFIG_XDS_AGENT is read
    once from the process environment at package init (options.go env.Register(...).Get(): EnableDynamicProxyConfig,
    options/agent.go) and pilot-agent sets no env var from proxyMetadata (no os.Setenv under pilot/cmd, pkg/istio-agent,
    pkg/bootstrap @1.22.3). The injector merges the annotation (and a ProxyConfig CR's environmentVariables:
    pilot/pkg/model/proxy_config.go toMeshConfigProxyConfig) into the env it writes, so the env alone decides."""
    cart, web = f.deployment("cart"), f.deployment("web")
    off = {"proxy.istio.io/config": "proxyMetadata:\n  PROXY_CONFIG_XDS_AGENT: \"false\"\n"}
    run = audit({"c1": [*cart, *web, *f.workload_pods(cart, 2, xds_agent="true", annotations=off),
                        *f.workload_pods(web, 1, xds_agent="false", annotations=off)]}, "migrating")
    rows = run.by_name("pods-xds-agent")
    assert (rows["web"]["status"], rows["web"]["code"]) == ("FAIL", "AA1110")
    assert [(r["status"], r["code"], r["evidence"]["workloads_ok"]) for r in run.rows("pods-xds-agent")
            if r["status"] == "PASS"] == [("PASS", "AA1101", 1)]
