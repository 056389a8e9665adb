"""Property-based tests (hypothesis): malformed snapshot objects, files and version strings never crash the
audit, never produce a traceback and never produce GO; the result is bad input (UsageError, exit 2) or a
verdict that carries the doubt (UNKNOWN -> INCOMPLETE, or NO-GO).

Bounded and deterministic for CI (derandomize): ~100 examples per property, no deadline.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import api, mesh
from auditor import kinds as K
from auditor.config import ChecksConfig, Config
from auditor.errors import UsageError
from auditor.findings import records
from auditor.registry import load_registry
from auditor.sources.snapshot import open_snapshot
from tests import factory as f

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=30)
# Values of the wrong JSON type for any field a check reads (what an API server would never send).
WRONG_TYPES = st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False), st.lists(JSON_SCALARS, max_size=3),
                        st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=3))


def only(*check_ids: str) -> Config:
    return Config(checks=ChecksConfig(disable=[c for c in load_registry().checks if c not in check_ids]))


def audit(root: Path, phase: str, config: Config | None = None) -> Any:
    """The audit of a snapshot directory, or the UsageError it raises (exit 2). Anything else fails the test."""
    try:
        return api.run_audit(sources=open_snapshot(root), phase=phase, config=config or Config(), now=NOW)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)
        return exc


def write_cluster(root: Path, files: dict[str, str | bytes], version: dict[str, Any] | None = None) -> Path:
    directory = root / "c1"
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (directory / "version.json").write_text(json.dumps(version or f.version_info()))
    return root


def assert_never_go(outcome: Any) -> None:
    if isinstance(outcome, UsageError):
        return
    assert outcome.verdict.value != "GO", [
        (r["check_id"], r["status"], r["message"][:80]) for r in records(outcome.findings)]
    assert outcome.exit_code in (1, 3)


# ---------------------------------------------------------------- version strings
VERSIONISH = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\Av?[0-9]{1,6}([.-][0-9]{1,6}){0,5}([-+._][A-Za-z0-9.+-]{0,12})?\Z"),
    st.sampled_from(["latest", "", "v", "1", "1.", ".1", "1..2", "v1.x", "sha256:abc", "1-24-6",
                     "v1.24.6.62-g5c7e1f0b-aliyun", "9" * 5000, "1." + "9" * 5000, "\x00",
                     "\uff11.\uff12.\uff13"]),  # full-width digits
)


@FUZZ
@given(VERSIONISH)
def test_version_parsing_never_crashes_and_is_numeric_or_none(text):
    parsed = mesh.parse_version(text)
    assert parsed is None or all(isinstance(p, int) and p >= 0 for p in (parsed.major, parsed.minor, parsed.patch))
    mesh.image_tag(text)
    mesh.image_tag(f"docker.io/istio/pilot:{text}")


def readings_of(text: str) -> list[tuple[int, int]]:
    """MAJOR.MINOR (or MAJOR-MINOR) at the start of a version string, read here without auditor.mesh: a PASS
    must stand on a number that is in the text, whatever the product's parser does."""
    m = re.match(r"\s*v?(\d+)[.-](\d+)", text)
    return [(_number(m.group(1)), _number(m.group(2)))] if m else []


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 100 else 10**100  # int() refuses thousands of digits


@FUZZ
@given(git_version=st.one_of(VERSIONISH, WRONG_TYPES, st.none()),
       major=st.one_of(st.text(max_size=6), st.integers(), st.none()),
       minor=st.one_of(st.text(max_size=6), st.integers(), st.none()))
def test_unreadable_kubernetes_versions_are_unknown_never_pass(git_version, major, minor):
    info = {"gitVersion": git_version, "major": major, "minor": minor}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster(Path(tmp), {"ns.yaml": json.dumps(f.namespace("shop"))}, version=info)
        outcome = audit(root, "assessment", only("kubernetes-version"))
    if isinstance(outcome, UsageError):
        return
    [row] = [r for r in records(outcome.findings) if r["check_id"] == "kubernetes-version"]
    # Every reading the check may make: gitVersion (even when JSON made it a number), else the digits of
    # major and minor.
    readable = readings_of(str(git_version)) if git_version is not None else []
    major, minor = ("".join(c for c in str(x) if c.isdecimal()) if x is not None else "" for x in (major, minor))
    if major and minor:
        readable.append((_number(major), _number(minor)))
    if not readable:
        assert row["status"] == "UNKNOWN", row
        assert outcome.verdict.value != "GO"
    elif row["status"] == "PASS":  # a PASS stands on a reading of at least 1.21 (UNKNOWN is always allowed)
        assert any(v >= (1, 21) for v in readable), (row, readable)


@FUZZ
@given(tag=VERSIONISH)
def test_any_istiod_image_tag_is_judged_or_unknown_never_a_crash(tag):
    istiod = f.istiod()
    istiod["spec"]["template"]["spec"]["containers"][0]["image"] = f"docker.io/istio/pilot:{tag}"
    for key in ("app.kubernetes.io/version", "operator.istio.io/version"):
        istiod["metadata"]["labels"].pop(key, None)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster(Path(tmp), {"objects.json": json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            f.namespace("istio-system"), istiod]})})
        outcome = audit(root, "assessment", only("istio-version"))
    if isinstance(outcome, UsageError):
        return
    rows = [r for r in records(outcome.findings) if r["check_id"] == "istio-version"]
    assert rows
    # The tag is what follows the last ':' after the last '/', up to a digest ('@').
    written = f"docker.io/istio/pilot:{tag}".split("@", 1)[0].rsplit("/", 1)[-1]
    if ":" not in written or not readings_of(written.rsplit(":", 1)[1]):
        assert "PASS" not in {r["status"] for r in rows if r["kind"] == "Deployment" or "istiod" in r["message"]}


# ---------------------------------------------------------------- snapshot files
@FUZZ
@given(doc=JSON_VALUES)
def test_random_json_documents_in_a_snapshot_are_bad_input_or_never_go(doc):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster(Path(tmp), {"objects.json": json.dumps(doc)})
        assert_never_go(audit(root, "all"))


@FUZZ
@given(text=st.text(max_size=300))
def test_random_yaml_text_in_a_snapshot_is_bad_input_or_never_go(text):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster(Path(tmp), {"objects.yaml": text})
        assert_never_go(audit(root, "all"))


KIND_SHAPES = st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1", "istio.alibabacloud.com/v1beta1",
                                    "networking.istio.io/v1"]),
     "kind": st.sampled_from(["Pod", "Deployment", "ReplicaSet", "Namespace", "ConfigMap", "Service", "Job",
                              "ASMMigrateFromIstio", "VirtualService", "List"]),
     "metadata": st.one_of(JSON_VALUES, st.fixed_dictionaries(
         {"name": st.text(min_size=1, max_size=20)},
         optional={"namespace": st.one_of(st.text(max_size=10), WRONG_TYPES),
                   "labels": st.one_of(st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
                                       WRONG_TYPES),
                   "ownerReferences": JSON_VALUES})),
     },
    optional={"spec": JSON_VALUES, "status": JSON_VALUES, "items": JSON_VALUES, "data": JSON_VALUES})


@FUZZ
@given(objects=st.lists(KIND_SHAPES, min_size=1, max_size=4))
def test_kubernetes_shaped_objects_with_random_bodies_are_bad_input_or_never_go(objects):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_cluster(Path(tmp), {"objects.json": json.dumps({"apiVersion": "v1", "kind": "List",
                                                                     "items": objects})})
        assert_never_go(audit(root, "all"))


# ---------------------------------------------------------------- the evidence of a GO, made malformed
def go_objects() -> list[dict[str, Any]]:
    """Everything pods-xds-agent and migration-resource need for GO at the migrating gate."""
    cart = f.deployment("cart")
    return [f.namespace("shop", {"istio-injection": "enabled"}), *cart,
            *f.workload_pods(cart, 3, proxy="istio", xds_agent="true"),
            *f.workload_pods(cart, 1, proxy="istio", native=True, xds_agent="true")]


GO_CHECKS = ("pods-xds-agent", "migration-resource")


def go_snapshot(root: Path, objects: list[dict[str, Any]], cr: dict[str, Any]) -> Path:
    write_cluster(root, {"objects.json": json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})})
    (root / "asm").mkdir()
    (root / "asm" / "cr.json").write_text(json.dumps(cr))
    (root / "asm" / "version.json").write_text(json.dumps(f.version_info()))
    # A cluster without VMs: its WorkloadEntries and WorkloadGroups read, none found (pods-xds-agent judges Istio's
    # proxies on VMs from them, and says UNKNOWN when they were not collected: tests/checks/test_vm_migrating.py).
    manifest = f.no_vms_manifest("c1")
    # And its other workload kinds read, none found: a template of one of them running no pod (a CronJob between runs)
    # could turn PROXY_CONFIG_XDS_AGENT off for its next pods, which pods-xds-agent says UNKNOWN of when they were not
    # collected (AA1136, tests/checks/test_xds_agent_templates_23j.py).
    manifest["clusters"][0]["kinds"].update({kind.key: "ok" for kind in (
        K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.JOB, K.REPLICATIONCONTROLLER, K.CLONESET, *K.ADVANCED_KINDS)})
    manifest["clusters"].append({"name": "asm", "role": "asm", "dir": "asm"})
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_the_unmutated_evidence_is_go():
    """The control: without a mutation the fixture below is GO, so a non-GO there is caused by the mutation."""
    with tempfile.TemporaryDirectory() as tmp:
        outcome = audit(go_snapshot(Path(tmp), go_objects(), f.migration_cr("SetupIstioForMigrate")), "migrating",
                        only(*GO_CHECKS))
    assert outcome.verdict.value == "GO", [(r["check_id"], r["status"], r["message"]) for r in
                                           records(outcome.findings)]


# Fields these two checks read to say GO, with the JSON type the API server sends: the proxy container
# (name, env, image), the pod's owner, labels, phase, and the migration resource's state and counters.
POD_EVIDENCE: list[tuple[tuple[Any, ...], type]] = [
    (("spec",), dict), (("spec", "containers"), list), (("spec", "initContainers"), list),
    (("spec", "containers", -1), dict), (("spec", "containers", -1, "name"), str),
    (("spec", "containers", -1, "env"), list), (("spec", "containers", -1, "image"), str),
    (("spec", "containers", -1, "env", -1), dict), (("spec", "containers", -1, "env", -1, "name"), str),
    (("spec", "containers", -1, "env", -1, "value"), str), (("metadata", "ownerReferences"), list),
    (("metadata", "ownerReferences", 0, "kind"), str), (("metadata", "annotations"), dict),
    (("metadata", "labels"), dict), (("status",), dict), (("status", "phase"), str), (("status", "conditions"), list),
]
CR_EVIDENCE: list[tuple[tuple[Any, ...], type]] = [
    (("spec",), dict), (("status",), dict), (("spec", "desiredState"), str), (("status", "state"), str),
    (("status", "message"), str), (("spec", "retryCounter"), int), (("status", "retryCounter"), int)]
# Keys the API server always sends: null there is malformed too (elsewhere null is "absent", which is valid).
REQUIRED = [("spec",), ("spec", "containers"), ("spec", "containers", -1), ("spec", "containers", -1, "name"),
            ("spec", "containers", -1, "env", -1), ("spec", "containers", -1, "env", -1, "name")]

_BY_TYPE = {dict: st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=3),
            list: st.lists(JSON_SCALARS, max_size=3), str: st.text(max_size=10),
            int: st.integers(), float: st.floats(allow_nan=False), bool: st.booleans()}


def wrong_for(expected: type) -> st.SearchStrategy[Any]:
    """JSON values of any type but `expected` (bools are not numbers here, as for the API server)."""
    return st.one_of(*[strategy for t, strategy in _BY_TYPE.items() if t is not expected
                       and not (expected is int and t is float)])


def set_path(obj: Any, path: tuple[Any, ...], value: Any) -> bool:
    for step in path[:-1]:
        try:
            obj = obj[step]
        except (KeyError, IndexError, TypeError):
            return False
    try:
        if isinstance(obj, dict) or (isinstance(obj, list) and -len(obj) <= path[-1] < len(obj)):
            obj[path[-1]] = value
            return True
    except TypeError:
        return False
    return False


@FUZZ
@given(data=st.data(), target=st.integers(min_value=0, max_value=3), on_cr=st.booleans())
def test_evidence_of_the_wrong_type_is_bad_input_or_never_go(data, target, on_cr):
    objects = go_objects()
    cr = f.migration_cr("SetupIstioForMigrate")
    pods = [o for o in objects if o["kind"] == "Pod"]
    if on_cr:
        path, expected = data.draw(st.sampled_from(applicable(cr, CR_EVIDENCE)))
        changed = set_path(cr, path, data.draw(wrong_for(expected)))
    else:
        pod = pods[target]
        if pod["spec"].get("initContainers"):  # the native sidecar's proxy
            evidence = [(("spec", "initContainers", *p[2:]) if p[:2] == ("spec", "containers") else p, t)
                        for p, t in POD_EVIDENCE]
        else:
            evidence = POD_EVIDENCE
        path, expected = data.draw(st.sampled_from(applicable(pod, evidence)))
        changed = set_path(pod, path, data.draw(wrong_for(expected)))
    assert changed, path  # every example mutates the evidence: none is skipped
    with tempfile.TemporaryDirectory() as tmp:
        outcome = audit(go_snapshot(Path(tmp), objects, cr), "migrating", only(*GO_CHECKS))
    assert_never_go(outcome)


def applicable(obj: Any, evidence: list[tuple[tuple[Any, ...], type]]) -> list[tuple[tuple[Any, ...], type]]:
    """The evidence paths `obj` has (a pod without an owner has no ownerReferences[0].kind to change)."""
    return [(p, t) for p, t in evidence if set_path(copy.deepcopy(obj), p, None)]


ODD_STRING_PATHS = [p for p, _ in applicable(next(o for o in go_objects() if o["kind"] == "Pod"),
                                             [(p, t) for p, t in POD_EVIDENCE if t is str])]


@FUZZ
@given(pod_path=st.sampled_from(ODD_STRING_PATHS), value=st.text(max_size=30))
def test_evidence_with_odd_strings_never_crashes(pod_path, value):
    """Type-valid but odd strings (a different env value, image, phase): judged, never a crash."""
    objects = copy.deepcopy(go_objects())
    pod = next(o for o in objects if o["kind"] == "Pod")
    assert set_path(pod, pod_path, value), pod_path  # the paths are those this pod has (ODD_STRING_PATHS)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = audit(go_snapshot(Path(tmp), objects, f.migration_cr("SetupIstioForMigrate")), "migrating",
                        only(*GO_CHECKS))
    if not isinstance(outcome, UsageError):
        assert outcome.exit_code in (0, 1, 3)


MALFORMED = ([(p, None) for p in REQUIRED] + [(p, 7) for p, t in POD_EVIDENCE if t is not int]
             + [(("cr", *p), 7 if t is not int else "7") for p, t in CR_EVIDENCE] + [(("cr", "status", "state"), None)])


@pytest.mark.parametrize("path, value", MALFORMED, ids=str)
def test_each_malformed_evidence_field_is_never_go(path, value):
    """Deterministic companion of the fuzz: each evidence field made malformed in turn."""
    objects = go_objects()
    cr = f.migration_cr("SetupIstioForMigrate")
    if path[0] == "cr":
        changed = set_path(cr, path[1:], value)
    else:
        changed = set_path(next(o for o in objects if o["kind"] == "Pod"), path, value)
    assert changed, path
    with tempfile.TemporaryDirectory() as tmp:
        outcome = audit(go_snapshot(Path(tmp), objects, cr), "migrating", only(*GO_CHECKS))
    assert_never_go(outcome)
