"""gitops-reinstall through the real kubernetes client and tests/fakeapi.py: the Argo CD and Flux kinds are custom
resources, served only where their CRDs are installed. Absent from discovery they are not served (nothing to judge:
NOT_APPLICABLE); served but forbidden they are UNKNOWN, never a PASS; served and read, an Application of Istio's istiod
chart is a FAIL (NO-GO). Shapes: tests/checks/test_gitops_reinstall.py (argo-cd@v3.5.1, helm-controller@v1.6.3)."""

from __future__ import annotations

import json
from pathlib import Path

from auditor import api
from auditor.registry import load_registry
from tests.checks.test_gitops_reinstall import application, helmrelease
from tests.fakeapi import FakeApiServer
from tests.test_faults import rows, serve
from tests.test_readonly import NOW

CHECK = "gitops-reinstall"


def config(tmp_path: Path) -> str:
    path = tmp_path / "focus.yaml"
    path.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks if c != CHECK]},
                                "snapshot": {"max_age": None}}))
    return str(path)


def crds(api_server: FakeApiServer) -> None:
    api_server.register_kind("argoproj.io", "v1alpha1", "Application", "applications")
    api_server.register_kind("argoproj.io", "v1alpha1", "ApplicationSet", "applicationsets")
    api_server.register_kind("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases")
    api_server.register_kind("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations")


def audit(tmp_path: Path, fake_api: FakeApiServer, fake_asm: FakeApiServer, extra: list) -> list[tuple[str, str]]:
    result = api.run_audit(serve(tmp_path, fake_api, fake_asm, extra), "finished", config(tmp_path), now=NOW)
    return sorted((r["status"], r["code"]) for r in rows(result, CHECK))


def test_an_istiod_application_read_live_fails(tmp_path, fake_api, fake_asm):
    crds(fake_api)
    assert audit(tmp_path, fake_api, fake_asm, [application("istiod"), helmrelease("istiod", suspend=True)]) == [
        ("FAIL", "AA3010")]


def test_without_the_crds_nothing_is_judged(tmp_path, fake_api, fake_asm):
    assert audit(tmp_path, fake_api, fake_asm, []) == [("NOT_APPLICABLE", "AA3040")]


def test_served_but_forbidden_is_unknown(tmp_path, fake_api, fake_asm):
    crds(fake_api)
    fake_api.add_fault(r"/apis/argoproj\.io/v1alpha1/applications", 403, times=None)
    assert audit(tmp_path, fake_api, fake_asm, [application("istiod")]) == [("UNKNOWN", "AA3030")]


# --- fix23e: a HelmRelease's chartRef and Fleet's Bundles, read live ------------------------------------------------
def test_a_chart_ref_to_istiods_oci_chart_read_live_fails(tmp_path, fake_api, fake_asm):
    """helm-controller v2's spec.chartRef, no history yet (source-controller@v1.9.1 OCIRepository v1): main PASS."""
    from tests.checks.test_gitops_reinstall_23e import chart_ref_release, oci_repository
    crds(fake_api)
    fake_api.register_kind("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories")
    assert audit(tmp_path, fake_api, fake_asm, [
        chart_ref_release("istiod", "OCIRepository", "istiod"),
        oci_repository("istiod", "oci://gcr.io/istio-release/charts/istiod")]) == [("FAIL", "AA3013")]


def test_fleet_bundles_served_but_forbidden_are_unknown(tmp_path, fake_api, fake_asm):
    from auditor import kinds as K
    from tests.checks.test_gitops_reinstall_23e import bundle, crd
    crds(fake_api)
    fake_api.register_kind("fleet.cattle.io", "v1alpha1", "Bundle", "bundles")
    fleet_crd = crd(K.FLEET_BUNDLE)
    assert audit(tmp_path, fake_api, fake_asm, [fleet_crd, bundle("istio", helm={
        "chart": "istiod", "repo": "https://istio-release.storage.googleapis.com/charts"})]) == [("FAIL", "AA3014")]
    fake_api.add_fault(r"/apis/fleet\.cattle\.io/v1alpha1/bundles", 403, times=None)
    assert audit(tmp_path, fake_api, fake_asm, [fleet_crd]) == [("UNKNOWN", "AA3030")]
