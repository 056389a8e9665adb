"""What a CI pipeline reads after `asm-audit run` (red22h): the exit code, findings.json, junit.xml, summary.md.

1. `--baseline OLD.json --fail-on-new` accepted a blocker as "already in the baseline" when the baseline had a blocker
   of the same check on the same object, whatever the finding's code. mesh-config-parity reports every mesh-config
   difference of a revision on its ConfigMap (istio-system/istio): with outboundTrafficPolicy's AA2413 accepted in
   the baseline, a new difference on the same ConfigMap (AA2418: defaultServiceExportTo, AA2417: rootNamespace) was
   accepted too: GO, exit 0, `new_blockers: []`. A blocker is now known by its code as well. Nor was the engine's
   AA0011 (the gate already past) kept out: a pipeline pinned to a gate the migration had left said GO from its
   second run on; only the audited checks' blockers are accepted from a baseline now.
2. A report directory reused with fewer formats kept the earlier run's files: a new findings.json saying NO-GO beside
   the last run's junit.xml and summary.md saying GO (a junit reporter or a PR comment step read the old verdict).
   The files of the formats not written this time are removed with the move of the new set (and put back with the
   old set when the move fails).

Fixtures: the demo snapshot (an Istio 1.22 install) whose istio-system/istio ConfigMap `mesh` key gets a meshConfig
value, as the istio-discovery chart writes it (istio/istio@1.22.3:manifests/charts/istio-control/istio-discovery/
templates/configmap.yaml merges `.Values.meshConfig` over the chart's mesh into the `mesh` key, so `helm upgrade
--set meshConfig.defaultServiceExportTo={.}` lands there); the hand-made uninstall snapshot of
tests/test_hostile_pages_20.py for the GO / NO-GO report sets.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import diff as D
from auditor.cli.main import main
from tests import factory as f
from tests.test_hostile_pages_20 import ASM_CONFIG, handmade

PARITY = "mesh-config-parity"


# ---------------------------------------------------------------- --fail-on-new and finding codes
def set_mesh_config(snapshot: Path, cluster: str, **values: Any) -> None:
    """Set meshConfig fields in the cluster's istio-system/istio ConfigMap (its `mesh` key, as the chart renders it)."""
    path = snapshot / cluster / "configmaps.json"
    doc = json.loads(path.read_text())
    found = 0
    for item in doc["items"]:
        if (item["metadata"]["namespace"], item["metadata"]["name"]) == ("istio-system", "istio"):
            mesh = yaml.safe_load(item["data"]["mesh"])
            mesh.update(values)
            item["data"]["mesh"] = yaml.safe_dump(mesh)
            found += 1
    assert found == 1
    path.write_text(json.dumps(doc, indent=2))


def audit(snapshot: Path, out: Path, config: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["run", "--snapshot", str(snapshot), "--phase", "uninstall", "--out", str(out), "--format", "json",
                 "-q", "--config", str(config), *extra])
    return code, json.loads((out / "findings.json").read_text())


def parity_blockers(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["cluster"], r["code"], r["name"]) for r in doc["findings"]
            if r["check_id"] == PARITY and r["status"] == "FAIL"}


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo judged by mesh-config-parity alone, ASM's mesh config given (so its values are known): one blocker,
    AA2413 (outboundTrafficPolicy REGISTRY_ONLY on Istio, ALLOW_ANY on ASM) on cluster-a's istio ConfigMap."""
    from auditor.api import demo_snapshot_path

    tmp = tmp_path_factory.mktemp("parity")
    config = f.only_checks(PARITY)
    config["asm"] = {"mesh_config": {"trustDomain": "cluster.local", "rootNamespace": "istio-system",
                                     "defaultServiceExportTo": ["*"]}}
    cfg = tmp / "asm-audit.yaml"
    cfg.write_text(yaml.safe_dump(config))
    before = tmp / "before"
    shutil.copytree(demo_snapshot_path(), before)
    code, old = audit(before, tmp / "out-before", cfg)
    assert code == 1 and parity_blockers(old) == {("cluster-a", "AA2413", "istio")}
    return {"tmp": tmp, "cfg": cfg, "before": before, "old_path": tmp / "out-before" / "findings.json"}


def test_the_control_the_same_blocker_again_is_accepted(parity):
    code, doc = audit(parity["before"], parity["tmp"] / "out-same", parity["cfg"], "--baseline",
                      str(parity["old_path"]), "--fail-on-new")
    assert code == 0 and doc["verdict"] == "GO" and doc["exit_code"] == 0
    assert doc["baseline"]["accepted_from_baseline"] == 1 and doc["baseline"]["new_blockers"] == []


@pytest.mark.parametrize("field, value, code", [("defaultServiceExportTo", ["."], "AA2418"),
                                                ("rootNamespace", "istio-config", "AA2417")])
def test_a_new_blocker_code_on_an_object_that_blocked_before_is_new(parity, field, value, code):
    """Was GO (exit 0, new_blockers []): AA2413 of the baseline vouched for any blocker on the same ConfigMap."""
    after = parity["tmp"] / f"after-{field}"
    shutil.copytree(parity["before"], after)
    set_mesh_config(after, "cluster-a", **{field: value})
    code_now, doc = audit(after, parity["tmp"] / f"out-{field}", parity["cfg"], "--baseline",
                          str(parity["old_path"]), "--fail-on-new")
    assert parity_blockers(doc) == {("cluster-a", "AA2413", "istio"), ("cluster-a", code, "istio")}
    assert code_now == 1 and doc["verdict"] == "NO-GO" and doc["exit_code"] == 1
    assert doc["gate_verdicts"] == {"uninstall": "NO-GO"} and doc["cluster_verdicts"]["cluster-a"] == "NO-GO"
    delta = doc["baseline"]
    assert [(r["cluster"], r["code"], r["name"]) for r in delta["new_blockers"]] == [("cluster-a", code, "istio")]
    assert delta["accepted_from_baseline"] == 1  # AA2413 stays accepted
    assert delta["blockers"]["new"] == 1 and delta["blockers"]["still_open"] == 1


def test_diff_counts_a_blocker_by_its_code():
    rec = {"cluster": "c", "gate": "uninstall", "check_id": PARITY, "kind": "ConfigMap", "namespace": "istio-system",
           "name": "istio", "severity": "blocker", "status": "FAIL", "exempt": False, "message": "m"}
    old = {"verdict": "NO-GO", "findings": [{**rec, "code": "AA2413"}]}
    new = {"verdict": "NO-GO", "findings": [{**rec, "code": "AA2418"}]}
    delta = D.compare(old, new)
    assert [r["code"] for r in delta["new_blockers"]] == ["AA2418"]
    assert [(r["code"], r["now"]) for r in delta["resolved_blockers"]] == [("AA2413", "FAIL")]
    assert delta["blockers"] == {"before": 1, "after": 1, "new": 1, "resolved": 1, "still_open": 0}
    same = D.compare(old, old)
    assert same["new_blockers"] == [] and same["blockers"]["still_open"] == 1


def test_a_gate_already_past_is_never_debt_carried_from_the_baseline(tmp_path):
    """A pipeline pinned to --phase setup while the demo's ASMMigrateFromIstio is in state Migrating: AA0011 (the gate
    is already past, its checks say nothing of the next step) was accepted from the baseline: GO, exit 0, on the
    second run. The engine's own findings are not exempted by config; nor are they accepted from a baseline."""
    from auditor.api import demo_snapshot_path

    cfg = tmp_path / "asm-audit.yaml"
    cfg.write_text(yaml.safe_dump({"snapshot": {"max_age": None}}))

    def setup_gate(out: str, *extra: str) -> tuple[int, dict[str, Any]]:
        code = main(["run", "--snapshot", str(demo_snapshot_path()), "--phase", "setup", "--out", str(tmp_path / out),
                     "--format", "json", "-q", "--config", str(cfg), *extra])
        return code, json.loads((tmp_path / out / "findings.json").read_text())

    code, old = setup_gate("first")
    assert code == 1 and ("gate-selection", "AA0011", "FAIL") in {(r["check_id"], r["code"], r["status"])
                                                                  for r in old["findings"]}
    code, doc = setup_gate("second", "--baseline", str(tmp_path / "first" / "findings.json"), "--fail-on-new")
    assert code == 1 and doc["verdict"] == "NO-GO" and doc["gates_past"] == ["setup"]
    assert doc["baseline"]["accepted_from_baseline"] == 0


# ---------------------------------------------------------------- a reused report directory
def snapshots(root: Path) -> tuple[Path, Path, Path]:
    config = root / "asm.yaml"
    config.write_text(ASM_CONFIG)
    go = handmade(root / "go", {"pods.json": {"apiVersion": "v1", "kind": "List", "items": [
        f.pod("cart-1", proxy="asm")]}})
    no_go = handmade(root / "no-go", {"pods.json": {"apiVersion": "v1", "kind": "List", "items": [
        f.pod("cart-1", proxy="asm"), f.pod("legacy-1", proxy="istio")]}})
    return config, go, no_go


def run_into(snapshot: Path, out: Path, config: Path, formats: str) -> int:
    return main(["run", "--snapshot", str(snapshot), "--phase", "uninstall", "--format", formats, "--out", str(out),
                 "--config", str(config), "-q"])


def test_a_reused_report_directory_holds_only_this_runs_reports(tmp_path):
    """Was: findings.json NO-GO beside the previous run's junit.xml (verdict GO, no failure) and summary.md (GO)."""
    from auditor.render import REPORT_FILES

    config, go, no_go = snapshots(tmp_path)
    out = tmp_path / "out"
    assert run_into(go, out, config, "json,junit,md,csv,html") == 0
    assert {p.name for p in out.iterdir()} <= set(REPORT_FILES)  # the names a later run takes away
    (out / "notes.txt").write_text("the user's own file")
    assert run_into(no_go, out, config, "json") == 1
    assert json.loads((out / "findings.json").read_text())["verdict"] == "NO-GO"
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "notes.txt"]  # not a report: left alone
    assert run_into(no_go, out, config, "json,junit") == 1
    junit = (out / "junit.xml").read_text()
    assert re.findall(r'name="verdict" value="([^"]+)"', junit) == ["NO-GO"]


def test_a_failed_move_keeps_the_previous_set_with_its_other_formats(tmp_path, capsys):
    config, go, no_go = snapshots(tmp_path)
    out = tmp_path / "out"
    assert run_into(go, out, config, "json,junit,md") == 0
    (out / "findings.json").unlink()
    (out / "findings.json").mkdir()  # the one target a file cannot replace
    before = {p.name: (p.read_bytes() if p.is_file() else None) for p in out.iterdir()}
    assert run_into(no_go, out, config, "json") == 2
    assert {p.name: (p.read_bytes() if p.is_file() else None) for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_files_of_report_names_that_are_not_ours_are_left_alone(tmp_path):
    """review22b: `--out .` in a repository root deleted the user's own summary.md and report.html (any file of a
    report's name was an earlier run's). Only files that say they are this tool's reports are taken away."""
    config, _go, no_go = snapshots(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    own = {"summary.md": "# Release notes\n", "report.html": "<html><title>Q3 report</title></html>",
           "junit.xml": '<testsuites name="unit-tests"/>', "findings.csv": "id,finding\n1,none\n",
           "report.pdf": "%PDF-1.7 not ours"}
    for name, text in own.items():
        (out / name).write_text(text)
    assert run_into(no_go, out, config, "json") == 1
    assert {name: (out / name).read_text() for name in own} == own
    assert sorted(p.name for p in out.iterdir()) == sorted([*own, "findings.json"])


def test_an_earlier_runs_pdf_is_known_as_ours(tmp_path):
    """The PDF says so in its document information (Subject "asm-audit <version>; ...", in a compressed stream)."""
    from auditor.render import written_by_asm_audit

    config, go, no_go = snapshots(tmp_path)
    out = tmp_path / "out"
    assert run_into(go, out, config, "json,pdf") == 0
    assert written_by_asm_audit(out / "report.pdf")
    assert run_into(no_go, out, config, "json") == 1
    assert sorted(p.name for p in out.iterdir()) == ["findings.json"]
