"""purge-preview: the preview command is the one the installed Istio's istioctl has (red22m).

`uninstall` is `istioctl x uninstall` up to 1.14 (istio/istio@1.10.6..1.14.6 istioctl/cmd/root.go: experimentalCmd;
rootCmd from 1.15.0) and has no --dry-run in 1.10 (operator/cmd/mesh/uninstall.go @1.10.6 never calls addFlags;
@1.11.0 does). The seed says to run the istioctl of the installed version; main named `istioctl uninstall --purge
--dry-run` for every version: no such command in istioctl 1.10..1.14.
"""

from __future__ import annotations

from tests import factory as f

CHECK = "purge-preview"


def preview(audit, version: str) -> list[str]:
    a = audit({"cluster-a": [f.istiod(version=version)]}, "uninstall", asm=[f.migration_cr("Migrating")])
    (row,) = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("PASS", "AA2501")
    return row["remediation"].splitlines()


def test_istioctl_1_12_previews_under_x(audit):
    assert preview(audit, "1.12.9")[0].startswith(
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" x uninstall --purge --dry-run')


def test_istioctl_1_10_has_no_dry_run_the_preview_is_the_label_listing(audit):
    lines = preview(audit, "1.10.6")
    commands = [line for line in lines if not line.startswith("#")]
    assert commands and all(line.startswith("kubectl ") and "-l operator.istio.io/component" in line
                            for line in commands)
    assert not any("--dry-run" in line for line in lines)
    # What 1.10's purge deletes, Secrets included (istio/istio@1.10.6 operator/pkg/helmreconciler/prune.go
    # NamespacedResources; review22b: the listing left them out). kubectl lists their names only.
    listed = {kind for line in commands for kind in line.split(" get ", 1)[1].split()[0].split(",")}
    assert {"secrets", "serviceaccounts", "pods", "mutatingwebhookconfigurations"} <= listed


def test_istioctl_1_15_and_later_at_the_root(audit):
    assert preview(audit, "1.16.7")[0].startswith(
        'istioctl --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall --purge --dry-run')
