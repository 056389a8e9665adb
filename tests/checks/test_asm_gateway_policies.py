"""asm-gateways-present at the uninstall gate: the policies that guard Istio's gateway must guard ASM's gateway too
(red20k; main compared what ASM's gateway serves, hosts, ports, certificates and routes, and nothing of the policies
applied to Istio's gateway pods: PASS AA1701, a GO, in each FAIL and UNKNOWN case below).

What istiod applies to a gateway proxy: the AuthorizationPolicies, RequestAuthentications, EnvoyFilters and WasmPlugins
of the pod's own namespace and of the root namespace (meshConfig.rootNamespace, istio-system by default) whose
selector (EnvoyFilter: workloadSelector.labels) is a subset of the pod's labels, or that have none (istio/istio@1.24.6
and @1.30.3: pilot/pkg/model/authorization.go ListAuthorizationPolicies, pilot/pkg/model/authentication.go
getConfigsForWorkload, pilot/pkg/model/push_context.go EnvoyFilters/getMatchedEnvoyFilters and
WasmPluginsByListenerInfo). A policy with targetRefs applies only to the pods of the Gateway API Gateway it names (label
gateway.networking.k8s.io/gateway-name); such pods also take selector policies by default
(pilot/pkg/model/policyattachment.go ShouldAttachPolicy; pilot/pkg/features/pilot.go
ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY true @1.24.6).

Shapes, as istio.io's tasks write them (istio/istio.io content/en/docs/tasks/...):
- security/authorization/authz-ingress/snips.sh: AuthorizationPolicy istio-system/ingress-policy, selector
  `app: istio-ingressgateway`, ALLOW from ipBlocks (and the DENY variant);
- security/authentication/authn-policy/snips.sh: RequestAuthentication istio-system/jwt-example and AuthorizationPolicy
  istio-system/frontend-ingress (DENY notRequestPrincipals ["*"]), selector `istio: ingressgateway`;
- security/authorization/authz-custom: action CUSTOM with provider sample-ext-authz-grpc (put on the ingress gateway);
- policy-enforcement/rate-limit/snips.sh: EnvoyFilter istio-system/filter-ratelimit, workloadSelector
  `istio: ingressgateway`, and filter-local-ratelimit-svc in istio-system selecting `app: productpage` (no gateway);
- extensibility/wasm-module-distribution/snips.sh: WasmPlugin istio-system/basic-auth, selector `istio: ingressgateway`.

ASM's gateway pods carry the labels of their IstioGateway (`istio: ingressgateway-asm`, `app: istio-ingressgateway-asm`
for `ingressgateway-asm`, the name ASM's migration topic asks for: alibabacloud.com/help/en/asm/use-cases/migrate-
traffic-from-a-self-managed-istio-ingress-gateway-to-an-asm-ingress-gateway-1; tests/factory.py gateway_deployment with
asm=True). The Istio config is in the cluster and imported on the ASM control plane (same objects, as
tests/checks/test_asm_gateway_routes_bound.py run()); Gateways and VirtualServices are bound to both gateways there, so
only the policies are under test.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor import gateways
from auditor import kinds as K
from tests import factory as f
from tests.checks.test_asm_gateway_hosts_ports import ASM_CR, ONLY, istio_ingress
from tests.checks.test_asm_gateway_routes_bound import (
    asm_gateway_service,
    bookinfo_vs,
    http_server,
    istio_and_asm_gateways,
)
from tests.checks.test_gateways import asm_side

CHECK = "asm-gateways-present"
PASS = ("PASS", "AA1701")
UNGUARDED = ("FAIL", "AA1725")
UNREAD = ("UNKNOWN", "AA1752")
ISTIO_APP = {"app": "istio-ingressgateway"}
ISTIO = {"istio": "ingressgateway"}
ASM_APP = {"app": "istio-ingressgateway-asm"}
ASM = {"istio": "ingressgateway-asm"}
FORBIDDEN = "forbidden: authorizationpolicies.security.istio.io is forbidden"


def served() -> list[dict[str, Any]]:
    """The Gateways and the VirtualService bound to both gateways (tests/checks/test_asm_gateway_routes_bound.py)."""
    return [*istio_and_asm_gateways(http_server(["*"])),
            bookinfo_vs(["istio-system/ingressgateway", "istio-system/asm-ingress"])]


def policy(kind: str, name: str, spec: dict[str, Any], namespace: str = "istio-system") -> dict[str, Any]:
    return f.istio_object(kind, name, namespace, spec)


def ingress_policy(labels: dict[str, str] | None = None, action: str = "ALLOW") -> dict[str, Any]:
    """authz-ingress: the IP allow-list (or deny-list) on the ingress gateway."""
    return policy("AuthorizationPolicy", "ingress-policy", {
        "selector": {"matchLabels": labels or ISTIO_APP}, "action": action,
        "rules": [{"from": [{"source": {"ipBlocks": ["1.2.3.4", "5.6.7.0/24"]}}]}]})


def jwt_example(labels: dict[str, str] | None = None) -> dict[str, Any]:
    """authn-policy: the ingress gateway validates JWTs of testing@secure.istio.io."""
    return policy("RequestAuthentication", "jwt-example", {
        "selector": {"matchLabels": labels or ISTIO},
        "jwtRules": [{"issuer": "testing@secure.istio.io",
                      "jwksUri": "https://raw.githubusercontent.com/istio/istio/master/security/tools/jwt/samples/"
                                 "jwks.json"}]})


def frontend_ingress(labels: dict[str, str] | None = None) -> dict[str, Any]:
    """authn-policy: requests without a valid token are denied at the ingress gateway."""
    return policy("AuthorizationPolicy", "frontend-ingress", {
        "selector": {"matchLabels": labels or ISTIO}, "action": "DENY",
        "rules": [{"from": [{"source": {"notRequestPrincipals": ["*"]}}]}]})


def ext_authz(labels: dict[str, str] | None = None) -> dict[str, Any]:
    """authz-custom's CUSTOM policy (provider sample-ext-authz-grpc), on the ingress gateway."""
    return policy("AuthorizationPolicy", "ext-authz", {
        "selector": {"matchLabels": labels or ISTIO}, "action": "CUSTOM",
        "provider": {"name": "sample-ext-authz-grpc"}, "rules": [{"to": [{"operation": {"paths": ["/headers"]}}]}]})


def filter_ratelimit(labels: dict[str, str] | None = None, name: str = "filter-ratelimit") -> dict[str, Any]:
    """rate-limit: the global rate limit filter on the ingress gateway (its patch trimmed to what tells it apart)."""
    return policy("EnvoyFilter", name, {
        "workloadSelector": {"labels": labels or ISTIO},
        "configPatches": [{"applyTo": "HTTP_FILTER",
                           "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {
                               "name": "envoy.filters.network.http_connection_manager",
                               "subFilter": {"name": "envoy.filters.http.router"}}}}},
                           "patch": {"operation": "INSERT_BEFORE", "value": {
                               "name": "envoy.filters.http.ratelimit",
                               "typed_config": {
                                   "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
                                   "domain": "ratelimit", "failure_mode_deny": True, "timeout": "10s"}}}}]})


def basic_auth(labels: dict[str, str] | None = None) -> dict[str, Any]:
    """wasm-module-distribution: basic auth on /productpage at the ingress gateway."""
    return policy("WasmPlugin", "basic-auth", {
        "selector": {"matchLabels": labels or ISTIO},
        "url": "oci://ghcr.io/istio-ecosystem/wasm-extensions/basic_auth:1.12.0", "phase": "AUTHN",
        "pluginConfig": {"basic_auth_rules": [{"prefix": "/productpage", "request_methods": ["GET", "POST"],
                                               "credentials": ["ok:test", "YWRtaW4zOmFkbWluMw=="]}]}})


def run(audit, cluster_config: list[dict[str, Any]], asm_config: list[dict[str, Any]] | None = None, **kw: Any):
    """The policies in the cluster and on the ASM control plane (the same objects unless `asm_config` says)."""
    cluster = [*istio_ingress(), *asm_gateway_service(), *served(), *cluster_config]
    there = cluster_config if asm_config is None else asm_config
    return audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, *served(), *there), **kw)


def codes(a) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in a.rows(CHECK))


def row(a, code: tuple[str, str]) -> dict[str, Any]:
    [found] = [r for r in a.rows(CHECK) if (r["status"], r["code"]) == code]
    return found


# ---------------------------------------------------------------- imported as they are: they guard Istio's pods only
@pytest.mark.parametrize("make", [ingress_policy, lambda: ingress_policy(action="DENY"), frontend_ingress, ext_authz,
                                  jwt_example, filter_ratelimit, basic_auth],
                         ids=["allow-ipblocks", "deny-ipblocks", "deny-no-jwt", "custom-ext-authz",
                              "request-authentication", "envoyfilter-ratelimit", "wasmplugin-basic-auth"])
def test_a_policy_imported_with_istios_selector_guards_nothing_on_asms_gateway(audit, make):
    obj = make()
    a = run(audit, [obj])
    assert codes(a) == [UNGUARDED]
    found = row(a, UNGUARDED)
    assert found["severity"] == "blocker" and found["name"] == "istio-ingressgateway"
    meta = obj["metadata"]
    assert [(p["kind"], p["namespace"], p["name"]) for p in found["evidence"]["policies_unguarded"]] == [
        (obj["kind"], meta["namespace"], meta["name"])]
    assert found["evidence"]["asm_pod_labels"]["istio"] == "ingressgateway-asm"
    assert a.result.verdict == "NO-GO"


def test_the_jwt_pair_of_the_docs_is_named_together(audit):
    a = run(audit, [jwt_example(), frontend_ingress()])
    assert codes(a) == [UNGUARDED]
    assert sorted(p["name"] for p in row(a, UNGUARDED)["evidence"]["policies_unguarded"]) == [
        "frontend-ingress", "jwt-example"]


# ---------------------------------------------------------------- a counterpart on ASM's pods keeps the guard
def test_copies_repointed_at_asms_pods_on_the_asm_control_plane_pass(audit):
    istio_side = [ingress_policy(), jwt_example(), frontend_ingress(), filter_ratelimit(), basic_auth()]
    asm_copies = [ingress_policy(ASM_APP), jwt_example(ASM), frontend_ingress(ASM), filter_ratelimit(ASM),
                  basic_auth(ASM)]
    a = run(audit, istio_side, asm_copies)
    assert codes(a) == [PASS]
    assert a.result.verdict == "GO"


def test_a_counterpart_of_another_name_beside_the_imported_copy_passes(audit):
    """The imported copy left as it is, and a second one of the same spec selecting ASM's pods."""
    twin = filter_ratelimit(ASM, name="filter-ratelimit-asm")
    a = run(audit, [filter_ratelimit()], [filter_ratelimit(), twin])
    assert codes(a) == [PASS]


def test_a_selector_that_picks_both_gateways_is_its_own_counterpart(audit):
    """No selector in the root namespace: every proxy of the mesh, ASM's gateway included (ASM's root namespace is
    istio-system too)."""
    mesh_wide = policy("AuthorizationPolicy", "deny-bad-agents", {
        "action": "DENY", "rules": [{"when": [{"key": "request.headers[User-Agent]", "values": ["BadBot*"]}]}]})
    a = run(audit, [mesh_wide])
    assert codes(a) == [PASS]


def test_a_counterpart_with_another_spec_is_no_counterpart(audit):
    looser = ingress_policy(ASM_APP)
    looser["spec"]["rules"][0]["from"][0]["source"]["ipBlocks"] = ["0.0.0.0/0"]
    a = run(audit, [ingress_policy()], [looser])
    assert codes(a) == [UNGUARDED]


def test_a_counterpart_in_a_namespace_asms_gateway_does_not_read_is_no_counterpart(audit):
    """istiod reads a proxy's own namespace and the root namespace only: the same policy in `shop` reaches no gateway
    pod of istio-system."""
    elsewhere = ingress_policy(ASM_APP)
    elsewhere["metadata"]["namespace"] = "shop"
    a = run(audit, [ingress_policy()], [elsewhere])
    assert codes(a) == [UNGUARDED]


def test_a_counterpart_left_only_in_the_cluster_is_no_counterpart(audit):
    """ASM's istiod reads the ASM control plane: a copy repointed in the data-plane cluster guards nothing there."""
    repointed = ingress_policy(ASM_APP)
    repointed["metadata"]["name"] = "ingress-policy-asm"
    cluster = [*istio_ingress(), *asm_gateway_service(), *served(), ingress_policy(), repointed]
    a = audit({"cluster-a": cluster}, "uninstall", config=ONLY, asm=asm_side(ASM_CR, *served(), ingress_policy()))
    assert codes(a) == [UNGUARDED]


# ---------------------------------------------------------------- what does not guard Istio's gateway is not asked for
def test_policies_of_other_workloads_are_not_asked_for(audit):
    """rate-limit's local filter sits in istio-system but selects productpage; an httpbin policy of foo reaches no
    gateway of istio-system."""
    local = policy("EnvoyFilter", "filter-local-ratelimit-svc", {
        "workloadSelector": {"labels": {"app": "productpage"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {"context": "SIDECAR_INBOUND"},
                           "patch": {"operation": "INSERT_BEFORE",
                                     "value": {"name": "envoy.filters.http.local_ratelimit"}}}]})
    httpbin = policy("AuthorizationPolicy", "ext-authz", {
        "selector": {"matchLabels": {"app": "httpbin"}}, "action": "CUSTOM",
        "provider": {"name": "sample-ext-authz-grpc"}, "rules": [{"to": [{"operation": {"paths": ["/headers"]}}]}]},
        namespace="foo")
    foo_wide = policy("AuthorizationPolicy", "allow-nothing", {}, namespace="foo")
    a = run(audit, [local, httpbin, foo_wide], [])
    assert codes(a) == [PASS]


def test_istios_installer_telemetry_filters_are_not_asked_for(audit):
    """The per-release stats filters Istio's installer wrote (istio/istio@1.16.7 manifests/charts/istio-control/
    istio-discovery/templates/telemetryv2_1.16.yaml: root namespace, no workloadSelector, proxyVersion ^1\\.16.*): ASM
    brings its own telemetry; envoyfilter-compatibility judges them."""
    stats = f.istio_object("EnvoyFilter", "stats-filter-1.16", "istio-system", {
        "priority": -1,
        "configPatches": [{"applyTo": "HTTP_FILTER",
                           "match": {"context": "GATEWAY", "proxy": {"proxyVersion": "^1\\.16.*"}},
                           "patch": {"operation": "INSERT_BEFORE", "value": {"name": "istio.stats"}}}]},
        labels={"istio.io/rev": "default"})
    a = run(audit, [stats], [])
    assert codes(a) == [PASS]


# ---------------------------------------------------------------- unread is UNKNOWN; not served is none
def test_policies_unread_on_the_asm_control_plane_are_unknown(audit):
    a = run(audit, [ingress_policy()], unreadable={"asm": {K.AUTHORIZATIONPOLICY: FORBIDDEN}})
    assert codes(a) == [UNREAD]
    found = row(a, UNREAD)
    assert found["evidence"]["policies_untold"][0]["name"] == "ingress-policy"
    assert a.result.verdict == "INCOMPLETE"


def test_policies_unread_in_the_cluster_are_unknown(audit):
    a = run(audit, [], [], unreadable={"cluster-a": {K.AUTHORIZATIONPOLICY: FORBIDDEN}})
    assert codes(a) == [UNREAD]


def test_a_kind_unread_on_asm_with_none_of_it_on_istios_gateway_says_nothing(audit):
    a = run(audit, [ingress_policy()], [ingress_policy(ASM_APP)], unreadable={"asm": {K.WASMPLUGIN: FORBIDDEN}})
    assert codes(a) == [PASS]


def test_a_crd_not_served_holds_no_policy(audit):
    """WasmPlugin's CRD not installed on either side: none applies, nothing is missing."""
    a = run(audit, [], [], unreadable={"cluster-a": {K.WASMPLUGIN: "not-served"}, "asm": {K.WASMPLUGIN: "not-served"}})
    assert codes(a) == [PASS]


def test_a_kind_not_served_on_asm_leaves_istios_policies_unguarded(audit):
    a = run(audit, [basic_auth()], [], unreadable={"asm": {K.WASMPLUGIN: "not-served"}})
    assert codes(a) == [UNGUARDED]


# ---------------------------------------------------------------- red21i: Telemetry, not PeerAuthentication or Sidecar
def gateway_access_logs(labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Access logs on the ingress gateway only: istio.io docs tasks/observability/logs/access-log (Telemetry API,
    accessLogging providers [envoy]) with the workload selector of tasks/observability/telemetry-api
    (istio/api@1.30.3 telemetry/v1alpha1/telemetry.proto: selector.matchLabels)."""
    return policy("Telemetry", "gateway-access-logs", {
        "selector": {"matchLabels": labels or ISTIO}, "accessLogging": [{"providers": [{"name": "envoy"}]}]})


def test_a_telemetry_imported_with_istios_selector_leaves_asms_gateway_without_access_logs(audit):
    """istiod applies Telemetry by selector to gateways too (pilot/pkg/model/telemetry.go applicableTelemetries
    @1.24.6): imported as it is, ASM's gateway writes no access log. Before: PASS AA1701, GO."""
    a = run(audit, [gateway_access_logs()])
    assert codes(a) == [UNGUARDED]
    assert [p["kind"] for p in row(a, UNGUARDED)["evidence"]["policies_unguarded"]] == ["Telemetry"]
    assert a.result.verdict == "NO-GO"


def test_a_telemetry_repointed_at_asms_pods_passes(audit):
    a = run(audit, [gateway_access_logs()], [gateway_access_logs(ASM)])
    assert codes(a) == [PASS]


def test_a_telemetry_counterpart_spelling_out_what_is_unset_passes(audit):
    """review21d: ASM's counterpart writing `disabled: false` (the bool's unset value, telemetry.proto) was FAIL
    AA1725 beside Istio's that leaves it out."""
    theirs = gateway_access_logs(ASM)
    theirs["spec"]["accessLogging"][0]["disabled"] = False
    theirs["spec"]["tracing"] = []
    a = run(audit, [gateway_access_logs()], [theirs])
    assert codes(a) == [PASS]


def test_a_telemetry_that_only_switches_access_logs_off_needs_no_counterpart(audit):
    """Losing a Telemetry whose every entry is `disabled: true` removes no log nor guard (review21d: FAIL AA1725)."""
    off = policy("Telemetry", "gateway-no-access-logs", {
        "selector": {"matchLabels": ISTIO}, "accessLogging": [{"disabled": True}]})
    a = run(audit, [off], [])
    assert codes(a) == [PASS]


def test_peer_authentication_and_sidecar_on_the_gateway_are_not_asked_for(audit):
    """A gateway's servers take their TLS from the Gateway (PeerAuthentication builds sidecars' inbound only: authn
    InboundMTLSSettings, listener_inbound.go), and a gateway always has the default Sidecar scope (push_context.go
    getSidecarScope @1.24.6). Shapes: istio.io tasks/security/authentication/authn-policy (STRICT, port-level) and
    reference/config/networking/sidecar (workloadSelector)."""
    strict = policy("PeerAuthentication", "gateway-strict", {
        "selector": {"matchLabels": ISTIO}, "mtls": {"mode": "STRICT"},
        "portLevelMtls": {"15443": {"mode": "DISABLE"}}})
    sidecar = policy("Sidecar", "gateway-egress", {
        "workloadSelector": {"labels": ISTIO}, "egress": [{"hosts": ["./*", "istio-system/*"]}]})
    a = run(audit, [strict, sidecar], [])
    assert codes(a) == [PASS]


def test_a_root_namespace_telemetry_with_a_selector_reaches_its_own_namespace_only():
    """applicableTelemetries takes of the root namespace only the namespace-wide Telemetry: one with a selector there
    reaches no gateway of another namespace (a counterpart there guards nothing)."""
    def telemetry(selector: dict[str, str] | None) -> Any:
        return gateways.GatewayPolicy("Telemetry", "istio-system", "t", tuple(sorted(selector.items()))
                                      if selector is not None else None, (), "{}")
    roots = ("istio-system",)
    assert gateways.policy_applies(telemetry(ASM), "istio-system", ASM, roots)
    assert not gateways.policy_applies(telemetry(ASM), "asm-gateways", ASM, roots)
    assert gateways.policy_applies(telemetry(None), "asm-gateways", ASM, roots)


# ---------------------------------------------------------------- attachment, as ShouldAttachPolicy reads it
def gp(selector: dict[str, str] | None = None, targets: tuple[tuple[str, str, str, str], ...] = (),
       namespace: str = "istio-system") -> Any:
    return gateways.GatewayPolicy("AuthorizationPolicy", namespace, "p", tuple(sorted((selector or {}).items()))
                         if selector is not None else None, targets, "{}")


def test_policy_attachment_follows_istiod():
    policy_applies = gateways.policy_applies  # new in red20k (imported here: the file runs on main too)
    istio_pod = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    gw_pod = {"gateway.networking.k8s.io/gateway-name": "httpbin-gateway", "istio.io/gateway-name": "httpbin-gateway"}
    to_gateway = (("gateway.networking.k8s.io", "Gateway", "httpbin-gateway", ""),)
    roots = ("istio-system",)
    assert policy_applies(gp(ISTIO), "istio-system", istio_pod, roots)
    assert policy_applies(gp(None), "istio-system", istio_pod, roots)  # no selector: every pod it reaches
    assert not policy_applies(gp({"istio": "ingressgateway", "x": "y"}), "istio-system", istio_pod, roots)
    assert policy_applies(gp(ISTIO), "gw", istio_pod, roots)  # the root namespace's reach every namespace
    assert not policy_applies(gp(ISTIO, namespace="shop"), "gw", istio_pod, roots)
    # targetRefs: ignored by a pod of no Gateway API Gateway, the way into one's pods
    assert not policy_applies(gp(None, to_gateway), "istio-system", istio_pod, roots)
    assert policy_applies(gp(None, to_gateway, namespace="foo"), "foo", gw_pod, roots)
    assert not policy_applies(gp(None, (("gateway.networking.k8s.io", "Gateway", "other", ""),), namespace="foo"),
                              "foo", gw_pod, roots)
    # authz-ingress's Gateway API variant: a selector on istio.io/gateway-name (selector policies on, by default)
    assert policy_applies(gp({"istio.io/gateway-name": "httpbin-gateway"}, namespace="foo"), "foo", gw_pod, roots)


def test_the_lookup_is_indexed_not_a_walk_of_every_policy(audit, monkeypatch):
    """Thousands of workload policies in the application namespaces: the gateway reads its two namespaces, and its
    counterparts by spec."""
    calls = [0]
    real = gateways.policy_applies

    def counted(*args: Any, **kw: Any) -> bool:
        calls[0] += 1
        return real(*args, **kw)

    monkeypatch.setattr(gateways, "policy_applies", counted)
    many = [policy("AuthorizationPolicy", f"app-{i}", {"selector": {"matchLabels": {"app": f"app-{i}"}},
                                                       "action": "ALLOW", "rules": [{}]}, namespace=f"ns-{i % 50}")
            for i in range(2000)]
    a = run(audit, [*many, ingress_policy()], [*many, ingress_policy(ASM_APP)])
    assert codes(a) == [PASS]
    assert calls[0] <= 10


# ---------------------------------------------------------------- review20b
def test_a_counterpart_spelling_out_the_default_action_is_a_counterpart(audit):
    """AuthorizationPolicy.action defaults to ALLOW (istio/api security/v1beta1 authorization.proto: ALLOW = 0): a twin
    that writes it is the same policy. Before: FAIL AA1725."""
    implicit = ingress_policy()
    del implicit["spec"]["action"]
    twin = ingress_policy(ASM_APP)
    twin["metadata"]["name"] = "ingress-policy-asm"
    a = run(audit, [implicit], [implicit, twin])
    assert codes(a) == [PASS]


def test_a_counterpart_being_deleted_is_none(audit):
    """deletionTimestamp with a finalizer (`kubectl delete --cascade=foreground`: apiserver registry/generic/registry/
    store.go keeps it): going, it guards nothing once gone. Before: PASS AA1701."""
    twin = filter_ratelimit(ASM, name="filter-ratelimit-asm")
    twin["metadata"].update(deletionTimestamp="2026-12-07T05:00:00Z", deletionGracePeriodSeconds=0,
                            finalizers=["foregroundDeletion"])
    a = run(audit, [filter_ratelimit()], [filter_ratelimit(), twin])
    assert codes(a) == [UNGUARDED]


def test_a_counterpart_labelled_with_a_revision_is_untold(audit):
    """istio.io/rev on a config object: istiod serves it to that revision only (pkg/config/model.go LabelsInRevision,
    istio/istio@1.30.3); ASM's revision name is on no object read (istio-config-imported AA2132). Before: PASS."""
    twin = filter_ratelimit(ASM, name="filter-ratelimit-asm")
    twin["metadata"].setdefault("labels", {})["istio.io/rev"] = "1-22-3"
    a = run(audit, [filter_ratelimit()], [filter_ratelimit(), twin])
    assert codes(a) == [("UNKNOWN", "AA1752")]
