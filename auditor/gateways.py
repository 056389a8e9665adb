"""Finding gateways in a data-plane cluster: Istio's (ingress, egress, east-west) and ASM's.

Selected by labels first (`istio: ingressgateway|egressgateway|eastwestgateway`), then by the
configured names; ASM gateways (IstioGateway-made, ASM proxy image or asm.alibabacloud.com markers)
are told apart so that they are never mistaken for Istio's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.config import GatewaysConfig
from auditor.inventory import ClusterInventory

INGRESS, EGRESS, EASTWEST = "ingress", "egress", "eastwest"
_LABEL_TO_TYPE = {"ingressgateway": INGRESS, "egressgateway": EGRESS, "eastwestgateway": EASTWEST}
EASTWEST_PORTS = (15443, 15008)
ASM_MARKER = "asm.alibabacloud.com"
# ASM's gateway Deployments/Services carry their IstioGateway type (ingress | egress | cross-network).
ASM_GATEWAY_TYPE_LABEL = "asm.alibabacloud.com/gateway-type"
# Alibaba Cloud CCM annotations for a shared CLB; the older `alicloud-` spelling is still honoured.
_CCM = "service.beta.kubernetes.io/"
LB_ID_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-id", _CCM + "alicloud-loadbalancer-id")
LB_WEIGHT_ANNOTATIONS = (_CCM + "alibaba-cloud-loadbalancer-weight", _CCM + "alicloud-loadbalancer-weight")
# CCM labels a Service with the CLB it created or reuses: the only trace of an auto-created CLB.
LB_ID_LABEL = "service.k8s.alibaba/loadbalancer-id"


@dataclass(frozen=True)
class GatewayWorkload:
    type: str          # ingress | egress | eastwest
    namespace: str
    name: str          # Deployment name (= Prometheus source_workload)
    asm: bool          # True when ASM manages it
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    reason: str = ""   # why it was classified so
    pod_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # template labels


def _has_asm_marker(meta: dict[str, Any]) -> bool:
    keys = [*(meta.get("labels") or {}), *(meta.get("annotations") or {})]
    return any(ASM_MARKER in k for k in keys) or any(
        ref.get("kind") == "IstioGateway" for ref in meta.get("ownerReferences") or ())


def _gateway_template(dep: dict[str, Any], proxy: dict[str, Any] | None) -> bool:
    """The pod template is a gateway's: `proxy router`, or Helm's gateway injection template (image auto)."""
    if proxy is None:
        return False
    annotations = (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}
    return (mesh.is_gateway_proxy(proxy) or proxy.get("image") == "auto"
            or annotations.get("inject.istio.io/templates") == "gateway")


def _template_proxy(dep: dict[str, Any]) -> dict[str, Any] | None:
    spec = (((dep.get("spec") or {}).get("template") or {}).get("spec")) or {}
    container, _ = mesh.find_proxy_container(spec)
    return container


def normalise_gateway_type(value: Any) -> str | None:
    """ASM's `spec.gatewayType` (ingress | egress | cross-network) as INGRESS / EGRESS / EASTWEST.

    The API's constant is `cross-network`; the CRD does not validate the field, so case and separator
    variants seen in hand-written manifests (`CrossNetwork`, `cross_network`, `crossnetwork`) count too.
    """
    text = re.sub(r"[\s_\-]", "", str(value or "")).lower()
    if text in ("ingress", "ingressgateway"):
        return INGRESS
    if text in ("egress", "egressgateway"):
        return EGRESS
    if text in ("crossnetwork", "crossnetworkgateway"):
        return EASTWEST
    return None


def gateway_type_of(labels: dict[str, str], name: str, names: GatewaysConfig) -> str | None:
    asm_type = normalise_gateway_type(labels.get(ASM_GATEWAY_TYPE_LABEL))
    if asm_type:
        return asm_type
    label = labels.get("istio", "")
    if label in _LABEL_TO_TYPE:
        return _LABEL_TO_TYPE[label]
    by_name = {names.istio_ingress: INGRESS, names.istio_egress: EGRESS, names.istio_eastwest: EASTWEST}
    if name in by_name:
        return by_name[name]
    if names.asm_egress and name in (names.asm_egress, f"istio-{names.asm_egress}"):
        return EGRESS
    if names.asm_ingress and name in (names.asm_ingress, f"istio-{names.asm_ingress}"):
        return INGRESS
    return None


def _renamed_gateway_type(labels: dict[str, str], name: str) -> str | None:
    """Renamed gateways keep the role in the label or name (istio=internal-ingressgateway, x-egressgateway)."""
    for text in (labels.get("istio", ""), name):
        for token, gtype in _LABEL_TO_TYPE.items():
            if token in text:
                return gtype
    return None


def gateway_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules,
                      names: GatewaysConfig | None = None) -> list[GatewayWorkload]:
    """Every gateway Deployment of the cluster, Istio's and ASM's (see `.asm`). Needs Deployments."""
    names = names or GatewaysConfig()
    # Many checks and gates ask; one scan of the Deployments per cluster (tens of thousands at scale).
    return list(cluster.memo(("gateway_workloads", id(rules), repr(names)),
                             lambda: _gateway_workloads(cluster, rules, names)))


def _gateway_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules,
                       names: GatewaysConfig) -> list[GatewayWorkload]:
    out = []
    for dep in cluster.objects(K.DEPLOYMENT):
        meta = dep.get("metadata") or {}
        tmpl_labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
        labels = {**(meta.get("labels") or {}), **tmpl_labels}
        proxy = _template_proxy(dep)
        gtype = gateway_type_of(labels, meta.get("name", ""), names)
        if gtype is None and _gateway_template(dep, proxy):
            # Only a template that itself runs `proxy router` is trusted on a partial name match.
            gtype = _renamed_gateway_type(labels, meta.get("name", ""))
        if gtype is None:
            continue
        image = (proxy or {}).get("image") or ""
        asm = _has_asm_marker(meta) or (bool(image) and rules.is_asm(image, mesh.env_map(proxy or {})))
        if proxy is not None and not mesh.is_gateway_proxy(proxy) and not asm and image:
            # A sidecar-injected app that happens to carry the label is not a gateway.
            args = proxy.get("args") or []
            if args and "router" not in args:
                continue
        why = "ASM marker/image" if asm else f"label istio={labels.get('istio', '')} / name"
        out.append(GatewayWorkload(gtype, meta.get("namespace", ""), meta.get("name", ""), asm, labels, why,
                                   dict(tmpl_labels)))
    return out


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
    signals = [f"Deployment {g.namespace}/{g.name}" for g in istio_gateways(cluster, rules, names)
               if g.type == EASTWEST]
    for svc in cluster.objects(K.SERVICE):
        meta = svc.get("metadata") or {}
        if _has_asm_marker(meta):
            continue
        labels = meta.get("labels") or {}
        ports = {p.get("port") for p in (svc.get("spec") or {}).get("ports") or ()}
        if "topology.istio.io/network" in labels and ports & set(EASTWEST_PORTS):
            signals.append(f"Service {meta.get('namespace')}/{meta.get('name')} "
                           f"(network {labels['topology.istio.io/network']}, port "
                           f"{sorted(ports & set(EASTWEST_PORTS))[0]})")
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

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def lb_id(self) -> str | None:
        return first_annotation(self.annotations, LB_ID_ANNOTATIONS) or self.labels.get(LB_ID_LABEL) or None

    @property
    def lb_weight(self) -> str | None:
        return first_annotation(self.annotations, LB_WEIGHT_ANNOTATIONS)


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
    gateways = gateway_workloads(cluster, rules, names)
    out = []
    for svc in cluster.objects(K.SERVICE):
        meta = svc.get("metadata") or {}
        selector = (svc.get("spec") or {}).get("selector") or {}
        if not selector:
            continue
        for gw in gateways:
            if gw.namespace == meta.get("namespace") and all(
                    gw.pod_labels.get(k) == v for k, v in selector.items()):
                out.append(GatewayService(gw, meta.get("namespace", ""), meta.get("name", ""),
                                          dict(meta.get("annotations") or {}), dict(meta.get("labels") or {})))
                break
    return out


# ---------------------------------------------------------------- hosts
def host_fqdn(host: str, namespace: str) -> str:
    """A destination host as Istio resolves it: a dot-less short name is relative to the rule's namespace."""
    host = (host or "").strip().lower().rstrip(".")
    if host and "." not in host and "*" not in host:
        return f"{host}.{namespace}.svc.cluster.local"
    return host


def refers_to_service(host: str, rule_namespace: str, name: str, namespace: str) -> bool:
    """Whether a VirtualService destination host names Service namespace/name (any short form)."""
    fqdn = host_fqdn(host, rule_namespace)
    parts = fqdn.split(".")
    if len(parts) < 2 or parts[0] != name.lower() or parts[1] != namespace.lower():
        return False
    rest = parts[2:]
    # name.ns, name.ns.svc, name.ns.svc.<cluster domain>
    return not rest or rest[0] == "svc"


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
    annotations: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    overrides: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def workload_name(self) -> str:
        return f"istio-{self.name}"

    def service_annotations(self, cluster_id: str | None) -> dict[str, str]:
        """Annotations the gateway's Service gets in one cluster (spec.overrides[<cluster id>] wins)."""
        merged = {str(k): str(v) for k, v in self.annotations.items()}
        override = (self.overrides.get(cluster_id) or {}) if cluster_id else {}
        merged.update({str(k): str(v) for k, v in (override.get("serviceAnnotations") or {}).items()})
        return merged

    def covers(self, cluster_id: str | None) -> bool | None:
        """True/False for a known cluster id; None when it cannot be told (clusterIds set, id unknown)."""
        if not self.cluster_ids:
            return True  # no clusterIds: the gateway is deployed to every cluster of the mesh
        if not cluster_id:
            return None
        return cluster_id in self.cluster_ids


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
            annotations=dict(spec.get("serviceAnnotations") or {}),
            overrides=dict(spec.get("overrides") or {}),
        ))
    return out
