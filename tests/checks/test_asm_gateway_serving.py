"""asm-gateways-present at the uninstall gate: an ASM gateway declared for the cluster whose Deployment is there but
runs no available pod serves nothing, so it does not replace Istio's gateway (red18f).

ASM's IstioGateway controller creates the gateway as Deployment istio-<name> in istio-system of each cluster of
spec.clusterIds, with spec.replicaCount replicas; with the IstioGateway annotation
asm.alibabacloud.com/replicas-managed-by-asm: "false" (ASM >= 1.19) it leaves the replica count to an HPA, a CronHPA
or `kubectl scale` (alibabacloud.com/help/en/asm/user-guide/customize-the-scaling-policy-of-asm-gateway; field
reference: alibabacloud.com/help/en/asm/use-cases/define-a-custom-ingress-gateway-service-1694486964219). The
Deployment's status is as the Deployment controller writes it (kubernetes/api apps/v1 types.go DeploymentStatus:
replicas, readyReplicas, availableReplicas, unavailableReplicas are `omitempty`, so a count of 0 is absent;
condition Available=False reason MinimumReplicasUnavailable, kubernetes/kubernetes pkg/controller/deployment/util
deployment_util.go). Main passed AA1701 on the Deployment's presence alone: a GO with nothing behind ASM's side.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factory as f
from tests.checks.test_gateways import IDS, asm_ingress, asm_side, egress_gateways, ingress

CHECK = "asm-gateways-present"
ONLY = {**IDS, **f.only_checks(CHECK)}


def _asm_deployment(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def scaled_to_zero(dep: dict[str, Any]) -> None:
    """`kubectl scale --replicas=0` (or an HPA's scale-to-zero) once the controller has caught up: every count 0,
    so absent; Available stays True (0 of 0 wanted is not short)."""
    dep["spec"]["replicas"] = 0
    dep["status"] = {"observedGeneration": 2, "conditions": [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability."},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
         "message": f'ReplicaSet "{dep["metadata"]["name"]}-5d8f7c9b6" has successfully progressed.'}]}


def pods_not_ready(dep: dict[str, Any]) -> None:
    """Two pods created, none Ready (istio-proxy cannot reach its control plane, an image pull failure)."""
    dep["spec"]["replicas"] = 2
    dep["status"] = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "unavailableReplicas": 2,
                     "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                                     "message": "Deployment does not have minimum availability."}]}


def half_ready(dep: dict[str, Any]) -> None:
    dep["spec"]["replicas"] = 2
    dep["status"] = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1,
                     "availableReplicas": 1, "unavailableReplicas": 1}


INGRESS_CR = f.istio_gateway_cr("ingressgateway-asm", "ingress", cluster_ids=["c-a"])


@pytest.mark.parametrize("shape", [scaled_to_zero, pods_not_ready])
def test_an_asm_ingress_gateway_with_no_pod_available_does_not_replace_istios(audit, shape):
    """Main: PASS AA1701 "ASM ingress gateway ingressgateway-asm replaces istio-ingressgateway", a GO."""
    objects = [*ingress(), *asm_ingress()]
    shape(_asm_deployment(objects, "istio-ingressgateway-asm"))
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(INGRESS_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"], row["name"]) == (
        "FAIL", "AA1713", "blocker", "istio-ingressgateway")
    assert row["evidence"]["pods_available"] == 0
    assert "istio-system/istio-ingressgateway-asm" in row["message"]
    assert a.result.verdict == "NO-GO"


def test_an_asm_gateway_scaled_by_hpa_to_zero_for_egress(audit):
    """The egress side alike: ASM's egress gateway left to an HPA (replicas-managed-by-asm: "false") at 0."""
    objects = egress_gateways()
    scaled_to_zero(_asm_deployment(objects, "istio-asm-egressgateway"))
    cr = f.istio_gateway_cr("asm-egressgateway", "egress", cluster_ids=["c-a"])
    cr["metadata"]["annotations"]["asm.alibabacloud.com/replicas-managed-by-asm"] = "false"
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(cr))
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(CHECK)] == [
        ("FAIL", "AA1713", "istio-egressgateway")]
    assert a.result.verdict == "NO-GO"


def test_an_asm_gateway_with_some_pods_available_still_serves(audit):
    objects = [*ingress(), *asm_ingress()]
    half_ready(_asm_deployment(objects, "istio-ingressgateway-asm"))
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=asm_side(INGRESS_CR))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1701")
    assert (row["evidence"]["pods_desired"], row["evidence"]["pods_available"]) == (2, 1)
    assert a.result.verdict == "GO"


def test_the_asm_gateway_that_serves_is_the_one_matched(audit):
    """Two ASM ingress gateways for the cluster, the one named like Istio's scaled to 0: the other one, serving,
    replaces it (one Istio gateway, so no FEWER)."""
    other = [f.gateway_deployment("istio-ingressgateway-2", asm=True, gateway_type="ingress"),
             f.gateway_service("istio-ingressgateway-2")]
    objects = [*ingress(), *asm_ingress(), *other]
    scaled_to_zero(_asm_deployment(objects, "istio-ingressgateway-asm"))
    crs = asm_side(INGRESS_CR, f.istio_gateway_cr("ingressgateway-2", "ingress", cluster_ids=["c-a"]))
    a = audit({"cluster-a": objects}, "uninstall", config=ONLY, asm=crs)
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA1701")
    assert row["evidence"]["asm_gateway"] == "istio-system/ingressgateway-2"


def being_deleted(cr: dict[str, Any]) -> dict[str, Any]:
    """`kubectl delete --cascade=foreground` of the IstioGateway (or a controller's finalizer): the API server sets
    deletionTimestamp and keeps the object while finalizers remain (kubernetes/apimachinery pkg/apis/meta/v1 types.go
    FinalizerDeleteDependents = "foregroundDeletion"; apiserver pkg/registry/generic/registry/store.go
    updateForGracefulDeletionAndFinalizers)."""
    cr = {**cr, "metadata": {**cr["metadata"], "deletionTimestamp": "2026-11-20T09:00:00Z",
                             "deletionGracePeriodSeconds": 0, "finalizers": ["foregroundDeletion"]}}
    return cr


def test_an_asm_gateway_being_deleted_replaces_nothing(audit):
    """session 19 (red19c noticed): main PASS AA1701 on an IstioGateway being deleted whose Deployment still serves."""
    a = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=ONLY,
              asm=asm_side(being_deleted(INGRESS_CR)))
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA1718", "blocker")
    assert row["evidence"]["deletionTimestamp"] == "2026-11-20T09:00:00Z"
    assert a.result.verdict == "NO-GO"
    # The same gateway not being deleted replaces Istio's (the control).
    b = audit({"cluster-a": [*ingress(), *asm_ingress()]}, "uninstall", config=ONLY, asm=asm_side(INGRESS_CR))
    assert [(r["status"], r["code"]) for r in b.rows(CHECK)] == [("PASS", "AA1701")]


def test_a_serving_asm_gateway_beside_one_being_deleted_replaces_istios(audit):
    """Blue/green of ASM gateways (review19): ingressgateway-asm (the name-stem match) is being deleted while
    ingressgateway-2 serves the cluster: the one staying replaces Istio's (before: FAIL AA1718, a false NO-GO)."""
    other = [f.gateway_deployment("istio-ingressgateway-2", asm=True, gateway_type="ingress"),
             f.gateway_service("istio-ingressgateway-2")]
    a = audit({"cluster-a": [*ingress(), *asm_ingress(), *other]}, "uninstall", config=ONLY,
              asm=asm_side(being_deleted(INGRESS_CR),
                           f.istio_gateway_cr("ingressgateway-2", "ingress", cluster_ids=["c-a"])))
    assert [(r["status"], r["code"], r["evidence"]["asm_gateway"]) for r in a.rows(CHECK)] == [
        ("PASS", "AA1701", "istio-system/ingressgateway-2")]


def test_hosts_only_an_asm_gateway_being_deleted_serves_are_lost(audit):
    """review19: the matched ASM gateway serves b.example.com; a.example.com only the Gateway of edge-old, an ASM
    gateway being deleted, serves (before: PASS AA1701, a GO): a host it takes is lost with it (AA1715)."""
    from tests.checks.test_asm_gateway_hosts_ports import ASM_CR, ISTIO, gateway, istio_ingress, routes, server

    old = [f.gateway_deployment("istio-edge-old", asm=True, gateway_type="ingress", istio_label="edge-old"),
           f.gateway_service("istio-edge-old", selector={"app": "istio-edge-old", "istio": "edge-old"})]
    # Each Gateway with a VirtualService routing its hosts (a server without one serves nothing: red20f).
    istio_shop = gateway("shop", "shop", ISTIO, server(80, ["a.example.com", "b.example.com"]))
    shop_a = gateway("shop-a", "shop", {"istio": "edge-old"}, server(80, ["a.example.com"]))
    shop_b = gateway("shop-b", "shop", {"istio": "ingressgateway-asm"}, server(80, ["b.example.com"]))
    a = audit({"cluster-a": [*istio_ingress(), *asm_ingress(), *old, istio_shop, *routes(istio_shop)]},
              "uninstall", config=ONLY,
              asm=asm_side(ASM_CR, being_deleted(f.istio_gateway_cr("edge-old", "ingress", cluster_ids=["c-a"])),
                           shop_a, shop_b, *routes(shop_a, shop_b)))
    rows = [(r["status"], r["code"], r["name"]) for r in a.rows(CHECK)]
    assert ("FAIL", "AA1715", "istio-ingressgateway") in rows
    assert not any(status == "PASS" for status, _, _ in rows)
