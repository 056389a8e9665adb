"""An east-west gateway installed by the istio/gateway chart with its own name and ports is still seen, and
istio-system's istio-injection label is judged as Istio's injector webhooks read it.

Shapes (istio/istio@1.30.3):
- manifests/charts/gateway/templates/service.yaml: with `networkGateway` set, the Service is labelled
  topology.istio.io/network and its ports are `networkGatewayPorts` (values.yaml: status-port 15021, tls 15443,
  tls-istiod 15012, tls-webhook 15017; each `port` may be changed, new in 1.30); `labels` values go to the Service
  (_helpers.tpl gateway.labels).
- manifests/charts/gateway/templates/deployment.yaml: with `networkGateway` set, the pod template is labelled
  topology.istio.io/network and istio-proxy gets env ISTIO_META_REQUESTED_NETWORK_VIEW (as
  samples/multicluster/gen-eastwest-gateway.sh gives the IstioOperator gateway).
- pilot/pkg/serviceregistry/kube/controller/network.go getGatewayDetails: istiod takes a Service labelled
  topology.istio.io/network as the network's gateway on the port its networking.istio.io/gatewayPort label names
  (default 15443) or on 15008.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests import install_shapes as S

IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
NETWORK = "network-1"


def chart_eastwest(release: str, ns: str, *, tls_port: int = 15443, port_label: bool = True,
                   env: bool = True) -> list[dict]:
    """`helm install <release> istio/gateway -n <ns> --set networkGateway=network-1
    --set networkGatewayPorts.tls.port=<tls_port> [--set labels.networking\\.istio\\.io/gatewayPort=<tls_port>]`."""
    objs = S.helm_gateway(S.Injector("1.30.3"), release, ns)
    for obj in objs:
        if obj["kind"] == "Deployment":
            obj["spec"]["template"]["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
            if env:
                obj["spec"]["template"]["spec"]["containers"][0]["env"] = [
                    {"name": "ISTIO_META_REQUESTED_NETWORK_VIEW", "value": NETWORK}]
        elif obj["kind"] == "Service":
            obj["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
            if port_label and tls_port != 15443:
                obj["metadata"]["labels"]["networking.istio.io/gatewayPort"] = str(tls_port)
            obj["spec"]["ports"] = [
                {"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
                {"name": "tls", "port": tls_port, "targetPort": 15443, "protocol": "TCP"},
                {"name": "tls-istiod", "port": 15012, "targetPort": 15012, "protocol": "TCP"},
                {"name": "tls-webhook", "port": 15017, "targetPort": 15017, "protocol": "TCP"}]
        elif obj["kind"] == "Pod":
            obj["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
    return objs


def cluster(*objs: dict) -> list[dict]:
    return [f.namespace("istio-system", labels={"kubernetes.io/metadata.name": "istio-system"}), *objs]


@pytest.mark.parametrize("port_label,env", [(True, True), (True, False), (False, True)])
def test_chart_eastwest_on_port_443_under_another_name_needs_the_option(audit, port_label, env):
    """Release `mesh-gw` (no role in its name), tls on 443: main saw no east-west gateway (NOT_APPLICABLE AA0840, a
    false GO of the setup gate); it is one by the Service istiod picks (gatewayPort label) or by the proxy's
    ISTIO_META_REQUESTED_NETWORK_VIEW."""
    objs = cluster(*chart_eastwest("mesh-gw", "istio-gateways", tls_port=443, port_label=port_label, env=env))
    a = audit({"cluster-a": objs}, "setup", asm=[f.migration_cr()])
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0810")]


def test_chart_eastwest_on_port_443_is_no_ingress_gateway_to_replace(audit):
    """The same gateway in the uninstall gate: east-west, so not an ingress/egress gateway wanting an ASM replacement
    (main: FAIL AA1711, a role-unknown gateway), and the cross-network gateway is required first (main: N/A AA1840)."""
    objs = cluster(*chart_eastwest("mesh-gw", "istio-gateways", tls_port=443))
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows("asm-gateways-present")] == [("NOT_APPLICABLE", "AA1740")]
    assert [(r["status"], r["code"]) for r in a.rows("cross-cluster-gateway-first")] == [("WARN", "AA1820")]


def test_chart_eastwest_default_ports_still_seen(audit):
    objs = cluster(*chart_eastwest("mesh-gw", "istio-gateways", env=False))
    a = audit({"cluster-a": objs}, "setup", asm=[f.migration_cr()])
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0810")]


def test_an_ingress_gateway_on_443_labelled_with_a_network_is_no_eastwest(audit):
    """A Service labelled with its network that serves neither the mTLS port nor 15008 is not a network gateway for
    istiod: an ingress gateway in a multi-network cluster stays ingress."""
    objs = S.helm_gateway(S.Injector("1.30.3"), "istio-ingress", "istio-ingress")
    for obj in objs:
        if obj["kind"] == "Service":
            obj["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
    a = audit({"cluster-a": cluster(*objs)}, "setup", asm=[f.migration_cr()])
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("NOT_APPLICABLE", "AA0840")]


@pytest.mark.parametrize("label,ports,expected", [
    (None, [15021, 15443, 15012], 15443), ("35443", [15021, 35443], 35443), ("35443", [15021, 15443], None),
    ("not-a-port", [15443], 15443), (None, [443], None), (None, [15008], 15008), ("443", [443, 15008], 443)])
def test_network_gateway_port_as_istiod_reads_it(label, ports, expected):
    from auditor.gateways import network_gateway_port  # here: main has no such helper, the shape tests run there too

    labels = {"topology.istio.io/network": NETWORK, **({"networking.istio.io/gatewayPort": label} if label else {})}
    assert network_gateway_port(labels, {"ports": [{"port": p} for p in ports]}) == expected


# ---------------------------------------------------------------- istio-system's label, as Istio's injector reads it
def istio_system(**labels: str) -> dict:
    return f.namespace("istio-system", labels={"kubernetes.io/metadata.name": "istio-system", **labels})


@pytest.mark.parametrize("value", ["false", "off", "Enabled", "disable", "disabled"])
def test_any_injection_label_but_enabled_keeps_istio_off_the_gateway(audit, value):
    """istio-control/istio-discovery/templates/mutatingwebhook.yaml @1.30.3 (same @1.18.7, 1.24.6): every webhook of
    Istio's selects namespaces with `istio-injection In [enabled]` or `istio-injection DoesNotExist`, so any other value
    keeps the injector off the east-west gateway's pods (the chart's `image: auto` pods are then never given a proxy).
    main judged only disable/disabled: PASS AA0801 for "false", "off" and "Enabled"."""
    objs = [istio_system(**{"istio-injection": value}), *chart_eastwest("istio-eastwestgateway", "istio-system")]
    a = audit({"cluster-a": objs}, "setup", asm=[f.migration_cr(option="stopIstioSystemInjectionDisabling")])
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0813")]


@pytest.mark.parametrize("labels", [{}, {"istio-injection": "enabled"}])
def test_no_label_or_enabled_lets_istio_inject_the_gateway(audit, labels):
    # With istiod of the default revision and its injector (tests/install_shapes.py istiod): its object. webhook
    # selects the chart's pods (sidecar.istio.io/inject "true") in an unlabelled namespace, its namespace. webhook in
    # one labelled enabled (red20c: the injector is read, tests/checks/test_eastwest_injection.py).
    objs = [istio_system(**labels), *chart_eastwest("istio-eastwestgateway", "istio-system"),
            *S.istiod(S.Injector("1.30.3"))]
    a = audit({"cluster-a": objs}, "setup", asm=[f.migration_cr(option="stopIstioSystemInjectionDisabling")])
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("PASS", "AA0801")]
