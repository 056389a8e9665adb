"""The check plugin API: one small class per catalogue id. Checks judge; they never fetch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from auditor import kinds as K
from auditor import mesh
from auditor.inventory import ClusterInventory, Inventory
from auditor.kinds import Kind
from auditor.model import Finding, Gate, Severity, Status


@dataclass
class Context:
    """What a check sees: the inventory, the gate being audited and the user's settings."""

    inv: Inventory
    gate: Gate
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


class Check:
    """Base class. Subclasses set the metadata and implement `run` (or `check_cluster`)."""

    id: ClassVar[str]
    title: ClassVar[str]
    gates: ClassVar[tuple[Gate, ...]]
    severity: ClassVar[Severity]
    rationale: ClassVar[str]
    remediation: ClassVar[str]  # the usual next step; findings carry the exact command
    needs: ClassVar[tuple[Kind, ...]] = ()        # data-plane kinds, required
    uses: ClassVar[tuple[Kind, ...]] = ()         # data-plane kinds, read when available
    asm_needs: ClassVar[tuple[Kind, ...]] = ()    # ASM control-plane kinds, required
    needs_traffic: ClassVar[bool] = False

    def run(self, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    # -- finding helpers; the engine stamps gate/check id/title/severity
    def finding(self, status: Status, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(status=status, cluster=cluster, message=message, **kw)

    def passed(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.PASS, cluster, message, **kw)

    def fail(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.FAIL, cluster, message, **kw)

    def warn(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.WARN, cluster, message, **kw)

    def unknown(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.UNKNOWN, cluster, message, **kw)

    def not_applicable(self, cluster: str, message: str, **kw: Any) -> Finding:
        return Finding(Status.NOT_APPLICABLE, cluster, message, **kw)

    @classmethod
    def metadata(cls) -> dict[str, Any]:
        return {
            "id": cls.id, "title": cls.title, "gates": [g.value for g in cls.gates],
            "severity": cls.severity.value, "rationale": cls.rationale, "remediation": cls.remediation,
            "needs": [k.kind for k in cls.needs], "uses": [k.kind for k in cls.uses],
            "asm_needs": [k.kind for k in cls.asm_needs], "module": cls.__module__,
        }


class ClusterCheck(Check):
    """A check judged per data-plane cluster; one unreadable cluster gives UNKNOWN for it alone."""

    def run(self, ctx: Context) -> Iterator[Finding]:  # the engine calls check_cluster directly
        for cluster in ctx.inv.data_planes:
            yield from self.check_cluster(cluster, ctx)

    def check_cluster(self, cluster: ClusterInventory, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def no_istiod(self, cluster: ClusterInventory) -> Finding:
        """No istiod Deployment here. NOT_APPLICABLE only when no pod runs Istio's proxy either: Istio sidecars
        with no local istiod get their config from a control plane in another cluster (primary-remote), which
        this cluster's objects cannot judge."""
        looked = "no self-built istiod Deployment (label app=istiod) found"
        if not cluster.available(K.POD):
            return self.unknown(cluster.name, f"{looked}, and pods were not read: cannot tell whether Istio "
                                "proxies here use a control plane in another cluster")
        pods = cluster.pods()
        proxies = int(pods["proxy"].isin([mesh.PROXY_ISTIO, mesh.PROXY_UNKNOWN]).sum()) if not pods.empty else 0
        if proxies:
            return self.unknown(cluster.name, f"{looked}, but {proxies} pod(s) run Istio's proxy: their istiod runs "
                                "elsewhere (primary-remote); audit the cluster that runs it",
                                evidence={"istio_proxy_pods": proxies})
        return self.not_applicable(cluster.name, f"{looked} and no pod runs Istio's proxy")
