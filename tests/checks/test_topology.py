"""istio-revisions (revisions, tags, namespace usage) and ambient-mode."""

from __future__ import annotations

from auditor import kinds as K
from tests import factory as f


def injector_webhook(name: str, revision: str, tag: str | None = None) -> dict:
    labels = {"app": "sidecar-injector", "istio.io/rev": revision}
    if tag:
        labels["istio.io/tag"] = tag
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": f.meta(name, labels=labels),
            "webhooks": [{"name": "rev.namespace.sidecar-injector.istio.io", "admissionReviewVersions": ["v1"],
                          "sideEffects": "None",
                          "clientConfig": {"service": {"name": f"istiod-{revision}", "namespace": "istio-system",
                                                       "path": "/inject", "port": 443}},
                          "namespaceSelector": {"matchExpressions": [
                              {"key": "istio.io/rev", "operator": "In", "values": [tag or revision]},
                              {"key": "istio-injection", "operator": "DoesNotExist"}]}}]}


def daemonset(name: str, namespace: str, labels: dict | None = None, env: dict | None = None) -> dict:
    container = {"name": "main", "image": f"docker.io/istio/{name}:1.22.3",
                 "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta(name, namespace, labels or {"app": name}),
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


# ---------------------------------------------------------------- istio-revisions
def test_single_revision_passes_with_usage_as_evidence(audit):
    objects = [f.istiod(), injector_webhook("istio-sidecar-injector", "default"),
               f.namespace("shop", {"istio-injection": "enabled"}), f.namespace("front", {"istio.io/rev": "default"}),
               f.namespace("kube-system", {"istio-injection": "disabled"}), f.namespace("plain"),
               f.pod("a", owner=None), f.pod("b", "front", owner=None)]
    [row] = audit({"c1": objects}, "assessment").rows("istio-revisions")
    assert (row["status"], row["code"], row["severity"]) == ("PASS", "AA0401", "info")
    assert row["evidence"]["revisions"] == {"default": {"istiod": "istio-system/istiod", "version": "1.22.3"}}
    assert row["evidence"]["namespaces"] == {"default": ["front", "shop"]}
    assert row["evidence"]["istio_proxy_pods_by_revision"] == {"default": 2}


def test_several_revisions_and_tags_warn(audit):
    objects = [f.istiod("1-21-4", "1.21.4"), f.istiod("1-22-3", "1.22.3"),
               injector_webhook("istio-revision-tag-default", "1-21-4", tag="default"),
               injector_webhook("istio-revision-tag-canary", "1-22-3", tag="canary"),
               f.namespace("shop", {"istio-injection": "enabled", "istio.io/rev": "canary"}),  # injection wins
               f.namespace("front", {"istio.io/rev": "canary"}),
               f.namespace("new", {"istio.io/rev": "1-24-6"})]  # ASM's revision: not a self-built istiod
    [row] = audit({"c1": objects}, "assessment").rows("istio-revisions")
    assert (row["status"], row["code"], row["severity"]) == ("WARN", "AA0420", "minor")
    assert sorted(row["evidence"]["revisions"]) == ["1-21-4", "1-22-3"]
    assert row["evidence"]["tags"] == {"default": "1-21-4", "canary": "1-22-3"}
    assert row["evidence"]["namespaces"] == {"1-24-6": ["new"], "canary -> 1-22-3": ["front"],
                                             "default -> 1-21-4": ["shop"]}
    assert row["evidence"]["not_served_by_self_built_istiod"] == {"1-24-6": ["new"]}


def test_in_cluster_operator_is_called_out(audit):
    operator, _ = f.deployment("istio-operator", "istio-operator", labels={"name": "istio-operator"})
    rows = audit({"c1": [f.istiod(), operator]}, "assessment").rows("istio-revisions")
    warn = [r for r in rows if r["status"] == "WARN"]
    assert [(r["name"], r["code"], r["severity"]) for r in warn] == [("istio-operator", "AA0421", "minor")]
    assert "scale deployment/istio-operator --replicas=0" in warn[0]["remediation"]


def test_revisions_not_applicable_without_istiod(audit):
    [row] = audit({"c1": [f.namespace("shop")]}, "assessment").rows("istio-revisions")
    assert (row["status"], row["code"]) == ("NOT_APPLICABLE", "AA0440")


def test_revisions_without_istiod_unknown_when_proxies_run_or_pods_are_unread(audit):
    app = f.deployment("cart")
    [remote] = audit({"c1": [f.namespace("shop"), *app, *f.workload_pods(app, 1)]}, "assessment"
                     ).rows("istio-revisions")
    assert (remote["status"], remote["code"], remote["evidence"]["istio_proxy_pods"]) == ("UNKNOWN", "AA0430", 1)
    [unread] = audit({"c1": [f.namespace("shop")]}, "assessment", unreadable={"c1": {K.POD: "403 Forbidden"}}
                     ).rows("istio-revisions")
    assert (unread["status"], unread["code"]) == ("UNKNOWN", "AA0431")


def test_revisions_unknown_when_webhooks_unreadable(audit):
    run = audit({"c1": [f.istiod()]}, "assessment",
                unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden: mutatingwebhookconfigurations"}})
    [row] = run.rows("istio-revisions")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0001")
    assert "403 Forbidden: mutatingwebhookconfigurations" in row["message"]  # the recorded error, verbatim


# ---------------------------------------------------------------- ambient-mode
def test_no_ambient_passes(audit):
    objects = [f.namespace("shop", {"istio-injection": "enabled"}),
               daemonset("istio-cni-node", "kube-system", env={"AMBIENT_ENABLED": "false"})]
    [row] = audit({"c1": objects}, "assessment").rows("ambient-mode")
    assert (row["status"], row["code"]) == ("PASS", "AA0501")


def test_ambient_signals_fail_major(audit):
    waypoint, _ = f.deployment("waypoint", "shop",
                               labels={"gateway.networking.k8s.io/gateway-class-name": "istio-waypoint"})
    cni_config = f.configmap("istio-cni-config", "istio-system", {"AMBIENT_ENABLED": "true"})
    objects = [f.namespace("shop", {"istio.io/dataplane-mode": "ambient"}), daemonset("ztunnel", "istio-system"),
               daemonset("istio-cni-node", "istio-system", env={"AMBIENT_ENABLED": "true"}), waypoint, cni_config]
    [row] = audit({"c1": objects}, "assessment").rows("ambient-mode")
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA0510", "major")
    assert len(row["evidence"]["signals"]) == 5
    assert any("ztunnel" in s for s in row["evidence"]["signals"])


def test_ambient_unknown_when_namespaces_unreadable(audit):
    run = audit({"c1": [daemonset("ztunnel", "istio-system")]}, "assessment",
                unreadable={"c1": {K.NAMESPACE: "403 Forbidden: namespaces"}})
    [row] = run.rows("ambient-mode")
    assert row["status"] == "UNKNOWN"


def test_a_revisioned_operator_as_istios_chart_installs_it_is_called_out(audit):
    """`istioctl operator init --revision 1-22-3`: the Deployment is istio-operator-1-22-3 and has no labels of its
    own; only its pods say name=istio-operator. Before, only the name istio-operator or that label on the Deployment
    itself were looked for: no warning."""
    operator = f.istio_operator_deployment(revision="1-22-3")
    warn = [r for r in audit({"c1": [f.istiod(), operator]}, "assessment").rows("istio-revisions")
            if r["status"] == "WARN"]
    assert [(r["name"], r["code"]) for r in warn] == [("istio-operator-1-22-3", "AA0421")]


def test_an_operator_labelled_app_kubernetes_io_name_is_called_out_too(audit):
    """A label istio-control-plane-removed already recognised and istio-revisions did not: one rule now."""
    operator, _ = f.deployment("mesh-operator", "istio-operator", labels={"app.kubernetes.io/name": "istio-operator"})
    warn = [r for r in audit({"c1": [f.istiod(), operator]}, "assessment").rows("istio-revisions")
            if r["status"] == "WARN"]
    assert [(r["name"], r["code"]) for r in warn] == [("mesh-operator", "AA0421")]


# ---------------------------------------------------------------- istio-revisions: an injector whose istiod is gone
def tag_webhook(tag: str, revision: str) -> dict:
    """`istio-revision-tag-<tag>` as istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates/
    revision-tags.yaml renders it (istioctl tag set writes the same template): labels istio.io/tag and istio.io/rev,
    webhooks rev.namespace. (namespace label istio.io/rev=<tag>) and rev.object. (pod label istio.io/rev=<tag>), both
    calling Service istiod-<revision> with failurePolicy Fail."""
    def hook(prefix: str, namespace_selector: list, object_selector: list) -> dict:
        return {"name": f"{prefix}sidecar-injector.istio.io", "sideEffects": "None", "failurePolicy": "Fail",
                "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"name": f"istiod-{revision}", "namespace": "istio-system",
                                             "path": "/inject", "port": 443}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "namespaceSelector": {"matchExpressions": namespace_selector},
                "objectSelector": {"matchExpressions": object_selector}}
    not_false = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": f.meta(f"istio-revision-tag-{tag}", labels={
                "istio.io/tag": tag, "istio.io/rev": revision, "operator.istio.io/component": "Pilot",
                "app": "sidecar-injector", "app.kubernetes.io/name": "istiod"}),
            "webhooks": [
                hook("rev.namespace.", [{"key": "istio.io/rev", "operator": "In", "values": [tag]},
                                        {"key": "istio-injection", "operator": "DoesNotExist"}], [not_false]),
                hook("rev.object.", [{"key": "istio.io/rev", "operator": "DoesNotExist"},
                                     {"key": "istio-injection", "operator": "DoesNotExist"}],
                     [not_false, {"key": "istio.io/rev", "operator": "In", "values": [tag]}])]}


def test_a_tag_whose_istiod_is_gone_fails_naming_the_namespaces_whose_pods_are_rejected(audit):
    """Mid-way through a canary upgrade: `istioctl tag set prod --revision 1-20-1`, then istiod-1-20-1 deleted; the
    tag's webhook still calls Service istiod-1-20-1 (gone) and fails closed, so no pod can be created in `shop`. Before:
    PASS AA0401, the namespace listed in the evidence only."""
    objects = [f.istiod("1-22-3", "1.22.3"), f.service("istiod-1-22-3", "istio-system"),
               injector_webhook("istio-sidecar-injector-1-22-3", "1-22-3"), tag_webhook("prod", "1-20-1"),
               tag_webhook("canary", "1-22-3"),
               f.namespace("shop", {"istio.io/rev": "prod"}), f.namespace("front", {"istio.io/rev": "canary"}),
               f.namespace("plain")]
    rows = audit({"c1": objects}, "assessment").rows("istio-revisions")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0401"), ("FAIL", "AA0410")]
    dead = rows[1]
    assert (dead["severity"], dead["kind"], dead["name"]) == ("major", "MutatingWebhookConfiguration",
                                                              "istio-revision-tag-prod")
    assert dead["evidence"]["namespaces"] == ["shop"]
    assert dead["evidence"]["services"] == ["istio-system/istiod-1-20-1"]
    assert "istioctl tag set prod --revision" in dead["remediation"]


def test_an_injector_failing_open_or_services_unread_is_not_judged_dead(audit):
    ignore = tag_webhook("prod", "1-20-1")
    for hook in ignore["webhooks"]:
        hook["failurePolicy"] = "Ignore"
    base = [f.istiod("1-22-3", "1.22.3"), f.namespace("shop", {"istio.io/rev": "prod"})]
    assert [r["code"] for r in audit({"c1": [*base, ignore]}, "assessment").rows("istio-revisions")] == ["AA0401"]
    unread = audit({"c1": [*base, tag_webhook("prod", "1-20-1")]}, "assessment",
                   unreadable={"c1": {K.SERVICE: "403 Forbidden"}}).rows("istio-revisions")
    assert [r["code"] for r in unread] == ["AA0401"]
