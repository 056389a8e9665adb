"""ASM's CNI plug-in: on, off or not known, and the namespaces it skips (ExcludeNamespaces).

Shared by cni-compatibility (whether ASM injects istio-init where Istio used istio-cni) and purge-preview (whether
ASM's pods may be left to Istio's CNI plug-in, which the purge removes). Sources, in order: config `asm.cni` (and
`asm.cni_exclude_namespaces`), the DescribeServiceMeshDetail answer
(`ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration.Enabled` / `ExcludeNamespaces`), an ASM-marked CNI
DaemonSet in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor import kinds as K
from auditor import mesh
from auditor.check import Context
from auditor.config import split_names
from auditor.errors import EvidenceUnavailable
from auditor.inventory import ClusterInventory


@dataclass
class AsmCni:
    """ASM's CNI plug-in: on (True), off (False) or unknown (None), where that came from, namespaces it skips (None:
    not known) and where those came from."""

    enabled: bool | None
    source: str
    excluded: frozenset[str] | None = frozenset()
    unknown_why: str = ""  # when enabled is None: "unsaid", "unreadable" (with reason) or "no_field"
    reason: str = ""
    excluded_source: str = ""


CONFIG_EXCLUDED = "config asm.cni_exclude_namespaces"


def _split(names: Any) -> frozenset[str]:
    """ASM's ExcludeNamespaces: one comma-separated string (`kube-system,shop`)."""
    return frozenset(split_names(str(names or "")))


def _answer_exclusions(ctx: Context) -> tuple[frozenset[str] | None, str]:
    """ExcludeNamespaces of a DescribeServiceMeshDetail answer that says the plug-in is on, else (None, ""): the
    exclusions of a plug-in the answer calls off tell nothing of the one the config calls on."""
    try:
        detail = ctx.inv.openapi_answer("DescribeServiceMeshDetail")
    except EvidenceUnavailable:
        return None, ""
    cni = _init_cni(detail)
    if not isinstance(cni, dict) or cni.get("Enabled") is not True:
        return None, ""
    return _exclusions(cni, ctx.inv.openapi_origin("DescribeServiceMeshDetail"))


def _init_cni(detail: Any) -> Any:
    """A DescribeServiceMeshDetail answer's ServiceMesh.Spec.MeshConfig.SidecarInjector.InitCNIConfiguration."""
    spec = ((detail or {}).get("ServiceMesh") or {}).get("Spec") or {}
    return ((spec.get("MeshConfig") or {}).get("SidecarInjector") or {}).get("InitCNIConfiguration")


def _exclusions(cni: dict[str, Any], origin: str) -> tuple[frozenset[str] | None, str]:
    """The namespaces an InitCNIConfiguration says the plug-in skips, and where that was read; (None, "") when it does
    not say. The SDK's to_map leaves out a field the server sent no value for (alibabacloud-servicemesh20200111 3.4.0
    models.py DescribeServiceMeshDetailResponseBodyServiceMeshSpecMeshConfigSidecarInjectorInitCNIConfiguration:
    `if self.exclude_namespaces is not None`), and a saved answer may lack it: that is not "skips none" (`""`). It was
    read as such, and a restricted namespace the plug-in may skip passed (cni-compatibility PASS AA2602)."""
    if cni.get("ExcludeNamespaces") is None:
        return None, ""
    return _split(cni.get("ExcludeNamespaces")), f"{origin} (InitCNIConfiguration.ExcludeNamespaces)"


def asm_cni_state(cluster: ClusterInventory, ctx: Context) -> AsmCni:
    """ASM's CNI state; the namespaces it skips from config asm.cni_exclude_namespaces, which wins over the answer's."""
    state = _asm_cni_state(cluster, ctx)
    config = ctx.config
    if state.enabled and config is not None and config.asm.cni_exclude_namespaces is not None:
        state.excluded, state.excluded_source = frozenset(config.asm.cni_exclude_namespaces), CONFIG_EXCLUDED
    return state


def _asm_cni_state(cluster: ClusterInventory, ctx: Context) -> AsmCni:
    config = ctx.config
    if config is not None and config.asm.cni is not None:
        # Typed in: the plug-in's state, not which namespaces it skips; a DescribeServiceMeshDetail answer may say.
        excluded, excluded_source = _answer_exclusions(ctx) if config.asm.cni else (frozenset(), "")
        return AsmCni(bool(config.asm.cni), "config asm.cni", excluded, excluded_source=excluded_source)
    why = "neither config asm.cni nor a DescribeServiceMeshDetail answer says whether ASM's CNI plug-in is on"
    unknown_why, reason = "unsaid", ""
    try:
        detail = ctx.inv.openapi_answer("DescribeServiceMeshDetail")
    except EvidenceUnavailable as exc:
        detail, why, unknown_why, reason = (None, f"DescribeServiceMeshDetail could not be read: {exc.reason}",
                                            "unreadable", exc.reason)
    if detail:
        cni = _init_cni(detail)
        if isinstance(cni, dict) and isinstance(cni.get("Enabled"), bool):
            origin = ctx.inv.openapi_origin("DescribeServiceMeshDetail")
            excluded, excluded_source = _exclusions(cni, origin)
            return AsmCni(cni["Enabled"], f"{origin} (InitCNIConfiguration.Enabled)", excluded,
                          excluded_source=excluded_source)
        why = "the DescribeServiceMeshDetail answer has no SidecarInjector.InitCNIConfiguration.Enabled"
        unknown_why = "no_field"
    for ds in cluster.objects(K.DAEMONSET):
        meta = ds.get("metadata") or {}
        if "cni" in meta.get("name", "") and mesh.asm_owned(meta) in ("ASM label/annotation", "label provider=asm"):
            # The DaemonSet shows the plug-in is on, not which namespaces it skips.
            return AsmCni(True, f"ASM-marked DaemonSet {meta.get('namespace')}/{meta.get('name')}", None)
    return AsmCni(None, why, unknown_why=unknown_why, reason=reason)
