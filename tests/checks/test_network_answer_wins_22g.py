"""network-consistency: ASM's own answer of a cluster's network against a network typed in the config (red22g).

ASM's per-cluster network is a setting of ASM's OpenAPI (DescribeMeshMultiClusterNetwork ->
MultiClusterNetworks.<cluster id>.Network: alibabacloud-servicemesh20200111 3.4.0 MultiClusterNetworksValue; ASM's API
reference api-servicemesh-2020-01-11-describemeshmulticlusternetwork); config asm.networks / a fleet file's `network:`
are what the user says it is (README: "Instead of typing them into the config, let the tool ask ASM itself"). Main
took the typed network over ASM's answer: config network-1 beside an answer putting the cluster in network-9 passed
AA1901 and the clusters table showed network-1, a GO while ASM's proxies treat the cluster as network-9. ASM's answer
is what ASM does: it is judged; the typed network only stands in for a cluster the answer gives none, and a
disagreement is in the evidence.
"""

from __future__ import annotations

from tests.checks.test_network import IDS, answer, codes_by_kind, eastwest, istio_system, rows_by_kind

NS = ("cluster-a", "Namespace")


def run(audit, asm_answer: dict, typed: dict[str, str], **objs):
    return audit({"cluster-a": [istio_system("network-1"), *eastwest("network-1")]}, "uninstall", asm=[],
                 config={"asm": {"cluster_ids": IDS, "networks": typed}}, asm_openapi=asm_answer)


def test_typed_network_does_not_hide_asms_answer(audit):
    """Main: PASS AA1901 on the typed network-1, GO."""
    a = run(audit, answer(c_a=("network-9", True)), {"cluster-a": "network-1"})
    row = rows_by_kind(a)[NS]
    assert (row["status"], row["code"]) == ("FAIL", "AA1910")
    assert row["evidence"]["asm_network"] == "network-9"
    assert row["evidence"]["asm_network_given"] == {"network": "network-1", "source": "config asm.networks"}
    assert a.result.verdict == "NO-GO"
    assert {c["name"]: c["asm_network"] for c in a.result.clusters if c["role"] == "data-plane"} == {
        "cluster-a": "network-9"}


def test_answer_equal_to_istios_passes_beside_a_stale_typed_network(audit):
    a = run(audit, answer(c_a=("network-1", True)), {"cluster-a": "network-7"})
    assert codes_by_kind(a)[NS] == ("PASS", "AA1901")
    assert rows_by_kind(a)[NS]["evidence"]["asm_network_given"]["network"] == "network-7"


def test_typed_network_stands_in_where_the_answer_gives_none(audit):
    """The answer lists only another cluster: the typed network is judged (as before)."""
    a = run(audit, answer(c_b=("network-2", True)), {"cluster-a": "network-1"})
    row = rows_by_kind(a)[NS]
    assert (row["status"], row["code"], row["evidence"]["asm_source"]) == ("PASS", "AA1901", "config asm.networks")
    assert "asm_network_given" not in row["evidence"]
