"""PROXY_CONFIG_XDS_AGENT on Istio-proxy pods: only pods created after SetupIstioForMigrate carry it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context
from auditor.gateways import INSTALL_ISTIOCTL, SCAN_KINDS, gateway_workloads
from auditor.inventory import ClusterInventory, value_counts, workload_columns, workload_sizes
from auditor.istio import (
    UNCLASSIFIED_MESSAGE,
    WORKLOAD_KEY,
    among,
    istio_proxy_rows,
    pod_columns,
    unclassified_proxy_findings,
)
from auditor.model import Finding, Gate, Outcome, Severity, Status


def seen_values_text(seen: dict[str, int]) -> str:
    """The values seen and their counts as the message writes them ("<absent> x3, false x1")."""
    return ", ".join(f"{value} x{count}" for value, count in seen.items())


class PodsXdsAgent(ClusterCheck):
    id = "pods-xds-agent"
    title = "Every Istio-sidecar pod carries PROXY_CONFIG_XDS_AGENT=true"
    gates = (Gate.MIGRATING,)
    severity = Severity.BLOCKER
    rationale = ("Only pods created after SetupIstioForMigrate (and after istiod restarted) carry the setting "
                 "that lets Istio sidecars and ASM proxies talk mTLS during the migration. The value must be "
                 "\"true\": a grep for the name alone would also pass \"false\". Istio ingress/egress gateways "
                 "originate mTLS to moved workloads too, so their pods are checked as well (severity major); east-west "
                 "gateways only pass mTLS through and are not.")
    remediation = "Restart the workload so its pods are injected again (kubectl rollout restart)."
    _LACK = "{missing}/{total} {what} lack PROXY_CONFIG_XDS_AGENT=\"true\" (seen: {seen})"
    CARRIED = Outcome("AA1101", Status.PASS, "every Istio-proxy pod of the workloads carries "
                      "PROXY_CONFIG_XDS_AGENT=true",
                      message="{workloads} workload(s) on Istio's proxy carry PROXY_CONFIG_XDS_AGENT=\"true\"")
    NO_ISTIO_PROXY = Outcome("AA1102", Status.PASS, "no pod runs Istio's proxy (east-west gateways aside): nothing "
                             "to restart", message="no pod runs Istio's proxy: nothing to restart")
    MISSING = Outcome("AA1110", Status.FAIL, "pods of a workload lack PROXY_CONFIG_XDS_AGENT=true: restart the "
                      "workload", message=_LACK.replace("{what}", "pod(s)"))
    GATEWAY_MISSING = Outcome("AA1111", Status.FAIL, "ingress/egress gateway pods lack PROXY_CONFIG_XDS_AGENT=true: "
                              "restart the gateway (injected: the gateway chart, Gateway API)", Severity.MAJOR,
                              message=_LACK.replace("{what}", "gateway pod(s)"))
    ISTIOCTL_GATEWAY_MISSING = Outcome("AA1112", Status.FAIL, "an istioctl/IstioOperator gateway lacks "
                                       "PROXY_CONFIG_XDS_AGENT=true: it is not injected, so set the IstioOperator "
                                       "value and re-install (or `kubectl set env`), never a restart", Severity.MAJOR,
                                       message=_LACK.replace("{what}", "gateway pod(s)"))
    UNCLASSIFIED = Outcome("AA1130", Status.UNKNOWN,
                           "pods whose proxy marks contradict each other: Istio's or ASM's cannot be told",
                           message=UNCLASSIFIED_MESSAGE)
    outcomes = (CARRIED, NO_ISTIO_PROXY, MISSING, GATEWAY_MISSING, ISTIOCTL_GATEWAY_MISSING, UNCLASSIFIED)
    needs = (K.POD,)
    uses = (K.REPLICASET, K.JOB, K.DEPLOYMENT, *SCAN_KINDS)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        pods = cluster.pods()
        yield from unclassified_proxy_findings(self, self.UNCLASSIFIED, cluster, pods)
        istio = istio_proxy_rows(pods)
        installers = {}
        if cluster.available(K.DEPLOYMENT):
            config = ctx.config
            installers = {(g.namespace, g.kind, g.name): g.installed_by for g in gateway_workloads(
                cluster, ctx.inv.rules, config.gateways if config is not None else None)}
        # East-west gateways pass mTLS through (AUTO_PASSTHROUGH) without terminating it: their trust does
        # not matter. Ingress/egress gateways originate mTLS to moved workloads, so they are checked.
        # Compared as categories (one comparison per distinct value), not converted to text pod by pod.
        eastwest = among(pods["gateway_label"], ("eastwestgateway",))
        skipped = int((istio & eastwest).sum())
        # Only the rows and columns read, as frames of those columns' arrays: selecting copies each column it keeps.
        columns = [*WORKLOAD_KEY, "name", "role", "xds_agent"]
        proxies = pod_columns(pods, istio & ~eastwest, columns)
        # Vectorised: one mask over all pods, then only the workloads that lack the value are grouped.
        missing_all = pod_columns(proxies, ~among(proxies["xds_agent"], ("true",)), columns)
        sizes = workload_sizes(proxies)
        # Plain lists in workload order (inventory.workload_columns): no DataFrame, nor dict of lists, per workload.
        keys, bounds, values = workload_columns(missing_all, ("name", "xds_agent", "role"))
        pod_names, xds_values, roles = values["name"], values["xds_agent"], values["role"]
        seen_before: dict[tuple[Any, ...], dict[str, int]] = {}
        # id of a dict of seen_before -> that dict (held, so its id is not reused) and its text: written once per
        # distinct values
        seen_texts: dict[int, tuple[dict[str, int], str]] = {}
        for g, (namespace, kind, name) in enumerate(keys):
            start, end = bounds[g], bounds[g + 1]
            total = int(sizes.get((namespace, kind, name), end - start))
            seen = value_counts(xds_values[start:end], seen_before)
            known = seen_texts.get(id(seen))
            if known is None or known[0] is not seen:
                known = seen_texts[id(seen)] = (seen, seen_values_text(seen))
            seen_text = known[1]
            gateway = mesh.ROLE_GATEWAY in roles[start:end]
            installed_by = installers.get((namespace, kind, name), "") if gateway else ""
            outcome = (self.ISTIOCTL_GATEWAY_MISSING if installed_by == INSTALL_ISTIOCTL
                       else self.GATEWAY_MISSING if gateway else self.MISSING)
            yield self.report(
                outcome, cluster.name, params={"missing": end - start, "total": total,
                                               "seen": seen_text},
                kind=kind, namespace=namespace, name=name,
                remediation=self._remedy(cluster.name, kind, namespace, name, installed_by),
                evidence={"pods": pod_names[start:min(end, start + 20)], "values": {**seen}, "pod_count": total,
                          "gateway": gateway, "installed_by": installed_by or None})
        # The workloads lacking the value that `sizes` counts (a pod with a missing key is grouped by neither).
        ok_workloads = len(sizes) - len(sizes.keys() & keys)
        if proxies.empty:
            yield self.report(self.NO_ISTIO_PROXY, cluster.name, params={},
                              evidence={"workloads_ok": 0, "eastwest_gateway_pods_skipped": skipped})
        elif ok_workloads:
            yield self.report(self.CARRIED, cluster.name, params={"workloads": ok_workloads},
                              evidence={"workloads_ok": ok_workloads, "eastwest_gateway_pods_skipped": skipped})

    @staticmethod
    def _remedy(cluster: str, kind: str, namespace: str, name: str, installed_by: str) -> str:
        """Injected pods get the setting at their next start; istioctl/IstioOperator gateways are not injected:
        their env was rendered at install time from the IstioOperator, so a restart changes nothing."""
        if installed_by != INSTALL_ISTIOCTL:
            return mesh.restart_command(cluster, kind, namespace, name)
        return (f"# {kind} {mesh.sh_text(namespace)}/{mesh.sh_text(name)} was rendered by istioctl from an "
                "IstioOperator and is not injected: a restart does not add the setting.\n"
                "# Set spec.meshConfig.defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT: \"true\" in the "
                "IstioOperator you installed with, then re-apply it with the istioctl of the installed version:\n"
                f"istioctl --kubeconfig={mesh.kubeconfig_var(cluster)} install -f "
                "\"${ISTIOOPERATOR_FILE:?the IstioOperator file you installed with}\"\n"
                "# or set it on the workload directly (the next `istioctl install` must carry it too):\n"
                f"{mesh.kubectl_in(cluster, namespace)} set env {mesh.object_ref(kind.lower(), name)} "
                f"{mesh.XDS_AGENT_KEY}=true")
