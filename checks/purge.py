"""What `istioctl uninstall --purge` will delete in each cluster, before it runs (domain.md, "Beyond the seed").

istio/istio operator/pkg/uninstall/prune.go: with --purge, every object labelled `operator.istio.io/component`
(any value, any namespace) of the pruned kinds is deleted, CustomResourceDefinitions included; deleting a CRD
deletes every object of its kind stored in the cluster. Helm-installed Istio is removed per release with `helm
uninstall`: Istio's charts label istiod's objects operator.istio.io/component: Pilot under Helm too (istio-discovery
templates @1.22.8..1.30.3; not the base chart's CRDs nor the gateway chart), so the purge deletes those and leaves the
rest of the release and Helm's record of it (Secret sh.helm.release.v1.*; a later `helm uninstall` skips what is gone:
rdelete, helm/helm@v3.21.4:pkg/kube/client.go). ServiceAccounts are pruned too: their metadata is read, and one that
workloads on ASM's proxy run as FAILs (AA2515; unread: AA2543). Secrets, Roles, RoleBindings, HorizontalPodAutoscalers
and NetworkAttachmentDefinitions are pruned too but never read here (Secrets never are): every finding says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.asmcni import asm_cni_state
from auditor.check import ClusterCheck, Context
from auditor.errors import EvidenceUnavailable
from auditor.gateways import (
    EGRESS,
    SCAN_KINDS,
    AsmWorkload,
    asm_data_plane_uses,
    asm_proxied_workloads_of,
    istio_gateways,
    selects,
    service_references,
    template_service_account,
    unproven_webhook_calls,
)
from auditor.helmreleases import istio_helm_releases, key_of, releases_asm_runs_on, uninstall_order
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory
from auditor.istio import among, pod_columns, pod_template
from auditor.istioctl import istioctl_version, old_prune_version, preview_command
from auditor.kinds import Kind
from auditor.labelled import COMPONENT_LABEL, carrying_label
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.remote import CONTROL_PLANE_CLUSTERS, istiod_cluster_id, istiod_external
from auditor.rollouts import rollout_template

# The kinds prune.go deletes with --purge that the auditor reads (NamespacedResources + AllClusterResources).
# Pods are pruned too, but the inventory keeps them only as summaries (no labels): labelled pods belong to the
# labelled Deployments/DaemonSets listed here.
PRUNED_KINDS: tuple[Kind, ...] = (
    K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.CLUSTERROLE, K.CLUSTERROLEBINDING, K.CRD,
    K.DEPLOYMENT, K.DAEMONSET, K.SERVICE, K.CONFIGMAP, K.PDB,
)
# The Istio configuration kinds istioctl before 1.20 also prunes (NamespacedResources: DestinationRule, EnvoyFilter,
# Gateway, VirtualService, PeerAuthentication and PersistentVolumeClaims, operator/pkg/helmreconciler/prune.go
# @1.10.6, 1.16.7, 1.19.10; gone from @1.20.0, EnvoyFilter back from 1.20.5/1.21.1). EnvoyFilters are judged for every
# version (PRUNED above them); PersistentVolumeClaims are not read.
OLD_PRUNED_CONFIG: tuple[Kind, ...] = (K.DESTINATIONRULE, K.GATEWAY, K.VIRTUALSERVICE, K.PEERAUTHENTICATION)
OLD_PRUNE_UNTIL = (1, 20)
# istioctl before 1.24 also deletes every IstioOperator with --purge (PurgePreview._operator_resources).
OPERATOR_PRUNE_UNTIL = (1, 24)
# kubectl's name for them: `gateway` alone may name the Gateway API's.
RESOURCE_OF = {kind.kind: f"{kind.plural}.{kind.group}" for kind in OLD_PRUNED_CONFIG}
# The ServiceAccounts Istio's installer renders, each with operator.istio.io/component (istio/istio@1.24.6
# manifests/charts: gateways/istio-ingress|istio-egress/templates/serviceaccount.yaml `<gateway>-service-account`;
# istio-control/istio-discovery/templates/serviceaccount.yaml `istiod[-<rev>]`;
# base/templates/reader-serviceaccount.yaml `istio-reader-service-account`; istio-cni/templates/serviceaccount.yaml
# `istio-cni`; ztunnel/templates `ztunnel`):
# with ServiceAccounts unread, an account of another name outside the namespaces the purge touches cannot carry the
# label from the installer (AA2543's breadth, review22c).
CHART_ACCOUNT_SUFFIX = "-service-account"
CHART_ACCOUNT_PREFIXES = ("istiod", "istio-reader", "istio-cni")
CHART_ACCOUNT_NAMES = frozenset({"ztunnel"})


def chart_rendered_account(name: str) -> bool:
    """Whether an Istio chart renders a ServiceAccount of this name (so istioctl may have labelled it)."""
    return (name.endswith(CHART_ACCOUNT_SUFFIX) or name.startswith(CHART_ACCOUNT_PREFIXES)
            or name in CHART_ACCOUNT_NAMES)


def chart_account_spaces(cluster: ClusterInventory) -> set[str]:
    """The namespaces of the Deployments/DaemonSets (those read) whose pods run as a chart-rendered account: one
    lookup per workload, so that AA2543 need not ask which workloads run ASM's proxy in every namespace."""
    spaces: set[str] = set()
    for kind in (K.DEPLOYMENT, K.DAEMONSET):
        if cluster.available(kind):
            spaces.update(_meta(obj).get("namespace", "") for obj in cluster.objects(kind)
                          if chart_rendered_account(template_service_account(obj)))
    return spaces


# The pod owners other than Deployments/DaemonSets (asm_proxied_workloads' own) whose pod template says which
# ServiceAccount their pods run as, by the pod frame's workload_kind (a Rollout's: rollouts.rollout_template). A bare
# pod's account is kept nowhere (the inventory keeps pods as summaries).
ACCOUNT_TEMPLATE_KINDS: dict[str, Kind] = {K.workload_kind(kind): kind for kind in (
    K.STATEFULSET, K.CRONJOB, K.JOB, K.REPLICASET, K.REPLICATIONCONTROLLER, K.CLONESET, *K.ADVANCED_KINDS)}


def other_asm_pod_workloads(cluster: ClusterInventory, namespaces: Collection[str] | None
                            ) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of the workloads of these namespaces (None: all), other than Deployments/DaemonSets,
    one of whose pods runs ASM's proxy (StatefulSets, CronJobs, Jobs, Rollouts, CloneSets, bare pods: kind Pod), from
    the pod frame; [] when pods were not read (the pod checks of the gate say UNKNOWN for them)."""
    if (namespaces is not None and not namespaces) or not cluster.available(K.POD):
        return []
    pods = cluster.pods()
    if pods.empty:
        return []
    rows = among(pods["proxy"], (mesh.PROXY_ASM,)) & ~among(pods["workload_kind"], ("Deployment", "DaemonSet"))
    if namespaces is not None:
        rows &= among(pods["namespace"], tuple(namespaces))
    if not rows.any():
        return []
    found = pod_columns(pods, rows, ("namespace", "workload_kind", "workload_name")).drop_duplicates()
    return sorted(zip(found["workload_kind"].astype(str), found["namespace"].astype(str),
                      found["workload_name"].astype(str), strict=True))


def workload_account(cluster: ClusterInventory, kind_name: str, namespace: str, name: str) -> str | None:
    """The ServiceAccount the pods of this workload run as, from its pod template (`default` when it names none: the
    ServiceAccount admission plugin's default); None when it cannot be read (a bare pod, a kind not read, the object
    or its template missing)."""
    if kind_name == "Rollout":
        obj = cluster.get(K.ARGO_ROLLOUT, name, namespace) if cluster.available(K.ARGO_ROLLOUT) else None
        template = rollout_template(cluster, obj) if isinstance(obj, dict) else None
    else:
        kind = ACCOUNT_TEMPLATE_KINDS.get(kind_name)
        obj = cluster.get(kind, name, namespace) if kind is not None and cluster.available(kind) else None
        template = pod_template(kind, obj) if kind is not None and isinstance(obj, dict) else None
    if template is None:
        return None
    return template_service_account({"spec": {"template": template}}) or "default"


# The kinds whose objects may name a Service by name (gateways.service_references).
NAMING_KINDS: tuple[Kind, ...] = (K.SERVICE, K.VIRTUALSERVICE, *K.K8S_ROUTE_KINDS, K.INGRESS)
# The kinds whose routes to Istio's egress gateway egress-routes-to-asm judges (AA1610/AA1611); an ExternalName
# alias or an Ingress naming that gateway's Service is judged here.
EGRESS_JUDGED = frozenset({"VirtualService", *(k.kind for k in K.K8S_ROUTE_KINDS)})
# Shell comments in remediations: advice the reader reads, said in the report's language (render/localize.py).
CNI_PODS_COMMENT = N_("pods listing istio-validation and no istio-init rely on Istio's CNI plug-in: take their "
                      "namespace out of ASM's CNI ExcludeNamespaces and restart them before the purge")
CNI_SETTING_COMMENT = N_("ASM's CNI setting is ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration "
                         "(Enabled, ExcludeNamespaces) of that answer: save the answer for the config "
                         "(asm.describe_service_mesh_detail) or state asm.cni and asm.cni_exclude_namespaces, then "
                         "audit again")
SHARED_ACCOUNT_COMMENT = N_("if the first command shows operator.istio.io/component, take the label off (ASM's proxy "
                            "keeps running as the account):")
ACCOUNT_OF_UNREAD_COMMENT = N_("a pod on ASM's proxy running as one of these accounts loses it to the purge: take the "
                               "label off that account:")
TEMPLATE_LABEL_COMMENT = N_("its pods carry operator.istio.io/component from its pod template, and the installer "
                            "rendered its ServiceAccount (and the Role, RoleBinding, HorizontalPodAutoscaler of the "
                            "same gateway) with it: take the label off each that ASM's data plane uses (the template "
                            "patch rolls its pods):")
WEBHOOK_LABEL_COMMENT = N_("if it calls ASM's istiod (a revision tag set for ASM's revision), take the label off "
                           "before the purge so that the webhook stays:")
REMOTES_COMMENT = N_("declare each REMOTE above in the config under remote_clusters (<this cluster>: [<remote>, "
                     "...], each as this audit names it; [] when none) and audit every one in the same run")
UNDECLARED_COMMENT = N_("a cluster named that is a REMOTE above goes into remote_clusters (as this audit names it); "
                        "one that is not is no remote of this istiod: correct its "
                        "topology.istio.io/controlPlaneClusters annotation")
# The pruned kinds never read (Secrets never are), and those read when they can be: what every finding's evidence says
# the auditor did not see.
NEVER_READ = ("Secrets", "Roles", "RoleBindings", "HorizontalPodAutoscalers", "NetworkAttachmentDefinitions")
NOT_READ_NOTE = ("also pruned but never read by the auditor: Secrets, ServiceAccounts, Roles, RoleBindings, "
                 "HorizontalPodAutoscalers, NetworkAttachmentDefinitions, EnvoyFilters "
                 "carrying the label; list them with `kubectl get <kind> -A -l operator.istio.io/component`")


def not_read_note(unread: Iterable[str]) -> str:
    """The evidence's note on what the purge deletes that the auditor did not read: NEVER_READ and `unread`."""
    return (f"also pruned but never read by the auditor: {', '.join((*NEVER_READ, *unread))} carrying the label; "
            "list them with `kubectl get <kind> -A -l operator.istio.io/component`")


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _subject(kind: str, meta: dict[str, Any]) -> str:
    ns = meta.get("namespace")
    return f"{kind}/{ns}/{meta.get('name', '')}" if ns else f"{kind}/{meta.get('name', '')}"


def crd_kind(crd: dict[str, Any]) -> tuple[str, Kind | None]:
    """The display name of the kind a CRD defines and the auditor's Kind for it (None when not read)."""
    spec = crd.get("spec") or {}
    group, kind = str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")
    return f"{kind}.{group}", K.BY_GROUP_KIND.get((group, kind))


def template_labelled(cluster: ClusterInventory) -> list[tuple[str, dict[str, Any]]]:
    """The Deployments and DaemonSets (those read) whose pod template's labels hold operator.istio.io/component: the
    purge deletes their pods, whatever the workload's own labels say. Few in any cluster (Istio's gateways, istiod,
    istio-cni); one dict lookup per workload."""
    found: list[tuple[str, dict[str, Any]]] = []
    for kind in (K.DEPLOYMENT, K.DAEMONSET):
        if not cluster.available(kind):
            continue
        for obj in cluster.objects(kind):
            template = (obj.get("spec") or {}).get("template") or {}
            labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else None
            if isinstance(labels, dict) and COMPONENT_LABEL in labels:
                found.append((kind.kind, obj))
    return found


class PurgePreview(ClusterCheck):
    id = "purge-preview"
    title = "What `istioctl uninstall --purge` will delete is Istio's alone, and already on ASM"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("`istioctl uninstall --purge` deletes every object labelled operator.istio.io/component in any "
                 "namespace, CRDs included; deleting an Istio CRD deletes every object of its kind stored in the "
                 "cluster. Nothing of ASM's and nothing not yet on ASM may be among them.")
    remediation = ("Preview with `istioctl uninstall --purge --dry-run` (the installed Istio's istioctl); remove the "
                   "operator label from anything that must stay, import the rest into ASM first.")
    CLEAN = Outcome("AA2501", Status.PASS, "the purge deletes only Istio's own control-plane objects (listed); no "
                    "stored object goes with a CRD",
                    message="the purge deletes {count} object(s), all Istio's own ({by_kind}); no stored object goes "
                            "with a CRD")
    ASM_OBJECT = Outcome("AA2510", Status.FAIL, "the purge would delete an object of ASM's or of another owner that "
                         "carries operator.istio.io/component (ASM label/annotation, owner)",
                         message="{subject} carries operator.istio.io/component but is ASM's or another owner's "
                                 "({owner}): the purge deletes it")
    NOT_ON_ASM = Outcome("AA2511", Status.FAIL, "a purged CRD takes stored objects with it that ASM's control "
                         "plane does not hold yet",
                         fix="Import them into ASM first (istio-config-imported), then audit again.",
                         message="deleting CRD {crd} deletes {count} {kind} object(s) ASM's control plane does not "
                                 "hold: {objects}")
    ASM_OBJECT_UNDER_CRD = Outcome("AA2512", Status.FAIL, "a purged CRD takes objects of ASM's (or of another "
                                   "owner) stored under it with it",
                                   fix=f"Remove {COMPONENT_LABEL} from CRD {{crd}} before the purge so it stays",
                                   message="deleting CRD {crd} deletes {count} {kind} object(s) of ASM's or of another "
                                           "owner: {objects}")
    # A Service the purge deletes (Istio's gateways' and istiod's: the charts label them, istio-ingress|istio-egress/
    # templates/service.yaml, istio-discovery/templates/service.yaml @1.24.6) that something still names: an
    # ExternalName alias (a CNAME kube-dns answers only while the Service exists), a VirtualService route or mirror
    # (ASM's istiod drops a destination no Service answers: 503 NR), a Gateway API backendRef. Routes to Istio's egress
    # gateway are egress-routes-to-asm's (AA1610/AA1611).
    STILL_NAMED = Outcome("AA2513", Status.FAIL, "something still sends traffic by name to a Service the purge "
                          "deletes (an ExternalName alias, a VirtualService route, a Gateway API backendRef, an "
                          "Ingress backend)",
                          fix="Point it at the ASM gateway's Service (or the Service that replaces the purged one) "
                              "before the purge, or take operator.istio.io/component off the Service so that it "
                              "stays (re-pointed at ASM's pods); then audit again.",
                          message="{subject} names Service {service} ({how}), which the purge deletes: what it sends "
                                  "there reaches nothing afterwards")
    # A workload on ASM's proxy that the purge leaves (its own label gone, or never there) whose pod template still
    # carries operator.istio.io/component: its pods carry it, and Pods are pruned by the label (NamespacedResources
    # @1.10.6, 1.16.7, 1.22.3: helmreconciler/prune.go; @1.24.6, 1.26.3: uninstall/prune.go). The charts write it on
    # the template, the ServiceAccount and the Role/RoleBinding of the same gateway (manifests/charts/gateways/
    # istio-ingress/templates/{injected-deployment,serviceaccount,role}.yaml @1.24.6): the purge deletes every pod at
    # once and the account they run as, so the ReplicaSet cannot create them again. AA2510's fix (the Deployment's
    # label off) leaves exactly this (red22m: a GO).
    TEMPLATE_LABELLED = Outcome("AA2514", Status.FAIL, "a workload on ASM's proxy has operator.istio.io/component in "
                                "its pod template: the purge deletes its pods all at once (Pods are pruned by the "
                                "label) and the ServiceAccount rendered beside it, so they cannot start again",
                                fix="Take the label off the pod template (a rolling restart) and off its "
                                    "ServiceAccount, Role, RoleBinding and HorizontalPodAutoscaler that carry it "
                                    "(the commands given), then audit again.",
                                message="{kind} {namespace}/{name} runs ASM's proxy ({why}) and its pod template "
                                        "carries operator.istio.io/component: the purge deletes all its pods at once, "
                                        "and ServiceAccount {account}, which the installer rendered with the same "
                                        "label; its pods then cannot be created again")
    # ServiceAccounts are pruned by the label (NamespacedResources: helmreconciler/prune.go @1.10.6, 1.16.7, 1.22.3;
    # uninstall/prune.go @1.24.6, 1.26.3), and istioctl renders each gateway's account `<gateway>-service-account` with
    # it (manifests/charts/gateways/istio-ingress|istio-egress/templates/serviceaccount.yaml @1.24.6). A gateway moved
    # onto ASM's proxy that keeps it loses it to the purge: the tokens its pods hold are bound to the deleted account
    # (istio-agent's CSR to ASM's istiod is refused, certificates stop renewing) and the ReplicaSet cannot create pods
    # running as it (red22o: the Deployment's and template's labels taken off, the account's kept, was a GO).
    ACCOUNT_LABELLED = Outcome("AA2515", Status.FAIL, "a ServiceAccount that workloads on ASM's proxy run as carries "
                               "operator.istio.io/component: the purge deletes it, their tokens stop being accepted "
                               "and their pods cannot be created again",
                               fix="Take operator.istio.io/component off the ServiceAccount before the purge (the "
                                   "command given), then audit again.",
                               message="ServiceAccount {namespace}/{name} carries operator.istio.io/component and "
                                       "{workloads} run ASM's proxy as it: the purge deletes it, so their tokens stop "
                                       "being accepted (no certificate renewal by ASM's istiod) and their pods cannot "
                                       "be created again")
    # istioctl before 1.20 also deletes the VirtualServices, Gateways, DestinationRules and PeerAuthentications carrying
    # the label (OLD_PRUNED_CONFIG): configuration ASM's control plane does not hold is lost to the migration (nothing
    # left to import) and never reaches ASM's data plane.
    CONFIG_NOT_ON_ASM = Outcome("AA2516", Status.FAIL, "istioctl before 1.20 also deletes the Istio configuration "
                                "carrying operator.istio.io/component (VirtualServices, Gateways, DestinationRules, "
                                "PeerAuthentications), and ASM's control plane does not hold it",
                                fix="Import it into ASM first (istio-config-imported), or take operator.istio.io/"
                                    "component off it so that the purge leaves it; then audit again.",
                                message="istioctl {version} also deletes {count} {kind} object(s) carrying "
                                        "operator.istio.io/component that ASM's control plane does not hold: "
                                        "{objects}")
    CONFIG_UNREAD = Outcome("AA2517", Status.UNKNOWN, "istioctl before 1.20 also deletes the Istio configuration "
                            "carrying operator.istio.io/component; what it deletes, or whether ASM's control plane "
                            "holds it, cannot be told",
                            fix="Grant the auditor list on the kind named here and on ASM's control plane (or collect "
                                "them into the snapshot), then audit again.",
                            message="istioctl {version} also deletes the {kind} objects carrying "
                                    "operator.istio.io/component; {what} could not be read: {reason}")
    # Pods on ASM's proxy whose account is not read (a bare pod: the inventory keeps pods as summaries; a StatefulSet,
    # CronJob, Rollout... whose kind was not read) in a namespace where the purge deletes labelled ServiceAccounts: any
    # of them may be the account they run as (AA2515 when it is).
    ACCOUNT_OF_UNREAD = Outcome("AA2544", Status.UNKNOWN, "pods on ASM's proxy run in a namespace where the purge "
                                "deletes ServiceAccounts carrying operator.istio.io/component, and the account they "
                                "run as cannot be read: whether the purge deletes it cannot be told",
                                fix="List the ServiceAccount each pod of the namespace runs as (the command given); "
                                    "take operator.istio.io/component off each purged account that a pod on ASM's "
                                    "proxy runs as, or let the auditor read the workload's kind; then audit again.",
                                message="the purge deletes ServiceAccount(s) {accounts} of namespace {namespace}, "
                                        "and which account {count} workload(s) on ASM's proxy run as cannot be read: "
                                        "{workloads}")
    ACCOUNTS_UNREAD = Outcome("AA2543", Status.UNKNOWN, "ServiceAccounts could not be read: whether the purge deletes "
                              "the accounts workloads on ASM's proxy run as cannot be told",
                              fix="Grant the auditor list on serviceaccounts (or collect them into the snapshot), or "
                                  "take operator.istio.io/component off each account the commands given list; then "
                                  "audit again.",
                              message="ServiceAccounts could not be read ({reason}): whether the purge deletes "
                                      "{accounts}, which {count} workload(s) on ASM's proxy run as, cannot be told")
    # A mirror (VirtualService mirror/mirrors, Gateway API RequestMirror filter) to a purged Service: the copies are
    # best effort and their answers ignored (istio/api virtual_service.proto HTTPRoute.mirrors; gateway-api
    # HTTPRequestMirrorFilter), so the callers' traffic goes on; what the copies fed (a shadow deployment, a capture)
    # gets nothing afterwards.
    MIRROR_NAMED = Outcome("AA2523", Status.WARN, "something mirrors traffic by name to a Service the purge deletes "
                           "(a VirtualService mirror, a Gateway API RequestMirror filter): the copies reach nothing "
                           "afterwards; the traffic itself goes on", Severity.MAJOR,
                           fix="Point the mirror at the Service that replaces the purged one (or remove it) before the "
                               "purge, or take operator.istio.io/component off the Service so that it stays; then "
                               "audit again.",
                           message="{subject} mirrors traffic to Service {service} ({how}), which the purge deletes: "
                                   "the copies reach nothing afterwards")
    # What names the purged Services is read from these kinds: one not read may hide an AA2513 (a front-door Ingress
    # forbidden to the auditor), so the purge is not called clean without them.
    NAMES_UNREAD = Outcome("AA2538", Status.UNKNOWN, "whether something still sends traffic by name to a Service the "
                           "purge deletes cannot be told: a kind that may name it could not be read",
                           fix="Grant the auditor list on the kinds named (or collect them into the snapshot), then "
                               "audit again.",
                           message="the purge deletes Service(s) {services}; what may still name them could not be "
                                   "read: {unread}")
    CASCADE = Outcome("AA2520", Status.WARN, "a purged CRD takes stored objects with it (all of them already on "
                      "ASM): they are gone from this cluster afterwards", Severity.MAJOR,
                      message="the purge deletes {count} labelled object(s) and with their CRDs the stored objects "
                              "{cascades} (all held by ASM's control plane)")
    HELM = Outcome("AA2521", Status.WARN, "Istio is installed with Helm here: `istioctl uninstall --purge` deletes "
                   "only the objects of its releases labelled operator.istio.io/component (istiod's) and leaves "
                   "Helm's release records and the rest; `helm uninstall` per release removes it", Severity.MAJOR,
                   message="{count} Helm release(s) of Istio: {releases}; remove them with `helm uninstall` in this "
                           "order before any `istioctl uninstall --purge`, which deletes only their objects labelled "
                           "operator.istio.io/component and leaves Helm's release records")
    # istio-ecosystem/sail-operator @1.30.3: it watches what it rendered (pkg/watches/istiod.go) and installs it again;
    # deleting its resources makes it uninstall its Helm releases (the IstioRevision/IstioCNI finalizers).
    SAIL = Outcome("AA2522", Status.WARN, "Istio is installed by the Sail operator here: it re-creates what "
                   "`istioctl uninstall --purge` deletes; deleting its resources removes Istio", Severity.MAJOR,
                   message="Istio is installed by the Sail operator here ({resources}; {rendered} object(s) rendered "
                           "by it): it re-creates what `istioctl uninstall --purge` deletes. Delete its resources "
                           "instead (it then uninstalls what it installed), then the operator")
    KIND_NOT_READ = Outcome("AA2530", Status.UNKNOWN, "what a purged CRD takes with it cannot be told: the auditor "
                            "does not read the kind it defines",
                            message="deleting CRD {crd} deletes every {kind} stored in the cluster; the auditor does "
                                    "not read that kind")
    UNLABELLED = Outcome("AA2531", Status.UNKNOWN, "an istiod runs with neither istioctl/operator nor Helm labels: "
                         "how it is removed cannot be told",
                         fix="Delete it with the manifest it was applied from (`kubectl delete -f <manifest>`).",
                         message="istiod carries neither operator.istio.io/component nor Helm's labels: `istioctl "
                                 "uninstall --purge` leaves it, and how it was installed (kubectl apply of a "
                                 "generated manifest?) cannot be told")
    STORED_UNREAD = Outcome("AA2532", Status.UNKNOWN, "what a purged CRD takes with it cannot be told: the objects "
                            "stored under it could not be read",
                            message="deleting CRD {crd} deletes every {kind} stored in the cluster; they could not be "
                                    "read: {reason}")
    ASM_COPIES_UNREAD = Outcome("AA2533", Status.UNKNOWN, "a purged CRD takes stored objects with it and whether "
                                "ASM's control plane holds them cannot be told (ASM's copies not read)",
                                message="deleting CRD {crd} deletes {count} {kind} object(s) stored here; whether ASM "
                                        "holds them cannot be told: {reason}")
    SHARED_ACCOUNT = Outcome("AA2534", Status.UNKNOWN, "a workload on ASM's proxy runs as a ServiceAccount that "
                             "Istio's purged workloads run as: whether the purge deletes it cannot be told "
                             "(ServiceAccounts are not read)",
                             fix="If the ServiceAccount carries operator.istio.io/component, take the label off "
                                 "before the purge (`kubectl label serviceaccount/<name> -n <namespace> "
                                 "operator.istio.io/component-`), then audit again.",
                             message="{workload} runs ASM's proxy as ServiceAccount {account}, which {istio} also run "
                                     "as: Istio's charts render that account with operator.istio.io/component, and "
                                     "the purge deletes the ServiceAccounts carrying it (they are not read here)")
    # Istio's CNI plug-in redirects every pod with istio-proxy, the sidecar status annotation and no istio-init in a
    # namespace it does not exclude, whoever injected it (cni/pkg/plugin/plugin.go doAddRun @1.24.6), and its agent
    # takes the plug-in off each node's CNI config when it stops (cni/pkg/install/install.go Cleanup; cni/pkg/cmd/
    # root.go @1.22.8..1.30.3: also in ambient mode once its DaemonSet is deleted). Istio's injector gives pods
    # istio-validation instead of istio-init whenever CNI is on, whatever namespaces the plug-in excludes
    # (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml @1.24.6); whether ASM's does the
    # same in the namespaces its plug-in skips is not published: the pods running tell (the pod frame's cni_redirect,
    # istio-proxy and no istio-init), and a pod listing istio-init needs no plug-in.
    CNI_SKIPPED = Outcome("AA2535", Status.UNKNOWN, "the purge removes Istio's CNI plug-in while ASM's CNI plug-in "
                          "skips (or may skip) namespaces where ASM's pods run: if ASM injected them without "
                          "istio-init, only Istio's plug-in redirects their traffic",
                          fix="List the init containers of ASM's pods in the namespaces named (the commands given): "
                              "pods with istio-validation and no istio-init rely on Istio's plug-in. Take their "
                              "namespaces out of ASM's CNI ExcludeNamespaces (ASM console: Data Plane Component "
                              "Management > CNI), restart them, state asm.cni_exclude_namespaces in the config, and "
                              "audit again before the purge.",
                          message="the purge deletes Istio's CNI node agent {agents}, whose plug-in redirects pods "
                                  "injected without istio-init; ASM's CNI plug-in is on ({source}) but {skips}: pods "
                                  "ASM injected there without istio-init would start with no redirection (or fail "
                                  "istio-validation) once it is gone")
    # A pod injected without istio-init (the pod frame's cni_redirect: hello.yaml.cni.injected @1.24.6 lists
    # istio-validation instead) has its traffic redirected by a CNI plug-in; when ASM's plug-in cannot be told on,
    # Istio's, which the purge removes, may be the only one.
    CNI_STATE_UNKNOWN = Outcome("AA2537", Status.UNKNOWN, "the purge removes Istio's CNI plug-in while ASM's pods "
                                "were injected without istio-init (CNI mode) and whether ASM's CNI plug-in is on "
                                "cannot be told: Istio's may be the only plug-in that redirects their traffic",
                                fix="Read ASM's CNI setting (the DescribeServiceMeshDetail command given: "
                                    "SidecarInjector.InitCNIConfiguration Enabled and ExcludeNamespaces) and list the "
                                    "init containers of ASM's pods in the namespaces named. Where ASM's plug-in is off "
                                    "or skips those namespaces, enable it for them (ASM console: Data Plane Component "
                                    "Management > CNI) and restart the pods before the purge; save the answer or state "
                                    "asm.cni (and asm.cni_exclude_namespaces) in the config, then audit again.",
                                message="the purge deletes Istio's CNI node agent {agents}, whose plug-in redirects "
                                        "pods injected without istio-init; ASM's pods in {namespaces} were injected "
                                        "without istio-init (CNI mode), and whether ASM's CNI plug-in is on cannot be "
                                        "told ({why}): if it is off or skips them, they start with no redirection (or "
                                        "fail istio-validation) once Istio's is gone")
    # gateways.unproven_webhook_calls: an injector whose istiod is not proven Istio's may be ASM's injection path (a
    # revision tag `istioctl tag set` wrote for ASM's revision carries Istio's labels: revision-tags.yaml @1.24.6).
    WEBHOOK_UNPROVEN = Outcome("AA2536", Status.UNKNOWN, "the purge deletes a webhook configuration carrying "
                               "operator.istio.io/component whose webhook calls an istiod that cannot be told "
                               "Istio's (an unproven Service, or a URL): it may be ASM's injection path",
                               fix="Run the commands given: if the webhook calls ASM's istiod (a revision tag set for "
                                   "ASM's revision), take operator.istio.io/component off it before the purge; state "
                                   "what it calls, then audit again.",
                               message="{subject} carries operator.istio.io/component, so the purge deletes it, but "
                                       "its webhook {webhook} calls {calls}, whose istiod cannot be told Istio's "
                                       "({why}): if it is ASM's, the purge deletes ASM's injection path")
    # Istio's primary-remote guides install the primary with values.pilot.env.EXTERNAL_ISTIOD=true (istio.io setup/
    # install/multicluster/primary-remote), the istiod that reads remote clusters' controlPlaneClusters annotation and
    # serves their proxies (auditor/remote.py); the external control plane guide installs its istiod so too. Which
    # remote clusters it serves is written only in its remote secrets (istio-remote-secret-<remote>, label
    # istio/multiCluster=true: istioctl/pkg/multicluster/remote_secret.go, pkg/kube/multicluster/secretcontroller.go
    # @1.22.3; never read) and in the remotes themselves: the purge leaves their proxies with no CA and no
    # configuration unless every such remote is already on ASM. A remote audited here is judged by its own findings;
    # one not audited is seen by nobody, so the operator declares them (config remote_clusters) and the check holds
    # the declaration to the audit (review22: one audited remote naming the istiod hid a second one, a GO).
    SERVES_REMOTES = Outcome("AA2539", Status.UNKNOWN, "an istiod the uninstall removes runs with EXTERNAL_ISTIOD "
                             "true (it serves remote clusters' proxies) and the config does not declare which remote "
                             "clusters it serves (remote_clusters): whether remote clusters this run does not audit "
                             "still depend on it cannot be told, even when an audited cluster names it",
                             fix="List the remote clusters this istiod serves from its cluster's remote secrets, names "
                                 "only (`kubectl get secret -n istio-system -l istio/multiCluster=true`: one "
                                 "istio-remote-secret-<remote> per remote; the tool never reads Secrets), declare them "
                                 "in the config under remote_clusters (`<this cluster>: [<remote>, ...]`, each remote "
                                 "as this audit names it; [] when none) and audit every one in the same run, so that "
                                 "their own findings say whether their proxies are on ASM.",
                             message="istiod {istiod} (CLUSTER_ID {cluster_id}) runs with EXTERNAL_ISTIOD true and the "
                                     "config does not declare the remote clusters it serves (remote_clusters, under "
                                     "{cluster} or its CLUSTER_ID); audited clusters naming it in "
                                     "topology.istio.io/controlPlaneClusters: {named_by} ({unread}): a remote cluster "
                                     "it serves that this run does not audit would lose its control plane")
    REMOTE_NOT_AUDITED = Outcome("AA2541", Status.UNKNOWN, "an istiod the uninstall removes serves remote clusters "
                                 "the config declares (remote_clusters) that this run does not audit: whether their "
                                 "proxies still depend on it cannot be told",
                                 fix="Audit the remote clusters named in the same run (--cluster NAME=KUBECONFIG or "
                                     "the fleet file, under the names declared), so that their own findings say "
                                     "whether their proxies are on ASM; a remote this istiod no longer serves (its "
                                     "istio-remote-secret-<remote> gone from `kubectl get secret -n istio-system -l "
                                     "istio/multiCluster=true`) comes out of remote_clusters.",
                                 message="istiod {istiod} (CLUSTER_ID {cluster_id}) serves the declared remote "
                                         "cluster(s) {remotes}, which this run does not audit: their proxies would "
                                         "lose their control plane unless they are already on ASM")
    # FAIL, not UNKNOWN: the audit holds evidence against the operator's declaration (as AA0718 for a given cluster
    # id its cluster contradicts). One of the two, the declaration or the annotation, is wrong and must be corrected,
    # and a declaration shown incomplete once cannot vouch for the remotes this run does not audit. A remote naming
    # `*` names every istiod, not this one: it does not contradict a declaration.
    UNDECLARED_REMOTE = Outcome("AA2542", Status.FAIL, "an audited cluster names an istiod the uninstall removes "
                                "(EXTERNAL_ISTIOD true) in topology.istio.io/controlPlaneClusters, but the config's "
                                "remote_clusters leaves it out of that istiod's remotes: the declaration or the "
                                "annotation is wrong, and a declaration found incomplete cannot vouch for the remotes "
                                "this run does not audit",
                                fix="Compare the declaration with this cluster's remote secrets, names only (`kubectl "
                                    "get secret -n istio-system -l istio/multiCluster=true`): add the cluster named to "
                                    "remote_clusters (as this audit names it), or, if this istiod does not serve it, "
                                    "correct that cluster's topology.istio.io/controlPlaneClusters annotation; then "
                                    "audit again.",
                                message="{clusters} name(s) istiod {istiod} (CLUSTER_ID {cluster_id}) in "
                                        "topology.istio.io/controlPlaneClusters, but remote_clusters declares as its "
                                        "remotes only {declared}: the declaration (from this cluster's remote "
                                        "secrets) or that annotation is wrong")
    NO_ISTIO = Outcome("AA2540", Status.NOT_APPLICABLE, "nothing carries operator.istio.io/component or Helm's "
                       "Istio labels and no istiod runs: the purge deletes nothing here",
                       message="no object carries operator.istio.io/component or Helm's Istio labels and no istiod "
                               "runs: `istioctl uninstall --purge` deletes nothing here")
    outcomes = (CLEAN, ASM_OBJECT, NOT_ON_ASM, ASM_OBJECT_UNDER_CRD, STILL_NAMED, CASCADE, HELM, SAIL, MIRROR_NAMED,
                KIND_NOT_READ, UNLABELLED, STORED_UNREAD, ASM_COPIES_UNREAD, SHARED_ACCOUNT, CNI_SKIPPED,
                WEBHOOK_UNPROVEN, CNI_STATE_UNKNOWN, NAMES_UNREAD, SERVES_REMOTES, REMOTE_NOT_AUDITED,
                UNDECLARED_REMOTE, NO_ISTIO, TEMPLATE_LABELLED, ACCOUNT_LABELLED, ACCOUNTS_UNREAD, CONFIG_NOT_ON_ASM,
                CONFIG_UNREAD, ACCOUNT_OF_UNREAD)
    needs = PRUNED_KINDS
    # ServiceAccounts: metadata only is judged (never their token Secrets, which the auditor never reads).
    # The pod owners' templates: which account the pods on ASM's proxy run as (AA2515/AA2544).
    uses = (*K.ISTIO_API_KINDS, *K.GATEWAY_API_KINDS, K.ISTIOOPERATOR, *K.SAIL_KINDS, K.POD, *SCAN_KINDS, K.INGRESS,
            K.NAMESPACE, K.SERVICEACCOUNT, *ACCOUNT_TEMPLATE_KINDS.values(), K.ARGO_ROLLOUT)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        self._record_links(cluster)
        labelled: list[tuple[str, dict[str, Any]]] = []
        for kind in PRUNED_KINDS:
            # Only the objects carrying the label or the release annotation, from one walk of the kind that
            # istio-residue's questions share (labelled.py): most objects carry neither.
            labelled.extend((kind.kind, obj) for obj in carrying_label(cluster, kind, COMPONENT_LABEL))
        # Istio's charts write operator.istio.io/component on what a Helm install renders too (istiod's Deployment,
        # Service, ConfigMaps, webhooks: "Pilot", istio-discovery/templates/*.yaml @1.22.8, 1.24.6, 1.26.8, 1.30.3):
        # such an object is in the purge's list above and in its Helm release, whose record (Secret
        # sh.helm.release.v1.*) the purge leaves. Sail's renders are judged apart (AA2522).
        helm_releases = istio_helm_releases(cluster, PRUNED_KINDS)
        # EnvoyFilters are pruned too (NamespacedResources @1.22.3..1.30.3); judged with the rest when they are read.
        filters_read = cluster.available(K.ENVOYFILTER)
        if filters_read:
            labelled.extend(("EnvoyFilter", obj) for obj in carrying_label(cluster, K.ENVOYFILTER, COMPONENT_LABEL))
        # ServiceAccounts too (NamespacedResources @1.10.6..1.30.3): those ASM's data plane runs as are judged (AA2515).
        accounts_read = cluster.available(K.SERVICEACCOUNT)
        if accounts_read:
            labelled.extend(("ServiceAccount", obj)
                            for obj in carrying_label(cluster, K.SERVICEACCOUNT, COMPONENT_LABEL))
        evidence_base: dict[str, Any] = {"not_read": not_read_note(
            [kind for kind, read in (("ServiceAccounts", accounts_read), ("EnvoyFilters", filters_read)) if not read])}
        labelled.extend(self._operator_resources(cluster, evidence_base))
        labelled.extend(self._old_pruned_config(cluster, evidence_base))
        sail = self._sail(cluster, labelled, evidence_base)
        if sail is not None:
            yield sail
        kept_releases = releases_asm_runs_on(cluster, ctx.inv.rules, ctx.config.gateways, helm_releases)
        removable = {key: objs for key, objs in helm_releases.items() if key_of(key) not in kept_releases}
        if removable:
            order = uninstall_order(removable)
            commands = [mesh.helm_uninstall(cluster.name, release, ns) for release, ns in order]
            releases = ", ".join(f"{r} ({ns})" for r, ns in order)
            evidence = {**evidence_base, "releases": {
                f"{ns}/{r}": [_subject(kind, _meta(obj)) for kind, obj in removable[(r, ns)]][:20] for r, ns in order}}
            purged = {f"{ns}/{r}": [_subject(kind, _meta(obj)) for kind, obj in removable[(r, ns)]
                                    if COMPONENT_LABEL in (_meta(obj).get("labels") or {})][:20] for r, ns in order}
            if purged := {key: subjects for key, subjects in purged.items() if subjects}:
                evidence["deleted_by_the_purge"] = purged
            if kept_releases:
                evidence["kept_releases"] = kept_releases
            yield self.report(self.HELM, cluster.name, params={"count": len(removable), "releases": releases},
                              remediation="\n".join(commands), evidence=evidence)
        unlabelled = [d for d in cluster.istiod_deployments() if not mesh.istio_installed(_meta(d))]
        if sail is not None and not labelled and not helm_releases and not unlabelled:
            return  # nothing for istioctl to delete: the Sail operator's resources are what removes Istio
        for dep in unlabelled:
            meta = _meta(dep)
            yield self.report(self.UNLABELLED, cluster.name, params={}, kind="Deployment",
                              namespace=meta.get("namespace", ""), name=meta.get("name", ""),
                              evidence=evidence_base)
        # A pod template carrying the label: its pods are purged even when nothing else is (AA2514 when on ASM's proxy;
        # Istio's own, such as an istiod applied from `istioctl manifest generate`, are AA2531's).
        templated = template_labelled(cluster)
        if not labelled and templated:
            spaces = {_meta(obj).get("namespace", "") for _, obj in templated}
            on_asm = asm_proxied_workloads_of(cluster, ctx.inv.rules, ctx.config.gateways, spaces)
            templated = [(kind, obj) for kind, obj in templated
                         if (kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")) in on_asm]
        if not labelled and not templated:
            if not helm_releases and not unlabelled:
                yield self.report(self.NO_ISTIO, cluster.name, params={}, evidence=evidence_base)
            return
        yield from self._purge(cluster, ctx, labelled, templated, evidence_base)

    def prepare(self, ctx: Context) -> None:
        # For AA2539 (conclude): the istiods with EXTERNAL_ISTIOD true, and what each cluster's Namespaces name in
        # topology.istio.io/controlPlaneClusters, kept as each cluster is judged (clusters are read one at a time).
        self._serving: list[tuple[str, str, str, str | None]] = []  # (cluster, namespace, name, CLUSTER_ID)
        self._named: dict[str, set[str]] = {}  # CLUSTER_ID (or "*") -> the clusters naming it
        self._namespaces_read: set[str] = set()

    def _record_links(self, cluster: ClusterInventory) -> None:
        """What AA2539 needs of this cluster: its istiods serving remotes, the control planes its Namespaces name."""
        if cluster.available(K.NAMESPACE):
            for ns in cluster.objects(K.NAMESPACE):
                value = (_meta(ns).get("annotations") or {}).get(CONTROL_PLANE_CLUSTERS)
                if isinstance(value, str):
                    for entry in {e.strip() for e in value.split(",") if e.strip()}:
                        self._named.setdefault(entry, set()).add(cluster.name)
            self._namespaces_read.add(cluster.name)
        for dep in cluster.istiod_deployments():
            # EXTERNAL_ISTIOD or CLUSTER_ID not a literal (valueFrom: None) cannot be read: such an istiod may serve
            # remotes, and no audited cluster can be told to name it (review21e: read as "no" and as the default id).
            if istiod_external(dep) is not False:
                meta = _meta(dep)
                self._serving.append((cluster.name, str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                                      istiod_cluster_id(dep)))

    def conclude(self, ctx: Context) -> Iterator[Finding]:
        """For each istiod running with EXTERNAL_ISTIOD true (or not known false), held to the remote clusters the
        config declares for it (remote_clusters, by its cluster's name or its CLUSTER_ID): AA2539 when none are declared
        (whoever names it: an audited remote says nothing of one not audited), AA2541 naming the declared remotes this
        run does not audit, AA2542 naming the audited clusters whose Namespaces name its CLUSTER_ID
        (topology.istio.io/controlPlaneClusters) that the declaration leaves out. Declared remotes all audited: their
        own findings (istio-sidecars-remaining) say whether their proxies still need this istiod."""
        audited = {c.name for c in ctx.inv.data_planes}
        declared_by_id: dict[str, set[str]] = {}  # CLUSTER_ID -> the remotes declared for any istiod running with it
        declarations = []
        for cluster, _, _, cluster_id in self._serving:
            declared = ctx.config.remotes_of(cluster, cluster_id)
            declarations.append(declared)
            if declared is not None and cluster_id is not None:
                declared_by_id.setdefault(cluster_id, set()).update(declared)
        for (cluster, namespace, name, cluster_id), declared in zip(self._serving, declarations, strict=True):
            # Who names this istiod: its CLUSTER_ID (not known: nobody can be told to) or `*`, any istiod.
            by_id = self._named.get(cluster_id, set()) - {cluster} if cluster_id is not None else set()
            by_any = self._named.get("*", set()) - {cluster}
            unread = sorted(c for c in audited if c != cluster and c not in self._namespaces_read)
            where = {"kind": "Deployment", "namespace": namespace, "name": name}
            params = {"istiod": f"{namespace}/{name}", "cluster_id": cluster_id or "(valueFrom)", "cluster": cluster}
            evidence = {"not_read": NOT_READ_NOTE, "named_by_cluster_id": sorted(by_id),
                        "named_by_any": sorted(by_any), "unread_clusters": unread}
            if declared is None:
                named_by = sorted(by_id | by_any)
                yield self.report(self.SERVES_REMOTES, cluster, **where, evidence=evidence,
                                  remediation=self._remote_secrets_command(cluster, namespace),
                                  params={**params, "named_by": ", ".join(named_by) if named_by
                                          else Phrase(N_("none")),
                                          "unread": (Phrase(N_("Namespaces not read in {clusters}"),
                                                            clusters=", ".join(unread)) if unread
                                                     else Phrase(N_("every audited cluster's Namespaces read")))})
                continue
            evidence["declared_remotes"] = sorted(declared)
            if missing := sorted(declared - audited - {cluster}):
                yield self.report(self.REMOTE_NOT_AUDITED, cluster, **where, remediation=self.REMOTE_NOT_AUDITED.fix,
                                  params={**params, "remotes": ", ".join(missing)},
                                  evidence={**evidence, "not_audited": missing})
            # A cluster declared for another istiod running with the same CLUSTER_ID names that one as much as this.
            if undeclared := sorted(by_id - declared_by_id.get(cluster_id or "", set())):
                yield self.report(self.UNDECLARED_REMOTE, cluster, **where,
                                  remediation=self._remote_secrets_command(cluster, namespace, UNDECLARED_COMMENT),
                                  params={**params, "clusters": ", ".join(undeclared),
                                          "declared": ", ".join(sorted(declared)) if declared else Phrase(N_("none"))},
                                  evidence={**evidence, "undeclared": undeclared})

    @staticmethod
    def _remote_secrets_command(cluster: str, namespace: str, comment: str = REMOTES_COMMENT) -> str:
        """The names of the remote secrets of istiod's namespace (the multicluster secret controller watches its own,
        pilot/pkg/bootstrap/server.go @1.22.3) and the remote each names (istioctl's annotation
        networking.istio.io/cluster, istioctl/pkg/multicluster/options.go, remote_secret.go @1.22.3): metadata only."""
        columns = mesh.sh("custom-columns=NAME:.metadata.name,"
                          "REMOTE:.metadata.annotations.networking\\.istio\\.io/cluster")
        return (f"{mesh.kubectl(cluster)} get secret {mesh.ns_flag(namespace)} -l istio/multiCluster=true "
                f"-o {columns}\n# {comment}")

    @staticmethod
    def _operator_resources(cluster: ClusterInventory, evidence: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The IstioOperators istioctl 1.22/1.23's purge deletes, every one whatever its labels (finalizers cleared
        first: getIstioOperatorCR and deleteResource, operator/pkg/helmreconciler/prune.go @1.22.3, 1.23.6; gone
        from operator/pkg/uninstall/prune.go @1.24.0..1.30.3). Judged by the lowest installed istiod's version, as the
        configuration istioctl before 1.20 prunes (old_prune_version: a canary 1.22 + 1.24 has no single istioctl, and
        the oldest deletes the most); named in the evidence when no version is read. Istio's install records only
        (ASM's control plane takes none): what the purge deletes, no finding of their own."""
        if not cluster.available(K.ISTIOOPERATOR) or not (operators := cluster.objects(K.ISTIOOPERATOR)):
            return []
        version, _ = old_prune_version(cluster)
        if version is None:
            listed = ", ".join(sorted(_subject("IstioOperator", _meta(o)) for o in operators))
            evidence["istio_operators"] = ("istioctl before 1.24 also deletes every IstioOperator, whatever its "
                                           f"labels: {listed}")
            return []
        return [("IstioOperator", o) for o in operators] if (version.major, version.minor) < OPERATOR_PRUNE_UNTIL \
            else []

    @staticmethod
    def _old_pruned_config(cluster: ClusterInventory, evidence: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The labelled objects of OLD_PRUNED_CONFIG (those read) when the installed istiod is before 1.20, whose
        istioctl deletes them too (the lowest when revisions differ); named in the evidence when no version is read
        (AA2517: _old_config)."""
        version, _ = old_prune_version(cluster)
        if version is not None and (version.major, version.minor) >= OLD_PRUNE_UNTIL:
            return []
        found = [(kind.kind, obj) for kind in OLD_PRUNED_CONFIG if cluster.available(kind)
                 for obj in carrying_label(cluster, kind, COMPONENT_LABEL)]
        evidence["not_read"] = evidence["not_read"].replace(" carrying the label", ", PersistentVolumeClaims (istioctl "
                                                            "before 1.20) carrying the label")
        if version is None:
            if found:
                evidence["old_istioctl_config"] = ("istioctl before 1.20 also deletes these, carrying the label: "
                                                   + ", ".join(sorted(_subject(k, _meta(o)) for k, o in found)[:50]))
            return []
        return found

    def _old_config(self, cluster: ClusterInventory, ctx: Context, labelled: list[tuple[str, dict[str, Any]]],
                    failed: set[tuple[str, str, str]], evidence: dict[str, Any]) -> Iterator[Finding]:
        """AA2516 per kind of OLD_PRUNED_CONFIG whose labelled objects (istioctl before 1.20 deletes them) ASM's control
        plane does not hold (by namespace and name, as _cascade compares); AA2517 when the kind or ASM's copies could
        not be read, or when no istiod's version can be read and such labelled objects exist. Those of ASM's or another
        owner are AA2510's."""
        version, why = old_prune_version(cluster)
        if version is None:
            for kind in OLD_PRUNED_CONFIG:
                if cluster.available(kind) and carrying_label(cluster, kind, COMPONENT_LABEL):
                    yield self.report(self.CONFIG_UNREAD, cluster.name, evidence=evidence, params={
                        "version": Phrase(N_("before 1.20")), "kind": kind.kind,
                        "what": Phrase(N_("the installed Istio version")), "reason": why})
            return
        if (version.major, version.minor) >= OLD_PRUNE_UNTIL:
            return
        kubectl = mesh.kubectl(cluster.name)
        for kind in OLD_PRUNED_CONFIG:
            params: dict[str, Any] = {"version": str(version), "kind": kind.kind}
            if not cluster.available(kind):
                yield self.report(self.CONFIG_UNREAD, cluster.name, evidence=evidence, params={
                    **params, "what": Phrase(N_("they")), "reason": cluster.unread_reason(kind)})
                continue
            subjects = {(ns, name) for k, o in labelled if k == kind.kind
                        and (k, ns := _meta(o).get("namespace", ""), name := _meta(o).get("name", "")) not in failed}
            if not subjects:
                continue
            try:
                held = {(_meta(o).get("namespace", ""), _meta(o).get("name", ""))
                        for o in ctx.inv.require_asm().objects(kind)}
            except EvidenceUnavailable as exc:
                yield self.report(self.CONFIG_UNREAD, cluster.name, evidence=evidence, params={
                    **params, "what": Phrase(N_("ASM's copies of them")), "reason": exc.reason})
                continue
            if missing := sorted(_subject(kind.kind, {"namespace": ns, "name": n}) for ns, n in subjects - held):
                # One command per object, naming the kind by its group as AA2510's do (`gateway` alone may be the
                # Gateway API's).
                commands = [f"{kubectl} label {mesh.object_ref(RESOURCE_OF[kind.kind], n)} {mesh.ns_flag(ns)} "
                            f"{COMPONENT_LABEL}-" for ns, n in sorted(subjects - held)]
                yield self.report(self.CONFIG_NOT_ON_ASM, cluster.name,
                                  params={**params, "count": len(missing), "objects": ", ".join(missing[:10])},
                                  remediation="\n".join(commands),
                                  evidence={**evidence, "not_on_asm": missing[:50]})

    def _sail(self, cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
              evidence_base: dict[str, Any]) -> Finding | None:
        """AA2522 when the Sail operator installed Istio here: its resources, its Deployment or what it rendered."""
        resources = [(kind, _meta(obj)) for kind in K.SAIL_KINDS if cluster.available(kind)
                     for obj in cluster.objects(kind)]
        operators = [_meta(d) for d in cluster.istio_operator_deployments() if mesh.is_sail_operator(d)]
        rendered = sorted(_subject(kind, _meta(obj)) for kind, obj in labelled if mesh.sail_installed(_meta(obj)))
        if not (resources or operators or rendered):
            return None
        top = mesh.unowned_among(resources)  # what the user deletes (an Istio's IstioRevisions go with it)
        kubectl = mesh.kubectl(cluster.name)
        commands = [f"{kubectl} delete {mesh.object_ref(f'{kind.plural}.{kind.group}', m.get('name', ''))}"
                    for kind, m in top]
        commands += [f"# then the operator {mesh.sh_text(m.get('namespace') or '')}/"
                     f"{mesh.sh_text(m.get('name') or '')}: `helm uninstall` of its release, or its OLM Subscription "
                     "and ClusterServiceVersion" for m in operators]
        listing = [f"{kind.kind} {m.get('name', '')}" for kind, m in top] + [
            f"operator {m.get('namespace', '')}/{m.get('name', '')}" for m in operators]
        return self.report(self.SAIL, cluster.name,
                           params={"resources": ", ".join(listing) or "its resources not read",
                                   "rendered": len(rendered)},
                           remediation="\n".join(commands) or f"{mesh.kubectl(cluster.name)} get istios,istiocnis,"
                                                               "ztunnels,istiorevisiontags.sailoperator.io",
                           evidence={**evidence_base, "sail_resources": listing[:50], "rendered": rendered[:50]})

    def _purge(self, cluster: ClusterInventory, ctx: Context, labelled: list[tuple[str, dict[str, Any]]],
               templated: list[tuple[str, dict[str, Any]]], evidence_base: dict[str, Any]) -> Iterator[Finding]:
        exact, version = istioctl_version(cluster)
        # Which istioctl to run belongs to the command: its version, or why one version cannot be named.
        command = preview_command(cluster.name, exact) + (f"  # istioctl {exact}" if exact else f"\n# {version}")
        listing = sorted(_subject(kind, _meta(obj)) for kind, obj in labelled)
        # Every finding says how much the purge deletes: the CAB pack's "what the step changes" reads it.
        evidence_base = {**evidence_base, "deleted_count": len(listing),
                         "by_kind": dict(sorted(Counter(kind for kind, _ in labelled).items()))}
        evidence = {**evidence_base, "deleted": listing[:50], "istioctl": version}
        problems = 0
        failed: set[tuple[str, str, str]] = set()
        # What ASM's data plane runs, in the namespaces of the labelled workloads, Services and ConfigMaps (all that
        # _serving_asm and _shared_accounts compare it with): not every moved workload's template.
        # With those of the workloads whose pod template carries the label (their pods are purged: AA2514).
        # With those of the labelled ServiceAccounts (AA2515), and, when ServiceAccounts were not read, those of the
        # workloads running as an account a chart renders (AA2543: the accounts the installer may have labelled).
        accounts_read = cluster.available(K.SERVICEACCOUNT)
        spaces = {_meta(obj).get("namespace", "") for kind, obj in (*labelled, *templated)
                  if kind in ("Deployment", "DaemonSet", "Service", "ConfigMap", "ServiceAccount")}
        asked = spaces if accounts_read else spaces | chart_account_spaces(cluster)
        asm = asm_proxied_workloads_of(cluster, ctx.inv.rules, ctx.config.gateways, asked) if asked else {}
        serving = self._serving_asm(cluster, labelled, asm)
        templated_on_asm = {(kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")): obj
                            for kind, obj in templated}
        templated_on_asm = {key: obj for key, obj in templated_on_asm.items() if key in asm}
        for kind, obj in labelled:
            if kind == "IstioOperator":
                continue  # deleted by istioctl 1.22/1.23 whatever its labels: no label to take off; Istio's own
            meta = _meta(obj)
            owner = mesh.asm_owned(meta) or serving.get((kind, meta.get("namespace", ""), meta.get("name", "")))
            if owner and not (kind == "Pod" and owner.startswith("owned by")):  # pods are owned by their workload
                problems += 1
                key = (kind, meta.get("namespace", ""), meta.get("name", ""))
                failed.add(key)
                remediation = (f"kubectl --kubeconfig={mesh.kubeconfig_var(cluster.name)}"
                               f" label {mesh.sh(RESOURCE_OF.get(kind, kind.lower()) + '/' + meta.get('name', ''))}"
                               + (f" {mesh.ns_flag(meta['namespace'])}" if meta.get("namespace") else "")
                               + f" {COMPONENT_LABEL}-")
                if key in templated_on_asm:
                    # Its pods and ServiceAccount go too: one fix for all (else AA2514 next time).
                    remediation += "\n" + self._template_commands(cluster.name, kind, key[1], key[2],
                                                                    templated_on_asm.pop(key))
                yield self.report(self.ASM_OBJECT, cluster.name,
                                  params={"subject": _subject(kind, meta), "owner": owner},
                                  kind=kind, namespace=meta.get("namespace", ""), name=meta.get("name", ""),
                                  remediation=remediation, evidence={**evidence_base, "istioctl": version})
        for (kind, ns, name), obj in sorted(templated_on_asm.items()):
            problems += 1
            account = template_service_account(obj) or "default"
            yield self.report(self.TEMPLATE_LABELLED, cluster.name,
                              params={"kind": kind, "namespace": ns, "name": name, "why": asm[(kind, ns, name)].why,
                                      "account": account},
                              kind=kind, namespace=ns, name=name,
                              remediation=self._template_commands(cluster.name, kind, ns, name, obj),
                              evidence={**evidence_base, "istioctl": version, "service_account": account})
        for finding in self._still_named(cluster, ctx, labelled, failed, {**evidence_base, "istioctl": version}):
            problems += 1
            yield finding
        for finding in self._unproven_webhooks(cluster, labelled, failed, {**evidence_base, "istioctl": version}):
            problems += 1
            yield finding
        if accounts_read:
            for finding in self._labelled_accounts(cluster, labelled, asm, failed,
                                                   {**evidence_base, "istioctl": version}):
                problems += 1
                yield finding
        else:
            shared: set[tuple[str, str, str]] = set()
            for finding in self._shared_accounts(cluster, labelled, asm, {**evidence_base, "istioctl": version}):
                problems += 1
                shared.add((finding.kind, finding.namespace, finding.name))
                yield finding
            unread = self._accounts_unread(cluster, labelled, asm, shared, spaces,
                                           {**evidence_base, "istioctl": version})
            if unread is not None:
                problems += 1
                yield unread
        for finding in self._old_config(cluster, ctx, labelled, failed, {**evidence_base, "istioctl": version}):
            problems += 1
            yield finding
        cni = self._cni_skipped(cluster, ctx, labelled, {**evidence_base, "istioctl": version})
        if cni is not None:
            problems += 1
            yield cni
        cascades: list[str] = []
        for kind, crd in labelled:
            if kind != "CustomResourceDefinition":
                continue
            finding, stored = self._cascade(cluster, ctx, crd, evidence_base)
            if finding is not None:
                problems += 1
                yield finding
            elif stored:
                cascades.append(stored)
        if problems:
            return
        if cascades:
            yield self.report(self.CASCADE, cluster.name,
                              params={"count": len(listing), "cascades": "; ".join(cascades)}, remediation=command,
                              evidence={**evidence, "cascade": cascades})
            return
        yield self.report(self.CLEAN, cluster.name, params={
            "count": len(listing), "by_kind": ", ".join(f"{n} {k}" for k, n in evidence["by_kind"].items())},
            remediation=command, evidence=evidence)

    @staticmethod
    def _template_commands(cluster: str, kind: str, namespace: str, name: str, obj: dict[str, Any]) -> str:
        """The commands that take operator.istio.io/component off a workload's pod template and off its ServiceAccount,
        and list what else of its namespace carries it (the gateway's Role, RoleBinding, HorizontalPodAutoscaler)."""
        kubectl = mesh.kubectl(cluster)
        patch = '[{"op":"remove","path":"/spec/template/metadata/labels/operator.istio.io~1component"}]'
        account = template_service_account(obj) or "default"
        return "\n".join([
            f"# {TEMPLATE_LABEL_COMMENT}",
            f"{kubectl} {mesh.ns_flag(namespace)} patch {mesh.object_ref(kind.lower(), name)} --type=json "
            f"-p {mesh.sh(patch)}",
            f"{kubectl} label {mesh.object_ref('serviceaccount', account)} {mesh.ns_flag(namespace)} "
            f"{COMPONENT_LABEL}-",
            f"{kubectl} get serviceaccount,role,rolebinding,horizontalpodautoscaler {mesh.ns_flag(namespace)} "
            f"-l {COMPONENT_LABEL} --show-labels"])

    def _still_named(self, cluster: ClusterInventory, ctx: Context, labelled: list[tuple[str, dict[str, Any]]],
                     failed: set[tuple[str, str, str]], evidence: dict[str, Any]) -> Iterator[Finding]:
        """AA2513 for each object (that the purge leaves) sending traffic to a Service it deletes, AA2523 for each only
        mirroring to one (gateways.service_references), but the Services AA2510 keeps (ASM's, or re-pointed at ASM's
        pods) and routes to Istio's egress gateway (egress-routes-to-asm's)."""
        purged = {(_meta(obj).get("name", ""), _meta(obj).get("namespace", "")): obj for kind, obj in labelled
                  if kind == "Service" and ("Service", _meta(obj).get("namespace", ""), _meta(obj).get("name", ""))
                  not in failed}
        if not purged:
            return
        gone = {(kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")) for kind, obj in labelled}
        egress = [g for g in istio_gateways(cluster, ctx.inv.rules, ctx.config.gateways) if g.type == EGRESS]
        egress_services = {(str(n).lower(), str(ns).lower()) for (n, ns), svc in purged.items()
                           if any(g.namespace == ns and selects((svc.get("spec") or {}).get("selector") or {},
                                                               g.pod_labels) for g in egress)}
        wanted = {(str(n).lower(), str(ns).lower()) for n, ns in purged}
        # A kind whose CRD the purge deletes goes with it (AA2511/AA2520/AA2532 speak of its objects): none is left.
        crds = {_meta(obj).get("name", "") for kind, obj in labelled if kind == "CustomResourceDefinition"}
        unread = {kind.kind: cluster.unread_reason(kind) for kind in NAMING_KINDS
                  if kind.key not in crds and not cluster.available(kind)}
        if unread:
            yield self.report(self.NAMES_UNREAD, cluster.name,
                              params={"services": ", ".join(sorted(f"{ns}/{n}" for n, ns in purged)),
                                      "unread": "; ".join(f"{k} ({why})" for k, why in unread.items())},
                              remediation=self.NAMES_UNREAD.fix, evidence={**evidence, "not_read_kinds": unread})
        found = service_references(cluster, wanted)
        routed = {r[:4] for r in found if not r[5]}
        for kind, ns, name, (svc_name, svc_ns), how, mirror in found:
            if (kind, ns, name) in gone or (kind in EGRESS_JUDGED and (svc_name, svc_ns) in egress_services) or (
                    mirror and (kind, ns, name, (svc_name, svc_ns)) in routed):
                continue
            outcome = self.MIRROR_NAMED if mirror else self.STILL_NAMED
            yield self.report(outcome, cluster.name,
                              params={"subject": _subject(kind, {"namespace": ns, "name": name}),
                                      "service": f"{svc_ns}/{svc_name}", "how": how},
                              kind=kind, namespace=ns, name=name, remediation=outcome.fix,
                              evidence={**evidence, "service": f"{svc_ns}/{svc_name}"})

    def _unproven_webhooks(self, cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
                           failed: set[tuple[str, str, str]], evidence: dict[str, Any]) -> Iterator[Finding]:
        """AA2536 for each labelled webhook configuration that calls no proven ASM istiod (those are AA2510) and one of
        whose webhooks calls what is not proven Istio's istiod (gateways.unproven_webhook_calls)."""
        for (kind, _, name), call in sorted(unproven_webhook_calls(cluster, labelled).items()):
            if (kind, "", name) in failed:
                continue  # AA2510 already: ASM's or another owner's
            meta = {"name": name}
            commands = call.commands(cluster.name, kind, name)
            commands.append(f"# {WEBHOOK_LABEL_COMMENT}")
            commands.append(mesh.one_line(f"# {mesh.kubectl(cluster.name)} label {mesh.object_ref(kind.lower(), name)} "
                                          f"{COMPONENT_LABEL}-"))
            yield self.report(self.WEBHOOK_UNPROVEN, cluster.name,
                              params={"subject": _subject(kind, meta), "webhook": call.webhook, "calls": call.calls,
                                      "why": call.why},
                              kind=kind, name=name, remediation="\n".join(commands),
                              evidence={**evidence, "calls": str(call.calls), "why_unproven": str(call.why)})

    def _cni_skipped(self, cluster: ClusterInventory, ctx: Context, labelled: list[tuple[str, dict[str, Any]]],
                     evidence: dict[str, Any]) -> Finding | None:
        """AA2535 when the purge deletes Istio's istio-cni-node while ASM's CNI plug-in is on and skips (or may skip:
        its ExcludeNamespaces not known) namespaces where pods on ASM's proxy injected without istio-init run; AA2537
        when whether ASM's plug-in is on cannot be told and such pods run. With ASM's plug-in off ASM injects
        istio-init (Istio's plug-in leaves such pods alone); where ASM's plug-in serves a namespace, its own agent
        redirects the pods there; a pod listing istio-init redirects its own traffic."""
        agents = sorted(f"{_meta(obj).get('namespace', '')}/{_meta(obj).get('name', '')}" for kind, obj in labelled
                        if kind == "DaemonSet" and _meta(obj).get("name") == mesh.ISTIO_CNI_DAEMONSET
                        and not mesh.asm_owned(_meta(obj)))
        if not agents:
            return None
        state = asm_cni_state(cluster, ctx)
        if state.enabled is False:
            return None
        if not cluster.available(K.POD):
            return None  # asm pods not read: the pod checks of this gate say UNKNOWN for it
        pods = cluster.pods()
        # ASM's sidecars left to a CNI plug-in (no istio-init: cni/pkg/plugin/plugin.go doAddRun @1.24.6 redirects
        # them, and only them).
        on_asm = pods[(pods["proxy"] == mesh.PROXY_ASM) & (pods["role"] == mesh.ROLE_SIDECAR)
                      & pods["cni_redirect"].astype(bool)] if not pods.empty else pods
        spaces = {str(ns) for ns in on_asm["namespace"].unique()} if not on_asm.empty else set()
        if state.enabled is None:
            return self._cni_unknown(cluster, ctx, state.source, agents, sorted(spaces), evidence) if spaces else None
        if state.excluded is None:
            skipped = sorted(spaces)
            skips = Phrase(N_("which namespaces it skips (ExcludeNamespaces) is not known; ASM's pods run in "
                                 "{namespaces}"), namespaces=", ".join(skipped[:10]))
        else:
            skipped = sorted(spaces & state.excluded)
            skips = Phrase(N_("it skips {namespaces} (ExcludeNamespaces, {source}), where ASM's pods run"),
                           namespaces=", ".join(skipped[:10]), source=state.excluded_source)
        if not skipped:
            return None
        kubectl = mesh.kubectl(cluster.name)
        commands = [f"{kubectl} get pods {mesh.ns_flag(ns)} -o jsonpath='{{range .items[*]}}{{.metadata.name}}"
                    "{\" \"}{.spec.initContainers[*].name}{\"\\n\"}{end}'" for ns in skipped[:10]]
        commands.append(f"# {CNI_PODS_COMMENT}")
        return self.report(self.CNI_SKIPPED, cluster.name,
                           params={"agents": ", ".join(agents), "source": state.source, "skips": skips},
                           remediation="\n".join(commands),
                           evidence={**evidence, "istio_cni": agents, "asm_cni_source": state.source,
                                     "asm_cni_excluded": sorted(state.excluded) if state.excluded is not None
                                     else None, "asm_pod_namespaces_skipped": skipped[:50]})

    def _cni_unknown(self, cluster: ClusterInventory, ctx: Context, why: str, agents: list[str], spaces: list[str],
                     evidence: dict[str, Any]) -> Finding:
        """AA2537: Istio's CNI plug-in goes, ASM's pods in `spaces` rely on a CNI plug-in, ASM's is not known on."""
        kubectl = mesh.kubectl(cluster.name)
        asm = ctx.config.asm if ctx.config is not None else None
        mesh_id = mesh.sh(asm.mesh_id) if asm is not None and asm.mesh_id else "<mesh id>"
        region = f" --region {mesh.sh(asm.region)}" if asm is not None and asm.region else ""
        commands = [f"aliyun servicemesh DescribeServiceMeshDetail --ServiceMeshId {mesh_id}{region}",
                    f"# {CNI_SETTING_COMMENT}"]
        commands += [f"{kubectl} get pods {mesh.ns_flag(ns)} -o jsonpath='{{range .items[*]}}{{.metadata.name}}"
                     "{\" \"}{.spec.initContainers[*].name}{\"\\n\"}{end}'" for ns in spaces[:10]]
        commands.append(f"# {CNI_PODS_COMMENT}")
        return self.report(self.CNI_STATE_UNKNOWN, cluster.name,
                           params={"agents": ", ".join(agents), "namespaces": ", ".join(spaces[:10]), "why": why},
                           remediation="\n".join(commands),
                           evidence={**evidence, "istio_cni": agents, "asm_cni_unknown": why,
                                     "asm_cni_mode_pod_namespaces": spaces[:50]})

    @staticmethod
    def _serving_asm(cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
                     asm: dict[tuple[str, str, str], AsmWorkload]) -> dict[tuple[str, str, str], str]:
        """(kind, namespace, name) of labelled objects that ASM's data plane runs on -> why (gateways.py
        asm_data_plane_uses, the rule istio-residue shares), while the purge selects by the label alone. A labelled
        workload that reads a labelled ConfigMap goes with the purge: its reading does not count."""
        purged = {(kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")) for kind, obj in labelled}
        return asm_data_plane_uses(cluster, labelled, asm, gone=purged)

    def _shared_accounts(self, cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
                         asm: dict[tuple[str, str, str], AsmWorkload], evidence: dict[str, Any]) -> Iterator[Finding]:
        """AA2534 for each workload on ASM's proxy (that the purge leaves) whose pods run as a ServiceAccount that
        Istio's labelled workloads of its namespace run as. Istio's charts render that account beside them with
        operator.istio.io/component (manifests/charts/gateways/istio-ingress|istio-egress/templates/serviceaccount.yaml,
        istio-cni/templates/serviceaccount.yaml @1.22.3..1.30.3; istioctl labels every object it renders), and the
        purge deletes ServiceAccounts carrying it; ServiceAccounts are not read, so whether this one carries it is not
        known. Gone, its pods cannot be created again, and the tokens they hold (istio-agent's, for the certificates
        ASM's istiod signs) stop being accepted."""
        istio_accounts: dict[tuple[str, str], list[str]] = {}
        for kind, obj in labelled:
            if kind in ("Deployment", "DaemonSet") and (account := template_service_account(obj)) \
                    and account != "default":
                meta = _meta(obj)
                key = (kind, meta.get("namespace", ""), meta.get("name", ""))
                if key not in asm:
                    istio_accounts.setdefault((key[1], account), []).append(f"{kind} {key[1]}/{key[2]}")
        if not istio_accounts:
            return
        purged = {(kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")) for kind, obj in labelled}
        for (wkind, ns, name), workload in sorted(asm.items()):
            account = workload.service_account
            users = istio_accounts.get((ns, account))
            if not users or (wkind, ns, name) in purged:
                continue
            yield self.report(self.SHARED_ACCOUNT, cluster.name, params={
                "workload": f"{wkind} {ns}/{name}", "account": account, "istio": ", ".join(users)},
                kind=wkind, namespace=ns, name=name,
                remediation=(f"{mesh.kubectl(cluster.name)} get {mesh.object_ref('serviceaccount', account)} "
                             f"{mesh.ns_flag(ns)} --show-labels\n# {SHARED_ACCOUNT_COMMENT}\n"
                             f"{mesh.kubectl(cluster.name)} label {mesh.object_ref('serviceaccount', account)} "
                             f"{mesh.ns_flag(ns)} {COMPONENT_LABEL}-"),
                evidence={**evidence, "why_asm": workload.why, "istio_workloads": users})

    def _labelled_accounts(self, cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
                           asm: dict[tuple[str, str, str], AsmWorkload], failed: set[tuple[str, str, str]],
                           evidence: dict[str, Any]) -> Iterator[Finding]:
        """AA2515 for each ServiceAccount the purge deletes (it carries the label) that workloads on ASM's proxy run as
        (their pod template's serviceAccountName), but those AA2510 already reported (ASM's or another owner's). Every
        pod owner counts: the Deployments/DaemonSets of `asm`, and the StatefulSets, CronJobs, Jobs, Rollouts,
        CloneSets one of whose pods runs ASM's proxy (a StatefulSet moved onto ASM running as a labelled account was a
        GO). AA2544 for the namespaces of such accounts where pods on ASM's proxy run as an account not read (bare
        pods, a kind not read)."""
        accounts = {(_meta(obj).get("namespace", ""), _meta(obj).get("name", "")) for kind, obj in labelled
                    if kind == "ServiceAccount"}
        accounts = {key for key in accounts if ("ServiceAccount", *key) not in failed}
        if not accounts:
            return
        spaces = {ns for ns, _ in accounts}
        users: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for key, workload in sorted(asm.items()):
            if key[1] in spaces:
                users.setdefault((key[1], workload.service_account or "default"), []).append(key)
        unread: dict[str, list[tuple[str, str, str]]] = {}
        for key in other_asm_pod_workloads(cluster, spaces):
            account = workload_account(cluster, *key)
            if account is None:
                unread.setdefault(key[1], []).append(key)
            else:
                users.setdefault((key[1], account), []).append(key)
        reported: set[str] = set()
        for ns, name in sorted(accounts):
            keys = users.get((ns, name))
            if not keys:
                continue
            reported.add(ns)
            workloads = [f"{k[0]} {k[1]}/{k[2]}" for k in keys]
            yield self.report(self.ACCOUNT_LABELLED, cluster.name,
                              params={"namespace": ns, "name": name, "workloads": ", ".join(workloads[:10])},
                              kind="ServiceAccount", namespace=ns, name=name,
                              remediation=f"{mesh.kubectl(cluster.name)} label "
                                          f"{mesh.object_ref('serviceaccount', name)} {mesh.ns_flag(ns)} "
                                          f"{COMPONENT_LABEL}-",
                              evidence={**evidence, "asm_workloads": workloads[:50],
                                        "why_asm": {w: str(asm[k].why) if k in asm else str(Phrase(N_(
                                            "its pods run ASM's proxy"))) for w, k in zip(workloads[:10], keys,
                                                                                         strict=False)}})
        for ns, keys in sorted(unread.items()):
            # The accounts of the namespace the purge deletes, but those already reported (a FAIL stands for them).
            names = sorted(name for space, name in accounts if space == ns and not users.get((ns, name)))
            if not names:
                continue
            workloads = [f"{k[0]} {k[1]}/{k[2]}" for k in keys]
            yield self.report(self.ACCOUNT_OF_UNREAD, cluster.name,
                              params={"namespace": ns, "accounts": ", ".join(names[:10]),
                                      "workloads": ", ".join(workloads[:10]), "count": len(workloads)},
                              namespace=ns,
                              remediation=self._accounts_of_command(cluster.name, ns, names),
                              evidence={**evidence, "asm_workloads": workloads[:50], "labelled_accounts": names[:50]})

    @staticmethod
    def _accounts_of_command(cluster: str, namespace: str, accounts: list[str]) -> str:
        """The pods of the namespace and the ServiceAccount each runs as (the API server fills
        spec.serviceAccountName), then the label off each purged account one of them runs as."""
        kubectl = mesh.kubectl(cluster)
        columns = mesh.sh("custom-columns=POD:.metadata.name,SERVICEACCOUNT:.spec.serviceAccountName")
        lines = [f"{kubectl} get pods {mesh.ns_flag(namespace)} -o {columns}", f"# {ACCOUNT_OF_UNREAD_COMMENT}"]
        lines += [f"# {kubectl} label {mesh.object_ref('serviceaccount', name)} {mesh.ns_flag(namespace)} "
                  f"{COMPONENT_LABEL}-" for name in accounts[:10]]
        return "\n".join(lines)

    def _accounts_unread(self, cluster: ClusterInventory, labelled: list[tuple[str, dict[str, Any]]],
                         asm: dict[tuple[str, str, str], AsmWorkload], shared: set[tuple[str, str, str]],
                         spaces: set[str], evidence: dict[str, Any]) -> Finding | None:
        """AA2543 when ServiceAccounts were not read and workloads on ASM's proxy (that the purge leaves; not already
        AA2534's) run as an account of their own that the installer could have labelled: one in a namespace holding
        labelled objects (`spaces`), or one of a name a chart renders (chart_rendered_account). Whether it carries the
        label is not known. `default` is left out: the charts render no account of that name, and
        kube-controller-manager creates it in every namespace; an application's own account elsewhere is no installer's
        (review22c: every snapshot before session 22 was INCOMPLETE for them)."""
        purged = {(kind, _meta(obj).get("namespace", ""), _meta(obj).get("name", "")) for kind, obj in labelled}
        accounts: dict[tuple[str, str], int] = {}
        for key, workload in asm.items():
            account = workload.service_account
            if account and account != "default" and key not in shared and key not in purged \
                    and (key[1] in spaces or chart_rendered_account(account)):
                accounts[(key[1], account)] = accounts.get((key[1], account), 0) + 1
        # The other pod owners on ASM's proxy, by their template's account (a StatefulSet running as a gateway's account
        # was left out). One whose account is not read either (a bare pod) is not counted: with ServiceAccounts read,
        # AA2544 asks of it.
        for key in other_asm_pod_workloads(cluster, None):
            account = workload_account(cluster, *key) if key not in purged else None
            if account and account != "default" and (key[1] in spaces or chart_rendered_account(account)):
                accounts[(key[1], account)] = accounts.get((key[1], account), 0) + 1
        if not accounts:
            return None
        listed = sorted(accounts)
        kubectl = mesh.kubectl(cluster.name)
        spaces = sorted({ns for ns, _ in listed})
        commands = [f"{kubectl} get serviceaccount {mesh.ns_flag(ns)} -l {COMPONENT_LABEL} --show-labels"
                    for ns in spaces[:10]]
        return self.report(self.ACCOUNTS_UNREAD, cluster.name,
                           params={"reason": cluster.unread_reason(K.SERVICEACCOUNT),
                                   "accounts": ", ".join(f"{ns}/{name}" for ns, name in listed[:10]),
                                   "count": sum(accounts.values())},
                           remediation="\n".join(commands),
                           evidence={**evidence, "accounts": [f"{ns}/{name}" for ns, name in listed[:50]]})

    def _cascade(self, cluster: ClusterInventory, ctx: Context, crd: dict[str, Any],
                 evidence_base: dict[str, Any]) -> tuple[Finding | None, str]:
        """A FAIL/UNKNOWN for what deleting this CRD takes with it, or None and a summary of what it takes."""
        name = _meta(crd).get("name", "")
        label, kind = crd_kind(crd)
        where = {"kind": "CustomResourceDefinition", "name": name}
        params: dict[str, Any] = {"crd": name, "kind": label}
        if kind is None:
            return self.report(self.KIND_NOT_READ, cluster.name, params=params,
                               remediation=f"kubectl --kubeconfig={mesh.kubeconfig_var(cluster.name)} get "
                                           f"{mesh.sh(name)} -A", evidence=evidence_base, **where), ""
        try:
            stored = cluster.objects(kind)
        except EvidenceUnavailable as exc:
            return self.report(self.STORED_UNREAD, cluster.name, params={**params, "reason": exc.reason},
                               evidence=evidence_base, **where), ""
        if not stored:
            return None, ""
        subjects = [_subject(kind.kind, _meta(o)) for o in stored]
        asm_objects = [f"{s} ({why})" for s, o in zip(subjects, stored, strict=True)
                       if (why := mesh.asm_owned(_meta(o)))]
        if asm_objects:
            # The fix template, filled with the CRD, is the remediation.
            return self.report(self.ASM_OBJECT_UNDER_CRD, cluster.name,
                               params={**params, "count": len(asm_objects), "objects": ", ".join(asm_objects[:10])},
                               evidence={**evidence_base, "asm_objects": asm_objects[:50]}, **where), ""
        try:
            held = {(_meta(o).get("namespace", ""), _meta(o).get("name", ""))
                    for o in ctx.inv.require_asm().objects(kind)}
        except EvidenceUnavailable as exc:
            return self.report(self.ASM_COPIES_UNREAD, cluster.name,
                               params={**params, "count": len(stored), "reason": exc.reason},
                               evidence={**evidence_base, "stored": subjects[:50]}, **where), ""
        missing = [s for s, o in zip(subjects, stored, strict=True)
                   if (_meta(o).get("namespace", ""), _meta(o).get("name", "")) not in held]
        if missing:
            return self.report(self.NOT_ON_ASM, cluster.name,
                               params={**params, "count": len(missing), "objects": ", ".join(missing[:10])},
                               evidence={**evidence_base, "not_on_asm": missing[:50]}, **where), ""
        return None, f"{len(stored)} {label}"
