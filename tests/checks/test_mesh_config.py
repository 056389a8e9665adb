"""mesh-config-xds-agent and istiod-restarted: every revision's mesh ConfigMap and istiod pods."""

from __future__ import annotations

import pytest

from auditor import kinds as K
from tests import factory as f

CHANGED = ["2026-11-01T10:00:00Z", "2026-11-12T09:00:00Z"]  # ASM's SetupIstioForMigrate edit is the newest
BEFORE, AFTER = "2026-11-12T08:59:00Z", "2026-11-12T09:05:00Z"


def istiod_with_pods(revision: str = "default", version: str = "1.22.3", started: list[str] | None = None
                     ) -> list[dict]:
    """istiod Deployment, its ReplicaSet and pods (started at the given times) as the controllers write them."""
    dep = f.istiod(revision, version)
    name = dep["metadata"]["name"]
    _, rs = f.deployment(name, "istio-system", replicas=1,
                         template_labels={"app": "istiod", "istio.io/rev": revision})
    pods = [f.pod(f"{rs['metadata']['name']}-{i}{i}abc", "istio-system", proxy=None,
                  owner=("ReplicaSet", rs["metadata"]["name"]), created=t,
                  labels={"app": "istiod", "istio.io/rev": revision}) for i, t in enumerate(started or [AFTER])]
    return [dep, rs, *pods]


def mesh_cm(name: str, mesh_text: str, managed: list[str] | None = CHANGED) -> dict:
    return f.configmap(name, "istio-system", {"mesh": mesh_text}, managed_times=managed)


# ---------------------------------------------------------------- mesh-config-xds-agent
def test_every_revision_checked_and_false_fails(audit):
    objects = [*istiod_with_pods(), *istiod_with_pods("1-23-1", "1.23.1"),
               f.mesh_configmap("true"), f.mesh_configmap("false", revision="1-23-1")]
    rows = audit({"c1": objects}, "migrating").by_name("mesh-config-xds-agent")
    assert (rows["istio"]["status"], rows["istio"]["code"], rows["istio"]["evidence"]["revision"]) == (
        "PASS", "AA0901", "default")
    assert (rows["istio-1-23-1"]["status"], rows["istio-1-23-1"]["code"]) == ("FAIL", "AA0914")
    assert rows["istio-1-23-1"]["evidence"]["value"] == "false"
    assert rows["istio-1-23-1"]["kind"] == "ConfigMap" and rows["istio-1-23-1"]["severity"] == "blocker"


def test_absent_setting_fails_and_names_the_operator(audit):
    operator, _ = f.deployment("istio-operator", "istio-operator", labels={"name": "istio-operator"})
    [row] = audit({"c1": [*istiod_with_pods(), operator, f.mesh_configmap(None)]}, "migrating"
                  ).rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("FAIL", "AA0910")
    assert "istio-operator/istio-operator may have reverted it" in row["remediation"]


def test_values_pilot_agent_reads_as_true_pass(audit):
    # The injector copies proxyMetadata into each istio-proxy's env as written (the sidecar template's `range
    # .ProxyConfig.ProxyMetadata`, istio/istio@1.30.3 manifests/charts/istio-control/istio-discovery/files/
    # injection-template.yaml), where pilot-agent parses it with strconv.ParseBool (pkg/env/var.go): "True" is on.
    # main: FAIL AA0914, a mesh-config change asked for a setting that is there.
    for value in ("True", "1"):
        cm = mesh_cm("istio", f"defaultConfig:\n  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: \"{value}\"\n")
        [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
        assert (row["status"], row["code"]) == ("PASS", "AA0901")
    cm = mesh_cm("istio", "defaultConfig:\n  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: \"yes\"\n")
    [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("FAIL", "AA0914")


def test_unquoted_yaml_true_is_not_the_string(audit):
    cm = mesh_cm("istio", "defaultConfig:\n  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: true\n")
    [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"], row["evidence"]["value"]) == ("FAIL", "AA0913", True)


def test_revision_without_configmap_fails(audit):
    [row] = audit({"c1": istiod_with_pods("canary")}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA0911", "istio-canary")


def test_configmap_named_by_the_istiod_volume(audit):
    objects = istiod_with_pods()
    objects[0]["spec"]["template"]["spec"]["volumes"] = [
        {"name": "local-certs", "emptyDir": {"medium": "Memory"}},
        {"name": "config-volume", "configMap": {"name": "istio-mesh-prod"}}]
    cm = mesh_cm("istio-mesh-prod", 'defaultConfig:\n  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: "true"\n')
    [row] = audit({"c1": [*objects, cm, f.mesh_configmap(None)]}, "migrating").rows("mesh-config-xds-agent")
    assert row["status"] == "PASS" and row["name"] == "istio-mesh-prod"


def test_malformed_mesh_yaml_fails_with_the_reason(audit):
    cm = mesh_cm("istio", "defaultConfig: [unclosed\n")
    [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("FAIL", "AA0912")
    assert "not valid YAML" in row["message"]  # the parser's reason, as it says it


def test_no_istiod_is_not_applicable(audit):
    [row] = audit({"c1": [f.mesh_configmap()]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA0940")


def test_unreadable_configmaps_are_unknown(audit):
    run = audit({"c1": [*istiod_with_pods(), f.mesh_configmap()]}, "migrating",
                unreadable={"c1": {K.CONFIGMAP: "403 Forbidden: configmaps"}})
    [row] = run.rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "403 Forbidden: configmaps" in row["message"]  # the recorded error, verbatim


# ---------------------------------------------------------------- istiod-restarted
def test_istiod_started_after_the_change_passes(audit):
    [row] = audit({"c1": [*istiod_with_pods(started=[AFTER, AFTER]), f.mesh_configmap(changed=CHANGED)]},
                  "migrating").rows("istiod-restarted")
    assert (row["status"], row["code"], sorted(row["evidence"]["pods_started"].values())) == (
        "PASS", "AA1001", [AFTER, AFTER])
    assert row["evidence"]["configmap_changed"] == CHANGED[-1]


def test_stale_pod_fails_per_revision_with_the_rollout_command(audit):
    objects = [*istiod_with_pods(started=[AFTER]), *istiod_with_pods("1-23-1", "1.23.1", started=[AFTER, BEFORE]),
               f.mesh_configmap(), f.mesh_configmap(revision="1-23-1")]
    rows = audit({"c1": objects}, "migrating").by_name("istiod-restarted")
    assert rows["istiod"]["status"] == "PASS"
    canary = rows["istiod-1-23-1"]
    assert (canary["status"], canary["code"], len(canary["evidence"]["stale"])) == ("FAIL", "AA1010", 1)
    assert canary["remediation"] == ("kubectl --kubeconfig=\"${KUBECONFIG_C1:?}\" -n istio-system rollout restart "
                                     "deployment/istiod-1-23-1")


def test_no_running_istiod_pod_fails(audit):
    dep, rs, *_ = istiod_with_pods()
    [row] = audit({"c1": [dep, rs, f.mesh_configmap()]}, "migrating").rows("istiod-restarted")
    assert (row["status"], row["code"]) == ("FAIL", "AA1011")


def test_without_managed_fields_only_creation_is_known(audit):
    after_creation = audit({"c1": [*istiod_with_pods(started=[AFTER]), mesh_cm("istio", "{}", managed=None)]},
                           "migrating").rows("istiod-restarted")
    assert (after_creation[0]["status"], after_creation[0]["code"]) == ("UNKNOWN", "AA1033")
    cm = mesh_cm("istio", "{}", managed=None)
    cm["metadata"]["creationTimestamp"] = "2026-11-14T00:00:00Z"  # created after istiod started: certainly stale
    before_creation = audit({"c1": [*istiod_with_pods(started=[AFTER]), cm]}, "migrating").rows("istiod-restarted")
    assert before_creation[0]["status"] == "FAIL"


def test_missing_configmap_is_unknown(audit):
    [row] = audit({"c1": istiod_with_pods()}, "migrating").rows("istiod-restarted")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1031")


def test_restarted_without_istiod_is_not_applicable(audit):
    [row] = audit({"c1": [f.mesh_configmap()]}, "migrating").rows("istiod-restarted")
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA1040")


def test_unreadable_pods_are_unknown(audit):
    run = audit({"c1": [*istiod_with_pods(), f.mesh_configmap()]}, "migrating",
                unreadable={"c1": {K.POD: "the server was unable to return a response in the time allotted"}})
    [row] = run.rows("istiod-restarted")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "time allotted" in row["message"]  # the recorded error, verbatim


def test_no_local_istiod_codes_for_proxies_elsewhere_and_unread_pods(audit):
    """Istio sidecars without a local istiod: their control plane runs elsewhere (primary-remote), UNKNOWN."""
    app = f.deployment("cart")
    remote = audit({"c1": [*app, *f.workload_pods(app, 2), f.mesh_configmap()]}, "migrating")
    assert [(r["status"], r["code"]) for r in remote.rows("mesh-config-xds-agent")] == [("UNKNOWN", "AA0930")]
    assert [(r["status"], r["code"]) for r in remote.rows("istiod-restarted")] == [("UNKNOWN", "AA1034")]
    assert remote.rows("istiod-restarted")[0]["evidence"]["istio_proxy_pods"] == 2
    unread = audit({"c1": [f.mesh_configmap()]}, "migrating", unreadable={"c1": {K.POD: "403 Forbidden: pods"}})
    assert [(r["status"], r["code"]) for r in unread.rows("mesh-config-xds-agent")] == [("UNKNOWN", "AA0931")]


def test_unknown_start_time_and_unreadable_change_time_have_their_own_codes(audit):
    dep, rs, pod = istiod_with_pods()
    pod["metadata"]["creationTimestamp"] = ""  # neither a start nor a creation time to compare
    pod["status"].pop("startTime", None)
    for status in pod["status"].get("containerStatuses") or ():
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    [start] = audit({"c1": [dep, rs, pod, f.mesh_configmap()]}, "migrating").rows("istiod-restarted")
    assert (start["status"], start["code"]) == ("UNKNOWN", "AA1030")
    cm = mesh_cm("istio", "{}", managed=None)
    cm["metadata"].pop("creationTimestamp", None)
    [change] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("istiod-restarted")
    assert (change["status"], change["code"]) == ("UNKNOWN", "AA1032")


def test_the_note_names_a_revisioned_operator_as_istios_chart_installs_it(audit):
    operator = f.istio_operator_deployment(revision="1-22-3")
    [row] = audit({"c1": [*istiod_with_pods(), operator, f.mesh_configmap(None)]}, "migrating"
                  ).rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("FAIL", "AA0910")
    assert "istio-operator/istio-operator-1-22-3 may have reverted it" in row["remediation"]  # before: no note


# ---------------------------------------------------------------- istiod outside istio-system
# istiod reads the mesh ConfigMap of its OWN namespace: the chart renders the Deployment and ConfigMap istio[-<rev>]
# both in {{ .Release.Namespace }} (manifests/charts/istio-control/istio-discovery/templates/deployment.yaml and
# configmap.yaml @1.30.3), and pilot-discovery watches getMeshConfigMapName(revision) in args.Namespace, which is
# POD_NAMESPACE (pilot/pkg/bootstrap/mesh.go, options.go @1.30.3; the config-volume mount @1.22.8 is a ConfigMap of
# the pod's namespace too). A mesh ConfigMap istio in istio-system is not the one such an istiod reads.
def istiod_in(namespace: str, started: str) -> list[dict]:
    """istiod 1.30.3 installed with `helm install istiod ... -n <namespace>`, its ReplicaSet and pod."""
    dep = f.istiod("default", "1.30.3", namespace=namespace)
    _, rs = f.deployment("istiod", namespace, replicas=1, template_labels={"app": "istiod", "istio.io/rev": "default"})
    pod = f.pod(f"{rs['metadata']['name']}-00abc", namespace, proxy=None, owner=("ReplicaSet", rs["metadata"]["name"]),
                created=started, labels={"app": "istiod", "istio.io/rev": "default"})
    return [f.namespace(namespace), dep, rs, pod]


def test_the_setting_is_read_from_the_istiod_namespace(audit):
    # The setting sits in istio-system/istio (where the migration writes it), not in the ConfigMap istiod reads.
    own = f.configmap("istio", "istio-control",
                      {"mesh": "defaultConfig:\n  discoveryAddress: istiod.istio-control.svc:15012\n"
                               "rootNamespace: istio-control\n"}, managed_times=CHANGED)
    [row] = audit({"c1": [*istiod_in("istio-control", AFTER), own, f.mesh_configmap("true")]}, "migrating"
                  ).rows("mesh-config-xds-agent")
    assert (row["status"], row["code"], row["namespace"], row["name"]) == ("FAIL", "AA0910", "istio-control", "istio")
    assert "absent in istio-control/istio" in row["message"]


def test_the_setting_in_the_istiod_namespace_configmap_is_read(audit):
    # istiod installed with `helm install istiod istio/istiod -n istio-control` reads ConfigMap istio-control/istio
    # (pilot/pkg/bootstrap/mesh.go getConfigurationSources, args.Namespace = POD_NAMESPACE, options.go @1.30.3). Its
    # data outside istio-system was dropped when collected (inventory.slim): the setting there read as absent, FAIL
    # AA0910 on main.
    own = f.configmap("istio", "istio-control",
                      {"mesh": 'defaultConfig:\n  discoveryAddress: istiod.istio-control.svc:15012\n  proxyMetadata:\n'
                               '    PROXY_CONFIG_XDS_AGENT: "true"\nrootNamespace: istio-control\n'},
                      managed_times=CHANGED)
    [row] = audit({"c1": [*istiod_in("istio-control", AFTER), own]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"], row["namespace"], row["name"]) == ("PASS", "AA0901", "istio-control", "istio")


def test_the_restart_is_compared_with_the_istiod_namespace_configmap(audit):
    # istio-system/istio last changed long before the pod started; the istiod's own ConfigMap changed after it.
    own = f.configmap("istio", "istio-control", {"mesh": 'defaultConfig:\n  proxyMetadata:\n'
                                                        '    PROXY_CONFIG_XDS_AGENT: "true"\n'},
                      managed_times=CHANGED)
    other = f.mesh_configmap("true", changed=["2026-10-01T08:00:00Z"])
    [row] = audit({"c1": [*istiod_in("istio-control", BEFORE), own, other]}, "migrating").rows("istiod-restarted")
    assert (row["status"], row["code"], row["namespace"]) == ("FAIL", "AA1010", "istio-control")
    assert row["evidence"]["configmap"] == "istio-control/istio"
    assert row["evidence"]["configmap_changed"] == "2026-11-12T09:00:00Z"


# ---------------------------------------------------------------- the mesh ConfigMap applied from Git
# Argo CD writes argocd.argoproj.io/tracking-id "<app>:<group>/<kind>:<namespace>/<name>" on what it applies
# (annotation tracking, argo-cd pkg/apis/application resource tracking, default since 3.0); Flux's kustomize-controller
# labels kustomize.toolkit.fluxcd.io/name + /namespace, its helm-controller helm.toolkit.fluxcd.io/name + /namespace.
GIT_MARKS = {
    "argo": ("annotations", {"argocd.argoproj.io/tracking-id": "istio-control:/ConfigMap:istio-system/istio"}),
    "flux-kustomization": ("labels", {"kustomize.toolkit.fluxcd.io/name": "istio-control",
                                      "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}),
    "flux-helmrelease": ("labels", {"helm.toolkit.fluxcd.io/name": "istiod",
                                    "helm.toolkit.fluxcd.io/namespace": "istio-system"}),
    # KubeVela labels what its Application dispatches (kubevela/kubevela@v1.10.9 pkg/oam/labels.go) and re-applies it
    # at every re-sync; Rancher Fleet annotates its bundle's objects with the object set id "<namespace>-<bundle>"
    # (rancher/fleet@v0.16.1 internal/helmdeployer/postrender.go). PASS AA0901 before.
    "kubevela": ("labels", {"app.oam.dev/name": "istio", "app.oam.dev/namespace": "vela-system"}),
    "fleet": ("annotations", {"objectset.rio.cattle.io/id": "default-istio-istiod",
                              "meta.helm.sh/release-name": "istio-istiod"}),
}


@pytest.mark.parametrize("case", list(GIT_MARKS))
def test_setting_in_a_configmap_applied_from_git_warns(audit, case):
    """ASM writes the setting into the ConfigMap in the cluster; Argo CD (self-heal, or its next sync) and Flux (each
    reconcile) put Git's mesh config back: pods restarted after that lose it. Main: PASS AA0901."""
    part, marks = GIT_MARKS[case]
    cm = f.mesh_configmap("true")
    cm["metadata"].setdefault(part, {}).update(marks)
    [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA0920", "major")
    assert row["evidence"]["applied_from_git_by"]


def test_argo_label_tracking_alone_is_istios_own_chart_label(audit):
    """app.kubernetes.io/instance is what Istio's chart writes on every object: no sign of GitOps on its own."""
    cm = f.mesh_configmap("true")
    cm["metadata"]["labels"]["app.kubernetes.io/instance"] = "istiod"
    [row] = audit({"c1": [*istiod_with_pods(), cm]}, "migrating").rows("mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("PASS", "AA0901")
