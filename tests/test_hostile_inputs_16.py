"""Hostile or odd input to the parsers session 16 added: never a false GO (hostile16).

Each case here was, on main, a GO (PASS or NOT_APPLICABLE) or a crash naming no object, on input no API server
writes:

- asm-proxies-ready (auditor/rollouts.py) read a moved workload's counts only when they were whole numbers, and took
  anything else as "no count": a Deployment moved to ASM that runs no pod, whose status.availableReplicas was "0",
  0.0, true, [0] (a tampered or hand-made snapshot) was skipped, and the check said NOT_APPLICABLE AA1340. The counts
  are int32 (kubernetes/api apps/v1 types.go, as auditor/rollouts.py cites it: DeploymentStatus, StatefulSetStatus,
  DaemonSetStatus, `AvailableReplicas int32 json:"availableReplicas,omitempty"`); the snapshot's shape rules now refuse
  other types (exit 2 naming the object; live: the kind UNKNOWN), as they do spec.replicas. A null count or null
  spec.replicas is absent (omitempty; the API server defaults replicas to 1): main skipped the workload on null.
- kubernetes-version read /version's major and minor by deleting every non-digit: minor "20.5", "2 1" or the JSON
  number 20.5 (gitVersion unreadable) became Kubernetes 1.205 / 1.21: PASS AA0101 for a server that says 1.20 at most.
  Kubernetes writes them as digits, the minor with "+" appended when gitVersion has a suffix (kubernetes/kubernetes@
  v1.35.8:hack/lib/version.sh kube::version::get_version_vars); anything else is no version (UNKNOWN AA0131).
- a snapshot's version.json holding a /version answer's gitVersion beside `kubectl version` output's serverVersion
  (kubernetes/kubernetes@d68e3f8f:staging/src/k8s.io/kubectl/pkg/cmd/version/version.go, cited by
  tests/checks/test_versions.py, writes {clientVersion, kustomizeVersion, serverVersion}; /version has no
  serverVersion): main read the top-level gitVersion and passed (AA0101) a cluster whose serverVersion says 1.20.
  Which half is the cluster's is not known: UNKNOWN AA0130, as for kubectl output without serverVersion.
- ASM's OpenAPI answers in a snapshot's manifest (asm_openapi): an answer that is no JSON object
  (DescribeClustersInServiceMesh as a list of ids) was read as no answer, and an empty one ({}) too, so
  migration-resource said nothing of the joined clusters (PASS AA0701 at the instance-wide switch) where ASM's answer
  was given but unreadable. A saved answer named in the config must already be an object (exit 2); the manifest's now
  too, and an empty DescribeClustersInServiceMesh is UNKNOWN AA0732, as one whose Clusters is not a list.
- istio-sidecars-remaining's proxyless gRPC bootstrap reader (mesh.proxyless_xds_server) matched istiod's host name
  in lower case only, while DNS names are case-insensitive: a bootstrap whose server_uri names
  "Istiod.${ISTIO_NAMESPACE}.svc" (Istio's istiod) beside a lower-case ASM istiod name elsewhere in the script (a
  comment) was read as naming ASM's istiod alone: PASS AA1201. Now both are read: UNKNOWN AA1235 (two servers).
  Bootstrap shape: tests/checks/test_proxyless_grpc.py (istio/istio@1.30.3 grpc-simple.yaml).
- istiod ownership by Istio's injector webhooks (own16, mesh.istio_injector_services): a webhook whose
  clientConfig.service name or namespace was a list or a number was read as calling no Service, so the bare remote
  istiod Service it calls fell back to ASM's (mesh.OWNER_ASM) instead of unproven. admissionregistration/v1
  ServiceReference has string name and namespace: the shape rules refuse other types. Shape:
  tests/install_shapes.py legacy_remote_shape (istiod-remote/templates/mutatingwebhook.yaml @1.10.6..1.23.6).
- ASM's IstioGateway read by asm-gateways-present, ingress-lb-weights and cross-cluster-gateway-first
  (auditor/gateways.asm_gateways): spec.overrides as a list, or an override that is no object, crashed the first two
  (UNKNOWN AA0002 "check crashed: TypeError: cannot convert dictionary update sequence element #0 to a sequence",
  naming neither the object nor the field); spec.clusterIds as a string was read letter by letter, as a map by its
  keys; spec.serviceAnnotations as a list of pairs was read as annotations. ASM's type (aliyun/alibabacloud-servicemesh-
  api@4df57487:alibabacloudservicemesh/v1/istiogateway_types.go: GatewayType string, ClusterIds []string,
  ServiceAnnotations map[string]string, Overrides map[string]IstioGatewayBasicConfiguration) has none of it: the
  snapshot's shape rules now refuse them, naming the object and field (exit 2).
- manual-injection's new kinds (ReplicationController, OpenKruise CloneSet) had no shape rules: a kube-injected
  template written as a list or a JSON string was skipped as "no template" (PASS AA0601), and a template whose
  containers were a map, an image a list, crashed the check (UNKNOWN AA0002 naming no object). They are refused as a
  Deployment's (kubernetes/api core/v1 types.go ReplicationControllerSpec.Template *PodTemplateSpec;
  openkruise/kruise@v1.9.0:apis/apps/v1alpha1/cloneset_types.go CloneSetSpec.Template v1.PodTemplateSpec).
- egress-routes-to-asm read a route's weights with int(): 0.5 was 0 and true was 1, so an Istio egress gateway
  destination at 0.5 (or -1) beside ASM's was "all egress to ASM" (PASS AA1601 / AA1602); two Istio destinations at 5
  and -5 summed to 0 (PASS). Istio refuses a negative weight (istio/istio@1.30.3:pkg/config/validation/validation.go
  validateWeight), the Gateway API CRDs a negative or fractional one (`format: int32, minimum: 0`,
  istio/istio@1.30.3:tests/integration/pilot/testdata/gateway-api-crd.yaml): UNKNOWN AA1631.
- egress-routes-to-asm walked the new Gateway API mesh routes (and VirtualServices) whatever their types: rules or
  backendRefs written as one object instead of a list were walked as no route (NOT_APPLICABLE AA1640, "no route
  references an egress gateway"), a backendRef whose name, namespace or kind was a list or a number as a destination
  that is no gateway (PASS AA1602 on a 99:1 split to Istio's gateway); a VirtualService's http or route as an object
  likewise (N/A AA1640), a destination host as a list (PASS AA1601). Both CRDs type these fields (istio/istio@1.30.3:
  manifests/charts/base/files/crd-all.gen.yaml; the Gateway API CRDs above): the shape rules refuse them (exit 2).

Shapes: the IstioGateway, HTTPRoute and backendRefs of tests/checks/test_gateways_gwx16.py (declared_on_lb_1,
mesh_route, backend; their citations) and the VirtualService of tests/checks/test_gateways.py (cnn_vs); the moved
Deployment and its status of tests/checks/test_moved_workload_shortfall.py (its citations); the kube-injected template
of tests/checks/test_workloads.py (injected_template); the /version answer of tests/factory.py version_info
(k8s.io/apimachinery pkg/version/types.go Info).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import api
from auditor.errors import UsageError
from auditor.findings import records
from auditor.registry import load_registry
from tests import factory as f
from tests import install_shapes as S
from tests.checks.conftest import audit  # noqa: F401  (the fixture)
from tests.checks.test_gateways import (
    ASM_EGRESS,
    IDS,
    ISTIO_EGRESS,
    asm_ingress,
    asm_side,
    cnn_vs,
    egress_gateways,
    ingress,
)
from tests.checks.test_gateways_gwx16 import (
    ASM_EGRESS_GW,
    backend,
    classic_egress,
    cnn_entry,
    declared_on_lb_1,
    mesh_route,
)
from tests.checks.test_migration_coverage import ID_A, ID_B, clusters_in_mesh
from tests.checks.test_migration_coverage import rows as migration_rows
from tests.checks.test_moved_workload_shortfall import codes, moved, rows
from tests.checks.test_proxyless_grpc import (
    BOOTSTRAP_SCRIPT,
    asm_istiod_named_istiod,
    grpc_workload,
    istio_control_plane,
)
from tests.checks.test_workloads import injected_template
from tests.test_faults import served  # noqa: F401  (served: the fixture)
from tests.test_fuzz import audit as fuzz_audit
from tests.test_fuzz import only
from tests.test_readonly import NOW

SHORT = [("FAIL", "AA1313")]


@pytest.mark.parametrize("count", ["0", 0.0, True, [0], {"value": 0}, "", 2**70])
def test_a_moved_workloads_count_of_another_type_is_bad_input(audit, count):  # noqa: F811
    """Main: NOT_APPLICABLE AA1340 (the moved Deployment, running nothing, was skipped)."""
    dep, rs = moved(strategy="Recreate", available=0)
    dep["status"]["availableReplicas"] = count
    with pytest.raises(UsageError, match=r"Deployment 'shop/cart': status\.availableReplicas"):
        rows(audit, [dep, rs])


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
@pytest.mark.parametrize("count", ["0", 1.0, False])
def test_the_other_kinds_counts_of_another_type_are_bad_input(audit, kind, count):  # noqa: F811
    dep, _ = moved(strategy="Recreate", available=0)
    obj = {**dep, "kind": kind}
    obj["spec"] = {k: v for k, v in dep["spec"].items() if k != "strategy" and (kind != "DaemonSet" or k != "replicas")}
    key = "numberAvailable" if kind == "DaemonSet" else "availableReplicas"
    obj["status"] = {"desiredNumberScheduled": 3, key: count} if kind == "DaemonSet" else {key: count}
    with pytest.raises(UsageError, match=rf"{kind} 'shop/cart': status\.{key}"):
        rows(audit, [obj])


@pytest.mark.parametrize("status", [[1], "Running", 3])
def test_a_status_that_is_no_object_is_bad_input(audit, status):  # noqa: F811
    """Main: UNKNOWN AA0002 'check crashed: AttributeError' (naming neither the object nor the field)."""
    dep, rs = moved(strategy="Recreate", available=0)
    dep["status"] = status
    with pytest.raises(UsageError, match=r"Deployment 'shop/cart': status must be an object"):
        rows(audit, [dep, rs])


def test_conditions_of_another_shape_are_bad_input(audit):  # noqa: F811
    dep, rs = moved(strategy="Recreate", available=0)
    dep["status"]["conditions"][1]["message"] = ["webhook", "refused"]
    with pytest.raises(UsageError, match=r"status\.conditions\[1\]\.message"):
        rows(audit, [dep, rs])


@pytest.mark.parametrize(("replicas", "available"), [(None, None), (3, None), (None, 0)])
def test_a_null_count_is_absent(audit, replicas, available):  # noqa: F811
    """null is absent (kubectl omits empty fields; spec.replicas defaults to 1): main skipped the workload on null and
    said NOT_APPLICABLE AA1340 for the first two."""
    dep, rs = moved(strategy="Recreate", available=0)
    dep["spec"]["replicas"] = replicas
    dep["status"]["availableReplicas"] = available
    assert codes(rows(audit, [dep, rs])) == SHORT


def test_a_null_statefulset_count_is_absent(audit):  # noqa: F811
    dep, _ = moved(strategy="Recreate", available=0)
    sts = {**dep, "kind": "StatefulSet", "spec": {k: v for k, v in dep["spec"].items() if k != "strategy"}}
    sts["spec"]["replicas"] = None
    sts["status"] = {"replicas": 1, "availableReplicas": None, "readyReplicas": None}
    assert codes(rows(audit, [sts])) == SHORT


@pytest.mark.parametrize(("count", "expected"), [(3, [("NOT_APPLICABLE", "AA1340")]), (0, SHORT), (-1, SHORT)])
def test_whole_counts_are_read_as_before(audit, count, expected):  # noqa: F811
    """Control: whole numbers, as on main (no pod of the workload exists here, so a full count is N/A)."""
    dep, rs = moved(strategy="Recreate", available=0)
    dep["status"]["availableReplicas"] = count
    assert codes(rows(audit, [dep, rs])) == expected


# ---------------------------------------------------------------- kubernetes-version: major/minor as written
@pytest.mark.parametrize(("major", "minor"), [
    ("1", "20.5"), ("1", "2 1"), ("1", "2.1"), ("1", "20-1"), ("1", 20.5), ("1", [2, 1]), ("1", "21.x"),
    ("v1", "21"), ("1", "+21"), (True, "21"), ("1", True)])
def test_major_minor_not_as_kubernetes_writes_them_is_unknown(audit, major, minor):  # noqa: F811
    """Main: PASS AA0101 for all but the last two (digits run together: 1.205, 1.21, ...)."""
    info = {**f.version_info(), "gitVersion": "custom-build", "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0131")


@pytest.mark.parametrize(("major", "minor", "expected"), [
    ("1", "29+", ("PASS", "AA0101")), ("1", "21", ("PASS", "AA0101")), ("1", "20+", ("FAIL", "AA0110")),
    (1, 28, ("PASS", "AA0101")), ("1", " 28 ", ("PASS", "AA0101")), ("1", "", ("UNKNOWN", "AA0131"))])
def test_major_minor_as_kubernetes_writes_them_are_read(audit, major, minor, expected):  # noqa: F811
    """Control: as on main."""
    info = {**f.version_info(), "gitVersion": "custom-build", "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == expected


# ---------------------------------------------------------------- ASM's IstioGateway
def _gateway_audit(audit, spec_change):  # noqa: F811
    gateway = declared_on_lb_1("100")
    spec_change(gateway["spec"])
    return audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", asm=asm_side(gateway), config=IDS)


@pytest.mark.parametrize(("change", "field"), [
    (lambda spec: spec.update(overrides=[{"c-a": {}}]), r"spec\.overrides must be an object"),
    (lambda spec: spec["overrides"].update({"c-a": ["lb-1"]}), r"spec\.overrides\['c-a'\] must be an object"),
    (lambda spec: spec["overrides"].update({"c-a": None}), r"spec\.overrides must map strings to objects"),
    (lambda spec: spec["overrides"]["c-a"].update(serviceAnnotations=[["k", "v"]]),
     r"spec\.overrides\['c-a'\]\.serviceAnnotations must be an object"),
    (lambda spec: spec["overrides"]["c-a"]["serviceAnnotations"].update(
        {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight": 100}),
     r"spec\.overrides\['c-a'\]\.serviceAnnotations must map strings to strings"),
    (lambda spec: spec.update(serviceAnnotations=[["k", "v"]]), r"spec\.serviceAnnotations must be an object"),
    (lambda spec: spec.update(clusterIds="c-a"), r"spec\.clusterIds must be a list"),
    (lambda spec: spec.update(clusterIds={"c-a": True}), r"spec\.clusterIds must be a list"),
    (lambda spec: spec.update(clusterIds=["c-a", 7]), r"spec\.clusterIds\[1\] must be a string"),
    (lambda spec: spec.update(gatewayType=["ingress"]), r"spec\.gatewayType must be a string"),
])
def test_an_istio_gateway_of_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: the first two crashed ingress-lb-weights (and asm-gateways-present) with an UNKNOWN naming no object;
    the others were read as something ASM's type cannot hold."""
    with pytest.raises(UsageError, match=r"IstioGateway 'istio-system/ingressgateway-asm': " + field):
        _gateway_audit(audit, change)


@pytest.mark.parametrize("status", [["Active"], "Active"])
def test_an_istio_gateway_status_that_is_no_object_is_bad_input(audit, status):  # noqa: F811
    """Main: UNKNOWN AA0002 for ingress-lb-weights and asm-gateways-present ("check crashed: AttributeError: 'list'
    object has no attribute 'get'"), naming neither the object nor the field."""
    gateway = declared_on_lb_1("100")
    gateway["status"] = status
    with pytest.raises(UsageError, match=r"IstioGateway 'istio-system/ingressgateway-asm': status must be an object"):
        audit({"cluster-a": [*ingress("0"), *asm_ingress("100")]}, "uninstall", asm=asm_side(gateway), config=IDS)


def test_an_istio_gateway_as_asm_writes_it_is_read_as_before(audit):  # noqa: F811
    """Control: as on main."""
    a = _gateway_audit(audit, lambda spec: None)
    assert [(r["status"], r["code"]) for r in a.rows("ingress-lb-weights")] == [("PASS", "AA2001")]
    assert [(r["status"], r["code"]) for r in a.rows("asm-gateways-present")] == [("PASS", "AA1701")]


# ---------------------------------------------------------------- manual-injection's new kinds
_API = {"ReplicationController": "v1", "CloneSet": "apps.kruise.io/v1alpha1"}


def _injected(kind: str, template) -> dict:
    """A kube-injected ReplicationController (istio/istio@1.30.3:pkg/kube/inject/testdata/inject/
    replicationcontroller.yaml.injected) or CloneSet (tests/checks/test_workloads.py) whose template is `template`."""
    selector = {"app": "nginx"} if kind == "ReplicationController" else {"matchLabels": {"app": "nginx"}}
    return {"apiVersion": _API[kind], "kind": kind, "metadata": f.meta("nginx", "shop"),
            "spec": {"replicas": 0, "selector": selector, "template": template}}


def _spec(template: dict, **change) -> dict:
    return {**template, "spec": {**template["spec"], **change}}


@pytest.mark.parametrize("kind", list(_API))
@pytest.mark.parametrize(("change", "field"), [
    (lambda t: [t], r"spec\.template must be an object"),
    (lambda t: json.dumps(t), r"spec\.template must be an object"),
    (lambda t: {**t, "spec": [t["spec"]]}, r"spec\.template\.spec must be an object"),
    (lambda t: _spec(t, containers={c["name"]: c for c in t["spec"]["containers"]}),
     r"spec\.template\.spec\.containers must be a list"),
    (lambda t: _spec(t, containers=[{**c, "image": [c["image"]]} for c in t["spec"]["containers"]]),
     r"spec\.template\.spec\.containers\[0\]\.image must be a string"),
    (lambda t: {**t, "metadata": {**t["metadata"], "annotations": {"sidecar.istio.io/status": {"containers": []}}}},
     r"spec\.template\.metadata\.annotations must map strings to strings"),
])
def test_a_template_of_the_new_kinds_of_other_types_is_bad_input(audit, kind, change, field):  # noqa: F811
    """Main: PASS AA0601 for the first two (the kube-injected template skipped), UNKNOWN AA0002 (a crash naming no
    object) for the next three."""
    with pytest.raises(UsageError, match=rf"{kind} 'shop/nginx': {field}"):
        audit({"c1": [_injected(kind, change(injected_template("nginx", "shop")))]}, "uninstall")


@pytest.mark.parametrize("kind", list(_API))
def test_a_kube_injected_template_of_the_new_kinds_is_found_as_before(audit, kind):  # noqa: F811
    """Control: as on main."""
    [row] = audit({"c1": [_injected(kind, injected_template("nginx", "shop"))]}, "uninstall").rows("manual-injection")
    assert (row["status"], row["code"], row["kind"]) == ("FAIL", "AA0610", kind)


# ---------------------------------------------------------------- egress-routes-to-asm: weights
EG = "egress-routes-to-asm"
BAD_WEIGHT = ("UNKNOWN", "AA1631")


def _eg(a) -> list[tuple[str, str]]:
    return [(r["status"], r["code"]) for r in a.rows(EG) if r["cluster"] == "cluster-a"]


@pytest.mark.parametrize("weight", [0.5, 0.99, True, -1, "-1", "0.5", "\u0661", [0]])
def test_a_virtualservice_weight_that_is_no_whole_number_is_unknown(audit, weight):  # noqa: F811
    """Main: PASS AA1601 for 0.5, 0.99, -1 and "-1" ("all egress to ASM" while Istio's gateway has a share, or a
    weight Istio refuses), FAIL AA1610 for true and for the Arabic-Indic digit one (int() reads it), UNKNOWN for the
    rest."""
    vs = cnn_vs((ISTIO_EGRESS, weight), (ASM_EGRESS, 100))
    assert _eg(audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])) == [BAD_WEIGHT]


def test_istio_destinations_at_5_and_minus_5_are_unknown(audit):  # noqa: F811
    """Main: PASS AA1601 (Istio's share summed to 0)."""
    vs = cnn_vs((ISTIO_EGRESS, 5), (ISTIO_EGRESS, -5), (ASM_EGRESS, 100))
    assert _eg(audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])) == [BAD_WEIGHT]


@pytest.mark.parametrize("weight", [0.5, True, -1, "0.5"])
def test_a_backendref_weight_that_is_no_whole_number_is_unknown(audit, weight):  # noqa: F811
    """Main: PASS AA1602 for 0.5 and -1 (an Istio backendRef with a share read as 0; a weight the CRD refuses), FAIL
    AA1611 for true, UNKNOWN for "0.5"."""
    route = mesh_route([backend("istio-egressgateway", weight), backend("istio-asm-egressgateway", 100)])
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall", asm=[])
    assert _eg(a) == [BAD_WEIGHT]


@pytest.mark.parametrize(("weight", "expected"), [(0, ("PASS", "AA1601")), ("0", ("PASS", "AA1601")),
                                                  (1, ("FAIL", "AA1610")), ("1", ("FAIL", "AA1610"))])
def test_whole_weights_are_read_as_before(audit, weight, expected):  # noqa: F811
    """Control: as on main (a quoted whole number included)."""
    from tests.checks.test_egress_second_hop import asm_egress_hop  # ASM's gateway routes it on (red20z)

    vs = cnn_vs((ISTIO_EGRESS, weight), (ASM_EGRESS, 100))
    assert _eg(audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs, *asm_egress_hop()])) == [expected]


# ---------------------------------------------------------------- version.json: /version and kubectl's output at once
@pytest.mark.parametrize("beside", ["serverVersion", "clientVersion"])
def test_a_version_json_of_both_shapes_is_unknown(audit, beside):  # noqa: F811
    """Main: PASS AA0101 on the top-level gitVersion 1.30 (serverVersion says 1.20)."""
    info = {**f.version_info("v1.30.4-aliyun.1"), beside: f.version_info("v1.20.15-aliyun.1")}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0130")
    assert "serverVersion" in row["message"]


def test_a_version_json_of_one_shape_is_read_as_before(audit):  # noqa: F811
    """Control: /version alone, as on main."""
    [row] = audit({"c1": []}, "assessment", versions={"c1": f.version_info("v1.30.4-aliyun.1")}).rows(
        "kubernetes-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0101")


# ---------------------------------------------------------------- hypothesis: a moved workload's status, any shape
_COUNT = st.one_of(st.none(), st.integers(min_value=-5, max_value=5), st.integers(), st.booleans(),
                   st.floats(allow_nan=False), st.text(max_size=4), st.lists(st.integers(0, 3), max_size=2),
                   st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2))
_STATUS = st.one_of(
    st.dictionaries(st.sampled_from(["replicas", "availableReplicas", "readyReplicas", "desiredNumberScheduled",
                                     "numberAvailable", "conditions"]),
                    st.one_of(_COUNT, st.lists(st.dictionaries(st.sampled_from(["type", "status", "reason",
                                                                                "message"]), _COUNT, max_size=4),
                                               max_size=2)), max_size=5),
    _COUNT)


def _whole(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"]), replicas=_COUNT, status=_STATUS)
def test_a_moved_workload_running_nothing_never_passes_whatever_its_status(kind, replicas, status):
    """A workload moved to ASM (template labelled sidecar.asm.aliyun.com/inject=true) with no pod at all: bad input
    (exit 2), or asm-proxies-ready FAIL AA1313, or NOT_APPLICABLE only where its counts are whole numbers saying nothing
    is missing (available >= desired, as the controller would write them); never a crash (AA0002)."""
    dep, _ = moved(strategy="Recreate", available=0)
    obj = {**dep, "kind": kind, "spec": {k: v for k, v in dep["spec"].items() if k != "strategy"}}
    if kind == "DaemonSet":
        del obj["spec"]["replicas"]
    else:
        obj["spec"]["replicas"] = replicas
    obj["status"] = status
    with tempfile.TemporaryDirectory() as tmp:
        root = f.write_snapshot(Path(tmp), {"c1": [f.namespace("shop"), obj]}, versions={"c1": f.version_info()},
                                manifest={"clusters": [{"name": "c1", "role": "data-plane", "dir": "c1",
                                                        "complete": True}]})  # every kind read, as conftest's audit
        outcome = fuzz_audit(root, "uninstall", only("asm-proxies-ready"))
    if isinstance(outcome, UsageError):
        return
    found = [(r["status"], r["code"]) for r in records(outcome.findings) if r["check_id"] == "asm-proxies-ready"]
    if found == SHORT:
        return
    assert found == [("NOT_APPLICABLE", "AA1340")], (found, replicas, status)
    counts = status if isinstance(status, dict) else {}
    if kind == "DaemonSet":
        desired, available = counts.get("desiredNumberScheduled"), counts.get("numberAvailable") or 0
        assert desired is None or (_whole(desired) and _whole(available) and available >= desired), status
    else:
        desired = 1 if replicas is None else replicas
        available = counts.get("availableReplicas")
        if kind == "StatefulSet" and available is None:
            available = counts.get("readyReplicas")
        available = available or 0
        assert _whole(desired) and _whole(available) and available >= desired, (replicas, status)


# ---------------------------------------------------------------- ASM's OpenAPI answers in the manifest
@pytest.mark.parametrize("answer", [[ID_A, ID_B], "c-a,c-b", 2])
def test_a_manifest_openapi_answer_that_is_no_object_is_bad_input(audit, answer):  # noqa: F811
    """Main: PASS AA0701 alone at the switch to Migrating (the answer read as not given)."""
    with pytest.raises(UsageError, match="'asm_openapi' answer 'DescribeClustersInServiceMesh' must be a JSON object"):
        migration_rows(audit, "migrating", "SetupIstioForMigrate", {"DescribeClustersInServiceMesh": answer},
                       ids={"cluster-a": ID_A})


def test_an_empty_clusters_in_mesh_answer_is_unknown(audit):  # noqa: F811
    """Main: PASS AA0701 alone (an empty answer read as not given)."""
    found = migration_rows(audit, "migrating", "SetupIstioForMigrate", {"DescribeClustersInServiceMesh": {}},
                           ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0732") in codes(found)


def test_openapi_answers_as_asm_returns_them_are_read_as_before(audit):  # noqa: F811
    """Control: as on main."""
    found = migration_rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A, ID_B),
                           ids={"cluster-a": ID_A})
    assert ("UNKNOWN", "AA0731") in codes(found)
    found = migration_rows(audit, "migrating", "SetupIstioForMigrate", clusters_in_mesh(ID_A), ids={"cluster-a": ID_A})
    assert codes(found) == [("PASS", "AA0701")]


def test_a_live_moved_deployment_with_a_count_of_another_type_is_unknown(served, fake_api):  # noqa: F811
    """Live, through the kubernetes client against tests/fakeapi.py: the same rule makes the Deployments unread for the
    cluster (main: asm-proxies-ready NOT_APPLICABLE AA1340 on a moved Deployment running nothing)."""
    dep, rs = moved(strategy="Recreate", available=0)
    dep["status"]["availableReplicas"] = "0"
    fake_api.load([dep, rs])
    focus = Path(str(served.kubeconfig)).parent / "focus.yaml"
    focus.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks
                                                        if c != "asm-proxies-ready"]}}))
    result = api.run_audit(served, "uninstall", focus, now=NOW)
    [cluster] = result.inventory.data_planes
    assert "Deployment 'shop/cart': status.availableReplicas must be a whole number" in cluster.errors[
        "deployments.apps"]
    assert result.exit_code == 3
    assert [r["status"] for r in records(result.findings) if r["check_id"] == "asm-proxies-ready"] == ["UNKNOWN"]


# ---------------------------------------------------------------- routes of other types than their CRDs'
def _backend0(route):
    return route["spec"]["rules"][0]["backendRefs"][0]


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r["spec"]["rules"][0].update(backendRefs=_backend0(r)), r"spec\.rules\[0\]\.backendRefs must be a list"),
    (lambda r: r["spec"].update(rules=r["spec"]["rules"][0]), r"spec\.rules must be a list"),
    (lambda r: _backend0(r).update(name=["istio-egressgateway"]), r"spec\.rules\[0\]\.backendRefs\[0\]\.name"),
    (lambda r: _backend0(r).update(namespace=["istio-system"]), r"spec\.rules\[0\]\.backendRefs\[0\]\.namespace"),
    (lambda r: _backend0(r).update(kind=5), r"spec\.rules\[0\]\.backendRefs\[0\]\.kind must be a string"),
    (lambda r: r["spec"]["rules"][0].update(filters=[{"type": "RequestMirror", "requestMirror": {"backendRef": {
        "name": ["istio-egressgateway"], "namespace": "istio-system", "port": 80}}}]),
     r"spec\.rules\[0\]\.filters\[0\]\.requestMirror\.backendRef\.name must be a string"),
])
def test_a_mesh_route_of_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: NOT_APPLICABLE AA1640 for the first two, PASS AA1602 for the next three (a 99:1 split to Istio's egress
    gateway), PASS AA1602 beside an unseen mirror to Istio's gateway for the last."""
    route = mesh_route([backend("istio-egressgateway", 99 if "filters" not in field else 0),
                        backend("istio-asm-egressgateway", 1)])
    change(route)
    with pytest.raises(UsageError, match=r"HTTPRoute 'default/direct-cnn-to-egress-gateway': " + field):
        audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall", asm=[])


def _http0(vs):
    return vs["spec"]["http"][0]


@pytest.mark.parametrize(("change", "field"), [
    (lambda v: v["spec"].update(http=_http0(v)), r"spec\.http must be a list"),
    (lambda v: _http0(v).update(route=_http0(v)["route"][0]), r"spec\.http\[0\]\.route must be a list"),
    (lambda v: _http0(v)["route"][0]["destination"].update(host=[ISTIO_EGRESS]),
     r"spec\.http\[0\]\.route\[0\]\.destination\.host must be a string"),
    (lambda v: _http0(v).update(mirror=[{"host": ISTIO_EGRESS}]), r"spec\.http\[0\]\.mirror must be an object"),
    (lambda v: v["spec"].update(hosts="edition.cnn.com"), r"spec\.hosts must be a list"),
])
def test_a_virtualservice_of_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: NOT_APPLICABLE AA1640 for the first two, PASS AA1601 for the host list, crashes (AA0002) or hosts read
    letter by letter for the last two."""
    vs = cnn_vs((ISTIO_EGRESS, 99), (ASM_EGRESS, 1))
    change(vs)
    with pytest.raises(UsageError, match=r"VirtualService 'shop/direct-cnn-through-egress-gateway': " + field):
        audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])


def test_routes_as_their_crds_have_them_are_read_as_before(audit):  # noqa: F811
    """Control: as on main."""
    route = mesh_route([backend("istio-egressgateway", 99), backend("istio-asm-egressgateway", 1)])
    a = audit({"cluster-a": [*classic_egress(), *ASM_EGRESS_GW, cnn_entry(), route]}, "uninstall", asm=[])
    assert _eg(a) == [("FAIL", "AA1611")]
    vs = cnn_vs((ISTIO_EGRESS, 99), (ASM_EGRESS, 1))
    assert _eg(audit({"cluster-a": [*egress_gateways(), vs]}, "uninstall", asm=[vs])) == [("FAIL", "AA1610")]


# ---------------------------------------------------------------- proxyless gRPC: host names in any case
def _asm_istiod(name: str = "istiod-1-24-6") -> dict:
    """ASM's istiod-<rev> Service (asm_istiod_named_istiod, its citations), no selector: nothing behind it."""
    svc = asm_istiod_named_istiod()
    svc["metadata"]["name"] = name
    svc["spec"].pop("selector", None)
    return svc


def test_a_bootstrap_naming_istios_istiod_in_capitals_beside_asms_is_not_asms(audit):  # noqa: F811
    """Main: PASS AA1201 (only the lower-case ASM name in the comment was read)."""
    script = BOOTSTRAP_SCRIPT.replace("dns:///istiod.", "dns:///Istiod.") + (
        "\n# before: dns:///istiod-1-24-6.istio-system.svc:15012")
    run = audit({"c1": [*istio_control_plane(), _asm_istiod(), *grpc_workload(script=script)]}, "uninstall",
                config=f.only_checks("istio-sidecars-remaining"))
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA1235")


@pytest.mark.parametrize(("old", "new"), [("dns:///istiod.", "dns:///ISTIOD."), (".svc:15010", ".SVC:15010")])
def test_a_bootstrap_naming_istios_istiod_in_capitals_is_istios(audit, old, new):  # noqa: F811
    """Main: UNKNOWN AA1235 (no name read); DNS resolves it to Istio's istiod: FAIL AA1216."""
    script = BOOTSTRAP_SCRIPT.replace(old, new)
    run = audit({"c1": [*istio_control_plane(), *grpc_workload(script=script)]}, "uninstall",
                config=f.only_checks("istio-sidecars-remaining"))
    [row] = [r for r in run.rows("istio-sidecars-remaining") if r["name"] == "grpc"]
    assert (row["status"], row["code"]) == ("FAIL", "AA1216")


def test_a_bootstrap_naming_asms_istiod_alone_passes_as_before(audit):  # noqa: F811
    """Control: as on main."""
    script = BOOTSTRAP_SCRIPT.replace("dns:///istiod.${ISTIO_NAMESPACE}.svc:15010",
                                      "dns:///istiod-1-24-6.istio-system.svc:15012")
    run = audit({"c1": [*istio_control_plane(), _asm_istiod(), *grpc_workload(script=script)]}, "uninstall",
                config=f.only_checks("istio-sidecars-remaining"))
    assert [(r["status"], r["code"]) for r in run.rows("istio-sidecars-remaining")] == [("PASS", "AA1201")]


# ---------------------------------------------------------------- Istio's injector webhook: the Service it calls
@pytest.mark.parametrize(("key", "value"), [("name", ["istiod"]), ("namespace", ["istio-system"]), ("name", 7)])
def test_an_injector_webhook_calling_a_service_of_other_types_is_bad_input(audit, key, value):  # noqa: F811
    """Main: the webhook called no Service, and the bare remote istiod Service was ASM's (mesh.OWNER_ASM)."""
    shape = S.legacy_remote_shape(applied_by="template", address="10.10.0.15")
    [hook] = [o for o in shape.objects if o["kind"] == "MutatingWebhookConfiguration"]
    hook["webhooks"][0]["clientConfig"]["service"][key] = value
    with pytest.raises(UsageError, match=rf"webhooks\[0\]\.clientConfig\.service\.{key} must be a string"):
        audit({"c1": shape.objects}, "uninstall")


@pytest.mark.parametrize("key", ["name", "namespace"])
def test_an_injector_webhook_calling_a_service_without_a_name_or_namespace_is_bad_input(audit, key):  # noqa: F811
    """Main: as above (the webhook read as calling no Service of the cluster: none, or "/istiod")."""
    shape = S.legacy_remote_shape(applied_by="template", address="10.10.0.15")
    [hook] = [o for o in shape.objects if o["kind"] == "MutatingWebhookConfiguration"]
    del hook["webhooks"][0]["clientConfig"]["service"][key]
    with pytest.raises(UsageError, match=rf"webhooks\[0\]\.clientConfig\.service\.{key} is missing"):
        audit({"c1": shape.objects}, "uninstall")


def test_an_injector_webhook_as_the_chart_writes_it_is_read_as_before(audit):  # noqa: F811
    """Control: the snapshot is read (the ownership itself: tests/checks/test_istiod_owner_remote.py)."""
    shape = S.legacy_remote_shape(applied_by="template", address="10.10.0.15")
    assert audit({"c1": shape.objects}, "uninstall").result.verdict.value in ("NO-GO", "INCOMPLETE", "GO")
