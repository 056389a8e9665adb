"""The uninstall gate of a primary whose istiod serves remote clusters (primary-remote), audited without them (red21k).

Shapes (github:istio/istio, github:istio/istio.io):
- the primary as istio.io setup/install/multicluster/primary-remote installs it: `istioctl install --set
  values.pilot.env.EXTERNAL_ISTIOD=true` (rendered as the discovery container's env, istio-discovery/templates/
  deployment.yaml @1.30.3), CLUSTER_ID cluster1, istiod reachable from the remote (here its own LoadBalancer Service:
  tests/checks/test_remote_serving.with_istiod_load_balancer); every workload of its own already on ASM's proxy;
- the remote (profile remote) whose istio-system is annotated topology.istio.io/controlPlaneClusters=cluster1 and
  whose pods are still injected by the primary (tests/checks/test_remote.remote_cluster).
Which remotes the primary serves is written in its remote secrets (istio-remote-secret-*, never read) and in the
remotes. Main said GO for the primary audited alone: the purge then removed the control plane of remote clusters'
proxies, which no finding had named.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_multicluster import IDS, answer
from tests.checks.test_remote import ASM_SAME, primary_cluster, remote_cluster
from tests.checks.test_remote_serving import EASTWEST_IP, pointed_at, with_istiod_load_balancer

CHECK = "purge-preview"


def primary_on_asm(*, external: bool = True) -> list[dict]:
    """The primary with its own apps moved to ASM (only istio-system's objects kept of Istio's)."""
    objs = with_istiod_load_balancer(primary_cluster(external=external), EASTWEST_IP)
    objs = [o for o in objs if not (o["kind"] in ("Pod", "ReplicaSet", "Deployment")
                                    and o["metadata"].get("namespace") != S.ISTIO_NS)]
    return [*objs, *S.asm_workload("cart", "apps"), S.asm_istiod_service()]


def run(audit, clusters: dict[str, list[dict]]):
    return audit(clusters, "uninstall", asm=[f.migration_cr("Migrating")],
                 config={"asm": {"mesh_config": ASM_SAME, "cluster_ids": IDS}},
                 asm_openapi=answer(c_a=("network1", True), c_b=("network1", True)))


def codes(a) -> list[tuple[str, str, str, str]]:
    return sorted((r["cluster"], r["status"], r["code"], r["name"]) for r in a.rows(CHECK))


def test_primary_serving_remotes_audited_alone_is_not_a_go(audit):
    """Old: purge-preview PASS AA2501 and every other check passed: GO."""
    a = run(audit, {"cluster-a": primary_on_asm()})
    assert ("cluster-a", "UNKNOWN", "AA2539", "istiod") in codes(a)
    assert a.result.verdict != "GO"


def test_primary_with_its_remote_audited_leaves_the_remote_to_its_own_findings(audit):
    """The remote names the primary's CLUSTER_ID: its own istio-sidecars-remaining FAIL says its proxies still need
    the primary's istiod; no AA2539."""
    a = run(audit, {"cluster-a": primary_on_asm(), "cluster-b": pointed_at(remote_cluster(), EASTWEST_IP)})
    assert "AA2539" not in {c for _, _, c, _ in codes(a)}
    assert {(r["cluster"], r["status"]) for r in a.rows("istio-sidecars-remaining")} == {("cluster-a", "PASS"),
                                                                                         ("cluster-b", "FAIL")}
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("remote_first", [False, True])
def test_the_link_is_found_whichever_cluster_is_judged_first(audit, remote_first):
    clusters = {"cluster-a": primary_on_asm(), "cluster-b": pointed_at(remote_cluster(), EASTWEST_IP)}
    if remote_first:
        clusters = dict(reversed(list(clusters.items())))
    assert "AA2539" not in {c for _, _, c, _ in codes(run(audit, clusters))}


def test_a_primary_of_its_own_serves_no_remote(audit):
    """Control: without EXTERNAL_ISTIOD (multi-primary, or one cluster) istiod leads no remote (checkShouldLead)."""
    a = run(audit, {"cluster-a": primary_on_asm(external=False)})
    assert codes(a) == [("cluster-a", "PASS", "AA2501", "")]
    assert a.result.verdict == "GO"


def _from_config_map(objs: list[dict], name: str) -> list[dict]:
    """The discovery container's `name` env taken from a ConfigMap (valueFrom), as a kustomize overlay may write it."""
    for obj in objs:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].startswith("istiod"):
            for c in obj["spec"]["template"]["spec"]["containers"]:
                if c["name"] == "discovery":
                    c["env"] = [e for e in c.get("env", []) if e["name"] != name]
                    c["env"].append({"name": name, "valueFrom": {"configMapKeyRef": {"name": "istiod-env",
                                                                                     "key": name}}})
    return objs


def test_an_external_istiod_flag_not_written_literally_is_not_read_as_no(audit):
    """review21e: EXTERNAL_ISTIOD by valueFrom was read as false (no AA2539): GO."""
    a = run(audit, {"cluster-a": _from_config_map(primary_on_asm(), "EXTERNAL_ISTIOD")})
    assert ("cluster-a", "UNKNOWN", "AA2539", "istiod") in codes(a)


def test_a_cluster_id_not_written_literally_links_no_remote(audit):
    """review21e: CLUSTER_ID by valueFrom was read as the default `Kubernetes`, which a remote of another mesh may
    name: no remote can be told to name an istiod whose id is not read."""
    remote = pointed_at(remote_cluster(), EASTWEST_IP)
    for obj in remote:  # a remote naming istiod's default id, `Kubernetes` (of another primary, or this one's)
        annotations = obj["metadata"].get("annotations") or {}
        if obj["kind"] == "Namespace" and "topology.istio.io/controlPlaneClusters" in annotations:
            annotations["topology.istio.io/controlPlaneClusters"] = "Kubernetes"
    a = run(audit, {"cluster-a": _from_config_map(primary_on_asm(), "CLUSTER_ID"), "cluster-b": remote})
    assert ("cluster-a", "UNKNOWN", "AA2539", "istiod") in codes(a)
