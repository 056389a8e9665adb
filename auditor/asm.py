"""ASM's side as several checks and the engine read it: ASMMigrateFromIstio's options, OpenAPI answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor import clusterid, mesh
from auditor import kinds as K
from auditor.errors import EvidenceUnavailable
from auditor.i18n import N_, Phrase

if TYPE_CHECKING:
    from auditor.check import Context
    from auditor.inventory import ClusterInventory, Inventory

# The seed names the istio-system label option twice: in the table/sample output and in the patch command.
# ASM's published type (aliyun/alibabacloud-servicemesh-api, alibabacloudservicemesh/v1/
# asmmigratefromistio_types.go) has only the first: the patch spelling is pruned by the CRD or ignored.
ADVANCED_OPTION = "stopIstioSystemInjectionDisabling"
SEED_PATCH_SPELLING = "disableIstioSystemLabelReconciliation"
ADVANCED_OPTION_NAMES = (ADVANCED_OPTION, SEED_PATCH_SPELLING)
NO_EFFECT = (f"spec.advancedOptions.{SEED_PATCH_SPELLING} (the seed's patch spelling) has no effect: ASM's API "
             f"names the option {ADVANCED_OPTION}")


def migration_resource(asm: ClusterInventory) -> dict[str, Any] | None:
    """ASMMigrateFromIstio/default on the ASM control plane, None when absent; raises EvidenceUnavailable when it
    cannot be read, or when the input holds it more than once with different spec or status.

    ASM's type is cluster-scoped (`+kubebuilder:resource:scope=Cluster`, aliyun/alibabacloud-servicemesh-api
    alibabacloudservicemesh/v1/asmmigratefromistio_types.go): an API server holds one `default`. Two that differ
    come from a snapshot put together by hand (say two `kubectl get -o yaml` taken at different times); taking the
    first would judge the gate's switch on whichever file sorts first."""
    found = asm.get(K.ASM_MIGRATION, "default")
    if found is None:
        return None
    copies = [obj for obj in asm.objects(K.ASM_MIGRATION) if (obj.get("metadata") or {}).get("name") == "default"]
    views = {_as_json_text((obj.get("spec"), obj.get("status"))) for obj in copies}
    if len(views) > 1:
        states = ", ".join(sorted(repr(((obj.get("status") or {}) if isinstance(obj.get("status"), dict) else {})
                                       .get("state")) for obj in copies))
        # A Phrase: the reason AA0001 and the gate's choice carry is said in the reader's language.
        raise EvidenceUnavailable(Phrase(N_("the input holds ASMMigrateFromIstio/default {count} times with different "
                                            "spec or status (states {states}): which is the resource now is not known; "
                                            "keep one copy, as the ASM control plane returns it"),
                                         count=len(copies), states=states))
    return found


def _as_json_text(value: Any) -> str:
    """`value` as text that is the same for equal JSON whatever its key order (a sorted YAML export and the API
    server's order are one resource) and differs where JSON differs (`true` is not `1`, which Python's == equates)."""
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # keys of mixed types (YAML), a cycle: as written
        return repr(value)


def advanced_options(cr: dict[str, Any]) -> dict[str, Any]:
    """Values of the istio-system label option under each name the seed uses (only names present)."""
    options = ((cr.get("spec") or {}).get("advancedOptions")) or {}
    return {name: options[name] for name in ADVANCED_OPTION_NAMES if name in options}


def advanced_option(cr: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the istio-system label option is set (true) under the name ASM reads, and that name.

    The seed's patch spelling never counts: ASM does not read it (see `seed_spelling_used`).
    """
    if advanced_options(cr).get(ADVANCED_OPTION) is True:
        return True, ADVANCED_OPTION
    return False, None


def seed_spelling_used(cr: dict[str, Any]) -> bool:
    """The seed's patch spelling is in spec.advancedOptions: the user believes the option set, ASM ignores it."""
    return SEED_PATCH_SPELLING in advanced_options(cr)


def option_patch(cr: dict[str, Any] | None) -> str:
    """The merge patch setting the option ASM reads (and dropping the seed's spelling when present)."""
    drop = f',"{SEED_PATCH_SPELLING}":null' if cr is not None and seed_spelling_used(cr) else ""
    return mesh.migration_patch('{"spec":{"advancedOptions":{"' + ADVANCED_OPTION + '":true' + drop + "}}}")


def network_items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-cluster entries of a DescribeMeshMultiClusterNetwork answer, each with its fields under ASM's spelling
    (ClusterId, Network, EnableGateway, GatewayName, CustomGatewayAddress) whichever case the answer used: read here
    once for every reader."""
    nets = answer.get("MultiClusterNetworks") or answer.get("multiClusterNetworks") or []
    if isinstance(nets, dict):
        # {"cluster-id": {...}} or {"Networks": [...]}
        if all(isinstance(v, dict) for v in nets.values()):
            return [_canonical({"ClusterId": k, **v}) for k, v in nets.items()]
        nets = nets.get("Networks") or []
    return [_canonical(n) for n in nets if isinstance(n, dict)]


def _canonical(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "ClusterId": item.get("ClusterId") or item.get("clusterId"),
            "Network": item.get("Network") or item.get("network"),
            # An explicit EnableGateway (even false or null) wins over the camel-case spelling.
            "EnableGateway": item["EnableGateway"] if "EnableGateway" in item else item.get("enableGateway"),
            "GatewayName": item.get("GatewayName") or item.get("gatewayName"),
            # ASM's own address for the cluster's cross-network gateway ("ip:port"), in place of its Service's.
            "CustomGatewayAddress": item.get("CustomGatewayAddress") or item.get("customGatewayAddress")}


def asm_version(ctx: Context) -> tuple[mesh.Version | None, str, str | None]:
    """(version, where it came from, raw text) of the ASM instance, in domain.md's order of trust:
    the user's config or a saved DescribeServiceMeshDetail answer, then ASM's istiod-<rev> Service in a
    data plane. (ASM proxy image tags only bound it from below; see AsmVersion.)"""
    config = ctx.config
    if config and config.asm.version:
        return mesh.parse_version(config.asm.version), CONFIG_SOURCE, config.asm.version
    # Config file, live or snapshot answer; a live read that failed is UNKNOWN here, not skipped for a weaker source.
    answered = answered_version(ctx)
    if answered is not None:
        return answered
    services = asm_service_versions(ctx)
    if services:
        version, name, where = max((version, name, where) for where, (version, name) in services.items())
        return version, service_source(name, where), name
    return None, "", None


SERVICE_SOURCE = "Service istio-system/"  # how asm_version names an answer read from ASM's istiod-<rev> Service
CONFIG_SOURCE = "config asm.version"  # how asm_version names the version typed in the config


def answered_version(ctx: Context) -> tuple[mesh.Version | None, str, str] | None:
    """(version, origin, raw) of ASM's own DescribeServiceMeshDetail answer (ServiceMesh.ServiceMeshInfo.Version:
    config file, live or snapshot), None when none gives one. Raises EvidenceUnavailable when reading it live failed."""
    detail = ctx.inv.openapi_answer("DescribeServiceMeshDetail")
    if detail:
        info = (detail.get("ServiceMesh") or {}).get("ServiceMeshInfo") or {}
        raw = info.get("Version")
        state = info.get("State")
        if raw and isinstance(state, str) and state.strip() and state.strip().lower() != RUNNING:
            # An instance being upgraded (or whose upgrade failed) runs its control plane on both versions, or on the
            # old one, while the answer names one: its version is not settled (was PASS on the version named).
            raise EvidenceUnavailable(
                f"{ctx.inv.openapi_origin('DescribeServiceMeshDetail')}: the ASM instance is in state {state!r}, not "
                f"{RUNNING!r} (ServiceMesh.ServiceMeshInfo.State): its version {raw} is not settled; audit again once "
                "the upgrade has finished")
        if raw:
            return mesh.parse_version(raw), ctx.inv.openapi_origin("DescribeServiceMeshDetail"), raw
    return None


# DescribeServiceMeshDetail ServiceMesh.ServiceMeshInfo.State of an instance at rest: Alibaba Cloud's Terraform
# provider waits for it after creating one (aliyun/terraform-provider-alicloud
# alicloud/resource_alicloud_service_mesh_service_mesh.go: BuildStateConf(..., []string{"running"}, ...,
# "$.ServiceMeshInfo.State")); DescribeServiceMeshUpgradeStatus names the states of an upgrade: running, upgrading,
# upgrading_failed (help: api-servicemesh-2020-01-11-describeservicemeshupgradestatus, MeshStatus).
RUNNING = "running"


def service_source(name: str, cluster: str) -> str:
    return f"{SERVICE_SOURCE}{name} in {cluster}"


def asm_service_versions(ctx: Context) -> dict[str, tuple[mesh.Version, str]]:
    """Each data plane's newest ASM istiod-<rev> Service: cluster -> (version, Service name); clusters without one
    left out. Only Services proven ASM's: a version-named Istio revision (istiod-1-24-2) says nothing of ASM. During
    an ASM canary upgrade two istiod-<rev> Services exist in a cluster; the control plane runs the newest."""
    out: dict[str, tuple[mesh.Version, str]] = {}
    for cluster in ctx.inv.data_planes:
        found = mesh.asm_istiod_versions(cluster.istiod_owners())
        if found:
            name, version = max(found, key=lambda item: (item[1], item[0]))
            out[cluster.name] = (version, name)
    return out


def asm_proxy_versions(ctx: Context) -> dict[str, int]:
    """ASM proxy image tags seen in the data planes -> pod count."""
    seen: dict[str, int] = {}
    for cluster in ctx.inv.data_planes:
        if not cluster.available(K.POD):
            continue
        pods = cluster.pods()
        for image, count in pods.loc[pods["proxy"] == mesh.PROXY_ASM, "proxy_image"].value_counts().items():
            if count:
                seen[str(image)] = seen.get(str(image), 0) + int(count)
    return seen


# Where ASM lists the data-plane clusters joined to the instance, best first: DescribeClustersInServiceMesh
# (`Clusters[].ClusterId`, with ASM's `Name` of each) and DescribeServiceMeshDetail (`ServiceMesh.Clusters`, the ids).
JOINED_SOURCES = ("DescribeClustersInServiceMesh", "DescribeServiceMeshDetail")


@dataclass(frozen=True)
class JoinedClusters:
    """The data-plane clusters ASM says are joined to the instance (`ids`, its order), or why that is not known.

    `known` False with `why` empty: no answer that lists them was given (nothing said); with `why`: an answer was
    given (or its read failed) but its list cannot be read, so nothing about the mesh's clusters can be taken from it.
    """

    known: bool
    ids: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # id -> ASM's name of the cluster, where the answer has it
    origin: str = ""
    why: str = ""


def joined_clusters(inv: Inventory) -> JoinedClusters:
    """The clusters joined to the ASM instance, from the first answer of JOINED_SOURCES that was given."""
    for action in JOINED_SOURCES:
        try:
            answer = inv.openapi_answer(action)
        except EvidenceUnavailable as exc:
            return JoinedClusters(False, why=Phrase(N_("{action} could not be read: {reason}"), action=action,
                                                    reason=exc.reason))
        if answer is None:
            if action == "DescribeClustersInServiceMesh" and inv.asm_openapi.get(action) == {}:
                # Given, but empty (openapi_answer reads {} as no answer): ASM's answer always holds Clusters, so this
                # one lists nothing that can be read, not "nothing said".
                answer = {}
            else:
                continue
        origin = inv.openapi_origin(action)
        if action == "DescribeClustersInServiceMesh":
            listed = answer.get("Clusters")
            entries = listed if isinstance(listed, list) else None
            ids = [e.get("ClusterId") if isinstance(e, dict) else None for e in entries or ()]
            names = {str(e.get("ClusterId")): e["Name"] for e in entries or ()
                     if isinstance(e, dict) and isinstance(e.get("Name"), str) and e["Name"]}
            where = "Clusters[].ClusterId"
        else:
            mesh_detail = answer.get("ServiceMesh")
            if not isinstance(mesh_detail, dict) or "Clusters" not in mesh_detail:
                continue  # an answer without the list says nothing of the clusters (other readers use the rest)
            listed = mesh_detail.get("Clusters")
            entries = listed if isinstance(listed, list) else None
            ids, names, where = list(entries or ()), {}, "ServiceMesh.Clusters"
        if entries is None or not all(isinstance(i, str) and i.strip() for i in ids):
            # A list of the mesh's clusters that cannot be read whole is no list: one unread entry may be the
            # cluster not audited.
            return JoinedClusters(False, origin=origin, why=Phrase(N_("{origin}: {where} is not a list of cluster ids "
                                                                      "({value})"), origin=origin, where=where,
                                                                   value=_clipped(listed)))
        return JoinedClusters(True, tuple(dict.fromkeys(i.strip() for i in ids)), names, origin)
    return JoinedClusters(False)


def _clipped(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class Coverage:
    """Which of the joined clusters this audit did not read: `missing` ids no audited cluster has; `unnamed` the
    audited clusters without a known id (none given, none of their own in ack-cluster-profile: auditor/clusterid.py);
    `by_count` True when the one missing id is taken to be the one unnamed cluster (see there); `identities` each
    audited data plane's ids, the given one and its own."""

    joined: JoinedClusters
    missing: tuple[str, ...]
    unnamed: tuple[str, ...]
    # (name, id) of audited clusters whose id ASM's list does not have: not joined to this instance (or a wrong id)
    strangers: tuple[tuple[str, str], ...] = ()
    identities: tuple[clusterid.Identity, ...] = ()

    @property
    def conflicts(self) -> tuple[clusterid.Identity, ...]:
        """Audited clusters whose given id is not the id they write of themselves (another cluster was read)."""
        return tuple(i for i in self.identities if i.conflict)

    @property
    def by_count(self) -> bool:
        """A single-cluster mesh only: ASM lists one cluster, no audited cluster has its id, and exactly one audited
        cluster has no id at all, given or its own, its ConfigMaps read and holding no ack-cluster-profile (not an
        ACK cluster: it has no id of its own to tell). That one is taken as the joined cluster, and the evidence says
        so. Anything else could take a wrong cluster for a joined one: two joined and two unnamed, one of them a
        staging context, matched "by count" and passed (a false GO); an unnamed cluster whose profile was not read,
        or is unreadable, may well be another ACK cluster."""
        if len(self.joined.ids) != 1 or len(self.missing) != 1 or len(self.unnamed) != 1:
            return False
        return all(i.profile.state == clusterid.ABSENT for i in self.identities if i.name in self.unnamed)

    @property
    def covered(self) -> bool:
        return self.joined.known and (not self.missing or self.by_count)

    def unnamed_profiles(self) -> dict[str, str]:
        """Each unnamed cluster -> what its ack-cluster-profile gave (absent, not read, ill-shaped and why)."""
        return {i.name: Phrase(N_("{state} ({why})"), state=Phrase(i.profile.state), why=i.profile.why)
                if i.profile.why else Phrase(i.profile.state) for i in self.identities if i.name in self.unnamed}

    def evidence(self) -> dict[str, Any]:
        """What the findings of migration-resource say of the joined clusters."""
        if not self.joined.known:
            return {"joined_clusters": None, "joined_clusters_why": self.joined.why or "no ASM OpenAPI answer lists "
                    "the clusters joined to the instance (DescribeClustersInServiceMesh, DescribeServiceMeshDetail)"}
        out: dict[str, Any] = {"joined_clusters": list(self.joined.ids), "joined_clusters_source": self.joined.origin,
                               "not_audited": list(self.missing)}
        sources = {i.name: i.source for i in self.identities if i.cluster_id}
        if sources:
            out["cluster_id_sources"] = sources
        if self.unnamed:
            out["audited_without_cluster_id"] = list(self.unnamed)
            out["ack_cluster_profiles"] = self.unnamed_profiles()
        if self.by_count:
            out["matched_by_count"] = {self.unnamed[0]: self.missing[0]}
        if self.strangers:
            out["audited_not_joined"] = {name: cluster_id for name, cluster_id in self.strangers}
        return out


def coverage(inv: Inventory) -> Coverage:
    """The joined clusters (joined_clusters) against the audited data planes' ids, both ways. A data plane's id is
    its own where its ack-cluster-profile says one (what was read), else the one given (fleet file, config
    asm.cluster_ids, snapshot manifest): auditor/clusterid.py. An unreachable cluster was audited (its checks are
    UNKNOWN)."""
    joined = joined_clusters(inv)
    identities = tuple(clusterid.identity(c) for c in inv.data_planes)
    ids = {i.name: i.cluster_id for i in identities if i.cluster_id}
    unnamed = tuple(i.name for i in identities if not i.cluster_id)
    listed, audited = set(joined.ids), set(ids.values())
    strangers = tuple((name, i) for name, i in ids.items() if i not in listed) if joined.known else ()
    return Coverage(joined, tuple(i for i in joined.ids if i not in audited), unnamed, strangers, identities)


# ASM's own injection policy: after one of ASM's injector webhooks selected a pod, the pod-level condition its injector
# applies (ASM console "Sidecar Proxy injection", help.aliyun.com/document_detail/186136: a sidecar is injected only if
# the pod meets both the namespace-label condition and the pod label/annotation condition: "Not include
# sidecar.istio.io/inject: "false"" or "Include sidecar.istio.io/inject: "true""). The OpenAPI says which in
# DescribeServiceMeshDetail ServiceMesh.Spec.MeshConfig.SidecarInjector.AutoInjectionPolicyEnabled
# (alibabacloud-servicemesh20200111 3.4.0 models.py: "whether automatic sidecar proxy injection can be enabled by using
# pod annotations"; UpdateMeshFeature: default false): true is the second condition (Istio's `policy: disabled`, where
# injectRequired in pkg/kube/inject/inject.go @1.24.6 injects only a pod whose sidecar.istio.io/inject says true). The
# namespace condition and EnableNamespacesByDefault are not read here: they are the namespaceSelector of ASM's webhooks
# in the cluster, read as they are (auditor/idle.py).
@dataclass(frozen=True)
class InjectionPolicy:
    only_asked: bool | None  # True: only pods carrying sidecar.istio.io/inject=true; False: every pod not opting out
    source: str               # where it was read, or why it is not known
    # Read, and a neverInjectSelector beside it may exclude a template: what ASM took elsewhere proves nothing of it.
    selector: bool = False


INJECTION_POLICY_FIELD = "SidecarInjector.AutoInjectionPolicyEnabled"


def injection_policy(ctx: Context) -> InjectionPolicy:
    """ASM's pod-level injection condition from the DescribeServiceMeshDetail answer (config file, live or snapshot);
    only_asked None, with the reason, when no answer says it (none given, the live read failed, the field absent or not
    the SDK's bool)."""
    try:
        detail = ctx.inv.openapi_answer("DescribeServiceMeshDetail")
    except EvidenceUnavailable as exc:
        return InjectionPolicy(None, Phrase(N_("DescribeServiceMeshDetail could not be read: {reason}"),
                                            reason=exc.reason))
    if not detail:
        return InjectionPolicy(None, Phrase(N_(
            "no DescribeServiceMeshDetail answer says ASM's injection policy ({field}): pass --asm-mesh-id and "
            "--asm-region, or config asm.describe_service_mesh_detail"), field=INJECTION_POLICY_FIELD))
    spec = ((detail.get("ServiceMesh") or {}).get("Spec") or {}) if isinstance(detail, dict) else {}
    injector = ((spec.get("MeshConfig") or {}).get("SidecarInjector") or {}) if isinstance(spec, dict) else {}
    value = injector.get("AutoInjectionPolicyEnabled") if isinstance(injector, dict) else None
    if not isinstance(value, bool):
        return InjectionPolicy(None, Phrase(N_("the DescribeServiceMeshDetail answer has no {field}"),
                                            field=INJECTION_POLICY_FIELD))
    origin = ctx.inv.openapi_origin("DescribeServiceMeshDetail")
    extra = injector.get("SidecarInjectorWebhookAsYaml")
    if value is False and isinstance(extra, str) and "neverinjectselector" in extra.lower():
        # ASM's console offers "Selected by NeverInjectSelector" beside "Not include sidecar.istio.io/inject: false"
        # (document_detail/186136); injectRequired @1.24.6 skips a pod such a selector matches unless the pod says
        # sidecar.istio.io/inject itself. Where ASM keeps it, and in which shape, is not documented: a template is then
        # known taken only when it asks itself.
        return InjectionPolicy(None, Phrase(N_(
            "{origin}: {field}=false, but SidecarInjectorWebhookAsYaml sets a neverInjectSelector, which may exclude "
            "the template"), origin=origin, field=INJECTION_POLICY_FIELD), selector=True)
    return InjectionPolicy(value, Phrase(N_("{origin}: {field}={value}"), origin=origin,
                                         field=INJECTION_POLICY_FIELD, value=str(value).lower()))
