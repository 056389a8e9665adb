"""Collection: each kind read at most once per cluster, slimmed, into the inventory (live clusters side by side)."""

from __future__ import annotations

import contextlib
import functools
import gc
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from auditor import kinds as K
from auditor import podwire, timing
from auditor.errors import ClusterUnreachable, KindNotServed, SourceError, UsageError
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory, Inventory, PodSummaries, slim_page, summarise_pod, summarise_pods
from auditor.kinds import Kind
from auditor.sources.base import ClusterSource, ListRestarted, SourceSet
from auditor.sources.snapshot import STATUS_NOT_SERVED, STATUS_OK, SnapshotCluster, SnapshotWriter

Progress = Callable[[str], None]
MAX_PARALLEL_CLUSTERS = 8  # live clusters read side by side (a fleet); each also reads its next page ahead


def _is_live(source: ClusterSource) -> bool:
    """A LiveCluster, without importing the live source (urllib3, TLS) for a snapshot: none exists before it is."""
    live = sys.modules.get("auditor.sources.live")
    return live is not None and isinstance(source, live.LiveCluster)


def _quiet(_: str) -> None:
    pass


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
        parallel = [t for t, s in zip(tasks, sources, strict=True) if _is_live(s)]
        for task, source in zip(tasks, sources, strict=True):
            if not _is_live(source) or len(parallel) < 2:
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
        with gc_paused(), timing.part(timing.COLLECT, role):
            self._ensure(kinds, role)
        if role == "data-plane":
            self._refuse_one_cluster_twice()

    def _refuse_one_cluster_twice(self) -> None:
        """Two live data planes that read one cluster (a kubeconfig or context copied, a context forgotten: the
        current one) are bad input: the second name's own cluster was never read, and its GO would be the first's."""
        identities = [(cluster.name, source.server(), _system_uid(cluster)) for source, cluster in self.pairs
                      if source.role == "data-plane" and _is_live(source)]
        twice = one_cluster_twice(identities)
        if twice is not None:
            first, second = twice
            raise UsageError(f"clusters {first!r} and {second!r} are one cluster: the same API server and the same "
                             "kube-system namespace uid; the kubeconfig or context of one of them names the other "
                             "(--cluster NAME=KUBECONFIG@CONTEXT, or the fleet file)")

    def ensure_cluster(self, cluster: ClusterInventory, kinds: Iterable[Kind]) -> None:
        """`kinds` of one cluster only (a fleet judged cluster by cluster: engine.py)."""
        source = next(source for source, known in self.pairs if known is cluster)
        with gc_paused(), timing.part(timing.COLLECT, "data-plane"):
            self._read_cluster(source, cluster, _pods_first(kinds))

    def _ensure(self, kinds: Iterable[Kind], role: str) -> None:
        wanted = _pods_first(kinds)
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
                page = slim_page(kind, page)
                self.writer.items(source, kind, page)
            self._summarise(page, cluster.pod_summaries)
            return
        page = slim_page(kind, page)
        if self.writer:
            self.writer.items(source, kind, page)
        objects.extend(page)

    def _summarise(self, page: list[dict[str, Any]], into: PodSummaries) -> None:
        """Pod summaries of a page, added to `into`. A pod whose fields have odd types (a live answer is not
        shape-checked like a snapshot) makes the pods of this cluster unreadable (UNKNOWN, named; the caller forgets
        its summaries), never a crash of the run."""
        rules = self.inv.rules
        try:
            summarise_pods(page, rules, into)
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
        self.progress(Phrase(N_("{cluster}: reading {kind}"), cluster=cluster.name, kind=kind.kind))
        objects: list[dict[str, Any]] = []
        start_pods = cluster.pod_summaries.mark()
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
                    cluster.pod_summaries.truncate(start_pods)
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
            cluster.pod_summaries.truncate(start_pods)
            cluster.unreachable = exc.reason
            status = f"unreachable: {exc.reason}"
        except SourceError as exc:
            cluster.pod_summaries.truncate(start_pods)
            cluster.record_error(kind, exc.reason)
            status = exc.reason
        finally:
            if self.writer:
                self.writer.end(source, kind, status)

    def _pages(self, source: ClusterSource, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        if self.writer is None and _is_live(source):
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
        # A Phrase: the terminal says it in the reader's language (cli.common.Progress).
        self.progress(Phrase(N_("{cluster}: reading {kind}"), cluster=cluster.name,
                             kind=", ".join(k.kind for k in todo)) if len(todo) < 3 else
                      Phrase(N_("{cluster}: reading {count} kinds from the snapshot"), cluster=cluster.name,
                             count=len(todo)))
        collected: dict[str, list[dict[str, Any]]] = {k.key: [] for k in todo}
        start_pods = cluster.pod_summaries.mark()
        if self.writer:
            for kind in todo:
                self.writer.begin(source, kind)
        # Without a snapshot to write, pods, ReplicaSets and Jobs are decoded only as far as the inventory reads.
        try:
            for kind, page in source.scan(todo, reduce=self.writer is None):
                self._absorb(source, cluster, kind, page, collected[kind.key])
                del page  # a page of pods is freed before the next file is decoded, not after
        except SourceError as exc:  # a snapshot is input: what cannot be read in it is bad input (exit 2)
            raise UsageError(f"snapshot cluster {source.name}: {exc.reason}") from exc
        for kind in todo:
            error = source.absent_error(kind)
            if error is None:
                cluster.objects_by_kind[kind.key] = collected[kind.key]
            else:  # none found, or a file holds one page of them only: the kind is not read
                if kind is K.POD:
                    cluster.pod_summaries.truncate(start_pods)
                cluster.record_error(kind, error.reason)
            if self.writer:
                self.writer.end(source, kind, STATUS_OK if error is None else error.reason)

    def _record(self, source: ClusterSource, kind: Kind, status: str) -> None:
        if self.writer:
            self.writer.begin(source, kind)
            self.writer.end(source, kind, status)


def _system_uid(cluster: ClusterInventory) -> str | None:
    """The uid of the cluster's kube-system Namespace, if its Namespaces were read: set by the API server when it
    creates the namespace (kubernetes pkg/controlplane/controller/systemnamespaces), the usual id of a cluster."""
    for obj in cluster.objects_by_kind.get(K.NAMESPACE.key) or ():
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(meta, dict) and meta.get("name") == "kube-system":
            uid = meta.get("uid")
            return uid if isinstance(uid, str) and uid else None
    return None


def one_cluster_twice(identities: Iterable[tuple[str, str | None, str | None]]) -> tuple[str, str] | None:
    """The first two names of (name, API server URL, kube-system uid) that share both URL and uid: one cluster under
    two names. Either alone proves nothing: a proxy serves several clusters at one URL (Teleport tells them apart by
    the client certificate), a cluster restored from another's etcd snapshot keeps its uids. None when none do."""
    seen: dict[tuple[str, str], str] = {}
    for name, server, uid in identities:
        if not server or not uid:
            continue
        first = seen.setdefault((server.rstrip("/"), uid), name)
        if first != name:
            return first, name
    return None


def _pods_first(kinds: Iterable[Kind]) -> list[Kind]:
    """Pods first: the biggest list, and for a snapshot the one pass over its files then reads everything else
    along with it."""
    return sorted(dict.fromkeys(kinds), key=lambda k: k is not K.POD)


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
