"""Judging: each selected check runs on the Context, guarded (UNKNOWN when it crashes or lacks evidence, never a
crashed run), and its findings are stamped (gate, check, declared code, severity override, safe commands).
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from auditor import mesh, timing
from auditor.check import (
    ENGINE_CRASHED,
    ENGINE_SILENT,
    ENGINE_UNDECLARED,
    ENGINE_UNREADABLE,
    GATE_PAST,
    GATE_UNKNOWN,
    PLUGIN_BROKEN,
    Check,
    ClusterCheck,
    Context,
    copy_finding,
)
from auditor.collect import gc_paused
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ClusterInventory, Inventory
from auditor.kinds import Kind
from auditor.model import MIGRATION_STATES, Finding, Gate, Outcome, Severity, Status
from auditor.plan import (
    asm_marks,
    auto_gate,
    gate_already_past,
    migration_absent,
    migration_resource,
    unrecognised_state,
)

log = logging.getLogger("asm_audit")

# A copy of a finding with another gate: its other values (evidence and params: the same read-only dicts, see
# check.copy_finding) as they are, made in one C call.
_copied_with = msgspec.structs.replace


class ClusterSteps(Protocol):
    """A fleet judged cluster by cluster: what the engine does before and after every check judged a cluster."""

    def collect(self, cluster: ClusterInventory) -> None:
        """Read the cluster's kinds (before any check judges it)."""

    def release(self, cluster: ClusterInventory, keep: set[Kind]) -> None:
        """Drop what no later reader needs (after every check judged it), but the kinds in `keep`."""


def judge(ctx: Context, gates: Sequence[Gate], selected: Sequence[type[Check]],
          broken_plugins: Mapping[str, str], steps: ClusterSteps | None = None) -> list[Finding]:
    """The stamped findings of every selected check for each of `gates` (ctx.gate is replaced per gate).

    With `steps`, each data plane is collected, judged by every check of every gate, then released before the
    next one is collected (see _judge_one_at_a_time); the findings come in the same order either way."""
    stamp = _Stamp(ctx.config.severity_overrides())
    findings: list[Finding] = []
    with gc_paused():  # checks allocate findings by the ten thousand, without cycles: no full collections
        if steps is not None:
            findings = _judge_one_at_a_time(ctx, gates, selected, stamp, steps)
        else:
            for gate in gates:
                gate_ctx = dataclasses.replace(ctx, gate=gate)
                for check in selected:
                    if gate in check.gates:
                        judging = _Judging.start(check, gate_ctx)
                        for cluster in ctx.inv.data_planes:
                            judging.cluster(cluster)
                        findings.extend(judging.finish(stamp))
    ctx.judged_once.clear()  # the gates' Contexts share it: findings judged once for all gates are not kept further
    for name, problem in broken_plugins.items():
        for gate in gates:
            findings.append(Finding(Status.UNKNOWN, "mesh", f"check plugin did not load: {problem}",
                                    severity=Severity.MAJOR, gate=gate.value, check_id=f"plugin:{name}",
                                    code=PLUGIN_BROKEN.code, default_severity=PLUGIN_BROKEN.severity,
                                    title=f"Check plugin {name}"))
    return findings


def _judge_one_at_a_time(ctx: Context, gates: Sequence[Gate], selected: Sequence[type[Check]],
                        stamp: _Stamp, steps: ClusterSteps) -> list[Finding]:
    """Every check prepared, then per data plane: collect it, judge it in every gate, release it; then what reads
    every cluster (conclude, whole-fleet checks, checks that `reads_other_clusters`) runs on what was kept.

    A fleet's memory is then one cluster's objects plus each cluster's pod frame and findings, not every
    cluster's objects at once. A cluster not collected yet is `pending`: reading it raises (UNKNOWN)."""
    judgings = [_Judging.start(check, dataclasses.replace(ctx, gate=gate))
                for gate in gates for check in selected if gate in check.gates]
    now = [j for j in judgings if not j.check.reads_other_clusters]
    later = [j for j in judgings if j.check.reads_other_clusters]
    keep = {kind for j in later for kind in j.check.needs}
    for cluster in ctx.inv.data_planes:
        cluster.pending = True
    pool: dict[str, str] = {}
    pooled: set[int] = set()  # the findings whose strings are in the pool (kept in `judgings` till the end)
    try:
        for cluster in ctx.inv.data_planes:
            steps.collect(cluster)
            cluster.pending = False
            for judging in now:
                done = len(judging.out)
                judging.cluster(cluster)
                # A finding judged once for every gate (same_in_every_gate) comes back in each gate: pooled once.
                fresh = {id(f): f for f in judging.out[done:] if id(f) not in pooled}
                pooled.update(fresh)
                _share_strings(fresh.values(), pool)
            # Every gate has its copies of what was judged once for this cluster (same_in_every_gate): drop the
            # originals now rather than keep one more set of findings per cluster until the end.
            for key in [k for k in ctx.judged_once if k[1] == cluster.name and k[2] == id(cluster)]:
                del ctx.judged_once[key]
            steps.release(cluster, keep)
    finally:
        for cluster in ctx.inv.data_planes:
            cluster.pending = False
    for cluster in ctx.inv.data_planes:
        for judging in later:
            judging.cluster(cluster)
    return [f for judging in judgings for f in judging.finish(stamp)]


class _Stamp:
    """Stamps an audit's findings: each Finding object once (_stamp); one a check returns again in a further gate
    (judged once for every gate: check.same_in_every_gate) comes back as a copy of the stamped one with that gate.

    Nothing _stamp decides depends on the gate (the severity overrides are the audit's), so the copy is what stamping
    a fresh copy would make, without asking the outcome, the overrides and the shell again per gate."""

    def __init__(self, overrides: dict[str, Severity]) -> None:
        self.overrides = overrides
        # id -> the finding itself (kept: an id is not reused while it lives) and the check it was stamped for
        self.done: dict[int, tuple[Finding, type[Check]]] = {}
        # A name or namespace -> mesh.shell_safe's answer: the audit's findings name the same few thousand subjects
        # tens of thousands of times (a workload in each gate and check, a namespace for each of its workloads).
        self.shell_safe: dict[str, bool] = {}
        # (check, status, code, severity) -> what _stamped_outcome made of them: an audit's 25,000 findings are a few
        # dozen such keys (see _stamp).
        self.outcomes: dict[tuple[object, ...], _Outcome] = {}

    def all(self, findings: Iterable[Finding], check: type[Check], gate: str) -> list[Finding]:
        """Each of `findings` stamped for `check` in the gate whose value is `gate` (one loop for a check's findings in
        a gate; the gate's value read once per check and gate, not per finding: an enum's value is a Python-level
        property)."""
        done, overrides, shell_safe, outcomes = self.done, self.overrides, self.shell_safe, self.outcomes
        stamped: list[Finding] = []
        for f in findings:
            seen = done.get(id(f))
            if seen is None or seen[0] is not f:
                done[id(f)] = (f, check)
                stamped.append(_stamp(f, check, gate, overrides, shell_safe, outcomes))
                continue
            if seen[1] is check:  # the stamped finding with this gate, copied in C (13,000 copies at 50k pods)
                stamped.append(_copied_with(f, gate=gate))
            else:  # the same object from another check (a plugin's shared constant): judged again for that one,
                # never trusted on the first check's word
                stamped.append(_stamp(copy_finding(f), check, gate, overrides, shell_safe, outcomes))
        return stamped


# What stamping makes of a finding's (status, code, severity) for a check: its status, code, default severity and
# severity, and for an outcome the check did not declare, what to say (_undeclared's `what` and evidence).
_Outcome = tuple[Status, str, Severity | None, Severity, tuple[str, dict[str, str]] | None]


def _stamp(f: Finding, check: type[Check], gate: str, overrides: dict[str, Severity],
           shell_safe: dict[str, bool], outcomes: dict[tuple[object, ...], _Outcome]) -> Finding:
    f.gate = gate
    f.check_id = check.id
    f.title = check.title
    # What _stamped_outcome made of the same check, status, code and severity is kept, by the enum members' ids (their
    # hash is a Python-level call); only for the engine's own types: equal values of other types (a plugin's str
    # enum equal to "FAIL") may be judged apart (outcome_for matches a status by identity) and written apart
    # (findings_frame tells them by object).
    status, code, severity = f.status, f.code, f.severity
    key = (check, id(status), code, id(severity)) if type(status) is Status and type(code) is str and (
        severity is None or type(severity) is Severity) else None
    judged = outcomes.get(key) if key is not None else None
    if judged is None:
        judged = _stamped_outcome(check, status, code, severity, overrides)
        if key is not None:
            outcomes[key] = judged
    status, code, f.default_severity, f.severity, undeclared = judged
    if undeclared is not None:
        _undeclared(f, check, *undeclared)
        f.status, f.code = status, code
    elif code is not f.code:
        f.code = code
    _defuse_remediation(f, shell_safe)
    return f


def _stamped_outcome(check: type[Check], status: Status, code: str, severity: Severity | None,
                     overrides: dict[str, Severity]) -> _Outcome:
    """What a finding of `status`, `code` and `severity` is stamped with for `check`: the declared outcome's code and
    severity (none declared: ENGINE_UNDECLARED, fail safe), the default severity, and the config's override."""
    undeclared: tuple[str, dict[str, str]] | None = None
    if not code:
        outcome = check.outcome_for(status, code)
        if outcome is None:  # a status the check never declared: not trusted (fail safe), named
            undeclared = (f"an undeclared {status.value} outcome", {"undeclared_status": status.value})
        else:
            code = outcome.code
            severity = severity or outcome.severity
    elif check.outcome_for(status, code) is None and code not in _ENGINE_CODES:
        undeclared = (f"undeclared code {code}", {"undeclared_code": code})
    if undeclared is not None:
        if status is not Status.FAIL:
            status = ENGINE_UNDECLARED.status
        code, severity = ENGINE_UNDECLARED.code, None
    # The config's override reaches every finding of the check, also those the check gave their own severity;
    # an override by code wins over one by check id.
    default_severity = severity or check.severity
    return status, code, default_severity, overrides.get(code) or overrides.get(check.id) or default_severity, \
        undeclared


_ENGINE_CODES = {o.code for o in (ENGINE_CRASHED, ENGINE_SILENT, ENGINE_UNDECLARED, ENGINE_UNREADABLE)}


def _undeclared(f: Finding, check: type[Check], what: str, evidence: dict[str, str]) -> None:
    """An outcome the check did not declare is never trusted: a PASS/WARN/N/A becomes UNKNOWN; a FAIL stays a FAIL
    (so --allow-unknown can never turn it into a GO). Both carry ENGINE_UNDECLARED's code (_stamped_outcome); here
    what the finding says names it."""
    f.evidence = {**f.evidence, **evidence, "message": f.message}
    f.message = f"{check.id} reported {what}: {f.message}"
    f.params = None  # the message is no longer the outcome's template


def _defuse_remediation(f: Finding, shell_safe: dict[str, bool] | None = None) -> None:
    """No copy-paste command built around a name a shell would interpret (`x; curl evil | sh`, newlines...).

    A real API server refuses most such names, but RBAC names are only path segments and a snapshot can
    hold anything; checks format commands with plain f-strings, so the guard sits here, once for all.
    `shell_safe` keeps mesh.shell_safe's answers (a regex) for the values asked before.
    """
    remediation = f.remediation
    if not remediation:
        return
    shell_safe = {} if shell_safe is None else shell_safe
    for what, value in (("name", f.name), ("namespace", f.namespace)):
        # A value known safe that no option parser would take for an option changes nothing, in the command or not:
        # the command is not searched for it (a namespace named by thousands of findings). Another is asked of the
        # shell only when the command holds it: most findings' remediation names neither.
        if not value:
            continue
        safe = shell_safe.get(value)
        if (safe and value[0] != "-") or value not in remediation:
            continue
        if safe is None:
            safe = shell_safe[value] = mesh.shell_safe(value)
        if not safe:
            shown = repr(value) if len(value) <= 120 else repr(value[:120]) + "..."
            f.remediation = (f"# no command shown: the {what} {shown} contains characters a shell would "
                             "interpret (corrupt or hostile input); act on it by hand")
            return
        # `delete deployment --all`: a name standing alone as a word that starts with `-` is read as an option.
        if value[0] == "-" and value in remediation.split():
            f.remediation = (f"# no command shown: the {what} {value!r} would be read as a command-line option; "
                             "act on it by hand")
            return


def _share_strings(findings: Iterable[Finding], pool: dict[str, str]) -> None:
    """One object per distinct string in the findings' messages, evidence and params (restart-risk's reasons,
    proxy images, "1 pod(s) still run Istio's sidecar ...": the same few texts in thousands of a fleet's findings,
    kept until the last cluster is judged). Lists are changed in place, values only for equal ones: what the
    findings say does not change."""
    for finding in findings:
        finding.message = pool.setdefault(finding.message, finding.message)
        for values in (finding.evidence, finding.params):
            for key, value in (values or {}).items():
                if type(value) is str:
                    values[key] = pool.setdefault(value, value)
                elif type(value) is list:
                    for i, item in enumerate(value):
                        if type(item) is str:
                            value[i] = pool.setdefault(item, item)


@dataclasses.dataclass
class _Judging:
    """One check judged in one gate: `start` (prepare), `cluster` for each data plane in order, then `finish`
    (conclude, or `run` for a check over the whole inventory) stamps the findings."""

    check: type[Check]
    ctx: Context
    instance: Check
    mesh_wide: str
    prepared: list[Finding]
    # `needs` is a promise: without one of those kinds a cluster's result is UNKNOWN, whatever the check
    # would have made of the gap (fail safe also for checks that quietly fall back to defaults).
    missing: dict[str, str] = dataclasses.field(default_factory=dict)
    out: list[Finding] = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, check: type[Check], ctx: Context) -> _Judging:
        with timing.part(timing.CHECK, check.id):
            instance = check()
            mesh_wide = ctx.inv.asm.name if ctx.inv.asm else "mesh"
            prepared = (_guarded(instance, mesh_wide, lambda: instance.prepare(ctx) or (), silent_ok=True)
                        if isinstance(instance, ClusterCheck) else [])
        return cls(check, ctx, instance, mesh_wide, prepared)

    def cluster(self, cluster: ClusterInventory) -> None:
        with timing.part(timing.CHECK, self.check.id):
            self._cluster(cluster)

    def _cluster(self, cluster: ClusterInventory) -> None:
        reason = _unreadable(cluster, self.check.needs)
        if reason:
            self.missing[cluster.name] = reason
        instance, ctx = self.instance, self.ctx
        if not isinstance(instance, ClusterCheck):
            return
        if reason:
            self.out.append(instance.report(ENGINE_UNREADABLE, cluster.name, params={"reason": reason}))
            if not self.prepared:  # judged without some evidence: only a FAIL found anyway stands
                self.out.extend(f for f in _guarded(instance, cluster.name, lambda: instance.check_cluster(
                    cluster, ctx), silent_ok=True) if f.status is Status.FAIL)
        elif self.prepared:  # what every cluster needed could not be had: each cluster says so
            self.out.extend(_moved(f, cluster.name) for f in self.prepared)
        else:
            found = _guarded(instance, cluster.name, lambda: instance.check_cluster(cluster, ctx), silent_ok=True)
            if not found and cluster.name not in instance.deferred():  # a deferred one is judged in conclude
                found = [instance.report(ENGINE_SILENT, cluster.name, "check produced no result")]
            self.out.extend(found)

    def finish(self, stamp: _Stamp) -> list[Finding]:
        with timing.part(timing.CHECK, self.check.id):
            return self._finish(stamp)

    def _finish(self, stamp: _Stamp) -> list[Finding]:
        instance, ctx, missing, out = self.instance, self.ctx, self.missing, self.out
        if isinstance(instance, ClusterCheck):
            if not self.prepared:
                concluded = _cross_cluster(_guarded(instance, self.mesh_wide, lambda: instance.conclude(ctx),
                                                    silent_ok=True), ctx, missing)
                out.extend(concluded)
                deferred = instance.deferred()
                if deferred:  # a cluster left to conclude that conclude said nothing of (it crashed): never silence
                    # What check_cluster said of it beside deferring (e.g. an operator found there) is no judgement.
                    said = {f.cluster for f in concluded}
                    out.extend(instance.report(ENGINE_SILENT, name, "check produced no result")
                               for name in sorted(deferred - said))
        else:
            out = _cross_cluster(_guarded(instance, self.mesh_wide, lambda: instance.run(ctx)), ctx, missing)
            said = [(f.cluster, f.message) for f in out if f.status is Status.UNKNOWN]
            out.extend(instance.report(ENGINE_UNREADABLE, name, params={"reason": reason})
                       for name, reason in missing.items() if not any(c == name and reason in m for c, m in said))
        gate = ctx.gate.value
        with timing.part(timing.STAMP, self.check.id):
            return stamp.all(out, self.check, gate)


def _guarded(instance: Check, cluster: str, produce: Callable[[], Iterable[Finding]], *,
             silent_ok: bool = False) -> list[Finding]:
    """The findings `produce` makes; UNKNOWN (named) when it lacks evidence or crashes, never a crashed run."""
    try:
        produced = list(produce())
    except EvidenceUnavailable as exc:
        # The reason as a param: a Phrase of it (inventory's "could not read ...") is said in the reader's language.
        return [instance.report(ENGINE_UNREADABLE, exc.cluster or cluster, params={"reason": exc.reason})]
    except Exception as exc:  # a crashing check is UNKNOWN, never PASS, never a crashed run
        log.debug("check %s crashed:\n%s", instance.id, traceback.format_exc())
        return [instance.report(ENGINE_CRASHED, cluster, f"check crashed: {type(exc).__name__}: {exc}",
                                evidence={"traceback": traceback.format_exc(limit=5)})]
    if not produced and not silent_ok:
        return [instance.report(ENGINE_SILENT, cluster, "check produced no result")]
    return produced


def _moved(f: Finding, cluster: str) -> Finding:
    """A copy of an engine finding for another cluster."""
    return Finding(f.status, cluster, f.message, code=f.code, evidence=dict(f.evidence))


def _cross_cluster(findings: list[Finding], ctx: Context, missing: dict[str, str]) -> list[Finding]:
    """Judgements over all clusters made without some cluster's evidence cannot pass; FAILs found anyway stand."""
    if not missing:
        return findings
    data_planes = {c.name for c in ctx.inv.data_planes}
    return [f for f in findings if f.status not in (Status.PASS, Status.NOT_APPLICABLE)
            or (f.cluster in data_planes and f.cluster not in missing)]


def _unreadable(cluster: ClusterInventory, kinds: Iterable[Kind]) -> str | None:
    """Why the first of `kinds` cannot be read from this cluster, or None when all can."""
    for kind in kinds:
        if not cluster.available(kind):
            try:
                cluster.objects(kind)
            except EvidenceUnavailable as exc:
                return exc.reason
    return None


# UNKNOWNs that are no missing evidence but no judgement at all: the gate itself unknown (AA0010: "this audit cannot be
# GO"), a check that crashed, said nothing or reported an outcome it never declared, a plugin that did not load.
# --allow-unknown accepts evidence that could not be read, never these (the engine refuses it, as for a cluster not
# read at all): product.md, "Fail safe. Never GO on missing evidence, malformed input, or a crash."
UNJUDGED_CODES = frozenset(o.code for o in (ENGINE_CRASHED, ENGINE_SILENT, ENGINE_UNDECLARED, GATE_UNKNOWN,
                                            PLUGIN_BROKEN))


def unjudged(findings: Iterable[Finding]) -> list[str]:
    """The codes of UNJUDGED_CODES among the non-exempt UNKNOWN findings (an exemption by check id may accept one)."""
    return sorted({f.code for f in findings if f.code in UNJUDGED_CODES and f.status == Status.UNKNOWN
                   and not f.exempt})


def gate_findings(inv: Inventory, phase: str, gates: list[Gate], reason: str) -> list[Finding]:
    """A GO must be about the step the cluster is at: an unknown gate is UNKNOWN, a gate already past is a FAIL.

    Without an ASM control plane, --phase auto reads plan.ASM_MARK_KINDS (collected by now) for ASM's marks."""
    return _gate_unknown_or_past(inv, phase, gates) + _gate_guessed(inv, phase, gates, reason)


def _gate_guessed(inv: Inventory, phase: str, gates: list[Gate], reason: str) -> list[Finding]:
    if phase == "auto" and inv.asm is not None and _migration_unreadable(inv):
        # The gate is a guess: its GO must not be read as a GO for the step the cluster is really at.
        return [_gate_finding(GATE_UNKNOWN, inv.asm.name, Phrase(N_(
            "{reason}: the gate is a guess, so this audit cannot be GO; fix the access or pass --phase"),
            reason=reason), gates[0], GUESSED_TITLE)]
    return []


# The gate findings' titles and sentences: msgids and Phrases, said in the reader's language (AA0010 / AA0011 carry
# the sentence as their one field, {reason}, as AA0001 does); findings.json keeps the English.
GUESSED_TITLE = N_("Gate selection (--phase auto)")
GATE_TITLE = N_("Gate selection (--phase)")
OR_AUTO = N_("or --phase auto")  # the comment after AA0011's command


def _gate_finding(outcome: Outcome, cluster: str, reason: Phrase, gate: Gate, title: str, *, remediation: str = "",
                  evidence: dict[str, Any] | None = None) -> Finding:
    return Finding(outcome.status, cluster, str(reason), remediation=remediation, severity=outcome.severity,
                   gate=gate.value, check_id="gate-selection", title=title, evidence=evidence or {},
                   code=outcome.code, default_severity=outcome.severity, params={"reason": reason})


def _migration_unreadable(inv: Inventory) -> bool:
    """ASMMigrateFromIstio/default cannot be read: not collected, forbidden, or held twice with different contents."""
    try:
        migration_resource(inv)
    except EvidenceUnavailable:
        return True
    return False


def _gate_unknown_or_past(inv: Inventory, phase: str, gates: list[Gate]) -> list[Finding]:
    gate = gates[0]
    if phase == "auto" and (inv.asm is None or migration_absent(inv)):
        marks = [(c.name, m) for c in inv.data_planes for m in asm_marks(c)]
        if marks:
            listed = joined("; ", (joined(": ", pair) for pair in marks[:5]))
            shown = Phrase(N_("{marks}; and {count} more"), marks=listed, count=len(marks) - 5) if (
                len(marks) > 5) else listed
            evidence = {"asm_marks": [f"{name}: {mark}" for name, mark in marks[:50]]}
            if inv.asm is None:
                return [_gate_finding(GATE_UNKNOWN, "mesh", Phrase(N_(
                    "--phase auto chose {gate} without an ASM control plane to read the migration state from, but the "
                    "data plane shows ASM at work ({marks}): the migration may be under way, so the gate is unknown; "
                    "pass --asm-kubeconfig (or ASM_KUBECONFIG) or --phase GATE"), gate=gate.value, marks=shown),
                    gate, GATE_TITLE, evidence=evidence, remediation=N_(
                        "Give the ASM control plane (--asm-kubeconfig FILE or ASM_KUBECONFIG) so the migration state "
                        "can be read, or name the gate with --phase GATE."))]
            # ASM is at work on the data plane, yet the ASM control plane given holds no migration resource: another
            # ASM instance's kubeconfig, or the resource deleted. "May we join the cluster?" is not the question.
            # The advice, then its command on a line of its own (shown as a command block; the advice said in the
            # reader's language).
            return [_gate_finding(GATE_UNKNOWN, inv.asm.name, Phrase(N_(
                "--phase auto chose {gate}: the ASM control plane given ({asm}) holds no ASMMigrateFromIstio/default, "
                "but the data plane shows ASM at work ({marks}): the cluster is joined to an ASM instance, perhaps "
                "another one, so the gate is unknown"), gate=gate.value, asm=inv.asm.name, marks=shown),
                gate, GATE_TITLE, evidence=evidence, remediation=N_(
                    "Check that --asm-kubeconfig (ASM_KUBECONFIG) is the kubeconfig of the ASM instance this cluster "
                    "is joined to (ASM console: the instance's clusters) and read the resource, or name the gate "
                    "with --phase GATE:") + f"\n{mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml")]
    state = unrecognised_state(inv) if inv.asm is not None else None
    if state is not None:
        # Neither --phase auto (which fell back to the first gate) nor an explicit gate can tell whether the step is
        # still ahead: the assessment gate, which --phase auto picks here, does not even read the resource. With
        # --phase all each gate's verdict is read on its own (gate_verdicts, the per-gate JUnit suites, the CAB
        # pack's "Now (GO)"): each gate says it, as --phase GATE would (red20v; main: assessment GO there, and setup
        # GO under --allow-unknown, which accepted migration-resource's UNKNOWN).
        chosen = (Phrase(N_("--phase auto chose {gate}, but"), gate=gate.value) if phase == "auto"
                  else Phrase(N_("--phase {phase}:"), phase=phase))
        return [_gate_finding(GATE_UNKNOWN, inv.asm.name, Phrase(N_(
            "{chosen} ASMMigrateFromIstio/default is in state {state}, none of the migration's states ({states}): "
            "whether this gate's step is still ahead cannot be told, so this audit cannot be GO"), chosen=chosen,
            state=state, states=" -> ".join(MIGRATION_STATES)), each, GATE_TITLE, evidence={"state": state},
            remediation=N_("Read the resource and its status.message; once the state is one of the migration's, "
                           "re-run the audit:") + f"\n{mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml")
            for each in (gates if phase == "all" else gates[:1])]
    if phase in (g.value for g in Gate):
        state = gate_already_past(inv, gate)
        if state:
            ahead = auto_gate(inv)[0].value
            return [_gate_finding(GATE_PAST, "mesh", Phrase(N_(
                "--phase {phase}: already past: ASMMigrateFromIstio/default is in state {state}, beyond the step this "
                "gate guards; its checks say nothing about the next step ({ahead})"), phase=phase, state=state,
                ahead=ahead), gate, GATE_TITLE, evidence={"state": state, "next_gate": ahead},
                remediation=f"asm-audit run --phase {ahead}   # {OR_AUTO}")]
    return []
