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
  "Configure ALB instances with AlbConfig"). Here neither the IngressClass nor the AlbConfig is in the cluster: UNKNOWN,
  not PASS (an AlbConfig read: tests/checks/test_asm_gateway_reach_alb.py, fix23i).
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


# ---------------------------------------------------------------- fronts still on Istio's gateway Service (AA1741)
# The same Ingress shape with Istio's gateway Service as its backend. Istio's gateway installed by the gateway chart
# (`helm install istio-ingressgateway istio/gateway -n istio-system`: tests/install_shapes.py helm_gateway, its objects
# carry no operator.istio.io/component, so `istioctl uninstall --purge` leaves them and purge-preview's AA2513 names no
# front on it): main passed AA1701, a GO, while the Ingress keeps sending its traffic to Istio's gateway.
def helm_istio_gateway() -> list[dict[str, Any]]:
    from tests import install_shapes as S

    return S.gateway_chart("istio-ingressgateway", "istio-system").objects


def audit_istio_fronted(audit, *extra: dict[str, Any]):
    from tests.checks.test_asm_gateway_reach import hosts_on

    # The shape's Gateway istio-ingressgateway-routes (shop.example.com) moved to ASM's gateway on the ASM side.
    return audit({"cluster-a": [*helm_istio_gateway(), *asm_gateway(address="47.96.10.21"), *extra]}, "uninstall",
                 config=ONLY, asm=asm_side(cr(), *hosts_on({"istio": "ingressgateway-asm"}, "shop.example.com",
                                                           "istio-ingressgateway-routes")))


def test_an_ingress_still_on_istios_gateway_service_fails_with_the_patch_to_asms(audit):
    for class_name in ("nginx", "alb"):
        a = audit_istio_fronted(audit, front(class_name, [{"ip": "47.96.10.60"}], service="istio-ingressgateway"))
        found = sorted((r["status"], r["code"], r["kind"], r["name"]) for r in a.rows(CHECK))
        assert found == [("FAIL", "AA1741", "Ingress", f"front-{class_name}")], class_name
        [row] = a.rows(CHECK)
        assert row["evidence"]["service"] == "istio-system/istio-ingressgateway"
        assert row["evidence"]["asm_service"] == "istio-system/istio-ingressgateway-asm"
        assert (f"patch ingress/front-{class_name} --type=json -p '[{{\"op\":\"replace\",\"path\":"
                "\"/spec/rules/0/http/paths/0/backend/service/name\",\"value\":\"istio-ingressgateway-asm\"}]'"
                in row["remediation"])
        assert a.result.verdict == "NO-GO"
    # Pointed at ASM's Service: nothing left on Istio's.
    b = audit_istio_fronted(audit, front("nginx", [{"ip": "47.96.10.60"}]))
    assert rows(b) == [("PASS", "AA1701")]


def test_an_ingress_of_another_namespace_names_its_own_namespaces_service(audit):
    ing = front("nginx", [{"ip": "47.96.10.60"}], service="istio-ingressgateway")
    ing["metadata"]["namespace"] = "shop"
    a = audit_istio_fronted(audit, ing)
    assert rows(a) == [("PASS", "AA1701")]


def test_a_gateway_api_route_still_on_istios_gateway_service_fails(audit):
    """An HTTPRoute of another namespace whose backendRef names Istio's gateway Service (namespace istio-system: a
    ReferenceGrant there allows it); a RequestMirror to it alone copies traffic and is not named."""
    route = f.k8s_route("HTTPRoute", "edge", "shop", [{"name": "edge", "namespace": "shop"}],
                        backend="istio-ingressgateway", port=80)
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "istio-system"
    a = audit_istio_fronted(audit, route)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA1741", "HTTPRoute", "edge")
    assert '"path":"/spec/rules/0/backendRefs/0/name","value":"istio-ingressgateway-asm"' in row["remediation"]
    mirror = f.k8s_route("HTTPRoute", "shadow", "shop", [{"name": "edge", "namespace": "shop"}])
    mirror["spec"]["rules"][0]["filters"] = [{"type": "RequestMirror", "requestMirror": {"backendRef": {
        "name": "istio-ingressgateway", "namespace": "istio-system", "port": 80}}}]
    b = audit_istio_fronted(audit, mirror)
    assert rows(b) == [("PASS", "AA1701")]


def test_a_mesh_route_naming_a_gateway_service_is_no_front(audit):
    """A GAMMA route (parentRef a Service: gateway-api@v1.6.1 apis/v1/shared_types.go ParentReference kind Service,
    group core) carries mesh callers, not outside clients: it neither reaches ASM's ClusterIP gateway from outside
    (AA1726 stands, not UNKNOWN) nor is a front left on Istio's (no AA1741)."""
    on_asm = f.k8s_route("HTTPRoute", "mesh", "istio-system", [{"kind": "Service", "group": "", "name": "web"}],
                         backend="istio-ingressgateway-asm", port=80)
    a = audit_fronted(audit, on_asm)
    assert rows(a) == [("FAIL", "AA1726")]
    on_istio = f.k8s_route("HTTPRoute", "mesh", "istio-system", [{"kind": "Service", "group": "", "name": "web"}],
                           backend="istio-ingressgateway", port=80)
    b = audit_istio_fronted(audit, on_istio)
    assert rows(b) == [("PASS", "AA1701")]
