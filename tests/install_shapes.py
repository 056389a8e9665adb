"""Real install shapes: the objects each way of installing Istio (and ASM joining) puts into a cluster.

Written by hand from Istio's own release artifacts in github:istio/istio (read at the tags named on each
builder; see tests/corpus/README.md for the list), not from the demo: field names, labels, annotations,
env, args and images as the installers and the injector render them. Every builder returns plain dicts
shaped as `kubectl get -o yaml` returns them, plus what a mesh engineer knows about them (`Shape`): which
workloads run an Istio sidecar and which Deployments are Istio gateways. Tests judge the auditor by those
facts, never by its own helpers.

Sources (path@tag in istio/istio):
- ISTIOD: manifests/charts/istio-control/istio-discovery/templates/{deployment,service,configmap,
  mutatingwebhook,revision-tags}.yaml @1.10.6, 1.18.7, 1.24.6, 1.30.3 (labels app/istio/istio.io/rev/
  operator.istio.io/component: Pilot/install.operator.istio.io/owning-resource; Helm adds istio.labels:
  app.kubernetes.io/managed-by etc. from templates/zzz_profile.yaml @1.24.6); configmap-values.yaml @1.26.8, 1.30.3
  (ConfigMap values[-<rev>] from 1.26); revision-tags-{mwc,svc}.yaml @1.28.10 (a tag is also a Service
  istiod-revision-tag-<tag> from 1.28).
- REMOTE: manifests/helm-profiles/remote.yaml and istio-discovery templates/{remote-istiod-service,mutatingwebhook,
  deployment,configmap}.yaml @1.28.10 (profile=remote: no istiod Deployment, no mesh ConfigMap, a selector-less
  ExternalName Service istiod naming the primary's istiod); up to 1.23 manifests/charts/istiod-remote/templates/
  {services,endpoints,mutatingwebhook}.yaml @1.18.7, 1.22.8, 1.23.6 (the Service unlabelled: only what applied the
  chart marks it).
- INJECT: manifests/charts/istio-control/istio-discovery/files/injection-template.yaml @1.10.6, 1.14.6,
  1.18.7, 1.22.8, 1.24.6, 1.30.3 and pkg/kube/inject/testdata/inject/{hello,native-sidecar,grpc-agent,
  gateway}.yaml.injected @1.24.6 (CA_ADDR istiod[-<revision>].istio-system.svc:15012, `proxy sidecar`,
  sidecar.istio.io/status, istio.io/rev label @1.10, annotation from 1.18, native sidecar in initContainers);
  hello.yaml.injected and pilot/pkg/features/pilot.go @1.26.8, 1.27.9, 1.28.10, 1.30.3 (ENABLE_NATIVE_SIDECARS
  "auto" from 1.27: native sidecars unless told otherwise).
- GATEWAY_CHART: manifests/charts/gateway/templates/{deployment,service,_helpers}.yaml, values.yaml
  @1.14.6, 1.24.6, 1.30.3 (app: <release>, istio: <release minus "istio-">, image auto,
  inject.istio.io/templates: gateway) and files/gateway-injection-template.yaml @1.24.6 (`proxy router`).
- IOP_GATEWAY: manifests/charts/gateways/istio-ingress/templates/deployment.yaml @1.22.8 and
  manifests/profiles/{default,demo,minimal}.yaml @1.22.8 (not injected: sidecar.istio.io/inject "false",
  operator.istio.io/component IngressGateways/EgressGateways, env incl. meshConfig proxyMetadata rendered at
  install, no PROXY_CONFIG env).
- GATEWAY_API: manifests/charts/istio-control/istio-discovery/files/kube-gateway.yaml @1.18.7 (label
  istio.io/gateway-name) and @1.24.6 (gateway.networking.k8s.io/gateway-name, gateway.istio.io/managed),
  pilot/pkg/config/kube/gateway/deploymentcontroller.go @1.24.6 (name <gateway>-<class>; waypoints no suffix).
- CNI / AMBIENT: manifests/charts/istio-cni/templates/daemonset.yaml, manifests/charts/ztunnel/templates/
  daemonset.yaml @1.24.6.
- ASM: ../shared/docs/domain.md "What ASM itself puts in a data-plane cluster"; github:aliyun/
  alibabacloud-servicemesh-api alibabacloudservicemesh/v1/{asmmigratefromistio,istiogateway}_types.go.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests import factory as f

ISTIO_NS = "istio-system"
ASM_REVISION = "1-24-6"
ASM_VERSION_TAG = "v1.24.6.62-g5c7e1f0b-aliyun"
ASM_IMAGE_VPC = f"registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/proxyv2:{ASM_VERSION_TAG}"
ASM_IMAGE_PUBLIC = f"registry.cn-hangzhou.aliyuncs.com/acs/proxyv2:{ASM_VERSION_TAG}"
ACK_CLUSTER_ID = "c5a0d8e7b1f2c4a6e9b3d7f0a2c4e6b8d"
T_POD = "2026-11-12T10:00:00Z"   # pods in the shapes started after every mesh-config change below
T_MESH_CHANGE = "2026-11-11T09:00:00Z"

# The volumes the injector lists in sidecar.istio.io/status (hello.yaml.injected @1.24.6).
_STATUS_VOLUMES = ["workload-socket", "credential-socket", "workload-certs", "istio-envoy", "istio-data",
                   "istio-podinfo", "istio-token", "istiod-ca-cert"]


def _minor(version: str) -> int:
    return int(version.split(".")[1])


@dataclass(frozen=True)
class Injector:
    """One Istio control plane as its injector writes pods (injection-template.yaml at `version`)."""

    version: str                 # the Istio release, e.g. "1.22.8"
    revision: str = ""           # "" = default revision; "1-24-2", "canary"...
    hub: str = "docker.io/istio"
    image: str | None = None     # a mirrored proxyv2 image instead of <hub>/proxyv2:<version>
    native: bool | None = None   # ENABLE_NATIVE_SIDECARS / sidecar.istio.io/nativeSidecar; None: the release's default
    cni: bool = False            # istio-cni: istio-validation instead of istio-init
    xds_agent: bool = False      # mesh proxyMetadata had PROXY_CONFIG_XDS_AGENT "true" when pods were made

    @property
    def proxy_image(self) -> str:
        return self.image or f"{self.hub}/proxyv2:{self.version}"

    @property
    def native_sidecar(self) -> bool:
        """Whether the injector puts istio-proxy in initContainers: ENABLE_NATIVE_SIDECARS defaults to "auto" from 1.27
        (pilot/pkg/features/pilot.go @1.27.9; hello.yaml.injected @1.27.9, 1.28.10, 1.30.3 are native), "false" before
        (@1.26.8)."""
        return self.native if self.native is not None else _minor(self.version) >= 27

    @property
    def rev(self) -> str:
        return self.revision or "default"

    @property
    def istiod_name(self) -> str:
        return f"istiod-{self.revision}" if self.revision else "istiod"

    @property
    def ca_addr(self) -> str:
        return f"{self.istiod_name}.{ISTIO_NS}.svc:15012"

    def proxy_metadata(self) -> dict[str, str]:
        return {"PROXY_CONFIG_XDS_AGENT": "true"} if self.xds_agent else {}


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("apiVersion", ""), obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


@dataclass
class Shape:
    """The objects of one install plus what is true of them (written from the sources, not the tool)."""

    name: str
    source: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    asm_objects: list[dict[str, Any]] = field(default_factory=list)   # on the ASM control plane
    istio_sidecar_workloads: set[tuple[str, str]] = field(default_factory=set)   # (namespace, Deployment)
    istio_gateways: set[tuple[str, str]] = field(default_factory=set)  # (namespace, Deployment) any role
    asm_workloads: set[tuple[str, str]] = field(default_factory=set)
    istio_versions: set[str] = field(default_factory=set)   # what istiod Deployments run
    # Istio proxies that are neither app sidecars nor north-south/east-west gateways (ambient waypoints):
    # must not be missed, may be reported as sidecars or as gateways.
    other_istio_proxies: set[tuple[str, str]] = field(default_factory=set)
    # Workloads with no proxy of their own that Istio's CNI agent captured into ztunnel (ambient.istio.io/redirection:
    # enabled): on Istio's data plane all the same, so they block the uninstall and finished gates too.
    ambient_workloads: set[tuple[str, str]] = field(default_factory=set)
    ambient: bool = False
    istiod_elsewhere: bool = False   # a remote cluster: the pods' istiod runs in the primary cluster

    def extend(self, objects: list[dict[str, Any]]) -> None:
        """Add objects; one that is already there (a namespace two parts both create) is kept once."""
        seen = {object_key(o) for o in self.objects}
        self.objects += [o for o in objects if object_key(o) not in seen]

    def add(self, other: Shape) -> Shape:
        """Merge another part of the install into this one."""
        self.extend(other.objects)
        self.asm_objects += other.asm_objects
        self.istio_sidecar_workloads |= other.istio_sidecar_workloads
        self.istio_gateways |= other.istio_gateways
        self.asm_workloads |= other.asm_workloads
        self.istio_versions |= other.istio_versions
        self.other_istio_proxies |= other.other_istio_proxies
        self.ambient_workloads |= other.ambient_workloads
        self.ambient = self.ambient or other.ambient
        self.istiod_elsewhere = self.istiod_elsewhere or other.istiod_elsewhere
        return self


# ---------------------------------------------------------------- pods as the injector writes them
def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def _resource_env(name: str, resource: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"resourceFieldRef": {"divisor": "0", "resource": resource}}}


def sidecar_env(inj: Injector, workload: str, namespace: str, app_containers: list[str],
                *, grpc_agent: bool = False) -> list[dict[str, Any]]:
    """istio-proxy env in the order of injection-template.yaml (hello.yaml.injected @1.24.6)."""
    metadata = inj.proxy_metadata()
    proxy_config = {"proxyMetadata": metadata} if metadata else {}
    env: list[dict[str, Any]] = []
    if grpc_agent:  # grpc-agent template @1.24.6: the agent only, no Envoy
        env += [{"name": "ISTIO_META_GENERATOR", "value": "grpc"},
                {"name": "OUTPUT_CERTS", "value": "/var/lib/istio/data"}]
    if _minor(inj.version) < 14:
        env.append({"name": "JWT_POLICY", "value": "third-party-jwt"})
    env += [
        {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
        {"name": "CA_ADDR", "value": inj.ca_addr},
        _field_env("POD_NAME", "metadata.name"), _field_env("POD_NAMESPACE", "metadata.namespace"),
        _field_env("INSTANCE_IP", "status.podIP"), _field_env("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        _field_env("HOST_IP", "status.hostIP"), _resource_env("ISTIO_CPU_LIMIT", "limits.cpu"),
        {"name": "PROXY_CONFIG", "value": json.dumps(proxy_config) + "\n"},
        {"name": "ISTIO_META_POD_PORTS", "value": '[\n    {"name":"http","containerPort":8080,"protocol":"TCP"}\n]'},
        {"name": "ISTIO_META_APP_CONTAINERS", "value": ",".join(app_containers)},
        # GOMEMLIMIT/GOMAXPROCS from 1.20 on (absent @1.18.7, present @1.20.8)
        *([_resource_env("GOMEMLIMIT", "limits.memory"), _resource_env("GOMAXPROCS", "limits.cpu")]
          if _minor(inj.version) >= 20 else []),
        {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
        _field_env("ISTIO_META_NODE_NAME", "spec.nodeName"),
        {"name": "ISTIO_META_INTERCEPTION_MODE", "value": "REDIRECT"},
        {"name": "ISTIO_META_WORKLOAD_NAME", "value": workload},
        {"name": "ISTIO_META_OWNER",
         "value": f"kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{workload}"},
        {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"},
        {"name": "TRUST_DOMAIN", "value": "cluster.local"},
    ]
    if grpc_agent:
        env += [{"name": "ISTIO_META_DNS_CAPTURE", "value": "false"}, {"name": "DISABLE_ENVOY", "value": "true"}]
    env += [{"name": k, "value": v} for k, v in metadata.items()]
    return env


def istio_proxy(inj: Injector, workload: str, namespace: str, app_containers: list[str], *,
                router: bool = False, grpc_agent: bool = False, image: str | None = None,
                env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "istio-proxy",
        "image": image or inj.proxy_image,
        "args": ["proxy", "router" if router else "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local",
                 "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
        "env": env if env is not None else sidecar_env(inj, workload, namespace, app_containers,
                                                       grpc_agent=grpc_agent),
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "readinessProbe": {"failureThreshold": 4, "httpGet": {"path": "/healthz/ready", "port": 15021},
                           "periodSeconds": 15, "timeoutSeconds": 3},
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "privileged": False, "readOnlyRootFilesystem": True, "runAsGroup": 1337,
                            "runAsNonRoot": True, "runAsUser": 1337},
        "volumeMounts": [{"mountPath": "/var/run/secrets/istio", "name": "istiod-ca-cert"},
                         {"mountPath": "/etc/istio/proxy", "name": "istio-envoy"},
                         {"mountPath": "/var/run/secrets/tokens", "name": "istio-token"}],
    }
    if inj.native_sidecar and not router:
        container["restartPolicy"] = "Always"
        container["lifecycle"] = {"preStop": {"exec": {"command": ["pilot-agent", "request", "--debug-port=15020",
                                                                   "POST", "drain"]}}}
    return container


def _init_container(inj: Injector) -> dict[str, Any]:
    if inj.cni:
        return {"name": "istio-validation", "image": inj.proxy_image,
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                         "-x", "", "-b", "*", "-d", "15090,15021,15020", "--run-validation", "--skip-rule-apply"],
                "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 1337, "runAsNonRoot": True}}
    return {"name": "istio-init", "image": inj.proxy_image,
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*",
                     "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"],
            "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                                "runAsUser": 0, "runAsNonRoot": False, "privileged": False}}


def _status_annotation(init: list[str] | None, containers: list[str] | None, revision: str) -> str:
    return json.dumps({"initContainers": init, "containers": containers, "volumes": _STATUS_VOLUMES,
                       "imagePullSecrets": None, "revision": revision}, separators=(",", ":"))


def _pod_status(spec: dict[str, Any]) -> dict[str, Any]:
    def statuses(containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"], "started": True,
                 "state": {"running": {"startedAt": T_POD}}} for c in containers]

    status: dict[str, Any] = {
        "phase": "Running", "podIP": "10.0.3.17", "hostIP": "192.168.0.21", "startTime": T_POD,
        "qosClass": "Burstable",
        "conditions": [{"type": t, "status": "True"} for t in ("Initialized", "Ready", "ContainersReady",
                                                                "PodScheduled")],
        "containerStatuses": statuses(spec["containers"])}
    if spec.get("initContainers"):
        status["initContainerStatuses"] = statuses(spec["initContainers"])
    return status


def _replicaset(dep: dict[str, Any]) -> dict[str, Any]:
    name = dep["metadata"]["name"]
    namespace = dep["metadata"]["namespace"]
    pod_hash = f._hash(namespace + "/" + name)
    template = json.loads(json.dumps(dep["spec"]["template"]))
    template["metadata"].setdefault("labels", {})["pod-template-hash"] = pod_hash
    rs_meta = f.meta(f"{name}-{pod_hash}", namespace, template["metadata"]["labels"],
                     {"deployment.kubernetes.io/revision": "1"})
    rs_meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                   "uid": dep["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    replicas = dep["spec"].get("replicas", 1)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rs_meta,
            "spec": {"replicas": replicas, "selector": dep["spec"]["selector"], "template": template},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}}


def _deployment(name: str, namespace: str, *, labels: dict[str, str], selector: dict[str, str],
                template_labels: dict[str, str], template_annotations: dict[str, str] | None,
                containers: list[dict[str, Any]], replicas: int = 2, annotations: dict[str, str] | None = None,
                owner: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = f.meta(name, namespace, labels, {"deployment.kubernetes.io/revision": "1", **(annotations or {})})
    if owner:
        meta["ownerReferences"] = [owner]
    template_meta: dict[str, Any] = {"labels": dict(template_labels)}
    if template_annotations:
        template_meta["annotations"] = dict(template_annotations)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(selector)},
                     "template": {"metadata": template_meta,
                                  "spec": {"containers": containers, "serviceAccountName": "default",
                                           "terminationGracePeriodSeconds": 30}}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas,
                       "availableReplicas": replicas}}


def _pods(rs: dict[str, Any], replicas: int, mutate: Any) -> list[dict[str, Any]]:
    """`replicas` pods of a ReplicaSet; `mutate(pod_meta, spec)` plays the webhook (None: not injected)."""
    out = []
    rs_name = rs["metadata"]["name"]
    namespace = rs["metadata"]["namespace"]
    for i in range(replicas):
        template = json.loads(json.dumps(rs["spec"]["template"]))
        pod_meta = template["metadata"]
        spec = template["spec"]
        spec["nodeName"] = "cn-hangzhou.192.168.0.21"
        spec["restartPolicy"] = "Always"
        if mutate:
            mutate(pod_meta, spec)
        name = f"{rs_name}-{f._hash(rs_name + str(i))[:5]}"
        meta = f.meta(name, namespace, pod_meta.get("labels"), pod_meta.get("annotations"), T_POD)
        meta["generateName"] = rs_name + "-"
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                                    "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": _pod_status(spec)})
    return out


def _app_container(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "image": f"registry.example.com/{namespace}/{name}:1.4.2",
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}


def injected_workload(inj: Injector, name: str, namespace: str, *, replicas: int = 2,
                      template: str = "sidecar") -> list[dict[str, Any]]:
    """A Deployment (not injected: the webhook mutates pods), its ReplicaSet and pods injected by `inj`.

    template "sidecar" (injection-template.yaml) or "grpc-agent" (proxyless gRPC, grpc-agent.yaml.injected).
    """
    labels = {"app": name, "version": "v1"}
    annotations = {"inject.istio.io/templates": "grpc-agent"} if template == "grpc-agent" else None
    dep = _deployment(name, namespace, labels={"app": name}, selector={"app": name}, template_labels=labels,
                      template_annotations=annotations, containers=[_app_container(name, namespace)],
                      replicas=replicas)
    rs = _replicaset(dep)

    def inject(pod_meta: dict[str, Any], spec: dict[str, Any]) -> None:
        apps = [c["name"] for c in spec["containers"]]
        pod_labels = pod_meta.setdefault("labels", {})
        pod_labels.update({"security.istio.io/tlsMode": "istio", "service.istio.io/canonical-name": name,
                           "service.istio.io/canonical-revision": "v1"})
        notes = pod_meta.setdefault("annotations", {})
        if _minor(inj.version) <= 10:
            pod_labels["istio.io/rev"] = inj.rev          # a label up to 1.10
        elif _minor(inj.version) >= 18:
            notes["istio.io/rev"] = inj.rev               # an annotation from 1.18 on
        notes.update({"kubectl.kubernetes.io/default-container": apps[0],
                      "kubectl.kubernetes.io/default-logs-container": apps[0],
                      "prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
                      "prometheus.io/scrape": "true"})
        if template == "grpc-agent":
            proxy = istio_proxy(inj, name, namespace, apps, grpc_agent=True)
            spec["containers"].append(proxy)
            notes["sidecar.istio.io/status"] = _status_annotation(None, ["istio-proxy", *apps], inj.rev)
            return
        proxy = istio_proxy(inj, name, namespace, apps)
        init = _init_container(inj)
        if inj.native_sidecar:
            spec["initContainers"] = [init, proxy]
            notes["sidecar.istio.io/status"] = _status_annotation([init["name"], "istio-proxy"], None, inj.rev)
        else:
            spec["initContainers"] = [init]
            spec["containers"].append(proxy)
            notes["sidecar.istio.io/status"] = _status_annotation([init["name"]], ["istio-proxy"], inj.rev)

    return [dep, rs, *_pods(rs, replicas, inject)]


# ---------------------------------------------------------------- the control plane
def _install_labels(method: str, version: str, release: str) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) an installer adds: istioctl (IstioOperator) or Helm (istio.labels)."""
    if method == "istioctl":
        # istioctl install labels every object it applies (istio/istio@1.22.8 operator/pkg/helmreconciler/reconciler.go
        # getCoreOwnerLabels, @1.24.6 operator/pkg/install/install.go getOwnerLabels): operator.istio.io/managed:
        # Reconcile, the version, and the IstioOperator's name and namespace: its record installed-state up to 1.23
        # (operator/cmd/mesh/install.go @1.22.8); from 1.24 none is kept, the chart's own "unknown" stays.
        owner = "installed-state" if _minor(version) < 24 else "unknown"
        return ({"install.operator.istio.io/owning-resource": owner,
                 "install.operator.istio.io/owning-resource-namespace": ISTIO_NS,
                 "operator.istio.io/managed": "Reconcile",
                 "operator.istio.io/version": version, "release": "istio"}, {})
    labels = {"install.operator.istio.io/owning-resource": "unknown", "release": release}
    if _minor(version) >= 18:
        labels.update({"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": release,
                       "app.kubernetes.io/part-of": "istio", "app.kubernetes.io/version": version,
                       "helm.sh/chart": f"{release}-{version}"})
    else:
        labels["app.kubernetes.io/managed-by"] = "Helm"
    return labels, {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ISTIO_NS}


def _istio_labels(install_labels: dict[str, str]) -> dict[str, str]:
    """The chart's istio.labels (app.kubernetes.io/*, helm.sh/chart) among what _install_labels gives."""
    return {k: v for k, v in install_labels.items() if k.startswith(("app.kubernetes.io", "helm.sh"))}


def mesh_config_text(inj: Injector) -> str:
    lines = ["defaultConfig:", f"  discoveryAddress: {inj.ca_addr}"]
    if inj.xds_agent:
        lines += ["  proxyMetadata:", '    PROXY_CONFIG_XDS_AGENT: "true"']
    lines += ["enablePrometheusMerge: true", "rootNamespace: istio-system", "trustDomain: cluster.local"]
    return "\n".join(lines) + "\n"


def istiod(inj: Injector, *, method: str = "istioctl") -> list[dict[str, Any]]:
    """istiod[-<rev>] Deployment, ReplicaSet, pod, Service, mesh ConfigMap, injector webhook (ISTIOD source)."""
    name = inj.istiod_name
    release = "istio" if method == "istioctl" else "istiod"
    extra, notes = _install_labels(method, inj.version, release)
    labels = {"app": "istiod", "istio.io/rev": inj.rev, "operator.istio.io/component": "Pilot", "istio": "pilot",
              **extra}
    if _minor(inj.version) >= 24:
        labels["app.kubernetes.io/name"] = "istiod"
    pod_labels = {"app": "istiod", "istio.io/rev": inj.rev, "sidecar.istio.io/inject": "false",
                  "operator.istio.io/component": "Pilot",
                  "install.operator.istio.io/owning-resource": extra["install.operator.istio.io/owning-resource"],
                  "istio": "istiod" if inj.revision else "pilot"}
    selector = {"app": "istiod", "istio.io/rev": inj.rev} if inj.revision else {"istio": "pilot"}
    discovery = {"name": "discovery", "image": f"{inj.hub}/pilot:{inj.version}",
                 "args": ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info",
                          "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"],
                 "env": [{"name": "REVISION", "value": inj.rev}, {"name": "PILOT_CERT_PROVIDER", "value": "istiod"},
                         {"name": "ISTIOD_ADDR", "value": inj.ca_addr}],
                 "ports": [{"containerPort": 8080}, {"containerPort": 15010}, {"containerPort": 15017}]}
    dep = _deployment(name, ISTIO_NS, labels=labels, selector=selector, template_labels=pod_labels,
                      template_annotations={"prometheus.io/port": "15014", "prometheus.io/scrape": "true",
                                            "sidecar.istio.io/inject": "false"},
                      containers=[discovery], replicas=1, annotations=notes)
    rs = _replicaset(dep)
    pods = _pods(rs, 1, None)
    svc_selector = {"app": "istiod", "istio.io/rev": inj.revision} if inj.revision else {"app": "istiod",
                                                                                        "istio": "pilot"}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": f.meta(name, ISTIO_NS, {k: v for k, v in labels.items() if k != "operator.istio.io/version"},
                              notes or None),
           "spec": {"type": "ClusterIP", "clusterIP": "172.16.12.40", "selector": svc_selector,
                    "ports": [{"name": "grpc-xds", "port": 15010, "protocol": "TCP", "targetPort": 15010},
                              {"name": "https-dns", "port": 15012, "protocol": "TCP", "targetPort": 15012},
                              {"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017},
                              {"name": "http-monitoring", "port": 15014, "protocol": "TCP", "targetPort": 15014}]}}
    cm_name = f"istio-{inj.revision}" if inj.revision else "istio"
    mesh_cm = f.configmap(cm_name, ISTIO_NS, {"mesh": mesh_config_text(inj), "meshNetworks": "networks: {}"},
                          managed_times=["2026-10-01T08:00:00Z", T_MESH_CHANGE],
                          labels={"istio.io/rev": inj.rev, "operator.istio.io/component": "Pilot",
                                  "install.operator.istio.io/owning-resource":
                                      extra["install.operator.istio.io/owning-resource"], "release": release})
    if notes:  # Helm annotates every object of the release, not only what the chart labels (setMetadataVisitor)
        mesh_cm["metadata"]["annotations"] = dict(notes)
    injector_name = f"istio-sidecar-injector-{inj.revision}" if inj.revision else "istio-sidecar-injector"
    webhook = f.webhook_config(injector_name, service_name=name, revision=inj.rev,
                               labels={"app": "sidecar-injector", "operator.istio.io/component": "Pilot",
                                       "release": release,
                                       "install.operator.istio.io/owning-resource":
                                           extra["install.operator.istio.io/owning-resource"]},
                               annotations=notes or None)
    out = [dep, rs, *pods, svc, mesh_cm, webhook]
    if _minor(inj.version) >= 26:  # configmap-values.yaml: absent @1.25.5, rendered @1.26.8 and 1.30.3
        out.append(values_configmap(inj, method))
    return out


def values_configmap(inj: Injector, method: str = "helm") -> dict[str, Any]:
    """ConfigMap values[-<rev>] the istiod chart renders from 1.26 on for debugging: the Helm values, no mesh key
    (templates/configmap-values.yaml @1.26.8, 1.30.3)."""
    release = "istio" if method == "istioctl" else "istiod"
    extra, notes = _install_labels(method, inj.version, release)
    labels = {"istio.io/rev": inj.rev,
              "install.operator.istio.io/owning-resource": extra["install.operator.istio.io/owning-resource"],
              "operator.istio.io/component": "Pilot", "release": release, "app.kubernetes.io/name": "istiod",
              **_istio_labels(extra)}
    cm = f.configmap(f"values-{inj.revision}" if inj.revision else "values", ISTIO_NS,
                     {"original-values": json.dumps({"revision": inj.revision}, indent=2),
                      "merged-values": json.dumps({"revision": inj.revision}, indent=2)}, labels=labels)
    cm["metadata"]["annotations"] = {
        **notes, "kubernetes.io/description": "This ConfigMap contains the Helm values used during chart rendering. "
        "This ConfigMap is rendered for debugging purposes and external tooling; modifying these values has no effect."}
    return cm


def revision_tag(tag: str, inj: Injector) -> dict[str, Any]:
    """MutatingWebhookConfiguration istio-revision-tag-<tag> pointing at a revision (revision-tags.yaml @1.24.6,
    revision-tags-mwc.yaml @1.30.3): the chart's webhook labels (istio.io/tag, istio.io/rev of the revision,
    operator.istio.io/component: Pilot, owning-resource, release, istio.labels) and its webhooks selecting the tag
    (rev.namespace./rev.object.; namespace./object. too when the tag is "default")."""
    extra, notes = _install_labels("helm", inj.version, "istiod")
    hook = f.webhook_config(f"istio-revision-tag-{tag}", service_name=inj.istiod_name, revision=inj.rev,
                            labels={"istio.io/tag": tag, "install.operator.istio.io/owning-resource": "unknown",
                                    "operator.istio.io/component": "Pilot", "app": "sidecar-injector",
                                    "release": "istiod", "app.kubernetes.io/name": "istiod", **_istio_labels(extra)},
                            annotations=notes)
    hook["webhooks"] = f.injector_hooks(inj.istiod_name, inj.rev, selects=tag)
    for webhook in hook["webhooks"]:
        del webhook["reinvocationPolicy"]  # revision-tags.yaml's "core" writes none
    return hook


def revision_tag_service(tag: str, inj: Injector) -> dict[str, Any]:
    """Service istiod-revision-tag-<tag> that `revisionTags` / `istioctl tag set` add from 1.28 next to the webhook
    (templates/revision-tags-svc.yaml @1.28.10, 1.30.3): istiod's Service selecting the revision's istiod, labelled
    istio.io/tag."""
    extra, notes = _install_labels("helm", inj.version, "istiod")
    labels = {"istio.io/rev": inj.rev, "istio.io/tag": tag, "install.operator.istio.io/owning-resource": "unknown",
              "operator.istio.io/component": "Pilot", "app": "istiod", "istio": "pilot", "release": "istiod",
              "app.kubernetes.io/name": "istiod",
              **_istio_labels(extra)}
    selector = {"app": "istiod", "istio.io/rev": inj.revision} if inj.revision else {"app": "istiod", "istio": "pilot"}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": f.meta(f"istiod-revision-tag-{tag}", ISTIO_NS, labels, notes),
            "spec": {"type": "ClusterIP", "clusterIP": "172.16.12.41", "selector": selector,
                     "ports": [{"name": "grpc-xds", "port": 15010, "protocol": "TCP", "targetPort": 15010},
                               {"name": "https-dns", "port": 15012, "protocol": "TCP", "targetPort": 15012},
                               {"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017},
                               {"name": "http-monitoring", "port": 15014, "protocol": "TCP", "targetPort": 15014}]}}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return f.namespace(name, labels)


# ---------------------------------------------------------------- gateways
def _gateway_service(name: str, ns: str, selector: dict[str, str], labels: dict[str, str],
                     ports: list[tuple[str, int]], type_: str = "LoadBalancer") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": f.meta(name, ns, labels),
            "spec": {"type": type_, "clusterIP": "172.16.30.8", "selector": dict(selector),
                     "ports": [{"name": n, "port": p, "protocol": "TCP", "targetPort": p} for n, p in ports]}}


_INGRESS_PORTS = [("status-port", 15021), ("http2", 80), ("https", 443)]


def iop_gateway(inj: Injector, name: str, component: str, *, istio_label: str, ns: str = ISTIO_NS,
                extra_labels: dict[str, str] | None = None, extra_env: dict[str, str] | None = None,
                ports: list[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
    """An istioctl/IstioOperator gateway (IOP_GATEWAY source): rendered, never injected, `proxy router`.

    component "IngressGateways" | "EgressGateways". Its env carries the IstioOperator's
    meshConfig.defaultConfig.proxyMetadata as it was at install time (no PROXY_CONFIG env).
    """
    gw_labels = {"app": name, "istio": istio_label, **(extra_labels or {})}
    extra, _ = _install_labels("istioctl", inj.version, "istio")
    labels = {**gw_labels, **extra, "istio.io/rev": inj.rev, "operator.istio.io/component": component}
    template_labels = {**gw_labels, "chart": "gateways", "heritage": "Tiller", "release": "istio",
                       "service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                       "istio.io/rev": inj.rev, "operator.istio.io/component": component,
                       "install.operator.istio.io/owning-resource": extra["install.operator.istio.io/owning-resource"],
                       "sidecar.istio.io/inject": "false"}
    env = [
        {"name": "PILOT_CERT_PROVIDER", "value": "istiod"}, {"name": "CA_ADDR", "value": inj.ca_addr},
        _field_env("NODE_NAME", "spec.nodeName"), _field_env("POD_NAME", "metadata.name"),
        _field_env("POD_NAMESPACE", "metadata.namespace"), _field_env("INSTANCE_IP", "status.podIP"),
        _field_env("HOST_IP", "status.hostIP"), _field_env("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        _resource_env("ISTIO_CPU_LIMIT", "limits.cpu"),
        {"name": "ISTIO_META_WORKLOAD_NAME", "value": name},
        {"name": "ISTIO_META_OWNER", "value": f"kubernetes://apis/apps/v1/namespaces/{ns}/deployments/{name}"},
        {"name": "ISTIO_META_MESH_ID", "value": "cluster.local"}, {"name": "TRUST_DOMAIN", "value": "cluster.local"},
        {"name": "ISTIO_META_UNPRIVILEGED_POD", "value": "true"},
        *({"name": k, "value": v} for k, v in (extra_env or {}).items()),
        *({"name": k, "value": v} for k, v in inj.proxy_metadata().items()),
        {"name": "ISTIO_META_CLUSTER_ID", "value": "Kubernetes"},
        _field_env("ISTIO_META_NODE_NAME", "spec.nodeName"),
    ]
    proxy = istio_proxy(inj, name, ns, [], router=True, env=env)
    proxy["ports"] = [{"containerPort": 15021, "protocol": "TCP"}, {"containerPort": 8080, "protocol": "TCP"},
                      {"containerPort": 8443, "protocol": "TCP"},
                      {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}]
    dep = _deployment(name, ns, labels=labels, selector=gw_labels, template_labels=template_labels,
                      template_annotations={"prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020",
                                            "prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"},
                      containers=[proxy], replicas=1)
    rs = _replicaset(dep)
    svc_labels = {k: v for k, v in labels.items() if k != "operator.istio.io/version"}
    svc = _gateway_service(name, ns, gw_labels, svc_labels, ports or _INGRESS_PORTS)
    return [dep, rs, *_pods(rs, 1, None), svc]


def helm_gateway(inj: Injector, release: str, ns: str) -> list[dict[str, Any]]:
    """`helm install <release> istio/gateway -n <ns>` (GATEWAY_CHART source): image auto, injected at pod
    creation with the gateway template (`proxy router`, the real image, CA_ADDR of the revision)."""
    selector = {"app": release, "istio": release.removeprefix("istio-")}
    extra, notes = _install_labels("helm", inj.version, release)
    # The chart is `gateway` (manifests/charts/gateway/Chart.yaml, published as gateway-<version>) and the release
    # lives in the namespace it was installed into: Helm annotates every object of it so (setMetadataVisitor,
    # helm/helm@v3.21.4:pkg/action/validate.go).
    extra["helm.sh/chart"] = f"gateway-{inj.version}"
    notes = {**notes, "meta.helm.sh/release-namespace": ns}
    helm_labels = _istio_labels(extra)
    labels = {"app.kubernetes.io/name": release, **helm_labels, **selector}
    template_labels = {"sidecar.istio.io/inject": "true", **({"istio.io/rev": inj.revision} if inj.revision else {}),
                       **selector, "app.kubernetes.io/name": release, **helm_labels}
    template_notes = {"inject.istio.io/templates": "gateway", "prometheus.io/path": "/stats/prometheus",
                      "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}
    chart_container = {"name": "istio-proxy", "image": "auto",
                       "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                       "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
                       "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                           "runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": True}}
    dep = _deployment(release, ns, labels=labels, selector=selector, template_labels=template_labels,
                      template_annotations=template_notes, containers=[chart_container], replicas=2,
                      annotations=notes)
    rs = _replicaset(dep)

    def inject(pod_meta: dict[str, Any], spec: dict[str, Any]) -> None:
        gw_env = [e for e in sidecar_env(inj, release, ns, []) if e["name"] not in (
            "ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_INTERCEPTION_MODE")]
        spec["containers"] = [{**spec["containers"][0], **istio_proxy(inj, release, ns, [], router=True, env=gw_env)}]
        pod_meta.setdefault("labels", {}).update({"service.istio.io/canonical-name": release,
                                                  "service.istio.io/canonical-revision": "latest"})
        pod_meta.setdefault("annotations", {}).update({
            "istio.io/rev": inj.rev,
            "sidecar.istio.io/status": _status_annotation(None, ["istio-proxy"], inj.rev)})

    svc = _gateway_service(release, ns, selector, labels, _INGRESS_PORTS)
    svc["metadata"]["annotations"] = dict(notes)
    return [namespace(ns), dep, rs, *_pods(rs, 2, inject), svc]


def gateway_api(inj: Injector, name: str, ns: str) -> list[dict[str, Any]]:
    """A Gateway API Gateway of class istio and the `<name>-istio` Deployment/Service istiod deploys
    (GATEWAY_API source: label istio.io/gateway-name up to 1.18, gateway.networking.k8s.io/gateway-name later)."""
    name_label = "istio.io/gateway-name" if _minor(inj.version) < 20 else "gateway.networking.k8s.io/gateway-name"
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1" if _minor(inj.version) >= 20
               else "gateway.networking.k8s.io/v1beta1", "kind": "Gateway",
               "metadata": {**f.meta(name, ns), "generation": 1},
               "spec": {"gatewayClassName": "istio",
                        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP",
                                       "allowedRoutes": {"namespaces": {"from": "All"}}}]},
               "status": {"conditions": [{"type": "Programmed", "status": "True", "reason": "Programmed"}]}}
    owner = {"apiVersion": gateway["apiVersion"], "kind": "Gateway", "name": name,
             "uid": gateway["metadata"]["uid"]}
    deployed = f"{name}-istio"
    managed = {name_label: name}
    if _minor(inj.version) >= 20:
        managed["gateway.istio.io/managed"] = "istio.io-gateway-controller"
    template_labels = {"sidecar.istio.io/inject": "false", "service.istio.io/canonical-name": deployed,
                       "service.istio.io/canonical-revision": "latest", **managed}
    env = [e for e in sidecar_env(inj, deployed, ns, []) if e["name"] not in (
        "ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_INTERCEPTION_MODE")]
    proxy = istio_proxy(inj, deployed, ns, [], router=True, env=env)
    dep = _deployment(deployed, ns, labels=dict(managed), selector={name_label: name},
                      template_labels=template_labels,
                      template_annotations={"istio.io/rev": inj.rev, "prometheus.io/path": "/stats/prometheus",
                                            "prometheus.io/port": "15020", "prometheus.io/scrape": "true"},
                      containers=[proxy], replicas=1, owner=owner)
    rs = _replicaset(dep)
    svc = _gateway_service(deployed, ns, {name_label: name}, dict(managed), [("status-port", 15021), ("http", 80)])
    svc["metadata"]["ownerReferences"] = [owner]
    return [namespace(ns), gateway, dep, rs, *_pods(rs, 1, None), svc]


def istio_gateway_object(name: str, ns: str, selector: dict[str, str], hosts: list[str],
                         tls_mode: str | None = None, port: int = 80) -> dict[str, Any]:
    """networking.istio.io Gateway selecting gateway pods."""
    server: dict[str, Any] = {"port": {"number": port, "name": "http" if port == 80 else "tls",
                                       "protocol": "HTTP" if port == 80 else "TLS"}, "hosts": hosts}
    if tls_mode:
        server["tls"] = {"mode": tls_mode}
    return f.istio_object("Gateway", name, ns, {"selector": selector, "servers": [server]})


# ---------------------------------------------------------------- cni, ambient
def _daemonset(name: str, ns: str, labels: dict[str, str], container: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": f.meta(name, ns, labels),
            "spec": {"selector": {"matchLabels": {k: v for k, v in labels.items() if k in ("k8s-app", "app")}},
                     "template": {"metadata": {"labels": {**labels, "sidecar.istio.io/inject": "false"}},
                                  "spec": {"containers": [{"name": container, "image": image}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3}}


def istio_cni(inj: Injector, *, ambient: bool = False) -> list[dict[str, Any]]:
    """DaemonSet istio-cni-node (CNI source); with ambient its config enables AMBIENT_ENABLED."""
    labels = {"k8s-app": "istio-cni-node", "istio.io/rev": inj.rev, "operator.istio.io/component": "Cni",
              "install.operator.istio.io/owning-resource": "unknown", "app.kubernetes.io/name": "istio-cni"}
    ds = _daemonset("istio-cni-node", ISTIO_NS, labels, "install-cni", f"{inj.hub}/install-cni:{inj.version}")
    cm = f.configmap("istio-cni-config", ISTIO_NS, {"AMBIENT_ENABLED": "true" if ambient else "false",
                                                    "CHAINED_CNI_PLUGIN": "true"}, labels={"k8s-app": "istio-cni-node"})
    return [ds, cm]


def ambient_mesh(inj: Injector, ns: str = "ambient-apps") -> list[dict[str, Any]]:
    """ztunnel DaemonSet, an ambient namespace, plain pods redirected by the CNI, and a waypoint."""
    ztunnel = _daemonset("ztunnel", ISTIO_NS, {"app": "ztunnel", "app.kubernetes.io/name": "ztunnel"}, "istio-proxy",
                         f"{inj.hub}/ztunnel:{inj.version}")
    app = _deployment("reviews", ns, labels={"app": "reviews"}, selector={"app": "reviews"},
                      template_labels={"app": "reviews"}, template_annotations=None,
                      containers=[_app_container("reviews", ns)])
    rs = _replicaset(app)

    def redirect(pod_meta: dict[str, Any], _spec: dict[str, Any]) -> None:
        pod_meta.setdefault("annotations", {})["ambient.istio.io/redirection"] = "enabled"

    waypoint = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                "metadata": f.meta("waypoint", ns, {"istio.io/waypoint-for": "service"}),
                "spec": {"gatewayClassName": "istio-waypoint",
                         "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}
    managed = {"gateway.networking.k8s.io/gateway-name": "waypoint",
               "gateway.istio.io/managed": "istio.io-mesh-controller", "istio.io/waypoint-for": "service"}
    env = [e for e in sidecar_env(inj, "waypoint", ns, []) if e["name"] not in (
        "ISTIO_META_POD_PORTS", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_INTERCEPTION_MODE")]
    proxy = istio_proxy(inj, "waypoint", ns, [], router=True, env=env)
    proxy["args"] = ["proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--serviceCluster",
                     f"waypoint.{ns}"]
    wp = _deployment("waypoint", ns, labels=dict(managed), selector={"gateway.networking.k8s.io/gateway-name":
                                                                      "waypoint"},
                     template_labels={**managed, "istio.io/dataplane-mode": "none",
                                      "sidecar.istio.io/inject": "false"},
                     template_annotations={"istio.io/rev": inj.rev}, containers=[proxy], replicas=1)
    wp_rs = _replicaset(wp)
    return [namespace(ns, {"istio.io/dataplane-mode": "ambient"}), ztunnel, *istio_cni(inj, ambient=True),
            app, rs, *_pods(rs, 2, redirect), waypoint, wp, wp_rs, *_pods(wp_rs, 1, None)]


# ---------------------------------------------------------------- ASM in the data-plane cluster
ASM_MARKS = frozenset({"env", "image", "ca"})


def asm_istiod_service(revision: str = ASM_REVISION) -> dict[str, Any]:
    """ASM's trace of its managed control plane: a headless istiod-<rev> Service, nothing behind it."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": f.meta(f"istiod-{revision}", ISTIO_NS),
            "spec": {"type": "ClusterIP", "clusterIP": "None",
                     "ports": [{"name": "https-dns", "port": 15012, "protocol": "TCP", "targetPort": 15012},
                               {"name": "https-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017}]}}


def asm_workload(name: str, ns: str, *, marks: frozenset[str] = ASM_MARKS, replicas: int = 2,
                 image: str = ASM_IMAGE_VPC) -> list[dict[str, Any]]:
    """A workload moved to ASM: ASM's injector wrote its pods. `marks` keeps only some of ASM's marks:
    "env" (ASM_ID, ASM_APP_VERSION), "image" (ASM's acs/proxyv2 with its -aliyun tag), "ca" (CA_ADDR at
    ASM's istiod-<rev>); a mark left out is replaced by something that names neither mesh."""
    asm_inj = Injector(version="1.24.6", revision=ASM_REVISION, xds_agent=True)
    dep = _deployment(name, ns, labels={"app": name}, selector={"app": name},
                      template_labels={"app": name, "version": "v1", "sidecar.asm.aliyun.com/inject": "true"},
                      template_annotations=None, containers=[_app_container(name, ns)], replicas=replicas)
    rs = _replicaset(dep)

    def inject(pod_meta: dict[str, Any], spec: dict[str, Any]) -> None:
        apps = [c["name"] for c in spec["containers"]]
        env = sidecar_env(asm_inj, name, ns, apps)
        for item in env:
            if item["name"] == "ISTIO_META_CLUSTER_ID":
                item["value"] = ACK_CLUSTER_ID
        if "ca" not in marks:
            env = [e for e in env if e["name"] != "CA_ADDR"]
        if "env" in marks:
            env += [{"name": "ASM_ID", "value": "c3adfe9d5d949fb7fc79433dec16a6ecc"},
                    {"name": "ASM_APP_VERSION", "value": "v1"}]
        proxy_image = image if "image" in marks else "registry.example.com/mesh/proxyv2@sha256:" + "ab" * 32
        proxy = istio_proxy(asm_inj, name, ns, apps, image=proxy_image, env=env)
        spec["initContainers"] = [{**_init_container(asm_inj), "image": proxy_image}]
        spec["containers"].append(proxy)
        pod_meta.setdefault("labels", {}).update({"security.istio.io/tlsMode": "istio",
                                                  "service.istio.io/canonical-name": name,
                                                  "service.istio.io/canonical-revision": "v1"})
        pod_meta.setdefault("annotations", {}).update({
            "istio.io/rev": ASM_REVISION,
            "sidecar.istio.io/status": _status_annotation(["istio-init"], ["istio-proxy"], ASM_REVISION)})

    return [dep, rs, *_pods(rs, replicas, inject)]


def asm_control_plane(state: str | None, istio_config: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ASM control plane's objects: ASMMigrateFromIstio `default` at `state` (None: not created yet)
    and a copy of every Istio API object of the data plane (imported, equal spec)."""
    out: list[dict[str, Any]] = []
    if state:
        out.append(f.migration_cr(state, option="stopIstioSystemInjectionDisabling"))
    for obj in istio_config:
        if obj.get("apiVersion", "").split("/")[0].endswith(".istio.io"):
            copy = json.loads(json.dumps(obj))
            copy["metadata"]["uid"] = f._uid("asm", obj["metadata"]["uid"])
            out.append(copy)
    return out


# ---------------------------------------------------------------- the shapes
APPS_NS = "bookinfo"


def _apps(inj: Injector, *names: str, ns: str = APPS_NS, template: str = "sidecar") -> Shape:
    shape = Shape("apps", "INJECT")
    shape.objects.append(namespace(ns, {"istio.io/rev": inj.revision} if inj.revision else
                                   {"istio-injection": "enabled"}))
    for name in names:
        shape.extend(injected_workload(inj, name, ns, template=template))
        shape.istio_sidecar_workloads.add((ns, name))
    return shape


def _control_plane(inj: Injector, method: str) -> Shape:
    shape = Shape("istiod", "ISTIOD", objects=[namespace(ISTIO_NS), *istiod(inj, method=method)])
    shape.istio_versions.add(inj.version)
    return shape


def _iop_ingress(inj: Injector) -> Shape:
    objs = iop_gateway(inj, "istio-ingressgateway", "IngressGateways", istio_label="ingressgateway")
    objs.append(istio_gateway_object("bookinfo-gateway", APPS_NS, {"istio": "ingressgateway"}, ["*"]))
    return Shape("iop-ingress", "IOP_GATEWAY", objs, istio_gateways={(ISTIO_NS, "istio-ingressgateway")})


def _iop_egress(inj: Injector) -> Shape:
    objs = iop_gateway(inj, "istio-egressgateway", "EgressGateways", istio_label="egressgateway",
                       ports=[("http2", 80), ("https", 443)], )
    objs[-1]["spec"]["type"] = "ClusterIP"
    return Shape("iop-egress", "IOP_GATEWAY", objs, istio_gateways={(ISTIO_NS, "istio-egressgateway")})


def istioctl_profile(profile: str, version: str) -> Shape:
    """`istioctl install --set profile=<profile>` (manifests/profiles/<profile>.yaml): default = istiod +
    ingress gateway, demo = + egress gateway, minimal = istiod only."""
    inj = Injector(version)
    shape = _control_plane(inj, "istioctl").add(_apps(inj, "productpage", "reviews"))
    if profile in ("default", "demo"):
        shape.add(_iop_ingress(inj))
    if profile == "demo":
        shape.add(_iop_egress(inj))
    shape.name, shape.source = f"istioctl-{profile}-{version}", f"profiles/{profile}.yaml@{version}"
    return shape


def helm_revision(version: str, revision: str, *, hub: str = "docker.io/istio") -> Shape:
    """`helm install istio-base istio/base; helm install istiod istio/istiod --set revision=<revision>`;
    revision "" is the default revision. Namespaces select the revision with istio.io/rev."""
    inj = Injector(version, revision, hub=hub)
    shape = _control_plane(inj, "helm").add(_apps(inj, "ratings", "details"))
    shape.name = f"helm-{revision or 'default'}-{version}" + ("-gcr" if "gcr.io" in hub else "")
    shape.source = f"istio-discovery templates@{version}"
    return shape


def revision_tags(version: str = "1.24.2", revision: str = "1-24-2", tag: str = "prod-stable") -> Shape:
    """A version-named revision behind a revision tag (`istioctl tag set prod-stable --revision 1-24-2`):
    the namespace is labelled with the tag; pods still get CA_ADDR of the revision's istiod."""
    inj = Injector(version, revision)
    shape = _control_plane(inj, "helm")
    shape.objects.append(revision_tag(tag, inj))
    if _minor(version) >= 28:
        shape.objects.append(revision_tag_service(tag, inj))
    shape.objects.append(namespace(APPS_NS, {"istio.io/rev": tag}))
    for name in ("checkout", "cart"):
        shape.extend(injected_workload(inj, name, APPS_NS))
        shape.istio_sidecar_workloads.add((APPS_NS, name))
    shape.name = f"revision-tag-{tag}-{revision}"
    shape.source = "revision-tags-{mwc,svc}.yaml@1.28.10" if _minor(version) >= 28 else "revision-tags.yaml@1.24.6"
    return shape


def canary(old: str = "1.22.8", new: str = "1.24.2", new_revision: str = "1-24-2") -> Shape:
    """Two revisions side by side during a canary upgrade: default (old) and a version-named one (new)."""
    old_inj, new_inj = Injector(old), Injector(new, new_revision)
    shape = _control_plane(old_inj, "istioctl").add(_apps(old_inj, "legacy-api"))
    shape.add(_control_plane(new_inj, "helm")).add(_apps(new_inj, "orders", ns="orders"))
    shape.add(_iop_ingress(old_inj))
    shape.name, shape.source = f"canary-{old}+{new_revision}", "istio-discovery templates@1.22.8,1.24.6"
    return shape


def gateway_chart(release: str, ns: str, version: str = "1.24.6") -> Shape:
    """istiod (Helm) plus `helm install <release> istio/gateway -n <ns>`."""
    inj = Injector(version)
    shape = _control_plane(inj, "helm").add(_apps(inj, "frontend"))
    shape.extend(helm_gateway(inj, release, ns))
    selector = {"istio": release.removeprefix("istio-")}
    shape.objects.append(istio_gateway_object(f"{release}-routes", ns, selector, ["shop.example.com"]))
    shape.istio_gateways.add((ns, release))
    shape.name, shape.source = f"gateway-chart-{release}-in-{ns}", f"charts/gateway@{version}"
    return shape


def iop_gateways(version: str = "1.22.8", *, xds_agent: bool = False) -> Shape:
    """istioctl default+egress with both gateways; xds_agent: the IstioOperator had the proxyMetadata at
    install time (then the gateways carry the env; otherwise only a re-install adds it)."""
    inj = Injector(version, xds_agent=xds_agent)
    shape = _control_plane(Injector(version), "istioctl").add(_apps(Injector(version), "web"))
    shape.add(_iop_ingress(inj)).add(_iop_egress(inj))
    shape.name = f"iop-gateways-{version}" + ("-with-xds-agent" if xds_agent else "")
    shape.source = f"charts/gateways/istio-ingress@{version}"
    return shape


def iop_custom_gateway(version: str = "1.24.6", name: str = "ilb-gateway") -> Shape:
    """An extra IstioOperator ingress gateway with its own name and labels
    (spec.components.ingressGateways[] {name: ilb-gateway, label: {istio: ilb-gateway}}), the documented way
    to add an internal-load-balancer gateway: neither the name nor the label says "ingressgateway"."""
    inj = Injector(version)
    shape = _control_plane(inj, "istioctl").add(_apps(inj, "intranet"))
    shape.extend(iop_gateway(inj, name, "IngressGateways", istio_label=name))
    shape.extend([istio_gateway_object("intranet-gateway", APPS_NS, {"istio": name}, ["intranet.example.com"])])
    shape.istio_gateways.add((ISTIO_NS, name))
    shape.name, shape.source = f"iop-custom-{name}-{version}", f"charts/gateways/istio-ingress@{version}"
    return shape


def eastwest(version: str = "1.22.8", network: str = "network-1") -> Shape:
    """samples/multicluster gen-eastwest-gateway.sh output: an IstioOperator gateway istio-eastwestgateway,
    label istio=eastwestgateway and topology.istio.io/network, port 15443, Gateway cross-network-gateway."""
    inj = Injector(version)
    shape = _control_plane(inj, "istioctl").add(_apps(inj, "payments"))
    shape.objects[0]["metadata"]["labels"] = {"topology.istio.io/network": network}
    objs = iop_gateway(inj, "istio-eastwestgateway", "IngressGateways", istio_label="eastwestgateway",
                       extra_labels={"topology.istio.io/network": network},
                       extra_env={"ISTIO_META_REQUESTED_NETWORK_VIEW": network, "ISTIO_META_NETWORK": network},
                       ports=[("status-port", 15021), ("tls", 15443), ("tls-istiod", 15012), ("tls-webhook", 15017)])
    objs.append(istio_gateway_object("cross-network-gateway", ISTIO_NS, {"istio": "eastwestgateway"},
                                     ["*.local"], tls_mode="AUTO_PASSTHROUGH", port=15443))
    shape.extend(objs)
    shape.istio_gateways.add((ISTIO_NS, "istio-eastwestgateway"))
    shape.name, shape.source = f"eastwest-{version}", "samples/multicluster/gen-eastwest-gateway.sh@1.22.8"
    return shape


def gateway_api_shape(version: str = "1.24.6", name: str = "public", ns: str = "web") -> Shape:
    inj = Injector(version)
    shape = _control_plane(inj, "helm").add(_apps(inj, "storefront"))
    shape.extend(gateway_api(inj, name, ns))
    shape.istio_gateways.add((ns, f"{name}-istio"))
    shape.name, shape.source = f"gateway-api-{version}", f"kube-gateway.yaml@{version}"
    return shape


def cni_shape(version: str = "1.24.6") -> Shape:
    inj = Injector(version, cni=True)
    shape = _control_plane(inj, "helm").add(_apps(inj, "inventory", "search"))
    shape.extend(istio_cni(inj))
    shape.name, shape.source = f"istio-cni-{version}", f"charts/istio-cni@{version}"
    return shape


def ambient_shape(version: str = "1.24.6") -> Shape:
    inj = Injector(version)
    shape = _control_plane(inj, "helm").add(_apps(inj, "billing"))
    shape.extend(ambient_mesh(inj))
    shape.ambient = True
    shape.other_istio_proxies.add(("ambient-apps", "waypoint"))
    shape.ambient_workloads.add(("ambient-apps", "reviews"))
    shape.name, shape.source = f"ambient-{version}", f"charts/ztunnel@{version}"
    return shape


def remote_shape(version: str = "1.28.10", primary: str = "istiod.primary.example.com", *,
                 image: str | None = None) -> Shape:
    """A remote cluster of a primary-remote mesh: `helm install istiod istio/istiod --set profile=remote --set
    global.remotePilotAddress=<primary>` (helm-profiles/remote.yaml @1.28.10: istiodRemote.enabled, configMap false,
    omitSidecarInjectorConfigMap). No istiod Deployment, no mesh ConfigMap: a selector-less Service istiod of type
    ExternalName naming the primary's istiod (remote-istiod-service.yaml), the injector webhook calling it
    (mutatingwebhook.yaml) and the values ConfigMap. The pods are injected by the primary's istiod (its CA_ADDR
    istiod.istio-system.svc:15012 reaches it through that Service); `image`: their proxyv2 pinned otherwise (by
    digest)."""
    inj = Injector(version, image=image)
    extra, notes = _install_labels("helm", version, "istiod")
    helm_labels = _istio_labels(extra)
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": f.meta(inj.istiod_name, ISTIO_NS, {"istio.io/rev": inj.rev, "app.kubernetes.io/name": "istiod",
                                                          **helm_labels}, notes),
           "spec": {"type": "ExternalName", "externalName": primary,
                    "ports": [{"name": "tcp-istiod", "port": 15012, "protocol": "TCP"},
                              {"name": "tcp-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017}]}}
    webhook = f.webhook_config("istio-sidecar-injector", service_name=inj.istiod_name, revision=inj.rev,
                               labels={"app": "sidecar-injector", "operator.istio.io/component": "Pilot",
                                       "release": "istiod", "install.operator.istio.io/owning-resource": "unknown",
                                       "app.kubernetes.io/name": "istiod", **helm_labels})
    shape = Shape("remote", "ISTIOD", objects=[namespace(ISTIO_NS), svc, webhook, values_configmap(inj)])
    shape.add(_apps(inj, "ratings", "details"))
    shape.istiod_elsewhere = True
    shape.name, shape.source = f"remote-{version}", f"helm-profiles/remote.yaml@{version}"
    return shape


def legacy_remote_shape(version: str = "1.22.8", *, release: str = "mesh-remote", revision: str = "",
                        address: str = "istiod.primary.example.com", applied_by: str = "helm",
                        image: str | None = None) -> Shape:
    """A remote cluster up to 1.23: `helm install <release> istio/istiod-remote -n istio-system --set
    global.remotePilotAddress=<address> [--set revision=<revision>]` (manifests/charts/istiod-remote/templates/
    {services,endpoints,mutatingwebhook}.yaml @1.22.8, 1.23.6; the same Service in charts/base/templates/services.yaml).

    The chart writes no label on Service istiod[-<revision>]: no selector, ports tcp-istiod 15012 and tcp-webhook
    443->15017, type ExternalName for a host name, else ClusterIP with an Endpoints object holding the IP. Its injector
    webhook carries the chart's own labels (istio.io/rev, operator.istio.io/component: Pilot, app, release). What
    marks the Service is what applied it (`applied_by`): "helm" (Helm 3's label app.kubernetes.io/managed-by=Helm and
    meta.helm.sh/release-* annotations on every object of the release: helm/helm@v3.21.4:pkg/action/validate.go
    setMetadataVisitor), "argocd" (Argo CD renders the chart itself and tracks by annotation
    argocd.argoproj.io/tracking-id), "template" (`helm template | kubectl apply`: nothing). Pods injected by the
    primary's istiod (CA_ADDR istiod[-<revision>].istio-system.svc:15012); `image`: their proxyv2 pinned otherwise."""
    inj = Injector(version, revision=revision, image=image)
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    if applied_by == "helm":
        labels = {"app.kubernetes.io/managed-by": "Helm"}
        notes = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ISTIO_NS}
    elif applied_by == "argocd":
        notes = {"argocd.argoproj.io/tracking-id": f"{release}:/Service:{ISTIO_NS}/{inj.istiod_name}"}
    is_ip = all(part.isdigit() for part in address.split("."))
    spec: dict[str, Any] = {"ports": [{"name": "tcp-istiod", "port": 15012, "protocol": "TCP", "targetPort": 15012},
                                      {"name": "tcp-webhook", "port": 443, "protocol": "TCP", "targetPort": 15017}]}
    if is_ip:
        spec.update({"type": "ClusterIP", "clusterIP": "172.16.12.50", "clusterIPs": ["172.16.12.50"]})
    else:
        spec.update({"type": "ExternalName", "externalName": address})
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": f.meta(inj.istiod_name, ISTIO_NS, labels, notes),
           "spec": spec}
    objects = [namespace(ISTIO_NS), svc]
    if is_ip:
        objects.append({"apiVersion": "v1", "kind": "Endpoints",
                        "metadata": f.meta(inj.istiod_name, ISTIO_NS, labels, notes),
                        "subsets": [{"addresses": [{"ip": address}],
                                     "ports": [{"name": "tcp-istiod", "port": 15012, "protocol": "TCP"},
                                               {"name": "tcp-webhook", "port": 15017, "protocol": "TCP"}]}]})
    webhook_name = f"istio-sidecar-injector-{revision}" if revision else "istio-sidecar-injector"
    objects.append(f.webhook_config(webhook_name, service_name=inj.istiod_name, revision=inj.rev,
                                    labels={"install.operator.istio.io/owning-resource": "unknown",
                                            "operator.istio.io/component": "Pilot", "app": "sidecar-injector",
                                            "release": release, **labels}, annotations=notes or None))
    shape = Shape("remote", "ISTIOD", objects=objects)
    shape.add(_apps(inj, "ratings", "details"))
    shape.istiod_elsewhere = True
    shape.name = f"remote-{applied_by}-{release}-{version}"
    shape.source = f"istiod-remote/templates/services.yaml@{version}"
    return shape


def grpc_agent_shape(version: str = "1.24.6") -> Shape:
    inj = Injector(version)
    shape = _control_plane(inj, "istioctl").add(_apps(inj, "grpc-echo", template="grpc-agent"))
    shape.name, shape.source = f"proxyless-grpc-{version}", "grpc-agent.yaml.injected@1.24.6"
    return shape


def native_sidecar_shape(version: str = "1.30.3") -> Shape:
    inj = Injector(version, native=True)
    shape = _control_plane(inj, "helm").add(_apps(inj, "ledger", "audit-log"))
    shape.name, shape.source = f"native-sidecars-{version}", "native-sidecar.yaml.injected@1.24.6"
    return shape


def mirrored_shape(image: str, label: str, version: str = "1.22.3") -> Shape:
    """Istio's proxyv2 mirrored into the team's own Alibaba Cloud registry (hub set to the mirror)."""
    hub = image.rsplit("/", 1)[0]
    inj = Injector(version, hub=hub, image=image)
    shape = _control_plane(inj, "istioctl").add(_apps(inj, "catalog", "accounts"))
    shape.name, shape.source = f"mirrored-{label}-{version}", f"injection-template.yaml@{version} (hub=mirror)"
    return shape


def all_shapes() -> list[Shape]:
    """Every install shape of the corpus (fresh objects on each call)."""
    return [
        istioctl_profile("default", "1.10.6"),
        istioctl_profile("demo", "1.14.6"),
        istioctl_profile("minimal", "1.18.7"),
        istioctl_profile("default", "1.24.6"),
        helm_revision("1.22.8", ""),
        helm_revision("1.24.2", "1-24-2"),
        helm_revision("1.18.7", "1-18-7", hub="gcr.io/istio-release"),
        helm_revision("1.26.3", "1-26-3"),
        helm_revision("1.28.10", "1-28-10"),
        revision_tags(),
        revision_tags("1.28.10", "1-28-10"),
        remote_shape(),
        legacy_remote_shape(),
        legacy_remote_shape("1.18.7", release="mesh", address="10.10.0.15", applied_by="argocd",
                            image="registry.example.com/mesh/proxyv2@sha256:" + "cd" * 32),
        canary(),
        gateway_chart("istio-ingress", "istio-ingress"),
        gateway_chart("istio-ingressgateway", ISTIO_NS),
        gateway_chart("edge-gw", "edge", version="1.30.3"),
        iop_gateways(),
        iop_custom_gateway(),
        eastwest(),
        gateway_api_shape("1.24.6"),
        gateway_api_shape("1.18.7", name="internal", ns="internal"),
        cni_shape(),
        ambient_shape(),
        grpc_agent_shape(),
        native_sidecar_shape(),
        mirrored_shape("registry.cn-hangzhou.aliyuncs.com/acme/proxyv2:1.22.3", "acr"),
        mirrored_shape("acme-registry.cn-hangzhou.cr.aliyuncs.com/mesh/proxyv2:1.22.3", "acr-ee"),
    ]


def moved_to_asm(shape: Shape, ns: str = "moved") -> Shape:
    """Add ASM's traces to a shape: the headless istiod-1-24-6 Service and workloads on ASM proxies."""
    shape.extend([namespace(ns, {"istio.io/rev": ASM_REVISION}), asm_istiod_service()])
    for name in ("cart", "payment"):
        shape.extend(asm_workload(name, ns))
        shape.asm_workloads.add((ns, name))
    return shape


def shape_by_name(name: str) -> Shape:
    for shape in all_shapes():
        if shape.name == name:
            return shape
    raise KeyError(name)



# ---------------------------------------------------------------- the Sail operator (istio-ecosystem/sail-operator)
# Sources (path@tag in istio-ecosystem/sail-operator): chart/templates/deployment.yaml, chart/values.yaml @1.30.3
# (Deployment sail-operator, labels app.kubernetes.io/component: sail-operator, part-of/created-by sailoperator,
# control-plane: sail-operator; `helm install sail-operator ... --namespace sail-operator`, chart/README.md);
# api/v1/{istio,istiorevision,istiocni}_types.go (group sailoperator.io, v1, cluster-scoped);
# controllers/istio/istio_controller.go (revision `<istio>` for InPlace, `<istio>-<version with dashes>` for
# RevisionBased; the IstioRevision owned by its Istio); pkg/reconcile/istiod.go (Helm releases `<revision>-istiod`
# in the Istio namespace and `default-base` for the default revision), pkg/reconcile/cni.go (release istio-cni);
# pkg/helm/postrenderer.go + chartmanager.go (every rendered object gets label managed-by: sail-operator and, owner
# namespace "", an ownerReference to its IstioRevision / IstioCNI); resources/v1.30.3/charts/istiod/templates/
# validatingwebhookconfiguration.yaml and charts/base/templates/defaultrevision-validatingwebhookconfiguration.yaml
# (istio-validator-istio-system and istiod-default-validator carry no operator.istio.io/component).
SAIL_NS = "sail-operator"
SAIL_GROUP_VERSION = "sailoperator.io/v1"


def sail_owner(kind: str, name: str) -> dict[str, Any]:
    """The ownerReference sail-operator's post-renderer adds (controller reference to the cluster-scoped CR)."""
    return {"apiVersion": SAIL_GROUP_VERSION, "kind": kind, "name": name, "uid": f._uid("sail", kind, name),
            "controller": True, "blockOwnerDeletion": True}


def sail_resource(kind: str, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None,
                  owner: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = f.meta(name, None)
    meta["uid"] = f._uid("sail", kind, name)
    meta["finalizers"] = ["sailoperator.io/sail-operator"] if kind != "Istio" else []
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": SAIL_GROUP_VERSION, "kind": kind, "metadata": meta, "spec": spec,
            "status": status or {"state": "Healthy"}}


def sail_operator(version: str = "1.30.3", ns: str = SAIL_NS) -> list[dict[str, Any]]:
    """The sail-operator Deployment as its Helm chart renders it (chart/templates/deployment.yaml @1.30.3)."""
    labels = {"app.kubernetes.io/component": "sail-operator", "app.kubernetes.io/created-by": "sailoperator",
              "app.kubernetes.io/instance": "sail-operator", "app.kubernetes.io/managed-by": "helm",
              "app.kubernetes.io/name": "deployment", "app.kubernetes.io/part-of": "sailoperator",
              "control-plane": "sail-operator"}
    selector = {"app.kubernetes.io/created-by": "sailoperator", "app.kubernetes.io/part-of": "sailoperator",
                "control-plane": "sail-operator"}
    container = {"name": "sail-operator", "image": f"quay.io/sail-dev/sail-operator:{version}",
                 "command": ["/sail-operator"],
                 "args": ["--health-probe-bind-address=:8081", "--metrics-bind-address=:8443", "--zap-log-level=info"]}
    dep = _deployment("sail-operator", ns, labels=labels, selector=selector, template_labels=selector,
                      template_annotations={"kubectl.kubernetes.io/default-container": "sail-operator"},
                      containers=[container], replicas=1,
                      annotations={"meta.helm.sh/release-name": "sail-operator",
                                   "meta.helm.sh/release-namespace": ns})
    dep["spec"]["template"]["spec"]["serviceAccountName"] = "sail-operator"
    rs = _replicaset(dep)
    return [namespace(ns), dep, rs, *_pods(rs, 1, None)]


def _sail_rendered(obj: dict[str, Any], release: str, owner: dict[str, Any],
                   release_namespace: str = "") -> dict[str, Any]:
    """What sail-operator's Helm post-renderer and its Helm install make of a chart's object."""
    meta = obj["metadata"]
    labels = meta.setdefault("labels", {})
    labels["managed-by"] = "sail-operator"
    for key in ("release", "app.kubernetes.io/instance"):
        if key in labels:
            labels[key] = release
    if "helm.sh/chart" in labels or obj["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        labels.setdefault("app.kubernetes.io/managed-by", "Helm")
        labels.setdefault("app.kubernetes.io/part-of", "istio")
    notes = meta.setdefault("annotations", {})
    notes["meta.helm.sh/release-name"] = release
    notes["meta.helm.sh/release-namespace"] = release_namespace or meta.get("namespace") or ISTIO_NS
    if obj["kind"] not in ("ReplicaSet", "Pod"):
        meta["ownerReferences"] = [*meta.get("ownerReferences", []), owner]
    return obj


def sail_shape(version: str = "1.30.3", *, revision_based: bool = False, cni: bool = False) -> Shape:
    """Istio installed by sail-operator: `Istio` default (InPlace: revision default; RevisionBased: revision
    default-v1-30-3 behind IstioRevisionTag default), optionally `IstioCNI` default (namespace istio-cni)."""
    revision = f"default-v{version.replace('.', '-')}" if revision_based else ""
    rev_name = revision or "default"
    inj = Injector(version, revision, hub="registry.istio.io/release", cni=cni)
    owner = sail_owner("IstioRevision", rev_name)
    release = f"{rev_name}-istiod"
    shape = Shape(f"sail-{'revision-based' if revision_based else 'inplace'}{'-cni' if cni else ''}-{version}",
                  "sail-operator chart/, pkg/helm/postrenderer.go @1.30.3")
    shape.extend(sail_operator())
    istio_spec = {"version": f"v{version}", "namespace": ISTIO_NS,
                  "updateStrategy": {"type": "RevisionBased" if revision_based else "InPlace",
                                     "inactiveRevisionDeletionGracePeriodSeconds": 30}}
    istio_cr = sail_resource("Istio", "default", istio_spec,
                             {"state": "Healthy", "activeRevisionName": rev_name,
                              "revisions": {"total": 1, "ready": 1, "inUse": 1}})
    rev_cr = sail_resource("IstioRevision", rev_name, {"version": f"v{version}", "namespace": ISTIO_NS,
                                                       "values": {"revision": revision}},
                           owner=sail_owner("Istio", "default"))
    shape.extend([istio_cr, rev_cr])
    plane = istiod(inj, method="helm")
    for obj in plane:
        if obj["kind"] in ("ReplicaSet", "Pod"):
            continue
        _sail_rendered(obj, release, owner)
    validator = f.webhook_config(f"istio-validator{'-' + revision if revision else ''}-{ISTIO_NS}", mutating=False,
                                 service_name=inj.istiod_name, revision=rev_name, failure_policy="Ignore",
                                 labels={"app": "istiod", "release": release, "istio": "istiod",
                                         "app.kubernetes.io/name": "istiod"})
    plane.append(_sail_rendered(validator, release, owner))
    shape.add(Shape("istiod", "ISTIOD", objects=[namespace(ISTIO_NS), *plane]))
    shape.istio_versions.add(version)
    if revision_based:
        tag_owner = sail_owner("IstioRevisionTag", "default")
        shape.extend([sail_resource("IstioRevisionTag", "default", {"targetRef": {"kind": "Istio", "name": "default"}},
                                    {"state": "Healthy", "istioRevision": rev_name}),
                      _sail_rendered(revision_tag("default", inj), "default-revisiontags", tag_owner)])
    base_owner = sail_owner("IstioRevisionTag", "default") if revision_based else owner
    default_validator = f.webhook_config("istiod-default-validator", mutating=False, service_name=inj.istiod_name,
                                         revision=rev_name, failure_policy="Ignore",
                                         labels={"app": "istiod", "release": "default-base", "istio": "istiod",
                                                 "app.kubernetes.io/name": "istiod"})
    shape.extend([_sail_rendered(default_validator, "default-base", base_owner, SAIL_NS)])
    if cni:
        cni_owner = sail_owner("IstioCNI", "default")
        shape.extend([namespace("istio-cni"),
                      sail_resource("IstioCNI", "default", {"version": f"v{version}", "namespace": "istio-cni"})])
        for obj in istio_cni(inj):
            obj["metadata"]["namespace"] = "istio-cni"
            shape.extend([_sail_rendered(obj, "istio-cni", cni_owner)])
    shape.add(_apps(inj, "ratings", "details"))
    return shape
