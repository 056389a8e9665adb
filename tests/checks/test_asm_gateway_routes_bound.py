"""asm-gateways-present at the uninstall gate: a host is served on ASM's gateway only where a route of the right kind,
bound to a Gateway selecting ASM's pods, takes it (red20f).

A Gateway server alone serves nothing. istiod builds an HTTP/HTTPS server's routes from the VirtualServices bound to
that Gateway (push.VirtualServicesForGateway(proxy namespace, "ns/name")) whose hosts intersect the server's; with none
the listener gets one `blackhole` virtual host without routes, and Envoy answers 404 NR to every request
(istio/istio@1.30.3 and @1.24.6: pilot/pkg/networking/core/gateway.go buildGatewayHTTPRouteConfig, "no vhosts; Setting
up a default 404 vhost"); a TLS PASSTHROUGH server gets filter chains only from `tls` routes whose match (sniHosts,
port, gateways) fits (buildGatewayNetworkFiltersFromTLSRoutes), a TCP server only from `tcp` routes
(buildGatewayNetworkFiltersFromTCPRoutes, "listener missed network filter"). A VirtualService is bound by spec.gateways
only: `ns/name`, `./name` and a short name resolved in the VirtualService's own namespace, `mesh` no gateway, none
given meaning `mesh` (pilot/pkg/model/config.go resolveGatewayName, pilot/pkg/model/push_context.go getGatewayNames);
exportTo `.` or a list of namespaces makes it visible only to gateway pods of those namespaces, `~` to none
(push_context.go initVirtualServices, VirtualServicesForGateway @1.30.3); an http match naming only other gateways, or
another port, builds no route (pilot/pkg/networking/core/route/route.go BuildHTTPRoutesForVirtualService, "no routes
matched"). A server with tls.httpsRedirect answers its hosts with a redirect without any route (gateway.go, the
RequireTls virtual hosts). ASM's own topic says the same: "A Gateway only configures the ports where a proxy listens.
You must also configure a VirtualService to define the traffic routing rules." (alibabacloud.com/help/en/asm/ambient/
user-guide/configure-an-istio-gateway-for-multiple-ingress-gateway-services).

Shapes: bookinfo's Gateway and VirtualService (istio/istio@1.24.6 samples/bookinfo/networking/bookinfo-gateway.yaml:
server 8080 HTTP hosts `*`, VirtualService hosts `*` with gateways [bookinfo-gateway] and http routes to productpage
9080), and the same pair as Istio's and ASM's docs write it with the Gateway in istio-system (`ingressgateway`, bound as
`istio-system/ingressgateway`). The migration step under test adds a Gateway `asm-ingress` selecting ASM's pods with the
same servers while every VirtualService still names only Istio's Gateway: ASM's gateway answers 404. Istio config read
on the ASM control plane (tests/install_shapes.py asm_control_plane: the imported copies) and in the cluster. ASM's
gateway Service maps 80 -> 8080 here (IstioGateway spec.ports, as tests/checks/test_asm_gateway_hosts_ports.py
test_asms_service_mapping_80_to_8080_reaches_bookinfos_listener) so that only the routes are under test.
Main: PASS AA1701 (a GO) in each FAIL and UNKNOWN case below.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_asm_gateway_hosts_ports import ASM, ASM_CR, ISTIO, ONLY, istio_ingress
from tests.checks.test_gateways import asm_ingress, asm_side

CHECK = "asm-gateways-present"
ROUTES_UNBOUND = ("FAIL", "AA1724")
ROUTES_UNREAD = ("UNKNOWN", "AA1751")
PASS = ("PASS", "AA1701")


def asm_gateway_service() -> list[dict[str, Any]]:
    asm = asm_ingress()
    asm[1]["spec"]["ports"] = [{"name": "http-0", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                               {"name": "https-1", "port": 443, "targetPort": 8443, "protocol": "TCP"}]
    return asm


def gateway(name: str, namespace: str, selector: dict[str, str], *servers: dict[str, Any]) -> dict[str, Any]:
    return f.istio_object("Gateway", name, namespace, {"selector": selector, "servers": list(servers)})


def http_server(hosts: list[str], port: int = 8080, **tls: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"port": {"number": port, "name": "http", "protocol": "HTTP"}, "hosts": hosts}
    if tls:
        out["tls"] = tls
    return out


def bookinfo_vs(gateways: list[str] | None, namespace: str = "bookinfo", *, hosts: list[str] | None = None,
                name: str = "bookinfo", export_to: list[str] | None = None,
                match: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """samples/bookinfo/networking/bookinfo-gateway.yaml @1.24.6's VirtualService (its http routes, trimmed)."""
    spec: dict[str, Any] = {
        "hosts": hosts or ["*"],
        "http": [{"match": match or [{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/static"}}],
                  "route": [{"destination": {"host": "productpage", "port": {"number": 9080}}}]}]}
    if gateways is not None:
        spec["gateways"] = gateways
    if export_to is not None:
        spec["exportTo"] = export_to
    return f.istio_object("VirtualService", name, namespace, spec)


def istio_and_asm_gateways(*servers: dict[str, Any]) -> list[dict[str, Any]]:
    """Istio's Gateway istio-system/ingressgateway and the migration's new istio-system/asm-ingress, same servers."""
    return [gateway("ingressgateway", "istio-system", ISTIO, *servers),
            gateway("asm-ingress", "istio-system", ASM, *servers)]


def run(audit, config: list[dict[str, Any]], **kw: Any):
    """The Istio config in the cluster and imported on the ASM control plane (same objects)."""
    cluster = [*istio_ingress(), *asm_gateway_service(), *config]
    return audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, *config), **kw)


def codes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


# ---------------------------------------------------------------- the migration step that leaves ASM's gateway 404
def test_new_gateway_for_asms_pods_with_routes_bound_only_to_istios_answers_404(audit):
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(["istio-system/ingressgateway"])])
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == (*ROUTES_UNBOUND, "blocker")
    assert row["evidence"]["hosts_unrouted"] == {"*": ["istio-system/asm-ingress"]}
    assert a.result.verdict == "NO-GO"


def test_routes_bound_to_both_gateways_serve_on_asms(audit):
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])),
                    bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"])])
    assert codes(a) == [PASS]
    assert a.result.verdict == "GO"


def test_bookinfo_gateway_repointed_on_asm_keeps_its_binding(audit):
    """The sample as it is (Gateway bookinfo/bookinfo-gateway, VirtualService `gateways: [bookinfo-gateway]`); its copy
    on the ASM control plane selects ASM's pods: the short name binds the same Gateway."""
    vs = bookinfo_vs(["bookinfo-gateway"])
    here = gateway("bookinfo-gateway", "bookinfo", ISTIO, http_server(["*"]))
    there = gateway("bookinfo-gateway", "bookinfo", ASM, http_server(["*"]))
    cluster = [*istio_ingress(), *asm_gateway_service(), here, vs]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, there, vs))
    assert codes(a) == [PASS]


def test_a_short_gateway_name_resolves_in_the_virtualservices_namespace(audit):
    """`asm-ingress` written in bookinfo's VirtualService is bookinfo/asm-ingress, not istio-system's."""
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])),
                    bookinfo_vs(["istio-system/ingressgateway", "asm-ingress"])])
    assert codes(a) == [ROUTES_UNBOUND]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])),
                    bookinfo_vs(["istio-system/ingressgateway", "asm-ingress.istio-system.svc.cluster.local"])])
    assert codes(a) == [PASS]  # the legacy FQDN form is istio-system/asm-ingress


def test_mesh_is_no_gateway(audit):
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])),
                    bookinfo_vs(["istio-system/ingressgateway", "mesh"]), bookinfo_vs(None, name="internal")])
    assert codes(a) == [ROUTES_UNBOUND]


def test_export_to_hides_a_virtualservice_from_asms_gateway_pods(audit):
    """ASM's gateway pods run in istio-system; bookinfo's VirtualService exported to `.` is seen only in bookinfo:
    the one bound to ASM's Gateway that way routes nothing there, while Istio's sees its own."""
    both = ["istio-system/ingressgateway", "istio-system/asm-ingress"]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])),
                    bookinfo_vs(["istio-system/ingressgateway"], name="istio-side"),
                    bookinfo_vs(["istio-system/asm-ingress"], export_to=["."])])
    assert ROUTES_UNBOUND in codes(a)
    # The same `.` VirtualService bound to both: Istio's gateway does not see it either (404 today): nothing lost.
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, export_to=["."])])
    assert codes(a) == [PASS]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, export_to=["istio-system"])])
    assert codes(a) == [PASS]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, export_to=["*"])])
    assert codes(a) == [PASS]


def test_http_matches_for_istios_gateway_only_build_no_route_on_asms(audit):
    both = ["istio-system/ingressgateway", "istio-system/asm-ingress"]
    only_istio = [{"uri": {"prefix": "/"}, "gateways": ["istio-system/ingressgateway"]}]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, match=only_istio)])
    assert codes(a) == [ROUTES_UNBOUND]
    # A match of another port builds no route on either gateway (review20): Istio's answers 404 already, nothing lost;
    # beside a VirtualService routing on Istio's only, the same match leaves ASM's without a route.
    other_port = [{"uri": {"prefix": "/"}, "port": 9999}]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, match=other_port)])
    assert codes(a) == [PASS]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), bookinfo_vs(both, match=other_port),
                    bookinfo_vs(["istio-system/ingressgateway"], name="istio-side")])
    assert codes(a) == [ROUTES_UNBOUND]


def test_a_wildcard_server_is_compared_by_the_hosts_its_routes_take(audit):
    """Gateways list `*`, VirtualServices name the hosts: what Istio's gateway answers are those hosts."""
    shop = bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"], "shop", name="shop",
                       hosts=["shop.example.com"])
    blog = bookinfo_vs(["istio-system/ingressgateway"], "blog", name="blog", hosts=["blog.example.com"])
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), shop])
    assert codes(a) == [PASS]
    a = run(audit, [*istio_and_asm_gateways(http_server(["*"])), shop, blog])
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ROUTES_UNBOUND
    assert row["evidence"]["hosts_unrouted"] == {"blog.example.com": ["istio-system/asm-ingress"]}


def test_a_server_host_of_one_namespace_takes_only_its_virtualservices(audit):
    """`shop/shop.example.com` on ASM's Gateway: a VirtualService of another namespace is not taken there."""
    istio_gw = gateway("ingressgateway", "istio-system", ISTIO, http_server(["*/shop.example.com"]))
    asm_gw = gateway("asm-ingress", "istio-system", ASM, http_server(["shop/shop.example.com"]))
    vs = bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"], "bookinfo",
                     hosts=["shop.example.com"])
    a = run(audit, [istio_gw, asm_gw, vs])
    assert codes(a) == [ROUTES_UNBOUND]


def test_passthrough_needs_tls_routes_and_tcp_needs_tcp_routes(audit):
    passthrough = {"port": {"number": 443, "name": "tls", "protocol": "TLS"}, "hosts": ["db.example.com"],
                   "tls": {"mode": "PASSTHROUGH"}}
    tcp = {"port": {"number": 443, "name": "tcp", "protocol": "TCP"}, "hosts": ["*"]}
    both = ["istio-system/ingressgateway", "istio-system/asm-ingress"]
    tls_route = [{"match": [{"port": 443, "sniHosts": ["db.example.com"]}],
                  "route": [{"destination": {"host": "db.data.svc.cluster.local", "port": {"number": 5432}}}]}]
    tcp_route = [{"match": [{"port": 443}],
                  "route": [{"destination": {"host": "db.data.svc.cluster.local", "port": {"number": 5432}}}]}]
    http_only = bookinfo_vs(both, "data", name="db", hosts=["db.example.com"])
    with_tls = f.istio_object("VirtualService", "db", "data",
                              {"hosts": ["db.example.com"], "gateways": both, "tls": tls_route})
    with_tcp = f.istio_object("VirtualService", "db", "data", {"hosts": ["*"], "gateways": both, "tcp": tcp_route})
    # What Istio's gateway serves today: routes of the right kind bound to its Gateway only.
    istio_tls = f.istio_object("VirtualService", "db-istio", "data", {
        "hosts": ["db.example.com"], "gateways": ["istio-system/ingressgateway"], "tls": tls_route})
    istio_tcp = f.istio_object("VirtualService", "db-istio", "data", {
        "hosts": ["*"], "gateways": ["istio-system/ingressgateway"], "tcp": tcp_route})
    assert codes(run(audit, [*istio_and_asm_gateways(passthrough), http_only, istio_tls])) == [ROUTES_UNBOUND]
    assert codes(run(audit, [*istio_and_asm_gateways(passthrough), with_tls])) == [PASS]
    assert codes(run(audit, [*istio_and_asm_gateways(tcp), with_tls, istio_tcp])) == [ROUTES_UNBOUND]
    assert codes(run(audit, [*istio_and_asm_gateways(tcp), with_tcp])) == [PASS]
    # The wrong kind on both: Istio's gateway serves nothing there today either (review20): nothing lost.
    assert codes(run(audit, [*istio_and_asm_gateways(passthrough), http_only])) == [PASS]


def test_https_redirect_answers_without_a_route(audit):
    redirect = http_server(["bookinfo.example.com"], httpsRedirect=True)
    a = run(audit, [*istio_and_asm_gateways(redirect), bookinfo_vs(["istio-system/ingressgateway"])])
    assert codes(a) == [PASS]


def test_virtualservices_unread_on_asm_leave_asms_routes_unknown(audit):
    config = [*istio_and_asm_gateways(http_server(["*"])),
              bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"])]
    a = run(audit, config, unreadable={"asm": {K.VIRTUALSERVICE: "403 Forbidden"}})
    assert codes(a) == [ROUTES_UNREAD]
    assert a.result.verdict == "INCOMPLETE"
    # the cluster's unread: Istio's gateway is asked for its servers' hosts (over-counted), which ASM's routes take
    a = run(audit, config, unreadable={"cluster-a": {K.VIRTUALSERVICE: "403 Forbidden"}})
    assert codes(a) == [PASS]


def test_a_virtualservice_left_in_the_cluster_routes_nothing_on_asms_gateway(audit):
    """ASM's istiod reads the ASM control plane's config: the binding to asm-ingress made only in the cluster's copy
    (not imported) gives ASM's gateway no route."""
    gateways = istio_and_asm_gateways(http_server(["*"]))
    cluster = [*istio_ingress(), *asm_gateway_service(), *gateways,
               bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"])]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY,
              asm=asm_side(ASM_CR, *gateways, bookinfo_vs(["istio-system/ingressgateway"])))
    assert codes(a) == [ROUTES_UNBOUND]


# ---------------------------------------------------------------- the same rule where Ingress, Gateway API hosts move
def test_ingress_hosts_moved_to_a_gateway_on_asms_pods_need_its_routes(audit):
    """Istio's Kubernetes Ingress task (tests/checks/test_ingress_on_istio_gateway.py ingress: httpbin.example.com),
    its host moved to an Istio Gateway selecting ASM's pods (AA1739's other remediation) but no VirtualService bound to
    it: ASM's gateway answers 404 for it, so the Ingress is not shown served (UNKNOWN AA1739; main: PASS AA1701)."""
    from tests.checks.test_ingress_on_istio_gateway import ingress, ingress_class

    moved = gateway("httpbin", "default", ASM, http_server(["httpbin.example.com"], port=80))
    routed = f.virtualservice("httpbin", "default", hosts=["httpbin.example.com"], gateways=["httpbin"], http=[
        {"match": [{"uri": {"prefix": "/status"}}],
         "route": [{"destination": {"host": "httpbin", "port": {"number": 8000}}}]}])
    cluster = [f.istiod(version="1.24.6"), f.mesh_configmap(), *istio_ingress(), *asm_ingress(), ingress_class(),
               ingress()]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, moved))
    assert codes(a) == [("UNKNOWN", "AA1739")]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, moved, routed))
    assert codes(a) == [PASS]


def test_gateway_api_hosts_moved_to_a_gateway_on_asms_pods_need_its_routes(audit):
    """A Gateway API Gateway's hosts (tests/checks/test_gateway_api_asm_binding.py istio_gateway_api: edge/web,
    HTTPRoute shop/shop for shop.example.com) taken by an Istio Gateway selecting ASM's pods only where a
    VirtualService bound to it routes them (FAIL AA1719 without; main: PASS AA1701); UNKNOWN AA1750 where ASM's
    VirtualServices are unread."""
    from tests.checks.test_gateway_api_asm_binding import istio_gateway_api

    objs = istio_gateway_api()
    del objs[1]["spec"]["listeners"][0]["hostname"]
    objs[-1]["spec"]["hostnames"] = ["shop.example.com"]
    moved = gateway("shop-gw", "istio-system", ASM, http_server(["shop.example.com"], port=80))
    routed = f.virtualservice("shop", "shop", hosts=["shop.example.com"], gateways=["istio-system/shop-gw"],
                              http=[{"route": [{"destination": {"host": "web", "port": {"number": 80}}}]}])
    cluster = [*objs, *asm_ingress()]

    def rows(*asm: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
        a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, *asm), **kw)
        return codes(a)

    assert rows(moved) == [("FAIL", "AA1719")]
    assert rows(moved, routed) == [PASS]
    assert rows(moved, routed, unreadable={"asm": {K.VIRTUALSERVICE: "403 Forbidden"}}) == [("UNKNOWN", "AA1750")]


# ---------------------------------------------------------------- review20: Istio's side asked only what it serves
# Istio's gateway answers a server host no route takes with a 404 (buildGatewayHTTPRouteConfig's blackhole virtual
# host, istio/istio@1.30.3 pilot/pkg/networking/core/gateway.go) or a closed connection: moving to ASM loses nothing
# there. Before: the server's host was asked of ASM whenever the cluster's VirtualServices took none of it (a false
# NO-GO on stale Gateways), and non-TLS hosts of a TLS VirtualService (not its sniHosts) on a passthrough server.
def shared_asm_gateway() -> list[dict[str, Any]]:
    """ASM's gateway pods labelled istio: ingressgateway too (the Gateways selecting Istio's select them)."""
    asm = asm_gateway_service()
    asm[0]["spec"]["template"]["metadata"]["labels"]["istio"] = "ingressgateway"
    asm[0]["spec"]["selector"]["matchLabels"]["istio"] = "ingressgateway"
    asm[1]["spec"]["selector"]["istio"] = "ingressgateway"
    return asm


def test_a_stale_gateway_no_virtualservice_binds_loses_nothing(audit):
    config = [gateway("bookinfo-gateway", "bookinfo", ISTIO, http_server(["*"])),
              gateway("old-gateway", "bookinfo", ISTIO, http_server(["old.example.com"])),
              bookinfo_vs(["bookinfo-gateway"], hosts=["bookinfo.example.com"])]
    a = audit({"cluster-a": [*istio_ingress(), *shared_asm_gateway(), *config]}, "uninstall", config=ONLY,
              asm=asm_side(ASM_CR, *config))
    assert codes(a) == [PASS]


def test_passthrough_is_compared_by_the_sni_hosts_on_both_sides(audit):
    """The same PASSTHROUGH server and VirtualService (hosts *.example.com, a tls match for a.example.com) bound to
    both Gateways: each gateway serves a.example.com (buildGatewayNetworkFiltersFromTLSRoutes: the sniHosts)."""
    passthrough = {"port": {"number": 443, "name": "tls", "protocol": "TLS"}, "hosts": ["*.example.com"],
                   "tls": {"mode": "PASSTHROUGH"}}
    vs = f.istio_object("VirtualService", "sni", "data", {
        "hosts": ["*.example.com"], "gateways": ["istio-system/ingressgateway", "istio-system/asm-ingress"],
        "tls": [{"match": [{"port": 443, "sniHosts": ["a.example.com"]}],
                 "route": [{"destination": {"host": "a.data.svc.cluster.local", "port": {"number": 443}}}]}]})
    assert codes(run(audit, [*istio_and_asm_gateways(passthrough), vs])) == [PASS]


def test_the_clusters_virtualservices_unread_leave_asms_routes_unknown_not_failed(audit):
    """What Istio's gateway routes cannot be told: every server host is asked, and one ASM's routes do not take is
    UNKNOWN (AA1751), not a FAIL from what was not read."""
    config = [*istio_and_asm_gateways(http_server(["*"])),
              bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"], hosts=["bookinfo.example.com"])]
    a = run(audit, config, unreadable={"cluster-a": {K.VIRTUALSERVICE: "403 Forbidden"}})
    assert codes(a) == [ROUTES_UNREAD]


def test_source_labels_the_asm_gateway_pods_lack_build_no_route(audit):
    """sourceMatchHTTP (route.go @1.30.3): a match without gateways whose sourceLabels are not among the gateway pod's
    labels builds no route; ASM's gateway answers 404. Before: PASS AA1701 (a false GO)."""
    m = [{"uri": {"prefix": "/"}, "sourceLabels": {"app": "frontend"}}]
    a = run(audit, [*istio_and_asm_gateways(http_server(["a.example.com"])),
                    bookinfo_vs(["istio-system/asm-ingress"], hosts=["a.example.com"], match=m),
                    bookinfo_vs(["istio-system/ingressgateway"], hosts=["a.example.com"], name="istio-side")])
    assert codes(a) == [ROUTES_UNBOUND]


def test_asms_default_export_to_hides_virtualservices_without_export_to(audit):
    """asm.mesh_config defaultVirtualServiceExportTo ["."] (initDefaultExportMaps, push_context.go @1.30.3): a
    VirtualService of bookinfo without exportTo is not seen by ASM's gateway pods in istio-system."""
    config = [*istio_and_asm_gateways(http_server(["*"])),
              bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"])]
    assert codes(run(audit, config)) == [PASS]
    settings = {**ONLY, "asm": {**ONLY.get("asm", {}), "mesh_config": {"defaultVirtualServiceExportTo": ["."]}}}
    a = audit({"cluster-a": [*istio_ingress(), *asm_gateway_service(), *config]}, "uninstall", config=settings,
              asm=asm_side(ASM_CR, *config))
    assert codes(a) == [ROUTES_UNBOUND]
