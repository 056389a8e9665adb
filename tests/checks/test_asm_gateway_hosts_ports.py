"""asm-gateways-present at the uninstall gate: ASM's gateway replaces Istio's only for the hosts and ports the Istio
Gateways give it (red19b; red18f left both: AA1714 checks that some Gateway selects ASM's pods, not every host, and the
ports were not compared).

What istiod does with a Gateway server (networking.istio.io, label selector): its listener goes on the targetPort of
the first Service port (of a Service selecting the gateway's pods) equal to servers[].port.number, else on that number
itself (istio/istio@1.24.6 and @1.30.3: pilot/pkg/model/gateway.go resolvePorts); clients reach it at each Service port
whose targetPort is the listener's. Istio's gateway Service maps 80 -> 8080 and 443 -> 8443
(istio/istio@1.24.6: manifests/charts/gateways/istio-ingress/values.yaml, the ports istioctl renders); bookinfo's
Gateway listens on 8080 (samples/bookinfo/networking/bookinfo-gateway.yaml @1.24.6), reached at port 80. ASM's gateway
Service takes the IstioGateway's spec.ports (corev1.ServicePort: aliyun/alibabacloud-servicemesh-api@4df57487:
alibabacloudservicemesh/v1/istiogateway_types.go; port 80 -> 80 as tests/factory.py istio_gateway_cr and
tests/checks/test_gateways.py asm_ingress write it): the same server there listens on 8080, which no Service port
reaches. A server's tls.credentialName without a namespace names a Secret of the gateway pod's own namespace
(pilot/pkg/model/credentials/resource.go @1.24.6 ToResourceName, ParseResourceName; ASM's SDS topic: "the gateway
watches for secrets in the same namespace as the ingress gateway"), and ASM's gateways run in istio-system (ASM's
IstioGateway CRD topic). Main: PASS AA1701 in each FAIL case below, a GO.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_asm_gateway_serving import scaled_to_zero
from tests.checks.test_gateways import IDS, asm_ingress, asm_side

CHECK = "asm-gateways-present"
ONLY = {**IDS, **f.only_checks(CHECK)}
ASM_CR = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])
ISTIO = {"istio": "ingressgateway"}
ASM = {"istio": "ingressgateway-asm"}
# istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/values.yaml gateways.istio-ingressgateway.ports
CHART_PORTS = [{"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
               {"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
               {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]


def istio_ingress(ports: list[dict[str, Any]] | None = None, namespace: str = "istio-system",
                  name: str = "istio-ingressgateway", label: str = "ingressgateway") -> list[dict[str, Any]]:
    dep = f.gateway_deployment(name, namespace, istio_label=label)
    svc = f.gateway_service(name, namespace, selector={"app": name, "istio": label})
    svc["spec"]["ports"] = ports or CHART_PORTS
    return [dep, svc]


def server(port: int, hosts: list[str], *, protocol: str = "HTTP", credential: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"port": {"number": port, "name": f"{protocol.lower()}-{port}", "protocol": protocol},
                           "hosts": hosts}
    if credential:
        out["tls"] = {"mode": "SIMPLE", "credentialName": credential}
    return out


def gateway(name: str, namespace: str, selector: dict[str, str] | None, *servers: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"servers": list(servers)}
    if selector is not None:
        spec["selector"] = selector
    return f.istio_object("Gateway", name, namespace, spec)


def moved(name: str, namespace: str, *servers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data plane's Gateway (selecting Istio's pods) and its copy on the ASM control plane pointed at ASM's."""
    return gateway(name, namespace, ISTIO, *servers), gateway(name, namespace, ASM, *servers)


def routes(*gateways: dict[str, Any]) -> list[dict[str, Any]]:
    """A VirtualService bound to each Gateway routing its servers' hosts with routes of each server's kind (http; tls
    sniHosts for PASSTHROUGH; tcp otherwise): a Gateway server serves only what bound routes take (red20f,
    tests/checks/test_asm_gateway_routes_bound.py; istio/istio@1.30.3 pilot/pkg/networking/core/gateway.go)."""
    out = []
    for gw in gateways:
        meta, servers = gw["metadata"], gw["spec"]["servers"]
        hosts = sorted({h.partition("/")[2] if "/" in h else h for s in servers for h in s["hosts"]})
        dest = [{"destination": {"host": f"web.{meta['namespace']}.svc.cluster.local", "port": {"number": 80}}}]
        spec: dict[str, Any] = {"hosts": hosts, "gateways": [f"{meta['namespace']}/{meta['name']}"]}
        for s in servers:
            number, mode = s["port"]["number"], (s.get("tls") or {}).get("mode")
            if s["port"]["protocol"] in ("HTTP", "HTTPS") and mode != "PASSTHROUGH":
                spec["http"] = [{"route": dest}]
            elif mode == "PASSTHROUGH":
                spec.setdefault("tls", []).append({"match": [{"port": number, "sniHosts": s["hosts"]}],
                                                   "route": dest})
            else:
                spec.setdefault("tcp", []).append({"match": [{"port": number}], "route": dest})
        out.append(f.istio_object("VirtualService", f"{meta['name']}-routes", meta["namespace"], spec))
    return out


def run(audit, cluster_gateways: list[dict[str, Any]], asm_gateways: list[dict[str, Any]],
        istio: list[dict[str, Any]] | None = None, asm: list[dict[str, Any]] | None = None, **kw: Any):
    """Each side's Gateways with their routes (a VirtualService bound to each: routes()) to the Service `web` of the
    Gateway's namespace (a Service of the cluster: the gateway stays an ingress gateway)."""
    here = [o for o in cluster_gateways if o.get("kind") == "Gateway"]
    there = [o for o in asm_gateways if o.get("kind") == "Gateway"]
    backends = [f.service("web", ns) for ns in sorted({g["metadata"]["namespace"] for g in here})]
    objects = [*(istio or istio_ingress()), *(asm or asm_ingress()), *cluster_gateways, *routes(*here), *backends]
    return audit({"cluster-a": objects}, "uninstall", config=kw.pop("config", ONLY),
                 asm=asm_side(ASM_CR, *asm_gateways, *routes(*there)), **kw)


def codes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


# ---------------------------------------------------------------- ports
def test_bookinfo_on_8080_is_reached_at_80_on_istios_gateway_and_nowhere_on_asms(audit):
    here, there = moved("bookinfo-gateway", "bookinfo", server(8080, ["*"]))
    a = run(audit, [here], [there])
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == (
        "FAIL", "AA1716", "blocker", "istio-ingressgateway")
    assert row["evidence"]["ports_unreached"] == {"80": ["*"]}
    assert a.result.verdict == "NO-GO"


def test_a_server_on_the_service_port_is_reached_on_both(audit):
    here, there = moved("bookinfo-gateway", "bookinfo", server(80, ["*"]),
                        server(443, ["bookinfo.example.com"], protocol="HTTPS", credential="bookinfo-cert"))
    a = run(audit, [here], [there])
    assert codes(a) == [("PASS", "AA1701")]
    assert a.result.verdict == "GO"


def test_asms_service_mapping_80_to_8080_reaches_bookinfos_listener(audit):
    """The fix: the IstioGateway's spec.ports give port 80 the targetPort 8080 (as Istio's chart did)."""
    asm = asm_ingress()
    asm[1]["spec"]["ports"] = [{"name": "http-0", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    here, there = moved("bookinfo-gateway", "bookinfo", server(8080, ["*"]))
    a = run(audit, [here], [there], asm=asm)
    assert codes(a) == [("PASS", "AA1701")]


def test_a_port_istios_service_exposes_and_asms_does_not(audit):
    """A TLS passthrough server on 15443, which Istio's gateway Service exposed (istio/istio@1.9.9:
    manifests/charts/gateways/istio-ingress/values.yaml, port `tls` 15443 -> 15443; gone from the defaults at 1.10.6,
    kept where the IstioOperator's ingressGateways[].k8s.service.ports list it) and ASM's IstioGateway ports do not."""
    ports = [*CHART_PORTS, {"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}]
    passthrough = server(15443, ["db.example.com"], protocol="TLS")
    passthrough["tls"] = {"mode": "PASSTHROUGH"}
    here, there = moved("db-gateway", "data", server(80, ["db.example.com"]), passthrough)
    a = run(audit, [here], [there], istio=istio_ingress(ports))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1716")
    assert row["evidence"]["ports_unreached"] == {"15443": ["db.example.com"]}


def test_services_unread_leave_the_ports_unknown(audit):
    here, there = moved("bookinfo-gateway", "bookinfo", server(80, ["*"]))
    a = run(audit, [here], [there], unreadable={"cluster-a": {K.SERVICE: "403 Forbidden"}})
    assert ("UNKNOWN", "AA1737") in codes(a)
    assert ("PASS", "AA1701") not in codes(a)
    assert a.result.verdict != "GO"


# ---------------------------------------------------------------- hosts
def test_a_gateway_left_on_istios_pods_loses_its_hosts(audit):
    """shop's Gateway moved to ASM's pods, blog's (other hosts) still selects only Istio's."""
    shop = gateway("shop-gateway", "shop", ASM, server(80, ["shop.example.com"]))
    blog = gateway("blog-gateway", "blog", ISTIO, server(80, ["blog.example.com"]))
    a = run(audit, [shop, blog], [shop, blog])
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1715", "blocker")
    assert row["evidence"]["hosts_unserved"] == {"blog.example.com": ["blog/blog-gateway"]}
    assert a.result.verdict == "NO-GO"


def test_a_wildcard_server_on_asms_pods_serves_the_host(audit):
    shop = gateway("shop-gateway", "shop", ASM, server(80, ["*.example.com"]))
    blog = gateway("blog-gateway", "blog", ISTIO, server(80, ["blog/blog.example.com"]))
    a = run(audit, [shop, blog], [shop, blog])
    assert codes(a) == [("PASS", "AA1701")]


def _split_hosts(audit: Any, *, second_scaled_to_zero: bool = False) -> Any:
    """Istio's gateway served shop's and blog's hosts; one ASM gateway takes shop's, a second ASM gateway blog's."""
    other = [f.gateway_deployment("istio-ingressgateway-2", asm=True, gateway_type="ingress"),
             f.gateway_service("istio-ingressgateway-2")]
    if second_scaled_to_zero:
        scaled_to_zero(other[0])
    shop = gateway("shop-gateway", "shop", ASM, server(80, ["shop.example.com"]))
    blog = gateway("blog-gateway", "blog", {"istio": "ingressgateway-2"}, server(80, ["blog.example.com"]))
    old = gateway("all-gateway", "shop", ISTIO, server(80, ["shop.example.com", "blog.example.com"]))
    objects = [*istio_ingress(), *asm_ingress(), *other, shop, blog, old, *routes(shop, blog, old)]
    return audit({"cluster-a": objects}, "uninstall", config=ONLY,
                 asm=asm_side(ASM_CR, f.istio_gateway_cr("ingressgateway-2", "ingress", cluster_ids=["c-a"]),
                              shop, blog, old, *routes(shop, blog, old)))


def test_hosts_split_between_two_asm_gateways(audit):
    """One ASM gateway takes shop's host, another blog's: together they serve all Istio's gateway served."""
    assert codes(_split_hosts(audit)) == [("PASS", "AA1701")]


def test_hosts_on_an_asm_gateway_with_no_pod_available_are_not_served(audit):
    """The same split, the ASM gateway that takes blog's host scaled to 0 (tests/checks/test_asm_gateway_serving.py
    scaled_to_zero): nothing serves blog's host once Istio's gateway is gone."""
    a = _split_hosts(audit, second_scaled_to_zero=True)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1715")
    assert row["evidence"]["hosts_unserved"] == {"blog.example.com": ["shop/all-gateway"]}


# ---------------------------------------------------------------- certificates
def test_istios_gateway_in_its_own_namespace_reads_another_secret_than_asms(audit):
    """`helm install istio-ingress istio/gateway -n istio-ingress` (istio: ingress, istio/istio@1.24.6:
    manifests/charts/gateway/templates/_helpers.tpl); its Gateway's credentialName is read in istio-ingress, ASM's
    gateway (istio-system) reads istio-system/bookinfo-cert, which the audit cannot see (it reads no Secret)."""
    istio = istio_ingress([{"name": "http2", "port": 80, "targetPort": 80, "protocol": "TCP"},
                           {"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP"}],
                          namespace="istio-ingress", name="istio-ingress", label="ingress")
    https = server(443, ["bookinfo.example.com"], protocol="HTTPS", credential="bookinfo-cert")
    here = gateway("bookinfo-gateway", "bookinfo", {"istio": "ingress"}, https)
    there = gateway("bookinfo-gateway", "bookinfo", ASM, https)
    a = run(audit, [here], [there], istio=istio)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1738", "istio-ingress")
    assert row["evidence"]["secrets"] == {"bookinfo.example.com": {"istio": "istio-ingress/bookinfo-cert",
                                                                   "asm": ["istio-system/bookinfo-cert"]}}
    assert a.result.verdict != "GO"


def test_a_secret_of_istios_namespace_named_for_asms_gateway_is_never_served_to_it(audit):
    """credentialName kubernetes://istio-ingress/bookinfo-cert: istiod serves a gateway kubernetes:// Secrets of its
    own namespace only (istio/istio@1.24.6: pilot/pkg/xds/sds.go filterAuthorizedResources), so ASM's gateway in
    istio-system gets no certificate for the host, while Istio's gateway in istio-ingress does."""
    istio = istio_ingress([{"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP"}],
                          namespace="istio-ingress", name="istio-ingress", label="ingress")
    https = server(443, ["bookinfo.example.com"], protocol="HTTPS",
                   credential="kubernetes://istio-ingress/bookinfo-cert")
    here = gateway("bookinfo-gateway", "bookinfo", {"istio": "ingress"}, https)
    there = gateway("bookinfo-gateway", "bookinfo", ASM, https)
    a = run(audit, [here], [there], istio=istio)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1717", "blocker")
    assert row["evidence"]["secrets_denied"] == {"bookinfo.example.com": ["istio-ingress/bookinfo-cert"]}
    assert a.result.verdict == "NO-GO"


def test_a_secret_named_in_asms_namespace_on_the_asm_copy_is_the_confirmable_case(audit):
    """The ASM copy names istio-system's Secret (copied there, or not): UNKNOWN AA1738, never the FAIL."""
    istio = istio_ingress([{"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP"}],
                          namespace="istio-ingress", name="istio-ingress", label="ingress")
    here = gateway("bookinfo-gateway", "bookinfo", {"istio": "ingress"},
                   server(443, ["bookinfo.example.com"], protocol="HTTPS", credential="bookinfo-cert"))
    there = gateway("bookinfo-gateway", "bookinfo", ASM,
                    server(443, ["bookinfo.example.com"], protocol="HTTPS",
                           credential="kubernetes://istio-system/bookinfo-cert"))
    a = run(audit, [here], [there], istio=istio)
    assert codes(a) == [("UNKNOWN", "AA1738")]


def test_a_named_target_port_no_container_port_resolves_leaves_the_ports_unknown(audit):
    """A Service port's targetPort may name a container port (core/v1 ServicePort.targetPort, IntOrString); one that no
    container port of ASM's gateway template names tells no listener: UNKNOWN AA1737, not the PASS."""
    asm = asm_ingress()
    asm[1]["spec"]["ports"] = [{"name": "http-0", "port": 80, "targetPort": "http-asm", "protocol": "TCP"}]
    here, there = moved("bookinfo-gateway", "bookinfo", server(80, ["*"]))
    a = run(audit, [here], [there], asm=asm)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1737")
    assert "http-asm" in row["evidence"]["ports_untold"]


def test_credential_names_count_like_credential_name(audit):
    """tls.credentialNames (a certificate pair; istio/istio@1.30.3 pilot/pkg/model/gateway.go reads it before
    credentialName): the pair named on ASM's side outside its namespace is never served to it either."""
    istio = istio_ingress([{"name": "https", "port": 443, "targetPort": 443, "protocol": "TCP"}],
                          namespace="istio-ingress", name="istio-ingress", label="ingress")
    https = server(443, ["bookinfo.example.com"], protocol="HTTPS")
    https["tls"] = {"mode": "SIMPLE", "credentialNames": ["kubernetes://istio-ingress/bookinfo-rsa",
                                                         "kubernetes://istio-ingress/bookinfo-ecdsa"]}
    here = gateway("bookinfo-gateway", "bookinfo", {"istio": "ingress"}, https)
    there = gateway("bookinfo-gateway", "bookinfo", ASM, https)
    a = run(audit, [here], [there], istio=istio)
    assert codes(a) == [("FAIL", "AA1717")]
