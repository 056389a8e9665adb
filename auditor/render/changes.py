"""The CAB pack's change and back-out plan: for every gate, what the step changes and how to back out of it.

Facts as data, one entry per gate, each from the seed (/work/shared/seeds: the ASM migration guide) or domain.md
("Beyond the seed": `istioctl uninstall --purge`); where neither says how to undo something the plan says
NOT_DOCUMENTED rather than invent a procedure. The per-cluster numbers come from this audit's findings:
purge-preview's evidence at the uninstall gate, restart-risk's "workloads still to move" for the restarts.
Renderers (HTML/PDF partial changes.j2, summary.md) show `plan(result)`; nothing here judges a verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from auditor import istioctl, mesh
from auditor.i18n import N_
from auditor.i18n import gettext as _
from auditor.render.context import GATE_STEP, clean

NOT_DOCUMENTED = N_("not documented by the ASM migration guide: contact ASM support")
SEED = N_("ASM migration guide (seed)")
PURGE_SOURCE = N_("domain.md: istioctl uninstall --purge (istio/istio operator/pkg/uninstall/prune.go)")
# The order the seed fixes for spec.desiredState: it never goes back.
FORWARD_ONLY = N_("spec.desiredState only moves forward (Init -> SetupIstioForMigrate -> Migrating -> Finished, "
                   "seed): patching it back to an earlier state is not supported")
CLUSTER_COMMANDS_SHOWN = 6
# Every Istio CRD lists the category istio-io (istio/istio manifests/charts/base/crds/crd-all.gen.yaml), so one
# `kubectl get istio-io` backs up all Istio API objects and does not fail on a kind an older release lacks.
ISTIO_CATEGORY = "istio-io"


@dataclass(frozen=True)
class GateChange:
    """What one gate's step does and how to back out of it. Commands hold `{kubectl}` / `{kubeconfig}` /
    `{cluster}` for each data-plane cluster, `{asm_kubectl}` for ASM's control plane. The prose is English
    msgids (auditor/i18n_catalog.py extracts them); `{forward_only}` and `{not_documented}` in it are filled
    with FORWARD_ONLY and NOT_DOCUMENTED, translated too."""

    gate: str
    creates: tuple[str, ...]
    changes: tuple[str, ...]
    deletes: tuple[str, ...]
    undo_before: tuple[str, ...]           # what to do before the step so it can be backed out
    undo_before_commands: tuple[str, ...]
    undo_after: tuple[str, ...]            # what can be undone after the step, and how
    undo_after_commands: tuple[str, ...]
    irreversible: tuple[str, ...]
    source: str


_STATE_CHECK = "{asm_kubectl} get asmmigratefromistio default -o yaml"
# What the reader fills in is a variable that stops the command while unset (as the kubeconfigs'): a `<namespace>`
# placeholder pasted into a shell is a redirection (`-n <namespace> patch` reads a file "namespace" and writes one
# named "patch"; `-f <saved IstioOperator>` is a syntax error).
_UNLABEL = ("{kubectl} -n \"${NAMESPACE:?}\" patch deployment \"${DEPLOYMENT:?}\" --type=json -p "
            "'[{\"op\":\"remove\",\"path\":\"/spec/template/metadata/labels/sidecar.asm.aliyun.com~1inject\"}]'")

CHANGES: dict[str, GateChange] = {c.gate: c for c in (
    GateChange(
        gate="assessment",
        creates=("ASMMigrateFromIstio/default on ASM's control plane (ASM creates it when the cluster joins)",),
        changes=("Namespace istio-system in each cluster: ASM disables sidecar injection there (label "
                 "istio-injection: disable) unless spec.advancedOptions.stopIstioSystemInjectionDisabling is true",),
        deletes=(),
        undo_before=("Nothing is changed before the cluster joins ASM.",),
        undo_before_commands=(),
        undo_after=("The istio-system label can be removed by hand, as the seed does for east-west gateways; ASM "
                    "sets it again unless stopIstioSystemInjectionDisabling is true.",
                    "Removing the cluster from the ASM instance during a migration: {not_documented}."),
        undo_after_commands=("{kubectl} label namespace istio-system istio-injection-",),
        irreversible=(),
        source=SEED),
    GateChange(
        gate="setup",
        creates=(),
        changes=("ASMMigrateFromIstio/default: spec.desiredState SetupIstioForMigrate",
                 "Istio's mesh config in each cluster (ConfigMap istio[-<rev>] in istio-system): ASM adds "
                 "defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT: \"true\"",
                 "istiod is restarted (rolling), then every workload on Istio's sidecar, to pick it up"),
        deletes=(),
        undo_before=("Nothing is changed before the state is switched.",),
        undo_before_commands=(),
        undo_after=("{forward_only}.",
                    "Removing PROXY_CONFIG_XDS_AGENT from Istio's mesh config again: {not_documented}.",
                    "Restarted pods need no undo: they run the same application with Istio's sidecar."),
        undo_after_commands=(_STATE_CHECK,),
        irreversible=("The state change to SetupIstioForMigrate.",),
        source=SEED),
    GateChange(
        gate="migrating",
        creates=("ASM gateways (ingress, egress; the cross-cluster mesh proxy where an east-west gateway is used) "
                 "in ASM",),
        changes=("ASMMigrateFromIstio/default: spec.desiredState Migrating",
                 "Istio API objects connected (imported) to ASM's control plane",
                 "each workload labelled sidecar.asm.aliyun.com/inject=true restarts (rolling) on ASM's proxy",
                 "ingress and egress traffic shifted to ASM's gateways by weight (VirtualService weights, load "
                 "balancer weights)"),
        deletes=(),
        undo_before=("Nothing is changed before the state is switched.",),
        undo_before_commands=(),
        undo_after=("A moved workload goes back to Istio's sidecar: remove the label from its pod template (the "
                    "seed allows either proxy during Migrating); that triggers a rolling restart.",
                    "Traffic goes back to Istio's gateways by setting the weights back (the seed's 99:1 "
                    "VirtualService example, reversed).",
                    "{forward_only}."),
        undo_after_commands=(_UNLABEL, "{kubectl} -n \"${NAMESPACE:?}\" edit virtualservice \"${VIRTUALSERVICE:?}\""
                                       "  # weights back"),
        irreversible=("The state change to Migrating.",),
        source=SEED),
    GateChange(
        gate="uninstall",
        creates=(),
        changes=(),
        deletes=("every object labelled operator.istio.io/component in any namespace, CustomResourceDefinitions "
                 "included (per cluster below, from purge-preview)",
                 "with each Istio CRD, every object of its kind stored in the cluster",
                 "for Helm-installed Istio: the Helm releases (helm uninstall per release), not istioctl"),
        undo_before=("Save the IstioOperator Istio was installed with (for Helm: helm get values of each release) "
                     "and every Istio object: a CRD deletion destroys them.",
                     "Preview with the istioctl of the installed Istio version."),
        undo_before_commands=(
            "{kubectl} get istiooperators.install.istio.io -A -o yaml > istiooperator-{cluster}.yaml",
            "{kubectl} get " + ISTIO_CATEGORY + " -A -o yaml > istio-objects-{cluster}.yaml",
            "{purge_preview}"),
        undo_after=("The purge cannot be undone: Istio can only be installed again, with the same revision and "
                    "values and the istioctl of that version; the deleted objects come back only from the backup "
                    "(create them again after removing metadata.uid, resourceVersion and creationTimestamp).",),
        undo_after_commands=("istioctl --kubeconfig={kubeconfig} install -f \"${SAVED_ISTIOOPERATOR:?}\"",),
        irreversible=("Deleting an Istio CRD deletes every stored object of its kind: only the backup restores "
                      "them.",
                      "The purge itself: istioctl has no undo."),
        source=PURGE_SOURCE),
    GateChange(
        gate="finished",
        creates=(),
        changes=("ASMMigrateFromIstio/default: spec.desiredState Finished (ASM checks that no Istio resources "
                 "remain; if the switch fails, status.message names them)",),
        deletes=(),
        undo_before=("Nothing is changed before the state is switched; a failed switch changes nothing either: "
                     "clear what status.message names, then increment spec.retryCounter.",),
        undo_before_commands=("{asm_kubectl} patch asmmigratefromistio default --type='merge' -p "
                              "'{\"spec\":{\"retryCounter\":<current + 1>}}'",),
        undo_after=("{forward_only}; leaving Finished: {not_documented}.",),
        undo_after_commands=(_STATE_CHECK,),
        irreversible=("The state change to Finished.",),
        source=SEED),
)}


# ---------------------------------------------------------------- per-cluster numbers from the findings
def _rows(frame: pd.DataFrame, check_id: str, gate: str | None = None) -> pd.DataFrame:
    if frame.empty:
        return frame
    mask = frame["check_id"].astype(str) == check_id
    if gate is not None:
        mask &= frame["gate"].astype(str) == gate
    return frame[mask]


def _number(what: str, count: int | None, detail: str = "", source: str = "") -> dict[str, Any]:
    return {"what": what, "count": count, "detail": clean(detail, 300), "source": source}


def _purge_numbers(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """What the purge deletes in one cluster, from purge-preview's findings there."""
    out: list[dict[str, Any]] = []
    counted = False
    for r in rows.itertuples(index=False):
        evidence = r.evidence if isinstance(r.evidence, dict) else {}
        code = str(r.code)
        if not counted and "deleted_count" in evidence:
            by_kind = evidence.get("by_kind") or {}
            out.append(_number(_("objects labelled operator.istio.io/component deleted"),
                               int(evidence["deleted_count"]),
                               ", ".join(f"{n} {k}" for k, n in by_kind.items()), f"purge-preview {code}"))
            counted = True
        if "not_on_asm" in evidence:
            out.append(_number(_("stored objects deleted with CRD {crd} that ASM does not hold").format(crd=r.name),
                               len(evidence["not_on_asm"]), ", ".join(evidence["not_on_asm"][:10]),
                               f"purge-preview {code}"))
        if "asm_objects" in evidence:
            out.append(_number(_("objects of ASM's deleted with CRD {crd}").format(crd=r.name),
                               len(evidence["asm_objects"]), ", ".join(evidence["asm_objects"][:10]),
                               f"purge-preview {code}"))
        for item in evidence.get("cascade") or ():
            m = re.match(r"^(\d+) (.+)$", str(item))
            if m:
                what = _("stored {kind} objects deleted with their CRD (held by ASM)").format(kind=m.group(2))
                out.append(_number(what, int(m.group(1)), "", f"purge-preview {code}"))
        if "releases" in evidence:
            releases = evidence["releases"] or {}
            out.append(_number(_("Helm releases of Istio to remove with helm uninstall"), len(releases),
                               ", ".join(releases), f"purge-preview {code}"))
        if str(r.status) == "NOT_APPLICABLE":
            out.append(_number(_("objects deleted"), 0, str(r.message), f"purge-preview {code}"))
        elif str(r.status) == "UNKNOWN":
            out.append(_number(_("cannot be counted"), None, str(r.message), f"purge-preview {code}"))
    return out


def _workloads_to_move(frame: pd.DataFrame, cluster: str) -> list[dict[str, Any]]:
    """Workloads still on Istio's sidecar (each restarts when it moves), from restart-risk's cluster row."""
    rows = _rows(frame, "restart-risk")
    rows = rows[(rows["cluster"].astype(str) == cluster) & (rows["kind"].astype(str) == "")] if not rows.empty \
        else rows
    for r in rows.itertuples(index=False):
        evidence = r.evidence if isinstance(r.evidence, dict) else {}
        if "workloads" in evidence:
            return [_number(_("workloads on Istio's sidecar that restart"), int(evidence["workloads"]), "",
                            _("restart-risk {code} ({gate} gate)").format(code=r.code, gate=r.gate))]
    return []


def cluster_numbers(frame: pd.DataFrame, gate: str, cluster: str) -> list[dict[str, Any]]:
    """The numbers this audit's findings give for one gate's step in one cluster ([] when none do)."""
    if gate == "uninstall":
        rows = _rows(frame, "purge-preview", gate)
        return _purge_numbers(rows[rows["cluster"].astype(str) == cluster]) if not rows.empty else []
    if gate in ("setup", "migrating"):
        return _workloads_to_move(frame, cluster)
    return []


def _fill(command: str, cluster: str, version: str = "") -> str:
    """The command for one cluster (replace, not str.format: commands hold JSON braces); `{purge_preview}` is the
    purge's preview as the istioctl of the cluster's Istio `version` takes it (auditor/istioctl.py)."""
    if "{purge_preview}" in command:
        command = command.replace("{purge_preview}", istioctl.preview_command(cluster, version))
    for field, value in (("{kubectl}", mesh.kubectl(cluster)), ("{kubeconfig}", mesh.kubeconfig_var(cluster)),
                         ("{cluster}", mesh.sh(cluster)), ("{asm_kubectl}", mesh.ASM_KUBECTL)):
        command = command.replace(field, value)
    return command


def _commands(templates: tuple[str, ...], clusters: list[str], versions: dict[str, str] | None = None) -> list[str]:
    out: list[str] = []
    versions = versions or {}
    for template in templates:
        if "{kubectl}" in template or "{kubeconfig}" in template or "{purge_preview}" in template:
            out += [_fill(template, c, versions.get(c, "")) for c in clusters[:CLUSTER_COMMANDS_SHOWN]]
        else:
            out.append(_fill(template, ""))
    return list(dict.fromkeys(out))


def prose(items: tuple[str, ...]) -> list[str]:
    """A GateChange's prose in the current language, its {forward_only} / {not_documented} filled."""
    shared = {"forward_only": _(FORWARD_ONLY), "not_documented": _(NOT_DOCUMENTED)}
    return [_(item).format(**shared) for item in items]


def plan(result: Any) -> list[dict[str, Any]]:
    """One entry per audited gate: the step, what it creates/changes/deletes (with per-cluster numbers from the
    findings) and how to back out before and after it; prose in the current language (auditor/i18n.py)."""
    frame: pd.DataFrame = result.findings
    clusters = [str(c["name"]) for c in result.clusters if c.get("role") == "data-plane"]
    versions = {str(c["name"]): str(c.get("istioctl_version") or "") for c in result.clusters}
    out = []
    for gate in result.gates:
        change = CHANGES.get(gate)
        if change is None:
            continue
        out.append({
            "gate": gate, "step": _(GATE_STEP.get(gate, gate)),
            "creates": prose(change.creates), "changes": prose(change.changes), "deletes": prose(change.deletes),
            "clusters": [{"name": clean(c, 100), "numbers": cluster_numbers(frame, gate, c)} for c in clusters],
            "undo_before": prose(change.undo_before),
            "undo_before_commands": _commands(change.undo_before_commands, clusters, versions),
            "undo_after": prose(change.undo_after),
            "undo_after_commands": _commands(change.undo_after_commands, clusters),
            "irreversible": prose(change.irreversible), "source": _(change.source),
        })
    return out
