"""--allow-unknown never accepts a data plane whose Pods could not be read (fix23d).

engine.py refused the flag for a cluster not read at all (unreachable, or every list refused: tests/
test_allow_unknown_unreachable.py, test_allow_unknown_forbidden_22c.py). A ClusterRole granting everything the audit
reads but pods (a hand-edited `asm-audit rbac`, or a namespace-scoped role) lets every other list be read, and the API
server answers the pod lists 403 Forbidden with a Status (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/
rbac.go denies what no rule grants; tests/fakeapi.py enforce_rbac answers as it does). Every check judging the
workloads (sidecars left, proxies ready, restart risk) was UNKNOWN, no finding blocked, the flag accepted them all:
GO, exit 0, with the data plane's pods still on Istio's sidecar. Pods are each data-plane gate's primary evidence
(plan.PRIMARY_KINDS): now INCOMPLETE (exit 3), options.allow_unknown_refused set and the reason in a note.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from auditor import kinds as K
from auditor import plan, rbac
from auditor.cli.main import main
from auditor.model import Gate
from auditor.registry import load_registry
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.test_fleet import serve  # the fleet tests' fake API server set-up: ASM's CRD served, ACK's version

JUDGED = ("istio-sidecars-remaining", "asm-proxies-ready", "restart-risk", "migration-resource")


def readable_but(*left_out: K.Kind) -> list[dict]:
    """The data plane's ClusterRole `asm-audit rbac` prints (every gate), without the given kinds."""
    return rbac.rules_for(k for k in rbac.required_kinds("all")["data-plane"] if k not in left_out)


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[tuple[Path, FakeApiServer]]:
    """A data plane whose pods still run Istio's sidecar, and ASM's control plane in Migrating."""
    with FakeApiServer() as data_plane, FakeApiServer() as asm:
        cart = f.deployment("cart")
        serve(data_plane, [f.namespace("istio-system"), f.namespace("shop"), *cart,
                           *f.workload_pods(cart, 2, proxy="istio")])
        serve(asm, [f.migration_cr("Migrating")])
        data_plane.write_kubeconfig(tmp_path / "dp.yaml", context="ctx-dp")
        asm.write_kubeconfig(tmp_path / "asm.yaml", context="ctx-asm")
        yield tmp_path, data_plane


def run(root: Path, phase: str, *extra: str, checks: tuple[str, ...] = JUDGED, quiet: bool = True) -> tuple[int, dict]:
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(f.only_checks(*checks)))
    out = root / f"out-{phase}"
    code = main(["run", "--phase", phase, "--config", str(config), "--out", str(out), "--format", "json",
                 *(["--quiet"] if quiet else []), *extra])
    return code, json.loads((out / "findings.json").read_text())


def live(root: Path) -> list[str]:
    return ["--kubeconfig", str(root / "dp.yaml"), "--context", "ctx-dp", "--asm-kubeconfig", str(root / "asm.yaml"),
            "--asm-context", "ctx-asm", "--timeout", "5"]


def statuses(doc: dict, check_id: str) -> set[str]:
    return {x["status"] for x in doc["findings"] if x["check_id"] == check_id}


def test_the_control_pods_readable_the_sidecars_block(clusters):
    root, server = clusters
    server.enforce_rbac(readable_but())
    code, doc = run(root, "uninstall", *live(root), "--allow-unknown")
    assert (code, doc["verdict"]) == (1, "NO-GO")
    assert doc["options"]["allow_unknown_refused"] is False


@pytest.mark.parametrize("phase", ["uninstall", "finished"])
def test_pods_forbidden_alone_is_never_accepted(clusters, phase):
    """Was GO, exit 0 at both gates: the pods on Istio's sidecar were never read."""
    root, server = clusters
    server.enforce_rbac(readable_but(K.POD))
    code, doc = run(root, phase, *live(root), "--allow-unknown")
    assert statuses(doc, "istio-sidecars-remaining") == {"UNKNOWN"}
    assert statuses(doc, "migration-resource") == {"PASS"}  # the rest was read
    assert (code, doc["verdict"], doc["exit_code"]) == (3, "INCOMPLETE", 3)
    assert doc["options"]["allow_unknown"] is False and doc["options"]["allow_unknown_refused"] is True


def test_a_snapshot_taken_with_pods_forbidden_is_never_accepted(clusters):
    """The same evidence recorded by `asm-audit snapshot` and audited later (the CI gate's usual shape)."""
    root, server = clusters
    server.enforce_rbac(readable_but(K.POD))
    snap = root / "snap.tar.gz"
    main(["snapshot", "--out", str(snap), *live(root), "--quiet"])  # exit 3: a kind not read, recorded as such
    assert snap.is_file()
    code, doc = run(root, "uninstall", "--snapshot", str(snap), "--allow-unknown")
    assert (code, doc["verdict"]) == (3, "INCOMPLETE")
    assert doc["options"]["allow_unknown_refused"] is True


def test_the_flag_still_accepts_a_forbidden_kind_that_is_not_primary(clusters):
    """StatefulSets forbidden: one check's piece of evidence, which is what --allow-unknown is for."""
    root, server = clusters
    server.enforce_rbac(readable_but(K.STATEFULSET))
    code, doc = run(root, "uninstall", *live(root), "--allow-unknown",
                    checks=("manual-injection", "migration-resource"))
    assert statuses(doc, "manual-injection") == {"UNKNOWN"}
    assert (code, doc["verdict"]) == (0, "GO")
    assert doc["options"]["allow_unknown"] is True and doc["options"]["allow_unknown_refused"] is False


def test_pods_no_selected_check_reads_are_not_asked_for(clusters):
    """A config leaving out every check reading Pods never asks for them: nothing primary went unread."""
    root, server = clusters
    server.enforce_rbac(readable_but(K.POD))
    code, doc = run(root, "uninstall", *live(root), "--allow-unknown", checks=("migration-resource",))
    assert (code, doc["verdict"]) == (0, "GO")
    assert doc["options"]["allow_unknown_refused"] is False


def test_primary_kinds_follow_the_checks_declarations():
    """Pods are primary at every gate some built-in check needs them, and a primary kind is one its checks need."""
    checks = load_registry().ordered()
    for gate in Gate:
        needed = {k for c in checks if gate in c.gates for k in c.needs}
        assert set(plan.PRIMARY_KINDS[gate]) <= needed, gate
        assert (K.POD in plan.PRIMARY_KINDS[gate]) == (K.POD in needed), gate


def test_without_the_flag_the_terminal_does_not_offer_it_for_unread_pods(clusters, capsys):
    """The UNKNOWN line offered "--allow-unknown to accept", which the run with the flag then refuses: it says the flag
    would not accept them, and findings.json names the unread primary kinds."""
    root, server = clusters
    server.enforce_rbac(readable_but(K.POD))
    capsys.readouterr()
    code, doc = run(root, "uninstall", *live(root), quiet=False)
    err = capsys.readouterr().err
    assert (code, doc["verdict"]) == (3, "INCOMPLETE")
    assert doc["options"]["unread_primary_kinds"] == {"ctx-dp": ["Pod"]}
    assert "--allow-unknown would not accept" in err and "--allow-unknown to accept" not in err


def test_a_fleet_snapshot_judged_cluster_by_cluster_refuses_too(tmp_path):
    """Two data planes (judged one at a time, engine._cluster_by_cluster), one whose pods list was recorded forbidden
    in the manifest (`asm-audit snapshot` writes the kind's status): the other's evidence does not stand for it."""
    from auditor import api
    from auditor.config import Config

    def moved(name: str) -> list[dict]:
        cart = f.deployment(f"cart-{name}")
        return [f.namespace("istio-system"), f.namespace("shop"), *cart, *f.workload_pods(cart, 1, proxy="asm")]

    clusters = {"a": moved("a"), "b": moved("b"), "asm": [f.migration_cr("Migrating")]}
    entries = [{"name": "a", "role": "data-plane", "dir": "a", "complete": True},
               {"name": "b", "role": "data-plane", "dir": "b", "complete": True,
                "kinds": {K.POD.key: 'pods is forbidden: User "ci" cannot list resource "pods"'}},
               {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]
    root = f.write_snapshot(tmp_path / "snap", clusters, versions={n: f.version_info() for n in clusters},
                            manifest={"clusters": entries})
    config = Config.model_validate(f.only_checks(*JUDGED))
    result = api.run_audit(api.Target(snapshot=str(root)), "uninstall", config, allow_unknown=True)
    assert (result.verdict.value, result.exit_code) == ("INCOMPLETE", 3)
    assert result.options["unread_primary_kinds"] == {"b": ["Pod"]}
    assert result.cluster_verdicts["a"] == "GO"
