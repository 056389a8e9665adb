"""Gateway API (gateway.networking.k8s.io) through the real engine: config import and residue.

Objects are shaped as istiod's Gateway API controller and the Gateway API CRDs write them (see the
Gateway API section of tests/factory.py for the Istio source files each shape comes from).
"""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f

IMPORT = "istio-config-imported"
RESIDUE = "istio-residue"
GW = "Gateway.gateway.networking.k8s.io"
HTTP = "HTTPRoute.gateway.networking.k8s.io"


def istio_gateway_api(side: str = "cluster") -> list[dict]:
    """An Istio Gateway with an attached HTTPRoute, a mesh route (parent Service), a cross-namespace grant."""
    salt = "asm" if side == "asm" else ""
    return [
        f.k8s_gateway("web", "edge", uid_salt=salt),
        f.k8s_route("HTTPRoute", "shop", "shop", [{"name": "web", "namespace": "edge"}], uid_salt=salt),
        f.k8s_route("HTTPRoute", "cart-canary", "shop", [{"group": "", "kind": "Service", "name": "cart"}],
                    backend="cart-v2", uid_salt=salt),
        f.reference_grant("from-shop", "edge", "HTTPRoute", "shop", uid_salt=salt),
    ]


def alb_gateway_api() -> list[dict]:
    """ALB's Gateway API implementation: not Istio's, never asked of ASM."""
    return [f.gateway_class("alb", "gateways.alibabacloud.com/alb/v1"),
            f.k8s_gateway("public", "edge", "alb"),
            f.k8s_route("HTTPRoute", "public-shop", "shop", [{"name": "public", "namespace": "edge"}]),
            f.reference_grant("from-public", "other", "HTTPRoute", "public-ns")]


# ---------------------------------------------------------------- istio-config-imported
def test_istio_gateway_api_objects_on_asm_pass_and_other_classes_are_left_out(audit):
    cluster = [f.gateway_class("istio"), *istio_gateway_api(), *alb_gateway_api()]
    a = audit({"cluster-a": cluster}, "uninstall", asm=istio_gateway_api("asm"))
    (row,) = a.rows(IMPORT)
    assert (row["status"], row["code"]) == ("PASS", "AA2104")  # equal, and other classes' objects left out
    assert row["evidence"]["by_kind"] == {GW: 1, HTTP: 2, "ReferenceGrant.gateway.networking.k8s.io": 1}
    assert sorted(row["evidence"]["skipped"]) == [
        "Gateway.gateway.networking.k8s.io edge/public (class 'alb': not Istio's)",
        "HTTPRoute.gateway.networking.k8s.io shop/public-shop (parents not Istio's: Gateway edge/public)",
        "ReferenceGrant.gateway.networking.k8s.io other/from-public (grants nothing to an Istio Gateway or route)"]


def test_other_classes_left_out_when_served_from_asm_or_nothing_to_import(audit):
    """The PASS says which objects were left out also when ASM serves the cluster's objects, or none are Istio's."""
    served = audit({"cluster-a": [f.gateway_class("istio"), *istio_gateway_api(), *alb_gateway_api()]}, "uninstall",
                   asm=istio_gateway_api(), config=f.only_checks(IMPORT))
    only_alb = audit({"cluster-a": alb_gateway_api()}, "uninstall", asm=[], config=f.only_checks(IMPORT))
    assert [(r["status"], r["code"]) for r in served.rows(IMPORT)] == [("PASS", "AA2105")]
    assert served.rows(IMPORT)[0]["evidence"]["served_from_asm"] == 4
    assert [(r["status"], r["code"]) for r in only_alb.rows(IMPORT)] == [("PASS", "AA2106")]


def test_gateway_api_routes_missing_or_different_on_asm_fail(audit):
    """On main these objects were not read at all: the check PASSed with nothing to import (a false GO)."""
    asm = istio_gateway_api("asm")
    asm[0]["spec"]["listeners"][0]["hostname"] = "*.other.example.com"
    del asm[1]  # the attached HTTPRoute never imported
    a = audit({"cluster-a": [f.gateway_class("istio"), *istio_gateway_api()]}, "uninstall", asm=asm,
              config=f.only_checks(IMPORT))
    rows = a.by_name(IMPORT)
    assert set(rows) == {"web", "shop"}
    assert rows["shop"]["status"] == "FAIL" and rows["shop"]["kind"] == HTTP
    assert (rows["shop"]["code"], rows["web"]["code"]) == ("AA2110", "AA2112")  # missing; differs
    command = rows["shop"]["remediation"]
    assert "-n shop get httproutes.gateway.networking.k8s.io" in command and " -o json | jq " in command
    assert command.endswith('kubectl --kubeconfig="${ASM_KUBECONFIG:?}" apply -f -')
    assert rows["web"]["status"] == "FAIL" and rows["web"]["kind"] == GW
    assert [d["path"] for d in rows["web"]["evidence"]["diff"]] == ["spec.listeners[0].hostname"]
    assert a.result.exit_code == 1


def test_asm_without_gateway_api_fails_and_says_to_enable_it(audit):
    a = audit({"cluster-a": [f.gateway_class("istio"), *istio_gateway_api()]}, "uninstall", asm=[],
              unreadable={"asm": {kind: "not-served" for kind in K.GATEWAY_API_KINDS}})
    rows = a.rows(IMPORT)
    assert [(r["status"], r["code"]) for r in rows] == [("FAIL", "AA2111")] * 4


def test_class_that_cannot_be_read_is_unknown_builtin_istio_class_still_compared(audit):
    custom = f.k8s_gateway("internal", "edge", "corp-gateways")
    custom_route = f.k8s_route("HTTPRoute", "internal", "shop", [{"name": "internal", "namespace": "edge"}])
    a = audit({"cluster-a": [*istio_gateway_api(), custom, custom_route]}, "uninstall",
              asm=istio_gateway_api("asm"),
              unreadable={"cluster-a": {K.K8S_GATEWAYCLASS: "forbidden: cannot list gatewayclasses"}},
              config=f.only_checks(IMPORT))
    rows = a.rows(IMPORT)
    assert sorted((r["status"], r["kind"]) for r in rows) == [
        ("UNKNOWN", GW), ("UNKNOWN", HTTP), ("UNKNOWN", "ReferenceGrant.gateway.networking.k8s.io")]
    gw_row = next(r for r in rows if r["kind"] == GW)
    assert gw_row["code"] == "AA2130"
    assert "edge/internal: GatewayClass 'corp-gateways' cannot be read (could not read GatewayClass" in (
        gw_row["message"])
    assert a.result.exit_code == 3


def test_custom_class_of_istio_controller_is_istio(audit):
    """A user-made GatewayClass pointing at istiod's controller: its Gateways are Istio's configuration."""
    gw = f.k8s_gateway("internal", "edge", "corp-istio")
    a = audit({"cluster-a": [f.gateway_class("corp-istio", "istio.io/gateway-controller"), gw]}, "uninstall",
              asm=[])
    (row,) = a.rows(IMPORT)
    assert (row["status"], row["kind"], row["name"]) == ("FAIL", GW, "internal")


def test_cluster_without_gateway_api_crds_has_nothing_to_import(audit):
    """Not served (no CRDs) is a known answer: none there. ASM is not even needed."""
    a = audit({"cluster-a": [f.istiod()]}, "uninstall",
              unreadable={"cluster-a": {kind: "not-served" for kind in K.GATEWAY_API_KINDS}})
    (row,) = a.rows(IMPORT)
    assert (row["status"], row["code"]) == ("PASS", "AA2103")



def agentgateway(name: str, namespace: str) -> dict:
    """A Gateway of istiod's built-in class istio-agentgateway (1.29 on: classinfo.go @1.30.3, BuiltinGatewayClasses +
    AgentgatewayClasses; the "agentgateway" case of gatewaycommon/deploymentcontroller_test.go @1.30.3: one HTTP
    listener on port 80)."""
    gw = f.k8s_gateway(name, namespace, "istio-agentgateway")
    gw["spec"]["listeners"] = [{"name": "http", "port": 80, "protocol": "HTTP"}]
    return gw


def test_agentgateway_class_is_istios_before_its_gatewayclass_is_read(audit):
    """istiod serves (and creates) the class istio-agentgateway as it does istio: its Gateways and routes are Istio's
    configuration even when its GatewayClass object is not there (main: "class 'istio-agentgateway': not Istio's",
    so nothing to import: a PASS while the routes were never imported, a false GO)."""
    ai = agentgateway("ai", "edge")
    route = f.k8s_route("HTTPRoute", "llm", "shop", [{"name": "ai", "namespace": "edge"}])
    a = audit({"cluster-a": [f.gateway_class("istio"), ai, route]}, "uninstall", asm=[], config=f.only_checks(IMPORT))
    assert sorted((r["status"], r["kind"], r["name"]) for r in a.rows(IMPORT)) == [("FAIL", GW, "ai"),
                                                                                  ("FAIL", HTTP, "llm")]

# ---------------------------------------------------------------- istio-residue (finished gate)
def residue_rows(a) -> dict[tuple[str, str], dict]:
    return {(r["kind"], r["name"]): r for r in a.rows(RESIDUE)}


def test_gateway_api_gateway_and_its_istio_deployment_left_fail(audit):
    """On main the `web-istio` Deployment was kept as 'owned by Gateway/web': a false GO after uninstall."""
    web = f.k8s_gateway("web", "edge")
    legacy = f.k8s_gateway("old", "edge")  # made by Istio 1.16: Deployment named after the Gateway
    objects = [f.gateway_class("istio"), web, *f.gateway_api_deployment(web), legacy,
               *f.gateway_api_deployment(legacy, legacy=True)]
    a = audit({"cluster-a": objects}, "finished", asm=[], config=f.only_checks(RESIDUE))
    rows = residue_rows(a)
    assert set(rows) == {("Deployment", "web-istio"), ("Deployment", "old"), ("GatewayClass", "istio")}
    web_row = rows[("Deployment", "web-istio")]
    assert (web_row["status"], web_row["code"], web_row["namespace"]) == ("FAIL", "AA2311", "edge")
    assert web_row["evidence"]["deployments"] == ["web-istio"]
    # One delete per line: the Deployment, its Service, then the Gateway (object syntax left to mesh/_delete).
    lines = web_row["remediation"].splitlines()
    assert len(lines) == 3
    assert all(line.startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n edge delete ') for line in lines)
    for line, (resource, name) in zip(lines, [("deployment", "web-istio"), ("service", "web-istio"),
                                              ("gateways.gateway.networking.k8s.io", "web")], strict=True):
        assert resource in line and name in line
    assert lines[2].endswith("# the Gateway itself (its Deployment and Service go with it): only after "
                             "istio-config-imported passes")
    assert rows[("Deployment", "old")]["status"] == "FAIL"
    gc = rows[("GatewayClass", "istio")]
    assert (gc["status"], gc["code"]) == ("WARN", "AA2324")
    assert a.result.exit_code == 1


def test_istio_gateway_without_deployment_and_orphaned_deployment(audit):
    remote = f.k8s_gateway("eastwest", "istio-system", "istio-remote")  # istio-remote never deploys anything
    gone = f.k8s_gateway("gone", "edge")
    orphans = f.gateway_api_deployment(gone)  # Gateway deleted with --cascade=orphan
    a = audit({"cluster-a": [remote, *orphans]}, "finished", asm=[], config=f.only_checks(RESIDUE))
    rows = residue_rows(a)
    assert set(rows) == {("Gateway.gateway.networking.k8s.io", "eastwest"), ("Deployment", "gone-istio")}
    eastwest, orphan = rows[("Gateway.gateway.networking.k8s.io", "eastwest")], rows[("Deployment", "gone-istio")]
    assert (eastwest["status"], eastwest["code"]) == ("WARN", "AA2323")
    assert (orphan["status"], orphan["code"]) == ("FAIL", "AA2312")  # its Gateway is gone


def test_only_the_service_istiod_made_is_left_warns(audit):
    """The Deployment deleted, its Service kept: inert, a WARN; with and without its Gateway."""
    web, gone = f.k8s_gateway("web", "edge"), f.k8s_gateway("gone", "edge")
    services = [f.gateway_api_deployment(web)[2], f.gateway_api_deployment(gone)[2]]
    a = audit({"cluster-a": [f.gateway_class("istio"), web, *services]}, "finished", asm=[],
              config=f.only_checks(RESIDUE))
    rows = residue_rows(a)
    assert (rows[("Service", "web-istio")]["status"], rows[("Service", "web-istio")]["code"]) == ("WARN", "AA2321")
    assert (rows[("Service", "gone-istio")]["status"], rows[("Service", "gone-istio")]["code"]) == ("WARN", "AA2322")


def test_asm_and_other_classes_gateway_api_objects_are_not_residue(audit):
    web = f.k8s_gateway("web", "edge")
    alb = f.k8s_gateway("public", "edge", "alb")
    alb_deployment = f.deployment("public-alb", "edge")  # ALB's controller: no gateway.istio.io/managed
    allowed = f.k8s_gateway("internal", "edge")
    objects = [f.gateway_class("alb", "gateways.alibabacloud.com/alb/v1"), alb, *alb_deployment,
               web, *(asm_gw := f.gateway_api_deployment(web, asm=True)),
               *f.workload_pods((asm_gw[0], asm_gw[1]), 2, proxy="asm", gateway=True), allowed]
    a = audit({"cluster-a": objects}, "finished", asm=[],
              config={**f.only_checks(RESIDUE),
                      "residue": {"allow": ["Gateway.gateway.networking.k8s.io/edge/internal"]}})
    (row,) = a.rows(RESIDUE)
    assert row["status"] == "PASS"
    kept = row["evidence"]["kept_as_asm_or_allowed"]
    assert "Deployment edge/web-istio: ASM's Gateway API gateway" in kept
    assert "Service edge/web-istio: ASM's Gateway API gateway" in kept
    assert ("Gateway.gateway.networking.k8s.io edge/internal: config residue.allow "
            "'Gateway.gateway.networking.k8s.io/edge/internal'") in kept


def test_unreadable_gateway_api_is_unknown_not_clean(audit):
    web = f.k8s_gateway("web", "edge")
    a = audit({"cluster-a": [web, *f.gateway_api_deployment(web)]}, "finished", asm=[],
              unreadable={"cluster-a": {K.K8S_GATEWAY: "forbidden: cannot list gateways.gateway.networking.k8s.io"}},
              config=f.only_checks(RESIDUE))
    rows = a.rows(RESIDUE)
    assert [r["status"] for r in rows] == ["UNKNOWN"]
    assert rows[0]["message"].startswith("gateway api: could not read Gateway in cluster-a: forbidden")
    assert a.result.exit_code == 3


def test_no_gateway_api_crds_is_clean(audit):
    a = audit({"cluster-a": [f.namespace("shop")]}, "finished", asm=[],
              unreadable={"cluster-a": {kind: "not-served" for kind in K.GATEWAY_API_KINDS}},
              config=f.only_checks(RESIDUE))
    assert a.statuses(RESIDUE) == ["PASS"]


def test_agentgateway_gatewayclass_left_after_uninstall_is_residue(audit):
    """The GatewayClass istio-agentgateway is istiod's own (1.29 on: classinfo.go @1.30.3, created by
    gatewaycommon/gatewayclass.go for every built-in class): left after uninstall, no controller serves it (main:
    not a built-in name, so not looked at: a clean PASS)."""
    a = audit({"cluster-a": [f.gateway_class("istio-agentgateway")]}, "finished", asm=[], config=f.only_checks(RESIDUE))
    gc = residue_rows(a)[("GatewayClass", "istio-agentgateway")]
    assert (gc["status"], gc["code"]) == ("WARN", "AA2324")
