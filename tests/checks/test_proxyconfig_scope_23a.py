"""mesh-config-xds-agent: a ProxyConfig turning PROXY_CONFIG_XDS_AGENT off is judged by what it covers (fix23a).

A ProxyConfig reaches a pod only when Istio's injector injects it: the injector computes the pod's effective proxy
config (pkg/kube/inject/webhook.go GetProxyConfigOrDefault, @1.22.3 and 1.24.6) from the ProxyConfigs of the root
namespace (mesh-wide), of the pod's namespace without selector, and the one whose spec.selector.matchLabels are a subset
of the pod's labels (pilot/pkg/model/proxy_config.go EffectiveProxyConfig, mergedNamespaceConfig,
mergedWorkloadConfig: `labels.Instance(matchLabels).SubsetOf(podLabels)`); a pod's labels are its template's plus what
its controller adds (pod-template-hash, controller-revision-hash, job-name...). Main failed AA0918 (NO-GO) for every
such ProxyConfig, also one in a namespace Istio injects nothing in, or whose selector matches no workload: now WARN
AA0921 there, FAIL where it covers a pod on Istio's proxy or a template Istio's injector takes (or may).
Shapes: tests/checks/test_proxyconfig_xds_22i.py (ProxyConfig CRD @1.22.3), test_idle_workloads.py (the injector).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_proxyconfig_xds_22i import CHECK, GATE_CHECKS, migrating_cluster, proxy_config

OFF = {"PROXY_CONFIG_XDS_AGENT": "false"}


def judged(run: Any) -> dict[str, tuple[str, str]]:
    return {r["name"]: (r["status"], r["code"]) for r in run.rows(CHECK) if r["kind"] == "ProxyConfig"}


def moved_namespace() -> list[dict[str, Any]]:
    """Namespace `moved`, labelled for injection, whose only workload runs ASM's proxy."""
    app = f.deployment("api", "moved", template_labels={"app": "api", "sidecar.asm.aliyun.com/inject": "true"})
    return [f.namespace("moved", {"istio-injection": "enabled"}), *app, *f.workload_pods(app, 2, proxy="asm")]


def test_a_proxyconfig_covering_nothing_istio_injects_is_not_a_blocker(audit):
    """Main: FAIL AA0918 for each, NO-GO."""
    run = audit({"c1": migrating_cluster(
        f.namespace("plain"),
        proxy_config("plain-tuning", "plain", OFF),
        *moved_namespace(), proxy_config("moved-tuning", "moved", OFF),
        proxy_config("nobody", "shop", OFF, selector={"app": "legacy"}),
        proxy_config("other-run", "batch", OFF, selector={"app": "weekly-report"}),
    )}, "migrating", config=GATE_CHECKS)
    assert judged(run) == {name: ("WARN", "AA0921") for name in ("plain-tuning", "moved-tuning", "nobody",
                                                                  "other-run")}
    assert [r["severity"] for r in run.rows(CHECK) if r["code"] == "AA0921"] == ["minor"] * 4
    assert (run.result.verdict, run.result.exit_code) == ("GO", 0)


def test_a_proxyconfig_covering_what_istio_injects_fails(audit):
    """Istio-proxied pods of shop (template app=cart), the CronJob Istio injects at its next run (app=nightly-report),
    and a selector on a label only the Job controller puts on pods (job-name): it may match them."""
    run = audit({"c1": migrating_cluster(
        proxy_config("cart-only", "shop", OFF, selector={"app": "cart"}),
        proxy_config("report-only", "batch", OFF, selector={"app": "nightly-report"}),
        proxy_config("by-job", "batch", OFF, selector={"job-name": "nightly-report-29000000"}),
    )}, "migrating", config=GATE_CHECKS)
    assert judged(run) == {name: ("FAIL", "AA0918") for name in ("cart-only", "report-only", "by-job")}
    assert run.result.verdict == "NO-GO"


def test_what_istio_injects_unknown_keeps_it_a_blocker(audit):
    """The workload kinds unread: an idle workload under it cannot be ruled out."""
    run = audit({"c1": migrating_cluster(f.namespace("plain"), proxy_config("plain-tuning", "plain", OFF))},
                "migrating", config=GATE_CHECKS, unreadable={"c1": {K.CRONJOB: "403 Forbidden"}})
    assert judged(run) == {"plain-tuning": ("FAIL", "AA0918")}
