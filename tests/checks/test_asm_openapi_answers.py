"""ASM's OpenAPI answers as Alibaba Cloud really returns (and users record) them: what may stand for the instance.

Shapes: DescribeServiceMeshDetail as alibabacloud-servicemesh20200111 3.4.0 models.py maps it
(DescribeServiceMeshDetailResponseBodyServiceMeshServiceMeshInfo: ServiceMeshId, RegionId, State, Version, Name,
Profile...; versions like `v1.24.6.41-g1a2b3c4-aliyun`). The error body is Alibaba Cloud's common error answer
(RequestId, HostId, Code, Message, Recommend; what ASM sends with HTTP 403 for Forbidden.RAM, as
tests/fake_asm_openapi.py answers).
The instance states: `running` at rest (aliyun/terraform-provider-alicloud
alicloud/resource_alicloud_service_mesh_service_mesh.go waits for "$.ServiceMeshInfo.State" == "running" after
CreateServiceMesh); `upgrading` and `upgrading_failed` during and after a failed upgrade (help.aliyun.com
api-servicemesh-2020-01-11-describeservicemeshupgradestatus, UpgradeDetail.MeshStatus).

Each of these passed asm-version (PASS AA0301) on main.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.sources.asm_openapi import AsmOpenApiTarget, read_asm_openapi
from tests import factory as f
from tests.checks.test_cni import RESTRICTED, meshed_cluster
from tests.factory import only_checks
from tests.fake_asm_openapi import FakeAsmOpenApi, demo_answers

CHECK = "asm-version"


class _AnyString(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)

    __hash__ = str.__hash__


ANY_STRING = _AnyString()
PROD, STAGING = "c3adfe9d5d949fb7fc79433dec16a6ecc", "cd8e3b0f1a2c44b6b8f0e2d4c6a8b0d2f"


def detail(mesh_id: str = PROD, version: str = "v1.24.6.41-g1a2b3c4-aliyun", *, region: str = "cn-hangzhou",
           state: str = "running") -> dict[str, Any]:
    return {"RequestId": "5B4D9E2A-7C1F-5A3B-9E8D-2F6A1C0B7E34", "ServiceMesh": {
        "Clusters": ["ccd5fb440ca044596d71f6863e74de82e"],
        "ServiceMeshInfo": {"ServiceMeshId": mesh_id, "RegionId": region, "State": state, "Version": version,
                            "Name": "mesh-prod", "Profile": "Default", "CreationTime": "2026-10-02T03:11:09Z",
                            "UpdateTime": "2026-11-09T07:02:11Z", "ErrorMessage": ""}}}


def read_from(mesh_id: str = PROD, region: str = "cn-hangzhou") -> dict[str, Any]:
    """What `asm-audit snapshot --asm-mesh-id --asm-region` records beside the answers (read_asm_openapi)."""
    return {"mesh_id": mesh_id, "region": region, "read_at": "2026-11-15T11:58:02Z"}


def version_row(run) -> tuple[str, str, str]:
    [row] = run.rows(CHECK)
    return row["status"], row["code"], row["message"]


def test_the_instance_the_config_names_passes_on_its_own_answer(audit):
    run = audit({"c1": []}, "setup", asm=[], config={"asm": {"mesh_id": PROD, "region": "cn-hangzhou"}},
                asm_openapi={"DescribeServiceMeshDetail": detail(), "_read_from": read_from()})
    assert version_row(run)[:2] == ("PASS", "AA0301")


def test_a_snapshot_of_another_instance_than_the_config_names_is_unknown(audit):
    # The config of production (asm.mesh_id), a snapshot taken of staging (already on 1.24): staging's answer was
    # judged as production's. Was PASS AA0301.
    run = audit({"c1": []}, "setup", asm=[], config={"asm": {"mesh_id": PROD, "region": "cn-hangzhou"}},
                asm_openapi={"DescribeServiceMeshDetail": detail(STAGING), "_read_from": read_from(STAGING)})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "MeshIdMismatch" in message and STAGING in message and PROD in message
    assert sum("MeshIdMismatch" in str(n) for n in run.result.notes) == 1  # a note, as a failed live read is


def test_a_snapshot_read_in_another_region_than_the_config_names_is_unknown(audit):
    run = audit({"c1": []}, "setup", asm=[], config={"asm": {"mesh_id": PROD, "region": "cn-beijing"}},
                asm_openapi={"DescribeServiceMeshDetail": detail(), "_read_from": read_from()})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "RegionMismatch" in message


def test_a_saved_answer_of_another_instance_than_the_config_names_is_unknown(audit, tmp_path):
    path = tmp_path / "detail.json"
    path.write_text(json.dumps(detail(STAGING)))
    run = audit({"c1": []}, "setup", asm=[], config={"asm": {"mesh_id": PROD, "region": "cn-hangzhou",
                                                            "describe_service_mesh_detail": str(path)}})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "MeshIdMismatch" in message


def test_a_saved_answer_of_another_instance_than_the_snapshot_read_is_unknown(audit, tmp_path):
    # The snapshot recorded production (1.22); the config names a detail file saved from staging (1.24).
    path = tmp_path / "detail.json"
    path.write_text(json.dumps(detail(STAGING)))
    run = audit({"c1": []}, "setup", asm=[], config={"asm": {"describe_service_mesh_detail": str(path)}},
                asm_openapi={"DescribeServiceMeshDetail": detail(PROD, "v1.22.6.54-g0123abc-aliyun"),
                             "_read_from": read_from()})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "MeshIdMismatch" in message


def test_a_recorded_error_answer_is_the_failed_read_it_records(audit):
    # The body ASM sends with HTTP 403, saved as the answer: was read as an answer that says nothing, and asm-version
    # passed on the istiod-1-24-6 Service instead (PASS AA0301); a failed read is UNKNOWN with the code.
    error = {"RequestId": "1C9F2B7E-3D4A-5E6B-8C7D-9E0F1A2B3C4D", "HostId": "servicemesh.aliyuncs.com",
             "Code": "Forbidden.RAM", "Message": "User not authorized to operate on the specified resource.",
             "Recommend": "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM"}
    run = audit({"c1": [f.service("istiod-1-24-6", "istio-system")]}, "setup", asm=[],
                asm_openapi={"DescribeServiceMeshDetail": error})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "DescribeServiceMeshDetail: Forbidden.RAM" in message


@pytest.mark.parametrize("state", ["upgrading", "upgrading_failed"])
def test_an_instance_not_running_has_no_settled_version(audit, state):
    run = audit({"c1": []}, "setup", asm=[], asm_openapi={"DescribeServiceMeshDetail": detail(state=state)})
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and repr(state) in message


def test_an_answer_without_a_state_still_gives_its_version(audit):
    answer = detail()
    del answer["ServiceMesh"]["ServiceMeshInfo"]["State"]
    run = audit({"c1": []}, "setup", asm=[], asm_openapi={"DescribeServiceMeshDetail": answer})
    assert version_row(run)[:2] == ("PASS", "AA0301")


# ---------------------------------------------------------------- live: the answer as the server sent it


def test_a_live_answer_without_the_cluster_list_is_not_an_empty_list(audit, credentials):
    """DescribeClustersInServiceMesh answered with its RequestId alone: the SDK's to_map wrote `Clusters: []`
    (alibabacloud-servicemesh20200111 3.4.0 models.py DescribeClustersInServiceMeshResponseBody.to_map), read as ASM
    saying no cluster is joined. The audited cluster, without a known id, then passed the instance-wide switch
    (PASS AA0701) although ASM's detail lists two joined clusters; what the server sent says nothing of them: UNKNOWN
    AA0732, as a recorded answer without the list."""
    with FakeAsmOpenApi() as fake:
        fake.meshes[fake.mesh_id]["DescribeClustersInServiceMesh"] = {}  # the fake adds the RequestId
        answers = read_asm_openapi(AsmOpenApiTarget(fake.mesh_id, "cn-hangzhou", fake.url))
    run = audit({"c1": [f.istiod()]}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")], asm_openapi=answers)
    found = [(r["status"], r["code"]) for r in run.rows("migration-resource")]
    assert ("UNKNOWN", "AA0732") in found  # main: [("PASS", "AA0701")] alone
    assert answers["DescribeClustersInServiceMesh"] == {"RequestId": ANY_STRING}


def test_a_live_answer_keeps_the_lists_the_server_sent(credentials):
    with FakeAsmOpenApi() as fake:
        answers = read_asm_openapi(AsmOpenApiTarget(fake.mesh_id, "cn-hangzhou", fake.url))
        _, sent = demo_answers()
    assert [c["ClusterId"] for c in answers["DescribeClustersInServiceMesh"]["Clusters"]] == [
        c["ClusterId"] for c in sent["DescribeClustersInServiceMesh"]["Clusters"]]
    assert answers["DescribeMeshMultiClusterNetwork"]["MultiClusterNetworks"] == sent[
        "DescribeMeshMultiClusterNetwork"]["MultiClusterNetworks"]


# ---------------------------------------------------------------- ASM's CNI plug-in, its exclusions unsaid
def test_a_cni_answer_without_its_exclusions_does_not_say_it_skips_none(audit):
    """InitCNIConfiguration {"Enabled": true} and no ExcludeNamespaces (the SDK's to_map leaves out a field the server
    sent no value for; models.py ...SidecarInjectorInitCNIConfiguration.to_map): read as "skips none", so the
    restricted namespace shop passed (PASS AA2602, GO). Which namespaces the plug-in skips is not said: UNKNOWN
    AA2636, as with asm.cni: true alone. An explicit "" still says it skips none."""
    answer = detail()
    answer["ServiceMesh"]["Spec"] = {"MeshConfig": {"SidecarInjector": {"InitCNIConfiguration": {"Enabled": True}}}}
    run = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=only_checks("cni-compatibility"),
                asm_openapi={"DescribeServiceMeshDetail": answer})
    [row] = run.rows("cni-compatibility")
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA2636", "shop")
    answer["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"]["InitCNIConfiguration"]["ExcludeNamespaces"] = ""
    run = audit({"cluster-a": meshed_cluster(RESTRICTED)}, "assessment", config=only_checks("cni-compatibility"),
                asm_openapi={"DescribeServiceMeshDetail": answer})
    [row] = run.rows("cni-compatibility")
    assert (row["status"], row["code"]) == ("PASS", "AA2602")


def test_a_live_error_body_with_status_200_is_the_failed_read_it_says(audit, credentials):
    """The SDK raises on a 4xx/5xx status only (alibabacloud_tea_openapi do_rpcrequest); an error body sent with 200 was
    mapped by its models to the RequestId alone, an answer that says nothing: asm-version passed on the istiod-1-24-6
    Service (PASS AA0301). It is the failed read it says, named with its code."""
    with FakeAsmOpenApi() as fake:
        fake.meshes[fake.mesh_id]["DescribeServiceMeshDetail"] = {
            "HostId": "servicemesh.aliyuncs.com", "Code": "Forbidden.RAM",
            "Message": "User not authorized to operate on the specified resource.",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=Forbidden.RAM"}  # the fake adds the RequestId
        answers = read_asm_openapi(AsmOpenApiTarget(fake.mesh_id, "cn-hangzhou", fake.url))
    run = audit({"c1": [f.service("istiod-1-24-6", "istio-system")]}, "setup", asm=[], asm_openapi=answers)
    status, _, message = version_row(run)
    assert status == "UNKNOWN" and "DescribeServiceMeshDetail: Forbidden.RAM" in message


def test_another_instances_networks_do_not_pass_network_consistency(audit):
    """The snapshot's DescribeMeshMultiClusterNetwork recorded from staging; the config names production: staging's
    networks matched the cluster's (PASS AA1901/AA1902 on main). Not production's answer: UNKNOWN."""
    from tests.checks.test_network import IDS, answer, eastwest, istio_system

    run = audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "migrating", asm=[],
                config={"asm": {"cluster_ids": IDS, "mesh_id": PROD, "region": "cn-hangzhou"}},
                asm_openapi={**answer(c_a=("network-1", True)), "_read_from": read_from(STAGING)})
    rows = run.rows("network-consistency")
    assert rows and {r["status"] for r in rows} == {"UNKNOWN"}
    assert any("MeshIdMismatch" in r["message"] for r in rows)
