"""Restart risk of every workload still on Istio's sidecar: moving it to ASM restarts all its pods."""

from __future__ import annotations

import bisect
import functools
import re
from collections import namedtuple
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditor import kinds as K
from auditor import mesh, rollouts
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ClusterInventory, frame_rows, workload_groups
from auditor.istio import WORKLOAD_KEY, istio_sidecar_rows, pod_columns
from auditor.model import Finding, Gate, Outcome, Severity, Status

DEFAULT_DRAIN_SECONDS = 5.0   # ProxyConfig.terminationDrainDuration default
DEFAULT_GRACE_SECONDS = 30    # Kubernetes' terminationGracePeriodSeconds default
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
RUN_TO_COMPLETION = ("Job", "CronJob")
HELD_PODS_LISTED = 10
_NONE: dict[tuple[Any, Any], dict[str, Any]] = {}  # the objects of a kind not looked up (read only)
# Kind -> (namespace, name) -> its Deployment, StatefulSet or DaemonSet (RestartRisk._workload_objects).
WorkloadObjects = dict[str, Mapping[tuple[Any, Any], dict[str, Any]]]
PdbsByNamespace = dict[str, list[dict[str, Any]]]


def parse_duration(text: str | None) -> float | None:
    """Seconds of a protobuf/Go duration ("5s", "1m30s", "500ms"); None when it is not one."""
    text = (text or "").strip()
    if not text or _DURATION.sub("", text):
        return None
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))


def mesh_drain_defaults(cluster: ClusterInventory) -> dict[str, float]:
    """Revision -> defaultConfig.terminationDrainDuration of its mesh config (seconds), where set."""
    if not cluster.available(K.CONFIGMAP):
        return {}
    out = {}
    for cm in mesh.mesh_configmaps(cluster.objects(K.CONFIGMAP)):
        try:
            default = mesh.parse_mesh(cm).get("defaultConfig") or {}
        except ValueError:
            continue
        seconds = parse_duration(str(default.get("terminationDrainDuration") or "")) if isinstance(
            default, dict) else None
        if seconds is not None:
            out[mesh.revision_of_configmap(cm["metadata"]["name"])] = seconds
    return out


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector against labels. policy/v1: an empty selector matches every pod; a null one none."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _int_or_percent(value: Any, replicas: int, round_up: bool) -> int | None:
    """An IntOrString of a rolling update scaled to `replicas` as the Deployment controller does
    (k8s.io/apimachinery intstr.GetScaledValueFromIntOrPercent: "N%" of replicas, rounded up for maxSurge and down for
    maxUnavailable); None when it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        scaled = int(value[:-1]) * replicas
        return -(-scaled // 100) if round_up else scaled // 100
    return None


def all_at_once(spec: dict[str, Any]) -> tuple[Any, int] | None:
    """(maxUnavailable as written, replicas) when a Deployment's RollingUpdate may stop every pod at once: its
    maxUnavailable, resolved as kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
    ResolveFenceposts and MaxUnavailable do (defaults 25%/25% as the API server sets them; both resolving to 0 make
    maxUnavailable 1; capped at replicas), reaches the replica count. rolling.go reconcileOldReplicaSets then scales
    the old ReplicaSet down to replicas - maxUnavailable = 0 available pods without waiting for a new pod to be
    ready: the outage of Recreate. None otherwise (another strategy, counts that are no numbers)."""
    strategy = spec.get("strategy") or {}
    if not isinstance(strategy, dict) or strategy.get("type", "RollingUpdate") not in (None, "RollingUpdate"):
        return None
    replicas = spec.get("replicas", 1)
    replicas = 1 if replicas is None else replicas
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 1:
        return None
    rolling = strategy.get("rollingUpdate") or {}
    rolling = rolling if isinstance(rolling, dict) else {}
    written = rolling.get("maxUnavailable")
    written = "25%" if written is None else written
    surge_written = rolling.get("maxSurge")
    surge_written = "25%" if surge_written is None else surge_written
    try:
        return _resolved_all_at_once(written, surge_written, replicas)
    except TypeError:  # a value that is no count nor text (malformed input) is not kept: resolved as it always was
        return _resolved_all_at_once.__wrapped__(written, surge_written, replicas)


# Thousands of Deployments at scale write a few distinct (maxUnavailable, maxSurge, replicas): each resolved once
# (all_at_once 1.7 -> 0.6 us per Deployment). typed: 1, 1.0 and True are different answers (_int_or_percent).
@functools.lru_cache(maxsize=1024, typed=True)
def _resolved_all_at_once(written: Any, surge_written: Any, replicas: int) -> tuple[Any, int] | None:
    surge = _int_or_percent(surge_written, replicas, True)
    unavailable = _int_or_percent(written, replicas, False)
    if surge is None or unavailable is None:
        return None
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return (written, replicas) if min(unavailable, replicas) >= replicas else None


def daemonset_all_at_once(obj: dict[str, Any]) -> tuple[Any, int] | None:
    """(maxUnavailable as written, pods) when a DaemonSet's RollingUpdate stops the pod of every node at once: its
    maxUnavailable (default 1), a percent of status.desiredNumberScheduled rounded up (kubernetes/api@v0.31.0
    apps/v1/types.go RollingUpdateDaemonSet), reaches that count, and no surge pod comes first (maxSurge, default 0).
    One node's pod is left to the single-pod scoring of other kinds (a DaemonSet's never scores: it is the node's).
    None otherwise (OnDelete, counts that are no numbers)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") if isinstance(spec, dict) else None
    strategy = strategy if isinstance(strategy, dict) else {}
    if strategy.get("type", "RollingUpdate") not in (None, "RollingUpdate") or not isinstance(status, dict):
        return None
    pods = status.get("desiredNumberScheduled")
    if not isinstance(pods, int) or isinstance(pods, bool) or pods < 2:
        return None
    rolling = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else {}
    written = 1 if rolling.get("maxUnavailable") is None else rolling["maxUnavailable"]
    surge = _int_or_percent(0 if rolling.get("maxSurge") is None else rolling["maxSurge"], pods, True)
    unavailable = _int_or_percent(written, pods, True)
    if surge is None or unavailable is None or surge > 0:
        return None
    return (written, pods) if unavailable >= pods else None


def _selected_by_any(pdbs: list[dict[str, Any]] | None, labels: dict[str, str]) -> bool:
    """Whether any of a namespace's PodDisruptionBudgets (None: it has none) selects pods of these labels."""
    if not pdbs:  # most namespaces: no generator, nor any(), per workload
        return False
    return any(selector_matches((p.get("spec") or {}).get("selector"), labels) for p in pdbs)


# The fixes of the restart risks (a line each in a finding's remediation): catalog sentences, said in the report's
# language (render/localize prose()).
FIX_GRACE = N_("Set terminationGracePeriodSeconds above the proxy's terminationDrainDuration (the reason gives both).")
FIX_BARE = N_("Run it under a Deployment before the move.")
FIX_RECREATE = N_("Switch to RollingUpdate for the move.")
FIX_ALL_AT_ONCE = N_("Set the rolling update's maxUnavailable below the replica count (e.g. 25%) and maxSurge to 1 or "
                     "more for the move.")
FIX_REPLICAS = N_("Scale to 2 or more replicas for the move.")
FIX_PRESTOP = N_("Add a preStop hook (e.g. sleep 5) to the app container.")
FIX_PDB = N_("Add a PodDisruptionBudget.")
FIX_LONG_LIVED = N_("Set proxyMetadata EXIT_ON_ZERO_ACTIVE_CONNECTIONS=\"true\" (annotation proxy.istio.io/config) and "
                    "make clients reconnect.")
FIX_HELD = N_("End each held pod's proxy:")
THEN_MOVE = N_("Then move it:")


@dataclass
class Risk:
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    # What every finding of this Risk shares (RestartRisk._shared): made once per Risk, which workloads of the same
    # facts share.
    _shared: tuple[Outcome, dict[str, Any], int, str] | None = field(default=None, init=False, repr=False,
                                                                     compare=False)

    def add(self, points: int, reason: str, fix: str = "") -> None:
        # Phrases: the report's restart-risk table and the finding's message say them in the reader's language
        # (findings.json keeps the English).
        self.score += points
        self.reasons.append(Phrase(N_("+{points} {reason}"), points=points, reason=reason) if points else reason)
        if fix:
            self.fixes.append(fix)
        self._shared = None

    def texts(self) -> tuple[str, str]:
        """The reasons that scored points ("; "-joined) and the distinct fixes (a line each), in order."""
        return joined("; ", (r for r in self.reasons if r.startswith("+"))), "\n".join(
            f.rstrip("\n") for f in dict.fromkeys(self.fixes))


# The kinds a workload's score reads besides its pods: each unread one may hide points (unscored_points).
UNSCORED_KINDS = (K.CONFIGMAP, K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.PDB)


def unscored_points(kind: str, unread: Mapping[str, str]) -> int:
    """The most points the kinds not read (kind name -> why) could have added to a workload of `kind`
    (RestartRisk._facts, _risk): the mesh config's terminationDrainDuration at or above the grace period (+3, any
    workload but those run to completion); strategy Recreate, a rolling update stopping every pod at once
    (all_at_once, daemonset_all_at_once) or a single replica of the Deployment or StatefulSet itself (+3); no
    PodDisruptionBudget selecting it (+1, read for Deployments and StatefulSets). A bare pod scores 3 already.
    """
    if kind in RUN_TO_COMPLETION or kind == "Pod":
        return 0
    points = 3 if K.CONFIGMAP.kind in unread else 0
    if kind in (K.DEPLOYMENT.kind, K.STATEFULSET.kind):
        points += (3 if kind in unread else 0) + (1 if K.PDB.kind in unread else 0)
    elif kind == K.DAEMONSET.kind and kind in unread:
        points += 3  # a rolling update stopping every node's pod at once (daemonset_all_at_once)
    return points


def wave_of(score: int) -> int:
    return 1 if score <= 1 else 2 if score <= 4 else 3


# Msgids: the report says them in the reader's language (render/context.risk_section); evidence keeps the English.
WAVES = {1: N_("low risk (score 0-1)"), 2: N_("medium risk (score 2-4)"), 3: N_("high risk (score 5+)")}
WAVE_NAMES = {1: N_("low risk"), 2: N_("medium risk"), 3: N_("high risk")}
SCORING = N_("grace<=drain +3; bare pod/Recreate/maxUnavailable>=replicas +3; single replica +2 (StatefulSet +3); "
             "no preStop +1; no PDB +1; long-lived ports +2 (+1 with EXIT_ON_ZERO_ACTIVE_CONNECTIONS)")


WorkloadPods = namedtuple("WorkloadPods", ("namespace", "workload_kind", "workload_name", "pods", "grace_min",
                                           "drain_max", "short_grace", "prestop", "long_lived", "exit_on_zero",
                                           "bad_drain", "held", "held_pods"))


def _selected_codes(column: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The selected rows' codes into the column's distinct values (a missing value: -1) and those values as text:
    a categorical's categories, or the values pandas factorizes."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.array.codes[rows], [str(v) for v in column.array.categories]
    codes, distinct = pd.factorize(column.to_numpy()[rows])
    return codes, [str(v) for v in distinct]


def _not_negative(values: np.ndarray) -> np.ndarray:
    """`values >= 0` per value as pandas compares them (a missing or odd value is not: False, never a TypeError)."""
    if values.dtype.kind in "iuf":
        return values >= 0
    return (pd.Series(values, copy=False) >= 0).to_numpy()


def _sorted_categories(todo: pd.DataFrame) -> bool:
    """True when the workload key's categorical columns list their categories in text order: grouping by their codes
    then sorts workloads as grouping by their text does."""
    return all(not isinstance(todo[k].dtype, pd.CategoricalDtype) or todo[k].cat.categories.is_monotonic_increasing
               for k in WORKLOAD_KEY)


def _aggregate_by_pandas(todo: pd.DataFrame, pod_values: dict[str, np.ndarray]) -> pd.DataFrame:
    """The per-workload rows, grouped by pandas: for a frame whose workload key workload_groups cannot order (a missing
    value) or whose categories are not in text order (never one of pods())."""
    frame = pd.DataFrame({"namespace": todo["namespace"].astype(str), "workload_kind": todo["workload_kind"].astype(
        str), "workload_name": todo["workload_name"].astype(str), **pod_values})
    out = frame.groupby(WORKLOAD_KEY, sort=True).agg(
        pods=("grace", "size"), grace_min=("grace", "min"), drain_max=("drain", "max"),
        short_grace=("short_grace", "any"), prestop=("prestop", "all"), long_lived=("long_lived", "any"),
        exit_on_zero=("exit_on_zero", "all"), bad_drain=("bad_drain", "any"), held=("held", "sum")).reset_index()
    held_names: dict[tuple[str, str, str], list[str]] = {}
    held = frame[frame["held"]]
    for key in zip(held["namespace"], held["workload_kind"], held["workload_name"],
                   todo.loc[held.index, "name"].astype(str), strict=True):
        held_names.setdefault(key[:3], []).append(key[3])
    out["held_pods"] = [sorted(held_names.get(k, ()))[:HELD_PODS_LISTED] for k in zip(
        out["namespace"].tolist(), out["workload_kind"].tolist(), out["workload_name"].tolist(), strict=True)]
    return out


class RestartRisk(ClusterCheck):
    id = "restart-risk"
    title = "Graceful-shutdown risk of the workloads still to move"
    gates = (Gate.ASSESSMENT, Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.MINOR
    rationale = ("Moving a workload to ASM's proxy restarts every pod of it. Traffic is lost when the pod cannot "
                 "drain: terminationGracePeriodSeconds not above the proxy's terminationDrainDuration, no preStop "
                 "hook, a single replica, no PodDisruptionBudget, long-lived connections that the proxy cuts "
                 "(unless EXIT_ON_ZERO_ACTIVE_CONNECTIONS). Move low-risk workloads first, off-peak.")
    remediation = "Fix the listed reasons before the workload's wave, or move it in a maintenance window."
    _PLAN = "{workloads} workload(s) still to move, lowest risk first: {waves}"
    PLAN = Outcome("AA1401", Status.PASS, "the workloads still to move can restart without expected traffic loss",
                   Severity.INFO, message=_PLAN)
    MEDIUM = Outcome("AA1420", Status.WARN, "a workload whose restart risks traffic loss (graceful shutdown, "
                     "replicas, sidecar-held Jobs): medium risk, score 2-4", Severity.MINOR,
                     message="restart risk {score} (medium risk (score 2-4)): {reasons}")
    HIGH = Outcome("AA1421", Status.WARN, "a workload whose restart risks traffic loss: high risk, score 5 or more; "
                   "move it in a maintenance window", Severity.MAJOR,
                   message="restart risk {score} (high risk (score 5+)): {reasons}")
    RISKY_PLAN = Outcome("AA1422", Status.WARN, "the migration waves of the workloads still to move, some of them "
                         "risky (each has its own finding)", Severity.INFO, message=_PLAN)
    UNSCORED = Outcome("AA1430", Status.UNKNOWN, "no workload scored as risky, but kinds the score reads could not be "
                       "read and could make some of them risky: the plan's PASS cannot be given",
                       message="{kinds} could not be read: {uncertain} of {workloads} workload(s) still to move may "
                               "score 2 or more with what was not read; scored without it: {waves}")
    NOTHING_TO_MOVE = Outcome("AA1440", Status.NOT_APPLICABLE, "no workload left on Istio's sidecar",
                              message="no workload left on Istio's sidecar")
    outcomes = (PLAN, MEDIUM, HIGH, RISKY_PLAN, UNSCORED, NOTHING_TO_MOVE)
    needs = (K.POD,)
    # DaemonSets: whether one moves by its template at all (rollouts.update_hold: updateStrategy OnDelete); CloneSets:
    # whether their update strategy is paused or partitioned (update_hold).
    uses = (K.REPLICASET, K.JOB, K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CLONESET, *K.ADVANCED_KINDS, K.PDB,
            K.CONFIGMAP,
            K.ARGO_ROLLOUT)  # an Argo Rollout's template and hold: where its label goes (rollouts.inject_command)
    max_listed_per_wave = 50  # the aggregate evidence lists this many names per wave (counts are complete)

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        rows = istio_sidecar_rows(pods)
        if not rows.any():
            yield self.report(self.NOTHING_TO_MOVE, cluster.name, params={})
            return
        per_workload = self._aggregate(cluster, pods, rows)
        objects = self._workload_objects(cluster)
        pdbs = self._pdbs(cluster)
        scored: list[tuple[int, str, str, str]] = []
        risks: dict[tuple[Any, ...], Risk] = {}  # facts -> its Risk: a few dozen for thousands of workloads
        unread = {kind.kind: cluster.unread_reason(kind) for kind in UNSCORED_KINDS if not cluster.available(kind)}
        uncertain = 0  # workloads scored below 2 that what was not read could make risky
        where = cluster.name
        # The command that moves it (rollouts.inject_command: the label, then for a paused, OnDelete or partitioned
        # workload what recreates its pods, which the label alone does not).
        score_of, shared_of, inject = self._score, self._shared, rollouts.inject_command
        for row in per_workload:
            # WorkloadPods, or the pandas path's rows (frame_rows): the workload key first, in the same order.
            namespace, kind, name = row[0], row[1], row[2]
            risk = score_of(row, objects, pdbs, where, risks)
            score = risk.score
            scored.append((score, namespace, kind, name))
            if score >= 2:
                outcome, params, wave, fixes = shared_of(risk)
                yield self.report(
                    outcome, where, params=params, kind=kind, namespace=namespace, name=name,
                    remediation=fixes + inject(cluster, kind, namespace, name),
                    evidence={"score": score, "wave": wave, "reasons": risk.reasons,
                              "pods": int(row.pods), "grace_seconds": int(row.grace_min),
                              "drain_seconds": float(row.drain_max)})
            elif unread and score + unscored_points(kind, unread) >= 2:
                uncertain += 1
        yield self._plan(cluster.name, scored, unread, uncertain)

    def _shared(self, risk: Risk) -> tuple[Outcome, dict[str, Any], int, str]:
        """What every finding of a risky `risk` shares: its outcome, params, wave and remediation up to the workload's
        command. Made once per Risk (a few dozen for thousands of workloads); the findings share the params dict as
        they share the reasons list (read-only once the check returns: check.same_in_every_gate)."""
        shared = risk._shared
        if shared is None:
            reasons, fixes = risk.texts()
            wave = wave_of(risk.score)
            # Advice a line each (catalog sentences, said in the report's language), then the command on a line of its
            # own (a command block to copy); after commands of its own (a held Job's), the lead-in is a comment.
            then = f"# {THEN_MOVE}" if fixes.startswith(FIX_HELD) else THEN_MOVE  # (_held: its only fix)
            shared = risk._shared = (self.HIGH if wave == 3 else self.MEDIUM, {"score": risk.score, "reasons": reasons},
                                     wave, (fixes + "\n" if fixes else "") + then + "\n")
        return shared

    # -- per-pod work stays vectorised: one pass over the selected rows, then one row per workload
    @staticmethod
    def _aggregate(cluster: ClusterInventory, pods: pd.DataFrame, rows: np.ndarray) -> list[Any]:
        """One row per workload (WorkloadPods) of the pods `rows` selects, sorted by (namespace, kind, name).

        Each column read is taken as a numpy array of the selected rows, and a text column's values are judged once
        per distinct value and taken per pod by its code: no frame of the selected pods is copied, and no pandas map
        or astype runs per column (~1.5 ms of fixed work per cluster)."""
        defaults = mesh_drain_defaults(cluster)
        drain_codes, drain_texts = _selected_codes(pods["drain"], rows)
        parsed = [parse_duration(text) for text in drain_texts]
        # A missing value (code -1: each table's last entry), as pandas' map read it: a missing drain is none of the
        # pod's own and unreadable, a missing revision the default drain.
        own_drain = np.array([*(np.nan if p is None else p for p in parsed), np.nan])[drain_codes]
        bad_drain = np.array([*(bool(t) and p is None for t, p in zip(drain_texts, parsed, strict=True)), True])[
            drain_codes]
        revision_codes, revisions = _selected_codes(pods["revision"], rows)
        by_revision = np.array([*(defaults.get(r or "default", DEFAULT_DRAIN_SECONDS) for r in revisions),
                                DEFAULT_DRAIN_SECONDS])[revision_codes]
        drain = np.where(np.isnan(own_drain), by_revision, own_drain)
        term_grace = pods["term_grace"].to_numpy()[rows]
        grace = np.where(_not_negative(term_grace), term_grace, DEFAULT_GRACE_SECONDS)
        held = pods["held_by_proxy"].to_numpy()[rows].astype(bool)
        pod_values = {
            "grace": grace, "drain": drain, "short_grace": grace <= drain,
            **{name: pods[column].to_numpy()[rows].astype(bool) for name, column in (
                ("prestop", "prestop"), ("long_lived", "long_lived"), ("exit_on_zero", "exit_on_zero"))},
            "bad_drain": bad_drain, "held": held}
        # The selected pods' workload key, as the frame's own arrays (categories kept): what workload_groups orders.
        keys_frame = pod_columns(pods, rows, WORKLOAD_KEY)
        groups = workload_groups(keys_frame, by_pod_name=False) if _sorted_categories(keys_frame) else None
        if groups is None:  # pandas groups it (and drops a missing key) as before
            return list(frame_rows(_aggregate_by_pandas(pods.loc[rows, [*WORKLOAD_KEY, "name"]], pod_values)))
        keys, order, starts = groups
        # Each aggregate is one numpy reduction over the pods sorted by workload (a groupby with nine aggregations
        # over three text keys took ~18 ms of a 50k-pod cluster). No value is missing: drain was filled above.
        firsts = starts[:-1]
        sorted_values = {name: values[order] for name, values in pod_values.items()}
        aggregates = [np.diff(starts), np.minimum.reduceat(sorted_values["grace"], firsts),
                      np.maximum.reduceat(sorted_values["drain"], firsts)]
        aggregates += [np.logical_or.reduceat(sorted_values[name], firsts) if anyone else
                       np.logical_and.reduceat(sorted_values[name], firsts)
                       for name, anyone in (("short_grace", True), ("prestop", False), ("long_lived", True),
                                            ("exit_on_zero", False), ("bad_drain", True))]
        aggregates.append(np.add.reduceat(sorted_values["held"].astype(np.int64), firsts))
        # Names only of the (few) held pods: no per-workload Python call over the whole frame.
        held_names: dict[int, list[str]] = {}
        if held.any():
            workload_of = np.empty(len(order), dtype=np.intp)
            workload_of[order] = np.repeat(np.arange(len(keys)), np.diff(starts))
            names = pods["name"].take(np.flatnonzero(rows)[held]).astype(str).tolist()
            for workload, pod in zip(workload_of[held].tolist(), names, strict=True):
                held_names.setdefault(workload, []).append(pod)
        held_pods = [sorted(held_names[w])[:HELD_PODS_LISTED] if w in held_names else [] for w in range(len(keys))]
        return list(map(WorkloadPods._make, zip(*zip(*keys, strict=True), *(a.tolist() for a in aggregates), held_pods,
                                                strict=True)))

    @staticmethod
    def _workload_objects(cluster: ClusterInventory) -> WorkloadObjects:
        """Kind -> (namespace, name) -> the Deployment, StatefulSet or DaemonSet, the last one listed under its key (a
        missing namespace reads as ""): the inventory's index (gitops-drift reads it too) when that holds every object
        under a key of its own, else a dict of this check's own."""
        out: WorkloadObjects = {}
        for kind in (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET):
            if cluster.available(kind):
                unique = cluster.unique_index(kind)
                if unique is None:
                    unique = {}
                    for obj in cluster.objects(kind):
                        meta = obj.get("metadata") or {}
                        unique[(meta.get("namespace", ""), meta.get("name", ""))] = obj
                out[kind.kind] = unique
        return out

    @staticmethod
    def _pdbs(cluster: ClusterInventory) -> dict[str, list[dict[str, Any]]] | None:
        if not cluster.available(K.PDB):
            return None
        out: dict[str, list[dict[str, Any]]] = {}
        for pdb in cluster.objects(K.PDB):
            out.setdefault((pdb.get("metadata") or {}).get("namespace", ""), []).append(pdb)
        return out

    def _score(self, row: Any, objects: WorkloadObjects, pdbs: PdbsByNamespace | None, cluster: str,
               risks: dict[tuple[Any, ...], Risk]) -> Risk:
        """The workload's risk: what its objects show (_facts), scored by _risk. Thousands of workloads show a few
        dozen distinct facts at scale: each is scored once, kept in `risks`, and its Risk shared (read it, never
        change it)."""
        if row.workload_kind in RUN_TO_COMPLETION and row.held:
            return self._held(row, cluster)  # names its pods: a risk of its own
        facts = self._facts(row, objects, pdbs)
        risk = risks.get(facts)
        if risk is None:
            risk = risks[facts] = self._risk(*facts)
        return risk

    @staticmethod
    def _held(row: Any, cluster: str) -> Risk:
        # Its next run never comes: the pod is Running with a finished app, held by the classic sidecar.
        risk = Risk()
        risk.add(2, Phrase(N_("{count} pod(s) held Running by the Istio sidecar after the app finished ({pods}): not "
                              "moving by itself, end the proxy"), count=int(row.held),
                           pods=", ".join(row.held_pods) + (" ..." if row.held > len(row.held_pods) else "")),
                 # One command per line, none ending a sentence: `... POST quitquitquit.` asked the agent for
                 # "quitquitquit." (read16 found the same in stuck-sidecar-jobs).
                 FIX_HELD + "\n" + "\n".join(
                     mesh.quit_proxy_command(cluster, row.namespace, pod) for pod in row.held_pods) + "\n")
        return risk

    @staticmethod
    def _facts(row: Any, objects: WorkloadObjects, pdbs: PdbsByNamespace | None) -> tuple[Any, ...]:
        """What _risk reads of a workload (not run to completion with held pods), as a key: its kind, then for the
        others (grace and drain as the reasons write them, or None; unreadable drain; what its controller shows:
        "bare", "recreate", ("all-at-once", maxUnavailable, replicas), "single-replica", "single-pod" or "";
        preStop; PodDisruptionBudget: "unread", "missing" or ""; long-lived ports; EXIT_ON_ZERO_ACTIVE_CONNECTIONS)."""
        # One unpacking of the row (WorkloadPods, or the pandas path's rows: the same fields in the same order), not
        # an attribute read per field (~5,000 workloads at 50k pods).
        namespace, kind, name, pods, grace_min, drain_max, short_grace, prestop, long_lived, exit_on_zero, bad_drain = \
            row[:11]
        if kind in RUN_TO_COMPLETION:
            return (kind,)
        grace = (int(grace_min), f"{drain_max:g}") if short_grace else None
        obj = objects.get(kind, _NONE).get((namespace, name))
        spec = (obj or {}).get("spec") or {}
        # (A DaemonSet's pods are no PodDisruptionBudget's business: its rolling update and `kubectl drain
        # --ignore-daemonsets` pass them by.)
        template_labels = (((spec.get("template") or {}).get("metadata") or {}).get("labels")) or {} \
            if kind != "DaemonSet" else {}
        if kind == "Pod":
            shape = "bare"
        elif obj is not None and kind in ("Deployment", "StatefulSet"):
            replicas = spec.get("replicas", 1)
            at_once = all_at_once(spec) if kind == "Deployment" else None
            shape = ("recreate" if (spec.get("strategy") or {}).get("type") == "Recreate"
                     else ("all-at-once", str(at_once[0]), at_once[1]) if at_once
                     else "single-replica" if replicas == 1 else "")
        elif obj is not None and kind == "DaemonSet":
            at_once = daemonset_all_at_once(obj)
            shape = ("all-at-once", str(at_once[0]), at_once[1]) if at_once else ""
        elif int(pods) == 1 and kind not in ("DaemonSet",):
            shape = "single-pod"
        else:
            shape = ""
        if pdbs is None:
            pdb = "unread"
        elif kind != "Pod" and template_labels and not _selected_by_any(pdbs.get(namespace), template_labels):
            pdb = "missing"
        else:
            pdb = ""
        return (kind, grace, bool(bad_drain), shape, bool(prestop), pdb, bool(long_lived), bool(exit_on_zero))

    @staticmethod
    def _risk(kind: str, grace: tuple[int, str] | None = None, bad_drain: bool = False,
              shape: str | tuple[str, str, int] = "", prestop: bool = True, pdb: str = "", long_lived: bool = False,
              exit_on_zero: bool = False) -> Risk:
        """The score and reasons of a workload's facts (_facts)."""
        risk = Risk()
        if kind in RUN_TO_COMPLETION:
            risk.add(0, Phrase(N_("runs to completion: it moves at its next run")))
            return risk
        if grace is not None:
            risk.add(3, Phrase(N_("terminationGracePeriodSeconds {grace}s is not above terminationDrainDuration "
                                  "{drain}s: the proxy is killed while draining"), grace=grace[0], drain=grace[1]),
                     FIX_GRACE)
        if bad_drain:
            risk.add(0, Phrase(N_("proxy.istio.io/config has an unreadable terminationDrainDuration (default "
                                  "assumed)")))
        if shape == "bare":
            risk.add(3, Phrase(N_("bare pod: deleting it is an outage until it is re-created from its manifest")),
                     FIX_BARE)
        elif shape == "recreate":
            risk.add(3, Phrase(N_("strategy Recreate: every pod stops before new ones start")),
                     FIX_RECREATE)
        elif isinstance(shape, tuple):  # ("all-at-once", maxUnavailable as written, replicas): _facts
            risk.add(3, Phrase(N_("rolling update with maxUnavailable {max_unavailable} of {replicas} replica(s): "
                                  "every pod stops at once, before a new one is ready"), max_unavailable=shape[1],
                               replicas=shape[2]),
                     FIX_ALL_AT_ONCE)
        elif shape == "single-replica":
            points = 3 if kind == "StatefulSet" else 2
            risk.add(points, Phrase(N_("single replica: no other pod serves while it restarts")),
                     FIX_REPLICAS)
        elif shape == "single-pod":
            risk.add(2, Phrase(N_("single pod ({kind} spec not readable)"), kind=kind),
                     FIX_REPLICAS)
        if not prestop:
            risk.add(1, Phrase(N_("no preStop hook in the app: it may exit before endpoints stop sending traffic")),
                     FIX_PRESTOP)
        if pdb == "unread":
            risk.add(0, Phrase(N_("PodDisruptionBudgets not readable: not scored")))
        elif pdb == "missing":
            risk.add(1, Phrase(N_("no PodDisruptionBudget: node drains during the move are not limited")),
                     FIX_PDB)
        if long_lived:
            if exit_on_zero:
                risk.add(1, Phrase(N_("long-lived connections (gRPC/websocket/TCP ports); "
                                      "EXIT_ON_ZERO_ACTIVE_CONNECTIONS lets the proxy wait for them")))
            else:
                risk.add(2, Phrase(N_("long-lived connections (gRPC/websocket/TCP ports) are cut when the proxy "
                                      "stops")),
                         FIX_LONG_LIVED)
        return risk

    def _plan(self, cluster: str, scored: list[tuple[int, str, str, str]], unread: dict[str, str],
              uncertain: int) -> Finding:
        """The one aggregate: migration waves, lowest risk first (complete counts, names capped)."""
        scored.sort()  # (score, namespace, kind, name)
        # Sorted by score, each wave is a run of the list (wave_of: scores 0-1, 2-4, 5+): two searches, not a wave
        # asked per workload (~5,000 at 50k pods).
        scores = [s[0] for s in scored]
        medium, high = bisect.bisect_right(scores, 1), bisect.bisect_right(scores, 4)
        by_wave = {1: scored[:medium], 2: scored[medium:high], 3: scored[high:]}
        waves = []
        for wave, label in WAVES.items():
            members = by_wave[wave]
            if members:
                waves.append({"wave": wave, "risk": label, "workloads": len(members),
                              "list": [f"{ns}/{kind}/{name} ({score})" for score, ns, kind, name in
                                       members[: self.max_listed_per_wave]]})
        risky = len(scored) - medium
        text = joined(", ", (Phrase(N_("wave {wave}: {count} {risk}"), wave=w["wave"], count=w["workloads"],
                                    risk=Phrase(WAVE_NAMES[w["wave"]])) for w in waves))
        evidence = {"waves": waves, "workloads": len(scored), "risky": risky,
                    "scoring": SCORING}
        if unread:
            evidence["not_read"] = unread
        if not risky and uncertain:
            # A PASS only when nothing unread could change it (unscored_points): else what was not read is named.
            kinds = "; ".join(f"{kind} ({why})" for kind, why in unread.items())
            return self.report(self.UNSCORED, cluster, params={"kinds": kinds, "uncertain": uncertain,
                                                              "workloads": len(scored), "waves": text},
                               remediation="Let the auditor read the kinds named and audit again.", evidence=evidence)
        return self.report(self.RISKY_PLAN if risky else self.PLAN, cluster,
                           params={"workloads": len(scored), "waves": text}, evidence=evidence)
