"""Hostile or odd input to the parsers session 15 added: never a false GO (hostile15).

Each case here was PASS (a GO) on main on input the cluster's own software reads differently:

- topology.istio.io/controlPlaneClusters with blanks around the CLUSTER_ID: istiod splits the value on commas and
  compares each entry as written, no trimming (istio/istio@1.30.3:pilot/pkg/serviceregistry/kube/controller/
  multicluster.go checkShouldLead: `strings.Split(istiodCluster, ",")`, `cluster == "*" || cluster == localCluster`),
  so " cluster1" names no istiod and nothing leads the remote; main trimmed it and linked the remote to cluster1.
- an IPv4 address written with leading zeros ("047.098.120.015") as global.remotePilotAddress: the remote chart's
  regex takes it for an IP (istio/istio@1.30.3:manifests/charts/istio-control/istio-discovery/templates/
  remote-istiod-service.yaml, remote-istiod-endpointslices.yaml), and Kubernetes reads it as decimal
  (kubernetes/utils net/parse.go ParseIPSloppy, which the API server's address validation and kube-proxy use):
  47.98.120.15. Python's ipaddress refuses the text, so main compared it as a host name ("not compared") and kept the
  link to a primary exposing another IP.

- a mesh config whose rootNamespace is not a string (`5`, `true`, a list): the MeshConfig proto refuses it and istiod
  discards the whole mesh config ("invalid mesh config, using last known state": istio/istio@1.30.3:pkg/config/mesh/
  meshwatcher/collection.go, mesh.go ApplyMeshConfig -> protomarshal.ApplyYAML). Main read str(value) as the root
  namespace, so a mesh-wide Telemetry in istio-system switching the gateway's TCP metrics off no longer applied:
  istio-gateway-traffic PASS AA1501 ("no traffic") on series that never count it. Now the mesh config is unknown and
  taken at its worst (UNKNOWN AA1552), as for a mesh config that is not YAML.
- an EnvoyFilter replacing the gateway's HTTP connection manager whole (applyTo NETWORK_FILTER, operation REPLACE,
  match.listener.filterChain.filter.name envoy.filters.network.http_connection_manager: istio/api@1.30.3:networking/
  v1alpha3/envoy_filter.proto "REPLACE ... only valid for HTTP_FILTER and NETWORK_FILTER"; istiod puts the value in
  its place: istio/istio@1.30.3:pilot/pkg/networking/core/envoyfilter/listener_patch.go) by one whose http_filters
  lack istio.stats: the gateway reports no istio_requests_total while it serves. Main looked only at patches whose
  text names istio.stats: PASS AA1501.

Shapes: the primary, remote, east-west gateway and remote install of tests/checks/test_remote.py and
tests/checks/test_remote_serving.py (their citations); the Telemetry objects, mesh config and recorded Prometheus
answers of tests/checks/test_traffic_telemetry.py (their citations).
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import remote as R
from auditor import vms as vms_mod
from auditor.errors import UsageError
from auditor.findings import records
from tests import factory as f
from tests.checks.conftest import audit  # noqa: F401  (the fixture)
from tests.checks.test_remote import XDS, primary_cluster, remote_cluster, rows
from tests.checks.test_remote_serving import EASTWEST_IP, OTHER_IP, pointed_at, with_eastwest
from tests.checks.test_traffic_telemetry import DISABLE_TCP, FAMILIES, PASS, codes, mesh_config, telemetry
from tests.checks.test_traffic_telemetry import audit as traffic_audit
from tests.test_fuzz import audit as fuzz_audit
from tests.test_fuzz import write_cluster

LINKED = [("PASS", "AA0902")]
UNPROVEN = [("UNKNOWN", "AA0933")]


@pytest.mark.parametrize("annotation", [" cluster1", "cluster1 ", "cluster1\t", " *", "cluster1, cluster1 "])
def test_a_control_plane_clusters_entry_with_blanks_names_no_istiod(audit, annotation):  # noqa: F811
    """Main: PASS AA0902 for the first three (trimmed to cluster1), although istiod compares " cluster1" as written and
    leads no such remote. " *" is no wildcard for istiod either, and "cluster1, cluster1 " names two entries (main: one,
    trimmed): never a link proven by more than istiod reads."""
    a = audit({"primary": primary_cluster(), "remote": remote_cluster(annotation)}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "primary") == [("PASS", "AA0901")]
    assert rows(a, XDS, "remote") == UNPROVEN
    assert a.result.verdict.value == "INCOMPLETE"


@pytest.mark.parametrize("annotation", ["cluster1", "cluster1,", ",cluster1", "cluster1, "])
def test_the_cluster_id_as_istiod_reads_it_stays_linked(audit, annotation):  # noqa: F811
    """Control: istiod matches "cluster1" among the entries of these (an empty or blank entry names nothing): linked,
    as on main."""
    a = audit({"primary": primary_cluster(), "remote": remote_cluster(annotation)}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == LINKED
    assert a.result.verdict.value == "GO"


def test_a_leading_zero_ip_of_another_control_plane_is_not_linked(audit):  # noqa: F811
    """remotePilotAddress "047.098.120.015" is 47.98.120.15 for Kubernetes, another primary's gateway, not the linked
    primary's 34.75.71.237. Main: "not compared", PASS AA0902 (a GO on proxies served by an istiod nobody audited)."""
    zeros = ".".join(f"{int(octet):03d}" for octet in OTHER_IP.split("."))
    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP), "remote": pointed_at(remote_cluster(), zeros)},
              "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == UNPROVEN
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert row["evidence"][R.SERVING]["result"] == "differ"


def test_a_leading_zero_ip_of_the_primary_agrees(audit):  # noqa: F811
    """Control: the primary's own address written with leading zeros is that address (linked; the evidence says the
    addresses agree, where main said "not compared")."""
    zeros = ".".join(f"{int(octet):03d}" for octet in EASTWEST_IP.split("."))
    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP), "remote": pointed_at(remote_cluster(), zeros)},
              "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == LINKED
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert row["evidence"][R.SERVING]["result"] == "agree"


@pytest.mark.parametrize("text, address", [
    ("047.098.120.015", "47.98.120.15"), ("10.0.0.1", "10.0.0.1"), ("[2001:db8::5]", "2001:db8::5"),
    ("::ffff:010.000.000.001", "::ffff:10.0.0.1"), ("0256.1.1.1", None), ("1.2.3", None), ("istiod.example.com", None),
])
def test_addresses_are_read_as_kubernetes_reads_them(text, address):
    """ParseIPSloppy: leading zeros are decimal; a number beyond 255 stays no address (as Go's net.ParseIP)."""
    parsed = R._ip(text)
    assert (str(parsed) if parsed is not None else None) == (
        str(R.ipaddress.ip_address(address)) if address is not None else None)


INGRESS_ELSEWHERE = {("istio-ingress", "istio-ingressgateway"): ("ingress", FAMILIES)}


@pytest.mark.parametrize("root", ["5", "true", "[istio-system]", "{name: istio-system}"])
def test_a_root_namespace_istiod_cannot_read_leaves_the_mesh_config_unknown(tmp_path: Path, root: str) -> None:
    """Main: PASS AA1501 (the root taken as "5", "True", "['istio-system']"...), while istiod ignores that mesh config:
    the istio-system Telemetry switching TCP metrics off may well be the root's."""
    rows = traffic_audit(tmp_path, [mesh_config(root=root), telemetry("mesh-default", "istio-system", DISABLE_TCP)],
                         gateways=INGRESS_ELSEWHERE)
    assert codes(rows) == {"istio-ingressgateway": ("UNKNOWN", "AA1552")}


@pytest.mark.parametrize("root, expected", [("istio-config", ("PASS", "AA1501")),
                                            ("istio-system", ("UNKNOWN", "AA1552"))])
def test_a_root_namespace_as_written_is_read(tmp_path: Path, root: str, expected: tuple[str, str]) -> None:
    """Control, as on main: the root named elsewhere leaves istio-system's Telemetry to istio-system's workloads."""
    rows = traffic_audit(tmp_path, [mesh_config(root=root), telemetry("mesh-default", "istio-system", DISABLE_TCP)],
                         gateways=INGRESS_ELSEWHERE)
    assert codes(rows) == {"istio-ingressgateway": expected}


# ---------------------------------------------------------------- addresses of the wrong JSON type
def _istiod_service(objs):
    return next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "istiod")


def _without_values(objs):
    return [o for o in objs if not (o["kind"] == "ConfigMap" and o["metadata"]["name"] == "values")]


def _remote_external_name(value):
    remote = _without_values(remote_cluster())
    _istiod_service(remote)["spec"].update({"type": "ExternalName", "externalName": value})
    return remote


def _remote_webhook_url(value):
    remote = _without_values(pointed_at(remote_cluster(), OTHER_IP, injection_url=True))
    _istiod_service(remote)["spec"].pop("externalName", None)
    for obj in remote:
        if obj["kind"] == "MutatingWebhookConfiguration":
            for hook in obj["webhooks"]:
                hook["clientConfig"] = {"url": value}
    return remote


def _primary_ingress(value):
    primary = with_eastwest(primary_cluster(), EASTWEST_IP)
    for obj in primary:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "istio-eastwestgateway":
            obj["status"]["loadBalancer"]["ingress"] = [{"ip": value}]
    return primary


URL = f"https://{OTHER_IP}:15017/inject/cluster/cluster2/net/network1"
MALFORMED_ADDRESSES = {
    # the remote's istiod Service naming another primary's IP, as a list (a string in every API answer)
    "externalName list": lambda: (with_eastwest(primary_cluster(), EASTWEST_IP), _remote_external_name([OTHER_IP])),
    "externalName number": lambda: (with_eastwest(primary_cluster(), EASTWEST_IP), _remote_external_name(801_536_015)),
    "webhook url list": lambda: (with_eastwest(primary_cluster(), EASTWEST_IP), _remote_webhook_url([URL])),
    # the primary's east-west gateway IP as a number: the remote's OTHER_IP was compared with nothing
    "ingress ip number": lambda: (_primary_ingress(578_504_685), pointed_at(remote_cluster(), OTHER_IP)),
    "ingress ip list": lambda: (_primary_ingress([EASTWEST_IP]), pointed_at(remote_cluster(), OTHER_IP)),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_ADDRESSES))
def test_an_address_of_the_wrong_type_is_bad_input_never_a_link(audit, case):  # noqa: F811
    """An address field of a Service or webhook holding a list or a number (no API server sends one: core types,
    strings): main read it as no address, or as a host name not compared, and linked the remote by the annotation
    alone, PASS AA0902. Now the snapshot is refused naming the object (bad input, exit 2), as for the other shapes
    checks rely on (auditor/sources/shapes.py)."""
    primary, remote = MALFORMED_ADDRESSES[case]()
    with pytest.raises(UsageError) as refused:
        audit({"primary": primary, "remote": remote}, "migrating", config=f.only_checks(XDS))
    assert "must be" in str(refused.value)


@pytest.mark.parametrize("webhooks", [True, "istiod", {"clientConfig": {"url": URL}}])
def test_webhooks_that_are_not_a_list_are_bad_input(audit, webhooks):  # noqa: F811
    """`webhooks` is a list in every API answer. Main: istio-control-plane-removed and istio-residue crashed on a
    bool ("check crashed: TypeError", naming no object), as did the fleet checks reading a remote's injector URL; now
    the snapshot is refused naming the object."""
    remote = remote_cluster()
    for obj in remote:
        if obj["kind"] == "MutatingWebhookConfiguration":
            obj["webhooks"] = webhooks
    with pytest.raises(UsageError) as refused:
        audit({"primary": primary_cluster(), "remote": remote}, "all", config=f.only_checks(XDS))
    assert "MutatingWebhookConfiguration" in str(refused.value) and "webhooks" in str(refused.value)


# ---------------------------------------------------------------- many places naming the same address
def test_an_address_past_the_first_eight_places_is_still_compared(audit):  # noqa: F811
    """A remote with nine injector webhook configurations (istio-sidecar-injector and revision tags, as `istioctl tag
    set` makes them: istio/istio@1.30.3:istioctl/pkg/tag/generate.go, named istio-revision-tag-<tag>) calling the
    primary's east-west address, and its values record naming another primary's IP as remotePilotAddress. Main kept
    the first eight (source, address) pairs only, all the primary's: "agree", PASS AA0902; the IP that differs was
    never compared."""
    remote = pointed_at(remote_cluster(), OTHER_IP)
    url = f"https://{EASTWEST_IP}:15017/inject/cluster/cluster2/net/network1"
    injector = next(o for o in remote if o["kind"] == "MutatingWebhookConfiguration")
    for hook in injector["webhooks"]:
        hook["clientConfig"] = {"url": url}
    for index in range(8):
        tag = copy.deepcopy(injector)
        tag["metadata"]["name"] = f"istio-revision-tag-t{index}"
        remote.append(tag)
    a = audit({"primary": with_eastwest(primary_cluster(), EASTWEST_IP), "remote": remote}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == UNPROVEN
    [row] = [r for r in a.rows(XDS) if r["cluster"] == "remote"]
    assert OTHER_IP in row["message"]


def test_the_primarys_ip_past_eight_exposing_services_is_still_compared(audit):  # noqa: F811
    """The primary exposes port 15012 by eight LoadBalancer Services with host names (read first) and by its east-west
    gateway's IP. Main kept the first eight: no IP of the primary's known, so the remote's other IP was "not
    compared" and the link stood, PASS AA0902."""
    primary = []
    for index in range(8):
        primary.append({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": f"a-istiod-lb-{index}", "namespace": "istio-system"},
                        "spec": {"type": "LoadBalancer", "selector": {"app": "istiod"},
                                 "ports": [{"name": "tcp-istiod", "port": 15012, "protocol": "TCP",
                                            "targetPort": 15012}]},
                        "status": {"loadBalancer": {"ingress": [{"hostname": f"lb-{index}.example.com"}]}}})
    primary += with_eastwest(primary_cluster(), EASTWEST_IP)
    a = audit({"primary": primary, "remote": pointed_at(remote_cluster(), OTHER_IP)}, "migrating",
              config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == UNPROVEN


# ---------------------------------------------------------------- the comparison itself, by property
OCTETS = st.tuples(*[st.integers(min_value=0, max_value=255)] * 4)


def _spelled(octets: tuple[int, ...], zeros: list[int]) -> str:
    """An IPv4 address as ParseIPSloppy reads it: each number with up to 3 leading zeros."""
    return ".".join("0" * pad + str(octet) for octet, pad in zip(octets, zeros, strict=True))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(named=OCTETS, exposed=st.lists(OCTETS, min_size=1, max_size=3),
       zeros=st.lists(st.integers(min_value=0, max_value=3), min_size=4, max_size=4),
       hosts=st.lists(st.from_regex(r"\A[a-z]{1,8}\.example\.com\Z"), max_size=2))
def test_an_ip_named_is_compared_however_it_is_spelled(named, exposed, zeros, hosts):
    """compare_serving: an IP the remote names, in any spelling Kubernetes reads as that address, "differs" exactly
    when the primary exposes IPs and none is it; else it "agrees". Never "not compared" (the link by the annotation
    alone) for an IP against a primary whose IPs are known."""
    pairs = tuple(("ns/eastwest", _spelled(e, [0] * 4)) for e in exposed) + tuple(("ns/lb", h) for h in hosts)
    result, why = R.compare_serving((("remote", _spelled(named, zeros)),), pairs)
    if named in exposed:
        assert (result, why) == ("agree", None)
    else:
        assert result == "differ" and why



# ---------------------------------------------------------------- the stats filter replaced with its parent
def _hcm_replacement(http_filters: list[str], *, operation: str = "REPLACE", context: str = "GATEWAY"):
    return f.istio_object("EnvoyFilter", "gateway-hcm", "istio-system", {
        "workloadSelector": {"labels": {"istio": "ingressgateway"}},
        "configPatches": [{"applyTo": "NETWORK_FILTER", "match": {"context": context, "listener": {"filterChain": {
            "filter": {"name": "envoy.filters.network.http_connection_manager"}}}},
            "patch": {"operation": operation, "value": {
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                             "HttpConnectionManager",
                    "stat_prefix": "outbound_0.0.0.0_8080", "rds": {"route_config_name": "http.8080"},
                    "http_filters": [{"name": name} for name in http_filters]}}}}]})


def test_an_hcm_replaced_without_the_stats_filter_hides_the_gateways_traffic(tmp_path: Path) -> None:
    rows = traffic_audit(tmp_path, [mesh_config(), _hcm_replacement(["envoy.filters.http.router"])])
    assert codes(rows) == {"istio-ingressgateway": ("UNKNOWN", "AA1552"), "istio-eastwestgateway": PASS}
    assert "REPLACE NETWORK_FILTER" in rows["istio-ingressgateway"]["message"]


@pytest.mark.parametrize("operation, context", [("MERGE", "GATEWAY"), ("REPLACE", "SIDECAR_INBOUND")])
def test_an_hcm_merged_or_replaced_for_sidecars_changes_nothing(tmp_path: Path, operation: str, context: str) -> None:
    """Control: MERGE appends to http_filters (the stats filter stays); a sidecar-only patch does not reach gateways."""
    rows = traffic_audit(tmp_path, [mesh_config(), _hcm_replacement(["envoy.filters.http.router"], operation=operation,
                                                                    context=context)])
    assert set(codes(rows).values()) == {PASS}


# ---------------------------------------------------------------- a container env naming CLUSTER_ID twice
def test_the_last_cluster_id_of_istiods_env_is_the_one_it_runs_with(audit):  # noqa: F811
    """istiod's env names CLUSTER_ID twice (a `kubectl set env` or a patch appended to the chart's): the container runs
    with the later value (the kubelet builds the environment in order, a later entry overriding an earlier one; the API
    server only warns that it "hides previous definition"), as istiod_external already read EXTERNAL_ISTIOD. Main read
    the first: the remote annotated cluster1 was linked to an istiod running as cluster9, PASS AA0902."""
    primary = primary_cluster()
    for obj in primary:
        if obj["kind"] == "Deployment" and obj["metadata"]["labels"].get("app") == "istiod":
            obj["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "CLUSTER_ID", "value": "cluster9"})
    a = audit({"primary": primary, "remote": remote_cluster("cluster1")}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == UNPROVEN
    a = audit({"primary": primary, "remote": remote_cluster("cluster9")}, "migrating", config=f.only_checks(XDS))
    assert rows(a, XDS, "remote") == LINKED



# ---------------------------------------------------------------- the new parsers fed random bodies
_KEYS = ["spec", "labels", "serviceAccount", "address", "metadata", "annotations", "configPatches", "match", "proxy",
         "patch", "value", "vm_config", "runtime", "code", "local", "inline_string", "proxyVersion", "context",
         "applyTo", "operation", "listener", "filterChain", "filter", "name", "metrics", "providers", "overrides",
         "mode", "metric", "disabled", "tagOverrides", "reportingInterval", "selector", "matchLabels", "targetRefs",
         "workloadSelector", "webhooks", "clientConfig", "url", "externalName", "type", "ports", "port"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False), st.text(max_size=12), st.sampled_from([
                         "envoy.wasm.runtime.null", "istio.stats", "REPLACE", "NETWORK_FILTER", "GATEWAY", "CLIENT",
                         "ALL_METRICS", "prometheus", "envoy.filters.network.http_connection_manager", 15012,
                         "https://[::1]:15017/inject", "010.0.0.1", "ExternalName", "istio", "^1\\.2.*"]))
_TREES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)),
                      max_leaves=25)
_NOTES = st.dictionaries(st.sampled_from([vms_mod.AUTO_REGISTRATION_GROUP, vms_mod.WORKLOAD_CONTROLLER,
                                          vms_mod.CONNECTED_AT, vms_mod.DISCONNECTED_AT, vms_mod.PROXY_CONFIG,
                                          vms_mod.HEALTH_CHECKS, vms_mod.TLS_MODE_LABEL, R.CONTROL_PLANE_CLUSTERS]),
                         st.one_of(st.text(max_size=20), st.sampled_from([
                             "istio", "2026-11-20T09:30:00.123456789Z", "g1", "cluster1, *", "{" * 300,
                             "a: &a [*a, *a]", "proxyMetadata:\n  PROXY_CONFIG_XDS_AGENT: 'false'"])), max_size=4)
_KINDS = [("networking.istio.io/v1", "WorkloadEntry"), ("networking.istio.io/v1", "WorkloadGroup"),
          ("networking.istio.io/v1alpha3", "EnvoyFilter"), ("telemetry.istio.io/v1", "Telemetry"),
          ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"), ("v1", "Service"),
          ("v1", "Namespace")]
_OBJECTS = st.builds(
    lambda kind, name, namespace, notes, labels, spec, extra: {
        "apiVersion": kind[0], "kind": kind[1],
        "metadata": {"name": name, "annotations": notes, "labels": labels,
                     **({"namespace": namespace} if kind[1] not in ("Namespace", "MutatingWebhookConfiguration")
                        else {})},
        **({"spec": spec} if spec is not None else {}), **extra},
    st.sampled_from(_KINDS), st.sampled_from(["istiod", "istio-sidecar-injector", "istio-system", "g1", "e1"]),
    st.sampled_from(["istio-system", "shop"]), _NOTES, _NOTES, st.one_of(st.none(), _TREES),
    st.dictionaries(st.sampled_from(["webhooks", "status"]), _TREES, max_size=2))


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(objects=st.lists(_OBJECTS, min_size=1, max_size=4))
def test_random_bodies_of_the_new_kinds_never_crash_a_check(objects):
    """WorkloadEntries/Groups, EnvoyFilters, Telemetry, webhooks and Services with random bodies and annotations
    (stamps, proxy config YAML, controlPlaneClusters): bad input (exit 2), or every check judged (no AA0002 crash, no
    AA0003 silence) and never GO."""
    items = [f.namespace("istio-system"), f.namespace("shop"), f.istiod(), *objects]
    with tempfile.TemporaryDirectory() as tmp:
        outcome = fuzz_audit(write_cluster(Path(tmp), {"objects.json": json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": items})}), "all")
    if isinstance(outcome, UsageError):
        return
    crashed = [(r["check_id"], r["message"][:120]) for r in records(outcome.findings)
               if r["code"] in ("AA0002", "AA0003", "AA0004")]
    assert not crashed
    assert outcome.exit_code in (1, 3)
