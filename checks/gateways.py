"""Gateways during the migration: east-west options, egress routes, ASM gateways, CLB weights, cross-network.

Istio's gateways are found in the data-plane clusters (auditor.gateways); ASM's are IstioGateway objects
on the ASM control plane (spec.gatewayType ingress | egress | cross-network, spec.clusterIds) and the
`istio-<name>` Deployments/Services their controller creates in each cluster.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from auditor import clusterid, gatewayapi, idle, istio, mesh
from auditor import kinds as K
from auditor.asm import (
    NO_EFFECT,
    SEED_PATCH_SPELLING,
    advanced_option,
    migration_resource,
    network_items,
    option_patch,
    seed_spelling_used,
)
from auditor.check import ENGINE_UNREADABLE, ClusterCheck, Context, same_in_every_gate
from auditor.errors import EvidenceUnavailable
from auditor.gateways import (
    EASTWEST,
    EASTWEST_LOOKED_FOR,
    EGRESS,
    GATEWAY_API_GROUP,
    GATEWAY_POLICY_KINDS,
    INGRESS,
    INSTALL_GATEWAY_API,
    INTERNET,
    INTRANET,
    ISTIO_NETWORKING_GROUP,
    LB_ADDRESS_TYPE_ANNOTATIONS,
    LB_ID_ANNOTATIONS,
    LB_VGROUP_PORT_ANNOTATIONS,
    LB_WEIGHT_ANNOTATIONS,
    LOOKED_FOR,
    PORT_MISSING,
    PORT_MOVED,
    ROLE_UNKNOWN,
    SCAN_KINDS,
    SCAN_UNREAD,
    SCAN_UNREAD_FIX,
    STRAY_GATEWAY,
    STRAY_GATEWAY_FIX,
    AsmGateway,
    Front,
    GatewayService,
    GatewayWorkload,
    HostIndex,
    asm_backend_port,
    asm_gateways,
    asm_root_namespace,
    backend_name_paths,
    bound_virtual_services,
    ccm_weight,
    destination_answered,
    eastwest_signals,
    first_annotation,
    gateway_api_listeners,
    gateway_fronts,
    gateway_listeners,
    gateway_policy_parity,
    gateway_role_why,
    gateway_services,
    gateway_workloads,
    gateways_selecting,
    going_workloads,
    host_fqdn,
    istio_gateways,
    istio_injectors_selecting,
    istio_root_namespaces,
    istio_served_ingresses,
    listener_port,
    pods_available,
    route_hosts,
    scan_unread,
    scan_unread_findings,
    served_hosts,
    service_of,
    service_port_entries,
    service_port_target,
    stray_gateway_findings,
    vserver_groups,
)
from auditor.i18n import N_, Phrase
from auditor.inventory import ClusterInventory
from auditor.labelled import COMPONENT_LABEL
from auditor.model import Finding, Gate, Outcome, Severity, Status
from auditor.network import VmGatewayHolds, registry_networks, vm_gateway, vm_gateway_front
from auditor.remote import Links

ISTIO_SYSTEM = "istio-system"
# A shell comment after the annotate command (said in the reader's language: render/localize.comments_said).
OPERATOR_RECONCILES_COMMENT = N_("the Service is reconciled by the Istio operator "
                                 "(operator.istio.io/managed=Reconcile): set the annotation in the IstioOperator's "
                                 "ingressGateways[].k8s.serviceAnnotations too, or it is reverted")
CLB_SPLIT = "(Istio {istio_weight} : ASM {asm_weight}, {istio_percent}% to Istio)"  # part of message templates
ROLE_NOT_TOLD = "(role unknown: no label, name, Gateway or Service tells it)"  # part of message templates
DECLARED_ONLY = Phrase(N_("it is only declared by its IstioGateway on the ASM control plane: no Service of it is in "
                          "this cluster, so none of its backends is on the load balancer"))
# Istio's injector skips a pod in a namespace whose istio-injection label is anything but "enabled": its webhooks
# select namespaces with `istio-injection In [enabled]` or `istio-injection DoesNotExist` (the object-selected ones
# the gateway chart's pods use: sidecar.istio.io/inject "true"), istio-control/istio-discovery/templates/
# mutatingwebhook.yaml @1.18.7, 1.24.6, 1.30.3 (and 1.10.6 without useLegacySelectors). ASM writes "disable".
INJECTION_ON = "enabled"
# The pod-template label of a gateway Istio's webhook completes at pod creation (istio-proxy image `auto`): the
# istio/gateway chart (manifests/charts/gateway/templates/deployment.yaml, _helpers.tpl @1.20.0, 1.30.3) and an
# IstioOperator gateway with `injectionTemplate` set (gateways/istio-ingress|istio-egress/templates/
# injected-deployment.yaml @1.20.0). istioctl's rendered gateways and istiod's Gateway API Deployments write "false".
INJECT_LABEL = "sidecar.istio.io/inject"


def injected_gateways(cluster: ClusterInventory, rules: mesh.ProxyRules, names: Any,
                      eastwest: bool = False) -> list[GatewayWorkload]:
    """Istio's gateways whose pods Istio's webhook injects, in istio-system: the namespace ASM labels istio-injection:
    disable unless the advanced option is set. All of them when `eastwest` (beside an east-west gateway every one is
    judged), else those not east-west (east-west gateways are their own signal)."""
    return [g for g in istio_gateways(cluster, rules, names)
            if g.namespace == ISTIO_SYSTEM and (eastwest or g.type != EASTWEST)
            and g.pod_labels.get(INJECT_LABEL) == "true"]


def _named(gateways: list[GatewayWorkload]) -> list[str]:
    return [f"{g.kind} {g.namespace}/{g.name}" for g in gateways]


# ================================================================ eastwest-gateway-options
class EastwestGatewayOptions(ClusterCheck):
    id = "eastwest-gateway-options"
    title = ("With an east-west gateway, or another injected Istio gateway in istio-system: ASM keeps istio-system "
             "injectable")
    gates = (Gate.SETUP,)
    severity = Severity.BLOCKER
    rationale = ("Istio's east-west gateway pod needs the injection webhook in istio-system, but ASM disables "
                 "injection there by default. With an east-west gateway the ASMMigrateFromIstio advanced option "
                 "stopIstioSystemInjectionDisabling must be set (ASM does not read the spelling "
                 "disableIstioSystemLabelReconciliation) and the label istio-injection: disable(d) "
                 "removed from istio-system before SetupIstioForMigrate. The same holds for any other Istio gateway "
                 "in istio-system whose pods the webhook injects (the istio/gateway chart, an IstioOperator gateway "
                 "with injectionTemplate): without injection its next pods keep the image `auto` and never start.")
    remediation = ("Set spec.advancedOptions.stopIstioSystemInjectionDisabling=true on ASMMigrateFromIstio/default, "
                   "then `kubectl label ns istio-system istio-injection-` in the cluster.")
    SET = Outcome("AA0801", Status.PASS,
                  "with an east-west gateway: the advanced option is set and istio-system stays injectable",
                  message="east-west gateway in use; advanced option {option} is set and istio-system carries no "
                          "istio-injection label other than enabled")
    OPTION_NOT_SET = Outcome("AA0810", Status.FAIL, "with an east-west gateway: the advanced option is not set",
                             message="east-west gateway in use: advanced option not set (spec.advancedOptions: "
                                     "{options})")
    SEED_SPELLING = Outcome("AA0811", Status.FAIL, "with an east-west gateway: the advanced option is not set; only "
                            f"the seed's spelling {SEED_PATCH_SPELLING} is, which ASM does not read",
                            message="east-west gateway in use: advanced option not set (spec.advancedOptions: "
                                    "{options}); " + NO_EFFECT)
    NO_MIGRATION = Outcome("AA0812", Status.FAIL, "with an east-west gateway: ASMMigrateFromIstio/default does not "
                           "exist, so the advanced option cannot be set",
                           message="east-west gateway in use: ASMMigrateFromIstio/default does not exist, so the "
                                   "advanced option cannot be set")
    INJECTION_DISABLED = Outcome("AA0813", Status.FAIL, "with an east-west gateway: istio-system is labelled "
                                 "istio-injection with a value other than enabled (ASM's disable), which keeps "
                                 "Istio's injector off its pods",
                                 fix=f"`kubectl label ns {ISTIO_SYSTEM} istio-injection-` in the cluster",
                                 message="east-west gateway in use: namespace istio-system is labelled "
                                         "istio-injection={label}")
    OPTION_UNREADABLE = Outcome("AA0830", Status.UNKNOWN,
                                "an east-west gateway is in use and the advanced option cannot be read",
                                message="east-west gateway in use and istio-system carries no istio-injection label "
                                        "other than enabled, but the advanced option cannot be read: {reason}")
    EASTWEST_UNSEEN = Outcome("AA0831", Status.UNKNOWN, "no east-west gateway seen, but the gateway scan could not "
                              "read every kind it reads: one may have been missed", fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "no east-west gateway seen, but one may have been missed")
    NO_EASTWEST = Outcome("AA0840", Status.NOT_APPLICABLE, "no east-west gateway in the cluster, and no other Istio "
                          "gateway injected by the webhook in istio-system",
                          message=f"no east-west gateway (looked for {EASTWEST_LOOKED_FOR}), and no other Istio "
                                  f"gateway in istio-system whose pod template is labelled {INJECT_LABEL}: \"true\"")
    # No east-west gateway, but other Istio gateways in istio-system that the webhook injects (injected_gateways).
    _INJECTED = "Istio gateway(s) injected by the webhook in istio-system ({gateways})"
    INJECTED_SET = Outcome("AA0802", Status.PASS, "Istio gateways injected in istio-system: the advanced option is "
                           "set and istio-system stays injectable",
                           message=_INJECTED + "; advanced option {option} is set and istio-system carries no "
                                               "istio-injection label other than enabled")
    INJECTED_OPTION_NOT_SET = Outcome(
        "AA0814", Status.FAIL, "Istio gateways injected in istio-system: the advanced option is not set, so ASM "
        "keeps labelling istio-system istio-injection: disable and their next pods are not injected (image auto)",
        message=_INJECTED + ": advanced option not set (spec.advancedOptions: {options}); ASM keeps istio-system's "
                            "injection off and their next pods never start")
    INJECTED_DISABLED = Outcome(
        "AA0815", Status.FAIL, "Istio gateways injected in istio-system: istio-system is labelled istio-injection "
        "with a value other than enabled (ASM's disable): their next pods are not injected (image auto) and never "
        "start", fix=f"`kubectl label ns {ISTIO_SYSTEM} istio-injection-` in the cluster",
        message=_INJECTED + ": namespace istio-system is labelled istio-injection={label}; their next pods are not "
                            "injected and never start")
    INJECTED_NO_MIGRATION = Outcome(
        "AA0816", Status.FAIL, "Istio gateways injected in istio-system: ASMMigrateFromIstio/default does not exist, "
        "so the advanced option cannot be set",
        message=_INJECTED + ": ASMMigrateFromIstio/default does not exist, so the advanced option cannot be set")
    # istio-system's label is not all: Istio's webhooks select a pod by the namespace's labels and the pod's together
    # (auditor.gateways.istio_injectors_selecting). `istio-injection: enabled` (what one may set for "keep istio-system
    # injectable") is read only by the default revision's namespace. webhook: a revisioned gateway (istio.io/rev pods:
    # gen-eastwest-gateway.sh --revision, the gateway chart's `revision`) with no default injector is then injected by
    # none, and its next pods keep the image `auto` and never start.
    NOT_SELECTED = Outcome(
        "AA0817", Status.FAIL, "Istio gateways in istio-system left to Istio's injector webhook: no Istio injector "
        "webhook selects their pods with istio-system labelled as it is, so their next pods are not injected (image "
        "auto) and never start",
        fix="Remove the istio-injection label from istio-system (`kubectl label ns istio-system istio-injection-`): "
            "Istio's rev.object. and object. webhooks then select the gateway pods by their own istio.io/rev or "
            "sidecar.istio.io/inject label; or label istio-system istio.io/rev=<the gateway's revision>; then re-run.",
        message="{gateways}: no Istio injector webhook selects their pods ({pod_labels}) in istio-system labelled "
                "{namespace_labels}: their next pods are not injected and never start")
    SELECTION_UNREAD = Outcome(
        "AA0832", Status.UNKNOWN, "Istio gateways in istio-system left to Istio's injector webhook: whether an Istio "
        "injector webhook selects their pods cannot be told (the webhooks not read, or only injectors whose owner or "
        "selector cannot be told select them)", fix=SCAN_UNREAD_FIX,
        message="{gateways}: whether an Istio injector webhook selects their pods in istio-system cannot be told: "
                "{reason}")
    outcomes = (SET, INJECTED_SET, OPTION_NOT_SET, SEED_SPELLING, NO_MIGRATION, INJECTION_DISABLED,
                INJECTED_OPTION_NOT_SET, INJECTED_DISABLED, INJECTED_NO_MIGRATION, NOT_SELECTED, OPTION_UNREADABLE,
                SELECTION_UNREAD, EASTWEST_UNSEEN, NO_EASTWEST)
    needs = (K.DEPLOYMENT, K.SERVICE, K.NAMESPACE)
    # Mutating webhooks: whether Istio's injector selects the gateway pods left to it (istio_injectors_selecting).
    uses = (*SCAN_KINDS, K.MUTATING_WEBHOOK)
    asm_needs = (K.ASM_MIGRATION,)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        signals = eastwest_signals(cluster, ctx.inv.rules, ctx.config.gateways)
        injected = [] if signals else _named(injected_gateways(cluster, ctx.inv.rules, ctx.config.gateways))
        if not signals and not injected:
            # N/A only when the scan saw everything; a gateway seen is judged whatever was not read
            yield from scan_unread_findings(self, cluster, self.EASTWEST_UNSEEN) or [
                self.report(self.NO_EASTWEST, cluster.name, params={})]
            return
        if injected:
            yield from self._injected(cluster, ctx, injected)
            return
        ns = cluster.get(K.NAMESPACE, ISTIO_SYSTEM)
        label = (((ns or {}).get("metadata") or {}).get("labels") or {}).get("istio-injection")
        label_blocks = label is not None and label != INJECTION_ON
        evidence: dict[str, Any] = {"eastwest_signals": signals, "istio-system istio-injection": label}
        subject = {"kind": "Namespace", "name": ISTIO_SYSTEM}
        problems: list[Finding] = []  # one FAIL per problem, each with its own command
        option_unknown: str | None = None
        try:
            cr = migration_resource(ctx.inv.require_asm())
        except EvidenceUnavailable as exc:
            cr, option_unknown = None, exc.reason
        if option_unknown is None:
            if cr is None:
                evidence["advanced_option"] = None
                problems.append(self.report(self.NO_MIGRATION, cluster.name, params={}, remediation=self.remediation,
                                            evidence=evidence, **subject))
            else:
                is_set, found = advanced_option(cr)
                options = ((cr.get("spec") or {}).get("advancedOptions")) or {}
                evidence["advanced_option"] = found
                evidence["advancedOptions"] = options
                if not is_set:
                    outcome = self.SEED_SPELLING if seed_spelling_used(cr) else self.OPTION_NOT_SET
                    problems.append(self.report(
                        outcome, cluster.name,
                        params={"options": json.dumps(options, sort_keys=True) if options else "absent"},
                        remediation=option_patch(cr) + "  # the seed's patch names it "
                                                       "disableIstioSystemLabelReconciliation, which ASM does not read",
                        evidence=evidence, **subject))
        selection: Finding | None = None
        if label_blocks:
            problems.append(self.report(
                self.INJECTION_DISABLED, cluster.name, params={"label": label}, evidence=evidence,
                remediation=f"{mesh.kubectl(cluster.name)} label ns {ISTIO_SYSTEM} istio-injection-", **subject))
        else:
            selection = self._selection(cluster, injected_gateways(cluster, ctx.inv.rules, ctx.config.gateways,
                                                                   eastwest=True), evidence, subject)
            if selection is not None and selection.status == Status.FAIL:
                problems.append(selection)
        if problems:
            yield from problems
        elif selection is not None:
            yield selection
        elif option_unknown is not None:
            yield self.report(self.OPTION_UNREADABLE, cluster.name, params={"reason": option_unknown},
                              evidence=evidence, **subject)
        else:
            yield self.report(self.SET, cluster.name, params={"option": evidence["advanced_option"]},
                              evidence=evidence, **subject)

    def _injected(self, cluster: ClusterInventory, ctx: Context, injected: list[str]) -> Iterator[Finding]:
        """No east-west gateway, but Istio gateways in istio-system that the webhook injects: the same two needs."""
        ns = cluster.get(K.NAMESPACE, ISTIO_SYSTEM)
        label = (((ns or {}).get("metadata") or {}).get("labels") or {}).get("istio-injection")
        evidence: dict[str, Any] = {"injected_gateways": injected, "istio-system istio-injection": label}
        subject = {"kind": "Namespace", "name": ISTIO_SYSTEM}
        where = {"gateways": ", ".join(injected)}
        try:
            cr = migration_resource(ctx.inv.require_asm())
        except EvidenceUnavailable as exc:
            cr, unread = None, exc.reason
        else:
            unread = ""
        problems: list[Finding] = []
        option = None
        if not unread:
            if cr is None:
                problems.append(self.report(self.INJECTED_NO_MIGRATION, cluster.name, params=where,
                                            remediation=self.remediation, evidence=evidence, **subject))
            else:
                is_set, option = advanced_option(cr)
                options = ((cr.get("spec") or {}).get("advancedOptions")) or {}
                evidence.update({"advanced_option": option, "advancedOptions": options})
                if not is_set:
                    problems.append(self.report(
                        self.INJECTED_OPTION_NOT_SET, cluster.name,
                        params={**where, "options": json.dumps(options, sort_keys=True) if options else "absent"},
                        remediation=option_patch(cr), evidence=evidence, **subject))
        selection: Finding | None = None
        if label is not None and label != INJECTION_ON:
            problems.append(self.report(
                self.INJECTED_DISABLED, cluster.name, params={**where, "label": label}, evidence=evidence,
                remediation=f"{mesh.kubectl(cluster.name)} label ns {ISTIO_SYSTEM} istio-injection-", **subject))
        else:
            selection = self._selection(cluster, injected_gateways(cluster, ctx.inv.rules, ctx.config.gateways),
                                        evidence, subject)
            if selection is not None and selection.status == Status.FAIL:
                problems.append(selection)
        if problems:
            yield from problems
        elif selection is not None:
            yield selection
        elif unread:
            yield self.report(ENGINE_UNREADABLE, cluster.name, params={"reason": unread}, evidence=evidence)
        else:
            yield self.report(self.INJECTED_SET, cluster.name, params={**where, "option": option},
                              evidence=evidence, **subject)


    def _selection(self, cluster: ClusterInventory, gateways: list[GatewayWorkload], evidence: dict[str, Any],
                   subject: dict[str, str]) -> Finding | None:
        """FAIL NOT_SELECTED when no Istio injector webhook selects the pods of some of `gateways` (those left to the
        webhook, in istio-system) with istio-system labelled as it is; UNKNOWN SELECTION_UNREAD when that cannot be
        told; None when one selects each."""
        if not gateways:
            return None
        names = ", ".join(_named(gateways))
        try:
            found = {g: istio_injectors_selecting(cluster, ISTIO_SYSTEM, g.pod_labels) for g in gateways}
        except EvidenceUnavailable as exc:
            return self.report(self.SELECTION_UNREAD, cluster.name,
                               params={"gateways": names, "reason": f"{K.MUTATING_WEBHOOK.key} ({exc.reason})"},
                               evidence=evidence, remediation=SCAN_UNREAD_FIX, **subject)
        evidence["istio_injectors_selecting"] = {f"{g.namespace}/{g.name}": istio for g, (istio, _) in found.items()}
        none = [g for g, (istio, unproven) in found.items() if not istio and not unproven]
        if none:
            ns_labels = {k: v for k, v in idle.namespace_labels(cluster, ISTIO_SYSTEM).items()
                         if k in (idle.INJECTION_LABEL, idle.REV_LABEL)}
            pod_labels = "; ".join(
                f"{g.name}: " + (", ".join(f"{k}={g.pod_labels[k]}" for k in (INJECT_LABEL, idle.REV_LABEL)
                                           if k in g.pod_labels) or "-") for g in none)
            return self.report(self.NOT_SELECTED, cluster.name,
                               params={"gateways": ", ".join(_named(none)), "pod_labels": pod_labels,
                                       "namespace_labels": ", ".join(f"{k}={v}" for k, v in sorted(ns_labels.items()))
                                       or "with neither istio-injection nor istio.io/rev"},
                               evidence=evidence,
                               # The label's removal where it is there to remove (review20); else the fix's choices.
                               remediation=(f"{mesh.kubectl(cluster.name)} label ns {ISTIO_SYSTEM} istio-injection-"
                                            if idle.INJECTION_LABEL in ns_labels else self.NOT_SELECTED.fix),
                               **subject)
        maybe = {f"{g.namespace}/{g.name}": unproven for g, (istio, unproven) in found.items() if not istio}
        if maybe:
            return self.report(self.SELECTION_UNREAD, cluster.name,
                               params={"gateways": names, "reason": "only injectors whose owner or selector cannot be "
                                                                    "told select them: " + "; ".join(
                                           f"{g}: {', '.join(h)}" for g, h in maybe.items())},
                               evidence=evidence, remediation=SCAN_UNREAD_FIX, **subject)
        return None

# ================================================================ egress-routes-to-asm
@dataclass
class RouteSplit:
    section: str          # http | tcp | tls
    index: int
    istio: int = 0
    asm: int = 0
    other: int = 0
    mirror_to_istio: bool = False
    destinations: list[dict[str, Any]] = field(default_factory=list)
    # Gateway API: JSON-patch paths of the RequestMirror filters that mirror to Istio's egress gateway
    mirror_paths: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        split = f"{self.istio}:{self.asm}" + (f":{self.other}" if self.other else "")
        legend = "Istio:ASM" + (":other" if self.other else "")
        return f"{self.section}[{self.index}] {split} ({legend})" + (
            " + mirror to Istio egress" if self.mirror_to_istio else "")

    @property
    def uses_istio(self) -> bool:
        return self.istio > 0 or self.mirror_to_istio


# What a destination host is: "istio" | "asm" (an egress gateway's Service) or None, given its VirtualService.
Classifier = Callable[[str, dict[str, Any]], str | None]


@dataclass
class EgressHosts:
    """Services that are Istio's egress gateway and ASM's, as (namespace, name)."""

    istio: set[tuple[str, str]] = field(default_factory=set)
    asm: set[tuple[str, str]] = field(default_factory=set)
    asm_seen: set[tuple[str, str]] = field(default_factory=set)  # ASM egress Services found in a cluster
    # (name, namespace) in lower case of ASM egress Services whose gateway is being deleted on the ASM control plane
    # (going_workloads) -> that IstioGateway: egress sent there is dropped once the deletion completes.
    going: dict[tuple[str, str], AsmGateway] = field(default_factory=dict)
    # (istio, asm) as last indexed, the index: (name, namespace) in lower case -> "istio" | "asm", and its names.
    _indexed: tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]], dict[tuple[str, str], str],
                    frozenset[str]] | None = field(default=None, init=False, repr=False, compare=False)

    def kind_of(self, host: str, virtualservice: dict[str, Any]) -> str | None:
        """"istio" | "asm" when `host`, a destination of `virtualservice`, names an egress gateway's Service."""
        return self.classifier()(host, virtualservice)

    def classifier(self) -> Classifier:
        """kind_of for the sets as they are now: a walk asking per route destination (tens of thousands at scale)
        changes no set, so it takes this once and the index is checked against the sets once, not per destination."""
        _, _, by_service, names = self._index()

        def kind_of(host: str, virtualservice: dict[str, Any]) -> str | None:
            # A host names a Service by its first label (host_fqdn keeps it): one that is no egress Service's name
            # answers None without resolving the host, nor reading the VirtualService's namespace (most route
            # destinations, and their metadata read cold).
            if host.strip().lower().partition(".")[0] not in names:
                return None
            # Once per host, not once per host and egress Service; a short host is in the VirtualService's namespace.
            service = service_of(host, (virtualservice.get("metadata") or {}).get("namespace") or "default")
            if service is None:
                return None
            return by_service.get(service)

        return kind_of

    def _index(self) -> tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]], dict[tuple[str, str], str],
                              frozenset[str]]:
        """Asked once per walk of the VirtualServices (classifier) or per question (kind_of): indexed once, again only
        when the sets changed since. Istio's entries are written last: a Service in both sets is Istio's."""
        indexed = self._indexed
        if indexed is None or indexed[0] != self.istio or indexed[1] != self.asm:
            index = {(n.lower(), ns.lower()): "asm" for ns, n in self.asm}
            index.update({(n.lower(), ns.lower()): "istio" for ns, n in self.istio})
            indexed = self._indexed = (frozenset(self.istio), frozenset(self.asm), index,
                                       frozenset(name for name, _ in index))
        return indexed

    def asm_service(self) -> tuple[str, str]:
        """(namespace, name) of the ASM egress gateway Service to send to: one found in a cluster first (the
        configured name is in `asm` whether it exists or not), one whose gateway stays before one being deleted."""
        staying = {(ns, n) for ns, n in self.asm if (n.lower(), ns.lower()) not in self.going}
        return sorted(self.asm_seen & staying or self.asm_seen & self.asm or staying or self.asm)[0]

    def going_of(self, host: str, rule_namespace: str) -> AsmGateway | None:
        """The IstioGateway being deleted whose egress Service `host` names, None when it names none."""
        if not self.going:
            return None
        service = service_of(host, rule_namespace)
        return self.going.get(service) if service is not None else None

    def asm_host(self) -> str:
        ns, name = self.asm_service()
        return f"{name}.{ns}.svc.cluster.local"


def egress_hosts(cluster: ClusterInventory | None, ctx: Context, asm: list[AsmGateway]) -> EgressHosts:
    names = ctx.config.gateways
    hosts = EgressHosts(istio={(names.namespace, names.istio_egress)}, asm={(names.namespace, names.asm_egress)})
    going = going_workloads(asm)
    for gw in asm:
        if gw.type == EGRESS:
            hosts.asm.add((gw.namespace or names.namespace, gw.workload_name))
            if (gw.namespace, gw.workload_name) in going:
                hosts.going[(gw.workload_name.lower(), (gw.namespace or names.namespace).lower())] = gw
    clusters = [cluster] if cluster is not None else ctx.inv.data_planes
    for c in clusters:
        if not (c.available(K.DEPLOYMENT) and c.available(K.SERVICE)):
            continue
        for svc in gateway_services(c, ctx.inv.rules, names):
            if svc.gateway.type == EGRESS:
                (hosts.asm if svc.gateway.asm else hosts.istio).add((svc.namespace, svc.name))
                if svc.gateway.asm:
                    hosts.asm_seen.add((svc.namespace, svc.name))
                    # A Service in front of a going gateway's pods (the seed's asm-egressgateway alias) goes dead
                    # with them.
                    gw = going.get((svc.gateway.namespace, svc.gateway.name))
                    if gw is not None:
                        hosts.going[(svc.name.lower(), svc.namespace.lower())] = gw
    return hosts


class WeightError(ValueError):
    """A route destination's weight that is not a number (where it is and what it says)."""

    def __init__(self, route: str, host: str, weight: Any) -> None:
        super().__init__(f"{route} destination {host}: weight {weight!r} is not a number")
        self.route, self.host, self.weight = route, host, weight


def _weight(raw: Any) -> int:
    """A destination's weight as written: a whole number >= 0 (Istio's RouteDestination.weight and Gateway API's
    BackendRef.weight are int32, both refused below 0: istio/istio@1.30.3:pkg/config/validation/validation.go
    validateWeight "weight %d < 0"; the Gateway API CRDs' backendRefs weight `format: int32, minimum: 0`, as
    istio/istio@1.30.3:tests/integration/pilot/testdata/gateway-api-crd.yaml holds them), or ASCII digits. Raises
    ValueError for anything else: int() read 0.5 and true as 0 and 1, and two Istio destinations at 5 and -5 as a
    route giving Istio's gateway nothing."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return int(raw)
    raise ValueError(f"not a whole number >= 0: {raw!r}")


_ROUTE_SECTIONS = ("http", "tcp", "tls")


def route_splits(vs: dict[str, Any], hosts: EgressHosts, kind_of: Classifier | None = None) -> list[RouteSplit]:
    """Routes of a VirtualService that reach an egress gateway (Istio's or ASM's), with their weights.

    A destination without weight gets 100 when it is the rule's only one, else 0 (Istio's rule). `kind_of`:
    hosts.classifier(), taken once by a walk over many VirtualServices (asked per destination, ~10,000 at scale).
    """
    spec = vs.get("spec") or {}
    if kind_of is None:
        kind_of = hosts.classifier()
    out = []
    for section in _ROUTE_SECTIONS:
        rules = spec.get(section)
        if not rules:
            continue
        for index, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            route = rule.get("route") or ()
            # A rule of one destination (most): the list as it is; else its destinations that are objects.
            if type(route) is not list or len(route) != 1 or type(route[0]) is not dict:
                route = [d for d in route if isinstance(d, dict)]
            only = len(route) == 1
            resolved = []
            ports: list[Any] = []
            touched = False
            for dest in route:
                destination = dest.get("destination") or {}
                host = str(destination.get("host") or "")
                raw = dest.get("weight")
                if raw is None:
                    weight = 100 if only else 0
                elif type(raw) is int and raw >= 0:  # _weight's first case, without the call (most weights)
                    weight = raw
                else:
                    try:
                        weight = _weight(raw)
                    except ValueError as exc:
                        raise WeightError(f"{section}[{index}]", host, raw) from exc
                which = kind_of(host, vs)
                if which is not None:
                    touched = True
                    port = destination.get("port")
                    ports.append(port.get("number") if isinstance(port, dict) else None)
                else:
                    ports.append(None)
                resolved.append((host, raw, weight, which))
            mirror = rule.get("mirror")
            mirror_to_istio = False
            if mirror:  # most rules mirror nothing: no host read
                mirrored = str(mirror.get("host") or "")
                mirror_to_istio = bool(mirrored) and kind_of(mirrored, vs) == "istio"
            if touched or mirror_to_istio:  # most routes reach no egress gateway: no split built for them
                split = _split(section, index, resolved, mirror_to_istio)
                for dest, port in zip(split.destinations, ports, strict=True):
                    if dest["gateway"] != "other" and port is not None:
                        dest["port"] = port  # the egress gateway Service's port it is sent to (the second hop's)
                out.append(split)
    return out


def _split(section: str, index: int, resolved: list[tuple[str, Any, int, str | None]],
           mirror_to_istio: bool) -> RouteSplit:
    """A route's split from its destinations as (host, weight as written, effective weight, gateway or None)."""
    split = RouteSplit(section, index, mirror_to_istio=mirror_to_istio)
    for host, raw, weight, which in resolved:
        split.destinations.append({"host": host, "weight": raw, "effective_weight": weight,
                                   "gateway": which or "other"})
        if which == "istio":
            split.istio += weight
        elif which == "asm":
            split.asm += weight
        else:
            split.other += weight
    return split


def egress_patch(splits: list[RouteSplit], hosts: EgressHosts) -> list[dict[str, Any]]:
    """A JSON patch that sends every route to the ASM egress gateway (weight 0 to Istio's, or host swapped)."""
    ops: list[dict[str, Any]] = []
    for s in splits:
        base = f"/spec/{s.section}/{s.index}/route"
        has_asm = any(d["gateway"] == "asm" for d in s.destinations)
        for i, d in enumerate(s.destinations):
            if d["gateway"] == "istio":
                if has_asm:
                    ops.append({"op": "add", "path": f"{base}/{i}/weight", "value": 0})
                else:
                    ops.append({"op": "replace", "path": f"{base}/{i}/destination/host", "value": hosts.asm_host()})
            elif d["gateway"] == "asm" and s.istio:
                ops.append({"op": "add", "path": f"{base}/{i}/weight", "value": d["effective_weight"] + s.istio})
        if s.mirror_to_istio:
            ops.append({"op": "remove", "path": f"/spec/{s.section}/{s.index}/mirror"})
    return ops


# Gateway API mesh routes (GAMMA): an HTTPRoute/GRPCRoute/TCPRoute/TLSRoute whose parentRef is a Service or an Istio
# ServiceEntry applies to the mesh's sidecars; Istio's egress-gateway task with the Gateway API sends edition.cnn.com
# to the egress gateway so (istio/istio.io content/en/docs/tasks/traffic-management/egress/egress-gateway snips.sh:
# HTTPRoute/TLSRoute direct-cnn-to-egress-gateway, parentRef ServiceEntry cnn, backendRef cnn-egress-gateway-istio).
# A backendRef is a Service (group "", kind Service: the defaults) in the route's namespace unless it names another,
# or an Istio Hostname (group networking.istio.io); its weight defaults to 1 (gateway.networking.k8s.io BackendRef).
GWAPI_DEFAULT_WEIGHT = 1


def _backend_host(ref: dict[str, Any], route_namespace: str) -> str:
    """The host a backendRef (or a RequestMirror's) names as a VirtualService destination would ("" when it names
    neither a Service nor an Istio Hostname): name.namespace for a Service, the name for a Hostname."""
    group, kind, name = str(ref.get("group") or ""), str(ref.get("kind") or "Service"), str(ref.get("name") or "")
    if not name:
        return ""
    if group == "" and kind == "Service":
        return f"{name}.{ref.get('namespace') or route_namespace}"
    if group == ISTIO_NETWORKING_GROUP and kind == "Hostname":
        return name
    return ""


def _mirrors(filters: Any, base: str) -> list[tuple[str, dict[str, Any]]]:
    """(JSON-patch path, backendRef) of the RequestMirror filters in `filters`."""
    out = []
    for k, flt in enumerate(filters if isinstance(filters, list) else ()):
        if isinstance(flt, dict) and flt.get("type") == "RequestMirror":
            ref = (flt.get("requestMirror") or {}).get("backendRef")
            if isinstance(ref, dict):
                out.append((f"{base}/filters/{k}", ref))
    return out


def gateway_api_splits(route: dict[str, Any], kind_of: Classifier) -> list[RouteSplit]:
    """Rules of a Gateway API route that reach an egress gateway (Istio's or ASM's), with their weights (a backendRef
    without weight has 1). Raises WeightError for a weight that is not a number."""
    spec = route.get("spec") or {}
    namespace = str((route.get("metadata") or {}).get("namespace") or "default")
    out = []
    for index, rule in enumerate(spec.get("rules") or ()):
        if not isinstance(rule, dict):
            continue
        base = f"/spec/rules/{index}"
        resolved, touched, mirrors, ref_kinds = [], False, _mirrors(rule.get("filters"), base), []
        for j, ref in enumerate(rule.get("backendRefs") or ()):
            if not isinstance(ref, dict):
                continue
            host = _backend_host(ref, namespace)
            shown = host or f"{ref.get('kind') or 'Service'} {ref.get('name')}"
            raw = ref.get("weight")
            try:
                weight = GWAPI_DEFAULT_WEIGHT if raw is None else _weight(raw)
            except ValueError as exc:
                raise WeightError(f"rules[{index}]", shown, raw) from exc
            which = kind_of(host, route) if host else None
            touched = touched or which is not None
            resolved.append((shown, raw, weight, which))
            ref_kinds.append((str(ref.get("kind") or "Service"), j))
            mirrors += _mirrors(ref.get("filters"), f"{base}/backendRefs/{j}")
        to_istio = [path for path, ref in mirrors
                    if (mirrored := _backend_host(ref, namespace)) and kind_of(mirrored, route) == "istio"]
        if touched or to_istio:
            split = _split("rules", index, resolved, bool(to_istio))
            split.mirror_paths = to_istio
            for dest, (ref_kind, j) in zip(split.destinations, ref_kinds, strict=True):
                dest["kind"], dest["index"] = ref_kind, j
                port = rule["backendRefs"][j].get("port")
                if dest["gateway"] != "other" and port is not None:
                    dest["port"] = port
            out.append(split)
    return out


def gateway_api_patch(splits: list[RouteSplit], hosts: EgressHosts) -> list[dict[str, Any]]:
    """A JSON patch that sends every rule to the ASM egress gateway: weight 0 to Istio's backendRefs beside ASM's,
    else Istio's backendRef renamed to ASM's Service; RequestMirror filters to Istio's removed (last first)."""
    ops: list[dict[str, Any]] = []
    asm_ns, asm_name = hosts.asm_service()
    removals: list[str] = []
    for s in splits:
        base = f"/spec/rules/{s.index}/backendRefs"
        has_asm = any(d["gateway"] == "asm" for d in s.destinations)
        for d in s.destinations:
            i = d["index"]
            if d["gateway"] == "istio":
                if has_asm:
                    ops.append({"op": "add", "path": f"{base}/{i}/weight", "value": 0})
                elif d.get("kind") == "Hostname":
                    ops.append({"op": "replace", "path": f"{base}/{i}/name", "value": hosts.asm_host()})
                else:
                    ops += [{"op": "replace", "path": f"{base}/{i}/name", "value": asm_name},
                            {"op": "add", "path": f"{base}/{i}/namespace", "value": asm_ns}]
            elif d["gateway"] == "asm" and s.istio:
                ops.append({"op": "add", "path": f"{base}/{i}/weight", "value": d["effective_weight"] + s.istio})
        removals += s.mirror_paths
    ops += [{"op": "remove", "path": p} for p in sorted(removals, reverse=True)]
    return ops


class EgressRoutesToAsm(ClusterCheck):
    id = "egress-routes-to-asm"
    title = "VirtualServices send all egress to the ASM egress gateway"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("The migration procedure moves egress by weights between istio-egressgateway and the ASM egress "
                 "gateway (e.g. 99:1). Uninstalling Istio removes its egress gateway: any route still giving it "
                 "weight (or mirroring to it) loses that share of egress traffic.")
    remediation = "Set the Istio egress gateway destination's weight to 0 and the ASM egress gateway's to 100."
    ALL_TO_ASM = Outcome("AA1601", Status.PASS, "egress VirtualServices send 100% to the ASM egress gateway",
                         message="{hosts}: all egress to the ASM egress gateway: {routes}")
    TO_ISTIO = Outcome("AA1610", Status.FAIL, "a VirtualService still sends egress traffic to Istio's egress gateway",
                       message="{hosts}: the Istio egress gateway still gets traffic: {routes}")
    ASM_UNREADABLE = Outcome("AA1630", Status.UNKNOWN, "the VirtualServices (data plane or ASM) cannot be read",
                             message="the ASM control plane's VirtualServices (which ASM proxies follow) could not be "
                                     "read: {reason}")
    BAD_WEIGHT = Outcome("AA1631", Status.UNKNOWN, "a route's weight is not a number: the split cannot be read",
                         fix="Correct the weight in the VirtualService (an integer 0-100), then audit again.",
                         message="cannot read the split: {route} destination {host}: weight {weight} is not a number")
    NONE_HERE = Outcome("AA1640", Status.NOT_APPLICABLE, "no VirtualService or Gateway API route references an "
                        "egress gateway",
                        message="no VirtualService, HTTPRoute, GRPCRoute, TCPRoute or TLSRoute references an egress "
                                "gateway (Istio: {istio_hosts}, ASM: {asm_hosts})")
    # Gateway API routes (GAMMA mesh routes, Istio's egress-gateway task with the Gateway API)
    ROUTE_ALL_TO_ASM = Outcome("AA1602", Status.PASS, "a Gateway API route sends 100% of its egress to the ASM egress "
                               "gateway",
                               message="{kind} {hosts}: all egress to the ASM egress gateway: {routes}")
    ROUTE_TO_ISTIO = Outcome("AA1611", Status.FAIL, "a Gateway API route (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute) "
                             "still sends egress traffic to Istio's egress gateway",
                             message="{kind} {hosts}: the Istio egress gateway still gets traffic: {routes}")
    ROUTES_UNREAD = Outcome("AA1633", Status.UNKNOWN, "the Gateway API routes could not be read while an Istio egress "
                            "gateway runs: a mesh route to it may have been missed", fix=SCAN_UNREAD_FIX,
                            message="the Gateway API routes could not be read ({unread}) and Istio egress gateway(s) "
                                    "{gateways} run in the cluster: a route sending egress to one of them may have "
                                    "been missed")
    NONE_ON_ASM = Outcome("AA1641", Status.NOT_APPLICABLE,
                          "no VirtualService on the ASM control plane references an egress gateway",
                          message="no VirtualService on the ASM control plane references an egress gateway")
    GATEWAYS_UNSEEN = Outcome("AA1632", Status.UNKNOWN, "the gateway scan could not read every kind it reads: an "
                              "Istio egress gateway may have been missed, and routes to it with it",
                              fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "an Istio egress gateway (or its role) may have been missed, so "
                                                    "it cannot tell that no route still sends egress to Istio's")
    # The seed's example routes to asm-egressgateway.istio-system.svc.cluster.local ("Assume your ASM egress gateway is
    # called asm-egressgateway"), while ASM's controller names the gateway's Service istio-<name>: a route moved to a
    # host no Service (nor ServiceEntry) answers to drops that egress (Istio: Destination.host not in the registry).
    TO_NOWHERE = Outcome("AA1612", Status.FAIL, "a route sends egress to an ASM egress gateway host that no Service "
                         "answers to: that traffic is dropped, not carried by ASM's gateway",
                         fix="Point the destination at the ASM egress gateway's Service (istio-<IstioGateway name> in "
                             "istio-system, as ASM creates it), or create the Service the host names; then re-run.",
                         message="{kind} {hosts}: egress routed to {missing}, which no Service or ServiceEntry of "
                                 "{clusters} answers to: {routes}")
    # Sent to an ASM egress gateway being deleted on the ASM control plane (auditor.gateways.going_workloads, as
    # asm-gateways-present's AA1718): its Service answers now, but ASM's controller removes it and its Deployment from
    # the clusters, so the egress routed there is dropped once the deletion completes.
    TO_DELETED = Outcome("AA1613", Status.FAIL, "a route sends egress to an ASM egress gateway that is being deleted "
                         "on the ASM control plane: its Deployment and Service go with it",
                         fix="Point the destination at an ASM egress gateway that stays (or stop the IstioGateway's "
                             "deletion), then re-run.",
                         message="{kind} {hosts}: egress routed to {going}, of ASM egress gateway {asm_gateways} being "
                                 "deleted on the ASM control plane (since {since}): that egress is dropped once the "
                                 "deletion completes: {routes}")
    TO_UNREAD = Outcome("AA1634", Status.UNKNOWN, "a route sends egress to an ASM egress gateway host whose Service "
                        "could not be looked up: whether ASM's gateway gets that traffic cannot be told",
                        fix=SCAN_UNREAD_FIX,
                        message="{kind} {hosts}: egress routed to {missing}; no Service of that name, and the "
                                "Services or ServiceEntries of {clusters} could not be read: {routes}")
    # The second hop of Istio's egress pattern (red20z): the mesh sends the host to the egress gateway's Service, and
    # only a Gateway selecting the egress gateway's pods with a server for the host, and a VirtualService bound to that
    # Gateway routing it, give the gateway a route for it (auditor.gateways gateway_listeners). A mesh route repointed
    # at ASM's egress Service while the Gateway still selects Istio's pods (`istio: egressgateway`) sends the egress to
    # a gateway that answers 404 (HTTP) or closes the connection (TLS passthrough, TCP).
    NOT_FORWARDED = Outcome(
        "AA1614", Status.FAIL, "a route sends egress to an ASM egress gateway that has no route for its hosts: no "
        "Gateway selecting ASM's egress gateway pods serves them with a VirtualService bound to it routing them on",
        fix="On the ASM control plane, point the egress Gateway's spec.selector at the ASM egress gateway's pod labels "
            "(or add a Gateway selecting them with a server for the hosts), and bind the VirtualService that routes "
            "the hosts to the external service to that Gateway (spec.gateways and its match gateways); then re-run.",
        message="{kind} {hosts}: egress routed to ASM egress gateway(s) {asm_gateways}, which route none of "
                "{unrouted}: no Gateway selecting their pods serves these hosts with a VirtualService bound to it "
                "routing them, so that egress gets a 404 or a closed connection: {routes}")
    FORWARD_UNREAD = Outcome(
        "AA1635", Status.UNKNOWN, "a route sends egress to an ASM egress gateway, and the ASM control plane's Gateways "
        "or VirtualServices could not be read: whether ASM's gateway routes those hosts on cannot be told",
        fix=SCAN_UNREAD_FIX,
        message="{kind} {hosts}: egress routed to ASM egress gateway(s) {asm_gateways}; whether they route it on "
                "cannot be told: {unread} not read: {routes}")
    # The port of the second hop (red21e): the mesh hop reaches ASM's egress gateway at the Service port its destination
    # (backendRef) names, so that Service must expose it, and a listener the host is routed on must sit on the pod port
    # it sends to (a Gateway server's port is put on the targetPort of the Service port of that number: resolvePorts,
    # pilot/pkg/model/gateway.go @1.24.6). Else the sidecar has no such port to send to, or the gateway has no listener
    # for the host there.
    PORT_UNEXPOSED = Outcome(
        "AA1615", Status.FAIL, "a route sends egress to a port that the ASM egress gateway's Service does not expose",
        fix="Send the route to a port of the ASM egress gateway's Service (or add the port to its IstioGateway's "
            "spec.ports on the ASM control plane), with a Gateway server on that port; then re-run.",
        message="{kind} {hosts}: egress routed to {ports}, which the ASM egress gateway's Service does not expose, so "
                "that egress is dropped: {routes}")
    PORT_UNROUTED = Outcome(
        "AA1616", Status.FAIL, "a route sends egress to an ASM egress gateway port on which that gateway does not "
                               "route its hosts (its Gateway serves them on other ports only)",
        fix="Give the egress Gateway on the ASM control plane a server (listener) on the port the route sends to, with "
            "the route bound to it matching that port, or send the route to the port the Gateway serves; then re-run.",
        message="{kind} {hosts}: egress routed to ASM egress gateway(s) {asm_gateways} at {ports}, where no listener "
                "routes it (they route it on other ports only), so that egress gets a closed connection: {routes}")
    outcomes = (ALL_TO_ASM, ROUTE_ALL_TO_ASM, TO_ISTIO, ROUTE_TO_ISTIO, TO_NOWHERE, TO_DELETED, NOT_FORWARDED,
                PORT_UNEXPOSED, PORT_UNROUTED, ASM_UNREADABLE, BAD_WEIGHT,
                GATEWAYS_UNSEEN, ROUTES_UNREAD, TO_UNREAD, FORWARD_UNREAD, NONE_HERE, NONE_ON_ASM)
    needs = (K.VIRTUALSERVICE, K.DEPLOYMENT, K.SERVICE)
    # ServiceEntries: a custom gateway's role (where the routes bound to its Gateway send). Gateway API routes: mesh
    # routes that send to an egress gateway, and a Gateway API gateway's role. Gateways (Istio's and the Gateway API's,
    # with the routes attached to them): the egress second hop.
    uses = (*SCAN_KINDS, K.SERVICEENTRY, *K.K8S_ROUTE_KINDS, K.GATEWAY, K.K8S_GATEWAYCLASS)
    asm_needs = (K.VIRTUALSERVICE, K.ISTIO_GATEWAY_ASM, K.GATEWAY, K.K8S_GATEWAY, *K.K8S_ROUTE_KINDS, K.SERVICEENTRY)

    def prepare(self, ctx: Context) -> None:
        self.asm_gws: list[AsmGateway] = []
        self.asm_error: str | None = None
        try:
            self.asm_gws = asm_gateways(ctx.inv.require_asm())
        except EvidenceUnavailable as exc:
            self.asm_error = exc.reason
        # (ns, name) -> (verdict, spec) of a data-plane copy
        self.reported: dict[tuple[str, str], tuple[str, Any]] = {}
        self.ctx = ctx
        self._asm_bound: Any = None  # ASM's VirtualServices by the Gateway they bind (the second hop), built once

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterator[Finding]:
        return self._cluster(cluster, ctx, self.asm_gws, self.reported)

    def conclude(self, ctx: Context) -> Iterator[Finding]:
        """ASM proxies follow the control plane's copies: judge those that no data-plane finding already covers."""
        asm, asm_error, asm_gws, reported = ctx.inv.asm, self.asm_error, self.asm_gws, self.reported
        if asm is None or asm_error or not asm.available(K.VIRTUALSERVICE):
            if self._no_istio_egress_anywhere(ctx, reported):
                return  # nothing can route to an Istio egress gateway that no cluster has
            reason = asm_error or (asm.errors.get(K.VIRTUALSERVICE.key) if asm else None) or "not collected"
            yield self.report(self.ASM_UNREADABLE, asm.name if asm else "asm", params={"reason": reason},
                              kind="VirtualService")
            return
        hosts = egress_hosts(None, ctx, asm_gws)
        kind_of = hosts.classifier()
        referenced = 0
        for vs in asm.objects(K.VIRTUALSERVICE):
            finding = self._judge(asm.name, vs, hosts, kind_of, mesh.ASM_KUBECTL, ctx.inv.data_planes)
            if finding is None:
                continue  # most: no egress route, and their metadata is not read (metadata is shape-checked)
            referenced += 1
            meta = vs.get("metadata") or {}
            seen = reported.get((meta.get("namespace", ""), meta.get("name", "")))
            if seen and seen[0] == finding.status and seen[1] == (vs.get("spec") or {}):
                continue  # same spec and verdict as the data-plane copy already reported
            yield finding
        if not referenced:
            yield self.report(self.NONE_ON_ASM, asm.name, params={})

    @staticmethod
    def _no_istio_egress_anywhere(ctx: Context, reported: dict[tuple[str, str], tuple[str, Any]]) -> bool:
        """Every cluster readable, none runs an Istio egress gateway, no VirtualService routes to one."""
        for c in ctx.inv.data_planes:
            if not (c.available(K.DEPLOYMENT) and c.available(K.SERVICE) and c.available(K.VIRTUALSERVICE)) or (
                    scan_unread(c)):
                return False
            # A gateway whose role nothing tells may be an egress gateway that ASM's VirtualServices route to.
            if any(g.type in (EGRESS, ROLE_UNKNOWN) for g in istio_gateways(c, ctx.inv.rules, ctx.config.gateways)):
                return False
        return not reported

    def _cluster(self, cluster: ClusterInventory, ctx: Context, asm_gws: list[AsmGateway],
                 reported: dict[tuple[str, str], tuple[str, Any]]) -> Iterator[Finding]:
        hosts = egress_hosts(cluster, ctx, asm_gws)
        # A route to an egress gateway the scan missed is not seen as one: the PASS and the N/A need them all seen.
        unseen = scan_unread_findings(self, cluster, self.GATEWAYS_UNSEEN)
        yield from unseen
        found = 0
        kubectl = mesh.kubectl(cluster.name)  # the same for every VirtualService (~10,000 at 50k pods)
        kind_of = hosts.classifier()
        for vs in cluster.objects(K.VIRTUALSERVICE):
            finding = self._judge(cluster.name, vs, hosts, kind_of, kubectl, [cluster])
            if finding is None:
                continue
            found += 1
            reported[(finding.namespace, finding.name)] = (finding.status, vs.get("spec") or {})
            yield finding
        routes_unread: dict[str, str] = {}
        for kind in K.K8S_ROUTE_KINDS:
            if not cluster.available(kind):
                routes_unread[kind.key] = cluster.unread_reason(kind)
                continue
            for route in cluster.objects(kind):
                finding = self._judge_route(cluster.name, kind, route, hosts, kind_of, kubectl, [cluster])
                if finding is not None:
                    found += 1
                    yield finding
        if routes_unread:
            # Nothing can route to an Istio egress gateway the cluster does not run (one whose role is unknown may be).
            egress = sorted(f"{g.namespace}/{g.name}" for g in istio_gateways(cluster, ctx.inv.rules,
                                                                              ctx.config.gateways)
                            if g.type in (EGRESS, ROLE_UNKNOWN))
            if egress:
                unseen = [*unseen, self.report(
                    self.ROUTES_UNREAD, cluster.name, remediation=SCAN_UNREAD_FIX,
                    params={"unread": "; ".join(f"{k} ({why})" for k, why in routes_unread.items()),
                            "gateways": ", ".join(egress)},
                    evidence={"not_read": routes_unread, "istio_egress_gateways": egress})]
                yield unseen[-1]
        if not found and not unseen:
            yield self.report(self.NONE_HERE, cluster.name,
                              params={"istio_hosts": sorted(f"{n}.{ns}" for ns, n in hosts.istio),
                                      "asm_hosts": sorted(f"{n}.{ns}" for ns, n in hosts.asm)})

    def _nowhere(self, where: str, splits: list[RouteSplit], namespace: str, clusters: list[ClusterInventory],
                 kind: str, params: dict[str, Any], evidence: dict[str, Any],
                 subject: dict[str, str], hosts: EgressHosts) -> Finding | None:
        """FAIL TO_NOWHERE when a destination classed as ASM's egress gateway, with weight, names a host that no
        Service or ServiceEntry of a cluster answers to (UNKNOWN TO_UNREAD when that could not be looked up); FAIL
        TO_DELETED when it names the Service of an ASM egress gateway being deleted; None when every one answers and
        stays."""
        missing: dict[str, list[str]] = {}
        unread: dict[str, list[str]] = {}
        going: dict[str, AsmGateway] = {}
        for split in splits:
            for dest in split.destinations:
                if dest.get("gateway") != "asm" or not dest.get("effective_weight"):
                    continue
                host = str(dest.get("host") or "")
                gw = hosts.going_of(host, namespace)
                if gw is not None:
                    going[host] = gw
                for c in clusters:
                    answered = destination_answered(c, host, namespace)
                    if answered is False:
                        missing.setdefault(host, []).append(c.name)
                    elif answered is None:
                        unread.setdefault(host, []).append(c.name)
        if going and not missing:
            gws = sorted({f"{g.namespace}/{g.name}": g for g in going.values()}.items())
            return self.report(self.TO_DELETED, where, remediation=self.TO_DELETED.fix,
                               params={**params, "kind": kind, "going": ", ".join(sorted(going)),
                                       "asm_gateways": ", ".join(n for n, _ in gws),
                                       "since": min(g.deleting for _, g in gws)},
                               evidence={**evidence, "asm_gateways_being_deleted": {n: g.deleting for n, g in gws}},
                               **subject)
        if not missing and not unread:
            return None
        outcome, found = (self.TO_NOWHERE, missing) if missing else (self.TO_UNREAD, unread)
        names = sorted({n for where in found.values() for n in where})
        return self.report(outcome, where, remediation=outcome.fix,
                           params={**params, "kind": kind, "missing": ", ".join(sorted(found)),
                                   "clusters": ", ".join(names)},
                           evidence={**evidence, "asm_hosts_unanswered": {h: sorted(set(w)) for h, w in found.items()},
                                     **({"not_looked_up": {h: sorted(set(w)) for h, w in unread.items()}}
                                        if missing and unread else {})},
                           **subject)

    def _judge_route(self, where: str, kind: Any, route: dict[str, Any], hosts: EgressHosts, kind_of: Classifier,
                     kubectl: str, clusters: list[ClusterInventory]) -> Finding | None:
        """A Gateway API route's finding, None when no rule of it reaches an egress gateway (most)."""
        bad_weight: WeightError | None = None
        try:
            splits = gateway_api_splits(route, kind_of)
        except WeightError as exc:
            splits, bad_weight = [], exc
        if not splits and bad_weight is None:
            return None
        meta = route.get("metadata") or {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        spec = route.get("spec") or {}
        subject = {"kind": kind.kind, "namespace": ns, "name": name}
        shown = [str(h) for h in spec.get("hostnames") or ()] or [
            f"{p.get('kind') or 'Gateway'} {p.get('name')}" for p in spec.get("parentRefs") or ()
            if isinstance(p, dict)]
        if bad_weight is not None:
            return self.report(self.BAD_WEIGHT, where, params={"route": bad_weight.route, "host": bad_weight.host,
                                                               "weight": repr(bad_weight.weight)},
                               evidence={"hosts": shown}, **subject)
        evidence = {"hosts": shown, "parentRefs": spec.get("parentRefs") or [], "routes": [
            {"route": f"{s.section}[{s.index}]", "istio": s.istio, "asm": s.asm, "other": s.other,
             "mirror_to_istio": s.mirror_to_istio, "destinations": s.destinations} for s in splits],
            "istio_egress_hosts": sorted(f"{n}.{n2}" for n2, n in hosts.istio)}
        params = {"kind": kind.kind, "hosts": ", ".join(shown) or name, "routes": ", ".join(s.text for s in splits)}
        if not any(s.uses_istio for s in splits):
            nowhere = self._nowhere(where, splits, ns, clusters, kind.kind, params, evidence, subject, hosts)
            if nowhere is not None:
                return nowhere
            wanted, wanted_unread = mesh_route_hosts(route, clusters, self.ctx.inv.asm)
            unforwarded = self._second_hop(where, kind.kind, splits, ns, wanted, clusters, params, evidence, subject,
                                           wanted_unread)
            if unforwarded is not None:
                return unforwarded
            return self.report(self.ROUTE_ALL_TO_ASM, where, params=params, evidence=evidence, **subject)
        ops = gateway_api_patch([s for s in splits if s.uses_istio], hosts)
        resource = mesh.object_ref(f"{kind.kind.lower()}.{kind.group}", name)
        remediation = (f"{kubectl} {mesh.ns_flag(ns)} patch {resource} --type=json -p "
                       f"{mesh.sh(json.dumps(ops, separators=(',', ':')))}")
        asm_ns = hosts.asm_service()[0]
        if any(op["path"].endswith("/namespace") for op in ops) and asm_ns != ns:
            remediation += (f"\n# a backendRef to another namespace needs a ReferenceGrant in {mesh.sh(asm_ns)} from "
                            f"{kind.kind} in {mesh.sh(ns)} to Service (gateway.networking.k8s.io)")
        return self.report(self.ROUTE_TO_ISTIO, where, params=params, remediation=remediation, evidence=evidence,
                           **subject)

    def _judge(self, where: str, vs: dict[str, Any], hosts: EgressHosts, kind_of: Classifier,
               kubectl: str, clusters: list[ClusterInventory]) -> Finding | None:
        raw_hosts = (vs.get("spec") or {}).get("hosts") or ()
        iter(raw_hosts)  # hosts that are no list fail here, as listing them did, before the routes are read
        bad_weight: WeightError | None = None
        try:
            splits = route_splits(vs, hosts, kind_of)
        except WeightError as exc:
            splits, bad_weight = [], exc
        if not splits and bad_weight is None:
            return None  # most VirtualServices reach no egress gateway: no subject nor hosts built for them
        meta = vs.get("metadata") or {}
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        subject = {"kind": "VirtualService", "namespace": ns, "name": name}
        vs_hosts = [str(h) for h in raw_hosts]
        if bad_weight is not None:
            return self.report(self.BAD_WEIGHT, where, params={"route": bad_weight.route, "host": bad_weight.host,
                                                               "weight": repr(bad_weight.weight)},
                               evidence={"hosts": vs_hosts}, **subject)
        evidence = {"hosts": vs_hosts, "routes": [
            {"route": f"{s.section}[{s.index}]", "istio": s.istio, "asm": s.asm, "other": s.other,
             "mirror_to_istio": s.mirror_to_istio, "destinations": s.destinations} for s in splits],
            "istio_egress_hosts": sorted(f"{n}.{n2}" for n2, n in hosts.istio)}
        params = {"hosts": ", ".join(vs_hosts) or name, "routes": ", ".join(s.text for s in splits)}
        if any(s.uses_istio for s in splits):
            patch = json.dumps(egress_patch([s for s in splits if s.uses_istio], hosts), separators=(",", ":"))
            return self.report(self.TO_ISTIO, where, params=params,
                               # The patch carries the ASM egress host, built from other objects' names.
                               remediation=f"{kubectl} {mesh.ns_flag(ns)} patch "
                                           f"{mesh.object_ref('virtualservice', name)} --type=json -p {mesh.sh(patch)}",
                               evidence=evidence, **subject)
        nowhere = self._nowhere(where, splits, ns, clusters, "VirtualService", params, evidence, subject, hosts)
        if nowhere is not None:
            return nowhere
        wanted = [host_fqdn(h, ns) for h in vs_hosts if h and h != "*"]
        unforwarded = self._second_hop(where, "VirtualService", splits, ns, wanted, clusters, params, evidence, subject)
        if unforwarded is not None:
            return unforwarded
        return self.report(self.ALL_TO_ASM, where, params=params, evidence=evidence, **subject)

    def _second_hop(self, where: str, kind: str, splits: list[RouteSplit], namespace: str, wanted: list[str],
                    clusters: list[ClusterInventory], params: dict[str, Any], evidence: dict[str, Any],
                    subject: dict[str, str], wanted_unread: str = "") -> Finding | None:
        """The second hop of a route (VirtualService or Gateway API mesh route) sending `wanted` hosts to ASM's egress
        gateway: the ASM egress gateway pods behind a destination with weight (its Service's, in a cluster) must route
        each host on at the port the destination names. Routes there: the servers of the Istio Gateways (the
        cluster's and the ASM control plane's) selecting the pods with the VirtualServices bound to them
        (gateway_listeners, as asm-gateways-present's AA1724 reads ASM's gateways), and the listeners of Gateway API
        Gateways bound to the egress Service through spec.addresses with a route attached (gateway_api_listeners, as
        its AA1747 does). FAIL PORT_UNEXPOSED: the Service has no such port; NOT_FORWARDED: no listener routes a
        host; PORT_UNROUTED: listeners route it on other ports only; UNKNOWN FORWARD_UNREAD where what would tell
        was not read. None when each is routed on there, or no ASM egress gateway workload is behind the
        destinations."""
        ctx = self.ctx
        # (Service name, namespace) in lower case -> the ports sent to there (None: the destination names none)
        targets: dict[tuple[str, str], set[int | None]] = {}
        for s in splits:
            for d in s.destinations:
                if d.get("gateway") == "asm" and d.get("effective_weight"):
                    service = service_of(str(d.get("host") or ""), namespace)
                    if service is not None:
                        port = d.get("port")
                        targets.setdefault(service, set()).add(
                            port if isinstance(port, int) and not isinstance(port, bool) else None)
        if not targets or (not wanted and not wanted_unread):
            return None
        asm = ctx.inv.asm
        unread = [] if asm is not None and asm.available(K.GATEWAY) and asm.available(K.VIRTUALSERVICE) else [
            f"ASM's {k.kind}s ({asm.unread_reason(k) if asm is not None else 'not collected'})"
            for k in (K.GATEWAY, K.VIRTUALSERVICE) if asm is None or not asm.available(k)]
        if wanted_unread:
            unread.append(wanted_unread)
        if not unread and self._asm_bound is None:  # once per run: asked per egress route
            self._asm_bound = bound_virtual_services(asm.objects(K.VIRTUALSERVICE) if asm is not None else ())
        bound = self._asm_bound if not unread else bound_virtual_services(())
        # A host not routed may be routed by a Gateway API Gateway, or a route attached to one, that was not read.
        gwapi_kinds = (K.K8S_GATEWAY, *K.K8S_ROUTE_KINDS)
        gwapi_unread = [f"ASM's {k.kind}s ({asm.unread_reason(k)})" for k in gwapi_kinds
                        if asm is not None and not asm.available(k)]
        asm_routes = [r for k in K.K8S_ROUTE_KINDS if asm is not None and asm.available(k) for r in asm.objects(k)]
        names: set[str] = set()
        unrouted: dict[str, list[str]] = {}
        wrong_port: dict[str, list[str]] = {}
        unexposed: dict[str, list[str]] = {}
        untold: dict[str, list[str]] = {}
        for c in clusters:
            if not (c.available(K.DEPLOYMENT) and c.available(K.SERVICE)):
                continue
            services = {(svc.name.lower(), svc.namespace.lower()): svc
                        for svc in gateway_services(c, ctx.inv.rules, ctx.config.gateways)
                        if svc.gateway.asm and svc.gateway.type == EGRESS
                        and (svc.name.lower(), svc.namespace.lower()) in targets}
            if not services:
                continue
            names.update(f"{c.name}:{svc.gateway.namespace}/{svc.gateway.name}" for svc in services.values())
            if unread:
                continue
            gateways = [*(c.objects(K.GATEWAY) if c.available(K.GATEWAY) else ()), *asm.objects(K.GATEWAY)]
            listeners = gateway_listeners(c, {svc.gateway for svc in services.values()}, gateways, bound,
                                          asm_export_default(ctx))
            listeners += self._gateway_api_listeners(c, asm, services, asm_routes, gwapi_unread)
            for key, ports in targets.items():
                svc = services.get(key)
                if svc is None:
                    continue
                own = [(number, host) for w, number, host in listeners if w == svc.gateway]
                anywhere = HostIndex((h, h) for _, h in own)
                for port in sorted(ports, key=lambda p: -1 if p is None else p):
                    at_port, port_untold = anywhere, False
                    if port is not None:
                        exposed, target = service_port_target(c, svc.gateway, svc.name, svc.namespace, port)
                        if not exposed:
                            unexposed.setdefault(f"{svc.name}.{svc.namespace}:{port}", []).append(c.name)
                            continue
                        pod_ports = {number: listener_port(c, svc.gateway, number) if number is not None else None
                                     for number, _ in own}
                        port_untold = target is None or None in pod_ports.values()
                        at_port = HostIndex((h, h) for number, h in own
                                            if target is not None and pod_ports[number] == target)
                    for host in wanted:
                        if at_port.covers(host):
                            continue
                        shown = host if port is None else f"{host}:{port}"
                        if port_untold:
                            untold.setdefault(shown, []).append(c.name)
                        elif anywhere.covers(host):
                            wrong_port.setdefault(shown, []).append(c.name)
                        else:
                            unrouted.setdefault(host, []).append(c.name)
        if not names:
            return None
        shown_names = {"kind": kind, "asm_gateways": ", ".join(sorted(names))}
        base = {**evidence, "asm_egress_gateways": sorted(names)}
        if unexposed:
            return self.report(self.PORT_UNEXPOSED, where, remediation=self.PORT_UNEXPOSED.fix,
                               params={**params, **shown_names, "ports": ", ".join(sorted(unexposed))},
                               evidence={**base, "ports_not_exposed": unexposed}, **subject)
        if unread or ((unrouted or wrong_port) and gwapi_unread) or untold:
            why = [*unread, *(gwapi_unread if unrouted or wrong_port else ()),
                   *(f"the ASM egress gateway's Service ports for {h} (a named targetPort not resolved)"
                     for h in sorted(untold))]
            return self.report(self.FORWARD_UNREAD, where, remediation=self.FORWARD_UNREAD.fix,
                               params={**params, **shown_names, "unread": "; ".join(why)},
                               evidence={**base, "not_read": why}, **subject)
        if unrouted:
            return self.report(self.NOT_FORWARDED, where, remediation=self.NOT_FORWARDED.fix,
                               params={**params, **shown_names, "unrouted": ", ".join(sorted(unrouted))},
                               evidence={**base, "unrouted_hosts": unrouted}, **subject)
        if wrong_port:
            return self.report(self.PORT_UNROUTED, where, remediation=self.PORT_UNROUTED.fix,
                               params={**params, **shown_names, "ports": ", ".join(sorted(wrong_port))},
                               evidence={**base, "unrouted_at_port": wrong_port}, **subject)
        return None

    @staticmethod
    def _gateway_api_listeners(cluster: ClusterInventory, asm: ClusterInventory | None,
                               services: dict[tuple[str, str], GatewayService], asm_routes: list[dict[str, Any]],
                               unread: list[str]) -> list[tuple[GatewayWorkload, int | None, str]]:
        """(ASM egress workload, listener port, host) the Gateway API Gateways of the cluster and the ASM control plane
        bound to these Services (spec.addresses, gatewayapi.bound_services) route, with the routes of both attached;
        what of them could not be read is added to `unread` (once)."""
        routes = [*(r for k in K.K8S_ROUTE_KINDS if cluster.available(k) for r in cluster.objects(k)), *asm_routes]
        for k in (K.K8S_GATEWAY, *K.K8S_ROUTE_KINDS):
            if not cluster.available(k) and (why := f"{cluster.name}'s {k.kind}s ({cluster.unread_reason(k)})") \
                    not in unread:
                unread.append(why)

        def namespace_labels(namespace: str) -> dict[str, str] | None:
            """A route namespace's labels for a listener's allowedRoutes Selector (None: Namespaces not read)."""
            return idle.namespace_labels(cluster, namespace) if cluster.available(K.NAMESPACE) else None

        out: list[tuple[GatewayWorkload, int | None, str]] = []
        for source in (cluster, asm):
            if source is None or not source.available(K.K8S_GATEWAY):
                continue
            classes = ({(o.get("metadata") or {}).get("name", ""): o for o in source.objects(K.K8S_GATEWAYCLASS)}
                       if source.available(K.K8S_GATEWAYCLASS) else None)
            for gateway in source.objects(K.K8S_GATEWAY):
                keys = set(gatewayapi.bound_services(gateway)) & services.keys()
                spec = gateway.get("spec") if isinstance(gateway.get("spec"), dict) else {}
                if not keys or gatewayapi.class_is_istio(str(spec.get("gatewayClassName") or ""), classes) is False:
                    continue
                taken = gateway_api_listeners(gateway, routes, namespace_labels)
                out += [(services[key].gateway, port, host) for key in sorted(keys) for port, host in taken]
        return out


def mesh_route_hosts(route: dict[str, Any], clusters: list[ClusterInventory],
                     asm: ClusterInventory | None = None) -> tuple[list[str], str]:
    """The hosts a Gateway API mesh route routes (istio/istio@1.24.6 pilot/pkg/config/kube/gateway/conversion.go: a
    parentRef ServiceEntry's hosts (serviceEntryHosts), a parentRef Service's name.namespace.svc.cluster.local), and
    what could not be read to tell them ("" when nothing). A parent ServiceEntry is looked up in the clusters and on
    the ASM control plane: once Istio's config is imported into ASM it may live only there, while the route stays in
    the data plane."""
    meta = route.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    spec = route.get("spec") if isinstance(route.get("spec"), dict) else {}
    hosts: list[str] = []
    unread = ""
    for ref in spec.get("parentRefs") or ():
        if not isinstance(ref, dict):
            continue
        group, kind, name = str(ref.get("group") or ""), str(ref.get("kind") or ""), str(ref.get("name") or "")
        ref_ns = str(ref.get("namespace") or namespace)
        if kind == "ServiceEntry" and group == ISTIO_NETWORKING_GROUP:
            for c in [*clusters, asm] if asm is not None else clusters:
                if not c.available(K.SERVICEENTRY):
                    unread = f"{c.name}'s ServiceEntries ({c.unread_reason(K.SERVICEENTRY)})"
                    continue
                entry = c.get(K.SERVICEENTRY, name, ref_ns)
                entry_spec = (entry or {}).get("spec") if isinstance((entry or {}).get("spec"), dict) else {}
                hosts += [str(h).lower() for h in entry_spec.get("hosts") or () if isinstance(h, str)]
        elif kind == "Service" and group in ("", "core"):
            hosts.append(f"{name}.{ref_ns}.svc.cluster.local".lower())
    return [h for h in dict.fromkeys(hosts) if h and h != "*"], unread


# ================================================================ asm-gateways-present
# Shell comments the catalog holds (said in the report's language: render/localize.comments_said).
DESCRIBE_WHY = N_("replicas, conditions, events; then its pods' readiness")
KEEP_WHILE_DELETED = N_("metadata.finalizers, and who deletes it; keep Istio's gateway until an ASM gateway stays")


def _serves(counts: tuple[int | None, int | None]) -> bool:
    """Whether a gateway workload's (desired, available) pod counts show at least one pod available. A count that is
    not a number does not show it."""
    desired, available = counts
    return desired is not None and available is not None and available > 0 and desired > 0


def _count_text(count: int | None) -> str:
    return "?" if count is None else str(count)


def _stem(name: str) -> str:
    """`istio-ingressgateway` and `ingressgateway-asm` share the stem `ingressgateway`."""
    for affix in ("istio-", "asm-"):
        if name.startswith(affix):
            name = name[len(affix):]
    for affix in ("-asm", "-istio"):
        if name.endswith(affix):
            name = name[: -len(affix)]
    return name


def asm_export_default(ctx: Context) -> tuple[str, ...]:
    """ASM's defaultVirtualServiceExportTo (config asm.mesh_config; `*`, Istio's default, when it does not say): where
    a VirtualService without exportTo reaches (initDefaultExportMaps, pilot/pkg/model/push_context.go @1.30.3)."""
    asm_config = getattr(ctx.setting("config"), "asm", None)
    mesh_config = getattr(asm_config, "mesh_config", None) or {}
    given = mesh_config.get("defaultVirtualServiceExportTo") if isinstance(mesh_config, dict) else None
    return tuple(str(v) for v in given) if isinstance(given, list) and given else ("*",)


class AsmGatewaysPresent(ClusterCheck):
    id = "asm-gateways-present"
    title = "An ASM gateway exists for each Istio ingress and egress gateway"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("`istioctl uninstall --purge` removes Istio's ingress and egress gateways; each needs its ASM "
                 "replacement (an IstioGateway of the same gatewayType targeting the cluster) first.")
    remediation = ("Create an IstioGateway (gatewayType ingress|egress, clusterIds [<cluster id>]) on the ASM "
                   "control plane (ASM console > ASM Gateways > Create).")
    REPLACED = Outcome("AA1701", Status.PASS, "an ASM gateway replaces the Istio gateway in this cluster",
                       message="ASM {gateway_type} gateway {asm_gateway} (deployed as {workload}) replaces "
                               "{istio_gateway}")
    NOT_REPLACED = Outcome("AA1710", Status.FAIL,
                           "no ASM gateway of the same type replaces the Istio ingress or egress gateway",
                           fix="Create an IstioGateway with gatewayType: {gateway_type} and clusterIds: [{cluster_id}] "
                               "on the ASM control plane (ASM console > ASM Gateways > Create), then re-run.",
                           message="no ASM {gateway_type} gateway for this cluster replaces Istio's {namespace}/{name}")
    ROLE_UNKNOWN_NOT_REPLACED = Outcome(
        "AA1711", Status.FAIL, "no ASM gateway at all for an Istio gateway whose role nothing tells",
        message="no ASM gateway for this cluster replaces Istio's gateway {namespace}/{name} " + ROLE_NOT_TOLD)
    NOT_HEALTHY = Outcome("AA1720", Status.WARN,
                          "an ASM gateway targets the cluster but its status reports an error", Severity.MINOR,
                          message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, "
                                  "but its status reports: {error}")
    # Was AA1721, a minor WARN: a gateway declared for the cluster whose Deployment is not there serves nothing, so
    # removing Istio's gateway drops its traffic.
    NOT_DEPLOYED = Outcome("AA1712", Status.FAIL, "an ASM gateway targets the cluster but its Deployment is not in "
                           "the cluster: it serves nothing there yet, so nothing replaces the Istio gateway",
                           message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, "
                                   "but its Deployment {deployment} is not in this cluster: it serves nothing here "
                                   "yet")
    # Deployed but no pod of it available (scaled to 0 by HPA or by hand, pods not Ready, a rollout stuck): its Service
    # has no ready endpoint, so it carries none of the Istio gateway's traffic after the purge.
    NOT_SERVING = Outcome("AA1713", Status.FAIL, "an ASM gateway targets the cluster and its Deployment is there, but "
                          "no pod of it is available: it serves nothing yet, so nothing replaces the Istio gateway",
                          message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, "
                                  "but its Deployment {deployment} has {available} of {desired} pod(s) available: it "
                                  "serves "
                                  "nothing here yet")
    # Being deleted on the ASM control plane (metadata.deletionTimestamp: the API server keeps an object with finalizers
    # until they are removed, apimachinery registry/generic/registry/store.go): ASM's controller removes its Deployment
    # and Service from the clusters, so it replaces nothing however well it serves now.
    BEING_DELETED = Outcome("AA1718", Status.FAIL, "the ASM gateway that would replace the Istio gateway is being "
                            "deleted on the ASM control plane: its Deployment and Service go with it",
                            message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for "
                                    "{istio_gateway}, but it is being deleted on the ASM control plane (since "
                                    "{since}): it replaces nothing once the deletion completes")
    # ASM's istiod gives ASM's gateway pods the listeners of the Istio Gateways whose selector matches their labels:
    # Gateways that still select Istio's pods (istio: ingressgateway) only leave ASM's gateway without listeners.
    NO_LISTENER = Outcome("AA1714", Status.FAIL, "an ASM gateway replaces the Istio gateway, but no Istio Gateway "
                          "selects its pods while some select Istio's: it gets no listener for their hosts",
                          fix="Point the Gateways' spec.selector at the ASM gateway's pod labels (or add a Gateway "
                              "for them) on the ASM control plane, then re-run.",
                          message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, "
                                  "but no Istio Gateway selects its pods ({asm_labels}) while {gateways} select "
                                  "Istio's: it gets no listener for their hosts")
    # The Gateways' hosts and ports, beside the selector (red19b): each host Istio's gateway serves, at each Service
    # port that reaches its listener, must be served by an ASM gateway of the cluster at that port (auditor.gateways
    # served_hosts); a TLS host's certificate Secret is read from the gateway pod's namespace.
    HOSTS_UNSERVED = Outcome(
        "AA1715", Status.FAIL, "an ASM gateway replaces the Istio gateway, but hosts that Istio Gateways serve on "
        "Istio's gateway are served by no Istio Gateway that selects an ASM gateway's pods",
        fix="Point those Gateways' spec.selector at the ASM gateway's pod labels (or add their hosts to a Gateway that "
            "selects its pods) on the ASM control plane, then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but no Istio "
                "Gateway that selects an ASM gateway's pods serves {hosts} (served on Istio's by {gateways}): those "
                "hosts die with Istio's gateway")
    # A Gateway server serves nothing by itself (red20f): istiod gives its listener what the routes of VirtualServices
    # bound to that Gateway take (auditor.gateways route_hosts; an HTTP server without one answers 404, a TLS
    # passthrough or TCP server without one closes the connection). A Gateway added for ASM's pods with Istio's hosts
    # while the VirtualServices still name only Istio's Gateway leaves ASM's gateway serving none of them.
    ROUTES_UNBOUND = Outcome(
        "AA1724", Status.FAIL, "an ASM gateway replaces the Istio gateway, but for hosts that Istio's gateway serves, "
        "the Gateways selecting an ASM gateway's pods list them and no VirtualService bound to those Gateways routes "
        "them: ASM's gateway answers 404 (HTTP) or closes the connection (TLS passthrough, TCP)",
        fix="Add the Gateway that selects the ASM gateway's pods to spec.gateways of the VirtualServices routing those "
            "hosts (as <namespace>/<name>; a short name is the VirtualService's own namespace), with routes of the "
            "server's kind (http for HTTP/HTTPS, tls for TLS passthrough, tcp for TCP), exported to the ASM gateway's "
            "namespace, on the ASM control plane; then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but for {hosts} "
                "(listed by {gateways}, which select an ASM gateway's pods) no VirtualService bound to those Gateways "
                "routes them: ASM's gateway answers 404 or closes the connection there, so those hosts die with "
                "Istio's gateway")
    ROUTES_UNREAD = Outcome(
        "AA1751", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, and Gateways selecting its pods list "
        "hosts that Istio's gateway serves, but the VirtualServices that would route them there could not be read",
        fix=SCAN_UNREAD_FIX,
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but whether a "
                "VirtualService routes {hosts} on it cannot be told: {reason}")
    # The policies that guard Istio's gateway (red20k): istiod applies to a gateway's pods the AuthorizationPolicies,
    # RequestAuthentications, EnvoyFilters, WasmPlugins and Telemetries (red21i) whose selector picks their labels, of
    # their namespace and of the root namespace (auditor.gateways gateway_policy_parity). The istio.io tasks select
    # Istio's pods (`istio: ingressgateway`, `app: istio-ingressgateway`); ASM's gateway pods carry other labels
    # (`istio: <IstioGateway name>`, `app: istio-<name>`), so an imported copy guards nothing there: after the purge the
    # hosts are served without the IP allow-list, the JWT rule, the ext_authz call, the rate limit or the access log.
    POLICIES_UNGUARDED = Outcome(
        "AA1725", Status.FAIL, "an ASM gateway replaces the Istio gateway, but policies applied to Istio's gateway "
        "pods (AuthorizationPolicy, RequestAuthentication, EnvoyFilter, WasmPlugin, Telemetry) have no counterpart "
        "applying to ASM's gateway pods on the ASM control plane: ASM's gateway serves without them",
        fix="On the ASM control plane, add beside each policy named a counterpart under a new name (leave the "
            "imported copy as it is: istio-config-imported compares it with Istio's) of the same kind and spec in "
            "the ASM gateway's namespace (or ASM's root namespace) whose selector (EnvoyFilter: "
            "workloadSelector.labels) picks the ASM gateway's pod labels (a policy attached by targetRefs gets a "
            "selector instead: ASM's gateway is no Gateway API gateway); then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but {policies} "
                "apply to Istio's gateway pods and nothing of the same kind and spec applies to ASM's ({asm_labels}) "
                "on the ASM control plane: once Istio's gateway is gone its hosts are served without them")
    POLICIES_UNREAD = Outcome(
        "AA1752", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but the policies that would guard the "
        "gateways (AuthorizationPolicy, RequestAuthentication, EnvoyFilter, WasmPlugin, Telemetry) could not be read "
        "in the cluster or on the ASM control plane: whether ASM's gateway keeps those of Istio's cannot be told",
        fix=SCAN_UNREAD_FIX,
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but whether every "
                "policy applied to Istio's gateway pods applies to ASM's too cannot be told: {reason}")
    # Who reaches the gateway from outside the cluster (fix22p): main compared hosts, ports and policies but not the
    # Services' type, so an IstioGateway of serviceType ClusterIP (or NodePort) replacing Istio's LoadBalancer gateway
    # passed AA1701, a GO with nothing outside reaching ASM's gateway. Read from the Services of both gateways in the
    # cluster (those selecting their pods: the IstioGateway's istio-<name> and any alias); a ClusterIP Istio gateway
    # (behind an Ingress or a load balancer of its own) loses nothing whatever ASM's is.
    UNREACHED = Outcome(
        "AA1726", Status.FAIL, "an ASM gateway replaces the Istio gateway, but clients outside the cluster reach "
        "Istio's gateway (a LoadBalancer Service, spec.externalIPs, node ports) and nothing of the kind reaches ASM's: "
        "its Services are ClusterIP (or NodePort where Istio's has a load balancer)",
        fix="Set serviceType LoadBalancer (NodePort where Istio's gateway is reached by node ports only) on the "
            "IstioGateway on the ASM control plane (ASM console > ASM Gateways > {asm_gateway} > YAML, or "
            "`{command}`), give clients the address its Service then gets (status.loadBalancer.ingress), then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but clients "
                "outside the cluster reach Istio's gateway through {istio_services} while ASM's gateway is fronted by "
                "{asm_services}: nothing outside reaches it once Istio's gateway is gone")
    NO_ADDRESS = Outcome(
        "AA1727", Status.FAIL, "an ASM gateway replaces the Istio gateway, whose load balancer clients outside the "
        "cluster reach, but the ASM gateway's LoadBalancer Service has no address yet (status.loadBalancer empty): "
        "the cloud controller has not given it a load balancer",
        fix="See why the cloud controller gave the ASM gateway's Service no load balancer (`{command}`: events such as "
            "SyncLoadBalancerFailed), correct the IstioGateway's serviceAnnotations on the ASM control plane, wait for "
            "the address, then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but its "
                "LoadBalancer Service {asm_services} has no address in status.loadBalancer while clients reach Istio's "
                "gateway through {istio_services}: nothing outside reaches ASM's gateway yet")
    INTERNET_LOST = Outcome(
        "AA1728", Status.FAIL, "an ASM gateway replaces the Istio gateway, but Istio's load balancer is "
        "internet-facing and every load balancer of ASM's gateway is intranet (VPC only): clients on the internet "
        "reach nothing once Istio's gateway is gone",
        fix="Give the ASM gateway an internet-facing load balancer: set {annotation}: internet in the IstioGateway's "
            "serviceAnnotations on the ASM control plane (`{command}`; CCM does not change the address type of a CLB "
            "it created: the Service gets a new one, or reuse an internet-facing CLB by its loadbalancer-id); if ASM's "
            "gateway is meant for the VPC only, exempt this finding with the reason. Then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but its load "
                "balancer ({asm_services}) is intranet while Istio's ({istio_services}) is internet-facing: clients "
                "on the internet reach nothing once Istio's gateway is gone")
    INTERNET_OPENED = Outcome(
        "AA1729", Status.WARN, "an ASM gateway replaces the Istio gateway, but Istio's load balancer is intranet (VPC "
        "only) and ASM's is internet-facing: the hosts become reachable from the internet", Severity.MAJOR,
        fix="Confirm that the hosts are meant for the internet (access control, loadBalancerSourceRanges); else set "
            "{annotation}: intranet in the IstioGateway's serviceAnnotations on the ASM control plane (`{command}`), "
            "then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but its load "
                "balancer ({asm_services}) is internet-facing while Istio's ({istio_services}) is intranet: what only "
                "the VPC reached becomes reachable from the internet")
    # An Ingress (nginx, ALB, Traefik) or a Gateway API route whose backend is Istio's gateway Service sends its traffic
    # through Istio's gateway whatever ASM's serves: after `istioctl uninstall --purge` that Service fronts a gateway
    # whose istiod is gone (the gateway chart's, or istiod's Gateway API deployment, which the purge leaves:
    # tests/install_shapes.py). A Service the purge deletes (an istioctl-installed gateway's, labelled
    # operator.istio.io/component) is purge-preview's AA2513, not named twice.
    FRONTS_ISTIO = Outcome(
        "AA1741", Status.FAIL, "an ASM gateway replaces the Istio gateway, but an Ingress or a Gateway API route "
        "still sends traffic to the Istio gateway's Service: it does not reach ASM's gateway, and after the uninstall "
        "reaches nothing, or a gateway without a control plane",
        fix="Point the backend at the ASM gateway's Service (`{command}`; an Ingress reaches only Services of its own "
            "namespace, a route another namespace's only with a ReferenceGrant there), then re-run.",
        message="{front} sends traffic to Istio's gateway Service {service}, which ASM {gateway_type} gateway "
                "{asm_gateway} (Service {asm_service}) replaces for {istio_gateway}: that traffic does not reach ASM's "
                "gateway")
    # The same front, but ASM's gateway Service has no port for the one its backend reaches on Istio's (an Ingress's
    # port.name `http2` of the gateway chart where ASM's Service names its ports after the IstioGateway's spec.ports,
    # and no port of that number or targetPort either; a route's port number ASM's Service lacks): renaming the
    # backend alone leaves it on a port that is not there, so the port comes first (auditor.gateways asm_backend_port).
    FRONTS_ISTIO_NO_PORT = Outcome(
        "AA1742", Status.FAIL, "an ASM gateway replaces the Istio gateway, but an Ingress or a Gateway API route "
        "still sends traffic to the Istio gateway's Service at a port that the ASM gateway's Service does not have: "
        "pointing it at ASM's Service alone does not reach ASM's gateway",
        fix="Give the IstioGateway's spec.ports the port on the ASM control plane (`{command}`: the targetPort where "
            "ASM's gateway listens for the hosts), then point the backend at the ASM gateway's Service "
            "(`{backend_command}`), then re-run.",
        message="{front} sends traffic to Istio's gateway Service {service} at port {port}, and ASM {gateway_type} "
                "gateway {asm_gateway} (Service {asm_service}) replaces it for {istio_gateway} but has no such port "
                "(its ports: {asm_ports}): that traffic does not reach ASM's gateway")
    # An Ingress or a Gateway API route in front of ASM's gateway Service (an ALB, nginx): it carries the clients of
    # Istio's load balancer only as far as its own addresses reach; an ALB's DNS name tells how far only through its
    # AlbConfig (read, found, not reusing an ALB by id), and no address published does not tell at all
    # (auditor.gateways gateway_fronts, alb_config_reach).
    FRONT_UNTOLD = Outcome(
        "AA1754", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, which clients outside the cluster reach, "
        "and is reached only through an Ingress or a Gateway API route in front of it whose addresses do not tell "
        "who reaches it: whether those clients reach ASM's gateway cannot be told",
        fix="See who reaches the front (`{command}`: its status addresses; for an ALB Ingress the AlbConfig its "
            "IngressClass names, spec.config.addressType Internet or Intranet). If it reaches Istio's clients, exempt "
            "this finding with that reason; else give the ASM gateway a load balancer of Istio's kind (IstioGateway "
            "serviceType LoadBalancer and its serviceAnnotations on the ASM control plane). Then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, which clients "
                "outside the cluster reach through {istio_services}; ASM's gateway is reached only through "
                "{fronts}, whose addresses do not tell who reaches it")
    REACH_UNREAD = Outcome(
        "AA1753", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but the Services could not be read: "
        "whether clients outside the cluster reach ASM's gateway as they reach Istio's cannot be told",
        fix=SCAN_UNREAD_FIX,
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but whether "
                "clients outside the cluster reach it as they reach Istio's cannot be told: {reason}")
    PORTS_UNREACHED = Outcome(
        "AA1716", Status.FAIL, "an ASM gateway replaces the Istio gateway, but at Service ports where clients reach "
        "Istio's gateway for some hosts no Service port of an ASM gateway reaches a listener for them",
        fix="Give the IstioGateway's spec.ports each missing port with the targetPort ASM's gateway listens on for the "
            "server (its port number, unless an ASM Service port equals that number: then that port's targetPort), "
            "or set the Gateway server's port.number to the Service port (istiod translates it to the targetPort on "
            "either gateway); then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but Istio's "
                "gateway Service reaches a listener for {missing} and no ASM gateway Service port does: clients there "
                "reach nothing once Istio's gateway is gone")
    PORTS_UNTOLD = Outcome(
        "AA1737", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but which Service ports reach the "
        "gateways' listeners cannot be told (the Services not read, or a named targetPort no container port "
        "resolves)", fix=SCAN_UNREAD_FIX,
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but which Service "
                "ports reach the gateways' listeners cannot be told: {reason}")
    SECRET_DENIED = Outcome(
        "AA1717", Status.FAIL, "an ASM gateway replaces the Istio gateway, but for TLS hosts the Gateways give it only "
        "a certificate Secret of another namespace than its own, which istiod never serves it",
        fix="Copy the certificate Secret into the ASM gateway's namespace and name it there in tls.credentialName "
            "(without a namespace), then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but for {hosts} "
                "its servers name Secret {asm_secrets}, outside its namespace: istiod serves a gateway kubernetes:// "
                "Secrets of its own namespace only, so those hosts get no certificate")
    SECRET_ELSEWHERE = Outcome(
        "AA1738", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but for TLS hosts it reads its "
        "certificate from another Secret than Istio's gateway does (of its own namespace): the audit never reads "
        "Secrets, so that it exists is not shown",
        fix="A gateway reads a server's tls.credentialName from its own pod's namespace: copy the certificate Secret "
            "into the ASM gateway's namespace (or confirm it is there), then exempt this finding with the reason.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but for {hosts} "
                "ASM's gateway reads Secret {asm_secrets} where Istio's reads {istio_secrets}: the audit never reads "
                "Secrets, so that it exists is not shown")
    # Kubernetes Ingresses of Istio's class: istiod gives them listeners on the pods its mesh config's ingressSelector
    # picks (auditor.gateways istio_served_ingresses); ASM's istiod serves Ingresses only on an ASM gateway where
    # "Enable Ingress API access" was turned on (help.aliyun.com/document_detail/613527.html), a setting of ASM's that
    # no Kubernetes object shows. Read the Ingresses of istio's class as AA1715 reads the Gateways' hosts.
    INGRESSES_UNTOLD = Outcome(
        "AA1739", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but Istio's istiod serves Kubernetes "
        "Ingresses on Istio's gateway (or which it serves cannot be read), and whether ASM's gateway serves them "
        "cannot be told",
        fix="Turn on Ingress API access on the ASM ingress gateway (ASM console > ASM Gateways > Ingress Gateway > "
            "Advanced features: Enable Ingress API access; ASM 1.16 or later), check each host at the ASM gateway's "
            "address (curl -H 'Host: <host>' http://<ASM gateway address>/), then exempt this finding with the "
            "reason; or move the Ingresses to Istio Gateways and VirtualServices selecting the ASM gateway's pods.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but whether it "
                "serves the Kubernetes Ingresses Istio's istiod serves on Istio's gateway cannot be told: {why}")
    # An Istio gateway istiod deployed for a Gateway API Gateway (kube-gateway.yaml @1.24.6: its own istio-proxy, not
    # injected, `sidecar.istio.io/inject: "false"`) gets its listeners from that Gateway, not from Istio Gateways
    # (AA1714/AA1715 find none selecting it). ASM deploys no gateway for a Gateway: a Gateway binds to a pre-deployed
    # ASM gateway through spec.addresses (help.aliyun.com, ASM "Define routing rules with Gateway API"); istiod deploys
    # one only for a Gateway without such an address (IsManaged, pilot/pkg/config/kube/gateway/conversion.go @1.24.6).
    # So the Gateway's hosts must be taken by an ASM gateway of the cluster: a Gateway of Istio's class bound to its
    # Service, or an Istio Gateway selecting its pods; else they die with Istio's gateway (its Deployment is left with
    # no control plane after the purge, AA2311).
    GATEWAY_API_UNBOUND = Outcome(
        "AA1719", Status.FAIL, "an ASM gateway replaces the Istio gateway istiod deployed for a Gateway API Gateway, "
        "but no Gateway bound to an ASM gateway (spec.addresses) nor Istio Gateway selecting its pods takes that "
        "Gateway's hosts: ASM deploys no gateway for a Gateway",
        fix="On the ASM control plane, create in the ASM gateway's namespace (istio-system: istiod binds a Gateway "
            "only to a Service of its own namespace) a Gateway of class istio bound to the ASM gateway's Service "
            "(spec.addresses: type Hostname, value <ASM gateway Service>.istio-system.svc.cluster.local) with the "
            "Gateway's listeners, allowing the routes' namespaces (allowedRoutes), and attach its routes to it (or "
            "serve the hosts with Istio Gateways selecting the ASM gateway's pods); for a TLS listener put its "
            "certificate Secret in istio-system too, or let a ReferenceGrant of the Secret's namespace grant it to "
            "Gateways of istio-system; move the clients to the ASM gateway's address, then re-run.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but no Gateway "
                "bound to an ASM gateway nor Istio Gateway selecting its pods takes {hosts} of Gateway API Gateway "
                "{gateway}: ASM deploys no gateway for it, so those hosts die with Istio's gateway")
    GATEWAY_API_UNTOLD = Outcome(
        "AA1750", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway istiod deployed for a Gateway API "
        "Gateway, but whether an ASM gateway takes that Gateway's hosts cannot be told (Gateways or routes not read)",
        fix=SCAN_UNREAD_FIX,
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but whether an ASM "
                "gateway takes {hosts} of Gateway API Gateway {gateway} cannot be told: {reason}")
    FEWER = Outcome("AA1722", Status.WARN, "fewer ASM gateways than Istio gateways of a type: confirm that one ASM "
                    "gateway serves the hosts of several Istio gateways", Severity.MINOR,
                    message="{istio_count} Istio {gateway_type} gateways but {asm_count} ASM {gateway_type} gateway(s) "
                            "for this cluster: confirm that {asm_gateways} also serves {istio_gateway}'s hosts")
    ROLE_UNKNOWN_CONFIRM = Outcome(
        "AA1723", Status.WARN, "an Istio gateway whose role nothing tells: confirm that an ASM gateway of the cluster "
        "serves its hosts", Severity.MAJOR,
        message="Istio gateway {namespace}/{name} " + ROLE_NOT_TOLD + ": confirm that {asm_gateways} serves its hosts "
                "before it is removed")
    CLUSTER_ID_UNKNOWN = Outcome(
        "AA1730", Status.UNKNOWN, "cannot tell which ASM gateway targets the cluster (cluster id unknown)",
        fix="Let the auditor read ConfigMap kube-system/ack-cluster-profile (an ACK cluster writes its own id there), "
            "or set asm.cluster_ids in the config (or cluster_id in the snapshot manifest); then audit again.",
        message="cannot tell whether ASM {gateway_type} gateway(s) {asm_gateways} target this cluster: its cluster id "
                "is unknown (none given, none read from ConfigMap kube-system/ack-cluster-profile)")
    NAMES_NO_CLUSTER = Outcome(
        "AA1735", Status.UNKNOWN, "an ASM gateway of the type names no cluster (spec.clusterIds empty) and its "
        "Deployment is not in this cluster: whether it serves this cluster cannot be told",
        fix="Name the cluster in the IstioGateway's spec.clusterIds (its istio-<name> Deployment then runs here); for "
            "an ASM serverless gateway, which runs outside the clusters, confirm that it serves the Istio gateway's "
            "hosts and exempt this finding with the reason.",
        message="ASM {gateway_type} gateway(s) {asm_gateways} name no cluster (spec.clusterIds empty) and no "
                "Deployment of theirs is in this cluster: cannot tell that one replaces Istio's {istio_gateway}")
    STRAY = Outcome("AA1731", Status.UNKNOWN, "pods run Istio's proxy as a gateway (`proxy router`) but no gateway "
                    "Deployment or DaemonSet explains them", fix=STRAY_GATEWAY_FIX,
                    message=STRAY_GATEWAY + "cannot tell what replaces them")
    GATEWAYS_UNSEEN = Outcome("AA1732", Status.UNKNOWN, "the gateway scan could not read every kind it reads: an "
                              "Istio gateway (or its role) may have been missed, so not every one is known replaced",
                              fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "an Istio gateway or its role may have been missed, so it cannot "
                                                    "tell that every Istio ingress and egress gateway is replaced")
    # Pods tell of the gateways no Deployment or DaemonSet explains (STRAY): unread, one of them may be missed.
    STRAYS_UNSEEN = Outcome("AA1733", Status.UNKNOWN, "the pods could not be read: an Istio gateway whose pods no "
                            "Deployment or DaemonSet explains (a bare pod, another controller) may have been missed, "
                            "and its replacement with it", fix=SCAN_UNREAD_FIX,
                            message=SCAN_UNREAD + "an Istio gateway whose pods no Deployment or DaemonSet explains may "
                                                  "have been missed, so it cannot tell that every Istio ingress and "
                                                  "egress gateway is replaced")
    ROLE_UNREAD = Outcome(
        "AA1734", Status.UNKNOWN, "an Istio gateway's role (ingress or egress) depends on config that could not be "
        "read: which ASM gateway replaces it cannot be told", fix=SCAN_UNREAD_FIX,
        message="Istio gateway {namespace}/{name}: {why}; so it cannot tell whether {asm_gateways} replaces it")
    LISTENERS_UNREAD = Outcome(
        "AA1736", Status.UNKNOWN, "an ASM gateway replaces the Istio gateway, but the Istio Gateways (of the cluster "
        "or of the ASM control plane, whose copies ASM's istiod reads) could not be read: whether it gets listeners "
        "for the Istio gateway's hosts cannot be told",
        fix="Grant list on gateways.networking.istio.io in the cluster and on the ASM control plane "
            "(`asm-audit rbac`), then audit again.",
        message="ASM {gateway_type} gateway {asm_gateway} targets this cluster for {istio_gateway}, but the Istio "
                "Gateways that give gateway pods their listeners could not be read ({reason}): whether any selects "
                "its pods cannot be told")
    NO_ISTIO_GATEWAY = Outcome("AA1740", Status.NOT_APPLICABLE,
                               "no Istio ingress or egress gateway (what was looked for is named)",
                               message=f"no Istio ingress or egress gateway in this cluster (looked for {LOOKED_FOR})")
    outcomes = (REPLACED, NOT_REPLACED, ROLE_UNKNOWN_NOT_REPLACED, NOT_DEPLOYED, NOT_SERVING, BEING_DELETED,
                NO_LISTENER, HOSTS_UNSERVED, ROUTES_UNBOUND, PORTS_UNREACHED, SECRET_DENIED, GATEWAY_API_UNBOUND,
                POLICIES_UNGUARDED, UNREACHED, NO_ADDRESS, INTERNET_LOST, NOT_HEALTHY, INTERNET_OPENED, FEWER,
                ROLE_UNKNOWN_CONFIRM, CLUSTER_ID_UNKNOWN, NAMES_NO_CLUSTER, STRAY, GATEWAYS_UNSEEN, STRAYS_UNSEEN,
                ROLE_UNREAD, LISTENERS_UNREAD, PORTS_UNTOLD, SECRET_ELSEWHERE, INGRESSES_UNTOLD, GATEWAY_API_UNTOLD,
                ROUTES_UNREAD, POLICIES_UNREAD, REACH_UNREAD, FRONT_UNTOLD, FRONTS_ISTIO, FRONTS_ISTIO_NO_PORT,
                NO_ISTIO_GATEWAY)
    needs = (K.DEPLOYMENT,)
    # Pods: the gateways only they tell of (stray_gateway_findings). Services and VirtualServices: a custom gateway's
    # role (auditor.gateways._role_from_config).
    # Gateway API routes: a Gateway API gateway whose routes send to a Hostname or ServiceEntry is an egress gateway.
    # ConfigMaps: the cluster's own id (kube-system/ack-cluster-profile, auditor/clusterid.py), matched against the
    # IstioGateways' clusterIds.
    # Ingresses and IngressClasses (with the mesh ConfigMaps): those Istio's istiod serves on its gateway
    # (INGRESSES_UNTOLD).
    # GatewayClasses: whether a Gateway bound to an ASM gateway is of an Istio class; ReferenceGrants: whether its TLS
    # listeners' certificates are served to the ASM gateway (_gateway_api_hosts).
    # The policies that guard a gateway's pods (POLICIES_UNGUARDED), in the cluster and on the ASM control plane.
    # AlbConfigs: who reaches an ALB Ingress in front of ASM's gateway (gateway_fronts, FRONT_UNTOLD).
    uses = (*SCAN_KINDS, K.POD, K.SERVICE, K.VIRTUALSERVICE, K.SERVICEENTRY, *K.K8S_ROUTE_KINDS, K.CONFIGMAP, K.INGRESS,
            K.INGRESSCLASS, K.ALBCONFIG, K.K8S_GATEWAYCLASS, K.K8S_REFERENCEGRANT, *GATEWAY_POLICY_KINDS)
    # Istio Gateways on the ASM control plane: ASM's istiod gives ASM's gateway pods their listeners (_listeners);
    # Gateway API Gateways there bound to an ASM gateway's Service likewise (_gateway_api_hosts).
    # VirtualServices there too: the routes bound to the Gateways that give ASM's gateway its hosts (_served).
    asm_needs = (K.ISTIO_GATEWAY_ASM, K.GATEWAY, K.K8S_GATEWAY, *K.K8S_ROUTE_KINDS, K.K8S_REFERENCEGRANT,
                 K.VIRTUALSERVICE, *GATEWAY_POLICY_KINDS)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterator[Finding]:
        names = ctx.config.gateways
        istio = [g for g in istio_gateways(cluster, ctx.inv.rules, names) if g.type != EASTWEST]
        stray = stray_gateway_findings(self, cluster, ctx.inv.rules, names, self.STRAY)
        yield from stray
        # Neither "every Istio gateway replaced" nor "none to replace" holds when the scan could not see them all;
        # what it saw is still judged (a FAIL stands).
        unseen = scan_unread_findings(self, cluster, self.GATEWAYS_UNSEEN)
        # ...and so does a stray gateway (stray_gateway_findings), which only the pods tell of: none when unread.
        unseen += scan_unread_findings(self, cluster, self.STRAYS_UNSEEN, (K.POD,))
        yield from unseen
        if not istio:
            if not stray and not unseen:
                yield self.report(self.NO_ISTIO_GATEWAY, cluster.name, params={})
            return
        gws = asm_gateways(ctx.inv.require_asm())  # only needed once there is something to replace
        workloads = {(g.namespace, g.name): g for g in gateway_workloads(cluster, ctx.inv.rules, names) if g.asm}
        deployed = set(workloads)
        # (desired, available) pods of each ASM gateway workload: one with none available serves nothing.
        counts = {key: pods_available(cluster, g) for key, g in workloads.items()}
        # The cluster's own id where it writes one, else the given one; the evidence names both when they differ.
        known = clusterid.identity(cluster)
        cid, ids = known.cluster_id, known.evidence()
        yield from self._role_unknown(cluster, [g for g in istio if g.type == ROLE_UNKNOWN], gws, deployed, known,
                                      counts)
        for gtype in (INGRESS, EGRESS):
            mine = sorted((g for g in istio if g.type == gtype), key=lambda g: (g.namespace, g.name))
            if not mine:
                continue
            covering, undecided = [], []
            for gw in gws:
                if gw.type != gtype:
                    continue
                covers = gw.covers(cid)
                if covers is None and (gw.namespace, gw.workload_name) in deployed:
                    covers = True  # its istio-<name> Deployment runs here, so it targets this cluster
                if covers:
                    covering.append(gw)
                elif covers is None:
                    undecided.append(gw)
            free = list(covering)
            # The ASM gateways of this type that take hosts after the purge: pods available, and not being deleted on
            # the ASM control plane (AA1718: its Deployment goes with it).
            going = going_workloads(gws)
            takers = [w for key, w in workloads.items() if w.type == gtype and _serves(counts[key])
                      and key not in going]
            for istio_gw in mine:
                subject = {"kind": istio_gw.kind, "namespace": istio_gw.namespace, "name": istio_gw.name}
                params = {"gateway_type": gtype, "istio_gateway": istio_gw.name}
                running = [g for g in free if (g.namespace, g.workload_name) in deployed]
                # Those whose pods serve first, and of them those not being deleted: one scaled to 0 or going away
                # replaces nothing while another would (a blue/green swap of ASM gateways is no FAIL).
                serving = [g for g in running if _serves(counts[(g.namespace, g.workload_name)])]
                staying = [g for g in serving if (g.namespace, g.workload_name) not in going]
                match = None
                for pool in (staying, serving, running, free):
                    match = next((g for g in pool if _stem(g.name) == _stem(istio_gw.name)), None) or (
                        pool[0] if pool else None)
                    if match is not None:
                        break
                # The ASM gateways of the role that stay: one being deleted (AA1718) replaces nothing, so a gateway
                # left over to it is judged as without it (fix21c: not being deleted is not serving): matched to a
                # staying gateway still free as the pools above would (_matched: AA1712 / AA1713 when it serves
                # nothing); with none free, AA1722 beside one deployed and serving, over covering (it may be matched
                # already: a NO-GO that lifts by itself was no finding of its own); else AA1718.
                kept = [g for g in covering if not g.deleting]
                if match is not None and match.deleting:
                    spares = [g for g in running if not g.deleting] or [g for g in free if not g.deleting]
                    spare = next((g for g in spares if _stem(g.name) == _stem(istio_gw.name)),
                                 spares[0] if spares else None)
                    if spare is not None:
                        match = spare
                    elif any((key := (g.namespace, g.workload_name)) in deployed and _serves(counts[key])
                             and key not in going for g in kept):
                        match = None
                if match is not None:
                    free.remove(match)
                    found = self._matched(cluster, istio_gw.name, gtype, match, deployed, subject, ids, counts)
                    listeners = []
                    if found.code == self.REPLACED.code:
                        listeners = self._listeners(cluster, ctx, istio_gw, match,
                                                    workloads[(match.namespace, match.workload_name)], subject, ids,
                                                    gtype, takers)
                        listeners += self._ingresses(cluster, ctx, istio_gw, match, subject, ids, gtype, takers)
                        listeners += self._gateway_api_hosts(cluster, ctx, istio_gw, match, subject, ids, gtype,
                                                             takers)
                        listeners += self._policies(cluster, ctx, istio_gw, match,
                                                    workloads[(match.namespace, match.workload_name)], subject, ids,
                                                    gtype)
                        listeners += self._reach(cluster, ctx, istio_gw, match,
                                                 workloads[(match.namespace, match.workload_name)], subject, ids,
                                                 gtype, takers)
                        listeners += self._fronting_istio(cluster, ctx, istio_gw, match,
                                                          workloads[(match.namespace, match.workload_name)], ids,
                                                          gtype)
                    yield from listeners or [found]
                elif kept and (unserved := self._shared(cluster, ctx, istio_gw, kept, deployed, going, counts,
                                                         workloads, subject, ids, gtype, takers)):
                    # An Istio gateway left to an ASM gateway another one took is judged for what it serves as a
                    # matched one is (red22n: its hosts, ports, Ingresses, Gateway API hosts and policies): no reminder
                    # to confirm what is known lost (a FAIL) or cannot be told (an UNKNOWN).
                    yield from unserved
                elif kept:
                    yield self.report(self.FEWER, cluster.name,
                                      params={**params, "istio_count": len(mine), "asm_count": len(kept),
                                              "asm_gateways": ", ".join(g.name for g in kept)},
                                      evidence={"asm_gateways": [g.name for g in kept], **ids},
                                      remediation=self.remediation, **subject)
                elif named := [g for g in undecided if not g.names_no_cluster]:
                    yield self.report(self.CLUSTER_ID_UNKNOWN, cluster.name,
                                      params={**params, "asm_gateways": ", ".join(g.name for g in named)},
                                      evidence={"clusterIds": {g.name: list(g.cluster_ids) for g in undecided},
                                                **ids},
                                      **subject)
                elif undecided:
                    yield self.report(self.NAMES_NO_CLUSTER, cluster.name,
                                      params={**params, "asm_gateways": ", ".join(g.name for g in undecided)},
                                      evidence={"clusterIds": {g.name: [] for g in undecided},
                                                "deployments_looked_for": [f"{g.namespace}/{g.workload_name}"
                                                                           for g in undecided]},
                                      **subject)
                else:
                    others = [f"{g.namespace}/{g.name} ({g.raw_type})" for g in gws]
                    # The fix template fills the remediation: the IstioGateway to create, with the cluster's id.
                    yield self.report(self.NOT_REPLACED, cluster.name,
                                      params={**params, "namespace": istio_gw.namespace, "name": istio_gw.name,
                                              "cluster_id": cid or f"<cluster id of {cluster.name}>"},
                                      evidence={**ids, "asm_gateways": others}, **subject)

    def _shared(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, kept: list[AsmGateway],
                deployed: set[tuple[str, str]], going: dict[tuple[str, str], AsmGateway],
                counts: dict[tuple[str, str], tuple[int | None, int | None]],
                workloads: dict[tuple[str, str], GatewayWorkload], subject: dict[str, str], ids: dict[str, Any],
                gtype: str, takers: list[GatewayWorkload]) -> list[Finding]:
        """What an Istio gateway left without an ASM gateway of its own (fewer ASM gateways than Istio's: AA1722)
        loses: the comparisons a matched gateway gets (_listeners, _ingresses, _gateway_api_hosts, _policies) against
        the first ASM gateway of the role that is deployed here, serves and stays. An operator's second Istio gateway
        (an internal one: IstioOperator spec.components.ingressGateways[] with its own `istio` label) serves hosts
        through Gateways selecting only its pods; main left them to a minor WARN, a GO while they die with it. With no
        such ASM gateway, only the Gateway API hosts are asked of (the first kept one), as before."""
        shared = next((g for g in kept if (key := (g.namespace, g.workload_name)) in deployed and _serves(counts[key])
                       and key not in going), None)
        if shared is None:
            return self._gateway_api_hosts(cluster, ctx, istio_gw, kept[0], subject, ids, gtype, takers)
        workload = workloads[(shared.namespace, shared.workload_name)]
        return [*self._listeners(cluster, ctx, istio_gw, shared, workload, subject, ids, gtype, takers),
                *self._ingresses(cluster, ctx, istio_gw, shared, subject, ids, gtype, takers),
                *self._gateway_api_hosts(cluster, ctx, istio_gw, shared, subject, ids, gtype, takers),
                *self._policies(cluster, ctx, istio_gw, shared, workload, subject, ids, gtype),
                *self._reach(cluster, ctx, istio_gw, shared, workload, subject, ids, gtype, takers),
                *self._fronting_istio(cluster, ctx, istio_gw, shared, workload, ids, gtype)]

    def _reach(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
               workload: GatewayWorkload, subject: dict[str, str], ids: dict[str, Any], gtype: str,
               takers: list[GatewayWorkload]) -> list[Finding]:
        """Whether clients outside the cluster reach an ASM gateway as they reach Istio's, from the Services selecting
        each gateway's pods (those of the role that serve, stay and take a host Istio's serves: _reach_pool; the one
        matched when that cannot be told; the patch names the pool's IstioGateway). An Ingress or a Gateway's route
        naming an ASM gateway Service as its backend reaches it as far as its own addresses do (gateway_fronts): UNKNOWN
        FRONT_UNTOLD where they do not tell and nothing else reaches ASM's as Istio's is reached. Istio's reached by a
        load balancer (with an address, or not shown pending) or spec.externalIPs: FAIL UNREACHED when no ASM Service
        is, NO_ADDRESS when ASM's load balancers have no address yet; then by the load balancers' address type, FAIL
        INTERNET_LOST when Istio's is internet-facing and ASM's only intranet, WARN INTERNET_OPENED the reverse. Istio's
        reached by node ports only (NodePort, a load balancer still pending, hostNetwork pods): FAIL UNREACHED when
        ASM's opens none. A ClusterIP Istio gateway loses nothing. ASM Services on the very load balancer Istio's
        Service names (ASM's ingress cut-over by CLB weights) change no one's reach: ingress-lb-weights judges that load
        balancer. UNKNOWN REACH_UNREAD: Services not read."""
        params = {"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name}
        cid = clusterid.used_id(cluster)
        service_type, type_field = gw.service_type_in(cid)
        evidence = {"asm_gateway": f"{gw.namespace}/{gw.name}", type_field: service_type, **ids}
        if not cluster.available(K.SERVICE):
            reason = f"services ({cluster.unread_reason(K.SERVICE)})"
            return [self.report(self.REACH_UNREAD, cluster.name, params={**params, "reason": reason},
                                evidence={**evidence, "unread": reason}, remediation=self.REACH_UNREAD.fix, **subject)]
        pool = self._reach_pool(cluster, ctx, istio_gw, workload, takers)
        asm_keys = {(w.namespace, w.name) for w in pool}
        # The IstioGateway whose Service the patch changes: the matched one where it is of the pool, else the pool's.
        if (gw.namespace, gw.workload_name) not in asm_keys:
            matched = f"{gw.namespace}/{gw.name}"
            gw = next((g for w in pool for g in asm_gateways(ctx.inv.require_asm())
                       if (g.namespace, g.workload_name) == (w.namespace, w.name)), gw)
            params = {**params, "asm_gateway": gw.name}
            service_type, type_field = gw.service_type_in(cid)
            evidence = {"asm_gateway": f"{gw.namespace}/{gw.name}", "matched_asm_gateway": matched,
                        type_field: service_type, **ids}
        istio_svcs, asm_svcs = [], []
        for svc in gateway_services(cluster, ctx.inv.rules, ctx.config.gateways):
            key = (svc.gateway.namespace, svc.gateway.name)
            if not svc.gateway.asm and key == (istio_gw.namespace, istio_gw.name):
                istio_svcs.append(svc)
            elif svc.gateway.asm and key in asm_keys:
                asm_svcs.append(svc)
        istio_outside = [s for s in istio_svcs if s.reached_from_outside]
        istio_lbs = {s.lb_id for s in istio_svcs if s.service_type == "LoadBalancer" and s.lb_id}
        if any(s.service_type == "LoadBalancer" and s.lb_id in istio_lbs for s in asm_svcs):
            return []  # the same load balancer: who reaches it does not change (ingress-lb-weights judges it)
        istio_nodes = istio_outside or [s for s in istio_svcs if s.opens_node_ports] or (
            istio_svcs if _host_network(cluster, istio_gw.kind, istio_gw.namespace, istio_gw.name) else [])
        if not istio_nodes:
            return []  # ClusterIP: nothing outside reaches it but what stands in front of it (an Ingress, an SLB)
        asm_outside = [s for s in asm_svcs if s.reached_from_outside]
        # An Ingress or a Gateway API route in front of ASM's Services (ALB, nginx) reaches ASM's gateway as far as
        # its own addresses reach (gateway_fronts): one reached from the cluster alone carries no outside client
        # (main took any front for Istio's reach: an internal nginx beside Istio's internet CLB passed, a GO).
        fronts = gateway_fronts(cluster, [(s.name, s.namespace) for s in asm_svcs]) if asm_svcs else []
        fronts_outside = [fr for fr in fronts if fr.reach in (INTERNET, INTRANET)]
        untold = [fr for fr in fronts if fr.reach is None]
        evidence = {**evidence, "istio_services": {f"{s.namespace}/{s.name}": _reach_evidence(s) for s in istio_svcs},
                    "asm_services": {f"{s.namespace}/{s.name}": _reach_evidence(s) for s in asm_svcs},
                    **({"fronts": {f"{fr.kind} {fr.namespace}/{fr.name}": {
                        "reach": fr.reach, "addresses": list(fr.addresses),
                        **({"alb_config": fr.alb_config} if fr.alb_config else {})} for fr in fronts}}
                       if fronts else {})}
        params = {**params, "istio_services": _services_text(istio_outside or istio_nodes),
                  "asm_services": ", ".join(filter(None, [_services_text(asm_svcs), *(fr.text() for fr in fronts)]))
                  or Phrase(N_("no Service"))}
        asm_nodes = asm_outside or [s for s in asm_svcs if s.opens_node_ports] or (
            asm_svcs if any(_host_network(cluster, w.kind, w.namespace, w.name) for w in pool) else [])
        if not (asm_outside if istio_outside else asm_nodes) and not fronts_outside:
            if untold:
                return [self._front_untold(cluster, untold, params, evidence, subject)]
            pending = [s for s in asm_svcs if s.lb_pending]
            if istio_outside and pending:
                return [self.report(self.NO_ADDRESS, cluster.name,
                                    params={**params, "asm_services": _services_text(pending),
                                            "command": f"{mesh.kubectl_in(cluster.name, pending[0].namespace)} "
                                                       f"describe {mesh.object_ref('service', pending[0].name)}"},
                                    evidence=evidence, **subject)]
            wanted = "LoadBalancer" if istio_outside else "NodePort"
            return [self.report(self.UNREACHED, cluster.name,
                                params={**params, "command": _istiogateway_patch(
                                    gw, cid, type_field != "spec.serviceType", {"serviceType": wanted})},
                                evidence=evidence, **subject)]
        istio_types = {s.address_type() for s in istio_outside if s.service_type == "LoadBalancer"}
        own_types = {s.address_type() for s in asm_outside if s.service_type == "LoadBalancer"}
        asm_types = own_types | {fr.reach for fr in fronts_outside}
        if not istio_types or not asm_types or None in own_types or any(s.external_ips for s in asm_outside):
            return []  # not load balancers on both sides, or who reaches ASM's is not told
        if INTERNET in istio_types and INTERNET not in asm_types and untold:
            return [self._front_untold(cluster, untold, params, evidence, subject)]
        if INTERNET in istio_types and asm_types == {INTRANET}:
            outcome, wanted = self.INTERNET_LOST, INTERNET
        elif istio_types == {INTRANET} and INTERNET in own_types:
            outcome, wanted = self.INTERNET_OPENED, INTRANET
        else:
            return []
        annotation = LB_ADDRESS_TYPE_ANNOTATIONS[0]
        # Where the cluster's Service takes the annotation from: spec.overrides[<cluster id>] when it sets one there.
        override = gw.override_in(cid)
        overridden = isinstance(override, dict) and first_annotation(
            {str(k): str(v) for k, v in (override.get("serviceAnnotations") or {}).items()},
            LB_ADDRESS_TYPE_ANNOTATIONS) is not None
        patch: dict[str, Any] = {"serviceAnnotations": {annotation: wanted}}
        if not own_types:
            # Only fronts reach ASM's gateway (intranet ones): its own Service becomes the internet load balancer.
            patch["serviceType"] = "LoadBalancer"
            overridden = overridden or type_field != "spec.serviceType"
        return [self.report(outcome, cluster.name,
                            params={**params, "annotation": annotation,
                                    "command": _istiogateway_patch(gw, cid, overridden, patch)},
                            evidence=evidence, **subject)]

    def _fronting_istio(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
                        workload: GatewayWorkload, ids: dict[str, Any], gtype: str) -> list[Finding]:
        """FAIL FRONTS_ISTIO for each Ingress or Gateway API route of a Gateway (gateway_fronts, mirrors aside) whose
        backend is a Service selecting the Istio ingress gateway's pods (a Service re-pointed at ASM's pods counts as
        ASM's: not named), with the JSON patch that names the ASM gateway's Service instead (one of the Ingress's
        namespace where there is one) and, where that Service lacks the backend's port as written, ASM's port of the
        same number or targetPort (asm_backend_port); FAIL FRONTS_ISTIO_NO_PORT where it has none, the IstioGateway's
        spec.ports patch first. Services not read: _reach says UNKNOWN AA1753."""
        if gtype != INGRESS or not cluster.available(K.SERVICE):
            return []  # routes to Istio's egress gateway: egress-routes-to-asm's (AA1611); Ingresses: purge-preview's
        istio_svcs, asm_svcs = [], []
        for svc in gateway_services(cluster, ctx.inv.rules, ctx.config.gateways):
            key = (svc.gateway.namespace, svc.gateway.name)
            if not svc.gateway.asm and key == (istio_gw.namespace, istio_gw.name):
                istio_svcs.append(svc)
            elif svc.gateway.asm and key == (workload.namespace, workload.name):
                asm_svcs.append(svc)
        # A Service carrying operator.istio.io/component is one `istioctl uninstall --purge` deletes (the istio-ingress
        # chart's, istioctl's: templates/service.yaml @1.22.3): purge-preview names each front still on it (AA2513), the
        # one edit for both. Those the purge leaves (the gateway chart's, or the label taken off) are judged here.
        istio_svcs = [svc for svc in istio_svcs if COMPONENT_LABEL not in svc.labels]
        if not istio_svcs:
            return []
        kinds = {"Ingress": K.INGRESS, **{k.kind: k for k in K.K8S_ROUTE_KINDS}}
        out: list[Finding] = []
        for front in gateway_fronts(cluster, [(s.name, s.namespace) for s in istio_svcs]):
            obj = cluster.get(kinds[front.kind], front.name, front.namespace) or {}
            for svc in istio_svcs:
                paths = backend_name_paths(obj, front.kind, (svc.name.lower(), svc.namespace.lower()))
                if not paths:
                    continue
                asm_svc = next((a for a in asm_svcs if a.namespace == front.namespace), None) or (
                    asm_svcs[0] if asm_svcs else None)
                asm_name, asm_ns = (asm_svc.name, asm_svc.namespace) if asm_svc else (gw.workload_name, gw.namespace)
                istio_ports = service_port_entries(cluster.get(K.SERVICE, svc.name, svc.namespace))
                asm_ports = _asm_service_ports(cluster, ctx, asm_svc, gw)
                ops: list[dict[str, Any]] = []
                missing: list[tuple[str, Any, dict[str, Any] | None]] = []
                for path, written in paths:
                    how, entry = asm_backend_port(written, istio_ports, asm_ports)
                    base = path.removesuffix("/name")
                    if front.kind == "Ingress":
                        ops.append({"op": "replace", "path": path, "value": asm_name})
                        if how == PORT_MOVED and entry is not None:
                            ops.append({"op": "replace", "path": f"{base}/port", "value": {"number": entry["port"]}})
                    else:
                        ops.append({"op": "add", "path": f"{path}/name", "value": asm_name})
                        if asm_ns != front.namespace:
                            ops.append({"op": "add", "path": f"{path}/namespace", "value": asm_ns})
                        if how == PORT_MOVED and entry is not None:
                            ops.append({"op": "replace", "path": f"{path}/port", "value": entry["port"]})
                    if how == PORT_MISSING:
                        missing.append((path, written, entry))
                resource = "ingress" if front.kind == "Ingress" else f"{front.kind.lower()}.{GATEWAY_API_GROUP}"
                body = json.dumps(ops, separators=(",", ":"))
                command = (f"{mesh.kubectl_in(cluster.name, front.namespace)} patch "
                           f"{mesh.object_ref(resource, front.name)} --type=json -p {mesh.sh(body)}")
                params = {"front": f"{front.kind} {front.namespace}/{front.name}",
                          "service": f"{svc.namespace}/{svc.name}", "gateway_type": gtype, "asm_gateway": gw.name,
                          "asm_service": f"{asm_ns}/{asm_name}", "istio_gateway": istio_gw.name}
                evidence = {"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                            "service": f"{svc.namespace}/{svc.name}", "backend_paths": [p for p, _ in paths],
                            "asm_service": f"{asm_ns}/{asm_name}", **ids}
                subject = {"kind": front.kind, "namespace": front.namespace, "name": front.name}
                if not missing:
                    out.append(self.report(self.FRONTS_ISTIO, cluster.name, params={**params, "command": command},
                                           evidence=evidence, **subject))
                    continue
                # A port ASM's Service lacks: add Istio's (its name, number, targetPort) to the IstioGateway first, so
                # that the backend renamed reaches it as written.
                added = [entry for _, _, entry in missing if entry is not None]
                new_ports = [p for p in added if not any(p["port"] == q["port"] for q in asm_ports or ())]
                # A merge patch replaces the whole list: the ports ASM's Service has now (as the IstioGateway writes
                # them, else as the Service does) stay.
                kept = service_port_entries(_istio_gateway_object(ctx, gw)) or asm_ports or []
                port_command = _istiogateway_patch(gw, None, False, {"ports": [
                    {k: p[k] for k in ("name", "port", "targetPort", "protocol") if k in p}
                    for p in (*kept, *{p["port"]: p for p in new_ports}.values())]}) if new_ports else (
                    f"{mesh.ASM_KUBECTL} {mesh.ns_flag(gw.namespace)} get "
                    f"{mesh.object_ref('istiogateway', gw.name)} -o yaml")
                out.append(self.report(
                    self.FRONTS_ISTIO_NO_PORT, cluster.name,
                    params={**params, "port": ", ".join(_port_text(w) for _, w, _ in missing),
                            "asm_ports": ", ".join(_port_text(p) for p in asm_ports or ()) or Phrase(N_("none")),
                            "command": port_command, "backend_command": command},
                    evidence={**evidence, "ports_missing": {p: w for p, w, _ in missing},
                              "asm_service_ports": asm_ports}, **subject))
        return out

    def _front_untold(self, cluster: ClusterInventory, untold: list[Front], params: dict[str, Any],
                      evidence: dict[str, Any], subject: dict[str, str]) -> Finding:
        """UNKNOWN FRONT_UNTOLD: ASM's gateway is reached only through fronts whose addresses do not tell who reaches
        them; the command shows the first one, its IngressClass (whose spec.parameters names an ALB's AlbConfig) and
        that AlbConfig (not read, not found, or reusing an ALB by spec.config.id)."""
        first = untold[0]
        refs = [mesh.object_ref(first.kind.lower() if first.kind == "Ingress"
                                else f"{first.kind.lower()}.{GATEWAY_API_GROUP}", first.name)]
        if first.ingress_class:
            refs.append(mesh.object_ref("ingressclass", first.ingress_class))
        if first.alb_config:
            refs.append(mesh.object_ref(f"{K.ALBCONFIG.plural}.{K.ALBCONFIG.group}", first.alb_config))
        command = f"{mesh.kubectl_in(cluster.name, first.namespace)} get {' '.join(refs)} -o yaml"
        return self.report(self.FRONT_UNTOLD, cluster.name,
                           params={**params, "fronts": ", ".join(fr.text() for fr in untold[:10]),
                                   "command": command},
                           evidence=evidence, **subject)

    def _reach_pool(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload,
                    workload: GatewayWorkload, takers: list[GatewayWorkload]) -> list[GatewayWorkload]:
        """The ASM gateways whose Services stand for Istio's reach: of those of the role that serve and stay
        (`takers`), the ones that take a host Istio's gateway serves, as _listeners and _ingresses read them (the hosts
        the Istio Gateways selecting its pods route, and those of the Ingresses its istiods serve there, against what
        Istio Gateways selecting ASM's pods route). An internet ASM gateway serving other hosts does not carry Istio's
        internet clients to an intranet one that took them (review22c: the pool passed AA1701, a GO). When that cannot
        be told (Gateways unread, no host of Istio's known, none taken), the matched gateway alone."""
        asm = ctx.inv.asm
        if asm is None or not cluster.available(K.GATEWAY) or not asm.available(K.GATEWAY):
            return [workload]
        istio_hosts, _ = _hosts_served(cluster, asm, istio_gw)
        istio_routes_read = cluster.available(K.VIRTUALSERVICE)
        istio_bound = bound_virtual_services(cluster.objects(K.VIRTUALSERVICE) if istio_routes_read else ())
        asked = {name for served in istio_hosts
                 for name in (route_hosts(served, istio_bound) if istio_routes_read else [served.host])}
        asked.update(istio_served_ingresses(cluster, istio_gw.pod_labels).hosts)
        if not asked:
            return [workload]
        asked_index = HostIndex((h, h) for h in asked)
        asm_routes_read = asm.available(K.VIRTUALSERVICE)
        asm_bound = bound_virtual_services(asm.objects(K.VIRTUALSERVICE) if asm_routes_read else ())
        export_default = asm_export_default(ctx)
        pool = []
        for taker in takers:
            taken = [name for served in _hosts_served(cluster, asm, taker)[0]
                     for name in (route_hosts(served, asm_bound, export_default=export_default) if asm_routes_read
                                  else [served.host])]
            taken_index = HostIndex((h, h) for h in taken)
            # Either way round: ASM's `*.a.com` takes Istio's `x.a.com`, ASM's `x.a.com` part of Istio's `*.a.com`.
            if any(map(taken_index.covers, asked)) or any(map(asked_index.covers, taken)):
                pool.append(taker)
        return pool or [workload]

    def _role_unknown(self, cluster: ClusterInventory, unknown: list[GatewayWorkload], gws: list[AsmGateway],
                      deployed: set[tuple[str, str]], known: clusterid.Identity,
                      counts: dict[tuple[str, str], tuple[int | None, int | None]]) -> Iterator[Finding]:
        """Istio gateways whose role nothing tells are still replaced: any ASM ingress/egress gateway for this
        cluster may be the one; none at all is a FAIL. A role that config unread would have told (role_unread) is
        UNKNOWN beside ASM gateways: read, it may be one that none of them replaces (FAIL AA1710)."""
        # Only those whose Deployment runs here with a pod available: one declared for the cluster but not deployed, or
        # deployed with no pod available (AA1713), serves nothing; nor one being deleted on the ASM control plane
        # (going_workloads: its Deployment goes with it).
        going = going_workloads(gws)
        candidates = [g for g in gws if g.type in (INGRESS, EGRESS) and g.covers(known.cluster_id) is not False
                      and (key := (g.namespace, g.workload_name)) in deployed and key not in going
                      and _serves(counts[key])]
        for gw in unknown:
            subject = {"kind": gw.kind, "namespace": gw.namespace, "name": gw.name}
            evidence = {"why_gateway": gw.reason, "installed_by": gw.installed_by,
                        "asm_gateways": [f"{g.namespace}/{g.name} ({g.raw_type})" for g in candidates],
                        **known.evidence()}
            params = {"namespace": gw.namespace, "name": gw.name}
            if candidates and gw.role_unread:
                yield self.report(self.ROLE_UNREAD, cluster.name,
                                  params={**params, "why": gateway_role_why(gw),
                                          "asm_gateways": ", ".join(g.name for g in candidates)},
                                  evidence={**evidence, "not_read": gw.role_unread}, remediation=SCAN_UNREAD_FIX,
                                  **subject)
            elif candidates:
                yield self.report(self.ROLE_UNKNOWN_CONFIRM, cluster.name,
                                  params={**params, "asm_gateways": ", ".join(g.name for g in candidates)},
                                  evidence=evidence, remediation=self.remediation, **subject)
            else:
                yield self.report(self.ROLE_UNKNOWN_NOT_REPLACED, cluster.name, params=params,
                                  remediation=self.remediation, evidence=evidence, **subject)

    def _listeners(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
                   asm_workload: GatewayWorkload, subject: dict[str, str], ids: dict[str, Any],
                   gtype: str, asm_workloads: list[GatewayWorkload]) -> list[Finding]:
        """FAIL NO_LISTENER when Istio Gateways (of the cluster or the ASM control plane) select the Istio gateway's
        pods and none selects the ASM gateway's; UNKNOWN LISTENERS_UNREAD when those Gateways could not be read (a
        selector that binds only Istio's pods would not be seen); else what _served says of their hosts and ports
        (empty: nothing lost)."""
        asm = ctx.inv.asm
        unread = [f"{where}: {c.unread_reason(K.GATEWAY)}" for where, c in (("the cluster", cluster), ("ASM", asm))
                  if c is not None and not c.available(K.GATEWAY)]
        if asm is None or unread:
            return [self.report(self.LISTENERS_UNREAD, cluster.name,
                                params={"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name,
                                        "reason": "; ".join(unread) or "no ASM control plane given"},
                                evidence={"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                                          "gateways_unread": unread, **ids},
                                remediation=self.LISTENERS_UNREAD.fix, **subject)]
        objects = _gateway_objects(cluster, asm)
        istio_bound = gateways_selecting(objects, istio_gw.pod_labels)
        if not istio_bound:
            return []
        if not gateways_selecting(objects, asm_workload.pod_labels):
            labels = ", ".join(f"{k}={v}" for k, v in sorted(asm_workload.pod_labels.items())
                               if k in ("app", "istio"))
            return [self.report(self.NO_LISTENER, cluster.name,
                                params={"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name,
                                        "asm_labels": labels, "gateways": ", ".join(istio_bound)},
                                evidence={"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                                          "gateways_selecting_istio": istio_bound,
                                          "asm_pod_labels": dict(asm_workload.pod_labels), **ids},
                                remediation=self.NO_LISTENER.fix, **subject)]
        params = {"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name}
        evidence = {"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                    "gateways_selecting_istio": istio_bound, **ids}
        return self._served(cluster, asm, istio_gw, asm_workloads, params, evidence, subject,
                            asm_export_default(ctx))

    def _policies(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
                  asm_workload: GatewayWorkload, subject: dict[str, str], ids: dict[str, Any],
                  gtype: str) -> list[Finding]:
        """FAIL POLICIES_UNGUARDED where a policy the cluster's istiod applies to the Istio gateway's pods has no
        counterpart the ASM control plane applies to the ASM gateway's pods (auditor.gateways gateway_policy_parity);
        UNKNOWN POLICIES_UNREAD where a kind was not read (a CRD not served was read: none)."""
        parity = gateway_policy_parity(cluster, ctx.inv.asm, istio_gw, asm_workload, istio_root_namespaces(cluster),
                                       asm_root_namespace(ctx.config))
        params = {"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name}
        evidence = {"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}", **ids}
        out: list[Finding] = []
        if parity.missing:
            refs = [p.ref for p in parity.missing]
            shown = ", ".join(refs[:10]) + (f" (+{len(refs) - 10})" if len(refs) > 10 else "")
            shown_labels = sorted((k, v) for k, v in asm_workload.pod_labels.items() if k in ("app", "istio")) or (
                sorted(asm_workload.pod_labels.items())[:5])
            labels = ", ".join(f"{k}={v}" for k, v in shown_labels)
            out.append(self.report(
                self.POLICIES_UNGUARDED, cluster.name, params={**params, "policies": shown, "asm_labels": labels},
                evidence={**evidence, "policies_unguarded": [p.evidence() for p in parity.missing[:50]],
                          "asm_pod_labels": dict(asm_workload.pod_labels)},
                remediation=self.POLICIES_UNGUARDED.fix, **subject))
        if parity.unread:
            reason = "; ".join(parity.unread)
            out.append(self.report(
                self.POLICIES_UNREAD, cluster.name, params={**params, "reason": reason},
                evidence={**evidence, "unread": list(parity.unread),
                          "policies_untold": [p.evidence() for p in parity.untold[:50]]},
                remediation=self.POLICIES_UNREAD.fix, **subject))
        return out

    def _ingresses(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
                   subject: dict[str, str], ids: dict[str, Any], gtype: str,
                   asm_workloads: list[GatewayWorkload]) -> list[Finding]:
        """UNKNOWN INGRESSES_UNTOLD when Istio's istiods serve Kubernetes Ingresses on the Istio gateway's pods, or when
        which they serve could not be read (Ingresses, IngressClasses or a mesh ConfigMap): ASM's gateway serves them
        only where ASM's Ingress API access is on, which the cluster does not show. An Ingress whose every host an
        Istio Gateway selecting an ASM gateway's pods serves (moved to Gateways and VirtualServices, as AA1715 reads
        them) is not named."""
        served = istio_served_ingresses(cluster, istio_gw.pod_labels)
        if not served.ingresses and not served.unread:
            return []
        asm = ctx.inv.asm
        if served.ingresses and asm is not None and cluster.available(K.GATEWAY) and asm.available(K.GATEWAY):
            # What routes bound to those Gateways take there (route_hosts, as _served reads them; ASM's
            # VirtualServices unread: none shown taken, the UNKNOWN stays).
            bound = bound_virtual_services(asm.objects(K.VIRTUALSERVICE) if asm.available(K.VIRTUALSERVICE) else ())
            covering = HostIndex((name, h) for w in asm_workloads for h in _hosts_served(cluster, asm, w)[0]
                                 for name in route_hosts(h, bound, export_default=asm_export_default(ctx)))
            left = {key: hosts for key, hosts in served.ingresses.items() if not all(map(covering.covers, hosts))}
            served = dataclasses.replace(served, ingresses=left)
            if not served.ingresses and not served.unread:
                return []
        if served.ingresses:
            names = sorted(served.ingresses)
            why = Phrase(N_("Istio serves Ingress(es) {ingresses} there (hosts {hosts}); ASM serves Ingresses only on "
                            "a gateway whose Ingress API access is on, which no Kubernetes object shows"),
                         ingresses=", ".join(names[:10]) + (f" (+{len(names) - 10})" if len(names) > 10 else ""),
                         hosts=", ".join(served.hosts[:10]))
        else:
            why = Phrase(N_("which Ingresses Istio serves there could not be read: {reason}"),
                         reason="; ".join(served.unread[:5]))
        return [self.report(self.INGRESSES_UNTOLD, cluster.name,
                            params={"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name,
                                    "why": why},
                            evidence={"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                                      "ingress_selectors": list(served.selectors),
                                      "ingresses": {k: list(v) for k, v in sorted(served.ingresses.items())[:50]},
                                      "unread": list(served.unread[:10]), **ids},
                            remediation=self.INGRESSES_UNTOLD.fix, **subject)]

    def _gateway_api_hosts(self, cluster: ClusterInventory, ctx: Context, istio_gw: GatewayWorkload, gw: AsmGateway,
                           subject: dict[str, str], ids: dict[str, Any], gtype: str,
                           asm_workloads: list[GatewayWorkload]) -> list[Finding]:
        """For an Istio gateway istiod deployed for a Gateway API Gateway: FAIL GATEWAY_API_UNBOUND when a host of that
        Gateway's listeners is taken neither by a Gateway (of the cluster or the ASM control plane, of an Istio class)
        bound through spec.addresses to the Service of an ASM gateway of the same type with pods available, nor by an
        Istio Gateway selecting such a gateway's pods; UNKNOWN GATEWAY_API_UNTOLD where what would tell was not read.
        A Deployment whose Gateway is gone serves no listener (residue judges it): nothing to lose here."""
        if istio_gw.installed_by != INSTALL_GATEWAY_API or not cluster.available(K.K8S_GATEWAY):
            return []  # an unread Gateway API: AA1732 says the scan is blind
        owner = next((istio_gw.labels[k] for k in gatewayapi.GATEWAY_NAME_LABELS if istio_gw.labels.get(k)), "") or (
            next((istio_gw.pod_labels[k] for k in gatewayapi.GATEWAY_NAME_LABELS if istio_gw.pod_labels.get(k)), ""))
        own = cluster.get(K.K8S_GATEWAY, owner, istio_gw.namespace) if owner else None
        if own is None:
            return []
        unread = [f"the cluster's {kind.kind} ({cluster.unread_reason(kind)})" for kind in K.K8S_ROUTE_KINDS
                  if not cluster.available(kind)]
        routes = [r for kind in K.K8S_ROUTE_KINDS if cluster.available(kind) for r in cluster.objects(kind)]
        wanted = gatewayapi.listener_hosts(own, routes)
        if not wanted:
            return []
        asm = ctx.inv.asm
        sources = [("the cluster", cluster), ("ASM", asm)]
        unread += [f"{where}: {c.unread_reason(kind)}" for where, c in sources if c is not None
                   for kind in (K.K8S_GATEWAY, K.GATEWAY) if not c.available(kind)]
        if asm is None:
            unread.append("no ASM control plane given")
        if not cluster.available(K.SERVICE):  # the ASM gateways' Services, that a Gateway binds to
            unread.append(f"the cluster's Service ({cluster.unread_reason(K.SERVICE)})")
        # What ASM's gateways of this type take, (host, terminates TLS): hosts of Istio Gateways selecting their pods
        # (a TLS server only with a certificate istiod serves them, as AA1717 reads it), and listeners of Gateways bound
        # to their Services (a TLS listener only with certificateRefs istiod serves a proxy of their namespace).
        istio_objects = [o for _, c in sources if c is not None and c.available(K.GATEWAY)
                         for o in c.objects(K.GATEWAY)]
        # ... of those servers, what routes bound to their Gateways take (route_hosts, as _served reads them).
        listed = [h for w in asm_workloads for h in served_hosts(cluster, w, istio_objects)[0]
                  if not h.secret or h.secret_readable]
        vs_read = asm is not None and asm.available(K.VIRTUALSERVICE)
        if listed and asm is not None and not vs_read:
            unread.append(f"ASM's VirtualServices ({asm.unread_reason(K.VIRTUALSERVICE)})")
        bound = bound_virtual_services(asm.objects(K.VIRTUALSERVICE) if vs_read and asm is not None else ())
        export_default = asm_export_default(ctx)
        taken = [(name, bool(h.secret)) for h in listed
                 for name in route_hosts(h, bound, export_default=export_default)]
        keys = {(w.namespace, w.name) for w in asm_workloads}
        services = {(s.name.lower(), s.namespace.lower()) for s in gateway_services(cluster, ctx.inv.rules,
                                                                                    ctx.config.gateways)
                    if (s.gateway.namespace, s.gateway.name) in keys}
        grants = [o for _, c in sources if c is not None and c.available(K.K8S_REFERENCEGRANT)
                  for o in c.objects(K.K8S_REFERENCEGRANT)]
        grants_unread = [f"{where}: {c.unread_reason(K.K8S_REFERENCEGRANT)}" for where, c in sources
                         if c is not None and not c.available(K.K8S_REFERENCEGRANT)]
        # The routes that may attach to a bound Gateway: of the cluster and of ASM (a listener without one serves
        # nothing).
        asm_routes = [*routes, *(r for kind in K.K8S_ROUTE_KINDS if asm is not None and asm.available(kind)
                                 for r in asm.objects(kind))]
        routes_unread = [f"ASM's {kind.kind} ({asm.unread_reason(kind)})" for kind in K.K8S_ROUTE_KINDS
                         if asm is not None and not asm.available(kind)]
        denied_secrets: set[str] = set()

        def namespace_labels(namespace: str) -> dict[str, str] | None:
            """A route namespace's labels for a listener's allowedRoutes Selector (None: Namespaces not read)."""
            return idle.namespace_labels(cluster, namespace) if cluster.available(K.NAMESPACE) else None

        for _, c in sources:
            if c is None or not c.available(K.K8S_GATEWAY):
                continue
            classes = ({(o.get("metadata") or {}).get("name", ""): o for o in c.objects(K.K8S_GATEWAYCLASS)}
                       if c.available(K.K8S_GATEWAYCLASS) else None)
            for other in c.objects(K.K8S_GATEWAY):
                bound = set(gatewayapi.bound_services(other)) & services
                spec = other.get("spec") if isinstance(other.get("spec"), dict) else {}
                if not bound or gatewayapi.class_is_istio(str(spec.get("gatewayClassName") or ""), classes) is False:
                    continue
                for _, proxy_namespace in sorted(bound):
                    denied, secrets = gatewayapi.listeners_denied_certificates(other, proxy_namespace, grants) or (
                        set(), [])
                    if denied and grants_unread:
                        unread += [f"ReferenceGrants ({r})" for r in grants_unread if f"ReferenceGrants ({r})"
                                   not in unread]
                    denied_secrets.update(secrets)
                    hosts = gatewayapi.listener_hosts(other, asm_routes, denied, routed=True,
                                                      namespace_labels=namespace_labels)
                    if not hosts and routes_unread:
                        unread += [r for r in routes_unread if r not in unread]
                    taken += hosts
        takes = {secure: HostIndex((t, t) for t, t_secure in taken if t_secure == secure) for secure in (False, True)}
        lost = sorted({h for h, secure in wanted if not takes[secure].covers(h)})
        if not lost:
            return []
        params = {"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_gw.name,
                  "hosts": ", ".join(lost), "gateway": f"{istio_gw.namespace}/{owner}"}
        evidence = {"istio_gateway": istio_gw.name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                    "gateway_api_gateway": f"{istio_gw.namespace}/{owner}", "hosts_untaken": lost,
                    "asm_gateway_services": sorted(f"{n}.{ns}" for n, ns in services),
                    **({"certificates_not_served": sorted(denied_secrets)} if denied_secrets else {}), **ids}
        if unread:
            return [self.report(self.GATEWAY_API_UNTOLD, cluster.name, params={**params, "reason": "; ".join(unread)},
                                evidence={**evidence, "unread": unread}, remediation=self.GATEWAY_API_UNTOLD.fix,
                                **subject)]
        return [self.report(self.GATEWAY_API_UNBOUND, cluster.name, params=params, evidence=evidence,
                            remediation=self.GATEWAY_API_UNBOUND.fix, **subject)]

    def _served(self, cluster: ClusterInventory, asm: ClusterInventory, istio_gw: GatewayWorkload,
                asm_workloads: list[GatewayWorkload], params: dict[str, Any],
                evidence: dict[str, Any], subject: dict[str, str], export_default: tuple[str, ...]) -> list[Finding]:
        """Every host the Gateways selecting the Istio gateway's pods serve must be served by a Gateway selecting an
        ASM gateway's pods (any ASM gateway of the cluster of the same type with a pod available, `asm_workloads`: one
        may take some hosts, another the rest):
        FAIL HOSTS_UNSERVED. At each Service port where clients reach Istio's listener for a host, an ASM gateway's
        Service port must reach a listener for it: FAIL PORTS_UNREACHED, UNKNOWN PORTS_UNTOLD where the ports cannot be
        told. A TLS host whose certificate Secret ASM's gateway is named only outside its own namespace: FAIL
        SECRET_DENIED (istiod serves none); one of its own namespace other than Istio's: UNKNOWN SECRET_ELSEWHERE (the
        audit reads no Secret: names and namespaces only).

        A Gateway server serves only what routes bound to its Gateway take (route_hosts), on either gateway: Istio's
        gateway is asked for what the cluster's VirtualServices route on it (a VirtualService without exportTo seen by
        it: Istio's mesh default is not read, `*` errs to asking more), not for a host it answers 404 already (a
        Gateway no VirtualService binds loses nothing); with
        the cluster's VirtualServices unread, for every server host, and what ASM's gateway does not route of them is
        UNKNOWN ROUTES_UNREAD, not a FAIL. ASM's gateway serves only what routes of the right kind, bound and exported
        to it, take (the ASM control plane's VirtualServices, which ASM's istiod reads; a VirtualService without
        exportTo by asm.mesh_config's defaultVirtualServiceExportTo, `*` when not given). A host listed by a Gateway
        selecting an ASM gateway's pods and routed by none there: FAIL ROUTES_UNBOUND; UNKNOWN ROUTES_UNREAD where the
        VirtualServices could not be read."""
        istio_hosts, istio_unresolved = _hosts_served(cluster, asm, istio_gw)
        asm_hosts: list[Any] = []
        asm_unresolved: list[str] = []
        for workload in asm_workloads:
            hosts, unresolved = _hosts_served(cluster, asm, workload)
            asm_hosts += hosts
            asm_unresolved += unresolved
        # Istio's istiod routes by the cluster's VirtualServices, ASM's by the ASM control plane's (where the Istio
        # config is imported, istio-config-imported): a VirtualService left in the cluster routes nothing on ASM's.
        istio_routes_read = cluster.available(K.VIRTUALSERVICE)
        istio_bound = bound_virtual_services(cluster.objects(K.VIRTUALSERVICE) if istio_routes_read else ())
        routes_unread = [] if asm.available(K.VIRTUALSERVICE) else [
            f"ASM's VirtualServices ({asm.unread_reason(K.VIRTUALSERVICE)})"]
        if not istio_routes_read:
            routes_unread.append(f"the cluster's VirtualServices ({cluster.unread_reason(K.VIRTUALSERVICE)})")
        asm_bound = bound_virtual_services(asm.objects(K.VIRTUALSERVICE) if asm.available(K.VIRTUALSERVICE) else ())
        routed = HostIndex((name, a) for a in asm_hosts
                           for name in route_hosts(a, asm_bound, export_default=export_default))
        unrouted: dict[str, set[str]] = {}    # host -> the Gateways listing it for ASM's pods, without a route there
        lost_hosts: dict[str, set[str]] = {}   # host -> the Gateways serving it on Istio's
        lost_ports: dict[int, set[str]] = {}   # Service port -> hosts
        secrets: dict[str, tuple[str, set[str]]] = {}  # host -> (Istio's Secret, ASM's other Secrets)
        denied: dict[str, set[str]] = {}  # host -> the Secrets of other namespaces ASM's servers name
        untold = False
        asm_index = HostIndex((a.host, a) for a in asm_hosts)
        asked = [(name, served) for served in istio_hosts
                 for name in (route_hosts(served, istio_bound) if istio_routes_read else [served.host])]
        for host, served in asked:
            covering = routed.covering(host)
            if not covering:
                if not asm_index.covers(host):
                    lost_hosts.setdefault(host, set()).add(served.gateway)
                else:
                    unrouted.setdefault(host, set()).update(a.gateway for a in asm_index.covering(host))
                continue
            if served.ports is None:
                untold = True
            for port in sorted(served.ports or ()):
                if any(a.ports is not None and port in a.ports for a in covering):
                    continue
                if any(a.ports is None for a in covering):
                    untold = True  # an ASM server whose ports are not told may reach it
                else:
                    lost_ports.setdefault(port, set()).add(host)
            # Certificates, where Istio's gateway is served its Secret: ASM's reads one of its own namespace, the same
            # object only where the namespaces are the same.
            tls = [a for a in covering if a.secret]
            if served.secret_readable and tls and not any(a.secret == served.secret and a.secret_readable
                                                           for a in tls):
                readable = {a.secret for a in tls if a.secret_readable}
                if readable:
                    secrets.setdefault(host, (served.secret, set()))[1].update(readable)
                else:
                    denied.setdefault(host, set()).update(a.secret for a in tls)
        out: list[Finding] = []
        if lost_hosts:
            out.append(self.report(
                self.HOSTS_UNSERVED, cluster.name,
                params={**params, "hosts": ", ".join(sorted(lost_hosts)),
                        "gateways": ", ".join(sorted(set().union(*lost_hosts.values())))},
                evidence={**evidence, "hosts_unserved": {h: sorted(g) for h, g in sorted(lost_hosts.items())}},
                remediation=self.HOSTS_UNSERVED.fix, **subject))
        if unrouted:
            hosts_param = {**params, "hosts": ", ".join(sorted(unrouted))}
            routes_evidence = {**evidence, "hosts_unrouted": {h: sorted(g) for h, g in sorted(unrouted.items())}}
            if routes_unread:
                reason = "; ".join(routes_unread)
                out.append(self.report(self.ROUTES_UNREAD, cluster.name, params={**hosts_param, "reason": reason},
                                       evidence={**routes_evidence, "unread": routes_unread},
                                       remediation=self.ROUTES_UNREAD.fix, **subject))
            else:
                out.append(self.report(
                    self.ROUTES_UNBOUND, cluster.name,
                    params={**hosts_param, "gateways": ", ".join(sorted(set().union(*unrouted.values())))},
                    evidence=routes_evidence, remediation=self.ROUTES_UNBOUND.fix, **subject))
        if lost_ports:
            missing = "; ".join(f"port {port} ({', '.join(sorted(hosts))})"
                                for port, hosts in sorted(lost_ports.items()))
            out.append(self.report(
                self.PORTS_UNREACHED, cluster.name, params={**params, "missing": missing},
                evidence={**evidence, "ports_unreached": {str(p): sorted(h) for p, h in sorted(lost_ports.items())}},
                remediation=self.PORTS_UNREACHED.fix, **subject))
        elif untold or istio_unresolved:
            reason = "; ".join(dict.fromkeys([*istio_unresolved, *asm_unresolved])) or (
                f"services ({cluster.unread_reason(K.SERVICE)})")
            out.append(self.report(self.PORTS_UNTOLD, cluster.name, params={**params, "reason": reason},
                                   evidence={**evidence, "ports_untold": reason},
                                   remediation=self.PORTS_UNTOLD.fix, **subject))
        if denied:
            out.append(self.report(
                self.SECRET_DENIED, cluster.name,
                params={**params, "hosts": ", ".join(sorted(denied)),
                        "asm_secrets": ", ".join(sorted(set().union(*denied.values())))},
                evidence={**evidence, "secrets_denied": {h: sorted(s) for h, s in sorted(denied.items())}},
                remediation=self.SECRET_DENIED.fix, **subject))
        if secrets:
            out.append(self.report(
                self.SECRET_ELSEWHERE, cluster.name,
                params={**params, "hosts": ", ".join(sorted(secrets)),
                        "asm_secrets": ", ".join(sorted(set().union(*(s for _, s in secrets.values())))),
                        "istio_secrets": ", ".join(sorted({s for s, _ in secrets.values()}))},
                evidence={**evidence, "secrets": {h: {"istio": i, "asm": sorted(a)} for h, (i, a) in
                                                  sorted(secrets.items())}},
                remediation=self.SECRET_ELSEWHERE.fix, **subject))
        return out

    def _matched(self, cluster: ClusterInventory, istio_name: str, gtype: str, gw: AsmGateway,
                 deployed: set[tuple[str, str]], subject: dict[str, str], ids: dict[str, Any],
                 counts: dict[tuple[str, str], tuple[int | None, int | None]]) -> Finding:
        key = (gw.namespace, gw.workload_name)
        desired, available = counts.get(key, (None, None))
        evidence = {"istio_gateway": istio_name, "asm_gateway": f"{gw.namespace}/{gw.name}",
                    "gatewayType": gw.raw_type, "clusterIds": list(gw.cluster_ids), **ids,
                    "status": gw.state, "error": gw.error,
                    "deployment": f"{gw.namespace}/{gw.workload_name}",
                    "deployment_present": key in deployed,
                    **({"pods_desired": desired, "pods_available": available} if key in deployed else {})}
        params = {"gateway_type": gtype, "asm_gateway": gw.name, "istio_gateway": istio_name}
        if gw.deleting:
            return self.report(self.BEING_DELETED, cluster.name, params={**params, "since": gw.deleting},
                               evidence={**evidence, "deletionTimestamp": gw.deleting},
                               remediation=f"{mesh.ASM_KUBECTL} {mesh.ns_flag(gw.namespace)} get "
                                           f"{mesh.object_ref('istiogateway', gw.name)} -o yaml  "
                                           f"# {KEEP_WHILE_DELETED}",
                               **subject)
        if key in deployed and not _serves((desired, available)):
            return self.report(self.NOT_SERVING, cluster.name,
                               params={**params, "deployment": f"{gw.namespace}/{gw.workload_name}",
                                       "desired": _count_text(desired), "available": _count_text(available)},
                               evidence=evidence,
                               remediation=f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(gw.namespace)} describe "
                                           f"{mesh.object_ref('deployment', gw.workload_name)}  # {DESCRIBE_WHY}",
                               **subject)
        if gw.error or (gw.namespace, gw.workload_name) not in deployed:
            if (gw.namespace, gw.workload_name) not in deployed:
                outcome, params["deployment"] = self.NOT_DEPLOYED, f"{gw.namespace}/{gw.workload_name}"
            else:
                outcome, params["error"] = self.NOT_HEALTHY, gw.error
            return self.report(outcome, cluster.name, params=params, evidence=evidence,
                               remediation=f"{mesh.ASM_KUBECTL} {mesh.ns_flag(gw.namespace)} get "
                                           f"{mesh.object_ref('istiogateway', gw.name)} -o yaml  # see status",
                               **subject)
        return self.report(self.REPLACED, cluster.name, params={**params, "workload": gw.workload_name},
                           evidence=evidence, **subject)


def _host_network(cluster: ClusterInventory, kind: str, namespace: str, name: str) -> bool:
    """Whether the workload's pods run on the node's network (spec.template.spec.hostNetwork): every node's address
    reaches their container ports, whatever the Services (IstioGateway spec.hostNetwork for ASM's)."""
    kinds = {"Deployment": K.DEPLOYMENT, "DaemonSet": K.DAEMONSET}
    obj = cluster.get(kinds[kind], name, namespace) if kind in kinds and cluster.available(kinds[kind]) else None
    return bool(((((obj or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("hostNetwork"))


def _gateway_objects(cluster: ClusterInventory, asm: ClusterInventory) -> list[dict[str, Any]]:
    """The Istio Gateways of the cluster and of the ASM control plane (both read), once per audit."""
    return cluster.memo(("gateway_objects_with_asm", id(asm)),
                        lambda: [*cluster.objects(K.GATEWAY), *asm.objects(K.GATEWAY)])


def _hosts_served(cluster: ClusterInventory, asm: ClusterInventory, workload: GatewayWorkload
                  ) -> tuple[list[Any], list[str]]:
    """served_hosts of a gateway against _gateway_objects, once per gateway and audit: _reach_pool asks it of every
    ASM gateway of the role for every Istio gateway, _ingresses and _served ask it again (callers do not change it)."""
    key = ("served_hosts_with_asm", id(asm), workload.asm, workload.kind, workload.namespace, workload.name)
    return cluster.memo(key, lambda: served_hosts(cluster, workload, _gateway_objects(cluster, asm)))


def _reach_evidence(svc: GatewayService) -> dict[str, Any]:
    return {"type": svc.service_type, "addresses": list(svc.lb_addresses), "externalIPs": list(svc.external_ips),
            "address_type": svc.address_type(), "pending": svc.lb_pending}


def _services_text(services: list[GatewayService]) -> str:
    """`ns/name (Type[, address-type][, addresses])` of each Service, for a message."""
    out = []
    for svc in services:
        parts = [svc.service_type, *([t] if (t := svc.address_type()) else []),
                 *(svc.lb_addresses or svc.external_ips)]
        out.append(f"{svc.namespace}/{svc.name} ({', '.join(parts)})")
    return ", ".join(out)


def _istio_gateway_object(ctx: Context, gw: AsmGateway) -> dict[str, Any] | None:
    """The IstioGateway as the ASM control plane holds it (None when not there or not read)."""
    asm = ctx.inv.asm
    if asm is None or not asm.available(K.ISTIO_GATEWAY_ASM):
        return None
    return asm.get(K.ISTIO_GATEWAY_ASM, gw.name, gw.namespace)


def _asm_service_ports(cluster: ClusterInventory, ctx: Context, asm_svc: GatewayService | None, gw: AsmGateway
                       ) -> list[dict[str, Any]] | None:
    """The ports of ASM's gateway Service: the cluster's Service as read, else (not deployed yet) the IstioGateway's
    spec.ports its controller gives it; None when neither holds any."""
    if asm_svc is not None:
        ports = service_port_entries(cluster.get(K.SERVICE, asm_svc.name, asm_svc.namespace))
    else:
        ports = service_port_entries(_istio_gateway_object(ctx, gw))
    return ports or None


def _port_text(port: Any) -> str:
    """A Service port entry or a backend's port as written, for a message: its name and number."""
    if isinstance(port, dict):
        name, number = port.get("name"), port.get("port", port.get("number"))
        return "/".join(str(v) for v in (name, number) if v not in (None, ""))
    return str(port)


def _istiogateway_patch(gw: AsmGateway, cluster_id: str | None, in_override: bool, fields: dict[str, Any]) -> str:
    """The kubectl patch of the IstioGateway on the ASM control plane that sets `fields` where this cluster's Service
    takes them from: spec.overrides[<cluster id>] when that sets them (`in_override`), else spec (a merge patch: other
    annotations stay)."""
    spec: dict[str, Any] = {"overrides": {cluster_id: fields}} if in_override and cluster_id else fields
    body = json.dumps({"spec": spec}, separators=(",", ":"), sort_keys=True)
    return (f"{mesh.ASM_KUBECTL} {mesh.ns_flag(gw.namespace)} patch {mesh.object_ref('istiogateway', gw.name)} "
            f"--type=merge -p {mesh.sh(body)}")


# ================================================================ ingress-lb-weights
@dataclass
class LbMember:
    service: str           # ns/name, or the IstioGateway that declares it
    asm: bool
    weight: str | None
    source: str
    managed_by_operator: bool = False
    spelling: str = LB_WEIGHT_ANNOTATIONS[0]
    # (status, why) when CCM does not apply the weight annotation (GatewayService.weight_not_applied)
    not_applied: tuple[str, str] | None = None  # the why is an i18n.Phrase
    # ASM's side: (status, why) when CCM is not shown to put the Service's backends on the CLB
    # (GatewayService.backends_not_shown); always ("FAIL", why) for a gateway only declared by its IstioGateway.
    backends_not_shown: tuple[str, Any] | None = None
    lb_id_annotated: bool = True   # reuses the CLB by the loadbalancer-id annotation (CCM then reads its weight)
    vgroups: frozenset[str] = frozenset()  # the vServer group ids its vgroup-port annotation names
    workload: tuple[str, str] | None = None  # (namespace, name) of the gateway workload behind the Service


def _no_pod_serves(cluster: ClusterInventory, gateway: GatewayWorkload) -> tuple[str, Phrase] | None:
    """(status, why) when the pods behind an ASM gateway Service on a shared CLB are not shown to serve: its workload
    has no pod available ("FAIL": the Service has no ready endpoint, so its backends on the CLB answer nothing, as
    asm-gateways-present's AA1713 says of the gateway it matches), or its pod counts cannot be read ("UNKNOWN"); None
    when a pod is available. A CLB whose ASM side serves nothing takes the Istio side's share nowhere (red18f left it
    a PASS "Istio 0 : ASM 100" where the ASM gateway on the CLB was scaled to 0 and another ASM gateway was matched)."""
    desired, available = pods_available(cluster, gateway)
    if _serves((desired, available)):
        return None
    where = f"{gateway.kind} {gateway.namespace}/{gateway.name}"
    if desired is None or available is None:
        return ("UNKNOWN", Phrase(N_("the pod counts of its gateway {workload} cannot be read, so whether any pod "
                                     "behind it serves is not shown"), workload=where))
    return ("FAIL", Phrase(N_("its gateway {workload} has {available} of {desired} pod(s) available: no ready "
                              "endpoint, so its backends on the CLB serve nothing"), workload=where,
                           available=available, desired=desired))


class IngressLbWeights(ClusterCheck):
    id = "ingress-lb-weights"
    title = "Where Istio and ASM ingress gateways share a CLB, the Istio Service's weight is 0"
    gates = (Gate.UNINSTALL,)
    severity = Severity.BLOCKER
    rationale = ("ASM's documented ingress cut-over puts the Istio and ASM ingress gateway Services on one CLB "
                 "and moves traffic with the alibaba-cloud-loadbalancer-weight annotation. Until the Istio "
                 "Service's weight is 0 the CLB still sends it a share, which uninstalling Istio would drop.")
    remediation = ("kubectl -n istio-system annotate service <istio ingress Service> "
                   "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-weight=0 --overwrite")
    WEIGHT_ZERO = Outcome("AA2001", Status.PASS, "the Istio ingress gateway Service's CLB weight is 0",
                          message="CLB {lb}: Istio ingress Service weight 0 " + CLB_SPLIT)
    WEIGHT_ABOVE_ZERO = Outcome("AA2010", Status.FAIL,
                                "the Istio ingress gateway Service still takes CLB traffic (weight above 0)",
                                message="CLB {lb}: Istio ingress Service {name} still has weight {weight} " + CLB_SPLIT)
    NOTHING_SERVES = Outcome("AA2011", Status.FAIL, "every backend of the shared CLB has weight 0: nothing serves it",
                             fix="Give the ASM ingress gateway Service weight 100.",
                             message="CLB {lb}: every backend has weight 0 (Istio 0 : ASM 0): nothing serves this CLB")
    WEIGHT_UNSET = Outcome("AA2012", Status.FAIL, "the Istio ingress gateway Service has no weight annotation: the "
                           "CLB still sends it traffic (unset counts as 100)",
                           message="CLB {lb}: Istio ingress Service {name} has no weight annotation, so the CLB still "
                                   "sends it traffic (Istio {istio_weight} : ASM {asm_weight}, {istio_percent}% to "
                                   "Istio; unset counted as 100)")
    WEIGHT_NOT_APPLIED = Outcome("AA2013", Status.FAIL, "the Istio ingress gateway Service is annotated weight 0, "
                                 "but CCM does not apply its weight: the CLB still sends it traffic",
                                 fix="Annotate the Istio ingress gateway Service with the shared CLB's id and its "
                                     "vServer groups, as ASM's ingress migration does, then weight 0.",
                                 message="CLB {lb}: Istio ingress Service {name} is annotated weight 0, but {why}")
    WEIGHT_UNPROVEN = Outcome("AA2032", Status.UNKNOWN, "the Istio ingress gateway Service is annotated weight 0, "
                              "but nothing in Kubernetes shows that the load balancer applies it",
                              fix="Check the Istio ingress gateway backends' weights in the CLB console (vServer "
                                  "groups), or let CCM apply the annotation, then audit again.",
                              message="CLB {lb}: Istio ingress Service {name} is annotated weight 0, but {why}")
    NO_ASM_BACKEND = Outcome("AA2014", Status.FAIL, "the Istio ingress gateway Service's weight is 0, but no ASM "
                             "ingress gateway Service puts backends on the shared CLB: nothing serves it",
                             fix="Put the ASM ingress gateway's Service on this CLB as ASM's ingress migration does "
                                 "(type LoadBalancer, the CLB's loadbalancer-id, force-override-listeners \"false\", "
                                 "vgroup-port naming the shared vServer groups, weight above 0), then audit again.",
                             message="CLB {lb}: Istio ingress Service {name} has weight 0, but no ASM backend serves "
                                     "the CLB: ASM's {asm_member}: {why}")
    ASM_BACKEND_UNPROVEN = Outcome("AA2033", Status.UNKNOWN, "the Istio ingress gateway Service's weight is 0, but "
                                   "nothing in Kubernetes shows an ASM backend with weight above 0 on the shared CLB",
                                   fix="Check the ASM ingress gateway backends and their weights in the CLB console "
                                       "(vServer groups), or let CCM serve the ASM Service, then audit again.",
                                   message="CLB {lb}: Istio ingress Service {name} has weight 0, but that an ASM "
                                           "backend serves the CLB is not shown: ASM's {asm_member}: {why}")
    # ASM's cut-over puts both Services' backends into the CLB's vServer groups, one per listener, each Service naming
    # them by vgroup-port (CCM adds its backends only there). With the Istio side at 0, a group the Istio Service names
    # and no ASM Service with weight above 0 joins holds no backend taking traffic: its listener serves nothing, now and
    # after the purge (the docs' ASM example names the port-80 group only; red22n: main passed "Istio 0 : ASM 100").
    GROUPS_UNSERVED = Outcome(
        "AA2015", Status.FAIL, "the Istio ingress gateway Service's weight is 0, but vServer groups it names on the "
        "shared CLB get no ASM backend with weight above 0: the listeners forwarding to them serve nothing",
        fix="Name those vServer groups in the ASM ingress gateway Service's vgroup-port annotation (the IstioGateway's "
            "serviceAnnotations, \"<group id>:<port>,...\" for every listener port the Istio Service names), with "
            "weight above 0, then audit again.",
        message="CLB {lb}: Istio ingress Service {name} has weight 0, but no ASM backend with weight above 0 is in its "
                "vServer group(s) {groups}: the listeners forwarding to them serve nothing")
    NOT_A_NUMBER = Outcome("AA2030", Status.UNKNOWN, "a CLB weight annotation is not an integer 0-100 as CCM reads "
                           "it (CCM refuses to sync the Service)",
                           message="CLB {lb}: a weight annotation is not an integer 0-100 as CCM reads it: {weights}")
    NOT_SHARED = Outcome("AA2040", Status.NOT_APPLICABLE,
                         "no CLB shared by an Istio and an ASM ingress gateway Service",
                         message="no CLB is shared by an Istio and an ASM ingress gateway Service (the cut-over is "
                                 "not done by CLB weights here; the traffic check decides)")
    GATEWAYS_UNSEEN = Outcome("AA2031", Status.UNKNOWN, "the gateway scan could not read every kind it reads: an "
                              "ingress gateway's Service on a shared CLB may have been missed", fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "an ingress gateway (or its role) may have been missed, so it "
                                                    "cannot tell that no Istio ingress gateway Service on a shared CLB "
                                                    "still has weight")
    outcomes = (WEIGHT_ZERO, WEIGHT_ABOVE_ZERO, NOTHING_SERVES, WEIGHT_UNSET, WEIGHT_NOT_APPLIED, NO_ASM_BACKEND,
                GROUPS_UNSERVED, NOT_A_NUMBER, GATEWAYS_UNSEEN, WEIGHT_UNPROVEN, ASM_BACKEND_UNPROVEN, NOT_SHARED)
    needs = (K.SERVICE, K.DEPLOYMENT)
    # VirtualServices, ServiceEntries: a custom gateway's role (egress, not ingress). ConfigMaps: the cluster's own id
    # (auditor/clusterid.py), which picks the IstioGateways for it and their spec.overrides[<cluster id>].
    uses = (*SCAN_KINDS, K.VIRTUALSERVICE, K.SERVICEENTRY, K.CONFIGMAP)
    asm_needs = (K.ISTIO_GATEWAY_ASM,)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        # A gateway of any role but east-west is judged as an ingress gateway here: a Service on a CLB that ASM's
        # ingress gateway shares takes traffic from outside whatever the gateway's role, until its weight is 0. That
        # covers a role unknown, and a gateway typed egress (its Gateway's routes send out of the cluster,
        # auditor.gateways._role_from_config) whose Service is on that CLB all the same: its CLB share is outside
        # traffic.
        services = [s for s in gateway_services(cluster, ctx.inv.rules, ctx.config.gateways)
                    if s.gateway.type != EASTWEST]
        groups: dict[str, list[LbMember]] = {}
        # A Service on a load balancer that names it neither by annotation nor by CCM's label (CCM before v2.5 set no
        # label) is still on it: its status shows the same address as a Service that names it.
        by_address = {a: svc.lb_id for svc in services if svc.lb_id for a in svc.lb_addresses}
        for svc in services:
            lb = svc.lb_id or next((by_address[a] for a in svc.lb_addresses if a in by_address), None)
            if lb:
                groups.setdefault(lb, []).append(self._member(cluster, svc, "" if svc.lb_id else "status address"))
        declared_note = None
        ids: dict[str, Any] = {}  # the id the IstioGateways were matched by (the evidence names both when they differ)
        asm = ctx.inv.asm
        if asm is not None and asm.available(K.ISTIO_GATEWAY_ASM):
            known = clusterid.identity(cluster)
            cid, ids = known.cluster_id, known.evidence()
            gws = asm_gateways(asm)
            # An ASM gateway being deleted on the ASM control plane takes its Service, and so its backends, off the CLB
            # (going_workloads): it takes none of the traffic the Istio side gives up, however it serves now.
            going = going_workloads(gws)
            for members in groups.values():
                for m in members:
                    if m.asm and m.workload in going:
                        gw = going[m.workload]
                        m.backends_not_shown = ("FAIL", Phrase(
                            N_("its IstioGateway {gateway} is being deleted on the ASM control plane (since {since}): "
                               "its Service and backends go with it"),
                            gateway=f"{gw.namespace}/{gw.name}", since=gw.deleting))
            for gw in gws:
                if gw.type != INGRESS or gw.covers(cid) is not True:
                    continue
                annotations = gw.service_annotations(cid)
                lb = first_annotation(annotations, LB_ID_ANNOTATIONS)
                members = groups.setdefault(lb, []) if lb else None
                if members is not None and not any(m.asm for m in members):
                    # Declared only: no Service of it in the cluster, so no backend of it on the CLB whatever weight
                    # it declares (main counted that weight: "Istio 0 : ASM 100" passed with nothing behind ASM's side).
                    members.append(LbMember(f"IstioGateway {gw.namespace}/{gw.name}", True,
                                            first_annotation(annotations, LB_WEIGHT_ANNOTATIONS),
                                            "declared on the ASM control plane",
                                            backends_not_shown=("FAIL", DECLARED_ONLY)))
        elif asm is not None:
            declared_note = "ASM IstioGateways not readable; only the cluster's Services were compared"
        shared = {lb: m for lb, m in groups.items() if any(x.asm for x in m) and any(not x.asm for x in m)}
        # A Service of a gateway the scan missed (or typed as another role) escapes both the N/A and the weight-0 PASS.
        unseen = scan_unread_findings(self, cluster, self.GATEWAYS_UNSEEN)
        yield from unseen
        if not shared:
            if unseen:
                return
            yield self.report(self.NOT_SHARED, cluster.name, params={},
                              evidence={"clb_by_service": {m.service: lb for lb, ms in groups.items() for m in ms},
                                        "note": declared_note, **ids})
            return
        for lb, members in sorted(shared.items()):
            yield from self._judge(cluster, lb, members, ids)

    @staticmethod
    def _member(cluster: ClusterInventory, svc: GatewayService, found_by: str = "") -> LbMember:
        # Keep the spelling the Service already uses (weight key, else the CLB id key's generation).
        old_style = LB_ID_ANNOTATIONS[1] in svc.annotations and LB_ID_ANNOTATIONS[0] not in svc.annotations
        spelling = next((k for k in LB_WEIGHT_ANNOTATIONS if k in svc.annotations),
                        LB_WEIGHT_ANNOTATIONS[1 if old_style else 0])
        source = "Service annotation" + (f" (on the CLB by its {found_by})" if found_by else "")
        backends = None
        if svc.gateway.asm:
            backends = svc.backends_not_shown() or _no_pod_serves(cluster, svc.gateway)
        return LbMember(f"{svc.namespace}/{svc.name}", svc.gateway.asm, svc.lb_weight, source,
                        svc.gateway.labels.get("operator.istio.io/managed") == "Reconcile", spelling,
                        svc.weight_not_applied(), backends,
                        first_annotation(svc.annotations, LB_ID_ANNOTATIONS) is not None,
                        vserver_groups(first_annotation(svc.annotations, LB_VGROUP_PORT_ANNOTATIONS)),
                        (svc.gateway.namespace, svc.gateway.name))

    @staticmethod
    def _asm_weight(m: LbMember, weight: int | None) -> int:
        """The weight an ASM member serving the CLB has (its backends_not_shown is None): the annotated one where CCM
        reads it, else CCM's default (100, like an unset weight)."""
        if weight is None or not m.lb_id_annotated:
            return 100
        return weight

    def _judge(self, cluster: ClusterInventory, lb: str, members: list[LbMember],
               ids: dict[str, Any]) -> Iterator[Finding]:
        try:
            weights = {m.service: ccm_weight(m.weight) for m in members}
        except ValueError:
            bad = {m.service: m.weight for m in members}
            yield self.report(self.NOT_A_NUMBER, cluster.name, params={"lb": lb, "weights": bad}, kind="Service",
                              evidence={"weights": bad, **ids})
            return
        istio_sum = sum(w if w is not None else 100 for m in members if not m.asm for w in [weights[m.service]])
        # ASM's side counts only Services whose backends CCM is shown to put on the CLB: a gateway only declared on the
        # ASM control plane, or a Service CCM does not serve, takes none of the traffic the Istio side gives up.
        # ASM's ingress migration puts both Services' backends into the same vServer groups (the listeners' groups,
        # named by vgroup-port "<id>:<port>,..."): an ASM Service naming only other groups than the Istio Service's
        # puts its backends where the listeners may not send.
        istio_groups = frozenset().union(*(m.vgroups for m in members if not m.asm))
        for m in members:
            if m.asm and m.backends_not_shown is None and m.vgroups and istio_groups and not m.vgroups & istio_groups:
                m.backends_not_shown = ("UNKNOWN", Phrase(
                    N_("its vServer groups ({asm_groups}) are not the Istio Service's ({istio_groups}), so whether the "
                       "shared listeners send to its backends is not shown"),
                    asm_groups=", ".join(sorted(m.vgroups)), istio_groups=", ".join(sorted(istio_groups))))
        asm_serving = [m for m in members if m.asm and m.backends_not_shown is None]
        asm_sum = sum(self._asm_weight(m, weights[m.service]) for m in asm_serving)
        # The vServer groups ASM backends with weight above 0 join; None where one of those members names none (a CLB
        # CCM made for it: its own groups, not compared).
        taking = [m for m in asm_serving if self._asm_weight(m, weights[m.service]) > 0]
        asm_groups = frozenset().union(*(m.vgroups for m in taking)) if all(m.vgroups for m in taking) else None
        asm_unknown = [m for m in members if m.asm and m.backends_not_shown and m.backends_not_shown[0] == "UNKNOWN"]
        asm_absent = [m for m in members if m.asm and m.backends_not_shown and m.backends_not_shown[0] == "FAIL"]
        split = f"Istio {istio_sum} : ASM {asm_sum}"
        params: dict[str, Any] = {"lb": lb, "istio_weight": istio_sum, "asm_weight": asm_sum, "istio_percent": "n/a"}
        if istio_sum + asm_sum:
            params["istio_percent"] = round(100 * istio_sum / (istio_sum + asm_sum))
            split += f" ({params['istio_percent']}% to Istio)"
        evidence = {"clb": lb, "split": split, "members": [
            {"service": m.service, "asm": m.asm, "weight": m.weight, "source": m.source,
             **({"weight_not_applied": m.not_applied[1]} if m.not_applied and not m.asm else {}),
             **({"backends_not_shown": m.backends_not_shown[1]} if m.backends_not_shown else {})} for m in members],
            **ids}
        for m in (m for m in members if not m.asm):
            ns, _, name = m.service.partition("/")
            subject = {"kind": "Service", "namespace": ns, "name": name}
            weight = weights[m.service]
            command = (f"{mesh.kubectl(cluster.name)} {mesh.ns_flag(ns)} annotate {mesh.object_ref('service', name)} "
                       f"{m.spelling}=0 --overwrite")
            if m.managed_by_operator:
                command += f"\n# {OPERATOR_RECONCILES_COMMENT}"
            if weight == 0 and m.not_applied is not None:
                # An annotated 0 that CCM does not apply is no proof that the Istio gateway takes no traffic.
                status, why = m.not_applied
                outcome = self.WEIGHT_NOT_APPLIED if status == "FAIL" else self.WEIGHT_UNPROVEN
                yield self.report(outcome, cluster.name, params={**params, "name": name, "why": why},
                                  remediation=outcome.fix + (clb_weights_command(lb) if status != "FAIL" else ""),
                                  evidence=evidence, **subject)
            elif weight == 0 and asm_sum == 0 and (asm_absent or asm_unknown):
                # No ASM backend shown on the CLB: a FAIL where one is known absent, else UNKNOWN.
                outcome = self.NO_ASM_BACKEND if asm_absent and not asm_unknown else self.ASM_BACKEND_UNPROVEN
                first = (asm_absent or asm_unknown)[0]
                yield self.report(outcome, cluster.name,
                                  params={**params, "name": name, "asm_member": first.service,
                                          "why": first.backends_not_shown[1]},  # type: ignore[index]
                                  remediation=outcome.fix + (clb_weights_command(lb)
                                                             if outcome is self.ASM_BACKEND_UNPROVEN else ""),
                                  evidence=evidence, **subject)
            elif weight == 0 and asm_sum == 0:
                yield self.report(self.NOTHING_SERVES, cluster.name, params=params,
                                  evidence=evidence, **subject)
            elif weight == 0 and asm_groups is not None and (unserved := sorted(m.vgroups - asm_groups)):
                yield self.report(self.GROUPS_UNSERVED, cluster.name,
                                  params={**params, "name": name, "groups": ", ".join(unserved)},
                                  remediation=self.GROUPS_UNSERVED.fix + clb_weights_command(lb),
                                  evidence={**evidence, "vserver_groups_unserved": unserved,
                                            "asm_vserver_groups": sorted(asm_groups)}, **subject)
            elif weight == 0:
                yield self.report(self.WEIGHT_ZERO, cluster.name, params=params, evidence=evidence, **subject)
            elif weight is None:
                yield self.report(self.WEIGHT_UNSET, cluster.name, params={**params, "name": name},
                                  remediation=command, evidence=evidence, **subject)
            else:
                yield self.report(self.WEIGHT_ABOVE_ZERO, cluster.name,
                                  params={**params, "name": name, "weight": weight}, remediation=command,
                                  evidence=evidence, **subject)



def clb_weights_command(lb: str) -> str:
    """The read-only commands that show the CLB's backends and their weights, for the UNKNOWNs whose next step is to
    look (AA2032, AA2033): SLB's DescribeVServerGroups (RegionId, LoadBalancerId) lists the vServer groups,
    DescribeVServerGroupAttribute (RegionId, VServerGroupId) their BackendServers[].Weight (help.aliyun.com
    document_detail/35224). Nothing for a load balancer id a shell would interpret (it comes from annotations)."""
    if not mesh.shell_safe(lb) or lb.startswith("-"):
        return ""
    # The region and group are shell variables the command refuses to run without (as the kubeconfigs are): a
    # `<placeholder>` is a redirection to a shell.
    return (f'\naliyun slb DescribeVServerGroups --RegionId "${{CLB_REGION:?}}" --LoadBalancerId {lb}'
            '\naliyun slb DescribeVServerGroupAttribute --RegionId "${CLB_REGION:?}" --VServerGroupId '
            '"${VSERVER_GROUP_ID:?}"  # each group listed: BackendServers[].Weight')

# ================================================================ cross-cluster-gateway-first
class CrossClusterGatewayFirst(ClusterCheck):
    id = "cross-cluster-gateway-first"
    title = "With east-west: the ASM cross-network gateway existed before the first ASM proxy"
    gates = (Gate.MIGRATING, Gate.UNINSTALL)
    severity = Severity.BLOCKER
    rationale = ("Workloads on ASM proxies reach other clusters through ASM's cross-network gateway, not Istio's "
                 "east-west gateway. The migration procedure requires it before any workload moves to an ASM "
                 "proxy; pods that started earlier ran without a cross-cluster path.")
    remediation = ("Create the ASM cross-network gateway (enable 'access through cross-cluster mesh proxy' for the "
                   "cluster in the ASM console) before moving workloads; restart workloads moved before it.")
    BEFORE_FIRST_POD = Outcome("AA1801", Status.PASS,
                               "the ASM cross-network gateway existed before the first ASM-proxied pod",
                               message="ASM cross-network gateway created {created}, before the first ASM-proxied pod "
                                       "({oldest})")
    READY_NO_POD = Outcome("AA1802", Status.PASS, "the ASM cross-network gateway exists and no workload runs on an "
                           "ASM proxy yet",
                           message="ASM cross-network gateway exists (created {created}); no workload on an ASM proxy "
                                   "yet")
    PODS_BEFORE = Outcome("AA1810", Status.FAIL, "ASM-proxied pods started before the ASM cross-network gateway",
                          message="{pods} ASM-proxied pod(s) in {workloads} workload(s) were created before the "
                                  "cross-network gateway ({created}); the first at {first}")
    PODS_WITHOUT = Outcome("AA1811", Status.FAIL, "pods run ASM proxies but ASM has no cross-network gateway for the "
                           "cluster: their cross-cluster calls have no path",
                           message="{pods} pod(s) already run ASM proxies but ASM has no cross-network gateway for "
                                   "this cluster: their cross-cluster calls have no path")
    MISSING = Outcome("AA1820", Status.WARN, "no ASM cross-network gateway yet: create it before moving the first "
                      "workload",
                      message="east-west gateway in use and no ASM cross-network gateway for this cluster yet: create "
                              "it before moving the first workload to an ASM proxy")
    # Deployed in the cluster (istio-<name>), its Deployment's status showing no pod available (unschedulable,
    # crash-looping, scaled to 0: pods_available, as asm-gateways-present judges ingress and egress, AA1713): the
    # moved workloads' cross-cluster calls have no path, and after the uninstall neither have the others'.
    NOT_SERVING = Outcome("AA1812", Status.FAIL, "the ASM cross-network gateway is deployed in the cluster but no pod "
                          "of it is available: cross-cluster calls of ASM-proxied workloads have no path",
                          message="ASM cross-network gateway {gateways} deployed, {available} of {desired} pod(s) "
                                  "available: it serves no cross-cluster traffic")
    # Being deleted on the ASM control plane (auditor.gateways.going_workloads, as asm-gateways-present judges ingress
    # and egress, AA1718): ASM's controller removes its Deployment and Service from the cluster, so the moved
    # workloads' cross-cluster calls lose their path however well it serves now, and after the uninstall so do the
    # others'.
    BEING_DELETED = Outcome("AA1813", Status.FAIL, "the ASM cross-network gateway for the cluster is being deleted on "
                            "the ASM control plane: its Deployment and Service go with it",
                            message="ASM cross-network gateway {gateways} is being deleted on the ASM control plane "
                                    "(since {since}): once the deletion completes, ASM-proxied workloads have no "
                                    "cross-cluster path")
    # The same with a count the controller's status does not give (a DaemonSet whose controller wrote no status yet:
    # kubernetes/api apps/v1 DaemonSetStatus.DesiredNumberScheduled has no omitempty, so only an unwritten status lacks
    # it): no pod available cannot be told either.
    COUNTS_UNREAD = Outcome("AA1833", Status.UNKNOWN, "the ASM cross-network gateway is deployed in the cluster but "
                            "its controller's status does not tell how many of its pods are available",
                            message="ASM cross-network gateway {gateways} deployed; its pod counts cannot be read "
                                    "({counts}): whether it serves cross-cluster traffic cannot be told")
    # Declared for the cluster (its clusterIds name it) but no istio-<name> workload of it here: ASM's controller has
    # not deployed it (or failed to), so it serves nothing, as asm-gateways-present says of ingress and egress (AA1712).
    # With workloads here on ASM's proxy already a FAIL; before the first moves a WARN, as MISSING (the seed deploys it
    # in the Migrating phase, before moving workloads).
    _NOT_DEPLOYED_FIX = ("See why ASM's controller has not deployed it (the IstioGateway's status and events on the "
                         "ASM control plane), or re-create it for this cluster; then re-run.")
    NOT_DEPLOYED = Outcome("AA1814", Status.FAIL, "an ASM cross-network gateway is declared for the cluster but not "
                           "deployed in it, and pods already run ASM proxies: their cross-cluster calls have no path",
                           fix=_NOT_DEPLOYED_FIX,
                           message="{pods} pod(s) already run ASM proxies; ASM cross-network gateway {gateways} "
                                   "targets this cluster, but its Deployment {deployments} is not in this cluster: it "
                                   "serves no cross-cluster traffic")
    NOT_DEPLOYED_YET = Outcome("AA1821", Status.WARN, "an ASM cross-network gateway is declared for the cluster but "
                               "not deployed in it yet: it must serve before the first workload moves",
                               fix=_NOT_DEPLOYED_FIX,
                               message="ASM cross-network gateway {gateways} targets this cluster, but its Deployment "
                                       "{deployments} is not in this cluster yet: it must serve before the first "
                                       "workload moves to an ASM proxy")
    # Deployed and serving, but its LoadBalancer Service has no address (status.loadBalancer.ingress empty, no
    # spec.externalIPs): istiod keeps a network gateway only with an address (extractGatewaysInner over
    # ClusterExternalAddresses, istio/istio@1.22.3 pilot/pkg/serviceregistry/kube/controller/network.go, conversion.go),
    # so no other network reaches this one through it, unless ASM holds an address of its own for the cluster
    # (DescribeMeshMultiClusterNetwork CustomGatewayAddress).
    NO_ADDRESS = Outcome("AA1815", Status.FAIL, "the ASM cross-network gateway's load balancer has no address and ASM "
                         "holds no custom gateway address for the cluster: other networks cannot reach this one "
                         "through it",
                         fix="Find why the load balancer got no address (`kubectl describe service` events: "
                             "SyncLoadBalancerFailed), or set a custom gateway address for the cluster in ASM's "
                             "network settings; then re-run.",
                         message="ASM cross-network gateway Service {services} has no load balancer address and ASM "
                                 "holds no custom gateway address for this cluster: no other network reaches it")
    ADDRESS_UNKNOWN = Outcome("AA1834", Status.UNKNOWN, "the ASM cross-network gateway's load balancer has no address, "
                              "and whether ASM holds a custom gateway address for the cluster is not known",
                              fix="Provide ASM's network settings (--asm-mesh-id/--asm-region, or a saved "
                                  "DescribeMeshMultiClusterNetwork answer in asm.multi_cluster_network), or find why "
                                  "the load balancer got no address (`kubectl describe service`); then re-run.",
                              message="ASM cross-network gateway Service {services} has no load balancer address; "
                                      "whether ASM holds a custom gateway address for this cluster is not known "
                                      "({why})")
    GATEWAY_UNDATED = Outcome("AA1830", Status.UNKNOWN,
                              "the cross-network IstioGateway's creation time cannot be read",
                              message="the cross-network IstioGateway has no readable creationTimestamp")
    PODS_UNDATED = Outcome("AA1831", Status.UNKNOWN, "ASM-proxied pods have no readable creation time",
                           message="{pods} ASM-proxied pod(s) have no readable creation time")
    NO_EASTWEST = Outcome("AA1840", Status.NOT_APPLICABLE, "no Istio east-west gateway in the cluster",
                          message=f"no Istio east-west gateway (looked for {EASTWEST_LOOKED_FOR})")
    EASTWEST_UNSEEN = Outcome("AA1832", Status.UNKNOWN, "no Istio east-west gateway seen, but the gateway scan could "
                              "not read every kind it reads: one may have been missed", fix=SCAN_UNREAD_FIX,
                              message=SCAN_UNREAD + "no Istio east-west gateway seen, but one may have been missed")
    # istio/istio@1.22.3:samples/multicluster/gen-eastwest-gateway.sh --single-cluster: an east-west gateway without a
    # network, on a cluster Istio gives none, only so VMs reach istiod and the services. istiod makes no network gateway
    # of it, so no cross-cluster call goes through it and ASM's cross-network gateway is not what replaces it; the VMs
    # are judged by istio-sidecars-remaining. The same predicate as network-consistency's AA1941
    # (auditor/network.vm_gateway); in a fleet, only where no other audited istiod's meshNetworks route other networks
    # through it (auditor/network.vm_gateway_routed, in conclude): else judged as a cross-network gateway.
    VM_GATEWAY = Outcome("AA1841", Status.NOT_APPLICABLE, "the east-west gateway has no network, on a cluster Istio "
                         "gives none, and serves VMs: it carries no cross-network traffic",
                         message="east-west gateway without a network, on a cluster Istio gives none, serving VMs "
                                 "({vms}): no cross-network traffic, no ASM cross-network gateway needed for it")
    outcomes = (BEFORE_FIRST_POD, READY_NO_POD, PODS_BEFORE, PODS_WITHOUT, NOT_SERVING, NOT_DEPLOYED, NO_ADDRESS,
                BEING_DELETED, MISSING, NOT_DEPLOYED_YET, GATEWAY_UNDATED, PODS_UNDATED, EASTWEST_UNSEEN, COUNTS_UNREAD,
                ADDRESS_UNKNOWN, NO_EASTWEST, VM_GATEWAY)
    needs = (K.POD, K.DEPLOYMENT, K.SERVICE)
    # ConfigMaps: the cluster's own id (auditor/clusterid.py), matched against the IstioGateways' clusterIds.
    # Namespaces, ConfigMaps, injector webhooks, WorkloadGroups, WorkloadEntries: Istio's network for the cluster and
    # the VMs an east-west gateway without one serves (VM_GATEWAY); not read, the gateway is judged as before.
    uses = (*SCAN_KINDS, K.REPLICASET, K.JOB, K.CONFIGMAP, K.NAMESPACE, K.MUTATING_WEBHOOK, K.WORKLOADGROUP,
            K.WORKLOADENTRY)
    asm_needs = (K.ISTIO_GATEWAY_ASM,)

    def prepare(self, ctx: Context) -> None:
        # In a fleet, each istiod's meshNetworks and the clusters whose east-west gateway is the VM gateway on their
        # own objects: another cluster's istiod may route other networks through it (judged in conclude).
        self.links = Links.shared(ctx, type(self))
        self.vm_holds = VmGatewayHolds.shared(ctx, type(self))

    def deferred(self) -> frozenset[str]:
        return super().deferred() | self.vm_holds.deferred()

    @same_in_every_gate  # the gate changes nothing: its pods' creation times parsed once, not once per gate
    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterator[Finding]:
        if VmGatewayHolds.needed(ctx):  # the fleet's meshNetworks, for the VM gateways held (vm_gateway_routed)
            istiods = cluster.istiod_deployments()
            self.links.primary(cluster, istiods)
            for dep in istiods:
                self.links.keep(cluster, dep, registry_networks(cluster, dep))
        names = ctx.config.gateways
        signals = eastwest_signals(cluster, ctx.inv.rules, names)
        if not signals:  # N/A only when the scan saw everything; with an east-west gateway seen, ASM's is what counts
            yield from scan_unread_findings(self, cluster, self.EASTWEST_UNSEEN) or [
                self.report(self.NO_EASTWEST, cluster.name, params={})]
            return
        vms, _ = vm_gateway(cluster, ctx.inv.rules)
        if not vms:
            yield from self._cross_network(cluster, ctx, signals)
            return
        as_vm_gateway = self.report(self.VM_GATEWAY, cluster.name, params={"vms": ", ".join(vms[:5])},
                                    evidence={"eastwest_signals": signals, "vm_proxies": vms})
        if not VmGatewayHolds.needed(ctx):
            yield as_vm_gateway
            return
        # Judged both ways now (the cluster's objects are released before conclude), one kept there.
        self.vm_holds.hold(vm_gateway_front(cluster, ctx.inv.rules, names), [as_vm_gateway],
                           list(self._cross_network(cluster, ctx, signals)))

    def _cross_network(self, cluster: ClusterInventory, ctx: Context, signals: list[str]) -> Iterator[Finding]:
        """The Istio east-west gateway as a cross-network one: ASM's cross-network gateway must serve before the first
        workload moves."""
        names = ctx.config.gateways
        pods = cluster.pods()
        # The columns read of the rows read, from numpy masks: no loc (its index take and copy through the blocks); the
        # creation times alone unless some pods started before the gateway (tens of thousands of moved pods).
        rows = istio.among(pods["proxy"], (mesh.PROXY_ASM,)) & istio.among(pods["role"], (mesh.ROLE_SIDECAR,))
        moved = istio.pod_columns(pods, rows, ("created",))
        # Vectorised: a big cluster has tens of thousands of moved pods.
        times = pd.to_datetime(moved["created"].astype(str), utc=True, errors="coerce", format="ISO8601")
        undated = int(times.isna().sum())
        oldest = times.min() if len(times) > undated else None
        deployed = {(g.namespace, g.name): g for g in gateway_workloads(cluster, ctx.inv.rules, names)
                    if g.asm and g.type == EASTWEST}
        crossnet = []
        known = clusterid.identity(cluster)
        for gw in asm_gateways(ctx.inv.require_asm()):
            if gw.type != EASTWEST:
                continue
            covers = gw.covers(known.cluster_id)
            if covers or (covers is None and (gw.namespace, gw.workload_name) in deployed):
                crossnet.append(gw)
        evidence: dict[str, Any] = {"eastwest_signals": signals, "asm_proxy_pods": len(moved),
                                    "oldest_asm_pod": oldest.isoformat() if oldest is not None else None,
                                    "cross_network_gateways": [f"{g.namespace}/{g.name} ({g.raw_type}, created "
                                                               f"{g.created})" for g in crossnet],
                                    **known.evidence()}
        if undated:
            evidence["pods_without_creation_time"] = undated
        going = going_workloads(crossnet)
        if crossnet and all((g.namespace, g.workload_name) in going for g in crossnet):
            evidence["deletionTimestamp"] = {f"{g.namespace}/{g.name}": g.deleting for g in crossnet}
            yield self.report(self.BEING_DELETED, cluster.name,
                              params={"gateways": ", ".join(f"{g.namespace}/{g.name}" for g in crossnet),
                                      "since": min(g.deleting for g in crossnet)},
                              remediation="\n".join(f"{mesh.ASM_KUBECTL} {mesh.ns_flag(g.namespace)} get "
                                                    f"{mesh.object_ref('istiogateway', g.name)} -o yaml  "
                                                    f"# {KEEP_WHILE_DELETED}" for g in crossnet),
                              evidence=evidence)
            return
        if going:  # one staying beside them is the cross-network gateway (a blue/green swap is no FAIL)
            crossnet = [g for g in crossnet if (g.namespace, g.workload_name) not in going]
            evidence["cross_network_gateways"] = [f"{g.namespace}/{g.name} ({g.raw_type}, created {g.created})"
                                                  for g in crossnet]
            evidence["being_deleted"] = {f"{g.namespace}/{g.name}": g.deleting for g in going.values()}
        if not crossnet:
            if moved.empty:
                yield self.report(self.MISSING, cluster.name, params={}, remediation=self.remediation,
                                  evidence=evidence)
            else:
                yield self.report(self.PODS_WITHOUT, cluster.name, params={"pods": len(moved)},
                                  remediation=self.remediation, evidence=evidence)
            return
        # Declared for this cluster with no workload of that name here (one there that the scan does not take for
        # ASM's gateway is judged as deployed, as before): none of them serves.
        undeployed = [g for g in crossnet if (g.namespace, g.workload_name) not in deployed
                      and not _workload_there(cluster, g.namespace, g.workload_name)]
        if undeployed:
            evidence["not_deployed"] = [f"{g.namespace}/{g.workload_name}" for g in undeployed]
        if len(undeployed) == len(crossnet):
            yield self.report(self.NOT_DEPLOYED_YET if moved.empty else self.NOT_DEPLOYED, cluster.name, params={
                "pods": len(moved), "gateways": ", ".join(f"{g.namespace}/{g.name}" for g in crossnet),
                "deployments": ", ".join(evidence["not_deployed"])},
                remediation="\n".join(f"{mesh.ASM_KUBECTL} {mesh.ns_flag(g.namespace)} describe "
                                      f"{mesh.object_ref('istiogateway', g.name)}" for g in crossnet),
                evidence=evidence)
            return
        # Every cross-network gateway of the cluster deployed here (or not deployed) and none with a pod available:
        # none serves.
        counts = [pods_available(cluster, deployed[key]) for g in crossnet
                  if (key := (g.namespace, g.workload_name)) in deployed]
        if len(counts) + len(undeployed) == len(crossnet) and not any(_serves(c) for c in counts):
            evidence["cross_network_pods"] = {f"{g.namespace}/{g.workload_name}": {"desired": d, "available": a}
                                              for g, (d, a) in zip(crossnet, counts, strict=True)}
            kinds = {key: w.kind.lower() for key, w in deployed.items()}
            describe = "\n".join(f"{mesh.kubectl_in(cluster.name, g.namespace)} describe "
                                 f"{mesh.object_ref(kinds[(g.namespace, g.workload_name)], g.workload_name)}"
                                 f"  # {DESCRIBE_WHY}" for g in crossnet)
            gateways = ", ".join(f"{g.namespace}/{g.workload_name}" for g in crossnet)
            if any(None in c for c in counts):  # a count not given is no proof of no pod
                yield self.report(self.COUNTS_UNREAD, cluster.name, params={
                    "gateways": gateways,
                    "counts": ", ".join(f"{g.namespace}/{g.workload_name}: {_count_text(a)} of {_count_text(d)}"
                                        for g, (d, a) in zip(crossnet, counts, strict=True))},
                    remediation=describe, evidence=evidence)
                return
            yield self.report(self.NOT_SERVING, cluster.name, params={
                "gateways": gateways, "available": sum(a or 0 for _, a in counts),
                "desired": sum(d or 0 for d, _ in counts)}, remediation=describe, evidence=evidence)
            return
        unreachable = self._without_address(cluster, ctx, crossnet, deployed, known.cluster_id, evidence)
        if unreachable is not None:
            yield unreachable
            return
        gw_times = [mesh.parse_time(g.created) for g in crossnet]
        if any(t is None for t in gw_times):
            yield self.report(self.GATEWAY_UNDATED, cluster.name, params={}, evidence=evidence)
            return
        first_gw = min(t for t in gw_times if t is not None)
        evidence["cross_network_created"] = first_gw.isoformat()
        if moved.empty:
            yield self.report(self.READY_NO_POD, cluster.name, params={"created": first_gw.isoformat()},
                              evidence=evidence)
            return
        early_mask = (times < pd.Timestamp(first_gw)).to_numpy()
        if early_mask.any():
            moved = istio.pod_columns(pods, rows, ("namespace", "name", "workload_kind", "workload_name", "created"))
            early = moved[early_mask].assign(_t=times[early_mask]).sort_values("_t")
            workloads = sorted({(str(ns), str(k), str(n)) for ns, k, n in zip(
                early["namespace"], early["workload_kind"], early["workload_name"], strict=True)})
            evidence["pods_before_gateway"] = [f"{ns}/{pod} {t.isoformat()}" for ns, pod, t in zip(
                early["namespace"][:20], early["name"][:20], early["_t"][:20], strict=True)]
            yield self.report(self.PODS_BEFORE, cluster.name,
                              params={"pods": len(early), "workloads": len(workloads), "created": first_gw.isoformat(),
                                      "first": early["_t"].iloc[0].isoformat()},
                              remediation="\n".join(mesh.restart_command(cluster.name, k, ns, n)
                                                    for ns, k, n in workloads),
                              evidence={**evidence, "workloads": [f"{k} {ns}/{n}" for ns, k, n in workloads]})
        elif undated:
            yield self.report(self.PODS_UNDATED, cluster.name, params={"pods": undated}, evidence=evidence)
        else:
            yield self.report(self.BEFORE_FIRST_POD, cluster.name,
                              params={"created": first_gw.isoformat(), "oldest": oldest.isoformat()}, evidence=evidence)

    def conclude(self, ctx: Context) -> Iterable[Finding]:
        """A cluster whose east-west gateway is the VM gateway on its own objects, as such (AA1841) unless another
        istiod's meshNetworks route through it (auditor/network.vm_gateway_routed): then as a cross-network gateway."""
        return self.vm_holds.conclude(self.links, ctx)

    def _without_address(self, cluster: ClusterInventory, ctx: Context, crossnet: list[AsmGateway],
                         deployed: dict[tuple[str, str], GatewayWorkload], cluster_id: str | None,
                         evidence: dict[str, Any]) -> Finding | None:
        """FAIL NO_ADDRESS when every serving cross-network gateway of the cluster is fronted only by LoadBalancer
        Services whose status (written: `{}` before the cloud controller sets an address) holds no address and that
        have no spec.externalIPs, and ASM's network answer gives the cluster no CustomGatewayAddress; UNKNOWN
        ADDRESS_UNKNOWN when that answer does not tell; None when one has an address (or is no load balancer:
        NodePort and others are not judged here)."""
        serving = {key: deployed[key] for g in crossnet if (key := (g.namespace, g.workload_name)) in deployed
                   and _serves(pods_available(cluster, deployed[key]))}
        if not serving:
            return None
        services = [s for s in gateway_services(cluster, ctx.inv.rules, ctx.config.gateways)
                    if (s.gateway.namespace, s.gateway.name) in serving]
        fronted = {(s.gateway.namespace, s.gateway.name) for s in services}
        if fronted != set(serving) or not all(_lb_without_address(cluster, s) for s in services):
            return None
        names = ", ".join(f"{s.namespace}/{s.name}" for s in services)
        evidence = {**evidence, "no_address": [f"{s.namespace}/{s.name}" for s in services]}
        describe = "\n".join(f"{mesh.kubectl_in(cluster.name, s.namespace)} describe "
                             f"{mesh.object_ref('service', s.name)}" for s in services)
        try:
            answer = ctx.inv.openapi_answer("DescribeMeshMultiClusterNetwork")
        except EvidenceUnavailable as exc:
            answer, why = None, str(exc.reason)
        else:
            why = "no DescribeMeshMultiClusterNetwork answer given"
        entry = next((item for item in network_items(answer or {}) if cluster_id and item["ClusterId"] == cluster_id),
                     None)
        if answer and entry is None:
            why = f"the DescribeMeshMultiClusterNetwork answer has no entry for cluster id {cluster_id or '?'}"
        if entry is None:
            return self.report(self.ADDRESS_UNKNOWN, cluster.name, params={"services": names, "why": why},
                               remediation=describe, evidence=evidence)
        if entry["CustomGatewayAddress"]:
            return None  # ASM hands the other networks that address instead
        return self.report(self.NO_ADDRESS, cluster.name, params={"services": names}, remediation=describe,
                           evidence={**evidence, "custom_gateway_address": entry["CustomGatewayAddress"]})


def _workload_there(cluster: ClusterInventory, namespace: str, name: str) -> bool:
    """Whether a Deployment or DaemonSet of that name is in the namespace (kinds not read: not known to be absent)."""
    return any(not cluster.available(kind) or cluster.get(kind, name, namespace) is not None
               for kind in (K.DEPLOYMENT, K.DAEMONSET))


def _lb_without_address(cluster: ClusterInventory, svc: GatewayService) -> bool:
    """A LoadBalancer Service whose written status holds no ingress address and that has no spec.externalIPs: istiod
    gives it no ClusterExternalAddresses (ConvertService, pilot/pkg/serviceregistry/kube/conversion.go @1.22.3)."""
    if svc.service_type != "LoadBalancer" or not svc.lb_status_read or svc.lb_addresses:
        return False
    obj = cluster.get(K.SERVICE, svc.name, svc.namespace) or {}
    return not ((obj.get("spec") or {}).get("externalIPs"))
