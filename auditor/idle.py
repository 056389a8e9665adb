"""Workloads that run no pod now, and which proxy their next pods get from the injector webhooks the cluster has.

`istio-sidecars-remaining` counts pods; a Deployment or StatefulSet scaled to zero (KEDA's or an HPA's scale-to-zero,
a paused environment), a CronJob between runs (or suspended) and a DaemonSet no node runs show none. Their next pods
are injected when they are created, by the webhooks the cluster has then. During the migration Istio's injector takes
every pod its namespace or labels select unless the pod carries ASM's label (seed: "injected in Istio Sidecar by
default ... modify the Pod label to explicitly declare the injection of the ASM mesh proxy"); `istioctl uninstall
--purge` deletes Istio's injector webhooks (they carry operator.istio.io/component: Pilot, istio-discovery
templates/mutatingwebhook.yaml @1.24.6), after which such a pod is injected by nobody: it starts with no proxy, in a
mesh whose STRICT PeerAuthentication and AuthorizationPolicies its ASM-proxied peers enforce.

What is read is what decides admission: each MutatingWebhookConfiguration's webhooks, their namespaceSelector against
the namespace's labels and objectSelector against the pod template's labels (Kubernetes' label-selector rules), and
what Istio's injector itself skips after the webhook matched (injectRequired, pkg/kube/inject/inject.go @1.24.6:
hostNetwork pods, the namespaces kube-system and kube-public, `sidecar.istio.io/inject` false, the label winning over
the annotation). Not read: Istio's injector's neverInjectSelector/alwaysInjectSelector and its `policy: disabled`
(ConfigMap istio-sidecar-injector, key config). In injectRequired they only decide among the pods the webhook already
sent (alwaysInjectSelector, like sidecar.istio.io/inject=true, overrides `policy: disabled`; it cannot reach a pod no
webhook selects: istio/istio#30806), so they make Istio's injector take fewer pods than its webhooks select: an
AA1218 they would clear is a NO-GO on the safe side, never a GO. Istio's
sidecarInjectorWebhook.enableNamespacesByDefault is its `auto.sidecar-injector.istio.io` webhook, read like the others;
with the webhook configurations unread, a template that webhook would select (_istio_default_selects) is undecided like
one whose labels ask.

ASM's own injection policy (console "Sidecar Proxy injection", ASM docs document_detail/186136: the pod must meet the
namespace-label condition, which is what ASM's webhooks' namespaceSelector says, and a pod-level condition, "Not
include sidecar.istio.io/inject: "false"" or "Include sidecar.istio.io/inject: "true"") is read from
DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig.SidecarInjector.AutoInjectionPolicyEnabled (auditor/asm.
injection_policy): a template ASM's webhook selects is taken only when that policy is known to take it (asm_takes).
SidecarInjectorWebhookAsYaml is free YAML whose never/alwaysInjectSelector ASM documents no shape for: one naming a
neverInjectSelector leaves only a template that asks itself known taken.

Owners the pod frame does not resolve to a template kind of its own are judged by what they own: an Argo Rollout's
ReplicaSets (the Rollout itself is read for its hold and its template: _held_rollout, auditor/rollouts.py), a KEDA
ScaledJob's Jobs (RECURRING_JOB_OWNERS); OpenKruise's CloneSet and Advanced StatefulSet/DaemonSet are read (kinds.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditor import istio, mesh, rollouts
from auditor import kinds as K
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.inventory import ACTIVE_PHASES, WORKLOAD_KEY, ClusterInventory, workload_columns

# The kinds whose objects keep making pods from their own template while none runs. Jobs are left out (a Job that
# runs no pod has finished, or its pods were deleted: it makes none again); ReplicaSets are judged through their
# Deployment.
IDLE_KINDS: tuple[K.Kind, ...] = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.REPLICATIONCONTROLLER,
                                  K.CLONESET, *K.ADVANCED_KINDS)
# Owners of kinds the auditor does not read whose ReplicaSets or Jobs hold the only template of their pods it sees
# (inventory.slim keeps it: podwire.TEMPLATE_OWNER_KINDS). Any owner of ReplicaSets keeps making pods from the newest
# one (an Argo Rollout scaled to zero: argoproj/argo-rollouts@v1.9.1 rollout/sync.go createDesiredReplicaSet copies its
# template into a ReplicaSet it owns, kept at 0 replicas); of the owners of Jobs only those known to make Jobs again
# from one template: KEDA's ScaledJob (kedacore/keda@v2.20.2 pkg/scaling/executor/scale_jobs.go generateJobs copies
# spec.jobTargetRef into each Job it owns). A finished Job of anything else (a JobSet, a one-off) makes no pod again.
RECURRING_JOB_OWNERS = frozenset({"ScaledJob"})
# The namespaces Istio's injector never injects, whatever its webhook matched (kube.IgnoredNamespaces in
# pkg/kube/inject/webhook.go @1.24.6: kube-system, kube-public).
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public"})
# The namespaces the enableNamespacesByDefault webhook leaves out by name (istio-discovery
# templates/mutatingwebhook.yaml @1.24.6, the `auto.` webhook).
AUTO_EXCLUDED = frozenset({"kube-system", "kube-public", "kube-node-lease", "local-path-storage"})
SIDECAR_INJECT = "sidecar.istio.io/inject"
REV_LABEL = "istio.io/rev"
INJECTION_LABEL = "istio-injection"
_TRUE = frozenset({"y", "yes", "true", "on"})  # injectRequired's YAML booleans

# Who answers a webhook.
ISTIO = "istio"
ASM = "asm"
UNPROVEN = "unproven"

# Why a workload runs no pod (said in the finding's message).
SCALED_TO_ZERO = Phrase(N_("scaled to 0 replicas"))
JOBS_BETWEEN_RUNS = N_("a {kind} between runs: none of its Jobs runs a pod")
SUSPENDED = Phrase(N_("a suspended CronJob"))
BETWEEN_RUNS = Phrase(N_("a CronJob between runs"))
NO_NODE = Phrase(N_("a DaemonSet no node runs"))
NO_ACTIVE_POD = Phrase(N_("no pod of it is running or pending"))
# What asks for a sidecar (said in AA1219's message).
NAMESPACE_LABEL = N_("namespace label {label}")
TEMPLATE_LABEL = N_("template label {label}")


@dataclass(frozen=True)
class Injector:
    """One webhook of a MutatingWebhookConfiguration that injects sidecars."""

    config: str            # the configuration's name
    webhook: str           # the webhook's name
    owner: str             # ISTIO, ASM or UNPROVEN
    calls: str             # `<ns>/<service>` or the URL it calls
    namespace_selector: Any
    object_selector: Any

    @property
    def ref(self) -> str:
        return f"{self.config} ({self.webhook})"


@dataclass
class IdleWorkload:
    kind: str
    namespace: str
    name: str
    why: str
    labels: dict[str, str]
    asm_labelled: bool
    asks: list[str] = field(default_factory=list)      # what in its namespace or template asks for injection
    istio: list[str] = field(default_factory=list)     # Istio's injector webhooks that select it
    asm: list[str] = field(default_factory=list)       # ASM's
    unproven: list[str] = field(default_factory=list)  # injectors whose owner cannot be told
    undecided: str = ""  # why what selects it cannot be told (namespaces or webhooks unread)
    template_of: str = ""  # the object its template was read from, when not its own (a Rollout's ReplicaSet)
    asks_itself: bool = False  # its template carries sidecar.istio.io/inject=true (_asks_itself)
    # What holds its next pods on an earlier template than its own (rollouts.update_hold: a paused Deployment, a paused
    # or unpromoted Argo Rollout), "" for none: they are judged by that earlier template's labels (`template_of`).
    held: str = ""
    # The pod template it was judged by (for a caller that reads more of it than its labels).
    template: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnmeshedWorkload:
    """A workload whose active pods run no proxy although injection is asked for them (unmeshed_pods)."""

    kind: str
    namespace: str
    name: str
    pods: list[str]                                    # the first pods' names
    pod_count: int
    labels: dict[str, str]                             # its pod template's
    asm_labelled: bool
    asks: list[str]                                    # what in its namespace or template asks for injection
    istio: list[str] = field(default_factory=list)     # the injector webhooks that select its template now, by owner
    asm: list[str] = field(default_factory=list)
    unproven: list[str] = field(default_factory=list)
    # Other active pods of the same workload run a proxy: these were in the mesh's reach and lost it (made after an
    # injector went), not a workload that never joined the mesh.
    meshed_siblings: int = 0
    # Its newest pod was made after ASM's proxies came (or when that cannot be dated): made while only ASM's injector
    # could have given it a proxy, not in Istio's time.
    made_since_asm: bool = True


@dataclass
class UnmeshedReading:
    workloads: list[UnmeshedWorkload]
    undecided: list[tuple[str, str]]  # ("<kind> <namespace>/<name>", why whether injection is asked cannot be told)
    webhooks_unread: str = ""         # why the injector webhooks were not read (the findings cannot say who selects)
    # Of `undecided`, those whose workload shows it lost the mesh (pods with a proxy beside, or pods made since ASM's
    # proxies came); the others may never have joined it.
    undecided_meshed: list[str] = field(default_factory=list)
    asm_since: str = ""  # the creation time of the oldest active pod on ASM's proxy ("" when none)


@dataclass
class IdleReading:
    workloads: list[IdleWorkload]
    unread: dict[str, str]  # kind -> why it was not read (what the judgement needed)
    undecided: list[IdleWorkload] = field(default_factory=list)  # what `unread` leaves undecided
    # The workload kinds whose objects could not be read (kind -> why): a workload of theirs that runs no pod is not
    # seen at all (IDLE_KINDS; ReplicaSets and Jobs for the owners not read, _foreign_idle).
    kinds_unread: dict[str, str] = field(default_factory=dict)


def _is_injector(hook: dict[str, Any]) -> bool:
    """Whether a mutating webhook injects sidecars: Istio's and ASM's call istiod's `/inject` (path or URL), and are
    named `*sidecar-injector*` (mutatingwebhook.yaml @1.24.6; ASM's as ASM writes them)."""
    client = hook.get("clientConfig") if isinstance(hook.get("clientConfig"), dict) else {}
    service = client.get("service") if isinstance(client.get("service"), dict) else {}
    path = str(service.get("path") or "")
    url = str(client.get("url") or "")
    if not (path.startswith("/inject") or "/inject" in url or "sidecar-injector" in str(hook.get("name") or "")):
        return False
    rules = hook.get("rules")
    if not isinstance(rules, list) or not rules:
        return True  # the chart always writes its rule; none read is not taken as "no pods"
    for rule in rules:
        resources = rule.get("resources") if isinstance(rule, dict) else None
        if isinstance(resources, list) and any(r in ("pods", "*", "*/*") for r in resources):
            return True
    return False


def injectors(cluster: ClusterInventory) -> list[Injector]:
    """_injectors, once per cluster (the check asks it twice)."""
    return list(cluster.memo("idle_injectors", lambda: _injectors(cluster)))


def _injectors(cluster: ClusterInventory) -> list[Injector]:
    """Every sidecar-injecting webhook of the cluster with its owner: ASM's when its configuration carries ASM's marks
    or it calls a Service mesh.istiod_owners proves ASM's; Istio's when it calls one proven Istio's (or, with the
    Services/Deployments unread, its configuration carries Istio's install labels and no ASM mark); else unproven (a
    revision tag calling ASM's unmarked istiod, a URL)."""
    try:
        owners = cluster.istiod_owners()
    except EvidenceUnavailable:
        owners = {}
    out: list[Injector] = []
    for config in cluster.objects(K.MUTATING_WEBHOOK):
        meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        marked = mesh.asm_marked(meta) or labels.get("provider") == "asm"
        installed = mesh.istio_installed(meta)
        for hook in config.get("webhooks") or ():
            if not isinstance(hook, dict) or not _is_injector(hook):
                continue
            client = hook.get("clientConfig") if isinstance(hook.get("clientConfig"), dict) else {}
            service = client.get("service") if isinstance(client.get("service"), dict) else {}
            if service.get("name"):
                calls = f"{service.get('namespace') or ''}/{service['name']}"
                owner = owners.get(calls, (None, ""))[0]
            else:
                calls, owner = str(client.get("url") or ""), None
            if marked or owner == mesh.OWNER_ASM:
                who = ASM
            elif owner == mesh.OWNER_ISTIO or (owner is None and service.get("name") and installed and not owners):
                who = ISTIO
            else:
                who = UNPROVEN
            out.append(Injector(str(meta.get("name") or ""), str(hook.get("name") or ""), who, calls,
                                hook.get("namespaceSelector"), hook.get("objectSelector")))
    return out


def selector_matches(selector: Any, labels: dict[str, str]) -> bool | None:
    """Kubernetes' LabelSelector rule (an absent or empty selector matches everything); None for one that is not of
    the API's shape (the API server would have refused it: what it means is not guessed)."""
    if selector is None:
        return True
    if not isinstance(selector, dict):
        return None
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return None
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expr in expressions:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            return None
        key, op, values = expr["key"], expr.get("operator"), expr.get("values") or []
        if not isinstance(values, list):
            return None
        present = key in labels
        if op == "In":
            ok = present and labels[key] in values
        elif op == "NotIn":
            ok = not present or labels[key] not in values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            return None
        if not ok:
            return False
    return True


def _labels(obj: Any) -> dict[str, str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _why_idle(kind: K.Kind, obj: dict[str, Any]) -> str:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if kind is K.CRONJOB:
        return SUSPENDED if spec.get("suspend") is True else BETWEEN_RUNS
    if kind is K.DAEMONSET or kind is K.ADVANCED_DAEMONSET:
        return NO_NODE
    if spec.get("replicas") == 0 and not isinstance(spec.get("replicas"), bool):
        return SCALED_TO_ZERO
    return NO_ACTIVE_POD


def _inject_value(template: dict[str, Any]) -> Any:
    """What a pod template's `sidecar.istio.io/inject` says (the label winning over the annotation), None when
    neither is there."""
    meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    return labels[SIDECAR_INJECT] if SIDECAR_INJECT in labels else annotations.get(SIDECAR_INJECT)


def _opted_out(template: dict[str, Any]) -> bool:
    """injectRequired's per-pod answer when the pod says it itself: `sidecar.istio.io/inject` (label over
    annotation) set to anything but a YAML true, or hostNetwork."""
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    if spec.get("hostNetwork") is True:
        return True
    value = _inject_value(template)
    return value is not None and str(value).lower() not in _TRUE and str(value) != ""


def _asks_itself(template: dict[str, Any]) -> bool:
    """Whether a pod template asks for a sidecar in the pod-level condition of an injector whose policy injects only
    pods that ask (Istio's `policy: disabled`, ASM's "Include sidecar.istio.io/inject: "true""): injectRequired
    @1.24.6 reads `sidecar.istio.io/inject`, the label winning over the annotation, as a YAML true."""
    return str(_inject_value(template) or "").lower() in _TRUE


def asm_takes(w: IdleWorkload, only_asked: bool | None, label_taken: str | None = None) -> bool | None:
    """Whether ASM's injector, one of whose webhooks selects an idle workload's template, injects its next pods, by
    ASM's pod-level condition (auditor/asm.injection_policy: `only_asked`): True when the template asks itself
    (sidecar.istio.io/inject=true, taken under either condition) or ASM injects every selected pod not opting out, or,
    ASM's policy not read, when the template carries ASM's migration label and the cluster shows ASM took such a
    template (`label_taken`, asm_label_taken: what ASM did under the policy it has; a policy read as asking for more is
    not overruled by pods that may predate it); False when ASM injects only pods that ask and the template does not
    (ASM's documented condition is not met: that ASM's migration label sidecar.asm.aliyun.com/inject=true stands in for
    it is documented nowhere); None when ASM's policy is not known."""
    if w.asks_itself or only_asked is False or (only_asked is None and w.asm_labelled and label_taken):
        return True
    return None if only_asked is None else False


# How many workloads on ASM's proxy asm_label_taken looks at before it gives up (each a template read).
_LABEL_TAKEN_TRIES = 200


def asm_label_taken(cluster: ClusterInventory, pods: Any) -> str | None:
    """A workload whose active pods run ASM's sidecar although its template asks for it only by ASM's migration label
    (sidecar.asm.aliyun.com/inject=true, sidecar.istio.io/inject not true): "<kind> <namespace>/<name>", the proof that
    ASM's injector, under the policy it has, takes such templates; None when no workload shows it (a migration that
    moved nothing yet, templates unread)."""
    if pods is None or len(pods) == 0 or "asm_inject" not in pods:
        return None
    rows = (istio.among(pods["proxy"], (mesh.PROXY_ASM,)) & istio.among(pods["role"], (mesh.ROLE_SIDECAR,))
            & istio.among(pods["phase"], ACTIVE_PHASES) & pods["asm_inject"].to_numpy(dtype=bool))
    if not rows.any():
        return None
    key, codes, values = _workload_codes(pods, rows)
    _, first = np.unique(key, return_index=True)
    for at in first[:_LABEL_TAKEN_TRIES].tolist():
        namespace, kind, name = (str(v[c[at] - 1]) if c[at] else "" for c, v in zip(codes, values, strict=True))
        template, _ = pods_template(cluster, kind, namespace, name)
        if template is not None and _labels(template).get(mesh.ASM_INJECT_LABEL) == "true" \
                and not _asks_itself(template):
            return f"{kind} {namespace}/{name}"
    return None


def namespace_labels(cluster: ClusterInventory, namespace: str) -> dict[str, str]:
    """A namespace's labels (the Namespaces read). One the (complete) list does not show has no labels to select by:
    the API server admits no pod into a namespace that does not exist."""
    labels = _labels(cluster.get(K.NAMESPACE, namespace))
    labels.setdefault("kubernetes.io/metadata.name", namespace)  # the API server sets it (1.21+)
    return labels


def _istio_default_selects(namespace_labels: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether the webhook Istio adds with sidecarInjectorWebhook.enableNamespacesByDefault (`auto.sidecar-injector.
    istio.io`, istio-discovery templates/mutatingwebhook.yaml @1.24.6: namespaceSelector istio-injection and
    istio.io/rev DoesNotExist, kubernetes.io/metadata.name NotIn AUTO_EXCLUDED; objectSelector sidecar.istio.io/inject
    and istio.io/rev DoesNotExist) selects a pod of these labels: what no label asks for, Istio injects all the same
    where it was installed so."""
    return (INJECTION_LABEL not in namespace_labels and REV_LABEL not in namespace_labels
            and namespace_labels.get("kubernetes.io/metadata.name") not in AUTO_EXCLUDED
            and SIDECAR_INJECT not in labels and REV_LABEL not in labels)


def _asks(namespace_labels: dict[str, str], labels: dict[str, str]) -> list[str]:
    """What in a namespace's labels or a pod template's labels asks for a sidecar (the injection controls Istio's and
    ASM's injectors share, domain.md)."""
    out = []
    if namespace_labels.get(INJECTION_LABEL) == "enabled":
        out.append(Phrase(NAMESPACE_LABEL, label=f"{INJECTION_LABEL}=enabled"))
    elif INJECTION_LABEL not in namespace_labels and namespace_labels.get(REV_LABEL):
        out.append(Phrase(NAMESPACE_LABEL, label=f"{REV_LABEL}={namespace_labels[REV_LABEL]}"))
    # A pod's own istio.io/rev or sidecar.istio.io/inject=true selects it only in a namespace that carries neither
    # namespace label (the chart's rev.object. and object. webhooks: namespaceSelector istio.io/rev and
    # istio-injection DoesNotExist, istio-discovery templates/mutatingwebhook.yaml @1.24.6): `istio-injection:
    # disabled` turns them off. Where the namespace asks already, they are said too.
    if out or (INJECTION_LABEL not in namespace_labels and REV_LABEL not in namespace_labels):
        if labels.get(REV_LABEL):
            out.append(Phrase(TEMPLATE_LABEL, label=f"{REV_LABEL}={labels[REV_LABEL]}"))
        if str(labels.get(SIDECAR_INJECT, "")).lower() in _TRUE:
            out.append(Phrase(TEMPLATE_LABEL, label=f"{SIDECAR_INJECT}={labels[SIDECAR_INJECT]}"))
    if labels.get(mesh.ASM_INJECT_LABEL) == "true":
        out.append(Phrase(TEMPLATE_LABEL, label=f"{mesh.ASM_INJECT_LABEL}=true"))
    return out


def _select(found: IdleWorkload | UnmeshedWorkload, hooks: list[Injector], ns_labels: dict[str, str] | None,
            labels: dict[str, str]) -> None:
    """Which of the injector webhooks `hooks` select a pod of these namespace labels (None: unread) and pod labels, by
    owner, into `found` (a selector of no known shape, or an unread namespace, as unproven)."""
    for hook in hooks:
        by_ns = None if ns_labels is None else selector_matches(hook.namespace_selector, ns_labels)
        by_object = selector_matches(hook.object_selector, labels)
        if by_ns is False or by_object is False:
            continue
        if by_ns is None or by_object is None:
            found.unproven.append(hook.ref)
        else:
            {ISTIO: found.istio, ASM: found.asm, UNPROVEN: found.unproven}[hook.owner].append(hook.ref)


def idle_workloads(cluster: ClusterInventory, running: dict[str, set[tuple[str, str]]],
                   wanted: Callable[[dict[str, Any]], bool] | None = None) -> IdleReading:
    """The workloads of IDLE_KINDS none of whose pods is active (`running`: kind -> (namespace, name) of its workloads
    with a Running/Pending pod, active_workloads), whose template leaves the sidecar to an injector (no istio-proxy
    container of its own: gateways and kube-injected templates are judged elsewhere) and does not opt out; each with
    the injector webhooks that select it and what asks for injection. Namespaces and webhook configurations unread:
    `unread`. `wanted`: only the templates it accepts (a caller after one annotation: the injectors and namespaces
    are then judged for those alone, none when no template is wanted)."""
    readable = [kind for kind in IDLE_KINDS if cluster.available(kind)]
    # (kind, why it runs no pod, template, namespace, name, where the template was read when not from itself)
    candidates: list[tuple[str, str, dict[str, Any], str, str, str]] = []
    for kind in readable:
        kind_name = K.workload_kind(kind)
        busy = running.get(kind_name, set())
        # Most workloads run a pod: with the kind's (namespace, name) index (each key its own object), only the others
        # are looked at, in list order.
        index = cluster.unique_index(kind)
        if index is not None and busy.issuperset(index):
            continue  # every workload of the kind runs a pod: told in one C loop, no Python step per workload
        for obj in cluster.objects(kind) if index is None else [obj for key, obj in index.items() if key not in busy]:
            meta = obj.get("metadata")
            if not isinstance(meta, dict):
                meta = {}
            namespace, name = meta.get("namespace"), meta.get("name")
            if not isinstance(namespace, str) or not isinstance(name, str):
                namespace, name = str(namespace or ""), str(name or "")
            if (namespace, name) in busy:  # most workloads
                continue
            template = istio.pod_template(kind, obj)
            if template is None or (wanted is not None and not wanted(template)) or not left_to_injector(template) \
                    or namespace in IGNORED_NAMESPACES:
                continue
            if kind is K.DEPLOYMENT and meta.get("ownerReferences") and _routeless_revision(cluster, namespace, meta):
                continue  # no pod while no Route names its Revision
            if kind is K.DEPLOYMENT and (obj.get("spec") or {}).get("paused") is True:
                held = _paused_deployment(cluster, obj, template, namespace, name)
                if held is not None:  # its next pods come from an earlier ReplicaSet (or which one is not known)
                    candidates.append((kind_name, _why_idle(kind, obj), held[0], namespace, name, held[1]))
                    continue
            candidates.append((kind_name, _why_idle(kind, obj), template, namespace, name, ""))
    candidates.extend(_foreign_idle(cluster, running, wanted))
    return judge_candidates(cluster, candidates, unread_workload_kinds(cluster, lambda: running))


# A workload judged by judge_candidates: (its kind, why it is judged by its template (why it runs no pod), the template,
# namespace, name, where the template was read when not from itself).
Candidate = tuple[str, str, dict[str, Any], str, str, str]


def unread_workload_kinds(cluster: ClusterInventory,
                          running: Callable[[], dict[str, set[tuple[str, str]]]]) -> dict[str, str]:
    """The workload kinds whose objects (their pod templates) could not be read, kind -> why (IDLE_KINDS; ReplicaSets
    and Jobs for the owners not read, _foreign_idle; Argo Rollouts where one that runs no pod owns ReplicaSets): a
    workload of theirs that runs no pod is not seen at all, nor the template its next pods get. `running`
    (active_workloads) is asked only where the Rollouts are unread."""
    kinds_unread = {K.workload_kind(kind): cluster.unread_reason(kind) for kind in (*IDLE_KINDS, K.REPLICASET, K.JOB)
                    if not cluster.available(kind) and not istio.crd_absent(cluster, kind)}
    if (not cluster.available(K.ARGO_ROLLOUT) and cluster.available(K.REPLICASET)
            and _rollouts_unread(cluster, running())):  # whether an idle Rollout holds its next pods cannot be told
        kinds_unread[K.ARGO_ROLLOUT.kind] = cluster.unread_reason(K.ARGO_ROLLOUT)
    return kinds_unread


def judge_candidates(cluster: ClusterInventory, candidates: list[Candidate],
                     kinds_unread: dict[str, str] | None = None) -> IdleReading:
    """Per candidate workload, the injector webhooks that select its template and what asks for injection
    (idle_workloads' judgement; a caller's own candidates too: pods-xds-agent's templates changed under running pods).
    Namespaces and webhook configurations unread: the reading's `unread`, the workloads they leave `undecided`."""
    kinds_unread = kinds_unread or {}
    unread = {kind.kind: cluster.unread_reason(kind) for kind in (K.NAMESPACE, K.MUTATING_WEBHOOK)
              if not cluster.available(kind)}
    if not candidates:
        return IdleReading([], {}, kinds_unread=kinds_unread)
    hooks = injectors(cluster) if K.MUTATING_WEBHOOK.kind not in unread else []
    namespaces_read = K.NAMESPACE.kind not in unread
    out: list[IdleWorkload] = []
    undecided: list[IdleWorkload] = []
    for kind_name, why, template, namespace, name, template_of in candidates:
        held = ""
        if template_of.startswith(_HELD_MARK):  # judged by an earlier ReplicaSet's template (_paused_deployment)
            held, _, template_of = template_of[len(_HELD_MARK):].partition(_HELD_MARK)
        labels = _labels(template)
        if not namespaces_read:
            ns_labels: dict[str, str] | None = None  # what selects it is not known
        else:
            ns_labels = namespace_labels(cluster, namespace)
        found = IdleWorkload(kind_name, namespace, name, why, labels, labels.get(mesh.ASM_INJECT_LABEL) == "true",
                             template_of=template_of, asks_itself=_asks_itself(template), held=held,
                             template=template)
        if held and template_of.startswith(_UNREAD_MARK):
            # Which ReplicaSet a paused Deployment's scale-up scales cannot be told: neither is its next pods' proxy.
            found.template_of = ""
            found.undecided = template_of[len(_UNREAD_MARK):]
            undecided.append(found)
            continue
        if ns_labels is not None:
            found.asks = _asks(ns_labels, labels)
        _select(found, hooks, ns_labels, labels)
        # With the webhook configurations unread, an Istio installed with sidecarInjectorWebhook.
        # enableNamespacesByDefault injects this template with no label asking (_istio_default_selects) as much as one
        # whose labels ask: what selects it is not known either way.
        if ns_labels is None or (unread and (found.asks or (K.MUTATING_WEBHOOK.kind in unread
                                                            and _istio_default_selects(ns_labels, labels)))):
            # What selects it (and whether anything should) is not known.
            found.undecided = "; ".join(f"{k} unread: {r}" for k, r in unread.items())
            undecided.append(found)
        elif found.asks or found.istio or found.asm or found.unproven:
            out.append(found)
    return IdleReading(out, unread, undecided, kinds_unread)


# The candidates' `template_of` of a held workload: _HELD_MARK, its hold, _HELD_MARK, then where its template was read
# (or _UNREAD_MARK and why it cannot be): the candidate tuples keep their shape.
_HELD_MARK = "\x00held:"
_UNREAD_MARK = "\x00unread:"
# The label the Deployment controller adds to each ReplicaSet's labels (its template's labels, which become its pods'),
# not part of the Deployment's template (kubernetes/kubernetes@v1.31.0 pkg/controller/deployment/sync.go
# getNewReplicaSet: labelsutil.CloneAndAddLabel(d.Spec.Template.Labels, DefaultDeploymentUniqueLabelKey, hash)).
POD_TEMPLATE_HASH = "pod-template-hash"


def _paused_deployment(cluster: ClusterInventory, obj: dict[str, Any], template: dict[str, Any], namespace: str,
                       name: str) -> tuple[dict[str, Any], str] | None:
    """A paused Deployment's next pods are not made from its template: the controller's sync of a paused Deployment
    makes no ReplicaSet for a changed template and scales its active ReplicaSets, else the one whose template is its
    own, else the newest (kubernetes/kubernetes@v1.31.0 pkg/controller/deployment/sync.go sync:
    getAllReplicaSetsAndSyncRevision with createIfNotExisted false, then scale; util/deployment_util.go
    FindActiveOrLatest), made from an earlier template until `kubectl rollout resume`. Its ReplicaSets' own labels are
    their template's (getNewReplicaSet), all inventory.slim keeps of them: the template its next pods get is one with
    the ReplicaSet's labels (the active ones, else _scaled_when_none_active; one not labelled for ASM first), and
    (template, held template_of) when those differ from its own; None when they do not, or it has no ReplicaSet (its
    first one is made from its template once resumed); with the ReplicaSets unread, its template with an unread mark
    (undecided)."""
    own = _labels(template)
    if not cluster.available(K.REPLICASET):
        why = f"{K.REPLICASET.kind} unread: {cluster.unread_reason(K.REPLICASET)}"
        return template, f"{_HELD_MARK}{rollouts.HOLD_PAUSED}{_HELD_MARK}{_UNREAD_MARK}{why}"
    owned = rollouts.deployment_replicasets(cluster).get((namespace, name))
    if not owned:
        return None
    active = [rs for rs in owned if istio.replica_count(rs) > 0]
    scaled = active or _scaled_when_none_active(owned, own)
    chosen = next((rs for rs in scaled if _labels(rs).get(mesh.ASM_INJECT_LABEL) != "true"), scaled[0])
    labels = _hashless_labels(chosen)
    if labels == own:
        return None
    meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    earlier = {**template, "metadata": {**meta, "labels": labels}}  # its annotations and spec are not kept: as now
    return earlier, f"{_HELD_MARK}{rollouts.HOLD_PAUSED}{_HELD_MARK}{_ref(K.REPLICASET, chosen)}"


def _hashless_labels(rs: dict[str, Any]) -> dict[str, str]:
    """A Deployment's ReplicaSet's labels without the controller's pod-template-hash: its template's as the
    Deployment had it."""
    return {k: v for k, v in _labels(rs).items() if k != POD_TEMPLATE_HASH}


def _scaled_when_none_active(owned: list[dict[str, Any]], own: dict[str, str]) -> list[dict[str, Any]]:
    """The ReplicaSets a paused Deployment none of whose ReplicaSets is active may scale up: FindActiveOrLatest
    (kubernetes/kubernetes@v1.31.0 pkg/controller/deployment/util/deployment_util.go) takes the one whose template
    equals the Deployment's (FindNewReplicaSet, EqualIgnoreHash), the newest only when none does. Only labels are
    kept: one whose labels are the template's may be that one (a rolled-back template, paused), or may differ in
    what is not kept (an image), and then the newest is scaled: both, the caller judging by the one not labelled
    for ASM (a label match alone must not clear a newest ReplicaSet that Istio's injector takes)."""
    newest = max(owned, key=lambda rs: str((rs.get("metadata") or {}).get("creationTimestamp") or ""))
    same_labels = [rs for rs in owned if _hashless_labels(rs) == own]
    return same_labels if any(rs is newest for rs in same_labels) else [*same_labels, newest]


def _routeless_revision(cluster: ClusterInventory, namespace: str, meta: dict[str, Any]) -> bool:
    """Whether a Deployment is a Knative Revision's that no Route's traffic names (rollouts.routeless_revision): the
    autoscaler keeps it at 0 (knative/serving@knative-v1.23.0 pkg/reconciler/revision/resources/pa.go: Unreachable),
    so it makes no pod while none does, and its template is the Revision's, which never changes. The garbage
    collector keeps such Revisions (config/core/configmaps/gc.yaml: up to min-non-active-revisions, 20) for a
    rollback: a Route made to name one again gives it pods from that template."""
    owner = rollouts.knative_owner_of(meta)
    return owner is not None and rollouts.routeless_revision(cluster, namespace, owner)


def left_to_injector(template: dict[str, Any]) -> bool:
    """Whether a pod template leaves its sidecar to an injector: it does not opt out, and holds no istio-proxy
    container of its own (gateways and kube-injected templates are judged elsewhere)."""
    if _opted_out(template):
        return False
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    return mesh.find_proxy_container(spec)[0] is None


def _foreign_idle(cluster: ClusterInventory, running: dict[str, set[tuple[str, str]]],
                  wanted: Callable[[dict[str, Any]], bool] | None = None
                  ) -> list[tuple[str, str, dict[str, Any], str, str, str]]:
    """The owners judged by what they own (an Argo Rollout, a KEDA ScaledJob: RECURRING_JOB_OWNERS) none of whose pods
    is active, as idle_workloads' candidates: each judged by the template its next pods are made from, that of its live
    ReplicaSets or else its newest (istio.live_replicasets), or of its newest Job."""
    out: list[tuple[str, str, dict[str, Any], str, str, str]] = []
    if cluster.available(K.REPLICASET):
        for (namespace, kind_name, name), owned in istio.foreign_owned(cluster, K.REPLICASET).items():
            # The pod frame's workload of a foreign ReplicaSet's pods is its owner (inventory._resolve_owners).
            if (namespace, name) in running.get(kind_name, ()) or namespace in IGNORED_NAMESPACES:
                continue
            live = istio.live_replicasets(owned)
            obj, template = max(live, key=_created)
            held = ""
            if kind_name == "Rollout":
                obj, template, held = _held_rollout(cluster, namespace, name, owned, obj, template)
            if (wanted is None or wanted(template)) and left_to_injector(template):
                why = SCALED_TO_ZERO if all(istio.replica_count(rs) == 0 for rs, _ in live) else NO_ACTIVE_POD
                where = _ref(K.REPLICASET, obj)
                out.append((kind_name, why, template, namespace, name,
                            f"{_HELD_MARK}{held}{_HELD_MARK}{where}" if held else where))
    if cluster.available(K.JOB):
        busy_jobs = running.get(K.JOB.kind, set())
        for (namespace, kind_name, name), owned in istio.foreign_owned(cluster, K.JOB).items():
            if kind_name not in RECURRING_JOB_OWNERS or namespace in IGNORED_NAMESPACES or any(
                    (namespace, str((job.get("metadata") or {}).get("name") or "")) in busy_jobs for job, _ in owned):
                continue
            obj, template = max(owned, key=_created)
            if (wanted is None or wanted(template)) and left_to_injector(template):
                out.append((kind_name, Phrase(JOBS_BETWEEN_RUNS, kind=kind_name), template, namespace, name,
                            _ref(K.JOB, obj)))
    return out


def _rollouts_unread(cluster: ClusterInventory, running: dict[str, set[tuple[str, str]]]) -> bool:
    """Whether an Argo Rollout that runs no pod owns ReplicaSets here and the Rollouts could not be read (their CRD
    not shown absent): which of its templates its next pods get (_held_rollout) cannot be told."""
    if cluster.available(K.ARGO_ROLLOUT) or istio.crd_absent(cluster, K.ARGO_ROLLOUT) \
            or not cluster.available(K.REPLICASET):
        return False
    busy = running.get("Rollout", set())
    return any(kind_name == "Rollout" and (namespace, name) not in busy
               for namespace, kind_name, name in istio.foreign_owned(cluster, K.REPLICASET))


def _held_rollout(cluster: ClusterInventory, namespace: str, name: str, owned: list[tuple[dict, dict]],
                  obj: dict[str, Any], template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An Argo Rollout (read) that is paused or whose update is not promoted (rollouts.rollout_hold) scales its stable
    ReplicaSet (status.stableRS, by its rollouts-pod-template-hash label) beside its newest: its next pods get either
    template, the one not labelled for ASM judged (argoproj/argo-rollouts@v1.8.4 rollout/canary.go, replicaset.go:
    the stable ReplicaSet keeps the replicas the canary's weight does not take; blue-green, the active one). Else, or
    with the Rollout or its stable ReplicaSet not read, the newest as before."""
    if not cluster.available(K.ARGO_ROLLOUT):
        return obj, template, ""
    rollout = cluster.get(K.ARGO_ROLLOUT, name, namespace)
    hold = rollouts.rollout_hold(rollout) if isinstance(rollout, dict) else ""
    if not hold:
        return obj, template, ""
    stable_hash = str(((rollout.get("status") or {}).get("stableRS")) or "")
    stable = next(((rs, t) for rs, t in owned if stable_hash and _labels(rs).get(rollouts.ROLLOUT_HASH_LABEL) ==
                   stable_hash), None)
    if stable is None:
        return obj, template, hold
    if _labels(template).get(mesh.ASM_INJECT_LABEL) == "true":
        return stable[0], stable[1], hold
    return obj, template, hold


def _created(pair: tuple[dict[str, Any], dict[str, Any]]) -> str:
    return str((pair[0].get("metadata") or {}).get("creationTimestamp") or "")


def _ref(kind: K.Kind, obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{kind.kind} {meta.get('namespace', '')}/{meta.get('name', '')}"


def active_workloads(pods: Any) -> dict[str, set[tuple[str, str]]]:
    """Kind -> (namespace, name) of its workloads with an active (Running/Pending/Unknown) pod, from the pod frame: each
    workload once (by its columns' codes), written as text only then; a missing value as ""."""
    if pods is None or len(pods) == 0:
        return {}
    rows = istio.among(pods["phase"], ACTIVE_PHASES)
    if not np.any(rows):
        return {}
    key, codes, values = _workload_codes(pods, rows)
    _, first = np.unique(key, return_index=True)
    # Each column's values at those rows, taken at once from its values (not indexed one workload at a time), and
    # written as text only where taken: a name column's categories are every pod's workload name, active or not
    # (~19 ms of str() at 50k pods for ~12,000 workloads).
    columns = []
    for column_codes, uniques in zip(codes, values, strict=True):
        at = column_codes[first]
        taken = (np.asarray(uniques, dtype=object)[np.maximum(at - 1, 0)] if len(uniques)
                 else np.full(len(at), "", dtype=object))
        taken[at == 0] = ""
        columns.append((at, taken))
    (_, namespaces), (kind_codes, kinds), (_, names) = columns  # WORKLOAD_KEY's order
    # Per kind, its (namespace, name) pairs made into a set at once (zip, in C), not a tuple and an add per workload.
    running: dict[str, set[tuple[str, str]]] = {}
    for code in np.unique(kind_codes).tolist():
        chosen = kind_codes == code
        kind = _text(kinds[chosen][0])
        running.setdefault(kind, set()).update(zip(map(_text, namespaces[chosen].tolist()),
                                                   map(_text, names[chosen].tolist()), strict=True))
    return running


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _workload_codes(pods: Any, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray], list[Any]]:
    """One integer per pod (of `rows`, else all) for its workload (WORKLOAD_KEY), equal where the workload is, from the
    columns' codes (a categorical's own: no text hashed); with each column's codes (0: missing) and values."""
    codes, values = [], []
    for column in istio.WORKLOAD_KEY:  # each column as codes, the workloads as combined codes
        array = pods[column].array if rows is None else pods[column].array[rows]
        if isinstance(array.dtype, pd.CategoricalDtype):
            codes.append(np.asarray(array.codes, dtype=np.int64) + 1)  # 0: a missing value (code -1)
            values.append(array.categories)
        else:
            column_codes, uniques = pd.factorize(np.asarray(array, dtype=object))
            codes.append(column_codes.astype(np.int64) + 1)
            values.append(uniques)
    key = codes[0]
    for column_codes, uniques in zip(codes[1:], values[1:], strict=True):
        key = key * (len(uniques) + 1) + column_codes
    return key, codes, values


# ---------------------------------------------------------------- pods running no proxy where injection is asked
# What a namespace says of its pods (unmeshed_pods): its labels ask for a sidecar; they do not (only a pod's own labels
# can: _asks); not read.
_NS_ASKS, _NS_OPEN, _NS_UNREAD = 1, 2, 3
# The kinds whose object holds the template a workload's pods are made from, by the pod frame's workload_kind.
_POD_TEMPLATE_KINDS = {K.workload_kind(kind): kind for kind in (*IDLE_KINDS, K.JOB, K.REPLICASET)}
# Why whether a workload's pods were asked for a proxy cannot be told (AA1237's reasons).
BARE_POD = N_("a pod of no workload (its own labels and annotations, sidecar.istio.io/inject among them, are not kept "
              "by this audit)")
NO_TEMPLATE = N_("no pod template of its {kind} is among the objects read")


def unmeshed_pods(cluster: ClusterInventory, pods: Any) -> UnmeshedReading:
    """The workloads whose active pods run no proxy (no istio-proxy container, not a proxyless gRPC app's bootstrap)
    although their namespace's or pod template's injection labels ask for one (_asks), and which Istio's injector
    would not have skipped (injectRequired @1.24.6: kube-system and kube-public, hostNetwork, sidecar.istio.io/inject
    not true, the label winning over the annotation; read from the template that makes the pods, the pod frame keeps
    no pod labels); each with the injector webhooks that select its template now. `undecided`: workloads for which
    that cannot be told (the namespaces unread; in a namespace that asks, a pod of no workload or a template unread).

    Vectorised over the pod frame: the pods with a proxy, outside the active phases or in the ignored namespaces are
    dropped by their columns' codes, each namespace of the rest is judged once, and only the workloads left (of pods
    running no proxy) are looked at one by one."""
    empty = UnmeshedReading([], [])
    if pods is None or len(pods) == 0:
        return empty
    rows = (istio.among(pods["proxy"], (mesh.PROXY_NONE,)) & istio.among(pods["phase"], ACTIVE_PHASES)
            & ~istio.among(pods["namespace"], tuple(IGNORED_NAMESPACES)))
    if "xds_server" in pods:  # a proxyless gRPC app is judged by its bootstrap (AA1216/AA1217/AA1235)
        rows &= istio.among(pods["xds_server"], ("",))
    if not rows.any():
        return empty
    column = pods["namespace"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, names = np.asarray(column.array.codes), column.array.categories.tolist()
    else:
        codes, uniques = pd.factorize(np.asarray(column, dtype=object))
        names = list(uniques)
    namespaces_read = cluster.available(K.NAMESPACE)
    by_namespace: dict[str, tuple[int, dict[str, str] | None]] = {}
    for code in np.unique(codes[rows]).tolist():
        namespace = str(names[code]) if code >= 0 and names[code] is not None else ""
        if not namespaces_read:
            by_namespace[namespace] = (_NS_UNREAD, None)
        else:
            labels = namespace_labels(cluster, namespace)
            by_namespace[namespace] = (_NS_ASKS if _asks(labels, {}) else _NS_OPEN, labels)
    active = istio.among(pods["phase"], ACTIVE_PHASES)
    # Active pods that do run a proxy, per workload: a workload some of whose pods run one and some none lost it for the
    # latter (a workload none of whose pods runs one may never have joined the mesh: pods made before its namespace
    # was labelled, and never restarted). Counted by workload codes (numpy), written beside each pod looked at.
    pod_workloads = _workload_codes(pods)[0]
    meshed_codes, meshed_counts = np.unique(pod_workloads[~istio.among(pods["proxy"], (mesh.PROXY_NONE,)) & active],
                                            return_counts=True)
    looked_at = pod_workloads[rows]
    at = np.minimum(np.searchsorted(meshed_codes, looked_at), max(len(meshed_codes) - 1, 0))
    siblings = (np.where(meshed_codes[at] == looked_at, meshed_counts[at], 0) if len(meshed_codes)
                else np.zeros(len(looked_at), dtype=np.int64))
    selected = istio.pod_columns(pods, rows, [*WORKLOAD_KEY, "name", "created"])
    selected["meshed"] = siblings
    keys, bounds, values = workload_columns(selected, ("name", "created", "meshed"))
    # When ASM's proxies came: the oldest active pod on ASM's proxy. A pod with no proxy made since then was made while
    # the migration ran (Istio's injector, while it was there, would have given it Istio's sidecar): it lost the mesh.
    # One made before it was made in Istio's time without a sidecar, and the uninstall changed nothing for it.
    on_asm = istio.among(pods["proxy"], (mesh.PROXY_ASM,)) & active
    asm_times = [t for t in pods["created"].array[on_asm].tolist() if t]
    asm_since = min(asm_times) if asm_times else None
    meshed = values["meshed"]
    webhooks_unread = "" if cluster.available(K.MUTATING_WEBHOOK) else (
        f"{K.MUTATING_WEBHOOK.kind} unread: {cluster.unread_reason(K.MUTATING_WEBHOOK)}")
    hooks = injectors(cluster) if not webhooks_unread else []
    namespaces_unread = "" if namespaces_read else f"{K.NAMESPACE.kind} unread: {cluster.unread_reason(K.NAMESPACE)}"
    out: list[UnmeshedWorkload] = []
    undecided: list[tuple[str, str]] = []
    undecided_meshed: list[str] = []

    def made_since_asm(g: int) -> bool:
        """Whether the workload's newest pod without a proxy was made since ASM's proxies came (or when that cannot be
        told: no ASM pod, a pod of no creation time)."""
        times = [str(t or "") for t in values["created"][bounds[g]:bounds[g + 1]]]
        return asm_since is None or not all(times) or max(times) >= asm_since

    def cannot_tell(ref: str, why: str, g: int) -> None:
        undecided.append((ref, why))
        if meshed[bounds[g]] or made_since_asm(g):
            undecided_meshed.append(ref)

    for g, (namespace, kind, name) in enumerate(keys):
        namespace, kind, name = str(namespace), str(kind), str(name)
        state, ns_labels = by_namespace.get(namespace, (_NS_OPEN, {}))
        template, why = pods_template(cluster, kind, namespace, name)
        if template is None:
            if state != _NS_OPEN:  # in a namespace that asks (or may): whether the pod opts out is not known
                cannot_tell(f"{kind} {namespace}/{name}", namespaces_unread or why, g)
            continue  # in a namespace that asks for nothing, only the pod's own labels (not kept) could
        if _opted_out(template):
            continue
        labels = _labels(template)
        if ns_labels is None:
            cannot_tell(f"{kind} {namespace}/{name}", namespaces_unread, g)
            continue
        asks = _asks(ns_labels, labels)
        if not asks:
            continue
        start, end = bounds[g], bounds[g + 1]
        found = UnmeshedWorkload(kind, namespace, name, [str(p) for p in values["name"][start:min(end, start + 20)]],
                                 end - start, labels, labels.get(mesh.ASM_INJECT_LABEL) == "true", asks)
        found.meshed_siblings = int(meshed[bounds[g]])
        found.made_since_asm = made_since_asm(g)
        _select(found, hooks, ns_labels, labels)
        out.append(found)
    return UnmeshedReading(out, undecided, webhooks_unread, undecided_meshed, asm_since or "")


def pods_template(cluster: ClusterInventory, kind_name: str, namespace: str, name: str
                  ) -> tuple[dict[str, Any] | None, str]:
    """The pod template a workload's pods are made from (what their labels, annotations and hostNetwork come from),
    or None and why not: a pod of no workload, its kind unread, its object or template not read. An owner of a kind
    judged by what it owns (an Argo Rollout) by the ReplicaSets it owns (their templates kept: inventory.slim), the live
    ones."""
    if kind_name == "Pod":
        return None, Phrase(BARE_POD)
    kind = _POD_TEMPLATE_KINDS.get(kind_name)
    if kind is None:
        if not cluster.available(K.REPLICASET):
            return None, f"{K.REPLICASET.kind} unread: {cluster.unread_reason(K.REPLICASET)}"
        owned = istio.foreign_owned(cluster, K.REPLICASET).get((namespace, kind_name, name))
        if not owned:
            return None, Phrase(NO_TEMPLATE, kind=kind_name)
        templates = [template for _, template in istio.live_replicasets(owned)]
        return next((t for t in templates if not _opted_out(t)), templates[0]), ""
    if not cluster.available(kind):
        return None, f"{kind.kind} unread: {cluster.unread_reason(kind)}"
    obj = cluster.get(kind, name, namespace)
    template = istio.pod_template(kind, obj) if isinstance(obj, dict) else None
    if template is None:
        return None, Phrase(NO_TEMPLATE, kind=kind_name)
    return template, ""
