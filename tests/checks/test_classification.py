"""Telling an Istio sidecar from an ASM proxy by the marks only ASM sets (domain.md), through the real engine.

Shapes, and where they come from:
- Istio's injection template (istio/istio manifests/charts/istio-control/istio-discovery/files/
  injection-template.yaml, 1.10 to 1.24): `CA_ADDR` is `istiod-<revision>.<istioNamespace>.svc:15012` for
  any revision, `istiod.istio-system.svc:15012` without one; no ASM_ID / ASM_APP_VERSION.
- Istio's canary-upgrade guide names revisions after versions (`1-24-2`): `helm install istiod-1-24-2
  istio/istiod --set revision=1-24-2` makes Deployment and Service `istiod-1-24-2` (chart templates
  deployment.yaml / service.yaml: labels app=istiod, istio.io/rev, operator.istio.io/component=Pilot,
  install.operator.istio.io/owning-resource; the Service selects app=istiod + istio.io/rev).
- ASM (domain.md): image `registry-<region>.ack.aliyuncs.com/acs/proxyv2:v1.24.6.62-g<sha>-aliyun`, env
  ASM_ID / ASM_APP_VERSION, a headless Service istiod-<rev> with no Deployment behind it.
- Mirrors: teams in China copy `proxyv2` into their own ACR namespace (`registry.cn-hangzhou.aliyuncs.com/
  <ns>/proxyv2:1.22.3`) or an ACR Enterprise instance (`<instance>-registry.cn-hangzhou.cr.aliyuncs.com`).

Every fixture carries ONE mark (or one contradiction), so removing any rule from mesh.classify breaks a test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor import mesh
from tests import factory as f

SIDECARS = "istio-sidecars-remaining"
XDS = "pods-xds-agent"
DIGEST = "@sha256:" + "ab" * 32
HELM_LABELS = {"install.operator.istio.io/owning-resource": "unknown", "operator.istio.io/component": "Pilot",
               "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "istiod-1.24.2", "release": "istiod-1-24-2"}


def istio_revision(rev: str = "1-24-2", version: str = "1.24.2", service_labels: dict | None = None) -> list[dict]:
    """A self-built, version-named istiod revision: its Deployment and its Service (Helm chart istiod)."""
    dep = f.istiod(rev, version)
    labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": rev,
              **(HELM_LABELS if service_labels is None else service_labels)}
    svc = f.service(f"istiod-{rev}", "istio-system", labels=labels,
                    ports=[{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012},
                           {"name": "https-webhook", "port": 443, "targetPort": 15017}])
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": rev}
    return [dep, svc]


def asm_istiod_service(rev: str = "1-24-6") -> dict:
    """ASM's managed control plane in a data-plane cluster: a headless Service, nothing behind it."""
    svc = f.service(f"istiod-{rev}", "istio-system", labels={"app": "istiod", "istio.io/rev": rev},
                    ports=[{"name": "grpc-xds", "port": 15012}])
    svc["spec"]["clusterIP"] = "None"
    return svc


def sidecar_pod(name: str, *, image: str, ca_addr: str | None, asm_env: bool = False, rev: str = "default",
                xds: str | None = "true") -> dict:
    """An injected pod carrying exactly the marks asked for (no more: factory's ASM pods carry all three)."""
    p = f.pod(name, "shop", proxy="istio", image=image, xds_agent=xds,
              owner=("ReplicaSet", f"{name.rsplit('-', 2)[0]}-5d8f7c9b6"),
              annotations={"sidecar.istio.io/status": json.dumps({
                  "initContainers": ["istio-init"], "containers": ["istio-proxy"],
                  "volumes": ["istio-envoy", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
                  "imagePullSecrets": None, "revision": rev})},
              labels={"app": name.split("-")[0], "istio.io/rev": rev, "security.istio.io/tlsMode": "istio",
                      "service.istio.io/canonical-name": name.split("-")[0]})
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    proxy["env"] = [e for e in proxy["env"] if e["name"] not in ("CA_ADDR", "ASM_ID", "ASM_APP_VERSION")]
    if ca_addr is not None:
        proxy["env"].append({"name": "CA_ADDR", "value": ca_addr})
    if asm_env:
        proxy["env"] += [{"name": "ASM_ID", "value": "c0ffee00deadbeef"}, {"name": "ASM_APP_VERSION", "value": "v1"}]
    return p


def with_owner(pods: list[dict]) -> list[dict]:
    """Pods plus the Deployment/ReplicaSet that own them (workload `cart` in namespace shop)."""
    dep, rs = f.deployment("cart", "shop")
    for p in pods:
        p["metadata"]["ownerReferences"][0]["name"] = rs["metadata"]["name"]
        p["metadata"]["labels"]["pod-template-hash"] = rs["metadata"]["name"].rsplit("-", 1)[1]
    return [dep, rs, *pods]


def cluster(*objs: Any) -> list[dict]:
    return [f.namespace("istio-system"), f.namespace("shop", {"istio-injection": "enabled"}), *objs]


def proxy_kinds(a) -> list[str]:
    pods = a.result.inventory.data_planes[0].pods()
    return sorted(pods.loc[pods["proxy"].astype(str) != mesh.PROXY_NONE, "proxy"].astype(str))


# ---------------------------------------------------------------- Istio that looks like ASM
ISTIO_CASES = {
    # revision named like ASM's, Helm-installed: CA_ADDR alone proves nothing
    "version-named revision": (istio_revision(), "docker.io/istio/proxyv2:1.24.2",
                               "istiod-1-24-2.istio-system.svc:15012", "1-24-2"),
    # the same, image pinned by digest: the Service is Istio's (its own Deployment backs it)
    "version-named revision, digest image": (istio_revision(), "docker.io/istio/proxyv2" + DIGEST,
                                             "istiod-1-24-2.istio-system.svc:15012", "1-24-2"),
    # a Service without installer labels (hand-applied) is still Istio's: a local istiod backs it
    "revision service without labels": (istio_revision(service_labels={}), "docker.io/istio/proxyv2" + DIGEST,
                                        "istiod-1-24-2.istio-system.svc:15012", "1-24-2"),
    # Istio's proxyv2 mirrored into the team's own ACR namespace (default revision)
    "ACR mirror": ([f.istiod()], "registry.cn-hangzhou.aliyuncs.com/acme/proxyv2:1.22.3",
                   "istiod.istio-system.svc:15012", "default"),
    "ACR mirror over VPC": ([f.istiod()], "registry-vpc.cn-hangzhou.aliyuncs.com/acme-mesh/proxyv2:1.22.3",
                            "istiod.istio-system.svc:15012", "default"),
    "ACR Enterprise mirror": ([f.istiod()], "acme-registry.cn-hangzhou.cr.aliyuncs.com/mesh/proxyv2:1.22.3-distroless",
                              "istiod.istio-system.svc:15012", "default"),
}


@pytest.mark.parametrize("case", list(ISTIO_CASES))
def test_istio_sidecars_that_look_like_asm_are_istio_sidecars(audit, case):
    control, image, ca, rev = ISTIO_CASES[case]
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", image=image, ca_addr=ca, rev=rev) for i in "ab"]
    a = audit({"cluster-a": cluster(*control, *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["istio", "istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]
    assert a.result.verdict == "NO-GO"


def test_version_named_istio_revision_pods_lacking_xds_agent_fail_at_migrating(audit):
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", image="docker.io/istio/proxyv2:1.24.2", xds=None,
                        ca_addr="istiod-1-24-2.istio-system.svc:15012", rev="1-24-2") for i in "ab"]
    a = audit({"cluster-a": cluster(*istio_revision(), *with_owner(pods))}, "migrating",
              asm=[f.migration_cr("SetupIstioForMigrate")])
    rows = a.rows(XDS)
    assert [(r["status"], r["name"]) for r in rows] == [("FAIL", "cart")]
    assert a.result.verdict == "NO-GO"


def test_asm_version_is_never_read_from_an_istio_revision_service(audit):
    a = audit({"cluster-a": cluster(*istio_revision())}, "assessment", asm=[])
    assert a.statuses("asm-version") == ["UNKNOWN"]
    facts = {c["name"]: c for c in a.result.clusters}
    assert facts["cluster-a"]["asm_version"] is None


def test_asm_version_from_asm_service(audit):
    """Control: ASM's own headless istiod-1-24-6 beside a default-revision Istio gives 1.24.6."""
    a = audit({"cluster-a": cluster(f.istiod(), asm_istiod_service())}, "assessment", asm=[])
    assert a.statuses("asm-version") == ["PASS"]
    assert {c["name"]: c["asm_version"] for c in a.result.clusters}["cluster-a"] == "1.24.6"


# ---------------------------------------------------------------- each ASM mark alone
ASM_CASES = {
    "ASM env alone": dict(image="docker.io/istio/proxyv2" + DIGEST, ca_addr=None, asm_env=True),
    "ASM image alone": dict(image=f.ASM_PROXY_IMAGE, ca_addr=None),
    "ASM tag scheme alone (ASM image copied to a private registry)": dict(
        image="harbor.corp.example/mesh/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun", ca_addr=None),
    "ASM registry path, digest": dict(image="registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/proxyv2" + DIGEST,
                                      ca_addr=None),
    "CA_ADDR of a proven ASM istiod alone": dict(image="harbor.corp.example/mesh/proxyv2" + DIGEST,
                                                 ca_addr="istiod-1-24-6.istio-system.svc:15012"),
}


@pytest.mark.parametrize("case", list(ASM_CASES))
def test_each_asm_mark_alone_makes_an_asm_proxy(audit, case):
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", rev="1-24-6", **ASM_CASES[case]) for i in "ab"]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["asm", "asm"]
    assert a.statuses(SIDECARS) == ["PASS"]


def test_ca_addr_of_an_unproven_service_is_no_asm_mark(audit):
    """istiod-1-24-6 named by CA_ADDR but no such Service in the cluster: nothing proves ASM; Istio's."""
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="harbor.corp.example/mesh/proxyv2" + DIGEST,
                        ca_addr="istiod-1-24-6.istio-system.svc:15012", rev="1-24-6")]
    a = audit({"cluster-a": cluster(*with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]


# ---------------------------------------------------------------- contradictions
CONFLICTS = {
    # ASM's env with Istio's release image
    "ASM env, Istio image": (dict(image="docker.io/istio/proxyv2:1.22.3", ca_addr=None, asm_env=True), []),
    # Istio's image, CA of ASM's managed istiod
    "Istio image, ASM CA": (dict(image="docker.io/istio/proxyv2:1.22.3",
                                 ca_addr="istiod-1-24-6.istio-system.svc:15012"), [asm_istiod_service()]),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_conflicting_marks_are_unknown_and_block_go(audit, case):
    marks, control = CONFLICTS[case]
    pods = [sidecar_pod("cart-5d8f7c9b6-a", **marks)]
    a = audit({"cluster-a": cluster(*control, *with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["unknown"]
    rows = a.rows(SIDECARS)
    assert [(r["status"], r["code"], r["kind"], r["name"]) for r in rows] == [
        ("UNKNOWN", "AA1230", "Deployment", "cart")]
    assert rows[0]["evidence"]["pods"] == ["cart-5d8f7c9b6-a"]
    assert a.result.verdict in ("INCOMPLETE", "NO-GO")
    assert a.result.verdict != "GO"


def test_asm_image_with_istio_ca_is_unknown_but_fails_the_uninstall_gate(audit):
    """ASM's image, but certificates from the local self-built istiod (Istio's injector with ASM's image in its values):
    whose proxy it is stays unknown, but it depends on the istiod the uninstall removes: FAIL AA1240, which
    --allow-unknown cannot accept (red21a; tests/checks/test_proxy_identity_istio_cp.py)."""
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image=f.ASM_PROXY_IMAGE, ca_addr="istiod.istio-system.svc:15012")]
    a = audit({"cluster-a": cluster(f.istiod(), *with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["unknown"]
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


def test_conflicting_marks_are_unknown_for_pods_xds_agent_too(audit):
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="docker.io/istio/proxyv2:1.22.3", ca_addr=None, asm_env=True)]
    a = audit({"cluster-a": cluster(f.istiod(), *with_owner(pods))}, "migrating",
              asm=[f.migration_cr("SetupIstioForMigrate")])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(XDS) if r["name"]] == [("UNKNOWN", "AA1130", "cart")]


def test_services_unreadable_leave_ca_addr_unproven(audit):
    """Without Services nothing can prove an istiod ASM's: a CA_ADDR-only pod stays Istio's (fail safe)."""
    from auditor import kinds as K

    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="harbor.corp.example/mesh/proxyv2" + DIGEST,
                        ca_addr="istiod-1-24-6.istio-system.svc:15012", rev="1-24-6")]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")], unreadable={"cluster-a": {K.SERVICE: "forbidden"}})
    assert proxy_kinds(a) == ["istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]


# ---------------------------------------------------------------- ASM's repository is no proof by itself
# `acs` on Alibaba Cloud's public registry is ACK's namespace, and more than ASM's proxy lives there under Istio's own
# release tags: ACK's in-cluster Istio (Istio resource istio.alibabacloud.com/v1beta1 `istio-config` owning Istio's
# injector webhook, pods talking to istio-pilot.istio-system:15010) injected
# `registry.cn-beijing.aliyuncs.com/acs/proxyv2:1.4.6` into istio-init and istio-proxy, and ASM 1.8 injected
# `registry-vpc.cn-beijing.aliyuncs.com/acs/proxyv2:1.8.6` (public `kubectl describe pod` notes, find_string ids
# 34720183389 and 94758592); ASM's own builds are tagged `v<version>.<build>-g<sha>-aliyun` (an ASM-injected pod with
# ASM_ID and ASM_APP_VERSION runs `registry-vpc.cn-beijing.aliyuncs.com/acs/proxyv2:v1.14.3.47-ga31201346f-aliyun`,
# find_string id 12952064376). Istio's injector writes whatever image its values or the pod's
# `sidecar.istio.io/proxyImage` name (injection-template.yaml @1.24.6, `image:` of istio-proxy), and CA_ADDR only when
# it has one (ACK's Istio 1.4 wrote none). An ACR Enterprise instance is `<name>-registry.<region>.cr.aliyuncs.com`
# whatever the name: the customer's own registry (their own `acs` namespace included).
ACS_ISTIO_IMAGES = {
    "Istio release in ACK's acs namespace": "registry.cn-beijing.aliyuncs.com/acs/proxyv2:1.22.3",
    "ACK's Istio 1.4 image": "registry.cn-beijing.aliyuncs.com/acs/proxyv2:1.4.6",
    "ACR EE instance named registry-prod, digest": "registry-prod-registry.cn-hangzhou.cr.aliyuncs.com/acs/proxyv2"
                                                   + DIGEST,
}


@pytest.mark.parametrize("case", list(ACS_ISTIO_IMAGES))
def test_istio_sidecars_left_after_the_purge_on_acs_images_block_finished(audit, case):
    """Finished: Istio's istiod is gone, so CA_ADDR names a Service no longer there (no mark); a pod Istio injected and
    nobody restarted still runs its sidecar. The image was its only 'ASM' mark: GO with an Istio sidecar left."""
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", image=ACS_ISTIO_IMAGES[case], ca_addr="istiod.istio-system.svc:15012")
            for i in "ab"]
    a = audit({"cluster-a": cluster(*with_owner(pods))}, "finished", asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["istio", "istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("case", list(ACS_ISTIO_IMAGES))
def test_istio_sidecars_without_ca_addr_on_acs_images_are_istio_sidecars(audit, case):
    """Uninstall with Istio's istiod running, its sidecars injected without CA_ADDR (ACK's Istio 1.4 shape): the image
    was the only mark, read as ASM's: the uninstall gate saw no Istio sidecar left."""
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", image=ACS_ISTIO_IMAGES[case], ca_addr=None) for i in "ab"]
    a = audit({"cluster-a": cluster(f.istiod(), *with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["istio", "istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]
    assert a.result.verdict == "NO-GO"


def test_asm_proxies_in_asms_repository_stay_asms_by_their_env(audit):
    """ASM's repository with an Istio release tag is no mark either way: an ASM-injected proxy there (ASM 1.8's
    `acs/proxyv2:1.8.6`, ASM_ID set) is ASM's by its env, never a contradiction."""
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="registry-vpc.cn-beijing.aliyuncs.com/acs/proxyv2:1.8.6",
                        ca_addr=None, asm_env=True)]
    a = audit({"cluster-a": cluster(*with_owner(pods))}, "finished", asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["asm"]
    assert a.statuses(SIDECARS) == ["PASS"]


# ---------------------------------------------------------------- the rule table itself
@pytest.mark.parametrize("env,image,owner,expected", [
    (False, "", "", "istio"), (True, "", "", "asm"), (False, "asm", "", "asm"), (False, "", "asm", "asm"),
    (False, "istio", "", "istio"), (False, "", "istio", "istio"), (True, "istio", "", "unknown"),
    (False, "asm", "istio", "unknown"), (False, "istio", "asm", "unknown"), (True, "asm", "asm", "asm"),
])
def test_rule_table(env, image, owner, expected):
    assert mesh.classify(mesh.ProxyMarks(env, image, owner)) == expected


@pytest.mark.parametrize("image,expected", [
    ("registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun", "asm"),
    ("registry.cn-beijing.aliyuncs.com/acs/proxyv2:v1.22.6.54-g0a1b2c3-aliyun", "asm"),
    ("registry-vpc.cn-shanghai.aliyuncs.com/acs/proxyv2" + DIGEST, "asm"),
    ("registry.cn-hangzhou.aliyuncs.com/acme/proxyv2:1.22.3", "istio"),
    ("acme-registry.cn-hangzhou.cr.aliyuncs.com/acs/proxyv2:1.22.3", "istio"),  # their own `acs` namespace
    # ASM's tag pinned with its digest too (kustomize/Argo CD's tag@digest): still ASM's tag scheme
    ("harbor.corp.example/mesh/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun" + DIGEST, "asm"),
    ("registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun" + DIGEST, "asm"),
    # ASM's repository with an Istio release tag: ACK's own Istio 1.4.6, ASM up to 1.8: no mark either way
    ("registry.cn-beijing.aliyuncs.com/acs/proxyv2:1.4.6", ""),
    ("registry-vpc.cn-beijing.aliyuncs.com/acs/proxyv2:1.8.6", ""),
    ("registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:1.22.3-distroless", ""),
    # an ACR Enterprise instance whose name starts with "registry": the customer's registry, not ASM's
    ("registry-prod-registry.cn-hangzhou.cr.aliyuncs.com/acs/proxyv2" + DIGEST, ""),
    ("registry-registry-vpc.cn-hangzhou.cr.aliyuncs.com/acs/proxyv2:1.22.3", "istio"),
    # ACR's international endpoints (registry-intl[-vpc].<region>.aliyuncs.com), as before
    ("registry-intl.ap-southeast-1.aliyuncs.com/acs/proxyv2" + DIGEST, "asm"),
    ("registry-intl-vpc.ap-southeast-1.aliyuncs.com/acs/proxyv2:1.22.3", ""),
    ("docker.io/istio/proxyv2:1.24.2-distroless", "istio"),
    ("gcr.io/istio-release/proxyv2:1.18.7", "istio"),
    ("docker.io/istio/proxyv2:latest", ""),
    ("docker.io/istio/proxyv2" + DIGEST, ""),
])
def test_image_kinds(image, expected):
    assert mesh.ProxyRules().image_kind(image) == expected


@pytest.mark.parametrize("ca,expected", [
    ("istiod.istio-system.svc:15012", "istio-system/istiod"),
    ("istiod-1-24-2.istio-system.svc:15012", "istio-system/istiod-1-24-2"),
    ("istiod-canary.istio-control.svc.cluster.local:15012", "istio-control/istiod-canary"),
    ("", ""), ("my-ca.example.com:443", ""),
])
def test_ca_services(ca, expected):
    assert mesh.ProxyRules().ca_service(ca) == expected


# ---------------------------------------------------------------- primary-remote: sidecars, no local istiod
def test_remote_cluster_sidecars_without_istiod_are_unknown_not_not_applicable(audit):
    """Istio's primary-remote install (istio/istio manifests/charts/istio-control/istio-discovery with
    `profile=remote`): the remote cluster runs injected pods but no istiod Deployment."""
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="docker.io/istio/proxyv2:1.22.3",
                        ca_addr="istiod.istio-system.svc:15012")]
    a = audit({"cluster-a": cluster(*with_owner(pods))}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")])
    assert a.statuses("mesh-config-xds-agent") == ["UNKNOWN"]
    assert a.statuses("istiod-restarted") == ["UNKNOWN"]
    b = audit({"cluster-a": cluster(*with_owner(pods))}, "assessment", asm=[])
    assert b.statuses("istio-version") == ["UNKNOWN"]


def test_no_istiod_and_no_istio_proxy_is_not_applicable(audit):
    a = audit({"cluster-a": cluster()}, "migrating", asm=[f.migration_cr("SetupIstioForMigrate")])
    rows = a.rows("mesh-config-xds-agent")
    assert [r["status"] for r in rows] == ["NOT_APPLICABLE"]


def test_a_service_selecting_a_local_istiod_is_istios_whatever_its_name(audit):
    """A hand-made `istiod` Service (no installer labels) in front of revision 1-24-2's pods, so that pods
    injected with the default CA_ADDR keep working after a canary upgrade: its selector picks a local istiod."""
    svc = f.service("istiod", "istio-system", labels={"app": "istiod"},
                    ports=[{"name": "https-dns", "port": 15012}])
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": "1-24-2"}
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image="harbor.corp.example/mesh/proxyv2" + DIGEST,
                        ca_addr="istiod.istio-system.svc:15012")]
    a = audit({"cluster-a": cluster(f.istiod("1-24-2", "1.24.2"), svc, *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    owners = a.result.inventory.data_planes[0].istiod_owners()
    assert owners["istio-system/istiod"][0] == mesh.OWNER_ISTIO
    assert proxy_kinds(a) == ["istio"]
    assert a.statuses(SIDECARS) == ["FAIL"]


def test_a_selector_that_picks_nothing_local_leaves_the_service_asms(audit):
    svc = asm_istiod_service()
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": "1-24-6"}  # no such pods here: managed elsewhere
    a = audit({"cluster-a": cluster(f.istiod(), svc)}, "assessment", asm=[])
    owners = a.result.inventory.data_planes[0].istiod_owners()
    assert owners["istio-system/istiod-1-24-6"][0] == mesh.OWNER_ASM
    assert owners["istio-system/istiod"][0] == mesh.OWNER_ISTIO


# ---------------------------------------------------------------- an istiod Service with both owners' marks
# The Service Helm's istiod chart renders for revision 1-24-6 (istio/istio manifests/charts/istio-control/
# istio-discovery/templates/service.yaml @1.24.6: app/istio.io/rev/operator.istio.io/component plus Helm's
# istio.labels) that also carries ASM's annotation (domain.md: `asm.alibabacloud.com/managed-by-asm`), with
# no istiod Deployment behind it. ASM's marks and Istio's install labels contradict each other.
CONFLICTING_SERVICE_LABELS = {
    "istioctl": {"operator.istio.io/component": "Pilot"},
    "helm": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "istiod-1.24.6", "release": "istiod-1-24-6"},
}


def conflicting_istiod_service(installer: str) -> dict:
    svc = asm_istiod_service()
    svc["metadata"]["labels"].update(CONFLICTING_SERVICE_LABELS[installer])
    svc["metadata"]["annotations"] = {"asm.alibabacloud.com/managed-by-asm": "true"}
    svc["spec"]["selector"] = {"app": "istiod", "istio.io/rev": "1-24-6"}
    return svc


@pytest.mark.parametrize("installer", list(CONFLICTING_SERVICE_LABELS))
@pytest.mark.parametrize("marks", [
    dict(image="harbor.corp.example/mesh/proxyv2" + DIGEST),  # CA_ADDR is the only mark
    dict(image=f.ASM_PROXY_IMAGE, asm_env=True),               # every other mark is ASM's
], ids=["ca-only", "asm-image-and-env"])
def test_ca_addr_of_an_istiod_service_with_asm_marks_and_istio_install_labels_is_unknown(audit, installer, marks):
    pods = [sidecar_pod(f"cart-5d8f7c9b6-{i}", ca_addr="istiod-1-24-6.istio-system.svc:15012", rev="1-24-6",
                        **marks) for i in "ab"]
    a = audit({"cluster-a": cluster(f.istiod(), conflicting_istiod_service(installer), *with_owner(pods))},
              "uninstall", asm=[f.migration_cr("Migrating")])
    assert proxy_kinds(a) == ["unknown", "unknown"]
    rows = a.rows(SIDECARS)
    assert [(r["status"], r["kind"], r["name"]) for r in rows] == [("UNKNOWN", "Deployment", "cart")]
    assert a.result.verdict in ("INCOMPLETE", "NO-GO")
    owners = a.result.inventory.data_planes[0].istiod_owners()
    assert owners["istio-system/istiod-1-24-6"][0] == "conflict"


def test_asm_version_is_never_read_from_an_istiod_service_with_conflicting_marks(audit):
    a = audit({"cluster-a": cluster(conflicting_istiod_service("helm"))}, "assessment", asm=[])
    assert a.statuses("asm-version") == ["UNKNOWN"]
    assert {c["name"]: c["asm_version"] for c in a.result.clusters}["cluster-a"] is None


@pytest.mark.parametrize("unread", ["services", "deployments"])
def test_asm_marks_with_the_ca_owner_unread_are_not_a_clean_pass(audit, unread):
    """ASM's image (a mark ASM alone sets) with CA_ADDR at the local istiod: a contradiction (UNKNOWN AA1230, "ASM
    image, Istio CA" above) when the istiod Services and Deployments are read. With either unread, the CA_ADDR's owner
    is unproven and the pod counts as ASM's: "no pod runs Istio's sidecar" is then not proven (was PASS AA1201)."""
    from auditor import kinds as K

    pods = [sidecar_pod("cart-5d8f7c9b6-a", image=f.ASM_PROXY_IMAGE, ca_addr="istiod.istio-system.svc:15012")]
    kind = K.SERVICE if unread == "services" else K.DEPLOYMENT
    a = audit({"cluster-a": cluster(f.istiod(), *with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"cluster-a": {kind: "forbidden"}})
    # Deployments unread also hide any scaled to zero (AA1238, auditor/idle.py).
    assert ("UNKNOWN", "AA1238") in [(r["status"], r["code"]) for r in a.rows(SIDECARS)] or unread == "services"
    rows = [r for r in a.rows(SIDECARS) if r["code"] != "AA1238"]
    assert [(r["status"], r["code"]) for r in rows] == [("UNKNOWN", "AA1234")]
    assert rows[0]["evidence"]["ca_services"] == ["istio-system/istiod"]
    assert a.result.verdict != "GO"


def test_asm_marks_without_a_ca_addr_stay_clean_with_services_unread(audit):
    """A proxy whose CA_ADDR names no in-cluster istiod has no owner to prove: PASS as before."""
    from auditor import kinds as K

    pods = [sidecar_pod("cart-5d8f7c9b6-a", image=f.ASM_PROXY_IMAGE, ca_addr=None, asm_env=True)]
    a = audit({"cluster-a": cluster(*with_owner(pods))}, "uninstall", asm=[f.migration_cr("Migrating")],
              unreadable={"cluster-a": {K.SERVICE: "forbidden"}})
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("PASS", "AA1201")]
