"""purge-preview: labelled injector webhooks whose istiod cannot be told Istio's (brief hook17, purge17's follow-up).

`istioctl uninstall --purge` deletes every webhook configuration carrying operator.istio.io/component (operator/pkg/
uninstall/prune.go @1.24.6). purge-preview kept PASS AA2501 unless the webhook called a Service istiod_owners proves
ASM's. Shapes (github:istio/istio@1.24.6):
- `istioctl tag set default --revision 1-24-6` (istioctl/pkg/tag/generate.go: tagWebhookConfigFromCanonicalWebhook
  copies the revision's canonical webhook's clientConfig.url (as values.istiodRemote.injectionURL), path and labels
  but `app`; generateMutatingWebhook renders manifests/charts/istio-control/istio-discovery/templates/
  revision-tags.yaml: name istio-revision-tag-default, labels istio.io/tag, istio.io/rev, operator.istio.io/component
  "Pilot" hard-coded, install.operator.istio.io/owning-resource unknown, release, app.kubernetes.io/name istiod;
  webhooks rev.namespace./rev.object.sidecar-injector.istio.io calling `url` when injectionURL is set, else Service
  istiod-<rev> in the istio namespace, path from the canonical webhook);
- ASM's canonical injector istio-sidecar-injector-1-24-6 and its headless istiod-1-24-6 Service with nothing behind it
  (tests/install_shapes.asm_istiod_service: no published mark). The tag's Istio labels make that Service unproven
  (mesh._unlabelled_istiod_owner: called by Istio's injector), so main found nothing of ASM's: PASS, a false GO;
- a remote/external control plane install's injector with istiodRemote.injectionURL as clientConfig.url
  (templates/mutatingwebhook.yaml: `url: "{{ .injectionURL }}"`; the external control plane guide's
  https://<addr>:15017/inject/cluster/<remote>/net/network1, tests/checks/test_remote_serving.py).
"""

from __future__ import annotations

from typing import Any

from tests import factory as f
from tests import install_shapes as S

CHECK = "purge-preview"
ASM_REV = S.ASM_REVISION
URL = "https://47.98.120.15:15017/inject/cluster/cluster2/net/network1"


def tag_webhook(*, url: str | None = None, service: str = f"istiod-{ASM_REV}") -> dict[str, Any]:
    """istio-revision-tag-default as generate.go renders it for ASM's revision (both webhooks of the template)."""
    labels = {"istio.io/tag": "default", "istio.io/rev": ASM_REV,
              "install.operator.istio.io/owning-resource": "unknown", "operator.istio.io/component": "Pilot",
              "app": "sidecar-injector", "release": "istio", "app.kubernetes.io/name": "istiod"}
    wh = f.webhook_config("istio-revision-tag-default", service_name=service, revision=ASM_REV, labels=labels)
    # revision-tags.yaml @1.24.6: a tag named "default" also gets the namespace./object. webhooks.
    wh["webhooks"] = f.injector_hooks(service, ASM_REV, selects="default")
    if url:
        for hook in wh["webhooks"]:
            hook["clientConfig"] = {"url": url}
    return wh


def asm_canonical(*, url: str | None = None) -> dict[str, Any]:
    wh = f.webhook_config(f"istio-sidecar-injector-{ASM_REV}", service_name=f"istiod-{ASM_REV}", revision=ASM_REV,
                          labels={"app": "sidecar-injector"})
    if url:  # istiodRemote.injectionURL: every webhook of the chart calls it (mutatingwebhook.yaml "core")
        for hook in wh["webhooks"]:
            hook["clientConfig"] = {"url": url}
    return wh


def istio_webhook() -> dict[str, Any]:
    """Istio's own injector (istioctl install 1.24.6, mutatingwebhook.yaml): Pilot label, calls istiod."""
    return f.webhook_config("istio-sidecar-injector", service_name="istiod", revision="default",
                            labels={"operator.istio.io/component": "Pilot", "app": "sidecar-injector",
                                    "release": "istio", "install.operator.istio.io/owning-resource": "unknown"})


def run(audit, objects: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    a = audit({"cluster-a": objects}, "uninstall", asm=[f.migration_cr("Migrating")])
    return [(r["status"], r["code"], r["kind"], r["name"]) for r in a.rows(CHECK)], a


def test_unknown_when_a_labelled_tag_calls_asms_unmarked_istiod(audit):
    # Fails on main: PASS AA2501, the purge deleting the default tag into ASM's injector.
    found, a = run(audit, [f.istiod(version="1.24.6"), istio_webhook(), S.asm_istiod_service(), asm_canonical(),
                           tag_webhook()])
    assert found == [("UNKNOWN", "AA2536", "MutatingWebhookConfiguration", "istio-revision-tag-default")]
    (row,) = a.rows(CHECK)
    assert row["evidence"]["calls"] == f"Service istio-system/istiod-{ASM_REV}"
    lines = row["remediation"].splitlines()
    assert lines[0].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get '
                               "mutatingwebhookconfiguration/istio-revision-tag-default -o jsonpath=")
    assert lines[1].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" get '
                               f"service/istiod-{ASM_REV} -n istio-system -o yaml")
    assert a.result.verdict != "GO"


def test_unknown_when_a_labelled_tag_calls_asms_injector_by_url(audit):
    # ASM's canonical webhook reached by URL: generate.go copies it into the tag (values.istiodRemote.injectionURL).
    # Fails on main: PASS AA2501.
    found, _ = run(audit, [f.istiod(version="1.24.6"), istio_webhook(), S.asm_istiod_service(),
                           asm_canonical(url=URL), tag_webhook(url=URL)])
    assert found == [("UNKNOWN", "AA2536", "MutatingWebhookConfiguration", "istio-revision-tag-default")]


def test_unknown_when_a_remote_installs_injector_calls_a_url(audit):
    # A remote/external-control-plane install's injector: istio-sidecar-injector, Pilot label, clientConfig.url
    # istiodRemote.injectionURL. Whose istiod answers the URL is not proven; main: PASS AA2501.
    hook = istio_webhook()
    for webhook in hook["webhooks"]:  # injectionURL: every webhook of the chart calls it
        webhook["clientConfig"] = {"url": URL}
    found, _ = run(audit, [f.istiod(version="1.24.6"), hook])
    assert found == [("UNKNOWN", "AA2536", "MutatingWebhookConfiguration", "istio-sidecar-injector")]


def test_pass_when_the_labelled_webhooks_call_istios_own_istiod(audit):
    # Istio's injector and a tag for Istio's own revision, both calling the Service of the local istiod Deployment:
    # proven Istio's, the purge may delete them.
    tag = tag_webhook(service="istiod")
    found, _ = run(audit, [f.istiod(version="1.24.6"), istio_webhook(), S.asm_istiod_service(), asm_canonical(),
                           tag])
    assert found == [("PASS", "AA2501", "", "")]


def test_asms_marked_istiod_stays_a_fail_not_an_unknown(audit):
    # ASM's Service with ASM's mark: proven ASM's, AA2510 (test_purge_in_use), no AA2536 beside it.
    svc = S.asm_istiod_service()
    svc["metadata"].setdefault("labels", {})["asm.alibabacloud.com/managed-by-asm"] = "true"
    found, _ = run(audit, [f.istiod(version="1.24.6"), istio_webhook(), svc, asm_canonical(), tag_webhook()])
    assert found == [("FAIL", "AA2510", "MutatingWebhookConfiguration", "istio-revision-tag-default")]


# ---------------------------------------------------------------- istio-control-plane-removed: check before the delete
CP = "istio-control-plane-removed"


def finished(audit, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    a = audit({"cluster-a": objects}, "finished", asm=[f.migration_cr("Finished")])
    return [r for r in a.rows(CP) if r["status"] == "FAIL"]


def checked_before_delete(remediation: str, name: str) -> bool:
    """Every line but the delete is a comment, one of them the read-only look at the webhook's calls."""
    lines = remediation.splitlines()
    return (all(line.startswith("#") for line in lines[:-1]) and lines[-1].startswith("kubectl")
            and " delete mutatingwebhookconfiguration/" + name in lines[-1]
            and any(f"get mutatingwebhookconfiguration/{name} -o jsonpath=" in line for line in lines[:-1]))


def test_a_tag_left_calling_asms_unmarked_istiod_is_checked_before_its_delete(audit):
    # The tag still labelled after a partial removal: its Istio labels make ASM's unmarked istiod-<rev> unproven, so
    # the tag AND ASM's own canonical injector are FAILs (unproven stays Istio's); main's remediation was the bare
    # `kubectl delete` of both, ASM's injection path.
    rows = finished(audit, [S.asm_istiod_service(), asm_canonical(), tag_webhook()])
    assert sorted((r["code"], r["name"]) for r in rows) == [
        ("AA2212", "istio-revision-tag-default"), ("AA2212", f"istio-sidecar-injector-{ASM_REV}")]
    for row in rows:
        assert checked_before_delete(row["remediation"], row["name"])
        assert row["evidence"]["calls_unproven"].startswith(f"Service istio-system/istiod-{ASM_REV}")


def test_an_injector_left_calling_a_url_is_checked_before_its_delete(audit):
    hook = istio_webhook()
    for webhook in hook["webhooks"]:  # injectionURL: every webhook of the chart calls it
        webhook["clientConfig"] = {"url": URL}
    (row,) = finished(audit, [S.asm_istiod_service(), asm_canonical(), hook])
    assert (row["code"], row["name"]) == ("AA2212", "istio-sidecar-injector")
    assert checked_before_delete(row["remediation"], "istio-sidecar-injector")


def test_guard_an_injector_left_calling_the_removed_istiod_is_deleted_plainly(audit):
    # Istio's own injector calling istio-system/istiod, which the purge took away: it reaches no istiod at all.
    (row,) = finished(audit, [S.asm_istiod_service(), asm_canonical(), istio_webhook()])
    assert (row["code"], row["name"]) == ("AA2212", "istio-sidecar-injector")
    assert row["remediation"].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" delete '
                                         "mutatingwebhookconfiguration/istio-sidecar-injector")


# ---------------------------------------------------------------- istio-residue: ASM's unmarked istiod-<rev> Service
def test_asms_unmarked_istiod_made_unproven_by_a_tag_is_checked_before_its_delete(audit):
    # The tag's Istio labels make ASM's istiod-1-24-6 unproven; istio-residue listed it as Istio's leftover (WARN
    # AA2327, not blocking) with a bare `kubectl delete service/istiod-1-24-6` on main: ASM's managed istiod's Service.
    a = audit({"cluster-a": [S.asm_istiod_service(), asm_canonical(), tag_webhook()]}, "finished",
              asm=[f.migration_cr("Finished")])
    (row,) = [r for r in a.rows("istio-residue") if r["code"] == "AA2327"]
    lines = row["remediation"].splitlines()
    assert all(line.startswith("#") for line in lines[:-1]) and len(lines) > 1
    assert lines[-1] == ('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete '
                         f"service/istiod-{ASM_REV}")
    assert "owner_unproven" in row["evidence"]


def test_guard_istios_labelled_istiod_service_left_is_deleted_plainly(audit):
    svc = f.service("istiod", "istio-system", labels={"app": "istiod", "istio": "pilot", **f.ISTIO_INSTALL_LABELS})
    svc["metadata"]["labels"].pop("operator.istio.io/component")
    a = audit({"cluster-a": [S.asm_istiod_service(), asm_canonical(), svc]}, "finished",
              asm=[f.migration_cr("Finished")])
    (row,) = [r for r in a.rows("istio-residue") if r["code"] == "AA2327"]
    assert row["remediation"].startswith('kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" -n istio-system delete '
                                         "service/istiod")


# ---------------------------------------------------------------- said in zh-CN (read17's rule), commands kept
def test_aa2536_reads_in_zh_cn_with_its_commands_kept(audit):
    from tests.checks.test_cab_read17 import one, parses

    hook = istio_webhook()
    for webhook in hook["webhooks"]:  # injectionURL: every webhook of the chart calls it
        webhook["clientConfig"] = {"url": URL}
    a = audit({"cluster-a": [f.istiod(version="1.24.6"), hook]}, "uninstall", asm=[f.migration_cr("Migrating")])
    en, _, zh = one(a.result, "AA2536")
    assert zh["message"] != en["message"] and URL in zh["message"]
    en_lines, zh_lines = en["remediation"].splitlines(), zh["remediation"].splitlines()
    assert [line for line in en_lines if not line.startswith("#")] == [
        line for line in zh_lines if not line.startswith("#")]
    assert en_lines[-2] != zh_lines[-2]  # the fixed comment said in zh-CN
    assert parses(en["remediation"]) and parses(zh["remediation"])
