"""The uninstall's command as the installed Istio's istioctl spells it, in every check that gives it (fix23b, lead 3).

`uninstall` is under `istioctl x` up to 1.14 (istio/istio@1.10.6 and @1.14.6 istioctl/cmd/root.go:
experimentalCmd.AddCommand(mesh.UninstallCmd(...)); @1.15.0 rootCmd.AddCommand): `istioctl uninstall --purge` is no
command of istioctl 1.10..1.14. istioctl labels everything it installs operator.istio.io/version with its own version
(@1.22.3 operator/pkg/helmreconciler/reconciler.go getCoreOwnerLabels; @1.24.6 operator/pkg/install/install.go
getOwnerLabels). purge-preview's preview had the rule (red22m); main's migration-resource AA0702 and istio-residue
AA2328 said `istioctl uninstall --purge` for every version.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests.checks.test_residue import asm_footprint

KUBECONFIG_A = '--kubeconfig="${KUBECONFIG_CLUSTER_A:?}"'
KUBECONFIG_B = '--kubeconfig="${KUBECONFIG_CLUSTER_B:?}"'
SPELLED = [("1.10.6", "x uninstall --purge"), ("1.14.6", "x uninstall --purge"), ("1.22.3", "uninstall --purge")]


def ready_to_uninstall(audit, clusters: dict[str, list[dict]]) -> str:
    (row,) = audit(clusters, "uninstall", asm=[f.migration_cr("Migrating")]).rows("migration-resource")
    assert (row["status"], row["code"]) == ("PASS", "AA0702")
    return row["remediation"]


@pytest.mark.parametrize(("version", "command"), SPELLED)
def test_aa0702_uses_the_installed_istioctls_spelling(audit, version, command):
    remediation = ready_to_uninstall(audit, {"cluster-a": [f.istiod(version=version)]})
    # main: `istioctl ... uninstall --purge  # use the istioctl that matches ...` for 1.10 and 1.14 too
    assert remediation == f"istioctl {KUBECONFIG_A} {command}  # istioctl {version}"


def test_aa0702_one_line_per_cluster_each_with_its_own_version(audit):
    remediation = ready_to_uninstall(audit, {"cluster-a": [f.istiod(version="1.14.6")],
                                             "cluster-b": [f.istiod(version="1.22.3")]})
    assert remediation.splitlines() == [f"istioctl {KUBECONFIG_A} x uninstall --purge  # istioctl 1.14.6",
                                        f"istioctl {KUBECONFIG_B} uninstall --purge  # istioctl 1.22.3"]


def test_aa0702_without_one_version_names_todays_command_and_says_to_match_it(audit):
    # Revisions of two versions: no single istioctl (purge-preview says which revision runs which).
    remediation = ready_to_uninstall(audit, {"cluster-a": [f.istiod(version="1.14.6"),
                                                           f.istiod("1-22-3", version="1.22.3")]})
    command, comment = remediation.split("  # ")
    assert command == f"istioctl {KUBECONFIG_A} uninstall --purge"
    assert "istioctl 1." not in comment


def leftovers(audit, cluster: list[dict]) -> list[str]:
    (row,) = [r for r in audit({"cluster-a": [*asm_footprint(), *cluster]}, "finished", asm=[]).rows("istio-residue")
              if r["code"] == "AA2328"]
    assert row["status"] == "WARN"
    return row["remediation"].splitlines()


def mesh_config(version: str | None = None) -> dict:
    """The mesh ConfigMap `istio` istioctl left behind (its install labels, operator.istio.io/version when given)."""
    labels = {**f.ISTIO_INSTALL_LABELS, "operator.istio.io/component": "Pilot"}
    if version:
        labels["operator.istio.io/version"] = version
    return f.configmap("istio", "istio-system", {"mesh": "{}"}, labels=labels)


@pytest.mark.parametrize(("version", "command"), SPELLED)
def test_aa2328_uses_the_installed_istioctls_spelling(audit, version, command):
    lines = leftovers(audit, [mesh_config(), f.istiod(version=version)])
    assert lines[0] == f"istioctl {KUBECONFIG_A} {command}  # istioctl {version}"  # main: always `uninstall --purge`


@pytest.mark.parametrize(("version", "command"), SPELLED)
def test_aa2328_with_istiod_gone_reads_the_version_its_installer_wrote(audit, version, command):
    # The finished gate's usual case: istiod deleted, the installer's ConfigMap left with its labels.
    lines = leftovers(audit, [mesh_config(version)])
    assert lines[0] == f"istioctl {KUBECONFIG_A} {command}  # istioctl {version}"


def test_aa2328_without_a_version_names_todays_command_and_says_to_match_it(audit):
    lines = leftovers(audit, [mesh_config()])
    command, comment = lines[0].split("  # ")
    assert command == f"istioctl {KUBECONFIG_A} uninstall --purge"
    assert "istioctl 1." not in comment


# ---------------------------------------------------------------- the report's own commands (left by fix23b)
def test_the_reports_uninstall_step_and_purge_preview_use_each_clusters_istioctl(audit):
    """The runbook's uninstall step and the change plan's preview said `istioctl uninstall --purge [--dry-run]` for
    every cluster: no command of istioctl 1.10..1.14. Each cluster's now, as purge-preview and AA0702 spell it."""
    from auditor.render import changes
    from auditor.render.context import HTML_LIMITS, runbook

    result = audit({"cluster-a": [f.istiod(version="1.14.6")], "cluster-b": [f.istiod(version="1.22.3")]},
                   "uninstall", asm=[f.migration_cr("Migrating")]).result
    [entry] = changes.plan(result)
    previews = [c for c in entry["undo_before_commands"] if c.startswith("istioctl")]
    assert previews == [f"istioctl {KUBECONFIG_A} x uninstall --purge --dry-run",
                        f"istioctl {KUBECONFIG_B} uninstall --purge --dry-run"]
    empty = result.findings.iloc[0:0]
    [step] = [s for s in runbook(result, empty, empty, HTML_LIMITS) if "uninstall --purge" in " ".join(s["commands"])]
    assert step["commands"] == [f"istioctl {KUBECONFIG_A} x uninstall --purge",
                                f"istioctl {KUBECONFIG_B} uninstall --purge"]


def test_two_revisions_of_versions_spelled_apart_get_todays_spelling_in_the_report(audit):
    """review23a: istio_version lists every istiod ("1.14.6, 1.20.0") and was parsed as 1.14: `istioctl x uninstall`,
    which istioctl 1.20 no longer has (root.go @1.20.0 registers uninstall at the root only). With no one version the
    report says today's spelling, as AA0702 does, from the one reader of the installed istioctl."""
    from auditor.render import changes
    from auditor.render.context import HTML_LIMITS, runbook

    result = audit({"cluster-a": [f.istiod(version="1.14.6"), f.istiod("1-20-0", version="1.20.0")]},
                   "uninstall", asm=[f.migration_cr("Migrating")]).result
    [facts] = [c for c in result.clusters if c["name"] == "cluster-a"]
    assert facts["istio_version"] == "1.14.6, 1.20.0" and facts["istioctl_version"] is None
    [entry] = changes.plan(result)
    assert [c for c in entry["undo_before_commands"] if c.startswith("istioctl")] == [
        f"istioctl {KUBECONFIG_A} uninstall --purge --dry-run"]
    empty = result.findings.iloc[0:0]
    [step] = [s for s in runbook(result, empty, empty, HTML_LIMITS) if "uninstall --purge" in " ".join(s["commands"])]
    assert step["commands"] == [f"istioctl {KUBECONFIG_A} uninstall --purge"]
