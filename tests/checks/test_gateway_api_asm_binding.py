"""An Istio gateway istiod deployed for a Gateway API Gateway is replaced only by an ASM gateway that takes its hosts.

Shapes:
- Istio's automated deployment (istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/files/
  kube-gateway.yaml, pilot/pkg/config/kube/gateway/deploymentcontroller.go): for a Gateway of class istio without
  spec.addresses istiod renders `<gateway>-istio` (its own istio-proxy container, pod label `sidecar.istio.io/inject:
  "false"`, owned by the Gateway); its listeners are the Gateway's, with the hostnames of the routes attached to it
  (tests/factory.py k8s_gateway, gateway_api_deployment, k8s_route).
- A Gateway bound to an existing gateway instead: spec.addresses of type Hostname naming its Service (IsManaged and
  extractGatewayServices, istio/istio@1.24.6 pilot/pkg/config/kube/gateway/conversion.go); a single address of no type
  or type IPAddress leaves it deployed by istiod.
- ASM deploys no gateway for a Gateway: "Unlike upstream Istio, where a Gateway resource automatically provisions a
  data plane, ASM requires you to bind the Gateway to a pre-deployed ingress gateway through the spec.addresses field"
  (alibabacloud.com/help/en/asm/sidecar/use-cases/use-gateway-api-to-define-a-routing-rule-1694486964018).

main passed AA1701 for any ASM ingress gateway of the cluster: none of the Istio Gateways it reads for listeners
(AA1714/AA1715) selects a Gateway API gateway's pods, so nothing was compared, and the Gateway's hosts died with Istio's
gateway after the purge (its Deployment left with no istiod, AA2311 only at the finished gate).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateways import IDS, asm_ingress, asm_side

CHECK = "asm-gateways-present"
ASM_SVC = "istio-ingressgateway-asm.istio-system.svc.cluster.local"


def istio_gateway_api(hostname: str = "*.example.com", namespace: str = "edge") -> list[dict[str, Any]]:
    """Gateway edge/web of class istio, istiod's web-istio, and an HTTPRoute shop/shop attached to it."""
    gateway = f.k8s_gateway("web", namespace, hostname=hostname)
    route = f.k8s_route("HTTPRoute", "shop", "shop", [{"name": "web", "namespace": namespace}])
    return [f.gateway_class("istio"), gateway, *f.gateway_api_deployment(gateway), route]


def bound(name: str, namespace: str, value: str = ASM_SVC, *, hostname: str = "*.example.com",
          address_type: str | None = "Hostname") -> dict[str, Any]:
    """A Gateway of class istio bound to the ASM gateway's Service (ASM's documented way)."""
    gateway = f.k8s_gateway(name, namespace, hostname=hostname, uid_salt="asm")
    address: dict[str, Any] = {"value": value}
    if address_type is not None:
        address["type"] = address_type
    gateway["spec"]["addresses"] = [address]
    return gateway


def moved_route() -> dict[str, Any]:
    """The HTTPRoute attached to the bound Gateways web-asm (of edge, istio-system, web) on the ASM control plane."""
    return f.k8s_route("HTTPRoute", "shop-moved", "shop", [{"name": "web-asm", "namespace": ns}
                                                           for ns in ("edge", "istio-system", "web")], uid_salt="asm")


def run(audit, cluster: list[dict], asm: list[dict] | None = None, *, routes: bool = True, **kw: Any):
    """routes: the moved HTTPRoute attaches to the bound Gateways (a listener without a route serves nothing)."""
    a = audit({"cluster-a": [*cluster, *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"]), *(asm or []),
                           *([moved_route()] if routes else [])),
              **kw)
    return [(r["status"], r["code"], r["name"]) for r in a.rows(CHECK)], a


def test_an_unbound_gateway_api_gateway_is_not_replaced_by_any_asm_ingress_gateway(audit):
    """Fails on main (PASS AA1701)."""
    rows, a = run(audit, istio_gateway_api())
    assert rows == [("FAIL", "AA1719", "web-istio")]
    evidence = a.rows(CHECK)[0]["evidence"]
    assert evidence["gateway_api_gateway"] == "edge/web"
    assert evidence["hosts_untaken"] == ["*.example.com"]


def test_the_same_gateway_imported_into_asm_unbound_is_still_not_replaced(audit):
    """AA2111's import (the same spec on ASM) binds nothing: ASM deploys no web-istio. Fails on main (AA1701)."""
    gateway = f.k8s_gateway("web", "edge")
    rows, _ = run(audit, istio_gateway_api(), asm=[f.gateway_class("istio"), gateway])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_a_gateway_bound_to_the_asm_gateway_on_the_asm_control_plane_replaces_it(audit):
    rows, _ = run(audit, istio_gateway_api(), asm=[f.gateway_class("istio"), bound("web-asm", "istio-system")])
    assert rows == [("PASS", "AA1701", "web-istio")]


def test_a_gateway_of_another_namespace_naming_the_asm_gateway_s_service_binds_nothing(audit):
    """istiod applies a bound Gateway to a proxy only for a Service named by an address *and* of the Gateway's own
    namespace (`si.Service.Attributes.Namespace == cfg.Namespace`, istio/istio@1.24.6 pilot/pkg/model/push_context.go;
    the same test @1.20.0 and, as InternalParentNamespace, @1.30.3): a Gateway of `edge` naming istio-system's ASM
    gateway Service configures no listener on it. main took it for a binding (a false GO: PASS AA1701)."""
    rows, _ = run(audit, istio_gateway_api(), asm=[f.gateway_class("istio"), bound("web-asm", "edge")])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_a_bound_gateway_no_route_attaches_to_serves_nothing(audit):
    """The routes left on the old Gateway: ASM's gateway gets the listener but answers 404. Fails on main."""
    rows, _ = run(audit, istio_gateway_api(), asm=[bound("web-asm", "istio-system")], routes=False)
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_unread_routes_on_asm_beside_a_bound_gateway_are_unknown(audit):
    rows, _ = run(audit, istio_gateway_api(), asm=[bound("web-asm", "istio-system")], routes=False,
                  unreadable={"asm": {K.K8S_ROUTE_KINDS[0]: "forbidden: httproutes.gateway.networking.k8s.io"}})
    assert rows == [("UNKNOWN", "AA1750", "web-istio")]


def test_a_gateway_bound_by_short_name_in_the_asm_gateways_namespace_in_the_cluster_replaces_it(audit):
    rows, _ = run(audit, [*istio_gateway_api(), bound("web-asm", "istio-system", "istio-ingressgateway-asm")])
    assert rows == [("PASS", "AA1701", "web-istio")]


def test_a_bound_gateway_for_other_hosts_or_a_single_ip_address_binds_nothing_of_it(audit):
    """Fail on main (AA1701)."""
    rows, _ = run(audit, istio_gateway_api(), asm=[bound("web-asm", "istio-system", hostname="*.other.example")])
    assert rows == [("FAIL", "AA1719", "web-istio")]
    # One address of no type is an IP address (IsManaged): istiod deploys web-asm-istio for it, not ASM's gateway.
    rows, _ = run(audit, istio_gateway_api(), asm=[bound("web-asm", "istio-system", address_type=None)])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_istio_gateways_selecting_the_asm_gateway_take_the_route_hostnames(audit):
    """A listener without hostname takes the hostnames of its routes; moved to an Istio Gateway on ASM's pods, with a
    VirtualService bound to it (a Gateway server serves only what bound routes take: red20f,
    tests/checks/test_asm_gateway_routes_bound.py)."""
    objs = istio_gateway_api()
    gateway, route = objs[1], objs[-1]
    del gateway["spec"]["listeners"][0]["hostname"]
    route["spec"]["hostnames"] = ["shop.example.com"]
    moved = f.istio_object("Gateway", "shop-gw", "istio-system", {
        "selector": {"istio": "ingressgateway-asm"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["shop.example.com"]}]})
    routed = f.virtualservice("shop", "shop", hosts=["*.example.com"], gateways=["istio-system/shop-gw"],
                              http=[{"route": [{"destination": {"host": "web", "port": {"number": 80}}}]}])
    rows, _ = run(audit, objs, asm=[moved, routed])
    assert rows == [("PASS", "AA1701", "web-istio")]
    moved["spec"]["servers"][0]["hosts"] = ["cart.example.com"]
    rows, a = run(audit, objs, asm=[moved, routed])
    assert rows == [("FAIL", "AA1719", "web-istio")]
    assert a.rows(CHECK)[0]["evidence"]["hosts_untaken"] == ["shop.example.com"]


def test_unread_gateway_api_gateways_on_asm_are_unknown_not_pass(audit):
    """Fails on main (PASS AA1701)."""
    rows, _ = run(audit, istio_gateway_api(),
                  unreadable={"asm": {K.K8S_GATEWAY: "forbidden: gateways.gateway.networking.k8s.io"}})
    assert rows == [("UNKNOWN", "AA1750", "web-istio")]


# TLS listeners (gateway-api apis/v1 gateway_types.go GatewayTLSConfig: mode Terminate by default, certificateRefs of
# kind Secret, group "", namespace the Gateway's unless given): istiod serves a gateway proxy a certificateRef only when
# the Gateway and the Secret are in the proxy's namespace, or a ReferenceGrant of the Secret's namespace lets Gateways
# of the proxy's namespace use it (istio/istio@1.24.6 pilot/pkg/model/gateway.go mergeGateways, pilot/pkg/xds/sds.go
# filterAuthorizedResources, pilot/pkg/config/kube/gateway/model.go SecretAllowed). Istio's web-istio runs in the
# Gateway's namespace; ASM's gateway in istio-system.
def https(gateway: dict[str, Any], secret_namespace: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"group": "", "kind": "Secret", "name": "shop-cert"}
    if secret_namespace:
        ref["namespace"] = secret_namespace
    gateway["spec"]["listeners"] = [{"name": "https", "hostname": "shop.example.com", "port": 443, "protocol": "HTTPS",
                                     "tls": {"mode": "Terminate", "certificateRefs": [ref]},
                                     "allowedRoutes": {"namespaces": {"from": "All"}}}]
    return gateway


def secret_grant(namespace: str, from_namespace: str) -> dict[str, Any]:
    grant = f.reference_grant("gateways-to-certs", namespace, "Gateway", from_namespace, uid_salt="tls")
    grant["spec"]["to"] = [{"group": "", "kind": "Secret"}]
    return grant


def istio_https_gateway() -> list[dict[str, Any]]:
    objs = istio_gateway_api()
    https(objs[1])
    return objs


def test_a_bound_gateway_whose_certificate_the_asm_gateway_is_never_served_takes_no_tls_host(audit):
    """Bound in the ASM gateway's namespace (istio-system, where a bound Gateway must be) naming the Secret Istio's
    gateway used, of edge: refused without a ReferenceGrant. Fails on main (PASS AA1701)."""
    rows, a = run(audit, istio_https_gateway(), asm=[https(bound("web-asm", "istio-system"), "edge")])
    assert rows == [("FAIL", "AA1719", "web-istio")]
    evidence = a.rows(CHECK)[0]["evidence"]
    assert evidence["hosts_untaken"] == ["shop.example.com"]
    assert evidence["certificates_not_served"] == ["edge/shop-cert"]
    # A plain-HTTP listener for the host does not take the HTTPS one.
    rows, _ = run(audit, istio_https_gateway(), asm=[bound("web-asm", "istio-system", hostname="shop.example.com")])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_a_bound_gateway_with_its_certificate_served_to_the_asm_gateway_takes_the_tls_host(audit):
    # Gateway and Secret in the ASM gateway's namespace.
    rows, _ = run(audit, istio_https_gateway(), asm=[https(bound("web-asm", "istio-system"))])
    assert rows == [("PASS", "AA1701", "web-istio")]
    # A ReferenceGrant of edge lets Gateways of istio-system (the proxy's namespace) use the Secret, in the cluster.
    rows, _ = run(audit, [*istio_https_gateway(), secret_grant("edge", "istio-system")],
                  asm=[https(bound("web-asm", "istio-system"), "edge")])
    assert rows == [("PASS", "AA1701", "web-istio")]
    # A grant to Gateways of edge is no grant to the Gateway and proxy of istio-system.
    rows, _ = run(audit, [*istio_https_gateway(), secret_grant("edge", "edge")],
                  asm=[https(bound("web-asm", "istio-system"), "edge")])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_unread_reference_grants_where_a_certificate_needs_one_are_unknown(audit):
    rows, _ = run(audit, istio_https_gateway(), asm=[https(bound("web-asm", "istio-system"), "edge")],
                  unreadable={"asm": {K.K8S_REFERENCEGRANT: "forbidden: referencegrants.gateway.networking.k8s.io"}})
    assert rows == [("UNKNOWN", "AA1750", "web-istio")]


def test_beside_an_istioctl_gateway_the_asm_gateway_it_matches_does_not_leave_a_gateway_api_gateway_a_warning(audit):
    """istio-ingressgateway (istioctl, judged first: istio-system before web) takes the one ASM ingress gateway; main
    then only WARNed (AA1722, minor: GO) that the Gateway API gateway's hosts be confirmed, while nothing takes them."""
    from tests.checks.test_gateways import ingress

    rows, _ = run(audit, [*ingress(), *istio_gateway_api(namespace="web")])
    assert sorted(rows) == [("FAIL", "AA1719", "web-istio"), ("PASS", "AA1701", "istio-ingressgateway")]
    # Bound, its hosts are taken: the reminder stays what it was.
    rows, _ = run(audit, [*ingress(), *istio_gateway_api(namespace="web")], asm=[bound("web-asm", "istio-system")])
    assert sorted(rows) == [("PASS", "AA1701", "istio-ingressgateway"), ("WARN", "AA1722", "web-istio")]



# ---------------------------------------------------------------- route attachment per listener (review19, session 17)
# gateway-api apis/v1 gateway_types.go AllowedRoutes (namespaces.from defaults to Same; Selector over the route
# namespace's labels) and shared_types.go ParentReference (sectionName / port name one listener): a route that does not
# attach to a listener gives it no route, and a listener without one answers 404 (the bound Gateway takes no host).
def test_a_bound_listener_of_default_allowed_routes_takes_no_route_of_another_namespace(audit):
    """The bound istio-system/web-asm without allowedRoutes (from: Same), the route in shop: not attached. Before:
    PASS."""
    gateway = bound("web-asm", "istio-system")
    del gateway["spec"]["listeners"][0]["allowedRoutes"]
    rows, _ = run(audit, istio_gateway_api(), asm=[gateway])
    assert rows == [("FAIL", "AA1719", "web-istio")]
    # A route of the Gateway's own namespace: attached.
    route = f.k8s_route("HTTPRoute", "shop-moved", "istio-system", [{"name": "web-asm"}], uid_salt="asm")
    rows, _ = run(audit, istio_gateway_api(), asm=[gateway, route], routes=False)
    assert rows == [("PASS", "AA1701", "web-istio")]


def test_a_bound_listener_allowing_a_namespace_selector(audit):
    """from: Selector matches the route namespace's labels (the cluster's Namespaces); unread, nothing attaches."""
    gateway = bound("web-asm", "istio-system")
    gateway["spec"]["listeners"][0]["allowedRoutes"] = {"namespaces": {"from": "Selector", "selector": {
        "matchLabels": {"kubernetes.io/metadata.name": "shop"}}}}
    shop = f.namespace("shop", {"kubernetes.io/metadata.name": "shop"})
    rows, _ = run(audit, [*istio_gateway_api(), shop], asm=[gateway])
    assert rows == [("PASS", "AA1701", "web-istio")]
    gateway["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"] = {"matchLabels": {"team": "edge"}}
    rows, _ = run(audit, [*istio_gateway_api(), shop], asm=[gateway])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_a_route_naming_another_listener_leaves_this_one_without_routes(audit):
    """sectionName names the bound Gateway's `other` listener (other.example.org); *.example.com's has no route."""
    gateway = bound("web-asm", "istio-system")
    gateway["spec"]["listeners"].append({"name": "other", "hostname": "other.example.org", "port": 80,
                                         "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}})
    route = moved_route()
    for ref in route["spec"]["parentRefs"]:
        ref["sectionName"] = "other"
    a = audit({"cluster-a": [*istio_gateway_api(), *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"]), gateway, route))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("FAIL", "AA1719")]


def test_a_two_label_address_binds_nothing(audit):
    """istiod expands only a dot-less address into the Gateway's namespace and looks anything else up as a Service's
    full hostname (extractGatewayServices, istio/istio@1.24.6 conversion.go): `name.namespace` binds nothing."""
    rows, _ = run(audit, istio_gateway_api(),
                  asm=[bound("web-asm", "istio-system", "istio-ingressgateway-asm.istio-system")])
    assert rows == [("FAIL", "AA1719", "web-istio")]


def test_an_address_of_another_cluster_domain_binds_nothing(audit):
    """istiod looks a dotted address up as a Service's hostname in its registry (extractGatewayServices, istio/
    istio@1.24.6 conversion.go), and its registry names Services `<name>.<namespace>.svc.<domain>` with the one domain
    istiod runs with (`--domain`, default cluster.local: pilot/cmd/pilot-discovery/app/cmd.go; the istio-discovery
    chart's `global.proxy.clusterDomain`): `...svc.example.internal` names no Service, the Gateway binds nothing.
    main took anything after `svc` for a binding (a false GO)."""
    other_domain = "istio-ingressgateway-asm.istio-system.svc.example.internal"
    rows, _ = run(audit, istio_gateway_api(), asm=[bound("web-asm", "istio-system", other_domain)])
    assert rows == [("FAIL", "AA1719", "web-istio")]

