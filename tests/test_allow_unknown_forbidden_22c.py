"""--allow-unknown never accepts a cluster of which no list could be read, forbidden or refused alike (red22c).

engine.py already refused the flag for a cluster that could not be read at all because it did not answer
(tests/test_allow_unknown_unreachable.py). A cluster that answers /version but refuses every list is no more read: the
CI runner's ServiceAccount without the read-only ClusterRole bound (`asm-audit rbac` never applied, or bound in
another cluster), or an expired token (401 on every request). Kubernetes' RBAC authorizer denies whatever no binding
grants (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go: "RBAC: no rules"), answering 403 Forbidden
with a Status (tests/fakeapi.py enforce_rbac, its rules empty), while /version and discovery stay open to any
authenticated user (system:discovery, system:public-info-viewer). Every check of the cluster was UNKNOWN, no finding
blocked, the flag accepted them all: GO, exit 0, with its pods still on Istio's sidecar. Now INCOMPLETE (exit 3),
the refusal said in a note and in options.allow_unknown_refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor import api
from auditor.config import Config
from auditor.findings import records
from auditor.model import Verdict
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.test_fleet import serve  # the fleet tests' fake API server set-up: ASM's CRD served, ACK's version

JUDGED = ("istio-sidecars-remaining", "migration-resource")
# What `asm-audit rbac` grants (get and list on what the audit reads), as one rule: everything readable.
READ_ALL = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]


@pytest.fixture
def kubeconfigs(tmp_path: Path) -> Iterator[tuple[dict[str, Path], FakeApiServer]]:
    """A data plane still on Istio's sidecar, and ASM's control plane in Migrating."""
    with FakeApiServer() as data_plane, FakeApiServer() as asm:
        cart = f.deployment("cart")
        serve(data_plane, [f.namespace("istio-system"), f.namespace("shop"), *cart,
                           *f.workload_pods(cart, 2, proxy="istio")])
        serve(asm, [f.migration_cr("Migrating")])
        paths = {"dp": tmp_path / "dp.yaml", "asm": tmp_path / "asm.yaml"}
        data_plane.write_kubeconfig(paths["dp"], context="ctx-dp")
        asm.write_kubeconfig(paths["asm"], context="ctx-asm")
        yield paths, data_plane


def audit(paths: dict[str, Path], allow_unknown: bool) -> api.AuditResult:
    target = api.Target(clusters=[api.ClusterSpec("dp", str(paths["dp"]), "ctx-dp")],
                        asm_kubeconfig=str(paths["asm"]), timeout_s=5)
    return api.run_audit(target, "uninstall", Config.model_validate(f.only_checks(*JUDGED)),
                         allow_unknown=allow_unknown)


def test_the_control_a_readable_cluster_on_istios_sidecar_blocks(kubeconfigs):
    paths, server = kubeconfigs
    server.enforce_rbac(READ_ALL)
    assert audit(paths, allow_unknown=True).verdict is Verdict.NO_GO


def test_a_cluster_refusing_every_list_is_never_accepted(kubeconfigs):
    """Was GO, exit 0: the pods on Istio's sidecar were never read."""
    paths, server = kubeconfigs
    server.enforce_rbac([])
    result = audit(paths, allow_unknown=True)
    remaining = [(r["status"], r["code"]) for r in records(result.findings)
                 if r["check_id"] == "istio-sidecars-remaining"]
    assert remaining and {status for status, _ in remaining} == {"UNKNOWN"}
    assert (result.verdict, result.exit_code) == (Verdict.INCOMPLETE, 3)
    assert result.options["allow_unknown_refused"] is True
    assert result.cluster_verdicts["dp"] == "INCOMPLETE"


def test_a_token_refused_everywhere_is_never_accepted(kubeconfigs):
    """An expired token: 401 on every request, /version included (the cluster answers, so it is not unreachable)."""
    paths, server = kubeconfigs
    server.add_fault(r"^/", 401, times=None)
    result = audit(paths, allow_unknown=True)
    assert (result.verdict, result.exit_code) == (Verdict.INCOMPLETE, 3)
    assert result.options["allow_unknown_refused"] is True
