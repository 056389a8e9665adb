"""The minimal read-only RBAC the live mode needs, computed from the checks a gate selects.

What is granted comes from the audit's collection plan (auditor/plan.py): the kinds each selected check
declares (`needs`, `uses`, `asm_needs`) and the engine's own reads (gate selection, cluster facts).
The role grants `get` and `list` on exactly those resources, grouped by API group. Never Secrets,
never a write verb, never `watch`: the live source refuses those requests anyway, the role makes
the promise checkable by the cluster owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import __version__, plan
from auditor.errors import UsageError
from auditor.kinds import Kind
from auditor.registry import Registry, load_registry

VERBS = ("get", "list")
# Resources no role of ours may ever name, whatever a (third-party) check declares.
NEVER: frozenset[tuple[str, str]] = frozenset({("", "secrets")})
PLANES = ("data-plane", "asm")
ROLE_NAMES = {"data-plane": "asm-audit-reader", "asm": "asm-audit-asm-reader"}
APPLY_TO = {"data-plane": "every data-plane cluster (--kubeconfig / --cluster)",
            "asm": "the ASM control plane (--asm-kubeconfig / $ASM_KUBECONFIG)"}
# Discovery and /version: every authenticated user has them through system:discovery; listed so the
# role also works where that default binding was removed.
DISCOVERY_RULE: dict[str, Any] = {"nonResourceURLs": ["/version", "/api", "/api/*", "/apis", "/apis/*"],
                                  "verbs": ["get"]}
BINDING_GROUP = "asm-audit-readers"


def required_kinds(phase: str = "all", registry: Registry | None = None,
                   disabled: Iterable[str] = ()) -> dict[str, dict[Kind, list[str]]]:
    """Per plane, each kind read and the check ids (or engine step) that read it: the audit's own plan."""
    return plan.required_kinds(phase, registry or load_registry(), disabled)


def rules_for(kinds: Iterable[Kind]) -> list[dict[str, Any]]:
    """One rule per API group (core first), get+list on the group's resources, sorted; Secrets dropped."""
    by_group: dict[str, set[str]] = {}
    for kind in kinds:
        if (kind.group, kind.plural) in NEVER:
            continue
        by_group.setdefault(kind.group, set()).add(kind.plural)
    rules = [{"apiGroups": [group], "resources": sorted(resources), "verbs": list(VERBS)}
             for group, resources in sorted(by_group.items())]
    return [*rules, dict(DISCOVERY_RULE)]


def cluster_role(plane: str, kinds: dict[Kind, list[str]], phase: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": ROLE_NAMES[plane],
            "labels": {"app.kubernetes.io/name": "asm-audit", "app.kubernetes.io/component": plane},
            "annotations": {
                "asm-audit/apply-to": APPLY_TO[plane],
                "asm-audit/phase": phase,
                "asm-audit/tool-version": __version__,
                "asm-audit/read-only": "get and list only; no Secrets, no watch, no write verbs",
            },
        },
        "rules": rules_for(kinds),
    }


def cluster_role_binding(plane: str) -> dict[str, Any]:
    """A template: replace the subject with the user, group or ServiceAccount that runs the audit."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": ROLE_NAMES[plane],
                     "labels": {"app.kubernetes.io/name": "asm-audit", "app.kubernetes.io/component": plane},
                     "annotations": {"asm-audit/apply-to": APPLY_TO[plane],
                                     "asm-audit/template": "replace subjects with who runs asm-audit"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE_NAMES[plane]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": BINDING_GROUP}],
    }


def manifests(phase: str = "all", planes: Iterable[str] = PLANES, registry: Registry | None = None,
              disabled: Iterable[str] = ()) -> list[dict[str, Any]]:
    """ClusterRole + ClusterRoleBinding per plane, in the order they should be applied."""
    needed = required_kinds(phase, registry, disabled)
    out: list[dict[str, Any]] = []
    for plane in planes:
        if plane not in PLANES:
            raise UsageError(f"unknown plane {plane!r}; choose data-plane, asm or all")
        out += [cluster_role(plane, needed[plane], phase), cluster_role_binding(plane)]
    return out


def ram_policy(mesh_id: str | None = None) -> dict[str, Any]:
    """The minimal RAM policy for the ASM OpenAPI reads: the allow-listed Describe* actions on the mesh's ARN
    (every mesh of the account when no id is given). Nothing else: no kubeconfig, no gateway secrets."""
    from auditor.sources.asm_openapi import ALLOWED_ACTIONS, AsmOpenApiTarget

    if mesh_id is not None:
        AsmOpenApiTarget(mesh_id, "cn-hangzhou")  # the id's shape only; the region plays no part in the ARN
    return {"Version": "1", "Statement": [{
        "Effect": "Allow",
        "Action": [f"servicemesh:{action}" for action in ALLOWED_ACTIONS],
        "Resource": [f"acs:servicemesh:*:*:servicemesh/{mesh_id or '*'}"],
    }]}
