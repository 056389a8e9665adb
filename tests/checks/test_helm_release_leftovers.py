"""A Helm-installed Istio at the uninstall and finished gates, as Istio's charts and Helm write it.

istio/istio manifests/charts/istio-control/istio-discovery/templates/{deployment,service,configmap,mutatingwebhook}.yaml
@1.22.8, 1.24.6, 1.26.8, 1.30.3 label istiod's objects operator.istio.io/component: Pilot under Helm too (beside Helm's
app.kubernetes.io/managed-by and meta.helm.sh/release-* annotations, helm/helm@v3.21.4:pkg/action/validate.go); the
base chart's (base/templates/defaultrevision-validatingwebhookconfiguration.yaml, crds.yaml @1.24.6) carry none.
`istioctl uninstall --purge` (operator/pkg/uninstall/prune.go @1.24.0..1.30.3: the label alone selects) deletes the
former and leaves Helm's release records; `helm uninstall` skips what is already gone (rdelete,
helm/helm@v3.21.4:pkg/kube/client.go) and removes the record.
"""

from __future__ import annotations

import pytest

from tests import factory as f
from tests import install_shapes as S


def _base_validator(version: str) -> dict:
    """istiod-default-validator as `helm install istio-base istio/base` writes it
    (defaultrevision-validatingwebhookconfiguration.yaml @1.24.6: app/istio/istio.io/rev/release, istio.labels)."""
    return f.webhook_config(
        "istiod-default-validator", mutating=False,
        labels={"app": "istiod", "istio": "istiod", "release": "istio-base", "app.kubernetes.io/name": "istiod",
                "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "istio-base",
                "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                "helm.sh/chart": f"base-{version}"},
        annotations={"meta.helm.sh/release-name": "istio-base", "meta.helm.sh/release-namespace": "istio-system"})


@pytest.mark.parametrize("version", ["1.22.8", "1.30.3"])
def test_istiod_left_by_helm_is_removed_with_its_release(audit, version):
    """At Finished, a Helm-installed istiod still there: main's only command was `kubectl delete deployment/istiod`,
    which leaves Helm's record of release istiod (the next `helm upgrade` or GitOps sync installs it again). The
    command names the release's `helm uninstall`."""
    shape = S.moved_to_asm(S.helm_revision(version, ""))
    a = audit({"cluster-a": [*shape.objects, _base_validator("1.24.6")]}, "finished",
              asm=[f.migration_cr("Finished")])
    rows = {(r["code"], r["name"]): r for r in a.rows("istio-control-plane-removed")}
    istiod = rows[("AA2210", "istiod")]
    assert istiod["status"] == "FAIL"
    assert 'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istiod -n istio-system' in istiod["remediation"]
    validator = rows[("AA2212", "istiod-default-validator")]
    assert validator["status"] == "FAIL"
    assert "uninstall istio-base -n istio-system" in validator["remediation"]
    assert (a.result.verdict, a.result.exit_code) == ("NO-GO", 1)


def test_istiods_leftovers_of_a_helm_release_name_the_release_before_the_purge(audit):
    """At Finished, istiod's Deployment, Service and injector deleted by name (`kubectl delete`); its mesh ConfigMap
    and values ConfigMap (configmap.yaml, configmap-values.yaml @1.30.3: operator.istio.io/component Pilot, Helm's
    release annotations) are left. main's AA2328 command was `istioctl uninstall --purge`, which deletes them and
    leaves Helm's record of release istiod; `helm uninstall istiod` removes both."""
    shape = S.moved_to_asm(S.helm_revision("1.30.3", ""))
    gone = {("Deployment", "istiod"), ("Service", "istiod"), ("MutatingWebhookConfiguration", "istio-sidecar-injector")}
    objs = [o for o in shape.objects if (o["kind"], o["metadata"]["name"]) not in gone
            and not (o["kind"] in ("ReplicaSet", "Pod") and o["metadata"]["name"].startswith("istiod-"))]
    a = audit({"cluster-a": objs}, "finished", asm=[f.migration_cr("Finished")])
    [row] = [r for r in a.rows("istio-residue") if r["code"] == "AA2328"]
    assert row["status"] == "WARN"
    assert sorted(row["evidence"]["objects"]) == ["ConfigMap istio-system/istio", "ConfigMap istio-system/values"]
    assert row["remediation"].splitlines()[1] == (
        'helm --kubeconfig="${KUBECONFIG_CLUSTER_A:?}" uninstall istiod -n istio-system')
