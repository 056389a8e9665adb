"""The work per finding after the checks, counted (a 50k-pod audit has 25,000 findings whose columns hold a few enum
members and shared names): the findings frame's categorical columns are built by pandas from each distinct value a
column holds, not by hashing (and writing out as text) every finding's; findings.json's records write each category's
text once; a fleet pools each finding's strings once, not once per gate."""
from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

from auditor import api, judge
from auditor import check as check_module
from auditor.check import Check, ClusterCheck, Context, copy_finding
from auditor.config import Config
from auditor.engine import run_audit
from auditor.findings import findings_frame, records
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.result import AuditResult
from auditor.sources.snapshot import open_snapshot
from bench.fleet import ensure_fleet
from bench.generate import generate
from tests import factory

CLUSTERS = ("c0", "c1")
NAMESPACES = ("ns0", "ns1", "ns2", "ns3")


def _findings(count: int) -> list[Finding]:
    return [Finding(Status.FAIL if i % 3 else Status.PASS, CLUSTERS[i % 2], f"m{i}", kind="Deployment",
                    namespace=NAMESPACES[i % 4], name=f"w{i}", severity=Severity.MAJOR if i % 2 else Severity.MINOR,
                    gate="migrating" if i % 2 else "setup", check_id="restart-risk", title="Restart risk",
                    default_severity=None if i % 5 else Severity.INFO, code="AA1101") for i in range(count)]


@pytest.fixture
def categorical_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many values each pd.Categorical built while the test runs was given."""
    sizes: list[int] = []
    real = pd.Categorical.__init__

    def counting(self: pd.Categorical, values: Any = None, *args: Any, **kwargs: Any) -> None:
        sizes.append(len(values) if values is not None else 0)
        real(self, values, *args, **kwargs)

    monkeypatch.setattr(pd.Categorical, "__init__", counting)
    return sizes


def test_categorical_columns_are_built_from_the_distinct_objects(categorical_sizes: list[int]) -> None:
    """1,000 findings: each categorical column is built from its few distinct values (at most 5 here: the
    statuses, severities, gates, clusters, namespaces). On the old code 9 categoricals were given all 1,000."""
    frame = findings_frame(_findings(1_000))
    assert len(frame) == 1_000
    # cluster, check_id, kind, namespace, code, aspect; gate, status and both severities are made from codes (fixed
    # dtypes)
    assert len(categorical_sizes) == 6
    assert max(categorical_sizes) <= 5
    assert frame["status"].astype(str).tolist()[:4] == ["PASS", "FAIL", "FAIL", "PASS"]
    assert frame["severity"].astype(str).tolist()[:3] == ["minor", "major", "minor"]
    assert frame["default_severity"].astype(str).tolist()[:6] == ["info", "major", "minor", "major", "minor", "info"]
    assert frame["namespace"].astype(str).tolist()[:5] == ["ns0", "ns1", "ns2", "ns3", "ns0"]
    assert list(frame["namespace"].cat.categories) == ["ns0", "ns1", "ns2", "ns3"]
    assert frame["gate"].astype(str).tolist()[:2] == ["setup", "migrating"]


class _Legacy(str, enum.Enum):  # noqa: UP042 (a StrEnum writes its value: this one must not)
    """A plugin's own status: equal to "FAIL", but its text (str()) is "_Legacy.FAIL"."""

    FAIL = "FAIL"


def test_equal_objects_with_different_texts_stay_apart() -> None:
    """Status and severity are the text each value writes (str()): an object equal to "FAIL" whose text is not
    "FAIL" is no status (NaN), while the plain "FAIL" next to it is one; a missing severity is NaN too."""
    findings = _findings(4)
    findings[0].status = _Legacy.FAIL
    findings[1].status = "FAIL"  # type: ignore[assignment]
    findings[2].severity = None
    findings[3].severity = "major"  # type: ignore[assignment]
    frame = findings_frame(findings)
    assert frame["status"].isna().tolist() == [True, False, False, False]
    assert frame["status"].astype(str).tolist()[1:] == ["FAIL", "FAIL", "PASS"]
    assert frame["severity"].isna().tolist() == [False, False, True, False]
    assert frame["severity"].tolist()[:2] == ["minor", "major"] and frame["severity"].tolist()[3] == "major"
    assert frame["default_severity"].isna().tolist() == [False, False, True, False]
    assert [frame["default_severity"].tolist()[i] for i in (0, 1, 3)] == ["info", "major", "major"]


def test_records_write_each_category_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """findings.json's rows: a categorical column's text is written once per category, not asked of every row (the
    old code asked pd.isna 8 times per row: 8,000 times here); what each row says is unchanged."""
    findings = _findings(1_000)
    findings[1].severity = None
    frame = findings_frame(findings)
    asked: list[object] = []
    real = pd.isna

    def counting(value: Any) -> Any:
        asked.append(value)
        return real(value)

    monkeypatch.setattr(pd, "isna", counting)
    rows = records(frame)
    assert len(asked) <= 40
    assert len(rows) == 1_000
    assert rows[0] == {"cluster": "c0", "gate": "setup", "check_id": "restart-risk", "title": "Restart risk",
                       "severity": "minor", "status": "PASS", "kind": "Deployment", "namespace": "ns0", "name": "w0",
                       "message": "m0", "remediation": "", "evidence": {}, "exempt": False, "exempt_reason": None,
                       "default_severity": "info", "code": "AA1101", "aspect": "", "baseline_accepted": False}
    assert (rows[1]["severity"], rows[1]["default_severity"], rows[1]["status"]) == ("", "", "FAIL")
    assert [r["namespace"] for r in rows[:5]] == ["ns0", "ns1", "ns2", "ns3", "ns0"]
    assert all(type(r["exempt"]) is bool for r in rows)


def test_a_fleet_pools_each_findings_strings_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot fleet judged cluster by cluster pools its findings' strings (judge._share_strings): a finding judged
    once for every gate (same_in_every_gate) is the same object in each gate, and is handed over once, not once per
    gate (on the old code some findings of this 2 x 100-pod fleet came back once per gate)."""
    generate(100, tmp_path / "single")
    fleet = ensure_fleet(tmp_path / "single", 2, tmp_path)
    given: list[int] = []
    real = judge._share_strings

    def counting(findings: Iterable[Finding], pool: dict[str, str]) -> None:
        findings = list(findings)
        given.extend(map(id, findings))
        real(findings, pool)

    monkeypatch.setattr(judge, "_share_strings", counting)
    api.run_audit(api.Target(snapshot=str(fleet)), phase="all")
    assert len(given) > 100
    assert len(given) == len(set(given))


def _audit_of_one_cluster(tmp_path: Path, check: type[Check], config: Config) -> AuditResult:
    """The assessment audit, with `check` among the checks, of one nearly empty data plane."""
    snapshot = tmp_path / "snap"
    factory.write_snapshot(snapshot, {"c1": [factory.namespace("istio-system")]},
                           versions={"c1": factory.version_info()},
                           manifest={"clusters": [{"name": "c1", "role": "data-plane", "dir": "c1", "complete": True}]})
    return run_audit(open_snapshot(snapshot), "assessment", config, extra_checks=[check])


class _ManyWorkloads(ClusterCheck):
    """A check with 40 workload findings of two declared outcomes (one a template), an undeclared PASS, and a FAIL
    already carrying a code it never declared."""

    id = "zz-many"
    title = "Many findings"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    RISKY = Outcome("ZZM001", Status.WARN, "risky", Severity.MINOR, message="workload {name} is risky")
    BROKEN = Outcome("ZZM002", Status.FAIL, "broken", message="workload {name} is broken")
    outcomes: ClassVar[tuple[Outcome, ...]] = (RISKY, BROKEN)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> list[Finding]:
        found = [self.report(self.RISKY if i % 4 else self.BROKEN, cluster.name, params={"name": f"w{i}"},
                             kind="Deployment", namespace="shop", name=f"w{i}",
                             remediation=f"kubectl -n shop rollout restart deployment/w{i}") for i in range(40)]
        found.append(Finding(Status.PASS, cluster.name, "a PASS it never declared"))
        found.append(Finding(Status.FAIL, cluster.name, "a code it never declared", code="ZZM999"))
        return found


def test_stamping_asks_each_checks_outcome_once_per_kind_of_finding(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The outcome a finding stands for, its severity and the config's override depend on its check, status, code and
    severity only: asked once per such kind of finding in an audit, not per finding (fail on the old code:
    outcome_for asked 42 times for this check's 42 findings); every finding is still stamped as before."""
    asked: list[tuple[str, str]] = []
    outcome_for = _ManyWorkloads.outcome_for.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Check], status: Status, code: str = "") -> Outcome | None:
        if cls is _ManyWorkloads:
            asked.append((status.value, code))
        return outcome_for(cls, status, code)

    monkeypatch.setattr(_ManyWorkloads, "outcome_for", classmethod(counting))
    config = Config.model_validate({"checks": {"severity": {"ZZM002": "blocker"}}})
    result = _audit_of_one_cluster(tmp_path, _ManyWorkloads, config)
    assert sorted(asked) == [("FAIL", "ZZM002"), ("FAIL", "ZZM999"), ("PASS", ""), ("WARN", "ZZM001")]
    frame = result.findings
    rows = frame[frame["check_id"].astype(str) == "zz-many"]
    assert len(rows) == 42
    cells = rows[["status", "code", "severity", "default_severity", "message", "remediation"]].astype(str)
    assert cells.values.tolist()[:2] == [
        ["FAIL", "ZZM002", "blocker", "major", "workload w0 is broken",
         "kubectl -n shop rollout restart deployment/w0"],
        ["WARN", "ZZM001", "minor", "minor", "workload w1 is risky", "kubectl -n shop rollout restart deployment/w1"]]
    assert cells.values.tolist()[-2:] == [
        ["UNKNOWN", "AA0004", "major", "major", "zz-many reported an undeclared PASS outcome: a PASS it never declared",
         ""],
        ["FAIL", "AA0004", "major", "major", "zz-many reported undeclared code ZZM999: a code it never declared", ""]]
    assert rows["status"].astype(str).value_counts().to_dict() == {"WARN": 30, "FAIL": 11, "UNKNOWN": 1}
    assert rows["severity"].astype(str).value_counts().to_dict() == {"minor": 30, "blocker": 10, "major": 2}
    assert rows["evidence"].tolist()[-1] == {"undeclared_code": "ZZM999", "message": "a code it never declared"}


def _python_calls(work: Callable[[], Any]) -> list[str]:
    """The Python-level functions `work` calls (their names), in order: a C-level call is no event."""
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return called


def test_a_finding_is_built_and_copied_without_python_level_calls() -> None:
    """report() builds a Finding, and the engine copies one per further gate (copy_finding), without running Python code
    per field (a 50k-pod audit builds 12,000 findings and copies 13,000): fail on the old code, whose dataclass
    __init__ (generated Python) ran for each, and copy_finding's for each copy."""
    check = _ManyWorkloads()
    made: list[Finding] = []
    calls = _python_calls(lambda: made.extend(check.report(_ManyWorkloads.RISKY, "c1", params={"name": f"w{i}"},
                                                           kind="Deployment", name=f"w{i}") for i in range(10)))
    assert calls.count("__init__") == 0
    assert calls.count("report") == 10
    copies: list[Finding] = []
    calls = _python_calls(lambda: copies.extend(copy_finding(f) for f in made))
    assert calls.count("__init__") == 0
    assert [(c.status, c.cluster, c.message, c.kind, c.name, c.code, c.severity) for c in copies[:2]] == [
        (Status.WARN, "c1", "workload w0 is risky", "Deployment", "w0", "ZZM001", Severity.MINOR),
        (Status.WARN, "c1", "workload w1 is risky", "Deployment", "w1", "ZZM001", Severity.MINOR)]
    assert all(c is not f and c == f and c.params is f.params and c.evidence is f.evidence
               for c, f in zip(copies, made, strict=True))


def test_a_further_gate_gets_its_copies_without_python_level_calls() -> None:
    """A finding judged once for every gate (same_in_every_gate) comes back to the stamp in each further gate, which
    gives that gate a copy with its gate (13,000 copies at 50k pods): made in C, no Python function run per copy (fail
    on the old code: copy_finding ran for each, 10 calls here). The copies say what the stamped findings say."""
    check = _ManyWorkloads()
    made = [check.report(_ManyWorkloads.RISKY, "c1", params={"name": f"w{i}"}, kind="Deployment", namespace="shop",
                         name=f"w{i}", remediation=f"kubectl -n shop rollout restart deployment/w{i}")
            for i in range(10)]
    stamp = judge._Stamp({})
    first = stamp.all(made, _ManyWorkloads, "assessment")
    again: list[Finding] = []
    calls = _python_calls(lambda: again.extend(stamp.all(made, _ManyWorkloads, "migrating")))
    assert calls == ["<lambda>", "all"]
    assert first == made and all(a is b for a, b in zip(first, made, strict=True))
    assert [(c.gate, c.check_id, c.title, c.name, c.message, c.code, c.severity, c.default_severity, c.remediation)
            for c in again[:2]] == [
        ("migrating", "zz-many", "Many findings", "w0", "workload w0 is risky", "ZZM001", Severity.MINOR,
         Severity.MINOR, "kubectl -n shop rollout restart deployment/w0"),
        ("migrating", "zz-many", "Many findings", "w1", "workload w1 is risky", "ZZM001", Severity.MINOR,
         Severity.MINOR, "kubectl -n shop rollout restart deployment/w1")]
    assert [f.gate for f in made] == ["assessment"] * 10
    assert all(c is not f and c.evidence is f.evidence and c.params is f.params
               for c, f in zip(again, made, strict=True))


class _SearchedText(str):
    """A command that counts how often it is searched for a value (`value in command`)."""

    searched: ClassVar[list[str]] = []

    def __contains__(self, value: object) -> bool:
        self.searched.append(str(value))
        return super().__contains__(value)  # type: ignore[operator]


def test_a_command_is_searched_only_for_values_the_shell_guard_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell guard (judge._defuse_remediation) searches a command for the finding's name and namespace; a value
    already known shell-safe and not read as an option changes nothing whether or not the command holds it, and is not
    searched for (fail on the old code: 2 searches per finding, 8 here, "shop" four times); what the guard decides is
    unchanged, a hostile name among known ones included."""
    monkeypatch.setattr(_SearchedText, "searched", [])
    shell_safe: dict[str, bool] = {}
    findings = [Finding(Status.FAIL, "c1", "m", namespace="shop", name=name,
                        remediation=_SearchedText(f"kubectl -n shop rollout restart deployment/{name}"))
                for name in ("web", "api", "web", "x;touch /tmp/pwned")]
    for finding in findings:
        judge._defuse_remediation(finding, shell_safe)
    assert _SearchedText.searched == ["web", "shop", "api", "x;touch /tmp/pwned"]
    assert [f.remediation for f in findings[:3]] == ["kubectl -n shop rollout restart deployment/web",
                                                    "kubectl -n shop rollout restart deployment/api",
                                                    "kubectl -n shop rollout restart deployment/web"]
    assert findings[3].remediation == ("# no command shown: the name 'x;touch /tmp/pwned' contains characters a shell "
                                       "would interpret (corrupt or hostile input); act on it by hand")
    assert shell_safe == {"web": True, "shop": True, "api": True, "x;touch /tmp/pwned": False}


def test_report_hands_the_subject_to_the_finding_by_position(monkeypatch: pytest.MonkeyPatch) -> None:
    """report() gives the Finding its subject (kind, namespace, name, remediation, evidence, severity) by position, not
    gathered into a dict of keywords and matched again by name for each finding (fail on the old code: 8 keywords per
    finding, 2 here)."""
    keywords: list[list[str]] = []
    real = check_module.Finding

    def counting(*args: Any, **kwargs: Any) -> Finding:
        keywords.append(sorted(kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(check_module, "Finding", counting)
    check = _ManyWorkloads()
    found = check.report(_ManyWorkloads.RISKY, "c1", params={"name": "web"}, kind="Deployment", namespace="shop",
                         name="web", remediation="kubectl -n shop rollout restart deployment/web",
                         evidence={"pods": 2})
    assert keywords == [["code", "params"]]
    assert found == real(Status.WARN, "c1", "workload web is risky", kind="Deployment", namespace="shop", name="web",
                         remediation="kubectl -n shop rollout restart deployment/web", evidence={"pods": 2},
                         severity=Severity.MINOR, code="ZZM001", params={"name": "web"})


def test_what_report_is_not_given_is_the_findings_default() -> None:
    """Not given to report(), a subject field is what a Finding made without it holds (a fresh evidence dict each);
    given, even as None or "", it is kept: an explicit severity None, an explicit "" remediation over the fix template,
    and any other Finding field by name."""
    check = _ManyWorkloads()
    bare = check.report(_ManyWorkloads.BROKEN, "c1", "said freely")
    assert bare == Finding(Status.FAIL, "c1", "said freely", severity=None, code="ZZM002")
    assert (bare.kind, bare.namespace, bare.name, bare.remediation, bare.evidence, bare.params) == ("", "", "", "", {},
                                                                                                   None)
    assert check.report(_ManyWorkloads.BROKEN, "c1", "again").evidence is not bare.evidence
    fixed = Outcome("ZZM003", Status.FAIL, "fixable", message="{name} broke", fix="kubectl delete pod {name}")
    assert check.report(fixed, "c1", params={"name": "p"}).remediation == "kubectl delete pod p"
    assert check.report(fixed, "c1", params={"name": "p"}, remediation="").remediation == ""
    assert check.report(_ManyWorkloads.RISKY, "c1", "m", severity=None).severity is None
    assert check.report(_ManyWorkloads.RISKY, "c1", "m").severity is Severity.MINOR
    given = check.report(_ManyWorkloads.RISKY, "c1", "m", evidence=None, exempt_reason="r")  # type: ignore[arg-type]
    assert (given.evidence, given.exempt_reason) == (None, "r")


class _LookAlikes(ClusterCheck):
    """Findings equal to a declared FAIL but not of the engine's types: a plugin's str enum as status, a plain string
    as severity."""

    id = "zz-lookalikes"
    title = "Look-alikes"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = "test"
    remediation = "test"
    outcomes: ClassVar[tuple[Outcome, ...]] = (Outcome("ZZL001", Status.FAIL, "bad"),)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> list[Finding]:
        return [Finding(Status.FAIL, cluster.name, "declared"),
                Finding(_Legacy.FAIL, cluster.name, "look-alike status"),  # type: ignore[arg-type]
                Finding(Status.FAIL, cluster.name, "declared, severity as text", severity="minor"),  # type: ignore[arg-type]
                Finding(Status.FAIL, cluster.name, "declared again")]


def test_what_stamping_keeps_per_kind_of_finding_never_merges_look_alikes(tmp_path: Path) -> None:
    """A status equal to FAIL but of a plugin's own type is judged on its own (undeclared: UNKNOWN), not as the
    declared FAIL stamped before it; a severity given as text stays that text; the declared FAILs are stamped alike."""
    frame = _audit_of_one_cluster(tmp_path, _LookAlikes, Config()).findings
    rows = frame[frame["check_id"].astype(str) == "zz-lookalikes"][["status", "code", "severity", "message"]]
    assert rows.astype(str).values.tolist() == [
        ["FAIL", "ZZL001", "major", "declared"],
        ["UNKNOWN", "AA0004", "major", "zz-lookalikes reported an undeclared FAIL outcome: look-alike status"],
        ["FAIL", "ZZL001", "minor", "declared, severity as text"],
        ["FAIL", "ZZL001", "major", "declared again"]]


class _CountingAnswers(dict):  # type: ignore[type-arg]
    """The shell guard's answers, counting how often one is looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def get(self, key: Any, default: Any = None) -> Any:
        self.lookups += 1
        return super().get(key, default)


def test_the_shell_guard_looks_each_value_up_once_per_finding() -> None:
    """Each name and namespace of a finding is looked up once among the guard's answers, whether known or new (fail on
    the old code: a value not known safe, or known safe but read as an option, was looked up twice: 12 lookups here);
    what the guard decides is unchanged, a known safe name read as an option included."""
    shell_safe = _CountingAnswers()
    findings = [Finding(Status.FAIL, "c1", "m", namespace="shop", name=name,
                        remediation=f"kubectl -n shop delete deployment {name}")
                for name in ("web", "web", "--all", "--all", "x;touch /tmp/pwned")]
    for finding in findings:
        judge._defuse_remediation(finding, shell_safe)
    assert shell_safe.lookups == 7
    assert [f.remediation for f in findings[:2]] == ["kubectl -n shop delete deployment web"] * 2
    assert [f.remediation for f in findings[2:4]] == [
        "# no command shown: the name '--all' would be read as a command-line option; act on it by hand"] * 2
    assert findings[4].remediation == ("# no command shown: the name 'x;touch /tmp/pwned' contains characters a shell "
                                       "would interpret (corrupt or hostile input); act on it by hand")
    assert dict(shell_safe) == {"web": True, "shop": True, "--all": True, "x;touch /tmp/pwned": False}


def test_categorical_columns_are_made_without_a_pass_over_the_rows_to_check_their_codes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each categorical column's codes are the dtype's categories (or -1) by construction: pandas is not asked to
    check every row's code again, nor to look the distinct values up in an Index of a fixed dtype's categories (fail on
    the old code: 13 checks of the codes, 9 of them over all 1,000 rows, and 4 Index lookups); what the columns hold
    is unchanged, a status or severity of a plugin's own type included."""
    checked: list[int] = []
    looked_up: list[int] = []
    validate = pd.Categorical._validate_codes_for_dtype.__func__  # type: ignore[attr-defined]
    get_indexer = pd.Index.get_indexer

    def counting_validate(cls: type, codes: Any, *, dtype: Any) -> Any:
        checked.append(len(codes))
        return validate(cls, codes, dtype=dtype)

    def counting_lookup(self: pd.Index, target: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(len(target))
        return get_indexer(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.Categorical, "_validate_codes_for_dtype", classmethod(counting_validate))
    monkeypatch.setattr(pd.Index, "get_indexer", counting_lookup)
    findings = _findings(1_000)
    findings[0].status = _Legacy.FAIL
    findings[1].severity = "major"  # type: ignore[assignment]
    findings[2].gate = "nowhere"
    frame = findings_frame(findings)
    assert checked == [] and looked_up == []
    assert frame["status"].isna().tolist()[:4] == [True, False, False, False]
    assert frame["status"].tolist()[1:4] == ["FAIL", "FAIL", "PASS"]
    assert frame["severity"].astype(str).tolist()[:4] == ["minor", "major", "minor", "major"]
    assert frame["default_severity"].astype(str).tolist()[:6] == ["info", "major", "minor", "major", "minor", "info"]
    assert frame["gate"].isna().tolist()[:4] == [False, False, True, False]
    assert [frame["gate"].tolist()[i] for i in (0, 1, 3)] == ["setup", "migrating", "migrating"]
    assert frame["check_id"].astype(str).tolist()[:1] == ["restart-risk"]
    assert list(frame["cluster"].cat.categories) == ["c0", "c1"]
    assert frame["status"].value_counts().to_dict() == {"FAIL": 666, "PASS": 333, "WARN": 0, "UNKNOWN": 0,
                                                        "NOT_APPLICABLE": 0}
