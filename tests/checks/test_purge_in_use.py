"""purge-preview: objects the purge selects by label alone while ASM's data plane runs on them (brief purge17).

`istioctl uninstall --purge` lists, in every namespace, the Deployments, DaemonSets, Services, ConfigMaps, Pods... that
carry operator.istio.io/component (any value) and deletes them: istio/istio operator/pkg/uninstall/prune.go
GetPrunedResources @1.24.0..1.30.3 (includeClusterResources: a selector of that label's existence only; no revision,
no owning-resource), operator/pkg/helmreconciler/prune.go @1.22.3/1.23.6 likewise. What ASM's proxies run on is not
asked. Shapes:
- the `istio-ingressgateway` Service as istioctl renders it: manifests/charts/gateways/istio-ingress/templates/
  service.yaml @1.24.6 (labels = the gateway's labels + release, istio.io/rev,
  install.operator.istio.io/owning-resource, operator.istio.io/component: IngressGateways, app.kubernetes.io/name;
  selector = the gateway's labels);
- an IstioOperator gateway with an injection template: templates/injected-deployment.yaml @1.24.6 (istio-proxy
  `image: auto`, pod annotations sidecar.istio.io/inject "true", inject.istio.io/templates), whose pods take the proxy
  of whichever injector answers: ASM's, in an istio-system with injection on (the seed's east-west gateway note).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "purge-preview"


def chart_labels(component: str, app: str, istio_label: str) -> dict[str, str]:
    """What templates/service.yaml and injected-deployment.yaml @1.24.6 write on the object (istioctl install)."""
    return {"app": app, "istio": istio_label, "release": "istio", "istio.io/rev": "default",
            "install.operator.istio.io/owning-resource": "installed-state",
            "operator.istio.io/component": component, "app.kubernetes.io/name": app}


def istio_install() -> list[dict[str, Any]]:
    """istioctl install 1.24.6 (default profile): istiod and the ingress gateway, its Service."""
    gw = f.gateway_deployment("istio-ingressgateway")
    svc = f.gateway_service("istio-ingressgateway",
                            labels=chart_labels("IngressGateways", "istio-ingressgateway", "ingressgateway"))
    return [f.istiod(version="1.24.6"), gw, svc]


def asm_gateway() -> dict[str, Any]:
    return f.gateway_deployment("istio-ingressgateway-asm", asm=True, gateway_type="ingress")


def test_fail_when_istios_gateway_service_fronts_asms_gateway(audit):
    # The CLB address clients use kept by pointing Istio's Service at ASM's gateway pods: the audit reads the Service
    # as ASM's (gateway_services), the purge deletes it by its operator label.
    cluster = istio_install()
    cluster[2]["spec"]["selector"] = {"app": "istio-ingressgateway-asm", "istio": "ingressgateway-asm"}
    a = audit({"cluster-a": [*cluster, asm_gateway()]}, "uninstall", asm=[f.migration_cr("Migrating")])
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2510", "Service", "istio-ingressgateway")]
    assert rows[0]["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label service/'
                                      "istio-ingressgateway -n istio-system operator.istio.io/component-")
    assert "istio-ingressgateway-asm" in rows[0]["message"]


def test_fail_when_a_labelled_gateway_runs_asms_proxy(audit):
    # An IstioOperator gateway rendered with an injection template: its template holds `image: auto`; restarted in an
    # istio-system where ASM's injector answers, its pods run ASM's proxy. The purge deletes the Deployment.
    proxy = {"name": "istio-proxy", "image": "auto", "ports": [{"containerPort": 15021}]}
    labels = chart_labels("IngressGateways", "istio-eastwestgateway", "eastwestgateway")
    pod_labels = {"app": "istio-eastwestgateway", "istio": "eastwestgateway",
                  "operator.istio.io/component": "IngressGateways", "sidecar.istio.io/inject": "true",
                  "service.istio.io/canonical-name": "istio-eastwestgateway", "topology.istio.io/network": "network-1"}
    dep_rs = f.deployment("istio-eastwestgateway", "istio-system", replicas=1, template_labels=pod_labels,
                          template_annotations={"sidecar.istio.io/inject": "true",
                                                "inject.istio.io/templates": "gateway"},
                          containers=[proxy], labels={**labels, "topology.istio.io/network": "network-1"})
    pods = f.workload_pods(dep_rs, 1, proxy="asm", gateway=True, xds_agent=None)
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), *dep_rs, *pods]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    rows = [r for r in a.rows(CHECK) if r["status"] == "FAIL"]
    assert [(r["code"], r["kind"], r["name"]) for r in rows] == [("AA2510", "Deployment", "istio-eastwestgateway")]


def test_pass_when_istios_service_fronts_only_istios_gateway_beside_asms(audit):
    # ASM's gateway beside Istio's, each behind its own Service: the purge deletes only Istio's.
    a = audit({"cluster-a": [*istio_install(), asm_gateway()]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")


def asm_istiod_service() -> dict[str, Any]:
    """ASM's managed control plane's Service in the data-plane cluster: istiod-<rev>, headless, nothing behind it,
    ASM's marks (domain.md)."""
    svc = f.service("istiod-1-24-6", "istio-system", labels={"app": "istiod", "istio.io/rev": "1-24-6",
                                                             "asm.alibabacloud.com/managed-by-asm": "true"})
    svc["spec"]["clusterIP"] = "None"
    svc["spec"].pop("selector", None)
    return svc


def test_fail_when_a_labelled_tag_webhook_calls_asms_istiod(audit):
    # `istioctl tag set default --revision 1-24-6 --overwrite` (istioctl/pkg/tag/generate.go @1.24.6) renders
    # istio-revision-tag-default from revision-tags.yaml: operator.istio.io/component "Pilot" hard-coded, the client
    # config copied from the revision's canonical webhook (ASM's, calling istiod-1-24-6). The purge deletes it.
    tag_labels = {"istio.io/tag": "default", "istio.io/rev": "1-24-6",
                  "install.operator.istio.io/owning-resource": "unknown", "operator.istio.io/component": "Pilot",
                  "app": "sidecar-injector", "release": "istio", "app.kubernetes.io/name": "istiod"}
    tag = f.webhook_config("istio-revision-tag-default", service_name="istiod-1-24-6", revision="1-24-6",
                           labels=tag_labels)
    canonical = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                 labels={"app": "sidecar-injector"})
    cluster = [*istio_install(), asm_istiod_service(), canonical, tag]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2510", "MutatingWebhookConfiguration", "istio-revision-tag-default")]
    assert rows[0]["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label '
                                      "mutatingwebhookconfiguration/istio-revision-tag-default "
                                      "operator.istio.io/component-")


def test_unknown_when_asms_gateway_runs_as_the_service_account_of_istios_gateway(audit):
    # The ASM gateway applied from a copy of Istio's manifest keeps serviceAccountName
    # istio-ingressgateway-service-account (templates/deployment.yaml @1.24.6: `{{ $gateway.name }}-service-account`),
    # which templates/serviceaccount.yaml renders with operator.istio.io/component: the purge deletes it. With
    # ServiceAccounts not read: UNKNOWN, with the command that shows its labels (read: test_purge_service_accounts).
    cluster = istio_install()
    cluster[1]["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    a = audit({"cluster-a": [*cluster, gateway]}, "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("UNKNOWN", "AA2534", "Deployment", "istio-ingressgateway-asm")]
    assert rows[0]["remediation"].splitlines()[0] == (
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get serviceaccount/istio-ingressgateway-service-account '
        "-n istio-system --show-labels")
    assert rows[0]["evidence"]["istio_workloads"] == ["Deployment istio-system/istio-ingressgateway"]


def test_pass_when_asms_gateway_runs_as_its_own_service_account(audit):
    cluster = istio_install()
    cluster[1]["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-asm"
    a = audit({"cluster-a": [*cluster, gateway]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")


def test_fail_when_asms_gateway_reads_istios_mesh_configmap(audit):
    # The gateways chart's Deployment mounts the mesh config `istio` as config-volume (templates/deployment.yaml
    # @1.24.6, optional); an ASM gateway applied from a copy of it reads Istio's ConfigMap, which the istio-discovery
    # chart renders with operator.istio.io/component "Pilot" (templates/configmap.yaml @1.24.6): the purge deletes it.
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["volumes"] = [
        {"name": "config-volume", "configMap": {"name": "istio", "optional": True}},
        {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}}]
    a = audit({"cluster-a": [*istio_install(), f.mesh_configmap(), gateway]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2510", "ConfigMap", "istio")]
    assert rows[0]["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label configmap/istio '
                                      "-n istio-system operator.istio.io/component-")


def test_the_listing_holds_labelled_envoyfilters_and_the_istiooperators_istioctl_1_22_deletes(audit):
    # EnvoyFilters carrying the label are pruned (NamespacedResources @1.22.3..1.30.3); istioctl 1.22/1.23 also deletes
    # every IstioOperator, labelled or not (helmreconciler/prune.go getIstioOperatorCR @1.22.3).
    labelled_filter = f.istio_object("EnvoyFilter", "stats-filter-1.21", "istio-system", {"configPatches": []},
                                     labels={"operator.istio.io/component": "Pilot", "istio.io/rev": "default"})
    cluster = [f.istiod(version="1.22.3"), labelled_filter, f.istio_operator_cr()]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating"), labelled_filter])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")
    assert row["evidence"]["by_kind"] == {"Deployment": 1, "EnvoyFilter": 1, "IstioOperator": 1}
    assert "EnvoyFilters" not in row["evidence"]["not_read"]


def test_istioctl_1_24_leaves_the_istiooperators(audit):
    cluster = [f.istiod(version="1.24.6"), f.istio_operator_cr()]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert row["evidence"]["by_kind"] == {"Deployment": 1}


def test_fail_when_an_asm_envoyfilter_carries_the_operator_label(audit):
    asm_filter = f.istio_object("EnvoyFilter", "asm-stats", "istio-system", {"configPatches": []},
                                labels={"operator.istio.io/component": "Pilot", "provider": "asm"})
    a = audit({"cluster-a": [*istio_install(), asm_filter]}, "uninstall", asm=[f.migration_cr("Migrating")])
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2510", "EnvoyFilter", "asm-stats")]


def test_a_gateway_chart_release_on_asms_proxy_is_not_in_the_helm_uninstall(audit):
    """`helm install istio-ingress istio/gateway -n istio-ingress` (manifests/charts/gateway/templates/deployment.yaml
    @1.24.6: Helm's labels and release annotations, istio-proxy `image: auto`), its pods restarted under ASM's
    injector beside a Helm-installed istiod (f.helm_installed_istio). main: AA2521's remediation held
    `helm uninstall istio-ingress`, which deletes ASM's gateway and its Service; istio-residue already keeps it (res17).
    The istiod releases are still named."""
    from tests.checks.test_gateway_shapes import helm_gateway

    dep, rs, svc, *_ = helm_gateway("istio-ingress", "istio-ingress", version="1.24.6", pods=0)
    pods = f.workload_pods((dep, rs), 2, proxy="asm", gateway=True, xds_agent=None)
    a = audit({"cluster-a": [*f.helm_installed_istio(), f.namespace("istio-ingress"), dep, rs, svc, *pods]},
              "uninstall", asm=[f.migration_cr("Migrating")])
    [row] = [r for r in a.rows(CHECK) if r["code"] == "AA2521"]
    assert row["status"] == "WARN"
    assert "uninstall istio-ingress" not in row["remediation"]
    assert 'uninstall istiod -n istio-system' in row["remediation"]
    assert "istio-ingress/istio-ingress" in row["evidence"]["kept_releases"]


def test_no_helm_uninstall_when_asm_runs_on_every_istio_release(audit):
    from tests.checks.test_gateway_shapes import helm_gateway

    dep, rs, svc, *_ = helm_gateway("istio-ingress", "istio-ingress", version="1.24.6", pods=0)
    pods = f.workload_pods((dep, rs), 2, proxy="asm", gateway=True, xds_agent=None)
    a = audit({"cluster-a": [f.namespace("istio-ingress"), dep, rs, svc, *pods]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert not [r for r in a.rows(CHECK) if r["code"] == "AA2521"]


def test_a_canary_1_22_and_1_24_counts_the_istiooperators_the_older_istioctl_deletes(audit):
    # Two revisions (istioctl install --revision, each istiod's image pinning its version): no single istioctl, and the
    # 1.22 revision's istioctl deletes every IstioOperator with --purge (getIstioOperatorCR, operator/pkg/
    # helmreconciler/prune.go @1.22.3) where 1.24's does not (operator/pkg/uninstall/prune.go @1.24.6): the oldest
    # decides, as for the configuration istioctl before 1.20 prunes (old_prune_version).
    cluster = [f.istiod(version="1.22.3"), f.istiod("1-24-6", version="1.24.6"), f.istio_operator_cr()]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert row["evidence"]["by_kind"] == {"Deployment": 2, "IstioOperator": 1}  # main: {"Deployment": 2}
    assert "IstioOperator/istio-system/installed-state" in row["evidence"]["deleted"]
    assert "istio_operators" not in row["evidence"]


def test_a_canary_1_24_and_1_26_leaves_the_istiooperators(audit):
    cluster = [f.istiod(version="1.24.6"), f.istiod("1-26-3", version="1.26.3"), f.istio_operator_cr()]
    a = audit({"cluster-a": cluster}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert row["evidence"]["by_kind"] == {"Deployment": 2}
    assert "istio_operators" not in row["evidence"]  # main: named as deleted by "istioctl before 1.24"
