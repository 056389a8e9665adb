"""--allow-unknown accepts evidence that could not be read, never a cluster that could not be read at all.

A CI gate run with --allow-unknown (because, say, the runner cannot reach Prometheus) whose data plane's API server
did not answer got GO, exit 0: every check of that cluster was UNKNOWN, no finding blocked, and the flag accepted
them all. The pipeline went on to `istioctl uninstall --purge` on no evidence at all. Real clients against the fake
API server on 127.0.0.1 (one stopped: its port refuses connections, as a down API server's does).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import api
from auditor.config import Config
from auditor.model import Verdict
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.test_fleet import serve  # the fleet tests' fake API server set-up: ASM's CRD served, ACK's version

JUDGED = ("istio-sidecars-remaining", "migration-resource")


def moved_cluster() -> list[dict]:
    cart = f.deployment("cart")
    return [f.namespace("istio-system"), f.namespace("shop"), *cart, *f.workload_pods(cart, 2, proxy="asm")]


@pytest.fixture
def kubeconfigs(tmp_path: Path) -> Iterator[dict[str, Path]]:
    with FakeApiServer() as up, FakeApiServer() as down, FakeApiServer() as asm:
        serve(up, moved_cluster())
        serve(asm, [f.migration_cr("Migrating")])
        paths = {name: tmp_path / f"{name}.yaml" for name in ("up", "down", "asm")}
        for name, server in (("up", up), ("down", down), ("asm", asm)):
            server.write_kubeconfig(paths[name], context=f"ctx-{name}")
        down.stop()
        yield paths


def audit(paths: dict[str, Path], clusters: list[str], allow_unknown: bool) -> api.AuditResult:
    target = api.Target(clusters=[api.ClusterSpec(name, str(paths[name]), f"ctx-{name}") for name in clusters],
                        asm_kubeconfig=str(paths["asm"]), timeout_s=2)
    config = Config.model_validate(f.only_checks(*JUDGED))
    return api.run_audit(target, "uninstall", config, allow_unknown=allow_unknown)


def test_a_cluster_not_read_at_all_is_never_accepted(kubeconfigs):
    result = audit(kubeconfigs, ["down"], allow_unknown=True)
    assert result.verdict is Verdict.INCOMPLETE and result.exit_code == 3  # main: GO, exit 0
    assert result.options["allow_unknown_refused"] is True
    assert any("--allow-unknown does not apply" in str(note) for note in result.notes)


def test_a_fleet_with_one_cluster_down_is_incomplete_under_allow_unknown(kubeconfigs):
    result = audit(kubeconfigs, ["up", "down"], allow_unknown=True)
    assert result.verdict is Verdict.INCOMPLETE  # main: GO
    assert result.cluster_verdicts["down"] == "INCOMPLETE"


def test_allow_unknown_still_accepts_what_a_read_cluster_lacks(kubeconfigs):
    """The flag keeps its meaning where every cluster answered (here: nothing unknown, so GO either way)."""
    result = audit(kubeconfigs, ["up"], allow_unknown=True)
    assert result.verdict is Verdict.GO and result.options["allow_unknown"] is True
    assert not result.options.get("allow_unknown_refused")


# ---------------------------------------------------------------- no judgement made (red20p)
# A crashed check (AA0002) judged nothing: the blocker it would have found may be there. product.md: "Fail safe. Never
# GO on missing evidence, malformed input, or a crash." On main --allow-unknown accepted the crash: GO, exit 0.
def test_allow_unknown_never_accepts_a_crashed_check(tmp_path):
    from auditor.engine import run_audit
    from auditor.findings import records
    from auditor.sources.snapshot import open_snapshot
    from tests.test_engine import Crashing, snapshot_of

    snap = snapshot_of(tmp_path, [f.pod("a-1", owner=None, proxy="asm")], complete=True)
    settings = {**f.only_checks("istio-sidecars-remaining"), "snapshot": {"max_age": None}}
    result = run_audit(open_snapshot(snap), "uninstall", Config.model_validate(settings), extra_checks=[Crashing],
                       allow_unknown=True)
    assert [(r["status"], r["code"]) for r in records(result.findings) if r["check_id"] == "test-crashing"] == [
        ("UNKNOWN", "AA0002")]
    assert (result.verdict, result.exit_code) == (Verdict.INCOMPLETE, 3)  # main: GO, 0
    assert result.options["allow_unknown_refused"] is True
    assert any("--allow-unknown does not apply: AA0002" in note for note in result.notes)
    # The way out is explicit and said: the check exempted by its id, with a reason (or disabled).
    settings["exemptions"] = [{"check": "test-crashing", "reason": "known defect, fixed in 2.1 (CHG-11)"}]
    accepted = run_audit(open_snapshot(snap), "uninstall", Config.model_validate(settings), extra_checks=[Crashing],
                         allow_unknown=True)
    assert accepted.verdict is Verdict.GO and not accepted.options["allow_unknown_refused"]
