"""report.html and report.pdf, rendered from real audits of real-shaped snapshots and read back:
the PDF's text (pdftotext), the HTML's references and escaping, the charts' data, the caps."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import http.server
import json
import re
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from auditor import kinds as K
from auditor import mesh
from auditor.api import run_audit
from auditor.cli.main import main
from auditor.engine import AuditResult
from auditor.findings import findings_frame
from auditor.gateways import SCAN_KINDS
from auditor.idle import IDLE_KINDS
from auditor.model import Finding, Severity, Status
from auditor.render import charts, context, html
from auditor.sources.snapshot import open_snapshot
from tests import factory as f

HOSTILE = ("<script>alert(1)</script><img src=x onerror=alert(2)> {{ 7*7 }} {% raw %} \x00\x07\x1b[31m "
           "\u202eevil\u202c | @admins http://evil.example/x `rm -rf` \ufffd")


# ---------------------------------------------------------------- scenes (shared with test_render_junit_md)
def _cluster(spec: dict[str, list[tuple[str, str | None, int]]], network: str) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = [f.namespace("istio-system", {"topology.istio.io/network": network}),
                                  f.istiod(), f.mesh_configmap(), f.service("istiod-1-24-6", "istio-system")]
    gw = f.deployment("istio-ingressgateway", "istio-system", replicas=1)
    objs += [*gw, *f.workload_pods(gw, 1, proxy="istio", gateway=True)]
    for ns, workloads in spec.items():
        objs.append(f.namespace(ns, {"istio-injection": "enabled"}))
        for name, proxy, replicas in workloads:
            dep = f.deployment(name, ns, replicas=replicas)
            objs += [*dep, *f.workload_pods(dep, replicas, proxy=proxy)]
    return objs


SCENE_A = {"shop": [("cart", "istio", 3), ("checkout", "asm", 2), ("frontend", "istio", 2)],
           "payments": [("ledger", "istio", 2), ("fraud", "asm", 2)],
           "tools": [("grafana", None, 1)]}
SCENE_B = {"shop": [("cart", "asm", 2)], "batch": [("reports", "istio", 1)]}
# Workloads still on Istio's sidecar in the scene: the blockers of the uninstall gate.
ISTIO_WORKLOADS = {("cluster-a", "cart"), ("cluster-a", "frontend"), ("cluster-a", "ledger"),
                   ("cluster-b", "reports")}


def migration_scene(root: Path, *, state: str = "Migrating", message: str = "", asm: bool = True) -> Path:
    """ASM control plane + two data-plane clusters mid-migration (some workloads still on Istio)."""
    clusters = {"cluster-a": _cluster(SCENE_A, "network-1"), "cluster-b": _cluster(SCENE_B, "network-2")}
    if asm:
        clusters["asm"] = [f.migration_cr(state, message=message)]
    versions = {name: f.version_info() for name in clusters}
    # Taken with the gateway scan's DaemonSets and Gateways read (there are none): a snapshot silent about them would
    # leave the east-west and gateway checks UNKNOWN. So are WorkloadEntries and WorkloadGroups (no VM here): silent,
    # istio-sidecars-remaining could not rule out VM proxies on Istio's istiod.
    # And the workload kinds (none scaled to zero here): silent, a workload running no pod could not be ruled out
    # (istio-sidecars-remaining AA1238).
    read = {**{kind.key: "ok" for kind in (*SCAN_KINDS, *IDLE_KINDS, K.REPLICASET, K.JOB)}, **f.NO_VMS}
    manifest = {"clusters": [{"name": name, "role": "asm" if name == "asm" else "data-plane", "dir": name,
                              **({} if name == "asm" else {"kinds": read})} for name in clusters]}
    return f.write_snapshot(root, clusters, versions=versions, manifest=manifest)


def audit_scene(root: Path, phase: str = "uninstall", **scene: Any) -> AuditResult:
    return run_audit(sources=open_snapshot(migration_scene(root, **scene)), phase=phase)


def with_findings(result: AuditResult, extra: list[Finding]) -> AuditResult:
    """The same audit with more findings (shapes of checks other helpers own: restart risk, traffic)."""
    existing = []
    for row in result.findings.to_dict("records"):
        for key in ("cluster", "gate", "check_id", "kind", "namespace"):
            row[key] = str(row[key])
        row["status"], row["severity"] = Status(str(row["status"])), Severity(str(row["severity"]))
        # The frame's own columns (baseline_accepted: set by the engine, not by checks) are no Finding field.
        existing.append(Finding(**{k: v for k, v in row.items() if k in Finding.__struct_fields__}))
    return dataclasses.replace(result, findings=findings_frame([*existing, *extra]))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def squash(text: str) -> str:
    """Table cells wrap at hyphens and spaces: compare without whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_pages_and_size(path: Path) -> tuple[int, tuple[float, float]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    box = reader.pages[0].mediabox
    return len(reader.pages), (round(float(box.width)), round(float(box.height)))


@pytest.fixture(scope="module")
def scene_result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return audit_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="module")
def scene_pdf(scene_result: AuditResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return html.render_pdf(scene_result, tmp_path_factory.mktemp("pdf"))


# ---------------------------------------------------------------- PDF
def test_pdf_carries_verdict_gate_and_every_blocker(scene_result: AuditResult, scene_pdf: Path) -> None:
    assert scene_result.verdict.value == "NO-GO"
    text = pdf_text(scene_pdf)
    flat = squash(text)
    assert "NO-GO" in text and "uninstall" in text
    first_page = pdf_text_page(scene_pdf, 1)
    assert "NO-GO" in first_page and "What blocks the step" in first_page, "executive summary on page 1"
    blockers = scene_result.findings[(scene_result.findings["status"].astype(str) == "FAIL")]
    assert {(r.cluster, r.name) for r in blockers.itertuples() if r.check_id == "istio-sidecars-remaining"} == (
        ISTIO_WORKLOADS)
    for r in blockers.itertuples():
        assert squash(str(r.check_id)) in flat
        assert squash(f"{r.namespace}/{r.name}") in flat, r.name
        assert squash(str(r.remediation))[:60] in flat, "the remediation command is printed"
    assert "Sign-off" in text and "CAB approver" in text
    assert scene_result.inputs_sha256 in flat, "inputs' SHA-256 in the running header"


def pdf_text_page(path: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(path), "-"],
                          check=True, capture_output=True, text=True).stdout


def test_pdf_every_page_has_running_header_and_page_number(scene_result: AuditResult, scene_pdf: Path) -> None:
    pages, size = pdf_pages_and_size(scene_pdf)
    assert size == (595, 842), "A4 by default"
    assert 3 <= pages <= 12
    for n in range(1, pages + 1):
        text = pdf_text_page(scene_pdf, n)
        assert f"Page {n} of {pages}" in text
        assert "gate uninstall" in text and "cluster-a, cluster-b" in text
        assert scene_result.generated_at in text and f"asm-audit {scene_result.tool_version}" in text
        assert scene_result.inputs_sha256[:32] in squash(text)


def test_letter_paper_via_option(scene_result: AuditResult, tmp_path: Path) -> None:
    letter = dataclasses.replace(scene_result, options={**scene_result.options, "paper": "letter"})
    _, size = pdf_pages_and_size(html.render_pdf(letter, tmp_path))
    assert size == (612, 792)
    with pytest.raises(Exception, match="paper"):
        html.paper_of(dataclasses.replace(scene_result, options={"paper": "a3"}))


def test_pdf_renderer_fetches_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      scene_result: AuditResult) -> None:
    """A local HTTP server counts requests; a document pointing at it (and at a file) gets nothing."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        secret = tmp_path / "secret.css"
        secret.write_text("body { background: red }")
        doc = (f'<html><head><link rel="stylesheet" href="{url}/x.css"><link rel="stylesheet" '
               f'href="file://{secret}"><style>@import url("{url}/i.css"); @font-face {{ font-family: X; '
               f'src: url("{url}/f.woff") }}</style></head><body style="font-family: X">'
               f'<img src="{url}/a.png"><img src="file:///etc/hostname"><svg><image href="{url}/s.png"/></svg>'
               "</body></html>")
        from weasyprint import HTML

        asked: list[str] = []
        real = html.refuse_fetch

        def counting(u: str, *a: Any, **k: Any) -> Any:
            asked.append(u)
            return real(u, *a, **k)

        monkeypatch.setattr(html, "refuse_fetch", counting)
        HTML(string=doc, base_url=None, url_fetcher=html.url_fetcher()).write_pdf(tmp_path / "x.pdf")
        assert any(u.startswith(url) for u in asked) and any(u.startswith("file:") for u in asked)
        asked.clear()
        html.render_pdf(scene_result, tmp_path)  # the real report needs no resource at all
        assert asked == []
        time.sleep(0.1)
        assert hits == [], "the PDF renderer reached the network"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- HTML
class References(HTMLParser):
    """Every URL-bearing attribute, every tag, and the text of <script> and <style>."""

    URL_ATTRS = {"src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href", "background",
                 "ping", "manifest", "cite", "longdesc", "codebase", "archive", "icon"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.meta: list[dict[str, str]] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in self.URL_ATTRS and value is not None:
                self.urls.append((tag, name, value))
        if tag == "meta":
            self.meta.append({k: v or "" for k, v in attrs})
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)


def parse_html(text: str) -> References:
    refs = References()
    refs.feed(text)
    return refs


def test_html_is_self_contained(scene_result: AuditResult, tmp_path: Path) -> None:
    text = html.render_html(scene_result, tmp_path).read_text(encoding="utf-8")
    refs = parse_html(text)
    for tag, attr, value in refs.urls:
        assert value.startswith("#"), f"<{tag} {attr}={value!r}> points outside the file"
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?\s*(https?:|//|file:|data:)", text)
    assert "link" not in refs.tags and "iframe" not in refs.tags and "img" not in refs.tags
    for css in refs.styles:
        assert "url(" not in css and "@import" not in css
    # Content-Security-Policy forbids every fetch and pins the one inline script by its hash.
    csp = next(m["content"] for m in refs.meta if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    assert len(refs.scripts) == 1
    digest = base64.b64encode(hashlib.sha256(refs.scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    # Verdict first: the badge precedes everything else in the body.
    assert text.index("NO-GO") < text.index('id="summary"')


def test_html_lists_blockers_with_copyable_commands_and_filterable_rows(scene_result: AuditResult,
                                                                       tmp_path: Path) -> None:
    text = html.render_html(scene_result, tmp_path).read_text(encoding="utf-8")
    shown = text.replace("<wbr>", "")  # names carry line-break opportunities after '-', '/' and '.'
    for r in scene_result.findings[scene_result.findings["status"].astype(str) == "FAIL"].itertuples():
        assert f"{r.namespace}/{r.name}" in shown
        assert html_escape(str(r.remediation)) in text
    table = text[text.index('id="findings-table"'):]
    rows = re.findall(r'<tr data-status="([A-Z_]+)" data-severity="(\w+)" data-cluster="([^"]*)"\s+'
                      r'data-namespace="([^"]*)"', table)
    assert {r[0] for r in rows} >= {"FAIL", "PASS"}
    assert {r[2] for r in rows} >= {"cluster-a", "cluster-b"}
    assert ("FAIL", "blocker", "cluster-a", "payments") in rows
    for control in ('data-filter="status"', 'data-filter="severity"', 'data-filter="cluster"',
                    'data-filter="namespace"', 'data-sort="status"'):
        assert control in text
    # Readable without JS: the copy buttons are made by the script, so no dead button is in the markup.
    assert "<button type=\"button\" class=\"copy\"" not in text
    assert "Clusters" in text and "network-1" in text and "Exemptions" in text


def html_escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def hostile_result(result: AuditResult) -> AuditResult:
    """Hostile text in every field a cluster controls, on a FAIL (blocker), an UNKNOWN and a PASS."""
    long = HOSTILE + " " + "A" * 30000
    bad = [
        Finding(Status.FAIL, "cluster-a", long, kind="Deployment", namespace="shop<b>", name="x\x00y{{ 7*7 }}",
                remediation="kubectl delete pod '<script>alert(3)</script>' # \x1b]0;title\x07",
                evidence={"note": HOSTILE}, severity=Severity.BLOCKER, gate="uninstall",
                check_id="istio-sidecars-remaining", title="No pod still runs an Istio sidecar"),
        Finding(Status.UNKNOWN, "cluster-b", "forbidden: " + HOSTILE + " \udcff lone surrogate",
                severity=Severity.MAJOR, gate="uninstall", check_id="asm-proxies-ready", title="t"),
    ]
    return with_findings(result, bad)


def test_hostile_status_message_is_escaped_in_html(scene_result: AuditResult, tmp_path: Path) -> None:
    text = html.render_html(hostile_result(scene_result), tmp_path).read_text(encoding="utf-8")
    assert "<script>alert" not in text and "<img src=x" not in text and "shop<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "{{ 7*7 }}" in text, "cluster text is never evaluated as a template"
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\ud800-\udfff]", text)
    assert "more characters in findings.json" in text, "a 30k-character message is cut"
    assert len(text) < 400_000
    refs = parse_html(text)
    assert len(refs.scripts) == 1 and refs.tags.count("script") == 1
    assert all(v.startswith("#") for _, _, v in refs.urls)


def test_hostile_status_message_is_text_in_pdf(scene_result: AuditResult, tmp_path: Path) -> None:
    text = pdf_text(html.render_pdf(hostile_result(scene_result), tmp_path))
    flat = squash(text)
    assert squash("<script>alert(1)</script>") in flat, "shown as text, not interpreted"
    assert squash("{{ 7*7 }}") in flat
    assert "more characters in findings.json" in text


# ---------------------------------------------------------------- charts and sections
def test_migration_progress_counts_workloads_by_proxy(scene_result: AuditResult) -> None:
    progress = context.progress_section(scene_result, context.PDF_LIMITS)
    totals = {r["label"]: (r["istio"], r["asm"], r["none"]) for r in progress["rows"] if r.get("total")}
    assert totals == {"cluster-a": (3, 2, 1), "cluster-b": (1, 1, 0)}
    shop_a = next(r for r in progress["rows"] if r["label"] == "shop")
    assert (shop_a["istio"], shop_a["asm"]) == (2, 1)
    assert progress["percent"] == round(100 * 3 / 7)
    assert {g["cluster"]: g["istio"] for g in progress["gateways"]} == {"cluster-a": 1, "cluster-b": 1}
    svg = str(progress["svg"])
    assert svg.startswith("<svg") and "ASM proxy" in svg and "payments" in svg


def test_progress_says_which_cluster_had_no_pods(scene_result: AuditResult) -> None:
    inv = scene_result.inventory
    assert inv is not None
    cluster_b = inv.data_planes[1]
    saved = dict(cluster_b.objects_by_kind), dict(cluster_b.errors), cluster_b._pods
    try:
        cluster_b._pods = None
        cluster_b.record_error(K.POD, "pods is forbidden: User cannot list resource pods")
        progress = context.progress_section(scene_result, context.PDF_LIMITS)
        assert [r["label"] for r in progress["rows"] if r.get("total")] == ["cluster-a"]
        assert "forbidden" in progress["missing"][0] and "cluster-b" in progress["missing"][0]
    finally:
        cluster_b.objects_by_kind, cluster_b.errors, cluster_b._pods = saved


def test_timeline_places_clusters_and_colours_the_audited_gate() -> None:
    assert charts.stage_index("Migrating", ["uninstall"]) == 3
    assert charts.stage_index("Migrating", ["finished"]) == 4, "Istio removed: past the uninstall step"
    assert charts.stage_index(None, ["assessment"]) == 0
    assert charts.stage_index(None, ["setup"]) is None
    svg = str(charts.timeline({"cluster-a": 3, "cluster-<b>": 3, "lost": None}, {"uninstall": "NO-GO"}))
    assert "\u25b2 cluster-&lt;b&gt;<" in svg and ">cluster-a<" in svg and "state unknown: lost" in svg
    assert "SetupIstioForMigrate" in svg and charts.COLORS["nogo"] in svg


def traffic_and_risk(n_risk: int = 40) -> list[Finding]:
    t0 = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)
    series = [[(t0 + dt.timedelta(hours=h)).isoformat().replace("+00:00", "Z"), 12.5 if h < 20 else 0.0]
              for h in range(25)]
    out = [
        Finding(Status.FAIL, "cluster-a", "1,080,000 requests in 24h through istio-ingressgateway",
                kind="Deployment", namespace="istio-system", name="istio-ingressgateway",
                remediation="move clients to the ASM ingress gateway", severity=Severity.BLOCKER,
                gate="uninstall", check_id="istio-gateway-traffic", title="No traffic through Istio gateways",
                evidence={"gateway_type": "ingress", "requests": 1080000, "connections": 5400, "bytes": 3.2e9,
                          "last_seen": series[19][0], "window": "24h", "series": series, "tcp_series": [],
                          "promql": {"requests": 'sum(increase(istio_requests_total{source_workload='
                                                 '"istio-ingressgateway"}[24h]))'}}),
        Finding(Status.PASS, "cluster-b", "no traffic through istio-eastwestgateway in 24h", kind="Deployment",
                namespace="istio-system", name="istio-eastwestgateway", severity=Severity.BLOCKER,
                gate="uninstall", check_id="istio-gateway-traffic", title="No traffic through Istio gateways",
                evidence={"gateway_type": "east-west", "requests": 0, "connections": 0, "bytes": 0,
                          "last_seen": None, "window": "24h", "series": [[s[0], 0] for s in series]}),
    ]
    for i in range(n_risk):  # restart-risk's shape: integer score, wave, "+N reason" strings
        score = 2 + i // 4
        out.append(Finding(Status.WARN, "cluster-a", f"restart risk {score}", kind="Deployment", namespace="load",
                           name=f"svc-{i:03d}", severity=Severity.MAJOR if score >= 5 else Severity.MINOR,
                           gate="uninstall", check_id="restart-risk", title="Restart risk",
                           evidence={"score": score, "wave": 3 if score >= 5 else 2, "pods": 2,
                                     "reasons": ["+1 no preStop hook in the app", f"+{score - 1} grace {i}s <= drain",
                                                 "PodDisruptionBudgets not readable: not scored"]}))
    return out


def test_traffic_chart_and_risk_table_from_evidence(scene_result: AuditResult, tmp_path: Path) -> None:
    result = with_findings(scene_result, traffic_and_risk())
    ctx = context.build(result, context.PDF_LIMITS)
    assert ctx["traffic"]["charted"] == 2 and "peak 12.5 req/s" in str(ctx["traffic"]["svg"])
    risk = ctx["risk"]
    assert [(w["name"], w["score"], w["wave"]) for w in risk["rows"][:2]] == [("svc-036", 11, 3), ("svc-037", 11, 3)]
    assert len(risk["rows"]) == 25 and risk["total"] >= 40 and risk["more"] == risk["total"] - 25
    assert risk["rows"][0]["reasons"] == "+1 no preStop hook in the app; +10 grace 36s <= drain", "notes left out"
    text = pdf_text(html.render_pdf(result, tmp_path))
    flat = squash(text)
    assert "peak12.5req/s" in flat and "ingress" in text and "3.0GiB" in flat
    assert "svc-039" in text and "svc-016" in text and "svc-003" not in text, "top 25 only"
    assert squash(f"{risk['more']} more workloads in findings.csv") in flat
    assert "no preStop hook" in text


def test_sections_absent_evidence_render_gracefully(tmp_path: Path, scene_result: AuditResult) -> None:
    # The setup gate runs neither the traffic nor the restart-risk check.
    setup = audit_scene(tmp_path, phase="setup", state="Init")
    ctx = context.build(setup, context.PDF_LIMITS)
    assert ctx["traffic"]["present"] is False and ctx["traffic"]["svg"] is None
    assert ctx["risk"]["present"] is False
    document = html.pdf_document(setup)
    assert document.count("was not part of this audit") == 2
    # The uninstall gate without Prometheus: the traffic check is there, UNKNOWN, with no chart to draw.
    traffic = context.build(scene_result, context.PDF_LIMITS)["traffic"]
    assert traffic["present"] and traffic["svg"] is None
    assert {r["status"] for r in traffic["rows"]} == {"UNKNOWN"}
    html.render_pdf(setup, tmp_path / "out")


def big_snapshot(root: Path, namespaces: int, workloads: int) -> Path:
    """One cluster, `workloads` single-pod Deployments on Istio's sidecar spread over `namespaces`."""
    objects: list[dict[str, Any]] = [f.namespace("istio-system"), f.istiod(), f.mesh_configmap()]
    for i in range(workloads):
        ns = f"team-{i % namespaces:03d}"
        dep = f.deployment(f"app-{i:05d}", ns, replicas=1)
        objects += [*dep, *f.workload_pods(dep, 1, proxy="istio" if i % 4 else "asm")]
    for d, items in (("cluster-a", objects), ("asm", [f.migration_cr("Migrating")])):
        (root / d).mkdir(parents=True)
        (root / d / "objects.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        (root / d / "version.json").write_text(json.dumps(f.version_info()))
    return root


def test_big_audit_summarises_into_a_short_pdf(tmp_path: Path) -> None:
    result = run_audit(sources=open_snapshot(big_snapshot(tmp_path / "snap", 120, 1600)), phase="uninstall")
    blocking = int(context.blocking_mask(result.findings).sum())
    assert blocking >= 1200
    started = time.monotonic()
    pdf = html.render_pdf(result, tmp_path / "out")
    elapsed = time.monotonic() - started
    pages, _ = pdf_pages_and_size(pdf)
    text = pdf_text(pdf)
    assert pages <= 20, pages
    assert elapsed < 60, f"PDF took {elapsed:.1f}s"
    assert squash(f"{blocking - context.PDF_LIMITS.blockers:,} more blockers in findings.csv") in squash(text)
    assert squash("more commands in findings.csv") in squash(text)
    assert "other namespaces" in text, "the progress chart caps namespaces"
    page = html.render_html(result, tmp_path / "out").read_text(encoding="utf-8")
    assert page.count("<tr data-status=") <= context.HTML_LIMITS.blockers + context.HTML_LIMITS.findings + 50
    assert "more findings not shown here" in page or blocking < context.HTML_LIMITS.findings


# ---------------------------------------------------------------- CLI
def test_cli_paper_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = migration_scene(tmp_path / "snap")
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(snap), "--format", "pdf,html", "--paper", "letter", "--out", str(out),
                 "--quiet"])
    assert code == 1
    assert pdf_pages_and_size(out / "report.pdf")[1] == (612, 792)
    assert (out / "report.html").stat().st_size > 10_000
    assert main(["run", "--snapshot", str(snap), "--format", "pdf", "--paper", "a3", "--out", str(out)]) == 2
    assert "paper" in capsys.readouterr().err


# ---------------------------------------------------------------- every verdict and optional section
def test_go_and_incomplete_first_pages(tmp_path: Path) -> None:
    go = audit_scene(tmp_path / "go", phase="setup", state="Init")
    assert go.verdict.value == "GO"
    page = pdf_text_page(html.render_pdf(go, tmp_path / "go-out"), 1)
    assert "verdict GO" in page and "verdict NO-GO" not in page
    assert "Checks passed" in page and "The evidence supports" in page
    assert "Now (GO): desiredState" in pdf_text(tmp_path / "go-out" / "report.pdf"), "runbook: take the step"

    incomplete = audit_scene(tmp_path / "inc", phase="setup", asm=False)
    assert incomplete.verdict.value == "INCOMPLETE"
    pdf = html.render_pdf(incomplete, tmp_path / "inc-out")
    page = pdf_text_page(pdf, 1)
    assert "INCOMPLETE" in page and "What could not be judged" in page and "migration-resource" in page
    assert "Restore the missing evidence" in pdf_text(pdf)
    text = html.render_html(incomplete, tmp_path / "inc-out").read_text(encoding="utf-8")
    assert 'id="unknowns"' in text and "UNKNOWN is not PASS" in text


def test_exemptions_and_since_last_report_sections(tmp_path: Path) -> None:
    from auditor.config import Config
    from auditor.render.json_out import document

    snap = migration_scene(tmp_path / "snap")
    first = run_audit(sources=open_snapshot(snap), phase="uninstall")
    baseline = json.loads(json.dumps(document(first), default=str))
    config = Config.model_validate({"exemptions": [
        {"check": "istio-sidecars-remaining", "namespace": "payments", "reason": "CHG-1234: <ledger> moves "
         "in the next window", "owner": "team-payments", "ticket": "CHG-1234", "expires": "2099-01-31"},
        {"check": "istio-sidecars-remaining", "namespace": "batch", "reason": "lapsed waiver",
         "expires": "2020-01-01"},
        {"check": "istio-sidecars-remaining", "namespace": "nothing-here", "reason": "stale pattern"},
    ]})
    result = run_audit(sources=open_snapshot(snap), phase="uninstall", config=config, baseline=baseline)
    ctx = context.build(result, context.PDF_LIMITS)
    states = {e["state"] for e in ctx["exemptions"]["entries"]}
    assert states == {"applied", "expired", "unused"}
    assert ctx["exemptions"]["applied_findings"] == 1
    assert ctx["since"] is not None and ctx["since"]["resolved"] == 1, "the exempted ledger no longer blocks"
    text = pdf_text(html.render_pdf(result, tmp_path / "out"))
    flat = squash(text)
    assert squash("CHG-1234: <ledger> moves") in flat and "2099-01-31" in text and "expired" in text
    assert "Since the last report" in text and squash("1 resolved") in flat
    page = html.render_html(result, tmp_path / "out").read_text(encoding="utf-8")
    assert "CHG-1234: &lt;ledger&gt; moves" in page and 'value="EXEMPT"' in page


def test_phase_all_lists_each_risky_workload_once(all_gates_result: AuditResult) -> None:
    risk = context.risk_section(all_gates_result.findings, context.PDF_LIMITS)
    keys = [(w["cluster"], w["namespace"], w["name"]) for w in risk["rows"]]
    assert keys and len(keys) == len(set(keys))
    assert len({p["cluster"] for p in risk["plans"]}) == len(risk["plans"])
    assert "every gate" in html.pdf_document(all_gates_result)


@pytest.fixture(scope="module")
def all_gates_result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return audit_scene(tmp_path_factory.mktemp("all"), phase="all")


def test_the_re_audit_command_quotes_cluster_names() -> None:
    """Cluster names come from kubeconfigs, fleet files and snapshot manifests: untrusted in a command."""
    import shlex
    from types import SimpleNamespace

    from auditor.render.context import _audit_command

    result = SimpleNamespace(clusters=[{"name": "prod;touch /tmp/pwned", "role": "data-plane"},
                                       {"name": "cluster-b", "role": "data-plane"}], options={"origin": "live"})
    command = _audit_command(result, "uninstall")
    words = shlex.split(command)
    assert "--cluster" in words and "touch" not in words
    assert any(w.startswith("prod;touch /tmp/pwned=${KUBECONFIG_") for w in words)  # one word, name and variable
    assert 'cluster-b="${KUBECONFIG_CLUSTER_B:?}"' in command  # ordinary names unchanged


def test_the_runbook_first_says_how_to_set_the_kubeconfig_variables(tmp_path: Path) -> None:
    import shlex

    result = audit_scene(tmp_path / "scene")
    first = context.runbook(result, result.findings.iloc[0:0], result.findings.iloc[0:0], context.PDF_LIMITS)[0]
    names = [c["name"] for c in result.clusters if c.get("role") == "data-plane"]
    assert first["commands"][:len(names)] == [
        f"export {mesh.kubeconfig_env(n)}=/path/to/kubeconfig  # cluster {n}" for n in names]
    assert first["commands"][-1].startswith("export ASM_KUBECONFIG=")
    # Every command of the reports uses exactly these variables.
    assert mesh.kubectl(names[0]) == f'kubectl --kubeconfig="${{{mesh.kubeconfig_env(names[0])}:?}}"'
    # A hostile cluster name stays inside the comment.
    hostile = context.runbook(dataclasses.replace(result, clusters=[{"name": "a\nrm -rf ~", "role": "data-plane"}]),
                              result.findings.iloc[0:0], result.findings.iloc[0:0], context.PDF_LIMITS)[0]
    line = hostile["commands"][0]
    assert "\n" not in line
    assert shlex.split(line, comments=True) == ["export", "KUBECONFIG_A_RM__RF__=/path/to/kubeconfig"]


def test_commands_with_an_environment_prefix_are_shown_as_commands() -> None:
    from auditor.render.context import looks_like_command

    assert looks_like_command('KUBECONFIG="${KUBECONFIG_C1:?}" kubectl argo rollouts restart -n shop web')
    assert looks_like_command('kubectl --kubeconfig="${ASM_KUBECONFIG:?}" get asmmigratefromistio default')
    assert not looks_like_command("Apply the cluster's object to the ASM control plane, or align the two specs.")
