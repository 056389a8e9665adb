"""Workloads moved to ASM that are short of the pods they should run (asm-proxies-ready).

A pod check sees only pods that exist. A workload whose new pods cannot be created after its move (ASM's injector
webhook unreachable or refusing, istio-init rejected by admission, a quota) has fewer pods than it should, and with
strategy Recreate (or a StatefulSet/DaemonSet replacing pods one by one) none at all: nothing Istio's is left and no
ASM pod is unready, so "every ASM-proxied pod is ready" held. The controller's status tells it (apps/v1
DeploymentStatus availableReplicas and conditions ReplicaFailure / Progressing=ProgressDeadlineExceeded,
StatefulSetStatus availableReplicas, DaemonSetStatus desiredNumberScheduled / numberAvailable: kubernetes/api
apps/v1 types.go).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor import istio, mesh
from auditor import kinds as K
from auditor.i18n import N_, Phrase
from auditor.inventory import controller_owner

if TYPE_CHECKING:
    from auditor.inventory import ClusterInventory

WorkloadKey = tuple[str, str, str]  # (namespace, kind, name)
_NONE: dict[str, Any] = {}
# With OpenKruise's workloads (their counts as the built-ins' are named: openkruise/kruise@v1.9.0 apis/apps/v1alpha1/
# cloneset_types.go CloneSetStatus.availableReplicas, apis/apps/v1beta1/statefulset_types.go StatefulSetStatus
# .availableReplicas, daemonset_types.go DaemonSetStatus desiredNumberScheduled / numberAvailable): a moved CloneSet
# whose new pods cannot be created is as short as a Deployment, and its pods' workload is the CloneSet itself.
KINDS = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CLONESET, *K.ADVANCED_KINDS)


@dataclass(frozen=True, slots=True)
class Shortfall:
    namespace: str
    kind: str
    name: str
    desired: int
    available: int
    why: str        # the controller's own words (a failure condition's reason and message), or ""
    marked: bool    # its pod template carries ASM's injection label (else: its pods run ASM's proxy)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _why(status: dict[str, Any]) -> str:
    """What the controller says is wrong: a ReplicaFailure condition, or a rollout past its progress deadline."""
    for condition in status.get("conditions") or ():
        if not isinstance(condition, dict):
            continue
        kind, state, reason = condition.get("type"), condition.get("status"), condition.get("reason")
        if (kind == "ReplicaFailure" and state == "True") or (
                kind == "Progressing" and state == "False" and reason == "ProgressDeadlineExceeded"):
            return f"{kind}: {reason or ''}: {condition.get('message') or ''}".strip(": ")
    return ""


def _or(value: Any, default: Any) -> Any:
    """A field's value, null read as absent (as the snapshot's shape rules read it: kubectl omits empty fields)."""
    return default if value is None else value


def _desired_available(kind: K.Kind, spec: dict[str, Any], status: dict[str, Any]) -> tuple[int | None, int | None]:
    if kind is K.DAEMONSET or kind is K.ADVANCED_DAEMONSET:
        return _count(status.get("desiredNumberScheduled")), _count(_or(status.get("numberAvailable"), 0))
    replicas = _or(spec.get("replicas"), 1)  # the API server defaults it to 1
    # StatefulSets have availableReplicas since Kubernetes 1.22 (readyReplicas before).
    before = _or(status.get("readyReplicas"), 0) if kind is K.STATEFULSET else 0
    return _count(replicas), _count(_or(status.get("availableReplicas"), before))


def rollout_pending(dep: dict[str, Any]) -> str:
    """Why the pods of a Deployment (an istiod: not all the version its image pins) may not all run its template, ""
    when its status says they do or says nothing. The Deployment controller writes it (apps/v1 DeploymentStatus,
    kubernetes/api types.go): `replicas` counts the non-terminated pods the Deployment targets, `updatedReplicas`
    those of its current template (omitted when 0), `observedGeneration` the spec it last acted on. Pods of an earlier
    template run on while a rollout is under way, stuck (new pods crash-looping: Progressing False,
    ProgressDeadlineExceeded) or paused: an in-place upgrade whose new istiod never came up leaves the old release
    serving under a template that names the new one."""
    status = dep.get("status")
    if not isinstance(status, dict) or not status:
        return ""
    generation = _count((dep.get("metadata") or {}).get("generation"))
    observed = _count(status.get("observedGeneration"))
    if generation is not None and observed is not None and observed < generation:
        return Phrase(N_("the Deployment controller has not acted on its current template yet (observedGeneration "
                         "{observed} < generation {generation}): its pods may run an earlier one"),
                      observed=observed, generation=generation)
    replicas = _count(status.get("replicas"))
    updated = _count(status.get("updatedReplicas")) or 0
    if replicas and updated < replicas:
        return Phrase(N_("its rollout is not finished: {updated} of {replicas} istiod pod(s) run its current "
                         "template, the others an earlier one, whose version is not read"),
                      updated=updated, replicas=replicas)
    return ""


def desired_available(kind: K.Kind, obj: dict[str, Any]) -> tuple[int | None, int | None]:
    """(pods desired, pods available) of a Deployment, StatefulSet or DaemonSet as its controller's status tells it;
    None where a count is not a number. An absent availableReplicas is 0 (`omitempty`: kubernetes/api apps/v1
    types.go), as kubectl writes a Deployment with no pod available."""
    return _desired_available(kind, obj.get("spec") or _NONE, obj.get("status") or _NONE)


def counts_short(obj: dict[str, Any]) -> bool:
    """Whether a Deployment's (or StatefulSet's) counts may show a shortfall: all _of_kind reads of most objects.
    The inventory's walk of the Deployments' metadata asks it while each piece is in cache (short_memo_key).
    Never False where _desired_available would find one: a null replicas is 1, not equal to a null count."""
    spec, status = obj.get("spec") or _NONE, obj.get("status") or _NONE
    return status.get("availableReplicas") != _or(spec.get("replicas"), 1)


def short_memo_key(objects: list[dict[str, Any]]) -> tuple[Any, ...]:
    """The memo key of the Deployments counts_short says yes to, for this list of them (as labelled._memo_key)."""
    return "short_deployments", id(objects), len(objects)


def shortfalls(cluster: ClusterInventory, asm_workloads: set[WorkloadKey]) -> tuple[list[Shortfall], dict[str, str]]:
    """The moved workloads (template labelled sidecar.asm.aliyun.com/inject=true, or a workload of `asm_workloads`)
    with fewer available pods than desired; and the kinds that could not be read (kind -> why)."""
    found: list[Shortfall] = []
    unread: dict[str, str] = {}
    for kind in KINDS:
        if not cluster.available(kind):
            unread[K.workload_kind(kind)] = cluster.unread_reason(kind)
            continue
        objects = cluster.objects(kind)
        if kind is K.DEPLOYMENT and cluster.memoised(short_memo_key(objects)):
            objects = cluster.memo(short_memo_key(objects), list)[0]  # the Deployments' shared walk picked them
        found.extend(_of_kind(objects, kind, asm_workloads))
    if cluster.available(K.REPLICASET):  # unread, the pods' workloads are no owner's either (inventory._workloads)
        found.extend(_foreign_owners(cluster, asm_workloads))
    return found, unread


def _foreign_owners(cluster: ClusterInventory, asm_workloads: set[WorkloadKey]) -> Iterable[Shortfall]:
    """The moved owners of kinds not read (an Argo Rollout) short of their pods, by the ReplicaSets they own
    (istio.foreign_owned: inventory.slim keeps their template and replicas): desired, the replicas the owner gives its
    ReplicaSets (argo-rollouts@v1.9.1 rollout/replicaset.go scales them; the sum is the Rollout's replicas, plus a
    surge while it rolls); available, their ready pods (ReplicaSetStatus readyReplicas: slim keeps no
    availableReplicas); moved, its newest live template labelled for ASM or its pods on ASM's proxy."""
    for (namespace, kind_name, name), owned in istio.foreign_owned(cluster, K.REPLICASET).items():
        desired = available = 0
        for rs, _ in owned:
            spec, status = rs.get("spec") or _NONE, rs.get("status") or _NONE
            wanted, ready = _count(spec.get("replicas")), _count(_or(status.get("readyReplicas"), 0))
            if wanted is None or ready is None:
                break  # a count that is no number: not judged
            desired += wanted
            available += ready
        else:
            if available >= desired:
                continue
            _, template = max(istio.live_replicasets(owned), key=lambda p: str(
                (p[0].get("metadata") or {}).get("creationTimestamp") or ""))
            labels = (template.get("metadata") or _NONE).get("labels") or _NONE
            marked = labels.get(mesh.ASM_INJECT_LABEL) == "true"
            key = (namespace, kind_name, name)
            if marked or key in asm_workloads:
                yield Shortfall(*key, desired, available, "", marked)


def _of_kind(objects: Iterable[dict[str, Any]], kind: K.Kind, asm_workloads: set[WorkloadKey]) -> Iterable[Shortfall]:
    daemons = kind is K.DAEMONSET or kind is K.ADVANCED_DAEMONSET
    kind_name = K.workload_kind(kind)  # its pods' workload kind (inventory._resolve_owners)
    for obj in objects:
        # The counts first, inline: most workloads have every pod available, and their templates are not read
        # (~10,000 Deployments and StatefulSets at 50k pods, read cold by the time the checks run).
        if not daemons and not counts_short(obj):
            continue
        spec, status = obj.get("spec") or _NONE, obj.get("status") or _NONE
        desired, available = _desired_available(kind, spec, status)
        if desired is None or available is None or available >= desired:
            continue
        meta = obj.get("metadata") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        marked = labels.get(mesh.ASM_INJECT_LABEL) == "true"
        key = (meta.get("namespace", ""), kind_name, meta.get("name", ""))
        if not marked and key not in asm_workloads:
            continue  # not moved: its pods, if any, are judged by the Istio checks
        yield Shortfall(*key, desired, available, _why(status), marked)


# The namespaces Istio's injector never injects, whatever the labels (istio/istio@1.30.3 pkg/kube/inject/initializer.go
# IgnoredNamespaces, read by inject.go injectRequired).
NEVER_INJECTED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})
_TEMPLATE_KINDS = {K.workload_kind(kind): kind for kind in (*KINDS, K.JOB)}


def never_injected(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> bool:
    """Whether no Istio-derived injector gives the pods of this workload a proxy whatever their labels ask: its
    namespace is one injectRequired ignores, or its pod template (read where its kind was) sets hostNetwork, which
    injectRequired skips first (istio/istio@1.30.3 pkg/kube/inject/inject.go). A label asking for ASM's proxy on such a
    workload changes nothing: its pods were outside the mesh under Istio too."""
    if namespace in NEVER_INJECTED_NAMESPACES:
        return True
    spec = _template_of(cluster, kind_name, namespace, name).get("spec")
    return isinstance(spec, dict) and spec.get("hostNetwork") is True


def _template_of(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> dict[str, Any]:
    """The workload's pod template, read where its kind was; {} when its kind has none here or was not read, or
    the object or its template is missing."""
    if kind_name == "Rollout":  # an Argo Rollout, read where its CRD is: its own template or its workloadRef's
        obj = cluster.get(K.ARGO_ROLLOUT, name, namespace) if cluster.available(K.ARGO_ROLLOUT) else None
        return (rollout_template(cluster, obj) if isinstance(obj, dict) else None) or _NONE
    kind = _TEMPLATE_KINDS.get(kind_name)
    if kind is None or not cluster.available(kind):
        return _NONE
    obj = cluster.get(kind, name, namespace)
    return (istio.pod_template(kind, obj) if isinstance(obj, dict) else None) or _NONE


def opts_out_of_injection(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> bool:
    """Whether the workload's pod template (read where its kind was) opts out of injection with
    `sidecar.istio.io/inject: "false"`, the label winning over the annotation. Every injector here honours it: Istio's
    webhook objectSelector leaves such pods out and injectRequired skips them (istio/istio@1.30.3 manifests/charts/
    istio-control/istio-discovery/templates/mutatingwebhook.yaml, pkg/kube/inject/inject.go), and ASM injects a pod
    only if it does not carry it, under either of its injection policies (ASM docs "Configure sidecar injection
    policies", help.aliyun.com/document_detail/186136; no exception for sidecar.asm.aliyun.com/inject is documented).
    Its pods ran no proxy under Istio either: the template's own choice, not a move that failed. False when the
    template is not read or says anything else."""
    meta = _template_of(cluster, kind_name, namespace, name).get("metadata")
    if not isinstance(meta, dict):
        return False
    labels, notes = meta.get("labels"), meta.get("annotations")
    labels = labels if isinstance(labels, dict) else _NONE
    notes = notes if isinstance(notes, dict) else _NONE
    value = labels[INJECT] if INJECT in labels else notes.get(INJECT)
    return isinstance(value, str) and value.strip().lower() == "false"


INJECT = "sidecar.istio.io/inject"


# ---------------------------------------------------------------- what moves a workload's pods
# A template change (ASM's label, `kubectl rollout restart`'s annotation) recreates the pods of a built-in workload
# only when its update strategy rolls them (kubernetes/api@v0.31.0 apps/v1/types.go): a paused Deployment
# (DeploymentSpec.paused) rolls none until resumed, and `kubectl rollout restart` refuses it
# (kubernetes/kubectl@v0.31.14 pkg/polymorphichelpers/objectrestarter.go: "can't restart paused deployment (run rollout
# resume first)"); a
# StatefulSet or DaemonSet of updateStrategy OnDelete recreates a pod from its current template only when the pod is
# deleted; a StatefulSet's RollingUpdate partition leaves the pods of ordinal below it untouched ("All pods from ordinal
# Partition-1 to 0 remain untouched"), recreated from the earlier revision even when deleted.
# OpenKruise's have the same holds, written elsewhere (openkruise/kruise@v1.9.0): an Advanced StatefulSet's
# updateStrategy.type OnDelete, rollingUpdate.paused and rollingUpdate.partition (ordinals, as the built-in's:
# apis/apps/v1beta1/statefulset_types.go); an Advanced DaemonSet's type OnDelete, rollingUpdate.paused and
# rollingUpdate.partition ("The number of DaemonSet pods remained to be old version": daemonset_types.go); a CloneSet's
# updateStrategy.paused and updateStrategy.partition ("the desired number of pods in old revisions", an int or a
# percent: apis/apps/v1alpha1/cloneset_types.go). `kubectl kruise rollout restart` restarts CloneSets only
# (openkruise/kruise-tools@v1.2.2 pkg/internal/polymorphichelpers/objectrestarter.go), and none of them while held.
HOLD_PAUSED = "paused"
HOLD_STRATEGY_PAUSED = "updateStrategy paused"  # OpenKruise's
HOLD_ON_DELETE = "OnDelete"
# An Argo Rollout's (argoproj/argo-rollouts@v1.8.4): paused (spec.paused, or status.pauseConditions the controller adds
# at a canary `pause` step, an inconclusive analysis or a blue-green pre-promotion: rollout/sync.go isPaused), or an
# update not promoted yet (status.currentPodHash, its template's ReplicaSet, not status.stableRS: the canary's setWeight
# steps under way). Its stable ReplicaSet keeps the earlier template's pods meanwhile, and `kubectl argo rollouts
# restart` recreates each pod from its own ReplicaSet's template (rollout/restart.go deletes them), so only a promotion
# moves them: `kubectl argo rollouts promote` clears spec.paused and the pause conditions (pkg/kubectl-argo-rollouts/
# cmd/promote/promote.go; the v1.8 plugin has no `resume`), `--full` skips the remaining steps, pauses and analysis.
HOLD_ROLLOUT_PAUSED = "Rollout paused"
HOLD_ROLLOUT_STEPS = "Rollout update not promoted"
_ROLLOUT_HOLDS = frozenset({HOLD_ROLLOUT_PAUSED, HOLD_ROLLOUT_STEPS})
# The label the Rollout controller puts on each ReplicaSet it makes, its template's hash (status.stableRS and
# currentPodHash name ReplicaSets by it: pkg/apis/rollouts/v1alpha1/types.go DefaultRolloutUniqueLabelKey).
ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash"
_PARTITION = "partition "  # the pods of ordinal below it are kept (StatefulSets)
_KEPT = "kept "            # that many pods (or percent) are kept (a CloneSet's, an Advanced DaemonSet's partition)
_HOLD_KINDS = {"Deployment": K.DEPLOYMENT, "StatefulSet": K.STATEFULSET, "DaemonSet": K.DAEMONSET,
               "CloneSet": K.CLONESET, K.workload_kind(K.ADVANCED_STATEFULSET): K.ADVANCED_STATEFULSET,
               K.workload_kind(K.ADVANCED_DAEMONSET): K.ADVANCED_DAEMONSET, "Rollout": K.ARGO_ROLLOUT}
_ROLLOUT_STATUS_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})  # what `kubectl rollout status` reads
# Advice before the commands that release the hold (catalog comments: said in the report's language).
PAUSED_NOTE = N_("Its rollout is paused (spec.paused): no template change rolls a pod until it is resumed, and "
                 "`kubectl rollout restart` refuses it; resuming also rolls out whatever else was changed while it was "
                 "paused:")
STRATEGY_PAUSED_NOTE = N_("Its update strategy is paused (OpenKruise's updateStrategy paused): no template change "
                          "rolls a pod until it is unpaused; unpausing also rolls out whatever else was changed while "
                          "it was paused:")
ON_DELETE_NOTE = N_("Its updateStrategy is OnDelete: a template change (or `kubectl rollout restart`) recreates no "
                    "pod; each pod moves when it is deleted, one at a time:")
PARTITION_NOTE = N_("Its rolling update's partition keeps the pods of ordinal below it on their earlier template, even "
                    "when deleted: lower it to 0 (or let the tool that set it finish its rollout):")
KEPT_NOTE = N_("Its update strategy's partition keeps that many of its pods on their earlier template: lower it to 0 "
               "(or let the tool that set it finish its rollout):")
UNFINISHED_NOTE = N_("Its template already asks for ASM's proxy and its controller has not replaced these pods yet (a "
                     "rollout under way, or stuck): see why:")
ROLLOUT_PAUSED_NOTE = N_("Its Argo Rollout is paused (spec.paused, or at a canary pause step or a blue-green "
                        "pre-promotion): its stable ReplicaSet keeps the earlier template's pods, and `kubectl argo "
                        "rollouts restart` recreates them from that same template; promote it (once per pause step, or "
                        "--full to skip the remaining steps, pauses and analysis):")
ROLLOUT_STEPS_NOTE = N_("Its Argo Rollout's update is not promoted yet (its canary steps are under way): its stable "
                       "ReplicaSet keeps the earlier template's pods until the last step; see which step it is at:")
ROLLOUT_TEMPLATE_NOTE = N_("Argo Rollouts rolls the labelled template out by the Rollout's strategy (its canary steps "
                           "or blue-green promotion); see which step it is at:")
# The step after `kubectl argo rollouts get rollout`: promote only where it waits. Not paused, promote moves
# status.currentStepIndex on (pkg/kubectl-argo-rollouts/cmd/promote/promote.go), skipping a setWeight step or an
# analysis under way; and `kubectl argo rollouts status` returns only once Healthy or Degraded (at a pause it times
# out), so it cannot gate it.
PROMOTE_WHEN_NOTE = N_("Only when that shows it Paused (a canary pause step or a blue-green pre-promotion), promote "
                       "it, once per pause step; while a setWeight step or an analysis is under way, wait and look "
                       "again (a promotion then skips it; --full skips every remaining step, pause and analysis):")
# Why AA1241's pods stay on an earlier template (its message).
HELD_WHY = {HOLD_PAUSED: N_("its rollout is paused (spec.paused), so the labelled template rolls out no pod"),
            HOLD_STRATEGY_PAUSED: N_("its update strategy is paused (OpenKruise's updateStrategy paused), so the "
                                     "labelled template rolls out no pod"),
            HOLD_ON_DELETE: N_("its updateStrategy is OnDelete, so a pod moves only when it is deleted"),
            HOLD_ROLLOUT_PAUSED: N_("its Argo Rollout is paused (spec.paused, a canary pause step or a blue-green "
                                    "pre-promotion), so its stable ReplicaSet keeps the earlier template"),
            HOLD_ROLLOUT_STEPS: N_("its Argo Rollout's update is not promoted yet (canary steps under way), so its "
                                   "stable ReplicaSet keeps the earlier template"),
            "": N_("its controller has not replaced them yet (a rollout under way or stuck)")}
PARTITION_WHY = N_("its rolling update's partition {partition} keeps the pods of ordinal below it on their earlier "
                   "template")
KEPT_WHY = N_("its update strategy's partition {partition} keeps that many of its pods on their earlier template")


def _kept(value: Any) -> str:
    """An OpenKruise partition (an int or a percent) that keeps pods, as written; "" when it keeps none."""
    count = _count(value)
    if count is not None:
        return str(count) if count > 0 else ""
    if isinstance(value, str) and value.strip() not in ("", "0", "0%"):
        return value.strip()
    return ""


def update_hold(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    """What keeps the workload's pods on an earlier template whatever its template says: HOLD_PAUSED,
    HOLD_STRATEGY_PAUSED, HOLD_ON_DELETE, "partition N" (N > 0), "kept N" (N pods or N%), or "" (none, or its object
    not read)."""
    kind = _HOLD_KINDS.get(kind_name)
    if kind is None or not cluster.available(kind):
        return ""
    obj = cluster.get(kind, name, namespace)
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if not isinstance(spec, dict):
        return ""
    if kind is K.DEPLOYMENT:
        return HOLD_PAUSED if spec.get("paused") is True else ""
    if kind is K.ARGO_ROLLOUT:
        return rollout_hold(obj)
    strategy = spec.get("updateStrategy")
    strategy = strategy if isinstance(strategy, dict) else _NONE
    if kind is K.CLONESET:
        if strategy.get("paused") is True:
            return HOLD_STRATEGY_PAUSED
        kept = _kept(strategy.get("partition"))
        return f"{_KEPT}{kept}" if kept else ""
    if strategy.get("type") == "OnDelete":
        return HOLD_ON_DELETE
    rolling = strategy.get("rollingUpdate")
    rolling = rolling if isinstance(rolling, dict) else _NONE
    if kind is K.DAEMONSET:
        return ""
    if rolling.get("paused") is True:  # OpenKruise's (the built-in StatefulSet has no such field)
        return HOLD_STRATEGY_PAUSED
    if kind is K.ADVANCED_DAEMONSET:
        kept = _kept(rolling.get("partition"))
        return f"{_KEPT}{kept}" if kept else ""
    partition = _count(rolling.get("partition"))
    return f"{_PARTITION}{partition}" if partition else ""


def rollout_hold(obj: dict[str, Any]) -> str:
    """What keeps an Argo Rollout's pods on its stable ReplicaSet's template: HOLD_ROLLOUT_PAUSED (spec.paused, or
    pause conditions: rollout/sync.go isPaused), HOLD_ROLLOUT_STEPS (status.currentPodHash is not status.stableRS:
    an update not promoted yet), or ""."""
    spec, status = obj.get("spec"), obj.get("status")
    spec = spec if isinstance(spec, dict) else _NONE
    status = status if isinstance(status, dict) else _NONE
    if spec.get("paused") is True or status.get("pauseConditions"):
        return HOLD_ROLLOUT_PAUSED
    stable, current = status.get("stableRS"), status.get("currentPodHash")
    if isinstance(stable, str) and stable and isinstance(current, str) and current and stable != current:
        return HOLD_ROLLOUT_STEPS
    return ""


def rollout_template(cluster: ClusterInventory, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template an Argo Rollout makes its ReplicaSets from: its spec.template, or with spec.workloadRef that of
    the Deployment it names (rollout/templateref.go copies it; the Rollout's own template is then empty), None when
    that Deployment is not read or has none."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    ref = spec.get("workloadRef")
    if isinstance(ref, dict) and ref.get("name"):
        if ref.get("kind") != "Deployment" or not cluster.available(K.DEPLOYMENT):
            return None
        namespace = str((obj.get("metadata") or _NONE).get("namespace") or "")
        deployment = cluster.get(K.DEPLOYMENT, str(ref["name"]), namespace)
        return istio.pod_template(K.DEPLOYMENT, deployment) if isinstance(deployment, dict) else None
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def rollout_workload_ref(cluster: ClusterInventory, namespace: str, name: str) -> str:
    """The name of the Deployment an Argo Rollout (read) takes its template from (spec.workloadRef), "" for none."""
    if not cluster.available(K.ARGO_ROLLOUT):
        return ""
    obj = cluster.get(K.ARGO_ROLLOUT, name, namespace)
    spec = obj.get("spec") if isinstance(obj, dict) else None
    ref = spec.get("workloadRef") if isinstance(spec, dict) else None
    return str(ref.get("name") or "") if isinstance(ref, dict) and ref.get("kind") == "Deployment" else ""


def _argo(cluster: str, verb: str, namespace: str, name: str) -> str:
    """A `kubectl argo rollouts` command on one Rollout (the plugin takes the kubeconfig from the environment; `--`
    ends its options, so a Rollout named `--all` stays a name: mesh._PLUGIN_RESTARTS)."""
    return f"KUBECONFIG={mesh.kubeconfig_var(cluster)} kubectl argo rollouts {verb} {mesh.ns_flag(namespace)} -- " \
           f"{mesh.sh(name)}"


def deployment_replicasets(cluster: ClusterInventory) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(namespace, Deployment name) -> the ReplicaSets it controls (read), once per cluster. Asked only for a paused
    Deployment that runs no pod (idle._paused_deployment): one walk of the ReplicaSets then."""
    def build() -> dict[tuple[str, str], list[dict[str, Any]]]:
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rs in cluster.objects(K.REPLICASET):
            meta = rs.get("metadata")
            owner = controller_owner(meta) if isinstance(meta, dict) else None
            if owner and owner[0] == "Deployment":
                out.setdefault((str(meta.get("namespace") or ""), str(owner[1])), []).append(rs)
        return out
    return cluster.memo("deployment_replicasets", build)


def _rollout_release(cluster: ClusterInventory, namespace: str, name: str, hold: str) -> str:
    """What moves the pods of a held Argo Rollout to its current template: its promotion (a paused one), or its
    state shown and a promotion only where it waits (an update under way: _gated_promote)."""
    if hold == HOLD_ROLLOUT_PAUSED:
        return f"# {ROLLOUT_PAUSED_NOTE}\n{_argo(cluster.name, 'promote', namespace, name)}"
    return f"# {ROLLOUT_STEPS_NOTE}\n{_gated_promote(cluster, namespace, name)}"


def _gated_promote(cluster: ClusterInventory, namespace: str, name: str) -> str:
    """An Argo Rollout's state shown, then its promotion as a step run only where it waits (PROMOTE_WHEN_NOTE)."""
    return (f"{_argo(cluster.name, 'get rollout', namespace, name)}\n# {PROMOTE_WHEN_NOTE}\n"
            f"{_argo(cluster.name, 'promote', namespace, name)}")


def hold_why(hold: str) -> Phrase:
    """Why AA1241's pods stay on an earlier template, said for its message."""
    if hold.startswith(_PARTITION):
        return Phrase(PARTITION_WHY, partition=hold[len(_PARTITION):])
    if hold.startswith(_KEPT):
        return Phrase(KEPT_WHY, partition=hold[len(_KEPT):])
    return Phrase(HELD_WHY[hold])


def _strategy_patch(kind_name: str, field: str, value: str) -> str:
    """A merge patch of one field of the update strategy: a CloneSet's updateStrategy.<field>, the others'
    updateStrategy.rollingUpdate.<field>."""
    inner = '{"' + field + '":' + value + "}"
    if kind_name != "CloneSet":
        inner = '{"rollingUpdate":' + inner + "}"
    return '{"spec":{"updateStrategy":' + inner + "}}"


def _release(cluster: ClusterInventory, kind_name: str, namespace: str, name: str, hold: str,
             template_changed: bool) -> str:
    """The commands that recreate the pods of a held workload from its current template (after a template change, or
    recreating them as a restart would)."""
    if hold in _ROLLOUT_HOLDS:
        return _rollout_release(cluster, namespace, name, hold)
    k = mesh.kubectl_in(cluster.name, namespace)
    ref = mesh.object_ref(mesh.template_resource(kind_name) or kind_name.lower(), name)
    if hold == HOLD_ON_DELETE:
        return f"# {ON_DELETE_NOTE}\n" + mesh.delete_owned_pods(cluster.name, mesh.pod_owner_kind(kind_name),
                                                                namespace, name, ask=True)
    # Released, the pods still need a template change to move when none was made (a restart).
    restart = "" if template_changed else "\n" + _restart(cluster, kind_name, namespace, name)
    if hold == HOLD_PAUSED:
        return f"# {PAUSED_NOTE}\n{k} rollout resume {ref}" + restart
    if hold == HOLD_STRATEGY_PAUSED:
        note, patch = STRATEGY_PAUSED_NOTE, _strategy_patch(kind_name, "paused", "false")
    else:
        note = KEPT_NOTE if hold.startswith(_KEPT) else PARTITION_NOTE
        patch = _strategy_patch(kind_name, "partition", "0")
    return f"# {note}\n{k} patch {ref} --type='merge' -p '{patch}'" + restart


def _restart(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    """The command that recreates a workload's pods (no hold in the way), its controller rolling them where it can:
    an Advanced StatefulSet or DaemonSet whose update recreates pods (podUpdatePolicy ReCreate, rollingUpdateType
    Standard or Surging) gets its template's restartedAt annotation changed, as `kubectl rollout restart` does (no
    restart verb exists for them); updated in place, a template annotation keeps the pods and their sidecar, so they
    are deleted one at a time, asking (mesh.restart_command), as where the object is not read."""
    kind = _HOLD_KINDS.get(kind_name)
    if kind is K.ADVANCED_STATEFULSET or kind is K.ADVANCED_DAEMONSET:
        obj = cluster.get(kind, name, namespace) if cluster.available(kind) else None
        spec = obj.get("spec") if isinstance(obj, dict) else None
        strategy = spec.get("updateStrategy") if isinstance(spec, dict) else None
        rolling = strategy.get("rollingUpdate") if isinstance(strategy, dict) else None
        rolling = rolling if isinstance(rolling, dict) else _NONE
        policy = rolling.get("podUpdatePolicy" if kind is K.ADVANCED_STATEFULSET else "rollingUpdateType")
        if isinstance(spec, dict) and (policy is None or policy in ("ReCreate", "Standard", "Surging")):
            return (f"{mesh.kubectl_in(cluster.name, namespace)} patch "
                    f"{mesh.object_ref(mesh.template_resource(kind_name) or '', name)} --type='merge' -p "
                    f"{mesh.RESTARTED_AT_PATCH}")
    return mesh.restart_command(cluster.name, kind_name, namespace, name)


def restart_command(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    """mesh.restart_command, for a workload whose update strategy holds its pods (update_hold) the commands that do
    recreate them, and for an OpenKruise Advanced StatefulSet or DaemonSet its controller's rolling update where it
    recreates pods (_restart)."""
    hold = update_hold(cluster, kind_name, namespace, name)
    # A held Argo Rollout still restarts: its controller recreates each pod from the ReplicaSet that made it.
    if not hold or hold in _ROLLOUT_HOLDS:
        return _restart(cluster, kind_name, namespace, name)
    return _release(cluster, kind_name, namespace, name, hold, template_changed=False)


def labelled_restart_command(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    """What recreates the pods of a workload whose template is taken as labelled for ASM already: restart_command,
    but for a held Argo Rollout its release (promote): `kubectl argo rollouts restart` recreates each pod from its own
    ReplicaSet (argoproj/argo-rollouts@v1.8.4 rollout/restart.go), the stable one's from the earlier template, and
    with its own template not labelled after all (a canary's was), the label first (inject_command)."""
    hold = update_hold(cluster, kind_name, namespace, name) if kind_name == "Rollout" else ""
    if hold not in _ROLLOUT_HOLDS:
        return restart_command(cluster, kind_name, namespace, name)
    if template_asks_asm(cluster, kind_name, namespace, name):
        return unfinished_command(cluster, kind_name, namespace, name, hold)
    return inject_command(cluster, kind_name, namespace, name)


def inject_command(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    """mesh.asm_inject_command, followed for a held workload (update_hold) by what moves its pods: the patch alone
    moves none (paused, OnDelete) or only some (partition)."""
    # Asked of the same workload by istio-sidecars-remaining and restart-risk (~5,000 workloads each at 50k pods),
    # each answer looking up its owner, its Knative Revision and its hold: one answer per workload and cluster.
    answers: dict[tuple[str, str, str], str] = cluster.memo("inject_commands", dict)
    key = (kind_name, namespace, name)
    answer = answers.get(key)
    if answer is None:
        answer = answers[key] = _inject_command(cluster, kind_name, namespace, name)
    return answer


def _inject_command(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str:
    knative = knative_owner(cluster, kind_name, namespace, name)
    if knative is not None:  # its Deployment is its Revision's: the label goes on the Knative Service's template
        return knative_inject_command(cluster.name, namespace, knative)
    if kind_name == "Rollout" and cluster.available(K.ARGO_ROLLOUT) and cluster.get(K.ARGO_ROLLOUT, name, namespace):
        return _rollout_inject_command(cluster, namespace, name)
    command = mesh.asm_inject_command(cluster.name, kind_name, namespace, name)
    hold = update_hold(cluster, kind_name, namespace, name)
    if not hold:
        return command
    return command + "\n" + _release(cluster, kind_name, namespace, name, hold, template_changed=True)


def _rollout_inject_command(cluster: ClusterInventory, namespace: str, name: str) -> str:
    """ASM's label on an Argo Rollout's template (read): its own spec.template, or with spec.workloadRef the
    Deployment's, which the Rollout controller copies into a new ReplicaSet (rollout/templateref.go); then its
    strategy rolls it out, and a held Rollout is promoted (a template change of a paused one rolls nothing)."""
    k = mesh.kubectl_in(cluster.name, namespace)
    deployment = rollout_workload_ref(cluster, namespace, name)
    ref = mesh.object_ref("deployment", deployment) if deployment else mesh.object_ref("rollouts.argoproj.io", name)
    patch = f"{k} patch {ref} --type='merge' -p '{mesh._INJECT_TEMPLATE_PATCH}'"
    hold = update_hold(cluster, "Rollout", namespace, name)
    if hold:
        return patch + "\n" + _rollout_release(cluster, namespace, name, hold)
    return f"{patch}\n# {ROLLOUT_TEMPLATE_NOTE}\n{_gated_promote(cluster, namespace, name)}"


def template_asks_asm(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> bool:
    """Whether the workload's pod template (read where its kind was) carries ASM's injection label."""
    meta = _template_of(cluster, kind_name, namespace, name).get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return isinstance(labels, dict) and labels.get(mesh.ASM_INJECT_LABEL) == "true"


def unfinished_command(cluster: ClusterInventory, kind_name: str, namespace: str, name: str, hold: str) -> str:
    """AA1241's remediation: the pods of a workload whose template already asks for ASM's proxy are of an earlier
    template. A held one is released; else its rollout is watched and why its new pods do not come is shown."""
    if hold:
        return _release(cluster, kind_name, namespace, name, hold, template_changed=True)
    if kind_name == "Rollout" and cluster.available(K.ARGO_ROLLOUT):
        return _rollout_release(cluster, namespace, name, HOLD_ROLLOUT_STEPS)
    if kind_name not in _ROLLOUT_STATUS_KINDS:  # no `kubectl rollout status` of it: recreating its pods gives them its
        return restart_command(cluster, kind_name, namespace, name)  # template
    k, ref = mesh.kubectl_in(cluster.name, namespace), mesh.object_ref(kind_name.lower(), name)
    return (f"# {UNFINISHED_NOTE}\n{k} rollout status {ref} --timeout=300s\n{k} describe {ref}\n"
            f"{k} get events --field-selector reason=FailedCreate")


# ---------------------------------------------------------------- Knative Serving's Revisions
# A Revision's Deployment (knative/serving@knative-v1.23.0 pkg/reconciler/revision/resources/deploy.go MakeDeployment:
# controller reference to the Revision, serving.knative.dev/v1; labels serving.knative.dev/revision, /configuration and,
# made by a Knative Service, /service, from the Revision's: meta.go makeLabels) is put back to what its Revision says
# (pkg/reconciler/revision/cruds.go checkAndUpdateDeployment: before knative-v1.21.0 every spec difference, a template
# label among them, is reverted), and a Revision's spec never changes: the template to label is its Knative Service's
# (or bare Configuration's) spec.template, which makes a new Revision.
KNATIVE_GROUP = "serving.knative.dev"
KNATIVE_SERVICE_LABEL = "serving.knative.dev/service"
KNATIVE_CONFIGURATION_LABEL = "serving.knative.dev/configuration"
# The labeler's word on whether a Route's traffic names the Revision (pkg/apis/serving/v1/revision_helpers.go
# RoutingState): "reserve" once none does, "active" while one does, "pending" before it is decided.
ROUTING_STATE_LABEL = "serving.knative.dev/routingState"
ROUTING_RESERVE = "reserve"
KNATIVE_NOTE = N_("Knative's Revision made this Deployment and puts its template back (a Revision never changes): "
                  "label the pod template of its Knative Service (or Configuration), which makes a new Revision; a "
                  "Route whose traffic names this Revision keeps sending it requests until it names the new one "
                  "(latestRevision: true):")


@dataclass(frozen=True, slots=True)
class KnativeOwner:
    revision: str
    service: str        # the Knative Service whose template made it ("" for a bare Configuration's)
    configuration: str


def knative_owner(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> KnativeOwner | None:
    """The Knative Revision that controls a Deployment (its controller reference), None for any other workload or
    with the Deployments unread."""
    if kind_name != "Deployment" or not cluster.available(K.DEPLOYMENT):
        return None
    obj = cluster.get(K.DEPLOYMENT, name, namespace)
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return knative_owner_of(meta) if isinstance(meta, dict) else None


def knative_owner_of(meta: dict[str, Any]) -> KnativeOwner | None:
    """knative_owner, from a Deployment's metadata."""
    refs = meta.get("ownerReferences")
    if not refs:  # most Deployments
        return None
    for ref in refs:
        if not isinstance(ref, dict) or not ref.get("controller", True):
            continue
        if ref.get("kind") != "Revision" or not str(ref.get("apiVersion") or "").startswith(KNATIVE_GROUP + "/"):
            return None
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else _NONE
        return KnativeOwner(str(ref.get("name") or ""), str(labels.get(KNATIVE_SERVICE_LABEL) or ""),
                            str(labels.get(KNATIVE_CONFIGURATION_LABEL) or ""))
    return None


def routeless_revision(cluster: ClusterInventory, namespace: str, owner: KnativeOwner) -> bool:
    """Whether the Revision is read and no Route's traffic names it (routingState reserve): scaled to zero, it gets no
    pod again while none does (pkg/reconciler/revision/resources/pa.go reachability: Unreachable). False when the
    Revisions are unread, it is not among them, or its state is active, pending or not written."""
    if not cluster.available(K.KNATIVE_REVISION):
        return False
    obj = cluster.get(K.KNATIVE_REVISION, owner.revision, namespace)
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return isinstance(labels, dict) and labels.get(ROUTING_STATE_LABEL) == ROUTING_RESERVE


def knative_inject_command(cluster: str, namespace: str, owner: KnativeOwner) -> str:
    """ASM's label on the template of the Knative Service (or Configuration) that made a Revision's Deployment."""
    if owner.service:
        ref = mesh.object_ref("services.serving.knative.dev", owner.service)
    elif owner.configuration:
        ref = mesh.object_ref("configurations.serving.knative.dev", owner.configuration)
    else:
        return f"# {KNATIVE_NOTE}\n# Revision {mesh.sh_text(namespace)}/{mesh.sh_text(owner.revision)}"
    return (f"# {KNATIVE_NOTE}\n{mesh.kubectl_in(cluster, namespace)} patch {ref} --type='merge' -p "
            f"'{mesh._INJECT_TEMPLATE_PATCH}'")
