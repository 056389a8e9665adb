"""The snapshot directory's inputs_sha256: what it is a digest of, and how the background thread reads it (issue 18).

The digest is SHA-256 over every file of the tree in sorted order, each as its relative path then its bytes. It is
computed in a thread beside the collector, which holds the GIL while it summarises pods; each time the hash thread
wants the GIL back it may wait a switch interval, so it takes the GIL back rarely: at 50k pods it read 581 pieces of
1 MiB and the audit waited ~0.15 s for it at the end; in 16 MiB pieces it was done before the checks were, but the
16 MiB buffer was zeroed with the GIL held as the thread started (~8 ms) and every piece was copied. Now a big file is
hashed from its mapping, as the collector reads it: no buffer, no copy, one call per file.
"""
from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.sources import snapshot


def _tree(root: Path) -> Path:
    (root / "cluster-a").mkdir(parents=True)
    (root / "manifest.json").write_bytes(b'{"version": 1}')
    (root / "cluster-a" / "pods-0000.json").write_bytes(bytes(range(256)) * (40 * 4096 + 7))  # 40 MiB and a bit
    (root / "cluster-a" / "empty.json").write_bytes(b"")
    return root


def test_the_digest_is_of_each_file_s_path_then_bytes_in_sorted_order(tmp_path: Path):
    root = _tree(tmp_path / "snap")
    expected = hashlib.sha256()
    for rel in ("cluster-a/empty.json", "cluster-a/pods-0000.json", "manifest.json"):  # sorted by path
        expected.update(rel.encode())
        expected.update((root / rel).read_bytes())
    assert snapshot._sha256_tree(root) == expected.hexdigest()


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    real_open = Path.open

    class Counting(io.RawIOBase):
        def __init__(self, inner: Any, name: str) -> None:
            self.inner, self.name_ = inner, name

        def fileno(self) -> int:
            return self.inner.fileno()

        def readinto(self, buffer: Any) -> int:
            reads.append(self.name_)
            return self.inner.readinto(buffer)

        def read(self, size: int = -1) -> bytes:
            reads.append(self.name_)
            return self.inner.read(size)

        def close(self) -> None:
            self.inner.close()
            super().close()

    def counting_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        inner = real_open(path, mode, *args, **kwargs)
        return Counting(inner, path.name) if "b" in mode else inner

    monkeypatch.setattr(Path, "open", counting_open)
    return reads


def test_a_big_file_is_hashed_from_its_mapping_without_a_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = _tree(tmp_path / "snap")
    reads = _count_reads(monkeypatch)
    snapshot._sha256_tree(root)
    # 40 MiB: mapped, never read into a buffer (the code before read it in 3 pieces of 16 MiB and one more read;
    # before that in 41 pieces of 1 MiB). The small manifest is read.
    assert reads.count("pods-0000.json") == 0
    assert reads.count("manifest.json") >= 1


def test_a_big_file_that_cannot_be_mapped_is_read_in_pieces_with_the_same_digest(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    root = _tree(tmp_path / "snap")
    expected = _digest_of(root)
    monkeypatch.setattr(snapshot, "_mapped", lambda fh: None)  # a file system that cannot map
    reads = _count_reads(monkeypatch)
    assert snapshot._sha256_tree(root) == expected
    assert reads.count("pods-0000.json") == 42  # 40 pieces of 1 MiB, the last 1,792 bytes, the read that finds the end


# -- where the digest is computed: a thread for a big tree, at once for a small one
def _count_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    started: list[str] = []
    real = snapshot._in_background

    def counting(work: Any, name: str) -> Any:
        started.append(name)
        return real(work, name)

    monkeypatch.setattr(snapshot, "_in_background", counting)
    return started


def _digest_of(root: Path) -> str:
    expected = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        expected.update(str(path.relative_to(root)).encode())
        expected.update(path.read_bytes())
    return expected.hexdigest()


def test_a_small_snapshot_is_hashed_at_once_without_a_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The bundled demo (2 MB): starting a thread cost the run more (~8 ms, its start waits for the GIL) than the
    hash itself (~2 ms)."""
    started = _count_threads(monkeypatch)
    sources = snapshot.open_snapshot(api.demo_snapshot_path())
    try:
        assert started == [] and sources.pending_sha256 is not None and sources.pending_sha256.done()
        assert sources.digest() == _digest_of(api.demo_snapshot_path())
    finally:
        sources.close()


def test_a_big_snapshot_is_hashed_in_a_thread_with_the_same_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "big"
    shutil.copytree(api.demo_snapshot_path(), root)
    (root / "padding.bin").write_bytes(bytes(range(256)) * (20 * 4096))  # 20 MiB: past the inline bound
    started = _count_threads(monkeypatch)
    sources = snapshot.open_snapshot(root)
    try:
        assert started == ["snapshot-sha256"]
        assert sources.digest() == _digest_of(root)
    finally:
        sources.close()


def test_a_small_snapshot_s_unreadable_file_fails_where_the_digest_is_asked(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "small"
    shutil.copytree(api.demo_snapshot_path(), root)
    (root / "unreadable.bin").write_bytes(b"x")
    real_open = Path.open

    def refusing(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if path.name == "unreadable.bin":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)
    sources = snapshot.open_snapshot(root)  # opening does not fail: the digest is asked at the end, as before
    try:
        with pytest.raises(PermissionError):
            sources.digest()
    finally:
        sources.close()
