"""The shapes checks rely on, for objects read from a snapshot or a live API server.

What the API server guarantees for the fields checks read, so that a malformed object is refused (a snapshot:
exit 2 naming the object; live: its kind UNKNOWN for that cluster, naming the object) instead of being read as
"no sidecar here" and passing.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

import msgspec

from auditor import wire


def object_problem(kind: str, doc: dict[str, Any], checked: bool = False) -> str | None:
    """What is wrong with one object of `kind`, naming it ("Pod 'shop/web-1': spec is missing"), or None.

    `checked`: a Pod decoded by auditor.podwire, whose msgspec types already enforce these rules (but not
    metadata.name).
    """
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return f"{kind} object without metadata.name"
    problem = None if checked or _fits(kind, doc) else _metadata_problem(meta) or _body_problem(kind, doc)
    if problem is None:
        return None
    namespace = meta.get("namespace")
    name = f"{namespace}/{meta['name']}" if isinstance(namespace, str) and namespace else meta["name"]
    return f"{kind} {name!r}: {problem}"


# What the API server guarantees for the fields checks read, so that a malformed snapshot is refused
# (exit 2, naming the object) instead of being read as "no sidecar here" and passing. A schema is a type,
# a tuple of types, [item schema], or {key: schema}; keys are optional unless listed in _REQUIRED under
# the schema's name. null counts as absent for optional keys, as kubectl omits them.
_ENV = {"name": str, "value": str, "valueFrom": dict}
_CONTAINER = {"name": str, "image": str, "args": [str], "command": [str], "env": [_ENV],
              "ports": [{"name": str}], "lifecycle": {"preStop": dict}, "restartPolicy": str}
_POD_SPEC = {"containers": [_CONTAINER], "initContainers": [_CONTAINER], "terminationGracePeriodSeconds": int}
# What a workload's pod template tells of the ConfigMaps and ServiceAccount it runs with (auditor/gateways.py
# template_config_maps, template_service_account: purge-preview, istio-residue, istio-control-plane-removed keep what
# ASM's proxies read). kubernetes/api core/v1 types.go: Volume.Name string (required), ConfigMapVolumeSource and
# ConfigMapProjection/ConfigMapEnvSource/ConfigMapKeySelector's LocalObjectReference.Name string,
# ProjectedVolumeSource.Sources []VolumeProjection, Container.EnvFrom []EnvFromSource, PodSpec.ServiceAccountName and
# DeprecatedServiceAccount (`serviceAccount`) string. A list as a volume's configMap name, volumes or projected sources
# as a map, were read as no ConfigMap: an ASM gateway mounting Istio's mesh config `istio` let the purge delete it
# (PASS AA2501); a configMap or projected source that is no object crashed the check (AA0002, naming no object).
_REF = {"name": str}
_TEMPLATE_ENV = {**_ENV, "valueFrom": {"configMapKeyRef": _REF}}
_TEMPLATE_CONTAINER = {**_CONTAINER, "env": [_TEMPLATE_ENV], "envFrom": [{"configMapRef": _REF}]}
_TEMPLATE_SPEC = {**_POD_SPEC, "containers": [_TEMPLATE_CONTAINER], "initContainers": [_TEMPLATE_CONTAINER],
                  "volumes": [{"name": str, "configMap": _REF, "projected": {"sources": [{"configMap": _REF}]}}],
                  "serviceAccountName": str, "serviceAccount": str}
_TEMPLATE = {"metadata": {"labels": {str: str}, "annotations": {str: str}}, "spec": _TEMPLATE_SPEC}
_POD_STATUS = {"phase": str, "startTime": str, "conditions": [{"type": str, "status": str}],
               "containerStatuses": [{"restartCount": int}], "initContainerStatuses": [{"restartCount": int}]}
_CONDITION = {"type": str, "status": str, "reason": str, "message": str}
_ROLLOUT_STATUS = {"replicas": int, "availableReplicas": int, "readyReplicas": int, "conditions": [_CONDITION]}
# Routes as egress-routes-to-asm and the gateway readers walk them (checks/gateways.py route_splits,
# gateway_api_splits; auditor/gateways.py). Istio's CRDs type them (istio/istio@1.30.3:manifests/charts/base/files/
# crd-all.gen.yaml: VirtualService http/tcp/tls arrays, route[].destination.host string), as do the Gateway API's
# (istio/istio@1.30.3:tests/integration/pilot/testdata/gateway-api-crd.yaml: rules[].backendRefs[] name/namespace/kind/
# group strings). A dict as `http`, `route`, `rules` or `backendRefs`, or a list as a host or backend name, was walked
# as no route at all (NOT_APPLICABLE AA1640) or as another destination (PASS AA1601/AA1602). Weights are left to the
# check (UNKNOWN AA1631, naming the route).
_VS_MATCH = [{"gateways": [str]}]
_VS_ROUTE = [{"destination": {"host": str}}]
_VS_SPEC = {"hosts": [str], "gateways": [str],
            "http": [{"route": _VS_ROUTE, "mirror": {"host": str}, "mirrors": [{"destination": {"host": str}}],
                      "match": _VS_MATCH}],
            "tcp": [{"route": _VS_ROUTE, "match": _VS_MATCH}], "tls": [{"route": _VS_ROUTE, "match": _VS_MATCH}]}
_GWAPI_REF = {"group": str, "kind": str, "name": str, "namespace": str}
_INGRESS_BACKEND = {"service": {"name": str}}
_GWAPI_FILTERS = [{"type": str, "requestMirror": {"backendRef": _GWAPI_REF}}]
_GWAPI_ROUTE = {"spec": {"parentRefs": [_GWAPI_REF], "hostnames": [str],
                         "rules": [{"backendRefs": [{**_GWAPI_REF, "filters": _GWAPI_FILTERS}],
                                    "filters": _GWAPI_FILTERS}]}}
_BODIES: dict[str, dict[str, Any]] = {
    "Pod": {"spec": _POD_SPEC, "status": _POD_STATUS},
    # The controllers' counts asm-proxies-ready compares (auditor/rollouts.py; kubernetes/api apps/v1 types.go: int32):
    # "0", 0.0, true or [0] as availableReplicas was read as no count, and a moved workload running nothing passed.
    "Deployment": {"spec": {"replicas": int, "template": _TEMPLATE}, "status": _ROLLOUT_STATUS},
    "StatefulSet": {"spec": {"replicas": int, "template": _TEMPLATE}, "status": _ROLLOUT_STATUS},
    "DaemonSet": {"spec": {"template": _TEMPLATE},
                  "status": {"desiredNumberScheduled": int, "numberAvailable": int, "conditions": [_CONDITION]}},
    "ReplicaSet": {"spec": {"replicas": int, "template": _TEMPLATE}},
    # The template kinds manual-injection reads beside them (auditor/istio.TEMPLATE_KINDS; kubernetes/api core/v1
    # ReplicationControllerSpec.Template *PodTemplateSpec; openkruise/kruise@v1.9.0 CloneSetSpec.Template
    # v1.PodTemplateSpec): a template that is no object was skipped as "no template", and a kube-injected one passed.
    "ReplicationController": {"spec": {"replicas": int, "template": _TEMPLATE}},
    "CloneSet": {"spec": {"replicas": int, "template": _TEMPLATE}},
    "Job": {"spec": {"template": _TEMPLATE}},
    "CronJob": {"spec": {"jobTemplate": {"spec": {"template": _TEMPLATE}}}},
    "ConfigMap": {"data": {str: str}},
    # The addresses auditor.remote compares (a remote's install vs its primary's exposed istiod): a list or a number
    # there was read as no address, and the link stood on the annotation alone.
    "Service": {"spec": {"ports": [dict], "selector": {str: str}, "type": str, "externalName": str,
                         "externalIPs": [str], "loadBalancerIP": str, "loadBalancerClass": str},
                "status": {"loadBalancer": {"ingress": [{"ip": str, "hostname": str}]}}},
    # The Service each webhook calls: an Istio injector's tells a remote install's istiod Service from ASM's
    # (mesh.istio_injector_services); a list as its name was read as no Service, and the istiod Service taken for ASM's.
    "MutatingWebhookConfiguration": {"webhooks": [{"clientConfig": {"url": str, "service": {"name": str,
                                                                                            "namespace": str}}}]},
    # The same ServiceReference on a validating webhook: `istioctl tag set default --revision <ASM's>` writes
    # istiod-default-validator calling ASM's istiod (istio/istio@1.24.6:istioctl/pkg/tag/generate.go
    # generateValidatingWebhook), which purge-preview keeps (gateways.asm_data_plane_uses): a list as its name read as
    # calling no Service, and the purge deleting ASM's validator passed (AA2501).
    "ValidatingWebhookConfiguration": {"webhooks": [{"clientConfig": {"url": str, "service": {"name": str,
                                                                                              "namespace": str}}}]},
    # ASM's IstioGateway as auditor/gateways.asm_gateways reads it (aliyun/alibabacloud-servicemesh-api@4df57487:
    # alibabacloudservicemesh/v1/istiogateway_types.go: GatewayType string, ClusterIds []string, ServiceAnnotations
    # map[string]string, Overrides map[string]IstioGatewayBasicConfiguration): a list as overrides crashed every gateway
    # check (UNKNOWN "TypeError: cannot convert dictionary update sequence"), naming neither object nor field.
    "IstioGateway": {"spec": {"gatewayType": str, "clusterIds": [str], "serviceAnnotations": {str: str},
                              "overrides": {str: {"serviceAnnotations": {str: str}}}},
                     "status": dict},
    "VirtualService": {"spec": _VS_SPEC},
    "HTTPRoute": _GWAPI_ROUTE, "GRPCRoute": _GWAPI_ROUTE, "TCPRoute": _GWAPI_ROUTE, "TLSRoute": _GWAPI_ROUTE,
    # The Ingresses istiod turns into listeners as asm-gateways-present reads them (auditor/gateways.py
    # istio_served_ingresses; kubernetes/api networking/v1 types.go: IngressSpec.IngressClassName *string, Rules
    # []IngressRule{Host string, HTTP *HTTPIngressRuleValue}; IngressClassSpec.Controller string): a list as a class
    # name or a rule that is no object would be read as an Ingress Istio does not serve. Its backends as purge-preview
    # reads them (auditor/gateways.py service_references; IngressSpec.DefaultBackend *IngressBackend,
    # HTTPIngressRuleValue.Paths []HTTPIngressPath{Backend IngressBackend{Service *IngressServiceBackend{Name}}}):
    # a list as a backend's Service name was read as naming no Service, and a front door on a purged one passed.
    "Ingress": {"spec": {"ingressClassName": str, "defaultBackend": _INGRESS_BACKEND,
                         "rules": [{"host": str, "http": {"paths": [{"backend": _INGRESS_BACKEND}]}}]}},
    # An ALB IngressClass's spec.parameters (IngressClassParametersReference{APIGroup *string, Kind, Name string}) and
    # the AlbConfig it names (alibaba/alibaba-load-balancer-controller@v1.2.0: pkg/apis/alibabacloud/v1/
    # albconfig_types.go AlbConfigSpec.LoadBalancer `json:"config"`, LoadBalancerSpec{Id, AddressType,
    # Ipv6AddressType, AddressIpVersion string}) as auditor/gateways.py alb_config_reach reads them: a list as the
    # addressType or the AlbConfig's name would be read as another ALB's reach.
    "IngressClass": {"spec": {"controller": str, "parameters": {"apiGroup": str, "kind": str, "name": str}}},
    "AlbConfig": {"spec": {"config": {"id": str, "addressType": str, "ipv6AddressType": str,
                                      "addressIpVersion": str}}},
    "ASMMigrateFromIstio": {"spec": {"desiredState": str, "retryCounter": int, "advancedOptions": dict},
                            "status": {"state": str, "message": str, "retryCounter": int}},
}
# Required keys, by the path of the mapping that holds them (".": the object itself).
_REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    # core/v1 Volume.Name (json:"name"): a workload's template volume without one (see _TEMPLATE).
    **{kind: {"spec.template.spec.volumes[]": ("name",)} for kind in (
        "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "CloneSet", "Job")},
    "CronJob": {"spec.jobTemplate.spec.template.spec.volumes[]": ("name",)},
    # admissionregistration.k8s.io/v1 ServiceReference: namespace and name are required (a webhook without either
    # was read as calling no Service: see _BODIES).
    "MutatingWebhookConfiguration": {"webhooks[].clientConfig.service": ("namespace", "name")},
    "ValidatingWebhookConfiguration": {"webhooks[].clientConfig.service": ("namespace", "name")},
    "Pod": {".": ("spec",), "spec": ("containers",), "spec.containers[]": ("name",),
            "spec.initContainers[]": ("name",), "spec.containers[].env[]": ("name",),
            "spec.initContainers[].env[]": ("name",)},
}


def _body_problem(kind: str, doc: dict[str, Any]) -> str | None:
    schema = _BODIES.get(kind)
    if schema is None:
        return None
    return _shape(doc, schema, "", _REQUIRED.get(kind, {}))


def _shape(value: Any, schema: Any, where: str, required: dict[str, tuple[str, ...]]) -> str | None:
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where or 'the object'} must be an object"
        if len(schema) == 1 and next(iter(schema)) is str:  # {str: X}: a map of X by string keys
            sub = schema[str]
            if sub is str:
                ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
                return None if ok else f"{where} must map strings to strings"
            for key, item in value.items():
                if not isinstance(key, str) or item is None:
                    return f"{where} must map strings to objects"
                problem = _shape(item, sub, f"{where}[{key!r}]", required)
                if problem:
                    return problem
            return None
        for key in required.get(where or ".", ()):
            if value.get(key) is None:
                return f"{_join(where, key)} is missing"
        for key, sub in schema.items():
            item = value.get(key)
            if item is not None:
                problem = _shape(item, sub, _join(where, key), required)
                if problem:
                    return problem
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} must be a list"
        for index, item in enumerate(value):
            if item is None:
                return f"{where}[{index}] is null"
            problem = _shape(item, schema[0], f"{where}[]", required)
            if problem:
                return problem.replace(f"{where}[]", f"{where}[{index}]", 1)
        return None
    ok = isinstance(value, schema) and not (schema is int and isinstance(value, bool))
    if ok and schema is int and not wire.INT_MIN <= value <= wire.INT_MAX:
        # Beyond what an API server sends (orjson read it as a float; msgspec and YAML as an exact int).
        return f"{where} must be a whole number within 64 bits"
    return None if ok else f"{where} must be {_TYPE_NAMES.get(schema, getattr(schema, '__name__', schema))}"


_TYPE_NAMES = {str: "a string", int: "a whole number", dict: "an object", bool: "true or false"}


# ASM's OpenAPI answers, where a saved one (a snapshot's manifest asm_openapi, a file named in the config) is read by a
# check: the types of Alibaba Cloud's SDK (alibabacloud-servicemesh20200111 3.4.0 models.py), which the server's answer
# has (a live answer is checked the same way: auditor/sources/asm_openapi.py). Only the fields checks read:
# - DescribeServiceMeshDetailResponseBodyServiceMesh{,Spec,SpecMeshConfig,SpecMeshConfigSidecarInjector,
#   SpecMeshConfigSidecarInjectorInitCNIConfiguration}: objects down to `enabled: bool`, `exclude_namespaces: str`.
#   ASM's CNI state (auditor/asmcni.py: purge-preview AA2535, cni-compatibility): a list as ExcludeNamespaces was read
#   as the names "['kube-system'" and "'shop']" (shop served by ASM's plug-in: PASS AA2501), a list or string on the
#   path crashed both checks (AA0002), an InitCNIConfiguration as a list or Enabled "true" was read as ASM not saying
#   (purge-preview PASS AA2501).
# - ...SpecMeshConfigSidecarInjector `auto_injection_policy_enabled: bool`, `sidecar_injector_webhook_as_yaml: str`
#   (asm.injection_policy: whether ASM's injector takes a pod its webhook selected without sidecar.istio.io/inject=true,
#   and whether a neverInjectSelector may exclude it; istio-sidecars-remaining AA1239): read only as the SDK's types.
# - ...ServiceMeshServiceMeshInfo `version: str`, `service_mesh_id: str`, `region_id: str` (asm.asm_version:
#   asm-version, envoyfilter-compatibility; mesh-config-parity's commands; a live answer's mesh and region): a
#   ServiceMeshInfo of another type crashed asm-version and mesh-config-parity (AA0002).
# - ...ServiceMeshSpecMeshConfig `outbound_traffic_policy: str`, `enable_locality_lb: bool`, `proxy`
#   (...SpecMeshConfigProxy `enable_dnsproxying: bool`), `extra_configuration` (...SpecMeshConfigExtraConfiguration
#   `termination_drain_duration: str`, `discovery_selectors: List[Dict[str, Any]]`), `locality_lb`
#   (...SpecMeshConfigLocalityLB `enabled: bool`), `include_ipranges`, `exclude_ipranges`, `exclude_inbound_ports`,
#   `exclude_outbound_ports` (each `str`, comma-separated: sidecar traffic interception): mesh-config-parity
#   (_detail_fields). Proxy, ExtraConfiguration or LocalityLB of another type crashed it (AA0002); EnableDNSProxying
#   or LocalityLB.Enabled as a string ("true") was read as ASM not saying, and the difference from Istio went
#   unreported (WARN AA2420 with the SDK's bool), or LocalityLB.Enabled gave way to EnableLocalityLB.
# ServiceMesh.Clusters (`clusters: List[str]`) and DescribeClustersInServiceMesh are left to asm.joined_clusters: a list
# it cannot read whole is UNKNOWN AA0732 (migration-resource), never a shorter list.
_OPENAPI_ANSWERS: dict[str, dict[str, Any]] = {
    "DescribeServiceMeshDetail": {"ServiceMesh": {
        "ServiceMeshInfo": {"Version": str, "ServiceMeshId": str, "RegionId": str},
        "Spec": {"MeshConfig": {
            "OutboundTrafficPolicy": str, "EnableLocalityLB": bool,
            "IncludeIPRanges": str, "ExcludeIPRanges": str, "ExcludeInboundPorts": str, "ExcludeOutboundPorts": str,
            "Proxy": {"EnableDNSProxying": bool},
            "ExtraConfiguration": {"TerminationDrainDuration": str, "DiscoverySelectors": [dict]},
            "LocalityLB": {"Enabled": bool},
            "SidecarInjector": {"AutoInjectionPolicyEnabled": bool, "SidecarInjectorWebhookAsYaml": str,
                                "InitCNIConfiguration": {"Enabled": bool, "ExcludeNamespaces": str}}}}}},
}
# DescribeMeshMultiClusterNetworkResponseBody `multi_cluster_networks: Dict[str, MultiClusterNetworksValue]`
# (MultiClusterNetworksValue: `network: str`, `enable_gateway: bool`, `gateway_name: str`, `custom_gateway_address:
# str`, 3.4.0), by cluster id; the
# TypeScript SDK's JSON spells them camel-case; asm.network_items reads a list of entries with ClusterId too (alone or
# under Networks). network-consistency and the cluster table: EnableGateway "false" (or 0) was read as not given, and a
# cross-network IstioGateway for the cluster then passed the switch (PASS AA1903 where the SDK's false gives FAIL
# AA1912); a Network that is no string was compared as a network (FAIL AA1910 "ASM puts this cluster in network
# ['network-1']"); a ClusterId that is no string crashed the audit (exit 4); an entry that is no object, next to others,
# hid every entry of the answer (UNKNOWN AA1930: ASM's networks not known).
_NETWORK_ENTRY: dict[str, Any] = {key: kind for name, kind in (("ClusterId", str), ("Network", str),
                                                               ("EnableGateway", bool), ("GatewayName", str),
                                                               ("CustomGatewayAddress", str))
                                  for key in (name, name[0].lower() + name[1:])}
_NETWORK_LISTS = ("MultiClusterNetworks", "multiClusterNetworks")


def openapi_answer_problem(action: str, answer: dict[str, Any]) -> str | None:
    """What is wrong with an ASM OpenAPI answer (already a JSON object; saved or live) in the fields checks read, or
    None."""
    if action == "DescribeMeshMultiClusterNetwork":
        return _networks_problem(answer)
    schema = _OPENAPI_ANSWERS.get(action)
    return None if schema is None else _shape(answer, schema, "", {})


def _networks_problem(answer: dict[str, Any]) -> str | None:
    """DescribeMeshMultiClusterNetwork's entries in each form asm.network_items reads: a map of entries by cluster id,
    a list of entries, or {"Networks": [entries]}; each entry an object of _NETWORK_ENTRY's types."""
    for key in _NETWORK_LISTS:
        nets = answer.get(key)
        if nets is None:
            continue
        if isinstance(nets, dict) and set(nets) == {"Networks"} and isinstance(nets["Networks"], list):
            nets, key = nets["Networks"], f"{key}.Networks"
        if isinstance(nets, dict):
            problem = _shape(nets, {str: _NETWORK_ENTRY}, key, {})
        elif isinstance(nets, list):
            problem = _shape(nets, [_NETWORK_ENTRY], key, {})
        else:
            problem = f"{key} must be an object"
        if problem:
            return problem
    return None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _metadata_problem(meta: dict[str, Any]) -> str | None:
    """What the API server would have refused in metadata; every check relies on these shapes."""
    for key in ("namespace", "creationTimestamp", "uid", "resourceVersion"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            return f"metadata.{key} must be a string"
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return f"metadata.{key} must map strings to strings"
    refs = meta.get("ownerReferences")
    if refs is not None and (not isinstance(refs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("kind"), str) and isinstance(r.get("name"), str)
            for r in refs)):
        return "metadata.ownerReferences must be a list of {kind, name} objects"
    fields = meta.get("managedFields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields)):
        return "metadata.managedFields must be a list of objects"
    return None


# ---------------------------------------------------------------- the same rules, checked in C
# The walk above costs as much as decoding a 50k-pod cluster's other kinds (Deployments' templates, Services...).
# msgspec checks the same rules on the parsed object in C: the types below are built from the schemas above and
# the metadata rules, never laxer (null is absent for optional keys, never a list item or a map value; bool is not
# a whole number; required keys), sometimes stricter. An object they accept has no problem; one they refuse is
# walked as above, which names the problem (or finds none where msgspec was stricter).
# Each mapping of a schema is a Struct without GC tracking, not a TypedDict: msgspec.convert builds what it
# checks, and a Struct (fixed slots) costs less than a dict (at 50k pods: 36 -> 15 ms for the Deployments). An
# object whose contents no rule reads (`dict`) is an empty Struct: checked to be an object, its contents not copied.
_MAP = {str: str}
# A whole number as _shape takes it, but int64 only (msgspec bounds fit int64): a uint64-only value is walked.
_INT = Annotated[int, msgspec.Meta(ge=wire.INT_MIN, le=2**63 - 1)]


class _Object(msgspec.Struct, gc=False):
    """Any JSON object (its keys strings), contents skipped."""


def _struct(name: str, fields: dict[str, tuple[Any, bool]]) -> type[msgspec.Struct]:
    """A Struct of `fields` (key: (type, required)); an optional key may be absent or null. Its attributes are named
    f0, f1... and renamed to the keys: a key need not be a Python identifier."""
    attributes = {f"f{index}": key for index, key in enumerate(fields)}
    return msgspec.defstruct(name, [(attribute, hint) if required else (attribute, hint | None, None)
                                    for attribute, (hint, required) in zip(attributes, fields.values(), strict=True)],
                             kw_only=True, gc=False, rename=attributes)


_OwnerReference = _struct("_OwnerReference", {"kind": (str, True), "name": (str, True)})
_METADATA_FIELDS: dict[str, tuple[Any, bool]] = {
    "namespace": (str, False), "creationTimestamp": (str, False), "uid": (str, False),
    "resourceVersion": (str, False), "labels": (dict[str, str], False), "annotations": (dict[str, str], False),
    "ownerReferences": (list[_OwnerReference], False), "managedFields": (list[_Object], False)}
_Metadata = _struct("_Metadata", _METADATA_FIELDS)
_NamedMetadata = _struct("_NamedMetadata", {"name": (str, True), **_METADATA_FIELDS})


def _body_fields(schema: dict[str, Any], where: str, required: dict[str, tuple[str, ...]], name: str
                 ) -> dict[str, tuple[Any, bool]]:
    held = required.get(where or ".", ())
    return {key: (_msgspec_type(sub, _join(where, key), required, f"{name}_{key}"), key in held)
            for key, sub in schema.items()}


def _msgspec_type(schema: Any, where: str, required: dict[str, tuple[str, ...]], name: str) -> Any:
    if isinstance(schema, dict):
        if schema == _MAP:
            return dict[str, str]
        if len(schema) == 1 and next(iter(schema)) is str:
            return dict[str, _msgspec_type(schema[str], f"{where}[]", required, name)]  # type: ignore[misc]
        return _struct(name, _body_fields(schema, where, required, name))
    if isinstance(schema, list):
        return list[_msgspec_type(schema[0], f"{where}[]", required, name)]  # type: ignore[misc]
    if schema is dict:
        return _Object
    if schema is int:
        return _INT
    if schema is str:
        return schema
    raise TypeError(f"no msgspec type for schema {schema!r}")


def _object_fields(kind: str) -> dict[str, tuple[Any, bool]]:
    """The top-level fields of `kind`'s rules but metadata (kinds without a body schema: none)."""
    return _body_fields(_BODIES.get(kind, {}), "", _REQUIRED.get(kind, {}), f"_{kind}")


# metadata required: object_problem calls _fits only once it has found metadata to be an object.
_FAST_TYPES: dict[str, Any] = {kind: _struct(f"_{kind}", {**_object_fields(kind), "metadata": (_Metadata, True)})
                               for kind in _BODIES}
_MetadataOnly = _struct("_MetadataOnly", {"metadata": (_Metadata, True)})


def _fits(kind: str, doc: dict[str, Any]) -> bool:
    """True when `doc` (metadata.name already checked) certainly meets every rule of _metadata_problem and
    _body_problem; False when the walk must decide."""
    try:
        msgspec.convert(doc, _FAST_TYPES.get(kind, _MetadataOnly))
    except (msgspec.ValidationError, RecursionError):
        return False
    return True


# ---------------------------------------------------------------- a whole List at once
@functools.lru_cache(maxsize=64)
def _list_type(kind: str, api_version: str) -> Any:
    return list[_struct(f"_{kind}Item", {**_object_fields(kind), "kind": (Literal[kind], True),  # type: ignore[misc]
                                          "apiVersion": (Literal[api_version], True),
                                          "metadata": (_NamedMetadata, True)})]


@functools.lru_cache(maxsize=64)
def _file_decoder(kind: str, api_version: str) -> msgspec.json.Decoder:
    """A decoder of a JSON List file's `items` as _list_type(kind, api_version) (its other keys skipped)."""
    return msgspec.json.Decoder(msgspec.defstruct(f"_{kind}File", [("items", _list_type(kind, api_version))],
                                                  gc=False))


def all_fit(items: list[Any], raw: bytes | memoryview | None = None) -> bool:
    """True when every item is an object of the first item's kind and apiVersion, for which object_problem would
    find nothing (metadata.name a string, every shape rule met): one pass in C instead of one call per object.
    False when they must be looked at one by one (which names the problem, if any).

    `raw`: the JSON text `items` were decoded from, a List object holding them as its `items` (its other keys are not
    read). For a kind with body rules (_BODIES) the rules are then checked by a typed decode of that text: only what
    the rules read is built, where converting the decoded items built every mapping of every template (the 50k-pod
    bench's files of 4,500-5,000 Deployments: -5.5 to -6.8 ms of 30-36 each; Services -0.6 to -1.6 ms of 6-11). A
    kind of metadata only (Namespaces) is converted: scanning its text again costs more. When the typed decode
    refuses, the items are converted as without it, so what is refused, and how, is unchanged. It never accepts what
    the conversion refuses: every occurrence of a repeated key is checked (the decoded object holds the last), and a
    number is typed from its JSON text as the decoded value is (1.0 is no whole number either way)
    (tests/test_shapes_fast.py)."""
    first = items[0] if items else None
    if not isinstance(first, dict):
        return False
    kind, api_version = first.get("kind"), first.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str) or not kind or kind.endswith("List"):
        return False
    if raw is not None and kind in _BODIES:  # a kind of metadata only: converting its items costs less
        try:
            _file_decoder(kind, api_version).decode(raw)
            return True
        except (msgspec.DecodeError, RecursionError):  # a ValidationError is a DecodeError
            pass
    try:
        msgspec.convert(items, _list_type(kind, api_version))
    except (msgspec.ValidationError, RecursionError):
        return False
    return True
