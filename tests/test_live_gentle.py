"""Gentle on production API servers (issue 18): what every request of a live run asks for, as the server saw it.

The bundled demo is served by fake API servers that compress like kube-apiserver (gzip when accepted) and emulate
its watch cache (`resourceVersion=0`: the whole list, `limit` ignored); each request's headers are recorded.
"""

from __future__ import annotations

import re

import pytest

from auditor import api
from auditor.sources import live
from tests.test_readonly import comparable, live_demo


def _run_all(demo) -> api.AuditResult:
    return api.run_audit(demo.target(), phase="all")


def test_every_request_accepts_gzip_and_names_the_tool_with_its_version(tmp_path):
    with live_demo(tmp_path) as demo:
        for server in demo.servers.values():
            server.gzip_min_bytes = 0  # compress every answer, however small
        zipped = _run_all(demo)
        requests = demo.requests()
        for server in demo.servers.values():
            server.gzip_min_bytes = None  # a server that never compresses
        demo.clear()
        plain = _run_all(demo)
        plain_requests = demo.requests()

    assert len(requests) == len(plain_requests) > 40
    assert {r.headers.get("Accept-Encoding") for r in requests} == {"gzip"}
    assert {r.content_encoding for r in requests if r.status == 200} == {"gzip"}
    assert {r.content_encoding for r in plain_requests} == {None}
    user_agents = {r.headers.get("User-Agent") for r in requests}
    assert len(user_agents) == 1
    assert re.fullmatch(r"asm-audit/\d+\.\d+\.\d+\S* \(read-only\)", user_agents.pop())
    # Decompressed as read: the same bytes were hashed and judged.
    assert zipped.inputs_sha256 == plain.inputs_sha256 != ""
    assert (zipped.verdict, comparable(zipped)) == (plain.verdict, comparable(plain))
    assert sum(r.bytes_sent for r in requests) * 2 < sum(r.bytes_sent for r in plain_requests)


def test_gzipped_answers_read_in_pieces_under_a_run_deadline_are_the_same(tmp_path):
    """With --run-timeout the body is read in pieces (LiveCluster._read_body): those are decompressed too."""
    with live_demo(tmp_path) as demo:
        for server in demo.servers.values():
            server.gzip_min_bytes = 0
        pieces = api.run_audit(demo.target(run_timeout_s=300), phase="all")
        whole = api.run_audit(demo.target(), phase="all")
        encodings = {r.content_encoding for r in demo.requests() if r.status == 200}
    assert encodings == {"gzip"}
    assert pieces.inputs_sha256 == whole.inputs_sha256 != ""
    assert (pieces.verdict.value, len(pieces.findings)) == ("NO-GO", 174)
    assert comparable(pieces) == comparable(whole)


def test_cluster_scoped_config_comes_from_the_watch_cache_and_pods_are_paged_consistently(tmp_path, monkeypatch):
    monkeypatch.setattr(live, "PAGE_SIZE", 7)  # the demo has 9 CRDs, 8 namespaces and 34 pods per data plane
    with live_demo(tmp_path) as demo:
        result = _run_all(demo)
        requests = [r for r in demo.servers["cluster-a"].requests if "limit" in r.query]

    def reads(path: str) -> list[tuple[str | None, bool]]:
        return [(r.query.get("resourceVersion"), "continue" in r.query) for r in requests if r.path == path]

    # One request each, from the cache: the whole list although it is longer than a page.
    assert reads("/apis/apiextensions.k8s.io/v1/customresourcedefinitions") == [("0", False)]
    assert reads("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations") == [("0", False)]
    assert reads("/apis/rbac.authorization.k8s.io/v1/clusterroles") == [("0", False)]
    # Pods and namespaces: pages of 7, no resourceVersion (consistent reads).
    assert reads("/api/v1/pods") == [(None, False)] + [(None, True)] * 4
    assert reads("/api/v1/namespaces") == [(None, False), (None, True)]
    assert not [r for r in requests if "continue" in r.query and "resourceVersion" in r.query]
    assert (result.verdict.value, len(result.findings)) == ("NO-GO", 174)  # as the demo audits from its snapshot


@pytest.mark.parametrize("kind", ["pods", "namespaces", "deployments.apps", "replicasets.apps", "services"])
def test_workload_and_tenant_kinds_are_never_read_from_the_watch_cache(kind):
    from auditor import kinds as K

    assert K.BY_KEY[kind] not in live.FROM_WATCH_CACHE
