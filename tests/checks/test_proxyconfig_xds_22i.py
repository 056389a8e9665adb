"""mesh-config-xds-agent and Istio's ProxyConfig resources (red22i).

The injector renders each pod's istio-proxy env from the pod's *effective* proxy config, not the mesh config alone:
`wh.env.GetProxyConfigOrDefault(pod.Namespace, pod.Labels, pod.Annotations, wh.meshConfig)` (istio/istio@1.22.3,
@1.24.6 pkg/kube/inject/webhook.go), whose proxyMetadata the template writes as env vars (`range
.ProxyConfig.ProxyMetadata`, manifests/charts/istio-control/istio-discovery/files/injection-template.yaml).
EffectiveProxyConfig (pilot/pkg/model/proxy_config.go @1.22.3, 1.24.6, 1.26.4) merges, key by key
(pkg/config/mesh/mesh.go MergeProxyConfig, mergeMap), the mesh's defaultConfig < the root namespace's ProxyConfig
without selector < the pod's namespace's < the pod's proxy.istio.io/config < a ProxyConfig whose selector matches the
pod; a ProxyConfig's spec.environmentVariables become proxyMetadata (toMeshConfigProxyConfig). Per namespace only the
oldest ProxyConfig without selector applies (sortConfigByCreationTime, "return the first match"); one whose selector
has no matchLabels is neither namespace- nor workload-wide. Shape: the CRD proxyconfigs.networking.istio.io
(v1beta1 only; spec.selector.matchLabels, spec.environmentVariables: map of strings; manifests/charts/base/crds/
crd-all.gen.yaml @1.22.3).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_idle_workloads import istio_injector
from tests.checks.test_mesh_config import istiod_with_pods

CHECK = "mesh-config-xds-agent"
GATE_CHECKS = f.only_checks("mesh-config-xds-agent", "istiod-restarted", "pods-xds-agent")


def proxy_config(name: str, namespace: str, env: dict[str, str] | None, *, selector: dict[str, str] | None = None,
                 empty_selector: bool = False, created: str = f.T0) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if env is not None:
        spec["environmentVariables"] = env
    if selector is not None or empty_selector:
        spec["selector"] = {"matchLabels": selector} if selector else {}
    obj = f.istio_object("ProxyConfig", name, namespace, spec)
    obj["metadata"]["creationTimestamp"] = created
    return obj


def cronjob(name: str, namespace: str) -> dict[str, Any]:
    """A CronJob whose finished Jobs delete themselves (ttlSecondsAfterFinished): between runs it has no pod; its next
    run is injected by Istio's istiod (namespace labelled istio-injection=enabled)."""
    template = {"metadata": {"labels": {"app": name}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "report", "image": "registry.example.com/report:1"}]}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": f.meta(name, namespace),
            "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"ttlSecondsAfterFinished": 300,
                                                                       "template": template}}}}


def migrating_cluster(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """SetupIstioForMigrate done: the mesh config sets it, istiod restarted after, every running sidecar carries it.
    Istio's injector webhooks as its chart writes them (tests/checks/test_idle_workloads.istio_injector): what injects
    the CronJob's next run (fix23a: a ProxyConfig is judged by what Istio injects under it)."""
    app = f.deployment("cart", "shop", replicas=2)
    return [f.namespace("shop", {"istio-injection": "enabled"}), f.namespace("batch", {"istio-injection": "enabled"}),
            *istiod_with_pods(), f.mesh_configmap("true"), istio_injector(), *app, *f.workload_pods(app, 2),
            cronjob("nightly-report", "batch"), *extra]


def test_namespace_proxyconfig_turning_it_off_is_no_go(audit):
    """A ProxyConfig of namespace batch sets PROXY_CONFIG_XDS_AGENT "false": the next run of its CronJob (no pod now) is
    injected without it and cannot talk mTLS to ASM's proxies. Main: mesh-config-xds-agent PASS (AA0901) on the mesh
    ConfigMap alone, pods-xds-agent saw no pod of batch: GO."""
    run = audit({"c1": migrating_cluster(proxy_config("batch-tuning", "batch", {
        "PROXY_CONFIG_XDS_AGENT": "false", "ISTIO_META_DNS_CAPTURE": "true"}))}, "migrating", config=GATE_CHECKS)
    rows = run.by_name(CHECK)
    assert (rows["istio"]["status"], rows["istio"]["code"]) == ("PASS", "AA0901")
    row = rows["batch-tuning"]
    assert (row["status"], row["code"], row["kind"], row["namespace"]) == ("FAIL", "AA0918", "ProxyConfig", "batch")
    assert row["evidence"]["value"] == "false" and row["evidence"]["scope"] == "namespace"
    assert (run.result.verdict, run.result.exit_code) == ("NO-GO", 1)


def test_mesh_wide_and_selector_proxyconfigs_turning_it_off_fail(audit):
    run = audit({"c1": migrating_cluster(
        proxy_config("mesh-default", "istio-system", {"PROXY_CONFIG_XDS_AGENT": "0"}),
        proxy_config("report-only", "batch", {"PROXY_CONFIG_XDS_AGENT": "False"}, selector={"app": "nightly-report"}),
    )}, "migrating", config=GATE_CHECKS)
    rows = run.by_name(CHECK)
    assert (rows["mesh-default"]["status"], rows["mesh-default"]["code"]) == ("FAIL", "AA0918")
    assert rows["mesh-default"]["evidence"]["scope"] == "mesh"
    assert (rows["report-only"]["status"], rows["report-only"]["code"]) == ("FAIL", "AA0918")
    assert rows["report-only"]["evidence"]["scope"] == "selector"
    assert run.result.verdict == "NO-GO"


def test_proxyconfigs_that_leave_it_on_or_do_not_apply_pass(audit):
    """Istio's own behaviour decides: "true" (or a ParseBool true) keeps it; other keys leave the mesh config's; a
    newer namespace-wide ProxyConfig under an older one is not applied; an empty selector applies to nothing."""
    run = audit({"c1": migrating_cluster(
        proxy_config("on", "shop", {"PROXY_CONFIG_XDS_AGENT": "True"}, created="2026-11-01T00:00:00Z"),
        proxy_config("shadowed", "shop", {"PROXY_CONFIG_XDS_AGENT": "false"}, created="2026-11-02T00:00:00Z"),
        proxy_config("concurrency-only", "batch", None),
        proxy_config("dns", "istio-system", {"ISTIO_META_DNS_CAPTURE": "true"}),
        proxy_config("inert", "batch", {"PROXY_CONFIG_XDS_AGENT": "false"}, empty_selector=True),
    )}, "migrating", config=GATE_CHECKS)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA0901")]
    assert run.result.verdict == "GO"


def test_unread_proxyconfigs_are_unknown(audit):
    run = audit({"c1": migrating_cluster()}, "migrating", config=GATE_CHECKS,
                unreadable={"c1": {K.PROXYCONFIG: "403 Forbidden: proxyconfigs.networking.istio.io"}})
    rows = run.by_name(CHECK)
    assert (rows["istio"]["status"], rows["istio"]["code"]) == ("PASS", "AA0901")
    [unknown] = [r for r in run.rows(CHECK) if r["status"] == "UNKNOWN"]
    assert unknown["code"] == "AA0936"
    assert run.result.verdict != "GO"
