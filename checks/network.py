"""Each cluster's network in ASM equals its Istio network; cross-cluster mesh proxy on where east-west is used.

Istio's side is read from the cluster by auditor/network.py (namespace istio-system label
`topology.istio.io/network`, an injector webhook's path, the injector's `global.network`, the Helm values record, the
east-west gateway's network label, `meshNetworks`): the rule the report's cluster facts use too. ASM's side is
no Kubernetes object: it comes from the config (`asm.networks`) or a saved answer of ASM's OpenAPI
`DescribeMeshMultiClusterNetwork` (config `asm.multi_cluster_network`, or the snapshot manifest).

A remote cluster (no istiod) with no network of its own may have it only in its primary's meshNetworks
(`fromRegistry: <its Istio cluster name>`, the older multi-network guides): it is judged in `conclude` by the
meshNetworks of the istiods its proxies are proven to follow (auditor/remote.py: the controlPlaneClusters link), naming
it by the cluster name its injector webhooks give its pods (auditor/network.injection_path_cluster); unproven, it stays
as before (WARN AA1920, N/A AA1940) with the reason in its evidence (`primary_network_unproven`). ASM giving such a
remote no network is judged as for a cluster with a network of its own (AA1911 / AA1930 / AA1932).

A cluster with its own istiod and no Istio network is on Istio's one flat network. ASM putting it in a network no other
cluster of ASM's is in splits that network: judged by what ASM's istiod then does with the other networks' calls into
it (direct while no ASM cross-network gateway serves here, through it once one does, failing when it has no pod:
AA1921 / AA1922 / AA1913). An east-west gateway without a network that serves VMs (WorkloadGroups, WorkloadEntries) is
the single-cluster VM gateway: no network, no cross-network traffic, no switch to need (AA1941). In a fleet it is so
only once no other audited istiod's meshNetworks route other networks through it (judged in `conclude`:
auditor/network.vm_gateway_routed); else, or where those cannot be read, it is judged as a cross-network gateway whose
network is not found (AA1931, and the switch).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor import clusterid, mesh
from auditor import kinds as K
from auditor.asm import network_items
from auditor.check import ClusterCheck, Context, same_in_every_gate
from auditor.gateways import (
    EASTWEST,
    SCAN_KINDS,
    SCAN_UNREAD,
    SCAN_UNREAD_FIX,
    asm_gateways,
    eastwest_signals,
    gateway_services,
    gateway_workloads,
    pods_available,
    scan_unread_findings,
)
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.network import (
    RegistryNetworks,
    VmGatewayHolds,
    injection_path_cluster,
    istio_network,
    registry_networks,
    vm_gateway,
    vm_gateway_front,
)
from auditor.network import inject_path_envs as inject_path_envs  # imported from here by tests and callers
from auditor.remote import Links, Remote

HOW_TO_PROVIDE = ("pass --asm-mesh-id/--asm-region to read it from ASM, set asm.networks (<cluster>: <network>) "
                  "in the config, or save the answer of "
                  "`aliyun servicemesh DescribeMeshMultiClusterNetwork --ServiceMeshId <mesh id>` as JSON and "
                  "point asm.multi_cluster_network at it (a snapshot may carry it in manifest.json asm_openapi)")
# Templates filled with the finding's params (fields {network}, {cluster}).
CONSOLE_STEP = ("ASM console > Cluster & workload management > Kubernetes clusters > network settings: set the "
                "cluster's network to {network} (it must equal Istio's)")
# Istio runs the clusters on one flat network (no network anywhere): ASM's networks keep that by naming one network
# for all of them (or none).
FLAT_STEP = ("ASM console > Cluster & workload management > Kubernetes clusters > network settings: put {cluster} in "
             "the same network as the other clusters ({other_networks}), as Istio runs them on one network")
SWITCH_STEP = ("ASM console > the cluster's network settings: enable 'Access Through Cross-cluster Mesh Proxy' "
               "for {cluster}")


# ---------------------------------------------------------------- ASM's side
@dataclass
class AsmNetworkSettings:
    by_cluster: dict[str, dict[str, Any]] = field(default_factory=dict)  # cluster name -> network as the user gave it
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)       # ASM answer, per cluster id
    sources: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.by_cluster and not self.by_id

    def entry(self, name: str, cluster_id: str | None) -> dict[str, Any] | None:
        """ASM's settings of one cluster: the answer's entry for its id (the id used: auditor/clusterid.py). The
        network the user gave it (config, fleet file) stands in only where the answer gives none: ASM's answer is
        what ASM does, a typed network what the user believes (`asm_network_given` when the two differ)."""
        found = dict(self.by_id[cluster_id]) if cluster_id and cluster_id in self.by_id else None
        given = self.by_cluster.get(name)
        if given is None:
            return found
        if found is None or not found.get("network"):
            return {**(found or {"enable_gateway": None, "gateway_name": None}), **given}
        if given["network"] != found["network"]:
            found["given"] = dict(given)
        return found


    def other_networks(self, name: str, cluster_id: str | None) -> dict[str, list[str]]:
        """network -> the other clusters ASM puts in it (not this one): ASM's answer lists every cluster of the mesh
        (by id), so it alone is read where given and this cluster's id is known; else the networks the user gave."""
        out: dict[str, list[str]] = {}
        if self.by_id and cluster_id:
            for cid, entry in sorted(self.by_id.items()):
                if cid != cluster_id and entry.get("network"):
                    out.setdefault(str(entry["network"]), []).append(f"cluster id {cid}")
            return out
        for other, entry in sorted(self.by_cluster.items()):
            if other != name and entry.get("network"):
                out.setdefault(str(entry["network"]), []).append(other)
        return out


def asm_network_settings(ctx: Context) -> AsmNetworkSettings:
    """ASM's per-cluster Network / EnableGateway / GatewayName, from config and saved OpenAPI answers. The answer's
    entries are by cluster id: AsmNetworkSettings.entry matches them when the cluster is judged (its own id, in a
    ConfigMap, is not read yet when a fleet is judged cluster by cluster)."""
    out = AsmNetworkSettings()
    # Config file, live or snapshot answer; a live read that failed makes the check UNKNOWN with the action and code.
    answer = ctx.inv.openapi_answer("DescribeMeshMultiClusterNetwork")
    source = ctx.inv.openapi_origin("DescribeMeshMultiClusterNetwork")
    if answer:
        for item in network_items(answer):
            cid = item["ClusterId"]
            if cid:
                out.by_id[str(cid)] = {"network": item["Network"], "enable_gateway": item["EnableGateway"],
                                       "gateway_name": item["GatewayName"],
                                       "custom_gateway_address": item["CustomGatewayAddress"], "source": source}
        out.sources.append(source)
    for name, network in ctx.networks.items():  # as the user gave them: fleet file, then config (which wins)
        entry = out.by_cluster[name] = {"network": network}
        entry["source"] = "config asm.networks" if name in ctx.config.asm.networks else "fleet file network"
        if entry["source"] not in out.sources:
            out.sources.append(entry["source"])
    return out


# ---------------------------------------------------------------- the check
class NetworkConsistency(ClusterCheck):
    id = "network-consistency"
    title = "Each cluster's network in ASM equals its Istio network"
    gates = (Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.BLOCKER
    rationale = ("ASM routes between networks through its cross-network gateways; if a cluster's network in ASM "
                 "differs from the one Istio gave it, Istio sidecars and ASM proxies disagree on which endpoints "
                 "are reachable directly. With an east-west gateway the cluster also needs ASM's cross-cluster "
                 "mesh proxy switch (EnableGateway) on.")
    remediation = ("Set each cluster's network in ASM to Istio's (ASM console, cluster network settings) and enable "
                   "access through the cross-cluster mesh proxy for clusters with an east-west gateway.")
    SAME = Outcome("AA1901", Status.PASS, "the cluster's network in ASM equals its Istio network",
                   message="network {network} in Istio and ASM")
    SWITCH_ON = Outcome("AA1902", Status.PASS, "ASM's cross-cluster mesh proxy switch (EnableGateway) is on for the "
                        "cluster that uses an east-west gateway",
                        message="cross-cluster mesh proxy enabled (EnableGateway true, gateway {gateway})")
    SWITCH_ON_BY_GATEWAY = Outcome("AA1903", Status.PASS, "ASM's cross-cluster mesh proxy is on: a cross-network "
                                   "IstioGateway targets the cluster (EnableGateway itself not provided)",
                                   message="cross-cluster mesh proxy on: ASM cross-network gateway {gateway} targets "
                                           "this cluster (EnableGateway itself not provided)")
    DIFFERENT = Outcome("AA1910", Status.FAIL, "the cluster's network in ASM differs from Istio's", fix=CONSOLE_STEP,
                        message="ASM puts this cluster in network {asm_network}, Istio in {network}")
    ASM_HAS_NONE = Outcome("AA1911", Status.FAIL, "ASM's network settings do not list the cluster (Istio gives it a "
                           "network)", fix=CONSOLE_STEP,
                           message="ASM has no network for this cluster (Istio: {network})")
    SWITCH_OFF = Outcome("AA1912", Status.FAIL, "an east-west gateway is in use but ASM's cross-cluster mesh proxy "
                         "switch (EnableGateway) is off for the cluster", fix=SWITCH_STEP,
                         message="an east-west gateway is in use but ASM's cross-cluster mesh proxy is off for this "
                                 "cluster (EnableGateway false)")
    ASM_ONLY = Outcome("AA1920", Status.WARN, "Istio gives the cluster no network but ASM puts it in one: ASM proxies "
                       "will treat its Istio sidecars as another network", Severity.MINOR,
                       message="Istio gives this cluster no network (single network), ASM puts it in {asm_network}: "
                               "ASM proxies will treat Istio sidecars here as another network")
    # Istio gives the cluster no network (its proxies and endpoints are on every network: Proxy.InNetwork is true for an
    # empty network, pilot/pkg/model/context.go @1.22.3..1.30.3), ASM puts it in one and another cluster in another.
    # ASM's istiod then sends its other networks' proxies an endpoint here directly while no network gateway serves
    # this network, and only through that gateway once one does, mutual-TLS endpoints only (EndpointsByNetworkFilter:
    # `InNetwork(epNetwork) || len(gateways) == 0` is direct, else `isMtlsEnabled`, pilot/pkg/xds/endpoints/
    # ep_filters.go @1.22.3, 1.24.6, 1.26.8, 1.30.3). ASM's gateway for this network is its cross-network gateway,
    # deployed here as istio-<name> (cross-cluster-gateway-first reads it the same way).
    SPLIT_DIRECT = Outcome("AA1921", Status.WARN, "Istio runs the cluster on one network with the others (it gives it "
                           "none), ASM puts it in a network of its own, and no ASM cross-network gateway runs here: "
                           "ASM proxies in the other networks still reach its pods directly", Severity.MINOR,
                           fix=FLAT_STEP,
                           message="Istio gives this cluster no network (one flat network); ASM puts it in "
                                   "{asm_network} and other clusters in {other_networks}; no ASM cross-network "
                                   "gateway runs here, so ASM proxies in those networks reach its pods directly, as "
                                   "Istio's do, until one serves")
    SPLIT_VIA_GATEWAY = Outcome("AA1922", Status.WARN, "Istio runs the cluster on one network with the others (it "
                                "gives it none), ASM puts it in a network of its own: ASM proxies in the other "
                                "networks reach its pods only through ASM's cross-network gateway, and only pods with "
                                "a mesh proxy", Severity.MAJOR, fix=FLAT_STEP,
                                message="Istio gives this cluster no network (one flat network); ASM puts it in "
                                        "{asm_network} and other clusters in {other_networks}: ASM proxies there "
                                        "reach its pods only through ASM cross-network gateway {gateways}, and no "
                                        "longer its {plain} pod(s) without a mesh proxy")
    SPLIT_GATEWAY_DOWN = Outcome("AA1913", Status.FAIL, "Istio runs the cluster on one network with the others (it "
                                 "gives it none), ASM puts it in a network of its own and sends the other networks' "
                                 "calls to its pods to ASM's cross-network gateway here, which has no pod available: "
                                 "those calls fail", fix=FLAT_STEP,
                                 message="Istio gives this cluster no network (one flat network); ASM puts it in "
                                         "{asm_network} and other clusters in {other_networks}: ASM proxies there send "
                                         "calls to its pods to ASM cross-network gateway {gateways}, which has "
                                         "{available} of {desired} pod(s) available: those calls fail")
    SPLIT_UNKNOWN = Outcome("AA1939", Status.UNKNOWN, "Istio runs the cluster on one network with the others (it "
                            "gives it none), ASM puts it in a network of its own, and whether ASM's cross-network "
                            "gateway for it serves cannot be told", fix=FLAT_STEP,
                            message="Istio gives this cluster no network (one flat network); ASM puts it in "
                                    "{asm_network} and other clusters in {other_networks}; whether calls from those "
                                    "networks reach its pods cannot be told: {why}")
    ASM_UNKNOWN = Outcome("AA1930", Status.UNKNOWN,
                          "ASM's networks are not known (config or saved DescribeMeshMultiClusterNetwork answer)",
                          fix=HOW_TO_PROVIDE,
                          message="Istio network {network}; ASM's network for {cluster} is not known: "
                                  + HOW_TO_PROVIDE)
    ISTIO_UNKNOWN = Outcome("AA1931", Status.UNKNOWN, "an east-west gateway is in use but Istio's network for the "
                            "cluster was not found",
                            message="an east-west gateway is in use but Istio's network for this cluster was not "
                                    "found (label topology.istio.io/network on istio-system, injector global.network, "
                                    "meshNetworks)")
    CLUSTER_ID_UNKNOWN = Outcome("AA1932", Status.UNKNOWN, "the ASM answer is keyed by cluster id and the cluster's "
                                 "id is unknown",
                                 fix="Let the auditor read ConfigMap kube-system/ack-cluster-profile (an ACK "
                                     "cluster writes its own id there), or set asm.cluster_ids in the config (or "
                                     "cluster_id in the snapshot manifest).",
                                 message="Istio network {network}; the ASM answer is keyed by cluster id and the id of "
                                         "{cluster} is unknown (none given, none read from ConfigMap "
                                         "kube-system/ack-cluster-profile)")
    SWITCH_UNKNOWN = Outcome("AA1933", Status.UNKNOWN, "an east-west gateway is in use and whether ASM's "
                             "cross-cluster mesh proxy is on cannot be told (EnableGateway not provided, ASM "
                             "IstioGateways not read)", fix=HOW_TO_PROVIDE,
                             message="east-west gateway in use; EnableGateway is not known: " + HOW_TO_PROVIDE)
    SWITCH_NOT_SEEN = Outcome("AA1934", Status.UNKNOWN, "an east-west gateway is in use, EnableGateway is not "
                              "provided and no ASM cross-network IstioGateway targets the cluster", fix=HOW_TO_PROVIDE,
                              message="east-west gateway in use; EnableGateway is not known and no ASM cross-network "
                                      "IstioGateway targets this cluster: " + HOW_TO_PROVIDE)
    MESH_NETWORKS_UNREAD = Outcome("AA1935", Status.UNKNOWN, "no source gives the cluster an Istio network and "
                                   "istiod's meshNetworks, which may, could not be read",
                                   fix="Fix meshNetworks in the mesh ConfigMap (or set the label "
                                       "topology.istio.io/network on istio-system) and audit again",
                                   message="Istio's network for this cluster cannot be told: {unreadable}")
    SOURCES_DISAGREE = Outcome("AA1937", Status.UNKNOWN, "Istio's own sources give the cluster different networks: "
                               "ASM's equals the first of them, not the others",
                               fix="Make Istio's sources name one network for the cluster (label "
                                   "topology.istio.io/network on istio-system, the injector webhook path, "
                                   "global.network, the east-west gateway's label), set ASM's to it, and audit again",
                               message="Istio's sources give this cluster different networks ({networks}); ASM's "
                                       "{asm_network} equals only some of them: Istio's network cannot be told")
    SOURCES_UNREAD = Outcome("AA1938", Status.UNKNOWN, "no source gives the cluster an Istio network, but objects that "
                             "may hold it (ConfigMaps, injector webhooks) could not be read",
                             fix="Let the auditor read ConfigMaps and MutatingWebhookConfigurations (or collect them "
                                 "in the snapshot), then audit again",
                             message="no source gives this cluster an Istio network, but what may hold it could not "
                                     "be read: {unread}")
    EASTWEST_UNSEEN = Outcome("AA1936", Status.UNKNOWN, "no east-west gateway seen, but the gateway scan could not "
                              "read every kind it reads: one may have been missed, and the cross-cluster mesh proxy "
                              "switch it needs with it", fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "no east-west gateway seen, but one may have been missed: "
                                                    "whether the cluster needs ASM's cross-cluster mesh proxy switch "
                                                    "(EnableGateway) cannot be told")
    NO_NETWORK = Outcome("AA1940", Status.NOT_APPLICABLE, "Istio gives the cluster no network",
                         message="Istio gives this cluster no network (no topology.istio.io/network anywhere, no "
                                 "east-west gateway)")
    # istio/istio samples/multicluster/gen-eastwest-gateway.sh --single-cluster (@1.22.3, "single-cluster installations
    # may need this gateway to allow VMs to get discovery"): an east-west gateway without topology.istio.io/network
    # or ISTIO_META_REQUESTED_NETWORK_VIEW, exposing istiod to VMs (WorkloadGroups, WorkloadEntries) on the cluster's
    # own network; istiod takes no network gateway from it (a network gateway needs a network: getGatewayDetails,
    # pilot/pkg/serviceregistry/kube/controller/network.go @1.30.3). In a fleet, only where no other audited istiod's
    # meshNetworks route through it (auditor/network.vm_gateway_routed, in conclude).
    VM_GATEWAY = Outcome("AA1941", Status.NOT_APPLICABLE, "Istio gives the cluster no network; its east-west gateway "
                         "has none either and serves VMs on the cluster's own network",
                         message="Istio gives this cluster no network; its east-west gateway has none either and "
                                 "serves VMs on this network ({vms}): no cross-network traffic")
    outcomes = (SAME, SWITCH_ON, SWITCH_ON_BY_GATEWAY, DIFFERENT, ASM_HAS_NONE, SWITCH_OFF, SPLIT_GATEWAY_DOWN,
                ASM_ONLY, SPLIT_DIRECT, SPLIT_VIA_GATEWAY, ASM_UNKNOWN, ISTIO_UNKNOWN, CLUSTER_ID_UNKNOWN,
                SWITCH_UNKNOWN, SWITCH_NOT_SEEN, MESH_NETWORKS_UNREAD, EASTWEST_UNSEEN, SOURCES_DISAGREE,
                SOURCES_UNREAD, SPLIT_UNKNOWN, NO_NETWORK, VM_GATEWAY)
    needs = (K.NAMESPACE, K.DEPLOYMENT, K.SERVICE)
    # Pod: the Istio proxy revisions of a remote cluster (no istiod) linked to its primary (auditor/remote.py).
    # ConfigMap: also the cluster's own id (kube-system/ack-cluster-profile, auditor/clusterid.py), ASM's entries' key.
    # WorkloadGroup / WorkloadEntry: the VMs an east-west gateway without a network serves (VM_GATEWAY).
    uses = (K.CONFIGMAP, K.MUTATING_WEBHOOK, K.POD, K.WORKLOADGROUP, K.WORKLOADENTRY, *SCAN_KINDS)
    asm_needs = (K.ISTIO_GATEWAY_ASM,)

    def prepare(self, ctx: Context) -> None:
        self.settings = asm_network_settings(ctx)
        # check_cluster is judged once for every gate: every gate reads the one record its first run kept. Per
        # istiod its meshNetworks' (fromRegistry, network) pairs; per remote cluster without a network of its own,
        # the Istio cluster name its injector gives its pods and what today's finding said (strings only).
        self.links = Links.shared(ctx, type(self))
        # In a fleet, the clusters whose east-west gateway is the VM gateway on their own objects: another cluster's
        # istiod may route other networks through it (judged in conclude).
        self.vm_holds = VmGatewayHolds.shared(ctx, type(self))

    def deferred(self) -> frozenset[str]:
        return super().deferred() | self.links.deferred() | self.vm_holds.deferred()

    @same_in_every_gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterator[Finding]:
        if cluster.available(K.DEPLOYMENT):
            istiods = cluster.istiod_deployments()
            self.links.primary(cluster, istiods)  # none: its Deployments were read, no istiod here to link to
            for dep in istiods:
                self.links.keep(cluster, dep, registry_networks(cluster, dep))
        return self._cluster(cluster, ctx, self.settings)

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        """A remote cluster without a network of its own, judged by the meshNetworks of the istiods its proxies are
        proven to follow (auditor/remote.py), which name it by the Istio cluster name its injector gives its pods
        (auditor/network.injection_path_cluster): as today (AA1920, or AA1940 when ASM gives it none either) when not
        proven. A cluster whose east-west gateway is the VM gateway on its own objects, as such (AA1941) unless another
        istiod's meshNetworks route through it (auditor/network.vm_gateway_routed): then as a cross-network gateway
        whose network is not found (AA1931, and the switch)."""
        yield from self.vm_holds.conclude(self.links, ctx)
        for remote in self.links.remotes:
            name, name_source, params, evidence = remote.kept
            links = self.links.link(remote, ctx)
            judged = None if isinstance(links, str) else self._by_primary(remote, name, links)
            if isinstance(judged, Finding):
                yield judged
                continue
            why = links if isinstance(links, str) else judged
            # Today's finding: ASM puts the cluster in a network Istio gives it none, or neither gives it one.
            today, fix = (self.ASM_ONLY, self.remediation) if params["asm_network"] else (self.NO_NETWORK, None)
            yield self.report(today, remote.cluster, params=params, remediation=fix,
                              evidence={**evidence, "remote_cluster_name": name, "remote_name_source": name_source,
                                        "primary_network_unproven": why}, kind="Namespace", name="istio-system")

    def _by_primary(self, remote: Remote, name: str, links: dict[str, Any]) -> Finding | str:
        """SAME / DIFFERENT / SOURCES_DISAGREE of a linked remote by its serving istiods' meshNetworks entries naming
        it (fromRegistry), or why they do not tell its network."""
        _, _, params, evidence = remote.kept
        asm_net = params["asm_network"]
        sources: list[tuple[str, str]] = []
        for _, _, istiods in links.values():
            for istiod in istiods:
                fact = self.links.fact_of(istiod)
                if not isinstance(fact, RegistryNetworks):
                    return f"the meshNetworks of istiod {istiod.namespace}/{istiod.name} were not read"
                if fact.problem:
                    return fact.problem
                named = [network for registry, network in fact.pairs if registry == name]
                if not named:
                    return (f"no meshNetworks endpoint of istiod {istiod.namespace}/{istiod.name} in cluster "
                            f"{istiod.cluster} names fromRegistry {name}")
                sources += [(f"cluster {istiod.cluster} {fact.where} (fromRegistry {name})", n) for n in named]
        sources = list(dict.fromkeys(sources))
        distinct = sorted({n for _, n in sources})
        primary = next(iter(links.values()))[2][0].cluster
        istio = distinct[0] if len(distinct) == 1 else ", ".join(distinct)
        params = {**params, "network": istio}
        evidence = {**evidence, "istio_network": istio, "istio_sources": [f"{s}: {v}" for s, v in sources],
                    "remote_cluster_name": name, "primary_cluster": primary}
        subject = {"kind": "Namespace", "name": "istio-system"}
        settings = self.settings
        if not asm_net and settings.empty:  # as a cluster with a network of its own and no ASM side
            return self.report(self.ASM_UNKNOWN, remote.cluster, params=params, remediation=HOW_TO_PROVIDE,
                               evidence=evidence, **subject)
        if not asm_net and settings.by_id and not evidence.get("cluster_id"):
            return self.report(self.CLUSTER_ID_UNKNOWN, remote.cluster, params=params,
                               evidence={**evidence, "asm_cluster_ids": sorted(settings.by_id)}, **subject)
        if not asm_net:
            return self.report(self.ASM_HAS_NONE, remote.cluster, params=params,
                               evidence={**evidence, "asm_cluster_ids": sorted(settings.by_id)}, **subject)
        if asm_net not in distinct:
            return self.report(self.DIFFERENT, remote.cluster, params=params, evidence=evidence, **subject)
        if len(distinct) > 1:  # istiod takes one of them at random (a map's order): ASM's is only maybe Istio's
            return self.report(self.SOURCES_DISAGREE, remote.cluster,
                               params={**params, "networks": ", ".join(f"{s}: {v}" for s, v in sources)},
                               evidence={**evidence, "istio_sources_disagree": distinct}, **subject)
        return self.report(self.SAME, remote.cluster, params=params, evidence=evidence, **subject)

    def _cluster(self, cluster: ClusterInventory, ctx: Context, settings: AsmNetworkSettings) -> Iterator[Finding]:
        istio, sources, unreadable = istio_network(cluster, ctx.inv.rules)
        signals = eastwest_signals(cluster, ctx.inv.rules, ctx.config.gateways)
        # The cluster's own id where it writes one, else the given one; the evidence names both when they differ.
        known = clusterid.identity(cluster)
        cid = known.cluster_id
        asm_entry = settings.entry(cluster.name, cid)
        asm_net = (asm_entry or {}).get("network")
        evidence: dict[str, Any] = {
            "istio_network": istio, "istio_sources": [f"{s}: {v}" for s, v in sources],
            "asm_network": asm_net, "asm_source": (asm_entry or {}).get("source"),
            **known.evidence(), "eastwest_signals": signals}
        if asm_entry and asm_entry.get("given"):
            evidence["asm_network_given"] = asm_entry["given"]  # typed, and not what ASM's answer says
        distinct = sorted({v for _, v in sources})
        if len(distinct) > 1:
            evidence["istio_sources_disagree"] = distinct
        subject = {"kind": "Namespace", "name": "istio-system"}
        # A fix template (CONSOLE_STEP) is filled from these params as the remediation.
        params = {"network": istio, "asm_network": asm_net, "cluster": cluster.name}
        # No east-west gateway seen is evidence of none (no switch needed, maybe no network) only from a whole scan.
        unseen = [] if signals else scan_unread_findings(self, cluster, self.EASTWEST_UNSEEN)
        yield from unseen

        if istio is None and unreadable:
            # Absence of a network is no evidence while the one source that may hold it could not be read.
            outcome = self.MESH_NETWORKS_UNREAD
            yield self.report(outcome, cluster.name, params={"unreadable": "; ".join(unreadable)},
                              evidence={**evidence, "unreadable": unreadable}, remediation=outcome.fix, **subject)
        elif istio is None and not signals and (unread := {
                kind.kind: cluster.unread_reason(kind) for kind in (K.CONFIGMAP, K.MUTATING_WEBHOOK)
                if not cluster.available(kind)}):
            # Absence of a network is no evidence while what may hold it (the injector's values or webhook path, a
            # remote cluster's only traces) could not be read.
            yield self.report(self.SOURCES_UNREAD, cluster.name,
                              params={"unread": "; ".join(f"{kind} ({why})" for kind, why in unread.items())},
                              evidence={**evidence, "not_read": unread},
                              **subject)
        elif istio is None and not signals:
            if (asm_net or not unseen) and self._remote(cluster, ctx, params, evidence):
                self.defer(cluster)  # judged in conclude, by the primary's meshNetworks naming it
            elif asm_net:
                yield self._flat(cluster, ctx, settings, cid, params, evidence)
            elif not unseen:
                yield self.report(self.NO_NETWORK, cluster.name, params=params, evidence=evidence, **subject)
        elif istio is None:
            vms, unproven = vm_gateway(cluster, ctx.inv.rules, (istio, unreadable))
            # As a cross-network gateway whose network is not found: UNKNOWN, and the switch it needs.
            as_cross_network = [self.report(self.ISTIO_UNKNOWN, cluster.name, params=params,
                                            evidence={**evidence, "vm_gateway_unproven": unproven}, **subject),
                                self._switch(cluster, ctx, asm_entry, evidence, cid)]
            if not vms:
                yield from as_cross_network
                return
            # The gateway carries no cross-network traffic: Istio's network is none, and ASM's cross-cluster mesh
            # proxy switch is not what it needs; unless another cluster's istiod routes through it (held for
            # conclude in a fleet).
            vm_evidence = {**evidence, "vm_proxies": vms}
            as_vm_gateway = self._flat(cluster, ctx, settings, cid, params, vm_evidence) if asm_net else \
                self.report(self.VM_GATEWAY, cluster.name, params={"vms": ", ".join(vms[:5])}, evidence=vm_evidence,
                            **subject)
            if not self.vm_holds.needed(ctx):
                yield as_vm_gateway
                return
            self.vm_holds.hold(vm_gateway_front(cluster, ctx.inv.rules, ctx.config.gateways), [as_vm_gateway],
                               as_cross_network)
            return
        elif asm_entry is None or not asm_net:
            if settings.empty:
                yield self.report(self.ASM_UNKNOWN, cluster.name, params=params, remediation=HOW_TO_PROVIDE,
                                  evidence=evidence, **subject)
            elif settings.by_id and not cid:
                yield self.report(self.CLUSTER_ID_UNKNOWN, cluster.name, params=params,
                                  evidence={**evidence, "asm_cluster_ids": sorted(settings.by_id)}, **subject)
            else:
                yield self.report(self.ASM_HAS_NONE, cluster.name, params=params,
                                  evidence={**evidence, "asm_cluster_ids": sorted(settings.by_id)}, **subject)
        elif asm_net == istio and len(distinct) > 1:
            # ASM equals the first source, but Istio's pods or gateways may be on another: no PASS on a guess.
            yield self.report(self.SOURCES_DISAGREE, cluster.name,
                              params={**params, "networks": ", ".join(f"{s}: {v}" for s, v in sources)},
                              evidence=evidence, **subject)
        elif asm_net == istio:
            yield self.report(self.SAME, cluster.name, params=params, evidence=evidence, **subject)
        else:
            yield self.report(self.DIFFERENT, cluster.name, params=params, evidence=evidence, **subject)

        if signals:
            yield self._switch(cluster, ctx, asm_entry, evidence, cid)

    def _flat(self, cluster: ClusterInventory, ctx: Context, settings: AsmNetworkSettings, cid: str | None,
              params: dict[str, Any], evidence: dict[str, Any]) -> Finding:
        """Istio gives the cluster no network and ASM gives it one. With every other cluster ASM lists in the same
        network (or none), nothing changes for traffic (ASM_ONLY, as before). With another in another network, ASM
        splits Istio's flat network: its other networks' proxies reach this cluster's pods directly while no ASM
        cross-network gateway serves here, through it once one does (mutual TLS only), and not at all when it is
        deployed with no pod available (the SPLIT_* outcomes' comment)."""
        subject = {"kind": "Namespace", "name": "istio-system"}
        split = {network: who for network, who in settings.other_networks(cluster.name, cid).items()
                 if network != params["asm_network"]}
        # No istiod here: a remote whose network a primary's meshNetworks may give (unproven: `conclude`), not known to
        # be on Istio's flat network.
        if not split or not cluster.istiod_deployments():
            return self.report(self.ASM_ONLY, cluster.name, params=params, evidence=evidence,
                               remediation=self.remediation, **subject)
        params = {**params, "other_networks": "; ".join(f"{network}: {', '.join(who)}"
                                                        for network, who in sorted(split.items()))}
        evidence = {**evidence, "asm_other_networks": split}
        # ASM's gateway for this network as its controller deployed it here (the gateway scan's ASM east-west
        # workloads). istiod keeps a network gateway only with an address: its Service's load balancer or external IPs
        # (extractGatewaysInner over ClusterExternalAddresses, network.go / conversion.go @1.22.3), or the custom
        # address ASM hands the other networks for this cluster (CustomGatewayAddress); without one they go direct.
        deployed = [g for g in gateway_workloads(cluster, ctx.inv.rules, ctx.config.gateways)
                    if g.asm and g.type == EASTWEST]
        custom = ((settings.by_id.get(cid) or {}) if cid else {}).get("custom_gateway_address")
        if custom:
            evidence["custom_gateway_address"] = custom
        if not deployed and custom:  # ASM hands the other networks that address for this one: what answers is unseen
            return self.report(self.SPLIT_UNKNOWN, cluster.name, params={
                **params, "why": f"ASM names custom gateway address {custom} for this cluster and no ASM "
                                 "cross-network gateway runs here"}, evidence=evidence, **subject)
        keys = {(g.namespace, g.name) for g in deployed}
        services = [svc for svc in gateway_services(cluster, ctx.inv.rules, ctx.config.gateways)
                    if (svc.gateway.namespace, svc.gateway.name) in keys]
        if deployed and not custom and not any(not svc.lb_pending for svc in services):
            evidence["cross_network_gateways_without_address"] = [f"{g.namespace}/{g.name}" for g in deployed]
            deployed = []
        if not deployed:
            return self.report(self.SPLIT_DIRECT, cluster.name, params=params, evidence=evidence, **subject)
        counts = {f"{g.namespace}/{g.name}": pods_available(cluster, g) for g in deployed}
        evidence["cross_network_pods"] = {name: {"desired": d, "available": a} for name, (d, a) in counts.items()}
        gateways = ", ".join(counts)
        if any(available for _, available in counts.values()):
            plain: int | str = "?"
            if cluster.available(K.POD):
                pods = cluster.pods()
                plain = int(((pods["proxy"] == mesh.PROXY_NONE) & (pods["namespace"] != "kube-system")).sum()) \
                    if not pods.empty else 0
            return self.report(self.SPLIT_VIA_GATEWAY, cluster.name,
                               params={**params, "gateways": gateways, "plain": plain},
                               evidence={**evidence, "pods_without_mesh_proxy": plain}, **subject)
        if any(None in pair for pair in counts.values()):  # a count not given is no proof of no pod
            return self.report(self.SPLIT_UNKNOWN, cluster.name, params={
                **params, "why": f"the pod counts of ASM cross-network gateway {gateways} cannot be read"},
                evidence=evidence, **subject)
        return self.report(self.SPLIT_GATEWAY_DOWN, cluster.name, params={
            **params, "gateways": gateways, "available": 0,
            "desired": sum(desired or 0 for desired, _ in counts.values())}, evidence=evidence, **subject)

    def _remote(self, cluster: ClusterInventory, ctx: Context, params: dict[str, Any],
                evidence: dict[str, Any]) -> bool:
        """Record a cluster without istiod whose Istio proxies may follow another audited cluster's istiod (the
        annotation is there) and whose injector names its Istio cluster name, for `conclude`: True if recorded."""
        if not cluster.available(K.DEPLOYMENT) or cluster.istiod_deployments() or not cluster.available(K.POD):
            return False
        name, source = injection_path_cluster(cluster)
        if name is None:
            return False
        pods = cluster.pods()
        proxies = int(pods["proxy"].isin([mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN]).sum()) if not pods.empty else 0
        kept = (name, source, dict(params), dict(evidence))
        return self.links.watch(cluster, ctx, proxies, keep=lambda _: kept)

    def _switch(self, cluster: ClusterInventory, ctx: Context, entry: dict[str, Any] | None,
                evidence: dict[str, Any], cid: str | None) -> Finding:
        """The cross-cluster mesh proxy switch (EnableGateway), needed where an east-west gateway is used."""
        subject = {"kind": "MultiClusterNetwork", "name": cid or cluster.name}
        enabled = (entry or {}).get("enable_gateway")
        if enabled is True:
            return self.report(self.SWITCH_ON, cluster.name, params={"gateway": entry.get("gateway_name") or "?"},
                               evidence=evidence, **subject)
        if enabled is False:  # SWITCH_STEP, filled with the cluster, is the remediation
            return self.report(self.SWITCH_OFF, cluster.name, params={"cluster": cluster.name}, evidence=evidence,
                               **subject)
        # Not in the answer: a cross-network IstioGateway targeting the cluster shows the switch is on.
        asm = ctx.inv.asm
        if asm is not None and asm.available(K.ISTIO_GATEWAY_ASM):
            deployed = {(g.namespace, g.name) for g in gateway_workloads(cluster, ctx.inv.rules, ctx.config.gateways)
                        if g.asm and g.type == EASTWEST} if cluster.available(K.DEPLOYMENT) else set()
            for gw in asm_gateways(asm):
                if gw.deleting:  # going (gateways.going_workloads): it shows no switch that stays on
                    continue
                covers = gw.covers(cid)
                if gw.type == EASTWEST and (covers or (covers is None and (gw.namespace, gw.workload_name)
                                                       in deployed)):
                    return self.report(self.SWITCH_ON_BY_GATEWAY, cluster.name,
                                       params={"gateway": f"{gw.namespace}/{gw.name}"},
                                       evidence={**evidence, "cross_network_gateway": gw.name}, **subject)
            return self.report(self.SWITCH_NOT_SEEN, cluster.name, params={}, remediation=HOW_TO_PROVIDE,
                               evidence=evidence, **subject)
        return self.report(self.SWITCH_UNKNOWN, cluster.name, params={}, remediation=HOW_TO_PROVIDE,
                           evidence=evidence, **subject)
