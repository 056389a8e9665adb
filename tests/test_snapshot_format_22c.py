"""A snapshot manifest of another format or a newer format_version is refused, not read as format 1 (red22c).

SnapshotWriter writes `"format": "asm-audit-snapshot", "format_version": 1` (auditor/sources/snapshot.py); a
hand-made manifest may leave both out (product.md, Snapshot format). The recorded Prometheus answers already refuse
another format_version (auditor/sources/prometheus.py); the manifest did not: a snapshot written by a newer asm-audit
(files or counts this one does not know how to read) was audited as format 1, and the hand-made uninstall GO below
said GO (exit 0) whatever the version claimed. Now bad input naming the manifest (exit 2).

The snapshot is tests/test_hostile_pages_20.py's hand-made GO at the uninstall gate (pods from tests/factory.py,
istio/istio@1.24.6 injection shapes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli.main import main
from tests import factory as f
from tests.test_hostile_pages_20 import ASM_CONFIG, handmade

ON_ASM = {"pods.json": {"apiVersion": "v1", "kind": "List", "items": [f.pod("cart-1", proxy="asm")]}}


def run(tmp_path: Path, extra: dict) -> int:
    root = handmade(tmp_path / "snap", ON_ASM)
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **extra}))
    config = tmp_path / "asm.yaml"
    config.write_text(ASM_CONFIG)
    return main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out",
                 str(tmp_path / "out"), "--config", str(config), "-q"])


@pytest.mark.parametrize("extra", [{}, {"format": "asm-audit-snapshot", "format_version": 1}],
                         ids=["hand-made", "format-1"])
def test_a_manifest_of_this_format_is_read(tmp_path, extra):
    assert run(tmp_path, extra) == 0


@pytest.mark.parametrize("extra", [
    {"format": "asm-audit-snapshot", "format_version": 2},
    {"format_version": 2},
    {"format": "asm-audit-snapshot", "format_version": "1"},
    {"format": "velero-backup", "format_version": 1},
], ids=["newer", "newer-without-format", "version-as-text", "another-format"])
def test_a_manifest_of_another_format_or_version_is_refused(tmp_path, capsys, extra):
    """Was GO (exit 0): read as format 1."""
    assert run(tmp_path, extra) == 2
    assert "manifest.json" in capsys.readouterr().err
