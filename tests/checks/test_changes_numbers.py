"""The CAB plan's uninstall numbers for Helm-installed Istio and for a cluster without Istio, from purge-preview's
findings (auditor/render/changes.py). Shapes as in test_purge.py (Helm's labels and release annotations)."""

from __future__ import annotations

from auditor.render import changes
from tests import factory as f


def _numbers(audit_result, cluster: str = "cluster-a") -> list[tuple[int | None, str, str]]:
    [entry] = changes.plan(audit_result.result)
    [c] = [c for c in entry["clusters"] if c["name"] == cluster]
    return [(n["count"], n["what"], n["detail"]) for n in c["numbers"]]


def test_helm_releases_are_counted_and_named(audit):
    a = audit({"cluster-a": f.helm_installed_istio()}, "uninstall", asm=[f.migration_cr("Migrating")])
    # istiod's Deployment carries operator.istio.io/component: Pilot as the chart writes it: the purge deletes it too.
    assert _numbers(a) == [(2, "Helm releases of Istio to remove with helm uninstall",
                            "istio-system/istiod, istio-system/istio-base"),
                           (1, "objects labelled operator.istio.io/component deleted", "1 Deployment")]


def test_a_cluster_without_istio_deletes_nothing(audit):
    app = f.deployment("web")
    a = audit({"cluster-a": [f.namespace("shop"), *app, *f.workload_pods(app, 2, proxy="asm")]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    [(count, what, _detail)] = _numbers(a)
    assert (count, what) == (0, "objects deleted")
