"""migration-resource: which cluster was audited, read from the cluster itself (kube-system/ack-cluster-profile).

ASM's one ASMMigrateFromIstio moves every joined cluster; coverage compared ASM's list of joined cluster ids with the
audited clusters' ids, which only the user gave (fleet file, config asm.cluster_ids, snapshot manifest). Without ids,
clusters were matched by count: ASM listing c-prod-a and c-prod-b, an audit of two unnamed contexts, one of them a
staging cluster, gave PASS AA0701 at setup/migrating/finished (a false GO); one joined cluster and one kubeconfig
pointing at staging, the same. An id given for a context that reads another cluster was never noticed.

ACK writes a cluster's own id into ConfigMap kube-system/ack-cluster-profile, key `clusterid`, beside `uid` (the
account), `vpcid`, `vsw-zone`, `serviceCIDR`, `timezone`...; Alibaba Cloud's components GET it there:
kubernetes-sigs/alibaba-cloud-csi-driver@v1.6.3:pkg/cloud/metadata/ack_cluster_profile.go (Data["clusterid"],
Data["uid"]; its test fixture ack_cluster_profile_test.go holds clusterid and uid), pkg/ens/ens.go (clusterIdKey
"clusterid"); its .agents/skills/init-dev-env/SKILL.md (`kubectl get cm -n kube-system ack-cluster-profile
-ojsonpath='{.data}'`: clusterid, uid, vpcid). The ACK console guide shows `timezone` there too.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor import kinds as K
from auditor.errors import UsageError
from auditor.findings import records
from tests import factory as f
from tests.checks.test_migration_coverage import clusters_in_mesh, mesh_detail

CHECK = "migration-resource"
ID_A, ID_B = "c80f45444b3da447da60a911390c2a1b2", "cd55bd6e054b4c6ca18ec02614a9f0e31"
ID_STAGING = "c0a1b2c3d4e5f60718293a4b5c6d7e8f9"
WHOLE_INSTANCE = [("setup", "Init"), ("migrating", "SetupIstioForMigrate"), ("finished", "Migrating")]
EVERY_GATE = [*WHOLE_INSTANCE, ("uninstall", "Migrating")]


def ack_profile(cluster_id: Any = ID_A, *, data: Any = "as-written") -> dict[str, Any]:
    """kube-system/ack-cluster-profile as ACK writes it (keys as the sources above read them)."""
    if data == "as-written":
        data = {"clusterid": cluster_id, "uid": "1234567890123456", "vpcid": "vpc-bp1kd7yn4qnrvuvgabcde",
                "vsw-zone": "vsw-bp1s7u2bdtbqypf8abcde:cn-hangzhou-i,vsw-bp1ryj3j1vx0w93babcde:cn-hangzhou-k",
                "serviceCIDR": "192.168.0.0/16", "ipStack": "ipv4", "timezone": "Asia/Shanghai",
                "clustertype": "ManagedKubernetes", "profile": "Default"}
    cm = f.configmap("ack-cluster-profile", "kube-system", data)
    if data is None:
        del cm["data"]
    return cm


def run(audit, phase: str, state: str, openapi: dict | None, clusters: dict[str, list[dict]],
        ids: dict[str, str] | None = None, **kw: Any):
    config = {"asm": {"cluster_ids": ids}} if ids else None
    return audit({name: [f.istiod(), *objs] for name, objs in clusters.items()}, phase,
                 asm=[f.migration_cr(state)], config=config, asm_openapi=openapi, **kw)


def codes(found: list[dict]) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in found]


# ---------------------------------------------------------------- matching by count no longer passes a wrong cluster
@pytest.mark.parametrize(("gate", "state"), WHOLE_INSTANCE)
def test_two_joined_and_two_audited_one_of_them_staging_is_not_pass(audit, gate, state):
    """Main: PASS AA0701 (two unnamed clusters for two joined ids). The staging context says who it is."""
    run_ = run(audit, gate, state, clusters_in_mesh(ID_A, ID_B),
               {"prod-a": [ack_profile(ID_A)], "staging": [ack_profile(ID_STAGING)]})
    found = run_.rows(CHECK)
    assert run_.result.verdict.value == "NO-GO"
    [stranger] = [r for r in found if r["code"] == "AA0717"]
    assert (stranger["status"], stranger["cluster"], stranger["name"]) == ("FAIL", "staging", ID_STAGING)
    [missing] = [r for r in found if r["code"] == "AA0731"]
    assert missing["name"] == ID_B


@pytest.mark.parametrize(("gate", "state"), WHOLE_INSTANCE)
def test_two_joined_and_two_audited_without_any_id_is_unknown(audit, gate, state):
    """No id on either side (no ids given, no ack-cluster-profile): counting could take a staging cluster for a joined
    one. Main: PASS AA0701."""
    run_ = run(audit, gate, state, clusters_in_mesh(ID_A, ID_B), {"prod-a": [], "staging": []})
    found = run_.rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)
    assert run_.result.verdict.value != "GO"
    [unproven] = [r for r in found if r["code"] == "AA0732"]
    assert unproven["evidence"]["ack_cluster_profiles"] == {"prod-a": "absent", "staging": "absent"}


def test_one_joined_and_one_audited_context_on_staging_is_not_pass(audit):
    """Main: PASS AA0701 (one unnamed cluster taken for the one joined)."""
    result = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                 {"cluster-a": [ack_profile(ID_STAGING)]})
    found = result.rows(CHECK)
    assert ("FAIL", "AA0717") in codes(found)
    assert result.result.verdict.value == "NO-GO"


def test_one_joined_and_two_audited_without_ids_is_unknown(audit):
    """Main: PASS (one missing id "can be" either of two unnamed clusters); the other one is not joined."""
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                {"cluster-a": [], "cluster-x": []}).rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)


def test_two_joined_one_named_and_one_unnamed_is_unknown(audit):
    """Main: PASS (the one missing id taken for the one unnamed cluster)."""
    found = run(audit, "finished", "Migrating", clusters_in_mesh(ID_A, ID_B), {"cluster-a": [], "cluster-x": []},
                ids={"cluster-a": ID_A}).rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)


def test_a_single_cluster_mesh_without_a_profile_is_still_matched_by_count(audit):
    """One joined cluster, one audited cluster proven not to carry an ACK profile: taken as the same, and said."""
    [row] = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A), {"cluster-a": []}).rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA0701")
    assert row["evidence"]["matched_by_count"] == {"cluster-a": ID_A}


def test_a_single_cluster_whose_configmaps_were_not_read_is_not_matched_by_count(audit):
    """Its own id unknowable: it may be any ACK cluster."""
    from auditor import kinds as K

    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A), {"cluster-a": []},
                unreadable={"cluster-a": {K.CONFIGMAP: "configmaps is forbidden"}}).rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)


# ---------------------------------------------------------------- the profile names the cluster
@pytest.mark.parametrize(("gate", "state"), WHOLE_INSTANCE)
def test_the_profile_gives_the_id_the_user_did_not(audit, gate, state):
    """Two clusters judged one at a time (a snapshot fleet): each one's profile is kept once it is released."""
    run_ = run(audit, gate, state, clusters_in_mesh(ID_A, ID_B),
               {"cluster-a": [ack_profile(ID_A)], "cluster-b": [ack_profile(ID_B)]})
    found = run_.rows(CHECK)
    assert codes(found) == [("PASS", "AA0701")]
    assert found[0]["evidence"]["cluster_id_sources"] == {"cluster-a": "ack-cluster-profile",
                                                          "cluster-b": "ack-cluster-profile"}
    assert "matched_by_count" not in found[0]["evidence"]
    facts = {c["name"]: c for c in run_.result.clusters}
    assert (facts["cluster-b"]["cluster_id"], facts["cluster-b"]["cluster_id_source"]) == (ID_B, "ack-cluster-profile")
    assert facts["cluster-b"]["asm_joined"] is True
    rows = {r["cluster"]: r for r in run_.result.fleet}
    assert (rows["cluster-a"]["cluster_id"], rows["cluster-a"]["cluster_id_source"]) == (ID_A, "ack-cluster-profile")


def test_a_given_id_the_profile_confirms_passes(audit):
    found = run(audit, "migrating", "SetupIstioForMigrate", mesh_detail([ID_A, ID_B]),
                {"cluster-a": [ack_profile(ID_A)], "cluster-b": [ack_profile(ID_B)]},
                ids={"cluster-a": ID_A}).rows(CHECK)
    assert codes(found) == [("PASS", "AA0701")]
    assert found[0]["evidence"]["cluster_id_sources"] == {"cluster-a": "given, confirmed by ack-cluster-profile",
                                                          "cluster-b": "ack-cluster-profile"}


@pytest.mark.parametrize(("gate", "state"), [*EVERY_GATE, ("setup", "Migrating")])
def test_a_given_id_the_cluster_contradicts_fails_on_that_cluster(audit, gate, state):
    """The fleet file names cluster-b's id, its context reads staging: whatever the gate or state, every finding about
    cluster-b is about another cluster. Main: PASS AA0701/AA0702 where ASM's list was not given."""
    run_ = run(audit, gate, state, None, {"cluster-a": [ack_profile(ID_A)], "cluster-b": [ack_profile(ID_STAGING)]},
               ids={"cluster-a": ID_A, "cluster-b": ID_B})
    [conflict] = [r for r in run_.rows(CHECK) if r["code"] == "AA0718"]
    assert (conflict["status"], conflict["severity"]) == ("FAIL", "blocker")
    assert (conflict["cluster"], conflict["kind"], conflict["name"]) == ("cluster-b", "Cluster", ID_B)
    assert conflict["evidence"]["cluster_id_given"] == ID_B and conflict["evidence"]["cluster_id"] == ID_STAGING
    assert "kube-system ack-cluster-profile -o jsonpath='{.data.clusterid}'" in conflict["remediation"]
    assert "KUBECONFIG_CLUSTER_B" in conflict["remediation"]
    assert run_.result.verdict.value == "NO-GO"
    assert run_.result.cluster_verdicts["cluster-b"] == "NO-GO"
    assert not [r for r in run_.rows(CHECK) if r["code"] == "AA0718" and r["cluster"] == "cluster-a"]
    rows = {r["cluster"]: r for r in run_.result.fleet}
    assert rows["cluster-b"]["cluster_id_given"] == ID_B and rows["cluster-b"]["cluster_id"] == ID_STAGING


def test_a_contradicted_id_is_matched_by_the_cluster_read(audit):
    """The joined cluster the user named was not read; the one read is not joined."""
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                {"cluster-a": [ack_profile(ID_STAGING)]}, ids={"cluster-a": ID_A}).rows(CHECK)
    assert {("FAIL", "AA0718"), ("FAIL", "AA0717"), ("UNKNOWN", "AA0731")} <= set(codes(found))


# ---------------------------------------------------------------- hostile profiles: no id, no crash, no guess
HOSTILE = {
    "no clusterid": {"uid": "1234567890123456", "vpcid": "vpc-bp1kd7yn4qnrvuvgabcde"},
    "empty clusterid": {"clusterid": ""},
    "blank clusterid": {"clusterid": "   "},
    "no data": None,
    "empty data": {},
}


@pytest.mark.parametrize("data", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_profile_without_a_readable_id_is_no_id_and_not_taken_by_count(audit, data):
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                {"cluster-a": [ack_profile(data=data)]}).rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)
    [unproven] = [r for r in found if r["code"] == "AA0732"]
    assert unproven["evidence"]["ack_cluster_profiles"]["cluster-a"].startswith("ill-shaped")


@pytest.mark.parametrize("data", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_profile_without_a_readable_id_leaves_the_given_id(audit, data):
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                {"cluster-a": [ack_profile(data=data)]}, ids={"cluster-a": ID_A}).rows(CHECK)
    assert codes(found) == [("PASS", "AA0701")]


def test_two_different_copies_of_the_profile_are_no_id(audit):
    """A hand-made snapshot holding the profile twice (two clusters' `kubectl get` put together): neither is taken."""
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
                {"cluster-a": [ack_profile(ID_A), ack_profile(ID_STAGING)]}).rows(CHECK)
    assert ("UNKNOWN", "AA0732") in codes(found)
    assert not [r for r in found if r["code"] == "AA0718"]


def test_a_profile_elsewhere_than_kube_system_is_not_the_profile(audit):
    cm = ack_profile(ID_STAGING)
    cm["metadata"]["namespace"] = "default"
    found = run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A), {"cluster-a": [cm]},
                ids={"cluster-a": ID_A}).rows(CHECK)
    assert codes(found) == [("PASS", "AA0701")]


def test_a_non_string_clusterid_in_a_snapshot_is_refused_like_any_malformed_configmap(audit):
    """ConfigMap data maps strings to strings (auditor/sources/shapes.py): a snapshot holding a number is refused,
    naming the object (exit 2), as for every other ConfigMap."""
    with pytest.raises(UsageError, match="ack-cluster-profile"):
        run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
            {"cluster-a": [ack_profile(data={"clusterid": 123456})]})


def test_the_inventory_keeps_only_the_clusterid_of_the_profile():
    from auditor import kinds as K
    from auditor.inventory import slim

    kept = slim(K.CONFIGMAP, ack_profile(ID_A))
    assert kept["data"] == {"clusterid": ID_A}  # not the account id (uid), the VPC...
    other = slim(K.CONFIGMAP, f.configmap("kube-proxy-worker", "kube-system", {"config.conf": "mode: ipvs"}))
    assert "data" not in other


# ---------------------------------------------------------------- live: read with GET, captured by a snapshot
def test_live_reads_the_profile_with_gets_only_and_the_snapshot_keeps_its_id(tmp_path, fake_api, fake_asm):
    fake_api.load([f.namespace("istio-system"), f.namespace("kube-system"), f.istiod(), ack_profile(ID_STAGING)])
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    detail = tmp_path / "detail.json"
    detail.write_text(json.dumps(mesh_detail([ID_A])["DescribeServiceMeshDetail"]))
    config = tmp_path / "config.yaml"
    config.write_text(f"asm:\n  describe_service_mesh_detail: {detail}\n")
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="c")
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    target = api.Target(kubeconfig=str(kc), context="c", asm_kubeconfig=str(akc))
    out = tmp_path / "snap.tar.gz"
    live = api.run_audit(target, "all", api.load_config(str(config)), snapshot_out=out)
    found = [r for r in records(live.findings) if r["check_id"] == CHECK and r["gate"] == "migrating"]
    assert {("FAIL", "AA0717"), ("UNKNOWN", "AA0731")} <= set(codes(found))
    requests = fake_api.requests
    assert {r.method for r in requests} == {"GET"}
    assert any(r.path == "/api/v1/configmaps" for r in requests)
    assert not [r for r in requests if "secrets" in r.path.lower().split("/")]
    with tarfile.open(out) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile() and "configmaps" in m.name]
        written = [json.loads(tar.extractfile(n).read()) for n in names]  # type: ignore[union-attr]
    profiles = [o for doc in written for o in doc.get("items", [])
                if o["metadata"]["name"] == "ack-cluster-profile"]
    assert [p["data"] for p in profiles] == [{"clusterid": ID_STAGING}]
    offline = api.run_audit(api.Target(snapshot=str(out)), "migrating", api.load_config(str(config)))
    assert ("FAIL", "AA0717") in codes([r for r in records(offline.findings) if r["check_id"] == CHECK])
    assert Path(out).exists()


@pytest.mark.parametrize("gate", ["setup", "uninstall"])
def test_a_contradicted_id_is_said_when_the_migration_resource_cannot_be_read(audit, gate):
    """The conflict is about which cluster was read, not about ASMMigrateFromIstio: with the resource unreadable
    (AA0001, INCOMPLETE) main never said it, so --allow-unknown made the audit of the wrong cluster a GO."""
    clusters = {"cluster-a": [f.istiod(), ack_profile(ID_STAGING)]}
    run_ = audit(clusters, gate, asm=[f.migration_cr("Init")], config={"asm": {"cluster_ids": {"cluster-a": ID_A}}},
                 unreadable={"asm": {K.ASM_MIGRATION: "403 Forbidden: asmmigratefromistios"}})
    found = run_.rows(CHECK)
    assert {("UNKNOWN", "AA0001"), ("FAIL", "AA0718")} <= set(codes(found))
    assert run_.result.verdict.value == "NO-GO"
