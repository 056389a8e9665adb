"""Tests that kill the mutants mutation testing left alive (tests/corpus/MUTATION.md has the numbers).

Each test pins one rule of the classifier, the gateway finder, the verdict or the exemptions with literal
inputs and literal expectations. Object shapes follow tests/install_shapes.py (istio/istio release charts and
injection test data, see tests/corpus/README.md) and ../shared/docs/domain.md for ASM's side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from auditor import gateways as g
from auditor import kinds as K
from auditor import mesh
from auditor.config import Exemption, GatewaysConfig, catch_all_checks, matches_any_id
from auditor.findings import apply_exemptions, blocking_mask, findings_frame, is_blocking, verdict_of
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Severity, Status, Verdict
from tests import install_shapes as shapes

DIGEST = "@sha256:" + "ab" * 32


# ================================================================ mesh: ProxyRules
@pytest.mark.parametrize("env,expected", [
    ({"ASM_ID": "c0ffee00deadbeef"}, True), ({"ASM_APP_VERSION": "v1"}, True), ({"ASM_ID": ""}, True),
    ({"ISTIO_META_CLUSTER_ID": "Kubernetes", "CA_ADDR": "istiod.istio-system.svc:15012"}, False), ({}, False),
])
def test_each_asm_env_name_alone_is_an_asm_mark(env: dict[str, str], expected: bool) -> None:
    assert mesh.ProxyRules().has_asm_env(env) is expected


def test_ca_service_is_empty_when_a_custom_ca_pattern_matches_an_address_that_names_no_istiod() -> None:
    """A team's own asm_ca_addr_pattern may match an address that is no `istiod[-rev].<ns>.svc` name."""
    rules = mesh.ProxyRules(asm_ca_addr_pattern=r"^ca\.")
    assert rules.ca_service("ca.mesh.example.com:15012") == ""
    assert rules.ca_service("istiod.istio-system.svc:15012") == ""  # the custom pattern does not match it


@pytest.mark.parametrize("ca,expected", [
    ("istiod.istio-system.svc:15012", "istio-system/istiod"),
    ("istiod-1-24-6.istio-system.svc.cluster.local:15012", "istio-system/istiod-1-24-6"),
    ("istiod-canary.mesh-control.svc:15012", "mesh-control/istiod-canary"),
    ("istiodx.istio-system.svc:15012", ""), ("istiod.istio-system:15012", ""), ("istiod.istio-system.svcx:1", ""),
])
def test_ca_service_names_namespace_and_service(ca: str, expected: str) -> None:
    assert mesh.ProxyRules().ca_service(ca) == expected


def test_custom_image_patterns_replace_the_defaults() -> None:
    rules = mesh.ProxyRules(asm_image_patterns=[r"^mirror\.corp/asm/proxyv2:"])
    assert rules.image_kind("mirror.corp/asm/proxyv2:1.24.6") == "asm"
    assert rules.image_kind(shapes.ASM_IMAGE_VPC) == "istio"  # a release-tagged image the rules do not claim


@pytest.mark.parametrize("image,expected", [
    (shapes.ASM_IMAGE_PUBLIC, "asm"), (shapes.ASM_IMAGE_VPC, "asm"),
    ("harbor.corp.example/mesh/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun", "asm"),  # ASM's tag scheme anywhere
    ("docker.io/istio/proxyv2:1.24.6", "istio"), ("docker.io/istio/proxyv2", ""), ("", ""),
])
def test_image_kind(image: str, expected: str) -> None:
    assert mesh.ProxyRules().image_kind(image) == expected


# ================================================================ mesh: proxy_role
@pytest.mark.parametrize("container,expected", [
    ({"args": ["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"]}, "gateway"),
    ({"args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"]}, "sidecar"),
    ({"args": ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local"]}, "ambient"),
    ({"args": ["proxy", "ztunnel"]}, "ambient"),
    ({"name": "istio-proxy", "image": "docker.io/istio/ztunnel:1.24.6"}, "ambient"),  # ztunnel chart: no args
    ({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.6"}, "sidecar"),
    ({"args": None, "image": None}, "sidecar"), ({}, "sidecar"),
])
def test_proxy_role(container: dict[str, Any], expected: str) -> None:
    assert mesh.proxy_role(container) == expected


# ================================================================ mesh: istio_installed
@pytest.mark.parametrize("meta,expected", [
    # istioctl / IstioOperator (and the 1.x Helm charts, which set owning-resource "unknown"): each label alone
    ({"labels": {"operator.istio.io/component": "Pilot"}}, "istioctl/operator labels"),
    ({"labels": {"install.operator.istio.io/owning-resource": "unknown"}}, "istioctl/operator labels"),
    # Helm: the release annotation, the `release` label (istio/istio charts' own), the chart labels, part-of
    ({"annotations": {"meta.helm.sh/release-name": "istiod-1-24-2"}}, "Helm chart labels"),
    ({"labels": {"release": "istio"}}, "Helm chart labels"),
    ({"labels": {"helm.sh/chart": "istiod-1.24.2"}}, "Helm chart labels"),
    ({"labels": {"helm.sh/chart": "base-1.24.2"}}, "Helm chart labels"),
    ({"labels": {"helm.sh/chart": "gateway-1.24.6"}}, "Helm chart labels"),
    ({"labels": {"chart": "gateways"}}, "Helm chart labels"),   # IstioOperator gateway template labels
    ({"labels": {"chart": "istio-discovery"}}, "Helm chart labels"),
    ({"labels": {"app.kubernetes.io/part-of": "istio"}}, "Helm chart labels"),
    # not Istio's
    ({"labels": {"app": "istiod", "istio.io/rev": "1-24-6"}}, None),
    ({"labels": {"helm.sh/chart": "nginx-1.0", "release": "web", "app.kubernetes.io/part-of": "shop"},
      "annotations": {"meta.helm.sh/release-name": "web"}}, None),
    ({"labels": {"chart": "my-base-1"}}, None), ({}, None), ({"labels": None, "annotations": None}, None),
])
def test_istio_installed(meta: dict[str, Any], expected: str | None) -> None:
    assert mesh.istio_installed(meta) == expected


def test_helm_release_annotation_wins_over_a_release_label() -> None:
    meta = {"labels": {"release": "web"}, "annotations": {"meta.helm.sh/release-name": "istio-base"}}
    assert mesh.istio_installed(meta) == "Helm chart labels"
    meta = {"labels": {"release": "istio"}, "annotations": {"meta.helm.sh/release-name": "web"}}
    assert mesh.istio_installed(meta) is None


def test_helm_chart_label_wins_over_the_old_chart_label() -> None:
    assert mesh.istio_installed({"labels": {"helm.sh/chart": "web-1.0", "chart": "istio-discovery"}}) is None
    assert mesh.istio_installed({"labels": {"helm.sh/chart": "istiod-1.24.2", "chart": "web"}}) == "Helm chart labels"


# ================================================================ mesh: istiod_owners
def _service(name: str, ns: str = "istio-system", *, labels: dict | None = None, annotations: dict | None = None,
             selector: dict | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"selector": selector or {}}}


def _istiod_deployment(name: str, ns: str = "istio-system", pod_labels: dict | None = None,
                       app: str = "istiod") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"template": {"metadata": {"labels": pod_labels or {"app": app}}}}}


def owners_of(services: list[dict], deployments: list[dict]) -> dict[str, str]:
    return {key: owner for key, (owner, _) in mesh.istiod_owners(services, deployments).items()}


def test_istiod_owners_rule_by_rule() -> None:
    services = [
        _service("istiod-1-24-6"),                                                     # nothing behind, no labels
        _service("istiod-1-24-5", annotations={"asm.alibabacloud.com/managed-by-asm": "true"}),
        _service("istiod-asm", labels={"asm.alibabacloud.com/revision": "1-24-6"}),
        _service("istiod-1-22-8", labels={"operator.istio.io/component": "Pilot"}),    # Istio's, istiod gone
        _service("istiod-1-20-1", labels={"operator.istio.io/component": "Pilot"},
                 annotations={"asm.alibabacloud.com/managed-by-asm": "true"}),         # both: conflict
        _service("istiod-1-24-2", selector={"app": "istiod", "istio.io/rev": "1-24-2"}),  # backed by selector
        _service("istiod"),                                                            # backed by name
        _service("istio-ingressgateway"), _service("my-istiod"),                       # not istiod Services
    ]
    deployments = [
        _istiod_deployment("istiod"),
        _istiod_deployment("istiod-1-24-2-x", pod_labels={"app": "istiod", "istio.io/rev": "1-24-2"}),
    ]
    assert owners_of(services, deployments) == {
        "istio-system/istiod-1-24-6": "asm", "istio-system/istiod-1-24-5": "asm", "istio-system/istiod-asm": "asm",
        "istio-system/istiod-1-22-8": "istio", "istio-system/istiod-1-20-1": "conflict",
        "istio-system/istiod-1-24-2": "istio", "istio-system/istiod": "istio",
        "istio-system/istiod-1-24-2-x": "istio",   # the Deployment itself, no Service of its name
    }


def test_asm_labels_alone_are_asm_marks_so_with_install_labels_they_conflict() -> None:
    services = [_service("istio-ingressgateway"),   # skipped, and the Services after it are still read
                _service("istiod-1-24-6", labels={"asm.alibabacloud.com/revision": "1-24-6", "release": "istio"}),
                _service("istiod-1-24-5", labels={"release": "istio"},
                         annotations={"asm.alibabacloud.com/managed-by-asm": "true"})]
    assert owners_of(services, []) == {"istio-system/istiod-1-24-6": "conflict",
                                       "istio-system/istiod-1-24-5": "conflict"}


def test_objects_without_namespace_or_name() -> None:
    """Hand-made objects may lack metadata.namespace: keys stay `/<name>` on both sides; a nameless one is skipped."""
    services = [{"metadata": {"namespace": "istio-system"}}, {"metadata": {"name": "istiod"}},
                {"metadata": {"name": "istiod-1-24-6"}}]
    deployments = [{"metadata": {"name": "istiod", "labels": {"app": "istiod"}}},
                   {"metadata": {"labels": {"app": "istiod"}}}]
    assert owners_of(services, deployments) == {"/istiod": "istio", "/istiod-1-24-6": "asm", "/": "istio"}


def test_a_local_istiod_backs_a_service_only_in_its_own_namespace() -> None:
    services = [_service("istiod-1-24-6", selector={"app": "istiod"}),
                _service("istiod", "mesh-a", selector={"app": "istiod"})]
    deployments = [_istiod_deployment("istiod", "mesh-b")]
    assert owners_of(services, deployments) == {
        "istio-system/istiod-1-24-6": "asm", "mesh-a/istiod": "asm", "mesh-b/istiod": "istio"}


def test_a_deployment_that_is_no_istiod_backs_nothing() -> None:
    """Only `app: istiod` Deployments are control planes: a same-named app Deployment proves nothing."""
    services = [_service("istiod-1-24-6", selector={"app": "web"})]
    deployments = [_istiod_deployment("istiod-1-24-6", app="web")]
    assert owners_of(services, deployments) == {"istio-system/istiod-1-24-6": "asm"}


def test_a_selector_must_match_all_of_its_labels() -> None:
    services = [_service("istiod-1-24-6", selector={"app": "istiod", "istio.io/rev": "1-24-6"})]
    deployments = [_istiod_deployment("istiod", pod_labels={"app": "istiod", "istio.io/rev": "1-24-2"})]
    assert owners_of(services, deployments)["istio-system/istiod-1-24-6"] == "asm"


def test_istiod_owners_say_why() -> None:
    services = [_service("istiod-1-24-6"), _service("istiod-1-24-2", selector={"app": "istiod"}),
                _service("istiod-1-22-8", labels={"release": "istio"}),
                _service("istiod-1-20-1", labels={"release": "istio"}, annotations={"asm.alibabacloud.com/x": "1"})]
    owners = mesh.istiod_owners(services, [_istiod_deployment("istiod")])
    assert owners == {
        "istio-system/istiod-1-24-6": ("asm", "Service istio-system/istiod-1-24-6 has no local istiod behind it "
                                              "and no Istio install labels"),
        "istio-system/istiod-1-24-2": ("istio", "istiod Deployment istio-system/istiod runs in the cluster"),
        "istio-system/istiod-1-22-8": ("istio", "Service istio-system/istiod-1-22-8 carries Helm chart labels"),
        "istio-system/istiod-1-20-1": ("conflict", "Service istio-system/istiod-1-20-1 carries ASM's "
                                                   "asm.alibabacloud.com marks and Helm chart labels"),
        "istio-system/istiod": ("istio", "istiod Deployment istio-system/istiod runs in the cluster"),
    }


def test_conflicting_owner_makes_any_proxy_unknown() -> None:
    for env, image in ((True, "asm"), (False, "asm"), (False, "istio"), (False, "")):
        assert mesh.classify(mesh.ProxyMarks(env, image, mesh.OWNER_CONFLICT)) == "unknown"


# ================================================================ mesh: asm_istiod_versions
def test_asm_istiod_versions_only_from_asm_version_named_services_in_istio_system() -> None:
    owners = {
        "istio-system/istiod-1-24-6": ("asm", ""), "istio-system/istiod-1-22-4": ("asm", ""),
        "istio-system/istiod-1-24-2": ("istio", ""),      # Istio's own version-named revision
        "istio-system/istiod-1-20-1": ("conflict", ""),   # ASM's marks and Istio's labels
        "mesh-system/istiod-1-23-1": ("asm", ""),         # not istio-system
        "istio-system/istiod-canary": ("asm", ""), "istio-system/istiod-1-24": ("asm", ""),
        "istio-system/istiod-1-24-6-1": ("asm", ""), "istio-system/istiod": ("asm", ""),
        "istio-system/istiod-100-1-1": ("asm", ""),       # not a version (major > 99)
    }
    assert mesh.asm_istiod_versions(owners) == [("istiod-1-24-6", mesh.Version(1, 24, 6)),
                                                ("istiod-1-22-4", mesh.Version(1, 22, 4))]


# ================================================================ gateways: what makes a gateway
INJ = shapes.Injector("1.24.6")
HELM_GATEWAY = shapes.helm_gateway(INJ, "istio-ingress", "istio-ingress")[1]   # the chart's Deployment
IOP_GATEWAY = shapes.iop_gateway(INJ, "istio-ingressgateway", "IngressGateways", istio_label="ingressgateway")[0]
API_GATEWAY = shapes.gateway_api(INJ, "public", "web")[2]                       # `public-istio`


def _proxy(dep: dict[str, Any]) -> dict[str, Any] | None:
    return mesh.find_proxy_container(dep["spec"]["template"]["spec"])[0]


def _tmpl_labels(dep: dict[str, Any]) -> dict[str, str]:
    return {**dep["metadata"].get("labels", {}), **dep["spec"]["template"]["metadata"].get("labels", {})}


def test_gateway_shaped_by_the_real_installs() -> None:
    assert g._gateway_shaped(HELM_GATEWAY["spec"]["template"], _proxy(HELM_GATEWAY), _tmpl_labels(HELM_GATEWAY)) == (
        "gateway injection template (istio-proxy only, image auto)")
    assert g._gateway_shaped(IOP_GATEWAY["spec"]["template"], _proxy(IOP_GATEWAY), _tmpl_labels(IOP_GATEWAY)) == (
        "istio-proxy runs `proxy router`")
    assert g._gateway_shaped(API_GATEWAY["spec"]["template"], _proxy(API_GATEWAY), _tmpl_labels(API_GATEWAY)) == (
        "Gateway API deployment (gateway-name label)")


def _template(containers: list[dict], annotations: dict | None = None) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations or {}}, "spec": {"containers": containers}}


PROXY_AUTO = {"name": "istio-proxy", "image": "auto"}
PROXY_REAL = {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.6"}
SIDECAR = {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.6", "args": ["proxy", "sidecar"]}
APP = {"name": "web", "image": "nginx:1.27"}


@pytest.mark.parametrize("template,proxy,labels,expected", [
    (_template([]), None, {"gateway.networking.k8s.io/gateway-name": "public"},
     "Gateway API deployment (gateway-name label)"),
    (_template([]), None, {"istio.io/gateway-name": "public"}, "Gateway API deployment (gateway-name label)"),
    (_template([]), None, {"gateway.istio.io/managed": "istio.io-gateway-controller"},
     "Gateway API deployment (gateway-name label)"),
    (_template([]), None, {"gateway.istio.io/managed": ""}, ""),
    (_template([]), None, {"app": "istio-ingressgateway", "istio": "ingressgateway"}, ""),
    # the chart's template: either mark alone, with the istio-proxy container alone
    (_template([PROXY_REAL], {"inject.istio.io/templates": "gateway"}), PROXY_REAL, {},
     "gateway injection template (istio-proxy only, image auto)"),
    (_template([PROXY_AUTO]), PROXY_AUTO, {}, "gateway injection template (istio-proxy only, image auto)"),
    (_template([PROXY_REAL], {"inject.istio.io/templates": "sidecar"}), PROXY_REAL, {}, ""),
    # the injector gives it the gateway template (`proxy router`) whatever runs beside istio-proxy: the gateway
    # chart's additionalContainers @1.27+ (red22a); image auto beside an app without it is a customised sidecar
    (_template([APP, PROXY_AUTO], {"inject.istio.io/templates": "gateway"}), PROXY_AUTO, {},
     "gateway injection template (inject.istio.io/templates: gateway)"),
    (_template([APP, PROXY_AUTO], {"inject.istio.io/templates": "gateway,spire"}), PROXY_AUTO, {},
     "gateway injection template (inject.istio.io/templates: gateway)"),
    (_template([APP, PROXY_AUTO]), PROXY_AUTO, {}, ""),
    (_template([APP, PROXY_AUTO], {"inject.istio.io/templates": "sidecar,spire"}), PROXY_AUTO, {}, ""),
    (_template([APP, SIDECAR]), SIDECAR, {"istio": "ingressgateway"}, ""),   # manual injection of an app
    ({}, PROXY_AUTO, {}, "gateway injection template (istio-proxy only, image auto)"),
])
def test_gateway_shaped(template: dict, proxy: dict | None, labels: dict, expected: str) -> None:
    assert g._gateway_shaped(template, proxy, labels) == expected


@pytest.mark.parametrize("meta,labels,asm,expected", [
    ({}, {}, True, "asm"),
    ({"labels": {"operator.istio.io/component": "IngressGateways"}}, {"gateway.istio.io/managed": "x"}, True, "asm"),
    ({}, {"gateway.networking.k8s.io/gateway-name": "public"}, False, "gateway-api"),
    ({}, {"istio.io/gateway-name": "public"}, False, "gateway-api"),
    ({}, {"gateway.istio.io/managed": "istio.io-gateway-controller"}, False, "gateway-api"),
    ({"labels": {"operator.istio.io/component": "IngressGateways"}}, {"gateway.istio.io/managed": "x"}, False,
     "gateway-api"),
    ({"labels": {"operator.istio.io/component": "IngressGateways"}}, {}, False, "istioctl"),
    ({"labels": {"install.operator.istio.io/owning-resource": "installed-state"}}, {}, False, "istioctl"),
    # the operator's labels on the pod template only do not make the Deployment istioctl's
    ({}, {"operator.istio.io/component": "IngressGateways"}, False, "other"),
    ({"labels": {"operator.istio.io/component": "IngressGateways", "app.kubernetes.io/managed-by": "Helm"}}, {},
     False, "istioctl"),
    ({"labels": {"app.kubernetes.io/managed-by": "Helm"}}, {}, False, "helm"),
    ({"annotations": {"meta.helm.sh/release-name": "edge-gw"}}, {}, False, "helm"),
    ({"labels": {"helm.sh/chart": "gateway-1.24.6"}}, {}, False, "helm"),
    ({"labels": {"helm.sh/chart": "nginx-1.0", "app.kubernetes.io/managed-by": "kustomize"}}, {}, False, "other"),
    ({"labels": None, "annotations": None}, {}, False, "other"),
])
def test_installed_by(meta: dict, labels: dict, asm: bool, expected: str) -> None:
    assert g._installed_by(meta, labels, asm) == expected


def test_installed_by_the_real_installs() -> None:
    for dep, expected in ((HELM_GATEWAY, "helm"), (IOP_GATEWAY, "istioctl"), (API_GATEWAY, "gateway-api")):
        assert g._installed_by(dep["metadata"], _tmpl_labels(dep), False) == expected


@pytest.mark.parametrize("labels,name,expected", [
    ({"asm.alibabacloud.com/gateway-type": "cross-network", "istio": "ingressgateway"}, "x", "eastwest"),
    ({"asm.alibabacloud.com/gateway-type": "Egress"}, "istio-ingressgateway", "egress"),
    ({"asm.alibabacloud.com/gateway-type": "bogus", "istio": "egressgateway"}, "x", "egress"),
    ({"istio": "ingressgateway"}, "istio-egressgateway", "ingress"),
    ({"istio": "eastwestgateway"}, "x", "eastwest"),
    ({"istio": "ingress"}, "x", None),   # a renamed gateway: not stated outright
    ({}, "istio-ingressgateway", "ingress"), ({}, "istio-egressgateway", "egress"),
    ({}, "istio-eastwestgateway", "eastwest"),
    ({}, "asm-egressgateway", "egress"), ({}, "istio-asm-egressgateway", "egress"),
    ({}, "edge", None), ({}, "istio-edge", None),
])
def test_gateway_type_of_default_names(labels: dict, name: str, expected: str | None) -> None:
    assert g.gateway_type_of(labels, name, GatewaysConfig()) == expected


def test_gateway_type_of_configured_names() -> None:
    names = GatewaysConfig(istio_ingress="edge-in", istio_egress="edge-out", istio_eastwest="edge-ew",
                           asm_ingress="asm-in", asm_egress="asm-out")
    got = {n: g.gateway_type_of({}, n, names) for n in (
        "edge-in", "edge-out", "edge-ew", "asm-in", "istio-asm-in", "asm-out", "istio-asm-out", "istio-ingressgateway")}
    assert got == {"edge-in": "ingress", "edge-out": "egress", "edge-ew": "eastwest", "asm-in": "ingress",
                   "istio-asm-in": "ingress", "asm-out": "egress", "istio-asm-out": "egress",
                   "istio-ingressgateway": None}


@pytest.mark.parametrize("labels,name,expected", [
    ({"istio": "ingress"}, "x", "ingress"), ({"istio": "Egress-Main"}, "x", "egress"),
    ({"app": "edge-eastwest"}, "x", "eastwest"), ({"app": "east-west"}, "x", "eastwest"),
    ({}, "cross-cluster-crossnetwork", "eastwest"), ({}, "edge-egress", "egress"),
    ({"istio": "ingress", "app": "egress"}, "eastwest", "ingress"),   # the istio label first, then app, then name
    ({"app": "egress"}, "eastwest", "egress"),
    ({}, "edge", None), ({"istio": "", "app": ""}, "", None),
])
def test_renamed_gateway_type(labels: dict, name: str, expected: str | None) -> None:
    assert g._renamed_gateway_type(labels, name) == expected


@pytest.mark.parametrize("meta,expected", [
    ({"labels": {"asm.alibabacloud.com/managed-by-asm": "true"}}, True),
    ({"annotations": {"asm.alibabacloud.com/istio-gateway": "istio-system/ingress"}}, True),
    ({"ownerReferences": [{"kind": "ReplicaSet"}, {"kind": "IstioGateway", "name": "ingress"}]}, True),
    ({"ownerReferences": [{"kind": "Gateway", "name": "public"}]}, False),
    ({"labels": {"app": "istio-ingressgateway"}, "annotations": {"provider": "asm"}}, False),
    ({"labels": None, "annotations": None, "ownerReferences": None}, False),
])
def test_has_asm_marker(meta: dict, expected: bool) -> None:
    assert g._has_asm_marker(meta) is expected


@pytest.mark.parametrize("labels,proxy,expected", [
    ({"istio.io/waypoint-for": "service"}, None, True), ({"gateway.istio.io/waypoint-for": "workload"}, None, True),
    ({"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint"}, None, True),
    ({"gateway.networking.k8s.io/gateway-class-name": "istio"}, None, False), ({}, None, False),
    # istiod's waypoint template (1.20 to 1.28) runs `proxy waypoint`; gateways `proxy router`, sidecars `proxy sidecar`
    ({}, {"name": "istio-proxy", "args": ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local"]},
     True),
    ({}, {"name": "istio-proxy", "args": ["proxy", "router"]}, False),
    ({}, {"name": "istio-proxy", "args": ["proxy", "sidecar"]}, False),
    ({}, {"name": "istio-proxy", "image": "auto"}, False),
])
def test_is_waypoint_workload(labels: dict, proxy: dict | None, expected: bool) -> None:
    assert mesh.is_waypoint_workload(labels, proxy) is expected


# ================================================================ gateways: role from the cluster's config
def inventory(objects: list[dict[str, Any]], kinds: tuple[K.Kind, ...] = (
        K.DEPLOYMENT, K.DAEMONSET, K.SERVICE, K.GATEWAY, K.VIRTUALSERVICE, K.SERVICEENTRY)) -> ClusterInventory:
    """A cluster holding `objects` with every kind in `kinds` collected (others: not collected)."""
    by_kind: dict[str, list[dict[str, Any]]] = {k.key: [] for k in kinds}
    for obj in objects:   # Gateway API Gateways, pods, ConfigMaps...: not read by the gateway finder
        if obj.get("apiVersion", "").startswith("gateway.networking.k8s.io"):
            continue
        kind = next((k for k in kinds if k.kind == obj.get("kind")), None)
        if kind is not None:
            by_kind[kind.key].append(obj)
    return ClusterInventory(name="cluster-a", objects_by_kind=by_kind)


POD_LABELS = {"app": "edge", "istio": "edge"}


def _svc(name: str, ns: str = "istio-system", *, selector: dict | None = POD_LABELS, network: bool = True,
         ports: tuple[int, ...] = (15443,)) -> dict[str, Any]:
    labels = {"app": name, **({"topology.istio.io/network": "network-1"} if network else {})}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"selector": selector or {}, "ports": [{"name": f"p{p}", "port": p} for p in ports]}}


def _gw(name: str, *, selector: dict | None = POD_LABELS, tls: str | None = None, ns: str = "istio-system") -> dict:
    return shapes.istio_gateway_object(name, ns, selector or {}, ["*.example.com"], tls_mode=tls,
                                       port=443 if tls else 80)


def _vs(name: str, gateways: list[Any], ns: str = "shop", to: str | None = None) -> dict[str, Any]:
    """A VirtualService bound to `gateways`; `to`: one http route (no match) to that host."""
    spec: dict[str, Any] = {"hosts": ["api.example.com"], "gateways": gateways}
    if to:
        spec["http"] = [{"route": [{"destination": {"host": to, "port": {"number": 80}}}]}]
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def role(objects: list[dict], kinds: tuple[K.Kind, ...] | None = None) -> tuple[str, str] | None:
    """(role, why) of _role_from_config; role_and_unread gives what it could not read too."""
    found = role_and_unread(objects, kinds)
    return None if found is None else found[:2]


def role_and_unread(objects: list[dict], kinds: tuple[K.Kind, ...] | None = None) -> tuple[str, str, str] | None:
    cluster = inventory(objects, kinds) if kinds is not None else inventory(objects)
    return g._role_from_config(cluster, "istio-system", dict(POD_LABELS))


def test_role_from_an_east_west_service() -> None:
    assert role([_svc("edge-ew")]) == ("eastwest", "Service istio-system/edge-ew is labelled topology.istio.io/network")
    assert role([_svc("edge-ew", ports=(80, 15008))])[0] == "eastwest"
    assert role([_svc("web", selector={"app": "web"}), _svc("edge-ew")])[0] == "eastwest"   # every Service read


@pytest.mark.parametrize("service", [
    _svc("edge", ports=(80, 443)),                   # no east-west port
    _svc("edge", network=False),                     # no network label
    _svc("edge", ns="istio-ingress"),                # other namespace
    _svc("edge", selector={"app": "other"}),         # other pods
    _svc("edge", selector={}),                       # selects nothing (an empty selector matches no pods here)
])
def test_services_that_say_nothing_of_the_role(service: dict) -> None:
    assert role([service]) is None


def test_no_services_and_no_gateways_collected_tell_nothing() -> None:
    assert role([_svc("edge-ew")], kinds=(K.DEPLOYMENT,)) is None
    assert role([_gw("edge-gw")], kinds=(K.SERVICE,)) is None


def test_role_from_istio_gateways() -> None:
    assert role([_gw("edge-gw")]) == ("ingress", "Gateway istio-system/edge-gw selects its pods (traffic from "
                                                 "outside the mesh)")
    assert role([_gw("cross-network-gateway", tls="AUTO_PASSTHROUGH")]) == (
        "eastwest", "Gateway istio-system/cross-network-gateway passes mTLS through (AUTO_PASSTHROUGH)")
    assert role([_gw("edge-tls", tls="SIMPLE")])[0] == "ingress"
    # every selecting Gateway is read: a later AUTO_PASSTHROUGH one makes it east-west
    assert role([_gw("a-web"), _gw("b-cross", tls="AUTO_PASSTHROUGH")])[0] == "eastwest"
    assert role([_gw("a-web"), _gw("b-web")])[1] == ("Gateway istio-system/a-web selects its pods (traffic from "
                                                     "outside the mesh)")


@pytest.mark.parametrize("gateway", [_gw("edge-gw", selector={}), _gw("edge-gw", selector={"istio": "other"})])
def test_gateways_that_select_other_pods_tell_nothing(gateway: dict) -> None:
    assert role([gateway]) is None


CNN = "edition.cnn.com"   # the egress-gateway task's external host (istio/istio.io egress-gateway snips.sh)
OUT_WHY = "no Service or ServiceEntry of the cluster answers to it"


def test_a_virtualservice_binding_mesh_and_the_gateway_supports_egress() -> None:
    """gw14 typed egress on the binding of `mesh` with the Gateway alone. The VirtualService reference tells users to
    bind `mesh` with a Gateway to apply one set of rules to both sides (istio/api networking/v1alpha3/
    virtual_service.proto, VirtualService.gateways), an ingress pattern too; since gwrole14 where the routes bound to
    the Gateway send decides, the binding only supports it (the intent kept: which VirtualService binds what)."""
    assert role([_gw("egress-gw"), _vs("out", ["mesh", "istio-system/egress-gw"], to=CNN)]) == (
        "egress", f"VirtualService shop/out sends traffic of Gateway istio-system/egress-gw to {CNN} ({OUT_WHY}); "
                  "VirtualService shop/out binds Gateway istio-system/egress-gw with `mesh`")
    # a short name is the VirtualService's own namespace
    assert role([_gw("egress-gw"), _vs("out", ["mesh", "egress-gw"], ns="istio-system", to=CNN)])[0] == "egress"
    assert role([_gw("egress-gw"), _vs("out", ["mesh", "egress-gw"], to=CNN)])[0] == "ingress"   # shop/egress-gw
    assert role([_gw("egress-gw"), _vs("out", ["mesh", "istio-system/other"], to=CNN)])[0] == "ingress"
    assert role([_gw("egress-gw"), _vs("out", ["mesh", None, {"x": 1}, "istio-system/egress-gw"], to=CNN)])[0] == (
        "egress")
    # the forms istiod resolves (resolveGatewayName, istio/istio@1.30.3:pilot/pkg/model/config.go): ./name, the
    # legacy FQDN name.ns.svc.cluster.local and name.ns (main: not bound, ingress - a false GO for an egress gateway)
    for bound in ("./egress-gw", "egress-gw.istio-system.svc.cluster.local", "egress-gw.istio-system"):
        assert role([_gw("egress-gw"), _vs("out", ["mesh", bound], ns="shop" if "." in bound[1:] else "istio-system",
                                           to=CNN)])[0] == "egress", bound
    # without `mesh` the route bound to the Gateway still sends out of the cluster
    assert role([_gw("egress-gw"), _vs("out", ["istio-system/egress-gw"], to=CNN)]) == (
        "egress", f"VirtualService shop/out sends traffic of Gateway istio-system/egress-gw to {CNN} ({OUT_WHY})")
    # the binding alone, no route bound to the Gateway: not told (gw14: egress)
    assert role_and_unread([_gw("egress-gw"), _vs("out", ["mesh", "istio-system/egress-gw"])])[0] == "unknown"
    # bound with `mesh` but sending to a Service of the cluster: ingress (gw14: egress)
    web = _svc("web", "shop", selector={"app": "web"}, network=False, ports=(80,))
    assert role([_gw("egress-gw"), web, _vs("out", ["mesh", "istio-system/egress-gw"], to="web")]) == (
        "ingress", "Gateway istio-system/egress-gw selects its pods and the routes bound to it go to Services of the "
                   "cluster (traffic from outside the mesh); VirtualService shop/out binds Gateway "
                   "istio-system/egress-gw with `mesh`")
    # VirtualServices not collected: where the routes send is unread, so the role is not guessed
    # (an egress gateway taken for ingress counts as replaced by ASM's ingress gateway: a false GO)
    assert role_and_unread([_gw("egress-gw"), _vs("out", ["mesh", "istio-system/egress-gw"], to=CNN)],
                           kinds=(K.SERVICE, K.GATEWAY)) == (
        "unknown", "Gateway istio-system/egress-gw selects its pods, but what tells egress from ingress (where the "
                   "routes bound to it send) could not be read: virtualservices.networking.istio.io (not collected)",
        "virtualservices.networking.istio.io (not collected)")
    # ...and so with the Services unread (whether a host is a Service of the cluster is unseen)
    assert role_and_unread([_gw("egress-gw"), _vs("out", ["mesh"])], kinds=(K.GATEWAY, K.VIRTUALSERVICE))[::2] == (
        "unknown", "services (not collected)")
    assert role_and_unread([_gw("egress-gw"), _vs("out", ["istio-system/egress-gw"], to=CNN)],
                           kinds=(K.GATEWAY, K.VIRTUALSERVICE, K.SERVICEENTRY))[::2] == (
        "unknown", "services (not collected)")
    # ...whereas what they would tell is told without them: AUTO_PASSTHROUGH is east-west, read or not
    assert role_and_unread([_gw("cross", tls="AUTO_PASSTHROUGH")], kinds=(K.SERVICE, K.GATEWAY))[::2] == (
        "eastwest", "")
    # the reason names the Gateway both select, not another the VirtualService binds
    assert role([_gw("egress-gw"), _vs("out", ["mesh", "a-team/aaa", "istio-system/egress-gw"], to=CNN)])[1].endswith(
        "VirtualService shop/out binds Gateway istio-system/egress-gw with `mesh`")


def _entry(host: str, location: str | None = None, ns: str = "istio-system") -> dict[str, Any]:
    spec: dict[str, Any] = {"hosts": [host], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
                            "resolution": "DNS"}
    if location:
        spec["location"] = location
    return {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
            "metadata": {"name": host.replace("*", "any").replace(".", "-"), "namespace": ns}, "spec": spec}


def test_where_the_routes_bound_to_the_gateway_send_tells_egress_from_ingress() -> None:
    """gwrole14: a host no Service of the cluster answers to is external (egress); a MESH_INTERNAL ServiceEntry's host
    (a VM's, istio/api networking/v1alpha3/service_entry.proto Location) is the mesh's (ingress); an ExternalName
    Service sends out of the cluster; match.gateways overrides the VirtualService's gateways
    (virtual_service.proto HTTPMatchRequest.gateways); a delegate's routes count (Delegate)."""
    gw = _gw("edge-gw")
    bound = ["istio-system/edge-gw"]
    assert role([gw, _entry(CNN), _vs("out", bound, to=CNN)]) == (
        "egress", f"VirtualService shop/out sends traffic of Gateway istio-system/edge-gw to {CNN} (a ServiceEntry "
                  "host, MESH_EXTERNAL)")
    assert role([gw, _entry("*.cnn.com"), _vs("out", bound, to=CNN)])[0] == "egress"
    assert role([gw, _entry("vm.internal", "MESH_INTERNAL"), _vs("out", bound, to="vm.internal")])[0] == "ingress"
    ext = _svc("cnn", "shop", selector={}, network=False, ports=(80,))
    ext["spec"] = {"type": "ExternalName", "externalName": CNN}
    assert role([gw, ext, _vs("out", bound, to="cnn")])[0] == "egress"
    # ServiceEntries unread: a host that is no Service may be a MESH_INTERNAL one's: not told
    assert role_and_unread([gw, _vs("out", bound, to=CNN)],
                           kinds=(K.SERVICE, K.GATEWAY, K.VIRTUALSERVICE))[::2] == (
        "unknown", "serviceentries.networking.istio.io (not collected)")
    # ...but routes to Services need no ServiceEntry
    web = _svc("web", "shop", selector={"app": "web"}, network=False, ports=(80,))
    assert role_and_unread([gw, web, _vs("in", bound, to="web")],
                           kinds=(K.SERVICE, K.GATEWAY, K.VIRTUALSERVICE))[::2] == ("ingress", "")
    # match.gateways: the mesh's rule does not apply to the Gateway; a rule naming it applies without the binding
    split = _vs("split", ["mesh", "istio-system/edge-gw"])
    split["spec"]["http"] = [
        {"match": [{"gateways": ["mesh"]}], "route": [{"destination": {"host": CNN}}]},
        {"match": [{"gateways": ["istio-system/edge-gw"]}], "route": [{"destination": {"host": "web"}}]}]
    assert role([gw, web, split])[0] == "ingress"
    named = _vs("named", ["mesh"])
    named["spec"]["tls"] = [{"match": [{"gateways": ["istio-system/edge-gw"], "sniHosts": [CNN]}],
                             "route": [{"destination": {"host": CNN}}]}]
    assert role([gw, named])[0] == "egress"
    # a delegate VirtualService's routes; one not found is not guessed
    root = _vs("root", bound)
    root["spec"]["http"] = [{"delegate": {"name": "leaf", "namespace": "out"}}]
    leaf = _vs("leaf", [], ns="out", to=CNN)
    del leaf["spec"]["gateways"]
    assert role([gw, root, leaf])[0] == "egress"
    assert role_and_unread([gw, root])[::2] == ("unknown", "delegate VirtualService out/leaf (not found)")


def _routing(name: str, host: str, *, gateways: list[str] | None = None, section: str = "http",
             ns: str = "shop") -> dict[str, Any]:
    spec: dict[str, Any] = {"hosts": ["api.example.com"],
                            section: [{"route": [{"destination": {"host": host, "port": {"number": 80}}}]}]}
    if gateways is not None:
        spec["gateways"] = gateways
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_a_mesh_route_into_the_gateways_service_supports_egress() -> None:
    """The egress pattern split in two VirtualServices: one applying to the mesh sends to the gateway's Service, one
    bound to its Gateway sends out (main before gw14: ingress, "any other Gateway"). gw14 typed egress on the mesh route
    alone; in-mesh callers of a public name are often sent to the ingress gateway's Service (hairpin), so since gwrole14
    the route bound to the Gateway decides: out of the cluster egress, to a Service ingress, none not told. The intent
    kept: which mesh routes count as sent into the gateway's Service."""
    front = _svc("edge-out", network=False, ports=(80,))
    out = _routing("out", "edge-out.istio-system.svc.cluster.local")  # no gateways: the mesh
    leaves = _routing("leave", CNN, gateways=["istio-system/edge-gw"])
    web = _svc("web", "shop", selector={"app": "web"}, network=False, ports=(80,))
    enters = _routing("enter", "web", gateways=["istio-system/edge-gw"])
    assert role([_gw("edge-gw"), front, out, leaves]) == (
        "egress", f"VirtualService shop/leave sends traffic of Gateway istio-system/edge-gw to {CNN} ({OUT_WHY}); "
                  "VirtualService shop/out routes mesh traffic to its Service istio-system/edge-out")
    assert role([_gw("edge-gw"), front, web, out, enters]) == (
        "ingress", "Gateway istio-system/edge-gw selects its pods and the routes bound to it go to Services of the "
                   "cluster (traffic from outside the mesh); VirtualService shop/out routes mesh traffic to its "
                   "Service istio-system/edge-out")
    assert role_and_unread([_gw("edge-gw"), front, out]) == (
        "unknown", "VirtualService shop/out routes mesh traffic to its Service istio-system/edge-out, but no route "
                   "bound to Gateway istio-system/edge-gw tells where it sends",
        "no route bound to Gateway istio-system/edge-gw tells where it sends (VirtualService shop/out routes mesh "
        "traffic to its Service istio-system/edge-out)")
    for vs in (_routing("out", "edge-out.istio-system", gateways=["mesh"], section="tls"),
               _routing("out", "edge-out", ns="istio-system", section="tcp"),    # short name: the rule's namespace
               _routing("out", "EDGE-OUT.istio-system.svc.cluster.local.")):
        assert role([_gw("edge-gw"), front, vs])[0] == "unknown"
    for vs in (_routing("out", "edge-out"),                                        # shop/edge-out: another Service
               _routing("out", "edge-out.other.svc.cluster.local"),
               _routing("out", "web.istio-system.svc.cluster.local")):
        assert role([_gw("edge-gw"), front, vs])[0] == "ingress"
    # bound to the Gateway, not the mesh's: a route to the gateway's own Service (a Service of the cluster)
    assert role([_gw("edge-gw"), front, _routing("out", "edge-out.istio-system",
                                                 gateways=["istio-system/edge-gw"])])[0] == "ingress"
    # a Service that does not select the pods is not the gateway's
    assert role([_gw("edge-gw"), _svc("edge-out", selector={"app": "x"}, network=False, ports=(80,)), out])[0] == (
        "ingress")


# ================================================================ gateways: the gateway workloads of a cluster
def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    import copy
    return copy.deepcopy(obj)


def _drop_ca_addr(dep: dict[str, Any]) -> None:
    """The image alone as a mark: without CA_ADDR, whose istiod (istiod.istio-system, not in these one-object
    clusters: an istiod the cluster does not have, mesh.OWNER_ABSENT) would contradict an ASM image."""
    proxy = dep["spec"]["template"]["spec"]["containers"][0]
    proxy["env"] = [e for e in proxy.get("env") or () if e.get("name") != "CA_ADDR"]


def found(objects: list[dict[str, Any]], kinds: tuple[K.Kind, ...] | None = None,
          names: GatewaysConfig | None = None) -> list[tuple]:
    cluster = inventory(objects, kinds) if kinds is not None else inventory(objects)
    return [(w.type, w.namespace, w.name, w.asm, w.reason, w.kind, w.installed_by)
            for w in g.gateway_workloads(cluster, mesh.ProxyRules(), names)]


TEMPLATE = "gateway injection template (istio-proxy only, image auto)"


def test_gateway_workloads_of_the_real_installs() -> None:
    objects = [*shapes.ambient_mesh(INJ), *shapes.injected_workload(INJ, "reviews", "bookinfo"),   # skipped first
               *shapes.helm_gateway(INJ, "istio-ingress", "istio-ingress"),
               *shapes.iop_gateway(INJ, "istio-egressgateway", "EgressGateways", istio_label="egressgateway"),
               *shapes.gateway_api(INJ, "public", "web")]
    assert found(objects) == [
        ("ingress", "istio-ingress", "istio-ingress", False, f"{TEMPLATE}; role named in its label or name",
         "Deployment", "helm"),
        ("egress", "istio-system", "istio-egressgateway", False,
         "istio-proxy runs `proxy router`; label istio / gateway name", "Deployment", "istioctl"),
        ("ingress", "web", "public-istio", False,
         "Gateway API deployment (gateway-name label); Gateway API Gateway public", "Deployment", "gateway-api"),
    ]   # the app, ztunnel and the waypoint are no gateways


def test_a_gateway_api_deployment_of_an_east_west_class_is_east_west() -> None:
    dep = _copy(API_GATEWAY)
    dep["metadata"]["labels"]["gateway.networking.k8s.io/gateway-class-name"] = "istio-east-west"
    assert found([dep])[0][:2] == ("eastwest", "web")
    dep["metadata"]["labels"] = {"istio.io/gateway-name": "legacy"}          # 1.18: only the old name label
    dep["spec"]["template"]["metadata"]["labels"] = {"istio.io/gateway-name": "legacy"}
    assert found([dep]) == [("ingress", "web", "public-istio", False, "Gateway API deployment (gateway-name label); "
                             "Gateway API Gateway legacy", "Deployment", "gateway-api")]


def test_a_gateway_whose_role_nothing_tells_is_still_judged_and_the_config_can_tell_it() -> None:
    edge = shapes.helm_gateway(INJ, "edge-gw", "edge")
    assert found(edge) == [("unknown", "edge", "edge-gw", False,
                            f"{TEMPLATE}; no label, name, Gateway or Service tells its role", "Deployment", "helm")]
    web = _gw("edge-web", selector={"istio": "edge-gw"}, ns="edge")
    assert found([*edge, web]) == [("ingress", "edge", "edge-gw", False, f"{TEMPLATE}; Gateway edge/edge-web selects "
                                    "its pods (traffic from outside the mesh)", "Deployment", "helm")]
    # the config is read for the pod template's labels: a Gateway selecting the Deployment's own labels only
    # (helm.sh/chart is not on the pods) selects no pod
    chart_only = _gw("edge-web", selector={"helm.sh/chart": "gateway-1.24.6", "istio": "edge-gw"}, ns="edge")
    for dep in edge:
        if dep.get("kind") == "Deployment":
            del dep["spec"]["template"]["metadata"]["labels"]["helm.sh/chart"]
    assert found([*edge, chart_only])[0][0] == "unknown"


def test_asm_gateways() -> None:
    from tests import factory as f

    typed = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")
    untyped = f.gateway_deployment("istio-edge", asm=True)          # role unknown: not a gateway to replace
    selected = _gw("edge-web", selector={"istio": "edge"})          # a Gateway selecting it does not make it one
    assert found([untyped, typed, selected]) == [
        ("ingress", "istio-system", "istio-ingressgateway-asm", True, "ASM marker/image; label istio / gateway name",
         "Deployment", "asm")]
    by_image = _copy(IOP_GATEWAY)                                   # no ASM marker: ASM's image alone
    by_image["spec"]["template"]["spec"]["containers"][0]["image"] = shapes.ASM_IMAGE_VPC
    _drop_ca_addr(by_image)
    assert found([by_image]) == [("ingress", "istio-system", "istio-ingressgateway", True,
                                  "ASM marker/image; label istio / gateway name", "Deployment", "asm")]
    conflicting = _copy(IOP_GATEWAY)                                # ASM's env on Istio's image: not ASM's
    conflicting["spec"]["template"]["spec"]["containers"][0]["env"] += [{"name": "ASM_ID", "value": "c0ffee00"}]
    assert found([conflicting]) == [("ingress", "istio-system", "istio-ingressgateway", False,
                                     "istio-proxy runs `proxy router`; label istio / gateway name", "Deployment",
                                     "istioctl")]


def _deployment(name: str, labels: dict, containers: list[dict], ns: str = "istio-system") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": {}},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": containers}}}}


def test_labels_and_names_make_a_gateway_unless_an_app_sidecar_runs_there() -> None:
    injected_app = _deployment("web", {"app": "web", "istio": "ingressgateway"}, [APP, SIDECAR])
    no_proxy = _deployment("istio-egressgateway", {"app": "istio-egressgateway"}, [APP])
    proxy_without_args = _deployment("edge", {"istio": "ingressgateway"}, [APP, PROXY_REAL])
    plain_app = _deployment("web-2", {"app": "web-2"}, [APP])
    assert found([injected_app, no_proxy, proxy_without_args, plain_app]) == [
        ("egress", "istio-system", "istio-egressgateway", False, "gateway label/name; label istio / gateway name",
         "Deployment", "other"),
        ("ingress", "istio-system", "edge", False, "gateway label/name; label istio / gateway name", "Deployment",
         "other"),
    ]


@pytest.mark.parametrize("on", ["deployment", "template"])
@pytest.mark.parametrize(("labels", "role"), [
    ({"istio": "egressgateway"}, "egress"),
    ({"asm.alibabacloud.com/gateway-type": "ingress"}, "ingress"),
    ({"gateway.networking.k8s.io/gateway-name": "public"}, "ingress"),  # a Gateway API deployment's default role
    ({"istio.io/gateway-name": "public"}, "ingress"),
    ({"gateway.istio.io/managed": "istio.io-gateway-controller"}, "ingress"),
    ({"istio": "pilot"}, None),  # istiod's label value: no role
    ({"app": "web"}, None),
])
def test_a_deployment_without_istio_proxy_is_a_gateway_by_its_own_or_its_templates_labels(
        on: str, labels: dict[str, str], role: str | None) -> None:
    """Deployments without istio-proxy are skipped before their labels are merged unless their own labels or their
    template's state a role or a Gateway API deployment: either one alone must still be seen."""
    dep = _deployment("edge", labels if on == "template" else {"app": "edge"}, [APP], ns="edge")
    if on == "deployment":
        dep["metadata"]["labels"] = labels
    assert [w[0] for w in found([dep])] == ([] if role is None else [role])


def test_a_configured_name_makes_a_deployment_without_istio_proxy_a_gateway() -> None:
    dep = _deployment("edge-out", {"app": "edge-out"}, [APP], ns="edge")
    assert found([dep]) == []
    assert [w[0] for w in found([dep], names=GatewaysConfig(istio_egress="edge-out"))] == ["egress"]


def test_gateway_daemonsets_only_when_daemonsets_were_read() -> None:
    ds = _copy(HELM_GATEWAY)
    ds["kind"] = "DaemonSet"
    assert found([ds]) == [("ingress", "istio-ingress", "istio-ingress", False,
                            f"{TEMPLATE}; role named in its label or name", "DaemonSet", "helm")]
    assert found([ds], kinds=(K.DEPLOYMENT, K.SERVICE)) == []


def test_configured_names_reach_the_gateway_finder() -> None:
    edge = shapes.helm_gateway(INJ, "edge-gw", "edge")
    assert found(edge, names=GatewaysConfig(istio_egress="edge-gw"))[0][0] == "egress"


def test_gateway_workloads_keep_labels_and_pod_labels() -> None:
    cluster = inventory([HELM_GATEWAY])
    [gw] = g.gateway_workloads(cluster, mesh.ProxyRules())
    assert gw.pod_labels == HELM_GATEWAY["spec"]["template"]["metadata"]["labels"]
    assert gw.labels == {**HELM_GATEWAY["metadata"]["labels"], **gw.pod_labels}


# ================================================================ findings: what blocks, and the verdict
def _finding(status: str, severity: str | None = "major", *, exempt: bool = False, check_id: str = "pods-xds-agent",
             name: str = "cart", code: str = "") -> Finding:
    return Finding(Status(status), "cluster-a", "msg", kind="Deployment", namespace="shop", name=name,
                   check_id=check_id, severity=Severity(severity) if severity else None, exempt=exempt, code=code,
                   gate="uninstall")


ROWS = [("FAIL", "blocker", False), ("FAIL", "major", False), ("FAIL", "minor", False), ("FAIL", "info", False),
        ("WARN", "blocker", False), ("WARN", "info", False), ("UNKNOWN", "blocker", False), ("PASS", "major", False),
        ("NOT_APPLICABLE", "major", False), ("FAIL", "blocker", True), ("WARN", "minor", True)]
BLOCKS = [True, True, False, False, False, False, False, False, False, False, False]
BLOCKS_STRICT = [True, True, True, True, True, True, False, False, False, False, False]


def test_blocking_mask_row_by_row() -> None:
    frame = findings_frame([_finding(s, sev, exempt=e) for s, sev, e in ROWS])
    assert blocking_mask(frame).tolist() == BLOCKS
    assert blocking_mask(frame, strict=True).tolist() == BLOCKS_STRICT
    assert blocking_mask(frame, False).tolist() == BLOCKS


def test_is_blocking_agrees_row_by_row() -> None:
    recs = [{"status": s, "severity": sev, "exempt": e} for s, sev, e in ROWS]
    assert [is_blocking(r) for r in recs] == BLOCKS
    assert [is_blocking(r, strict=True) for r in recs] == BLOCKS_STRICT
    assert is_blocking({"status": "FAIL", "severity": "major"}) is True   # no exempt key: not exempt
    assert is_blocking({"status": "FAIL", "severity": "major", "exempt": None}) is True


def verdict(rows: list[tuple[str, str | None, bool]], **kw: bool) -> Verdict:
    return verdict_of(findings_frame([_finding(s, sev, exempt=e) for s, sev, e in rows]), **kw)


def test_verdict_table() -> None:
    assert verdict_of(findings_frame([])) == "INCOMPLETE"
    assert verdict_of(findings_frame([]), allow_unknown=True) == "INCOMPLETE"
    assert verdict([("PASS", "major", False)]) == "GO"
    assert verdict([("PASS", "major", False), ("FAIL", "major", False)]) == "NO-GO"
    assert verdict([("FAIL", "minor", False)]) == "GO"
    assert verdict([("FAIL", "minor", False)], strict=True) == "NO-GO"
    assert verdict([("WARN", "major", False)]) == "GO"
    assert verdict([("WARN", "major", False)], strict=True) == "NO-GO"
    assert verdict([("UNKNOWN", "major", False), ("PASS", "major", False)]) == "INCOMPLETE"
    assert verdict([("UNKNOWN", "major", False)], allow_unknown=True) == "GO"
    assert verdict([("UNKNOWN", "major", True), ("PASS", "major", False)]) == "GO"      # an exempted UNKNOWN
    assert verdict([("UNKNOWN", "major", False), ("FAIL", "blocker", False)]) == "NO-GO"
    assert verdict([("UNKNOWN", "major", False), ("FAIL", "blocker", False)], allow_unknown=True) == "NO-GO"
    assert verdict([("FAIL", "blocker", True), ("PASS", "major", False)]) == "GO"       # an exempted FAIL
    assert verdict([("NOT_APPLICABLE", "major", False)]) == "GO"


# ================================================================ config: exemption matching
TODAY = dt.date(2026, 11, 15)


def _ex(**kw: Any) -> Exemption:
    return Exemption(**{"check": "pods-xds-agent", "reason": "CHG-7", **kw})


SUBJECT = ("pods-xds-agent", "cluster-a", "shop", "cart", "Deployment")


@pytest.mark.parametrize("kw,status,code,expected", [
    ({}, None, "", True), ({}, "FAIL", "", True), ({}, "WARN", "", True), ({}, "UNKNOWN", "", True),
    ({"status": ["WARN"]}, "FAIL", "", False), ({"status": ["WARN"]}, None, "", True),
    ({"check": "pods-*"}, "FAIL", "", True), ({"check": "pods-xds-agen"}, "FAIL", "", False),
    ({"check": "xds-agent-proxy-metadata"}, "FAIL", "", True),     # alias of pods-xds-agent
    ({"check": "AA0511"}, "FAIL", "AA0511", True), ({"check": "AA0511"}, "FAIL", "AA0512", False),
    ({"check": "AA0511"}, "FAIL", "", False),
    ({"cluster": "cluster-?"}, "FAIL", "", True), ({"cluster": "cluster-b"}, "FAIL", "", False),
    ({"namespace": "sh*"}, "FAIL", "", True), ({"namespace": "web"}, "FAIL", "", False),
    ({"name": "c*t"}, "FAIL", "", True), ({"name": "cart-*"}, "FAIL", "", False),
    ({"kind": "deployment"}, "FAIL", "", True), ({"kind": "DEPLOY*"}, "FAIL", "", True),
    ({"kind": "CronJob"}, "FAIL", "", False),
])
def test_exemption_matches(kw: dict, status: str | None, code: str, expected: bool) -> None:
    assert _ex(**kw).matches(*SUBJECT, status, code) is expected


def test_exemption_matches_empty_subject_fields_as_empty_strings() -> None:
    assert _ex().matches("pods-xds-agent", None, None, None, None, "FAIL") is True   # type: ignore[arg-type]
    assert _ex(namespace="?*").matches("pods-xds-agent", "cluster-a", "", "cart", "Deployment") is False
    assert _ex(kind="?*").matches("pods-xds-agent", "cluster-a", "shop", "cart", None) is False  # type: ignore[arg-type]
    assert _ex(cluster="?*").matches("pods-xds-agent", None, "shop", "cart", "Pod") is False  # type: ignore[arg-type]
    assert _ex(name="?*").matches("pods-xds-agent", "cluster-a", "shop", None, "Pod") is False  # type: ignore[arg-type]


def test_exemption_expiry_is_the_last_day_it_applies() -> None:
    assert _ex().expired(TODAY) is False
    assert _ex(expires=TODAY).expired(TODAY) is False
    assert _ex(expires=TODAY - dt.timedelta(days=1)).expired(TODAY) is True
    assert _ex(expires=TODAY + dt.timedelta(days=1)).expired(TODAY) is False


@pytest.mark.parametrize("pattern,expected", [
    ("*", True), ("**", True), ("?*", True), ("*?", True), ("[!-]*", False), ("[!@]*", True),
    ("istio-*", False), ("*-*", False), ("a", False), ("?", False),
])
def test_matches_any_id(pattern: str, expected: bool) -> None:
    assert matches_any_id(pattern) is expected


@pytest.mark.parametrize("pattern,ids,expected", [
    ("*-*", ["pods-xds-agent", "istio-version"], True),       # every registered id
    ("*-*", ["pods-xds-agent", "istio"], False),
    ("*-*", ["pods-xds-agent"], False),                        # one check only: naming it is naming a check
    ("istio-*", ["istio-version", "istio-sidecars-remaining"], True),
    ("*", [], True), ("?*", ["x"], True), ("pods-xds-agent", [], False),
])
def test_catch_all_checks(pattern: str, ids: list[str], expected: bool) -> None:
    assert catch_all_checks(pattern, iter(ids)) is expected


@pytest.mark.parametrize("check", ["*", "**", "?*", "[!@]*", " ", ""])
def test_an_exemption_of_every_check_is_refused(check: str) -> None:
    with pytest.raises(ValidationError):
        Exemption(check=check, reason="CHG-1")


def test_a_narrow_exemption_is_accepted() -> None:
    assert Exemption(check="istio-*", reason="CHG-1").check_id == "istio-*"
    assert Exemption(check="xds-agent-proxy-metadata", reason="CHG-1").check_id == "pods-xds-agent"


# ================================================================ findings: applying exemptions
def test_apply_exemptions_counts_first_match_unknowns_expired_and_unused() -> None:
    findings = [_finding("FAIL", name="cart"), _finding("UNKNOWN", name="cart"), _finding("WARN", name="web"),
                _finding("PASS", name="cart"), _finding("NOT_APPLICABLE", name="cart"),
                _finding("FAIL", name="cart", check_id="istio-version"),   # its check was not audited (engine row)
                _finding("UNKNOWN", name="cart"), _finding("FAIL", name="cloud")]   # still read after the skips
    exemptions = [_ex(name="cart", expires=TODAY - dt.timedelta(days=1)),   # expired: counts would-match only
                  _ex(name="cart", ticket="T-1", owner="sre"),            # first active match wins
                  _ex(name="c*"),
                  _ex(name="web", status=["FAIL"]),                       # WARN not covered
                  _ex(check="istio-version")]                             # only the unaudited row would match
    report = apply_exemptions(findings, exemptions, TODAY, audited_checks=["pods-xds-agent"])
    assert [f.exempt for f in findings] == [True, True, False, False, False, False, True, True]
    assert findings[0].exempt_reason == "CHG-7 [T-1] (owner sre)"
    assert findings[2].exempt_reason is None
    assert report.applied == {1: 3, 2: 1}
    assert report.unknown_exempted == {1: 2}
    assert report.would_match == {0: 3}
    assert report.expired == [exemptions[0]]
    assert report.unused == [exemptions[3], exemptions[4]]
    assert [report.state(i) for i in range(5)] == ["expired", "applied", "applied", "unused", "unused"]


def test_apply_exemptions_without_audited_checks_exempts_every_check() -> None:
    findings = [_finding("FAIL", check_id="engine"), _finding("WARN")]
    report = apply_exemptions(findings, [_ex(check="engine"), _ex()], TODAY)
    assert [f.exempt for f in findings] == [True, True]
    assert report.applied == {0: 1, 1: 1}
    assert report.unknown_exempted == {}
    assert report.audited_checks is None


def test_apply_exemptions_by_code() -> None:
    findings = [_finding("FAIL", code="AA0511"), _finding("FAIL", code="AA0512")]
    apply_exemptions(findings, [_ex(check="AA0511")], TODAY, audited_checks={"pods-xds-agent"})
    assert [f.exempt for f in findings] == [True, False]


def test_an_exempt_finding_in_a_frame_keeps_its_flag() -> None:
    frame = findings_frame([_finding("FAIL", exempt=True), _finding("FAIL")])
    assert frame["exempt"].tolist() == [True, False]
    assert isinstance(frame, pd.DataFrame)


def test_gateway_workloads_are_remembered_per_rules_and_names() -> None:
    """One scan per cluster, but a different config (rules or gateway names) is a different answer."""
    cluster = inventory(shapes.helm_gateway(INJ, "edge-gw", "edge"))
    assert [w.type for w in g.gateway_workloads(cluster, mesh.ProxyRules())] == ["unknown"]
    assert [w.type for w in g.gateway_workloads(cluster, mesh.ProxyRules(), GatewaysConfig(istio_egress="edge-gw"))
            ] == ["egress"]
    iop_gateway = _copy(IOP_GATEWAY)
    _drop_ca_addr(iop_gateway)
    iop = inventory([iop_gateway])
    default_rules = mesh.ProxyRules()   # kept alive: the memo keys on id(rules)
    claims_istio_image = mesh.ProxyRules(asm_image_patterns=[r"^docker\.io/istio/proxyv2:"])
    assert [w.asm for w in g.gateway_workloads(iop, default_rules)] == [False]
    assert [w.asm for w in g.gateway_workloads(iop, claims_istio_image)] == [True]


def test_a_gateway_deployment_without_namespace_or_name_keeps_empty_strings() -> None:
    """Hand-made snapshots may omit metadata.namespace (the snapshot reader allows it)."""
    dep = _deployment("istio-ingressgateway", {"istio": "ingressgateway"}, [APP])
    del dep["metadata"]["namespace"]
    nameless = _deployment("x", {"istio": "egressgateway"}, [APP], ns="edge")
    del nameless["metadata"]["name"]
    assert [(w.type, w.namespace, w.name) for w in g.gateway_workloads(inventory([dep, nameless]), mesh.ProxyRules())
            ] == [("ingress", "", "istio-ingressgateway"), ("egress", "edge", "")]


def test_a_gateway_whose_only_asm_mark_is_the_ca_of_asms_istiod_is_asms() -> None:
    ca_only = _copy(IOP_GATEWAY)
    proxy = ca_only["spec"]["template"]["spec"]["containers"][0]
    proxy["image"] = "harbor.corp.example/mesh/proxyv2" + DIGEST
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "CA_ADDR"] + [
        {"name": "CA_ADDR", "value": "istiod-1-24-6.istio-system.svc:15012"}]
    assert [w.asm for w in g.gateway_workloads(inventory([ca_only, shapes.asm_istiod_service()]),
                                               mesh.ProxyRules())] == [True]
    assert [w.asm for w in g.gateway_workloads(inventory([ca_only]), mesh.ProxyRules())] == [False]  # unproven


def test_a_deployment_with_only_the_managed_label_is_a_gateway_api_gateway() -> None:
    dep = _deployment("public-istio", {"gateway.istio.io/managed": "istio.io-gateway-controller"}, [PROXY_AUTO],
                      ns="web")
    assert found([dep]) == [("ingress", "web", "public-istio", False, "Gateway API deployment (gateway-name label); "
                             "Gateway API Gateway ", "Deployment", "gateway-api")]


def test_a_gateway_whose_only_asm_mark_is_asms_env_is_asms() -> None:
    env_only = _copy(IOP_GATEWAY)
    proxy = env_only["spec"]["template"]["spec"]["containers"][0]
    proxy["image"] = "harbor.corp.example/mesh/proxyv2" + DIGEST
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "CA_ADDR"] + [{"name": "ASM_ID", "value": "c0ffee00"}]
    assert [w.asm for w in g.gateway_workloads(inventory([env_only]), mesh.ProxyRules())] == [True]
