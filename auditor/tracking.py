"""What continuous tracking keeps of one audit: verdicts per cluster and gate, counts per check, sidecar pods.

One `RunRecord` feeds the metrics (auditor/metrics.py), the history database (auditor/history.py) and the chat
notification (auditor/notify.py), so the three never disagree about a run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from auditor.errors import EvidenceUnavailable
from auditor.findings import blocking_mask, strict_of
from auditor.fleet import istio_sidecar_pods
from auditor.model import Verdict

if TYPE_CHECKING:
    from auditor.engine import AuditResult

MESH_ROLE = "asm"  # the fleet overview's role of the mesh-wide row


@dataclass(frozen=True, slots=True)
class CheckCount:
    cluster: str
    gate: str
    check_id: str
    status: str
    severity: str
    count: int


@dataclass(frozen=True, slots=True)
class BlockerCount:
    """Non-exempt blocker/major FAIL findings of one check (with --strict any FAIL or WARN): what keeps the gate
    NO-GO."""

    cluster: str
    gate: str
    check_id: str
    count: int


@dataclass
class RunRecord:
    generated_at: str
    timestamp: float
    gate: str
    verdict: str
    exit_code: int
    inputs_sha256: str
    tool_version: str
    verdicts: dict[tuple[str, str], str] = field(default_factory=dict)   # (cluster, gate) -> verdict
    checks: list[CheckCount] = field(default_factory=list)
    blockers: list[BlockerCount] = field(default_factory=list)
    # cluster -> namespace -> Istio-sidecar pods; a cluster whose pods could not be read is absent (not 0).
    sidecar_pods: dict[str, dict[str, int]] = field(default_factory=dict)

    def blockers_total(self) -> int:
        return sum(b.count for b in self.blockers)

    def sidecar_pods_total(self) -> int | None:
        """Istio-sidecar pods left across clusters; None when no cluster's pods were read."""
        if not self.sidecar_pods:
            return None
        return sum(sum(per_ns.values()) for per_ns in self.sidecar_pods.values())

    def status_total(self, status: str) -> int:
        return sum(c.count for c in self.checks if c.status == status)


def epoch_of(generated_at: str) -> float:
    return dt.datetime.fromisoformat(generated_at).timestamp()


def _cluster_gate_verdicts(result: AuditResult) -> dict[tuple[str, str], str]:
    """Each row of the fleet overview, per audited gate: the row's own `gate_verdicts` (auditor/fleet.py: a data
    plane's include the mesh-wide findings of the gate, and honour --fail-on-new), so the gauge, the history and the
    notification say what findings.json's fleet rows say. A mesh row without findings of a gate says nothing of it."""
    out: dict[tuple[str, str], str] = {}
    for row in result.fleet or []:
        for gate, verdict in (row.get("gate_verdicts") or {}).items():
            out[(str(row["cluster"]), str(gate))] = str(verdict)
    return out


def _sidecar_pods(result: AuditResult) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    inventory = result.inventory
    for cluster in inventory.data_planes if inventory is not None else []:
        try:
            pods = cluster.pods()
        except EvidenceUnavailable:
            continue  # unread is not zero: the cluster is left out
        counts = istio_sidecar_pods(pods)["namespace"].astype(str).value_counts() if not pods.empty else {}
        out[cluster.name] = {str(ns): int(n) for ns, n in counts.items()}
    return out


def record_of(result: AuditResult) -> RunRecord:
    """The tracking record of an AuditResult (auditor.engine.AuditResult)."""
    frame: pd.DataFrame = result.findings
    checks: list[CheckCount] = []
    blockers: list[BlockerCount] = []
    if not frame.empty:
        keys = ["cluster", "gate", "check_id", "status", "severity"]
        # str() of a missing severity is "nan": recorded as "" (no severity), never as a made-up one.
        table = frame[keys].astype(str).replace("nan", "")
        for (cluster, gate, check_id, status, severity), n in table.value_counts(sort=False).items():
            checks.append(CheckCount(cluster, gate, check_id, status, severity, int(n)))
        blocking = blocking_mask(frame, strict_of(result))  # what the verdict counted: --strict's WARNs too
        if blocking.any():
            counted = table[blocking][["cluster", "gate", "check_id"]].value_counts(sort=False)
            blockers = [BlockerCount(c, g, k, int(n)) for (c, g, k), n in counted.items()]
    return RunRecord(
        generated_at=result.generated_at, timestamp=epoch_of(result.generated_at), gate=str(result.gate),
        verdict=Verdict(result.verdict).value, exit_code=int(result.exit_code),
        inputs_sha256=str(result.inputs_sha256), tool_version=str(result.tool_version),
        verdicts=_cluster_gate_verdicts(result), checks=sorted(checks, key=lambda c: (
            c.cluster, c.gate, c.check_id, c.status, c.severity)),
        blockers=sorted(blockers, key=lambda b: (b.cluster, b.gate, b.check_id)),
        sidecar_pods=_sidecar_pods(result))
