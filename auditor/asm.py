"""ASM's side as several checks and the engine read it: ASMMigrateFromIstio's options, OpenAPI answers."""

from __future__ import annotations

from typing import Any

from auditor import mesh

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
    nets = answer.get("MultiClusterNetworks") or answer.get("multiClusterNetworks") or []
    if isinstance(nets, dict):
        # {"cluster-id": {...}} or {"Networks": [...]}
        if all(isinstance(v, dict) for v in nets.values()):
            return [{"ClusterId": k, **v} for k, v in nets.items()]
        nets = nets.get("Networks") or []
    return [n for n in nets if isinstance(n, dict)]
