"""Istio gateways found by what they are, whatever their labels, through the real engine.

Shapes, and where they come from (istio/istio):
- Helm chart `istio/gateway` (manifests/charts/gateway, 1.12+): `helm install istio-ingress istio/gateway -n
  istio-ingress` gives a Deployment named after the release with selector labels `app: istio-ingress`,
  `istio: ingress` (the release name without "istio-"), Helm labels (`app.kubernetes.io/managed-by: Helm`,
  `helm.sh/chart: gateway-<v>`), pod annotations `inject.istio.io/templates: gateway` and
  `sidecar.istio.io/inject: "true"`, one container `istio-proxy` with `image: auto`; values `kind: DaemonSet`
  makes a DaemonSet. Injected pods run `pilot-agent proxy router` (files/gateway-injection-template.yaml).
- istioctl / IstioOperator gateways (manifests/charts/gateways/istio-ingress): labels `istio: ingressgateway`,
  `operator.istio.io/component: IngressGateways`, the full proxy container rendered at install time
  (args `proxy router`), not injected.
- Gateway API (pilot/pkg/config/kube/gateway, kube-gateway injection template): istiod deploys
  `<gateway>-istio` labelled `gateway.networking.k8s.io/gateway-name: <gateway>` and
  `gateway.istio.io/managed: istio.io-gateway-controller`; waypoints add `istio.io/waypoint-for`.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from auditor import gateways as G
from auditor import kinds as K
from auditor.config import Config, GatewaysConfig
from auditor.engine import run_audit
from auditor.mesh import ProxyRules
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.checks.conftest import NOW, Audit

PRESENT = "asm-gateways-present"
TRAFFIC = "istio-gateway-traffic"
XDS = "pods-xds-agent"
IDS = {"asm": {"cluster_ids": {"cluster-a": "c-a"}}}
# The Service ASM's controller creates beside the istio-<name> Deployment of an IstioGateway (spec.serviceType, here
# LoadBalancer): without it nothing reaches ASM's gateway (asm-gateways-present AA1726, fix22p).
ASM_SERVICE = f.gateway_service("istio-ingressgateway")


def helm_gateway(release: str, namespace: str, *, kind: str = "Deployment", version: str = "1.24.2",
                 pods: int = 1, xds: str | None = "true") -> list[dict[str, Any]]:
    """`helm install <release> istio/gateway -n <namespace>`: the workload, its Service, its injected pods."""
    selector = {"app": release, "istio": release.removeprefix("istio-")}
    helm = {"app.kubernetes.io/name": release, "app.kubernetes.io/instance": release,
            "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/version": version,
            "app.kubernetes.io/part-of": "istio", "helm.sh/chart": f"gateway-{version}", **selector}
    dep, rs = f.deployment(release, namespace, replicas=pods, template_labels={**selector,
                           "sidecar.istio.io/inject": "true"},
                           template_annotations={"inject.istio.io/templates": "gateway",
                                                 "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
                           containers=[{"name": "istio-proxy", "image": "auto",
                                        "ports": [{"containerPort": 15090, "name": "http-envoy-prom"}]}],
                           labels=helm)
    dep["metadata"]["annotations"] = {"meta.helm.sh/release-name": release,
                                      "meta.helm.sh/release-namespace": namespace}
    dep["spec"]["selector"] = {"matchLabels": selector}
    svc = f.service(release, namespace, labels=helm, type_="LoadBalancer",
                    ports=[{"name": "status-port", "port": 15021, "targetPort": 15021},
                           {"name": "http2", "port": 80, "targetPort": 80},
                           {"name": "https", "port": 443, "targetPort": 443}])
    svc["metadata"]["annotations"] = dict(dep["metadata"]["annotations"])  # Helm annotates every object of a release
    svc["spec"]["selector"] = selector
    injected = f.workload_pods((dep, rs), pods, proxy="istio", gateway=True, xds_agent=xds,
                               image=f"docker.io/istio/proxyv2:{version}")
    if kind == "DaemonSet":
        dep["kind"] = "DaemonSet"
        for p in injected:
            p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": release,
                                                 "uid": dep["metadata"]["uid"], "controller": True}]
        return [dep, svc, *injected]
    return [dep, rs, svc, *injected]


def gateway_api(gateway: str, namespace: str, *, waypoint: bool = False) -> list[dict[str, Any]]:
    """The Deployment istiod makes for a Gateway API Gateway of class istio (or a waypoint)."""
    name = gateway if waypoint else f"{gateway}-istio"
    labels = {"gateway.networking.k8s.io/gateway-name": gateway,
              "gateway.istio.io/managed": "istio.io-gateway-controller"}
    if waypoint:
        labels["istio.io/waypoint-for"] = "service"
        labels["gateway.networking.k8s.io/gateway-class-name"] = "istio-waypoint"
    dep, rs = f.deployment(name, namespace, replicas=1, template_labels={**labels, "sidecar.istio.io/inject": "true"},
                           template_annotations={"inject.istio.io/templates": "gateway"},
                           containers=[{"name": "istio-proxy", "image": "auto"}], labels=labels)
    return [dep, rs]


def custom_gateway(name: str, namespace: str, label: str) -> list[dict[str, Any]]:
    """A gateway Deployment written by hand after Istio's docs ("Deploying a gateway"): image auto."""
    dep, rs = f.deployment(name, namespace, replicas=1,
                           template_labels={"istio": label, "sidecar.istio.io/inject": "true"},
                           template_annotations={"inject.istio.io/templates": "gateway"},
                           containers=[{"name": "istio-proxy", "image": "auto"}], labels={"app": name})
    dep["spec"]["selector"] = {"matchLabels": {"istio": label}}
    return [dep, rs]


def istio_gateway_object(name: str, namespace: str, selector: dict, *, passthrough: bool = False) -> dict:
    server: dict[str, Any] = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*.example.com"],
                              "tls": {"mode": "SIMPLE", "credentialName": "example-cert"}}
    if passthrough:
        server = {"port": {"number": 15443, "name": "tls", "protocol": "TLS"}, "hosts": ["*.local"],
                  "tls": {"mode": "AUTO_PASSTHROUGH"}}
    return f.istio_object("Gateway", name, namespace, {"selector": selector, "servers": [server]})


def cluster(*objs: Any) -> list[dict]:
    return [f.namespace("istio-system"), f.namespace("istio-ingress"), f.namespace("edge"), f.istiod(), *objs]


def kinds_found(a) -> dict[str, str]:
    c = a.result.inventory.data_planes[0]
    return {f"{g.namespace}/{g.name}": g.type for g in G.istio_gateways(c, ProxyRules(), GatewaysConfig())}


# ---------------------------------------------------------------- gateways no default label names
def test_helm_gateway_chart_release_istio_ingress_is_judged(audit):
    a = audit({"cluster-a": cluster(*helm_gateway("istio-ingress", "istio-ingress"))}, "uninstall",
              asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"istio-ingress/istio-ingress": "ingress"}
    assert [(r["status"], r["namespace"], r["name"]) for r in a.rows(PRESENT)] == [
        ("FAIL", "istio-ingress", "istio-ingress")]
    assert [(r["status"], r["name"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "istio-ingress")]
    assert a.result.verdict == "NO-GO"


def test_helm_gateway_chart_daemonset_is_judged(audit):
    a = audit({"cluster-a": cluster(*helm_gateway("istio-ingressgateway", "istio-system", kind="DaemonSet"))},
              "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"istio-system/istio-ingressgateway": "ingress"}
    assert [(r["status"], r["kind"]) for r in a.rows(PRESENT)] == [("FAIL", "DaemonSet")]


def test_helm_gateway_replaced_by_asm_ingress_passes(audit):
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]
    objs = cluster(*helm_gateway("istio-ingress", "istio-ingress"),
                   f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress"), ASM_SERVICE)
    a = audit({"cluster-a": objs}, "uninstall", asm=asm, config=IDS)
    assert [(r["status"], r["name"]) for r in a.rows(PRESENT)] == [("PASS", "istio-ingress")]


def test_custom_gateway_role_from_the_gateway_selecting_it(audit):
    objs = cluster(*custom_gateway("edge-gw", "edge", "edge-gw"),
                   istio_gateway_object("public", "edge", {"istio": "edge-gw"}))
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/edge-gw": "ingress"}
    assert a.statuses(PRESENT) == ["FAIL"]


def test_custom_gateway_role_egress_from_a_mesh_bound_virtualservice(audit):
    """gw14 pinned egress on the `mesh` binding alone (a VirtualService with no routes). Since gwrole14 the binding only
    supports egress: the route bound to the Gateway sends out of the cluster (api.example.com, which no Service answers
    to), as in Istio's egress-gateway task. With no route at all the role is not told (unknown, not a guess)."""
    out = {"match": [{"gateways": ["outbound"], "port": 443}],
           "route": [{"destination": {"host": "api.example.com", "port": {"number": 443}}}]}
    objs = cluster(*custom_gateway("outbound", "edge", "outbound"),
                   istio_gateway_object("outbound", "edge", {"istio": "outbound"}),
                   f.virtualservice("ext", "edge", hosts=["api.example.com"], gateways=["outbound", "mesh"], tcp=[out]))
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/outbound": "egress"}
    objs = cluster(*custom_gateway("outbound", "edge", "outbound"),
                   istio_gateway_object("outbound", "edge", {"istio": "outbound"}),
                   f.virtualservice("ext", "edge", hosts=["api.example.com"], gateways=["outbound", "mesh"]))
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/outbound": "unknown"}


def test_custom_gateway_role_eastwest_from_auto_passthrough(audit):
    objs = cluster(*custom_gateway("xnet", "edge", "xnet"),
                   istio_gateway_object("cross", "edge", {"istio": "xnet"}, passthrough=True))
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/xnet": "eastwest"}


def test_gateway_of_unknown_role_is_still_judged(audit):
    a = audit({"cluster-a": cluster(*custom_gateway("gw-7", "edge", "gw-7"))}, "uninstall",
              asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/gw-7": "unknown"}
    assert [(r["status"], r["name"], r["code"]) for r in a.rows(PRESENT)] == [("FAIL", "gw-7", "AA1711")]
    assert [(r["status"], r["name"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "gw-7")]


def test_gateway_of_unknown_role_with_asm_gateways_asks_to_confirm(audit):
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]
    asm_deployment = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    a = audit({"cluster-a": cluster(*custom_gateway("gw-7", "edge", "gw-7"), asm_deployment)}, "uninstall", asm=asm,
              config=IDS)
    assert [(r["status"], r["severity"], r["code"]) for r in a.rows(PRESENT)] == [("WARN", "major", "AA1723")]
    # declared for the cluster but not deployed: it serves nothing, so nothing replaces gw-7 (gwx16: was WARN AA1723)
    a = audit({"cluster-a": cluster(*custom_gateway("gw-7", "edge", "gw-7"))}, "uninstall", asm=asm, config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1711")]


def test_gateway_api_deployment_is_an_istio_gateway(audit):
    a = audit({"cluster-a": cluster(*gateway_api("web", "edge"))}, "uninstall", asm=[f.migration_cr("Migrating")],
              config=IDS)
    assert kinds_found(a) == {"edge/web-istio": "ingress"}
    assert a.statuses(PRESENT) == ["FAIL"]


def test_waypoint_is_not_a_gateway_to_replace(audit):
    a = audit({"cluster-a": cluster(*gateway_api("waypoint", "edge", waypoint=True))}, "uninstall",
              asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {}
    rows = a.rows(PRESENT)
    assert [r["status"] for r in rows] == ["NOT_APPLICABLE"]
    assert "proxy router" in rows[0]["message"]  # N/A says what it looked for


def test_router_pods_without_a_gateway_workload_are_reported(audit):
    """A bare pod running `proxy router` (no Deployment/DaemonSet): never silently left out."""
    bare = f.pod("ingress-debug", "edge", proxy="istio", gateway=True, labels={"app": "ingress-debug"})
    a = audit({"cluster-a": cluster(bare)}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows(PRESENT)] == [("UNKNOWN", "AA1731")]
    assert [(r["status"], r["code"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "AA1531")]
    assert a.result.verdict != "GO"


def test_sidecar_app_with_a_gateway_label_is_not_a_gateway(audit):
    dep, rs = f.deployment("ingressgateway-ui", "shop", template_labels={"app": "ui", "istio": "ingressgateway"},
                           containers=[{"name": "app", "image": "registry.example.com/ui:1"},
                                       f.proxy_container("istio")])
    a = audit({"cluster-a": cluster(dep, rs)}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {}


# ---------------------------------------------------------------- remediation by installer
def xds_remediation(a, name: str) -> str:
    return next(r["remediation"] for r in a.rows(XDS) if r["name"] == name)


def test_istioctl_gateway_lacking_xds_agent_gets_install_not_restart(audit):
    dep = f.gateway_deployment("istio-ingressgateway")
    h = dep["metadata"]["name"] + "-" + "abc12"
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": f.meta(h, "istio-system", {"app": "x"},
          ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "istio-ingressgateway",
                            "controller": True, "uid": dep["metadata"]["uid"]}])}
    pod = f.pod(f"{h}-q7x2z", "istio-system", proxy="istio", gateway=True, xds_agent=None,
                owner=("ReplicaSet", h), labels={"app": "istio-ingressgateway", "istio": "ingressgateway"})
    a = audit({"cluster-a": cluster(dep, rs, pod)}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")])
    text = xds_remediation(a, "istio-ingressgateway")
    assert "set env deployment/istio-ingressgateway PROXY_CONFIG_XDS_AGENT=true" in text
    assert "istioctl" in text and "install -f" in text
    assert "rollout restart" not in text
    assert {r["code"] for r in a.rows(XDS) if r["name"] == "istio-ingressgateway"} == {"AA1112"}


def test_helm_chart_gateway_lacking_xds_agent_is_restarted(audit):
    objs = cluster(*helm_gateway("istio-ingress", "istio-ingress", xds=None))
    a = audit({"cluster-a": objs}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")])
    assert "rollout restart deployment/istio-ingress" in xds_remediation(a, "istio-ingress")
    assert [(r["code"], r["severity"]) for r in a.rows(XDS) if r["name"] == "istio-ingress"] == [("AA1111", "major")]


@pytest.mark.parametrize("labels,name,expected", [
    ({"istio": "ingress"}, "istio-ingress", "ingress"),
    ({"istio": "egress"}, "istio-egress", "egress"),
    ({"istio": "eastwest"}, "istio-eastwest", "eastwest"),
    ({"istio": "gw"}, "corp-egress-proxy", "egress"),
    ({"istio": "gw"}, "gw", None),
])
def test_role_tokens(labels, name, expected):
    assert G._renamed_gateway_type(labels, name) == expected


def test_asm_gateway_pods_are_not_unrecognised_istio_gateways(audit):
    """ASM's gateway (IstioGateway-made, ASM proxy) with a label no rule names: nothing to replace."""
    dep = f.gateway_deployment("istio-asm-ingressgateway", asm=True)
    h = "istio-asm-ingressgateway-7c9d8"
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": f.meta(h, "istio-system", {"app": "x"},
          ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "istio-asm-ingressgateway",
                            "controller": True, "uid": dep["metadata"]["uid"]}])}
    pod = f.pod(f"{h}-k2m4p", "istio-system", proxy="asm", gateway=True, owner=("ReplicaSet", h),
                labels={"app": "istio-asm-ingressgateway", "istio": "asm-ingressgateway"})
    a = audit({"cluster-a": cluster(dep, rs, pod)}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert a.statuses(PRESENT) == ["NOT_APPLICABLE"]


def test_custom_gateway_role_eastwest_from_its_network_service(audit):
    """Istio's multicluster docs (samples/multicluster/gen-eastwest-gateway.sh) expose the east-west gateway
    through a Service labelled topology.istio.io/network on 15443; here with a custom name and label."""
    svc = f.gateway_service("xnet", "edge", labels={"app": "xnet", "topology.istio.io/network": "network-1"},
                            selector={"istio": "xnet"}, ports=[15021, 15443])
    other = f.gateway_service("xnet-other", "istio-system", labels={"topology.istio.io/network": "network-1"},
                              selector={"istio": "xnet"}, ports=[15443])  # same selector, other namespace: not it
    a = audit({"cluster-a": cluster(*custom_gateway("xnet", "edge", "xnet"), other)}, "uninstall",
              asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/xnet": "unknown"}
    b = audit({"cluster-a": cluster(*custom_gateway("xnet", "edge", "xnet"), svc)}, "uninstall",
              asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(b) == {"edge/xnet": "eastwest"}


# ---------------------------------------------------------------- ambient waypoints, as each Istio release writes them
AMBIENT = "ambient-mode"
GWAPI_V1 = "gateway.networking.k8s.io/v1"
# The proxy args of istiod's waypoint template (manifests/charts/istio-control/istio-discovery/files/waypoint.yaml,
# the same from 1.20.8 to 1.28.10), rendered with the chart's defaults.
WAYPOINT_ARGS = ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--serviceCluster",
                 "{name}.$(POD_NAMESPACE)", "--proxyLogLevel", "warning", "--proxyComponentLogLevel", "misc:error",
                 "--log_output_level", "default:info"]


def waypoint_gateway(name: str, namespace: str, class_name: str = "istio-waypoint") -> dict[str, Any]:
    """A waypoint Gateway written by hand (Istio's ambient docs' YAML, no `istioctl waypoint`): no waypoint-for
    label, so none reaches the Deployment istiod makes for it."""
    return {"apiVersion": GWAPI_V1, "kind": "Gateway", "metadata": f.meta(name, namespace, generation=1),
            "spec": {"gatewayClassName": class_name,
                     "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}


# The Istio releases whose istiod labels a waypoint's Deployment with its class (testdata/deployment/waypoint.yaml:
# not at 1.22.8, 1.24.6, 1.26.8; at 1.28.10).
CLASS_LABELLED = {"1.24.6": False, "1.28.10": True}


def owned_by_gateway(gateway: dict[str, Any], dep: dict[str, Any], labels: dict[str, str], ports: list[int],
                     type_: str = "LoadBalancer") -> dict[str, Any]:
    """What istiod's templates do to each Deployment they make for a Gateway (kube-gateway.yaml, waypoint.yaml,
    agentgateway.yaml): select its pods by gateway-name, own it by the Gateway; and the Service beside it, of the
    Deployment's name and labels, owned likewise. Returns the Service."""
    gw_meta = gateway["metadata"]
    selector = {"gateway.networking.k8s.io/gateway-name": gw_meta["name"]}
    dep["spec"]["selector"] = {"matchLabels": dict(selector)}
    owner = [{"apiVersion": GWAPI_V1, "kind": "Gateway", "name": gw_meta["name"], "uid": gw_meta["uid"]}]
    dep["metadata"]["ownerReferences"] = owner
    svc = f.gateway_service(dep["metadata"]["name"], gw_meta["namespace"], selector=selector, labels=labels,
                            ports=ports, type_=type_)
    svc["metadata"]["ownerReferences"] = owner
    return svc


def istiod_waypoint(gateway: dict[str, Any], version: str, *, pods: int = 2, network: str = "") -> list[dict[str, Any]]:
    """The Deployment, ReplicaSet, Service and pods istiod makes for a waypoint Gateway, shaped as
    pilot/pkg/config/kube/gateway/testdata/deployment/waypoint.yaml at the tag `version` (1.24.6 / 1.28.10):
    Deployment named after the Gateway, labels gateway.istio.io/managed: istio.io-mesh-controller and
    gateway.networking.k8s.io/gateway-name (+ the Gateway's own labels: none here); from 1.28 also
    gateway.networking.k8s.io/gateway-class-name: the Gateway's class (istio-waypoint). With `network` (istiod's
    global.network) the Deployment, its pods and its Service carry topology.istio.io/network (deploymentcontroller.go
    @1.24.6 adds it to a waypoint's infrastructure labels; the testdata's network-1); without, none.
    """
    gw_meta = gateway["metadata"]
    name, namespace = gw_meta["name"], gw_meta["namespace"]
    labels = {"gateway.istio.io/managed": "istio.io-mesh-controller", "gateway.networking.k8s.io/gateway-name": name}
    if network:
        labels["topology.istio.io/network"] = network
    if CLASS_LABELLED[version]:
        labels["gateway.networking.k8s.io/gateway-class-name"] = gateway["spec"]["gatewayClassName"]
    pod_labels = {**labels, "istio.io/dataplane-mode": "none", "service.istio.io/canonical-name": name,
                  "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    annotations = {"istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus",
                   "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}
    image = f"docker.io/istio/proxyv2:{version}"
    args = [a.format(name=name) for a in WAYPOINT_ARGS]
    proxy = f.proxy_container("istio", xds_agent=None, image=image)
    proxy["args"] = list(args)
    dep, rs = f.deployment(name, namespace, replicas=pods, template_labels=pod_labels,
                           template_annotations=annotations, containers=[proxy], labels=labels, grace=2)
    svc = owned_by_gateway(gateway, dep, labels, [15021, 15008], type_="ClusterIP")
    waypoint_pods = f.workload_pods((dep, rs), pods, proxy="istio", gateway=True, xds_agent=None, image=image,
                                    annotations=annotations, grace=2)
    for p in waypoint_pods:
        [container] = p["spec"]["containers"]
        container["args"] = list(args)
    return [dep, rs, svc, *waypoint_pods]


def kube_gateway_1_24(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment and Service istiod 1.24 makes for a Gateway of class istio, shaped as
    pilot/pkg/config/kube/gateway/testdata/deployment/simple.yaml @1.24.6: `<gateway>-istio`, no class label,
    `proxy router`."""
    gw_meta = gateway["metadata"]
    gw_name, namespace = gw_meta["name"], gw_meta["namespace"]
    name = f"{gw_name}-istio"
    labels = {"gateway.istio.io/managed": "istio.io-gateway-controller",
              "gateway.networking.k8s.io/gateway-name": gw_name}
    pod_labels = {**labels, "istio.io/dataplane-mode": "none", "service.istio.io/canonical-name": name,
                  "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    proxy = f.proxy_container("istio", gateway=True, xds_agent=None, image="docker.io/istio/proxyv2:1.24.6")
    dep, rs = f.deployment(name, namespace, replicas=1, template_labels=pod_labels, containers=[proxy], labels=labels)
    svc = owned_by_gateway(gateway, dep, labels, [15021, 80])
    return [dep, rs, svc]


def waypoint_cluster(version: str) -> list[dict[str, Any]]:
    """istiod `version`, a namespace using a hand-written waypoint Gateway and what that istiod made for it; no
    ztunnel, no ambient namespace: the waypoint is the one ambient signal."""
    gw = waypoint_gateway("waypoint", "shop")
    return [f.namespace("istio-system"), f.namespace("shop", {"istio.io/use-waypoint": "waypoint"}),
            f.istiod(version=version), f.gateway_class("istio-waypoint"), gw, *istiod_waypoint(gw, version)]


@pytest.mark.parametrize("version", sorted(CLASS_LABELLED))
def test_a_waypoint_istiod_made_is_an_ambient_signal(audit, version):
    """Istio 1.22-1.26 label a waypoint's Deployment without its class: its `proxy waypoint` says what it is."""
    [row] = audit({"cluster-a": waypoint_cluster(version)}, "assessment", config=IDS).rows(AMBIENT)
    assert (row["status"], row["code"]) == ("FAIL", "AA0510")
    assert row["evidence"]["signals"] == ["Deployment shop/waypoint (waypoint proxy)"]


@pytest.mark.parametrize("version", sorted(CLASS_LABELLED))
def test_a_waypoint_istiod_made_is_not_a_gateway_to_replace(audit, version):
    a = audit({"cluster-a": waypoint_cluster(version)}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {}
    assert [r["status"] for r in a.rows(PRESENT)] == ["NOT_APPLICABLE"]


def test_a_1_24_gateway_api_ingress_beside_a_waypoint_is_still_a_gateway(audit):
    waypoint, web = waypoint_gateway("waypoint", "shop"), f.k8s_gateway("web", "edge")
    objects = [f.namespace("istio-system"), f.namespace("edge"), f.namespace("shop"), f.istiod(version="1.24.6"),
               f.gateway_class("istio"), f.gateway_class("istio-waypoint"), web, *kube_gateway_1_24(web), waypoint,
               *istiod_waypoint(waypoint, "1.24.6")]
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/web-istio": "ingress"}
    assert [(r["status"], r["namespace"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "edge", "web-istio")]


def test_a_waypoint_on_a_network_is_no_east_west_gateway(audit):
    """On a network (global.network set) istiod labels a waypoint's Service topology.istio.io/network and it serves
    HBONE on 15008 (testdata/deployment/waypoint.yaml @1.24.6: network-1): an east-west gateway's marks. It is the
    ambient data plane's (ambient-mode FAILs on it), not a gateway between networks (main: an east-west signal, so
    eastwest-gateway-options asked for ASM's advanced option)."""
    gw = waypoint_gateway("waypoint", "shop")
    objects = [f.namespace("istio-system"), f.namespace("shop"), f.istiod(version="1.24.6"),
               f.gateway_class("istio-waypoint"), gw, *istiod_waypoint(gw, "1.24.6", network="network-1")]
    a = audit({"cluster-a": objects}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("NOT_APPLICABLE", "AA0840")]
    [row] = audit({"cluster-a": objects}, "assessment", config=IDS).rows(AMBIENT)
    assert (row["status"], row["code"]) == ("FAIL", "AA0510")


def test_a_waypoint_of_a_class_of_its_own_is_a_waypoint(audit):
    """A GatewayClass of the user's naming whose controllerName is Istio's mesh controller (istio.io/mesh-controller):
    the class's controller picks the template (deploymentcontroller.go @1.28.10: classInfos[controller], "waypoint"
    for the mesh controller), and the Deployment carries the class's own name (custom-class.yaml @1.28.10:
    gateway-class-name: custom) beside the mesh controller's label and `proxy waypoint` (waypoint.yaml @1.28.10). A
    waypoint: the ambient data plane is in use, and it is no gateway to replace (main: a class label other than
    istio-waypoint decided "not a waypoint": an Istio ingress gateway asking for an ASM ingress gateway, and
    ambient-mode PASSed: a false GO)."""
    gw = waypoint_gateway("waypoint", "shop", class_name="shop-waypoint")
    objects = [f.namespace("istio-system"), f.namespace("shop", {"istio.io/use-waypoint": "waypoint"}),
               f.istiod(version="1.28.10"), f.gateway_class("shop-waypoint", "istio.io/mesh-controller"), gw,
               *istiod_waypoint(gw, "1.28.10")]
    [row] = audit({"cluster-a": objects}, "assessment", config=IDS).rows(AMBIENT)
    assert (row["status"], row["code"]) == ("FAIL", "AA0510")
    assert row["evidence"]["signals"] == ["Deployment shop/waypoint (waypoint proxy)"]
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {}
    assert [r["status"] for r in a.rows(PRESENT)] == ["NOT_APPLICABLE"]


# ---------------------------------------------------------------- ambient's east-west gateway (1.27 on)
def ambient_eastwest(version: str) -> list[dict[str, Any]]:
    """The Gateway of class istio-east-west and what istiod makes for it, shaped as
    pilot/pkg/config/kube/gateway/testdata/deployment/istio-east-west.yaml at `version` (1.27.9 / 1.28.10): the
    east-west controller's label (gateway.istio.io/managed: istio.io-eastwest-controller), network-1, a LoadBalancer
    Service on 15021/15008, and a proxy running `proxy waypoint` (the waypoint template); the class label from 1.28."""
    name, namespace = "eastwestgateway", "istio-system"
    gateway = f.k8s_gateway(name, namespace, "istio-east-west")
    gateway["spec"]["listeners"] = [{"name": "mesh", "port": 15008, "protocol": "HBONE",
                                     "tls": {"mode": "Terminate", "options": {"gateway.istio.io/tls-terminate-mode":
                                                                              "ISTIO_MUTUAL"}}}]
    labels = {"gateway.istio.io/managed": "istio.io-eastwest-controller",
              "gateway.networking.k8s.io/gateway-name": name, "topology.istio.io/network": "network-1"}
    if version == "1.28.10":
        labels["gateway.networking.k8s.io/gateway-class-name"] = "istio-east-west"
    pod_labels = {**labels, "istio.io/dataplane-mode": "none", "service.istio.io/canonical-name": name,
                  "service.istio.io/canonical-revision": "latest", "sidecar.istio.io/inject": "false"}
    image = f"docker.io/istio/proxyv2:{version}"
    args = [a.format(name=name) for a in WAYPOINT_ARGS]
    proxy = f.proxy_container("istio", xds_agent=None, image=image)
    proxy["args"] = list(args)
    dep, rs = f.deployment(name, namespace, replicas=1, template_labels=pod_labels, containers=[proxy], labels=labels)
    svc = owned_by_gateway(gateway, dep, labels, [15021, 15008])
    pods = f.workload_pods((dep, rs), 1, proxy="istio", gateway=True, xds_agent=None, image=image)
    for p in pods:
        [container] = p["spec"]["containers"]
        container["args"] = list(args)
    return [f.gateway_class("istio-east-west", "istio.io/eastwest-controller"), gateway, dep, rs, svc, *pods]


@pytest.mark.parametrize("version", ["1.27.9", "1.28.10"])
def test_ambient_east_west_gateway_is_a_gateway_between_networks_not_a_waypoint(audit, version):
    """Ambient's east-west gateway runs `proxy waypoint` like a waypoint, but its controller (and from 1.28 its class)
    says what it is: an east-west gateway, whose migration needs ASM's advanced option (eastwest-gateway-options),
    never taken for a waypoint (which would hide it: no east-west gateway, a false GO)."""
    objects = [f.namespace("istio-system", {"topology.istio.io/network": "network-1"}), f.istiod(version=version),
               *ambient_eastwest(version)]
    a = audit({"cluster-a": objects}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert kinds_found(a) == {"istio-system/eastwestgateway": "eastwest"}
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0810")]
    [row] = audit({"cluster-a": objects}, "assessment", config=IDS).rows(AMBIENT)
    assert (row["status"], row["code"]) == ("PASS", "AA0501")  # no waypoint, no ztunnel, no ambient namespace


# ---------------------------------------------------------------- Gateway API shapes judged right (pinned)
def test_a_gateway_api_ingress_on_a_network_is_no_east_west_gateway(audit):
    """A Gateway of class istio labelled topology.istio.io/network: istiod copies the label to the Deployment, its
    pods and its Service, which serves only the Gateway's listeners (testdata/deployment/multinetwork.yaml @1.24.6:
    network-1, ports 15021 and 80; here without its name-override annotation, so named <gateway>-istio). An ingress
    gateway on a network, not a gateway between networks: no 15443/15008, no AUTO_PASSTHROUGH."""
    web = f.k8s_gateway("web", "edge")
    web["metadata"]["labels"] = {"topology.istio.io/network": "network-1"}
    dep, rs, svc = kube_gateway_1_24(web)
    for labels in (dep["metadata"]["labels"], dep["spec"]["template"]["metadata"]["labels"], svc["metadata"]["labels"]):
        labels["topology.istio.io/network"] = "network-1"
    objects = [f.namespace("istio-system"), f.namespace("edge"), f.istiod(version="1.24.6"), f.gateway_class("istio"),
               web, dep, rs, svc]
    a = audit({"cluster-a": objects}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert kinds_found(a) == {"edge/web-istio": "ingress"}
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("NOT_APPLICABLE", "AA0840")]


def istiod_agentgateway(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment, ReplicaSet, Service and a pod istiod 1.29 makes for a Gateway of class istio-agentgateway,
    shaped as pilot/pkg/config/kube/gateway/testdata/deployment/agentgateway.yaml @1.29.6: `<gateway>-istio-
    agentgateway`, labels gateway.istio.io/managed: istio.io-agentgateway-controller and the class, one container
    `agentgateway` (not Envoy's proxyv2, no istio-proxy), a LoadBalancer Service on 15021 and 80."""
    gw_meta = gateway["metadata"]
    gw_name, namespace = gw_meta["name"], gw_meta["namespace"]
    name = f"{gw_name}-istio-agentgateway"
    labels = {"gateway.istio.io/managed": "istio.io-agentgateway-controller",
              "gateway.networking.k8s.io/gateway-class-name": "istio-agentgateway",
              "gateway.networking.k8s.io/gateway-name": gw_name, "istio.io/dataplane-mode": "none"}
    pod_labels = {**labels, "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                  "sidecar.istio.io/inject": "false"}
    agent = {"name": "agentgateway", "image": "docker.io/istio/agentgateway:1.29.6", "args": ["--config", "{}"],
             "env": [{"name": "GATEWAY", "value": gw_name}, {"name": "XDS_ADDRESS",
                                                               "value": "istiod.istio-system.svc:15012"}],
             "ports": [{"containerPort": 15020, "name": "metrics"}, {"containerPort": 15021, "name": "status-port"}]}
    dep, rs = f.deployment(name, namespace, replicas=1, template_labels=pod_labels, containers=[agent], labels=labels)
    svc = owned_by_gateway(gateway, dep, labels, [15021, 80])
    [pod] = f.workload_pods((dep, rs), 1, proxy=None, gateway=True)
    pod["spec"]["containers"] = [dict(agent)]
    return [dep, rs, svc, pod]


def test_an_agentgateway_istiod_made_is_an_istio_ingress_gateway(audit):
    """istiod deploys and programs (XDS_ADDRESS: istiod) an agentgateway for a Gateway of class istio-agentgateway:
    north-south, gone with Istio's control plane, so an Istio ingress gateway to replace by ASM's, though it runs no
    istio-proxy (its pods are no unexplained `proxy router` pods either)."""
    ai = f.k8s_gateway("ai", "edge", "istio-agentgateway")
    objects = [f.namespace("istio-system"), f.namespace("edge"), f.istiod(version="1.29.6"),
               f.gateway_class("istio-agentgateway"), ai, *istiod_agentgateway(ai)]
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/ai-istio-agentgateway": "ingress"}
    c = a.result.inventory.data_planes[0]
    assert [g.installed_by for g in G.istio_gateways(c, ProxyRules(), GatewaysConfig())] == [G.INSTALL_GATEWAY_API]
    assert G.unrecognised_gateway_pods(c, G.gateway_workloads(c, ProxyRules(), GatewaysConfig())) == []
    assert [(r["status"], r["namespace"], r["name"]) for r in a.rows(PRESENT)] == [
        ("FAIL", "edge", "ai-istio-agentgateway")]


# ---------------------------------------------------------------- a Gateway API east-west gateway of class istio
def test_a_gateway_api_gateway_passing_mtls_through_is_an_east_west_gateway(audit):
    """The sidecar data plane's east-west gateway written as a Gateway API Gateway of class istio, as
    pilot/pkg/config/kube/gateway/testdata/eastwest-tlsoption.yaml @1.24.6 has it: labelled network-1, TLS Passthrough
    listeners for istiod (15012, 15017) and `cross-network` on 35443 with the option gateway.istio.io/listener-protocol:
    auto-passthrough, which istiod turns into an AUTO_PASSTHROUGH server (eastwest-tlsoption.yaml.golden @1.24.6).
    istiod deploys it as any Gateway of class istio (simple.yaml, multinetwork.yaml @1.24.6: `<gateway>-istio`,
    `proxy router`, the network label copied; a Service on 15021 and the listeners' ports). A gateway between
    networks whose migration needs ASM's advanced option (main: an ingress gateway, and with no 15443/15008 on its
    Service no east-west signal at all: eastwest-gateway-options NOT_APPLICABLE, a false GO)."""
    a = audit({"cluster-a": gateway_api_eastwest()}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert kinds_found(a) == {"istio-system/eastwestgateway-istio": "eastwest"}
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0810")]


def gateway_api_eastwest() -> list[dict[str, Any]]:
    """eastwest-tlsoption.yaml @1.24.6 as istiod deploys it (see the test above)."""
    ew = f.k8s_gateway("eastwestgateway", "istio-system")
    ew["metadata"]["labels"] = {"topology.istio.io/network": "network-1"}
    passthrough = {"mode": "Passthrough"}
    ew["spec"]["listeners"] = [
        {"name": "istiod-grpc", "port": 15012, "protocol": "TLS", "tls": dict(passthrough)},
        {"name": "istiod-webhook", "port": 15017, "protocol": "TLS", "tls": dict(passthrough)},
        {"name": "cross-network", "hostname": "*.local", "port": 35443, "protocol": "TLS",
         "tls": {**passthrough, "options": {"gateway.istio.io/listener-protocol": "auto-passthrough"}}}]
    dep, rs, svc = kube_gateway_1_24(ew)
    for labels in (dep["metadata"]["labels"], dep["spec"]["template"]["metadata"]["labels"], svc["metadata"]["labels"]):
        labels["topology.istio.io/network"] = "network-1"
    svc["spec"]["ports"] = [{"name": f"p{p}", "port": p, "targetPort": p, "protocol": "TCP"}
                            for p in (15021, 15012, 15017, 35443)]
    return [f.namespace("istio-system", {"topology.istio.io/network": "network-1"}), f.istiod(version="1.24.6"),
            f.gateway_class("istio"), ew, dep, rs, svc]


# ---------------------------------------------------------------- a scan that could not read every kind it reads
# Absence of evidence is not evidence: when the DaemonSets, Istio Gateways or Gateway API Gateways the gateway scan
# reads could not be read (forbidden, not in the snapshot), a PASS or N/A that needs every gateway and its role seen is
# UNKNOWN naming what was not read (main: the PASS/N/A of what the scan happened to see, a false GO). A kind not served
# (CRD absent) is evidence there are none: the old answer stands.
FORBIDDEN_DS = "forbidden: daemonsets.apps is forbidden: cannot list resource daemonsets"


def edge_egress_daemonset(release: str = "istio-egressgateway") -> list[dict[str, Any]]:
    """The gateway chart with `kind: DaemonSet` pinned to edge nodes (nodeSelector) none of which is up yet: no pod
    tells of it, only the DaemonSet."""
    ds, svc = helm_gateway(release, "istio-system", kind="DaemonSet", pods=0)
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"node-role/edge": "true"}
    ds["spec"].pop("replicas", None)
    ds["status"] = {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberReady": 0}
    svc["spec"]["type"] = "ClusterIP"
    return [ds, svc]


def replaced_ingress_and_daemonset_egress() -> tuple[list[dict], list[dict]]:
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]
    objs = cluster(*helm_gateway("istio-ingress", "istio-ingress"),
                   f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress"), ASM_SERVICE,
                   *edge_egress_daemonset())
    return objs, asm


def test_asm_gateways_present_is_unknown_not_pass_when_the_daemonsets_are_forbidden(audit):
    objs, asm = replaced_ingress_and_daemonset_egress()
    a = audit({"cluster-a": objs}, "uninstall", asm=asm, config=IDS)
    assert sorted((r["status"], r["kind"], r["name"]) for r in a.rows(PRESENT)) == [
        ("FAIL", "DaemonSet", "istio-egressgateway"), ("PASS", "Deployment", "istio-ingress")]
    a = audit({"cluster-a": objs}, "uninstall", asm=asm, config=IDS,
              unreadable={"cluster-a": {K.DAEMONSET: FORBIDDEN_DS}})
    rows = sorted((r["status"], r["code"], r["name"]) for r in a.rows(PRESENT))
    assert rows == [("PASS", "AA1701", "istio-ingress"), ("UNKNOWN", "AA1732", "")]  # main: the PASS alone
    (unknown,) = [r for r in a.rows(PRESENT) if r["status"] == "UNKNOWN"]
    assert unknown["message"].startswith("the gateway scan could not read daemonsets.apps (forbidden: daemonsets.apps "
                                         "is forbidden")
    assert unknown["evidence"]["not_read"] == {"daemonsets.apps": f"{FORBIDDEN_DS} (recorded in the snapshot)"}
    assert a.result.verdict != "GO"


def test_asm_gateways_present_is_unknown_when_the_snapshot_holds_no_daemonsets(tmp_path):
    """A snapshot whose manifest does not say it is `complete` and that holds no DaemonSet (nor Istio or Gateway API
    Gateway) objects: they were not collected."""
    objs, asm = replaced_ingress_and_daemonset_egress()
    objs = [o for o in objs if o.get("kind") != "DaemonSet"]
    f.write_snapshot(tmp_path, {"cluster-a": objs, "asm": asm},
                     versions={"cluster-a": f.version_info(), "asm": f.version_info()},
                     manifest={"clusters": [{"name": "cluster-a", "role": "data-plane", "dir": "cluster-a"},
                                            {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]})
    a = Audit(run_audit(open_snapshot(tmp_path), "uninstall", Config.model_validate(IDS), now=NOW))
    rows = sorted((r["status"], r["code"], r["name"]) for r in a.rows(PRESENT))
    # main: the PASS alone; the Gateways unread also leave the replacement's listeners untold (AA1736, session 16), and
    # the Ingresses not collected, which of them Istio's istiod serves on Istio's gateway (AA1739, red19d), and the
    # policies not collected, which of them guard Istio's gateway (AA1752, red20k)
    assert rows == [("UNKNOWN", "AA1732", ""), ("UNKNOWN", "AA1736", "istio-ingress"),
                    ("UNKNOWN", "AA1739", "istio-ingress"), ("UNKNOWN", "AA1752", "istio-ingress")]
    (unknown,) = [r for r in a.rows(PRESENT) if r["code"] == "AA1732"]
    assert unknown["message"].startswith("the gateway scan could not read daemonsets.apps (the snapshot holds no "
                                         "DaemonSet objects for this cluster (not collected)); "
                                         "gateways.networking.istio.io (the snapshot holds no Gateway objects")


def xnet_cluster() -> list[dict]:
    """A gateway whose role only its Istio Gateway tells: AUTO_PASSTHROUGH makes it east-west."""
    return cluster(*custom_gateway("xnet", "edge", "xnet"),
                   istio_gateway_object("cross", "edge", {"istio": "xnet"}, passthrough=True))


def test_east_west_checks_are_unknown_not_na_when_the_istio_gateways_are_forbidden(audit):
    unread = {"cluster-a": {K.GATEWAY: "forbidden: cannot list gateways.networking.istio.io"}}
    a = audit({"cluster-a": xnet_cluster()}, "setup", asm=[f.migration_cr("Init")], config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("FAIL", "AA0810")]
    a = audit({"cluster-a": xnet_cluster()}, "setup", asm=[f.migration_cr("Init")], config=IDS, unreadable=unread)
    (row,) = a.rows("eastwest-gateway-options")  # main: NOT_APPLICABLE AA0840 "no east-west gateway"
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0831")
    assert row["message"] == ("the gateway scan could not read gateways.networking.istio.io (forbidden: cannot list "
                              "gateways.networking.istio.io (recorded in the snapshot)): no east-west gateway seen, "
                              "but one may have been missed")
    a = audit({"cluster-a": xnet_cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS,
              unreadable=unread)
    # main: NOT_APPLICABLE AA1840 and AA1940
    assert [(r["status"], r["code"]) for r in a.rows("cross-cluster-gateway-first")] == [("UNKNOWN", "AA1832")]
    assert [(r["status"], r["code"]) for r in a.rows("network-consistency")] == [("UNKNOWN", "AA1936")]


def test_east_west_checks_keep_their_na_when_the_istio_gateway_crd_is_not_served(audit):
    """No Gateway CRD: no Istio Gateway can give the gateway a role; the role-unknown gateway is no east-west one."""
    objs = cluster(*custom_gateway("xnet", "edge", "xnet"))
    a = audit({"cluster-a": objs}, "setup", asm=[f.migration_cr("Init")], config=IDS,
              unreadable={"cluster-a": {K.GATEWAY: "not-served", K.K8S_GATEWAY: "not-served"}})
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("NOT_APPLICABLE", "AA0840")]
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS,
              unreadable={"cluster-a": {K.GATEWAY: "not-served", K.K8S_GATEWAY: "not-served"}})
    assert [(r["status"], r["code"]) for r in a.rows("cross-cluster-gateway-first")] == [("NOT_APPLICABLE", "AA1840")]
    assert [(r["status"], r["code"]) for r in a.rows("network-consistency")] == [("NOT_APPLICABLE", "AA1940")]


def test_eastwest_options_is_unknown_not_na_when_the_gateway_api_gateways_are_forbidden(audit):
    """Only its Gateway's auto-passthrough listener tells that istiod's `eastwestgateway-istio` is east-west."""
    a = audit({"cluster-a": gateway_api_eastwest()}, "setup", asm=[f.migration_cr("Init")], config=IDS,
              unreadable={"cluster-a": {K.K8S_GATEWAY: "forbidden: cannot list gateways.gateway.networking.k8s.io"}})
    assert kinds_found(a) == {"istio-system/eastwestgateway-istio": "ingress"}  # what the scan could tell
    # main: NOT_APPLICABLE AA0840 "no east-west gateway"
    assert [(r["status"], r["code"]) for r in a.rows("eastwest-gateway-options")] == [("UNKNOWN", "AA0831")]


def test_clb_weights_and_egress_routes_are_unknown_not_na_when_the_daemonsets_are_forbidden(audit):
    """An ingress DaemonSet on the CLB it shares with ASM's ingress gateway (weight 100 both), and an egress route
    still to Istio's egress DaemonSet `edge-egress` (a release name no default names): both FAIL when the DaemonSets
    are read; forbidden, main says N/A for both."""
    ingress_ds, ingress_svc = helm_gateway("istio-ingressgateway", "istio-system", kind="DaemonSet", pods=0)
    ingress_svc["metadata"]["annotations"] = {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-1",
                                              "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight": "100"}
    asm_dep = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")
    asm_svc = f.gateway_service("istio-ingressgateway-asm", selector={"app": "istio-ingressgateway-asm",
                                                                      "istio": "ingressgateway-asm"},
                                annotations={"asm.alibabacloud.com/managed-by-asm": "true",
                                             "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-1",
                                             "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight": "100"})
    vs = f.virtualservice("ext", "shop", hosts=["api.example.com"], gateways=["mesh"],
                          http=[f.route(("edge-egress.istio-system.svc.cluster.local", None))])
    objs = cluster(ingress_ds, ingress_svc, asm_dep, asm_svc, *edge_egress_daemonset("edge-egress"), vs)
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])]
    a = audit({"cluster-a": objs}, "uninstall", asm=asm, config=IDS)
    assert [(r["status"], r["code"]) for r in a.rows("ingress-lb-weights")] == [("FAIL", "AA2010")]
    assert [(r["status"], r["code"]) for r in a.rows("egress-routes-to-asm", "uninstall")
            if r["cluster"] == "cluster-a"] == [("FAIL", "AA1610")]
    a = audit({"cluster-a": objs}, "uninstall", asm=asm, config=IDS,
              unreadable={"cluster-a": {K.DAEMONSET: FORBIDDEN_DS}})
    # main: NOT_APPLICABLE AA2040 and AA1640
    assert [(r["status"], r["code"]) for r in a.rows("ingress-lb-weights")] == [("UNKNOWN", "AA2031")]
    assert [(r["status"], r["code"]) for r in a.rows("egress-routes-to-asm", "uninstall")
            if r["cluster"] == "cluster-a"] == [("UNKNOWN", "AA1632")]


def test_gateway_traffic_is_unknown_not_na_when_the_daemonsets_are_forbidden(audit):
    """Only the egress DaemonSet is a gateway: forbidden, main says NOT_APPLICABLE AA1540 "no Istio gateway"."""
    objs = cluster(*edge_egress_daemonset())
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert [(r["status"], r["name"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "istio-egressgateway")]  # no Prometheus
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS,
              unreadable={"cluster-a": {K.DAEMONSET: FORBIDDEN_DS}})
    assert [(r["status"], r["code"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "AA1550")]
    a = audit({"cluster-a": objs}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS,
              unreadable={"cluster-a": {K.GATEWAY: "forbidden: cannot list gateways.networking.istio.io"}})
    assert [(r["status"], r["name"]) for r in a.rows(TRAFFIC)] == [("UNKNOWN", "istio-egressgateway")]  # role aside


# ---------------------------------------------------------------- a role the unread config would have told
FORBIDDEN_VS = ("forbidden: virtualservices.networking.istio.io is forbidden: User \"audit\" cannot list resource "
                "\"virtualservices\" in API group \"networking.istio.io\"")


def edge_out_egress() -> list[dict[str, Any]]:
    """`helm install edge-out istio/gateway -n edge` used as an egress gateway, configured as Istio's egress task does
    (istio/istio.io content/en/docs/tasks/traffic-management/egress/egress-gateway/snips.sh, http_traffic_3 and _5): a
    Gateway selecting it for edition.cnn.com:80 and a VirtualService binding that Gateway together with `mesh`, routing
    the mesh's requests to the gateway's Service. Neither its name nor its `istio: edge-out` label tells the role."""
    gateway = f.istio_object("Gateway", "edge-out", "edge", {
        "selector": {"istio": "edge-out"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["edition.cnn.com"]}]})
    routes = [{"match": [{"gateways": ["mesh"], "port": 80}],
               "route": [{"destination": {"host": "edge-out.edge.svc.cluster.local", "subset": "cnn",
                                          "port": {"number": 80}}, "weight": 100}]},
              {"match": [{"gateways": ["edge-out"], "port": 80}],
               "route": [{"destination": {"host": "edition.cnn.com", "port": {"number": 80}}, "weight": 100}]}]
    vs = f.virtualservice("direct-cnn-through-egress-gateway", "edge", hosts=["edition.cnn.com"],
                          gateways=["edge-out", "mesh"], http=routes)
    return [*helm_gateway("edge-out", "edge"), gateway, vs]


def test_a_custom_egress_gateway_is_not_taken_for_ingress_when_the_virtualservices_are_unread(audit):
    """Read, edge-out is an egress gateway that ASM's ingress gateway does not replace: FAIL AA1710. With the
    VirtualServices unreadable main typed it ingress ("any other Gateway"): WARN AA1721 (counted as replaced by ASM's
    ingress gateway, whose Deployment is not there yet), PASS AA1701 once it is. Its role is unknown now: UNKNOWN
    AA1734 naming the unread VirtualServices beside ASM's gateways, FAIL AA1711 with none."""
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]
    asm_deployment = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    read = audit({"cluster-a": cluster(*edge_out_egress(), asm_deployment)}, "uninstall", asm=asm, config=IDS)
    assert kinds_found(read) == {"edge/edge-out": "egress"}
    assert [(r["status"], r["code"], r["name"]) for r in read.rows(PRESENT)] == [("FAIL", "AA1710", "edge-out")]
    unread = {"cluster-a": {K.VIRTUALSERVICE: FORBIDDEN_VS}}
    a = audit({"cluster-a": cluster(*edge_out_egress(), asm_deployment)}, "uninstall", asm=asm, config=IDS,
              unreadable=unread)
    assert kinds_found(a) == {"edge/edge-out": "unknown"}
    [row] = a.rows(PRESENT)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1734", "edge-out")
    assert "virtualservices" in row["message"] and "forbidden" in row["message"]
    # ASM's gateway declared but not deployed serves nothing, whatever edge-out's role (gwx16: was UNKNOWN AA1734)
    a = audit({"cluster-a": cluster(*edge_out_egress())}, "uninstall", asm=asm, config=IDS, unreadable=unread)
    assert [(r["status"], r["code"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1711")]
    alone = audit({"cluster-a": cluster(*edge_out_egress())}, "uninstall", asm=[f.migration_cr("Migrating")],
                  config=IDS, unreadable=unread)
    assert [(r["status"], r["code"]) for r in alone.rows(PRESENT)] == [("FAIL", "AA1711")]


def _on_clb(service: dict[str, Any], lb: str, weight: str | None = None) -> dict[str, Any]:
    """The shared CLB as ASM's ingress cut-over annotates it: by id, with the vServer groups CCM needs before it reads
    the weight (kubernetes/cloud-provider-alibaba-cloud@v2.14.0: pkg/controller/service/clbv1/vgroups.go)."""
    notes = service["metadata"].setdefault("annotations", {})
    notes["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"] = lb
    notes["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-vgroup-port"] = f"rsp-{lb}-80:80,rsp-{lb}-443:443"
    if weight is not None:
        notes["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight"] = weight
    return service


def test_a_gateway_of_unknown_role_on_a_clb_shared_with_asm_ingress_is_judged_by_its_weight(audit):
    """gw-7 (a gateway written after Istio's "Deploying a gateway" docs, nothing telling its role) behind a Service on
    the CLB that ASM's ingress gateway Service shares, without a weight (the CLB counts 100): it still takes traffic
    from outside. Main judged ingress Services only: NOT_APPLICABLE AA2040 "no CLB shared" (a false GO)."""
    istio_svc = _on_clb(f.gateway_service("gw-7", "edge", selector={"istio": "gw-7"}), "lb-1")
    asm_svc = _on_clb(f.gateway_service("istio-ingressgateway", selector={"app": "istio-ingressgateway",
                                                                          "istio": "ingressgateway"},
                                        annotations={"asm.alibabacloud.com/managed-by-asm": "true"}), "lb-1", "100")
    asm_dep = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    objects = cluster(*custom_gateway("gw-7", "edge", "gw-7"), istio_svc, asm_dep, asm_svc)
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=IDS)
    assert kinds_found(a) == {"edge/gw-7": "unknown"}
    [row] = a.rows("ingress-lb-weights")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2012", "gw-7")
    _on_clb(istio_svc, "lb-1", "0")
    [row] = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")],
                  config=IDS).rows("ingress-lb-weights")
    assert (row["status"], row["code"]) == ("PASS", "AA2001")


def test_asm_routes_unread_beside_a_gateway_of_unknown_role_are_unknown_not_silent(audit):
    """egress-routes-to-asm says nothing of ASM's VirtualServices (which ASM proxies follow) when they are unread only
    if no cluster has an Istio egress gateway they could route to. gw-7's role is unknown: it may be one. Main counted
    egress-typed gateways only, and said nothing (its data-plane N/A AA1640 stood alone: a GO)."""
    a = audit({"cluster-a": cluster(*custom_gateway("gw-7", "edge", "gw-7"))}, "uninstall", config=IDS)
    assert kinds_found(a) == {"edge/gw-7": "unknown"}
    assert [(r["status"], r["code"]) for r in a.rows("egress-routes-to-asm")] == [
        ("NOT_APPLICABLE", "AA1640"), ("UNKNOWN", "AA1630")]


def test_a_custom_egress_gateway_routed_to_by_a_mesh_virtualservice_of_its_own_is_egress(audit):
    """The egress task's VirtualService (istio.io egress-gateway snips.sh http_traffic_5) split in two, as many write
    it: one applying to the mesh sends edition.cnn.com to edge-out's Service, the other, bound to the Gateway, sends it
    out. Main typed edge-out ingress ("any other Gateway"): PASS AA1701 by ASM's ingress gateway, and the mesh route
    to it was no egress route (N/A AA1640). It is egress: not replaced (FAIL AA1710), the route still sends to Istio's
    egress gateway (FAIL AA1610)."""
    *chart, gateway, _ = edge_out_egress()  # the chart's objects and its Gateway, not the one VirtualService
    to_gateway = f.virtualservice("cnn-to-egress-gateway", "edge", hosts=["edition.cnn.com"], http=[
        {"route": [{"destination": {"host": "edge-out.edge.svc.cluster.local", "port": {"number": 80}}}]}])
    from_gateway = f.virtualservice("cnn-from-egress-gateway", "edge", hosts=["edition.cnn.com"], gateways=["edge-out"],
                                    http=[{"route": [{"destination": {"host": "edition.cnn.com",
                                                                      "port": {"number": 80}}}]}])
    asm = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]
    objects = cluster(*chart, gateway, to_gateway, from_gateway,
                      f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress"))
    a = audit({"cluster-a": objects}, "uninstall", asm=asm, config=IDS)
    assert kinds_found(a) == {"edge/edge-out": "egress"}
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1710", "edge-out")]
    assert [(r["status"], r["code"], r["name"]) for r in a.rows("egress-routes-to-asm")
            if r["cluster"] == "cluster-a"] == [("FAIL", "AA1610", "cnn-to-egress-gateway")]


def edge_in_ingress(mesh_route: str) -> list[dict[str, Any]]:
    """`helm install edge-in istio/gateway -n edge` used as an ingress gateway (a release name no default names; its
    `istio: edge-in` label tells no role): a Gateway selecting it for api.example.com:80, a VirtualService bound to it
    routing to the shop's productpage, and in-mesh clients of api.example.com sent through it too, either
    - "bound": that VirtualService bound to the Gateway together with `mesh`, as the VirtualService reference says to
      apply one set of rules to both (istio/api networking/v1alpha3/virtual_service.proto, VirtualService.gateways:
      "To apply the rules to both gateways and sidecars, specify `mesh` as one of the gateway names"), or
    - "hairpin": a VirtualService applying to the mesh (no gateways) sending api.example.com to edge-in's Service, so
      in-mesh callers of the public name go through the gateway as outside callers do."""
    gateway = f.istio_object("Gateway", "edge-in", "edge", {
        "selector": {"istio": "edge-in"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["api.example.com"]}]})
    to_shop = [{"route": [{"destination": {"host": "productpage.shop.svc.cluster.local", "port": {"number": 9080}}}]}]
    if mesh_route == "bound":
        return [*helm_gateway("edge-in", "edge"), gateway, *productpage(),
                f.virtualservice("api", "edge", hosts=["api.example.com"], gateways=["edge-in", "mesh"], http=to_shop)]
    hairpin = f.virtualservice("api-in-mesh", "shop", hosts=["api.example.com"], http=[
        {"route": [{"destination": {"host": "edge-in.edge.svc.cluster.local", "port": {"number": 80}}}]}])
    return [*helm_gateway("edge-in", "edge"), gateway, *productpage(),
            f.virtualservice("api", "edge", hosts=["api.example.com"], gateways=["edge-in"], http=to_shop), hairpin]


def productpage(namespace: str = "shop") -> list[dict[str, Any]]:
    """Bookinfo's productpage Service (istio/istio@1.30.3:samples/bookinfo/platform/kube/bookinfo.yaml: port 9080 http,
    selector app: productpage), the cluster Service the ingress routes go to."""
    svc = f.service("productpage", namespace, labels={"app": "productpage", "service": "productpage"},
                    type_="ClusterIP", ports=[{"name": "http", "port": 9080, "targetPort": 9080}])
    svc["spec"]["selector"] = {"app": "productpage"}
    return [f.namespace(namespace), svc]


@pytest.mark.parametrize("mesh_route", ["bound", "hairpin"])
def test_a_gateway_typed_egress_on_a_clb_shared_with_asm_ingress_is_judged_by_its_weight(audit, mesh_route):
    """edge-in takes traffic from outside through the CLB lb-1 that ASM's ingress gateway Service shares (weight 100
    both): uninstalling Istio drops its share. A mesh route through it types it egress (the VirtualService binding its
    Gateway with `mesh`; since gw14 also a mesh VirtualService into its Service), and main judged ingress (and
    unknown-role) Services only: NOT_APPLICABLE AA2040 "no CLB shared", a GO at the uninstall gate (the check alone).
    Whatever its role but east-west, a Service on that CLB is judged by its weight: FAIL AA2010, PASS AA2001 at 0.
    Since gwrole14 edge-in is typed ingress (its Gateway's routes go to productpage, a Service of the cluster): the
    weight is judged all the same."""
    chart = edge_in_ingress(mesh_route)
    istio_svc = next(o for o in chart if o["kind"] == "Service")
    _on_clb(istio_svc, "lb-1", "100")
    asm_svc = _on_clb(f.gateway_service("istio-ingressgateway", selector={"app": "istio-ingressgateway",
                                                                          "istio": "ingressgateway"},
                                        annotations={"asm.alibabacloud.com/managed-by-asm": "true"}), "lb-1", "100")
    asm_dep = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    objects = cluster(*chart, asm_dep, asm_svc)
    only = {**IDS, **f.only_checks("ingress-lb-weights")}
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=only)
    assert kinds_found(a) == {"edge/edge-in": "ingress"}   # gw14: egress (the mesh route alone decided)
    [row] = a.rows("ingress-lb-weights")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2010", "edge-in")
    assert a.result.verdict.value == "NO-GO"  # main: GO
    _on_clb(istio_svc, "lb-1", "0")
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")], config=only)
    assert [(r["status"], r["code"]) for r in a.rows("ingress-lb-weights")] == [("PASS", "AA2001")]
    assert a.result.verdict.value == "GO"


# ---------------------------------------------------------------- gwrole14: where a Gateway's routes send tells
FORBIDDEN_SE = ("forbidden: serviceentries.networking.istio.io is forbidden: User \"audit\" cannot list resource "
                "\"serviceentries\" in API group \"networking.istio.io\"")
ASM_INGRESS_ONLY = [f.migration_cr("Migrating"), f.istio_gateway_cr("ingressgateway", "ingress", cluster_ids=["c-a"])]


def cnn_entry() -> dict[str, Any]:
    """The egress-gateway task's ServiceEntry for edition.cnn.com (istio/istio.io
    content/en/docs/tasks/traffic-management/egress/egress-gateway/snips.sh: hosts edition.cnn.com, ports 80 http and
    443 https, resolution DNS; location left out: MESH_EXTERNAL)."""
    return f.istio_object("ServiceEntry", "cnn", "edge", {
        "hosts": ["edition.cnn.com"], "resolution": "DNS",
        "ports": [{"number": 80, "name": "http-port", "protocol": "HTTP"},
                  {"number": 443, "name": "https", "protocol": "HTTPS"}]})


def test_the_egress_task_gateway_is_egress_and_unknown_with_the_serviceentries_unread(audit):
    """Istio's egress-gateway task on a Helm gateway edge-out (edge_out_egress, plus the task's ServiceEntry): the
    route bound to its Gateway sends to edition.cnn.com, a ServiceEntry host no Service answers to: egress, not
    replaced by ASM's ingress gateway (FAIL AA1710). With the ServiceEntries forbidden, that host could be a
    MESH_INTERNAL entry's (a VM's): the role is not guessed, UNKNOWN AA1734 naming them."""
    asm_deployment = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    objects = cluster(*edge_out_egress(), cnn_entry(), asm_deployment)
    a = audit({"cluster-a": objects}, "uninstall", asm=ASM_INGRESS_ONLY, config=IDS)
    assert kinds_found(a) == {"edge/edge-out": "egress"}
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1710", "edge-out")]
    a = audit({"cluster-a": objects}, "uninstall", asm=ASM_INGRESS_ONLY, config=IDS,
              unreadable={"cluster-a": {K.SERVICEENTRY: FORBIDDEN_SE}})
    assert kinds_found(a) == {"edge/edge-out": "unknown"}
    [row] = a.rows(PRESENT)
    assert (row["status"], row["code"], row["name"]) == ("UNKNOWN", "AA1734", "edge-out")
    assert "serviceentries" in row["message"]


def bookinfo_on_helm_ingress() -> list[dict[str, Any]]:
    """Bookinfo behind Istio's Helm gateway as the docs install it (`helm install istio-ingress istio/gateway -n
    istio-ingress`: label istio=ingress, the selector bookinfo-gateway.yaml's comment names for a Helm install), its
    VirtualService bound to [bookinfo-gateway, mesh] so in-mesh callers get the same rules (virtual_service.proto,
    VirtualService.gateways). istio/istio@1.30.3:samples/bookinfo/networking/bookinfo-gateway.yaml: Gateway on 8080
    HTTP, the VirtualService's /productpage, /static, /login, /logout, /api/v1/products to productpage:9080. Its hosts
    `*` become bookinfo.example.com: istiod rejects `*` on a VirtualService bound to `mesh`
    (pkg/config/validation/validation.go @1.30.3)."""
    gateway = f.istio_object("Gateway", "bookinfo-gateway", "shop", {
        "selector": {"istio": "ingress"},
        "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]})
    matches = [{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/static"}}, {"uri": {"exact": "/login"}},
               {"uri": {"exact": "/logout"}}, {"uri": {"prefix": "/api/v1/products"}}]
    vs = f.virtualservice("bookinfo", "shop", hosts=["bookinfo.example.com"], gateways=["bookinfo-gateway", "mesh"],
                          http=[{"match": matches, "route": [{"destination": {"host": "productpage",
                                                                              "port": {"number": 9080}}}]}])
    return [*helm_gateway("istio-ingress", "istio-ingress"), gateway, *productpage(), vs]


def test_bookinfo_bound_to_its_gateway_and_mesh_is_served_by_an_ingress_gateway(audit):
    """Main typed istio-ingress egress (a VirtualService binding its Gateway with `mesh`): ASM's ingress gateway did
    not replace it, FAIL AA1710 (a false NO-GO). Its Gateway's routes go to productpage, a Service of the cluster:
    ingress, replaced by ASM's ingress gateway (PASS AA1701). Since red18f: its Gateway selects `istio: ingress` and
    ASM's gateway pods carry `istio: ingressgateway`, so ASM's gateway gets no listener for bookinfo (FAIL AA1714, a
    match of the same type all the same); with a Gateway selecting ASM's pods and the VirtualService bound to it on the
    ASM control plane it passes. Since red20f: that Gateway with the VirtualService still bound only to
    bookinfo-gateway gives ASM's gateway no route for bookinfo.example.com (a 404: buildGatewayHTTPRouteConfig,
    pilot/pkg/networking/core/gateway.go @1.30.3), FAIL AA1724 (main: PASS AA1701)."""
    asm_deployment = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    objects = cluster(*bookinfo_on_helm_ingress(), asm_deployment, ASM_SERVICE)
    a = audit({"cluster-a": objects}, "uninstall", asm=ASM_INGRESS_ONLY, config=IDS)
    assert kinds_found(a) == {"istio-ingress/istio-ingress": "ingress"}
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1714", "istio-ingress")]
    asm_bound = f.istio_object("Gateway", "bookinfo-gateway-asm", "shop", {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]})
    [vs] = [o for o in objects if o["kind"] == "VirtualService"]
    a = audit({"cluster-a": [*objects, asm_bound]}, "uninstall", asm=[*ASM_INGRESS_ONLY, vs], config=IDS)
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1724", "istio-ingress")]
    rebound = copy.deepcopy(vs)
    rebound["spec"]["gateways"] = ["bookinfo-gateway", "bookinfo-gateway-asm", "mesh"]
    a = audit({"cluster-a": [*objects, asm_bound]}, "uninstall", asm=[*ASM_INGRESS_ONLY, rebound], config=IDS)
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("PASS", "AA1701", "istio-ingress")]


def test_a_hairpin_mesh_route_into_an_ingress_gateway_leaves_it_ingress(audit):
    """edge_in_ingress("hairpin"): in-mesh callers of api.example.com are sent to edge-in's Service, its Gateway's
    routes go to productpage. Main typed it egress on the mesh route: FAIL AA1710 (ASM has an ingress gateway only) and
    the hairpin counted as an egress route still to Istio's egress gateway (FAIL AA1610). It is ingress: PASS AA1701,
    and no egress route (the hairpin is not judged by egress-routes-to-asm). Since red18f: matched to ASM's ingress
    gateway, whose pods no Gateway selects (edge-in's selects edge-in's): FAIL AA1714, not AA1710."""
    asm_deployment = f.gateway_deployment("istio-ingressgateway", asm=True, gateway_type="ingress")
    a = audit({"cluster-a": cluster(*edge_in_ingress("hairpin"), asm_deployment, ASM_SERVICE)}, "uninstall",
              asm=ASM_INGRESS_ONLY, config=IDS)
    assert kinds_found(a) == {"edge/edge-in": "ingress"}
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(PRESENT)] == [("FAIL", "AA1714", "edge-in")]
    assert "FAIL" not in [r["status"] for r in a.rows("egress-routes-to-asm")]
