"""Realistic synthetic clusters for the scale benchmark (issue 7).

One data-plane cluster of N pods mid-migration (ASMMigrateFromIstio in state Migrating) plus the ASM
control plane, shaped like what a real API server returns: injected pods carry the full
`istio-proxy` container (classic in `containers`, native in `initContainers` with restartPolicy
Always), the `sidecar.istio.io/status` annotation, managedFields, projected volumes and container
statuses, so a pod weighs what a real one does (~8 KB of JSON) and parsing costs what it costs in
production.

Mix per cluster (deterministic for a seed): Deployments (with current and some old ReplicaSet
revisions), StatefulSets, CronJobs -> Jobs, standalone Jobs, a DaemonSet, bare pods; pods on ASM
proxies, native and classic Istio sidecars (most with PROXY_CONFIG_XDS_AGENT, some without) and no
proxy; Services (<= 10,000), namespaces (<= 10,000), Istio config objects, istiod + mesh ConfigMap,
webhooks, Istio ingress/egress/east-west gateways and ASM's gateways; on the ASM side the migration
CR, IstioGateways and the imported Istio config.

Written as a snapshot directory (manifest.json, one folder per cluster, JSON `List` files; long lists split
into files of FILE_SIZE objects) which `asm-audit run --snapshot` reads and
`tests.fakeapi.FakeApiServer.load_yaml_dir` serves.

    python -m bench.generate --pods 10000 --out /tmp/bench-10k
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

DATA_PLANE = "cluster-a"
CLUSTER_ID = "c5f1d9a7e3b2c4d6e8f0a1b3c5d7e9f01"
# Objects per List file, as `asm-audit snapshot` writes them (snapshot.WRITE_PART_ITEMS): reading one
# file back holds one part of a long list in memory, not the whole list.
FILE_SIZE = 5000
ISTIO_VERSION = "1.22.3"
ISTIO_PROXY_IMAGE = f"docker.io/istio/proxyv2:{ISTIO_VERSION}"
# Real installs the classifier must not mistake for ASM (issue: never a false GO on a real install): a canary
# revision named after its version (Istio's upgrade guide) and Istio's image mirrored into the team's ACR.
CANARY_REVISION, CANARY_VERSION = "1-24-2", "1.24.2"
MIRRORED_PROXY_IMAGE = f"registry.cn-hangzhou.aliyuncs.com/acme/proxyv2:{ISTIO_VERSION}"
ASM_TAG = "v1.24.6.62-g5c7e1f0b-aliyun"
ASM_PROXY_IMAGE = f"registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/proxyv2:{ASM_TAG}"
T_CREATED = "2026-10-01T08:00:00Z"
T_MESH_CHANGE = "2026-11-12T09:00:00Z"
T_NEW = "2026-11-14T10:00:00Z"      # pods created after the mesh change carry PROXY_CONFIG_XDS_AGENT
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# ---------------------------------------------------------------- small helpers
def _uid(*parts: str) -> str:
    h = hashlib.blake2b("/".join(parts).encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def _meta(name: str, namespace: str | None = None, labels: dict | None = None,
          annotations: dict | None = None, created: str = T_CREATED, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    m["uid"] = _uid(namespace or "", name)
    m["resourceVersion"] = str(1000 + len(name) * 7919 % 900000)
    m["generation"] = 1
    m["creationTimestamp"] = created
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    m.update(extra)
    return m


def _owner(api_version: str, kind: str, name: str, namespace: str) -> list[dict[str, Any]]:
    return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": _uid(namespace, name),
             "controller": True, "blockOwnerDeletion": True}]


def _managed(manager: str, t: str, fields: dict[str, Any], api_version: str = "v1") -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "apiVersion": api_version, "time": t,
            "fieldsType": "FieldsV1", "fieldsV1": fields}


# ---------------------------------------------------------------- the istio-proxy container
def _proxy_env(kind: str, xds_agent: bool, app: str, namespace: str, gateway: bool,
               revision: str = "") -> list[dict[str, Any]]:
    ca = (f"istiod{'-' + revision if revision else ''}.istio-system.svc:15012" if kind == "istio"
          else "istiod-1-24-6.istio-system.svc:15012")
    metadata = {"PROXY_CONFIG_XDS_AGENT": "true"} if xds_agent else {}
    env: list[dict[str, Any]] = [
        {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
        {"name": "CA_ADDR", "value": ca},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                             "fieldPath": "metadata.namespace"}}},
        {"name": "INSTANCE_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
        {"name": "SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                               "fieldPath": "spec.serviceAccountName"}}},
        {"name": "HOST_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}}},
        {"name": "ISTIO_CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"divisor": "0", "resource": "limits.cpu"}}},
        {"name": "PROXY_CONFIG", "value": orjson.dumps({"proxyMetadata": metadata} if metadata else {}).decode()},
        {"name": "ISTIO_META_POD_PORTS", "value": '[\n    {"name":"http","containerPort":8080,"protocol":"TCP"}\n]'},
        {"name": "ISTIO_META_APP_CONTAINERS", "value": "app"},
        {"name": "GOMEMLIMIT", "valueFrom": {"resourceFieldRef": {"divisor": "0", "resource": "limits.memory"}}},
        {"name": "GOMAXPROCS", "valueFrom": {"resourceFieldRef": {"divisor": "0", "resource": "limits.cpu"}}},
        {"name": "ISTIO_META_CLUSTER_ID", "value": CLUSTER_ID if kind == "asm" else "Kubernetes"},
        {"name": "ISTIO_META_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                    "fieldPath": "spec.nodeName"}}},
        {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"},
        {"name": "ISTIO_META_WORKLOAD_NAME", "value": app},
        {"name": "ISTIO_META_OWNER",
         "value": f"kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{app}"},
        {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
        {"name": "TRUST_DOMAIN", "value": "cluster.local"},
        {"name": "ISTIO_META_NETWORK", "value": "network-1"},
    ]
    if xds_agent:
        env.append({"name": "PROXY_CONFIG_XDS_AGENT", "value": "true"})
    if kind == "asm":
        env += [{"name": "ASM_ID", "value": "c0ffee00deadbeef1234"}, {"name": "ASM_APP_VERSION", "value": "v1"}]
    return env


def proxy_container(kind: str, *, native: bool, xds_agent: bool, app: str, namespace: str,
                    gateway: bool = False, revision: str = "", image: str = "") -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "istio-proxy",
        "image": image or (ISTIO_PROXY_IMAGE if kind == "istio" else ASM_PROXY_IMAGE),
        "args": ["proxy", "router" if gateway else "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                 "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "env": _proxy_env(kind, xds_agent, app, namespace, gateway, revision),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"failureThreshold": 4, "httpGet": {"path": "/healthz/ready", "port": 15021,
                                                              "scheme": "HTTP"},
                           "periodSeconds": 15, "successThreshold": 1, "timeoutSeconds": 3},
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                            "runAsNonRoot": True, "runAsUser": 1337},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": p, "name": n} for p, n in (
            ("/var/run/secrets/workload-spiffe-uds", "workload-socket"),
            ("/var/run/secrets/credential-uds", "credential-socket"),
            ("/var/run/secrets/workload-spiffe-credentials", "workload-certs"),
            ("/var/run/secrets/istio", "istiod-ca-cert"), ("/var/lib/istio/data", "istio-data"),
            ("/etc/istio/proxy", "istio-envoy"), ("/var/run/secrets/tokens", "istio-token"),
            ("/etc/istio/pod", "istio-podinfo"),
            ("/var/run/secrets/kubernetes.io/serviceaccount", "kube-api-access"))],
    }
    if native:
        c["restartPolicy"] = "Always"
        c["startupProbe"] = {"failureThreshold": 600, "httpGet": {"path": "/healthz/ready", "port": 15021,
                                                                  "scheme": "HTTP"},
                             "periodSeconds": 1, "successThreshold": 1, "timeoutSeconds": 3}
    return c


def _init_container(native: bool) -> dict[str, Any]:
    return {"name": "istio-validation" if native else "istio-init", "image": ISTIO_PROXY_IMAGE,
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                     "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"]
            + (["--run-validation", "--skip-rule-apply"] if native else []),
            "imagePullPolicy": "IfNotPresent",
            "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "10m", "memory": "40Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {
                "add": [] if native else ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                "readOnlyRootFilesystem": True, "runAsGroup": 1337, "runAsNonRoot": True, "runAsUser": 1337},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}


_POD_VOLUMES = [
    {"emptyDir": {}, "name": "workload-socket"}, {"emptyDir": {}, "name": "credential-socket"},
    {"emptyDir": {}, "name": "workload-certs"}, {"emptyDir": {"medium": "Memory"}, "name": "istio-envoy"},
    {"emptyDir": {}, "name": "istio-data"},
    {"downwardAPI": {"defaultMode": 420, "items": [
        {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"},
        {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}, "path": "annotations"}]},
     "name": "istio-podinfo"},
    {"name": "istio-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {
        "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
    {"configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"}, "name": "istiod-ca-cert"},
    {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}},
]

_POD_MANAGED_FIELDS_SPEC = {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                                                              "f:pod-template-hash": {}},
                                           "f:ownerReferences": {".": {}, "k:{\"uid\":\"...\"}": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                                ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                                "f:ports": {".": {}, "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {
                                    ".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                                "f:resources": {".": {}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}},
                                "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
                                "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                                "f:schedulerName": {}, "f:securityContext": {}, "f:serviceAccount": {},
                                "f:serviceAccountName": {}, "f:terminationGracePeriodSeconds": {}}}
_POD_MANAGED_FIELDS_STATUS = {"f:status": {"f:conditions": {
    "k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {},
                                         "f:status": {}, "f:type": {}},
    "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {},
                                     "f:type": {}},
    "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {},
                               "f:type": {}}},
    "f:containerStatuses": {}, "f:hostIP": {}, "f:initContainerStatuses": {}, "f:phase": {}, "f:podIP": {},
    "f:podIPs": {".": {}, "k:{\"ip\":\"...\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}}}


def _status_annotation(native: bool) -> str:
    return orjson.dumps({"initContainers": ["istio-validation" if native else "istio-init"],
                         "containers": [] if native else ["istio-proxy"],
                         "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy",
                                     "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
                         "imagePullSecrets": None, "revision": "default"}).decode()


# ---------------------------------------------------------------- workload plan
class Workload:
    """One owner of pods and the template its pods share (built once, copied per pod)."""

    def __init__(self, kind: str, namespace: str, name: str, replicas: int, proxy: str, native: bool,
                 xds_fraction: float, asm_label: bool, rng: random.Random, gateway: str = "") -> None:
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.replicas = replicas
        self.proxy = proxy          # "istio" | "asm" | "none"
        self.native = native
        self.xds_fraction = xds_fraction
        self.asm_label = asm_label
        self.gateway = gateway      # "ingressgateway" | ... for gateway workloads
        self.hash = _suffix(rng, 10)
        self.seed = rng.randrange(1 << 30)  # stable across processes, unlike hash()
        self.grace = rng.choice((30, 30, 30, 10, 60, 5))
        self.prestop = rng.random() < 0.3
        self.port_name = rng.choice(("http", "http", "http-web", "grpc", "tcp-redis", "http2"))
        # From the seed, not the rng: the shapes of earlier benchmarks stay where they were.
        on_istio = proxy == "istio" and not gateway
        self.revision = CANARY_REVISION if on_istio and self.seed % 3 == 0 else ""
        self.proxy_image = MIRRORED_PROXY_IMAGE if on_istio and self.seed % 10 == 1 else ""
        self.helm_gateway = gateway == "ingress"  # `helm install istio-ingress istio/gateway -n istio-ingress`


def _template_labels(w: Workload) -> dict[str, str]:
    labels = {"app": w.name, "version": "v1"}
    if w.asm_label:
        labels["sidecar.asm.aliyun.com/inject"] = "true"
    if w.gateway:
        labels["istio"] = w.gateway
    if w.revision:
        labels["istio.io/rev"] = w.revision
    return labels


def _app_container(w: Workload) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": "app", "image": f"registry.example.com/{w.namespace}/{w.name}:1.4.{len(w.name) % 9}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": w.port_name, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "APP_NAME", "value": w.name},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "livenessProbe": {"httpGet": {"path": "/app-health/app/livez", "port": 15020, "scheme": "HTTP"},
                          "periodSeconds": 10, "failureThreshold": 3, "successThreshold": 1, "timeoutSeconds": 1},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access",
                          "readOnly": True}],
    }
    if w.prestop:
        c["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "10"]}}}
    return c


def _pod_spec(w: Workload, xds: bool) -> dict[str, Any]:
    gateway = bool(w.gateway)
    spec: dict[str, Any] = {"containers": [] if gateway else [_app_container(w)]}
    if w.proxy != "none":
        proxy = proxy_container(w.proxy, native=w.native and not gateway, xds_agent=xds, app=w.name,
                                namespace=w.namespace, gateway=gateway, revision=w.revision,
                                image=w.proxy_image)
        if w.native and not gateway:
            spec["initContainers"] = [_init_container(True), proxy]
        else:
            if not gateway:
                spec["initContainers"] = [_init_container(False)]
            spec["containers"].append(proxy)
        spec["volumes"] = _POD_VOLUMES
    else:
        spec["volumes"] = _POD_VOLUMES[-1:]
    spec.update({"dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                 "priority": 0, "restartPolicy": "Never" if w.kind in ("Job", "CronJob") else "Always",
                 "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "default",
                 "serviceAccountName": "default", "terminationGracePeriodSeconds": w.grace,
                 "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                                  "operator": "Exists", "tolerationSeconds": 300},
                                 {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                                  "operator": "Exists", "tolerationSeconds": 300}]})
    return spec


def _pod_owner(w: Workload, index: int) -> tuple[str, str, str, str]:
    """(owner apiVersion, owner kind, owner name, pod name) for the index-th pod of a workload."""
    if w.kind == "Deployment":
        rs = f"{w.name}-{w.hash}"
        return "apps/v1", "ReplicaSet", rs, f"{rs}-{_ALPHABET[index % 27]}{_ALPHABET[index // 27 % 27]}" \
            f"{_ALPHABET[index // 729 % 27]}{w.hash[:2]}"
    if w.kind in ("StatefulSet", "DaemonSet"):
        # Pod names must be unique in a namespace (the API server would refuse a second one).
        suffix = str(index) if w.kind == "StatefulSet" else f"{w.hash[:2]}{_ALPHABET[index % 27]}" \
            f"{_ALPHABET[index // 27 % 27]}{_ALPHABET[index // 729 % 27]}"
        return "apps/v1", w.kind, w.name, f"{w.name}-{suffix}"
    if w.kind == "CronJob":
        job = f"{w.name}-2956{index % 10:02d}{w.hash[:2]}"[:52]
        return "batch/v1", "Job", job, f"{job}-{w.hash[2:7]}"
    if w.kind == "Job":
        return "batch/v1", "Job", w.name, f"{w.name}-{w.hash[:5]}{index}"
    return "", "", "", f"{w.name}" if w.replicas == 1 else f"{w.name}-{index}"


def pods_of(w: Workload, rng: random.Random) -> Iterator[dict[str, Any]]:
    """The pods of one workload; xds_fraction of its Istio pods were created after the mesh change."""
    specs = {x: _pod_spec(w, x) for x in (True, False)}
    labels = _template_labels(w)
    if w.kind == "Deployment":
        labels["pod-template-hash"] = w.hash
    if w.proxy != "none" and not w.gateway:
        labels.update({"security.istio.io/tlsMode": "istio", "service.istio.io/canonical-name": w.name,
                       "service.istio.io/canonical-revision": "v1"})
    for i in range(w.replicas):
        xds = w.proxy == "asm" or rng.random() < w.xds_fraction
        created = T_NEW if xds else T_CREATED
        owner_api, owner_kind, owner_name, name = _pod_owner(w, i)
        annotations: dict[str, str] = {"kubectl.kubernetes.io/default-container": "app",
                                       "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
                                       "prometheus.io/scrape": "true"}
        if w.proxy != "none":
            annotations["sidecar.istio.io/status"] = _status_annotation(w.native)
            annotations["istio.io/rev"] = "default"
        meta: dict[str, Any] = {"name": name, "namespace": w.namespace, "uid": _uid(w.namespace, name),
                                "resourceVersion": str(100000 + i), "creationTimestamp": created,
                                "labels": labels, "annotations": annotations}
        if owner_kind:
            meta["generateName"] = f"{owner_name}-"
            meta["ownerReferences"] = _owner(owner_api, owner_kind, owner_name, w.namespace)
        meta["managedFields"] = [_managed("kube-controller-manager", created, _POD_MANAGED_FIELDS_SPEC),
                                 _managed("kubelet", created, _POD_MANAGED_FIELDS_STATUS)]
        spec = dict(specs[xds])
        node = f"cn-hangzhou.10.0.{i % 250}.{(w.seed + i) % 250}"
        spec["nodeName"] = node
        ip = f"10.{(i >> 16) % 250}.{(i >> 8) % 256}.{i % 256}"
        phase = "Succeeded" if w.kind in ("Job", "CronJob") and i % 3 else "Running"
        ready = phase == "Running" and rng.random() > 0.01
        restarts = 0 if rng.random() > 0.05 else rng.randint(1, 12)
        container_names = [c["name"] for c in spec["containers"]]
        statuses = [{"containerID": f"containerd://{_uid(name, c)}{_uid(c, name)[:28]}".replace("-", ""),
                     "image": c, "imageID": f"sha256:{_uid(c)}".replace("-", ""), "lastState": {}, "name": c,
                     "ready": ready, "restartCount": restarts, "started": ready,
                     "state": {"running": {"startedAt": created}}} for c in container_names]
        init = [c["name"] for c in spec.get("initContainers") or ()]
        init_statuses = [{"containerID": f"containerd://{_uid(c, name)}".replace("-", ""), "image": c,
                          "imageID": "", "lastState": {}, "name": c, "ready": c == "istio-proxy",
                          "restartCount": 0, "started": c == "istio-proxy",
                          "state": {"running": {"startedAt": created}} if c == "istio-proxy" else
                          {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": created,
                                          "finishedAt": created}}} for c in init]
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": t}
                for t in ("PodReadyToStartContainers", "Initialized")] + [
                {"lastProbeTime": None, "lastTransitionTime": created, "status": "True" if ready else "False",
                 "type": t} for t in ("Ready", "ContainersReady")] + [
                {"lastProbeTime": None, "lastTransitionTime": created, "status": "True", "type": "PodScheduled"}],
            "hostIP": node.removeprefix("cn-hangzhou."), "podIP": ip,
            "podIPs": [{"ip": ip}], "qosClass": "Burstable", "startTime": created,
            "containerStatuses": statuses,
        }
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        yield {"metadata": meta, "spec": spec, "status": status}


# ---------------------------------------------------------------- workload objects
def _template(w: Workload) -> dict[str, Any]:
    spec = _pod_spec(w, True)
    # Templates hold only what the user wrote: no injected sidecar (that is added at admission).
    spec = {**spec, "containers": [c for c in spec["containers"] if c["name"] != "istio-proxy"]}
    spec.pop("initContainers", None)
    spec.pop("volumes", None)
    spec.pop("nodeName", None)
    if w.helm_gateway:
        # The gateway chart's template: istio-proxy alone, image auto, the gateway injection template.
        spec["containers"] = [{"name": "istio-proxy", "image": "auto"}]
        return {"metadata": {"labels": {**_template_labels(w), "sidecar.istio.io/inject": "true"},
                             "annotations": {"inject.istio.io/templates": "gateway"}}, "spec": spec}
    return {"metadata": {"labels": _template_labels(w)}, "spec": spec}


def _owner_labels(w: Workload, labels: dict[str, str]) -> dict[str, str]:
    """ASM's IstioGateway controller marks the gateway Deployments it creates."""
    if w.gateway and w.proxy == "asm":
        return {**labels, "asm.alibabacloud.com/managed-by-asm": "true"}
    return labels


def workload_objects(w: Workload) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file key, object) for the owner objects of a workload (Deployment + ReplicaSets, ...)."""
    labels = {"app": w.name}
    tmpl = _template(w)
    status = {"replicas": w.replicas, "readyReplicas": w.replicas, "availableReplicas": w.replicas,
              "observedGeneration": 1}
    if w.kind == "Deployment":
        yield "deployments", {"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": _meta(w.name, w.namespace, _owner_labels(w, labels),
                                                {"deployment.kubernetes.io/revision": "3"}),
                              "spec": {"replicas": w.replicas, "selector": {"matchLabels": labels},
                                       "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                                           "maxSurge": "25%", "maxUnavailable": "25%"}},
                                       "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                                       "template": tmpl},
                              "status": {**status, "updatedReplicas": w.replicas}}
        # The current revision and, for a third of them, old revisions scaled to zero.
        revisions = [(w.hash, w.replicas)] + [(w.hash[::-1][:9] + str(r), 0) for r in range(
            2 if w.seed % 3 == 0 else 0)]
        for rhash, replicas in revisions:
            rs_name = f"{w.name}-{rhash}"
            yield "replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": _meta(rs_name, w.namespace, {**labels, "pod-template-hash": rhash},
                                  {"deployment.kubernetes.io/desired-replicas": str(w.replicas)},
                                  ownerReferences=_owner("apps/v1", "Deployment", w.name, w.namespace)),
                "spec": {"replicas": replicas, "selector": {"matchLabels": {**labels, "pod-template-hash": rhash}},
                         "template": tmpl},
                "status": {"replicas": replicas, "readyReplicas": replicas, "observedGeneration": 1}}
    elif w.kind in ("StatefulSet", "DaemonSet"):
        spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": tmpl}
        if w.kind == "StatefulSet":
            spec.update(replicas=w.replicas, serviceName=w.name, podManagementPolicy="OrderedReady")
        yield w.kind.lower() + "s", {"apiVersion": "apps/v1", "kind": w.kind,
                                     "metadata": _meta(w.name, w.namespace, labels), "spec": spec,
                                     "status": status}
    elif w.kind == "CronJob":
        yield "cronjobs", {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(w.name, w.namespace, labels),
                           "spec": {"schedule": "*/30 * * * *", "concurrencyPolicy": "Forbid",
                                    "jobTemplate": {"spec": {"template": tmpl}}},
                           "status": {"lastScheduleTime": T_NEW}}
        for job in sorted({_pod_owner(w, i)[2] for i in range(w.replicas)}):
            yield "jobs", _job(job, w, tmpl, owner=_owner("batch/v1", "CronJob", w.name, w.namespace))
    elif w.kind == "Job":
        yield "jobs", _job(w.name, w, tmpl, owner=None)


def _job(name: str, w: Workload, tmpl: dict[str, Any], owner: list | None) -> dict[str, Any]:
    extra = {"ownerReferences": owner} if owner else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name, w.namespace, {"app": w.name}, **extra),
            "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": tmpl},
            "status": {"succeeded": 1, "startTime": T_NEW}}


# ---------------------------------------------------------------- the plan
def plan(pods: int, seed: int = 7) -> tuple[list[str], list[Workload]]:
    """Namespaces and workloads adding up to exactly `pods` pods."""
    rng = random.Random(seed)
    n_ns = max(3, min(10_000, pods // 15))
    namespaces = [f"team-{i:05d}" for i in range(n_ns)]
    workloads: list[Workload] = []
    # The mesh's own workloads in istio-system: istiod, Istio gateways (classic), ASM gateways.
    system = [
        Workload("Deployment", "istio-system", "istiod", 2, "none", False, 0.0, False, rng),
        Workload("Deployment", "istio-system", f"istiod-{CANARY_REVISION}", 2, "none", False, 0.0, False, rng),
        Workload("Deployment", "istio-ingress", "istio-ingress", 2, "istio", False, 1.0, False, rng,
                 gateway="ingress"),
        Workload("Deployment", "istio-system", "istio-ingressgateway", 3, "istio", False, 1.0, False, rng,
                 gateway="ingressgateway"),
        Workload("Deployment", "istio-system", "istio-egressgateway", 2, "istio", False, 1.0, False, rng,
                 gateway="egressgateway"),
        Workload("Deployment", "istio-system", "istio-eastwestgateway", 2, "istio", False, 1.0, False, rng,
                 gateway="eastwestgateway"),
        Workload("Deployment", "istio-system", "istio-asm-ingressgateway", 2, "asm", False, 1.0, False, rng,
                 gateway="asm-ingressgateway"),
        Workload("Deployment", "istio-system", "istio-asm-egressgateway", 2, "asm", False, 1.0, False, rng,
                 gateway="asm-egressgateway"),
        Workload("DaemonSet", "kube-system", "node-exporter", 0, "none", False, 0.0, False, rng),
    ]
    remaining = pods - sum(w.replicas for w in system)
    # A DaemonSet gets one pod per "node" (1 per 40 pods, >= 1).
    system[-1].replicas = max(1, min(remaining // 40, 5000)) if remaining > 0 else 0
    remaining -= system[-1].replicas
    workloads.extend(w for w in system if w.replicas)
    kinds = ("Deployment",) * 78 + ("StatefulSet",) * 8 + ("CronJob",) * 6 + ("Job",) * 4 + ("Pod",) * 4
    i = 0
    while remaining > 0:
        kind = rng.choice(kinds)
        replicas = {"Deployment": rng.choice((1, 2, 2, 3, 3, 4, 5, 6, 8, 12)), "StatefulSet": rng.choice((1, 3, 3, 5)),
                    "CronJob": rng.choice((1, 2, 3)), "Job": 1, "Pod": 1}[kind]
        replicas = min(replicas, remaining)
        roll = rng.random()
        # Migrating: ~45% of workloads moved to ASM, ~43% still on Istio (native or classic), 12% no proxy.
        if roll < 0.45:
            proxy, native = "asm", rng.random() < 0.5
        elif roll < 0.88:
            proxy, native = "istio", rng.random() < 0.6
        else:
            proxy, native = "none", False
        xds_fraction = rng.choice((1.0, 1.0, 1.0, 0.7, 0.0))
        asm_label = proxy == "asm" or (proxy == "istio" and rng.random() < 0.05)
        ns = namespaces[i % n_ns]
        workloads.append(Workload(kind, ns, f"svc-{i:06d}", replicas, proxy, native, xds_fraction, asm_label, rng))
        remaining -= replicas
        i += 1
    return ["istio-system", "istio-ingress", "kube-system", "default", *namespaces], workloads


# ---------------------------------------------------------------- mesh and cluster objects
def _namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, labels=labels or {
        "kubernetes.io/metadata.name": name}), "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def _service(name: str, ns: str, labels: dict | None = None, annotations: dict | None = None,
             ports: list[dict] | None = None, type_: str = "ClusterIP", selector: dict | None = None,
             cluster_ip: str = "10.96.0.10") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns, labels, annotations),
            "spec": {"type": type_, "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                     "selector": selector if selector is not None else {"app": name},
                     "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
            "status": {"loadBalancer": {}}}


def _mesh_configmap() -> dict[str, Any]:
    mesh = ("accessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"
            "  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: \"true\"\n  tracing:\n    zipkin:\n"
            "      address: zipkin.istio-system:9411\nenablePrometheusMerge: true\nrootNamespace: istio-system\n"
            "trustDomain: cluster.local\n")
    m = _meta("istio", "istio-system", {"istio.io/rev": "default", "operator.istio.io/component": "Pilot",
                                        "install.operator.istio.io/owning-resource": "installed-state"})
    m["managedFields"] = [_managed("pilot-discovery", "2026-10-01T08:00:00Z", {"f:data": {"f:mesh": {}}}),
                          _managed("asm-controller", T_MESH_CHANGE, {"f:data": {"f:mesh": {}}})]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m,
            "data": {"mesh": mesh, "meshNetworks": "networks: {}"}}


def _istio_config(ns: str, name: str, i: int) -> list[dict[str, Any]]:
    host = f"{name}.{ns}.svc.cluster.local"
    out: list[dict[str, Any]] = [
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": _meta(name, ns),
         "spec": {"hosts": [host], "http": [{"route": [{"destination": {"host": host, "subset": "v1"},
                                                        "weight": 100}],
                                             "timeout": "5s", "retries": {"attempts": 3, "perTryTimeout": "2s"}}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": _meta(name, ns),
         "spec": {"host": host, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"},
                                                  "connectionPool": {"http": {"http2MaxRequests": 1000}}},
                  "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}},
    ]
    if i % 4 == 0:
        out.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": _meta(name, ns),
                    "spec": {"selector": {"matchLabels": {"app": name}}, "action": "ALLOW",
                             "rules": [{"from": [{"source": {"principals": [
                                 f"cluster.local/ns/{ns}/sa/default"]}}]}]}})
    if i % 10 == 0:
        out.append({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                    "metadata": _meta("default", ns), "spec": {"mtls": {"mode": "STRICT"}}})
    if i % 25 == 0:
        out.append({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                    "metadata": _meta(f"ext-{name}", ns),
                    "spec": {"hosts": [f"api-{i}.example.com"], "location": "MESH_EXTERNAL",
                             "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}], "resolution": "DNS"}})
    return out


def _crd(plural: str, group: str, kind: str, versions: list[str]) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": "istio"} if group.endswith("istio.io") else {}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": _meta(f"{plural}.{group}", labels=labels),
            "spec": {"group": group, "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List",
                                               "singular": kind.lower()},
                     "scope": "Namespaced",
                     "versions": [{"name": v, "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
                         for i, v in enumerate(versions)]}}


_ISTIO_CRDS = [("virtualservices", "networking.istio.io", "VirtualService"),
               ("destinationrules", "networking.istio.io", "DestinationRule"),
               ("gateways", "networking.istio.io", "Gateway"),
               ("serviceentries", "networking.istio.io", "ServiceEntry"),
               ("sidecars", "networking.istio.io", "Sidecar"), ("envoyfilters", "networking.istio.io", "EnvoyFilter"),
               ("workloadentries", "networking.istio.io", "WorkloadEntry"),
               ("workloadgroups", "networking.istio.io", "WorkloadGroup"),
               ("authorizationpolicies", "security.istio.io", "AuthorizationPolicy"),
               ("peerauthentications", "security.istio.io", "PeerAuthentication"),
               ("requestauthentications", "security.istio.io", "RequestAuthentication"),
               ("telemetries", "telemetry.istio.io", "Telemetry"), ("wasmplugins", "extensions.istio.io", "WasmPlugin")]


def cluster_objects(namespaces: list[str], workloads: list[Workload]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file key, object) for everything but pods in the data-plane cluster."""
    for ns in namespaces:
        labels = {"kubernetes.io/metadata.name": ns}
        if ns == "istio-system":
            labels["topology.istio.io/network"] = "network-1"
        elif ns.startswith("team-"):
            labels["istio-injection"] = "enabled"
        yield "namespaces", _namespace(ns, labels)
    for w in workloads:
        yield from workload_objects(w)
    services = 0
    config_i = 0
    for w in workloads:
        if w.namespace.startswith("team-") and w.kind in ("Deployment", "StatefulSet") and services < 9_950:
            yield "services", _service(w.name, w.namespace, {"app": w.name},
                                       cluster_ip=f"10.96.{services // 250}.{services % 250 + 1}")
            services += 1
            if config_i < 5000 and services % 2 == 0:
                for obj in _istio_config(w.namespace, w.name, config_i):
                    yield "istio-config", obj
                config_i += 1
    lb = {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id": "lb-bp1abc",
          "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners": "false"}
    for gw, istio_label, weight in (("istio-ingressgateway", "ingressgateway", "0"),
                                    ("istio-asm-ingressgateway", "asm-ingressgateway", "100")):
        yield "services", _service(gw, "istio-system", {"app": gw, "istio": istio_label},
                                   {**lb, "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight": weight},
                                   [{"name": "http2", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                                    {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}],
                                   type_="LoadBalancer", selector={"istio": istio_label})
    yield "services", _service("istio-egressgateway", "istio-system", {"app": "istio-egressgateway",
                                                                       "istio": "egressgateway"},
                               selector={"istio": "egressgateway"})
    yield "services", _service("istio-eastwestgateway", "istio-system",
                               {"app": "istio-eastwestgateway", "istio": "eastwestgateway",
                                "topology.istio.io/network": "network-1"},
                               ports=[{"name": "tls", "port": 15443, "targetPort": 15443, "protocol": "TCP"}],
                               type_="LoadBalancer", selector={"istio": "eastwestgateway"})
    yield "services", _service("istiod", "istio-system", {"app": "istiod", "istio": "pilot"},
                               ports=[{"name": "grpc-xds", "port": 15010, "protocol": "TCP"},
                                      {"name": "https-dns", "port": 15012, "protocol": "TCP"},
                                      {"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"}])
    canary = _service(f"istiod-{CANARY_REVISION}", "istio-system",
                      {"app": "istiod", "istio": "pilot", "istio.io/rev": CANARY_REVISION,
                       "operator.istio.io/component": "Pilot", "app.kubernetes.io/managed-by": "Helm"},
                      ports=[{"name": "https-dns", "port": 15012, "protocol": "TCP"}],
                      selector={"app": "istiod", "istio.io/rev": CANARY_REVISION})
    yield "services", canary
    asm_istiod = _service("istiod-1-24-6", "istio-system", {"app": "istiod", "istio.io/rev": "1-24-6"},
                          {"asm.alibabacloud.com/managed-by-asm": "true"},
                          [{"name": "https-dns", "port": 15012, "protocol": "TCP"}], selector={})
    asm_istiod["spec"]["clusterIP"] = "None"
    asm_istiod["spec"]["clusterIPs"] = ["None"]
    yield "services", asm_istiod
    # istiod's image: the Deployment's template is the app container; give it the pilot image.
    yield "configmaps", _mesh_configmap()
    for ns in namespaces[:50]:
        yield "configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": _meta("istio-ca-root-cert", ns, {"istio.io/config": "true"}),
                             "data": {"root-cert.pem": "-----BEGIN CERTIFICATE-----\nMIIC...\n"}}
    yield "istio-config", {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
                           "metadata": _meta("cross-network-gateway", "istio-system"),
                           "spec": {"selector": {"istio": "eastwestgateway"}, "servers": [
                               {"port": {"number": 15443, "name": "tls", "protocol": "TLS"},
                                "tls": {"mode": "AUTO_PASSTHROUGH"}, "hosts": ["*.local"]}]}}
    yield "istio-config", {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                           "metadata": _meta("direct-cnn-through-egress-gateway", "istio-system"),
                           "spec": {"hosts": ["edition.cnn.com"], "gateways": ["istio-egressgateway", "mesh"],
                                    "http": [{"match": [{"gateways": ["mesh"], "port": 80}], "route": [
                                        {"destination": {"host": "istio-egressgateway.istio-system.svc.cluster.local",
                                                         "port": {"number": 80}}, "weight": 0},
                                        {"destination": {"host": "asm-egressgateway.istio-system.svc.cluster.local",
                                                         "port": {"number": 80}}, "weight": 100}]}]}}
    for plural, group, kind in _ISTIO_CRDS:
        yield "crds", _crd(plural, group, kind, ["v1", "v1beta1", "v1alpha3"] if group == "networking.istio.io"
                           else ["v1", "v1beta1"])
    yield "webhooks", {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                       "metadata": _meta("istio-sidecar-injector", labels={
                           "app": "sidecar-injector", "istio.io/rev": "default",
                           "operator.istio.io/component": "Pilot"}),
                       "webhooks": [{"name": "namespace.sidecar-injector.istio.io", "admissionReviewVersions": ["v1"],
                                     "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system",
                                                                  "path": "/inject", "port": 443}},
                                     "sideEffects": "None", "failurePolicy": "Fail"}]}
    yield "webhooks", {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                       "metadata": _meta("istio-validator-istio-system", labels={
                           "app": "istiod", "istio.io/rev": "default"}),
                       "webhooks": [{"name": "rev.validation.istio.io", "admissionReviewVersions": ["v1"],
                                     "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system",
                                                                  "path": "/validate", "port": 443}},
                                     "sideEffects": "None", "failurePolicy": "Ignore"}]}


def _istiod_fixups(obj: dict[str, Any]) -> dict[str, Any]:
    """The istiod Deployment: Istio's labels and the pilot image (what version checks read)."""
    meta = obj["metadata"]
    revisions = {"istiod": ("default", ISTIO_VERSION), f"istiod-{CANARY_REVISION}": (CANARY_REVISION, CANARY_VERSION)}
    if obj.get("kind") == "Deployment" and meta.get("name") in revisions and meta.get("namespace") == "istio-system":
        revision, version = revisions[meta["name"]]
        meta["labels"] = {"app": "istiod", "istio": "pilot", "istio.io/rev": revision,
                          "operator.istio.io/component": "Pilot", "app.kubernetes.io/version": version}
        spec = obj["spec"]["template"]["spec"]
        spec["containers"] = [{"name": "discovery", "image": f"docker.io/istio/pilot:{version}",
                               "args": ["discovery", "--monitoringAddr=:15014"]}]
        # istio-discovery templates/deployment.yaml (@1.10.0..1.30.3): istiod's pod template opts out of injection.
        obj["spec"]["template"]["metadata"]["labels"] = {"app": "istiod", "istio.io/rev": revision,
                                                         "sidecar.istio.io/inject": "false"}
        obj["spec"]["template"]["metadata"]["annotations"] = {"sidecar.istio.io/inject": "false"}
    return obj


def asm_objects(namespaces: list[str], istio_config: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ASM control plane: the migration CR (Migrating), IstioGateways, imported Istio config."""
    yield "asmmigratefromistios", {
        "apiVersion": "istio.alibabacloud.com/v1beta1", "kind": "ASMMigrateFromIstio", "metadata": _meta("default"),
        "spec": {"desiredState": "Migrating", "retryCounter": 1,
                 "advancedOptions": {"stopIstioSystemInjectionDisabling": True}},
        "status": {"state": "Migrating", "message": "", "retryCounter": 1}}
    for name, gtype in (("asm-ingressgateway", "ingress"), ("asm-egressgateway", "egress"),
                        ("asm-cross-network", "cross-network")):
        yield "istiogateways", {"apiVersion": "istio.alibabacloud.com/v1beta1", "kind": "IstioGateway",
                                "metadata": _meta(name, "istio-system"),
                                "spec": {"gatewayType": gtype, "clusterIds": [CLUSTER_ID], "replicaCount": 2,
                                         "ports": [{"name": "http", "port": 80, "targetPort": 80}]}}
    for ns in namespaces[:200]:
        yield "namespaces", _namespace(ns)
    for obj in istio_config:
        yield "istio-config", obj
    for plural, group, kind in [*_ISTIO_CRDS, ("asmmigratefromistios", "istio.alibabacloud.com", "ASMMigrateFromIstio"),
                                ("istiogateways", "istio.alibabacloud.com", "IstioGateway")]:
        yield "crds", _crd(plural, group, kind, ["v1beta1"] if group == "istio.alibabacloud.com" else ["v1"])


# ---------------------------------------------------------------- writing
class _ListWriter:
    """Streams objects into `<key>.json` List files (pods split every `split` objects)."""

    def __init__(self, directory: Path, split: int = 0) -> None:
        self.directory = directory
        self.split = split
        self.files: dict[str, tuple[Any, int, int]] = {}  # key -> (handle, count in file, file index)

    def add(self, key: str, obj: dict[str, Any]) -> None:
        handle, count, index = self.files.get(key, (None, 0, 0))
        if handle is not None and self.split and count >= self.split:
            handle.write(b"\n]}\n")
            handle.close()
            handle, count, index = None, 0, index + 1
        if handle is None:
            name = f"{key}-{index:04d}.json" if self.split else f"{key}.json"
            handle = (self.directory / name).open("wb")
            handle.write(b'{"apiVersion":"v1","kind":"List","metadata":{},"items":[\n')
        else:
            handle.write(b",\n")
        handle.write(orjson.dumps(obj))
        self.files[key] = (handle, count + 1, index)

    def close(self) -> None:
        for handle, _, _ in self.files.values():
            handle.write(b"\n]}\n")
            handle.close()


def _version(git: str) -> dict[str, Any]:
    major, minor = git.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": git, "gitCommit": "9d1f3c1e7e0c7bd4f1b0d3e7f2b6c2a4e5f6a7b8",
            "gitTreeState": "clean", "buildDate": "2026-09-01T00:00:00Z", "goVersion": "go1.22.5",
            "compiler": "gc", "platform": "linux/amd64"}


def generate(pods: int, out: Path, seed: int = 7) -> dict[str, Any]:
    """Write the snapshot for `pods` pods into `out` (replaced); returns a small summary."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    dp_dir, asm_dir = out / DATA_PLANE, out / "asm"
    dp_dir.mkdir(parents=True)
    asm_dir.mkdir()
    rng = random.Random(seed + 1)
    namespaces, workloads = plan(pods, seed)

    counts: dict[str, int] = {}
    objects = _ListWriter(dp_dir, split=FILE_SIZE)
    istio_config: list[dict[str, Any]] = []
    for key, obj in cluster_objects(namespaces, workloads):
        obj = _istiod_fixups(obj)
        objects.add(key, obj)
        counts[key] = counts.get(key, 0) + 1
        if key == "istio-config":
            istio_config.append(obj)
    objects.close()

    pod_writer = _ListWriter(dp_dir, split=FILE_SIZE)
    written = 0
    for w in workloads:
        for pod in pods_of(w, rng):
            # Items of a core List carry apiVersion/kind, as `kubectl get pods -A -o json` writes them.
            pod_writer.add("pods", {"apiVersion": "v1", "kind": "Pod", **pod})
            written += 1
    if not written:  # an empty pods file still says "pods were read, there are none"
        pod_writer.files["pods"] = ((dp_dir / "pods-0000.json").open("wb"), 0, 0)
        pod_writer.files["pods"][0].write(b'{"apiVersion":"v1","kind":"List","metadata":{},"items":[\n')
    pod_writer.close()
    counts["pods"] = written

    asm_writer = _ListWriter(asm_dir, split=FILE_SIZE)
    for key, obj in asm_objects(namespaces, istio_config):
        asm_writer.add(key, obj)
    asm_writer.close()

    (dp_dir / "version.json").write_bytes(orjson.dumps(_version("v1.30.4-aliyun.1")))
    (asm_dir / "version.json").write_bytes(orjson.dumps(_version("v1.30.1-aliyun.1")))
    manifest = {"format": "asm-audit-snapshot", "format_version": 1, "tool_version": "bench",
                "collected_at": "2026-11-20T09:30:00Z",
                "clusters": [{"name": DATA_PLANE, "role": "data-plane", "dir": DATA_PLANE, "cluster_id": CLUSTER_ID,
                              "complete": True},
                             {"name": "asm", "role": "asm", "dir": "asm", "complete": True}],
                "asm_openapi": {"DescribeServiceMeshDetail": {"ServiceMesh": {"ServiceMeshInfo": {
                    "Version": ASM_TAG}}},
                    "DescribeMeshMultiClusterNetwork": {"MultiClusterNetworks": {
                        CLUSTER_ID: {"Network": "network-1", "EnableGateway": True,
                                     "GatewayName": "asm-cross-network"}}}}}
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"pods": written, "workloads": len(workloads), "namespaces": len(namespaces), "objects": counts,
            "bytes": size}


def ensure(pods: int, root: Path, seed: int = 7) -> Path:
    """A cached snapshot for (pods, seed) under root; generated once."""
    # v4: ASM gateway Deployments marked; v5: istiod's template opts out of injection, as its chart writes it
    out = Path(root) / f"v5-pods-{pods}-seed-{seed}"
    done = out / ".complete"
    if not done.exists():
        generate(pods, out, seed)
        done.write_text("ok\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    summary = generate(args.pods, args.out, args.seed)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    main()
