"""istio-control-plane-removed: a webhook is ASM's only when it calls ASM's istiod by namespace AND name.

ASM's managed istiod-<rev> Services live in istio-system (mesh.asm_istiod_names). Istio installed into another namespace
names its revision tag `istio-revision-tag-<tag>-<namespace>` and calls `istiod-<rev>` of that namespace
(istio/istio@1.20.8 and @1.30.3 manifests/charts/istio-control/istio-discovery/templates/revision-tags.yaml: `name:
istio-revision-tag-{{ $tagName }}-{{ $.Release.Namespace }}`, clientConfig.service `istiod-<revision>` in
`{{ .namespace }}`, failurePolicy: Fail). A version-named Istio revision may equal ASM's (`1-24-6`). After the purge
that Service is gone and the webhook rejects every pod creation it matches: it must stay a FAIL even when it carries
none of Istio's install labels (a copy applied by hand, from `istioctl tag generate` output with its labels edited).
"""

from __future__ import annotations

from tests import factory as f
from tests.checks.test_residue import CP, RES, asm_footprint


def other_namespace_tag() -> dict:
    tag = f.webhook_config("istio-revision-tag-prod-istio-canary", service_name="istiod-1-24-6", revision="1-24-6",
                           labels={"istio.io/tag": "prod"})
    for hook in tag["webhooks"]:
        hook["clientConfig"]["service"]["namespace"] = "istio-canary"
    return tag


def test_a_tag_calling_an_istiod_of_another_namespace_is_istios_not_asms(audit):
    a = audit({"cluster-a": [*asm_footprint(), other_namespace_tag()]}, "finished", asm=[])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(CP)] == [
        ("FAIL", "AA2212", "istio-revision-tag-prod-istio-canary")]


def test_its_tag_does_not_count_as_an_asm_revision(audit):
    """A namespace pinned to that tag is served by no ASM injector (AA2331: no ASM revision besides 1-24-6 would be
    found; here ASM's 1-24-6 is, and `prod` is not among its revisions)."""
    cluster = [*asm_footprint(), other_namespace_tag(), f.namespace("orders", labels={"istio.io/rev": "prod"})]
    a = audit({"cluster-a": cluster}, "finished", asm=[])
    assert ("FAIL", "AA2314", "orders") in [(r["status"], r["code"], r["name"]) for r in a.rows(RES)]


def test_guard_a_webhook_calling_asms_istiod_in_istio_system_stays_kept(audit):
    tag = f.webhook_config("istio-revision-tag-prod", service_name="istiod-1-24-6", revision="1-24-6",
                           labels={"istio.io/tag": "prod"})
    a = audit({"cluster-a": [*asm_footprint(), tag]}, "finished", asm=[])
    assert [(r["status"], r["code"]) for r in a.rows(CP)] == [("PASS", "AA2201")]
