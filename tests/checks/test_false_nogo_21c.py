"""False NO-GOs on healthy installs (red21c): each healthy shape no longer blocks, its broken twin still does.

1. kubernetes-version: an API server built without version stamping answers /version with Kubernetes' own fallback,
   gitVersion "v0.0.0-master+$Format:%H$" and gitMajor/gitMinor "" (kubernetes/kubernetes@0abf1fc0
   staging/src/k8s.io/component-base/version/base.go; the shape below is that answer as /version serves it). Main read
   it as Kubernetes 0.0: FAIL AA0110 "older than 1.21", a NO-GO on a cluster of any age. Now UNKNOWN AA0133.
"""

from __future__ import annotations

import pytest

from tests import factory as f

UNSTAMPED = {"major": "", "minor": "", "gitVersion": "v0.0.0-master+$Format:%H$", "gitCommit": "$Format:%H$",
             "gitTreeState": "", "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc",
             "platform": "linux/amd64"}


# ---------------------------------------------------------------- kubernetes-version
@pytest.mark.parametrize("git_version", ["v0.0.0-master+$Format:%H$", "v0.0.0", "v0.0.0-master+4f3e1a2b"])
def test_an_unstamped_version_is_unknown_not_kubernetes_0_0(audit, git_version):
    run = audit({"c1": []}, "assessment", versions={"c1": {**UNSTAMPED, "gitVersion": git_version}})
    [row] = run.rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0133")  # main: FAIL AA0110 "Kubernetes 0.0"
    assert row["severity"] == "blocker" and run.result.verdict != "GO"  # not told is not a pass


def test_major_minor_zero_is_no_release_either(audit):
    [row] = audit({"c1": []}, "assessment", versions={"c1": {**UNSTAMPED, "major": "0", "minor": "0"}}).rows(
        "kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0133")  # main: FAIL AA0110


@pytest.mark.parametrize(("major", "minor", "status", "code"), [("1", "29+", "PASS", "AA0101"),
                                                              ("1", "20", "FAIL", "AA0110")])
def test_an_unstamped_git_version_falls_back_to_stamped_major_minor(audit, major, minor, status, code):
    info = {**UNSTAMPED, "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == (status, code)


@pytest.mark.parametrize(("git_version", "code"), [("v1.20.15", "AA0110"), ("v0.21.4", "AA0110"),
                                                   ("v1.30.4-aliyun.1", "AA0101")])
def test_real_releases_are_judged_as_before(audit, git_version, code):
    """A stamped old release still blocks (v0.21.4 was a real 2015 release: older than 1.21)."""
    [row] = audit({"c1": []}, "assessment", versions={"c1": f.version_info(git_version)}).rows("kubernetes-version")
    assert row["code"] == code


# ---------------------------------------------------------------- asm-gateways-present
# Two Istio ingress gateways (istioctl's istio-ingressgateway and a second from IstioOperator spec.components.
# ingressGateways[], both `operator.istio.io/component: IngressGateways`), two ASM ingress IstioGateways for the
# cluster, one of them being deleted on the ASM control plane (tests/checks/test_asm_gateway_serving.being_deleted:
# deletionTimestamp with a finalizer, apiserver registry/generic/registry/store.go). Main paired the second Istio
# gateway with the one going away: FAIL AA1718, a NO-GO that lifts by itself once the deletion completes (then
# WARN AA1722: fewer ASM gateways than Istio's, confirm the one staying serves both). Now that WARN at once; with
# no ASM gateway of the role staying, AA1718 stands.
GW = "asm-gateways-present"


def _two_istio_ingresses() -> list[dict]:
    from tests.checks.test_gateways import ingress

    return [*ingress(), f.gateway_deployment("istio-ingressgateway-internal"),
            f.gateway_service("istio-ingressgateway-internal", type_="ClusterIP",
                              selector={"app": "istio-ingressgateway-internal", "istio": "ingressgateway-internal"})]


def _asm_ingress(name: str) -> list[dict]:
    return [f.gateway_deployment(f"istio-{name}", asm=True, gateway_type="ingress"),
            f.gateway_service(f"istio-{name}", annotations={"asm.alibabacloud.com/managed-by-asm": "true"},
                              selector={"app": f"istio-{name}", "istio": name})]


@pytest.mark.parametrize("going_name", ["ingressgateway-internal-asm", "ingressgateway-asm"])
def test_a_gateway_being_deleted_beside_one_staying_is_the_fewer_warning(audit, going_name):
    from tests.checks.test_asm_gateway_serving import being_deleted
    from tests.checks.test_gateways import IDS, asm_side

    names = ("ingressgateway-asm", "ingressgateway-internal-asm")
    crs = [f.istio_gateway_cr(n, "ingress", cluster_ids=["c-a"]) for n in names]
    crs = [being_deleted(cr) if cr["metadata"]["name"] == going_name else cr for cr in crs]
    objects = [*_two_istio_ingresses(), *_asm_ingress(names[0]), *_asm_ingress(names[1])]
    run = audit({"cluster-a": objects}, "uninstall", config={**IDS, **f.only_checks(GW)}, asm=asm_side(*crs))
    rows = run.rows(GW)
    got = sorted((r["name"], r["status"], r["code"]) for r in rows)
    assert [c for _, _, c in got].count("AA1718") == 0  # main: FAIL AA1718 for one of them
    assert sorted(c for _, _, c in got) == ["AA1701", "AA1722"]
    staying = next(n for n in names if n != going_name)
    assert all(r["evidence"].get("asm_gateway", f"istio-system/{staying}") == f"istio-system/{staying}"
               for r in rows if r["code"] == "AA1701")
    assert run.result.verdict == "GO"  # the warning is minor: listed, not blocking



def _not_deployed(objects: list[dict]) -> list[dict]:
    """The IstioGateway names the cluster but ASM's controller has no istio-<name> Deployment or Service there (not
    yet created, or removed by hand)."""
    return []


def _scaled(shape):  # type: ignore[no-untyped-def]
    def apply(objects: list[dict]) -> list[dict]:
        shape(next(o for o in objects if o["kind"] == "Deployment"))
        return objects
    apply.__name__ = shape.__name__
    return apply


def _staying_shapes() -> list:  # type: ignore[type-arg]
    from tests.checks.test_asm_gateway_serving import pods_not_ready, scaled_to_zero

    return [(_scaled(scaled_to_zero), "AA1713"), (_scaled(pods_not_ready), "AA1713"), (_not_deployed, "AA1712")]


# fix21c (review21b): the red21c rule above dropped the deleting match whenever another ASM gateway of the role was not
# being deleted, serving or not: a staying gateway scaled to 0 (kubectl scale / HPA, the Deployment status shape of
# test_asm_gateway_serving, from kubernetes/api apps/v1 DeploymentStatus), with no pod Ready, or not deployed in the
# cluster at all covered both Istio gateways with a minor WARN AA1722: GO with nothing serving after the purge.
@pytest.mark.parametrize(("shape", "code"), _staying_shapes(), ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("going_name", ["ingressgateway-asm", "ingressgateway-internal-asm"])
def test_a_gateway_being_deleted_beside_one_that_does_not_serve_fails(audit, going_name, shape, code):
    from tests.checks.test_asm_gateway_serving import being_deleted
    from tests.checks.test_gateways import IDS, asm_side

    names = ("ingressgateway-asm", "ingressgateway-internal-asm")
    staying = next(n for n in names if n != going_name)
    crs = [f.istio_gateway_cr(n, "ingress", cluster_ids=["c-a"]) for n in names]
    crs = [being_deleted(cr) if cr["metadata"]["name"] == going_name else cr for cr in crs]
    objects = [*_two_istio_ingresses(), *_asm_ingress(going_name), *shape(_asm_ingress(staying))]
    run = audit({"cluster-a": objects}, "uninstall", config={**IDS, **f.only_checks(GW)}, asm=asm_side(*crs))
    rows = run.rows(GW)
    # main: WARN AA1722 twice, GO. Each Istio gateway is left to a gateway that serves nothing after the purge: one to
    # the staying gateway that does not serve (AA1713 / AA1712, as without the deleting one), one to the going one.
    assert sorted((r["status"], r["code"]) for r in rows) == sorted([("FAIL", code), ("FAIL", "AA1718")])
    assert {r["name"] for r in rows} == {"istio-ingressgateway", "istio-ingressgateway-internal"}
    assert run.result.verdict == "NO-GO"


def test_a_gateway_being_deleted_beside_one_serving_and_one_not_is_judged_as_without_it(audit):
    """Three ASM ingress gateways for two Istio ones: one going, one serving, one scaled to 0. Once the deletion
    completes it is the cluster without the going one, where the one scaled to 0 is left a gateway it does not serve
    (AA1713, NO-GO); main: PASS AA1701 and WARN AA1722 ("confirm that the serving one also serves it"), GO."""
    from tests.checks.test_asm_gateway_serving import being_deleted, scaled_to_zero
    from tests.checks.test_gateways import IDS, asm_side

    going, serving, idle = "ingressgateway-asm", "ingressgateway-public-asm", "ingressgateway-internal-asm"
    crs = [being_deleted(f.istio_gateway_cr(going, "ingress", cluster_ids=["c-a"])),
           f.istio_gateway_cr(serving, "ingress", cluster_ids=["c-a"]),
           f.istio_gateway_cr(idle, "ingress", cluster_ids=["c-a"])]
    objects = [*_two_istio_ingresses(), *_asm_ingress(going), *_asm_ingress(serving),
               *_scaled(scaled_to_zero)(_asm_ingress(idle))]
    config = {**IDS, **f.only_checks(GW)}
    run = audit({"cluster-a": objects}, "uninstall", config=config, asm=asm_side(*crs))
    without = audit({"cluster-a": [o for o in objects if going not in o["metadata"]["name"]]}, "uninstall",
                    config=config, asm=asm_side(*crs[1:]))
    got = sorted((r["name"], r["status"], r["code"]) for r in run.rows(GW))
    assert got == sorted((r["name"], r["status"], r["code"]) for r in without.rows(GW))
    assert sorted(c for _, _, c in got) == ["AA1701", "AA1713"]
    assert run.result.verdict == without.result.verdict == "NO-GO"


def test_the_only_asm_gateway_of_the_role_being_deleted_still_fails(audit):
    from tests.checks.test_asm_gateway_serving import being_deleted
    from tests.checks.test_gateways import IDS, asm_side

    crs = [being_deleted(f.istio_gateway_cr(n, "ingress", cluster_ids=["c-a"]))
           for n in ("ingressgateway-asm", "ingressgateway-internal-asm")]
    objects = [*_two_istio_ingresses(), *_asm_ingress("ingressgateway-asm"),
               *_asm_ingress("ingressgateway-internal-asm")]
    run = audit({"cluster-a": objects}, "uninstall", config={**IDS, **f.only_checks(GW)}, asm=asm_side(*crs))
    assert sorted(r["code"] for r in run.rows(GW)) == ["AA1718", "AA1718"]
    one = audit({"cluster-a": [*_two_istio_ingresses(), *_asm_ingress("ingressgateway-asm")]}, "uninstall",
                config={**IDS, **f.only_checks(GW)}, asm=asm_side(crs[0]))
    # One ASM gateway, going, for two Istio gateways: the second is replaced by nothing (main: WARN AA1722 "confirm
    # that the one being deleted also serves it").
    assert sorted(r["code"] for r in one.rows(GW)) == ["AA1710", "AA1718"]
    assert run.result.verdict == one.result.verdict == "NO-GO"


# ---------------------------------------------------------------- asm-proxies-ready
# A template with both sidecar.asm.aliyun.com/inject: "true" (the seed's patch) and sidecar.istio.io/inject: "false".
# ASM injects a pod only if it does not carry sidecar.istio.io/inject "false", under either injection policy ("Not
# include sidecar.istio.io/inject: "false"" / "Include ... "true"": ASM docs "Configure sidecar injection policies",
# help.aliyun.com/document_detail/186136; the label wins over the annotation), as Istio does (istio/istio@1.30.3
# istio-discovery templates/mutatingwebhook.yaml objectSelector `sidecar.istio.io/inject NotIn [false]`, pkg/kube/
# inject/inject.go injectRequired): its pods ran no proxy under Istio either. Main: FAIL AA1314 (major), a NO-GO on a
# workload that never was in the mesh. Now WARN AA1315; the ASM label alone with no proxy stays FAIL AA1314.
READY = "asm-proxies-ready"
ASM_LABEL = "sidecar.asm.aliyun.com/inject"


@pytest.mark.parametrize("where", ["label", "annotation"])
def test_a_template_that_opts_out_is_told_not_blocking(audit, where):
    labels = {"app": "ledger", ASM_LABEL: "true"}
    notes = None
    if where == "label":
        labels["sidecar.istio.io/inject"] = "false"
    else:
        notes = {"sidecar.istio.io/inject": "false"}
    ledger = f.deployment("ledger", replicas=2, template_labels=labels, template_annotations=notes)
    web = f.deployment("web", replicas=2, template_labels={"app": "web", ASM_LABEL: "true"})
    pods = [*f.workload_pods(ledger, 2, proxy=None), *f.workload_pods(web, 2, proxy="asm")]
    run = audit({"c1": [*ledger, *web, *pods]}, "uninstall")
    got = sorted((r["status"], r["code"], r["name"]) for r in run.rows(READY))
    assert got == [("PASS", "AA1301", ""), ("WARN", "AA1315", "ledger")]  # main: FAIL AA1314 ledger
    assert next(r for r in run.rows(READY) if r["code"] == "AA1315")["severity"] == "minor"


@pytest.mark.parametrize("labels", [{"sidecar.istio.io/inject": "true"}, {}, {"sidecar.istio.io/inject": "false"}])
def test_the_asm_label_without_a_proxy_still_fails(audit, labels):
    """No opt-out (or the label saying true, or the opt-out only as an annotation under a label saying true: the label
    wins): ASM's injector should have taken the pods, so they left the mesh."""
    notes = {"sidecar.istio.io/inject": "false"} if labels.get("sidecar.istio.io/inject") == "false" else None
    labels = {"sidecar.istio.io/inject": "true"} if notes else labels
    cart = f.deployment("cart", replicas=2, template_labels={"app": "cart", ASM_LABEL: "true", **labels},
                        template_annotations=notes)
    run = audit({"c1": [*cart, *f.workload_pods(cart, 2, proxy=None)]}, "uninstall")
    assert [(r["status"], r["code"]) for r in run.rows(READY)] == [("FAIL", "AA1314")]
    assert run.result.verdict == "NO-GO"


def test_an_opt_out_read_from_no_template_still_fails(audit):
    """The Deployment not read (its template unknown): the opt-out is not proven."""
    from auditor import kinds as K

    ledger = f.deployment("ledger", replicas=1, template_labels={"app": "ledger", ASM_LABEL: "true",
                                                                "sidecar.istio.io/inject": "false"})
    run = audit({"c1": [*ledger, *f.workload_pods(ledger, 1, proxy=None)]}, "uninstall",
                unreadable={"c1": {K.DEPLOYMENT: "forbidden"}})
    assert "AA1314" in [r["code"] for r in run.rows(READY)]


# ---------------------------------------------------------------- ambient-mode
# `istioctl install --set profile=ambient` (or Helm's istio-cni with profile=ambient and the ztunnel chart) with no
# workload enrolled: ztunnel DaemonSet and istio-cni-node with istio-cni-config AMBIENT_ENABLED=true
# (tests/install_shapes.py, from istio/istio charts/ztunnel and charts/istio-cni templates). A pod is redirected only
# when its namespace or its own label enrols it and it runs no sidecar (cni/pkg/util/podutil.go
# PodRedirectionEnabled; from 1.25 istio-cni-config AMBIENT_ENABLEMENT_SELECTOR, by default those labels). Main: FAIL
# AA0510 "in use" (major), a NO-GO on a cluster where ambient moves no traffic. Now PASS AA0502 when nothing enrols a
# workload, FAIL AA0510 when a namespace, a pod template or a waypoint does, UNKNOWN AA0530 when that cannot be told.
AMB = "ambient-mode"


def _ambient_profile() -> list[dict]:
    from tests.install_shapes import ISTIO_NS, Injector, _daemonset, istio_cni

    inj = Injector("1.24.6")
    ztunnel = _daemonset("ztunnel", ISTIO_NS, {"app": "ztunnel", "app.kubernetes.io/name": "ztunnel"},
                         "istio-proxy", f"{inj.hub}/ztunnel:{inj.version}")
    cart = f.deployment("cart", replicas=2)  # plain workloads, no proxy, no ambient label
    return [f.namespace("shop", {"istio-injection": "enabled"}), ztunnel, *istio_cni(inj, ambient=True), *cart,
            *f.workload_pods(cart, 2, proxy=None)]


def test_the_ambient_profile_with_nothing_enrolled_passes(audit):
    [row] = audit({"c1": _ambient_profile()}, "assessment").rows(AMB)
    assert (row["status"], row["code"]) == ("PASS", "AA0502")  # main: FAIL AA0510
    assert any("ztunnel" in s for s in row["evidence"]["installed"])


def test_a_pod_template_enrolled_by_its_own_label_fails(audit):
    ledger = f.deployment("ledger", replicas=1, template_labels={"app": "ledger", "istio.io/dataplane-mode": "ambient"})
    run = audit({"c1": [*_ambient_profile(), *ledger, *f.workload_pods(ledger, 1, proxy=None)]}, "assessment")
    [row] = run.rows(AMB)
    assert (row["status"], row["code"]) == ("FAIL", "AA0510")
    assert any("ledger" in s for s in row["evidence"]["signals"])


def test_an_ambient_namespace_still_fails(audit):
    objects = [*_ambient_profile(), f.namespace("pay", {"istio.io/dataplane-mode": "ambient"})]
    [row] = audit({"c1": objects}, "assessment").rows(AMB)
    assert (row["status"], row["code"]) == ("FAIL", "AA0510")


def test_enrolment_not_told_is_unknown(audit):
    from auditor import kinds as K

    run = audit({"c1": _ambient_profile()}, "assessment", unreadable={"c1": {K.POD: "403 Forbidden: pods"}})
    assert [(r["status"], r["code"]) for r in run.rows(AMB)] == [("UNKNOWN", "AA0530")]
    # A pod of no workload (kubectl run) not yet set up on a node (no status): the pod frame keeps no labels and it
    # carries no capture annotation yet, so its enrolment is not told. (Running, its annotation tells: fix21d.)
    debug = f.pod("debug", "shop", proxy=None)
    debug.pop("status")
    run = audit({"c1": [*_ambient_profile(), debug]}, "assessment")
    assert [(r["status"], r["code"]) for r in run.rows(AMB)] == [("UNKNOWN", "AA0530")]


def test_a_custom_enablement_selector_is_unknown(audit):
    objects = _ambient_profile()
    cm = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio-cni-config")
    cm["data"]["AMBIENT_ENABLEMENT_SELECTOR"] = (
        "- podSelector:\n    matchLabels: {mesh.example.com/ambient: \"yes\"}\n")
    # Running pods tell by their capture annotation whatever the selector (fix21d); a pod not yet set up does not.
    [row] = audit({"c1": objects}, "assessment").rows(AMB)
    assert (row["status"], row["code"]) == ("PASS", "AA0502")
    pending = f.workload_pods(f.deployment("cart", replicas=2), 1, first=2, proxy=None)
    for p in pending:
        p.pop("status")
    objects = [*objects, *pending]
    [row] = audit({"c1": objects}, "assessment").rows(AMB)
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0530")
    default = ("- podSelector:\n    matchLabels: {istio.io/dataplane-mode: ambient}\n"
               "- namespaceSelector:\n    matchLabels: {istio.io/dataplane-mode: ambient}\n"
               "  podSelector:\n    matchExpressions:\n    - {key: istio.io/dataplane-mode, operator: NotIn, "
               "values: [none]}\n")
    cm["data"]["AMBIENT_ENABLEMENT_SELECTOR"] = default
    [row] = audit({"c1": objects}, "assessment").rows(AMB)
    assert (row["status"], row["code"]) == ("PASS", "AA0502")


# ---------------------------------------------------------------- purge-preview AA2535: kept (no change)
# A DescribeServiceMeshDetail answer whose InitCNIConfiguration has Enabled and no ExcludeNamespaces key. Nothing
# published says ASM leaves the key out when no namespace is excluded: the SDK (alibabacloud-servicemesh20200111 3.4.0
# models.py ...SidecarInjectorInitCNIConfiguration) drops any field the server sent no value for, both ways
# (to_map/from_map `is not None`), and documents no default; Istio's own CNI chart excludes kube-system by default
# (charts/istio-cni values.yaml excludeNamespaces), so "not said" is not "none". It stays UNKNOWN (INCOMPLETE, not a
# NO-GO); the user who knows says so in the config, and an answer that says "" (none) passes.
def test_an_answer_without_exclude_namespaces_stays_unknown_and_the_config_settles_it(audit):
    from tests.checks.test_purge_cni import CHECK, cluster, mesh_detail

    answer = mesh_detail(True)
    del answer["DescribeServiceMeshDetail"]["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"][
        "InitCNIConfiguration"]["ExcludeNamespaces"]
    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], asm_openapi=answer,
              config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("UNKNOWN", "AA2535")]
    assert a.result.verdict == "INCOMPLETE"
    said = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")], asm_openapi=answer,
                 config={**f.only_checks(CHECK), "asm": {"cni_exclude_namespaces": []}})
    assert [(r["status"], r["code"]) for r in said.rows(CHECK)] == [("PASS", "AA2501")]
    none = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
                 asm_openapi=mesh_detail(True, ""), config=f.only_checks(CHECK))
    assert [(r["status"], r["code"]) for r in none.rows(CHECK)] == [("PASS", "AA2501")]
