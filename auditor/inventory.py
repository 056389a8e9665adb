"""What checks read: objects by kind per cluster, owner chains, and a compact table of pods.

Pods are summarised as they stream in (per pod a tuple of its own small values, and what it shares
with the pods of its workload listed with it once: PodSummaries) so that full pod objects are never
all held in memory; the table becomes a pandas DataFrame with categorical columns on first use.
Other kinds are kept as slimmed dicts (no managedFields bodies, no ConfigMap data outside
istio-system but kube-system/ack-cluster-profile's clusterid, only the owner chain of ReplicaSets and Jobs).
"""

from __future__ import annotations

import itertools
import operator
import re
import sys
import types
from collections import Counter, namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
import orjson
import pandas as pd

from auditor import clusterid, gitops, mesh, podwire, timing
from auditor import kinds as K
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.kinds import Kind

ACTIVE_PHASES = ("Running", "Pending", "Unknown", "")
_LONG_LIVED_PORT_HINTS = ("grpc", "websocket", "ws-", "tcp", "mongo", "mysql", "redis", "kafka", "amqp")
# A port name holding any hint, in one C call instead of a generator over the hints.
_LONG_LIVED_PORT = re.compile("|".join(map(re.escape, _LONG_LIVED_PORT_HINTS)))


# ---------------------------------------------------------------- slimming
def _slim_managed_fields(meta: dict[str, Any]) -> None:
    managed = meta.get("managedFields")
    if managed:
        meta["managedFields"] = [
            {k: m[k] for k in ("manager", "operation", "time") if k in m} for m in managed
        ]


# What slim keeps of a ReplicaSet's or Job's metadata (of an ownerless one, its annotations too) and status.
_OWNED_METADATA = ("name", "namespace", "uid", "ownerReferences", "creationTimestamp", "labels")
_OWNERLESS_METADATA = (*_OWNED_METADATA, "annotations")
_STATUS_COUNTS = frozenset({"replicas", "readyReplicas", "active", "succeeded", "failed"})
# What gitops-reinstall reads of the GitOps controllers' status (auditor/gitops.py): the resources an Application
# manages, a HelmRelease's release history and inventory, a Kustomization's inventory (a v1beta1 one's snapshot), a
# Fleet Bundle's resource keys and OCI reference, a KubeVela Application's applied resources; nothing of a chart
# source's.
_GITOPS_STATUS = {K.ARGO_APPLICATION.key: frozenset({"resources"}), K.ARGO_APPLICATIONSET.key: frozenset(),
                  K.FLUX_HELMRELEASE.key: frozenset({"history", "inventory"}),
                  K.FLUX_KUSTOMIZATION.key: frozenset({"inventory", "snapshot"}),  # snapshot: v1beta1's, no inventory
                  K.FLUX_OCIREPOSITORY.key: frozenset(), K.FLUX_HELMCHART.key: frozenset(),
                  K.FLEET_BUNDLE.key: frozenset({"resourceKey", "ociReference"}),  # resourceKey: Fleet <= v0.12
                  K.KUBEVELA_APPLICATION.key: frozenset({"appliedResources"})}


def _istio_install_configmap(meta: dict[str, Any], data: Any) -> bool:
    """An istiod's own ConfigMap, which an istiod installed outside istio-system (`helm install istiod ... -n
    istio-control`) has in its namespace (the chart's .Release.Namespace; istiod reads its mesh config and network
    from POD_NAMESPACE, istio/istio@1.30.3 pilot/pkg/bootstrap/options.go, mesh.go): the mesh config (`istio[-<rev>]`
    with a `mesh` key, not `istio-ca-root-cert`), the injector's (`istio-sidecar-injector[-<rev>]`) and the Helm values
    record (`values[-<rev>]` of component Pilot). Their data is kept wherever they are (one per revision); other
    ConfigMaps' data outside istio-system is not read."""
    name = str(meta.get("name") or "")
    if name.startswith("istio-sidecar-injector"):
        return True
    if name == "values" or name.startswith("values-"):
        return (meta.get("labels") or {}).get("operator.istio.io/component") == "Pilot"
    return bool(mesh.MESH_CONFIGMAP.match(name)) and isinstance(data, dict) and "mesh" in data


def slim(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what no check reads. Idempotent, so a snapshot of slimmed objects audits the same."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    if kind is K.REPLICASET or kind is K.JOB:  # `is`: `in` a tuple of Kinds would call the dataclass __eq__
        # An ownerless one is a workload of its own: its annotations may say who manages it (gitops-drift reads
        # Argo CD's tracking-id, Helm's release). An owned one's are never read (its owner is the workload).
        owned = meta.get("ownerReferences")
        keep = {k: meta[k] for k in (_OWNED_METADATA if owned else _OWNERLESS_METADATA) if k in meta}
        out: dict[str, Any] = {}
        for key in ("apiVersion", "kind"):  # a loop, not a second comprehension (a call) per object: ~16k at 50k
            if value := obj.get(key):
                out[key] = value
        out["metadata"] = keep
        status = obj.get("status") or {}
        # Taken as it is when it holds only counts (as podwire decodes an owned one): not copied.
        out["status"] = status if status.keys() <= _STATUS_COUNTS else {
            k: v for k, v in status.items() if k in _STATUS_COUNTS}
        spec = obj.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("template"), dict) and (
                not owned or not podwire.judged_through_owner(meta)):
            # An ownerless ReplicaSet/Job is a workload of its own, one whose owner is not read (an Argo Rollout, a
            # KEDA ScaledJob) the only template of its pods: manual-injection reads it. A Deployment's or CronJob's is
            # judged through its owner. A ReplicaSet's replicas too: what its owner wants of it (asm-proxies-ready
            # counts a moved Rollout short of its pods: rollouts.shortfalls).
            out["spec"] = {"template": spec["template"]}
            if "replicas" in spec:
                out["spec"]["replicas"] = spec["replicas"]
        return out
    _slim_managed_fields(meta)  # after the owner chains above, which keep no managedFields
    if kind is K.CONFIGMAP and meta.get("namespace") != "istio-system":
        if clusterid.profile_keeps(meta):
            clusterid.slim_profile(obj)  # the cluster's own id, nothing else of it (auditor/clusterid.py)
        elif not _istio_install_configmap(meta, obj.get("data")):
            obj.pop("data", None)
            obj.pop("binaryData", None)
    kept_status = _GITOPS_STATUS.get(kind.key)
    if kept_status is not None and isinstance(obj.get("status"), dict):
        # An Application's status also holds its sync history and last operation (the manifests' revisions, every
        # resource's result): only what gitops-reinstall reads is kept.
        obj["status"] = {k: v for k, v in obj["status"].items() if k in kept_status}
    if kind is K.FLEET_BUNDLE and isinstance(obj.get("spec"), dict):
        # A Bundle holds every file of its charts (spec.resources): only those gitops.fleet_installs reads are kept,
        # its Chart.yaml files and plain manifests (not a chart's templates nor its CRDs), and the names of the
        # chart archives of an umbrella chart's charts/.
        spec = obj["spec"]
        if isinstance(spec.get("resources"), list):
            kept = (gitops.bundle_resource_kept(r) for r in spec["resources"] if isinstance(r, dict))
            spec["resources"] = [r for r in kept if r is not None]
    if kind is K.CRD:
        # CRD schemas are huge and unused: keep names, group, versions served.
        spec = obj.get("spec") or {}
        obj["spec"] = {"group": spec.get("group"), "names": spec.get("names"), "scope": spec.get("scope"),
                       "versions": [{"name": v.get("name"), "served": v.get("served"),
                                     "storage": v.get("storage")} for v in spec.get("versions") or ()]}
    return obj


def slim_page(kind: Kind, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """slim of each object of a page of one kind. The kinds slim keeps whole but for managedFields' bodies
    (Services, Deployments, Istio configuration...: ~50,000 objects at 50k pods) are slimmed in place in one loop,
    without two calls per object; the page itself is returned."""
    if type(page) is podwire.OwnedItems:
        return _slim_owned_items(page)
    if kind is K.REPLICASET or kind is K.JOB or kind is K.CONFIGMAP or kind is K.CRD or kind.key in _GITOPS_STATUS:
        return [slim(kind, obj) for obj in page]
    for obj in page:
        meta = obj.get("metadata")
        if isinstance(meta, dict) and meta.get("managedFields"):
            _slim_managed_fields(meta)
    return page


def _slim_owned_items(page: podwire.OwnedItems) -> list[dict[str, Any]]:
    """slim of each item of a snapshot file of owned ReplicaSets or Jobs as podwire decoded it (OwnedItems), in one
    loop without a call per item: the dicts slim makes (keys, values, their order), the values not copied (at 50k pods,
    ~16,000 ReplicaSets: 15.6 -> 10.1 ms per 5,000). What podwire vouches for: each item an object of one apiVersion
    and kind (a ReplicaSet or Job, never empty), metadata naming an owner whose template is read (slim keeps
    _OWNED_METADATA of it), status holding counts only (_OwnedStatus, taken as it is), no spec."""
    keys = _OWNED_METADATA
    out: list[dict[str, Any]] = []
    append = out.append
    for obj in page:
        meta = obj["metadata"]
        try:  # what the API server sends: every key slim keeps
            kept = {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                    "ownerReferences": meta["ownerReferences"], "creationTimestamp": meta["creationTimestamp"],
                    "labels": meta["labels"]}
        except KeyError:
            kept = {key: meta[key] for key in keys if key in meta}
        append({"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": kept,
                "status": obj.get("status") or {}})
    if out and not out[0]["apiVersion"]:  # slim leaves out an empty apiVersion (all items have the first's)
        for obj in out:
            del obj["apiVersion"]
    return out


# ---------------------------------------------------------------- pod summaries
POD_COLUMNS = (
    "namespace", "name", "owner_kind", "owner_name", "phase", "ready", "restarts", "proxy", "role",
    "native", "held_by_proxy", "proxy_image", "xds_agent", "asm_inject", "revision", "created", "started",
    "gateway_label",
    "term_grace", "prestop", "long_lived", "drain", "exit_on_zero", "template_hash",
    # The marks `proxy` is decided from (mesh.classify), once the cluster's istiod Services are known.
    "asm_env", "image_kind", "ca_service",
    # The istiod a proxyless gRPC app's injected xDS bootstrap names (mesh.proxyless_xds_server), "" for other pods.
    "xds_server",
    # Whether the pod's proxy leaves its traffic redirection to a CNI plug-in: istio-proxy and no istio-init init
    # container (injected in CNI mode, istio-validation or not); False for a pod without proxy or with istio-init.
    "cni_redirect",
    # Whether the pod is being deleted (metadata.deletionTimestamp set: Terminating): its controller no longer counts
    # it among its replicas (istio.replica_rows) and its endpoints are no longer ready.
    "deleting",
    # Whether Istio's CNI agent captured the pod into the ambient data plane: it writes ambient.istio.io/redirection:
    # enabled once ztunnel has the pod's traffic, and takes it off when it lets the pod go (cni/pkg/util/podutil.go,
    # cni/pkg/nodeagent/informers.go @1.24.6): the pod's traffic goes through ztunnel, with no proxy of its own. Asked
    # only of a pod without proxy: the agent never captures a pod with a sidecar (PodRedirectionEnabled, podutil.go).
    "ambient",
)
_CATEGORICAL = ("namespace", "owner_kind", "phase", "proxy", "role", "proxy_image", "xds_agent",
                "revision", "gateway_label", "drain", "image_kind", "ca_service", "xds_server")
# What a pod shares with the other pods of its workload (its profile), kept once for the pods listed one after the
# other with the same profile (PodSummaries). A pod's profile is compared with the page's text; a new one keeps the
# first two copied and the next six interned (see _own), the rest are interned already (the proxy's marks) or not text.
_PROFILE_COLUMNS = (
    "owner_name", "template_hash",
    "namespace", "owner_kind", "phase", "revision", "gateway_label", "drain",
    "ready", "proxy", "role", "native", "held_by_proxy", "proxy_image", "xds_agent", "asm_inject", "term_grace",
    "prestop", "long_lived", "exit_on_zero", "asm_env", "image_kind", "ca_service", "xds_server", "cni_redirect",
    "deleting", "ambient",
)
# What is each pod's own, after the number of its profile in a PodSummaries row.
_OWN_COLUMNS = ("name", "restarts", "created", "started")
# A row of POD_COLUMNS from a profile followed by a pod's own values.
_WHOLE_ROW = operator.itemgetter(*((*_PROFILE_COLUMNS, *_OWN_COLUMNS).index(column) for column in POD_COLUMNS))


class PodSummaries(types.SimpleNamespace):
    """The pods of a cluster summarised so far, in order: per pod a row (its profile's number, *_OWN_COLUMNS), and
    the profiles (_PROFILE_COLUMNS), one per run of pods listed together with the same profile (a workload's pods,
    mostly: 15k profiles for 50k pods). The pod frame types and resolves a profile once, not once per pod.

    Made with its parts, PodSummaries(profiles=[], rows=[]) (or empty()): a SimpleNamespace is made in C, so
    summarise_pod makes one per pod without a Python call (tests/test_collection_cost.py counts them)."""

    profiles: list[tuple]
    rows: list[tuple]

    @classmethod
    def empty(cls) -> PodSummaries:
        return cls(profiles=[], rows=[])

    def __len__(self) -> int:
        return len(self.rows)

    def mark(self) -> tuple[int, int]:
        """Where the summaries are now, for truncate()."""
        return len(self.profiles), len(self.rows)

    def truncate(self, mark: tuple[int, int]) -> None:
        """Forget the pods summarised since `mark` (a list restarted, a kind unreadable). No pod of a page has a
        profile of a page before it, so the profiles since the mark are those of no pod before it."""
        del self.profiles[mark[0]:]
        del self.rows[mark[1]:]

    def add_whole_rows(self, whole: list[tuple]) -> None:
        """Rows of POD_COLUMNS (summarise_pod's; rows a caller hands in), each with a profile of its own: none is taken
        as equal to another here, so values of other types (1 and True) stay as given (the frame merges equal text
        values only: a column holding anything else takes the per-row path, _frame_of_records)."""
        if not whole:
            return
        columns = dict(zip(POD_COLUMNS, zip(*whole, strict=True), strict=True))
        start = len(self.profiles)
        self.profiles.extend(zip(*(columns[column] for column in _PROFILE_COLUMNS), strict=True))
        self.rows.extend(zip(range(start, start + len(whole)), *(columns[column] for column in _OWN_COLUMNS),
                             strict=True))

    def whole_rows(self) -> list[tuple]:
        """The rows of POD_COLUMNS, as summarise_pod makes them."""
        profiles = self.profiles
        return [_WHOLE_ROW((*profiles[row[0]], *row[1:])) for row in self.rows]


def _own(value: str | None) -> str:
    """A fresh copy of a string that outlives the page it was parsed from.

    Why: a row that kept the parsed string itself would pin that string's memory pool, so the pools of
    every page stayed partly in use after the page was freed, and each new page was parsed into the
    holes, spread over an ever larger heap. Measured: summarising a 5,000-pod page took 45 ms for the
    first page and up to 98 ms for the tenth; with copies it stays flat (the audit grows linearly).
    """
    if isinstance(value, str):
        # Joined with "": a new string of the same characters (lone surrogates too), in one allocation.
        return "".join((value, "")) if value else ""
    return "" if value is None else str(value)  # a live answer msgspec refused is not type-checked


_SUMMARY_ENV = ("CA_ADDR", mesh.PROXY_CONFIG_ENV, mesh.XDS_AGENT_KEY, "EXIT_ON_ZERO_ACTIVE_CONNECTIONS")


# Proxy marks remembered per distinct (image, env the summary reads): a fleet has few proxy builds and settings.
# Bounded, so input with a distinct value in every pod cannot grow it without end (past it, marks are decided
# each time).
_PROXY_MARKS_KEPT = 10_000
# (image, image kind, CA service, ASM env present, xds_agent column, exit on zero) of a proxy container, as the pod
# frame keeps them (interned).
_ProxyMarks = tuple[str, str, str, bool, str, bool]


def _summary_state(rules: mesh.ProxyRules) -> tuple[frozenset[str], dict[tuple, _ProxyMarks]]:
    """Per ProxyRules: the env names the summary reads, and a cache of _proxy_columns' marks per
    (image, env the summary reads).

    Kept on the rules object itself, so a cache never outlives (or crosses) the rules it was made with.
    """
    state = rules.__dict__.get("_summary_state")
    if state is None:
        state = (frozenset((*_SUMMARY_ENV, *rules.asm_env_names)), {})
        rules.__dict__["_summary_state"] = state
    return state


# The restart policies of a pod that runs to completion: the kubelet restarts no container that ended (Never) or only
# one that failed (OnFailure). A Job's pods must have one of them (batch/v1 validation); Argo Workflows' and Tekton's
# pods are made with Never (argoproj/argo-workflows@v3.7.18:workflow/controller/workflowpod.go,
# tektoncd/pipeline@v1.15.0:pkg/pod/pod.go), and so is `kubectl run --restart=Never`. Under Always (the API's default,
# every Deployment's, StatefulSet's and DaemonSet's pod) an app container seen terminated is restarted: never held.
_RUN_POLICIES = frozenset({"Never", "OnFailure"})  # a hand-written pod without one: run to completion if a Job owns it


def summarise_pod(pod: dict[str, Any] | podwire.Pod, rules: mesh.ProxyRules) -> tuple:
    """One pod -> one tuple of POD_COLUMNS. Everything a check may ask of a pod is decided here.

    Runs once per pod (150,000 times in a large cluster): plain loops, only the env vars it reads, and
    proxy classifications cached per (image, ASM env present, CA_ADDR). A pod decoded as a Struct
    (auditor.podwire.Pod: snapshot files of pods, live PodList pages) is read by attribute (summarise_pods, which
    the collector calls per page), any other as a dict, whose values _row turns into the same tuple
    (tests/test_podwire.py, tests/test_pod_structs.py: identical rows for real-shaped and mutated pods). Every field
    read here must be declared in auditor/podwire.py.
    """
    if type(pod) is podwire.Pod:
        one = PodSummaries(profiles=[], rows=[])
        summarise_pods([pod], rules, one)
        return _WHOLE_ROW((*one.profiles[0], *one.rows[0][1:]))
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}

    owner_kind = owner_name = ""
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") or not owner_kind:
            owner_kind, owner_name = ref.get("kind", ""), ref.get("name", "")

    ready = False
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            ready = True
            break
    restarts = 0
    for statuses in (status.get("containerStatuses"), status.get("initContainerStatuses")):
        for cs in statuses or ():
            restarts += int(cs.get("restartCount") or 0)

    container, native = mesh.find_proxy_container(spec)
    proxy = None
    if container is not None:
        wanted, seen = _summary_state(rules)
        env: dict[str, str] = {}  # mesh.env_map restricted to what is read below
        for item in container.get("env") or ():
            name = item.get("name")
            if name in wanted:
                value = item.get("value")
                env[name] = "" if value is None else str(value)
        proxy = _proxy_columns(env, container.get("image") or "", rules, seen, container)
        if mesh.PROXY_CONFIG_ANNOTATION in annotations:  # the pod's own proxy config, applied over PROXY_CONFIG
            services = mesh.with_annotation_istiod(rules, proxy[2], annotations[mesh.PROXY_CONFIG_ANNOTATION])
            proxy = (*proxy[:2], sys.intern(services) if services else "", *proxy[3:])
    # Decided in the order of the code before the Struct reader: a malformed live pod meets the same first error.
    revision = _revision(annotations, container is not None)

    prestop = False
    long_lived = False
    for c in spec.get("containers") or ():
        if c.get("name") == mesh.PROXY_CONTAINER:
            continue
        if not prestop:
            lifecycle = c.get("lifecycle")
            prestop = bool(lifecycle and lifecycle.get("preStop"))
        if not long_lived:
            long_lived = _long_lived(port.get("name") for port in c.get("ports") or ())
    drain = _drain(annotations)
    # Istio's CNI plug-in reads every container's name (cni/pkg/plugin/kubernetes.go @1.24.6); istio-init is an init
    # container as every injector writes it.
    cni_redirect = container is not None and not any(
        isinstance(c, dict) and c.get("name") == mesh.ISTIO_INIT for c in spec.get("initContainers") or ()) and (
        _redirected(annotations))
    xds_server = ""
    for c in spec.get("initContainers") or ():
        if c.get("name") == mesh.PROXYLESS_BOOTSTRAP_INIT:  # (find_proxy_container read each one's name already)
            env = c.get("env")
            env_items = [(item.get("name"), item.get("value")) for item in env if isinstance(item, dict)
                         ] if isinstance(env, list) else []
            xds_server = mesh.proxyless_xds_server(c.get("command"), c.get("args"), env_items)
            break
    # A run-to-completion pod whose app containers all ended while the classic (non-native) istio-proxy keeps
    # it Running: it never completes, so it never moves to ASM by itself (_RUN_POLICIES: whoever made it).
    held_by_proxy = False
    policy = spec.get("restartPolicy")
    if container is not None and not native and status.get("phase") == "Running" and (
            policy in _RUN_POLICIES if policy and isinstance(policy, str) else owner_kind == "Job"):
        app_states = [cs.get("state") or {} for cs in status.get("containerStatuses") or ()
                      if cs.get("name") != mesh.PROXY_CONTAINER]
        held_by_proxy = bool(app_states) and all("terminated" in st for st in app_states)
    return _row(meta.get("namespace"), meta.get("name"), owner_kind, owner_name, status.get("phase"), ready,
                restarts, proxy, native, held_by_proxy, labels, revision, meta.get("creationTimestamp"),
                status.get("startTime"), spec.get("terminationGracePeriodSeconds"), prestop, long_lived, drain,
                xds_server, cni_redirect, bool(meta.get("deletionTimestamp")),
                container is None and annotations.get(mesh.AMBIENT_REDIRECTION) == mesh.AMBIENT_REDIRECTION_ENABLED)


_NO_STATUS = podwire.PodStatus()


def summarise_pods(pods: list[Any], rules: mesh.ProxyRules, into: PodSummaries) -> None:
    """summarise_pod of each pod, added to `into`, in one loop (the collector calls this per page): a pod decoded as a
    Struct is read here by attribute (null is absent) into the values _row makes of a dict (tests/test_pod_structs.py
    compares them), without a function call per pod and per part of it (~20% of the summary's time); any other pod by
    summarise_pod."""
    wanted, seen = _summary_state(rules)
    proxy_name, unset, no_status, no_entries = mesh.PROXY_CONTAINER, msgspec.UNSET, _NO_STATUS, _NO_ENTRIES
    pod_type, sidecar, non_sidecar_args, ambient_image = (podwire.Pod, mesh.ROLE_SIDECAR, mesh.NON_SIDECAR_ARGS,
                                                          mesh.AMBIENT_IMAGE_MARK)
    no_proxy = (mesh.PROXY_NONE, "", "", "", "", False, "<absent>", False)  # _row's columns of a pod without proxy
    intern, join, inject_label, run_policies = sys.intern, "".join, mesh.ASM_INJECT_LABEL, _RUN_POLICIES
    bootstrap_init, istio_init = mesh.PROXYLESS_BOOTSTRAP_INIT, mesh.ISTIO_INIT
    ambient_annotation, ambient_enabled = mesh.AMBIENT_REDIRECTION, mesh.AMBIENT_REDIRECTION_ENABLED
    decode_env, decode_strings = podwire.ENV_VARS.decode, podwire.STRINGS.decode
    profiles, rows = into.profiles, into.rows
    append = rows.append
    last_profile, number = None, -1  # a page's pods start a profile of their own (see PodSummaries.truncate)
    last_image, last_env_bytes, last_marks = None, None, None
    last_args_bytes, last_args = None, None
    # A page podwire checked holds the envs and args it decoded to check them: a proxy's are not decoded again.
    decoded = pods.decoded if type(pods) is podwire.PodPage else {}
    last_ports, last_long_lived = None, False
    last_containers: list[podwire.Container] | None = None
    last_inits: list[podwire.Container] | None = None
    for pod in pods:
        if type(pod) is not pod_type:
            into.add_whole_rows([summarise_pod(pod, rules)])
            last_profile = None  # a row handed in has a profile of its own
            continue
        meta = pod.metadata
        spec = pod.spec
        status = pod.status or no_status

        owner_kind = owner_name = ""
        for ref in meta.ownerReferences or ():
            if ref.controller or not owner_kind:
                owner_kind, owner_name = ref.kind, ref.name

        ready = False
        for condition in status.conditions or ():
            if condition.type == "Ready" and condition.status == "True":
                ready = True
                break
        restarts = 0
        for cs in status.containerStatuses or ():
            restarts += cs.restartCount or 0
        for cs in status.initContainerStatuses or ():
            restarts += cs.restartCount or 0

        containers, inits = spec.containers, spec.initContainers
        # What a pod's containers say, decided once per list: the pods of a workload share their lists (a page podwire
        # checked, see podwire.PodPage), known by identity.
        if containers is not last_containers or inits is not last_inits:
            last_containers, last_inits = containers, inits
            # mesh.find_proxy_container: a native sidecar first, then a classic one.
            container, native, xds_server, has_istio_init = None, False, "", False
            for c in inits or ():
                if c.name == proxy_name and c.restartPolicy == "Always":
                    if container is None:
                        container, native = c, True
                elif c.name == istio_init:
                    has_istio_init = True
                elif c.name == bootstrap_init and not xds_server:
                    # Istio's proxyless gRPC bootstrap (mesh.proxyless_xds_server): what podwire checked, once per list.
                    env_vars = decoded.get(id(c.env)) or decode_env(c.env) or ()
                    xds_server = intern(mesh.proxyless_xds_server(
                        decode_strings(c.command), decoded.get(id(c.args)) or decode_strings(c.args),
                        [(item.name, item.value) for item in env_vars]))
            prestop = False
            long_lived = False
            for c in containers:
                if c.name == proxy_name:
                    if container is None:
                        container = c
                    continue
                if not prestop:
                    lifecycle = c.lifecycle
                    prestop = lifecycle is not None and bool(lifecycle.preStop)
                if not long_lived and (ports := c.ports):
                    # Most app containers have the ports of the one before (a workload's pods are listed together).
                    if ports != last_ports:
                        last_ports, last_long_lived = ports, _long_lived_ports(ports)
                    long_lived = last_long_lived
            cni_redirect = container is not None and not has_istio_init
            if container is None:
                kind, image, image_kind, ca_service, role, asm_env, xds, exit_on_zero = no_proxy
            else:
                # Most proxies have the image and env bytes of the proxy before: its marks, without reading the env or
                # building and hashing the key. Else (name, value) of the env vars read, in order: the key of the
                # marks' cache without a dict per pod.
                image, env_bytes = container.image or "", container.env
                if image != last_image or env_bytes != last_env_bytes:
                    last_image, last_env_bytes = image, env_bytes
                    env_vars = decoded.get(id(env_bytes)) or decode_env(env_bytes) or ()
                    env = [(item.name, item.value or "") for item in env_vars if item.name in wanted]
                    last_marks = seen.get((image, *env)) or _proxy_marks(dict(env), image, rules, seen)
                image, image_kind, ca_service, asm_env, xds, exit_on_zero = last_marks
                args_bytes = container.args
                if args_bytes != last_args_bytes:
                    last_args_bytes, last_args = args_bytes, decoded.get(id(args_bytes)) or decode_strings(args_bytes)
                args = last_args
                # mesh.role_of, with one set test in C (of the args role_of reads) for the usual case: a sidecar.
                role = (sidecar if (not args or non_sidecar_args.isdisjoint(args)) and ambient_image not in image
                        else mesh.role_of(args or (), image))
                # Provisional: the cluster's istiod Services decide what the CA_ADDR mark is worth (ClusterInventory).
                kind = mesh.PROXY_ISTIO
        held_by_proxy = False
        # _RUN_POLICIES, as summarise_pod reads them (inline: no call per pod).
        if container is not None and not native and status.phase == "Running" and (
                policy in run_policies if (policy := spec.restartPolicy) else owner_kind == "Job"):
            # Every app container terminated (at least one): all() over the app containers' states, stopping at the
            # first that still runs.
            for cs in status.containerStatuses or ():
                if cs.name == proxy_name:
                    continue
                state = cs.state
                if state is None or state.terminated is unset:
                    held_by_proxy = False
                    break
                held_by_proxy = True
        annotations = meta.annotations or no_entries
        if cni_redirect:
            cni_redirect = _redirected(annotations)
        # The common cases without a call: `istio.io/rev` set, no proxy.istio.io/config annotation.
        revision = annotations.get("istio.io/rev") or _revision(annotations, container is not None)
        drain = ""
        # This pod's istiods: the list's (ca_service, decided once per list of containers), and the one its own
        # annotation names. Kept apart: the list's value is the next pod's too.
        pod_ca_service = ca_service
        if mesh.PROXY_CONFIG_ANNOTATION in annotations:
            drain = _drain(annotations)
            if container is not None:  # the pod's own proxy config, applied over PROXY_CONFIG (mesh.py)
                pod_ca_service = mesh.with_annotation_istiod(rules, ca_service,
                                                             annotations[mesh.PROXY_CONFIG_ANNOTATION])
                pod_ca_service = sys.intern(pod_ca_service) if pod_ca_service else ""
        labels = meta.labels or no_entries
        namespace, phase, grace = meta.namespace, status.phase, spec.terminationGracePeriodSeconds
        created, started, template_hash = meta.creationTimestamp, status.startTime, labels.get("pod-template-hash")
        # The profile (_PROFILE_COLUMNS) as the page gives it; a new one is kept as _row keeps text: copied (_own) or
        # interned (repeated text).
        profile = (
            owner_name, template_hash or "", namespace or "", owner_kind, phase or "", revision,
            labels.get("istio") or "", drain, ready, kind, role, native, held_by_proxy, image, xds,
            labels.get(inject_label) == "true", -1 if grace is None else grace, prestop, long_lived, exit_on_zero,
            asm_env, image_kind, pod_ca_service, xds_server, cni_redirect, bool(meta.deletionTimestamp),
            container is None and annotations.get(ambient_annotation) == ambient_enabled,
        )
        # The pods of a workload are listed one after the other (by name): a pod whose profile is not the one of the
        # pod before starts a new one (a workload's pods listed apart, or some in another phase, have a few).
        if profile != last_profile:
            last_profile = (join((owner_name, "")), join((profile[1], "")), *map(intern, profile[2:8]), *profile[8:])
            number = len(profiles)
            profiles.append(last_profile)
        append((number, join((meta.name, "")), restarts, join((created, "")) if created else "",
                join((started, "")) if started else ""))


_NO_ENTRIES: dict[str, str] = {}  # absent labels or annotations; read only
# Whether a port name says long-lived connections, per name seen: a cluster has few distinct port names. Bounded,
# so hostile input cannot grow it without end (names past the bound are decided each time).
_PORT_NAME_LONG_LIVED: dict[str | None, bool] = {}
_PORT_NAMES_KEPT = 4096


def _long_lived_ports(ports: list[podwire.Port]) -> bool:
    """_long_lived of a Struct container's ports (names are str or None), remembered per name."""
    for port in ports:
        name = port.name
        hit = _PORT_NAME_LONG_LIVED.get(name)
        if hit is None:
            hit = _long_lived((name,))
            if len(_PORT_NAME_LONG_LIVED) < _PORT_NAMES_KEPT:
                _PORT_NAME_LONG_LIVED[name] = hit
        if hit:
            return True
    return False


def _long_lived(port_names: Iterable[str | None]) -> bool:
    for name in port_names:
        lowered = (name or "").lower()
        if lowered and _LONG_LIVED_PORT.search(lowered):
            return True
    return False


def _proxy_columns(env: dict[str, str], image: str, rules: mesh.ProxyRules, seen: dict[tuple, _ProxyMarks],
                   container: dict[str, Any]) -> tuple[str, str, str, str, bool, str, bool]:
    """(image, image kind, CA service, role, ASM env present, xds_agent column, exit on zero) of a proxy container,
    from the env vars the summary reads and the cache of _summary_state. The role is decided after the image is
    classified (the order the first error of a malformed live pod depends on)."""
    marks = seen.get((image, *env.items())) or _proxy_marks(env, image, rules, seen)
    return (marks[0], marks[1], marks[2], mesh.proxy_role(container), marks[3], marks[4], marks[5])


def _proxy_marks(env: dict[str, str], image: str, rules: mesh.ProxyRules,
                 seen: dict[tuple, _ProxyMarks]) -> _ProxyMarks:
    """The marks of a proxy container not in the cache of _summary_state yet, cached (up to its bound); text as the
    pod frame keeps it (interned, the xDS agent value "<absent>" when unset)."""
    # Of these only image_kind can raise (a live pod's image of another type), and it does before the role.
    image_kind = rules.image_kind(image)
    asm_env = rules.has_asm_env(env)
    ca_service = mesh.istiod_services(rules, env.get("CA_ADDR", ""), env.get(mesh.PROXY_CONFIG_ENV, ""), asm_env)
    xds = mesh.xds_agent_value(env)
    marks = (sys.intern(image) if image else "", sys.intern(image_kind) if image_kind else "",
             sys.intern(ca_service) if ca_service else "", asm_env,
             "<absent>" if xds is None else sys.intern(xds) if xds else "",
             env.get("EXIT_ON_ZERO_ACTIVE_CONNECTIONS", "").lower() == "true")
    if len(seen) < _PROXY_MARKS_KEPT:
        seen[(image, *env.items())] = marks
    return marks


def _revision(annotations: dict[str, str], has_proxy: bool) -> str:
    revision = annotations.get("istio.io/rev") or ""
    if not revision and has_proxy:
        try:
            revision = (orjson.loads(annotations.get("sidecar.istio.io/status") or "{}") or {}).get(
                "revision") or ""
        except (orjson.JSONDecodeError, AttributeError):
            revision = ""
    return revision


def _redirected(annotations: dict[str, str]) -> bool:
    """Whether a pod injected without istio-init has its traffic redirected at all (then by a CNI plug-in): not where
    the injector wrote interception mode NONE (no istio-init nor istio-validation: injection-template.yaml @1.24.6,
    which writes the annotation on every pod) nor for the grpc-agent template (proxyless gRPC: grpc-agent.yaml @1.24.6
    writes no init container; the pod asks for it by inject.istio.io/templates)."""
    if annotations.get("sidecar.istio.io/interceptionMode") == "NONE":
        return False
    return "grpc-agent" not in {t.strip() for t in (annotations.get("inject.istio.io/templates") or "").split(",")}


def _drain(annotations: dict[str, str]) -> str:
    proxy_config = annotations.get("proxy.istio.io/config")
    if proxy_config and "terminationDrainDuration" in proxy_config:
        try:
            from auditor import yamlsafe

            return str((yamlsafe.safe_load(proxy_config) or {}).get("terminationDrainDuration") or "")
        except Exception:  # a malformed annotation is the pod's problem, not the audit's
            return "unparseable"
    return ""


def _row(namespace: str | None, name: str | None, owner_kind: str, owner_name: str, phase: str | None, ready: bool,
         restarts: int, proxy: tuple[str, str, str, str, bool, str, bool] | None, native: bool,
         held_by_proxy: bool, labels: dict[str, str], revision: str, created: str | None, started: str | None,
         grace: int | None, prestop: bool, long_lived: bool, drain: str, xds_server: str, cni_redirect: bool,
         deleting: bool, ambient: bool) -> tuple:
    """The summary tuple (POD_COLUMNS) of a pod read as a dict (summarise_pods reads the same values of a Struct)."""
    if proxy is None:
        kind, role, image, xds = mesh.PROXY_NONE, "", "", "<absent>"
        image_kind = ca_service = ""
        asm_env = exit_on_zero = False
    else:
        # Provisional: the cluster's istiod Services decide what the CA_ADDR mark is worth (ClusterInventory).
        # The proxy's text columns come interned from _proxy_columns.
        kind = mesh.PROXY_ISTIO
        image, image_kind, ca_service, role, asm_env, xds, exit_on_zero = proxy
    intern = sys.intern  # inline, `intern(x) if x else ""`: ten function calls per pod fewer
    return (
        intern(namespace) if namespace else "", _own(name), intern(owner_kind) if owner_kind else "",
        _own(owner_name), intern(phase) if phase else "", ready, restarts, kind, role, native, held_by_proxy,
        image, xds, labels.get(mesh.ASM_INJECT_LABEL) == "true", intern(revision) if revision else "", _own(created),
        _own(started), intern(gateway) if (gateway := labels.get("istio")) else "",
        -1 if grace is None else int(grace), prestop, long_lived, intern(drain) if drain else "", exit_on_zero,
        _own(labels.get("pod-template-hash")), asm_env, image_kind, ca_service,
        intern(xds_server) if xds_server else "", cni_redirect, deleting, ambient,
    )


WORKLOAD_KEY = ("namespace", "workload_kind", "workload_name")


def workload_rows(frame: pd.DataFrame, columns: Iterable[str]
                  ) -> Iterator[tuple[tuple[str, str, str], dict[str, list[Any]]]]:
    """Pods of `frame` per workload, sorted by (namespace, kind, name) then pod name, as plain lists.

    Same groups and order as `frame.groupby(WORKLOAD_KEY, observed=True, sort=True)`, without a
    DataFrame per group: pandas spends ~0.5 ms building each one, and a 150k-pod cluster has tens
    of thousands of workloads. One pass over the sorted columns instead.
    """
    keys, bounds, values = workload_columns(frame, columns)
    for g, key in enumerate(keys):
        start, end = bounds[g], bounds[g + 1]
        yield key, {column: column_values[start:end] for column, column_values in values.items()}


def workload_columns(frame: pd.DataFrame, columns: Iterable[str]
                     ) -> tuple[list[tuple[str, str, str]], list[int], dict[str, list[Any]]]:
    """workload_rows' workloads in order, where each one's pods start in the columns (plus the end), and `columns`'
    values of the pods in that order: a check that slices only what it reports builds no dict of lists per workload
    (~1.3 µs each), and one that counts can count with numpy (`workload_counts`)."""
    columns = list(dict.fromkeys(columns))
    if frame.empty:
        return [], [0], {column: [] for column in columns}
    groups = workload_groups(frame)
    if groups is None:
        return _workload_columns_sorted_by_pandas(frame, columns)
    keys, order, starts = groups
    return keys, starts.tolist(), {column: frame[column].take(order).tolist() for column in columns}


def workload_counts(values: list[Any], bounds: list[int]) -> list[int]:
    """How many of each workload's `values` (workload_columns' order and bounds) are true, as bool() tells."""
    if len(bounds) < 2:
        return []
    truths = np.fromiter(map(bool, values), dtype=np.int64, count=len(values))
    return np.add.reduceat(truths, bounds[:-1]).tolist()


def value_counts(values: list[Any], counted: dict[tuple[Any, ...], dict[str, int]]) -> dict[str, int]:
    """`dict(Counter(map(str, values)).most_common())`, counted once per distinct sequence of values (kept in
    `counted`): a workload's pods mostly show the same few values. The dict is shared: copy it to change it."""
    key = tuple(values)
    found = counted.get(key)
    if found is None:
        found = counted[key] = dict(Counter(map(str, key)).most_common())
    return found


def _workload_columns_sorted_by_pandas(frame: pd.DataFrame, columns: list[str]
                                       ) -> tuple[list[tuple[str, str, str]], list[int], dict[str, list[Any]]]:
    """workload_columns for a frame workload_groups cannot order (a missing or unorderable key): pandas sorts it."""
    # Sort only the columns read: sorting the whole frame moves its ~30 columns.
    ordered = frame[list(dict.fromkeys([*WORKLOAD_KEY, "name", *columns]))].sort_values([*WORKLOAD_KEY, "name"],
                                                                                         kind="stable")
    pod_keys = list(zip(*(ordered[k].tolist() for k in WORKLOAD_KEY), strict=True))
    # One comparison per pod with its workload's first pod.
    keys: list[tuple[str, str, str]] = []
    bounds: list[int] = []
    start, end = 0, len(pod_keys)
    for i in range(1, end + 1):
        if i == end or pod_keys[i] != pod_keys[start]:
            keys.append(pod_keys[start])
            bounds.append(start)
            start = i
    bounds.append(end)
    return keys, bounds, {column: ordered[column].tolist() for column in columns}


def _sort_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """One integer per row that sorts as `sort_values` sorts the column (a categorical by its category codes, text
    by value), and the value each integer stands for (`values[code]`, objects as `tolist()` gives them), or None
    when a value is missing or the column is neither categorical nor text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        # The Categorical's own codes: `column.cat.codes` builds an accessor and a Series (~25 us a column).
        categorical = column.array
        codes, values = categorical.codes, categorical.categories
    elif pd.api.types.is_string_dtype(column.dtype) and column.dtype != object:
        codes, values = pd.factorize(column, sort=True)
    else:
        return None
    return None if (codes < 0).any() else (codes, values.to_numpy(dtype=object))


def workload_groups(frame: pd.DataFrame, by_pod_name: bool = True
                    ) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray] | None:
    """The workloads (namespace, kind, name) in order, the row positions sorted by WORKLOAD_KEY then (`by_pod_name`)
    pod name (stable), and where each workload starts in that order (plus the end), of a non-empty frame.

    The order `sort_values([*WORKLOAD_KEY, "name"], kind="stable")` gives, from integer codes: pandas took 29 ms to
    sort those text columns for 20k pods. None when a key is missing or not text: pandas decides then."""
    coded = [_sort_codes(frame[k]) for k in WORKLOAD_KEY]
    if any(found is None for found in coded):
        return None
    key_codes = [codes for codes, _ in coded]
    if by_pod_name:
        names = frame["name"]
        if (isinstance(names.dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(names.dtype)
                or names.dtype == object or names.array.isna().any()):  # the array's: no Series of flags
            return None
        # Pod names first (stable), then a stable sort by workload: the lexicographic order of all four keys.
        first = np.argsort(names.to_numpy(dtype=object), kind="stable")
    else:
        first = np.arange(len(frame))
    sorted_keys = [codes[first] for codes in key_codes]
    within = np.lexsort(sorted_keys[::-1])
    changed = np.zeros(len(within), dtype=bool)
    changed[:1] = True
    for codes in sorted_keys:
        in_order = codes[within]
        changed[1:] |= in_order[1:] != in_order[:-1]
    order, starts = first[within], np.flatnonzero(changed)
    # Each workload's key from the codes sorted above: a take and tolist() of each key column cost ~3x as much.
    keys = list(zip(*(values[codes[order[starts]]].tolist() for codes, values in coded), strict=True))
    return keys, order, np.append(starts, len(order))


def workload_sizes(frame: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """Pods of `frame` per workload (namespace, kind, name), as a dict: looking a workload up in the Series of
    `groupby(...).size()` costs a MultiIndex search (~90 µs) per workload."""
    groups = workload_groups(frame, by_pod_name=False) if not frame.empty else None
    if groups is None:
        sizes = frame.groupby(list(WORKLOAD_KEY), observed=True).size()
        return dict(zip(sizes.index.tolist(), sizes.tolist(), strict=True))
    keys, _, starts = groups
    return dict(zip(keys, np.diff(starts).tolist(), strict=True))


def frame_rows(frame: pd.DataFrame) -> Iterator[Any]:
    """`frame.itertuples(index=False)` (namedtuples of plain Python values) without pandas' boxing of each value:
    iterating a string column costs ~1 µs per value, `tolist()` a few ns."""
    row = namedtuple("Row", frame.columns)  # type: ignore[misc]
    return map(row._make, zip(*(frame[c].tolist() for c in frame.columns), strict=True))


def _name_index(objects: list[dict[str, Any]]
                ) -> tuple[dict[tuple[Any, Any], dict[str, Any]], dict[Any, dict[str, Any]], bool]:
    """(namespace, name) -> first object and name -> first object, in list order (what a scan would return), and
    whether the first index holds every object under a key of its own, namespace and name given (see unique_index)."""
    index = _NameIndex()
    index.add(objects)
    return index.result()


class _NameIndex:
    """_name_index of the objects added, in pieces in list order (one walk of a kind builds several views: see
    ClusterInventory._deployment_views)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[Any, Any], dict[str, Any]] = {}
        self.by_name: dict[Any, dict[str, Any]] = {}
        self.named = True
        self.count = 0

    def add(self, objects: list[dict[str, Any]]) -> None:
        by_key, by_name = self.by_key, self.by_name
        named = self.named
        for obj in objects:
            meta = obj.get("metadata") or {}
            name = meta.get("name")
            namespace = meta.get("namespace")
            try:
                by_key.setdefault((namespace, name), obj)
                by_name.setdefault(name, obj)
            except TypeError:  # an unhashable name (malformed live answer) equals no str asked for
                continue
            if namespace is None or name is None:
                named = False
        self.named = named
        self.count += len(objects)

    def result(self) -> tuple[dict[tuple[Any, Any], dict[str, Any]], dict[Any, dict[str, Any]], bool]:
        return self.by_key, self.by_name, self.named and len(self.by_key) == self.count


class _Selected:
    """The objects `wanted` says yes to, in the order added (in pieces, as _NameIndex)."""

    def __init__(self, wanted: Callable[[dict[str, Any]], bool]) -> None:
        self.wanted = wanted
        self.found: list[dict[str, Any]] = []

    def add(self, objects: list[dict[str, Any]]) -> None:
        wanted = self.wanted
        self.found.extend([obj for obj in objects if wanted(obj)])

    def result(self) -> list[dict[str, Any]]:
        return self.found


# How many objects each view of a shared walk reads before the next view reads the same ones
# (_deployment_views): few enough that they are still in this machine's 4 MiB L2 when the next view reads them.
_WALK_PIECE = 256


def controller_owner(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the controller an object's ownerReferences name: the first reference not marked
    `controller: false`; None without one. How a ReplicaSet's or a Job's owner is read (istio.kind_injections; the
    owner maps of the pod frame, ClusterInventory._owner_map, apply it inline)."""
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller", True):
            return ref.get("kind", ""), ref.get("name", "")
    return None


# ---------------------------------------------------------------- cluster inventory
class ClusterPending(RuntimeError):
    """A cluster of a fleet judged cluster by cluster was read before it was collected (an engine defect or a
    check reading other clusters without declaring it: `Check.reads_other_clusters`); the check is UNKNOWN."""


# The memo keys of ClusterInventory.istio_operator_deployments and waypoint_deployments (filled by their own walks
# or the gateway scan's: found_deployment_views).
_OPERATORS, _WAYPOINTS = "istio_operator_deployments", "waypoint_deployments"
_ISTIODS = "istiod_deployments"  # the memo key of ClusterInventory.istiod_deployments (see _deployment_views)


@dataclass
class ClusterInventory:
    """Everything read from one cluster. Accessors raise EvidenceUnavailable when a kind is missing."""

    name: str
    role: str = "data-plane"  # or "asm"
    cluster_id: str | None = None
    version_info: dict[str, Any] | None = None
    version_error: str | None = None
    unreachable: str | None = None
    objects_by_kind: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    not_served: set[str] = field(default_factory=set)
    # Pods as the collector summarised them; pod_rows: summary rows (summarise_pod's) handed in whole, e.g. by a caller
    # building an inventory itself. The pod frame is built of both (pods()), then they are freed.
    pod_summaries: PodSummaries = field(default_factory=PodSummaries.empty)
    pod_rows: list[tuple] = field(default_factory=list)
    _pods: pd.DataFrame | None = None
    _classified_with: tuple[bool, bool, bool] | None = None  # (Services, Deployments, webhooks) readable when set
    _memo: dict[Any, Any] = field(default_factory=dict)
    # kind key -> (the list indexed, its length, (namespace, name) -> object, name -> object): see get()
    _by_name: dict[str, tuple[Any, ...]] = field(default_factory=dict, repr=False)
    # Kinds whose objects were dropped once every check had judged this cluster (a fleet, judged cluster by
    # cluster: see release()); they stay available, but reading them raises EvidenceUnavailable.
    released: set[str] = field(default_factory=set)
    # Set while a fleet is judged cluster by cluster and this cluster is not collected yet: reading it then
    # would judge another cluster without this one's evidence, so it raises (ClusterPending) instead.
    pending: bool = False

    # -- collection side
    def collected(self, kind: Kind) -> bool:
        return kind.key in self.objects_by_kind or kind.key in self.errors or kind.key in self.released

    def record_error(self, kind: Kind, reason: str) -> None:
        self.errors[kind.key] = reason
        self.objects_by_kind.pop(kind.key, None)
        self._memo.clear()

    def nothing_read(self) -> str | None:
        """Why none of this answering cluster's lists could be read (the first error: every list forbidden, a token
        refused everywhere), or None when one was read, or nothing failed (kinds not served are no failure)."""
        if not self.errors or self.released or any(key not in self.not_served for key in self.objects_by_kind):
            return None
        return next(iter(self.errors.values()))

    def memoised(self, key: Any) -> bool:
        """Whether memo(key, ...) would answer without computing."""
        return key in self._memo

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key while what was collected stays the same (the collector calls
        `forget()` when it adds a kind). For derived views several checks and gates ask for, e.g. the
        gateway Deployments: at 150k pods recomputing them per check and gate adds up."""
        if key not in self._memo:
            with timing.part(timing.VIEW, key if isinstance(key, str) else str(key[0])):
                self._memo[key] = compute()
        return self._memo[key]

    def forget(self) -> None:
        self._memo.clear()

    def release(self, keep_memo: Iterable[str], keep_kinds: Iterable[str] = (),
                keep_pod_columns: Iterable[str] | None = None) -> None:
        """Drop the objects of every kind but pods and `keep_kinds` (keys) once every check has judged this
        cluster (a fleet judged cluster by cluster), keeping the derived views named in `keep_memo` (memo keys,
        or their first element) and the pod frame's `keep_pod_columns` (all when None) that later readers use:
        cross-cluster checks, cluster facts, reports. A reader of a dropped kind gets EvidenceUnavailable naming
        it, never an empty list. Build the pod frame first (pods()): its owners come from ReplicaSets and Jobs."""
        if self._pods is not None and keep_pod_columns is not None:
            frame = self._pods[[c for c in keep_pod_columns if c in self._pods.columns]]
            if "workload_name" in frame and not isinstance(frame["workload_name"].dtype, pd.CategoricalDtype):
                # Readers take it as text (astype(str)): one string per workload instead of one per pod.
                frame = frame.assign(workload_name=frame["workload_name"].astype("category"))
            self._pods = frame
        kept = set(keep_memo)
        for key in [k for k in self.objects_by_kind if k != K.POD.key and k not in keep_kinds]:
            del self.objects_by_kind[key]
            self.released.add(key)
        self._memo = {k: v for k, v in self._memo.items() if (k if isinstance(k, str) else k[0]) in kept}
        self._by_name.clear()
        self.pod_summaries, self.pod_rows = PodSummaries.empty(), []

    # -- check side
    def _require(self, kind: Kind) -> None:
        self._not_pending()
        # Phrases: the reason is said in the reader's language where a finding carries it (AA0001's message is the
        # reason alone); the error the API or the source gave stays as it was written.
        if self.unreachable:
            raise EvidenceUnavailable(Phrase(N_("cluster {cluster} unreachable: {error}"), cluster=self.name,
                                             error=self.unreachable), kind=kind.kind, cluster=self.name)
        if kind.key in self.errors:
            raise EvidenceUnavailable(Phrase(N_("could not read {kind} in {cluster}: {error}"), kind=kind.kind,
                                             cluster=self.name, error=self.errors[kind.key]),
                                      kind=kind.kind, cluster=self.name)
        if kind.key in self.released:
            raise EvidenceUnavailable(Phrase(N_("{kind} objects of {cluster} were released once its checks ran"),
                                             kind=kind.kind, cluster=self.name), kind=kind.kind, cluster=self.name)
        if kind.key not in self.objects_by_kind:
            raise EvidenceUnavailable(Phrase(N_("{kind} objects of {cluster} were not collected"), kind=kind.kind,
                                             cluster=self.name), kind=kind.kind, cluster=self.name)

    def _not_pending(self) -> None:
        if self.pending:
            raise ClusterPending(f"cluster {self.name} is not collected yet: it cannot be read while another "
                                 "cluster is judged")

    def available(self, kind: Kind) -> bool:
        self._not_pending()
        return not self.unreachable and (kind.key in self.objects_by_kind or kind.key in self.released)

    def unread_reason(self, kind: Kind) -> str:
        """Why a kind `available` says no to was not read: the API's error, the cluster unreachable, or not collected
        (a hand-made snapshot without it). An unreachable cluster says so first: its per-kind errors (connection
        refused, each) do not tell a reader that nothing of the cluster was read."""
        if self.unreachable:
            return f"cluster {self.name} unreachable: {self.unreachable}"
        return self.errors.get(kind.key) or "not collected"

    def served(self, kind: Kind) -> bool:
        """False when the API server said it does not serve the kind (CRD absent)."""
        if kind.key not in self.released:
            self._require(kind)
        return kind.key not in self.not_served

    def objects(self, kind: Kind) -> list[dict[str, Any]]:
        self._require(kind)
        if kind is K.POD:
            # Pods are summarised as they stream in and never kept whole: an empty list here would let a check
            # count no pods and pass with no evidence. Use pods() (one row per pod).
            raise TypeError("pods are not kept as objects: use ClusterInventory.pods()")
        return self.objects_by_kind[kind.key]

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The first object of `kind` with this name (and namespace, when given), as a scan in list order finds it.

        Looked up in an index built once per kind: checks call this once per workload, and a scan per call made
        gitops-drift quadratic (20,536 calls x 15,000 Deployments: 70 s of a 50k-pod audit).
        """
        index = self._index(kind)
        try:
            return index[3].get(name) if namespace is None else index[2].get((namespace, name))
        except TypeError:  # an unhashable name asked for matches no object's name in the index
            return None

    def by_namespace_and_name(self, kind: Kind) -> Mapping[tuple[Any, Any], dict[str, Any]]:
        """(namespace, name) -> the object get(kind, name, namespace) returns (the first in list order), for a
        reader asking about every workload: a dict lookup each instead of a call. Read it, never change it."""
        return self._index(kind)[2]

    def unique_index(self, kind: Kind) -> Mapping[tuple[Any, Any], dict[str, Any]] | None:
        """by_namespace_and_name when every object of the kind has a namespace, a name and a (namespace, name) no other
        has: then the object a key finds is the only one, whichever a reader would take (the first or the last), and
        no reader's default for a missing field can matter. None otherwise (malformed input: a missing namespace or
        name, the same name twice, an unhashable name). Read it, never change it."""
        index = self._index(kind)
        return index[2] if index[4] else None

    def _index(self, kind: Kind) -> tuple[Any, ...]:
        """(the list indexed, its length, (namespace, name) -> object, name -> object, whether the first holds every
        object under a key of its own, namespace and name given), built once per kind."""
        key = kind.key
        index = self._by_name.get(key)
        if index is not None:
            # Asked once per workload: _require (raising as every reader of an unreadable kind does), not objects(),
            # and the index answers while it is of the kind's current list (_indexed's test, not called: a call more
            # per lookup is ~1 ms of gitops-drift's ~20,000 at 50k pods).
            self._require(kind)
            if self.objects_by_kind.get(key) is index[0] and index[1] == len(index[0]):
                return index
        objects = self.objects(kind)
        with timing.part(timing.VIEW, "name_index"):
            index = (objects, len(objects), *_name_index(objects))
        self._by_name[key] = index
        return index

    def _indexed(self, key: str) -> bool:
        """Whether the name index of kind `key` is built and of the kind's current list."""
        index = self._by_name.get(key)
        return index is not None and self.objects_by_kind.get(key) is index[0] and index[1] == len(index[0])

    def _deployment_views(self) -> None:
        """istiod_deployments, and with it the other views of the Deployments' metadata that several checks read and
        that are not built yet (the name index: get, by_namespace_and_name...; labelled.py's), from one walk: each
        walked the Deployments (~9,500 at 50k pods) on its own, read cold each time. Asked by istiod_deployments, the
        first of them every audit reads (the plan, the pod frame's proxy classification); a reader of one of the others
        alone walks for it alone. In pieces of _WALK_PIECE, each read by every view's own walk in turn while in cache:
        no rule is stated twice. A view whose walk raises is left to its own walk, which meets the error it always met.
        """
        from auditor import labelled, rollouts  # here: they read this module

        objects = self.objects(K.DEPLOYMENT)  # raises when the Deployments were not read, as each view does
        key = K.DEPLOYMENT.key
        walks: dict[str, Any] = {_ISTIODS: _Selected(mesh.is_istiod_deployment)}
        if not self._indexed(key):
            walks["name_index"] = _NameIndex()
        if not labelled.walked(self, K.DEPLOYMENT, objects):
            walks["labelled"] = labelled.LabelWalk()
        short_key = rollouts.short_memo_key(objects)
        if not self.memoised(short_key):
            walks["short"] = _Selected(rollouts.counts_short)  # asm-proxies-ready's candidates (rollouts.py)
        if len(walks) == 1:
            return  # istiod_deployments' own walk is this walk
        with timing.part(timing.VIEW, "deployment_views"):
            for start in range(0, len(objects), _WALK_PIECE):
                piece = objects[start:start + _WALK_PIECE]
                for name, walk in list(walks.items()):
                    try:
                        walk.add(piece)
                    except Exception:  # not this walk's question: the view's own walk meets the error
                        del walks[name]
        if _ISTIODS in walks:
            self.memo(_ISTIODS, walks[_ISTIODS].result)
        if "name_index" in walks:
            self._by_name[key] = (objects, len(objects), *walks["name_index"].result())
        if "labelled" in walks:
            labelled.remember(self, K.DEPLOYMENT, objects, walks["labelled"].result())
        if "short" in walks:
            found = walks["short"].result()
            self.memo(short_key, lambda: (found, objects))  # the list walked held, so its id stays its own

    def pods(self) -> pd.DataFrame:
        """One row per pod (POD_COLUMNS plus workload_kind/workload_name); raises when pods are missing."""
        self._require(K.POD)
        if self._pods is None:
            with timing.part(timing.VIEW, "pod_frame"):
                self._pods = self._build_pod_frame()
                # The frame now holds the data: free them (~8 ms at 50k pods, the view's own work: outside its part it
                # was charged to whichever check asked first).
                self.pod_summaries, self.pod_rows = PodSummaries.empty(), []
        if self._classified_with != self._owner_evidence():
            with timing.part(timing.VIEW, "pod_frame"):
                self._classify_proxies(self._pods)
        return self._pods

    # -- proxy classification (mesh.classify), once the istiod Services are known
    def _owner_evidence(self) -> tuple[bool, bool, bool]:
        return self.available(K.SERVICE), self.available(K.DEPLOYMENT), self.available(K.MUTATING_WEBHOOK)

    def istiod_owners(self) -> dict[str, tuple[str, str]]:
        """`<ns>/<name>` of each istiod Service -> (mesh.OWNER_*, why); {} when Services or Deployments are
        unreadable (then no CA_ADDR proves anything: mesh.OWNER_UNPROVEN). The injector webhooks (a fact kind, read in
        every gate) are read when they can be: which Service Istio's injector calls."""
        service_read, deployment_read, webhook_read = self._owner_evidence()
        if not (service_read and deployment_read):
            return {}
        return self.memo("istiod_owners", lambda: mesh.istiod_owners(
            self.objects(K.SERVICE), self.istiod_deployments(),
            self.objects(K.MUTATING_WEBHOOK) if webhook_read else []))

    def istiod_deployments(self) -> list[dict[str, Any]]:
        """Self-built istiod Deployments (mesh.is_istiod_deployment) in the order read, the proxy classification's
        included."""
        if _ISTIODS not in self._memo:
            self._deployment_views()  # raises as _deployments_where does when the Deployments cannot be read
        return self._deployments_where(_ISTIODS, mesh.is_istiod_deployment)

    def istio_operator_deployments(self) -> list[dict[str, Any]]:
        """The in-cluster istio-operator's Deployments (mesh.is_istio_operator) in the order read: for istio-revisions,
        istio-control-plane-removed and the mesh config's note."""
        return self._deployments_where(_OPERATORS, mesh.is_istio_operator)

    def waypoint_deployments(self) -> list[dict[str, Any]]:
        """Istio's ambient waypoint proxies (mesh.is_waypoint_deployment) in the order read: for ambient-mode."""
        return self._deployments_where(_WAYPOINTS, mesh.is_waypoint_deployment)

    def found_deployment_views(self, operators: list[dict[str, Any]], waypoints: list[dict[str, Any]]) -> None:
        """What mesh.is_istio_operator and mesh.is_waypoint_deployment said yes to in a whole walk of this cluster's
        current Deployments, in the order read (the gateway scan's, which has each Deployment's metadata and template
        at hand): istio_operator_deployments and waypoint_deployments then walk none (istio-revisions ~15 -> ~3.5 ms,
        ambient-mode ~4 -> ~1 ms at 50k pods). A walker that did not finish, or met an error, calls nothing."""
        self.memo(_OPERATORS, lambda: operators)
        self.memo(_WAYPOINTS, lambda: waypoints)

    def _deployments_where(self, key: str, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The Deployments `wanted` says yes to, in the order read: one scan of the Deployments (tens of thousands at
        scale) per cluster for every reader, memoised as `key`."""
        deployments = self.objects(K.DEPLOYMENT)  # raises when they were not read, also once memoised
        return list(self.memo(key, lambda: [d for d in deployments if wanted(d)]))

    def proxy_marks(self, asm_env: bool, image_kind: str, ca_service: str, image: str = "") -> mesh.ProxyMarks:
        """The marks of a proxy; `ca_service` is the pod frame's column (mesh.istiod_services: the istiod its CA_ADDR
        names, and the one its discoveryAddress names where another)."""
        owners = self.istiod_owners()
        read = all(self._owner_evidence()[:2])
        found = []
        for service in str(ca_service).split(mesh.SERVICES_SEPARATOR):
            if not service:
                continue
            by_annotation = service.startswith(mesh.ANNOTATION_NAMED)
            known = owners.get(service.removeprefix(mesh.ANNOTATION_NAMED))
            # Services and Deployments read, neither named so: the istiod it names is not in the cluster (Istio's,
            # purged: ASM's managed one leaves its istiod-<rev> Service). No proof of ASM's, nor a neutral mark; named
            # by the pod's own annotation (no injector's), Istio's gone istiod whatever ASM's env says.
            absent = mesh.OWNER_ISTIO if by_annotation else mesh.OWNER_ABSENT
            found.append(known[0] if known is not None else absent if read else mesh.OWNER_UNPROVEN)
        return mesh.ProxyMarks(bool(asm_env), str(image_kind), mesh.worst_owner(found), str(image), str(ca_service))

    def _classify_proxies(self, frame: pd.DataFrame) -> None:
        """Set `proxy` from each pod's marks: one decision per distinct (ASM env, image kind, CA service)."""
        self._classified_with = self._owner_evidence()
        if frame.empty:
            return
        # From the columns' category codes, not their text: one number per pod names its marks, and each distinct
        # number is decided once (converting three columns to text per pod cost 15 ms of a 50k-pod frame).
        kind_texts, kind_codes = _category_texts(frame["image_kind"])
        ca_texts, ca_codes = _category_texts(frame["ca_service"])
        marks = (frame["asm_env"].to_numpy(dtype=bool) * len(kind_texts) + kind_codes) * len(ca_texts) + ca_codes
        proxied = (frame["proxy"] != mesh.PROXY_NONE).to_numpy()
        distinct, which = np.unique(marks[proxied], return_inverse=True)
        decided = [_PROXY_KINDS.index(mesh.classify(self.proxy_marks(
            bool(m // len(ca_texts) // len(kind_texts)), kind_texts[m // len(ca_texts) % len(kind_texts)],
            ca_texts[m % len(ca_texts)]))) for m in distinct.tolist()]
        codes = np.zeros(len(frame), dtype=np.int8)  # mesh.PROXY_NONE
        codes[proxied] = np.asarray(decided, dtype=np.int8)[which]
        frame["proxy"] = pd.Categorical.from_codes(codes, categories=_PROXY_KINDS)

    def _owner_map(self, kind: Kind) -> dict[tuple[str, str], tuple[str, str]]:
        if not self.available(kind):
            return {}
        out = {}
        for obj in self.objects(kind):
            meta = obj.get("metadata") or {}
            # controller_owner's rule, inline: one call per ReplicaSet (~16,000 at 50k pods) is what the pod frame
            # does not pay (tests/test_pod_frame_cost.py).
            for ref in meta.get("ownerReferences") or ():
                if ref.get("controller", True):
                    out[(meta.get("namespace", ""), meta.get("name", ""))] = (ref.get("kind", ""),
                                                                              ref.get("name", ""))
                    break
        return out

    def _build_pod_frame(self) -> pd.DataFrame:
        summaries = self.pod_summaries
        if self.pod_rows:  # rows handed in whole, after what was collected
            summaries = PodSummaries(profiles=[*summaries.profiles], rows=[*summaries.rows])
            summaries.add_whole_rows(self.pod_rows)
        if not summaries.rows:
            frame = pd.DataFrame.from_records([], columns=list(POD_COLUMNS))
            frame["workload_kind"] = pd.Series(dtype="object")
            frame["workload_name"] = pd.Series(dtype="object")
            return frame
        # One tuple per column: of the profiles, and of the pods' rows (each its profile's number first).
        profiles = dict(zip(_PROFILE_COLUMNS, zip(*summaries.profiles, strict=True), strict=True))
        own = dict(zip(("profile", *_OWN_COLUMNS), zip(*summaries.rows, strict=True), strict=True))
        count = len(summaries.rows)
        numbers = np.fromiter(own.pop("profile"), dtype=np.intp, count=count)
        # The pods' own values as objects once: for their columns, and the names of the pods that are their workload.
        own_values = {name: np.fromiter(values, dtype=object, count=count) for name, values in own.items()}
        workloads = self._workloads(profiles)
        columns = _columns_of_summaries(profiles, own_values, numbers)
        kinds, names = _workload_columns(workloads, numbers, own_values["name"])
        if columns is not None and isinstance(names, pd.Categorical):
            return pd.DataFrame({**columns, "workload_kind": kinds, "workload_name": names}, copy=False)
        frame = _frame_of_records(summaries.whole_rows()) if columns is None else pd.DataFrame(columns, copy=False)
        frame["workload_kind"] = kinds
        frame["workload_name"] = names
        return frame

    def _workloads(self, profiles: dict[str, tuple]) -> list[tuple[str, str]]:
        """Each profile's workload (kind, name): its owner, through its ReplicaSet (Deployment) or Job (CronJob) when
        those are readable; _BARE for a profile of pods without an owner (each pod is its own workload). Resolved once
        per distinct owner of the profiles (a 150k-pod cluster has far fewer)."""
        rs_owner = self._owner_map(K.REPLICASET)
        job_owner = self._owner_map(K.JOB)
        have_rs = self.available(K.REPLICASET)
        owners = list(zip(profiles["namespace"], profiles["owner_kind"], profiles["owner_name"],
                          profiles["template_hash"], strict=True))
        resolved = _resolve_owners(dict.fromkeys(owners), rs_owner, job_owner, have_rs, self._advanced_workloads())
        # A bare pod's owner is in no `resolved`: dict.get gives it _BARE.
        return list(map(resolved.get, owners, itertools.repeat(_BARE)))

    def _advanced_workloads(self) -> dict[tuple[str, str, str], str]:
        """(namespace, kind, name) of each OpenKruise Advanced StatefulSet/DaemonSet read -> its workload kind
        (kinds.workload_kind): its pods' controller reference names the built-in's kind. Where a built-in of the same
        namespace and name was read too, the pods stay the built-in's (which one owns them is not kept)."""
        out: dict[tuple[str, str, str], str] = {}
        for kind, builtin in ((K.ADVANCED_STATEFULSET, K.STATEFULSET), (K.ADVANCED_DAEMONSET, K.DAEMONSET)):
            if not self.available(kind):
                continue
            objects = self.objects(kind)
            if not objects:
                continue
            shadowing = self.by_namespace_and_name(builtin) if self.available(builtin) else {}
            for obj in objects:
                meta = obj.get("metadata") or {}
                key = (meta.get("namespace", ""), meta.get("name", ""))
                if key not in shadowing:
                    out[(key[0], kind.kind, key[1])] = K.workload_kind(kind)
        return out


_BARE = ("Pod", None)  # the workload of a pod without an owner: itself (its name is its own)


def _workload_columns(workloads: list[tuple[str, str]], numbers: np.ndarray, pod_names: np.ndarray
                      ) -> tuple[Any, Any]:
    """The frame's workload_kind and workload_name of the pods whose profiles (`numbers`) have these `workloads`
    (a bare profile's pods named by `pod_names`), as categories in text order: every grouping per workload then
    sorts by their codes. Typed and coded once per profile and taken per pod, so only the profiles' owners and the
    bare pods' names are factorized, not one name per pod. Not all text (a malformed live answer): the kinds as
    pd.Categorical infers them, the names as a list."""
    count = len(workloads)
    bare_profiles = np.fromiter(map(operator.is_, workloads, itertools.repeat(_BARE)), dtype=bool, count=count)
    bare = bare_profiles[numbers]
    profile_kinds, profile_names = zip(*workloads, strict=True)
    kinds = np.fromiter(profile_kinds, dtype=object, count=count)
    typed_kinds = _typed_column(kinds, categorical=True)
    kind_column = pd.Categorical(kinds[numbers].tolist()) if typed_kinds is None else typed_kinds.take(numbers)
    names = np.fromiter(profile_names, dtype=object, count=count)
    owned = ~bare_profiles
    owner_names, bare_names = names[owned], pod_names[bare]
    typed_names = _typed_column(np.concatenate((owner_names, bare_names)), categorical=True)
    if typed_names is None:
        per_pod = names[numbers]
        per_pod[bare] = bare_names
        return kind_column, per_pod.tolist()
    codes = typed_names.codes
    profile_codes = np.full(count, -1, dtype=codes.dtype)  # a bare profile's pods are coded by their own names
    profile_codes[owned] = codes[:len(owner_names)]
    pod_codes = profile_codes[numbers]
    pod_codes[bare] = codes[len(owner_names):]
    return kind_column, pd.Categorical.from_codes(pod_codes, dtype=typed_names.dtype)


def _columns_of_summaries(profiles: dict[str, tuple], own: dict[str, np.ndarray], numbers: np.ndarray
                          ) -> dict[str, Any] | None:
    """The columns (POD_COLUMNS) of (non-empty) pod summaries (`profiles`: their values per column; `own`: the pods'
    own values as objects; `numbers`: each pod's profile), the _CATEGORICAL ones as categories.

    Built column by column from each column's type, told once per column (categories from codes): a profile's column
    from the profiles, then taken per pod. from_records then astype("category") guess each column's type
    value by value and factorize text columns twice: ~30% slower at 50k pods. None when a column holds anything
    else (a malformed live answer): the caller then takes that path, so the frame is the same."""
    typed = _shared_categories(profiles, numbers)
    if typed is None:
        return None
    for name, values in profiles.items():
        if name in typed:
            continue
        column = _typed_column(np.fromiter(values, dtype=object, count=len(values)), name in _CATEGORICAL)
        if column is None:
            return None
        typed[name] = column.take(numbers)
    for name, values in own.items():
        column = _typed_column(values, name in _CATEGORICAL)
        if column is None:
            return None
        typed[name] = column
    return {name: typed[name] for name in POD_COLUMNS}


# The categorical columns of a profile that take few combinations in a cluster (a proxy build and its settings, a
# phase, a role: 57 combinations of 15k profiles at 50k pods); the namespace (thousands) is typed on its own.
_SHARED_CATEGORIES = tuple(column for column in _PROFILE_COLUMNS if column in _CATEGORICAL and column != "namespace")


def _shared_categories(profiles: dict[str, tuple], numbers: np.ndarray) -> dict[str, Any] | None:
    """The _SHARED_CATEGORIES columns per pod (`numbers`: each pod's profile), each typed over the distinct
    combinations of their values among the profiles, then taken per pod: one hash of a tuple per profile instead of
    a factorization of every profile per column. The same categories and codes: a combination keeps the values of
    the first profile that has it, so a column's distinct values come in the order (and as the objects) they come
    among the profiles. None when a column is not all text (see _typed_column)."""
    columns = [profiles[column] for column in _SHARED_CATEGORIES]
    first: dict[tuple, int] = {}
    try:
        # Per profile, the first profile with its combination.
        firsts = np.fromiter(map(first.setdefault, zip(*columns, strict=True), itertools.count()), dtype=np.intp,
                             count=len(columns[0]))
    except TypeError:  # an unhashable value: each profile on its own (_typed_column tells what it is)
        values, per_pod = columns, numbers
    else:
        _, combination = np.unique(firsts, return_inverse=True)  # numbered in the order they first come
        values, per_pod = list(zip(*first, strict=True)), combination[numbers]
    typed: dict[str, Any] = {}
    for column, column_values in zip(_SHARED_CATEGORIES, values, strict=True):
        typed_values = _typed_column(np.fromiter(column_values, dtype=object, count=len(column_values)), True)
        if typed_values is None:
            return None
        typed[column] = typed_values.take(per_pod)
    return typed


def _frame_of_records(rows: list[tuple]) -> pd.DataFrame:
    """The frame of summary rows whose columns hold values of other types: pandas infers each column's type."""
    frame = pd.DataFrame.from_records(rows, columns=list(POD_COLUMNS))
    for col in _CATEGORICAL:
        frame[col] = frame[col].astype("category")
    return frame


def _typed_column(values: np.ndarray, categorical: bool) -> Any:
    """`values` (objects) as from_records (then astype("category")) makes them when all are text, booleans or 64-bit
    integers; None otherwise (missing values, mixed types)."""
    if categorical:
        # The values are all text when none is unhashable (TypeError) or missing (code -1) and the distinct ones are
        # all text: infer_dtype asked of the few distinct values, not of every value (a pass fewer per column).
        try:
            codes, uniques = pd.factorize(values)
        except TypeError:
            return None
        if (codes < 0).any() or pd.api.types.infer_dtype(uniques, skipna=False) != "string":
            return None
        order = np.argsort(uniques, kind="stable")  # categories in text order, as astype("category") sorts them
        rank = np.empty(len(order), dtype=codes.dtype)
        rank[order] = np.arange(len(order), dtype=codes.dtype)
        return pd.Categorical.from_codes(rank[codes], dtype=pd.CategoricalDtype(pd.Index(uniques[order], dtype="str")))
    inferred = pd.api.types.infer_dtype(values, skipna=False)
    if inferred == "string":
        return pd.array(values, dtype="str")
    if inferred == "boolean":
        return values.astype(bool)
    if inferred == "integer":
        try:
            return values.astype(np.int64)
        except OverflowError:  # beyond 64 bits: from_records decides (unsigned or objects)
            return None
    return None


_PROXY_KINDS = [mesh.PROXY_NONE, mesh.PROXY_ISTIO, mesh.PROXY_ASM, mesh.PROXY_UNKNOWN]  # the `proxy` categories


def _category_texts(column: pd.Series) -> tuple[list[str], np.ndarray]:
    """A categorical column's category texts (as astype(str) writes them) and each row's index into them (a missing
    value: one more text, last)."""
    texts = column.cat.categories.astype(str).tolist()
    codes = column.cat.codes.to_numpy(dtype=np.int64)
    missing = codes < 0
    if missing.any():
        texts.append(str(column[missing].astype(str).iloc[0]))
        codes = np.where(missing, len(texts) - 1, codes)
    return texts, codes


def _resolve_owners(owners: Iterable[tuple[str, str, str, str]], rs_owner: dict, job_owner: dict, have_rs: bool,
                    advanced: dict[tuple[str, str, str], str] | None = None
                    ) -> dict[tuple[str, str, str, str], tuple[str, str]]:
    """Each owner (namespace, kind, name, pod-template-hash) of pods that have one (a kind) -> the workload (kind,
    name) the pods belong to. One loop over the distinct owners, not a call per owner. `advanced`: the owners whose
    kind name is a built-in's but who are OpenKruise's (ClusterInventory._advanced_workloads), with their kind."""
    resolved = {}
    for owner in owners:
        ns, okind, oname, thash = owner
        if not okind:
            continue
        if okind == "ReplicaSet":
            workload = rs_owner.get((ns, oname))
            if not workload:
                # ReplicaSets not readable: Deployment-made names end with -<pod-template-hash>.
                workload = (("Deployment", oname[: -len(thash) - 1])
                            if not have_rs and thash and oname.endswith("-" + thash) else ("ReplicaSet", oname))
        elif okind == "Job":
            workload = job_owner.get((ns, oname))
            if not workload or workload[0] != "CronJob":
                workload = ("Job", oname)
        else:
            workload = (advanced.get((ns, okind, oname), okind) if advanced else okind, oname)
        resolved[owner] = workload
    return resolved


@dataclass
class Inventory:
    """All clusters of one audit plus what no Kubernetes object tells (ASM OpenAPI answers, traffic)."""

    data_planes: list[ClusterInventory]
    asm: ClusterInventory | None = None
    asm_openapi: dict[str, Any] = field(default_factory=dict)
    traffic: Any = None  # filled by the Prometheus source when configured
    rules: mesh.ProxyRules = field(default_factory=mesh.ProxyRules)

    def clusters(self) -> Iterable[ClusterInventory]:
        yield from self.data_planes
        if self.asm is not None:
            yield self.asm

    def openapi_answer(self, action: str) -> dict[str, Any] | None:
        """ASM's OpenAPI answer to `action` (live, snapshot or config), None when nobody gave one.

        Raises EvidenceUnavailable with the recorded line when reading it live failed: the checks that
        needed it are UNKNOWN with the action and the error code, never judged on a fallback."""
        answer = self.asm_openapi.get(action)
        if isinstance(answer, dict) and answer:
            return answer
        error = (self.asm_openapi.get("_errors") or {}).get(action)
        if error:
            raise EvidenceUnavailable(str(error))
        return None

    def openapi_origin(self, action: str) -> str:
        """Where an OpenAPI answer in asm_openapi came from, for messages and evidence (a Phrase: a message says it in
        the reader's language)."""
        named = (self.asm_openapi.get("_origins") or {}).get(action)  # a file named in the config
        if named:
            return str(named)
        read = self.asm_openapi.get("_read_from")
        if isinstance(read, dict):
            return Phrase(N_("ASM OpenAPI {action} of mesh {mesh_id} in {region} (read {read_at})"), action=action,
                          mesh_id=read.get("mesh_id"), region=read.get("region"), read_at=read.get("read_at"))
        return Phrase(N_("ASM OpenAPI {action} answer (snapshot)"), action=action)

    def require_asm(self) -> ClusterInventory:
        if self.asm is None:
            raise EvidenceUnavailable(Phrase(N_(
                "no ASM control plane given: pass --asm-kubeconfig (or set ASM_KUBECONFIG), "
                "or include asm/ in the snapshot")))
        return self.asm
