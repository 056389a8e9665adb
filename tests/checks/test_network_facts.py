"""The report's cluster facts (findings.json `clusters[].network`, the HTML/PDF clusters table) tell each cluster's
network by network-consistency's own rule (auditor/network.py), not by the istio-system label alone.

Fleets as tests/checks/test_multicluster.py builds them from the istio.io multicluster guides: a primary-remote install
whose remote cluster skipped the (separate) istio-system label step, so its network is only in the injector webhook's
path (istiodRemote.injectionPath /inject/cluster/<cluster>/net/<network>: istio.io content/en/docs/setup/install/
multicluster/primary-remote_multi-network/snips.sh; manifests/charts/istio-control/istio-discovery/templates/
mutatingwebhook.yaml @1.30.3) or in the Helm values record (ConfigMap `values`, templates/configmap-values.yaml
@1.30.3), which the injector turns into each pod's network (pkg/kube/inject/webhook.go parseInjectEnvs @1.30.3).
"""

from __future__ import annotations

import html as html_lib
import json

from auditor.render import json_out
from auditor.render.html import html_document
from tests.checks.test_multicluster import CHECK, ONLY_NETWORK, answer, primary, remote


def facts(a) -> dict[str, dict]:
    return {c["name"]: c for c in a.result.clusters if c["role"] == "data-plane"}


def check_row(a, cluster: str) -> dict:
    return next(r for r in a.rows(CHECK) if r["cluster"] == cluster and r["kind"] == "Namespace")


def test_remote_network_only_in_the_injection_path_is_the_reports_network_too(audit):
    """network-consistency tells the remote's network from its webhook path; main's facts read only the istio-system
    label and reported network null (findings.json) and "-" (clusters table) beside the check's network1."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network1", path_network="network1")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network1", False)))
    row = check_row(a, "cluster-b")
    assert (row["status"], row["code"]) == ("PASS", "AA1901")
    b = facts(a)["cluster-b"]
    assert b["network"] == row["evidence"]["istio_network"] == "network1"
    assert b["network_sources"] == row["evidence"]["istio_sources"] == [
        "MutatingWebhookConfiguration istio-sidecar-injector injection path net: network1"]
    assert b["network_note"] is None
    # The primary, by its istio-system label first, as the check.
    assert facts(a)["cluster-a"]["network"] == check_row(a, "cluster-a")["evidence"]["istio_network"] == "network1"
    doc = json.loads(json_out.dumps(a.result))
    assert {c["name"]: c["network"] for c in doc["clusters"] if c["role"] == "data-plane"} == {
        "cluster-a": "network1", "cluster-b": "network1"}
    table = html_document(a.result).split('class="grid clusters"', 1)[1].split("</table>", 1)[0]
    assert "cluster-b" in table and "network1 / network1" in table


def test_every_gate_reports_the_injection_path_network(audit):
    """The clusters table reads the injector webhooks whatever the gate (engine facts), so a setup report (whose checks
    read no webhook) shows the remote's network too; main showed it at no gate."""
    for gate in ("setup", "assessment", "finished"):
        a = audit({"cluster-a": primary("cluster1", "network1"),
                   "cluster-b": remote("cluster2", "network2", path_network="network2")}, gate, asm=[])
        assert facts(a)["cluster-b"]["network"] == "network2", gate
        assert facts(a)["cluster-b"]["network_note"] is None, gate


def test_sources_that_disagree_are_said_beside_the_first(audit):
    """istio-system says network2, the injection path (the label of every injected pod) network1: the check is
    UNKNOWN AA1937; the facts give the first source, as the check's evidence does, and say the others disagree."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network2", label=True, path_network="network1")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network2", False)))
    row = check_row(a, "cluster-b")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1937")
    b = facts(a)["cluster-b"]
    assert b["network"] == row["evidence"]["istio_network"] == "network2"
    assert b["network_sources"] == row["evidence"]["istio_sources"]
    assert "disagree" in b["network_note"] and "network1" in b["network_note"]
    table = html_document(a.result).split('class="grid clusters"', 1)[1].split("</table>", 1)[0]
    assert b["network_note"] in html_lib.unescape(table)


def test_network_in_the_helm_values_record_is_not_known_where_configmaps_are_not_read(audit):
    """The Helm values record is a ConfigMap, which the setup gate's checks but istio-version do not read (istio-version
    reads it for a remote cluster's control-plane address: auditor/remote.remote_addresses): without it, the report
    does not call the cluster network-less, it says the network is not known and why (main: null, silently). The
    migrating gate reads it and reports the check's network."""
    clusters = {"cluster-a": primary("cluster1", "network1"),
                "cluster-b": remote("cluster2", "network2", values_network="network2")}
    # migration-resource reads ConfigMaps too (the cluster's ack-cluster-profile): off, as istio-version is.
    off = {"checks": {"disable": ["istio-version", "migration-resource"]}}
    setup = facts(audit(clusters, "setup", asm=[], config=off))["cluster-b"]
    assert setup["network"] is None
    assert "not known" in setup["network_note"] and "ConfigMap" in setup["network_note"]
    a = audit(clusters, "migrating", asm=[], config=ONLY_NETWORK,
              asm_openapi=answer(c_a=("network1", True), c_b=("network2", False)))
    assert facts(a)["cluster-b"]["network"] == check_row(a, "cluster-b")["evidence"]["istio_network"] == "network2"
    assert facts(a)["cluster-b"]["network_note"] is None


def test_a_single_network_cluster_read_whole_has_no_network_and_no_note(audit):
    a = audit({"cluster-a": primary("cluster1", "", eastwest=False, label=False)}, "migrating", asm=[],
              config=ONLY_NETWORK)
    assert check_row(a, "cluster-a")["code"] == "AA1940"
    assert (facts(a)["cluster-a"]["network"], facts(a)["cluster-a"]["network_note"]) == (None, None)


def test_a_malformed_values_record_leaves_the_network_unknown_not_the_audit_crashed(audit):
    """`global` that is not a map in the injector's values: the check's judgement of the cluster is UNKNOWN (the
    engine's guard); the facts say the network is not known instead of failing the report (exit 4)."""
    objs = primary("cluster1", "network1", label=False)
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio-sidecar-injector")
    cm["data"]["values"] = json.dumps({"global": ["network1"]})
    a = audit({"cluster-a": objs}, "migrating", asm=[], config=ONLY_NETWORK)
    assert [r["status"] for r in a.rows(CHECK)] == ["UNKNOWN"]
    a_facts = facts(a)["cluster-a"]
    assert a_facts["network"] is None and "not known" in a_facts["network_note"]
    assert a.result.exit_code == 3
