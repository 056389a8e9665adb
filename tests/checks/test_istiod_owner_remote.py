"""Whose istiod Service is it, in an Istio REMOTE cluster installed by Helm under a release name without "istio"?

Shapes (github:istio/istio unless named):
- up to 1.23 a remote cluster's Service istiod[-<rev>] comes from manifests/charts/istiod-remote/templates/
  services.yaml (and the same template in charts/base) @1.22.8, 1.23.6: no label, no selector, ports tcp-istiod 15012
  and tcp-webhook 443->15017, type ExternalName for a remotePilotAddress host name, else a ClusterIP Service with an
  Endpoints object (endpoints.yaml) holding the IP; @1.10.6, 1.12.9 the same without the webhook port (headless for an
  IP). Named istiod[-<rev>]-remote when a local istiod runs too (pilot.enabled).
- from 1.24 the istiod chart's remote profile (templates/remote-istiod-service.yaml @1.24.6, 1.26.8, 1.28.10, 1.30.3)
  labels it app.kubernetes.io/name: istiod plus istio.labels (templates/zzz_profile.yaml: app.kubernetes.io/part-of
  "istio", helm.sh/chart istiod-<version>, app.kubernetes.io/instance <release>), whatever the release is named.
- Helm 3 labels app.kubernetes.io/managed-by=Helm and annotates meta.helm.sh/release-name/-namespace every object of a
  release (helm/helm@v3.21.4:pkg/action/validate.go setMetadataVisitor, called by install.go/upgrade.go); Argo CD
  renders charts itself (no Helm mark) and tracks by annotation argocd.argoproj.io/tracking-id.
- ASM's own: a headless istiod-<rev> Service with nothing behind it (../shared/docs/domain.md;
  tests/install_shapes.asm_istiod_service).

On main such a Service with a release name lacking "istio" (1.10..1.23) was taken for ASM's managed istiod: the remote
cluster's pods, pinned by digest, counted as ASM proxies (istio-sidecars-remaining PASS: a false GO), asm-version read
the Istio revision as ASM's version, and istio-residue kept the Service as ASM's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor import mesh
from tests import install_shapes as S
from tests.test_install_shapes import audit, rows, workloads

DIGEST = "registry.example.com/mesh/proxyv2@sha256:" + "cd" * 32
APPS = {(S.APPS_NS, "ratings"), (S.APPS_NS, "details")}


def owners(objects: list[dict[str, Any]]) -> dict[str, str]:
    services = [o for o in objects if o["kind"] == "Service"]
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    webhooks = [o for o in objects if o["kind"] == "MutatingWebhookConfiguration"]
    return {key: owner for key, (owner, _) in mesh.istiod_owners(services, deployments, webhooks).items()}


def service(shape: S.Shape) -> dict[str, Any]:
    [svc] = [o for o in shape.objects if o["kind"] == "Service" and o["metadata"]["name"].startswith("istiod")]
    return svc


@pytest.mark.parametrize(("applied_by", "address", "owner"), [
    ("helm", "istiod.primary.example.com", mesh.OWNER_ISTIO),   # ExternalName, Helm's marks
    ("helm", "10.10.0.15", mesh.OWNER_ISTIO),                   # ClusterIP + Endpoints, Helm's marks
    ("argocd", "10.10.0.15", mesh.OWNER_UNPROVEN),              # Argo CD's tracking, no Helm mark
    ("template", "istiod.primary.example.com", mesh.OWNER_UNPROVEN),  # `helm template | kubectl apply`: ExternalName
    ("template", "10.10.0.15", mesh.OWNER_UNPROVEN),  # ... with an IP: only Istio's injector webhook calling it tells
])
def test_an_istio_remote_service_under_a_release_without_istio_is_never_asms(applied_by: str, address: str,
                                                                              owner: str) -> None:
    shape = S.legacy_remote_shape(applied_by=applied_by, address=address)
    assert owners(shape.objects) == {f"{S.ISTIO_NS}/istiod": owner}


def test_the_remote_charts_other_names_and_releases() -> None:
    """A revisioned remote (istiod-<rev>), the `-remote` name beside a local istiod, a release named with "istio"
    (caught before too), and ASM's own Service in the same cluster."""
    revisioned = service(S.legacy_remote_shape("1.23.6", revision="1-23-6", release="cp"))
    beside = service(S.legacy_remote_shape(applied_by="template", address="10.10.0.15"))
    beside["metadata"]["name"] = "istiod-remote"  # templates/services.yaml with pilot.enabled
    documented = service(S.legacy_remote_shape(release="istiod-remote"))
    documented["metadata"]["name"] = "istiod-1-22-8"
    assert owners([revisioned, beside, documented, S.asm_istiod_service()]) == {
        f"{S.ISTIO_NS}/istiod-1-23-6": mesh.OWNER_ISTIO, f"{S.ISTIO_NS}/istiod-remote": mesh.OWNER_ISTIO,
        f"{S.ISTIO_NS}/istiod-1-22-8": mesh.OWNER_ISTIO, f"{S.ISTIO_NS}/istiod-{S.ASM_REVISION}": mesh.OWNER_ASM}


def test_from_1_24_the_remote_profile_labels_it_whatever_the_release() -> None:
    """remote-istiod-service.yaml @1.24.6 under `helm install cp istio/istiod --set profile=remote`: istio.labels say
    Istio's (this held on main too; kept so the Helm rule never replaces it)."""
    svc = service(S.legacy_remote_shape(release="cp"))
    svc["metadata"]["labels"].update({"app.kubernetes.io/name": "istiod", "app.kubernetes.io/instance": "cp",
                                      "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": "1.24.6",
                                      "helm.sh/chart": "istiod-1.24.6"})
    assert owners([svc]) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_ISTIO}


def test_asms_marks_still_make_it_asms() -> None:
    """A Service with ASM's marks and only Helm's generic ones (no Istio chart label) stays ASM's: Helm names no
    mesh."""
    svc = service(S.legacy_remote_shape())
    svc["metadata"]["labels"]["asm.alibabacloud.com/managed-by-asm"] = "true"
    assert owners([svc]) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_ASM}


def test_a_bare_applied_remote_service_is_told_by_istios_injector_webhook() -> None:
    """`helm template | kubectl apply` (or `istioctl manifest generate`) of a remote up to 1.23 with an IP: the Service
    carries nothing, but the chart's injector webhook (operator.istio.io/component: "Pilot", hard-coded in
    istiod-remote/templates/mutatingwebhook.yaml @1.10.6..1.23.6) calls it. Without that webhook (or with one
    calling a URL: istiodRemote.injectionURL) nothing tells it from ASM's."""
    shape = S.legacy_remote_shape(applied_by="template", address="10.10.0.15")
    hooks = [o for o in shape.objects if o["kind"] == "MutatingWebhookConfiguration"]
    assert owners(shape.objects) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_UNPROVEN}
    assert owners([o for o in shape.objects if o not in hooks]) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_ASM}
    for webhook in hooks[0]["webhooks"]:  # istiodRemote.injectionURL: the chart's "core" of every webhook
        webhook["clientConfig"] = {"url": "https://istiod.primary.example.com:15017/inject/cluster/remote1/net/network1"}
    assert owners(shape.objects) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_ASM}


def test_asms_service_called_by_no_istio_webhook_stays_asms_beside_a_running_istio() -> None:
    """A migrating cluster: Istio's istiod runs (its webhook calls its own Service); ASM's istiod-<rev> is called by
    no webhook of Istio's."""
    shape = S.moved_to_asm(S.helm_revision("1.22.8", ""))
    assert owners(shape.objects) == {f"{S.ISTIO_NS}/istiod": mesh.OWNER_ISTIO,
                                     f"{S.ISTIO_NS}/istiod-{S.ASM_REVISION}": mesh.OWNER_ASM}


# ---------------------------------------------------------------- what the checks then say
@pytest.mark.parametrize(("applied_by", "address"), [("helm", "istiod.primary.example.com"), ("helm", "10.10.0.15"),
                                                     ("argocd", "10.10.0.15"), ("template", "10.10.0.15"),
                                                     ("template", "istiod.primary.example.com")])
def test_digest_pinned_sidecars_of_a_helm_remote_stay_istios(tmp_path: Path, applied_by: str, address: str) -> None:
    """The false GO: the primary injected the remote's pods (CA_ADDR istiod.istio-system.svc:15012) with a proxyv2
    pinned by digest, so the CA_ADDR is their only mark; on main they counted as ASM's and the uninstall gate passed
    istio-sidecars-remaining."""
    shape = S.moved_to_asm(S.legacy_remote_shape(applied_by=applied_by, address=address, image=DIGEST))
    result = audit(tmp_path, shape, "uninstall", "Migrating")
    assert workloads(result, "istio-sidecars-remaining", "FAIL") == APPS
    assert (result.verdict, result.exit_code) == ("NO-GO", 1)


def test_asm_version_is_not_read_from_an_istio_remote_revision(tmp_path: Path) -> None:
    """Before ASM joins: the remote's Service istiod-1-23-6 (istiod-remote 1.23.6, `--set revision=1-23-6`, release
    `cp`) is Istio's; main reported ASM 1.23.6, too old (AA0310), from it."""
    shape = S.legacy_remote_shape("1.23.6", revision="1-23-6", release="cp")
    [row] = rows(audit(tmp_path, shape, "assessment", None), "asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0330")
    assert not str(row["evidence"]["source"]).startswith("Service")


def test_a_helm_remote_service_left_after_the_migration_is_istios_residue(tmp_path: Path) -> None:
    """Every application on ASM, Istio's remote release not uninstalled: its Service is a leftover (main kept it as
    ASM's managed istiod)."""
    shape = S.moved_to_asm(S.legacy_remote_shape())
    asm = {S.object_key(o) for o in S.moved_to_asm(S.Shape("asm", "")).objects}
    shape.objects = [o for o in shape.objects if S.object_key(o) in asm or (o["kind"], o["metadata"]["name"]) in {
        ("Namespace", S.ISTIO_NS), ("Service", "istiod")}]
    result = audit(tmp_path, shape, "finished", "Finished")
    residue = {(r["status"], r["code"], r["name"]) for r in rows(result, "istio-residue")}
    assert residue == {("WARN", "AA2327", "istiod")}
