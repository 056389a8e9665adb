"""Istio multi-cluster installs through the real engine, as a fleet: multi-primary on two networks, primary-remote,
multi-primary on one network; east-west gateways made by istioctl (gen-eastwest-gateway.sh) or by the gateway chart.

Shapes, from github:istio/istio (path@tag) and github:istio/istio.io (the install guides' snips.sh, whose commands
the docs tests run):
- primary: istio.io content/en/docs/setup/install/multicluster/multi-primary_multi-network/snips.sh (IstioOperator
  values.global.meshID / multiCluster.clusterName / network; the istio-system label topology.istio.io/network);
  istiod env CLUSTER_ID from global.multiCluster.clusterName (manifests/charts/istio-control/istio-discovery/
  templates/deployment.yaml@1.22.8); the injector's ConfigMap istio-sidecar-injector, `values` the JSON of global,
  sidecarInjectorWebhook, revision, pilot, gateways (templates/istiod-injector-configmap.yaml@1.22.8); sidecars'
  ISTIO_META_CLUSTER_ID / ISTIO_META_NETWORK / ISTIO_META_MESH_ID (files/injection-template.yaml@1.22.8).
- east-west gateway: samples/multicluster/gen-eastwest-gateway.sh and expose-services.yaml@1.22.8, 1.26.8, 1.30.3
  (tests/install_shapes.eastwest); or `helm install <release> istio/gateway --set networkGateway=<network>` (the
  guides' Helm tab): the network label on the Service only up to 1.24.6, on the pods too from 1.26.8, ports
  15021/15443/15012/15017, env ISTIO_META_REQUESTED_NETWORK_VIEW (manifests/charts/gateway/templates/
  {service,deployment}.yaml@1.22.8, 1.30.3).
- remote: istio.io content/en/docs/setup/install/multicluster/primary-remote_multi-network/snips.sh (profile remote,
  istiodRemote.injectionPath /inject/cluster/<cluster>/net/<network>, Helm also --set global.network; label
  istio-system topology.istio.io/network as a separate, skippable step); manifests/helm-profiles/remote.yaml@1.30.3
  (omitSidecarInjectorConfigMap, configMap false: no injector ConfigMap, no mesh ConfigMap, no istiod);
  templates/mutatingwebhook.yaml (clientConfig.service.path from istiodRemote.injectionPath) and
  configmap-values.yaml@1.26.8, 1.30.3 (ConfigMap `values`: merged-values, the Helm values as JSON); the injector
  turns the path into ISTIO_META_NETWORK and labels each pod it injects topology.istio.io/network
  (pkg/kube/inject/webhook.go parseInjectEnvs, applyMetadata @1.30.3), the label istiod reads first for an
  endpoint's network (pilot/pkg/serviceregistry/kube/controller/controller.go Network @1.30.3).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor import kinds as K
from checks.network import inject_path_envs
from tests import factory as f
from tests import install_shapes as S

CHECK = "network-consistency"
IDS = {"cluster-a": "c-a", "cluster-b": "c-b"}
ONLY_NETWORK = {**f.only_checks(CHECK), "asm": {"cluster_ids": IDS}}


def answer(**by_id: tuple[str, bool]) -> dict:
    """A saved DescribeMeshMultiClusterNetwork answer (shape: tests/fake_asm_openapi.py): id -> (Network, gateway)."""
    return {"DescribeMeshMultiClusterNetwork": {"RequestId": "5E1C0A7B", "MultiClusterNetworks": {
        cid.replace("_", "-"): {"Network": net, "EnableGateway": gw, "GatewayName": "asm-cross-network-m1",
                                "CustomGatewayAddress": ""} for cid, (net, gw) in by_id.items()}}}


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]
    return [*spec.get("containers", ()), *spec.get("initContainers", ())]


def _set_env(container: dict[str, Any], name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for item in env:
        if item["name"] == name:
            item["value"] = value
            return
    env.append({"name": name, "value": value})


def _istio_system(objs: list[dict[str, Any]], network: str | None) -> dict[str, Any]:
    ns = next(o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == S.ISTIO_NS)
    ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": S.ISTIO_NS,
                                **({"topology.istio.io/network": network} if network else {})}
    return ns


def _injected(objs: list[dict[str, Any]], cluster_name: str, network: str, *, pod_label: bool) -> None:
    """What the injector writes into each pod of a multi-cluster mesh (injection-template.yaml@1.22.8; the pod label
    only when the webhook path names the network: applyMetadata, webhook.go@1.30.3)."""
    for obj in objs:
        if obj["kind"] != "Pod" or "sidecar.istio.io/status" not in (obj["metadata"].get("annotations") or {}):
            continue
        for container in _containers(obj):
            if container["name"] == "istio-proxy":
                _set_env(container, "ISTIO_META_CLUSTER_ID", cluster_name)
                _set_env(container, "ISTIO_META_NETWORK", network)
                _set_env(container, "ISTIO_META_MESH_ID", "mesh1")
        if pod_label:
            obj["metadata"].setdefault("labels", {})["topology.istio.io/network"] = network


def injector_configmap(inj: S.Injector, cluster_name: str, network: str) -> dict[str, Any]:
    """ConfigMap istio-sidecar-injector (istiod-injector-configmap.yaml@1.22.8): `values` is toPrettyJson."""
    values = {"gateways": {"securityContext": {}}, "global": {
        "hub": inj.hub, "tag": inj.version, "meshID": "mesh1", "multiCluster": {"clusterName": cluster_name},
        "network": network, "istioNamespace": S.ISTIO_NS}, "pilot": {"cni": {"enabled": False}}, "revision": "",
        "sidecarInjectorWebhook": {"defaultTemplates": [], "rewriteAppHTTPProbe": True}}
    data = {"values": json.dumps(values, indent=2), "config": "defaultTemplates: [sidecar]\npolicy: enabled"}
    return f.configmap("istio-sidecar-injector", S.ISTIO_NS, data, labels={
        "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "installed-state",
        "operator.istio.io/component": "Pilot", "release": "istio"})


def primary(cluster_name: str, network: str, *, eastwest: bool = True, label: bool = True,
            version: str = "1.22.8") -> list[dict[str, Any]]:
    """A primary cluster installed with istioctl (network set in values and, per the guide, on istio-system); with
    the east-west gateway of gen-eastwest-gateway.sh --network and expose-services.yaml."""
    shape = S.eastwest(version, network) if eastwest else S.istioctl_profile("minimal", version)
    objs = shape.objects
    _istio_system(objs, network if label else None)
    objs.append(injector_configmap(S.Injector(version), cluster_name, network))
    for obj in objs:
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
            _set_env(_containers(obj)[0], "CLUSTER_ID", cluster_name)
    _injected(objs, cluster_name, network, pod_label=False)
    return objs


def remote(cluster_name: str, network: str, *, label: bool = False, path_network: str | None = None,
           values_network: str | None = None, version: str = "1.30.3") -> list[dict[str, Any]]:
    """A remote cluster (profile remote: no istiod, no injector or mesh ConfigMap). `path_network`: the network in
    istiodRemote.injectionPath (None: the chart's default path /inject); `values_network`: global.network in the
    Helm values record (ConfigMap `values`, from 1.26); `label`: the guide's istio-system label step was done."""
    objs = S.remote_shape(version, primary="istiod.cluster-a.example.com").objects
    ns = _istio_system(objs, network if label else None)
    ns["metadata"]["annotations"] = {"topology.istio.io/controlPlaneClusters": "cluster1"}
    path = f"/inject/cluster/{cluster_name}/net/{path_network}" if path_network else "/inject"
    for obj in objs:
        if obj["kind"] == "MutatingWebhookConfiguration":
            for hook in obj["webhooks"]:
                hook["clientConfig"]["service"]["path"] = path
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "values":
            merged = {"global": {"meshID": "mesh1", "multiCluster": {"clusterName": cluster_name},
                                 "network": values_network or "", "remotePilotAddress": "istiod.cluster-a.example.com",
                                 "omitSidecarInjectorConfigMap": True},
                      "istiodRemote": {"enabled": True, "injectionPath": path}, "configMap": False, "revision": ""}
            obj["data"]["merged-values"] = json.dumps(merged, indent=2)
    # The primary's injector serves these pods: the path's network if any, else the primary's own global.network.
    _injected(objs, cluster_name, path_network or "network1", pod_label=bool(path_network))
    return objs


def helm_eastwest(network: str, release: str = "istio-eastwestgateway", version: str = "1.22.8"
                  ) -> list[dict[str, Any]]:
    """`helm install <release> istio/gateway -n istio-system --set networkGateway=<network>`."""
    objs = S.helm_gateway(S.Injector(version), release, S.ISTIO_NS)[1:]  # istio-system exists already
    minor = int(version.split(".")[1])
    for obj in objs:
        if obj["kind"] == "Service":
            obj["metadata"]["labels"]["topology.istio.io/network"] = network
            obj["spec"]["ports"] = [{"name": n, "port": p, "protocol": "TCP", "targetPort": p} for n, p in (
                ("status-port", 15021), ("tls", 15443), ("tls-istiod", 15012), ("tls-webhook", 15017))]
        elif obj["kind"] in ("Deployment", "ReplicaSet", "Pod"):
            if minor >= 26 and obj["kind"] != "Pod":
                obj["spec"]["template"]["metadata"]["labels"]["topology.istio.io/network"] = network
            for container in _containers(obj):
                _set_env(container, "ISTIO_META_REQUESTED_NETWORK_VIEW", network)
    return objs


def codes(a) -> dict[tuple[str, str], tuple[str, str]]:
    """(cluster, subject kind) -> (status, code) of network-consistency."""
    return {(r["cluster"], r["kind"]): (r["status"], r["code"]) for r in a.rows(CHECK)}


def test_inject_path_envs_as_istiod_parses_them():
    assert inject_path_envs("/inject/cluster/cluster2/net/network2") == {
        "ISTIO_META_CLUSTER_ID": "cluster2", "ISTIO_META_NETWORK": "network2"}
    assert inject_path_envs("/inject/net/a--slash--b/") == {"ISTIO_META_NETWORK": "a/b"}
    assert inject_path_envs("/inject/:ENV:cluster=c2:ENV:net=n2") == {"ISTIO_META_CLUSTER_ID": "c2",
                                                                       "ISTIO_META_NETWORK": "n2"}
    assert inject_path_envs("/inject") == {} and inject_path_envs("/inject/net") == {}


@pytest.mark.parametrize(("asm_networks", "expected"), [
    ({"c_a": ("network1", True), "c_b": ("network2", False)}, ("FAIL", "AA1910")),  # main: WARN AA1920 (GO)
    ({"c_a": ("network1", True)}, ("FAIL", "AA1911")),                              # main: N/A AA1940 (GO)
    ({"c_a": ("network1", True), "c_b": ("network1", False)}, ("PASS", "AA1901")),  # main: WARN AA1920
])
def test_remote_network_only_in_the_injection_path_is_istios(audit, asm_networks, expected):
    """A remote cluster on the primary's network, installed by the guide but for the (separate) istio-system label
    step, and no east-west gateway of its own (its network is the primary's): the network is only in the injector
    webhook's path, which labels every pod istiod sees. Main read neither and called the cluster network-less:
    a WARN (minor) or NOT_APPLICABLE, a GO for a cluster ASM puts in another network or in none."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network1", path_network="network1")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(**asm_networks))
    assert codes(a)[("cluster-b", "Namespace")] == expected
    assert a.result.verdict.value == ("GO" if expected[0] == "PASS" else "NO-GO")
    row = next(r for r in a.rows(CHECK) if r["cluster"] == "cluster-b")
    assert row["evidence"]["istio_sources"] == [
        "MutatingWebhookConfiguration istio-sidecar-injector injection path net: network1"]


def test_remote_network_in_the_helm_values_record(audit):
    """`helm install istiod istio/istiod --set profile=remote --set global.network=network2` without the injection
    path or the label: the Helm values record (ConfigMap `values`) is the one place the cluster's network is written.
    Main did not read it: WARN AA1920 (GO) although ASM puts the cluster in another network."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network2", values_network="network2")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network3", False)))
    assert codes(a)[("cluster-b", "Namespace")] == ("FAIL", "AA1910")
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network2", values_network="network2")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network2", False)))
    assert codes(a)[("cluster-b", "Namespace")] == ("PASS", "AA1901")


def test_sources_that_disagree_are_not_a_pass(audit):
    """istio-system says network2 but the injection path (the label on every injected pod, which istiod reads first)
    says network1: ASM's network2 equals the first source only. Main passed it (AA1901); which network Istio's
    endpoints are on cannot be told from one source."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": remote("cluster2", "network2", label=True, path_network="network1")}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network2", False)))
    assert codes(a)[("cluster-b", "Namespace")] == ("UNKNOWN", "AA1937")
    assert a.result.verdict.value == "INCOMPLETE"
    # The gateway chart's networkGateway mistyped against istio-system's label: the same.
    a = audit({"cluster-a": [*primary("cluster1", "network1", eastwest=False), *helm_eastwest("network-1")]},
              "migrating", asm=[], config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True)))
    assert codes(a) == {("cluster-a", "Namespace"): ("UNKNOWN", "AA1937"),
                        ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902")}
    # ASM equal to none of them stays a FAIL.
    a = audit({"cluster-a": [*primary("cluster1", "network1", eastwest=False), *helm_eastwest("network-1")]},
              "migrating", asm=[], config=ONLY_NETWORK, asm_openapi=answer(c_a=("network9", True)))
    assert codes(a)[("cluster-a", "Namespace")] == ("FAIL", "AA1910")


def test_helm_eastwest_gateway_of_any_release_name_gives_the_network(audit):
    """A remote cluster at 1.22.8 (istiod-remote chart: no values record) whose only trace of its network is the
    gateway chart's east-west gateway, released as `eastwest` (istio=eastwest): the chart labels only its Service
    then. Main looked only at Services labelled istio=eastwestgateway: UNKNOWN AA1931 (Istio's network not found)."""
    a = audit({"cluster-a": primary("cluster1", "network1"),
               "cluster-b": [*remote("cluster2", "network2", version="1.22.8"),
                             *helm_eastwest("network2", release="eastwest")]}, "migrating", asm=[],
              config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True), c_b=("network2", True)))
    assert codes(a)[("cluster-b", "Namespace")] == ("PASS", "AA1901")
    assert codes(a)[("cluster-b", "MultiClusterNetwork")] == ("PASS", "AA1902")


def test_no_network_found_is_unknown_while_webhooks_or_configmaps_are_unread(audit):
    """The remote's network is in its webhook path (or its Helm values record); with MutatingWebhookConfigurations
    (or ConfigMaps) unreadable, main said NOT_APPLICABLE (AA1940, no network proven) and the fleet went GO."""
    for kind, where in ((K.MUTATING_WEBHOOK, {"path_network": "network1"}),
                        (K.CONFIGMAP, {"values_network": "network1"})):
        a = audit({"cluster-a": primary("cluster1", "network1"),
                   "cluster-b": remote("cluster2", "network1", **where)}, "migrating", asm=[],
                  config=ONLY_NETWORK, asm_openapi=answer(c_a=("network1", True)),
                  unreadable={"cluster-b": {kind: "forbidden: cannot list"}})
        assert codes(a)[("cluster-b", "Namespace")] == ("UNKNOWN", "AA1938"), kind
        assert a.result.verdict.value == "INCOMPLETE"


FLEETS = {
    # two primaries, each with its istioctl east-west gateway, on network1 and network2
    "multi-primary-multi-network": (lambda: {"cluster-a": primary("cluster1", "network1"),
                                             "cluster-b": primary("cluster2", "network2")},
                                    {"c_a": ("network1", True), "c_b": ("network2", True)},
                                    {("cluster-a", "Namespace"): ("PASS", "AA1901"),
                                     ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902"),
                                     ("cluster-b", "Namespace"): ("PASS", "AA1901"),
                                     ("cluster-b", "MultiClusterNetwork"): ("PASS", "AA1902")}),
    # the guide's primary-remote on two networks, east-west gateways by the chart (Helm tab) at 1.30.3
    "primary-remote-multi-network": (lambda: {
        "cluster-a": [*primary("cluster1", "network1", eastwest=False, version="1.30.3"),
                      *helm_eastwest("network1", version="1.30.3")],
        "cluster-b": [*remote("cluster2", "network2", label=True, path_network="network2", values_network="network2"),
                      *helm_eastwest("network2", version="1.30.3")]},
        {"c_a": ("network1", True), "c_b": ("network2", True)},
        {("cluster-a", "Namespace"): ("PASS", "AA1901"), ("cluster-a", "MultiClusterNetwork"): ("PASS", "AA1902"),
         ("cluster-b", "Namespace"): ("PASS", "AA1901"), ("cluster-b", "MultiClusterNetwork"): ("PASS", "AA1902")}),
    # multi-primary on one network: no east-west gateway, no network anywhere
    "multi-primary-one-network": (lambda: {"cluster-a": primary("cluster1", "", eastwest=False, label=False),
                                           "cluster-b": primary("cluster2", "", eastwest=False, label=False)},
                                  {},
                                  {("cluster-a", "Namespace"): ("NOT_APPLICABLE", "AA1940"),
                                   ("cluster-b", "Namespace"): ("NOT_APPLICABLE", "AA1940")}),
}


@pytest.mark.parametrize("fleet", list(FLEETS))
def test_fleets_at_every_gate_judge_networks_and_never_crash(audit, fleet):
    clusters, asm_networks, expected = FLEETS[fleet]
    a = audit(clusters(), "all", asm=[f.migration_cr("Migrating", option="stopIstioSystemInjectionDisabling")],
              config={"asm": {"cluster_ids": IDS}}, asm_openapi=answer(**asm_networks) if asm_networks else None)
    assert {key: value for key, value in codes(a).items()} == expected
    crashed = [(r["cluster"], r["gate"], r["check_id"]) for r in a.result.findings.to_dict("records")
               if r["code"] in ("AA0002", "AA0004")]
    assert crashed == []


def test_mesh_networks_by_ip_range_is_not_proof_of_no_network(audit):
    """A meshNetworks-only multi-network install (no label, no global.network, the gateway given by address): this
    cluster's network is the one whose `fromCidr` holds its pod IPs (networkFromMeshNetworks, pilot/pkg/
    serviceregistry/kube/controller/network.go @1.30.3; MeshNetworks in the chart's mesh ConfigMap `istio`,
    templates/configmap.yaml @1.22.8). The auditor reads no pod IPs: main called the cluster network-less, WARN
    AA1920 (GO) beside ASM's network3, NOT_APPLICABLE AA1940 without an ASM network."""
    mesh_networks = ("networks:\n  network1:\n    endpoints:\n    - fromCidr: 10.0.0.0/16\n    gateways:\n"
                     "    - address: 34.75.71.237\n      port: 15443\n")
    for asm_networks in ({"c_a": ("network3", True)}, {}):
        objs = primary("cluster1", "", eastwest=False, label=False)
        next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio")["data"][
            "meshNetworks"] = mesh_networks
        a = audit({"cluster-a": objs}, "migrating", asm=[], config=ONLY_NETWORK,
                  asm_openapi=answer(**asm_networks) if asm_networks else None)
        assert codes(a) == {("cluster-a", "Namespace"): ("UNKNOWN", "AA1935")}


def test_asm_injector_webhook_path_is_not_istios_network(audit):
    """ASM's own injector in the data plane (ASM-marked, calling ASM's headless istiod-<rev>: domain.md, as the demo
    snapshot's webhooks.json holds it) is not a source of Istio's network, whatever its path says."""
    asm_injector = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                    labels={"asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm",
                                            "operator.istio.io/component": "Pilot"})
    asm_injector["webhooks"][0]["clientConfig"]["service"]["path"] = "/inject/cluster/c-a/net/network-asm"
    objs = [*primary("cluster1", "", eastwest=False, label=False), asm_injector]
    a = audit({"cluster-a": objs}, "migrating", asm=[], config=ONLY_NETWORK,
              asm_openapi=answer(c_a=("network-asm", False)))
    assert codes(a) == {("cluster-a", "Namespace"): ("WARN", "AA1920")}
