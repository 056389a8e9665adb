"""Finding gateways in a data-plane cluster: Istio's (ingress, egress, east-west) and ASM's.

Selected by labels first (`istio: ingressgateway|egressgateway|eastwestgateway`), then by the
configured names; ASM gateways (IstioGateway-made, ASM proxy image or asm.alibabacloud.com markers)
are told apart so that they are never mistaken for Istio's.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class GatewayWorkload:
    type: str          # ingress | egress | eastwest
    namespace: str
    name: str          # Deployment name (= Prometheus source_workload)
    asm: bool          # True when ASM manages it
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    reason: str = ""   # why it was classified so


def _has_asm_marker(meta: dict[str, Any]) -> bool:
    keys = [*(meta.get("labels") or {}), *(meta.get("annotations") or {})]
    return any(ASM_MARKER in k for k in keys) or any(
        ref.get("kind") == "IstioGateway" for ref in meta.get("ownerReferences") or ())


def _template_proxy(dep: dict[str, Any]) -> dict[str, Any] | None:
    spec = (((dep.get("spec") or {}).get("template") or {}).get("spec")) or {}
    container, _ = mesh.find_proxy_container(spec)
    return container


def gateway_type_of(labels: dict[str, str], name: str, names: GatewaysConfig) -> str | None:
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


def gateway_workloads(cluster: ClusterInventory, rules: mesh.ProxyRules,
                      names: GatewaysConfig | None = None) -> list[GatewayWorkload]:
    """Every gateway Deployment of the cluster, Istio's and ASM's (see `.asm`). Needs Deployments."""
    names = names or GatewaysConfig()
    out = []
    for dep in cluster.objects(K.DEPLOYMENT):
        meta = dep.get("metadata") or {}
        tmpl_labels = ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
        labels = {**(meta.get("labels") or {}), **tmpl_labels}
        gtype = gateway_type_of(labels, meta.get("name", ""), names)
        if gtype is None:
            continue
        proxy = _template_proxy(dep)
        image = (proxy or {}).get("image") or ""
        asm = _has_asm_marker(meta) or (bool(image) and rules.is_asm(image, mesh.env_map(proxy or {})))
        if proxy is not None and not mesh.is_gateway_proxy(proxy) and not asm and image:
            # A sidecar-injected app that happens to carry the label is not a gateway.
            args = proxy.get("args") or []
            if args and "router" not in args:
                continue
        why = "ASM marker/image" if asm else f"label istio={labels.get('istio', '')} / name"
        out.append(GatewayWorkload(gtype, meta.get("namespace", ""), meta.get("name", ""), asm, labels, why))
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
            servers = (gw.get("spec") or {}).get("servers") or ()
            if any(((s.get("tls") or {}).get("mode")) == "AUTO_PASSTHROUGH" for s in servers):
                meta = gw.get("metadata") or {}
                signals.append(f"Gateway {meta.get('namespace')}/{meta.get('name')} (AUTO_PASSTHROUGH)")
    return signals
