"""`asm-audit diff` and `run --baseline/--fail-on-new` on two real runs of a copy of the demo snapshot.

"After" is the demo with some workloads moved to ASM proxies the way a restart does it: their pods'
istio-proxy container replaced by the one ASM injects (taken from an ASM-proxied pod of the same snapshot).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import diff as D
from auditor.cli.main import main
from auditor.errors import UsageError
from tests import factory

SIDECARS = "istio-sidecars-remaining"
RESTARTED_AT = "2026-11-19T08:00:00Z"  # between the gateway (11-13) and the demo's collection (11-20)


# ---------------------------------------------------------------- snapshot surgery
def _items(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _proxy(pod: dict[str, Any]) -> tuple[str, int, dict[str, Any]] | None:
    for where in ("containers", "initContainers"):
        for i, c in enumerate(pod["spec"].get(where) or ()):
            if c.get("name") == "istio-proxy":
                return where, i, c
    return None


def _asm_sidecar(items: list[dict[str, Any]]) -> dict[str, Any]:
    for pod in items:
        found = _proxy(pod)
        if found and "aliyuncs.com" in found[2].get("image", "") and "sidecar" in (found[2].get("args") or []):
            return found[2]
    raise AssertionError("the demo has no ASM-proxied sidecar pod to copy the proxy from")


def move_to_asm(snapshot: Path, cluster: str, pod_names: set[str]) -> None:
    """Give these pods ASM's injected proxy (what a restart with sidecar.asm.aliyun.com/inject=true does)."""
    path = snapshot / cluster / "pods.json"
    doc = _items(path)
    asm = _asm_sidecar(doc["items"])
    moved = 0
    for pod in doc["items"]:
        if pod["metadata"]["name"] not in pod_names:
            continue
        where, index, old = _proxy(pod)
        new = copy.deepcopy(asm)
        if old.get("restartPolicy"):
            new["restartPolicy"] = old["restartPolicy"]  # a native sidecar stays native
        pod["spec"][where][index] = new
        pod["metadata"].setdefault("labels", {})["sidecar.asm.aliyun.com/inject"] = "true"
        # Restarted pods are new pods: created after the ASM cross-network gateway, like a real rollout.
        pod["metadata"]["creationTimestamp"] = RESTARTED_AT
        pod.setdefault("status", {})["startTime"] = RESTARTED_AT
        moved += 1
    assert moved == len(pod_names), f"pods not found in {path}"
    path.write_text(json.dumps(doc, indent=2))


def add_istio_pod(snapshot: Path, cluster: str, like: str, name: str) -> None:
    """A new ownerless pod on Istio's sidecar: a workload that was not there before."""
    path = snapshot / cluster / "pods.json"
    doc = _items(path)
    template = next(p for p in doc["items"] if p["metadata"]["name"] == like)
    pod = copy.deepcopy(template)
    pod["metadata"]["name"] = name
    pod["metadata"].pop("ownerReferences", None)
    pod["metadata"].pop("generateName", None)
    pod["metadata"]["uid"] = "0b7c5f4e-1111-4222-8333-944455556666"
    doc["items"].append(pod)
    path.write_text(json.dumps(doc, indent=2))


def run(snapshot: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["run", "--snapshot", str(snapshot), "--phase", "uninstall", "--out", str(out), "--format", "json",
                 "-q", *extra])
    doc = json.loads((out / "findings.json").read_text()) if (out / "findings.json").exists() else {}
    return code, doc


def sidecar_failures(doc: dict[str, Any], cluster: str) -> list[dict[str, Any]]:
    return [r for r in doc["findings"] if r["check_id"] == SIDECARS and r["status"] == "FAIL"
            and r["cluster"] == cluster]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Before/after runs of the demo: two cluster-a Deployments moved to ASM proxies in between."""
    from auditor.api import demo_snapshot_path

    tmp = tmp_path_factory.mktemp("diff")
    before = tmp / "before"
    shutil.copytree(demo_snapshot_path(), before)
    code_before, old = run(before, tmp / "out-before")
    assert code_before == 1, "the demo mid-migration is NO-GO at the uninstall gate"

    failing = [r for r in sidecar_failures(old, "cluster-a") if r["kind"] == "Deployment"]
    assert len(failing) >= 3, "the demo keeps several Istio-sidecar Deployments in cluster-a"
    moved = sorted(failing, key=lambda r: (r["namespace"], r["name"]))[:2]
    after = tmp / "after"
    shutil.copytree(before, after)
    move_to_asm(after, "cluster-a", {p for r in moved for p in r["evidence"]["pods"]})
    code_after, new = run(after, tmp / "out-after")
    return {"tmp": tmp, "before": before, "after": after, "old": old, "new": new, "moved": moved,
            "old_path": tmp / "out-before" / "findings.json", "new_path": tmp / "out-after" / "findings.json",
            "code_after": code_after}


def _label(r: dict[str, Any]) -> str:
    return f"{r['kind']}/{r['namespace']}/{r['name']}"


# ---------------------------------------------------------------- compare()
def test_moved_workloads_are_resolved_blockers_and_progress(runs):
    delta = D.compare(runs["old"], runs["new"])
    moved_labels = {_label(r) for r in runs["moved"]}

    resolved = {(r["check_id"], r["cluster"], _label(r)): r["now"] for r in delta["resolved_blockers"]}
    for label in moved_labels:
        assert resolved[(SIDECARS, "cluster-a", label)] == "absent"
    assert not [r for r in delta["new_blockers"] if r["check_id"] == SIDECARS]

    progress = {r["cluster"]: r for r in delta["migration"]["clusters"]}
    a = progress["cluster-a"]
    assert set(a["moved"]) == moved_labels
    assert a["back_on_istio"] == []
    pods_moved = sum(r["evidence"]["pod_count"] for r in runs["moved"])
    assert a["istio_sidecar_pods"]["before"] - a["istio_sidecar_pods"]["after"] == pods_moved
    assert a["istio_sidecar_workloads"]["before"] - a["istio_sidecar_workloads"]["after"] == 2
    assert progress["cluster-b"]["moved"] == []  # untouched
    assert progress["cluster-b"]["istio_sidecar_pods"]["before"] == progress["cluster-b"]["istio_sidecar_pods"][
        "after"]
    assert delta["migration"]["moved_total"] == 2

    changes = {(c["check_id"], c["cluster"], c["gate"], _label(c)): (c["from"], c["to"])
               for c in delta["status_changes"]}
    for label in moved_labels:
        assert changes[(SIDECARS, "cluster-a", "uninstall", label)] == ("FAIL", "absent")
    assert delta["status_changes_by_check"][SIDECARS]["FAIL->absent"] == 2
    assert delta["blockers"]["resolved"] >= 2
    assert delta["verdict_change"] == {"from": "NO-GO", "to": "NO-GO", "changed": False}


def test_fleet_pod_counts_agree_with_the_findings(runs):
    for doc in (runs["old"], runs["new"]):
        rows = {r["cluster"]: r for r in doc["fleet"]["clusters"]}
        for cluster in ("cluster-a", "cluster-b"):
            failing = {(r["kind"], r["namespace"], r["name"]): r["evidence"]["pod_count"]
                       for r in sidecar_failures(doc, cluster)}
            assert rows[cluster]["istio_sidecar_workloads"] == len(failing)
            assert rows[cluster]["istio_sidecar_pods"] == sum(failing.values())


def test_reverse_diff_shows_new_blockers(runs):
    delta = D.compare(runs["new"], runs["old"])
    news = {_label(r) for r in delta["new_blockers"] if r["check_id"] == SIDECARS}
    assert news == {_label(r) for r in runs["moved"]}
    a = next(r for r in delta["migration"]["clusters"] if r["cluster"] == "cluster-a")
    assert set(a["back_on_istio"]) == news and a["moved"] == []


def test_identical_reports_have_no_changes(runs):
    delta = D.compare(runs["old"], runs["old"])
    assert delta["new_blockers"] == [] and delta["resolved_blockers"] == [] and delta["status_changes"] == []
    assert delta["blockers"]["still_open"] == delta["blockers"]["before"] > 0


def test_subjects_collapse_to_worst_and_strict_counts_warn():
    rec = {"cluster": "c", "gate": "uninstall", "check_id": "x", "kind": "", "namespace": "", "name": "",
           "severity": "minor", "exempt": False}
    doc = {"findings": [{**rec, "status": "PASS"}, {**rec, "status": "WARN"}], "options": {"strict": False}}
    subject = D.subjects(doc["findings"])[("c", "uninstall", "x", "", "", "")]
    assert subject.status == "WARN" and not subject.blocking
    assert D.blocking_counts({**doc, "options": {"strict": True}}) == {("c", "uninstall", "x", "", "", "", "", ""): 1}
    assert not D.blocking_counts(doc)


def test_exemption_expiring_makes_a_new_blocker():
    rec = {"cluster": "c", "gate": "uninstall", "check_id": SIDECARS, "kind": "Deployment", "namespace": "shop",
           "name": "cart", "severity": "blocker", "status": "FAIL", "message": "m"}
    old = {"verdict": "GO", "findings": [{**rec, "exempt": True}]}
    new = {"verdict": "NO-GO", "findings": [{**rec, "exempt": False}]}
    delta = D.compare(old, new)
    assert [r["name"] for r in delta["new_blockers"]] == ["cart"]
    assert delta["status_changes"][0]["exempt_before"] and not delta["status_changes"][0]["exempt_after"]


# ---------------------------------------------------------------- the diff command
def test_diff_text(runs, capsys):
    code = main(["diff", str(runs["old_path"]), str(runs["new_path"])])
    out = capsys.readouterr().out
    assert code == 0
    assert "verdict: NO-GO -> NO-GO (unchanged)" in out
    assert "Resolved blockers" in out
    for r in runs["moved"]:
        assert _label(r) in out
    assert "cluster-a: workloads" in out and "2 moved" in out


def test_diff_markdown(runs, capsys):
    assert main(["diff", str(runs["old_path"]), str(runs["new_path"]), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## asm-audit: since last report")
    assert "| cluster | workloads | pods | moved since last report |" in out
    assert f"`{SIDECARS}`" in out


def test_diff_json(runs, capsys):
    assert main(["diff", str(runs["old_path"]), str(runs["new_path"]), "--format", "json"]) == 0
    delta = json.loads(capsys.readouterr().out)
    assert delta == json.loads(D.render_json(D.compare(D.load_report(runs["old_path"]),
                                                       D.load_report(runs["new_path"]))))
    assert delta["migration"]["moved_total"] == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"not json", "not JSON"),
    (b'{"schema_version": 2, "findings": [], "verdict": "GO"}', "schema_version 2 is not supported"),
    (b'{"verdict": "GO", "findings": []}', "no schema_version"),
    (b'{"schema_version": 1, "verdict": "GO"}', "without a findings list"),
    (b'{"schema_version": 1, "verdict": "GO", "findings": [{"cluster": "a"}]}', "findings[0] lacks"),
    (b"[1, 2]", "no schema_version"),
])
def test_diff_rejects_wrong_input_with_exit_2(runs, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert main(["diff", str(runs["old_path"]), str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_diff_missing_file_and_bad_format(runs, tmp_path, capsys):
    assert main(["diff", str(tmp_path / "nope.json"), str(runs["new_path"])]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["diff", str(runs["old_path"]), str(runs["new_path"]), "--format", "html"]) == 2


# ---------------------------------------------------------------- run --baseline / --fail-on-new
def only_sidecars_config(tmp: Path) -> Path:
    """Judge only istio-sidecars-remaining so other checks (traffic needs Prometheus) cannot decide."""
    cfg = tmp / "only-sidecars.yaml"
    cfg.write_text(yaml.safe_dump(factory.only_checks(SIDECARS)))
    return cfg


def test_baseline_adds_since_last_report(runs):
    code, doc = run(runs["after"], runs["tmp"] / "out-baseline", "--baseline", str(runs["old_path"]))
    assert code == runs["code_after"]  # --baseline alone reports; it does not change the verdict
    delta = doc["baseline"]
    assert delta["fail_on_new"] is False and delta["baseline_file"] == str(runs["old_path"])
    assert delta["verdict_without_baseline"] == doc["verdict"]
    resolved = {_label(r) for r in delta["resolved_blockers"] if r["check_id"] == SIDECARS}
    assert resolved == {_label(r) for r in runs["moved"]}
    assert delta["migration"]["moved_total"] == 2


def test_fail_on_new_accepts_existing_blockers(runs):
    cfg = only_sidecars_config(runs["tmp"])
    code, doc = run(runs["after"], runs["tmp"] / "out-fon", "--config", str(cfg), "--baseline",
                    str(runs["old_path"]), "--fail-on-new")
    assert code == 0 and doc["verdict"] == "GO" and doc["exit_code"] == 0
    delta = doc["baseline"]
    assert delta["verdict_without_baseline"] == "NO-GO"
    still = len(sidecar_failures(doc, "cluster-a")) + len(sidecar_failures(doc, "cluster-b"))
    assert delta["accepted_from_baseline"] == still > 0
    assert delta["new_blockers"] == []
    assert any("--fail-on-new" in n and "NO-GO" in n for n in doc["notes"])
    # The existing blockers are still reported as FAIL, not hidden or marked exempt.
    assert all(not r["exempt"] for r in sidecar_failures(doc, "cluster-b"))
    rows = {r["cluster"]: r for r in doc["fleet"]["clusters"]}
    assert rows["cluster-b"]["verdict"] == "GO" and rows["cluster-b"]["blockers"] > 0
    assert rows["cluster-b"]["accepted_from_baseline"] == rows["cluster-b"]["blockers"]


def test_reports_show_the_verdict_without_the_baseline_beside_the_badge(runs):
    """A CAB reader of a --fail-on-new GO must see that the cluster on its own is NO-GO."""
    import subprocess

    cfg = only_sidecars_config(runs["tmp"])
    out = runs["tmp"] / "out-fon-reports"
    code = main(["run", "--snapshot", str(runs["after"]), "--phase", "uninstall", "--out", str(out), "--format",
                 "html,pdf,md", "-q", "--config", str(cfg), "--baseline", str(runs["old_path"]), "--fail-on-new"])
    assert code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('<span class="verdict-baseline">without the baseline: NO-GO</span>') == 2  # header + summary
    text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "without the baseline: NO-GO" in text
    accepted = f"{len(sidecar_failures(runs['new'], 'cluster-a')) + len(sidecar_failures(runs['new'], 'cluster-b'))}"
    assert f"{accepted} known blocker(s) accepted (without the baseline: NO-GO)" in " ".join(text.split())
    assert "no blocking finding, nothing unknown" not in html  # the plain GO headline would be untrue here
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Go under --fail-on-new:** no blocking finding new since the baseline" in summary
    assert f"{accepted} known blocker(s) accepted (without the baseline: NO-GO)" in summary
    # Without --fail-on-new the verdict is the cluster's own: nothing to add.
    plain = runs["tmp"] / "out-baseline-reports"
    main(["run", "--snapshot", str(runs["after"]), "--phase", "uninstall", "--out", str(plain), "--format", "html",
          "-q", "--config", str(cfg), "--baseline", str(runs["old_path"])])
    assert 'class="verdict-baseline"' not in (plain / "report.html").read_text(encoding="utf-8")


def test_fail_on_new_fails_on_a_new_blocker(runs):
    newer = runs["tmp"] / "after-new-pod"
    shutil.copytree(runs["after"], newer)
    template = runs["moved"][0]["evidence"]["pods"][0]
    still_istio = sorted(set(p for r in sidecar_failures(runs["new"], "cluster-a")
                             for p in r["evidence"]["pods"]) - {template})[0]
    add_istio_pod(newer, "cluster-a", still_istio, "debug-shell")
    cfg = only_sidecars_config(runs["tmp"])
    code, doc = run(newer, runs["tmp"] / "out-fon-new", "--config", str(cfg), "--baseline",
                    str(runs["old_path"]), "--fail-on-new")
    assert code == 1 and doc["verdict"] == "NO-GO"
    news = [(r["cluster"], r["name"]) for r in doc["baseline"]["new_blockers"]]
    assert news == [("cluster-a", "debug-shell")]
    assert doc["cluster_verdicts"] == {"cluster-a": "NO-GO", "cluster-b": "GO"}


def test_fail_on_new_needs_a_baseline(runs, capsys):
    code, _ = run(runs["after"], runs["tmp"] / "out-x", "--fail-on-new")
    assert code == 2
    assert "--fail-on-new needs --baseline" in capsys.readouterr().err


def test_unreadable_baseline_is_exit_2_before_collection(runs, tmp_path, capsys):
    bad = tmp_path / "old.json"
    bad.write_text("{}")
    code, _ = run(runs["after"], tmp_path / "out", "--baseline", str(bad))
    assert code == 2
    assert "no schema_version" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_load_report_rejects_a_directory(tmp_path):
    with pytest.raises(UsageError):
        D.load_report(tmp_path)


# ---------------------------------------------------------------- values outside the documented sets (issue 16)
def _report(**top: Any) -> dict[str, Any]:
    rec = {"cluster": "c1", "gate": "uninstall", "check_id": SIDECARS, "kind": "Deployment", "namespace": "shop",
           "name": "cart", "status": "FAIL", "severity": "blocker", "exempt": False, "message": "m"}
    doc: dict[str, Any] = {"schema_version": 1, "verdict": "NO-GO", "generated_at": "2026-11-20T08:00:00Z",
                           "gate": "uninstall", "findings": [rec]}
    for key, value in top.items():
        if key.startswith("finding_"):
            rec[key.removeprefix("finding_")] = value
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(("change", "field"), [
    ({"verdict": "GOOD"}, "verdict 'GOOD' is not one of GO, NO-GO, INCOMPLETE"),
    ({"baseline": {"verdict_without_baseline": "go"}}, "baseline.verdict_without_baseline 'go' is not one of"),
    ({"finding_status": "PASSED"}, "findings[0].status 'PASSED' is not one of PASS, FAIL, WARN, UNKNOWN, "
                                   "NOT_APPLICABLE"),
    ({"finding_status": None}, "findings[0].status None is not one of"),
    ({"finding_severity": "critical"}, "findings[0].severity 'critical' is not one of blocker, major, minor, info"),
    ({"finding_cluster": 7}, "findings[0].cluster is not a string: 7"),
])
@pytest.mark.parametrize("side", ["old", "new"])
def test_diff_rejects_values_outside_the_documented_sets(tmp_path, capsys, change, field, side):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_report()))
    bad.write_text(json.dumps(_report(**change)))
    argv = ["diff", str(bad), str(good)] if side == "old" else ["diff", str(good), str(bad)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"asm-audit: error: {bad}: {field}"), lines


def test_diff_accepts_the_documented_values(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_report()))
    new.write_text(json.dumps(_report(verdict="GO", finding_status="PASS", finding_severity="info")))
    assert main(["diff", str(old), str(new)]) == 0
    assert "verdict: NO-GO -> GO" in capsys.readouterr().out


def test_diff_markdown_keeps_table_rows_whole_and_text_inert(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_report(finding_status="PASS")))
    new.write_text(json.dumps(_report(finding_check_id="x|y", finding_gate="uninstall|z", finding_cluster="c|1",
                                      finding_name="a|b", finding_message="<b>m</b> | \x1b[31m\u202e")))
    assert main(["diff", str(old), str(new), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out)
    table = [line for line in out.splitlines() if line.startswith("| ")]
    header = "| check | cluster | subject | gate | message |"
    assert header in table
    new_rows = table[table.index(header) + 1:table.index(header) + 2]
    assert len(new_rows) == 1 and len(re.findall(r"(?<!\\)\|", new_rows[0])) == 6, new_rows
    assert "<b>" not in out


def test_diff_text_shows_control_characters_as_escapes(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_report(finding_status="PASS")))
    new.write_text(json.dumps(_report(finding_name="cart\x1b]0;owned\x07\r\u202e")))
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "cart\\x1b]0;owned\\x07\\x0d\\u202e" in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out)
