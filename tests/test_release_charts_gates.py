"""Installs as Istio's release charts and the Sail operator write them (tests/install_shapes.py), left mid-migration
the way the procedure leaves them at a gate, where the old code said GO.

Sources (path@tag):
- istio/istio manifests/charts/istio-control/istio-discovery/templates/{deployment,service,mutatingwebhook,
  revision-tags-mwc}.yaml @1.28.0: the Deployment leaves `replicas` out only under autoscaleEnabled; Service
  istiod[-<rev>] selects app=istiod plus istio.io/rev=<rev> (istio=pilot for the default revision); the injector and tag
  webhooks call that Service with failurePolicy Fail.
- istio-ecosystem/sail-operator @1.30.3: controllers/istiorevision/istiorevision_controller.go (Install renders the
  istiod chart from rev.Spec.Values; RegisterOwnedWatches(IstiodWatches)), pkg/watches/istiod.go (ConfigMaps watched
  with no predicate: any change re-applies the chart), pkg/helm/postrenderer.go (every rendered object owned by its
  IstioRevision), api/v1/values_types.gen.go (Values.MeshConfig.DefaultConfig.ProxyMetadata),
  docs/general/resource-customization.adoc (sailoperator.io/ignore does not stop a re-apply caused by another object).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from auditor import kinds as K
from auditor.api import Target, run_audit
from auditor.config import Config
from auditor.engine import AuditResult
from auditor.findings import records
from tests import factory as f
from tests import install_shapes as s
from tests.test_install_shapes import NOW, _belongs_to

CLUSTER = "cluster-a"
# ASM's facts typed in as the product's config allows (asm.version): the assessment can then be GO.
ASM_KNOWN = Config.model_validate({"asm": {"version": s.ASM_VERSION_TAG, "mesh_config": {
    "trustDomain": "cluster.local", "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}}})


def audit(root: Path, shape: s.Shape, gate: str, state: str | None,
          unreadable: dict[K.Kind, str] | None = None) -> AuditResult:
    clusters = {CLUSTER: shape.objects, "asm": s.asm_control_plane(state, shape.objects)}
    entry: dict[str, Any] = {"name": CLUSTER, "role": "data-plane", "dir": CLUSTER, "complete": True,
                             "cluster_id": s.ACK_CLUSTER_ID}
    if unreadable:
        entry["kinds"] = {kind.key: reason for kind, reason in unreadable.items()}
    manifest = {"clusters": [entry, {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]}
    f.write_snapshot(root, clusters, versions={name: f.version_info() for name in clusters}, manifest=manifest)
    return run_audit(Target(snapshot=str(root)), gate, ASM_KNOWN, now=NOW)


def rows(result: AuditResult, check_id: str) -> list[dict[str, Any]]:
    return [r for r in records(result.findings) if r["check_id"] == check_id]


def failed(result: AuditResult, check_id: str) -> set[tuple[str, str, str]]:
    return {(r["code"], r["kind"], r["name"]) for r in rows(result, check_id) if r["status"] == "FAIL"}


# ---------------------------------------------------------------- an istiod scaled to 0, its webhooks left
def scaled_to_zero(shape: s.Shape, istiod: str) -> s.Shape:
    """`kubectl -n istio-system scale deployment/<istiod> --replicas=0`: the Deployment (and its Service, mesh ConfigMap
    and webhooks) stay, its ReplicaSet's pods go."""
    shape.objects = [o for o in shape.objects
                     if not (o["kind"] in ("ReplicaSet", "Pod") and o["metadata"]["name"].startswith(istiod + "-"))]
    for obj in shape.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == istiod:
            obj["spec"]["replicas"] = 0
            obj["status"] = {"observedGeneration": 2}
    return shape


@pytest.mark.parametrize(("version", "revision"), [("1.28.10", "1-28-10"), ("1.24.6", "")])
def test_an_injector_calling_an_istiod_scaled_to_zero_fails_closed_at_assessment(
        tmp_path: Path, version: str, revision: str) -> None:
    """istiod[-<rev>] at replicas 0 with its injector webhook left: the Service has no endpoint, the webhook fails
    closed, and every pod (re)created in the namespaces it selects is rejected, the migration's restarts among them.
    main: the Service exists, so AA0410 (a missing Service) did not apply: GO."""
    istiod = f"istiod-{revision}" if revision else "istiod"
    result = audit(tmp_path, scaled_to_zero(s.helm_revision(version, revision), istiod), "assessment", None)
    injector = f"istio-sidecar-injector-{revision}" if revision else "istio-sidecar-injector"
    assert failed(result, "istio-revisions") == {("AA0411", "MutatingWebhookConfiguration", injector)}
    [row] = [r for r in rows(result, "istio-revisions") if r["code"] == "AA0411"]
    assert row["evidence"]["namespaces"] == [s.APPS_NS]
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_revision_tag_pointing_at_an_istiod_scaled_to_zero_fails_closed(tmp_path: Path) -> None:
    """The namespace selects the tag (istio.io/rev=prod-stable); the tag's webhook (revision-tags-mwc.yaml @1.28.0) and
    the revision's own both call istiod-1-28-10, scaled to 0."""
    shape = scaled_to_zero(s.revision_tags("1.28.10", "1-28-10"), "istiod-1-28-10")
    result = audit(tmp_path, shape, "assessment", None)
    assert ("AA0411", "MutatingWebhookConfiguration", "istio-revision-tag-prod-stable") in failed(
        result, "istio-revisions")
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_a_canary_whose_old_revision_is_scaled_to_zero_flags_only_what_it_still_selects(tmp_path: Path) -> None:
    """Canary upgrade (istio-discovery @1.22.8 default + @1.24.2 1-24-2): the old default istiod scaled to 0, its
    webhook still selecting istio-injection=enabled namespaces (bookinfo); the new revision runs."""
    shape = scaled_to_zero(s.canary(), "istiod")
    result = audit(tmp_path, shape, "assessment", None)
    assert failed(result, "istio-revisions") == {("AA0411", "MutatingWebhookConfiguration", "istio-sidecar-injector")}
    # Moved off the old revision first (namespace relabelled to the running one): nothing fails closed any more.
    for obj in shape.objects:
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] == s.APPS_NS:
            obj["metadata"]["labels"] = {"istio.io/rev": "1-24-2"}
    result = audit(tmp_path / "relabelled", shape, "assessment", None)
    assert not failed(result, "istio-revisions")


def test_a_running_istiod_and_a_remote_clusters_service_are_not_idle(tmp_path: Path) -> None:
    """The controls: a running revision, and a remote cluster whose istiod Service (ExternalName, no selector:
    remote-istiod-service.yaml @1.28.10) points at the primary's istiod."""
    result = audit(tmp_path, s.helm_revision("1.28.10", "1-28-10"), "assessment", None)
    assert (result.verdict, result.exit_code) == ("GO", 0)
    result = audit(tmp_path / "remote", s.remote_shape(), "assessment", None)
    assert not {r["code"] for r in rows(result, "istio-revisions")} & {"AA0410", "AA0411"}


# ---------------------------------------------------------------- the Sail operator re-renders the mesh config
def sail_with_asm_edit(*, revision_based: bool = False, in_values: bool = False) -> s.Shape:
    """A Sail install (sail_shape) after SetupIstioForMigrate wrote the setting into the mesh ConfigMap, istiod
    restarted and every Istio pod re-injected with it; `in_values`: the Istio resource (and the IstioRevision the
    Istio controller writes from it) carries it in spec.values.meshConfig too."""
    shape = s.sail_shape(revision_based=revision_based)
    revision = "default-v1-30-3" if revision_based else ""
    inj = s.Injector("1.30.3", revision, hub="registry.istio.io/release", xds_agent=True)
    mesh_cm = "istio-" + revision if revision else "istio"
    for obj in shape.objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == mesh_cm:
            obj["data"]["mesh"] = s.mesh_config_text(inj)
        if in_values and obj["kind"] in ("Istio", "IstioRevision"):
            obj["spec"].setdefault("values", {})["meshConfig"] = copy.deepcopy(
                {"defaultConfig": {"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "true"}}})
    shape.objects = [o for o in shape.objects if not _belongs_to(o, shape.istio_sidecar_workloads)]
    for name in sorted(name for _, name in shape.istio_sidecar_workloads):
        shape.extend(s.injected_workload(inj, name, s.APPS_NS))
    return s.moved_to_asm(shape)


@pytest.mark.parametrize("revision_based", [False, True], ids=["InPlace", "RevisionBased"])
def test_the_setting_only_in_a_sail_rendered_configmap_is_reverted(tmp_path: Path, revision_based: bool) -> None:
    """The ConfigMap carries PROXY_CONFIG_XDS_AGENT but the IstioRevision it is rendered from does not: the running
    Sail operator's next reconcile puts the ConfigMap back without it (as the istio-operator's, AA0916).
    main: PASS AA0901, GO."""
    result = audit(tmp_path, sail_with_asm_edit(revision_based=revision_based), "migrating", "SetupIstioForMigrate")
    [row] = rows(result, "mesh-config-xds-agent")
    assert (row["status"], row["code"], row["severity"]) == ("FAIL", "AA0917", "major")
    assert row["remediation"].endswith(
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" patch istios.sailoperator.io/default --type=merge -p '
        '\'{"spec":{"values":{"meshConfig":{"defaultConfig":{"proxyMetadata":{"PROXY_CONFIG_XDS_AGENT":"true"}}}}}}\'')
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_the_setting_in_the_sail_resource_passes(tmp_path: Path) -> None:
    result = audit(tmp_path, sail_with_asm_edit(in_values=True), "migrating", "SetupIstioForMigrate")
    assert [(r["status"], r["code"]) for r in rows(result, "mesh-config-xds-agent")] == [("PASS", "AA0901")]
    assert (result.verdict, result.exit_code) == ("GO", 0)


def test_the_sail_operator_stopped_holds_nothing(tmp_path: Path) -> None:
    """Scaled to 0, the operator reconciles nothing (as the istio-operator's hold, auditor/istio.py)."""
    shape = sail_with_asm_edit()
    for obj in shape.objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "sail-operator":
            obj["spec"]["replicas"] = 0
    result = audit(tmp_path, shape, "migrating", "SetupIstioForMigrate")
    assert [(r["status"], r["code"]) for r in rows(result, "mesh-config-xds-agent")] == [("PASS", "AA0901")]


def test_istiorevisions_unread_is_unknown(tmp_path: Path) -> None:
    result = audit(tmp_path, sail_with_asm_edit(), "migrating", "SetupIstioForMigrate",
                   unreadable={K.SAIL_ISTIOREVISION: "403 Forbidden: istiorevisions.sailoperator.io"})
    [row] = rows(result, "mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0935")
    assert (result.verdict, result.exit_code) == ("INCOMPLETE", 3)


def _set_in(shape: s.Shape, kinds: tuple[str, ...]) -> s.Shape:
    for obj in shape.objects:
        if obj["kind"] in kinds:
            obj["spec"].setdefault("values", {})["meshConfig"] = copy.deepcopy(
                {"defaultConfig": {"proxyMetadata": {"PROXY_CONFIG_XDS_AGENT": "true"}}})
    return shape


def test_the_setting_in_the_istiorevision_only_is_reverted_by_its_istio(tmp_path: Path) -> None:
    """The IstioRevision is owned by Istio/default (sail_shape, as the Istio controller writes it): the controller
    writes the revision's values from the Istio's and reverts an edit of the IstioRevision alone
    (sail-operator@1.30.3 controllers/istio/istio_controller.go reconcileActiveRevision). review21: PASS AA0901, GO."""
    result = audit(tmp_path, _set_in(sail_with_asm_edit(), ("IstioRevision",)), "migrating", "SetupIstioForMigrate")
    [row] = rows(result, "mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("FAIL", "AA0917")
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_the_owning_istio_unread_is_unknown(tmp_path: Path) -> None:
    result = audit(tmp_path, _set_in(sail_with_asm_edit(), ("IstioRevision",)), "migrating", "SetupIstioForMigrate",
                   unreadable={K.SAIL_ISTIO: "403 Forbidden: istios.sailoperator.io"})
    [row] = rows(result, "mesh-config-xds-agent")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0935")
    assert (result.verdict, result.exit_code) == ("INCOMPLETE", 3)
