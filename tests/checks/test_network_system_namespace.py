"""network-consistency: Istio's network is read where istiod reads it, its own namespace, not istio-system by name.

istiod takes its cluster's network from the label topology.istio.io/network of its system namespace
(setNetworkFromNamespace / networkFromSystemNamespace, istio/istio@1.30.3:pilot/pkg/serviceregistry/kube/controller/
network.go; the namespace named SystemNamespace, controller.go onSystemNamespaceEvent), and SystemNamespace is the
namespace istiod runs in (args.Namespace = POD_NAMESPACE, istio/istio@1.30.3:pilot/pkg/bootstrap/options.go and
server.go; POD_NAMESPACE from the pod's metadata.namespace in manifests/charts/istio-control/istio-discovery/templates/
deployment.yaml). Its injector ConfigMap (global.network, the pods' ISTIO_META_NETWORK) and mesh ConfigMap
(meshNetworks) are in that namespace too (the chart's .Release.Namespace, templates/configmap.yaml). So with istiod
installed by `helm install istiod istio/istiod -n istio-control --set global.istioNamespace=istio-control` and the
network labelled on istio-control, the label on istio-system (the namespace ASM's components use in a joined cluster)
is not Istio's network, and absence of one there is no evidence of a single network.
Main read only istio-system: ASM's wrong network passed as WARN AA1920 ("Istio gives no network", a GO) or, with
istio-system labelled as ASM has it, as PASS AA1901. The injector's values there were not even collected (inventory.slim
dropped ConfigMap data outside istio-system).
"""

from __future__ import annotations

import json

from tests import factory as f

CHECK = "network-consistency"
IDS = {"cluster-a": "c-a"}


def answer(network: str) -> dict:
    """A saved DescribeMeshMultiClusterNetwork answer for cluster id c-a (as tests/checks/test_network.py writes it)."""
    return {"DescribeMeshMultiClusterNetwork": {"RequestId": "9B3E7C21", "MultiClusterNetworks": {
        "c-a": {"Network": network, "EnableGateway": False, "GatewayName": "", "CustomGatewayAddress": ""}}}}


def istio_in_istio_control(label: str | None = "network-2", values_network: str | None = None) -> list[dict]:
    """istiod in istio-control (the chart's Deployment, ConfigMaps in the release namespace); the network labelled on
    istio-control as Istio's multi-network guides label the system namespace, and/or set in the injector's values."""
    labels = {"kubernetes.io/metadata.name": "istio-control"}
    if label:
        labels["topology.istio.io/network"] = label
    objects = [f.namespace("istio-control", labels=labels), f.istiod("default", "1.30.3", namespace="istio-control")]
    if values_network:
        # istio-discovery templates/istiod-injector-configmap.yaml: data.values is the chart's values as JSON.
        values = {"global": {"istioNamespace": "istio-control", "network": values_network,
                             "multiCluster": {"clusterName": "cluster-a"}}}
        objects.append(f.configmap("istio-sidecar-injector", "istio-control",
                                   {"values": json.dumps(values), "config": "policy: enabled\n"},
                                   labels={"istio.io/rev": "default", "operator.istio.io/component": "Pilot"}))
    return objects


def istio_system(network: str | None = None) -> dict:
    labels = {"kubernetes.io/metadata.name": "istio-system"}
    if network:
        labels["topology.istio.io/network"] = network
    return f.namespace("istio-system", labels=labels)


def network_row(audit, objects: list[dict], asm_network: str) -> dict:
    a = audit({"cluster-a": objects}, "migrating", asm=[], config={"asm": {"cluster_ids": IDS}},
              asm_openapi=answer(asm_network))
    [row] = [r for r in a.rows(CHECK) if r["kind"] == "Namespace"]
    return row


def test_the_istiod_namespace_label_is_istios_network(audit):
    row = network_row(audit, [istio_system(), *istio_in_istio_control("network-2")], "network-3")
    assert (row["status"], row["code"]) == ("FAIL", "AA1910"), row["message"]
    assert row["evidence"]["istio_network"] == "network-2"


def test_istio_system_labelled_as_asm_has_it_is_not_istios_network(audit):
    row = network_row(audit, [istio_system("network-1"), *istio_in_istio_control("network-2")], "network-1")
    assert (row["status"], row["code"]) == ("FAIL", "AA1910"), row["message"]


def test_the_injector_values_of_the_istiod_namespace_are_read(audit):
    row = network_row(audit, [istio_system(), *istio_in_istio_control(None, values_network="network-2")],
                      "network-3")
    assert (row["status"], row["code"]) == ("FAIL", "AA1910"), row["message"]


def test_same_network_in_the_istiod_namespace_passes(audit):
    row = network_row(audit, [istio_system(), *istio_in_istio_control("network-2", values_network="network-2")],
                      "network-2")
    assert (row["status"], row["code"]) == ("PASS", "AA1901"), row["message"]
