"""A remote cluster linked to its primary by topology.istio.io/controlPlaneClusters is served by the control plane its
own install points at: when that address is provably not the linked primary's, the link is not proven.

Shapes (github:istio/istio, github:istio/istio.io):
- the remote's install (profile remote): a selector-less Service istiod naming global.remotePilotAddress, type
  ExternalName for a host name, else with an Endpoints object (istiod-remote/templates/services.yaml, endpoints.yaml
  @1.22.8; istio-discovery/templates/remote-istiod-endpoints.yaml @1.27.9) or from 1.28 an EndpointSlice
  (remote-istiod-service.yaml, remote-istiod-endpointslices.yaml @1.30.3) holding the IP; the injector webhook calling
  that Service, or istiodRemote.injectionURL as its clientConfig.url (mutatingwebhook.yaml @1.22.8, @1.30.3); from
  1.26 the Helm values record ConfigMap `values`, merged-values (configmap-values.yaml @1.26.8, @1.30.3);
- the guide gives the remote the primary's east-west gateway address as remotePilotAddress (`kubectl get svc
  istio-eastwestgateway -o jsonpath='{.status.loadBalancer.ingress[0].ip}'`, EXTERNAL-IP 34.75.71.237 in its output:
  istio.io content/en/docs/setup/install/multicluster/primary-remote/index.md, snips.sh), the gateway of
  samples/multicluster/gen-eastwest-gateway.sh (Service istio-eastwestgateway, type LoadBalancer, ports 15021, 15443,
  15012, 15017: tests/install_shapes.eastwest), and the injection path /inject/cluster/cluster2/net/network1; the
  external control plane guide's injectionURL https://<addr>:15017/inject/cluster/<remote>/net/network1
  (setup/install/external-controlplane);
- the primary and the link: tests/checks/test_remote.primary_cluster, remote_cluster.

Main linked the remote by the annotation alone: a remote whose install points at another control plane (a stale
annotation) was judged by the primary it names, PASS, a GO.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor import remote as R
from tests import factory as f
from tests import install_shapes as S
from tests.checks.test_remote import (
    ASM_SAME,
    PARITY,
    RESTARTED,
    REVISIONS,
    VERSION,
    VERSION_CHECK,
    XDS,
    primary_cluster,
    remote_cluster,
    rows,
)

EASTWEST_IP = "34.75.71.237"   # the guide's east-west gateway EXTERNAL-IP
OTHER_IP = "47.98.120.15"      # another primary's east-west gateway
ALL_FIVE = (XDS, RESTARTED, REVISIONS, VERSION_CHECK, PARITY)
LINKED = {XDS: "AA0902", RESTARTED: "AA1002", REVISIONS: "AA0402", VERSION_CHECK: "AA0204", PARITY: "AA2402"}
UNPROVEN = {XDS: "AA0933", RESTARTED: "AA1036", REVISIONS: "AA0433", VERSION_CHECK: "AA0234", PARITY: "AA2436"}


def with_eastwest(objs: list[dict[str, Any]], address: str | None, *, hostname: bool = False
                  ) -> list[dict[str, Any]]:
    """The primary with gen-eastwest-gateway.sh's gateway in istio-system, its LoadBalancer Service given `address`
    (None: still pending, no ingress) in status.loadBalancer.ingress as the cloud's controller writes it."""
    have = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
    for obj in S.eastwest(VERSION, "network1").objects:
        key = (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in have or key[1] != S.ISTIO_NS:
            continue
        if obj["kind"] == "Service" and address is not None:
            obj["status"] = {"loadBalancer": {"ingress": [{"hostname" if hostname else "ip": address,
                                                           **({} if hostname else {"ipMode": "VIP"})}]}}
        objs.append(obj)
    return objs


def with_istiod_load_balancer(objs: list[dict[str, Any]], address: str) -> list[dict[str, Any]]:
    """istiod's own Service made a LoadBalancer (service.yaml @1.30.3 ports 15010, 15012, 443, 15014)."""
    for obj in objs:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "istiod":
            obj["spec"]["type"] = "LoadBalancer"
            obj["status"] = {"loadBalancer": {"ingress": [{"ip": address, "ipMode": "VIP"}]}}
    return objs


def pointed_at(objs: list[dict[str, Any]], address: str, *, injection_url: bool = False) -> list[dict[str, Any]]:
    """The remote installed with global.remotePilotAddress=`address` (1.30.3): for an IP a selector-less Service istiod
    with no type and an EndpointSlice holding the IP (a kind not read here), for a host name an ExternalName; the values
    record with it. `injection_url`: istiodRemote.injectionURL https://<address>:15017/inject/... as the webhooks'
    clientConfig.url instead of the Service."""
    is_ip = address.replace(".", "").isdigit()
    url = f"https://{address}:15017/inject/cluster/cluster2/net/network1"
    for obj in objs:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "istiod":
            spec = obj["spec"]
            if is_ip:
                spec.pop("type", None)
                spec.pop("externalName", None)
            else:
                spec["type"], spec["externalName"] = "ExternalName", address
        elif obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "values":
            merged = json.loads(obj["data"]["merged-values"])
            merged["global"]["remotePilotAddress"] = address
            if injection_url:
                merged["istiodRemote"]["injectionURL"] = url
            obj["data"]["merged-values"] = json.dumps(merged, indent=2)
        elif obj["kind"] == "MutatingWebhookConfiguration" and injection_url:
            for hook in obj["webhooks"]:
                hook["clientConfig"] = {"url": url}
    if is_ip:
        objs.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"name": "istiod", "namespace": S.ISTIO_NS,
                                  "labels": {"kubernetes.io/service-name": "istiod",
                                             "endpointslice.kubernetes.io/managed-by": "Helm"}},
                     "addressType": "IPv4", "endpoints": [{"addresses": [address]}],
                     "ports": [{"port": 15012, "name": "tcp-istiod", "protocol": "TCP"},
                               {"port": 15017, "name": "tcp-webhook", "protocol": "TCP"}]})
    return objs


def audit_all(audit, clusters: dict[str, list[dict[str, Any]]]):
    return audit(clusters, "all", asm=[f.migration_cr("SetupIstioForMigrate")],
                 config={**f.only_checks(*ALL_FIVE), "asm": {"mesh_config": ASM_SAME}})


def remote_rows(a) -> dict[str, list[tuple[str, str]]]:
    """check -> the remote's (status, code) (istio-version's and mesh-config-parity's of their first gate)."""
    first = {VERSION_CHECK: "assessment", PARITY: "migrating"}
    return {check: sorted((r["status"], r["code"]) for r in a.rows(check, first.get(check))
                          if r["cluster"] == "remote" and r["code"] in (LINKED[check], UNPROVEN[check]))
            for check in ALL_FIVE}


def verdicts(a) -> list[str]:
    """The verdicts of the gates these five checks are in (`finished` has none of them: INCOMPLETE)."""
    return [a.result.gate_verdicts[g] for g in ("assessment", "setup", "migrating", "uninstall")]


def serving(a, check: str = XDS) -> dict[str, Any]:
    [row] = [r for r in a.rows(check) if r["cluster"] == "remote"]
    return row["evidence"][R.SERVING]


def test_a_remote_pointed_at_another_control_plane_is_not_linked(audit):
    """The remote's istio-system still names cluster1 (the primary audited, EXTERNAL_ISTIOD, everything passing) but its
    install points its proxies at another primary's east-west gateway (not audited). Main: PASS for all five checks
    (AA0902, AA1002, AA0402, AA0204, AA2402), a GO on proxies served by an istiod nobody audited."""
    a = audit_all(audit, {"primary": with_eastwest(primary_cluster(), EASTWEST_IP),
                          "remote": pointed_at(remote_cluster(), OTHER_IP)})
    assert remote_rows(a) == {check: [("UNKNOWN", code)] for check, code in UNPROVEN.items()}
    assert verdicts(a) == ["INCOMPLETE"] * 4
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert OTHER_IP in row["message"] and EASTWEST_IP in row["message"]
    assert row["evidence"][R.SERVING] == {
        "remote": [f"ConfigMap istio-system/values merged-values global.remotePilotAddress: {OTHER_IP}"],
        "primary_cluster": "primary", "primary": [f"Service istio-system/istio-eastwestgateway: {EASTWEST_IP}"],
        "result": "differ"}


def test_a_remote_pointed_at_its_primary_stays_linked(audit):
    """The guide's install: remotePilotAddress is the primary's east-west gateway IP. As main, and the evidence says
    the addresses agree."""
    a = audit_all(audit, {"primary": with_eastwest(primary_cluster(), EASTWEST_IP),
                          "remote": pointed_at(remote_cluster(), EASTWEST_IP)})
    assert remote_rows(a) == {check: [("PASS", code)] for check, code in LINKED.items()}
    assert verdicts(a) == ["GO"] * 4
    evidence = serving(a)
    assert evidence["result"] == "agree"
    assert evidence["primary"] == [f"Service istio-system/istio-eastwestgateway: {EASTWEST_IP}"]


@pytest.mark.parametrize("remote_first", [False, True])
def test_a_remote_served_by_another_audited_primary_is_not_judged_by_the_one_it_names(audit, remote_first):
    """Two audited primaries with EXTERNAL_ISTIOD: cluster1 (named by the remote's stale annotation, its mesh config
    has PROXY_CONFIG_XDS_AGENT) and cluster3 (without it), whose east-west gateway the remote's install points at. Main:
    the remote PASS AA0902 by cluster1's istiod while cluster3's serves it; now UNKNOWN, naming cluster3's Service."""
    clusters = {"primary": with_eastwest(primary_cluster(), EASTWEST_IP),
                "serving": with_eastwest(primary_cluster("cluster3", xds_agent=False), OTHER_IP),
                "remote": pointed_at(remote_cluster(), OTHER_IP)}
    names = sorted(clusters, key=lambda n: (n != "remote") if remote_first else (n == "remote"))
    a = audit({n: clusters[n] for n in names}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "serving") == [("FAIL", "AA0910")]
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert "serving" in row["message"] and "istio-system/istio-eastwestgateway" in row["message"]


def test_an_injection_url_at_another_control_plane_is_not_linked(audit):
    """istiodRemote.injectionURL (the external control plane guide's form) at another address: the pods are injected
    there. Main: PASS AA0902 and AA1002, a GO."""
    remote = pointed_at(remote_cluster(), OTHER_IP, injection_url=True)
    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP), "remote": remote}, "migrating",
              config=f.only_checks(XDS, RESTARTED))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    assert rows(a, RESTARTED, "remote") == [("UNKNOWN", "AA1036")]
    assert a.result.verdict.value == "INCOMPLETE"
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert "MutatingWebhookConfiguration istio-sidecar-injector clientConfig.url" in row["message"]


def test_the_webhook_url_alone_names_the_injector(audit):
    """Only the webhook names an address (no values record, the Service an ExternalName host name): an IP there
    that is not the primary's is enough."""
    remote = [o for o in pointed_at(remote_cluster(), OTHER_IP, injection_url=True)
              if not (o["kind"] == "ConfigMap" and o["metadata"]["name"] == "values")]
    for obj in remote:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "istiod":
            obj["spec"].update({"type": "ExternalName", "externalName": "istiod.cluster1.example.com"})
    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP), "remote": remote}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]


def test_istiods_own_load_balancer_is_the_primarys_address(audit):
    """The primary exposes istiod by its own Service of type LoadBalancer (no east-west gateway): the remote pointing
    there is linked; pointing elsewhere is not."""
    a = audit({"primary": with_istiod_load_balancer(primary_cluster(), EASTWEST_IP),
               "remote": pointed_at(remote_cluster(), EASTWEST_IP)}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert serving(a)["primary"] == [f"Service istio-system/istiod: {EASTWEST_IP}"]
    a = audit({"primary": with_istiod_load_balancer(primary_cluster(), EASTWEST_IP),
               "remote": pointed_at(remote_cluster(), OTHER_IP)}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]


def test_asms_gateway_is_not_the_primarys_istio_address(audit):
    """An ASM gateway in the primary carrying port 15012 (the IstioGateway controller's marks, tests/factory
    gateway_deployment(asm=True)): its address is not one by which Istio's istiod is exposed. A remote pointed there is
    not linked to Istio's istiod; the primary's Istio east-west gateway stays its address."""
    asm_marks = {"app": "asm-cross-network", "asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm"}
    asm_gateway = f.gateway_service("asm-cross-network", labels=asm_marks, ports=[15443, 15012, 15017])
    asm_gateway["status"] = {"loadBalancer": {"ingress": [{"ip": OTHER_IP, "ipMode": "VIP"}]}}
    primary = [*with_eastwest(primary_cluster(), EASTWEST_IP), asm_gateway]
    a = audit({"primary": primary, "remote": pointed_at(remote_cluster(), OTHER_IP)}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("UNKNOWN", "AA0933")]
    assert serving(a)["primary"] == [f"Service istio-system/istio-eastwestgateway: {EASTWEST_IP}"]


@pytest.mark.parametrize(("case", "result"), [
    # the remote names a host name (ExternalName), the primary's gateway an IP: DNS is not read, not compared
    ("host name", "not compared"),
    # the primary's gateway has no address yet (LoadBalancer pending): nothing to compare with
    ("pending", "not compared"),
    # the guide's IP at 1.22.8 (istiod-remote chart): in an Endpoints object only, a kind not read: nothing named
    ("endpoints only", "none named"),
    # the same host name on the primary's load balancer (a cloud that gives host names)
    ("same host name", "agree"),
])
def test_what_cannot_be_compared_leaves_the_link_as_the_annotation_proves_it(audit, case, result):
    primary = with_eastwest(primary_cluster(), None if case == "pending" else EASTWEST_IP)
    remote = remote_cluster()
    if case == "host name":
        remote = pointed_at(remote, "istiod.cluster1.example.com")
    elif case == "pending":
        remote = pointed_at(remote, OTHER_IP)
    elif case == "endpoints only":
        remote = [o for o in pointed_at(remote, OTHER_IP) if o["kind"] != "EndpointSlice"
                  and not (o["kind"] == "ConfigMap" and o["metadata"]["name"] == "values")]
        remote.append({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "istiod", "namespace": S.ISTIO_NS},
                       "subsets": [{"addresses": [{"ip": OTHER_IP}],
                                    "ports": [{"port": 15012, "name": "tcp-istiod", "protocol": "TCP"},
                                              {"port": 15017, "name": "tcp-webhook", "protocol": "TCP"}]}]})
    else:
        primary = with_eastwest(primary_cluster(), "a1b2.elb.us-east-1.amazonaws.com", hostname=True)
        remote = pointed_at(remote, "a1b2.elb.us-east-1.amazonaws.com")
    a = audit({"primary": primary, "remote": remote}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == [("PASS", "AA0902")]
    assert serving(a)["result"] == result


def test_compare_serving():
    exposed = (("istio-system/istio-eastwestgateway", EASTWEST_IP),)
    assert R.compare_serving((), exposed)[0] == "none named"
    assert R.compare_serving((("values", OTHER_IP),), None)[0] == "primary's not read"
    assert R.compare_serving((("values", EASTWEST_IP),), exposed) == ("agree", None)
    result, why = R.compare_serving((("values", OTHER_IP),), exposed, {"b": (("istio-system/ew", OTHER_IP),)})
    assert result == "differ" and "cluster b's Service istio-system/ew" in (why or "")
    # one address agrees, another IP differs: another control plane is named
    assert R.compare_serving((("svc", EASTWEST_IP), ("url", OTHER_IP)), exposed)[0] == "differ"
    # IPv6 written two ways is one address
    assert R.compare_serving((("values", "2001:db8::1"),), (("s", "2001:0db8:0:0::1"),))[0] == "agree"
    # an IP against a primary known by host names only: not compared
    assert R.compare_serving((("values", OTHER_IP),), (("s", "lb.example.com"),))[0] == "not compared"


def test_why_the_link_is_not_proven_is_said_in_the_reports_language(audit):
    """zh15: the "not proven" reason (here the serving-address one, with the other audited cluster's Service named)
    was English inside a zh-CN message; it is an i18n.Phrase the report says in its language, the addresses, clusters
    and Services as written, the addresses first. English as before."""
    from auditor import i18n
    from auditor.findings import records
    from auditor.render.localize import localized

    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP),
               "serving": with_eastwest(primary_cluster("cluster3", xds_agent=False), OTHER_IP),
               "remote": pointed_at(remote_cluster(), OTHER_IP)}, "migrating", config=f.only_checks(XDS))
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert row["code"] == "AA0933"
    assert (f"this cluster's install points its proxies at {OTHER_IP} (exposed by cluster serving's Service "
            "istio-system/istio-eastwestgateway), not at an address") in row["message"]
    with i18n.language("zh-CN"):
        [said] = [r["message"] for r in records(localized(a.result).findings)
                  if r["check_id"] == XDS and r["cluster"] == "remote" and r["code"] == "AA0933"]
    for english in ("points its proxies", "exposed by cluster", " at 10.", "another control plane", "Named by",
                    "names cluster"):
        assert english not in said, english
    assert OTHER_IP in said and EASTWEST_IP in said and said.index(OTHER_IP) < said.index(EASTWEST_IP)
    assert "serving 的 Service istio-system/istio-eastwestgateway" in said
    assert f"Service istio-system/istio-eastwestgateway，地址 {EASTWEST_IP}" in said  # noqa: RUF001
    assert "ConfigMap istio-system/values merged-values global.remotePilotAddress" in said
