"""The Helm gateway chart's Deployment with the user's containers beside istio-proxy (red22a).

Shape: `helm install istio-ingress istio/gateway -n istio-ingress` (tests/install_shapes.gateway_chart) with the
chart's `additionalContainers` value set (istio/istio manifests/charts/gateway values.yaml and templates/
deployment.yaml @1.27.0 .. @1.30.3: `{{- with .Values.additionalContainers }}` appended to the pod template's
containers after istio-proxy `image: auto`); its pods keep the chart's podAnnotations `inject.istio.io/templates:
gateway` (values.yaml), which the injector splits on "," (selectTemplates, pkg/kube/inject/inject.go @1.24.6): Istio's
SPIRE guide writes `gateway,spire`. The injector gives such pods the gateway template (`proxy router`) whatever else
runs beside istio-proxy.

Old: the scan took the gateway chart's template only with istio-proxy alone; neither gateway-shaped nor role-stated
(`istio: ingress` states no role), the Deployment was no gateway and its pods unexplained gateway pods: UNKNOWN AA1731 /
AA1531 at uninstall (INCOMPLETE where NO-GO AA1710 is right: no ASM gateway replaces it), and after the purge AA2318's
`kubectl delete deployment/...` where the gateway's release goes with `helm uninstall` (its ServiceAccount, Role,
RoleBinding, Service... stay after a `kubectl delete` of the Deployment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.findings import records
from tests import install_shapes as s
from tests.test_install_shapes import _belongs_to, audit

RELEASE = NAMESPACE = "istio-ingress"
VERSION = "1.27.3"
# The user's container, as `additionalContainers` writes it into the pod template.
LOG_SHIPPER = {"name": "log-shipper", "image": "fluent/fluent-bit:3.0.7"}


def _gateway_with_containers(templates: str) -> s.Shape:
    """Every application moved to ASM; Istio's control plane and the chart's gateway left."""
    shape = s.moved_to_asm(s.gateway_chart(RELEASE, NAMESPACE, VERSION))
    shape.objects = [o for o in shape.objects if not _belongs_to(o, shape.istio_sidecar_workloads)]
    for obj in shape.objects:
        if obj["kind"] not in ("Deployment", "ReplicaSet", "Pod") or obj["metadata"]["namespace"] != NAMESPACE:
            continue
        pod: dict[str, Any] = obj if obj["kind"] == "Pod" else obj["spec"]["template"]
        pod["spec"]["containers"].append(dict(LOG_SHIPPER))
        pod["metadata"].setdefault("annotations", {})["inject.istio.io/templates"] = templates
    return shape


def _purged(shape: s.Shape) -> s.Shape:
    """After `helm uninstall istiod` (and istio-base): istiod's Deployment, Service, ConfigMap and webhook gone."""
    gone = {(s.ISTIO_NS, "istiod")}
    shape.objects = [o for o in shape.objects if not _belongs_to(o, gone) and not (
        o["kind"] in ("Service", "ConfigMap", "MutatingWebhookConfiguration")
        and o["metadata"]["name"] in ("istiod", "istio", "istio-sidecar-injector"))]
    return shape


@pytest.mark.parametrize("templates", ["gateway", "gateway,spire"])
def test_uninstall_asks_an_asm_gateway_for_the_chart_gateway_with_another_container(tmp_path: Path,
                                                                                      templates: str) -> None:
    result = audit(tmp_path, _gateway_with_containers(templates), "uninstall", "Migrating")
    found = {(r["check_id"], r["status"], r["code"], r["name"]) for r in records(result.findings)}
    assert ("asm-gateways-present", "FAIL", "AA1710", RELEASE) in found
    assert not {code for _, _, code, _ in found} & {"AA1731", "AA1531"}
    assert result.verdict == "NO-GO"


def test_after_the_purge_the_chart_gateway_with_another_container_goes_with_its_release(tmp_path: Path) -> None:
    result = audit(tmp_path, _purged(_gateway_with_containers("gateway")), "finished", "Finished")
    residue = [r for r in records(result.findings) if r["check_id"] == "istio-residue" and r["status"] == "FAIL"]
    assert [(r["code"], r["kind"], r["namespace"], r["name"]) for r in residue] == [
        ("AA2310", "Deployment", NAMESPACE, RELEASE)]
    assert f" uninstall {RELEASE} -n {NAMESPACE}" in residue[0]["remediation"].splitlines()[0]
    assert result.verdict == "NO-GO"


def test_a_sidecar_app_asking_for_the_sidecar_template_is_no_gateway(tmp_path: Path) -> None:
    """Control: an application pod naming the sidecar template (`sidecar,spire`, the SPIRE guide's sidecar form) and
    an istio-proxy `image: auto` beside its container is a sidecar-injected app, no gateway."""
    shape = _gateway_with_containers("gateway")
    inj = s.Injector(VERSION)
    app = s.injected_workload(inj, "reviews", s.APPS_NS)
    for obj in app:
        if obj["kind"] == "Deployment":
            template = obj["spec"]["template"]
            template["metadata"].setdefault("annotations", {})["inject.istio.io/templates"] = "sidecar,spire"
            # customizing injection: an istio-proxy `image: auto` the injector fills in (sidecar-injection docs)
            template["spec"]["containers"].append({"name": "istio-proxy", "image": "auto"})
    shape.extend(app)
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    gateways = {r["name"] for r in records(result.findings) if r["check_id"] == "asm-gateways-present"}
    assert "reviews" not in gateways
