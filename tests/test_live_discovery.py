"""Discovery and lists that disagree, through the real kubernetes client and tests/fakeapi.py: never "not served".

A kind is "not served" (its CRD absent: nothing of it to judge) only when discovery does not list it. When discovery
lists it and the list (or the group/version's own discovery) then answers 404, the API server's views disagree: on a
real kube-apiserver they are separate informers (the aggregator's APIServices for ``/apis``, the CRD discovery
handler for ``/apis/<group>/<version>``, the CRD handler's lister for lists), per replica, and a replica that has not
(or no longer) seen a CRD answers the delegate chain's NotFound (FakeApiServer.replica_without_crd cites the sources).
Read as "not served", every object of the kind vanished: an EnvoyFilter that fails (NO-GO) became "no EnvoyFilter"
(NOT_APPLICABLE AA2840) and the run GO. Now the kind is UNKNOWN, the run INCOMPLETE (exit 3).

EnvoyFilter shape: istio/istio@1.6.0:tests/testdata/networking/envoyfilter-without-service/configs.yaml (see
tests/checks/test_envoyfilter.py, lua_filter_from_istio_1_6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor import api
from auditor.cli.main import main
from auditor.registry import load_registry
from tests.checks.test_envoyfilter import ASM_RAW, lua_filter_from_istio_1_6
from tests.fakeapi import FakeApiServer
from tests.test_faults import rows, serve, snapshot_cli
from tests.test_readonly import NOW

FOCUS = ("pods-xds-agent", "migration-resource", "manual-injection", "envoyfilter-compatibility")
NET = "networking.istio.io"


def config(tmp_path: Path) -> str:
    path = tmp_path / "focus.yaml"
    path.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks if c not in FOCUS]},
                                "asm": {"version": ASM_RAW}}))
    return str(path)


def target(tmp_path: Path, fake_api: FakeApiServer, fake_asm: FakeApiServer, *, envoyfilter: bool = True
           ) -> api.Target:
    return serve(tmp_path, fake_api, fake_asm, [lua_filter_from_istio_1_6()] if envoyfilter else [])


def test_the_failing_envoyfilter_is_no_go_when_every_answer_agrees(tmp_path, fake_api, fake_asm):
    """The control: the EnvoyFilter is read and fails (AA2811, AA2812: major), NO-GO."""
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "migrating", config(tmp_path), now=NOW)
    assert sorted((r["status"], r["code"]) for r in rows(result, "envoyfilter-compatibility")) == [
        ("FAIL", "AA2811"), ("FAIL", "AA2812")]
    assert result.exit_code == 1


def test_a_cluster_without_the_crd_has_no_envoyfilter_to_judge(tmp_path, fake_api, fake_asm):
    """The other control: absent from discovery, the kind is not served (NOT_APPLICABLE), and that is GO."""
    result = api.run_audit(target(tmp_path, fake_api, fake_asm, envoyfilter=False), "migrating", config(tmp_path),
                           now=NOW)
    assert [(r["status"], r["code"]) for r in rows(result, "envoyfilter-compatibility")] == [
        ("NOT_APPLICABLE", "AA2840")]
    assert result.exit_code == 0


def test_a_list_answering_404_after_discovery_listed_it_is_unknown_not_go(tmp_path, fake_api, fake_asm):
    """Old code: NOT_APPLICABLE AA2840 "the EnvoyFilter CRD is not served", exit 0 (GO) with a failing filter there."""
    fake_api.replica_without_crd(NET, "v1alpha3", "envoyfilters")
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "migrating", config(tmp_path), now=NOW)
    [row] = rows(result, "envoyfilter-compatibility")
    assert row["status"] == "UNKNOWN", row
    assert "/apis/networking.istio.io/v1alpha3/envoyfilters" in row["message"]
    assert [(r.path, r.status) for r in fake_api.requests if r.path.endswith("/envoyfilters")] == [
        ("/apis/networking.istio.io/v1alpha3/envoyfilters", 404)]
    assert (result.verdict.value, result.exit_code) == ("INCOMPLETE", 3)
    [cluster] = result.inventory.data_planes
    assert "envoyfilters.networking.istio.io" not in cluster.not_served


def test_a_group_version_whose_discovery_answers_404_while_apis_lists_it_is_unknown(tmp_path, fake_api, fake_asm):
    """Old code: the same GO, the version's resources taken as none."""
    fake_api.replica_without_crd(NET, "v1alpha3")
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "migrating", config(tmp_path), now=NOW)
    [row] = rows(result, "envoyfilter-compatibility")
    assert row["status"] == "UNKNOWN", row
    assert "/apis lists networking.istio.io/v1alpha3" in row["message"]
    assert (result.verdict.value, result.exit_code) == ("INCOMPLETE", 3)


def test_a_snapshot_taken_through_a_lagging_replica_records_the_kind_unread(tmp_path, fake_api, fake_asm, capsys):
    """The `snapshot` command records the kind as unread, not as "not served": the audit of it is INCOMPLETE."""
    served = target(tmp_path, fake_api, fake_asm)
    fake_api.replica_without_crd(NET, "v1alpha3", "envoyfilters")
    tarball = tmp_path / "snap.tar.gz"
    code = main(snapshot_cli(served, tarball))
    capsys.readouterr()
    assert code == 3
    result = api.run_audit(api.Target(snapshot=str(tarball)), "migrating", config(tmp_path), now=NOW)
    [row] = rows(result, "envoyfilter-compatibility")
    assert row["status"] == "UNKNOWN", row
    assert result.exit_code == 3


def test_the_migration_resource_list_answering_404_is_unknown_not_missing(tmp_path, fake_api, fake_asm):
    """On the ASM control plane: old code said FAIL AA0711 "the ASMMigrateFromIstio CRD is not served"."""
    fake_asm.replica_without_crd("istio.alibabacloud.com", "v1beta1", "asmmigratefromistios")
    result = api.run_audit(target(tmp_path, fake_api, fake_asm, envoyfilter=False), "migrating", config(tmp_path),
                           now=NOW)
    [row] = rows(result, "migration-resource")
    assert row["status"] == "UNKNOWN", row
    assert result.exit_code == 3


@pytest.mark.parametrize("fault", ["404", "without-pods"])
def test_a_core_api_without_pods_is_unknown_not_no_pods(tmp_path, fake_api, fake_asm, fault):
    """Every kube-apiserver serves pods at /api/v1 (kubernetes pkg/registry/core/rest/storage_core.go): a discovery
    without them (a proxy's 404, a mangled answer) proves no absence. Old code: pods-xds-agent PASS AA1102 "no pod runs
    Istio's proxy", with 6 Istio-proxied pods there."""
    body = None if fault == "404" else '{"kind":"APIResourceList","groupVersion":"v1","resources":[]}'
    fake_api.add_fault(r"^/api/v1$", 404 if body is None else 200, times=None, body=body)
    result = api.run_audit(target(tmp_path, fake_api, fake_asm, envoyfilter=False), "migrating", config(tmp_path),
                           now=NOW)
    pod_rows = rows(result, "pods-xds-agent")
    assert {r["status"] for r in pod_rows} == {"UNKNOWN"}
    assert any("though every Kubernetes API server serves pods there" in r["message"] for r in pod_rows)
    assert result.exit_code == 3


STATUS_200 = ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
              '"message":"etcdserver: request timed out","reason":"InternalError","code":500}')


@pytest.mark.parametrize("path, body", [
    (r"^/apis$", STATUS_200),
    (r"^/apis$", '{"kind":"APIGroupList","apiVersion":"v1"}'),
    (r"^/apis/networking.istio.io/v1alpha3$", STATUS_200),
    (r"^/apis/networking.istio.io/v1alpha3$", '{"apiVersion":"v1","groupVersion":"networking.istio.io/v1alpha3"}'),
], ids=["apis-status", "apis-without-groups", "group-version-status", "group-version-without-kind"])
def test_a_discovery_answer_that_is_not_a_discovery_list_is_unknown_not_go(tmp_path, fake_api, fake_asm, path, body):
    """kube-apiserver answers /apis with an APIGroupList and /apis/<g>/<v> with an APIResourceList (k8s.io/apiserver
    pkg/endpoints/discovery root.go, version.go). A 200 that is something else (a proxy's, a Status) lists nothing.
    Old code: read as an empty discovery, the EnvoyFilter CRD "not served", NOT_APPLICABLE AA2840, exit 0 (GO)."""
    fake_api.add_fault(path, 200, times=None, body=body)
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "migrating", config(tmp_path), now=NOW)
    [row] = rows(result, "envoyfilter-compatibility")
    assert row["status"] == "UNKNOWN", row
    assert (result.verdict.value, result.exit_code) == ("INCOMPLETE", 3)


def test_a_discovery_with_null_resources_is_an_empty_group_version(tmp_path, fake_api, fake_asm):
    """`"resources": null` is how Go writes an empty list: the kind is not served there (the control)."""
    fake_api.add_fault(r"^/apis/networking.istio.io/v1alpha3$", 200, times=None,
                       body='{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"networking.istio.io/v1alpha3",'
                            '"resources":null}')
    result = api.run_audit(target(tmp_path, fake_api, fake_asm), "migrating", config(tmp_path), now=NOW)
    assert [(r["status"], r["code"]) for r in rows(result, "envoyfilter-compatibility")] == [
        ("NOT_APPLICABLE", "AA2840")]
