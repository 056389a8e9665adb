"""Gateways, round two (gwx16): ASM's side of a shared CLB must be backends CCM serves; an IstioGateway naming no
cluster is no proof that it runs in one; a declared ASM gateway that is not deployed does not replace Istio's.

Shapes:
- ASM's IstioGateway (istio.alibabacloud.com/v1beta1): aliyun/alibabacloud-servicemesh-api@4df57487:
  alibabacloudservicemesh/v1/istiogateway_types.go (`ClusterIds []string json:"clusterIds,omitempty"`, no word on an
  empty list; `Overrides map[string]IstioGatewayBasicConfiguration` per cluster id with serviceAnnotations). ASM's
  CRD field reference (alibabacloud.com/help/en/alibaba-cloud-service-mesh/latest/modify-an-ingress-gateway-service):
  clusterIds are "the IDs of the clusters in which you want to deploy the ingress gateway"; the generated Service and
  Deployment are istio-<metadata.name>. ASM's serverless gateway (alibabacloud.com/help/en/asm/sidecar/
  managed-gateway-with-asm-serverless): annotation asm.alibabacloud.com/managed-by-asm: 'true', no cluster id, runs
  outside the ACK clusters.
- The shared CLB: ASM's ingress migration guide (alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-a-self-
  managed-istio-ingress-gateway-to-an-asm-ingress-gateway-1): both Services of type LoadBalancer name the CLB by id,
  force-override-listeners "false", vgroup-port, weight; CCM (kubernetes/cloud-provider-alibaba-cloud@v2.14.0:
  pkg/controller/service/clbv1/vgroups.go buildVGroupForServicePort, helper/service_utils.go NeedCLB) serves only
  type LoadBalancer Services and reads the weight of a reused CLB with vgroup-port only.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_gateways import CCM, GW_TIME, IDS, asm_ingress, asm_side, eastwest, ingress, moved_pods

LB = "ingress-lb-weights"
GW = "asm-gateways-present"
CN = "cross-cluster-gateway-first"


def codes(a, check: str) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(check)]


def asm_service(objs: list[dict]) -> dict:
    return next(o for o in objs if o["kind"] == "Service")


def declared_on_lb_1(weight: str = "100", cluster_ids: list[str] | None = None) -> dict:
    """The ASM ingress gateway declared for cluster c-a on the Istio gateway's CLB (its per-cluster override's
    serviceAnnotations), as the migration guide's annotations would be put into the IstioGateway."""
    return f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"] if cluster_ids is None
                              else cluster_ids, overrides={"c-a": {"serviceAnnotations": {
                                  f"{CCM}alibaba-cloud-loadbalancer-id": "lb-1",
                                  f"{CCM}alibaba-cloud-loadbalancer-force-override-listeners": "false",
                                  f"{CCM}alibaba-cloud-loadbalancer-vgroup-port": "rsp-lb-1-80:80,rsp-lb-1-443:443",
                                  f"{CCM}alibaba-cloud-loadbalancer-weight": weight}}})


# ================================================================ 1. ingress-lb-weights: ASM's side must serve
def test_asm_side_only_declared_is_no_backend(audit):
    """Istio at weight 0, ASM's gateway only declared on the ASM control plane with weight 100 (no Service of it in the
    cluster): nothing serves the CLB. main counted the declared weight: PASS AA2001 "Istio 0 : ASM 100", GO."""
    a = audit({"cluster-a": ingress("0")}, "uninstall", asm=[declared_on_lb_1()], config=IDS)
    assert codes(a, LB) == [("FAIL", "AA2014")]
    row = a.rows(LB)[0]
    assert row["evidence"]["split"].startswith("Istio 0 : ASM 0")
    assert row["evidence"]["members"][1]["backends_not_shown"]


def test_asm_service_not_of_type_load_balancer_is_unknown(audit):
    """ASM's Service carries the CLB's annotations but is ClusterIP (IstioGateway serviceType: ClusterIP): CCM serves
    no load balancer for it (NeedCLB), so its backends on the CLB are not shown (main: PASS AA2001)."""
    asm = asm_ingress("100")
    asm_service(asm)["spec"]["type"] = "ClusterIP"
    a = audit({"cluster-a": [*ingress("0"), *asm]}, "uninstall", asm=[])
    assert codes(a, LB) == [("UNKNOWN", "AA2033")]


def test_asm_service_without_vgroup_port_is_no_backend_of_the_shared_listeners(audit):
    """ASM's Service reuses the CLB by id but names no vServer groups: CCM builds groups of its own, which the kept
    listeners do not use (main: PASS AA2001)."""
    asm = asm_ingress("100")
    del asm_service(asm)["metadata"]["annotations"][f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"]
    a = audit({"cluster-a": [*ingress("0"), *asm]}, "uninstall", asm=[])
    assert codes(a, LB) == [("FAIL", "AA2014")]
    assert a.result.verdict == "NO-GO"


def test_asm_weight_kept_by_ignore_weight_update_is_unknown(audit):
    """ignore-weight-update "on" on ASM's Service: its backends keep the weight they had (0 at the start of the
    guide's cut-over), so ASM's 100 is not shown in force (main: PASS AA2001)."""
    asm = asm_ingress("100")
    asm_service(asm)["metadata"]["annotations"][f"{CCM}alibaba-cloud-loadbalancer-ignore-weight-update"] = "on"
    a = audit({"cluster-a": [*ingress("0"), *asm]}, "uninstall", asm=[])
    assert codes(a, LB) == [("UNKNOWN", "AA2033")]


def test_asm_service_in_other_vserver_groups_than_istio_is_unknown(audit):
    """Both reuse lb-1, but ASM's vgroup-port names other vServer groups than the Istio Service's (the guide puts both
    into the listeners' groups): that the listeners send to ASM's backends is not shown (main: PASS AA2001)."""
    asm = asm_ingress("100")
    asm_service(asm)["metadata"]["annotations"][f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"] = "rsp-new-80:80"
    a = audit({"cluster-a": [*ingress("0"), *asm]}, "uninstall", asm=[])
    assert codes(a, LB) == [("UNKNOWN", "AA2033")]


def test_asm_service_on_the_clb_ccm_created_for_it_serves(audit):
    """ASM's Service owns the CLB CCM created for it (CCM's label only, v2.5+); Istio's reuses it by id: ASM's backends
    are in CCM's own vServer groups with the default weight, so Istio at 0 passes."""
    asm = asm_ingress(None, lb=None)
    asm_service(asm)["metadata"]["labels"]["service.k8s.alibaba/loadbalancer-id"] = "lb-1"
    a = audit({"cluster-a": [*ingress("0"), *asm]}, "uninstall", asm=[])
    assert codes(a, LB) == [("PASS", "AA2001")]


@pytest.mark.parametrize("asm_weight,expected", [("100", ("PASS", "AA2001")), ("0", ("FAIL", "AA2011"))])
def test_asm_service_served_by_ccm(audit, asm_weight, expected):
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress(asm_weight)]}, "uninstall", asm=[])
    assert codes(a, LB) == [expected]


def test_declared_gateway_beside_its_service_counts_the_service(audit):
    """The declaration is not counted where ASM's Service is on the CLB: that Service's weight decides."""
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", asm=[declared_on_lb_1("0")],
              config=IDS)
    assert codes(a, LB) == [("PASS", "AA2001")]


# ================================================================ 2. asm-gateways-present: what clusterIds say
def test_istio_gateway_naming_no_cluster_and_not_deployed_is_unknown(audit):
    """An ingress IstioGateway without clusterIds (ASM's serverless shape) and no istio-<name> Deployment in the
    cluster: main took the empty list for "every cluster" and said WARN AA1721 (minor): GO with nothing shown
    replacing Istio's ingress gateway."""
    a = audit({"cluster-a": ingress()}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway", "ingress")))
    assert codes(a, GW) == [("UNKNOWN", "AA1735")]
    assert a.result.verdict != "GO"


def test_istio_gateway_naming_no_cluster_but_deployed_here_replaces(audit):
    """Its istio-<name> Deployment runs in the cluster: that is the proof (with or without the cluster's id)."""
    for config in (IDS, None):
        a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=config,
                  asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress")))
        assert codes(a, GW) == [("PASS", "AA1701")], config


def test_declared_gateway_not_deployed_blocks_even_beside_an_error_status(audit):
    """Not deployed and its status reports an error: not deployed decides (FAIL), not the minor WARN of the error."""
    broken = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"],
                                status={"Status": "Failed", "ErrorMessage": "CLB quota exceeded"})
    a = audit({"cluster-a": ingress()}, "uninstall", config=IDS, asm=asm_side(broken))
    assert codes(a, GW) == [("FAIL", "AA1712")]


def test_a_deployed_asm_gateway_is_matched_before_a_declared_one(audit):
    """Two ASM ingress gateways for the cluster, both named like Istio's (stem ingressgateway); the first listed is not
    deployed, the other runs here. The running one replaces Istio's gateway (main matched the first: WARN AA1721)."""
    a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"]),
                           f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    assert codes(a, GW) == [("PASS", "AA1701")]
    assert a.rows(GW)[0]["evidence"]["asm_gateway"] == "istio-system/ingressgateway-asm"


def test_cross_network_gateway_naming_no_cluster_is_not_proof_for_the_cluster(audit):
    """A cross-network IstioGateway without clusterIds, not deployed in the cluster, ASM proxies already running: main
    took it for this cluster's (PASS AA1801)."""
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z")]}, "migrating", config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", created=GW_TIME)])
    assert codes(a, CN) == [("FAIL", "AA1811")]


# ================================================================ 3. egress-routes-to-asm: Gateway API mesh routes
EG = "egress-routes-to-asm"
ASM_EGRESS_GW = [f.gateway_deployment("istio-asm-egressgateway", asm=True, gateway_type="egress"),
                 f.gateway_service("istio-asm-egressgateway", type_="ClusterIP",
                                   selector={"app": "istio-asm-egressgateway", "istio": "asm-egressgateway"})]


def mesh_route(backends: list[dict], kind: str = "HTTPRoute", filters: list[dict] | None = None) -> dict:
    """A GAMMA mesh route as in Istio's egress-gateway task with the Gateway API (istio/istio.io content/en/docs/tasks/
    traffic-management/egress/egress-gateway snips.sh snip_egress_gateway_for_http_traffic_6): parentRef the
    ServiceEntry cnn, backendRefs to the egress gateway's Service (here split between Istio's and ASM's)."""
    route = f.k8s_route(kind, "direct-cnn-to-egress-gateway", "default",
                        [{"kind": "ServiceEntry", "group": "networking.istio.io", "name": "cnn"}])
    route["spec"]["rules"] = [{"backendRefs": backends, **({"filters": filters} if filters else {})}]
    return route


def cnn_entry() -> dict:
    return f.istio_object("ServiceEntry", "cnn", "default", {
        "hosts": ["edition.cnn.com"], "ports": [{"number": 80, "name": "http-port", "protocol": "HTTP"}],
        "resolution": "DNS"})


def classic_egress() -> list[dict]:
    return [f.gateway_deployment("istio-egressgateway"), f.gateway_service("istio-egressgateway", type_="ClusterIP")]


def backend(name: str, weight: int | None = None, namespace: str = "istio-system") -> dict:
    ref = {"name": name, "namespace": namespace, "port": 80}
    if weight is not None:
        ref["weight"] = weight
    return ref


@pytest.mark.parametrize("protocol", ["HTTP", "TLS"])
def test_task_route_to_istio_gateway_api_egress_gateway_fails(audit, protocol):
    """The task as written: the mesh route sends edition.cnn.com to cnn-egress-gateway-istio, Istio's Gateway API egress
    gateway. main read VirtualServices only: NOT_APPLICABLE AA1640 "no VirtualService references an egress
    gateway"."""
    from tests.checks.test_gateway_api_egress import egress_gateway_api

    a = audit({"cluster-a": [*egress_gateway_api(protocol=protocol), *ASM_EGRESS_GW]}, "uninstall", asm=[])
    rows = [r for r in a.rows(EG) if r["cluster"] == "cluster-a"]
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA1611", "HTTPRoute" if protocol == "HTTP" else "TLSRoute", "direct-cnn-to-egress-gateway")]
    # no ASM backend in the rule: Istio's backendRef renamed to ASM's egress Service, in its namespace
    assert '"op":"replace","path":"/spec/rules/0/backendRefs/0/name","value":"istio-asm-egressgateway"' in \
        rows[0]["remediation"]
    assert "ReferenceGrant" in rows[0]["remediation"]


def test_weighted_mesh_route_split_fails_with_the_weights_patch(audit):
    route = mesh_route([backend("istio-egressgateway", 99), backend("istio-asm-egressgateway", 1)])
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall", asm=[])
    (row,) = [r for r in a.rows(EG) if r["cluster"] == "cluster-a"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1611")
    assert row["evidence"]["routes"][0]["istio"] == 99 and row["evidence"]["routes"][0]["asm"] == 1
    assert ('[{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":0},'
            '{"op":"add","path":"/spec/rules/0/backendRefs/1/weight","value":100}]') in row["remediation"]


@pytest.mark.parametrize("istio_weight,expected", [(0, ("PASS", "AA1602")), (None, ("FAIL", "AA1611"))])
def test_mesh_route_weights_default_to_one(audit, istio_weight, expected):
    """A backendRef weight defaults to 1 (Gateway API): an Istio backendRef without weight beside ASM's gets half."""
    from tests.checks.test_egress_second_hop import asm_egress_hop

    route = mesh_route([backend("istio-egressgateway", istio_weight), backend("istio-asm-egressgateway")])
    # ASM's egress gateway routes edition.cnn.com on (the second hop, red21e): the PASS needs it.
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall",
              asm=asm_egress_hop())
    assert [(r["status"], r["code"]) for r in a.rows(EG) if r["cluster"] == "cluster-a"] == [expected]


def test_mesh_route_mirroring_to_istio_fails(audit):
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": backend("istio-egressgateway")}}
    route = mesh_route([backend("istio-asm-egressgateway")], filters=[mirror])
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall", asm=[])
    (row,) = [r for r in a.rows(EG) if r["cluster"] == "cluster-a"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1611")
    assert '{"op":"remove","path":"/spec/rules/0/filters/0"}' in row["remediation"]


def test_routes_unreadable_beside_an_istio_egress_gateway_is_unknown_not_na(audit):
    """HTTPRoutes forbidden while Istio's egress gateway runs: a mesh route to it may be missed (main: N/A AA1640)."""
    from auditor import kinds as K

    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW]}, "uninstall", asm=[],
              unreadable={"cluster-a": {K.K8S_HTTPROUTE: "forbidden: cannot list httproutes"}})
    assert [(r["status"], r["code"]) for r in a.rows(EG) if r["cluster"] == "cluster-a"] == [("UNKNOWN", "AA1633")]
    # without an Istio egress gateway nothing can route to one: N/A stands
    a = audit({"cluster-a": [f.istiod()]}, "uninstall", asm=[],
              unreadable={"cluster-a": {K.K8S_HTTPROUTE: "forbidden: cannot list httproutes"}})
    assert [(r["status"], r["code"]) for r in a.rows(EG) if r["cluster"] == "cluster-a"] == [
        ("NOT_APPLICABLE", "AA1640")]


def test_route_to_other_services_is_not_egress(audit):
    route = mesh_route([backend("reviews", namespace="default")])
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, route]}, "uninstall", asm=[])
    assert [(r["status"], r["code"]) for r in a.rows(EG) if r["cluster"] == "cluster-a"] == [
        ("NOT_APPLICABLE", "AA1640")]
