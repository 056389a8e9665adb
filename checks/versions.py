"""Version prerequisites of the seed: Kubernetes >= 1.21, Istio >= 1.10, ASM >= 1.24."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from auditor import kinds as K
from auditor import mesh
from auditor.check import Check, ClusterCheck, Context
from auditor.errors import EvidenceUnavailable
from auditor.inventory import ClusterInventory
from auditor.model import Finding, Gate, Severity

MIN_KUBERNETES = (1, 21)
MIN_ISTIO = (1, 10)
MIN_ASM = (1, 24)
MAX_PROXY_SKEW_MINORS = 2


class KubernetesVersion(ClusterCheck):
    id = "kubernetes-version"
    title = "Kubernetes is 1.21 or later"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = "ASM only migrates clusters running Kubernetes 1.21 or later."
    remediation = "Upgrade the cluster to Kubernetes >= 1.21 (ACK: Clusters > Upgrade) before joining it to ASM."

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        if cluster.unreachable:
            raise EvidenceUnavailable(f"cluster unreachable: {cluster.unreachable}")
        if cluster.version_info is None:
            yield self.unknown(cluster.name, f"Kubernetes version unknown: {cluster.version_error}")
            return
        raw = cluster.version_info.get("gitVersion") or ""
        version = mesh.kubernetes_version(cluster.version_info)
        evidence = {"gitVersion": raw, "major": cluster.version_info.get("major"),
                    "minor": cluster.version_info.get("minor")}
        if version is None:
            yield self.unknown(cluster.name, f"cannot read a version from /version answer {raw!r}",
                               evidence=evidence)
        elif version.at_least(*MIN_KUBERNETES):
            yield self.passed(cluster.name, f"Kubernetes {raw} (>= 1.21)", evidence=evidence)
        else:
            yield self.fail(cluster.name, f"Kubernetes {raw} is older than 1.21", evidence=evidence,
                            remediation=self.remediation)


class IstioVersion(ClusterCheck):
    id = "istio-version"
    title = "Every istiod revision is Istio 1.10 or later; data-plane skew is supported"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = "ASM migrates self-built Istio 1.10 or later; proxies far behind istiod misbehave in the move."
    remediation = "Upgrade Istio to >= 1.10 with istioctl upgrade (revision by revision) before migrating."
    needs = (K.DEPLOYMENT, K.POD)
    uses = (K.REPLICASET, K.JOB)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        istiods = [d for d in cluster.objects(K.DEPLOYMENT) if mesh.is_istiod_deployment(d)]
        if not istiods:
            yield self.not_applicable(cluster.name, "no self-built istiod Deployment (label app=istiod) found")
            return
        newest = None
        for dep in istiods:
            meta = dep["metadata"]
            version, source = mesh.istiod_version(dep)
            revision = mesh.istiod_revision(dep)
            common = {"kind": "Deployment", "namespace": meta.get("namespace", ""), "name": meta["name"],
                      "evidence": {"revision": revision, "source": source}}
            if version is None:
                yield self.unknown(cluster.name, f"istiod revision {revision}: version unknown ({source})",
                                   **common)
            elif version.at_least(*MIN_ISTIO):
                newest = max(newest, version) if newest else version
                yield self.passed(cluster.name, f"istiod revision {revision} runs Istio {version}", **common)
            else:
                yield self.fail(cluster.name, f"istiod revision {revision} runs Istio {version} (< 1.10)",
                                remediation=self.remediation, **common)
        if newest is None:
            return
        pods = cluster.pods()
        sidecars = pods[(pods["proxy"] == mesh.PROXY_ISTIO)]
        skewed: dict[str, int] = {}
        for image, count in sidecars["proxy_image"].value_counts().items():
            if not count:
                continue
            version = mesh.parse_version(mesh.image_tag(str(image)))
            if version and (newest.major, newest.minor - MAX_PROXY_SKEW_MINORS) > (version.major, version.minor):
                skewed[str(image)] = int(count)
        if skewed:
            yield self.warn(cluster.name, f"{sum(skewed.values())} Istio proxies are more than "
                            f"{MAX_PROXY_SKEW_MINORS} minor versions behind istiod {newest}",
                            severity=Severity.MINOR, evidence={"images": skewed},
                            remediation="Restart the workloads on old proxies before migrating.")


def _load_json_file(path: str) -> dict[str, Any]:
    try:
        return orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise EvidenceUnavailable(f"cannot read ASM OpenAPI answer {path}: {exc}") from exc


def asm_version(ctx: Context) -> tuple[mesh.Version | None, str, str | None]:
    """(version, where it came from, raw text). Sources in domain.md's order of trust."""
    config = ctx.setting("config")
    if config and config.asm.version:
        return mesh.parse_version(config.asm.version), "config asm.version", config.asm.version
    detail = ctx.inv.asm_openapi.get("DescribeServiceMeshDetail")
    if config and config.asm.describe_service_mesh_detail:
        detail = _load_json_file(config.asm.describe_service_mesh_detail)
    if detail:
        raw = (((detail.get("ServiceMesh") or {}).get("ServiceMeshInfo") or {}).get("Version"))
        if raw:
            return mesh.parse_version(raw), "ASM OpenAPI DescribeServiceMeshDetail", raw
    for cluster in ctx.inv.data_planes:
        if cluster.available(K.SERVICE):
            found = mesh.asm_istiod_services(cluster.objects(K.SERVICE))
            if found:
                name, version = max(found, key=lambda item: item[1])
                return version, f"Service istio-system/{name} in {cluster.name}", name
    return None, "", None


class AsmVersion(Check):
    id = "asm-version"
    title = "The ASM instance is 1.24 or later"
    gates = (Gate.ASSESSMENT, Gate.SETUP)
    severity = Severity.BLOCKER
    rationale = ("The migration needs an ASM instance of 1.24 or later (1.22 at least for the cross-cluster "
                 "mesh proxy that replaces Istio's east-west gateway).")
    remediation = "Create (or upgrade to) an ASM instance of version >= 1.24 for the migration."
    uses = (K.SERVICE,)

    def run(self, ctx: Context) -> Iterable[Finding]:
        where = ctx.inv.asm.name if ctx.inv.asm else "asm"
        version, source, raw = asm_version(ctx)
        evidence = {"source": source, "raw": raw}
        if raw is None:
            yield self.unknown(where, "ASM version unknown: set asm.version (or "
                               "asm.describe_service_mesh_detail) in the config, or join a cluster so "
                               "ASM's istiod-<rev> Service appears", evidence=evidence)
        elif version is None:
            yield self.unknown(where, f"cannot read a version from {raw!r} ({source})", evidence=evidence)
        elif version.at_least(*MIN_ASM):
            yield self.passed(where, f"ASM {version} (>= 1.24), from {source}", evidence=evidence)
        else:
            yield self.fail(where, f"ASM {version} is older than 1.24 (from {source})", evidence=evidence,
                            remediation=self.remediation)
