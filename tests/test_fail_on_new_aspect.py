"""`--fail-on-new` knows a blocker by what of its object it is about, not only by its object and code.

mesh-config-parity reports each differing mesh-config field of a revision on that revision's ConfigMap under one code
(AA2418 covers defaultServiceExportTo, defaultVirtualServiceExportTo and defaultDestinationRuleExportTo; AA2420 every
proxy default; AA2425 every interception value), istio-residue and istio-control-plane-removed each unread category of
objects under one code (AA2330, AA2230). A baseline holding AA2418 for defaultServiceExportTo accepted an AA2418 for
defaultDestinationRuleExportTo on the same ConfigMap: GO, exit 0, `new_blockers: []` — a false GO of the CI gate
(found by running the suite with every run's blocking findings grouped by object and code: these five codes had
several findings per group). Now each such outcome declares its `aspect` (the params naming the field, the provider,
the category), findings.json carries it, and the blocker key includes it; and no more findings of one blocker key are
accepted than the baseline had, for an outcome that gives two findings of one key without declaring an aspect.

Fixtures: the demo snapshot (an Istio 1.22 install) whose istio-system/istio ConfigMap `mesh` key gets meshConfig
values, as the istio-discovery chart writes them (istio/istio@1.22.3:manifests/charts/istio-control/istio-discovery/
templates/configmap.yaml merges `.Values.meshConfig` into the `mesh` key; the three default*ExportTo fields are
meshConfig fields of istio/api@1.22 mesh/v1alpha1/config.proto); ASM's side given in the config as asm.mesh_config.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from auditor import diff as D
from tests import factory as f
from tests.test_ci_outputs_22h import PARITY, audit, set_mesh_config

ALL_OPEN = ["*"]
EXPORT_FIELDS = ("defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo")


def export_blockers(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["code"], r["name"], r.get("aspect", "")) for r in doc["findings"]
            if r["check_id"] == PARITY and r["status"] == "FAIL" and r["code"] == "AA2418"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo judged by mesh-config-parity alone, ASM's mesh config exporting everything everywhere; the baseline
    run has Istio's defaultServiceExportTo at "." (visible in its own namespace only): one AA2418."""
    from auditor.api import demo_snapshot_path

    tmp = tmp_path_factory.mktemp("exports")
    config = f.only_checks(PARITY)
    config["asm"] = {"mesh_config": {"trustDomain": "cluster.local", "rootNamespace": "istio-system",
                                     **{name: ALL_OPEN for name in EXPORT_FIELDS}}}
    cfg = tmp / "asm-audit.yaml"
    cfg.write_text(yaml.safe_dump(config))
    base = tmp / "base"
    shutil.copytree(demo_snapshot_path(), base)
    set_mesh_config(base, "cluster-a", outboundTrafficPolicy={"mode": "ALLOW_ANY"}, **{n: ALL_OPEN for n in
                                                                                      EXPORT_FIELDS})
    before = tmp / "before"
    shutil.copytree(base, before)
    set_mesh_config(before, "cluster-a", defaultServiceExportTo=["."])
    code, old = audit(before, tmp / "out-before", cfg)
    assert code == 1 and {(c, n) for c, n, _ in export_blockers(old)} == {("AA2418", "istio")}
    return {"tmp": tmp, "cfg": cfg, "base": base, "before": before,
            "old_path": tmp / "out-before" / "findings.json"}


def run_after(exports: dict[str, Any], name: str, **values: Any) -> tuple[int, dict[str, Any]]:
    after = exports["tmp"] / name
    shutil.copytree(exports["base"], after)
    set_mesh_config(after, "cluster-a", **values)
    return audit(after, exports["tmp"] / f"out-{name}", exports["cfg"], "--baseline", str(exports["old_path"]),
                 "--fail-on-new")


def test_findings_json_says_the_aspect(exports):
    old = json.loads(Path(exports["old_path"]).read_text())
    assert export_blockers(old) == {("AA2418", "istio", "revision=default; field=defaultServiceExportTo")}
    assert all(r["aspect"] == "" for r in old["findings"] if r["status"] == "PASS")


def test_the_control_the_same_field_again_is_accepted(exports):
    code, doc = run_after(exports, "same", defaultServiceExportTo=["."])
    assert code == 0 and doc["verdict"] == "GO"
    assert doc["baseline"]["accepted_from_baseline"] == 1 and doc["baseline"]["new_blockers"] == []


def test_another_field_under_the_same_code_and_object_is_a_new_blocker(exports):
    """Was GO (exit 0): the baseline's AA2418 for defaultServiceExportTo vouched for defaultDestinationRuleExportTo's
    (the first was fixed, the second broke)."""
    code, doc = run_after(exports, "swapped", defaultDestinationRuleExportTo=["."])
    assert code == 1 and doc["verdict"] == "NO-GO" and doc["exit_code"] == 1
    assert export_blockers(doc) == {("AA2418", "istio", "revision=default; field=defaultDestinationRuleExportTo")}
    delta = doc["baseline"]
    assert delta["accepted_from_baseline"] == 0
    assert [(r["code"], r["aspect"]) for r in delta["new_blockers"]] == [
        ("AA2418", "revision=default; field=defaultDestinationRuleExportTo")]
    assert [(r["code"], r["aspect"]) for r in delta["resolved_blockers"]] == [
        ("AA2418", "revision=default; field=defaultServiceExportTo")]


def test_a_second_field_beside_the_accepted_one_is_a_new_blocker(exports):
    """Was GO: both AA2418 findings matched the baseline's one key."""
    code, doc = run_after(exports, "both", defaultServiceExportTo=["."], defaultVirtualServiceExportTo=["."])
    assert code == 1 and doc["verdict"] == "NO-GO"
    assert len(export_blockers(doc)) == 2
    assert doc["baseline"]["accepted_from_baseline"] == 1
    assert [r["aspect"] for r in doc["baseline"]["new_blockers"]] == [
        "revision=default; field=defaultVirtualServiceExportTo"]


def test_a_baseline_written_before_aspects_accepts_no_aspected_blocker(exports, tmp_path):
    """A findings.json of an earlier asm-audit (no `aspect` key): its AA2418 cannot say which field it was, so it
    vouches for none (NO-GO once, the safe side), while its blockers of outcomes without an aspect still match."""
    old = json.loads(Path(exports["old_path"]).read_text())
    for rec in old["findings"]:
        rec.pop("aspect", None)
    older = tmp_path / "older.json"
    older.write_text(json.dumps(old))
    after = exports["tmp"] / "older-run"
    if not after.exists():
        shutil.copytree(exports["before"], after)
    code, doc = audit(after, tmp_path / "out", exports["cfg"], "--baseline", str(older), "--fail-on-new")
    assert code == 1 and doc["verdict"] == "NO-GO"
    assert doc["baseline"]["accepted_from_baseline"] == 0


# ---------------------------------------------------------------- the engine's relief, unit level
def frame_of(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {"cluster": "c", "gate": "uninstall", "check_id": "plugin-check", "kind": "ConfigMap",
            "namespace": "istio-system", "name": "istio", "status": "FAIL", "severity": "blocker", "exempt": False,
            "code": "XX0001", "aspect": ""}
    return pd.DataFrame([{**base, **row} for row in rows])


def baseline_of(frame: pd.DataFrame) -> dict[str, Any]:
    return {"verdict": "NO-GO", "findings": frame.to_dict("records")}


def test_no_more_findings_of_one_key_are_accepted_than_the_baseline_had():
    """An outcome that gives two findings of one object and code without declaring an aspect (a plugin's): the second
    is a reason the baseline did not show."""
    old = frame_of({"message": "a"})
    now = frame_of({"message": "a"}, {"message": "b"})
    accepted = D.existing_blockers(now, baseline_of(old), strict=False)
    assert accepted.tolist() == [True, False]
    assert D.existing_blockers(now, baseline_of(now), strict=False).tolist() == [True, True]


def test_the_aspect_is_part_of_the_key():
    old = frame_of({"aspect": "field=a"})
    now = frame_of({"aspect": "field=b"}, {"aspect": "field=a"})
    assert D.existing_blockers(now, baseline_of(old), strict=False).tolist() == [False, True]


def test_diff_tells_two_blockers_of_one_code_apart_by_aspect():
    rec = {"cluster": "c", "gate": "uninstall", "check_id": PARITY, "kind": "ConfigMap", "namespace": "istio-system",
           "name": "istio", "severity": "blocker", "status": "FAIL", "exempt": False, "message": "m",
           "code": "AA2418"}
    old = {"verdict": "NO-GO", "findings": [{**rec, "aspect": "field=defaultServiceExportTo"}]}
    new = {"verdict": "NO-GO", "findings": [{**rec, "aspect": "field=defaultServiceExportTo"},
                                            {**rec, "aspect": "field=defaultDestinationRuleExportTo"}]}
    delta = D.compare(old, new)
    assert [r["aspect"] for r in delta["new_blockers"]] == ["field=defaultDestinationRuleExportTo"]
    assert delta["blockers"] == {"before": 1, "after": 2, "new": 1, "resolved": 0, "still_open": 1}


def test_declared_aspects_name_params_of_the_outcomes_message():
    """Codes as data: an aspect names only fields its outcome's message template fills (else it would be empty)."""
    import string

    from auditor.registry import load_registry

    declared = 0
    for check in load_registry().ordered():
        for outcome in check.outcomes:
            if outcome.aspect:
                declared += 1
                fields = {name for _, name, _, _ in string.Formatter().parse(outcome.message) if name}
                assert set(outcome.aspect) <= fields, (check.id, outcome.code)
    assert declared >= 10
