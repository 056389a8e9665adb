"""The plan of an audit: which gate(s), which checks, which kinds on which plane.

The gate comes from what the clusters show (ASMMigrateFromIstio's state, ASM's marks on a data plane). What is
read is what the selected checks declare (`needs`, `uses`, `asm_needs`) plus the engine's own reads named here;
`required_kinds` lists it per plane with its readers, and `asm-audit rbac` grants exactly that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.asm import migration_resource as asm_migration_resource
from auditor.check import Check
from auditor.errors import EvidenceUnavailable, unknown_phase
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory, Inventory
from auditor.kinds import Kind
from auditor.model import GATE_ORDER, GATE_STEPS, MIGRATION_STATES, Gate, gate_past
from auditor.registry import Registry

# What the clusters table and the gateway classification read whatever the gate: a gateway's role comes from
# the Istio Gateways selecting it and the VirtualServices bound to them; the gateway chart can make DaemonSets. A
# remote cluster's network is often only in its injector webhook's path (auditor/network.py): a few objects, read
# for the clusters table whatever the gate. ConfigMaps (the injector's and Helm's values, meshNetworks) are not: a
# list of every ConfigMap for one table cell is the cost of the gates whose checks read them anyway.
FACT_KINDS = (K.NAMESPACE, K.DEPLOYMENT, K.SERVICE, K.DAEMONSET, K.GATEWAY, K.VIRTUALSERVICE, K.MUTATING_WEBHOOK)
GATE_SELECTION_ASM_KINDS = (K.ASM_MIGRATION,)  # the migration state decides the gate
GATE_SELECTION_KINDS = (K.DEPLOYMENT,)  # --phase auto: is Istio's control plane still installed?
ASM_MARK_KINDS = (K.POD, *FACT_KINDS)  # --phase auto without ASM: what ASM leaves on a data plane
PHASES = ("auto", "all", *(g.value for g in Gate))
# Each gate's primary kinds: the data plane's evidence itself, not a piece of it. Every gate whose checks need Pods
# judges the data plane from them (sidecars left, proxies ready, restart risk, xDS agents); with them unread (RBAC
# 403 on pods only) each such check is UNKNOWN, and --allow-unknown accepting them all said GO on no data-plane evidence
# (fix23d). The engine refuses the flag then (unread_primary_kinds). Setup's checks only `use` Pods (tests pin this
# table against the checks' declarations: tests/test_allow_unknown_primary_23d.py).
PRIMARY_KINDS: dict[Gate, tuple[Kind, ...]] = {
    Gate.ASSESSMENT: (K.POD,),
    Gate.SETUP: (),
    Gate.MIGRATING: (K.POD,),
    Gate.UNINSTALL: (K.POD,),
    Gate.FINISHED: (K.POD,),
}


def migration_resource(inv: Inventory) -> dict[str, Any] | None:
    """ASMMigrateFromIstio/default, None when absent; raises EvidenceUnavailable when unreadable (auditor/asm.py)."""
    return asm_migration_resource(inv.require_asm())


def istio_control_plane_present(inv: Inventory) -> bool:
    return any(istiod_deployed(c) for c in inv.data_planes if c.available(K.DEPLOYMENT))


def istiod_deployed(cluster: ClusterInventory) -> bool:
    """An istiod Deployment in this cluster (kept once the cluster's objects are released)."""
    return cluster.memo("istiod_deployed", lambda: bool(cluster.istiod_deployments()))


def auto_gate(inv: Inventory) -> tuple[Gate, str]:
    """The next step after what the cluster shows (product.md), and why."""
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable as exc:
        return Gate.ASSESSMENT, Phrase(N_("migration state unknown ({reason}); auditing the first gate"),
                                       reason=exc.reason)
    if cr is None:
        return Gate.ASSESSMENT, Phrase(N_("no ASMMigrateFromIstio/default on the ASM control plane"))
    state = ((cr.get("status") or {}).get("state")) or MIGRATION_STATES[0]
    if state == MIGRATION_STATES[-1]:
        return Gate.FINISHED, Phrase(N_("state {state}"), state=state)
    ahead = [g for g in GATE_ORDER if GATE_STEPS[g].needs_state == state]
    if len(ahead) == 1:
        return ahead[0], Phrase(N_("state {state}"), state=state)
    if ahead:  # Migrating: Istio's uninstall, then the switch to Finished
        if istio_control_plane_present(inv):
            return ahead[0], Phrase(N_("state {state} and Istio's control plane still installed"), state=state)
        return ahead[-1], Phrase(N_("state {state} and Istio's control plane removed"), state=state)
    return Gate.ASSESSMENT, Phrase(N_("unrecognised state {state}; auditing the first gate"), state=repr(state))


def migration_absent(inv: Inventory) -> bool:
    """The ASM control plane was read and holds no ASMMigrateFromIstio/default (readable, absent)."""
    if inv.asm is None:
        return False
    try:
        return migration_resource(inv) is None
    except EvidenceUnavailable:
        return False


def needs_asm_marks(phase: str, inv: Inventory) -> bool:
    """--phase auto picks the first gate where nothing on ASM's side says the migration began (no ASM control plane,
    or no ASMMigrateFromIstio/default on it): ASM's marks on the data planes must then be read (ASM_MARK_KINDS)."""
    return phase == "auto" and (inv.asm is None or migration_absent(inv))


ASM_KEY_PREFIX = "asm.alibabacloud.com/"


def unrecognised_state(inv: Inventory) -> str | None:
    """status.state of ASMMigrateFromIstio/default when it is set but none of the migration's states, as written
    (repr); None when the resource is absent or unreadable, its state empty (not reconciled yet: Init) or known.

    ASM's type (aliyun/alibabacloud-servicemesh-api, alibabacloudservicemesh/v1/asmmigratefromistio_types.go)
    declares status.state a plain string: only spec.desiredState carries the enum of MIGRATION_STATES."""
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable:
        return None
    state = ((cr or {}).get("status") or {}).get("state")
    if not state or state in MIGRATION_STATES:
        return None
    return repr(state)


def gate_already_past(inv: Inventory, gate: Gate) -> str | None:
    """The CR's state when the migration is past the step `gate` guards (None when not, or unreadable)."""
    try:
        cr = migration_resource(inv)
    except EvidenceUnavailable:
        return None
    state = str(((cr or {}).get("status") or {}).get("state") or "") if cr else ""
    return state if gate_past(gate, state) else None


def _asm_keys(obj: dict[str, Any]) -> list[str]:
    metas = [obj.get("metadata") or {}, (((obj.get("spec") or {}).get("template") or {}).get("metadata") or {})]
    return sorted({k for meta in metas if isinstance(meta, dict) for part in ("labels", "annotations")
                   if isinstance(meta.get(part), dict) for k in meta[part] if str(k).startswith(ASM_KEY_PREFIX)})


def asm_marks(cluster: ClusterInventory) -> list[str]:
    """Signs on a data plane that ASM is already at work there (what `--phase auto` cannot see without ASM): Phrases,
    said in the reader's language inside AA0010's sentence."""
    marks: list[str] = []
    with contextlib.suppress(EvidenceUnavailable):
        pods = cluster.pods()
        asm_pods = int((pods["proxy"].astype(str) == mesh.PROXY_ASM).sum())
        if asm_pods:
            marks.append(Phrase(N_("{count} pod(s) with an ASM proxy"), count=asm_pods))
    # ASM's managed istiod Service, proven by mesh.istiod_owners (an Istio revision named 1-24-2 is not ASM's).
    marks += [Phrase(N_("Service {key} without a local istiod Deployment (ASM's managed control plane)"), key=key)
              for key, (owner, _) in sorted(cluster.istiod_owners().items()) if owner == mesh.OWNER_ASM]
    for kind in (K.DEPLOYMENT, K.SERVICE, K.NAMESPACE):
        if cluster.available(kind):
            for obj in cluster.objects(kind):
                keys = _asm_keys(obj)
                if keys:
                    meta = obj.get("metadata") or {}
                    where = "/".join(str(x) for x in (meta.get("namespace"), meta.get("name")) if x)
                    marks.append(Phrase(N_("{kind} {where} carries {key}"), kind=kind.kind, where=where, key=keys[0]))
                    break  # one object per kind is enough to say so
    return marks


# ---------------------------------------------------------------- checks and kinds
def enabled_checks(registry: Registry, disabled: Iterable[str] = ()) -> list[type[Check]]:
    off = set(disabled)
    return [c for c in registry.ordered() if c.id not in off]


def checks_for(gates: Sequence[Gate], registry: Registry, disabled: Iterable[str] = ()) -> list[type[Check]]:
    """The enabled checks of any of `gates`, in catalogue order."""
    return [c for c in enabled_checks(registry, disabled) if set(c.gates) & set(gates)]


def selected_checks(phase: str, registry: Registry, disabled: Iterable[str] = ()) -> list[type[Check]]:
    """The checks a run of `phase` may execute. `auto` may pick any gate, so it needs them all."""
    if phase not in PHASES:
        raise unknown_phase(phase, list(PHASES))
    return checks_for(list(GATE_ORDER) if phase in ("all", "auto") else [Gate(phase)], registry, disabled)


def data_plane_kinds(checks: Iterable[type[Check]]) -> list[Kind]:
    """What the checks read on every data plane, and the kinds behind the clusters table (network, versions)."""
    return [k for c in checks for k in (*c.needs, *c.uses)] + list(FACT_KINDS)


def asm_kinds(checks: Iterable[type[Check]]) -> list[Kind]:
    return [k for c in checks for k in c.asm_needs]


def unread_primary_kinds(inv: Inventory, gates: Sequence[Gate],
                         checks: Iterable[type[Check]]) -> dict[str, tuple[list[str], str]]:
    """Per answering data plane, the primary kinds of the audited gates (PRIMARY_KINDS) that a selected check of
    that gate reads and that could not be read (forbidden, failed, or absent from a snapshot), with the first reason.
    A kind no selected check reads was never asked for: a config leaving those checks out is its own choice."""
    wanted: list[Kind] = []
    for gate in gates:
        read_by_gate = {k for c in checks if gate in c.gates for k in (*c.needs, *c.uses)}
        wanted += [k for k in PRIMARY_KINDS.get(gate, ()) if k in read_by_gate and k not in wanted]
    out: dict[str, tuple[list[str], str]] = {}
    for cluster in inv.data_planes:
        if cluster.unreachable:  # refused already (engine.py), its every kind unread
            continue
        unread = [k for k in wanted if not cluster.available(k)]
        if unread:
            out[cluster.name] = ([k.kind for k in unread], cluster.unread_reason(unread[0]))
    return out


def gates_for(phase: str, inv: Inventory) -> tuple[list[Gate], str]:
    """The gate(s) to audit and why (for --phase auto, the GATE_SELECTION kinds must be collected)."""
    if phase == "auto":
        gate, reason = auto_gate(inv)
        return [gate], reason
    if phase == "all":
        return list(GATE_ORDER), Phrase(N_("every gate requested"))
    return [Gate(phase)], Phrase(N_("--phase {phase}"), phase=phase)


def required_kinds(phase: str, registry: Registry,
                   disabled: Iterable[str] = ()) -> dict[str, dict[Kind, list[str]]]:
    """Per plane, each kind a run of `phase` may read and who reads it (a check id or an engine step)."""
    out: dict[str, dict[Kind, list[str]]] = {"data-plane": {}, "asm": {}}

    def add(plane: str, kinds: Iterable[Kind], reader: str) -> None:
        for kind in kinds:
            readers = out[plane].setdefault(kind, [])
            if reader not in readers:
                readers.append(reader)

    add("asm", GATE_SELECTION_ASM_KINDS, "engine: gate selection")
    if phase == "auto":
        add("data-plane", (*GATE_SELECTION_KINDS, *ASM_MARK_KINDS), "engine: gate selection")
    add("data-plane", FACT_KINDS, "engine: cluster facts")
    for check in selected_checks(phase, registry, disabled):
        add("data-plane", (*check.needs, *check.uses), check.id)
        add("asm", check.asm_needs, check.id)
    return out
