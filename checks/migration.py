"""The ASMMigrateFromIstio resource on the ASM control plane: state, message, retry counters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.asm import ADVANCED_OPTION, NO_EFFECT, advanced_option, advanced_options, option_patch, seed_spelling_used
from auditor.check import Check, Context
from auditor.model import GATE_STEPS, MIGRATION_STATES, Finding, Gate, Outcome, Severity, Status


def uninstall_command(clusters: list[str]) -> str:
    """The seed's uninstall, per data-plane cluster, with the istioctl of the installed Istio version."""
    return "; ".join(f"istioctl --kubeconfig={mesh.kubeconfig_var(c)} uninstall --purge" for c in clusters) + (
        "  # use the istioctl that matches the installed Istio version")


def next_state(state: str) -> str | None:
    idx = MIGRATION_STATES.index(state) if state in MIGRATION_STATES else -1
    return MIGRATION_STATES[idx + 1] if 0 <= idx < len(MIGRATION_STATES) - 1 else None


def escaped(text: str) -> str:
    """status.message verbatim, quoted and escaped so newlines or quotes cannot break a report line."""
    return json.dumps(text, ensure_ascii=False)


def _counter(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class MigrationResource(Check):
    id = "migration-resource"
    title = "ASMMigrateFromIstio/default is in the state this step needs, reconciled, without error"
    gates = (Gate.SETUP, Gate.MIGRATING, Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("The control plane moves the migration one state at a time (Init -> SetupIstioForMigrate -> "
                 "Migrating -> Finished); a switch counts only when status.state equals spec.desiredState, "
                 "status.message is empty and status.retryCounter equals spec.retryCounter.")
    remediation = "Fix what status.message says, then increment spec.retryCounter to retry the switch."
    outcomes = (
        Outcome("AA0701", Status.PASS,
                "ASMMigrateFromIstio/default is in the state this gate needs, reconciled, no message"),
        Outcome("AA0710", Status.FAIL,
                "ASMMigrateFromIstio/default is missing, in another state, not reconciled or reports a failure"),
        Outcome("AA0720", Status.WARN,
                "ASMMigrateFromIstio/default carries a setting with no effect (an option spelling ASM does not read)"),
        Outcome("AA0730", Status.UNKNOWN, "ASMMigrateFromIstio cannot be read on the ASM control plane"),
        Outcome("AA0740", Status.NOT_APPLICABLE, "the migration is already past this gate's step"),
    )
    asm_needs = (K.ASM_MIGRATION,)

    def run(self, ctx: Context) -> Iterable[Finding]:
        asm = ctx.inv.require_asm()
        where = asm.name
        cr = asm.get(K.ASM_MIGRATION, "default")
        subject = {"kind": "ASMMigrateFromIstio", "name": "default"}
        if cr is None:
            served = asm.served(K.ASM_MIGRATION)
            yield self.fail(where, "ASMMigrateFromIstio/default not found on the ASM control plane"
                            + ("" if served else " (its CRD is not served: no cluster was added to this ASM "
                               "instance yet)"),
                            remediation="Add the cluster to the ASM instance with 'Ignore istio-system "
                                        "namespace check' selected; ASM then creates the resource "
                                        f"(check: {mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml).",
                            **subject)
            return
        spec, status = cr.get("spec") or {}, cr.get("status") or {}
        desired = str(spec.get("desiredState") or "Init")
        state = str(status.get("state") or "")
        message = str(status.get("message") or "")
        spec_retry, status_retry = _counter(spec.get("retryCounter", 0)), _counter(status.get("retryCounter", 0))
        options = advanced_options(cr)
        option_set, option_name = advanced_option(cr)
        evidence = {"desiredState": desired, "state": state, "message": message,
                    "spec.retryCounter": spec.get("retryCounter"), "status.retryCounter": status.get("retryCounter"),
                    "advancedOptions": options, "advancedOption": option_name, "apiVersion": cr.get("apiVersion")}
        retry = (mesh.retry_command(spec_retry + 1) if spec_retry is not None
                 else "increment spec.retryCounter (it is not an integer now)")
        expected = GATE_STEPS[ctx.gate].needs_state
        option_note = ""
        if ctx.gate is Gate.SETUP and options:
            option_note = (f"; advanced option {option_name}=true" if option_set else
                           f"; advanced option {ADVANCED_OPTION} not set ("
                           + ", ".join(f"{k}={json.dumps(v)}" for k, v in options.items()) + ")")
        if seed_spelling_used(cr):
            yield self.warn(where, NO_EFFECT + (f" (which is {json.dumps(options.get(ADVANCED_OPTION))})"
                                                if ADVANCED_OPTION in options else " (not set)"),
                            severity=Severity.MINOR, remediation=option_patch(cr), evidence=evidence, **subject)

        if message:
            yield self.fail(where, f"the switch to {desired} failed (state {state or 'empty'}); status.message: "
                            f"{escaped(message)}", remediation=f"Do what the message says, then retry: {retry}",
                            evidence=evidence, **subject)
            return
        if spec_retry is None or spec_retry != status_retry:
            yield self.fail(where, f"last change not reconciled yet: spec.retryCounter "
                            f"{spec.get('retryCounter')!r}, status.retryCounter {status.get('retryCounter')!r}",
                            remediation="Wait for the control plane to reconcile, then re-run the audit; if it "
                                        f"does not: {retry}", evidence=evidence, **subject)
            return
        if state not in MIGRATION_STATES:
            yield self.unknown(where, f"unrecognised status.state {state!r} (desiredState {desired})",
                               evidence=evidence, **subject)
            return
        if desired != state:
            step = next_state(state)
            if desired != step:
                # The control plane only accepts the next state; anything else never completes.
                fix = (mesh.desired_state_command(step) if step else "set spec.desiredState back to Finished")
                yield self.fail(where, f"desiredState {desired} cannot be reached from state {state}: states "
                                f"move one step forward at a time ({' -> '.join(MIGRATION_STATES)})",
                                remediation=fix, evidence=evidence, **subject)
            else:
                yield self.fail(where, f"switch to {desired} in progress or stuck: status.state is still {state} "
                                "and status.message is empty", remediation="Wait a minute and re-run the audit; "
                                f"if the state does not move: {retry}", evidence=evidence, **subject)
            return
        if ctx.gate is Gate.FINISHED and state == "Finished":
            yield self.passed(where, "migration completed: status.state is Finished", evidence=evidence,
                              **subject)
            return
        have, want = MIGRATION_STATES.index(state), MIGRATION_STATES.index(expected)
        if have < want:
            step = next_state(state)
            yield self.fail(where, f"state is {state}; the {ctx.gate.value} gate needs {expected}{option_note}",
                            remediation=mesh.desired_state_command(step) if step else self.remediation,
                            evidence=evidence, **subject)
        elif have > want:
            yield self.not_applicable(where, f"state is already {state}; the {ctx.gate.value} step is behind "
                                      "the migration", evidence=evidence, **subject)
        else:
            # The gate's own step: a state switch, or (uninstall) removing Istio while in Migrating.
            step = None if ctx.gate is Gate.UNINSTALL else next_state(state)
            command = (mesh.desired_state_command(step) if step
                       else uninstall_command([c.name for c in ctx.inv.data_planes]))
            yield self.passed(where, f"state {state}, reconciled, no message{option_note}; next: "
                              + (f"switch to {step}" if step else "istioctl uninstall --purge"),
                              remediation=command, evidence=evidence, **subject)
