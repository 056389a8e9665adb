"""asm-gateways-present at the uninstall gate (fix23o): fronts of the gateways, two defects.

1. The AlbConfig `default`. The ALB Ingress controller serves an Ingress without spec.ingressClassName whose
   kubernetes.io/ingress.class annotation is `alb` even when no IngressClass of that name exists (alibaba/
   alibaba-load-balancer-controller@v1.2.0: pkg/controller/ingress/reconcile/store/common.go IsValid, IngressKey,
   IngressClassName "alb"); it puts it on the ALB of the AlbConfig its alb.ingress.kubernetes.io/albconfig.name
   annotation names, else its IngressClass's spec.parameters.name, and when IngressClass finds no such object the
   AlbConfig named `default` (builder/albconfig_manager/group_loader.go LoadGroupID, IngressClass returning "" on a
   Get error, DefaultGroupName = "default"). Main read no AlbConfig for it: UNKNOWN AA1754, INCOMPLETE, whatever the
   `default` ALB was.
2. AA1741's patch and the backend's port. Istio's gateway charts name their Service ports status-port/http2/https
   (istio/istio@1.22.3 manifests/charts/gateway/values.yaml service.ports, and charts/gateways/istio-ingress: the same
   names; tests/install_shapes.py _INGRESS_PORTS), and an Ingress backend may name its port
   (kubernetes/api networking/v1 ServiceBackendPort {name | number}). ASM's gateway Service takes its ports, names
   included, from the IstioGateway's spec.ports (aliyun/alibabacloud-servicemesh-api@4df57487 istiogateway_types.go;
   tests/factory.py istio_gateway_cr `http-0`). Main's patch renamed the backend's Service only: `port: {name: http2}`
   then names a port ASM's Service lacks and the Ingress still reaches nothing there. A Gateway API backendRef's port
   is a number (gateway-api apis/v1 BackendObjectReference.Port), which ASM's Service must have as well.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_asm_gateway_reach import CHECK, ONLY, asm_gateway, asm_side, cr, istio_gateway, rows
from tests.checks.test_asm_gateway_reach_alb import alb_class, albconfig
from tests.checks.test_asm_gateway_reach_fronts import ALB_DNS, front


def annotated_alb_ingress(**annotations: str) -> dict[str, Any]:
    """An ALB Ingress of the annotation's class (no spec.ingressClassName), as before IngressClasses existed."""
    ing = front("alb", [{"hostname": ALB_DNS}])
    del ing["spec"]["ingressClassName"]
    ing["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "alb", **annotations}
    return ing


def audit_alb(audit, *extra: dict[str, Any], unreadable=None):
    return audit({"cluster-a": [*istio_gateway(), *asm_gateway("ClusterIP"), *extra]}, "uninstall",
                 config=ONLY, asm=asm_side(cr("ClusterIP")), unreadable=unreadable)


def test_an_alb_ingress_without_an_ingressclass_is_on_the_default_albconfig(audit):
    """Main: UNKNOWN AA1754 (INCOMPLETE) for both; now the AlbConfig `default` tells."""
    a = audit_alb(audit, albconfig("default"), annotated_alb_ingress())
    assert rows(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"
    b = audit_alb(audit, albconfig("default", "Intranet"), annotated_alb_ingress())
    assert rows(b) == [("FAIL", "AA1728")]
    assert b.result.verdict == "NO-GO"


def test_the_default_albconfig_is_read_only_where_upstream_uses_it(audit):
    """The annotation's AlbConfig wins over `default`; an IngressClass `alb` naming another AlbConfig wins too."""
    named = annotated_alb_ingress(**{"alb.ingress.kubernetes.io/albconfig.name": "internal"})
    a = audit_alb(audit, albconfig("default"), albconfig("internal", "Intranet"), named)
    assert rows(a) == [("FAIL", "AA1728")]
    b = audit_alb(audit, alb_class(albconfig="internal"), albconfig("default"), albconfig("internal", "Intranet"),
                  annotated_alb_ingress())
    assert rows(b) == [("FAIL", "AA1728")]


def test_the_default_albconfig_not_readable_stays_unknown(audit):
    """`default` not found, AlbConfigs forbidden, or IngressClasses forbidden (one named `alb` may name another
    AlbConfig): UNKNOWN AA1754 as before."""
    cases = {
        "not found": ([albconfig("another")], None),
        "albconfigs unread": ([albconfig("default")], {"cluster-a": {K.ALBCONFIG: "albconfigs is forbidden"}}),
        "ingressclasses unread": ([albconfig("default")],
                                  {"cluster-a": {K.INGRESSCLASS: "ingressclasses is forbidden"}}),
    }
    for case, (objects, unreadable) in cases.items():
        a = audit_alb(audit, *objects, annotated_alb_ingress(), unreadable=unreadable)
        assert rows(a) == [("UNKNOWN", "AA1754")], case
        assert a.result.verdict == "INCOMPLETE", case


# ---------------------------------------------------------------- 2. AA1741's patch and the backend's port
def asm_ports(*ports: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"name": n, "port": p, "protocol": "TCP", "targetPort": t} for n, p, t in ports]


def audit_istio_fronted(audit, front_obj: dict[str, Any], ports: list[dict[str, Any]]):
    """Istio's gateway of the gateway chart (left by the purge), ASM's gateway whose IstioGateway spec.ports (and so its
    Service's) are `ports`, and `front_obj` still on Istio's Service."""
    from tests.checks.test_asm_gateway_reach import hosts_on
    from tests.checks.test_asm_gateway_reach_fronts import helm_istio_gateway

    asm = asm_gateway(address="47.96.10.21")
    asm[1]["spec"]["ports"] = [dict(p) for p in ports]
    gateway_cr = cr()
    gateway_cr["spec"]["ports"] = [dict(p) for p in ports]
    return audit({"cluster-a": [*helm_istio_gateway(), *asm, front_obj]}, "uninstall", config=ONLY,
                 asm=asm_side(gateway_cr, *hosts_on({"istio": "ingressgateway-asm"}, "shop.example.com",
                                                    "istio-ingressgateway-routes")))


def named_port_ingress() -> dict[str, Any]:
    ing = front("nginx", [{"ip": "47.96.10.60"}], service="istio-ingressgateway")
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "http2"}
    return ing


BACKEND = "/spec/rules/0/http/paths/0/backend/service"


def test_a_backend_by_port_name_gets_asms_port_by_number(audit):
    """ASM's Service names port 80 http-0: the patch also replaces the port by ASM's number. Main: the name alone."""
    a = audit_istio_fronted(audit, named_port_ingress(), asm_ports(("http-0", 80, 80), ("https-1", 443, 443)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1741")
    assert (f'{{"op":"replace","path":"{BACKEND}/port","value":{{"number":80}}}}') in row["remediation"]
    assert a.result.verdict == "NO-GO"
    # ASM's Service names its port http2 too: the name stays, the port is not touched.
    b = audit_istio_fronted(audit, named_port_ingress(), asm_ports(("http2", 80, 80)))
    [row] = b.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1741")
    assert f"{BACKEND}/port" not in row["remediation"]


def test_a_backend_port_asms_service_lacks_says_so(audit):
    """ASM's Service has 443 only: no port of number 80 nor of targetPort 80. FAIL AA1742 (not AA1741 with a patch
    that leaves the Ingress on a port that is not there), the IstioGateway patch adding Istio's port and keeping
    ASM's."""
    a = audit_istio_fronted(audit, named_port_ingress(), asm_ports(("https-1", 443, 443)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1742")
    assert "patch istiogateway/ingressgateway-asm --type=merge" in row["remediation"]
    assert '{"name":"http2","port":80,"protocol":"TCP","targetPort":80}' in row["remediation"]
    assert '{"name":"https-1","port":443,"protocol":"TCP","targetPort":443}' in row["remediation"]
    assert f'"path":"{BACKEND}/name","value":"istio-ingressgateway-asm"' in row["remediation"]
    assert a.result.verdict == "NO-GO"
    # A port by number ASM's Service has a port for by targetPort: that port's number.
    by_number = front("nginx", [{"ip": "47.96.10.60"}], service="istio-ingressgateway")
    b = audit_istio_fronted(audit, by_number, asm_ports(("http-0", 8080, 80)))
    [row] = b.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1741")
    assert f'{{"op":"replace","path":"{BACKEND}/port","value":{{"number":8080}}}}' in row["remediation"]


def route_on_istio(port: int = 80) -> dict[str, Any]:
    route = f.k8s_route("HTTPRoute", "edge", "shop", [{"name": "edge", "namespace": "shop"}],
                        backend="istio-ingressgateway", port=port)
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "istio-system"
    return route


def test_a_routes_backend_port_is_checked_on_asms_service(audit):
    """Port 80 on ASM's Service: as before. Only by targetPort: the port replaced. None: FAIL AA1742."""
    a = audit_istio_fronted(audit, route_on_istio(), asm_ports(("http-0", 80, 80)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1741")
    assert "/spec/rules/0/backendRefs/0/port" not in row["remediation"]
    b = audit_istio_fronted(audit, route_on_istio(), asm_ports(("http-0", 8080, 80)))
    [row] = b.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1741")
    assert '{"op":"replace","path":"/spec/rules/0/backendRefs/0/port","value":8080}' in row["remediation"]
    c = audit_istio_fronted(audit, route_on_istio(), asm_ports(("https-1", 443, 443)))
    [row] = c.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1742")
    assert '"path":"/spec/rules/0/backendRefs/0/name","value":"istio-ingressgateway-asm"' in row["remediation"]
    assert c.result.verdict == "NO-GO"
