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

review22 (fix22b): once one audited remote named the primary's CLUSTER_ID the check was satisfied, so a second remote
of the same primary that the run did not audit was seen by nobody: GO. The remotes are now declared in the config
(remote_clusters, written from the primary's remote secrets: istioctl create-remote-secret names each
istio-remote-secret-<remote>, annotated networking.istio.io/cluster and labelled istio/multiCluster=true,
istioctl/pkg/multicluster/remote_secret.go, options.go @1.22.3; istiod watches them in its own namespace,
pkg/kube/multicluster/secretcontroller.go, pilot/pkg/bootstrap/server.go @1.22.3) and held to the audit. The primary's
istiod carries CLUSTER_ID from global.multiCluster.clusterName and EXTERNAL_ISTIOD from pilot.env, both literal env
of the discovery container (istio/istio@1.22.3:manifests/charts/istio-control/istio-discovery/templates/
deployment.yaml); EXTERNAL_ISTIOD defaults to false (pilot/pkg/features/pilot.go @1.22.3).
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_multicluster import IDS, answer
from tests.checks.test_remote import ASM_SAME, primary_cluster, remote_cluster
from tests.checks.test_remote_serving import EASTWEST_IP, pointed_at, with_istiod_load_balancer

CHECK = "purge-preview"
REMOTE_CODES = {"AA2539", "AA2541", "AA2542"}


def primary_on_asm(*, external: bool = True) -> list[dict]:
    """The primary with its own apps moved to ASM (only istio-system's objects kept of Istio's)."""
    objs = with_istiod_load_balancer(primary_cluster(external=external), EASTWEST_IP)
    objs = [o for o in objs if not (o["kind"] in ("Pod", "ReplicaSet", "Deployment")
                                    and o["metadata"].get("namespace") != S.ISTIO_NS)]
    return [*objs, *S.asm_workload("cart", "apps"), S.asm_istiod_service()]


def remote_on_asm() -> list[dict]:
    """The remote (`helm install istiod istio/istiod --set profile=remote`, pointed at the primary's istiod) with its
    apps moved to ASM: only its release's objects kept of Istio's. Helm annotates every object of a release with
    meta.helm.sh/release-name and -namespace (helm/helm@v3.21.4:pkg/action/validate.go setMetadataVisitor)."""
    objs = pointed_at(remote_cluster(), EASTWEST_IP)
    objs = [o for o in objs if not (o["kind"] in ("Pod", "ReplicaSet", "Deployment")
                                    and o["metadata"].get("namespace") != S.ISTIO_NS)]
    for obj in objs:
        if (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "Helm":
            obj["metadata"].setdefault("annotations", {}).update({"meta.helm.sh/release-name": "istiod",
                                                                  "meta.helm.sh/release-namespace": S.ISTIO_NS})
    return [*objs, *S.asm_workload("reviews", "apps"), S.asm_istiod_service()]


def run(audit, clusters: dict[str, list[dict]], remote_clusters: dict[str, list[str]] | None = None):
    config: dict = {"asm": {"mesh_config": ASM_SAME, "cluster_ids": IDS}}
    if remote_clusters is not None:
        config["remote_clusters"] = remote_clusters
    return audit(clusters, "uninstall", asm=[f.migration_cr("Migrating")], config=config,
                 asm_openapi=answer(c_a=("network1", True), c_b=("network1", True)))


def codes(a) -> list[tuple[str, str, str, str]]:
    return sorted((r["cluster"], r["status"], r["code"], r["name"]) for r in a.rows(CHECK))


def test_primary_serving_remotes_audited_alone_is_not_a_go(audit):
    """Old: purge-preview PASS AA2501 and every other check passed: GO."""
    a = run(audit, {"cluster-a": primary_on_asm()})
    assert ("cluster-a", "UNKNOWN", "AA2539", "istiod") in codes(a)
    assert a.result.verdict != "GO"


def test_primary_with_its_remote_audited_leaves_the_remote_to_its_own_findings(audit):
    """The remote, declared and audited, names the primary's CLUSTER_ID: its own istio-sidecars-remaining FAIL says
    its proxies still need the primary's istiod; none of AA2539, AA2541, AA2542."""
    a = run(audit, {"cluster-a": primary_on_asm(), "cluster-b": pointed_at(remote_cluster(), EASTWEST_IP)},
            remote_clusters={"cluster-a": ["cluster-b"]})
    assert not REMOTE_CODES & {c for _, _, c, _ in codes(a)}
    assert {(r["cluster"], r["status"]) for r in a.rows("istio-sidecars-remaining")} == {("cluster-a", "PASS"),
                                                                                         ("cluster-b", "FAIL")}
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("remote_first", [False, True])
def test_the_link_is_found_whichever_cluster_is_judged_first(audit, remote_first):
    """The remote names the primary whichever is judged first: declared, nothing; left out, AA2542."""
    clusters = {"cluster-a": primary_on_asm(), "cluster-b": remote_on_asm()}
    if remote_first:
        clusters = dict(reversed(list(clusters.items())))
    assert not REMOTE_CODES & {c for _, _, c, _ in codes(run(audit, clusters, {"cluster-a": ["cluster-b"]}))}
    assert ("cluster-a", "FAIL", "AA2542", "istiod") in codes(run(audit, clusters, {"cluster-a": []}))


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


# ---------------------------------------------------------------- review22: the remotes declared (remote_clusters)
# The primary serves two remotes, cluster2 (audited as cluster-b, every app on ASM) and cluster-c (not audited): its
# istio-system holds istio-remote-secret-cluster2 and istio-remote-secret-cluster-c.
def primary_and_one_remote() -> dict[str, list[dict]]:
    return {"cluster-a": primary_on_asm(), "cluster-b": remote_on_asm()}


def remote_rows(a, code: str) -> list[dict]:
    return [r for r in a.rows(CHECK) if r["code"] == code]


def test_one_audited_remote_does_not_vouch_for_the_others(audit):
    """Main: cluster-b names cluster1, so no AA2539; every check passed: GO, and the purge left cluster-c's proxies
    without a control plane. Now: the remotes are not declared, UNKNOWN AA2539 naming cluster-b as naming it."""
    a = run(audit, primary_and_one_remote())
    assert ("cluster-a", "UNKNOWN", "AA2539", "istiod") in codes(a)
    [row] = remote_rows(a, "AA2539")
    assert row["evidence"]["named_by_cluster_id"] == ["cluster-b"]
    assert a.result.gate_verdicts["uninstall"] != "GO"
    assert a.result.verdict != "GO"


def test_a_declared_remote_not_audited_is_unknown(audit):
    """Both remotes declared, one audited: UNKNOWN AA2541 naming cluster-c; INCOMPLETE, not GO."""
    a = run(audit, primary_and_one_remote(), {"cluster-a": ["cluster-b", "cluster-c"]})
    assert [(c, s, code) for c, s, code, _ in codes(a) if code in REMOTE_CODES] == [("cluster-a", "UNKNOWN", "AA2541")]
    [row] = remote_rows(a, "AA2541")
    assert row["evidence"]["not_audited"] == ["cluster-c"]
    assert a.result.gate_verdicts["uninstall"] == "INCOMPLETE"


@pytest.mark.parametrize("key", ["cluster-a", "cluster1"])
def test_every_declared_remote_audited_passes(audit, key):
    """The primary declared by its audit name or its istiod's CLUSTER_ID (cluster1), its one remote audited and on
    ASM: purge-preview PASS for both clusters, GO."""
    a = run(audit, primary_and_one_remote(), {key: ["cluster-b"]})
    assert not REMOTE_CODES & {c for _, _, c, _ in codes(a)}
    assert ("cluster-a", "PASS", "AA2501", "") in codes(a)
    assert a.result.verdict == "GO"


@pytest.mark.parametrize("declared", [[], ["cluster-c"]])
def test_an_audited_remote_left_out_of_the_declaration_fails(audit, declared):
    """cluster-b names cluster1 but the declaration leaves it out: FAIL AA2542 (and AA2541 for cluster-c, declared and
    not audited); NO-GO."""
    a = run(audit, primary_and_one_remote(), {"cluster-a": declared})
    found = {(c, s, code) for c, s, code, _ in codes(a) if code in REMOTE_CODES}
    assert ("cluster-a", "FAIL", "AA2542") in found
    assert (("cluster-a", "UNKNOWN", "AA2541") in found) == bool(declared)
    [row] = remote_rows(a, "AA2542")
    assert row["evidence"]["undeclared"] == ["cluster-b"]
    assert a.result.verdict == "NO-GO"


def test_a_remote_naming_any_control_plane_does_not_contradict_the_declaration(audit):
    """`*` names every istiod (checkShouldLead), not this one: declared [] stands (PASS, GO)."""
    remote = remote_on_asm()
    for obj in remote:
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] == S.ISTIO_NS:
            obj["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"] = "*"
    a = run(audit, {"cluster-a": primary_on_asm(), "cluster-b": remote}, {"cluster-a": []})
    assert not REMOTE_CODES & {c for _, _, c, _ in codes(a)}
    assert a.result.verdict == "GO"


def test_a_declaration_by_cluster_name_serves_an_istiod_whose_cluster_id_is_not_read(audit):
    """CLUSTER_ID by valueFrom: no remote can be told to name it, but the declaration by the audit's name holds."""
    a = run(audit, {"cluster-a": _from_config_map(primary_on_asm(), "CLUSTER_ID"), "cluster-b": remote_on_asm()},
            {"cluster-a": ["cluster-b"]})
    assert not REMOTE_CODES & {c for _, _, c, _ in codes(a)}
    assert a.result.verdict == "GO"
