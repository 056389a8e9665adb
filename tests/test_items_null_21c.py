"""A List whose `items` is null is an empty list, as Kubernetes reads it (red21c).

Go's encoding/json writes a nil slice as `null`, and apimachinery's typed lists declare `Items []T json:"items"` with no
omitempty (k8s.io/api core/v1 types.go PodList, k8s.io/apimachinery pkg/apis/meta/v1 List): a dump made by a Go program
(or a proxy) holding no objects writes `"items": null`, and a hand-edited YAML's bare `items:` reads as null. The
kube-apiserver and kubectl write `[]`, and client-go decodes `null` into an empty slice; the live source here already
took it as none (auditor/sources/live.py list_items). Main's snapshot reader took such a List for an object and refused
it ("List object without metadata.name", exit 2). Now it is what `[]` is: no objects, proving nothing is absent beyond
what an empty list proves (a kind named by no object stays not collected unless the manifest says complete).
An `items` of another type is still bad input, named as such in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.cli.main import main
from tests import factory as f
from tests.test_bad_input import assert_usage_error, run_cli

NULL_LISTS = {
    "pods.json": '{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"8121"},"items":null}\n',
    "services.json": '{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":null}\n',
    "webhooks.yaml": "apiVersion: v1\nkind: List\nitems:\nmetadata:\n  resourceVersion: \"\"\n",
}


def _snapshot(root: Path, empty: str) -> Path:
    """One cluster with istiod and a namespace (written by the factory), plus three lists of nothing written `empty`
    way: "null" as above, "[]" as kubectl writes them."""
    f.write_snapshot(root, {"c1": [f.istiod(), f.namespace("shop", {"istio-injection": "enabled"})]})
    for name, text in NULL_LISTS.items():
        if empty == "[]":
            text = text.replace('"items":null', '"items":[]').replace("items:\n", "items: []\n")
        (root / "c1" / name).write_text(text)
    return root


def _findings(out: Path) -> list[tuple[str, str, str, str]]:
    doc = json.loads((out / "findings.json").read_text())
    return sorted((x["check_id"], x["status"], x["code"], x["name"]) for x in doc["findings"])


@pytest.mark.parametrize("phase", ["assessment", "migrating"])
def test_items_null_reads_as_an_empty_list(tmp_path, capsys, phase):
    null, empty = _snapshot(tmp_path / "null", "null"), _snapshot(tmp_path / "empty", "[]")
    codes = []
    for snap in (null, empty):
        out = snap.parent / f"{snap.name}-out"
        codes.append(main(["run", "--snapshot", str(snap), "--phase", phase, "--out", str(out), "--format", "json",
                           "--quiet"]))
        assert "error" not in capsys.readouterr().err  # main: "...pods.json: PodList object without metadata.name"
    assert codes[0] == codes[1] != 2
    assert _findings(tmp_path / "null-out") == _findings(tmp_path / "empty-out")


@pytest.mark.parametrize("items", ["5", '"none"', '{"metadata": {"name": "a"}}', "true"])
def test_items_of_another_type_is_bad_input_saying_so(tmp_path, capsys, items):
    f.write_snapshot(tmp_path / "s", {"c1": [f.istiod()]})
    (tmp_path / "s" / "c1" / "pods.json").write_text(f'{{"apiVersion":"v1","kind":"PodList","items":{items}}}')
    code, err = run_cli(capsys, "run", "--snapshot", str(tmp_path / "s"), "--out", str(tmp_path / "o"), "--quiet")
    assert_usage_error(code, err, "pods.json", "items", "not a list")
