"""Shape x gate: every way Istio is really installed (tests/install_shapes.py), mixed with workloads already
on ASM's proxies, audited at each gate through the public API on a snapshot directory.

The expectations are written from the facts (../shared/docs/domain.md, product.md, issue 15), before
running the tool: a pod is an ASM proxy only by marks ASM sets; every Istio sidecar left blocks the
uninstall and finished gates; every Istio gateway, however it was installed, is judged by the gateway
checks; the ASM version never comes from Istio's own istiod-<rev> Service.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.api import Target, run_audit
from auditor.config import Config
from auditor.engine import AuditResult
from auditor.findings import records
from tests import factory as f
from tests import install_shapes as s

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
CLUSTER = "cluster-a"
# ASM's mesh config as Istio's installers leave it (trust domain cluster.local, ALLOW_ANY): mesh-config-parity
# needs ASM's trust domain, which no Kubernetes object or ASM answer holds.
ASM_MESH_CONFIG = Config.model_validate({"asm": {"mesh_config": {
    "trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}}})
GATE_AT_STATE = {"Init": "setup", "SetupIstioForMigrate": "migrating", "Migrating": "uninstall",
                 "Finished": "finished"}

SHAPES = {shape.name: shape for shape in s.all_shapes()}
SIDECAR_SHAPES = sorted(name for name, shape in SHAPES.items() if shape.istio_sidecar_workloads)
GATEWAY_SHAPES = sorted(name for name, shape in SHAPES.items() if shape.istio_gateways)
NORTH_SOUTH = {"eastwest-1.22.8": False}  # east-west gateways pass mTLS through: no ASM ingress/egress twin


def audit(root: Path, shape: s.Shape, gate: str, state: str | None) -> AuditResult:
    """Write the shape (cluster-a) and ASM's control plane (asm/) as a snapshot and audit it at `gate`."""
    clusters = {CLUSTER: shape.objects, "asm": s.asm_control_plane(state, shape.objects)}
    manifest = {"clusters": [
        {"name": CLUSTER, "role": "data-plane", "dir": CLUSTER, "complete": True, "cluster_id": s.ACK_CLUSTER_ID},
        {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]}
    f.write_snapshot(root, clusters, versions={name: f.version_info() for name in clusters}, manifest=manifest)
    return run_audit(Target(snapshot=str(root)), gate, ASM_MESH_CONFIG, now=NOW)


def rows(result: AuditResult, check_id: str) -> list[dict[str, Any]]:
    return [r for r in records(result.findings) if r["check_id"] == check_id]


def workloads(result: AuditResult, check_id: str, status: str) -> set[tuple[str, str]]:
    return {(r["namespace"], r["name"]) for r in rows(result, check_id) if r["status"] == status}


def mixed(name: str) -> s.Shape:
    """The shape with two workloads already moved to ASM (and ASM's istiod-1-24-6 Service)."""
    return s.moved_to_asm(s.shape_by_name(name))


def gateways_only(name: str) -> s.Shape:
    """The shape after every application moved to ASM: only Istio's control plane and gateways are left."""
    shape = mixed(name)
    gone = shape.istio_sidecar_workloads
    shape.objects = [o for o in shape.objects if not _belongs_to(o, gone)]
    shape.istio_sidecar_workloads = set()
    return shape


def _belongs_to(obj: dict[str, Any], owners: set[tuple[str, str]]) -> bool:
    if obj["kind"] not in ("Deployment", "ReplicaSet", "Pod"):
        return False
    meta = obj["metadata"]
    return any(meta.get("namespace") == ns and (meta["name"] == name or meta["name"].startswith(name + "-"))
               for ns, name in owners)


# ---------------------------------------------------------------- sidecars: counted at every gate
@pytest.mark.parametrize("name", SIDECAR_SHAPES)
@pytest.mark.parametrize("state", ["Migrating", "Finished"])
def test_every_istio_sidecar_blocks_uninstall_and_finished(tmp_path: Path, name: str, state: str) -> None:
    shape = mixed(name)
    result = audit(tmp_path, shape, GATE_AT_STATE[state], state)
    failed = workloads(result, "istio-sidecars-remaining", "FAIL")
    on_istio = shape.istio_sidecar_workloads | shape.ambient_workloads  # ambient's captured pods: Istio's data plane
    assert on_istio <= failed <= on_istio | shape.other_istio_proxies
    assert {r["kind"] for r in rows(result, "istio-sidecars-remaining") if r["status"] == "FAIL"} == {"Deployment"}
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


@pytest.mark.parametrize("name", SIDECAR_SHAPES)
def test_migrating_lists_every_istio_sidecar_without_the_xds_agent(tmp_path: Path, name: str) -> None:
    """Pods injected before SetupIstioForMigrate lack PROXY_CONFIG_XDS_AGENT; ASM's proxies are not judged."""
    shape = mixed(name)
    result = audit(tmp_path, shape, "migrating", "SetupIstioForMigrate")
    failed = workloads(result, "pods-xds-agent", "FAIL")
    assert shape.istio_sidecar_workloads <= failed
    assert not failed & shape.asm_workloads
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


@pytest.mark.parametrize("name", SIDECAR_SHAPES)
def test_asm_version_never_comes_from_istio(tmp_path: Path, name: str) -> None:
    """Before the cluster joins ASM nothing in it tells ASM's version: UNKNOWN, never a GO."""
    result = audit(tmp_path, s.shape_by_name(name), "assessment", None)
    assert [r["status"] for r in rows(result, "asm-version")] == ["UNKNOWN"]
    expected = ("NO-GO", 1) if SHAPES[name].ambient else ("INCOMPLETE", 3)
    assert (result.verdict, result.exit_code) == expected


@pytest.mark.parametrize("name", SIDECAR_SHAPES)
def test_asm_version_from_asm_service_once_joined(tmp_path: Path, name: str) -> None:
    result = audit(tmp_path, mixed(name), "setup", "Init")
    [row] = rows(result, "asm-version")
    assert row["status"] == "PASS"
    assert "ASM 1.24.6 " in row["message"] and "istiod-1-24-6" in row["message"]
    # Init, option set: the switch may go ahead; a remote cluster's istiod (its version) is judged in the primary
    expected = ("INCOMPLETE", 3) if SHAPES[name].istiod_elsewhere else ("GO", 0)
    assert (result.verdict, result.exit_code) == expected


# ---------------------------------------------------------------- gateways: judged however installed
@pytest.mark.parametrize("name", GATEWAY_SHAPES)
def test_every_istio_gateway_is_judged_at_uninstall(tmp_path: Path, name: str) -> None:
    """All applications moved; Istio's gateways remain. No Prometheus: each gateway's traffic is UNKNOWN,
    and no ASM gateway replaces an ingress/egress one: asm-gateways-present FAILs. Never a GO."""
    shape = gateways_only(name)
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    traffic = rows(result, "istio-gateway-traffic")
    assert {(r["namespace"], r["name"]) for r in traffic} == shape.istio_gateways
    assert {r["status"] for r in traffic} == {"UNKNOWN"}
    present = {r["status"] for r in rows(result, "asm-gateways-present")}
    assert present == ({"FAIL"} if NORTH_SOUTH.get(name, True) else {"NOT_APPLICABLE"})
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


@pytest.mark.parametrize("name", sorted(n for n in GATEWAY_SHAPES if NORTH_SOUTH.get(n, True)))
def test_ingress_and_egress_gateways_need_the_xds_agent(tmp_path: Path, name: str) -> None:
    """Ingress/egress gateways originate mTLS to moved workloads: made before SetupIstioForMigrate, they
    lack PROXY_CONFIG_XDS_AGENT and are listed at the migrating gate (severity major)."""
    shape = gateways_only(name)
    result = audit(tmp_path, shape, "migrating", "SetupIstioForMigrate")
    gateway_rows = [r for r in rows(result, "pods-xds-agent") if (r["namespace"], r["name"]) in shape.istio_gateways]
    assert {(r["namespace"], r["name"]) for r in gateway_rows} == shape.istio_gateways
    assert {(r["status"], r["severity"]) for r in gateway_rows} == {("FAIL", "major")}


def test_istioctl_gateways_are_fixed_by_reinstall_not_by_restart(tmp_path: Path) -> None:
    """IstioOperator gateways are not injected: their env is rendered at `istioctl install`, so a restart never
    adds PROXY_CONFIG_XDS_AGENT (issue 15, item 4). The remediation must say how to set it."""
    shape = s.moved_to_asm(s.iop_gateways())
    result = audit(tmp_path, shape, "migrating", "SetupIstioForMigrate")
    by_name = {r["name"]: r for r in rows(result, "pods-xds-agent") if r["status"] == "FAIL"}
    for gateway in ("istio-ingressgateway", "istio-egressgateway"):
        remediation = by_name[gateway]["remediation"]
        assert "rollout restart" not in remediation
        assert "PROXY_CONFIG_XDS_AGENT" in remediation


def test_istioctl_gateways_installed_with_the_setting_pass(tmp_path: Path) -> None:
    shape = s.moved_to_asm(s.iop_gateways(xds_agent=True))
    result = audit(tmp_path, shape, "migrating", "SetupIstioForMigrate")
    failed = workloads(result, "pods-xds-agent", "FAIL")
    assert failed == {(s.APPS_NS, "web")}


# ---------------------------------------------------------------- ambient
def test_ambient_is_reported_at_assessment(tmp_path: Path) -> None:
    result = audit(tmp_path, s.shape_by_name("ambient-1.24.6"), "assessment", None)
    [row] = rows(result, "ambient-mode")
    assert (row["status"], row["severity"]) == ("FAIL", "major")


# ---------------------------------------------------------------- ASM's marks, one at a time
ONE_MARK = [frozenset({"env"}), frozenset({"image"}), frozenset({"ca"}), frozenset({"env", "image", "ca"})]


def _istiod_only() -> s.Shape:
    """istioctl minimal 1.22.8 after its applications left: istiod and nothing else of Istio's."""
    shape = s.istioctl_profile("minimal", "1.22.8")
    shape.objects = [o for o in shape.objects if not _belongs_to(o, shape.istio_sidecar_workloads)]
    shape.istio_sidecar_workloads = set()
    return shape


def _asm_only_cluster(marks: frozenset[str], image: str = s.ASM_IMAGE_VPC) -> s.Shape:
    """Istio's control plane (all moved) plus one ASM-proxied workload carrying only `marks`."""
    shape = _istiod_only()
    shape.extend([s.namespace("moved"), s.asm_istiod_service()])
    shape.extend(s.asm_workload("cart", "moved", marks=marks, image=image))
    return shape


@pytest.mark.parametrize("marks", ONE_MARK, ids=lambda m: "+".join(sorted(m)))
def test_each_asm_mark_alone_is_an_asm_proxy(tmp_path: Path, marks: frozenset[str]) -> None:
    result = audit(tmp_path, _asm_only_cluster(marks), "uninstall", "Migrating")
    assert [r["status"] for r in rows(result, "istio-sidecars-remaining")] == ["PASS"]
    assert (result.verdict, result.exit_code) == ("GO", 0)


@pytest.mark.parametrize("image", [
    s.ASM_IMAGE_PUBLIC,                                                          # public endpoint, ASM tag
    "registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/proxyv2@sha256:" + "5c" * 32,  # ASM's repository, by digest
    "registry.cn-hangzhou.aliyuncs.com/mirror/proxyv2:" + s.ASM_VERSION_TAG,     # ASM's tag scheme, mirrored
], ids=["public-tag", "repository-digest", "mirrored-asm-tag"])
def test_asm_image_alone_is_an_asm_proxy(tmp_path: Path, image: str) -> None:
    result = audit(tmp_path, _asm_only_cluster(frozenset({"image"}), image), "uninstall", "Migrating")
    assert [r["status"] for r in rows(result, "istio-sidecars-remaining")] == ["PASS"]


def test_a_proxy_without_any_asm_mark_is_istios(tmp_path: Path) -> None:
    result = audit(tmp_path, _asm_only_cluster(frozenset()), "uninstall", "Migrating")
    assert workloads(result, "istio-sidecars-remaining", "FAIL") == {("moved", "cart")}
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_baseline_everything_moved_is_go(tmp_path: Path) -> None:
    """The control for the tests above: with nothing of Istio's left but its control plane, uninstall is GO."""
    shape = gateways_only("istioctl-minimal-1.18.7")
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert (result.verdict, result.exit_code) == ("GO", 0)


# ---------------------------------------------------------------- shapes mixed at random
# Injectors as the corpus meets them: default and version-named revisions, hubs, mirrors, native, cni.
INJECTORS = [
    s.Injector("1.10.6"), s.Injector("1.18.7", "1-18-7", hub="gcr.io/istio-release"), s.Injector("1.22.8"),
    s.Injector("1.24.2", "1-24-2"), s.Injector("1.24.6", "canary", cni=True), s.Injector("1.30.3", native=True),
    s.Injector("1.22.3", image="registry.cn-hangzhou.aliyuncs.com/acme/proxyv2:1.22.3"),
    s.Injector("1.22.3", image="acme-registry.cn-hangzhou.cr.aliyuncs.com/mesh/proxyv2:1.22.3"),
]
GATEWAY_KINDS = ["iop-ingress", "iop-egress", "chart-istio-ingress", "chart-edge-gw", "gateway-api", "eastwest"]


def _gateway(kind: str, inj: s.Injector) -> tuple[list[dict[str, Any]], tuple[str, str]]:
    if kind == "iop-ingress":
        return s.iop_gateway(inj, "istio-ingressgateway", "IngressGateways", istio_label="ingressgateway"), (
            s.ISTIO_NS, "istio-ingressgateway")
    if kind == "iop-egress":
        return s.iop_gateway(inj, "istio-egressgateway", "EgressGateways", istio_label="egressgateway"), (
            s.ISTIO_NS, "istio-egressgateway")
    if kind == "chart-istio-ingress":
        return s.helm_gateway(inj, "istio-ingress", "istio-ingress"), ("istio-ingress", "istio-ingress")
    if kind == "chart-edge-gw":
        return s.helm_gateway(inj, "edge-gw", "edge"), ("edge", "edge-gw")
    if kind == "gateway-api":
        return s.gateway_api(inj, "public", "web"), ("web", "public-istio")
    return s.iop_gateway(inj, "istio-eastwestgateway", "IngressGateways", istio_label="eastwestgateway",
                         extra_labels={"topology.istio.io/network": "network-1"},
                         ports=[("status-port", 15021), ("tls", 15443)]), (s.ISTIO_NS, "istio-eastwestgateway")


def mix(sidecars: list[int], gateways: list[tuple[str, int]], asm_marks: list[frozenset[str]]) -> s.Shape:
    """Istio sidecar workloads (an injector each), Istio gateways, and ASM-proxied workloads in one cluster;
    every injector used has its istiod (Istio never injects without one)."""
    shape = s.Shape("mix", "random")
    used = {i for i in sidecars} | {i for _, i in gateways}
    for i in sorted(used):
        shape.extend([s.namespace(s.ISTIO_NS), *s.istiod(INJECTORS[i], method="helm")])
    for n, i in enumerate(sidecars):
        ns = f"team-{n}"
        shape.extend([s.namespace(ns), *s.injected_workload(INJECTORS[i], f"svc-{n}", ns)])
        shape.istio_sidecar_workloads.add((ns, f"svc-{n}"))
    for kind, i in gateways:
        objs, key = _gateway(kind, INJECTORS[i])
        shape.extend(objs)
        shape.istio_gateways.add(key)
    if asm_marks:
        shape.extend([s.namespace("moved"), s.asm_istiod_service()])
    for n, marks in enumerate(asm_marks):
        shape.extend(s.asm_workload(f"moved-{n}", "moved", marks=marks))
        shape.asm_workloads.add(("moved", f"moved-{n}"))
    return shape


def _released_then(gateway: tuple[str, int]) -> bool:
    """The gateway chart (1.12) and Gateway API deployments came after Istio 1.10."""
    kind, i = gateway
    return kind.startswith("iop") or kind == "eastwest" or INJECTORS[i].version != "1.10.6"


_injector = st.integers(min_value=0, max_value=len(INJECTORS) - 1)


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sidecars=st.lists(_injector, max_size=3),
       gateways=st.lists(st.tuples(st.sampled_from(GATEWAY_KINDS), _injector).filter(_released_then), max_size=3,
                         unique_by=lambda g: g[0]),
       asm_marks=st.lists(st.sets(st.sampled_from(["env", "image", "ca"]), min_size=1).map(frozenset), max_size=3),
       state=st.sampled_from(["Migrating", "Finished"]))
def test_go_only_when_every_istio_sidecar_and_gateway_is_accounted_for(
        sidecars: list[int], gateways: list[tuple[str, int]], asm_marks: list[frozenset[str]], state: str) -> None:
    shape = mix(sidecars, gateways, asm_marks)
    gate = GATE_AT_STATE[state]
    with tempfile.TemporaryDirectory() as tmp:
        result = audit(Path(tmp), shape, gate, state)
    assert workloads(result, "istio-sidecars-remaining", "FAIL") == shape.istio_sidecar_workloads
    if shape.istio_sidecar_workloads:
        assert (result.verdict, result.exit_code) == ("NO-GO", 1)
    if gate == "uninstall":
        judged = {(r["namespace"], r["name"]) for r in rows(result, "istio-gateway-traffic")}
        assert judged == shape.istio_gateways or (not shape.istio_gateways and judged == {("", "")})
        if shape.istio_gateways:
            assert result.verdict != "GO"
    if result.verdict == "GO":
        assert not shape.istio_sidecar_workloads
        assert gate == "finished" or not shape.istio_gateways


# ---------------------------------------------------------------- marks that do not prove ASM
def test_istio_revision_service_without_its_istiod_is_still_istios(tmp_path: Path) -> None:
    """`istiod-1-24-2` keeps Istio's install labels after its Deployment went (scaled away, half-uninstalled):
    the sidecars pointing at it are Istio's, orphaned, not ASM's."""
    shape = mixed("helm-1-24-2-1.24.2")
    shape.objects = [o for o in shape.objects if not (
        o["kind"] in ("Deployment", "ReplicaSet", "Pod") and o["metadata"]["name"].startswith("istiod-1-24-2"))]
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert workloads(result, "istio-sidecars-remaining", "FAIL") == shape.istio_sidecar_workloads
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


ISTIO_CA = {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012"}  # the local Istio istiod's


def _conflicting(kind: str) -> list[dict[str, Any]]:
    """A workload whose proxy carries an ASM mark and an Istio mark at once."""
    if kind == "asm-env+istio-image":  # Istio's injector, someone added ASM_ID
        objs = s.injected_workload(s.Injector("1.22.8"), "cart", "moved")
        extra = {"name": "ASM_ID", "value": "c3adfe9d5d949fb7fc79433dec16a6ecc"}
    elif kind == "asm-env+istio-ca":    # image says nothing (digest), certificates from the local Istio istiod
        objs, extra = s.asm_workload("cart", "moved", marks=frozenset({"env"})), ISTIO_CA
    else:                               # ASM's image, certificates from the local Istio istiod
        objs, extra = s.asm_workload("cart", "moved", marks=frozenset({"image"})), ISTIO_CA
    for pod in objs[2:]:
        pod["spec"]["containers"][-1]["env"].append(dict(extra))
    return objs


@pytest.mark.parametrize("kind", ["asm-env+istio-image", "asm-env+istio-ca", "asm-image+istio-ca"])
def test_conflicting_marks_are_unknown_never_asm(tmp_path: Path, kind: str) -> None:
    """The marks conflict (issue 15), never a moved one; and each proxy's CA_ADDR names the local Istio istiod, which
    the uninstall removes: FAIL AA1240, not an UNKNOWN --allow-unknown could accept (red21a)."""
    shape = _istiod_only()
    shape.extend([s.namespace("moved"), s.asm_istiod_service(), *_conflicting(kind)])
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert [(r["namespace"], r["name"], r["status"], r["code"])
            for r in rows(result, "istio-sidecars-remaining")] == [("moved", "cart", "FAIL", "AA1240")]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_ambient_components_are_not_kube_injected_sidecars(tmp_path: Path) -> None:
    """ztunnel's container is named istio-proxy (charts/ztunnel daemonset.yaml @1.24.6) and a waypoint's
    Deployment is rendered by istiod with its proxy: neither is a template someone ran `istioctl kube-inject`
    on, so manual-injection must not tell the user to re-render them."""
    result = audit(tmp_path, s.shape_by_name("ambient-1.24.6"), "assessment", None)
    flagged = {(r["namespace"], r["name"]) for r in rows(result, "manual-injection") if r["status"] != "PASS"}
    assert not flagged & {(s.ISTIO_NS, "ztunnel"), ("ambient-apps", "waypoint")}


# ---------------------------------------------------------------- what istiod's chart leaves when deleted by hand
@pytest.mark.parametrize(("version", "revision"), [("1.30.3", ""), ("1.26.3", "1-26-3")])
def test_the_charts_values_configmap_left_behind_is_residue(tmp_path: Path, version: str, revision: str) -> None:
    """From 1.26 istiod's chart also renders ConfigMap values[-<rev>] (configmap-values.yaml @1.26.8, 1.30.3), with
    Istio's install labels. Every application moved (its namespace gone too), istiod's Deployment, Service, mesh
    ConfigMap and webhook deleted by name: the values ConfigMap is still Istio's leftover, not "no Istio leftovers"."""
    shape = s.moved_to_asm(s.helm_revision(version, revision))
    suffix = "-" + revision if revision else ""
    istiod = "istiod" + suffix
    deleted = {("Namespace", s.APPS_NS), ("Deployment", istiod), ("Service", istiod), ("ConfigMap", "istio" + suffix),
               ("MutatingWebhookConfiguration", "istio-sidecar-injector" + suffix)}
    shape.objects = [o for o in shape.objects if (o["kind"], o["metadata"]["name"]) not in deleted
                     and not (o["kind"] in ("ReplicaSet", "Pod") and o["metadata"]["name"].startswith(istiod + "-"))
                     and not _belongs_to(o, shape.istio_sidecar_workloads)]
    result = audit(tmp_path, shape, "finished", "Finished")
    assert [r["status"] for r in rows(result, "istio-control-plane-removed")] == ["PASS"]
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"]) == ("WARN", "AA2328")  # labelled operator.istio.io/component: the purge's
    assert row["evidence"]["objects"] == [f"ConfigMap istio-system/values{suffix}"]


# ---------------------------------------------------------------- primary-remote and revision tags, 1.28 on
def _moved_but(shape: s.Shape, left: set[tuple[str, str]]) -> s.Shape:
    """Every application moved to ASM (its namespace gone too); of Istio's own objects only `left` (kind, name)."""
    shape = s.moved_to_asm(shape)
    istio = {s.object_key(o) for o in s.moved_to_asm(s.Shape("asm", "")).objects}
    shape.objects = [o for o in shape.objects if s.object_key(o) in istio or (o["kind"], o["metadata"]["name"]) in left]
    return shape


def test_a_remote_cluster_whose_pods_are_pinned_by_digest_still_runs_istio_sidecars(tmp_path: Path) -> None:
    """The remote profile's istiod Service (remote-istiod-service.yaml @1.28.10) has nothing behind it in the cluster,
    as ASM's has not: only its chart labels tell it is Istio's. With images pinned by digest the CA_ADDR naming it is
    the only mark, so the primary's sidecars must stay Istio's, never ASM's."""
    shape = s.moved_to_asm(s.remote_shape(image="registry.example.com/mesh/proxyv2@sha256:" + "cd" * 32))
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert workloads(result, "istio-sidecars-remaining", "FAIL") == {(s.APPS_NS, "ratings"), (s.APPS_NS, "details")}
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_remote_cluster_keeps_istios_webhook_service_and_values_until_uninstalled(tmp_path: Path) -> None:
    """All applications moved; the remote profile's webhook, Service and values ConfigMap are still there."""
    left = {("Namespace", s.ISTIO_NS), ("Service", "istiod"), ("ConfigMap", "values"),
            ("MutatingWebhookConfiguration", "istio-sidecar-injector")}
    result = audit(tmp_path, _moved_but(s.remote_shape(), left), "finished", "Finished")
    assert [(r["status"], r["kind"], r["name"]) for r in rows(result, "istio-control-plane-removed")] == [
        ("FAIL", "MutatingWebhookConfiguration", "istio-sidecar-injector")]
    residue = rows(result, "istio-residue")
    assert {(r["status"], r["code"], r["name"]) for r in residue} == {("WARN", "AA2327", "istiod"),
                                                                      ("WARN", "AA2328", "")}
    assert [r["evidence"]["objects"] for r in residue if r["code"] == "AA2328"] == [["ConfigMap istio-system/values"]]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_revision_tag_service_is_istios_with_or_without_its_istiod(tmp_path: Path) -> None:
    """From 1.28 a revision tag is also a Service istiod-revision-tag-<tag> (revision-tags-svc.yaml @1.28.10) selecting
    the revision's istiod: Istio's while istiod runs, and still Istio's leftover (not ASM's managed istiod) after."""
    result = audit(tmp_path, s.revision_tags("1.28.10", "1-28-10"), "assessment", None)
    [row] = rows(result, "istio-revisions")
    assert (row["status"], row["evidence"]["tags"]) == ("PASS", {"prod-stable": "1-28-10"})
    owners = result.inventory.data_planes[0].istiod_owners()
    assert owners["istio-system/istiod-revision-tag-prod-stable"][0] == "istio"
    left = {("Namespace", s.ISTIO_NS), ("Service", "istiod-revision-tag-prod-stable")}
    result = audit(tmp_path / "after", _moved_but(s.revision_tags("1.28.10", "1-28-10"), left), "finished", "Finished")
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"]) == ("WARN", "AA2328")
    assert row["evidence"]["objects"] == ["Service istio-system/istiod-revision-tag-prod-stable"]


# ---------------------------------------------------------------- Istio's node agents after the uninstall
# `istioctl uninstall --purge` deletes what carries operator.istio.io/component (operator/pkg/uninstall/prune.go
# @1.30.3); a Helm install is removed per release, and the istio-cni and ztunnel releases outlive
# `helm uninstall istiod` and `helm uninstall istio-base`. Their DaemonSets keep acting on every node without istiod.
@pytest.mark.parametrize("version", ["1.22.8", "1.26.8", "1.30.3"])
def test_istio_cni_left_after_istiod_was_uninstalled_blocks_finished(tmp_path: Path, version: str) -> None:
    """istio-cni-node (charts/istio-cni daemonset.yaml @version) stays chained in each node's CNI config and programs
    the redirection of every new injected pod without istio-init (cni/pkg/plugin/plugin.go @1.26.8): not a GO."""
    left = {("Namespace", s.ISTIO_NS), ("DaemonSet", "istio-cni-node"), ("ConfigMap", "istio-cni-config")}
    result = audit(tmp_path, _moved_but(s.cni_shape(version), left), "finished", "Finished")
    assert [r["status"] for r in rows(result, "istio-control-plane-removed")] == ["PASS"]
    assert [(r["status"], r["code"], r["kind"], r["namespace"], r["name"]) for r in rows(result, "istio-residue")] == [
        ("FAIL", "AA2315", "DaemonSet", s.ISTIO_NS, "istio-cni-node")]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


@pytest.mark.parametrize("version", ["1.22.8", "1.26.8", "1.30.3"])
def test_ztunnel_left_after_istiod_was_uninstalled_blocks_finished(tmp_path: Path, version: str) -> None:
    """ztunnel (charts/ztunnel daemonset.yaml @version: no operator.istio.io/component, so even `istioctl uninstall
    --purge` leaves a Helm-installed one) still carries the ambient pods' traffic, with no istiod to serve it."""
    left = {("Namespace", s.ISTIO_NS), ("DaemonSet", "ztunnel")}
    result = audit(tmp_path, _moved_but(s.ambient_shape(version), left), "finished", "Finished")
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
        "FAIL", "AA2316", "DaemonSet", s.ISTIO_NS, "ztunnel")
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_istio_cni_owned_by_an_operator_resource_is_still_istios(tmp_path: Path) -> None:
    """An owner reference (an operator's custom resource, e.g. sail-operator's IstioCNI) does not make the DaemonSet
    ASM's: only ASM's marks do. Unproven stays Istio's."""
    shape = _moved_but(s.cni_shape("1.26.8"), {("Namespace", s.ISTIO_NS), ("DaemonSet", "istio-cni-node")})
    [ds] = [o for o in shape.objects if o["kind"] == "DaemonSet"]
    ds["metadata"]["ownerReferences"] = [{"apiVersion": "sailoperator.io/v1", "kind": "IstioCNI", "name": "default",
                                          "uid": "5f0c1f7e-0000-4000-8000-000000000001", "controller": True}]
    result = audit(tmp_path, shape, "finished", "Finished")
    assert [(r["status"], r["code"]) for r in rows(result, "istio-residue")] == [("FAIL", "AA2315")]


def test_asm_marked_cni_daemonset_is_not_a_leftover(tmp_path: Path) -> None:
    """ASM's own CNI plug-in (an ASM-marked DaemonSet, as cni.py's asm_cni_state knows it) is not Istio's: GO."""
    shape = _moved_but(s.cni_shape("1.26.8"), {("Namespace", s.ISTIO_NS), ("DaemonSet", "istio-cni-node")})
    [ds] = [o for o in shape.objects if o["kind"] == "DaemonSet"]
    ds["metadata"]["namespace"] = "kube-system"
    ds["metadata"]["labels"] = {"k8s-app": "istio-cni-node", "provider": "asm"}
    ds["metadata"]["annotations"] = {"asm.alibabacloud.com/managed-by-asm": "true"}
    result = audit(tmp_path, shape, "finished", "Finished")
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert "DaemonSet kube-system/istio-cni-node: ASM label/annotation" in row["evidence"]["kept_as_asm_or_allowed"]
    assert (result.verdict, result.exit_code) == ("GO", 0)


def _as_daemonset(shape: s.Shape, name: str) -> s.Shape:
    """The gateway chart with `kind: DaemonSet` (charts/gateway templates/deployment.yaml @1.26.8: `kind: {{
    .Values.kind | default "Deployment" }}`): the same object as a DaemonSet (no replicas), its pods owned by it."""
    objects = []
    for obj in shape.objects:
        meta = obj["metadata"]
        if obj["kind"] == "ReplicaSet" and meta["name"].startswith(name + "-"):
            continue
        if obj["kind"] == "Deployment" and meta["name"] == name:
            uid = meta["uid"]
            obj = {**obj, "kind": "DaemonSet", "spec": {k: v for k, v in obj["spec"].items() if k != "replicas"},
                   "status": {"desiredNumberScheduled": 2, "numberReady": 2}}
        objects.append(obj)
    for obj in objects:
        if obj["kind"] == "Pod" and obj["metadata"]["name"].startswith(name + "-"):
            obj["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name,
                                                   "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    shape.objects = objects
    return shape


def test_a_daemonset_gateway_left_is_named_as_a_daemonset(tmp_path: Path) -> None:
    """A gateway chart release with `kind: DaemonSet` outlives `helm uninstall istiod`: NO-GO, and the leftover names
    the DaemonSet (a `delete deployment/...` meets NotFound and leaves it running). It goes with its Helm release (the
    annotations Helm writes on every object of it): `helm uninstall`, which also removes the Service, ServiceAccount
    and Role a `kubectl delete` of the DaemonSet left (main said `kubectl delete daemonset/...` and `service/...`)."""
    shape = _as_daemonset(s.gateway_chart("istio-ingress", "istio-ingress", "1.26.8"), "istio-ingress")
    gateway = [o for o in shape.objects if o["metadata"].get("namespace") == "istio-ingress" and o["kind"] != "Gateway"]
    shape = _moved_but(shape, {("Namespace", s.ISTIO_NS)})
    shape.objects += gateway
    result = audit(tmp_path, shape, "finished", "Finished")
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"], row["kind"], row["namespace"], row["name"]) == (
        "FAIL", "AA2310", "DaemonSet", "istio-ingress", "istio-ingress")
    [command] = row["remediation"].splitlines()
    assert command.startswith(
        'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istio-ingress -n istio-ingress  #')
    assert "kubectl" not in command
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_renamed_ztunnel_left_blocks_finished(tmp_path: Path) -> None:
    """From 1.26 the ztunnel chart's `resourceName` renames the DaemonSet (values.yaml @1.26.8); its own labels are then
    the chart's (templates/daemonset.yaml: app.kubernetes.io/name: ztunnel and istio.labels, `app` only on its pods)."""
    shape = _moved_but(s.ambient_shape("1.26.8"), {("Namespace", s.ISTIO_NS), ("DaemonSet", "ztunnel")})
    [ds] = [o for o in shape.objects if o["kind"] == "DaemonSet"]
    ds["metadata"]["name"] = "ztunnel-r2"
    ds["metadata"]["labels"] = {"app.kubernetes.io/name": "ztunnel", "app.kubernetes.io/managed-by": "Helm",
                                "app.kubernetes.io/instance": "ztunnel", "app.kubernetes.io/part-of": "istio",
                                "app.kubernetes.io/version": "1.26.8", "helm.sh/chart": "ztunnel-1.26.8"}
    result = audit(tmp_path, shape, "finished", "Finished")
    [row] = rows(result, "istio-residue")
    assert (row["status"], row["code"], row["kind"], row["name"]) == ("FAIL", "AA2316", "DaemonSet", "ztunnel-r2")
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


# ---------------------------------------------------------------- istiod still there, or still running, at Finished
def _istiod_revision_left(version: str, revision: str, keep: str) -> s.Shape:
    """Every application moved to ASM; of istiod-<rev> (deployment.yaml @version) `keep` is left: "scaled" its
    Deployment at replicas 0 (no ReplicaSet pods), "orphaned" its ReplicaSet and pod after `kubectl delete deployment
    --cascade=orphan` (the webhook, Service and ConfigMaps deleted by name)."""
    shape = s.moved_to_asm(s.helm_revision(version, revision))
    istiod = f"istiod-{revision}"
    gone = {("Deployment", istiod)} if keep == "orphaned" else {("ReplicaSet", ""), ("Pod", "")}
    kept = []
    for o in shape.objects:
        kind, name = o["kind"], o["metadata"]["name"]
        if kind in ("Service", "ConfigMap", "MutatingWebhookConfiguration") and (
                name in (istiod, f"istio-{revision}", f"values-{revision}", f"istio-sidecar-injector-{revision}")):
            continue
        if (kind, name) in gone or ((kind, "") in gone and name.startswith(istiod + "-")):
            continue
        if kind == "Deployment" and name == istiod:
            o["spec"]["replicas"] = 0
        kept.append(o)
    shape.objects = kept
    return shape


@pytest.mark.parametrize("version", ["1.22.8", "1.26.8", "1.30.3"])
def test_a_revisioned_istiod_scaled_to_zero_is_still_installed(tmp_path: Path, version: str) -> None:
    """istiod-<rev> (deployment.yaml @version: app=istiod, istio.io/rev) at replicas 0 is still Istio's control plane:
    one scale-up (or its HPA) brings it back."""
    revision = version.replace(".", "-")
    result = audit(tmp_path, _istiod_revision_left(version, revision, "scaled"), "finished", "Finished")
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows(result, "istio-control-plane-removed")] == [
        ("FAIL", "AA2210", "Deployment", f"istiod-{revision}")]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


@pytest.mark.parametrize("version", ["1.22.8", "1.30.3"])
def test_a_revisioned_istiods_pods_orphaned_by_their_deployments_delete_still_run(tmp_path: Path,
                                                                                   version: str) -> None:
    """`kubectl delete deployment istiod-<rev> --cascade=orphan` leaves its ReplicaSet and pods serving xDS and
    certificates: not "Istio's control plane is gone"."""
    revision = version.replace(".", "-")
    result = audit(tmp_path, _istiod_revision_left(version, revision, "orphaned"), "finished", "Finished")
    assert [(r["status"], r["code"], r["kind"]) for r in rows(result, "istio-control-plane-removed")] == [
        ("FAIL", "AA2211", "Pod")]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_an_istiod_installed_by_the_sail_operator_is_still_istios(tmp_path: Path) -> None:
    """sail-operator renders istiod's chart (deployment.yaml @1.30.3: app=istiod) and its Helm post-renderer adds an
    ownerReference to its IstioRevision on every object (istio-ecosystem/sail-operator pkg/helm/postrenderer.go). An
    owner reference never makes an istiod Deployment ASM's (ASM's control plane runs no istiod in the cluster): that
    istiod still serves, so not "Istio's control plane is gone"."""
    shape = s.moved_to_asm(s.helm_revision("1.30.3", ""))
    owner = {"apiVersion": "sailoperator.io/v1", "kind": "IstioRevision", "name": "default",
             "uid": "5f0c1f7e-0000-4000-8000-000000000002", "controller": True, "blockOwnerDeletion": True}
    for obj in shape.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "istiod":
            obj["metadata"]["ownerReferences"] = [owner]
    result = audit(tmp_path, shape, "finished", "Finished")
    assert ("FAIL", "AA2210", "Deployment", "istiod") in {
        (r["status"], r["code"], r["kind"], r["name"]) for r in rows(result, "istio-control-plane-removed")}
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_progress_counts_ambient_proxies_apart_not_as_workloads_on_istio(tmp_path: Path) -> None:
    """The report's migration progress: a waypoint (istiod's Deployment for a Gateway of class istio-waypoint,
    testdata/deployment/waypoint.yaml @1.24.6) is ambient's infrastructure, not a workload whose sidecar is to move:
    it was charted as a workload "on Istio" (its namespace listed with work left). Counted apart, as gateways are."""
    from auditor.render import context

    result = audit(tmp_path, s.ambient_shape("1.24.6"), "assessment", None)
    progress = context.progress_section(result, context.PDF_LIMITS)
    ambient_ns = next(r for r in progress["rows"] if r["label"] == "ambient-apps")
    assert (ambient_ns["istio"], ambient_ns["asm"], ambient_ns["none"]) == (0, 0, 1), "reviews: no sidecar; no waypoint"
    [gateways] = progress["gateways"]
    assert gateways["ambient"] == 1
