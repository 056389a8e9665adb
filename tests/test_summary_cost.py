"""The pod summary's work is counted, not timed (issue 18): what is the same for many pods is decided once.

A cluster has few proxy builds and settings and few distinct port names, but tens of thousands of pods: the marks
of a proxy container (image kind, CA service, ASM env, xDS agent value, exit on zero) are decided once per
distinct (image, env read), a port name's long-lived answer once per name, and a pod's summary makes a bounded
number of Python calls. The rows themselves are compared with the dict reader's (tests/test_pod_structs.py).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
import pytest

from auditor import inventory, mesh, podwire
from auditor.inventory import POD_COLUMNS, summarise_pod
from tests import factory as f

PODS = 40


def same_workload_pods(port_name: str) -> list[dict[str, Any]]:
    """Pods of one ReplicaSet as the injector leaves them (`istio.io/rev` set, as in the bench clusters)."""
    return [f.pod(f"cart-5d8f7c9b6-{i:05d}", owner=("ReplicaSet", "cart-5d8f7c9b6"),
                  annotations={"istio.io/rev": "default"},
                  ports=[{"containerPort": 8080, "name": port_name, "protocol": "TCP"}]) for i in range(PODS)]


def as_structs(pods: list[dict[str, Any]]) -> list[podwire.Pod]:
    structs = podwire.pod_structs(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert structs is not None
    return structs


class CountingPattern:
    """Stands in for inventory._LONG_LIVED_PORT, counting its searches."""

    def __init__(self, pattern: Any) -> None:
        self.pattern = pattern
        self.searches = 0

    def search(self, text: str) -> Any:
        self.searches += 1
        return self.pattern.search(text)


@pytest.mark.parametrize("reader", ["struct", "dict"])
def test_a_proxy_s_marks_are_decided_once_per_distinct_proxy(monkeypatch: pytest.MonkeyPatch, reader: str):
    pods = same_workload_pods("http")
    rules = mesh.ProxyRules()
    calls = {"has_asm_env": 0, "xds_agent_value": 0}
    has_asm_env, xds_agent_value = rules.has_asm_env, mesh.xds_agent_value

    def counted_has_asm_env(env: dict[str, str]) -> bool:
        calls["has_asm_env"] += 1
        return has_asm_env(env)

    def counted_xds_agent_value(env: dict[str, str]) -> str | None:
        calls["xds_agent_value"] += 1
        return xds_agent_value(env)

    monkeypatch.setattr(rules, "has_asm_env", counted_has_asm_env)
    monkeypatch.setattr(mesh, "xds_agent_value", counted_xds_agent_value)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in (as_structs(pods) if reader == "struct" else pods)]
    assert calls == {"has_asm_env": 1, "xds_agent_value": 1}
    assert {(row["proxy_image"], row["xds_agent"], row["asm_env"], row["role"]) for row in rows} == {
        (f.ISTIO_PROXY_IMAGE, "true", False, "sidecar")}


def test_a_proxy_with_other_env_values_gets_its_own_marks():
    rules = mesh.ProxyRules()
    istio, asm = f.pod("web-1"), f.pod("web-2", proxy="asm")
    gateway = f.pod("gw-1", gateway=True, proxy_env={"EXIT_ON_ZERO_ACTIVE_CONNECTIONS": "TRUE"}, xds_agent=None)
    rows = [dict(zip(POD_COLUMNS, summarise_pod(pod, rules), strict=True))
            for pod in as_structs([istio, asm, gateway, istio, asm, gateway])]
    assert [(row["asm_env"], row["xds_agent"], row["exit_on_zero"], row["role"]) for row in rows] == [
        (False, "true", False, "sidecar"), (True, "true", False, "sidecar"), (False, "<absent>", True, "gateway")] * 2


def test_a_port_name_is_searched_once_for_many_pods(monkeypatch: pytest.MonkeyPatch):
    counting = CountingPattern(inventory._LONG_LIVED_PORT)
    monkeypatch.setattr(inventory, "_LONG_LIVED_PORT", counting)
    rules = mesh.ProxyRules()
    # Names no other test summarises, so the answers remembered per name start here.
    grpc_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("grpc-summary-cost"))]
    http_rows = [summarise_pod(pod, rules) for pod in as_structs(same_workload_pods("http-summary-cost"))]
    long_lived = POD_COLUMNS.index("long_lived")
    assert [row[long_lived] for row in grpc_rows] == [True] * PODS
    assert [row[long_lived] for row in http_rows] == [False] * PODS
    assert counting.searches == 2


def test_a_struct_pod_s_summary_makes_few_python_calls():
    """Per pod with a sidecar: summarise_pod, the Struct reader, its ports, the proxy (summary state, env
    comprehension, columns, role in two calls), the row and its five own copies: 14; nothing per env var,
    annotation or port beyond that (26 before the marks and port names were remembered)."""
    pods = as_structs(same_workload_pods("http"))
    rules = mesh.ProxyRules()
    summarise_pod(pods[0], rules)  # the first pod decides the proxy marks and the port name
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        for pod in pods[1:]:
            summarise_pod(pod, rules)
    finally:
        sys.setprofile(None)
    assert calls <= (PODS - 1) * 14
