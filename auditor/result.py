"""The result of an audit (AuditResult) and the per-cluster facts reported beside the findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditor import __version__, clusterid, istioctl, mesh
from auditor import kinds as K
from auditor.asm import joined_clusters, network_items
from auditor.findings import (
    ExemptionReport,
)
from auditor.inventory import ClusterInventory, Inventory
from auditor.model import GATE_STEPS, Gate, Verdict, gate_past
from auditor.network import NetworkFact, network_fact
from auditor.sources.base import SourceSet


@dataclass
class AuditResult:
    findings: pd.DataFrame
    verdict: Verdict
    exit_code: int
    gate: str                      # what was asked: a gate, or "all"
    gates: list[str]
    gate_reason: str
    gate_verdicts: dict[str, str]
    clusters: list[dict[str, Any]]
    summary: dict[str, int]
    inputs_sha256: str
    generated_at: str
    tool_version: str = __version__
    # A snapshot's collection time (RFC 3339, UTC) and its age at the audit in seconds; None: a live audit (read at
    # generated_at), or a snapshot that does not record it (auditor/evidence.py).
    collected_at: str | None = None
    evidence_age_s: int | None = None
    evidence_unreadable: bool = False  # the snapshot says when it was collected, in a value that is no time (AA0012)
    exemptions: ExemptionReport = field(default_factory=ExemptionReport)
    checks: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inventory: Inventory | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # One row per data-plane cluster (+ one for mesh-wide findings): verdict, state, counts (auditor/fleet.py).
    fleet: list[dict[str, Any]] = field(default_factory=list)
    cluster_verdicts: dict[str, str] = field(default_factory=dict)
    # run --baseline: what changed since that report (auditor/diff.py compare() + how it gated), else None.
    baseline_delta: dict[str, Any] | None = None
    # run --history: the burn-down series (auditor/history.py History.burndown()) for the reports, else None.
    history: dict[str, Any] | None = None
    # Where the audit's time went (auditor/timing.py Clock.summary): for bench/ and the curious; decides nothing.
    timings: dict[str, Any] | None = None

    def past_gates(self) -> tuple[str, list[str]]:
        """The migration's state (ASMMigrateFromIstio/default's, as the clusters table shows it) and the audited gates
        it is already past (model.gate_past), in gate order: under --phase all their GO is about a step taken
        already, never one to take."""
        states = {str(c.get("migration_state")) for c in self.clusters if c.get("migration_state")}
        now_at = states.pop() if len(states) == 1 else ""
        known = {g.value for g in GATE_STEPS}
        return now_at, [g for g in self.gates if g in known and gate_past(Gate(g), now_at)]


def cluster_facts(inv: Inventory, cr: dict[str, Any] | None, given: dict[str, str]) -> list[dict[str, Any]]:
    state = ((cr or {}).get("status") or {}).get("state") if cr else None
    networks = asm_networks(inv, given)
    listed = joined_clusters(inv)
    joined = set(listed.ids) if listed.known else None
    out = []
    for c in inv.clusters():
        k8s = mesh.kubernetes_version(c.version_info)
        istio = asm_version = istioctl_version = None
        network = NetworkFact(None)
        cluster_id, source = c.cluster_id, None
        if c.role == "data-plane":
            istio, network, asm_version = data_plane_facts(c, inv.rules)
            # The one version whose istioctl removes its Istio (None with several revisions' versions or none read):
            # what the report's uninstall and preview commands are spelled for (`istio_version` lists every istiod).
            istioctl_version = (istioctl.installed_istioctl(c)[0] or None) if not c.unreachable else None
            # The id matched against ASM's: the cluster's own (ack-cluster-profile) where it says one, else the given.
            known = clusterid.identity(c)
            cluster_id, source = known.cluster_id, known.source
        out.append({
            "name": c.name, "role": c.role, "cluster_id": cluster_id, "cluster_id_source": source,
            "kubernetes_version": c.version_info.get("gitVersion") if c.version_info else None,
            "kubernetes_semver": str(k8s) if k8s else None,
            "istio_version": istio, "istioctl_version": istioctl_version, "asm_version": asm_version,
            # Istio's network by network-consistency's rule (auditor/network.py): the first source's, with a note
            # where sources disagree or what may hold it was not read; every source read, as "<source>: <network>".
            "migration_state": state, "network": network.network, "network_sources": list(network.sources),
            "network_note": network.note,
            "asm_network": networks.get(c.name) if networks else None,
            # True/False only from ASM's own list of joined clusters (and a known cluster id), else None.
            "asm_joined": (cluster_id in joined) if joined is not None and cluster_id and c.role == "data-plane"
            else None,
            "reachable": c.unreachable is None, "error": c.unreachable,
        })
    return out


def data_plane_facts(c: ClusterInventory, rules: mesh.ProxyRules | None = None
                     ) -> tuple[str | None, NetworkFact, str | None]:
    """(Istio versions of its istiod Deployments, Istio's network as network-consistency reads it, ASM's version
    from its istiod Services) of a data plane; kept once the cluster's objects are released (a fleet judged cluster
    by cluster)."""
    return c.memo("data_plane_facts", lambda: _data_plane_facts(c, rules))


def _data_plane_facts(c: ClusterInventory, rules: mesh.ProxyRules | None
                      ) -> tuple[str | None, NetworkFact, str | None]:
    istio = None
    if c.available(K.DEPLOYMENT):
        versions = sorted({v for d in c.istiod_deployments() for v in [mesh.istiod_version(d)[0]] if v})
        istio = ", ".join(str(v) for v in versions) or None
    network = network_fact(c, rules)
    found = mesh.asm_istiod_versions(c.istiod_owners())
    return istio, network, (str(max(v for _, v in found)) if found else None)


def asm_networks(inv: Inventory, given: dict[str, str]) -> dict[str, str]:
    """Cluster name -> network as ASM has it: the OpenAPI answer's, else as the user gave them (fleet file, config),
    as network-consistency takes them (checks/network.AsmNetworkSettings.entry)."""
    answer = inv.asm_openapi.get("DescribeMeshMultiClusterNetwork") or {}
    by_id = {}
    for item in network_items(answer):
        cid, net = item["ClusterId"], item["Network"]
        if cid and net:
            by_id[cid] = net
    # By the id used: the cluster's own where it writes one (auditor/clusterid.py), else the given one.
    used = {c.name: clusterid.used_id(c) for c in inv.data_planes}
    return {**given, **{name: by_id[cid] for name, cid in used.items() if cid in by_id}}


def live_digest(sources: SourceSet) -> str:
    """SHA-256 over what every live source read (each keeps a running digest of the bytes)."""
    combined = hashlib.sha256()
    for source in sources.all():
        digest = getattr(source, "digest", None)
        if digest is not None:
            combined.update(source.name.encode() + b"\0" + digest.digest())
    return combined.hexdigest()
