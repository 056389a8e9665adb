"""A proxy whose image is ASM's but which Istio's own injector made, served by Istio's istiod: never ASM's proxy at
the uninstall and finished gates (red21a).

Shapes, and where they come from:
- Istio's sidecar injection template (istio/istio@1.22.3 manifests/charts/istio-control/istio-discovery/files/
  injection-template.yaml): the istio-proxy `image:` is whatever the injector's values (`global.hub`/`global.tag`,
  `global.proxy.image`: an IstioOperator's `values.global.proxy.image`, Helm's `--set global.hub=`) or the pod's
  `sidecar.istio.io/proxyImage` annotation name (pkg/kube/inject/inject.go ProxyImage @1.22.3); `CA_ADDR` is
  `istiod[-<rev>].<istioNamespace>.svc:15012` unless `global.caAddress` is set; no ASM_ID / ASM_APP_VERSION;
  `PROXY_CONFIG` holds the proxy config minus its defaults (`{}` for a default install: pkg/kube/inject/template.go
  cleanProxyConfig drops discoveryAddress `istiod.istio-system.svc:15012`; testdata/inject/hello.yaml.injected).
- `istioctl uninstall --purge` deletes istiod's Deployment and Service (they carry operator.istio.io/component: Pilot);
  what is left of the control plane in the cluster is ASM's headless istiod-<rev> Service (domain.md).
So after the purge such a pod dials a CA and xDS server that no longer exist: its certificates are not renewed and it
gets no configuration. Before it, it is served by Istio's istiod, which the uninstall removes.
"""

from __future__ import annotations

import pytest

from auditor import mesh
from auditor.engine import run_audit
from auditor.findings import records
from auditor.sources.snapshot import open_snapshot
from tests import factory as f
from tests.checks.conftest import NOW
from tests.checks.test_classification import (
    asm_istiod_service,
    cluster,
    istio_revision,
    proxy_kinds,
    sidecar_pod,
    with_owner,
)
from tests.factory import version_info, write_snapshot

SIDECARS = "istio-sidecars-remaining"
ISTIO_CA = "istiod.istio-system.svc:15012"  # the template's CA_ADDR: default revision, namespace istio-system


def istio_injected_with_asm_image(name: str, *, per_pod_annotation: bool = False) -> dict:
    """A pod Istio's injector (default revision) made with ASM's proxy image: through the injector's values, or the
    pod's sidecar.istio.io/proxyImage annotation."""
    p = sidecar_pod(name, image=f.ASM_PROXY_IMAGE, ca_addr=ISTIO_CA)
    if per_pod_annotation:
        p["metadata"]["annotations"]["sidecar.istio.io/proxyImage"] = f.ASM_PROXY_IMAGE
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "PROXY_CONFIG"]
    proxy["env"].append({"name": "PROXY_CONFIG", "value": "{}\n"})
    return p


def test_istio_injected_pods_with_asm_image_block_finished_after_the_purge(audit):
    """Finished: Istio's istiod is gone, ASM's istiod-1-24-6 Service is there. Old: the pods counted as ASM's by their
    image (CA_ADDR naming a Service no longer there was no mark): PASS AA1201, GO."""
    pods = [istio_injected_with_asm_image("cart-5d8f7c9b6-a"),
            istio_injected_with_asm_image("cart-5d8f7c9b6-b", per_pod_annotation=True)]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert mesh.PROXY_ASM not in proxy_kinds(a)
    rows = a.rows(SIDECARS)
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


def test_istio_injected_pods_with_asm_image_block_uninstall_even_with_allow_unknown(tmp_path):
    """Uninstall: Istio's istiod still serves them (its Deployment backs istiod.istio-system). Old: contradicting marks,
    UNKNOWN AA1230, which --allow-unknown accepts: GO, and the uninstall then cut them off."""
    pods = [istio_injected_with_asm_image("cart-5d8f7c9b6-a")]
    clusters = {"cluster-a": cluster(f.istiod(), asm_istiod_service(), *with_owner(pods)),
                "asm": [f.migration_cr("Migrating")]}
    write_snapshot(tmp_path, clusters, versions={name: version_info() for name in clusters},
                   manifest={"clusters": [{"name": n, "role": "asm" if n == "asm" else "data-plane", "dir": n,
                                           "complete": True} for n in clusters]})
    result = run_audit(open_snapshot(tmp_path), "uninstall", None, allow_unknown=True, now=NOW)
    rows = [r for r in records(result.findings) if r["check_id"] == SIDECARS]
    assert [(r["status"], r["code"], r["name"]) for r in rows] == [("FAIL", "AA1240", "cart")]
    assert result.verdict == "NO-GO"


def test_asm_env_with_an_istiod_not_seen_stays_asm(audit):
    """Control: ASM's env (ASM_ID) is written by ASM's injector alone, which wrote the CA_ADDR too: an istiod Service
    not in the snapshot beside it is no sign of Istio's. (The image is no such proof: Istio's injector writes any.)"""
    pods = [sidecar_pod("cart-5d8f7c9b6-a", image=f.ASM_PROXY_IMAGE, ca_addr="istiod-1-22-6.istio-system.svc:15012",
                        asm_env=True, rev="1-22-6")]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["asm"]


# cert-manager's istio-csr as Istio's CA: its install guides set `values.global.caAddress:
# cert-manager-istio-csr.cert-manager.svc:443` (and ENABLE_CA_SERVER=false on istiod), so CA_ADDR names no istiod; the
# proxy still takes its configuration from istiod, by the discoveryAddress its PROXY_CONFIG carries: a revision's
# `istiod-<rev>.istio-system.svc:15012` (istio-discovery templates/configmap.yaml @1.22.3), not the default, so kept
# by cleanProxyConfig. ASM's proxy image through the chart's `global.hub`/`global.tag`.
ISTIO_CSR = "cert-manager-istio-csr.cert-manager.svc:443"


def istio_csr_pod(name: str) -> dict:
    p = sidecar_pod(name, image=f.ASM_PROXY_IMAGE, ca_addr=ISTIO_CSR, rev="1-22-3")
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "PROXY_CONFIG"]
    proxy["env"].append({"name": "PROXY_CONFIG",
                         "value": '{"discoveryAddress":"istiod-1-22-3.istio-system.svc:15012"}\n'})
    return p


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_asm_image_with_another_ca_is_judged_by_its_discovery_address(audit, gate):
    """Uninstall: istiod-1-22-3 (Istio's, its Deployment runs) serves them; finished: it is purged. Old: CA_ADDR named
    no istiod, so the image alone made them ASM's: PASS AA1201, GO at both gates."""
    control = istio_revision("1-22-3", "1.22.3") if gate == "uninstall" else []
    pods = [istio_csr_pod(f"cart-5d8f7c9b6-{i}") for i in "ab"]
    a = audit({"cluster-a": cluster(*control, asm_istiod_service(), *with_owner(pods))}, gate,
              asm=[f.migration_cr("Migrating" if gate == "uninstall" else "Finished")])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


def test_discovery_address_of_asms_istiod_keeps_an_asm_proxy(audit):
    """Control: ASM's proxy whose PROXY_CONFIG names ASM's istiod-1-24-6 (as its CA_ADDR does) is ASM's."""
    pods = [f.pod(f"cart-5d8f7c9b6-{i}", "shop", proxy="asm", owner=("ReplicaSet", "cart-5d8f7c9b6")) for i in "ab"]
    for p in pods:
        proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
        for e in proxy["env"]:
            if e["name"] == "PROXY_CONFIG":
                e["value"] = '{"discoveryAddress":"istiod-1-24-6.istio-system.svc:15012"}\n'
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["asm", "asm"]
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("PASS", "AA1201")]


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_asm_image_with_another_ca_on_istios_default_revision_dials_the_default_istiod(audit, gate):
    """istio-csr as CA on Istio's default revision: cleanProxyConfig leaves the default discoveryAddress
    (istiod.istio-system.svc:15012) out of PROXY_CONFIG (`{}`, testdata/inject/hello.yaml.injected @1.22.3), so neither
    CA_ADDR nor PROXY_CONFIG names an istiod. review21b: the ASM image alone made them ASM's, PASS AA1201, GO."""
    control = [f.istiod()] if gate == "uninstall" else []
    pods = []
    for i in "ab":
        p = sidecar_pod(f"cart-5d8f7c9b6-{i}", image=f.ASM_PROXY_IMAGE, ca_addr=ISTIO_CSR)
        proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
        proxy["env"] = [e for e in proxy["env"] if e["name"] != "PROXY_CONFIG"]
        proxy["env"].append({"name": "PROXY_CONFIG", "value": "{}\n"})
        pods.append(p)
    a = audit({"cluster-a": cluster(*control, asm_istiod_service(), *with_owner(pods))}, gate,
              asm=[f.migration_cr("Migrating" if gate == "uninstall" else "Finished")])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


def _csr_pod(name: str, proxy_config: str) -> dict:
    p = sidecar_pod(name, image=f.ASM_PROXY_IMAGE, ca_addr=ISTIO_CSR)
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "PROXY_CONFIG"]
    proxy["env"].append({"name": "PROXY_CONFIG", "value": proxy_config})
    return p


@pytest.mark.parametrize("proxy_config", ['{"discoveryAddress":null}',
                                          '{"proxyMetadata":{"NOTE":"no discoveryAddress override"}}'])
def test_a_proxy_config_naming_no_discovery_address_is_the_default_whatever_its_text(audit, proxy_config):
    """review21c: the rule hung on the word `discoveryAddress` in the text: these were ASM's by image, GO."""
    pods = [_csr_pod(f"cart-5d8f7c9b6-{i}", proxy_config) for i in "ab"]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240")]


def test_a_proxy_config_nested_too_deep_is_no_crash(audit):
    """A live pod's PROXY_CONFIG may be anything: 5,000 levels of nesting made json.loads raise RecursionError and
    the whole audit stop (review21c). It names no istiod that can be read: the default is not guessed."""
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    pods = [_csr_pod(f"cart-5d8f7c9b6-{i}", deep) for i in "ab"]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    rows = a.rows(SIDECARS)
    assert rows and all(r["code"] != "AA0002" for r in rows)  # judged, not a crashed check


# The pod's own proxy config, read by pilot-agent at every start from the downward API file /etc/istio/pod/annotations
# (the injector mounts `istio-podinfo` with metadata.annotations: injection-template.yaml @1.22.3) and applied LAST,
# over the PROXY_CONFIG env (pilot/cmd/pilot-agent/config/config.go getMeshConfig step 4, mesh.ApplyProxyConfig
# @1.22.3): its discoveryAddress is the xDS server the proxy dials. The injector merges the annotation into
# PROXY_CONFIG only when it injects; an annotation set later on the pod, or on the template of a manually injected
# workload (`istioctl kube-inject` writes the sidecar, PROXY_CONFIG included, into the template; the webhook does not
# inject a pod that already carries sidecar.istio.io/status) reaches the agent and not the env. YAML, as users write
# it.
ISTIO_XDS_ANNOTATION = "discoveryAddress: istiod.istio-system.svc:15012\n"


def asm_pod_with_annotation(name: str, annotation: str) -> dict:
    """ASM's proxy (image, ASM_ID, CA_ADDR and PROXY_CONFIG naming ASM's istiod-1-24-6) whose pod annotation names
    another discoveryAddress."""
    p = f.pod(name, "shop", proxy="asm", owner=("ReplicaSet", "cart-5d8f7c9b6"),
              annotations={"proxy.istio.io/config": annotation})
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    for e in proxy["env"]:
        if e["name"] == "PROXY_CONFIG":
            e["value"] = '{"discoveryAddress":"istiod-1-24-6.istio-system.svc:15012"}\n'
    return p


@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_the_pod_annotation_discovery_address_of_istios_istiod_is_istios(audit, gate):
    """red21h: the annotation's discoveryAddress (Istio's istiod) was not read: the env's marks alone made these ASM's,
    PASS AA1201, GO at both gates; the proxies take their configuration from the istiod the uninstall removes. After
    the purge that istiod is gone: an absent istiod is excused for ASM's env only when an injector named it (its
    CA_ADDR), not when the pod's annotation does (mesh.ANNOTATION_NAMED)."""
    control = [f.istiod()] if gate == "uninstall" else []
    pods = [asm_pod_with_annotation(f"cart-5d8f7c9b6-{i}", ISTIO_XDS_ANNOTATION) for i in "ab"]
    a = audit({"cluster-a": cluster(*control, asm_istiod_service(), *with_owner(pods))}, gate,
              asm=[f.migration_cr("Migrating" if gate == "uninstall" else "Finished")])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


@pytest.mark.parametrize("annotation", ['{"discoveryAddress": "istiod.istio-system.svc:15012"}',
                                        # protojson takes the proto field name too (jsonpb Unmarshal)
                                        "discovery_address: istiod.istio-system.svc:15012"])
def test_the_pod_annotation_is_read_as_json_and_by_its_proto_name(audit, annotation):
    pods = [asm_pod_with_annotation(f"cart-5d8f7c9b6-{i}", annotation) for i in "ab"]
    a = audit({"cluster-a": cluster(f.istiod(), asm_istiod_service(), *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240")]


@pytest.mark.parametrize("annotation", ["discoveryAddress: istiod-1-24-6.istio-system.svc:15012\n",
                                        "terminationDrainDuration: 30s\n", "{not yaml: [", "discoveryAddress: [1]\n"])
def test_a_pod_annotation_naming_asms_istiod_or_none_keeps_an_asm_proxy(audit, annotation):
    """Control: an annotation naming ASM's istiod, none, or one that cannot be read leaves ASM's proxy ASM's."""
    pods = [asm_pod_with_annotation(f"cart-5d8f7c9b6-{i}", annotation) for i in "ab"]
    a = audit({"cluster-a": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["asm", "asm"]
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("PASS", "AA1201")]


def test_the_pod_annotation_is_read_to_its_first_document(audit):
    """pilot-agent reads proxy.istio.io/config with sigs.k8s.io/yaml (go-yaml v2 Unmarshal: the first document only,
    pilot/cmd/pilot-agent/config/config.go @1.22.3); PyYAML's safe_load refuses a text of two documents, so it named
    no istiod and the pods stayed ASM's: PASS AA1201, GO (review21d)."""
    pods = [asm_pod_with_annotation(f"cart-5d8f7c9b6-{i}", ISTIO_XDS_ANNOTATION + "---\nx: 1\n") for i in "ab"]
    a = audit({"cluster-a": cluster(f.istiod(), asm_istiod_service(), *with_owner(pods))}, "uninstall",
              asm=[f.migration_cr("Migrating")])
    assert [(r["status"], r["code"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240")]


def test_a_rendered_gateway_with_asms_image_and_another_ca_is_istios(tmp_path):
    """istioctl's default profile @1.22.8 (tests/install_shapes.istioctl_profile: the gateway as charts/gateways/
    istio-ingress templates/deployment.yaml renders it, no PROXY_CONFIG: its agent takes the mounted istio ConfigMap's
    defaults, discoveryAddress Istio's istiod), CA_ADDR istio-csr's, the proxy image ASM's. review21c: the gateway
    scan read it as ASM's by its image (no ASM gateway asked to replace it; purge-preview AA2510 said ASM's data plane
    runs on it)."""
    from tests import install_shapes as s
    from tests.test_install_shapes import _belongs_to
    from tests.test_install_shapes import audit as shape_audit

    shape = s.moved_to_asm(s.istioctl_profile("default", "1.22.8"))
    shape.objects = [o for o in shape.objects if not _belongs_to(o, shape.istio_sidecar_workloads)]
    for obj in shape.objects:
        if obj["kind"] in ("Deployment", "ReplicaSet", "Pod"):
            spec = obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]
            for c in spec.get("containers", []):
                for e in c.get("env", []):
                    if e["name"] == "CA_ADDR" and e.get("value") == ISTIO_CA:
                        e["value"] = ISTIO_CSR
                        if c["name"] == "istio-proxy":
                            c["image"] = s.ASM_IMAGE_VPC
    result = shape_audit(tmp_path, shape, "uninstall", "Migrating")
    found = {(r["check_id"], r["status"], r["code"]) for r in records(result.findings)}
    assert ("asm-gateways-present", "FAIL", "AA1710") in found  # Istio's gateway: an ASM gateway must replace it
    assert not any(code == "AA2510" for _, _, code in found)  # no longer "ASM's data plane runs on it"
