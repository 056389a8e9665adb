"""ingress-lb-weights at the uninstall gate: ASM's ingress gateway Service that CCM never applied to the shared CLB
(its status.loadBalancer holds no address) is not shown serving it (red18f).

ASM's ingress cut-over shares the Istio gateway's CLB (alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-a-
self-managed-istio-ingress-gateway-to-an-asm-ingress-gateway-1: both Services name the CLB, keep its listeners, use its
vServer groups; tests/checks/test_gateways.py clb_reuse). CCM writes a Service's status.loadBalancer.ingress only after
it applied the model (listeners, vServer groups, backends, weights): on an error it records SyncLoadBalancerFailed and
returns first (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/clbv1/service_controller.go
reconcileLoadBalancerResources), e.g. for a CLB that CCM created for another Service, which ASM's migration topic
notes cannot be reused. The API server writes `status: {loadBalancer: {}}` for every Service until then (core/v1
ServiceStatus; encoding/json keeps an empty struct). Main counted the ASM Service's weight 100 all the same: PASS AA2001
"Istio 0 : ASM 100", a GO with no ASM backend shown on the CLB (and Istio's at weight 0).
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_gateways import IDS, asm_ingress, asm_side, ingress

CHECK = "ingress-lb-weights"
ONLY = {**IDS, **f.only_checks(CHECK)}
SYNCED = {"loadBalancer": {"ingress": [{"ip": "47.96.10.20", "ipMode": "VIP"}]}}
NOT_SYNCED: dict[str, Any] = {"loadBalancer": {}}
ASM_CR = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])


def shared_clb(asm_status: dict[str, Any]) -> list[dict[str, Any]]:
    objects = [*ingress(weight="0"), *asm_ingress(weight="100")]
    for obj in objects:
        if obj["kind"] == "Service":
            obj["status"] = asm_status if "asm" in obj["metadata"]["name"] else SYNCED
    return objects


def test_asm_service_not_applied_by_ccm_is_unknown_not_pass(audit):
    a = audit({"cluster-a": shared_clb(NOT_SYNCED)}, "uninstall", config=ONLY, asm=asm_side(ASM_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2033", "istio-ingressgateway")
    assert a.result.verdict != "GO"


def test_asm_service_with_its_address_passes(audit):
    a = audit({"cluster-a": shared_clb(SYNCED)}, "uninstall", config=ONLY, asm=asm_side(ASM_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2001")
    assert a.result.verdict == "GO"
