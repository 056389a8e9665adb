"""purge-preview: what still names a Service `istioctl uninstall --purge` deletes (red19d).

The purge deletes every object labelled operator.istio.io/component (operator/pkg/uninstall/prune.go @1.24.6), Istio's
gateway Services included: istioctl renders istio-ingressgateway / istio-egressgateway with the label
(manifests/charts/gateways/istio-ingress|istio-egress/templates/service.yaml @1.24.6; tests/install_shapes.py
iop_gateway). What names such a Service keeps naming it afterwards and reaches nothing:
- an ExternalName Service aliasing it (`spec.externalName: istio-ingressgateway.istio-system.svc.cluster.local`;
  kubernetes/api core/v1 ServiceSpec.ExternalName: kube-dns answers a CNAME to that name, which resolves only while
  the Service exists);
- a VirtualService route sending mesh callers through the gateway (a hairpin to its public name; the route's
  destination host names the Service: istio.io/latest/docs/reference/config/networking/virtual-service Destination.host,
  a destination no Service answers is dropped, IST0101 in `istioctl analyze`);
- a Gateway API route whose backendRef (kind Service by default, weight 1 by default) names it
  (gateway.networking.k8s.io BackendRef, istio/istio@1.30.3:tests/integration/pilot/testdata/gateway-api-crd.yaml).
Main: PASS AA2501 (a GO) with each of them. Routes to Istio's egress gateway stay egress-routes-to-asm's (AA1610).
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import kinds as K
from auditor.errors import UsageError
from tests import factory as f
from tests import install_shapes as S

CHECK = "purge-preview"
INGRESS_HOST = "istio-ingressgateway.istio-system.svc.cluster.local"


def demo_install() -> list[dict[str, Any]]:
    """`istioctl install --set profile=demo` 1.24.6: istiod, the ingress and the egress gateway (operator-labelled)."""
    return S.istioctl_profile("demo", "1.24.6").objects


def external_name(name: str, namespace: str, target: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": f.meta(name, namespace),
            "spec": {"type": "ExternalName", "externalName": target}}


def hairpin_vs(host: str = INGRESS_HOST, weight: int | None = None, other: str | None = None) -> dict[str, Any]:
    route: list[dict[str, Any]] = [{"destination": {"host": host, "port": {"number": 80}}}]
    if weight is not None:
        route[0]["weight"] = weight
    if other:
        route.append({"destination": {"host": other, "port": {"number": 80}}, "weight": 100 - (weight or 0)})
    return f.istio_object("VirtualService", "shop-public", "shop", {"hosts": ["shop.example.com"], "gateways": ["mesh"],
                                                                    "http": [{"route": route}]})


def run(audit, *extra: dict[str, Any]):
    return audit({"cluster-a": [*demo_install(), *extra]}, "uninstall",
                 asm=[f.migration_cr("Migrating")], config=f.only_checks(CHECK))


def rows(a) -> list[tuple[str, str, str, str]]:
    return sorted((r["status"], r["code"], r["kind"], r["name"]) for r in a.rows(CHECK))


def test_the_demo_install_alone_passes(audit):
    assert [c for s, c, _, _ in rows(run(audit))] == ["AA2501"]


def test_an_externalname_alias_of_istios_ingress_gateway(audit):
    a = run(audit, external_name("edge", "shop", INGRESS_HOST))
    assert rows(a) == [("FAIL", "AA2513", "Service", "edge")]
    (row,) = a.rows(CHECK)
    assert row["evidence"]["service"] == "istio-system/istio-ingressgateway"
    assert a.result.verdict == "NO-GO"


def test_an_externalname_with_a_trailing_dot_or_another_cluster_domain(audit):
    a = run(audit, external_name("edge", "shop", "istio-ingressgateway.istio-system.svc.corp.example."))
    assert rows(a) == [("FAIL", "AA2513", "Service", "edge")]


def test_a_hairpin_route_through_istios_ingress_gateway(audit):
    for host in (INGRESS_HOST, "istio-ingressgateway.istio-system"):
        a = run(audit, hairpin_vs(host))
        assert rows(a) == [("FAIL", "AA2513", "VirtualService", "shop-public")], host


def test_a_route_weighing_istios_gateway_0_sends_it_nothing(audit):
    a = run(audit, hairpin_vs(weight=0, other="istio-ingressgateway-asm.istio-system.svc.cluster.local"))
    assert [c for s, c, _, _ in rows(a)] == ["AA2501"]
    a = run(audit, hairpin_vs(weight=10, other="istio-ingressgateway-asm.istio-system.svc.cluster.local"))
    assert rows(a) == [("FAIL", "AA2513", "VirtualService", "shop-public")]


def test_a_gateway_api_backendref_to_istios_ingress_gateway(audit):
    route = f.k8s_route("HTTPRoute", "edge", "shop", [{"name": "public", "namespace": "shop"}],
                        backend="istio-ingressgateway")
    for rule in route["spec"]["rules"]:
        for ref in rule["backendRefs"]:
            ref["namespace"] = "istio-system"
    a = run(audit, route)
    assert rows(a) == [("FAIL", "AA2513", "HTTPRoute", "edge")]


def test_routes_to_istios_egress_gateway_are_left_to_egress_routes_to_asm(audit):
    vs = f.virtualservice("cnn", "shop", hosts=["edition.cnn.com"], gateways=["mesh"],
                          http=[f.route(("istio-egressgateway.istio-system.svc.cluster.local", None))])
    a = run(audit, vs)
    assert [c for s, c, _, _ in rows(a)] == ["AA2501"]
    # ...but an ExternalName alias of it, which no other check reads, is named.
    a = run(audit, external_name("out", "shop", "istio-egressgateway.istio-system.svc.cluster.local"))
    assert rows(a) == [("FAIL", "AA2513", "Service", "out")]


def test_a_service_that_is_not_purged_is_not_named(audit):
    """Names of Services the purge leaves (the app's own, ASM's gateway) are nobody's business here."""
    a = run(audit, external_name("edge", "shop", "istio-ingressgateway-asm.istio-system.svc.cluster.local"),
            hairpin_vs("productpage.shop.svc.cluster.local"))
    assert [c for s, c, _, _ in rows(a)] == ["AA2501"]


# red19j: Ingresses of other controllers in front of Istio's gateway, and mirrors.
# An Ingress's backend is a Service of the Ingress's own namespace (kubernetes/api networking/v1 types.go, v0.34:
# IngressSpec.DefaultBackend *IngressBackend, Rules[].HTTP.Paths[].Backend IngressBackend{Service
# *IngressServiceBackend{Name string, Port ServiceBackendPort{Name, Number}}}: "The service must exist in the same
# namespace as the Ingress object"). The front-door pattern: an nginx / ALB / Traefik Ingress in istio-system whose
# backend is istio-ingressgateway; once the purge deletes that Service the controller has no endpoint for it (503).
def front_door(class_name: str, *, default: bool = False) -> dict[str, Any]:
    backend = {"service": {"name": "istio-ingressgateway", "port": {"number": 80}}}
    spec: dict[str, Any] = {"ingressClassName": class_name}
    if default:
        spec["defaultBackend"] = backend
    else:
        spec["rules"] = [{"host": "shop.example.com",
                          "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": f.meta(f"front-{class_name}", "istio-system"), "spec": spec}


def test_an_ingress_of_another_controller_in_front_of_istios_gateway(audit):
    for class_name in ("nginx", "alb", "traefik"):
        a = run(audit, front_door(class_name))
        assert rows(a) == [("FAIL", "AA2513", "Ingress", f"front-{class_name}")], class_name
        (row,) = a.rows(CHECK)
        assert row["evidence"]["service"] == "istio-system/istio-ingressgateway"
        assert a.result.verdict == "NO-GO"
    a = run(audit, front_door("nginx", default=True))
    assert rows(a) == [("FAIL", "AA2513", "Ingress", "front-nginx")]


def test_an_ingress_elsewhere_names_a_service_of_its_own_namespace(audit):
    """A backend named istio-ingressgateway in another namespace is that namespace's Service, not Istio's."""
    ing = front_door("nginx")
    ing["metadata"]["namespace"] = "shop"
    a = run(audit, ing)
    assert [c for s, c, _, _ in rows(a)] == ["AA2501"]


# Mirrors: istio/api@v1.30.3:networking/v1alpha3/virtual_service.proto HTTPRoute.mirror (Destination) and
# HTTPRoute.mirrors = 22 (repeated HTTPMirrorPolicy{destination, percentage}); gateway-api@v1.6.1:apis/v1/
# httproute_types.go HTTPRouteFilter{type: RequestMirror, requestMirror: HTTPRequestMirrorFilter{backendRef}} on a rule
# or on a backendRef. A mirror's copies are best effort and their answers ignored: losing the target loses the copies,
# not the traffic, so WARN AA2523 (not a NO-GO); a route to the same Service stays FAIL AA2513.
def mirroring_vs(field: str, host: str = INGRESS_HOST) -> dict[str, Any]:
    http: dict[str, Any] = {"route": [{"destination": {"host": "productpage.shop.svc.cluster.local"}}]}
    if field == "mirrors":
        http["mirrors"] = [{"destination": {"host": host, "port": {"number": 80}}, "percentage": {"value": 10.0}}]
    else:
        http["mirror"] = {"host": host, "port": {"number": 80}}
    return f.istio_object("VirtualService", "shop-shadow", "shop", {"hosts": ["productpage"], "http": [http]})


def test_a_virtualservice_mirror_or_mirrors_to_istios_gateway_warns(audit):
    for field in ("mirrors", "mirror"):
        a = run(audit, mirroring_vs(field))
        assert rows(a) == [("WARN", "AA2523", "VirtualService", "shop-shadow")], field
        assert a.result.verdict == "GO", field
    a = run(audit, mirroring_vs("mirrors", "productpage.shop.svc.cluster.local"))
    assert [c for s, c, _, _ in rows(a)] == ["AA2501"]


def test_a_route_and_a_mirror_to_the_same_service_is_one_fail(audit):
    vs = mirroring_vs("mirrors")
    vs["spec"]["http"][0]["route"][0]["destination"]["host"] = INGRESS_HOST
    a = run(audit, vs)
    assert rows(a) == [("FAIL", "AA2513", "VirtualService", "shop-shadow")]


def test_a_gateway_api_request_mirror_to_istios_gateway_warns(audit):
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "istio-ingressgateway",
                                                                         "namespace": "istio-system", "port": 80}}}
    for where in ("rule", "backendRef"):
        route = f.k8s_route("HTTPRoute", "edge", "shop", [{"name": "public", "namespace": "shop"}])
        rule = route["spec"]["rules"][0]
        (rule if where == "rule" else rule["backendRefs"][0])["filters"] = [mirror]
        a = run(audit, route)
        assert rows(a) == [("WARN", "AA2523", "HTTPRoute", "edge")], where


def test_what_may_name_the_purged_services_not_read_is_unknown_not_clean(audit):
    """An Ingress list forbidden to the auditor may hide a front door on istio-ingressgateway: no AA2501 then."""
    for kind in (K.INGRESS, K.VIRTUALSERVICE, K.K8S_HTTPROUTE):
        a = audit({"cluster-a": demo_install()}, "uninstall", asm=[f.migration_cr("Migrating")],
                  config=f.only_checks(CHECK), unreadable={"cluster-a": {kind: "forbidden"}})
        assert [(s, c) for s, c, _, _ in rows(a)] == [("UNKNOWN", "AA2538")], kind.kind
        assert a.result.verdict == "INCOMPLETE", kind.kind


def test_an_ingress_backend_or_mirror_of_other_types_is_bad_input(audit):
    """A list as an Ingress backend's Service name or a mirrors[] destination host was read as naming nothing."""
    ing = front_door("nginx")
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = ["istio-ingressgateway"]
    vs = mirroring_vs("mirrors")
    vs["spec"]["http"][0]["mirrors"][0]["destination"]["host"] = [INGRESS_HOST]
    for obj in (ing, vs):
        with pytest.raises(UsageError):
            run(audit, obj)


def test_an_ingress_on_istios_egress_gateway_is_named_here(audit):
    """egress-routes-to-asm judges VirtualServices and Gateway API routes to Istio's egress gateway, not Ingresses: an
    Ingress whose backend is istio-egressgateway is this check's (main and the first fix skipped every kind but an
    ExternalName Service as egress-routes-to-asm's)."""
    ing = front_door("nginx")
    ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "istio-egressgateway"
    a = run(audit, ing)
    assert rows(a) == [("FAIL", "AA2513", "Ingress", "front-nginx")]
