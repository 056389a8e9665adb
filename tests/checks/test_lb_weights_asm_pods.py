"""ingress-lb-weights at the uninstall gate: an ASM ingress gateway Service on the shared CLB whose gateway has no pod
available serves nothing there (red19b; red18f left it: "an ASM LB member with no available pod is not AA2014").

ASM's ingress cut-over puts both Services' backends into the CLB's vServer groups and moves the weight
(alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-a-self-managed-istio-ingress-gateway-to-an-asm-ingress-
gateway-1; tests/checks/test_gateways.py clb_reuse). ASM's gateway Deployment istio-<name> may run no available pod
(asm.alibabacloud.com/replicas-managed-by-asm: "false" leaves its replicas to an HPA or `kubectl scale`:
aliyun/alibabacloud-servicemesh-api@4df57487:alibabacloudservicemesh/v1/istiogateway_types.go REPLICAS_MANAGED_BY_ASM;
the Deployment's status as tests/checks/test_asm_gateway_serving.py scaled_to_zero writes it): its Service then has
no ready endpoint and its backends on the CLB answer nothing. asm-gateways-present says AA1713 of the ASM gateway it
matches; with a second ASM ingress gateway that serves (matched instead, PASS AA1701), main passed the CLB split
"Istio 0 : ASM 100" (AA2001): a GO where the shared CLB's traffic reaches no gateway.
"""

from __future__ import annotations

from tests import factory as f
from tests.checks.test_asm_gateway_serving import _asm_deployment, half_ready, scaled_to_zero
from tests.checks.test_gateways import IDS, asm_ingress, asm_side, ingress

CHECK = "ingress-lb-weights"
BOTH = {**IDS, **f.only_checks(CHECK, "asm-gateways-present")}
ASM_CR = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])
# A second ASM ingress gateway for the cluster, on a load balancer of its own (not the shared CLB), serving.
OTHER_CR = f.istio_gateway_cr("ingressgateway-2", "ingress", cluster_ids=["c-a"])


def other_gateway() -> list[dict]:
    return [f.gateway_deployment("istio-ingressgateway-2", asm=True, gateway_type="ingress"),
            f.gateway_service("istio-ingressgateway-2")]


def test_the_asm_member_of_the_shared_clb_scaled_to_zero_serves_nothing(audit):
    """Main: PASS AA2001 (and asm-gateways-present PASS AA1701 with the other ASM gateway): GO."""
    objects = [*ingress(weight="0"), *asm_ingress(weight="100"), *other_gateway()]
    scaled_to_zero(_asm_deployment(objects, "istio-ingressgateway-asm"))
    a = audit({"cluster-a": objects}, "uninstall", config=BOTH, asm=asm_side(ASM_CR, OTHER_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == (
        "FAIL", "AA2014", "blocker", "istio-ingressgateway")
    [member] = [m for m in row["evidence"]["members"] if m["asm"]]
    assert member["service"] == "istio-system/istio-ingressgateway-asm"
    assert "0 of 0" in str(member["backends_not_shown"])
    assert [(r["status"], r["code"]) for r in a.rows("asm-gateways-present")] == [("PASS", "AA1701")]
    assert a.result.verdict == "NO-GO"


def test_the_asm_member_with_a_pod_available_still_serves(audit):
    objects = [*ingress(weight="0"), *asm_ingress(weight="100")]
    half_ready(_asm_deployment(objects, "istio-ingressgateway-asm"))
    a = audit({"cluster-a": objects}, "uninstall", config=BOTH, asm=asm_side(ASM_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2001")


def test_another_asm_member_serving_the_clb_keeps_the_pass(audit):
    """Two ASM Services on the shared CLB, one of them scaled to 0: the other takes the traffic."""
    other = other_gateway()
    other[1]["metadata"]["annotations"] = dict(asm_ingress(weight="100")[1]["metadata"]["annotations"])
    objects = [*ingress(weight="0"), *asm_ingress(weight="100"), *other]
    scaled_to_zero(_asm_deployment(objects, "istio-ingressgateway-asm"))
    a = audit({"cluster-a": objects}, "uninstall", config=BOTH, asm=asm_side(ASM_CR, OTHER_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2001")
    assert "Istio 0 : ASM 100" in row["evidence"]["split"]
