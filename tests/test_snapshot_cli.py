"""Snapshots as users build them by hand, through the CLI: formats, counting, bad files."""

from __future__ import annotations

import json
import tarfile

import pytest
import yaml

from auditor.cli.main import main
from tests import factory as f


def kubectl_style_pods() -> list[dict]:
    cart = f.deployment("cart")
    search = f.deployment("search")
    web = f.deployment("web")
    gw = f.deployment("istio-ingressgateway", "istio-system")
    egress = f.deployment("istio-egressgateway", "istio-system")
    return [
        *f.workload_pods(cart, 3, proxy="istio", native=True),           # native sidecars (initContainers)
        *f.workload_pods(search, 2, proxy="istio", native=False),        # classic sidecars
        *f.workload_pods(web, 4, proxy="asm"),                           # already on ASM: not counted
        *f.workload_pods(web, 1, first=4, proxy="asm", native=True),
        *f.workload_pods(gw, 2, proxy="istio", gateway=True),            # Istio gateways: not sidecars
        *f.workload_pods(egress, 1, proxy="istio", gateway=True),
        f.pod("debug-shell", "default", proxy=None),                     # no proxy at all
        f.pod("legacy-tool", "default", proxy="istio"),                  # bare pod with a sidecar
        f.pod("batch-28471230-x7k2p", "jobs", proxy="istio", phase="Succeeded",
              owner=("Job", "batch-28471230")),                          # finished: not running a sidecar
    ]


def run_json(args: list[str], capsys) -> tuple[int, dict]:
    code = main(["run", *args, "--format", "json", "--out", "-", "--quiet"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def sidecar_findings(doc: dict) -> list[dict]:
    return [x for x in doc["findings"] if x["check_id"] == "istio-sidecars-remaining"]


def pod_findings(doc: dict) -> list[dict]:
    """The pod path's findings; a pods-only dump cannot show VM proxies (WorkloadEntries, WorkloadGroups not
    collected): those are UNKNOWN AA1233, never silence (tests/checks/test_vm_proxies.py)."""
    rows = sidecar_findings(doc)
    unread = sorted((x["status"], x["code"], x["kind"]) for x in rows if x["code"] == "AA1233")
    assert unread == [("UNKNOWN", "AA1233", "WorkloadEntry"), ("UNKNOWN", "AA1233", "WorkloadGroup")]
    assert all("not collected" in x["message"] for x in rows if x["code"] == "AA1233")
    # Nor any workload scaled to zero: the workload kinds are not collected either (AA1238, auditor/idle.py).
    assert [(x["status"], x["code"]) for x in rows if x["code"] == "AA1238"] == [("UNKNOWN", "AA1238")]
    return [x for x in rows if x["code"] not in ("AA1233", "AA1238")]


def test_kubectl_list_yaml_counts_sidecars(tmp_path, capsys):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "metadata": {
        "resourceVersion": ""}, "items": kubectl_style_pods()}))
    code, doc = run_json(["--snapshot", str(snap), "--phase", "uninstall"], capsys)
    rows = pod_findings(doc)
    got = {(r["kind"], r["namespace"], r["name"]): r["evidence"]["pod_count"] for r in rows}
    # ReplicaSets are not in the snapshot: owners come from the pod-template-hash naming.
    assert got == {("Deployment", "shop", "cart"): 3, ("Deployment", "shop", "search"): 2,
                   ("Pod", "default", "legacy-tool"): 1}
    assert {r["status"] for r in rows} == {"FAIL"}
    assert doc["verdict"] == "NO-GO" and code == 1 == doc["exit_code"]
    assert doc["clusters"][0]["name"] == "default"


def test_typed_podlist_json_multidoc_yaml_and_tarball(tmp_path, capsys):
    pods = kubectl_style_pods()
    snap = tmp_path / "snap" / "cluster-a"
    snap.mkdir(parents=True)
    items = [{k: v for k, v in p.items() if k not in ("apiVersion", "kind")} for p in pods[:5]]
    (snap / "pods.json").write_text(json.dumps({"apiVersion": "v1", "kind": "PodList", "items": items}))
    (snap / "more.yaml").write_text(yaml.safe_dump_all(pods[5:]))
    tarball = tmp_path / "snap.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(tmp_path / "snap", arcname="snapshot-2026-11-26")
    _, doc = run_json(["--snapshot", str(tarball), "--phase", "uninstall"], capsys)
    got = {r["name"]: r["evidence"]["pod_count"] for r in pod_findings(doc)}
    assert got == {"cart": 3, "search": 2, "legacy-tool": 1}
    assert doc["clusters"][0]["name"] == "cluster-a"
    assert len(doc["inputs_sha256"]) == 64


def test_no_sidecar_left_passes_once_per_cluster(tmp_path, capsys):
    web = f.deployment("web")
    # Complete: the Services and Deployments that tell which istiod the proxies' CA_ADDR names are known (none).
    manifest = {"clusters": [{"name": "c1", "role": "data-plane", "complete": True}]}
    snap = f.write_snapshot(tmp_path / "s", {"c1": [*web, *f.workload_pods(web, 5, proxy="asm")]}, manifest=manifest)
    _, doc = run_json(["--snapshot", str(snap), "--phase", "uninstall"], capsys)
    rows = sidecar_findings(doc)
    assert [(r["status"], r["cluster"]) for r in rows] == [("PASS", "c1")]
    assert rows[0]["evidence"]["asm_proxy_pods"] == 5


def test_no_sidecar_left_is_not_proven_when_the_snapshot_holds_no_services(tmp_path, capsys):
    """The same pods in a snapshot of pods only: their CA_ADDR's istiod is unproven (AA1234; VMs unshown: AA1233)."""
    web = f.deployment("web")
    snap = f.write_snapshot(tmp_path / "s", {"c1": f.workload_pods(web, 5, proxy="asm")})
    _, doc = run_json(["--snapshot", str(snap), "--phase", "uninstall"], capsys)
    assert [(r["status"], r["code"]) for r in pod_findings(doc)] == [("UNKNOWN", "AA1234")]


def test_pods_missing_from_snapshot_is_unknown(tmp_path, capsys):
    snap = f.write_snapshot(tmp_path / "s", {"c1": [f.namespace("shop")]})
    code, doc = run_json(["--snapshot", str(snap), "--phase", "uninstall"], capsys)
    rows = sidecar_findings(doc)
    assert rows[0]["status"] == "UNKNOWN" and "not collected" in rows[0]["message"]
    assert code == 3 and doc["verdict"] == "INCOMPLETE"


@pytest.mark.parametrize(("name", "content", "expect"), [
    ("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "bad.yaml: line"),
    ("bad.json", '{"kind": "Pod", ', "bad.json: malformed JSON"),
    ("nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n", "has no 'kind'"),
    ("scalar.yaml", "just a string\n", "expected a Kubernetes object"),
])
def test_malformed_snapshot_file_is_one_line_exit_2(tmp_path, capsys, name, content, expect):
    snap = tmp_path / "s"
    snap.mkdir()
    (snap / name).write_text(content)
    code = main(["run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "json", "--out",
                 str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and expect in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out" / "findings.json").exists()


def test_missing_snapshot_and_unknown_phase_are_exit_2(tmp_path, capsys):
    assert main(["run", "--snapshot", str(tmp_path / "nope"), "--format", "json"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "--snapshot", str(tmp_path), "--phase", "sideways"]) == 2
    assert "unknown phase" in capsys.readouterr().err
    assert main(["run", "--snapshot", str(tmp_path), "--format", "docx"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_checks_command_lists_the_catalogue_as_json(capsys):
    assert main(["checks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert {"kubernetes-version", "istio-version", "asm-version", "migration-resource", "pods-xds-agent",
            "istio-sidecars-remaining"} <= ids
    for r in rows:
        assert r["gates"] and r["severity"] in ("blocker", "major", "minor", "info")
        assert r["rationale"] and r["remediation"]


def test_writes_json_and_csv_files(tmp_path, capsys):
    snap = f.write_snapshot(tmp_path / "s", {"c1": kubectl_style_pods()})
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(snap), "--phase", "uninstall", "--format", "json,csv", "--out", str(out)])
    assert code == 1
    doc = json.loads((out / "findings.json").read_text())
    assert doc["schema_version"] == 1 and doc["verdict"] == "NO-GO"
    header = (out / "findings.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["cluster", "gate", "check_id", "title", "severity", "status"]
    assert "NO-GO" in capsys.readouterr().err

