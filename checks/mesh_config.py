"""Istio's mesh config after SetupIstioForMigrate: PROXY_CONFIG_XDS_AGENT set, istiod restarted since."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.check import ClusterCheck, Context
from auditor.inventory import ACTIVE_PHASES, ClusterInventory
from auditor.istio import istiods
from auditor.model import Finding, Gate, Outcome, Severity, Status

ISTIO_NS = "istio-system"


def mesh_configmap_name(dep: dict[str, Any]) -> str:
    """The ConfigMap istiod reads its mesh config from: its `config-volume` (Istio's charts), else by revision."""
    volumes = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or ()
    for volume in volumes:
        name = str(((volume.get("configMap") or {}).get("name")) or "")  # volumes are not type-checked on load
        if volume.get("name") == "config-volume" and name:
            return name
    revision = mesh.istiod_revision(dep)
    return "istio" if revision == "default" else f"istio-{revision}"


def xds_agent_in_mesh(cm: dict[str, Any]) -> tuple[Any, str | None]:
    """(value of defaultConfig.proxyMetadata.PROXY_CONFIG_XDS_AGENT or None, parse problem or None)."""
    try:
        config = mesh.parse_mesh(cm)
    except ValueError as exc:
        return None, str(exc)
    default = config.get("defaultConfig") or {}
    metadata = default.get("proxyMetadata") if isinstance(default, dict) else None
    if metadata is None:
        return None, None
    if not isinstance(metadata, dict):
        return None, "defaultConfig.proxyMetadata is not a mapping"
    return metadata.get(mesh.XDS_AGENT_KEY), None


def operator_note(cluster: ClusterInventory) -> str:
    """An in-cluster istio-operator reconciles the mesh ConfigMap back to its IstioOperator."""
    for dep in cluster.objects(K.DEPLOYMENT):
        meta = dep.get("metadata") or {}
        if meta.get("name") == "istio-operator" or (meta.get("labels") or {}).get("name") == "istio-operator":
            # Another object's name in the same line as the command: kept quoted and on one line.
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
                 "then on can talk mTLS to ASM proxies. A revision without it injects pods that cannot.")
    remediation = ("Switch ASMMigrateFromIstio to SetupIstioForMigrate (ASM writes the setting); if it is missing "
                   "afterwards, find what reverted it (istio-operator, Helm, GitOps) and re-run the switch.")
    outcomes = (
        Outcome("AA0901", Status.PASS, "every revision's mesh config sets PROXY_CONFIG_XDS_AGENT: \"true\""),
        Outcome("AA0910", Status.FAIL,
                "a revision's mesh config lacks PROXY_CONFIG_XDS_AGENT: \"true\" (or cannot be parsed)"),
        Outcome("AA0930", Status.UNKNOWN, "Istio proxies run without a local istiod: the mesh config lives elsewhere"),
        Outcome("AA0940", Status.NOT_APPLICABLE, "no istiod Deployment and no pod running Istio's proxy"),
    )
    needs = (K.DEPLOYMENT, K.CONFIGMAP)
    uses = (K.POD, K.REPLICASET)  # Istio proxies without a local istiod: UNKNOWN, not N/A

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        if not deployments:
            yield self.no_istiod(cluster)
            return
        seen: set[str] = set()
        for dep in deployments:
            name = mesh_configmap_name(dep)
            if name in seen:
                continue
            seen.add(name)
            revision = mesh.istiod_revision(dep)
            subject = {"kind": "ConfigMap", "namespace": ISTIO_NS, "name": name}
            show = (f"{mesh.kubectl(cluster.name)} -n {ISTIO_NS} get {mesh.object_ref('configmap', name)} "
                    "-o jsonpath='{.data.mesh}'")
            cm = cluster.get(K.CONFIGMAP, name, ISTIO_NS)
            evidence: dict[str, Any] = {"revision": revision, "istiod": dep["metadata"]["name"]}
            if cm is None:
                yield self.fail(cluster.name, f"revision {revision}: mesh ConfigMap {ISTIO_NS}/{name} not found, so "
                                f"istiod {dep['metadata']['name']} injects without PROXY_CONFIG_XDS_AGENT",
                                remediation=self.remediation, evidence=evidence, **subject)
                continue
            value, problem = xds_agent_in_mesh(cm)
            evidence.update({"value": value, "last_change": mesh.last_change_time(cm)})
            if problem:
                yield self.fail(cluster.name, f"revision {revision}: {problem}", remediation=f"Inspect it: {show}",
                                evidence=evidence, **subject)
            elif value == "true":
                yield self.passed(cluster.name, f"revision {revision}: PROXY_CONFIG_XDS_AGENT: \"true\" in "
                                  f"{ISTIO_NS}/{name}", evidence=evidence, **subject)
            elif value is True:
                # proxyMetadata is map<string,string>: an unquoted YAML true is a bool and fails Istio's parser.
                yield self.fail(cluster.name, f"revision {revision}: PROXY_CONFIG_XDS_AGENT is an unquoted YAML "
                                "true; proxyMetadata values are strings, istiod rejects the mesh config",
                                remediation=f"Quote the value (\"true\") in {ISTIO_NS}/{mesh.sh_text(name)}; "
                                            f"check: {show}",
                                evidence=evidence, **subject)
            else:
                found = "absent" if value is None else f"{value!r}"
                yield self.fail(cluster.name, f"revision {revision}: PROXY_CONFIG_XDS_AGENT is {found} in "
                                f"{ISTIO_NS}/{name} (must be \"true\")",
                                remediation=self.remediation + operator_note(cluster) + f" Check: {show}",
                                evidence=evidence, **subject)


class IstiodRestarted(ClusterCheck):
    id = "istiod-restarted"
    title = "Every istiod revision restarted after its mesh config changed"
    gates = (Gate.MIGRATING,)
    severity = Severity.BLOCKER
    rationale = ("The migration procedure restarts istiod after SetupIstioForMigrate so that it injects the new "
                 "mesh config; an istiod pod started before the mesh ConfigMap's last change (newest managedFields "
                 "time) may still inject pods without PROXY_CONFIG_XDS_AGENT.")
    remediation = "kubectl -n istio-system rollout restart deployment/istiod[-<rev>]"
    outcomes = (
        Outcome("AA1001", Status.PASS, "every istiod pod started after the mesh-config change"),
        Outcome("AA1010", Status.FAIL,
                "istiod pods started before the mesh-config change: new pods would be injected without the setting"),
        Outcome("AA1030", Status.UNKNOWN, "start times or the mesh config's change time cannot be read"),
        Outcome("AA1040", Status.NOT_APPLICABLE, "no istiod Deployment and no pod running Istio's proxy"),
    )
    needs = (K.DEPLOYMENT, K.CONFIGMAP, K.POD)
    uses = (K.REPLICASET,)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        deployments = istiods(cluster)
        if not deployments:
            yield self.no_istiod(cluster)
            return
        pods = cluster.pods()
        active = pods[pods["phase"].isin(ACTIVE_PHASES) & (pods["workload_kind"] == "Deployment")]
        for dep in deployments:
            meta = dep["metadata"]
            namespace, name = meta.get("namespace", ""), meta["name"]
            revision = mesh.istiod_revision(dep)
            subject = {"kind": "Deployment", "namespace": namespace, "name": name}
            restart = mesh.restart_command(cluster.name, "Deployment", namespace, name)
            cm_name = mesh_configmap_name(dep)
            cm = cluster.get(K.CONFIGMAP, cm_name, ISTIO_NS)
            if cm is None:
                yield self.unknown(cluster.name, f"revision {revision}: no mesh ConfigMap {ISTIO_NS}/{cm_name} to "
                                   "compare istiod's start with (see mesh-config-xds-agent)", **subject)
                continue
            cm_meta = cm.get("metadata") or {}
            managed = [m.get("time") for m in cm_meta.get("managedFields") or () if m.get("time")]
            changed_text = max(managed) if managed else cm_meta.get("creationTimestamp")
            changed = mesh.parse_time(changed_text)
            mine = active[(active["namespace"] == namespace) & (active["workload_name"] == name)]
            starts = {str(p): (s or c) for p, s, c in zip(mine["name"], mine["started"], mine["created"],
                                                          strict=True)}
            evidence: dict[str, Any] = {"revision": revision, "configmap": f"{ISTIO_NS}/{cm_name}",
                                        "configmap_changed": changed_text,
                                        "change_time_source": "managedFields" if managed else "creationTimestamp",
                                        "pods_started": starts}
            if changed is None:
                yield self.unknown(cluster.name, f"revision {revision}: {ISTIO_NS}/{cm_name} carries no readable "
                                   "change time", evidence=evidence, **subject)
                continue
            if mine.empty:
                yield self.fail(cluster.name, f"revision {revision}: no running istiod pod of {namespace}/{name}, so "
                                "nothing serves the new mesh config", remediation=restart, evidence=evidence, **subject)
                continue
            times = {p: mesh.parse_time(t) for p, t in starts.items()}
            unknown = sorted(p for p, t in times.items() if t is None)
            stale = sorted(p for p, t in times.items() if t is not None and t <= changed)
            if stale:
                yield self.fail(cluster.name, f"revision {revision}: {len(stale)}/{len(times)} istiod pod(s) started "
                                f"before {ISTIO_NS}/{cm_name} last changed ({changed_text})",
                                remediation=restart, evidence={**evidence, "stale": stale}, **subject)
            elif unknown:
                yield self.unknown(cluster.name, f"revision {revision}: start time of {', '.join(unknown)} unknown",
                                   evidence=evidence, **subject)
            elif not managed:
                # `kubectl get -o yaml` hides managedFields: creation is only a lower bound of the last change.
                yield self.unknown(cluster.name, f"revision {revision}: {ISTIO_NS}/{cm_name} has no managedFields, "
                                   "so its last change is unknown (collect with `asm-audit snapshot`, or kubectl "
                                   "--show-managed-fields)", evidence=evidence, **subject)
            else:
                yield self.passed(cluster.name, f"revision {revision}: all {len(times)} istiod pod(s) started after "
                                  f"{ISTIO_NS}/{cm_name} last changed ({changed_text})", evidence=evidence, **subject)
