"""Hostile or odd input to the readers session 17 added: never a false GO (hostile17).

- purge-preview, istio-residue and istio-control-plane-removed keep what ASM's proxies read (auditor/gateways.py
  template_config_maps, template_service_account): the ConfigMaps a Deployment's or DaemonSet's pod template mounts
  (volumes[].configMap, projected sources) or reads (envFrom configMapRef, env valueFrom configMapKeyRef), and its
  ServiceAccount. None of these fields had a shape rule: a list as a volume's configMap name, volumes or projected
  sources written as a map, envFrom as a map, were read as "no ConfigMap", and an ASM gateway mounting Istio's mesh
  config `istio` let the purge delete it (PASS AA2501 where main says FAIL AA2510 on the same gateway written as the
  API server writes it); a configMap or projected source that is no object crashed the check (UNKNOWN AA0002,
  naming no object). kubernetes/api core/v1 types.go types them (Volume.Name string, required; ConfigMapVolumeSource,
  ConfigMapProjection, ConfigMapEnvSource, ConfigMapKeySelector embed LocalObjectReference{Name string};
  ProjectedVolumeSource.Sources []VolumeProjection; Container.EnvFrom []EnvFromSource; PodSpec.ServiceAccountName and
  DeprecatedServiceAccount `serviceAccount` string): the snapshot's shape rules now refuse other types, naming the
  object and field (exit 2); live, the Deployments are unread for the cluster (the kind UNKNOWN).

Shapes: the ASM gateway mounting Istio's mesh config of tests/checks/test_purge_in_use.py
(test_fail_when_asms_gateway_reads_istios_mesh_configmap: istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/
templates/deployment.yaml config-volume, templates/configmap.yaml of istio-discovery).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor import api
from auditor.errors import UsageError
from auditor.findings import records
from auditor.registry import load_registry
from tests import factory as f
from tests.checks.conftest import audit  # noqa: F401  (the fixture)
from tests.checks.test_purge_in_use import asm_gateway, istio_install
from tests.test_faults import served  # noqa: F401  (served: the fixture)
from tests.test_readonly import NOW

PURGE = "purge-preview"
MESH_CONFIG_READ = [("FAIL", "AA2510", "ConfigMap", "istio")]
GW = r"Deployment 'istio-system/istio-ingressgateway-asm': spec\.template\.spec\."


def _gateway(change) -> dict[str, Any]:
    """ASM's gateway reading Istio's mesh config `istio` (test_purge_in_use's shape), then `change`d."""
    gateway = asm_gateway()
    spec = gateway["spec"]["template"]["spec"]
    spec["volumes"] = [{"name": "config-volume", "configMap": {"name": "istio", "optional": True}}]
    change(spec)
    return gateway


def _purge(audit, gateway):  # noqa: F811
    a = audit({"cluster-a": [*istio_install(), f.mesh_configmap(), gateway]}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    return [(r["status"], r["code"], r["kind"], r["name"]) for r in a.rows(PURGE)]


def _proxy(spec):
    return spec["containers"][0]


def _set_volumes(value):
    return lambda spec: spec.update(volumes=value)


def _env_from(value):
    def change(spec):
        spec["volumes"] = []
        _proxy(spec)["envFrom"] = value
    return change


def _env(value):
    def change(spec):
        spec["volumes"] = []
        _proxy(spec)["env"] = [*(_proxy(spec).get("env") or []), {"name": "MESH", "valueFrom": value}]
    return change


@pytest.mark.parametrize(("change", "field"), [
    (_set_volumes([{"name": "config-volume", "configMap": {"name": ["istio"]}}]),
     r"volumes\[0\]\.configMap\.name must be a string"),
    (_set_volumes({"config-volume": {"configMap": {"name": "istio"}}}), r"volumes must be a list"),
    (_set_volumes([{"name": "config-volume", "configMap": [{"name": "istio"}]}]),
     r"volumes\[0\]\.configMap must be an object"),
    (_set_volumes([{"name": "config-volume", "configMap": "istio"}]), r"volumes\[0\]\.configMap must be an object"),
    (_set_volumes([{"name": "mesh", "projected": {"sources": {"configMap": {"name": "istio"}}}}]),
     r"volumes\[0\]\.projected\.sources must be a list"),
    (_set_volumes([{"name": "mesh", "projected": [{"sources": [{"configMap": {"name": "istio"}}]}]}]),
     r"volumes\[0\]\.projected must be an object"),
    (_set_volumes([{"name": "mesh", "projected": {"sources": [{"configMap": {"name": ["istio"]}}]}}]),
     r"volumes\[0\]\.projected\.sources\[0\]\.configMap\.name must be a string"),
    (_set_volumes([{"configMap": {"name": "istio"}}]), r"volumes\[0\]\.name is missing"),
    (_set_volumes([None]), r"volumes\[0\] is null"),
    (_env_from({"configMapRef": {"name": "istio"}}), r"containers\[0\]\.envFrom must be a list"),
    (_env_from([{"configMapRef": {"name": ["istio"]}}]), r"containers\[0\]\.envFrom\[0\]\.configMapRef\.name"),
    (_env_from([{"configMapRef": "istio"}]), r"containers\[0\]\.envFrom\[0\]\.configMapRef must be an object"),
    (_env({"configMapKeyRef": {"name": ["istio"], "key": "mesh"}}),
     r"containers\[0\]\.env\[\d+\]\.valueFrom\.configMapKeyRef\.name must be a string"),
    (_env({"configMapKeyRef": [{"name": "istio", "key": "mesh"}]}),
     r"containers\[0\]\.env\[\d+\]\.valueFrom\.configMapKeyRef must be an object"),
    (lambda spec: spec.update(serviceAccountName=["istio-ingressgateway-service-account"]),
     r"serviceAccountName must be a string"),
    (lambda spec: spec.update(serviceAccount={"name": "istio-ingressgateway-service-account"}),
     r"serviceAccount must be a string"),
])
def test_a_template_reading_configmaps_through_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: PASS AA2501 (ASM's gateway read as reading no ConfigMap, the purge deleting Istio's mesh config it mounts)
    for a configMap name as a list, volumes as a map, projected sources as a map or a source's name as a list, a null
    volume, envFrom as a map or its name as a list, a configMapKeyRef name as a list; UNKNOWN AA0002 naming no object
    for a configMap, projected volume, configMapRef or configMapKeyRef that is no object; FAIL AA2510 for the volume
    without a name and the ServiceAccount fields (read as `str(...)`: what core/v1 cannot hold)."""
    with pytest.raises(UsageError, match=GW + field):
        _purge(audit, _gateway(change))


@pytest.mark.parametrize("change", [
    lambda spec: None,
    lambda spec: spec.update(volumes=[{"name": "mesh", "projected": {"sources": [
        {"configMap": {"name": "istio"}}, {"serviceAccountToken": {"path": "token"}}]}}]),
    _env_from([{"configMapRef": {"name": "istio"}}]),
    _env({"configMapKeyRef": {"name": "istio", "key": "mesh"}}),
])
def test_a_template_reading_configmaps_as_core_v1_writes_them_is_read_as_before(audit, change):  # noqa: F811
    """Control: as on main (a volume, a projected source, envFrom, env valueFrom: each reads Istio's `istio`)."""
    assert _purge(audit, _gateway(change)) == MESH_CONFIG_READ


def test_null_template_fields_are_absent(audit):  # noqa: F811
    """null is absent (kubectl omits empty fields), as for every shape rule: ASM's gateway reads nothing then."""
    def change(spec):
        spec.update(volumes=None, serviceAccountName=None)
        _proxy(spec)["envFrom"] = None
    assert _purge(audit, _gateway(change)) == [("PASS", "AA2501", "", "")]


def test_a_live_template_reading_a_configmap_through_another_type_is_unknown(served, fake_api, fake_asm):  # noqa: F811
    """Live, through the kubernetes client against tests/fakeapi.py: the same rule makes the Deployments unread for the
    cluster, and purge-preview UNKNOWN (main: PASS AA2501, the purge deleting the mesh config ASM's gateway mounts)."""
    gateway = _gateway(_set_volumes([{"name": "config-volume", "configMap": {"name": ["istio"]}}]))
    fake_api.load([*istio_install(), f.mesh_configmap(), gateway])
    fake_asm.load([f.migration_cr("Migrating")])
    focus = Path(str(served.kubeconfig)).parent / "focus.yaml"
    focus.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks if c != PURGE]}}))
    result = api.run_audit(served, "uninstall", focus, now=NOW)
    [cluster] = result.inventory.data_planes
    assert "spec.template.spec.volumes[0].configMap.name must be a string" in cluster.errors["deployments.apps"]
    assert result.exit_code == 3
    found = [(r["status"], r["code"]) for r in records(result.findings) if r["check_id"] == PURGE]
    assert found and all(status == "UNKNOWN" for status, _ in found), found
