"""mesh-config-xds-agent and istiod-restarted under istiod's SHARED_MESH_CONFIG (fix23a).

istiod with the env SHARED_MESH_CONFIG (set through the chart's pilot.env, istio-discovery templates/deployment.yaml)
reads that ConfigMap of its namespace (key mesh) under its own mesh config: the mesh defaults, then the shared ("user")
config, then the revision's own, each applied with ApplyMeshConfig, whose defaultConfig is merged field by field and
proxyMetadata key by key (istio/istio@1.22.3 pilot/pkg/bootstrap/mesh.go initMeshConfiguration,
pkg/config/mesh/kubemesh/watcher.go AddUserMeshConfig, pkg/config/mesh/watcher.go merged(), pkg/config/mesh/mesh.go
ApplyMeshConfig, MergeProxyConfig); an invalid shared config is ignored ("user config invalid, ignoring it"). The
injector injects with that merged config (pkg/kube/inject/webhook.go: wh.meshConfig = p.Env.Mesh() on every change).

Main read istiod's own ConfigMap only: PROXY_CONFIG_XDS_AGENT "true" in the shared ConfigMap alone was FAIL AA0910
(false NO-GO), and istiod started after its own ConfigMap's change but before the shared one's was PASS AA1001.
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_mesh_config import AFTER, istiod_with_pods

ONLY = f.only_checks("mesh-config-xds-agent", "istiod-restarted")
XDS = "mesh-config-xds-agent"
RESTARTED = "istiod-restarted"
SHARED_CHANGED = ["2026-11-01T10:00:00Z", "2026-11-12T09:00:00Z"]  # before AFTER: istiod started since


def cluster(shared_mesh: str | None, own_xds: str | None = None, *,
            shared_changed: list[str] | None = None) -> list[dict[str, Any]]:
    """istiod (started at AFTER) whose SHARED_MESH_CONFIG names istio-system/istio-user; its own ConfigMap istio sets
    PROXY_CONFIG_XDS_AGENT to `own_xds` (absent: None); istio-user's mesh is `shared_mesh` (no ConfigMap: None)."""
    dep, *rest = istiod_with_pods(started=[AFTER])
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "SHARED_MESH_CONFIG", "value": "istio-user"}]
    objs = [dep, *rest, f.mesh_configmap(own_xds)]
    if shared_mesh is not None:
        objs.append(f.configmap("istio-user", "istio-system", {"mesh": shared_mesh},
                                managed_times=shared_changed or SHARED_CHANGED))
    return objs


def shared_xds(value: str) -> str:
    return f'defaultConfig:\n  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: "{value}"\n'


def rows(run: Any, check: str) -> list[tuple[str, str, str]]:
    return [(r["status"], r["code"], r["name"]) for r in run.rows(check)]


def test_the_setting_in_the_shared_configmap_alone_passes(audit):
    run = audit({"c1": cluster(shared_xds("true"))}, "migrating", config=ONLY)
    assert rows(run, XDS) == [("PASS", "AA0901", "istio-user")]
    assert run.rows(XDS)[0]["evidence"]["shared_mesh_config"] == "istio-system/istio-user"
    assert run.result.verdict == "GO"


def test_a_shared_value_pilot_agent_reads_as_false_fails_on_the_shared_configmap(audit):
    run = audit({"c1": cluster(shared_xds("false"))}, "migrating", config=ONLY)
    assert rows(run, XDS) == [("FAIL", "AA0914", "istio-user")]


def test_istiods_own_value_wins_and_an_invalid_shared_config_is_ignored(audit):
    run = audit({"c1": cluster(shared_xds("false"), "true")}, "migrating", config=ONLY)
    assert rows(run, XDS) == [("PASS", "AA0901", "istio")]
    invalid = shared_xds("true") + "outboundTrafficPolicy:\n  mode: BLOCK_ALL\n"
    run = audit({"c1": cluster(invalid)}, "migrating", config=ONLY)
    assert rows(run, XDS) == [("FAIL", "AA0910", "istio")]
    run = audit({"c1": cluster(None)}, "migrating", config=ONLY)  # named, not there
    assert rows(run, XDS) == [("FAIL", "AA0910", "istio")]


def test_istiod_started_before_the_shared_configmaps_change_is_stale(audit):
    """istiod started at 09:05, after its own ConfigMap's last change (09:00), before istio-user's (10:00)."""
    run = audit({"c1": cluster(shared_xds("true"), shared_changed=["2026-11-12T10:00:00Z"])}, "migrating",
                config=ONLY)
    assert rows(run, RESTARTED) == [("FAIL", "AA1010", "istiod")]
    assert run.rows(RESTARTED)[0]["evidence"]["shared_changed"] == "2026-11-12T10:00:00Z"
    assert run.result.verdict == "NO-GO"
    run = audit({"c1": cluster(shared_xds("true"))}, "migrating", config=ONLY)
    assert rows(run, RESTARTED) == [("PASS", "AA1001", "istiod")]
