"""A fleet snapshot made of one generated cluster: N data planes sharing its files (hard links) and its ASM side.

    python -m bench.fleet --pods 15000 --clusters 10      # prints the fleet snapshot's path

The data planes are named `cluster-00`, `cluster-01`, ... each with its own cluster id (the generated one plus
`-NN`), and ASM's DescribeMeshMultiClusterNetwork answer lists every id with the generated cluster's network, so
each copy is judged as the one cluster is. Files are hard links (a snapshot's directories must lie inside it), so
a fleet of ten 50k-pod clusters costs no disk space beyond the one cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

import orjson

DATA_PLANE = "cluster-a"  # the generated snapshot's data plane (bench/generate.py)


def fleet_names(clusters: int) -> list[str]:
    return [f"cluster-{i:02d}" for i in range(clusters)]


def ensure_fleet(single: Path, clusters: int, root: Path) -> Path:
    """The cached fleet snapshot of `clusters` copies of the generated snapshot `single`; built once."""
    out = Path(root) / f"fleet-{clusters}-{single.name}"
    done = out / ".complete"
    if done.exists():
        return out
    if out.exists():
        shutil.rmtree(out)  # an interrupted build of our own
    manifest: dict[str, Any] = orjson.loads((single / "manifest.json").read_bytes())
    entries = {e["name"]: e for e in manifest["clusters"]}
    template = entries[DATA_PLANE]
    networks = (manifest.get("asm_openapi") or {}).get("DescribeMeshMultiClusterNetwork", {}).get(
        "MultiClusterNetworks") or {}
    network = networks.get(template.get("cluster_id"))
    listed = []
    for i, name in enumerate(fleet_names(clusters)):
        _link_tree(single / template["dir"], out / name)
        cluster_id = f"{template['cluster_id']}-{i:02d}"
        listed.append({**template, "name": name, "dir": name, "cluster_id": cluster_id})
        if network is not None:
            networks[cluster_id] = network
    asm = entries["asm"]
    _link_tree(single / asm["dir"], out / asm["dir"])
    listed.append(asm)
    manifest["clusters"] = listed
    (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    done.write_text("ok\n")
    return out


def _link_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:  # another file system: copy
            shutil.copyfile(path, dest)


def main() -> None:
    from bench.generate import ensure
    from bench.run import DEFAULT_CACHE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--clusters", type=int, required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    print(ensure_fleet(ensure(args.pods, args.cache), args.clusters, args.cache))


if __name__ == "__main__":
    main()
