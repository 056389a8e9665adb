"""The minimal read-only RBAC the live mode needs, computed from the checks a gate selects.

Each check names the kinds it reads (`needs`, `uses`, `asm_needs`); the engine also reads
ASMMigrateFromIstio on the ASM control plane (gate selection) and Deployments for `--phase auto`.
The role grants `get` and `list` on exactly those resources, grouped by API group. Never Secrets,
never a write verb, never `watch`: the live source refuses those requests anyway, the role makes
the promise checkable by the cluster owner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import __version__, engine
from auditor import kinds as K
from auditor.errors import UsageError
from auditor.kinds import Kind
from auditor.model import Gate
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


def selected_checks(phase: str, registry: Registry, disabled: Iterable[str] = ()) -> list[type]:
    """The checks a run of `phase` may execute. `auto` may pick any gate, so it needs them all."""
    off = set(disabled)
    checks = [c for c in registry.ordered() if c.id not in off]
    if phase in ("all", "auto"):
        return checks
    try:
        gate = Gate(phase)
    except ValueError as exc:
        choices = ", ".join(("auto", "all", *(g.value for g in Gate)))
        raise UsageError(f"unknown phase {phase!r}; choose one of: {choices}") from exc
    return [c for c in checks if gate in c.gates]


def required_kinds(phase: str = "all", registry: Registry | None = None,
                   disabled: Iterable[str] = ()) -> dict[str, dict[Kind, list[str]]]:
    """Per plane, each kind read and the check ids (or engine step) that read it."""
    registry = registry or load_registry()
    out: dict[str, dict[Kind, list[str]]] = {"data-plane": {}, "asm": {}}

    def add(plane: str, kind: Kind, reader: str) -> None:
        readers = out[plane].setdefault(kind, [])
        if reader not in readers:
            readers.append(reader)

    # What the engine reads besides the checks (engine.run_audit): the migration resource for gate
    # selection, Deployments for --phase auto, and the kinds behind the report's cluster facts.
    add("asm", K.ASM_MIGRATION, "engine: gate selection")
    if phase == "auto":
        add("data-plane", K.DEPLOYMENT, "engine: gate selection")
    for kind in getattr(engine, "FACT_KINDS", ()):
        add("data-plane", kind, "engine: cluster facts")
    for check in selected_checks(phase, registry, disabled):
        for kind in (*check.needs, *check.uses):
            add("data-plane", kind, check.id)
        for kind in check.asm_needs:
            add("asm", kind, check.id)
    return out


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


def permission_table(phase: str = "all", registry: Registry | None = None,
                     disabled: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rows (plane, apiGroup, resource, read by) for documentation and `--format table`."""
    rows = []
    for plane, kinds in required_kinds(phase, registry, disabled).items():
        for kind, readers in sorted(kinds.items(), key=lambda kv: (kv[0].group, kv[0].plural)):
            if (kind.group, kind.plural) in NEVER:
                continue
            rows.append({"plane": plane, "apiGroup": kind.group, "resource": kind.plural,
                         "verbs": list(VERBS), "read_by": readers})
    return rows


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
