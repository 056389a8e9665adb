"""The finished gate and pods that run no proxy where their labels ask for one; kube-injected templates at finished
(red18b).

After `istioctl uninstall --purge` deletes Istio's injector webhooks, ASM's injector (during the migration) takes only
templates labelled sidecar.asm.aliyun.com/inject=true: a pod created then from an unlabelled template in an
`istio-injection=enabled` (or `istio.io/rev`) namespace starts with no proxy, outside the mesh its ASM-proxied peers
enforce (STRICT mTLS, AuthorizationPolicies). On main `istio-sidecars-remaining` counted only Istio sidecars and said
PASS AA1201 (GO at the finished gate); now FAIL AA1220 per workload that shows it lost the mesh (other pods of it run
a proxy, its template asks for ASM's, or its pods were made since the first pod on ASM's proxy), WARN AA1221 where none
of its pods runs one and all predate ASM's proxies (made in Istio's time without a sidecar: the uninstall changed
nothing for them), UNKNOWN AA1237 where a workload of the first kind cannot be told. And a
kube-injected template that runs no pod was judged by nothing at the finished gate (manual-injection ran up to
uninstall only): now AA0610 / AA0612 there too.

Shapes:
- Istio's injector webhooks and what each selects: istio/istio@1.24.6:manifests/charts/istio-control/
  istio-discovery/templates/mutatingwebhook.yaml (rev.namespace., rev.object., namespace., object.: a pod's own
  istio.io/rev or sidecar.istio.io/inject=true selects it only in a namespace with neither istio-injection nor
  istio.io/rev), as tests/checks/test_idle_workloads.py writes them (istio_injector).
- What Istio's injector skips after a webhook matched: injectRequired, istio/istio@1.24.6:pkg/kube/inject/inject.go
  (hostNetwork; kube-system and kube-public, webhook.go IgnoredNamespaces; sidecar.istio.io/inject not a YAML true,
  the label winning over the annotation).
- istiod's own template opts out (sidecar.istio.io/inject: "false" label and annotation, istio.io/rev label):
  istio/istio@1.24.6:manifests/charts/istio-control/istio-discovery/templates/deployment.yaml (tests/factory.istiod).
- ASM's injector webhook as this project's demo models it (auditor/demo/snapshot/cluster-a/webhooks.json:
  objectSelector sidecar.asm.aliyun.com/inject In [true]; asm_injector); ASM publishes no shape of its own.
- A kube-injected template: a pod as Istio's injector writes it (tests/factory.pod: istio-proxy, istio-init, the
  sidecar.istio.io/status annotation of hello.yaml.injected @1.24.6) copied into a Deployment's template; grpc-simple
  as pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected @1.22.8..1.30.3 (tests/checks/test_workloads.py).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_idle_workloads import base, scaled_to_zero
from tests.checks.test_workloads import grpc_simple_deployment

CHECK = "istio-sidecars-remaining"


def unmeshed(name: str = "web", namespace: str = "shop", count: int = 2, *, template_labels: dict | None = None,
             template_annotations: dict | None = None, **pod_kw: Any) -> list[dict[str, Any]]:
    """A Deployment whose pods were created with no proxy (pod labels from its template, as the ReplicaSet writes
    them)."""
    dep = f.deployment(name, namespace, template_labels=template_labels, template_annotations=template_annotations)
    return [*dep, *f.workload_pods(dep, count, proxy=None, annotations=template_annotations, **pod_kw)]


def half_moved(name: str = "web", namespace: str = "shop", on_asm: int = 1, without: int = 2, *,
               template_labels: dict | None = None, template_annotations: dict | None = None
               ) -> list[dict[str, Any]]:
    """A Deployment some of whose pods run ASM's proxy (made while ASM's injector took them) and some none (made after
    the injector that would have taken them went): the workload lost the mesh for the latter."""
    dep = f.deployment(name, namespace, template_labels=template_labels, template_annotations=template_annotations)
    return [*dep, *f.workload_pods(dep, on_asm, proxy="asm", annotations=template_annotations),
            *f.workload_pods(dep, without, first=on_asm, proxy=None, annotations=template_annotations)]


def purged(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """A cluster after the purge: ASM's injector and istiod Service, a workload on ASM's proxy, no Istio left."""
    return [*base(istio=False), *extra]


def codes(run: Any, gate: str | None = None) -> list[tuple[str, str, str, str]]:
    return [(r["status"], r["code"], r["kind"], r["name"]) for r in run.rows(CHECK, gate)]


# ------------------------------------------------------------------ FAIL AA1220 (main: PASS AA1201, GO)
def test_pods_created_after_the_purge_in_an_injection_namespace_fail_per_workload(audit):
    run = audit({"c1": purged(*half_moved("web", on_asm=2, without=3))}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "web")]
    [row] = run.rows(CHECK)
    assert row["severity"] == "blocker" and row["namespace"] == "shop"
    assert row["evidence"]["pod_count"] == 3 and len(row["evidence"]["pods"]) == 3
    assert row["evidence"]["pods_with_proxy"] == 2
    assert row["evidence"]["asks_for_injection"] == ["namespace label istio-injection=enabled"]
    assert row["evidence"]["asm_injectors"] == [] and row["evidence"]["istio_injectors"] == []
    assert "patch deployment/web" in row["remediation"]
    assert '"sidecar.asm.aliyun.com/inject":"true"' in row["remediation"]
    assert run.result.verdict == "NO-GO"


def test_a_workload_all_of_whose_pods_were_made_since_asms_proxies_came_fails(audit):
    """The workload rolled after the purge: every pod of it lost its sidecar (none of them runs a proxy), made after
    the first pod on ASM's proxy: it lost the mesh, a blocker."""
    run = audit({"c1": purged(*unmeshed("rolled", count=2, created="2026-11-20T08:00:00Z"))}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "rolled")]
    assert run.rows(CHECK)[0]["evidence"]["made_since_asm_proxies"] is True


def test_a_workload_whose_pods_predate_asms_proxies_and_never_ran_one_is_a_warning(audit):
    """Pods made in Istio's time without a sidecar (before their namespace was labelled, never restarted): the
    uninstall changed nothing for them, so the finished gate warns (with the command) instead of blocking."""
    run = audit({"c1": purged(*unmeshed("legacy", count=3, created="2025-06-01T08:00:00Z"))}, "finished")
    assert codes(run) == [("WARN", "AA1221", "Deployment", "legacy")]
    [row] = run.rows(CHECK)
    assert row["evidence"]["pods_with_proxy"] == 0 and row["evidence"]["pod_count"] == 3
    assert row["evidence"]["made_since_asm_proxies"] is False
    assert '"sidecar.asm.aliyun.com/inject":"true"' in row["remediation"]
    assert row["severity"] == "blocker"  # the check's; a WARN never blocks (only FAIL and UNKNOWN do)


def test_a_template_labelled_for_asm_whose_pods_run_no_proxy_needs_only_a_restart(audit):
    run = audit({"c1": purged(*unmeshed("late", template_labels={"app": "late",
                                                                 "sidecar.asm.aliyun.com/inject": "true"}))},
                "finished")
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1220")
    assert row["evidence"]["asm_injectors"] == [
        "istio-sidecar-injector-1-24-6 (namespace.sidecar-injector.asm.alibabacloud.com)"]
    assert "rollout restart deployment/late" in row["remediation"]


def test_a_revision_labelled_namespace_asks_too(audit):
    objs = [o for o in purged() if not (o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")]
    objs.append(f.namespace("shop", {"istio.io/rev": "1-24-6", "kubernetes.io/metadata.name": "shop"}))
    run = audit({"c1": [*objs, *half_moved("web")]}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "web")]
    assert run.rows(CHECK)[0]["evidence"]["asks_for_injection"] == ["namespace label istio.io/rev=1-24-6"]


def test_a_pods_own_revision_label_asks_only_where_the_namespace_has_no_injection_label(audit):
    # The chart's rev.object. webhook: namespaceSelector istio.io/rev and istio-injection DoesNotExist.
    asking = half_moved("rev-app", "plain", template_labels={"app": "rev-app", "istio.io/rev": "1-24-6"})
    disabled = f.namespace("off", {"istio-injection": "disabled", "kubernetes.io/metadata.name": "off"})
    turned_off = half_moved("rev-off", "off", template_labels={"app": "rev-off", "istio.io/rev": "1-24-6"})
    run = audit({"c1": purged(disabled, *asking, *turned_off)}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "rev-app")]


def test_a_template_labelled_for_asm_asks_wherever_it_runs(audit):
    """ASM's label is the template's own request for ASM's proxy (idle._asks): in a namespace labelled
    istio-injection=disabled no injector answers it (ASM's selects the namespace label too), and its pods run none."""
    disabled = f.namespace("off", {"istio-injection": "disabled", "kubernetes.io/metadata.name": "off"})
    asking = unmeshed("moved", "off", template_labels={"app": "moved", "sidecar.asm.aliyun.com/inject": "true"})
    run = audit({"c1": purged(disabled, *asking, *unmeshed("db", "off"))}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "moved")]
    assert run.rows(CHECK)[0]["evidence"]["asks_for_injection"] == ["template label sidecar.asm.aliyun.com/inject=true"]


def test_webhooks_unread_do_not_hide_pods_already_running_no_proxy(audit):
    run = audit({"c1": purged(*half_moved("web"))}, "finished", unreadable={"c1": {K.MUTATING_WEBHOOK: "403"}})
    row = next(r for r in run.rows(CHECK) if r["code"] == "AA1220")
    assert row["status"] == "FAIL" and row["name"] == "web"
    assert "403" in row["evidence"]["injectors_unread"]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]


# ------------------------------------------------------------------ left alone
def test_pods_the_injector_would_not_have_injected_are_left_alone(audit):
    opted_out = unmeshed("tool", template_labels={"app": "tool", "sidecar.istio.io/inject": "false"})
    annotated = unmeshed("tool2", template_annotations={"sidecar.istio.io/inject": "false"})
    host = unmeshed("hostnet")
    host[0]["spec"]["template"]["spec"]["hostNetwork"] = True
    for p in host[2:]:
        p["spec"]["hostNetwork"] = True
    system = [f.namespace("kube-system", {"istio-injection": "enabled", "kubernetes.io/metadata.name": "kube-system"}),
              *unmeshed("coredns", "kube-system")]
    plain = unmeshed("db", "plain")  # a namespace that asks for nothing
    done = f.pod("batch-x", "shop", proxy=None, phase="Succeeded", owner=("Job", "batch"))  # not running
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": f.meta("batch", "shop"),
           "spec": {"template": {"metadata": {"labels": {"app": "batch"}},
                                 "spec": {"containers": [{"name": "main", "image": "registry.example.com/b:1"}],
                                          "restartPolicy": "Never"}}}}
    # istiod's template (istio-discovery deployment.yaml): istio.io/rev asks in the unlabelled istio-system, and
    # sidecar.istio.io/inject "false" opts it out.
    istiod = unmeshed("istiod", "istio-system", 1, template_labels={
        "app": "istiod", "istio.io/rev": "default", "sidecar.istio.io/inject": "false", "istio": "pilot"},
        template_annotations={"sidecar.istio.io/inject": "false"})
    run = audit({"c1": purged(*opted_out, *annotated, *host, *system, *plain, done, job, *istiod)}, "finished")
    assert codes(run) == [("PASS", "AA1201", "", "")]


def test_the_label_wins_over_the_annotation_as_inject_required_reads_them(audit):
    both = half_moved("both", template_labels={"app": "both", "sidecar.istio.io/inject": "true"},
                      template_annotations={"sidecar.istio.io/inject": "false"})
    run = audit({"c1": purged(*both)}, "finished")
    assert codes(run) == [("FAIL", "AA1220", "Deployment", "both")]


def test_the_uninstall_gate_does_not_judge_them(audit):
    """Istio's injector is still there at the uninstall gate: a pod with no proxy was not left so by the migration."""
    run = audit({"c1": [*base(), *unmeshed("web")]}, "uninstall")
    assert [r["code"] for r in run.rows(CHECK)] == ["AA1201"]


def test_the_finished_gate_with_nothing_unmeshed_is_what_the_uninstall_gate_says(audit):
    run = audit({"c1": purged(*unmeshed("db", "plain"))}, "all")
    assert [(r["gate"], r["code"]) for r in run.rows(CHECK)] == [("uninstall", "AA1201"), ("finished", "AA1201")]


# ------------------------------------------------------------------ UNKNOWN AA1237
def test_namespaces_unread_leave_pods_without_proxy_unknown(audit):
    """Whether injection is asked cannot be told: UNKNOWN for the workloads that lost the mesh for some pods (a FAIL
    at most); a workload none of whose pods runs a proxy would be a WARN at most, so it does not block."""
    run = audit({"c1": purged(*half_moved("web"), *half_moved("db", "plain"),
                              *unmeshed("old", "plain", created="2025-06-01T08:00:00Z"))},
                "finished", unreadable={"c1": {K.NAMESPACE: "403 Forbidden"}})
    rows = [r for r in run.rows(CHECK) if r["code"] == "AA1237"]
    assert [r["status"] for r in rows] == ["UNKNOWN"]
    assert rows[0]["evidence"]["workloads"] == ["Deployment plain/db", "Deployment shop/web"]
    assert "AA1201" not in [r["code"] for r in run.rows(CHECK)]


def test_a_pod_of_no_workload_in_an_asking_namespace_is_unknown_not_passed(audit):
    """The pod frame keeps no pod labels or annotations: whether a bare pod made since ASM's proxies came opts out is
    not known (UNKNOWN); one made in Istio's time would be a warning at most."""
    run = audit({"c1": purged(f.pod("debug", "shop", proxy=None), f.pod("debug2", "plain", proxy=None),
                              f.pod("old-debug", "shop", proxy=None, created="2025-06-01T08:00:00Z"))}, "finished")
    assert codes(run) == [("UNKNOWN", "AA1237", "", "")]
    assert run.rows(CHECK)[0]["evidence"]["workloads"] == ["Pod shop/debug"]


# ------------------------------------------------------------------ idle templates: _asks as the chart selects
def test_an_idle_template_asking_in_a_disabled_namespace_is_not_asked_for(audit):
    """`istio-injection: disabled` turns a pod's own sidecar.istio.io/inject=true off (object. webhook's
    namespaceSelector): no AA1219 (main: FAIL AA1219)."""
    disabled = f.namespace("off", {"istio-injection": "disabled", "kubernetes.io/metadata.name": "off"})
    idle = scaled_to_zero("reports", "off", template_labels={"app": "reports", "sidecar.istio.io/inject": "true"})
    run = audit({"c1": purged(disabled, *idle)}, "finished")
    assert codes(run) == [("PASS", "AA1201", "", "")]


# ------------------------------------------------------------------ kube-injected templates at finished
def test_a_kube_injected_template_running_no_pod_fails_at_the_finished_gate(audit):
    rendered = f.pod("render", "shop")
    status = rendered["metadata"]["annotations"]["sidecar.istio.io/status"]
    dep, rs = f.deployment("legacy", "shop", replicas=0, containers=rendered["spec"]["containers"],
                           template_annotations={"sidecar.istio.io/status": status})
    run = audit({"c1": purged(dep, rs)}, "finished")
    assert [(r["status"], r["code"], r["name"]) for r in run.rows("manual-injection")] == [
        ("FAIL", "AA0610", "legacy")]
    assert run.result.verdict == "NO-GO"


def test_a_kube_injected_proxyless_bootstrap_fails_at_the_finished_gate(audit):
    run = audit({"c1": purged(*grpc_simple_deployment())}, "finished")
    assert [(r["status"], r["code"]) for r in run.rows("manual-injection")] == [("FAIL", "AA0612")]
