"""Tests of the fake API server itself, driven by the real ``kubernetes`` client over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client, config, dynamic
from kubernetes.client import ApiClient, ApiException
from kubernetes.client.rest import RESTResponse
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from tests.fakeapi import EXPIRED_CONTINUE_MESSAGE, FakeApiServer, guess_plural


def pod(name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    with FakeApiServer() as server:
        yield server


@pytest.fixture
def kubeconfig(api: FakeApiServer, tmp_path: Path) -> Path:
    return api.write_kubeconfig(tmp_path / "kubeconfig", context="fake")


@pytest.fixture
def kube(kubeconfig: Path) -> Iterator[ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kubeconfig), context="fake")
    yield api_client
    api_client.close()


def no_retry_client(kubeconfig: Path) -> ApiClient:
    """A client whose urllib3 pool does not retry, so the first answer is what we see."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context="fake", client_configuration=cfg)
    cfg.retries = False
    return ApiClient(cfg)


def raw_get(kube: ApiClient, path: str, headers: dict[str, str] | None = None,
            **query: str) -> RESTResponse:
    """GET through the client's own transport (kubernetes v37: param_serialize + call_api)."""
    # auth_settings is needed: the bearer token is only added when asked for.
    request = kube.param_serialize("GET", path, query_params=list(query.items()),
                                   header_params=headers or {"Accept": "application/json"},
                                   auth_settings=["BearerToken"])
    resp = kube.call_api(*request)
    resp.read()
    if not 200 <= resp.status <= 299:
        kube.response_deserialize(resp, {})  # raises ApiException, as generated methods do
    return resp


def get_json(kube: ApiClient, path: str, **query: str) -> Any:
    return json.loads(raw_get(kube, path, **query).data)


def status_body(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status"
    return body


# ------------------------------------------------------------------------------- paging


def test_lists_pods_across_three_pages_with_limit_and_continue(
        api: FakeApiServer, kube: ApiClient) -> None:
    names = [("ns-b", "p1"), ("ns-a", "p2"), ("ns-a", "p1"), ("ns-c", "z"), ("ns-b", "a"),
             ("ns-a", "p3"), ("ns-c", "a")]
    api.load(pod(n, ns) for ns, n in names)
    api.load([{"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "not-a-pod", "namespace": "ns-a"}}])
    core = client.CoreV1Api(kube)

    pages: list[Any] = []
    token: str | None = None
    while True:
        kwargs = {"_continue": token} if token else {}
        page = core.list_pod_for_all_namespaces(limit=3, **kwargs)
        pages.append(page)
        token = page.metadata._continue
        if not token:
            break

    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [p.metadata.remaining_item_count for p in pages] == [4, 1, None]
    got = [(i.metadata.namespace, i.metadata.name) for p in pages for i in p.items]
    assert got == sorted(names)  # every pod once, in (namespace, name) order
    assert all(i.metadata.resource_version and i.metadata.uid for p in pages for i in p.items)
    logged = [r for r in api.requests if r.path == "/api/v1/pods"]
    assert [r.query.get("limit") for r in logged] == ["3", "3", "3"]
    assert ["continue" in r.query for r in logged] == [False, True, True]


def test_list_wire_format_matches_the_real_server(api: FakeApiServer, kube: ApiClient) -> None:
    api.load([pod("a", "default"), pod("b", "default"), pod("c", "other")])
    page = get_json(kube, "/api/v1/namespaces/default/pods", limit="1")
    assert page["apiVersion"] == "v1" and page["kind"] == "PodList"
    assert page["metadata"]["remainingItemCount"] == 1
    assert [i["metadata"]["name"] for i in page["items"]] == ["a"]
    assert "apiVersion" not in page["items"][0] and "kind" not in page["items"][0]
    one = get_json(kube, "/api/v1/namespaces/other/pods/c")
    assert (one["apiVersion"], one["kind"], one["metadata"]["name"]) == ("v1", "Pod", "c")


def test_expired_continue_token_answers_410_gone(api: FakeApiServer, kube: ApiClient) -> None:
    api.load(pod(f"p{i}", "default") for i in range(5))
    core = client.CoreV1Api(kube)
    first = core.list_namespaced_pod("default", limit=2)
    api.expire_continue_tokens(1)

    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)

    assert err.value.status == 410
    body = status_body(err.value)
    assert (body["reason"], body["code"]) == ("Expired", 410)
    assert body["message"] == EXPIRED_CONTINUE_MESSAGE
    # Only n requests expire: the same token works again afterwards.
    again = core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert [p.metadata.name for p in again.items] == ["p2", "p3"]


def test_continue_token_of_another_list_is_rejected(api: FakeApiServer, kube: ApiClient) -> None:
    api.load(pod(f"p{i}", "default") for i in range(3))
    token = get_json(kube, "/api/v1/pods", limit="1")["metadata"]["continue"]
    with pytest.raises(ApiException) as err:
        get_json(kube, "/api/v1/services", limit="1", **{"continue": token})
    assert err.value.status == 400


# ------------------------------------------------------------------------------- RBAC


def test_rbac_denies_with_the_real_forbidden_message(api: FakeApiServer, kube: ApiClient) -> None:
    api.load([pod("web", "default")])
    api.enforce_rbac([{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)

    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["web"]
    with pytest.raises(ApiException) as cluster_scope:
        core.list_service_for_all_namespaces()
    with pytest.raises(ApiException) as namespaced:
        apps.list_namespaced_deployment("default")
    with pytest.raises(ApiException) as named_get:
        core.read_namespaced_pod("web", "default")

    assert cluster_scope.value.status == 403
    assert status_body(cluster_scope.value)["message"] == (
        'services is forbidden: User "test" cannot list resource "services" in API group "" '
        "at the cluster scope")
    assert status_body(namespaced.value)["message"] == (
        'deployments.apps is forbidden: User "test" cannot list resource "deployments" '
        'in API group "apps" in the namespace "default"')
    body = status_body(named_get.value)
    assert body["reason"] == "Forbidden"
    assert body["message"].startswith('pods "web" is forbidden: User "test" cannot get resource')
    # Discovery and /version stay open to an authenticated user.
    assert client.VersionApi(kube).get_code().major == "1"
    assert get_json(kube, "/api/v1")["kind"] == "APIResourceList"

    api.enforce_rbac(None)
    assert core.list_service_for_all_namespaces().items == []


# ------------------------------------------------------------------------------- faults


def test_429_carries_retry_after_header_and_status(api: FakeApiServer, kubeconfig: Path) -> None:
    api.add_fault(r"^/api/v1/pods$", 429, times=None, retry_after=7)
    kube = no_retry_client(kubeconfig)
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(kube).list_pod_for_all_namespaces()
    kube.close()

    assert err.value.status == 429
    assert err.value.headers["Retry-After"] == "7"
    body = status_body(err.value)
    assert body["reason"] == "TooManyRequests"
    assert body["details"]["retryAfterSeconds"] == 7


def test_default_client_silently_retries_429_with_retry_after(
        api: FakeApiServer, kube: ApiClient) -> None:
    # urllib3's default Retry (3 retries) honours Retry-After on 429/503 for GETs: a single
    # throttled answer never reaches the caller. Live code must not count on seeing it.
    api.load([pod("a", "default")])
    api.add_fault(r"/pods$", 429, times=1, retry_after=0)
    items = client.CoreV1Api(kube).list_pod_for_all_namespaces().items
    assert [p.metadata.name for p in items] == ["a"]
    assert [r.status for r in api.requests if r.path == "/api/v1/pods"] == [429, 200]


def test_fault_delay_trips_client_timeout_then_expires(api: FakeApiServer, kubeconfig: Path) -> None:
    api.load([pod("a", "default")])
    api.add_fault(r"/pods$", 200, times=1, delay_s=1.0)
    kube = no_retry_client(kubeconfig)
    core = client.CoreV1Api(kube)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.list_pod_for_all_namespaces(_request_timeout=0.1)
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["a"]
    kube.close()


def test_fault_forever_and_500_and_clear(api: FakeApiServer, kubeconfig: Path) -> None:
    api.add_fault("configmaps", 500, times=None)
    kube = no_retry_client(kubeconfig)
    core = client.CoreV1Api(kube)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.list_config_map_for_all_namespaces()
        assert status_body(err.value)["reason"] == "InternalError"
    api.clear_faults()
    assert core.list_config_map_for_all_namespaces().items == []
    kube.close()


# ------------------------------------------------------------------------------- read-only


def test_non_get_and_watch_are_rejected_and_logged(api: FakeApiServer, kube: ApiClient) -> None:
    api.load([pod("web", "default")])
    core = client.CoreV1Api(kube)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}

    with pytest.raises(ApiException) as post:
        core.create_namespaced_config_map("default", cm)
    with pytest.raises(ApiException) as delete:
        core.delete_namespaced_pod("web", "default")
    with pytest.raises(ApiException) as watch:
        get_json(kube, "/api/v1/pods", watch="true")

    assert [e.value.status for e in (post, delete, watch)] == [405, 405, 405]
    assert status_body(post.value)["reason"] == "MethodNotAllowed"
    logged = [(r.method, r.path, r.status) for r in api.requests]
    assert ("POST", "/api/v1/namespaces/default/configmaps", 405) in logged
    assert ("DELETE", "/api/v1/namespaces/default/pods/web", 405) in logged
    assert any(r.query.get("watch") == "true" and r.status == 405 for r in api.requests)
    # The body of the POST was drained: the same keep-alive connection still serves GETs,
    # and nothing was changed.
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["web"]
    assert core.list_config_map_for_all_namespaces().items == []


def test_secrets_are_served_and_visible_in_the_log(api: FakeApiServer, kube: ApiClient) -> None:
    api.load([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
               "data": {"k": "dg=="}}])
    client.CoreV1Api(kube).list_pod_for_all_namespaces()
    assert not any("/secrets" in p for p in api.paths())
    assert api.requests[0].headers["Accept"] == "application/json"
    assert client.CoreV1Api(kube).list_secret_for_all_namespaces().items[0].data == {"k": "dg=="}
    assert any("/secrets" in p for p in api.paths())
    api.clear_requests()
    assert api.requests == []


# ------------------------------------------------------------------------------- discovery


def test_dynamic_client_discovers_registered_crds(
        api: FakeApiServer, kube: ApiClient, tmp_path: Path) -> None:
    api.register_kind("networking.istio.io", "v1", "VirtualService", "virtualservices")
    api.register_kind("networking.istio.io", "v1beta1", "VirtualService", "virtualservices")
    api.register_kind("istio.alibabacloud.com", "v1beta1", "ASMMigrateFromIstio",
                      "asmmigratefromistios", namespaced=False)
    api.load([{"apiVersion": "istio.alibabacloud.com/v1beta1", "kind": "ASMMigrateFromIstio",
               "metadata": {"name": "default"}, "spec": {"desiredState": "Migrating"}}])
    # cache_file: DynamicClient otherwise caches discovery in /tmp keyed by URL across runs.
    dyn = dynamic.DynamicClient(kube, cache_file=str(tmp_path / "discovery.json"))

    vs = dyn.resources.get(api_version="networking.istio.io/v1", kind="VirtualService")
    assert (vs.name, vs.namespaced, vs.preferred) == ("virtualservices", True, True)
    beta = dyn.resources.get(api_version="networking.istio.io/v1beta1", kind="VirtualService")
    assert beta.preferred is False
    migrate = dyn.resources.get(api_version="istio.alibabacloud.com/v1beta1",
                                kind="ASMMigrateFromIstio")
    assert migrate.namespaced is False
    obj = migrate.get(name="default")
    assert (obj.kind, obj.spec.desiredState) == ("ASMMigrateFromIstio", "Migrating")
    # Custom resources keep apiVersion/kind inside lists, as the real server serves them.
    assert migrate.get().items[0].apiVersion == "istio.alibabacloud.com/v1beta1"
    with pytest.raises(ResourceNotFoundError):
        dyn.resources.get(api_version="install.istio.io/v1alpha1", kind="IstioOperator")

    groups = {g["name"]: g for g in get_json(kube, "/apis")["groups"]}
    assert groups["networking.istio.io"]["preferredVersion"]["version"] == "v1"
    assert "install.istio.io" not in groups and "apps" in groups


def test_discovery_ignores_aggregated_accept_and_404s_unknown(
        api: FakeApiServer, kube: ApiClient) -> None:
    aggregated = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json")
    resp = raw_get(kube, "/apis", headers={"Accept": aggregated})
    assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.data)["kind"] == "APIGroupList"
    core = get_json(kube, "/api/v1")
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods == {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                    "verbs": ["get", "list", "watch"]}
    for path in ("/apis/nope.example.com/v1", "/api/v1/namespaces/default/pods/missing",
                 "/api/v1/pods/x/log"):
        with pytest.raises(ApiException) as err:
            get_json(kube, path)
        assert err.value.status == 404, path
    with pytest.raises(ApiException) as missing:
        get_json(kube, "/api/v1/namespaces/default/pods/missing")
    assert status_body(missing.value)["message"] == 'pods "missing" not found'


def test_version_api_reports_set_version(api: FakeApiServer, kube: ApiClient) -> None:
    api.set_version(git_version="v1.30.4-aliyun.1")
    info = client.VersionApi(kube).get_code()
    assert (info.major, info.minor, info.git_version) == ("1", "30", "v1.30.4-aliyun.1")


# ------------------------------------------------------------------------------- selectors


@pytest.mark.parametrize(("label_selector", "field_selector", "expected"), [
    ("app=web", "", ["a/web-1", "b/web-2"]),
    ("app==web,tier", "", ["a/web-1"]),
    ("app!=web", "", ["a/db", "b/bare"]),
    ("tier", "", ["a/db", "a/web-1"]),
    ("!tier", "", ["b/bare", "b/web-2"]),
    ("app in (db, web)", "", ["a/db", "a/web-1", "b/web-2"]),
    ("app notin (web),tier", "", ["a/db"]),
    ("", "metadata.namespace=b", ["b/bare", "b/web-2"]),
    ("app=web", "metadata.name!=web-1", ["b/web-2"]),
])
def test_label_and_field_selectors(api: FakeApiServer, kube: ApiClient, label_selector: str,
                                   field_selector: str, expected: list[str]) -> None:
    api.load([
        pod("web-1", "a", {"app": "web", "tier": "front"}),
        pod("db", "a", {"app": "db", "tier": "back"}),
        pod("web-2", "b", {"app": "web"}),
        pod("bare", "b"),
    ])
    items = client.CoreV1Api(kube).list_pod_for_all_namespaces(
        label_selector=label_selector, field_selector=field_selector).items
    assert [f"{p.metadata.namespace}/{p.metadata.name}" for p in items] == expected


def test_selector_applies_before_paging(api: FakeApiServer, kube: ApiClient) -> None:
    api.load(pod(f"p{i}", "default", {"even": str(i % 2 == 0).lower()}) for i in range(6))
    page = client.CoreV1Api(kube).list_pod_for_all_namespaces(label_selector="even=true", limit=2)
    assert [p.metadata.name for p in page.items] == ["p0", "p2"]
    assert page.metadata.remaining_item_count == 1


# ------------------------------------------------------------------------------- auth


def test_bearer_token_is_required(api: FakeApiServer, kube: ApiClient, tmp_path: Path) -> None:
    assert client.CoreV1Api(kube).list_namespace().items == []  # the written token works
    wrong = api.write_kubeconfig(tmp_path / "wrong", token="stolen", accept_token=False)
    bad = config.new_client_from_config(config_file=str(wrong), context="fake")
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(bad).list_namespace()
    bad.close()
    assert err.value.status == 401
    assert status_body(err.value)["reason"] == "Unauthorized"
    with pytest.raises(ApiException) as anonymous:
        get_json(ApiClient(client.Configuration(host=api.url)), "/version")
    assert anonymous.value.status == 401


# ------------------------------------------------------------------------------- loading


def test_load_yaml_dir_reads_lists_multidoc_and_json(api: FakeApiServer, kube: ApiClient,
                                                     tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    kubectl_list = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                    "items": [pod("p1", "default"), {
                        # v37's pydantic models reject a Deployment without spec.
                        "apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": "d1", "namespace": "default"},
                        "spec": {"selector": {"matchLabels": {"app": "d1"}}, "template": {
                            "metadata": {"labels": {"app": "d1"}},
                            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}]}
    (dump / "all.yaml").write_text(yaml.safe_dump(kubectl_list))
    (dump / "more.yml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n---\n"
        "apiVersion: example.com/v1\nkind: Policy\nmetadata:\n  name: x\n  namespace: default\n")
    (dump / "podlist.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "PodList", "items": [{"metadata": {
            "name": "p2", "namespace": "default", "uid": "fixed-uid"}}]}))
    assert api.load_yaml_dir(dump) == 5

    core = client.CoreV1Api(kube)
    pods = core.list_namespaced_pod("default").items
    assert [(p.metadata.name, p.metadata.uid) for p in pods][1] == ("p2", "fixed-uid")
    assert core.read_namespace("istio-system").metadata.name == "istio-system"
    assert [d.metadata.name for d in client.AppsV1Api(kube).list_deployment_for_all_namespaces()
            .items] == ["d1"]
    # Unknown kind auto-registered with Kubernetes' plural guess, namespaced (it had one).
    assert guess_plural("Policy") == "policies"
    policies = get_json(kube, "/apis/example.com/v1/namespaces/default/policies")
    assert [i["metadata"]["name"] for i in policies["items"]] == ["x"]


def test_connections_are_kept_alive(api: FakeApiServer, kube: ApiClient) -> None:
    api.load(pod(f"p{i}", "default") for i in range(20))
    core = client.CoreV1Api(kube)
    for _ in range(10):
        core.list_pod_for_all_namespaces(limit=5)
    assert api.connections_opened == 1


def test_merged_kubeconfig_reaches_two_servers(api: FakeApiServer, tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    api.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data-plane"}}])
    api.write_kubeconfig(path, context="dp")
    with FakeApiServer() as asm:
        asm.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "asm"}}])
        asm.write_kubeconfig(path, context="asm", token="asm-token", merge=True)
        written = yaml.safe_load(path.read_text())
        assert written["current-context"] == "dp"  # merging does not switch contexts
        assert sorted(c["name"] for c in written["contexts"]) == ["asm", "dp"]
        for context, expected in (("dp", "data-plane"), ("asm", "asm")):
            kube = config.new_client_from_config(config_file=str(path), context=context)
            assert [n.metadata.name for n in client.CoreV1Api(kube).list_namespace().items] == [
                expected]
            kube.close()


# ------------------------------------------------------------------------------- gzip and the watch cache


def test_answers_are_gzipped_only_when_accepted_and_large_enough(api: FakeApiServer) -> None:
    api.load(pod(f"p{i}", "default") for i in range(40))
    http = urllib3.PoolManager()
    url = f"{api.url}/api/v1/pods"
    plain = http.request("GET", url, headers={"Authorization": "Bearer test-token", "Accept-Encoding": "identity"})
    api.gzip_min_bytes = 1024
    zipped = http.request("GET", url, headers={"Authorization": "Bearer test-token", "Accept-Encoding": "gzip"})
    refused = http.request("GET", url, headers={"Authorization": "Bearer test-token",
                                                "Accept-Encoding": "gzip;q=0, identity"})
    small = http.request("GET", f"{api.url}/version", headers={"Accept-Encoding": "gzip"})
    api.gzip_min_bytes = None
    off = http.request("GET", url, headers={"Authorization": "Bearer test-token", "Accept-Encoding": "gzip"})

    assert [r.headers.get("Content-Encoding") for r in (plain, zipped, refused, small, off)] == [
        None, "gzip", None, None, None]
    assert zipped.data == plain.data == refused.data == off.data  # urllib3 decompressed it: the same list
    assert len(json.loads(zipped.data)["items"]) == 40
    records = api.requests
    assert [r.headers.get("Accept-Encoding") for r in records] == [
        "identity", "gzip", "gzip;q=0, identity", "gzip", "gzip"]
    assert [r.content_encoding for r in records] == [None, "gzip", None, None, None]
    assert records[1].bytes_sent is not None and records[0].bytes_sent is not None
    assert records[1].bytes_sent * 3 < records[0].bytes_sent == len(plain.data)


def test_resource_version_0_is_the_whole_list_and_refused_with_continue(api: FakeApiServer, kube: ApiClient) -> None:
    api.load(pod(f"p{i}", "default") for i in range(5))
    cached = get_json(kube, "/api/v1/pods", limit="2", resourceVersion="0")
    paged = get_json(kube, "/api/v1/pods", limit="2")
    assert (len(cached["items"]), "continue" in cached["metadata"]) == (5, False)
    assert (len(paged["items"]), "continue" in paged["metadata"]) == (2, True)
    with pytest.raises(ApiException) as refused:
        raw_get(kube, "/api/v1/pods", limit="2", resourceVersion="0", **{"continue": paged["metadata"]["continue"]})
    assert refused.value.status == 400
    assert status_body(refused.value)["message"] == "specifying resource version is not allowed when using continue"
