"""ASM's facts from ASM itself: the real SDK against a fake ASM OpenAPI endpoint on 127.0.0.1.

The data plane is a fake Kubernetes API server; only asm-version and network-consistency are enabled, so a
run with good answers is GO and whatever goes wrong on the OpenAPI side shows in the verdict.
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from auditor import api
from auditor.cli.main import main
from auditor.config import Config
from auditor.findings import records
from auditor.registry import load_registry
from auditor.sources.asm_openapi import AsmOpenApi, AsmOpenApiTarget, OpenApiFailure
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.fake_asm_openapi import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FakeAsmOpenApi
from tests.fakeapi import FakeApiServer

CLUSTER_ID = "ccd5fb440ca044596d71f6863e74de82e"  # network-1 in the demo's DescribeMeshMultiClusterNetwork
JUDGED = ("asm-version", "network-consistency")
THREE_ACTIONS = ["DescribeServiceMeshDetail", "DescribeMeshMultiClusterNetwork", "DescribeClustersInServiceMesh"]


@pytest.fixture
def asm_openapi() -> Iterator[FakeAsmOpenApi]:
    with FakeAsmOpenApi() as fake:
        yield fake


@pytest.fixture
def data_plane(tmp_path: Path) -> Iterator[Path]:
    """A data plane in Istio network network-1; its kubeconfig path."""
    with FakeApiServer() as server:
        server.set_version("v1.30.4-aliyun.1")
        server.load([f.namespace("istio-system", {"topology.istio.io/network": "network-1"}), f.istiod(),
                     f.mesh_configmap()])
        yield server.write_kubeconfig(tmp_path / "dp.kubeconfig", context="prod-a")


def write_config(tmp_path: Path, **asm: object) -> Path:
    """Only the two checks that read ASM's OpenAPI; the data plane's cluster id as ASM knows it."""
    others = [c for c in load_registry().checks if c not in JUDGED]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"checks": {"disable": others},
                                    "asm": {"cluster_ids": {"prod-a": CLUSTER_ID}, **asm}}))
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def judged(result: api.AuditResult) -> list[tuple[str, str, str, str]]:
    return sorted((r["gate"], r["check_id"], r["kind"] or "", r["status"]) for r in records(result.findings)
                  if r["check_id"] in JUDGED)


def live_args(kubeconfig: Path, fake: FakeAsmOpenApi, *extra: str) -> list[str]:
    return ["--kubeconfig", str(kubeconfig), "--context", "prod-a", "--asm-mesh-id", fake.mesh_id,
            "--asm-region", "cn-hangzhou", "--asm-endpoint", fake.url, *extra]


# ---------------------------------------------------------------- live == saved == snapshot
def test_live_answers_give_the_findings_of_the_saved_answers(tmp_path, credentials, asm_openapi, data_plane):
    target = api.Target(kubeconfig=str(data_plane), context="prod-a")
    live_cfg = write_config(tmp_path, mesh_id=asm_openapi.mesh_id, region="cn-hangzhou", endpoint=asm_openapi.url)
    snap = tmp_path / "live.tar.gz"
    live = api.run_audit(target, "all", live_cfg, snapshot_out=snap)

    assert asm_openapi.actions() == THREE_ACTIONS  # each allowed action once, nothing else
    assert all(c.signed and c.access_key_id == ACCESS_KEY_ID for c in asm_openapi.calls)
    assert judged(live) == [("assessment", "asm-version", "", "PASS"),
                            ("migrating", "network-consistency", "Namespace", "PASS"),
                            ("setup", "asm-version", "", "PASS"),
                            ("uninstall", "network-consistency", "Namespace", "PASS")]
    for gate in ("setup", "migrating"):  # the gates where only these checks judge: GO on ASM's answers
        assert api.run_audit(target, gate, live_cfg).exit_code == 0
    [version] = [r for r in records(live.findings) if r["check_id"] == "asm-version" and r["gate"] == "setup"]
    assert "1.24.6" in version["message"] and "of mesh c3adfe9d5d949fb7fc79433dec16a6ecc in cn-hangzhou" in (
        version["message"])
    [facts] = [c for c in live.clusters if c["name"] == "prod-a"]
    assert facts["asm_network"] == "network-1" and facts["asm_joined"] is True

    # The same bodies saved by hand and named in the config: the same findings.
    detail, networks = tmp_path / "detail.json", tmp_path / "networks.json"
    manifest = json.loads((api.demo_snapshot_path() / "manifest.json").read_text())["asm_openapi"]
    detail.write_text(json.dumps(manifest["DescribeServiceMeshDetail"]))
    networks.write_text(json.dumps(manifest["DescribeMeshMultiClusterNetwork"]))
    saved = api.run_audit(target, "all", write_config(tmp_path, describe_service_mesh_detail=str(detail),
                                                      multi_cluster_network=str(networks)))
    assert judged(saved) == judged(live) and saved.verdict == live.verdict

    # The snapshot of the live run carries the answers: offline, the same findings, word for word.
    with tarfile.open(snap) as tar:
        recorded = json.load(tar.extractfile("manifest.json"))["asm_openapi"]
    assert sorted(k for k in recorded if not k.startswith("_")) == sorted(THREE_ACTIONS)
    calls = len(asm_openapi.calls)
    offline = api.run_audit(sources=open_snapshot(str(snap)), phase="all", config=write_config(tmp_path))
    assert sorted((r["gate"], r["check_id"], r["status"], r["message"]) for r in records(offline.findings)) == sorted(
        (r["gate"], r["check_id"], r["status"], r["message"]) for r in records(live.findings))
    assert len(asm_openapi.calls) == calls  # offline read nothing from ASM


def test_a_mesh_outside_the_answer_is_not_joined(tmp_path, credentials, asm_openapi, data_plane):
    cfg = Config.model_validate({"checks": {"disable": [c for c in load_registry().checks if c not in JUDGED]},
                                 "asm": {"cluster_ids": {"prod-a": "c0000000000000000000000000000000f"},
                                         "mesh_id": asm_openapi.mesh_id, "region": "cn-hangzhou",
                                         "endpoint": asm_openapi.url}})
    result = api.run_audit(api.Target(kubeconfig=str(data_plane), context="prod-a"), "migrating", cfg)
    [facts] = [c for c in result.clusters if c["name"] == "prod-a"]
    assert facts["asm_joined"] is False
    [row] = [r for r in records(result.findings) if r["check_id"] == "network-consistency"]
    assert row["status"] == "FAIL" and "ASM has no network for this cluster" in row["message"]


# ---------------------------------------------------------------- faults
FAULTS = [
    ("forbidden", {}, "Forbidden.RAM"),
    ("bad_key", {}, "InvalidAccessKeyId.NotFound"),
    ("throttle", {}, "Throttling.User"),
    ("timeout", {}, "Timeout"),
    ("region", {"region": "cn-beijing"}, "RegionMismatch"),
]


@pytest.mark.parametrize(("kind", "options", "code"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_unknown_naming_the_action_and_code(tmp_path, capsys, credentials, asm_openapi, data_plane,
                                                          kind, options, code):
    asm_openapi.slow_s = 2.5
    asm_openapi.fault("DescribeServiceMeshDetail", kind, **options)
    out = tmp_path / "out"
    exit_code, err = run_cli(capsys, "run", "--phase", "setup", *live_args(data_plane, asm_openapi, "--timeout", "1"),
                             "--config", str(write_config(tmp_path)), "--out", str(out), "--format", "json")
    assert exit_code == 3  # INCOMPLETE (GO with the answer): never GO, never an internal error
    doc = json.loads((out / "findings.json").read_text())
    assert doc["verdict"] == "INCOMPLETE"
    versions = [r for r in doc["findings"] if r["check_id"] == "asm-version"]
    assert [r["status"] for r in versions] == ["UNKNOWN"]
    assert all(f"ASM OpenAPI DescribeServiceMeshDetail: {code}" in r["message"] for r in versions)
    assert f"note: ASM OpenAPI DescribeServiceMeshDetail: {code}" in err
    assert "Traceback" not in err
    if kind == "throttle":
        assert asm_openapi.actions().count("DescribeServiceMeshDetail") == 4  # retried with backoff, then given up


def test_a_mesh_id_that_does_not_exist_is_unknown_everywhere(tmp_path, capsys, credentials, asm_openapi, data_plane):
    args = live_args(data_plane, asm_openapi)
    args[args.index(asm_openapi.mesh_id)] = "c0123456789abcdef0123456789abcdef"
    exit_code, err = run_cli(capsys, "run", "--phase", "migrating", *args, "--config", str(write_config(tmp_path)),
                             "--out", str(tmp_path / "out"), "--format", "json")
    assert exit_code == 3
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert [(r["check_id"], r["status"]) for r in doc["findings"]] == [("network-consistency", "UNKNOWN")]
    assert "ASM OpenAPI DescribeMeshMultiClusterNetwork: ServiceMesh.NotFound" in doc["findings"][0]["message"]
    assert "DescribeMeshMultiClusterNetwork: ServiceMesh.NotFound" in err
    assert "DescribeServiceMeshDetail: ServiceMesh.NotFound" in err


def test_throttling_is_retried_with_backoff(tmp_path, credentials, asm_openapi, data_plane):
    asm_openapi.fault("DescribeMeshMultiClusterNetwork", "throttle", times=2)
    cfg = write_config(tmp_path, mesh_id=asm_openapi.mesh_id, region="cn-hangzhou", endpoint=asm_openapi.url)
    started = time.monotonic()
    result = api.run_audit(api.Target(kubeconfig=str(data_plane), context="prod-a"), "migrating", cfg)
    assert time.monotonic() - started >= 1.5  # waited 0.5 s, then 1 s
    assert asm_openapi.actions().count("DescribeMeshMultiClusterNetwork") == 3
    assert judged(result) == [("migrating", "network-consistency", "Namespace", "PASS")]


# ---------------------------------------------------------------- read-only allow-list
@pytest.mark.parametrize("action", ["DescribeServiceMeshKubeconfig", "DescribeGatewaySecretDetails",
                                    "DeleteServiceMesh", "DescribeServiceMeshes"])
def test_actions_outside_the_allow_list_are_never_sent(credentials, asm_openapi, action):
    client = AsmOpenApi(AsmOpenApiTarget(asm_openapi.mesh_id, "cn-hangzhou", asm_openapi.url))
    with pytest.raises(PermissionError, match=action):
        client.describe(action)
    assert asm_openapi.calls == []
    assert client.describe("DescribeServiceMeshDetail")["ServiceMesh"]["ServiceMeshInfo"]["Name"] == "prod-mesh"
    assert asm_openapi.actions() == ["DescribeServiceMeshDetail"]


def test_no_code_path_names_the_credential_actions():
    root = Path(__file__).resolve().parent.parent
    sources = [p for d in ("auditor", "checks") for p in (root / d).rglob("*.py")]
    assert len(sources) > 20
    for path in sources:
        text = path.read_text()
        assert "describe_service_mesh_kubeconfig" not in text and "describe_gateway_secret_details" not in text, path


def test_failure_detail_drops_urls_with_signatures():
    from auditor.sources.asm_openapi import _failure

    class Inner(Exception):
        pass

    class Wrapped(Exception):
        inner_exception = Inner("GET https://servicemesh.aliyuncs.com/?AccessKeyId=LTAI&Signature=abc failed")

    failure = _failure("DescribeServiceMeshDetail", Wrapped())
    assert isinstance(failure, OpenApiFailure)
    assert str(failure) == "ASM OpenAPI DescribeServiceMeshDetail: Inner (GET https://servicemesh.aliyuncs.com/ failed)"


# ---------------------------------------------------------------- secrets never leave the SDK
def test_the_secret_is_in_no_output_log_or_snapshot(tmp_path, capsys, credentials, asm_openapi, data_plane):
    out, snap = tmp_path / "out", tmp_path / "snap.tar.gz"
    code, err_run = run_cli(capsys, "run", "--phase", "setup", *live_args(data_plane, asm_openapi),
                            "--config", str(write_config(tmp_path)), "--out", str(out),
                            "--format", "html,json,csv,junit,md")
    assert code == 0
    code, err_snap = run_cli(capsys, "snapshot", *live_args(data_plane, asm_openapi), "--out", str(snap))
    assert code == 0
    asm_openapi.fault("*", "forbidden")
    code, err_fault = run_cli(capsys, "run", "--phase", "setup", *live_args(data_plane, asm_openapi),
                              "--config", str(write_config(tmp_path)), "--out", str(tmp_path / "out2"),
                              "--format", "json")
    assert code == 3
    texts = [err_run, err_snap, err_fault]
    texts += [p.read_bytes().decode(errors="replace") for d in (out, tmp_path / "out2") for p in d.rglob("*")
              if p.is_file()]
    with tarfile.open(snap) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        texts += [tar.extractfile(m).read().decode(errors="replace") for m in members]
    assert len(texts) >= 3 + 5 + 1 + 3
    assert any("asm_openapi" in t for t in texts)  # the snapshot's manifest is among what was searched
    texts += [r.decode(errors="replace") for r in asm_openapi.raw_requests]  # signed, never sent in clear
    assert not [t[:80] for t in texts if ACCESS_KEY_SECRET in t]


# ---------------------------------------------------------------- flags and RAM policy
@pytest.mark.parametrize(("args", "message"), [
    (["--asm-mesh-id", "c3adfe9d5d949fb7fc79433dec16a6ecc"], "--asm-mesh-id needs --asm-region"),
    (["--asm-region", "cn-hangzhou"], "need --asm-mesh-id"),
    (["--asm-mesh-id", "c3adfe9d5d949fb7fc79433dec16a6ecc", "--asm-region", "cn-hangzhou",
      "--asm-endpoint", "ftp://servicemesh.aliyuncs.com"], "--asm-endpoint"),
    (["--asm-mesh-id", "Mesh One", "--asm-region", "cn-hangzhou"], "not an ASM instance id"),
])
def test_bad_asm_flags_are_exit_2(tmp_path, capsys, data_plane, args, message):
    code, err = run_cli(capsys, "run", "--kubeconfig", str(data_plane), *args, "--out", str(tmp_path / "o"))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_asm_flags_with_a_snapshot_are_exit_2(tmp_path, capsys, demo_dir):
    code, err = run_cli(capsys, "run", "--snapshot", str(demo_dir), "--asm-mesh-id",
                        "c3adfe9d5d949fb7fc79433dec16a6ecc", "--asm-region", "cn-hangzhou",
                        "--out", str(tmp_path / "o"))
    assert code == 2 and "cannot be combined with --snapshot" in err


def test_rbac_ram_prints_the_minimal_policy(capsys):
    assert main(["rbac", "--ram", "--asm-mesh-id", "c3adfe9d5d949fb7fc79433dec16a6ecc"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy == {"Version": "1", "Statement": [{
        "Effect": "Allow",
        "Action": ["servicemesh:DescribeServiceMeshDetail", "servicemesh:DescribeMeshMultiClusterNetwork",
                   "servicemesh:DescribeClustersInServiceMesh"],
        "Resource": ["acs:servicemesh:*:*:servicemesh/c3adfe9d5d949fb7fc79433dec16a6ecc"]}]}
    assert main(["rbac", "--ram"]) == 0
    assert json.loads(capsys.readouterr().out)["Statement"][0]["Resource"] == ["acs:servicemesh:*:*:servicemesh/*"]


def test_a_failed_read_is_recorded_in_the_snapshot_and_unknown_offline(tmp_path, capsys, credentials, asm_openapi,
                                                                       data_plane):
    asm_openapi.fault("DescribeServiceMeshDetail", "forbidden")
    snap = tmp_path / "snap.tar.gz"
    code, err = run_cli(capsys, "snapshot", *live_args(data_plane, asm_openapi), "--out", str(snap))
    assert code == 3  # recorded as not read, like an unreadable kind
    assert "not recorded: ASM OpenAPI DescribeServiceMeshDetail: Forbidden.RAM" in err
    offline = api.run_audit(sources=open_snapshot(str(snap)), phase="setup", config=write_config(tmp_path))
    [row] = [r for r in records(offline.findings) if r["check_id"] == "asm-version"]
    assert row["status"] == "UNKNOWN" and "DescribeServiceMeshDetail: Forbidden.RAM" in row["message"]
    assert offline.exit_code == 3
