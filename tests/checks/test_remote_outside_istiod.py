"""A proxy Istio's injector made for a control plane in another cluster, reached by address (red21k).

Shapes, and where they come from:
- Istio's external control plane guide (istio.io content/en/docs/setup/install/external-controlplane/index.md, snip
  get_external_istiod_iop) installs the istiod serving a remote cluster with `meshConfig.defaultConfig.discoveryAddress:
  $EXTERNAL_ISTIOD_ADDR:15012` and `values.global.caAddress: $EXTERNAL_ISTIOD_ADDR:15012`: the address of the gateway
  that exposes istiod's port 15012 from the other cluster. The injection template writes CA_ADDR from caAddress and
  PROXY_CONFIG with that non-default discoveryAddress (istio/istio@1.22.3 manifests/charts/istio-control/
  istio-discovery/files/injection-template.yaml; pkg/kube/inject/template.go cleanProxyConfig keeps it). A remote
  pointed at the primary's east-west gateway IP (istio.io setup/install/multicluster/primary-remote:
  `kubectl get svc istio-eastwestgateway ... .status.loadBalancer.ingress[0].ip`) has the same shape with an IP.
- No ASM_ID / ASM_APP_VERSION (ASM's injector alone writes them); the image ASM's through the injector's values
  (global.hub / global.proxy.image) or the pod's sidecar.istio.io/proxyImage (pkg/kube/inject/inject.go ProxyImage).
`istioctl uninstall --purge` in the cluster running that istiod (or its east-west gateway) leaves these proxies with no
CA and no configuration, whichever image they run.
"""

from __future__ import annotations

import orjson
import pytest

from auditor import mesh
from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_classification import asm_istiod_service, cluster, proxy_kinds, sidecar_pod, with_owner

SIDECARS = "istio-sidecars-remaining"
EASTWEST_IP = "192.0.2.10:15012"  # the primary's east-west gateway LoadBalancer IP (documentation range)
EXTERNAL_ISTIOD = "external-istiod.example.com:15012"  # the guide's EXTERNAL_ISTIOD_ADDR


def xds(address: str) -> str:
    return orjson.dumps({"discoveryAddress": address}).decode()


def remote_pod(name: str, address: str, *, asm_env: bool = False) -> dict:
    p = sidecar_pod(name, image=f.ASM_PROXY_IMAGE, ca_addr=address, asm_env=asm_env)
    proxy = next(c for c in p["spec"]["containers"] if c["name"] == "istio-proxy")
    proxy["env"] = [e for e in proxy["env"] if e["name"] != "PROXY_CONFIG"]
    proxy["env"].append({"name": "PROXY_CONFIG", "value": orjson.dumps({"discoveryAddress": address}).decode() + "\n"})
    return p


@pytest.mark.parametrize("address", [EASTWEST_IP, EXTERNAL_ISTIOD])
@pytest.mark.parametrize("gate", ["uninstall", "finished"])
def test_proxy_served_from_another_cluster_by_address_blocks(audit, gate, address):
    """Old: neither CA_ADDR nor discoveryAddress named an istiod Service, so ASM's image alone made them ASM's:
    PASS AA1201, GO at both gates (while the other cluster's istiod, which the purge removes, serves them)."""
    pods = [remote_pod(f"cart-5d8f7c9b6-{i}", address) for i in "ab"]
    a = audit({"cluster-b": cluster(asm_istiod_service(), *with_owner(pods))}, gate,
              asm=[f.migration_cr("Migrating" if gate == "uninstall" else "Finished")])
    assert mesh.PROXY_ASM not in proxy_kinds(a)
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(SIDECARS)] == [("FAIL", "AA1240", "cart")]
    assert a.result.verdict == "NO-GO"


def test_asm_env_with_such_an_address_stays_asm(audit):
    """Control: ASM's env is written by ASM's injector alone; an address beside it is no sign of Istio's."""
    pods = [remote_pod("cart-5d8f7c9b6-a", EASTWEST_IP, asm_env=True)]
    a = audit({"cluster-b": cluster(asm_istiod_service(), *with_owner(pods))}, "finished",
              asm=[f.migration_cr("Finished")])
    assert proxy_kinds(a) == ["asm"]


@pytest.mark.parametrize(("ca_addr", "proxy_config", "asm_env", "expected"), [
    (EASTWEST_IP, xds(EASTWEST_IP), False, "address:" + EASTWEST_IP),
    ("[2001:db8::a]:15012", "{}", False, "address:[2001:db8::a]:15012 istio-system/istiod"),
    ("istiod-1-24-6.istio-system.svc:15012", xds(EXTERNAL_ISTIOD), False,
     "istio-system/istiod-1-24-6 address:" + EXTERNAL_ISTIOD),
    ("cert-manager-istio-csr.cert-manager.svc:443", "{}", False, "istio-system/istiod"),  # istio-csr: as before
    (EASTWEST_IP, xds(EASTWEST_IP), True, ""),  # ASM's env: ASM's injector wrote it
    ("zipkin.tracing:9411", "{}", False, "istio-system/istiod"),  # not istiod's port: no mark
])
def test_istiod_services_names_an_outside_istiod(ca_addr, proxy_config, asm_env, expected):
    assert mesh.istiod_services(mesh.ProxyRules(), ca_addr, proxy_config, asm_env) == expected


# An IstioOperator-rendered gateway (not injected: its Deployment template carries the proxy's env): the gateways
# chart writes CA_ADDR from values.global.caAddress when set (manifests/charts/gateways/istio-ingress/templates/
# deployment.yaml @1.22.3), the image from global.hub / global.proxy.image, and operator.istio.io/component labels.
def rendered_gateway(ca_addr: str) -> list[dict]:
    objs = S.iop_gateway(S.Injector("1.22.3"), "istio-ingressgateway", "IngressGateways", istio_label="ingressgateway")
    for obj in objs:
        spec = obj.get("spec") or {}
        for container in (spec.get("template", {}).get("spec") or spec).get("containers") or []:
            if container["name"] == "istio-proxy":
                container["image"] = f.ASM_PROXY_IMAGE
                for e in container["env"]:
                    if e["name"] == "CA_ADDR":
                        e["value"] = ca_addr
    return objs


@pytest.mark.parametrize(("gate", "check", "code"), [("finished", "istio-residue", "AA2310"),
                                                     ("uninstall", "asm-gateways-present", "AA1710")])
def test_istio_gateway_served_from_another_cluster_is_istios(audit, gate, check, code):
    """Old: the gateway scan read CA_ADDR alone (an address: no istiod), so ASM's image made it ASM's gateway; at the
    finished gate istio-residue passed and the audit said GO with Istio's gateway still running; at uninstall no ASM
    gateway was asked for it (N/A AA1740)."""
    objs = [S.namespace("istio-system"), *rendered_gateway(EXTERNAL_ISTIOD), *S.asm_workload("cart", "apps"),
            S.asm_istiod_service()]
    a = audit({"cluster-b": objs}, gate, asm=[f.migration_cr("Migrating" if gate == "uninstall" else "Finished")])
    assert [(r["status"], r["code"], r["name"]) for r in a.rows(check)] == [("FAIL", code, "istio-ingressgateway")]
    assert a.result.verdict == "NO-GO"
