"""What kind of Istio is installed: revisions, tags and who uses them; ambient data plane."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from auditor import idle, mesh
from auditor import kinds as K
from auditor.check import ClusterCheck, Context, no_istiod_outcomes
from auditor.gateways import ASM_MARKER
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import ambient_capture_is_asms, ambient_daemonsets, among, istiod_pinned_version, istiods
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.remote import Links, remote_link_outcomes

REV_LABEL = "istio.io/rev"
TAG_LABEL = "istio.io/tag"
INJECTION_LABEL = "istio-injection"
DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return ((obj.get("metadata") or {}).get("labels")) or {}


def _is_asm(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return any(ASM_MARKER in k for k in [*(meta.get("labels") or {}), *(meta.get("annotations") or {})])


def revision_tags(webhooks: list[dict[str, Any]]) -> dict[str, str]:
    """Tag -> revision from `istio-revision-tag-*` MutatingWebhookConfigurations (labels istio.io/tag, istio.io/rev)."""
    return {labels[TAG_LABEL]: labels.get(REV_LABEL, "default") for labels in map(_labels, webhooks)
            if labels.get(TAG_LABEL)}


def namespace_usage(namespaces: list[dict[str, Any]], tags: dict[str, str]) -> dict[str, list[str]]:
    """Revision (or tag -> revision) -> namespaces that inject it. `istio-injection` wins over `istio.io/rev`,
    as in Istio's webhooks; `enabled` means the `default` tag (or the default revision)."""
    usage: dict[str, list[str]] = {}
    # Asked of every namespace (10,000 at scale): each one's metadata read once, its name only when it is listed.
    default_key = f"default -> {tags['default']}" if "default" in tags else "default"
    for ns in namespaces:
        meta = ns.get("metadata") or {}
        labels = meta.get("labels") or {}
        injection = labels.get(INJECTION_LABEL)
        if injection is not None:
            if injection != "enabled":
                continue
            key = default_key
        elif rev := labels.get(REV_LABEL):
            key = f"{rev} -> {tags[rev]}" if rev in tags else rev
        else:
            continue
        usage.setdefault(key, []).append(meta.get("name", ""))
    return {k: sorted(v) for k, v in sorted(usage.items())}


def scaled_to_zero(dep: dict[str, Any]) -> bool:
    """A Deployment its spec holds at 0 replicas (`kubectl scale --replicas=0`): it runs no pod. The chart leaves
    `replicas` out when an HPA scales istiod (deployment.yaml @1.28.0), and an HPA never goes below 1."""
    replicas = (dep.get("spec") or {}).get("replicas")
    return replicas == 0 and not isinstance(replicas, bool)


def _template_labels(dep: dict[str, Any]) -> dict[str, str]:
    return ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}


def idle_istiods_behind(service: dict[str, Any], istiod_deployments: list[dict[str, Any]]) -> list[str]:
    """The istiod Deployments scaled to zero that a Service selects, when nothing else of them it selects runs: the
    Service exists but has no endpoint, and a webhook calling it fails as one calling a missing Service does ("no
    endpoints available for service"). Empty when the Service has no selector (a remote's ExternalName or its
    hand-written Endpoints: the primary's istiod) or selects a running istiod (service.yaml @1.28.0 selects app=istiod
    and istio.io/rev, or istio=pilot for the default revision)."""
    selector = (service.get("spec") or {}).get("selector")
    if not isinstance(selector, dict) or not selector:
        return []
    namespace = (service.get("metadata") or {}).get("namespace") or ""
    selected = [d for d in istiod_deployments if (d.get("metadata") or {}).get("namespace") == namespace
                and all(_template_labels(d).get(k) == v for k, v in selector.items())]
    if not selected or not all(scaled_to_zero(d) for d in selected):
        return []
    return sorted(f"{namespace}/{d['metadata'].get('name', '')}" for d in selected)


def dead_injectors(cluster: ClusterInventory, webhooks: list[dict[str, Any]], served: set[str],
                   istiod_deployments: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Istio's injector webhooks (labelled istio.io/rev or istio.io/tag) that call a Service the cluster does not have,
    or one whose only istiod is scaled to zero (`idle`: those Deployments), failing closed (failurePolicy Fail, the v1
    default; the chart writes it: revision-tags.yaml, mutatingwebhook.yaml @1.24.6), with the namespaces whose
    unlabelled pods they select (namespaceSelector, and an objectSelector that a pod without Istio's labels passes):
    the API server rejects every pod created there ("failed calling webhook": the Service is not found, or has no
    endpoint). A revision removed with `helm uninstall` or kubectl while a tag made by `istioctl tag set` (or the
    chart's revision-tags.yaml applied by hand) still points at it: `istioctl uninstall --revision` prunes such a tag
    with it (it selects istio.io/rev: operator/pkg/uninstall/prune.go @1.24.6), the others do not; or an istiod
    scaled to 0 with its webhooks left. Only a webhook of a revision no running istiod Deployment of the cluster
    serves (`served`) is asked about."""
    for config in webhooks:
        meta = config.get("metadata") or {}
        labels = _labels(config)
        if (REV_LABEL not in labels and TAG_LABEL not in labels) or labels.get(REV_LABEL, "default") in served:
            continue
        dead: dict[str, list[str]] = {}
        idle_behind: set[str] = set()
        for hook in config.get("webhooks") or ():
            client = hook.get("clientConfig") if isinstance(hook, dict) else None
            service = client.get("service") if isinstance(client, dict) else None
            if not isinstance(service, dict) or not service.get("name") or hook.get("failurePolicy", "Fail") != "Fail":
                continue
            target = (str(service["name"]), str(service.get("namespace") or ""))
            found = cluster.get(K.SERVICE, *target)
            idle_ones = idle_istiods_behind(found, istiod_deployments or []) if found is not None else []
            alive = found is not None and not idle_ones
            if alive or idle.selector_matches(hook.get("objectSelector"), {}) is not True:
                continue
            selected = [str(ns["metadata"].get("name") or "") for ns in cluster.objects(K.NAMESPACE)
                        if idle.selector_matches(hook.get("namespaceSelector"), idle.namespace_labels(
                            cluster, str(ns["metadata"].get("name") or ""))) is True]
            if selected:
                dead.setdefault("/".join(reversed(target)), []).extend(selected)
                idle_behind.update(idle_ones)
        if dead:
            yield {"name": str(meta.get("name") or ""), "revision": labels.get(REV_LABEL, "default"),
                   "tag": labels.get(TAG_LABEL, ""),
                   "services": sorted(dead), "namespaces": sorted({n for nss in dead.values() for n in nss}),
                   "idle_istiods": sorted(idle_behind)}


class IstioRevisions(ClusterCheck):
    id = "istio-revisions"
    title = "Istio revisions, tags and the namespaces using them"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.INFO
    rationale = ("Every revision has its own istiod, mesh ConfigMap and injector: each must be prepared and "
                 "emptied during the migration. Tags and namespace labels tell which workloads each one serves; "
                 "an in-cluster istio-operator reconciles Istio's config back and can undo ASM's changes.")
    remediation = "Finish or roll back canary upgrades before migrating; stop the in-cluster istio-operator."
    ONE = Outcome("AA0401", Status.PASS, "one Istio revision; its tags and the namespaces using it are listed",
                  message="one Istio revision: {revisions}; tags: {tags}; {namespaces} namespace(s) labelled for "
                          "injection")
    SEVERAL = Outcome("AA0420", Status.WARN, "several Istio revisions: each one needs its mesh config set, its istiod "
                      "restarted and its pods moved", Severity.MINOR,
                      message="{count} Istio revisions: {revisions}; tags: {tags}. Each one needs its mesh config set, "
                              "its istiod restarted and its pods moved")
    OPERATOR = Outcome("AA0421", Status.WARN, "an in-cluster istio-operator reconciles Istio's installation and can "
                       "revert the mesh config ASM sets", Severity.MINOR,
                       message="the in-cluster istio-operator reconciles Istio's installation and can revert the mesh "
                               "config ASM sets (PROXY_CONFIG_XDS_AGENT)")
    # istio-ecosystem/sail-operator @1.30.3 re-renders the ConfigMaps it installed when they change
    # (pkg/watches/istiod.go), from its resources' spec.values.
    SAIL_OPERATOR = Outcome("AA0422", Status.WARN, "the Sail operator reconciles Istio's installation and reverts the "
                            "mesh config ASM sets unless its Istio resource carries the setting", Severity.MINOR,
                            message="the Sail operator re-renders Istio's mesh config from its Istio resource "
                                    "({istios}) and reverts what ASM sets there (PROXY_CONFIG_XDS_AGENT) unless that "
                                    "resource's spec.values.meshConfig carries it")
    DEAD_INJECTOR = Outcome(
        "AA0410", Status.FAIL, "an Istio injector webhook (a revision's or a revision tag's) calls an istiod Service "
        "that does not exist and fails closed: the API server rejects every pod created in the namespaces it selects, "
        "the migration's restarts included", Severity.MAJOR,
        fix="Before any workload restarts, point the tag at a running revision or remove the webhook, and relabel the "
            "namespaces to a served revision:\n{fix}",
        message="calls Service {services}, which does not exist (failurePolicy Fail): the API server rejects the pods "
                "created in {count} namespace(s): {namespaces}")
    # The istiod a webhook calls kept (Deployment, Service) but scaled to 0: the Service has no endpoint, and the
    # API server fails the call as it fails one to a missing Service (failurePolicy Fail).
    IDLE_INJECTOR = Outcome(
        "AA0411", Status.FAIL, "an Istio injector webhook (a revision's or a revision tag's) calls an istiod scaled to "
        "zero and fails closed: its Service has no endpoint, and the API server rejects every pod created in the "
        "namespaces it selects, the migration's restarts included", Severity.MAJOR,
        fix="Before any workload restarts, scale that istiod back up, or point the tag at a running revision or remove "
            "the webhook and relabel the namespaces to a served revision:\n{fix}",
        message="calls Service {services}, whose istiod {istiods} is scaled to 0 (failurePolicy Fail): the API server "
                "rejects the pods created in {count} namespace(s): {namespaces}")
    # A remote cluster (no istiod): covered by the revisions of the audited istiod serving it (auditor/remote.py).
    REMOTE = remote_link_outcomes(linked="AA0402", unjudged="AA0432", unlinked="AA0433")
    outcomes = (ONE, DEAD_INJECTOR, IDLE_INJECTOR, SEVERAL, OPERATOR, SAIL_OPERATOR, *REMOTE,
                *no_istiod_outcomes(elsewhere="AA0430", pods_unread="AA0431", absent="AA0440"))
    needs = (K.DEPLOYMENT, K.NAMESPACE, K.MUTATING_WEBHOOK)
    # ConfigMap: a remote's Helm values record, naming the address of the control plane serving it
    # (auditor/remote.remote_addresses). Service: whether the istiod an injector webhook calls exists.
    uses = (K.POD, K.REPLICASET, K.ISTIOOPERATOR, K.SAIL_ISTIO, K.CONFIGMAP, K.SERVICE)

    def prepare(self, ctx: Context) -> None:
        self.links = Links()

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        return self.links.conclude(self, ctx, self.REMOTE)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        operators = cluster.istio_operator_deployments()
        if not deployments:
            yield from self.links.no_istiod(self, cluster, ctx)
            # An operator on a remote cluster reconciles what it installed there as on a primary: reported either way.
            yield from self._operators(cluster, operators)
            return
        self.links.primary(cluster, deployments)
        revisions: dict[str, dict[str, Any]] = {}
        for dep in deployments:
            version, _ = istiod_pinned_version(dep)
            revisions[mesh.istiod_revision(dep)] = {"istiod": f"{dep['metadata'].get('namespace')}/"
                                                              f"{dep['metadata']['name']}",
                                                    "version": str(version) if version else "unknown"}
        webhooks = [w for w in cluster.objects(K.MUTATING_WEBHOOK) if not _is_asm(w)]
        tags = revision_tags(webhooks)
        usage = namespace_usage(cluster.objects(K.NAMESPACE), tags)
        served = set(revisions)
        elsewhere = {key: nss for key, nss in usage.items() if key.split(" -> ")[-1] not in served}
        evidence: dict[str, Any] = {
            "revisions": revisions, "tags": tags, "namespaces": usage,
            "not_served_by_self_built_istiod": elsewhere,
            "injector_webhooks": sorted(w["metadata"]["name"] for w in webhooks
                                        if REV_LABEL in _labels(w) or TAG_LABEL in _labels(w)),
        }
        if cluster.available(K.POD):
            pods = cluster.pods()
            proxy_revisions = pods["revision"][among(pods["proxy"], (mesh.PROXY_ISTIO,)) & among(pods["phase"],
                                                                                                  ACTIVE_PHASES)]
            evidence["istio_proxy_pods_by_revision"] = {
                (str(k) or "unknown"): int(v) for k, v in proxy_revisions.astype(str).value_counts().items()
                if v}
        if cluster.available(K.ISTIOOPERATOR):
            evidence["istiooperators"] = [
                f"{o['metadata'].get('namespace')}/{o['metadata']['name']} (revision "
                f"{(o.get('spec') or {}).get('revision') or 'default'})" for o in cluster.objects(K.ISTIOOPERATOR)]
        summary = ", ".join(f"{rev} ({info['version']})" for rev, info in sorted(revisions.items()))
        tag_text = ", ".join(f"{t} -> {r}" for t, r in sorted(tags.items())) or "none"
        if len(revisions) > 1:
            finding = self.report(self.SEVERAL, cluster.name, params={"count": len(revisions), "revisions": summary,
                                                                      "tags": tag_text}, evidence=evidence)
        else:
            finding = self.report(self.ONE, cluster.name, params={"revisions": summary, "tags": tag_text,
                                                                  "namespaces": sum(len(v) for v in usage.values())},
                                  evidence=evidence)
        for dep in deployments:  # what covers a remote cluster served by one of them
            self.links.judged(cluster, dep, finding)
        yield finding
        if cluster.available(K.SERVICE):
            # A revision whose every istiod is scaled to 0 serves no webhook call (scaled_to_zero).
            running = {mesh.istiod_revision(dep) for dep in deployments if not scaled_to_zero(dep)}
            for dead in dead_injectors(cluster, webhooks, running, deployments):
                tag = dead["tag"]
                delete = (f"{mesh.kubectl(cluster.name)} delete "
                          f"{mesh.object_ref('mutatingwebhookconfiguration', dead['name'])}")
                fix = (f"istioctl tag set {mesh.sh(tag)} --revision <a running revision> --overwrite\n{delete}  # or "
                       "remove it" if tag else delete)
                params = {"services": ", ".join(dead["services"]), "count": len(dead["namespaces"]),
                          "namespaces": ", ".join(dead["namespaces"][:10]) + (
                              ", ..." if len(dead["namespaces"]) > 10 else ""), "fix": fix}
                outcome = self.DEAD_INJECTOR
                if dead["idle_istiods"]:
                    outcome, params["istiods"] = self.IDLE_INJECTOR, ", ".join(dead["idle_istiods"])
                    params["fix"] = "\n".join(
                        f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(ref.partition('/')[0])} scale "
                        f"deployment/{mesh.sh(ref.partition('/')[2])} --replicas=1" for ref in dead["idle_istiods"]
                    ) + f"\n# or: {fix.splitlines()[0]}"
                yield self.report(outcome, cluster.name, params=params,
                                  kind="MutatingWebhookConfiguration", name=dead["name"], evidence=dead)
        yield from self._operators(cluster, operators)

    def _operators(self, cluster: ClusterInventory, operators: list[dict[str, Any]]) -> Iterator[Finding]:
        for op in operators:
            meta = op["metadata"]
            if mesh.is_sail_operator(op):
                istios = [str((i.get("metadata") or {}).get("name") or "") for i in cluster.objects(K.SAIL_ISTIO)] if (
                    cluster.available(K.SAIL_ISTIO)) else []
                yield self.report(self.SAIL_OPERATOR, cluster.name, params={"istios": ", ".join(istios) or "none read"},
                                  kind="Deployment", namespace=meta.get("namespace", ""), name=meta["name"],
                                  remediation="\n".join(mesh.sail_mesh_config_patch(cluster.name, name)
                                                        for name in istios or ["<istio>"]))
                continue
            yield self.report(self.OPERATOR, cluster.name, params={},
                              kind="Deployment", namespace=meta.get("namespace", ""), name=meta["name"],
                              remediation=f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(meta.get('namespace') or '')} "
                                          f"scale deployment/{mesh.sh(meta['name'])} --replicas=0  # or add the "
                                          "setting to the IstioOperator")


def ambient_signals(cluster: ClusterInventory) -> list[str]:
    """Why this cluster runs Istio's ambient data plane; empty when nothing says so."""
    enrolled, installed = ambient_parts(cluster)
    return [*enrolled, *installed]


def ambient_parts(cluster: ClusterInventory) -> tuple[list[str], list[str]]:
    """(what enrols workloads in the ambient data plane: ambient namespaces, waypoints; what only installs it:
    ztunnel, istio-cni in ambient mode)."""
    signals = [f"Namespace {ns['metadata']['name']} labelled {DATAPLANE_MODE_LABEL}=ambient"
               for ns in cluster.objects(K.NAMESPACE) if _labels(ns).get(DATAPLANE_MODE_LABEL) == "ambient"]
    installed, _ = ambient_daemonsets(cluster)  # ASM's own ambient components left out
    if cluster.available(K.DEPLOYMENT):
        for dep in cluster.waypoint_deployments():
            meta = dep["metadata"]
            signals.append(f"Deployment {meta.get('namespace')}/{meta['name']} (waypoint proxy)")
    return signals, installed


# Istio's CNI agent skips these namespaces' pods (charts/istio-cni values.yaml excludeNamespaces: [kube-system], the
# ConfigMap's EXCLUDE_NAMESPACES): their static and system pods are no ambient workloads.
_AMBIENT_SKIPPED = ("kube-system",)


def pods_enrolled(cluster: ClusterInventory) -> tuple[list[str], list[str]]:
    """(workloads with pods on the ambient data plane or whose pod template enrols them, why that cannot be told for
    the rest). Istio's CNI agent annotates a pod it captured (mesh.AMBIENT_REDIRECTION, the pod frame's `ambient`)
    when it sets up the pod's network, whatever enrolled it (its namespace, its own label even when set by hand on the
    pod, from 1.25 istio-cni-config's AMBIENT_ENABLEMENT_SELECTOR; cni/pkg/util/podutil.go PodRedirectionEnabled),
    and re-captures a running pod whose labels change (cni/pkg/nodeagent/informers.go @1.24.6): a pod with a phase
    and no annotation is not on ztunnel. A pod template labelled istio.io/dataplane-mode=ambient enrols its next pods
    (its pods the agent could not capture, host network, stay a plan for ambient). Only a pod with no status yet
    (never set up on a node) is judged by its template, and undecided when none is read or a custom selector applies.
    Pods of kube-system (the agent's default excludeNamespaces) count only when captured all the same."""
    undecided: list[str] = []
    if not cluster.available(K.DEPLOYMENT):
        undecided.append(f"Deployments unread (waypoints): {cluster.unread_reason(K.DEPLOYMENT)}")
    if not cluster.available(K.POD):
        return [], [*undecided, f"Pods unread: {cluster.unread_reason(K.POD)}"]
    pods = cluster.pods()
    if pods.empty:
        return [], undecided
    proxyless = among(pods["proxy"], (mesh.PROXY_NONE,)) & among(pods["phase"], ACTIVE_PHASES)
    # Without the column (a frame of another make) no pod is told by its annotation: each is judged as unset-up.
    told = "ambient" in pods
    captured = proxyless & pods["ambient"].to_numpy(dtype=bool) if told else np.zeros(len(pods), dtype=bool)
    key = ["namespace", "workload_kind", "workload_name"]
    enrolled = _captured(pods, captured)
    rest = pods.loc[proxyless & ~captured & ~among(pods["namespace"], _AMBIENT_SKIPPED), [*key, "phase"]]
    unset = rest["phase"].astype(str).eq("").to_numpy() if told else np.ones(len(rest), dtype=bool)
    if unset.any():
        undecided.extend(_selector_unknown(cluster))
    unset_keys = set(rest.loc[unset, key].itertuples(index=False, name=None))
    for namespace, kind, name in rest[key].drop_duplicates().itertuples(index=False, name=None):
        template, why = idle.pods_template(cluster, str(kind), str(namespace), str(name))
        if template is not None and _labels(template).get(DATAPLANE_MODE_LABEL) == "ambient":
            enrolled.append(f"{kind} {namespace}/{name} (pods labelled {DATAPLANE_MODE_LABEL}=ambient)")
        elif template is None and (namespace, kind, name) in unset_keys:
            undecided.append(f"{kind} {namespace}/{name}: pods with no status yet (not set up on a node), and no "
                             f"pod template read to tell their labels ({why})")
    return enrolled, undecided


def captured_workloads(cluster: ClusterInventory) -> list[str]:
    """The workloads with active pods Istio's CNI agent captured (annotated, no proxy of their own); none with Pods
    unread."""
    if not cluster.available(K.POD):
        return []
    pods = cluster.pods()
    if pods.empty or "ambient" not in pods:
        return []
    return _captured(pods, among(pods["proxy"], (mesh.PROXY_NONE,)) & among(pods["phase"], ACTIVE_PHASES)
                     & pods["ambient"].to_numpy(dtype=bool))


def _captured(pods: Any, rows: np.ndarray) -> list[str]:
    key = ["namespace", "workload_kind", "workload_name"]
    return [f"{kind} {namespace}/{name} ({count} pod(s) annotated {mesh.AMBIENT_REDIRECTION}="
            f"{mesh.AMBIENT_REDIRECTION_ENABLED}: captured into ztunnel)"
            # observed=True: the key columns are categorical; their product of categories would be enumerated.
            for (namespace, kind, name), count in pods.loc[rows, key].groupby(
                key, observed=True, sort=False).size().items()]


def _selector_unknown(cluster: ClusterInventory) -> list[str]:
    """Why which labels enrol a pod cannot be told: istio-cni-config unread, or its AMBIENT_ENABLEMENT_SELECTOR
    naming other labels than istio.io/dataplane-mode."""
    if not cluster.available(K.CONFIGMAP):
        return [f"ConfigMaps unread (istio-cni-config's enablement selector): {cluster.unread_reason(K.CONFIGMAP)}"]
    out: list[str] = []
    for cm in cluster.objects(K.CONFIGMAP):
        meta = cm.get("metadata") or {}
        selector = (cm.get("data") or {}).get("AMBIENT_ENABLEMENT_SELECTOR") if meta.get(
            "name") == "istio-cni-config" else None
        if selector and _selector_keys(selector) != {DATAPLANE_MODE_LABEL}:
            out.append(f"ConfigMap {meta.get('namespace')}/istio-cni-config enrols pods by its own "
                       "AMBIENT_ENABLEMENT_SELECTOR")
    return out


def _selector_keys(text: Any) -> set[str] | None:
    """The label keys an AMBIENT_ENABLEMENT_SELECTOR (YAML: a list of {podSelector, namespaceSelector}) names; None
    when it is not that shape."""
    import yaml

    from auditor import yamlsafe

    try:
        doc = yamlsafe.safe_load(str(text))
    except yaml.YAMLError:
        return None
    if not isinstance(doc, list):
        return None
    keys: set[str] = set()
    for entry in doc:
        if not isinstance(entry, dict):
            return None
        for selector in entry.values():
            if not isinstance(selector, dict):
                return None
            keys.update(str(k) for k in (selector.get("matchLabels") or {}))
            keys.update(str(e.get("key")) for e in (selector.get("matchExpressions") or []) if isinstance(e, dict))
    return keys


class AmbientMode(ClusterCheck):
    id = "ambient-mode"
    title = "Istio's ambient data plane is not in use"
    gates = (Gate.ASSESSMENT,)
    severity = Severity.MAJOR
    rationale = ("The procedure migrates sidecar workloads (Istio sidecar -> ASM proxy). Workloads on ztunnel and "
                 "waypoints are not covered by it and need a plan of their own.")
    remediation = "Move ambient namespaces back to sidecars (or plan their migration with Alibaba Cloud) first."
    NOT_IN_USE = Outcome("AA0501", Status.PASS, "no ambient data plane (ztunnel, ambient namespaces) in use",
                         message="no ambient namespace, ztunnel, ambient istio-cni or waypoint found")
    # Istio's ambient profile installed (`istioctl install --set profile=ambient`: ztunnel, istio-cni with
    # AMBIENT_ENABLED) with no workload enrolled: it moves no traffic, and the sidecar migration does not touch it.
    # Main: FAIL AA0510 "in use", a NO-GO on every cluster that merely has the profile.
    INSTALLED_UNUSED = Outcome("AA0502", Status.PASS, "the ambient data plane is installed but no workload is "
                               "enrolled in it (no ambient namespace or pod label, no waypoint)",
                               message="ambient data plane installed ({installed}) but no workload enrolled: no "
                                       "namespace or pod labelled istio.io/dataplane-mode=ambient, no waypoint")
    IN_USE = Outcome("AA0510", Status.FAIL, "the ambient data plane is in use: not covered by this migration procedure",
                     message="ambient data plane in use ({signals}): not covered by this migration procedure")
    ENROLMENT_UNKNOWN = Outcome("AA0530", Status.UNKNOWN, "the ambient data plane is installed and whether a workload "
                                "is enrolled in it cannot be told",
                                message="ambient data plane installed ({installed}); whether a workload is enrolled "
                                        "cannot be told: {reasons}",
                                fix="Grant list on Pods, ConfigMaps and the workload kinds (`asm-audit rbac`), or "
                                    "check by hand (kubectl get pods -A -l istio.io/dataplane-mode=ambient; kubectl "
                                    "get pods -A -o jsonpath for the annotation ambient.istio.io/redirection), then "
                                    "audit again.")
    outcomes = (NOT_IN_USE, INSTALLED_UNUSED, IN_USE, ENROLMENT_UNKNOWN)
    needs = (K.NAMESPACE, K.DAEMONSET)
    # The workload kinds: a pod not yet set up is told by its template (pods_enrolled, idle.pods_template); read when
    # this check runs alone too, or its reason would say "not collected" of a kind the full audit reads.
    uses = (K.CONFIGMAP, K.POD, *idle.IDLE_KINDS, K.JOB, K.REPLICASET)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        signals, installed = ambient_parts(cluster)
        if not signals and not installed and not ambient_capture_is_asms(cluster):
            # Pods captured with no ambient component of Istio's seen (one not recognised, or removed and its
            # redirection left in the pods): in use all the same. Proven ASM's own ambient: not Istio's.
            signals = captured_workloads(cluster)
        if installed and not signals:
            enrolled, undecided = pods_enrolled(cluster)
            if not enrolled:
                shown = "; ".join(installed[:3]) + ("; ..." if len(installed) > 3 else "")
                if undecided:
                    yield self.report(self.ENROLMENT_UNKNOWN, cluster.name, params={
                        "installed": shown, "reasons": "; ".join(undecided[:3]) + (
                            "; ..." if len(undecided) > 3 else "")},
                        evidence={"installed": installed, "undecided": undecided[:50]})
                else:
                    yield self.report(self.INSTALLED_UNUSED, cluster.name, params={"installed": shown},
                                      evidence={"installed": installed})
                return
            signals = enrolled
        signals = [*signals, *installed]
        if signals:
            shown = "; ".join(signals[:3]) + ("; ..." if len(signals) > 3 else "")
            yield self.report(self.IN_USE, cluster.name, params={"signals": shown},
                              remediation=self.remediation, evidence={"signals": signals})
        else:
            yield self.report(self.NOT_IN_USE, cluster.name, params={})
