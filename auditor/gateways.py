"""Finding gateways in a data-plane cluster: Istio's (ingress, egress, east-west) and ASM's.

Selected by labels first (`istio: ingressgateway|egressgateway|eastwestgateway`), then by the
configured names; ASM gateways (IstioGateway-made, ASM proxy image or asm.alibabacloud.com markers)
are told apart so that they are never mistaken for Istio's.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditor import gatewayapi, idle, istio, mesh, rollouts
from auditor import kinds as K
from auditor.check import Check
from auditor.config import GatewaysConfig
from auditor.envoyfilters import installer_telemetry_release, istio_roots
from auditor.i18n import N_, Phrase
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.kinds import Kind
from auditor.model import Finding, Outcome

INGRESS, EGRESS, EASTWEST = "ingress", "egress", "eastwest"
ROLE_UNKNOWN = "unknown"  # an Istio gateway whose role nothing tells: still judged (drained and replaced)
_LABEL_TO_TYPE = {"ingressgateway": INGRESS, "egressgateway": EGRESS, "eastwestgateway": EASTWEST}
# Role tokens in a renamed gateway's `istio` label or name (Helm release `istio-ingress` -> istio=ingress).
_ROLE_TOKENS = (("eastwest", EASTWEST), ("east-west", EASTWEST), ("crossnetwork", EASTWEST),
                ("egress", EGRESS), ("ingress", INGRESS))
EASTWEST_PORTS = (15443, 15008)
# istiod takes a Service labelled topology.istio.io/network as its network's gateway when it listens on the mTLS port
# (15443, or the port this label names) or on HBONE 15008 (getGatewayDetails, pilot/pkg/serviceregistry/kube/
# controller/network.go @1.24.6, 1.30.3; the label since 1.10.6, controller.go IstioGatewayPortLabel). The gateway chart
# from 1.30 lets the Service's ports be renamed (values.yaml networkGatewayPorts, templates/service.yaml @1.30.3).
GATEWAY_PORT_LABEL = "networking.istio.io/gatewayPort"
# The env both east-west installers give the gateway's istio-proxy: samples/multicluster/gen-eastwest-gateway.sh
# (k8s.env) and the gateway chart with networkGateway set (templates/deployment.yaml) @1.24.6, 1.30.3.
REQUESTED_NETWORK_VIEW = "ISTIO_META_REQUESTED_NETWORK_VIEW"
ASM_MARKER = "asm.alibabacloud.com"
# ASM's gateway Deployments/Services carry their IstioGateway type (ingress | egress | cross-network).
ASM_GATEWAY_TYPE_LABEL = "asm.alibabacloud.com/gateway-type"
# Gateway API: istiod deploys `<gateway>-istio` labelled with the Gateway's name (older releases:
# istio.io/gateway-name) and gateway.istio.io/managed (pilot/pkg/config/kube/gateway, kube-gateway template).
GATEWAY_API_NAME_LABELS = gatewayapi.GATEWAY_NAME_LABELS
_NAME_LABEL, _OLD_NAME_LABEL = GATEWAY_API_NAME_LABELS
GATEWAY_API_MANAGED_LABEL = gatewayapi.MANAGED_LABEL
# What the N/A findings say was looked for (product.md: NOT_APPLICABLE names what it looked for).
LOOKED_FOR = ("Deployments/DaemonSets whose istio-proxy runs `proxy router`, the gateway chart's injection "
              "template, Gateway API deployments, labels istio=ingressgateway|egressgateway|eastwestgateway, "
              "and the configured gateway names")
EASTWEST_LOOKED_FOR = ("an east-west gateway Deployment, a Service labelled topology.istio.io/network on 15443/15008, "
                      "an AUTO_PASSTHROUGH Gateway")
# How a gateway was installed decides how it gets new proxy settings (remediation).
INSTALL_ISTIOCTL, INSTALL_HELM, INSTALL_GATEWAY_API, INSTALL_ASM, INSTALL_OTHER = (
    "istioctl", "helm", "gateway-api", "asm", "other")
# Alibaba Cloud CCM annotations for a shared CLB; the older `alicloud-` spelling is still honoured.
_CCM = "service.beta.kubernetes.io/"
LB_ID_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-id", _CCM + "alicloud-loadbalancer-id")
LB_WEIGHT_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-weight", _CCM + "alicloud-loadbalancer-weight")
# CCM labels a Service with the CLB it created or reuses (from CCM v2.5: helper.LabelLoadBalancerId,
# kubernetes/cloud-provider-alibaba-cloud@v2.5.1:pkg/controller/helper/service_utils.go): the only trace of an
# auto-created CLB but its address in the Service's status.
LB_ID_LABEL = "service.k8s.alibaba/loadbalancer-id"
# What CCM needs before it applies the weight annotation (kubernetes/cloud-provider-alibaba-cloud@v2.14.0:
# pkg/controller/service/clbv1/vgroups.go buildVGroupForServicePort, nlbv2/server_groups.go likewise): a CLB reused by
# the loadbalancer-id annotation (IsUserManaged, clbv1/loadbalancer.go BuildLocalModel) AND a vgroup-port
# annotation; otherwise the weight is not read and the Service's backends get CCM's default weight
# (setWeightBackends -> podNumberAlgorithm). The weight must be what Go's strconv.Atoi reads, within [0, 100], or
# the Service's whole sync fails ("weight must be integer in range [0,100]") and the CLB keeps what it had.
LB_VGROUP_PORT_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-vgroup-port",
                              _CCM + "alicloud-loadbalancer-vgroup-port")
# "on": CCM leaves the weights of backends already in the vServer group as they are (v2.11.2+, clbv1/vgroups.go diff:
# `!local.IgnoreWeightUpdate && l.Weight != r.Weight`).
LB_IGNORE_WEIGHT_UPDATE_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-ignore-weight-update",
                                       _CCM + "alicloud-loadbalancer-ignore-weight-update")
# Which Services CCM gives a CLB or an NLB (helper.NeedCLB / NeedNLB, pkg/controller/helper/service_utils.go @v2.14.0):
# type LoadBalancer, and no spec.loadBalancerClass but alibabacloud.com/nlb, no `service.beta.kubernetes.io/class`.
NLB_CLASS = "alibabacloud.com/nlb"
LB_CLASS_ANNOTATION = "service.beta.kubernetes.io/class"
# Who can reach a load balancer CCM gives a Service: `internet` or `intranet` (VPC only), by the address-type annotation
# (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/reconcile/annotation/annotations.go
# AddressType, read by AnnotationRequest.Get in its alibaba-cloud- then alicloud- spelling; clbv1/loadbalancer.go
# BuildLocalModel, nlbv2/loadbalancer.go with nlbmodel.GetAddressType, case-insensitive). A load balancer CCM creates
# without it is `internet` (annotation.DefaultValue, setModelDefaultValue); one reused by loadbalancer-id keeps the
# type it was created with (CCM cannot change a CLB's: "can not change LoadBalancer AddressType once created").
LB_ADDRESS_TYPE_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-address-type",
                               _CCM + "alicloud-loadbalancer-address-type")
INTERNET, INTRANET = "internet", "intranet"
# `eip`: CCM shows the elastic IP bound to the load balancer as the Service's address (service_controller.go
# updateServiceStatus, setEIPAsExternalIP): an intranet CLB with an EIP is reached from the internet.
LB_EXTERNAL_IP_TYPE_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-external-ip-type",
                                   _CCM + "alicloud-loadbalancer-external-ip-type")
_GO_ATOI = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi: an optional sign and ASCII digits, nothing else


@dataclass(frozen=True)
class GatewayWorkload:
    type: str          # ingress | egress | eastwest | unknown (ROLE_UNKNOWN)
    namespace: str
    name: str          # workload name (= Prometheus source_workload)
    asm: bool          # True when ASM manages it
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    reason: str = ""   # why it was classified so (what it is, and its role)
    pod_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # template labels
    kind: str = "Deployment"   # or DaemonSet (the gateway chart's `kind: DaemonSet`)
    installed_by: str = INSTALL_OTHER
    # What could not be read that would tell its role ("kind key (why)"; type ROLE_UNKNOWN): a role that depends on
    # unread config is not guessed.
    role_unread: str = ""


def _has_asm_marker(meta: dict[str, Any]) -> bool:
    return any(ASM_MARKER in k for k in meta.get("labels") or {}) or any(
        ASM_MARKER in k for k in meta.get("annotations") or {}) or any(
        ref.get("kind") == "IstioGateway" for ref in meta.get("ownerReferences") or ())


def _gateway_shaped(template: dict[str, Any], proxy: dict[str, Any] | None, labels: dict[str, str]) -> str:
    """What makes a pod template an Istio gateway's whatever its labels, "" when nothing does.

    `proxy router` (istioctl/IstioOperator gateways, the injected gateway template); the Helm gateway chart's
    template (istio-proxy with image `auto` and `inject.istio.io/templates: gateway`, no application
    container); a Deployment istiod made for a Gateway API Gateway.
    """
    if _gateway_api_labelled(labels):
        return Phrase(N_("Gateway API deployment (gateway-name label)"))
    if proxy is None:
        return ""
    if mesh.is_gateway_proxy(proxy):
        return Phrase(N_("istio-proxy runs `proxy router`"))
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    containers = ((template.get("spec") or {}).get("containers")) or []
    alone = all(c.get("name") == mesh.PROXY_CONTAINER for c in containers)
    gateway_template = _asks_gateway_template(annotations.get(INJECT_TEMPLATES))
    if alone and (gateway_template or proxy.get("image") == "auto"):
        return Phrase(N_("gateway injection template (istio-proxy only, image auto)"))
    if gateway_template:
        # The injector gives its pods the gateway template (`proxy router`) whatever runs beside istio-proxy: the
        # gateway chart's `additionalContainers` (manifests/charts/gateway values.yaml, templates/deployment.yaml
        # @1.27.0 .. @1.30.3) put the user's containers there (red22a: neither gateway nor role-stated, its pods
        # were unexplained gateway pods: UNKNOWN AA1731 at uninstall, AA2318's `kubectl delete` after the purge).
        return Phrase(N_("gateway injection template (inject.istio.io/templates: gateway)"))
    return ""


# The pod annotation naming the injection templates, a comma-separated list (selectTemplates, pkg/kube/inject/
# inject.go @1.24.6: split on ",", each name trimmed): the gateway chart's podAnnotations write `gateway`.
INJECT_TEMPLATES = "inject.istio.io/templates"


def _asks_gateway_template(value: Any) -> bool:
    return isinstance(value, str) and "gateway" in (name.strip() for name in value.split(","))


def _gateway_api_labelled(labels: dict[str, str]) -> bool:
    """istiod deployed it for a Gateway API Gateway (the labels one by one: asked per Deployment, where a generator
    costs more than the test)."""
    return _NAME_LABEL in labels or _OLD_NAME_LABEL in labels or bool(labels.get(GATEWAY_API_MANAGED_LABEL))


def _installed_by(meta: dict[str, Any], labels: dict[str, str], asm: bool) -> str:
    if asm:
        return INSTALL_ASM
    if _gateway_api_labelled(labels):
        return INSTALL_GATEWAY_API
    own = meta.get("labels") or {}
    if "operator.istio.io/component" in own or "install.operator.istio.io/owning-resource" in own:
        return INSTALL_ISTIOCTL
    annotations = meta.get("annotations") or {}
    if own.get("app.kubernetes.io/managed-by") == "Helm" or mesh.HELM_RELEASE in annotations or (
            str(own.get("helm.sh/chart") or "").startswith("gateway")):
        return INSTALL_HELM
    return INSTALL_OTHER


def normalise_gateway_type(value: Any) -> str | None:
    """ASM's `spec.gatewayType` (ingress | egress | cross-network) as INGRESS / EGRESS / EASTWEST.

    The API's constant is `cross-network`; the CRD does not validate the field, so case and separator
    variants seen in hand-written manifests (`CrossNetwork`, `cross_network`, `crossnetwork`) count too.
    """
    if not value:  # most workloads carry no such label: no regex for them
        return None
    text = re.sub(r"[\s_\-]", "", str(value)).lower()
    if text in ("ingress", "ingressgateway"):
        return INGRESS
    if text in ("egress", "egressgateway"):
        return EGRESS
    if text in ("crossnetwork", "crossnetworkgateway"):
        return EASTWEST
    return None


def gateway_type_of(labels: dict[str, str], name: str, names: GatewaysConfig) -> str | None:
    """The role that labels or configured names state outright, None when they do not."""
    return _stated_type(labels, name, _roles_by_name(names))


def _roles_by_name(names: GatewaysConfig) -> dict[str, str]:
    """Configured gateway names -> the role they state. A name configured for two roles states the one asked
    first: Istio's (east-west, then egress, then ingress), then ASM's egress (also as istio-<name>), then ASM's
    ingress. Built once per scan of the workloads, not once per workload."""
    roles: dict[str, str] = {}
    if names.asm_ingress:
        roles.update({names.asm_ingress: INGRESS, f"istio-{names.asm_ingress}": INGRESS})
    if names.asm_egress:
        roles.update({names.asm_egress: EGRESS, f"istio-{names.asm_egress}": EGRESS})
    roles.update({names.istio_ingress: INGRESS, names.istio_egress: EGRESS, names.istio_eastwest: EASTWEST})
    return roles


def _stated_type(labels: dict[str, str], name: str, roles_by_name: dict[str, str]) -> str | None:
    asm_type = normalise_gateway_type(labels.get(ASM_GATEWAY_TYPE_LABEL))
    if asm_type:
        return asm_type
    label = labels.get("istio", "")
    if label in _LABEL_TO_TYPE:
        return _LABEL_TO_TYPE[label]
    return roles_by_name.get(name)


def _renamed_gateway_type(labels: dict[str, str], name: str) -> str | None:
    """Renamed gateways keep the role in the label or name (istio=ingress, x-egressgateway, edge-eastwest)."""
    for text in (labels.get("istio", ""), labels.get("app", ""), name):
        for token, gtype in _ROLE_TOKENS:
            if token in text.lower():
                return gtype
    return None


def network_gateway_port(labels: dict[str, str], spec: dict[str, Any]) -> int | None:
    """The port on which a Service labelled topology.istio.io/network serves as its network's gateway, as istiod
    finds it (GATEWAY_PORT_LABEL, else 15443; or 15008), None when it serves on neither. `labels` must carry the
    network label (not asked here)."""
    ports = {p.get("port") for p in spec.get("ports") or () if isinstance(p, dict)}
    mtls = EASTWEST_PORTS[0]
    named = str(labels.get(GATEWAY_PORT_LABEL) or "")
    if named and _GO_ATOI.fullmatch(named):  # strconv.Atoi; what it refuses leaves the default (a warning in istiod)
        mtls = int(named)
    return next((port for port in (mtls, EASTWEST_PORTS[1]) if port in ports), None)


def _unread_kind(cluster: ClusterInventory, kind: Kind) -> str:
    return f"{kind.key} ({cluster.unread_reason(kind)})"


def _role_from_config(cluster: ClusterInventory, namespace: str, pod_labels: dict[str, str]
                      ) -> tuple[str, str, str] | None:
    """(role, why, what unread) the cluster's Istio config and Services give a gateway's pods, None when they say
    nothing.

    An Istio Gateway whose selector picks the pods: AUTO_PASSTHROUGH servers make it east-west. A Service in front of
    the pods labelled topology.istio.io/network on 15443/15008 is an east-west gateway's. Otherwise what the routes
    bound to that Gateway send to decides (where the gateway sends its traffic): a host that no Service of the cluster
    answers to (a ServiceEntry's, edition.cnn.com in Istio's egress-gateway task) makes it egress; every route to
    Services of the cluster (bookinfo-gateway.yaml's productpage) makes it ingress. Mesh traffic sent into the gateway
    (a VirtualService binding its Gateway with `mesh`, or a mesh route to its Service) only supports egress: the
    VirtualService reference tells users to bind `mesh` with a Gateway to apply one set of rules to both, and in-mesh
    callers of a public name are often sent through the ingress gateway (hairpin). A Gateway with no route bound to it
    is ingress unless mesh traffic is sent into it. When what decides could not be read (VirtualServices, Services,
    ServiceEntries, a delegate VirtualService) the role is ROLE_UNKNOWN with it named: an egress gateway taken for
    ingress counts as replaced by ASM's ingress gateway (a false GO); an ingress gateway taken for egress, as not
    replaced (a false NO-GO).
    """
    unread: list[str] = []
    fronting: set[str] = set()  # names (lower case) of the Services in front of the pods
    if not cluster.available(K.SERVICE):
        unread.append(_unread_kind(cluster, K.SERVICE))
    else:
        for svc in cluster.objects(K.SERVICE):
            meta = svc.get("metadata") or {}
            if meta.get("namespace") != namespace:
                continue  # before reading the selector: asked of every Service of the cluster
            selector = (svc.get("spec") or {}).get("selector") or {}
            if not selector or not _matches(selector, pod_labels):
                continue
            fronting.add(str(meta.get("name") or "").lower())
            svc_labels = meta.get("labels") or {}
            if "topology.istio.io/network" in svc_labels and network_gateway_port(svc_labels, svc.get("spec") or {}):
                return EASTWEST, f"Service {namespace}/{meta.get('name')} is labelled topology.istio.io/network", ""
    if not cluster.available(K.GATEWAY):
        return None
    selecting = []
    for gw in cluster.objects(K.GATEWAY):
        selector = (gw.get("spec") or {}).get("selector") or {}
        if selector and _matches(selector, pod_labels):
            selecting.append(gw)
    if not selecting:
        return None
    names = []
    for gw in selecting:
        meta = gw.get("metadata") or {}
        names.append(f"{meta.get('namespace')}/{meta.get('name')}")
        servers = (gw.get("spec") or {}).get("servers") or ()
        if any(((srv.get("tls") or {}).get("mode")) == "AUTO_PASSTHROUGH" for srv in servers):
            return EASTWEST, f"Gateway {names[-1]} passes mTLS through (AUTO_PASSTHROUGH)", ""
    if not cluster.available(K.VIRTUALSERVICE):
        unread.append(_unread_kind(cluster, K.VIRTUALSERVICE))
        return (ROLE_UNKNOWN, f"Gateway {names[0]} selects its pods, but what tells egress from ingress (where the "
                              f"routes bound to it send) could not be read: {'; '.join(unread)}", "; ".join(unread))
    mesh_in = ""   # supporting evidence: mesh traffic sent into the gateway (the first found)
    routes: list[tuple[str, str, str]] = []  # (host, rule namespace, VirtualService) of routes bound to the Gateway
    missing: list[str] = []  # delegate VirtualServices not found
    selected = set(names)
    for vs in cluster.objects(K.VIRTUALSERVICE):
        vs_meta = vs.get("metadata") or {}
        vs_ns = vs_meta.get("namespace", "")
        vs_name = f"{vs_ns}/{vs_meta.get('name')}"
        gateways = (vs.get("spec") or {}).get("gateways") or ()
        bound = _gateway_keys(gateways, vs_ns)
        if not mesh_in and "mesh" in gateways and bound & selected:
            mesh_in = f"VirtualService {vs_name} binds Gateway {sorted(bound & selected)[0]} with `mesh`"
        if not mesh_in and fronting and (not gateways or "mesh" in gateways):
            service = _mesh_route_into(vs, vs_ns, namespace, fronting)
            if service:
                mesh_in = f"VirtualService {vs_name} routes mesh traffic to its Service {namespace}/{service}"
        for host, host_ns in _gateway_route_hosts(cluster, vs, vs_ns, bool(bound & selected), selected, missing):
            routes.append((host, host_ns, vs_name))
    external, undecided = "", []
    for host, host_ns, vs_name in routes:
        kind, why = _host_kind(cluster, host, host_ns)
        if kind == "external":
            external = f"VirtualService {vs_name} sends traffic of Gateway {names[0]} to {host} ({why})"
            break
        if kind == "unread":
            undecided.append(why)
    support = f"; {mesh_in}" if mesh_in else ""
    if external:
        return EGRESS, external + support, ""
    not_read = list(dict.fromkeys([*unread, *undecided, *missing]))
    if not_read:
        return (ROLE_UNKNOWN, f"Gateway {names[0]} selects its pods, but where the routes bound to it send could not "
                              f"be told: {'; '.join(not_read)}", "; ".join(not_read))
    if routes:
        return INGRESS, (f"Gateway {names[0]} selects its pods and the routes bound to it go to Services of the "
                         f"cluster (traffic from outside the mesh){support}"), ""
    if mesh_in:
        why = f"no route bound to Gateway {names[0]} tells where it sends ({mesh_in})"
        return ROLE_UNKNOWN, f"{mesh_in}, but no route bound to Gateway {names[0]} tells where it sends", why
    return INGRESS, f"Gateway {names[0]} selects its pods (traffic from outside the mesh)", ""


def _gateway_keys(gateways: Any, namespace: str) -> set[str]:
    """namespace/name of the Istio Gateways a `gateways` list names, resolved as istiod does
    (resolveGatewayName, pilot/pkg/model/config.go @1.30.3): ns/name; ./name and a short name are the rule's
    namespace; the legacy FQDN name.ns[.svc.cluster.local] is ns/name."""
    if not isinstance(gateways, (list, tuple)):
        return set()
    out = set()
    for g in gateways:
        if not isinstance(g, str) or g == "mesh":
            continue
        if "/" in g:
            ns, _, name = g.partition("/")
            out.add(f"{namespace if ns == '.' else ns}/{name}")
        elif "." in g:
            name, _, rest = g.partition(".")
            out.add(f"{rest.partition('.')[0]}/{name}")
        else:
            out.add(f"{namespace}/{g}")
    return out


def _gateway_route_hosts(cluster: ClusterInventory, vs: dict[str, Any], vs_ns: str, vs_bound: bool,
                         selected: set[str], missing: list[str]) -> list[tuple[str, str]]:
    """(host, namespace its short form is relative to) of the route destinations of a VirtualService that apply to one
    of the `selected` Gateways: a rule whose match names one in `gateways`, or one with a match without gateways (or no
    match) on a VirtualService bound to one (`vs_bound`). Istio: match.gateways overrides the VirtualService's
    (istio/api networking/v1alpha3/virtual_service.proto, HTTPMatchRequest.gateways). A delegate's routes are read
    from the delegate VirtualService (one level, as istiod merges them); one not found is added to `missing`."""
    out: list[tuple[str, str]] = []
    spec = vs.get("spec") or {}
    for section in ("http", "tcp", "tls"):
        for rule in spec.get(section) or ():
            if not isinstance(rule, dict):
                continue
            matches = [m for m in rule.get("match") or () if isinstance(m, dict)]
            applies = (vs_bound and (not matches or any(not m.get("gateways") for m in matches))) or any(
                _gateway_keys(m.get("gateways"), vs_ns) & selected for m in matches)
            if not applies:
                continue
            out.extend((h, vs_ns) for h in _destination_hosts(rule))
            delegate = rule.get("delegate")
            if isinstance(delegate, dict) and delegate.get("name"):
                d_ns = str(delegate.get("namespace") or vs_ns)
                target = cluster.get(K.VIRTUALSERVICE, str(delegate["name"]), d_ns)
                if target is None:
                    missing.append(f"delegate VirtualService {d_ns}/{delegate['name']} (not found)")
                    continue
                for d_rule in ((target.get("spec") or {}).get("http") or ()):
                    if isinstance(d_rule, dict):
                        out.extend((h, d_ns) for h in _destination_hosts(d_rule))
    return out


def _destination_hosts(rule: dict[str, Any]) -> list[str]:
    return [str(dest["destination"]["host"]) for dest in rule.get("route") or ()
            if isinstance(dest, dict) and isinstance(dest.get("destination"), dict) and dest["destination"].get("host")]


def _host_kind(cluster: ClusterInventory, host: str, rule_namespace: str) -> tuple[str, str]:
    """("internal" | "external" | "unread", why) of a route's destination host: a Service of the cluster (not of type
    ExternalName, which sends out of the cluster) is internal; a ServiceEntry host is internal when MESH_INTERNAL,
    external otherwise; a host nothing answers to is external. With the Services (or, for a host that is no Service,
    the ServiceEntries) unread it is "unread", why naming the kind."""
    if not cluster.available(K.SERVICE):
        return "unread", _unread_kind(cluster, K.SERVICE)
    target = service_of(host, rule_namespace or "default")
    if target is not None:
        svc = cluster.get(K.SERVICE, target[0], target[1])
        if svc is not None:
            if (svc.get("spec") or {}).get("type") == "ExternalName":
                return "external", f"Service {target[1]}/{target[0]} is of type ExternalName"
            return "internal", ""
    if not cluster.available(K.SERVICEENTRY):
        return "unread", _unread_kind(cluster, K.SERVICEENTRY)
    fqdn, locations = host_fqdn(host, rule_namespace or "default"), _entry_locations(cluster)
    location = locations.get(fqdn)
    if location is None:
        location = next((loc for pattern, loc in locations.items() if pattern.startswith("*")
                         and fqdn.endswith(pattern[1:])), None)
    if location is None:
        return "external", "no Service or ServiceEntry of the cluster answers to it"
    if location == "MESH_INTERNAL":
        return "internal", ""
    return "external", f"a ServiceEntry host, {location}"


def _entry_locations(cluster: ClusterInventory) -> dict[str, str]:
    """ServiceEntry host (lower case) -> its location (MESH_EXTERNAL by default; MESH_INTERNAL wins), once per
    cluster."""
    def build() -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in cluster.objects(K.SERVICEENTRY):
            spec = entry.get("spec") or {}
            location = str(spec.get("location") or "MESH_EXTERNAL").upper()
            for host in spec.get("hosts") or ():
                key = str(host).strip().lower().rstrip(".")
                if out.get(key) != "MESH_INTERNAL":
                    out[key] = location
        return out
    return cluster.memo("gateway_role_entry_hosts", build)


# The option of a Gateway API TLS listener that istiod turns into an AUTO_PASSTHROUGH server (an east-west gateway's):
# pilot/pkg/config/kube/gateway/testdata/eastwest-tlsoption.yaml and its .golden @1.24.6.
LISTENER_PROTOCOL_OPTION, AUTO_PASSTHROUGH_PROTOCOL = "gateway.istio.io/listener-protocol", "auto-passthrough"


def _auto_passthrough_listener(cluster: ClusterInventory, namespace: str, gateway: str) -> str:
    """The name of Gateway API Gateway namespace/gateway's listener that passes mTLS through, "" when it has none or
    the Gateways were not read. Asked only of Gateway API deployments (a few per cluster)."""
    if not gateway or not cluster.available(K.K8S_GATEWAY):
        return ""
    gw = cluster.get(K.K8S_GATEWAY, gateway, namespace) or {}
    for listener in (gw.get("spec") or {}).get("listeners") or ():
        options = ((listener.get("tls") or {}).get("options")) or {}
        if options.get(LISTENER_PROTOCOL_OPTION) == AUTO_PASSTHROUGH_PROTOCOL:
            return str(listener.get("name") or listener.get("port") or "?")
    return ""


# Istio's egress gateway with the Gateway API (istio.io docs tasks/traffic-management/egress/egress-gateway, its
# snips.sh): a Gateway of class istio whose routes (HTTPRoute/TLSRoute forward-cnn-from-egress-gateway) send to
# backendRefs of kind Hostname, group networking.istio.io (edition.cnn.com), or to a ServiceEntry (Istio's backendRef
# kinds, pilot/pkg/config/kube/gateway/conversion.go @1.30.3).
ISTIO_NETWORKING_GROUP = "networking.istio.io"


def _gateway_api_external_backend(cluster: ClusterInventory, namespace: str, gateway: str) -> str:
    """What a route bound to Gateway API Gateway namespace/gateway sends out of the mesh ("HTTPRoute ns/name ->
    Hostname edition.cnn.com"), "" when none does or the routes were not read (it then stays ingress, as before).
    Asked only of Gateway API deployments (a few per cluster)."""
    if not gateway:
        return ""
    for kind in K.K8S_ROUTE_KINDS:
        if not cluster.available(kind):
            continue
        for route in cluster.objects(kind):
            meta = route.get("metadata") or {}
            route_ns = meta.get("namespace") or ""
            spec = route.get("spec") or {}
            if not any((ref.get("group") or gatewayapi.GROUP) == gatewayapi.GROUP
                       and (ref.get("kind") or "Gateway") == "Gateway" and str(ref.get("name") or "") == gateway
                       and (ref.get("namespace") or route_ns) == namespace
                       for ref in spec.get("parentRefs") or () if isinstance(ref, dict)):
                continue
            for rule in spec.get("rules") or ():
                for backend in (rule.get("backendRefs") or ()) if isinstance(rule, dict) else ():
                    if not isinstance(backend, dict) or backend.get("group") != ISTIO_NETWORKING_GROUP:
                        continue
                    target = str(backend.get("name") or "")
                    if backend.get("kind") == "Hostname" or (
                            backend.get("kind") == "ServiceEntry" and _entry_location(
                                cluster, target, str(backend.get("namespace") or route_ns)) != "MESH_INTERNAL"):
                        return f"{kind.kind} {route_ns}/{meta.get('name')} -> {backend.get('kind')} {target}"
    return ""


def _entry_location(cluster: ClusterInventory, name: str, namespace: str) -> str:
    """A ServiceEntry's location (MESH_EXTERNAL by default), "" when it is not found or not read."""
    if not cluster.available(K.SERVICEENTRY):
        return ""
    entry = cluster.get(K.SERVICEENTRY, name, namespace)
    if entry is None:
        return ""
    return str((entry.get("spec") or {}).get("location") or "MESH_EXTERNAL").upper()


def _mesh_route_into(vs: dict[str, Any], vs_namespace: str, namespace: str, services: set[str]) -> str:
    """The name of the first of `services` (Services of `namespace`, lower case) that a route of a VirtualService
    applying to the mesh sends to, "" when none does. The egress pattern split in two (Istio's egress-gateway task binds
    both in one VirtualService): a mesh VirtualService sends to the gateway's Service, another bound to its Gateway
    sends out; an ingress gateway gets no mesh traffic."""
    spec = vs.get("spec") or {}
    for section in ("http", "tcp", "tls"):
        for rule in spec.get(section) or ():
            if not isinstance(rule, dict):
                continue
            for dest in rule.get("route") or ():
                host = str(((dest.get("destination") or {}) if isinstance(dest, dict) else {}).get("host") or "")
                if host.strip().lower().partition(".")[0] not in services:
                    continue  # most destinations: no label of theirs names a Service in front of the gateway
                target = service_of(host, vs_namespace or "default")
                if target is not None and target[1] == namespace.lower() and target[0] in services:
                    return target[0]
    return ""


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# What the gateway scan reads when it is available, beside the Deployments (and the Services of gateway_services):
# DaemonSets (the gateway chart's `kind: DaemonSet`), Istio Gateways and Gateway API Gateways (a gateway's role:
# AUTO_PASSTHROUGH, an auto-passthrough listener). Every check that reads the scan lists them in `uses`, so what it
# concludes does not hang on which other checks of the gate were enabled to collect them.
SCAN_KINDS: tuple[Kind, ...] = (K.DAEMONSET, K.GATEWAY, K.K8S_GATEWAY)
# The first words of the UNKNOWN a check says instead of a conclusion that needs every gateway and its role seen
# (scan_unread_findings); its outcome's message goes on with what the check cannot conclude (one field: {unread}).
SCAN_UNREAD = "the gateway scan could not read {unread}: "
SCAN_UNREAD_FIX = "Let the auditor read the kinds named (or collect them in the snapshot), then audit again."


def scan_unread(cluster: ClusterInventory, kinds: tuple[Kind, ...] = SCAN_KINDS) -> dict[str, str]:
    """Which of SCAN_KINDS the gateway scan could not read (kind key, e.g. daemonsets.apps: Istio's and the Gateway
    API's are both `Gateway` -> why: forbidden, an API error, not collected in a snapshot); the scan then sees less (a
    DaemonSet gateway missed, an east-west gateway typed by its Gateway taken for another role). Empty when each was
    read or is not served: a CRD not installed is evidence that there are none."""
    return {kind.key: cluster.unread_reason(kind) for kind in kinds if not cluster.available(kind)}


def scan_unread_findings(check: Check, cluster: ClusterInventory, outcome: Outcome,
                         kinds: tuple[Kind, ...] = SCAN_KINDS) -> list[Finding]:
    """[] when the gateway scan read every kind it reads; else one UNKNOWN of `outcome` naming what it could not read,
    said by a check in place of (or beside) a PASS or NOT_APPLICABLE that holds only when every gateway and its role
    were seen. A FAIL found anyway stands. `kinds`: those the check's conclusion hangs on (DaemonSets alone for one
    that judges every Istio gateway whatever its role). The outcome's message template is SCAN_UNREAD followed by what
    the check cannot conclude."""
    unread = scan_unread(cluster, kinds)
    if not unread:
        return []
    return [check.report(outcome, cluster.name, params={"unread": "; ".join(f"{kind} ({why})" for kind, why in
                                                                            unread.items())},
                         remediation=SCAN_UNREAD_FIX, evidence={"not_read": unread})]


def gateway_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules,
                      names: GatewaysConfig | None = None) -> list[GatewayWorkload]:
    """Every gateway workload of the cluster, Istio's and ASM's (see `.asm`). Needs Deployments."""
    names = names or GatewaysConfig()
    # Many checks and gates ask; one scan of the Deployments per cluster (tens of thousands at scale).
    return list(cluster.memo(("gateway_workloads", id(rules), repr(names)),
                             lambda: _gateway_workloads(cluster, rules, names)))


def pods_available(cluster: ClusterInventory, workload: GatewayWorkload) -> tuple[int | None, int | None]:
    """(pods desired, pods available) of a gateway workload, as its controller's status tells them (a Deployment's
    spec.replicas and status.availableReplicas, a DaemonSet's desiredNumberScheduled and numberAvailable); (None, None)
    when the object is not there. A gateway whose workload has no pod available serves nothing: its Service has no
    ready endpoint. ASM creates its gateway as Deployment istio-<name> in istio-system and, with
    asm.alibabacloud.com/replicas-managed-by-asm: "false" (ASM >= 1.19), leaves its replica count to HPA or to hand
    scaling (alibabacloud.com/help/en/asm/user-guide/customize-the-scaling-policy-of-asm-gateway): 0 is possible."""
    kind = K.DAEMONSET if workload.kind == "DaemonSet" else K.DEPLOYMENT
    if not cluster.available(kind):
        return None, None
    obj = cluster.get(kind, workload.name, workload.namespace)
    if obj is None:
        return None, None
    return rollouts.desired_available(kind, obj)


def _gateway_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules,
                       names: GatewaysConfig) -> list[GatewayWorkload]:
    """Gateways by what they are (a `proxy router` template, the gateway injection template, a Gateway API
    deployment) or by what labels and configured names state; a sidecar-injected app never counts."""
    kinds = [K.DEPLOYMENT, K.DAEMONSET] if cluster.available(K.DAEMONSET) else [K.DEPLOYMENT]
    roles_by_name = _roles_by_name(names)
    # The templates' manual injections (istio.manual_injections), judged in this walk while each template is at hand:
    # its reader then walks ~9,500 Deployments fewer at 50k pods. Kind key -> found; None for a kind once judging
    # one of its templates raised: that kind is left to manual_injections' own walk, which meets the same error.
    injections: dict[str, dict[istio.InjectionKey, istio.TemplateInjection] | None] = {
        kind.key: {} for kind in (K.DEPLOYMENT, K.DAEMONSET)}
    # The objects whose pod template carries proxy.istio.io/config (proxy_config_templates), noted in the same walk.
    annotated: dict[str, list[dict[str, Any]]] = {kind.key: [] for kind in (K.DEPLOYMENT, K.DAEMONSET)}
    proxy_config = mesh.PROXY_CONFIG_ANNOTATION
    out = []
    # The istio-operator's and the waypoints' Deployments (mesh.is_istio_operator, mesh.is_waypoint_deployment),
    # asked here while each one's metadata and template are at hand: their ClusterInventory views then walk no
    # Deployment of their own. None once a rule raised: their own walks meet the error.
    operators: list[dict[str, Any]] | None = []
    waypoints: list[dict[str, Any]] = []
    # The rules asked of every object, looked up once per walk rather than once per object.
    is_operator, is_waypoint = mesh.is_istio_operator, mesh.is_waypoint_workload
    find_proxy, injection_of, shaped_as, stated_type = (mesh.find_proxy_container, istio.injection_of, _gateway_shaped,
                                                        _stated_type)
    for workload_kind in kinds:  # each kind's objects walked as they are: no (kind, object) pair built per object
        kind = workload_kind.kind
        deployments = workload_kind is K.DEPLOYMENT
        for dep in cluster.objects(workload_kind):
            meta = dep.get("metadata") or {}
            name, namespace = meta.get("name", ""), meta.get("namespace", "")
            template = ((dep.get("spec") or {}).get("template")) or {}
            tmpl_meta = template.get("metadata") or {}
            tmpl_labels = tmpl_meta.get("labels") or {}
            labels = {**(meta.get("labels") or {}), **tmpl_labels}
            notes = tmpl_meta.get("annotations")
            if isinstance(notes, dict) and proxy_config in notes:
                annotated[workload_kind.key].append(dep)
            proxy, native = find_proxy(template.get("spec") or {})
            if operators is not None and deployments:
                try:
                    if is_operator(dep):
                        operators.append(dep)
                    if is_waypoint(labels, proxy):  # = mesh.is_waypoint_deployment(dep), from the parts at hand
                        waypoints.append(dep)
                except Exception:  # not this scan's question (a malformed Deployment no shape check refused)
                    operators = None
            found = injections[workload_kind.key]
            if found is not None:
                try:
                    injection = injection_of(template, proxy, native, rules)
                except Exception:  # not this scan's question: its own reader (manual_injections) meets the error
                    injections[workload_kind.key] = None
                else:
                    if injection is not None:
                        found[(namespace, kind, name)] = injection
            shaped = shaped_as(template, proxy, labels)
            stated = stated_type(labels, name, roles_by_name)
            if not shaped and stated is None:
                continue  # neither gateway-shaped nor given a role (most Deployments)
            gateway = _gateway_of(cluster, rules, kind, meta, name, namespace, tmpl_labels, labels, proxy, shaped,
                                  stated)
            if gateway is not None:
                out.append(gateway)
    if operators is not None:
        cluster.found_deployment_views(operators, waypoints)
    for workload_kind in (K.DEPLOYMENT, K.DAEMONSET):
        found = injections[workload_kind.key]
        if found is not None and cluster.available(workload_kind):
            istio.kind_injections(cluster, rules, workload_kind, found)
    for workload_kind in kinds:
        proxy_config_templates(cluster, workload_kind, annotated[workload_kind.key])
    return out


def proxy_config_templates(cluster: ClusterInventory, kind: Kind,
                           walked: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The objects of a readable kind whose pod template (a CronJob's under spec.jobTemplate) carries the
    proxy.istio.io/config annotation, memoised per cluster. `walked`: that answer from a walk over every object of the
    kind that had the templates at hand (the gateway scan, over Deployments and DaemonSets), kept unless the kind was
    already walked: ~9,500 Deployments are not walked again at 50k pods. Read it, never change it."""
    key = ("proxy_config_templates", kind.key)
    if walked is not None:
        return cluster.memo(key, lambda: walked)
    return cluster.memo(key, lambda: _proxy_config_templates(cluster, kind))


def _proxy_config_templates(cluster: ClusterInventory, kind: Kind) -> list[dict[str, Any]]:
    annotation = mesh.PROXY_CONFIG_ANNOTATION
    cronjob = kind is K.CRONJOB
    out = []
    for obj in cluster.objects(kind):
        spec = obj.get("spec")
        if cronjob and isinstance(spec, dict):
            spec = (spec.get("jobTemplate") or {}).get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        meta = template.get("metadata") if isinstance(template, dict) else None
        notes = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(notes, dict) and annotation in notes:
            out.append(obj)
    return out


def _gateway_of(cluster: ClusterInventory, rules: mesh.ProxyRules, kind: str, meta: dict[str, Any], name: str,
                namespace: str, tmpl_labels: dict[str, str], labels: dict[str, str], proxy: dict[str, Any] | None,
                shaped: str, stated: str | None) -> GatewayWorkload | None:
    """The gateway a gateway-shaped or role-stated workload is, None when it is none (a waypoint, a sidecar app
    carrying a gateway's label or name, an ASM workload without a gateway role)."""
    if mesh.is_waypoint_workload(labels, proxy):
        return None
    if not shaped and proxy is not None and (proxy.get("args") or []) and not mesh.is_gateway_proxy(proxy):
        return None  # a sidecar-injected app that happens to carry a gateway's label or name
    image = (proxy or {}).get("image") or ""
    env = mesh.env_map(proxy or {})
    asm_env = rules.has_asm_env(env)
    # The istiods its proxy names, as a pod's are read (mesh.istiod_services: CA_ADDR, PROXY_CONFIG's discoveryAddress,
    # an address of an istiod in another cluster or, with a CA of another make, the default): a rendered gateway with
    # ASM's image and istio-csr or an external istiod as CA was ASM's by its image alone (review21c, red21k).
    services = mesh.istiod_services(rules, env.get("CA_ADDR", ""), env.get(mesh.PROXY_CONFIG_ENV, ""), asm_env)
    marks = cluster.proxy_marks(asm_env, rules.image_kind(image) if image else "", services, image)
    asm = _has_asm_marker(meta) or mesh.classify(marks) == mesh.PROXY_ASM
    # Phrases: a finding that gives the reason (AA2510 "an ASM gateway (...)") says it in the reader's language.
    gtype, why_role = stated, Phrase(N_("label istio / gateway name"))
    if gtype is None and _installed_by(meta, labels, asm) == INSTALL_GATEWAY_API:
        # istiod's Gateway API deployments serve north-south traffic unless their class is east-west or their Gateway
        # passes mTLS through.
        owner = next((labels[k] for k in GATEWAY_API_NAME_LABELS if labels.get(k)), "")
        why_role = Phrase(N_("Gateway API Gateway {gateway}"), gateway=owner)
        if mesh.is_eastwest_gateway_api(labels):
            gtype = EASTWEST
        elif passthrough := _auto_passthrough_listener(cluster, namespace, owner):
            gtype, why_role = EASTWEST, Phrase(N_("{role} passes mTLS through (listener {listener}: auto-passthrough)"),
                                               role=why_role, listener=passthrough)
        elif external := _gateway_api_external_backend(cluster, namespace, owner):
            gtype, why_role = EGRESS, Phrase(N_("{role} forwards out of the mesh: {backend}"), role=why_role,
                                             backend=external)
        else:
            gtype = INGRESS
    role_unread = ""
    if gtype is None and proxy is not None and env.get(REQUESTED_NETWORK_VIEW):
        gtype, why_role = EASTWEST, Phrase(N_("istio-proxy env {env} (a network gateway)"),
                                           env=f"{REQUESTED_NETWORK_VIEW}={env[REQUESTED_NETWORK_VIEW]}")
    if gtype is None and not asm:
        found = _role_from_config(cluster, namespace, tmpl_labels)
        if found is not None:
            gtype, why_role, role_unread = found
    if gtype is None:
        gtype = _renamed_gateway_type(labels, name)
        why_role = Phrase(N_("role named in its label or name"))
    if gtype is None:
        if asm:
            return None  # an ASM workload without a gateway role is not a gateway to replace
        gtype, why_role = ROLE_UNKNOWN, Phrase(N_("no label, name, Gateway or Service tells its role"))
    what = Phrase(N_("ASM marker/image")) if asm else (shaped or Phrase(N_("gateway label/name")))
    reason = Phrase(N_("{what}; {role}"), what=what, role=why_role)
    return GatewayWorkload(gtype, namespace, name, asm, labels, reason, dict(tmpl_labels), kind,
                           _installed_by(meta, labels, asm), role_unread)


def gateway_role_why(gw: GatewayWorkload) -> str:
    """Why a gateway has the role it has (the part of its reason after what made it a gateway), as a Phrase where
    _gateway_of made one."""
    reason = gw.reason
    if isinstance(reason, Phrase) and "role" in reason.params:
        return reason.params["role"]
    return reason.partition("; ")[2] or reason


def unrecognised_gateway_pods(cluster: ClusterInventory, gateways: list[GatewayWorkload]) -> list[str]:
    """Workloads of active Istio pods whose istio-proxy runs `proxy router` but that no gateway workload explains
    (bare pods, an unusual owner): reported, never silently left out. Empty when pods are unreadable."""
    if not cluster.available(K.POD):
        return []
    known = {(g.namespace, g.kind, g.name) for g in gateways}
    return sorted({f"{kind} {ns}/{name}" for ns, kind, name in _router_workloads(cluster)
                   if (ns, kind, name) not in known})


def gateway_pod_starts(cluster: ClusterInventory, gw: GatewayWorkload, *,
                       running: bool = False) -> dict[str, float | None] | None:
    """The gateway's pods in the cluster (`running`: only those in phase Running): name -> start time in unix seconds
    (None: not started or unreadable); None: pods unread. Read by istio-gateway-traffic and by the Prometheus source
    (which replicas to ask about)."""
    if not cluster.available(K.POD):
        return None
    # Asked three times per gateway (the Prometheus source, the traffic check's current and running pods): one pass
    # over the pod frame's columns each, not three; a copy each, the callers keep what they were given.
    starts = cluster.memo(("gateway_pod_starts", gw.namespace, gw.name, running),
                          lambda: _gateway_pod_starts(cluster, gw, running))
    return dict(starts)


def _gateway_pod_starts(cluster: ClusterInventory, gw: GatewayWorkload, running: bool) -> dict[str, float | None]:
    pods = cluster.pods()
    rows = (pods["namespace"] == gw.namespace) & (pods["workload_name"] == gw.name)
    if running:  # a Failed or Succeeded pod (evicted, completed) carries no traffic: no series is no gap
        rows &= pods["phase"] == "Running"
    mine = pods[rows]
    out: dict[str, float | None] = {}
    for name, started in zip(mine["name"], mine["started"], strict=True):
        try:
            out[str(name)] = (dt.datetime.fromisoformat(str(started).replace("Z", "+00:00")).timestamp()
                              if started else None)
        except ValueError:
            out[str(name)] = None
    return out


def lasting_router_workloads(cluster: ClusterInventory) -> frozenset[tuple[str, str, str]]:
    """(namespace, kind, name) of the workloads of active pods running Istio's (or an unproven) proxy as a gateway
    that are not being deleted (pods Terminating after their Deployment's delete leave by themselves); empty when pods
    are unreadable (the caller's `needs`/`uses` says so)."""
    if not cluster.available(K.POD):
        return frozenset()
    if not _router_workloads(cluster):
        return frozenset()
    pods = cluster.pods()
    return _select_router_workloads(pods, ~pods["deleting"].to_numpy(dtype=bool) if "deleting" in pods else None)


def _router_workloads(cluster: ClusterInventory) -> frozenset[tuple[str, str, str]]:
    """(namespace, kind, name) of the workloads of active pods running Istio's (or an unproven) proxy as a gateway,
    selected once per cluster for the checks that ask (istio-gateway-traffic, cross-cluster-gateway-first...): from
    numpy masks and the three columns read, not a copy of the frame's ~30 columns per reader."""
    return cluster.memo("router_workloads", lambda: _select_router_workloads(cluster.pods()))


def _select_router_workloads(pods: pd.DataFrame, among_rows: Any = None) -> frozenset[tuple[str, str, str]]:
    if pods.empty:
        return frozenset()
    # ASM's own gateway pods need no replacing; Istio's (or unproven) ones must all be explained.
    rows = (istio.among(pods["role"], (mesh.ROLE_GATEWAY,)) & istio.among(pods["phase"], ACTIVE_PHASES)
            & istio.among(pods["proxy"], (mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN)))
    if among_rows is not None:
        rows = rows & among_rows
    routers = istio.pod_columns(pods, rows, ("namespace", "workload_kind", "workload_name"))
    return frozenset(zip(routers["namespace"].astype(str), routers["workload_kind"].astype(str),
                         routers["workload_name"].astype(str), strict=True))


def istio_gateways(cluster: ClusterInventory, rules: mesh.ProxyRules,
                   names: GatewaysConfig | None = None) -> list[GatewayWorkload]:
    return [g for g in gateway_workloads(cluster, rules, names) if not g.asm]


def eastwest_signals(cluster: ClusterInventory, rules: mesh.ProxyRules,
                     names: GatewaysConfig | None = None) -> list[str]:
    """Why this cluster uses an Istio east-west gateway; empty when nothing says so.

    Signals (domain.md): an east-west gateway Deployment, a Service labelled
    topology.istio.io/network exposing 15443/15008, or Gateway `cross-network-gateway` in
    AUTO_PASSTHROUGH mode. Reads Deployments, Services and (when collected) Gateways.
    """
    names = names or GatewaysConfig()
    # Once per cluster: also read by checks over the whole fleet after the cluster's objects were released.
    return list(cluster.memo(("eastwest_signals", id(rules), repr(names)),
                             lambda: _eastwest_signals(cluster, rules, names)))


def _eastwest_signals(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig) -> list[str]:
    signals = [f"Deployment {g.namespace}/{g.name}" for g in istio_gateways(cluster, rules, names)
               if g.type == EASTWEST]
    signals += _service_walk(cluster, rules, names)[0]
    if cluster.available(K.GATEWAY):
        for gw in cluster.objects(K.GATEWAY):
            if _has_asm_marker(gw.get("metadata") or {}):
                continue  # ASM's own cross-network Gateway is not Istio's east-west
            servers = (gw.get("spec") or {}).get("servers") or ()
            if any(((s.get("tls") or {}).get("mode")) == "AUTO_PASSTHROUGH" for s in servers):
                meta = gw.get("metadata") or {}
                signals.append(f"Gateway {meta.get('namespace')}/{meta.get('name')} (AUTO_PASSTHROUGH)")
    return signals


# ---------------------------------------------------------------- Services in front of gateways
@dataclass(frozen=True)
class GatewayService:
    """A Service whose selector picks a gateway Deployment's pods."""

    gateway: GatewayWorkload
    namespace: str
    name: str
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    service_type: str = "ClusterIP"                   # spec.type (the API server's default when absent)
    lb_class: str = ""                                # spec.loadBalancerClass
    lb_addresses: tuple[str, ...] = ()                # status.loadBalancer.ingress[].ip / .hostname
    # status.loadBalancer is there (the API server writes it for every Service, `{}` before a controller sets one):
    # an empty ingress list then is read, not a hand-made snapshot's missing status.
    lb_status_read: bool = field(default=False, hash=False, compare=False)
    external_ips: tuple[str, ...] = field(default=(), hash=False, compare=False)  # spec.externalIPs

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def lb_id(self) -> str | None:
        return first_annotation(self.annotations, LB_ID_ANNOTATIONS) or self.labels.get(LB_ID_LABEL) or None

    @property
    def lb_weight(self) -> str | None:
        return first_annotation(self.annotations, LB_WEIGHT_ANNOTATIONS)

    def weight_not_applied(self) -> tuple[str, Phrase] | None:
        """(status, why) when CCM does not apply this Service's weight annotation to the load balancer; None when it
        does. "FAIL": CCM manages the Service's load balancer but reads no weight for it (its backends keep CCM's
        default weight). "UNKNOWN": no CCM manages it (type, class), or CCM leaves existing backends' weights alone:
        what the load balancer holds is not in Kubernetes."""
        return ccm_weight_not_applied(self.annotations, self.service_type, self.lb_class)

    def backends_not_shown(self) -> tuple[str, Phrase] | None:
        """See ccm_backends_not_shown: None when CCM puts this Service's backends on the load balancer it names. Also
        "UNKNOWN" for a LoadBalancer Service CCM serves whose status.loadBalancer holds no address: CCM writes it only
        after its model (listeners, vServer groups, backends, weights) was applied, and an error before that leaves it
        empty (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/clbv1/service_controller.go
        reconcileLoadBalancerResources returns on buildAndApplyModel's error, event SyncLoadBalancerFailed, before
        addServiceLabels and updateServiceStatus): e.g. a CLB that CCM created for another Service, which it refuses
        to reuse. Whether its backends are on the load balancer is then not shown."""
        shown = ccm_backends_not_shown(self.annotations, self.service_type, self.lb_class)
        if shown is None and self.service_type == "LoadBalancer" and self.lb_status_read and not self.lb_addresses:
            return ("UNKNOWN", Phrase(N_("its status.loadBalancer holds no address: CCM has not applied it to the load "
                                         "balancer (see the Service's events, SyncLoadBalancerFailed), so whether its "
                                         "backends are on it is not shown")))
        return shown

    @property
    def lb_pending(self) -> bool:
        """A LoadBalancer Service whose written status holds no address and that has no spec.externalIPs: nothing
        outside the cluster reaches it yet but its node ports (CCM writes the address only once the load balancer is
        applied; a hand-made snapshot without status is not taken for pending)."""
        return (self.service_type == "LoadBalancer" and self.lb_status_read and not self.lb_addresses
                and not self.external_ips)

    @property
    def reached_from_outside(self) -> bool:
        """Clients outside the cluster reach it by an address of its own: a load balancer with an address (or one not
        shown pending), or spec.externalIPs. NodePorts are node-level, not counted here."""
        return bool(self.external_ips) or (self.service_type == "LoadBalancer" and not self.lb_pending)

    @property
    def opens_node_ports(self) -> bool:
        """NodePort and LoadBalancer Services open node ports (kube-proxy: every node's address reaches them)."""
        return self.service_type in ("NodePort", "LoadBalancer")

    def address_type(self) -> str | None:
        """INTERNET or INTRANET: who reaches its load balancer; None when not told (not a LoadBalancer, an unknown
        annotation value, a CLB reused by id without the annotation whose status address is neither private nor
        public). The annotation where CCM serves the Service; else (another controller's class, a reused load
        balancer without it) its status address: a private (RFC 1918) one is a VPC's, a public one the internet's."""
        return lb_address_type(self.service_type, self.annotations, self.lb_class, self.lb_addresses)


def lb_address_type(service_type: str, annotations: dict[str, str], lb_class: str,
                    addresses: Iterable[str]) -> str | None:
    """GatewayService.address_type for any Service: INTERNET or INTRANET, None when not told."""
    if service_type != "LoadBalancer":
        return None
    # CCM serves it (helper.NeedCLB / NeedNLB): no other controller's class.
    if lb_class in ("", NLB_CLASS) and not annotations.get(LB_CLASS_ANNOTATION):
        if (first_annotation(annotations, LB_EXTERNAL_IP_TYPE_ANNOTATIONS) or "") == "eip":
            return INTERNET
        stated = first_annotation(annotations, LB_ADDRESS_TYPE_ANNOTATIONS)
        if stated:
            return stated.strip().lower() if stated.strip().lower() in (INTERNET, INTRANET) else None
        if not first_annotation(annotations, LB_ID_ANNOTATIONS):
            return INTERNET  # created by CCM without the annotation: its default
    kinds = {_address_reach(a) for a in addresses}
    if INTERNET in kinds:
        return INTERNET
    return INTRANET if kinds == {INTRANET} else None


def _address_reach(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None  # a hostname (an NLB's DNS name): not told by itself
    return INTRANET if ip.is_private else INTERNET if ip.is_global else None


def ccm_weight(raw: str | None) -> int | None:
    """The weight annotation as CCM reads it: None when unset (absent or empty: AnnotationRequest.Get returns ""
    and CCM applies no weight); ValueError for what strconv.Atoi refuses or what lies outside [0, 100] (CCM's sync
    of the Service then fails: " 0", "1_0", "0.0", "50%", "101", "-1")."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if not _GO_ATOI.fullmatch(text) or not 0 <= int(text) <= 100:  # fullmatch: no trailing newline either
        raise ValueError(f"weight {text!r} is not an integer in [0, 100] as CCM reads it")
    return int(text)


def ccm_weight_not_applied(annotations: dict[str, str], service_type: str, lb_class: str
                           ) -> tuple[str, Phrase] | None:
    """See GatewayService.weight_not_applied (annotations, spec.type and spec.loadBalancerClass of a Service)."""
    if service_type != "LoadBalancer":
        return ("UNKNOWN", Phrase(N_("it is of type {type}, not LoadBalancer: CCM manages no load balancer for it and "
                                     "reads none of its annotations, so its backends and weights on the load balancer "
                                     "are set outside Kubernetes"), type=service_type or "ClusterIP"))
    if lb_class and lb_class != NLB_CLASS:
        return ("UNKNOWN", Phrase(N_("its spec.loadBalancerClass is {lb_class}: a controller other than Alibaba "
                                     "Cloud's CCM serves it"), lb_class=lb_class))
    if annotations.get(LB_CLASS_ANNOTATION):
        return ("UNKNOWN", Phrase(N_("its annotation {annotation} hands it to a controller other than Alibaba Cloud's "
                                     "CCM"), annotation=f"{LB_CLASS_ANNOTATION}={annotations[LB_CLASS_ANNOTATION]}"))
    missing = [keys[0] for keys in (LB_ID_ANNOTATIONS, LB_VGROUP_PORT_ANNOTATIONS)
               if not first_annotation(annotations, keys)]
    if missing:
        return ("FAIL", Phrase(N_("CCM reads the weight only of a Service that reuses the load balancer by {lb_id} "
                                  "and names its vServer groups by {vgroup_port}; this one lacks {missing}, so its "
                                  "backends keep CCM's default weight"), lb_id=LB_ID_ANNOTATIONS[0],
                               vgroup_port=LB_VGROUP_PORT_ANNOTATIONS[0], missing=", ".join(missing)))
    ignore = first_annotation(annotations, LB_IGNORE_WEIGHT_UPDATE_ANNOTATIONS)
    if ignore is not None and ignore.lower() == "on":  # strings.EqualFold(value, "on")
        return ("UNKNOWN", Phrase(N_("{annotation}=on: CCM leaves the weights of backends already in the vServer group "
                                     "as they were, so the annotated weight may not be the one in force"),
                                  annotation=LB_IGNORE_WEIGHT_UPDATE_ANNOTATIONS[0]))
    return None


def ccm_backends_not_shown(annotations: dict[str, str], service_type: str, lb_class: str
                           ) -> tuple[str, Phrase] | None:
    """(status, why) when CCM is not shown to put a Service's backends into the vServer groups of the load balancer
    it names, with the weight the check reads (ccm_weight; unset: CCM's default, above 0); None when it does. Asked of
    the ASM side of a shared CLB, whose backends must take the traffic the Istio side gives up.

    None also for a Service that names its load balancer only by CCM's label or status address (no loadbalancer-id
    annotation): CCM created that CLB for it, with its own listeners and vServer groups, and gives its backends the
    default weight whatever the weight annotation says (kubernetes/cloud-provider-alibaba-cloud@v2.14.0:
    clbv1/vgroups.go buildVGroupForServicePort reads the weight only of a reused CLB). "FAIL": it reuses the CLB by id
    but names no vServer groups (vgroup-port): CCM then builds vServer groups of its own, which the shared CLB's
    listeners, kept by force-override-listeners "false" as ASM's ingress migration sets it, do not use. "UNKNOWN": no
    CCM serves it, or CCM keeps the weights the backends had (ccm_weight_not_applied)."""
    not_applied = ccm_weight_not_applied(annotations, service_type, lb_class)
    if not_applied is None or not_applied[0] == "UNKNOWN":
        return not_applied
    if first_annotation(annotations, LB_ID_ANNOTATIONS) is None:
        return None
    return ("FAIL", Phrase(N_("it names the load balancer by {lb_id} but no vServer groups by {vgroup_port}, so CCM "
                              "puts its backends into vServer groups of its own, not into those the shared listeners "
                              "use"), lb_id=LB_ID_ANNOTATIONS[0], vgroup_port=LB_VGROUP_PORT_ANNOTATIONS[0]))


def vserver_groups(vgroup_port: str | None) -> frozenset[str]:
    """The vServer group ids a vgroup-port annotation names ("rsp-a:80,rsp-b:443" -> {rsp-a, rsp-b})."""
    return frozenset(part.split(":", 1)[0].strip() for part in (vgroup_port or "").split(",")
                     if part.split(":", 1)[0].strip())


def first_annotation(annotations: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in annotations:
            return str(annotations[key])
    return None


def gateway_services(cluster: ClusterInventory, rules: mesh.ProxyRules,
                     names: GatewaysConfig | None = None) -> list[GatewayService]:
    """Services in front of gateway Deployments (selector within the pod template's labels).

    A Service counts as ASM's when the gateway it selects is ASM's, whatever its own labels say
    (an alias Service without ASM markers still sends traffic to ASM's pods). Needs Deployments, Services.
    """
    names = names or GatewaysConfig()
    # Once per cluster: also read by checks over the whole fleet after the cluster's objects were released.
    return list(cluster.memo(("gateway_services", id(rules), repr(names)),
                             lambda: _service_walk(cluster, rules, names)[1]))


def _service_walk(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig
                  ) -> tuple[list[str], list[GatewayService]]:
    """(eastwest_signals' Service signals, gateway_services) from ONE walk of the Services (~10,000 at 50k pods, read
    cold), memoised per cluster. Reads the gateway workloads first, then the Services, as each reader did."""
    return cluster.memo(("gateway_service_walk", id(rules), repr(names)),
                        lambda: _walk_services(cluster, rules, names))


def _walk_services(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig
                   ) -> tuple[list[str], list[GatewayService]]:
    by_namespace: dict[str, list[GatewayWorkload]] = {}
    for gw in gateway_workloads(cluster, rules, names):
        by_namespace.setdefault(gw.namespace, []).append(gw)
    signals: list[str] = []
    out = []
    for svc in cluster.objects(K.SERVICE):
        meta = svc.get("metadata") or {}
        labels = meta.get("labels") or {}
        # East-west: the label first (asked of every Service).
        if "topology.istio.io/network" in labels and not _has_asm_marker(meta):
            port = network_gateway_port(labels, svc.get("spec") or {})
            if port and not _fronts_waypoint(cluster, meta, svc):
                signals.append(f"Service {meta.get('namespace')}/{meta.get('name')} "
                               f"(network {labels['topology.istio.io/network']}, port {port})")
        # In front of a gateway: only the gateways of the Service's namespace, in their order: most namespaces have
        # none, so most Services' selectors are never read.
        in_namespace = by_namespace.get(meta.get("namespace"))
        if not in_namespace:
            continue
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        for gw in in_namespace:
            if _matches(selector, gw.pod_labels):
                spec = svc.get("spec") or {}
                lb_status = (svc.get("status") or {}).get("loadBalancer")
                ingress = (lb_status or {}).get("ingress") or () if isinstance(lb_status, dict) else ()
                out.append(GatewayService(gw, meta.get("namespace", ""), meta.get("name", ""),
                                          dict(meta.get("annotations") or {}), dict(labels),
                                          str(spec.get("type") or "ClusterIP"),
                                          str(spec.get("loadBalancerClass") or ""),
                                          tuple(str(a) for i in ingress if isinstance(i, dict)
                                                for a in (i.get("ip"), i.get("hostname")) if a),
                                          isinstance(lb_status, dict),
                                          tuple(str(ip) for ip in spec.get("externalIPs") or () if ip)))
                break
    return signals, out


def _fronts_waypoint(cluster: ClusterInventory, meta: dict[str, Any], svc: dict[str, Any]) -> bool:
    """The Service istiod makes for an ambient waypoint (its selector picks a waypoint's pods: the waypoint rule is
    mesh.is_waypoint_workload). On a network, istiod labels it topology.istio.io/network and it serves HBONE on 15008
    as an east-west gateway's does (pilot/pkg/config/kube/gateway/testdata/deployment/waypoint.yaml @1.24.6), but it
    is the ambient data plane's (ambient-mode), not a gateway between networks. Asked only of the few Services that
    look east-west."""
    selector = (svc.get("spec") or {}).get("selector") or {}
    if not selector:
        return False
    namespace = meta.get("namespace")
    for dep in cluster.waypoint_deployments():
        if (dep.get("metadata") or {}).get("namespace") != namespace:
            continue
        pod_labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
        if _matches(selector, pod_labels):
            return True
    return False


# ---------------------------------------------------------------- hosts
def host_fqdn(host: str, namespace: str) -> str:
    """A destination host as Istio resolves it: a dot-less short name is relative to the rule's namespace."""
    host = (host or "").strip().lower().rstrip(".")
    if host and "." not in host and "*" not in host:
        return f"{host}.{namespace}.svc.cluster.local"
    return host


def destination_answered(cluster: ClusterInventory, host: str, rule_namespace: str) -> bool | None:
    """Whether a route destination host answers to something in the cluster's registry: a Service of that name, or a
    ServiceEntry host. None when it cannot be told (the Services, or the ServiceEntries where no Service answers, not
    read). Istio drops traffic to a destination found in neither (istio.io/latest/docs/reference/config/networking/
    virtual-service, Destination.host); `istioctl analyze` says IST0101 ReferencedResourceNotFound of it
    (istio/istio@1.30.3:pkg/config/analysis/analyzers/virtualservice/destinationhosts.go analyzeVirtualService)."""
    services, entries = service_registry(cluster)
    if services is None:
        return None
    service = service_of(host, rule_namespace)
    if service is not None and service in services:
        return True
    if entries is None:
        return None
    return host_fqdn(host, rule_namespace) in entries


SERVICE_REGISTRY_VIEW = "service_registry"


def service_registry(cluster: ClusterInventory) -> tuple[frozenset[tuple[str, str]] | None, frozenset[str] | None]:
    """(name, namespace) of the cluster's Services and its ServiceEntry hosts, lower case (None: not read), once per
    cluster. A view kept when a fleet's cluster is released (engine.KEPT_VIEWS): egress-routes-to-asm judges ASM's
    VirtualServices against every data plane after the last was judged."""
    def build() -> tuple[frozenset[tuple[str, str]] | None, frozenset[str] | None]:
        services = None
        if cluster.available(K.SERVICE):
            services = frozenset((str(meta.get("name") or "").lower(), str(meta.get("namespace") or "").lower())
                                 for svc in cluster.objects(K.SERVICE) if isinstance(meta := svc.get("metadata"), dict))
        entries = frozenset(_entry_locations(cluster)) if cluster.available(K.SERVICEENTRY) else None
        return services, entries
    return cluster.memo(SERVICE_REGISTRY_VIEW, build)


def refers_to_service(host: str, rule_namespace: str, name: str, namespace: str) -> bool:
    """Whether a VirtualService destination host names Service namespace/name (any short form)."""
    return service_of(host, rule_namespace) == (name.lower(), namespace.lower())


def service_of(host: str, rule_namespace: str) -> tuple[str, str] | None:
    """(name, namespace) in lower case of the Service a destination host names, None when it names none."""
    parts = host_fqdn(host, rule_namespace).split(".")
    if len(parts) < 2:
        return None
    rest = parts[2:]
    # name.ns, name.ns.svc, name.ns.svc.<cluster domain>
    return (parts[0], parts[1]) if not rest or rest[0] == "svc" else None


def _weighted(value: Any, default: int) -> bool:
    """Whether a route entry's weight sends it traffic: only a weight read as 0 sends none (what is not a number is
    taken as sending: egress-routes-to-asm says UNKNOWN AA1631 of it)."""
    if value is None:
        return default != 0
    try:
        return int(value) != 0
    except (TypeError, ValueError):
        return True


def service_references(cluster: ClusterInventory, services: Collection[tuple[str, str]]
                        ) -> list[tuple[str, str, str, tuple[str, str], Phrase, bool]]:
    """What in the cluster still sends traffic to one of `services` ((name, namespace), lower case) by name, in one
    walk: (kind, namespace, name, service, how, mirror) for
    - an ExternalName Service whose externalName is `<name>.<namespace>.svc[.<domain>]` (a CNAME to it: kube-dns answers
      it only while the Service exists);
    - a VirtualService route destination naming it (any short form, relative to the VirtualService's
      namespace: host_fqdn), with a weight other than 0;
    - a Gateway API route backendRef (kind Service, group core: the defaults) naming it, with a weight other than 0
      (gateway.networking.k8s.io BackendRef: weight defaults to 1; namespace to the route's);
    - a Kubernetes Ingress of any class (nginx, ALB, Traefik... in front of Istio's gateway) whose defaultBackend or
      rules[].http.paths[].backend names it (kubernetes/api networking/v1 types.go: IngressBackend.Service
      *IngressServiceBackend{Name, Port}, "The service must exist in the same namespace as the Ingress object");
    - with `mirror` True, a mirror: a VirtualService's `mirror` or `mirrors[].destination` (istio/api@v1.30.3:
      networking/v1alpha3/virtual_service.proto HTTPRoute.mirrors = 22, HTTPMirrorPolicy; "Mirrored traffic is on a best
      effort basis where the sidecar/gateway will not wait for the mirrored cluster to respond"), a Gateway API
      RequestMirror filter's backendRef, on a rule or on a backendRef (kubernetes-sigs/gateway-api@v1.6.1:
      apis/v1/httproute_types.go HTTPRouteRule.Filters, HTTPBackendRef.Filters, HTTPRequestMirrorFilter.BackendRef):
      losing one loses the copies, not the traffic.
    Kinds not read are left out (the checks that need them say UNKNOWN of them)."""
    wanted = {(n.lower(), ns.lower()) for n, ns in services}
    out: list[tuple[str, str, str, tuple[str, str], Phrase, bool]] = []
    if not wanted:
        return out
    if cluster.available(K.SERVICE):
        for svc in cluster.objects(K.SERVICE):
            spec = svc.get("spec") or {}
            if spec.get("type") != "ExternalName":
                continue
            target = str(spec.get("externalName") or "").strip().lower().rstrip(".")
            parts = target.split(".")
            named = (parts[0], parts[1]) if len(parts) >= 3 and parts[2] == "svc" else None
            meta = svc.get("metadata") or {}
            if named in wanted:
                out.append(("Service", meta.get("namespace", ""), meta.get("name", ""), named,
                            Phrase(N_("its externalName {host}"), host=target), False))
    if cluster.available(K.VIRTUALSERVICE):
        # A host names one of them only if its first label is one of their names: the rest are not resolved
        # (service_of per destination of every VirtualService: ~20 ms at 50k pods).
        names = {n for n, _ in wanted}
        for vs in cluster.objects(K.VIRTUALSERVICE):
            meta = vs.get("metadata") or {}
            vs_ns = str(meta.get("namespace") or "")
            spec = vs.get("spec") or {}
            found: dict[tuple[str, str], str] = {}
            mirrored: dict[tuple[str, str], str] = {}
            for section in ("http", "tcp", "tls"):
                for rule in spec.get(section) or ():
                    if not isinstance(rule, dict):
                        continue
                    routes = rule.get("route") or ()
                    # A rule of one destination (most): the list as it is; else its destinations that are objects.
                    if type(routes) is not list or len(routes) != 1 or type(routes[0]) is not dict:
                        routes = [r for r in routes if isinstance(r, dict)]
                    for dest in routes:
                        host = str((dest.get("destination") or {}).get("host") or "")
                        if host.strip().partition(".")[0].lower() not in names:
                            continue
                        named = service_of(host, vs_ns)
                        if named in wanted and _weighted(dest.get("weight"), 100 if len(routes) == 1 else 0):
                            found.setdefault(named, host)
                    mirror, more = rule.get("mirror"), rule.get("mirrors")
                    if not mirror and not more:
                        continue  # most rules mirror nothing (an absent mirror names no host: nothing to read)
                    mirrors = [mirror, *((m or {}).get("destination") if isinstance(m, dict) else None
                                         for m in (more or ()))]
                    for mirror in mirrors:
                        host = str(mirror.get("host") or "") if isinstance(mirror, dict) else ""
                        if host.strip().partition(".")[0].lower() in names and (
                                named := service_of(host, vs_ns)) in wanted:
                            mirrored.setdefault(named, host)
            for named, host in found.items():
                out.append(("VirtualService", vs_ns, meta.get("name", ""), named,
                            Phrase(N_("a route destination {host}"), host=host), False))
            for named, host in mirrored.items():
                out.append(("VirtualService", vs_ns, meta.get("name", ""), named,
                            Phrase(N_("a mirror {host}"), host=host), True))
    for kind in K.K8S_ROUTE_KINDS:
        if not cluster.available(kind):
            continue
        for route in cluster.objects(kind):
            meta = route.get("metadata") or {}
            r_ns = str(meta.get("namespace") or "")
            hits: set[tuple[str, str]] = set()
            mirror_hits: set[tuple[str, str]] = set()
            for rule in (route.get("spec") or {}).get("rules") or ():
                if not isinstance(rule, dict):
                    continue
                refs = [r for r in rule.get("backendRefs") or () if isinstance(r, dict)]
                for ref in refs:
                    named = _core_service_ref(ref, r_ns)
                    if named in wanted and _weighted(ref.get("weight"), 1):
                        hits.add(named)
                for flt in (*(rule.get("filters") or ()), *(f for r in refs for f in r.get("filters") or ())):
                    mirror = flt.get("requestMirror") if isinstance(flt, dict) else None
                    ref = mirror.get("backendRef") if isinstance(mirror, dict) else None
                    if isinstance(ref, dict) and (named := _core_service_ref(ref, r_ns)) in wanted:
                        mirror_hits.add(named)
            for named in sorted(hits):
                out.append((kind.kind, r_ns, meta.get("name", ""), named,
                            Phrase(N_("a backendRef {service}"), service=f"{named[1]}/{named[0]}"), False))
            for named in sorted(mirror_hits):
                out.append((kind.kind, r_ns, meta.get("name", ""), named,
                            Phrase(N_("a requestMirror backendRef {service}"), service=f"{named[1]}/{named[0]}"),
                            True))
    if cluster.available(K.INGRESS):
        for ing in cluster.objects(K.INGRESS):
            meta = ing.get("metadata") or {}
            i_ns = str(meta.get("namespace") or "")
            spec = ing.get("spec") or {}
            backends = [spec.get("defaultBackend")]
            for rule in spec.get("rules") or ():
                paths = ((rule.get("http") or {}).get("paths") or ()) if isinstance(rule, dict) else ()
                backends.extend(p.get("backend") for p in paths if isinstance(p, dict))
            hit_names = sorted({(str(svc.get("name") or "").lower(), i_ns.lower()) for b in backends
                                if isinstance(b, dict) and isinstance(svc := b.get("service"), dict)} & wanted)
            for named in hit_names:
                out.append(("Ingress", i_ns, meta.get("name", ""), named,
                            Phrase(N_("a backend {service}"), service=f"{named[1]}/{named[0]}"), False))
    return out


def backend_name_paths(obj: dict[str, Any], kind: str, service: tuple[str, str]) -> list[tuple[str, Any]]:
    """JSON-patch paths of the Service names by which an Ingress (defaultBackend, rules[].http.paths[].backend) or a
    Gateway API route (rules[].backendRefs[], with a weight other than 0) sends traffic to `service` ((name, namespace),
    lower case), as service_references finds them, each with the port it names as written: an Ingress backend's
    service.port ({number} or {name}: kubernetes/api networking/v1 ServiceBackendPort), a backendRef's port (a number:
    gateway-api apis/v1 BackendObjectReference.Port). The port's own path is the name's sibling `port`."""
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "").lower()
    spec = obj.get("spec") or {}
    out: list[tuple[str, Any]] = []
    if kind == "Ingress":
        if service[1] != namespace:
            return out
        backends = [("/spec/defaultBackend", spec.get("defaultBackend"))]
        for i, rule in enumerate(spec.get("rules") or ()):
            paths = ((rule.get("http") or {}).get("paths") or ()) if isinstance(rule, dict) else ()
            backends += [(f"/spec/rules/{i}/http/paths/{j}/backend", p.get("backend")) for j, p in enumerate(paths)
                         if isinstance(p, dict)]
        return [(f"{base}/service/name", svc.get("port")) for base, b in backends if isinstance(b, dict)
                and isinstance(svc := b.get("service"), dict) and str(svc.get("name") or "").lower() == service[0]]
    for i, rule in enumerate(spec.get("rules") or ()):
        for j, ref in enumerate((rule.get("backendRefs") or ()) if isinstance(rule, dict) else ()):
            if isinstance(ref, dict) and _core_service_ref(ref, namespace) == service and _weighted(
                    ref.get("weight"), 1):
                out.append((f"/spec/rules/{i}/backendRefs/{j}", ref.get("port")))
    return out


PORT_KEPT, PORT_MOVED, PORT_MISSING, PORT_UNTOLD = "kept", "moved", "missing", "untold"


def service_port_entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    """spec.ports of a Service, or of an IstioGateway (ASM's controller gives the gateway's Service those ports, their
    names included), the well-formed entries (a port number) only."""
    ports = ((obj or {}).get("spec") or {}).get("ports")
    return [p for p in ports if isinstance(p, dict) and isinstance(p.get("port"), int)] if isinstance(
        ports, list) else []


def asm_backend_port(written: Any, istio_ports: list[dict[str, Any]], asm_ports: list[dict[str, Any]] | None
                     ) -> tuple[str, dict[str, Any] | None]:
    """How a backend's port (as backend_name_paths gives it) fares once the backend names ASM's gateway Service
    instead of Istio's: (PORT_KEPT, None) when ASM's Service has it as written (the same name for an Ingress's
    port.name: the gateway charts name theirs status-port/http2/https, istio/istio@1.22.3 manifests/charts/gateway/
    values.yaml service.ports, while ASM's take the IstioGateway's spec.ports names; the same number otherwise);
    (PORT_MOVED, ASM's port entry) when only another port of ASM's matches the Istio Service port the backend reaches,
    by port number first (the number a Gateway server names: istiod puts it on that port's targetPort on either
    gateway), else by targetPort; (PORT_MISSING, Istio's entry or None) when none does; (PORT_UNTOLD, None) when ASM's
    ports are not known or the backend names no port."""
    if asm_ports is None:
        return PORT_UNTOLD, None
    if isinstance(written, dict):
        name, number = str(written.get("name") or ""), written.get("number")
    else:
        name, number = "", written
    if not name and not isinstance(number, int):
        return PORT_UNTOLD, None
    if name and any(str(p.get("name") or "") == name for p in asm_ports):
        return PORT_KEPT, None
    if not name and any(p["port"] == number for p in asm_ports):
        return PORT_KEPT, None
    istio = next((p for p in istio_ports if (str(p.get("name") or "") == name if name else p["port"] == number)),
                 None)
    if istio is None:
        return PORT_MISSING, None  # the backend already names a port Istio's Service lacks
    match = next((p for p in asm_ports if p["port"] == istio["port"]), None) or next(
        (p for p in asm_ports if _target_port(p) == _target_port(istio)), None)
    return (PORT_MOVED, match) if match is not None else (PORT_MISSING, istio)


def _target_port(entry: dict[str, Any]) -> str:
    """A Service port's targetPort as text (its port number when not set: the API server's default)."""
    target = entry.get("targetPort")
    return str(entry["port"] if target is None or target == "" else target)


def _core_service_ref(ref: dict[str, Any], namespace: str) -> tuple[str, str] | None:
    """(name, namespace) lower case of a Gateway API BackendObjectReference to a Service (kind Service, group core:
    the defaults; namespace the route's by default); None for another kind."""
    if (ref.get("kind") or "Service") != "Service" or (ref.get("group") or "") != "":
        return None
    return str(ref.get("name") or "").lower(), str(ref.get("namespace") or namespace).lower()


# ---------------------------------------------------------------- what stands in front of a gateway's Service
CLUSTER_ONLY = "cluster"  # a front reached only from inside the cluster (its address a Service's cluster IP)
GATEWAY_API_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Front:
    """A Kubernetes Ingress (nginx, ALB, Traefik...) or a Gateway API route whose backend is one of a gateway's
    Services, and who reaches it: INTERNET, INTRANET (a VPC), CLUSTER_ONLY, or None when its addresses do not tell."""

    kind: str
    namespace: str
    name: str
    reach: str | None
    addresses: tuple[str, ...]   # the Ingress's status addresses, or its parent Gateways' (a route's)
    ingress_class: str = ""      # spec.ingressClassName (or the kubernetes.io/ingress.class annotation)
    alb_config: str = ""         # an ALB Ingress's AlbConfig (its IngressClass's spec.parameters, or the annotation)

    def text(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} ({', '.join(self.addresses) or '-'})"


def gateway_fronts(cluster: ClusterInventory, services: Collection[tuple[str, str]]) -> list[Front]:
    """The Ingresses and Gateway API routes that send traffic to one of `services` ((name, namespace)) by name
    (service_references, mirrors aside), each with who reaches it, read from the addresses its controller publishes:
    - an Ingress's status.loadBalancer.ingress[].ip / .hostname (kubernetes/api networking/v1 types.go IngressStatus,
      IngressLoadBalancerIngress{IP, Hostname}); ingress-nginx publishes there what its --publish-service Service has:
      the spec.clusterIP of a ClusterIP Service, the status addresses of a LoadBalancer one (kubernetes/ingress-nginx@
      cd31c4c0: internal/ingress/status/status.go statusAddressFromService), else its pods' node addresses;
    - a route's parent Gateways' status.addresses[].value (kubernetes-sigs/gateway-api@v1.6.1: apis/v1/
      gateway_types.go GatewayStatus.Addresses []GatewayStatusAddress{Type, Value}); a mesh route, whose parents are
      Services or ServiceEntries (GAMMA), is no front.
    An address is a Service's cluster IP (CLUSTER_ONLY), a load balancer Service's status address (that Service's
    address type: lb_address_type), a spec.externalIPs entry, or else told by itself (private: INTRANET, public:
    INTERNET); a hostname no Service publishes tells nothing by itself, but an ALB Ingress's (the ALB's DNS name) is
    reached as its AlbConfig's address type says (alb_config_reach). A front with no address (the controller wrote
    none yet, or does not write status) is not told either."""
    wanted = {(n.lower(), ns.lower()) for n, ns in services}
    kinds = {"Ingress": K.INGRESS, **{k.kind: k for k in K.K8S_ROUTE_KINDS}}
    seen: set[tuple[str, str, str]] = set()
    out: list[Front] = []
    for kind, namespace, name, _, _, mirror in service_references(cluster, wanted):
        if kind not in kinds or mirror or (kind, namespace, name) in seen:
            continue
        seen.add((kind, namespace, name))
        obj = cluster.get(kinds[kind], name, namespace) or {}
        if kind == "Ingress":
            spec = obj.get("spec") or {}
            ingress_class = str(spec.get("ingressClassName") or ((obj.get("metadata") or {}).get("annotations") or {})
                                .get("kubernetes.io/ingress.class") or "")
            found = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
            addresses = [str(a.get("ip") or a.get("hostname") or "") for a in found if isinstance(a, dict)]
            reaches = [_front_address_reach(cluster, a) for a in addresses if a]
            alb_config, alb_reach = alb_config_reach(cluster, obj, ingress_class)
            # An address no Service and no IP range tells (the ALB's DNS name): the ALB's own address type.
            reaches = [alb_reach if r is None else r for r in reaches]
        elif not any(_gateway_parent(ref) for ref in (obj.get("spec") or {}).get("parentRefs") or ()):
            continue  # a mesh route (GAMMA: parentRef a Service or a ServiceEntry) brings no client from outside
        else:
            ingress_class, alb_config = "", ""
            addresses, reaches = _route_parent_addresses(cluster, obj, namespace)
        addresses = [a for a in addresses if a]
        out.append(Front(kind, namespace, name, _widest(reaches), tuple(addresses), ingress_class, alb_config))
    return out


# The ALB Ingress controller (alibaba/alibaba-load-balancer-controller@v1.2.0), its IngressClass controller name
# (pkg/controller/ingress/reconcile/store/common.go ALBIngressController) and the Ingress annotation naming an AlbConfig
# (pkg/util/constant.go IngressSuffixAlbConfigName under the prefix alb.ingress.kubernetes.io: reconcile/annotations).
ALB_INGRESS_CONTROLLER = "ingress.k8s.alibabacloud/alb"
ALB_CONFIG_ANNOTATION = "alb.ingress.kubernetes.io/albconfig.name"
ALB_INGRESS_CLASS = "alb"           # store/common.go IngressClassName: served by annotation with no IngressClass
ALB_DEFAULT_CONFIG = "default"      # group_loader.go DefaultGroupName: no annotation and no IngressClass parameters


def alb_config_reach(cluster: ClusterInventory, ingress: dict[str, Any], ingress_class: str) -> tuple[str, str | None]:
    """(the AlbConfig an ALB Ingress is served by, who reaches that ALB: INTERNET, INTRANET or None when not told);
    ("", None) for an Ingress of another controller or whose class is not read.

    The controller serves an Ingress whose IngressClass has spec.controller ingress.k8s.alibabacloud/alb (or, without
    spec.ingressClassName, the kubernetes.io/ingress.class annotation `alb`), on the ALB of the AlbConfig that the
    Ingress's alb.ingress.kubernetes.io/albconfig.name annotation names, else its IngressClass's spec.parameters.name,
    else (no IngressClass of that name) the AlbConfig `default` (alibaba/alibaba-load-balancer-controller@v1.2.0:
    store/common.go IsValid; builder/albconfig_manager/group_loader.go LoadGroupID, IngressClass, DefaultGroupName). The
    AlbConfig's spec.config (LoadBalancerSpec: albconfig_types.go) says who reaches the ALB it creates: addressType
    Internet (the default: model_build_load_balancer.go) or Intranet. What does not tell (None): the AlbConfig not read
    or not found (a snapshot taken before it was read), spec.config.id (an existing ALB reused: its own address type,
    never set from the AlbConfig: alb.go updateAlbLoadBalancer leaves updateAlbLoadBalancerAddressTypeConfig out), an
    unknown addressType, an Intranet ALB with an internet IPv6 address (addressIpVersion DualStack, ipv6AddressType
    Internet: reached from the internet over IPv6 alone)."""
    meta = ingress.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    spec = ingress.get("spec") or {}
    by_annotation = str(annotations.get(ALB_CONFIG_ANNOTATION) or "") if isinstance(annotations, dict) else ""
    class_obj = cluster.get(K.INGRESSCLASS, ingress_class) if ingress_class and cluster.available(
        K.INGRESSCLASS) else None
    class_spec = (class_obj or {}).get("spec") or {}
    if class_obj is not None:
        if class_spec.get("controller") != ALB_INGRESS_CONTROLLER:
            return "", None
        params = class_spec.get("parameters") or {}
        by_class = str(params.get("name") or "") if isinstance(params, dict) and params.get("kind") == "AlbConfig" \
            else ""
        name = by_annotation or by_class
    elif not spec.get("ingressClassName") and ingress_class == ALB_INGRESS_CLASS and (
            by_annotation or cluster.available(K.INGRESSCLASS)):
        # The class by annotation `alb` (the controller's own name) with no IngressClass `alb`: the annotation's
        # AlbConfig, else the one named `default` (group_loader.go LoadGroupID: DefaultGroupName when IngressClass
        # finds none). IngressClasses not read: one named `alb` may name another AlbConfig, so not told.
        name = by_annotation or ALB_DEFAULT_CONFIG
    else:
        return "", None
    if not name:
        return "", None
    if not cluster.available(K.ALBCONFIG):
        return name, None
    found = [c for c in cluster.objects(K.ALBCONFIG) if (c.get("metadata") or {}).get("name") == name]
    if len(found) != 1:
        return name, None  # none, or one per namespace (a namespaced CRD of older controllers): not told which
    config = (found[0].get("spec") or {}).get("config") or {}
    if not isinstance(config, dict) or config.get("id"):
        return name, None
    address_type = str(config.get("addressType") or "Internet").strip().lower()
    if address_type not in (INTERNET, INTRANET):
        return name, None
    if address_type == INTRANET and str(config.get("addressIpVersion") or "").lower() == "dualstack" and str(
            config.get("ipv6AddressType") or "").lower() == INTERNET:
        return name, None
    return name, address_type


def _route_parent_addresses(cluster: ClusterInventory, route: dict[str, Any], namespace: str
                            ) -> tuple[list[str], list[str | None]]:
    """The status addresses of a route's parent Gateways, and who reaches each (None for a parent not read, not
    found, or without an address: not told)."""
    addresses: list[str] = []
    reaches: list[str | None] = []
    for ref in (route.get("spec") or {}).get("parentRefs") or ():
        if not _gateway_parent(ref):
            continue
        parent = cluster.get(K.K8S_GATEWAY, str(ref.get("name") or ""), str(ref.get("namespace") or namespace)) if (
            cluster.available(K.K8S_GATEWAY)) else None
        values = [str(a.get("value") or "") for a in ((parent or {}).get("status") or {}).get("addresses") or ()
                  if isinstance(a, dict) and a.get("value")]
        if not values:
            reaches.append(None)
        addresses += values
        reaches += [_front_address_reach(cluster, v) for v in values]
    return addresses, reaches


def _gateway_parent(ref: Any) -> bool:
    """Whether a route's parentRef names a Gateway (kind Gateway, group gateway.networking.k8s.io: the defaults)."""
    return isinstance(ref, dict) and (ref.get("kind") or "Gateway") == "Gateway" and (
        (ref.get("group") or GATEWAY_API_GROUP) == GATEWAY_API_GROUP)


def _widest(reaches: list[str | None]) -> str | None:
    """Who reaches a front through all its addresses: the internet if any does; not told if any is not; else a VPC,
    else the cluster alone. No address: not told."""
    if not reaches:
        return None
    if INTERNET in reaches:
        return INTERNET
    if None in reaches:
        return None
    return INTRANET if INTRANET in reaches else CLUSTER_ONLY


def _front_address_reach(cluster: ClusterInventory, address: str) -> str | None:
    index = _service_address_reach(cluster)
    key = address.strip().lower()
    return index[key] if key in index else _address_reach(key)


def _service_address_reach(cluster: ClusterInventory) -> dict[str, str | None]:
    """Every address a Service of the cluster answers at -> who reaches it (cluster IPs: CLUSTER_ONLY; a load
    balancer's status addresses: its address type; spec.externalIPs: told by themselves), once per cluster and only
    when a front is asked about."""
    def build() -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        if not cluster.available(K.SERVICE):
            return out
        for svc in cluster.objects(K.SERVICE):
            spec = svc.get("spec") or {}
            for ip in (spec.get("clusterIP"), *(spec.get("clusterIPs") or ())):
                if isinstance(ip, str) and ip and ip != "None":
                    out.setdefault(ip.lower(), CLUSTER_ONLY)
            for ip in spec.get("externalIPs") or ():
                if isinstance(ip, str):
                    out[ip.lower()] = _address_reach(ip)
            if spec.get("type") != "LoadBalancer":
                continue
            found = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ()
            addresses = [str(a.get("ip") or a.get("hostname") or "").lower() for a in found if isinstance(a, dict)]
            annotations = {str(k): str(v) for k, v in ((svc.get("metadata") or {}).get("annotations") or {}).items()}
            reach = lb_address_type("LoadBalancer", annotations, str(spec.get("loadBalancerClass") or ""), addresses)
            for address in addresses:
                if address and out.get(address) != INTERNET:
                    out[address] = reach
        return out
    return cluster.memo("service_address_reach", build)


# ---------------------------------------------------------------- ASM IstioGateway objects
@dataclass(frozen=True)
class AsmGateway:
    """An IstioGateway on the ASM control plane; its Deployment/Service are istio-<name> in the cluster."""

    namespace: str
    name: str
    type: str | None          # INGRESS | EGRESS | EASTWEST (cross-network), None when unrecognised
    raw_type: str
    cluster_ids: tuple[str, ...]
    created: str
    state: str = ""           # status.Status (e.g. Active)
    error: str = ""           # status.ErrorMessage
    deleting: str = ""        # metadata.deletionTimestamp: being deleted (finalizers hold it), gone once they are done
    annotations: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    overrides: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    service_type: str = ""    # spec.serviceType (ClusterIP | NodePort | LoadBalancer), "" when not set

    @property
    def workload_name(self) -> str:
        return f"istio-{self.name}"

    def override_in(self, cluster_id: str | None) -> Any:
        """spec.overrides[<cluster id>] as written ({} when the cluster has none)."""
        return (self.overrides.get(cluster_id) or {}) if cluster_id else {}

    def service_annotations(self, cluster_id: str | None) -> dict[str, str]:
        """Annotations the gateway's Service gets in one cluster (spec.overrides[<cluster id>] wins)."""
        merged = {str(k): str(v) for k, v in self.annotations.items()}
        override = self.override_in(cluster_id)
        merged.update({str(k): str(v) for k, v in (override.get("serviceAnnotations") or {}).items()})
        return merged

    def service_type_in(self, cluster_id: str | None) -> tuple[str, str]:
        """(the serviceType its Service gets in one cluster, the spec field saying it): spec.overrides[<cluster id>]
        wins over spec (IstioGatewayBasicConfiguration in both, aliyun/alibabacloud-servicemesh-api@4df57487:
        alibabacloudservicemesh/v1/istiogateway_types.go, `ServiceType corev1.ServiceType json:"serviceType"`, enum
        ClusterIP;NodePort;LoadBalancer). ("", "spec.serviceType") when neither sets it."""
        override = self.override_in(cluster_id)
        if isinstance(override, dict) and override.get("serviceType"):
            return str(override["serviceType"]), f"spec.overrides.{cluster_id}.serviceType"
        return self.service_type, "spec.serviceType"

    def covers(self, cluster_id: str | None) -> bool | None:
        """True/False for a known cluster id; None when it cannot be told: clusterIds set and the id unknown, or no
        clusterIds at all. ASM's field reference says clusterIds are "the IDs of the clusters in which you want to
        deploy the gateway" and nothing of an empty list; ASM's serverless gateways are IstioGateways without cluster
        ids that run outside the clusters (alibabacloud.com/help/en/asm/sidecar/managed-gateway-with-asm-serverless),
        and ASM's type says nothing either (aliyun/alibabacloud-servicemesh-api@4df57487:alibabacloudservicemesh/v1/
        istiogateway_types.go, `ClusterIds []string json:"clusterIds,omitempty"`). So an empty list is no proof that
        the gateway runs in a cluster: its istio-<name> Deployment there is (the callers' `deployed`)."""
        if not self.cluster_ids or not cluster_id:
            return None
        return cluster_id in self.cluster_ids

    @property
    def names_no_cluster(self) -> bool:
        return not self.cluster_ids


def asm_gateways(asm: ClusterInventory) -> list[AsmGateway]:
    """Every IstioGateway of the ASM control plane (raises EvidenceUnavailable when unreadable)."""
    out = []
    for obj in asm.objects(K.ISTIO_GATEWAY_ASM):
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        raw = str(spec.get("gatewayType") or "")
        ids = spec.get("clusterIds") or ()
        out.append(AsmGateway(
            namespace=meta.get("namespace", ""), name=meta.get("name", ""), type=normalise_gateway_type(raw),
            raw_type=raw, cluster_ids=tuple(str(i) for i in ids if i), created=meta.get("creationTimestamp") or "",
            state=str(status.get("Status") or status.get("status") or ""),
            error=str(status.get("ErrorMessage") or status.get("errorMessage") or ""),
            deleting=str(meta.get("deletionTimestamp") or ""),
            annotations=dict(spec.get("serviceAnnotations") or {}),
            overrides=dict(spec.get("overrides") or {}),
            service_type=str(spec.get("serviceType") or ""),
        ))
    return out


def istio_injectors_selecting(cluster: ClusterInventory, namespace: str, pod_labels: dict[str, str]
                              ) -> tuple[list[str], list[str]]:
    """(Istio's injector webhooks that select a pod of `pod_labels` in `namespace` as that namespace is labelled now,
    the injectors that may select it but whose owner or selector cannot be told). Raises EvidenceUnavailable when the
    webhooks were not read.

    What a gateway left to the webhook (image `auto`, inject.istio.io/templates: gateway) needs at each pod creation:
    Istio's webhooks select by the namespace's istio-injection / istio.io/rev labels and the pod's
    sidecar.istio.io/inject / istio.io/rev labels together (istio-control/istio-discovery/templates/
    mutatingwebhook.yaml @1.24.6, 1.30.3: rev.namespace. and rev.object. want istio-injection DoesNotExist; only the
    default revision's, or a `default` tag's, namespace. webhook selects istio-injection=enabled). So
    `istio-injection: enabled` leaves a revisioned gateway (istio.io/rev=<rev> pods, gen-eastwest-gateway.sh
    --revision, the gateway chart's `revision`) without a proxy unless a default injector exists."""
    hooks = idle.injectors(cluster)
    ns_labels = idle.namespace_labels(cluster, namespace)
    selecting: list[str] = []
    unproven: list[str] = []
    for hook in hooks:
        by_ns = idle.selector_matches(hook.namespace_selector, ns_labels)
        by_object = idle.selector_matches(hook.object_selector, pod_labels)
        if by_ns is False or by_object is False or hook.owner == idle.ASM:
            continue  # ASM's injector gives ASM's proxy, not the gateway Istio's istiod serves
        if by_ns is None or by_object is None or hook.owner == idle.UNPROVEN:
            unproven.append(hook.ref)
        else:
            selecting.append(hook.ref)
    return selecting, unproven


def going_workloads(gws: Iterable[AsmGateway]) -> dict[tuple[str, str], AsmGateway]:
    """(namespace, istio-<name>) -> the IstioGateway, of the ASM gateways being deleted on the ASM control plane
    (metadata.deletionTimestamp: the API server keeps an object with finalizers until they are removed, apimachinery
    registry/generic/registry/store.go). ASM's controller removes that Deployment and its Service from every cluster
    once the deletion completes: however well they serve now, no check counts them as an ASM gateway that stays
    (asm-gateways-present AA1718, egress-routes-to-asm AA1613, ingress-lb-weights AA2014, cross-cluster-gateway-first
    AA1813). The one rule for every reader of asm_gateways: a key of this map is a gateway that is going."""
    return {(g.namespace, g.workload_name): g for g in gws if g.deleting}


STRAY_GATEWAY = ("pods of {workload} run istio-proxy as a gateway (`proxy router`) but no gateway Deployment or "
                 "DaemonSet explains them: ")
STRAY_GATEWAY_FIX = "Name the gateway in the config (gateways:) or check its owner, then audit again."


def stray_gateway_findings(check: Check, cluster: ClusterInventory, rules: mesh.ProxyRules,
                           names: GatewaysConfig | None, outcome: Outcome) -> list[Finding]:
    """One UNKNOWN of `outcome` per workload whose pods run Istio's proxy as a gateway that no gateway workload
    explains (unrecognised_gateway_pods). The outcome's message template is STRAY_GATEWAY followed by what the
    check cannot judge because of it (one field: {workload})."""
    return [check.report(outcome, cluster.name, params={"workload": workload}, remediation=STRAY_GATEWAY_FIX,
                         evidence={"workload": workload})
            for workload in unrecognised_gateway_pods(cluster, gateway_workloads(cluster, rules, names))]


# ---------------------------------------------------------------- workloads that run ASM's proxy
class AsmWorkload:
    """A Deployment/DaemonSet that runs ASM's proxy: why it is taken so, its pod template's labels (what Services
    select), the ServiceAccount its pods run as ("" when its template names none: the namespace's `default`) and the
    ConfigMaps of its namespace its template reads. Those three are read from its object when first asked: a cluster
    has thousands of moved workloads (~4,400 at 50k pods) and its readers compare a few namespaces' (~16 ms at 10k pods
    when all were read up front)."""

    __slots__ = ("_config_maps", "_labels", "_object", "_service_account", "why")

    def __init__(self, why: str, obj: dict[str, Any] | None = None) -> None:
        self.why = why
        self._object = obj or {}
        self._labels: dict[str, str] | None = None
        self._service_account: str | None = None
        self._config_maps: frozenset[str] | None = None

    @property
    def pod_labels(self) -> dict[str, str]:
        if self._labels is None:
            template = (self._object.get("spec") or {}).get("template") or {}
            self._labels = dict((template.get("metadata") or {}).get("labels") or {})
        return self._labels

    @property
    def service_account(self) -> str:
        if self._service_account is None:
            self._service_account = template_service_account(self._object)
        return self._service_account

    @property
    def config_maps(self) -> frozenset[str]:
        if self._config_maps is None:
            self._config_maps = template_config_maps(self._object)
        return self._config_maps

    def __repr__(self) -> str:
        return f"AsmWorkload({self.why!r})"


def template_config_maps(obj: dict[str, Any]) -> frozenset[str]:
    """The ConfigMaps a workload's pod template reads: volumes (configMap, projected sources), and its containers'
    and init containers' envFrom / env valueFrom. Optional ones included: what they hold is gone all the same."""
    spec = (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}
    names: set[str] = set()
    for volume in spec.get("volumes") or ():
        if not isinstance(volume, dict):
            continue
        names.add(str((volume.get("configMap") or {}).get("name") or ""))
        for source in (volume.get("projected") or {}).get("sources") or ():
            if isinstance(source, dict):
                names.add(str((source.get("configMap") or {}).get("name") or ""))
    for container in (*(spec.get("containers") or ()), *(spec.get("initContainers") or ())):
        if not isinstance(container, dict):
            continue
        for source in container.get("envFrom") or ():
            if isinstance(source, dict):
                names.add(str((source.get("configMapRef") or {}).get("name") or ""))
        for env in container.get("env") or ():
            if isinstance(env, dict):
                names.add(str(((env.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name") or ""))
    names.discard("")
    return frozenset(names)


def template_service_account(obj: dict[str, Any]) -> str:
    """spec.template.spec.serviceAccountName (or the deprecated serviceAccount) of a workload, "" when unset."""
    spec = (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "")


def asm_proxied_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig | None = None,
                          namespaces: Collection[str] | None = None) -> dict[tuple[str, str, str], AsmWorkload]:
    """(kind, namespace, name) of the Deployments/DaemonSets that run ASM's proxy: an ASM gateway workload (an ASM
    marker, or its template's istio-proxy classified ASM's), or a workload one of whose pods the proxy classifier calls
    ASM's (a gateway injected by ASM's webhook keeps `image: auto` in its template). Pods unreadable: the templates
    only. Needs Deployments. `namespaces`: only those of these namespaces (a caller that asks of a few namespaces
    need not read every moved workload's template: ~4,400 at 50k pods)."""
    wanted = None if namespaces is None else frozenset(namespaces)
    why = {(g.kind, g.namespace, g.name): Phrase(N_("an ASM gateway ({reason})"), reason=g.reason)
           for g in gateway_workloads(cluster, rules, names) if g.asm and (wanted is None or g.namespace in wanted)}
    if cluster.available(K.POD) and (wanted is None or wanted):
        pods = cluster.pods()
        rows = istio.among(pods["proxy"], (mesh.PROXY_ASM,)) & istio.among(pods["workload_kind"],
                                                                             ("Deployment", "DaemonSet"))
        if wanted is not None:
            rows &= istio.among(pods["namespace"], tuple(wanted))
        # Each workload once (by its columns' codes), written as text only then: ~25,000 moved pods at 50k.
        found = istio.pod_columns(pods, rows, ("namespace", "workload_kind", "workload_name")).drop_duplicates()
        for ns, kind, name in sorted(zip(found["namespace"].astype(str), found["workload_kind"].astype(str),
                                         found["workload_name"].astype(str), strict=True)):
            why.setdefault((kind, ns, name), Phrase(N_("its pods run ASM's proxy")))
    out: dict[tuple[str, str, str], AsmWorkload] = {}
    readable = {kind.kind: cluster.available(kind) for kind in (K.DEPLOYMENT, K.DAEMONSET)}
    for key, reason in why.items():
        kind = K.DAEMONSET if key[0] == "DaemonSet" else K.DEPLOYMENT
        out[key] = AsmWorkload(reason, cluster.get(kind, key[2], key[1]) if readable[kind.kind] else None)
    return out


def gateways_selecting(objects: list[dict[str, Any]], pod_labels: dict[str, str]) -> list[str]:
    """namespace/name of the Istio Gateways (networking.istio.io) whose spec.selector picks pods with these labels.
    istiod gives a gateway pod the listeners of the Gateways whose selector matches its labels (any namespace unless
    PILOT_SCOPE_GATEWAY_TO_NAMESPACE; no selector matches every gateway, else the selector a subset of the pod's
    labels): istio/istio@1.30.3 pilot/pkg/model/push_context.go mergeGateways."""
    out = []
    for obj in objects:
        selector = (obj.get("spec") or {}).get("selector") or {}
        if isinstance(selector, dict) and _matches(selector, pod_labels):
            meta = obj.get("metadata") or {}
            out.append(f"{meta.get('namespace', '')}/{meta.get('name', '')}")
    return sorted(set(out))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Service's spec.selector picks pods with these labels (an empty selector picks none: the API server
    leaves such a Service's Endpoints to whoever writes them)."""
    return bool(selector) and _matches(selector, labels)


# ---------------------------------------------------------------- Kubernetes Ingresses Istio serves
# istio/istio@1.24.6 (and @1.30.3) pilot/pkg/config/kube/ingress: istiod runs the Ingress controller unless its mesh
# config's ingressControllerMode is OFF (pilot/pkg/bootstrap/configcontroller.go), and turns each Ingress it processes
# into a Gateway selecting `istio: <ingressSelector>` (else `istio: <ingressService>` unless that is
# istio-ingressgateway, else `istio: ingressgateway`: getIngressGatewaySelector) with a VirtualService per rule host.
# Mesh config defaults: ingressService istio-ingressgateway, ingressControllerMode STRICT, ingressClass istio
# (pkg/config/mesh/mesh.go DefaultMeshConfig); the charts set none of them (istio-discovery templates/configmap.yaml).
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
ISTIO_INGRESS_CONTROLLER = "istio.io/ingress-controller"
_INGRESS_MODES = {"0": "UNSPECIFIED", "1": "OFF", "2": "DEFAULT", "3": "STRICT"}  # istio/api mesh/v1alpha1/config.proto


@dataclass(frozen=True)
class IngressesServed:
    """The Kubernetes Ingresses an Istio istiod of the cluster turns into listeners on a gateway's pods: `ingresses`
    ("<namespace>/<name>" -> their rule hosts), and what could not be read that would tell (`unread`)."""

    ingresses: dict[str, tuple[str, ...]]
    unread: tuple[str, ...]
    selectors: tuple[str, ...]  # the selectors (`istio=<value>`) of the istiods whose Ingress listeners it gets

    @property
    def hosts(self) -> list[str]:
        return sorted({h for hosts in self.ingresses.values() for h in hosts})


def _ingress_selector(mesh_config: dict[str, Any]) -> str:
    """getIngressGatewaySelector: the value of the `istio` label istiod's Ingress Gateways select."""
    selector = str(mesh_config.get("ingressSelector") or "")
    service = str(mesh_config.get("ingressService", "istio-ingressgateway") or "")
    if selector:
        return selector
    if service and service != "istio-ingressgateway":
        return service
    return "ingressgateway"


def _processes(mode: str, ingress_class: str, ingress: dict[str, Any],
               classes: dict[str, dict[str, Any]] | None) -> bool | None:
    """shouldProcessIngressWithClass (None: its IngressClass could not be read). `mode` is not OFF."""
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    if isinstance(annotations, dict) and INGRESS_CLASS_ANNOTATION in annotations:
        return mode in ("STRICT", "DEFAULT") and str(annotations[INGRESS_CLASS_ANNOTATION]) == ingress_class
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        if classes is None:
            return None
        found = classes.get(str(name))
        return found is not None and str((found.get("spec") or {}).get("controller") or "") == ISTIO_INGRESS_CONTROLLER
    return mode == "DEFAULT"


def _ingress_hosts(ingress: dict[str, Any]) -> tuple[str, ...]:
    """The hosts of the rules istiod routes (ConvertIngressVirtualService: a rule without http is skipped, no host is
    `*`)."""
    rules = (ingress.get("spec") or {}).get("rules") or ()
    return tuple(sorted({str(rule.get("host") or "*") for rule in rules
                         if isinstance(rule, dict) and rule.get("http")}))


def istio_served_ingresses(cluster: ClusterInventory, pod_labels: dict[str, str]) -> IngressesServed:
    """The Kubernetes Ingresses that Istio's istiods (every revision, each with its own mesh config) serve on pods with
    these labels. ASM serves Ingresses only on an ASM gateway where "Enable Ingress API access" was turned on (ASM >=
    1.16, help.aliyun.com/document_detail/613527.html), which no Kubernetes object tells."""
    unread: list[str] = []
    selectors: set[str] = set()
    configs: list[tuple[str, str]] = []  # (mode, ingressClass) of the istiods selecting these pods
    for dep in istio.istiods(cluster):
        namespace, name = istio.mesh_configmap_of(dep)
        config: dict[str, Any] = {}
        if not cluster.available(K.CONFIGMAP):
            unread.append(_unread_kind(cluster, K.CONFIGMAP))
            continue
        cm = cluster.get(K.CONFIGMAP, name, namespace)
        if cm is not None:
            try:
                config = mesh.parse_mesh(cm)
            except ValueError as exc:
                unread.append(f"ConfigMap {namespace}/{name} ({exc})")
                continue
        mode = str(config.get("ingressControllerMode", "STRICT")).upper()
        mode = _INGRESS_MODES.get(mode, mode)
        if mode == "OFF":
            continue
        selector = _ingress_selector(config)
        if pod_labels.get("istio") != selector:
            continue
        selectors.add(f"istio={selector}")
        configs.append((mode, str(config.get("ingressClass", "istio"))))
    if not configs:
        return IngressesServed({}, tuple(dict.fromkeys(unread)), ())
    if not cluster.available(K.INGRESS):
        unread.append(_unread_kind(cluster, K.INGRESS))
        return IngressesServed({}, tuple(dict.fromkeys(unread)), tuple(sorted(selectors)))
    classes = ({str((c.get("metadata") or {}).get("name") or ""): c for c in cluster.objects(K.INGRESSCLASS)}
               if cluster.available(K.INGRESSCLASS) else None)
    served: dict[str, tuple[str, ...]] = {}
    for ingress in cluster.objects(K.INGRESS):
        hosts = _ingress_hosts(ingress)
        if not hosts:
            continue
        meta = ingress.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        verdicts = {_processes(mode, cls, ingress, classes) for mode, cls in configs}
        if True in verdicts:
            served[key] = hosts
        elif None in verdicts:
            unread.append(f"{key}: {_unread_kind(cluster, K.INGRESSCLASS)}")
    return IngressesServed(served, tuple(dict.fromkeys(unread)), tuple(sorted(selectors)))


# ---------------------------------------------------------------- what a gateway's listeners serve
# A Service so labelled is left out of the port translation below (pilot/pkg/model/gateway.go @1.24.6).
DISABLE_PORT_TRANSLATION_LABEL = "experimental.istio.io/disable-gateway-port-translation"
# credentialName prefixes (pilot/pkg/model/credentials/resource.go @1.24.6): builtin:// is the gateway's own mTLS
# certificate (no Secret); kubernetes-gateway://ns/name is the Gateway API's (read from the config cluster);
# kubernetes://[ns/]name and a bare name are a Secret of the gateway pod's own namespace unless a namespace is given.
_BUILTIN_CREDENTIAL, _K8S_GATEWAY_CREDENTIAL, _K8S_CREDENTIAL = "builtin://", "kubernetes-gateway://", "kubernetes://"


# What a Gateway server needs before its listener serves a host (istio/istio@1.30.3 and @1.24.6:
# pilot/pkg/networking/core/gateway.go; pkg/config/gateway/gateway.go IsHTTPServer, IsPassThroughServer): an HTTP
# server, or HTTPS terminating TLS, the http routes of VirtualServices bound to its Gateway
# (buildGatewayHTTPRouteConfig: none, and its only virtual host is a `blackhole` one without routes, a 404); a
# PASSTHROUGH server `tls` routes
# (buildGatewayNetworkFiltersFromTLSRoutes); any other (TCP, TLS terminated) `tcp` routes
# (buildGatewayNetworkFiltersFromTCPRoutes). An AUTO_PASSTHROUGH server serves the registry's Services by SNI, and an
# HTTP server with tls.httpsRedirect answers its hosts with a redirect: neither needs a route.
ROUTE_HTTP, ROUTE_TLS, ROUTE_TCP, ROUTE_NONE = "http", "tls", "tcp", ""
_HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})  # protocol.Parse ... IsHTTP()


def _server_routes(server: dict[str, Any], tls: dict[str, Any]) -> str:
    protocol = str(((server.get("port") or {}) if isinstance(server.get("port"), dict) else {}).get("protocol")
                   or "").upper()
    # ServerTLSSettings.mode defaults to PASSTHROUGH, the enum's 0 (istio/api@v1.30.3 networking/v1alpha3/gateway.proto)
    mode = str(tls.get("mode") or "PASSTHROUGH").upper() if isinstance(server.get("tls"), dict) else ""
    if protocol in _HTTP_PROTOCOLS or (protocol == "HTTPS" and mode not in ("PASSTHROUGH", "AUTO_PASSTHROUGH")):
        return ROUTE_NONE if tls.get("httpsRedirect") is True else ROUTE_HTTP
    if mode == "AUTO_PASSTHROUGH":
        return ROUTE_NONE
    return ROUTE_TLS if mode == "PASSTHROUGH" else ROUTE_TCP


@dataclass(frozen=True)
class ServedHost:
    """A host a gateway's listeners serve for an Istio Gateway server."""

    host: str                 # the server host, its `namespace/` part removed, lower case
    gateway: str              # namespace/name of the Istio Gateway
    ports: frozenset[int] | None  # the Service ports (of the Services selecting the gateway's pods) that reach the
    #                               listener; None when the Services were not read or a targetPort could not be resolved
    secret: str = ""          # namespace/name of the Secret its credentialName names ("" without one)
    namespace: str = ""       # the gateway pod's namespace: the only one whose kubernetes:// Secrets it is served
    routes: str = ROUTE_HTTP  # the routes that give its listener something to serve (ROUTE_*)
    scope: str = "*"          # the namespace of the VirtualServices its host takes (`ns/host`; "*": any)
    number: int | None = None  # the server's port.number (a route match's port is compared with it)
    # The gateway pods' labels (a route match's sourceLabels must be among them: sourceMatchHTTP)
    labels: frozenset[tuple[str, str]] = frozenset()

    @property
    def secret_readable(self) -> bool:
        """Whether istiod serves the gateway its Secret: a kubernetes:// Secret only of the proxy's own namespace
        (filterAuthorizedResources, pilot/pkg/xds/sds.go @1.24.6: "we require the secret to be in the same namespace
        as the proxy"; an unverified cross-namespace reference is never allowed)."""
        return bool(self.secret) and self.secret.partition("/")[0] == self.namespace


def host_covers(pattern: str, host: str) -> bool:
    """Whether a Gateway server host (`*`, `*.example.com`, `a.example.com`) takes requests for `host`."""
    if pattern in ("*", host):
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


class HostIndex:
    """host_covers over many patterns at once, each pattern with an item: `*` and exact hosts looked up whole, a
    wildcard `*.example.com` by the suffixes of a host at its dots (a comparison per pattern and host was quadratic:
    3,000 Gateways of one host each, 9 million calls, 5.5 s)."""

    def __init__(self, items: Iterable[tuple[str, Any]]) -> None:
        self._by_pattern: dict[str, list[tuple[int, Any]]] = {}
        for number, (pattern, item) in enumerate(items):
            self._by_pattern.setdefault(pattern, []).append((number, item))

    def _keys(self, host: str) -> set[str]:
        return {"*", host, *("*" + host[i:] for i in range(len(host)) if host[i] == ".")}

    def covering(self, host: str) -> list[Any]:
        """The items whose pattern covers `host` (host_covers), in the order they were given."""
        found = [entry for key in self._keys(host) for entry in self._by_pattern.get(key, ())]
        return [item for _, item in sorted(found, key=lambda entry: entry[0])]

    def covers(self, host: str) -> bool:
        by_pattern = self._by_pattern
        return any(key in by_pattern for key in self._keys(host))


def credential_secret(credential: str, gateway_namespace: str) -> str:
    """namespace/name of the Secret a server's tls.credentialName makes the gateway read, "" for none (builtin://, or
    the Gateway API's kubernetes-gateway://, read elsewhere). ToResourceName and ParseResourceName,
    pilot/pkg/model/credentials/resource.go @1.24.6: a bare name is kubernetes://<name>, read from the namespace of the
    gateway pod asking for it (not the Gateway object's)."""
    if not credential or credential.startswith((_BUILTIN_CREDENTIAL, _K8S_GATEWAY_CREDENTIAL)):
        return ""
    ref = credential.removeprefix(_K8S_CREDENTIAL)
    namespace, _, name = ref.partition("/") if "/" in ref else (gateway_namespace, "", ref)
    return f"{namespace}/{name}"


def _template_container_ports(cluster: ClusterInventory, gateway: GatewayWorkload) -> dict[str, int]:
    kind = K.DAEMONSET if gateway.kind == "DaemonSet" else K.DEPLOYMENT
    obj = cluster.get(kind, gateway.name, gateway.namespace) if cluster.available(kind) else None
    spec = ((((obj or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
    return {str(port["name"]): int(port["containerPort"]) for container in spec.get("containers") or ()
            if isinstance(container, dict) for port in container.get("ports") or ()
            if isinstance(port, dict) and port.get("name") and isinstance(port.get("containerPort"), int)}


def _service_ports(cluster: ClusterInventory, gateway: GatewayWorkload
                   ) -> tuple[list[tuple[int, int | None, bool, str]], list[str]]:
    """(port, targetPort resolved or None, translates, Service) of the Services of its namespace that select the
    gateway's pods, and the named targetPorts no container port of its template resolves; once per gateway and
    cluster (asked again for each Istio gateway an ASM gateway is compared with)."""
    return cluster.memo(("gateway_service_ports", gateway.kind, gateway.namespace, gateway.name),
                        lambda: _walk_service_ports(cluster, gateway))


def _walk_service_ports(cluster: ClusterInventory, gateway: GatewayWorkload
                        ) -> tuple[list[tuple[int, int | None, bool, str]], list[str]]:
    named: dict[str, int] | None = None
    out: list[tuple[int, int | None, bool, str]] = []
    unresolved: list[str] = []
    for svc in cluster.objects(K.SERVICE):
        meta = svc.get("metadata") or {}
        if meta.get("namespace") != gateway.namespace:
            continue
        spec = svc.get("spec") if isinstance(svc.get("spec"), dict) else {}
        selector = spec.get("selector")
        if not isinstance(selector, dict) or not selects(selector, gateway.pod_labels):
            continue
        where = f"Service {gateway.namespace}/{meta.get('name')}"
        translates = DISABLE_PORT_TRANSLATION_LABEL not in (meta.get("labels") or {})
        ports = spec.get("ports")
        for entry in ports if isinstance(ports, list) else ():
            if not isinstance(entry, dict) or not isinstance(entry.get("port"), int):
                continue
            target: Any = entry.get("targetPort")
            if target is None or target == "":
                resolved: int | None = entry["port"]
            elif isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
                resolved = int(target)
            else:
                named = _template_container_ports(cluster, gateway) if named is None else named
                resolved = named.get(str(target))
                if resolved is None:
                    unresolved.append(f"{where} port {entry['port']} targetPort {target!r} (no such container port)")
            out.append((entry["port"], resolved, translates, where))
    return out, unresolved


def served_hosts(cluster: ClusterInventory, gateway: GatewayWorkload, gateways: list[dict[str, Any]]
                 ) -> tuple[list[ServedHost], list[str]]:
    """The hosts the Istio Gateways (networking.istio.io, `gateways`) selecting a gateway's pods give its listeners,
    with the Service ports that reach each listener, and the named targetPorts that could not be resolved.

    istiod puts a server's listener on the targetPort of the first Service port (of a Service selecting the pod, not
    labelled DISABLE_PORT_TRANSLATION_LABEL) equal to servers[].port.number, or on that number itself when no Service
    port equals it (resolvePorts with a label selector, pilot/pkg/model/gateway.go @1.24.6 and @1.30.3). Clients reach
    the listener at every Service port whose targetPort is the listener's port: Istio's istio-ingress chart maps 80 ->
    8080 and 443 -> 8443 (manifests/charts/gateways/istio-ingress/values.yaml @1.24.6), so bookinfo's server on 8080
    (samples/bookinfo/networking/bookinfo-gateway.yaml @1.24.6) is reached at port 80; on a gateway whose Service maps
    80 -> 80 (ASM's IstioGateway spec.ports, corev1.ServicePort: aliyun/alibabacloud-servicemesh-api@4df57487:
    alibabacloudservicemesh/v1/istiogateway_types.go) the same server listens on 8080 that no Service port reaches."""
    ports: list[tuple[int, int | None, bool, str]] | None = None
    unresolved: list[str] = []
    if cluster.available(K.SERVICE):
        ports, found = _service_ports(cluster, gateway)
        unresolved = list(found)  # the memo's own list stays as it is
    out: list[ServedHost] = []
    labels = frozenset((str(k), str(v)) for k, v in gateway.pod_labels.items())
    for obj in gateways:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        selector = spec.get("selector") or {}
        if not isinstance(selector, dict) or not _matches(selector, gateway.pod_labels):
            continue
        meta = obj.get("metadata") or {}
        name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        servers = spec.get("servers")
        for server in servers if isinstance(servers, list) else ():
            if not isinstance(server, dict):
                continue
            number = (server.get("port") or {}).get("number") if isinstance(server.get("port"), dict) else None
            reach: frozenset[int] | None = None
            if ports is not None and isinstance(number, int):
                listener = next((target for port, target, translates, _ in ports if translates and port == number),
                                number)
                if listener is not None and not unresolved:
                    reach = frozenset(port for port, target, _, _ in ports if target == listener)
            tls = server.get("tls") if isinstance(server.get("tls"), dict) else {}
            # credentialNames (a certificate pair, Istio >= 1.30) wins over credentialName (model/gateway.go @1.30.3);
            # the first stands for them: a bare name resolves to the same namespace as the others.
            names = tls.get("credentialNames") if isinstance(tls.get("credentialNames"), list) else []
            secret = credential_secret(str((names or [tls.get("credentialName")])[0] or ""), gateway.namespace)
            hosts = server.get("hosts")
            routes = _server_routes(server, tls)
            for host in hosts if isinstance(hosts, list) else ():
                text = str(host).strip().lower()
                scope, _, bare = text.partition("/") if "/" in text else ("*", "", text)
                scope = str(meta.get("namespace") or "") if scope == "." else scope
                out.append(ServedHost(bare, name, reach, secret, gateway.namespace, routes, scope,
                                      number if isinstance(number, int) else None, labels))
    return out, unresolved


def _shared_host(a: str, b: str) -> str:
    """The hosts two host patterns share, as istiod's host.Names.Intersection keeps them: the narrower where one covers
    the other, "" where neither does."""
    if host_covers(a, b):
        return b
    return a if host_covers(b, a) else ""


def _exported_to(export_to: Any, vs_namespace: str, proxy_namespace: str) -> bool:
    """Whether a VirtualService's exportTo lets istiod give it to gateway pods of `proxy_namespace`
    (initVirtualServices, VirtualServicesForGateway, pilot/pkg/model/push_context.go @1.30.3 and @1.24.6): `*`
    everyone; `~` no one; `.` its own namespace; else the namespaces listed (none given: route_hosts passes the mesh's
    default)."""
    if not isinstance(export_to, list) or not export_to:
        return True
    values = {str(e) for e in export_to}
    if "*" in values:
        return True
    if "~" in values:
        return False
    return ("." in values and proxy_namespace == vs_namespace) or proxy_namespace in values


class BoundRoutes:
    """The VirtualServices bound to each Istio Gateway (namespace/name): spec.gateways resolved as istiod does
    (_gateway_keys); `mesh`, and none given (which means `mesh`: getGatewayNames, push_context.go @1.30.3), bind none.
    A VirtualService's http/tls/tcp match `gateways` only narrow the Gateways its spec.gateways bind. The hosts of
    those bound to a Gateway are looked up in a HostIndex (a Gateway listing thousands of hosts, with as many
    VirtualServices bound, compared each with each was quadratic)."""

    def __init__(self, objects: Iterable[dict[str, Any]]) -> None:
        self._by_gateway: dict[str, list[tuple[dict[str, Any], str, tuple[str, ...]]]] = {}
        self._index: dict[str, HostIndex] = {}
        for vs in objects:
            spec = vs.get("spec") if isinstance(vs.get("spec"), dict) else {}
            namespace = str((vs.get("metadata") or {}).get("namespace") or "")
            hosts = tuple(host_fqdn(h, namespace) for h in spec.get("hosts") or () if isinstance(h, str))
            for key in _gateway_keys(spec.get("gateways"), namespace):
                self._by_gateway.setdefault(key, []).append((vs, namespace, hosts))

    def meeting(self, gateway: str, host: str) -> list[tuple[dict[str, Any], str, list[str]]]:
        """(VirtualService, its namespace, the hosts it shares with `host`) of those bound to the Gateway, in order."""
        bound = self._by_gateway.get(gateway, ())
        if "*" in host:  # a wildcard server host may cover VirtualService hosts: each is compared
            candidates = [(number, h) for number, (_, _, hosts) in enumerate(bound) for h in hosts]
        else:  # an exact one meets only the VirtualService hosts that cover it
            index = self._index.get(gateway)
            if index is None:
                index = self._index[gateway] = HostIndex(
                    (h, (number, h)) for number, (_, _, hosts) in enumerate(bound) for h in hosts)
            candidates = index.covering(host)
        shared: dict[int, list[str]] = {}
        for number, vs_host in candidates:
            if x := _shared_host(host, vs_host):
                shared.setdefault(number, []).append(x)
        return [(bound[n][0], bound[n][1], names) for n, names in sorted(shared.items())]


def bound_virtual_services(objects: Iterable[dict[str, Any]]) -> BoundRoutes:
    """BoundRoutes of these VirtualServices."""
    return BoundRoutes(objects)


def _for_gateway(match: dict[str, Any], gateway: str, namespace: str) -> bool:
    named = match.get("gateways")
    return not named or gateway in _gateway_keys(named, namespace)


def _l4_match(match: dict[str, Any], served: ServedHost, namespace: str) -> bool:
    """l4SingleMatch (gateway.go @1.30.3): the match's port, if any, is the server's, and its gateways, if any, name
    the server's Gateway."""
    port = match.get("port")
    return (not port or port == served.number) and _for_gateway(match, served.gateway, namespace)


def _labels_among(wanted: Any, labels: frozenset[tuple[str, str]]) -> bool:
    """labels.Instance(sourceLabels).SubsetOf(proxy labels): none asked, or each one among the pod's."""
    if not wanted:
        return True
    return isinstance(wanted, dict) and all((str(k), str(v)) in labels for k, v in wanted.items())


def _http_route_built(rules: Any, served: ServedHost, namespace: str) -> bool:
    """Whether BuildHTTPRoutesForVirtualService (pilot/pkg/networking/core/route/route.go @1.30.3) builds a route for
    the server's Gateway and port: a rule without match, or a match whose gateways (if any) name the Gateway, whose
    port (if any) is the server's, and (without gateways) whose sourceLabels (if any) are among the gateway pods'
    labels and whose sourceNamespace (if any) is the gateway pod's (sourceMatchHTTP, TranslateRoute). Else "no routes
    matched": the VirtualService gives the listener nothing."""
    for rule in rules if isinstance(rules, list) else ():
        if not isinstance(rule, dict):
            continue
        matches = [m for m in rule.get("match") or () if isinstance(m, dict)]
        if not matches:
            return True
        for m in matches:
            port = m.get("port")
            if port and port != served.number:
                continue
            if m.get("gateways"):
                if _for_gateway(m, served.gateway, namespace):
                    return True
            elif _labels_among(m.get("sourceLabels"), served.labels) and (
                    not m.get("sourceNamespace") or m.get("sourceNamespace") == served.namespace):
                return True
    return False


def route_hosts(served: ServedHost, bound: BoundRoutes, *, export_default: Sequence[str] = ("*",)) -> list[str]:
    """The hosts that routes take on a gateway's listener for a Gateway server host (`bound`: bound_virtual_services
    of the VirtualServices istiod reads), none when nothing would answer there but a 404 or a closed connection.

    As istiod builds the listener (gateway.go @1.30.3 and @1.24.6) from the VirtualServices bound to the server's
    Gateway and exported to the gateway pod's namespace, of the server host's namespace where it names one (`ns/host`),
    whose hosts meet the server host: an HTTP server the hosts they share where an http route is built for it
    (buildGatewayHTTPRouteConfig); a PASSTHROUGH server the sniHosts of a tls match for its port and Gateway
    (buildGatewayNetworkFiltersFromTLSRoutes); a TCP server all of it where a tcp rule matches its port and Gateway
    (buildGatewayNetworkFiltersFromTCPRoutes, l4MultiMatch). A server needing no route (ROUTE_NONE) serves its host.
    `export_default`: the mesh's defaultVirtualServiceExportTo (`*` unless its mesh config sets it) for a
    VirtualService without exportTo."""
    if served.routes == ROUTE_NONE:
        return [served.host]
    out: list[str] = []
    for vs, namespace, shared in bound.meeting(served.gateway, served.host):
        spec = vs.get("spec") if isinstance(vs.get("spec"), dict) else {}
        if served.scope not in ("*", namespace) or not _exported_to(spec.get("exportTo") or list(export_default),
                                                                     namespace, served.namespace):
            continue
        if served.routes == ROUTE_HTTP:
            if _http_route_built(spec.get("http"), served, namespace):
                out += shared
        elif served.routes == ROUTE_TCP:
            for rule in spec.get("tcp") or ():
                matches = [m for m in (rule.get("match") or ()) if isinstance(m, dict)] if isinstance(rule, dict) \
                    else None
                if matches is not None and (not matches or any(_l4_match(m, served, namespace) for m in matches)):
                    out.append(served.host)
                    break
        else:
            for rule in spec.get("tls") or ():
                for m in (rule.get("match") or ()) if isinstance(rule, dict) else ():
                    if isinstance(m, dict) and _l4_match(m, served, namespace):
                        out += [x for sni in m.get("sniHosts") or () if (x := _shared_host(served.host,
                                                                                           str(sni).lower()))]
    return list(dict.fromkeys(out))


def listener_port(cluster: ClusterInventory, gateway: GatewayWorkload, number: int) -> int | None:
    """The pod port istiod puts a gateway's listener for a Gateway server (or a Gateway API listener) of port `number`
    on: the targetPort of the first Service port equal to it (of a Service selecting the pods, not labelled
    DISABLE_PORT_TRANSLATION_LABEL), else the number itself (resolvePorts, pilot/pkg/model/gateway.go @1.24.6 and
    @1.30.3). None when the Services were not read or a named targetPort could not be resolved."""
    if not cluster.available(K.SERVICE):
        return None
    ports, unresolved = _service_ports(cluster, gateway)
    if unresolved:
        return None
    return next((target for port, target, translates, _ in ports if translates and port == number), number)


def service_port_target(cluster: ClusterInventory, gateway: GatewayWorkload, service: str, namespace: str,
                        port: int) -> tuple[bool, int | None]:
    """(whether the Service `namespace/service` in front of the gateway exposes `port`, the pod port it sends it to,
    None when a named targetPort could not be resolved)."""
    ports, _ = _service_ports(cluster, gateway)
    where = f"Service {namespace}/{service}".lower()
    found = [target for number, target, _, svc in ports if svc.lower() == where and number == port]
    return (bool(found), found[0] if found else None)


def gateway_listeners(cluster: ClusterInventory, workloads: Iterable[GatewayWorkload], gateways: list[dict[str, Any]],
                      bound: BoundRoutes, export_default: Sequence[str] = ("*",)
                      ) -> list[tuple[GatewayWorkload, int | None, str]]:
    """(workload, server port number, host) of each host a route takes on the listeners of these gateway workloads:
    the servers of the Gateways (`gateways`) selecting the workloads' pods (served_hosts), each carrying what the
    VirtualServices bound to its Gateway route there (route_hosts, `bound`: bound_virtual_services); istiod builds a
    gateway's listeners and routes from those only (pilot/pkg/networking/core/gateway.go @1.24.6 and @1.30.3). A host
    a client sends to such a gateway on no listener gets a 404 (HTTP) or a closed connection (TLS passthrough, TCP).
    An egress gateway is the second hop of Istio's egress pattern: the mesh routes the external host to its Service,
    and a Gateway selecting its pods with a VirtualService bound to that Gateway sends the host on."""
    return [(w, served.number, name) for w in workloads for served in served_hosts(cluster, w, gateways)[0]
            for name in route_hosts(served, bound, export_default=export_default)]


def gateway_api_listeners(gateway: dict[str, Any], routes: list[dict[str, Any]],
                          namespace_labels: Any = None) -> list[tuple[int | None, str]]:
    """(listener port, host) of each host a Gateway API Gateway's listeners take with a route attached (a listener no
    route attaches to answers 404 or closes the connection: gatewayapi.listener_hosts with routed=True)."""
    listeners = ((gateway.get("spec") or {}) if isinstance(gateway.get("spec"), dict) else {}).get("listeners")
    listeners = listeners if isinstance(listeners, list) else []
    out: list[tuple[int | None, str]] = []
    for index, listener in enumerate(listeners):
        if not isinstance(listener, dict):
            continue
        others = {i for i in range(len(listeners)) if i != index}
        port = listener.get("port") if isinstance(listener.get("port"), int) else None
        out += [(port, host) for host, _ in gatewayapi.listener_hosts(gateway, routes, others, routed=True,
                                                                     namespace_labels=namespace_labels)]
    return out


# ---------------------------------------------------------------- what ASM's data plane uses
def asm_proxied_workloads_of(cluster: ClusterInventory, rules: mesh.ProxyRules, names: GatewaysConfig | None = None,
                             namespaces: Collection[str] | None = None) -> dict[tuple[str, str, str], AsmWorkload]:
    """asm_proxied_workloads, once per cluster and set of namespaces for every reader (istio-residue asks it from
    several categories, each of the namespaces of what it compares: mostly istio-system's)."""
    names = names or GatewaysConfig()
    spaces = None if namespaces is None else frozenset(namespaces)
    return dict(cluster.memo(("asm_proxied_workloads", id(rules), repr(names), spaces),
                             lambda: asm_proxied_workloads(cluster, rules, names, spaces)))


def asm_data_plane_uses(cluster: ClusterInventory, objects: list[tuple[str, dict[str, Any]]],
                        asm: dict[tuple[str, str, str], AsmWorkload],
                        gone: frozenset[tuple[str, str, str]] | set[tuple[str, str, str]] = frozenset()
                        ) -> dict[tuple[str, str, str], str]:
    """(kind, namespace, name) of `objects` ((kind, object) pairs) that ASM's data plane runs on -> why: the one
    statement of it, for purge-preview (what the purge must not delete) and istio-control-plane-removed / istio-residue
    (what is no leftover to delete). `asm`: asm_proxied_workloads' answer; `gone`: workloads deleted all the same (their
    reading of a ConfigMap does not count).

    - a webhook configuration one of whose webhooks calls ASM's istiod (mesh.istiod_owners): `istioctl tag set default
      --revision <ASM's revision>` writes one from the chart's revision-tags template with Istio's install labels
      (istioctl/pkg/tag/generate.go, manifests/charts/istio-control/istio-discovery/templates/revision-tags.yaml
      @1.24.6): the injection path into ASM goes with it;
    - a Deployment/DaemonSet that runs ASM's proxy (in `asm`);
    - a Service whose selector picks the pods of such a workload of its namespace: an Istio-installed
      `istio-ingressgateway` Service (manifests/charts/gateways/istio-ingress/templates/service.yaml @1.22.3..1.30.3)
      re-pointed at ASM's gateway holds the address ASM's gateway is reached at (the audit reads it as ASM's:
      gateway_services);
    - a ConfigMap read by such a workload of its namespace: a gateway applied from a copy of Istio's manifest mounts
      the mesh config `istio[-<rev>]` (templates/deployment.yaml @1.24.6, config-volume), which the istio-discovery
      chart renders with Istio's install labels (templates/configmap.yaml).
    """
    out: dict[tuple[str, str, str], str] = {}
    webhooks = [(kind, obj) for kind, obj in objects if kind.endswith("WebhookConfiguration")]
    owners = cluster.istiod_owners() if webhooks else {}
    for kind, obj in webhooks:
        meta = obj.get("metadata") or {}
        for hook in obj.get("webhooks") or ():
            service = ((hook.get("clientConfig") if isinstance(hook, dict) else None) or {}).get("service") or {}
            key = f"{service.get('namespace') or ''}/{service.get('name') or ''}" if isinstance(service, dict) \
                else ""
            owner, why = owners.get(key, (mesh.OWNER_UNPROVEN, ""))
            if owner == mesh.OWNER_ASM:
                out[(kind, "", meta.get("name", ""))] = Phrase(N_("its webhook {hook} calls {service}"),
                                                               hook=hook.get("name", ""), service=why)
                break
    by_namespace: dict[str, list[tuple[tuple[str, str, str], AsmWorkload]]] = {}
    for key, workload in asm.items():
        by_namespace.setdefault(key[1], []).append((key, workload))
    for kind, obj in objects:
        meta = obj.get("metadata") or {}
        key = (kind, meta.get("namespace", ""), meta.get("name", ""))
        if kind in ("Deployment", "DaemonSet") and key in asm:
            out[key] = asm[key].why
        elif kind == "Service":
            selector = (obj.get("spec") or {}).get("selector") or {}
            for (wkind, ns, name), workload in by_namespace.get(key[1], ()):
                if selects(selector, workload.pod_labels):
                    out[key] = Phrase(N_("selects the pods of {workload}, {why}"), workload=f"{wkind} {ns}/{name}",
                                      why=workload.why)
                    break
        elif kind == "ConfigMap":
            readers = [f"{wkind} {ns}/{name}" for (wkind, ns, name), workload in by_namespace.get(key[1], ())
                       if key[2] in workload.config_maps and (wkind, ns, name) not in gone]
            if readers:
                out[key] = Phrase(N_("read by {readers}, on ASM's proxy"), readers=", ".join(readers[:5]))
    return out


# ---------------------------------------------------------------- webhooks whose istiod cannot be told
_WEBHOOK_RESOURCES = {"MutatingWebhookConfiguration": "mutatingwebhookconfiguration",
                      "ValidatingWebhookConfiguration": "validatingwebhookconfiguration"}
# Shell comments in remediations: advice the reader reads, said in the report's language (render/localize.py).
SERVICE_OWNER_COMMENT = N_("ASM's managed istiod: no istiod Deployment behind it; an Istio remote's: Helm's or Istio's "
                           "labels, the address of the primary's istiod")
KEEP_IF_ASM_COMMENT = N_("keep it if it calls ASM's istiod (a revision tag set for ASM's revision); delete it only if "
                         "it calls Istio's:")
_WEBHOOK_CALLS = ("'{range .webhooks[*]}{.name}{\" \"}{.clientConfig.service.namespace}/"
                  "{.clientConfig.service.name}{\" \"}{.clientConfig.url}{\"\\n\"}{end}'")


@dataclass(frozen=True)
class UnprovenCall:
    """A webhook configuration one of whose webhooks calls an istiod that cannot be told Istio's: what it calls
    (`<namespace>/<service>` or a URL), why, and the read-only commands that show it."""

    webhook: str
    calls: Phrase
    why: Phrase | str  # istiod_owners' reason, or a Phrase of this module's
    service: str  # `<namespace>/<name>`, "" for a URL

    def commands(self, cluster: str, kind: str, name: str, *, comment: bool = False) -> list[str]:
        """The read-only commands that show what the webhook calls (and the Service, with the istiod Deployments);
        `comment`: as `# ...` lines kept one line each, to stand before a delete command."""
        lines = self._commands(cluster, kind, name)
        return [f"# {mesh.one_line(line)}" for line in lines] if comment else lines

    def _commands(self, cluster: str, kind: str, name: str) -> list[str]:
        kubectl = mesh.kubectl(cluster)
        out = [f"{kubectl} get {mesh.object_ref(_WEBHOOK_RESOURCES.get(kind, kind.lower()), name)} "
               f"-o jsonpath={_WEBHOOK_CALLS}"]
        if self.service:
            ns, _, svc = self.service.partition("/")
            out.append(f"{kubectl} get {mesh.object_ref('service', svc)} {mesh.ns_flag(ns)} -o yaml  "
                       f"# {SERVICE_OWNER_COMMENT}")
            out.append(f"{kubectl} get deployments -A -l app=istiod")
        return out


def unproven_webhook_calls(cluster: ClusterInventory, objects: list[tuple[str, dict[str, Any]]]
                           ) -> dict[tuple[str, str, str], UnprovenCall]:
    """(kind, "", name) of the webhook configurations among `objects` that asm_data_plane_uses does not call ASM's,
    one of whose webhooks calls what is not proven Istio's istiod -> the first such call. asm_data_plane_uses keeps
    only a webhook calling a Service istiod_owners proves ASM's; these are the rest it cannot clear:
    - a Service whose owner is OWNER_UNPROVEN or OWNER_CONFLICT: ASM's managed istiod-<rev> carries no published mark,
      and a revision tag `istioctl tag set default --revision <ASM's revision>` writes calling it carries Istio's
      install labels (revision-tags.yaml @1.24.6 hard-codes operator.istio.io/component "Pilot"), which makes the
      Service unproven (mesh._unlabelled_istiod_owner: called by Istio's injector);
    - a Service of another name than istiod[-<rev>] (or Services/Deployments not read); one that does not exist reaches
      no istiod at all (a leftover of Istio's whose istiod is gone);
    - a URL (clientConfig.url): `istioctl tag set` copies the canonical webhook's URL into the tag
      (tagWebhookConfigFromCanonicalWebhook, values.istiodRemote.injectionURL: istioctl/pkg/tag/generate.go @1.24.6),
      so a tag for a revision whose injector is reached by URL calls that injector by URL; Istio's remote and external
      control plane installs write istiodRemote.injectionURL (mutatingwebhook.yaml @1.24.6). A URL names no Service:
      whose istiod answers it is never proven here."""
    webhooks = [(kind, obj) for kind, obj in objects if kind.endswith("WebhookConfiguration")]
    if not webhooks:
        return {}
    owners = cluster.istiod_owners()
    asm = asm_data_plane_uses(cluster, webhooks, {})
    out: dict[tuple[str, str, str], UnprovenCall] = {}
    for kind, obj in webhooks:
        meta = obj.get("metadata") or {}
        key = (kind, "", str(meta.get("name") or ""))
        if key in asm:
            continue
        for hook in obj.get("webhooks") or ():
            client = (hook.get("clientConfig") if isinstance(hook, dict) else None) or {}
            if not isinstance(client, dict):
                continue
            hook_name = str(hook.get("name") or "")
            service = client.get("service")
            if isinstance(service, dict) and service.get("name"):
                target = f"{service.get('namespace') or ''}/{service['name']}"
                owner, why = owners.get(target, (mesh.OWNER_UNPROVEN, ""))
                if owner == mesh.OWNER_ISTIO:
                    continue
                if not why:
                    if not cluster.available(K.SERVICE) or not cluster.available(K.DEPLOYMENT):
                        why = Phrase(N_("the Services or Deployments that tell whose istiod it is were not read"))
                    elif cluster.get(K.SERVICE, str(service["name"]), str(service.get("namespace") or "")) is None:
                        continue  # no such Service: the webhook reaches no istiod, ASM's neither
                    else:
                        why = Phrase(N_("it is not an istiod[-<rev>] Service the audit can tell the owner of"))
                out[key] = UnprovenCall(hook_name, Phrase(N_("Service {service}"), service=target), why, target)
                break
            if client.get("url"):
                out[key] = UnprovenCall(hook_name, Phrase(N_("URL {url}"), url=mesh.sh_text(str(client["url"]))),
                                        Phrase(N_("a URL names no Service: whose istiod answers it cannot be told "
                                                  "here (a revision tag copies the URL of the revision's injector, "
                                                  "ASM's included)")), "")
                break
    return out


# ---------------------------------------------------------------- the policies istiod applies to a gateway's pods
# istiod applies to a proxy the AuthorizationPolicies, RequestAuthentications, EnvoyFilters and WasmPlugins of its
# own namespace and of the mesh's root namespace (meshConfig.rootNamespace, default istio-system) whose selector
# (EnvoyFilter: workloadSelector.labels) is a subset of its pod's labels, or that have none (istio/istio@1.24.6 and
# @1.30.3: pilot/pkg/model/authorization.go ListAuthorizationPolicies, authentication.go getConfigsForWorkload,
# push_context.go EnvoyFilters / WasmPluginsByListenerInfo, extensions.go MatchListener). A policy attached by
# targetRefs (targetRef before 1.22) applies only to the pods of the Gateway API Gateway it names (label
# gateway.networking.k8s.io/gateway-name, istio.io/gateway-name before), and such pods take selector policies too
# (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by default): policyattachment.go ShouldAttachPolicy (@1.30.3 also
# wants the policy in the pod's namespace; @1.24.6 does not: the looser one is read, so Istio's side is never
# under-counted). Istio's gateway gets the cluster's, ASM's gateway the ASM control plane's.
# Telemetry too (red21i: the access logs, tracing and metrics a gateway reports, which compliance may require), but
# istiod takes a Telemetry with a selector or targetRefs from the proxy's own namespace only, and of the root namespace
# only the namespace-wide one (pilot/pkg/model/telemetry.go applicableTelemetries @1.24.6). Not PeerAuthentication
# (its mTLS mode builds sidecars' inbound listeners only: authn InboundMTLSSettings in listener_inbound.go; a
# gateway's servers take their TLS from the Gateway) nor Sidecar (a gateway always has the default scope:
# push_context.go getSidecarScope, "Gateways always use default sidecar scope").
GATEWAY_POLICY_KINDS: tuple[Kind, ...] = (K.AUTHORIZATIONPOLICY, K.REQUESTAUTHENTICATION, K.ENVOYFILTER, K.WASMPLUGIN,
                                          K.TELEMETRY)
_ATTACHMENT_FIELDS = frozenset({"selector", "workloadSelector", "targetRef", "targetRefs"})
_GATEWAY_API_GROUP = "gateway.networking.k8s.io"
_POLICIES_VIEW = "gateway_policies"


@dataclass(frozen=True)
class GatewayPolicy:
    """One policy of GATEWAY_POLICY_KINDS as istiod attaches it: `selector` the labels it selects (None: every pod of
    the namespaces it reaches), `targets` its targetRefs as (group, kind, name, namespace), `key` its spec without the
    fields that attach it (what a counterpart on the other control plane must equal)."""

    kind: str
    namespace: str
    name: str
    selector: tuple[tuple[str, str], ...] | None
    targets: tuple[tuple[str, str, str, str], ...]
    key: str
    going: bool = False   # metadata.deletionTimestamp set: kept by finalizers, on its way out
    revision: str = ""    # its istio.io/rev label: served only to that revision's istiod (LabelsInRevision)

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.targets:
            out["targetRefs"] = [{"group": g, "kind": k, "name": n, **({"namespace": ns} if ns else {})}
                                 for g, k, n, ns in self.targets]
        else:
            out["selector"] = dict(self.selector or ())
        return out


def _gateway_policy(kind: Kind, obj: dict[str, Any]) -> GatewayPolicy | None:
    """None for what guards no gateway of the user's: an object without a spec, and what Istio's installer made (its
    per-release telemetry EnvoyFilters, objects labelled operator.istio.io/component): ASM brings its own."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(meta, dict):
        return None
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if "operator.istio.io/component" in labels:
        return None
    if kind is K.ENVOYFILTER:
        if installer_telemetry_release(obj) is not None:
            return None
        holder = spec.get("workloadSelector")
        selected = holder.get("labels") if isinstance(holder, dict) else None
    else:
        holder = spec.get("selector")
        selected = holder.get("matchLabels") if isinstance(holder, dict) else None
    selector = (tuple(sorted((str(k), str(v)) for k, v in selected.items())) if isinstance(selected, dict)
                else None)
    refs = spec.get("targetRefs")
    if not isinstance(refs, list) or not refs:
        refs = [spec["targetRef"]] if isinstance(spec.get("targetRef"), dict) else []
    targets = tuple((str(r.get("group") or ""), str(r.get("kind") or ""), str(r.get("name") or ""),
                     str(r.get("namespace") or "")) for r in refs if isinstance(r, dict))
    compared = {k: v for k, v in spec.items() if k not in _ATTACHMENT_FIELDS}
    if kind is K.TELEMETRY:
        # One that only switches telemetry off guards nothing the gateway loses with it; `disabled: false` and empty
        # lists are what an unwritten field means (istio/api telemetry/v1 telemetry.proto: bool and repeated fields).
        entries = [e for field in ("accessLogging", "tracing", "metrics") for e in _listed(compared.get(field))]
        if entries and all(isinstance(e, dict) and e.get("disabled") is True for e in entries):
            return None
        compared = _without_unset(compared)
    if kind is K.AUTHORIZATIONPOLICY and not compared.get("action"):
        compared["action"] = "ALLOW"  # the API's default (istio/api security/v1beta1 authorization.proto: ALLOW = 0)
    key = json.dumps(compared, sort_keys=True, default=str)
    return GatewayPolicy(kind.kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""), selector, targets,
                         key, bool(meta.get("deletionTimestamp")), str(labels.get("istio.io/rev") or ""))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _without_unset(value: Any) -> Any:
    """A Telemetry spec without what equals an unwritten field: `disabled: false`, empty lists and mappings."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "disabled" and item is False:
                continue
            item = _without_unset(item)
            if item in ([], {}, None):
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_without_unset(item) for item in value]
    return value


class _PolicyIndex:
    """The policies of one inventory by (kind, namespace), as objects; judged (_gateway_policy: the spec key's JSON)
    only for the namespaces asked (a gateway's and the root namespaces): a cluster's thousands of app-namespace
    AuthorizationPolicies are never serialised. `spec_index` looks counterparts up by spec over given namespaces."""

    def __init__(self, raw: dict[tuple[Kind, str], list[dict[str, Any]]], unread: dict[str, str]) -> None:
        self._raw = raw
        self.unread = unread  # kind -> why it was not read
        self._judged: dict[tuple[str, str], list[GatewayPolicy]] = {}
        self._by_spec: dict[tuple[str, frozenset[str]], dict[str, list[GatewayPolicy]]] = {}

    def policies(self, kind: Kind, namespace: str) -> list[GatewayPolicy]:
        key = (kind.kind, namespace)
        found = self._judged.get(key)
        if found is None:
            found = self._judged[key] = [p for obj in self._raw.get((kind, namespace), ())
                                         if (p := _gateway_policy(kind, obj)) is not None]
        return found

    def by_spec(self, kind: Kind, namespaces: Collection[str]) -> dict[str, list[GatewayPolicy]]:
        """The policies of `kind` in `namespaces` by their spec key."""
        key = (kind.kind, frozenset(namespaces))
        found = self._by_spec.get(key)
        if found is None:
            found = self._by_spec[key] = {}
            for namespace in sorted(key[1]):
                for policy in self.policies(kind, namespace):
                    found.setdefault(policy.key, []).append(policy)
        return found


def _policy_index(inv: ClusterInventory) -> _PolicyIndex:
    """The policies of one inventory, indexed once by kind and namespace (a gateway asks for two namespaces)."""

    def build() -> _PolicyIndex:
        raw: dict[tuple[Kind, str], list[dict[str, Any]]] = {}
        unread: dict[str, str] = {}
        for kind in GATEWAY_POLICY_KINDS:
            if not inv.available(kind):  # a CRD not served was read: none
                unread[kind.kind] = inv.unread_reason(kind)
                continue
            for obj in inv.objects(kind):
                meta = obj.get("metadata")
                namespace = str(meta.get("namespace") or "") if isinstance(meta, dict) else ""
                raw.setdefault((kind, namespace), []).append(obj)
        return _PolicyIndex(raw, unread)

    return inv.memo(_POLICIES_VIEW, build)


def policy_applies(policy: GatewayPolicy, namespace: str, labels: dict[str, str], roots: Collection[str]) -> bool:
    """Whether istiod applies the policy to a pod of `namespace` with these labels, the mesh's root namespace(s) being
    `roots` (ShouldAttachPolicy, above)."""
    if policy.namespace != namespace and policy.namespace not in roots:
        return False
    if policy.kind == K.TELEMETRY.kind and policy.namespace != namespace and (policy.selector or policy.targets):
        return False  # a root namespace's Telemetry reaches other namespaces only without selector or targetRefs
    selected = all(labels.get(k) == v for k, v in policy.selector or ())
    gateway = next((labels[k] for k in GATEWAY_API_NAME_LABELS if labels.get(k)), None)
    if gateway is None or not policy.targets:
        return selected and not (gateway is None and policy.targets)
    return any(group == _GATEWAY_API_GROUP and kind == "Gateway" and name == gateway and ns in ("", namespace)
               for group, kind, name, ns in policy.targets)


def asm_root_namespace(config: Any) -> str:
    """ASM's root namespace: the config's asm.mesh_config rootNamespace, else istio-system (ASM's own)."""
    mesh_config = getattr(getattr(config, "asm", None), "mesh_config", None)
    root = mesh_config.get("rootNamespace") if isinstance(mesh_config, dict) else None
    return root if isinstance(root, str) and root else "istio-system"


def istio_root_namespaces(cluster: ClusterInventory) -> frozenset[str]:
    """Istio's root namespaces, one per istiod revision whose mesh config was read; istio-system (istiod's default)
    where none was read."""
    return frozenset(istio_roots(cluster)) or frozenset({"istio-system"})


@dataclass(frozen=True)
class PolicyParity:
    """Of the policies istiod applies to an Istio gateway's pods: `missing`, those with no counterpart applying to an
    ASM gateway's pods on the ASM control plane (the same kind and spec but what attaches it); `untold`, those whose
    counterpart cannot be looked for (the kind not read there); `unread`, what was not read that would tell
    ("<where> <kind> (<why>)")."""

    missing: tuple[GatewayPolicy, ...] = ()
    untold: tuple[GatewayPolicy, ...] = ()
    unread: tuple[str, ...] = ()


def gateway_policy_parity(cluster: ClusterInventory, asm: ClusterInventory | None, istio_gw: GatewayWorkload,
                          asm_gw: GatewayWorkload, istio_roots: Collection[str], asm_root: str) -> PolicyParity:
    """Each policy the cluster's istiod applies to `istio_gw`'s pods must have a counterpart ASM's istiod applies to
    `asm_gw`'s pods: one of the ASM control plane of the same kind whose spec equals it but for its selector,
    workloadSelector or targetRefs (the same policy where its selector picks both), AuthorizationPolicy's action
    ALLOW whether written or not. A counterpart being deleted is none; one labelled istio.io/rev (served only to that
    revision, whose name on ASM no object read shows: istio-config-imported's AA2132) leaves the policy untold.
    Looked up by spec: no walk of policies x pods."""
    mine = _policy_index(cluster)
    theirs = _policy_index(asm) if asm is not None else None
    unread = [f"the cluster's {kind} ({why})" for kind, why in mine.unread.items()]
    applying = [(kind, p) for kind in GATEWAY_POLICY_KINDS if kind.kind not in mine.unread
                for namespace in sorted({istio_gw.namespace, *istio_roots})
                for p in mine.policies(kind, namespace)
                if policy_applies(p, istio_gw.namespace, istio_gw.pod_labels, istio_roots)]
    missing: list[GatewayPolicy] = []
    untold: list[GatewayPolicy] = []
    reach = (asm_gw.namespace, asm_root)  # the namespaces whose policies ASM's istiod applies to its gateway's pods
    for kind, policy in applying:
        if theirs is None or policy.kind in theirs.unread:
            why = "no ASM control plane given" if theirs is None else (
                f"ASM's {policy.kind} ({theirs.unread[policy.kind]})")
            if why not in unread:
                unread.append(why)
            untold.append(policy)
        else:
            counterparts = [other for other in theirs.by_spec(kind, reach).get(policy.key, ())
                            if not other.going and policy_applies(other, asm_gw.namespace, asm_gw.pod_labels,
                                                                  (asm_root,))]
            if not counterparts:
                missing.append(policy)
            elif all(other.revision for other in counterparts):
                why = "ASM's counterparts labelled istio.io/rev (served to that revision only)"
                if why not in unread:
                    unread.append(why)
                untold.append(policy)
    return PolicyParity(tuple(missing), tuple(untold), tuple(unread))
