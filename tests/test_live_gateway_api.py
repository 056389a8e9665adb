"""Gateway API kinds read live: the served version is discovered, an absent CRD means none there, RBAC grants them.

The fake API servers serve the Gateway API CRDs of a release (tests/fakeapi.GATEWAY_API_CRDS) through the
real kubernetes client, like a cluster with (or without) `kubectl apply -f standard-install.yaml`.
"""

from __future__ import annotations

from pathlib import Path

from auditor import api, rbac
from auditor.config import Config
from auditor.findings import records
from tests import factory as f
from tests.fakeapi import FakeApiServer

IMPORT = "istio-config-imported"
GWAPI_PREFIX = "/apis/gateway.networking.k8s.io/"


def target(tmp_path: Path, dp: FakeApiServer, asm: FakeApiServer) -> api.Target:
    kc = dp.write_kubeconfig(tmp_path / "dp.kubeconfig", context="prod-a")
    asm_kc = asm.write_kubeconfig(tmp_path / "asm.kubeconfig", context="asm")
    return api.Target(kubeconfig=str(kc), context="prod-a", asm_kubeconfig=str(asm_kc))


def gateway_api_objects(version: str, *, salt: str = "") -> list[dict]:
    """An Istio Gateway, an HTTPRoute and a TCPRoute attached to it, as the given Gateway API release stores them."""
    return [f.gateway_class("istio", api_version=version),
            f.k8s_gateway("web", "edge", api_version=version, uid_salt=salt),
            f.k8s_route("HTTPRoute", "shop", "shop", [{"name": "web", "namespace": "edge"}], api_version=version,
                        uid_salt=salt),
            f.k8s_route("TCPRoute", "db", "shop", [{"name": "web", "namespace": "edge"}], uid_salt=salt)]


def import_rows(result: api.AuditResult) -> list[dict]:
    return [r for r in records(result.findings) if r["check_id"] == IMPORT]


def lists(server: FakeApiServer) -> set[str]:
    return {r.path for r in server.requests if r.path.startswith(GWAPI_PREFIX) and r.path.count("/") == 4}


def test_served_versions_are_discovered_per_kind(tmp_path, fake_api, fake_asm):
    """Data plane on Gateway API v0.8 (v1beta1), ASM on v1.2 (v1): the same objects compare equal."""
    fake_api.install_gateway_api("v0.8")
    fake_api.load(gateway_api_objects("v1beta1"))
    fake_asm.install_gateway_api("v1.2")
    fake_asm.load([f.migration_cr("Migrating"), *gateway_api_objects("v1", salt="asm")[1:3]])  # no TCPRoute
    config = Config.model_validate(f.only_checks(IMPORT))
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "uninstall", config)
    rows = import_rows(result)
    assert [(r["status"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "TCPRoute.gateway.networking.k8s.io", "db")]
    assert lists(fake_api) == {GWAPI_PREFIX + p for p in (
        "v1beta1/gatewayclasses", "v1beta1/gateways", "v1beta1/httproutes", "v1alpha2/grpcroutes",
        "v1alpha2/tcproutes", "v1alpha2/tlsroutes", "v1beta1/referencegrants")}
    assert GWAPI_PREFIX + "v1/httproutes" in lists(fake_asm)


def test_cluster_without_gateway_api_crds_reads_none_and_has_nothing_to_import(tmp_path, fake_api, fake_asm):
    fake_api.load([f.istiod()])
    fake_asm.load([f.migration_cr("Migrating")])
    config = Config.model_validate(f.only_checks(IMPORT))
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "uninstall", config)
    (row,) = import_rows(result)
    assert row["status"] == "PASS" and row["message"] == "no Istio API object to import in this cluster"
    assert lists(fake_api) == set()  # not served: discovery said so, nothing was listed
    assert result.exit_code == 0


def test_rbac_grants_gateway_api_reads_on_both_planes():
    """One source: the role comes from the checks' kinds, so the new kinds are in it."""
    needed = rbac.required_kinds("all")
    data_plane = {k.plural for k in needed["data-plane"] if k.group == "gateway.networking.k8s.io"}
    asm = {k.plural for k in needed["asm"] if k.group == "gateway.networking.k8s.io"}
    assert data_plane == {"gatewayclasses", "gateways", "httproutes", "grpcroutes", "tcproutes", "tlsroutes",
                          "referencegrants"}
    assert asm == {"gateways", "httproutes", "grpcroutes", "tcproutes", "tlsroutes", "referencegrants"}
    role = rbac.cluster_role("data-plane", needed["data-plane"], "all")
    assert {"apiGroups": ["gateway.networking.k8s.io"], "resources": sorted(data_plane),
            "verbs": ["get", "list"]} in role["rules"]


def test_a_live_run_with_exactly_the_printed_role_reads_gateway_api(tmp_path, fake_api, fake_asm):
    fake_api.install_gateway_api("v1.2")
    fake_api.load(gateway_api_objects("v1"))
    fake_asm.install_gateway_api("v1.2")
    fake_asm.load([f.migration_cr("Migrating"), *gateway_api_objects("v1", salt="asm")[1:]])
    needed = rbac.required_kinds("uninstall")
    fake_api.enforce_rbac(rbac.cluster_role("data-plane", needed["data-plane"], "uninstall")["rules"])
    fake_asm.enforce_rbac(rbac.cluster_role("asm", needed["asm"], "uninstall")["rules"])
    config = Config.model_validate(f.only_checks(IMPORT))
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "uninstall", config)
    (row,) = import_rows(result)
    assert row["status"] == "PASS" and row["evidence"]["by_kind"] == {
        "Gateway.gateway.networking.k8s.io": 1, "HTTPRoute.gateway.networking.k8s.io": 1,
        "TCPRoute.gateway.networking.k8s.io": 1}
