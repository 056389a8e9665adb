"""A snapshot fleet is judged cluster by cluster (engine._cluster_by_cluster, judge._judge_one_at_a_time): each
data plane is collected, judged by every check of every gate, then its objects are released before the next one
is read; only its pod frame (a few columns), the views later readers use and its findings stay. Counted, not
timed: the objects held when the next cluster is read, and what is kept at the end."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from auditor import api, engine
from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.collect import Collector
from auditor.errors import EvidenceUnavailable
from auditor.inventory import ClusterInventory, ClusterPending
from auditor.model import Finding, Gate, Outcome, Severity, Status
from bench.fleet import ensure_fleet
from bench.generate import generate

PODS = 300


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three copies of a generated 300-pod cluster (with its ASM control plane) in one snapshot."""
    root = tmp_path_factory.mktemp("fleet")
    generate(PODS, root / "single")
    return ensure_fleet(root / "single", 3, root)


def test_each_cluster_is_released_before_the_next_is_read(fleet: Path, monkeypatch: pytest.MonkeyPatch):
    held: list[tuple[str, int]] = []  # (cluster about to be read, objects the data planes already read still hold)
    read = Collector._read_cluster

    def counting(self: Collector, source, cluster: ClusterInventory, wanted) -> None:
        held.append((cluster.name, sum(len(objects) for c in self.inv.data_planes
                                       for key, objects in c.objects_by_kind.items() if key != K.POD.key)))
        read(self, source, cluster, wanted)

    monkeypatch.setattr(Collector, "_read_cluster", counting)
    result = api.run_audit(api.Target(snapshot=str(fleet)), "all")
    # The ASM control plane first (the migration state, then what the checks read of it), then each data plane
    # once the one before it was released.
    assert held == [("asm", 0), ("asm", 0), ("cluster-00", 0), ("cluster-01", 0), ("cluster-02", 0)]
    for cluster in result.inventory.data_planes:
        # Kept: pods (as a frame) and EnvoyFilters (envoyfilter-compatibility reads every cluster's ASM
        # version, so it judges once all were read); every other kind was released.
        assert sorted(cluster.objects_by_kind) == ["envoyfilters.networking.istio.io", "pods"]
        assert K.DEPLOYMENT.key in cluster.released and K.SERVICE.key in cluster.released
        assert cluster.pod_rows == [] and len(cluster.pod_summaries) == 0 and not cluster.pod_summaries.profiles
        assert list(cluster.pods().columns) == ["namespace", "phase", "role", "proxy", "proxy_image",
                                                "workload_kind", "workload_name", "asm_env", "image_kind",
                                                "ca_service", "xds_server"]
        assert len(cluster.pods()) == PODS
    assert result.inventory.asm is not None and not result.inventory.asm.released


def test_cluster_by_cluster_gives_the_findings_of_all_at_once(fleet: Path, monkeypatch: pytest.MonkeyPatch):
    one_by_one = api.run_audit(api.Target(snapshot=str(fleet)), "all")
    assert all(c.released for c in one_by_one.inventory.data_planes)
    monkeypatch.setattr(engine, "_cluster_by_cluster", lambda *args: False)
    at_once = api.run_audit(api.Target(snapshot=str(fleet)), "all")
    assert not any(c.released for c in at_once.inventory.data_planes)

    pd.testing.assert_frame_equal(one_by_one.findings, at_once.findings)
    assert one_by_one.fleet == at_once.fleet
    assert one_by_one.clusters == at_once.clusters
    assert one_by_one.gate_verdicts == at_once.gate_verdicts
    assert one_by_one.verdict is at_once.verdict


class PeeksAtOtherClusters(ClusterCheck):
    """Judges a cluster from every cluster's pods without declaring it (reads_other_clusters)."""

    id = "test-peeks-at-other-clusters"
    title = "Peeks at other clusters"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "none"
    outcomes = (Outcome("PEEK001", Status.PASS, "every cluster's pods seen"),)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = sum(len(c.pods()) for c in ctx.inv.data_planes if c.available(K.POD))
        yield self.report(self.outcomes[0], cluster.name, "seen", evidence={"pods": pods})


PeeksAtOtherClusters.__module__ = "checks.test_peek"  # judged as a built-in check: cluster by cluster


def test_reading_a_cluster_not_collected_yet_is_unknown_never_a_pass(fleet: Path):
    result = api.run_audit(api.Target(snapshot=str(fleet)), "assessment", extra_checks=[PeeksAtOtherClusters])
    mine = result.findings[result.findings["check_id"] == PeeksAtOtherClusters.id]
    assert dict(zip(mine["cluster"], mine["status"], strict=True)) == {
        "cluster-00": "UNKNOWN", "cluster-01": "UNKNOWN", "cluster-02": "PASS"}
    assert "ClusterPending: cluster cluster-01 is not collected yet" in mine.iloc[0]["message"]
    assert mine.iloc[2]["evidence"] == {"pods": 3 * PODS}


class SeesEveryNamespace(PeeksAtOtherClusters):
    """A plug-in (not in the `checks` package): what it reads of other clusters is unknown, so all are kept."""

    id = "test-sees-every-namespace"


SeesEveryNamespace.__module__ = "my_plugins.fleet"


def test_a_plugin_check_keeps_every_cluster_read_at_once(fleet: Path):
    result = api.run_audit(api.Target(snapshot=str(fleet)), "assessment", extra_checks=[SeesEveryNamespace])
    mine = result.findings[result.findings["check_id"] == SeesEveryNamespace.id]
    assert list(mine["status"]) == ["PASS", "PASS", "PASS"]
    assert not any(c.released for c in result.inventory.data_planes)


def test_a_released_kind_is_unavailable_evidence_never_an_empty_list():
    cluster = ClusterInventory(name="c1")
    cluster.objects_by_kind = {K.POD.key: [], K.DEPLOYMENT.key: [{"metadata": {"name": "d"}}],
                               K.ENVOYFILTER.key: []}
    cluster.not_served.add(K.ENVOYFILTER.key)
    cluster.memo("istiod_owners", lambda: {"istio-system/istiod": ("istio", "why")})
    cluster.memo("manual_injections", lambda: {"big": "view"})
    cluster.release(["istiod_owners"])
    assert cluster.available(K.DEPLOYMENT) and cluster.collected(K.DEPLOYMENT)
    with pytest.raises(EvidenceUnavailable, match="Deployment objects of c1 were released once its checks ran"):
        cluster.objects(K.DEPLOYMENT)
    assert list(cluster._memo) == ["istiod_owners"]  # the views no later reader uses are dropped
    assert cluster.served(K.ENVOYFILTER) is False  # what the API server said is kept


def test_a_pending_cluster_cannot_be_read():
    cluster = ClusterInventory(name="c2", pending=True)
    for read in (lambda: cluster.available(K.POD), cluster.pods, lambda: cluster.objects(K.SERVICE)):
        with pytest.raises(ClusterPending, match="cluster c2 is not collected yet"):
            read()
