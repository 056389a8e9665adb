"""Primary-remote: which audited cluster's istiod serves the Istio proxies of a cluster that has none.

A remote cluster (Helm/istioctl profile `remote`) runs no istiod and no mesh ConfigMap: its pods are injected and
configured by the istiod of a primary cluster. Istio itself links the two by the remote's system namespace
annotation `topology.istio.io/controlPlaneClusters`: a comma-separated list of the CLUSTER_IDs of the istiods that
lead the remote (or `*`, any of them); istiod compares each entry with its own CLUSTER_ID
(pilot/pkg/serviceregistry/kube/controller/multicluster.go checkShouldLead @1.22.8 and @1.30.3), which the istiod
chart sets from global.multiCluster.clusterName (default `Kubernetes`: manifests/charts/istio-control/
istio-discovery/templates/deployment.yaml @1.22.8, @1.30.3; pilot/pkg/features/pilot.go ClusterName). The install
guides write it: `kubectl annotate namespace istio-system topology.istio.io/controlPlaneClusters=cluster1`
(istio.io setup/install/multicluster/primary-remote). Only an istiod running with EXTERNAL_ISTIOD true reads it
(checkShouldLead is false without it), as the guide installs the primary (values.pilot.env.EXTERNAL_ISTIOD=true): an
istiod without it that carries the CLUSTER_ID named (the default `Kubernetes` is every unnamed install's) is no link.

A check that judges an istiod keeps, per audited istiod, a few strings (cluster, name, revision, CLUSTER_ID) and the
status and code it found for it; per remote cluster, its annotation and the revisions its proxies came from. At the
end (`conclude`) a remote is judged against the istiod it is provably served by, or stays UNKNOWN with the reason:
annotation absent, `*`, several entries, no audited istiod (or several clusters' istiods) with that CLUSTER_ID and
EXTERNAL_ISTIOD true, an audited cluster whose istiods could not be read, or a proxy revision that istiod does not
serve.

The annotation proves leadership, not serving: the remote's proxies are injected by, and connect to, whatever address
the remote's own install points at. They dial the discoveryAddress of the mesh config they were injected with,
istiod[-<rev>].<namespace>.svc:15012 (istio-discovery/templates/configmap.yaml @1.30.3; pkg/config/mesh/mesh.go
DefaultProxyConfig), resolved in the remote cluster by its own Service of that name. The remote profile renders a
selector-less Service istiod[-<rev>] naming global.remotePilotAddress (type ExternalName for a host name; for an IP
an Endpoints object up to 1.27, an EndpointSlice from 1.28: istiod-remote/templates/services.yaml, endpoints.yaml
@1.22.8; istio-discovery/templates/remote-istiod-service.yaml, remote-istiod-endpoints.yaml @1.27.9,
remote-istiod-endpointslices.yaml @1.30.3), the injector webhook calling that Service or istiodRemote.injectionURL
(mutatingwebhook.yaml, same tags), and from 1.26 the Helm values record (ConfigMap values[-<rev>], merged-values:
configmap-values.yaml @1.26.8, 1.30.3). The guides set remotePilotAddress to the primary's east-west gateway address
(`kubectl get svc istio-eastwestgateway -o jsonpath='{.status.loadBalancer.ingress[0].ip}'`, istio.io
setup/install/multicluster/primary-remote), the gateway that exposes istiod's port 15012
(samples/multicluster/gen-eastwest-gateway.sh, expose-istiod.yaml @1.30.3). So a remote whose install names an IP
address that no Service of the linked primary exposing port 15012 has (its LoadBalancer ingress, externalIPs) is
served by another istiod: the link is not proven. A host name is compared only for equality with the primary's load
balancer host names (DNS is never read here: a different name may be an alias); an IP held only by the Endpoints or
EndpointSlice (not read) is not seen; and no address on either side leaves the link as the annotation proves it. The
findings' evidence (`serving_address`) says which.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context
from auditor.i18n import N_, Phrase, joined
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Outcome, Severity, Status

CONTROL_PLANE_CLUSTERS = "topology.istio.io/controlPlaneClusters"
DEFAULT_CLUSTER_ID = "Kubernetes"  # pilot/pkg/features/pilot.go: CLUSTER_ID defaults to constants.DefaultClusterName
_MAX_ANNOTATED = 16  # annotated namespaces kept per remote (Istio reads only its system namespace's); more: no link
ISTIOD_XDS_PORT = 15012  # istiod's xDS/CA port, which the east-west gateway (or istiod's LoadBalancer) exposes
_MAX_ADDRESSES = 8  # (source, address) pairs kept per remote and per primary, more only for an address not yet kept
SERVING = "serving_address"  # the evidence key of the comparison (serving_evidence)

_LINKED = ("revision {revision}: {pods} Istio proxy pod(s) here are served by istiod {istiod} of cluster {primary} "
           "(this cluster's {namespace} namespace names its CLUSTER_ID {cluster_id} in "
           "topology.istio.io/controlPlaneClusters), ")
LINKED_PASS = _LINKED + "which passes this check there ({code})"
LINKED_FAIL = _LINKED + "which fails this check there ({code}): these pods follow that istiod"
LINKED_WARN = _LINKED + "about which this check warns there ({code}): these pods follow that istiod"
LINKED_UNJUDGED = _LINKED + "which this check could not judge there ({code})"
LINKED_SEEN = _LINKED + "whose revisions this check reports there ({code})"
UNLINKED = ("no self-built istiod Deployment here, but {proxies} pod(s) run Istio's proxy, and which audited "
            "cluster's istiod serves them cannot be told: {reason}")
LINKED_FIX = ("Fix istiod {istiod} (revision {revision}) in cluster {primary}: this check's finding there gives the "
              "command; the pods here follow that istiod.")


def remote_outcomes(passed: str, failed: str, unjudged: str, unlinked: str, warned: str = "",
                    warn_severity: Severity = Severity.MAJOR) -> tuple[Outcome, ...]:
    """The outcomes of a remote cluster judged against its primary's istiod (`Links.conclude`), under the caller's
    codes: PASS / FAIL (/ WARN, for a check that warns) / UNKNOWN as that istiod's own finding, and UNKNOWN when the
    link cannot be proven."""
    warn = (Outcome(warned, Status.WARN, "no local istiod: the istiod serving these Istio proxies runs in another "
                    "audited cluster (named by topology.istio.io/controlPlaneClusters), about which this check warns "
                    "there", warn_severity, fix=LINKED_FIX, message=LINKED_WARN),) if warned else ()
    return (
        *warn,
        Outcome(passed, Status.PASS, "no local istiod: the istiod serving these Istio proxies runs in another audited "
                "cluster (named by topology.istio.io/controlPlaneClusters) and passes this check there",
                message=LINKED_PASS),
        Outcome(failed, Status.FAIL, "no local istiod: the istiod serving these Istio proxies runs in another audited "
                "cluster (named by topology.istio.io/controlPlaneClusters) and fails this check there",
                fix=LINKED_FIX, message=LINKED_FAIL),
        *_unproven(unjudged, unlinked),
    )


def remote_link_outcomes(linked: str, unjudged: str, unlinked: str) -> tuple[Outcome, ...]:
    """For a check that reports what an istiod serves rather than judging it (istio-revisions): the remote passes
    once the istiod serving it is proven and was reported on there (`Links.conclude` with `reported`)."""
    return (
        Outcome(linked, Status.PASS, "no local istiod: the istiod serving these Istio proxies runs in another audited "
                "cluster (named by topology.istio.io/controlPlaneClusters), whose findings there cover it",
                message=LINKED_SEEN),
        *_unproven(unjudged, unlinked),
    )


def _unproven(unjudged: str, unlinked: str) -> tuple[Outcome, Outcome]:
    return (
        Outcome(unjudged, Status.UNKNOWN, "no local istiod: the istiod serving these Istio proxies runs in another "
                "audited cluster (named by topology.istio.io/controlPlaneClusters), where this check could not "
                "judge it", message=LINKED_UNJUDGED),
        Outcome(unlinked, Status.UNKNOWN, "no local istiod, and topology.istio.io/controlPlaneClusters does not prove "
                "which audited cluster's istiod serves these Istio proxies (a `*`, several entries, no or several "
                "audited istiods with that CLUSTER_ID, a revision it does not serve, a cluster not read)",
                message=UNLINKED),
    )


def _discovery_container(dep: dict[str, Any]) -> dict[str, Any] | None:
    """istiod's `discovery` container (the chart's name), or the only container; None when neither tells it."""
    containers = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or ()
    return next((c for c in containers if c.get("name") == "discovery"), None) or (
        containers[0] if len(containers) == 1 else None)


def istiod_cluster_id(dep: dict[str, Any]) -> str | None:
    """The CLUSTER_ID istiod runs with: its discovery container's env (the chart always writes it), `Kubernetes` when
    absent (istiod's default); None when it is not a literal (valueFrom) and so cannot be read here."""
    discovery = _discovery_container(dep)
    if discovery is None:
        return None
    found: str | None = DEFAULT_CLUSTER_ID
    for item in discovery.get("env") or ():
        if item.get("name") == "CLUSTER_ID":  # the last one wins, as in a container's env (kubelet: later overrides)
            value = item.get("value")
            found = value if isinstance(value, str) and "valueFrom" not in item else None
    return found




def istiod_external(dep: dict[str, Any]) -> bool | None:
    """Whether istiod runs with EXTERNAL_ISTIOD true, the one istiod that reads a remote's controlPlaneClusters
    annotation at all (checkShouldLead returns false without it: multicluster.go @1.22.8, @1.30.3) and so distributes
    the remote's istio-ca-root-cert (the namespace controller runs for a remote only when it leads): the guides set it
    on the primary serving a remote (`istioctl install --set values.pilot.env.EXTERNAL_ISTIOD=true`, istio.io
    setup/install/multicluster/primary-remote; the chart writes pilot.env, and from 1.24 global.externalIstiod, as a
    literal: istio-discovery/templates/deployment.yaml @1.30.3). None when it is not a literal (valueFrom)."""
    discovery = _discovery_container(dep)
    if discovery is None:
        return None
    found: bool | None = False
    for item in discovery.get("env") or ():
        if item.get("name") == "EXTERNAL_ISTIOD":  # the last one wins, as in a container's env
            value = item.get("value")
            found = (value in mesh.GO_TRUE) if isinstance(value, str) and "valueFrom" not in item else None
    return found


def _url_host(url: Any) -> str | None:
    try:
        return urlsplit(str(url or "")).hostname or None
    except ValueError:
        return None


def remote_addresses(cluster: ClusterInventory) -> tuple[tuple[str, str], ...]:
    """(source, address) of each place this cluster's Istio install names the control plane serving it: the
    externalName of its Istio istiod[-<rev>] Services (remote-istiod-service.yaml: global.remotePilotAddress when a
    host name), the host of its Istio injector webhooks' clientConfig.url (istiodRemote.injectionURL), and the Helm
    values record's global.remotePilotAddress and istiodRemote.injectionURL (configmap-values.yaml, from 1.26; the one
    place an IP remotePilotAddress shows among the kinds read here: the Endpoints/EndpointSlice holding it are not).
    ASM's Services and webhooks are not Istio's. A few strings; () when nothing names it."""
    found: list[tuple[str, str]] = []

    def add(source: str, address: Any) -> None:
        text = str(address or "").strip()
        if text and (source, text) not in found and (len(found) < _MAX_ADDRESSES or _new_address(found, text)):
            found.append((source, text))

    if cluster.available(K.SERVICE) and cluster.available(K.DEPLOYMENT):
        for key, (owner, _) in sorted(cluster.istiod_owners().items()):
            namespace, _, name = key.partition("/")
            svc = cluster.get(K.SERVICE, name, namespace) if owner == mesh.OWNER_ISTIO else None
            spec = (svc or {}).get("spec") or {}
            if spec.get("type") == "ExternalName":
                add(f"Service {key} externalName", spec.get("externalName"))
    if cluster.available(K.MUTATING_WEBHOOK):
        for config in cluster.objects(K.MUTATING_WEBHOOK):
            meta = config.get("metadata") or {}
            name = str(meta.get("name") or "")
            if not name.startswith(("istio-sidecar-injector", "istio-revision-tag-")) or mesh.asm_marked(meta) \
                    or not mesh.istio_installed(meta):
                continue
            for hook in config.get("webhooks") or ():
                client = (hook.get("clientConfig") if isinstance(hook, dict) else None) or {}
                if client.get("url"):
                    add(f"MutatingWebhookConfiguration {name} clientConfig.url", _url_host(client["url"]))
    if cluster.available(K.CONFIGMAP):
        for cm in cluster.objects(K.CONFIGMAP):
            meta = cm.get("metadata") or {}
            name = str(meta.get("name") or "")
            text = (cm.get("data") or {}).get("merged-values")
            if not (name == "values" or name.startswith("values-")) or not text or (
                    (meta.get("labels") or {}).get("operator.istio.io/component") != "Pilot"):
                continue
            try:
                values = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            values = values if isinstance(values, dict) else {}
            where = f"ConfigMap {meta.get('namespace')}/{name} merged-values"
            pilot = (values.get("global") or {}).get("remotePilotAddress") if isinstance(
                values.get("global"), dict) else None
            add(f"{where} global.remotePilotAddress", pilot if isinstance(pilot, str) else None)
            remote = values.get("istiodRemote") if isinstance(values.get("istiodRemote"), dict) else {}
            add(f"{where} istiodRemote.injectionURL", _url_host(remote.get("injectionURL")))
    return tuple(found)


_XDS_PORTS = (ISTIOD_XDS_PORT, str(ISTIOD_XDS_PORT))  # a Service's port as a number, or as text


def exposed_addresses(cluster: ClusterInventory) -> tuple[tuple[str, str], ...] | None:
    """(Service namespace/name, address) of each address by which this cluster exposes istiod's port 15012 beyond
    itself: the LoadBalancer ingress (ip, hostname), externalIPs and loadBalancerIP of its Services carrying that port
    (the east-west gateway of gen-eastwest-gateway.sh, whose address the guides give the remote as
    global.remotePilotAddress; or istiod's own Service made a LoadBalancer). ASM's Services are not Istio's. None when
    the Services could not be read."""
    if not cluster.available(K.SERVICE):
        return None

    def compute() -> tuple[tuple[str, str], ...]:
        found: list[tuple[str, str]] = []
        for svc in cluster.objects(K.SERVICE):
            spec = svc.get("spec") or {}
            # A loop, not any() over a generator made per Service (~10,000 at 50k pods, nearly all without the port:
            # 3.5 -> 1.1 ms).
            for p in spec.get("ports") or ():
                if isinstance(p, dict) and p.get("port") in _XDS_PORTS:
                    break
            else:
                continue
            meta = svc.get("metadata") or {}
            if mesh.asm_marked(meta):
                continue
            key = f"{meta.get('namespace')}/{meta.get('name')}"
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
            addresses = [*(i.get(f) for i in ingress if isinstance(i, dict) for f in ("ip", "hostname")),
                         *(spec.get("externalIPs") or ()), spec.get("loadBalancerIP")]
            for address in addresses:
                if isinstance(address, str) and address and (key, address) not in found \
                        and (len(found) < _MAX_ADDRESSES or _new_address(found, address)):
                    found.append((key, address))
        return tuple(found)

    return cluster.memo("remote.exposed_addresses", compute)


# k8s.io/utils/net ParseIPSloppy (parse.go): an IPv4 address (alone or ending an IPv6 one) written with leading zeros
# is read as decimal, as the API server validates Endpoints/EndpointSlice/Service addresses and kube-proxy programs
# them ("010.0.0.1" is 10.0.0.1); Python's ipaddress refuses such text, which would leave it uncompared.
_LEADING_ZEROS = re.compile(r"(^|:)0*(0|[1-9][0-9]*)\.0*(0|[1-9][0-9]*)\.0*(0|[1-9][0-9]*)\.0*(0|[1-9][0-9]*)$")


def _new_address(found: list[tuple[str, str]], text: str) -> bool:
    """Whether no pair kept names this address yet. Beyond _MAX_ADDRESSES pairs only such a pair is kept: a place that
    repeats an address adds nothing to the comparison, but every address must be compared (one left out may be the
    one that differs, or the primary's only IP)."""
    ip = _ip(text)
    return all((_ip(a) != ip) if ip is not None else (_host(a) != _host(text)) for _, a in found)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = text.strip().strip("[]")
    for candidate in (bare, _LEADING_ZEROS.sub(r"\1\2.\3.\4.\5", bare)):
        try:
            return ipaddress.ip_address(candidate)
        except ValueError:
            continue
    return None


def _host(text: str) -> str:
    return text.strip().rstrip(".").lower()


def compare_serving(named: tuple[tuple[str, str], ...], exposed: tuple[tuple[str, str], ...] | None,
                    elsewhere: dict[str, tuple[tuple[str, str], ...]] | None = None) -> tuple[str, str | None]:
    """(result, why not proven or None) of the remote's addresses (`named`, remote_addresses) against its linked
    primary's (`exposed`, exposed_addresses; `elsewhere`: the other audited clusters', to name whose an address is).
    "differ" (the only result that refuses the link): an IP address the remote names is none of the primary's IP
    addresses, which are known. Else "agree" (an address named is one of the primary's), "not compared" (host names
    that are not the primary's, or an IP against a primary with host names only: DNS is not read), "none named" or
    "primary's not read"."""
    if not named:
        return "none named", None
    if exposed is None:
        return "primary's not read", None
    ips = {_ip(a) for _, a in exposed} - {None}
    hosts = {_host(a) for _, a in exposed if _ip(a) is None}
    differ = [(s, a) for s, a in named if (ip := _ip(a)) is not None and ips and ip not in ips]
    if differ:
        # The addresses first, the places naming them last (a remote's install names one address in up to four
        # places: the webhook URL, the Service, the values record's two keys): a report cuts a long message at its
        # end, which then loses where an address was read (the evidence keeps it), never the addresses compared.
        sources: dict[str, list[str]] = {}
        for s, a in differ:
            sources.setdefault(a, []).append(s)
        # i18n.Phrases: a report says the clauses in its language, the addresses, clusters and Services as written.
        shown = joined("; ", (joined(" ", [a, *(
            Phrase(N_("(exposed by cluster {cluster}'s Service {service})"), cluster=c, service=k)
            for c, pairs in sorted((elsewhere or {}).items()) for k, b in pairs if _ip(b) == _ip(a))])
            for a in sources))
        own = joined("; ", (Phrase(N_("Service {service} at {address}"), service=k, address=a) for k, a in exposed))
        named = "; ".join((f"{a}: " if len(sources) > 1 else "") + ", ".join(where) for a, where in sources.items())
        return "differ", Phrase(N_("this cluster's install points its proxies at {addresses}, not at an address by "
                                   "which that cluster exposes istiod ({exposed}): another control plane serves them. "
                                   "Named by {named}"), addresses=shown, exposed=own, named=named)
    if any((_ip(a) in ips) if _ip(a) is not None else (_host(a) in hosts) for _, a in named):
        return "agree", None
    return "not compared", None


@dataclass(frozen=True)
class Istiod:
    cluster: str
    namespace: str
    name: str
    revision: str
    cluster_id: str | None
    external: bool | None = None  # EXTERNAL_ISTIOD (istiod_external)

    @property
    def key(self) -> tuple[str, str, str]:
        """(cluster, namespace, name): what a check keeps of this istiod is kept under it (Links.judged, Links.keep)."""
        return self.cluster, self.namespace, self.name


@dataclass(frozen=True)
class Remote:
    cluster: str
    proxies: int
    revisions: dict[str, int]       # revision -> Istio proxy pods
    annotations: dict[str, str]     # namespace -> topology.istio.io/controlPlaneClusters
    kept: Any = None                # what the check keeps of the remote for its `conclude` (small)
    addresses: tuple[tuple[str, str], ...] = ()  # (source, address) naming its serving control plane (remote_addresses)


def _key(cluster: ClusterInventory, dep: dict[str, Any]) -> tuple[str, str, str]:
    meta = dep.get("metadata") or {}
    return cluster.name, str(meta.get("namespace") or ""), str(meta.get("name") or "")


_ORDER = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.WARN: 2, Status.NOT_APPLICABLE: 3, Status.PASS: 4}


@dataclass
class Links:
    """One check's record of the fleet's istiods and remote clusters: made in `prepare` (a fresh instance per gate),
    or `shared` by every gate of a check judged once for all gates."""

    istiods: list[Istiod] = field(default_factory=list)
    verdicts: dict[tuple[str, str, str], tuple[Status, str]] = field(default_factory=dict)  # worst per istiod
    facts: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # what the check keeps per istiod (small)
    remotes: list[Remote] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)   # clusters whose istiods were recorded
    # per cluster with istiods: the addresses exposing istiod's port beyond it (exposed_addresses; None: not read)
    exposed: dict[str, tuple[tuple[str, str], ...] | None] = field(default_factory=dict)
    compared: dict[str, str] = field(default_factory=dict)  # remote cluster -> the primary its install was compared to

    @classmethod
    def shared(cls, ctx: Context, check: type[ClusterCheck]) -> Links:
        """The one record of every gate of a check judged once for all gates (check.same_in_every_gate): its
        check_cluster body runs in the first gate only, so the later gates' instances read what it kept. Kept in
        ctx.judged_once (shared by the gates' Contexts, emptied at the end of the audit) under a key that the
        per-cluster clean-up (judge._judge_one_at_a_time) never matches: no cluster's id is None."""
        key = (check, "auditor.remote.Links", None)
        links = ctx.judged_once.get(key)
        if not isinstance(links, cls):
            links = cls()
            ctx.judged_once[key] = links
        return links

    def deferred(self) -> frozenset[str]:
        """The remote clusters left to `conclude` (for ClusterCheck.deferred of a check sharing this record)."""
        return frozenset(r.cluster for r in self.remotes)

    def primary(self, cluster: ClusterInventory, deployments: Iterable[dict[str, Any]]) -> None:
        """Record a cluster's istiods (before judging them: a crash after this leaves them unjudged, not unseen), and
        the addresses by which it exposes them (exposed_addresses), what a remote's install must point at."""
        recorded = False
        for dep in deployments:
            meta = dep.get("metadata") or {}
            self.istiods.append(Istiod(cluster.name, str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                                       mesh.istiod_revision(dep), istiod_cluster_id(dep), istiod_external(dep)))
            recorded = True
        if recorded:
            self.exposed[cluster.name] = exposed_addresses(cluster)
        self.seen.add(cluster.name)

    def keep(self, cluster: ClusterInventory, dep: dict[str, Any], fact: Any) -> None:
        """Keep what the check's `conclude` needs of this istiod (its version, its meshNetworks...): `fact_of`."""
        self.facts[_key(cluster, dep)] = fact

    def fact_of(self, istiod: Istiod) -> Any:
        """What the check kept of this istiod (`keep`), None when nothing."""
        return self.facts.get(istiod.key)

    def judged(self, cluster: ClusterInventory, dep: dict[str, Any], finding: Finding, fact: Any = None) -> Finding:
        """Keep the worst status (and its code) the check found for this istiod, and `fact` when given (`keep`);
        returns the finding."""
        key = _key(cluster, dep)
        if fact is not None:
            self.facts[key] = fact
        before = self.verdicts.get(key)
        if before is None or _ORDER.get(finding.status, 1) < _ORDER.get(before[0], 1):
            self.verdicts[key] = (finding.status, finding.code)
        return finding

    def no_istiod(self, check: ClusterCheck, cluster: ClusterInventory, ctx: Context,
                  keep: Callable[[ClusterInventory], Any] | None = None,
                  finding: Finding | None = None) -> Iterator[Finding]:
        """For a cluster without istiod: today's finding (`finding`, by default ClusterCheck.no_istiod's), unless its
        Istio proxies may be served by another audited cluster's istiod (the annotation is there): then the cluster
        is left to `conclude`, with what `keep` takes of it (its objects are released before `conclude`). Today's
        finding is an UNKNOWN with evidence istio_proxy_pods when pods run Istio's proxy here."""
        self.seen.add(cluster.name)  # its Deployments were read: no istiod here to link to
        finding = finding if finding is not None else check.no_istiod(cluster)
        if (finding.status is not Status.UNKNOWN or "istio_proxy_pods" not in finding.evidence
                or not self.watch(cluster, ctx, int(finding.evidence["istio_proxy_pods"]), keep)):
            yield finding  # nothing (or a crowd of namespaces) names a control plane: UNKNOWN as before
            return
        check.defer(cluster)

    def watch(self, cluster: ClusterInventory, ctx: Context, proxies: int,
              keep: Callable[[ClusterInventory], Any] | None = None) -> bool:
        """Record a cluster without istiod whose `proxies` Istio proxy pods may be served by another audited
        cluster's istiod (its namespaces carry the annotation), with what `keep` takes of it, for `conclude` or
        `link`; False (nothing recorded) when nothing here can link it. The caller defers the cluster."""
        self.seen.add(cluster.name)
        if not proxies or len(ctx.inv.data_planes) < 2 or not cluster.available(K.NAMESPACE):
            return False
        annotations: dict[str, str] = {}
        for ns in cluster.objects(K.NAMESPACE):
            value = ((ns.get("metadata") or {}).get("annotations") or {}).get(CONTROL_PLANE_CLUSTERS)
            if value is not None:
                annotations[str((ns.get("metadata") or {}).get("name") or "")] = str(value)
        if not annotations or len(annotations) > _MAX_ANNOTATED:
            return False
        pods = cluster.pods()
        proxied = pods["proxy"].isin([mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN])
        revisions: dict[str, int] = {}
        for revision, count in pods.loc[proxied, "revision"].astype(str).value_counts().items():
            if count:
                key = str(revision) or "default"
                revisions[key] = revisions.get(key, 0) + int(count)
        self.remotes.append(Remote(cluster.name, proxies, revisions, annotations,
                                   keep(cluster) if keep is not None else None, remote_addresses(cluster)))
        return True

    def conclude(self, check: ClusterCheck, ctx: Context, outcomes: tuple[Outcome, ...],
                 then: Callable[[Remote, dict[str, list[Istiod]]], Iterable[Finding]] | None = None
                 ) -> Iterator[Finding]:
        """Each deferred remote judged against the istiod it is linked to, one finding per proxy revision; or the
        UNKNOWN saying why no link is proven. `outcomes`: `remote_outcomes` (the istiod's PASS or FAIL there is the
        remote's) or `remote_link_outcomes` (any PASS or WARN reported there covers the remote). `then`: the check's
        further findings of a linked remote, given the istiods serving each of its revisions."""
        by_template = {o.message: o for o in outcomes}
        unjudged, unlinked = by_template[LINKED_UNJUDGED], by_template[UNLINKED]
        if LINKED_SEEN in by_template:  # reported on there, PASS or WARN: the remote is covered
            by_status = {Status.PASS: by_template[LINKED_SEEN], Status.WARN: by_template[LINKED_SEEN]}
        else:
            by_status = {status: by_template[template] for status, template in (
                (Status.PASS, LINKED_PASS), (Status.FAIL, LINKED_FAIL), (Status.WARN, LINKED_WARN))
                if template in by_template}
        for remote in self.remotes:
            links = self.link(remote, ctx)
            if isinstance(links, str):
                yield check.report(unlinked, remote.cluster, params={"proxies": remote.proxies, "reason": links},
                                   evidence={"istio_proxy_pods": remote.proxies, "revisions": remote.revisions,
                                             CONTROL_PLANE_CLUSTERS: remote.annotations,
                                             SERVING: self.serving_evidence(remote)})
                continue
            for revision, (namespace, cluster_id, istiods) in sorted(links.items()):
                verdicts = [self.verdicts.get(i.key) for i in istiods]
                if any(v is None for v in verdicts):
                    status, code = Status.UNKNOWN, "no finding"
                else:
                    status, code = min((v for v in verdicts if v is not None), key=lambda v: _ORDER.get(v[0], 1))
                outcome = by_status.get(status, unjudged)
                names = ", ".join(f"{i.namespace}/{i.name}" for i in istiods)
                params = {"revision": revision, "pods": remote.revisions[revision], "istiod": names,
                          "primary": istiods[0].cluster, "namespace": namespace, "cluster_id": cluster_id,
                          "code": code}
                yield check.report(outcome, remote.cluster, params=params, kind="Namespace", name=namespace,
                                   evidence={"primary_cluster": istiods[0].cluster, "istiods": names,
                                             "cluster_id": cluster_id, "revision": revision,
                                             "primary_status": status.value, "primary_code": code,
                                             CONTROL_PLANE_CLUSTERS: remote.annotations[namespace],
                                             SERVING: self.serving_evidence(remote, istiods[0].cluster)})
            if then is not None:
                yield from then(remote, {revision: istiods for revision, (_, _, istiods) in links.items()})

    def serving(self, remote: Remote, primary: str) -> tuple[str, str | None]:
        """compare_serving of the remote's install against the `primary` cluster's exposed addresses."""
        others = {c: a for c, a in self.exposed.items() if c not in (primary, remote.cluster) and a}
        return compare_serving(remote.addresses, self.exposed.get(primary), others)

    def serving_evidence(self, remote: Remote, primary: str | None = None) -> dict[str, Any]:
        """What the remote's install names as its control plane's address and, with the linked `primary` (by default
        the one link() compared it with, if any), what that cluster exposes and the comparison's result
        (compare_serving): a few strings."""
        evidence: dict[str, Any] = {"remote": [f"{s}: {a}" for s, a in remote.addresses]}
        primary = primary if primary is not None else self.compared.get(remote.cluster)
        if primary is not None:
            evidence["primary_cluster"] = primary
            exposed = self.exposed.get(primary)
            evidence["primary"] = None if exposed is None else [f"Service {k}: {a}" for k, a in exposed]
            evidence["result"] = self.serving(remote, primary)[0]
        return evidence

    def link(self, remote: Remote, ctx: Context) -> dict[str, tuple[str, str, list[Istiod]]] | str:
        """Revision -> (annotated namespace, CLUSTER_ID, the linked cluster's istiods of that revision), or why the
        link is not proven: the proof `conclude` judges by, and a check judging the remote by more than the istiod's
        own verdict (network-consistency) reads."""
        unseen = sorted(c.name for c in ctx.inv.data_planes if c.name != remote.cluster and c.name not in self.seen)
        if unseen:
            return Phrase(N_("the istiods of cluster(s) {clusters} could not be read: one may carry the CLUSTER_ID "
                             "named here"), clusters=", ".join(unseen))
        others = [i for i in self.istiods if i.cluster != remote.cluster]
        found: list[tuple[str, str, list[Istiod]]] = []
        not_external: list[str] = []
        for namespace, value in sorted(remote.annotations.items()):
            # istiod compares each comma-separated entry as written (checkShouldLead: strings.Split, no trimming):
            # " cluster1" names no CLUSTER_ID; an empty or blank entry names none.
            entries = [e for e in value.split(",") if e.strip()]
            shown = f"{namespace} {CONTROL_PLANE_CLUSTERS}={value!r}"
            if "*" in entries:
                return Phrase(N_("{annotation} lets any istiod lead this cluster"), annotation=shown)
            if len(entries) != 1:
                return Phrase(N_("{annotation} names {count} control planes"), annotation=shown, count=len(entries))
            in_ns = [i for i in others if i.namespace == namespace]
            unread = sorted({f"{i.cluster}: {i.namespace}/{i.name}" for i in in_ns if i.cluster_id is None})
            if unread:
                return Phrase(N_("{annotation}, and the CLUSTER_ID of istiod {istiods} cannot be read"),
                              annotation=shown, istiods=", ".join(unread))
            matched = [i for i in in_ns if i.cluster_id == entries[0]]
            unread = sorted({f"{i.cluster}: {i.namespace}/{i.name}" for i in matched if i.external is None})
            if unread:
                return Phrase(N_("{annotation}, and whether istiod {istiods} runs with EXTERNAL_ISTIOD cannot be read"),
                              annotation=shown, istiods=", ".join(unread))
            # Only an istiod with EXTERNAL_ISTIOD true reads the annotation (checkShouldLead): one without it carries
            # the CLUSTER_ID named (the chart's default `Kubernetes` is every unnamed install's) but leads no remote.
            local = sorted({f"{i.cluster}: {i.namespace}/{i.name}" for i in matched if not i.external})
            matched = [i for i in matched if i.external]
            if matched:
                found.append((namespace, entries[0], matched))
            elif local:
                not_external.extend(local)
        if not found:
            named = "; ".join(f"{ns}: {v!r}" for ns, v in sorted(remote.annotations.items()))
            if not_external:
                return Phrase(N_("the audited istiod(s) with the CLUSTER_ID named ({named}) do not run with "
                                 "EXTERNAL_ISTIOD true ({istiods}): none of them reads that annotation or serves a "
                                 "remote cluster"), named=named, istiods=", ".join(not_external))
            return Phrase(N_("no audited istiod in the annotated namespace has the CLUSTER_ID named ({named})"),
                          named=named)
        clusters = sorted({i.cluster for _, _, matched in found for i in matched})
        if len(clusters) != 1:
            return Phrase(N_("istiods of several audited clusters ({clusters}) carry the CLUSTER_ID named"),
                          clusters=", ".join(clusters))
        namespace, cluster_id, matched = found[0] if len(found) == 1 else ("", "", [])
        if not matched:
            return Phrase(N_("several namespaces here name a control plane: {namespaces}"),
                          namespaces=", ".join(ns for ns, _, _ in found))
        # The annotation proves which istiod leads the remote, not which serves its proxies: its install's address.
        self.compared[remote.cluster] = clusters[0]
        _, refused = self.serving(remote, clusters[0])
        if refused:
            return Phrase(N_("{annotation} names cluster {cluster}'s istiod, but {refused}"),
                          annotation=CONTROL_PLANE_CLUSTERS, cluster=clusters[0], refused=refused)
        links: dict[str, tuple[str, str, list[Istiod]]] = {}
        for revision in remote.revisions:
            serving = [i for i in matched if i.revision == revision]
            if not serving:
                served = ", ".join(sorted({i.revision for i in matched}))
                return Phrase(N_("{pods} pod(s) here come from revision {revision}, which the istiod(s) with "
                                 "CLUSTER_ID {cluster_id} in cluster {cluster} do not serve ({served})"),
                              pods=remote.revisions[revision], revision=revision, cluster_id=cluster_id,
                              cluster=clusters[0], served=served)
            links[revision] = (namespace, cluster_id, serving)
        if not links:
            return Phrase(N_("no Istio proxy revision could be read from the pods here"))
        return links

