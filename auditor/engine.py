"""The audit, one direction: plan -> collect -> judge -> result.

plan.py picks the gate(s) and the checks and says which kinds each plane must give (also `asm-audit rbac`);
collect.py reads each kind once per cluster into the inventory; judge.py runs the checks on a Context, guarded,
and stamps their findings; here the findings become a frame, exemptions apply and the verdict is reached
(result.py holds AuditResult). `run_audit` is the entry point for the CLI, the API and the tests.

A snapshot of several data planes is judged one cluster at a time (`_cluster_by_cluster`): each data plane is
read, judged by every check of every gate, and released (its pod frame, its findings and a few derived views stay)
before the next one is read, so a fleet needs about one cluster's memory plus what each keeps (bench/README.md).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import gc
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from auditor import clusterid, envoyfilters, evidence, istioctl, judge, mesh, plan, timing
from auditor import kinds as K
from auditor.check import Check, Context
from auditor.collect import Collector, Progress, _quiet, gc_paused, read_ahead
from auditor.config import CHECK_ALIASES, Config, catch_all_checks, check_openapi_answer, load_openapi_answer
from auditor.diff import existing_blockers, since_baseline
from auditor.errors import EvidenceUnavailable, UsageError, unknown_phase
from auditor.findings import (
    apply_exemptions,
    config_effects,
    exemption_notes,
    exit_code_of,
    findings_frame,
    summary_of,
    verdicts_by_gate,
    worst,
)
from auditor.fleet import overview
from auditor.gateways import (
    SERVICE_REGISTRY_VIEW,
    eastwest_signals,
    gateway_services,
    gateway_workloads,
    service_registry,
)
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory, Inventory
from auditor.kinds import Kind
from auditor.model import Gate, Verdict
from auditor.plan import FACT_KINDS, PHASES, migration_resource
from auditor.registry import Registry, load_registry
from auditor.result import AuditResult, cluster_facts, data_plane_facts, live_digest
from auditor.sources.asm_openapi import vet_answers
from auditor.sources.base import SourceSet
from auditor.sources.snapshot import SnapshotWriter

# Names callers and tests import from here (the entry point) since before the split.
__all__ = [
    "FACT_KINDS",
    "PHASES",
    "AuditResult",
    "Context",
    "Gate",
    "_quiet",
    "gc_paused",
    "read_ahead",
    "run_audit",
]


def _run_audit(
    sources: SourceSet,
    phase: str = "auto",
    config: Config | None = None,
    *,
    allow_unknown: bool = False,
    strict: bool = False,
    progress: Progress = _quiet,
    writer: SnapshotWriter | None = None,
    extra_checks: list[type[Check]] | None = None,
    traffic_provider: Callable[[Inventory, Config], Any] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    baseline: dict[str, Any] | None = None,
    fail_on_new: bool = False,
) -> AuditResult:
    """Audit the sources for a gate. Raises UsageError for bad input; never returns GO without evidence.

    `baseline` (a findings.json document) adds `baseline_delta`; with `fail_on_new` only blockers that did
    not block in the baseline decide NO-GO (UNKNOWN still makes INCOMPLETE).
    """
    if phase not in PHASES:
        raise unknown_phase(phase, list(PHASES))
    if fail_on_new and baseline is None:
        raise UsageError("--fail-on-new needs --baseline OLD.json")
    config = config or Config()
    now = now or dt.datetime.now(dt.UTC)
    today = today or now.date()
    registry: Registry = load_registry(extra_checks)
    disabled = config.disabled()
    _check_config_names(config, registry)

    rules = mesh.ProxyRules(**{k: v for k, v in config.classification.model_dump().items() if v is not None})
    openapi = dict(sources.asm_openapi)
    # Networks from a fleet file (api.open_sources, or a snapshot of a fleet) and from the config; the config wins.
    networks = {**sources.networks, **config.asm.networks}
    # Saved answers named in the config take the place of live or snapshot ones: one shape for the checks.
    for action, path in (("DescribeServiceMeshDetail", config.asm.describe_service_mesh_detail),
                         ("DescribeMeshMultiClusterNetwork", config.asm.multi_cluster_network)):
        if path:
            openapi[action] = check_openapi_answer(action, path, load_openapi_answer(path))
            openapi["_origins"] = {**(openapi.get("_origins") or {}), action: f"ASM OpenAPI {action} answer {path}"}
    # Recorded error bodies, and answers of another instance or region than the audited one, are failed reads.
    openapi = vet_answers(openapi, config.asm.mesh_id, config.asm.region)
    _check_kubeconfig_variables([s.name for s in sources.data_planes])
    inv = Inventory(data_planes=[], rules=rules, asm_openapi=openapi)
    collector = Collector(sources, inv, progress, writer)
    for c in inv.data_planes:
        if c.cluster_id is None and c.name in config.asm.cluster_ids:
            c.cluster_id = config.asm.cluster_ids[c.name]

    notes: list[str] = [n for n in [config.alias_note()] if n]
    recorded = sources.asm_openapi.get("_errors") if isinstance(sources.asm_openapi.get("_errors"), dict) else {}
    notes += list(dict.fromkeys(line for action, line in (openapi.get("_errors") or {}).items()
                                if action not in recorded))  # what vet_answers refused, said once as a failed read is
    asm_first = list(plan.GATE_SELECTION_ASM_KINDS)
    if sources.origin == "snapshot":
        # One pass over the ASM cluster's files reads every kind its checks need (the gates known), or any gate may
        # need (--phase auto, as for the data planes below). Reading the migration state alone first parsed (and
        # shape-checked) its Istio configuration files twice.
        asm_first += plan.asm_kinds(plan.selected_checks(phase, registry, disabled))
    collector.ensure(asm_first, "asm")
    if phase == "auto":
        first = list(plan.GATE_SELECTION_KINDS)
        if sources.origin == "snapshot":
            # One pass over a snapshot's files reads every kind any gate may need; reading the
            # Deployments alone first would parse the (big) pod files twice.
            first += plan.data_plane_kinds(plan.enabled_checks(registry, disabled))
        collector.ensure(first, "data-plane")
    gates, reason = plan.gates_for(phase, inv)
    selected = plan.checks_for(gates, registry, disabled)
    traffic = bool(traffic_provider and any(c.needs_traffic for c in selected))
    ctx = Context(inv=inv, gate=gates[0], config=config, now=now, networks=networks)
    steps = None
    if _cluster_by_cluster(phase, sources, writer, selected, traffic):
        collector.ensure(plan.asm_kinds(selected), "asm")
        steps = _OneAtATime(collector, plan.data_plane_kinds(selected), ctx)
    else:
        collector.ensure(plan.data_plane_kinds(selected), "data-plane")
        collector.ensure(plan.asm_kinds(selected), "asm")
        if plan.needs_asm_marks(phase, inv):
            collector.ensure(plan.ASM_MARK_KINDS, "data-plane")  # what ASM leaves on a data plane
        if traffic and traffic_provider:
            inv.traffic = traffic_provider(inv, config)

    findings = judge.judge(ctx, gates, selected, registry.broken, steps)
    # --allow-unknown accepts pieces of evidence that could not be read, never a cluster that could not be read at
    # all: a GO on no evidence of it (a CI gate whose API server did not answer went on to uninstall Istio).
    unread_clusters = [c.name for c in inv.clusters() if c.unreachable]
    allow_unknown_refused = allow_unknown and bool(unread_clusters)
    if allow_unknown_refused:
        allow_unknown = False
        notes.append(Phrase(N_("--allow-unknown does not apply: {clusters} could not be read at all (unreachable); "
                               "its findings are UNKNOWN and the verdict is at best INCOMPLETE"),
                            clusters=", ".join(unread_clusters)))
    # Nor one that answered but let no list be read (no ClusterRole bound, a token refused everywhere): every check of
    # it UNKNOWN is as little evidence as an unreachable one's (a CI gate without `asm-audit rbac` applied said GO).
    # (No walrus here: in a comprehension it would bind in this function, over the gate's `reason`.)
    refused_lists = {c.name: c.nothing_read() for c in inv.clusters() if not c.unreachable and c.nothing_read()}
    if allow_unknown and refused_lists:
        allow_unknown, allow_unknown_refused = False, True
        notes.append(Phrase(N_("--allow-unknown does not apply: no list of {clusters} could be read ({reason}); its "
                               "findings are UNKNOWN and the verdict is at best INCOMPLETE"),
                            clusters=", ".join(refused_lists), reason=next(iter(refused_lists.values()))))
    # Nor a data plane whose primary kinds for the gate were not read (plan.PRIMARY_KINDS: its Pods): every check
    # judging its workloads UNKNOWN is no evidence of the data plane (pods forbidden alone said GO, fix23d).
    unread_primary = plan.unread_primary_kinds(inv, gates, selected)
    if allow_unknown and unread_primary:
        allow_unknown, allow_unknown_refused = False, True
        kinds, why = next(iter(unread_primary.values()))
        notes.append(Phrase(N_("--allow-unknown does not apply: {kinds} of {clusters} could not be read ({reason}), "
                               "the evidence of the gate's data-plane checks; their findings are UNKNOWN and the "
                               "verdict is at best INCOMPLETE"),
                            kinds=", ".join(kinds), clusters=", ".join(unread_primary), reason=why))
    # Nor evidence of what the clusters were, not what they are (AA0012): snapshot.max_age is where older is accepted.
    evidence_at = evidence.evidence_time(sources, now, config.snapshot.max_age)
    if allow_unknown and evidence_at.problem is not None:
        allow_unknown, allow_unknown_refused = False, True
        notes.append(Phrase(N_("--allow-unknown does not apply: {reason}; the verdict is at best INCOMPLETE (a larger "
                               "snapshot.max_age in the config accepts older evidence)"), reason=evidence_at.problem))
    if plan.needs_asm_marks(phase, inv):
        collector.ensure(plan.ASM_MARK_KINDS, "data-plane")  # after the checks: they judge what they declared
    findings.extend(judge.gate_findings(inv, phase, gates, reason))
    findings.extend(evidence.evidence_findings(evidence_at, gates))

    exemption_report = apply_exemptions(findings, config.exemptions, today,
                                        audited_checks=[c.id for c in selected])
    notes.extend(exemption_notes(exemption_report))
    # The audited gates' checks the config disabled: counted (summary.checks_disabled) and named beside the verdict,
    # as exemptions are; a disabled blocker check otherwise left a GO with no trace of it in any output.
    disabled_here = [c.id for c in plan.checks_for(gates, registry) if c.id in disabled]
    notes.extend(config.left_out_notes(disabled_here, [c.id for c in selected]))
    # Nor what no check judged (judge.UNJUDGED_CODES): AA0010's gate is a guess, a crashed check may hide a blocker.
    codes = judge.unjudged(findings)
    if allow_unknown and codes:
        allow_unknown, allow_unknown_refused = False, True
        notes.append(Phrase(N_("--allow-unknown does not apply: {codes} (no judgement was made: the gate is unknown, a "
                               "check crashed, said nothing or reported an outcome it does not declare, or a plugin "
                               "did not load); the verdict is at best INCOMPLETE"), codes=", ".join(codes)))
    frame = findings_frame(findings)

    def gate_verdicts_of(judged: pd.DataFrame) -> dict[str, str]:
        return {g: v.value for g, v in verdicts_by_gate(judged, [g.value for g in gates], allow_unknown=allow_unknown,
                                                         strict=strict).items()}

    relieved = existing_blockers(frame, baseline, strict, audited_checks=[c.id for c in selected]) if (
        baseline is not None and fail_on_new) else None
    judged = frame.assign(exempt=frame["exempt"] | relieved) if relieved is not None else frame
    if relieved is not None:  # said per finding too: junit.xml and findings.json readers see which FAIL did not block
        frame["baseline_accepted"] = relieved.to_numpy(dtype=bool)
    gate_verdicts = gate_verdicts_of(judged)
    verdict = worst(Verdict(v) for v in gate_verdicts.values())
    verdict_without_baseline = worst(Verdict(v) for v in gate_verdicts_of(frame).values()) if (
        relieved is not None) else verdict
    fleet_rows = overview(inv, frame, [g.value for g in gates], allow_unknown=allow_unknown, strict=strict,
                          relieved=relieved)
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable:
        cr = None
    result = AuditResult(
        findings=frame, verdict=verdict, exit_code=exit_code_of(verdict),
        gate=phase if phase == "all" else gates[0].value, gates=[g.value for g in gates], gate_reason=reason,
        gate_verdicts=gate_verdicts, clusters=cluster_facts(inv, cr, networks),
        summary={**summary_of(frame), **config_effects(frame), "checks_disabled": len(disabled_here)},
        inputs_sha256=sources.digest() or live_digest(sources),
        generated_at=now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        collected_at=evidence_at.collected_at, evidence_age_s=evidence_at.age_s,
        evidence_unreadable=evidence_at.collected_at is None and evidence_at.problem is not None,
        exemptions=exemption_report, checks=[c.metadata() for c in selected], notes=notes, inventory=inv,
        options={"allow_unknown": allow_unknown, "strict": strict, "phase": phase, "origin": sources.origin,
                 "fail_on_new": fail_on_new, "allow_unknown_refused": allow_unknown_refused,
                 # What of each data plane's primary evidence was not read, given the flag or not: the terminal says
                 # the flag would not accept it rather than offering it (cli/common._not_acceptable).
                 "unread_primary_kinds": {name: kinds for name, (kinds, _) in unread_primary.items()}},
        fleet=fleet_rows, cluster_verdicts={r["cluster"]: r["verdict"] for r in fleet_rows if r["verdict"]},
    )
    if baseline is not None:
        accepted = int(relieved.sum()) if relieved is not None else 0
        result.baseline_delta = since_baseline(result, baseline, fail_on_new=fail_on_new, accepted=accepted,
                                               verdict_without_baseline=verdict_without_baseline.value,
                                               source=baseline.get("_source"))
        if accepted:
            result.notes.append(Phrase(N_("--fail-on-new: {count} blocker finding(s) already in the baseline do not "
                                          "block; without the baseline the verdict is {verdict}"), count=accepted,
                                       verdict=verdict_without_baseline.value))
    return result


def _cluster_by_cluster(phase: str, sources: SourceSet, writer: SnapshotWriter | None,
                        selected: list[type[Check]], traffic: bool) -> bool:
    """Whether the data planes are judged one at a time, each released before the next is read (judge.py).

    For a snapshot of several data planes judged by the built-in checks. Not for --phase auto (the gate is chosen
    from every cluster's Deployments first), a snapshot being written, gateway traffic (read for every cluster
    before the checks), plug-in checks (what they read of other clusters is not known), nor live clusters (read
    side by side, so a live fleet takes the time of its slowest cluster, not the sum).
    """
    return (phase != "auto" and writer is None and sources.origin == "snapshot" and len(sources.data_planes) > 1
            and not traffic and all(c.__module__.split(".")[0] == "checks" for c in selected))


# What readers after a cluster's checks use of it (derived views kept in ClusterInventory.memo): cross-cluster
# checks (asm-version, egress-routes-to-asm's conclude), the gate already past (plan), the cluster facts.
KEPT_VIEWS = ("istiod_owners", "istiod_deployed", "gateway_workloads", "eastwest_signals", "gateway_services",
              "data_plane_facts", clusterid.PROFILE_VIEW, SERVICE_REGISTRY_VIEW, envoyfilters.ROOTS_VIEW,
              istioctl.ISTIOCTL_VIEW)
# The pod frame's columns read after a cluster's checks: ASM proxy images (asm.asm_proxy_versions), the fleet rows'
# counts (fleet.proxy_counts), the report's progress (render.context, with the proxyless apps' xds_server), tracking's
# sidecar pods; and the marks a proxy is classified from (ClusterInventory._classify_proxies).
KEPT_POD_COLUMNS = ("namespace", "phase", "role", "proxy", "proxy_image", "workload_kind", "workload_name",
                    "asm_env", "image_kind", "ca_service", "xds_server")


class _OneAtATime:
    """judge.ClusterSteps for a snapshot fleet: read one data plane; once judged, compute what later readers use
    of it (KEPT_VIEWS, the pod frame) and drop its objects."""

    def __init__(self, collector: Collector, kinds: list[Kind], ctx: Context) -> None:
        self.collector, self.kinds, self.ctx = collector, kinds, ctx

    def collect(self, cluster: ClusterInventory) -> None:
        self.collector.ensure_cluster(cluster, self.kinds)

    def release(self, cluster: ClusterInventory, keep: set[Kind]) -> None:
        if cluster.unreachable:
            return
        rules, names = self.ctx.inv.rules, self.ctx.config.gateways
        try:
            if cluster.available(K.POD):
                cluster.pods()
            cluster.istiod_owners()
            data_plane_facts(cluster, rules)
            clusterid.profile(cluster)  # the id it writes of itself: migration-resource runs after every cluster
            if cluster.available(K.DEPLOYMENT):
                plan.istiod_deployed(cluster)
                istioctl.installed_istioctl(cluster)  # migration-resource's AA0702 command: its istioctl
                gateway_workloads(cluster, rules, names)
                if cluster.available(K.SERVICE):
                    eastwest_signals(cluster, rules, names)
                    gateway_services(cluster, rules, names)
            service_registry(cluster)  # egress-routes-to-asm's conclude reads every data plane's
            envoyfilters.istio_roots(cluster)  # envoyfilter-compatibility's, read after every data plane
        except Exception:  # kept whole: its readers meet the same problem later, as without a release
            return
        cluster.release(KEPT_VIEWS, {kind.key for kind in keep}, KEPT_POD_COLUMNS)


def _check_config_names(config: Config, registry: Registry) -> None:
    """Every check id, code and exemption the config names exists (a typo would silently audit less)."""
    disabled = config.disabled()
    codes = registry.codes()
    unknown_ids = sorted((disabled - set(registry.checks)) | (set(config.severity_overrides()) - set(registry.checks)
                                                              - set(codes)))
    if unknown_ids:
        raise UsageError(f"config names unknown check id(s) or code(s): {', '.join(unknown_ids)}; "
                         "see `asm-audit checks`")
    for exemption in config.exemptions:
        if exemption.by_code:
            if exemption.check not in codes:
                raise UsageError(f"exemption names unknown finding code {exemption.check!r}; see `asm-audit checks`")
            continue
        cid = CHECK_ALIASES.get(exemption.check, exemption.check)
        if not any(fnmatch.fnmatchcase(c, cid) for c in registry.checks):
            raise UsageError(f"exemption names unknown check id {exemption.check!r}")
        if catch_all_checks(cid, registry.checks):
            raise UsageError(f"exemption check {exemption.check!r} matches every check id: an exemption must "
                             "name a check (one exemption per check; globs like 'istio-*' are fine)")


def _check_kubeconfig_variables(names: list[str]) -> None:
    """Commands name each cluster's kubeconfig by a variable made from its name: two clusters must not share one,
    or the commands for one would run against the other."""
    seen: dict[str, str] = {}
    for name in names:
        var = mesh.kubeconfig_env(name)
        if var in seen:
            raise UsageError(f"clusters {seen[var]!r} and {name!r} would share the variable {var} in the reports' "
                             "commands; rename one (--cluster NAME=..., the fleet file or the snapshot manifest)")
        seen[var] = name


@functools.wraps(_run_audit)
def run_audit(*args: Any, **kwargs: Any) -> AuditResult:
    try:
        with timing.audit_clock() as clock:
            start = time.perf_counter()
            result = _run_audit(*args, **kwargs)
            result.timings = clock.summary(time.perf_counter() - start)
            return result
    finally:
        # The inventory was frozen while collecting (gc_paused): hand it back to the collector, also when the
        # audit failed, so a long-lived caller does not keep it forever.
        gc.unfreeze()
