"""Fixed cost of a small CI gate: `asm-audit run --snapshot <demo> --format json`, against `python -c "import pandas"`.

    python -m bench.gate --repeat 7                       # the bundled demo, and the same as YAML and JSON files
    python -m bench.gate --repeat 7 --old-code /tmp/main  # also another checkout's gate, interleaved

Every run is a fresh interpreter, timed from outside (start-up and imports included); the commands alternate
within each repetition so a drifting load on a shared machine hits them alike. Prints ONE JSON line: medians,
`gate_ratio` = gate / import pandas (the target is <= 2.0), `*_cpu_ratio` the same for the children's CPU time
(user + system: steadier under load), per-run times and the load average.

Modules run from compiled bytecode, as from an installed wheel (pip compiles every .py when it installs):
the bytecode goes to a scratch PYTHONPYCACHEPREFIX, filled by one untimed round, so a PYTHONDONTWRITEBYTECODE
environment does not make every timed run compile our ~70 modules from source (pandas' own bytecode is
shipped compiled). `--source` times the old way: our modules compiled on every run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml

ROOT = Path(__file__).resolve().parent.parent


def object_lists(demo: Path) -> list[Path]:
    """The demo's object files: every file in a cluster's directory but its /version answer."""
    return [p for p in sorted(demo.glob("*/*")) if p.suffix in (".json", ".yaml", ".yml") and p.name != "version.json"]


def rewritten(demo: Path, out: Path, suffix: str) -> Path:
    """The demo snapshot with every object file written as a List in `suffix`'s format (.json as `asm-audit
    snapshot` writes it, .yaml as `kubectl get -o yaml`); the other files copied."""
    shutil.copytree(demo, out)
    for path in object_lists(demo):
        items = []
        text = path.read_text()
        for doc in [orjson.loads(text)] if path.suffix == ".json" else yaml.load_all(text, Loader=yaml.CSafeLoader):
            if doc:
                items.extend(doc["items"] if str(doc.get("kind", "")).endswith("List") else [doc])
        target = out / path.relative_to(demo)
        target.unlink()
        listed = {"apiVersion": "v1", "items": items, "kind": "List"}
        if suffix == ".json":
            target.with_suffix(".json").write_bytes(orjson.dumps(listed))
        else:
            target.with_suffix(".yaml").write_text(yaml.dump(listed, Dumper=yaml.CSafeDumper, sort_keys=False))
    return out


def timed(argv: list[str], code: Path, pycache: Path | None) -> tuple[float, float]:
    """Wall time, and CPU time (user + system) of the child: on a loaded shared machine the CPU time is the
    steadier of the two (waiting for a core counts in the wall time only)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=code, env=env, capture_output=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # GO or NO-GO
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--old-code", type=Path, help="another checkout whose gate is timed too (e.g. main)")
    parser.add_argument("--source", action="store_true",
                        help="no bytecode cache: every run compiles what has no __pycache__ (PYTHONDONTWRITEBYTECODE)")
    args = parser.parse_args(argv)
    demo = ROOT / "auditor" / "demo" / "snapshot"
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="asm-audit-gate-") as tmp:
        as_yaml = rewritten(demo, Path(tmp) / "demo-yaml", ".yaml")
        as_json = rewritten(demo, Path(tmp) / "demo-json", ".json")
        gate = [sys.executable, "-m", "auditor.cli.main", "run", "--format", "json", "--quiet", "--out"]
        commands = {
            "pandas": ([sys.executable, "-c", "import pandas"], ROOT),
            "gate_demo": ([*gate, f"{tmp}/out-demo", "--snapshot", str(demo)], ROOT),  # as shipped (JSON)
            "gate_yaml": ([*gate, f"{tmp}/out-yaml", "--snapshot", str(as_yaml)], ROOT),
            "gate_json": ([*gate, f"{tmp}/out-json", "--snapshot", str(as_json)], ROOT),
        }
        if args.old_code:
            commands["old_gate_yaml"] = ([*gate, f"{tmp}/out-old-yaml", "--snapshot", str(as_yaml)], args.old_code)
            commands["old_gate_json"] = ([*gate, f"{tmp}/out-old-json", "--snapshot", str(as_json)], args.old_code)
        pycache = None if args.source else Path(tmp) / "pycache"
        if pycache is not None:  # the untimed round that compiles (as `pip install` does)
            for command, code in commands.values():
                timed(command, code, pycache)
        runs: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, (command, code) in commands.items():
                wall, used = timed(command, code, pycache)
                runs[name].append(wall)
                cpu[name].append(used)
    medians = {name: round(statistics.median(values), 3) for name, values in runs.items()}
    cpu_medians = {name: round(statistics.median(values), 3) for name, values in cpu.items()}
    line = {f"{name}_s": value for name, value in medians.items()}
    for name in medians:
        if name != "pandas":
            line[f"{name}_ratio"] = round(medians[name] / medians["pandas"], 2)
            line[f"{name}_cpu_ratio"] = round(cpu_medians[name] / cpu_medians["pandas"], 2)
    line["cpu_s"] = cpu_medians
    line |= {"runs_s": {n: [round(v, 3) for v in values] for n, values in runs.items()}, "repeat": args.repeat,
             "bytecode": "source" if args.source else "compiled",
             "load_avg": [load_before, round(os.getloadavg()[0], 2)], "cpus": os.cpu_count()}
    print(orjson.dumps(line).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
