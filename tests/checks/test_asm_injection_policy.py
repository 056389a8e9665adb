"""istio-sidecars-remaining: idle workloads whose next pods ASM's injector is counted on to take (red19f).

1. ASM's own injection policy. ASM's injector applies a pod-level condition after its webhook selected a pod (ASM docs,
   "Configure sidecar injection policies", help.aliyun.com/document_detail/186136: a sidecar is injected only if the pod
   meets both the namespace-label condition and the pod label/annotation condition, "Not include
   sidecar.istio.io/inject: "false"" or "Include sidecar.istio.io/inject: "true""). The OpenAPI says which in
   DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig.SidecarInjector.AutoInjectionPolicyEnabled
   (alibabacloud-servicemesh20200111 3.4.0 models.py DescribeServiceMeshDetailResponseBodyServiceMeshSpecMeshConfig
   SidecarInjector: `auto_injection_policy_enabled: bool`, "whether automatic sidecar proxy injection can be enabled by
   using pod annotations"); under the second condition a template labelled only sidecar.asm.aliyun.com/inject=true does
   not meet ASM's documented condition (Istio's `policy: disabled`: injectRequired, istio/istio@1.24.6
   pkg/kube/inject/inject.go, injects only a pod whose sidecar.istio.io/inject says true). Main took every template
   ASM's webhook selects as injected (`elif w.asm: continue`): PASS AA1201, GO, with ASM's policy unread or asking for
   sidecar.istio.io/inject=true. Now UNKNOWN AA1239 unless the policy is read and takes the template.
2. Istio's sidecarInjectorWebhook.enableNamespacesByDefault: the istio-discovery chart adds the webhook
   `auto.sidecar-injector.istio.io` (istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates/
   mutatingwebhook.yaml: namespaceSelector istio-injection and istio.io/rev DoesNotExist, kubernetes.io/metadata.name
   NotIn kube-system, kube-public, kube-node-lease, local-path-storage; objectSelector sidecar.istio.io/inject and
   istio.io/rev DoesNotExist), so a template in a namespace with no injection label gets Istio's sidecar. Read, it is
   judged like the other webhooks (AA1218). With the webhook configurations unread main judged such a template by its
   labels only (no label asks: PASS AA1201, GO); now UNKNOWN AA1236 like a template whose labels ask.

Other shapes: tests/checks/test_idle_workloads.py (Istio's injector webhooks @1.24.6, ASM's injector as the demo models
it, a Deployment scaled to zero).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_idle_workloads import (
    ASM_TAKES_ALL,
    CHECK,
    _expr,
    _hook,
    asm_policy,
    base,
    codes,
    cronjob,
    istio_injector,
    scaled_to_zero,
)

ASM_LABEL = {"sidecar.asm.aliyun.com/inject": "true"}


def labelled(name: str = "moved", namespace: str = "shop", **labels: str) -> list[dict[str, Any]]:
    return scaled_to_zero(name, namespace, template_labels={"app": name, **ASM_LABEL, **labels})


def statuses(run: Any) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in run.rows(CHECK)]


def unproven_base(*, istio: bool = True) -> list[dict[str, Any]]:
    """base(), its workload on ASM's proxy (shop/cart) made from a template that also asks by sidecar.istio.io/inject:
    true, so that what ASM took proves nothing of a template carrying ASM's label alone (asm_label_taken)."""
    objects = base(istio=istio)
    for obj in objects:
        if obj["kind"] in ("Deployment", "ReplicaSet") and obj["metadata"]["name"].startswith("cart"):
            obj["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] = "true"
    return objects


# ------------------------------------------------------------------ 1. ASM's own injection policy
def test_asm_policy_not_given_leaves_a_template_only_asm_selects_unknown_at_both_gates(audit):
    """Main: PASS AA1201 (GO) at both gates: `elif w.asm: continue` took ASM's injector as injecting it."""
    for gate, istio in (("uninstall", True), ("finished", False)):
        run = audit({"c1": [*unproven_base(istio=istio), *labelled(),
                            cronjob("nightly", template_labels={"app": "n", **ASM_LABEL})]}, gate)
        assert statuses(run) == [("UNKNOWN", "AA1239")], gate
        [row] = run.rows(CHECK)
        assert row["evidence"]["workloads"] == ["Deployment shop/moved", "CronJob batch/nightly"]
        assert "AutoInjectionPolicyEnabled" in row["message"]


def test_asm_policy_asking_for_the_istio_label_leaves_a_template_with_only_asms_label_unknown(audit):
    """AutoInjectionPolicyEnabled true: ASM injects only pods carrying sidecar.istio.io/inject=true; ASM's migration
    label standing in for it is documented nowhere. Main: PASS AA1201."""
    run = audit({"c1": [*base(), *labelled()]}, "uninstall", asm_openapi=asm_policy(True))
    assert statuses(run) == [("UNKNOWN", "AA1239")]
    [row] = run.rows(CHECK)
    assert row["evidence"]["only_asked"] is True
    assert row["evidence"]["workloads"] == ["Deployment shop/moved"]


def test_a_template_that_asks_itself_is_taken_under_either_policy(audit):
    """sidecar.istio.io/inject=true meets both of ASM's pod-level conditions: the label, or the annotation where no
    label says otherwise (injectRequired reads the label first)."""
    by_label = labelled("bylabel", **{"sidecar.istio.io/inject": "true"})
    by_annotation = scaled_to_zero("byannotation", template_labels={"app": "byannotation", **ASM_LABEL},
                                   template_annotations={"sidecar.istio.io/inject": "true"})
    for answer in (asm_policy(True), None, ASM_TAKES_ALL):
        run = audit({"c1": [*base(), *by_label, *by_annotation]}, "uninstall", asm_openapi=answer)
        assert statuses(run) == [("PASS", "AA1201")], answer


def test_an_annotation_the_label_overrides_does_not_ask(audit):
    """The label `sidecar.istio.io/inject: "yes-please"` wins over an annotation saying true: opted out (not a YAML
    true), judged as injectRequired does, never as asking."""
    objs = scaled_to_zero("odd", template_labels={"app": "odd", **ASM_LABEL, "sidecar.istio.io/inject": "maybe"},
                          template_annotations={"sidecar.istio.io/inject": "true"})
    run = audit({"c1": [*base(), *objs]}, "uninstall", asm_openapi=asm_policy(True))
    assert statuses(run) == [("PASS", "AA1201")]  # opted out: no injector takes it, none is asked to


def test_asm_policy_taking_every_selected_pod_passes(audit):
    run = audit({"c1": [*base(), *labelled()]}, "uninstall", asm_openapi=ASM_TAKES_ALL)
    assert statuses(run) == [("PASS", "AA1201")]
    run = audit({"c1": [*base(istio=False), *labelled()]}, "finished", asm_openapi=ASM_TAKES_ALL)
    assert statuses(run) == [("PASS", "AA1201")]


def test_an_answer_without_the_field_or_a_failed_read_is_unknown(audit):
    for answer in (asm_policy(None), {"_errors": {"DescribeServiceMeshDetail": "Forbidden.NoPermission (HTTP 403)"}}):
        run = audit({"c1": [*unproven_base(), *labelled()]}, "uninstall", asm_openapi=answer)
        assert statuses(run) == [("UNKNOWN", "AA1239")], answer


def test_what_asm_took_proves_its_policy_takes_a_template_by_its_label(audit):
    """ASM's policy not read, but shop/cart's pods run ASM's sidecar and its template asks only by ASM's label
    (tests/checks/test_idle_workloads.moved_workload): ASM's injector, under the policy it has, takes such templates, so
    an idle template carrying ASM's label alone is taken too (session 19: AA1239 would make every mid-migration audit
    without ASM's OpenAPI answer INCOMPLETE over a CronJob between runs). A policy read as asking for
    sidecar.istio.io/inject=true is not overruled by pods that may predate it."""
    for answer in (None, asm_policy(None), {"_errors": {"DescribeServiceMeshDetail": "Forbidden.NoPermission"}}):
        kw = {} if answer is None else {"asm_openapi": answer}
        run = audit({"c1": [*base(), *labelled()]}, "uninstall", **kw)
        assert statuses(run) == [("PASS", "AA1201")], answer
    run = audit({"c1": [*base(), *labelled()]}, "uninstall", asm_openapi=asm_policy(True))
    [row] = run.rows(CHECK)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1239")
    assert row["evidence"]["asm_took_a_template_by_its_label"] == "Deployment shop/cart"


def test_a_policy_of_another_type_is_bad_input(audit):
    """The SDK's bool only: "false" as a string is refused with the answer (exit 2 naming the field), never read as
    ASM taking the template nor as ASM saying nothing."""
    import pytest

    from auditor.errors import UsageError

    answer = asm_policy(True)
    answer["DescribeServiceMeshDetail"]["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"][
        "AutoInjectionPolicyEnabled"] = "false"
    with pytest.raises(UsageError, match=r"SidecarInjector\.AutoInjectionPolicyEnabled must be true or false"):
        audit({"c1": [*base(), *labelled()]}, "uninstall", asm_openapi=answer)


def test_istios_injector_still_judged_first(audit):
    """An unlabelled template Istio's injector selects is AA1218 whatever ASM's policy (ASM's webhook does not select
    it): the policy is asked only where ASM's webhook is counted on."""
    run = audit({"c1": [*base(), *scaled_to_zero()]}, "uninstall")
    assert codes(run)[("Deployment", "reports")] == ("FAIL", "AA1218")
    assert "AA1239" not in [r["code"] for r in run.rows(CHECK)]


# ------------------------------------------------------------------ 2. Istio's enableNamespacesByDefault
def istio_injecting_by_default() -> dict[str, Any]:
    """istio-discovery's mutatingwebhook.yaml @1.24.6 for the default revision with
    sidecarInjectorWebhook.enableNamespacesByDefault=true: the four webhooks plus `auto.`."""
    config = istio_injector()
    config["webhooks"].append(_hook(
        "auto.sidecar-injector.istio.io", "istiod",
        {"matchExpressions": [_expr("istio-injection", "DoesNotExist"), _expr("istio.io/rev", "DoesNotExist"),
                              _expr("kubernetes.io/metadata.name", "NotIn", "kube-system", "kube-public",
                                    "kube-node-lease", "local-path-storage")]},
        {"matchExpressions": [_expr("sidecar.istio.io/inject", "DoesNotExist"),
                              _expr("istio.io/rev", "DoesNotExist")]}))
    return config


def with_default_injection() -> list[dict[str, Any]]:
    return [istio_injecting_by_default() if o["kind"] == "MutatingWebhookConfiguration"
            and o["metadata"]["name"] == "istio-sidecar-injector" else o for o in base()]


def test_istio_injecting_unlabelled_namespaces_selects_an_idle_template_there(audit):
    run = audit({"c1": [*with_default_injection(), *scaled_to_zero("plainapp", "plain")]}, "uninstall")
    row = run.by_name(CHECK)["plainapp"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1218")
    assert row["evidence"]["istio_injectors"] == ["istio-sidecar-injector (auto.sidecar-injector.istio.io)"]
    assert row["evidence"]["asks_for_injection"] == []


def test_without_the_default_webhook_an_unlabelled_namespace_is_not_injected(audit):
    run = audit({"c1": [*base(), *scaled_to_zero("plainapp", "plain")]}, "uninstall")
    assert statuses(run) == [("PASS", "AA1201")]


def test_webhooks_unread_leave_an_idle_template_of_an_unlabelled_namespace_unknown(audit):
    """Main: PASS AA1201 (GO): with the webhook configurations unread only a template whose labels ask was undecided,
    and Istio's enableNamespacesByDefault injects one whose labels do not."""
    run = audit({"c1": [*with_default_injection(), *scaled_to_zero("plainapp", "plain")]}, "uninstall",
                unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden"}})
    assert statuses(run) == [("UNKNOWN", "AA1236")]
    assert run.rows(CHECK)[0]["evidence"]["workloads"] == ["Deployment plain/plainapp"]


def test_webhooks_unread_still_pass_what_no_istio_webhook_could_select(audit):
    """A namespace labelled istio-injection=disabled, a template opting out or naming a revision its namespace does
    not take, and the namespaces the default webhook leaves out by name: no chart webhook selects them."""
    objs = [*base(), f.namespace("off", {"istio-injection": "disabled", "kubernetes.io/metadata.name": "off"}),
            f.namespace("kube-node-lease", {"kubernetes.io/metadata.name": "kube-node-lease"}),
            *scaled_to_zero("offapp", "off"), *scaled_to_zero("lease", "kube-node-lease"),
            *scaled_to_zero("tool", "plain", template_labels={"app": "tool", "sidecar.istio.io/inject": "false"})]
    run = audit({"c1": objs}, "uninstall", unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden"}})
    assert statuses(run) == [("PASS", "AA1201")]


def test_a_never_inject_selector_beside_the_policy_leaves_a_template_that_does_not_ask_unknown(audit):
    """ASM's console offers "Selected by NeverInjectSelector" beside "Not include sidecar.istio.io/inject: "false""
    (document_detail/186136); injectRequired @1.24.6 skips a pod such a selector matches unless it says
    sidecar.istio.io/inject itself. Its place in SidecarInjectorWebhookAsYaml (SDK: `sidecar_injector_webhook_as_yaml:
    str`, "other configurations of automatic sidecar proxy injection, in the YAML format") has no documented shape:
    a template that does not ask itself is not known taken. Main: PASS AA1201."""
    answer = asm_policy(False)
    answer["DescribeServiceMeshDetail"]["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"][
        "SidecarInjectorWebhookAsYaml"] = "neverInjectSelector:\n- matchLabels:\n    team: batch\n"
    run = audit({"c1": [*base(), *labelled()]}, "uninstall", asm_openapi=answer)
    assert statuses(run) == [("UNKNOWN", "AA1239")]  # what ASM took elsewhere proves nothing of this selector
    asks = labelled("asks", **{"sidecar.istio.io/inject": "true"})
    run = audit({"c1": [*base(), *asks]}, "uninstall", asm_openapi=answer)
    assert statuses(run) == [("PASS", "AA1201")]
