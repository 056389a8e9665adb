"""Istio's control plane gone, and what `istioctl uninstall --purge` leaves behind (domain.md).

ASM shares Istio's names and APIs in the data plane (istio-system, `istiod-<rev>` Service,
`istio-sidecar-injector-<rev>` webhook, Istio CRDs), so nothing is flagged that ASM owns: ASM
labels/annotations (`asm.alibabacloud.com/*`, `provider: asm`), owner references, objects of an ASM
revision, or the config's `residue.allow` globs ("Kind/name" or "Kind/namespace/name").
Secrets are never read: remote secrets (`istio-remote-secret-*`) are not checked and the report says so.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor import gatewayapi, mesh
from auditor import kinds as K
from auditor.check import ClusterCheck, Context
from auditor.errors import EvidenceUnavailable
from auditor.gateways import gateway_services, gateway_workloads, istio_gateways
from auditor.inventory import ClusterInventory
from auditor.mesh import asm_owned, istio_installed
from auditor.model import Finding, Gate, Outcome, Severity, Status

ISTIO_SYSTEM = "istio-system"
ASM_MARK = "asm.alibabacloud.com"
ISTIO_INJECTOR = re.compile(r"^(istio-sidecar-injector.*|istio-revision-tag-.+)$")
ISTIO_VALIDATOR = re.compile(r"^(istio-validator.*|istiod-default-validator|istiod-.*istio-system)$")
ISTIO_RBAC = re.compile(r"^(istiod|istio-reader)-")
ISTIO_SYSTEM_CONFIGMAP = re.compile(r"^istio(-sidecar-injector)?(-.+)?$")
STABLE_CHANNEL = re.compile(r"^stable-channel-.*\.istio\.io$")
ISTIOD_SERVICE = re.compile(r"^istiod(-.+)?$")
REMOTE_SECRETS_NOTE = ("remote secrets (istio-remote-secret-*, label istio/multiCluster=true) are not checked: the "
                       "auditor never reads Secrets; list them with `kubectl get secrets -A -l "
                       "istio/multiCluster=true`")


# ---------------------------------------------------------------- ownership
def allow_reason(kind: str, meta: dict[str, Any], globs: list[str]) -> str | None:
    name, ns = meta.get("name", ""), meta.get("namespace", "")
    subjects = [f"{kind}/{name}"] + ([f"{kind}/{ns}/{name}"] if ns else [])
    for pattern in globs:
        if any(fnmatch.fnmatchcase(s, pattern) for s in subjects):
            return f"config residue.allow {pattern!r}"
    return None


def _allow_globs(ctx: Context) -> list[str]:
    config = ctx.config
    return list(config.residue.allow) if config is not None else []


def asm_istiod_names(cluster: ClusterInventory) -> set[str]:
    """ASM's managed istiod Services in istio-system (mesh.istiod_owners: no local istiod, no Istio labels)."""
    cluster.objects(K.SERVICE)  # unreadable Services: EvidenceUnavailable, as before
    return {key.partition("/")[2] for key, (owner, _) in cluster.istiod_owners().items()
            if owner == mesh.OWNER_ASM and key.startswith(ISTIO_SYSTEM + "/")}


def webhook_targets(obj: dict[str, Any]) -> list[str]:
    return [str(((w.get("clientConfig") or {}).get("service") or {}).get("name") or "")
            for w in obj.get("webhooks") or ()]


def served_revisions(webhook: dict[str, Any]) -> set[str]:
    """Revisions an injector webhook serves: its istio.io/rev / istio.io/tag labels and selector values."""
    labels = (webhook.get("metadata") or {}).get("labels") or {}
    out = {labels[k] for k in ("istio.io/rev", "istio.io/tag") if labels.get(k)}
    for hook in webhook.get("webhooks") or ():
        for selector in (hook.get("namespaceSelector"), hook.get("objectSelector")):
            for expr in (selector or {}).get("matchExpressions") or ():
                if expr.get("key") == "istio.io/rev" and expr.get("operator") == "In":
                    out.update(str(v) for v in expr.get("values") or ())
            rev = ((selector or {}).get("matchLabels") or {}).get("istio.io/rev")
            if rev:
                out.add(str(rev))
    return out


def is_istio_webhook(obj: dict[str, Any], pattern: re.Pattern[str], asm_istiods: set[str]) -> bool:
    """Istio's injector/validator: by name or by pointing at Istio's istiod, never ASM's."""
    meta = obj.get("metadata") or {}
    if asm_owned(meta):
        return False
    targets = [t for t in webhook_targets(obj) if t]
    if targets and all(t in asm_istiods for t in targets) and not istio_installed(meta):
        return False  # points only at ASM's managed istiod-<rev>
    if pattern.match(meta.get("name", "")):
        return True
    return any(ISTIOD_SERVICE.match(t) and t not in asm_istiods for t in targets)


def asm_revisions(cluster: ClusterInventory) -> set[str]:
    """Revisions ASM's injectors serve in this cluster (from istiod-<rev> Services and ASM's webhooks)."""
    asm_istiods = asm_istiod_names(cluster)
    revs = {name[len("istiod-"):] for name in asm_istiods}
    for obj in cluster.objects(K.MUTATING_WEBHOOK):
        if not is_istio_webhook(obj, ISTIO_INJECTOR, asm_istiods) and (
                asm_owned(obj.get("metadata") or {}) or any(t in asm_istiods for t in webhook_targets(obj))):
            revs |= served_revisions(obj)
    return revs


# ---------------------------------------------------------------- leftovers
@dataclass
class Leftover:
    kind: str
    name: str
    why: str
    command: str
    namespace: str = ""
    status: Status = Status.FAIL
    evidence: dict[str, Any] | None = None
    purge_managed: bool = False  # labelled operator.istio.io/component: `istioctl uninstall --purge` removes it


def _purge_managed(meta: dict[str, Any]) -> bool:
    return "operator.istio.io/component" in (meta.get("labels") or {})


def _delete(cluster: str, resource: str, names: str | list[str], namespace: str = "") -> str:
    """`kubectl delete` of one object or several (each name its own shell word: they come from the cluster)."""
    ns = f"{mesh.ns_flag(namespace)} " if namespace else ""
    words = " ".join(mesh.object_ref(resource, n) for n in ([names] if isinstance(names, str) else names))
    return f"{mesh.kubectl(cluster)} {ns}delete {words}"


class _LeftoverCheck(ClusterCheck):
    """Runs each category of leftovers separately: one unreadable kind is UNKNOWN for its category alone."""

    categories: tuple[str, ...] = ()
    aggregate_purge_managed = False

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        globs = _allow_globs(ctx)
        kept: list[str] = []
        found = 0
        unknown = 0
        out: list[Finding] = []
        purge_batch: list[tuple[str, Leftover]] = []
        for category in self.categories:
            produce: Callable[..., Iterator[Leftover]] = getattr(self, f"_{category}")
            try:
                items = list(produce(cluster, ctx, globs, kept))
            except EvidenceUnavailable as exc:
                unknown += 1
                out.append(self.unknown(cluster.name, f"{category.replace('_', ' ')}: {exc.reason}"))
                continue
            if self.aggregate_purge_managed:
                purge = [i for i in items if i.purge_managed and i.status is Status.WARN]
                items = [i for i in items if i not in purge]
                purge_batch.extend((category, i) for i in purge)
            for item in items:
                found += 1
                make = self.fail if item.status is Status.FAIL else self.warn
                extra = {} if item.status is Status.FAIL else {"severity": Severity.MINOR}
                out.append(make(cluster.name, item.why, kind=item.kind, namespace=item.namespace, name=item.name,
                                remediation=item.command, evidence={"category": category, **(item.evidence or {})},
                                **extra))
        if purge_batch:
            # Not residue yet: the installer's own objects, which the seed's uninstall step removes in one go.
            found += 1
            out.append(self.warn(
                cluster.name, f"{len(purge_batch)} inert Istio object(s) still carry operator.istio.io/component: "
                "`istioctl uninstall --purge` has not run here (or failed); it removes them",
                severity=Severity.MINOR,
                remediation=f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster.name)} uninstall --purge  # with "
                            "the istioctl of the installed version\n# or one by one:\n"
                            + "\n".join(i.command for _, i in purge_batch),
                evidence={"objects": [f"{i.kind} {i.namespace + '/' if i.namespace else ''}{i.name}"
                                      for _, i in purge_batch],
                          "categories": sorted({c for c, _ in purge_batch})}))
        if not found and not unknown:
            out.append(self.passed(cluster.name, self.clean_message, evidence=self._clean_evidence(kept)))
        for finding in out:
            # Say what was recognised as ASM's (or allowed) and therefore not flagged.
            finding.evidence.setdefault("kept_as_asm_or_allowed", kept[:10])
        return out

    clean_message = "nothing left"

    def _clean_evidence(self, kept: list[str]) -> dict[str, Any]:
        return {"kept_as_asm_or_allowed": kept[:50]}

    @staticmethod
    def _skip(kind: str, meta: dict[str, Any], globs: list[str], kept: list[str]) -> bool:
        reason = asm_owned(meta) or allow_reason(kind, meta, globs)
        if reason:
            ns = meta.get("namespace")
            kept.append(f"{kind} {ns + '/' if ns else ''}{meta.get('name')}: {reason}")
            return True
        return False


# ================================================================ istio-control-plane-removed
class IstioControlPlaneRemoved(_LeftoverCheck):
    id = "istio-control-plane-removed"
    title = "No istiod, Istio webhooks or Istio operator left"
    gates = (Gate.FINISHED,)
    severity = Severity.BLOCKER
    rationale = ("The Finished switch expects Istio's control plane gone. A leftover istiod keeps fighting ASM "
                 "over certificates and config; a leftover injector webhook injects Istio sidecars (or, with "
                 "failurePolicy Fail and no istiod, blocks pod creation); a leftover validator rejects Istio API "
                 "writes; an operator re-installs what was removed. ASM's istiod-<rev> Service and injector are "
                 "not Istio's and are never flagged.")
    remediation = ("Run `istioctl uninstall --purge` with the istioctl of the installed version, then delete "
                   "each object listed.")
    outcomes = (
        Outcome("AA2201", Status.PASS, "no istiod, Istio webhook or operator left"),
        Outcome("AA2210", Status.FAIL, "Istio's control plane is still installed"),
        Outcome("AA2220", Status.WARN, "Istio control-plane leftovers to review"),
        Outcome("AA2230", Status.UNKNOWN, "a category of objects cannot be read"),
    )
    # All optional to the engine: each category says UNKNOWN for itself when its kinds are unreadable.
    uses = (K.DEPLOYMENT, K.POD, K.SERVICE, K.MUTATING_WEBHOOK, K.VALIDATING_WEBHOOK, K.ISTIOOPERATOR,
            K.REPLICASET)
    categories = ("istiod", "istiod_pods", "webhooks", "operator", "istio_operators")
    clean_message = "no istiod, Istio webhook or Istio operator left"

    def _istiod(self, cluster: ClusterInventory, ctx: Context, globs: list[str], kept: list[str]) -> Iterator[Leftover]:
        for dep in cluster.objects(K.DEPLOYMENT):
            meta = dep.get("metadata") or {}
            if not mesh.is_istiod_deployment(dep) or self._skip("Deployment", meta, globs, kept):
                continue
            ns, name = meta.get("namespace", ""), meta.get("name", "")
            version, _ = mesh.istiod_version(dep)
            yield Leftover("Deployment", name, f"Istio's istiod {ns}/{name} (revision {mesh.istiod_revision(dep)}, "
                           f"{version or 'version unknown'}) is still installed",
                           _delete(cluster.name, "deployment", name, ns), ns)

    def _istiod_pods(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                     kept: list[str]) -> Iterator[Leftover]:
        """istiod pods whose Deployment is gone (terminating, or orphaned by a --cascade=orphan delete)."""
        listed = {((d.get("metadata") or {}).get("namespace", ""), (d.get("metadata") or {}).get("name", ""))
                  for d in cluster.objects(K.DEPLOYMENT) if mesh.is_istiod_deployment(d)}
        pods = cluster.pods()
        istiod = pods["workload_name"].astype(str).str.match(r"^istiod(-.+)?$") & (pods["proxy"] == mesh.PROXY_NONE)
        orphans = pods[istiod]
        for (ns, wl), group in orphans.groupby(["namespace", "workload_name"], observed=True):
            if (str(ns), str(wl)) in listed:
                continue
            yield Leftover("Pod", str(wl), f"{len(group)} istiod pod(s) of {ns}/{wl} still exist without their "
                           "Deployment", _delete(cluster.name, "pod", sorted(group["name"].astype(str))[:20], str(ns)),
                           str(ns))

    def _webhooks(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                  kept: list[str]) -> Iterator[Leftover]:
        asm_istiods = asm_istiod_names(cluster)
        for kind, pattern, resource in ((K.MUTATING_WEBHOOK, ISTIO_INJECTOR, "mutatingwebhookconfiguration"),
                                        (K.VALIDATING_WEBHOOK, ISTIO_VALIDATOR, "validatingwebhookconfiguration")):
            for obj in cluster.objects(kind):
                meta = obj.get("metadata") or {}
                name = meta.get("name", "")
                looks_istio = pattern.match(name) or any(ISTIOD_SERVICE.match(t) for t in webhook_targets(obj))
                if not looks_istio or self._skip(kind.kind, meta, globs, kept):
                    continue
                if not is_istio_webhook(obj, pattern, asm_istiods):
                    kept.append(f"{kind.kind} {name}: points at ASM's {', '.join(sorted(set(webhook_targets(obj))))}")
                    continue
                targets = sorted(set(webhook_targets(obj)))
                policies = sorted({str(w.get("failurePolicy") or "") for w in obj.get("webhooks") or ()})
                yield Leftover(kind.kind, name, f"Istio's {kind.kind} {name} is still installed (calls "
                               f"{', '.join(targets) or 'a URL'}, failurePolicy {'/'.join(policies)})",
                               _delete(cluster.name, resource, name),
                               evidence={"targets": targets, "revisions": sorted(served_revisions(obj))})

    def _operator(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                  kept: list[str]) -> Iterator[Leftover]:
        for dep in cluster.objects(K.DEPLOYMENT):
            meta = dep.get("metadata") or {}
            labels = meta.get("labels") or {}
            if "istio-operator" not in (meta.get("name"), labels.get("name"), labels.get("app.kubernetes.io/name")):
                continue
            if self._skip("Deployment", meta, globs, kept):
                continue
            ns, name = meta.get("namespace", ""), meta.get("name", "")
            yield Leftover("Deployment", name, f"Istio operator {ns}/{name} is still installed (it would "
                           "re-install Istio from its IstioOperator)", _delete(cluster.name, "deployment", name, ns),
                           ns)

    def _istio_operators(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                         kept: list[str]) -> Iterator[Leftover]:
        for obj in cluster.objects(K.ISTIOOPERATOR):
            meta = obj.get("metadata") or {}
            if self._skip("IstioOperator", meta, globs, kept):
                continue
            ns, name = meta.get("namespace", ""), meta.get("name", "")
            resource = "istiooperators.install.istio.io"
            yield Leftover("IstioOperator", name, f"IstioOperator {ns}/{name} is still present",
                           _delete(cluster.name, resource, name, ns)
                           + f"\n# if it hangs on its finalizer (operator gone): {mesh.kubectl(cluster.name)} "
                           f"{mesh.sh_text(mesh.ns_flag(ns))} patch {resource}/{mesh.sh_text(name)} --type=merge "
                           "-p '{\"metadata\":{\"finalizers\":[]}}'", ns)


# ================================================================ istio-residue
class IstioResidue(_LeftoverCheck):
    id = "istio-residue"
    title = "No Istio leftovers after `istioctl uninstall --purge`"
    gates = (Gate.FINISHED,)
    severity = Severity.MAJOR
    rationale = ("`istioctl uninstall --purge` deletes only objects labelled operator.istio.io/component; Helm "
                 "installs and a few objects survive. ASM does not document which leftovers make the Finished "
                 "switch fail, so the auditor FAILs what keeps acting on the cluster (Istio gateway Deployments "
                 "whose proxies lost their control plane; stable-channel ValidatingAdmissionPolicies that keep "
                 "rejecting Istio API writes; namespaces pinned by istio.io/rev to a revision no ASM injector "
                 "serves, whose new pods start without a proxy) and WARNs about inert ones (Istio CRDs, RBAC, "
                 "ConfigMaps, the istiod Service). Not flagged: istio-system (ASM uses it), istio-injection "
                 "labels (ASM honours them), istio-ca-root-cert ConfigMaps (ASM's istiod writes the same ones "
                 "for its proxies), anything ASM owns.")
    remediation = "Delete each leftover with the command given (CRDs only after istio-config-imported passes)."
    outcomes = (
        Outcome("AA2301", Status.PASS, "nothing left behind by `istioctl uninstall --purge`"),
        Outcome("AA2310", Status.FAIL, "Istio objects left that must be deleted"),
        Outcome("AA2320", Status.WARN, "Istio leftovers to review (labels, CRDs, ConfigMaps)"),
        Outcome("AA2330", Status.UNKNOWN, "a category of objects cannot be read"),
    )
    uses = (K.NAMESPACE, K.CRD, K.CLUSTERROLE, K.CLUSTERROLEBINDING, K.CONFIGMAP, K.DEPLOYMENT, K.SERVICE,
            K.MUTATING_WEBHOOK, K.VALIDATING_ADMISSION_POLICY, K.VALIDATING_ADMISSION_POLICY_BINDING,
            K.K8S_GATEWAY, K.K8S_GATEWAYCLASS, K.POD, K.REPLICASET)
    categories = ("gateways", "gateway_api", "gateway_classes", "admission_policies", "namespace_labels", "crds",
                  "rbac", "configmaps", "istiod_service")
    clean_message = f"no Istio leftovers; {REMOTE_SECRETS_NOTE}"
    aggregate_purge_managed = True

    def _clean_evidence(self, kept: list[str]) -> dict[str, Any]:
        return {"kept_as_asm_or_allowed": kept[:50], "not_checked": REMOTE_SECRETS_NOTE,
                "not_flagged": "istio-system namespace, istio-injection labels, istio-ca-root-cert ConfigMaps "
                               "(shared with ASM)"}

    def _gateways(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                  kept: list[str]) -> Iterator[Leftover]:
        names = ctx.config.gateways
        services = gateway_services(cluster, ctx.inv.rules, names)
        for gw in istio_gateways(cluster, ctx.inv.rules, names):
            meta = {"name": gw.name, "namespace": gw.namespace, "labels": gw.labels}
            if gatewayapi.managed_by_istio(meta):
                continue  # deployed for a Gateway API Gateway: the gateway_api category judges it with its Gateway
            if allow_reason("Deployment", meta, globs):
                kept.append(f"Deployment {gw.namespace}/{gw.name}: {allow_reason('Deployment', meta, globs)}")
                continue
            fronts = sorted(s.name for s in services if s.gateway == gw)
            command = _delete(cluster.name, "deployment", gw.name, gw.namespace)
            if fronts:
                command += "\n" + _delete(cluster.name, "service", fronts, gw.namespace)
            yield Leftover("Deployment", gw.name, f"Istio {gw.type} gateway {gw.namespace}/{gw.name} is still "
                           "deployed: without istiod its proxies get no config and their certificates expire, "
                           f"and its Service may still get traffic ({', '.join(fronts) or 'no Service'})", command,
                           gw.namespace, evidence={"services": fronts})

    def _gateway_api(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                     kept: list[str]) -> Iterator[Leftover]:
        """Gateway API Gateways of Istio's classes and the `<gateway>-istio` Deployments/Services istiod made.

        Those Deployments are owned by their Gateway (ownerReferences), so the generic owner rule must not
        keep them: only ASM's marks, an ASM proxy (the proxy classifier, see _asm_gateway_deployments) or
        residue.allow do.
        """
        classes = {(c.get("metadata") or {}).get("name", ""): c for c in cluster.objects(K.K8S_GATEWAYCLASS)}
        gateways = {}
        for gw in cluster.objects(K.K8S_GATEWAY):
            meta = gw.get("metadata") or {}
            class_name = str((gw.get("spec") or {}).get("gatewayClassName") or "")
            if gatewayapi.class_is_istio(class_name, classes):
                gateways[(meta.get("namespace", ""), meta.get("name", ""))] = (gw, class_name)
        asm_deployments = self._asm_gateway_deployments(cluster, ctx)
        deployed: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (ns, gateway) -> [(kind, name)]
        asm_gateways: set[tuple[str, str]] = set()  # an ASM proxy or ASM marks: the whole gateway is ASM's
        for kind in (K.DEPLOYMENT, K.SERVICE):
            for obj in cluster.objects(kind):
                meta = obj.get("metadata") or {}
                if not gatewayapi.managed_by_istio(meta):
                    continue
                key = (meta.get("namespace", ""), gatewayapi.owning_gateway(meta) or meta.get("name", ""))
                subject = f"{kind.kind} {key[0]}/{meta.get('name')}"
                if key in asm_gateways or asm_owned({"labels": meta.get("labels"),
                                                     "annotations": meta.get("annotations")}) or (
                        kind is K.DEPLOYMENT and (key[0], meta.get("name", "")) in asm_deployments):
                    asm_gateways.add(key)
                    kept.append(f"{subject}: ASM's Gateway API gateway")
                elif allow_reason(kind.kind, meta, globs):
                    kept.append(f"{subject}: {allow_reason(kind.kind, meta, globs)}")
                else:
                    deployed.setdefault(key, []).append((kind.kind, meta.get("name", "")))
        for key in asm_gateways:
            gateways.pop(key, None)
            for kind_name, name in deployed.pop(key, []):
                kept.append(f"{kind_name} {key[0]}/{name}: ASM's Gateway API gateway")
        resource = f"gateways.{gatewayapi.GROUP}"
        for (ns, name), objects in sorted(deployed.items()):
            deployments = sorted(n for k, n in objects if k == "Deployment")
            services = sorted(n for k, n in objects if k == "Service")
            commands = ([_delete(cluster.name, "deployment", deployments, ns)] if deployments else []) + (
                [_delete(cluster.name, "service", services, ns)] if services else [])
            owner = gateways.pop((ns, name), None)
            if owner is not None:
                commands.append(_delete(cluster.name, resource, name, ns) + "  # the Gateway itself (its Deployment "
                                "and Service go with it): only after istio-config-imported passes")
            what = (f"Istio's Gateway API gateway {ns}/{name} (class {owner[1]})" if owner else
                    f"Istio's Gateway API gateway objects of {ns}/{name} (their Gateway is gone)")
            runs = (f"still runs Deployment {', '.join(deployments)}: without istiod its proxies get no config and "
                    "their certificates expire" if deployments else "has no Deployment left")
            yield Leftover("Deployment" if deployments else "Service", (deployments or services)[0],
                           f"{what} {runs}; Service: {', '.join(services) or 'none'}", "\n".join(commands), ns,
                           status=Status.FAIL if deployments else Status.WARN,
                           evidence={"gateway": name, "deployments": deployments, "services": services})
        for (ns, name), (gw, class_name) in sorted(gateways.items()):
            meta = gw.get("metadata") or {}
            if self._skip(f"Gateway.{gatewayapi.GROUP}", {k: v for k, v in meta.items() if k != "ownerReferences"},
                          globs, kept):
                continue
            yield Leftover(f"Gateway.{gatewayapi.GROUP}", name, f"Gateway {ns}/{name} of Istio's class {class_name} "
                           "is still in the cluster (nothing deployed for it any more): ASM serves Gateway API "
                           "from its control plane", _delete(cluster.name, resource, name, ns)
                           + "  # only after istio-config-imported passes", ns, status=Status.WARN)

    @staticmethod
    def _asm_gateway_deployments(cluster: ClusterInventory, ctx: Context) -> set[tuple[str, str]]:
        """(namespace, name) of Deployments the proxy classifier calls ASM's: as a gateway workload, or by their
        pods (all proxies ASM's). Unproven stays Istio's: FAIL rather than a false GO."""
        out = {(g.namespace, g.name) for g in gateway_workloads(cluster, ctx.inv.rules, ctx.config.gateways) if g.asm}
        if cluster.available(K.POD):
            pods = cluster.pods()
            pods = pods[(pods["workload_kind"].astype(str) == "Deployment") & (pods["proxy"] != mesh.PROXY_NONE)]
            keys = list(zip(pods["namespace"].astype(str), pods["workload_name"].astype(str), strict=True))
            asm = {k for k, p in zip(keys, pods["proxy"].astype(str), strict=True) if p == mesh.PROXY_ASM}
            other = {k for k, p in zip(keys, pods["proxy"].astype(str), strict=True) if p != mesh.PROXY_ASM}
            out |= asm - other
        return out

    def _gateway_classes(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                         kept: list[str]) -> Iterator[Leftover]:
        """The GatewayClasses istiod creates (istio, istio-waypoint, istio-remote...): no controller after it."""
        for gc in cluster.objects(K.K8S_GATEWAYCLASS):
            meta = gc.get("metadata") or {}
            name = meta.get("name", "")
            controller = str((gc.get("spec") or {}).get("controllerName") or "")
            if name not in gatewayapi.BUILTIN_CLASSES or not controller.startswith(gatewayapi.ISTIO_CONTROLLER_PREFIX):
                continue
            if self._skip("GatewayClass", meta, globs, kept):
                continue
            yield Leftover("GatewayClass", name, f"istiod's GatewayClass {name} (controller {controller}) is still "
                           "present: no Istio controller programs its Gateways any more (keep it only if ASM "
                           "programs Gateway API in this cluster: residue.allow GatewayClass/" + name + ")",
                           _delete(cluster.name, f"gatewayclasses.{gatewayapi.GROUP}", name), status=Status.WARN)

    def _admission_policies(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                            kept: list[str]) -> Iterator[Leftover]:
        for kind, resource in ((K.VALIDATING_ADMISSION_POLICY, "validatingadmissionpolicy"),
                               (K.VALIDATING_ADMISSION_POLICY_BINDING, "validatingadmissionpolicybinding")):
            for obj in cluster.objects(kind):
                meta = obj.get("metadata") or {}
                name = meta.get("name", "")
                if not STABLE_CHANNEL.match(name) or self._skip(kind.kind, meta, globs, kept):
                    continue
                yield Leftover(kind.kind, name, f"Istio's {kind.kind} {name} still rejects Istio API writes in this "
                               "cluster (EnvoyFilter, alpha fields)", _delete(cluster.name, resource, name))

    def _namespace_labels(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                          kept: list[str]) -> Iterator[Leftover]:
        pinned = []
        for ns in cluster.objects(K.NAMESPACE):
            meta = ns.get("metadata") or {}
            rev = (meta.get("labels") or {}).get("istio.io/rev")
            if rev and not allow_reason("Namespace", meta, globs):
                pinned.append((meta.get("name", ""), rev))
        if not pinned:
            return
        served = asm_revisions(cluster)
        if not served:
            raise EvidenceUnavailable(f"{len(pinned)} namespace(s) carry istio.io/rev "
                                      f"({', '.join(f'{n}={r}' for n, r in pinned[:10])}) but no ASM injector "
                                      "revision was found to compare with (no istiod-<rev> Service, no ASM "
                                      "MutatingWebhookConfiguration)")
        target = sorted(served)[0] if len(served) == 1 else None
        for name, rev in pinned:
            if rev in served:
                continue
            # The revisions come from other objects (webhook labels and selectors), not this namespace.
            relabel = f"{mesh.kubectl(cluster.name)} label {mesh.object_ref('ns', name)}"
            fix = (f"{relabel} istio.io/rev={mesh.sh(target)} --overwrite"
                   if target else
                   f"{relabel} istio.io/rev-  # then label it for one of "
                   f"ASM's revisions: {', '.join(mesh.sh_text(r) for r in sorted(served))}")
            yield Leftover("Namespace", name, f"namespace {name} is pinned to revision {rev}, which no ASM injector "
                           f"serves (ASM: {', '.join(sorted(served))}): its new pods start without a proxy", fix,
                           evidence={"revision": rev, "asm_revisions": sorted(served)})

    def _crds(self, cluster: ClusterInventory, ctx: Context, globs: list[str], kept: list[str]) -> Iterator[Leftover]:
        for crd in cluster.objects(K.CRD):
            meta = crd.get("metadata") or {}
            group = str((crd.get("spec") or {}).get("group") or meta.get("name", "").partition(".")[2])
            if not group.endswith("istio.io"):
                continue
            why = istio_installed(meta) or ("Istio's installer API" if group == "install.istio.io" else None)
            if not why or self._skip("CustomResourceDefinition", meta, globs, kept):
                continue
            name = meta.get("name", "")
            kind = ((crd.get("spec") or {}).get("names") or {}).get("kind") or name
            yield Leftover("CustomResourceDefinition", name, f"Istio-installed CRD {name} ({why}) is still present",
                           # spec.names.kind is free text of the CRD: in a comment, it must stay on this line.
                           _delete(cluster.name, "crd", name) + f"  # deletes every {mesh.sh_text(str(kind))} in this "
                           "cluster: only "
                           "after istio-config-imported passes and if ASM does not serve this API from the cluster",
                           status=Status.WARN, purge_managed=_purge_managed(meta))

    def _rbac(self, cluster: ClusterInventory, ctx: Context, globs: list[str], kept: list[str]) -> Iterator[Leftover]:
        revisions = asm_revisions(cluster) if cluster.available(K.SERVICE) else set()
        for kind, resource in ((K.CLUSTERROLE, "clusterrole"), (K.CLUSTERROLEBINDING, "clusterrolebinding")):
            for obj in cluster.objects(kind):
                meta = obj.get("metadata") or {}
                name = meta.get("name", "")
                if not ISTIO_RBAC.match(name) or self._skip(kind.kind, meta, globs, kept):
                    continue
                if any(f"-{rev}-" in f"{name}-" for rev in revisions if re.match(r"^\d+-\d+", rev)):
                    kept.append(f"{kind.kind} {name}: names an ASM revision")
                    continue
                yield Leftover(kind.kind, name, f"Istio's {kind.kind} {name} is still present",
                               _delete(cluster.name, resource, name), status=Status.WARN,
                               purge_managed=_purge_managed(meta))

    def _configmaps(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                    kept: list[str]) -> Iterator[Leftover]:
        for cm in cluster.objects(K.CONFIGMAP):
            meta = cm.get("metadata") or {}
            name = meta.get("name", "")
            if meta.get("namespace") != ISTIO_SYSTEM or name == "istio-ca-root-cert":
                continue
            if not ISTIO_SYSTEM_CONFIGMAP.match(name) or not istio_installed(meta):
                continue
            if self._skip("ConfigMap", meta, globs, kept):
                continue
            yield Leftover("ConfigMap", name, f"Istio's ConfigMap {ISTIO_SYSTEM}/{name} ({istio_installed(meta)}) is "
                           "still present", _delete(cluster.name, "configmap", name, ISTIO_SYSTEM), ISTIO_SYSTEM,
                           status=Status.WARN, purge_managed=_purge_managed(meta))

    def _istiod_service(self, cluster: ClusterInventory, ctx: Context, globs: list[str],
                        kept: list[str]) -> Iterator[Leftover]:
        asm_istiods = asm_istiod_names(cluster)
        for svc in cluster.objects(K.SERVICE):
            meta = svc.get("metadata") or {}
            name = meta.get("name", "")
            if meta.get("namespace") != ISTIO_SYSTEM or not ISTIOD_SERVICE.match(name) or name in asm_istiods:
                continue
            if self._skip("Service", meta, globs, kept):
                continue
            yield Leftover("Service", name, f"Istio's Service {ISTIO_SYSTEM}/{name} is still present (no istiod "
                           "behind it once uninstalled)", _delete(cluster.name, "service", name, ISTIO_SYSTEM),
                           ISTIO_SYSTEM, status=Status.WARN, purge_managed=_purge_managed(meta))
