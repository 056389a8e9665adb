"""residue.allow never keeps a custom Istio revision's ConfigMaps out of istio-residue (fix23d).

config.py refuses the residue.allow globs that name Istio's mesh ConfigMap for any revision (`ConfigMap/istio-*`,
`*istio*`), but not a narrow one such as `ConfigMap/istio-system/istio-b*` or `ConfigMap/istio-blue`: whether `blue` is
a revision only the cluster tells. istiod's chart names its ConfigMaps after its revision and labels them with it
(istio/istio manifests/charts/istio-control/istio-discovery @1.22.3: templates/configmap.yaml `istio-<rev>`,
istiod-injector-configmap.yaml `istio-sidecar-injector-<rev>`; @1.26.8 also configmap-values.yaml `values-<rev>`;
labels istio.io/rev, install.operator.istio.io/owning-resource, operator.istio.io/component: Pilot, release), and a
Helm install adds Helm's own marks (app.kubernetes.io/managed-by: Helm, meta.helm.sh/release-name/-namespace). Such a
glob hid the revision's ConfigMaps the purge still has to remove (AA2328) or left behind (AA2326): istio-residue said
PASS, and --strict said GO. Now the allow is ignored for them, and the finding's evidence says which allow and why.
"""

from __future__ import annotations

from typing import Any

from auditor.findings import verdict_of
from auditor.model import Verdict
from tests import factory as f
from tests.checks.test_residue import asm_footprint

RES = "istio-residue"
RELEASE = "istiod-blue"  # helm install istiod-blue istio/istiod -n istio-system --set revision=blue
HELM = {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": "istio-system"}


def blue_configmap(name: str, *, purge_label: bool = True, revision: str | None = "blue") -> dict[str, Any]:
    labels = {"install.operator.istio.io/owning-resource": "unknown", "release": RELEASE,
              "app.kubernetes.io/managed-by": "Helm"}
    if revision is not None:
        labels["istio.io/rev"] = revision
    if purge_label:
        labels["operator.istio.io/component"] = "Pilot"
    cm = f.configmap(name, "istio-system", {"mesh": "{}"}, labels=labels)
    cm["metadata"]["annotations"] = dict(HELM)
    return cm


def settings(*allow: str) -> dict[str, Any]:
    return {**f.only_checks(RES), "residue": {"allow": list(allow)}}


def test_a_narrow_glob_does_not_keep_a_revisions_configmaps_from_the_purge(audit):
    """Was PASS AA2301 (and GO under --strict): the purge's batch lost both ConfigMaps."""
    cluster = [*asm_footprint(), blue_configmap("istio-blue"), blue_configmap("istio-sidecar-injector-blue"),
               blue_configmap("values-blue")]  # 1.26's configmap-values.yaml (@1.26.8), labelled as the others
    a = audit({"cluster-a": cluster}, "finished", asm=[],
              config=settings("ConfigMap/istio-system/istio-b*", "ConfigMap/istio-sidecar-injector-blue",
                              "ConfigMap/*/values-*"))
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("WARN", "AA2328")
    assert sorted(row["evidence"]["objects"]) == ["ConfigMap istio-system/istio-blue",
                                                  "ConfigMap istio-system/istio-sidecar-injector-blue",
                                                  "ConfigMap istio-system/values-blue"]
    assert len(row["evidence"]["allow_ignored"]) == 3
    assert verdict_of(a.result.findings, strict=True) is Verdict.NO_GO


def test_a_revisions_mesh_configmap_without_the_purge_label_is_still_left(audit):
    """Not the purge's (no operator.istio.io/component): AA2326 of its own, the allow ignored in its evidence."""
    a = audit({"cluster-a": [*asm_footprint(), blue_configmap("istio-blue", purge_label=False)]}, "finished", asm=[],
              config=settings("ConfigMap/istio-blue"))
    (row,) = a.rows(RES)
    assert (row["status"], row["code"], row["name"]) == ("WARN", "AA2326", "istio-blue")
    assert "allow_ignored" in row["evidence"]


def test_a_revision_named_by_its_istiod_when_the_label_is_gone(audit):
    """Its istio.io/rev label removed: the revision still deployed (istiod-blue, istio.io/rev: blue) names it."""
    cluster = [*asm_footprint(), f.istiod(revision="blue"),
               blue_configmap("istio-blue", purge_label=False, revision=None)]
    a = audit({"cluster-a": cluster}, "finished", asm=[], config=settings("ConfigMap/istio-system/istio-b*"))
    rows = {r["code"]: r for r in a.rows(RES)}
    assert "allow_ignored" in rows["AA2326"]["evidence"]


def test_the_allow_still_keeps_what_is_no_revisions_configmap(audit):
    """An Istio-labelled ConfigMap of another name (istio-bookinfo-dashboards): the allow keeps it, as before."""
    cm = blue_configmap("istio-bookinfo-dashboards", purge_label=False)
    a = audit({"cluster-a": [*asm_footprint(), cm]}, "finished", asm=[],
              config=settings("ConfigMap/istio-system/istio-b*"))
    (row,) = a.rows(RES)
    assert (row["status"], row["code"]) == ("PASS", "AA2301")
    assert verdict_of(a.result.findings, strict=True) is Verdict.GO
