"""ingress-lb-weights at the uninstall gate: on the shared CLB, each vServer group the Istio ingress Service names must
get an ASM backend with weight above 0 before the Istio side's 0 proves anything (red22n).

ASM's ingress cut-over puts both Services' backends into the CLB's own vServer groups, one per listener port, named by
service.beta.kubernetes.io/alibaba-cloud-loadbalancer-vgroup-port "<group id>:<Service port>,..." (alibabacloud.com/
help/en/asm/use-cases/migrate-traffic-from-a-self-managed-istio-ingress-gateway-to-an-asm-ingress-gateway-1: the Istio
Service names its groups for 80, 443 and 15021; the ASM IstioGateway's serviceAnnotations example names one group for
port 80 only, help.aliyun.com/document_detail/472918). CCM adds a Service's backends only to the groups it names, with
the weight annotation (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/clbv1/vgroups.go
buildVGroupForServicePort, setWeightBackends); a listener forwards to its one vServer group. So with the Istio Service
at weight 0 and the ASM Service naming only the port-80 group, the 443 listener's group holds Istio's backends at
weight 0 and nothing else: HTTPS on the CLB is served by nobody, now and after the purge. Main: PASS AA2001
"Istio 0 : ASM 100", a GO.
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_gateways import CCM, asm_ingress, ingress

CHECK = "ingress-lb-weights"
ONLY = f.only_checks(CHECK)
VGROUP_PORT = f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"


def asm_naming(groups: str | None, weight: str = "100") -> list[dict[str, Any]]:
    objects = asm_ingress(weight)
    annotations = objects[1]["metadata"]["annotations"]
    if groups is None:
        del annotations[VGROUP_PORT]
    else:
        annotations[VGROUP_PORT] = groups
    return objects


def codes(a: Any) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(CHECK)]


def test_the_asm_service_naming_only_the_port_80_group_leaves_443_served_by_nobody(audit):
    a = audit({"cluster-a": [*ingress("0"), *asm_naming("rsp-lb-1-80:80")]}, "uninstall", asm=[], config=ONLY)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == (
        "FAIL", "AA2015", "blocker", "istio-ingressgateway")
    assert row["evidence"]["vserver_groups_unserved"] == ["rsp-lb-1-443"]
    assert a.result.verdict == "NO-GO"


def test_every_group_the_istio_service_names_with_an_asm_backend_passes(audit):
    both = "rsp-lb-1-80:80, rsp-lb-1-443:443"  # the docs' spelling: ", " between the pairs
    a = audit({"cluster-a": [*ingress("0"), *asm_naming(both)]}, "uninstall", asm=[], config=ONLY)
    assert codes(a) == [("PASS", "AA2001")]
    assert a.result.verdict == "GO"


def test_a_second_asm_service_at_weight_0_in_the_group_serves_it_not(audit):
    """Two ASM gateways on the CLB, the one naming the 443 group at weight 0 (kept out while its routes are not
    ready, as ASM's guide allows): that group still has no backend taking traffic."""
    second = asm_naming("rsp-lb-1-443:443", weight="0")
    for obj in second:
        obj["metadata"]["name"] = "istio-ingressgateway-tls-asm"
    second[0]["spec"]["template"]["metadata"]["labels"].update(app="istio-ingressgateway-tls-asm",
                                                               istio="ingressgateway-tls-asm")
    second[0]["spec"]["selector"]["matchLabels"].update(app="istio-ingressgateway-tls-asm",
                                                        istio="ingressgateway-tls-asm")
    second[1]["spec"]["selector"] = {"app": "istio-ingressgateway-tls-asm", "istio": "ingressgateway-tls-asm"}
    a = audit({"cluster-a": [*ingress("0"), *asm_naming("rsp-lb-1-80:80"), *second]}, "uninstall", asm=[], config=ONLY)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2015")
    assert row["evidence"]["vserver_groups_unserved"] == ["rsp-lb-1-443"]


def test_groups_not_compared_where_the_istio_service_names_none(audit):
    """The Istio Service on a CLB CCM created for it (found by CCM's label, no vgroup-port): its groups are CCM's own
    and not named, so none is compared (the weight's own findings stand)."""
    istio = ingress("0")
    istio[1]["metadata"]["annotations"] = {f"{CCM}alibaba-cloud-loadbalancer-weight": "0"}
    istio[1]["metadata"]["labels"]["service.k8s.alibaba/loadbalancer-id"] = "lb-1"
    a = audit({"cluster-a": [*istio, *asm_naming("rsp-lb-1-80:80")]}, "uninstall", asm=[], config=ONLY)
    assert ("FAIL", "AA2015") not in codes(a)
