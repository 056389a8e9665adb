"""Invariants of the bundled demo snapshot (auditor/demo/snapshot).

The demo is hand-authored data that `asm-audit demo` audits. These tests keep it internally
consistent when someone edits it: objects are well formed, owner chains resolve, the mix of
proxies the checks need is present, and the deliberate migration blockers are still there.
They read the files directly and do not import the auditor.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
import yaml

SNAPSHOT = Path(__file__).resolve().parents[1] / "auditor" / "demo" / "snapshot"
DATA_PLANES = ("cluster-a", "cluster-b")
ISTIO_EGRESS_HOST = "istio-egressgateway.istio-system.svc.cluster.local"
ASM_EGRESS_HOST = "asm-egressgateway.istio-system.svc.cluster.local"
ASM_IMAGE = re.compile(r"(^|/)registry(-vpc)?[.-][a-z0-9-]+\.(ack\.)?aliyuncs\.com/acs/proxyv2:")

CLUSTER_SCOPED = {
    "Namespace", "CustomResourceDefinition", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding", "ASMMigrateFromIstio",
}
ISTIO_CONFIG_GROUPS = ("networking.istio.io/", "security.istio.io/", "telemetry.istio.io/",
                       "extensions.istio.io/")


def ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


@cache
def manifest() -> dict:
    return json.loads((SNAPSHOT / "manifest.json").read_text())


@cache
def objects(cluster: str) -> tuple:
    """Every object in a cluster directory, as (file name, object)."""
    out = []
    for path in sorted((SNAPSHOT / cluster).iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json") or path.name == "version.json":
            continue
        docs = [json.loads(path.read_text())] if path.suffix == ".json" else yaml.safe_load_all(path.read_text())
        for doc in docs:
            if doc is None:
                continue
            if doc.get("kind") == "List":
                out.extend((path.name, item) for item in doc["items"])
            else:
                out.append((path.name, doc))
    return tuple(out)


def of_kind(cluster: str, kind: str) -> list[dict]:
    return [o for _, o in objects(cluster) if o["kind"] == kind]


def find(cluster: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
    for o in of_kind(cluster, kind):
        md = o["metadata"]
        if md["name"] == name and md.get("namespace") == namespace:
            return o
    return None


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def proxy_of(pod: dict) -> tuple[dict | None, bool]:
    """The istio-proxy container and whether it runs as a native sidecar."""
    spec = pod["spec"]
    for c in spec.get("initContainers", []):
        if c["name"] == "istio-proxy" and c.get("restartPolicy") == "Always":
            return c, True
    for c in spec["containers"]:
        if c["name"] == "istio-proxy":
            return c, False
    return None, False


def classify(pod: dict) -> str:
    """none | gateway | asm | istio-native | istio-classic (simple image/env/args rules)."""
    proxy, native = proxy_of(pod)
    if proxy is None:
        return "none"
    if "router" in proxy.get("args", []):
        return "gateway"
    env = env_of(proxy)
    if ASM_IMAGE.search(proxy["image"]) or "ASM_ID" in env:
        return "asm"
    return "istio-native" if native else "istio-classic"


# --------------------------------------------------------------------------------------------
def test_manifest_shape_and_dirs():
    m = manifest()
    assert m["format"] == "asm-audit-snapshot"
    assert m["format_version"] == 1
    assert m["tool_version"] == "demo"
    ts(m["collected_at"])
    names = [c["name"] for c in m["clusters"]]
    assert names == ["asm", "cluster-a", "cluster-b"]
    for c in m["clusters"]:
        assert (SNAPSHOT / c["dir"]).is_dir(), c["dir"]
        assert c["complete"] is True
        assert c["role"] == ("asm" if c["name"] == "asm" else "data-plane")
        version = json.loads((SNAPSHOT / c["dir"] / "version.json").read_text())
        for key in ("major", "minor", "gitVersion", "gitCommit", "buildDate", "goVersion",
                    "compiler", "platform"):
            assert key in version, (c["name"], key)
        if c["role"] == "data-plane":
            assert re.fullmatch(r"c[0-9a-f]{32}", c["cluster_id"]), c["cluster_id"]
    ids = [c["cluster_id"] for c in m["clusters"] if c["role"] == "data-plane"]
    assert len(set(ids)) == 2


def test_openapi_answers_match_clusters():
    m = manifest()
    info = m["asm_openapi"]["DescribeServiceMeshDetail"]["ServiceMesh"]["ServiceMeshInfo"]
    assert info["Version"] == "v1.24.6.62-g5c7e1f0b-aliyun"
    assert info["RegionId"] == "cn-hangzhou"
    mesh_id = info["ServiceMeshId"]
    nets = m["asm_openapi"]["DescribeMeshMultiClusterNetwork"]["MultiClusterNetworks"]
    expected = {"cluster-a": "network-1", "cluster-b": "network-2"}
    for c in m["clusters"]:
        if c["role"] != "data-plane":
            continue
        entry = nets[c["cluster_id"]]
        assert entry["Network"] == expected[c["name"]]
        assert entry["EnableGateway"] is True
        assert entry["GatewayName"] == f"asm-cross-network-{mesh_id}"
        # the Istio network of the cluster is the same (network-consistency should pass)
        ns = find(c["name"], "Namespace", "istio-system")
        assert ns["metadata"]["labels"]["topology.istio.io/network"] == entry["Network"]


@pytest.mark.parametrize("cluster", ["asm", *DATA_PLANES])
def test_objects_are_well_formed(cluster):
    seen_uids = Counter()
    assert objects(cluster), cluster
    for fname, o in objects(cluster):
        where = f"{cluster}/{fname}: {o.get('kind')} {o.get('metadata', {}).get('name')}"
        assert o.get("apiVersion"), where
        assert o.get("kind"), where
        md = o.get("metadata") or {}
        assert md.get("name"), where
        for key in ("uid", "creationTimestamp", "resourceVersion"):
            assert md.get(key), (where, key)
        ts(md["creationTimestamp"])
        if o["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in md, where
        else:
            assert md.get("namespace"), where
        seen_uids[md["uid"]] += 1
    assert not [u for u, n in seen_uids.items() if n > 1], "duplicate uids"


def test_no_secrets_anywhere():
    for cluster in ("asm", *DATA_PLANES):
        kinds = {o["kind"] for _, o in objects(cluster)}
        assert "Secret" not in kinds, cluster
    assert not list(SNAPSHOT.rglob("*secret*"))


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_pod_owner_chains_resolve(cluster):
    parents = {"ReplicaSet": "Deployment", "Job": "CronJob", "StatefulSet": None}
    bare = []
    for pod in of_kind(cluster, "Pod"):
        md = pod["metadata"]
        ns = md["namespace"]
        refs = md.get("ownerReferences") or []
        if not refs:
            bare.append(md["name"])
            continue
        assert len(refs) == 1 and refs[0]["controller"] is True, md["name"]
        ref = refs[0]
        assert ref["kind"] in parents, (md["name"], ref["kind"])
        owner = find(cluster, ref["kind"], ref["name"], ns)
        assert owner is not None, (md["name"], ref)
        assert owner["metadata"]["uid"] == ref["uid"], md["name"]
        if ref["kind"] == "ReplicaSet":
            # pod names come from generateName = "<rs>-" (cut to 58 characters) + 5 characters
            assert md["name"] == (ref["name"] + "-")[:58] + md["name"][-5:], md["name"]
            assert len(md["name"]) <= 63
            hash_ = md["labels"]["pod-template-hash"]
            assert ref["name"].endswith("-" + hash_)
            assert owner["spec"]["replicas"] > 0
        elif ref["kind"] == "Job":
            assert md["name"].startswith(ref["name"] + "-")
        else:
            assert re.fullmatch(re.escape(ref["name"]) + r"-\d+", md["name"])
        grand = parents[ref["kind"]]
        if grand:
            orefs = owner["metadata"].get("ownerReferences") or []
            assert orefs and orefs[0]["kind"] == grand, ref["name"]
            gobj = find(cluster, grand, orefs[0]["name"], ns)
            assert gobj is not None and gobj["metadata"]["uid"] == orefs[0]["uid"], ref["name"]
            if grand == "Deployment":
                assert ref["name"] == f"{gobj['metadata']['name']}-{md['labels']['pod-template-hash']}"
    assert bare == (["netshoot"] if cluster == "cluster-a" else [])


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_pod_shape(cluster):
    for pod in of_kind(cluster, "Pod"):
        name = pod["metadata"]["name"]
        spec, st = pod["spec"], pod["status"]
        assert spec["nodeName"] and spec["serviceAccountName"], name
        assert "terminationGracePeriodSeconds" in spec, name
        for c in spec["containers"]:
            assert c["image"] and "resources" in c, (name, c["name"])
        assert st["phase"] == "Running" and st["podIP"] and st["startTime"], name
        assert {c["type"] for c in st["conditions"]} >= {"Ready", "PodScheduled"}, name
        statuses = st["containerStatuses"] + st.get("initContainerStatuses", [])
        names = [c["name"] for c in spec["containers"] + spec.get("initContainers", [])]
        assert sorted(s["name"] for s in statuses) == sorted(names), name


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_proxy_mix_per_cluster(cluster):
    kinds = Counter(classify(p) for p in of_kind(cluster, "Pod"))
    assert kinds["istio-classic"] > 0, kinds
    assert kinds["istio-classic"] + kinds["istio-native"] > 0, kinds
    assert kinds["asm"] > 0, kinds
    assert kinds["gateway"] > 0, kinds
    assert kinds["none"] > 0, kinds
    assert 25 <= sum(kinds.values()) <= 45, kinds


def test_native_sidecars_present():
    kinds = Counter(classify(p) for c in DATA_PLANES for p in of_kind(c, "Pod"))
    assert kinds["istio-native"] > 0
    native_asm = [p for c in DATA_PLANES for p in of_kind(c, "Pod")
                  if classify(p) == "asm" and proxy_of(p)[1]]
    assert native_asm


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_asm_proxies_point_at_asm(cluster):
    cid = next(c["cluster_id"] for c in manifest()["clusters"] if c["name"] == cluster)
    for pod in of_kind(cluster, "Pod"):
        if classify(pod) != "asm":
            continue
        env = env_of(proxy_of(pod)[0])
        name = pod["metadata"]["name"]
        assert env["CA_ADDR"] == "istiod-1-24-6.istio-system.svc:15012", name
        assert env["ISTIO_META_CLUSTER_ID"] == cid, name
        assert env.get("ASM_ID") and env.get("ASM_APP_VERSION"), name
        assert pod["metadata"]["labels"].get("sidecar.asm.aliyun.com/inject") == "true", name
    # ASM's istiod is a headless Service without a Deployment behind it
    svc = find(cluster, "Service", "istiod-1-24-6", "istio-system")
    assert svc["spec"]["clusterIP"] == "None"
    assert find(cluster, "Deployment", "istiod-1-24-6", "istio-system") is None


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_gateway_pods_are_not_sidecars(cluster):
    labels = Counter()
    for pod in of_kind(cluster, "Pod"):
        if classify(pod) != "gateway":
            continue
        assert "sidecar.istio.io/status" not in pod["metadata"].get("annotations", {})
        labels[pod["metadata"]["labels"].get("istio")] += 1
    assert labels["ingressgateway"] and labels["eastwestgateway"] and labels["ingressgateway-asm"]


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_istio_sidecar_pods_carry_injection_metadata(cluster):
    for pod in of_kind(cluster, "Pod"):
        if not classify(pod).startswith("istio-"):
            continue
        md = pod["metadata"]
        status = json.loads(md["annotations"]["sidecar.istio.io/status"])
        assert set(status) == {"initContainers", "containers", "volumes", "imagePullSecrets",
                               "revision"}
        assert status["revision"] == "default"
        assert md["labels"]["security.istio.io/tlsMode"] == "istio"
        assert "service.istio.io/canonical-name" in md["labels"]
        env = env_of(proxy_of(pod)[0])
        assert env["CA_ADDR"] == "istiod.istio-system.svc:15012"
        json.loads(env["PROXY_CONFIG"])


def _mesh_change(cluster: str) -> datetime:
    cm = find(cluster, "ConfigMap", "istio", "istio-system")
    return max(ts(f["time"]) for f in cm["metadata"]["managedFields"])


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_mesh_config_and_istiod_restart(cluster):
    cm = find(cluster, "ConfigMap", "istio", "istio-system")
    mesh = yaml.safe_load(cm["data"]["mesh"])
    assert mesh["defaultConfig"]["proxyMetadata"]["PROXY_CONFIG_XDS_AGENT"] == "true"
    assert mesh["defaultConfig"]["discoveryAddress"]
    assert yaml.safe_load(cm["data"]["meshNetworks"])["networks"]
    last = max(cm["metadata"]["managedFields"], key=lambda f: f["time"])
    assert last["manager"] == "asm-controller" and last["operation"] == "Update"
    istiod = find(cluster, "Deployment", "istiod", "istio-system")
    assert istiod["metadata"]["labels"]["app.kubernetes.io/version"] == "1.22.3"
    pods = [p for p in of_kind(cluster, "Pod")
            if p["metadata"]["labels"].get("app") == "istiod"]
    assert len(pods) == 2
    for p in pods:
        assert p["spec"]["containers"][0]["image"] == "docker.io/istio/pilot:1.22.3"
        assert ts(p["status"]["startTime"]) > _mesh_change(cluster)


def test_xds_agent_variety():
    """One Istio-sidecar pod predates the mesh change (no setting), one has "false"."""
    found = Counter()
    for cluster in DATA_PLANES:
        change = _mesh_change(cluster)
        for pod in of_kind(cluster, "Pod"):
            if not classify(pod).startswith("istio-"):
                continue
            value = env_of(proxy_of(pod)[0]).get("PROXY_CONFIG_XDS_AGENT")
            created = ts(pod["metadata"]["creationTimestamp"])
            if value is None:
                assert created < change, pod["metadata"]["name"]
                found["absent"] += 1
            else:
                assert created > change, pod["metadata"]["name"]
                found[value] += 1
    assert found["absent"] >= 1 and found["false"] >= 1 and found["true"] >= 5


def test_migration_intent_and_manual_injection():
    # a Deployment whose template asks for ASM while its running pods are still Istio sidecars
    dep = find("cluster-a", "Deployment", "checkout", "shop")
    assert dep["spec"]["template"]["metadata"]["labels"]["sidecar.asm.aliyun.com/inject"] == "true"
    pods = [p for p in of_kind("cluster-a", "Pod")
            if p["metadata"]["namespace"] == "shop" and p["metadata"]["labels"]["app"] == "checkout"]
    assert pods and all(classify(p) == "istio-classic" for p in pods)
    # istioctl kube-inject output: istio-proxy inside the workload template
    manual = [d for c in DATA_PLANES for d in of_kind(c, "Deployment")
              if any(x["name"] == "istio-proxy" for x in d["spec"]["template"]["spec"]["containers"])
              and "sidecar.istio.io/status" in d["spec"]["template"]["metadata"].get("annotations", {})]
    assert [d["metadata"]["name"] for d in manual] == ["inventory-sync"]


def test_asm_proxy_not_ready():
    crashing = []
    for cluster in DATA_PLANES:
        for pod in of_kind(cluster, "Pod"):
            for s in pod["status"]["containerStatuses"]:
                if s["restartCount"] == 7:
                    assert s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
                    assert classify(pod) == "asm"
                    crashing.append(pod["metadata"]["name"])
    assert crashing == ["ledger-1"]


def test_egress_virtualservice_split():
    vs = find("cluster-a", "VirtualService", "direct-cnn-through-egress-gateway", "shop")
    assert vs["spec"]["hosts"] == ["edition.cnn.com"]
    assert {"istio-egressgateway", "mesh"} <= set(vs["spec"]["gateways"])
    routes = [r for r in vs["spec"]["http"]
              if any(d["destination"]["host"] == ISTIO_EGRESS_HOST for d in r["route"])]
    assert len(routes) == 1
    weights = {d["destination"]["host"]: d.get("weight", 0) for d in routes[0]["route"]}
    assert sum(weights.values()) == 100
    # Cut-over nearly done (seed: adjust the ratio until all traffic goes to ASM): 1% still via Istio,
    # which the recorded Prometheus data shows too.
    assert weights[ISTIO_EGRESS_HOST] == 1
    assert weights[ASM_EGRESS_HOST] == 99
    # the ASM egress gateway host resolves to a Service in istio-system
    assert find("cluster-a", "Service", "asm-egressgateway", "istio-system") is not None


@pytest.mark.parametrize("cluster,istio_weight,asm_weight",
                         [("cluster-a", "0", "100"), ("cluster-b", "20", "80")])
def test_ingress_clb_weights(cluster, istio_weight, asm_weight):
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"
    istio = find(cluster, "Service", "istio-ingressgateway", "istio-system")["metadata"]
    asm = find(cluster, "Service", "istio-ingressgateway-asm", "istio-system")["metadata"]
    assert istio["annotations"][key + "id"] == asm["annotations"][key + "id"]
    for md in (istio, asm):
        assert md["annotations"][key + "force-override-listeners"] == "false"
    assert istio["annotations"][key + "weight"] == istio_weight
    assert asm["annotations"][key + "weight"] == asm_weight


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_namespaces_and_eastwest(cluster):
    ns = {o["metadata"]["name"]: o["metadata"].get("labels", {})
          for o in of_kind(cluster, "Namespace")}
    assert "istio-injection" not in ns["istio-system"]
    assert ns["kube-system"].get("istio-injection") == "disabled"
    injected = [n for n, lab in ns.items()
                if lab.get("istio-injection") == "enabled" or "istio.io/rev" in lab]
    assert injected
    for n in [*injected, "istio-system"]:
        cm = find(cluster, "ConfigMap", "istio-ca-root-cert", n)
        assert cm and cm["data"]["root-cert.pem"].startswith("-----BEGIN CERTIFICATE-----")
    ew = find(cluster, "Service", "istio-eastwestgateway", "istio-system")
    assert ew["metadata"]["labels"]["topology.istio.io/network"] == ns["istio-system"][
        "topology.istio.io/network"]
    assert {p["port"] for p in ew["spec"]["ports"]} >= {15021, 15443, 15012, 15017}
    gw = find(cluster, "Gateway", "cross-network-gateway", "istio-system")
    server = gw["spec"]["servers"][0]
    assert gw["spec"]["selector"] == {"istio": "eastwestgateway"}
    assert server["tls"]["mode"] == "AUTO_PASSTHROUGH" and server["hosts"] == ["*.local"]


def test_migration_resource_and_asm_gateways():
    (mig,) = of_kind("asm", "ASMMigrateFromIstio")
    assert mig["apiVersion"] == "istio.alibabacloud.com/v1beta1"
    assert mig["metadata"]["name"] == "default"
    assert mig["spec"]["desiredState"] == "Migrating"
    assert mig["spec"]["advancedOptions"]["stopIstioSystemInjectionDisabling"] is True
    assert mig["status"] == {"state": "Migrating", "message": "", "retryCounter": 1}
    assert mig["spec"]["retryCounter"] == 1
    types = {g["spec"]["gatewayType"]: g for g in of_kind("asm", "IstioGateway")}
    assert set(types) == {"ingress", "egress", "cross-network"}
    ids = sorted(c["cluster_id"] for c in manifest()["clusters"] if c["role"] == "data-plane")
    assert sorted(types["ingress"]["spec"]["clusterIds"]) == ids
    # every IstioGateway has its istio-<name> Deployment in the clusters it targets
    names = {c["cluster_id"]: c["name"] for c in manifest()["clusters"] if c.get("cluster_id")}
    for gw in types.values():
        for cid in gw["spec"]["clusterIds"]:
            dep = find(names[cid], "Deployment", "istio-" + gw["metadata"]["name"], "istio-system")
            assert dep is not None, (cid, gw["metadata"]["name"])
            assert dep["metadata"]["labels"]["asm.alibabacloud.com/managed-by-asm"] == "true"
    # the cross-network gateway exists before the first workload moved to an ASM proxy
    first_asm = min(ts(p["metadata"]["creationTimestamp"]) for c in DATA_PLANES
                    for p in of_kind(c, "Pod") if classify(p) == "asm")
    assert ts(types["cross-network"]["metadata"]["creationTimestamp"]) < first_asm


def _istio_config(cluster: str) -> dict:
    return {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"]
            for _, o in objects(cluster) if o["apiVersion"].startswith(ISTIO_CONFIG_GROUPS)}


def test_istio_config_import_gaps_are_deliberate():
    asm = _istio_config("asm")
    missing, different = set(), set()
    for cluster in DATA_PLANES:
        for key, spec in _istio_config(cluster).items():
            if key not in asm:
                missing.add((cluster, *key))
            elif asm[key] != spec:
                different.add((cluster, *key))
    assert missing == {("cluster-b", "VirtualService", "search", "search-api"),
                       ("cluster-a", "AuthorizationPolicy", "payments", "allow-shop")}
    assert different == {("cluster-a", "DestinationRule", "shop", "cart")}


@pytest.mark.parametrize("cluster", DATA_PLANES)
def test_istio_control_plane_objects(cluster):
    assert find(cluster, "MutatingWebhookConfiguration", "istio-sidecar-injector") is not None
    vwh = find(cluster, "ValidatingWebhookConfiguration", "istio-validator-istio-system")
    assert vwh["metadata"]["labels"]["istio.io/rev"] == "default"
    crds = {o["metadata"]["name"] for o in of_kind(cluster, "CustomResourceDefinition")}
    assert {"virtualservices.networking.istio.io", "authorizationpolicies.security.istio.io"} <= crds
    svc = find(cluster, "Service", "istiod", "istio-system")
    assert {p["port"] for p in svc["spec"]["ports"]} == {15010, 15012, 443, 15014}
    assert of_kind(cluster, "PodDisruptionBudget")
