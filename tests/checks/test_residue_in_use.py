"""istio-residue and istio-control-plane-removed never call what ASM's data plane uses a leftover to delete (res17).

purge-preview (AA2510) tells the operator to take operator.istio.io/component off the Istio-installed objects ASM's
data plane runs on, so that `istioctl uninstall --purge` leaves them. At the finished gate those objects are still
there, with the rest of Istio's install labels; the same rule (gateways.asm_data_plane_uses) keeps them out of the
leftovers. Shapes:
- the `istio-ingressgateway` Service: istio/istio@1.24.6:manifests/charts/gateways/istio-ingress/templates/service.yaml
  (labels = the gateway's + release, istio.io/rev, install.operator.istio.io/owning-resource,
  operator.istio.io/component "IngressGateways", app.kubernetes.io/name; selector = the gateway's labels);
- an IstioOperator gateway with an injection template: templates/injected-deployment.yaml @1.24.6 (istio-proxy
  `image: auto`, inject.istio.io/templates), its pods injected by whichever injector answers: ASM's;
- the gateway chart: manifests/charts/gateway/templates/deployment.yaml @1.24.6 (`image: auto`, Helm's labels and
  release annotations), its pods restarted where ASM's injector answers;
- `istioctl tag set <tag> --revision <ASM's revision>`: istioctl/pkg/tag/generate.go renders
  manifests/charts/istio-control/istio-discovery/templates/revision-tags.yaml @1.24.6 (istio.io/tag, istio.io/rev,
  install.operator.istio.io/owning-resource, operator.istio.io/component "Pilot", app: sidecar-injector, release,
  app.kubernetes.io/name "istiod"), its clientConfig calling `istiod-<revision>`: ASM's;
- the mesh ConfigMap `istio`: istio-discovery templates/configmap.yaml @1.24.6 (istio.io/rev,
  install.operator.istio.io/owning-resource, operator.istio.io/component "Pilot", release, app.kubernetes.io/name),
  mounted as config-volume by the gateways chart's Deployment (templates/deployment.yaml @1.24.6) that ASM's gateway
  was applied from.
ASM's side as tests/checks/test_purge_in_use.py builds it (asm_gateway, asm_istiod_service).
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests.checks.test_purge_in_use import asm_gateway, asm_istiod_service, chart_labels

CP = "istio-control-plane-removed"
RES = "istio-residue"
COMPONENT = "operator.istio.io/component"


def unlabelled(labels: dict[str, str]) -> dict[str, str]:
    """The labels once purge-preview's fix ran: `kubectl label ... operator.istio.io/component-`."""
    return {k: v for k, v in labels.items() if k != COMPONENT}


def finished(audit, objects: list[dict[str, Any]]):
    return audit({"cluster-a": objects}, "finished", asm=[f.migration_cr("Finished")])


def kept(row: dict[str, Any]) -> str:
    return " ".join(row["evidence"]["kept_as_asm_or_allowed"])


# ---------------------------------------------------------------- a revision tag calling ASM's istiod
def revision_tag(tag: str, revision: str, *, purge_label: bool) -> dict[str, Any]:
    labels = {"istio.io/tag": tag, "istio.io/rev": revision, "install.operator.istio.io/owning-resource": "unknown",
              COMPONENT: "Pilot", "app": "sidecar-injector", "release": "istio", "app.kubernetes.io/name": "istiod"}
    return f.webhook_config(f"istio-revision-tag-{tag}", service_name=f"istiod-{revision}", revision=tag,
                            labels=labels if purge_label else unlabelled(labels))


def asm_injection() -> list[dict[str, Any]]:
    canonical = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                 labels={"app": "sidecar-injector"})
    return [asm_istiod_service(), canonical]


def test_a_revision_tag_calling_asms_istiod_is_no_leftover(audit):
    # main: FAIL AA2212 "delete mutatingwebhookconfiguration/istio-revision-tag-default": ASM's injection path gone.
    a = finished(audit, [*asm_injection(), revision_tag("default", "1-24-6", purge_label=False)])
    (row,) = a.rows(CP)
    assert (row["status"], row["code"]) == ("PASS", "AA2201")
    assert "istio-revision-tag-default: in use by ASM's data plane" in kept(row)


def test_a_revision_tag_calling_asms_istiod_still_labelled_is_kept_with_its_label_taken_off(audit):
    # main: FAIL AA2212 with the delete command.
    a = finished(audit, [*asm_injection(), revision_tag("default", "1-24-6", purge_label=True)])
    (row,) = a.rows(CP)
    assert (row["status"], row["code"], row["kind"], row["name"]) == (
        "WARN", "AA2220", "MutatingWebhookConfiguration", "istio-revision-tag-default")
    assert row["remediation"].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label '
                                         "mutatingwebhookconfiguration/istio-revision-tag-default "
                                         "operator.istio.io/component-")
    assert "delete" not in row["remediation"].split("#")[0]


def test_a_namespace_pinned_to_the_tag_of_asms_revision_is_served(audit):
    # main: FAIL AA2314 "pinned to revision prod-stable, which no ASM injector serves": the tag's webhook (Istio's
    # labels) was not counted as ASM's although it calls ASM's istiod.
    shop = f.namespace("shop", labels={"istio.io/rev": "prod-stable"})
    a = finished(audit, [*asm_injection(), revision_tag("prod-stable", "1-24-6", purge_label=False), shop])
    assert [(r["status"], r["code"]) for r in a.rows(RES)] == [("PASS", "AA2301")]


def test_guard_a_revision_tag_calling_istios_own_istiod_is_still_a_leftover(audit):
    # Istio installed by revision 1-22-3: its Service carries Istio's install labels, so it is not ASM's.
    svc = f.service("istiod-1-22-3", "istio-system", labels={"app": "istiod", "istio.io/rev": "1-22-3",
                                                             **f.ISTIO_INSTALL_LABELS})
    a = finished(audit, [*asm_injection(), svc, revision_tag("prod-stable", "1-22-3", purge_label=False)])
    rows = [r for r in a.rows(CP) if r["status"] == "FAIL"]
    assert [(r["code"], r["name"]) for r in rows] == [("AA2212", "istio-revision-tag-prod-stable")]


# ---------------------------------------------------------------- gateways whose pods run ASM's proxy
def injected_gateway(*, purge_label: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """An IstioOperator east-west gateway rendered from injected-deployment.yaml @1.24.6."""
    proxy = {"name": "istio-proxy", "image": "auto", "ports": [{"containerPort": 15021}]}
    labels = chart_labels("IngressGateways", "istio-eastwestgateway", "eastwestgateway")
    pod_labels = {"app": "istio-eastwestgateway", "istio": "eastwestgateway", "sidecar.istio.io/inject": "true",
                  "service.istio.io/canonical-name": "istio-eastwestgateway", "topology.istio.io/network": "network-1"}
    return f.deployment("istio-eastwestgateway", "istio-system", replicas=2, template_labels=pod_labels,
                        template_annotations={"sidecar.istio.io/inject": "true",
                                              "inject.istio.io/templates": "gateway"},
                        containers=[proxy], labels={**(labels if purge_label else unlabelled(labels)),
                                                    "topology.istio.io/network": "network-1"})


def test_a_labelled_off_gateway_on_asms_proxy_is_no_leftover(audit):
    # main: FAIL AA2310 "delete deployment/istio-eastwestgateway": ASM's east-west traffic gone.
    dep_rs = injected_gateway(purge_label=False)
    pods = f.workload_pods(dep_rs, 2, proxy="asm", gateway=True, xds_agent=None)
    a = finished(audit, [*dep_rs, *pods])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert "Deployment istio-system/istio-eastwestgateway: in use by ASM's data plane" in kept(row)


def test_a_still_labelled_gateway_on_asms_proxy_warns_to_take_the_label_off(audit):
    # main: FAIL AA2310 with the delete command.
    dep_rs = injected_gateway(purge_label=True)
    pods = f.workload_pods(dep_rs, 2, proxy="asm", gateway=True, xds_agent=None)
    a = finished(audit, [*dep_rs, *pods])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["kind"], row["name"]) == (
        "WARN", "AA2329", "Deployment", "istio-eastwestgateway")
    assert row["remediation"].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label deployment/'
                                         "istio-eastwestgateway -n istio-system operator.istio.io/component-")


def test_a_gateway_partly_on_asms_proxy_is_restarted_not_deleted(audit):
    # One pod restarted under ASM's injector, one still on Istio's proxy. main: FAIL AA2310 "delete"; purge-preview
    # already read it as ASM's ("any pod"), residue needed all of them.
    dep_rs = injected_gateway(purge_label=False)
    pods = f.workload_pods(dep_rs, 1, proxy="asm", gateway=True, xds_agent=None)
    pods += f.workload_pods(dep_rs, 1, first=1, proxy="istio", gateway=True, xds_agent=None)
    a = finished(audit, [*dep_rs, *pods])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["kind"], row["name"]) == (
        "FAIL", "AA2317", "Deployment", "istio-eastwestgateway")
    assert row["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system rollout restart '
                                  "deployment/istio-eastwestgateway")


def test_a_gateway_chart_release_on_asms_proxy_is_not_uninstalled(audit):
    # `helm install istio-ingress istio/gateway -n istio-ingress`, its pods restarted under ASM's injector. main: FAIL
    # AA2310 "helm uninstall istio-ingress": ASM's gateway and its Service gone.
    from tests.checks.test_gateway_shapes import helm_gateway

    dep, rs, svc, *_ = helm_gateway("istio-ingress", "istio-ingress", version="1.24.6", pods=0)
    pods = f.workload_pods((dep, rs), 2, proxy="asm", gateway=True, xds_agent=None)
    a = finished(audit, [f.namespace("istio-ingress"), dep, rs, svc, *pods])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert "Deployment istio-ingress/istio-ingress: in use by ASM's data plane" in kept(row)


def test_guard_a_gateway_on_istios_proxy_is_still_a_leftover(audit):
    dep_rs = injected_gateway(purge_label=False)
    pods = f.workload_pods(dep_rs, 2, proxy="istio", gateway=True, xds_agent=None)
    a = finished(audit, [*dep_rs, *pods, asm_gateway()])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2310", "istio-eastwestgateway")
    assert row["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete '
                                  "deployment/istio-eastwestgateway")


# ---------------------------------------------------------------- Istio's gateway Service in front of ASM's gateway
def test_istios_leftover_gateway_goes_but_the_service_that_also_fronts_asms_gateway_stays(audit):
    # ASM's gateway pods carry `istio: ingressgateway` too, so Istio's Service (selector istio: ingressgateway, as
    # values gateways.istio-ingressgateway.labels may set it) sends the CLB's traffic to both. main: FAIL AA2310 whose
    # remediation deletes service/istio-ingressgateway with Istio's gateway: the address ASM's gateway is reached at.
    labels = unlabelled(chart_labels("IngressGateways", "istio-ingressgateway", "ingressgateway"))
    svc = f.gateway_service("istio-ingressgateway", labels=labels, selector={"istio": "ingressgateway"})
    istio = f.gateway_deployment("istio-ingressgateway")
    asm = f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress",
                               istio_label="ingressgateway")
    a = finished(audit, [istio, asm, svc])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2310", "istio-ingressgateway")
    commands = [line for line in row["remediation"].splitlines() if not line.startswith("#")]
    assert commands == ['kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete '
                        "deployment/istio-ingressgateway"]
    assert list(row["evidence"]["kept_services"]) == ["istio-ingressgateway"]


def test_guard_the_service_of_istios_gateway_alone_still_goes_with_it(audit):
    istio = f.gateway_deployment("istio-ingressgateway")
    labels = unlabelled(chart_labels("IngressGateways", "istio-ingressgateway", "ingressgateway"))
    svc = f.gateway_service("istio-ingressgateway", labels=labels)
    a = finished(audit, [istio, svc, asm_gateway()])
    (row,) = a.rows(RES)
    assert row["remediation"].splitlines() == [
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete deployment/istio-ingressgateway',
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete service/istio-ingressgateway']


# ---------------------------------------------------------------- the mesh ConfigMap ASM's gateway reads
def mesh_config(*, purge_label: bool) -> dict[str, Any]:
    cm = f.mesh_configmap()
    labels = {"istio.io/rev": "default", "install.operator.istio.io/owning-resource": "unknown", COMPONENT: "Pilot",
              "release": "istio", "app.kubernetes.io/name": "istiod"}
    cm["metadata"]["labels"] = labels if purge_label else unlabelled(labels)
    return cm


def reading_gateway(config_map: str = "istio") -> dict[str, Any]:
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["volumes"] = [
        {"name": "config-volume", "configMap": {"name": config_map, "optional": True}},
        {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}}]
    return gateway


def test_the_mesh_configmap_asms_gateway_reads_is_no_leftover(audit):
    # main: WARN AA2326 "delete configmap/istio".
    a = finished(audit, [mesh_config(purge_label=False), reading_gateway()])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert "ConfigMap istio-system/istio: in use by ASM's data plane" in kept(row)


def test_the_still_labelled_mesh_configmap_is_kept_out_of_the_pending_purge(audit):
    # main: WARN AA2328 "istioctl uninstall --purge" (or `kubectl delete configmap/istio`) with the ConfigMap among its
    # objects. Now: its own WARN to take the label off, and the purge's remediation says to do that first.
    crd = f.crd("wasmplugins.extensions.istio.io", labels={COMPONENT: "Base", "release": "istio"})
    a = finished(audit, [mesh_config(purge_label=True), reading_gateway(), crd])
    rows = {r["code"]: r for r in a.rows(RES)}
    assert sorted(rows) == ["AA2328", "AA2329"]
    assert (rows["AA2329"]["kind"], rows["AA2329"]["name"]) == ("ConfigMap", "istio")
    assert rows["AA2328"]["evidence"]["objects"] == ["CustomResourceDefinition wasmplugins.extensions.istio.io"]
    assert rows["AA2328"]["remediation"].startswith("# first take operator.istio.io/component off")
    assert "configmap/istio" not in rows["AA2328"]["remediation"]


def test_guard_the_mesh_configmap_nothing_of_asms_reads_is_still_a_leftover(audit):
    a = finished(audit, [mesh_config(purge_label=False), reading_gateway("asm-mesh")])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["name"]) == ("WARN", "AA2326", "istio")


# ---------------------------------------------------------------- Gateway API: "any pod on ASM", as purge-preview
def test_a_gateway_api_deployment_partly_on_asms_proxy_is_restarted_not_deleted(audit):
    # The `web-istio` Deployment istiod made (pilot/pkg/config/kube/gateway kube-gateway template), one pod restarted
    # under ASM's injector. main: FAIL AA2311 "delete deployment/web-istio ... the Gateway itself".
    gw = f.k8s_gateway("web", "shop")
    dep, rs, svc = f.gateway_api_deployment(gw)
    pods = f.workload_pods((dep, rs), 1, proxy="asm", gateway=True, xds_agent=None)
    pods += f.workload_pods((dep, rs), 1, first=1, proxy="istio", gateway=True, xds_agent=None)
    a = finished(audit, [f.gateway_class("istio"), gw, dep, rs, svc, *pods])
    rows = [r for r in a.rows(RES) if r["status"] == "FAIL"]
    assert [(r["code"], r["name"]) for r in rows] == [("AA2317", "web-istio")]
    assert rows[0]["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n shop rollout restart '
                                      "deployment/web-istio")


def test_a_gateway_chart_release_whose_service_also_fronts_asms_gateway_is_not_uninstalled(audit):
    # `helm install istio-ingress istio/gateway` (charts/gateway @1.24.6: Service selector app/istio = the release's
    # names), its pods still on Istio's proxy, and ASM's gateway given the same two labels so that the release's
    # Service (its CLB address) sends traffic to it too. main: `helm uninstall istio-ingress`, which deletes that
    # Service.
    from tests.checks.test_gateway_shapes import helm_gateway

    dep, rs, svc, *pods = helm_gateway("istio-ingress", "istio-ingress", version="1.24.6", pods=1)
    asm = f.gateway_deployment("istio-ingress-asm", "istio-ingress", asm=True, gateway_type="ingress",
                               istio_label="ingress")
    asm["spec"]["template"]["metadata"]["labels"]["app"] = "istio-ingress"
    a = finished(audit, [f.namespace("istio-ingress"), dep, rs, *pods, asm, svc])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA2310", "istio-ingress")
    commands = [line for line in row["remediation"].splitlines() if not line.startswith("#")]
    assert commands == ['kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-ingress delete '
                        "deployment/istio-ingress"]
    assert list(row["evidence"]["kept_services"]) == ["istio-ingress"]


def test_an_injected_gateway_whose_pods_were_not_read_fails_with_the_check_before_the_delete(audit):
    # Unproven stays Istio's (FAIL), but main's bare `kubectl delete` may delete ASM's gateway: its template (image
    # auto) says nothing of whose proxy its pods run.
    from auditor import kinds as K

    dep_rs = injected_gateway(purge_label=False)
    a = audit({"cluster-a": [*dep_rs]}, "finished", asm=[f.migration_cr("Finished")],
              unreadable={"cluster-a": {K.POD: "forbidden"}})
    (row,) = [r for r in a.rows(RES) if r["code"] == "AA2310"]
    assert row["status"] == "FAIL"
    assert row["evidence"]["pods_not_read"] is True
    first, check, command = row["remediation"].splitlines()
    assert first.startswith("# its pods were not read")
    assert check.startswith('# kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system get pods -l ')
    assert command == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete '
                       "deployment/istio-eastwestgateway")
