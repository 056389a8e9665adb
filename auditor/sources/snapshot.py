"""Snapshots: read a directory or .tar.gz of Kubernetes objects; write one from a live collection.

Format (product.md): one sub-directory per cluster, `asm/` for the control plane, any *.yaml, *.yml
or *.json files holding single objects, multi-document YAML or `List`s exactly as
`kubectl get ... -A -o yaml` writes them; optional version.json and manifest.json. A directory with no
cluster sub-directories is one data-plane cluster named `default`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import mmap
import os
import shutil
import stat
import tarfile
import tempfile
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson
import yaml

from auditor import __version__, podwire, wire
from auditor.errors import ClusterUnreachable, KindNotServed, SourceError, UsageError
from auditor.kinds import POD, Kind, kind_of
from auditor.sources.base import ClusterSource, ListRestarted, SourceSet
from auditor.sources.shapes import all_fit, object_problem, openapi_answer_problem
from auditor.yamlsafe import BoundedSafeLoader

_T = TypeVar("_T")
OBJECT_SUFFIXES = (".yaml", ".yml", ".json")
SPECIAL_FILES = {"version.json", "manifest.json", "prometheus.json"}
# macOS writes a file's extended attributes and resource fork beside it as `._<name>` where the file system or archive
# cannot hold them (bsdtar's copyfile(3) entries in a tar made on a Mac, Finder copies to a USB disk or a share): an
# AppleDouble file (RFC 1740), which starts with this magic number and holds no Kubernetes object. `._pods.json` read as
# objects was "malformed JSON" (exit 2); only the magic, not the name alone, makes a file one to skip.
APPLEDOUBLE_MAGIC = b"\x00\x05\x16\x07"
# Limits on what a .tar.gz may expand to (a hostile or corrupt archive must not fill the disk).
# Read at each extraction so tests and users can set them through the environment.
DEFAULT_MAX_TAR_BYTES = 8 * 1024**3
DEFAULT_MAX_TAR_MEMBERS = 100_000
# Each file is read and parsed whole: its size bounds the memory of the audit. The snapshots this tool writes
# hold at most WRITE_PART_ITEMS objects per file (tens of MB); 512 MiB is a `kubectl get pods -A -o json` of
# ~50,000 full pods. A file of objects parsed whole peaks at ~3.5 times its size (measured: a 614 MB List of
# ConfigMaps, 2.2 GB), so one at the limit stays under 2 GB; pods reduced by auditor.podwire take less.
# A bigger file, however small the archive it comes in (that one was 2 MB), is refused, not the OOM killer's.
DEFAULT_MAX_FILE_BYTES = 512 * 1024**2
FILE_LIMIT_VARIABLE = "ASM_AUDIT_MAX_SNAPSHOT_FILE_BYTES"


def is_appledouble(path: Path) -> bool:
    """A macOS `._<name>` AppleDouble file (APPLEDOUBLE_MAGIC): metadata of another file, never objects."""
    if not path.name.startswith("._"):
        return False
    try:
        with path.open("rb") as fh:
            return fh.read(len(APPLEDOUBLE_MAGIC)) == APPLEDOUBLE_MAGIC
    except OSError:
        return False  # read as any other file: its error is said there


def is_object_file(path: Path) -> bool:
    """A file of a snapshot's cluster directory that holds objects (its own special files and AppleDouble aside)."""
    return (path.suffix in OBJECT_SUFFIXES and path.name not in SPECIAL_FILES and path.is_file()
            and not is_appledouble(path))


def _limit(env: str, default: int) -> int:
    text = os.environ.get(env)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise UsageError(f"{env}={text!r} is not a whole number") from exc
    if value <= 0:
        raise UsageError(f"{env} must be positive")
    return value


def max_tar_bytes() -> int:
    return _limit("ASM_AUDIT_MAX_SNAPSHOT_BYTES", DEFAULT_MAX_TAR_BYTES)


def max_tar_members() -> int:
    return _limit("ASM_AUDIT_MAX_SNAPSHOT_MEMBERS", DEFAULT_MAX_TAR_MEMBERS)


def max_file_bytes() -> int:
    return _limit(FILE_LIMIT_VARIABLE, DEFAULT_MAX_FILE_BYTES)


def _too_big(path: Path | str, limit: int) -> UsageError:
    return UsageError(f"{path}: larger than {limit} bytes, the most one snapshot file may hold "
                      f"({FILE_LIMIT_VARIABLE}); refusing")


def read_snapshot_file(path: Path) -> bytes | memoryview:
    """The bytes of one snapshot file, refused past max_file_bytes(): counted as read (or mapped), not taken from stat.

    A regular file of MAP_BYTES or more comes mapped, read-only (a memoryview of its pages): decoded straight from the
    page cache, never copied. Its mapping goes when the last reference to it does, as a read file's bytes are freed.
    A file cut short while it is mapped ends the process with SIGBUS (as in any tool that maps its input): a
    snapshot is not rewritten while it is audited, and a tarball's files are our own private copies.
    """
    limit = max_file_bytes()
    try:
        with path.open("rb") as fh:
            mapped = _mapped(fh)
            if mapped is None:
                raw: bytes | memoryview = fh.read(limit + 1)
            else:
                raw = mapped
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise _too_big(path, limit)
    return raw


def _mapped(fh: IO[bytes]) -> memoryview | None:
    """The file mapped whole, if it is a regular file of MAP_BYTES or more and its file system can map it."""
    try:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size < MAP_BYTES:
            return None
        mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # cannot be mapped (a special file system, a file emptied meanwhile): read it
        return None
    # No madvise(MADV_WILLNEED): measured, it made no audit faster, from a warm or a cold page cache (10k and 50k
    # pods); the kernel's own read-ahead serves a decode that reads the file in order.
    return memoryview(mapping)


STATUS_OK = "ok"
# manifest.json's "format" and "format_version", as SnapshotWriter writes them and _manifest_problem reads them.
SNAPSHOT_FORMAT = "asm-audit-snapshot"
SNAPSHOT_FORMAT_VERSION = 1
# A file at least this big is mapped, not read (read_snapshot_file): a 50 MB file of pods read into memory cost a new
# buffer, faulted in and copied, and the scan waited for it (0.15 s of a ~1.9 s 50k-pod audit). Below it a read
# costs less.
MAP_BYTES = 1024 * 1024
WRITE_PART_ITEMS = 5000  # objects per written snapshot file (pods.json, pods.part0001.json, ...)
STATUS_NOT_SERVED = "not-served"
_POD_KEY = POD.key


# ---------------------------------------------------------------- reading files
def _objects_in(doc: Any, path: Path, checked_pods: bool = False) -> Iterator[dict[str, Any]]:
    """`checked_pods`: Pods were decoded by auditor.podwire, whose types enforce the shapes' rules."""
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a Kubernetes object or List, found {type(doc).__name__}")
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind:
        raise UsageError(f"{path}: an object has no 'kind'")
    if kind.endswith("List") and _no_items(doc):
        return  # an empty list, as Go writes one (_no_items)
    if kind.endswith("List") and "items" in doc and not isinstance(doc["items"], list):
        # Named as what it is: read as an object, it was refused as "a PodList object without metadata.name".
        raise UsageError(f"{path}: a {kind[:100]}'s items is {type(doc['items']).__name__}, not a list of objects "
                         "(nor null, an empty list)")
    if kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[:-4] if kind != "List" else None
        for item in doc["items"]:
            if not isinstance(item, dict):
                raise UsageError(f"{path}: a List item is not an object")
            if item_kind and "kind" not in item:  # typed lists (PodList) omit kind on items
                item = {"apiVersion": doc.get("apiVersion"), "kind": item_kind, **item}
            own_kind = item.get("kind")
            if isinstance(own_kind, str) and own_kind and not own_kind.endswith("List"):
                # A plain object, the usual case: checked here rather than through a generator per item.
                problem = object_problem(own_kind, item, checked=checked_pods and own_kind == "Pod")
                if problem:
                    raise UsageError(f"{path}: {problem}")
                yield item
            else:
                yield from _objects_in(item, path, checked_pods)
        return
    problem = object_problem(kind, doc, checked=checked_pods and kind == "Pod")
    if problem:
        raise UsageError(f"{path}: {problem}")
    yield doc


def _no_items(doc: dict[str, Any]) -> bool:
    """A List whose `items` is null: how Go's encoding/json writes a list type's nil slice (apimachinery's typed lists,
    `Items []T json:"items"`, carry no omitempty; a hand-made dump or a proxy built on them writes `"items": null`
    for none), and how YAML reads a bare `items:`. Kubernetes decodes it as no items, and so does the live source
    (auditor.sources.live.list_items): an empty list, which proves nothing exists only where an empty `[]` would."""
    return "items" in doc and doc["items"] is None


class PartialList(list[dict[str, Any]]):
    """What _batches_in yields, empty, for a List that says it is one page of a longer list: `kinds` (keys) it holds
    or names by its own kind, none of them read whole by it; `reason` names the file and what says so."""

    def __init__(self, kinds: set[str], reason: str) -> None:
        super().__init__()
        self.kinds = kinds
        self.reason = reason


# k8s.io/apimachinery pkg/apis/meta/v1/types.go: PartialObjectMetadata is "a generic representation of any object with
# ObjectMeta" (TypeMeta meta.k8s.io/v1, no kind of its own object), served in place of a list's objects when asked.
# Its kind unknown, such a file was ignored; a manifest claiming `complete` then read its objects' kind as none.
_METADATA_ONLY = frozenset({"PartialObjectMetadataList", "PartialObjectMetadata"})


def _page_of_more(doc: dict[str, Any]) -> str | None:
    """What says a List is one page of a longer list, or None.

    k8s.io/apimachinery pkg/apis/meta/v1/types.go ListMeta: `continue` "indicates that the server has more data
    available" (set when the request had a `limit`, as `kubectl get --raw '/api/v1/pods?limit=500'` or a client's
    single page), `remainingItemCount` the "number of subsequent items in the list which are not included in this list
    response"; both are omitted from a complete list (omitempty), as from every `kubectl get -o json|yaml`.
    """
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return None
    token, remaining = meta.get("continue"), meta.get("remainingItemCount")
    if token:
        return (f"metadata.continue is set ({remaining} more items not in it)" if remaining
                else "metadata.continue is set")
    if remaining not in (None, 0):
        return f"metadata.remainingItemCount is {str(remaining)[:40]}"
    return None


def _partial(doc: dict[str, Any], path: Path, why: str) -> PartialList:
    """The kinds a List that is one page names (by its own kind, `PodList`, or by its items' kinds), as PartialList.

    An item's kind and apiVersion default to the List's, as _objects_in reads a typed List's items."""
    list_kind, api_version = doc.get("kind"), doc.get("apiVersion")
    typed = list_kind[:-4] if isinstance(list_kind, str) and list_kind != "List" else None
    items = doc.get("items")
    kinds: set[str] = set()
    for obj in [{}, *(items if isinstance(items, list) else ())]:
        if not isinstance(obj, dict):
            continue
        name, version = obj.get("kind") or typed, obj.get("apiVersion") or api_version
        if isinstance(name, str) and isinstance(version, str | None):
            kind = kind_of({"apiVersion": version or "", "kind": name})
            if kind is not None:
                kinds.add(kind.key)
    return PartialList(kinds, f"{path} holds one page of a longer list, not all of it ({why}); list without a "
                              "limit (kubectl get -A -o json|yaml) or with every page")


def _batches_in(doc: Any, path: Path, checked_pods: bool = False, by_kind: bool = False,
                raw: bytes | memoryview | None = None) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """The objects of `doc` (what _objects_in yields), and whether they are all of one kind and apiVersion.

    A List whose items are all of one kind and apiVersion and meet every shape rule (shapes.all_fit, one pass in
    C) is taken as it is. `by_kind` (the caller files objects by kind, so only the order within a kind counts): a
    List of several kinds is taken kind by kind when each kind's items are of one apiVersion and fit. Anything
    else is looked at object by object, which names the first problem. `raw`: the JSON text `doc` was decoded from
    (a whole file), for shapes.all_fit to check the rules on.
    """
    if isinstance(doc, dict):
        kind, items = doc.get("kind"), doc.get("items")
        if kind in _METADATA_ONLY and str(doc.get("apiVersion")).startswith("meta.k8s.io/"):
            raise UsageError(f"{path}: a {kind} (objects' metadata only, an answer to `Accept: application/json;"
                             "as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`) names neither the kind of its objects "
                             "nor what they hold; save whole objects (kubectl get -A -o json|yaml)")
        why = _page_of_more(doc) if isinstance(kind, str) and kind.endswith("List") else None
        if why is not None:  # its objects are not all there is: none of them is taken (SnapshotCluster.scan)
            yield _partial(doc, path, why), False
            return
        if isinstance(kind, str) and kind.endswith("List") and items is None and "items" in doc:
            yield [], True  # _no_items: read as `[]` is
            return
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            fit = isinstance(items, podwire.OwnedItems) or all_fit(items, raw)
            raw = None  # the file's text is not read again: not held while the caller reads its objects
            if fit:
                yield items, True
                return
            groups = _kinds_of(items) if by_kind else None
            if groups is not None and len(groups) > 1 and all(all_fit(group) for group in groups):
                for group in groups:
                    yield group, True
                return
    yield list(_objects_in(doc, path, checked_pods)), False


def _kinds_of(items: list[Any]) -> list[list[dict[str, Any]]] | None:
    """The items split by their `kind`, each part in list order; None if one is not an object or its kind cannot
    be a key."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    try:
        for item in items:
            if not isinstance(item, dict):
                return None
            groups.setdefault(item.get("kind"), []).append(item)
    except TypeError:  # an unhashable kind: looked at object by object
        return None
    return list(groups.values())


def read_object_file(path: Path, reduce: bool = False,
                     raw: bytes | memoryview | None = None) -> Iterator[dict[str, Any]]:
    """Objects of one file; malformed content is a UsageError naming the file (and line for YAML).

    `reduce`: pods of a JSON List come reduced to what the pod summary reads, owned ReplicaSets and Jobs
    to what inventory.slim keeps (auditor.podwire). `raw`: the file's bytes, when already read.
    """
    for objects, _ in _file_batches(path, reduce, raw):
        if type(objects) is PartialList:
            raise UsageError(objects.reason)
        yield from objects


def _file_batches(path: Path, reduce: bool = False, raw: bytes | memoryview | None = None, by_kind: bool = False,
                  reducible: bool | None = None) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """read_object_file in batches: (objects, all of one kind and apiVersion). `by_kind`: see _batches_in.
    `reducible`: podwire.may_reduce(raw), when the caller already knows it (one regex pass over the file)."""
    if raw is None:
        raw = read_snapshot_file(path)
    if reducible is None:
        reducible = path.suffix == ".json" and reduce and podwire.may_reduce(raw)
    if reducible:
        reduced = podwire.reduced_list(raw)
        if reduced is not None:
            del raw
            yield from _batches_in(reduced, path, True, by_kind)
            return
    if path.suffix == ".json":
        try:
            doc = wire.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from exc
        batches = _batches_in(doc, path, False, by_kind, raw)
        del raw  # the generator holds it until it has checked the file
        yield from batches
        return
    try:
        text = str(raw, "utf-8")  # bytes, or a mapped file's memoryview
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        for doc in yaml.load_all(text, Loader=BoundedSafeLoader):
            yield from _batches_in(doc, path, False, by_kind)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{path}:{where} malformed YAML: {problem}") from exc
    except RecursionError as exc:  # pathologically nested documents
        raise UsageError(f"{path}: malformed YAML: nested too deeply") from exc


class SnapshotCluster(ClusterSource):
    def __init__(self, name: str, role: str, directory: Path, entry: dict[str, Any],
                 tree: _ExtractedTree | None = None) -> None:
        self.name = name
        self.role = role
        self.directory = directory
        self.cluster_id = entry.get("cluster_id")
        self.complete = bool(entry.get("complete"))
        self.kind_status: dict[str, str] = dict(entry.get("kinds") or {})
        # How many objects of each kind `asm-audit snapshot` wrote (its manifest's `objects`): fewer in the files means
        # one of them is missing (a part file deleted, an extraction cut short), not that fewer objects existed.
        self.recorded: dict[str, int] = dict(entry.get("objects") or {})
        self._read: dict[str, int] = {}  # kind key -> objects the last scan for it found
        # A cluster that did not answer when the snapshot was taken stays unreachable offline (INCOMPLETE),
        # instead of vanishing from the audit.
        self.unreachable: str | None = entry.get("unreachable")
        self._files: list[Path] | None = None
        self._file_kinds: dict[Path, set[str]] = {}  # kinds each file holds, learnt by the first scan
        self._found: set[str] = set()
        self._partial: dict[str, str] = {}  # kind key -> why a file holds only part of its objects (PartialList)
        self._tree = tree
        if tree is not None:
            tree.acquire()

    def describe(self) -> str:
        return f"{self.name} (snapshot {self.directory})"

    def close(self) -> None:
        tree, self._tree = self._tree, None
        if tree is not None:
            tree.release()

    def version(self) -> dict[str, Any]:
        if self.unreachable:
            raise ClusterUnreachable(f"{self.unreachable} (recorded in the snapshot)")
        path = self.directory / "version.json"
        if not path.exists():
            raise SourceError("the snapshot has no version.json for this cluster")
        try:
            info = orjson.loads(read_snapshot_file(path))
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{path}: malformed JSON: {exc}") from exc
        if not isinstance(info, dict):
            raise UsageError(f"{path}: expected the /version object")
        if "gitVersion" in info and ("serverVersion" in info or "clientVersion" in info):
            # Neither writer makes this: /version has no serverVersion, `kubectl version` no top-level gitVersion.
            # Reading either half would judge the cluster on a version the other half may contradict.
            raise SourceError(f"{path} holds both a /version answer (gitVersion) and `kubectl version` output "
                              "(serverVersion/clientVersion): which is the cluster's is not known")
        if "gitVersion" not in info and ("serverVersion" in info or "clientVersion" in info):
            # `kubectl version -o json` (k8s.io/kubectl pkg/cmd/version: {clientVersion, serverVersion}, each a
            # /version Info): the server's answer is serverVersion; clientVersion is kubectl's own build, never the
            # cluster's, and is absent from the answer when kubectl could not reach the server.
            server = info.get("serverVersion")
            if not isinstance(server, dict):
                raise SourceError(f"{path} is `kubectl version` output without serverVersion: kubectl's own version "
                                  "(clientVersion) is not the cluster's")
            return server
        return info

    def _object_files(self) -> list[Path]:
        if self._files is None:
            self._files = [p for p in sorted(self.directory.rglob("*")) if is_object_file(p)]
        return self._files

    def check_status(self, kind: Kind) -> None:
        """Raise what the snapshot recorded for a kind that could not be read when it was taken."""
        status = self.kind_status.get(kind.key)
        if status == STATUS_NOT_SERVED:
            raise KindNotServed(f"{kind.kind} was not served by the cluster when the snapshot was taken")
        if status is not None and status != STATUS_OK:
            raise SourceError(f"{status} (recorded in the snapshot)")

    def absent_error(self, kind: Kind) -> SourceError | None:
        """After a scan for `kind`: an error if a file holds only one page of its objects (PartialList), or if it
        found none unless the snapshot says none existed."""
        partial = self._partial.get(kind.key)
        if partial is not None:
            return SourceError(partial)
        recorded, read = self.recorded.get(kind.key), self._read.get(kind.key, 0)
        if recorded is not None and read < recorded:
            return SourceError(f"the snapshot's manifest records {recorded} {kind.kind} objects for this cluster, its "
                               f"files hold {read}: a file of them is missing or was cut (not all were read)")
        if recorded is not None and read > recorded:
            # The writer records what it wrote: more is a file added or copied in (`pods (1).json`, another
            # snapshot's files merged), not the cluster as it was read; which objects are the cluster's cannot be told.
            return SourceError(f"the snapshot's manifest records {recorded} {kind.kind} objects for this cluster, its "
                               f"files hold {read}: a file was added or copied in (not the snapshot as taken)")
        if kind.key in self._found or self.complete or self.kind_status.get(kind.key) is not None:
            return None
        return SourceError(f"the snapshot holds no {kind.kind} objects for this cluster (not collected)")

    def scan(self, kinds: list[Kind], reduce: bool = False) -> Iterator[tuple[Kind, list[dict[str, Any]]]]:
        """(kind, objects of one file) for several kinds in one pass over the files, one file at a time.

        Bounded memory: only one parsed file is held, and objects of kinds not asked for are dropped.
        Which kinds each file holds is remembered, so a later scan parses only the files it needs.
        `reduce`: pods, owned ReplicaSets and Jobs come reduced to what the inventory keeps (read_object_file).
        """
        wanted = {k.key: k for k in kinds}
        for key in wanted:
            self._read[key] = 0
        # The files this scan reads: those not known (from an earlier scan) to hold none of the wanted kinds.
        known = self._file_kinds
        files = [path for path in self._object_files() if path not in known or not known[path].isdisjoint(wanted)]
        for path in files:
            raw = read_snapshot_file(path)
            found: dict[str, list[Any]] = {}
            held: set[str] = set()
            reducible = reduce and path.suffix == ".json" and podwire.may_reduce(raw)
            pods = podwire.pod_structs(raw) if reducible else None
            if pods is not None:  # a file of pods only, decoded as Structs in one pass: no object to look at
                del raw
                if pods:
                    held.add(_POD_KEY)
                    if _POD_KEY in wanted:
                        found[_POD_KEY] = pods
            else:
                batches = _file_batches(path, reduce, raw, by_kind=True, reducible=reducible)
                del raw  # the generator holds it until it has parsed the file
                for objects, uniform in batches:
                    if type(objects) is PartialList:  # one page of a longer list: its kinds are not all read
                        held |= objects.kinds
                        for key in objects.kinds:
                            self._partial.setdefault(key, objects.reason)
                        continue
                    if uniform:  # one kind and apiVersion: the kind of the first is the kind of all
                        kind = kind_of(objects[0]) if objects else None
                        if kind is not None:  # unknown kinds are ignored by contract
                            held.add(kind.key)
                            if kind.key in wanted:
                                if type(objects) is podwire.OwnedItems and kind.key not in found:
                                    found[kind.key] = objects  # a whole file's: its type tells inventory.slim_page
                                else:
                                    found.setdefault(kind.key, []).extend(objects)
                        continue
                    for obj in objects:
                        kind = kind_of(obj)
                        if kind is None:  # unknown kinds are ignored by contract
                            continue
                        held.add(kind.key)
                        if kind.key in wanted:
                            found.setdefault(kind.key, []).append(obj)
            self._file_kinds[path] = held
            self._found |= held
            for key, objects in found.items():
                self._read[key] += len(objects)
                yield wanted[key], objects
            # The caller is done with this file's objects: freed before the next file is decoded, not after it.
            found.clear()
            objects = pods = None

    def pages(self, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        self.check_status(kind)
        empty = True
        for _, objects in self.scan([kind]):
            empty = False
            yield objects
        error = self.absent_error(kind)
        if error is not None:
            raise error
        if empty:
            yield []


# PAX and GNU long-name headers are read whole into memory by tarfile, before any member is seen: a few KB of gzip
# can declare gigabytes. Real ones hold a path and a few attributes.
MAX_EXTENDED_HEADER_BYTES = 1024 * 1024


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile's member header, stricter: bounded extended headers, and a corrupt header in the middle of an archive
    is an error (tarfile takes it for the end of the archive and silently drops every member after it)."""

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(archive)
        except tarfile.InvalidHeaderError as exc:
            raise tarfile.ReadError(f"corrupt member header at byte {archive.offset}: {exc}") from None

    def _proc_pax(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        self._bounded("PAX")
        return super()._proc_pax(archive)

    def _proc_gnulong(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        self._bounded("GNU long-name")
        return super()._proc_gnulong(archive)

    def _bounded(self, what: str) -> None:
        if self.size > MAX_EXTENDED_HEADER_BYTES:
            raise tarfile.ReadError(f"a {what} header of {self.size} bytes (more than {MAX_EXTENDED_HEADER_BYTES}); "
                                    "refusing")


def _safe_extract(archive: Path, target: Path) -> None:
    """Extract a snapshot tarball refusing anything that could escape or exhaust the temp dir.

    Every member is vetted before anything is written: only regular files and directories, relative
    paths without `..`, within the limits on members, bytes per file and total bytes (as declared). Then
    the bytes are counted again as they are written, so an archive cannot expand past what it declared.
    """
    max_members, max_bytes, max_file = max_tar_members(), max_tar_bytes(), max_file_bytes()
    total = 0
    try:
        # A gzip stream is opened as one (with "r:*" an error in its first header would read "file could not be
        # opened successfully", tarfile having tried every other compression after it).
        with archive.open("rb") as fh:
            mode = "r:gz" if fh.read(2) == b"\x1f\x8b" else "r:*"
        with tarfile.open(archive, mode, tarinfo=_StrictTarInfo) as tar:
            members = []
            for count, member in enumerate(tar, start=1):
                if count > max_members:
                    raise UsageError(f"{archive}: more than {max_members} members (ASM_AUDIT_MAX_SNAPSHOT_MEMBERS); "
                                     "refusing")
                name = member.name
                parts = name.replace("\\", "/").split("/")
                if (name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0] or "\0" in name
                        or any(ord(ch) < 32 for ch in name)):
                    raise UsageError(f"{archive}: unsafe member path {name!r}; refusing")
                if not (member.isfile() or member.isdir()):
                    what = "link" if member.issym() or member.islnk() else "device or special file"
                    raise UsageError(f"{archive}: member {name!r} is a {what}; refusing")
                if member.size > max_file:
                    raise _too_big(f"{archive}: member {name!r}", max_file)
                total += member.size
                if total > max_bytes:
                    raise UsageError(f"{archive}: expands to more than {max_bytes} bytes "
                                     "(ASM_AUDIT_MAX_SNAPSHOT_BYTES); refusing")
                members.append(member)
            for member in members:
                _extract_member(tar, member, target, archive)
    except (tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as exc:
        raise UsageError(f"{archive}: not a readable .tar.gz snapshot: {_first_line(exc)}") from exc


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, archive: Path) -> None:
    """One vetted member written under `target`, never more bytes than it declared (already within the limits)."""
    path = target.joinpath(*member.name.replace("\\", "/").split("/"))
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise UsageError(f"{archive}: member {member.name!r} cannot be read; refusing")
    written = 0
    with source, path.open("wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > member.size:
                raise UsageError(f"{archive}: member {member.name!r} holds more than the {member.size} bytes it "
                                 "declares; refusing")
            out.write(chunk)
    if written != member.size:
        raise UsageError(f"{archive}: member {member.name!r} is cut short ({written} of {member.size} bytes); "
                         "refusing")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _ExtractedTree:
    """The temp directory a .tar.gz was extracted into; removed when the last cluster reading it closes
    (or at interpreter exit, whichever comes first)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.users = 0
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(root), True)

    def acquire(self) -> None:
        self.users += 1

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self._finalizer()

    def discard(self) -> None:
        self._finalizer()


# A tree smaller than this is hashed at once (~2 ms): a thread would cost as much or more. Its start waits for the GIL,
# and the thread then competes with the collector for it (once ~8 ms of the demo's run, when the thread also listed
# the tree and zeroed a 16 MiB buffer).
_HASH_INLINE_BYTES = 4 << 20


def _tree_files(root: Path) -> list[Path]:
    """The files the digest covers, in its order (sorted)."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def _sha256_tree(root: Path, files: list[Path] | None = None) -> str:
    """SHA-256 over each file of the tree (`files`: _tree_files(root)), its path relative to `root` then its bytes.

    It runs in a thread beside the collector (_hash_tree), so it holds the GIL as little as it can: a file of
    MAP_BYTES or more is hashed from its mapping (_mapped, as the collector reads it), in pieces of _HASH_PIECE, each
    hashed without the GIL and then let go of (_forget), so the process holds at most one piece of it. Read into a
    16 MiB buffer instead, the buffer was zeroed with the GIL held as the thread started (~8 ms the audit waited
    for), and every piece was copied once more beside the collector's decode. A smaller file, or one that cannot be
    mapped, is read in pieces of MAP_BYTES.
    """
    digest = hashlib.sha256()
    piece: memoryview | None = None  # of a buffer made for the first file read
    for path in _tree_files(root) if files is None else files:
        digest.update(str(path.relative_to(root)).encode())
        with path.open("rb", buffering=0) as fh:
            view = _mapped(fh)
            if view is not None:
                mapping = view.obj
                try:
                    for start in range(0, len(view), _HASH_PIECE):
                        digest.update(view[start:start + _HASH_PIECE])
                        _forget(mapping, start, _HASH_PIECE)
                finally:
                    view.release()
                    mapping.close()  # the mmap _mapped made: unmapped now, not when collected
                continue
            if piece is None:
                piece = memoryview(bytearray(MAP_BYTES))
            while read := fh.readinto(piece):
                digest.update(piece[:read])
    return digest.hexdigest()


# The GIL is taken back between pieces: the collector, which holds it while it summarises, may make the hash thread
# wait a switch interval (5 ms) each time, so few large pieces (at 50k pods: 36, not 581).
_HASH_PIECE = 16 << 20
_DONT_NEED = getattr(mmap, "MADV_DONTNEED", None)


def _forget(mapping: Any, start: int, length: int) -> None:
    """Drop a hashed piece of a mapped file from this process (its pages stay in the page cache): a file's mapped
    pages count in the process's resident memory while it is mapped (a 50 MB file of pods hashed whole beside the
    collector raised a 10k-pod audit's peak by ~26 MB)."""
    if _DONT_NEED is not None:
        mapping.madvise(_DONT_NEED, start, min(length, len(mapping) - start))


def _hash_tree(root: Path) -> Future[str]:
    """The tree's digest: a big tree is hashed in a thread while the collector parses it (the digest then adds
    nothing to the audit's time), a small one (_HASH_INLINE_BYTES) right away. What hashing raised is delivered to
    whoever asks the Future, either way."""
    try:
        files = _tree_files(root)
        small = sum(path.stat().st_size for path in files) < _HASH_INLINE_BYTES
    except OSError:  # named where the digest is asked, as a failed hash is
        files, small = None, False
    if not small:
        return _in_background(functools.partial(_sha256_tree, root, files), "snapshot-sha256")
    future: Future[str] = Future()
    try:
        future.set_result(_sha256_tree(root, files))
    except Exception as exc:  # delivered to whoever asks for the result, as from the thread
        future.set_exception(exc)
    return future


def _in_background(work: Callable[[], _T], name: str) -> Future[_T]:
    """`work()` in a daemon thread; its result, or what it raised, is delivered to whoever asks the Future."""
    future: Future[_T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # delivered to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def open_snapshot(path: str | Path) -> SourceSet:
    """A SourceSet over a snapshot directory or .tar.gz."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"snapshot {path} does not exist")
    tree: _ExtractedTree | None = None
    if path.is_file() and not _looks_like_archive(path):
        # A dump given as the snapshot itself (`--snapshot snap/objects.yaml`): say what a snapshot is, not what
        # tarfile could not open.
        alone = (f"; give its directory: --snapshot {path.parent}" if path.name == "manifest.json" else
                 f"; to audit {path.name} alone, put it in a directory of its own and pass that directory"
                 if path.suffix in OBJECT_SUFFIXES else "")
        raise UsageError(f"snapshot {path} is neither a directory nor a .tar.gz archive{alone}")
    if path.is_file():
        tree = _ExtractedTree(Path(tempfile.mkdtemp(prefix="asm-audit-snapshot-")))
        tmp = tree.root
        try:
            _safe_extract(path, tmp)
            children = [c for c in tmp.iterdir()]
            # Tarballs often wrap everything in one top folder.
            root = children[0] if len(children) == 1 and children[0].is_dir() and not (
                tmp / "manifest.json").exists() else tmp
            sha = _sha256_file(path)
            return _open_root(path, root, sha, tree)
        except BaseException:
            tree.discard()  # nothing of a refused archive stays on disk
            raise
    if path.is_dir():
        sources = _open_root(path, path, "", None)
        sources.pending_sha256 = _hash_tree(path)
        # The bundled example (`asm-audit demo`, or its path given to run) is no evidence of a cluster: its age blocks
        # nothing. A copy of it (demo --export-snapshot) is judged like any snapshot.
        sources.example = path.resolve() == BUNDLED_DEMO.resolve()
        return sources
    raise UsageError(f"snapshot {path} is neither a directory nor a file")


BUNDLED_DEMO = Path(__file__).resolve().parent.parent / "demo" / "snapshot"  # api.demo_snapshot_path()


def _looks_like_archive(path: Path) -> bool:
    """A gzip stream or a tar archive (what _safe_extract opens); False for a file that can be neither."""
    try:
        with path.open("rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return True
        return tarfile.is_tarfile(path)
    except OSError:
        return True  # unreadable: _safe_extract says why


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_root(path: Path, root: Path, sha: str, tree: _ExtractedTree | None) -> SourceSet:
    """The clusters of a snapshot rooted at `root` (a directory, or where a .tar.gz was extracted)."""
    manifest_path = root / "manifest.json"
    manifest: dict[str, Any] = _read_json_object(manifest_path) if manifest_path.exists() else {}
    problem = _manifest_problem(manifest)
    if problem:
        raise UsageError(f"{manifest_path}: {problem}")

    entries: list[dict[str, Any]] = manifest.get("clusters") or []
    if not entries:
        subdirs = sorted(d for d in root.iterdir() if d.is_dir() and any(
            f.suffix in OBJECT_SUFFIXES and not is_appledouble(f) for f in d.rglob("*")))
        if subdirs:
            entries = [{"name": d.name, "role": "asm" if d.name == "asm" else "data-plane", "dir": d.name}
                       for d in subdirs]
        elif not any(f.suffix in OBJECT_SUFFIXES and f.name != "manifest.json" and not is_appledouble(f)
                     for f in root.iterdir()):
            # Nothing to read at all (a wrong or empty directory): bad input, not a cluster with nothing collected.
            raise UsageError(f"snapshot {path}: no .yaml, .yml or .json file in it; a snapshot is what `asm-audit "
                             "snapshot` writes or a directory of `kubectl get ... -o yaml` dumps (README, Snapshot "
                             "format)")
        else:
            entries = [{"name": "default", "role": "data-plane", "dir": "."}]

    data_planes: list[ClusterSource] = []
    asm: ClusterSource | None = None
    for entry in entries:
        directory = (root / entry.get("dir", entry["name"])).resolve()
        if not directory.is_dir() or root.resolve() not in (directory, *directory.parents):
            raise UsageError(f"snapshot cluster {entry['name']!r}: directory {entry.get('dir', entry['name'])!r} "
                             "missing or outside the snapshot")
        role = entry.get("role", "data-plane")
        if role not in ("data-plane", "asm"):
            raise UsageError(f"{manifest_path}: cluster {entry['name']!r} has unknown role {role!r}")
        source = SnapshotCluster(entry["name"], role, directory, entry, tree)
        if role == "asm":
            if asm is not None:
                raise UsageError(f"{manifest_path}: more than one cluster has role 'asm'")
            asm = source
        else:
            data_planes.append(source)
    if not data_planes:
        raise UsageError(f"snapshot {path} holds no data-plane cluster")
    names = [s.name for s in [*data_planes, *([asm] if asm else [])]]
    if len(set(names)) != len(names):
        raise UsageError(f"{manifest_path}: cluster names must be unique: {', '.join(names)}")
    openapi = dict(manifest.get("asm_openapi") or {})
    # Snapshots written before manifest "networks" carried the fleet file's networks inside asm_openapi.
    networks = manifest.get("networks") or openapi.pop("_config_networks", None) or {}
    return SourceSet(data_planes=data_planes, asm=asm, asm_openapi=openapi, networks=dict(networks),
                     recorded_prometheus=_recorded_prometheus(root, manifest), inputs_sha256=sha,
                     origin="snapshot", collected_at=manifest.get("collected_at"))


def _recorded_prometheus(root: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Recorded gateway traffic: a top-level prometheus.json (hand-made snapshots, the demo) wins over
    manifest["prometheus"] (what `asm-audit snapshot --prometheus` writes)."""
    path = root / "prometheus.json"
    return _read_json_object(path) if path.is_file() else manifest.get("prometheus")


def _read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object; anything else is a usage error naming the file."""
    try:
        doc = orjson.loads(read_snapshot_file(path))
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return doc


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """Why manifest.json cannot be used, or None. Checked up front so nothing downstream trips on its shape."""
    # What SnapshotWriter writes ("format", "format_version"); a hand-made manifest may leave both out. A newer
    # format may record what this reader does not know how to read (files it ignores, counts it does not check):
    # read as format 1, what it leaves unread would be judged as none, as the Prometheus record's version is refused.
    fmt, version = manifest.get("format"), manifest.get("format_version")
    if fmt is not None and fmt != SNAPSHOT_FORMAT:
        return f"'format' is {str(fmt)[:100]!r}, not {SNAPSHOT_FORMAT!r}: not an asm-audit snapshot manifest"
    if version is not None and version != SNAPSHOT_FORMAT_VERSION:
        newer = type(version) is int and version > SNAPSHOT_FORMAT_VERSION
        return (f"format_version {str(version)[:40]!r} is not one this asm-audit reads ({SNAPSHOT_FORMAT_VERSION})"
                + ("; it was written by a newer asm-audit: audit it with that version or newer" if newer else ""))
    entries = manifest.get("clusters")
    if entries is not None and (not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] for e in entries)):
        return "'clusters' must be a list of objects with a name"
    for entry in entries or ():
        name = entry["name"]
        for key in ("dir", "role", "cluster_id", "unreachable"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                return f"cluster {name!r}: {key!r} must be a string"
        kinds = entry.get("kinds")
        if kinds is not None and (not isinstance(kinds, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in kinds.items())):
            return f"cluster {name!r}: 'kinds' must map kind keys to status strings"
        counts = entry.get("objects")
        if counts is not None and (not isinstance(counts, dict) or not all(
                isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items())):
            return f"cluster {name!r}: 'objects' must map kind keys to counts of objects"
    for key in ("asm_openapi", "prometheus", "networks"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            return f"{key!r} must be a JSON object"
    openapi = manifest.get("asm_openapi") or {}
    # The bookkeeping `snapshot` writes beside the answers (auditor/sources/asm_openapi.py read_asm_openapi): the
    # failed reads (action -> one line) and where the answers were read; the engine's `_origins` (action -> file) if a
    # manifest carries it. A list or a line that is no string crashed every run reading an answer (exit 4).
    for key in ("_errors", "_origins", "_read_from"):
        value = openapi.get(key)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
            return f"'asm_openapi' {key!r} must map strings to strings"
    for action, answer in openapi.items():
        # An answer as the OpenAPI returns it, as a saved answer named in the config must be (load_openapi_answer): a
        # list there was read as no answer, and the clusters it listed as joined to the instance went unseen.
        if not str(action).startswith("_") and answer is not None and not isinstance(answer, dict):
            return f"'asm_openapi' answer {action!r} must be a JSON object"
        problem = openapi_answer_problem(str(action), answer) if isinstance(answer, dict) else None
        if problem:
            return f"'asm_openapi' answer {action!r}: {problem}"
    legacy = (manifest.get("asm_openapi") or {}).get("_config_networks")
    for networks in (manifest.get("networks"), legacy):
        if networks is not None and not (isinstance(networks, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in networks.items())):
            return "'networks' must map cluster names to network names"
    return None


# ---------------------------------------------------------------- writing
def _unless_aborted(method: Callable[..., Any]) -> Callable[..., Any]:
    """Writer methods run under the writer's lock and do nothing once it is aborted.

    Live clusters are read in threads: after Ctrl-C one of them may still be waiting for a page when the
    main thread aborts the writer; what it writes afterwards must neither fail nor recreate the temp dir.
    """
    @functools.wraps(method)
    def guarded(self: SnapshotWriter, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._aborted:
                return None
            return method(self, *args, **kwargs)
    return guarded


class SnapshotWriter:
    """Streams what the collector reads into a snapshot directory, then packs it as .tar.gz."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.root = Path(tempfile.mkdtemp(prefix="asm-audit-write-"))
        self.manifest: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT, "format_version": SNAPSHOT_FORMAT_VERSION, "tool_version": __version__,
            "collected_at": None, "clusters": [],
        }
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()  # cluster() is called from the other guarded methods
        self._aborted = False
        # (cluster, kind) -> (open part, objects in it, part number)
        self._open: dict[tuple[str, str], tuple[io.BufferedWriter, int, int]] = {}
        # (cluster, kind) whose objects could not be written, and why: recorded as the kind's status at end().
        self._unwritable: dict[tuple[str, str], str] = {}
        # (cluster, kind) -> objects written: the manifest's `objects`, checked when the snapshot is read.
        self._written: dict[tuple[str, str], int] = {}

    @_unless_aborted
    def cluster(self, source: ClusterSource) -> dict[str, Any]:
        entry = self._entries.get(source.name)
        if entry is None:
            entry = {"name": source.name, "role": source.role, "dir": source.name, "kinds": {}, "objects": {}}
            if source.cluster_id:
                entry["cluster_id"] = source.cluster_id
            self._entries[source.name] = entry
            self.manifest["clusters"].append(entry)
            (self.root / source.name).mkdir(parents=True, exist_ok=True)
        return entry

    @_unless_aborted
    def unreachable(self, source: ClusterSource, reason: str) -> None:
        """Record a cluster that did not answer, so an audit of the snapshot says so (never drops it)."""
        self.cluster(source)["unreachable"] = reason
        (self.root / source.name).mkdir(parents=True, exist_ok=True)

    @_unless_aborted
    def version(self, source: ClusterSource, info: dict[str, Any]) -> None:
        self.cluster(source)
        (self.root / source.name / "version.json").write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))

    def _part(self, source: ClusterSource, kind: Kind, part: int) -> Path:
        return self.root / source.name / (f"{kind.key}.json" if part == 0 else f"{kind.key}.part{part:04d}.json")

    def _open_part(self, source: ClusterSource, kind: Kind, part: int) -> None:
        fh = self._part(source, kind, part).open("wb")
        fh.write(b'{"apiVersion":"v1","kind":"List","items":[\n')
        self._open[(source.name, kind.key)] = (fh, 0, part)

    @_unless_aborted
    def begin(self, source: ClusterSource, kind: Kind) -> None:
        self.cluster(source)
        self._unwritable.pop((source.name, kind.key), None)
        self._written[(source.name, kind.key)] = 0
        self._open_part(source, kind, 0)

    def _drop(self, source: ClusterSource, kind: Kind) -> None:
        fh, _, last = self._open.pop((source.name, kind.key))
        fh.close()
        for part in range(last + 1):
            self._part(source, kind, part).unlink(missing_ok=True)

    @_unless_aborted
    def restart(self, source: ClusterSource, kind: Kind) -> None:
        self._drop(source, kind)
        self.begin(source, kind)

    @_unless_aborted
    def items(self, source: ClusterSource, kind: Kind, items: list[dict[str, Any]]) -> None:
        if (source.name, kind.key) in self._unwritable:
            return
        fh, count, part = self._open[(source.name, kind.key)]
        api_version = f"{kind.group}/{kind.versions[0]}" if kind.group else "v1"
        for item in items:
            if count >= WRITE_PART_ITEMS:
                # Long lists go into several files, so reading the snapshot back holds one part at a time.
                fh.write(b"\n]}\n")
                fh.close()
                self._open_part(source, kind, part + 1)
                fh, count, part = self._open[(source.name, kind.key)]
            if not item.get("kind"):
                item = {**item, "apiVersion": api_version, "kind": kind.kind}
            try:
                encoded = wire.dumps(item)
            except orjson.JSONEncodeError as exc:
                # E.g. an EnvoyFilter patch nested deeper than orjson writes (255 levels; it reads up to 1,024). The
                # audit of this run has the object; the snapshot records the kind as not written, so an audit of
                # the snapshot says UNKNOWN for it instead of judging the kind without this object.
                meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
                self._unwritable[(source.name, kind.key)] = (
                    f"{kind.kind} {meta.get('namespace') or ''}/{meta.get('name') or '?'} could not be written to "
                    f"the snapshot ({exc})")
                return
            if count:
                fh.write(b",\n")
            fh.write(encoded)
            count += 1
            self._written[(source.name, kind.key)] += 1
        self._open[(source.name, kind.key)] = (fh, count, part)

    @_unless_aborted
    def end(self, source: ClusterSource, kind: Kind, status: str) -> None:
        handle = self._open.get((source.name, kind.key))
        if status == STATUS_OK and (source.name, kind.key) in self._unwritable:
            status = self._unwritable.pop((source.name, kind.key))
        if handle:
            if status != STATUS_OK:
                self._drop(source, kind)
            else:
                self._open.pop((source.name, kind.key))
                handle[0].write(b"\n]}\n")
                handle[0].close()
        entry = self.cluster(source)
        entry["kinds"][kind.key] = status
        written = self._written.pop((source.name, kind.key), None)
        if status == STATUS_OK and handle and written is not None:
            entry.setdefault("objects", {})[kind.key] = written
        else:
            entry.get("objects", {}).pop(kind.key, None)

    @_unless_aborted
    def extra(self, key: str, value: Any) -> None:
        self.manifest[key] = value

    @_unless_aborted
    def finish(self, collected_at: str) -> Path:
        self.manifest["collected_at"] = collected_at
        (self.root / "manifest.json").write_bytes(orjson.dumps(self.manifest, option=orjson.OPT_INDENT_2))
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = self.out.with_name(self.out.name + ".partial")
        with tarfile.open(tmp_out, "w:gz") as tar:
            for path in sorted(self.root.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(self.root)), recursive=False)
        os.replace(tmp_out, self.out)  # atomic: a failed run never leaves a half-written snapshot
        shutil.rmtree(self.root, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            for fh, _, _ in self._open.values():
                fh.close()
            self._open.clear()
            shutil.rmtree(self.root, ignore_errors=True)
