"""Read-only by proof: every request a full live run sends is recorded by the fake API server and checked.

The bundled demo (ASM control plane + two data-plane clusters) is served by three fake API servers and
audited through the real `kubernetes` client, for every gate at once (`--phase all`) and by `snapshot`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from auditor import api
from auditor import kinds as K
from auditor.check import ClusterCheck
from auditor.cli.main import main
from auditor.errors import SourceError
from auditor.findings import records
from auditor.kinds import Kind
from auditor.model import Gate, Outcome, Severity, Status
from auditor.sources.live import LiveCluster, refuse_unsafe
from tests import factory as f
from tests.fakeapi import FakeApiServer, RequestRecord

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
DEMO = api.demo_snapshot_path()
DATA_PLANES = ("cluster-a", "cluster-b")


@dataclass
class LiveDemo:
    """The demo snapshot served live: one fake API server per cluster, a kubeconfig for each."""

    servers: dict[str, FakeApiServer]
    kubeconfigs: dict[str, Path] = field(default_factory=dict)

    def argv(self, *clusters: str) -> list[str]:
        out: list[str] = []
        for name in clusters or DATA_PLANES:
            out += ["--cluster", f"{name}={self.kubeconfigs[name]}@{name}"]
        return [*out, "--asm-kubeconfig", str(self.kubeconfigs["asm"]), "--asm-context", "asm"]

    def target(self, **kw: Any) -> api.Target:
        return api.Target(clusters=[api.ClusterSpec(n, str(self.kubeconfigs[n]), n) for n in DATA_PLANES],
                          asm_kubeconfig=str(self.kubeconfigs["asm"]), asm_context="asm", **kw)

    def requests(self) -> list[RequestRecord]:
        return [r for s in self.servers.values() for r in s.requests]

    def clear(self) -> None:
        for s in self.servers.values():
            s.clear_requests()


@contextmanager
def live_demo(tmp_path: Path) -> Iterator[LiveDemo]:
    with ExitStack() as stack:
        demo = LiveDemo({})
        for name in (*DATA_PLANES, "asm"):
            server = stack.enter_context(FakeApiServer())
            f.serve_cluster_dir(server, DEMO / name)
            demo.servers[name] = server
            demo.kubeconfigs[name] = server.write_kubeconfig(tmp_path / f"{name}.kubeconfig", context=name)
        yield demo


def comparable(result: Any) -> list[str]:
    """Findings as sorted JSON lines: two runs over the same objects must give the same list."""
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in records(result.findings))


def segments(path: str) -> list[str]:
    return path.lower().split("/")


def assert_read_only(requests: list[RequestRecord]) -> None:
    assert requests, "nothing was requested"
    assert {r.method for r in requests} == {"GET"}
    assert not [r.path for r in requests if "secrets" in segments(r.path)]
    assert not [r for r in requests if "watch" in r.query or "watch" in segments(r.path)]
    user_agents = {r.headers.get("User-Agent") for r in requests}
    assert len(user_agents) == 1 and re.fullmatch(r"asm-audit/\d+\.\d+\.\d+\S* \(read-only\)", user_agents.pop())


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[LiveDemo]:
    with live_demo(tmp_path) as served:
        yield served


def test_full_live_run_of_every_gate_sends_only_gets_and_never_touches_secrets(demo, tmp_path, capsys):
    code = main(["run", "--phase", "all", *demo.argv(), "--out", str(tmp_path / "out"), "--format", "json,csv",
                 "--quiet"])
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert code == doc["exit_code"] and doc["gates"] == [g.value for g in Gate]
    assert {c["name"] for c in doc["clusters"]} == {"cluster-a", "cluster-b", "asm"}
    assert all(c["reachable"] for c in doc["clusters"])
    requests = demo.requests()
    assert_read_only(requests)
    # It really read the clusters: pods of both data planes and the migration resource on ASM.
    for name in DATA_PLANES:
        assert any(r.path == "/api/v1/pods" for r in demo.servers[name].requests)
    assert any(r.path.endswith("/asmmigratefromistios") for r in demo.servers["asm"].requests)


def test_snapshot_command_reads_every_gate_with_gets_only(demo, tmp_path):
    out = tmp_path / "snap.tar.gz"
    code = main(["snapshot", "--out", str(out), *demo.argv(), "--quiet"])
    assert code == 0 and out.stat().st_size > 0
    assert_read_only(demo.requests())


def test_every_list_request_is_paged(demo):
    api.run_audit(demo.target(), "all", now=NOW)
    lists = [r for r in demo.requests() if r.status == 200 and r.path not in ("/version", "/api/v1", "/apis")
             and not _is_discovery(r.path)]
    assert lists
    assert all(r.query.get("limit", "").isdigit() for r in lists), [r.path for r in lists if "limit" not in r.query]


def _is_discovery(path: str) -> bool:
    parts = path.strip("/").split("/")
    return (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3)


@pytest.mark.parametrize("path, query", [
    ("/api/v1/secrets", None),
    ("/api/v1/namespaces/istio-system/secrets", None),
    ("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-b", None),
    ("/API/V1/Secrets", None),
    ("/api/v1/pods", [("watch", "true")]),
    ("/api/v1/watch/pods", None),
])
def test_live_source_refuses_secrets_and_watches_before_any_request(fake_api, tmp_path, path, query):
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="c")
    cluster = LiveCluster("c", "data-plane", str(kc), "c")
    with pytest.raises(SourceError, match=r"never read|only lists"):
        cluster._raw_get(path, query)
    assert fake_api.requests == []
    refuse_unsafe("/apis/external-secrets.io/v1/secretstores")  # a look-alike name is not a Secret


SECRET = Kind("Secret", "", ("v1",), "secrets")


class ReadsRemoteSecrets(ClusterCheck):
    """A (hostile or careless) plugin check that declares it needs Secrets."""

    id = "plugin-reads-secrets"
    title = "Remote secrets"
    gates: ClassVar = (Gate.FINISHED,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    outcomes: ClassVar = (Outcome("SEC001", Status.PASS, "secrets counted"),)
    needs: ClassVar = (SECRET,)

    def check_cluster(self, cluster, ctx):
        objects = cluster.objects(SECRET)
        yield self.passed(cluster.name, f"{len(objects)} secrets")


def test_a_check_that_asks_for_secrets_gets_unknown_and_no_request_is_sent(tmp_path, fake_api, fake_asm):
    fake_api.load([f.namespace("istio-system"), {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {"token": "c2VjcmV0"},
        "metadata": {"name": "istio-remote-secret-b", "namespace": "istio-system",
                     "labels": {"istio/multiCluster": "true"}}}])
    fake_asm.load([f.migration_cr("Migrating")])
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="c")
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    result = api.run_audit(api.Target(kubeconfig=str(kc), context="c", asm_kubeconfig=str(akc)), "finished",
                           extra_checks=[ReadsRemoteSecrets], now=NOW)
    rows = [r for r in records(result.findings) if r["check_id"] == "plugin-reads-secrets"]
    assert [r["status"] for r in rows] == ["UNKNOWN"] and "Secrets are never read" in rows[0]["message"]
    assert result.verdict.value != "GO"
    assert not [r for r in fake_api.requests if "secrets" in segments(r.path)]
    from auditor import rbac

    assert "secrets" not in json.dumps(rbac.manifests("all", registry=_registry_with(ReadsRemoteSecrets)))


def _registry_with(extra: type) -> Any:
    from auditor.registry import load_registry

    return load_registry([extra])


def test_live_run_equals_the_snapshot_of_the_same_objects(demo, tmp_path):
    """The snapshot written from a live run audits the same as the live run (same objects, same verdict)."""
    out = tmp_path / "snap.tar.gz"
    live = api.run_audit(demo.target(), "all", now=NOW, snapshot_out=out)
    offline = api.run_audit(api.Target(snapshot=str(out)), "all", now=NOW)
    assert comparable(live) == comparable(offline)
    assert live.verdict == offline.verdict


def test_kind_keys_used_in_paths_are_known_kinds():
    """Only kinds of auditor/kinds.py can ever be requested, and none of them is a Secret."""
    assert all(k.plural != "secrets" for k in K.ALL_KINDS)
