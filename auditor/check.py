"""The check plugin API: one small class per catalogue id. Checks judge; they never fetch."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from auditor import kinds as K
from auditor import mesh
from auditor.config import Config
from auditor.inventory import ClusterInventory, Inventory
from auditor.kinds import Kind
from auditor.model import Finding, Gate, Outcome, Severity, Status


@dataclass
class Context:
    """Everything a check sees, gathered once before checks run: checks never read files or call the engine.

    `inv` is the collected inventory (with ASM's OpenAPI answers: `inv.openapi_answer(action)`, saved files
    named in the config included), `gate` the gate being judged, `config` the user's settings, `now` the audit's
    clock, `networks` each cluster's network in ASM as the user declared it (fleet file, then config asm.networks).
    """

    inv: Inventory
    gate: Gate
    config: Config = field(default_factory=Config)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    networks: dict[str, str] = field(default_factory=dict)
    # What a check judged once for all gates (see `same_in_every_gate`; and what such a check keeps of the fleet for
    # every gate: auditor/remote.Links.shared): the engine replaces only `gate` per gate, so every gate's Context
    # shares this dict, and a new audit (a new Context) starts empty.
    judged_once: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def setting(self, key: str, default: Any = None) -> Any:
        """The typed fields by name, for plugins written against the old `settings` dict."""
        return {"config": self.config, "now": self.now}.get(key, default)


_NOT_GIVEN: Any = object()  # report()'s marker of an argument not given (None or "" may be given on purpose)


class Check:
    """Base class. Subclasses set the metadata and implement `run` (or `check_cluster`)."""

    id: ClassVar[str]
    title: ClassVar[str]
    gates: ClassVar[tuple[Gate, ...]]
    severity: ClassVar[Severity]
    rationale: ClassVar[str]
    remediation: ClassVar[str]  # the usual next step; findings carry the exact command
    needs: ClassVar[tuple[Kind, ...]] = ()        # data-plane kinds, required
    uses: ClassVar[tuple[Kind, ...]] = ()         # data-plane kinds, read when available
    asm_needs: ClassVar[tuple[Kind, ...]] = ()    # ASM control-plane kinds, required
    needs_traffic: ClassVar[bool] = False
    # True when judging one cluster reads other clusters too (e.g. ASM's version from any data plane): in a fleet
    # judged cluster by cluster, its check_cluster then runs once every cluster was collected.
    reads_other_clusters: ClassVar[bool] = False
    # Every outcome the check can report (code, status, meaning); a finding of a status the check did not
    # declare is turned into an UNKNOWN of its own by the engine (ENGINE_UNDECLARED).
    outcomes: ClassVar[tuple[Outcome, ...]] = ()
    _outcome_index: ClassVar[tuple[Any, ...]]  # outcome_for's: (outcomes, by code, by status)

    def run(self, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def report(self, outcome: Outcome, cluster: str, message: str = "", *, params: dict[str, Any] | None = None,
               kind: str = "", namespace: str = "", name: str = "", remediation: str = _NOT_GIVEN,
               evidence: dict[str, Any] = _NOT_GIVEN, severity: Severity | None = _NOT_GIVEN, **kw: Any) -> Finding:
        """A finding of a declared outcome: its status, code and (unless given) its severity.

        With `params`, the message is the outcome's template filled with them (and they stay on the finding for
        translation); a remediation given as a template in `outcome.fix` is filled the same way, and a fix without
        fields is the remediation as it stands (unless the check gives one).
        """
        fix = outcome.fix
        if params is not None:
            template = outcome.message
            if not template:
                raise ValueError(f"{outcome.code} has no message template to fill")
            # format_map: the params dict as it is, not copied into keywords (format(**params)) for every finding.
            message = template.format_map(params)
            if remediation is _NOT_GIVEN and fix and "{" in fix:
                remediation = fix.format_map(params)
        if remediation is _NOT_GIVEN:
            # A fix without fields is the outcome's whole next step (Outcome.fix: it replaces the check's
            # remediation): a finding reported without one said nothing to do (AA0717, AA0732 did).
            remediation = fix if fix and "{" not in fix else ""
        if outcome.aspect and params:
            kw["aspect"] = aspect_of(outcome, params)
        # The subject's fields by position, not gathered into a dict of keywords and spread again (12,000 findings at
        # 50k pods); what is not given is the Finding's own default. Without extra keywords (nearly every finding) the
        # call spreads no dict either.
        if kw:
            return Finding(outcome.status, cluster, message, kind, namespace, name, remediation,
                           {} if evidence is _NOT_GIVEN else evidence,
                           outcome.severity if severity is _NOT_GIVEN else severity, code=outcome.code, params=params,
                           **kw)
        return Finding(outcome.status, cluster, message, kind, namespace, name, remediation,
                       {} if evidence is _NOT_GIVEN else evidence,
                       outcome.severity if severity is _NOT_GIVEN else severity, code=outcome.code, params=params)

    @classmethod
    def outcome_for(cls, status: Status, code: str = "") -> Outcome | None:
        """The declared outcome a finding stands for: by code when it names one, else the first of its status."""
        # Asked twice per finding (tens of thousands per audit): indexed once per class and tuple of outcomes.
        index = cls.__dict__.get("_outcome_index")
        if index is None or index[0] is not cls.outcomes:
            by_code: dict[str, Outcome] = {}
            by_status: dict[Status, Outcome] = {}
            for outcome in cls.outcomes:
                by_code.setdefault(outcome.code, outcome)
                by_status.setdefault(outcome.status, outcome)
            index = (cls.outcomes, by_code, by_status)
            cls._outcome_index = index
        try:
            if code:
                return index[1].get(code)
            found = index[2].get(status)
        except TypeError:  # an unhashable code or status (a plugin's): equal to no declared one
            return None
        return found if found is not None and found.status is status else None

    # -- finding helpers; the engine stamps gate/check id/title/severity
    def finding(self, status: Status, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(status=status, cluster=cluster, message=message, **kw)

    def passed(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.PASS, cluster, message, **kw)

    def fail(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.FAIL, cluster, message, **kw)

    def warn(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.WARN, cluster, message, **kw)

    def unknown(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.UNKNOWN, cluster, message, **kw)

    def not_applicable(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.NOT_APPLICABLE, cluster, message, **kw)

    @classmethod
    def metadata(cls) -> dict[str, Any]:
        return {
            "id": cls.id, "title": cls.title, "gates": [g.value for g in cls.gates],
            "severity": cls.severity.value, "rationale": cls.rationale, "remediation": cls.remediation,
            "needs": [k.kind for k in cls.needs], "uses": [k.kind for k in cls.uses],
            "asm_needs": [k.kind for k in cls.asm_needs], "module": cls.__module__,
            "outcomes": [{"code": o.code, "status": o.status.value, "meaning": o.meaning,
                          "severity": (o.severity or cls.severity).value} for o in cls.outcomes],
        }


def aspect_of(outcome: Outcome, params: dict[str, Any]) -> str:
    """A finding's aspect (Outcome.aspect): `name=value` of each of the outcome's aspect params it was given."""
    return "; ".join(f"{name}={params[name]}" for name in outcome.aspect if name in params)


# Outcomes the engine reports on any check's behalf (codes AA00xx).
ENGINE_UNREADABLE = Outcome("AA0001", Status.UNKNOWN, "evidence the check needs could not be read (forbidden, "
                            "unreachable, not collected, malformed); the reason names it",
                            # The reason as it was recorded: a check that says it beside findings of its own (and so
                            # cannot raise) reports it from this template.
                            message="{reason}")
ENGINE_CRASHED = Outcome("AA0002", Status.UNKNOWN, "the check crashed on this input: UNKNOWN, never PASS")
ENGINE_SILENT = Outcome("AA0003", Status.UNKNOWN, "the check produced no result for this cluster")
ENGINE_UNDECLARED = Outcome("AA0004", Status.UNKNOWN, "the check reported an outcome it does not declare "
                            "(a plugin or catalogue defect): shown as UNKNOWN (a FAIL stays a FAIL), never "
                            "trusted")
# The gate findings' messages are one of several sentences (auditor/judge.py), each an i18n.Phrase: the reason as it
# was said, in the reader's language (as AA0001's).
GATE_UNKNOWN = Outcome("AA0010", Status.UNKNOWN, "the gate to audit cannot be told (no readable migration state, "
                       "or a data plane showing ASM without an ASM control plane): pass --asm-kubeconfig or "
                       "--phase", Severity.BLOCKER, message="{reason}",
                       fix="Give the ASM control plane (--asm-kubeconfig FILE or ASM_KUBECONFIG) and make "
                           "ASMMigrateFromIstio/default readable there, as the finding says, or name the gate with "
                           "--phase GATE.")
GATE_PAST = Outcome("AA0011", Status.FAIL, "the migration is already past the step this gate guards: its checks "
                    "say nothing about the next step", Severity.BLOCKER, message="{reason}",
                    fix="Audit the step ahead: asm-audit run --phase auto (or --phase with the gate the finding "
                        "names).")
EVIDENCE_STALE = Outcome("AA0012", Status.UNKNOWN, "the snapshot was collected longer ago than snapshot.max_age "
                         "(or when is unreadable, or after this audit): it shows the clusters as they were, not as "
                         "they are", Severity.BLOCKER,
                         fix="asm-audit snapshot --out snapshot.tar.gz   # with the snapshot's cluster options, or "
                             "audit live (asm-audit run); a larger snapshot.max_age in the config accepts older "
                             "evidence",
                         message="{reason}: this audit cannot be GO on it")
PLUGIN_BROKEN = Outcome("AA0020", Status.UNKNOWN, "a check plugin did not load", Severity.MAJOR)
ENGINE_OUTCOMES = (ENGINE_UNREADABLE, ENGINE_CRASHED, ENGINE_SILENT, ENGINE_UNDECLARED, GATE_UNKNOWN, GATE_PAST,
                   EVIDENCE_STALE, PLUGIN_BROKEN)


class ClusterCheck(Check):
    """A check judged per data-plane cluster: the one per-cluster idiom.

    The engine calls `prepare` once, then `check_cluster` for each data-plane cluster, then `conclude` once.
    A cluster whose judgement crashes or lacks evidence is UNKNOWN for it alone; the others keep their findings.
    The engine makes a fresh instance for each gate, so `prepare` may keep what every cluster shares on `self`.
    """

    def run(self, ctx: Context) -> Iterator[Finding]:  # the engine calls the hooks itself, each one guarded
        self.prepare(ctx)
        for cluster in ctx.inv.data_planes:
            yield from self.check_cluster(cluster, ctx)
        yield from self.conclude(ctx)

    def prepare(self, ctx: Context) -> None:
        """Once before the clusters: read what they all share (e.g. the ASM control plane's objects)."""

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        """Once after the clusters: findings about the mesh as a whole (none by default)."""
        return ()

    def defer(self, cluster: ClusterInventory) -> None:
        """Leave this cluster's findings to `conclude`: its judgement needs a cluster judged after it (a remote
        cluster's istiod runs in another one: auditor/remote.py). `check_cluster` may then yield nothing for it; a
        deferred cluster `conclude` says nothing of is UNKNOWN (ENGINE_SILENT), never silence."""
        deferred = self.__dict__.get("_deferred")
        if deferred is None:
            deferred = self.__dict__["_deferred"] = set()
        deferred.add(cluster.name)

    def deferred(self) -> frozenset[str]:
        """The clusters `defer` left to `conclude`."""
        return frozenset(self.__dict__.get("_deferred") or ())

    def no_istiod(self, cluster: ClusterInventory) -> Finding:
        """No istiod Deployment here. NOT_APPLICABLE only when no pod runs Istio's proxy either: Istio sidecars
        with no local istiod get their config from a control plane in another cluster (primary-remote), which
        this cluster's objects cannot judge. Reported through the caller's outcomes made by `no_istiod_outcomes`
        (matched by template); a check that declares none gets the same English as free text."""
        if not cluster.available(K.POD):
            template, params, evidence = NO_ISTIOD_PODS_UNREAD, {}, {}
        else:
            pods = cluster.pods()
            proxies = int(pods["proxy"].isin([mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN]).sum()) if not pods.empty else 0
            template, params = (NO_ISTIOD_ELSEWHERE, {"proxies": proxies}) if proxies else (NO_ISTIOD_NONE, {})
            evidence = {"istio_proxy_pods": proxies} if proxies else {}
        declared = next((o for o in self.outcomes if o.message == template), None)
        if declared is not None:
            return self.report(declared, cluster.name, params=params, evidence=evidence)
        status = Status.NOT_APPLICABLE if template is NO_ISTIOD_NONE else Status.UNKNOWN
        return self.finding(status, cluster.name, template.format(**params), evidence=evidence)


ClusterCheckT = TypeVar("ClusterCheckT", bound=ClusterCheck)
CheckClusterMethod = Callable[[ClusterCheckT, ClusterInventory, Context], Iterable[Finding]]


def same_in_every_gate(check_cluster: CheckClusterMethod) -> CheckClusterMethod:
    """For a `check_cluster` whose findings depend neither on `ctx.gate` nor on what `prepare` keeps: judged once per
    cluster and audit, and every gate is given the same Finding objects. The engine stamps them once (outcome,
    severity, safe command: nothing of it depends on the gate) and gives each further gate a copy with its gate
    (judge._Stamp). A check run in three gates then scores its workloads once, not three times.

    The copies share the evidence and params dicts: after a check returns, nothing changes them in place (the engine
    replaces a finding's evidence when it must change it: judge._undeclared), and a fleet keeps every cluster's
    findings until the end (three dicts per finding and gate were 4 of the 7 MB a 15k-pod cluster kept)."""

    @functools.wraps(check_cluster)
    def judged_once(self: ClusterCheckT, cluster: ClusterInventory, ctx: Context) -> list[Finding]:
        key = (type(self), cluster.name, id(cluster))
        found = ctx.judged_once.get(key)
        if found is None:  # a crash or missing evidence raises before anything is kept: the next gate tries again
            found = ctx.judged_once[key] = list(check_cluster(self, cluster, ctx))
        return list(found)

    return judged_once


def copy_finding(f: Finding) -> Finding:
    """A new Finding with the same values; its evidence and params are the same (read-only) dicts."""
    return f.__copy__()


_NO_ISTIOD = "no self-built istiod Deployment (label app=istiod) found"
NO_ISTIOD_PODS_UNREAD = (_NO_ISTIOD + ", and pods were not read: cannot tell whether Istio proxies here use a "
                         "control plane in another cluster")
NO_ISTIOD_ELSEWHERE = (_NO_ISTIOD + ", but {proxies} pod(s) run Istio's proxy: their istiod runs elsewhere "
                       "(primary-remote); audit the cluster that runs it")
NO_ISTIOD_NONE = _NO_ISTIOD + " and no pod runs Istio's proxy"


def no_istiod_outcomes(elsewhere: str, absent: str, pods_unread: str = "") -> tuple[Outcome, ...]:
    """The outcomes of `ClusterCheck.no_istiod` under the caller's codes: UNKNOWN (proxies, istiod elsewhere), N/A,
    and UNKNOWN (pods not read) for a check that only uses pods (one that needs them never gets that far)."""
    unread = (Outcome(pods_unread, Status.UNKNOWN, "no istiod Deployment here and pods were not read: whether Istio "
                      "proxies use a control plane in another cluster cannot be told", message=NO_ISTIOD_PODS_UNREAD),
              ) if pods_unread else ()
    return (Outcome(elsewhere, Status.UNKNOWN, "no istiod Deployment here, but pods run Istio's proxy: their istiod "
                    "runs in another cluster (primary-remote), whose objects this cluster cannot show",
                    message=NO_ISTIOD_ELSEWHERE), *unread,
            Outcome(absent, Status.NOT_APPLICABLE, "no istiod Deployment and no pod running Istio's proxy",
                    message=NO_ISTIOD_NONE))
