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

import re
from typing import Any

import pandas as pd
import pytest

from auditor.i18n import language
from auditor.render.localize import localized
from tests import factory as f
from tests import install_shapes as S
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
