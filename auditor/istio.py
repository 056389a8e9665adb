"""Istio's installed pieces as several checks see them: istiod Deployments, sidecar pods, kube-injected templates.

Shared domain helpers live here (and in mesh.py, gateways.py, asm.py), never in a check module: checks do not
import each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from auditor import kinds as K
from auditor import mesh, podwire
from auditor.check import ClusterCheck
from auditor.config import mesh_config_problem
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.inventory import ACTIVE_PHASES, ClusterInventory, controller_owner, workload_rows
from auditor.model import Finding, Outcome


def mesh_configmap_name(dep: dict[str, Any]) -> str:
    """The ConfigMap istiod reads its mesh config from: its `config-volume` (Istio's charts), else by revision."""
    volumes = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or ()
    for volume in volumes:
        name = str(((volume.get("configMap") or {}).get("name")) or "")
        if volume.get("name") == "config-volume" and name:
            return name
    revision = mesh.istiod_revision(dep)
    return "istio" if revision == "default" else f"istio-{revision}"


def mesh_configmap_of(dep: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) of the ConfigMap istiod reads: its own namespace's (pilot-discovery watches POD_NAMESPACE,
    a volume mounts its pod's namespace's; pilot/pkg/bootstrap/mesh.go @1.30.3), istio-system only if unnamed."""
    return (dep.get("metadata") or {}).get("namespace") or "istio-system", mesh_configmap_name(dep)


# istiod's env naming a ConfigMap of its namespace (key `mesh`) that it reads under its own mesh config: defaults <
# that ConfigMap < istiod's mesh config, the same overlay as one source on another (pilot/pkg/features/pilot.go
# SharedMeshConfig; pilot/pkg/bootstrap/mesh.go getConfigurationSources, "User configuration is applied first";
# pkg/config/mesh/meshwatcher/collection.go NewCollection; pkg/config/mesh/mesh.go ApplyMeshConfig, @1.30.3; in
# pilot/pkg/bootstrap since 1.10; @1.22.3 pilot/pkg/bootstrap/mesh.go initMeshConfiguration, kubemesh.AddUserMeshConfig,
# pkg/config/mesh/watcher.go merged(): the user config applied on the defaults, the revision's on that). An invalid one
# is ignored ("invalid mesh config, ignoring"; @1.22.3 "user config invalid, ignoring it").
SHARED_MESH_CONFIG = "SHARED_MESH_CONFIG"


def shared_mesh_config(dep: dict[str, Any]) -> str | None:
    """The ConfigMap an istiod Deployment's SHARED_MESH_CONFIG names (its discovery container's env), or None."""
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for container in containers:
        if not isinstance(container, dict) or container.get("name") not in ("discovery", None):
            continue
        for env in container.get("env") or ():
            if isinstance(env, dict) and env.get("name") == SHARED_MESH_CONFIG and env.get("value"):
                return str(env["value"])
    return None


def applied_shared_mesh(cluster: ClusterInventory, namespace: str, name: str | None
                        ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the ConfigMap, its mesh config) of the shared ConfigMap `name` an istiod of `namespace` reads under its own
    mesh config (SHARED_MESH_CONFIG), None when there is none it applies: not named, absent, no `mesh` key, or an
    invalid mesh config (istiod ignores it: "user config invalid, ignoring it", pkg/config/mesh/watcher.go @1.22.3)."""
    cm = cluster.get(K.CONFIGMAP, name, namespace) if name else None
    if cm is None or "mesh" not in (cm.get("data") or {}):
        return None
    try:
        config = mesh.parse_mesh(cm)
    except ValueError:
        return None
    return None if mesh_config_problem(config) else (cm, config)


# ---------------------------------------------------------------- the in-cluster istio-operator's hold on its objects
# What the istio-operator (Istio 1.10..1.23, `istioctl operator init`) labels every object it renders with: the
# IstioOperator it renders it from (getCoreOwnerLabels, istio/istio@1.20.0 operator/pkg/helmreconciler/reconciler.go;
# common.go). istioctl labels its own objects with its record `installed-state[-<rev>]` and Istio's Helm charts with
# `unknown`: neither is an IstioOperator the operator reconciles (istioctl annotates its record IGNORE_RECONCILE).
OWNING_RESOURCE = "install.operator.istio.io/owning-resource"
OWNING_RESOURCE_NAMESPACE = "install.operator.istio.io/owning-resource-namespace"
IGNORE_RECONCILE = "install.istio.io/ignoreReconcile"
_NO_OWNING_RESOURCE = ("", "unknown")


@dataclass(frozen=True)
class OperatorHold:
    """An object the running istio-operator renders from an IstioOperator it reconciles: the operator applies the
    rendered object over whatever was changed beside it when its pod starts (controller-runtime lists the
    IstioOperators, operatorPredicates.CreateFunc -> Reconcile, and a new pod's object cache is empty so ApplyManifest
    applies every object) and when the IstioOperator changes; an edit of the object itself triggers nothing
    (ownedResourcePredicates.UpdateFunc returns false): istio/istio@1.10.6, 1.20.0, 1.23.6
    operator/pkg/controller/istiocontrolplane/istiocontrolplane_controller.go, operator/pkg/helmreconciler/apply.go."""

    operator: str                  # namespace/name of the operator Deployment
    namespace: str                 # the IstioOperator's
    name: str
    iop: dict[str, Any] | None     # None when not read (unread says why) or not found
    unread: str = ""

    @property
    def subject(self) -> str:
        return f"{self.namespace}/{self.name}"


def _operator_env(dep: dict[str, Any]) -> dict[str, str | None]:
    """The operator container's env values as written (None: set from valueFrom, not known here)."""
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    chosen = next((c for c in containers if isinstance(c, dict) and c.get("name") == "istio-operator"),
                  containers[0] if containers and isinstance(containers[0], dict) else {})
    out: dict[str, str | None] = {}
    for env in chosen.get("env") or ():
        if isinstance(env, dict) and isinstance(env.get("name"), str):
            value = env.get("value")
            out[env["name"]] = None if "valueFrom" in env else str(value or "")
    return out


def _operator_reconciles(dep: dict[str, Any], namespace: str, revision: str) -> bool:
    """Whether istio-operator Deployment `dep` reconciles an IstioOperator in `namespace` of `revision`: its REVISION
    env is empty or that revision (Reconcile skips the others), its WATCH_NAMESPACE empty (every namespace) or
    listing it (getWatchNamespaces, operator/cmd/operator/server.go @1.20.0); scaled to zero, it reconciles nothing.
    A value set from valueFrom is taken as matching."""
    if (dep.get("spec") or {}).get("replicas") == 0:
        return False
    env = _operator_env(dep)
    operator_revision = env.get("REVISION", "")
    if operator_revision and operator_revision != ("" if revision == "default" else revision):
        return False
    watched = env.get("WATCH_NAMESPACE", "")
    return not watched or namespace in [w.strip() for w in watched.split(",")]


def operator_hold(cluster: ClusterInventory, obj: dict[str, Any]) -> OperatorHold | None:
    """The running istio-operator's hold on `obj` (see OperatorHold), None when no operator Deployment reconciles
    the IstioOperator its labels name, or that IstioOperator is istioctl's record (ignoreReconcile) or gone."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    owner = str(labels.get(OWNING_RESOURCE) or "")
    if owner in _NO_OWNING_RESOURCE:
        return None
    namespace = str(labels.get(OWNING_RESOURCE_NAMESPACE) or meta.get("namespace") or "")
    revision = str(labels.get("istio.io/rev") or "default")
    operators = [d for d in cluster.istio_operator_deployments()
                 if not mesh.is_sail_operator(d) and _operator_reconciles(d, namespace, revision)]
    if not operators:
        return None
    op_meta = operators[0].get("metadata") or {}
    operator = f"{op_meta.get('namespace') or ''}/{op_meta.get('name') or ''}"
    if not cluster.available(K.ISTIOOPERATOR):
        if owner.startswith("installed-state"):  # istioctl's record: never reconciled by the operator
            return None
        return OperatorHold(operator, namespace, owner, None, cluster.unread_reason(K.ISTIOOPERATOR))
    iop = cluster.get(K.ISTIOOPERATOR, owner, namespace)
    if iop is None or str(((iop.get("metadata") or {}).get("annotations") or {}).get(IGNORE_RECONCILE)) == "true":
        return None
    return OperatorHold(operator, namespace, owner, iop)


def iop_patch_command(cluster: str, hold: OperatorHold) -> str:
    """The merge patch that sets PROXY_CONFIG_XDS_AGENT: "true" in the mesh config of the IstioOperator `hold` names:
    the operator reconciles the change and renders the mesh ConfigMap and its gateways with it."""
    patch = '{"spec":{"meshConfig":{"defaultConfig":{"proxyMetadata":{"' + mesh.XDS_AGENT_KEY + '":"true"}}}}}'
    return (f"{mesh.kubectl_in(cluster, hold.namespace)} patch "
            f"{mesh.object_ref('istiooperators.install.istio.io', hold.name)} --type=merge -p {mesh.sh(patch)}")


def iop_proxy_metadata(iop: dict[str, Any], key: str) -> tuple[bool, Any]:
    """(found, value) of defaultConfig.proxyMetadata[key] in the mesh config an IstioOperator renders: spec.meshConfig
    over spec.values.meshConfig (translate.go APIMapping "meshConfig" -> values meshConfig, istio/istio@1.20.0
    operator/pkg/translate/translate.go). Istio's profiles do not set PROXY_CONFIG_XDS_AGENT."""
    spec = iop.get("spec") if isinstance(iop.get("spec"), dict) else {}
    values = spec.get("values") if isinstance(spec.get("values"), dict) else {}
    for config in (spec.get("meshConfig"), values.get("meshConfig")):
        default = config.get("defaultConfig") if isinstance(config, dict) else None
        metadata = default.get("proxyMetadata") if isinstance(default, dict) else None
        if isinstance(metadata, dict) and key in metadata:
            return True, metadata[key]
    return False, None


def istiods(cluster: ClusterInventory) -> list[dict[str, Any]]:
    """Self-built istiod Deployments (label app=istiod), sorted by revision; ASM's control plane has none."""
    return sorted(cluster.istiod_deployments(), key=lambda d: (mesh.istiod_revision(d), d["metadata"].get("name", "")))


def istiod_image(dep: dict[str, Any]) -> str:
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for c in containers:
        if c.get("name") == "discovery" or "/pilot" in (c.get("image") or ""):
            return c.get("image") or ""
    return (containers[0].get("image") or "") if containers else ""


def istiod_pinned_version(dep: dict[str, Any]) -> tuple[mesh.Version | None, str]:
    """The version the istiod image pins, or None with why. Labels are only reported, never trusted:
    an image `pilot:latest` or `pilot@sha256:...` runs whatever was pulled, whatever the install labels say. Only an
    Istio release (1.x) is a version here: a Maistra / OpenShift Service Mesh istiod's tag numbers the product."""
    image = istiod_image(dep)
    maistra = mesh.maistra_version(dep)
    if maistra is not None:
        # Maistra / OpenShift Service Mesh: its image tags (2.0.8, 2.1.0...) number the product, built on an older
        # Istio (mesh.ISTIO_MAJOR): read as Istio's, 2.0 passed as "Istio 2.0.8 >= 1.10".
        return None, Phrase(N_("istiod of Maistra / OpenShift Service Mesh {product} (label {label}): its image "
                               "{image} is tagged with the product's version, not the Istio release it is built on"),
                            product=maistra, label=mesh.MAISTRA_VERSION_LABEL, image=repr(image))
    # The reasons are Phrases: AA0230 carries them inside its sentence, said in the reader's language.
    tag = mesh.image_tag(image)
    parsed = mesh.parse_version(tag)
    version = mesh.istio_release(parsed)
    if version:
        return version, Phrase(N_("image {image}"), image=image)
    if tag is None:
        why = Phrase(N_("image {image} is pinned by digest or has no tag"), image=repr(image))
    elif parsed is not None:
        why = Phrase(N_("image tag {tag} of {image} is not an Istio release (Istio's are {major}.x)"), tag=repr(tag),
                     image=repr(image), major=mesh.ISTIO_MAJOR)
    else:
        why = Phrase(N_("image tag {tag} of {image} is not a version"), tag=repr(tag), image=repr(image))
    claimed, source = mesh.istiod_version(dep)
    if claimed and source.startswith("label"):
        why = Phrase(N_("{why}; the install {source} claims {claimed}, confirm it with `istioctl version`"), why=why,
                     source=source, claimed=claimed)
    return None, why


WORKLOAD_KEY = ["namespace", "workload_kind", "workload_name"]


def istio_sidecar_rows(pods: pd.DataFrame) -> np.ndarray:
    """Which pods are active and run Istio's proxy as a sidecar (gateways excluded): a numpy mask, so that a reader
    takes only the columns it reads of those rows (pod_columns) and copies no frame."""
    return (among(pods["proxy"], (mesh.PROXY_ISTIO,)) & among(pods["role"], (mesh.ROLE_SIDECAR,))
            & among(pods["phase"], ACTIVE_PHASES))


def replica_rows(pods: pd.DataFrame) -> np.ndarray:
    """Which pods their controller counts among its replicas: active (ACTIVE_PHASES) and not being deleted (column
    `deleting`: metadata.deletionTimestamp set), the ReplicaSet, Job and DaemonSet controllers' rule
    (kubernetes/kubernetes pkg/controller/controller_utils.go IsPodActive): a Terminating pod runs only until its grace
    period ends, its endpoints are no longer ready, and its controller makes another in its place. A numpy mask;
    without the column (a frame of another make), the active pods."""
    rows = among(pods["phase"], ACTIVE_PHASES)
    if "deleting" in pods:
        rows = rows & ~pods["deleting"].to_numpy(dtype=bool)
    return rows


def istio_proxy_rows(pods: pd.DataFrame) -> np.ndarray:
    """Which pods are active and run Istio's proxy, sidecars and gateways alike (not ambient's ztunnel or waypoints):
    a numpy mask, so that a reader narrowing it further selects the rows once."""
    # Ambient proxies (ztunnel, waypoints) are left to the ambient-mode check.
    return (among(pods["proxy"], (mesh.PROXY_ISTIO,)) & ~among(pods["role"], (mesh.ROLE_AMBIENT,))
            & among(pods["phase"], ACTIVE_PHASES))


def proxyless_rows(pods: pd.DataFrame) -> np.ndarray:
    """Which pods are active proxyless gRPC apps whose injected xDS bootstrap names an istiod (the `xds_server` column,
    mesh.proxyless_xds_server), not already counted by their own proxy as still on Istio's (or unclassifiable): a numpy
    mask. Without the column (a frame of another make), none."""
    if "xds_server" not in pods:
        return np.zeros(len(pods), dtype=bool)
    return (~among(pods["xds_server"], ("",)) & ~among(pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN))
            & among(pods["phase"], ACTIVE_PHASES))


# The owner proxyless_server_owner gives an istiod the cluster's Services and Deployments (read) do not show: the app's
# bootstrap names a host that does not resolve, so it gets no configuration at all.
SERVER_ABSENT = "absent"


def proxyless_server_owner(cluster: ClusterInventory, server: str) -> tuple[str, str]:
    """(mesh.OWNER_*, why) of the istiod a proxyless bootstrap names (`<namespace>/<service>`, or
    mesh.XDS_SERVER_UNREADABLE): OWNER_ASM only when istiod_owners proves that Service ASM's; OWNER_ISTIO when it
    proves it Istio's; SERVER_ABSENT when both kinds were read and neither shows it; OWNER_UNPROVEN (or
    OWNER_CONFLICT) with the reason otherwise, never a guess."""
    if server == mesh.XDS_SERVER_UNREADABLE:
        return mesh.OWNER_UNPROVEN, Phrase(N_("its grpc-bootstrap-init container names no istiod Service this audit "
                                              "can read (a changed injection template?)"))
    unread = [kind for kind in (K.SERVICE, K.DEPLOYMENT) if not cluster.available(kind)]
    if unread:
        return mesh.OWNER_UNPROVEN, "; ".join(f"{kind.kind} unread: {cluster.unread_reason(kind)}" for kind in unread)
    try:
        owner = cluster.istiod_owners().get(server)
    except EvidenceUnavailable as exc:  # released before anything asked (a fleet's report, after its checks)
        return mesh.OWNER_UNPROVEN, exc.reason
    if owner is None:
        return SERVER_ABSENT, f"no istiod Service or Deployment {server} is in the cluster"
    return owner


def among(column: pd.Series, values: tuple[Any, ...]) -> np.ndarray:
    """`column.isin(values)` as a numpy mask. A categorical's (the pod frame's) from its codes: one comparison of the
    codes per category among `values`, where isin hashes every row (~0.1-0.2 ms however few the categories)."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return column.isin(values).to_numpy()
    array = column.array
    codes = array.codes
    found = np.zeros(len(codes), dtype=bool)
    for code, category in enumerate(array.categories.tolist()):
        if category in values:
            found |= codes == code
    return found


def equal_to(column: pd.Series, value: Any) -> np.ndarray:
    """`(column == value).to_numpy()`. A categorical's from its codes, `value` found among the categories by one numpy
    comparison: `==` on a categorical first builds a hash table of its categories (~20,000 workload names at 50k pods,
    ~1 ms), and among() compares them one by one in Python."""
    if not isinstance(column.dtype, pd.CategoricalDtype) or not isinstance(value, str):
        return (column == value).to_numpy()
    array = column.array
    found = np.flatnonzero(array.categories.to_numpy(dtype=object) == value)  # categories are distinct: one at most
    if not len(found):
        return np.zeros(len(array), dtype=bool)
    return array.codes == found[0]


def pod_columns(pods: pd.DataFrame, rows: np.ndarray, columns: Iterable[str]) -> pd.DataFrame:
    """`pods.loc[rows, columns]`, its rows numbered from 0: a frame of each column's own array (categories kept) at
    `rows`, without loc's take of the index and copy through the frame's blocks (~0.2-0.4 ms per selection)."""
    return pd.DataFrame({column: pods[column].array[rows] for column in columns}, copy=False)


ON_ISTIO_MESSAGE = ("{pods} pod(s) run a proxy whose CA_ADDR or PROXY_CONFIG discoveryAddress names Istio's istiod or "
                    "an istiod the cluster does not have, whatever else marks them ASM's: they depend on Istio's "
                    "control plane, which `istioctl uninstall --purge` removes (or removed): {marks}")
UNCLASSIFIED_MESSAGE = ("{pods} pod(s) carry contradicting proxy marks, so it cannot be told whether they run Istio's "
                        "sidecar or ASM's proxy: {marks}")


def unclassified_proxy_findings(check: ClusterCheck, outcome: Outcome, cluster: ClusterInventory, pods: pd.DataFrame,
                                on_istio: Outcome | None = None) -> Iterable[Finding]:
    """One UNKNOWN (`outcome`, message UNCLASSIFIED_MESSAGE) per workload whose pods' marks contradict each other
    (mesh.classify): neither counted as moved nor as left, named with the marks, so the operator can settle it (fix
    the pod or the rules). With `on_istio` (message ON_ISTIO_MESSAGE), the pods among them whose CA_ADDR names Istio's
    istiod or one the cluster does not have (mesh.on_istio_control_plane) are that outcome's instead: whatever their
    image or env say, they depend on the control plane the uninstall removes."""
    columns = ("name", "asm_env", "image_kind", "ca_service", "proxy_image")
    rows = among(pods["proxy"], (mesh.PROXY_UNKNOWN,)) & among(pods["phase"], ACTIVE_PHASES)
    if not rows.any():  # the usual case: selecting no rows still copies each of the frame's ~30 columns
        return
    unknown = pods.loc[rows, [*WORKLOAD_KEY, *columns]]
    # A workload's pods share their marks (and a fleet injected with another hub shares a few): judged once each.
    judged: dict[tuple[Any, ...], tuple[mesh.ProxyMarks, bool]] = {}
    for (namespace, kind, name), group in workload_rows(unknown, columns):
        found: list[tuple[str, mesh.ProxyMarks, bool]] = []
        for pod, *values in zip(group["name"], group["asm_env"], group["image_kind"], group["ca_service"],
                                group["proxy_image"], strict=True):
            key = tuple(values)
            if key not in judged:
                marks = cluster.proxy_marks(*values)
                judged[key] = (marks, on_istio is not None and mesh.on_istio_control_plane(marks))
            found.append((pod, *judged[key]))
        dependent = [(pod, m) for pod, m, on_istio_cp in found if on_istio_cp]
        doubtful = [(pod, m) for pod, m, on_istio_cp in found if not on_istio_cp]
        if dependent and on_istio is not None:
            names = [pod for pod, _ in dependent]
            marks = sorted({m.describe() for _, m in dependent})
            yield check.report(on_istio, cluster.name, params={"pods": len(names), "marks": marks[0]},
                               kind=kind, namespace=namespace, name=name,
                               remediation=mesh.asm_inject_command(cluster.name, kind, namespace, name),
                               evidence={"pods": names[:20], "pod_count": len(names), "marks": marks})
        if not doubtful:
            continue
        names = [pod for pod, _ in doubtful]
        marks = sorted({m.describe() for _, m in doubtful})
        yield check.report(outcome, cluster.name, params={"pods": len(names), "marks": marks[0]},
                           kind=kind, namespace=namespace, name=name,
                           remediation="Inspect the pod's istio-proxy (image, env ASM_ID, CA_ADDR); if the image is "
                                       "ASM's mirrored under another name, list a pattern for it in "
                                       "classification.asm_image_patterns in the config beside the built-in ones "
                                       "(the list replaces them: README, \"Config file\"); then "
                                       "audit again.",
                           evidence={"pods": names[:20], "pod_count": len(names), "marks": marks})


STATUS_ANNOTATION = "sidecar.istio.io/status"
# Kinds whose objects carry a pod template; ReplicaSets and Jobs only when no Deployment or CronJob owns them
# (podwire.judged_through_owner): an Argo Rollout's ReplicaSets are judged as the Rollout, a KEDA ScaledJob's Jobs as
# themselves.
TEMPLATE_KINDS: tuple[K.Kind, ...] = (K.DEPLOYMENT, K.STATEFULSET, K.DAEMONSET, K.CRONJOB, K.JOB, K.REPLICASET,
                                      K.REPLICATIONCONTROLLER, K.CLONESET, *K.ADVANCED_KINDS)


def pod_template(kind: K.Kind, obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec") or {}
    if kind is K.CRONJOB:
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def workload_templates(cluster: ClusterInventory, kinds: Iterable[K.Kind] = TEMPLATE_KINDS
                       ) -> tuple[list[tuple[K.Kind, dict[str, Any], dict[str, Any]]], dict[str, str]]:
    """(kind, object, pod template) of every top-level workload whose kind was read, and the kinds that
    could not be read (kind -> reason), so a caller never mistakes an unread kind for "none found"."""
    found: list[tuple[K.Kind, dict[str, Any], dict[str, Any]]] = []
    readable, missing = _readable(cluster, kinds)
    for kind in readable:
        owned_skipped = _owned_skipped(kind)
        for obj in cluster.objects(kind):
            # The template first: inventory.slim keeps none of a Deployment's ReplicaSet or a CronJob's Job (~16,000
            # ReplicaSets at 50k pods), so their owners are looked at only where a template was kept.
            template = pod_template(kind, obj)
            if template is None:
                continue
            if owned_skipped and podwire.judged_through_owner(obj.get("metadata") or {}):
                continue  # a Deployment's ReplicaSet or a CronJob's Job: judged through its owner
            found.append((kind, obj, template))
    return found, missing


def _readable(cluster: ClusterInventory, kinds: Iterable[K.Kind]) -> tuple[list[K.Kind], dict[str, str]]:
    """The kinds of `kinds` that were read, and why each other one was not (kind -> reason)."""
    readable: list[K.Kind] = []
    missing: dict[str, str] = {}
    for kind in kinds:
        if not cluster.available(kind):
            if not crd_absent(cluster, kind):
                missing[K.workload_kind(kind)] = cluster.unread_reason(kind)
        else:
            readable.append(kind)
    return readable, missing


def crd_absent(cluster: ClusterInventory, kind: K.Kind) -> bool:
    """Whether a kind served by a CRD (OpenKruise's) is known not to exist in the cluster: the CRDs were read and none
    defines it (a snapshot taken before the auditor read the kind holds none of its objects, nor a word of it)."""
    if kind.group in _BUILTIN_GROUPS or not cluster.available(K.CRD):
        return False
    names = cluster.memo("crd_names", lambda: {str((c.get("metadata") or {}).get("name") or "")
                                               for c in cluster.objects(K.CRD)})
    return kind.key not in names


_BUILTIN_GROUPS = frozenset({"", "apps", "batch"})


def _owned_skipped(kind: K.Kind) -> bool:
    """Whether a workload of this kind is judged through its owner when it has one (ReplicaSets, Jobs). Asked once
    per kind: Kind's == compares every field."""
    return kind in (K.REPLICASET, K.JOB)


@dataclass(frozen=True)
class TemplateInjection:
    """What a workload template carries of a sidecar that an injector would otherwise add."""

    container: bool        # an istio-proxy container with a concrete Istio image
    status_annotation: bool
    native: bool
    image: str
    xds_agent: str         # PROXY_CONFIG_XDS_AGENT in the template's proxy ('<absent>' when not set)
    template_of: str = ""  # the object the template was read from, when it is not the workload's own (a Rollout's)
    # Without istio-proxy: the init containers of Istio's injection the template still holds (the status annotation
    # names them), e.g. proxyless gRPC's grpc-bootstrap-init. None: the annotation alone (copied from a pod).
    injected: tuple[str, ...] = ()


def template_injection(template: dict[str, Any], rules: mesh.ProxyRules) -> TemplateInjection | None:
    """An Istio sidecar baked into a pod template (istioctl kube-inject), or None.

    Not counted: gateways (they define their proxy by design), `image: auto` (the documented injection
    customisation, filled in by the injector) and ASM's proxy.
    """
    container, native = mesh.find_proxy_container(template.get("spec") or {})
    return injection_of(template, container, native, rules)


def injection_of(template: dict[str, Any], container: dict[str, Any] | None, native: bool,
                 rules: mesh.ProxyRules) -> TemplateInjection | None:
    """template_injection of a pod template whose istio-proxy container (and whether it is native) a walk already
    found with mesh.find_proxy_container."""
    annotations = ((template.get("metadata") or {}).get("annotations")) or {}
    has_status = STATUS_ANNOTATION in annotations
    concrete = False
    image = ""
    xds = "<absent>"
    if container is not None:
        image = container.get("image") or ""
        env = mesh.env_map(container)
        marks = mesh.ProxyMarks(rules.has_asm_env(env), rules.image_kind(image), mesh.OWNER_UNPROVEN, image)
        # Gateways and ambient proxies (ztunnel, waypoints) define their proxy by design; ASM's is not Istio's.
        if mesh.proxy_role(container) != mesh.ROLE_SIDECAR or mesh.classify(marks) == mesh.PROXY_ASM:
            return None
        concrete = image not in ("", "auto")
        value = mesh.xds_agent_value(env)
        xds = "<absent>" if value is None else value
    if not concrete and not has_status:
        return None
    injected = () if container is not None or not has_status else _injected_init_containers(template, annotations)
    return TemplateInjection(concrete, has_status, native, image, xds, injected=injected)


def _injected_init_containers(template: dict[str, Any], annotations: dict[str, Any]) -> tuple[str, ...]:
    """The init containers the status annotation says Istio's injector added and the template holds: what a template
    rendered by `istioctl kube-inject` with a proxyless template keeps (grpc-simple: grpc-bootstrap-init, whose
    bootstrap names istiod.<istio namespace>.svc:15010; pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected
    @1.22.8..1.30.3). A template that only copied the annotation holds none of them."""
    try:
        status = json.loads(str(annotations.get(STATUS_ANNOTATION) or ""))
    except ValueError:
        return ()
    names = status.get("initContainers") if isinstance(status, dict) else None
    if not isinstance(names, list) or not names:
        return ()
    inits = ((template.get("spec") or {}).get("initContainers")) or ()
    held = {c.get("name") for c in inits if isinstance(c, dict)}
    return tuple(sorted(str(n) for n in names if isinstance(n, str) and n in held))


InjectionKey = tuple[str, str, str]  # (namespace, kind, name) of a workload


def manual_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kinds: Iterable[K.Kind] = TEMPLATE_KINDS
                      ) -> tuple[dict[InjectionKey, TemplateInjection], dict[str, str]]:
    """(namespace, kind, name) -> what the template carries; plus the kinds that could not be read."""
    kinds = tuple(kinds)
    # Several checks and gates ask; one pass over the templates per cluster (tens of thousands at scale).
    found, missing = cluster.memo(("manual_injections", id(rules), tuple(k.key for k in kinds)),
                                  lambda: _manual_injections(cluster, rules, kinds))
    return dict(found), dict(missing)


def _manual_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kinds: tuple[K.Kind, ...]
                       ) -> tuple[dict[InjectionKey, TemplateInjection], dict[str, str]]:
    readable, missing = _readable(cluster, kinds)
    out: dict[InjectionKey, TemplateInjection] = {}
    for kind in readable:
        out.update(kind_injections(cluster, rules, kind))
    return out, missing


def kind_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kind: K.Kind,
                    walked: dict[InjectionKey, TemplateInjection] | None = None
                    ) -> dict[InjectionKey, TemplateInjection]:
    """manual_injections of one readable kind, memoised per cluster. `walked`: that answer, from a walk that judged
    every template of the kind with template_injection's rule (injection_of) while it read them for something else
    (the gateway scan, over Deployments and DaemonSets): kept unless the kind was already judged, so the templates
    are not walked twice. Read it, never change it."""
    key = ("template_injections", id(rules), kind.key)
    if walked is not None:
        return cluster.memo(key, lambda: walked)
    return cluster.memo(key, lambda: _kind_injections(cluster, rules, kind))


def _kind_injections(cluster: ClusterInventory, rules: mesh.ProxyRules, kind: K.Kind
                     ) -> dict[InjectionKey, TemplateInjection]:
    templates, _ = workload_templates(cluster, (kind,))
    out: dict[InjectionKey, TemplateInjection] = {}
    kind_name = K.workload_kind(kind)  # its pods' workload kind (an OpenKruise Advanced StatefulSet's with its group)
    # ReplicaSets of an owner that is not read (an Argo Rollout): their pods are the owner's workload (inventory
    # _resolve_owners), so they are judged as the owner, by the templates that make its pods.
    foreign: dict[InjectionKey, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for _, obj, template in templates:
        meta = obj.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        owner = controller_owner(meta)
        if owner and kind is K.REPLICASET:
            foreign.setdefault((namespace, *owner), []).append((obj, template))
            continue
        found = template_injection(template, rules)
        if found is not None:
            if owner:  # a Job of another owner (a KEDA ScaledJob): its pods are the Job's, its source the owner's
                found = replace(found, template_of=f"{kind.kind} {namespace}/{name}, owned by {owner[0]} {owner[1]}")
            out[(namespace, kind_name, name)] = found
    for key, replicasets in foreign.items():
        for obj, template in live_replicasets(replicasets):
            found = template_injection(template, rules)
            if found is not None:
                meta = obj.get("metadata") or {}
                out[key] = replace(found, template_of=f"{kind.kind} {meta.get('namespace', '')}/{meta.get('name', '')}")
                break
    return out


def foreign_owned(cluster: ClusterInventory, kind: K.Kind) -> dict[tuple[str, str, str], list[tuple[dict, dict]]]:
    """(namespace, owner kind, owner name) -> the (object, template) pairs of the ReplicaSets or Jobs (`kind`) an owner
    whose template is not read owns (inventory.slim keeps their templates, not those of a Deployment's or a CronJob's:
    podwire.TEMPLATE_OWNER_KINDS), once per cluster and kind."""
    def build() -> dict[tuple[str, str, str], list[tuple[dict, dict]]]:
        out: dict[tuple[str, str, str], list[tuple[dict, dict]]] = {}
        for obj in cluster.objects(kind):
            template = pod_template(kind, obj)
            meta = obj.get("metadata")
            owner = controller_owner(meta) if isinstance(meta, dict) and template is not None else None
            if owner and owner[0] not in podwire.TEMPLATE_OWNER_KINDS:
                out.setdefault((str(meta.get("namespace") or ""), str(owner[0]), str(owner[1])), []).append(
                    (obj, template))
        return out
    return cluster.memo(("foreign_owned", kind.key), build)


def live_replicasets(replicasets: list[tuple[dict[str, Any], dict[str, Any]]]
                      ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The ReplicaSets of one owner whose templates make its pods: those with replicas (a canary and its stable one),
    else the newest (an owner scaled to zero starts from it). Old ones kept for rollback say nothing of what runs."""
    live = [(obj, t) for obj, t in replicasets if replica_count(obj) > 0]
    if live:
        return live
    return [max(replicasets, key=lambda rs: str((rs[0].get("metadata") or {}).get("creationTimestamp") or ""))]


def replica_count(obj: dict[str, Any]) -> int:
    value = (obj.get("status") or {}).get("replicas")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# The advice of rerender_remediation, a line of its own above the command that shows it done: a report says the
# advice in its language (a catalog msgid: no names in it, the finding names the workload) and shows the command as a
# command block, where a command inside the sentence could not be copied.
RERENDER_ADVICE = N_("Re-render it from its source manifest without `istioctl kube-inject` (no "
                     "istio-proxy/istio-init/istio-validation containers, no sidecar.istio.io/status annotation), add "
                     "label sidecar.asm.aliyun.com/inject=true to its pod template and apply it; check with (prints "
                     "nothing once re-rendered):")
RERENDER_PROXYLESS_ADVICE = N_("Re-render it from its source manifest without `istioctl kube-inject` (no "
                               "grpc-bootstrap-init init container, grpc-io-proxyless-bootstrap volume or "
                               "GRPC_XDS_BOOTSTRAP env, no sidecar.istio.io/status annotation), give its pod template "
                               "the annotation inject.istio.io/templates: grpc-agent (ASM's documented proxyless gRPC "
                               "mode) and the label sidecar.asm.aliyun.com/inject=true, and apply it; check with "
                               "(prints nothing once re-rendered):")


def rerender_remediation(cluster: str, kind: str, namespace: str, name: str, *, proxyless: bool = False) -> str:
    """How to undo `istioctl kube-inject` in a workload's template, and on the next line the command that shows it
    undone. A template injected with grpc-simple (`proxyless`) holds no istio-proxy at all (istio@1.30.3
    pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected: init container grpc-bootstrap-init, volume
    grpc-io-proxyless-bootstrap, GRPC_XDS_BOOTSTRAP, the sidecar.istio.io/status annotation): grepping for istio-proxy
    shows nothing before and after, so its check greps for what grpc-simple adds; and it moves to ASM's proxyless
    mode (grpc-agent), not to a sidecar."""
    get = f"{mesh.kubectl_in(cluster, namespace)} get {mesh.object_ref(mesh.sh(kind.lower()), name)} -o yaml"
    if proxyless:
        return f"{RERENDER_PROXYLESS_ADVICE}\n{get} | grep -n -e grpc-bootstrap-init -e sidecar.istio.io/status"
    return f"{RERENDER_ADVICE}\n{get} | grep -n istio-proxy"


def ambient_daemonsets(cluster: ClusterInventory) -> tuple[list[str], list[str]]:
    """(Istio's ambient node components: ztunnel, istio-cni with AMBIENT_ENABLED=true in its env or in the ConfigMap
    istio-cni-config its chart hands it by envFrom (charts/istio-cni templates/daemonset.yaml, configmap.yaml
    @1.24.6); ASM's: ztunnel DaemonSets carrying an asm.alibabacloud.com key), each as `DaemonSet ns/name (what)` or
    `ConfigMap ns/istio-cni-config (...)`. ASM runs an ambient mode of its own (ASM >= 1.25, its docs "Choose a data
    plane mode"), Istio's ztunnel and CNI: its captured pods may carry the same annotation
    ambient.istio.io/redirection (not published either way)."""
    istio_parts: list[str] = []
    asm_parts: list[str] = []
    if cluster.available(K.CONFIGMAP):
        for cm in cluster.objects(K.CONFIGMAP):
            meta = cm.get("metadata") or {}
            if meta.get("name") == "istio-cni-config" and not mesh.asm_marked(meta) and str(
                    (cm.get("data") or {}).get("AMBIENT_ENABLED", "")).lower() == "true":
                istio_parts.append(f"ConfigMap {meta.get('namespace')}/istio-cni-config (AMBIENT_ENABLED=true)")
    for ds in cluster.objects(K.DAEMONSET):
        meta = ds.get("metadata") or {}
        where = f"DaemonSet {meta.get('namespace')}/{meta.get('name')}"
        if mesh.asm_marked(meta):
            if mesh.is_ztunnel(ds):
                asm_parts.append(f"{where} (ASM's ztunnel)")
            continue
        if mesh.is_ztunnel(ds):
            istio_parts.append(f"{where} (ztunnel)")
            continue
        containers = ((((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or ()
        for container in containers:
            if mesh.env_map(container).get("AMBIENT_ENABLED", "").lower() == "true":
                istio_parts.append(f"{where} (istio-cni with AMBIENT_ENABLED=true)")
                break
    return istio_parts, asm_parts


def ambient_capture_is_asms(cluster: ClusterInventory) -> bool:
    """Whether the pods annotated ambient.istio.io/redirection=enabled were proven captured by ASM's ambient data
    plane, not Istio's: the DaemonSets read, an ASM ztunnel among them and no ambient component of Istio's. Anything
    less (DaemonSets or ConfigMaps unread, Istio's ztunnel or ambient istio-cni present, no ztunnel at all: a capture
    left behind by a removed one, whose in-pod redirection still points at it) proves nothing, and the capture counts
    as Istio's."""
    if not (cluster.available(K.DAEMONSET) and cluster.available(K.CONFIGMAP)):
        return False
    istio_parts, asm_parts = ambient_daemonsets(cluster)
    return bool(asm_parts) and not istio_parts
