"""Evidence that is quietly partial: one page of a paged List read as the whole list (red20g).

k8s.io/apimachinery pkg/apis/meta/v1/types.go (kubernetes/apimachinery@048d783) ListMeta: `continue` "may be set if
the user set a limit on the number of items returned, and indicates that the server has more data available";
`remainingItemCount` is "the number of subsequent items in the list which are not included in this list response",
"left unset and omitted" when the list is complete. ListOptions.Limit: "clients should only use the presence of the
continue field to determine whether more results are available". A complete `kubectl get -A -o json|yaml` never
carries either (both omitempty).

Snapshots: a file saved from `kubectl get --raw '/api/v1/pods?limit=500'` (a PodList whose items omit kind and
apiVersion, ListMeta first) or from a client's single page was read as every pod of the cluster: the pods not on
that page vanished, and the uninstall gate said GO with workloads still on Istio's sidecar (exit 0). Now the kinds
such a file holds (or names by its own kind) are unread: UNKNOWN (AA0001) naming the file, in every decode path
(podwire's pod Structs, its reduced and owned-item Lists, orjson, YAML).

Live: a page that counts remaining items (remainingItemCount > 0) yet gives no continue token ended the walk as if
complete; now the kind is unread, naming the answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import api
from auditor import kinds as K
from auditor.cli.main import main
from auditor.errors import SourceError
from auditor.sources.snapshot import SnapshotCluster
from tests import factory as f
from tests import test_faults
from tests.test_faults import focus_config, rows
from tests.test_readonly import NOW

served = test_faults.served  # fixture

# A continue token as kube-apiserver encodes it (base64 of {"v":"meta.k8s.io/v1","rv":...,"start":...}).
TOKEN = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6ODEyMzQsInN0YXJ0Ijoic2hvcC9jYXJ0LTFcdTAwMDAifQ"
PAGE = {"resourceVersion": "81234", "continue": TOKEN, "remainingItemCount": 1}
ASM_CONFIG = "asm:\n  mesh_config: {trustDomain: cluster.local, outboundTrafficPolicy: {mode: ALLOW_ANY}}\n"
COMPLETE = {"clusters": [{"name": "cluster-a", "role": "data-plane", "complete": True},
                         {"name": "asm", "role": "asm", "complete": True}]}


def raw_page(kind: str, api_version: str, items: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """A typed List as kube-apiserver answers a `limit`ed list: ListMeta first, items without kind/apiVersion."""
    bare = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {"kind": kind, "apiVersion": api_version, "metadata": meta, "items": bare}


def kubectl_list(items: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """`kubectl get -o json`'s List (keys sorted, items whole) with the given ListMeta."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": meta}


def handmade(root: Path, pod_files: dict[str, dict[str, Any]]) -> Path:
    """tests/test_handmade_snapshot.py's GO at the uninstall gate (every pod on ASM's proxy, complete manifest), its
    pods from `pod_files`."""
    cluster = root / "cluster-a"
    cluster.mkdir(parents=True)
    for name, doc in pod_files.items():
        text = yaml.safe_dump(doc) if name.endswith(".yaml") else json.dumps(doc)
        (cluster / name).write_text(text)
    (cluster / "istio.yaml").write_text(yaml.safe_dump_all([f.istiod(), f.mesh_configmap()]))
    (cluster / "virtualservices.yaml").write_text('apiVersion: v1\nitems: []\nkind: List\nmetadata:\n'
                                                  '  resourceVersion: ""\n')
    asm = root / "asm"
    asm.mkdir()
    (asm / "migration.yaml").write_text(yaml.safe_dump(f.migration_cr("Migrating")))
    (root / "manifest.json").write_text(json.dumps(COMPLETE))
    return root


def uninstall(root: Path, tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    out = tmp_path / "out"
    config = tmp_path / "asm.yaml"
    config.write_text(ASM_CONFIG)
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out", str(out),
                 "--config", str(config), "-q"])
    return code, json.loads((out / "findings.json").read_text())["findings"]


ON_ASM = [f.pod("cart-1", proxy="asm")]

PARTIAL_FILES = {
    # `kubectl get --raw '/api/v1/pods?limit=500'`: podwire's reduced List (items without kind).
    "raw-page-json": {"pods.json": raw_page("PodList", "v1", ON_ASM, PAGE)},
    # Items that say `v1 Pod`, ListMeta after them: podwire's pod Structs (pod_structs).
    "list-json": {"pods.json": kubectl_list(ON_ASM, PAGE)},
    "raw-page-yaml": {"pods.yaml": raw_page("PodList", "v1", ON_ASM, PAGE)},
    "continue-only": {"pods.json": raw_page("PodList", "v1", ON_ASM, {"resourceVersion": "81234",
                                                                       "continue": TOKEN})},
    "remaining-only": {"pods.json": kubectl_list(ON_ASM, {"resourceVersion": "81234", "remainingItemCount": 3})},
    # A typed List without apiVersion: its items are read as core v1 Pods (as a whole one's are), so is its page.
    "no-api-version": {"pods.json": {k: v for k, v in raw_page("PodList", "v1", ON_ASM, PAGE).items()
                                     if k != "apiVersion"}},
    # The other namespaces' pods in a whole file beside it do not make the page whole.
    "beside-a-whole-file": {"pods-istio-system.json": kubectl_list([f.pod("other-1", "web", proxy="asm")],
                                                                    {"resourceVersion": ""}),
                            "pods.json": raw_page("PodList", "v1", ON_ASM, PAGE)},
}


@pytest.mark.parametrize("files", PARTIAL_FILES.values(), ids=PARTIAL_FILES.keys())
def test_a_snapshot_file_of_one_page_of_pods_is_not_every_pod(tmp_path, files):
    """Was GO (exit 0): the pods past the page, on Istio's sidecar or not, were never seen."""
    code, findings = uninstall(handmade(tmp_path / "snap", files), tmp_path)
    remaining = [r for r in findings if r["check_id"] == "istio-sidecars-remaining"]
    assert [(r["status"], r["code"]) for r in remaining] == [("UNKNOWN", "AA0001")]
    assert "pods." in remaining[0]["message"] and "one page of a longer list" in remaining[0]["message"]
    assert code == 3


def test_a_whole_list_with_list_meta_is_still_read(tmp_path):
    """The control: a complete list (resourceVersion, no continue) is every pod, and the gate says GO."""
    files = {"pods.json": raw_page("PodList", "v1", ON_ASM, {"resourceVersion": "81234"})}
    code, findings = uninstall(handmade(tmp_path / "snap", files), tmp_path)
    remaining = [r for r in findings if r["check_id"] == "istio-sidecars-remaining"]
    assert [r["status"] for r in remaining] == ["PASS"]
    assert code == 0


def _scan(directory: Path, kind: K.Kind, reduce: bool) -> tuple[list[Any], SourceError | None]:
    cluster = SnapshotCluster("c", "data-plane", directory, {"complete": True})
    found = [obj for _, objects in cluster.scan([kind], reduce=reduce) for obj in objects]
    return found, cluster.absent_error(kind)


OWNED = f.deployment("cart")[1]  # its ReplicaSet, owned by the Deployment (podwire's owned-item path)


@pytest.mark.parametrize("reduce", [True, False], ids=["reduced", "whole"])
@pytest.mark.parametrize("name, doc, kind", [
    ("replicasets.json", raw_page("ReplicaSetList", "apps/v1", [OWNED], PAGE), K.REPLICASET),
    ("replicasets-list.json", kubectl_list([OWNED], PAGE), K.REPLICASET),
    ("configmaps.json", raw_page("ConfigMapList", "v1", [f.mesh_configmap()], PAGE), K.CONFIGMAP),
    ("mixed.yaml", kubectl_list([f.mesh_configmap(), OWNED], PAGE), K.REPLICASET),
    ("mixed.yaml", kubectl_list([f.mesh_configmap(), OWNED], PAGE), K.CONFIGMAP),
    ("pods.json", kubectl_list(ON_ASM, PAGE), K.POD),
], ids=["rs-raw-page", "rs-list", "configmaps", "list-of-kinds-rs", "list-of-kinds-cm", "pods"])
def test_a_page_file_leaves_its_kinds_unread_in_every_decode_path(tmp_path, reduce, name, doc, kind):
    (tmp_path / name).write_text(yaml.safe_dump(doc) if name.endswith(".yaml") else json.dumps(doc))
    found, error = _scan(tmp_path, kind, reduce)
    assert found == []
    assert error is not None and str(tmp_path / name) in error.reason, error


@pytest.mark.parametrize("reduce", [True, False], ids=["reduced", "whole"])
def test_a_page_file_leaves_other_files_kinds_alone(tmp_path, reduce):
    """Only the kinds the page holds or names are unread: a whole file of another kind is read as before."""
    (tmp_path / "pods.json").write_text(json.dumps(raw_page("PodList", "v1", ON_ASM, PAGE)))
    (tmp_path / "cm.json").write_text(json.dumps(kubectl_list([f.mesh_configmap()], {"resourceVersion": ""})))
    found, error = _scan(tmp_path, K.CONFIGMAP, reduce)
    assert error is None and [o["metadata"]["name"] for o in found] == ["istio"]


# ---------------------------------------------------------------- live
def test_a_live_page_counting_remaining_items_without_a_continue_token_is_not_the_list(served, fake_api):
    """remainingItemCount > 0 with no continue: the walk stopped as if the list were complete (pods PASS/GO)."""
    body = json.dumps({"kind": "PodList", "apiVersion": "v1",
                       "metadata": {"resourceVersion": "81234", "remainingItemCount": 120}, "items": []})
    fake_api.add_fault(r"^/api/v1/pods$", 200, times=None, body=body)
    result = api.run_audit(served, "migrating", focus_config(Path(str(served.kubeconfig)).parent), now=NOW)
    [row] = rows(result, "pods-xds-agent")
    assert row["status"] == "UNKNOWN" and row["code"] == "AA0001", row
    [cluster] = result.inventory.data_planes
    assert "remainingItemCount" in cluster.errors["pods"]
    assert result.exit_code == 3


# ---------------------------------------------------------------- metadata only
def metadata_only(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What kube-apiserver answers `GET /api/v1/pods` with `Accept: application/json;as=PartialObjectMetadataList;
    g=meta.k8s.io;v=v1` (k8s.io/apimachinery pkg/apis/meta/v1/types.go PartialObjectMetadata, "a generic
    representation of any object with ObjectMeta"): each object's metadata, under meta.k8s.io's TypeMeta."""
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "81234"},
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]}
                      for item in items]}


@pytest.mark.parametrize("name", ["pods.json", "pods.yaml"])
def test_a_file_of_metadata_only_is_refused_naming_it(tmp_path, capsys, name):
    """Its kind unknown, it was ignored: with `complete` claimed, every pod it stands for was read as none (GO,
    exit 0), one of them still on Istio's sidecar. Now bad input naming the file (exit 2)."""
    files = {name: metadata_only([f.pod("cart-1", proxy="asm"), f.pod("legacy-1", proxy="istio")])}
    root = handmade(tmp_path / "snap", files)
    (tmp_path / "asm.yaml").write_text(ASM_CONFIG)
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out",
                 str(tmp_path / "out"), "--config", str(tmp_path / "asm.yaml"), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert name in err and "PartialObjectMetadataList" in err


# ---------------------------------------------------------------- live discovery of one group unavailable
def test_a_group_whose_discovery_answers_503_is_unread_and_the_others_are_read(tmp_path, fake_api, fake_asm):
    """An aggregated API whose backend is down answers its discovery 503 (kube-aggregator proxies /apis/<group>/<v>
    to it); the groups read here are built-in or CRDs, served by the API server itself. Still, a group's discovery
    that fails (503 past the retries) leaves only that group's kinds unread: not "not served", and not every kind.
    A guard (this passed before): EnvoyFilters UNKNOWN, not NOT_APPLICABLE; pods still judged."""
    from tests import test_live_discovery as discovery

    fake_api.add_fault(r"^/apis/networking\.istio\.io/v1alpha3$", 503, times=None)
    fake_api.add_fault(r"^/apis/metrics\.k8s\.io", 503, times=None)  # never asked: no kind read is served there
    result = api.run_audit(discovery.target(tmp_path, fake_api, fake_asm), "migrating", discovery.config(tmp_path),
                           now=NOW)
    [row] = rows(result, "envoyfilter-compatibility")
    assert row["status"] == "UNKNOWN", row
    assert {r["status"] for r in rows(result, "pods-xds-agent")} - {"UNKNOWN"}
    [cluster] = result.inventory.data_planes
    assert "envoyfilters.networking.istio.io" in cluster.errors
    assert "envoyfilters.networking.istio.io" not in cluster.not_served
    assert "pods" not in cluster.errors and "deployments.apps" not in cluster.errors
    assert not [r for r in fake_api.requests if r.path.startswith("/apis/metrics.k8s.io")]
    assert result.exit_code == 3


# ---------------------------------------------------------------- a written snapshot missing a part file
def test_a_written_snapshot_missing_a_part_of_its_pods_leaves_pods_unread(tmp_path, fake_api, fake_asm, capsys,
                                                                          monkeypatch):
    """`asm-audit snapshot` writes long lists in parts (pods.json, pods.part0001.json, ...) and its tarball in sorted
    order, so `manifest.json` comes before a cluster named after it (`prod`): a `tar -x` cut short, or a part deleted,
    left the manifest saying pods "ok" and fewer pods in the files. The missing pod (PROXY_CONFIG_XDS_AGENT "false",
    FAIL AA1110) was simply not there: pods-xds-agent PASS, GO (exit 0). The manifest now records how many objects of
    each kind were written (`objects`); fewer in the files leave the kind unread (UNKNOWN), the run INCOMPLETE."""
    import tarfile

    from auditor.sources import snapshot

    served = test_faults.serve(tmp_path, fake_api, fake_asm, [f.pod("legacy-1", "shop", xds_agent="false")])
    monkeypatch.setattr(snapshot, "WRITE_PART_ITEMS", 1)  # a part per pod
    tarball = tmp_path / "snap.tar.gz"
    assert main(test_faults.snapshot_cli(served, tarball)) == 0
    capsys.readouterr()
    root = tmp_path / "extracted"
    with tarfile.open(tarball) as archive:
        archive.extractall(root, filter="data")
    focus = focus_config(tmp_path)
    whole = api.run_audit(api.Target(snapshot=str(root)), "migrating", focus, now=NOW)
    assert ("FAIL", "AA1110") in [(r["status"], r["code"]) for r in rows(whole, "pods-xds-agent")]  # the control
    [part] = [p for p in (root / "prod").glob("pods*.json") if "legacy-1" in p.read_text()]
    part.unlink()
    result = api.run_audit(api.Target(snapshot=str(root)), "migrating", focus, now=NOW)
    [row] = rows(result, "pods-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001"), row
    assert "manifest records" in row["message"]
    assert result.exit_code == 3


@pytest.mark.parametrize("objects", [{"pods": "3"}, {"pods": -1}, {"pods": True}, ["pods"]])
def test_a_manifest_whose_object_counts_are_not_counts_is_refused(tmp_path, capsys, objects):
    root = handmade(tmp_path / "snap", {"pods.json": kubectl_list(ON_ASM, {"resourceVersion": ""})})
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["clusters"][0]["objects"] = objects
    (root / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "asm.yaml").write_text(ASM_CONFIG)
    code = main(["run", "--snapshot", str(root), "--phase", "uninstall", "--format", "json", "--out",
                 str(tmp_path / "out"), "--config", str(tmp_path / "asm.yaml"), "-q"])
    assert code == 2
    assert "'objects' must map kind keys to counts" in capsys.readouterr().err
