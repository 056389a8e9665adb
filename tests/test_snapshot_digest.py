"""The snapshot directory's inputs_sha256: what it is a digest of, and how the background thread reads it (issue 18).

The digest is SHA-256 over every file of the tree in sorted order, each as its relative path then its bytes. It is
computed in a thread beside the collector, which holds the GIL while it summarises pods; each time the hash thread
wants the GIL back it may wait a switch interval, so it reads few large pieces: at 50k pods it read 581 pieces of
1 MiB and the audit waited ~0.15 s for it at the end; in 16 MiB pieces it is done before the checks are.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

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


def test_a_big_file_is_hashed_in_few_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = _tree(tmp_path / "snap")
    reads: list[str] = []
    real_open = Path.open

    class Counting(io.RawIOBase):
        def __init__(self, inner: Any, name: str) -> None:
            self.inner, self.name_ = inner, name

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
    snapshot._sha256_tree(root)
    # 40 MiB: 3 pieces of 16 MiB and the read that finds the end (41 reads of 1 MiB before).
    assert reads.count("pods-0000.json") <= 4
