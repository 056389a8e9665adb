"""pods-xds-agent: a workload that runs no pod now whose pod template turns PROXY_CONFIG_XDS_AGENT off (fix23a).

Istio's injector renders a pod's istio-proxy env from the pod's effective proxy config:
`wh.env.GetProxyConfigOrDefault(pod.Namespace, pod.Labels, pod.Annotations, wh.meshConfig)` (istio/istio@1.22.3 and
@1.24.6 pkg/kube/inject/webhook.go), in which EffectiveProxyConfig (pilot/pkg/model/proxy_config.go) merges the pod's
`proxy.istio.io/config` annotation (proxyConfigFromAnnotation: YAML or JSON into a ProxyConfig) over the mesh config's
defaultConfig and the namespace's ProxyConfig, proxyMetadata key by key (pkg/config/mesh/mesh.go MergeProxyConfig);
the injection template writes each proxyMetadata key as an env var (manifests/charts/istio-control/istio-discovery/
files/injection-template.yaml `range $key, $value := .ProxyConfig.ProxyMetadata`). The pod's annotations are its
workload template's (a CronJob's spec.jobTemplate.spec.template, a Deployment's spec.template). Main read only the pods
that run: a CronJob between runs or a Deployment scaled to 0 whose template sets it "false" was a GO, and its next pods
start without it. Injector webhooks: tests/checks/test_idle_workloads.py (istio-discovery mutatingwebhook.yaml @1.24.6).
"""

from __future__ import annotations

import json
from typing import Any

from auditor import kinds as K
from tests import factory as f
from tests.checks.test_idle_workloads import base, cronjob, scaled_to_zero

CHECK = "pods-xds-agent"
ONLY = f.only_checks(CHECK)
OFF = {"proxy.istio.io/config": 'proxyMetadata:\n  PROXY_CONFIG_XDS_AGENT: "false"\n  ISTIO_META_DNS_CAPTURE: "true"\n'}


ON = {"proxy.istio.io/config": 'proxyMetadata: {PROXY_CONFIG_XDS_AGENT: "True"}'}


def with_annotations(obj: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    """`obj` (a CronJob, a Deployment or its ReplicaSet) with these annotations on its pod template."""
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    spec["template"]["metadata"]["annotations"] = dict(annotations)
    return obj


def idle_deployment(name: str, namespace: str, annotations: dict[str, str], **kw: Any) -> list[dict[str, Any]]:
    return [with_annotations(o, annotations) for o in scaled_to_zero(name, namespace, **kw)]


def statuses(run: Any) -> dict[str, tuple[str, str]]:
    return {r["name"]: (r["status"], r["code"]) for r in run.rows(CHECK) if r["status"] != "PASS"}


def test_a_cronjob_between_runs_whose_template_turns_it_off_is_no_go(audit):
    """Main: PASS AA1101 for the running workload (shop/cart on ASM's proxy aside), GO."""
    run = audit({"c1": [*base(), with_annotations(cronjob("nightly", "batch"), OFF)]}, "migrating", config=ONLY)
    assert statuses(run) == {"nightly": ("FAIL", "AA1114")}
    [row] = [r for r in run.rows(CHECK) if r["name"] == "nightly"]
    assert (row["kind"], row["namespace"], row["severity"]) == ("CronJob", "batch", "blocker")
    assert row["evidence"]["value"] == "false" and row["evidence"]["istio_injectors"]
    assert "edit cronjob/nightly" in row["remediation"]
    assert (run.result.verdict, run.result.exit_code) == ("NO-GO", 1)


def test_a_deployment_scaled_to_zero_with_the_json_form_fails(audit):
    """The annotation as JSON (YAML's superset, what protomarshal.ApplyYAML reads) and a ParseBool false ("0")."""
    annotation = {"proxy.istio.io/config": json.dumps({"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "0"}})}
    run = audit({"c1": [*base(), *idle_deployment("reports", "shop", annotation)]}, "migrating", config=ONLY)
    assert statuses(run) == {"reports": ("FAIL", "AA1114")}
    assert run.result.verdict == "NO-GO"


def test_templates_istio_does_not_inject_or_that_leave_it_on_pass(audit):
    """"true" (or "True") keeps it; a template opting out, one in a namespace no webhook selects, one labelled for ASM
    (ASM's webhook takes it: test_idle_workloads) and one whose annotation does not name the key are not judged."""
    objs = [*base(),
            *idle_deployment("on", "shop", ON),
            *idle_deployment("optout", "shop", OFF,
                             template_labels={"app": "optout", "sidecar.istio.io/inject": "false"}),
            *idle_deployment("plainapp", "plain", OFF),
            *idle_deployment("moved", "shop", OFF,
                             template_labels={"app": "moved", "sidecar.asm.aliyun.com/inject": "true"}),
            *idle_deployment("drain", "shop", {"proxy.istio.io/config": "terminationDrainDuration: 30s"})]
    run = audit({"c1": objs}, "migrating", config=ONLY)
    assert statuses(run) == {}
    assert run.result.verdict == "GO"


def test_a_workload_with_a_running_pod_is_judged_by_its_pods(audit):
    """Its pods carry what the injector gave them (AA1110 when off): the template is not reported a second time."""
    dep = f.deployment("cart2", "shop", template_annotations=OFF)
    run = audit({"c1": [*base(), *dep, *f.workload_pods(dep, 2, xds_agent="false", annotations=OFF)]}, "migrating",
                config=ONLY)
    assert statuses(run) == {"cart2": ("FAIL", "AA1110")}


def test_webhooks_unread_leave_it_unknown(audit):
    run = audit({"c1": [*base(), with_annotations(cronjob("nightly", "batch"), OFF)]}, "migrating", config=ONLY,
                unreadable={"c1": {K.MUTATING_WEBHOOK: "403 Forbidden"}})
    assert statuses(run) == {"nightly": ("UNKNOWN", "AA1134")}
    assert run.result.verdict != "GO"


def test_annotations_of_no_known_shape_are_not_judged(audit):
    """YAML that does not parse, or an unquoted YAML boolean (protojson refuses a bool in map<string,string>: the
    injector ignores the annotation): nothing read, nothing raised."""
    objs = [*base(),
            *idle_deployment("broken", "shop", {"proxy.istio.io/config": "proxyMetadata: [PROXY_CONFIG_XDS_AGENT"}),
            *idle_deployment("bool", "shop", {"proxy.istio.io/config": "proxyMetadata: {PROXY_CONFIG_XDS_AGENT: no}"})]
    run = audit({"c1": objs}, "migrating", config=ONLY)
    assert statuses(run) == {}
