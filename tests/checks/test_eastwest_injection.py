"""eastwest-gateway-options: istio-system's label alone does not tell that Istio's injector takes the gateway (red20c).

Istio's east-west gateway is left to the injector webhook: samples/multicluster/gen-eastwest-gateway.sh sets
`values.gateways.istio-ingressgateway.injectionTemplate: gateway` (istio/istio@1.14.6 .. @1.30.3; `--revision <rev>`
puts `spec.revision`), so its Deployment is charts/gateways/istio-ingress/templates/injected-deployment.yaml (image
`auto`, pods labelled sidecar.istio.io/inject "true" and istio.io/rev <rev>); the istio/gateway chart writes the same
labels (manifests/charts/gateway/templates/_helpers.tpl @1.24.6, 1.30.3: `revision` value -> istio.io/rev). Istio's
webhooks select by namespace and pod labels together (istio-control/istio-discovery/templates/mutatingwebhook.yaml
@1.24.6, 1.30.3): a revision's rev.namespace. and rev.object. webhooks want istio-system without istio-injection; only
the default revision (or a `default` revision tag, revision-tags-mwc.yaml @1.30.3) has the namespace. webhook that
selects `istio-injection: enabled`.

So with a revisioned Istio and no default injector, labelling istio-system `istio-injection=enabled` (instead of
removing ASM's `disable`, as the seed says) leaves the east-west gateway's next pods without a proxy. main read the
label only: PASS AA0801 ("no istio-injection label other than enabled"), the setup gate GO.
"""

from __future__ import annotations

import pytest

from auditor import kinds as K
from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_eastwest_shapes import NETWORK

CHECK = "eastwest-gateway-options"
OPTION = "stopIstioSystemInjectionDisabling"
REVISIONED = S.Injector("1.30.3", revision="1-30-3")


def istio_system(**labels: str) -> dict:
    return f.namespace("istio-system", labels={"kubernetes.io/metadata.name": "istio-system", **labels})


def eastwest(inj: S.Injector) -> list[dict]:
    """`helm install istio-eastwestgateway istio/gateway -n istio-system --set networkGateway=network-1
    [--set revision=<rev>]` (its pods: sidecar.istio.io/inject "true" [, istio.io/rev <rev>])."""
    objs = [o for o in S.helm_gateway(inj, "istio-eastwestgateway", "istio-system") if o["kind"] != "Namespace"]
    for obj in objs:
        if obj["kind"] == "Deployment":
            obj["spec"]["template"]["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
            obj["spec"]["template"]["spec"]["containers"][0]["env"] = [
                {"name": "ISTIO_META_REQUESTED_NETWORK_VIEW", "value": NETWORK}]
        elif obj["kind"] == "Service":
            obj["metadata"]["labels"]["topology.istio.io/network"] = NETWORK
            obj["spec"]["ports"] = [{"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"},
                                    {"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}]
    return objs


def outcomes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


def run(audit, *objs: dict, **kw):
    return audit({"cluster-a": list(objs)}, "setup", asm=[f.migration_cr("Init", option=OPTION)], **kw)


def test_a_revisioned_eastwest_gateway_in_istio_system_labelled_enabled_is_injected_by_none(audit):
    a = run(audit, istio_system(**{"istio-injection": "enabled"}), *S.istiod(REVISIONED), *eastwest(REVISIONED))
    assert outcomes(a) == [("FAIL", "AA0817")]
    [row] = a.rows(CHECK)
    assert row["severity"] == "blocker" and a.result.verdict == "NO-GO"
    assert row["evidence"]["istio_injectors_selecting"] == {"istio-system/istio-eastwestgateway": []}
    assert "label ns istio-system istio-injection-" in row["remediation"]


@pytest.mark.parametrize("labels", [{}, {"istio.io/rev": "1-30-3"}])
def test_unlabelled_or_labelled_with_its_revision_it_is_injected(audit, labels):
    """The seed's step (remove the label): the revision's rev.object. webhook selects the pods by their istio.io/rev;
    istio-system labelled istio.io/rev=<rev>: its rev.namespace. webhook does."""
    a = run(audit, istio_system(**labels), *S.istiod(REVISIONED), *eastwest(REVISIONED))
    assert outcomes(a) == [("PASS", "AA0801")]
    assert a.rows(CHECK)[0]["evidence"]["istio_injectors_selecting"] == {
        "istio-system/istio-eastwestgateway": [
            "istio-sidecar-injector-1-30-3 (rev.namespace.sidecar-injector.istio.io)" if labels else
            "istio-sidecar-injector-1-30-3 (rev.object.sidecar-injector.istio.io)"]}


def test_enabled_with_a_default_revision_tag_is_injected(audit):
    """`istioctl tag set default --revision 1-30-3`: the tag's namespace. webhook selects istio-injection=enabled."""
    a = run(audit, istio_system(**{"istio-injection": "enabled"}), *S.istiod(REVISIONED), *eastwest(REVISIONED),
            S.revision_tag("default", REVISIONED), S.revision_tag_service("default", REVISIONED))
    assert outcomes(a) == [("PASS", "AA0801")]


def test_webhooks_unread_is_unknown_not_pass(audit):
    a = run(audit, istio_system(), *S.istiod(REVISIONED), *eastwest(REVISIONED),
            unreadable={"cluster-a": {K.MUTATING_WEBHOOK: "forbidden"}})
    assert outcomes(a) == [("UNKNOWN", "AA0832")]
    assert a.result.verdict == "INCOMPLETE"


def test_another_gateway_left_to_the_injector_in_istio_system_too(audit):
    """No east-west gateway: the chart's ingress gateway in istio-system (tests/checks/test_injected_gateways_istio_
    system.py), revisioned, istio-system labelled enabled: main PASS AA0802."""
    ingress = [o for o in S.helm_gateway(REVISIONED, "istio-ingressgateway", "istio-system")
               if o["kind"] != "Namespace"]
    ids = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
    a = run(audit, istio_system(**{"istio-injection": "enabled"}), *S.istiod(REVISIONED), *ingress, config=ids)
    assert outcomes(a) == [("FAIL", "AA0817")]
    b = run(audit, istio_system(), *S.istiod(REVISIONED), *ingress, config=ids)
    assert outcomes(b) == [("PASS", "AA0802")]


def test_beside_an_eastwest_gateway_every_gateway_left_to_the_injector_is_judged(audit):
    """gen-eastwest-gateway.sh @1.10.6 renders the east-west gateway whole (no injectionTemplate: `proxy router`,
    sidecar.istio.io/inject "false", ISTIO_META_ROUTER_MODE sni-dnat; tests/install_shapes.py iop_gateway), so it needs
    no injector; the revisioned chart ingress gateway beside it in istio-system does, and none selects it."""
    rendered = S.iop_gateway(S.Injector("1.22.8"), "istio-eastwestgateway", "IngressGateways",
                             istio_label="eastwestgateway", extra_labels={"topology.istio.io/network": NETWORK},
                             extra_env={"ISTIO_META_ROUTER_MODE": "sni-dnat",
                                        "ISTIO_META_REQUESTED_NETWORK_VIEW": NETWORK})
    ingress = [o for o in S.helm_gateway(REVISIONED, "istio-ingressgateway", "istio-system")
               if o["kind"] != "Namespace"]
    a = run(audit, istio_system(**{"istio-injection": "enabled"}), *S.istiod(REVISIONED), *rendered, *ingress)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA0817")
    assert row["evidence"]["istio_injectors_selecting"] == {"istio-system/istio-ingressgateway": []}
    b = run(audit, istio_system(**{"istio-injection": "enabled"}), *S.istiod(REVISIONED), *rendered)
    assert outcomes(b) == [("PASS", "AA0801")]


def test_with_no_istio_injection_label_to_remove_the_fix_is_not_its_removal(audit):
    """review20: a gateway of revision `canary` no injector serves, istio-system unlabelled: FAIL AA0817, and the
    remediation is not `label ns istio-system istio-injection-` (a no-op there) but the outcome's choices."""
    canary = S.Injector("1.30.3", revision="canary")
    a = run(audit, istio_system(), *S.istiod(REVISIONED), *eastwest(canary))
    assert outcomes(a) == [("FAIL", "AA0817")]
    [row] = a.rows(CHECK)
    assert not row["remediation"].startswith("kubectl")
