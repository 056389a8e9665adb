"""Every Istio API object of each data-plane cluster is on the ASM control plane with an equal spec.

After the uninstall only ASM's control plane serves configuration; an object left behind in a cluster
stops applying. Objects are compared by (kind, namespace, name) and `spec` only: status and server-set
metadata (uid, resourceVersion, generation, managedFields, timestamps) differ by nature.

"Data-plane KubeAPI access to Istio resources" (ASM instances created since Nov 2024) makes the cluster's
API server answer Istio kinds from ASM: each finding says which source its object came from, and an
object with the same uid on both sides is marked as served from ASM.

Gateway API objects (gateway.networking.k8s.io) are Istio configuration when Istio serves them: Gateways of
an Istio GatewayClass, routes attached to those or to a Service (mesh routes), and the ReferenceGrants they
use (auditor/gatewayapi.py). ASM serves Gateway API on its control plane, so they are compared the same way.
Gateways of other classes (ALB, nginx...) and their routes are not Istio's: skipped, and listed as such.
GatewayClasses are not compared: istiod creates its own, and ASM its own. WorkloadEntries istiod auto-registered for
a VM's proxy (annotation istio.io/autoRegistrationGroup) are not compared either: istiod makes and deletes them; their
WorkloadGroup is the configuration (auditor/vms.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor import gatewayapi, mesh, vms
from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.envoyfilters import installer_telemetry_release
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_
from auditor.inventory import ClusterInventory
from auditor.kinds import Kind
from auditor.mesh import asm_marked
from auditor.model import Finding, Gate, Outcome, Severity, Status

DIFF_LIMIT = 20
# A shell comment above the command (said in the reader's language: render/localize.comments_said).
DECIDE_SPEC_COMMENT = N_("decide which spec is right; to make ASM's equal to the cluster's:")
VALUE_CHARS = 160
# Objects the Istio installer itself created (istioctl/operator): ASM brings its own equivalents.
INSTALL_LABELS = ("operator.istio.io/component", "install.operator.istio.io/owning-resource")
_COMPONENT, _OWNER = INSTALL_LABELS
COMPARED_KINDS: tuple[Kind, ...] = (*K.ISTIO_API_KINDS, *K.GATEWAY_API_CONFIG_KINDS)
_EQUAL = "{total} Istio API object(s) are on the ASM control plane with an equal spec"
_SERVED = (" (the cluster's API server returns ASM's own objects, same uids: data-plane KubeAPI access to Istio "
           "resources is on, so Istio's cluster-local copies cannot be seen separately)")
_NOTHING = "no Istio API object to import in this cluster"
_LEFT_OUT = "; {skipped} Gateway API object(s) not served by Istio (other GatewayClasses) left out"
STRIP = ("del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.generation, "
         ".metadata.managedFields, .metadata.ownerReferences, .status)")
# istiod serves a config object labelled istio.io/rev only when the label names its own revision (REVISION env; no
# label: every revision): pkg/config/model.go LabelsInRevision, used by pilot/pkg/config/kube/crdclient/client.go
# inRevision for every Istio kind and every Gateway API kind but Gateway (whose label picks the revision or tag that
# deploys it), istio/istio@1.22.0, @1.30.3. A copy keeping Istio's revision is served by no ASM istiod but one of that
# very name, which nothing read shows: the import drops the label, so every ASM revision serves the copy.
REV_LABEL = "istio.io/rev"
STRIP_REV = ' | del(.metadata.labels["istio.io/rev"])'


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "..."


def spec_diff(cluster_side: Any, asm_side: Any, path: str = "spec",
              out: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Paths where two specs differ, with both values (shortened), at most DIFF_LIMIT entries."""
    out = [] if out is None else out
    if len(out) >= DIFF_LIMIT or cluster_side == asm_side:
        return out
    if isinstance(cluster_side, dict) and isinstance(asm_side, dict):
        for key in sorted(set(cluster_side) | set(asm_side), key=str):
            sub = f"{path}.{key}"
            if key not in asm_side:
                out.append({"path": sub, "cluster": _short(cluster_side[key]), "asm": "<absent>"})
            elif key not in cluster_side:
                out.append({"path": sub, "cluster": "<absent>", "asm": _short(asm_side[key])})
            else:
                spec_diff(cluster_side[key], asm_side[key], sub, out)
            if len(out) >= DIFF_LIMIT:
                break
    elif isinstance(cluster_side, list) and isinstance(asm_side, list) and len(cluster_side) == len(asm_side):
        for i, (a, b) in enumerate(zip(cluster_side, asm_side, strict=True)):
            spec_diff(a, b, f"{path}[{i}]", out)
    else:
        out.append({"path": path, "cluster": _short(cluster_side), "asm": _short(asm_side)})
    return out


def revision_filtered(kind: Kind, meta: dict[str, Any]) -> str | None:
    """The istio.io/rev label of an object istiod serves only to the revision it names (REV_LABEL), else None."""
    if kind is K.K8S_GATEWAY:
        return None
    value = (meta.get("labels") or {}).get(REV_LABEL)
    return None if value is None else str(value)


def _import_command(cluster: str, kind: Kind, namespace: str, name: str, *, drop_rev: bool = False) -> str:
    resource = f"{kind.plural}.{kind.group}"
    ns = f"{mesh.ns_flag(namespace)} " if namespace else ""
    strip = STRIP + (STRIP_REV if drop_rev else "")
    return (f"{mesh.kubectl(cluster)} {ns}get {mesh.object_ref(resource, name)} -o json | jq '{strip}' | "
            f"{mesh.ASM_KUBECTL} apply -f -")


def _skipped(kind: Kind, label: str, obj: dict[str, Any], meta: dict[str, Any]) -> str | None:
    """Why an object with labels or annotations (or an EnvoyFilter) is not compared, as the evidence lists it; None for
    a candidate."""
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if (_COMPONENT in labels or _OWNER in labels or _COMPONENT in annotations
            or _OWNER in annotations):  # INSTALL_LABELS looked up one by one
        return f"{label} {meta.get('namespace', '')}/{meta.get('name')} (installed by Istio)"
    if kind is K.WORKLOADENTRY and (group := vms.auto_registration_group(obj)):
        # istiod made it when a VM's proxy connected (auto-registration), and deletes it once the proxy is gone:
        # importing it gives ASM a stale endpoint it did not register. The WorkloadGroup is the configuration to
        # import; ASM's istiod registers the VM when it connects there.
        return (f"{label} {meta.get('namespace', '')}/{meta.get('name')} (auto-registered by istiod from "
                f"WorkloadGroup {group}: import the WorkloadGroup)")
    if kind is K.ENVOYFILTER and (release := installer_telemetry_release(obj)):
        # Helm labels these istio.io/rev only; they match Istio <release>'s proxies alone, so importing them would
        # give ASM a filter that applies to nothing (envoyfilter-compatibility warns AA2820).
        return f"{label} {meta.get('namespace', '')}/{meta.get('name')} (generated by Istio {release}'s installer)"
    if asm_marked(meta):
        return f"{label} {meta.get('namespace', '')}/{meta.get('name')} (ASM's own)"
    return None


def _asm_lacks_gateway_api(ctx: Context, kind: Kind) -> bool:
    asm = ctx.inv.asm
    return asm is not None and kind in K.GATEWAY_API_KINDS and asm.available(kind) and not asm.served(kind)


class IstioConfigImported(ClusterCheck):
    id = "istio-config-imported"
    title = "Every Istio API object is on the ASM control plane with an equal spec"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("After `istioctl uninstall --purge` only ASM's control plane configures the mesh: a "
                 "VirtualService, DestinationRule, AuthorizationPolicy... that exists only in the cluster (or "
                 "differs on ASM) silently stops applying, which can open or break traffic.")
    remediation = ("Apply the cluster's object to the ASM control plane (kubectl --kubeconfig=\"${ASM_KUBECONFIG:?}\" "
                   "apply), or align the two specs.")
    EQUAL = Outcome("AA2101", Status.PASS, "every Istio API object is on the ASM control plane with an equal spec",
                    message=_EQUAL)
    EQUAL_SERVED = Outcome("AA2102", Status.PASS, "every Istio API object the cluster returns is ASM's own (same "
                           "uids: data-plane KubeAPI access to Istio resources is on)", message=_EQUAL + _SERVED)
    NOTHING = Outcome("AA2103", Status.PASS, "the cluster has no Istio API object to import", message=_NOTHING)
    EQUAL_LEFT_OUT = Outcome("AA2104", Status.PASS, "every Istio API object is on the ASM control plane with an equal "
                             "spec; Gateway API objects of other GatewayClasses were left out",
                             message=_EQUAL + _LEFT_OUT)
    EQUAL_SERVED_LEFT_OUT = Outcome("AA2105", Status.PASS, "every Istio API object the cluster returns is ASM's own; "
                                    "Gateway API objects of other GatewayClasses were left out",
                                    message=_EQUAL + _SERVED + _LEFT_OUT)
    NOTHING_LEFT_OUT = Outcome("AA2106", Status.PASS, "no Istio API object to import; Gateway API objects of other "
                               "GatewayClasses were left out", message=_NOTHING + _LEFT_OUT)
    MISSING = Outcome("AA2110", Status.FAIL, "an Istio API object of the cluster is not on the ASM control plane",
                      message="{kind} {namespace}/{name} is not on the ASM control plane")
    GATEWAY_API_NOT_SERVED = Outcome("AA2111", Status.FAIL, "a Gateway API object is not on the ASM control plane, "
                                     "which does not serve the Gateway API: enable it on the ASM instance first",
                                     message="{kind} {namespace}/{name} is not on the ASM control plane (the ASM "
                                             "control plane does not serve the Gateway API: enable it on the ASM "
                                             "instance first)")
    DIFFERS = Outcome("AA2112", Status.FAIL, "an Istio API object's spec differs on the ASM control plane",
                      message="{kind} {namespace}/{name} differs on the ASM control plane ({paths})")
    REVISION_LABELLED = Outcome("AA2132", Status.UNKNOWN, "the ASM control plane's copy of an Istio API object is "
                                "labelled istio.io/rev: istiod serves it only to the revision it names, and nothing "
                                "read shows that ASM runs that revision",
                                message="{kind} {namespace}/{name} is on the ASM control plane with an equal spec, but "
                                        "labelled istio.io/rev={revision}: ASM's istiod serves it only if its "
                                        "revision is {revision}")
    UNREADABLE = Outcome("AA2130", Status.UNKNOWN, "objects of a kind cannot be read in the cluster, so they cannot be "
                         "compared", message="{kind} objects cannot be compared: {reason}")
    ASM_UNREADABLE = Outcome("AA2131", Status.UNKNOWN, "objects of a kind cannot be read on the ASM control plane, so "
                             "the cluster's cannot be compared",
                             message="{count} {kind} object(s) cannot be compared: the ASM control plane's {kind} "
                                     "objects are unreadable: {reason}")
    outcomes = (EQUAL, EQUAL_SERVED, NOTHING, EQUAL_LEFT_OUT, EQUAL_SERVED_LEFT_OUT, NOTHING_LEFT_OUT, MISSING,
                GATEWAY_API_NOT_SERVED, DIFFERS, UNREADABLE, ASM_UNREADABLE, REVISION_LABELLED)
    # An unreadable kind is UNKNOWN for that kind alone (see _cluster). GatewayClasses tell Istio's Gateways.
    uses = (*COMPARED_KINDS, K.K8S_GATEWAYCLASS)
    asm_needs = COMPARED_KINDS

    def prepare(self, ctx: Context) -> None:
        # Per kind: (namespace, name) -> (spec, uid, istio.io/rev label) of ASM's object, all the comparison reads of
        # it, taken while its metadata is at hand: the walk of the cluster's objects then reads no ASM object again
        # (~12,000 at 50k pods, read cold by then).
        self.index: dict[str, dict[tuple[str, str], tuple[Any, Any, str | None]]] = {}
        self.asm_errors: dict[str, str] = {}
        # ASM's objects being deleted (metadata.deletionTimestamp: gone once their finalizers are), per kind: no copy
        # to rely on, so compared as absent, and said so.
        self.deleting: dict[str, dict[tuple[str, str], str]] = {}
        index, asm_errors, asm = self.index, self.asm_errors, ctx.inv.asm
        if asm is not None:
            for kind in COMPARED_KINDS:
                try:
                    by_key: dict[tuple[str, str], tuple[Any, Any, str | None]] = {}
                    for obj in asm.objects(kind):
                        meta = obj.get("metadata") or {}  # read once per object (both parts of the key, the uid)
                        key = (meta.get("namespace", ""), meta.get("name", ""))
                        if meta.get("deletionTimestamp"):
                            self.deleting.setdefault(kind.key, {})[key] = str(meta["deletionTimestamp"])
                            continue
                        by_key[key] = (
                            obj.get("spec") or {}, meta.get("uid"), revision_filtered(kind, meta))
                    index[kind.key] = by_key
                except EvidenceUnavailable as exc:
                    asm_errors[kind.key] = exc.reason

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterator[Finding]:
        return self._cluster(cluster, ctx, self.index, self.asm_errors)

    def _cluster(self, cluster: ClusterInventory, ctx: Context,
                 index: dict[str, dict[tuple[str, str], tuple[Any, Any, str | None]]],
                 asm_errors: dict[str, str]) -> Iterator[Finding]:
        source = f"data-plane API server of {cluster.name}"
        counts: dict[str, int] = {}
        skipped: list[str] = []
        served_from_asm = 0
        problems = 0
        gateway_api = gatewayapi.istio_gateway_api(cluster)
        skipped.extend(gateway_api.skipped)
        for kind in COMPARED_KINDS:
            label = gatewayapi.display(kind)
            try:
                objects = (gatewayapi.objects_of(gateway_api, kind) if kind in K.GATEWAY_API_KINDS
                           else cluster.objects(kind))
            except EvidenceUnavailable as exc:
                problems += 1
                yield self.report(self.UNREADABLE, cluster.name, params={"kind": label, "reason": exc.reason},
                                  kind=label, evidence={"source": source})
                continue
            # One walk per kind: each object's metadata read once, and compared while it is at hand (~10,000 objects
            # per kind at scale). Objects with a mark to skip them by are listed; the rest are candidates.
            asm_name: str | None = None  # read at the first candidate: only needed once there is something to compare
            unreadable = kind.key in asm_errors
            unread: list[dict[str, Any]] = []  # a candidate's metadata, when ASM's objects of the kind are unreadable
            on_asm = index.get(kind.key, {})
            equal = 0
            marks_read = kind is K.ENVOYFILTER  # an EnvoyFilter is looked at even without labels or annotations
            get_twin = on_asm.get
            for obj in objects:
                meta = obj.get("metadata") or {}
                if marks_read or meta.get("labels") or meta.get("annotations"):  # most objects: no mark looked for
                    why = _skipped(kind, label, obj, meta)
                    if why is not None:
                        skipped.append(why)
                        continue
                if asm_name is None:
                    asm_name = ctx.inv.require_asm().name
                if unreadable:
                    unread.append(meta)
                    continue
                ns, name = meta.get("namespace", ""), meta.get("name", "")
                twin = get_twin((ns, name))
                same_uid = False
                twin_rev = None
                if twin is not None:
                    twin_spec, twin_uid, twin_rev = twin
                    uid = meta.get("uid")
                    if uid and twin_uid == uid:
                        same_uid = True
                        served_from_asm += 1
                    if twin_rev is None and (obj.get("spec") or {}) == twin_spec:
                        equal += 1
                        continue  # equal: no finding, so no evidence nor command to build (most objects at scale)
                evidence: dict[str, Any] = {"source": source, "compared_with": f"ASM control plane ({asm_name})",
                                            "served_from_asm": same_uid, "apiVersion": obj.get("apiVersion")}
                command = _import_command(cluster.name, kind, ns, name,
                                          drop_rev=revision_filtered(kind, meta) is not None)
                subject = {"kind": label, "namespace": ns, "name": name}
                if twin is not None and twin_rev is not None and (obj.get("spec") or {}) == twin_spec:
                    problems += 1
                    resource = f"{kind.plural}.{kind.group}"
                    unlabel = (f"{mesh.ASM_KUBECTL} {mesh.ns_flag(ns) + ' ' if ns else ''}label "
                               f"{mesh.object_ref(resource, name)} {REV_LABEL}-")
                    yield self.report(self.REVISION_LABELLED, cluster.name,
                                      params={"kind": label, "namespace": ns, "name": name, "revision": twin_rev},
                                      remediation=unlabel, evidence={**evidence, "asm_revision_label": twin_rev},
                                      **subject)
                elif twin is None:
                    problems += 1
                    if (since := self.deleting.get(kind.key, {}).get((ns, name))) is not None:
                        evidence["asm_copy_deleted_since"] = since
                    outcome = self.GATEWAY_API_NOT_SERVED if _asm_lacks_gateway_api(ctx, kind) else self.MISSING
                    yield self.report(outcome, cluster.name, params={"kind": label, "namespace": ns, "name": name},
                                      remediation=command, evidence=evidence, **subject)
                else:
                    problems += 1
                    diff = spec_diff(obj.get("spec") or {}, twin_spec)
                    paths = ", ".join(d["path"] for d in diff[:5]) + (" ..." if len(diff) > 5 else "")
                    yield self.report(self.DIFFERS, cluster.name, params={"kind": label, "namespace": ns,
                                                                          "name": name, "paths": paths},
                                      remediation=f"# {DECIDE_SPEC_COMMENT}\n{command}",
                                      evidence={**evidence, "diff": diff}, **subject)
            if unread:
                problems += 1
                listed = [f"{meta.get('namespace', '')}/{meta.get('name')}" for meta in unread[:20]]
                yield self.report(self.ASM_UNREADABLE, cluster.name,
                                  params={"count": len(unread), "kind": label, "reason": asm_errors[kind.key]},
                                  kind=label, evidence={"source": source, "objects": listed})
                continue
            if equal:
                counts[label] = counts.get(label, 0) + equal
        if problems:
            return
        total = sum(counts.values())
        left_out = bool(gateway_api.skipped)
        if not total:
            outcome = self.NOTHING_LEFT_OUT if left_out else self.NOTHING
        elif served_from_asm == total:
            outcome = self.EQUAL_SERVED_LEFT_OUT if left_out else self.EQUAL_SERVED
        else:
            outcome = self.EQUAL_LEFT_OUT if left_out else self.EQUAL
        yield self.report(outcome, cluster.name, params={"total": total, "skipped": len(gateway_api.skipped)},
                          evidence={"source": source, "by_kind": counts, "served_from_asm": served_from_asm,
                                    "skipped": skipped[:50]})
