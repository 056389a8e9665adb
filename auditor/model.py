"""The vocabulary shared by engine, checks and renderers: gates, statuses, severities, findings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec


class Gate(StrEnum):
    ASSESSMENT = "assessment"
    SETUP = "setup"
    MIGRATING = "migrating"
    UNINSTALL = "uninstall"
    FINISHED = "finished"


GATE_ORDER: tuple[Gate, ...] = tuple(Gate)

# The ASMMigrateFromIstio states, in the only order the control plane accepts.
MIGRATION_STATES: tuple[str, ...] = ("Init", "SetupIstioForMigrate", "Migrating", "Finished")


@dataclass(frozen=True)
class GateStep:
    """The step a gate guards, in ASMMigrateFromIstio states: the one table engine, checks and reports read."""

    step: str                # what is done on a GO (reports, the approver's next step)
    needs_state: str | None  # the state the resource must be in for the step (None: before the resource exists)
    last_state: str          # the last state at which the step still lies ahead (later: the gate is already past)
    target_state: str | None = None  # the desiredState the step switches to (None: not a state switch)


GATE_STEPS: dict[Gate, GateStep] = {
    Gate.ASSESSMENT: GateStep("join the cluster(s) to ASM", None, "Init"),
    Gate.SETUP: GateStep("desiredState \u2192 SetupIstioForMigrate", "Init", "Init", "SetupIstioForMigrate"),
    Gate.MIGRATING: GateStep("desiredState \u2192 Migrating", "SetupIstioForMigrate", "SetupIstioForMigrate",
                             "Migrating"),
    # Istio is removed while the resource stays in Migrating; the switch to Finished comes after.
    Gate.UNINSTALL: GateStep("istioctl uninstall --purge", "Migrating", "Migrating"),
    Gate.FINISHED: GateStep("desiredState \u2192 Finished", "Migrating", "Finished", "Finished"),
}


def gate_past(gate: Gate, state: str) -> bool:
    """Whether the resource in `state` is beyond the step `gate` guards (unrecognised states: not past)."""
    if state not in MIGRATION_STATES:
        return False
    return MIGRATION_STATES.index(state) > MIGRATION_STATES.index(GATE_STEPS[gate].last_state)


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    UNKNOWN = "UNKNOWN"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(StrEnum):
    BLOCKER = "blocker"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"


# Worst first: the one order in which statuses and severities are ranked (reports, diff, junit).
STATUS_RANK: dict[str, int] = {s.value: i for i, s in enumerate(
    (Status.FAIL, Status.UNKNOWN, Status.WARN, Status.PASS, Status.NOT_APPLICABLE))}
SEVERITY_RANK: dict[str, int] = {s.value: i for i, s in enumerate(Severity)}


class Verdict(StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"
    INCOMPLETE = "INCOMPLETE"


EXIT_CODES: dict[Verdict, int] = {Verdict.GO: 0, Verdict.NO_GO: 1, Verdict.INCOMPLETE: 3}
EXIT_USAGE = 2
EXIT_INTERNAL = 4


class Finding(msgspec.Struct):
    """One judgement about one subject. Checks leave gate/check_id/title empty; the engine stamps them.

    A msgspec Struct, made like the slots dataclass it was (fields in this order, positional or by name, no type
    checks, mutable, compared field by field, unhashable): built and copied in C (an audit of 50k pods makes 25,000
    and copies 13,000 per gate), half a dataclass's cost."""

    status: Status
    cluster: str
    message: str
    kind: str = ""
    namespace: str = ""
    name: str = ""
    remediation: str = ""
    evidence: dict[str, Any] = msgspec.field(default_factory=dict)
    severity: Severity | None = None
    gate: str = ""
    check_id: str = ""
    title: str = ""
    exempt: bool = False
    exempt_reason: str | None = None
    default_severity: Severity | None = None  # before the config's override (the engine sets both)
    code: str = ""  # the declared outcome (Outcome.code); the engine fills it in from the status when unset
    # The values filled into the outcome's message template (None: a free-text message, English only).
    params: dict[str, Any] | None = None
    # What of its object the finding is about where one object has several findings of one code (Outcome.aspect):
    # with the object and the code, the finding's identity for --fail-on-new and diff. "" for most findings.
    aspect: str = ""


CODE_PATTERN = r"^[A-Z]{2,4}[0-9]{3,4}$"


@dataclass(frozen=True)
class Outcome:
    """One outcome a check can report, declared as data on the check class (like Istio's IST0xxx messages).

    `code` is stable and never reused; `meaning` is what `asm-audit explain CODE` and the catalogue say;
    `severity` overrides the check's for this outcome; `fix`, when set, replaces the check's remediation text.
    `message` is the finding's English message as a `str.format` template with named fields only; a finding made
    from it keeps its `params`, so a renderer can say the same in another language (gettext msgid = the template).
    `aspect` names the params that tell apart two findings of this outcome about one object (a mesh config field of
    one ConfigMap, an extension provider, a category of evidence): a finding's `aspect` is their values, and with its
    object and code they say which blocker it is (--fail-on-new accepts only the same blocker, not another field's).
    """

    code: str
    status: Status
    meaning: str
    severity: Severity | None = None
    fix: str = ""
    message: str = ""
    aspect: tuple[str, ...] = ()


FINDING_COLUMNS: tuple[str, ...] = (
    "cluster", "gate", "check_id", "title", "severity", "status", "kind", "namespace", "name",
    "message", "remediation", "evidence", "exempt", "exempt_reason",
    "default_severity",  # last: CSV columns that existed before keep their position
    "code",
    "aspect",
    # True where --fail-on-new let the blocking finding through as known in the baseline (it stays FAIL, not exempt).
    "baseline_accepted",
)
