"""purge-preview: the Istio configuration istioctl before 1.20 deletes too (red22o, lead 2).

istioctl's NamespacedResources, pruned by operator.istio.io/component with --purge, lists DestinationRule, EnvoyFilter,
Gateway, VirtualService, PeerAuthentication and PersistentVolumeClaim up to 1.19 (istio/istio@1.10.6, 1.16.7, 1.19.10
operator/pkg/helmreconciler/prune.go) and none of them from 1.20.0 (EnvoyFilter again from 1.20.5/1.21.1; @1.22.3
helmreconciler/prune.go, @1.24.6 uninstall/prune.go). Labelled Istio configuration as istioctl left it: the ingress
chart's mesh expansion Gateway and VirtualService (istio/istio@1.6.14 manifests/charts/gateways/istio-ingress/templates/
meshexpansion.yaml, `meshexpansion-gateway`, `meshexpansion-vs-istiod` in the release namespace), labelled by istioctl
with the component it renders them for (IngressGateways).

main: these kinds were not in the purge's listing whatever the version: a 1.16 purge deleting configuration ASM's
control plane does not hold was called clean (AA2501, GO).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests import factory as f

CHECK = "purge-preview"
LABELS = {"release": "istio", "operator.istio.io/component": "IngressGateways"}


def mesh_expansion() -> list[dict[str, Any]]:
    gateway = f.istio_object("Gateway", "meshexpansion-gateway", "istio-system", {
        "selector": {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 15012, "protocol": "TCP", "name": "tcp-istiod"}, "hosts": ["*"]}]},
        labels=LABELS)
    vs = f.istio_object("VirtualService", "meshexpansion-vs-istiod", "istio-system", {
        "hosts": ["istiod.istio-system.svc.cluster.local"], "gateways": ["meshexpansion-gateway"],
        "tcp": [{"match": [{"port": 15012}],
                 "route": [{"destination": {"host": "istiod.istio-system.svc.cluster.local",
                                            "port": {"number": 15012}}}]}]}, labels=LABELS)
    return [gateway, vs]


def rows(audit, version: str, *, asm_copies: bool = False, **kw: Any) -> list[dict[str, Any]]:
    config = mesh_expansion()
    asm = [f.migration_cr("Migrating"), *(config if asm_copies else [])]
    a = audit({"cluster-a": [f.istiod(version=version), *config]}, "uninstall", asm=asm, **kw)
    return a.rows(CHECK)


def test_fail_when_istioctl_1_16_deletes_config_asm_does_not_hold(audit):
    found = rows(audit, "1.16.7")
    assert sorted((r["status"], r["code"]) for r in found) == [("FAIL", "AA2516"), ("FAIL", "AA2516")]
    assert sorted(r["evidence"]["not_on_asm"][0] for r in found) == [
        "Gateway/istio-system/meshexpansion-gateway", "VirtualService/istio-system/meshexpansion-vs-istiod"]


def test_held_by_asm_they_are_listed_among_what_the_purge_deletes(audit):
    (row,) = rows(audit, "1.19.10", asm_copies=True)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")
    assert row["evidence"]["by_kind"]["VirtualService"] == 1 and row["evidence"]["by_kind"]["Gateway"] == 1


def test_istioctl_1_20_and_later_leaves_them(audit):
    (row,) = rows(audit, "1.22.3")
    assert (row["status"], row["code"]) == ("PASS", "AA2501")
    assert "VirtualService" not in row["evidence"]["by_kind"]


def test_unknown_when_a_kind_1_16_purges_cannot_be_read(audit):
    found = rows(audit, "1.16.7", unreadable={"cluster-a": {K.PEERAUTHENTICATION: "403 Forbidden"}})
    assert sorted((r["status"], r["code"]) for r in found) == [
        ("FAIL", "AA2516"), ("FAIL", "AA2516"), ("UNKNOWN", "AA2517")]


def test_unknown_when_asms_copies_cannot_be_read(audit):
    found = rows(audit, "1.16.7", unreadable={"asm": {K.VIRTUALSERVICE: "403 Forbidden"}})
    assert sorted((r["status"], r["code"]) for r in found) == [("FAIL", "AA2516"), ("UNKNOWN", "AA2517")]


def test_asms_own_labelled_gateway_is_aa2510_with_the_resource_named_by_its_group(audit):
    config = mesh_expansion()
    config[0]["metadata"]["labels"]["asm.alibabacloud.com/managed-by-asm"] = "true"
    a = audit({"cluster-a": [f.istiod(version="1.16.7"), config[0]]}, "uninstall",
              asm=[f.migration_cr("Migrating"), config[0]])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"], row["kind"]) == ("FAIL", "AA2510", "Gateway")
    assert "label gateways.networking.istio.io/meshexpansion-gateway -n istio-system" in row["remediation"]


def two_revisions(*versions: str, image: str | None = None) -> list[dict[str, Any]]:
    """istiod of each revision (canary upgrade: istioctl install --revision), the first the default one."""
    deps = [f.istiod("default" if i == 0 else f"rev{i}", version=v) for i, v in enumerate(versions)]
    if image is not None:
        deps[0]["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return deps


def audit_with(audit, istiods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    a = audit({"cluster-a": [*istiods, *mesh_expansion()]}, "uninstall", asm=[f.migration_cr("Migrating")])
    return a.rows(CHECK)


def test_fail_when_two_revisions_both_before_1_20_delete_config_asm_does_not_hold(audit):
    # review22c: a canary 1.18.7 + 1.19.10 has no single istioctl version: the config was only named in the evidence
    # (PASS AA2501, GO). Both istioctls delete it; the lowest is judged.
    found = audit_with(audit, two_revisions("1.18.7", "1.19.10"))
    assert sorted((r["status"], r["code"]) for r in found) == [("FAIL", "AA2516"), ("FAIL", "AA2516")]


def test_fail_when_one_revision_before_1_20_and_one_after(audit):
    # `istioctl uninstall --revision` of the 1.19 revision runs the 1.19 istioctl, whose prune lists these kinds.
    found = audit_with(audit, two_revisions("1.19.10", "1.22.3"))
    assert sorted((r["status"], r["code"]) for r in found) == [("FAIL", "AA2516"), ("FAIL", "AA2516")]


def test_fail_judged_with_the_readable_version_when_another_is_digest_pinned(audit):
    found = audit_with(audit, two_revisions("1.19.10", "1.18.7", image="docker.io/istio/pilot@sha256:" + "a" * 64))
    assert sorted((r["status"], r["code"]) for r in found) == [("FAIL", "AA2516"), ("FAIL", "AA2516")]


def test_unknown_when_no_istiod_version_can_be_read_and_labelled_config_exists(audit):
    # A digest-pinned istiod: which istioctl runs the purge, and so whether it deletes them, cannot be told.
    found = audit_with(audit, two_revisions("1.19.10", image="docker.io/istio/pilot@sha256:" + "a" * 64))
    assert sorted((r["status"], r["code"]) for r in found) == [("UNKNOWN", "AA2517"), ("UNKNOWN", "AA2517")]


def test_unknown_version_without_labelled_config_is_no_unknown(audit):
    a = audit({"cluster-a": two_revisions("1.19.10", image="docker.io/istio/pilot@sha256:" + "a" * 64)}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert [(r["status"], r["code"]) for r in a.rows(CHECK)] == [("PASS", "AA2501")]


def test_aa2516_gives_a_label_command_per_object(audit):
    found = rows(audit, "1.16.7")
    commands = sorted(r["remediation"] for r in found)
    assert commands == [
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label gateways.networking.istio.io/meshexpansion-gateway '
        "-n istio-system operator.istio.io/component-",
        'kubectl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" label virtualservices.networking.istio.io/'
        "meshexpansion-vs-istiod -n istio-system operator.istio.io/component-"]
