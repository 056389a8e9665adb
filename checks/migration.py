"""The ASMMigrateFromIstio resource on the ASM control plane: state, message, retry counters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.check import Check, Context
from auditor.model import MIGRATION_STATES, Finding, Gate, Severity

# The state the resource must be in for the gate's step to be taken.
EXPECTED_STATE = {
    Gate.SETUP: "Init",
    Gate.MIGRATING: "SetupIstioForMigrate",
    Gate.UNINSTALL: "Migrating",
    Gate.FINISHED: "Migrating",  # before the switch; Finished afterwards proves completion
}
ADVANCED_OPTION_NAMES = ("stopIstioSystemInjectionDisabling", "disableIstioSystemLabelReconciliation")


def advanced_option(cr: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the istio-system label option is set, and under which of the seed's two names."""
    options = ((cr.get("spec") or {}).get("advancedOptions")) or {}
    for name in ADVANCED_OPTION_NAMES:
        if options.get(name) is True:
            return True, name
    return False, None


def next_state(state: str) -> str | None:
    idx = MIGRATION_STATES.index(state) if state in MIGRATION_STATES else -1
    return MIGRATION_STATES[idx + 1] if 0 <= idx < len(MIGRATION_STATES) - 1 else None


class MigrationResource(Check):
    id = "migration-resource"
    title = "ASMMigrateFromIstio/default is in the state this step needs, reconciled, without error"
    gates = (Gate.SETUP, Gate.MIGRATING, Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("The control plane moves the migration one state at a time (Init -> SetupIstioForMigrate -> "
                 "Migrating -> Finished); a switch counts only when status.state equals spec.desiredState, "
                 "status.message is empty and status.retryCounter equals spec.retryCounter.")
    remediation = "Fix what status.message says, then increment spec.retryCounter to retry the switch."
    asm_needs = (K.ASM_MIGRATION,)

    def run(self, ctx: Context) -> Iterable[Finding]:
        asm = ctx.inv.require_asm()
        where = asm.name
        cr = asm.get(K.ASM_MIGRATION, "default")
        subject = {"kind": "ASMMigrateFromIstio", "name": "default"}
        if cr is None:
            served = asm.served(K.ASM_MIGRATION)
            yield self.fail(where, "ASMMigrateFromIstio/default not found on the ASM control plane"
                            + ("" if served else " (the CRD is not served: the cluster was never added)"),
                            remediation="Add the cluster to the ASM instance with 'Ignore istio-system "
                                        "namespace check' selected; ASM then creates the resource.",
                            **subject)
            return
        spec, status = cr.get("spec") or {}, cr.get("status") or {}
        desired = spec.get("desiredState") or "Init"
        state = status.get("state") or ""
        message = status.get("message") or ""
        spec_retry, status_retry = spec.get("retryCounter", 0) or 0, status.get("retryCounter", 0) or 0
        _, option_name = advanced_option(cr)
        evidence = {"desiredState": desired, "state": state, "message": message,
                    "spec.retryCounter": spec_retry, "status.retryCounter": status_retry,
                    "advancedOption": option_name, "apiVersion": cr.get("apiVersion")}
        expected = EXPECTED_STATE[ctx.gate]
        retry = mesh.retry_command(int(spec_retry) + 1) if isinstance(spec_retry, int) else self.remediation

        if message:
            yield self.fail(where, f"the last switch to {desired} failed: {message}",
                            remediation=f"Do what the message says, then: {retry}", evidence=evidence,
                            **subject)
            return
        if desired != state:
            yield self.fail(where, f"switch to {desired} not complete (status.state is {state or 'empty'})",
                            remediation=f"Wait and re-run; if it does not move: {retry}", evidence=evidence,
                            **subject)
            return
        if spec_retry != status_retry:
            yield self.fail(where, f"retryCounter {spec_retry} not reconciled yet (status {status_retry})",
                            remediation="Wait for the control plane to reconcile, then re-run the audit.",
                            evidence=evidence, **subject)
            return
        if ctx.gate is Gate.FINISHED and state == "Finished":
            yield self.passed(where, "migration completed: status.state is Finished", evidence=evidence,
                              **subject)
            return
        if state not in MIGRATION_STATES:
            yield self.unknown(where, f"unrecognised state {state!r}", evidence=evidence, **subject)
            return
        have, want = MIGRATION_STATES.index(state), MIGRATION_STATES.index(expected)
        if have < want:
            step = next_state(state)
            yield self.fail(where, f"state is {state}; this gate needs {expected}",
                            remediation=mesh.desired_state_command(step) if step else self.remediation,
                            evidence=evidence, **subject)
        elif have > want:
            yield self.not_applicable(where, f"state is already {state}; the {ctx.gate.value} gate is behind",
                                      evidence=evidence, **subject)
        else:
            step = next_state(state)
            yield self.passed(where, f"state {state}, reconciled, no message",
                              remediation=mesh.desired_state_command(step) if step else "",
                              evidence=evidence, **subject)
