"""eastwest-gateway-options: an Istio gateway injected by the webhook in istio-system needs what an east-west one needs.

ASM labels istio-system `istio-injection: disable` from the cluster's join on, unless ASMMigrateFromIstio's
spec.advancedOptions.stopIstioSystemInjectionDisabling is set (the seed: the east-west gateway's pod "needs to be
manually modified by MutatingWebhook"). The reason holds for every gateway whose pods the webhook completes, whatever
its role: the istio/gateway chart (pod template labelled sidecar.istio.io/inject: "true", istio-proxy image `auto`,
inject.istio.io/templates: gateway; istio/istio@1.20.0 and 1.30.3 manifests/charts/gateway/templates/deployment.yaml)
installed into istio-system, and an IstioOperator gateway with `injectionTemplate` set (manifests/charts/gateways/
istio-ingress/templates/injected-deployment.yaml @1.20.0: the same label, image auto, in the release namespace,
istio-system by default). Istio's webhooks skip a pod in a namespace labelled istio-injection other than `enabled`
(istio-discovery templates/mutatingwebhook.yaml): the gateway's next pods (the restarts SetupIstioForMigrate asks for
to carry PROXY_CONFIG_XDS_AGENT, a node drain) keep image `auto` and never start.
main: NOT_APPLICABLE AA0840 ("no east-west gateway"), the setup gate GO.
"""

from __future__ import annotations

from tests import factory as f
from tests import install_shapes as S

CHECK = "eastwest-gateway-options"
IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
OPTION = "stopIstioSystemInjectionDisabling"


def cluster(*objs: dict, label: str | None = "disable") -> list[dict]:
    labels = {"kubernetes.io/metadata.name": "istio-system", **({"istio-injection": label} if label else {})}
    # Istio's injector (the default revision's webhooks, tests/factory.py injector_hooks): what injects the gateway.
    return [f.namespace("istio-system", labels=labels), f.istiod(version="1.24.6"),
            f.webhook_config("istio-sidecar-injector"), *objs]


def chart_ingress(ns: str = "istio-system") -> list[dict]:
    """`helm install istio-ingressgateway istio/gateway -n <ns>`."""
    return [o for o in S.helm_gateway(S.Injector("1.24.6"), "istio-ingressgateway", ns) if o["kind"] != "Namespace"]


def codes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


def test_injected_ingress_gateway_in_istio_system_with_asms_label_and_no_option_fails(audit):
    a = audit({"cluster-a": cluster(*chart_ingress())}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert codes(a) == [("FAIL", "AA0814"), ("FAIL", "AA0815")]
    assert a.result.verdict == "NO-GO"  # main: GO
    row = next(r for r in a.rows(CHECK) if r["code"] == "AA0814")
    assert row["evidence"]["injected_gateways"] == ["Deployment istio-system/istio-ingressgateway"]
    assert OPTION in row["remediation"]


def test_option_set_but_label_kept_fails_and_both_done_passes(audit):
    a = audit({"cluster-a": cluster(*chart_ingress())}, "setup", asm=[f.migration_cr("Init", option=OPTION)],
              config=IDS)
    assert codes(a) == [("FAIL", "AA0815")]
    a = audit({"cluster-a": cluster(*chart_ingress(), label=None)}, "setup",
              asm=[f.migration_cr("Init", option=OPTION)], config=IDS)
    assert codes(a) == [("PASS", "AA0802")]


def test_no_resource_fails(audit):
    a = audit({"cluster-a": cluster(*chart_ingress(), label=None)}, "setup", asm=[], config=IDS)
    assert codes(a) == [("FAIL", "AA0816")]


def test_gateways_the_label_does_not_reach_stay_not_applicable(audit):
    # The chart's gateway in its own namespace (Istio's Helm docs: -n istio-ingress), and istioctl's rendered
    # gateway (sidecar.istio.io/inject: "false", full proxy spec: gateways/istio-ingress/templates/deployment.yaml).
    for objs in (chart_ingress("istio-ingress"),
                 S.iop_gateway(S.Injector("1.22.8"), "istio-ingressgateway", "IngressGateways",
                               istio_label="ingressgateway")):
        objs = [o for o in objs if o["kind"] != "Namespace"]
        a = audit({"cluster-a": cluster(*objs)}, "setup", asm=[f.migration_cr("Init")], config=IDS)
        assert codes(a) == [("NOT_APPLICABLE", "AA0840")]
