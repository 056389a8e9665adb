"""manual-injection (kube-injected templates) and asm-proxies-ready (ASM-proxied pods healthy)."""

from __future__ import annotations

import pytest

from auditor import kinds as K
from checks.workloads import AsmProxiesReady
from tests import factory as f


def kube_injected(name: str, namespace: str = "shop", *, xds_agent: str | None = None,
                  native: bool = False) -> tuple[dict, dict]:
    """A Deployment whose template is what `istioctl kube-inject` renders: proxy container + status annotation."""
    rendered = f.pod("render", namespace, xds_agent=xds_agent, native=native)
    status = rendered["metadata"]["annotations"]["sidecar.istio.io/status"]
    dep, rs = f.deployment(name, namespace, containers=rendered["spec"]["containers"],
                           template_annotations={"sidecar.istio.io/status": status})
    if native:
        dep["spec"]["template"]["spec"]["initContainers"] = rendered["spec"]["initContainers"]
    return dep, rs


def gateway_deployments() -> list[dict]:
    """Gateways define istio-proxy by design: Helm's `image: auto` and an operator-rendered router."""
    helm, _ = f.deployment("istio-ingressgateway", "istio-system",
                           template_labels={"app": "istio-ingressgateway", "istio": "ingressgateway"},
                           template_annotations={"inject.istio.io/templates": "gateway"},
                           containers=[{"name": "istio-proxy", "image": "auto"}])
    rendered, _ = f.deployment("istio-egressgateway", "istio-system",
                               containers=[f.proxy_container("istio", gateway=True)],
                               template_labels={"app": "istio-egressgateway", "istio": "egressgateway"})
    asm, _ = f.deployment("istio-asm-ingress", "istio-system", containers=[f.proxy_container("asm", gateway=True)])
    customised, _ = f.deployment("tuned", "shop", containers=[
        {"name": "app", "image": "registry.example.com/tuned:1"},
        {"name": "istio-proxy", "image": "auto", "resources": {"requests": {"cpu": "500m"}}}])
    return [helm, rendered, asm, customised]


# ---------------------------------------------------------------- manual-injection
def test_clean_templates_and_gateways_pass(audit):
    cart = f.deployment("cart")
    run = audit({"c1": [*cart, *gateway_deployments()]}, "assessment")
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"]) == ("PASS", "AA0601")


@pytest.mark.parametrize(("gate", "xds", "status"), [
    ("assessment", None, "WARN"),
    ("migrating", None, "FAIL"),
    ("migrating", "false", "FAIL"),
    ("migrating", "true", "WARN"),
    ("migrating", "1", "WARN"),  # strconv.ParseBool, as pilot-agent reads it (pkg/env/var.go @1.30.3); main: FAIL
    ("migrating", "yes", "FAIL"),
    ("uninstall", "true", "FAIL"),
])
def test_kube_injected_deployment_per_gate(audit, gate, xds, status):
    legacy = kube_injected("legacy", xds_agent=xds)
    [row] = audit({"c1": [*legacy]}, gate).rows("manual-injection")
    assert (row["status"], row["kind"], row["namespace"], row["name"]) == (status, "Deployment", "shop", "legacy")
    assert row["severity"] == "major"
    advice, command = row["remediation"].split("\n")
    assert advice.startswith("Re-render it") and "without `istioctl kube-inject`" in advice
    assert " -n shop get deployment/legacy -o yaml | grep " in command
    assert row["code"] == {"assessment": "AA0620", "migrating": "AA0611" if status == "FAIL" else "AA0622",
                           "uninstall": "AA0610"}[gate]
    assert row["evidence"]["xds_agent"] == (xds or "<absent>")


def test_native_sidecar_in_template_is_found(audit):
    dep, rs = kube_injected("modern", native=True)
    [row] = audit({"c1": [dep, rs]}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["evidence"]["native"]) == ("FAIL", "AA0610", True)


def test_every_template_kind_and_only_top_level_owners(audit):
    rendered = f.pod("render", "batch", xds_agent=None)
    template = {"metadata": {"labels": {"app": "x"}, "annotations": rendered["metadata"]["annotations"]},
                "spec": rendered["spec"]}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": f.meta("db", "batch"),
           "spec": {"replicas": 1, "serviceName": "db", "template": template}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta("agent", "batch"),
          "spec": {"template": template}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta("nightly", "batch"),
            "spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": template}}}}
    owned_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta(
        "nightly-29000000", "batch", ownerReferences=[{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly",
                                                       "uid": "u", "controller": True}]),
        "spec": {"template": template}}
    lone_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("migrate-db", "batch"),
                "spec": {"template": template}}
    lone_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": f.meta("orphan", "batch"),
               "spec": {"replicas": 1, "template": template}}
    run = audit({"c1": [sts, ds, cron, owned_job, lone_job, lone_rs]}, "uninstall")
    found = {(r["kind"], r["name"]) for r in run.rows("manual-injection")}
    assert found == {("StatefulSet", "db"), ("DaemonSet", "agent"), ("CronJob", "nightly"), ("Job", "migrate-db"),
                     ("ReplicaSet", "orphan")}


def test_status_annotation_without_proxy_warns_minor(audit):
    dep, rs = f.deployment("copied", template_annotations={"sidecar.istio.io/status": '{"containers":["istio-proxy"]}'})
    [row] = audit({"c1": [dep, rs]}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA0621", "minor")


def test_unreadable_needed_kind_is_unknown(audit):
    run = audit({"c1": [*kube_injected("legacy")]}, "assessment",
                unreadable={"c1": {K.DEPLOYMENT: "403 Forbidden: deployments.apps"}})
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "403 Forbidden: deployments.apps" in row["message"]  # the recorded error, verbatim


def test_unreadable_optional_kind_is_unknown_not_pass(audit):
    run = audit({"c1": [*f.deployment("cart")]}, "assessment", unreadable={"c1": {K.CRONJOB: "403 Forbidden"}})
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"], row["evidence"]["unread_kinds"]) == ("UNKNOWN", "AA0630",
                                                                          {"CronJob": "403 Forbidden (recorded in the "
                                                                                      "snapshot)"})


# ---------------------------------------------------------------- asm-proxies-ready
def test_ready_asm_pods_pass(audit):
    cart = f.deployment("cart")
    [row] = audit({"c1": [*cart, *f.workload_pods(cart, 3, proxy="asm", restarts=1)]}, "uninstall"
                  ).rows("asm-proxies-ready")
    assert (row["status"], row["code"], row["evidence"]) == ("PASS", "AA1301", {"pods": 3, "workloads": 1})


def test_unready_or_restarting_workloads_fail_one_finding_each(audit):
    cart, web, ok = f.deployment("cart"), f.deployment("web"), f.deployment("ok")
    pods = [*f.workload_pods(cart, 2, proxy="asm", ready=False, phase="Running"),
            *f.workload_pods(web, 1, proxy="asm", restarts=7),  # app + proxy: 14 restarts in all
            *f.workload_pods(ok, 2, proxy="asm"),
            f.pod("istio-left", owner=None, ready=False)]  # an Istio sidecar is another check's business
    rows = audit({"c1": [*cart, *web, *ok, *pods]}, "uninstall").by_name("asm-proxies-ready")
    assert set(rows) == {"cart", "web"}
    assert (rows["cart"]["status"], rows["cart"]["code"], len(rows["cart"]["evidence"]["not_ready"])) == (
        "FAIL", "AA1310", 2)
    assert (rows["web"]["status"], rows["web"]["code"], list(rows["web"]["evidence"]["restarting"].values())) == (
        "FAIL", "AA1311", [14])
    assert rows["web"]["severity"] == "major"
    assert "logs" in rows["web"]["remediation"] and "-c istio-proxy --previous" in rows["web"]["remediation"]


def test_restart_threshold_is_a_class_attribute(audit, monkeypatch):
    web = f.deployment("web")
    snapshot = {"c1": [*web, *f.workload_pods(web, 1, proxy="asm", restarts=7)]}  # 14 in all
    monkeypatch.setattr(AsmProxiesReady, "restart_threshold", 20)
    assert audit(snapshot, "uninstall").statuses("asm-proxies-ready") == ["PASS"]


def test_no_asm_pods_is_not_applicable(audit):
    [row] = audit({"c1": [f.pod("a", owner=None)]}, "uninstall").rows("asm-proxies-ready")
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA1340")


def test_unreadable_pods_is_unknown(audit):
    [row] = audit({"c1": []}, "uninstall", unreadable={"c1": {K.POD: "timeout"}}).rows("asm-proxies-ready")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "timeout" in row["message"]  # the recorded error, verbatim


def test_unready_and_restarting_pods_of_one_workload_have_their_own_code(audit):
    cart = f.deployment("cart")
    pods = f.workload_pods(cart, 2, proxy="asm", ready=False, restarts=5)  # app + proxy: 10 restarts each
    [row] = audit({"c1": [*cart, *pods]}, "uninstall").rows("asm-proxies-ready")
    assert (row["status"], row["code"], row["name"]) == ("FAIL", "AA1312", "cart")
    assert (len(row["evidence"]["not_ready"]), len(row["evidence"]["restarting"])) == (2, 2)


# ---------------------------------------------------------------- templates whose owner is a kind not read
def injected_template(name: str, namespace: str, extra_labels: dict | None = None) -> dict:
    """A pod template as `istioctl kube-inject` renders one (proxy container, sidecar.istio.io/status)."""
    rendered = f.pod("render", namespace, xds_agent=None)
    return {"metadata": {"labels": {"app": name, **(extra_labels or {})},
                         "annotations": rendered["metadata"]["annotations"]},
            "spec": rendered["spec"]}


def clean_template(name: str, extra_labels: dict | None = None) -> dict:
    return {"metadata": {"labels": {"app": name, **(extra_labels or {})}},
            "spec": {"containers": [{"name": "app", "image": f"registry.example.com/shop/{name}:2.0"}]}}


def rollout_replicaset(rollout: str, template_hash: str, revision: int, replicas: int, *, injected: bool,
                       created: str = f.T0) -> dict:
    """A ReplicaSet as Argo Rollouts makes one (argoproj/argo-rollouts@v1.9.1:rollout/sync.go): named
    <rollout>-<hash>, controller reference to the Rollout (argoproj.io/v1alpha1), label rollouts-pod-template-hash on
    itself and its template, annotation rollout.argoproj.io/revision (utils/annotations/annotations.go)."""
    hashed = {"rollouts-pod-template-hash": template_hash}
    template = injected_template(rollout, "shop", hashed) if injected else clean_template(rollout, hashed)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": f.meta(f"{rollout}-{template_hash}", "shop", {"app": rollout, **hashed},
                               {"rollout.argoproj.io/revision": str(revision)}, created, ownerReferences=[
                                   {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": rollout,
                                    "uid": f._uid("shop", rollout), "controller": True, "blockOwnerDeletion": True}]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": rollout, **hashed}},
                     "template": template},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}}


def rollout(name: str) -> dict:
    """The Rollout itself (argoproj.io/v1alpha1): a kind the auditor does not read (ignored in a snapshot)."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": f.meta(name, "shop"),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}}, "template": clean_template(name)}}


def test_a_kube_injected_argo_rollout_is_found_through_its_replicaset(audit):
    """The Rollout's template is not read, and its ReplicaSets were skipped as owned: a clean PASS (AA0601) while
    every new pod of the Rollout got Istio's proxy from its template."""
    objects = [rollout("checkout"), rollout_replicaset("checkout", "6b9f7d8c5", 1, 3, injected=True)]
    for gate, status, code in (("uninstall", "FAIL", "AA0610"), ("assessment", "WARN", "AA0620"),
                               ("migrating", "FAIL", "AA0611")):
        [row] = audit({"c1": objects}, gate).rows("manual-injection")
        assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
            status, code, "Rollout", "shop", "checkout")
        assert row["evidence"]["template_of"] == "ReplicaSet shop/checkout-6b9f7d8c5"


def test_a_kube_injected_rollout_makes_the_uninstall_gate_no_go(audit):
    run = audit({"c1": [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0, injected=True)]}, "uninstall",
                config=f.only_checks("manual-injection"))
    assert run.result.verdict.value == "NO-GO"


def test_a_rollout_re_rendered_without_kube_inject_passes(audit):
    """Its old ReplicaSet (scaled to 0, kept for rollback) still carries the sidecar; the live one does not."""
    objects = [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0, injected=True),
               rollout_replicaset("checkout", "7c4d5e6f8", 2, 3, injected=False, created="2026-11-12T08:00:00Z")]
    [row] = audit({"c1": objects}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"]) == ("PASS", "AA0601")


def test_a_rollout_scaled_to_zero_is_judged_by_its_newest_replicaset(audit):
    objects = [rollout_replicaset("checkout", "6b9f7d8c5", 1, 0, injected=False),
               rollout_replicaset("checkout", "7c4d5e6f8", 2, 0, injected=True, created="2026-11-12T08:00:00Z")]
    [row] = audit({"c1": objects}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA0610", "Rollout", "checkout")
    assert row["evidence"]["template_of"] == "ReplicaSet shop/checkout-7c4d5e6f8"


def test_a_kube_injected_keda_scaledjob_s_jobs_are_found(audit):
    """KEDA's ScaledJob makes Jobs owned by itself (kedacore/keda@v2.20.2:pkg/scaling/executor/scale_jobs.go:
    GenerateName <scaledjob>-, labels scaledjob.keda.sh/name, SetControllerReference): not a CronJob, whose template
    is read instead, so the Job's own template is the one to judge (its pods are that Job's workload)."""
    labels = {"app.kubernetes.io/name": "queue-worker", "app.kubernetes.io/managed-by": "keda-operator",
              "scaledjob.keda.sh/name": "queue-worker"}
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": f.meta("queue-worker-x7b2k", "shop", labels, {"scaledjob.keda.sh/generation": "1"},
                              ownerReferences=[{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob",
                                                "name": "queue-worker", "uid": f._uid("shop", "queue-worker"),
                                                "controller": True, "blockOwnerDeletion": True}]),
           "spec": {"backoffLimit": 6, "template": injected_template("queue-worker", "shop",
                                                                    {"scaledjob.keda.sh/name": "queue-worker"})},
           "status": {"active": 1, "startTime": f.T0}}
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    [row] = audit({"c1": [job]}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA0610", "Job", "queue-worker-x7b2k")
    assert row["evidence"]["template_of"] == "Job shop/queue-worker-x7b2k, owned by ScaledJob queue-worker"


def test_pods_of_a_kube_injected_rollout_are_told_to_re_render_not_restart(audit):
    """istio-sidecars-remaining reads the same answer: the Rollout's pods (workload Rollout/checkout through their
    ReplicaSet) come back with Istio's proxy after a restart, so the finding is AA1213 (re-render), not AA1210."""
    rs = rollout_replicaset("checkout", "6b9f7d8c5", 1, 2, injected=True)
    pods = [f.pod(f"checkout-6b9f7d8c5-{i}", "shop", owner=("ReplicaSet", "checkout-6b9f7d8c5"),
                  labels={"app": "checkout", "rollouts-pod-template-hash": "6b9f7d8c5"}) for i in ("x2k4p", "q9m7d")]
    [row] = audit({"c1": [rs, *pods]}, "uninstall").rows("istio-sidecars-remaining")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA1213", "Rollout", "checkout")


# ---------------------------------------------------------------- proxyless gRPC (istioctl kube-inject, grpc-simple)
def grpc_simple_deployment() -> tuple[dict, dict]:
    """What `istioctl kube-inject` renders with Istio's grpc-simple template (shipped in istiod's injector ConfigMap,
    manifests/charts/istio-control/istio-discovery/files/grpc-simple.yaml; rendered in
    pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected @1.22.8..1.30.3): no istio-proxy, an init container
    grpc-bootstrap-init writing an xDS bootstrap whose server is istiod.<istio namespace>.svc:15010, the app's
    GRPC_XDS_BOOTSTRAP naming it, and the status annotation listing both."""
    status = ('{"initContainers":["grpc-bootstrap-init"],"containers":["traffic"],'
              '"volumes":["grpc-io-proxyless-bootstrap"],"imagePullSecrets":null,"revision":"default"}')
    dep, rs = f.deployment("grpc", template_annotations={"inject.istio.io/templates": "grpc-simple",
                                                         "sidecar.istio.io/status": status}, containers=[
        {"name": "traffic", "image": "registry.example.com/shop/traffic:1.0",
         "env": [{"name": "GRPC_XDS_BOOTSTRAP", "value": "/var/lib/grpc/data/bootstrap.json"}],
         "volumeMounts": [{"mountPath": "/var/lib/grpc/data/", "name": "grpc-io-proxyless-bootstrap"}]}])
    spec = dep["spec"]["template"]["spec"]
    spec["initContainers"] = [{
        "name": "grpc-bootstrap-init", "image": "busybox:1.28", "command": ["sh", "-c", (
            'SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010"\n'
            "echo '{\"xds_servers\": [{\"server_uri\": \"'${SERVER_URI}'\"}]}' > /var/lib/grpc/data/bootstrap.json")],
        "env": [{"name": "ISTIO_NAMESPACE", "value": "istio-system\n"}],
        "volumeMounts": [{"mountPath": "/var/lib/grpc/data/", "name": "grpc-io-proxyless-bootstrap"}]}]
    spec["volumes"] = [{"name": "grpc-io-proxyless-bootstrap", "emptyDir": {}}]
    return dep, rs


@pytest.mark.parametrize(("gate", "status", "code"), [
    ("assessment", "WARN", "AA0623"), ("migrating", "WARN", "AA0623"), ("uninstall", "FAIL", "AA0612")])
def test_a_kube_injected_proxyless_grpc_template_points_at_istio_s_istiod(audit, gate, status, code):
    """It was AA0621 (WARN minor: 'copied from an injected pod?'), a GO at uninstall, while the template keeps
    writing a bootstrap that names Istio's istiod, which the uninstall removes."""
    [row] = audit({"c1": [*grpc_simple_deployment()]}, gate).rows("manual-injection")
    assert (row["status"], row["code"], row["severity"], row["kind"], row["name"]) == (
        status, code, "major", "Deployment", "grpc")
    assert row["evidence"]["injected_containers"] == ["grpc-bootstrap-init"]


def test_a_kube_injected_replicationcontroller_is_found(audit):
    """`istioctl kube-inject` injects ReplicationControllers (pkg/kube/inject/testdata/inject/
    replicationcontroller.yaml.injected @1.22.8..1.30.3: v1 ReplicationController, spec.selector a plain map, the
    sidecar in spec.template). They were not read: AA0601 PASS, a GO at uninstall for an RC scaled to zero."""
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": f.meta("nginx", "shop"),
          "spec": {"replicas": 0, "selector": {"app": "nginx"}, "template": injected_template("nginx", "shop")}}
    [row] = audit({"c1": [rc]}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
        "FAIL", "AA0610", "ReplicationController", "shop", "nginx")


def test_unreadable_replicationcontrollers_are_unknown_not_pass(audit):
    run = audit({"c1": [*f.deployment("cart")]}, "uninstall",
                unreadable={"c1": {K.REPLICATIONCONTROLLER: "403 Forbidden"}})
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0630")


def test_a_kube_injected_openkruise_cloneset_is_found(audit):
    """OpenKruise's CloneSet (apps.kruise.io/v1alpha1, openkruise/kruise@v1.9.0:apis/apps/v1alpha1/cloneset_types.go)
    makes its pods from spec.template and owns them directly (pkg/controller/cloneset/core/cloneset_core.go): its
    template is the only one of its pods. Not read, a kube-injected one was AA0601 PASS; its pods' findings told to
    `kruise rollout restart`, which brings the baked sidecar back."""
    clone = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": f.meta("search", "shop"),
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "search"}},
                      "template": injected_template("search", "shop"),
                      "updateStrategy": {"type": "ReCreate"}}}
    pods = [f.pod(f"search-{i}", "shop", owner=("CloneSet", "search"), labels={"app": "search"})
            for i in ("4ftjz", "9wq2c")]
    for pod in pods:
        pod["metadata"]["ownerReferences"][0]["apiVersion"] = "apps.kruise.io/v1alpha1"
    run = audit({"c1": [clone, *pods]}, "uninstall")
    [row] = run.rows("manual-injection")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA0610", "CloneSet", "search")
    [left] = run.rows("istio-sidecars-remaining")
    assert (left["status"], left["code"], left["kind"], left["name"]) == ("FAIL", "AA1213", "CloneSet", "search")
