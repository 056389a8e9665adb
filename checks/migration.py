"""The ASMMigrateFromIstio resource on the ASM control plane: state, message, retry counters."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from auditor import clusterid, i18n, mesh
from auditor import kinds as K
from auditor.asm import (
    ADVANCED_OPTION,
    NO_EFFECT,
    Coverage,
    advanced_option,
    advanced_options,
    coverage,
    migration_resource,
    option_patch,
    seed_spelling_used,
)
from auditor.check import ENGINE_UNREADABLE, Check, Context
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory
from auditor.istioctl import installed_istioctl, purge_command
from auditor.model import GATE_STEPS, MIGRATION_STATES, Finding, Gate, Outcome, Severity, Status


def uninstall_command(clusters: list[ClusterInventory]) -> str:
    """The seed's uninstall, one line per data-plane cluster, as the istioctl of its installed Istio version spells it
    (istioctl.purge_command: `istioctl x uninstall` up to 1.14), that version named; where one version cannot be read
    from its istiods (none read, revisions of several, Deployments not read), today's spelling and the advice to
    match it."""
    lines = []
    for cluster in clusters:
        version, _ = installed_istioctl(cluster)
        lines.append(purge_command(cluster.name, version)
                     + (f"  # istioctl {version}" if version else f"  # {MATCHING_ISTIOCTL}"))
    return "\n".join(lines)


# A shell comment the catalog holds (said in the report's language: render/localize.comments_said).
MATCHING_ISTIOCTL = N_("use the istioctl that matches the installed Istio version")


def next_state(state: str) -> str | None:
    idx = MIGRATION_STATES.index(state) if state in MIGRATION_STATES else -1
    return MIGRATION_STATES[idx + 1] if 0 <= idx < len(MIGRATION_STATES) - 1 else None


def escaped(text: str) -> str:
    """status.message verbatim, quoted and escaped so newlines or quotes cannot break a report line."""
    return json.dumps(text, ensure_ascii=False)


def _counter(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# A shell comment the catalog holds (said in the report's language: render/localize.comments_said).
ASK_BEFORE_ANY_STEP = N_("metadata.finalizers, and who deletes it; ask ASM support before any step")

class MigrationResource(Check):
    id = "migration-resource"
    title = "ASMMigrateFromIstio/default is in the state this step needs, reconciled, without error"
    gates = (Gate.SETUP, Gate.MIGRATING, Gate.UNINSTALL, Gate.FINISHED)
    severity = Severity.BLOCKER
    rationale = ("The control plane moves the migration one state at a time (Init -> SetupIstioForMigrate -> "
                 "Migrating -> Finished); a switch counts only when status.state equals spec.desiredState, "
                 "status.message is empty and status.retryCounter equals spec.retryCounter.")
    remediation = "Fix what status.message says, then increment spec.retryCounter to retry the switch."
    _IDLE = "state {state}, reconciled, no message"
    READY = Outcome("AA0701", Status.PASS, "ASMMigrateFromIstio/default is in the state this gate needs, reconciled, "
                    "no message: the gate's switch can be made", message=_IDLE + "; next: switch to {next_state}")
    READY_TO_UNINSTALL = Outcome("AA0702", Status.PASS, "ASMMigrateFromIstio/default is in Migrating, reconciled, no "
                                 "message: Istio can be uninstalled",
                                 message=_IDLE + "; next: istioctl uninstall --purge")
    COMPLETED = Outcome("AA0703", Status.PASS, "the migration completed: status.state is Finished",
                        message="migration completed: status.state is Finished")
    READY_OPTION_SET = Outcome("AA0704", Status.PASS, "ASMMigrateFromIstio/default is in Init, reconciled, with the "
                               "istio-system label option set under the name ASM reads",
                               message=_IDLE + "; advanced option {option}=true; next: switch to {next_state}")
    READY_OPTION_NOT_SET = Outcome("AA0705", Status.PASS, "ASMMigrateFromIstio/default is in Init, reconciled; "
                                   "spec.advancedOptions is given but the istio-system label option ASM reads is not "
                                   "true", message=_IDLE + "; advanced option {option} not set ({options}); next: "
                                   "switch to {next_state}")
    MISSING = Outcome("AA0710", Status.FAIL, "ASMMigrateFromIstio/default is not on the ASM control plane",
                      message="ASMMigrateFromIstio/default not found on the ASM control plane")
    NOT_SERVED = Outcome("AA0711", Status.FAIL, "the ASMMigrateFromIstio CRD is not served: no cluster was added to "
                         "this ASM instance yet", message="ASMMigrateFromIstio/default not found on the ASM control "
                         "plane (its CRD is not served: no cluster was added to this ASM instance yet)")
    SWITCH_FAILED = Outcome("AA0712", Status.FAIL, "the last state switch failed: status.message says why",
                            fix="Do what the message says, then retry: {retry}",
                            message="the switch to {desired} failed (state {state}); status.message: {message}")
    NOT_RECONCILED = Outcome("AA0713", Status.FAIL, "the last change is not reconciled yet: spec.retryCounter and "
                             "status.retryCounter differ (or are not integers)",
                             fix="Wait for the control plane to reconcile, then re-run the audit; if it does not: "
                                 "{retry}",
                             message="last change not reconciled yet: spec.retryCounter {spec_retry}, "
                                     "status.retryCounter {status_retry}")
    UNREACHABLE_STATE = Outcome("AA0714", Status.FAIL, "spec.desiredState skips a step: the control plane only moves "
                                "one state forward, so the switch never completes",
                                message="desiredState {desired} cannot be reached from state {state}: states move "
                                        "one step forward at a time ({order})")
    SWITCH_PENDING = Outcome("AA0715", Status.FAIL, "a state switch is in progress or stuck: status.state has not "
                             "reached spec.desiredState and status.message is empty",
                             fix="Wait a minute and re-run the audit; if the state does not move: {retry}",
                             message="switch to {desired} in progress or stuck: status.state is still {state} and "
                                     "status.message is empty")
    BEHIND = Outcome("AA0716", Status.FAIL, "the migration has not reached the state this gate needs yet",
                     message="state is {state}; the {gate} gate needs {expected}")
    OPTION_NO_EFFECT = Outcome("AA0720", Status.WARN, "spec.advancedOptions carries the seed's patch spelling of the "
                        "istio-system label option, which ASM ignores; the name ASM reads is not set",
                        Severity.MINOR, message=NO_EFFECT + " (not set)")
    NO_EFFECT_BESIDE = Outcome("AA0721", Status.WARN, "spec.advancedOptions carries the seed's patch spelling of the "
                               "istio-system label option (ignored by ASM) beside the name ASM reads",
                               Severity.MINOR, message=NO_EFFECT + " (which is {value})")
    UNKNOWN_STATE = Outcome("AA0730", Status.UNKNOWN, "status.state is not one of the migration's states",
                            message="unrecognised status.state {state} (desiredState {desired})")
    NOT_JOINED = Outcome("AA0717", Status.FAIL, "an audited cluster is not among the clusters joined to the ASM "
                         "instance: the migration's switches do not reach it",
                         message="cluster {cluster} (id {cluster_id}) is not joined to the ASM instance ({source} "
                                 "lists {joined}): the migration's state switches do not reach it",
                         # AddClusterIntoServiceMesh's request: ServiceMeshId, ClusterId, IgnoreNamespaceCheck
                         # (aliyun/alibabacloud-csharp-sdk servicemesh-20200111 AddClusterIntoServiceMeshRequest.cs).
                         fix="Add the cluster to the ASM instance with the istio-system namespace check ignored (ASM "
                             "console: 'Ignore istio-system namespace check'; or `aliyun servicemesh "
                             "AddClusterIntoServiceMesh --ServiceMeshId <mesh id> --ClusterId {cluster_id} "
                             "--IgnoreNamespaceCheck true`), or correct its id (fleet file cluster_id, config "
                             "asm.cluster_ids); then audit again.")
    ID_CONFLICT = Outcome("AA0718", Status.FAIL, "an audited cluster is not the cluster its given id names: the "
                          "cluster its kubeconfig/context reads writes another id of itself (ConfigMap "
                          "kube-system/ack-cluster-profile)",
                          message="cluster {cluster} was given id {given}, but the cluster its kubeconfig/context "
                                  "reads is {own} (ConfigMap kube-system/ack-cluster-profile, clusterid): this audit "
                                  "judged another cluster than the one named",
                          # The command on a line of its own: the report shows it as a command block, and it runs as
                          # copied (inside the sentence it ended in "; then audit again.").
                          fix="Point cluster {cluster}'s kubeconfig/context at the cluster {given}, or correct the id "
                              "given (fleet file cluster_id, config asm.cluster_ids, snapshot manifest), then audit "
                              "again. The id the cluster read writes of itself:\n{command}")
    NOT_AUDITED = Outcome("AA0731", Status.UNKNOWN, "a cluster joined to the ASM instance was not audited: the "
                          "migration's state is the whole instance's, so what this gate needs of each cluster is not "
                          "known for it", message="cluster {cluster} is joined to the ASM instance ({source}) but was "
                                                  "not audited: the state switch applies to it too, unchecked",
                          fix="Audit it in the same run: add --cluster <name>=<its kubeconfig> and its id (config "
                              "asm.cluster_ids, <name>: {cluster}). If it never ran Istio, exempt this finding "
                              "(check migration-resource, kind Cluster, name {cluster}) with the reason.")
    COVERAGE_UNPROVEN = Outcome("AA0732", Status.UNKNOWN, "which clusters joined to the ASM instance were audited "
                                "cannot be told: the state switch may apply to a cluster this audit did not check",
                                message="which clusters joined to the ASM instance were audited cannot be told: {why}",
                                fix="Give each audited cluster its ACK cluster id (fleet file cluster_id, or config "
                                    "asm.cluster_ids) and audit every joined cluster in one run; then audit again.")
    # Being deleted (metadata.deletionTimestamp, held by finalizers): what ASM does with a migration whose resource
    # goes away is not published, so its state says nothing of the next step.
    BEING_DELETED = Outcome("AA0733", Status.UNKNOWN, "ASMMigrateFromIstio/default is being deleted: what the ASM "
                            "control plane does with the migration then is not known, so its state proves nothing",
                            message="ASMMigrateFromIstio/default is being deleted (since {since}), in state {state}: "
                                    "the step after it cannot be judged on it")
    PAST = Outcome("AA0740", Status.NOT_APPLICABLE, "the migration is already past this gate's step",
                   message="state is already {state}; the {gate} step is behind the migration")
    outcomes = (READY, READY_TO_UNINSTALL, COMPLETED, READY_OPTION_SET, READY_OPTION_NOT_SET, MISSING, NOT_SERVED,
                SWITCH_FAILED, NOT_RECONCILED, UNREACHABLE_STATE, SWITCH_PENDING, BEHIND, NOT_JOINED, ID_CONFLICT,
                OPTION_NO_EFFECT, NO_EFFECT_BESIDE, UNKNOWN_STATE, NOT_AUDITED, COVERAGE_UNPROVEN, BEING_DELETED, PAST)
    asm_needs = (K.ASM_MIGRATION,)
    # Each data plane's own id, in ConfigMap kube-system/ack-cluster-profile (auditor/clusterid.py): when not read,
    # only the id given is known.
    # Their istiod Deployments: which istioctl spells AA0702's uninstall (istioctl.istioctl_version).
    uses = (K.CONFIGMAP, K.DEPLOYMENT)
    # The gates whose step is a switch of the instance's one ASMMigrateFromIstio (and the proof of the last one): it
    # moves every joined cluster, audited or not. `istioctl uninstall --purge` is run per cluster.
    WHOLE_INSTANCE_GATES = (Gate.SETUP, Gate.MIGRATING, Gate.FINISHED)

    def run(self, ctx: Context) -> Iterable[Finding]:
        covered = coverage(ctx.inv)
        # Whatever the migration's state, and whether it could be read: every finding of this audit about that
        # cluster is about another one (with the resource unreadable and --allow-unknown, the conflict was unsaid).
        conflicts = [self.report(self.ID_CONFLICT, i.name, params={
            "cluster": i.name, "given": i.given, "own": i.own, "command": clusterid.profile_command(i.name)},
            kind="Cluster", name=i.given or "", evidence=i.evidence()) for i in covered.conflicts]
        try:
            found = list(self._state(ctx))
        except EvidenceUnavailable as exc:  # as the engine says it (judge._guarded), beside the conflicts
            mesh_wide = ctx.inv.asm.name if ctx.inv.asm else "mesh"
            return [self.report(ENGINE_UNREADABLE, exc.cluster or mesh_wide, params={"reason": exc.reason}),
                    *conflicts]
        if found and all(f.code not in (self.PAST.code, self.MISSING.code, self.NOT_SERVED.code) for f in found):
            evidence = covered.evidence()
            for f in found:
                f.evidence = {**f.evidence, **evidence}
            joined = covered.joined
            # Every step needs the audited cluster joined: a switch, or Istio's uninstall, where ASM serves nothing.
            found += [self.report(self.NOT_JOINED, name, params={
                "cluster": name, "cluster_id": cluster_id, "source": joined.origin,
                "joined": ", ".join(joined.ids) or "none"}, kind="Cluster", name=cluster_id,
                evidence=evidence) for name, cluster_id in covered.strangers]
            if ctx.gate in self.WHOLE_INSTANCE_GATES:
                found += self._coverage(ctx.inv.require_asm().name, covered, evidence)
        return found + conflicts

    def _coverage(self, where: str, covered: Coverage, evidence: dict[str, Any]) -> list[Finding]:
        """UNKNOWN for each joined cluster no audited cluster is (by id), or once when that cannot be told; nothing
        when every joined cluster was audited or ASM's list of them was not given (the fleet overview says so).
        `evidence`: covered.evidence(), made once for all the check's findings."""
        joined = covered.joined
        if covered.covered or (not joined.known and not joined.why):
            return []
        if not joined.known:
            return [self.report(self.COVERAGE_UNPROVEN, where, params={"why": joined.why}, evidence=evidence)]
        if covered.unnamed:
            # Matched by count only in a single-cluster mesh whose one audited cluster is proven not ACK (Coverage).
            why = Phrase(N_("{missing} of the {joined} joined cluster id(s) ({ids}) are none of the audited clusters', "
                            "and {unnamed} audited cluster(s) have no known id, none given and none of their own in "
                            "ConfigMap kube-system/ack-cluster-profile ({profiles}): taking them for the joined ones "
                            "by count could take a wrong cluster (another context) for one"),
                         missing=len(covered.missing), joined=len(joined.ids), ids=", ".join(covered.missing),
                         unnamed=len(covered.unnamed),
                         profiles=i18n.joined("; ", (Phrase(N_("{name}: {state}"), name=name, state=state)
                                                for name, state in covered.unnamed_profiles().items())))
            return [self.report(self.COVERAGE_UNPROVEN, where, params={"why": why}, evidence=evidence)]
        return [self.report(self.NOT_AUDITED, where, params={"cluster": cluster_id, "source": joined.origin},
                            kind="Cluster", name=cluster_id,
                            evidence={**evidence, "asm_name": joined.names.get(cluster_id)})
                for cluster_id in covered.missing]

    def _state(self, ctx: Context) -> Iterable[Finding]:
        asm = ctx.inv.require_asm()
        where = asm.name
        cr = migration_resource(asm)
        subject = {"kind": "ASMMigrateFromIstio", "name": "default"}
        if cr is None:
            yield self.report(self.MISSING if asm.served(K.ASM_MIGRATION) else self.NOT_SERVED, where, params={},
                              remediation="Add the cluster to the ASM instance with 'Ignore istio-system "
                                          "namespace check' selected; ASM then creates the resource "
                                          f"(check: {mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml).",
                              **subject)
            return
        spec, status = cr.get("spec") or {}, cr.get("status") or {}
        desired = str(spec.get("desiredState") or "Init")
        state = str(status.get("state") or "")
        deleting = (cr.get("metadata") or {}).get("deletionTimestamp")
        if deleting:
            yield self.report(self.BEING_DELETED, where, params={"since": str(deleting), "state": state or "-"},
                              evidence={"deletionTimestamp": str(deleting), "state": state,
                                        "finalizers": (cr.get("metadata") or {}).get("finalizers")},
                              remediation=f"{mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml  "
                                          f"# {ASK_BEFORE_ANY_STEP}",
                              **subject)
            return
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
        if seed_spelling_used(cr):
            if ADVANCED_OPTION in options:
                outcome, params = self.NO_EFFECT_BESIDE, {"value": json.dumps(options[ADVANCED_OPTION])}
            else:
                outcome, params = self.OPTION_NO_EFFECT, {}
            yield self.report(outcome, where, params=params, remediation=option_patch(cr), evidence=evidence,
                              **subject)

        if message:
            yield self.report(self.SWITCH_FAILED, where, params={"desired": desired, "state": state or "empty",
                                                                 "message": escaped(message), "retry": retry},
                              evidence=evidence, **subject)
            return
        if spec_retry is None or spec_retry != status_retry:
            yield self.report(self.NOT_RECONCILED, where, params={
                "spec_retry": repr(spec.get("retryCounter")), "status_retry": repr(status.get("retryCounter")),
                "retry": retry}, evidence=evidence, **subject)
            return
        if state not in MIGRATION_STATES:
            yield self.report(self.UNKNOWN_STATE, where, params={"state": repr(state), "desired": desired},
                              evidence=evidence, **subject)
            return
        if desired != state:
            step = next_state(state)
            if desired != step:
                # The control plane only accepts the next state; anything else never completes.
                fix = (mesh.desired_state_command(step) if step else "set spec.desiredState back to Finished")
                yield self.report(self.UNREACHABLE_STATE, where, params={
                    "desired": desired, "state": state, "order": " -> ".join(MIGRATION_STATES)},
                    remediation=fix, evidence=evidence, **subject)
            else:
                yield self.report(self.SWITCH_PENDING, where, params={"desired": desired, "state": state,
                                                                      "retry": retry}, evidence=evidence, **subject)
            return
        if ctx.gate is Gate.FINISHED and state == "Finished":
            yield self.report(self.COMPLETED, where, params={}, evidence=evidence, **subject)
            return
        have, want = MIGRATION_STATES.index(state), MIGRATION_STATES.index(expected)
        if have < want:
            step = next_state(state)
            yield self.report(self.BEHIND, where, params={"state": state, "gate": ctx.gate.value,
                                                          "expected": expected},
                              remediation=mesh.desired_state_command(step) if step else self.remediation,
                              evidence=evidence, **subject)
        elif have > want:
            yield self.report(self.PAST, where, params={"state": state, "gate": ctx.gate.value}, evidence=evidence,
                              **subject)
        elif ctx.gate is Gate.UNINSTALL:
            # The gate's own step: removing Istio while in Migrating.
            yield self.report(self.READY_TO_UNINSTALL, where, params={"state": state},
                              remediation=uninstall_command(ctx.inv.data_planes),
                              evidence=evidence, **subject)
        else:
            # The gate's own step: the next state switch (the setup gate names the istio-system label option).
            step = next_state(state) or ""
            params = {"state": state, "next_state": step}
            outcome = self.READY
            if ctx.gate is Gate.SETUP and options:
                outcome = self.READY_OPTION_SET if option_set else self.READY_OPTION_NOT_SET
                params["option"] = option_name if option_set else ADVANCED_OPTION
                if not option_set:
                    params["options"] = ", ".join(f"{k}={json.dumps(v)}" for k, v in options.items())
            yield self.report(outcome, where, params=params, remediation=mesh.desired_state_command(step),
                              evidence=evidence, **subject)
