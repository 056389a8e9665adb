"""What the HTML and PDF reports show, computed once from an AuditResult.

Summaries, not rows: a 150k-pod audit has tens of thousands of findings. The reports show the blockers
(capped, grouped by check), aggregate PASS rows per check and cluster, and name findings.csv for the rest,
so the PDF stays a few dozen pages and renders in seconds whatever the cluster size.

Every string that may come from a cluster passes through `clean` (control characters stripped, bidi
overrides removed, very long text cut); escaping is the templates' job (Jinja2 autoescape).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditor import istioctl, mesh, vms
from auditor import kinds as K
from auditor.engine import AuditResult
from auditor.errors import EvidenceUnavailable
from auditor.evidence import evidence_said
from auditor.findings import blocking_mask, disclosure, strict_of, unknown_accepted
from auditor.i18n import N_, format_timestamp, ngettext, say
from auditor.i18n import gettext as _
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import proxyless_rows, proxyless_server_owner
from auditor.model import GATE_ORDER, GATE_STEPS, SEVERITY_RANK, STATUS_RANK, Status
from auditor.render import charts
from auditor.render.counts import blocker_counts, distinct_blockers, per_gate_text, plural

STATUS_ORDER = tuple(STATUS_RANK)
RISK_CHECK = "restart-risk"
TRAFFIC_CHECK = "istio-gateway-traffic"

GATE_STEP = {gate.value: step.step for gate, step in GATE_STEPS.items()}
GATE_TARGET_STATE = {gate.value: step.target_state for gate, step in GATE_STEPS.items() if step.target_state}
# The one step in prose (auditor.model.GATE_STEPS; the others are states and commands): shown as _(step).
N_("join the cluster(s) to ASM")
# What an exemption did in this run; the templates show the word translated (`_(x.state)`).
EXEMPTION_STATES = (N_("applied"), N_("expired"), N_("unused"))


@dataclass(frozen=True)
class Limits:
    """How many rows each section shows before it says "N more in findings.csv"."""

    blockers: int
    findings: int
    unknowns: int
    warnings: int
    risk: int = 25
    namespaces: int = 12
    gateways: int = 8
    exemptions: int = 40
    commands: int = 12
    text: int = 600
    promql_keys: tuple[str, ...] | None = ("requests", "connections", "series", "tcp_series")


HTML_LIMITS = Limits(blockers=300, findings=3000, unknowns=200, warnings=200, namespaces=25, gateways=24,
                     exemptions=300, commands=25, text=4000, promql_keys=None)
PDF_LIMITS = Limits(blockers=40, findings=120, unknowns=30, warnings=30)


# ---------------------------------------------------------------- text hygiene
# C0/C1 controls except tab and newline, lone surrogates (bytes that were not UTF-8), non-characters and
# bidi overrides (text that displays differently from what it says).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\u061c\u200e\u200f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


# Names, ids and other short fields: Kubernetes names stop at 253 characters; a snapshot can hold a 200k
# one, which WeasyPrint would lay out for minutes (one unbreakable word). Cut whatever has no explicit limit.
FIELD_LIMIT = 512


def clean(value: Any, limit: int | None = None) -> str:
    """Text safe to show anywhere (HTML, PDF, XML, Markdown once escaped): no control characters, cut long."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATE.sub("\ufffd", _UNSAFE.sub("", text))
    limit = FIELD_LIMIT if limit is None else limit
    if len(text) > limit:
        text = f"{text[:limit]}\u2026 [{len(text) - limit:,} more characters in findings.json]"
    return text


_COMMAND_WORDS = ("kubectl", "istioctl", "asm-audit", "helm", "curl", "aliyun", "jq", "export", "for", "#", "(")


_ENV_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=\S*\s+")


def looks_like_command(text: str) -> bool:
    """A remediation to show as a copyable command (starts with a command) rather than as advice."""
    text = text.lstrip()
    prefix = _ENV_ASSIGNMENT.match(text)  # KUBECONFIG=... kubectl argo rollouts ... (anchored: texts can be long)
    if prefix:
        text = text[prefix.end():]
    first = text.split(" ", 1)[0] if text.strip() else ""
    return first.startswith(_COMMAND_WORDS) or first.startswith(("${", '"${'))


# A runnable `helm ... uninstall RELEASE -n NS` line (mesh.helm_uninstall), and the same commented out.
_HELM_UNINSTALL = re.compile(r"^helm\s.*\suninstall\s")
_COMMENTED_HELM_UNINSTALL = re.compile(r"^#\s*helm\s.*\suninstall\s")


def _bare_command(line: str) -> str:
    """A command line without the comment after it (the key two lines of one command share)."""
    return line.strip().split("  # ", 1)[0].rstrip()


_PLAIN_COMMANDS = ("kubectl ", "istioctl ", "helm ", "aliyun ", "asm-audit ", "curl ", "export ")
_GOES_ON = ("\\", "|", "&&", "||", "{", "(")


def _flat(lines: list[str]) -> bool:
    """Every line a comment, or a command of its own: no loop, block or line going on to the next, whose lines
    cannot be taken out one by one."""
    for line in lines:
        bare = line.strip()
        if bare and not bare.startswith("#") and (not bare.startswith(_PLAIN_COMMANDS)
                                                  or _bare_command(bare).endswith(_GOES_ON)):
            return False
    return True


def uninstall_ranks(frame: pd.DataFrame) -> dict[str, int]:
    """The `helm uninstall` line of each of Istio's Helm releases -> its place in purge-preview's order (AA2521's
    releases, or a finding's uninstall_order evidence: both helmreleases.uninstall_order), per cluster."""
    if frame.empty or "evidence" not in frame:
        return {}
    holding = frame[_str(frame["remediation"]).str.contains("uninstall", regex=False)]
    ranks: dict[str, int] = {}
    for cluster, evidence in zip(holding["cluster"].astype(str), holding["evidence"], strict=True):
        if not isinstance(evidence, dict):
            continue
        order = evidence.get("uninstall_order")
        if not isinstance(order, list):
            releases = evidence.get("releases")
            order = list(releases) if isinstance(releases, dict) else []
        for place, key in enumerate(order):
            namespace, _, release = str(key).partition("/")
            if release:
                ranks.setdefault(mesh.helm_uninstall(cluster, release, namespace), place)
    return ranks


def commands_once(items: list[tuple[str, list[str]]], ranks: dict[str, int]) -> list[str]:
    """The command remediations of a block to copy and run top to bottom (Next steps, summary.md): each command once.

    `items`: each distinct remediation with the subjects of the findings that carry it, in the block's order. Several
    findings of one Helm release each name its `helm uninstall` (istiod's Deployment and its webhooks, AA2210 /
    AA2212; the base chart's release after the others, commented out, for whoever runs one finding's command alone):
    run as written, a second `helm uninstall` of a release fails ("not found"). Here every release's `helm uninstall`
    is one line, all of them together where the first was, in purge-preview's order (`ranks`: uninstall_ranks), each
    under a comment naming the subjects it removes; the commented-out lines of the releases before it go (they are
    the lines above it now). Any other command line already given above is not repeated. Advice (not a command), a
    script (a loop, a block, a line going on: _flat) and text whose quotes do not close pass as they are. The findings
    themselves keep their own command."""
    out: list[str | None] = []
    helm: dict[str, tuple[str, list[str]]] = {}  # the bare command -> (its first line, the subjects it removes)
    helm_at: int | None = None
    seen: set[str] = set()
    for text, subjects in items:
        lines = mesh.command_lines(text) if looks_like_command(text) else None
        if lines is None or not _flat(lines):
            out.append(text)
            continue
        kept: list[str] = []
        changed = False
        mine: set[str] = set()
        for index, line in enumerate(lines):
            bare = line.strip()
            after = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if _HELM_UNINSTALL.match(bare):
                entry = helm.setdefault(_bare_command(bare), (bare, []))
                entry[1].extend(s for s in subjects if s not in entry[1])
                changed = True
            elif _COMMENTED_HELM_UNINSTALL.match(bare) or (
                    bare.startswith("#") and _COMMENTED_HELM_UNINSTALL.match(after)):
                changed = True  # the releases that come off before it (and the comment saying so): in the group
            elif bare and not bare.startswith("#") and bare in seen:
                changed = True  # a command given above
            else:
                if bare and not bare.startswith("#"):
                    mine.add(bare)
                kept.append(line)
        seen |= mine
        if helm and helm_at is None:
            helm_at = len(out)
            out.append(None)
        if not changed:
            out.append(text)
        elif any(line.strip() and not line.strip().startswith("#") for line in kept):
            out.append("\n".join(kept))
    if helm_at is not None:
        first_seen = {key: place for place, key in enumerate(helm)}
        group = []
        for key in sorted(helm, key=lambda k: (0, ranks[k]) if k in ranks else (1, first_seen[k])):
            line, subjects = helm[key]
            if subjects:
                named = ", ".join(subjects[:5]) + (_("; and {n} more").format(n=len(subjects) - 5)
                                                   if len(subjects) > 5 else "")
                group.append(f"# {mesh.one_line(named)}")
            group.append(line)
        out[helm_at] = "\n".join(group)
    return [text for text in out if text]


def subject_of(kind: Any, namespace: Any, name: Any) -> str:
    """'Deployment shop/cart' (or whatever part is known)."""
    kind, namespace, name = clean(kind), clean(namespace), clean(name)
    path = "/".join(p for p in (namespace, name) if p)
    return " ".join(p for p in (kind, path) if p)


def split_remediation(text: str) -> tuple[str, str]:
    """(advice, commands) of a remediation that is advice followed by command lines (AA1235: its fix, then the
    command that moves the app; AA2032/AA2033: look at the CLB, then SLB's read commands): the commands are shown as
    a command block, not run into the advice. ("", "") when it is not so shaped (all advice, or all command)."""
    if "\n" not in text or looks_like_command(text):
        return "", ""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip() and looks_like_command(line)), None)
    if not first or not all(looks_like_command(line) for line in lines[first:] if line.strip()):
        return "", ""
    return "\n".join(lines[:first]).strip(), "\n".join(lines[first:]).strip()


def _row(r: Any, limits: Limits) -> dict[str, Any]:
    remediation = clean(r.remediation, limits.text * 2)
    advice, commands = split_remediation(remediation) if isinstance(remediation, str) else ("", "")
    return {
        "cluster": clean(r.cluster), "gate": clean(r.gate), "check_id": clean(r.check_id),
        "code": clean(getattr(r, "code", "")), "title": clean(r.title), "severity": clean(r.severity),
        "status": clean(r.status),
        "kind": clean(r.kind), "namespace": clean(r.namespace), "name": clean(r.name),
        "subject": subject_of(r.kind, r.namespace, r.name),
        "message": clean(r.message, limits.text), "remediation": remediation,
        "remediation_is_command": looks_like_command(str(r.remediation or "")),
        "remediation_advice": advice, "remediation_commands": commands,
        "exempt": bool(r.exempt), "exempt_reason": clean(r.exempt_reason, limits.text),
    }


def rows_of(frame: pd.DataFrame, limits: Limits) -> list[dict[str, Any]]:
    return [_row(r, limits) for r in frame.itertuples(index=False)]


def _str(series: pd.Series) -> pd.Series:
    return series.astype(str)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Worst first: status, then severity, then check, cluster, namespace, name."""
    if frame.empty:
        return frame
    keyed = frame.assign(
        _s=_str(frame["status"]).map(STATUS_RANK).fillna(9),
        _v=_str(frame["severity"]).map(SEVERITY_RANK).fillna(9),
        _c=_str(frame["check_id"]), _k=_str(frame["cluster"]), _n=_str(frame["namespace"]),
        _m=frame["name"].astype(str))
    keyed = keyed.sort_values(["_s", "_v", "_c", "_k", "_n", "_m"], kind="stable")
    return keyed.drop(columns=["_s", "_v", "_c", "_k", "_n", "_m"])


# ---------------------------------------------------------------- sections
def blockers_by_check(block: pd.DataFrame) -> list[dict[str, Any]]:
    """One line per blocking check: how many subjects, in which clusters, the first command."""
    out = []
    if block.empty:
        return out
    for (check_id, severity), group in block.groupby([_str(block["check_id"]), _str(block["severity"])],
                                                     sort=False):
        first = group.iloc[0]
        clusters = sorted({clean(c) for c in group["cluster"].astype(str)})
        namespaces = {str(n) for n in group["namespace"].astype(str) if n}
        out.append({
            "check_id": clean(check_id), "severity": severity, "title": clean(first["title"]),
            "codes": sorted({clean(c) for c in group["code"].astype(str) if c}) if "code" in group else [],
            "count": distinct_blockers(group), "clusters": clusters, "namespaces": len(namespaces),
            "example": subject_of(first["kind"], first["namespace"], first["name"]),
            "message": clean(first["message"], 300),
        })
    out.sort(key=lambda b: (SEVERITY_RANK.get(b["severity"], 9), -b["count"], b["check_id"]))
    return out


def check_rollup(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One line per (gate, check, cluster): counts by status, the worst non-exempt status."""
    if frame.empty:
        return []
    keys = pd.DataFrame({
        "gate": _str(frame["gate"]), "check_id": _str(frame["check_id"]), "cluster": _str(frame["cluster"]),
        "status": _str(frame["status"]).where(~frame["exempt"], "EXEMPT"), "severity": _str(frame["severity"]),
        "title": frame["title"].astype(str)})
    counts = keys.groupby(["gate", "check_id", "cluster", "status"], sort=False).size()
    meta = keys.drop_duplicates(["gate", "check_id", "cluster"]).set_index(["gate", "check_id", "cluster"])
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (gate, check_id, cluster, status), n in counts.items():
        key = (gate, check_id, cluster)
        entry = out.get(key)
        if entry is None:
            m = meta.loc[key]
            entry = out[key] = {"gate": gate, "check_id": clean(check_id), "cluster": clean(cluster),
                                "title": clean(m["title"]), "severity": m["severity"], "counts": {}}
        entry["counts"][status] = int(n)
    rows = list(out.values())
    for r in rows:
        live = [s for s in r["counts"] if s in STATUS_RANK]
        r["worst"] = min(live, key=STATUS_RANK.__getitem__) if live else "EXEMPT"
        r["total"] = sum(r["counts"].values())
    gate_rank = {g.value: i for i, g in enumerate(GATE_ORDER)}
    rows.sort(key=lambda r: (gate_rank.get(r["gate"], 9), STATUS_RANK.get(r["worst"], 5),
                             SEVERITY_RANK.get(r["severity"], 9), r["check_id"], r["cluster"]))
    return rows


def finding_rows(frame: pd.DataFrame, limits: Limits) -> tuple[list[dict[str, Any]], int]:
    """For the per-check table: every non-PASS finding (capped) plus one aggregated row per
    (gate, check, cluster) for PASS / NOT_APPLICABLE, so 20k passing workloads are one line each."""
    if frame.empty:
        return [], 0
    status = _str(frame["status"])
    quiet = status.isin([Status.PASS.value, Status.NOT_APPLICABLE.value]) & ~frame["exempt"]
    loud = _sorted(frame[~quiet])
    shown = rows_of(loud.head(limits.findings), limits)
    hidden = max(0, len(loud) - limits.findings)
    passing = frame[quiet]
    if not passing.empty:
        groups = passing.groupby([_str(passing["gate"]), _str(passing["check_id"]), _str(passing["cluster"]),
                                  _str(passing["status"])], sort=True)
        for (_gate, _check, _cluster, st), group in groups:
            first = _row(next(group.itertuples(index=False)), limits)
            if len(group) > 1:
                namespaces = sorted({str(n) for n in group["namespace"].astype(str) if n})
                first["subject"] = ngettext("{n} subject", "{n} subjects", len(group)).format(n=f"{len(group):,}")
                first["namespace"] = namespaces[0] if len(namespaces) == 1 else ""
                first["name"] = ""
                first["message"] = _("{n} findings {status}; e.g. {message}").format(
                    n=f"{len(group):,}", status=st, message=first["message"])
                first["aggregated"] = len(group)
            shown.append(first)
    return shown, hidden


def exemption_sections(result: AuditResult, limits: Limits) -> dict[str, Any]:
    frame = result.findings
    applied: list[dict[str, Any]] = []
    if not frame.empty and frame["exempt"].any():
        ex = frame[frame["exempt"]]
        grouped = ex.groupby([_str(ex["check_id"]), ex["exempt_reason"].astype(str)], sort=True)
        for (check_id, reason), group in grouped:
            clusters = sorted({clean(c) for c in group["cluster"].astype(str)})
            applied.append({"check_id": clean(check_id), "reason": clean(reason, limits.text),
                            "count": len(group), "clusters": clusters,
                            "statuses": ", ".join(f"{s} {n}" for s, n in
                                                  _str(group["status"]).value_counts().items() if n),
                            "example": subject_of(group.iloc[0]["kind"], group.iloc[0]["namespace"],
                                                  group.iloc[0]["name"])})
        applied.sort(key=lambda a: -a["count"])

    def listed(items: Iterable[Any]) -> list[dict[str, Any]]:
        return [{"check": clean(e.check), "scope": clean("/".join([e.cluster, e.namespace, e.name])),
                 "kind": clean(e.kind), "reason": clean(e.reason, limits.text), "owner": clean(e.owner),
                 "ticket": clean(e.ticket), "expires": e.expires.isoformat() if e.expires else ""}
                for e in items]

    report = result.exemptions
    entries: list[dict[str, Any]] = []
    if callable(getattr(report, "entries", None)):
        # One line per configured exemption with what it did in this run (applied / expired / unused).
        rank = {"expired": 0, "applied": 1, "unused": 2}
        for e in sorted(report.entries(), key=lambda x: (rank.get(x.get("state"), 3), x.get("index", 0))):
            scope = "/".join(str(e.get(k) or "*") for k in ("cluster", "namespace", "name"))
            entries.append({
                "state": clean(e.get("state")), "check": clean(e.get("check") or e.get("check_id"), 120),
                "scope": clean(scope, 300), "kind": clean(e.get("kind") or "*", 60),
                "reason": clean(e.get("reason"), limits.text), "owner": clean(e.get("owner"), 120),
                "ticket": clean(e.get("ticket"), 120), "expires": clean(e.get("expires")),
                "matched": int(e.get("matched") or 0), "unknown_exempted": int(e.get("unknown_exempted") or 0),
                "would_match": int(e.get("would_match") or 0), "why": clean(e.get("why"), 300),
                "days_left": e.get("days_left"), "expires_soon": bool(e.get("expires_soon"))})
    return {"applied": applied[: limits.exemptions], "applied_more": max(0, len(applied) - limits.exemptions),
            "applied_findings": int(frame["exempt"].sum()) if not frame.empty else 0,
            "entries": entries[: limits.exemptions], "entries_more": max(0, len(entries) - limits.exemptions),
            "expired": listed(report.expired), "unused": listed(report.unused)}


def fleet_rows(result: AuditResult) -> list[dict[str, Any]]:
    """One verdict per cluster (auditor/fleet.py), when the engine computed them."""
    out = []
    for row in getattr(result, "fleet", None) or []:
        verdict = row.get("verdict")
        out.append({"cluster": clean(row.get("cluster")), "role": clean(row.get("role")),
                    "verdict": clean(verdict) or "-", "class": charts.VERDICT_CLASS.get(verdict or "", "none"),
                    "state": clean(row.get("state")), "error": clean(row.get("error"), 300),
                    "blockers": int(row.get("blockers") or 0), "unknown": int(row.get("unknown") or 0),
                    "exempt": int(row.get("exempt") or 0),
                    # the mesh-wide findings' verdict folded into a data plane's (auditor/fleet.py), when it is no GO
                    "mesh_wide": clean(row.get("mesh_wide")) if row.get("role") == "data-plane" and row.get(
                        "mesh_wide") not in (None, "GO") else "",
                    "istio_workloads": row.get("istio_sidecar_workloads"),
                    "asm_pods": row.get("asm_proxy_pods"), "pods": row.get("pods")})
    return out


def since_section(result: AuditResult, limits: Limits) -> dict[str, Any] | None:
    """'Since the last report' from run --baseline (auditor/diff.py), summarised."""
    delta = getattr(result, "baseline_delta", None)
    if not isinstance(delta, dict):
        return None
    old = delta.get("old") or {}
    blockers = delta.get("blockers") or {}
    verdict = delta.get("verdict_change") or {}

    def items(key: str) -> list[dict[str, Any]]:
        return [{"check_id": clean(i.get("check_id")), "cluster": clean(i.get("cluster")),
                 "subject": subject_of(i.get("kind"), i.get("namespace"), i.get("name")),
                 "message": clean(i.get("message"), 300), "now": clean(i.get("now"))}
                for i in (delta.get(key) or [])[:10]]

    return {"old_generated_at": clean(old.get("generated_at")), "verdict_from": clean(verdict.get("from")),
            "verdict_to": clean(verdict.get("to")), "gate_changed": bool(delta.get("gate_changed")),
            "before": blockers.get("before"), "after": blockers.get("after"), "new": blockers.get("new", 0),
            "resolved": blockers.get("resolved", 0), "still_open": blockers.get("still_open", 0),
            "new_blockers": items("new_blockers"), "resolved_blockers": items("resolved_blockers"),
            "fail_on_new": bool(delta.get("fail_on_new")),
            "verdict_without_baseline": clean(delta.get("verdict_without_baseline")),
            "accepted": int(delta.get("accepted_from_baseline") or 0)}


# ---------------------------------------------------------------- migration progress
def progress_section(result: AuditResult, limits: Limits) -> dict[str, Any]:
    """Workloads by proxy kind (Istio sidecar / ASM proxy / none) per cluster and namespace.

    A workload counts as Istio while any of its pods still runs Istio's sidecar (it has work left), as ASM
    when its pods run ASM's proxy, else none. Gateways and ambient's proxies (ztunnel, waypoints) are counted apart.
    """
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    totals = {"istio": 0, "asm": 0, "none": 0}
    gateways: list[dict[str, Any]] = []
    inv = result.inventory
    for cluster in inv.data_planes if inv else []:
        try:
            pods = cluster.pods()
        except EvidenceUnavailable as exc:
            missing.append(clean(f"{cluster.name}: {exc.reason}", 300))
            continue
        if pods.empty:
            rows.append({"label": clean(cluster.name), "istio": 0, "asm": 0, "none": 0, "total": True})
            continue
        active = pods[pods["phase"].astype(str).isin(ACTIVE_PHASES)]
        roles = active["role"].astype(str)
        gw = active[roles == mesh.ROLE_GATEWAY]
        # Ambient's proxies (ztunnel, waypoints) are the mesh's infrastructure, not workloads with a sidecar to move:
        # counted apart as gateways are (charted as workloads, ztunnel's DaemonSet read as "on Istio").
        gateways.append({"cluster": clean(cluster.name),
                         "istio": int((gw["proxy"].astype(str) == mesh.PROXY_ISTIO).sum()),
                         "asm": int((gw["proxy"].astype(str) == mesh.PROXY_ASM).sum()),
                         "ambient": int((roles == mesh.ROLE_AMBIENT).sum())})
        side = active[~roles.isin((mesh.ROLE_GATEWAY, mesh.ROLE_AMBIENT))]
        # A proxy whose marks contradict each other is not proven moved: shown as still on Istio's.
        rank = side["proxy"].astype(str).map({mesh.PROXY_ISTIO: 2, mesh.PROXY_UNKNOWN: 2, mesh.PROXY_ASM: 1}).fillna(0)
        # A proxyless gRPC app (no proxy, an injected xDS bootstrap: istio.proxyless_rows) is neither "no proxy" nor
        # moved: on ASM's only when the istiod its bootstrap names is proven ASM's, else still to move.
        proxyless = proxyless_rows(side)
        if proxyless.any():
            servers = side["xds_server"].astype(str).to_numpy()
            asm = {server for server in set(servers[proxyless])
                   if proxyless_server_owner(cluster, server)[0] == mesh.OWNER_ASM}
            on_asm = np.fromiter((server in asm for server in servers), dtype=bool, count=len(servers))
            rank = rank.where(~proxyless, np.where(on_asm, np.maximum(rank.to_numpy(), 1), 2))
        per_workload = pd.DataFrame({
            "namespace": side["namespace"].astype(str), "kind": side["workload_kind"].astype(str),
            "name": side["workload_name"].astype(str), "rank": rank,
        }).groupby(["namespace", "kind", "name"], sort=False)["rank"].max().reset_index()
        machines, unread = _vm_workloads(cluster)
        if machines:
            per_workload = pd.concat([per_workload, pd.DataFrame(machines, columns=["namespace", "kind", "name"])
                                      .assign(rank=2)], ignore_index=True)
        missing.extend(clean(f"{cluster.name}: {why}", 300) for why in unread)
        per_workload["proxy"] = per_workload["rank"].map({2: "istio", 1: "asm", 0: "none"})
        table = pd.crosstab(per_workload["namespace"], per_workload["proxy"])
        for col in ("istio", "asm", "none"):
            if col not in table:
                table[col] = 0
        table = table[["istio", "asm", "none"]]
        sums = {k: int(table[k].sum()) for k in ("istio", "asm", "none")}
        for k, v in sums.items():
            totals[k] += v
        rows.append({"label": clean(cluster.name), **sums, "total": True})
        # Namespaces with work left first, then the biggest; the rest in one line.
        order = table.assign(_all=table.sum(axis=1)).sort_values(["istio", "_all"], ascending=False)
        for ns, counts in order.head(limits.namespaces).iterrows():
            rows.append({"label": clean(ns), "istio": int(counts["istio"]), "asm": int(counts["asm"]),
                         "none": int(counts["none"]), "indent": True})
        rest = order.iloc[limits.namespaces:]
        if len(rest):
            rows.append({"label": _("{n} other namespaces").format(n=f"{len(rest):,}"),
                         "istio": int(rest["istio"].sum()), "asm": int(rest["asm"].sum()),
                         "none": int(rest["none"].sum()), "indent": True})
    if inv is None:
        missing.append(_("the pod inventory is not part of this result (rendered from findings only)"))
    meshed = totals["istio"] + totals["asm"]
    return {"rows": rows, "svg": charts.progress(rows) if rows else None, "missing": missing,
            "totals": totals, "percent": round(100 * totals["asm"] / meshed) if meshed else None,
            "gateways": gateways}


def _vm_workloads(cluster: ClusterInventory) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Istio's proxies outside Kubernetes as workloads of the progress (auditor/vms.py): each WorkloadGroup and each
    WorkloadEntry that stands for a proxy, shown as still on Istio's (none is proven moved: istio-sidecars-remaining
    FAILs or cannot tell; no VM proxy is charted "on ASM"); and why they could not be read, when reading them failed
    (a gate that did not collect them says nothing of VMs here)."""
    found = vms.vm_proxies(cluster)
    workloads = [(g.namespace, K.WORKLOADGROUP.kind, g.name) for g in found.groups]
    for entry in found.entries:
        meta = entry.get("metadata") or {}
        workloads.append((str(meta.get("namespace") or ""), K.WORKLOADENTRY.kind, str(meta.get("name") or "")))
    failed = [_("VM proxies not counted: {kind} could not be read ({reason})").format(
        kind=kind.kind, reason=cluster.errors[kind.key]) for kind in (K.WORKLOADGROUP, K.WORKLOADENTRY)
        if kind.key in cluster.errors]
    return workloads, failed


def burndown_section(result: AuditResult) -> dict[str, Any] | None:
    """run --history: the burn-down chart over the recorded runs (this one included), else None."""
    history = getattr(result, "history", None)
    if not isinstance(history, dict) or not history.get("runs"):
        return None
    sidecars, blockers = history.get("sidecars") or {}, history.get("blockers") or {}
    return {"runs": int(history["runs"]), "svg": charts.burndown(sidecars, blockers),
            "clusters": len(sidecars), "hidden": max(0, len(sidecars) - len(charts.SERIES_COLORS))}


# ---------------------------------------------------------------- gateway traffic
def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def traffic_section(frame: pd.DataFrame, limits: Limits) -> dict[str, Any]:
    """Rows and a chart from the traffic check's evidence (gateway_type, requests, series ...)."""
    if frame.empty:
        return {"rows": [], "svg": None, "more": 0, "present": False}
    sub = _sorted(frame[_str(frame["check_id"]) == TRAFFIC_CHECK])
    rows: list[dict[str, Any]] = []
    for r in sub.itertuples(index=False):
        ev = r.evidence if isinstance(r.evidence, dict) else {}
        rows.append({
            "cluster": clean(r.cluster), "subject": subject_of("", r.namespace, r.name) or clean(r.cluster),
            "gateway_type": clean(ev.get("gateway_type"), 40), "status": clean(r.status),
            "requests": _num(ev.get("requests")), "connections": _num(ev.get("connections")),
            "bytes": _num(ev.get("bytes")), "last_seen": clean(ev.get("last_seen"), 40),
            "window": clean(ev.get("window"), 20), "message": clean(r.message, limits.text),
            "series": ev.get("series") if isinstance(ev.get("series"), list) else None,
            "tcp_series": ev.get("tcp_series") if isinstance(ev.get("tcp_series"), list) else None,
            "promql": ({clean(k, 60): clean(v, 800) for k, v in ev["promql"].items()}
                       if isinstance(ev.get("promql"), dict) else {}),
        })
    charted = [r for r in rows if r["series"] or r["tcp_series"]][: limits.gateways]
    svg = charts.traffic([{
        "label": r["subject"], "status": r["status"],
        "sublabel": " \u00b7 ".join(p for p in (r["cluster"], r["gateway_type"], r["window"]) if p),
        "series": r["series"] or r["tcp_series"], "unit": "req/s" if r["series"] else "conn/s"}
        for r in charted]) if charted else None
    # The queries of the first gateway that has them, as an example of what was asked (each finding's
    # evidence.promql in findings.json has its own); the PDF shows the main ones only.
    example = next((r for r in rows if r["promql"]), None)
    promql = dict(example["promql"]) if example else {}
    if limits.promql_keys is not None:
        promql = {k: v for k, v in promql.items() if k in limits.promql_keys}
    return {"rows": rows[: limits.gateways * 3], "more": max(0, len(rows) - limits.gateways * 3), "svg": svg,
            "present": bool(rows), "charted": len(charted), "promql": promql,
            "promql_for": f"{example['subject']} ({example['cluster']})" if example else ""}


# ---------------------------------------------------------------- restart risk
def _wave(score: float, evidence: dict[str, Any]) -> int:
    """restart-risk's waves: 1 low (0-1), 2 medium (2-4), 3 high (5+); evidence['wave'] wins."""
    wave = _num(evidence.get("wave"))
    if wave in (1.0, 2.0, 3.0):
        return int(wave)
    return 1 if score <= 1 else 2 if score <= 4 else 3


def _said(text: Any) -> Any:
    """Evidence text in the report's language where the catalog holds it (a Phrase, or a msgid as it was written)."""
    return say(text) if isinstance(text, str) and text else text


def risk_section(frame: pd.DataFrame, limits: Limits) -> dict[str, Any]:
    """The riskiest workloads still to move (restart-risk evidence: score, wave, reasons), top N, plus the
    per-cluster wave plan (the check's aggregate finding: evidence['waves'])."""
    if frame.empty:
        return {"rows": [], "more": 0, "present": False, "plans": []}
    sub = frame[(_str(frame["check_id"]) == RISK_CHECK)
                & ~_str(frame["status"]).isin([Status.NOT_APPLICABLE.value])]
    plans = []
    planned: set[str] = set()
    for r in sub.itertuples(index=False):
        ev = r.evidence if isinstance(r.evidence, dict) else {}
        # --phase all runs the check once per gate on the same pods: one plan per cluster is enough.
        if isinstance(ev.get("waves"), list) and str(r.cluster) not in planned:
            planned.add(str(r.cluster))
            plans.append({"cluster": clean(r.cluster), "workloads": int(_num(ev.get("workloads")) or 0),
                          # Said in the report's language: catalog msgids (restart_risk.WAVES, SCORING).
                          "waves": [{"wave": clean(w.get("wave")), "risk": clean(_said(w.get("risk")), 60),
                                     "workloads": int(_num(w.get("workloads")) or 0)}
                                    for w in ev["waves"] if isinstance(w, dict)],
                          "scoring": clean(_said(ev.get("scoring")), 400)})
    scores = [_num(e.get("score")) if isinstance(e, dict) else None for e in sub["evidence"]]
    scored = sub.assign(risk_score=pd.Series(scores, index=sub.index, dtype="float64"))
    scored = scored[scored["risk_score"].notna() & (scored["name"].astype(str) != "")]
    if scored.empty:
        unscored = sub[_str(sub["status"]) == Status.UNKNOWN.value]
        return {"rows": [], "more": 0, "present": not sub.empty, "plans": plans,
                "unknown": list(dict.fromkeys(clean(m, 300) for m in unscored["message"]))[:5]}  # once each
    scored = scored.sort_values(["risk_score", "namespace", "name"], ascending=[False, True, True], kind="stable")
    # The same workload scored under several gates (--phase all) is one workload to move.
    scored = scored.drop_duplicates(subset=["cluster", "namespace", "kind", "name"])
    rows = []
    for r in scored.head(limits.risk).itertuples(index=False):
        ev = r.evidence if isinstance(r.evidence, dict) else {}
        reasons = ev.get("reasons")
        if isinstance(reasons, list | tuple):
            items = [clean(_said(x), 200) for x in reasons]  # Phrases (restart_risk.Risk.add) in the language
            counted = [x for x in items if x.startswith("+")]  # "+2 single replica ..." scored; others are notes
            reasons_text = "; ".join((counted or items)[:6])
        else:
            reasons_text = clean(reasons or r.message, 400)
        rows.append({"cluster": clean(r.cluster), "namespace": clean(r.namespace), "kind": clean(r.kind),
                     "name": clean(r.name), "score": r.risk_score, "wave": _wave(r.risk_score, ev),
                     "status": clean(r.status), "severity": clean(r.severity), "reasons": reasons_text,
                     "pods": _num(ev.get("pods") or ev.get("pod_count"))})
    return {"rows": rows, "more": max(0, len(scored) - limits.risk), "present": True, "total": len(scored),
            "plans": plans}


# ---------------------------------------------------------------- runbook
def _audit_command(result: AuditResult, gate: str) -> str:
    data_planes = [c["name"] for c in result.clusters if c.get("role") == "data-plane"]
    parts = [f"asm-audit run --phase {gate}"]
    # What the reader fills in is a variable that stops the command while unset, like the kubeconfigs': a `<new
    # snapshot>` placeholder pasted into a shell is a redirection (bash: syntax error near unexpected token).
    if result.options.get("origin") == "snapshot":
        parts.append('--snapshot "${NEW_SNAPSHOT:?}"')
    else:
        parts += [f"--cluster {mesh.sh(n)}={mesh.kubeconfig_var(n)}" for n in data_planes[:6]]  # names: untrusted
    parts.append('--out "${REPORT_DIR:?}"')
    return " ".join(parts)


def remediation_items(rows: pd.DataFrame, cut: bool = True) -> list[tuple[str, list[str]]]:
    """Each distinct remediation of `rows` (`cut`: to 2,000 characters), in their order, with the subjects of the rows
    that carry it (commands_once names them)."""
    subjects: dict[str, list[str]] = {}
    for text, kind, namespace, name in zip(rows["remediation"].astype(str), rows["kind"], rows["namespace"],
                                           rows["name"], strict=True):
        if text.strip():
            named = subjects.setdefault(clean(text, 2000) if cut else text, [])
            subject = subject_of(kind, namespace, name)
            if subject and subject not in named:
                named.append(subject)
    return list(subjects.items())


def runbook(result: AuditResult, block: pd.DataFrame, unknown: pd.DataFrame, limits: Limits) -> list[dict]:
    """Next steps with the exact commands: fix, re-audit, take the step, verify."""
    steps: list[dict[str, Any]] = []
    verdict = result.verdict.value
    names = [c["name"] for c in result.clusters if c.get("role") == "data-plane"]
    steps.append({
        "title": _("Point the commands at your clusters"),
        "text": _("Every command below names its cluster's kubeconfig through a variable; set them once in the "
                  "shell you run the commands from. The commands pass no --context: each file's current context "
                  "must be that cluster (one context cut out of a shared kubeconfig: kubectl config view --minify "
                  "--flatten --context CONTEXT > FILE)."),
        # The cluster name stands in a comment (sh_text keeps it there): it comes from the cluster or snapshot.
        # The comments in the report's language (bash ignores them).
        "commands": [f"export {mesh.kubeconfig_env(n)}=/path/to/kubeconfig  # "
                     + _("cluster {name}").format(name=mesh.sh_text(clean(n, 100))) for n in names[:6]]
        + ["export ASM_KUBECONFIG=/path/to/kubeconfig  # " + _("the ASM control plane")],
        "more": max(0, len(names) - 6)})
    if not block.empty:
        items = remediation_items(block)
        commands, advice = [], []
        for c, _subjects in items:
            if looks_like_command(c):
                continue
            # Advice then its commands (AA1213 "...; check with:" and the command that checks): the commands under
            # their advice, where the sentence that ends in a colon leads to them.
            said, run = split_remediation(c)
            advice.append({"text": said or c, "commands": run})
        # Each command once, a Helm release's uninstall in purge-preview's order (commands_once).
        commands = commands_once([(c, s) for c, s in items if looks_like_command(c)],
                                 uninstall_ranks(result.findings))
        steps.append({
            "title": _("Fix the {n} blocking finding(s)").format(n=f"{len(block):,}"),
            "text": _("Run the remediation of each blocker (one per workload or object). "
                      "Every command is also in findings.csv, column remediation."),
            "advice": advice[: limits.commands], "commands": commands[: limits.commands],
            "more": max(0, len(commands) - limits.commands) + max(0, len(advice) - limits.commands)})
    if not unknown.empty:
        down, listed = unreachable_clusters(result, unknown)
        # An unreachable cluster is one reason, not one per kind it could not read.
        reasons = [_("cluster {cluster} unreachable: {error}").format(cluster=u["cluster"], error=u["error"])
                   for u in down]
        reasons += sorted({clean(m, 300) for m in listed["message"].astype(str)})
        steps.append({
            "title": _("Restore the missing evidence ({n} UNKNOWN)").format(n=f"{len(unknown):,}"),
            "text": _("UNKNOWN is not PASS: grant read access, pass the missing kubeconfig or Prometheus URL, "
                      "or wait for data in the window. Reasons: {reasons}").format(reasons="; ".join(reasons[:5]))
                    + (_("; and {n} more").format(n=len(reasons) - 5) if len(reasons) > 5 else ""),
            "commands": [], "more": 0})
    gates = result.gates
    for gate in gates:
        steps.append({"title": _("Re-run the audit for the {gate} gate").format(gate=gate) if verdict != "GO" else
                      _("Keep this report with the change record ({gate} gate)").format(gate=gate),
                      "text": _("The step may be taken only on a GO from a fresh audit.") if verdict != "GO" else
                      _("The audit is a point-in-time record; re-run it if the change window moves."),
                      "commands": [_audit_command(result, gate)] if verdict != "GO" else [], "more": 0})
    data_planes = [c for c in result.clusters if c.get("role") == "data-plane"]
    verify = f"{mesh.ASM_KUBECTL} get asmmigratefromistio default -o yaml"
    # A gate the migration is already past (--phase all audits every gate, and says no AA0011 there) is never "Now":
    # its step was taken; switching back is no step of the migration.
    now_at, behind = result.past_gates()
    for gate in gates:
        past = gate in behind
        if past:
            when = _("Already past (state {state}), not a step to take:").format(state=now_at)
        else:
            when = _("Now (GO):") if result.gate_verdicts.get(gate) == "GO" else _("After a GO only:")
        what = _(GATE_STEP.get(gate, gate))  # GATE_STEP's prose step is marked N_() where it is defined
        step: dict[str, Any] = {"title": f"{when} {what}", "commands": [], "more": 0}
        if gate == "assessment":
            step["text"] = _("In the ASM console add each cluster to the ASM instance with \u201cIgnore "
                             "istio-system namespace check\u201d selected; ASM then creates "
                             "ASMMigrateFromIstio/default. Check that it exists:")
            step["commands"] = [verify]
        elif gate in GATE_TARGET_STATE:
            state = GATE_TARGET_STATE[gate]
            step["text"] = _("Switch the state, then verify: status.state must read {state} and status.message "
                             "be empty. If not, follow status.message, then increment spec.retryCounter by 1."
                             ).format(state=state)
            step["commands"] = [mesh.desired_state_command(state), verify]
            if gate == "setup":
                step["text"] += " " + _("Then restart istiod in each cluster so it picks up "
                                        "PROXY_CONFIG_XDS_AGENT, and restart every workload on an Istio sidecar.")
                step["commands"] += [f"{mesh.kubectl(c['name'])} -n istio-system rollout restart deployment "
                                     "-l app=istiod" for c in data_planes[:6]]
        elif gate == "uninstall":
            versions = ", ".join(sorted({clean(c.get("istio_version")) for c in data_planes
                                         if c.get("istio_version")})) or _("the installed version")
            step["text"] = _("With the istioctl that matches the installed Istio ({versions}), in each cluster; "
                             "then audit the finished gate.").format(versions=versions)
            # Each cluster's as its installed istioctl spells it (`istioctl x uninstall` up to 1.14).
            step["commands"] = [istioctl.purge_command(c["name"], str(c.get("istioctl_version") or ""))
                                for c in data_planes[:6]]
        if past:  # no command that would switch the migration back
            step["text"] = _("ASMMigrateFromIstio/default is in state {state}: this step was taken already. Check "
                             "it:").format(state=now_at)
            step["commands"] = [verify]
        steps.append(step)
    return steps


def unreachable_clusters(result: AuditResult, unknown: pd.DataFrame) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Each cluster that did not answer, once (its server and error, how many findings it left UNKNOWN), and the
    UNKNOWN findings left to list one by one: not one repeated row per check that could not read it."""
    down = {str(c["name"]): clean(c.get("error"), 300) for c in result.clusters if c.get("reachable") is False}
    if not down or unknown.empty:
        return [], unknown
    cluster = _str(unknown["cluster"])
    listed = [{"cluster": clean(name), "error": error, "count": int((cluster == name).sum())}
              for name, error in down.items() if (cluster == name).any()]
    return listed, unknown[~cluster.isin(list(down))]


# ---------------------------------------------------------------- the whole context
def headline(result: AuditResult, n_block: int, n_checks: int, n_unknown: int, n_warn: int,
             per_gate: str = "") -> str:
    verdict = result.verdict.value
    step = _(GATE_STEP.get(result.gate, N_("every gate"))) if result.gate != "all" else _("the audited gates")
    if verdict == "NO-GO":
        blocking = plural(n_block, "blocking finding", "blocking findings")
        checks = plural(n_checks, "check", "checks")
        if per_gate:
            return _("Do not proceed with {step}: {blocking} from {checks} must be fixed first (per gate: "
                     "{per_gate}).").format(step=step, blocking=blocking, checks=checks, per_gate=per_gate)
        return _("Do not proceed with {step}: {blocking} from {checks} must be fixed first.").format(
            step=step, blocking=blocking, checks=checks)
    if verdict == "INCOMPLETE":
        return _("No decision on {step}: {lacking} evidence (UNKNOWN), and UNKNOWN is not PASS.").format(
            step=step, lacking=plural(n_unknown, "result lacks", "results lack"))
    extra = " " + _("{warnings} listed for the record.").format(
        warnings=plural(n_warn, "warning is", "warnings are")) if n_warn else ""
    said = disclosure(result.summary)
    if said:
        extra += " " + _("Config: {said}.").format(said=said)
    accepted = accepted_from_baseline(result)
    if unknown_accepted(result):  # never "nothing unknown" when --allow-unknown let UNKNOWNs through
        if accepted:
            extra += " " + _("{n} known blocker(s) accepted under --fail-on-new (without the baseline: "
                             "{verdict}).").format(n=f"{accepted:,}", verdict=clean(
                                 result.baseline_delta.get("verdict_without_baseline")))
        return _("Only under --allow-unknown does the evidence support {step}: no blocking finding, but {lacking} "
                 "evidence (UNKNOWN is not PASS; without --allow-unknown: INCOMPLETE).").format(
            step=step, lacking=plural(n_unknown, "result lacks", "results lack")) + extra
    if accepted:
        return _("Under --fail-on-new the evidence supports {step}: no blocking finding new since the baseline, "
                 "nothing unknown; {n} known blocker(s) accepted (without the baseline: {verdict}).").format(
            step=step, n=f"{accepted:,}", verdict=clean(result.baseline_delta.get("verdict_without_baseline"))
        ) + extra
    return _("The evidence supports {step}: no blocking finding, nothing unknown.").format(step=step) + extra


def accepted_from_baseline(result: AuditResult) -> int:
    """Blockers that --fail-on-new let through because the baseline already had them (0 otherwise)."""
    delta = getattr(result, "baseline_delta", None)
    if not isinstance(delta, dict) or not delta.get("fail_on_new"):
        return 0
    return int(delta.get("accepted_from_baseline") or 0)


def build(result: AuditResult, limits: Limits = HTML_LIMITS) -> dict[str, Any]:
    frame = result.findings
    # What blocks is what the verdict counted: with --strict, WARN and minor FAIL too (then listed as blockers only).
    blocking = blocking_mask(frame, strict_of(result)) if not frame.empty else pd.Series(dtype=bool)
    block = _sorted(frame[blocking]) if not frame.empty else frame
    status = _str(frame["status"]) if not frame.empty else pd.Series(dtype=str)
    live = ~frame["exempt"] if not frame.empty else pd.Series(dtype=bool)
    unknown = _sorted(frame[(status == "UNKNOWN") & live]) if not frame.empty else frame
    unreachable, unknown_listed = unreachable_clusters(result, unknown)
    # Restart-risk warnings have their own section (scores and waves); listing them again would double it.
    warn_all = frame[((status == "WARN") | (status == "FAIL")) & ~blocking & live] if (
        not frame.empty) else frame
    warn = _sorted(warn_all[_str(warn_all["check_id"]) != RISK_CHECK]) if not warn_all.empty else warn_all
    by_check = blockers_by_check(block)
    clusters = [{k: clean(v, 300) if isinstance(v, str) else v for k, v in c.items()} for c in result.clusters]
    fleet = fleet_rows(result)
    by_name = {f["cluster"]: f for f in fleet}
    for c in clusters:
        f = by_name.get(c.get("name"))
        c["verdict"], c["verdict_class"] = (f["verdict"], f["class"]) if f else ("", "none")
        c["blockers"], c["unknown"] = (f["blockers"], f["unknown"]) if f else (None, None)
        c["mesh_wide"] = f["mesh_wide"] if f else ""
    data_planes = [c for c in clusters if c.get("role") == "data-plane"]
    positions = {c["name"]: charts.stage_index(c.get("migration_state"), result.gates, c.get("reachable") is not False,
                                               c.get("asm_joined")) for c in data_planes}
    verdict = result.verdict.value
    names = [c["name"] for c in data_planes]
    rows, rows_hidden = finding_rows(frame, limits)
    n_block, per_gate = blocker_counts(block, list(result.gates))
    return {
        "verdict": verdict, "verdict_class": charts.VERDICT_CLASS.get(verdict, "incomplete"),
        "exit_code": result.exit_code, "gate": clean(result.gate), "gates": [clean(g) for g in result.gates],
        "gate_step": _(GATE_STEP.get(result.gate, N_("all gates"))),
        "gate_title": _("every gate") if result.gate == "all" else _("{gate} gate").format(gate=clean(result.gate)),
        "gate_reason": clean(say(result.gate_reason), 300),
        "gate_verdicts": [{"gate": g, "verdict": v, "step": _(GATE_STEP.get(g, g)),
                           "class": charts.VERDICT_CLASS.get(v, "incomplete"),
                           "past": _("already past") if g in result.past_gates()[1] else ""}
                          for g, v in result.gate_verdicts.items()],
        "headline": headline(result, n_block, len(by_check), len(unknown), len(warn_all), per_gate_text(per_gate)),
        "generated_at": format_timestamp(clean(result.generated_at)), "tool_version": clean(result.tool_version),
        "inputs_sha256": clean(result.inputs_sha256) or "", "origin": clean(result.options.get("origin")),
        "evidence": clean(say(evidence_said(result))),
        "options": {k: v for k, v in result.options.items() if k in ("allow_unknown", "strict")},
        "cluster_names": names,
        "cluster_label": ", ".join(names[:4]) + (_(" +{n} more").format(n=len(names) - 4) if len(names) > 4 else ""),
        "clusters": clusters,
        "summary": result.summary, "total": int(sum(result.summary.get(s, 0) for s in STATUS_ORDER)),
        "disclosure": clean(disclosure(result.summary, unknown_accepted(result))),
        "status_order": STATUS_ORDER,
        "status_svg": charts.status_bar(result.summary, STATUS_ORDER),
        "timeline_svg": charts.timeline(positions, result.gate_verdicts),
        "blocking": n_block, "blocking_rows": len(block), "blocking_per_gate": per_gate_text(per_gate),
        "blockers_by_check": by_check,
        "blockers": rows_of(block.head(limits.blockers), limits),
        "blockers_more": max(0, len(block) - limits.blockers),
        "unreachable": unreachable,
        "unknowns": rows_of(unknown_listed.head(limits.unknowns), limits),
        "unknowns_total": len(unknown), "unknowns_more": max(0, len(unknown_listed) - limits.unknowns),
        "warnings": rows_of(warn.head(limits.warnings), limits),
        "warnings_total": len(warn), "warnings_more": max(0, len(warn) - limits.warnings),
        "warnings_all": len(warn_all), "warnings_risk": len(warn_all) - len(warn),
        "checks": check_rollup(frame),
        "check_meta": {c["id"]: {"title": clean(c.get("title")), "rationale": clean(c.get("rationale"), 600),
                                 "remediation": clean(c.get("remediation"), 600)} for c in result.checks},
        "rows": rows, "rows_hidden": rows_hidden,
        "filters": {
            "status": [s for s in STATUS_ORDER if result.summary.get(s)],
            "severity": [s for s in SEVERITY_RANK if not frame.empty and (frame["severity"].astype(str) == s).any()],
            "cluster": sorted({r["cluster"] for r in rows}),
            "gate": [g for g in result.gates],
        },
        "exemptions": exemption_sections(result, limits),
        "fleet": fleet,
        "since": since_section(result, limits),
        "progress": progress_section(result, limits),
        "burndown": burndown_section(result),
        "traffic": traffic_section(frame, limits),
        "risk": risk_section(frame, limits),
        "runbook": runbook(result, block, unknown, limits),
        "notes": [clean(n, 600) for n in result.notes],
        "limits": limits,
    }
