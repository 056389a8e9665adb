"""asm-gateways-present at the uninstall gate: an ALB Ingress in front of ASM's gateway is reached as its AlbConfig's
address type says (fix23i). Fix23c left every ALB front UNKNOWN AA1754 (its status holds only the ALB's DNS name), so
the common ACK setup (Istio's internet CLB, ASM's ClusterIP gateway behind the ALB Ingress controller) was INCOMPLETE
whatever the ALB was: an internet ALB carrying Istio's internet clients, or an intranet one losing them.

Shapes (alibaba/alibaba-load-balancer-controller@v1.2.0, the ALB Ingress controller ACK installs):
- IngressClass: spec.controller ingress.k8s.alibabacloud/alb (pkg/controller/ingress/reconcile/store/common.go
  ALBIngressController), spec.parameters {apiGroup: alibabacloud.com, kind: AlbConfig, name}
  (builder/albconfig_manager/group_loader.go IngressClass reads parameters.name); an Ingress's annotation
  alb.ingress.kubernetes.io/albconfig.name names another AlbConfig instead (group_loader.go LoadGroupID;
  pkg/util/constant.go IngressSuffixAlbConfigName).
- AlbConfig: alibabacloud.com/v1, cluster-scoped (pkg/controller/ingress/register.go AlbConfigCRD Scope
  ClusterScoped); spec.config (pkg/apis/alibabacloud/v1/albconfig_types.go LoadBalancerSpec `json:"config"`) with
  addressType Internet | Intranet, Internet when empty (builder/albconfig_manager/model_build_load_balancer.go), id to
  reuse an existing ALB (whose address type the controller never sets: provider/alibaba/alb/alb.go
  updateAlbLoadBalancerAddressTypeConfig returns at once for a reused one), addressIpVersion DualStack with
  ipv6AddressType Internet for an internet IPv6 address. ACK's documentation ("Configure ALB instances with AlbConfig",
  alibabacloud.com/help/en/ack/.../configure-albconfig-objects) writes the same: spec.config.addressType "Internet
  (public) or Intranet (VPC-internal)", default Internet, creation-only.
- The Ingress's status.loadBalancer.ingress[].hostname is the ALB's DNS name (status dnsname of the AlbConfig).
"""

from __future__ import annotations

from typing import Any

from auditor import kinds as K
from tests.checks.test_asm_gateway_reach import CHECK, ONLY, PRIVATE, asm_gateway, asm_side, cr, istio_gateway, rows
from tests.checks.test_asm_gateway_reach_fronts import ALB_DNS, front
from tests.checks.test_gateways import CCM

ADDRESS_TYPE = f"{CCM}alibaba-cloud-loadbalancer-address-type"


def alb_class(name: str = "alb", albconfig: str | None = "alb") -> dict[str, Any]:
    """The IngressClass the ALB Ingress controller's Ingresses name (ACK's console creates `alb` for AlbConfig
    `alb`); albconfig None: no spec.parameters."""
    spec: dict[str, Any] = {"controller": "ingress.k8s.alibabacloud/alb"}
    if albconfig is not None:
        spec["parameters"] = {"apiGroup": "alibabacloud.com", "kind": "AlbConfig", "name": albconfig}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": name}, "spec": spec}


def albconfig(name: str = "alb", address_type: str | None = "Internet", **config: Any) -> dict[str, Any]:
    """An AlbConfig (cluster-scoped) of one ALB with listener 80, as the controller has reconciled it."""
    spec_config: dict[str, Any] = {"name": name, "zoneMappings": [{"vSwitchId": "vsw-uf6ccg2a9g71hx8go0001"},
                                                                  {"vSwitchId": "vsw-uf6nun9tql5t8nh150002"}],
                                   **config}
    if address_type is not None:
        spec_config["addressType"] = address_type
    return {"apiVersion": "alibabacloud.com/v1", "kind": "AlbConfig", "metadata": {"name": name},
            "spec": {"config": spec_config, "listeners": [{"port": 80, "protocol": "HTTP"}]},
            "status": {"loadBalancer": {"dnsname": ALB_DNS, "id": "alb-k2x1c4q0l0u9i7abcd"}}}


def alb_ingress(**annotations: str) -> dict[str, Any]:
    ing = front("alb", [{"hostname": ALB_DNS}])
    if annotations:
        ing["metadata"]["annotations"] = dict(annotations)
    return ing


def audit_alb(audit, *extra: dict[str, Any], istio: list[dict[str, Any]] | None = None, unreadable=None):
    """Istio's internet CLB gateway (default), ASM's ClusterIP gateway, and the ALB Ingress in front of it."""
    return audit({"cluster-a": [*(istio or istio_gateway()), *asm_gateway("ClusterIP"), *extra]}, "uninstall",
                 config=ONLY, asm=asm_side(cr("ClusterIP")), unreadable=unreadable)


def test_an_internet_alb_carries_istios_internet_clients(audit):
    """Fix23c: UNKNOWN AA1754, INCOMPLETE on every such cluster. addressType omitted is Internet too."""
    for config in (albconfig(), albconfig(address_type=None), albconfig(address_type="internet")):
        a = audit_alb(audit, alb_class(), config, alb_ingress())
        assert rows(a) == [("PASS", "AA1701")], config["spec"]["config"].get("addressType")
        assert a.result.verdict == "GO"


def test_an_intranet_alb_loses_istios_internet_clients(audit):
    """Fix23c: UNKNOWN AA1754. The fix gives ASM's gateway an internet load balancer of its own."""
    a = audit_alb(audit, alb_class(), albconfig(address_type="Intranet"), alb_ingress())
    [row] = a.rows(CHECK)
    assert (row["status"], row["code"]) == ("FAIL", "AA1728")
    assert row["evidence"]["fronts"]["Ingress istio-system/front-alb"] == {
        "reach": "intranet", "addresses": [ALB_DNS], "alb_config": "alb"}
    assert '"serviceType":"LoadBalancer"' in row["remediation"]
    assert f'"{ADDRESS_TYPE}":"internet"' in row["remediation"]
    assert a.result.verdict == "NO-GO"


def test_an_intranet_alb_for_istios_intranet_load_balancer_passes(audit):
    istio = istio_gateway(address=PRIVATE, annotations={ADDRESS_TYPE: "intranet"})
    a = audit_alb(audit, alb_class(), albconfig(address_type="Intranet"), alb_ingress(), istio=istio)
    assert rows(a) == [("PASS", "AA1701")]


def test_the_annotation_names_the_albconfig_over_the_ingressclass(audit):
    """alb.ingress.kubernetes.io/albconfig.name wins over the IngressClass's parameters (LoadGroupID)."""
    annotated = alb_ingress(**{"alb.ingress.kubernetes.io/albconfig.name": "internal"})
    a = audit_alb(audit, alb_class(), albconfig(), albconfig("internal", "Intranet"), annotated)
    assert rows(a) == [("FAIL", "AA1728")]
    b = audit_alb(audit, alb_class(albconfig="internal"), albconfig(), albconfig("internal", "Intranet"),
                  alb_ingress(**{"alb.ingress.kubernetes.io/albconfig.name": "alb"}))
    assert rows(b) == [("PASS", "AA1701")]


def test_what_does_not_tell_stays_unknown(audit):
    """The AlbConfig not found, no IngressClass parameters, a reused ALB (spec.config.id: its own address type), an
    unknown addressType, an intranet ALB with an internet IPv6 address, an IngressClass of another controller, no
    status address yet: UNKNOWN AA1754 as before, the command showing the AlbConfig where one is named."""
    other = alb_class()
    other["spec"]["controller"] = "k8s.io/ingress-nginx"
    cases = {
        "not found": [alb_class(), albconfig("another")],
        "no parameters": [alb_class(albconfig=None), albconfig()],
        "reused": [alb_class(), albconfig(address_type="Intranet", id="alb-3kqz9d6l0m8r2xyzab")],
        "unknown type": [alb_class(), albconfig(address_type="Public")],
        "ipv6": [alb_class(), albconfig(address_type="Intranet", addressIpVersion="DualStack",
                                        ipv6AddressType="Internet")],
        "another controller": [other, albconfig()],
    }
    for case, objects in cases.items():
        a = audit_alb(audit, *objects, alb_ingress())
        [row] = a.rows(CHECK)
        assert (row["status"], row["code"]) == ("UNKNOWN", "AA1754"), case
        assert a.result.verdict == "INCOMPLETE", case
        named = case not in ("no parameters", "another controller")
        assert ("albconfigs.alibabacloud.com/" in row["remediation"]) == named, case
    pending = front("alb", None)
    b = audit_alb(audit, alb_class(), albconfig(), pending)
    assert rows(b) == [("UNKNOWN", "AA1754")]


def test_albconfigs_unread_or_not_in_an_older_snapshot_leave_the_front_untold(audit):
    """AlbConfigs forbidden, or a snapshot written before they were read (the kind not collected): as fix23c."""
    a = audit_alb(audit, alb_class(), albconfig(), alb_ingress(),
                  unreadable={"cluster-a": {K.ALBCONFIG: "albconfigs.alibabacloud.com is forbidden"}})
    assert rows(a) == [("UNKNOWN", "AA1754")]
    assert a.result.verdict == "INCOMPLETE"
    # Written before AlbConfigs were read: the IngressClass names one the snapshot does not hold.
    b = audit_alb(audit, alb_class(), alb_ingress())
    assert rows(b) == [("UNKNOWN", "AA1754")]



def test_an_albconfig_or_ingressclass_of_other_types_is_refused():
    """A list as the addressType, or as the IngressClass's parameters name, would be read as another ALB's reach: the
    snapshot is refused naming the object (auditor/sources/shapes.py), as the API server would never serve it."""
    from auditor.sources.shapes import object_problem

    bad = albconfig()
    bad["spec"]["config"]["addressType"] = ["Intranet"]
    assert object_problem("AlbConfig", bad) is not None
    klass = alb_class()
    klass["spec"]["parameters"]["name"] = ["alb"]
    assert object_problem("IngressClass", klass) is not None
    assert object_problem("AlbConfig", albconfig()) is None
    assert object_problem("IngressClass", alb_class()) is None
