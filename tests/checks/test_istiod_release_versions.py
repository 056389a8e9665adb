"""istio-version reads an Istio release (1.x) from istiod, never a product's own numbering.

Maistra and Red Hat OpenShift Service Mesh 2.x deploy istiod from their own chart
(maistra/istio-operator@maistra-2.5.0:resources/helm/v2.1/istio-control/istio-discovery/templates/deployment.yaml):
Deployment `istiod-<revision>` labelled `maistra-version`, `app: istiod`, `istio.io/rev`, `istio: pilot`, container
`discovery`, image pinned by the operator's CSV to the product's version
(manifests-servicemesh/2.1.0/servicemeshoperator.v2.1.0.clusterserviceversion.yaml there:
registry.redhat.io/openshift-service-mesh/pilot-rhel8:2.1.0; manifests-maistra/2.1.0/...: its v2_0 image
docker.io/maistra/pilot-ubi8:2.0.2).
OpenShift Service Mesh 2.1 is built on Istio 1.9 (Red Hat, "Introducing OpenShift Service Mesh 2.1"), older than the
1.10 the migration needs: its tag read as "Istio 2.1.0" passed the gate.
"""

from __future__ import annotations

import pytest

from auditor import mesh
from auditor.istio import istiod_pinned_version
from tests import factory as f


def maistra_istiod(maistra: str, image: str, revision: str = "basic", namespace: str = "istio-system") -> dict:
    """istiod as the Maistra 2.x chart renders it (labels as written; `maistra-control-plane` on the pod template)."""
    labels = {"maistra-version": maistra, "app": "istiod", "istio.io/rev": revision, "istio": "pilot",
              "release": "istio"}
    dep, _ = f.deployment(f"istiod-{revision}", namespace, replicas=1, labels=labels,
                          template_labels={"maistra-control-plane": namespace, "app": "istiod",
                                           "istio.io/rev": revision, "sidecar.istio.io/inject": "false",
                                           "istio": "istiod"},
                          containers=[{"name": "discovery", "image": image,
                                       "args": ["discovery", "--memberRollName=default", "--monitoringAddr=:15014"]}])
    return dep


OSSM_21 = ("2.1.6", "registry.redhat.io/openshift-service-mesh/pilot-rhel8:2.1.0")
MAISTRA_20 = ("2.0.11", "docker.io/maistra/pilot-ubi8:2.0.2")
ASM = "v1.24.6.62-g5c7e1f0b-aliyun"  # the ASM instance's version given, so the gate rests on istio-version


@pytest.mark.parametrize(("maistra", "image"), [OSSM_21, MAISTRA_20])
def test_maistra_istiod_tag_is_not_an_istio_version(audit, maistra, image):
    run = audit({"c1": [maistra_istiod(maistra, image)]}, "assessment", config={"asm": {"version": ASM}})
    [row] = run.rows("istio-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0230")  # was PASS AA0201 "Istio 2.1.0 (>= 1.10)"
    assert row["name"] == "istiod-basic"
    assert run.result.verdict.value == "INCOMPLETE"  # was GO: the rest of the gate passes
    [revisions] = run.rows("istio-revisions")
    assert revisions["evidence"]["revisions"]["basic"]["version"] == "unknown"


def test_maistra_istiod_beside_an_istio_release_still_judges_that_one(audit):
    """The Istio release beside it is read as before; only the product-numbered istiod is not."""
    run = audit({"c1": [maistra_istiod(*OSSM_21), f.istiod("1-22-3", "1.22.3")]}, "assessment")
    rows = {r["name"]: (r["status"], r["code"]) for r in run.rows("istio-version") if r["name"]}
    assert rows == {"istiod-basic": ("UNKNOWN", "AA0230"), "istiod-1-22-3": ("PASS", "AA0201")}


@pytest.mark.parametrize("tag", ["2.1.0", "2.0.8", "3.0.0"])
def test_an_istiod_tag_of_another_major_is_no_istio_release(tag):
    """Istio has released only 1.x (istio/istio tags 1.0.0..1.30.3): a tag read as another major is no Istio release,
    whatever carries it (here Maistra's image without its chart's label, as a hand-written manifest would run it)."""
    dep = f.istiod("default", tag)
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = f"docker.io/maistra/pilot-ubi8:{tag}"
    del dep["metadata"]["labels"]["app.kubernetes.io/version"]
    version, why = istiod_pinned_version(dep)
    assert version is None and "not an Istio release" in why
    assert mesh.istiod_version(dep)[0] is None  # the cluster summary's istio_version says none either


def test_istio_releases_still_read():
    for tag, shown in (("1.22.3-distroless", "1.22.3"), ("1.9.5", "1.9.5"), ("1.10.0", "1.10.0")):
        dep = f.istiod("default", tag)
        assert str(istiod_pinned_version(dep)[0]) == shown


# ---------------------------------------------------------------- an istiod whose pods do not all run its template
def stuck_upgrade(version: str = "1.10.0", *, updated: int = 1, replicas: int = 2, generation: int = 2,
                  observed: int = 2) -> dict:
    """istiod upgraded in place (`istioctl upgrade` / `helm upgrade` of istiod: the Deployment's template now pins
    `version`) whose new pods never became ready: the Deployment controller keeps the old ReplicaSet's pods (istiod's
    strategy maxSurge 100%, maxUnavailable 25%: istio-discovery templates/deployment.yaml @1.10.0..1.30.3) and writes
    its status so (apps/v1 DeploymentStatus: replicas counts every non-terminated pod, updatedReplicas those of the
    current template; Progressing False with ProgressDeadlineExceeded after progressDeadlineSeconds)."""
    dep = f.istiod("default", version)
    dep["metadata"]["generation"] = generation
    dep["status"] = {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
                     "readyReplicas": replicas - updated, "availableReplicas": replicas - updated,
                     "unavailableReplicas": updated,
                     "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                     "message": 'ReplicaSet "istiod-7c9d8f6b5d" has timed out progressing.'}]}
    return dep


@pytest.mark.parametrize("dep", [
    stuck_upgrade(),                                   # 1 of 2 pods on the new template, 1 still on the old one
    stuck_upgrade(updated=0, replicas=1),              # the new pod not even counted (kubectl omits the zero)
    stuck_upgrade(updated=1, replicas=1, generation=3, observed=2),  # a template the controller has not acted on
])
def test_istiod_rollout_not_finished_is_not_read_as_its_template(audit, dep):
    if not dep["status"]["updatedReplicas"]:
        del dep["status"]["updatedReplicas"]
    run = audit({"c1": [dep]}, "assessment", config={"asm": {"version": ASM}})
    [row] = run.rows("istio-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0230")  # was PASS AA0201 "Istio 1.10.0"
    assert row["evidence"]["template_version"] == "1.10.0"
    assert "rollout status" in row["remediation"]
    assert run.result.verdict.value == "INCOMPLETE"  # was GO


def test_istiod_rollout_to_a_release_below_the_minimum_still_fails(audit):
    run = audit({"c1": [stuck_upgrade("1.9.5")]}, "assessment")
    [row] = run.rows("istio-version")
    assert (row["status"], row["code"]) == ("FAIL", "AA0210")


def test_istiod_rollout_finished_is_read_as_its_template(audit):
    run = audit({"c1": [stuck_upgrade(updated=2, replicas=2)]}, "assessment")
    [row] = run.rows("istio-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0201")


# ---------------------------------------------------------------- asm-version: the config against ASM's own answer
def detail(version: str) -> dict:
    """DescribeServiceMeshDetail as the SDK's to_map() gives it (ServiceMesh.ServiceMeshInfo.Version: ASM's tag scheme,
    alibabacloud-servicemesh20200111 DescribeServiceMeshDetailResponseBodyServiceMeshServiceMeshInfo)."""
    return {"DescribeServiceMeshDetail": {"ServiceMesh": {"ServiceMeshInfo": {
        "Name": "mesh-migrate", "RegionId": "cn-hangzhou", "ServiceMeshId": "c0ffee00deadbeef", "Version": version}}}}


def test_asm_version_typed_in_the_config_does_not_outvote_asm_itself(audit):
    """asm.version typed for another (or an upgraded-away) instance, ASM's answer saying 1.22: was PASS AA0301 on the
    typed 1.24.6, a GO for an instance the migration does not support."""
    run = audit({"c1": []}, "assessment", asm=[], asm_openapi=detail("v1.22.6.54-g1234567-aliyun"),
                config={"asm": {"version": ASM}})
    [row] = run.rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0334")
    assert row["evidence"]["describe_service_mesh_detail_version"] == "v1.22.6.54-g1234567-aliyun"
    assert "asm.version" in row["remediation"]


@pytest.mark.parametrize(("answer", "status", "code"), [("v1.25.1.10-gfeed00-aliyun", "PASS", "AA0301"),
                                                        ("v1.24.6.62-g5c7e1f0b-aliyun", "PASS", "AA0301")])
def test_asm_version_config_and_answer_on_one_side_pass_as_before(audit, answer, status, code):
    [row] = audit({"c1": []}, "assessment", asm=[], asm_openapi=detail(answer),
                  config={"asm": {"version": ASM}}).rows("asm-version")
    assert (row["status"], row["code"], row["evidence"]["source"]) == (status, code, "config asm.version")


def test_asm_version_config_older_than_the_answer_is_not_a_pass_either(audit):
    [row] = audit({"c1": []}, "assessment", asm=[], asm_openapi=detail("v1.25.1.10-gfeed00-aliyun"),
                  config={"asm": {"version": "v1.22.6.54-g1234567-aliyun"}}).rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0334")  # was FAIL AA0310 on the typed 1.22.6
