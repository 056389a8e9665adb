"""Several data-plane clusters in one audit: the fleet file, and one verdict per cluster.

Fleet file (YAML; relative kubeconfig paths are taken relative to the file)::

    clusters:
      - name: cluster-a
        kubeconfig: kubeconfigs/a.yaml     # default: $KUBECONFIG / ~/.kube/config
        context: ack-a                     # default: the kubeconfig's current context
        cluster_id: c5d1...                # the ACK cluster id ASM knows it by (optional)
        network: network-1                 # the cluster's network in ASM (optional; = config asm.networks)
      - name: cluster-b
        kubeconfig: kubeconfigs/b.yaml
    asm:                                   # the ASM control plane (optional; default --asm-kubeconfig)
      kubeconfig: kubeconfigs/asm.yaml
      context: asm

Verdicts: findings about the mesh as a whole (of no data plane: the ASM control plane, the migration resource,
the gate selection AA0010/AA0011, the evidence's age AA0012, a plugin not loaded) get their own row. A data-plane
cluster's verdict at a gate is the verdict of its own findings of that gate (same rules as the run's verdict; a gate
with none of its findings proves nothing about it: INCOMPLETE) and the mesh-wide findings of that gate: one step of
the mesh (one ASMMigrateFromIstio) is taken for every cluster, so what blocks the mesh blocks each cluster (a
cluster's row never says GO where the run cannot). Its verdict is the worst over the gates audited; `gate_verdicts`
holds each gate's, `mesh_wide` the verdict of the mesh-wide findings (None when there are none). The fleet verdict
is the worst of all rows; it is the run's verdict except where a data plane has no finding of its own at a gate (its
checks disabled): then its row says INCOMPLETE while the run may say GO (review20c; the row errs to the cautious side).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from auditor import clusterid, mesh
from auditor import kinds as K
from auditor.config import read_yaml_file, validate_file_model
from auditor.errors import EvidenceUnavailable, UsageError
from auditor.findings import (
    VERDICT_COLUMNS,
    blocking_mask,
    count_by,
    group_codes,
    summaries_by_group,
    unknown_mask,
    verdicts_by_group,
    worst,
)
from auditor.inventory import ACTIVE_PHASES, ClusterInventory, Inventory
from auditor.istio import WORKLOAD_KEY, among
from auditor.model import Verdict

STATE_OK = "ok"
STATE_PARTIAL = "partial"          # reachable, but some kinds could not be read
STATE_UNREACHABLE = "unreachable"
STATE_ABSENT = "not given"         # the ASM control plane was not configured


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FleetCluster(_Strict):
    name: str
    kubeconfig: str | None = None
    context: str | None = None
    cluster_id: str | None = None
    network: str | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value.strip() or "/" in value or value == "asm":
            raise ValueError("a cluster name must be non-empty, without '/', and not 'asm'")
        return value


class FleetAsm(_Strict):
    kubeconfig: str | None = None
    context: str | None = None


class FleetFile(_Strict):
    clusters: list[FleetCluster] = Field(min_length=1)
    asm: FleetAsm | None = None


def _resolve(path: str | None, base: Path) -> str | None:
    if not path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base / p)


def load_fleet(path: str | Path) -> FleetFile:
    """Parse and validate a fleet file; any problem is one UsageError line naming the key (exit 2)."""
    path = Path(path)
    raw = read_yaml_file(path, "fleet")
    if not isinstance(raw, dict):
        raise UsageError(f"fleet {path}: expected a mapping with a 'clusters' list")
    fleet = validate_file_model(FleetFile, raw, path, "fleet")
    names = [c.name for c in fleet.clusters]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"fleet {path}: cluster names must be unique: {', '.join(dupes)}")
    base = path.parent
    for c in fleet.clusters:
        c.kubeconfig = _resolve(c.kubeconfig, base)
    if fleet.asm:
        fleet.asm.kubeconfig = _resolve(fleet.asm.kubeconfig, base)
    return fleet


# ---------------------------------------------------------------- per-cluster verdicts
def _verdict(by_gate: dict[str, Verdict | None]) -> Verdict:
    """Worst verdict over the gates a row has findings for (verdicts_by_group's); no finding proves nothing."""
    return worst(v for v in by_gate.values() if v is not None)


def _with_mesh_wide(own: dict[str, Verdict | None], mesh_wide: dict[str, Verdict | None]) -> dict[str, Verdict]:
    """A data plane's verdict per gate: its own findings' (INCOMPLETE where it has none of the gate) and the mesh-wide
    findings' of that gate, the worse of the two."""
    return {g: worst([v or Verdict.INCOMPLETE, *([mesh_wide[g]] if mesh_wide.get(g) else [])])
            for g, v in own.items()}


def _state(cluster: ClusterInventory | None) -> tuple[str, str | None]:
    if cluster is None:
        return STATE_ABSENT, None
    if cluster.unreachable:
        return STATE_UNREACHABLE, cluster.unreachable
    if cluster.errors:
        return STATE_PARTIAL, "; ".join(f"{k}: {v}" for k, v in sorted(cluster.errors.items()))
    return STATE_OK, None


def istio_sidecar_pods(pods: pd.DataFrame) -> pd.DataFrame:
    """The active sidecar pods still to move to ASM's proxy (the pods frame's rows)."""
    return pods[_istio_sidecar_mask(pods)]


def _istio_sidecar_mask(pods: pd.DataFrame) -> np.ndarray:
    # Pods whose marks contradict each other (mesh.PROXY_UNKNOWN) are not proven moved: counted as still to move.
    return among(pods["phase"], ACTIVE_PHASES) & among(pods["role"], (mesh.ROLE_SIDECAR,)) & among(
        pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN))


def proxy_counts(cluster: ClusterInventory) -> dict[str, int | None]:
    """Istio-sidecar workloads/pods and ASM-proxy pods, when pods were read (None otherwise)."""
    empty: dict[str, int | None] = {"istio_sidecar_workloads": None, "istio_sidecar_pods": None,
                                    "asm_proxy_pods": None, "pods": None}
    if not cluster.available(K.POD):
        return empty
    try:
        pods = cluster.pods()
    except EvidenceUnavailable:
        return empty
    if pods.empty:
        return {"istio_sidecar_workloads": 0, "istio_sidecar_pods": 0, "asm_proxy_pods": 0, "pods": 0}
    active = among(pods["phase"], ACTIVE_PHASES)
    sidecar = among(pods["role"], (mesh.ROLE_SIDECAR,))
    istio = _istio_sidecar_mask(pods)
    return {"istio_sidecar_workloads": _distinct_workloads(pods, istio), "istio_sidecar_pods": int(istio.sum()),
            "asm_proxy_pods": int((active & sidecar & among(pods["proxy"], (mesh.PROXY_ASM,))).sum()),
            "pods": len(pods)}


def _distinct_workloads(pods: pd.DataFrame, rows: np.ndarray) -> int:
    """How many distinct workloads (namespace, kind, name) the pods of `rows` belong to: what `drop_duplicates` keeps
    of those columns (a missing value equal to a missing one), counted as distinct numbers made of the categorical
    columns' codes (one per pod) rather than by selecting the rows' three columns and deduplicating them."""
    columns = [pods[name] for name in WORKLOAD_KEY]
    sizes = [len(column.cat.categories) + 1 if isinstance(column.dtype, pd.CategoricalDtype) else 0
             for column in columns]
    if 0 in sizes or float(np.prod(sizes, dtype=float)) >= 2.0 ** 62:
        return len(pods.loc[rows, WORKLOAD_KEY].drop_duplicates())
    key = np.zeros(int(rows.sum()), dtype=np.int64)
    for column, size in zip(columns, sizes, strict=True):
        key = key * size + (column.array.codes[rows].astype(np.int64) + 1)  # -1 (missing) -> 0
    return len(pd.unique(key))


def _row(name: str, role: str, by_gate: dict[str, Verdict | None], tally: dict[str, Any],
         cluster: ClusterInventory | None, mesh_wide: Verdict | None = None) -> dict[str, Any]:
    state, error = _state(cluster)
    row: dict[str, Any] = {"cluster": name, "role": role, "verdict": _verdict(by_gate).value,
                           "gate_verdicts": {g: v.value for g, v in by_gate.items() if v is not None},
                           "mesh_wide": mesh_wide.value if mesh_wide is not None else None,
                           "state": state, "error": error, "cluster_id": cluster.cluster_id if cluster else None,
                           **tally}
    if role == "data-plane" and cluster is not None:
        # The id the audit used: the cluster's own where its ack-cluster-profile says one, else the given one.
        known = clusterid.identity(cluster)
        row["cluster_id"], row["cluster_id_source"] = known.cluster_id, known.source
        if known.conflict:
            row["cluster_id_given"] = known.given
        row.update(proxy_counts(cluster))
    return row


def _tallies(frame: pd.DataFrame, rows: np.ndarray, size: int, relieved: pd.Series | None,
             strict: bool = False) -> list[dict[str, Any]]:
    """Each row's counts (by status), blockers (as the row's verdict counts them: any FAIL/WARN with --strict), live
    UNKNOWNs, exempt findings and blockers accepted from the baseline, counted over the whole frame (`rows`: each
    finding's row, -1 for none)."""
    if frame.empty:
        blockers = unknown = exempt = accepted = np.zeros(size, dtype=np.intp)
    else:
        blockers = count_by(rows, size, blocking_mask(frame, strict))
        unknown = count_by(rows, size, unknown_mask(frame))
        exempt = count_by(rows, size, frame["exempt"])
        accepted = (count_by(rows, size, relieved.reindex(frame.index, fill_value=False)) if relieved is not None
                    else np.zeros(size, dtype=np.intp))
    return [{"counts": counts, "blockers": int(blockers[r]), "unknown": int(unknown[r]), "exempt": int(exempt[r]),
             "accepted_from_baseline": int(accepted[r])}
            for r, counts in enumerate(summaries_by_group(frame, rows, size))]


def overview(inv: Inventory, frame: pd.DataFrame, gates: list[str], *, allow_unknown: bool = False,
             strict: bool = False, relieved: pd.Series | None = None) -> list[dict[str, Any]]:
    """One row per data-plane cluster, then one for mesh-wide findings (ASM control plane).

    `relieved` marks blockers accepted from a baseline (--fail-on-new): they count, but do not decide.
    Every row's verdict and counts come from one pass over the whole frame (findings.verdicts_by_group), not from a
    slice per cluster and gate.
    """
    names = list(dict.fromkeys(c.name for c in inv.data_planes))
    # Each finding's row: its data plane's (by name), else the mesh-wide row's (the last).
    own = group_codes(frame["cluster"], names, text=True) if not frame.empty else np.zeros(0, dtype=np.intp)
    rows = np.where(own >= 0, own, len(names))
    size = len(names) + 1
    # The frame is read column by column; only a baseline's relief is a copy (of the columns a verdict reads).
    judged = frame
    if relieved is not None and not frame.empty:
        judged = frame[VERDICT_COLUMNS].assign(exempt=frame["exempt"] | relieved.reindex(frame.index, fill_value=False))
    verdicts = verdicts_by_group(judged, rows, size, gates, allow_unknown=allow_unknown, strict=strict)
    tallies = _tallies(frame, rows, size, relieved, strict)
    row_of = {name: i for i, name in enumerate(names)}
    mesh_judged = {g: v for g, v in verdicts[-1].items() if v is not None}
    folded = worst(mesh_judged.values()) if mesh_judged else None
    out = [_row(c.name, "data-plane", _with_mesh_wide(verdicts[row_of[c.name]], verdicts[-1]),
                tallies[row_of[c.name]], c, folded) for c in inv.data_planes]
    mesh_wide = int(count_by(rows, size)[-1])
    if mesh_wide or inv.asm is not None:
        label = inv.asm.name if inv.asm is not None else "mesh"
        out.append(_row(label, "asm", verdicts[-1], tallies[-1], inv.asm))
        if not mesh_wide:
            # Nothing was judged at mesh level: the row informs, it does not make the fleet INCOMPLETE.
            out[-1]["verdict"] = None
    return out
