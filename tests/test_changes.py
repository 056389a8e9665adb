"""The CAB pack's change and back-out plan (issue 12): per gate, what the step creates/changes/deletes, with the
per-cluster numbers from this audit's findings, and how to back out before and after it.

On the bundled demo: at the uninstall gate purge-preview FAILs in both clusters (a CRD takes an object ASM does not
hold) and its findings say how many labelled objects the purge deletes (cluster-a 27, cluster-b 25);
restart-risk counts the workloads still on Istio's sidecar (cluster-a 8, cluster-b 5).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor import api
from auditor.findings import records
from auditor.render import changes, markdown
from auditor.render.html import html_document, render_pdf
from auditor.sources.snapshot import open_snapshot


def demo(phase: str) -> api.AuditResult:
    return api.run_audit(sources=open_snapshot(api.demo_snapshot_path()), phase=phase)


@pytest.fixture(scope="module")
def uninstall() -> api.AuditResult:
    return demo("uninstall")


def numbers(entry: dict, cluster: str) -> list[tuple[int | None, str]]:
    [c] = [c for c in entry["clusters"] if c["name"] == cluster]
    return [(n["count"], n["what"]) for n in c["numbers"]]


def test_every_purge_preview_finding_says_how_much_the_purge_deletes(uninstall):
    rows = [r for r in records(uninstall.findings) if r["check_id"] == "purge-preview"]
    assert sorted((r["cluster"], r["status"], r["evidence"]["deleted_count"]) for r in rows) == [
        ("cluster-a", "FAIL", 27), ("cluster-b", "FAIL", 25)]


def test_uninstall_plan_counts_per_cluster_what_purge_preview_found(uninstall):
    [entry] = changes.plan(uninstall)
    assert (entry["gate"], entry["step"], entry["creates"], entry["changes"]) == (
        "uninstall", "istioctl uninstall --purge", [], [])
    assert len(entry["deletes"]) == 3
    assert numbers(entry, "cluster-a") == [
        (27, "objects labelled operator.istio.io/component deleted"),
        (1, "stored objects deleted with CRD authorizationpolicies.security.istio.io that ASM does not hold")]
    assert numbers(entry, "cluster-b") == [
        (25, "objects labelled operator.istio.io/component deleted"),
        (1, "stored objects deleted with CRD virtualservices.networking.istio.io that ASM does not hold")]
    [a] = [c for c in entry["clusters"] if c["name"] == "cluster-a"]
    assert a["numbers"][0]["detail"].startswith("3 ClusterRole, 3 ClusterRoleBinding, 1 ConfigMap, "
                                                "9 CustomResourceDefinition, 4 Deployment")
    assert a["numbers"][1]["detail"] == "AuthorizationPolicy/payments/allow-shop"


def test_uninstall_back_out_is_backups_before_and_a_reinstall_after(uninstall):
    [entry] = changes.plan(uninstall)
    assert entry["undo_before_commands"] == [
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get istiooperators.install.istio.io -A -o yaml '
        "> istiooperator-cluster-a.yaml",
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_B:?}" get istiooperators.install.istio.io -A -o yaml '
        "> istiooperator-cluster-b.yaml",
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get istio-io -A -o yaml > istio-objects-cluster-a.yaml',
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_B:?}" get istio-io -A -o yaml > istio-objects-cluster-b.yaml',
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall --purge --dry-run',
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_B:?}" uninstall --purge --dry-run']
    assert entry["undo_after_commands"] == [
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" install -f "${SAVED_ISTIOOPERATOR:?}"',
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_B:?}" install -f "${SAVED_ISTIOOPERATOR:?}"']
    assert len(entry["irreversible"]) == 2 and entry["source"].startswith("domain.md")


def test_every_gate_has_a_plan_and_state_changes_only_move_forward():
    plan = {entry["gate"]: entry for entry in changes.plan(demo("all"))}
    assert list(plan) == ["assessment", "setup", "migrating", "uninstall", "finished"]
    for gate in ("setup", "migrating", "finished"):
        assert any("only moves forward" in item for item in plan[gate]["undo_after"]), gate
        assert len(plan[gate]["irreversible"]) == 1
    # Restarts counted from restart-risk: the workloads still on Istio's sidecar.
    for gate in ("setup", "migrating"):
        assert numbers(plan[gate], "cluster-a") == [(8, "workloads on Istio's sidecar that restart")]
        assert numbers(plan[gate], "cluster-b") == [(5, "workloads on Istio's sidecar that restart")]
    assert numbers(plan["assessment"], "cluster-a") == [] and plan["assessment"]["irreversible"] == []
    # What the seed does not document is said as such, never invented.
    undocumented = [g for g, e in plan.items() if any("contact ASM support" in i for i in e["undo_after"])]
    assert undocumented == ["assessment", "setup", "finished"]
    assert plan["migrating"]["undo_after_commands"][0] == (
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n "${NAMESPACE:?}" patch deployment "${DEPLOYMENT:?}" '
        '--type=json -p '
        "'[{\"op\":\"remove\",\"path\":\"/spec/template/metadata/labels/sidecar.asm.aliyun.com~1inject\"}]'")


def test_the_section_is_in_html_summary_md_and_the_pdf(uninstall, tmp_path: Path):
    html = html_document(uninstall)
    section = html[html.index('<section class="card" id="changes">'):]
    section = section[:section.index("</section>")]
    assert 'id="changes-uninstall"' in section and "<b>27</b> objects labelled" in section
    summary = markdown.document(uninstall)
    assert "<details><summary>What each step changes, and how to back out</summary>" in summary
    assert "- cluster-b: **25** objects labelled operator.istio.io/component deleted" in summary
    pdf = render_pdf(uninstall, tmp_path)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    assert "What each step changes, and how to back out" in text
    assert "27 objects labelled operator.istio.io/component deleted" in text
