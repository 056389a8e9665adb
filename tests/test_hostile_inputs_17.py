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
  object and field (exit 2); live, the Deployments are unread for the cluster (the kind UNKNOWN; main: exit 0, a GO).

- purge-preview and cni-compatibility read ASM's CNI state from a saved DescribeServiceMeshDetail answer
  (auditor/asmcni.py: ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration Enabled / ExcludeNamespaces).
  ExcludeNamespaces as a list was read as the names "['kube-system'" and "'shop']", so shop, where ASM's pods run and
  which ASM's plug-in skips, counted as served by it: PASS AA2501 (main) where the answer as the SDK types it gives
  UNKNOWN AA2535; an InitCNIConfiguration as a list or Enabled "true" was read as ASM not saying (PASS AA2501); a
  list or string on the path crashed both checks (AA0002). Alibaba Cloud's SDK types every step
  (alibabacloud-servicemesh20200111 3.4.0 models.py, DescribeServiceMeshDetailResponseBodyServiceMesh... down to
  InitCNIConfiguration `enabled: bool`, `exclude_namespaces: str`), so a live answer has them: a saved answer (the
  snapshot's manifest, or a file named in the config) of other types is refused, naming the field (exit 2).
- a ValidatingWebhookConfiguration calling ASM's istiod (`istioctl tag set default --revision <ASM's>` writes
  istiod-default-validator: istio/istio@1.24.6:istioctl/pkg/tag/generate.go generateValidatingWebhook) is kept by
  purge-preview through gateways.asm_data_plane_uses; its clientConfig.service had no shape rule (the mutating ones
  have, hostile16): a list or number as its name or namespace, or no namespace, was read as calling no Service, and
  the purge deleting ASM's validator passed (AA2501; live: exit 0, a GO); istio-control-plane-removed crashed on a
  service written as a list. admissionregistration/v1 ServiceReference: refused as the mutating ones.

Shapes: the ASM gateway mounting Istio's mesh config of tests/checks/test_purge_in_use.py
(test_fail_when_asms_gateway_reads_istios_mesh_configmap: istio/istio@1.24.6 manifests/charts/gateways/istio-ingress/
templates/deployment.yaml config-volume, templates/configmap.yaml of istio-discovery).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import api
from auditor.errors import UsageError
from auditor.findings import records
from auditor.registry import load_registry
from tests import factory as f
from tests.checks.conftest import audit  # noqa: F401  (the fixture)
from tests.checks.test_purge_in_use import asm_gateway, istio_install
from tests.test_faults import served  # noqa: F401  (served: the fixture)
from tests.test_fuzz import audit as fuzz_audit
from tests.test_fuzz import only
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


# ---------------------------------------------------------------- ASM's CNI state from DescribeServiceMeshDetail
def _detail(change) -> dict[str, Any]:
    """tests/checks/test_purge_cni.py mesh_detail (ASM's plug-in on, skipping kube-system and shop), then `change`d
    (alibabacloud-servicemesh20200111 3.4.0 models.py: InitCNIConfiguration `enabled: bool`, `exclude_namespaces:
    str`)."""
    from tests.checks.test_purge_cni import mesh_detail

    answer = mesh_detail(True, "kube-system,shop")
    change(answer["DescribeServiceMeshDetail"])
    return answer


def _init_cni(detail: dict[str, Any]) -> dict[str, Any]:
    return detail["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"]["InitCNIConfiguration"]


CNI_CASES = [
    (lambda d: _init_cni(d).update(ExcludeNamespaces=["kube-system", "shop"]),
     r"InitCNIConfiguration\.ExcludeNamespaces must be a string"),
    (lambda d: _init_cni(d).update(ExcludeNamespaces={"shop": True}), r"ExcludeNamespaces must be a string"),
    (lambda d: d.update(ServiceMesh=[d["ServiceMesh"]]), r"ServiceMesh must be an object"),
    (lambda d: d["ServiceMesh"].update(Spec="{}"), r"ServiceMesh\.Spec must be an object"),
    (lambda d: d["ServiceMesh"]["Spec"]["MeshConfig"].update(SidecarInjector=[1]),
     r"MeshConfig\.SidecarInjector must be an object"),
    (lambda d: d["ServiceMesh"]["Spec"]["MeshConfig"]["SidecarInjector"].update(
        InitCNIConfiguration=[_init_cni(d)]), r"SidecarInjector\.InitCNIConfiguration must be an object"),
    (lambda d: _init_cni(d).update(Enabled="true"), r"InitCNIConfiguration\.Enabled must be true or false"),
]


@pytest.mark.parametrize(("change", "field"), CNI_CASES)
def test_a_saved_mesh_detail_of_other_types_is_bad_input(audit, change, field):  # noqa: F811
    """Main: purge-preview PASS AA2501 for the ExcludeNamespaces list or map (the names read "['kube-system'" and
    "'shop']": shop served by ASM's plug-in) and for the InitCNIConfiguration list or the Enabled string (read as ASM
    not saying); UNKNOWN AA0002 naming no answer nor field (purge-preview and cni-compatibility crashed) for the rest.
    The snapshot's manifest answer: exit 2 naming the field."""
    from tests.checks.test_purge_cni import cluster

    with pytest.raises(UsageError, match=r"'asm_openapi' answer 'DescribeServiceMeshDetail': .*" + field):
        audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              asm_openapi=_detail(change), config=f.only_checks(PURGE))


@pytest.mark.parametrize(("change", "field"), CNI_CASES[:3])
def test_a_mesh_detail_file_of_other_types_named_in_the_config_is_bad_input(audit, tmp_path, change, field):  # noqa: F811
    """The same answer saved to a file named by config asm.describe_service_mesh_detail: exit 2 naming the file."""
    from tests.checks.test_purge_cni import cluster

    path = tmp_path / "detail.json"
    path.write_text(json.dumps(_detail(change)["DescribeServiceMeshDetail"]))
    with pytest.raises(UsageError, match=rf"saved ASM OpenAPI answer {path} \(DescribeServiceMeshDetail\): .*{field}"):
        audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              config={"asm": {"describe_service_mesh_detail": str(path)}, **f.only_checks(PURGE)})


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: None, ("UNKNOWN", "AA2535")),
    # No value: which namespaces ASM's plug-in skips is not said (red20q; main read it as "none", PASS AA2501).
    (lambda d: _init_cni(d).update(ExcludeNamespaces=None), ("UNKNOWN", "AA2535")),
    (lambda d: _init_cni(d).update(ExcludeNamespaces="kube-system"), ("PASS", "AA2501")),
    (lambda d: _init_cni(d).update(Enabled=False), ("PASS", "AA2501")),
])
def test_a_mesh_detail_as_the_sdk_types_it_is_read_as_before(audit, change, expected):  # noqa: F811
    """Control: the SDK's types are read, not refused (null is absent: ASM's SDK leaves out what it does not set, and
    an ExcludeNamespaces left out says nothing of the namespaces the plug-in skips)."""
    from tests.checks.test_purge_cni import cluster

    a = audit({"cluster-a": cluster()}, "uninstall", asm=[f.migration_cr("Migrating")],
              asm_openapi=_detail(change), config=f.only_checks(PURGE))
    assert [(r["status"], r["code"]) for r in a.rows(PURGE)] == [expected]


# ---------------------------------------------------------------- a validating webhook calling ASM's istiod
def _asm_validator() -> dict[str, Any]:
    """`istioctl tag set default --revision 1-24-6` (ASM's revision) writes istiod-default-validator calling ASM's
    istiod (istio/istio@1.24.6:istioctl/pkg/tag/generate.go generateValidatingWebhook, the client config copied from
    the revision's), with Istio's install labels; tests/checks/test_purge_in_use.py does the same for the mutating tag
    webhook."""
    labels = {"istio.io/rev": "1-24-6", "operator.istio.io/component": "Pilot", "app": "istiod", "release": "istio"}
    return f.webhook_config("istiod-default-validator", mutating=False, service_name="istiod-1-24-6",
                            revision="1-24-6", labels=labels)


def _with_asm_istiod(*objects: dict[str, Any]) -> list[dict[str, Any]]:
    from tests.checks.test_purge_in_use import asm_istiod_service

    canonical = f.webhook_config("istio-sidecar-injector-1-24-6", service_name="istiod-1-24-6", revision="1-24-6",
                                 labels={"app": "sidecar-injector"})
    return [*istio_install(), asm_istiod_service(), canonical, *objects]


def _service_of(hook: dict[str, Any]) -> dict[str, Any]:
    return hook["webhooks"][0]["clientConfig"]["service"]


@pytest.mark.parametrize(("change", "field"), [
    (lambda h: _service_of(h).update(name=["istiod-1-24-6"]), r"service\.name must be a string"),
    (lambda h: _service_of(h).update(namespace=7), r"service\.namespace must be a string"),
    (lambda h: h["webhooks"][0]["clientConfig"].update(service=[_service_of(h)]), r"service must be an object"),
    (lambda h: _service_of(h).pop("namespace"), r"service\.namespace is missing"),
])
@pytest.mark.parametrize(("check", "gate"), [(PURGE, "uninstall"), ("istio-control-plane-removed", "finished")])
def test_a_validating_webhook_calling_a_service_of_other_types_is_bad_input(audit, change, field, check, gate):  # noqa: F811
    """Main: purge-preview PASS AA2501 (ASM's validator read as calling no Service: the purge deletes it),
    istio-control-plane-removed FAIL AA2212 (an Istio webhook to delete) or UNKNOWN AA0002 (crashed, naming no object)
    for the service as a list. admissionregistration/v1 ServiceReference, as for the mutating ones (hostile16)."""
    hook = _asm_validator()
    change(hook)
    with pytest.raises(UsageError, match=r"ValidatingWebhookConfiguration 'istiod-default-validator': "
                                         r"webhooks\[0\]\.clientConfig\." + field):
        audit({"cluster-a": _with_asm_istiod(hook)}, gate, asm=[f.migration_cr("Migrating")],
              config=f.only_checks(check))


def test_a_validating_webhook_as_istioctl_writes_it_is_read_as_before(audit):  # noqa: F811
    """Control: as on main (the purge would delete ASM's validator: FAIL AA2510; after it, not Istio's: WARN AA2220)."""
    a = audit({"cluster-a": _with_asm_istiod(_asm_validator())}, "uninstall", asm=[f.migration_cr("Migrating")],
              config=f.only_checks(PURGE))
    assert [(r["status"], r["code"], r["kind"]) for r in a.rows(PURGE)] == [
        ("FAIL", "AA2510", "ValidatingWebhookConfiguration")]
    url = _asm_validator()
    url["webhooks"][0]["clientConfig"] = {"url": "https://istiod-1-24-6.istio-system.svc:443/validate"}
    b = audit({"cluster-a": _with_asm_istiod(url)}, "finished", asm=[f.migration_cr("Migrating")],
              config=f.only_checks("istio-control-plane-removed"))
    assert b.rows("istio-control-plane-removed")  # a webhook calling a URL is read, as before


# ---------------------------------------------------------------- hypothesis: ASM's gateway's volumes, any shape
_NAME = st.one_of(st.just("istio"), st.just("other"), st.none(), st.lists(st.just("istio"), max_size=1),
                  st.integers(0, 2), st.just({"name": "istio"}))
_REF_OBJECT = st.fixed_dictionaries({}, optional={"name": _NAME, "optional": st.booleans()})
_REF = st.one_of(st.none(), _REF_OBJECT, st.just("istio"), st.lists(_REF_OBJECT, max_size=1))
_SOURCE = st.one_of(st.none(), st.just("istio"), st.fixed_dictionaries({}, optional={
    "configMap": _REF, "serviceAccountToken": st.just({"path": "token"})}))
_PROJECTED = st.one_of(st.none(), st.just([]), st.fixed_dictionaries({}, optional={"sources": st.one_of(
    st.none(), st.lists(_SOURCE, max_size=2), st.dictionaries(st.just("configMap"), _REF, max_size=1))}))
_VOLUME = st.one_of(st.none(), st.fixed_dictionaries(
    {"name": st.one_of(st.just("config-volume"), st.none(), st.integers(0, 1))},
    optional={"configMap": _REF, "projected": _PROJECTED, "emptyDir": st.just({})}))
_VOLUMES = st.one_of(st.none(), st.lists(_VOLUME, max_size=3),
                     st.dictionaries(st.just("config-volume"), _VOLUME, max_size=1))


def _reads_istio(volumes: Any) -> bool:
    """Whether well-typed volumes (the snapshot was accepted) mount the ConfigMap `istio`."""
    def named(ref: Any) -> bool:
        return isinstance(ref, dict) and ref.get("name") == "istio"

    def sources(volume: dict[str, Any]) -> list[Any]:
        projected = volume.get("projected")
        found = projected.get("sources") if isinstance(projected, dict) else None
        return found if isinstance(found, list) else []

    return any(isinstance(volume, dict) and (named(volume.get("configMap")) or any(
        isinstance(source, dict) and named(source.get("configMap")) for source in sources(volume)))
        for volume in (volumes if isinstance(volumes, list) else ()))


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(volumes=_VOLUMES)
def test_asms_gateway_mounting_istios_mesh_config_never_passes_whatever_its_volumes(volumes):
    """ASM's gateway beside Istio's labelled mesh config `istio`: bad input (exit 2, one line), or purge-preview FAIL
    AA2510 on the ConfigMap exactly when the volumes (well typed) mount it, else PASS AA2501; never a crash (AA0002)."""
    gateway = asm_gateway()
    gateway["spec"]["template"]["spec"]["volumes"] = volumes
    with tempfile.TemporaryDirectory() as tmp:
        root = f.write_snapshot(Path(tmp), {"cluster-a": [*istio_install(), f.mesh_configmap(), gateway],
                                            "asm": [f.migration_cr("Migrating")]},
                                versions={"cluster-a": f.version_info(), "asm": f.version_info()},
                                manifest={"clusters": [
                                    {"name": "cluster-a", "role": "data-plane", "dir": "cluster-a", "complete": True},
                                    {"name": "asm", "role": "asm", "dir": "asm", "complete": True}]})
        outcome = fuzz_audit(root, "uninstall", only(PURGE))
    if isinstance(outcome, UsageError):
        return
    found = [(r["status"], r["code"], r["kind"], r["name"]) for r in records(outcome.findings)
             if r["check_id"] == PURGE]
    assert found == (MESH_CONFIG_READ if _reads_istio(volumes) else [("PASS", "AA2501", "", "")]), (found, volumes)


def test_a_live_validating_webhook_calling_a_service_of_another_type_is_unknown(served, fake_api, fake_asm):  # noqa: F811
    """Live: the same rule makes the cluster's ValidatingWebhookConfigurations unread, and purge-preview UNKNOWN (main:
    PASS AA2501, the purge deleting ASM's validator)."""
    hook = _asm_validator()
    _service_of(hook)["name"] = ["istiod-1-24-6"]
    fake_api.load([*_with_asm_istiod(hook)])
    fake_asm.load([f.migration_cr("Migrating")])
    focus = Path(str(served.kubeconfig)).parent / "focus.yaml"
    focus.write_text(json.dumps({"checks": {"disable": [c for c in load_registry().checks if c != PURGE]}}))
    result = api.run_audit(served, "uninstall", focus, now=NOW)
    [cluster] = result.inventory.data_planes
    assert "webhooks[0].clientConfig.service.name must be a string" in cluster.errors[
        "validatingwebhookconfigurations.admissionregistration.k8s.io"]
    assert result.exit_code == 3
    assert [r["status"] for r in records(result.findings) if r["check_id"] == PURGE] == ["UNKNOWN"]
