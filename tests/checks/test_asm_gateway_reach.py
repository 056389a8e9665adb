"""asm-gateways-present at the uninstall gate: clients outside the cluster must reach ASM's gateway as they reach
Istio's (fix22p). Main compared hosts, ports and policies but not the Services' type: an IstioGateway of serviceType
ClusterIP (or NodePort) replacing Istio's LoadBalancer gateway passed AA1701, a GO with nothing outside reaching it.

Shapes. Istio's gateway Service is what the istio-ingress chart renders: `type: {{ $gateway.type }}`, LoadBalancer by
default, selector = the gateway's labels (istio/istio@1.22.3: manifests/charts/gateways/istio-ingress/
templates/service.yaml, values.yaml `type: LoadBalancer`). ASM's IstioGateway sets its Service's type by
spec.serviceType (enum ClusterIP;NodePort;LoadBalancer), spec.overrides[<cluster id>] per cluster, and its annotations
by spec.serviceAnnotations (aliyun/alibabacloud-servicemesh-api@4df57487: alibabacloudservicemesh/v1/
istiogateway_types.go IstioGatewayBasicConfiguration). Alibaba Cloud's CCM writes a load balancer's address into
status.loadBalancer.ingress[].ip once it applied the load balancer, and nothing before (`loadBalancer: {}`, as the API
server writes it for every Service); the address type comes from the annotation
service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type (internet | intranet), `internet` when a CLB CCM
creates has none (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/clbv1/service_controller.go
updateServiceStatus, loadBalancer.go BuildLocalModel / setModelDefaultValue; reconcile/annotation/annotations.go
AddressType, DefaultValue). An intranet CLB gets an address of the VPC (private), an internet one a public address.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateways import CCM, IDS, asm_side

CHECK = "asm-gateways-present"
ONLY = {**IDS, **f.only_checks(CHECK)}
ADDRESS_TYPE = f"{CCM}alibaba-cloud-loadbalancer-address-type"
PUBLIC, PRIVATE = "47.96.10.20", "192.168.3.17"


def istio_gateway(type_: str = "LoadBalancer", address: str | None = PUBLIC, annotations: dict | None = None,
                  external_ips: list[str] | None = None) -> list[dict[str, Any]]:
    """istio-ingressgateway as `istioctl install` renders it; `address` as CCM writes it (None: status written, no
    address yet)."""
    svc = f.gateway_service("istio-ingressgateway", type_=type_, annotations=annotations)
    _status(svc, address)
    if external_ips:
        svc["spec"]["externalIPs"] = external_ips
    return [f.gateway_deployment("istio-ingressgateway"), svc]


def asm_gateway(type_: str = "LoadBalancer", address: str | None = PUBLIC,
                annotations: dict | None = None) -> list[dict[str, Any]]:
    """istio-ingressgateway-asm as ASM's controller deploys it from the IstioGateway (spec.serviceType, its
    serviceAnnotations on the Service)."""
    svc = f.gateway_service("istio-ingressgateway-asm", type_=type_,
                            annotations={"asm.alibabacloud.com/managed-by-asm": "true", **(annotations or {})},
                            selector={"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"})
    _status(svc, address)
    return [f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress"), svc]


def _status(svc: dict[str, Any], address: str | None) -> None:
    lb = svc["spec"]["type"] == "LoadBalancer" and address
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]} if lb else {}}


def cr(service_type: str = "LoadBalancer", annotations: dict | None = None, overrides: dict | None = None) -> dict:
    out = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"], service_annotations=annotations,
                             overrides=overrides)
    out["spec"]["serviceType"] = service_type
    return out


def rows(a) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(CHECK)]


@pytest.mark.parametrize("asm_type", ["ClusterIP", "NodePort"])
def test_a_clusterip_or_nodeport_asm_gateway_for_istios_load_balancer_fails(audit, asm_type):
    """Main: PASS AA1701, GO."""
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(asm_type)]}, "uninstall", config=ONLY,
              asm=asm_side(cr(asm_type)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1726", "blocker")
    assert row["evidence"]["spec.serviceType"] == asm_type
    assert row["evidence"]["asm_services"]["istio-system/istio-ingressgateway-asm"]["type"] == asm_type
    assert "patch istiogateway/ingressgateway-asm" in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_the_override_for_the_cluster_is_the_type_named(audit):
    """spec.overrides[c-a].serviceType ClusterIP under a LoadBalancer spec: the Service in c-a is ClusterIP."""
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP")]}, "uninstall", config=ONLY,
              asm=asm_side(cr("LoadBalancer", overrides={"c-a": {"serviceType": "ClusterIP"}})))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1726")
    assert row["evidence"]["spec.overrides.c-a.serviceType"] == "ClusterIP"
    assert '"overrides":{"c-a":{"serviceType":"LoadBalancer"}}' in row["remediation"]


def test_no_service_of_asms_gateway_at_all_fails(audit):
    dep = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")
    a = audit({"cluster-a": [*istio_gateway(), dep]}, "uninstall", config=ONLY, asm=asm_side(cr()))
    assert rows(a) == [("FAIL", "AA1726")]


def test_istios_external_ips_count_as_reached_from_outside(audit):
    a = audit({"cluster-a": [*istio_gateway("ClusterIP", external_ips=["203.0.113.7"]), *asm_gateway("ClusterIP")]},
              "uninstall", config=ONLY, asm=asm_side(cr("ClusterIP")))
    assert rows(a) == [("FAIL", "AA1726")]


def test_istios_node_ports_need_node_ports_on_asms(audit):
    """A NodePort Istio gateway (behind a hand-made SLB on the node ports): a ClusterIP ASM gateway loses it, a
    NodePort or LoadBalancer one does not."""
    a = audit({"cluster-a": [*istio_gateway("NodePort"), *asm_gateway("ClusterIP")]}, "uninstall", config=ONLY,
              asm=asm_side(cr("ClusterIP")))
    assert rows(a) == [("FAIL", "AA1726")]
    assert '"serviceType":"NodePort"' in a.rows(CHECK)[0]["remediation"]
    for asm_type in ("NodePort", "LoadBalancer"):
        b = audit({"cluster-a": [*istio_gateway("NodePort"), *asm_gateway(asm_type)]}, "uninstall", config=ONLY,
                  asm=asm_side(cr(asm_type)))
        assert rows(b) == [("PASS", "AA1701")], asm_type


@pytest.mark.parametrize("asm_type", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_a_clusterip_istio_gateway_loses_nothing(audit, asm_type):
    """Istio's gateway behind an Ingress (or an SLB of its own) on a ClusterIP Service: no difference."""
    a = audit({"cluster-a": [*istio_gateway("ClusterIP"), *asm_gateway(asm_type)]}, "uninstall", config=ONLY,
              asm=asm_side(cr(asm_type)))
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"


def test_an_asm_load_balancer_without_an_address_yet_fails(audit):
    """CCM has not applied ASM's Service (status.loadBalancer `{}`): nothing outside reaches it yet."""
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address=None)]}, "uninstall", config=ONLY,
              asm=asm_side(cr()))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1727")
    assert row["evidence"]["asm_services"]["istio-system/istio-ingressgateway-asm"]["pending"] is True
    assert "describe service/istio-ingressgateway-asm" in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_load_balancers_on_both_sides_pass(audit):
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address="47.96.10.21")]}, "uninstall", config=ONLY,
              asm=asm_side(cr()))
    assert rows(a) == [("PASS", "AA1701")]


def test_an_intranet_asm_load_balancer_for_an_internet_one_fails(audit):
    """Istio's CLB created by CCM with no address-type (internet, a public address); ASM's annotated intranet (a
    VPC address): clients on the internet reach nothing."""
    intranet = {ADDRESS_TYPE: "intranet"}
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address=PRIVATE, annotations=intranet)]}, "uninstall",
              config=ONLY, asm=asm_side(cr(annotations=intranet)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1728")
    assert row["evidence"]["istio_services"]["istio-system/istio-ingressgateway"]["address_type"] == "internet"
    assert row["evidence"]["asm_services"]["istio-system/istio-ingressgateway-asm"]["address_type"] == "intranet"
    assert a.result.verdict == "NO-GO"


def test_an_internet_asm_load_balancer_for_an_intranet_one_warns(audit):
    intranet = {ADDRESS_TYPE: "intranet"}
    a = audit({"cluster-a": [*istio_gateway(address=PRIVATE, annotations=intranet), *asm_gateway()]}, "uninstall",
              config=ONLY, asm=asm_side(cr()))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA1729", "major")
    assert a.result.verdict == "GO"


def test_an_intranet_load_balancer_with_an_eip_is_reached_from_the_internet(audit):
    """external-ip-type eip: CCM shows the EIP bound to the intranet CLB as the address (updateServiceStatus)."""
    eip = {ADDRESS_TYPE: "intranet", f"{CCM}alibaba-cloud-loadbalancer-external-ip-type": "eip"}
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address="47.96.10.22", annotations=eip)]}, "uninstall",
              config=ONLY, asm=asm_side(cr(annotations=eip)))
    assert rows(a) == [("PASS", "AA1701")]


def test_a_reused_clb_without_the_annotation_is_told_by_its_address(audit):
    """Istio's Service reuses a CLB by id with no address-type annotation: its private address says intranet, so an
    internet ASM gateway widens who reaches it."""
    reused = {f"{CCM}alibaba-cloud-loadbalancer-id": "lb-istio"}
    a = audit({"cluster-a": [*istio_gateway(address=PRIVATE, annotations=reused), *asm_gateway()]}, "uninstall",
              config=ONLY, asm=asm_side(cr()))
    assert rows(a) == [("WARN", "AA1729")]


def test_services_unread_leave_the_reach_unknown(audit):
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP")]}, "uninstall", config=ONLY,
              asm=asm_side(cr("ClusterIP")), unreadable={"cluster-a": {K.SERVICE: "403 Forbidden"}})
    assert ("UNKNOWN", "AA1753") in rows(a)
    assert ("PASS", "AA1701") not in rows(a)
    assert a.result.verdict == "INCOMPLETE"


def test_asm_on_istios_own_clb_is_left_to_ingress_lb_weights(audit):
    """ASM's ingress cut-over: both Services name one CLB by id (clb_reuse); ASM's not yet applied by CCM changes no
    one's reach here (ingress-lb-weights judges its backends on that CLB)."""
    from tests.checks.test_gateways import clb_reuse

    a = audit({"cluster-a": [*istio_gateway(annotations=clb_reuse("lb-1")),
                             *asm_gateway(address=None, annotations=clb_reuse("lb-1"))]}, "uninstall", config=ONLY,
              asm=asm_side(cr(annotations=clb_reuse("lb-1"))))
    assert rows(a) == [("PASS", "AA1701")]



def test_an_intranet_load_balancer_set_for_the_cluster_alone_is_patched_there(audit):
    """spec.overrides[c-a].serviceAnnotations makes c-a's Service intranet: the fix patches that override."""
    intranet = {ADDRESS_TYPE: "intranet"}
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address=PRIVATE, annotations=intranet)]}, "uninstall",
              config=ONLY, asm=asm_side(cr(overrides={"c-a": {"serviceAnnotations": intranet}})))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1728")
    assert f'"overrides":{{"c-a":{{"serviceAnnotations":{{"{ADDRESS_TYPE}":"internet"}}}}}}' in row["remediation"]


# ---------------------------------------------------------------- review22c: which ASM gateways stand for Istio's reach
# A second ASM ingress gateway, as ASM's controller deploys an IstioGateway `public-asm` (the same shapes as above).
# Istio Gateways (networking.istio.io) give a gateway's pods the listeners of those whose selector matches their labels
# (istio/istio@1.30.3 pilot/pkg/model/push_context.go mergeGateways): which ASM gateway takes a host is told by them.
def public_asm(address: str = "47.96.10.30") -> list[dict[str, Any]]:
    svc = f.gateway_service("istio-public-asm", type_="LoadBalancer",
                            annotations={"asm.alibabacloud.com/managed-by-asm": "true"},
                            selector={"app": "istio-public-asm", "istio": "public-asm"})
    _status(svc, address)
    return [f.gateway_deployment("istio-public-asm", asm=True, gateway_type="ingress"), svc]


def public_cr() -> dict:
    return f.istio_gateway_cr("public-asm", "ingress", cluster_ids=["c-a"])


def hosts_on(selector: dict[str, str], host: str, name: str) -> list[dict[str, Any]]:
    """An Istio Gateway serving `host` on port 80 of the pods `selector` picks, and a VirtualService routing it."""
    from tests.checks.test_asm_gateway_hosts_ports import gateway, routes, server

    gw = gateway(name, "shop", selector, server(80, [host]))
    return [gw, *routes(gw)]


def test_an_internet_asm_gateway_serving_other_hosts_does_not_reach_istios_for_the_intranet_one(audit):
    """Istio's internet CLB serves a.com; ASM's ingressgateway-asm takes a.com on an intranet CLB, public-asm only b.com
    on an internet one: a.com's internet clients are lost (main pooled both: PASS AA1701, GO)."""
    intranet = {ADDRESS_TYPE: "intranet"}
    cluster = [*istio_gateway(), *asm_gateway(address=PRIVATE, annotations=intranet), *public_asm(),
               *hosts_on({"istio": "ingressgateway"}, "a.com", "a-gw"), f.service("web", "shop")]
    there = [*hosts_on({"istio": "ingressgateway-asm"}, "a.com", "a-gw"),
             *hosts_on({"istio": "public-asm"}, "b.com", "b-gw")]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(cr(annotations=intranet), public_cr(),
                                                                              *there))
    assert rows(a) == [("FAIL", "AA1728")]
    assert list(a.rows(CHECK)[0]["evidence"]["asm_services"]) == ["istio-system/istio-ingressgateway-asm"]
    assert a.result.verdict == "NO-GO"
    # public-asm taking a.com as well: a.com's internet clients reach it there.
    there = [*hosts_on({"istio": "ingressgateway-asm"}, "a.com", "a-gw"),
             *hosts_on({"istio": "public-asm"}, "a.com", "b-gw")]
    b = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(cr(annotations=intranet), public_cr(),
                                                                              *there))
    assert rows(b) == [("PASS", "AA1701")]


def test_without_hosts_to_tell_the_matched_gateway_alone_is_judged(audit):
    """No Istio Gateway tells which ASM gateway takes Istio's hosts: the matched (intranet) one alone, not the pool."""
    intranet = {ADDRESS_TYPE: "intranet"}
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway(address=PRIVATE, annotations=intranet), *public_asm()]},
              "uninstall", config=ONLY, asm=asm_side(cr(annotations=intranet), public_cr()))
    assert ("FAIL", "AA1728") in rows(a)
    assert a.result.verdict == "NO-GO"


def test_the_patch_names_the_istiogateway_of_the_reach_pool_not_the_matched_one(audit):
    """ingressgateway-asm (matched by name, on an internet CLB) serves b.com only; public-asm takes Istio's a.com on an
    intranet CLB: the address type to change is public-asm's (main patched istiogateway/ingressgateway-asm, whose CLB
    is internet-facing already: the patch changed nothing and AA1728 stayed)."""
    intranet = {ADDRESS_TYPE: "intranet"}
    deployment, svc = public_asm(PRIVATE)
    svc["metadata"]["annotations"][ADDRESS_TYPE] = "intranet"
    cluster = [*istio_gateway(), *asm_gateway(address="47.96.10.21"), deployment, svc,
               *hosts_on({"istio": "ingressgateway"}, "a.com", "a-gw"), f.service("web", "shop")]
    there = [*hosts_on({"istio": "ingressgateway-asm"}, "b.com", "b-gw"),
             *hosts_on({"istio": "public-asm"}, "a.com", "a-gw")]
    public = f.istio_gateway_cr("public-asm", "ingress", cluster_ids=["c-a"], service_annotations=intranet)
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(cr(), public, *there))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1728")
    assert row["evidence"]["asm_gateway"] == "istio-system/public-asm"
    assert "patch istiogateway/public-asm" in row["remediation"]
    assert "istiogateway/ingressgateway-asm" not in row["remediation"]


def test_each_gateways_served_hosts_are_read_once_per_audit(audit, monkeypatch):
    """_reach_pool asked served_hosts of every ASM gateway of the role for every Istio gateway, and _served asked
    again: once per gateway now (two Istio ingress gateways, three ASM ones)."""
    import checks.gateways as checks_gateways

    calls: dict[tuple[str, str], int] = {}
    real = checks_gateways.served_hosts

    def counting(cluster, gateway, gateways):
        calls[(gateway.namespace, gateway.name)] = calls.get((gateway.namespace, gateway.name), 0) + 1
        return real(cluster, gateway, gateways)

    monkeypatch.setattr(checks_gateways, "served_hosts", counting)
    internal = f.gateway_deployment("istio-internal-ingressgateway")
    internal_svc = f.gateway_service("istio-internal-ingressgateway", type_="ClusterIP")
    third = f.gateway_deployment("istio-third-asm", asm=True, gateway_type="ingress")
    cluster = [*istio_gateway(), internal, internal_svc, *asm_gateway(address="47.96.10.21"), *public_asm(), third,
               *hosts_on({"istio": "ingressgateway"}, "a.com", "a-gw"), f.service("web", "shop")]
    there = [*hosts_on({"istio": "ingressgateway-asm"}, "a.com", "a-gw"),
             *hosts_on({"istio": "public-asm"}, "b.com", "b-gw")]
    audit({"cluster-a": cluster}, "uninstall", config=ONLY,
          asm=asm_side(cr(), public_cr(), f.istio_gateway_cr("third-asm", "ingress", cluster_ids=["c-a"]), *there))
    assert len(calls) >= 4, calls
    assert max(calls.values()) == 1, calls


# An Ingress's backend is a Service of its own namespace (kubernetes/api networking/v1 types.go: IngressBackend.Service
# *IngressServiceBackend{Name, Port}, "The service must exist in the same namespace as the Ingress object"); an
# Ingress in front of ASM's ClusterIP gateway Service is how clients outside reach it, as far as the address its
# controller publishes in status.loadBalancer.ingress[] reaches (fix23c: tests/checks/test_asm_gateway_reach_fronts.py;
# an ALB's DNS name there tells only through its AlbConfig (fix23i), so this one is reached at a public address).
def alb_front(service: str = "istio-ingressgateway-asm") -> dict[str, Any]:
    backend = {"service": {"name": service, "port": {"number": 80}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": f.meta("front-alb", "istio-system"),
            "spec": {"ingressClassName": "alb", "rules": [{"host": "a.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": backend}]}}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "47.96.10.50"}]}}}


def test_a_clusterip_asm_gateway_behind_an_ingress_reached_on_the_internet_is_reached(audit):
    """Main: FAIL AA1726 (NO-GO) while Istio's side takes ClusterIP as "something stands in front"."""
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP"), alb_front()]}, "uninstall", config=ONLY,
              asm=asm_side(cr("ClusterIP")))
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"
    # An Ingress naming another Service stands in front of nothing of ASM's.
    b = audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP"), alb_front("web")]}, "uninstall",
              config=ONLY, asm=asm_side(cr("ClusterIP")))
    assert rows(b) == [("FAIL", "AA1726")]


def test_a_clusterip_asm_gateway_behind_a_gateway_api_route_is_reached(audit):
    """An HTTPRoute (gateway.networking.k8s.io/v1, backendRefs[] kind Service by default) of another Gateway naming
    ASM's gateway Service as its backend."""
    route = f.k8s_route("HTTPRoute", "front", "istio-system", [{"name": "alb-gw"}],
                        backend="istio-ingressgateway-asm", port=80)
    parent = f.k8s_gateway("alb-gw", "istio-system", class_name="alb")
    parent["status"]["addresses"] = [{"type": "IPAddress", "value": "47.96.10.51"}]
    a = audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP"), route, parent]}, "uninstall", config=ONLY,
              asm=asm_side(cr("ClusterIP")))
    assert rows(a) == [("PASS", "AA1701")]


def test_a_host_network_asm_daemonset_opens_the_node_ports_istios_needs(audit):
    """An ASM gateway run as a DaemonSet on the node's network (IstioGateway spec.hostNetwork, as the IstioGateway
    sample shows it) behind a ClusterIP Service: every node's address reaches its listeners, as Istio's NodePort
    Service does. Main looked the taker up as a Deployment: FAIL AA1726, NO-GO. (DaemonSet status:
    desiredNumberScheduled / numberAvailable, k8s.io/api apps/v1 DaemonSetStatus.)"""
    ds = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")
    ds["kind"] = "DaemonSet"
    ds["spec"].pop("replicas", None)
    ds["spec"]["template"]["spec"]["hostNetwork"] = True
    ds["status"] = {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3,
                    "numberAvailable": 3, "updatedNumberScheduled": 3, "observedGeneration": 1}
    svc = asm_gateway("ClusterIP")[1]
    crd = cr("ClusterIP")
    crd["spec"]["hostNetwork"] = True
    a = audit({"cluster-a": [*istio_gateway("NodePort"), ds, svc]}, "uninstall", config=ONLY, asm=asm_side(crd))
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"
