"""kubernetes-version, istio-version and asm-version on real-shaped objects through the engine."""

from __future__ import annotations

import json

import pytest

from auditor import kinds as K
from auditor.errors import UsageError
from tests import factory as f

ISTIO = f.ISTIO_PROXY_IMAGE


def eastwest_gateway() -> list[dict]:
    dep, rs = f.deployment("istio-eastwestgateway", "istio-system",
                           template_labels={"app": "istio-eastwestgateway", "istio": "eastwestgateway"},
                           containers=[f.proxy_container("istio", gateway=True)])
    svc = f.service("istio-eastwestgateway", "istio-system",
                    labels={"istio": "eastwestgateway", "topology.istio.io/network": "network-1"},
                    ports=[{"name": "tls", "port": 15443, "targetPort": 15443}])
    return [dep, rs, svc]


# ---------------------------------------------------------------- kubernetes-version
@pytest.mark.parametrize(("git_version", "status", "code", "shown"), [
    ("v1.28.3-aliyun.1", "PASS", "AA0101", "1.28"),
    ("v1.27.8-eks-8cb36c9", "PASS", "AA0101", "1.27"),
    ("v1.21.0", "PASS", "AA0101", "1.21"),
    ("1.20", "FAIL", "AA0110", "1.20"),
    ("v1.19.16-gke.1000", "FAIL", "AA0110", "1.19"),
])
def test_kubernetes_version_parses_vendor_strings(audit, git_version, status, code, shown):
    run = audit({"c1": []}, "assessment", versions={"c1": f.version_info(git_version)})
    [row] = run.rows("kubernetes-version")
    assert (row["status"], row["code"]) == (status, code)
    assert f"Kubernetes {shown}" in row["message"]  # the version as parsed
    assert row["evidence"]["gitVersion"] == git_version
    if status == "FAIL":
        assert row["remediation"] and row["severity"] == "blocker"


def test_kubernetes_version_falls_back_to_major_minor(audit):
    info = {**f.version_info(), "gitVersion": "custom-build", "major": "1", "minor": "29+"}
    [row] = audit({"c1": []}, "setup", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0101")
    assert row["evidence"]["source"] == "major/minor 1.29+ (gitVersion 'custom-build' unreadable)"


def test_kubernetes_version_garbage_is_unknown(audit):
    info = {**f.version_info(), "gitVersion": "not-a-version", "major": "", "minor": ""}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0131")
    assert "'not-a-version'" in row["message"]  # the value as found


@pytest.mark.parametrize(("major", "minor", "status", "code"), [("1", "29", "PASS", "AA0101"),
                                                              (None, None, "UNKNOWN", "AA0131"),
                                                              ("1" * 5000, "1", "UNKNOWN", "AA0131")])
def test_kubernetes_version_non_string_git_version_is_not_read(audit, major, minor, status, code):
    info = {**f.version_info(), "gitVersion": 1.0, "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == (status, code)  # a float 1.0 is malformed, never "Kubernetes 1.0"


def test_kubernetes_version_missing_version_json_is_unknown(audit):
    run = audit({"c1": [], "c2": []}, "assessment", versions={"c1": None})
    rows = {r["cluster"]: r for r in run.rows("kubernetes-version")}
    assert (rows["c1"]["status"], rows["c1"]["code"]) == ("UNKNOWN", "AA0130")
    assert "version.json" in rows["c1"]["message"]  # the reason names the missing file
    assert rows["c2"]["status"] == "PASS"  # one cluster's gap does not hide the other's answer
    assert run.result.verdict.value == "INCOMPLETE"


def test_kubernetes_version_from_kubectl_version_output(audit):
    """A hand-made snapshot's version.json from `kubectl version -o json`: {clientVersion, serverVersion}, each a
    /version Info (kubernetes/kubernetes@d68e3f8f:staging/src/k8s.io/kubectl/pkg/cmd/version/version.go). The server's
    answer is serverVersion; kubectl's own clientVersion never stands for the cluster (main read neither)."""
    wrapped = {"clientVersion": f.version_info("v1.31.0"), "kustomizeVersion": "v5.4.2",
               "serverVersion": f.version_info("v1.20.15-aliyun.1")}
    [row] = audit({"c1": []}, "assessment", versions={"c1": wrapped}).rows("kubernetes-version")
    assert (row["status"], row["code"], row["evidence"]["gitVersion"]) == ("FAIL", "AA0110", "v1.20.15-aliyun.1")
    # kubectl could not reach the server: only kubectl's own version is there.
    client_only = {"clientVersion": f.version_info("v1.31.0"), "kustomizeVersion": "v5.4.2"}
    [row] = audit({"c1": []}, "assessment", versions={"c1": client_only}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0130")
    assert "clientVersion" in row["message"]


# ---------------------------------------------------------------- istio-version
def test_istio_version_every_revision_and_distroless(audit):
    old = f.istiod("1-9-5", "1.9.5")
    new = f.istiod("default", "1.22.3-distroless")
    pods = [f.pod("a-1", owner=None)]
    run = audit({"c1": [old, new, *pods]}, "assessment")
    rows = run.by_name("istio-version")
    assert (rows["istiod"]["status"], rows["istiod"]["code"]) == ("PASS", "AA0201")
    assert "Istio 1.22.3" in rows["istiod"]["message"]  # the version as parsed
    assert "distroless" in rows["istiod"]["evidence"]["source"]
    assert (rows["istiod-1-9-5"]["status"], rows["istiod-1-9-5"]["code"]) == ("FAIL", "AA0210")
    assert run.result.verdict.value == "NO-GO"


@pytest.mark.parametrize("image", ["docker.io/istio/pilot:latest",
                                   "docker.io/istio/pilot@sha256:" + "a" * 64,
                                   "registry.example.com/mesh/pilot:prod-stable"])
def test_istio_version_unpinned_image_is_unknown_not_a_guess(audit, image):
    dep = f.istiod("default", "1.22.3")
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
    [row] = [r for r in audit({"c1": [dep]}, "assessment").rows("istio-version") if r["name"] == "istiod"]
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0230")
    assert "claims 1.22.3" in row["message"]  # the label is shown, not trusted


def test_istio_version_proxy_skew_per_revision(audit):
    stable = f.istiod("default", "1.22.3")
    canary = f.istiod("1-23-1", "1.23.1")
    behind = [f.pod(f"old-{i}", owner=None, image="docker.io/istio/proxyv2:1.20.8") for i in range(3)]
    ok = [f.pod("fine-1", owner=None)]
    # 1.23 proxies on the canary revision are fine; the same image on the 1.22 revision is ahead of istiod.
    canary_pod = f.pod("canary-1", owner=None, image="docker.io/istio/proxyv2:1.23.1",
                       annotations={"istio.io/rev": "1-23-1"})
    ahead = f.pod("ahead-1", owner=None, image="docker.io/istio/proxyv2:1.23.1")
    digest = f.pod("pinned-1", owner=None, image="docker.io/istio/proxyv2@sha256:" + "b" * 64)
    run = audit({"c1": [stable, canary, *behind, *ok, canary_pod, ahead, digest]}, "assessment")
    [warn] = [r for r in run.rows("istio-version") if r["status"] == "WARN"]
    assert (warn["code"], warn["severity"]) == ("AA0221", "minor")  # skewed, and one image untagged
    problems = {(s["image"], s["revision"]): s for s in warn["evidence"]["skewed"]}
    assert problems[("docker.io/istio/proxyv2:1.20.8", "default")]["pods"] == 3
    assert problems[("docker.io/istio/proxyv2:1.23.1", "default")]["problem"] == "ahead of istiod"
    assert ("docker.io/istio/proxyv2:1.23.1", "1-23-1") not in problems
    assert warn["evidence"]["unpinned_images"] == {"docker.io/istio/proxyv2@sha256:" + "b" * 64: 1}
    assert "FAIL" not in run.statuses("istio-version")  # skew warns, it does not block


def test_istio_version_skew_never_judged_against_another_revisions_istiod(audit):
    # A canary istiod pinned by digest (`image:` taken whole when it holds a "/",
    # istio-discovery/templates/deployment.yaml@1.30.3) is unreadable; its pods carry annotation istio.io/rev: 1-30-3
    # (files/injection-template.yaml@1.30.3). They are not compared with the default revision's 1.22.3 istiod.
    stable = f.istiod("default", "1.22.3")
    canary = f.istiod("1-30-3", "1.30.3")
    canary["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/istio/pilot@sha256:" + "c" * 64
    on_stable = f.pod("stable-1", owner=None, image="docker.io/istio/proxyv2:1.22.3",
                      annotations={"istio.io/rev": "default"})
    on_canary = f.pod("canary-1", owner=None, image="docker.io/istio/proxyv2:1.22.3",
                      annotations={"istio.io/rev": "1-30-3"})
    rows = audit({"c1": [stable, canary, on_stable, on_canary]}, "assessment").rows("istio-version")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0201"), ("UNKNOWN", "AA0230"),
                                                        ("PASS", "AA0202")]
    assert rows[2]["message"] == "1 Istio proxy pod(s) within the supported skew of their istiod"
    assert rows[2]["evidence"]["unmatched_revisions"] == {"1-30-3 docker.io/istio/proxyv2:1.22.3": 1}


def test_istio_version_proxies_in_skew_pass(audit):
    run = audit({"c1": [f.istiod("default", "1.22.3"), f.pod("a-1", owner=None,
                                                             image="docker.io/istio/proxyv2:1.21.5")]},
                "assessment")
    assert [(r["status"], r["code"]) for r in run.rows("istio-version")] == [("PASS", "AA0201"), ("PASS", "AA0202")]


def test_istio_version_without_istiod_is_not_applicable(audit):
    dep, rs = f.deployment("cart")
    assert audit({"c1": [dep, rs]}, "assessment").statuses("istio-version") == ["NOT_APPLICABLE"]


def test_istio_version_unreadable_deployments_is_unknown(audit):
    run = audit({"c1": [f.istiod()]}, "assessment", unreadable={"c1": {K.DEPLOYMENT: "403 Forbidden"}})
    [row] = run.rows("istio-version")
    assert row["status"] == "UNKNOWN" and "403 Forbidden" in row["message"]


# ---------------------------------------------------------------- asm-version
def test_asm_version_from_config_wins(audit):
    svc = f.service("istiod-1-22-6", "istio-system", ports=[{"name": "grpc-xds", "port": 15012}])
    run = audit({"c1": [svc]}, "assessment", asm=[],
                config={"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}})
    [row] = run.rows("asm-version")
    assert (row["status"], row["code"], row["evidence"]["source"]) == ("PASS", "AA0301", "config asm.version")
    assert "1.24.6" in row["message"]


def test_asm_version_from_saved_openapi_answer(audit, tmp_path):
    answer = {"ServiceMesh": {"ServiceMeshInfo": {"Version": "v1.23.2.40-g0123abc-aliyun"}}}
    path = tmp_path / "detail.json"
    path.write_text(json.dumps(answer))
    [row] = audit({"c1": []}, "setup", asm=[], config={"asm": {"describe_service_mesh_detail": str(path)}}
                  ).rows("asm-version")
    assert (row["status"], row["code"]) == ("FAIL", "AA0310")
    assert "1.23.2" in row["message"] and "DescribeServiceMeshDetail" in row["evidence"]["source"]
    [row] = audit({"c1": []}, "setup", asm=[], asm_openapi={"DescribeServiceMeshDetail": {
        "ServiceMesh": {"ServiceMeshInfo": {"Version": "v1.25.1.10-gfeed-aliyun"}}}}).rows("asm-version")
    assert row["status"] == "PASS" and "snapshot" in row["evidence"]["source"]


def test_asm_version_from_istiod_service(audit):
    ok = audit({"c1": [f.service("istiod-1-24-6", "istio-system")]}, "assessment").rows("asm-version")
    assert (ok[0]["status"], ok[0]["code"]) == ("PASS", "AA0301")
    assert ok[0]["evidence"]["source"] == "Service istio-system/istiod-1-24-6 in c1"
    old = audit({"c1": [f.service("istiod-1-22-6", "istio-system")]}, "assessment").rows("asm-version")
    assert (old[0]["status"], old[0]["code"]) == ("FAIL", "AA0310") and "1.22.6" in old[0]["message"]


def test_asm_version_from_proxy_tags_is_only_a_lower_bound(audit):
    new = audit({"c1": [f.pod("a-1", owner=None, proxy="asm")]}, "assessment").rows("asm-version")
    assert (new[0]["status"], new[0]["code"]) == ("PASS", "AA0303") and "lower bound" in new[0]["evidence"]["source"]
    old_image = "registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:v1.22.6.54-g1234567-aliyun"
    old = audit({"c1": [f.pod("a-1", owner=None, proxy="asm", image=old_image)]}, "assessment").rows("asm-version")
    assert (old[0]["status"], old[0]["code"]) == ("UNKNOWN", "AA0331") and "1.22.6" in old[0]["message"]


def test_asm_version_unknown_without_any_source(audit):
    [row] = audit({"c1": [f.pod("a-1", owner=None)]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0330")
    assert "asm.version" in row["remediation"]  # the settings to give


def test_asm_version_garbage_in_config_is_unknown(audit):
    [row] = audit({"c1": []}, "assessment", config={"asm": {"version": "latest"}}).rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0332") and "'latest'" in row["message"]


def test_asm_version_names_the_cross_cluster_need_with_eastwest(audit):
    run = audit({"c1": [*eastwest_gateway(), f.service("istiod-1-24-6", "istio-system")]}, "assessment")
    [row] = run.rows("asm-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0302")
    assert ">= 1.22" in row["message"]
    assert any("istio-eastwestgateway" in s for s in row["evidence"]["eastwest"])


def test_istio_version_unreadable_pods_leave_only_the_skew_unknown(audit):
    run = audit({"c1": [f.istiod()]}, "assessment", unreadable={"c1": {K.POD: "403 Forbidden: pods"}})
    rows = run.rows("istio-version")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0201"), ("UNKNOWN", "AA0231")]
    assert rows[1]["severity"] == "minor"


def test_asm_version_unreadable_openapi_answer_is_a_usage_error(audit, tmp_path):
    # A named source that fails is not skipped for a weaker one: bad input, like asm.multi_cluster_network.
    with pytest.raises(UsageError, match=r"missing\.json"):
        audit({"c1": [f.service("istiod-1-24-6", "istio-system")]}, "assessment",
              config={"asm": {"describe_service_mesh_detail": str(tmp_path / "missing.json")}})


# ---------------------------------------------------------------- each outcome from a real-shaped input
def test_istio_version_skew_outcomes_of_their_own(audit):
    istiod = f.istiod("default", "1.22.3")
    in_skew = f.pod("a-1", owner=None, image="docker.io/istio/proxyv2:1.21.5")
    behind = f.pod("old-1", owner=None, image="docker.io/istio/proxyv2:1.20.8")
    untagged = f.pod("pinned-1", owner=None, image="docker.io/istio/proxyv2@sha256:" + "b" * 64)

    def skew(*pods: dict) -> tuple[str, str, str]:
        rows = audit({"c1": [istiod, *pods]}, "assessment").rows("istio-version")
        assert (rows[0]["status"], rows[0]["code"]) == ("PASS", "AA0201")  # the revision itself
        [row] = rows[1:]
        return row["status"], row["code"], row["severity"]

    assert skew(in_skew) == ("PASS", "AA0202", "blocker")
    assert skew(in_skew, untagged) == ("PASS", "AA0203", "blocker")
    assert skew(behind) == ("WARN", "AA0220", "minor")
    assert skew(behind, untagged) == ("WARN", "AA0221", "minor")
    assert skew(untagged) == ("UNKNOWN", "AA0232", "minor")


def test_asm_version_east_west_outcomes_of_their_own(audit):
    def judged(*objects: dict) -> tuple[str, str]:
        [row] = audit({"c1": [*eastwest_gateway(), *objects]}, "assessment").rows("asm-version")
        assert ">= 1.22" in row["message"]  # what the east-west gateway's replacement needs
        return row["status"], row["code"]

    assert judged(f.service("istiod-1-24-6", "istio-system")) == ("PASS", "AA0302")
    assert judged(f.pod("a-1", owner=None, proxy="asm")) == ("PASS", "AA0304")
    assert judged(f.service("istiod-1-22-6", "istio-system")) == ("FAIL", "AA0311")


def test_asm_version_data_planes_showing_different_asm_versions_is_unknown(audit):
    """One ASM instance's data planes carry the same istiod-<rev> Service (domain.md: ASM's managed control plane
    leaves a headless istiod-<rev> Service, no Deployment, in each cluster). Main took the newest across the fleet:
    c2 on an ASM 1.22 control plane passed on c1's 1.24 Service."""
    new, old = f.service("istiod-1-24-6", "istio-system"), f.service("istiod-1-22-6", "istio-system")
    [row] = audit({"c1": [new], "c2": [old]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("UNKNOWN", "AA0333")
    assert row["evidence"]["asm_istiod_services"] == {"c1": "istiod-1-24-6", "c2": "istiod-1-22-6"}
    assert "asm.version" in row["remediation"]  # the setting that tells it
    # A canary upgrade inside one cluster (both Services there) is still judged by the newest.
    [row] = audit({"c1": [new, old], "c2": [new]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0301")
    # Disagreeing on the same side of 1.24 tells the answer either way.
    [row] = audit({"c1": [new], "c2": [f.service("istiod-1-25-2", "istio-system")]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0301")
    [row] = audit({"c1": [old], "c2": [f.service("istiod-1-23-1", "istio-system")]}, "assessment").rows("asm-version")
    assert (row["status"], row["code"]) == ("FAIL", "AA0310")
    # The instance's own answer outranks the Services.
    [row] = audit({"c1": [new], "c2": [old]}, "assessment",
                  config={"asm": {"version": "v1.24.6.62-g5c7e1f0b-aliyun"}}).rows("asm-version")
    assert (row["status"], row["code"]) == ("PASS", "AA0301")


@pytest.mark.parametrize(("git_version", "major", "minor", "status", "code"), [
    # kubernetes/kubernetes@00ca4637:hack/lib/version.sh (kube::version::get_version_vars) sets KUBE_GIT_MAJOR and
    # KUBE_GIT_MINOR from KUBE_GIT_VERSION, "+" appended to the minor when the version has a "-..." part
    # (v1.28.3-aliyun.1 -> "28+"), and kube::version::ldflags stamps all three: one server build answers both from
    # one string (only a version file loaded by hand sets them apart). Main read gitVersion alone and passed an
    # answer whose major/minor say 1.20.
    ("v1.21.3", "1", "20", "UNKNOWN", "AA0132"),
    ("v1.20.15", "1", "21+", "UNKNOWN", "AA0132"),
    ("v1.28.3-aliyun.1", "1", "28+", "PASS", "AA0101"),   # as ACK answers
    ("v1.27.3-gke.100", "1", "27+", "PASS", "AA0101"),    # as GKE answers
    ("v1.29.1", "1", "28", "PASS", "AA0101"),            # disagreeing, but both >= 1.21: the answer stands
    ("v1.19.16", "1", "20", "FAIL", "AA0110"),           # both < 1.21
])
def test_kubernetes_version_git_version_and_major_minor_on_both_sides_is_unknown(audit, git_version, major, minor,
                                                                                 status, code):
    info = {**f.version_info(git_version), "major": major, "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert (row["status"], row["code"]) == (status, code)


# ---------------------------------------------------------------- proxies of an uninstalled revision
def revision_pod(name: str, revision: str, version: str) -> dict:
    """A pod injected by istiod `revision` (istio/istio@1.24.6 files/injection-template.yaml: annotation istio.io/rev
    and sidecar.istio.io/status's revision, the injecting istiod's), its proxy pointing at that revision's
    discoveryAddress istiod-<rev>.istio-system.svc:15012 (templates/configmap.yaml there)."""
    pod = f.pod(name, owner=None, image=f"docker.io/istio/proxyv2:{version}", annotations={"istio.io/rev": revision})
    status = json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])
    pod["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps({**status, "revision": revision},
                                                                           separators=(",", ":"))
    return pod


@pytest.mark.parametrize(("left", "with_current"), [(("1-23-1", "1-24-6"), False), (("1-23-1", "1-24-6"), True),
                                                    (("1-24-6",), False), (("1-24-6",), True)])
def test_istio_version_detached_proxies_are_outside_the_skew(audit, left, with_current):
    """A canary upgrade 1-22-3 -> 1-23-1 -> 1-24-6 whose older control planes were removed (`istioctl uninstall
    --revision 1-22-3`, which deletes its istiod-1-22-3 Service too: istio-discovery templates/service.yaml@1.24.6)
    before every pod was restarted. istioctl warns of exactly that: "There are still N proxies pointing to the control
    plane revision ... these proxies will become detached from any control plane" (istio/istio@1.24.6
    operator/cmd/mesh/uninstall.go preCheckWarnings). Main compared those pods with the one istiod left (1-23-1's
    proxies one minor behind 1.24.6: PASS AA0202), or beside two said nothing of them: no skew finding when they were
    the only proxies, PASS AA0202 "within the supported skew" beside others."""
    versions = {"1-23-1": "1.23.1", "1-24-6": "1.24.6"}
    istiods = [f.istiod(revision, versions[revision]) for revision in left]
    gone = "1-22-3" if len(left) == 2 else "1-23-1"
    detached = [revision_pod(f"old-{i}", gone, versions.get(gone, "1.22.3")) for i in range(2)]
    current = [revision_pod("new-1", "1-24-6", "1.24.6")] if with_current else []
    rows = audit({"c1": [*istiods, *detached, *current]}, "assessment").rows("istio-version")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0201")] * len(left) + [("WARN", "AA0220")]
    [skewed] = rows[-1]["evidence"]["skewed"]
    assert (skewed["revision"], skewed["pods"], skewed["istiod"]) == (gone, 2, None)
    assert rows[-1]["evidence"]["compared_pods"] == len(current)  # compared with an istiod: none of the detached


def test_istio_version_pods_of_a_revision_whose_istiod_is_unread_stay_unmatched(audit):
    """The revision's istiod is there but its version unread (AA0230 says so): its pods are not detached."""
    stable = f.istiod("1-23-1", "1.23.1")
    canary = f.istiod("1-24-6", "1.24.6")
    canary["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/istio/pilot@sha256:" + "c" * 64
    rows = audit({"c1": [stable, canary, revision_pod("a-1", "1-24-6", "1.24.6"),
                         revision_pod("b-1", "1-23-1", "1.23.1")]}, "assessment").rows("istio-version")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0201"), ("UNKNOWN", "AA0230"),
                                                        ("PASS", "AA0202")]
    assert rows[2]["evidence"]["unmatched_revisions"] == {"1-24-6 docker.io/istio/proxyv2:1.24.6": 1}


def test_istio_version_pods_recording_no_revision_are_not_called_detached(audit):
    """Istio 1.10 and 1.11 injected pods record their revision in a label only (istio/istio@1.10.0
    files/injection-template.yaml: labels istio.io/rev; pkg/kube/inject/inject.go SidecarInjectionStatus has no
    revision yet), a label that also names a requested revision tag: which istiod injected them is not known, so they
    are not called detached beside two revisioned istiods."""
    istiods = [f.istiod("1-10-6", "1.10.6"), f.istiod("1-11-8", "1.11.8")]
    pod = f.pod("a-1", owner=None, image="docker.io/istio/proxyv2:1.10.6",
                labels={"app": "a", "istio.io/rev": "1-10-6"})
    del pod["metadata"]["annotations"]["istio.io/rev"]
    pod["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps(
        {"initContainers": ["istio-init"], "containers": ["istio-proxy"], "volumes": ["istio-envoy"],
         "imagePullSecrets": None})
    rows = audit({"c1": [*istiods, pod]}, "assessment").rows("istio-version")
    assert [(r["status"], r["code"]) for r in rows] == [("PASS", "AA0201"), ("PASS", "AA0201")]  # as on main


# ---------------------------------------------------------------- image and /version shapes read as they are written
@pytest.mark.parametrize(("image", "status", "code"), [
    # istio-discovery templates/deployment.yaml@1.24.6: "{hub}/{image|pilot}:{tag}[-{variant}]", or `image` whole when
    # it holds a "/"; a private registry's host may carry a port.
    ("registry.local:5000/istio/pilot:1.24.6", "PASS", "AA0201"),
    ("registry.local:5000/istio/pilot", "UNKNOWN", "AA0230"),                   # no tag: not the port's "5000"
    ("registry.local:5000/istio/pilot@sha256:" + "d" * 64, "UNKNOWN", "AA0230"),  # digest only
    ("docker.io/istio/pilot:1.8.6@sha256:" + "d" * 64, "FAIL", "AA0210"),       # tag and digest: the tag is read
    ("gcr.io/istio-testing/pilot:latest", "UNKNOWN", "AA0230"),                 # the chart's own values.yaml defaults
    ("docker.io/istio/pilot:1.25.0-rc.0", "PASS", "AA0201"),                    # istio/istio tag 1.25.0-rc.0
    ("docker.io/istio/pilot:1.24.6-tetrate-v0", "PASS", "AA0201"),
])
def test_istio_version_reads_istiod_images_as_charts_write_them(audit, image, status, code):
    dep = f.istiod("default", "1.22.3")
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
    [row] = [r for r in audit({"c1": [dep]}, "assessment").rows("istio-version") if r["name"] == "istiod"]
    assert (row["status"], row["code"]) == (status, code)


@pytest.mark.parametrize(("git_version", "minor", "status"), [
    # /version as vendors stamp it: the minor with "+" when gitVersion has a suffix (kubernetes hack/lib/version.sh).
    ("v1.29.2+k3s1", "29", "PASS"), ("v1.30.4-eks-a737599", "30+", "PASS"), ("v1.31.1-aliyun.1", "31+", "PASS"),
    ("v1.28.9-gke.1000000", "28+", "PASS"), ("v1.20.15+k3s1", "20", "FAIL"),
])
def test_kubernetes_version_vendor_stamps(audit, git_version, minor, status):
    info = {**f.version_info(git_version), "major": "1", "minor": minor}
    [row] = audit({"c1": []}, "assessment", versions={"c1": info}).rows("kubernetes-version")
    assert row["status"] == status
