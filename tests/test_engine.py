"""Verdict rules, crash handling and plugin registration of the engine."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from auditor import api
from auditor import kinds as K
from auditor.check import ClusterCheck
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import findings_frame, records, verdict_of
from auditor.model import Finding, Gate, Outcome, Severity, Status, Verdict
from auditor.registry import load_registry
from auditor.sources.snapshot import open_snapshot
from tests import factory as f


def frame(*rows: tuple[Status, Severity, bool]):
    return findings_frame(Finding(status=s, cluster="c", message="m", severity=sev, gate="uninstall",
                                  check_id="x", exempt=ex) for s, sev, ex in rows)


@pytest.mark.parametrize(("rows", "kwargs", "expected"), [
    ([(Status.PASS, Severity.BLOCKER, False)], {}, Verdict.GO),
    ([(Status.FAIL, Severity.BLOCKER, False)], {}, Verdict.NO_GO),
    ([(Status.FAIL, Severity.MAJOR, False)], {}, Verdict.NO_GO),
    ([(Status.FAIL, Severity.MINOR, False), (Status.WARN, Severity.MAJOR, False)], {}, Verdict.GO),
    ([(Status.FAIL, Severity.MINOR, False)], {"strict": True}, Verdict.NO_GO),
    ([(Status.WARN, Severity.INFO, False)], {"strict": True}, Verdict.NO_GO),
    ([(Status.FAIL, Severity.BLOCKER, True)], {}, Verdict.GO),
    ([(Status.UNKNOWN, Severity.INFO, False)], {}, Verdict.INCOMPLETE),
    ([(Status.UNKNOWN, Severity.BLOCKER, False)], {"allow_unknown": True}, Verdict.GO),
    ([(Status.UNKNOWN, Severity.BLOCKER, False), (Status.FAIL, Severity.MAJOR, False)], {}, Verdict.NO_GO),
    ([(Status.NOT_APPLICABLE, Severity.BLOCKER, False)], {}, Verdict.GO),
    ([], {}, Verdict.INCOMPLETE),  # no finding proves nothing
])
def test_verdict_rules(rows, kwargs, expected):
    assert verdict_of(frame(*rows), **kwargs) is expected


class Crashing(ClusterCheck):
    id = "test-crashing"
    title = "crashes"
    gates = (Gate.UNINSTALL,)
    severity = Severity.MINOR
    rationale = "r"
    remediation = "x"
    outcomes = (Outcome("TST101", Status.PASS, "never reached"),)
    needs = (K.POD,)

    def check_cluster(self, cluster, ctx):
        raise ZeroDivisionError("boom")


class Silent(ClusterCheck):
    id = "test-silent"
    title = "yields nothing"
    gates = (Gate.UNINSTALL,)
    severity = Severity.MINOR
    rationale = "r"
    remediation = "x"
    outcomes = (Outcome("TST201", Status.PASS, "never reached"),)

    def check_cluster(self, cluster, ctx):
        return []


def snapshot_of(tmp_path: Path, objects: list[dict], complete: bool = False) -> Path:
    manifest = {"clusters": [{"name": "c1", "complete": True}]} if complete else None
    return f.write_snapshot(tmp_path / "snap", {"c1": objects}, versions={"c1": f.version_info()}, manifest=manifest)


def test_crashing_check_is_unknown_and_run_continues(tmp_path):
    snap = snapshot_of(tmp_path, [f.pod("a-1", owner=None, proxy="asm")], complete=True)
    result = run_audit(open_snapshot(snap), "uninstall", extra_checks=[Crashing, Silent])
    by_id = {r["check_id"]: r for r in records(result.findings)}
    assert by_id["test-crashing"]["status"] == "UNKNOWN"
    assert "ZeroDivisionError: boom" in by_id["test-crashing"]["message"]
    assert by_id["test-silent"]["status"] == "UNKNOWN"  # silence is not a PASS
    assert by_id["istio-sidecars-remaining"]["status"] == "PASS"
    assert result.verdict is Verdict.INCOMPLETE and result.exit_code == 3


def test_disabled_and_severity_override_from_config(tmp_path):
    snap = snapshot_of(tmp_path, [f.pod("a-1", proxy="istio")], f.no_vms_manifest("c1"))
    settings = f.only_checks("istio-sidecars-remaining")
    settings["checks"]["severity"] = {"istio-sidecars-remaining": "minor"}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(settings))
    result = api.run_audit(sources=open_snapshot(snap), phase="uninstall", config=config)
    ids = set(result.findings["check_id"].astype(str))
    assert "migration-resource" not in ids
    row = next(r for r in records(result.findings) if r["check_id"] == "istio-sidecars-remaining")
    assert (row["status"], row["severity"]) == ("FAIL", "minor")
    assert result.verdict is Verdict.GO  # a minor FAIL does not block


def test_third_party_check_registers_through_the_entry_point(tmp_path, monkeypatch):
    """A real distribution on sys.path (dist-info + entry_points.txt), found by importlib.metadata."""
    pkg = tmp_path / "site"
    (pkg / "acme_checks").mkdir(parents=True)
    (pkg / "acme_checks" / "__init__.py").write_text(textwrap.dedent('''
        from auditor.check import ClusterCheck
        from auditor.model import Gate, Outcome, Severity, Status

        class NoBarePods(ClusterCheck):
            id = "acme-no-bare-pods"
            title = "No pod without owner"
            gates = (Gate.UNINSTALL,)
            severity = Severity.MAJOR
            rationale = "Bare pods are not recreated."
            remediation = "Wrap them in a Deployment."
            outcomes = (Outcome("ACME001", Status.PASS, "no bare pod"),
                        Outcome("ACME010", Status.FAIL, "a pod without owner"))

            def check_cluster(self, cluster, ctx):
                pods = cluster.pods()
                bare = pods[pods["workload_kind"] == "Pod"]
                for name in bare["name"]:
                    yield self.fail(cluster.name, "bare pod", kind="Pod", name=name)
                if bare.empty:
                    yield self.passed(cluster.name, "none")
    '''))
    dist = pkg / "acme_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[asm_audit.checks]\nacme = acme_checks:NoBarePods\n"
                                           "broken = acme_checks:DoesNotExist\n")
    monkeypatch.syspath_prepend(str(pkg))
    registry = load_registry()
    assert "acme-no-bare-pods" in registry.checks
    assert "broken" in registry.broken

    snap = snapshot_of(tmp_path, [f.pod("debug", proxy=None)])
    result = run_audit(open_snapshot(snap), "uninstall")
    rows = {r["check_id"]: r for r in records(result.findings)}
    assert rows["acme-no-bare-pods"]["status"] == "FAIL"
    assert rows["plugin:broken"]["status"] == "UNKNOWN"  # a plugin that does not load blocks GO
    sys.modules.pop("acme_checks", None)


def test_auto_gate_follows_the_migration_state(tmp_path):
    dp = [f.istiod(), f.pod("x", proxy="istio")]
    cases = {None: "assessment", "Init": "setup", "SetupIstioForMigrate": "migrating", "Migrating": "uninstall",
             "Finished": "finished"}
    for state, gate in cases.items():
        asm = [f.migration_cr(state)] if state else []
        root = f.write_snapshot(tmp_path / f"s-{state}", {"c1": dp, "asm": asm},
                                manifest={"clusters": [{"name": "c1", "role": "data-plane", "complete": True},
                                                       {"name": "asm", "role": "asm", "complete": True}]})
        assert run_audit(open_snapshot(root), "auto").gate == gate, state
    # Migrating with Istio's control plane gone: the next step is the Finished switch.
    root = f.write_snapshot(tmp_path / "gone", {"c1": [f.pod("x", proxy="asm")], "asm": [f.migration_cr("Migrating")]},
                            manifest={"clusters": [{"name": "c1", "role": "data-plane", "complete": True},
                                                   {"name": "asm", "role": "asm", "complete": True}]})
    assert run_audit(open_snapshot(root), "auto").gate == "finished"


def test_phase_all_runs_every_gate_and_takes_the_worst(tmp_path):
    root = f.write_snapshot(tmp_path / "s", {"c1": [f.istiod(), f.pod("x", proxy="istio")],
                                             "asm": [f.migration_cr("Migrating")]},
                            versions={"c1": f.version_info()},
                            manifest={"clusters": [{"name": "c1", "role": "data-plane", "complete": True},
                                                   {"name": "asm", "role": "asm", "complete": True}]})
    result = run_audit(open_snapshot(root), "all")
    assert set(result.gate_verdicts) == {g.value for g in Gate}
    assert result.gate_verdicts["uninstall"] == "NO-GO"
    assert result.verdict is Verdict.NO_GO


def test_pods_are_read_through_pods_never_as_an_empty_object_list(demo_dir):
    """A plugin counting `objects(K.POD)` would see [] (pods are summarised, not kept) and pass with no evidence."""
    from auditor.sources.snapshot import open_snapshot

    result = run_audit(open_snapshot(demo_dir), "uninstall", Config())
    cluster = result.inventory.data_planes[0]
    assert len(cluster.pods()) > 0
    with pytest.raises(TypeError, match=r"use ClusterInventory\.pods\(\)"):
        cluster.objects(K.POD)
