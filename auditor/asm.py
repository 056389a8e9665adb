"""ASM's side as several checks and the engine read it: ASMMigrateFromIstio's options, OpenAPI answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor import kinds as K
from auditor import mesh

if TYPE_CHECKING:
    from auditor.check import Context

# The seed names the istio-system label option twice: in the table/sample output and in the patch command.
# ASM's published type (aliyun/alibabacloud-servicemesh-api, alibabacloudservicemesh/v1/
# asmmigratefromistio_types.go) has only the first: the patch spelling is pruned by the CRD or ignored.
ADVANCED_OPTION = "stopIstioSystemInjectionDisabling"
SEED_PATCH_SPELLING = "disableIstioSystemLabelReconciliation"
ADVANCED_OPTION_NAMES = (ADVANCED_OPTION, SEED_PATCH_SPELLING)
NO_EFFECT = (f"spec.advancedOptions.{SEED_PATCH_SPELLING} (the seed's patch spelling) has no effect: ASM's API "
             f"names the option {ADVANCED_OPTION}")


def advanced_options(cr: dict[str, Any]) -> dict[str, Any]:
    """Values of the istio-system label option under each name the seed uses (only names present)."""
    options = ((cr.get("spec") or {}).get("advancedOptions")) or {}
    return {name: options[name] for name in ADVANCED_OPTION_NAMES if name in options}


def advanced_option(cr: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the istio-system label option is set (true) under the name ASM reads, and that name.

    The seed's patch spelling never counts: ASM does not read it (see `seed_spelling_used`).
    """
    if advanced_options(cr).get(ADVANCED_OPTION) is True:
        return True, ADVANCED_OPTION
    return False, None


def seed_spelling_used(cr: dict[str, Any]) -> bool:
    """The seed's patch spelling is in spec.advancedOptions: the user believes the option set, ASM ignores it."""
    return SEED_PATCH_SPELLING in advanced_options(cr)


def option_patch(cr: dict[str, Any] | None) -> str:
    """The merge patch setting the option ASM reads (and dropping the seed's spelling when present)."""
    drop = f',"{SEED_PATCH_SPELLING}":null' if cr is not None and seed_spelling_used(cr) else ""
    return mesh.migration_patch('{"spec":{"advancedOptions":{"' + ADVANCED_OPTION + '":true' + drop + "}}}")


def network_items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-cluster entries of a DescribeMeshMultiClusterNetwork answer, each with its fields under ASM's spelling
    (ClusterId, Network, EnableGateway, GatewayName) whichever case the answer used: read here once for every reader."""
    nets = answer.get("MultiClusterNetworks") or answer.get("multiClusterNetworks") or []
    if isinstance(nets, dict):
        # {"cluster-id": {...}} or {"Networks": [...]}
        if all(isinstance(v, dict) for v in nets.values()):
            return [_canonical({"ClusterId": k, **v}) for k, v in nets.items()]
        nets = nets.get("Networks") or []
    return [_canonical(n) for n in nets if isinstance(n, dict)]


def _canonical(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "ClusterId": item.get("ClusterId") or item.get("clusterId"),
            "Network": item.get("Network") or item.get("network"),
            # An explicit EnableGateway (even false or null) wins over the camel-case spelling.
            "EnableGateway": item["EnableGateway"] if "EnableGateway" in item else item.get("enableGateway"),
            "GatewayName": item.get("GatewayName") or item.get("gatewayName")}


def asm_version(ctx: Context) -> tuple[mesh.Version | None, str, str | None]:
    """(version, where it came from, raw text) of the ASM instance, in domain.md's order of trust:
    the user's config or a saved DescribeServiceMeshDetail answer, then ASM's istiod-<rev> Service in a
    data plane. (ASM proxy image tags only bound it from below; see AsmVersion.)"""
    config = ctx.config
    if config and config.asm.version:
        return mesh.parse_version(config.asm.version), "config asm.version", config.asm.version
    # Config file, live or snapshot answer; a live read that failed is UNKNOWN here, not skipped for a weaker source.
    detail = ctx.inv.openapi_answer("DescribeServiceMeshDetail")
    origin = ctx.inv.openapi_origin("DescribeServiceMeshDetail")
    if detail:
        raw = (((detail.get("ServiceMesh") or {}).get("ServiceMeshInfo") or {}).get("Version"))
        if raw:
            return mesh.parse_version(raw), origin, raw
    services = []
    for cluster in ctx.inv.data_planes:
        # Only Services proven ASM's: a version-named Istio revision (istiod-1-24-2) says nothing of ASM.
        services += [(version, name, cluster.name) for name, version in
                     mesh.asm_istiod_versions(cluster.istiod_owners())]
    if services:
        # During an ASM canary upgrade two istiod-<rev> Services exist; the instance runs the newest.
        version, name, where = max(services)
        return version, f"Service istio-system/{name} in {where}", name
    return None, "", None


def asm_proxy_versions(ctx: Context) -> dict[str, int]:
    """ASM proxy image tags seen in the data planes -> pod count."""
    seen: dict[str, int] = {}
    for cluster in ctx.inv.data_planes:
        if not cluster.available(K.POD):
            continue
        pods = cluster.pods()
        for image, count in pods.loc[pods["proxy"] == mesh.PROXY_ASM, "proxy_image"].value_counts().items():
            if count:
                seen[str(image)] = seen.get(str(image), 0) + int(count)
    return seen
