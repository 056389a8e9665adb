"""Snapshots: read a directory or .tar.gz of Kubernetes objects; write one from a live collection.

Format (product.md): one sub-directory per cluster, `asm/` for the control plane, any *.yaml, *.yml
or *.json files holding single objects, multi-document YAML or `List`s exactly as
`kubectl get ... -A -o yaml` writes them; optional version.json and manifest.json. A directory with no
cluster sub-directories is one data-plane cluster named `default`.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import yaml

from auditor import __version__
from auditor.errors import KindNotServed, SourceError, UsageError
from auditor.kinds import Kind, kind_of
from auditor.sources.base import ClusterSource, ListRestarted, SourceSet

OBJECT_SUFFIXES = (".yaml", ".yml", ".json")
SPECIAL_FILES = {"version.json", "manifest.json"}
MAX_TAR_BYTES = int(os.environ.get("ASM_AUDIT_MAX_SNAPSHOT_BYTES", str(8 * 1024**3)))
MAX_TAR_MEMBERS = int(os.environ.get("ASM_AUDIT_MAX_SNAPSHOT_MEMBERS", "100000"))
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STATUS_OK = "ok"
STATUS_NOT_SERVED = "not-served"


# ---------------------------------------------------------------- reading files
def _objects_in(doc: Any, path: Path) -> Iterator[dict[str, Any]]:
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a Kubernetes object or List, found {type(doc).__name__}")
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind:
        raise UsageError(f"{path}: an object has no 'kind'")
    if kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[:-4] if kind != "List" else None
        for item in doc["items"]:
            if not isinstance(item, dict):
                raise UsageError(f"{path}: a List item is not an object")
            if item_kind and "kind" not in item:  # typed lists (PodList) omit kind on items
                item = {"apiVersion": doc.get("apiVersion"), "kind": item_kind, **item}
            yield from _objects_in(item, path)
        return
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise UsageError(f"{path}: {kind} object without metadata.name")
    yield doc


def read_object_file(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of one file; malformed content is a UsageError naming the file (and line for YAML)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if path.suffix == ".json":
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{path}: malformed JSON: {exc}") from exc
        yield from _objects_in(doc, path)
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        for doc in yaml.load_all(text, Loader=_YAML_LOADER):
            yield from _objects_in(doc, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{path}:{where}: malformed YAML: {problem}") from exc


class SnapshotCluster(ClusterSource):
    def __init__(self, name: str, role: str, directory: Path, entry: dict[str, Any]) -> None:
        self.name = name
        self.role = role
        self.directory = directory
        self.cluster_id = entry.get("cluster_id")
        self.complete = bool(entry.get("complete"))
        self.kind_status: dict[str, str] = dict(entry.get("kinds") or {})
        self._buckets: dict[str, list[dict[str, Any]]] | None = None

    def describe(self) -> str:
        return f"{self.name} (snapshot {self.directory})"

    def version(self) -> dict[str, Any]:
        path = self.directory / "version.json"
        if not path.exists():
            raise SourceError("the snapshot has no version.json for this cluster")
        try:
            info = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise UsageError(f"{path}: malformed JSON: {exc}") from exc
        if not isinstance(info, dict):
            raise UsageError(f"{path}: expected the /version object")
        return info

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if self._buckets is None:
            buckets: dict[str, list[dict[str, Any]]] = {}
            for path in sorted(self.directory.rglob("*")):
                if path.suffix not in OBJECT_SUFFIXES or path.name in SPECIAL_FILES or not path.is_file():
                    continue
                for obj in read_object_file(path):
                    kind = kind_of(obj)
                    if kind is not None:  # unknown kinds are ignored by contract
                        buckets.setdefault(kind.key, []).append(obj)
            self._buckets = buckets
        return self._buckets

    def pages(self, kind: Kind) -> Iterator[list[dict[str, Any]] | ListRestarted]:
        status = self.kind_status.get(kind.key)
        if status == STATUS_NOT_SERVED:
            raise KindNotServed(f"{kind.kind} was not served by the cluster when the snapshot was taken")
        if status is not None and status != STATUS_OK:
            raise SourceError(f"{status} (recorded in the snapshot)")
        objects = self._load().pop(kind.key, None)
        if objects is None and status is None and not self.complete:
            raise SourceError(f"the snapshot holds no {kind.kind} objects for this cluster (not collected)")
        yield objects or []


def _safe_extract(archive: Path, target: Path) -> None:
    """Extract a snapshot tarball refusing anything that could escape or exhaust the temp dir."""
    total = 0
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = []
            for count, member in enumerate(tar, start=1):
                if count > MAX_TAR_MEMBERS:
                    raise UsageError(f"{archive}: more than {MAX_TAR_MEMBERS} members; refusing")
                name = member.name
                if name.startswith(("/", "\\")) or ".." in Path(name).parts or ":" in name.split("/")[0]:
                    raise UsageError(f"{archive}: unsafe member path {name!r}; refusing")
                if not (member.isfile() or member.isdir()):
                    raise UsageError(f"{archive}: member {name!r} is a link or device; refusing")
                total += member.size
                if total > MAX_TAR_BYTES:
                    raise UsageError(f"{archive}: expands to more than {MAX_TAR_BYTES} bytes; refusing")
                members.append(member)
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise UsageError(f"{archive}: not a readable .tar.gz snapshot: {exc}") from exc


def _sha256_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def open_snapshot(path: str | Path) -> SourceSet:
    """A SourceSet over a snapshot directory or .tar.gz."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"snapshot {path} does not exist")
    if path.is_file():
        tmp = Path(tempfile.mkdtemp(prefix="asm-audit-snapshot-"))
        _safe_extract(path, tmp)
        children = [c for c in tmp.iterdir()]
        # Tarballs often wrap everything in one top folder.
        root = children[0] if len(children) == 1 and children[0].is_dir() and not (
            tmp / "manifest.json").exists() else tmp
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
    elif path.is_dir():
        root, sha = path, _sha256_tree(path)
    else:
        raise UsageError(f"snapshot {path} is neither a directory nor a file")

    manifest: dict[str, Any] = {}
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        try:
            manifest = orjson.loads(manifest_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"{manifest_path}: malformed JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            raise UsageError(f"{manifest_path}: expected a JSON object")

    entries: list[dict[str, Any]] = manifest.get("clusters") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("name") for e in entries):
        raise UsageError(f"{manifest_path}: 'clusters' must be a list of objects with a name")
    if not entries:
        subdirs = sorted(d for d in root.iterdir() if d.is_dir() and any(
            f.suffix in OBJECT_SUFFIXES for f in d.rglob("*")))
        if subdirs:
            entries = [{"name": d.name, "role": "asm" if d.name == "asm" else "data-plane", "dir": d.name}
                       for d in subdirs]
        else:
            entries = [{"name": "default", "role": "data-plane", "dir": "."}]

    data_planes: list[ClusterSource] = []
    asm: ClusterSource | None = None
    for entry in entries:
        directory = (root / entry.get("dir", entry["name"])).resolve()
        if not directory.is_dir() or root.resolve() not in (directory, *directory.parents):
            raise UsageError(f"snapshot cluster {entry['name']!r}: directory {directory} missing")
        role = entry.get("role", "data-plane")
        if role not in ("data-plane", "asm"):
            raise UsageError(f"{manifest_path}: cluster {entry['name']!r} has unknown role {role!r}")
        source = SnapshotCluster(entry["name"], role, directory, entry)
        if role == "asm":
            asm = source
        else:
            data_planes.append(source)
    if not data_planes:
        raise UsageError(f"snapshot {path} holds no data-plane cluster")
    return SourceSet(data_planes=data_planes, asm=asm, asm_openapi=manifest.get("asm_openapi") or {},
                     recorded_prometheus=manifest.get("prometheus"), inputs_sha256=sha, origin="snapshot")


# ---------------------------------------------------------------- writing
class SnapshotWriter:
    """Streams what the collector reads into a snapshot directory, then packs it as .tar.gz."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.root = Path(tempfile.mkdtemp(prefix="asm-audit-write-"))
        self.manifest: dict[str, Any] = {
            "format": "asm-audit-snapshot", "format_version": 1, "tool_version": __version__,
            "collected_at": None, "clusters": [],
        }
        self._entries: dict[str, dict[str, Any]] = {}
        self._open: dict[tuple[str, str], tuple[io.BufferedWriter, bool]] = {}

    def cluster(self, source: ClusterSource) -> dict[str, Any]:
        entry = self._entries.get(source.name)
        if entry is None:
            entry = {"name": source.name, "role": source.role, "dir": source.name, "kinds": {}}
            if source.cluster_id:
                entry["cluster_id"] = source.cluster_id
            self._entries[source.name] = entry
            self.manifest["clusters"].append(entry)
            (self.root / source.name).mkdir(parents=True, exist_ok=True)
        return entry

    def version(self, source: ClusterSource, info: dict[str, Any]) -> None:
        self.cluster(source)
        (self.root / source.name / "version.json").write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))

    def begin(self, source: ClusterSource, kind: Kind) -> None:
        self.cluster(source)
        path = self.root / source.name / f"{kind.key}.json"
        fh = path.open("wb")
        fh.write(b'{"apiVersion":"v1","kind":"List","items":[\n')
        self._open[(source.name, kind.key)] = (fh, True)

    def restart(self, source: ClusterSource, kind: Kind) -> None:
        fh, _ = self._open.pop((source.name, kind.key))
        fh.close()
        self.begin(source, kind)

    def items(self, source: ClusterSource, kind: Kind, items: list[dict[str, Any]]) -> None:
        fh, first = self._open[(source.name, kind.key)]
        api_version = f"{kind.group}/{kind.versions[0]}" if kind.group else "v1"
        for item in items:
            if not item.get("kind"):
                item = {**item, "apiVersion": api_version, "kind": kind.kind}
            if not first:
                fh.write(b",\n")
            fh.write(orjson.dumps(item))
            first = False
        self._open[(source.name, kind.key)] = (fh, first)

    def end(self, source: ClusterSource, kind: Kind, status: str) -> None:
        handle = self._open.pop((source.name, kind.key), None)
        if handle:
            handle[0].write(b"\n]}\n")
            handle[0].close()
            if status != STATUS_OK:
                (self.root / source.name / f"{kind.key}.json").unlink(missing_ok=True)
        self.cluster(source)["kinds"][kind.key] = status

    def extra(self, key: str, value: Any) -> None:
        self.manifest[key] = value

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
        for fh, _ in self._open.values():
            fh.close()
        shutil.rmtree(self.root, ignore_errors=True)
