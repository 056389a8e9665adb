"""Builders of real-shaped Kubernetes / Istio / ASM objects for tests.

Shapes follow what the API server returns (see ../shared/docs/domain.md): injected pods carry the
istio-proxy container (classic in `containers`, native in `initContainers` with restartPolicy Always),
the `sidecar.istio.io/status` annotation, Istio's labels and env. Every builder returns a plain dict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ISTIO_PROXY_IMAGE = "docker.io/istio/proxyv2:1.22.3"
ASM_PROXY_IMAGE = "registry-cn-hangzhou.ack.aliyuncs.com/acs/proxyv2:v1.24.6.62-g5c7e1f0b-aliyun"
T0 = "2026-11-10T08:00:00Z"


def _uid(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _hash(name: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = int(hashlib.md5(name.encode()).hexdigest(), 16)
    return "".join(alphabet[(n >> (5 * i)) % len(alphabet)] for i in range(9))[:9]


def meta(name: str, namespace: str | None = None, labels: dict | None = None,
         annotations: dict | None = None, created: str = T0, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "uid": _uid(namespace or "", name), "resourceVersion": "1000",
                         "creationTimestamp": created}
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    m.update(extra)
    return m


def namespace(name: str, labels: dict | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name, labels=labels),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def proxy_container(kind: str = "istio", *, native: bool = False, xds_agent: str | None = "true",
                    gateway: bool = False, image: str | None = None, cluster_id: str = "c1",
                    extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The istio-proxy container as the injector writes it; kind 'istio' or 'asm'."""
    env = [
        {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
        {"name": "CA_ADDR", "value": "istiod.istio-system.svc:15012" if kind == "istio"
         else "istiod-1-24-6.istio-system.svc:15012"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "ISTIO_META_CLUSTER_ID", "value": cluster_id},
    ]
    proxy_config: dict[str, Any] = {}
    if xds_agent is not None:
        env.append({"name": "PROXY_CONFIG_XDS_AGENT", "value": xds_agent})
        proxy_config["proxyMetadata"] = {"PROXY_CONFIG_XDS_AGENT": xds_agent}
    env.append({"name": "PROXY_CONFIG", "value": json.dumps(proxy_config)})
    if kind == "asm":
        env += [{"name": "ASM_ID", "value": "c0ffee00deadbeef"}, {"name": "ASM_APP_VERSION", "value": "v1"}]
    for k, v in (extra_env or {}).items():
        env.append({"name": k, "value": v})
    c: dict[str, Any] = {
        "name": "istio-proxy",
        "image": image or (ISTIO_PROXY_IMAGE if kind == "istio" else ASM_PROXY_IMAGE),
        "args": ["proxy", "router" if gateway else "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "env": env,
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    }
    if native:
        c["restartPolicy"] = "Always"
    return c


def pod(name: str, namespace: str = "shop", *, proxy: str | None = "istio", native: bool = False,
        xds_agent: str | None = "true", owner: tuple[str, str] | None = None, labels: dict | None = None,
        annotations: dict | None = None, ready: bool = True, phase: str = "Running", restarts: int = 0,
        gateway: bool = False, image: str | None = None, created: str = T0, grace: int | None = 30,
        prestop: bool = False, ports: list[dict] | None = None, proxy_env: dict[str, str] | None = None,
        cluster_id: str = "c1") -> dict[str, Any]:
    """A pod; proxy None/'istio'/'asm'. owner=(kind, name), e.g. ('ReplicaSet', 'cart-5d8f7c9b6')."""
    labels = dict(labels or {"app": name.split("-")[0]})
    annotations = dict(annotations or {})
    app: dict[str, Any] = {"name": "app", "image": f"registry.example.com/{namespace}/{name}:1.0",
                           "ports": ports or [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                           "resources": {"requests": {"cpu": "50m"}}}
    if prestop:
        app["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "10"]}}}
    spec: dict[str, Any] = {"containers": [] if gateway else [app], "serviceAccountName": "default",
                            "nodeName": "node-1", "restartPolicy": "Always"}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if proxy:
        container = proxy_container(proxy, native=native, xds_agent=xds_agent, gateway=gateway, image=image,
                                    cluster_id=cluster_id, extra_env=proxy_env)
        if not gateway:
            # As the injector writes them (istio/istio@1.24.6 pkg/kube/inject/testdata/inject/hello.yaml.injected,
            # native-sidecar.yaml.injected; @1.30.3 alike): the revision of the injecting istiod both in the
            # istio.io/rev annotation (from 1.18) and in sidecar.istio.io/status (compact JSON); ASM's injector is
            # istiod-1-24-6's (CA_ADDR above), revision 1-24-6.
            revision = "default" if proxy == "istio" else "1-24-6"
            labels.setdefault("security.istio.io/tlsMode", "istio")
            labels.setdefault("service.istio.io/canonical-name", labels.get("app", name))
            labels.setdefault("service.istio.io/canonical-revision", labels.get("version", "latest"))
            annotations.setdefault("istio.io/rev", revision)
            annotations.setdefault("kubectl.kubernetes.io/default-container", "app")
            annotations.setdefault("kubectl.kubernetes.io/default-logs-container", "app")
            annotations.setdefault("prometheus.io/path", "/stats/prometheus")
            annotations.setdefault("prometheus.io/port", "15020")
            annotations.setdefault("prometheus.io/scrape", "true")
            annotations.setdefault("sidecar.istio.io/status", json.dumps({
                "initContainers": ["istio-init", "istio-proxy"] if native else ["istio-init"],
                "containers": None if native else ["istio-proxy"],
                "volumes": ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                            "istio-podinfo", "istio-token", "istiod-ca-cert"],
                "imagePullSecrets": None, "revision": revision}, separators=(",", ":")))
        elif proxy == "istio":
            # A rendered (istioctl/IstioOperator) gateway's pod: the chart's labels and annotations, never injected
            # (manifests/charts/gateways/istio-ingress/templates/deployment.yaml @1.24.6, 1.30.3).
            labels.setdefault("sidecar.istio.io/inject", "false")
            labels.setdefault("service.istio.io/canonical-revision", "latest")
            annotations.setdefault("istio.io/rev", "default")
            annotations.setdefault("sidecar.istio.io/inject", "false")
        # The injector's redirection: `istio-init` (istio-iptables) first among the init containers of a sidecar pod
        # injected without the CNI plugin, classic or native; a gateway's pods (the gateway template) have none
        # (istio/istio@1.24.6 pkg/kube/inject/testdata/inject/hello.yaml.injected, native-sidecar.yaml.injected;
        # hello.yaml.cni.injected has istio-validation instead).
        inits = [] if gateway else [istio_init_container(container["image"])]
        if native:
            spec["initContainers"] = [*inits, container]
        else:
            spec["containers"].append(container)
            if inits:
                spec["initContainers"] = inits
    owner_refs = None
    if owner:
        okind, oname = owner
        owner_refs = [{"apiVersion": "batch/v1" if okind == "Job" else "apps/v1", "kind": okind, "name": oname,
                       "uid": _uid(namespace, oname), "controller": True, "blockOwnerDeletion": True}]
        if okind == "ReplicaSet":
            labels.setdefault("pod-template-hash", oname.rsplit("-", 1)[-1])
    m = meta(name, namespace, labels, annotations, created)
    if owner_refs:
        m["ownerReferences"] = owner_refs
    statuses = [{"name": c["name"], "ready": ready, "restartCount": restarts, "image": c["image"],
                 "started": True, "state": {"running": {"startedAt": created}}} for c in spec["containers"]]
    init_statuses = [{"name": c["name"], "ready": c.get("restartPolicy") == "Always" and ready, "restartCount": 0,
                      "image": c["image"], "started": c.get("restartPolicy") == "Always",
                      "state": {"running": {"startedAt": created}} if c.get("restartPolicy") == "Always" else
                      {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": created,
                                      "finishedAt": created}}}
                     for c in spec.get("initContainers") or ()]
    status: dict[str, Any] = {
        "phase": phase, "podIP": "10.0.0.10", "startTime": created, "qosClass": "Burstable",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"},
                       {"type": "ContainersReady", "status": "True" if ready else "False"}],
        "containerStatuses": statuses,
    }
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status}


def istio_init_container(image: str) -> dict[str, Any]:
    """`istio-init` as the sidecar injection template writes it without the CNI plugin (istio-iptables redirecting to
    15001/15006; istio/istio@1.24.6 pkg/kube/inject/testdata/inject/hello.yaml.injected)."""
    return {"name": "istio-init", "image": image,
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                     "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": ["NET_ADMIN", "NET_RAW"],
                                                                                    "drop": ["ALL"]},
                                "privileged": False, "readOnlyRootFilesystem": False, "runAsGroup": 0,
                                "runAsNonRoot": False, "runAsUser": 0}}


def deployment(name: str, namespace: str = "shop", *, replicas: int = 2, template_labels: dict | None = None,
               template_annotations: dict | None = None, containers: list[dict] | None = None,
               labels: dict | None = None, grace: int | None = 30) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Deployment and its current ReplicaSet (name-<pod-template-hash>)."""
    tl = dict(template_labels or {"app": name})
    h = _hash(name)
    template = {"metadata": {"labels": tl, **({"annotations": template_annotations} if template_annotations else {})},
                "spec": {"containers": containers or [{"name": "app", "image": f"registry.example.com/{name}:1.0"}]}}
    if grace is not None:
        template["spec"]["terminationGracePeriodSeconds"] = grace
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, namespace, labels or {"app": name}),
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": tl.get("app", name)}},
                    "template": template},
           # As the Deployment controller writes it for a finished rollout (apps/v1 DeploymentStatus).
           "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                      "updatedReplicas": replicas, "availableReplicas": replicas}}
    rs_meta = meta(f"{name}-{h}", namespace, {**tl, "pod-template-hash": h})
    rs_meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                   "uid": dep["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
          "spec": {"replicas": replicas, "template": template}, "status": {"replicas": replicas}}
    return dep, rs


def workload_pods(dep_rs: tuple[dict, dict], count: int, first: int = 0, **pod_kw: Any) -> list[dict[str, Any]]:
    """`count` pods owned by the ReplicaSet of deployment(); use `first` to add more to the same one."""
    _, rs = dep_rs
    rs_name = rs["metadata"]["name"]
    ns = rs["metadata"]["namespace"]
    labels = dict(rs["metadata"]["labels"])
    labels.update(pod_kw.pop("labels", {}) or {})
    return [pod(f"{rs_name}-{_hash(rs_name + str(i))[:5]}", ns, owner=("ReplicaSet", rs_name), labels=labels,
                **pod_kw) for i in range(first, first + count)]


def istiod(revision: str = "default", version: str = "1.22.3", namespace: str = "istio-system") -> dict[str, Any]:
    name = "istiod" if revision == "default" else f"istiod-{revision}"
    labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": revision, "operator.istio.io/component": "Pilot",
              "app.kubernetes.io/version": version}
    # istio-discovery templates/deployment.yaml (@1.10.0..1.30.3): istiod's pod template opts out of injection. Its
    # labels, selector and mesh-config volume as istio/istio@1.24.6 (and @1.30.3) writes them: `istio: pilot` for the
    # default revision (what Service istiod selects), `istio: istiod` and a selector by app and istio.io/rev for
    # another.
    template_labels = {"app": "istiod", "istio.io/rev": revision,
                       "install.operator.istio.io/owning-resource": "unknown",
                       "sidecar.istio.io/inject": "false", "operator.istio.io/component": "Pilot",
                       "istio": "pilot" if revision == "default" else "istiod", "istio.io/dataplane-mode": "none",
                       "app.kubernetes.io/name": "istiod"}
    dep, _ = deployment(name, namespace, replicas=1, template_labels=template_labels,
                        template_annotations={"prometheus.io/port": "15014", "prometheus.io/scrape": "true",
                                              "sidecar.istio.io/inject": "false"},
                        containers=[{"name": "discovery", "image": f"docker.io/istio/pilot:{version}",
                                     "args": ["discovery", "--monitoringAddr=:15014"]}], labels=labels)
    dep["spec"]["selector"] = {"matchLabels": {"istio": "pilot"} if revision == "default" else
                               {"app": "istiod", "istio.io/rev": revision}}
    dep["spec"]["template"]["spec"]["volumes"] = [
        {"name": "config-volume", "configMap": {"name": "istio" if revision == "default" else f"istio-{revision}"}}]
    return dep


def configmap(name: str, namespace: str, data: dict[str, str], managed_times: list[str] | None = None,
              labels: dict | None = None) -> dict[str, Any]:
    m = meta(name, namespace, labels)
    if managed_times:
        m["managedFields"] = [{"manager": "pilot-discovery" if i == 0 else "asm-controller",
                               "operation": "Update", "apiVersion": "v1", "time": t, "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:data": {"f:mesh": {}}}} for i, t in enumerate(managed_times)]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data}


def mesh_configmap(xds_agent: str | None = "true", revision: str = "default",
                   changed: list[str] | None = None) -> dict[str, Any]:
    metadata = (f'  proxyMetadata:\n    PROXY_CONFIG_XDS_AGENT: "{xds_agent}"\n' if xds_agent is not None else "")
    mesh = ("defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n" + metadata
            + "enablePrometheusMerge: true\nrootNamespace: istio-system\ntrustDomain: cluster.local\n")
    name = "istio" if revision == "default" else f"istio-{revision}"
    return configmap(name, "istio-system", {"mesh": mesh, "meshNetworks": "networks: {}"},
                     managed_times=changed or ["2026-11-01T10:00:00Z", "2026-11-12T09:00:00Z"],
                     labels={"istio.io/rev": revision, "operator.istio.io/component": "Pilot"})


def migration_cr(state: str = "Init", desired: str | None = None, message: str = "", spec_retry: int = 0,
                 status_retry: int | None = None, option: str | None = None,
                 api_version: str = "istio.alibabacloud.com/v1beta1") -> dict[str, Any]:
    spec: dict[str, Any] = {"desiredState": desired or state, "retryCounter": spec_retry}
    if option:
        spec["advancedOptions"] = {option: True}
    return {"apiVersion": api_version, "kind": "ASMMigrateFromIstio", "metadata": meta("default"),
            "spec": spec, "status": {"state": state, "message": message,
                                     "retryCounter": spec_retry if status_retry is None else status_retry}}


def service(name: str, namespace: str, *, labels: dict | None = None, annotations: dict | None = None,
            ports: list[dict] | None = None, cluster_ip: str = "10.96.0.10", type_: str = "ClusterIP") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, namespace, labels, annotations),
            "spec": {"type": type_, "clusterIP": cluster_ip, "selector": {"app": name},
                     "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}


def version_info(git_version: str = "v1.30.4-aliyun.1") -> dict[str, Any]:
    import re

    m = re.match(r"v?(\d+)\.(\d+)", git_version)
    major, minor = (m.group(1), m.group(2)) if m else ("", "")
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "abc",
            "gitTreeState": "clean", "buildDate": "2026-09-01T00:00:00Z", "goVersion": "go1.22.5",
            "compiler": "gc", "platform": "linux/amd64"}


def write_snapshot(root: Any, clusters: dict[str, list[dict]], versions: dict[str, dict] | None = None,
                   manifest: dict | None = None) -> Any:
    """Write {cluster: objects} as a snapshot directory (one List file per cluster)."""
    from pathlib import Path

    import yaml

    root = Path(root)
    for name, objects in clusters.items():
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "objects.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects},
                                                       sort_keys=False))
        if versions and name in versions:
            (d / "version.json").write_text(json.dumps(versions[name]))
    if manifest is not None:
        (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def serve_cluster_dir(server: Any, directory: Any) -> Any:
    """Serve one cluster directory of a snapshot (its objects and version.json) from a FakeApiServer."""
    from pathlib import Path

    import yaml

    directory = Path(directory)
    for path in sorted(directory.rglob("*")):
        if path.name == "version.json":
            server.set_version(json.loads(path.read_text())["gitVersion"])
        elif path.suffix in (".yaml", ".yml", ".json") and path.name != "manifest.json":
            docs = [json.loads(path.read_text())] if path.suffix == ".json" else list(
                yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
            server.load(d for d in docs if d)
    return server


# ---------------------------------------------------------------- gateways, Istio API objects, webhooks, residue
def gateway_deployment(name: str, namespace: str = "istio-system", *, istio_label: str | None = None,
                       asm: bool = False, gateway_type: str | None = None, labels: dict | None = None,
                       created: str = T0) -> dict[str, Any]:
    """A gateway Deployment as istioctl/Helm (Istio) or the IstioGateway controller (asm=True) writes it."""
    pod_labels = {"app": name, "istio": istio_label or name.removeprefix("istio-")}
    dep_labels = dict(pod_labels)
    annotations = {}
    if asm:
        marks = {"asm.alibabacloud.com/managed-by-asm": "true", "provider": "asm", "istio.io/rev": "1-24-6"}
        if gateway_type:
            marks["asm.alibabacloud.com/gateway-type"] = gateway_type
        pod_labels.update(marks)
        dep_labels.update(marks)
        annotations = {"asm.alibabacloud.com/istio-gateway": f"{namespace}/{name.removeprefix('istio-')}"}
    else:
        dep_labels.update({"operator.istio.io/component": "IngressGateways", "istio.io/rev": "default",
                           "operator.istio.io/managed": "Reconcile", "release": "istio"})
    dep_labels.update(labels or {})
    pod_labels.update({k: v for k, v in (labels or {}).items() if k.startswith("topology.istio.io")})
    template_notes = None
    if not asm:
        # istio/istio@1.24.6 (and @1.30.3) manifests/charts/gateways/istio-ingress/templates/deployment.yaml: the
        # rendered gateway runs its own istio-proxy and opts out of injection (label and annotation), names its
        # revision, and carries the chart's legacy labels.
        pod_labels.update({"heritage": "Tiller", "release": "istio", "chart": "gateways",
                           "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                           "istio.io/rev": "default", "operator.istio.io/component": "IngressGateways",
                           "sidecar.istio.io/inject": "false"})
        template_notes = {"istio.io/rev": "default", "prometheus.io/path": "/stats/prometheus",
                          "prometheus.io/port": "15020", "prometheus.io/scrape": "true",
                          "sidecar.istio.io/inject": "false"}
    proxy = proxy_container("asm" if asm else "istio", gateway=True, xds_agent=None)
    dep, _ = deployment(name, namespace, replicas=1, template_labels=pod_labels, containers=[proxy],
                        labels=dep_labels, template_annotations=template_notes)
    dep["metadata"]["creationTimestamp"] = created
    if annotations:
        dep["metadata"]["annotations"] = annotations
    dep["spec"]["selector"] = {"matchLabels": {"app": name, "istio": pod_labels["istio"]}}
    return dep


def gateway_service(name: str, namespace: str = "istio-system", *, selector: dict | None = None,
                    annotations: dict | None = None, labels: dict | None = None, ports: list[int] | None = None,
                    type_: str = "LoadBalancer") -> dict[str, Any]:
    svc = service(name, namespace, labels=labels or {"app": name}, annotations=annotations, type_=type_,
                  ports=[{"name": f"p{p}", "port": p, "targetPort": p, "protocol": "TCP"} for p in ports or [80, 443]])
    svc["spec"]["selector"] = selector or {"app": name, "istio": name.removeprefix("istio-")}
    return svc


def route(*destinations: tuple[str, int | None], mirror: str | None = None, port: int = 80) -> dict[str, Any]:
    """One http/tcp/tls rule: route to (host, weight) pairs; weight None leaves the field out."""
    dests = []
    for host, weight in destinations:
        d: dict[str, Any] = {"destination": {"host": host, "port": {"number": port}}}
        if weight is not None:
            d["weight"] = weight
        dests.append(d)
    rule: dict[str, Any] = {"match": [{"gateways": ["mesh"], "port": port}], "route": dests}
    if mirror:
        rule["mirror"] = {"host": mirror}
    return rule


def virtualservice(name: str, namespace: str = "shop", *, hosts: list[str] | None = None,
                   http: list[dict] | None = None, tcp: list[dict] | None = None, tls: list[dict] | None = None,
                   gateways: list[str] | None = None, uid_salt: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"hosts": hosts or [f"{name}.example.com"]}
    if gateways:
        spec["gateways"] = gateways
    for key, value in (("http", http), ("tcp", tcp), ("tls", tls)):
        if value is not None:
            spec[key] = value
    return istio_object("VirtualService", name, namespace, spec, uid_salt=uid_salt)


_ISTIO_API_VERSIONS = {
    "VirtualService": "networking.istio.io/v1", "DestinationRule": "networking.istio.io/v1",
    "Gateway": "networking.istio.io/v1", "ServiceEntry": "networking.istio.io/v1",
    "Sidecar": "networking.istio.io/v1", "EnvoyFilter": "networking.istio.io/v1alpha3",
    "AuthorizationPolicy": "security.istio.io/v1", "PeerAuthentication": "security.istio.io/v1",
    "RequestAuthentication": "security.istio.io/v1", "Telemetry": "telemetry.istio.io/v1",
    "WasmPlugin": "extensions.istio.io/v1alpha1", "TrafficExtension": "extensions.istio.io/v1alpha1",
    "ProxyConfig": "networking.istio.io/v1beta1",  # served as v1beta1 only (manifests/charts/base crd-all @1.22.3)
}


def istio_object(kind: str, name: str, namespace: str, spec: dict[str, Any], *, labels: dict | None = None,
                 uid_salt: str = "", resource_version: str = "1000", generation: int = 1) -> dict[str, Any]:
    """An Istio API object as the API server returns it (server-set metadata included)."""
    m = meta(name, namespace, labels)
    m["uid"] = _uid(kind, namespace, name, uid_salt)
    m["resourceVersion"] = resource_version
    m["generation"] = generation
    return {"apiVersion": _ISTIO_API_VERSIONS[kind], "kind": kind, "metadata": m, "spec": spec}


def istio_gateway_cr(name: str, gateway_type: str, *, cluster_ids: list[str] | None = None,
                     namespace: str = "istio-system", created: str = T0, overrides: dict | None = None,
                     service_annotations: dict | None = None, status: dict | None = None) -> dict[str, Any]:
    """ASM's IstioGateway (istio.alibabacloud.com) on the ASM control plane."""
    spec: dict[str, Any] = {"gatewayType": gateway_type, "replicaCount": 1, "serviceType": "LoadBalancer",
                            "ports": [{"name": "http-0", "port": 80, "protocol": "TCP", "targetPort": 80}]}
    if cluster_ids is not None:
        spec["clusterIds"] = cluster_ids
    if overrides:
        spec["overrides"] = overrides
    if service_annotations:
        spec["serviceAnnotations"] = service_annotations
    return {"apiVersion": "istio.alibabacloud.com/v1beta1", "kind": "IstioGateway",
            "metadata": meta(name, namespace, annotations={"asm.alibabacloud.com/managed-by-asm": "true"},
                             created=created),
            "spec": spec, "status": status or {"Status": "Active"}}


def injector_hooks(service_name: str = "istiod", revision: str = "default", *, selects: str | None = None,
                   failure_policy: str = "Fail", legacy: bool | None = None) -> list[dict[str, Any]]:
    """The webhooks of Istio's injector as the chart writes them (istio/istio@1.24.6 and @1.30.3
    manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml, revision-tags.yaml /
    revision-tags-mwc.yaml): `rev.namespace.` (namespace istio.io/rev=<selects>, no istio-injection) and `rev.object.`
    (pod istio.io/rev=<selects> in a namespace with neither label), both skipping pods with sidecar.istio.io/inject
    "false"; for the default revision (or tag "default") also `namespace.` (istio-injection=enabled) and `object.` (pod
    sidecar.istio.io/inject=true). Each calls istio-system/<service_name> at /inject, port 443, on pod CREATE."""
    selects = selects or revision
    legacy = selects == "default" if legacy is None else legacy

    def expr(key: str, op: str, *values: str) -> dict[str, Any]:
        return {"key": key, "operator": op, **({"values": list(values)} if values else {})}

    def hook(prefix: str, namespace_exprs: list[dict], object_exprs: list[dict]) -> dict[str, Any]:
        return {"name": f"{prefix}sidecar-injector.istio.io", "admissionReviewVersions": ["v1"],
                "clientConfig": {"service": {"name": service_name, "namespace": "istio-system", "path": "/inject",
                                             "port": 443}},
                "failurePolicy": failure_policy, "reinvocationPolicy": "Never", "sideEffects": "None",
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "namespaceSelector": {"matchExpressions": namespace_exprs},
                "objectSelector": {"matchExpressions": object_exprs}}

    not_disabled = expr("sidecar.istio.io/inject", "NotIn", "false")
    hooks = [hook("rev.namespace.", [expr("istio.io/rev", "In", selects), expr("istio-injection", "DoesNotExist")],
                  [not_disabled]),
             hook("rev.object.", [expr("istio.io/rev", "DoesNotExist"), expr("istio-injection", "DoesNotExist")],
                  [not_disabled, expr("istio.io/rev", "In", selects)])]
    if legacy:
        hooks += [hook("namespace.", [expr("istio-injection", "In", "enabled")], [not_disabled]),
                  hook("object.", [expr("istio-injection", "DoesNotExist"), expr("istio.io/rev", "DoesNotExist")],
                       [expr("sidecar.istio.io/inject", "In", "true"), expr("istio.io/rev", "DoesNotExist")])]
    return hooks


def webhook_config(name: str, *, mutating: bool = True, service_name: str = "istiod", revision: str = "default",
                   labels: dict | None = None, annotations: dict | None = None,
                   failure_policy: str = "Fail") -> dict[str, Any]:
    """An injector (mutating) or validator webhook configuration calling istio-system/<service_name>.

    The injector's webhooks: injector_hooks. The validator's one webhook as istio/istio@1.24.6 and @1.30.3
    manifests/charts/istio-control/istio-discovery/templates/validatingwebhookconfiguration.yaml writes it:
    rev.validation.istio.io, /validate (no port: 443), CREATE/UPDATE of Istio's API groups, objectSelector
    istio.io/rev In [<revision>] (no namespaceSelector)."""
    if mutating:
        hooks = injector_hooks(service_name, revision, failure_policy=failure_policy)
    else:
        hooks = [{
            "name": "rev.validation.istio.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": failure_policy,
            "clientConfig": {"service": {"name": service_name, "namespace": "istio-system", "path": "/validate"}},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["security.istio.io", "networking.istio.io",
                                                                         "telemetry.istio.io", "extensions.istio.io"],
                       "apiVersions": ["*"], "resources": ["*"]}],
            "objectSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": [revision]}]}}]
    kind = "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": meta(name, labels={"istio.io/rev": revision, **(labels or {})}, annotations=annotations),
            "webhooks": hooks}


ISTIO_INSTALL_LABELS = {"operator.istio.io/component": "Base", "install.operator.istio.io/owning-resource":
                        "installed-state", "release": "istio"}


def crd(name: str, *, labels: dict | None = None, annotations: dict | None = None) -> dict[str, Any]:
    plural, _, group = name.partition(".")
    kind = plural[:-1].capitalize() if plural.endswith("s") else plural
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta(name, labels=labels, annotations=annotations),
            "spec": {"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced",
                     "versions": [{"name": "v1", "served": True, "storage": True}]}}


def helm_installed_istio(version: str = "1.24.6") -> list[dict[str, Any]]:
    """`helm install istio-base istio/base -n istio-system; helm install istiod istio/istiod -n istio-system` as the
    charts and Helm write them: istiod's Deployment (release istiod) and one CRD (release istio-base).

    istio/istio@1.24.6 manifests/charts/istio-control/istio-discovery/templates/deployment.yaml (same labels on
    service.yaml, configmap.yaml, mutatingwebhook.yaml; @1.22.8, 1.26.8, 1.30.3 alike, the istio.labels include from
    1.24): `operator.istio.io/component: "Pilot"`, `install.operator.istio.io/owning-resource: unknown`,
    `release: istiod`, plus istio.labels (templates/zzz_profile.yaml: app.kubernetes.io/managed-by/instance/part-of/
    version, helm.sh/chart). The base chart's CRDs (base/templates/crds.yaml @1.24.6, 1.30.3) replace their labels by
    istio.labels (no operator.istio.io/component) and keep `helm.sh/resource-policy: keep` (files/crd-all.gen.yaml).
    Helm 3 annotates every object of a release meta.helm.sh/release-name/-namespace and labels it
    app.kubernetes.io/managed-by: Helm (setMetadataVisitor, helm/helm@v3.21.4:pkg/action/validate.go)."""
    def helm(release: str, chart: str) -> dict[str, str]:
        return {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": release,
                "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                "helm.sh/chart": f"{chart}-{version}"}

    control_plane = istiod(version=version)
    control_plane["metadata"]["labels"] = {
        "app": "istiod", "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "unknown",
        "operator.istio.io/component": "Pilot", "istio": "pilot", "release": "istiod",
        "app.kubernetes.io/name": "istiod", **helm("istiod", "istiod")}
    control_plane["metadata"]["annotations"] = {"meta.helm.sh/release-name": "istiod",
                                                "meta.helm.sh/release-namespace": "istio-system"}
    base_crd = crd("virtualservices.networking.istio.io", labels=helm("istio-base", "base"),
                   annotations={"helm.sh/resource-policy": "keep", "meta.helm.sh/release-name": "istio-base",
                                "meta.helm.sh/release-namespace": "istio-system"})
    return [control_plane, base_crd]


def cluster_rbac(name: str, *, binding: bool = False, labels: dict | None = None) -> dict[str, Any]:
    kind = "ClusterRoleBinding" if binding else "ClusterRole"
    obj: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                           "metadata": meta(name, labels=labels)}
    if binding:
        obj["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    else:
        obj["rules"] = [{"apiGroups": ["networking.istio.io"], "resources": ["*"], "verbs": ["get", "list"]}]
    return obj


def admission_policy(name: str, *, binding: bool = False, labels: dict | None = None) -> dict[str, Any]:
    kind = "ValidatingAdmissionPolicyBinding" if binding else "ValidatingAdmissionPolicy"
    spec = ({"policyName": name.replace("-binding", ""), "validationActions": ["Deny"]} if binding else
            {"failurePolicy": "Fail", "validations": [{"expression": "object.kind != 'EnvoyFilter'"}]})
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": meta(name, labels=labels or {"release": "istio", "istio": "istiod"}), "spec": spec}


def istio_operator_cr(name: str = "installed-state", namespace: str = "istio-system") -> dict[str, Any]:
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
            "metadata": meta(name, namespace, finalizers=["istio-finalizer.install.istio.io"]),
            "spec": {"profile": "default", "tag": "1.22.3"}}


def istio_operator_deployment(revision: str = "", version: str = "1.22.3",
                               namespace: str = "istio-operator") -> dict[str, Any]:
    """The in-cluster istio-operator as Istio's chart renders it (istio/istio manifests/charts/istio-operator/templates/
    deployment.yaml, what `istioctl operator init [--revision R]` installs): named istio-operator[-<revision>], no
    labels of its own, its pods labelled name=istio-operator, one container running `operator server`."""
    name = f"istio-operator-{revision}" if revision else "istio-operator"
    template = {"metadata": {"labels": {"name": "istio-operator"}},
                "spec": {"serviceAccountName": name, "containers": [{
                    "name": "istio-operator", "image": f"docker.io/istio/operator:{version}",
                    "command": ["operator", "server"],
                    "env": [{"name": "WATCH_NAMESPACE", "value": "istio-system"},
                            {"name": "LEADER_ELECTION_NAMESPACE", "value": namespace},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "OPERATOR_NAME", "value": namespace},
                            {"name": "WAIT_FOR_RESOURCES_TIMEOUT", "value": "300s"},
                            {"name": "REVISION", "value": revision}]}]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, namespace),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"name": "istio-operator"}}, "template": template},
            "status": {"replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}


# istio-sidecars-remaining reads WorkloadEntries and WorkloadGroups for Istio's proxies on VMs: a hand-made snapshot
# without them says "not collected" and the check is UNKNOWN (tests/checks/test_vm_proxies.py). Recorded as read with
# none found, for the tests whose pods-only snapshot stands for a cluster without VMs.
NO_VMS = {"workloadentries.networking.istio.io": "ok", "workloadgroups.networking.istio.io": "ok"}


def read_none_of_the_other_workload_kinds() -> dict[str, list]:
    """objects_by_kind entries for a hand-built ClusterInventory: CronJobs, ReplicationControllers, OpenKruise's
    CloneSets and Advanced StatefulSets/DaemonSets read and none found (istio-sidecars-remaining and asm-proxies-ready
    say UNKNOWN AA1238 / AA1330 of workload kinds not read: a workload of theirs running no pod would be unseen)."""
    from auditor import kinds as K

    return {kind.key: [] for kind in (K.CRONJOB, K.REPLICATIONCONTROLLER, K.CLONESET, *K.ADVANCED_KINDS)}


def no_vms_manifest(*clusters: str) -> dict[str, Any]:
    """A manifest of data-plane clusters (directories named after them) whose WorkloadEntries and WorkloadGroups were
    read and none found; every other kind absent from the snapshot stays not collected."""
    return {"clusters": [{"name": c, "role": "data-plane", "dir": c, "kinds": dict(NO_VMS)} for c in clusters]}


def only_checks(*check_ids: str) -> dict[str, Any]:
    """Config data that disables every registered check except these, so other checks cannot decide a verdict; nor
    the snapshot's age (a copy of the demo is weeks old by nature: AA0012, tests/test_evidence_age.py)."""
    from auditor.registry import load_registry

    return {"checks": {"disable": sorted(set(load_registry().checks) - set(check_ids))}, "snapshot": {"max_age": None}}


# ---------------------------------------------------------------- Gateway API (gateway.networking.k8s.io)
# Shapes from istio/istio: GatewayClasses as istiod creates them (pilot/pkg/config/kube/gatewaycommon/
# gatewayclass.go + classinfo.go: no labels, controllerName and description only); the Deployment/Service
# of a Gateway from manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml (1.17+: named
# <gateway>-<class>, labels gateway.istio.io/managed + gateway.networking.k8s.io/gateway-name, owned by the
# Gateway); routes and ReferenceGrants as in pilot/pkg/config/kube/gateway/testdata/*.yaml.
GWAPI = "gateway.networking.k8s.io"
ISTIO_GATEWAY_CLASSES = {"istio": ("istio.io/gateway-controller", "The default Istio GatewayClass"),
                         "istio-waypoint": ("istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
                         "istio-remote": ("istio.io/unmanaged-gateway",
                                          "Remote to this cluster. Does not deploy or affect configuration."),
                         # 1.29 on (classinfo.go @1.30.3: AgentgatewayClasses, with PILOT_ENABLE_AGENTGATEWAY).
                         "istio-agentgateway": ("istio.io/agentgateway-controller", "Istio with Agentgateway")}


def gateway_class(name: str, controller: str | None = None, *, api_version: str = "v1") -> dict[str, Any]:
    """A GatewayClass; an Istio built-in name gets istiod's controllerName and description."""
    default_controller, description = ISTIO_GATEWAY_CLASSES.get(name, (controller or "", ""))
    spec: dict[str, Any] = {"controllerName": controller or default_controller}
    if description:
        spec["description"] = description
    return {"apiVersion": f"{GWAPI}/{api_version}", "kind": "GatewayClass", "metadata": meta(name), "spec": spec,
            "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}}


def k8s_gateway(name: str, namespace: str, class_name: str = "istio", *, hostname: str = "*.example.com",
                uid_salt: str = "", api_version: str = "v1") -> dict[str, Any]:
    """A Gateway API Gateway (not Istio's networking.istio.io Gateway)."""
    m = meta(name, namespace, generation=1)
    m["uid"] = _uid("k8s-gateway", namespace, name, uid_salt)
    return {"apiVersion": f"{GWAPI}/{api_version}", "kind": "Gateway", "metadata": m,
            "spec": {"gatewayClassName": class_name,
                     "listeners": [{"name": "http", "hostname": hostname, "port": 80, "protocol": "HTTP",
                                    "allowedRoutes": {"namespaces": {"from": "All"}}}]},
            "status": {"conditions": [{"type": "Programmed", "status": "True"}]}}


def k8s_route(kind: str, name: str, namespace: str, parents: list[dict[str, Any]], *, backend: str = "web",
              port: int = 8080, uid_salt: str = "", api_version: str | None = None) -> dict[str, Any]:
    """An HTTPRoute/GRPCRoute/TCPRoute/TLSRoute with parentRefs as given (e.g. {"name": "gw"})."""
    version = api_version or ("v1" if kind in ("HTTPRoute", "GRPCRoute") else "v1alpha2")
    m = meta(name, namespace, generation=1)
    m["uid"] = _uid(kind, namespace, name, uid_salt)
    rule: dict[str, Any] = {"backendRefs": [{"name": backend, "port": port}]}
    if kind == "HTTPRoute":
        rule["matches"] = [{"path": {"type": "PathPrefix", "value": "/"}}]
    return {"apiVersion": f"{GWAPI}/{version}", "kind": kind, "metadata": m,
            "spec": {"parentRefs": parents, "rules": [rule]}}


def reference_grant(name: str, namespace: str, from_kind: str, from_namespace: str,
                    uid_salt: str = "") -> dict[str, Any]:
    m = meta(name, namespace, generation=1)
    m["uid"] = _uid("ReferenceGrant", namespace, name, uid_salt)
    return {"apiVersion": f"{GWAPI}/v1beta1", "kind": "ReferenceGrant", "metadata": m,
            "spec": {"from": [{"group": GWAPI, "kind": from_kind, "namespace": from_namespace}],
                     "to": [{"group": "", "kind": "Service"}]}}


def gateway_api_deployment(gateway: dict[str, Any], *, asm: bool = False,
                           legacy: bool = False) -> list[dict[str, Any]]:
    """The Deployment, its ReplicaSet and the Service istiod deploys for a Gateway (kube-gateway.yaml).

    legacy=True: Istio 1.16's shape (pilot/pkg/config/kube/gateway/templates/): named after the Gateway,
    pods labelled istio.io/gateway-name, owner apiVersion v1alpha2, injected (image auto).
    """
    gw_meta = gateway["metadata"]
    gw_name, namespace = gw_meta["name"], gw_meta["namespace"]
    class_name = gateway["spec"]["gatewayClassName"]
    name = gw_name if legacy else f"{gw_name}-{class_name}"
    name_label = "istio.io/gateway-name" if legacy else "gateway.networking.k8s.io/gateway-name"
    labels = {"gateway.istio.io/managed": "istio.io-gateway-controller"}
    if not legacy:
        labels.update({"gateway.networking.k8s.io/gateway-name": gw_name,
                       "gateway.networking.k8s.io/gateway-class-name": class_name})
    pod_labels = {**labels, name_label: gw_name, "service.istio.io/canonical-name": name,
                  "sidecar.istio.io/inject": "true" if legacy else "false"}
    proxy = proxy_container("asm" if asm else "istio", gateway=True, xds_agent=None,
                            image="auto" if legacy else None)
    dep, rs = deployment(name, namespace, replicas=1, template_labels=pod_labels, containers=[proxy],
                         labels=labels)
    dep["spec"]["selector"] = {"matchLabels": {name_label: gw_name}}
    owner = [{"apiVersion": f"{GWAPI}/{'v1alpha2' if legacy else 'v1'}", "kind": "Gateway", "name": gw_name,
              "uid": gw_meta["uid"]}]
    dep["metadata"]["ownerReferences"] = owner
    svc = gateway_service(name, namespace, selector={name_label: gw_name}, labels=labels, ports=[15021, 80])
    svc["metadata"]["ownerReferences"] = owner
    return [dep, rs, svc]


def job_pod(name: str, namespace: str, job: str, *, app_finished: bool = True, native: bool = False,
            **pod_kw: Any) -> dict[str, Any]:
    """A Job's pod. app_finished: the app container exited 0; with a classic istio-proxy (not native) the pod
    stays Running, not Ready, until someone ends the proxy (Istio's known Job limitation: the classic
    sidecar does not exit when the app does; native sidecars are ended by the kubelet)."""
    p = pod(name, namespace, owner=("Job", job), native=native, labels={"job-name": job}, **pod_kw)
    p["spec"]["restartPolicy"] = "Never"
    if app_finished:
        for cs in p["status"]["containerStatuses"]:
            if cs["name"] != "istio-proxy":
                cs.update({"ready": False, "started": False, "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": T0, "finishedAt": "2026-11-10T08:05:00Z"}}})
        p["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                                     {"type": "ContainersReady", "status": "False"}]
        if native:  # the kubelet ends a native sidecar once the app containers are done: the pod Succeeds
            p["status"]["phase"] = "Succeeded"
    return p
