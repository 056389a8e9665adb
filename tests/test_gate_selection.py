"""Gate selection never gives a GO about the wrong step (issue 16, item 8).

- `--phase auto` without an ASM control plane (no ASM_KUBECONFIG, no asm/ in the snapshot) picks
  `assessment`; when the data plane already shows ASM (ASM proxies, ASM's istiod-<rev> Service without a
  local istiod, asm.alibabacloud.com/* keys) the gate is unknown: INCOMPLETE (exit 3), naming the flags.
- An explicit `--phase G` whose step the migration is already past (the CR's state is beyond it) is a
  blocker FAIL "already past" (exit 1), not a GO about a step nobody can take any more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import records
from auditor.sources.snapshot import open_snapshot
from tests import factory as f


def istio_cluster(*, asm_pods: int = 0, istiod: bool = True, extra: list[dict] | None = None) -> list[dict]:
    """shop/cart on Istio sidecars (+ shop/web on ASM proxies when asm_pods), istiod 1.22.3 unless told not."""
    cart = f.deployment("cart")
    objects = [f.namespace("shop"), f.namespace("istio-system"), f.mesh_configmap(), *cart,
               *f.workload_pods(cart, 2, proxy="istio")]
    if istiod:
        objects.append(f.istiod())
    if asm_pods:
        web = f.deployment("web")
        objects += [*web, *f.workload_pods(web, asm_pods, proxy="asm")]
    return objects + (extra or [])


def snapshot(root: Path, data_plane: list[dict], cr_state: str | None = None) -> Path:
    clusters = {"cluster-a": data_plane}
    entries = [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a", "complete": True}]
    if cr_state is not None:
        clusters["asm"] = [f.migration_cr(cr_state)]
        entries.append({"name": "asm", "role": "asm", "dir": "asm", "complete": True})
    return f.write_snapshot(root, clusters, versions={c: f.version_info() for c in clusters},
                            manifest={"clusters": entries})


def gate_rows(result: Any) -> list[dict[str, Any]]:
    return [r for r in records(result.findings) if r["check_id"] == "gate-selection"]


# ---------------------------------------------------------------- --phase auto without ASM
ASM_MARKS = {
    "ASM proxies": (dict(asm_pods=2), "cluster-a: 2 pod(s) with an ASM proxy"),
    "ASM istiod Service": (dict(istiod=False, extra=[f.service("istiod-1-24-6", "istio-system")]),
                           "Service istio-system/istiod-1-24-6 without a local istiod Deployment"),
    "ASM annotation": (dict(extra=[f.service("reviews", "shop",
                                              annotations={"asm.alibabacloud.com/managed-by-asm": "true"})]),
                       "Service shop/reviews carries asm.alibabacloud.com/managed-by-asm"),
}


@pytest.mark.parametrize("case", list(ASM_MARKS))
def test_auto_without_asm_on_a_data_plane_showing_asm_is_incomplete(case: str, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    settings, mark = ASM_MARKS[case]
    root = snapshot(tmp_path / "snap", istio_cluster(**settings))
    code = main(["run", "--snapshot", str(root), "--out", str(tmp_path / "out"), "--format", "json"])
    err = capsys.readouterr().err
    assert code == 3, err
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert doc["gate"] == "assessment" and doc["verdict"] == "INCOMPLETE" and doc["exit_code"] == 3
    rows = [x for x in doc["findings"] if x["check_id"] == "gate-selection"]
    assert [(x["status"], x["severity"]) for x in rows] == [("UNKNOWN", "blocker")]
    assert mark in rows[0]["message"], rows[0]["message"]
    assert "--asm-kubeconfig" in rows[0]["message"] and "--phase" in rows[0]["message"]
    assert "--asm-kubeconfig" in err  # the terminal lists the UNKNOWN with the flag to pass


def test_auto_without_asm_on_a_plain_istio_cluster_is_still_assessed(tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster())
    config = Config.model_validate({"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}})  # typed in: no ASM read
    result = run_audit(open_snapshot(root), "auto", config)
    assert result.gate == "assessment" and gate_rows(result) == []
    assert result.verdict.value == "GO" and result.exit_code == 0


def test_an_istiod_revision_service_next_to_a_local_istiod_is_not_a_mark(tmp_path: Path) -> None:
    # istiod-<rev> of a version-named Istio revision (Helm chart istiod, --set revision=1-22-3): its own
    # Deployment backs it and it carries the chart's labels; it is Istio's, not ASM's managed control plane.
    svc = f.service("istiod-1-22-3", "istio-system", labels={"app": "istiod", "istio.io/rev": "1-22-3",
                                                              "operator.istio.io/component": "Pilot"})
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": "1-22-3"}
    root = snapshot(tmp_path / "snap", istio_cluster(extra=[svc, f.istiod("1-22-3")]))
    assert gate_rows(run_audit(open_snapshot(root), "auto", Config())) == []


def test_auto_with_the_asm_control_plane_is_not_second_guessed(tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(asm_pods=2), cr_state="Migrating")
    result = run_audit(open_snapshot(root), "auto", Config())
    assert result.gate == "uninstall" and gate_rows(result) == []


# ---------------------------------------------------------------- a gate behind the current state
@pytest.mark.parametrize(("phase", "state", "past"), [
    ("setup", "Migrating", True),
    ("migrating", "Migrating", True),
    ("assessment", "SetupIstioForMigrate", True),
    ("uninstall", "Finished", True),
    ("setup", "Init", False),
    ("assessment", "Init", False),
    ("uninstall", "Migrating", False),
    ("finished", "Finished", False),
])
def test_a_gate_the_migration_is_past_is_a_blocker_fail(phase: str, state: str, past: bool, tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(asm_pods=2), cr_state=state)
    result = run_audit(open_snapshot(root), phase, Config())
    rows = gate_rows(result)
    if not past:
        assert rows == []
        return
    assert [(r["status"], r["severity"], r["gate"]) for r in rows] == [("FAIL", "blocker", phase)]
    assert f"--phase {phase}: already past" in rows[0]["message"] and f"state {state}" in rows[0]["message"]
    assert result.verdict.value == "NO-GO" and result.exit_code == 1


def test_already_past_exits_1_on_the_cli_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(asm_pods=2), cr_state="Migrating")
    code = main(["run", "--snapshot", str(root), "--phase", "setup", "--out", str(tmp_path / "out"),
                 "--format", "json"])
    err = capsys.readouterr().err
    assert code == 1
    assert "already past" in err and "--phase uninstall" in err


def test_already_past_cannot_be_exempted(tmp_path: Path) -> None:
    """`*ga*` names registered checks (istio-gateway-traffic, asm-gateways-present), so it is accepted, but it
    never reaches the engine's own gate-selection finding."""
    root = snapshot(tmp_path / "snap", istio_cluster(asm_pods=2), cr_state="Migrating")
    config = Config.model_validate({"exemptions": [{"check": "*ga*", "reason": "we know"}]})
    result = run_audit(open_snapshot(root), "setup", config)
    rows = gate_rows(result)
    assert [(r["status"], r["exempt"]) for r in rows] == [("FAIL", False)]
    assert result.exit_code == 1


def test_phase_all_reports_every_gate_without_already_past(tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(asm_pods=2), cr_state="Migrating")
    result = run_audit(open_snapshot(root), "all", Config())
    assert gate_rows(result) == []


# ---------------------------------------------------------------- a state that is none of the migration's
# ASM's type declares status.state a plain string (`State string `json:"state"``); only spec.desiredState carries
# `+kubebuilder:validation:Enum=Init;SetupIstioForMigrate;Migrating;Finished` (aliyun/alibabacloud-servicemesh-api
# @766a6077f30d:alibabacloudservicemesh/v1/asmmigratefromistio_types.go). A state outside the four (a hand-written
# snapshot's "init", a state a newer controller writes) tells no gate: --phase auto fell back to assessment, whose
# checks never read the resource, and gave GO on main.
@pytest.mark.parametrize("state", ["Paused", "init"])
@pytest.mark.parametrize("phase", ["auto", "assessment"])
def test_an_unrecognised_state_never_gives_a_go_about_a_guessed_gate(phase: str, state: str, tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(), cr_state=state)
    config = Config.model_validate({"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}})
    result = run_audit(open_snapshot(root), phase, config)
    assert result.gate == "assessment"
    assert [(r["status"], r["code"], r["severity"], r["evidence"]["state"]) for r in gate_rows(result)] == [
        ("UNKNOWN", "AA0010", "blocker", repr(state))]
    assert result.verdict.value == "INCOMPLETE" and result.exit_code == 3


def test_an_unrecognised_state_at_a_gate_reading_the_resource_is_unknown_too(tmp_path: Path) -> None:
    root = snapshot(tmp_path / "snap", istio_cluster(), cr_state="Paused")
    result = run_audit(open_snapshot(root), "setup", Config())
    assert [(r["status"], r["code"]) for r in gate_rows(result)] == [("UNKNOWN", "AA0010")]
    assert [(r["status"], r["code"]) for r in records(result.findings)
            if r["check_id"] == "migration-resource"] == [("UNKNOWN", "AA0730")]
    assert result.exit_code == 3


def test_auto_with_two_differing_copies_of_the_resource_is_a_guess(tmp_path: Path) -> None:
    """A hand-made snapshot holding ASMMigrateFromIstio/default twice, in different states (ASM's type is
    cluster-scoped: a server holds one). Main took the first copy's Init and audited setup."""
    root = f.write_snapshot(tmp_path / "snap", {"cluster-a": istio_cluster(),
                                                "asm": [f.migration_cr("Init"), f.migration_cr("Migrating")]},
                            versions={"cluster-a": f.version_info(), "asm": f.version_info()},
                            manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "complete": True},
                                                   {"name": "asm", "role": "asm", "complete": True}]})
    config = Config.model_validate({"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}})
    result = run_audit(open_snapshot(root), "auto", config)
    assert [(r["status"], r["code"]) for r in gate_rows(result)] == [("UNKNOWN", "AA0010")]
    assert result.verdict.value == "INCOMPLETE"


# ---------------------------------------------------------------- --phase auto, ASM given but no migration resource
def snapshot_with_empty_asm(root: Path, data_plane: list[dict]) -> Path:
    """The ASM control plane read, holding no ASMMigrateFromIstio (another instance's kubeconfig, or deleted)."""
    clusters = {"cluster-a": data_plane, "asm": [f.namespace("istio-system")]}
    entries = [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a", "complete": True},
               {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]
    return f.write_snapshot(root, clusters, versions={c: f.version_info() for c in clusters},
                            manifest={"clusters": entries})


@pytest.mark.parametrize("case", list(ASM_MARKS))
def test_auto_with_asm_holding_no_migration_on_a_data_plane_showing_asm_is_incomplete(case: str, tmp_path: Path
                                                                                      ) -> None:
    """ux16 noticed: the assessment gate ("may we join the cluster?") was GO, exit 0, for a cluster ASM already
    works on, when the ASM control plane given holds no migration resource (another ASM instance, or deleted)."""
    settings, mark = ASM_MARKS[case]
    root = snapshot_with_empty_asm(tmp_path / "snap", istio_cluster(**settings))
    result = run_audit(open_snapshot(root), "auto", Config())
    assert result.gate == "assessment" and result.verdict.value == "INCOMPLETE"  # main: GO
    [row] = gate_rows(result)
    assert (row["status"], row["severity"], row["code"], row["cluster"]) == ("UNKNOWN", "blocker", "AA0010", "asm")
    assert mark in row["message"]


def test_auto_with_asm_holding_no_migration_on_a_pure_istio_cluster_is_the_assessment(tmp_path: Path) -> None:
    root = snapshot_with_empty_asm(tmp_path / "snap", istio_cluster())
    result = run_audit(open_snapshot(root), "auto", Config())
    assert result.gate == "assessment" and gate_rows(result) == []


# ---------------------------------------------------------------- --allow-unknown and a gate that is a guess (red20p)
# AA0010 says "this audit cannot be GO", yet --allow-unknown accepted it like missing evidence: on main each of these
# was GO, exit 0, about the assessment gate ("may we join the cluster?") of a cluster ASM already works on, or whose
# migration is in an unknown state. A CI job without the ASM kubeconfig passing --allow-unknown (no Prometheus there)
# is the first case.
def _guessed(case: str, root: Path) -> Path:
    if case == "no ASM control plane, ASM proxies on the data plane":
        return snapshot(root, istio_cluster(asm_pods=2))
    if case == "state Paused":
        return snapshot(root, istio_cluster(), cr_state="Paused")
    return f.write_snapshot(root, {"cluster-a": istio_cluster(),
                                   "asm": [f.migration_cr("Init"), f.migration_cr("Migrating")]},
                            versions={"cluster-a": f.version_info(), "asm": f.version_info()},
                            manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "complete": True},
                                                   {"name": "asm", "role": "asm", "complete": True}]})


@pytest.mark.parametrize("case", ["no ASM control plane, ASM proxies on the data plane", "state Paused",
                                  "two copies of the resource (Init, Migrating)"])
def test_allow_unknown_never_accepts_a_gate_that_is_a_guess(case: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    root = _guessed(case, tmp_path / "snap")
    config = tmp_path / "c.yaml"
    config.write_text("asm: {version: v1.24.6.62-g5c7e1f0b-aliyun}\nsnapshot: {max_age: null}\n")
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(root), "--config", str(config), "--allow-unknown", "--out", str(out),
                 "--format", "json"])
    err = capsys.readouterr().err
    doc = json.loads((out / "findings.json").read_text())
    assert (code, doc["verdict"], doc["exit_code"]) == (3, "INCOMPLETE", 3), err  # main: (0, "GO", 0)
    assert doc["gate"] == "assessment"
    assert [(x["status"], x["code"]) for x in doc["findings"] if x["check_id"] == "gate-selection"] == [
        ("UNKNOWN", "AA0010")]
    assert doc["options"]["allow_unknown"] is False and doc["options"]["allow_unknown_refused"] is True
    assert any("--allow-unknown does not apply: AA0010" in note for note in doc["notes"])
