"""Which Gateway API (gateway.networking.k8s.io) objects of a cluster Istio serves.

Facts from istio/istio (pilot/pkg/config/kube/gatewaycommon/classinfo.go, gatewayclass.go,
manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml, 1.16's
pilot/pkg/config/kube/gateway/templates/): istiod creates the GatewayClasses `istio`
(controllerName istio.io/gateway-controller), `istio-waypoint` (istio.io/mesh-controller), `istio-remote`
(istio.io/unmanaged-gateway), `istio-east-west` (istio.io/eastwest-controller) and, from 1.29 with agentgateway
enabled, `istio-agentgateway` (istio.io/agentgateway-controller; classinfo.go @1.30.3), with no labels. For each
Gateway of its classes it deploys a Deployment and a Service named `<gateway>-<class>` (the bare gateway name
before 1.17 and for waypoints), labelled `gateway.istio.io/managed: istio.io-gateway-controller` (waypoints:
istio.io-mesh-controller) and `gateway.networking.k8s.io/gateway-name` (before 1.17 the pods carry
`istio.io/gateway-name`), owned by the Gateway. Routes attach to a Gateway through `spec.parentRefs` (group
gateway.networking.k8s.io and kind Gateway by default, namespace the route's own), or to a Service (mesh
routes, which Istio serves to its sidecars).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.errors import EvidenceUnavailable
from auditor.inventory import ClusterInventory
from auditor.kinds import Kind

GROUP = "gateway.networking.k8s.io"
ISTIO_CONTROLLER_PREFIX = "istio.io/"
# Created by istiod itself: they count as Istio's even before (or without) their GatewayClass object.
BUILTIN_CLASSES = ("istio", "istio-waypoint", "istio-remote", "istio-east-west", "istio-agentgateway")
MANAGED_LABEL = mesh.MANAGED_BY_CONTROLLER_LABEL  # gateway.istio.io/managed: which istiod controller made it
MANAGED_VALUE_PREFIX = "istio.io-"  # istio.io-gateway-controller, istio.io-mesh-controller, ...
GATEWAY_NAME_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name")
# The DNS domain istiod names Services with unless run with another `--domain` (constants.DefaultClusterLocalDomain).
DEFAULT_DOMAIN = "cluster.local"


def display(kind: Kind) -> str:
    """`HTTPRoute.gateway.networking.k8s.io`: never confused with Istio's Gateway (networking.istio.io)."""
    return f"{kind.kind}.{kind.group}" if kind.group == GROUP else kind.kind


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _ref(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclass
class IstioGatewayApi:
    """The Gateway API objects of one cluster that Istio serves, and why the others were left out."""

    served: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # kind key -> objects
    skipped: list[str] = field(default_factory=list)                         # not Istio's, with the reason
    undecided: dict[str, list[str]] = field(default_factory=dict)            # kind key -> "ns/name: why"
    gateway_classes: dict[str, str] = field(default_factory=dict)            # Gateway ns/name -> class


def class_is_istio(name: str, classes: dict[str, dict[str, Any]] | None) -> bool | None:
    """Whether a GatewayClass is Istio's: its controllerName, else istiod's built-in names; None = cannot tell.

    `classes` is None when the GatewayClasses could not be read.
    """
    obj = (classes or {}).get(name)
    if obj is not None:
        return str((obj.get("spec") or {}).get("controllerName") or "").startswith(ISTIO_CONTROLLER_PREFIX)
    if name in BUILTIN_CLASSES:
        return True
    return False if classes is not None else None


def _classes(cluster: ClusterInventory) -> tuple[dict[str, dict[str, Any]] | None, str]:
    try:
        return {_meta(o).get("name", ""): o for o in cluster.objects(K.K8S_GATEWAYCLASS)}, ""
    except EvidenceUnavailable as exc:
        return None, exc.reason


def istio_gateway_api(cluster: ClusterInventory) -> IstioGatewayApi:
    """Istio's Gateways (by class), the routes attached to them or to Services, the ReferenceGrants they use.

    An unreadable kind raises EvidenceUnavailable when that kind is asked for (`objects_of`).
    """
    return cluster.memo(("istio_gateway_api",), lambda: _select(cluster))


def objects_of(selection: IstioGatewayApi, kind: Kind) -> list[dict[str, Any]]:
    if kind.key not in selection.served:
        raise EvidenceUnavailable(selection.undecided.get(kind.key, [f"{kind.kind} objects were not read"])[0],
                                  kind=kind.kind)
    return selection.served[kind.key]


def _select(cluster: ClusterInventory) -> IstioGatewayApi:
    out = IstioGatewayApi()
    classes, classes_error = _classes(cluster)
    try:
        gateways = cluster.objects(K.K8S_GATEWAY)
    except EvidenceUnavailable as exc:
        gateways = None
        out.undecided[K.K8S_GATEWAY.key] = [exc.reason]
    istio_gateways: set[tuple[str, str]] = set()
    unsure_gateways: dict[tuple[str, str], str] = {}
    if gateways is not None:
        chosen, unsure = [], []
        for gw in gateways:
            meta = _meta(gw)
            key = (meta.get("namespace", ""), meta.get("name", ""))
            gw_class = str((gw.get("spec") or {}).get("gatewayClassName") or "")
            out.gateway_classes[_ref(gw)] = gw_class
            verdict = class_is_istio(gw_class, classes)
            if verdict is None:
                unsure_gateways[key] = gw_class
                unsure.append(f"{_ref(gw)}: GatewayClass {gw_class!r} cannot be read ({classes_error})")
            elif verdict:
                istio_gateways.add(key)
                chosen.append(gw)
            else:
                out.skipped.append(f"Gateway.{GROUP} {_ref(gw)} (class {gw_class!r}: not Istio's)")
        if unsure:
            out.undecided[K.K8S_GATEWAY.key] = [f"cannot tell whether {len(unsure)} Gateway(s) are Istio's: "
                                                + "; ".join(unsure[:5])]
        else:
            out.served[K.K8S_GATEWAY.key] = chosen
    used_from: set[tuple[str, str]] = {(K.K8S_GATEWAY.kind, ns) for ns, _ in istio_gateways}
    for kind in K.K8S_ROUTE_KINDS:
        try:
            routes = cluster.objects(kind)
        except EvidenceUnavailable as exc:
            out.undecided[kind.key] = [exc.reason]
            continue
        if routes and gateways is None:
            out.undecided[kind.key] = [f"{len(routes)} {kind.kind}(s) cannot be told Istio's or not: "
                                       f"{out.undecided[K.K8S_GATEWAY.key][0]}"]
            continue
        chosen, unsure = [], []
        for route in routes:
            verdict, why = _route_is_istio(route, istio_gateways, unsure_gateways)
            if verdict is None:
                unsure.append(f"{_ref(route)}: {why}")
            elif verdict:
                chosen.append(route)
                used_from.add((kind.kind, _meta(route).get("namespace", "")))
            else:
                out.skipped.append(f"{kind.kind}.{GROUP} {_ref(route)} ({why})")
        if unsure:
            out.undecided[kind.key] = [f"cannot tell whether {len(unsure)} {kind.kind}(s) are Istio's: "
                                       + "; ".join(unsure[:5])]
        else:
            out.served[kind.key] = chosen
    try:
        grants = cluster.objects(K.K8S_REFERENCEGRANT)
    except EvidenceUnavailable as exc:
        out.undecided[K.K8S_REFERENCEGRANT.key] = [exc.reason]
    else:
        chosen = []
        for grant in grants:
            sources = {(str(f.get("kind") or ""), str(f.get("namespace") or ""))
                       for f in (grant.get("spec") or {}).get("from") or () if (f.get("group") or "") == GROUP}
            if sources & used_from:
                chosen.append(grant)
            else:
                out.skipped.append(f"ReferenceGrant.{GROUP} {_ref(grant)} (grants nothing to an Istio Gateway or "
                                   "route)")
        if any(k in out.undecided for k in (K.K8S_GATEWAY.key, *(r.key for r in K.K8S_ROUTE_KINDS))) and grants:
            out.undecided[K.K8S_REFERENCEGRANT.key] = [
                f"{len(grants)} ReferenceGrant(s) cannot be told Istio's or not while the Gateways or routes they "
                "may serve are undecided"]
        else:
            out.served[K.K8S_REFERENCEGRANT.key] = chosen
    return out


def _route_is_istio(route: dict[str, Any], istio_gateways: set[tuple[str, str]],
                    unsure_gateways: dict[tuple[str, str], str]) -> tuple[bool | None, str]:
    """A route is Istio's when one of its parents is an Istio Gateway or a Service (mesh route)."""
    namespace = _meta(route).get("namespace", "")
    parents = (route.get("spec") or {}).get("parentRefs") or ()
    unsure = ""
    others = []
    for ref in parents:
        group = ref.get("group", GROUP)
        kind = ref.get("kind") or "Gateway"
        target = (ref.get("namespace") or namespace, str(ref.get("name") or ""))
        if kind == "Service" and group in ("", "core"):
            return True, "mesh route (parent Service)"
        if group == GROUP and kind == "Gateway":
            if target in istio_gateways:
                return True, "parent Gateway is Istio's"
            if target in unsure_gateways:
                unsure = f"parent Gateway {target[0]}/{target[1]} has an unreadable class"
                continue
        others.append(f"{kind} {target[0]}/{target[1]}")
    if unsure:
        return None, unsure
    return False, ("parents not Istio's: " + ", ".join(others[:3])) if others else "no parentRefs"


def managed_by_istio(meta: dict[str, Any]) -> bool:
    """A Deployment/Service istiod's Gateway API controller deployed (label gateway.istio.io/managed)."""
    return str((meta.get("labels") or {}).get(MANAGED_LABEL) or "").startswith(MANAGED_VALUE_PREFIX)


def owning_gateway(meta: dict[str, Any]) -> str | None:
    """Name of the Gateway API Gateway that owns this object (ownerReferences, else its gateway-name label)."""
    for ref in meta.get("ownerReferences") or ():
        if ref.get("kind") == "Gateway" and str(ref.get("apiVersion") or "").startswith(GROUP + "/"):
            return str(ref.get("name") or "")
    labels = meta.get("labels") or {}
    return next((str(labels[k]) for k in GATEWAY_NAME_LABELS if labels.get(k)), None)



def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") if isinstance(obj, dict) else None
    return spec if isinstance(spec, dict) else {}

def _host(value: Any) -> str:
    return str(value or "").strip().lower().rstrip(".")


def _terminates_tls(listener: dict[str, Any]) -> bool:
    """HTTPS, or TLS with tls.mode Terminate (the default): a listener whose clients need its certificate."""
    tls = listener.get("tls") or {}
    mode = (tls.get("mode") if isinstance(tls, dict) else None) or "Terminate"
    return str(listener.get("protocol") or "") in ("HTTPS", "TLS") and mode == "Terminate"


# The route kinds a listener takes when its allowedRoutes.kinds says none (gateway-api apis/v1 gateway_types.go
# AllowedRoutes.Kinds: "the kinds supported by the listener's protocol"; istio/istio@1.24.6 pilot/pkg/config/kube/
# gateway/conversion.go allowedRoutes: HTTP/HTTPS -> HTTPRoute, GRPCRoute; TLS -> TLSRoute (and TCPRoute where it
# terminates); TCP -> TCPRoute).
_DEFAULT_ROUTE_KINDS = {"HTTP": {"HTTPRoute", "GRPCRoute"}, "HTTPS": {"HTTPRoute", "GRPCRoute"},
                        "TLS": {"TLSRoute", "TCPRoute"}, "TCP": {"TCPRoute"}, "UDP": {"UDPRoute"}}


def route_attaches(route: dict[str, Any], gateway: dict[str, Any], listener: dict[str, Any],
                   namespace_labels: Callable[[str], dict[str, str] | None] | None = None) -> bool:
    """Whether a route attaches to one listener of a Gateway (gateway-api route attachment, apis/v1 shared_types.go
    ParentReference: sectionName and port narrow it to a listener; gateway_types.go AllowedRoutes: namespaces.from Same
    by default, All, or Selector over the route namespace's labels, and the route kinds the listener allows). A
    Selector whose namespace labels are not known (`namespace_labels` None or answering None) attaches nothing: what is
    not shown attached serves no host here. A route of no `kind` (a live list's items carry none) is not judged by
    it."""
    meta = _meta(gateway)
    gateway_ns, gateway_name = meta.get("namespace", ""), meta.get("name", "")
    route_ns = _meta(route).get("namespace", "")
    allowed = listener.get("allowedRoutes") if isinstance(listener.get("allowedRoutes"), dict) else {}
    kinds = allowed.get("kinds")
    route_kind = str(route.get("kind") or "")
    if route_kind:
        if isinstance(kinds, list) and kinds:
            taken = {str(k.get("kind")) for k in kinds if isinstance(k, dict) and (k.get("group") or GROUP) == GROUP}
        else:
            taken = _DEFAULT_ROUTE_KINDS.get(str(listener.get("protocol") or ""), set())
        if route_kind not in taken:
            return False
    namespaces = allowed.get("namespaces") if isinstance(allowed.get("namespaces"), dict) else {}
    origin = namespaces.get("from") or "Same"
    if origin == "Same":
        if route_ns != gateway_ns:
            return False
    elif origin == "Selector":
        from auditor.idle import selector_matches  # here: idle reads this module's neighbours

        labels = namespace_labels(route_ns) if namespace_labels is not None else None
        if labels is None or selector_matches(namespaces.get("selector"), labels) is not True:
            return False
    elif origin != "All":
        return False
    for ref in _spec(route).get("parentRefs") or ():
        if not isinstance(ref, dict) or (ref.get("group") or GROUP) != GROUP or (ref.get("kind") or "Gateway") != \
                "Gateway" or str(ref.get("name") or "") != gateway_name or (ref.get("namespace") or route_ns) != \
                gateway_ns:
            continue
        section, port = ref.get("sectionName"), ref.get("port")
        if section is not None and str(section) != str(listener.get("name") or ""):
            continue
        if port is not None and port != listener.get("port"):
            continue
        return True
    return False


def listener_hosts(gateway: dict[str, Any], routes: list[dict[str, Any]],
                   skip: frozenset[int] | set[int] = frozenset(), *, routed: bool = False,
                   namespace_labels: Callable[[str], dict[str, str] | None] | None = None) -> list[tuple[str, bool]]:
    """(host, terminates TLS) a Gateway's listeners take requests for (the listeners of index `skip` left out): each
    listener's hostname; a listener without one takes the hostnames of the routes attached to it (route_attaches; `*`
    when they name none). `routed`: a listener no route attaches to takes none (it answers 404 or closes the
    connection: gateway-api's route attachment). gateway-api apis/v1 gateway_types.go Listener.Hostname ("not
    specified: all hostnames match") and httproute_types.go Hostnames (intersected with the listener's);
    istio/istio@1.24.6 pilot/pkg/config/kube/gateway/conversion.go turns each listener into a server of that host."""
    out: set[tuple[str, bool]] = set()
    for index, listener in enumerate(_spec(gateway).get("listeners") or ()):
        if not isinstance(listener, dict) or index in skip:
            continue
        attached = [r for r in routes if route_attaches(r, gateway, listener, namespace_labels)]
        if routed and not attached:
            continue
        host = _host(listener.get("hostname"))
        names = [_host(h) for r in attached for h in _spec(r).get("hostnames") or () if _host(h)]
        secure = _terminates_tls(listener)
        out.update((h, secure) for h in ([host] if host else (names or ["*"])))
    return sorted(out)


def bound_services(gateway: dict[str, Any], domain: str = DEFAULT_DOMAIN) -> list[tuple[str, str]]:
    """(name, namespace) in lower case of the Services whose pods a Gateway binds to instead of istiod deploying one for
    it: its spec.addresses of type Hostname (or of no type beside another address; a short name is a Service of the
    Gateway's namespace). Empty for a Gateway istiod deploys (no address, or one of no type or type IPAddress:
    IsManaged, extractGatewayServices, istio/istio@1.24.6 pilot/pkg/config/kube/gateway/conversion.go). ASM deploys no
    gateway for a Gateway: it binds to a pre-deployed ASM gateway this way (help.aliyun.com, "Define routing rules
    with Gateway API").

    Only a Service of the Gateway's own namespace, named by the registry's hostname: istiod applies a bound Gateway to
    a proxy only for a Service whose hostname is an address *and* whose namespace is the Gateway's (the
    `si.Service.Attributes.Namespace == cfg.Namespace` test of PushContext.mergeGateways, pilot/pkg/model/
    push_context.go, istio/istio@1.20.0 to @1.30.3), and its registry names Services `name.namespace.svc.<domain>`
    with the one domain istiod runs with (`--domain`, cluster.local by default: pilot-discovery's cmd.go)."""
    addresses = _spec(gateway).get("addresses")
    if not addresses or not isinstance(addresses, list):
        return []
    if len(addresses) == 1 and (not isinstance(addresses[0], dict) or addresses[0].get("type") in (None, "IPAddress")):
        return []
    namespace = str(_meta(gateway).get("namespace") or "").lower()
    suffix = f".svc.{_host(domain)}"
    out = []
    for addr in addresses:
        if not isinstance(addr, dict) or addr.get("type") not in (None, "Hostname"):
            continue  # istiod ignores them (InvalidAddress)
        value = _host(addr.get("value"))
        # istiod expands a dot-less value into the Gateway's namespace and looks anything else up as a Service's full
        # hostname (extractGatewayServices @1.24.6): `name.namespace` binds nothing.
        if value and "." not in value:
            out.append((value, namespace))
        elif value.endswith(suffix) and value[:-len(suffix)].count(".") == 1:
            name, service_namespace = value[:-len(suffix)].split(".")
            if service_namespace == namespace:
                out.append((name, service_namespace))
    return out


def _grants_secret(grants: list[dict[str, Any]], proxy_namespace: str, secret_namespace: str, secret: str) -> bool:
    """A ReferenceGrant of the Secret's namespace lets Gateways of the proxy's namespace use it (SecretAllowed,
    istio/istio@1.24.6 pilot/pkg/config/kube/gateway/model.go: from Gateway of the proxy's namespace, to Secret)."""
    for grant in grants:
        if _meta(grant).get("namespace", "") != secret_namespace:
            continue
        spec = _spec(grant)
        if not any(isinstance(f, dict) and f.get("group") == GROUP and f.get("kind") == "Gateway"
                   and f.get("namespace") == proxy_namespace for f in spec.get("from") or ()):
            continue
        if any(isinstance(t, dict) and (t.get("group") or "") == "" and t.get("kind") == "Secret"
               and (not t.get("name") or t.get("name") == secret) for t in spec.get("to") or ()):
            return True
    return False


def listeners_denied_certificates(gateway: dict[str, Any], proxy_namespace: str,
                                  grants: list[dict[str, Any]] | None) -> tuple[set[int], list[str]] | None:
    """The indexes of a Gateway's TLS-terminating listeners whose certificateRefs a gateway proxy of `proxy_namespace`
    is never served, and those Secrets (namespace/name); None when that depends on ReferenceGrants not read. A
    certificateRef becomes a kubernetes-gateway:// credential that istiod serves only when verified: the Gateway and
    the Secret both in the proxy's namespace, or a ReferenceGrant of the Secret's namespace from Gateways of the proxy's
    namespace (mergeGateways, pilot/pkg/model/gateway.go; filterAuthorizedResources, pilot/pkg/xds/sds.go;
    SecretAllowed, pilot/pkg/config/kube/gateway/model.go; istio/istio@1.24.6). The Gateway's own namespace gives no
    right to the proxy of another."""
    namespace = str(_meta(gateway).get("namespace") or "")
    denied: set[int] = set()
    secrets: list[str] = []
    for index, listener in enumerate(_spec(gateway).get("listeners") or ()):
        if not isinstance(listener, dict) or not _terminates_tls(listener):
            continue
        tls = listener.get("tls")
        for ref in (tls.get("certificateRefs") or () if isinstance(tls, dict) else ()):
            if not isinstance(ref, dict) or (ref.get("group") or "") != "" or (ref.get("kind") or "Secret") != "Secret":
                continue
            secret_ns, secret = str(ref.get("namespace") or namespace), str(ref.get("name") or "")
            if namespace == proxy_namespace and secret_ns == proxy_namespace:
                continue
            if grants is None:
                return None
            if not _grants_secret(grants, proxy_namespace, secret_ns, secret):
                denied.add(index)
                secrets.append(f"{secret_ns}/{secret}")
    return denied, sorted(set(secrets))
