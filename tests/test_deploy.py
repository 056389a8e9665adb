"""deploy/: the kustomize base, the Dockerfile and the Grafana dashboard hold to the tool they ship."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from auditor.cli.main import main
from auditor.metrics import METRIC_NAMES
from tests import factory as f
from tests.fakeapi import FakeApiServer
from tests.pushgateway_server import PushgatewayServer
from tests.test_live import mid_migration_cluster, serve

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "deploy" / "base"
DASHBOARD = ROOT / "deploy" / "grafana" / "asm-audit-dashboard.json"


def docs_of(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def base_objects() -> list[dict]:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return [d for name in kustomization["resources"] for d in docs_of(BASE / name)]


def by_kind(kind: str) -> list[dict]:
    return [d for d in base_objects() if d["kind"] == kind]


def rbac_printed(plane: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "auditor.cli.main", "rbac", "--plane", plane], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_every_resource_of_the_base_exists_and_has_the_required_fields():
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization" and kustomization["namespace"] == "asm-audit"
    assert sorted(p.name for p in BASE.iterdir() if p.name != "kustomization.yaml") == sorted(
        kustomization["resources"])
    objects = base_objects()
    assert sorted(d["kind"] for d in objects) == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "ConfigMap",
                                                  "CronJob", "Namespace", "PersistentVolumeClaim", "ServiceAccount"]
    for d in objects:
        assert d["apiVersion"] and d["metadata"]["name"]


def test_the_cluster_roles_are_exactly_what_asm_audit_rbac_prints():
    printed_role, printed_binding = rbac_printed("data-plane")
    (role,) = by_kind("ClusterRole")
    (binding,) = by_kind("ClusterRoleBinding")
    assert role == printed_role
    assert binding["roleRef"] == printed_binding["roleRef"]
    (account,) = by_kind("ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": "asm-audit"}]
    assert docs_of(ROOT / "deploy" / "asm-control-plane" / "rbac.yaml") == rbac_printed("asm")
    assert all(set(rule["verbs"]) <= {"get", "list"} for rule in role["rules"])
    assert not [r for r in role["rules"] if "secrets" in r.get("resources", [])]


def cronjob_pod() -> dict:
    (cronjob,) = by_kind("CronJob")
    return cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_cronjob_runs_asm_audit_run_with_history_and_pushgateway_on_the_pvc():
    (cronjob,) = by_kind("CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob_pod()
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "run"
    assert args[args.index("--history") + 1].startswith("/reports/")
    assert args[args.index("--out") + 1].startswith("/reports/")
    assert args[args.index("--pushgateway") + 1] == "$(PUSHGATEWAY_URL)"
    (account,) = by_kind("ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    (claim,) = by_kind("PersistentVolumeClaim")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/reports"]]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    settings = {c["metadata"]["name"]: c["data"] for c in by_kind("ConfigMap")}
    (source,) = container["envFrom"]
    referenced = set(re.findall(r"\$\(([A-Z_]+)\)", " ".join(args)))
    assert referenced == {"CLUSTER_NAME", "PHASE", "PUSHGATEWAY_URL", "PUSHGATEWAY_JOB"}
    assert referenced <= set(settings[source["configMapRef"]["name"]])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert mounts["/tmp"] == "tmp"


def test_the_cronjob_arguments_audit_a_cluster_through_the_service_account_kubeconfig(tmp_path, fake_asm):
    """The CronJob's own args and kubeconfig, pointed at a fake API server that only accepts the ServiceAccount's
    token and enforces the deploy ClusterRole: the audit reads everything it needs, records and pushes."""
    (role,) = by_kind("ClusterRole")
    with FakeApiServer(token="sa-token-from-the-kubelet") as api_server, \
            PushgatewayServer(tmp_path / "pushgateway") as gateway:
        serve(api_server, mid_migration_cluster())
        api_server.enforce_rbac(role["rules"])
        serve(fake_asm, [f.migration_cr("Migrating", spec_retry=1)], "v1.31.1-aliyun.1")
        token_file = tmp_path / "token"
        token_file.write_text("sa-token-from-the-kubelet")  # as the kubelet writes it: no newline
        ca_file = tmp_path / "ca.crt"
        ca_file.write_text("")
        settings = {c["metadata"]["name"]: c["data"] for c in by_kind("ConfigMap")}
        kubeconfig_text = settings["asm-audit-kubeconfig"]["kubeconfig"]
        kubeconfig_text = (kubeconfig_text.replace("https://kubernetes.default.svc", api_server.url)
                           .replace("/var/run/secrets/kubernetes.io/serviceaccount/token", str(token_file))
                           .replace("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", str(ca_file)))
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(kubeconfig_text)
        asm_kubeconfig = fake_asm.write_kubeconfig(tmp_path / "asm.kubeconfig", context="asm")
        env = {**settings["asm-audit-settings"], "PUSHGATEWAY_URL": gateway.url}
        reports = tmp_path / "reports"
        reports.mkdir()
        args = []
        for arg in cronjob_pod()["containers"][0]["args"]:
            arg = re.sub(r"\$\(([A-Z_]+)\)", lambda m: env[m.group(1)], arg)
            arg = (arg.replace("/etc/asm-audit/kubeconfig/kubeconfig", str(kubeconfig))
                   .replace("/etc/asm-audit/asm/kubeconfig", str(asm_kubeconfig)).replace("/reports", str(reports)))
            args.append(arg)
        args[args.index("--format") + 1] = "json"  # the PDF is tested elsewhere; keeps this test quick
        code = main(args)
        assert code == 1  # mid-migration with Istio sidecars left: NO-GO, not a permission problem
        findings = json.loads((reports / "latest" / "findings.json").read_text())
        assert not [x for x in findings["findings"] if "forbidden" in x["message"].lower()]
        assert all(r.path.startswith(("/api", "/apis", "/version")) for r in api_server.requests)
        assert (reports / "history.db").is_file()
        pushed = {(s.labels["job"], s.labels["cluster"], s.labels["gate"]): s.value
                  for family in text_string_to_metric_families(gateway.metrics_text()) for s in family.samples
                  if s.name == "asm_audit_verdict"}
        assert pushed[("asm-audit-cluster-a", "cluster-a", "uninstall")] == 1.0


def test_the_dockerfile_installs_the_package_and_what_the_pdf_needs():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim$", text, re.M)
    packages = set(re.search(r"apt-get install -y --no-install-recommends ([^\n&]+)", text).group(1).split())
    assert {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"} <= packages
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for package in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        directory = package.rstrip("*")
        assert re.search(rf"^COPY {directory} \./{directory}$", text, re.M), directory
    assert 'ENTRYPOINT ["asm-audit"]' in text and re.search(r"^USER \d+:\d+$", text, re.M)


def dashboard_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_parses_and_uses_only_metrics_we_export():
    dashboard = json.loads(DASHBOARD.read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    for wanted in ("Verdict per cluster and gate", "Istio-sidecar pods remaining", "Blockers by check",
                   "Last run age"):
        assert wanted in titles
    exprs = dashboard_exprs()
    assert len(exprs) == len(dashboard["panels"])
    used = {name for _, expr in exprs for name in re.findall(r"\basm_audit_[a-z_]+", expr)}
    assert used == set(METRIC_NAMES)
    labels = {label.strip() for _, expr in exprs for group in re.findall(r"by \(([^)]*)\)", expr)
              for label in group.split(",")}
    assert labels <= {"cluster", "gate", "check_id", "status", "severity", "namespace"}


