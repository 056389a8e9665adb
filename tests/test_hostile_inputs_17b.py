"""Hostile or odd input in ASM's OpenAPI answers beyond the CNI path: never a false GO (hostile17b).

hostile17 typed the path ASM's CNI state is read from. The other fields checks read from ASM's answers had no shape
rule; Alibaba Cloud's SDK types them (alibabacloud-servicemesh20200111 3.4.0 models.py):

- DescribeServiceMeshDetailResponseBodyServiceMeshServiceMeshInfo `version: str`, `service_mesh_id: str`
  (auditor/asm.asm_version: asm-version, envoyfilter-compatibility; mesh-config-parity's commands). A ServiceMeshInfo
  that is no object crashed asm-version and mesh-config-parity (UNKNOWN AA0002 naming no field); a Version that is no
  string was UNKNOWN AA0332 as if it did not parse.
- DescribeServiceMeshDetailResponseBodyServiceMeshSpecMeshConfig `outbound_traffic_policy: str`,
  `enable_locality_lb: bool`, `proxy` (...SpecMeshConfigProxy `enable_dnsproxying: bool`), `extra_configuration`
  (...SpecMeshConfigExtraConfiguration `termination_drain_duration: str`), `locality_lb` (...SpecMeshConfigLocalityLB
  `enabled: bool`): mesh-config-parity. Proxy, ExtraConfiguration or LocalityLB that is no object crashed it (AA0002);
  EnableDNSProxying "true" was read as ASM not saying, and the DNS-capture difference from Istio went unreported
  (WARN AA2420 with the SDK's true); an OutboundTrafficPolicy list was UNKNOWN as if absent.
- DescribeMeshMultiClusterNetworkResponseBody `multi_cluster_networks: Dict[str, MultiClusterNetworksValue]`
  (MultiClusterNetworksValue `network: str`, `enable_gateway: bool`, `gateway_name: str`): network-consistency and
  the cluster table (auditor/asm.network_items, auditor/result.asm_networks). EnableGateway "false" was read as not
  given, and ASM's cross-network IstioGateway for the cluster then passed the switch: PASS AA1903 where the SDK's
  false gives FAIL AA1912 (a blocker: a false GO); a Network list was compared as a network (FAIL AA1910 "ASM puts
  this cluster in network ['network-1']" where Istio's is network-1); a ClusterId list crashed the whole audit (exit
  4); one entry that is no object hid every other (UNKNOWN AA1930).

A saved answer (the snapshot's manifest asm_openapi, a file named by config asm.describe_service_mesh_detail /
multi_cluster_network) of other types is now refused, naming the field (exit 2). The SDK's from_map/to_map copy the
server's values without checking their types, so a live answer is held to the same rules: one that breaks them is
recorded as `MalformedAnswer` and the checks needing it are UNKNOWN naming it (never kept, never a GO).

Left as they were: ServiceMesh.Clusters and DescribeClustersInServiceMesh (asm.joined_clusters reads a list it cannot
read whole as UNKNOWN AA0732, tests/checks/test_migration_coverage.py).

Shapes: tests/checks/test_mesh_config_parity.py detail, tests/checks/test_network.py answer (the SDK's to_map
spelling) and the demo snapshot's answers (tests/fake_asm_openapi.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from auditor import api
from auditor.errors import UsageError
from auditor.findings import records
from tests import factory as f
from tests.checks import test_mesh_config_parity as parity
from tests.checks import test_network as network
from tests.checks.conftest import audit  # noqa: F401  (the fixture)
from tests.test_asm_openapi import (  # noqa: F401  (fixtures; `credentials` is tests/conftest.py's)
    asm_openapi,
    data_plane,
    live_args,
    run_cli,
    write_config,
)

PARITY = "mesh-config-parity"
VERSION = "asm-version"
NETWORK = "network-consistency"


# ---------------------------------------------------------------- DescribeServiceMeshDetail beyond the CNI path
def _detail(change) -> dict[str, Any]:
    """ASM's MeshConfig as the SDK types it (REGISTRY_ONLY, DNS proxying on, 5s termination drain, locality on),
    then `change`d."""
    answer = parity.detail(OutboundTrafficPolicy="REGISTRY_ONLY", Proxy={"EnableDNSProxying": True},
                           ExtraConfiguration={"TerminationDrainDuration": "5s"}, LocalityLB={"Enabled": True})
    change(answer["DescribeServiceMeshDetail"])
    return answer


def _info(d: dict[str, Any]) -> dict[str, Any]:
    return d["ServiceMesh"]["ServiceMeshInfo"]


def _mesh_config(d: dict[str, Any]) -> dict[str, Any]:
    return d["ServiceMesh"]["Spec"]["MeshConfig"]


DETAIL_CASES = [
    (lambda d: d["ServiceMesh"].update(ServiceMeshInfo=[_info(d)]), r"ServiceMesh\.ServiceMeshInfo must be an object"),
    (lambda d: d["ServiceMesh"].update(ServiceMeshInfo="v1.24.6"), r"ServiceMesh\.ServiceMeshInfo must be an object"),
    (lambda d: _info(d).update(Version=["v1.24.6"]), r"ServiceMeshInfo\.Version must be a string"),
    (lambda d: _info(d).update(Version=1.26), r"ServiceMeshInfo\.Version must be a string"),
    (lambda d: _info(d).update(ServiceMeshId=["c3adfe9d5d949fb7fc79433dec16a6ecc"]),
     r"ServiceMeshInfo\.ServiceMeshId must be a string"),
    (lambda d: _mesh_config(d).update(OutboundTrafficPolicy=["REGISTRY_ONLY"]),
     r"MeshConfig\.OutboundTrafficPolicy must be a string"),
    (lambda d: _mesh_config(d).update(OutboundTrafficPolicy={"Mode": "REGISTRY_ONLY"}),
     r"MeshConfig\.OutboundTrafficPolicy must be a string"),
    (lambda d: _mesh_config(d).update(Proxy=[{"EnableDNSProxying": True}]), r"MeshConfig\.Proxy must be an object"),
    (lambda d: _mesh_config(d)["Proxy"].update(EnableDNSProxying="true"),
     r"MeshConfig\.Proxy\.EnableDNSProxying must be true or false"),
    (lambda d: _mesh_config(d).update(ExtraConfiguration="TerminationDrainDuration=5s"),
     r"MeshConfig\.ExtraConfiguration must be an object"),
    (lambda d: _mesh_config(d)["ExtraConfiguration"].update(TerminationDrainDuration=5),
     r"ExtraConfiguration\.TerminationDrainDuration must be a string"),
    (lambda d: _mesh_config(d).update(LocalityLB=[{"Enabled": True}]), r"MeshConfig\.LocalityLB must be an object"),
    (lambda d: _mesh_config(d)["LocalityLB"].update(Enabled="false"),
     r"MeshConfig\.LocalityLB\.Enabled must be true or false"),
    (lambda d: (_mesh_config(d).pop("LocalityLB"), _mesh_config(d).update(EnableLocalityLB="false")),
     r"MeshConfig\.EnableLocalityLB must be true or false"),
]


@pytest.mark.parametrize(("change", "field"), DETAIL_CASES)
@pytest.mark.parametrize(("check", "gate"), [(PARITY, "migrating"), (VERSION, "setup")])
def test_a_saved_mesh_detail_of_other_types_is_bad_input(audit, change, field, check, gate):  # noqa: F811
    """Main: UNKNOWN AA0002 (ServiceMeshInfo, Proxy, ExtraConfiguration, LocalityLB no object), the field read as
    absent (the DNS-capture WARN AA2420 gone; UNKNOWN AA2431 for the outbound policy; asm-version UNKNOWN AA0332), or
    the field unread and the check judged on the rest. Now: exit 2 naming the field, whichever check reads the
    answer."""
    with pytest.raises(UsageError, match=r"'asm_openapi' answer 'DescribeServiceMeshDetail': .*" + field):
        audit({"cluster-a": parity.cluster()}, gate, asm=[f.migration_cr("Migrating")],
              asm_openapi=_detail(change), config=f.only_checks(check))


@pytest.mark.parametrize(("change", "field"), DETAIL_CASES[::3])
def test_a_mesh_detail_file_of_other_types_named_in_the_config_is_bad_input(audit, tmp_path, change, field):  # noqa: F811
    """The same answer saved to a file named by config asm.describe_service_mesh_detail: exit 2 naming the file."""
    path = tmp_path / "detail.json"
    path.write_text(json.dumps(_detail(change)["DescribeServiceMeshDetail"]))
    with pytest.raises(UsageError, match=rf"saved ASM OpenAPI answer {path} \(DescribeServiceMeshDetail\): .*{field}"):
        audit({"cluster-a": parity.cluster()}, "migrating", asm=[f.migration_cr("Migrating")],
              config={"asm": {"describe_service_mesh_detail": str(path)}, **f.only_checks(PARITY)})


def test_the_dns_capture_difference_is_reported_from_an_answer_as_the_sdk_types_it(audit):  # noqa: F811
    """Control: with the SDK's bool, ASM's DNS proxying differing from Istio's is WARN AA2420 (the value a string
    "true" hid on main); null fields are absent (ASM's SDK leaves out what it does not set)."""
    a = audit({"cluster-a": parity.cluster()}, "migrating", asm=[f.migration_cr("Migrating")],
              asm_openapi=_detail(lambda d: None), config=f.only_checks(PARITY))
    assert parity.codes(a.rows(PARITY)) == [("FAIL", "AA2413"), ("UNKNOWN", "AA2431"), ("WARN", "AA2420")]
    nulls = _detail(lambda d: (_mesh_config(d).update(Proxy=None, LocalityLB={"Enabled": None}),
                               _info(d).update(Version=None)))
    a = audit({"cluster-a": parity.cluster()}, "migrating", asm=[f.migration_cr("Migrating")], asm_openapi=nulls,
              config=f.only_checks(PARITY))
    assert parity.codes(a.rows(PARITY)) == [("FAIL", "AA2413"), ("UNKNOWN", "AA2431")]


# ---------------------------------------------------------------- DescribeMeshMultiClusterNetwork
def _networks(change) -> dict[str, Any]:
    """tests/checks/test_network.py answer: cluster c-a in network-1 with the switch on, then `change`d."""
    answer = network.answer(c_a=("network-1", True))
    change(answer["DescribeMeshMultiClusterNetwork"])
    return answer


def _entry(d: dict[str, Any]) -> dict[str, Any]:
    return d["MultiClusterNetworks"]["c-a"]


NETWORK_CASES = [
    (lambda d: _entry(d).update(EnableGateway="false"), r"MultiClusterNetworks\['c-a'\]\.EnableGateway must be true "
                                                        r"or false"),
    (lambda d: _entry(d).update(EnableGateway=0), r"\['c-a'\]\.EnableGateway must be true or false"),
    (lambda d: _entry(d).update(Network=["network-1"]), r"MultiClusterNetworks\['c-a'\]\.Network must be a string"),
    (lambda d: _entry(d).update(Network=1), r"\['c-a'\]\.Network must be a string"),
    (lambda d: _entry(d).update(GatewayName=["asm-cross-network-m1"]), r"\['c-a'\]\.GatewayName must be a string"),
    (lambda d: d["MultiClusterNetworks"].update({"c-b": "network-2"}), r"MultiClusterNetworks\['c-b'\] must be an "
                                                                       r"object"),
    (lambda d: d["MultiClusterNetworks"].update({"c-a": [_entry(d)]}), r"MultiClusterNetworks\['c-a'\] must be an "
                                                                       r"object"),
    (lambda d: d["MultiClusterNetworks"].update({"c-a": None}), r"MultiClusterNetworks must map strings to objects"),
    (lambda d: d.update(MultiClusterNetworks="c-a"), r"MultiClusterNetworks must be an object"),
    (lambda d: d.update(MultiClusterNetworks=["c-a"]), r"MultiClusterNetworks\[0\] must be an object"),
    (lambda d: d.update(MultiClusterNetworks={"Networks": [{"ClusterId": ["c-a"], "Network": "network-1"}]}),
     r"MultiClusterNetworks\.Networks\[0\]\.ClusterId must be a string"),
    (lambda d: d.update(MultiClusterNetworks=[{"ClusterId": "c-a", "Network": "network-1", "EnableGateway": "true"}]),
     r"MultiClusterNetworks\[0\]\.EnableGateway must be true or false"),
    (lambda d: d.update(MultiClusterNetworks=None, multiClusterNetworks={
        "c-a": {"network": "network-1", "enableGateway": "false"}}),
     r"multiClusterNetworks\['c-a'\]\.enableGateway must be true or false"),
]


def _network_audit(audit, asm_openapi=None, config=None):  # noqa: F811
    """cluster-a (id c-a) in Istio network network-1 with an east-west gateway; ASM's cross-network IstioGateway
    targets it (tests/checks/test_network.py test_switch_inferred_from_cross_network_istiogateway)."""
    cr = f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"])
    return audit({"cluster-a": [network.istio_system("network-1"), *network.eastwest("network-1")]}, "migrating",
                 asm=[cr], config={"asm": {"cluster_ids": network.IDS, **(config or {})}}, asm_openapi=asm_openapi)


@pytest.mark.parametrize(("change", "field"), NETWORK_CASES)
def test_a_saved_multi_cluster_network_answer_of_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: EnableGateway "false" or 0 PASS AA1903 (ASM's switch off, read as not given, the IstioGateway taken for
    it); the Network list or number FAIL AA1910 naming ['network-1'] or 1; an entry that is no object UNKNOWN AA1930
    (every entry hidden); the ClusterId list a TypeError out of the audit (exit 4). Now: exit 2 naming the field."""
    with pytest.raises(UsageError, match=r"'asm_openapi' answer 'DescribeMeshMultiClusterNetwork': .*" + field):
        _network_audit(audit, _networks(change))


@pytest.mark.parametrize(("change", "field"), NETWORK_CASES[::4])
def test_a_multi_cluster_network_file_of_other_types_named_in_the_config_is_bad_input(audit, tmp_path, change,  # noqa: F811
                                                                                     field):
    path = tmp_path / "networks.json"
    path.write_text(json.dumps(_networks(change)["DescribeMeshMultiClusterNetwork"]))
    with pytest.raises(UsageError,
                       match=rf"saved ASM OpenAPI answer {path} \(DescribeMeshMultiClusterNetwork\): .*{field}"):
        _network_audit(audit, config={"multi_cluster_network": str(path)})


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: None, ("PASS", "AA1902")),
    (lambda d: _entry(d).update(EnableGateway=False), ("FAIL", "AA1912")),
    (lambda d: _entry(d).update(EnableGateway=None), ("PASS", "AA1903")),  # null: not given
    (lambda d: d.update(MultiClusterNetworks={"Networks": [{"ClusterId": "c-a", "Network": "network-1",
                                                            "EnableGateway": False}]}), ("FAIL", "AA1912")),
    (lambda d: d.update(MultiClusterNetworks=[{"ClusterId": "c-a", "Network": "network-1", "EnableGateway": False}]),
     ("FAIL", "AA1912")),
    (lambda d: d.update(MultiClusterNetworks={}, multiClusterNetworks={
        "c-a": {"network": "network-1", "enableGateway": False, "gatewayName": "", "customGatewayAddress": ""}}),
     ("FAIL", "AA1912")),
])
def test_a_multi_cluster_network_answer_as_the_sdks_write_it_is_read_as_before(audit, change, expected):  # noqa: F811
    """Control, as on main: the Python SDK's map by cluster id, the TypeScript SDK's camel case (its empty
    MultiClusterNetworks {} as the Python to_map writes it), the list forms network_items reads."""
    a = _network_audit(audit, _networks(change))
    codes = network.codes_by_kind(a)
    assert codes[("cluster-a", "Namespace")] == ("PASS", "AA1901")
    assert codes[("cluster-a", "MultiClusterNetwork")] == expected


# ---------------------------------------------------------------- live: the SDK does not check the types
def test_a_live_answer_of_other_types_is_unknown_naming_it(tmp_path, capsys, credentials, asm_openapi,  # noqa: F811
                                                           data_plane):  # noqa: F811
    """The SDK's MultiClusterNetworksValue.from_map copies Network as the server sent it. Main: a Network list
    ["network-1"] compared as a network, FAIL AA1910 (exit 1) against Istio's network-1. Now: the answer is not
    kept, network-consistency UNKNOWN naming the action and MalformedAnswer (exit 3), and asm-version still judged
    on the well-formed DescribeServiceMeshDetail."""
    answers = asm_openapi.meshes[asm_openapi.mesh_id]
    broken = copy.deepcopy(answers["DescribeMeshMultiClusterNetwork"])
    broken["MultiClusterNetworks"]["ccd5fb440ca044596d71f6863e74de82e"]["Network"] = ["network-1"]
    answers["DescribeMeshMultiClusterNetwork"] = broken
    out = tmp_path / "out"
    code, err = run_cli(capsys, "run", "--phase", "migrating", *live_args(data_plane, asm_openapi),
                        "--config", str(write_config(tmp_path)), "--out", str(out), "--format", "json")
    assert code == 3
    doc = json.loads((out / "findings.json").read_text())
    found = [(r["check_id"], r["status"]) for r in doc["findings"]]
    assert found == [(NETWORK, "UNKNOWN")]
    assert "ASM OpenAPI DescribeMeshMultiClusterNetwork: MalformedAnswer" in doc["findings"][0]["message"]
    assert "Traceback" not in err
    setup = api.run_audit(api.Target(kubeconfig=str(data_plane), context="prod-a"), "setup",
                          write_config(tmp_path, mesh_id=asm_openapi.mesh_id, region="cn-hangzhou",
                                       endpoint=asm_openapi.url))
    assert [(r["check_id"], r["status"]) for r in records(setup.findings)] == [(VERSION, "PASS")]


# ---------------------------------------------------------------- the manifest's bookkeeping beside the answers
@pytest.mark.parametrize(("extra", "key"), [
    ({"_errors": ["DescribeServiceMeshDetail"]}, "_errors"),
    ({"_errors": {"DescribeServiceMeshDetail": ["Forbidden.RAM"]}}, "_errors"),
    ({"_origins": ["detail.json"]}, "_origins"),
    ({"_read_from": "c3adfe9d5d949fb7fc79433dec16a6ecc"}, "_read_from"),
])
def test_the_manifests_openapi_bookkeeping_of_other_types_is_bad_input(audit, extra, key):  # noqa: F811
    """`snapshot` writes asm_openapi `_errors` (action -> one line) and `_read_from` (mesh_id, region, read_at: strings)
    beside the answers (auditor/sources/asm_openapi.py read_asm_openapi); the engine keeps `_origins` (action ->
    file). Main: `_errors` or `_origins` as a list crashed the audit (AttributeError out of run_audit: exit 4 with
    the demo snapshot); a failed read's line as a list was carried into messages as its repr; `_read_from` of another
    type was ignored. Now: exit 2 naming the key."""
    with pytest.raises(UsageError, match=rf"'asm_openapi' '{key}' must map strings to strings"):
        audit({"cluster-a": parity.cluster()}, "migrating", asm=[f.migration_cr("Migrating")],
              asm_openapi={**parity.detail(OutboundTrafficPolicy="ALLOW_ANY"), **extra}, config=f.only_checks(PARITY))


def test_the_manifests_openapi_bookkeeping_as_snapshot_writes_it_is_read_as_before(audit):  # noqa: F811
    """Control: a failed read recorded by `snapshot` is UNKNOWN naming it, as on main."""
    failed = {"_errors": {"DescribeServiceMeshDetail": "ASM OpenAPI DescribeServiceMeshDetail: Forbidden.RAM"},
              "_read_from": {"mesh_id": "c3adfe9d5d949fb7fc79433dec16a6ecc", "region": "cn-hangzhou",
                             "read_at": "2026-12-06T23:00:00Z"}}
    a = audit({"cluster-a": parity.cluster()}, "migrating", asm=[f.migration_cr("Migrating")], asm_openapi=failed,
              config=f.only_checks(PARITY))
    assert {r["status"] for r in a.rows(PARITY)} == {"UNKNOWN"}
    assert any("Forbidden.RAM" in r["message"] for r in a.rows(PARITY))
