"""The resource kinds the auditor may read. Checks name them in `needs`; the engine collects each once.

Versions are candidates in order of preference: the served one is discovered at run time, because
Istio CRDs and ASMMigrateFromIstio are served as v1 or v1beta1 depending on the release.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    # Stable id used in snapshots, logs and RBAC: `pods`, `virtualservices.networking.istio.io`. Computed once:
    # read ~50,000 times per audit (every inventory lookup), where a property built a new string each time. Derived
    # from the fields above, so not compared or hashed.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.plural}.{self.group}" if self.group else self.plural)

    def __str__(self) -> str:
        return self.kind


def _k(kind: str, group: str, versions: str, plural: str, namespaced: bool = True) -> Kind:
    return Kind(kind, group, tuple(versions.split(",")), plural, namespaced)


POD = _k("Pod", "", "v1", "pods")
SERVICE = _k("Service", "", "v1", "services")
CONFIGMAP = _k("ConfigMap", "", "v1", "configmaps")
NAMESPACE = _k("Namespace", "", "v1", "namespaces", namespaced=False)
SERVICEACCOUNT = _k("ServiceAccount", "", "v1", "serviceaccounts")
DEPLOYMENT = _k("Deployment", "apps", "v1", "deployments")
REPLICASET = _k("ReplicaSet", "apps", "v1", "replicasets")
# Read for its pod template: `istioctl kube-inject` injects ReplicationControllers too
# (istio/istio pkg/kube/inject/testdata/inject/replicationcontroller.yaml.injected @1.22.8..1.30.3).
REPLICATIONCONTROLLER = _k("ReplicationController", "", "v1", "replicationcontrollers")
# OpenKruise's CloneSet (openkruise/kruise@v1.9.0:apis/apps/v1alpha1/cloneset_types.go): owns its pods directly, from
# spec.template (pkg/controller/cloneset/core/cloneset_core.go); not served where OpenKruise is not installed.
CLONESET = _k("CloneSet", "apps.kruise.io", "v1alpha1", "clonesets")
STATEFULSET = _k("StatefulSet", "apps", "v1", "statefulsets")
DAEMONSET = _k("DaemonSet", "apps", "v1", "daemonsets")
# OpenKruise's Advanced StatefulSet and Advanced DaemonSet (openkruise/kruise@v1.9.0: apis/apps/v1beta1/
# statefulset_types.go, daemonset_types.go; CRDs serve v1beta1 (stored) and v1alpha1): they own their pods directly,
# made from spec.template, with a controller reference of the built-ins' kind names (NewControllerRef(set,
# apps.kruise.io/v1beta1 StatefulSet | DaemonSet): pkg/controller/statefulset/stateful_set_utils.go newStatefulSetPod,
# pkg/controller/daemonset/daemonset_controller.go). Not served where OpenKruise is not installed: read as none.
ADVANCED_STATEFULSET = _k("StatefulSet", "apps.kruise.io", "v1beta1,v1alpha1", "statefulsets")
ADVANCED_DAEMONSET = _k("DaemonSet", "apps.kruise.io", "v1beta1,v1alpha1", "daemonsets")
# The workload kind of a kind whose name is a built-in's, said with its group (findings, commands: `kubectl patch
# statefulset/x` names the apps/v1 one). Every other kind's workload kind is its name.
_WORKLOAD_KINDS = {ADVANCED_STATEFULSET.key: "StatefulSet.apps.kruise.io",
                   ADVANCED_DAEMONSET.key: "DaemonSet.apps.kruise.io"}
ADVANCED_KINDS = (ADVANCED_STATEFULSET, ADVANCED_DAEMONSET)


def workload_kind(kind: Kind) -> str:
    """The kind a workload of `kind` is named by (a pod frame's workload_kind, a finding's kind)."""
    return _WORKLOAD_KINDS.get(kind.key, kind.kind)
# Knative Serving's Revision (knative/serving@knative-v1.23.0 pkg/apis/serving/v1/revision_types.go; CRD
# revisions.serving.knative.dev): it owns the Deployment its pods are made from (pkg/reconciler/revision/resources/
# deploy.go), and its label serving.knative.dev/routingState says whether a Route's traffic names it
# (revision_helpers.go: "reserve" once none does). Not served where Knative is not installed: read as none.
KNATIVE_REVISION = _k("Revision", "serving.knative.dev", "v1", "revisions")
# Argo Rollouts' Rollout (argoproj/argo-rollouts@v1.8.4 pkg/apis/rollouts/v1alpha1/types.go; CRD rollouts.argoproj.io,
# v1alpha1 only): it owns the ReplicaSets its pods are made from (labelled rollouts-pod-template-hash), from its
# spec.template or the template of the Deployment its spec.workloadRef names; spec.paused and status.pauseConditions
# hold its update, status.stableRS names the ReplicaSet it keeps until the update is promoted. Not served where Argo
# Rollouts is not installed: read as none.
ARGO_ROLLOUT = _k("Rollout", "argoproj.io", "v1alpha1", "rollouts")
JOB = _k("Job", "batch", "v1", "jobs")
CRONJOB = _k("CronJob", "batch", "v1,v1beta1", "cronjobs")
PDB = _k("PodDisruptionBudget", "policy", "v1,v1beta1", "poddisruptionbudgets")
MUTATING_WEBHOOK = _k("MutatingWebhookConfiguration", "admissionregistration.k8s.io", "v1",
                      "mutatingwebhookconfigurations", namespaced=False)
VALIDATING_WEBHOOK = _k("ValidatingWebhookConfiguration", "admissionregistration.k8s.io", "v1",
                        "validatingwebhookconfigurations", namespaced=False)
VALIDATING_ADMISSION_POLICY = _k("ValidatingAdmissionPolicy", "admissionregistration.k8s.io",
                                 "v1,v1beta1", "validatingadmissionpolicies", namespaced=False)
VALIDATING_ADMISSION_POLICY_BINDING = _k("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io",
                                         "v1,v1beta1", "validatingadmissionpolicybindings", namespaced=False)
CRD = _k("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions",
         namespaced=False)
CLUSTERROLE = _k("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False)
CLUSTERROLEBINDING = _k("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                        namespaced=False)

# Istio APIs (also served by ASM on its control plane).
_NET = "networking.istio.io"
_SEC = "security.istio.io"
VIRTUALSERVICE = _k("VirtualService", _NET, "v1,v1beta1,v1alpha3", "virtualservices")
DESTINATIONRULE = _k("DestinationRule", _NET, "v1,v1beta1,v1alpha3", "destinationrules")
GATEWAY = _k("Gateway", _NET, "v1,v1beta1,v1alpha3", "gateways")
SERVICEENTRY = _k("ServiceEntry", _NET, "v1,v1beta1,v1alpha3", "serviceentries")
SIDECAR = _k("Sidecar", _NET, "v1,v1beta1,v1alpha3", "sidecars")
WORKLOADENTRY = _k("WorkloadEntry", _NET, "v1,v1beta1,v1alpha3", "workloadentries")
WORKLOADGROUP = _k("WorkloadGroup", _NET, "v1,v1beta1,v1alpha3", "workloadgroups")
ENVOYFILTER = _k("EnvoyFilter", _NET, "v1alpha3", "envoyfilters")
PROXYCONFIG = _k("ProxyConfig", _NET, "v1beta1", "proxyconfigs")
AUTHORIZATIONPOLICY = _k("AuthorizationPolicy", _SEC, "v1,v1beta1", "authorizationpolicies")
PEERAUTHENTICATION = _k("PeerAuthentication", _SEC, "v1,v1beta1", "peerauthentications")
REQUESTAUTHENTICATION = _k("RequestAuthentication", _SEC, "v1,v1beta1", "requestauthentications")
TELEMETRY = _k("Telemetry", "telemetry.istio.io", "v1,v1alpha1", "telemetries")
WASMPLUGIN = _k("WasmPlugin", "extensions.istio.io", "v1alpha1", "wasmplugins")
# Istio 1.30's Lua and WebAssembly filters (istio/istio@1.30.0 manifests/charts/base/files/crd-all.gen.yaml,
# pkg/config/schema/metadata.yaml; release note "Added TrafficExtension API"; pilot/pkg/model/push_context.go
# initTrafficExtensions): not served before 1.30.
TRAFFICEXTENSION = _k("TrafficExtension", "extensions.istio.io", "v1alpha1", "trafficextensions")
ISTIOOPERATOR = _k("IstioOperator", "install.istio.io", "v1alpha1", "istiooperators")
# The Sail operator's resources (istio-ecosystem/sail-operator api/v1/*_types.go @1.30.3: group sailoperator.io, v1,
# v1alpha1 before; all cluster-scoped). While they exist, the operator (re)installs what they describe.
_SAIL = "sailoperator.io"
SAIL_ISTIO = _k("Istio", _SAIL, "v1,v1alpha1", "istios", namespaced=False)
SAIL_ISTIOREVISION = _k("IstioRevision", _SAIL, "v1,v1alpha1", "istiorevisions", namespaced=False)
SAIL_ISTIOREVISIONTAG = _k("IstioRevisionTag", _SAIL, "v1,v1alpha1", "istiorevisiontags", namespaced=False)
SAIL_ISTIOCNI = _k("IstioCNI", _SAIL, "v1,v1alpha1", "istiocnis", namespaced=False)
SAIL_ZTUNNEL = _k("ZTunnel", _SAIL, "v1,v1alpha1", "ztunnels", namespaced=False)
# The user-facing ones first: deleting an Istio deletes the IstioRevisions it owns.
SAIL_KINDS: tuple[Kind, ...] = (SAIL_ISTIO, SAIL_ISTIOCNI, SAIL_ZTUNNEL, SAIL_ISTIOREVISIONTAG, SAIL_ISTIOREVISION)

ISTIO_API_KINDS: tuple[Kind, ...] = (
    VIRTUALSERVICE, DESTINATIONRULE, GATEWAY, SERVICEENTRY, SIDECAR, WORKLOADENTRY, WORKLOADGROUP,
    ENVOYFILTER, PROXYCONFIG, AUTHORIZATIONPOLICY, PEERAUTHENTICATION, REQUESTAUTHENTICATION,
    TELEMETRY, WASMPLUGIN, TRAFFICEXTENSION,
)

# Gateway API (gateway.networking.k8s.io): Istio implements it (GatewayClass `istio`, controller
# istio.io/gateway-controller), and so does ASM on its control plane. Not Istio's `Gateway` above (K.GATEWAY):
# these are K8S_*. Served versions differ by Gateway API release (GA kinds v1 since v1.0, GRPCRoute v1 since
# v1.1, TCPRoute/TLSRoute still v1alpha2 in most installs). UDPRoute is left out: Istio does not implement it.
_GWAPI = "gateway.networking.k8s.io"
K8S_GATEWAYCLASS = _k("GatewayClass", _GWAPI, "v1,v1beta1", "gatewayclasses", namespaced=False)
K8S_GATEWAY = _k("Gateway", _GWAPI, "v1,v1beta1", "gateways")
K8S_HTTPROUTE = _k("HTTPRoute", _GWAPI, "v1,v1beta1", "httproutes")
K8S_GRPCROUTE = _k("GRPCRoute", _GWAPI, "v1,v1alpha2", "grpcroutes")
K8S_TCPROUTE = _k("TCPRoute", _GWAPI, "v1,v1alpha2", "tcproutes")
K8S_TLSROUTE = _k("TLSRoute", _GWAPI, "v1,v1alpha2", "tlsroutes")
K8S_REFERENCEGRANT = _k("ReferenceGrant", _GWAPI, "v1,v1beta1,v1alpha2", "referencegrants")
K8S_ROUTE_KINDS: tuple[Kind, ...] = (K8S_HTTPROUTE, K8S_GRPCROUTE, K8S_TCPROUTE, K8S_TLSROUTE)
# Namespaced Gateway API configuration Istio serves; GatewayClass is cluster-wide and created by istiod.
GATEWAY_API_CONFIG_KINDS: tuple[Kind, ...] = (K8S_GATEWAY, *K8S_ROUTE_KINDS, K8S_REFERENCEGRANT)
GATEWAY_API_KINDS: tuple[Kind, ...] = (K8S_GATEWAYCLASS, *GATEWAY_API_CONFIG_KINDS)

# Kubernetes Ingress: istiod turns those of its class into Gateway listeners on the pods its mesh config's
# ingressSelector picks (istio/istio@1.24.6:pilot/pkg/config/kube/ingress/controller.go, conversion.go; v1 only since
# 1.22's fork of the controller). IngressClass is cluster-scoped (its spec.controller tells Istio's).
INGRESS = _k("Ingress", "networking.k8s.io", "v1", "ingresses")
INGRESSCLASS = _k("IngressClass", "networking.k8s.io", "v1", "ingressclasses", namespaced=False)
# The ALB Ingress controller's AlbConfig (alibaba/alibaba-load-balancer-controller@v1.2.0: pkg/apis/alibabacloud/v1/
# albconfig_types.go; CRD albconfigs.alibabacloud.com, v1, cluster-scoped by pkg/controller/ingress/register.go): one
# ALB instance, named by an ALB IngressClass's spec.parameters; its spec.config.addressType says whether the ALB is
# internet-facing (asm-gateway reach of an ALB Ingress in front of ASM's gateway). Not served where the controller is
# not installed: read as none; a snapshot taken before it was read leaves an ALB front untold, as it was.
ALBCONFIG = _k("AlbConfig", "alibabacloud.com", "v1", "albconfigs", namespaced=False)

# The GitOps controllers' own objects: what they install from (checks/gitops.py, gitops-reinstall). Argo CD's
# Application and ApplicationSet (argoproj/argo-cd@v3.5.1 pkg/apis/application/v1alpha1/types.go,
# applicationset_types.go: v1alpha1 only); Flux's HelmRelease (fluxcd/helm-controller@v1.6.3 api/v2: v2 served, v2beta2
# and v2beta1 by older releases) and Kustomization (fluxcd/kustomize-controller@v1.9.4 api/v1: v1, v1beta2 before).
# Not served where the controller is not installed: read as none.
ARGO_APPLICATION = _k("Application", "argoproj.io", "v1alpha1", "applications")
ARGO_APPLICATIONSET = _k("ApplicationSet", "argoproj.io", "v1alpha1", "applicationsets")
FLUX_HELMRELEASE = _k("HelmRelease", "helm.toolkit.fluxcd.io", "v2,v2beta2,v2beta1", "helmreleases")
FLUX_KUSTOMIZATION = _k("Kustomization", "kustomize.toolkit.fluxcd.io", "v1,v1beta2", "kustomizations")
GITOPS_KINDS: tuple[Kind, ...] = (ARGO_APPLICATION, ARGO_APPLICATIONSET, FLUX_HELMRELEASE, FLUX_KUSTOMIZATION)
# The chart sources a HelmRelease's spec.chartRef names (fluxcd/helm-controller@v1.6.3 api/v2/reference_types.go
# CrossNamespaceSourceReference: OCIRepository, HelmChart or ExternalArtifact): fluxcd/source-controller@v1.9.1
# api/v1 ocirepository_types.go (spec.url, the chart's own OCI address) and helmchart_types.go (spec.chart, a name or a
# path in its source); v1 served since Flux 2.6 (OCIRepository) / 2.2 (HelmChart), v1beta2 before.
FLUX_OCIREPOSITORY = _k("OCIRepository", "source.toolkit.fluxcd.io", "v1,v1beta2", "ocirepositories")
FLUX_HELMCHART = _k("HelmChart", "source.toolkit.fluxcd.io", "v1,v1beta2", "helmcharts")
# Rancher Fleet's Bundle (rancher/fleet@v0.16.1 pkg/apis/fleet.cattle.io/v1alpha1/bundle_types.go: spec.helm{chart,
# repo}, spec.resources[]{name,content,encoding} or spec.contentsId when they are in OCI, status.ociReference; the
# status.resourceKey[] Fleet up to v0.12 wrote), in the cluster running Fleet's manager; and
# KubeVela's Application (kubevela/kubevela@v1.10.9 apis/core.oam.dev/v1beta1/application_types.go: spec.components,
# status.appliedResources[] of common.ClusterObjectReference), where KubeVela runs. Their markers stay on the objects
# they applied, which the purge deletes: these are what applies them again. Not served where not installed.
FLEET_BUNDLE = _k("Bundle", "fleet.cattle.io", "v1alpha1", "bundles")
KUBEVELA_APPLICATION = _k("Application", "core.oam.dev", "v1beta1", "applications")
# Read by gitops-reinstall only where they matter (a chartRef without a release history; a Fleet or KubeVela CRD the
# cluster defines): a snapshot taken before they were read is judged as it was.
GITOPS_OPTIONAL_KINDS: tuple[Kind, ...] = (FLUX_OCIREPOSITORY, FLUX_HELMCHART, FLEET_BUNDLE, KUBEVELA_APPLICATION)

# ASM control-plane APIs.
_ASM = "istio.alibabacloud.com"
ASM_MIGRATION = _k("ASMMigrateFromIstio", _ASM, "v1beta1,v1", "asmmigratefromistios", namespaced=False)
ISTIO_GATEWAY_ASM = _k("IstioGateway", _ASM, "v1beta1,v1", "istiogateways")

ALL_KINDS: tuple[Kind, ...] = (
    POD, SERVICE, CONFIGMAP, NAMESPACE, SERVICEACCOUNT, DEPLOYMENT, REPLICASET, REPLICATIONCONTROLLER, CLONESET,
    STATEFULSET, DAEMONSET, *ADVANCED_KINDS, KNATIVE_REVISION, ARGO_ROLLOUT, JOB, CRONJOB, PDB, MUTATING_WEBHOOK,
    VALIDATING_WEBHOOK, VALIDATING_ADMISSION_POLICY, VALIDATING_ADMISSION_POLICY_BINDING, CRD,
    CLUSTERROLE, CLUSTERROLEBINDING, *ISTIO_API_KINDS, *GATEWAY_API_KINDS, INGRESS, INGRESSCLASS, ALBCONFIG,
    ISTIOOPERATOR, *SAIL_KINDS, *GITOPS_KINDS, *GITOPS_OPTIONAL_KINDS, ASM_MIGRATION, ISTIO_GATEWAY_ASM,
)

BY_GROUP_KIND: dict[tuple[str, str], Kind] = {(k.group, k.kind): k for k in ALL_KINDS}
BY_KEY: dict[str, Kind] = {k.key: k for k in ALL_KINDS}


def kind_of(obj: dict) -> Kind | None:
    """The Kind of a raw object from its apiVersion/kind, or None when the auditor does not read it."""
    api_version = obj.get("apiVersion") or ""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return BY_GROUP_KIND.get((group, obj.get("kind") or ""))
