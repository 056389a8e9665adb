"""A CAB reader's pass over session 17's new outcomes, in en and zh-CN: what the operator reads and runs next.

- AA0718 (migration-resource): the command that shows the id a cluster writes of itself was inside the sentence
  ("...: kubectl ... -o jsonpath='{.data.clusterid}'; then audit again."): the PDF showed it as prose, and copied to
  the end of the line it ran "then audit again." as a command. It is on a line of its own now (a command block).
- AA2510 / AA2329 / AA2220 / AA2317 (why ASM's data plane uses an object: gateways.asm_data_plane_uses and
  mesh.asm_owned), AA2535 (which namespaces ASM's CNI skips), AA0717 / AA0731 (where the list of joined clusters came
  from): the clause was plain English inside the zh-CN sentence ("...但属于 ASM 或其他所有者 [its pods run ASM's
  proxy]"). Each is an i18n.Phrase now, said in the reader's language.
- Shell comments in remediations (AA2329/AA2220 "# keep it: do not delete it", AA2535, AA2534, AA2328) stayed English
  in zh-CN; they are advice, bash ignores them: said in the language now, the commands byte for byte the same.
- AA2534: the command that takes the label off was inside a comment ("# if it shows ...: kubectl ... label ..."):
  nothing to copy and run. It is its own line, the condition a comment above it.

Tests assert codes, structure (Phrase params said differently, commands equal, `bash -n`), never wording.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from auditor import kinds as K
from auditor.findings import records
from auditor.i18n import Phrase, language, say
from auditor.render.context import looks_like_command, split_remediation
from auditor.render.localize import localized
from tests import factory as f
from tests.checks.test_migration_cluster_profile import ID_A, ID_STAGING, ack_profile, run
from tests.checks.test_migration_coverage import clusters_in_mesh
from tests.checks.test_purge_cni import cluster as cni_cluster
from tests.checks.test_purge_in_use import asm_gateway, asm_istiod_service, istio_install
from tests.checks.test_residue_in_use import asm_injection, finished, injected_gateway, revision_tag

MIGRATING = [f.migration_cr("Migrating")]


def parses(command: str) -> bool:
    return subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0


def zh_rows(result: Any) -> list[dict[str, Any]]:
    with language("zh-CN"):
        return records(localized(result).findings)


def one(result: Any, code: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(English row, its params, zh-CN row) of the one finding of `code`."""
    frame = result.findings
    [index] = list(frame.index[frame["code"] == code])
    [en] = [r for r in records(frame.loc[[index]])]
    [zh] = [r for r in zh_rows(result) if r["code"] == code]
    return en, frame.loc[index, "params"], zh


def service_fronting_asm(audit):
    cluster = istio_install()
    cluster[2]["spec"]["selector"] = {"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"}
    return audit({"cluster-a": [*cluster, asm_gateway()]}, "uninstall", asm=MIGRATING).result


def tag_calling_asm(audit):
    labels = {"istio.io/tag": "default", "istio.io/rev": "1-24-6", "operator.istio.io/component": "Pilot",
              "app": "sidecar-injector"}
    tag = f.webhook_config("istio-revision-tag-default", service_name="istiod-1-24-6", revision="1-24-6",
                           labels=labels)
    canonical = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                 labels={"app": "sidecar-injector"})
    return audit({"cluster-a": [*istio_install(), asm_istiod_service(), canonical, tag]}, "uninstall",
                 asm=MIGRATING).result


def configmap_read_by_asm(audit):
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["volumes"] = [{"name": "config-volume", "configMap": {"name": "istio"}}]
    return audit({"cluster-a": [*istio_install(), f.mesh_configmap(), gateway]}, "uninstall", asm=MIGRATING).result


def asm_envoyfilter(audit):
    labelled = f.istio_object("EnvoyFilter", "asm-stats", "istio-system", {"configPatches": []},
                              labels={"operator.istio.io/component": "Pilot", "provider": "asm"})
    return audit({"cluster-a": [*istio_install(), labelled]}, "uninstall", asm=MIGRATING).result


def labelled_gateway_on_asm(audit):
    dep_rs = injected_gateway(purge_label=True)
    return finished(audit, [*dep_rs, *f.workload_pods(dep_rs, 2, proxy="asm", gateway=True, xds_agent=None)]).result


def labelled_tag_on_asm(audit):
    return finished(audit, [*asm_injection(), revision_tag("default", "1-24-6", purge_label=True)]).result


def asm_cni_exclusions_unknown(audit):
    return audit({"cluster-a": cni_cluster()}, "uninstall", asm=MIGRATING, config={"asm": {"cni": True}}).result


def shared_account(audit):
    cluster = istio_install()
    cluster[1]["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    # AA2534 is said when ServiceAccounts are not read (read, the account's label decides: AA2515 or nothing).
    return audit({"cluster-a": [*cluster, gateway]}, "uninstall", asm=MIGRATING,
                 unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}}).result


def contradicted_id(audit):
    return run(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A),
               {"cluster-a": [ack_profile(ID_STAGING)]}, ids={"cluster-a": ID_A}).result


@pytest.mark.parametrize(("scenario", "code", "param"), [
    (service_fronting_asm, "AA2510", "owner"),
    (tag_calling_asm, "AA2510", "owner"),
    (configmap_read_by_asm, "AA2510", "owner"),
    (asm_envoyfilter, "AA2510", "owner"),
    (labelled_gateway_on_asm, "AA2329", "why"),
    (labelled_tag_on_asm, "AA2220", "why"),
    (asm_cni_exclusions_unknown, "AA2535", "skips"),
    (contradicted_id, "AA0717", "source"),
    (contradicted_id, "AA0731", "source"),
])
def test_the_clause_inside_a_new_outcome_s_message_is_said_in_zh_cn(audit, scenario, code, param):
    en, params, zh = one(scenario(audit), code)
    clause = params[param]
    assert isinstance(clause, Phrase), (code, param)  # main: plain English text
    with language("zh-CN"):
        said = say(clause)
    assert said != str(clause) and said in zh["message"]
    assert str(clause) in en["message"]  # findings.json keeps the English


@pytest.mark.parametrize(("scenario", "code"), [
    (labelled_gateway_on_asm, "AA2329"), (labelled_tag_on_asm, "AA2220"), (asm_cni_exclusions_unknown, "AA2535"),
    (shared_account, "AA2534"),
])
def test_comments_in_a_remediation_are_said_in_zh_cn_and_the_commands_kept(audit, scenario, code):
    en, _, zh = one(scenario(audit), code)
    comment = re.compile(r"(^|\s)#\s.*$")
    en_lines, zh_lines = en["remediation"].splitlines(), zh["remediation"].splitlines()
    assert len(en_lines) == len(zh_lines)
    assert [comment.sub("", line) for line in en_lines] == [comment.sub("", line) for line in zh_lines]
    en_comments = [m.group(0) for line in en_lines if (m := comment.search(line))]
    zh_comments = [m.group(0) for line in zh_lines if (m := comment.search(line))]
    assert en_comments and all(a != b for a, b in zip(en_comments, zh_comments, strict=True))  # main: English
    assert parses(zh["remediation"]) and parses(en["remediation"])


def test_the_shared_account_s_label_command_is_a_line_to_run_not_a_comment(audit):
    en, _, _ = one(shared_account(audit), "AA2534")
    commands = [line for line in en["remediation"].splitlines() if not line.startswith("#")]
    assert all(looks_like_command(c) for c in commands)
    assert [c.split()[2] for c in commands] == ["get", "label"]  # main: the label command was inside the comment
    assert all(parses(c) for c in commands)


def test_the_id_a_cluster_writes_of_itself_is_a_command_on_its_own_line(audit):
    en, _, zh = one(contradicted_id(audit), "AA0718")
    for row in (en, zh):
        advice, commands = split_remediation(row["remediation"])
        assert advice and commands  # main: ("", "") - the command ran inside the sentence
        assert all(looks_like_command(line) and parses(line) for line in commands.splitlines())
        assert "ack-cluster-profile" in commands
    assert split_remediation(en["remediation"])[1] == split_remediation(zh["remediation"])[1]
