"""The live source through the real kubernetes client against the project's fake API server."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor import api, collect, inventory
from auditor.config import Config
from auditor.errors import UsageError
from auditor.findings import records
from auditor.sources import live
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.fakeapi import FakeApiServer


def mid_migration_cluster() -> list[dict]:
    """A data plane with Istio sidecars (native + classic), ASM proxies and a gateway: 23 pods."""
    objects: list[dict] = [f.namespace("istio-system", {"topology.istio.io/network": "network-1"}),
                           f.namespace("shop", {"istio-injection": "enabled"}),
                           f.istiod(), f.mesh_configmap()]
    cart = f.deployment("cart")
    web = f.deployment("web", template_labels={"app": "web", "sidecar.asm.aliyun.com/inject": "true"})
    gw = f.deployment("istio-ingressgateway", "istio-system", template_labels={"istio": "ingressgateway"})
    objects += [*cart, *web, *gw]
    objects += f.workload_pods(cart, 8, proxy="istio", native=True)
    objects += f.workload_pods(cart, 2, first=8, proxy="istio", native=False, xds_agent=None)
    objects += f.workload_pods(web, 10, proxy="asm")
    objects += f.workload_pods(gw, 3, proxy="istio", gateway=True, labels={"istio": "ingressgateway"})
    return objects


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "PAGE_SIZE", 7)


def serve(server: FakeApiServer, objects: list[dict], version: str = "v1.30.4-aliyun.1") -> None:
    server.register_kind("istio.alibabacloud.com", "v1beta1", "ASMMigrateFromIstio", "asmmigratefromistios",
                         namespaced=False)
    server.set_version(version)
    server.load(objects)


def target(tmp_path: Path, dp: FakeApiServer, asm: FakeApiServer | None) -> api.Target:
    kc = dp.write_kubeconfig(tmp_path / "dp.kubeconfig", context="prod-a")
    asm_kc = asm.write_kubeconfig(tmp_path / "asm.kubeconfig", context="asm") if asm else None
    return api.Target(kubeconfig=str(kc), context="prod-a", asm_kubeconfig=str(asm_kc) if asm_kc else None)


def test_live_uninstall_counts_sidecars_through_paged_lists(tmp_path, fake_api, fake_asm, small_pages):
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="auto")

    assert result.gate == "uninstall"  # Migrating + self-built istiod still there
    rows = [r for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining"]
    assert [(r["status"], r["kind"], r["namespace"], r["name"]) for r in rows] == [
        ("FAIL", "Deployment", "shop", "cart")]
    assert rows[0]["evidence"]["pod_count"] == 10 and rows[0]["evidence"]["native"] == 8
    assert result.verdict.value == "NO-GO" and result.exit_code == 1

    pod_lists = [r for r in fake_api.requests if r.path == "/api/v1/pods"]
    assert len(pod_lists) == 4  # 23 pods in pages of 7
    assert all("limit" in r.query for r in pod_lists)
    assert sum("continue" in r.query for r in pod_lists) == 3
    every = fake_api.requests + fake_asm.requests
    assert {r.method for r in every} == {"GET"}
    assert not any("/secrets" in r.path or "watch" in r.query for r in every)


def test_discovers_served_version_of_the_migration_resource(tmp_path, fake_api, fake_asm):
    serve(fake_api, mid_migration_cluster())
    fake_asm.register_kind("istio.alibabacloud.com", "v1", "ASMMigrateFromIstio", "asmmigratefromistios",
                           namespaced=False)
    fake_asm.load([f.migration_cr("Init", api_version="istio.alibabacloud.com/v1")])
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="auto")
    assert result.gate == "setup"
    assert any(r.path.startswith("/apis/istio.alibabacloud.com/v1/") for r in fake_asm.requests)


def test_snapshot_of_a_live_run_gives_the_same_findings(tmp_path, fake_api, fake_asm, small_pages):
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    snap = tmp_path / "snap.tar.gz"
    live_result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="all", snapshot_out=snap)
    offline = api.run_audit(sources=open_snapshot(snap), phase="all")

    def key(result):
        return sorted((r["gate"], r["check_id"], r["cluster"], r["namespace"], r["name"], r["status"],
                       r["message"]) for r in records(result.findings))

    assert key(live_result) == key(offline)
    assert len(key(offline)) > 10
    assert offline.verdict == live_result.verdict


def test_list_restarts_once_when_continue_token_expires(tmp_path, fake_api, fake_asm, small_pages):
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    fake_api.expire_continue_tokens(1)
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="uninstall")
    rows = [r for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining"]
    assert rows[0]["evidence"]["pod_count"] == 10  # no pod counted twice after the restart
    assert any(r.status == 410 for r in fake_api.requests)


def test_forbidden_pods_make_the_check_unknown_not_pass(tmp_path, fake_api, fake_asm):
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    fake_api.add_fault(r"^/api/v1/pods$", 403, times=None)
    only = Config.model_validate(f.only_checks("istio-sidecars-remaining"))
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="uninstall", config=only)
    rows = [r for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining"]
    assert [r["status"] for r in rows] == ["UNKNOWN"]
    assert "forbidden" in rows[0]["message"]
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3


def test_missing_kubeconfig_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        api.run_audit(api.Target(kubeconfig=str(tmp_path / "nope")), phase="uninstall")


def test_unknown_context_is_a_usage_error(tmp_path, fake_api):
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod-a")
    with pytest.raises(UsageError, match="cluster"):
        api.run_audit(api.Target(kubeconfig=str(kc), context="no-such-context"), phase="uninstall")


def test_malformed_kubeconfig_is_a_usage_error(tmp_path):
    kc = tmp_path / "kc"
    kc.write_text("apiVersion: v1\nclusters: [ {name: x\n")
    with pytest.raises(UsageError):
        api.run_audit(api.Target(kubeconfig=str(kc)), phase="uninstall")


def test_live_pod_pages_are_summarised_from_structs_not_by_the_dict_reader(tmp_path, fake_api, fake_asm, small_pages,
                                                                          monkeypatch):
    """Well-formed live pod pages are decoded into podwire.Pod Structs, read by attribute: not one pod is handed
    to the dict reader of summarise_pod (~40 µs a pod)."""
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    summarised: list[str] = []
    read_as_dicts: list[str] = []
    summarise_pods, summarise_pod = inventory.summarise_pods, inventory.summarise_pod

    def counted(pods, rules, into):
        summarised.extend(type(pod).__name__ for pod in pods)
        return summarise_pods(pods, rules, into)

    def dict_reader(pod, rules):
        read_as_dicts.append(type(pod).__name__)
        return summarise_pod(pod, rules)

    monkeypatch.setattr(collect, "summarise_pods", counted)
    monkeypatch.setattr(inventory, "summarise_pod", dict_reader)  # what summarise_pods hands a pod it cannot read
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="uninstall")
    rows = [r for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining"]
    assert rows[0]["evidence"]["pod_count"] == 10
    assert summarised == ["Pod"] * 23  # before the Struct reader: 23 times "dict"
    assert read_as_dicts == []


def test_an_object_too_deep_to_write_makes_its_kind_unknown_in_the_snapshot_not_a_crash(tmp_path, fake_api, fake_asm):
    """Istio configuration holds free-form JSON (an EnvoyFilter patch's value). orjson reads 1,024 levels but writes
    255: a live run with --snapshot-out crashed (TypeError: Recursion limit reached) after reading everything. Now
    the live audit stands and the snapshot records EnvoyFilters as not written, so its audit says UNKNOWN for them."""
    deep: dict = {}
    level = deep
    for _ in range(300):
        level["value"] = {}
        level = level["value"]
    envoyfilter = f.istio_object("EnvoyFilter", "deep-merge", "shop", {"configPatches": [
        {"applyTo": "HTTP_FILTER", "patch": {"operation": "MERGE", "value": deep}}]})
    serve(fake_api, [*mid_migration_cluster(), envoyfilter])
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    snap = tmp_path / "snap.tar.gz"
    live_result = api.run_audit(target(tmp_path, fake_api, fake_asm), phase="uninstall", snapshot_out=snap)
    live_rows = [r for r in records(live_result.findings) if r["check_id"] == "envoyfilter-compatibility"]
    assert live_rows and all(r["code"] != "AA0001" for r in live_rows)  # the live run judged the filter itself

    offline = api.run_audit(sources=open_snapshot(snap), phase="uninstall")
    [row] = [r for r in records(offline.findings) if r["check_id"] == "envoyfilter-compatibility"]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "EnvoyFilter shop/deep-merge could not be written to the snapshot" in row["message"]
    assert offline.verdict.value != "GO"
