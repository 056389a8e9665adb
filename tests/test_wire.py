"""auditor.wire: objects decoded by msgspec exactly as orjson decodes them (errors included), and written whatever
whole numbers a hand-made snapshot holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import wire
from auditor.api import demo_snapshot_path
from auditor.cli.main import main
from tests import factory as f
from tests.test_handmade_snapshot import ASM_MESH_CONFIG


def same(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True in Python)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)  # type: ignore[arg-type]
    return a == b


def test_the_demo_snapshot_decodes_as_orjson_decodes_it():
    """Every object file of the bundled demo (real-shaped pods, Deployments, Istio config, ConfigMaps...)."""
    files = sorted(Path(demo_snapshot_path()).rglob("*.json"))
    assert len(files) > 20
    for path in files:
        raw = path.read_bytes()
        assert same(wire.loads(raw), orjson.loads(raw)), path


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=wire.INT_MIN, max_value=wire.INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.booleans())
def test_any_json_within_64_bits_decodes_as_orjson_decodes_it(value, indent):
    raw = json.dumps(value, indent=2 if indent else None, ensure_ascii=False).encode()
    assert same(wire.loads(raw), orjson.loads(raw))


MALFORMED = [b"", b"{", b'{"a": NaN}', b'{"a": 1} x', b"\xef\xbb\xbf{}", b'{"a": "\xff"}', b'{"a": "\\ud800"}',
             b'{"a": 1e400}', b'{"a": "x\x01y"}', b"[" * 2000 + b"]" * 2000, b'{"a": 01}', b"{'a': 1}"]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_is_refused_with_orjsons_error(raw):
    with pytest.raises(orjson.JSONDecodeError) as expected:
        orjson.loads(raw)
    with pytest.raises(orjson.JSONDecodeError) as got:
        wire.loads(raw)
    assert str(got.value) == str(expected.value)


def test_a_number_beyond_64_bits_is_exact_and_written_as_orjson_reads_it():
    raw = b'{"weight": 123456789012345678901234567890, "n": [-9223372036854775809, 1, true]}'
    decoded = wire.loads(raw)
    # Beyond any float: orjson refuses it ("number is infinity when parsed as double"), msgspec and PyYAML read it.
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b'{"huge": ' + b"9" * 400 + b"}")
    assert wire.loads(b'{"huge": ' + b"9" * 400 + b"}") == {"huge": int("9" * 400)}
    decoded["huge"] = int("9" * 400)
    assert decoded["weight"] == 123456789012345678901234567890 and decoded["n"][0] == -(2**63) - 1
    written = orjson.loads(wire.dumps(decoded))
    assert written["weight"] == orjson.loads(raw)["weight"] == 1.2345678901234568e29
    assert written["n"] == [-9.223372036854776e18, 1, True]
    assert written["huge"] == "9" * 400  # beyond any float: its digits
    assert wire.dumps({"a": 1}) == orjson.dumps({"a": 1})


def test_a_yaml_snapshot_with_a_number_beyond_64_bits_gets_its_findings(tmp_path):
    """PyYAML reads a whole number exactly: a VirtualService whose route weight is 2**97-ish (a hand-made snapshot;
    an API server never sends one) differs from ASM's copy, and the diff's evidence holds the number. Writing
    findings.json failed on it ("internal error: TypeError: Integer exceeds 64-bit range", exit 4, no findings
    written); now the audit ends with its verdict and every report."""
    root = tmp_path / "snap"
    (root / "cluster-a").mkdir(parents=True)
    (root / "asm").mkdir()
    vs = {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
          "metadata": f.meta("reviews", "shop"),
          "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"},
                                                               "weight": 123456789012345678901234567890}]}]}}
    twin = json.loads(json.dumps(vs))
    twin["spec"]["http"][0]["route"][0]["weight"] = 100
    (root / "cluster-a" / "objects.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        f.pod("cart-1", proxy="asm"), vs]}))
    (root / "asm" / "objects.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
        f.migration_cr("Migrating"), twin]}))
    manifest = {"clusters": [{"name": "cluster-a", "role": "data-plane", "complete": True},
                             {"name": "asm", "role": "asm", "complete": True}]}
    (root / "manifest.json").write_text(json.dumps(manifest))
    config = tmp_path / "config.yaml"
    config.write_text(ASM_MESH_CONFIG)
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json,csv", "--out", str(out),
                 "--config", str(config)])
    assert code == 1  # NO-GO: the VirtualService differs on ASM
    doc = json.loads((out / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "istio-config-imported"]
    assert (row["status"], row["code"]) == ("FAIL", "AA2112")
    assert (out / "findings.csv").exists()


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_a_whole_number_field_beyond_64_bits_is_refused_in_json_and_yaml_alike(tmp_path, suffix, capsys):
    """spec.replicas, a field the shape rules read as a whole number: orjson made 2**70 a float, refused (exit 2);
    msgspec and PyYAML read it exactly, which the rules refuse too. Before, a YAML snapshot's was accepted."""
    dep, rs = f.deployment("cart")
    dep["spec"]["replicas"] = 2**70
    root = tmp_path / "snap"
    (root / "cluster-a").mkdir(parents=True)
    items = {"apiVersion": "v1", "kind": "List", "items": [dep, rs]}
    text = json.dumps(items) if suffix == "json" else yaml.safe_dump(items)
    (root / "cluster-a" / f"workloads.{suffix}").write_text(text)
    code = main(["run", "--snapshot", str(root), "--phase", "assessment", "--format", "json",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "spec.replicas must be a whole number" in capsys.readouterr().err
