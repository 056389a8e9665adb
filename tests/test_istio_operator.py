"""Which Deployment is the in-cluster istio-operator: one rule (mesh.is_istio_operator), read by istio-revisions,
istio-control-plane-removed and the mesh config's note, each of which used to state its own (and they differed)."""

from __future__ import annotations

import copy

from auditor import mesh
from tests import factory as f


def test_the_operator_as_istios_chart_installs_it():
    # istio/istio manifests/charts/istio-operator/templates/deployment.yaml: unlabelled, pods name=istio-operator.
    assert mesh.is_istio_operator(f.istio_operator_deployment())
    assert mesh.is_istio_operator(f.istio_operator_deployment(revision="1-22-3"))  # istio-operator-1-22-3


def test_an_operator_labelled_by_another_packaging():
    dep, _ = f.deployment("mesh-operator", "ops", labels={"app.kubernetes.io/name": "istio-operator"})
    assert mesh.is_istio_operator(dep)
    dep, _ = f.deployment("mesh-operator", "ops", template_labels={"app.kubernetes.io/name": "istio-operator"})
    assert mesh.is_istio_operator(dep)


def test_other_deployments_are_not_the_operator():
    assert not mesh.is_istio_operator(f.istiod())
    exporter, _ = f.deployment("istio-operator-exporter", "monitoring")  # the name alone is not the revisioned chart's
    assert not mesh.is_istio_operator(exporter)
    other = copy.deepcopy(f.istio_operator_deployment(revision="1-22-3"))
    other["spec"]["template"]["metadata"]["labels"] = {"name": "cert-operator"}
    assert not mesh.is_istio_operator(other)
    assert not mesh.is_istio_operator({"metadata": {"name": "x"}, "spec": {"template": None}})  # malformed: no
