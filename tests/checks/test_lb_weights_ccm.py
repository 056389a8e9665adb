"""ingress-lb-weights against what Alibaba Cloud's CCM really does with a Service's weight annotation.

Source: kubernetes/cloud-provider-alibaba-cloud@v2.14.0 (same at v2.1.0, v2.9.1):
- pkg/controller/service/clbv1/vgroups.go buildVGroupForServicePort: the weight is read only when the CLB is reused by
  the loadbalancer-id annotation (IsUserManaged, clbv1/loadbalancer.go BuildLocalModel) and a vgroup-port annotation
  is set; `strconv.Atoi` and `w < 0 || w > 100` refuse the rest ("weight must be integer in range [0,100]") and the
  Service's sync fails; without a weight the backends get the default (setWeightBackends -> podNumberAlgorithm).
- the same vgroups.go: `ignore-weight-update: "on"` leaves existing backends' weights alone (v2.11.2+).
- pkg/controller/helper/service_utils.go NeedCLB / NeedNLB: only type LoadBalancer Services, no loadBalancerClass but
  alibabacloud.com/nlb (whose controller, nlbv2/server_groups.go, reads the same annotations), no
  service.beta.kubernetes.io/class annotation.
- pkg/controller/service/reconcile/annotation/annotations.go AnnotationRequest.Get: the alibaba-cloud- spelling
  first, then alicloud-; an empty value is "not set".
- Label service.k8s.alibaba/loadbalancer-id only from v2.5 (helper.LabelLoadBalancerId, absent at v2.3.0).
The shape of the Services: ASM's ingress migration guide (alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-
a-self-managed-istio-ingress-gateway-to-an-asm-ingress-gateway-1): loadbalancer-id, force-override-listeners "false",
vgroup-port "<rsp-id>:<port>,...", weight.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_gateways import CCM, asm_ingress, clb_reuse, ingress

CHECK = "ingress-lb-weights"
WEIGHT = f"{CCM}alibaba-cloud-loadbalancer-weight"


def judged(audit, istio: list[dict], asm: list[dict]) -> list[tuple[str, str]]:
    a = audit({"cluster-a": [*istio, *asm]}, "uninstall", asm=[])
    return [(r["status"], r["code"]) for r in a.rows(CHECK)]


def annotations(objs: list[dict]) -> dict[str, str]:
    return next(o for o in objs if o["kind"] == "Service")["metadata"].setdefault("annotations", {})


def service(objs: list[dict]) -> dict:
    return next(o for o in objs if o["kind"] == "Service")


# ---------------------------------------------------------------- the weight as strconv.Atoi reads it
@pytest.mark.parametrize("raw", ["0", "00", "-0", "+0"])
def test_zero_spellings_atoi_reads_as_zero_pass(audit, raw):
    assert judged(audit, ingress(raw), asm_ingress("100")) == [("PASS", "AA2001")]


@pytest.mark.parametrize("raw", [" 0", "0 ", "0\n", "0_0", "\uff10", "0.0", "0%"])
def test_zero_spellings_atoi_refuses_are_unknown_not_pass(audit, raw):
    """Python's int() strips blanks and reads "0_0" and a full-width digit; Go's Atoi refuses them, so CCM never syncs
    the Service and the CLB keeps the weight it had (old code: PASS AA2001 for the first five)."""
    assert judged(audit, ingress(raw), asm_ingress("100")) == [("UNKNOWN", "AA2030")]


@pytest.mark.parametrize("raw", ["101", "-5", " 100", "1e2"])
def test_asm_weight_ccm_refuses_is_unknown_not_pass(audit, raw):
    """Istio at 0, ASM's weight refused by CCM (out of [0, 100] or not Atoi's): ASM's Service is not synced, so that
    ASM serves the CLB is not shown (old code: PASS AA2001 for "101", "-5" and " 100")."""
    assert judged(audit, ingress("0"), asm_ingress(raw)) == [("UNKNOWN", "AA2030")]


def test_empty_weight_is_unset_for_ccm(audit):
    """AnnotationRequest.Get returns "" and CCM applies no weight: the Istio backends keep the default (old code:
    UNKNOWN AA2030)."""
    assert judged(audit, ingress(""), asm_ingress("100")) == [("FAIL", "AA2012")]


# ---------------------------------------------------------------- a weight 0 that CCM does not apply
def test_weight_zero_without_vgroup_port_is_not_applied(audit):
    """Weight 0 beside the CLB id but no vgroup-port: CCM never reads it (old code: PASS AA2001)."""
    istio = ingress("0")
    del annotations(istio)[f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"]
    a = audit({"cluster-a": [*istio, *asm_ingress("100")]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2013", "istio-ingressgateway")
    assert row["evidence"]["members"][0]["weight_not_applied"]


def test_weight_zero_on_a_ccm_created_clb_named_by_label_only_is_not_applied(audit):
    """The Istio Service's CLB was created by CCM (label only, v2.5+); ASM's Service reuses it by id. CCM does not read
    the Istio Service's weight without the id annotation (old code: PASS AA2001)."""
    istio = ingress("0", lb=None)
    service(istio)["metadata"]["labels"]["service.k8s.alibaba/loadbalancer-id"] = "lb-1"
    annotations(istio)[WEIGHT] = "0"
    assert judged(audit, istio, asm_ingress("100")) == [("FAIL", "AA2013")]


def test_weight_zero_on_a_nodeport_service_behind_a_hand_made_slb_is_unknown(audit):
    """A NodePort Service behind an SLB configured by hand: CCM reads none of its annotations (NeedCLB), the weights
    are the console's (old code: PASS AA2001)."""
    istio = ingress("0")
    service(istio)["spec"]["type"] = "NodePort"
    assert judged(audit, istio, asm_ingress("100")) == [("UNKNOWN", "AA2032")]


@pytest.mark.parametrize("lb_class,expected", [("alibabacloud.com/nlb", ("PASS", "AA2001")),
                                               ("example.com/metallb", ("UNKNOWN", "AA2032"))])
def test_load_balancer_class(audit, lb_class, expected):
    """NLB (loadBalancerClass alibabacloud.com/nlb) reads the same annotations (nlbv2/server_groups.go); another class
    is another controller's (old code: PASS for both)."""
    istio = ingress("0")
    service(istio)["spec"]["loadBalancerClass"] = lb_class
    asm = asm_ingress("100")
    service(asm)["spec"]["loadBalancerClass"] = "alibabacloud.com/nlb"
    assert judged(audit, istio, asm) == [expected]


def test_class_annotation_hands_the_service_to_another_controller(audit):
    istio = ingress("0")
    annotations(istio)["service.beta.kubernetes.io/class"] = "my-lb-controller"
    assert judged(audit, istio, asm_ingress("100")) == [("UNKNOWN", "AA2032")]


@pytest.mark.parametrize("value,expected", [("on", ("UNKNOWN", "AA2032")), ("On", ("UNKNOWN", "AA2032")),
                                            ("off", ("PASS", "AA2001"))])
def test_ignore_weight_update(audit, value, expected):
    """ignore-weight-update "on" (strings.EqualFold): CCM keeps the weights the backends had (old code: PASS)."""
    istio = ingress("0")
    annotations(istio)[f"{CCM}alibaba-cloud-loadbalancer-ignore-weight-update"] = value
    assert judged(audit, istio, asm_ingress("100")) == [expected]


def test_old_spelling_of_vgroup_port_counts(audit):
    """AnnotationRequest.Get falls back to the alicloud- spelling."""
    istio = ingress(None, lb=None)
    annotations(istio).update({**clb_reuse("lb-1", "alicloud-"), f"{CCM}alicloud-loadbalancer-weight": "0"})
    assert judged(audit, istio, asm_ingress("100")) == [("PASS", "AA2001")]


def test_external_traffic_policy_local_weight_zero_still_zero(audit):
    """podPercentAlgorithm: weight 0 sets every backend to 0 whatever the traffic policy (Local only changes the split
    of a weight above 0)."""
    istio = ingress("0")
    service(istio)["spec"]["externalTrafficPolicy"] = "Local"
    assert judged(audit, istio, asm_ingress("100")) == [("PASS", "AA2001")]


# ---------------------------------------------------------------- a CLB shared by address only
def test_clb_shared_by_status_address_is_judged(audit):
    """CCM before v2.5 set no loadbalancer-id label: the Istio Service's auto-created CLB shows only in its status.
    ASM's Service reuses that CLB by id; the same address proves they share it (old code: NOT_APPLICABLE AA2040)."""
    istio = ingress(None, lb=None)
    asm = asm_ingress("100")
    for objs in (istio, asm):
        service(objs)["status"] = {"loadBalancer": {"ingress": [{"ip": "47.96.10.20", "ipMode": "VIP"}]}}
    a = audit({"cluster-a": [*istio, *asm]}, "uninstall", asm=[])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["clb"]) == ("FAIL", "AA2012", "lb-1")
    annotations(istio)[WEIGHT] = "0"  # annotated 0 without the id and vServer groups: not applied
    assert judged(audit, istio, asm) == [("FAIL", "AA2013")]


def test_different_addresses_stay_apart(audit):
    istio = ingress("100", lb=None)
    asm = asm_ingress("100")
    service(istio)["status"] = {"loadBalancer": {"ingress": [{"ip": "47.96.10.21"}]}}
    service(asm)["status"] = {"loadBalancer": {"ingress": [{"ip": "47.96.10.20"}]}}
    assert judged(audit, istio, asm) == [("NOT_APPLICABLE", "AA2040")]


def test_factory_gateway_service_default_is_load_balancer():
    assert f.gateway_service("x")["spec"]["type"] == "LoadBalancer"
