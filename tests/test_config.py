"""Config file validation: unknown keys and wrong types are one clear line and exit 2; aliases are noted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor import api
from auditor.cli.main import main
from auditor.config import Config, load_config
from auditor.errors import UsageError


def write(tmp_path: Path, text: str, name: str = "asm-audit.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


# ---------------------------------------------------------------- the product.md example
PRODUCT_EXAMPLE = """\
checks:
  disable: [graceful-shutdown-risk]
  severity: {istio-sidecars-remaining: blocker}
exemptions:
  - check: xds-agent-proxy-metadata
    namespace: legacy-*
    name: batch-*
    reason: "CHG-1234: jobs finish before cutover"
    owner: team-payments
    expires: 2027-01-31
prometheus: {url: http://prometheus:9090, window: 24h}
asm:
  version: v1.24.6.62-g5c7e1f0b-aliyun
  networks: {cluster-a: network-1, cluster-b: network-2}
gateways:
  istio_egress: istio-egressgateway
  asm_egress: asm-egressgateway
"""


def test_product_example_loads_and_maps_old_ids(tmp_path):
    config = load_config(write(tmp_path, PRODUCT_EXAMPLE))
    assert config.disabled() == {"restart-risk"}
    assert config.exemptions[0].check_id == "pods-xds-agent"
    assert config.exemptions[0].expires.isoformat() == "2027-01-31"
    assert config.asm.networks == {"cluster-a": "network-1", "cluster-b": "network-2"}
    assert config.aliases_used() == {"graceful-shutdown-risk": "restart-risk",
                                     "xds-agent-proxy-metadata": "pods-xds-agent"}
    assert "graceful-shutdown-risk -> restart-risk" in config.alias_note()


def test_catalogue_ids_give_no_alias_note(tmp_path):
    config = load_config(write(tmp_path, "checks: {disable: [pods-xds-agent]}\n"))
    assert config.alias_note() is None


# ---------------------------------------------------------------- unknown keys
@pytest.mark.parametrize(("text", "path", "allowed", "hint"), [
    ("gateway: {istio_egress: x}\n", "'gateway'", "checks, exemptions, prometheus", "gateways"),
    ("prometheus: {url: http://p:9090, windw: 1h}\n", "'prometheus.windw'", "url, window, timeout", "window"),
    ("exemptions:\n  - {check: pods-xds-agent, reason: r, nmae: batch-*}\n", "'exemptions[0].nmae'",
     "check, cluster, namespace, name, kind", "name"),
    ("asm: {networks: {a: n1}, clusterid: {a: x}}\n", "'asm.clusterid'", "networks", None),
])
def test_unknown_nested_key_names_dotted_path_and_allowed_keys(tmp_path, text, path, allowed, hint):
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    assert f"unknown key {path}" in message
    assert allowed in message
    if hint:
        assert f"did you mean '{hint}'" in message
    assert "\n" not in message


def test_unknown_key_exits_2_with_one_line_on_stderr(tmp_path, capsys, demo_dir):
    cfg = write(tmp_path, "checks:\n  disable: []\n  severities: {pods-xds-agent: minor}\n")
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out",
                        str(tmp_path / "out"), "--format", "json", "-q")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "unknown key 'checks.severities'" in lines[0] and "allowed: disable, severity" in lines[0]
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- wrong types and values
@pytest.mark.parametrize(("text", "expected"), [
    ("prometheus: {timeout: soon}\n", "'prometheus.timeout': Input should be a valid number"),
    ("checks: {severity: {istio-sidecars-remaining: critical}}\n",
     "'checks.severity.istio-sidecars-remaining': Input should be 'blocker', 'major', 'minor' or 'info'"),
    ("checks: {disable: pods-xds-agent}\n", "'checks.disable': Input should be a valid list"),
    ("exemptions:\n  - {check: pods-xds-agent, reason: r, expires: 2027-13-01}\n", "'exemptions[0].expires'"),
    ("exemptions:\n  - {check: pods-xds-agent, name: x}\n", "missing required key 'exemptions[0].reason'"),
    ("exemptions:\n  - {check: pods-xds-agent, name: x, reason: '  '}\n", "needs a non-empty reason"),
    ("exemptions:\n  - {check: '*', reason: everything}\n", "matches every check id: an exemption must name a check"),
    ("exemptions:\n  - {check: pods-xds-agent, reason: r, status: PASS}\n", "'exemptions[0].status[0]'"),
    ("classification: {asm_image_patterns: ['mirror.corp/(acs']}\n",
     "'classification.asm_image_patterns': not a regular expression"),
    ("- just\n- a list\n", "expected a mapping at the top level"),
    ("checks: [unclosed\n", "line 2: malformed YAML"),
])
def test_wrong_types_and_values_are_clear(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text))
    assert expected in str(err.value)
    assert str(err.value).startswith("config ")


def test_wrong_type_exits_2(tmp_path, capsys, demo_dir):
    cfg = write(tmp_path, "prometheus: {insecure_skip_verify: maybe}\n")
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out",
                        str(tmp_path / "out"), "--format", "json", "-q")
    assert code == 2
    assert "'prometheus.insecure_skip_verify'" in err and "maybe" in err


# asm.cni_exclude_namespaces: ASM's CNI plug-in ExcludeNamespaces (cni-compatibility), a list or ASM's own
# comma-separated string (UpdateMeshFeature CniExcludeNamespaces); [] for none.
@pytest.mark.parametrize(("text", "expected"), [
    ("asm: {cni_exclude_namespaces: [kube-system, shop]}\n", ["kube-system", "shop"]),
    ("asm: {cni_exclude_namespaces: 'kube-system, shop'}\n", ["kube-system", "shop"]),
    ("asm: {cni_exclude_namespaces: []}\n", []),
    ("asm: {cni_exclude_namespaces: ''}\n", []),
    ("asm: {cni: true}\n", None),
])
def test_cni_exclude_namespaces_as_list_or_asms_string(tmp_path, text, expected):
    assert load_config(write(tmp_path, text)).asm.cni_exclude_namespaces == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("asm:\n  cni_exclude_namespaces:\n", "'asm.cni_exclude_namespaces': give the namespaces"),
    ("asm: {cni_exclude_namespaces: [Shop]}\n", "'asm.cni_exclude_namespaces': not a namespace name: 'Shop'"),
    ("asm: {cni_exclude_namespaces: [shop/*]}\n", "not a namespace name: 'shop/*'"),
    ("asm: {cni_exclude_namespaces: [1]}\n", "not a namespace name: 1"),
    ("asm: {cni_exclude_namespaces: {shop: true}}\n", "expected a list of namespace names"),
])
def test_bad_cni_exclude_namespaces_is_one_clear_line(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_cni_exclude_namespaces_exits_2(tmp_path, capsys, demo_dir):
    cfg = write(tmp_path, "asm: {cni: true, cni_exclude_namespaces: 'kube-system;shop'}\n")
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out",
                        str(tmp_path / "out"), "--format", "json", "-q")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "'asm.cni_exclude_namespaces'" in err and "kube-system;shop" in err


def test_empty_file_is_the_default_config(tmp_path):
    assert load_config(write(tmp_path, "")) == Config()


def test_unknown_check_id_is_a_usage_error(tmp_path, demo_dir):
    cfg = write(tmp_path, "checks: {disable: [no-such-check]}\n")
    with pytest.raises(UsageError, match=r"unknown check id.*no-such-check"):
        api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", cfg)


# ---------------------------------------------------------------- aliases in a real run
def test_alias_in_exemption_applies_and_is_noted_once(tmp_path, capsys, demo_dir):
    # Old draft id in an exemption: it must act on pods-xds-agent and say so once on stderr.
    cfg = write(tmp_path, "exemptions:\n  - check: xds-agent-proxy-metadata\n    namespace: '*'\n"
                          "    reason: 'CHG-1: restarts scheduled'\n")
    out = tmp_path / "out"
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--phase", "migrating", "--config", str(cfg),
                        "--out", str(out), "--format", "json")
    # The demo is in state Migrating, so this gate is "already past" (a gate-selection blocker no exemption
    # reaches); the demo's Lua EnvoyFilter pinned to Istio 1.22 proxies blocks too (envoyfilter-compatibility),
    # and cluster-a's REGISTRY_ONLY against ASM's ALLOW_ANY (mesh-config-parity); every other finding that
    # blocks it is an exempted pods-xds-agent FAIL.
    assert code == 1
    assert err.count("xds-agent-proxy-metadata -> pods-xds-agent") == 1
    doc = json.loads((out / "findings.json").read_text())
    blocking = [r["check_id"] for r in doc["findings"] if r["status"] == "FAIL" and not r["exempt"]
                and r["severity"] in ("blocker", "major")]
    assert sorted(blocking) == ["envoyfilter-compatibility", "gate-selection", "mesh-config-parity"]
    assert any("xds-agent-proxy-metadata -> pods-xds-agent" in n for n in doc["notes"])
    xds = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent" and r["status"] == "FAIL"]
    assert xds, "the demo has Istio-sidecar pods without the xDS agent setting at the migrating gate"
    assert all(r["exempt"] and r["exempt_reason"].startswith("CHG-1: restarts scheduled") for r in xds)


# ---------------------------------------------------------------- ASM facts from files
def test_relative_openapi_paths_are_taken_next_to_the_config(tmp_path, monkeypatch):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "mesh.json").write_text(json.dumps({"ServiceMesh": {"ServiceMeshInfo": {"Version": "v1.24.6"}}}))
    monkeypatch.chdir(tmp_path)
    config = load_config(write(conf_dir, "asm: {describe_service_mesh_detail: mesh.json}\n"))
    assert Path(config.asm.describe_service_mesh_detail) == conf_dir / "mesh.json"


def test_saved_multi_cluster_network_answer_feeds_asm_networks(tmp_path, demo_dir):
    answer = {"MultiClusterNetworks": {"Networks": [
        {"ClusterId": "ccd5fb440ca044596d71f6863e74de82e", "Network": "net-from-file"}]}}
    (tmp_path / "networks.json").write_text(json.dumps(answer))
    cfg = write(tmp_path, "asm: {multi_cluster_network: networks.json}\n")
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", cfg)
    facts = {c["name"]: c for c in result.clusters}
    assert facts["cluster-a"]["asm_network"] == "net-from-file"


def test_unreadable_saved_answer_is_exit_2(tmp_path, capsys, demo_dir):
    cfg = write(tmp_path, "asm: {multi_cluster_network: missing.json}\n")
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out",
                        str(tmp_path / "out"), "--format", "json", "-q")
    assert code == 2
    assert "missing.json" in err


def test_config_networks_win_over_fleet_networks_in_sources(tmp_path, demo_dir):
    from auditor.sources.snapshot import open_snapshot

    sources = open_snapshot(str(demo_dir))
    # Without the demo's DescribeMeshMultiClusterNetwork answer, which wins over both (red22g:
    # tests/checks/test_network_answer_wins_22g.py).
    sources.asm_openapi.pop("DescribeMeshMultiClusterNetwork")
    sources.networks = {"cluster-a": "from-fleet", "cluster-b": "fleet-b"}
    config = Config.model_validate({"asm": {"networks": {"cluster-a": "from-config"}}})
    result = api.run_audit(sources=sources, phase="uninstall", config=config)
    facts = {c["name"]: c for c in result.clusters}
    assert facts["cluster-a"]["asm_network"] == "from-config"
    assert facts["cluster-b"]["asm_network"] == "fleet-b"


def test_mirrored_registry_pattern_classifies_asm_proxies(tmp_path):
    """ASM's proxy pulled from a private mirror is only recognised with a configured pattern."""
    from auditor.engine import run_audit
    from auditor.findings import records
    from auditor.sources.snapshot import open_snapshot
    from tests import factory as f

    dep = f.deployment("cart")
    pods = f.workload_pods(dep, 2, proxy="istio", image="mirror.corp.example/mesh/asm-proxy:v1.24.6")
    for pod in pods:  # the image as the only mark: no CA_ADDR naming an istiod this cluster does not have
        proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "istio-proxy")
        proxy["env"] = [e for e in proxy["env"] if e["name"] != "CA_ADDR"]
    root = f.write_snapshot(tmp_path / "snap", {"cluster-a": [f.namespace("shop"), *dep, *pods]},
                            manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a",
                                                    "complete": True}]})

    def sidecars(config: Config) -> list[str]:
        result = run_audit(open_snapshot(root), "uninstall", config)
        return [r["status"] for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining"]

    assert sidecars(Config()) == ["FAIL"]  # Istio's env, unknown image: taken for Istio's sidecar
    mirrored = load_config(write(tmp_path, "classification:\n"
                                           "  asm_image_patterns: ['^mirror\\.corp\\.example/mesh/asm-proxy:']\n"))
    assert sidecars(mirrored) == ["PASS"]


def test_readme_config_example_is_valid_and_runs(tmp_path, demo_dir):
    """The README's config example must load and audit the demo (no key in it may be rejected)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Config file", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load_config(write(tmp_path, example))
    assert config.exemptions[0].owner == "team-payments"
    config.prometheus.url = None  # the example's Prometheus does not exist here; its traffic checks say UNKNOWN
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall", config)
    assert result.verdict.value in ("GO", "NO-GO", "INCOMPLETE")
    assert "ingress-lb-weights" not in set(result.findings["check_id"].astype(str))


# remote_clusters (purge-preview AA2539/AA2541/AA2542): per primary (this audit's name or its istiod's CLUSTER_ID),
# the remote clusters its istiod serves, written from its remote secrets' names (istio-remote-secret-<remote>).
@pytest.mark.parametrize(("text", "expected"), [
    ("remote_clusters: {cluster-a: [cluster-b, cluster-c]}\n", {"cluster-a": ["cluster-b", "cluster-c"]}),
    ("remote_clusters: {cluster1: []}\n", {"cluster1": []}),
    ("checks: {disable: []}\n", {}),
])
def test_remote_clusters_per_primary(tmp_path, text, expected):
    assert load_config(write(tmp_path, text)).remote_clusters == expected


@pytest.mark.parametrize("text", [
    "remote_clusters:\n",
    "remote_clusters: [cluster-b]\n",
    "remote_clusters: {cluster-a: }\n",
    "remote_clusters: {cluster-a: cluster-b}\n",
    "remote_clusters: {cluster-a: [cluster-b, 7]}\n",
    "remote_clusters: {cluster-a: ['cluster-b, cluster-c']}\n",
    "remote_clusters: {cluster-a: [istio-remote-secret-cluster-b]}\n",
    "remote_clusters: {cluster-a: [cluster-a]}\n",
    "remote_clusters: {'': [cluster-b]}\n",
    "remote_clusters: {cluster-a: [\"cluster-b\\e[2J\"]}\n",
    "remote_clusters: {\"cluster-a\\x00\": [cluster-b]}\n",
])
def test_bad_remote_clusters_is_one_clear_line(tmp_path, text):
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text))
    assert "'remote_clusters'" in str(err.value) and "\n" not in str(err.value)


def test_bad_remote_clusters_exits_2(tmp_path, capsys, demo_dir):
    cfg = write(tmp_path, "remote_clusters: {cluster-a: cluster-b}\n")
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--config", str(cfg), "--out",
                        str(tmp_path / "out"), "--format", "json", "-q")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "'remote_clusters'" in err
