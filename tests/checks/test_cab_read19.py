"""A CAB reader's pass (session 19): English left inside zh-CN sentences, and what the operator copies from Next steps.

- AA0010 / AA0011 (the engine's gate selection, auditor/judge.py) were free text: English in a zh-CN report, title and
  advice included. AA0230's reasons (an istiod image that pins no Istio release, auditor/istio.py; a rollout under way,
  auditor/rollouts.py) and "the input holds ASMMigrateFromIstio/default N times" (auditor/asm.py, carried by AA0001 and
  the gate's reason) were English inside the zh-CN sentence. Each is an i18n.Phrase now (AA0010 / AA0011 carry theirs
  as their one field, {reason}, as AA0001 does); findings.json keeps the English.

Shapes: ASMMigrateFromIstio as ASM's type declares it (aliyun/alibabacloud-servicemesh-api
alibabacloudservicemesh/v1/asmmigratefromistio_types.go: status.state a plain string, cluster-scoped); istiod as
istio/istio manifests/charts/istio-control/istio-discovery/templates/deployment.yaml @1.24.6 writes it
(tests/factory.py), its status as the Deployment controller writes it (kubernetes/api apps/v1 types.go
DeploymentStatus).

Tests assert codes, statuses and that no English sentence of the catalog is left, never wording.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from auditor.engine import run_audit
from auditor.findings import blocking_mask
from auditor.i18n import language
from auditor.render.context import HTML_LIMITS, subject_of
from auditor.render.context import build as build_context
from auditor.render.localize import localized
from auditor.render.markdown import document as markdown_document
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests import install_shapes as S
from tests.checks.conftest import NOW
from tests.checks.test_helm_release_leftovers import _base_validator
from tests.factory import version_info, write_snapshot
from tests.test_i18n import english_fragments


def zh_rows(result: Any, code: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(English row, zh-CN row) of each finding of `code`."""
    frame = result.findings
    rows = frame[frame["code"].astype(str) == code]
    with language("zh-CN"):
        said = localized(result).findings.loc[rows.index]
    return list(zip(rows.to_dict("records"), said.to_dict("records"), strict=True))


ENGLISH = re.compile(r"\b[A-Za-z][a-z']*(?:,? [A-Za-z][a-z']*){3,}\b")  # four English words in a row


def english_left(text: str) -> list[str]:
    """Sentences of the catalog (4+ English words), or any four English words in a row, still in `text`."""
    return [fragment for fragment in english_fragments() if fragment in text] + ENGLISH.findall(text)


def said_in_chinese(english: dict[str, Any], chinese: dict[str, Any]) -> None:
    for field in ("message", "title"):
        assert chinese[field] != english[field], field
        assert english_left(str(chinese[field])) == [], field


def test_aa0011_already_past_is_said_in_zh_cn(audit):
    """--phase setup while the migration is at Migrating: FAIL AA0011, its sentence and title said in zh-CN, its command
    kept (the comment after it said too)."""
    a = audit({"cluster-a": [f.istiod()]}, "setup", asm=[f.migration_cr("Migrating")])
    [(english, chinese)] = zh_rows(a.result, "AA0011")
    assert english["status"] == "FAIL" and english["check_id"] == "gate-selection"
    said_in_chinese(english, chinese)
    assert english["remediation"].startswith("asm-audit run --phase uninstall")
    assert chinese["remediation"].split("#")[0] == english["remediation"].split("#")[0]
    assert chinese["remediation"] != english["remediation"]


def test_aa0010_unrecognised_state_is_said_in_zh_cn_with_its_command_on_a_line_of_its_own(audit):
    a = audit({"cluster-a": [f.istiod()]}, "auto", asm=[f.migration_cr("Upgrading")])
    [(english, chinese)] = zh_rows(a.result, "AA0010")
    assert english["status"] == "UNKNOWN"
    said_in_chinese(english, chinese)
    advice, command = chinese["remediation"].split("\n")
    assert english_left(advice) == [] and command.startswith("kubectl ") and command in english["remediation"]
    assert (a.result.verdict.value, a.result.exit_code) == ("INCOMPLETE", 3)


@pytest.mark.parametrize("asm", [None, []], ids=["no ASM control plane", "ASM control plane without the resource"])
def test_aa0010_asm_at_work_on_the_data_plane_is_said_in_zh_cn(audit, asm):
    """--phase auto without the migration state while a workload runs ASM's proxy: UNKNOWN AA0010, whose sentence
    lists ASM's marks (each said in zh-CN too)."""
    shape = S.asm_workload("cart", "shop")
    a = audit({"cluster-a": [f.istiod(), *shape]}, "auto", asm=asm)
    [(english, chinese)] = zh_rows(a.result, "AA0010")
    assert english["status"] == "UNKNOWN" and english["evidence"]["asm_marks"]
    said_in_chinese(english, chinese)
    assert english_left(chinese["remediation"]) == []
    assert a.result.exit_code == 3


def test_two_different_migration_resources_are_said_in_zh_cn(audit):
    """The input holds ASMMigrateFromIstio/default twice, with different states: UNKNOWN AA0010 at --phase auto and
    AA0001 at --phase setup; the reason ("... N times ...") is said in zh-CN inside both sentences."""
    twice = [f.migration_cr("Migrating"), f.migration_cr("Init")]
    auto = audit({"cluster-a": [f.istiod()]}, "auto", asm=twice)
    [(english, chinese)] = zh_rows(auto.result, "AA0010")
    assert "2 times" in english["message"]
    said_in_chinese(english, chinese)
    setup = audit({"cluster-a": [f.istiod()]}, "setup", asm=twice)
    pairs = [(e, c) for e, c in zh_rows(setup.result, "AA0001") if e["check_id"] == "migration-resource"]
    assert pairs
    for english, chinese in pairs:
        assert chinese["message"] != english["message"] and english_left(chinese["message"]) == []
    assert setup.result.exit_code == 3


@pytest.mark.parametrize("case", ["latest", "digest", "not a release", "rollout"])
def test_aa0230_reasons_are_said_in_zh_cn(audit, case):
    dep = f.istiod("default", "1.24.6")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    if case == "latest":
        container["image"] = "docker.io/istio/pilot:latest"
    elif case == "digest":
        container["image"] = "docker.io/istio/pilot@sha256:" + "a" * 64
    elif case == "not a release":
        container["image"] = "docker.io/istio/pilot:2.1.0"
    else:  # an upgrade under way: one of two istiod pods runs the current template
        dep["metadata"]["generation"] = 3
        dep["status"] = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 2,
                         "availableReplicas": 2}
    a = audit({"cluster-a": [dep]}, "assessment")
    [(english, chinese)] = zh_rows(a.result, "AA0230")
    assert english["status"] == "UNKNOWN"
    assert chinese["message"] != english["message"] and english_left(chinese["message"]) == []
    if case == "rollout":
        assert chinese["remediation"] != english["remediation"]  # the comment after `rollout status`
    assert a.result.exit_code == 3


def test_machine_output_keeps_the_english_of_the_gate_findings(audit):
    a = audit({"cluster-a": [f.istiod()]}, "setup", asm=[f.migration_cr("Migrating")])
    frame: pd.DataFrame = a.result.findings
    [message] = frame.loc[frame["code"].astype(str) == "AA0011", "message"].tolist()
    assert type(message) is str and message.startswith("--phase setup: already past")


# ---------------------------------------------------------------- Next steps: each command once, in the purge's order
# `helm install istio-base istio/base; helm install istiod istio/istiod; helm install istio-ingress istio/gateway
# -n istio-ingress` (tests/install_shapes.helm_revision, helm_gateway: manifests/charts/{base,gateway,
# istio-control/istio-discovery} @1.24.6 with Helm's meta.helm.sh/release-* annotations,
# helm/helm@v3.21.4:pkg/action/validate.go), left installed at the finished gate while the workloads run ASM's proxy.
HELM_LINE = re.compile(r"^helm\s.*\suninstall\s+(\S+)\s+-n\s+(\S+)")


def helm_istio_left(tmp_path: Path, strict: bool) -> Any:
    inj = S.Injector("1.24.6", "")
    shape = S.moved_to_asm(S.helm_revision("1.24.6", ""))
    objects = [*shape.objects, _base_validator("1.24.6"), *S.helm_gateway(inj, "istio-ingress", "istio-ingress")]
    clusters = {"cluster-a": objects, "asm": [f.migration_cr("Finished")]}
    write_snapshot(tmp_path, clusters, versions={name: version_info() for name in clusters}, manifest={"clusters": [
        {"name": name, "role": "asm" if name == "asm" else "data-plane", "dir": name, "complete": True}
        for name in clusters]})
    return run_audit(open_snapshot(tmp_path), "finished", None, strict=strict, now=NOW)


def runnable_lines(texts: list[str]) -> list[str]:
    return [line.strip() for text in texts for line in text.split("\n")
            if line.strip() and not line.strip().startswith("#")]


def uninstalled(lines: list[str]) -> list[str]:
    """`<namespace>/<release>` of each runnable `helm uninstall` line, in order."""
    return [f"{m.group(2)}/{m.group(1)}" for m in map(HELM_LINE.match, lines) if m]


def next_steps(result: Any) -> list[str]:
    steps = build_context(result, HTML_LIMITS)["runbook"]
    return [c for s in steps for c in [*s["commands"], *(a["commands"] for a in s.get("advice") or []
                                                         if a["commands"])]]


def md_block(document: str) -> list[str]:
    """The command block of summary.md's blockers (the first folded section)."""
    body = document.split("<details><summary>", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    return [body]


@pytest.mark.parametrize("strict", [False, True], ids=["default", "--strict"])
def test_next_steps_give_each_helm_uninstall_once_in_purge_previews_order(tmp_path, strict):
    """Istiod's Deployment and webhooks (AA2210 / AA2212), the base chart's validator (AA2212) and the gateway
    (istio-residue AA2310; with --strict also AA2328's batch) each carry their release's `helm uninstall`. main's Next
    steps and summary.md ran istiod's release before the gateway's (Istio's Helm docs, "Uninstall": gateways, then
    istiod, then base), and with --strict `helm uninstall istiod` twice (the second: "not found")."""
    result = helm_istio_left(tmp_path, strict)
    frame = result.findings
    [istiod] = frame[(frame["code"].astype(str) == "AA2210")].to_dict("records")
    order = istiod["evidence"]["uninstall_order"]
    assert order == ["istio-ingress/istio-ingress", "istio-system/istiod", "istio-system/istio-base"]
    blocking = frame[blocking_mask(frame, strict)]
    holders = [r for r in blocking.to_dict("records") if uninstalled(runnable_lines([str(r["remediation"])]))]
    assert len(holders) >= (5 if strict else 4)
    with language("zh-CN"):
        zh_document = markdown_document(result)
    for texts in (next_steps(result), md_block(markdown_document(result)), md_block(zh_document)):
        lines = runnable_lines(texts)
        assert uninstalled(lines) == order  # each once, in purge-preview's order
        assert len(lines) == len(set(lines))  # no command twice
        assert all(parses(text) for text in texts)
        shown = "\n".join(texts)
        for row in holders:  # each finding still named beside the command that removes it
            assert subject_of(row["kind"], row["namespace"], row["name"]) in shown
    # In zh-CN every comment of the block is said in Chinese (the gateway release's was English around its names).
    comments = [line.split("# ", 1)[1] for line in md_block(zh_document)[0].split("\n") if "# " in line]
    assert comments and [c for c in comments if ENGLISH.search(c)] == []
    # The findings keep their own command (the blocker table shows each with its subject).
    assert all(uninstalled(runnable_lines([str(r["remediation"])])) for r in holders)


def parses(command: str) -> bool:
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


@pytest.mark.parametrize("origin", ["snapshot", "live"])
def test_every_next_steps_command_parses_in_bash(origin):
    """The re-audit step's command had placeholders `<new snapshot>` / `<report dir>`: pasted into a shell, a syntax
    error (a redirection). Now variables that stop the command while unset, as the kubeconfigs' do."""
    from auditor.api import demo_snapshot_path

    demo = run_audit(open_snapshot(demo_snapshot_path()), "auto")
    if origin == "live":
        demo.options = {**demo.options, "origin": "live"}
    texts = next_steps(demo)
    assert any(text.startswith("asm-audit run --phase ") for text in texts)
    assert [text for text in texts if not parses(text)] == []


# ---------------------------------------------------------------- backticks in titles and advice
def visible_outside_commands(markup: str) -> str:
    text = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_titles_and_advice_show_code_not_backticks_in_html_and_pdf(lang, tmp_path):
    """purge-preview's and istio-residue's titles ("What `istioctl uninstall --purge` will delete ...") and advice such
    as AA1213's ("without `istioctl kube-inject`") showed their backticks in report.html and report.pdf: Markdown's
    code spans, shown as code now. Commands (<pre>) are as written."""
    from auditor.api import demo_snapshot_path
    from auditor.render.html import html_document, pdf_document, ticks

    demo = run_audit(open_snapshot(demo_snapshot_path()), "auto")
    with language(lang):
        documents = {"report.html": html_document(demo), "report.pdf": pdf_document(demo)}
    for name, markup in documents.items():
        assert "`" not in visible_outside_commands(markup), name
        assert '<code class="tick">istioctl uninstall --purge</code>' in markup, name
    # Messages too (istio-residue AA2328: "... `istioctl uninstall --purge` has not run here").
    helm = helm_istio_left(tmp_path, strict=True)
    assert "`" in " ".join(helm.findings["message"].astype(str))
    with language(lang):
        for markup in (html_document(helm), pdf_document(helm)):
            assert "`" not in visible_outside_commands(markup)
    assert str(ticks("run `<b>x</b>` & `y`")) == ('run <code class="tick">&lt;b&gt;x&lt;/b&gt;</code> &amp; '
                                                  '<code class="tick">y</code>')


# ---------------------------------------------------------------- --help as a new operator reads it
@pytest.mark.parametrize("command", [(), ("run",), ("snapshot",), ("demo",), ("checks",), ("explain",), ("diff",),
                                     ("rbac",), ("history",)])
def test_help_names_no_value_for_a_flag_and_no_python_type(command):
    """Typer showed every option's Python type: `--strict <bool>`, `--allow-unknown <bool>`, `--quiet -q <bool>`,
    `--help <bool>` (a flag takes no value: `--strict true` is refused), `--cluster <list[str]>` (one value each
    time)."""
    from tests.test_help_and_demo import help_text, option_names

    text = help_text(*command)
    assert "--help" in option_names(text)
    assert "<bool>" not in text and "<list[" not in text


@pytest.mark.parametrize("code", ["AA0010", "AA0011"])
def test_explain_says_how_to_fix_a_gate_selection_finding(code, capsys):
    """`asm-audit explain AA0011` said what it means, not what to do (product.md: "how to fix it"); the engine's gate
    outcomes carry their fix now."""
    from auditor.cli.main import main

    assert main(["explain", code]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(code) and any(line.startswith("fix:") and "--phase" in line for line in lines)


def unquoted(command: str) -> str:
    return re.sub(r"'[^']*'", "''", command)


def test_every_cab_plan_command_parses_and_names_no_placeholder_the_shell_reads_as_a_redirection():
    """"What each step changes, and how to back out": `-n <namespace> patch deployment <name>` (migrating's back-out)
    reads a file "namespace" and writes files named "patch" and "--type=json"; `install -f <saved IstioOperator>`
    (uninstall's) is a syntax error. Variables that stop the command while unset now, as the kubeconfigs' do."""
    from auditor.api import demo_snapshot_path
    from auditor.render import changes

    demo = run_audit(open_snapshot(demo_snapshot_path()), "all")
    commands = [c for entry in changes.plan(demo) for key in ("undo_before_commands", "undo_after_commands")
                for c in entry[key]]
    assert len(commands) > 10
    assert [c for c in commands if not parses(c)] == []
    assert [c for c in commands if re.search(r"<[A-Za-z][^<>]*>", unquoted(c))] == []


# ---------------------------------------------------------------- the CLI as a new operator meets it
@pytest.mark.parametrize("kubeconfig_env", [None, ""], ids=["KUBECONFIG unset", "KUBECONFIG empty"])
def test_an_empty_kubeconfig_variable_reads_the_default_kubeconfig_as_kubectl_does(tmp_path, monkeypatch, capsys,
                                                                                   kubeconfig_env):
    """`KUBECONFIG=` (exported empty, as CI templates often leave it) is kubectl's default ~/.kube/config. The audit
    refused it: "no kubeconfig ( not found)", exit 2, with ~/.kube/config there. Now it reads that file (here a
    cluster that does not answer: UNKNOWN, exit 3); without the file, one line naming it, exit 2."""
    from auditor.cli.main import main
    from tests.test_faults import free_port, kubeconfig_to

    monkeypatch.setenv("HOME", str(tmp_path))
    if kubeconfig_env is None:
        monkeypatch.delenv("KUBECONFIG", raising=False)
    else:
        monkeypatch.setenv("KUBECONFIG", kubeconfig_env)
    args = ["run", "--phase", "assessment", "--format", "json", "--out", str(tmp_path / "out"), "--quiet"]
    assert main(args) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "~/.kube/config not found" in line
    (tmp_path / ".kube").mkdir()
    kubeconfig_to(tmp_path / ".kube" / "config", free_port())
    assert main(args) == 3
    assert "no kubeconfig" not in capsys.readouterr().err


def test_the_progress_lines_are_said_in_the_readers_language(tmp_path, capsys):
    """`asm-audit demo --lang zh-CN` said "cluster-a: reading 51 kinds from the snapshot" in English between two
    Chinese lines; the audit itself stays English (findings.json)."""
    from auditor.cli.main import main

    assert main(["demo", "--lang", "zh-CN", "--format", "json", "--out", str(tmp_path / "zh")]) == 1
    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if line.startswith(("asm", "cluster-a", "cluster-b"))]
    assert progress and all(english_left(line) == [] and "reading" not in line for line in progress)
    assert main(["demo", "--format", "json", "--out", str(tmp_path / "en")]) == 1
    assert "cluster-a: reading 64 kinds from the snapshot" in capsys.readouterr().err


def test_zh_cn_bold_in_summary_md_closes_in_commonmark():
    """summary.md (PR comments, chat) in zh-CN: "**不要继续<full-width colon>**必须先修复 ..." is no bold in
    CommonMark (GitHub): a closing `**` after punctuation must be followed by a space or punctuation, and a Chinese
    sentence goes on without one, so the reader saw the asterisks. The colon goes after the bold now; every bold
    msgstr is checked."""
    from markdown_it import MarkdownIt

    from tests.test_i18n import translated, zh_catalog

    render = MarkdownIt("commonmark").render
    bold = [(msgid, message.string) for (msgid, _), message in zh_catalog().items()
            if "**" in msgid and translated(message)]
    assert len(bold) >= 8
    for msgid, msgstr in bold:
        for text in (msgid, msgstr):
            filled = re.sub(r"\{[a-z_]+\}", "1", str(text))
            assert "**" not in html.unescape(re.sub(r"<[^>]+>", "", render(filled))), text


def test_next_steps_never_take_a_line_out_of_a_script():
    """A command line already given is not repeated, but never out of a loop or a line that goes on."""
    from auditor.render.context import commands_once

    loop = 'for p in a b; do\n  kubectl delete pod "$p"\ndone'
    items = [(loop, ["Pod a"]), (loop.replace("a b", "c"), ["Pod c"]), ("kubectl get x", ["X"]),
             ("kubectl get x\nkubectl get y", ["Y"]), ("kubectl get y \\\n  -o yaml", ["Z"])]
    out = commands_once(items, {})
    assert out == [loop, loop.replace("a b", "c"), "kubectl get x", "kubectl get y", "kubectl get y \\\n  -o yaml"]
    assert all(parses(text) for text in out)


def test_the_shell_comments_of_every_gate_are_said_in_zh_cn():
    """The demo's every gate in zh-CN: comments in commands are advice to the reader (bash ignores them), said in the
    report's language. AA1112's (an istioctl-rendered gateway: re-apply the IstioOperator, or set env), AA0702's
    ("use the istioctl that matches ...") and istio-residue's CRD deletes ("deletes every VirtualService in this
    cluster: only after ...") were English, built around names the catalog cannot hold."""
    from auditor.api import demo_snapshot_path

    demo = run_audit(open_snapshot(demo_snapshot_path()), "all")
    with language("zh-CN"):
        said = localized(demo).findings
    comments = [(code, found.group(1)) for code, text in zip(said["code"], said["remediation"].astype(str), strict=True)
                for line in text.split("\n") if (found := re.search(r"(?:^|\s)#\s+(.*)$", line))]
    assert {"AA1112", "AA0702", "AA2328"} <= {code for code, _ in comments}
    assert [(code, comment) for code, comment in comments if ENGLISH.search(comment)] == []


def test_the_advice_of_every_gate_is_said_in_zh_cn_with_commands_on_lines_of_their_own():
    """restart-risk's AA1420 / AA1421 advice ("Scale to 2 or more replicas for the move. Add a preStop hook ... Then
    move it: kubectl ...") was one English line with the command inside it: no command block to copy, and English in
    the zh-CN report. Each fix is a catalog line now, the command a line of its own."""
    from auditor.api import demo_snapshot_path
    from auditor.render.context import looks_like_command, split_remediation

    demo = run_audit(open_snapshot(demo_snapshot_path()), "all")
    with language("zh-CN"):
        said = localized(demo).findings
    advice = [(code, line) for code, text in zip(said["code"], said["remediation"].astype(str), strict=True)
              for line in text.split("\n") if line.strip() and not looks_like_command(line)]
    assert {"AA1420", "AA1421"} <= {code for code, _ in advice}
    assert [(code, line) for code, line in advice if ENGLISH.search(line)] == []
    risky = demo.findings[demo.findings["code"].astype(str).isin(["AA1420", "AA1421"])]
    for text in risky["remediation"].astype(str):
        _, commands = split_remediation(text)
        assert commands.startswith("kubectl ") and parses(commands)
