"""An Ingress or a Gateway API route in front of an istioctl-installed gateway: one finding, not two (fix23g).

istioctl renders Istio's ingress gateway from the istio-ingress chart, whose Service carries
operator.istio.io/component: IngressGateways (istio/istio@1.22.3:manifests/charts/gateways/istio-ingress/templates/
service.yaml; tests/install_shapes.py iop_gateway), so `istioctl uninstall --purge` deletes it and purge-preview says
FAIL AA2513 of every Ingress backend and route that still names it. Since fix23c asm-gateways-present said FAIL AA1741
of the same Ingress or route too: two blockers for one edit. AA2513 names the deletion, so it speaks for a Service the
purge deletes; AA1741 still speaks for a Service the purge leaves (the gateway chart's, tests/checks/
test_asm_gateway_reach_fronts.py, or one whose label was taken off as AA2513's fix offers, still on Istio's pods).
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_asm_gateway_reach import IDS, asm_gateway, asm_side, cr, hosts_on
from tests.checks.test_asm_gateway_reach_fronts import front

CHECKS = ("asm-gateways-present", "purge-preview")
ONLY = {**IDS, **f.only_checks(*CHECKS)}


def istioctl_gateway() -> list[dict[str, Any]]:
    """istiod and istio-ingressgateway as `istioctl install` (1.22.8) renders them, with a Gateway for its host."""
    inj = S.Injector("1.22.8")
    return [*S.istiod(inj),
            *S.iop_gateway(inj, "istio-ingressgateway", "IngressGateways", istio_label="ingressgateway"),
            S.istio_gateway_object("istio-ingressgateway-routes", "istio-system", {"istio": "ingressgateway"},
                                   ["shop.example.com"])]


def audit_fronted(audit, istio: list[dict[str, Any]], *fronts: dict[str, Any]):
    """ASM's ingressgateway-asm replacing Istio's, its Gateway holding the host on the ASM side, and the fronts."""
    return audit({"cluster-a": [*istio, *asm_gateway(address="47.96.10.21"), *fronts]}, "uninstall", config=ONLY,
                 asm=asm_side(cr(), *hosts_on({"istio": "ingressgateway-asm"}, "shop.example.com",
                                              "istio-ingressgateway-routes")))


def named(a) -> list[tuple[str, str, str, str, str]]:
    """(check, status, code, kind, name) of every finding about the fronts."""
    return sorted((c, r["status"], r["code"], r["kind"], r["name"]) for c in CHECKS for r in a.rows(c)
                  if r["kind"] in ("Ingress", "HTTPRoute"))


def test_an_ingress_on_an_istioctl_gateway_service_is_named_once(audit):
    """Main: FAIL AA1741 and FAIL AA2513 for the one Ingress."""
    ingress = front("nginx", [{"ip": "47.96.10.60"}], service="istio-ingressgateway")
    a = audit_fronted(audit, istioctl_gateway(), ingress)
    assert named(a) == [("purge-preview", "FAIL", "AA2513", "Ingress", "front-nginx")]
    assert [(r["status"], r["code"]) for r in a.rows("asm-gateways-present")] == [("PASS", "AA1701")]
    assert a.result.verdict == "NO-GO"


def test_a_route_on_an_istioctl_gateway_service_is_named_once(audit):
    route = f.k8s_route("HTTPRoute", "edge", "shop", [{"name": "edge", "namespace": "shop"}],
                        backend="istio-ingressgateway", port=80)
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "istio-system"
    a = audit_fronted(audit, istioctl_gateway(), route)
    assert named(a) == [("purge-preview", "FAIL", "AA2513", "HTTPRoute", "edge")]


def test_the_label_taken_off_leaves_the_service_to_asm_gateways_present(audit):
    """AA2513's other fix: operator.istio.io/component off the Service, so the purge leaves it; still selecting Istio's
    gateway pods (which the purge deletes), the Ingress reaches nothing: AA1741 speaks."""
    istio = istioctl_gateway()
    svc = next(o for o in istio if o["kind"] == "Service" and o["metadata"]["name"] == "istio-ingressgateway")
    del svc["metadata"]["labels"]["operator.istio.io/component"]
    a = audit_fronted(audit, istio, front("nginx", [{"ip": "47.96.10.60"}], service="istio-ingressgateway"))
    assert named(a) == [("asm-gateways-present", "FAIL", "AA1741", "Ingress", "front-nginx")]
    assert a.result.verdict == "NO-GO"
