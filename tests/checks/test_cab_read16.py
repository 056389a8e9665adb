"""A CAB reader's pass over session 16's new outcomes: each one tells the operator what to run next.

- AA0717 / AA0732 (migration-resource): their `fix` has no fields, and Check.report filled only a templated fix, so
  both reached the report with no remediation at all (AA0717 is a blocker FAIL: the pack's "commands for these
  blockers" had nothing for it). Outcome.fix "replaces the check's remediation text": a fix without fields is now the
  finding's remediation. AA0717 names ASM's AddClusterIntoServiceMesh with IgnoreNamespaceCheck (request fields as
  aliyun/alibabacloud-csharp-sdk servicemesh-20200111/core/Models/AddClusterIntoServiceMeshRequest.cs declares them).
- AA1235: a bootstrap whose istiod cannot be read (mesh.XDS_SERVER_UNREADABLE, "?") was shown as a bare "?" twice in
  the message ("take xDS straight from ?, ...: ?: its grpc-bootstrap-init ...").
- AA0612 / AA0623 / AA1216 (kube-injected grpc-simple): the remediation's check was `... -o yaml | grep -n istio-proxy`,
  but grpc-simple injects no istio-proxy (istio/istio@1.30.3 pkg/kube/inject/testdata/inject/
  grpc-simple.yaml.injected), so the check printed nothing before the fix and after it. It greps for what
  grpc-simple adds; run here against the fixture's template through a stand-in kubectl, it finds it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from auditor.i18n import Phrase, language, say
from auditor.registry import load_registry
from tests import factory as f
from tests.checks.test_migration_coverage import ID_A, ID_B, clusters_in_mesh, rows
from tests.checks.test_proxyless_grpc import (
    ONLY,
    grpc_workload,
    istio_control_plane,
    kube_injected_grpc_workload,
)
from tests.checks.test_workloads import grpc_simple_deployment


def test_every_outcome_with_a_fix_without_fields_gives_it_as_the_remediation():
    registry = load_registry()
    checked = 0
    for cls in registry.checks.values():
        for outcome in cls.outcomes:
            if outcome.fix and "{" not in outcome.fix:
                assert cls().report(outcome, "c1").remediation == outcome.fix, outcome.code
                assert cls().report(outcome, "c1", remediation="given").remediation == "given", outcome.code
                checked += 1
    assert checked > 40


def test_a_cluster_not_joined_to_the_instance_gets_the_command_that_joins_it(audit):
    found = rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_B), ids={"cluster-a": ID_A})
    [stranger] = [r for r in found if r["code"] == "AA0717"]
    assert stranger["remediation"]  # main: "" (the blocker had no next step)
    [command] = re.findall(r"`(aliyun [^`]*)`", stranger["remediation"])
    assert command.split()[:3] == ["aliyun", "servicemesh", "AddClusterIntoServiceMesh"]
    assert f"--ClusterId {ID_A}" in command and "--IgnoreNamespaceCheck true" in command


def test_which_clusters_were_audited_unknown_says_what_to_do(audit):
    openapi = {"_errors": {"DescribeClustersInServiceMesh": "Forbidden.RAM: no permission"}}
    found = rows(audit, "finished", "Migrating", openapi, ids={"cluster-a": ID_A})
    [row] = [r for r in found if r["code"] == "AA0732"]
    assert row["remediation"]  # main: ""


def test_a_bootstrap_naming_no_readable_istiod_is_not_shown_as_a_question_mark(audit):
    run = audit({"c1": [*istio_control_plane(), *grpc_workload(istio_namespace=None)]}, "uninstall", config=ONLY)
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == "grpc"]
    assert row["code"] == "AA1235"
    assert " ? " not in f" {row['message']} ".replace(",", " ").replace(":", " ")  # main: "from ?, ...: ?: its ..."
    frame = run.result.findings
    params = frame[frame["code"] == "AA1235"]["params"].iloc[0]
    server, why = params["server"], params["why"]
    assert isinstance(server, Phrase) and isinstance(why, Phrase)
    with language("zh-CN"):  # said in the reader's language, not left in English
        assert say(server) != str(server) and say(why) != str(why)


def _template_yaml_kubectl(tmp_path: Path, obj: dict) -> dict[str, str]:
    """A stand-in kubectl on PATH that prints `obj` as `kubectl get ... -o yaml` would."""
    (tmp_path / "obj.yaml").write_text(yaml.safe_dump(obj))
    stub = tmp_path / "bin" / "kubectl"
    stub.parent.mkdir()
    stub.write_text(f"#!/bin/sh\ncat {tmp_path / 'obj.yaml'}\n")
    stub.chmod(0o755)
    return {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "KUBECONFIG_C1": "/dev/null"}


def _check_command(remediation: str) -> str:
    command = remediation[remediation.index("kubectl "):]
    assert subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0, command
    return command


@pytest.mark.parametrize(("gate", "code"), [("assessment", "AA0623"), ("uninstall", "AA0612")])
def test_the_check_after_re_rendering_a_grpc_simple_template_sees_what_grpc_simple_injected(audit, tmp_path, gate,
                                                                                            code):
    dep, rs = grpc_simple_deployment()
    [row] = audit({"c1": [dep, rs]}, gate).rows("manual-injection")
    assert row["code"] == code
    command = _check_command(row["remediation"])
    shown = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                           env=_template_yaml_kubectl(tmp_path, dep))
    assert shown.stdout.strip()  # main: grep istio-proxy printed nothing on the injected template


def test_a_kube_injected_proxyless_app_on_istio_s_istiod_gets_the_same_check(audit, tmp_path):
    dep, rs, pods = kube_injected_grpc_workload()
    run = audit({"c1": [*istio_control_plane(), dep, rs, *pods]}, "uninstall", config=ONLY)
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == "grpc"]
    assert row["code"] == "AA1216" and row["evidence"].get("manual_injection") is True
    command = _check_command(row["remediation"])
    shown = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                           env=_template_yaml_kubectl(tmp_path, dep))
    assert shown.stdout.strip()


@pytest.mark.parametrize(("control_plane", "code"), [(True, "AA1216"), (False, "AA1217")])
def test_a_webhook_injected_proxyless_app_s_command_moves_it_to_asm_s_grpc_agent(audit, tmp_path, control_plane, code):
    """The patch added only ASM's injection label: the template kept inject.istio.io/templates: grpc-simple, whose
    bootstrap names istiod.istio-system.svc, Istio's Service name. Run through a stand-in kubectl recording its
    merge patch, the patch sets grpc-agent too."""
    run = audit({"c1": [*(istio_control_plane() if control_plane else []), *grpc_workload()]}, "uninstall",
                config=ONLY)
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == "grpc"]
    assert row["code"] == code
    [command] = [line for line in row["remediation"].splitlines() if line.startswith("kubectl ")]
    assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0
    stub = tmp_path / "bin" / "kubectl"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {tmp_path / "argv"}\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "KUBECONFIG_C1": "/dev/null"}
    assert subprocess.run(["bash", "-c", command], env=env).returncode == 0
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[argv.index("patch") + 1] == "deployment/grpc"
    template = json.loads(argv[argv.index("-p") + 1])["spec"]["template"]["metadata"]
    assert template["labels"] == {"sidecar.asm.aliyun.com/inject": "true"}
    assert template["annotations"] == {"inject.istio.io/templates": "grpc-agent"}  # main: no annotations


def test_advice_followed_by_commands_is_said_in_zh_cn_line_by_line(audit):
    """AA1235's remediation is its fix (in the catalog) then the command: the whole text is no msgid, so zh-CN kept
    the fix in English. Each prose line is now translated; the command lines stay as they are."""
    from auditor.render.localize import localized

    run = audit({"c1": [*istio_control_plane(), *grpc_workload(istio_namespace=None)]}, "uninstall", config=ONLY)
    frame = run.result.findings
    english = frame[frame["code"] == "AA1235"]["remediation"].iloc[0]
    with language("zh-CN"):
        said = localized(run.result).findings
    zh = said[said["code"] == "AA1235"]["remediation"].iloc[0]
    english_lines, zh_lines = english.split("\n"), zh.split("\n")
    assert len(zh_lines) == len(english_lines)
    assert zh_lines[0] != english_lines[0]  # main: the fix stayed English
    assert zh_lines[1:] == english_lines[1:]  # the comment and command, kept
    assert localized(run.result).findings.equals(frame)  # English: the same object's findings


@pytest.mark.parametrize(("info", "code"), [
    ({"gitVersion": "v1.21.3", "major": "1", "minor": "20"}, "AA0132"),  # both sides of 1.21 (session 16's)
    ({"gitVersion": "not-a-version", "major": "", "minor": ""}, "AA0131"),
    (None, "AA0130"),  # no /version answer
])
def test_an_unreadable_kubernetes_version_says_what_to_do(audit, info, code):
    """A blocker UNKNOWN with no remediation: the check's own (upgrade to 1.21) does not apply, so none was shown."""
    versions = {"c1": None if info is None else {**f.version_info(), **info}}
    [row] = audit({"c1": [f.namespace("default")]}, "assessment", versions=versions).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", code)
    assert row["remediation"]  # main: ""


def _lb_unknown_rows(audit, case: str) -> list[dict]:
    from tests.checks.test_gateways import CCM, asm_ingress, ingress
    from tests.checks.test_gateways_gwx16 import asm_service
    from tests.checks.test_lb_weights_ccm import annotations

    istio, asm = ingress("0"), asm_ingress("100")
    if case == "AA2032":
        annotations(istio)["service.beta.kubernetes.io/class"] = "my-lb-controller"
    else:
        asm_service(asm)["metadata"]["annotations"][f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"] = "rsp-new-80:80"
    return audit({"cluster-a": [*istio, *asm]}, "uninstall", asm=[]).rows("ingress-lb-weights")


@pytest.mark.parametrize("code", ["AA2032", "AA2033"])
def test_a_clb_weight_not_shown_comes_with_the_commands_that_show_it(audit, code):
    """Their next step is to look at the CLB's backends and weights: the console only, before; now also SLB's read
    actions, which run as written once CLB_REGION (and VSERVER_GROUP_ID) are set: the CLB's region is not in the
    snapshot, and a `<placeholder>` would be a shell redirection (bash -n refuses `<vServer group id>`)."""
    [row] = [r for r in _lb_unknown_rows(audit, code) if r["code"] == code]
    commands = [line for line in row["remediation"].splitlines() if line.startswith("aliyun ")]
    assert [c.split()[:3] for c in commands] == [["aliyun", "slb", "DescribeVServerGroups"],
                                                 ["aliyun", "slb", "DescribeVServerGroupAttribute"]]  # main: none
    assert f"--LoadBalancerId {row['evidence']['clb']}" in commands[0]
    for command in commands:
        assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0


def test_advice_then_commands_renders_the_commands_as_a_command_block(audit, tmp_path):
    """AA1235's remediation (its fix, then the command moving the app) and AA2033's (look at the CLB, then SLB's read
    commands): report.html ran the commands into the advice paragraph; summary.md's blocker commands would comment
    them out with the advice (`# aliyun slb ...`)."""
    from auditor.render.html import render_html

    run = audit({"c1": [*istio_control_plane(), *grpc_workload(istio_namespace=None)]}, "uninstall", config=ONLY)
    page = render_html(run.result, tmp_path).read_text()
    blocks = re.findall(r'<pre class="cmd"><code>(.*?)</code></pre>', page, re.S)
    assert any("patch deployment/grpc" in b for b in blocks)  # main: inside the advice paragraph

    from auditor.render.context import split_remediation
    from auditor.render.markdown import _commented
    from tests.checks.test_gateways import CCM, asm_ingress, ingress
    from tests.checks.test_gateways_gwx16 import asm_service

    istio, asm = ingress("0"), asm_ingress("100")
    asm_service(asm)["metadata"]["annotations"][f"{CCM}alibaba-cloud-loadbalancer-vgroup-port"] = "rsp-new-80:80"
    run = audit({"cluster-a": [*istio, *asm]}, "uninstall", asm=[])
    [row] = [r for r in run.rows("ingress-lb-weights") if r["code"] == "AA2033"]
    advice, commands = split_remediation(row["remediation"])
    assert advice and commands.startswith("aliyun slb DescribeVServerGroups")
    shell = _commented(row["remediation"]).splitlines()
    assert shell[0].startswith("# ") and shell[-2].startswith("aliyun slb DescribeVServerGroups ")
    assert split_remediation("kubectl get pods\nkubectl get svc") == ("", "")  # a command stays one command
    assert split_remediation("advice only\nmore advice") == ("", "")
    assert split_remediation("one line of advice") == ("", "")


def test_a_held_pod_s_commands_run_as_written_and_its_advice_is_said_in_zh_cn(audit):
    """AA2913 (and its siblings) read 'End each held pod's proxy: kubectl ... POST quitquitquit; kubectl ... POST
    quitquitquit. Argo Workflows: ...': copied as written, the last command asked pilot-agent for 'quitquitquit.'
    (and the whole paragraph stayed English in zh-CN). Now advice lines, then one command a line."""
    from tests.checks.test_stuck_jobs import argo_pod

    run = audit({"c1": [argo_pod()]}, "migrating")
    [row] = [r for r in run.rows("stuck-sidecar-jobs") if r["code"] == "AA2913"]
    lines = row["remediation"].splitlines()
    commands = [line for line in lines if "pilot-agent request POST" in line]
    assert commands and all(line.startswith("kubectl ") for line in commands)  # main: inside a sentence
    for command in commands:
        assert command.split()[-1] == "quitquitquit"  # main: 'quitquitquit.'
        assert subprocess.run(["bash", "-n", "-c", command]).returncode == 0

    from auditor.render.context import split_remediation
    from auditor.render.localize import localized

    advice, shown = split_remediation(row["remediation"])
    assert advice and shown.splitlines() == commands
    with language("zh-CN"):
        said = localized(run.result).findings
    zh_advice, zh_commands = split_remediation(said[said["code"] == "AA2913"]["remediation"].iloc[0])
    assert zh_commands == shown
    assert all(a != b for a, b in zip(zh_advice.splitlines(), advice.splitlines(), strict=True))


def test_asm_versions_disagreeing_say_the_fix_once(audit):
    """AA0333's message ended with its remediation word for word (the HTML showed it twice, and a third time among
    the reasons to fill in), including 'join a cluster so ASM's istiod-<rev> Service appears' when its Services are
    there already."""
    new, old = f.service("istiod-1-24-6", "istio-system"), f.service("istiod-1-22-6", "istio-system")
    [row] = audit({"c1": [new], "c2": [old]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0333")
    assert row["remediation"] and row["remediation"].rstrip(".") not in row["message"]  # main: the message held it
    assert "--asm-mesh-id" in row["remediation"] and "asm.version" in row["remediation"]


def test_the_runbook_lists_a_held_pod_s_commands_among_the_commands(audit):
    """The CAB pack's next steps ('Fix the blocking findings') showed AA2913's commands inside its advice."""
    from auditor.render.context import HTML_LIMITS, runbook
    from tests.checks.test_stuck_jobs import argo_pod

    run = audit({"c1": [argo_pod()]}, "migrating")
    frame = run.result.findings
    block = frame[frame["code"] == "AA2913"]
    [fix] = [s for s in runbook(run.result, block, frame.iloc[0:0], HTML_LIMITS) if "advice" in s]
    # Session 18: an advice's commands are shown under it (a command block of its own), not in its text.
    shown = [*fix["commands"], *(line for a in fix["advice"] for line in a["commands"].splitlines())]
    assert any(c.startswith("kubectl ") and c.endswith("quitquitquit") for c in shown)
    assert not any("kubectl " in a["text"] for a in fix["advice"])
