"""`asm-audit rbac`: print the minimal read-only ClusterRole (+ binding template) the live mode needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
import yaml

from auditor import rbac as rbac_model
from auditor.config import load_config
from auditor.errors import UsageError
from auditor.rbac import APPLY_TO, PLANES

HEADER = """\
# asm-audit {version}: the read-only RBAC for `asm-audit run --phase {phase}` (and `snapshot` with --phase all).
# get and list on exactly the resources the selected checks read; no Secrets, no watch, no write verbs.
# Apply the data-plane role to {data_plane};
# the asm role to {asm}.
# Replace the ClusterRoleBinding subjects with the user, group or ServiceAccount that runs the audit.
"""


def rbac(
    phase: Annotated[str, typer.Option("--phase", help="Gate the role is for: all (default, also what `snapshot` "
                                       "needs), auto, assessment, setup, migrating, uninstall, finished.")] = "all",
    format: Annotated[str, typer.Option("--format", help="yaml or json (a v1 List).")] = "yaml",
    plane: Annotated[str, typer.Option("--plane", help="data-plane, asm or all.")] = "all",
    config: Annotated[Path | None, typer.Option(help="YAML config file (disabled checks need nothing).")] = None,
    ram: Annotated[bool, typer.Option("--ram", help="Print the minimal RAM policy (JSON) for the ASM OpenAPI reads "
                                      "instead.")] = False,
    asm_mesh_id: Annotated[str | None, typer.Option(help="With --ram: the ASM instance the policy is scoped to "
                                                    "(default: config asm.mesh_id, else every mesh).")] = None,
) -> None:
    """Print the minimal read-only ClusterRole(s) and a ClusterRoleBinding template to stdout."""
    if ram:
        mesh_id = asm_mesh_id or (load_config(config).asm.mesh_id if config else None)
        policy = rbac_model.ram_policy(mesh_id)
        sys.stdout.buffer.write(orjson.dumps(policy, option=orjson.OPT_INDENT_2) + b"\n")
        print("# attach to the RAM user or role whose credentials the default chain finds; read-only Describe* "
              "actions, never DescribeServiceMeshKubeconfig or gateway secrets", file=sys.stderr)
        return
    if format not in ("yaml", "json"):
        raise UsageError(f"unknown format {format!r}; choose yaml or json")
    if plane not in (*PLANES, "all"):
        raise UsageError(f"unknown plane {plane!r}; choose data-plane, asm or all")
    disabled = load_config(config).disabled() if config else set()
    planes = PLANES if plane == "all" else (plane,)
    docs = rbac_model.manifests(phase, planes, disabled=disabled)
    if format == "json":
        listing = {"apiVersion": "v1", "kind": "List", "items": docs}
        sys.stdout.buffer.write(orjson.dumps(listing, option=orjson.OPT_INDENT_2) + b"\n")
        return
    from auditor import __version__

    sys.stdout.write(HEADER.format(version=__version__, phase=phase, data_plane=APPLY_TO["data-plane"],
                                   asm=APPLY_TO["asm"]))
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True, width=120))
