"""Copy-paste commands quote every name from cluster data, not only the finding's own (engine._defuse_remediation).

A snapshot can hold any string: another object's name, a label value, a CRD's kind, an owner reference's
kind. Each test plants one in the value a check puts into its command and reads the command the way a
POSIX shell would (quotes, `;` `|` `$(` and `#` comments): the value is there only quoted, as one word
(or, inside a comment, kept on its line), and the command it smuggles in is never a word of its own.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections import Counter
from typing import Any

import pytest

from auditor import mesh
from auditor.findings import records
from tests import factory as f

IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
ASM_MARKS = {"asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm"}
CCM = "service.beta.kubernetes.io/"
PWN = "touch"  # the command word every payload tries to run
PAYLOADS = {
    "semicolon": "x;touch /tmp/pwned",
    "subshell": "$(touch /tmp/pwned)",
    "backtick": "`touch /tmp/pwned`",
    "newline": "x\ntouch /tmp/pwned",
    "quote": "x' ; touch /tmp/pwned ; '",
}
payloads = pytest.mark.parametrize("value", list(PAYLOADS.values()), ids=list(PAYLOADS))


def shell_words(command: str) -> list[str]:
    """The words a POSIX shell reads: quotes honoured, `;|&()` split off, `#` comments dropped up to the newline."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def assert_quoted(command: str, value: str, *, comment: bool = False) -> None:
    """`value` occurs only quoted as one shell word (in a comment: also kept on its line), and runs nothing."""
    shown = shlex.quote(value).replace("\n", "\\n") if comment else shlex.quote(value)
    assert shown in command, command
    assert value not in command.replace(shown, ""), command  # never unquoted anywhere else
    words = shell_words(command)
    assert PWN not in words, words
    if not comment:
        assert any(value in word for word in words), words  # the whole value is inside one word


def only(rows: list[dict[str, Any]], **match: str) -> dict[str, Any]:
    (row,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return row


# ================================================================ another object's value in the command
@payloads
def test_egress_patch_is_one_word_whatever_the_asm_gateway_is_called(audit, value):
    """The JSON patch swaps in the ASM egress host, made from an IstioGateway's name on the ASM control plane."""
    vs = f.virtualservice("legacy", "istio-system", hosts=["legacy.example.com"],
                          tcp=[f.route(("istio-egressgateway", None), port=443)])
    asm_gw = f.istio_gateway_cr(value, "egress", namespace="egress")  # sorts before istio-system: it is chosen
    a = audit({"cluster-a": [vs]}, "uninstall", asm=[asm_gw])
    row = only(a.rows("egress-routes-to-asm"), cluster="cluster-a")
    assert row["status"] == "FAIL" and row["name"] == "legacy"
    words = shell_words(row["remediation"])
    assert PWN not in words
    ops = json.loads(words[words.index("-p") + 1])
    assert ops == [{"op": "replace", "path": "/spec/tcp/0/route/0/destination/host",
                    "value": f"istio-{value}.egress.svc.cluster.local"}]


@payloads
def test_asm_gateway_status_command_quotes_the_istiogateway(audit, value):
    """The finding is Istio's gateway Deployment; the command reads the ASM IstioGateway (name and namespace)."""
    cluster = [f.gateway_deployment("istio-ingressgateway"), f.gateway_service("istio-ingressgateway")]
    a = audit({"cluster-a": cluster}, "uninstall", config=IDS,
              asm=[f.istio_gateway_cr(value, "ingress", cluster_ids=["c-a"], namespace=value)])
    row = only(a.rows("asm-gateways-present"), name="istio-ingressgateway")
    assert row["status"] == "FAIL"  # declared, not deployed (AA1712)
    assert_quoted(row["remediation"], value)
    assert row["remediation"].count(shlex.quote(value)) == 2


@payloads
def test_residue_deletes_each_fronting_service_as_one_word(audit, value):
    gateway = f.gateway_deployment("istio-ingressgateway")
    front = f.gateway_service(value, selector={"app": "istio-ingressgateway", "istio": "ingressgateway"})
    a = audit({"cluster-a": [gateway, front]}, "finished", asm=[])
    row = only(a.rows("istio-residue"), name="istio-ingressgateway")
    assert row["status"] == "FAIL"
    assert_quoted(row["remediation"], value)
    assert row["remediation"].endswith(f"delete service/{shlex.quote(value)}")


@payloads
@pytest.mark.parametrize("asm_istiod", [False, True], ids=["one-revision", "several-revisions"])
def test_residue_relabel_quotes_the_asm_revision(audit, value, asm_istiod):
    """The revision comes from an ASM injector's labels: the target of the relabel, or listed in the comment."""
    injector = f.webhook_config("asm-sidecar-injector", service_name="istiod-1-24-6", revision=value,
                                labels=ASM_MARKS)
    cluster = [f.namespace("payments", labels={"istio.io/rev": "1-22-3"}), injector]
    if asm_istiod:  # a second ASM revision: no single target, the revisions are named in a comment
        cluster.append(f.service("istiod-1-24-6", "istio-system", labels={"app": "istiod", **ASM_MARKS},
                                 cluster_ip="None"))
    a = audit({"cluster-a": cluster}, "finished", asm=[])
    row = only(a.rows("istio-residue"), name="payments")
    assert row["status"] == "FAIL"
    assert_quoted(row["remediation"], value, comment=asm_istiod)
    if not asm_istiod:
        assert f"istio.io/rev={value}" in shell_words(row["remediation"])


@payloads
def test_residue_crd_kind_stays_out_of_its_command(audit, value):
    """The CRD's spec.names.kind (free text) was quoted into the command's comment; the comment is a catalog sentence
    now (said in the report's language), the CRD named by its name: the kind is nowhere in the command."""
    crd = f.crd("destinationrules.networking.istio.io", annotations={"meta.helm.sh/release-name": "istio-base"})
    crd["spec"]["names"]["kind"] = value
    a = audit({"cluster-a": [crd]}, "finished", asm=[])
    row = only(a.rows("istio-residue"), name="destinationrules.networking.istio.io")
    assert row["status"] == "WARN"
    assert value not in row["remediation"] and PWN not in shell_words(row["remediation"])
    assert len(row["remediation"].splitlines()) == 1


@payloads
def test_orphaned_istiod_pods_are_deleted_one_word_each(audit, value):
    """The finding names the workload (istiod-<hash>); the command deletes its pods by their own names."""
    pods = [f.pod(value, "istio-system", proxy=None, owner=("ReplicaSet", "istiod-7f9c6d5b8")),
            f.pod("istiod-7f9c6d5b8-k2x9q", "istio-system", proxy=None, owner=("ReplicaSet", "istiod-7f9c6d5b8"))]
    a = audit({"cluster-a": pods}, "finished", asm=[])
    row = only(a.rows("istio-control-plane-removed"), name="istiod-7f9c6d5b8")
    assert row["status"] == "FAIL"
    assert_quoted(row["remediation"], value)
    words = shell_words(row["remediation"])
    assert words[words.index("delete") + 1:] == ["pod/" + n for n in sorted([value, "istiod-7f9c6d5b8-k2x9q"])]


@payloads
def test_unready_asm_pod_is_described_by_its_quoted_name(audit, value):
    dep, rs = f.deployment("cart")
    sick = f.pod(value, "shop", proxy="asm", owner=("ReplicaSet", rs["metadata"]["name"]), ready=False)
    a = audit({"cluster-a": [dep, rs, sick]}, "uninstall", asm=[])
    row = only(a.rows("asm-proxies-ready"), name="cart")
    assert row["status"] == "FAIL"
    assert_quoted(row["remediation"], value)
    assert row["remediation"].count(shlex.quote(value)) == 2  # describe, then logs


@payloads
def test_cronjob_restart_note_stays_a_comment(audit, value):
    """cross-cluster-gateway-first lists other workloads' restarts; a CronJob's is a comment naming it."""
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": f.meta("nightly-29012345", "shop", ownerReferences=[
               {"apiVersion": "batch/v1", "kind": "CronJob", "name": value, "uid": "1", "controller": True}]),
           "spec": {"template": {"metadata": {"labels": {"app": "nightly"}},
                                 "spec": {"containers": [{"name": "app", "image": "registry.example.com/n:1"}]}}}}
    pod = f.pod("nightly-29012345-x7k2p", "shop", proxy="asm", owner=("Job", "nightly-29012345"),
                created="2026-11-12T08:00:00Z")
    from tests.checks.test_gateways import asm_crossnet  # deployed in the cluster: AA1814 otherwise

    eastwest = [f.gateway_deployment("istio-eastwestgateway", labels={"topology.istio.io/network": "network-1"})]
    a = audit({"cluster-a": [*eastwest, asm_crossnet(), job, pod]}, "uninstall", config=IDS,
              asm=[f.istio_gateway_cr("asm-cross-network-m1", "cross-network", cluster_ids=["c-a"],
                                      created="2026-11-13T09:41:30Z")])
    (row,) = a.rows("cross-cluster-gateway-first")
    assert row["status"] == "FAIL" and row["name"] == ""  # no subject: the engine guards nothing here
    assert row["evidence"]["workloads"] == [f"CronJob shop/{value}"]
    assert_quoted(row["remediation"], value, comment=True)
    assert len(row["remediation"].splitlines()) == 1


@payloads
def test_inject_note_for_an_unknown_owner_kind_stays_a_comment(audit, value):
    """An owner reference's kind is any string; the move command for it is a comment that names it."""
    pod = f.pod("cart-x7k2p", "shop", owner=(value, "cart"))  # one pod, no preStop: restart-risk warns too
    a = audit({"cluster-a": [pod]}, "uninstall", asm=[])
    for check_id in ("istio-sidecars-remaining", "restart-risk"):
        row = only(a.rows(check_id), name="cart")
        assert row["kind"] == value
        assert_quoted(row["remediation"], value, comment=True)
        # One comment line holds it (restart-risk's advice lines come before it, each a line of its own).
        shown = shlex.quote(value).replace("\n", "\\n")
        holding = [line for line in row["remediation"].splitlines() if shown in line]
        assert len(holding) == 1 and holding[0].startswith("# ")


# ================================================================ the finding's own name, holding a quote
# The engine withholds a command that carries the finding's name unquoted; quoted with a `'`, the name is not
# there verbatim, so the command is shown: it must then be quoted, not merely withheld by luck.
OWN = "it's;touch pwned"


def _istiod_reading(configmap: str) -> dict:
    istiod = f.istiod()
    istiod["spec"]["template"]["spec"]["volumes"] = [{"name": "config-volume", "configMap": {"name": configmap}}]
    return istiod


def _renamed(obj: dict, name: str) -> dict:
    obj["metadata"]["name"] = name
    return obj


def _kube_injected(name: str) -> list[dict]:
    rendered = f.pod("render", "shop", xds_agent=None)
    status = rendered["metadata"]["annotations"]["sidecar.istio.io/status"]
    return list(f.deployment(name, "shop", containers=rendered["spec"]["containers"],
                             template_annotations={"sidecar.istio.io/status": status}))


def _shared_clb(istio_service: str) -> list[dict]:
    lb = {f"{CCM}alibaba-cloud-loadbalancer-id": "lb-1"}
    selector = {"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"}
    return [f.gateway_deployment("istio-ingressgateway"),
            f.gateway_service(istio_service, selector={"app": "istio-ingressgateway", "istio": "ingressgateway"},
                              annotations={**lb, f"{CCM}alibaba-cloud-loadbalancer-weight": "20"}),
            f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress"),
            f.gateway_service("istio-ingressgateway-asm", selector=selector, annotations={**lb, **ASM_MARKS})]


OWN_NAME_CASES = {
    "istio-config-imported": ("uninstall", OWN, lambda: [f.virtualservice(OWN)]),
    "mesh-config-xds-agent": ("migrating", OWN, lambda: [
        _istiod_reading(OWN), f.configmap(OWN, "istio-system", {"mesh": "trustDomain: cluster.local\n"})]),
    "istiod-restarted": ("migrating", OWN, lambda: [_renamed(f.istiod(), OWN), f.mesh_configmap()]),
    "istio-revisions": ("assessment", OWN, lambda: [
        f.istiod(), f.deployment(OWN, "istio-operator", labels={"name": "istio-operator"})[0]]),
    "ingress-lb-weights": ("uninstall", OWN, lambda: _shared_clb(OWN)),
    "manual-injection": ("assessment", OWN, lambda: _kube_injected(OWN)),
    "istio-control-plane-removed": ("finished", OWN, lambda: [f.istio_operator_cr(OWN)]),
    "istio-residue": ("finished", f"istiod-{OWN}", lambda: [f.cluster_rbac(f"istiod-{OWN}")]),
}


@pytest.mark.parametrize("check_id", list(OWN_NAME_CASES))
def test_own_name_with_a_quote_is_shown_quoted(audit, check_id):
    phase, name, objects = OWN_NAME_CASES[check_id]
    a = audit({"cluster-a": objects()}, phase, asm=[])
    row = only(a.rows(check_id), name=name)
    assert row["status"] in ("FAIL", "WARN")
    assert not row["remediation"].startswith("# no command shown"), row["remediation"]
    assert_quoted(row["remediation"], name)


# ================================================================ builders
@payloads
def test_kubeconfig_variable_is_one_plain_word_for_any_cluster_name(value):
    # Double-quoted: the path it holds may have spaces, and it stays one word.
    assert re.fullmatch(r'"\$\{KUBECONFIG_[A-Z0-9_]+:\?\}"', mesh.kubeconfig_var(value))
    assert shell_words(mesh.kubectl(value))[1] == f"--kubeconfig={mesh.kubeconfig_var(value).strip(chr(34))}"


@payloads
def test_migration_patch_json_is_one_word(value):
    words = shell_words(mesh.desired_state_command(value))
    assert PWN not in words
    assert json.loads(words[-1]) == {"spec": {"desiredState": value}}
    assert mesh.desired_state_command("Migrating").endswith(""" -p '{"spec":{"desiredState":"Migrating"}}'""")


# ================================================================ names that read as options (issue 16 item 1)
# `kubectl delete pod --all` deletes every pod; quoting does not help (`--all` needs no quotes). Every command
# names objects as `kind/name` (or after `--`), and a namespace starting with `-` as `--namespace=...`.
OPTION_NAMES = ["--all", "--field-selector=metadata.name=x"]
OPTION_NAMESPACE = "--all-namespaces"
# Every option our commands write, standing alone; values of the first group follow as the next word.
FLAGS_WITH_VALUE = {"-n", "-l", "-o", "-p", "-c", "-f"}
OUR_FLAGS = FLAGS_WITH_VALUE | {"-r", "--type=merge", "--type=json", "--overwrite", "--previous", "--no-headers",
                                "--replicas=0", "--purge", "--dry-run", "-A", "--"}
OUR_FLAG_PREFIXES = ("--kubeconfig=", "--namespace=")


COMMAND_START = re.compile(r"\b(?:kubectl|istioctl) |KUBECONFIG=")


def words_read_as_options(command: str) -> list[str]:
    """Words of the commands in `command` (prose before them skipped) that a parser reads as options we did not
    write."""
    bad = []
    for line in command.splitlines():
        start = COMMAND_START.search(line)
        if not start:
            continue
        words = shell_words(line[start.start():])
        ended = False  # after `--` every word is a name
        for previous, word in zip(["", *words], words, strict=False):
            if ended or word == "-" or not word.startswith("-"):
                continue
            if previous in FLAGS_WITH_VALUE:
                bad.append(f"{previous} {word}")
            elif word == "--":
                ended = True
            elif word not in OUR_FLAGS and not word.startswith(OUR_FLAG_PREFIXES):
                bad.append(word)
    return bad


def test_the_option_checker_catches_a_bare_option_name():
    assert words_read_as_options("kubectl -n shop delete pod --all") == ["--all"]
    assert words_read_as_options("kubectl -n --all-namespaces delete pod/x") == ["-n --all-namespaces"]
    assert words_read_as_options("kubectl --namespace=--all delete pod/--all  # note --all") == []
    assert words_read_as_options("kubectl argo rollouts restart -n shop -- --all") == []


def _option_named_objects(name: str) -> dict[str, tuple[str, list[dict]]]:
    """Scenarios (phase, data-plane objects) whose findings carry a command built around `name`."""
    asm_label = {"sidecar.asm.aliyun.com/inject": "true"}
    dep, rs = f.deployment(name, "shop")
    moved_dep, moved_rs = f.deployment("moved", OPTION_NAMESPACE)
    labelled = [f.pod(f"p{i}", "shop", owner=(kind, name), labels={"app": f"p{i}", **asm_label})
                for i, kind in enumerate(["Job", "ReplicaSet", "Rollout", "CloneSet"])]
    return {
        "sidecars": ("uninstall", [dep, rs, *f.workload_pods((dep, rs), 2), moved_dep, moved_rs,
                                   *f.workload_pods((moved_dep, moved_rs), 1),
                                   f.pod(name, "ops", labels={"app": "debug", **asm_label}), *labelled,
                                   f.pod("kruise-x", "shop", owner=("CloneSet", name + "-k"))]),
        "own-name": ("uninstall", [f.virtualservice(name), *_shared_clb(name)]),
        "mesh-config": ("migrating", [_istiod_reading(name), f.configmap(name, "istio-system", {"mesh": "x: 1\n"})]),
        "istiod": ("migrating", [_renamed(f.istiod(), name), f.mesh_configmap()]),
        "operator": ("assessment", [f.istiod(), f.deployment(name, OPTION_NAMESPACE,
                                                             labels={"name": "istio-operator"})[0]]),
        "kube-inject": ("assessment", _kube_injected(name)),
        "residue": ("finished", [
            f.istio_operator_cr(name, OPTION_NAMESPACE), f.cluster_rbac(f"istiod-{name}"),
            f.webhook_config(name, labels=f.ISTIO_INSTALL_LABELS),
            f.crd(name + ".networking.istio.io", annotations={"meta.helm.sh/release-name": "istio-base"}),
            f.gateway_deployment("istio-ingressgateway"),
            f.gateway_service(name, selector={"app": "istio-ingressgateway", "istio": "ingressgateway"}),
            f.pod(name, "istio-system", proxy=None, owner=("ReplicaSet", "istiod-7f9c6d5b8"))]),
        "unready": ("uninstall", [dep, rs, f.pod(name, "shop", proxy="asm", ready=False,
                                                 owner=("ReplicaSet", rs["metadata"]["name"]))]),
    }


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_no_command_reads_an_object_name_as_an_option(audit, name):
    """Objects named like options, through the real engine: every printed command keeps them names."""
    with_name: set[str] = set()
    for phase, objects in _option_named_objects(name).values():
        a = audit({"cluster-a": objects}, phase, asm=[])
        for row in records(a.result.findings):
            command = row["remediation"] or ""
            assert words_read_as_options(command) == [], (row["check_id"], command)
            if name in command and not command.startswith("# no command shown"):
                with_name.add(row["check_id"])
    # Not vacuous: each command builder ran with the name in its command.
    assert with_name >= {"istio-sidecars-remaining", "restart-risk", "istio-config-imported", "ingress-lb-weights",
                         "mesh-config-xds-agent", "istiod-restarted", "manual-injection",
                         "istio-control-plane-removed", "istio-residue", "asm-proxies-ready"}, with_name


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "Pod", "Rollout",
                                  "CloneSet", "CronJob"])
@pytest.mark.parametrize("name", OPTION_NAMES)
def test_restart_and_move_commands_keep_option_names_names(kind, name):
    for command in (mesh.restart_command("c1", kind, OPTION_NAMESPACE, name),
                    mesh.asm_inject_command("c1", kind, OPTION_NAMESPACE, name)):
        assert words_read_as_options(command) == [], command


def test_the_engine_asks_the_shell_only_about_a_name_the_command_holds(monkeypatch):
    """_defuse_remediation's answers for names inside and outside the command, and the cost: shell_safe (a regex) is
    asked only about a value the remediation contains (fail on the old code: asked of every name and namespace)."""
    from auditor.judge import _defuse_remediation
    from auditor.model import Finding, Status

    asked: list[str] = []
    shell_safe = mesh.shell_safe

    def counting(text: str) -> bool:
        asked.append(text)
        return shell_safe(text)

    monkeypatch.setattr(mesh, "shell_safe", counting)
    elsewhere = Finding(Status.FAIL, "c1", "m", namespace="x;touch /tmp/pwned", name="web",
                        remediation="kubectl rollout restart deployment/api -n shop")
    inside = Finding(Status.FAIL, "c1", "m", namespace="shop", name="x;touch /tmp/pwned",
                     remediation="kubectl delete pod x;touch /tmp/pwned -n shop")
    plain = Finding(Status.FAIL, "c1", "m", namespace="shop", name="web",
                    remediation="kubectl rollout restart deployment/web -n shop")
    for finding in (elsewhere, inside, plain):
        _defuse_remediation(finding)
    assert asked == ["x;touch /tmp/pwned", "web", "shop"]
    assert elsewhere.remediation == "kubectl rollout restart deployment/api -n shop"
    assert inside.remediation == ("# no command shown: the name 'x;touch /tmp/pwned' contains characters a shell "
                                  "would interpret (corrupt or hostile input); act on it by hand")
    assert plain.remediation == "kubectl rollout restart deployment/web -n shop"


def test_the_engine_asks_the_shell_once_per_name_in_an_audit(audit, monkeypatch):
    """shell_safe (a regex) is asked by the engine once per distinct name or namespace in an audit, not once per
    finding naming it (fail on the old code: "shop" asked for each of its workloads' findings in each gate)."""
    asked: list[str] = []
    shell_safe = mesh.shell_safe

    def counting(text: str) -> bool:
        if sys._getframe(1).f_globals["__name__"] == "auditor.judge":
            asked.append(text)
        return shell_safe(text)

    monkeypatch.setattr(mesh, "shell_safe", counting)
    apps = [f.deployment(name, replicas=1) for name in ("cart", "web", "x;touch")]
    result = audit({"c1": [f.namespace("shop", {"istio-injection": "enabled"}), f.istiod(), f.mesh_configmap(),
                           *(obj for app in apps for obj in app),
                           *(pod for app in apps for pod in f.workload_pods(app, 1))]}, "all")
    # Before: cart, web, x;touch, istiod and istio-system twice, shop 4 times.
    assert sorted(Counter(asked).items()) == [("cart", 1), ("istio-system", 1), ("istiod", 1), ("shop", 1),
                                              ("web", 1), ("x;touch", 1)]
    # The answer stands for every finding naming it: no command shown around the hostile name, in any gate or check.
    hostile = [r for r in records(result.result.findings) if r["name"] == "x;touch" and r["remediation"]]
    assert {r["check_id"] for r in hostile} == {"istio-sidecars-remaining", "restart-risk"}
    assert all(r["remediation"].startswith("# no command shown: the name 'x;touch'") for r in hostile)
