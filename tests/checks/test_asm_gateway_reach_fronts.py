"""asm-gateways-present at the uninstall gate: what stands in front of ASM's gateway Service is judged by who reaches it
(fix23c). Main took any Ingress or Gateway API route naming ASM's gateway Service as "reached from outside" and skipped
the whole reach judgement: an internal-only nginx Ingress in front of a ClusterIP ASM gateway, beside Istio's internet
CLB, passed AA1701 (a GO) while nothing on the internet reaches ASM's gateway once Istio's is purged.

Shapes.
- An Ingress's backend is a Service of its own namespace (kubernetes/api networking/v1 types.go IngressBackend.Service
  *IngressServiceBackend{Name, Port{Number|Name}}); its controller publishes where it is reached in
  status.loadBalancer.ingress[] (IngressLoadBalancerIngress{IP, Hostname}).
- ingress-nginx (kubernetes/ingress-nginx@0651ac78: charts/ingress-nginx/templates/_params.tpl) runs with
  `--publish-service=<ns>/ingress-nginx-controller` (or `...-internal` when only controller.service.internal is on) and
  copies that Service's addresses into every Ingress's status: its spec.clusterIP for a ClusterIP Service, its
  status.loadBalancer addresses for a LoadBalancer one (kubernetes/ingress-nginx@cd31c4c0: internal/ingress/status/
  status.go statusAddressFromService). The controller Service's load balancer on ACK is CCM's, intranet by
  service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type (as tests/checks/test_asm_gateway_reach.py).
- The ALB Ingress controller (ingressClassName alb, IngressClass spec.controller ingress.k8s.alibabacloud/alb,
  spec.parameters naming an AlbConfig, alibabacloud.com/v1) writes the ALB's DNS name as the status hostname; whether
  the ALB is internet-facing or internal is AlbConfig spec.config.addressType (Internet by default; help.aliyun.com ACK
  "Configure ALB instances with AlbConfig"), which the audit does not read: UNKNOWN, not PASS.
- A Gateway API route's parent Gateway publishes its addresses in status.addresses[].value (kubernetes-sigs/gateway-api
  @v1.6.1: apis/v1/gateway_types.go GatewayStatus.Addresses).
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_asm_gateway_reach import (
    ADDRESS_TYPE,
    CHECK,
    ONLY,
    PRIVATE,
    _status,
    asm_gateway,
    asm_side,
    cr,
    istio_gateway,
    rows,
)

NGINX_CLUSTER_IP = "172.21.7.15"
ALB_DNS = "alb-k2x1c4q0l0u9i7abcd.cn-hangzhou.alb.aliyuncs.com"


def front(class_name: str, addresses: list[dict[str, str]] | None, service: str = "istio-ingressgateway-asm"
          ) -> dict[str, Any]:
    """An Ingress of `class_name` in istio-system whose backend is ASM's gateway Service, with the status its
    controller published (None: no status written)."""
    backend = {"service": {"name": service, "port": {"number": 80}}}
    ing: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": f.meta(f"front-{class_name}",
                                                                                   "istio-system"),
        "spec": {"ingressClassName": class_name, "rules": [{"host": "a.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend}]}}]}}
    if addresses is not None:
        ing["status"] = {"loadBalancer": {"ingress": addresses}}
    return ing


def nginx_controller(type_: str, address: str | None = None, annotations: dict | None = None) -> dict[str, Any]:
    """ingress-nginx's controller Service (the chart's ingress-nginx-controller in ingress-nginx)."""
    svc = f.service("ingress-nginx-controller", "ingress-nginx", cluster_ip=NGINX_CLUSTER_IP, type_=type_,
                    annotations=annotations)
    _status(svc, address)
    return svc


def audit_fronted(audit, *extra: dict[str, Any], istio: list[dict[str, Any]] | None = None):
    """Istio's internet CLB gateway, ASM's ClusterIP gateway, and what stands in front of it."""
    return audit({"cluster-a": [*(istio or istio_gateway()), *asm_gateway("ClusterIP"), *extra]}, "uninstall",
                 config=ONLY, asm=asm_side(cr("ClusterIP")))


def test_an_internal_nginx_front_beside_istios_internet_load_balancer_fails(audit):
    """The nginx controller's publish-service is ClusterIP: its Ingresses' status holds that cluster IP. Main: PASS
    AA1701, GO."""
    a = audit_fronted(audit, nginx_controller("ClusterIP"), front("nginx", [{"ip": NGINX_CLUSTER_IP}]))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1726")
    assert row["evidence"]["fronts"]["Ingress istio-system/front-nginx"]["reach"] == "cluster"
    assert a.result.verdict == "NO-GO"


def test_an_intranet_nginx_front_beside_istios_internet_load_balancer_fails(audit):
    """controller.service.internal only: the -internal Service's intranet CLB. Main: PASS AA1701, GO. The fix gives
    ASM's gateway an internet load balancer of its own (serviceType and the annotation)."""
    intranet = {ADDRESS_TYPE: "intranet"}
    a = audit_fronted(audit, nginx_controller("LoadBalancer", PRIVATE, intranet), front("nginx", [{"ip": PRIVATE}]))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1728")
    assert '"serviceType":"LoadBalancer"' in row["remediation"]
    assert f'"{ADDRESS_TYPE}":"internet"' in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_an_internet_nginx_front_reaches_asms_gateway(audit):
    a = audit_fronted(audit, nginx_controller("LoadBalancer", "47.96.10.40"), front("nginx", [{"ip": "47.96.10.40"}]))
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"


def test_an_alb_front_whose_reach_is_not_read_is_unknown(audit):
    """The ALB's DNS name tells nothing of its addressType; no status at all neither. Main: PASS AA1701, GO."""
    for addresses in ([{"hostname": ALB_DNS}], None):
        a = audit_fronted(audit, front("alb", addresses))
        [row] = a.rows(CHECK)
        assert (row["status"], row["code"]) == ("UNKNOWN", "AA1754"), addresses
        assert "ingressclass/alb" in row["remediation"]
        assert a.result.verdict == "INCOMPLETE"


def test_an_internet_front_beside_an_internal_one_reaches(audit):
    """Two fronts: the internet one carries Istio's internet clients."""
    internet = front("nginx", [{"ip": "47.96.10.40"}])
    internet["metadata"]["name"] = "front-public"
    a = audit_fronted(audit, nginx_controller("ClusterIP"), front("nginx", [{"ip": NGINX_CLUSTER_IP}]), internet)
    assert rows(a) == [("PASS", "AA1701")]


def test_a_cluster_only_front_does_not_open_istios_node_ports(audit):
    """Istio's gateway reached by node ports only: a front reached from the cluster alone opens none."""
    a = audit_fronted(audit, nginx_controller("ClusterIP"), front("nginx", [{"ip": NGINX_CLUSTER_IP}]),
                      istio=istio_gateway("NodePort"))
    assert rows(a) == [("FAIL", "AA1726")]
    b = audit_fronted(audit, front("nginx", [{"ip": "10.0.3.8"}]), istio=istio_gateway("NodePort"))
    assert rows(b) == [("PASS", "AA1701")]  # node addresses in the VPC (no publish-service): reached from outside


def test_a_gateway_api_front_is_judged_by_its_parent_gateways_addresses(audit):
    route = f.k8s_route("HTTPRoute", "front", "istio-system", [{"name": "edge"}], backend="istio-ingressgateway-asm",
                        port=80)
    edge = f.k8s_gateway("edge", "istio-system", class_name="alb")
    a = audit_fronted(audit, route, edge)
    assert rows(a) == [("UNKNOWN", "AA1754")]  # no address published
    edge["status"]["addresses"] = [{"type": "IPAddress", "value": PRIVATE}]
    b = audit_fronted(audit, route, edge)
    assert rows(b) == [("FAIL", "AA1728")]
    edge["status"]["addresses"] = [{"type": "IPAddress", "value": "47.96.10.41"}]
    c = audit_fronted(audit, route, edge)
    assert rows(c) == [("PASS", "AA1701")]
