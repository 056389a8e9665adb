"""Istio's mesh config after SetupIstioForMigrate: PROXY_CONFIG_XDS_AGENT set, istiod restarted since."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor import idle, mesh
from auditor import kinds as K
from auditor.check import ClusterCheck, Context, no_istiod_outcomes
from auditor.i18n import N_, Phrase, problem_of
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import (
    WORKLOAD_KEY,
    among,
    applied_shared_mesh,
    equal_to,
    iop_patch_command,
    iop_proxy_metadata,
    istio_proxy_rows,
    istiods,
    mesh_configmap_of,
    operator_hold,
    pod_columns,
    shared_mesh_config,
)
from auditor.labelled import ARGO_TRACKING, FLEET_ID, FLUX_HELMRELEASE, FLUX_KUSTOMIZATION, KUBEVELA_APP
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.remote import Links, remote_outcomes


def xds_agent_in_mesh(cm: dict[str, Any]) -> tuple[Any, str | None]:
    """(value of defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT or None, parse problem or None)."""
    try:
        config = mesh.parse_mesh(cm)
    except ValueError as exc:
        return None, problem_of(exc)
    default = config.get("defaultConfig") or {}
    metadata = default.get("proxyMetadata") if isinstance(default, dict) else None
    if metadata is None:
        return None, None
    if not isinstance(metadata, dict):
        return None, "defaultConfig.proxyMetadata is not a mapping"
    return metadata.get(mesh.XDS_AGENT_KEY), None


# What a GitOps tool that keeps an object as Git has it writes on it (auditor/labelled.py, as gitops-drift reads them):
# Argo CD's annotation tracking (its default since 3.0; its label tracking, app.kubernetes.io/instance, is also the
# label Istio's chart puts on every object, so it tells nothing here), Flux's kustomize- and helm-controller labels.
# KubeVela re-applies what its Application dispatched at every re-sync (state keep, every 5 minutes by default);
# Rancher Fleet's agent upgrades its bundle's release at the next Git change, or at once with correctDrift
# (gitops-drift's markers: auditor/labelled.py).
GITOPS_APPLIERS = (("annotations", ARGO_TRACKING, "Argo CD", "tracking-id"),
                   ("labels", f"{FLUX_KUSTOMIZATION}/name", "Flux", "Kustomization"),
                   ("labels", f"{FLUX_HELMRELEASE}/name", "Flux", "HelmRelease"),
                   ("labels", KUBEVELA_APP, "KubeVela", "Application"),
                   ("annotations", FLEET_ID, "Rancher Fleet", "bundle"))


def gitops_applier(obj: dict[str, Any]) -> tuple[str, str] | None:
    """(tool, what of it) that applies `obj` from Git and reverts a change made beside it, else None. ASM's
    SetupIstioForMigrate writes PROXY_CONFIG_XDS_AGENT into the mesh ConfigMap in the cluster, not in Git: Argo CD
    with self-heal (or at its next sync of a change) and Flux at each reconcile put Git's mesh config back."""
    meta = obj.get("metadata") or {}
    for part, key, tool, what in GITOPS_APPLIERS:
        value = (meta.get(part) or {}).get(key)
        if isinstance(value, str) and value:
            return tool, f"{what} {value}"
    return None


def operator_note(cluster: ClusterInventory) -> str:
    """An in-cluster operator reconciles the mesh ConfigMap back: the istio-operator to its IstioOperator, the Sail
    operator to its Istio resource's values."""
    for dep in cluster.istio_operator_deployments():
        meta = dep.get("metadata") or {}
        # Another object's name in the same line as the command: kept quoted and on one line.
        if mesh.is_sail_operator(dep):
            return (f" The Sail operator {mesh.sh_text(meta.get('namespace') or '')}/"
                    f"{mesh.sh_text(meta.get('name') or '')} re-renders the mesh config from its Istio resource and "
                    "reverts it: add the setting to that resource's spec.values.meshConfig.defaultConfig.proxyMetadata "
                    "too (kubectl patch istios.sailoperator.io/<name> --type=merge ...).")
        return (f" The in-cluster operator {mesh.sh_text(meta.get('namespace') or '')}/"
                f"{mesh.sh_text(meta.get('name') or '')} may have reverted it: "
                "add the setting to the IstioOperator's meshConfig.defaultConfig.proxyMetadata too.")
    return ""


class MeshConfigXdsAgent(ClusterCheck):
    id = "mesh-config-xds-agent"
    title = "The mesh config of every Istio revision sets PROXY_CONFIG_XDS_AGENT: \"true\""
    gates = (Gate.MIGRATING,)
    severity = Severity.BLOCKER
    rationale = ("SetupIstioForMigrate adds defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT: \"true\" to Istio's "
                 "mesh config (ConfigMap istio or istio-<rev> in istio-system, key mesh) so that pods injected from "
                 "then on can talk mTLS to ASM proxies. A revision without it injects pods that cannot, and so does "
                 "a ProxyConfig resource turning it off for the pods it applies to (its environmentVariables override "
                 "the mesh config's at injection).")
    remediation = ("Switch ASMMigrateFromIstio to SetupIstioForMigrate (ASM writes the setting); if it is missing "
                   "afterwards, find what reverted it (istio-operator, Helm, GitOps) and re-run the switch.")
    SET = Outcome("AA0901", Status.PASS, "every revision's mesh config sets PROXY_CONFIG_XDS_AGENT: \"true\"",
                  message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}")
    ABSENT = Outcome("AA0910", Status.FAIL, "a revision's mesh config lacks PROXY_CONFIG_XDS_AGENT",
                     message="revision {revision}: PROXY_CONFIG_XDS_AGENT is absent in {namespace}/{configmap} "
                             "(must be \"true\")")
    NO_CONFIGMAP = Outcome("AA0911", Status.FAIL, "a revision's mesh ConfigMap is missing: its istiod injects without "
                           "PROXY_CONFIG_XDS_AGENT",
                           message="revision {revision}: mesh ConfigMap {namespace}/{configmap} not found, so istiod "
                                   "{istiod} injects without PROXY_CONFIG_XDS_AGENT")
    UNPARSABLE = Outcome("AA0912", Status.FAIL, "a revision's mesh config cannot be parsed",
                         message="revision {revision}: {problem}")
    UNQUOTED = Outcome("AA0913", Status.FAIL, "PROXY_CONFIG_XDS_AGENT is an unquoted YAML true: proxyMetadata values "
                       "are strings, istiod rejects the mesh config",
                       message="revision {revision}: PROXY_CONFIG_XDS_AGENT is an unquoted YAML true; proxyMetadata "
                               "values are strings, istiod rejects the mesh config")
    WRONG_VALUE = Outcome("AA0914", Status.FAIL, "a revision's mesh config sets PROXY_CONFIG_XDS_AGENT to a value "
                          "other than \"true\"",
                          message="revision {revision}: PROXY_CONFIG_XDS_AGENT is {value} in {namespace}/{configmap} "
                                  "(must be \"true\")")
    SET_FROM_GIT = Outcome("AA0920", Status.WARN, "the setting is in the mesh ConfigMap, but Argo CD or Flux applies "
                           "that ConfigMap from Git: unless Git carries it, a sync removes it mid-migration",
                           Severity.MAJOR,
                           message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}, "
                                   "which {tool} applies from Git ({source}): pods restarted after a sync that drops "
                                   "it cannot talk mTLS to ASM proxies",
                           fix="Put defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT: \"true\" into the mesh config "
                               "in Git ({tool} {source}: the Istio chart's values meshConfig), or pause its sync for "
                               "the migration; then exempt this finding with the reason.")
    # The in-cluster istio-operator applies the ConfigMap it renders from an IstioOperator over ASM's edit when its pod
    # starts or the IstioOperator changes (auditor/istio.py OperatorHold): the IstioOperator must carry the setting.
    OPERATOR_REVERTS = Outcome(
        "AA0916", Status.FAIL, "the setting is in the mesh ConfigMap, but the in-cluster istio-operator renders that "
        "ConfigMap from an IstioOperator whose meshConfig does not set it: the operator's next reconcile (its pod "
        "restarting, any change of the IstioOperator) puts the ConfigMap back without it", Severity.MAJOR,
        fix="Set it in the IstioOperator the operator reconciles, which then renders the ConfigMap with it (the "
            "istioctl/IstioOperator gateways it renders get it too):\n{command}",
        message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}, but the in-cluster "
                "istio-operator {operator} renders that ConfigMap from IstioOperator {istio_operator}, whose "
                "meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT is {iop_value}: its next reconcile "
                "reverts the ConfigMap, and pods injected after that cannot talk mTLS to ASM proxies")
    OPERATOR_CR_UNREAD = Outcome(
        "AA0934", Status.UNKNOWN, "the setting is in the mesh ConfigMap, but the in-cluster istio-operator renders "
        "that ConfigMap from an IstioOperator that cannot be read: whether the operator's next reconcile reverts it "
        "is not known",
        fix="Grant list on istiooperators.install.istio.io (`asm-audit rbac`) or collect them into the snapshot, then "
            "audit again; or check that the IstioOperator's spec.meshConfig.defaultConfig.proxyMetadata sets "
            "PROXY_CONFIG_XDS_AGENT: \"true\".",
        message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}, rendered by the "
                "in-cluster istio-operator {operator} from IstioOperator {istio_operator}, which cannot be read "
                "({reason}): whether the operator's next reconcile reverts it is not known")
    # The Sail operator renders the mesh ConfigMap from its IstioRevision's spec.values (controllers/istiorevision/
    # istiorevision_controller.go @1.30.3: Install(..., rev.Spec.Values, ...)) and watches the ConfigMap it rendered
    # (pkg/watches/istiod.go): any change of it, or of any other object it rendered, re-applies the chart
    # (docs/general/resource-customization.adoc: even sailoperator.io/ignore does not stop the latter).
    SAIL_REVERTS = Outcome(
        "AA0917", Status.FAIL, "the setting is in the mesh ConfigMap, but the Sail operator renders that ConfigMap "
        "from an IstioRevision whose spec.values.meshConfig does not set it: its next reconcile (any change of what it "
        "rendered, its pod restarting) puts the ConfigMap back without it", Severity.MAJOR,
        fix="Set it in the Sail resource the revision comes from, which the operator then renders the ConfigMap "
            "with:\n{command}",
        message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}, but the Sail "
                "operator {operator} renders that ConfigMap from IstioRevision {istio_revision}, whose spec.values."
                "meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT is {sail_value}: its next reconcile "
                "reverts the ConfigMap, and pods injected after that cannot talk mTLS to ASM proxies")
    SAIL_CR_UNREAD = Outcome(
        "AA0935", Status.UNKNOWN, "the setting is in the mesh ConfigMap, but the Sail operator renders that "
        "ConfigMap from an IstioRevision that cannot be read: whether its next reconcile reverts it is not known",
        fix="Grant list on istiorevisions.sailoperator.io (`asm-audit rbac`) or collect them into the snapshot, then "
            "audit again; or check that the IstioRevision's spec.values.meshConfig.defaultConfig.proxyMetadata sets "
            "PROXY_CONFIG_XDS_AGENT: \"true\".",
        message="revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in {namespace}/{configmap}, rendered by the "
                "Sail operator {operator} from IstioRevision {istio_revision}, which cannot be read ({reason}): "
                "whether its next reconcile reverts it is not known")
    # Istio's injector renders a pod's env from its effective proxy config, in which a ProxyConfig resource's
    # environmentVariables override the mesh config's proxyMetadata key by key (proxy_config_overrides).
    PROXYCONFIG_OFF = Outcome(
        "AA0918", Status.FAIL, "a ProxyConfig resource sets PROXY_CONFIG_XDS_AGENT (spec.environmentVariables) to a "
        "value pilot-agent reads as false, over the mesh config: the pods it applies to are injected without the "
        "setting, whatever the mesh ConfigMap says",
        fix="Remove the key from the ProxyConfig (or set it to \"true\"), then restart the Istio-sidecar workloads it "
            "applies to so they are injected again (pods-xds-agent lists them):\n{command}",
        message="ProxyConfig {namespace}/{name} sets PROXY_CONFIG_XDS_AGENT to {value} for {scope}, over the mesh "
                "config: pods injected there lack the setting and cannot talk mTLS to ASM proxies")
    # The same ProxyConfig where it covers no pod or workload template Istio's injector injects now (its namespace, or
    # its selector, reaches none of them): nothing injected during the migration takes its value (review22b #7).
    PROXYCONFIG_OFF_UNUSED = Outcome(
        "AA0921", Status.WARN, "a ProxyConfig resource sets PROXY_CONFIG_XDS_AGENT to a value pilot-agent reads as "
        "false, but covers no pod or workload template Istio's injector injects now: not a blocker; a pod Istio "
        "injects there later would lack the setting", Severity.MINOR,
        fix="Remove the key from the ProxyConfig (or set it to \"true\") before Istio injects anything it covers:\n"
            "{command}",
        message="ProxyConfig {namespace}/{name} sets PROXY_CONFIG_XDS_AGENT to {value} for {scope}, over the mesh "
                "config, but no pod or workload template there is injected by Istio now")
    PROXYCONFIG_UNREAD = Outcome(
        "AA0936", Status.UNKNOWN, "ProxyConfig resources cannot be read: one turning PROXY_CONFIG_XDS_AGENT off over "
        "the mesh config for some pods cannot be ruled out",
        fix="Grant list on proxyconfigs.networking.istio.io (`asm-audit rbac`) or collect them into the snapshot, then "
            "audit again.",
        message="ProxyConfig objects cannot be read ({reason}): one turning PROXY_CONFIG_XDS_AGENT off over the mesh "
                "config for some pods cannot be ruled out")
    # A remote cluster (no istiod) judged against the audited istiod serving its proxies (auditor/remote.py).
    REMOTE = remote_outcomes(passed="AA0902", failed="AA0915", unjudged="AA0932", unlinked="AA0933")
    outcomes = (SET, SET_FROM_GIT, ABSENT, NO_CONFIGMAP, UNPARSABLE, UNQUOTED, WRONG_VALUE, OPERATOR_REVERTS,
                OPERATOR_CR_UNREAD, SAIL_REVERTS, SAIL_CR_UNREAD, PROXYCONFIG_OFF, PROXYCONFIG_OFF_UNUSED,
                PROXYCONFIG_UNREAD, *REMOTE,
                *no_istiod_outcomes(elsewhere="AA0930", pods_unread="AA0931", absent="AA0940"))
    needs = (K.DEPLOYMENT, K.CONFIGMAP)
    # Istio proxies without a local istiod: UNKNOWN, not N/A; their istiod's cluster named by istio-system's
    # annotation (Namespace). IstioOperators: what the in-cluster istio-operator renders the ConfigMap from.
    # IstioRevisions: what the Sail operator renders it from. ProxyConfigs: what overrides it pod by pod at injection.
    # Workloads, namespaces and injector webhooks: what Istio injects under a ProxyConfig (_istio_injected_under).
    uses = (K.POD, K.REPLICASET, K.NAMESPACE, K.ISTIOOPERATOR, K.SAIL_ISTIOREVISION, K.SAIL_ISTIO, K.PROXYCONFIG,
            *idle.IDLE_KINDS, K.JOB, K.MUTATING_WEBHOOK)

    def prepare(self, ctx: Context) -> None:
        self.links = Links()

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        return self.links.conclude(self, ctx, self.REMOTE)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        if not deployments:
            yield from self.links.no_istiod(self, cluster, ctx)
            return
        self.links.primary(cluster, deployments)
        judged: dict[tuple[str, str], Finding] = {}
        for dep in deployments:
            key = mesh_configmap_of(dep)
            if key in judged:  # the revision's ConfigMap judged once; each istiod reading it shares the verdict
                self.links.judged(cluster, dep, judged[key])
                continue
            judged[key] = finding = self._configmap(cluster, dep, key)
            yield self.links.judged(cluster, dep, finding)
        yield from self._proxy_configs(cluster, deployments)

    def _proxy_configs(self, cluster: ClusterInventory, deployments: list[dict[str, Any]]) -> Iterator[Finding]:
        """FAIL for each ProxyConfig the injector applies that turns the setting off; UNKNOWN when they cannot be
        read. Every istiod reads every ProxyConfig of its cluster (pilot/pkg/model/push_context.go initProxyConfigs)."""
        if not cluster.available(K.PROXYCONFIG):
            reason = cluster.unread_reason(K.PROXYCONFIG)
            yield self.report(self.PROXYCONFIG_UNREAD, cluster.name, params={"reason": reason},
                              kind=K.PROXYCONFIG.kind, evidence={"proxyconfigs_unread": reason})
            return
        roots = {root_namespace(cluster, dep) for dep in deployments}
        injected = None  # what Istio injects now, read once and only when a ProxyConfig turns the setting off
        for obj, value, scope, selector in proxy_config_overrides(cluster.objects(K.PROXYCONFIG)):
            meta = metadata_of(obj)
            namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
            if scope == SCOPE_SELECTOR:
                said = Phrase(N_("pods labelled {labels} in namespace {namespace}"), namespace=namespace,
                              labels=",".join(f"{k}={v}" for k, v in sorted(selector.items())))
            elif namespace in roots:
                scope = SCOPE_MESH
                said = Phrase(N_("every pod of the mesh (its root namespace {namespace})"), namespace=namespace)
            else:
                said = Phrase(N_("every pod of namespace {namespace}"), namespace=namespace)
            if injected is None:
                injected = istio_injected(cluster)
            covered = injected.covered(cluster, None if scope == SCOPE_MESH else namespace, selector)
            yield self.report(self.PROXYCONFIG_OFF if covered else self.PROXYCONFIG_OFF_UNUSED, cluster.name, params={
                "namespace": namespace, "name": name, "value": repr(value),
                "scope": said, "command": proxy_config_patch_command(cluster.name, namespace, name)},
                kind=K.PROXYCONFIG.kind, namespace=namespace, name=name,
                evidence={"value": value, "scope": scope, "selector": selector or None,
                          "created": meta.get("creationTimestamp"), "covers_istio_injected": covered})

    def _configmap(self, cluster: ClusterInventory, dep: dict[str, Any], key: tuple[str, str]) -> Finding:
        """The finding of istiod `dep`'s mesh ConfigMap `key`."""
        cm_namespace, name = key
        revision = mesh.istiod_revision(dep)
        subject = {"kind": "ConfigMap", "namespace": cm_namespace, "name": name}
        show = (f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(cm_namespace)} get "
                f"{mesh.object_ref('configmap', name)} -o jsonpath='{{.data.mesh}}'")
        cm = cluster.get(K.CONFIGMAP, name, cm_namespace)
        evidence: dict[str, Any] = {"revision": revision, "istiod": dep["metadata"]["name"]}
        where = {"revision": revision, "namespace": cm_namespace, "configmap": name}
        if cm is None:
            return self.report(self.NO_CONFIGMAP, cluster.name, params={**where, "istiod": dep["metadata"]["name"]},
                               remediation=self.remediation, evidence=evidence, **subject)
        value, problem = xds_agent_in_mesh(cm)
        shared = shared_configmap(cluster, dep, key) if not problem and value is None else None
        if shared is not None:
            # istiod's own mesh config does not name the key: the shared ConfigMap's value is the one it injects with
            # (proxyMetadata merged key by key, its own over the shared one's). That ConfigMap is judged.
            shared_value, _ = xds_agent_in_mesh(shared)
            if shared_value is not None:
                cm, value, name = shared, shared_value, str((shared.get("metadata") or {}).get("name") or "")
                subject["name"] = where["configmap"] = name
                evidence["shared_mesh_config"] = f"{cm_namespace}/{name}"
                show = (f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(cm_namespace)} get "
                        f"{mesh.object_ref('configmap', name)} -o jsonpath='{{.data.mesh}}'")
        evidence.update({"value": value, "last_change": mesh.last_change_time(cm)})
        if problem:
            return self.report(self.UNPARSABLE, cluster.name, params={"revision": revision, "problem": problem},
                               remediation=f"Inspect it: {show}", evidence=evidence, **subject)
        if isinstance(value, str) and value in mesh.GO_TRUE:  # copied into each pod's env; ParseBool
            held = self._operator_hold(cluster, cm, where, evidence, subject)
            if held is None:
                held = self._sail_hold(cluster, cm, where, evidence, subject)
            if held is not None:
                return held
            applier = gitops_applier(cm)
            if applier is not None:
                tool, source = applier
                evidence["applied_from_git_by"] = f"{tool} {source}"
                return self.report(self.SET_FROM_GIT, cluster.name, params={**where, "tool": tool, "source": source},
                                   evidence=evidence, **subject)
            return self.report(self.SET, cluster.name, params=where, evidence=evidence, **subject)
        if value is True:
            # proxyMetadata is map<string,string>: an unquoted YAML true is a bool and fails Istio's parser.
            return self.report(self.UNQUOTED, cluster.name, params={"revision": revision},
                               remediation=f"Quote the value (\"true\") in {mesh.sh_text(cm_namespace)}/"
                                           f"{mesh.sh_text(name)}; check: {show}",
                               evidence=evidence, **subject)
        outcome, params = (self.ABSENT, where) if value is None else (self.WRONG_VALUE, {**where, "value": repr(value)})
        return self.report(outcome, cluster.name, params=params,
                           remediation=self.remediation + operator_note(cluster) + f" Check: {show}",
                           evidence=evidence, **subject)

    def _operator_hold(self, cluster: ClusterInventory, cm: dict[str, Any], where: dict[str, str],
                       evidence: dict[str, Any], subject: dict[str, str]) -> Finding | None:
        """FAIL when the running istio-operator renders `cm` from an IstioOperator without the setting (its next
        reconcile reverts ASM's edit), UNKNOWN when that IstioOperator cannot be read; None otherwise."""
        hold = operator_hold(cluster, cm)
        if hold is None:
            return None
        evidence.update({"istio_operator": hold.subject, "operator_deployment": hold.operator})
        params = {**where, "operator": hold.operator, "istio_operator": hold.subject}
        if hold.iop is None:
            return self.report(self.OPERATOR_CR_UNREAD, cluster.name, params={**params, "reason": hold.unread},
                               evidence={**evidence, "istiooperators_unread": hold.unread}, **subject)
        found, iop_value = iop_proxy_metadata(hold.iop, mesh.XDS_AGENT_KEY)
        evidence["istio_operator_value"] = iop_value if found else None
        if found and isinstance(iop_value, str) and iop_value in mesh.GO_TRUE:
            return None
        return self.report(self.OPERATOR_REVERTS, cluster.name, params={
            **params, "iop_value": repr(iop_value) if found else "<absent>",
            "command": iop_patch_command(cluster.name, hold)},
            evidence=evidence, **subject)


    def _sail_hold(self, cluster: ClusterInventory, cm: dict[str, Any], where: dict[str, str],
                   evidence: dict[str, Any], subject: dict[str, str]) -> Finding | None:
        """FAIL when a running Sail operator renders `cm` from an IstioRevision (its ownerReference) whose values lack
        the setting, UNKNOWN when the IstioRevisions cannot be read; None otherwise (no such owner, no running
        operator, the revision gone, or its values set)."""
        revision_name = sail_revision_owner(cm)
        operators = [d for d in cluster.istio_operator_deployments()
                     if mesh.is_sail_operator(d) and (d.get("spec") or {}).get("replicas") != 0]
        if revision_name is None or not operators:
            return None
        op_meta = operators[0].get("metadata") or {}
        operator = f"{op_meta.get('namespace') or ''}/{op_meta.get('name') or ''}"
        evidence.update({"sail_istio_revision": revision_name, "operator_deployment": operator})
        params = {**where, "operator": operator, "istio_revision": revision_name}
        if not cluster.available(K.SAIL_ISTIOREVISION):
            reason = cluster.unread_reason(K.SAIL_ISTIOREVISION)
            return self.report(self.SAIL_CR_UNREAD, cluster.name, params={**params, "reason": reason},
                               evidence={**evidence, "istiorevisions_unread": reason}, **subject)
        rev = cluster.get(K.SAIL_ISTIOREVISION, revision_name)
        if rev is None:
            return None
        # The Istio controller writes an owned IstioRevision's values from its Istio's spec.values and reverts an edit
        # of the IstioRevision alone (it watches the IstioRevisions it owns: controllers/istio/istio_controller.go
        # @1.30.3 reconcileActiveRevision): the Istio resource is what holds.
        source, owner = rev, sail_istio_owner(rev)
        if owner is not None:
            evidence["sail_istio"] = owner
            params["istio_revision"] = f"{revision_name} (its values written from Istio {owner})"
            if not cluster.available(K.SAIL_ISTIO):
                reason = cluster.unread_reason(K.SAIL_ISTIO)
                return self.report(self.SAIL_CR_UNREAD, cluster.name, params={**params, "reason": reason},
                                   evidence={**evidence, "istios_unread": reason}, **subject)
            source = cluster.get(K.SAIL_ISTIO, owner) or rev
        found, value = sail_proxy_metadata(source, mesh.XDS_AGENT_KEY)
        evidence["sail_value"] = value if found else None
        if found and isinstance(value, str) and value in mesh.GO_TRUE:
            return None
        return self.report(self.SAIL_REVERTS, cluster.name, params={
            **params, "sail_value": repr(value) if found else "<absent>",
            "command": sail_patch_command(cluster.name, rev)}, evidence=evidence, **subject)


# Where a ProxyConfig applies (pilot/pkg/model/proxy_config.go @1.22.3..1.26.4): every pod of the mesh (the root
# namespace's, no selector), every pod of its namespace (no selector), or the pods its selector's matchLabels match.
SCOPE_MESH, SCOPE_NAMESPACE, SCOPE_SELECTOR = "mesh", "namespace", "selector"


def proxy_config_overrides(objects: Iterable[dict[str, Any]]
                           ) -> list[tuple[dict[str, Any], Any, str, dict[str, Any]]]:
    """(ProxyConfig, value, SCOPE_NAMESPACE or SCOPE_SELECTOR, its matchLabels) of those the injector applies whose
    spec.environmentVariables set PROXY_CONFIG_XDS_AGENT to a value pilot-agent does not read as true.

    As EffectiveProxyConfig takes them: per namespace the oldest ProxyConfig without a selector (sorted by creation
    time, then name.namespace: sortConfigByCreationTime; mergedNamespaceConfig returns the first); one whose selector
    has matchLabels for the pods they match (mergedWorkloadConfig); one with a selector but no matchLabels for none.
    Their environmentVariables become proxyMetadata (toMeshConfigProxyConfig), merged over the mesh config's key by key
    (pkg/config/mesh/mesh.go MergeProxyConfig): only one naming the key changes it. A selector ProxyConfig shadowed by
    an older one matching the same pods is still reported: which pods each matches is not worked out here."""
    def order(obj: dict[str, Any]) -> tuple[str, str]:
        meta = metadata_of(obj)
        return (str(meta.get("creationTimestamp") or ""), f"{meta.get('name') or ''}.{meta.get('namespace') or ''}")

    first_unselected: set[str] = set()
    out = []
    for obj in sorted((o for o in objects if isinstance(o, dict)), key=order):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        namespace = str(metadata_of(obj).get("namespace") or "")
        selector = spec.get("selector")
        labels = selector.get("matchLabels") if isinstance(selector, dict) else None
        if selector is None:
            if namespace in first_unselected:
                continue  # a newer namespace-wide one: Istio applies the oldest only
            first_unselected.add(namespace)
            scope, labels = SCOPE_NAMESPACE, {}
        elif isinstance(labels, dict) and labels:
            scope = SCOPE_SELECTOR
        else:
            continue  # a selector without matchLabels selects nothing
        env = spec.get("environmentVariables")
        if not isinstance(env, dict) or mesh.XDS_AGENT_KEY not in env:
            continue
        value = env[mesh.XDS_AGENT_KEY]
        if not (isinstance(value, str) and value in mesh.GO_TRUE):
            out.append((obj, value, scope, labels))
    return out


def _last_change(cm: dict[str, Any]) -> tuple[str | None, bool]:
    """(the ConfigMap's last change as written: its newest managedFields time, else its creation, a lower bound;
    whether it came from managedFields)."""
    meta = cm.get("metadata") or {}
    managed = [m.get("time") for m in meta.get("managedFields") or () if isinstance(m, dict) and m.get("time")]
    return (max(managed), True) if managed else (meta.get("creationTimestamp"), False)


def shared_configmap(cluster: ClusterInventory, dep: dict[str, Any], key: tuple[str, str]) -> dict[str, Any] | None:
    """The ConfigMap istiod `dep` reads under its own mesh config (istio.shared_mesh_config: its SHARED_MESH_CONFIG
    env, a ConfigMap of its namespace), when it exists and istiod applies it: None when none is named, it is the
    revision's own, it is missing, or its mesh config is invalid (istiod ignores it: "user config invalid, ignoring
    it", pkg/config/mesh/watcher.go @1.22.3)."""
    name = shared_mesh_config(dep)
    if not name or name == key[1]:
        return None
    applied = applied_shared_mesh(cluster, key[0], name)
    return applied[0] if applied is not None else None


# Labels a controller adds to each pod beside its template's (the Deployment controller's pod-template-hash, the
# StatefulSet and DaemonSet controllers' controller-revision-hash and pod name/index, the Job controller's): a selector
# naming one may match the pods although the template does not carry it.
CONTROLLER_POD_LABELS = frozenset({
    "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index", "job-name", "controller-uid", "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-completion-index"})


def selector_may_match(selector: dict[str, Any], labels: dict[str, str] | None) -> bool:
    """Whether a ProxyConfig's matchLabels may match the pods made from a template of these labels (None: not known,
    so they may): each key the template carries with the same value, or one a controller adds to its pods."""
    if labels is None:
        return True
    return all(labels.get(str(k)) == str(v) if str(k) in labels else str(k) in CONTROLLER_POD_LABELS
               for k, v in selector.items())


@dataclass
class IstioInjected:
    """What Istio's injector injects in a cluster now, by namespace: the workloads of the active pods on Istio's proxy
    (their template labels read only when a selector asks), and the workloads that run no pod whose next pods Istio's
    injector takes or may take (auditor/idle.py); `unknown`: why what it injects cannot be told (then a ProxyConfig is
    taken as covering it)."""

    running: dict[str, list[tuple[str, str]]]              # namespace -> (kind, name) of Istio-proxied workloads
    idle: dict[str, list[dict[str, str]]]                   # namespace -> template labels of idle workloads
    unknown: str = ""

    def covered(self, cluster: ClusterInventory, namespace: str | None, selector: dict[str, Any]) -> bool:
        """Whether a ProxyConfig of `namespace` (None: mesh-wide) and matchLabels `selector` ({}: every pod there)
        covers anything Istio injects, or may."""
        if self.unknown:
            return True
        namespaces = list({*self.running, *self.idle}) if namespace is None else [namespace]
        for ns in namespaces:
            if any(selector_may_match(selector, labels) for labels in self.idle.get(ns, ())):
                return True
            for kind, name in self.running.get(ns, ()):
                if not selector:
                    return True
                template, _ = idle.pods_template(cluster, kind, ns, name)
                if selector_may_match(selector, idle._labels(template) if template is not None else None):
                    return True
        return False


def istio_injected(cluster: ClusterInventory) -> IstioInjected:
    """IstioInjected of the cluster: the pod frame's active Istio-proxy pods by workload, and idle.idle_workloads'
    workloads that Istio's webhook selects (not taken by ASM's for its label), or whose injector is not told."""
    if not cluster.available(K.POD):
        return IstioInjected({}, {}, f"{K.POD.kind} unread: {cluster.unread_reason(K.POD)}")
    pods = cluster.pods()
    running: dict[str, list[tuple[str, str]]] = {}
    rows = istio_proxy_rows(pods)
    if rows.any():
        for namespace, kind, name in {tuple(map(str, key)) for key in zip(
                *(pods[c].array[rows].tolist() for c in WORKLOAD_KEY), strict=True)}:
            running.setdefault(namespace, []).append((kind, name))
    reading = idle.idle_workloads(cluster, idle.active_workloads(pods))
    if reading.kinds_unread:
        return IstioInjected(running, {}, "; ".join(f"{k} unread: {r}" for k, r in reading.kinds_unread.items()))
    waiting: dict[str, list[dict[str, str]]] = {}
    for w in [*reading.workloads, *reading.undecided]:
        if w.undecided or w.unproven or (w.istio and not (w.asm and w.asm_labelled)):
            waiting.setdefault(w.namespace, []).append(w.labels)
    return IstioInjected(running, waiting)


def metadata_of(obj: dict[str, Any]) -> dict[str, Any]:
    """An object's metadata, {} when it is not a mapping (a hand-made snapshot may hold anything)."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def root_namespace(cluster: ClusterInventory, dep: dict[str, Any]) -> str:
    """The mesh config's rootNamespace of istiod `dep` (Istio's default istio-system: pkg/config/mesh/mesh.go
    DefaultMeshConfig), where a ProxyConfig without selector applies to every pod."""
    namespace, name = mesh_configmap_of(dep)
    cm = cluster.get(K.CONFIGMAP, name, namespace)
    try:
        root = mesh.parse_mesh(cm).get("rootNamespace") if cm is not None else None
    except ValueError:
        root = None
    return root if isinstance(root, str) and root else "istio-system"


def proxy_config_patch_command(cluster: str, namespace: str, name: str) -> str:
    """The JSON patch removing PROXY_CONFIG_XDS_AGENT from a ProxyConfig's environmentVariables."""
    patch = f'[{{"op":"remove","path":"/spec/environmentVariables/{mesh.XDS_AGENT_KEY}"}}]'
    return (f"{mesh.kubectl_in(cluster, namespace)} patch {mesh.object_ref('proxyconfigs.networking.istio.io', name)} "
            f"--type=json -p {mesh.sh(patch)}")


def sail_revision_owner(obj: dict[str, Any]) -> str | None:
    """The IstioRevision a Sail-rendered object belongs to (the ownerReference its post-renderer adds,
    pkg/helm/postrenderer.go @1.30.3), None when none."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and mesh.owner_group(ref) == mesh.SAIL_GROUP and ref.get("kind") == "IstioRevision" \
                and ref.get("name"):
            return str(ref["name"])
    return None


def sail_proxy_metadata(rev: dict[str, Any], key: str) -> tuple[bool, Any]:
    """(found, value) of spec.values.meshConfig.defaultConfig.proxyMetadata[key] of an IstioRevision
    (api/v1/values_types.gen.go @1.30.3: Values.MeshConfig, MeshConfig.DefaultConfig, ProxyConfig.ProxyMetadata)."""
    node: Any = rev
    for part in ("spec", "values", "meshConfig", "defaultConfig", "proxyMetadata"):
        node = node.get(part) if isinstance(node, dict) else None
    return (True, node[key]) if isinstance(node, dict) and key in node else (False, None)


def sail_istio_owner(rev: dict[str, Any]) -> str | None:
    """The Istio resource owning an IstioRevision (the Istio controller's ownerReference), None when none."""
    return next((str(r["name"]) for r in (rev.get("metadata") or {}).get("ownerReferences") or ()
                 if isinstance(r, dict) and mesh.owner_group(r) == mesh.SAIL_GROUP and r.get("kind") == "Istio"
                 and r.get("name")), None)


def sail_patch_command(cluster: str, rev: dict[str, Any]) -> str:
    """The patch that sets the value where the revision's values come from: the Istio resource owning it (the Istio
    controller writes its IstioRevisions' values from the Istio's, controllers/istio/istio_controller.go @1.30.3), else
    the IstioRevision itself."""
    owner = sail_istio_owner(rev)
    if owner is not None:
        return mesh.sail_mesh_config_patch(cluster, owner)
    name = str((rev.get("metadata") or {}).get("name") or "")
    return mesh.sail_mesh_config_patch(cluster, name, "istiorevisions.sailoperator.io")


class IstiodRestarted(ClusterCheck):
    id = "istiod-restarted"
    title = "Every istiod revision restarted after its mesh config changed"
    gates = (Gate.MIGRATING,)
    severity = Severity.BLOCKER
    rationale = ("The migration procedure restarts istiod after SetupIstioForMigrate so that it injects the new "
                 "mesh config; an istiod pod started before the mesh ConfigMap's last change (newest managedFields "
                 "time) may still inject pods without PROXY_CONFIG_XDS_AGENT.")
    remediation = "kubectl -n istio-system rollout restart deployment/istiod[-<rev>]"
    RESTARTED = Outcome("AA1001", Status.PASS, "every istiod pod started after the mesh-config change",
                        message="revision {revision}: all {pods} istiod pod(s) started after {namespace}/{configmap} "
                                "last changed ({changed})")
    STALE = Outcome("AA1010", Status.FAIL, "istiod pods started before the mesh-config change: new pods would be "
                    "injected without the setting",
                    message="revision {revision}: {stale}/{pods} istiod pod(s) started before {namespace}/{configmap} "
                            "last changed ({changed})")
    NOT_RUNNING = Outcome("AA1011", Status.FAIL, "no istiod pod of the revision runs: nothing serves the new mesh "
                          "config", message="revision {revision}: no running istiod pod of {namespace}/{name}, so "
                                            "nothing serves the new mesh config")
    # Restarted, but no pod of the revision is Ready: the scheduler could not place it (Pending, PodScheduled False
    # reason Unschedulable), its image cannot be pulled, or discovery keeps exiting (CrashLoopBackOff). The pod's Ready
    # condition is the kubelet's (kubernetes/kubernetes pkg/kubelet/status/generate.go GeneratePodReadyCondition); a
    # pod that is not Ready is no ready endpoint of Service istiod[-<rev>]: nothing serves injection, xDS or
    # certificates from the new config.
    NOT_READY = Outcome("AA1013", Status.FAIL, "no istiod pod of the revision is ready (unschedulable, crash-looping, "
                        "its image not pulled): nothing serves the new mesh config",
                        message="revision {revision}: none of the {pods} istiod pod(s) of {namespace}/{name} is ready "
                                "({phases}), so nothing serves the mesh config of {namespace}/{configmap}")
    START_UNKNOWN = Outcome("AA1030", Status.UNKNOWN, "the start time of an istiod pod cannot be read",
                            message="revision {revision}: start time of {pods} unknown")
    NO_CONFIGMAP = Outcome("AA1031", Status.UNKNOWN, "the revision's mesh ConfigMap is missing: there is no change "
                           "time to compare istiod's start with (mesh-config-xds-agent fails on it)",
                           message="revision {revision}: no mesh ConfigMap {namespace}/{configmap} to compare "
                                   "istiod's start with (see mesh-config-xds-agent)")
    NO_CHANGE_TIME = Outcome("AA1032", Status.UNKNOWN, "the mesh ConfigMap carries no readable change time",
                             message="revision {revision}: {namespace}/{configmap} carries no readable change time")
    NO_MANAGED_FIELDS = Outcome("AA1033", Status.UNKNOWN, "the mesh ConfigMap was collected without managedFields: "
                                "its last change is unknown (creation is only a lower bound)",
                                fix="Collect with `asm-audit snapshot`, or kubectl --show-managed-fields, and audit "
                                    "again.",
                                message="revision {revision}: {namespace}/{configmap} has no managedFields, so its "
                                        "last change is unknown (collect with `asm-audit snapshot`, or kubectl "
                                        "--show-managed-fields)")
    # A remote cluster (no istiod) judged against the audited istiod serving its proxies (auditor/remote.py).
    REMOTE = remote_outcomes(passed="AA1002", failed="AA1012", unjudged="AA1035", unlinked="AA1036")
    outcomes = (RESTARTED, STALE, NOT_RUNNING, NOT_READY, START_UNKNOWN, NO_CONFIGMAP, NO_CHANGE_TIME,
                NO_MANAGED_FIELDS, *REMOTE, *no_istiod_outcomes(elsewhere="AA1034", absent="AA1040"))
    needs = (K.DEPLOYMENT, K.CONFIGMAP, K.POD)
    uses = (K.REPLICASET, K.NAMESPACE)  # Namespace: istio-system's annotation naming a remote's istiod cluster

    def prepare(self, ctx: Context) -> None:
        self.links = Links()

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        return self.links.conclude(self, ctx, self.REMOTE)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        if not deployments:
            yield from self.links.no_istiod(self, cluster, ctx)
            return
        self.links.primary(cluster, deployments)
        pods = cluster.pods()
        # A mask, and each istiod's own pods taken from it: taking every active Deployment pod's texts first cost
        # ~0.5 ms at 10k pods, and comparing a category with a name is cheaper on the frame's codes.
        active = among(pods["phase"], ACTIVE_PHASES) & equal_to(pods["workload_kind"], "Deployment")
        for dep in deployments:
            for finding in self._istiod(cluster, dep, pods, active):
                yield self.links.judged(cluster, dep, finding)

    def _istiod(self, cluster: ClusterInventory, dep: dict[str, Any], pods: Any, active: Any) -> Iterator[Finding]:
        """The finding of one istiod Deployment: its pods' start against its mesh ConfigMap's last change."""
        meta = dep["metadata"]
        namespace, name = meta.get("namespace", ""), meta["name"]
        revision = mesh.istiod_revision(dep)
        subject = {"kind": "Deployment", "namespace": namespace, "name": name}
        restart = mesh.restart_command(cluster.name, "Deployment", namespace, name)
        cm_namespace, cm_name = mesh_configmap_of(dep)
        where = {"revision": revision, "namespace": cm_namespace, "configmap": cm_name}
        cm = cluster.get(K.CONFIGMAP, cm_name, cm_namespace)
        if cm is None:
            yield self.report(self.NO_CONFIGMAP, cluster.name, params=where, **subject)
            return
        # istiod injects with its own mesh config over the shared one its SHARED_MESH_CONFIG names: a change of either
        # changes what it injects, so the later of their last changes is what its pods must have started after.
        sources = [cm] + [c for c in (shared_configmap(cluster, dep, (cm_namespace, cm_name)),) if c is not None]
        changes = [_last_change(c) for c in sources]
        managed = all(from_managed for _, from_managed in changes)
        known = [t for t, _ in changes if t]
        changed_text = max(known) if len(known) == len(changes) else None
        changed = mesh.parse_time(changed_text)
        # The columns read, not all 30, of the rows from numpy masks (no loc).
        own = active & equal_to(pods["namespace"], namespace) & equal_to(pods["workload_name"], name)
        mine = pod_columns(pods, own, ["name", "started", "created", "ready", "phase", "deleting"])
        starts = {str(p): (s or c) for p, s, c in zip(mine["name"], mine["started"], mine["created"],
                                                      strict=True)}
        evidence: dict[str, Any] = {"revision": revision, "configmap": f"{cm_namespace}/{cm_name}",
                                    "configmap_changed": changed_text,
                                    "change_time_source": "managedFields" if managed else "creationTimestamp",
                                    "pods_started": starts}
        if len(sources) > 1:
            shared_name = (sources[1].get("metadata") or {}).get("name")
            evidence.update(shared_mesh_config=f"{cm_namespace}/{shared_name}", shared_changed=changes[1][0])
            where = {**where, "configmap": f"{cm_name} (+ {shared_name})"}
        if changed is None:
            yield self.report(self.NO_CHANGE_TIME, cluster.name, params=where, evidence=evidence, **subject)
            return
        if mine.empty:
            yield self.report(self.NOT_RUNNING, cluster.name, params={"revision": revision, "namespace": namespace,
                                                                       "name": name},
                              remediation=restart, evidence=evidence, **subject)
            return
        # Ready and not being deleted: a Terminating pod's endpoints are no longer ready (istio.replica_rows).
        if not (mine["ready"].to_numpy(dtype=bool) & ~mine["deleting"].to_numpy(dtype=bool)).any():
            # Whenever they started, none serves: another restart does not help until its cause is fixed.
            phases = {str(p): (str(ph) or "?") + (" (Terminating)" if gone else "") for p, ph, gone in zip(
                mine["name"], mine["phase"], mine["deleting"], strict=True)}
            first = mesh.object_ref("pod", min(phases))
            k = mesh.kubectl_in(cluster.name, namespace)
            yield self.report(self.NOT_READY, cluster.name, params={
                "revision": revision, "pods": len(phases), "namespace": namespace, "name": name,
                "configmap": cm_name, "phases": ", ".join(f"{p}: {ph}" for p, ph in sorted(phases.items())[:5])},
                remediation=f"{k} describe {first}; {k} logs {first} -c discovery --previous",
                evidence={**evidence, "pods_not_ready": phases}, **subject)
            return
        times = {p: mesh.parse_time(t) for p, t in starts.items()}
        unknown = sorted(p for p, t in times.items() if t is None)
        stale = sorted(p for p, t in times.items() if t is not None and t <= changed)
        if stale:
            yield self.report(self.STALE, cluster.name, params={**where, "stale": len(stale), "pods": len(times),
                                                                 "changed": changed_text},
                              remediation=restart, evidence={**evidence, "stale": stale}, **subject)
        elif unknown:
            yield self.report(self.START_UNKNOWN, cluster.name, params={"revision": revision,
                                                                         "pods": ", ".join(unknown)},
                              evidence=evidence, **subject)
        elif not managed:
            # `kubectl get -o yaml` hides managedFields: creation is only a lower bound of the last change.
            yield self.report(self.NO_MANAGED_FIELDS, cluster.name, params=where, evidence=evidence, **subject)
        else:
            yield self.report(self.RESTARTED, cluster.name, params={**where, "pods": len(times),
                                                                     "changed": changed_text},
                              evidence=evidence, **subject)
