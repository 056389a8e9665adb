"""--metrics-file and --pushgateway: promtool accepts the file, a real Pushgateway and Prometheus hold the push."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auditor.api import demo_snapshot_path
from auditor.cli.main import main
from auditor.metrics import capped_namespaces
from tests import factory as f
from tests.prometheus_server import PROMTOOL, PrometheusServer, free_port
from tests.pushgateway_server import PushgatewayServer
from tests.test_deploy import dashboard_exprs
from tests.test_live import mid_migration_cluster, serve

DEMO_VERDICTS = {("asm", "uninstall"): 0.0, ("cluster-a", "uninstall"): 1.0, ("cluster-b", "uninstall"): 1.0}
DEMO_SIDECARS = {("cluster-a", "shop"): 8.0, ("cluster-a", "payments"): 3.0, ("cluster-a", "legacy-batch"): 2.0,
                 ("cluster-b", "search"): 7.0, ("cluster-b", "shop"): 4.0}


def samples(text: str, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels[k] for k in labels): s.value
            for family in text_string_to_metric_families(text) for s in family.samples if s.name == name}


def run_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path / "out"), "--format",
                 "json", "--quiet", *extra])
    return code, capsys.readouterr().err.strip().splitlines()


def generated_epoch(tmp_path: Path) -> float:
    stamp = json.loads((tmp_path / "out" / "findings.json").read_text())["generated_at"]
    return dt.datetime.fromisoformat(stamp).timestamp()


def test_metrics_file_passes_promtool_and_holds_verdicts_sidecars_and_blockers(tmp_path, capsys):
    path = tmp_path / "asm_audit.prom"
    code, err = run_demo(tmp_path, capsys, "--metrics-file", str(path))
    assert code == 1
    assert not [line for line in err if "warning" in line]
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=path.read_bytes(), capture_output=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = path.read_text()
    assert samples(text, "asm_audit_verdict", "cluster", "gate") == DEMO_VERDICTS
    assert samples(text, "asm_audit_istio_sidecar_pods", "cluster", "namespace") == DEMO_SIDECARS
    blockers = samples(text, "asm_audit_blockers", "cluster", "gate", "check_id")
    assert blockers[("cluster-a", "uninstall", "istio-sidecars-remaining")] == 8.0
    assert blockers[("cluster-a", "uninstall", "egress-routes-to-asm")] == 1.0
    findings = samples(text, "asm_audit_findings", "cluster", "check_id", "status", "severity")
    assert findings[("cluster-a", "istio-sidecars-remaining", "FAIL", "blocker")] == 8.0
    assert samples(text, "asm_audit_last_run_timestamp_seconds") == {(): generated_epoch(tmp_path)}


def test_namespaces_beyond_the_cap_are_summed_as_other():
    per_namespace = {f"ns-{i:02d}": i + 1 for i in range(60)} | {"other": 4}
    capped = capped_namespaces(per_namespace, cap=50)
    assert len(capped) == 51
    assert capped["other"] == 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 4  # ns-00..ns-09 and the real "other"
    assert capped["ns-59"] == 60 and "ns-09" not in capped
    assert sum(capped.values()) == sum(per_namespace.values())
    assert capped_namespaces({"shop": 3}, cap=50) == {"shop": 3}


def test_unreadable_pods_leave_the_sidecar_gauge_out_and_the_verdict_incomplete(tmp_path, capsys, fake_api,
                                                                                 fake_asm):
    serve(fake_api, mid_migration_cluster())
    serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
    fake_api.add_fault(r"^/api/v1/pods$", 403, times=None)
    kubeconfig = fake_api.write_kubeconfig(tmp_path / "dp.kubeconfig", context="prod-a")
    asm_kubeconfig = fake_asm.write_kubeconfig(tmp_path / "asm.kubeconfig", context="asm")
    path = tmp_path / "m.prom"
    config = tmp_path / "only.yaml"
    config.write_text(json.dumps(f.only_checks("istio-sidecars-remaining")))  # JSON is YAML
    code = main(["run", "--kubeconfig", str(kubeconfig), "--asm-kubeconfig", str(asm_kubeconfig), "--phase",
                 "uninstall", "--config", str(config), "--out", str(tmp_path / "out"), "--format", "json",
                 "--quiet", "--metrics-file", str(path)])
    capsys.readouterr()
    assert code == 3
    text = path.read_text()
    assert samples(text, "asm_audit_istio_sidecar_pods", "cluster", "namespace") == {}  # unread is not 0
    assert samples(text, "asm_audit_verdict", "cluster", "gate")[("prod-a", "uninstall")] == 3.0


def query(prometheus: PrometheusServer, promql: str) -> list[dict]:
    url = f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())["data"]["result"]


def test_pushed_metrics_reach_the_pushgateway_and_a_scraping_prometheus(tmp_path, capsys):
    with PushgatewayServer(tmp_path / "pushgateway") as gateway:
        code, err = run_demo(tmp_path, capsys, "--pushgateway", gateway.url)
        assert code == 1
        assert not [line for line in err if "warning" in line]
        text = gateway.metrics_text()
        verdicts = {(s.labels["job"], s.labels["cluster"], s.labels["gate"]): s.value
                    for family in text_string_to_metric_families(text) for s in family.samples
                    if s.name == "asm_audit_verdict"}
        assert verdicts == {("asm-audit", c, g): v for (c, g), v in DEMO_VERDICTS.items()}
        assert samples(text, "asm_audit_istio_sidecar_pods", "cluster", "namespace") == DEMO_SIDECARS
        with PrometheusServer([], tmp_path / "prometheus", scrape=[gateway.address]) as prometheus:
            deadline = time.monotonic() + 30
            found: list[dict] = []
            while time.monotonic() < deadline and len(found) < 3:
                found = query(prometheus, 'asm_audit_verdict{job="asm-audit"}')
                time.sleep(0.5)
            scraped = {(r["metric"]["cluster"], r["metric"]["gate"]): float(r["value"][1]) for r in found}
            assert scraped == DEMO_VERDICTS
            remaining = query(prometheus, "sum by (cluster) (asm_audit_istio_sidecar_pods)")
            assert {r["metric"]["cluster"]: float(r["value"][1]) for r in remaining} == {"cluster-a": 13.0,
                                                                                        "cluster-b": 11.0}
            # Every query of the Grafana dashboard is valid PromQL and finds the pushed series.
            for title, expr in dashboard_exprs():
                assert query(prometheus, expr), title


def test_unreachable_pushgateway_is_a_warning_and_the_verdict_stands(tmp_path, capsys):
    code, err = run_demo(tmp_path, capsys, "--pushgateway", f"http://127.0.0.1:{free_port()}/secret-path")
    assert code == 1
    warnings = [line for line in err if "warning" in line]
    assert len(warnings) == 1 and "push failed" in warnings[0]
    assert "secret-path" not in "\n".join(err)
    assert (tmp_path / "out" / "findings.json").is_file()


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--metrics-file", "{tmp}/no-such-dir/m.prom", "does not exist"),
    ("--metrics-file", "{tmp}", "is a directory"),
    ("--pushgateway", "ftp://127.0.0.1:9091", "http(s) URL"),
    ("--pushgateway", "http://user:pw@127.0.0.1:9091", "credentials"),
])
def test_bad_tracking_options_are_exit_2_before_collection(tmp_path, capsys, option, value, says):
    code, err = run_demo(tmp_path, capsys, option, value.format(tmp=tmp_path))
    assert code == 2
    assert len(err) == 1 and says in err[0]
    assert "pw" not in err[0]
    assert not (tmp_path / "out").exists()
