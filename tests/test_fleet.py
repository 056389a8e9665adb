"""A fleet in one run: three data-plane clusters on three fake API servers (+ the ASM control plane).

cluster-go has only ASM proxies, cluster-nogo still runs Istio sidecars, cluster-down does not answer.
The fleet verdict is NO-GO (worst of all), the unreachable cluster is INCOMPLETE, each has its own row.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import yaml

from auditor import api
from auditor import kinds as K
from auditor.check import Check, Context
from auditor.cli.main import main
from auditor.config import Config
from auditor.errors import UsageError
from auditor.fleet import load_fleet
from auditor.model import Finding, Gate, Outcome, Severity, Status, Verdict
from tests import factory as f
from tests.fakeapi import FakeApiServer

JUDGED = ("istio-sidecars-remaining", "migration-resource")


def data_plane(proxy: str, network: str) -> list[dict]:
    cart = f.deployment("cart")
    web = f.deployment("web")
    return [f.namespace("istio-system", {"topology.istio.io/network": network}), f.namespace("shop"),
            *cart, *web, *f.workload_pods(cart, 2, proxy=proxy), *f.workload_pods(web, 3, proxy="asm")]


def serve(server: FakeApiServer, objects: list[dict]) -> None:
    server.register_kind("istio.alibabacloud.com", "v1beta1", "ASMMigrateFromIstio", "asmmigratefromistios",
                         namespaced=False)
    server.set_version("v1.30.4-aliyun.1")
    server.load(objects)


@pytest.fixture
def fleet_file(tmp_path: Path) -> Iterator[Path]:
    """Three data planes and the ASM control plane; kubeconfigs next to the fleet file (relative paths)."""
    kdir = tmp_path / "kubeconfigs"
    with FakeApiServer() as go, FakeApiServer() as nogo, FakeApiServer() as down, FakeApiServer() as asm:
        serve(go, data_plane("asm", "network-1"))
        serve(nogo, data_plane("istio", "network-2"))
        serve(asm, [f.migration_cr("Migrating", spec_retry=1)])
        for name, server in (("go", go), ("nogo", nogo), ("down", down), ("asm", asm)):
            server.write_kubeconfig(kdir / f"{name}.yaml", context=f"ctx-{name}")
        down.stop()  # its kubeconfig points at a port nobody listens on any more
        path = tmp_path / "fleet.yaml"
        path.write_text(yaml.safe_dump({
            "clusters": [
                {"name": "cluster-go", "kubeconfig": "kubeconfigs/go.yaml", "context": "ctx-go",
                 "cluster_id": "c-go", "network": "network-1"},
                {"name": "cluster-nogo", "kubeconfig": "kubeconfigs/nogo.yaml", "context": "ctx-nogo",
                 "network": "network-2"},
                {"name": "cluster-down", "kubeconfig": "kubeconfigs/down.yaml"},
            ],
            "asm": {"kubeconfig": "kubeconfigs/asm.yaml", "context": "ctx-asm"},
        }, sort_keys=False))
        yield path


def judged_only() -> Config:
    """Judge only what the fixture is built for; checks other helpers add cannot change these verdicts."""
    return Config.model_validate(f.only_checks(*JUDGED))


class SeesTheFleet(Check):
    """A cross-cluster check, as a plugin: it must see every data plane at once."""

    id = "test-sees-the-fleet"
    title = "Sees every cluster"
    gates = (Gate.UNINSTALL,)
    severity = Severity.INFO
    rationale = "test"
    remediation = "none"
    outcomes = (Outcome("FLT001", Status.PASS, "every data plane seen"),)
    uses = (K.NAMESPACE,)

    def run(self, ctx: Context) -> Iterable[Finding]:
        names = [c.name for c in ctx.inv.data_planes]
        networks = {c.name: c.get(K.NAMESPACE, "istio-system")["metadata"]["labels"]["topology.istio.io/network"]
                    for c in ctx.inv.data_planes if c.available(K.NAMESPACE)}
        yield self.passed("mesh", "seen", evidence={"clusters": names, "networks": networks})


# ---------------------------------------------------------------- the fleet run
def test_fleet_verdicts_per_cluster_and_overall(fleet_file):
    result = api.run_audit(api.Target(fleet=str(fleet_file)), "uninstall", judged_only(),
                           extra_checks=[SeesTheFleet])
    assert result.verdict is Verdict.NO_GO and result.exit_code == 1
    assert result.cluster_verdicts == {"cluster-go": "GO", "cluster-nogo": "NO-GO", "cluster-down": "INCOMPLETE",
                                       "asm": "GO"}
    rows = {r["cluster"]: r for r in result.fleet}
    assert rows["cluster-down"]["state"] == "unreachable" and rows["cluster-down"]["error"]
    assert rows["cluster-down"]["istio_sidecar_pods"] is None  # nothing read, nothing claimed
    assert rows["cluster-nogo"]["state"] == "ok"
    assert rows["cluster-nogo"]["blockers"] == 1 and rows["cluster-nogo"]["istio_sidecar_pods"] == 2
    assert rows["cluster-go"]["blockers"] == 0 and rows["cluster-go"]["asm_proxy_pods"] == 5
    assert rows["cluster-go"]["cluster_id"] == "c-go"
    assert rows["asm"]["role"] == "asm"

    # The cross-cluster check saw the three clusters in one inventory (the unreachable one without data).
    seen = result.findings[result.findings["check_id"] == SeesTheFleet.id].iloc[0]["evidence"]
    assert seen["clusters"] == ["cluster-go", "cluster-nogo", "cluster-down"]
    assert seen["networks"] == {"cluster-go": "network-1", "cluster-nogo": "network-2"}
    # Networks from the fleet file reach the ASM side of the clusters table.
    facts = {c["name"]: c for c in result.clusters}
    assert facts["cluster-go"]["asm_network"] == "network-1"
    assert facts["cluster-nogo"]["asm_network"] == "network-2"


def test_fleet_without_the_broken_clusters_is_go(fleet_file):
    doc = yaml.safe_load(fleet_file.read_text())
    doc["clusters"] = doc["clusters"][:1]
    fleet_file.write_text(yaml.safe_dump(doc))
    result = api.run_audit(api.Target(fleet=str(fleet_file)), "uninstall", judged_only())
    assert result.verdict is Verdict.GO
    assert result.cluster_verdicts == {"cluster-go": "GO", "asm": "GO"}


def test_fleet_cli_writes_the_overview(fleet_file, tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(judged_only().model_dump(mode="json", include={"checks"})))
    out = tmp_path / "out"
    code = main(["run", "--fleet", str(fleet_file), "--phase", "uninstall", "--config", str(cfg), "--out", str(out),
                 "--format", "json", "-q"])
    assert code == 1
    doc = json.loads((out / "findings.json").read_text())
    assert doc["fleet"]["verdict"] == "NO-GO" == doc["verdict"]
    overview = [(r["cluster"], r["verdict"], r["state"]) for r in doc["fleet"]["clusters"]]
    assert overview == [("cluster-go", "GO", "ok"), ("cluster-nogo", "NO-GO", "ok"),
                        ("cluster-down", "INCOMPLETE", "unreachable"), ("asm", "GO", "ok")]
    assert doc["cluster_verdicts"]["cluster-down"] == "INCOMPLETE"
    down = [r for r in doc["findings"] if r["cluster"] == "cluster-down"]
    assert down and {r["status"] for r in down} == {"UNKNOWN"}


def test_fleet_and_cluster_flags_combine(fleet_file, tmp_path):
    doc = yaml.safe_load(fleet_file.read_text())
    extra = api.ClusterSpec.parse(f"cluster-extra={fleet_file.parent / 'kubeconfigs' / 'go.yaml'}@ctx-go")
    target = api.Target(fleet=str(fleet_file), clusters=[extra])
    result = api.run_audit(target, "uninstall", judged_only())
    assert list(result.cluster_verdicts) == ["cluster-extra", *[c["name"] for c in doc["clusters"]], "asm"]
    assert result.cluster_verdicts["cluster-extra"] == "GO"


# ---------------------------------------------------------------- the fleet file
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("clusters:\n  - {name: a, kubecfg: x}\n", "unknown key 'clusters[0].kubecfg' (allowed: name, kubeconfig"),
    ("clusters: []\n", "'clusters': List should have at least 1 item"),
    ("asm: {kubeconfig: x}\n", "missing required key 'clusters'"),
    ("clusters:\n  - {name: a}\n  - {name: a}\n", "cluster names must be unique: a"),
    ("clusters:\n  - {name: asm}\n", "not 'asm'"),
    ("clusters: [\n", "malformed YAML"),
    ("- a\n", "expected a mapping"),
])
def test_fleet_file_errors(tmp_path, text, expected):
    with pytest.raises(UsageError) as err:
        load_fleet(write(tmp_path, text))
    assert expected in str(err.value) and str(err.value).startswith("fleet ")


def test_fleet_paths_are_relative_to_the_file(tmp_path):
    fleet = load_fleet(write(tmp_path, "clusters:\n  - {name: a, kubeconfig: k/a.yaml}\n"
                                       "asm: {kubeconfig: /abs/asm.yaml}\n"))
    assert fleet.clusters[0].kubeconfig == str(tmp_path / "k" / "a.yaml")
    assert fleet.asm.kubeconfig == "/abs/asm.yaml"


def test_fleet_with_snapshot_is_a_usage_error(tmp_path, demo_dir, capsys):
    path = write(tmp_path, "clusters:\n  - {name: a}\n")
    code = main(["run", "--snapshot", str(demo_dir), "--fleet", str(path), "--out", str(tmp_path / "o"), "-q"])
    assert code == 2
    assert "cannot be combined" in capsys.readouterr().err


def test_fleet_kubeconfig_missing_is_exit_2(tmp_path, capsys):
    path = write(tmp_path, "clusters:\n  - {name: a, kubeconfig: nowhere.yaml}\n")
    code = main(["run", "--fleet", str(path), "--out", str(tmp_path / "o"), "-q"])
    assert code == 2
    assert "nowhere.yaml" in capsys.readouterr().err


# ---------------------------------------------------------------- the demo's two clusters
def test_demo_has_a_row_per_cluster(demo_dir):
    result = api.run_audit(api.Target(snapshot=str(demo_dir)), "uninstall")
    rows = {r["cluster"]: r for r in result.fleet}
    assert list(rows) == ["cluster-a", "cluster-b", "asm"]
    from auditor.findings import worst

    assert worst(Verdict(r["verdict"]) for r in result.fleet if r["verdict"]) is result.verdict
    for name in ("cluster-a", "cluster-b"):
        sub = result.findings[result.findings["cluster"] == name]
        assert rows[name]["counts"]["FAIL"] == int((sub["status"] == "FAIL").sum())


def test_snapshot_of_a_fleet_audits_the_same_offline(fleet_file, tmp_path, capsys):
    snap = tmp_path / "fleet.tar.gz"
    code = main(["snapshot", "--fleet", str(fleet_file), "--out", str(snap), "-q"])
    assert code == 3  # cluster-down is recorded as unreachable
    assert "cluster-down" in capsys.readouterr().err
    live = api.run_audit(api.Target(fleet=str(fleet_file)), "uninstall", judged_only())
    offline = api.run_audit(api.Target(snapshot=str(snap)), "uninstall", judged_only())
    assert offline.cluster_verdicts == live.cluster_verdicts
    assert offline.verdict is live.verdict is Verdict.NO_GO
    # The fleet file's networks travel with the snapshot.
    assert {c["name"]: c["asm_network"] for c in offline.clusters if c["role"] == "data-plane"} == {
        "cluster-go": "network-1", "cluster-nogo": "network-2", "cluster-down": None}


# ---------------------------------------------------------------- reading a fleet
def test_live_clusters_of_a_fleet_are_read_side_by_side(tmp_path):
    """Each cluster's slow pod list overlaps the others' (server request logs), and findings do not depend on it."""
    kdir = tmp_path / "kubeconfigs"
    with FakeApiServer() as one, FakeApiServer() as two, FakeApiServer() as three, FakeApiServer() as asm:
        servers = {"cluster-1": one, "cluster-2": two, "cluster-3": three}
        for i, (name, server) in enumerate(servers.items()):
            serve(server, data_plane("istio" if i % 2 else "asm", f"network-{i}"))
            server.write_kubeconfig(kdir / f"{name}.yaml", context=name)
            server.add_fault(r"^/api/v1/pods$", 200, times=None, delay_s=0.4)
        serve(asm, [f.migration_cr("Migrating")])
        asm.write_kubeconfig(kdir / "asm.yaml", context="asm")
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(yaml.safe_dump({
            "clusters": [{"name": n, "kubeconfig": f"kubeconfigs/{n}.yaml", "context": n} for n in servers],
            "asm": {"kubeconfig": "kubeconfigs/asm.yaml", "context": "asm"}}))
        result = api.run_audit(api.Target(fleet=str(fleet)), "uninstall", judged_only())
        spans = {}
        for name, server in servers.items():
            [pods] = [r for r in server.requests if r.path == "/api/v1/pods"]
            spans[name] = (pods.started, pods.started + pods.duration_s)
    # Every pair of pod lists was in flight at the same time (one after the other, none would overlap).
    names = sorted(spans)
    for a, b in itertools.combinations(names, 2):
        assert spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1], spans
    # Order and verdicts stay those of the fleet file, whichever cluster answered first.
    assert [c.name for c in result.inventory.data_planes] == names
    assert [c["name"] for c in result.clusters if c["role"] == "data-plane"] == names
    assert result.cluster_verdicts == {"cluster-1": "GO", "cluster-2": "NO-GO", "cluster-3": "GO", "asm": "GO"}


def test_a_strict_fleet_row_counts_the_blockers_its_verdict_counted(fleet_file):
    """ux16 noticed: under --strict a row's verdict was NO-GO on a WARN while its blockers column said 0."""
    from auditor.model import Status as S

    class WarnsOnce(Check):
        id = "test-warns-once"
        title = "Warns"
        gates = (Gate.UNINSTALL,)
        severity = Severity.MINOR
        rationale = "test"
        remediation = "none"
        outcomes = (Outcome("WRN001", S.WARN, "a warning"),)

        def run(self, ctx: Context) -> Iterable[Finding]:
            yield self.report(self.outcomes[0], "cluster-go", "a warning")

    config = Config.model_validate(f.only_checks(*JUDGED, "test-warns-once"))
    result = api.run_audit(api.Target(fleet=str(fleet_file)), "uninstall", config, strict=True,
                           extra_checks=[WarnsOnce])
    [row] = [r for r in result.fleet if r["cluster"] == "cluster-go"]
    assert row["verdict"] == "NO-GO" and row["blockers"] == 1  # main: blockers 0


# ---------------------------------------------------------------- --kubeconfig beside --cluster / --fleet (red20p)
# On main only --cluster's (or the fleet file's) clusters were read: the cluster --kubeconfig named was silently not
# audited. `--kubeconfig nogo.yaml --context ctx-nogo --cluster cluster-go=go.yaml@ctx-go` was GO, exit 0, its
# overview naming cluster-go alone, while the cluster of --kubeconfig holds a blocker (NO-GO on its own).
@pytest.mark.parametrize("flags", [("--kubeconfig", "--context"), ("--kubeconfig",), ("--context",)])
@pytest.mark.parametrize("others", ["--cluster", "--fleet"])
def test_kubeconfig_or_context_beside_cluster_or_fleet_is_exit_2(fleet_file, tmp_path, capsys, flags, others):
    kdir = fleet_file.parent / "kubeconfigs"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(judged_only().model_dump(mode="json", include={"checks"})))
    alone = main(["run", "--kubeconfig", str(kdir / "nogo.yaml"), "--context", "ctx-nogo",
                  "--asm-kubeconfig", str(kdir / "asm.yaml"), "--asm-context", "ctx-asm", "--phase", "uninstall",
                  "--config", str(cfg), "--out", str(tmp_path / "alone"), "--format", "json", "-q"])
    assert alone == 1  # the control: that cluster on its own is NO-GO
    capsys.readouterr()
    single = {"--kubeconfig": str(kdir / "nogo.yaml"), "--context": "ctx-nogo"}
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"clusters": [{"name": "cluster-go", "kubeconfig": str(kdir / "go.yaml"),
                                                   "context": "ctx-go"}]}))
    other = ["--cluster", f"cluster-go={kdir / 'go.yaml'}@ctx-go"] if others == "--cluster" else ["--fleet", str(fleet)]
    out = tmp_path / "out"
    code = main(["run", *[a for flag in flags for a in (flag, single[flag])], *other,
                 "--asm-kubeconfig", str(kdir / "asm.yaml"), "--asm-context", "ctx-asm", "--phase", "uninstall",
                 "--config", str(cfg), "--out", str(out), "--format", "json", "-q"])
    err = capsys.readouterr().err
    assert code == 2, (code, err)  # main: 0 (GO about cluster-go alone)
    assert len(err.strip().splitlines()) == 1 and flags[0] in err and "Traceback" not in err
    assert not (out / "findings.json").exists()
