"""migration-resource: the instance's one ASMMigrateFromIstio moves every joined cluster, audited or not.

ASM creates one ASMMigrateFromIstio `default` per instance (the seed: "Once the cluster is added to ASM, the ASM
instance will automatically create an ASMMigrateFromIstio resource"; its multi-cluster example moves clusters a and b,
networks network-1 and network-2, through the same state switches). A CAB report of one cluster gave GO for the
switch to Migrating (or Finished) while ASM's own answer listed a second joined cluster the audit never read: whether
its Istio sidecars carry PROXY_CONFIG_XDS_AGENT, or its Istio is uninstalled, was unknown. Main gave PASS AA0701.

Answers as ASM's OpenAPI returns them (Alibaba Cloud SDK for servicemesh 2020-01-11, e.g. alibabacloud-go
servicemesh-20200111 client.go: DescribeClustersInServiceMeshResponseBody.Clusters[] with ClusterId, Name, State,
ClusterType...; DescribeServiceMeshDetailResponseBodyServiceMesh.Clusters []*string; the API reference pages
api-servicemesh-2020-01-11-describeclustersinservicemesh / -describeservicemeshdetail show the same examples).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factory as f

CHECK = "migration-resource"
ID_A, ID_B = "c80f45444b3da447da60a911390c2a1b2", "cd55bd6e054b4c6ca18ec02614a9f0e31"


def clusters_in_mesh(*ids: str) -> dict[str, Any]:
    """DescribeClustersInServiceMesh as the API returns it (one entry per joined cluster)."""
    return {"DescribeClustersInServiceMesh": {
        "RequestId": "31d3a0f0-07ed-4f6e-9004-1804498c1a2b",
        "Clusters": [{"ClusterId": cid, "Name": f"ack-prod-{n}", "State": "running", "ClusterType": "ManagedKubernetes",
                      "RegionId": "cn-hangzhou", "Version": "v1.30.1-aliyun.1", "VpcId": "vpc-2zew0rajjkmxy2369abcd",
                      "SgId": "sg-bp197668l6iupljyabcd", "CreationTime": "2026-11-09T14:21:33+08:00",
                      "UpdateTime": "2026-11-09T14:21:33+08:00", "ErrorMessage": "", "ClusterDomain": "cluster.local",
                      "LogtailInstalledState": "logtail_installed"} for n, cid in enumerate(ids)]}}


def mesh_detail(clusters: Any) -> dict[str, Any]:
    """DescribeServiceMeshDetail: ServiceMesh.Clusters, the joined clusters' ids."""
    return {"DescribeServiceMeshDetail": {
        "RequestId": "5D1C2A8E-7F34-5B9A-A0C1-3E6F2B9D4A71",
        "ServiceMesh": {"ServiceMeshInfo": {"ServiceMeshId": "c3adfe9d5d949fb7fc79433dec16a6ecc",
                                            "Version": "v1.24.6.62-g5c7e1f0b-aliyun", "State": "running"},
                        "Clusters": clusters}}}


def rows(audit, phase: str, state: str, openapi: dict | None, ids: dict[str, str] | None = None,
         clusters: tuple[str, ...] = ("cluster-a",)) -> list[dict]:
    config = {"asm": {"cluster_ids": ids}} if ids else None
    run = audit({name: [f.istiod()] for name in clusters}, phase, asm=[f.migration_cr(state)], config=config,
                asm_openapi=openapi)
    return run.rows(CHECK)


def codes(found: list[dict]) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in found]


@pytest.mark.parametrize(("gate", "state"), [("setup", "Init"), ("migrating", "SetupIstioForMigrate"),
                                             ("finished", "Migrating"), ("finished", "Finished")])
def test_joined_cluster_not_audited_blocks_the_instance_wide_switch(audit, gate, state):
    found = rows(audit, gate, state, clusters_in_mesh(ID_A, ID_B), ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0731") in codes(found)  # main: only the state's PASS
    [missing] = [r for r in found if r["code"] == "AA0731"]
    assert (missing["kind"], missing["name"]) == ("Cluster", ID_B)
    assert missing["evidence"]["asm_name"] == "ack-prod-1"
    assert missing["evidence"]["not_audited"] == [ID_B]


def test_every_joined_cluster_audited_passes(audit):
    found = rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A, ID_B),
                 ids={"cluster-a": ID_A, "cluster-b": ID_B}, clusters=("cluster-a", "cluster-b"))
    assert codes(found) == [("PASS", "AA0701")]
    assert found[0]["evidence"]["joined_clusters"] == [ID_A, ID_B]
    assert found[0]["evidence"]["not_audited"] == []


def test_service_mesh_detail_lists_the_ids_too(audit):
    found = rows(audit, "finished", "Migrating", mesh_detail([ID_A, ID_B]), ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0731") in codes(found)


def test_uninstall_is_per_cluster_and_not_held_by_other_clusters(audit):
    """istioctl uninstall --purge runs in the audited cluster: a cluster not audited does not hold it back."""
    found = rows(audit, "uninstall", "Migrating", clusters_in_mesh(ID_A, ID_B), ids={"cluster-a": ID_A})
    assert codes(found) == [("PASS", "AA0702")]


def test_a_gate_already_behind_the_migration_is_not_made_unknown(audit):
    found = rows(audit, "setup", "Migrating", clusters_in_mesh(ID_A, ID_B), ids={"cluster-a": ID_A})
    assert codes(found) == [("NOT_APPLICABLE", "AA0740")]


def test_no_answer_listing_the_clusters_changes_nothing(audit):
    """Without ASM's OpenAPI answers the joined clusters are not known: said in evidence, as before otherwise."""
    [row] = rows(audit, "migrating", "SetupIstioForMigrate", None)
    assert (row["status"], row["code"]) == ("PASS", "AA0701")
    assert row["evidence"]["joined_clusters"] is None


def test_one_joined_cluster_and_one_audited_without_an_id_is_taken_as_the_same(audit):
    [row] = rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A))
    assert (row["status"], row["code"]) == ("PASS", "AA0701")
    assert row["evidence"]["audited_without_cluster_id"] == ["cluster-a"]


def test_more_joined_clusters_than_audited_ones_without_ids_is_unknown(audit):
    found = rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A, ID_B))
    assert ("UNKNOWN", "AA0732") in codes(found)


@pytest.mark.parametrize("listed", ["c80f45444b3da447da60a911390c2a1b2", [ID_A, None], [ID_A, {"ClusterId": ID_B}],
                                    [ID_A, ""]])
def test_a_list_of_joined_clusters_that_cannot_be_read_whole_is_unknown(audit, listed):
    """One unreadable entry may be the cluster not audited: never taken as 'all audited'."""
    found = rows(audit, "migrating", "SetupIstioForMigrate", mesh_detail(listed), ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0732") in codes(found)


def test_an_unreadable_answer_is_unknown(audit):
    openapi = {"_errors": {"DescribeClustersInServiceMesh": "Forbidden.RAM: no permission"}}
    found = rows(audit, "finished", "Migrating", openapi, ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0732") in codes(found)


def test_the_fleet_overview_marks_the_audited_cluster_joined(audit):
    run = audit({"cluster-a": [f.istiod()]}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")],
                config={"asm": {"cluster_ids": {"cluster-a": ID_A}}}, asm_openapi=mesh_detail([ID_A, ID_B]))
    [cluster_a] = [c for c in run.result.clusters if c["name"] == "cluster-a"]
    assert cluster_a["asm_joined"] is True


@pytest.mark.parametrize(("gate", "state"), [("setup", "Init"), ("migrating", "SetupIstioForMigrate"),
                                             ("uninstall", "Migrating"), ("finished", "Migrating")])
def test_an_audited_cluster_not_joined_to_the_instance_fails(audit, gate, state):
    """The report judged a cluster ASM's list does not have (not added to the instance, or audited by mistake): the
    instance's switches do not reach it, and uninstalling its Istio leaves its workloads without a control plane."""
    found = rows(audit, gate, state, clusters_in_mesh(ID_B), ids={"cluster-a": ID_A})
    [stranger] = [r for r in found if r["code"] == "AA0717"]
    assert (stranger["status"], stranger["cluster"], stranger["name"]) == ("FAIL", "cluster-a", ID_A)
    assert stranger["severity"] == "blocker"
    assert stranger["evidence"]["audited_not_joined"] == {"cluster-a": ID_A}
