"""Proxyless gRPC pods injected by Istio's webhook (template grpc-simple): no proxy, an xDS bootstrap naming istiod.

Shapes: istio/istio@1.30.3 (and every release 1.12.0..1.30.3: the template is byte-identical since 1.18.0, and its
SERVER_URI line unchanged since 1.12.0):
- manifests/charts/istio-control/istio-discovery/files/grpc-simple.yaml: the template istiod's injector ConfigMap
  (istio-sidecar-injector[-rev]) ships, selected by the pod annotation `inject.istio.io/templates: grpc-simple`;
- pkg/kube/inject/testdata/inject/grpc-simple.yaml.injected: what it renders: no istio-proxy; init container
  grpc-bootstrap-init (busybox:1.28, `sh -c` writing /var/lib/grpc/data/bootstrap.json with
  SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010", env ISTIO_NAMESPACE written `value: |` so "istio-system\\n");
  the app's env GRPC_XDS_BOOTSTRAP naming that file; volume grpc-io-proxyless-bootstrap; sidecar.istio.io/status
  listing them (revision "default").
- grpc-agent (pkg/kube/inject/testdata/inject/grpc-agent.yaml.injected, files/grpc-agent.yaml): istio-proxy as a classic
  container, args `proxy sidecar`, env ISTIO_META_GENERATOR=grpc, DISABLE_ENVOY=true, CA_ADDR=istiod.istio-system.svc:
  15012: an Istio proxy like any sidecar. ASM documents proxyless gRPC with this template ("Use the proxyless service
  mesh feature in gRPC services", alibabacloud.com/help/en/asm/use-the-proxyless-service-mesh-feature-in-grpc-services:
  `inject.istio.io/templates: grpc-agent`), so an ASM-injected one is ASM's proxy and is not flagged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor import kinds as K
from auditor import mesh, podwire
from auditor.inventory import POD_COLUMNS, summarise_pod
from tests import factory as f
from tests.test_pod_structs import MUTATE, ODD_VALUES, paths_of

CHECK = "istio-sidecars-remaining"
ONLY = f.only_checks(CHECK)
UNREADABLE = "?"  # mesh.XDS_SERVER_UNREADABLE
STATUS = json.dumps({"initContainers": ["grpc-bootstrap-init"], "containers": ["traffic"],
                     "volumes": ["grpc-io-proxyless-bootstrap"], "imagePullSecrets": None, "revision": "default"},
                    separators=(",", ":"))
# The init container's command as grpc-simple.yaml renders it (@1.30.3).
BOOTSTRAP_SCRIPT = """NODE_ID="sidecar~${INSTANCE_IP}~${POD_NAME}.${POD_NAMESPACE}~cluster.local"
SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010"
echo '
{
  "xds_servers": [
    {
      "server_uri": "'${SERVER_URI}'",
      "channel_creds": [{"type": "insecure"}],
      "server_features" : ["xds_v3"]
    }
  ],
  "node": {
    "id": "'${NODE_ID}'",
    "metadata": {
      "GENERATOR": "grpc"
    }
  }
}' > /var/lib/grpc/data/bootstrap.json"""


def field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def grpc_simple(pod: dict[str, Any], *, script: str = BOOTSTRAP_SCRIPT, istio_namespace: str | None = "istio-system\n"
                ) -> dict[str, Any]:
    """A pod of f.pod(proxy=None) as Istio's webhook injects it with grpc-simple (grpc-simple.yaml.injected)."""
    pod["metadata"]["annotations"] = {"inject.istio.io/templates": "grpc-simple",
                                      "sidecar.istio.io/rewriteAppHTTPProbers": "false",
                                      "sidecar.istio.io/status": STATUS}
    spec = pod["spec"]
    [app] = spec["containers"]
    app["env"] = [{"name": "GRPC_XDS_BOOTSTRAP", "value": "/var/lib/grpc/data/bootstrap.json"},
                  {"name": "GRPC_GO_LOG_VERBOSITY_LEVEL", "value": "99"},
                  {"name": "GRPC_GO_LOG_SEVERITY_LEVEL", "value": "info"}]
    app["volumeMounts"] = [{"mountPath": "/var/lib/grpc/data/", "name": "grpc-io-proxyless-bootstrap"}]
    env = [field_env("INSTANCE_IP", "status.podIP"), field_env("POD_NAME", "metadata.name"),
           field_env("POD_NAMESPACE", "metadata.namespace")]
    if istio_namespace is not None:
        env.append({"name": "ISTIO_NAMESPACE", "value": istio_namespace})
    spec["initContainers"] = [{"name": "grpc-bootstrap-init", "image": "busybox:1.28", "command": ["sh", "-c", script],
                               "env": env, "resources": {},
                               "volumeMounts": [{"mountPath": "/var/lib/grpc/data/",
                                                 "name": "grpc-io-proxyless-bootstrap"}]}]
    spec["volumes"] = [{"name": "grpc-io-proxyless-bootstrap", "emptyDir": {}}]
    pod["status"]["initContainerStatuses"] = [{"name": "grpc-bootstrap-init", "ready": True, "restartCount": 0,
                                               "image": "busybox:1.28", "started": False,
                                               "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]
    return pod


def grpc_workload(name: str = "grpc", count: int = 2, **kw: Any) -> list[dict[str, Any]]:
    dep = f.deployment(name, "shop", template_annotations={"inject.istio.io/templates": "grpc-simple"})
    return [*dep, *(grpc_simple(p, **kw) for p in f.workload_pods(dep, count, proxy=None))]


def kube_injected_grpc_workload() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Deployment shop/grpc whose template `istioctl kube-inject` rendered with grpc-simple (the bootstrap init
    container and the status annotation in the template itself), its ReplicaSet and two pods."""
    dep, rs = f.deployment("grpc", "shop", template_annotations={"inject.istio.io/templates": "grpc-simple",
                                                                 "sidecar.istio.io/status": STATUS})
    template = grpc_simple(f.pod("template", proxy=None))
    dep["spec"]["template"]["spec"]["initContainers"] = template["spec"]["initContainers"]
    return dep, rs, [grpc_simple(p) for p in f.workload_pods((dep, rs), 2, proxy=None)]


def istio_control_plane() -> list[dict[str, Any]]:
    """Istio's default revision: istiod Deployment and its Service `istiod` (what the bootstrap names)."""
    svc = f.service("istiod", "istio-system", labels={"app": "istiod", "istio": "pilot", "istio.io/rev": "default",
                                                      "operator.istio.io/component": "Pilot"},
                    ports=[{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012}])
    svc["spec"]["selector"] = {"app": "istiod", "istio": "pilot"}
    return [f.istiod(), svc]


def asm_istiod_named_istiod() -> dict[str, Any]:
    """A Service `istiod` carrying ASM's marks and nothing behind it: ASM's by auditor.mesh.istiod_owners."""
    svc = f.service("istiod", "istio-system", labels={"app": "istiod", "asm.alibabacloud.com/managed-by-asm": "true"},
                    ports=[{"name": "grpc-xds", "port": 15010}])
    svc["spec"]["clusterIP"] = "None"
    return svc


# ---------------------------------------------------------------- the summary
def test_the_summary_names_the_istiod_of_the_bootstrap_alike_from_a_dict_and_a_struct():
    pods = [*grpc_workload(count=1)[2:], f.pod("web-1", proxy="istio"), f.pod("db-1", proxy=None)]
    raw = orjson.dumps({"apiVersion": "v1", "kind": "List", "items": pods})
    structs = podwire.pod_structs(raw)
    assert structs is not None
    rules = mesh.ProxyRules()
    from_dicts = [dict(zip(POD_COLUMNS, summarise_pod(p, rules), strict=True)) for p in pods]
    from_structs = [dict(zip(POD_COLUMNS, summarise_pod(p, rules), strict=True)) for p in structs]
    assert from_dicts == from_structs
    assert [row["xds_server"] for row in from_dicts] == ["istio-system/istiod", "", ""]
    assert from_dicts[0]["proxy"] == mesh.PROXY_NONE


@st.composite
def mutated_grpc_pods(draw: st.DrawFn) -> dict[str, Any]:
    """The grpc-simple pod with 1-3 values set, deleted or added anywhere (as tests/test_pod_structs.py mutates)."""
    pod = copy.deepcopy(GRPC_POD)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths_of(pod)))
        parent = pod
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = copy.deepcopy(draw(st.one_of(ODD_VALUES, st.sampled_from([
                "grpc-bootstrap-init", "ISTIO_NAMESPACE", ["sh", "-c", "dns:///istiod-x.y.svc:15012"]]))))
    return pod


GRPC_POD = grpc_workload(count=1)[2]


@MUTATE
@given(mutated_grpc_pods())
def test_a_mutated_proxyless_pod_summarises_alike_from_a_dict_and_a_struct(pod: dict[str, Any]):
    raw = json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}).encode()
    structs = podwire.pod_structs(raw)
    if structs is None:  # refused: the dict path alone reads it
        return
    (full,) = orjson.loads(raw)["items"]
    assert summarise_pod(structs[0], mesh.ProxyRules()) == summarise_pod(full, mesh.ProxyRules())


@pytest.mark.parametrize(("command", "args", "env", "expected"), [
    (["sh", "-c", BOOTSTRAP_SCRIPT], None, [("ISTIO_NAMESPACE", "istio-system\n")], "istio-system/istiod"),
    (["sh", "-c", BOOTSTRAP_SCRIPT], None, [("ISTIO_NAMESPACE", "mesh-cp")], "mesh-cp/istiod"),
    (["sh", "-c", BOOTSTRAP_SCRIPT], None, [("ISTIO_NAMESPACE", None)], UNREADABLE),  # valueFrom
    (["sh", "-c", BOOTSTRAP_SCRIPT], None, [], UNREADABLE),
    (["sh", "-c", 'SERVER_URI="dns:///istiod-1-24-2.istio-system.svc:15012"'], None, [], "istio-system/istiod-1-24-2"),
    (["sh", "-c", 'SERVER_URI="xds.example.com:443"'], None, [], UNREADABLE),
    (None, ["--server=istiod.istio-system.svc:15010"], [], "istio-system/istiod"),
    ("not a list", None, None, UNREADABLE),
])
def test_the_istiod_a_bootstrap_names(command, args, env, expected):
    assert mesh.XDS_SERVER_UNREADABLE == UNREADABLE
    assert mesh.proxyless_xds_server(command, args, env) == expected


def test_a_hostile_bootstrap_command_is_read_in_linear_time():
    """Every "istiod" in the text starts a match bounded by DNS label lengths (an unbounded one scanned to the end of
    the text from each: 140 KB of "istiod-" took 18 s, quadratic in the length)."""
    import time

    start = time.perf_counter()
    assert mesh.proxyless_xds_server(["istiod-" * 200_000], None, []) == UNREADABLE
    assert time.perf_counter() - start < 5


# ---------------------------------------------------------------- istio-sidecars-remaining
@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_proxyless_pods_on_istio_s_istiod_fail_the_uninstall_and_finished_gates(audit, gate):
    run = audit({"c1": [*istio_control_plane(), *grpc_workload()]}, gate, config=ONLY)
    rows = run.rows(CHECK)
    [row] = [r for r in rows if r["name"] == "grpc"]
    assert (row["status"], row["code"], row["severity"], row["kind"], row["namespace"]) == (
        "FAIL", "AA1216", "blocker", "Deployment", "shop")
    assert row["evidence"]["pod_count"] == 2 and row["evidence"]["xds_servers"] == ["istio-system/istiod"]
    assert "grpc-agent" in row["remediation"] and "sidecar.asm.aliyun.com/inject" in row["remediation"]
    assert "AA1201" not in [r["code"] for r in rows]
    assert run.result.verdict.value == "NO-GO"


def test_proxyless_pods_are_unknown_when_services_cannot_be_read(audit):
    run = audit({"c1": [*istio_control_plane(), *grpc_workload()]}, "uninstall", config=ONLY,
                unreadable={"c1": {K.SERVICE: "forbidden: services"}})
    rows = run.rows(CHECK)
    [row] = [r for r in rows if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1235")
    assert "AA1201" not in [r["code"] for r in rows]
    assert run.result.verdict.value == "INCOMPLETE"


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_proxyless_pods_naming_an_istiod_the_cluster_does_not_have_fail(audit, gate):
    """After `istioctl uninstall --purge` (or with a revisioned Istio and no default tag) no Service `istiod` is left:
    the bootstrap names a host that does not resolve."""
    run = audit({"c1": grpc_workload()}, gate, config=ONLY)
    [row] = [r for r in run.rows(CHECK) if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1217")
    assert run.result.verdict.value == "NO-GO"


def test_a_bootstrap_whose_istiod_cannot_be_read_is_unknown(audit):
    pods = grpc_workload(istio_namespace=None)  # ISTIO_NAMESPACE not literal: which namespace is not told
    run = audit({"c1": [*istio_control_plane(), *pods]}, "uninstall", config=ONLY)
    [row] = [r for r in run.rows(CHECK) if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1235")
    assert row["evidence"]["xds_servers"] == [UNREADABLE]


def test_proxyless_pods_on_asm_s_istiod_are_not_flagged(audit):
    run = audit({"c1": [asm_istiod_named_istiod(), *grpc_workload()]}, "uninstall", config=ONLY)
    assert [(r["status"], r["code"]) for r in run.rows(CHECK)] == [("PASS", "AA1201")]


def test_finished_pods_of_a_proxyless_app_do_not_count(audit):
    pods = grpc_workload(count=1)
    pods[2]["status"]["phase"] = "Succeeded"
    run = audit({"c1": [*istio_control_plane(), *pods]}, "uninstall", config=ONLY)
    assert [r["code"] for r in run.rows(CHECK)] == ["AA1201"]


def test_a_kube_injected_proxyless_template_gets_the_rerender_remediation(audit):
    dep, rs, pods = kube_injected_grpc_workload()
    run = audit({"c1": [*istio_control_plane(), dep, rs, *pods]}, "uninstall", config=ONLY)
    [row] = [r for r in run.rows(CHECK) if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1216")
    assert row["evidence"]["manual_injection"] is True
    assert "kube-inject" in row["remediation"]


def grpc_agent_workload(proxy: str) -> list[dict[str, Any]]:
    """grpc-agent.yaml.injected's pod: istio-proxy (classic, `proxy sidecar`) with the agent's env, no Envoy."""
    dep = f.deployment("grpc", "shop", template_annotations={"inject.istio.io/templates": "grpc-agent"})
    pods = f.workload_pods(dep, 2, proxy=proxy, proxy_env={"ISTIO_META_GENERATOR": "grpc", "DISABLE_ENVOY": "true",
                                                           "ISTIO_META_DNS_CAPTURE": "false"})
    for p in pods:
        p["metadata"]["annotations"]["inject.istio.io/templates"] = "grpc-agent"
    return [*dep, *pods]


def test_grpc_agent_pods_are_judged_by_their_proxy(audit):
    run = audit({"c1": [*istio_control_plane(), *grpc_agent_workload("istio")]}, "uninstall", config=ONLY)
    [row] = [r for r in run.rows(CHECK) if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1210")
    run = audit({"c1": [*istio_control_plane(), *grpc_agent_workload("asm")]}, "uninstall", config=ONLY)
    assert [r["code"] for r in run.rows(CHECK)] == ["AA1201"]


def test_pods_xds_agent_says_it_did_not_judge_proxyless_pods(audit):
    """PROXY_CONFIG_XDS_AGENT is a pilot-agent setting: a grpc-simple pod has no agent to carry it. The migrating gate's
    PASS does not fail them, but does not pass them silently as pods without a mesh either."""
    run = audit({"c1": [*istio_control_plane(), *grpc_workload()]}, "migrating",
                config=f.only_checks("pods-xds-agent"))
    [row] = run.rows("pods-xds-agent")
    assert (row["status"], row["code"]) == ("PASS", "AA1102")
    assert row["evidence"]["proxyless_grpc_pods_not_judged"] == 2


# ---------------------------------------------------------------- the report's progress
def test_the_progress_counts_proxyless_apps_on_istio_as_still_to_move(audit):
    from auditor.render import context

    run = audit({"c1": [*istio_control_plane(), *grpc_workload()]}, "uninstall", config=ONLY)
    progress = context.progress_section(run.result, context.PDF_LIMITS)
    shop = next(r for r in progress["rows"] if r["label"] == "shop")
    assert (shop["istio"], shop["asm"], shop["none"]) == (1, 0, 0)


def test_the_progress_counts_proxyless_apps_on_asm_as_moved(audit):
    from auditor.render import context

    run = audit({"c1": [asm_istiod_named_istiod(), *grpc_workload()]}, "uninstall", config=ONLY)
    progress = context.progress_section(run.result, context.PDF_LIMITS)
    shop = next(r for r in progress["rows"] if r["label"] == "shop")
    assert (shop["istio"], shop["asm"], shop["none"]) == (0, 1, 0)
