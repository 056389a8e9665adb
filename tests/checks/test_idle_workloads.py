"""istio-sidecars-remaining and the workloads that run no pod at audit time (red18, auditor/idle.py).

A Deployment scaled to zero (KEDA's scale-to-zero), a CronJob between runs and a DaemonSet no node runs show no pod, so
on main the check counted nothing of them and passed (AA1201: GO at the uninstall gate). Their next pods are injected by
the webhooks the cluster has when they are created: Istio's injector selects an unlabelled template in an
`istio-injection=enabled` namespace (its sidecar now; the purge deletes that injector, so none afterwards), and during
the migration ASM's injects only templates labelled sidecar.asm.aliyun.com/inject=true (seed: "injected in Istio
Sidecar by default ... modify the Pod label to explicitly declare the injection of the ASM mesh proxy").

Shapes:
- Istio's injector webhook configuration as the istio-discovery chart renders it for the default revision
  (istio/istio@1.24.6:manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml: the webhooks
  rev.namespace., rev.object., namespace., object.sidecar-injector.istio.io with their selectors, labels
  operator.istio.io/component: Pilot, istio.io/rev, app: sidecar-injector; calls istio-system/istiod /inject).
- What Istio's injector skips after its webhook matched: injectRequired (istio/istio@1.24.6:pkg/kube/inject/inject.go:
  hostNetwork, kube-system/kube-public, sidecar.istio.io/inject not true, the label winning over the annotation).
- ASM's injector webhook as this project's demo models it during Migrating (auditor/demo/snapshot/cluster-a/
  webhooks.json: istio-sidecar-injector-1-24-6, asm.alibabacloud.com/managed-by-asm, objectSelector
  sidecar.asm.aliyun.com/inject In [true], calling ASM's headless istiod-1-24-6); ASM publishes no shape of its own.
- CronJob -> Job ownership as the CronJob controller writes it (tests/checks/test_sidecars.py cronjob_with_job).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "istio-sidecars-remaining"
ISTIO_LABELS = {"app": "sidecar-injector", "istio.io/rev": "default", "operator.istio.io/component": "Pilot",
                "install.operator.istio.io/owning-resource": "installed-state", "release": "istio",
                "app.kubernetes.io/name": "istiod"}


def _hook(name: str, service: str, namespace_selector: dict, object_selector: dict) -> dict[str, Any]:
    return {"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
            "reinvocationPolicy": "Never",
            "clientConfig": {"service": {"name": service, "namespace": "istio-system", "path": "/inject",
                                         "port": 443}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "namespaceSelector": namespace_selector, "objectSelector": object_selector}


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def istio_injector(service: str = "istiod", labels: dict | None = None, name: str = "istio-sidecar-injector"
                   ) -> dict[str, Any]:
    """istio-discovery's mutatingwebhook.yaml @1.24.6 for the default revision (revision "")."""
    no_opt_out = _expr("sidecar.istio.io/inject", "NotIn", "false")
    hooks = [
        _hook("rev.namespace.sidecar-injector.istio.io", service,
              {"matchExpressions": [_expr("istio.io/rev", "In", "default"), _expr("istio-injection", "DoesNotExist")]},
              {"matchExpressions": [no_opt_out]}),
        _hook("rev.object.sidecar-injector.istio.io", service,
              {"matchExpressions": [_expr("istio.io/rev", "DoesNotExist"), _expr("istio-injection", "DoesNotExist")]},
              {"matchExpressions": [no_opt_out, _expr("istio.io/rev", "In", "default")]}),
        _hook("namespace.sidecar-injector.istio.io", service,
              {"matchExpressions": [_expr("istio-injection", "In", "enabled")]},
              {"matchExpressions": [no_opt_out]}),
        _hook("object.sidecar-injector.istio.io", service,
              {"matchExpressions": [_expr("istio-injection", "DoesNotExist"), _expr("istio.io/rev", "DoesNotExist")]},
              {"matchExpressions": [_expr("sidecar.istio.io/inject", "In", "true"),
                                    _expr("istio.io/rev", "DoesNotExist")]}),
    ]
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": f.meta(name, labels=labels if labels is not None else ISTIO_LABELS), "webhooks": hooks}


def asm_injector() -> dict[str, Any]:
    """ASM's injector during Migrating, as the demo models it: only templates carrying ASM's label."""
    asm_only = _expr("sidecar.asm.aliyun.com/inject", "In", "true")
    no_opt_out = _expr("sidecar.istio.io/inject", "NotIn", "false")
    hooks = [
        _hook("namespace.sidecar-injector.asm.alibabacloud.com", "istiod-1-24-6",
              {"matchExpressions": [_expr("istio-injection", "In", "enabled")]},
              {"matchExpressions": [no_opt_out, asm_only]}),
        _hook("rev.namespace.sidecar-injector.asm.alibabacloud.com", "istiod-1-24-6",
              {"matchExpressions": [_expr("istio.io/rev", "In", "default"), _expr("istio-injection", "DoesNotExist")]},
              {"matchExpressions": [no_opt_out, asm_only]}),
    ]
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": f.meta("istio-sidecar-injector-1-24-6",
                               labels={"app": "sidecar-injector", "asm.alibabacloud.com/managed-by-asm": "true",
                                       "istio.io/rev": "1-24-6", "provider": "asm"}),
            "webhooks": hooks}


def asm_policy(only_asked: bool | None) -> dict[str, Any]:
    """A DescribeServiceMeshDetail answer saying ASM's pod-level injection condition, shaped as Alibaba Cloud's SDK
    models it (alibabacloud-servicemesh20200111 3.4.0 models.py DescribeServiceMeshDetailResponseBodyServiceMeshSpec
    MeshConfigSidecarInjector `auto_injection_policy_enabled: bool`, JSON key AutoInjectionPolicyEnabled); None leaves
    the field out."""
    injector: dict[str, Any] = {"EnableNamespacesByDefault": False, "SidecarInjectorNum": 1}
    if only_asked is not None:
        injector["AutoInjectionPolicyEnabled"] = only_asked
    return {"DescribeServiceMeshDetail": {"ServiceMesh": {
        "ServiceMeshInfo": {"Version": "v1.24.6.62-g5c7e1f0b-aliyun"},
        "Spec": {"MeshConfig": {"SidecarInjector": injector}}}}}


# ASM's console default ("Not include sidecar.istio.io/inject: "false""): ASM injects every pod its webhooks select.
ASM_TAKES_ALL = asm_policy(False)


def asm_istiod_service() -> dict[str, Any]:
    svc = f.service("istiod-1-24-6", "istio-system", ports=[{"name": "grpc-xds", "port": 15012, "protocol": "TCP"}],
                    cluster_ip="None")
    svc["spec"].pop("selector")
    return svc


def istio_control_plane() -> list[dict[str, Any]]:
    svc = f.service("istiod", "istio-system", labels={"app": "istiod", "istio.io/rev": "default",
                                                      "operator.istio.io/component": "Pilot"})
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": "default"}
    return [f.istiod(), svc, istio_injector()]  # istiod's template opts out (sidecar.istio.io/inject: "false")


def moved_workload() -> list[dict[str, Any]]:
    """A workload already on ASM's proxy, so that nothing else in the cluster fails."""
    cart = f.deployment("cart", template_labels={"app": "cart", "sidecar.asm.aliyun.com/inject": "true"})
    return [*cart, *f.workload_pods(cart, 2, proxy="asm")]


def base(*, istio: bool = True) -> list[dict[str, Any]]:
    objs = [f.namespace("shop", {"istio-injection": "enabled", "kubernetes.io/metadata.name": "shop"}),
            f.namespace("batch", {"istio-injection": "enabled", "kubernetes.io/metadata.name": "batch"}),
            f.namespace("plain", {"kubernetes.io/metadata.name": "plain"}),
            f.namespace("istio-system", {"kubernetes.io/metadata.name": "istio-system"}),
            asm_istiod_service(), asm_injector(), *moved_workload()]
    return [*objs, *istio_control_plane()] if istio else objs


def scaled_to_zero(name: str = "reports", namespace: str = "shop", **kw: Any) -> list[dict[str, Any]]:
    dep, rs = f.deployment(name, namespace, replicas=0, **kw)
    dep["status"] = {"observedGeneration": 2}  # scaled to 0: the controller drops the replica counts
    rs["status"] = {"replicas": 0}
    return [dep, rs]


def cronjob(name: str = "nightly", namespace: str = "batch", *, suspend: bool = False,
            template_labels: dict | None = None) -> dict[str, Any]:
    template = {"metadata": {"labels": template_labels or {"app": name}},
                "spec": {"containers": [{"name": "main", "image": f"registry.example.com/{name}:1"}],
                         "restartPolicy": "OnFailure"}}
    spec: dict[str, Any] = {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": template}},
                            "successfulJobsHistoryLimit": 0}
    if suspend:
        spec["suspend"] = True
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, namespace), "spec": spec}


def codes(run: Any) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["kind"], r["name"]): (r["status"], r["code"]) for r in run.rows(CHECK)}


# ------------------------------------------------------------------ the uninstall gate (both injectors in the cluster)
def test_a_deployment_scaled_to_zero_that_istio_still_injects_fails(audit):
    run = audit({"c1": [*base(), *scaled_to_zero()]}, "uninstall")
    rows = [r for r in run.rows(CHECK) if r["name"] == "reports"]
    assert [(r["status"], r["code"], r["kind"], r["namespace"]) for r in rows] == [
        ("FAIL", "AA1218", "Deployment", "shop")]
    [row] = rows
    assert row["severity"] == "blocker"
    assert row["evidence"]["istio_injectors"] == ["istio-sidecar-injector (namespace.sidecar-injector.istio.io)"]
    assert row["evidence"]["pods"] == 0
    assert '"sidecar.asm.aliyun.com/inject":"true"' in row["remediation"]
    assert "patch deployment/reports" in row["remediation"]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]  # main: PASS AA1201, GO


def test_a_cronjob_between_runs_and_a_suspended_one_fail(audit):
    run = audit({"c1": [*base(), cronjob("nightly"), cronjob("monthly", suspend=True)]}, "uninstall")
    found = codes(run)
    assert found[("CronJob", "nightly")] == ("FAIL", "AA1218")
    assert found[("CronJob", "monthly")] == ("FAIL", "AA1218")
    row = run.by_name(CHECK)["monthly"]
    assert '"jobTemplate"' in row["remediation"]
    assert ("", "") not in found or found[("", "")][1] != "AA1201"


def test_a_daemonset_no_node_runs_is_judged_too(audit):
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta("node-agent", "shop"),
          "spec": {"selector": {"matchLabels": {"app": "node-agent"}},
                   "template": {"metadata": {"labels": {"app": "node-agent"}},
                                "spec": {"nodeSelector": {"pool": "gpu"},
                                         "containers": [{"name": "agent", "image": "registry.example.com/a:1"}]}}},
          "status": {"desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberReady": 0,
                     "numberMisscheduled": 0}}
    assert codes(audit({"c1": [*base(), ds]}, "uninstall"))[("DaemonSet", "node-agent")] == ("FAIL", "AA1218")


def test_idle_templates_labelled_for_asm_or_opted_out_or_unmeshed_pass(audit):
    labelled = scaled_to_zero("moved", template_labels={"app": "moved", "sidecar.asm.aliyun.com/inject": "true"})
    opted_out = scaled_to_zero("tool", template_labels={"app": "tool", "sidecar.istio.io/inject": "false"})
    # The annotation opts out too when no label says otherwise (injectRequired reads the label first).
    annotated = scaled_to_zero("tool2", template_annotations={"sidecar.istio.io/inject": "false"})
    host = scaled_to_zero("hostnet")
    host[0]["spec"]["template"]["spec"]["hostNetwork"] = True
    unmeshed = scaled_to_zero("plainapp", "plain")
    run = audit({"c1": [*base(), *labelled, *opted_out, *annotated, *host, *unmeshed]}, "uninstall",
                asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_workload_with_a_running_pod_is_judged_by_its_pods_only(audit):
    cart = f.deployment("web")
    run = audit({"c1": [*base(), *cart, *f.workload_pods(cart, 1, proxy="asm")]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_namespace_selected_by_a_revision_label_is_read_as_istio_injects_it(audit):
    objs = [o for o in base() if not (o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")]
    objs.append(f.namespace("shop", {"istio.io/rev": "default", "kubernetes.io/metadata.name": "shop"}))
    run = audit({"c1": [*objs, *scaled_to_zero()]}, "uninstall")
    row = run.by_name(CHECK)["reports"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1218")
    assert row["evidence"]["istio_injectors"] == ["istio-sidecar-injector (rev.namespace.sidecar-injector.istio.io)"]


def test_unread_webhooks_leave_an_idle_meshed_workload_unknown(audit):
    run = audit({"c1": [*base(), *scaled_to_zero()]}, "uninstall",
                unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden"}})
    idle = [r for r in run.rows(CHECK) if r["code"] == "AA1236"]
    assert [(r["status"], r["evidence"]["workloads"]) for r in idle] == [("UNKNOWN", ["Deployment shop/reports"])]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]


def test_an_injector_calling_an_istiod_not_proven_whose_is_unknown(audit):
    # A revision tag Istio's chart writes (Istio's install labels) that calls ASM's unmarked istiod-1-24-6: that Service
    # is then unproven (mesh._unlabelled_istiod_owner), and so is what the tag injects.
    objs = [o for o in base(istio=False)]
    tag = istio_injector("istiod-1-24-6", {**ISTIO_LABELS, "istio.io/tag": "default"}, "istio-revision-tag-default")
    run = audit({"c1": [*objs, tag, *scaled_to_zero()]}, "uninstall")
    idle = [r for r in run.rows(CHECK) if r["code"] == "AA1236"]
    assert [r["status"] for r in idle] == ["UNKNOWN"]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]


# ------------------------------------------------------------------ the finished gate (Istio purged)
def test_after_the_purge_an_idle_unlabelled_template_gets_no_proxy(audit):
    run = audit({"c1": [*base(istio=False), *scaled_to_zero(), cronjob("nightly")]}, "finished")
    found = codes(run)
    assert found[("Deployment", "reports")] == ("FAIL", "AA1219")
    assert found[("CronJob", "nightly")] == ("FAIL", "AA1219")
    row = run.by_name(CHECK)["reports"]
    assert row["evidence"]["asks_for_injection"] == ["namespace label istio-injection=enabled"]
    assert ("", "") not in found  # main: PASS AA1201


def test_after_the_purge_an_idle_template_asm_injects_passes(audit):
    labelled = scaled_to_zero("moved", template_labels={"app": "moved", "sidecar.asm.aliyun.com/inject": "true"})
    run = audit({"c1": [*base(istio=False), *labelled, *scaled_to_zero("plainapp", "plain")]}, "finished",
                asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_after_the_purge_an_asm_injector_taking_the_namespace_passes(audit):
    """Whatever ASM's injector selects after the switch to Finished is read, not assumed: one selecting every pod of
    an istio-injection=enabled namespace takes the idle template."""
    hook = asm_injector()
    for h in hook["webhooks"]:
        h["objectSelector"] = {"matchExpressions": [_expr("sidecar.istio.io/inject", "NotIn", "false")]}
    objs = [hook if o.get("kind") == "MutatingWebhookConfiguration" else o for o in base(istio=False)]
    run = audit({"c1": [*objs, *scaled_to_zero()]}, "finished", asm_openapi=ASM_TAKES_ALL)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_kube_system_is_never_injected(audit):
    objs = [*base(istio=False), f.namespace("kube-system", {"istio-injection": "enabled"}),
            *scaled_to_zero("coredns-extra", "kube-system")]
    run = audit({"c1": objs}, "finished")
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_a_selector_of_no_known_shape_is_unknown_never_a_pass(audit):
    """An operator the API server would refuse (`Equals`): what the webhook selects is not guessed."""
    hook = istio_injector()
    for h in hook["webhooks"]:
        h["namespaceSelector"] = {"matchExpressions": [_expr("istio-injection", "Equals", "enabled")]}
    objs = [hook if o["metadata"]["name"] == "istio-sidecar-injector" else o for o in base()]
    run = audit({"c1": [*objs, *scaled_to_zero()]}, "uninstall")
    idle = [r for r in run.rows(CHECK) if r["code"] == "AA1236"]
    assert [(r["status"], r["evidence"]["workloads"]) for r in idle] == [("UNKNOWN", ["Deployment shop/reports"])]
