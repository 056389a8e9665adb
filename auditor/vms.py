"""Istio proxies outside Kubernetes (VMs, bare metal): what WorkloadEntries and WorkloadGroups tell of them.

A VM joins the mesh by running Istio's proxy bootstrapped against an istiod (istioctl x workload entry configure:
cluster.env, mesh config, root cert, token). The cluster shows it only through Istio API objects, never a pod:

- WorkloadGroup "provides a specification that the workload instances can use to bootstrap their proxies ... only
  intended to be used with non-k8s workloads like Virtual Machines" (istio/api@1.30.3:networking/v1alpha3/
  workload_group.proto).
- When a proxy with ISTIO_META_AUTO_REGISTER_GROUP connects, istiod creates a WorkloadEntry named
  `<group>-<ip>[-<network>]` annotated istio.io/autoRegistrationGroup=<group>, owned by the WorkloadGroup
  (ownerReference, controller: true), and stamps istio.io/workloadController=<its instance id> and
  istio.io/connectedAt; on disconnect it removes connectedAt and writes istio.io/disconnectedAt, and deletes an
  auto-registered entry after the grace period (PILOT_WORKLOAD_ENTRY_GRACE_PERIOD, 10s). A health-checked entry
  (annotation proxy.istio.io/health-checks-enabled) that a user wrote gets the same controller/connectedAt stamps when
  its proxy connects (istio/istio@1.22.0, 1.26.0, 1.30.3:pilot/pkg/autoregistration/controller.go: setConnectMeta,
  workloadEntryFromGroup, changeWorkloadEntryStateToDisconnected; the same annotation names since 1.10:
  pilot/pkg/controller/workloadentry/workloadentry_controller.go @1.10.0).
- The instance id is istiod's POD_NAME (pilot/pkg/bootstrap/configcontroller.go: NewController(configController,
  args.PodName, ...); options.go: PodName = env POD_NAME, the istio-discovery chart's fieldRef metadata.name).
- Whether an entry stands for a workload with a proxy: istiod's own rule sends Istio mutual TLS to it when its label
  security.istio.io/tlsMode says `istio`, or, without that label, when spec.serviceAccount is set; the labels are the
  spec's merged with the metadata's, the metadata's winning (pilot/pkg/serviceregistry/serviceentry/conversion.go
  getTLSModeFromWorkloadEntry, ConvertWorkloadEntry @1.22.0..1.30.3; the API:
  "serviceAccount: The service account associated with the workload if a sidecar is present in the workload",
  manifests/charts/base/files/crd-all.gen.yaml @1.30.3). A WorkloadEntry without it (a database a ServiceEntry
  selects) is a plain endpoint: no proxy, nothing to move.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from auditor import kinds as K
from auditor import mesh, yamlsafe
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory

AUTO_REGISTRATION_GROUP = "istio.io/autoRegistrationGroup"
WORKLOAD_CONTROLLER = "istio.io/workloadController"
CONNECTED_AT = "istio.io/connectedAt"
DISCONNECTED_AT = "istio.io/disconnectedAt"
HEALTH_CHECKS = "proxy.istio.io/health-checks-enabled"  # pilot/pkg/model/status/workloadentry.go
TLS_MODE_LABEL = "security.istio.io/tlsMode"
PROXY_CONFIG = "proxy.istio.io/config"  # istio/api annotation.ProxyConfig
ISTIO_MUTUAL = "istio"  # pilot/pkg/model/service.go IstioMutualTLSModeLabel
LISTED = 20  # entries named in a finding's evidence


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    annotations = (obj.get("metadata") or {}).get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def auto_registration_group(entry: dict[str, Any]) -> str:
    """The WorkloadGroup istiod auto-registered this WorkloadEntry from ("" when a user wrote it)."""
    return str(_annotations(entry).get(AUTO_REGISTRATION_GROUP) or "")


def _time(value: Any) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def connected(entry: dict[str, Any]) -> bool:
    """istiod stamped the entry connected (istio.io/connectedAt) and no later disconnect. istiod removes one stamp
    when it writes the other; both present (a hand edit) with times that cannot be ordered count as connected."""
    annotations = _annotations(entry)
    if not annotations.get(CONNECTED_AT):
        return False
    if not annotations.get(DISCONNECTED_AT):
        return True
    at, off = _time(annotations[CONNECTED_AT]), _time(annotations[DISCONNECTED_AT])
    return at is None or off is None or off < at


def controller(entry: dict[str, Any]) -> str:
    """The istiod instance (pod name) that last stamped the entry ("" when none did)."""
    return str(_annotations(entry).get(WORKLOAD_CONTROLLER) or "")


def proxy_signs(entry: dict[str, Any]) -> list[str]:
    """Why a WorkloadEntry stands for a workload running Istio's proxy; [] for a plain endpoint (no proxy). Each an
    i18n.Phrase (English as str, said in a report's language)."""
    meta = entry.get("metadata") or {}
    spec = entry.get("spec") if isinstance(entry.get("spec"), dict) else {}
    signs: list[str] = []
    if auto_registration_group(entry):
        signs.append(Phrase(N_("annotation {key}: auto-registered by istiod"), key=AUTO_REGISTRATION_GROUP))
    annotations = _annotations(entry)
    if annotations.get(WORKLOAD_CONTROLLER) or annotations.get(CONNECTED_AT) or annotations.get(DISCONNECTED_AT):
        signs.append(Phrase(N_("annotation {key}: stamped by the istiod its proxy connected to"),
                            key=WORKLOAD_CONTROLLER))
    if HEALTH_CHECKS in annotations:
        signs.append(Phrase(N_("annotation {key}: health-checked by its proxy"), key=HEALTH_CHECKS))
    # istiod reads the spec's labels merged with the metadata's, the metadata's winning (ConvertWorkloadEntry).
    labels = {**(spec.get("labels") if isinstance(spec.get("labels"), dict) else {}),
              **(meta.get("labels") if isinstance(meta.get("labels"), dict) else {})}
    if TLS_MODE_LABEL in labels:
        if str(labels[TLS_MODE_LABEL]) == ISTIO_MUTUAL:
            signs.append(Phrase(N_("label {label}: istiod sends Istio mutual TLS to its proxy"),
                                 label=f"{TLS_MODE_LABEL}={ISTIO_MUTUAL}"))
    elif spec.get("serviceAccount"):
        signs.append(Phrase(N_("spec.serviceAccount {account}: a sidecar is present, istiod sends it Istio mutual TLS"),
                            account=str(spec["serviceAccount"])))
    return signs


def istiod_pods(cluster: ClusterInventory) -> dict[str, str]:
    """Name of each pod of a self-built istiod Deployment here -> `<namespace>/<deployment>`; the names
    istio.io/workloadController holds. Raises EvidenceUnavailable when pods or Deployments cannot be read."""
    deployments = {((d.get("metadata") or {}).get("namespace") or "", (d.get("metadata") or {}).get("name") or "")
                   for d in cluster.istiod_deployments()}
    if not deployments:
        return {}
    pods = cluster.pods()
    if pods.empty:
        return {}
    # The few istiod pods picked by name first (isin on the column as it is): no text made per pod of the cluster.
    rows = pods.loc[pods["workload_name"].isin(list({name for _, name in deployments})),
                    ["namespace", "workload_kind", "workload_name", "name"]]
    return {str(name): f"{namespace}/{workload}" for namespace, kind, workload, name in
            zip(*(rows[c].astype(str).tolist() for c in rows.columns), strict=True)
            if kind == "Deployment" and (namespace, workload) in deployments}


@dataclass
class VmGroup:
    """A WorkloadGroup (or the group an auto-registered entry names) and the entries istiod made from it."""

    namespace: str
    name: str
    exists: bool = False
    entries: list[dict[str, Any]] = field(default_factory=list)
    obj: dict[str, Any] | None = None  # the WorkloadGroup itself, when it exists


@dataclass
class VmProxies:
    """What a cluster's WorkloadEntries and WorkloadGroups tell of proxies outside Kubernetes."""

    groups: list[VmGroup]               # sorted by (namespace, name)
    entries: list[dict[str, Any]]       # WorkloadEntries a user wrote that stand for a proxy (proxy_signs)
    plain: int                          # WorkloadEntries without a proxy (external endpoints)
    unread: list[tuple[str, str]]       # (kind, why it could not be read), sorted


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _readable(cluster: ClusterInventory, kind: K.Kind, unread: dict[str, str]) -> Iterable[dict[str, Any]]:
    if not cluster.available(kind):
        unread[kind.kind] = cluster.unread_reason(kind)
        return ()
    try:
        return cluster.objects(kind) if cluster.served(kind) else ()
    except EvidenceUnavailable as exc:
        unread[kind.kind] = exc.reason
        return ()


def vm_proxies(cluster: ClusterInventory) -> VmProxies:
    """The cluster's VM proxies, read once per inventory (istio-sidecars-remaining, pods-xds-agent and the report's
    progress each ask; read it, never change it)."""
    return cluster.memo("vm_proxies", lambda: _vm_proxies(cluster))


def _vm_proxies(cluster: ClusterInventory) -> VmProxies:
    unread: dict[str, str] = {}
    groups: dict[tuple[str, str], VmGroup] = {}
    for group in _readable(cluster, K.WORKLOADGROUP, unread):
        namespace, name = _key(group)
        found = groups.setdefault((namespace, name), VmGroup(namespace, name))
        found.exists, found.obj = True, group
    entries: list[dict[str, Any]] = []
    plain = 0
    for entry in _readable(cluster, K.WORKLOADENTRY, unread):
        group_name = auto_registration_group(entry)
        if group_name:  # made by istiod in the group's namespace (proxy.Metadata.Namespace)
            namespace = _key(entry)[0]
            groups.setdefault((namespace, group_name), VmGroup(namespace, group_name)).entries.append(entry)
        elif proxy_signs(entry):
            entries.append(entry)
        else:
            plain += 1
    entries.sort(key=_key)
    return VmProxies([groups[k] for k in sorted(groups)], entries, plain, sorted(unread.items()))


@dataclass
class GroupState:
    """A group's auto-registered entries by what istiod's stamps say: entry name -> the istiod pod here it is connected
    to, entry name -> the controller it names (no istiod pod here), and the entries not connected; sorted, listed up to
    LISTED each (the counts are whole)."""

    on_istio: dict[str, str]
    elsewhere: dict[str, str]
    disconnected: list[str]
    counts: tuple[int, int, int]  # len of each, before listing


def group_state(group: VmGroup, istiod: dict[str, str]) -> GroupState:
    on_istio: dict[str, str] = {}
    elsewhere: dict[str, str] = {}
    disconnected: list[str] = []
    for entry in group.entries:
        name = _key(entry)[1]
        pod = controller(entry)
        if not connected(entry):
            disconnected.append(name)
        elif pod and pod in istiod:
            on_istio[name] = pod
        else:
            elsewhere[name] = pod
    return GroupState(dict(sorted(on_istio.items())[:LISTED]), dict(sorted(elsewhere.items())[:LISTED]),
                      sorted(disconnected)[:LISTED], (len(on_istio), len(elsewhere), len(disconnected)))


def on_istio(entry: dict[str, Any], istiod: dict[str, str]) -> bool:
    """A user-written entry istiod stamped connected, by a pod of a self-built istiod here."""
    pod = controller(entry)
    return connected(entry) and bool(pod) and pod in istiod


@dataclass
class EntryFacts:
    """What a finding on a user-written WorkloadEntry with a proxy names: where it is, what it stands for, which istiod
    pod stamped it, and the evidence both VM checks give (istiod's pods here, or why they could not be read)."""

    namespace: str
    name: str
    address: str
    pod: str
    signs: list[str]
    evidence: dict[str, Any]


def entry_facts(entry: dict[str, Any], istiod: dict[str, str], istiod_unread: str) -> EntryFacts:
    meta = entry.get("metadata") or {}
    spec = entry.get("spec") if isinstance(entry.get("spec"), dict) else {}
    address = str(spec.get("address") or "") or f"network {spec.get('network') or '?'}"
    pod, signs = controller(entry), proxy_signs(entry)
    evidence: dict[str, Any] = {"address": address, "proxy_signs": signs, "connected": connected(entry),
                                "controller": pod, "istiod_pods": listed(istiod)}
    if istiod_unread:
        evidence["istiod_pods_unread"] = istiod_unread
    return EntryFacts(str(meta.get("namespace") or ""), str(meta.get("name") or ""), address, pod, signs, evidence)


def listed(names: Iterable[str]) -> list[str]:
    """At most LISTED of them, sorted (for evidence)."""
    return sorted(names)[:LISTED]


# ---------------------------------------------------------------- what a VM's pilot-agent starts with
# A VM's pilot-agent reads PROXY_CONFIG_XDS_AGENT once, when it starts, from its own environment (pilot/cmd/pilot-agent/
# options/options.go: enableProxyConfigXdsEnv = env.Register("PROXY_CONFIG_XDS_AGENT", false, ...).Get(), a package
# variable; agent.go: EnableDynamicProxyConfig; nothing in pilot-agent copies proxyMetadata into its environment:
# @1.22.0, 1.26.0, 1.30.3). On a VM that environment is cluster.env, which istio-start.sh sources with `set -a`
# (tools/packaging/common/istio-start.sh) and which `istioctl x workload entry configure` wrote once, at onboarding,
# from the mesh config's defaultConfig.proxyMetadata of that moment overlaid by the WorkloadGroup's
# proxy.istio.io/config (istioctl/pkg/workload/workload.go createMeshConfig, createClusterEnv). istiod's mesh config
# never reaches a running agent: started without the setting, the agent never asks istiod for ProxyConfig (PCDS,
# pkg/istio-agent/xds_proxy.go), the channel that carries the extra trust anchors. The cluster shows none of this.



def agent_reads_true(value: str) -> bool:
    """Whether pilot-agent reads this PROXY_CONFIG_XDS_AGENT value as true (Go's strconv.ParseBool; anything else,
    "false" or unparsable, is its default false)."""
    return value in mesh.GO_TRUE


def onboarding_xds_agent(group: dict[str, Any] | None) -> str | None:
    """PROXY_CONFIG_XDS_AGENT as a WorkloadGroup's own proxy config sets it for the files `istioctl x workload entry
    configure` generates from the group: proxy.istio.io/config on the group's metadata, then on spec.metadata (the
    later wins), each overlaid on the mesh config's proxyMetadata, so the group's value wins over the mesh config's
    (istioctl/pkg/workload/workload.go createMeshConfig @1.22.0..1.30.3). None when the group does not set it (or its
    annotation cannot be read as YAML: istioctl then fails and writes no file)."""
    if not isinstance(group, dict):
        return None
    spec = group.get("spec") if isinstance(group.get("spec"), dict) else {}
    template_meta = spec.get("metadata") if isinstance(spec.get("metadata"), dict) else {}
    value: str | None = None
    for notes in (_annotations(group), template_meta.get("annotations")):
        if not isinstance(notes, dict) or PROXY_CONFIG not in notes:
            continue
        try:
            config = yamlsafe.safe_load(str(notes[PROXY_CONFIG])) or {}
        except yaml.YAMLError:  # istioctl refuses the group: no value taken from it
            return None
        metadata = config.get("proxyMetadata") if isinstance(config, dict) else None
        found = metadata.get(mesh.XDS_AGENT_KEY) if isinstance(metadata, dict) else None
        if isinstance(found, str):
            value = found
    return value


def connected_at(entry: dict[str, Any]) -> str:
    """istiod's istio.io/connectedAt stamp ("" when none)."""
    return str(_annotations(entry).get(CONNECTED_AT) or "")
