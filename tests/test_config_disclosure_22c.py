"""What the config leaves out of an audit is said beside the verdict, never silently (red22c).

product.md, Results: "Nothing that changed the verdict is hidden." Exemptions and severity overrides were counted
(summary.exempted, summary.severity_overridden) and said next to the verdict; two other config keys were not:

- `checks.disable`: a disabled check of the audited gate is not run, so its blocker never appears. Disabling
  istio-sidecars-remaining at the uninstall gate turned a NO-GO (a pod still on Istio's sidecar) into a GO with no
  trace in findings.json, summary.md, the terminal or the HTML. Now summary.checks_disabled counts the disabled checks
  of the audited gates, the disclosure beside the verdict says so, and a note names them.
- `residue.allow` ("Kind/name" globs that ASM or you own): `*` (or `*/*`, `**`) matched every object, so istiod,
  Istio's webhooks and every leftover passed istio-control-plane-removed: the finished gate said GO (exit 0), nothing
  said beside the verdict. A pattern matching every object is refused (exit 2), as a catch-all exemption is; a
  narrower one is named in a note when the checks it narrows run.

The pods and the control plane are tests/factory.py's (istio/istio@1.22.3 injection shapes, Istio's install labels),
the snapshot tests/test_hostile_pages_20.py's hand-made GO at the uninstall gate.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from auditor.cli.main import main
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import disclosure, records
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.checks.test_residue import asm_footprint, istio_control_plane
from tests.test_hostile_pages_20 import ASM_CONFIG, handmade

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
SIDECARS = "istio-sidecars-remaining"


def uninstall_with(tmp_path: Path, config_text: str) -> tuple[int, dict]:
    """The hand-made uninstall snapshot with one pod still on Istio's sidecar, audited with `config_text` added."""
    root = handmade(tmp_path / "snap", {"pods.json": {"apiVersion": "v1", "kind": "List", "items": [
        f.pod("cart-1", proxy="asm"), f.pod("legacy-1", proxy="istio")]}})
    config = tmp_path / "asm.yaml"
    config.write_text(ASM_CONFIG + config_text)
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out", str(out),
                 "--config", str(config), "-q"])
    return code, json.loads((out / "findings.json").read_text())


def test_the_control_a_pod_on_istios_sidecar_blocks(tmp_path):
    code, doc = uninstall_with(tmp_path, "")
    assert code == 1 and doc["summary"]["checks_disabled"] == 0
    assert {(r["status"], r["code"]) for r in doc["findings"] if r["check_id"] == SIDECARS} == {("FAIL", "AA1210")}


def test_a_disabled_check_of_the_gate_is_counted_and_named_beside_the_verdict(tmp_path):
    """Was GO with nothing said: summary without a count, no note, an empty disclosure."""
    code, doc = uninstall_with(tmp_path, f"checks:\n  disable: [{SIDECARS}]\n")
    assert code == 0 and doc["verdict"] == "GO"  # the config's choice, now said
    assert not [r for r in doc["findings"] if r["check_id"] == SIDECARS]
    assert doc["summary"]["checks_disabled"] == 1
    assert disclosure(doc["summary"])  # said next to the verdict in every output
    assert any(SIDECARS in note for note in doc["notes"])


def test_a_disabled_check_of_another_gate_is_not_counted(tmp_path):
    """istio-control-plane-removed judges the finished gate only: disabling it changes nothing at uninstall."""
    code, doc = uninstall_with(tmp_path, "checks:\n  disable: [istio-control-plane-removed]\n")
    assert code == 1 and doc["summary"]["checks_disabled"] == 0
    assert not any("istio-control-plane-removed" in note for note in doc["notes"])


# ---------------------------------------------------------------- residue.allow
@pytest.mark.parametrize("pattern", ["*", "*/*", "**", "?*", "*[!/]*", "[!@]*"])
def test_a_residue_allow_pattern_matching_every_object_is_refused(pattern):
    with pytest.raises(ValueError, match=r"residue\.allow"):
        Config.model_validate({"residue": {"allow": ["ClusterRole/istio-reader-*", pattern]}})


def test_a_catch_all_residue_allow_in_a_config_file_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "asm.yaml"
    config.write_text("residue:\n  allow: ['*']\n")
    code = main(["run", "--snapshot", str(tmp_path), "--config", str(config), "-q"])
    assert code == 2
    assert "residue.allow" in capsys.readouterr().err


# "Deployment/*", "*/istio-system/istiod" and "MutatingWebhookConfiguration/istio-sidecar-injector*" were here: they
# match istiod or its injector, refused since fix22j (tests/test_residue_allow_control_plane_22j.py).
@pytest.mark.parametrize("pattern", ["ClusterRole/istio-reader-*", "Deployment/istio-operator/istio-operator",
                                     "Service/istio-system/istiod"])
def test_narrow_residue_allow_patterns_are_accepted(pattern):
    Config.model_validate({"residue": {"allow": [pattern]}})


def finished(tmp_path: Path, allow: list[str]) -> tuple[str, list[dict], list[str]]:
    root = tmp_path / "snap"
    clusters = {"cluster-a": [*asm_footprint(), *istio_control_plane()], "asm": [f.migration_cr("Finished")]}
    f.write_snapshot(root, clusters, versions={name: f.version_info() for name in clusters},
                     manifest={"clusters": [{"name": name, "role": "asm" if name == "asm" else "data-plane",
                                             "dir": name, "complete": True} for name in clusters]})
    result = run_audit(open_snapshot(root), "finished", Config.model_validate({"residue": {"allow": allow}}),
                       now=NOW)
    return result.verdict.value, records(result.findings), [str(n) for n in result.notes]


def test_istio_control_plane_left_blocks_the_finished_gate(tmp_path):
    verdict, rows, _ = finished(tmp_path, [])
    assert verdict == "NO-GO"
    assert ("FAIL", "AA2210") in {(r["status"], r["code"]) for r in rows
                                  if r["check_id"] == "istio-control-plane-removed"}


def test_a_residue_allow_pattern_in_use_is_named_beside_the_verdict(tmp_path):
    """The pattern is named in a note, not only in one PASS finding's evidence. (It allowed istiod by name here,
    passing it: refused since fix22j, which keeps Istio's control plane out of residue.allow; istiod still fails.)"""
    _, rows, notes = finished(tmp_path, ["Service/istio-system/istiod"])
    assert ("FAIL", "AA2210") in {(r["status"], r["code"]) for r in rows}
    assert any("Service/istio-system/istiod" in note for note in notes)


def test_residue_allow_catch_all_helper():
    from auditor.config import residue_allow_matches_everything

    assert residue_allow_matches_everything("*")
    assert not residue_allow_matches_everything("Deployment/*")
