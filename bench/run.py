"""The scale benchmark: a full `--phase all` audit of a generated N-pod cluster, against the floor.

    python -m bench.run --pods 10000 --mode live
    python -m bench.run --pods 150000 --mode snapshot --repeat 3
    python -m bench.run --growth 10000,50000 --mode snapshot --repeat 5   # audit_s(50k) / audit_s(10k)
    python -m bench.run --fleet 10 --pods 15000 --mode snapshot           # 10 copies of the 15k cluster vs one

Prints ONE JSON line on stdout (progress goes to stderr):

- `audit_s`: wall time of `auditor.api.run_audit(..., phase="all")` (the real engine, every built-in
  check), measured in a fresh subprocess per repetition so memory numbers do not mix;
- `baseline_s`: the floor, measured in the same run and also in a fresh subprocess: fetch the same
  lists over HTTP with the same page size (live) or read the same snapshot files (snapshot), and
  `orjson.loads` every page (cyclic GC off, the strictest floor); `ratio` = audit_s / baseline_s;
- `floor_s`: the typed floor, measured alike: the same input decoded by msgspec into Structs holding only the
  fields the checks read (bench/floor.py), its files read as the audit reads them (snapshot: files of 1 MiB or more
  mapped, not copied, by auditor.sources.snapshot.read_snapshot_file); `ratio_floor` = audit_s / floor_s;
- `floor_read_s` (snapshot): the same floor with each file read into memory (`Path.read_bytes`), as `floor_s` was
  measured up to round 6 (before the audit mapped its files); `ratio_floor_read` = audit_s / floor_read_s;
- `bytes_on_wire` (live): the answers' bytes as the fake API servers sent them (gzip unless `--no-gzip`);
- `peak_rss_mb`: peak RSS (VmHWM) of the audit subprocess, imports included;
- `api_requests`: requests the audit sent to the (fake) API servers (0 for a snapshot);
- `pdf_s`, `pdf_pages`: rendering report.pdf of that audit (null while no PDF renderer exists);
- `fleet_*` (with `--fleet N`, snapshot mode): the same cluster N times in one fleet snapshot (bench.fleet), audited
  in the same repetitions as the single cluster; `fleet_rss_ratio` = fleet peak RSS / the single cluster's;
- `naive_*`: the naive path at a smaller N (`--naive-pods`, default 5,000): the `kubernetes`
  client's list calls building model objects, against this tool at the same N (live), and the speed-up.

Live mode serves the snapshot from `tests.fakeapi.FakeApiServer` (real HTTP on 127.0.0.1, one server
for the data plane and one for the ASM control plane) in this process, and the audit reaches it through
the `kubernetes` client's kubeconfig loading, exactly as against a real cluster. Medians over
`--repeat` repetitions; `load_avg` is the 1-minute load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(os.environ.get("ASM_AUDIT_BENCH_DIR", Path(tempfile.gettempdir()) / "asm-audit-bench"))
TOKEN = "bench-token"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


# ---------------------------------------------------------------- children (fresh processes)
def _peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child
    of the process holding the fake API server's data would report that process's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def child_audit(args: dict[str, Any]) -> dict[str, Any]:
    """One full audit; imports happen before the clock starts (they are not the audit's work)."""
    import checks  # noqa: F401 - import the catalogue before timing
    from auditor import api

    if args["mode"] == "snapshot":
        target = api.Target(snapshot=args["snapshot"])
    else:
        target = api.Target(kubeconfig=args["kubeconfig"], asm_kubeconfig=args["asm_kubeconfig"])
    profiler = None
    if args.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    result = api.run_audit(target, phase="all")
    audit_s = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args["profile"])
    out: dict[str, Any] = {"audit_s": audit_s, "peak_rss_mb": _peak_rss_mb(), "verdict": result.verdict.value,
                           "findings": len(result.findings), "summary": result.summary,
                           "pods_seen": sum(row.get("pods") or 0 for row in result.fleet),
                           "timings": getattr(result, "timings", None)}  # None from a checkout before round 10
    out["pdf_s"], out["pdf_pages"] = None, None
    if args.get("pdf"):
        from auditor.render import renderers

        table = renderers(["pdf"])
        if "pdf" in table:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                path = table["pdf"](result, Path(tmp))
                out["pdf_s"] = time.perf_counter() - start
                out["pdf_pages"] = _pdf_pages(Path(path))
    return out


def _pdf_pages(path: Path) -> int:
    try:
        from pypdf import PdfReader

        return len(PdfReader(str(path)).pages)
    except ImportError:  # pypdf is a test extra; count page objects instead
        import re

        return len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes()))


def child_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """The floor: the same bytes, read and parsed (`orjson.loads`), nothing else.

    Cyclic GC is off, as in the audit while it reads: with it on, full collections walking the objects
    being parsed triple the time of `orjson.loads` (measured), which would flatter the ratio.
    """
    return _read_all(args, "baseline_s", orjson.loads, _orjson_page)


def _orjson_page(_path: str, body: bytes) -> tuple[Any, str | None]:
    answer = orjson.loads(body)
    return answer, (answer.get("metadata") or {}).get("continue")


def child_floor(args: dict[str, Any]) -> dict[str, Any]:
    """The typed floor: the same input decoded by msgspec into Structs holding only the fields the checks read
    (bench/floor.py), each snapshot file read by the audit's own reader (files of 1 MiB or more mapped, not copied:
    the floor gets the I/O the audit gets)."""
    from auditor.sources.snapshot import read_snapshot_file
    from bench import floor

    return _read_all(args, "floor_s", floor.decode_snapshot_file, floor.decode_page, read=read_snapshot_file)


def child_floor_read(args: dict[str, Any]) -> dict[str, Any]:
    """The typed floor as measured up to round 6: each snapshot file read into memory, then decoded."""
    from bench import floor

    return _read_all(args, "floor_read_s", floor.decode_snapshot_file, floor.decode_page)


def _read_all(args: dict[str, Any], label: str, decode_file: Callable[[Any], Any],
              decode_page: Callable[[str, bytes], tuple[Any, str | None]],
              read: Callable[[Path], Any] = Path.read_bytes) -> dict[str, Any]:
    """Every snapshot file (its bytes as `read` gives them), or every page of the lists the audit read (same page
    size, same server), decoded."""
    import gc

    gc.disable()
    pages = 0
    size = 0
    if args["mode"] == "snapshot":
        start = time.perf_counter()
        for path in sorted(Path(args["snapshot"]).rglob("*.json")):
            raw = read(path)
            decode_file(raw)
            size += len(raw)
            pages += 1
        return {label: time.perf_counter() - start, "pages": pages, "bytes": size}
    from urllib.parse import urlencode

    import urllib3

    pool = urllib3.PoolManager(maxsize=4)
    # As the audit asks: gzip when the server compresses (the bytes are counted decompressed).
    headers = {"Accept": "application/json", "Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"}
    start = time.perf_counter()
    for base, path in args["lists"]:
        token = None
        while True:
            query = [("limit", args["page_size"])] + ([("continue", token)] if token else [])
            resp = pool.request("GET", f"{base}{path}?{urlencode(query)}", headers=headers, retries=False)
            if resp.status != 200:
                raise SystemExit(f"{label}: GET {path} answered {resp.status}")
            _answer, token = decode_page(path, resp.data)
            size += len(resp.data)
            pages += 1
            if not token:
                break
    return {label: time.perf_counter() - start, "pages": pages, "bytes": size}


def child_naive(args: dict[str, Any]) -> dict[str, Any]:
    """What a straightforward script does: the client's typed list calls, model objects per item."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=args["kubeconfig"])
    core, apps, batch = client.CoreV1Api(api_client), client.AppsV1Api(api_client), client.BatchV1Api(api_client)
    start = time.perf_counter()
    lists = {"pods": core.list_pod_for_all_namespaces, "services": core.list_service_for_all_namespaces,
             "namespaces": core.list_namespace, "deployments": apps.list_deployment_for_all_namespaces,
             "replicasets": apps.list_replica_set_for_all_namespaces, "jobs": batch.list_job_for_all_namespaces}
    held: dict[str, list[Any]] = {}
    for name, call in lists.items():
        items: list[Any] = []
        token = None
        while True:
            kwargs = {"limit": args["page_size"]} | ({"_continue": token} if token else {})
            page = call(**kwargs)
            items.extend(page.items)
            token = page.metadata._continue
            if not token:
                break
        held[name] = items
    # The naive judgement: Istio sidecars per owner, walking the models.
    istio_by_owner: dict[tuple[str, str], int] = {}
    for pod in held["pods"]:
        containers = [*(pod.spec.init_containers or []), *(pod.spec.containers or [])]
        for c in containers:
            if c.name == "istio-proxy":
                env = {e.name: e.value for e in c.env or []}
                if "ASM_ID" not in env:
                    owner = (pod.metadata.owner_references or [None])[0]
                    key = (pod.metadata.namespace, owner.name if owner else pod.metadata.name)
                    istio_by_owner[key] = istio_by_owner.get(key, 0) + 1
    return {"naive_s": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb(),
            "pods": len(held["pods"]), "istio_workloads": len(istio_by_owner)}


CHILDREN = {"audit": child_audit, "baseline": child_baseline, "floor": child_floor, "floor_read": child_floor_read,
            "naive": child_naive}


def spawn(kind: str, args: dict[str, Any], env: dict[str, str] | None = None, code: Path = ROOT) -> dict[str, Any]:
    """Run one child in a fresh interpreter; its last stdout line is its JSON answer. `code`: the checkout whose
    auditor it imports (`-m` puts the working directory first on sys.path)."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(code)}
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--child", kind, "--child-args", orjson.dumps(
        args).decode()], cwd=code, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"bench child {kind} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return orjson.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- live serving
class LiveClusters:
    """The snapshot served by two fake API servers (data plane, ASM) with kubeconfigs for them."""

    def __init__(self, snapshot: Path, workdir: Path, gzip: bool = True) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.fakeapi import FakeApiServer

        self.servers = {}
        self.kubeconfigs = {}
        for name in ("cluster-a", "asm"):
            server = FakeApiServer().start()
            start = time.perf_counter()
            for path in sorted((snapshot / name).glob("*.json")):
                if path.name != "version.json":
                    server.load([orjson.loads(path.read_bytes())])
            version = orjson.loads((snapshot / name / "version.json").read_bytes())
            server.set_version(version["gitVersion"])
            log(f"fake API server for {name}: loaded in {time.perf_counter() - start:.1f}s at {server.url}")
            self.servers[name] = server
            self.kubeconfigs[name] = str(server.write_kubeconfig(workdir / f"kubeconfig-{name}", context=name,
                                                                 token=TOKEN))
        self.compress(gzip)

    def clear(self) -> None:
        for server in self.servers.values():
            server.clear_requests()

    def requests(self) -> int:
        return sum(len(s.requests) for s in self.servers.values())

    def compress(self, on: bool) -> None:
        """Servers that gzip large answers (as kube-apiserver does) or never compress."""
        from tests.fakeapi import GZIP_MIN_BYTES

        for server in self.servers.values():
            server.gzip_min_bytes = GZIP_MIN_BYTES if on else None  # None: APIResponseCompression off

    def bytes_sent(self) -> int:
        """Bytes of the answers as sent (compressed or not): what crossed the wire."""
        return sum(r.bytes_sent or 0 for s in self.servers.values() for r in s.requests)

    def list_paths(self) -> list[tuple[str, str]]:
        """(server url, path) of every list the audit read: the baseline reads exactly these."""
        out = []
        for server in self.servers.values():
            for r in server.requests:
                if "limit" in r.query and "continue" not in r.query and r.status == 200:
                    out.append((server.url, r.path))
        return out

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


# ---------------------------------------------------------------- orchestration
def child_args(mode: str, snapshot: Path, live: LiveClusters | None, page_size: int, pdf: bool) -> dict[str, Any]:
    """What an audit or baseline child reads; with live servers, their kubeconfigs (request logs cleared)."""
    args: dict[str, Any] = {"mode": mode, "snapshot": str(snapshot), "pdf": pdf, "page_size": page_size}
    if live:
        args["kubeconfig"] = live.kubeconfigs["cluster-a"]
        args["asm_kubeconfig"] = live.kubeconfigs["asm"]
        live.clear()
    return args


def measure(pods: int, mode: str, repeat: int, cache: Path, pdf: bool, page_size: int,
            profile: Path | None = None, gzip: bool = True, old_code: Path | None = None,
            gzip_ab: bool = False) -> dict[str, Any]:
    from bench.generate import ensure

    start = time.perf_counter()
    snapshot = ensure(pods, cache)
    log(f"dataset {snapshot} ready in {time.perf_counter() - start:.1f}s")
    audits: list[dict[str, Any]] = []
    baselines: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    read_floors: list[dict[str, Any]] = []  # snapshot mode: the floor reading each file into memory (rounds 3-6)
    requests: list[int] = []
    wire: list[int] = []
    old_audits: list[dict[str, Any]] = []
    plain: list[tuple[float, int]] = []  # --gzip-ab: (audit_s, bytes on the wire) with compression off
    env = {"ASM_AUDIT_PAGE_SIZE": str(page_size)}
    with tempfile.TemporaryDirectory(prefix="asm-audit-bench-") as tmp:
        live = LiveClusters(snapshot, Path(tmp), gzip) if mode == "live" else None
        try:
            for i in range(repeat):
                args = child_args(mode, snapshot, live, page_size, pdf=pdf and i == 0)
                audit = spawn("audit", args, env)
                if profile is not None and i == 0:
                    # A separate, profiled run: cProfile slows the audit, so it is never the one timed.
                    spawn("audit", {**args, "profile": str(profile), "pdf": False}, env)
                    _print_profile(profile)
                if live:
                    requests.append(live.requests())
                    wire.append(live.bytes_sent())
                    args["lists"] = live.list_paths()
                audits.append(audit)
                if live and gzip_ab:
                    live.compress(False)
                    live.clear()
                    plain.append((spawn("audit", {**args, "pdf": False}, env)["audit_s"], live.bytes_sent()))
                    live.compress(True)
                    log(f"without gzip: audit {plain[-1][0]:.2f}s, {plain[-1][1]} bytes on the wire")
                if old_code is not None:
                    old_audits.append(spawn("audit", {**args, "pdf": False}, env, code=old_code))
                    log(f"old code: audit {old_audits[-1]['audit_s']:.2f}s (rss {old_audits[-1]['peak_rss_mb']} MB)")
                baselines.append(spawn("baseline", args, env))
                floors.append(spawn("floor", args, env))
                if mode == "snapshot":
                    read_floors.append(spawn("floor_read", args, env))
                log(f"{mode} {pods} pods, run {i + 1}/{repeat}: audit {audit['audit_s']:.2f}s "
                    f"(rss {audit['peak_rss_mb']} MB), baseline {baselines[-1]['baseline_s']:.2f}s, "
                    f"floor {floors[-1]['floor_s']:.2f}s"
                    + (f" (read: {read_floors[-1]['floor_read_s']:.2f}s)" if read_floors else "")
                    + f", load {load_avg()}")
        finally:
            if live:
                live.stop()
    audit_s = statistics.median(a["audit_s"] for a in audits)
    baseline_s = statistics.median(b["baseline_s"] for b in baselines)
    floor_s = statistics.median(f["floor_s"] for f in floors)
    read_s = statistics.median(f["floor_read_s"] for f in read_floors) if read_floors else None
    first = audits[0]
    return {
        "pods": pods if first["pods_seen"] == pods else first["pods_seen"], "mode": mode,
        "audit_s": round(audit_s, 3), "baseline_s": round(baseline_s, 3),
        "ratio": round(audit_s / baseline_s, 3) if baseline_s else None,
        "floor_s": round(floor_s, 3), "ratio_floor": round(audit_s / floor_s, 3) if floor_s else None,
        "floor_read_s": round(read_s, 3) if read_s else None,
        "ratio_floor_read": round(audit_s / read_s, 3) if read_s else None,
        "peak_rss_mb": statistics.median(a["peak_rss_mb"] for a in audits),
        "api_requests": int(statistics.median(requests)) if requests else 0,
        "pdf_s": round(first["pdf_s"], 2) if first["pdf_s"] is not None else None, "pdf_pages": first["pdf_pages"],
        "findings": first["findings"], "verdict": first["verdict"],
        "bytes_read": baselines[0]["bytes"], "repeat": repeat,
        "audit_runs_s": [round(a["audit_s"], 3) for a in audits],
        "baseline_runs_s": [round(b["baseline_s"], 3) for b in baselines],
        "floor_runs_s": [round(f["floor_s"], 3) for f in floors],
        "floor_read_runs_s": [round(f["floor_read_s"], 3) for f in read_floors],
        "bytes_on_wire": wire[0] if wire else None,
    } | _shares(audits) | (_old_fields(old_audits, floor_s, read_s) if old_audits else {}) | ({
        "nogzip_audit_s": round(statistics.median(a for a, _ in plain), 3), "nogzip_bytes_on_wire": plain[0][1],
        "nogzip_audit_runs_s": [round(a, 3) for a, _ in plain]} if plain else {})


def _shares(audits: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts of the audits' time (auditor/timing.py, each part its own): medians over the repetitions of each
    part's share of that audit's time. `checks_share` is the checks' own work with the engine's stamping of their
    findings; `views_share` the inventory's views built on first read (the pod frame, name indexes, gateway scan...);
    `judge_share` both (the judge phase); `collect_share` reading the clusters. Slowest checks and views of the median
    audit in `slowest_checks_s`/`slowest_views_s`."""
    timed = [a["timings"] for a in audits if a.get("timings")]
    if not timed:
        return {}

    def share(*groups: str) -> float:
        return round(statistics.median(sum(t[g] for g in groups) / t["audit_s"] for t in timed), 4)

    middle = sorted(timed, key=lambda t: t["audit_s"])[len(timed) // 2]
    return {"collect_share": share("collect_s"), "views_share": share("view_s"),
            "checks_share": share("check_s", "stamp_s"), "judge_share": share("view_s", "check_s", "stamp_s"),
            "engine_share": share("engine_s"),
            "slowest_checks_s": dict(list(middle["checks"].items())[:8]),
            "slowest_views_s": dict(list(middle["views"].items())[:6])}


def _old_fields(old_audits: list[dict[str, Any]], floor_s: float, read_s: float | None) -> dict[str, Any]:
    """The same audits by another checkout (--old-code), interleaved with ours: before/after on the same load."""
    old_s = statistics.median(a["audit_s"] for a in old_audits)
    return {"old_audit_s": round(old_s, 3), "old_ratio_floor": round(old_s / floor_s, 3) if floor_s else None,
            "old_ratio_floor_read": round(old_s / read_s, 3) if read_s else None,
            "old_peak_rss_mb": statistics.median(a["peak_rss_mb"] for a in old_audits),
            "old_audit_runs_s": [round(a["audit_s"], 3) for a in old_audits],
            "old_findings": old_audits[0]["findings"]}


def _print_profile(path: Path, top: int = 25) -> None:
    import io
    import pstats

    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(str(path), stream=text).sort_stats(order).print_stats(top)
        lines = text.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        log(f"profile by {order} ({path}):\n" + "\n".join(lines[start - 2:start + top + 1]))


def measure_fleet(pods: int, clusters: int, repeat: int, cache: Path, page_size: int,
                  old_code: Path | None = None) -> dict[str, Any]:
    """A fleet of `clusters` copies of the `pods`-pod cluster against that one cluster, interleaved in one run:
    peak RSS and time of each (and of another checkout's fleet audit with `--old-code`)."""
    from bench.fleet import ensure_fleet
    from bench.generate import ensure

    single = ensure(pods, cache)
    fleet = ensure_fleet(single, clusters, cache)
    env = {"ASM_AUDIT_PAGE_SIZE": str(page_size)}
    runs: dict[str, list[dict[str, Any]]] = {"single": [], "fleet": [], "old_fleet": []}
    for i in range(repeat):
        runs["single"].append(spawn("audit", child_args("snapshot", single, None, page_size, pdf=False), env))
        runs["fleet"].append(spawn("audit", child_args("snapshot", fleet, None, page_size, pdf=False), env))
        if old_code is not None:
            runs["old_fleet"].append(spawn("audit", child_args("snapshot", fleet, None, page_size, pdf=False), env,
                                           code=old_code))
        log(f"fleet run {i + 1}/{repeat}: one cluster {runs['single'][-1]['audit_s']:.2f}s "
            f"({runs['single'][-1]['peak_rss_mb']} MB), {clusters} clusters {runs['fleet'][-1]['audit_s']:.2f}s "
            f"({runs['fleet'][-1]['peak_rss_mb']} MB), load {load_avg()}")

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    out = {
        "pods": pods, "fleet_clusters": clusters, "repeat": repeat, "mode": "snapshot",
        "single_audit_s": round(median("single", "audit_s"), 3), "single_peak_rss_mb": median("single", "peak_rss_mb"),
        "fleet_audit_s": round(median("fleet", "audit_s"), 3), "fleet_peak_rss_mb": median("fleet", "peak_rss_mb"),
        "fleet_rss_ratio": round(median("fleet", "peak_rss_mb") / median("single", "peak_rss_mb"), 3),
        "fleet_pods": runs["fleet"][0]["pods_seen"], "single_findings": runs["single"][0]["findings"],
        "fleet_findings": runs["fleet"][0]["findings"], "fleet_verdict": runs["fleet"][0]["verdict"],
        "fleet_runs_s": [round(r["audit_s"], 3) for r in runs["fleet"]],
        "fleet_runs_rss_mb": [r["peak_rss_mb"] for r in runs["fleet"]],
    }
    if runs["old_fleet"]:
        out |= {"old_fleet_audit_s": round(median("old_fleet", "audit_s"), 3),
                "old_fleet_peak_rss_mb": median("old_fleet", "peak_rss_mb"),
                "old_fleet_rss_ratio": round(median("old_fleet", "peak_rss_mb") / median("single", "peak_rss_mb"), 3),
                "old_fleet_findings": runs["old_fleet"][0]["findings"]}
    return out


def measure_growth(sizes: list[int], mode: str, repeat: int, cache: Path, page_size: int) -> dict[str, Any]:
    """How audit time grows with the cluster: audits of each size, interleaved (A B A B ...) in one run.

    Timing each size in a separate run compares two moments of a shared machine; interleaving makes a
    slow drift of its load hit both sizes alike. `growth` = median audit_s of the last size / of the first.
    """
    from bench.generate import ensure

    env = {"ASM_AUDIT_PAGE_SIZE": str(page_size)}
    snapshots = [ensure(n, cache) for n in sizes]
    audits: dict[int, list[float]] = {n: [] for n in sizes}
    baselines: dict[int, list[float]] = {n: [] for n in sizes}
    data: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="asm-audit-bench-") as tmp:
        lives = [LiveClusters(snap, Path(tmp) / str(n)) if mode == "live" else None
                 for n, snap in zip(sizes, snapshots, strict=True)]
        try:
            for i in range(repeat):
                for n, snap, live in zip(sizes, snapshots, lives, strict=True):
                    args = child_args(mode, snap, live, page_size, pdf=False)
                    audits[n].append(spawn("audit", args, env)["audit_s"])
                    if live:
                        args["lists"] = live.list_paths()
                    baseline = spawn("baseline", args, env)
                    baselines[n].append(baseline["baseline_s"])
                    data[n] = baseline["bytes"]
                    log(f"growth run {i + 1}/{repeat}, {n} pods: audit {audits[n][-1]:.2f}s, "
                        f"baseline {baselines[n][-1]:.2f}s, load {load_avg()}")
        finally:
            for live in lives:
                if live:
                    live.stop()
    first, last = sizes[0], sizes[-1]
    audit_s = {n: statistics.median(v) for n, v in audits.items()}
    baseline_s = {n: statistics.median(v) for n, v in baselines.items()}
    return {
        "mode": mode, "growth_pods": sizes, "repeat": repeat,
        "audit_s": [round(audit_s[n], 3) for n in sizes], "baseline_s": [round(baseline_s[n], 3) for n in sizes],
        "bytes_read": [data[n] for n in sizes],
        "growth": round(audit_s[last] / audit_s[first], 3),
        "baseline_growth": round(baseline_s[last] / baseline_s[first], 3),
        "data_growth": round(data[last] / data[first], 3),
        "pair_growths": [round(b / a, 3) for a, b in zip(audits[first], audits[last], strict=True)],
    }


def measure_naive(pods: int, repeat: int, cache: Path, page_size: int) -> dict[str, Any]:
    from bench.generate import ensure

    snapshot = ensure(pods, cache)
    naive: list[dict[str, Any]] = []
    tool: list[dict[str, Any]] = []
    env = {"ASM_AUDIT_PAGE_SIZE": str(page_size)}
    with tempfile.TemporaryDirectory(prefix="asm-audit-bench-") as tmp:
        live = LiveClusters(snapshot, Path(tmp))
        try:
            for _ in range(repeat):
                args = {"mode": "live", "kubeconfig": live.kubeconfigs["cluster-a"],
                        "asm_kubeconfig": live.kubeconfigs["asm"], "page_size": page_size}
                naive.append(spawn("naive", args, env))
                tool.append(spawn("audit", args, env))
                log(f"naive {pods} pods: client models {naive[-1]['naive_s']:.2f}s "
                    f"(rss {naive[-1]['peak_rss_mb']} MB), tool {tool[-1]['audit_s']:.2f}s")
        finally:
            live.stop()
    naive_s = statistics.median(n["naive_s"] for n in naive)
    tool_s = statistics.median(t["audit_s"] for t in tool)
    return {"naive_pods": pods, "naive_s": round(naive_s, 3), "naive_tool_s": round(tool_s, 3),
            "naive_speedup": round(naive_s / tool_s, 2) if tool_s else None,
            "naive_peak_rss_mb": statistics.median(n["peak_rss_mb"] for n in naive)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="asm-audit scale benchmark (one JSON line on stdout)")
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--mode", choices=("live", "snapshot"), default="live")
    parser.add_argument("--naive-pods", type=int, default=5_000, help="N for the naive client-model path (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument("--no-pdf", action="store_true", help="skip rendering report.pdf")
    parser.add_argument("--page-size", type=int, default=int(os.environ.get("ASM_AUDIT_PAGE_SIZE", "500")))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where generated clusters are kept")
    parser.add_argument("--profile", type=Path, help="also run one audit under cProfile, save the stats here "
                        "and print the top entries on stderr")
    parser.add_argument("--no-gzip", action="store_true", help="live: the fake API servers never compress "
                        "(bytes_on_wire and audit_s without gzip)")
    parser.add_argument("--gzip-ab", action="store_true", help="live: also time each repetition's audit with the "
                        "servers' compression off (nogzip_audit_s, nogzip_bytes_on_wire), interleaved")
    parser.add_argument("--old-code", type=Path, help="also time the audit of another checkout (e.g. main, with "
                        "this bench/ copied in), interleaved with ours: old_audit_s, old_ratio_floor")
    parser.add_argument("--growth", metavar="N1,N2", help="instead: audits of these sizes interleaved in one run; "
                        "prints how audit time grows from the first size to the last")
    parser.add_argument("--fleet", type=int, metavar="N", help="instead: a fleet snapshot of N copies of the "
                        "--pods cluster against that one cluster (snapshot mode): peak RSS and time of each")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(orjson.dumps(CHILDREN[args.child](orjson.loads(args.child_args))).decode(), flush=True)
        return 0
    if args.pods < 1 or args.repeat < 1:
        parser.error("--pods and --repeat must be positive")
    load_before = load_avg()
    if args.growth:
        try:
            sizes = [int(n) for n in args.growth.split(",")]
        except ValueError:
            parser.error("--growth takes pod counts separated by commas, e.g. 10000,50000")
        if len(sizes) < 2 or min(sizes) < 1:
            parser.error("--growth needs at least two positive pod counts")
        line = measure_growth(sizes, args.mode, args.repeat, args.cache, args.page_size)
        line["load_avg"] = [load_before, load_avg()]
        line["cpus"] = os.cpu_count()
        print(orjson.dumps(line).decode(), flush=True)
        return 0
    if args.fleet:
        if args.fleet < 2 or args.mode != "snapshot":
            parser.error("--fleet needs N >= 2 and --mode snapshot")
        line = measure_fleet(args.pods, args.fleet, args.repeat, args.cache, args.page_size, args.old_code)
        line["load_avg"] = [load_before, load_avg()]
        line["cpus"] = os.cpu_count()
        print(orjson.dumps(line).decode(), flush=True)
        return 0
    line = measure(args.pods, args.mode, args.repeat, args.cache, not args.no_pdf, args.page_size,
                   args.profile, gzip=not args.no_gzip, old_code=args.old_code,
                   gzip_ab=args.gzip_ab)
    if args.naive_pods:
        line.update(measure_naive(args.naive_pods, args.repeat, args.cache, args.page_size))
    else:
        line.update({"naive_pods": None, "naive_s": None, "naive_tool_s": None, "naive_speedup": None,
                     "naive_peak_rss_mb": None})
    line["load_avg"] = [load_before, load_avg()]
    line["cpus"] = os.cpu_count()
    print(orjson.dumps(line).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
