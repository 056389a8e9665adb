"""istio-control-plane-removed and istio-residue through the real engine: Istio's leftovers, never ASM's."""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f

CP = "istio-control-plane-removed"
RES = "istio-residue"
ASM_MARKS = {"asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm"}


def asm_footprint() -> list[dict]:
    """What ASM itself puts into a data-plane cluster: headless istiod-<rev>, its injector, shared objects."""
    istiod_svc = f.service("istiod-1-24-6", "istio-system", labels={"app": "istiod", "istio.io/rev": "1-24-6",
                                                                    **ASM_MARKS},
                           ports=[{"name": "grpc-xds", "port": 15012, "targetPort": 15012}], cluster_ip="None")
    injector = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                labels=ASM_MARKS)
    return [
        f.namespace("istio-system", labels={"topology.istio.io/network": "network-1"}),
        f.namespace("shop", labels={"istio-injection": "enabled"}),
        f.namespace("kube-system", labels={"istio-injection": "disabled"}),
        istiod_svc, injector,
        f.configmap("istio-ca-root-cert", "shop", {"root-cert.pem": "x"}, labels={"istio.io/config": "true"}),
        # installed by ASM from Istio's chart: Istio's labels, but ASM's mark wins
        f.crd("virtualservices.networking.istio.io", labels={"asm.alibabacloud.com/managed-by-asm": "true",
                                                             "app.kubernetes.io/part-of": "istio"}),
        f.cluster_rbac("istiod-clusterrole-1-24-6-istio-system"),
        f.cluster_rbac("istio-reader-clusterrole-1-24-6-istio-system", binding=True),
        f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress"),
    ]


def istio_control_plane() -> list[dict]:
    return [f.istiod(), f.service("istiod", "istio-system", labels={"app": "istiod", "istio": "pilot",
                                                                    **f.ISTIO_INSTALL_LABELS}),
            f.webhook_config("istio-sidecar-injector", labels=f.ISTIO_INSTALL_LABELS),
            f.webhook_config("istio-validator-istio-system", mutating=False, labels=f.ISTIO_INSTALL_LABELS),
            f.webhook_config("istiod-default-validator", mutating=False, labels=f.ISTIO_INSTALL_LABELS)]


# ================================================================ istio-control-plane-removed
def test_control_plane_removed_passes_with_only_asm_left(audit):
    a = audit({"cluster-a": asm_footprint()}, "finished", asm=[])
    (row,) = a.rows(CP)
    assert (row["status"], row["code"]) == ("PASS", "AA2201")
    kept = " ".join(row["evidence"]["kept_as_asm_or_allowed"])
    assert "istio-sidecar-injector-1-24-6" in kept


def test_control_plane_fails_per_leftover_with_delete_command(audit):
    a = audit({"cluster-a": [*asm_footprint(), *istio_control_plane(), f.istio_operator_cr()]}, "finished", asm=[])
    rows = {(r["kind"], r["name"]): r for r in a.rows(CP) if r["status"] == "FAIL"}
    assert set(rows) == {("Deployment", "istiod"), ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
                         ("ValidatingWebhookConfiguration", "istio-validator-istio-system"),
                         ("ValidatingWebhookConfiguration", "istiod-default-validator"),
                         ("IstioOperator", "installed-state")}
    assert rows[("Deployment", "istiod")]["remediation"] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_CLUSTER_A:?}\" -n istio-system delete deployment/istiod")
    assert rows[("MutatingWebhookConfiguration", "istio-sidecar-injector")]["remediation"] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_CLUSTER_A:?}\" delete mutatingwebhookconfiguration/istio-sidecar-injector")
    assert "finalizers" in rows[("IstioOperator", "installed-state")]["remediation"]
    assert {key: r["code"] for key, r in rows.items()} == {
        ("Deployment", "istiod"): "AA2210", ("MutatingWebhookConfiguration", "istio-sidecar-injector"): "AA2212",
        ("ValidatingWebhookConfiguration", "istio-validator-istio-system"): "AA2212",
        ("ValidatingWebhookConfiguration", "istiod-default-validator"): "AA2212",
        ("IstioOperator", "installed-state"): "AA2214"}
    # ASM's injector with Istio's naming scheme is never flagged
    assert not any(name == "istio-sidecar-injector-1-24-6" for _, name in rows)


def test_revisioned_istio_is_not_mistaken_for_asm(audit):
    """Istio 1-22-3 installed by revision has istiod-1-22-3 too: its Deployment and labels tell it apart."""
    istiod = f.istiod(revision="1-22-3")
    svc = f.service("istiod-1-22-3", "istio-system", labels={"app": "istiod", **f.ISTIO_INSTALL_LABELS})
    hook = f.webhook_config("istio-sidecar-injector-1-22-3", service_name="istiod-1-22-3", revision="1-22-3",
                            labels=f.ISTIO_INSTALL_LABELS)
    tag = f.webhook_config("istio-revision-tag-prod-stable", service_name="istiod-1-22-3", revision="1-22-3")
    a = audit({"cluster-a": [*asm_footprint(), istiod, svc, hook, tag]}, "finished", asm=[])
    failed = {r["name"] for r in a.rows(CP) if r["status"] == "FAIL"}
    assert failed == {"istiod-1-22-3", "istio-sidecar-injector-1-22-3", "istio-revision-tag-prod-stable"}


def test_operator_deployment_and_allow_list(audit):
    operator, _ = f.deployment("istio-operator", "istio-operator", labels={"name": "istio-operator"})
    cluster = [*asm_footprint(), operator, f.webhook_config("istiod-default-validator", mutating=False)]
    a = audit({"cluster-a": cluster}, "finished", asm=[])
    assert {r["name"]: r["code"] for r in a.rows(CP) if r["status"] == "FAIL"} == {
        "istio-operator": "AA2213", "istiod-default-validator": "AA2212"}
    a = audit({"cluster-a": cluster}, "finished", asm=[],
              config={"residue": {"allow": ["Deployment/istio-operator/istio-operator"]}})
    # (It allowed istiod-default-validator here: Istio's control plane is refused in residue.allow since fix22j.)
    assert {r["name"] for r in a.rows(CP) if r["status"] == "FAIL"} == {"istiod-default-validator"}


def test_control_plane_unknown_per_category(audit):
    a = audit({"cluster-a": [*asm_footprint(), f.istiod()]}, "finished", asm=[],
              unreadable={"cluster-a": {K.MUTATING_WEBHOOK: "forbidden: cannot list mutatingwebhookconfigurations"}})
    statuses = sorted(r["status"] for r in a.rows(CP))
    assert statuses == ["FAIL", "UNKNOWN"]  # istiod still reported; webhooks unknown
    (unknown,) = [r for r in a.rows(CP) if r["status"] == "UNKNOWN"]
    assert (unknown["code"], unknown["evidence"]["category"]) == ("AA2230", "webhooks")
    assert "forbidden: cannot list mutatingwebhookconfigurations" in unknown["message"]  # the reason, verbatim


def test_istiod_pods_without_their_deployment_fail(audit):
    """istiod's pods left by a --cascade=orphan delete (or still terminating): Istio's control plane still runs."""
    orphan = f.pod("istiod-5d8f7c9b6-x2x7q", "istio-system", proxy=None, owner=("ReplicaSet", "istiod-5d8f7c9b6"),
                   labels={"app": "istiod", "istio.io/rev": "default"})
    a = audit({"cluster-a": [*asm_footprint(), orphan]}, "finished", asm=[])
    (row,) = a.rows(CP)
    assert (row["status"], row["code"], row["kind"], row["namespace"]) == ("FAIL", "AA2211", "Pod", "istio-system")
    assert row["remediation"].endswith("-n istio-system delete pod/istiod-5d8f7c9b6-x2x7q")


# ================================================================ istio-residue
def test_residue_pass_keeps_asm_and_shared_objects(audit):
    a = audit({"cluster-a": asm_footprint()}, "finished", asm=[])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert row["evidence"]["not_checked"].startswith("remote secrets (istio-remote-secret-*")
    kept = " ".join(row["evidence"]["kept_as_asm_or_allowed"])
    assert "istiod-clusterrole-1-24-6-istio-system" in kept and "virtualservices.networking.istio.io" in kept


def test_residue_fails_what_still_acts(audit):
    pinned = f.namespace("payments", labels={"istio.io/rev": "1-22-3"})
    served = f.namespace("search", labels={"istio.io/rev": "1-24-6"})
    vap = f.admission_policy("stable-channel-default-policy.istio.io")
    binding = f.admission_policy("stable-channel-default-policy-binding.istio.io", binding=True)
    gateway = [f.gateway_deployment("istio-ingressgateway"), f.gateway_service("istio-ingressgateway")]
    a = audit({"cluster-a": [*asm_footprint(), pinned, served, vap, binding, *gateway]}, "finished", asm=[])
    rows = {r["name"]: r for r in a.rows(RES) if r["status"] == "FAIL"}
    assert set(rows) == {"payments", "stable-channel-default-policy.istio.io",
                         "stable-channel-default-policy-binding.istio.io", "istio-ingressgateway"}
    assert rows["payments"]["remediation"] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_CLUSTER_A:?}\" label ns/payments istio.io/rev=1-24-6 --overwrite")
    assert {name: r["code"] for name, r in rows.items()} == {
        "payments": "AA2314", "stable-channel-default-policy.istio.io": "AA2313",
        "stable-channel-default-policy-binding.istio.io": "AA2313", "istio-ingressgateway": "AA2310"}
    assert rows["istio-ingressgateway"]["remediation"].splitlines()[1] == (
        "kubectl --kubeconfig=\"${KUBECONFIG_CLUSTER_A:?}\" -n istio-system delete service/istio-ingressgateway")
    assert {r["severity"] for r in rows.values()} == {"major"}


def test_a_gateway_chart_release_left_is_removed_with_helm_uninstall(audit):
    """`helm install edge-out istio/gateway -n edge` (manifests/charts/gateway @1.22.8/1.26.8/1.30.3: the Deployment and
    Service of the release's name; Helm annotates each object with meta.helm.sh/release-name and release-namespace,
    helm/helm@v3.21.4:pkg/action/validate.go setMetadataVisitor). The release also holds the gateway's ServiceAccount,
    Role, RoleBinding (and PDB, HPA): `helm uninstall` removes them and Helm's record; main said `kubectl delete
    deployment/edge-out` and `service/edge-out`, which leave them and a release whose next upgrade re-creates the
    gateway. A Service of no release in front of the same pods is still deleted by kubectl."""
    from tests.checks.test_gateway_shapes import helm_gateway

    chart = helm_gateway("edge-out", "edge", version="1.26.8", pods=0)
    extra = f.gateway_service("edge-out-internal", "edge", selector={"app": "edge-out", "istio": "edge-out"})
    a = audit({"cluster-a": [*asm_footprint(), f.namespace("edge"), *chart, extra]}, "finished", asm=[])
    [row] = [r for r in a.rows(RES) if r["status"] == "FAIL"]
    assert (row["code"], row["kind"], row["namespace"], row["name"]) == ("AA2310", "Deployment", "edge", "edge-out")
    helm, kubectl = row["remediation"].splitlines()
    assert helm.startswith('helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall edge-out -n edge  # ')
    assert kubectl == 'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n edge delete service/edge-out-internal'


def test_a_gateway_not_of_an_istio_chart_release_keeps_kubectl_delete(audit):
    """Helm's annotations alone do not make `helm uninstall` the command: a release of the Sail operator's (it renders
    Istio's charts with Helm's library, and re-creates what is deleted) or of the user's own chart (whose other objects
    the uninstall would take) keeps `kubectl delete` of the gateway and its Service."""
    from tests.checks.test_gateway_shapes import helm_gateway

    sail = helm_gateway("edge-out", "edge", version="1.30.3", pods=0)
    sail[0]["metadata"]["labels"]["managed-by"] = "sail-operator"
    own = helm_gateway("shop-gw", "shop", version="1.30.3", pods=0)
    for obj in own[:1]:
        labels = obj["metadata"]["labels"]
        for key in ("helm.sh/chart", "app.kubernetes.io/part-of"):
            labels.pop(key)
        labels["helm.sh/chart"] = "shop-2.3.0"
        obj["metadata"]["annotations"] = {"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}
    a = audit({"cluster-a": [*asm_footprint(), f.namespace("edge"), *sail, *own]}, "finished", asm=[])
    rows = {r["name"]: r["remediation"] for r in a.rows(RES) if r["status"] == "FAIL"}
    assert rows == {
        "edge-out": 'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n edge delete deployment/edge-out\n'
                    'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n edge delete service/edge-out',
        "shop-gw": 'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n shop delete deployment/shop-gw\n'
                   'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n shop delete service/shop-gw'}


def test_a_gateway_chart_used_as_a_subchart_keeps_kubectl_delete(audit):
    """Istio's gateway chart as a dependency of the user's own chart `shop` (Chart.yaml dependencies: gateway from
    istio-release; values gateway.name: shop-gw): its objects carry the subchart's labels (helm.sh/chart gateway-<v>,
    app.kubernetes.io/part-of istio: manifests/charts/gateway/templates/zzz_profile.yaml istio.labels @1.30.3) and the
    parent release's annotations (meta.helm.sh/release-name shop: helm@v3.21.4 pkg/action/validate.go
    setMetadataVisitor), as every other object of that release does, the shop's productpage too. Main said `helm
    uninstall shop -n shop`, which deletes the shop with its gateway; the gateway goes by kubectl delete, and the
    finding names what else the release holds."""
    from tests.checks.test_gateway_shapes import helm_gateway

    chart = helm_gateway("shop-gw", "shop", version="1.30.3", pods=0)
    for obj in chart[:2]:  # the Deployment and its Service: the parent release's name and namespace
        obj["metadata"]["labels"]["app.kubernetes.io/instance"] = "shop"
        obj["metadata"]["annotations"] = {"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}
    app, app_rs = f.deployment("productpage", "shop", labels={"helm.sh/chart": "shop-2.3.0",
                                                               "app.kubernetes.io/instance": "shop",
                                                               "app.kubernetes.io/managed-by": "Helm"})
    app["metadata"]["annotations"] = {"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"}
    a = audit({"cluster-a": [*asm_footprint(), f.namespace("shop"), *chart, app, app_rs]}, "finished", asm=[])
    [row] = [r for r in a.rows(RES) if r["status"] == "FAIL"]
    assert (row["code"], row["kind"], row["name"]) == ("AA2310", "Deployment", "shop-gw")
    assert not [line for line in row["remediation"].splitlines() if line.startswith("helm")]
    delete, service = [line for line in row["remediation"].splitlines() if not line.startswith("#")]
    assert delete == 'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n shop delete deployment/shop-gw'
    assert service == 'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n shop delete service/shop-gw'
    assert "shop/productpage" in row["remediation"]


def test_residue_warns_about_inert_leftovers(audit):
    helm_crd = f.crd("destinationrules.networking.istio.io",
                     annotations={"meta.helm.sh/release-name": "istio-base", "helm.sh/resource-policy": "keep"},
                     labels={"app.kubernetes.io/managed-by": "Helm"})
    operator_crd = f.crd("istiooperators.install.istio.io")
    unowned_crd = f.crd("wasmplugins.extensions.istio.io")  # no marker either way: not flagged
    role = f.cluster_rbac("istiod-clusterrole-istio-system", labels={"app": "istiod", "release": "istio"})
    mesh_cm = f.configmap("istio", "istio-system", {"mesh": "{}"}, labels=f.ISTIO_INSTALL_LABELS)
    cluster = [*asm_footprint(), helm_crd, operator_crd, unowned_crd, role, mesh_cm, *istio_control_plane()[1:2]]
    a = audit({"cluster-a": cluster}, "finished", asm=[])
    warned = {r["name"]: r for r in a.rows(RES) if r["status"] == "WARN"}
    # the installer's own (operator.istio.io/component) objects: one finding, the seed's uninstall removes them
    assert set(warned) == {"destinationrules.networking.istio.io", "istiooperators.install.istio.io",
                           "istiod-clusterrole-istio-system", ""}
    purge = warned[""]
    assert purge["evidence"]["objects"] == ["ConfigMap istio-system/istio", "Service istio-system/istiod"]
    assert purge["remediation"].startswith("istioctl --kubeconfig=\"${KUBECONFIG_CLUSTER_A:?}\" uninstall --purge")
    assert "-n istio-system delete configmap/istio" in purge["remediation"]
    assert {r["severity"] for r in warned.values()} == {"minor"}
    assert {name: r["code"] for name, r in warned.items()} == {
        "destinationrules.networking.istio.io": "AA2320", "istiooperators.install.istio.io": "AA2320",
        "istiod-clusterrole-istio-system": "AA2325", "": "AA2328"}
    assert "deletes every object of this kind in this cluster" in warned["destinationrules.networking.istio.io"][
        "remediation"]
    assert "FAIL" not in a.statuses(RES)


def test_residue_unknown_per_category(audit):
    pinned = f.namespace("payments", labels={"istio.io/rev": "1-22-3"})
    a = audit({"cluster-a": [pinned]}, "finished", asm=[])
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["kind"]) == ("UNKNOWN", "AA2331", "Namespace")
    assert row["evidence"]["pinned"] == {"payments": "1-22-3"}
    a = audit({"cluster-a": asm_footprint()}, "finished", asm=[],
              unreadable={"cluster-a": {K.VALIDATING_ADMISSION_POLICY: "forbidden"}})
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["evidence"]["category"]) == ("UNKNOWN", "AA2330", "admission_policies")


def test_residue_allow_list_by_kind_and_name(audit):
    role = f.cluster_rbac("istio-reader-clusterrole-istio-system")
    a = audit({"cluster-a": [*asm_footprint(), role]}, "finished", asm=[],
              config={"residue": {"allow": ["ClusterRole/istio-reader-*"]}})
    assert a.statuses(RES) == ["PASS"]


def test_helm_installed_configmap_and_istiod_service_warn_each(audit):
    """Helm installs carry no operator.istio.io/component: not the purge's, so each is a finding of its own."""
    helm = {"app.kubernetes.io/part-of": "istio", "release": "istiod"}
    mesh_cm = f.configmap("istio", "istio-system", {"mesh": "{}"}, labels=helm)
    svc = f.service("istiod", "istio-system", labels={"app": "istiod", **helm})
    a = audit({"cluster-a": [*asm_footprint(), mesh_cm, svc]}, "finished", asm=[])
    rows = {(r["kind"], r["name"]): (r["status"], r["code"]) for r in a.rows(RES)}
    assert rows == {("ConfigMap", "istio"): ("WARN", "AA2326"), ("Service", "istiod"): ("WARN", "AA2327")}


def test_a_revisioned_operator_left_behind_blocks_the_finished_gate(audit):
    """An istio-operator installed by `istioctl operator init --revision 1-22-3` (Istio's chart: named
    istio-operator-1-22-3, unlabelled, its pods name=istio-operator) reinstalls Istio if left running. Before: not
    recognised, so nothing failed for it (a GO with Istio's operator still in the cluster)."""
    a = audit({"cluster-a": [*asm_footprint(), f.istio_operator_deployment(revision="1-22-3")]}, "finished", asm=[])
    assert {r["name"]: r["code"] for r in a.rows(CP) if r["status"] == "FAIL"} == {"istio-operator-1-22-3": "AA2213"}
    assert a.result.gate_verdicts["finished"] == "NO-GO"
