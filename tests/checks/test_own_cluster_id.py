"""The gateway and network checks match ASM's per-cluster settings by the id the cluster writes of itself.

ASM keys what it holds per data plane by ACK cluster id: an IstioGateway's spec.clusterIds and spec.overrides
(`Overrides map[string]IstioGatewayBasicConfiguration`, each with its ServiceAnnotations:
aliyun/alibabacloud-servicemesh-api@4df57487:alibabacloudservicemesh/v1/istiogateway_types.go), and
DescribeMeshMultiClusterNetwork's entries. ACK writes each cluster's own id into ConfigMap
kube-system/ack-cluster-profile, key `clusterid` (kubernetes-sigs/alibaba-cloud-csi-driver@v1.6.3:
pkg/cloud/metadata/ack_cluster_profile.go, `Data["clusterid"]`; the fixture is tests/checks/
test_migration_cluster_profile.ack_profile). auditor/clusterid.py decides the id used: the cluster's own, else the
given one. On main asm-gateways-present, ingress-lb-weights, cross-cluster-gateway-first, network-consistency and
the clusters table read only the given id: without one they could not tell (UNKNOWN) or skipped ASM's settings
(a false NOT_APPLICABLE), and with a wrong one they matched another cluster's IstioGateway or network entry.
"""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_gateways import GW_TIME, asm_side, eastwest, ingress, moved_pods
from tests.checks.test_migration_cluster_profile import ID_A, ID_B, ack_profile
from tests.checks.test_network import answer, istio_system

GW, LB, CN, NET = "asm-gateways-present", "ingress-lb-weights", "cross-cluster-gateway-first", "network-consistency"
CCM = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
WRONG = {"asm": {"cluster_ids": {"cluster-a": ID_B}}}  # the id given names another cluster than the one read


def outcomes(a, check: str) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(check)]


def conflict_named(a) -> None:
    """migration-resource names the conflict (AA0718): the verdict does not rest on the per-check evidence."""
    assert ("FAIL", "AA0718") in outcomes(a, "migration-resource")
    assert a.result.verdict.value == "NO-GO"


def said_both(row: dict) -> None:
    assert (row["evidence"]["cluster_id"], row["evidence"]["cluster_id_given"]) == (ID_A, ID_B)
    assert row["evidence"]["cluster_id_source"] == "ack-cluster-profile"


# ================================================================ asm-gateways-present
def test_gateway_listed_for_the_own_id_counts_without_a_given_id(audit):
    """No id given; the IstioGateway lists the cluster's own id, its Deployment not (yet) here: it targets this cluster
    and serves nothing here (FAIL AA1712). Main: UNKNOWN AA1730 (cluster id unknown)."""
    a = audit({"cluster-a": [*ingress(), ack_profile(ID_A)]}, "uninstall",
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=[ID_A])))
    [row] = a.rows(GW)
    assert (row["status"], row["code"]) == ("FAIL", "AA1712")
    assert (row["evidence"]["cluster_id"], row["evidence"]["cluster_id_source"]) == (ID_A, "ack-cluster-profile")


def test_gateway_listed_for_another_cluster_is_not_taken(audit):
    """No id given; the only IstioGateway lists another cluster: nothing replaces Istio's gateway here (FAIL AA1710,
    whose fix names the own id). Main: UNKNOWN AA1730."""
    a = audit({"cluster-a": [*ingress(), ack_profile(ID_A)]}, "uninstall",
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=[ID_B])))
    [row] = a.rows(GW)
    assert (row["status"], row["code"]) == ("FAIL", "AA1710")
    assert f"clusterIds: [{ID_A}]" in row["remediation"]


def test_gateway_of_the_wrongly_given_id_is_not_taken(audit):
    """Given ID_B, the cluster read is ID_A: ID_B's IstioGateway is not this cluster's. Main matched it (FAIL AA1712,
    'its Deployment is not here', on the evidence of another cluster's gateway)."""
    a = audit({"cluster-a": [*ingress(), ack_profile(ID_A)]}, "uninstall", config=WRONG,
              asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=[ID_B])))
    [row] = a.rows(GW)
    assert (row["status"], row["code"]) == ("FAIL", "AA1710")
    assert f"clusterIds: [{ID_A}]" in row["remediation"]
    said_both(row)
    conflict_named(a)


def test_configmaps_unread_use_the_given_id_as_before(audit):
    """ConfigMaps not read: the profile is not read, the given id is used, and no UNKNOWN comes of it."""
    a = audit({"cluster-a": [*ingress(), ack_profile(ID_B)]}, "uninstall", config={"asm": {"cluster_ids": {
        "cluster-a": ID_A}}}, asm=asm_side(f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=[ID_A])),
              unreadable={"cluster-a": {K.CONFIGMAP: "configmaps is forbidden"}})
    [row] = a.rows(GW)
    assert (row["status"], row["code"]) == ("FAIL", "AA1712")
    assert (row["evidence"]["cluster_id"], row["evidence"]["ack_cluster_profile"]) == (ID_A, "not read")


# ================================================================ ingress-lb-weights
def declared(*clusters: str, **lb_by_id: str) -> dict:
    """ASM's ingress IstioGateway for `clusters`, its Service's CLB and weight per cluster in spec.overrides."""
    return f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=list(clusters), overrides={
        cid: {"serviceAnnotations": {f"{CCM}id": lb, f"{CCM}weight": "60"}} for cid, lb in lb_by_id.items()})


def test_lb_weights_read_the_overrides_of_the_own_id(audit):
    """No id given: the IstioGateway for the own id declares Istio's CLB, Istio's Service still weighs 40. Main:
    NOT_APPLICABLE AA2040 (the IstioGateway skipped: 'no shared CLB')."""
    a = audit({"cluster-a": [*ingress("40"), ack_profile(ID_A)]}, "uninstall", asm=[declared(ID_A, **{ID_A: "lb-1"})])
    [row] = a.rows(LB)
    assert (row["status"], row["code"]) == ("FAIL", "AA2010")
    assert row["evidence"]["split"].startswith("Istio 40 : ASM 0")
    assert row["evidence"]["cluster_id"] == ID_A


def test_lb_weights_read_the_own_ids_overrides_not_the_given_ones(audit):
    """Given ID_B (its overrides: another CLB), the cluster read is ID_A (its overrides: Istio's CLB). Main read
    overrides[ID_B]: NOT_APPLICABLE AA2040."""
    a = audit({"cluster-a": [*ingress("40"), ack_profile(ID_A)]}, "uninstall", config=WRONG,
              asm=[f.migration_cr("Migrating"), declared(ID_A, ID_B, **{ID_A: "lb-1", ID_B: "lb-9"})])
    [row] = a.rows(LB)
    assert (row["status"], row["code"]) == ("FAIL", "AA2010")
    said_both(row)
    conflict_named(a)


# ================================================================ cross-cluster-gateway-first
def test_cross_network_gateway_for_the_own_id_counts(audit):
    """No id given; ASM's cross-network gateway lists the own id and was created before the first ASM proxy (its
    Deployment not seen here). Main: FAIL AA1811 (no cross-network gateway for the cluster). Taken for the cluster's,
    it is judged as one declared for it and not deployed here (AA1814, red22g; was PASS AA1801)."""
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z"), ack_profile(ID_A)]}, "migrating",
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=[ID_A], created=GW_TIME)])
    [row] = a.rows(CN)
    assert (row["status"], row["code"]) == ("FAIL", "AA1814")
    assert row["evidence"]["cluster_id"] == ID_A


def test_cross_network_gateway_of_another_cluster_is_not_taken(audit):
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z"), ack_profile(ID_A)]}, "migrating",
              config=WRONG, asm=[f.migration_cr("SetupIstioForMigrate"), f.istio_gateway_cr(
                  "asm-cross-network-m1", "cross-network", cluster_ids=[ID_B], created=GW_TIME)])
    [row] = a.rows(CN)
    assert (row["status"], row["code"]) == ("FAIL", "AA1811")
    said_both(row)
    conflict_named(a)


# ================================================================ network-consistency and the clusters table
def test_network_entry_of_the_own_id_without_a_given_id(audit):
    """ASM's answer is keyed by cluster id, none given: the own id finds the entry. Main: UNKNOWN AA1932 (cluster id
    unknown) and AA1934 (switch not seen); the clusters table showed no ASM network."""
    a = audit({"cluster-a": [istio_system("network-1"), *eastwest(), ack_profile(ID_A)]}, "migrating", asm=[],
              asm_openapi=answer(**{ID_A: ("network-1", True)}))
    assert sorted(outcomes(a, NET)) == [("PASS", "AA1901"), ("PASS", "AA1902")]
    [switch] = [r for r in a.rows(NET) if r["kind"] == "MultiClusterNetwork"]
    assert switch["name"] == ID_A
    [facts] = [c for c in a.result.clusters if c["name"] == "cluster-a"]
    assert facts["asm_network"] == "network-1"


def test_network_entries_of_a_fleet_judged_cluster_by_cluster(audit):
    """Two data planes from a snapshot are judged one at a time (engine._cluster_by_cluster): each own id is read
    when its cluster is, not before. Main: UNKNOWN AA1932 for both."""
    a = audit({"cluster-a": [istio_system("network-1"), ack_profile(ID_A)],
               "cluster-b": [istio_system("network-2"), ack_profile(ID_B)]}, "migrating", asm=[],
              asm_openapi=answer(**{ID_A: ("network-1", False), ID_B: ("network-2", False)}))
    assert {r["cluster"]: (r["status"], r["code"]) for r in a.rows(NET)} == {
        "cluster-a": ("PASS", "AA1901"), "cluster-b": ("PASS", "AA1901")}


def test_network_entry_of_the_own_id_not_the_given_ones(audit):
    """Given ID_B (ASM: network-2), the cluster read is ID_A (ASM: network-1, as Istio's). Main: FAIL AA1910 on
    another cluster's entry."""
    a = audit({"cluster-a": [istio_system("network-1"), ack_profile(ID_A)]}, "uninstall", config=WRONG,
              asm=[f.migration_cr("Migrating")], asm_openapi=answer(**{ID_A: ("network-1", True),
                                                                     ID_B: ("network-2", True)}))
    [row] = a.rows(NET)
    assert (row["status"], row["code"]) == ("PASS", "AA1901")
    said_both(row)
    conflict_named(a)


def test_network_configmaps_unread_use_the_given_id(audit):
    a = audit({"cluster-a": [istio_system("network-1"), ack_profile(ID_B)]}, "migrating", asm=[],
              config={"asm": {"cluster_ids": {"cluster-a": ID_A}}},
              asm_openapi=answer(**{ID_A: ("network-1", False), ID_B: ("network-2", False)}),
              unreadable={"cluster-a": {K.CONFIGMAP: "configmaps is forbidden"}})
    assert outcomes(a, NET) == [("PASS", "AA1901")]


# ================================================================ alone: no other check collects the ConfigMaps
def test_each_check_reads_the_profile_itself(audit):
    """Every other check disabled (migration-resource too): each reader lists ConfigMaps in its `uses`, so the own id
    is read all the same; a conflicting given id is named in its evidence, the only place left to say it."""
    a = audit({"cluster-a": [*ingress("40"), ack_profile(ID_A)]}, "uninstall",
              config={**WRONG, **f.only_checks(GW, LB)},
              asm=asm_side(declared(ID_A, **{ID_A: "lb-1"})))
    [gw] = a.rows(GW)
    assert (gw["status"], gw["code"]) == ("FAIL", "AA1712")
    [lb] = a.rows(LB)
    assert (lb["status"], lb["code"]) == ("FAIL", "AA2010")
    for row in (gw, lb):
        said_both(row)
    a = audit({"cluster-a": [*eastwest(), *moved_pods("2026-11-14T00:00:00Z"), ack_profile(ID_A)]}, "migrating",
              config=f.only_checks(CN),
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=[ID_A], created=GW_TIME)])
    assert outcomes(a, CN) == [("FAIL", "AA1814")]  # the own id's gateway, not deployed here (not AA1811: not taken)
