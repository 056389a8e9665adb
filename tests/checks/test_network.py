"""network-consistency through the real engine: Istio's network per cluster vs ASM's settings."""

from __future__ import annotations

import json

from auditor import kinds as K
from tests import factory as f

CHECK = "network-consistency"
IDS = {"cluster-a": "c-a", "cluster-b": "c-b"}


def istio_system(network: str | None) -> dict:
    labels = {"kubernetes.io/metadata.name": "istio-system"}
    if network:
        labels["topology.istio.io/network"] = network
    return f.namespace("istio-system", labels=labels)


def eastwest(network: str) -> list[dict]:
    return [f.gateway_deployment("istio-eastwestgateway", labels={"topology.istio.io/network": network}),
            f.gateway_service("istio-eastwestgateway", ports=[15021, 15443],
                              labels={"istio": "eastwestgateway", "topology.istio.io/network": network})]


def answer(**by_id: tuple[str, bool]) -> dict:
    """A saved DescribeMeshMultiClusterNetwork answer: cluster id -> (Network, EnableGateway)."""
    return {"DescribeMeshMultiClusterNetwork": {"RequestId": "9B3E7C21", "MultiClusterNetworks": {
        cid.replace("_", "-"): {"Network": net, "EnableGateway": gw, "GatewayName": "asm-cross-network-m1",
                                "CustomGatewayAddress": ""} for cid, (net, gw) in by_id.items()}}}


def rows_by_kind(a) -> dict[str, dict]:
    return {(r["cluster"], r["kind"]): r for r in a.rows(CHECK)}


def codes_by_kind(a) -> dict[tuple[str, str], tuple[str, str]]:
    """(cluster, kind) -> (status, code)."""
    return {key: (r["status"], r["code"]) for key, r in rows_by_kind(a).items()}


def test_pass_with_openapi_answer_and_gateway_switch(audit):
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")],
               "cluster-b": [istio_system("network-2"), *eastwest("network-2")]}, "migrating", asm=[],
              config={"asm": {"cluster_ids": IDS}},
              asm_openapi=answer(c_a=("network-1", True), c_b=("network-2", True)))
    rows = rows_by_kind(a)
    assert codes_by_kind(a) == {
        ("cluster-a", "Namespace"): ("PASS", "AA1901"), ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902"),
        ("cluster-b", "Namespace"): ("PASS", "AA1901"), ("cluster-b", "MultiClusterNetwork"): ("PASS", "AA1902")}
    assert "network-1" in rows[("cluster-a", "Namespace")]["message"]
    assert rows[("cluster-a", "Namespace")]["evidence"]["asm_source"].startswith("ASM OpenAPI")


def test_fail_on_mismatch_and_switch_off(audit):
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "uninstall", asm=[],
              config={"asm": {"cluster_ids": IDS}}, asm_openapi=answer(c_a=("network-2", False)))
    rows = rows_by_kind(a)
    net = rows[("cluster-a", "Namespace")]
    assert codes_by_kind(a) == {("cluster-a", "Namespace"): ("FAIL", "AA1910"),
                                ("cluster-a", "MultiClusterNetwork"): ("FAIL", "AA1912")}
    assert "set the cluster's network to network-1" in net["remediation"]  # the fix template, filled
    assert rows[("cluster-a", "MultiClusterNetwork")]["remediation"].endswith("Mesh Proxy' for cluster-a")


def test_config_networks_and_answer_file(audit, tmp_path):
    """A saved answer file is ASM's own word: its network-9 is judged over the typed asm.networks network-1 (red22g:
    the typed one passed AA1901), and it supplies EnableGateway."""
    saved = tmp_path / "networks.json"
    saved.write_text(json.dumps(answer(c_a=("network-9", True))["DescribeMeshMultiClusterNetwork"]))
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating", asm=[],
              config={"asm": {"cluster_ids": IDS, "networks": {"cluster-a": "network-1"},
                              "multi_cluster_network": str(saved)}})
    rows = rows_by_kind(a)
    assert codes_by_kind(a) == {("cluster-a", "Namespace"): ("FAIL", "AA1910"),
                                ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902")}
    assert rows[("cluster-a", "Namespace")]["evidence"]["asm_source"].endswith(str(saved))
    assert rows[("cluster-a", "Namespace")]["evidence"]["asm_network_given"]["source"] == "config asm.networks"


def test_fail_when_answer_lacks_the_cluster(audit):
    a = audit({"cluster-a": [istio_system("network-1")]}, "migrating", asm=[],
              config={"asm": {"cluster_ids": IDS}}, asm_openapi=answer(c_b=("network-2", True)))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1911")
    assert "set the cluster's network to network-1" in row["remediation"]


def test_unknown_without_asm_side_says_how_to_provide(audit):
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating", asm=[])
    rows = rows_by_kind(a)
    net = rows[("cluster-a", "Namespace")]
    assert codes_by_kind(a) == {("cluster-a", "Namespace"): ("UNKNOWN", "AA1930"),
                                ("cluster-a", "MultiClusterNetwork"): ("UNKNOWN", "AA1934")}
    # the settings and the OpenAPI call that provide ASM's side
    assert "asm.networks" in net["remediation"] and "DescribeMeshMultiClusterNetwork" in net["remediation"]


def test_unknown_when_cluster_id_missing(audit):
    a = audit({"cluster-a": [istio_system("network-1")]}, "migrating", asm=[],
              asm_openapi=answer(c_a=("network-1", True)))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1932") and "asm.cluster_ids" in row["remediation"]


def test_unknown_when_namespaces_unreadable(audit):
    a = audit({"cluster-a": [istio_system("network-1")]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-a": "network-1"}}},
              unreadable={"cluster-a": {K.NAMESPACE: "forbidden: cannot list namespaces"}})
    (row,) = a.rows(CHECK)
    assert row["status"] == "UNKNOWN" and "forbidden" in row["message"]  # the API server's reason, quoted


def test_not_applicable_single_network_and_warn_if_asm_sets_one(audit):
    a = audit({"cluster-a": [istio_system(None), f.istiod()]}, "migrating", asm=[])
    assert list(codes_by_kind(a).values()) == [("NOT_APPLICABLE", "AA1940")]
    a = audit({"cluster-a": [istio_system(None), f.istiod()]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-a": "network-1"}}})
    assert list(codes_by_kind(a).values()) == [("WARN", "AA1920")]


def test_istio_network_from_injector_values_and_eastwest_label(audit):
    injector = f.configmap("istio-sidecar-injector", "istio-system",
                           {"values": json.dumps({"global": {"network": "net-x", "hub": "docker.io/istio"}}),
                            "config": "policy: enabled"})
    a = audit({"cluster-a": [istio_system(None), injector]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-a": "net-x"}}})
    (row,) = a.rows(CHECK)
    assert row["status"] == "PASS"
    assert row["evidence"]["istio_sources"] == ["ConfigMap istio-system/istio-sidecar-injector values global.network: "
                                                "net-x"]
    # no namespace label: the east-west gateway's own network label tells it
    a = audit({"cluster-a": [istio_system(None), *eastwest("net-y")]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-a": "net-z"}}})
    assert codes_by_kind(a)[("cluster-a", "Namespace")] == ("FAIL", "AA1910")


def test_switch_inferred_from_cross_network_istiogateway(audit):
    cr = f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"])
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating", asm=[cr],
              config={"asm": {"cluster_ids": IDS, "networks": {"cluster-a": "network-1"}}})
    switch = rows_by_kind(a)[("cluster-a", "MultiClusterNetwork")]
    assert (switch["status"], switch["code"]) == ("PASS", "AA1903") and "asm-cross-network-m1" in switch["message"]
    # Being deleted (`kubectl delete --cascade=foreground`: deletionTimestamp, finalizer foregroundDeletion, kept by
    # apiserver registry/generic/registry/store.go), it shows no switch that stays on (turning the switch off may be
    # what deletes it): not PASS (red20c's note).
    cr["metadata"].update(deletionTimestamp="2026-12-07T05:00:00Z", deletionGracePeriodSeconds=0,
                          finalizers=["foregroundDeletion"])
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating", asm=[cr],
              config={"asm": {"cluster_ids": IDS, "networks": {"cluster-a": "network-1"}}})
    switch = rows_by_kind(a)[("cluster-a", "MultiClusterNetwork")]
    assert (switch["status"], switch["code"]) == ("UNKNOWN", "AA1934")


def test_fleet_file_networks_reach_the_check(audit):
    """A fleet file's `network:` (carried in a snapshot, here in the manifest's older asm_openapi place) is the
    cluster's network in ASM like config asm.networks, which wins over it."""
    a = audit({"cluster-a": [istio_system("network-1")], "cluster-b": [istio_system("network-2")]}, "migrating",
              asm=[], asm_openapi={"_config_networks": {"cluster-a": "network-1", "cluster-b": "network-1"}},
              config={"asm": {"networks": {"cluster-b": "network-2"}}})
    rows = rows_by_kind(a)
    assert [(r["status"], r["code"], r["evidence"]["asm_source"]) for r in rows.values()] == [
        ("PASS", "AA1901", "fleet file network"), ("PASS", "AA1901", "config asm.networks")]
    assert {c["name"]: c["asm_network"] for c in a.result.clusters if c["role"] == "data-plane"} == {
        "cluster-a": "network-1", "cluster-b": "network-2"}




def test_unknown_when_istio_network_not_found_or_asm_not_given(audit):
    # an east-west gateway without any network label: Istio's network cannot be told
    bare = [f.gateway_deployment("istio-eastwestgateway"),
            f.gateway_service("istio-eastwestgateway", ports=[15021, 15443], labels={"istio": "eastwestgateway"})]
    a = audit({"cluster-a": [istio_system(None), *bare]}, "migrating", asm=[],
              config={"asm": {"networks": {"cluster-a": "network-1"}}})
    assert codes_by_kind(a)[("cluster-a", "Namespace")] == ("UNKNOWN", "AA1931")
    # no ASM control plane given: the switch cannot be told from its IstioGateways either
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating",
              config={"asm": {"networks": {"cluster-a": "network-1"}}})
    assert codes_by_kind(a) == {("cluster-a", "Namespace"): ("PASS", "AA1901"),
                                ("cluster-a", "MultiClusterNetwork"): ("UNKNOWN", "AA1933")}


def istiod_with_cluster_id(cluster_id: str = "Kubernetes") -> dict:
    """istiod as the istio-discovery chart renders it: env CLUSTER_ID from global.multiCluster.clusterName, default
    `Kubernetes` (manifests/charts/istio-control/istio-discovery/templates/deployment.yaml at 1.22.3)."""
    dep = f.istiod()
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "CLUSTER_ID", "value": cluster_id}]
    return dep


def mesh_configmap_with_networks(mesh_networks: str) -> dict:
    """The chart's mesh ConfigMap `istio` carries `meshNetworks` beside `mesh` (istio-discovery
    templates/configmap.yaml at 1.22.3: `meshNetworks: |-` then `networks:` and global.meshNetworks as YAML)."""
    cm = f.mesh_configmap()
    cm["data"]["meshNetworks"] = mesh_networks
    return cm


def test_network_from_mesh_networks_matching_the_cluster_id(audit):
    networks = "networks:\n  network-1:\n    endpoints:\n    - fromRegistry: Kubernetes\n    gateways:\n" \
               "    - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local\n      port: 15443\n"
    a = audit({"cluster-a": [istio_system(None), istiod_with_cluster_id(), mesh_configmap_with_networks(networks)]},
              "migrating", asm=[], config={"asm": {"networks": {"cluster-a": "network-1"}}})
    assert list(codes_by_kind(a).values()) == [("PASS", "AA1901")]


def test_unreadable_mesh_networks_is_unknown_not_single_network(audit):
    """A meshNetworks that does not parse may hold the cluster's network: before, the check said N/A (AA1940,
    counted toward GO) as if Istio gave the cluster none; a list where the map belongs crashed it."""
    tabbed = "networks:\n\tnetwork-1:\n\t\tendpoints:\n\t\t- fromRegistry: Kubernetes\n"  # YAML forbids tabs
    for broken in (tabbed, "networks:\n- network-1\n", "networks:\n  network-1: [fromRegistry]\n"):
        a = audit({"cluster-a": [istio_system(None), istiod_with_cluster_id(), mesh_configmap_with_networks(broken)]},
                  "migrating", asm=[], config={"asm": {"networks": {"cluster-a": "network-1"}}})
        assert list(codes_by_kind(a).values()) == [("UNKNOWN", "AA1935")], broken


def test_camel_case_answer_as_the_typescript_sdk_serialises_it(audit):
    """The servicemesh 2020-01-11 TypeScript SDK's models (DescribeMeshMultiClusterNetworkResponseBody,
    MultiClusterNetworksValue) hold the answer as multiClusterNetworks / network / enableGateway / gatewayName:
    JSON.stringify of the model saves that spelling."""
    saved = {"DescribeMeshMultiClusterNetwork": {"requestId": "71680038-8009-5073", "multiClusterNetworks": {
        "c-a": {"network": "network-1", "enableGateway": True, "gatewayName": "asm-cross-network-ccb37ff104",
                "customGatewayAddress": ""},
        "c-b": {"network": "network-3", "enableGateway": False, "gatewayName": "", "customGatewayAddress": ""}}}}
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")],
               "cluster-b": [istio_system("network-2"), *eastwest("network-2")]}, "migrating", asm=[],
              config={"asm": {"cluster_ids": IDS}}, asm_openapi=saved)
    assert codes_by_kind(a) == {
        ("cluster-a", "Namespace"): ("PASS", "AA1901"), ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902"),
        ("cluster-b", "Namespace"): ("FAIL", "AA1910"), ("cluster-b", "MultiClusterNetwork"): ("FAIL", "AA1912")}


def test_mesh_networks_name_an_istiod_without_cluster_id_by_istiods_default(audit):
    """An istiod Deployment without CLUSTER_ID in its env (a hand-written manifest: the charts always write it) runs
    with istiod's default cluster id `Kubernetes` (pilot/pkg/features/pilot.go @1.30.3: CLUSTER_ID defaults to
    constants.DefaultClusterName), which a meshNetworks `fromRegistry: Kubernetes` names: the cluster's network is
    network-1, not none. Before, only a literal CLUSTER_ID was matched: no network found (N/A AA1940 or WARN beside
    ASM's), where ASM's network-2 differs (FAIL AA1910)."""
    networks = "networks:\n  network-1:\n    endpoints:\n    - fromRegistry: Kubernetes\n    gateways:\n" \
               "    - registryServiceName: istio-eastwestgateway.istio-system.svc.cluster.local\n      port: 15443\n"
    bare = f.istiod()
    assert "env" not in bare["spec"]["template"]["spec"]["containers"][0]
    for asm_network, expected in (("network-1", ("PASS", "AA1901")), ("network-2", ("FAIL", "AA1910"))):
        a = audit({"cluster-a": [istio_system(None), bare, mesh_configmap_with_networks(networks)]},
                  "migrating", asm=[], config={"asm": {"networks": {"cluster-a": asm_network}}})
        assert list(codes_by_kind(a).values()) == [expected], asm_network
