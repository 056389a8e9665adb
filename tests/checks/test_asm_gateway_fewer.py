"""asm-gateways-present at the uninstall gate: an Istio gateway left without an ASM gateway of its own (fewer ASM
gateways than Istio's, AA1722) is judged for what it serves, as a matched one is (red22n).

The shape: a public and an internal Istio ingress gateway, as `istioctl install` renders two entries of an
IstioOperator's spec.components.ingressGateways[] (istio/istio@1.24.6: operator/pkg/render/manifest.go
applyComponentValuesToHelmValues sets each entry's `name` and `label` as the gateway chart's values;
manifests/charts/gateways/istio-ingress/templates/deployment.yaml puts those labels on the Deployment and its pods, and
the Service selects them), the internal one labelled `istio: internal-ingressgateway` so that its own Gateways select
only its pods. One ASM ingress gateway, ingressgateway-asm (ASM's ingress migration guide:
alibabacloud.com/help/en/asm/use-cases/migrate-traffic-from-a-self-managed-istio-ingress-gateway-to-an-asm-ingress-
gateway-1, "-asm" suffix), whose pods the public Gateway was re-pointed at. ASM's istiod gives a gateway pod the
listeners of the Gateways whose selector matches its labels (istio/istio@1.24.6 pilot/pkg/model/push_context.go
mergeGateways over the Gateways selecting the proxy's labels): the internal Gateway's hosts are on no ASM pod.
Main: PASS AA1701 for the public gateway, WARN AA1722 (minor) for the internal one, a GO while its hosts die with it.
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_asm_gateway_hosts_ports import ASM, ASM_CR, ISTIO, ONLY, gateway, istio_ingress, routes, server
from tests.checks.test_gateways import asm_ingress, asm_side

CHECK = "asm-gateways-present"
INTERNAL = {"istio": "internal-ingressgateway"}


def run(audit: Any, cluster_gateways: list[dict[str, Any]], asm_gateways: list[dict[str, Any]]) -> Any:
    """Two Istio ingress gateways, one ASM ingress gateway; each side's Gateways with their routes to `web`."""
    objects = [*istio_ingress(),
               *istio_ingress(name="istio-internal-ingressgateway", label="internal-ingressgateway"),
               *asm_ingress(), *cluster_gateways, *routes(*cluster_gateways),
               *(f.service("web", ns) for ns in sorted({g["metadata"]["namespace"] for g in cluster_gateways}))]
    return audit({"cluster-a": objects}, "uninstall", config=ONLY,
                 asm=asm_side(ASM_CR, *asm_gateways, *routes(*asm_gateways)))


def rows(a: Any) -> list[tuple[str, str, str]]:
    return sorted((r["name"], r["status"], r["code"]) for r in a.rows(CHECK))


def test_the_internal_gateways_hosts_on_no_asm_pod_are_lost(audit):
    shop = gateway("shop-gateway", "shop", ASM, server(80, ["shop.example.com"]))
    intra = gateway("intra-gateway", "intra", INTERNAL, server(80, ["intra.example.com"]))
    a = run(audit, [shop, intra], [shop, intra])
    assert rows(a) == [("istio-ingressgateway", "PASS", "AA1701"),
                       ("istio-internal-ingressgateway", "FAIL", "AA1715")]
    [lost] = [r for r in a.rows(CHECK) if r["code"] == "AA1715"]
    assert lost["evidence"]["hosts_unserved"] == {"intra.example.com": ["intra/intra-gateway"]}
    assert lost["severity"] == "blocker"
    assert a.result.verdict == "NO-GO"


def test_the_internal_gateways_hosts_moved_to_the_asm_gateway_keep_the_reminder(audit):
    """The internal Gateway re-pointed at ASM's pods on the ASM control plane (and its routes there): nothing is lost;
    the reminder that one ASM gateway now serves both stays (minor, GO)."""
    shop = gateway("shop-gateway", "shop", ASM, server(80, ["shop.example.com"]))
    intra = gateway("intra-gateway", "intra", INTERNAL, server(80, ["intra.example.com"]))
    intra_on_asm = gateway("intra-gateway", "intra", ASM, server(80, ["intra.example.com"]))
    a = run(audit, [shop, intra], [shop, intra_on_asm])
    assert rows(a) == [("istio-ingressgateway", "PASS", "AA1701"),
                       ("istio-internal-ingressgateway", "WARN", "AA1722")]
    assert a.result.verdict == "GO"


def test_no_gateway_on_asms_pods_leaves_both_istio_gateways_without_a_listener_there(audit):
    """Every Gateway still selects only an Istio gateway's pods (imported to ASM as it was): ASM's gateway gets no
    listener for either Istio gateway's hosts."""
    both = gateway("edge-gateway", "edge", ISTIO, server(80, ["edge.example.com"]))
    intra = gateway("intra-gateway", "intra", INTERNAL, server(80, ["edge.example.com"]))
    a = run(audit, [both, intra], [both, intra])
    assert rows(a) == [("istio-ingressgateway", "FAIL", "AA1714"), ("istio-internal-ingressgateway", "FAIL", "AA1714")]
    assert a.result.verdict == "NO-GO"
