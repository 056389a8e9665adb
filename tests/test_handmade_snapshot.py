"""Hand-made snapshots (kubectl dumps): an empty List names no kind, so its kind stays "not collected"
unless the cluster's manifest.json entry says `"complete": true` (README, Snapshot format)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from auditor.cli.main import main
from tests import factory as f

# What `kubectl get virtualservices.networking.istio.io -A -o yaml` prints when there are none.
EMPTY_KUBECTL_LIST = 'apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ""\n'


def handmade(root: Path, manifest: dict | None) -> Path:
    cluster = root / "cluster-a"
    cluster.mkdir(parents=True)
    (cluster / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        f.pod("cart-1", proxy="asm"), f.istiod(), f.mesh_configmap()]}))
    (cluster / "virtualservices.yaml").write_text(EMPTY_KUBECTL_LIST)
    asm = root / "asm"
    asm.mkdir()
    (asm / "migration.yaml").write_text(yaml.safe_dump(f.migration_cr("Migrating")))
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps(manifest))
    return root


# ASM's mesh config (mesh-config-parity): its trust domain is in no snapshot, so the config says it.
ASM_MESH_CONFIG = "asm:\n  mesh_config: {trustDomain: cluster.local, outboundTrafficPolicy: {mode: ALLOW_ANY}}\n"


def import_rows(root: Path, tmp_path: Path, name: str) -> tuple[int, list[dict]]:
    out = tmp_path / name
    config = tmp_path / f"{name}.yaml"
    config.write_text(ASM_MESH_CONFIG)
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out", str(out),
                 "--config", str(config)])
    doc = json.loads((out / "findings.json").read_text())
    return code, [r for r in doc["findings"] if r["check_id"] == "istio-config-imported"]


def test_empty_kubectl_list_is_not_collected_without_complete(tmp_path, capsys):
    code, rows = import_rows(handmade(tmp_path / "plain", None), tmp_path, "plain-out")
    vs = [r for r in rows if r["kind"] == "VirtualService"]
    assert [r["status"] for r in vs] == ["UNKNOWN"]
    assert "the snapshot holds no VirtualService objects for this cluster (not collected)" in vs[0]["message"]
    assert code == 3


def test_complete_true_makes_absent_kinds_empty(tmp_path, capsys):
    manifest = {"clusters": [{"name": "cluster-a", "role": "data-plane", "complete": True},
                             {"name": "asm", "role": "asm", "complete": True}]}
    code, rows = import_rows(handmade(tmp_path / "complete", manifest), tmp_path, "complete-out")
    assert [(r["status"], r["message"]) for r in rows] == [
        ("PASS", "no Istio API object to import in this cluster")]
    assert code == 0  # every pod on ASM's proxy, Istio config all imported: GO at the uninstall gate
