"""mesh-config-parity through the real engine: Istio's mesh config of every revision against ASM's.

Istio's side is shaped as the istio-discovery chart renders it (istio/istio
manifests/charts/istio-control/istio-discovery/templates/configmap.yaml at tags 1.18.0 and 1.22.3: ConfigMap
`istio` / `istio-<rev>` labelled istio.io/rev, install.operator.istio.io/owning-resource, operator.istio.io/component
Pilot, release; key `mesh` with trustDomain "cluster.local", rootNamespace, defaultProviders.metrics [prometheus],
defaultConfig.discoveryAddress, and 1.18's default zipkin tracer). Extension providers, Telemetry and the CUSTOM
AuthorizationPolicy are those of Istio's docs (tasks "External Authorization" with sample-ext-authz-grpc,
"OpenTelemetry" tracing with otel-tracing). ASM's side: config asm.mesh_config, or DescribeServiceMeshDetail as
the servicemesh 2020-01-11 SDK models it (ServiceMesh.Spec.MeshConfig.OutboundTrafficPolicy, Proxy.EnableDNSProxying,
EnableLocalityLB, ExtraConfiguration.TerminationDrainDuration, ExtraConfiguration.DiscoverySelectors).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor import kinds as K
from auditor.cli.main import main
from auditor.config import load_config
from auditor.errors import UsageError
from tests import factory as f

CHECK = "mesh-config-parity"

MESH_1_22 = """\
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
"""
MESH_1_18_CANARY = """\
defaultConfig:
  discoveryAddress: istiod-canary.istio-system.svc:15012
  tracing:
    zipkin:
      address: zipkin.istio-system:9411
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
"""
# meshConfig.extensionProviders as Istio's docs install them (ext-authz and OpenTelemetry tasks).
PROVIDERS_YAML = """\
extensionProviders:
- name: sample-ext-authz-grpc
  envoyExtAuthzGrpc:
    service: ext-authz.foo.svc.cluster.local
    port: "9000"
- name: otel-tracing
  opentelemetry:
    port: 4317
    service: opentelemetry-collector.observability.svc.cluster.local
"""
# ASM's mesh config equal to MESH_1_22 + PROVIDERS_YAML on every compared field.
ASM_EQUAL: dict[str, Any] = {
    "trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"},
    "extensionProviders": [{"name": "sample-ext-authz-grpc", "envoyExtAuthzGrpc": {
        "service": "ext-authz.foo.svc.cluster.local", "port": "9000"}},
        {"name": "otel-tracing", "opentelemetry": {"port": 4317, "service": "otel.observability.svc.cluster.local"}}],
    "defaultConfig": {"holdApplicationUntilProxyStarts": False, "drainDuration": "45s",
                      "terminationDrainDuration": "5s", "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "false"}},
    "localityLbSetting": {"enabled": True},
}


def mesh_cm(mesh: str, revision: str = "default") -> dict[str, Any]:
    name = "istio" if revision == "default" else f"istio-{revision}"
    labels = {"istio.io/rev": revision, "install.operator.istio.io/owning-resource": "unknown",
              "operator.istio.io/component": "Pilot", "release": "istiod"}
    return f.configmap(name, "istio-system", {"mesh": mesh, "meshNetworks": "networks: {}"}, labels=labels)


def authz(name: str, namespace: str, principals: list[str]) -> dict[str, Any]:
    return f.istio_object("AuthorizationPolicy", name, namespace, {
        "selector": {"matchLabels": {"app": name}}, "action": "ALLOW",
        "rules": [{"from": [{"source": {"principals": principals}}], "to": [{"operation": {"methods": ["GET"]}}]}]})


def ext_authz() -> dict[str, Any]:
    return f.istio_object("AuthorizationPolicy", "ext-authz", "foo", {
        "selector": {"matchLabels": {"app": "httpbin"}}, "action": "CUSTOM",
        "provider": {"name": "sample-ext-authz-grpc"}, "rules": [{"to": [{"operation": {"paths": ["/headers"]}}]}]})


def telemetry(name: str, namespace: str, part: str, provider: str) -> dict[str, Any]:
    return f.istio_object("Telemetry", name, namespace, {part: [{"providers": [{"name": provider}]}]})


def cluster(mesh: str = MESH_1_22 + PROVIDERS_YAML, *extra: dict[str, Any], proxy: str = "istio"
            ) -> list[dict[str, Any]]:
    app = f.deployment("cart")
    return [f.namespace("shop", labels={"istio-injection": "enabled"}), f.istiod(), mesh_cm(mesh), *app,
            *f.workload_pods(app, 2, proxy=proxy), *extra]


def detail(**mesh_config: Any) -> dict[str, Any]:
    return {"DescribeServiceMeshDetail": {"ServiceMesh": {
        "ServiceMeshInfo": {"ServiceMeshId": "c3adfe9d5d949fb7fc79433dec16a6ecc",
                            "Version": "v1.24.6.62-g5c7e1f0b-aliyun"},
        "Spec": {"MeshConfig": mesh_config}}}}


def asm(mesh_config: Any) -> dict[str, Any]:
    return {"asm": {"mesh_config": mesh_config}}


def codes(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["status"], r["code"]) for r in rows)


# ---------------------------------------------------------------- PASS
def test_pass_names_what_was_compared(audit):
    objects = [authz("payments", "payments", ["cluster.local/ns/shop/sa/checkout"]), ext_authz(),
               telemetry("otel-demo", "istio-system", "tracing", "otel-tracing"),
               telemetry("mesh-default", "istio-system", "accessLogging", "envoy")]
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating",
              asm=[f.migration_cr("Migrating")], config=asm(ASM_EQUAL))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2401")
    assert sorted(row["evidence"]["compared"]) == [
        "defaultConfig.drainDuration", "defaultConfig.holdApplicationUntilProxyStarts",
        "defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE", "defaultConfig.terminationDrainDuration",
        "extensionProviders", "localityLbSetting", "localityLbSetting.enabled", "outboundTrafficPolicy.mode",
        "trustDomain"]
    assert "config asm.mesh_config" in row["message"] and "default (istio-system/istio)" in row["message"]


def test_asm_trust_domain_alias_accepts_istios(audit):
    # Every workload on ASM's proxy already: Istio's trust domains no longer have to accept ASM's.
    other = {**ASM_EQUAL, "trustDomain": "prod.example.com", "trustDomainAliases": ["cluster.local"]}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML,
                                    authz("payments", "payments", ["cluster.local/ns/shop/sa/checkout"]), proxy="asm")},
              "uninstall", config=asm(other))
    assert codes(a.rows(CHECK)) == [("PASS", "AA2401")]


def test_istios_proxies_must_accept_asms_trust_domain_while_they_run(audit):
    # Istio's server proxies accept a peer whose SAN is spiffe://<td>/ for td in trustDomain, trustDomainAliases and
    # caCertificates' trustDomains, exactly (TrustDomainsForValidation, pilot/pkg/networking/plugin/authn/util.go;
    # ApplyToCommonTLSContext, pilot/pkg/security/model/authentication.go @1.30.3), and its clients expect a
    # server's SANs in Istio's trust domain or aliases (push_context.go addServiceAccounts): an ASM trust domain that
    # aliases Istio's, but is not Istio's nor one of its aliases, breaks mTLS between the two while both run.
    other = {**ASM_EQUAL, "trustDomain": "prod.example.com", "trustDomainAliases": ["cluster.local"]}
    rows = audit({"cluster-a": cluster()}, "migrating", config=asm(other)).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2415")]
    assert (rows[0]["kind"], rows[0]["namespace"], rows[0]["name"]) == ("ConfigMap", "istio-system", "istio")
    assert (rows[0]["evidence"]["asm_value"], rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["proxies"]) == (
        "prod.example.com", "cluster.local", "2")
    assert rows[0]["remediation"].startswith("Add prod.example.com to Istio's trustDomainAliases")
    # Istio aliasing ASM's trust domain (meshConfig.trustDomainAliases), or trusting it through caCertificates.
    for extra in ("trustDomainAliases:\n- prod.example.com\n",
                  "caCertificates:\n- pem: |\n    -----BEGIN CERTIFICATE-----\n  trustDomains:\n"
                  "  - prod.example.com\n"):
        rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML + extra)}, "migrating",
                     config=asm(other)).rows(CHECK)
        assert codes(rows) == [("PASS", "AA2401")], extra
    # Pods not read: whether Istio's proxies remain cannot be told; they are assumed to, never a pass.
    rows = audit({"cluster-a": cluster()}, "migrating", config=asm(other),
                 unreadable={"cluster-a": {K.POD: "forbidden"}}).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2415")]
    assert rows[0]["evidence"]["proxies"] == "an unknown number of (pods not read)"


def test_durations_are_compared_by_value(audit):
    equal = {**ASM_EQUAL, "defaultConfig": {**ASM_EQUAL["defaultConfig"], "drainDuration": "0m45s"}}
    a = audit({"cluster-a": cluster()}, "migrating", config=asm(equal))
    assert codes(a.rows(CHECK)) == [("PASS", "AA2401")]


# ---------------------------------------------------------------- FAIL
def test_fail_when_asm_trust_domain_differs_names_config_and_policies(audit):
    other = {**ASM_EQUAL, "trustDomain": "prod.example.com"}
    objects = [authz("payments", "payments", ["cluster.local/ns/shop/sa/checkout", "*/ns/shop/sa/cart"]),
               authz("open", "shop", ["*"])]
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating", config=asm(other))
    rows = a.rows(CHECK)
    # Neither accepts the other's trust domain: ASM's proxies reject Istio's workloads (AA2410), Istio's ASM's (AA2415).
    assert codes(rows) == [("FAIL", "AA2410"), ("FAIL", "AA2411"), ("FAIL", "AA2415")]
    td = next(r for r in rows if r["code"] == "AA2410")
    assert (td["kind"], td["namespace"], td["name"]) == ("ConfigMap", "istio-system", "istio")
    assert "prod.example.com" in td["remediation"] or "cluster.local" in td["remediation"]
    policy = next(r for r in rows if r["code"] == "AA2411")
    assert (policy["kind"], policy["namespace"], policy["name"]) == ("AuthorizationPolicy", "payments", "payments")
    assert policy["evidence"]["rejected"] == ["cluster.local/ns/shop/sa/checkout"]  # `*/...` is not enforced


def test_a_wildcard_alias_accepts_principals_but_not_mtls_peers(audit):
    # ASM's aliases go into the inbound TLS context as written (spiffe://*-td/ matches no SAN): Istio's workloads of
    # old-td are rejected by ASM's proxies, though a policy principal old-td/... is matched by the alias `*-td`
    # (pilot/pkg/security/trustdomain/util.go stringMatch @1.30.3).
    istio = MESH_1_22.replace("trustDomain: cluster.local\n", "trustDomain: old-td\ntrustDomainAliases:\n- new-td\n")
    other = {**ASM_EQUAL, "trustDomain": "new-td", "trustDomainAliases": ["*-td"]}
    rows = audit({"cluster-a": cluster(istio + PROVIDERS_YAML, authz("payments", "shop", ["old-td/ns/shop/sa/web"]))},
                 "migrating", config=asm(other)).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2410")]


def test_fail_for_a_principal_of_a_foreign_trust_domain(audit):
    objects = [authz("legacy", "shop", ["old-td.example/ns/shop/sa/cart", "cluster.local/ns/shop/sa/web"]),
               f.istio_object("AuthorizationPolicy", "deny-old", "shop", {
                   "action": "DENY", "rules": [{"when": [{"key": "source.principal",
                                                          "notValues": ["cluster.local/ns/shop/sa/web"]}]}]})]
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating", config=asm(ASM_EQUAL))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2411", "legacy")
    assert row["evidence"]["rejected"] == ["old-td.example/ns/shop/sa/cart"]
    assert "old-td.example" in row["remediation"]


def test_fail_when_referenced_extension_providers_are_missing_on_asm(audit):
    without = {**ASM_EQUAL, "extensionProviders": []}
    objects = [ext_authz(), telemetry("otel-demo", "istio-system", "tracing", "otel-tracing"),
               telemetry("mesh-default", "istio-system", "accessLogging", "envoy")]
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "uninstall", config=asm(without))
    rows = a.rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2412"), ("FAIL", "AA2412")]
    by_provider = {r["evidence"]["provider"]: r for r in rows}
    assert sorted(by_provider) == ["otel-tracing", "sample-ext-authz-grpc"]  # built-in envoy is everywhere
    assert by_provider["sample-ext-authz-grpc"]["evidence"]["objects"] == ["AuthorizationPolicy foo/ext-authz"]
    assert "ASMSecurityPolicy" in by_provider["sample-ext-authz-grpc"]["remediation"]
    assert by_provider["otel-tracing"]["evidence"]["objects"] == ["Telemetry istio-system/otel-demo (tracing)"]


# red21i: a CUSTOM AuthorizationPolicy names its provider only; istiod builds the ext_authz filter from the mesh
# config's provider of that name (istio/istio@1.24.6 pilot/pkg/security/authz/builder/extauthz.go). The same name on
# ASM pointing at another service or port (shape: Istio's "External Authorization" task provider, as PROVIDERS_YAML)
# authorizes those requests by another call: no PASS.
def test_fail_when_a_custom_policys_provider_calls_another_service_on_asm(audit):
    elsewhere = {**ASM_EQUAL, "extensionProviders": [
        {"name": "sample-ext-authz-grpc", "envoyExtAuthzGrpc": {"service": "authz.security.svc.cluster.local",
                                                               "port": "9001"}}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, ext_authz())}, "uninstall", config=asm(elsewhere))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2424", "istio")
    assert row["evidence"]["policies"] == ["AuthorizationPolicy foo/ext-authz"]


def test_custom_provider_equal_but_for_the_ports_spelling_passes(audit):
    # "9000" in YAML and 9000 are the same uint32 port (meshconfig EnvoyExternalAuthorizationGrpcProvider.port).
    same = {**ASM_EQUAL, "extensionProviders": [
        {"name": "sample-ext-authz-grpc", "envoyExtAuthzGrpc": {"service": "ext-authz.foo.svc.cluster.local",
                                                               "port": 9000}}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, ext_authz())}, "uninstall", config=asm(same))
    assert codes(a.rows(CHECK)) == [("PASS", "AA2401")]


@pytest.mark.parametrize("settings", [
    # what extauthz.go @1.24.6 takes when a field is left out: timeout 600s, failOpen false, statusOnError 403
    {"service": "ext-authz.foo.svc.cluster.local", "port": 9000, "timeout": "600s", "failOpen": False,
     "statusOnError": "403"},
    # protojson's proto field names (meshconfig.proto) beside the JSON names
    {"service": "ext-authz.foo.svc.cluster.local", "port": "9000", "include_request_headers_in_check": []},
], ids=["defaults-written-out", "proto-field-names"])
def test_custom_provider_equal_in_meaning_passes(audit, settings):
    """review21d: red21i compared the provider's text, so ASM's console writing the defaults out was FAIL AA2424."""
    same = {**ASM_EQUAL, "extensionProviders": [{"name": "sample-ext-authz-grpc", "envoy_ext_authz_grpc": settings}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, ext_authz())}, "uninstall", config=asm(same))
    assert codes(a.rows(CHECK)) == [("PASS", "AA2401")]


def test_custom_provider_header_lists_in_another_order_pass_and_another_fail_open_fails(audit):
    istio = PROVIDERS_YAML.replace('    port: "9000"\n', '    port: "9000"\n    failOpen: false\n'
                                   '    includeRequestHeadersInCheck: [x-ext-authz, authorization]\n', 1)
    body = {"service": "ext-authz.foo.svc.cluster.local", "port": 9000,
            "includeRequestHeadersInCheck": ["authorization", "x-ext-authz"]}
    same = {**ASM_EQUAL, "extensionProviders": [{"name": "sample-ext-authz-grpc", "envoyExtAuthzGrpc": body}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + istio, ext_authz())}, "uninstall", config=asm(same))
    assert codes(a.rows(CHECK)) == [("PASS", "AA2401")]
    fails_open = {**ASM_EQUAL, "extensionProviders": [{"name": "sample-ext-authz-grpc",
                                                      "envoyExtAuthzGrpc": {**body, "failOpen": True}}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + istio, ext_authz())}, "uninstall", config=asm(fails_open))
    assert codes(a.rows(CHECK)) == [("FAIL", "AA2424")]


def test_custom_provider_named_without_its_body_on_asm_is_unknown(audit):
    named = {**ASM_EQUAL, "extensionProviders": [{"name": "sample-ext-authz-grpc"}]}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, ext_authz())}, "uninstall", config=asm(named))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["field"]) == (
        "UNKNOWN", "AA2431", "extensionProviders[sample-ext-authz-grpc]")


def test_a_hostile_provider_name_is_quoted_in_the_fix(audit):
    hostile = "x;touch /tmp/pwned"
    a = audit({"cluster-a": cluster(MESH_1_22, telemetry("t", "shop", "tracing", hostile))}, "migrating",
              config=asm({**ASM_EQUAL, "extensionProviders": []}))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2412")
    assert "'x;touch /tmp/pwned'" in row["remediation"]
    assert hostile not in row["remediation"].replace("'x;touch /tmp/pwned'", "")


def test_fail_when_outbound_policy_differs_from_the_openapi_answer(audit):
    registry_only = MESH_1_22 + "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
    a = audit({"cluster-a": cluster(registry_only)}, "migrating",
              asm_openapi=detail(OutboundTrafficPolicy="ALLOW_ANY"))
    rows = a.rows(CHECK)
    # DescribeServiceMeshDetail has no trust domain: that comparison stays UNKNOWN.
    assert codes(rows) == [("FAIL", "AA2413"), ("UNKNOWN", "AA2431")]
    (outbound,) = [r for r in rows if r["code"] == "AA2413"]
    assert (outbound["evidence"]["istio_value"], outbound["evidence"]["asm_value"]) == ("REGISTRY_ONLY", "ALLOW_ANY")
    assert "open on ASM" in outbound["message"]
    assert ("--ServiceMeshId c3adfe9d5d949fb7fc79433dec16a6ecc --OutboundTrafficPolicy REGISTRY_ONLY"
            in outbound["remediation"])


def test_fail_only_for_the_revision_that_differs(audit):
    canary = MESH_1_18_CANARY + "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
    objects = [f.istiod("canary", version="1.18.0"), mesh_cm(canary, "canary")]
    a = audit({"cluster-a": cluster(MESH_1_22, *objects)}, "migrating",
              config=asm({**ASM_EQUAL, "extensionProviders": []}))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2413", "istio-canary")
    assert "calls to hosts without a ServiceEntry" not in row["message"]  # REGISTRY_ONLY -> ALLOW_ANY opens egress


# ---------------------------------------------------------------- WARN
def test_warn_for_each_differing_proxy_default(audit):
    istio = MESH_1_22.replace("defaultConfig:\n", "defaultConfig:\n  holdApplicationUntilProxyStarts: true\n"
                              "  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: \"true\"\n")
    asm_side = {k: v for k, v in ASM_EQUAL.items() if k not in ("defaultConfig", "localityLbSetting")}
    asm_side["defaultConfig"] = {"holdApplicationUntilProxyStarts": False}
    a = audit({"cluster-a": cluster(istio)}, "migrating", config=asm(asm_side),
              asm_openapi=detail(OutboundTrafficPolicy="ALLOW_ANY", Proxy={"EnableDNSProxying": False},
                                 EnableLocalityLB=True))
    rows = a.rows(CHECK)
    assert codes(rows) == [("WARN", "AA2420"), ("WARN", "AA2420")]
    fields = {r["evidence"]["field"]: r for r in rows}
    assert sorted(fields) == ["defaultConfig.holdApplicationUntilProxyStarts",
                              "defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE"]
    dns = fields["defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE"]
    assert (dns["evidence"]["istio_value"], dns["evidence"]["asm_value"]) == ("true", "false")
    assert "Proxy.EnableDNSProxying" in dns["evidence"]["asm_source"]
    assert "--DNSProxyingEnabled true" in dns["remediation"]


def test_dns_capture_is_read_as_go_reads_a_bool(audit):
    # pilot-agent reads ISTIO_META_DNS_CAPTURE with strconv.ParseBool (env.Register, pkg/env/var.go @1.22.0-1.30.3), as
    # istio-cni and istiod's StringBool do: "1" turns DNS capture on; "yes" does not parse and leaves it off.
    asm_side = {**ASM_EQUAL, "defaultConfig": {**ASM_EQUAL["defaultConfig"],
                                               "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "false"}}}
    for value, expected in (('"1"', [("WARN", "AA2420")]), ('"T"', [("WARN", "AA2420")]),
                            ('"yes"', [("PASS", "AA2401")])):
        istio = MESH_1_22.replace("defaultConfig:\n", f"defaultConfig:\n  proxyMetadata:\n"
                                                      f"    ISTIO_META_DNS_CAPTURE: {value}\n")
        rows = audit({"cluster-a": cluster(istio)}, "migrating", config=asm(asm_side)).rows(CHECK)
        assert codes(rows) == expected, value
        if expected[0][0] == "WARN":
            assert (rows[0]["evidence"]["field"], rows[0]["evidence"]["istio_value"]) == (
                "defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE", "true")


# The chart's interception values (istio/istio@1.22.3 and @1.30.3 manifests/charts/istio-control/istio-discovery/
# values.yaml global.proxy): every outbound address and inbound port, nothing excluded.
INTERCEPTION_CHART_DEFAULTS = {"includeIPRanges": "*", "excludeIPRanges": "", "includeInboundPorts": "*",
                               "excludeInboundPorts": "", "includeOutboundPorts": "", "excludeOutboundPorts": ""}


def injector_cm(hold: bool = False, revision: str = "default", **proxy: Any) -> dict[str, Any]:
    """ConfigMap istio-sidecar-injector[-<rev>] as istio/istio@1.30.3 manifests/charts/istio-control/istio-discovery/
    templates/istiod-injector-configmap.yaml renders it: key `values`, the picked Helm values (global,
    sidecarInjectorWebhook, revision, pilot.cni/env, gateways) as pretty JSON, beside the injection `config`;
    `proxy` overrides global.proxy's values (as `--set values.global.proxy.<name>=...` does)."""
    values = {"gateways": {"securityContext": {}, "seccompProfile": {}},
              "global": {"hub": "docker.io/istio", "tag": "1.22.3",
                         "proxy": {"autoInject": "enabled", "holdApplicationUntilProxyStarts": hold,
                                   "image": "proxyv2", "privileged": False, **INTERCEPTION_CHART_DEFAULTS,
                                   **proxy}},
              "pilot": {"cni": {"enabled": False}, "env": {}}, "revision": "" if revision == "default" else revision,
              "sidecarInjectorWebhook": {"defaultTemplates": [], "rewriteAppHTTPProbe": True}}
    name = "istio-sidecar-injector" + ("" if revision == "default" else f"-{revision}")
    labels = {"istio.io/rev": revision, "install.operator.istio.io/owning-resource": "unknown",
              "operator.istio.io/component": "Pilot", "release": "istiod", "app.kubernetes.io/name": "istiod"}
    return f.configmap(name, "istio-system", {"values": json.dumps(values, indent=2),
                                              "config": "defaultTemplates: [sidecar]\npolicy: enabled\n"},
                       labels=labels)


def test_hold_set_by_the_injectors_values_is_istios_value(audit):
    # files/injection-template.yaml @1.22.0-1.30.3: `$holdProxy` is the pod's ProxyConfig value OR the values'
    # global.proxy.holdApplicationUntilProxyStarts (deprecated, NOTES.txt, but still honoured): Istio's pods wait
    # for their proxy; ASM's, with its hold off, would not.
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, injector_cm(True))}, "migrating",
                 config=asm(ASM_EQUAL)).rows(CHECK)
    assert codes(rows) == [("WARN", "AA2420")]
    assert (rows[0]["evidence"]["field"], rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == (
        "defaultConfig.holdApplicationUntilProxyStarts", "true", "false")
    assert rows[0]["evidence"]["istio_source"] == ("ConfigMap istio-system/istio-sidecar-injector values "
                                                   "global.proxy.holdApplicationUntilProxyStarts")
    asm_side = {**ASM_EQUAL, "defaultConfig": {k: v for k, v in ASM_EQUAL["defaultConfig"].items()
                                               if k != "holdApplicationUntilProxyStarts"}}
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, injector_cm(True))}, "migrating",
                 config=asm(asm_side)).rows(CHECK)
    assert codes(rows) == [("WARN", "AA2421")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, injector_cm(False))}, "migrating",
                 config=asm(ASM_EQUAL)).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]
    # A revision's own injector ConfigMap (istio-sidecar-injector-<rev>) holds that revision's pods only.
    canary = [f.istiod("canary", version="1.22.3"), mesh_cm(MESH_1_22 + PROVIDERS_YAML, "canary"),
              injector_cm(True, "canary"), injector_cm(False)]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *canary)}, "migrating",
                 config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("WARN", "AA2420", "istio-canary")]
    assert "istio-sidecar-injector-canary)" in rows[0]["remediation"]


def test_warn_when_istio_sets_a_proxy_default_asm_does_not_give(audit):
    istio = MESH_1_22.replace("defaultConfig:\n", "defaultConfig:\n  drainDuration: 20s\n")
    asm_side = {k: v for k, v in ASM_EQUAL.items() if k != "defaultConfig"}
    a = audit({"cluster-a": cluster(istio)}, "migrating", config=asm(asm_side))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("WARN", "AA2421")
    assert (row["evidence"]["field"], row["evidence"]["istio_value"]) == ("defaultConfig.drainDuration", "20s")


# ---------------------------------------------------------------- UNKNOWN
def test_unknown_without_any_asm_side(audit):
    a = audit({"cluster-a": cluster(), "cluster-b": cluster()}, "migrating")
    rows = a.rows(CHECK)
    assert [(r["cluster"], r["status"], r["code"]) for r in rows] == [
        ("cluster-a", "UNKNOWN", "AA2430"), ("cluster-b", "UNKNOWN", "AA2430")]
    assert "asm.mesh_config" in rows[0]["message"] and "asm.mesh_config" in rows[0]["remediation"]


def test_unknown_when_describe_service_mesh_detail_failed(audit):
    failed = {"_errors": {"DescribeServiceMeshDetail": "ASM OpenAPI DescribeServiceMeshDetail: Forbidden.RAM"}}
    a = audit({"cluster-a": cluster()}, "migrating", asm_openapi=failed)
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2430")
    assert "Forbidden.RAM" in row["message"]


def test_trust_domain_unknown_from_the_openapi_answer_alone(audit):
    a = audit({"cluster-a": cluster(MESH_1_22, authz("payments", "payments", ["cluster.local/ns/shop/sa/a"]))},
              "migrating", asm_openapi=detail(OutboundTrafficPolicy="ALLOW_ANY", EnableLocalityLB=True))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["field"]) == ("UNKNOWN", "AA2431", "trustDomain")
    assert row["evidence"]["policies_with_principals"] == ["payments/payments"]


def test_referenced_provider_unknown_when_asm_side_does_not_list_providers(audit):
    partial = {"trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}
    a = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, ext_authz())}, "migrating", config=asm(partial))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["field"]) == ("UNKNOWN", "AA2431", "extensionProviders")


def test_unreadable_configmaps_are_unknown(audit):
    a = audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL),
              unreadable={"cluster-a": {K.CONFIGMAP: "403 Forbidden"}})
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")


def test_unparseable_or_missing_mesh_config_is_unknown(audit):
    broken = [f.istiod("canary"), mesh_cm("defaultConfig: [unclosed\n", "canary"), f.istiod("stable")]
    a = audit({"cluster-a": cluster(MESH_1_22, *broken)}, "migrating", config=asm(ASM_EQUAL))
    rows = a.rows(CHECK)
    # The readable revision is judged on its own; the other two are UNKNOWN, each naming its ConfigMap.
    assert codes(rows) == [("PASS", "AA2401"), ("UNKNOWN", "AA2433"), ("UNKNOWN", "AA2433")]
    assert sorted(r["name"] for r in rows if r["status"] == "UNKNOWN") == ["istio-canary", "istio-stable"]
    assert "default (istio-system/istio)" in next(r["message"] for r in rows if r["status"] == "PASS")


# ---------------------------------------------------------------- N/A and Istio elsewhere
def test_not_applicable_without_istio(audit):
    app = f.deployment("cart")
    a = audit({"cluster-a": [f.namespace("shop"), *app, *f.workload_pods(app, 2, proxy=None)]}, "migrating",
              config=asm(ASM_EQUAL))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA2440")
    assert "ConfigMaps istio / istio-<rev>" in row["message"]


def test_istio_proxies_without_a_local_mesh_config_are_unknown(audit):
    app = f.deployment("cart")
    a = audit({"cluster-a": [f.namespace("shop"), *app, *f.workload_pods(app, 2)]}, "migrating",
              config=asm(ASM_EQUAL))
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["evidence"]["proxies"]) == ("UNKNOWN", "AA2434", 2)


# ---------------------------------------------------------------- config asm.mesh_config
def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "asm-audit.yaml"
    path.write_text(text)
    return path


def test_mesh_config_as_yaml_text_loads(tmp_path):
    config = load_config(write_config(tmp_path, "asm:\n  mesh_config: |\n    trustDomain: cluster.local\n"
                                                "    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n"))
    assert config.asm.mesh_config == {"trustDomain": "cluster.local",
                                      "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}


@pytest.mark.parametrize(("text", "expected"), [
    ("asm:\n  mesh_config: |\n    trustDomain: [unclosed\n", "'asm.mesh_config': not valid YAML"),
    ("asm:\n  mesh_config: [a, b]\n", "'asm.mesh_config': expected an Istio MeshConfig"),
    ("asm:\n  mesh_config: {outboundTrafficPolicy: {mode: DENY_ALL}}\n", "outboundTrafficPolicy has the wrong shape"),
    ("asm:\n  mesh_config: {trustDomian: prod.example.com}\n", "did you mean 'trustDomain'"),
    ("asm:\n  mesh_config: {defaultConfig: {proxyMetadata: {ISTIO_META_DNS_CAPTURE: true}}}\n",
     "defaultConfig.proxyMetadata has the wrong shape"),
    ("asm:\n  mesh_config: {defaultConfig: {drainDuration: 45}}\n", "defaultConfig.drainDuration"),
])
def test_bad_mesh_config_is_a_usage_error(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_config(write_config(tmp_path, text))
    assert expected in str(err.value)


def test_bad_mesh_config_exits_2_with_one_line(tmp_path, capsys, demo_dir):
    cfg = write_config(tmp_path, "asm:\n  mesh_config: |\n    outboundTrafficPolicy: {mode: [\n")
    code = main(["run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out", str(tmp_path / "out"),
                 "--format", "json", "-q"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "'asm.mesh_config': not valid YAML" in lines[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- rootNamespace
def test_root_namespace_moved_on_istio_is_compared(audit):
    """istiod applies the PeerAuthentication, AuthorizationPolicy, Sidecar, EnvoyFilter, Telemetry... of its
    rootNamespace to every namespace (istio/istio@1.30.3 pilot/pkg/model/authentication.go, authorization.go
    lookupInNamespaces, push_context.go); the istio-discovery chart writes `rootNamespace: {{ .Values.meshConfig.
    rootNamespace | default .Values.global.istioNamespace }}` (templates/configmap.yaml @1.24.6). A mesh-wide STRICT
    PeerAuthentication in Istio's root `istio-config`, imported as it is, applies to namespace istio-config alone on an
    ASM whose root is istio-system: PASS AA2401 before, as the field was not compared."""
    mesh = MESH_1_22.replace("rootNamespace: istio-system", "rootNamespace: istio-config") + PROVIDERS_YAML
    strict = f.istio_object("PeerAuthentication", "default", "istio-config", {"mtls": {"mode": "STRICT"}})
    rows = audit({"cluster-a": cluster(mesh, strict)}, "migrating",
                 config=asm({**ASM_EQUAL, "rootNamespace": "istio-system"})).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2417")]
    assert (rows[0]["kind"], rows[0]["namespace"], rows[0]["name"]) == ("ConfigMap", "istio-system", "istio")
    assert (rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == ("istio-config", "istio-system")

    # ASM's root not given: not assumed to be Istio's default, so UNKNOWN where Istio moved its own.
    rows = audit({"cluster-a": cluster(mesh, strict)}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("UNKNOWN", "AA2431", "rootNamespace")]

    # The same root on both sides, or Istio's default root and ASM's not given: nothing to say.
    same = audit({"cluster-a": cluster(mesh, strict)}, "migrating",
                 config=asm({**ASM_EQUAL, "rootNamespace": "istio-config"})).rows(CHECK)
    assert codes(same) == [("PASS", "AA2401")]
    assert codes(audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)) == [
        ("PASS", "AA2401")]


# ---------------------------------------------------------------- default exportTo
def test_default_export_to_is_compared(audit):
    """istiod makes a Service, VirtualService or DestinationRule that sets no exportTo visible where the mesh config's
    defaultServiceExportTo / defaultVirtualServiceExportTo / defaultDestinationRuleExportTo say, every namespace ("*")
    when unset (istio/istio@1.22.0 and @1.30.3 pilot/pkg/model/push_context.go initDefaultExportMaps). A mesh that
    keeps Services to their own namespace (meshConfig.defaultServiceExportTo: ["."]) moved to an ASM that exports them
    everywhere opens every Service to every namespace: PASS AA2401 before, as the field was not compared."""
    mesh = MESH_1_22 + PROVIDERS_YAML + 'defaultServiceExportTo:\n- "."\n'
    rows = audit({"cluster-a": cluster(mesh)}, "migrating",
                 config=asm({**ASM_EQUAL, "defaultServiceExportTo": ["*"]})).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2418")]
    assert (rows[0]["evidence"]["field"], rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == (
        "defaultServiceExportTo", ".", "*")

    # ASM's not given: not assumed to be Istio's default ("*"), so UNKNOWN where Istio set another.
    rows = audit({"cluster-a": cluster(mesh)}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("UNKNOWN", "AA2431", "defaultServiceExportTo")]

    # The same on both sides: PASS.
    rows = audit({"cluster-a": cluster(mesh)}, "migrating",
                 config=asm({**ASM_EQUAL, "defaultServiceExportTo": ["."]})).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]


# ---------------------------------------------------------------- SHARED_MESH_CONFIG
def shared_istiod(name: str) -> dict[str, Any]:
    """istiod with SHARED_MESH_CONFIG set through the chart's pilot.env (istio-discovery templates/deployment.yaml
    renders `pilot.env` into the discovery container's env, @1.24.6)."""
    dep = f.istiod()
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "SHARED_MESH_CONFIG", "value": name}]
    return dep


def test_shared_mesh_config_is_read_under_istiods_own(audit):
    """istiod reads the ConfigMap its SHARED_MESH_CONFIG env names (key mesh, in its namespace) and applies its own
    mesh config over it: defaults < shared < own (istio/istio@1.30.3 pilot/pkg/bootstrap/mesh.go
    getConfigurationSources, "User configuration is applied first"; pkg/config/mesh/meshwatcher/collection.go). A
    REGISTRY_ONLY set in the shared ConfigMap only was read as Istio's default ALLOW_ANY: PASS AA2401 before."""
    app = f.deployment("cart")
    base = [f.namespace("shop", labels={"istio-injection": "enabled"}), shared_istiod("mesh-defaults"),
            mesh_cm(MESH_1_22 + PROVIDERS_YAML), *app, *f.workload_pods(app, 2)]
    registry_only = f.configmap("mesh-defaults", "istio-system",
                                {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"})
    rows = audit({"cluster-a": [*base, registry_only]}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("FAIL", "AA2413", "istio")]
    assert rows[0]["evidence"]["istio_shared_mesh_config"] == "ConfigMap istio-system/mesh-defaults"

    # istiod's own mesh config wins where it sets the field; a shared ConfigMap named like a revision's (istio-user) is
    # part of that mesh config, not a revision of its own.
    base[1] = shared_istiod("istio-user")
    own = mesh_cm(MESH_1_22 + PROVIDERS_YAML + "outboundTrafficPolicy:\n  mode: ALLOW_ANY\n")
    user = f.configmap("istio-user", "istio-system", {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"})
    rows = audit({"cluster-a": [*base[:2], own, *base[3:], user]}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]


# ---------------------------------------------------------------- discoverySelectors
def test_discovery_selectors_are_compared(audit):
    """istiod discovers Services, and reads Istio configuration, only in the namespaces meshConfig.discoverySelectors
    select (every namespace when unset): istio/istio@1.24.0 and @1.30.3 pilot/pkg/config/kube/crdclient/client.go
    namespaceFilter, pkg/kube/namespace/filter.go; the selector shape of Istio's "discovery selectors" docs. A mesh
    scoped to labelled namespaces moved to an ASM that discovers every namespace activates configuration Istio never
    read (and the reverse loses Services): PASS AA2401 before, as the field was not compared."""
    mesh = MESH_1_22 + PROVIDERS_YAML + "discoverySelectors:\n- matchLabels:\n    istio-discovery: enabled\n"
    rows = audit({"cluster-a": cluster(mesh)}, "migrating",
                 config=asm({**ASM_EQUAL, "discoverySelectors": []})).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2419")]
    assert (rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == (
        "[{matchLabels: {istio-discovery: enabled}}]", "(none)")

    rows = audit({"cluster-a": cluster(mesh)}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("UNKNOWN", "AA2431", "discoverySelectors")]

    two = [{"matchExpressions": [{"key": "region", "operator": "In", "values": ["cn-hangzhou"]}]},
           {"matchLabels": {"istio-discovery": "enabled"}}]
    mesh_two = (MESH_1_22 + PROVIDERS_YAML + "discoverySelectors:\n- matchLabels:\n    istio-discovery: enabled\n"
                "- matchExpressions:\n  - key: region\n    operator: In\n    values: [cn-hangzhou]\n")
    rows = audit({"cluster-a": cluster(mesh_two)}, "migrating",
                 config=asm({**ASM_EQUAL, "discoverySelectors": two})).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]  # the same selectors, in another order



# ASM's discovery selectors as its OpenAPI answers them: DescribeServiceMeshDetail
# ServiceMesh.Spec.MeshConfig.ExtraConfiguration.DiscoverySelectors, a list of label selectors ("the control plane
# discovers and processes only application services in the specified namespaces": alibabacloud-servicemesh20200111
# 3.4.0 models.py ...SpecMeshConfigExtraConfiguration.discovery_selectors, List[Dict[str, Any]]), in Kubernetes'
# LabelSelector shape, as UpdateMeshFeature sets them (aliyun/alibabacloud-java-sdk@64b04e9d servicemesh-20200111/src/
# main/java/com/aliyun/servicemesh20200111/models/UpdateMeshFeatureRequest.java, DiscoverySelectors example
# [{"matchExpressions":[{"key":"asm-discovery","operator":"Exists"}]}]; ASM's guide "Use service discovery selectors").
ASM_SELECTORS = [{"matchExpressions": [{"key": "asm-discovery", "operator": "Exists"}]}]


def test_discovery_selectors_from_asm_answer(audit):
    """An ASM scoped by discovery selectors (its console's "service discovery selectors") beside an Istio that
    discovers every namespace: moved workloads lose the Services of the namespaces ASM leaves out. ASM's own answer
    says so; asm.mesh_config (written for the trust domain and providers) does not: PASS AA2401 before, the answer's
    field not read."""
    answer = detail(OutboundTrafficPolicy="ALLOW_ANY", ExtraConfiguration={"DiscoverySelectors": ASM_SELECTORS})
    rows = audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL), asm_openapi=answer).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2419")]
    assert (rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == (
        "(none)", "[{matchExpressions: [{key: asm-discovery, operator: Exists}]}]")

    # The same selectors on both sides: compared and equal (AA2431 UNKNOWN before: "not in" the answer).
    mesh = (MESH_1_22 + PROVIDERS_YAML + "discoverySelectors:\n- matchExpressions:\n  - key: asm-discovery\n"
            "    operator: Exists\n")
    rows = audit({"cluster-a": cluster(mesh)}, "migrating", config=asm(ASM_EQUAL), asm_openapi=answer).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]

    # The answer's keys in its own PascalCase (the SDK types the selectors as bare dicts; their spelling is not
    # documented): the same selectors, never a difference (a false NO-GO otherwise).
    pascal = detail(OutboundTrafficPolicy="ALLOW_ANY", ExtraConfiguration={"DiscoverySelectors": [
        {"MatchExpressions": [{"Key": "asm-discovery", "Operator": "Exists"}]}]})
    rows = audit({"cluster-a": cluster(mesh)}, "migrating", config=asm(ASM_EQUAL), asm_openapi=pascal).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]

    # Equal selectors written another way (review22a: FAIL AA2419 before): null or empty matchLabels /
    # matchExpressions / values are none (apimachinery LabelSelectorAsSelector), expressions and In values are sets.
    istio_mesh = (MESH_1_22 + PROVIDERS_YAML + "discoverySelectors:\n- matchLabels:\n    istio-discovery: enabled\n"
                  "- matchExpressions:\n  - key: tier\n    operator: In\n    values: [web, api]\n"
                  "  - key: asm-discovery\n    operator: Exists\n")
    spelled = detail(OutboundTrafficPolicy="ALLOW_ANY", ExtraConfiguration={"DiscoverySelectors": [
        {"MatchExpressions": [{"Key": "asm-discovery", "Operator": "Exists", "Values": None},
                              {"Key": "tier", "Operator": "In", "Values": ["api", "web"]}], "MatchLabels": None},
        {"matchLabels": {"istio-discovery": "enabled"}, "matchExpressions": []}]})
    rows = audit({"cluster-a": cluster(istio_mesh)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=spelled).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]

    # No selectors on ASM (an empty list: every namespace) and none on Istio: equal.
    empty = detail(OutboundTrafficPolicy="ALLOW_ANY", ExtraConfiguration={"DiscoverySelectors": []})
    rows = audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL), asm_openapi=empty).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]

    # asm.mesh_config's own discoverySelectors stand before the answer's, as every field of it does.
    rows = audit({"cluster-a": cluster()}, "migrating", config=asm({**ASM_EQUAL, "discoverySelectors": []}),
                 asm_openapi=answer).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]

    # Not the SDK's list of objects (UpdateMeshFeature's parameter is that list as a JSON string): bad input naming the
    # field, never read as ASM not saying.
    spelled = detail(OutboundTrafficPolicy="ALLOW_ANY",
                     ExtraConfiguration={"DiscoverySelectors": json.dumps(ASM_SELECTORS)})
    with pytest.raises(UsageError, match=r"ExtraConfiguration\.DiscoverySelectors must be a list"):
        audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL), asm_openapi=spelled)

# ---------------------------------------------------------------- pathNormalization
def test_path_normalization_is_compared(audit):
    """The proxies normalize a request path as meshConfig.pathNormalization says before routes and AuthorizationPolicy
    paths match it (istio/istio@1.22.0 and @1.30.3 pilot/pkg/networking/core/listener_builder.go: DEFAULT and BASE
    normalize_path only, MERGE_SLASHES merges slashes, DECODE_AND_MERGE_SLASHES also unescapes %2F). A mesh hardened
    with DECODE_AND_MERGE_SLASHES (Istio's security best practices) moved to an ASM on the default lets `//admin` pass a
    DENY on `/admin`: PASS AA2401 before, as the field was not compared."""
    mesh = MESH_1_22 + PROVIDERS_YAML + "pathNormalization:\n  normalization: DECODE_AND_MERGE_SLASHES\n"
    deny = f.istio_object("AuthorizationPolicy", "deny-admin", "shop", {
        "selector": {"matchLabels": {"app": "cart"}}, "action": "DENY",
        "rules": [{"to": [{"operation": {"paths": ["/admin*"]}}]}]})
    rows = audit({"cluster-a": cluster(mesh, deny)}, "migrating",
                 config=asm({**ASM_EQUAL, "pathNormalization": {"normalization": "DEFAULT"}})).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2423")]
    assert (rows[0]["evidence"]["istio_value"], rows[0]["evidence"]["asm_value"]) == (
        "DECODE_AND_MERGE_SLASHES", "BASE")

    rows = audit({"cluster-a": cluster(mesh, deny)}, "migrating", config=asm(ASM_EQUAL)).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("UNKNOWN", "AA2431", "pathNormalization.normalization")]

    # Istio's default and ASM's BASE (DEFAULT means BASE): nothing to say.
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, deny)}, "migrating",
                 config=asm({**ASM_EQUAL, "pathNormalization": {"normalization": "BASE"}})).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]


def test_no_mesh_configmap_and_pods_unread_is_unknown_not_a_crash(audit):
    """red20p's note: the UNKNOWN raised there named the cluster positionally (EvidenceUnavailable's cluster is a
    keyword): a TypeError, the engine's AA0002 crash, which --allow-unknown then refuses."""
    a = audit({"c1": [f.namespace("istio-system")]}, "migrating", config=f.only_checks(CHECK),
              unreadable={"c1": {K.POD: "pods is forbidden"}})
    codes = [r["code"] for r in a.rows(CHECK)]
    assert codes and "AA0002" not in codes
    assert {r["status"] for r in a.rows(CHECK)} == {"UNKNOWN"}


# ---------------------------------------------------------------- sidecar traffic interception
# Istio's side: the injector's Helm values global.proxy.includeIPRanges, excludeIPRanges, includeInboundPorts,
# excludeInboundPorts, includeOutboundPorts, excludeOutboundPorts (istio/istio@1.22.3 manifests/charts/istio-control/
# istio-discovery/values.yaml; files/injection-template.yaml writes them into istio-init's args and the pod's
# traffic.sidecar.istio.io/* annotations). ASM's: DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig
# IncludeIPRanges, ExcludeIPRanges, ExcludeInboundPorts, ExcludeOutboundPorts, comma-separated strings
# (aliyun/alibabacloud-java-sdk@8b7a7d8d servicemesh-20200111/src/main/java/com/aliyun/servicemesh20200111/models/
# DescribeServiceMeshDetailResponseBody.java; UpdateMeshFeatureRequest.java @64b04e9d sets all six; ASM's guide
# "Configure settings to allow traffic to bypass sidecar proxies": global, then namespace, then pod annotations).
ASM_INTERCEPTION = {"IncludeIPRanges": "*", "ExcludeIPRanges": "", "ExcludeInboundPorts": "",
                    "ExcludeOutboundPorts": ""}


def interception_answer(**fields: str) -> dict[str, Any]:
    return detail(OutboundTrafficPolicy="ALLOW_ANY", **{**ASM_INTERCEPTION, **fields})


def test_interception_differs_fails_both_ways(audit):
    """Istio takes only the cluster's 10.0.0.0/8 into the proxy (external calls bypass it, REGISTRY_ONLY or not);
    ASM, on its default "*", takes every address: after the move, calls to external hosts go through the proxy (and
    under REGISTRY_ONLY are blocked). PASS AA2401 before: the injector's values were not compared."""
    istio = [injector_cm(includeIPRanges="10.0.0.0/8")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer()).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("FAIL", "AA2425", "global.proxy.includeIPRanges")]
    assert (rows[0]["evidence"]["istio_entries"], rows[0]["evidence"]["asm_entries"]) == (["10.0.0.0/8"], ["*"])
    assert (rows[0]["kind"], rows[0]["name"]) == ("ConfigMap", "istio-sidecar-injector")
    assert "--IncludeIPRanges 10.0.0.0/8" in rows[0]["remediation"]

    # The other way: an exclusion Istio's workloads rely on (a database port kept out of the proxy) that ASM lacks,
    # and one ASM has that Istio did not (the cluster's Service range bypasses ASM's proxy: no mTLS to STRICT peers).
    istio = [injector_cm(excludeOutboundPorts="3306")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer(ExcludeIPRanges="172.16.0.0/16")).rows(CHECK)
    assert sorted((r["status"], r["code"], r["evidence"]["field"]) for r in rows) == [
        ("FAIL", "AA2425", "global.proxy.excludeIPRanges"), ("FAIL", "AA2425", "global.proxy.excludeOutboundPorts")]
    # Istio's value empty: no UpdateMeshFeature with an empty parameter (review22a: `--ExcludeIPRanges ''` is no value
    # to the aliyun CLI), the console step only; Istio's value given: the command.
    by_field = {r["evidence"]["field"]: r["remediation"] for r in rows}
    assert "UpdateMeshFeature" not in by_field["global.proxy.excludeIPRanges"]
    assert "--ExcludeOutboundPorts 3306" in by_field["global.proxy.excludeOutboundPorts"]


def test_asm_keeping_the_metadata_server_out_of_its_proxy_is_no_difference(audit):
    """Alibaba Cloud's ECS metadata server (100.100.100.200) excluded on ASM's side only: a moved pod reaches it as
    before, bypassing the proxy (review22a: FAIL AA2425 on an Istio at its chart defaults, every ordinary mesh if ASM
    ships it so). Excluded on Istio's side only it stays a difference: on ASM's proxy, REGISTRY_ONLY blocks it."""
    istio = [injector_cm()]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer(ExcludeIPRanges="100.100.100.200/32")).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]
    istio = [injector_cm(excludeIPRanges="100.100.100.200/32")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer()).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2425")]


def test_interception_equal_but_for_order_and_spelling_passes(audit):
    # Helm's --set types a lone port as a number; the lists are sets (istio-iptables takes each entry once).
    istio = [injector_cm(excludeInboundPorts="8080, 9090", excludeOutboundPorts=3306,
                         excludeIPRanges="169.254.169.254/32")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer(ExcludeInboundPorts="9090,8080", ExcludeOutboundPorts="3306",
                                                 ExcludeIPRanges="169.254.169.254/32")).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]
    assert "global.proxy.includeIPRanges" in rows[0]["evidence"]["compared"]


def test_interception_unknown_when_asm_does_not_give_it(audit):
    # The answer without IncludeIPRanges (or with an empty one: more likely unset than "no egress at all").
    istio = [injector_cm(includeIPRanges="10.0.0.0/8")]
    for answer in (detail(OutboundTrafficPolicy="ALLOW_ANY"), interception_answer(IncludeIPRanges="")):
        rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                     asm_openapi=answer).rows(CHECK)
        assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
            ("UNKNOWN", "AA2426", "global.proxy.includeIPRanges")]
    # includeInboundPorts is not in the answer at all: the config gives it.
    istio = [injector_cm(includeInboundPorts="80,8080")]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer()).rows(CHECK)
    assert [(r["status"], r["code"], r["evidence"]["field"]) for r in rows] == [
        ("UNKNOWN", "AA2426", "global.proxy.includeInboundPorts")]
    config = {"asm": {"mesh_config": ASM_EQUAL, "sidecar_interception": {"includeInboundPorts": "8080,80"}}}
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=config,
                 asm_openapi=interception_answer()).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]
    config["asm"]["sidecar_interception"] = {"includeInboundPorts": "*"}
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *istio)}, "migrating", config=config,
                 asm_openapi=interception_answer()).rows(CHECK)
    assert codes(rows) == [("FAIL", "AA2425")]


def test_interception_unknown_when_the_injector_is_unread(audit):
    # No injector ConfigMap (or values that are not JSON) while the revision's pods run Istio's proxy: what they
    # intercept is not known, never taken as the chart's defaults.
    broken = injector_cm()
    broken["data"]["values"] = "{not json"
    for objects in ((), (broken,)):
        rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating",
                     config=asm(ASM_EQUAL), asm_openapi=interception_answer()).rows(CHECK)
        assert [(r["status"], r["code"], r["name"]) for r in rows] == [
            ("UNKNOWN", "AA2427", "istio-sidecar-injector")]
    # Without Istio's pods of that revision nothing is intercepted by it: nothing to say.
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, proxy="asm")}, "migrating",
                 config=asm(ASM_EQUAL), asm_openapi=interception_answer()).rows(CHECK)
    assert codes(rows) == [("PASS", "AA2401")]
    assert "global.proxy.includeIPRanges" not in rows[0]["evidence"]["compared"]


def test_interception_judged_per_revision(audit):
    """Each revision's sidecars intercept as its own injector says (istio-sidecar-injector-<rev>)."""
    canary_app = f.deployment("search")
    canary = [f.istiod("canary", version="1.22.3"), mesh_cm(MESH_1_22 + PROVIDERS_YAML, "canary"),
              *canary_app, *f.workload_pods(canary_app, 2, annotations={"istio.io/rev": "canary"})]
    objects = [injector_cm(), injector_cm(revision="canary", excludeOutboundPorts="5432"), *canary]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer()).rows(CHECK)
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [
        ("FAIL", "AA2425", "istio-sidecar-injector-canary")]
    # The canary's injector missing while its pods run: UNKNOWN for it alone, the default revision still compared.
    objects = [injector_cm(), *canary]
    rows = audit({"cluster-a": cluster(MESH_1_22 + PROVIDERS_YAML, *objects)}, "migrating", config=asm(ASM_EQUAL),
                 asm_openapi=interception_answer()).rows(CHECK)
    assert [(r["status"], r["code"], r["name"], r["evidence"]["revision"]) for r in rows] == [
        ("UNKNOWN", "AA2427", "istio-sidecar-injector-canary", "canary")]


def test_interception_of_another_type_is_bad_input(audit):
    # The SDK types each as a string; a list is not ASM's answer (bad input naming the field, not "not given").
    with pytest.raises(UsageError, match=r"IncludeIPRanges must be a string"):
        audit({"cluster-a": cluster()}, "migrating", config=asm(ASM_EQUAL),
              asm_openapi=interception_answer(IncludeIPRanges=["10.0.0.0/8"]))


@pytest.mark.parametrize(("text", "expected"), [
    ("asm:\n  sidecar_interception: {includeIpRanges: '*'}\n", "unknown interception value 'includeIpRanges'"),
    ("asm:\n  sidecar_interception: {excludeOutboundPorts: true}\n", "excludeOutboundPorts: expected"),
])
def test_bad_sidecar_interception_is_a_usage_error(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_config(write_config(tmp_path, text))
    assert expected in str(err.value)
