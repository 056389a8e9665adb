"""`asm-audit rbac`: the printed ClusterRole is minimal, sufficient, and a missing rule is named in UNKNOWN.

The fake API servers enforce exactly the printed rules (403 elsewhere), like a real cluster would once the
role is bound to the auditor's identity and nothing else.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor import api, engine, rbac
from auditor import kinds as K
from auditor.cli.main import main
from auditor.config import ChecksConfig, Config
from auditor.findings import records
from auditor.registry import load_registry
from tests import factory as f
from tests.test_readonly import NOW, LiveDemo, comparable, live_demo

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "watch", "impersonate", "bind",
               "escalate", "*"}


def rbac_docs(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code = main(["rbac", *argv])
    out = capsys.readouterr().out
    assert code == 0
    if "--format" in argv and argv[argv.index("--format") + 1] == "json":
        listing = json.loads(out)
        assert listing["kind"] == "List"
        return listing["items"]
    return [d for d in yaml.safe_load_all(out) if d]


def role(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)


def resources(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(g, r) for rule in rules for g in rule.get("apiGroups", ()) for r in rule.get("resources", ())}


def enforce(demo: LiveDemo, docs: list[dict[str, Any]]) -> None:
    for name, server in demo.servers.items():
        which = rbac.ROLE_NAMES["asm" if name == "asm" else "data-plane"]
        server.enforce_rbac(role(docs, which)["rules"])


def without(rules: list[dict[str, Any]], group: str, resource: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(rules)
    for rule in out:
        if group in rule.get("apiGroups", ()) and resource in rule.get("resources", ()):
            rule["resources"].remove(resource)
    return [r for r in out if r.get("resources") or r.get("nonResourceURLs")]


@pytest.fixture
def demo(tmp_path: Path):
    with live_demo(tmp_path) as served:
        yield served


# ---------------------------------------------------------------- the printed role
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_rbac_prints_read_only_roles_and_binding_templates(capsys, fmt):
    docs = rbac_docs(capsys, "--format", fmt)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ClusterRole", "asm-audit-reader"), ("ClusterRoleBinding", "asm-audit-reader"),
        ("ClusterRole", "asm-audit-asm-reader"), ("ClusterRoleBinding", "asm-audit-asm-reader")]
    for doc in docs:
        assert doc["apiVersion"] == "rbac.authorization.k8s.io/v1"
        if doc["kind"] == "ClusterRoleBinding":
            assert doc["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": doc["metadata"]["name"]}
            assert doc["subjects"]
            continue
        for rule in doc["rules"]:
            assert set(rule["verbs"]) <= {"get", "list"}, rule
            assert not set(rule["verbs"]) & WRITE_VERBS
            assert "*" not in rule.get("resources", ()) and "*" not in rule.get("apiGroups", ())
            assert "secrets" not in rule.get("resources", ())
            assert not rule.get("resourceNames")


def test_rbac_names_exactly_what_a_full_live_run_reads(demo, capsys):
    """Every resource listed by a run of every gate is in the role, and the role holds nothing no check reads."""
    docs = rbac_docs(capsys)
    api.run_audit(demo.target(), "all", now=NOW)
    for name, server in demo.servers.items():
        granted = resources(role(docs, rbac.ROLE_NAMES["asm" if name == "asm" else "data-plane"])["rules"])
        listed = set()
        for r in server.requests:
            parts = r.path.strip("/").split("/")
            if parts[0] == "api" and len(parts) == 3:
                listed.add(("", parts[2]))
            elif parts[0] == "apis" and len(parts) == 4:
                listed.add((parts[1], parts[3]))
        assert listed, name
        assert listed <= granted, f"{name}: read without permission: {listed - granted}"
        # Minimal: whatever is granted but not listed is a kind the server does not serve (CRD absent).
        served = {(g, p) for (g, _v, p) in server._by_plural}
        assert not ((granted - listed) & served), f"{name}: granted, served, never read: {granted - listed}"


ENGINE_FACTS = {(k.group, k.plural) for k in getattr(engine, "FACT_KINDS", ())}


def test_rbac_for_one_gate_grants_only_what_its_checks_and_the_engine_read(capsys):
    registry = load_registry()
    docs = rbac_docs(capsys, "--phase", "migrating")
    gate_checks = [c for c in registry.ordered() if "migrating" in [g.value for g in c.gates]]
    expected = {(k.group, k.plural) for c in gate_checks for k in (*c.needs, *c.uses)} | ENGINE_FACTS
    assert resources(role(docs, "asm-audit-reader")["rules"]) == expected
    expected_asm = {(k.group, k.plural) for c in gate_checks for k in c.asm_needs} | {
        ("istio.alibabacloud.com", "asmmigratefromistios")}
    assert resources(role(docs, "asm-audit-asm-reader")["rules"]) == expected_asm


def test_rbac_honours_disabled_checks(capsys, tmp_path):
    registry = load_registry()
    keep = "pods-xds-agent"
    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump({"checks": {"disable": [c for c in registry.checks if c != keep]}}))
    docs = rbac_docs(capsys, "--phase", "migrating", "--config", str(config))
    # pods-xds-agent reads the gateway scan, which reads what it needs for a gateway's role (gateways.SCAN_KINDS):
    # Gateway API Gateways too (the DaemonSets and Istio Gateways are among the engine's facts); and Istio's proxies on
    # VMs, which only WorkloadGroups and WorkloadEntries show (auditor/vms.py); and the IstioOperators the in-cluster
    # istio-operator renders an istioctl gateway from (its remediation patches that IstioOperator). OpenKruise's
    # Advanced StatefulSets and DaemonSets: the workload a pod's controller reference names (kinds.workload_kind).
    # StatefulSets: their update strategy (OnDelete, partition) says whether a restart moves their pods (AA1241); so
    # does a CloneSet's (paused, partition: red22f). The pod templates of every workload kind (CronJobs,
    # ReplicationControllers among them) that may turn the setting off for the next pods (AA1114/AA1115), with what
    # auditor/idle.py reads beside them (an Argo Rollout's hold, a Knative Revision's Route, the CRDs: an OpenKruise
    # kind no CRD defines is not unread, AA1136).
    assert resources(role(docs, "asm-audit-reader")["rules"]) == {
        ("", "pods"), ("apps", "replicasets"), ("batch", "jobs"), ("apps", "statefulsets"),
        ("apps.kruise.io", "statefulsets"), ("apps.kruise.io", "daemonsets"), ("apps.kruise.io", "clonesets"),
        ("gateway.networking.k8s.io", "gateways"), ("networking.istio.io", "workloadentries"),
        ("networking.istio.io", "workloadgroups"), ("install.istio.io", "istiooperators"),
        ("batch", "cronjobs"), ("", "replicationcontrollers"), ("argoproj.io", "rollouts"),
        ("serving.knative.dev", "revisions"), ("apiextensions.k8s.io", "customresourcedefinitions")} | ENGINE_FACTS
    assert resources(role(docs, "asm-audit-asm-reader")["rules"]) == {
        ("istio.alibabacloud.com", "asmmigratefromistios")}  # the engine's gate selection reads it


@pytest.mark.parametrize("argv, expect", [
    (["--phase", "nope"], "unknown phase 'nope'"),
    (["--format", "xml"], "unknown format 'xml'"),
    (["--plane", "moon"], "unknown plane 'moon'"),
])
def test_rbac_bad_options_are_one_line_exit_2(capsys, argv, expect):
    code = main(["rbac", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expect in err[0]


# ---------------------------------------------------------------- enforced by the server
def test_a_run_with_exactly_the_printed_rbac_gives_the_same_findings(demo, capsys):
    docs = rbac_docs(capsys)
    unrestricted = api.run_audit(demo.target(), "all", now=NOW)
    demo.clear()
    enforce(demo, docs)
    restricted = api.run_audit(demo.target(), "all", now=NOW)
    assert not [r.path for r in demo.requests() if r.status == 403]
    assert comparable(restricted) == comparable(unrestricted)
    assert restricted.verdict == unrestricted.verdict


@pytest.mark.parametrize("gate", ["assessment", "setup", "migrating", "uninstall", "finished", "auto"])
def test_the_role_of_each_gate_suffices_for_that_gate(demo, capsys, gate):
    docs = rbac_docs(capsys, "--phase", gate)
    unrestricted = api.run_audit(demo.target(), gate, now=NOW)
    demo.clear()
    enforce(demo, docs)
    restricted = api.run_audit(demo.target(), gate, now=NOW)
    assert not [r.path for r in demo.requests() if r.status == 403]
    assert comparable(restricted) == comparable(unrestricted)


def _needed_data_plane_kinds() -> list[tuple[str, str]]:
    """(group, plural) of every kind some check `needs` that the demo's data planes serve.

    A kind the API server does not serve (its CRD is absent) is never listed, so no permission on it is
    ever used: discovery answers first and the kind is known to be empty.
    """
    from tests.fakeapi import FakeApiServer

    registry = load_registry()
    served = {(g, p) for (g, _v, p) in FakeApiServer()._by_plural}  # built-in kinds: always served
    for name in ("cluster-a", "cluster-b"):
        for path in sorted((api.demo_snapshot_path() / name).glob("*.json")):
            if path.name == "version.json":  # the /version answer, not a list of objects
                continue
            for obj in json.loads(path.read_text())["items"]:
                kind = K.kind_of(obj)
                if kind is not None:
                    served.add((kind.group, kind.plural))
    return sorted({(k.group, k.plural) for c in registry.ordered() for k in c.needs} & served)


@pytest.mark.parametrize("group, plural", _needed_data_plane_kinds(), ids=lambda v: v or "core")
def test_removing_one_permission_makes_exactly_its_checks_unknown_naming_it(demo, capsys, group, plural):
    docs = rbac_docs(capsys)
    enforce(demo, docs)
    rules = role(docs, "asm-audit-reader")["rules"]
    for name in ("cluster-a", "cluster-b"):
        demo.servers[name].enforce_rbac(without(rules, group, plural))
    result = api.run_audit(demo.target(), "all", now=NOW)
    key = f"{plural}.{group}" if group else plural
    needing = {c.id for c in load_registry().ordered() if any((k.group, k.plural) == (group, plural)
                                                               for k in c.needs)}
    rows = records(result.findings)
    for check_id in needing:
        mine = [r for r in rows if r["check_id"] == check_id and r["cluster"] in ("cluster-a", "cluster-b")]
        assert mine, check_id
        for cluster in ("cluster-a", "cluster-b"):
            if (group, plural) not in {(g, p) for (g, _v, p) in demo.servers[cluster]._by_plural}:
                continue  # not served there: nothing is listed, so nothing is forbidden
            named = [r for r in mine if r["cluster"] == cluster and r["status"] == "UNKNOWN"
                     and f"cannot list {key}" in r["message"] and f"grant get and list on {plural}" in r["message"]]
            assert named, f"{check_id} on {cluster}: no UNKNOWN naming {key}: {[r['message'] for r in mine]}"
            assert not [r for r in mine if r["cluster"] == cluster and r["status"] in ("PASS", "NOT_APPLICABLE")], \
                f"{check_id} passed on {cluster} without reading {key}"
    assert result.verdict.value != "GO"
    assert result.exit_code in (1, 3)


def test_missing_permission_on_the_asm_control_plane_is_named(demo, capsys):
    docs = rbac_docs(capsys)
    enforce(demo, docs)
    asm_rules = role(docs, "asm-audit-asm-reader")["rules"]
    demo.servers["asm"].enforce_rbac(without(asm_rules, "istio.alibabacloud.com", "asmmigratefromistios"))
    result = api.run_audit(demo.target(), "all", now=NOW)
    rows = [r for r in records(result.findings) if r["check_id"] == "migration-resource"]
    assert rows and all(r["status"] == "UNKNOWN" for r in rows)
    assert "cannot list asmmigratefromistios.istio.alibabacloud.com" in rows[0]["message"]
    assert result.verdict.value != "GO"


def go_cluster() -> list[dict[str, Any]]:
    """Mid-migration pods that all carry PROXY_CONFIG_XDS_AGENT=true: pods-xds-agent passes."""
    cart = f.deployment("cart")
    return [f.namespace("shop", {"istio-injection": "enabled"}), *cart,
            *f.workload_pods(cart, 3, proxy="istio", xds_agent="true")]


def test_forbidden_pods_turn_a_go_into_incomplete_exit_3(tmp_path, fake_api, fake_asm, capsys):
    """Only pods-xds-agent enabled: GO with the role; without `list pods` it is INCOMPLETE (exit 3), never GO."""
    fake_api.load(go_cluster())
    fake_asm.load([f.migration_cr("SetupIstioForMigrate")])
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    akc = fake_asm.write_kubeconfig(tmp_path / "akc", context="asm")
    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump({"checks": {"disable": [c for c in load_registry().checks
                                                             if c != "pods-xds-agent"]}}))
    docs = rbac_docs(capsys, "--phase", "migrating", "--config", str(config))
    fake_api.enforce_rbac(role(docs, "asm-audit-reader")["rules"])
    fake_asm.enforce_rbac(role(docs, "asm-audit-asm-reader")["rules"])
    argv = ["run", "--phase", "migrating", "--kubeconfig", str(kc), "--context", "prod", "--asm-kubeconfig",
            str(akc), "--config", str(config), "--format", "json", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "go")]) == 0
    capsys.readouterr()

    fake_api.enforce_rbac(without(role(docs, "asm-audit-reader")["rules"], "", "pods"))
    assert main([*argv, "--out", str(tmp_path / "incomplete")]) == 3
    doc = json.loads((tmp_path / "incomplete" / "findings.json").read_text())
    assert doc["verdict"] == "INCOMPLETE"
    [row] = [r for r in doc["findings"] if r["check_id"] == "pods-xds-agent"]
    assert row["status"] == "UNKNOWN"
    assert row["message"].endswith(
        'forbidden: cannot list pods — grant get and list on pods in the core API group ("") '
        "(`asm-audit rbac` prints the read-only ClusterRole)")


def test_python_api_rbac_plan_matches_the_cli(capsys):
    docs = rbac_docs(capsys, "--phase", "uninstall")
    plan = rbac.manifests("uninstall")
    assert json.loads(json.dumps(plan)) == docs
    kinds = rbac.required_kinds("uninstall")
    assert K.ASM_MIGRATION in kinds["asm"]
    assert Config(checks=ChecksConfig()).disabled() == set()
