"""A cluster's network as Istio sees it: one rule for network-consistency and the report's cluster facts.

istiod takes a cluster's network from the system namespace's label `topology.istio.io/network`
(pilot/pkg/serviceregistry/kube/controller/network.go @1.30.3); a remote cluster (no istiod) keeps it in its injector
webhook's path (`/inject/cluster/<c>/net/<network>`, which the injector turns into each pod's label) and the Helm values
record; a primary also in the injector's `global.network`, its east-west gateway's labels and meshNetworks. Every one
is read here, in that order; checks/network.py judges them against ASM's, auditor/result.py reports them per cluster
(findings.json `clusters[].network`, the HTML/PDF clusters table), so the two never tell a cluster's network apart.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
import orjson
import yaml

from auditor import kinds as K
from auditor import mesh, yamlsafe
from auditor.check import ClusterCheck, Context
from auditor.config import GatewaysConfig
from auditor.gateways import EASTWEST, gateway_services, istio_gateways, network_gateway_port
from auditor.inventory import ClusterInventory
from auditor.istio import mesh_configmap_of
from auditor.labelled import NETWORK_LABEL, carrying_label
from auditor.model import Finding
from auditor.remote import Links, istiod_cluster_id
from auditor.vms import vm_proxies


# ---------------------------------------------------------------- Istio's side
def system_namespaces(cluster: ClusterInventory) -> list[str]:
    """The namespaces whose label topology.istio.io/network istiod takes as its cluster's network, and where its
    injector and mesh ConfigMaps are: each istiod's own (its SystemNamespace is args.Namespace = POD_NAMESPACE, the
    pod's namespace: istio/istio@1.30.3 pilot/pkg/bootstrap/options.go, server.go; the Namespace of that name,
    pilot/pkg/serviceregistry/kube/controller/controller.go onSystemNamespaceEvent), in the order read; istio-system
    where no istiod runs here (a remote cluster, whose istiod's namespace is not seen) or Deployments were not read."""
    found: list[str] = []
    if cluster.available(K.DEPLOYMENT):
        for dep in cluster.istiod_deployments():
            namespace = (dep.get("metadata") or {}).get("namespace") or "istio-system"
            if namespace not in found:
                found.append(namespace)
    return found or ["istio-system"]


def istio_network(cluster: ClusterInventory, rules: mesh.ProxyRules | None = None
                  ) -> tuple[str | None, list[tuple[str, str]], list[str]]:
    """(network, [(source, value), ...], [source that could not be read, ...]) for a cluster as Istio sees it; the
    first source wins (the check does not pass a cluster whose sources disagree).

    istiod takes its cluster's network from the system namespace's label first
    (pilot/pkg/serviceregistry/kube/controller/network.go), so that is authoritative; a pod's own label, which the
    injector sets from its webhook path (a remote cluster's install), comes before it for that pod. A remote cluster
    (no istiod) keeps its network only in the label, the injector webhook's path and the Helm values record.
    """
    seen: list[tuple[str, str]] = []
    recorded: list[tuple[str, str]] = []  # the Helm values record: what the install was given, last
    unreadable: list[str] = []
    systems = system_namespaces(cluster)
    for system in systems:
        ns = cluster.get(K.NAMESPACE, system)
        label = (((ns or {}).get("metadata") or {}).get("labels") or {}).get(NETWORK_LABEL)
        if label:
            seen.append((f"namespace {system} label topology.istio.io/network", label))
    if cluster.available(K.MUTATING_WEBHOOK):
        seen += _injection_path_networks(cluster)
    if cluster.available(K.CONFIGMAP):
        for cm in cluster.objects(K.CONFIGMAP):
            meta = cm.get("metadata") or {}
            cm_namespace = meta.get("namespace")
            if cm_namespace not in systems:
                continue
            name = meta.get("name", "")
            data = cm.get("data") or {}
            if name.startswith("istio-sidecar-injector") and data.get("values"):
                network = _values_network(data["values"])
                if network:
                    seen.append((f"ConfigMap {cm_namespace}/{name} values global.network", network))
            elif (name == "values" or name.startswith("values-")) and data.get("merged-values") and (
                    (meta.get("labels") or {}).get("operator.istio.io/component") == "Pilot"):
                # The istio-discovery chart's record of its Helm values (configmap-values.yaml @1.26.8, 1.30.3): the
                # one place a remote cluster (profile=remote: omitSidecarInjectorConfigMap, no istiod, no mesh
                # ConfigMap) keeps the global.network it was installed with.
                network = _values_network(data["merged-values"])
                if network:
                    recorded.append((f"ConfigMap {cm_namespace}/{name} merged-values global.network", network))
    if cluster.available(K.DEPLOYMENT):
        for gw in istio_gateways(cluster, rules or mesh.ProxyRules()):
            if gw.type == EASTWEST and gw.labels.get(NETWORK_LABEL):
                seen.append((f"east-west gateway {gw.namespace}/{gw.name} label", gw.labels[NETWORK_LABEL]))
        mesh_networks, unreadable = _mesh_networks_network(cluster, systems)
        if mesh_networks:
            seen.append(mesh_networks)
    if cluster.available(K.SERVICE):
        # The Services carrying the label, from the walk of the Services' labels that other checks share
        # (labelled.py): not each of ~10,000 Services' labels read again here.
        for svc in carrying_label(cluster, K.SERVICE, NETWORK_LABEL):
            meta = svc.get("metadata") or {}
            labels = meta.get("labels") or {}
            # The gateway chart labels the Service of `--set networkGateway=<network>` (any release name, so any
            # `istio` label), up to 1.24.6 only it (templates/service.yaml; its pods too from 1.26.8); a Service
            # labelled so on 15443 (or the port its networking.istio.io/gatewayPort label names) or 15008 is how istiod
            # finds the network's gateway (getGatewayDetails, network.go @1.30.3).
            if labels.get(NETWORK_LABEL) and not any("asm.alibabacloud.com" in k for k in labels) and (
                    labels.get("istio") == "eastwestgateway" or network_gateway_port(labels, svc.get("spec") or {})):
                seen.append((f"Service {meta.get('namespace')}/{meta.get('name')} label", labels[NETWORK_LABEL]))
    seen += recorded
    return (seen[0][1] if seen else None), seen, unreadable


def vm_gateway(cluster: ClusterInventory, rules: mesh.ProxyRules | None = None,
               network: tuple[str | None, list[str]] | None = None) -> tuple[list[str], str]:
    """The VM proxies (WorkloadGroups, WorkloadEntries with a proxy) an east-west gateway serves when Istio gives the
    cluster no network, or ([], why it is not shown to be such a gateway). One predicate for network-consistency
    (N/A AA1941) and cross-cluster-gateway-first (N/A AA1841); the caller has seen an east-west gateway.

    istio/istio@1.22.3:samples/multicluster/gen-eastwest-gateway.sh --single-cluster ("single-cluster installations may
    need this gateway to allow VMs to get discovery") labels it with no topology.istio.io/network and gives it no
    ISTIO_META_REQUESTED_NETWORK_VIEW; istiod takes no network gateway from a gateway without a network
    (getGatewayDetails, pilot/pkg/serviceregistry/kube/controller/network.go @1.30.3): it carries no cross-network
    traffic of this cluster's istiod. Another cluster's istiod may still route through it (its meshNetworks): in a
    fleet the callers hold the judgement for conclude (VmGatewayHolds, vm_gateway_routed). `network` is
    istio_network's (network, unreadable) when the caller has read it already."""
    if network is None:
        try:
            found, _, unreadable = istio_network(cluster, rules)
        except Exception as exc:  # a malformed source: not shown to be the VM gateway (network-consistency's UNKNOWN)
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            return [], f"Istio's network sources could not be read ({str(reason)[:200]})"
    else:
        found, unreadable = network
    if found is not None:
        return [], f"Istio gives the cluster network {found}"
    if unreadable:  # meshNetworks that could not be read may give the cluster a network
        return [], "; ".join(unreadable)
    unread = {kind.kind: cluster.unread_reason(kind) for kind in (K.CONFIGMAP, K.MUTATING_WEBHOOK)
              if not cluster.available(kind)}
    if unread:  # the injector's values or webhook path, not read, may hold the network
        return [], "; ".join(f"{kind} not read ({why})" for kind, why in unread.items())
    vms = vm_proxies(cluster)
    if vms.unread:
        return [], "; ".join(f"{kind} not read ({why})" for kind, why in vms.unread)
    proxies = [f"WorkloadGroup {g.namespace}/{g.name}" for g in vms.groups] + [
        f"WorkloadEntry {(e.get('metadata') or {}).get('namespace')}/{(e.get('metadata') or {}).get('name')}"
        for e in vms.entries]
    if not proxies:
        return [], ("no WorkloadGroup or WorkloadEntry with a proxy: what the east-west gateway without a network "
                    "serves is not known (another cluster's meshNetworks may name it)")
    return proxies, ""


def _values_network(text: str) -> str | None:
    """global.network of the Helm values an istio-discovery ConfigMap holds as JSON (toPrettyJson), None if none. A
    `global` that is not a map raises: the engine makes that cluster's judgement UNKNOWN, not "no network"."""
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    network = ((values or {}).get("global") or {}).get("network") if isinstance(values, dict) else None
    return str(network) if network else None


# The injector's URL parameters that name an env (pkg/kube/inject/webhook.go URLParameterToEnv @1.22.8, 1.30.3).
_URL_PARAMETER_TO_ENV = {"cluster": "ISTIO_META_CLUSTER_ID", "net": "ISTIO_META_NETWORK"}


def inject_path_envs(path: str) -> dict[str, str]:
    """The env an injector webhook's path gives the pods it injects, as istiod parses it (parseInjectEnvs in
    pkg/kube/inject/webhook.go @1.30.3): `/inject/k1/v1/k2/v2` (`--slash--` for a `/` in a value) or the deprecated
    `/inject/:ENV:k1=v1:ENV:k2=v2`; `cluster` and `net` name ISTIO_META_CLUSTER_ID and ISTIO_META_NETWORK, any
    other key its upper case."""
    path = path.removesuffix("/")
    parts = path.split("/", 2)
    pairs: list[str] = []
    if len(parts) == 3:
        if parts[2].startswith(":ENV:"):
            for pair in parts[2].split(":ENV:")[1:]:
                key, sep, value = pair.partition("=")
                if key and sep:
                    pairs += [key, value]
        else:
            pairs = [v.replace("--slash--", "/") if i % 2 else v for i, v in enumerate(parts[2].split("/"))]
    envs: dict[str, str] = {}
    for i in range(0, len(pairs) - 1, 2):
        env = _URL_PARAMETER_TO_ENV.get(pairs[i], pairs[i].upper())
        if env:
            envs[env] = pairs[i + 1]
    return envs


def _istio_injector_paths(cluster: ClusterInventory) -> Iterator[tuple[str, str]]:
    """(webhook configuration name, path) of each webhook of Istio's injectors here (not ASM's): the service path, or
    the path of its url (istiodRemote.injectionURL)."""
    asm_istiods = mesh.asm_istiod_names(cluster.istiod_owners())
    for hook_config in cluster.objects(K.MUTATING_WEBHOOK):
        meta = hook_config.get("metadata") or {}
        name = str(meta.get("name") or "")
        if not name.startswith(("istio-sidecar-injector", "istio-revision-tag-")) or not mesh.istio_installed(meta) \
                or mesh.asm_marked(meta):
            continue
        for hook in hook_config.get("webhooks") or ():
            client = (hook.get("clientConfig") if isinstance(hook, dict) else None) or {}
            service = client.get("service") or {}
            if service.get("name") in asm_istiods:
                continue
            yield name, (str(service.get("path") or "") if service else urlsplit(str(client.get("url") or "")).path)


def _injection_path_networks(cluster: ClusterInventory) -> list[tuple[str, str]]:
    """(source, network) of each Istio injector webhook whose path names a network: a remote cluster's install sets
    it there (istiodRemote.injectionPath `/inject/cluster/<cluster>/net/<network>`, or injectionURL; the istio.io
    primary-remote multi-network guide), and istiod labels every pod it injects through it topology.istio.io/network
    (applyMetadata, pkg/kube/inject/webhook.go @1.30.3): the label istiod reads first for an endpoint's network
    (Controller.Network, pilot/pkg/serviceregistry/kube/controller/controller.go @1.30.3). ASM's webhooks are not
    Istio's."""
    by_config: dict[str, list[str]] = {}
    for name, path in _istio_injector_paths(cluster):
        networks = by_config.setdefault(name, [])
        network = inject_path_envs(path).get("ISTIO_META_NETWORK")
        if network and network not in networks:
            networks.append(network)
    return [(f"MutatingWebhookConfiguration {name} injection path net", network)
            for name, networks in by_config.items() for network in networks]


def injection_path_cluster(cluster: ClusterInventory) -> tuple[str | None, str]:
    """(the Istio cluster name, its source) every Istio injector webhook here gives the pods it injects, or (None, why
    not). A remote's install names it in istiodRemote.injectionPath `/inject/cluster/<name>` (or injectionURL; the
    istio.io primary-remote guides); the injector makes it the pods' ISTIO_META_CLUSTER_ID (URLParameterToEnv,
    pkg/kube/inject/webhook.go @1.30.3), which their proxies present to istiod, and istiod authenticates them only
    against the registry of that cluster ID (KubeJWTAuthenticator.getKubeClient, security/pkg/server/ca/authenticate/
    kubeauth/kube_jwt.go @1.30.3): the remote secret of that name (its data key, addRemoteConfig, pkg/kube/
    multicluster/secretcontroller.go @1.30.3), the name meshNetworks' fromRegistry gives it. Every Istio webhook must
    name the same one: one that names none injects the primary's own cluster id."""
    if not cluster.available(K.MUTATING_WEBHOOK):
        return None, "the injector webhooks were not read"
    names: dict[str, list[str]] = {}
    for config, path in _istio_injector_paths(cluster):
        names.setdefault(inject_path_envs(path).get("ISTIO_META_CLUSTER_ID") or "", []).append(config)
    if not names:
        return None, "no Istio injector webhook here"
    if "" in names:
        return None, f"injector webhook {names[''][0]}'s path names no cluster"
    if len(names) > 1:
        return None, "the injector webhooks' paths name different clusters (" + ", ".join(sorted(names)) + ")"
    [(name, configs)] = names.items()
    return name, f"MutatingWebhookConfiguration {configs[0]} injection path cluster"


def _parse_mesh_networks(cm: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The `networks` of a mesh ConfigMap's meshNetworks ({} when none), or why it cannot be read."""
    where = f"ConfigMap {(cm.get('metadata') or {}).get('namespace')}/{(cm.get('metadata') or {}).get('name')} " \
            "meshNetworks"
    try:
        parsed = yamlsafe.safe_load((cm.get("data") or {}).get("meshNetworks") or "") or {}
    except yaml.YAMLError as exc:
        return {}, f"{where}: not YAML ({str(exc).splitlines()[0]})"
    networks = parsed.get("networks") if isinstance(parsed, dict) else None
    shaped = isinstance(parsed, dict) and (networks is None or (isinstance(networks, dict) and all(
        body is None or isinstance(body, dict) for body in networks.values())))
    if not shaped:
        return {}, f"{where}: not shaped as Istio's MeshNetworks (networks: <name>: {{endpoints: ...}})"
    return networks or {}, None


@dataclass(frozen=True)
class RegistryNetworks:
    """What one istiod's meshNetworks say of the registries it watches (strings only: kept for the fleet's remotes)."""

    where: str                                  # the ConfigMap read
    pairs: tuple[tuple[str, str], ...] = ()     # (fromRegistry, network) as listed
    problem: str | None = None                  # why its networks of a registry cannot be told
    # (network, "address" or "registryServiceName", value) of each gateway listed: where istiod sends other networks'
    # calls into that network (vm_gateway_routed)
    gateways: tuple[tuple[str, str, str], ...] = ()


def registry_networks(cluster: ClusterInventory, dep: dict[str, Any]) -> RegistryNetworks:
    """The (fromRegistry, network) pairs of the meshNetworks istiod `dep` reads (its mesh ConfigMap's, rendered from
    values.global.meshNetworks: istio-discovery/templates/configmap.yaml @1.30.3), or the problem: not read, not
    readable, or istiod run with --clusterAliases (a proxy's cluster id may then stand for another registry:
    pilot/cmd/pilot-discovery/app/cmd.go, pilot/pkg/xds/ads.go initConnection @1.30.3)."""
    namespace, name = mesh_configmap_of(dep)
    where = f"ConfigMap {namespace}/{name} meshNetworks"
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or ()
    for c in containers:
        if any("clusterAliases" in str(a) for a in (*(c.get("args") or ()), *(c.get("command") or ()))):
            return RegistryNetworks(where, problem=f"istiod {namespace}/{dep['metadata'].get('name')} runs with "
                                                   "--clusterAliases")
    if not cluster.available(K.CONFIGMAP):
        return RegistryNetworks(where, problem=f"{where}: ConfigMaps not read")
    cm = cluster.get(K.CONFIGMAP, name, namespace)
    if cm is None:
        return RegistryNetworks(where, problem=f"{where}: the ConfigMap is absent")
    networks, problem = _parse_mesh_networks(cm)
    if problem:
        return RegistryNetworks(where, problem=problem)
    pairs = tuple((str(endpoint["fromRegistry"]), str(network)) for network, body in networks.items()
                  for endpoint in (body or {}).get("endpoints") or ()
                  if isinstance(endpoint, dict) and endpoint.get("fromRegistry"))
    gateways = tuple((str(network), key, str(gateway[key])) for network, body in networks.items()
                     for gateway in (body or {}).get("gateways") or () if isinstance(gateway, dict)
                     for key in ("address", "registryServiceName") if gateway.get(key))
    return RegistryNetworks(where, pairs, gateways=gateways)


# ---------------------------------------------------------------- the VM gateway in a fleet
@dataclass(frozen=True)
class VmGatewayFront:
    """What a cluster whose own objects show its east-west gateway to be the VM gateway (vm_gateway) keeps for the
    fleet's judgement (vm_gateway_routed), once its objects are released: strings only."""

    cluster: str
    registries: tuple[str | None, ...]       # the registry name other istiods give it: its istiods' CLUSTER_IDs
    services: tuple[tuple[str, str], ...]    # (namespace, name) of its Istio east-west gateways' Services
    addresses: tuple[str, ...]               # their load balancer addresses and externalIPs
    addresses_known: bool                    # every one is a LoadBalancer whose status was read: no other address


def vm_gateway_front(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig | None
                     ) -> VmGatewayFront:
    """The cluster's registry names and its Istio east-west gateways' Services and addresses (the addresses istiod
    takes a network gateway's from: a Service's ClusterExternalAddresses, its load balancer's ingress and externalIPs:
    pilot/pkg/serviceregistry/kube/conversion.go @1.22.3). A cluster without istiod is named by its injector's path."""
    registries: tuple[str | None, ...] = tuple(dict.fromkeys(
        istiod_cluster_id(dep) for dep in cluster.istiod_deployments()))
    if not registries:
        registries = (injection_path_cluster(cluster)[0],)
    services = [s for s in gateway_services(cluster, rules, names) if s.gateway.type == EASTWEST and not s.gateway.asm]
    addresses = tuple(dict.fromkeys(a for s in services for a in (*s.lb_addresses, *s.external_ips)))
    known = all(s.service_type == "LoadBalancer" and s.lb_status_read for s in services)
    return VmGatewayFront(cluster.name, registries, tuple((s.namespace, s.name) for s in services), addresses, known)


def _address_key(text: str) -> str:
    """An address as compared: an IP in its canonical form, a host name in lower case."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return text.strip().lower()


def vm_gateway_routed(front: VmGatewayFront, links: Links, ctx: Context) -> str | None:
    """Why another audited cluster's istiod may send cross-network calls through this cluster's east-west gateway
    (the gateway is then no VM gateway only), None when none does.

    An istiod puts a registry's endpoints on the network whose meshNetworks endpoints name it (fromRegistry), takes
    that network's gateways from the registry's Services its registryServiceName names (reloadMeshNetworks,
    getGatewayDetails, extractGatewaysInner: pilot/pkg/serviceregistry/kube/controller/network.go @1.22.3, 1.30.3)
    and from the addresses listed (NetworkManager.reload, pilot/pkg/model/network.go @1.22.3), and sends its other
    networks' proxies to those gateways (EndpointsByNetworkFilter, pilot/pkg/xds/endpoints/ep_filters.go). So the
    gateway carries other networks' calls where another istiod's meshNetworks list its address for any network, or
    name this cluster's registry with its Service or an address that may be its own (a host name may alias its load
    balancer's; an IP is told apart only from a load balancer whose addresses were read). Not shown otherwise where an
    audited cluster's istiods or meshNetworks could not be read, or this cluster's registry name cannot be."""
    unseen = sorted(c.name for c in ctx.inv.data_planes if c.name != front.cluster and c.name not in links.seen)
    if unseen:
        return (f"the istiods of cluster(s) {', '.join(unseen)} could not be read: their meshNetworks may route other "
                "networks through this gateway")
    if not front.registries or None in front.registries:
        return "the registry name (CLUSTER_ID) by which other istiods' meshNetworks name this cluster cannot be read"
    own = {_address_key(a) for a in front.addresses}
    hosts = tuple(f"{name}.{namespace}.svc." for namespace, name in front.services)
    for istiod in links.istiods:
        if istiod.cluster == front.cluster:
            continue
        fact = links.fact_of(istiod)
        who = f"istiod {istiod.namespace}/{istiod.name} of cluster {istiod.cluster}"
        if not isinstance(fact, RegistryNetworks):
            return f"the meshNetworks of {who} were not read"
        if fact.problem:
            return f"{who}: {fact.problem}"
        named = {network: registry for registry, network in fact.pairs if registry in front.registries}
        for network, key, value in fact.gateways:
            said = f"{fact.where} of {who} gives network {network} the gateway {key} {value}"
            if key == "address" and _address_key(value) in own:
                return f"{said}: this cluster's east-west gateway's address"
            if network not in named:
                continue
            said += f" and puts this cluster's registry in it (fromRegistry {named[network]})"
            if key == "registryServiceName" and value.startswith(hosts):
                return f"{said}: this cluster's east-west gateway's Service"
            if key == "address" and not (front.addresses_known and _is_ip(value)):
                return f"{said}: it may be this cluster's east-west gateway's address"
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return True


@dataclass
class VmGatewayHolds:
    """One check's clusters whose east-west gateway their own objects show to be the VM gateway, in a fleet: held for
    `conclude` with the findings either way, since another cluster's istiod may route other networks through it
    (vm_gateway_routed). Shared by every gate of a check judged once for all gates, as remote.Links."""

    held: dict[str, tuple[VmGatewayFront, tuple[Finding, ...], tuple[Finding, ...]]] = field(default_factory=dict)

    @classmethod
    def shared(cls, ctx: Context, check: type[ClusterCheck]) -> VmGatewayHolds:
        """Kept in ctx.judged_once under a key no cluster's clean-up matches (no cluster's id is None)."""
        key = (check, "auditor.network.VmGatewayHolds", None)
        holds = ctx.judged_once.get(key)
        if not isinstance(holds, cls):
            holds = ctx.judged_once[key] = cls()
        return holds

    @staticmethod
    def needed(ctx: Context) -> bool:
        """Only a fleet has another cluster whose istiod may route through the gateway."""
        return len(ctx.inv.data_planes) > 1

    def hold(self, front: VmGatewayFront, as_vm_gateway: Iterable[Finding], as_cross_network: Iterable[Finding]
             ) -> None:
        self.held[front.cluster] = (front, tuple(as_vm_gateway), tuple(as_cross_network))

    def deferred(self) -> frozenset[str]:
        return frozenset(self.held)

    def conclude(self, links: Links, ctx: Context) -> Iterator[Finding]:
        """Each held cluster's findings as a cross-network gateway where another istiod may route through it (the
        reason in evidence vm_gateway_unproven), else as the VM gateway."""
        for front, as_vm_gateway, as_cross_network in self.held.values():
            why = vm_gateway_routed(front, links, ctx)
            if why:
                yield from (msgspec.structs.replace(f, evidence={**f.evidence, "vm_gateway_unproven": why})
                            for f in as_cross_network)
            else:
                yield from (msgspec.structs.replace(f, evidence={
                    **f.evidence, "vm_gateway_fleet": "no other audited istiod's meshNetworks routes other networks "
                                                      "through this gateway"}) for f in as_vm_gateway)


def _mesh_networks_network(cluster: ClusterInventory, systems: list[str]
                           ) -> tuple[tuple[str, str] | None, list[str]]:
    """The network whose meshNetworks endpoints name this istiod's CLUSTER_ID (fromRegistry), and the meshNetworks
    that could not be read (not YAML, or not shaped as Istio's MeshNetworks): those may hold the network. The mesh
    ConfigMaps are those of the istiods' namespaces (`systems`, system_namespaces)."""
    # Without CLUSTER_ID in its env istiod runs as `Kubernetes` (remote.istiod_cluster_id), which fromRegistry may name.
    cluster_ids = {cid for dep in cluster.istiod_deployments() if (cid := istiod_cluster_id(dep))}
    if not cluster_ids or not cluster.available(K.CONFIGMAP):
        return None, []
    unreadable: list[str] = []
    configmaps = cluster.objects(K.CONFIGMAP)
    for cm in (cm for system in systems for cm in mesh.mesh_configmaps(configmaps, system)):
        where = f"ConfigMap {cm['metadata'].get('namespace')}/{cm['metadata']['name']} meshNetworks"
        networks, problem = _parse_mesh_networks(cm)
        if problem:
            unreadable.append(problem)
            continue
        for network, body in networks.items():
            for endpoint in (body or {}).get("endpoints") or ():
                if isinstance(endpoint, dict) and endpoint.get("fromRegistry") in cluster_ids:
                    return (f"{where} (fromRegistry {endpoint['fromRegistry']})", str(network)), []
                if isinstance(endpoint, dict) and endpoint.get("fromCidr"):
                    # istiod puts an endpoint whose IP is in the range on that network (networkFromMeshNetworks,
                    # network.go @1.30.3): pod IPs are not read, so whether this cluster's are in it is not known.
                    unreadable.append(f"{where}: network {network} is given by IP range (fromCidr "
                                      f"{endpoint['fromCidr']}), and which of this cluster's endpoints fall in it is "
                                      "not read")
    return None, unreadable


# ---------------------------------------------------------------- the report's cluster facts
@dataclass(frozen=True)
class NetworkFact:
    """A data plane's network for the report (findings.json `clusters[].network`), by istio_network's rule."""

    network: str | None                 # the first source's, as network-consistency takes it
    sources: tuple[str, ...] = ()       # "<source>: <network>", in the order read
    note: str | None = None             # sources that disagree, or what may hold the network and was not read


# What istio_network reads, by the source each kind holds (a kind not read is named when no network was found).
_FACT_SOURCES = ((K.NAMESPACE, "the istio-system label"), (K.MUTATING_WEBHOOK, "the injector webhook path"),
                 (K.CONFIGMAP, "the injector values, the Helm values record and meshNetworks"),
                 (K.DEPLOYMENT, "the east-west gateway"), (K.SERVICE, "the east-west gateway Service"))


def network_fact(cluster: ClusterInventory, rules: mesh.ProxyRules | None = None) -> NetworkFact:
    """The cluster's Istio network as network-consistency reads it, for the report. Never raises: where the sources
    cannot be read, or disagree, the note says so (network-consistency judges the same as UNKNOWN)."""
    if cluster.unreachable:
        return NetworkFact(None)  # the clusters table says why beside it
    try:
        network, seen, unreadable = istio_network(cluster, rules)
    except Exception as exc:  # a malformed source, a kind not read: the check is UNKNOWN on the same
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        return NetworkFact(None, note=f"not known: its sources could not be read ({str(reason)[:200]})")
    sources = tuple(f"{source}: {value}" for source, value in seen)
    distinct = list(dict.fromkeys(value for _, value in seen))
    if len(distinct) > 1:
        return NetworkFact(network, sources, "Istio's sources disagree: " + "; ".join(sources))
    if network is None:
        unread = [*unreadable, *(f"{kind.kind} ({what}): {cluster.errors.get(kind.key) or 'not read for this gate'}"
                                 for kind, what in _FACT_SOURCES if not cluster.available(kind))]
        if unread:
            return NetworkFact(None, sources, "not known: " + "; ".join(unread))
    return NetworkFact(network, sources)
