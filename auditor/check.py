"""The check plugin API: one small class per catalogue id. Checks judge; they never fetch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

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
