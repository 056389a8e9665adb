"""envoyfilter-compatibility: EnvoyFilters that will not apply to ASM's proxies.

Shapes, all from istio/istio:
- `stats-filter-1.16` / `tcp-stats-filter-1.16`: manifests/charts/istio-control/istio-discovery/templates/
  telemetryv2_1.16.yaml at tag 1.16.0 (Helm: label istio.io/rev only; istioctl renders the same chart and adds
  operator.istio.io/component and install.operator.istio.io/owning-resource, as telemetryv2_1.10.yaml at 1.10.0
  spells out for metadata-exchange-1.10).
- `test-lua`: tests/testdata/networking/envoyfilter-without-service/configs.yaml at tag 1.6.0 (deprecated names
  envoy.http_connection_manager / envoy.router / envoy.lua and the v2 type envoy.config.filter.http.lua.v2.Lua).
- `hcm-tweaks` (match proxy.proxyVersion): the EnvoyFilter reference's example (istio/api
  networking/v1alpha3/envoy_filter.proto), pinned to the Istio release it was written for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from auditor import judge
from auditor import kinds as K
from auditor.inventory import ClusterInventory
from auditor.model import Finding
from checks.envoyfilter import EnvoyFilterCompatibility
from tests import factory as f

CHECK = "envoyfilter-compatibility"
ASM_RAW = "v1.24.6.62-g5c7e1f0b-aliyun"  # DescribeServiceMeshDetail's ServiceMeshInfo.Version shape (domain.md)
ONLY = f.only_checks(CHECK)
WITH_ASM = {**ONLY, "asm": {"version": ASM_RAW}}
HCM = "envoy.filters.network.http_connection_manager"


def hcm_tweaks(proxy_version: str | None, name: str = "hcm-tweaks", namespace: str = "myns") -> dict[str, Any]:
    match: dict[str, Any] = {"listener": {"filterChain": {"filter": {"name": HCM}}}}
    if proxy_version is not None:
        match["proxy"] = {"proxyVersion": proxy_version}
    return f.istio_object("EnvoyFilter", name, namespace, {
        "workloadSelector": {"labels": {"app": "httpbin"}},
        "configPatches": [{"applyTo": "NETWORK_FILTER", "match": match, "patch": {"operation": "MERGE", "value": {
            "name": HCM, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                         "HttpConnectionManager",
                "common_http_protocol_options": {"idle_timeout": "30s"}}}}}]})


def _stats_patch(context: str, filter_name: str, sub_filter: str | None, release: str) -> dict[str, Any]:
    chain: dict[str, Any] = {"filter": {"name": filter_name}}
    if sub_filter:
        chain["filter"]["subFilter"] = {"name": sub_filter}
    return {"applyTo": "HTTP_FILTER" if sub_filter else "NETWORK_FILTER",
            "match": {"context": context, "proxy": {"proxyVersion": '^' + release.replace('.', '\\.') + '.*'},
                      "listener": {"filterChain": chain}},
            "patch": {"operation": "INSERT_BEFORE", "value": {"name": "istio.stats", "typed_config": {
                "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                "type_url": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "value": {"config": {"root_id": "stats_outbound", "vm_config": {
                    "vm_id": "stats_outbound", "runtime": "envoy.wasm.runtime.null",
                    "code": {"local": {"inline_string": "envoy.wasm.stats"}}},
                    "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                      "value": '{"debug": "false", "stat_prefix": "istio"}'}}}}}}}


def stats_filter(release: str = "1.16", *, tcp: bool = False, istioctl: bool = False) -> dict[str, Any]:
    labels = {"istio.io/rev": "default"}
    if istioctl:
        labels.update({"install.operator.istio.io/owning-resource": "unknown", "operator.istio.io/component": "Pilot"})
    name = f"{'tcp-' if tcp else ''}stats-filter-{release}"
    target = ("envoy.filters.network.tcp_proxy", None) if tcp else (HCM, "envoy.filters.http.router")
    patches = [_stats_patch(ctx, *target, release) for ctx in ("SIDECAR_OUTBOUND", "SIDECAR_INBOUND", "GATEWAY")]
    return f.istio_object("EnvoyFilter", name, "istio-system", {"priority": -1, "configPatches": patches},
                          labels=labels)


def lua_filter_from_istio_1_6() -> dict[str, Any]:
    return f.istio_object("EnvoyFilter", "test-lua", "istio-system", {
        "workloadSelector": {"labels": {"app": "envoyfilter-test-app"}},
        "configPatches": [{"applyTo": "HTTP_FILTER",
                           "match": {"listener": {"filterChain": {"filter": {
                               "name": "envoy.http_connection_manager", "subFilter": {"name": "envoy.router"}}}}},
                           "patch": {"operation": "INSERT_BEFORE", "value": {
                               "name": "envoy.lua",
                               "typed_config": {"@type": "type.googleapis.com/envoy.config.filter.http.lua.v2.Lua",
                                                "inlineCode": "function envoy_on_request(request_handle)\n"
                                                              "  request_handle:logWarn(\"Hello World\")\nend\n"}}}}]})




def test_compatible_filters_pass_saying_how_many_at_both_gates(audit):
    objects = [hcm_tweaks(None), hcm_tweaks("^1\\.24.*", name="hcm-tweaks-124")]
    for phase in ("migrating", "uninstall"):
        [row] = audit({"c1": objects}, phase, config=WITH_ASM).rows(CHECK)
        assert (row["status"], row["code"], row["name"]) == ("PASS", "AA2801", "")
        assert row["message"] == "2 EnvoyFilter(s), all compatible with ASM's proxies (1.24.6)"
        assert row["evidence"]["envoyfilters"] == 2


def test_not_audited_before_migrating(audit):
    assert audit({"c1": [hcm_tweaks("^1\\.16.*")]}, "assessment", config=WITH_ASM).rows(CHECK) == []


def test_proxy_version_excluding_asm_fails_naming_the_regex_the_version_and_the_fix(audit):
    rows = audit({"c1": [hcm_tweaks("^1\\.22.*")]}, "migrating", config=WITH_ASM).rows(CHECK)
    [row] = rows
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2810", "major")
    assert (row["kind"], row["namespace"], row["name"]) == ("EnvoyFilter", "myns", "hcm-tweaks")
    assert row["message"] == ("proxyVersion '^1\\.22.*' does not match ASM's proxy version 1.24.6: 1 of 1 patch(es) "
                              "stop applying when the workloads move to ASM's proxy")
    assert row["remediation"].startswith("Make proxyVersion match 1.24.6 (e.g. '^1\\.24.*') or drop it. ")
    assert 'kubectl --kubeconfig="${ASM_KUBECONFIG:?}" -n myns edit envoyfilter/hcm-tweaks' in row["remediation"]


def test_a_per_version_pair_is_compatible_when_its_asm_twin_exists(audit):
    # The user already added the ASM twin: the 1.22 one serves Istio's proxies only and goes with them.
    objects = [hcm_tweaks("^1\\.22.*"), hcm_tweaks("^1\\.24.*", name="hcm-tweaks-asm")]
    [row] = audit({"c1": objects}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")


def test_asm_proxies_seen_in_the_data_plane_count_too(audit):
    # ASM's instance says 1.24.6, but pods still run an older ASM proxy the filter does not match.
    old_asm = f.pod("cart-1", proxy="asm", image="registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:"
                    "v1.22.6.54-g0a1b2c3-aliyun")
    [row] = audit({"c1": [hcm_tweaks("^1\\.24.*"), old_asm]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2810")
    assert "does not match ASM's proxy version 1.22.6:" in row["message"]


def test_removed_envoy_names_and_v2_types_fail_naming_each_and_its_replacement(audit):
    rows = audit({"c1": [lua_filter_from_istio_1_6()]}, "uninstall", config=WITH_ASM).rows(CHECK)
    by_code = {r["code"]: r for r in rows}
    assert sorted(by_code) == ["AA2811", "AA2812"]
    assert [r["status"] for r in rows] == ["FAIL", "FAIL"]
    names = by_code["AA2811"]
    assert names["name"] == "test-lua"
    assert [(n["name"], n["use"]) for n in names["evidence"]["names"]] == [
        ("envoy.http_connection_manager", "envoy.filters.network.http_connection_manager"),
        ("envoy.router", "envoy.filters.http.router"),
        ("envoy.lua", "envoy.filters.http.lua")]
    assert ("envoy.lua at configPatches[0].patch.value.name (use envoy.filters.http.lua)"
            in names["message"])
    [v2] = by_code["AA2812"]["evidence"]["types"]
    assert (v2["type"], v2["use"]) == ("type.googleapis.com/envoy.config.filter.http.lua.v2.Lua",
                                       "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua")


def test_installer_generated_filters_warn_that_they_go_with_istio(audit):
    objects = [stats_filter("1.16", istioctl=True), stats_filter("1.16", tcp=True)]
    rows = audit({"c1": objects}, "migrating", config=WITH_ASM).rows(CHECK)
    assert sorted((r["status"], r["code"], r["name"], r["severity"]) for r in rows) == [
        ("PASS", "AA2801", "", "major"),
        ("WARN", "AA2820", "stats-filter-1.16", "minor"),
        ("WARN", "AA2820", "tcp-stats-filter-1.16", "minor")]
    by_name = {r["name"]: r for r in rows}
    assert "ASM needs no equivalent" in by_name["stats-filter-1.16"]["message"]
    assert by_name["stats-filter-1.16"]["remediation"].startswith(
        "Nothing to carry to ASM: do not import it. `istioctl uninstall --purge` deletes it")
    assert "`helm uninstall` of the istiod release" in by_name["tcp-stats-filter-1.16"]["remediation"]
    assert by_name[""]["message"] == ("2 EnvoyFilter(s), all compatible with ASM's proxies (1.24.6); 2 generated by "
                                      "Istio's installer (warned)")


def test_a_copy_of_the_stats_filter_without_installer_labels_is_judged_as_the_users(audit):
    copy = stats_filter("1.16")
    copy["metadata"].pop("labels")
    [row] = audit({"c1": [copy]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2810")
    assert "3 of 3 patch(es)" in row["message"]


def test_invalid_or_non_re2_regex_is_unknown(audit):
    objects = [hcm_tweaks("^1\\.(2[2-4", name="broken"), hcm_tweaks("^(?!1\\.22)1\\..*", name="lookahead")]
    rows = audit({"c1": objects}, "migrating", config=WITH_ASM).by_name(CHECK)
    assert sorted((r["status"], r["code"]) for r in rows.values()) == [("UNKNOWN", "AA2830"), ("UNKNOWN", "AA2830")]
    assert "is not a valid regex" in rows["broken"]["message"]
    assert "lookaround or backreference, which RE2 (istiod) refuses" in rows["lookahead"]["message"]


def test_unknown_asm_version_is_unknown_for_proxy_version_filters_never_pass(audit):
    objects = [hcm_tweaks("^1\\.24.*"), hcm_tweaks(None, name="unversioned")]
    rows = audit({"c1": objects}, "migrating", config=ONLY).rows(CHECK)
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("UNKNOWN", "AA2831", "hcm-tweaks")]
    assert "ASM's proxy version is unknown" in rows[0]["message"]


def test_asm_proxies_alone_bound_nothing_for_new_injections(audit):
    asm_pod = f.pod("cart-1", proxy="asm")  # proxyv2:v1.24.6.62-g5c7e1f0b-aliyun
    [row] = audit({"c1": [hcm_tweaks("^1\\.24.*"), asm_pod]}, "migrating", config=ONLY).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2831")
    assert "new injections get the instance's version" in row["message"]


def test_a_regex_matching_one_spelling_of_asm_version_only_is_unknown(audit):
    [row] = audit({"c1": [hcm_tweaks("^1\\.24\\.6$")]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA2832")
    assert row["message"] == ("proxyVersion '^1\\.24\\.6$' matches 1.24.6 but not 1.24.6.62-g5c7e1f0b-aliyun: "
                              "which of them ASM's proxies report is not documented")


def test_no_envoyfilter_is_not_applicable_and_unreadable_is_unknown(audit):
    [row] = audit({"c1": []}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"], row["message"]) == ("NOT_APPLICABLE", "AA2840", "no EnvoyFilter in the cluster")
    [row] = audit({"c1": [hcm_tweaks(None)]}, "migrating", config=WITH_ASM,
                  unreadable={"c1": {K.ENVOYFILTER: "forbidden"}}).rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")



GATES = ["migrating", "uninstall"]
EXCLUDED_MESSAGE = ("proxyVersion '^1\\.22.*' does not match ASM's proxy version 1.24.6: 1 of 1 patch(es) stop "
                    "applying when the workloads move to ASM's proxy")


def _counting_judge(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(cluster, filter) of every EnvoyFilter judged."""
    judged: list[tuple[str, str]] = []
    judge_one = EnvoyFilterCompatibility._judge

    def counting(self: EnvoyFilterCompatibility, cluster: ClusterInventory, obj: dict[str, Any],
                 *args: Any) -> Iterator[Finding]:
        judged.append((cluster.name, obj["metadata"]["name"]))
        return judge_one(self, cluster, obj, *args)

    monkeypatch.setattr(EnvoyFilterCompatibility, "_judge", counting)
    return judged


def test_each_filter_is_judged_once_for_both_gates_and_each_gate_keeps_its_findings(audit, monkeypatch):
    judged = _counting_judge(monkeypatch)
    rows = audit({"c1": [hcm_tweaks("^1\\.22.*"), lua_filter_from_istio_1_6()]}, "all",
                 config=WITH_ASM).rows(CHECK)
    assert judged == [("c1", "hcm-tweaks"), ("c1", "test-lua")]  # once per audit (before: once per gate, 4 calls)
    assert [(r["gate"], r["status"], r["code"], r["name"], r["severity"]) for r in rows] == [
        (gate, "FAIL", code, name, "major") for gate in GATES
        for code, name in (("AA2810", "hcm-tweaks"), ("AA2811", "test-lua"), ("AA2812", "test-lua"))]
    by_gate = {gate: [(r["message"], r["remediation"], r["evidence"]) for r in rows if r["gate"] == gate]
               for gate in GATES}
    assert by_gate["migrating"] == by_gate["uninstall"]
    assert by_gate["migrating"][0][0] == EXCLUDED_MESSAGE


def test_a_fleet_judged_cluster_by_cluster_judges_each_filter_once(audit, monkeypatch):
    """Two data planes: judged one at a time, envoyfilter-compatibility after every cluster was read
    (reads_other_clusters); each cluster's filters still once for both gates, each gate with its own findings."""
    judged = _counting_judge(monkeypatch)
    one_at_a_time = judge._judge_one_at_a_time
    paths: list[str] = []

    def recording(*args: Any) -> list[Finding]:
        paths.append("one at a time")
        return one_at_a_time(*args)

    monkeypatch.setattr(judge, "_judge_one_at_a_time", recording)
    result = audit({"c1": [hcm_tweaks("^1\\.22.*")], "c2": [hcm_tweaks(None, name="open")]}, "all",
                   config=WITH_ASM)
    assert paths == ["one at a time"]
    assert judged == [("c1", "hcm-tweaks"), ("c2", "open")]  # before: 4 calls
    assert [(r["gate"], r["cluster"], r["status"], r["code"], r["name"], r["message"])
            for r in result.rows(CHECK)] == [
        (gate, cluster, status, code, name, message) for gate in GATES
        for cluster, status, code, name, message in (
            ("c1", "FAIL", "AA2810", "hcm-tweaks", EXCLUDED_MESSAGE),
            ("c2", "PASS", "AA2801", "", "1 EnvoyFilter(s), all compatible with ASM's proxies (1.24.6)"))]


# -- Wasm plugins of the null VM (compiled into Istio's proxy): istio/proxy@1.17.0 registers envoy.wasm.stats,
# envoy.wasm.attributegen, envoy.wasm.metadata_exchange, envoy.wasm.null.stackdriver and envoy.wasm.access_log_policy
# (extensions/*: RegisterNullVmPluginFactory); @1.18.0 stats and attributegen are gone, @1.23.0 every one. A proxy
# without the plugin logs "Failed to load NullVM plugin" and rejects the listener ("Unable to create Wasm HTTP
# filter": istio/istio issues 45921 and 47042, EnvoyFilters users kept past 1.18).

def custom_stats(proxy_version: str | None, name: str = "custom-stats") -> dict[str, Any]:
    """A user's copy of the installer's stats filter (the null-VM shape of istio/istio@1.17.0 manifests/charts/
    istio-control/istio-discovery/templates/telemetryv2_1.13.yaml, with its own metrics configuration), without the
    installer's labels, its proxyVersion dropped or widened so that it survives upgrades."""
    obj = stats_filter("1.13")
    obj["metadata"].pop("labels")
    obj["metadata"]["name"] = name
    for patch in obj["spec"]["configPatches"]:
        if proxy_version is None:
            patch["match"].pop("proxy")
        else:
            patch["match"]["proxy"]["proxyVersion"] = proxy_version
    return obj


def attributegen(proxy_version: str) -> dict[str, Any]:
    """An attributegen filter (null VM plugin envoy.wasm.attributegen, istio/proxy@1.17.0
    extensions/attributegen/plugin.cc) inserted before istio.stats, as Istio's classify-metrics task wrote it; the
    VM config spelled in protobuf JSON's camelCase, which the TypedStruct's value accepts as well."""
    return f.istio_object("EnvoyFilter", "istio-attributegen-filter", "shop", {
        "workloadSelector": {"labels": {"app": "reviews"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {
            "context": "SIDECAR_INBOUND", "proxy": {"proxyVersion": proxy_version},
            "listener": {"filterChain": {"filter": {"name": HCM, "subFilter": {"name": "istio.stats"}}}}},
            "patch": {"operation": "INSERT_BEFORE", "value": {"name": "istio.attributegen", "typed_config": {
                "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                "type_url": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "value": {"config": {
                    "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                                      "value": '{"attributes": [{"output_attribute": "istio_operationId", '
                                               '"match": [{"value": "GetReviews", "condition": '
                                               '"request.method == \'GET\'"}]}]}'},
                    "vmConfig": {"runtime": "envoy.wasm.runtime.null",
                                 "code": {"local": {"inlineString": "envoy.wasm.attributegen"}}}}}}}}}]})


def test_a_users_null_vm_stats_filter_without_proxy_version_fails(audit):
    for phase in ("migrating", "uninstall"):
        [row] = audit({"c1": [custom_stats(None)]}, phase, config=WITH_ASM).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2813", "major")
        assert (row["kind"], row["namespace"], row["name"]) == ("EnvoyFilter", "istio-system", "custom-stats")
        assert [p["plugin"] for p in row["evidence"]["plugins"]] == ["envoy.wasm.stats"] * 3
        assert row["evidence"]["plugins"][0]["path"] == ("configPatches[0].patch.value.typed_config.value.config."
                                                         "vm_config")
        # each plugin named once, with the patches loading it (read15: the message repeated the plugin and its whole
        # path per patch)
        assert "envoy.wasm.stats at configPatches[0], configPatches[1], configPatches[2]" in row["message"]
        assert 'kubectl --kubeconfig="${ASM_KUBECONFIG:?}" -n istio-system edit envoyfilter/custom-stats' in (
            row["remediation"])


def test_a_null_vm_plugin_whose_proxy_version_matches_asm_fails(audit):
    [row] = audit({"c1": [attributegen("^1\\..*")]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2813")
    assert [p["plugin"] for p in row["evidence"]["plugins"]] == ["envoy.wasm.attributegen"]


def test_a_null_vm_plugin_pinned_to_an_istio_release_is_judged_by_its_proxy_version_only(audit):
    # Pinned to 1.13: it never reaches ASM's proxies; excluded (AA2810) without an ASM twin, nothing with one.
    rows = audit({"c1": [custom_stats("^1\\.13.*")]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("FAIL", "AA2810")]
    twin = custom_stats("^1\\.24.*", name="custom-stats-asm")
    for patch in twin["spec"]["configPatches"]:  # the native stats filter (stats.PluginConfig, Istio >= 1.18)
        patch["patch"]["value"]["typed_config"] = {"@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                                                   "type_url": "type.googleapis.com/stats.PluginConfig", "value": {}}
    [row] = audit({"c1": [custom_stats("^1\\.13.*"), twin]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")


def test_a_null_vm_filter_with_an_unknown_asm_version_is_unknown_never_pass(audit):
    rows = audit({"c1": [attributegen("^1\\..*")]}, "migrating", config=ONLY).rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2831")]
    [row] = audit({"c1": [custom_stats(None)]}, "migrating", config=ONLY).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2813")


# -- match.proxy.metadata: istiod applies a patch only to proxies whose node metadata equals every entry
# (pilot/pkg/model/envoyfilter.go proxyMatch @1.30.3; istio/api networking/v1alpha3/envoy_filter.proto
# ProxyMatch.metadata). CLUSTER_ID comes from the install (injection-template.yaml ISTIO_META_CLUSTER_ID:
# global.multiCluster.clusterName, default "Kubernetes"); ASM's proxies carry the ACK cluster id (domain.md).

def metadata_filter(metadata: dict[str, str]) -> dict[str, Any]:
    obj = hcm_tweaks(None, name="cluster-local-tweaks")
    obj["spec"]["configPatches"][0]["match"]["proxy"] = {"metadata": metadata}
    return obj


def test_a_match_on_install_decided_proxy_metadata_is_unknown_never_pass(audit):
    [row] = audit({"c1": [metadata_filter({"CLUSTER_ID": "Kubernetes"})]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2834", "cluster-local-tweaks")
    assert row["evidence"]["metadata"] == {"CLUSTER_ID": "Kubernetes"}
    assert "CLUSTER_ID='Kubernetes'" in row["message"]


def test_a_match_on_metadata_the_pod_decides_passes(audit):
    [row] = audit({"c1": [metadata_filter({"NAMESPACE": "myns", "WORKLOAD_NAME": "httpbin"})]}, "migrating",
                  config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")


def test_istios_own_alpn_filter_config_is_not_envoys_v2_api(audit):
    # istiod's istio.alpn filter (pilot/pkg/xds/filters/filters.go @1.30.3) keeps the type
    # istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig, which istiod knows (pkg/config/xds/filter_types.gen.go
    # @1.22.0, 1.30.3) and Istio's proxy builds: a user's patch of its ALPN overrides applies on ASM's proxies.
    alpn = f.istio_object("EnvoyFilter", "alpn-http11", "myns", {
        "workloadSelector": {"labels": {"app": "legacy-client"}},
        "configPatches": [{"applyTo": "HTTP_FILTER", "match": {"context": "SIDECAR_OUTBOUND", "listener": {
            "filterChain": {"filter": {"name": HCM, "subFilter": {"name": "istio.alpn"}}}}},
            "patch": {"operation": "REPLACE", "value": {"name": "istio.alpn", "typed_config": {
                "@type": "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
                "alpn_override": [{"upstream_protocol": "HTTP11", "alpn_override": ["istio-http/1.1", "istio"]}]}}}}]})
    [row] = audit({"c1": [alpn]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")
    # Istio's other v2alpha1 types name filters Istio's proxy no longer builds (istio/proxy@1.24.0 has no proto package
    # istio.envoy.config.filter.network.tcp_cluster_rewrite; the `.global` rewrite of Istio 1.x multicluster): still
    # failed.
    rewrite = f.istio_object("EnvoyFilter", "sni-rewrite", "myns", {"configPatches": [{
        "applyTo": "NETWORK_FILTER", "match": {"listener": {"filterChain": {"filter": {
            "name": "envoy.filters.network.tcp_proxy"}}}},
        "patch": {"operation": "INSERT_BEFORE", "value": {"name": "istio.tcp_cluster_rewrite", "typed_config": {
            "@type": "type.googleapis.com/istio.envoy.config.filter.network.tcp_cluster_rewrite.v2alpha1."
                     "TcpClusterRewrite",
            "cluster_pattern": "\\.global$", "cluster_replacement": ".svc.cluster.local"}}}}]})
    [row] = audit({"c1": [rewrite]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2812")


def test_remediations_are_said_in_the_reports_language_commands_as_written(audit):
    """zh15: AA2810-AA2833's remediations were prose and commands joined in code, English inside a zh-CN report
    (blockers table, next steps); they are the outcomes' fix templates (AA2820's uninstall clause an i18n.Phrase).
    English as before; in zh-CN the prose is translated and the kubectl commands stay as written."""
    from auditor import i18n
    from auditor.findings import records
    from auditor.render.localize import localized

    objects = [hcm_tweaks("^1\\.22.*"), hcm_tweaks("^1\\.24\\.6$", name="one-spelling"), lua_filter_from_istio_1_6(),
               stats_filter("1.16", istioctl=True), stats_filter("1.16", tcp=True)]
    run = audit({"c1": objects}, "migrating", config=WITH_ASM)
    english = {(r["code"], r["name"]): r["remediation"] for r in run.rows(CHECK)}
    assert sorted(english) == [("AA2810", "hcm-tweaks"), ("AA2811", "test-lua"), ("AA2812", "test-lua"),
                               ("AA2820", "stats-filter-1.16"), ("AA2820", "tcp-stats-filter-1.16"),
                               ("AA2832", "one-spelling")]
    with i18n.language("zh-CN"):
        said = {(r["code"], r["name"]): r["remediation"] for r in records(localized(run.result).findings)
                if r["check_id"] == CHECK}
    for key, text in said.items():
        assert text != english[key], key
        for prose in ("Fix it where", "Nothing to carry", "Make proxyVersion", "Match the version", "uninstall --purge`"
                      " deletes", "of the istiod release"):
            assert prose not in text, (key, prose)
    edit = 'kubectl --kubeconfig="${ASM_KUBECONFIG:?}" -n myns edit envoyfilter/hcm-tweaks'
    assert edit in english[("AA2810", "hcm-tweaks")] and edit in said[("AA2810", "hcm-tweaks")]
    assert "'^1\\.24.*'" in said[("AA2810", "hcm-tweaks")]
    assert "`istioctl uninstall --purge`" in said[("AA2820", "stats-filter-1.16")]
    assert "`helm uninstall`" in said[("AA2820", "tcp-stats-filter-1.16")]
    assert "delete envoyfilter/tcp-stats-filter-1.16" in said[("AA2820", "tcp-stats-filter-1.16")]


# ---------------------------------------------------------------- the root namespace (red20a)
def root_mesh_configmap(root: str | None) -> dict[str, Any]:
    """Istio's mesh ConfigMap as istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates/
    configmap.yaml renders it: `rootNamespace: {{ .Values.meshConfig.rootNamespace | default
    .Values.global.istioNamespace }}` (None: a mesh config without the field, istiod's default istio-system)."""
    mesh = "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\ntrustDomain: cluster.local\n"
    if root is not None:
        mesh += f"rootNamespace: {root}\n"
    return f.configmap("istio", "istio-system", {"mesh": mesh, "meshNetworks": "networks: {}"},
                       labels={"istio.io/rev": "default", "operator.istio.io/component": "Pilot"})


def mesh_wide_lua(namespace: str) -> dict[str, Any]:
    """The Lua patch of istio/istio@1.24.6 tests/integration/pilot/common/routing.go (EnvoyFilter `outbound`: HCM ->
    router subFilter, INSERT_BEFORE, lua.v3.Lua), without its workloadSelector, in `namespace`: in the root namespace
    it reaches every proxy (pilot/pkg/model/push_context.go EnvoyFilters @1.30.3)."""
    return f.istio_object("EnvoyFilter", "add-header", namespace, {"configPatches": [{
        "applyTo": "HTTP_FILTER", "match": {"context": "SIDECAR_INBOUND", "listener": {"filterChain": {"filter": {
            "name": HCM, "subFilter": {"name": "envoy.filters.http.router"}}}}},
        "patch": {"operation": "INSERT_BEFORE", "value": {"name": "envoy.filters.http.lua", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "inlineCode": "function envoy_on_response(h) h:headers():add('x-mesh', 'on') end"}}}}]})


def test_a_filter_in_istios_custom_root_namespace_narrows_on_asm(audit):
    """meshConfig.rootNamespace: istio-config. Istio applies add-header to every proxy; imported into ASM (root
    namespace istio-system) it reaches the proxies of istio-config only. Before: PASS AA2801."""
    objects = [f.istiod(), root_mesh_configmap("istio-config"), mesh_wide_lua("istio-config")]
    for phase in ("migrating", "uninstall"):
        [row] = audit({"c1": objects}, phase, config=WITH_ASM).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2814", "major")
        assert (row["namespace"], row["name"]) == ("istio-config", "add-header")
        assert row["evidence"]["istio_root_namespaces"] == {"istio-config": ["istio-system/istio"]}


def test_a_filter_in_istio_system_widens_on_asm_when_istios_root_is_elsewhere(audit):
    """Istio's root istio-config: add-header in istio-system reaches istio-system's proxies only; on ASM, whose root
    namespace istio-system is, every proxy. Before: PASS AA2801."""
    objects = [f.istiod(), root_mesh_configmap("istio-config"), mesh_wide_lua("istio-system")]
    [row] = audit({"c1": objects}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2815")
    assert (row["namespace"], row["name"]) == ("istio-system", "add-header")


def test_the_same_root_namespace_on_both_sides_passes(audit):
    # Explicit istio-system, the field left out (istiod's default), or ASM's root set to Istio's custom one.
    for root in ("istio-system", None):
        objects = [f.istiod(), root_mesh_configmap(root), mesh_wide_lua("istio-system")]
        [row] = audit({"c1": objects}, "migrating", config=WITH_ASM).rows(CHECK)
        assert (row["status"], row["code"]) == ("PASS", "AA2801")
    config = {**WITH_ASM, "asm": {"version": ASM_RAW, "mesh_config": {"rootNamespace": "istio-config"}}}
    objects = [f.istiod(), root_mesh_configmap("istio-config"), mesh_wide_lua("istio-config")]
    [row] = audit({"c1": objects}, "migrating", config=config).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")


def test_a_fleet_judged_cluster_by_cluster_still_knows_each_clusters_root_namespace(audit):
    """envoyfilter-compatibility runs after every data plane was read and released: Istio's root namespace is a view
    kept past the release (engine.KEPT_VIEWS), not read again from released ConfigMaps."""
    result = audit({"c1": [f.istiod(), root_mesh_configmap("istio-config"), mesh_wide_lua("istio-config")],
                    "c2": [f.istiod(), root_mesh_configmap(None), mesh_wide_lua("istio-system")]},
                   "migrating", config=WITH_ASM)
    assert sorted((r["cluster"], r["status"], r["code"]) for r in result.rows(CHECK)) == [
        ("c1", "FAIL", "AA2814"), ("c2", "PASS", "AA2801")]


# ---------------------------------------------------------------- Wasm files of Istio's proxy image (red20a)
def wasm_file_stats(proxy_version: str | None) -> dict[str, Any]:
    """A user's copy of the installer's stats filter as telemetry.v2.prometheus.wasmEnabled rendered it
    (istio/istio@1.16.0 manifests/charts/istio-control/istio-discovery/templates/telemetryv2_1.16.yaml: runtime
    envoy.wasm.runtime.v8, code.local.filename /etc/istio/extensions/stats-filter.compiled.wasm, a file
    pilot/docker/Dockerfile.proxyv2 @1.16.0 copies into the image and @1.18.0 no longer does)."""
    patch = _stats_patch("SIDECAR_OUTBOUND", HCM, "envoy.filters.http.router", "1.16")
    if proxy_version is None:
        del patch["match"]["proxy"]
    else:
        patch["match"]["proxy"]["proxyVersion"] = proxy_version
    patch["patch"]["value"]["typed_config"]["value"]["config"]["vm_config"] = {
        "vm_id": "stats_outbound", "runtime": "envoy.wasm.runtime.v8", "allow_precompiled": True,
        "code": {"local": {"filename": "/etc/istio/extensions/stats-filter.compiled.wasm"}}}
    return f.istio_object("EnvoyFilter", "custom-stats-wasm", "istio-system", {"configPatches": [patch]})


def test_a_wasm_module_from_istios_image_fails_where_it_reaches_asm(audit):
    """Before: PASS AA2801 (only the null VM's inline plugins were looked for)."""
    for version in (None, "^1\\..*"):
        [row] = audit({"c1": [wasm_file_stats(version)]}, "migrating", config=WITH_ASM).rows(CHECK)
        assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA2816", "major")
        assert [i["file"] for i in row["evidence"]["files"]] == ["/etc/istio/extensions/stats-filter.compiled.wasm"]
    # Pinned to an Istio release that had the file, with no ASM twin: judged by its proxyVersion alone.
    [row] = audit({"c1": [wasm_file_stats("^1\\.16.*")]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA2810")


def test_a_users_own_module_in_the_extensions_directory_is_not_the_images(audit):
    """review20: only the four files Dockerfile.proxyv2 @1.17.0 COPYs were Istio's image's; a user's module mounted
    there (sidecar.istio.io/userVolumeMount: Admiral's /etc/istio/extensions/dynamicrouter.wasm) goes wherever the
    mount goes. Before: FAIL AA2816."""
    own = wasm_file_stats(None)
    vm = own["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["config"]["vm_config"]
    vm["code"]["local"]["filename"] = "/etc/istio/extensions/dynamicrouter.wasm"
    [row] = audit({"c1": [own]}, "migrating", config=WITH_ASM).rows(CHECK)
    assert row["code"] != "AA2816"


def test_a_gateway_filter_with_a_selector_in_istio_system_is_left_to_its_selector(audit):
    """Istio's root istio-config: a filter in istio-system selecting the ingress gateway by its labels reaches, on
    ASM, pods carrying those labels in other namespaces too, which are rarely there: not judged a widening."""
    gateway_lua = mesh_wide_lua("istio-system")
    gateway_lua["spec"]["workloadSelector"] = {"labels": {"istio": "ingressgateway"}}
    [row] = audit({"c1": [f.istiod(), root_mesh_configmap("istio-config"), gateway_lua]}, "migrating",
                  config=WITH_ASM).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2801")


def test_a_filter_pinned_to_istios_release_in_the_custom_root_is_judged_by_its_proxy_version_alone(audit):
    """The Istio-only half of a per-version pair sits in Istio's custom root next to its ASM twin: the twin narrows
    on ASM (AA2814), the pinned one serves Istio's proxies only and goes with them."""
    pinned = mesh_wide_lua("istio-config")
    pinned["metadata"]["name"] = "add-header-122"
    pinned["spec"]["configPatches"][0]["match"]["proxy"] = {"proxyVersion": "^1\\.22.*"}
    twin = mesh_wide_lua("istio-config")
    twin["spec"]["configPatches"][0]["match"]["proxy"] = {"proxyVersion": "^1\\.24.*"}
    rows = audit({"c1": [f.istiod(), root_mesh_configmap("istio-config"), pinned, twin]}, "migrating",
                 config=WITH_ASM).rows(CHECK)
    assert [(r["name"], r["code"]) for r in rows] == [("add-header", "AA2814")]
