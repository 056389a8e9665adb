"""Gateway checks through the real engine: east-west options, egress routes, ASM gateways, CLB weights,
cross-network gateway first."""

from __future__ import annotations

import pytest

from auditor import kinds as K
from auditor.gateways import EASTWEST, EGRESS, INGRESS, host_fqdn, normalise_gateway_type, refers_to_service
from tests import factory as f

ISTIO_EGRESS = "istio-egressgateway.istio-system.svc.cluster.local"
ASM_EGRESS = "asm-egressgateway.istio-system.svc.cluster.local"
IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a", "cluster-b": "c-b"}}}
CCM = "service.beta.kubernetes.io/"


def ns_istio_system(**labels: str) -> dict:
    return f.namespace("istio-system", labels={"kubernetes.io/metadata.name": "istio-system", **labels})


def eastwest() -> list[dict]:
    """Istio's east-west gateway as `istioctl install -f eastwest-gateway.yaml` leaves it (network-1)."""
    return [f.gateway_deployment("istio-eastwestgateway", labels={"topology.istio.io/network": "network-1"}),
            f.gateway_service("istio-eastwestgateway", labels={"istio": "eastwestgateway",
                                                               "topology.istio.io/network": "network-1"},
                              ports=[15021, 15443, 15012, 15017])]


# ASM's ingress cut-over (alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-a-self-managed-istio-ingress-
# gateway-to-an-asm-ingress-gateway-1): both Services name the CLB by id, keep its listeners (force-override-listeners
# "false") and put their backends into the same vServer groups (vgroup-port "<vServer group id>:<port>,..."), which is
# what CCM needs before it reads the weight (kubernetes/cloud-provider-alibaba-cloud@v2.14.0:
# pkg/controller/service/clbv1/vgroups.go buildVGroupForServicePort).
def clb_reuse(lb: str, spelling: str = "alibaba-cloud-") -> dict[str, str]:
    return {f"{CCM}{spelling}loadbalancer-id": lb, f"{CCM}{spelling}loadbalancer-force-override-listeners": "false",
            f"{CCM}{spelling}loadbalancer-vgroup-port": f"rsp-{lb}-80:80,rsp-{lb}-443:443"}


def ingress(weight: str | None = None, lb: str | None = "lb-1", spelling: str = "alibaba-cloud-") -> list[dict]:
    ann = {}
    if lb:
        ann.update(clb_reuse(lb, spelling))
    if weight is not None:
        ann[f"{CCM}{spelling}loadbalancer-weight"] = weight
    return [f.gateway_deployment("istio-ingressgateway"),
            f.gateway_service("istio-ingressgateway", annotations=ann)]


def asm_ingress(weight: str | None = None, lb: str | None = "lb-1", spelling: str = "alibaba-cloud-") -> list[dict]:
    ann = {"asm.alibabacloud.com/managed-by-asm": "true"}
    if lb:
        ann.update(clb_reuse(lb, spelling))
    if weight is not None:
        ann[f"{CCM}{spelling}loadbalancer-weight"] = weight
    return [f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress"),
            f.gateway_service("istio-ingressgateway-asm", annotations=ann,
                              selector={"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"})]


def egress_gateways() -> list[dict]:
    return [f.gateway_deployment("istio-egressgateway"),
            f.gateway_service("istio-egressgateway", type_="ClusterIP"),
            f.gateway_deployment("istio-asm-egressgateway", asm=True, gateway_type="egress"),
            f.gateway_service("istio-asm-egressgateway", type_="ClusterIP",
                              selector={"app": "istio-asm-egressgateway", "istio": "asm-egressgateway"}),
            # the seed's VirtualService names asm-egressgateway: an alias Service in front of ASM's pods
            f.gateway_service("asm-egressgateway", type_="ClusterIP", labels={"app": "asm-egressgateway"},
                              selector={"app": "istio-asm-egressgateway", "istio": "asm-egressgateway"})]


# ================================================================ domain helpers
def test_host_resolution_follows_istio_short_names():
    assert host_fqdn("istio-egressgateway", "shop") == "istio-egressgateway.shop.svc.cluster.local"
    assert refers_to_service("istio-egressgateway", "istio-system", "istio-egressgateway", "istio-system")
    assert not refers_to_service("istio-egressgateway", "shop", "istio-egressgateway", "istio-system")
    for host in ("istio-egressgateway.istio-system", "istio-egressgateway.istio-system.svc", ISTIO_EGRESS):
        assert refers_to_service(host, "shop", "istio-egressgateway", "istio-system"), host
    assert not refers_to_service("istio-egressgateway.example.com", "shop", "istio-egressgateway", "istio-system")


@pytest.mark.parametrize("raw,expected", [("ingress", INGRESS), ("egress", EGRESS), ("cross-network", EASTWEST),
                                          ("CrossNetwork", EASTWEST), ("cross_network", EASTWEST),
                                          ("crossnetwork", EASTWEST), ("eastwest", None), ("", None)])
def test_gateway_type_spellings(raw, expected):
    assert normalise_gateway_type(raw) == expected


# ================================================================ eastwest-gateway-options
CHECK_EW = "eastwest-gateway-options"


def outcomes(a, check: str) -> list[tuple[str, str]]:
    """(status, code) of each finding of one check, in order."""
    return [(r["status"], r["code"]) for r in a.rows(check)]


def test_eastwest_options_not_applicable_without_eastwest(audit):
    a = audit({"cluster-a": [ns_istio_system(), f.istiod(), *ingress()]}, "setup",
              asm=[f.migration_cr("Init")])
    assert outcomes(a, CHECK_EW) == [("NOT_APPLICABLE", "AA0840")]


def test_eastwest_options_pass_reports_which_option(audit):
    option = "stopIstioSystemInjectionDisabling"
    a = audit({"cluster-a": [ns_istio_system(), f.istiod(), *eastwest()]}, "setup",
              asm=[f.migration_cr("Init", option=option)])
    (row,) = a.rows(CHECK_EW)
    assert (row["status"], row["code"]) == ("PASS", "AA0801")
    assert row["evidence"]["advanced_option"] == option
    assert option in row["message"]  # the option's name, as ASM spells it


def test_eastwest_options_seed_patch_spelling_is_not_set(audit):
    """main PASSed on disableIstioSystemLabelReconciliation, which ASM's API type does not have."""
    a = audit({"cluster-a": [ns_istio_system(), f.istiod(), *eastwest()]}, "setup",
              asm=[f.migration_cr("Init", option="disableIstioSystemLabelReconciliation")])
    (row,) = a.rows(CHECK_EW)
    assert (row["status"], row["code"]) == ("FAIL", "AA0811")
    assert row["evidence"]["advanced_option"] is None
    assert row["message"] == (  # the wording is the point: which spelling is set and which one ASM reads
        'east-west gateway in use: advanced option not set (spec.advancedOptions: '
        '{"disableIstioSystemLabelReconciliation": true}); spec.advancedOptions.disableIstioSystemLabelReconciliation '
        "(the seed's patch spelling) has no effect: ASM's API names the option stopIstioSystemInjectionDisabling")
    assert ('{"spec":{"advancedOptions":{"stopIstioSystemInjectionDisabling":true,'
            '"disableIstioSystemLabelReconciliation":null}}}' in row["remediation"])


def test_eastwest_options_fail_on_label_and_missing_option(audit):
    a = audit({"cluster-a": [ns_istio_system(**{"istio-injection": "disabled"}), f.istiod(), *eastwest()]},
              "setup", asm=[f.migration_cr("Init")])
    # one FAIL per problem, each with its own command
    option, label = a.rows(CHECK_EW)
    assert outcomes(a, CHECK_EW) == [("FAIL", "AA0810"), ("FAIL", "AA0813")]
    assert "istio-injection=disabled" in label["message"]  # the label's value as found
    assert label["remediation"].endswith("label ns istio-system istio-injection-")
    assert '"stopIstioSystemInjectionDisabling":true' in option["remediation"]
    assert option["remediation"].startswith(
        "kubectl --kubeconfig=\"${ASM_KUBECONFIG:?}\" patch asmmigratefromistio default")


def test_eastwest_options_fail_without_the_migration_resource(audit):
    a = audit({"cluster-a": [ns_istio_system(), f.istiod(), *eastwest()]}, "setup", asm=[])
    assert outcomes(a, CHECK_EW) == [("FAIL", "AA0812")]


def test_eastwest_options_detects_service_and_gateway_signals(audit):
    """No eastwestgateway Deployment: a 15443 Service with a network label, or AUTO_PASSTHROUGH, is enough."""
    svc = f.gateway_service("ew", labels={"topology.istio.io/network": "n1"}, ports=[15443])
    gw = f.istio_object("Gateway", "cross-network-gateway", "istio-system", {
        "selector": {"istio": "eastwestgateway"},
        "servers": [{"port": {"number": 15443, "name": "tls", "protocol": "TLS"}, "tls": {"mode": "AUTO_PASSTHROUGH"},
                     "hosts": ["*.local"]}]})
    for objects in ([svc], [gw]):
        a = audit({"cluster-a": [ns_istio_system(**{"istio-injection": "disable"}), *objects]}, "setup",
                  asm=[f.migration_cr("Init", option="stopIstioSystemInjectionDisabling")])
        (row,) = a.rows(CHECK_EW)
        assert (row["status"], row["code"]) == ("FAIL", "AA0813"), objects
        assert "istio-injection=disable" in row["message"]


def test_eastwest_options_unknown_without_asm_but_label_fail_stays(audit):
    a = audit({"cluster-a": [ns_istio_system(), *eastwest()]}, "setup")
    (row,) = a.rows(CHECK_EW)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0830")
    a = audit({"cluster-a": [ns_istio_system(**{"istio-injection": "disabled"}), *eastwest()]}, "setup")
    assert outcomes(a, CHECK_EW) == [("FAIL", "AA0813")]


def test_eastwest_options_two_differing_copies_of_the_resource_are_unknown(audit):
    """ASM's type is cluster-scoped (aliyun/alibabacloud-servicemesh-api@766a6077f30d:
    alibabacloudservicemesh/v1/asmmigratefromistio_types.go): two `default`s that differ come from a hand-made
    snapshot. Main read the first copy's option and passed."""
    set_, unset = (f.migration_cr("Init", option="stopIstioSystemInjectionDisabling"), f.migration_cr("Init"))
    a = audit({"cluster-a": [ns_istio_system(), f.istiod(), *eastwest()]}, "setup", asm=[set_, unset])
    assert outcomes(a, CHECK_EW) == [("UNKNOWN", "AA0830")]


# ================================================================ egress-routes-to-asm
CHECK_EG = "egress-routes-to-asm"


def cnn_vs(*dests: tuple[str, int | None], **kw) -> dict:
    return f.virtualservice("direct-cnn-through-egress-gateway", hosts=["edition.cnn.com"],
                            gateways=["istio-egressgateway", "mesh"], http=[f.route(*dests, **kw)])


def test_egress_fail_reports_split_and_exact_patch(audit):
    vs = cnn_vs((ISTIO_EGRESS, 99), (ASM_EGRESS, 1))
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])
    rows = a.rows(CHECK_EG)
    assert [r["status"] for r in rows] == ["FAIL"]  # the ASM copy is the same: reported once
    (row,) = rows
    assert row["name"] == "direct-cnn-through-egress-gateway" and row["namespace"] == "shop"
    assert "99:1" in row["message"] and "edition.cnn.com" in row["message"]
    assert row["evidence"]["routes"][0]["istio"] == 99 and row["evidence"]["routes"][0]["asm"] == 1
    assert ('[{"op":"add","path":"/spec/http/0/route/0/weight","value":0},'
            '{"op":"add","path":"/spec/http/0/route/1/weight","value":100}]') in row["remediation"]


def test_egress_pass_when_istio_weight_zero_or_only_asm(audit):
    zero = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    only = f.virtualservice("api-egress", hosts=["api.example.com"], http=[f.route(("asm-egressgateway", None))])
    only["metadata"]["namespace"] = "istio-system"  # short name resolves in the rule's own namespace
    from tests.checks.test_egress_second_hop import asm_egress_hop  # ASM's gateway routes them on (red20z)

    hops = [*asm_egress_hop("edition.cnn.com"), *asm_egress_hop("api.example.com")]
    hops[2]["metadata"]["name"], hops[3]["metadata"]["name"] = "asm-egress-api", "asm-egress-hop-api"
    hops[3]["spec"]["gateways"] = ["asm-egress-api"]
    a = audit({"cluster-a": [*egress_gateways(), zero, only]}, "uninstall", asm=[zero, only, *hops])
    rows = a.by_name(CHECK_EG)
    assert rows["direct-cnn-through-egress-gateway"]["status"] == "PASS"
    assert "0:100" in rows["direct-cnn-through-egress-gateway"]["message"]
    assert rows["api-egress"]["status"] == "PASS"


def test_egress_single_destination_without_weight_is_100_and_host_swapped(audit):
    vs = f.virtualservice("legacy", "istio-system", hosts=["legacy.example.com"],
                          tcp=[f.route(("istio-egressgateway", None), port=443)])
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])
    (row,) = [r for r in a.rows(CHECK_EG) if r["cluster"] == "cluster-a"]
    assert row["status"] == "FAIL" and "tcp[0] 100:0" in row["message"]
    assert '"op":"replace","path":"/spec/tcp/0/route/0/destination/host"' in row["remediation"]


def test_egress_mirror_to_istio_fails(audit):
    vs = cnn_vs((ASM_EGRESS, 100), mirror=ISTIO_EGRESS)
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])
    (row,) = a.rows(CHECK_EG)
    assert row["status"] == "FAIL" and "mirror" in row["message"]
    assert '"op":"remove","path":"/spec/http/0/mirror"' in row["remediation"]


def test_egress_short_name_in_other_namespace_is_not_the_gateway(audit):
    vs = f.virtualservice("local", "shop", http=[f.route(("istio-egressgateway", None))])
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])
    assert set(a.statuses(CHECK_EG)) == {"NOT_APPLICABLE"}


def test_egress_asm_copy_that_differs_is_judged_on_its_own(audit):
    done = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    stale = cnn_vs((ISTIO_EGRESS, 50), (ASM_EGRESS, 50))
    from tests.checks.test_egress_second_hop import asm_egress_hop  # ASM's gateway routes it on (red20z)

    a = audit({"cluster-a": [*egress_gateways(), done]}, "uninstall", asm=[stale, *asm_egress_hop()])
    by_cluster = {r["cluster"]: r for r in a.rows(CHECK_EG)}
    assert by_cluster["cluster-a"]["status"] == "PASS"
    assert by_cluster["asm"]["status"] == "FAIL" and "50:50" in by_cluster["asm"]["message"]
    assert "${ASM_KUBECONFIG:?}" in by_cluster["asm"]["remediation"]


def test_egress_unknown_when_unreadable_or_weight_garbage(audit):
    a = audit({"cluster-a": [*egress_gateways()]}, "uninstall", asm=[],
              unreadable={"cluster-a": {K.VIRTUALSERVICE: "forbidden: cannot list virtualservices"}})
    (row,) = [r for r in a.rows(CHECK_EG) if r["cluster"] == "cluster-a"]
    assert row["status"] == "UNKNOWN" and "forbidden" in row["message"]  # the API server's reason, quoted
    vs = cnn_vs((ISTIO_EGRESS, "ninety"), (ASM_EGRESS, 1))
    a = audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])
    assert outcomes(a, CHECK_EG) == [("UNKNOWN", "AA1631")]  # the ASM copy, same spec and verdict, not repeated
    assert "weight 'ninety'" in a.rows(CHECK_EG)[0]["message"]  # the value as found
    # without the ASM control plane the data plane is still judged, the ASM side is UNKNOWN
    a = audit({"cluster-a": [*egress_gateways(), cnn_vs((ISTIO_EGRESS, 99), (ASM_EGRESS, 1))]}, "uninstall")
    assert outcomes(a, CHECK_EG) == [("FAIL", "AA1610"), ("UNKNOWN", "AA1630")]


# ================================================================ asm-gateways-present
CHECK_GW = "asm-gateways-present"


def asm_side(*crs: dict) -> list[dict]:
    return [f.migration_cr("Migrating"), *crs]


def test_asm_gateways_pass_for_ingress_and_egress(audit):
    cluster = [*ingress(), *asm_ingress(), *egress_gateways()]
    a = audit({"cluster-a": cluster}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"]),
                           f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a", "c-b"])))
    rows = a.by_name(CHECK_GW)
    assert rows["istio-ingressgateway"]["status"] == "PASS"
    assert rows["istio-ingressgateway"]["evidence"]["asm_gateway"] == "istio-system/ingressgateway-asm"
    assert rows["istio-egressgateway"]["status"] == "PASS"


def test_asm_gateways_fail_when_missing_or_for_another_cluster(audit):
    cluster = [*ingress(), *egress_gateways()]
    a = audit({"cluster-a": cluster}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-b"])))
    rows = a.by_name(CHECK_GW)
    assert (rows["istio-ingressgateway"]["status"], rows["istio-ingressgateway"]["code"]) == ("FAIL", "AA1710")
    assert "gatewayType: ingress and clusterIds: [c-a]" in rows["istio-ingressgateway"]["remediation"]
    assert (rows["istio-egressgateway"]["status"], rows["istio-egressgateway"]["code"]) == ("FAIL", "AA1710")


def test_asm_gateways_fail_when_declared_but_not_deployed(audit):
    """Declared for the cluster, its istio-<name> Deployment absent: it serves nothing, so removing Istio's gateway
    drops its traffic (main: WARN AA1721, minor, GO at the uninstall gate)."""
    a = audit({"cluster-a": ingress()}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    (row,) = a.rows(CHECK_GW)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1712", "blocker")
    assert a.result.verdict == "NO-GO"
    assert "istio-system/istio-ingressgateway-asm" in row["message"]


def test_asm_gateways_unknown_without_asm_or_cluster_id(audit):
    a = audit({"cluster-a": ingress()}, "uninstall")
    assert a.statuses(CHECK_GW) == ["UNKNOWN"]
    a = audit({"cluster-a": ingress()}, "uninstall",
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    assert outcomes(a, CHECK_GW) == [("UNKNOWN", "AA1730")]
    # ... unless its istio-<name> Deployment in the cluster shows it targets it
    a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall",
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    assert a.statuses(CHECK_GW) == ["PASS"]


def test_asm_gateways_not_applicable_without_istio_gateways(audit):
    a = audit({"cluster-a": [f.istiod()]}, "uninstall", asm=asm_side())
    assert outcomes(a, CHECK_GW) == [("NOT_APPLICABLE", "AA1740")]


# ================================================================ ingress-lb-weights
CHECK_LB = "ingress-lb-weights"


def test_lb_weights_fail_reports_split(audit):
    a = audit({"cluster-a": [*ingress("20"), *asm_ingress("80")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2010", "istio-ingressgateway")
    assert row["evidence"]["split"] == "Istio 20 : ASM 80 (20% to Istio)"
    assert row["remediation"].endswith(
        f"-n istio-system annotate service/istio-ingressgateway {CCM}alibaba-cloud-loadbalancer-weight=0 "
        "--overwrite\n# the Service is reconciled by the Istio operator (operator.istio.io/managed=Reconcile): "
        "set the annotation in the IstioOperator's ingressGateways[].k8s.serviceAnnotations too, or it is reverted")


def test_lb_weights_pass_when_istio_weight_zero(audit):
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"]) == ("PASS", "AA2001")
    assert row["evidence"]["split"] == "Istio 0 : ASM 100 (0% to Istio)"


def test_lb_weights_old_spelling_and_missing_weight(audit):
    a = audit({"cluster-a": [*ingress(None, spelling="alicloud-"), *asm_ingress("100", spelling="alicloud-")]},
              "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"]) == ("FAIL", "AA2012")
    assert f"{CCM}alicloud-loadbalancer-weight=0" in row["remediation"]


def test_lb_weights_all_zero_is_a_fail(audit):
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("0")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"]) == ("FAIL", "AA2011")


def test_lb_weights_declared_on_asm_istiogateway(audit):
    """The ASM gateway's Service is not in the cluster yet; its IstioGateway declares the shared CLB."""
    cr = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"], overrides={
        "c-a": {"serviceAnnotations": {f"{CCM}alibaba-cloud-loadbalancer-id": "lb-1",
                                       f"{CCM}alibaba-cloud-loadbalancer-weight": "60"}}})
    a = audit({"cluster-a": ingress("40")}, "uninstall", asm=[cr], config=IDS)
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"]) == ("FAIL", "AA2010")
    # the declared weight is evidence, not backends on the CLB: ASM's side counts 0 until its Service is there
    assert row["evidence"]["split"].startswith("Istio 40 : ASM 0")
    member = row["evidence"]["members"][1]
    assert (member["source"], member["weight"]) == ("declared on the ASM control plane", "60")


def test_lb_weights_not_applicable_without_shared_clb(audit):
    a = audit({"cluster-a": [*ingress("100", lb="lb-1"), *asm_ingress("100", lb="lb-2")]}, "uninstall", asm=[])
    assert outcomes(a, CHECK_LB) == [("NOT_APPLICABLE", "AA2040")]


def test_lb_weights_unknown(audit):
    a = audit({"cluster-a": [*ingress("half"), *asm_ingress("100")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2030") and "'half'" in row["message"]
    a = audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", asm=[],
              unreadable={"cluster-a": {K.SERVICE: "forbidden"}})
    assert a.statuses(CHECK_LB) == ["UNKNOWN"]


# ================================================================ cross-cluster-gateway-first
CHECK_CN = "cross-cluster-gateway-first"
GW_TIME = "2026-11-13T09:41:30Z"


def moved_pods(created: str) -> list[dict]:
    dep_rs = f.deployment("cart")
    return [*dep_rs, *f.workload_pods(dep_rs, 2, proxy="asm", created=created)]


def asm_crossnet() -> dict:
    """The Deployment ASM's IstioGateway controller puts in the cluster for asm-cross-network-m1 (a gateway declared
    for the cluster but not deployed there serves nothing: AA1814, test_crossnet_reachable_22g.py)."""
    return f.gateway_deployment("istio-asm-cross-network-m1", asm=True, gateway_type="cross-network",
                                labels={"topology.istio.io/network": "network-1"})


def test_cross_network_not_applicable_without_eastwest(audit):
    a = audit({"cluster-a": moved_pods("2026-11-14T00:00:00Z")}, "migrating", asm=[])
    assert outcomes(a, CHECK_CN) == [("NOT_APPLICABLE", "AA1840")]


@pytest.mark.parametrize("spelling", ["cross-network", "CrossNetwork"])
def test_cross_network_pass_when_gateway_first(audit, spelling):
    a = audit({"cluster-a": [*eastwest(), asm_crossnet(), *moved_pods("2026-11-14T00:00:00Z")]}, "migrating",
              config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", spelling, cluster_ids=["c-a"], created=GW_TIME)])
    (row,) = a.rows(CHECK_CN)
    assert (row["status"], row["code"]) == ("PASS", "AA1801")


def test_cross_network_fail_when_pods_moved_first(audit):
    a = audit({"cluster-a": [*eastwest(), asm_crossnet(), *moved_pods("2026-11-12T08:00:00Z")]}, "uninstall",
              config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)])
    (row,) = a.rows(CHECK_CN)
    assert (row["status"], row["code"]) == ("FAIL", "AA1810")
    assert row["evidence"]["workloads"] == ["Deployment shop/cart"]
    assert "rollout restart deployment/cart" in row["remediation"]


def test_cross_network_fail_without_gateway_and_warn_before_any_move(audit):
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z")]}, "migrating", config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-b"])])
    (row,) = a.rows(CHECK_CN)
    assert (row["status"], row["code"]) == ("FAIL", "AA1811")
    a = audit({"cluster-a": eastwest()}, "migrating", asm=[])
    assert outcomes(a, CHECK_CN) == [("WARN", "AA1820")]


def test_cross_network_unknown(audit):
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z")]}, "migrating")
    assert a.statuses(CHECK_CN) == ["UNKNOWN"]
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z")]}, "migrating", asm=[],
              unreadable={"cluster-a": {K.POD: "the server was unable to return a response"}})
    assert a.statuses(CHECK_CN) == ["UNKNOWN"]


def test_cross_network_unknown_when_pod_creation_time_unreadable(audit):
    a = audit({"cluster-a": [*eastwest(), asm_crossnet(), *moved_pods("")]}, "migrating", config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)])
    (row,) = a.rows(CHECK_CN)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1831")


def test_lb_weights_auto_created_clb_seen_through_ccm_label(audit):
    """Istio's CLB was created by CCM (only its label names it); ASM's Service reuses it by annotation."""
    istio = ingress("30", lb=None)
    istio[1]["metadata"]["labels"]["service.k8s.alibaba/loadbalancer-id"] = "lb-auto"
    a = audit({"cluster-a": [*istio, *asm_ingress("70", lb="lb-auto")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK_LB)
    assert (row["status"], row["code"], row["evidence"]["clb"]) == ("FAIL", "AA2010", "lb-auto")
    assert row["evidence"]["split"].startswith("Istio 30 : ASM 70")


def test_nothing_to_replace_needs_no_asm_control_plane(audit):
    """Without Istio gateways or egress routes there is nothing ASM must hold: not UNKNOWN for want of ASM."""
    a = audit({"cluster-a": [f.istiod()]}, "uninstall")
    assert a.statuses(CHECK_GW) == ["NOT_APPLICABLE"]
    assert a.statuses(CHECK_EG) == ["NOT_APPLICABLE"]
    # an Istio egress gateway exists: ASM's VirtualServices could still route to it, so UNKNOWN without ASM
    a = audit({"cluster-a": [f.istiod(), *egress_gateways()]}, "uninstall")
    assert sorted(a.statuses(CHECK_EG)) == ["NOT_APPLICABLE", "UNKNOWN"]


# ================================================================ each outcome from a real-shaped input
def test_egress_routes_outcomes_of_their_own(audit):
    from tests.checks.test_egress_second_hop import asm_egress_hop  # ASM's gateway routes it on (red20z)

    done = cnn_vs((ISTIO_EGRESS, 0), (ASM_EGRESS, 100))
    a = audit({"cluster-a": [*egress_gateways(), done]}, "uninstall", asm=asm_egress_hop())
    assert {r["cluster"]: (r["status"], r["code"]) for r in a.rows(CHECK_EG)} == {
        "cluster-a": ("PASS", "AA1601"), "asm": ("NOT_APPLICABLE", "AA1641")}
    a = audit({"cluster-a": egress_gateways()}, "uninstall", asm=[done, *asm_egress_hop()])
    assert {r["cluster"]: (r["status"], r["code"]) for r in a.rows(CHECK_EG)} == {
        "cluster-a": ("NOT_APPLICABLE", "AA1640"), "asm": ("PASS", "AA1601")}


def test_asm_gateways_present_outcomes_of_their_own(audit):
    # the ASM gateway's status reports an error
    broken = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"],
                                status={"Status": "Failed", "ErrorMessage": "CLB quota exceeded"})
    a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=IDS, asm=asm_side(broken))
    (row,) = a.rows(CHECK_GW)
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA1720", "minor")
    assert "CLB quota exceeded" in row["message"]  # ASM's own words, quoted
    # two Istio ingress gateways, one ASM ingress gateway: the second must be confirmed
    second = [f.gateway_deployment("istio-ingressgateway-internal", labels={"istio": "ingressgateway"}),
              f.gateway_service("istio-ingressgateway-internal", selector={"istio": "ingressgateway"})]
    a = audit({"cluster-a": [*ingress(), *second, *asm_ingress()]}, "uninstall", config=IDS,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])))
    assert sorted(outcomes(a, CHECK_GW)) == [("PASS", "AA1701"), ("WARN", "AA1722")]


def test_cross_network_gateway_ready_before_any_move(audit):
    a = audit({"cluster-a": [*eastwest(), asm_crossnet()]}, "migrating", config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"], created=GW_TIME)])
    assert outcomes(a, CHECK_CN) == [("PASS", "AA1802")]
