"""Idle workloads judged against Istio's injector as the istio-discovery chart writes it (red18g).

The injector of the default revision has four webhooks (istio/istio@1.24.6 and @1.30.3 manifests/charts/istio-control/
istio-discovery/templates/mutatingwebhook.yaml: rev.namespace., rev.object., namespace., object.), built by
tests/factory.py injector_hooks; a rendered istioctl gateway opts its pods out of injection (charts/gateways/
istio-ingress/templates/deployment.yaml @1.24.6: sidecar.istio.io/inject "false"). These pin what the check reads of
that shape: a workload scaled to zero in a namespace labelled istio-injection=enabled is selected by Istio's
`namespace.` webhook; the gateway scaled to zero is not.
"""

from __future__ import annotations

from typing import Any

from tests import install_shapes as S

CHECK = "istio-sidecars-remaining"


def scaled_to_zero(shape: S.Shape, namespace: str, name: str) -> list[dict[str, Any]]:
    out = []
    for obj in shape.objects:
        meta = obj["metadata"]
        if meta.get("namespace") != namespace:
            out.append(obj)
            continue
        owner = next(iter(meta.get("ownerReferences") or ()), {})
        if obj["kind"] == "Pod" and owner.get("name", "").startswith(f"{name}-"):
            continue  # its pods are gone
        if obj["kind"] == "Deployment" and meta["name"] == name:
            obj["spec"]["replicas"] = 0
            obj["status"] = {"observedGeneration": 2}
        if obj["kind"] == "ReplicaSet" and owner.get("name") == name:
            obj["spec"]["replicas"] = 0
            obj["status"] = {"replicas": 0}
        out.append(obj)
    return out


def rows(run: Any) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["kind"], r["name"]): (r["status"], r["code"]) for r in run.rows(CHECK)}


def test_a_workload_scaled_to_zero_in_an_injection_enabled_namespace_is_istios_to_inject(audit):
    shape = S.istioctl_profile("default", "1.24.6")
    objs = scaled_to_zero(shape, S.APPS_NS, "reviews")
    found = rows(audit({"c1": objs}, "uninstall"))
    assert ("Deployment", "reviews") in found, found
    print("ROWS", found)
    assert found[("Deployment", "reviews")][0] == "FAIL", found


def test_a_rendered_gateway_scaled_to_zero_opts_out_of_injection(audit):
    shape = S.istioctl_profile("default", "1.24.6")
    istio_system = next(o for o in shape.objects if o["kind"] == "Namespace" and o["metadata"]["name"] == S.ISTIO_NS)
    istio_system["metadata"]["labels"] = {"istio-injection": "enabled"}
    objs = scaled_to_zero(shape, S.ISTIO_NS, "istio-ingressgateway")
    found = rows(audit({"c1": objs}, "uninstall"))
    assert ("Deployment", "istio-ingressgateway") not in found, found
