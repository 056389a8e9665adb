"""purge-preview: the ServiceAccounts the purge deletes that workloads on ASM's proxy run as (red22o, lead 1).

`istioctl uninstall --purge` lists every ServiceAccount carrying operator.istio.io/component and deletes it
(NamespacedResources lists ServiceAccounts: istio/istio@1.10.6, 1.16.7, 1.22.3 operator/pkg/helmreconciler/prune.go;
@1.24.6, 1.26.3 operator/pkg/uninstall/prune.go). The gateways chart renders each gateway's account with the label
(istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/templates/serviceaccount.yaml: name
`<gateway>-service-account`, labels release, istio.io/rev, install.operator.istio.io/owning-resource,
operator.istio.io/component "IngressGateways", app.kubernetes.io/name) and its Deployment runs as it
(templates/deployment.yaml, injected-deployment.yaml: serviceAccountName `<gateway>-service-account`).

main: ServiceAccounts were never read. A gateway moved onto ASM's proxy whose Deployment and pod template no longer
carry the label but whose account still does was called clean (AA2501, a GO) while the purge deletes the account its
pods run as.
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_purge_in_use import asm_gateway, istio_install
from tests.checks.test_purge_template_label import eastwest_gateway

CHECK = "purge-preview"
COMPONENT = "operator.istio.io/component"
ACCOUNT = "istio-eastwestgateway-service-account"


def gateway_account(name: str = ACCOUNT, ns: str = "istio-system", *, labelled: bool = True) -> dict[str, Any]:
    """The account templates/serviceaccount.yaml @1.24.6 renders (istioctl install, default revision)."""
    labels = {"app": "istio-eastwestgateway", "istio": "eastwestgateway", "topology.istio.io/network": "network-1",
              "release": "istio", "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "unknown",
              COMPONENT: "IngressGateways", "app.kubernetes.io/name": "istio-ingressgateway"}
    if not labelled:
        labels.pop(COMPONENT)
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-sa-{ns}-{name}", "labels": labels}}


def run(audit, cluster: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), *cluster]}, "uninstall", asm=[f.migration_cr("Migrating")],
              **kw)
    return a.rows(CHECK)


def moved_gateway() -> list[dict[str, Any]]:
    """The east-west gateway on ASM's proxy, its Deployment's and pod template's labels taken off (AA2510's and
    AA2514's fixes), its account kept."""
    return eastwest_gateway(deployment_label=False, template_label=False)


def test_fail_when_asms_gateway_runs_as_a_labelled_account(audit):
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), *moved_gateway(), gateway_account()]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert (a.result.verdict, a.result.exit_code) == ("NO-GO", 1)  # main: ("GO", 0)
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["namespace"], r["name"]) for r in rows] == [
        ("FAIL", "AA2515", "ServiceAccount", "istio-system", ACCOUNT)]
    assert rows[0]["remediation"] == (f'kubectl --kubeconfig="${{KUBECONFIG_CLUSTER_A:?}}" label '
                                      f"serviceaccount/{ACCOUNT} -n istio-system {COMPONENT}-")
    assert rows[0]["evidence"]["asm_workloads"] == ["Deployment istio-system/istio-eastwestgateway"]


def test_fail_in_a_gateway_namespace_where_nothing_else_carries_the_label(audit):
    cluster = [f.namespace("istio-gateways"), *eastwest_gateway("istio-gateways", deployment_label=False,
                                                                 template_label=False),
               gateway_account(ns="istio-gateways")]
    rows = run(audit, cluster)
    assert [(r["status"], r["code"], r["namespace"]) for r in rows] == [("FAIL", "AA2515", "istio-gateways")]


def test_the_labelled_account_is_counted_among_what_the_purge_deletes(audit):
    # Istio's own gateway on Istio's proxy: the purge deleting its account is what it is for.
    rows = run(audit, [*eastwest_gateway(proxy="istio"), gateway_account()])
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2501")]
    assert rows[0]["evidence"]["by_kind"]["ServiceAccount"] == 1
    assert "ServiceAccounts" not in rows[0]["evidence"]["not_read"]


def test_pass_once_the_account_carries_the_label_no_more(audit):
    rows = run(audit, [*moved_gateway(), gateway_account(labelled=False)])
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2501")]


def test_unknown_when_service_accounts_cannot_be_read(audit):
    rows = run(audit, moved_gateway(), unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("UNKNOWN", "AA2543", "")]
    assert rows[0]["evidence"]["accounts"] == [f"istio-system/{ACCOUNT}"]
    assert rows[0]["remediation"] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get serviceaccount '
                                      f"-n istio-system -l {COMPONENT} --show-labels")
    assert "ServiceAccounts" in rows[0]["evidence"]["not_read"]


def test_unknown_names_an_asm_gateway_outside_the_namespaces_the_purge_touches(audit):
    # Unread, an account the installer renders may carry the label wherever it renders it: a gateway installed into its
    # own namespace gets `<gateway>-service-account` there (istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/
    # templates/serviceaccount.yaml), even once nothing else of that namespace carries the label. Its name, not its
    # namespace, is what says the installer may have labelled it (review22c: any other account outside the purge's
    # namespaces cannot carry it from the installer and is no UNKNOWN).
    cluster = [f.namespace("istio-gateways"), *eastwest_gateway("istio-gateways", deployment_label=False,
                                                                 template_label=False)]
    rows = run(audit, cluster, unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2543")]
    assert rows[0]["evidence"]["accounts"] == [f"istio-gateways/{ACCOUNT}"]


def app_on_asm(ns: str = "shop", account: str = "reviews") -> list[dict[str, Any]]:
    """An application moved onto ASM's proxy, running as an account of its own (not one any Istio chart renders)."""
    dep_rs = f.deployment("reviews", ns, replicas=2)
    dep_rs[0]["spec"]["template"]["spec"]["serviceAccountName"] = account
    return [f.namespace(ns), *dep_rs, *f.workload_pods(dep_rs, 2, proxy="asm")]


def test_an_apps_own_account_outside_the_purges_namespaces_is_no_unknown(audit):
    # review22c: with ServiceAccounts unread (snapshots before session 22, the previous ClusterRole) every workload on
    # ASM's proxy running as its own account raised AA2543: INCOMPLETE on nearly every real audit. The installer labels
    # only what it renders (its charts' accounts, in the namespaces it installs into).
    a = audit({"cluster-a": [*istio_install(), asm_gateway(), *app_on_asm()]}, "uninstall",
              asm=[f.migration_cr("Migrating")], unreadable={"cluster-a": {K.SERVICEACCOUNT: "not collected"}})
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]  # old code: UNKNOWN AA2543


def test_an_apps_own_account_in_a_namespace_the_purge_touches_stays_unknown(audit):
    a = audit({"cluster-a": [*istio_install(), asm_gateway(), *app_on_asm("istio-system")]}, "uninstall",
              asm=[f.migration_cr("Migrating")], unreadable={"cluster-a": {K.SERVICEACCOUNT: "not collected"}})
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA2543")]
    assert rows[0]["evidence"]["accounts"] == ["istio-system/reviews"]


def test_a_chart_named_account_outside_the_purges_namespaces_stays_unknown(audit):
    # istio-cni's chart names its account istio-cni (istio/istio@1.24.6 manifests/charts/istio-cni/templates/
    # serviceaccount.yaml): a workload running as one, wherever, may run as an account the installer labelled.
    a = audit({"cluster-a": [*istio_install(), *app_on_asm("kube-system", "istio-cni")]}, "uninstall",
              asm=[f.migration_cr("Migrating")], unreadable={"cluster-a": {K.SERVICEACCOUNT: "not collected"}})
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("UNKNOWN", "AA2543")]


def test_workloads_running_as_default_are_no_unknown(audit):
    # No chart renders an account named `default` (kube-controller-manager makes it in every namespace).
    cluster = moved_gateway()
    del cluster[0]["spec"]["template"]["spec"]["serviceAccountName"]
    rows = run(audit, cluster, unreadable={"cluster-a": {K.SERVICEACCOUNT: "403 Forbidden"}})
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA2501")]


def test_shared_labelled_account_read_is_a_fail_not_an_unknown(audit):
    # The ASM gateway applied from a copy of Istio's manifest runs as Istio's gateway's account (AA2534 when unread).
    cluster = istio_install()
    cluster[1]["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["serviceAccountName"] = "istio-ingressgateway-service-account"
    account = gateway_account("istio-ingressgateway-service-account")
    a = audit({"cluster-a": [*cluster, gateway, account]}, "uninstall", asm=[f.migration_cr("Migrating")])
    rows = a.rows(CHECK)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("FAIL", "AA2515", "ServiceAccount", "istio-ingressgateway-service-account")]
