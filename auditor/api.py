"""The Python API, as thin as the CLI: `run_audit(...) -> AuditResult`."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from auditor import engine
from auditor.config import Config, load_config
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.evidence import parse_time
from auditor.fleet import load_fleet
from auditor.i18n import N_, Phrase
from auditor.sources.asm_openapi import read_asm_openapi, settings_from
from auditor.sources.base import SourceSet
from auditor.sources.prometheus import (
    PrometheusSource,
    live_provider,
    parse_duration,
    recorded_provider,
    rfc3339,
)
from auditor.sources.snapshot import SnapshotWriter, open_snapshot


@dataclass
class ClusterSpec:
    """One live cluster: NAME=KUBECONFIG[@CONTEXT]."""

    name: str
    kubeconfig: str | None
    context: str | None = None
    cluster_id: str | None = None  # the ACK cluster id ASM knows it by (fleet file)
    network: str | None = None     # its network in ASM (fleet file; config asm.networks wins)

    @classmethod
    def parse(cls, text: str) -> ClusterSpec:
        name, sep, rest = text.partition("=")
        if not sep or not name or not rest:
            raise UsageError(f"--cluster {text!r}: expected NAME=KUBECONFIG[@CONTEXT]")
        kubeconfig, _, context = rest.partition("@")
        return cls(name=name, kubeconfig=kubeconfig or None, context=context or None)


@dataclass
class Target:
    """Where to read from: a snapshot, or live clusters (+ the ASM control plane)."""

    snapshot: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    clusters: list[ClusterSpec] = field(default_factory=list)
    asm_kubeconfig: str | None = None
    asm_context: str | None = None
    fleet: str | None = None  # a fleet file (auditor/fleet.py): clusters added to `clusters`
    timeout_s: float = 30.0
    run_timeout_s: float | None = None  # the whole collection's deadline; what is left unread is UNKNOWN


def demo_snapshot_path() -> Path:
    return Path(str(files("auditor.demo") / "snapshot"))


def _current_context(kubeconfig: str | None) -> str | None:
    from kubernetes import config as kconfig

    try:
        _, active = kconfig.list_kube_config_contexts(config_file=kubeconfig)
    except Exception:  # reported properly when the cluster is first used
        return None
    return (active or {}).get("name")


def open_sources(target: Target) -> SourceSet:
    if target.snapshot:
        if target.clusters or target.kubeconfig or target.context or target.fleet:
            raise UsageError("--snapshot cannot be combined with live cluster options")
        return open_snapshot(target.snapshot)
    if (target.kubeconfig or target.context) and (target.clusters or target.fleet):
        # Only --cluster/--fleet's clusters were read: the one --kubeconfig/--context named was silently not audited,
        # and the run's GO said nothing of it.
        given = " and ".join(flag for flag, value in (("--kubeconfig", target.kubeconfig),
                                                       ("--context", target.context)) if value)
        raise UsageError(f"{given} name the data plane of a one-cluster run; with --cluster or --fleet name every "
                         "cluster there (--cluster NAME=KUBECONFIG[@CONTEXT], or the fleet file)")
    specs = list(target.clusters)
    asm_kubeconfig = target.asm_kubeconfig or os.environ.get("ASM_KUBECONFIG")
    asm_context = target.asm_context
    if target.fleet:
        fleet = load_fleet(target.fleet)
        specs += [ClusterSpec(c.name, c.kubeconfig, c.context, c.cluster_id, c.network) for c in fleet.clusters]
        if fleet.asm and not target.asm_kubeconfig:  # the command line wins over the file
            asm_kubeconfig, asm_context = fleet.asm.kubeconfig, fleet.asm.context
    if not specs:
        name = target.context or _current_context(target.kubeconfig) or "default"
        specs = [ClusterSpec(name=name, kubeconfig=target.kubeconfig, context=target.context)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"cluster names must be unique: {', '.join(names)}")
    from auditor.sources.live import LiveCluster, RunDeadline  # urllib3 and TLS: a snapshot's run needs neither

    deadline = RunDeadline(target.run_timeout_s)
    data_planes = [LiveCluster(s.name, "data-plane", s.kubeconfig, s.context, target.timeout_s, deadline=deadline,
                               cluster_id=s.cluster_id) for s in specs]
    asm = LiveCluster("asm", "asm", asm_kubeconfig, asm_context, target.timeout_s, deadline=deadline) if (
        asm_kubeconfig) else None
    for cluster in [*data_planes, *([asm] if asm else [])]:
        cluster.validate()
    networks = {s.name: s.network for s in specs if s.network}
    return SourceSet(data_planes=data_planes, asm=asm, origin="live", inputs_sha256="",
                     networks=networks)


# What run_audit passes on to the engine (the rest of engine._run_audit's keyword parameters).
_ENGINE_OPTIONS = frozenset(inspect.signature(engine._run_audit).parameters) - {
    "sources", "phase", "config", "allow_unknown", "strict", "progress", "writer"}


def run_audit(
    target: Target | None = None,
    phase: str = "auto",
    config: Config | str | Path | None = None,
    *,
    sources: SourceSet | None = None,
    allow_unknown: bool = False,
    strict: bool = False,
    progress: Any = None,
    snapshot_out: Path | None = None,
    **kwargs: Any,
) -> AuditResult:
    """Audit live clusters or a snapshot. Raises UsageError on bad input."""
    unknown = sorted(set(kwargs) - _ENGINE_OPTIONS)
    if unknown:
        # Before anything is opened: run_audit(snapshot=...) used to fall through to a live read of the default
        # kubeconfig, then fail. The snapshot goes in the Target.
        raise TypeError(f"run_audit() got unexpected keyword argument(s): {', '.join(unknown)}"
                        + ("; pass Target(snapshot=...)" if "snapshot" in unknown else ""))
    if not isinstance(config, Config):
        config = load_config(config)
    owned = sources is None
    # A bad --asm-mesh-id/--asm-region/--asm-endpoint fails before anything is read (exit 2).
    openapi_target = settings_from(config, (target or Target()).timeout_s)
    sources = sources or open_sources(target or Target())
    writer = SnapshotWriter(snapshot_out) if snapshot_out else None
    live_traffic = None
    notes: list[str] = []
    try:
        if openapi_target is not None and sources.origin == "snapshot":
            notes.append(Phrase(N_("asm.mesh_id not read live: a snapshot is audited with the ASM OpenAPI answers it "
                                   "carries")))
        elif openapi_target is not None:
            # Live answers take the place saved ones have: same keys, same shape, recorded by `snapshot`.
            answers = read_asm_openapi(openapi_target, progress)
            sources.asm_openapi = {**sources.asm_openapi, **answers}
            notes += list(dict.fromkeys((answers.get("_errors") or {}).values()))  # one line per failure
        if "traffic_provider" not in kwargs:
            # Built before collection: a bad window, URL or credentials file fails fast (exit 2).
            kwargs["traffic_provider"] = live_traffic = traffic_provider_for(
                sources, config, now=kwargs.get("now"), progress=progress)
        result = engine.run_audit(sources, phase, config, allow_unknown=allow_unknown, strict=strict,
                                  progress=progress or engine._quiet, writer=writer, **kwargs)
        result.notes.extend(notes)
        traffic = result.inventory.traffic if result.inventory else None
        if traffic is not None and getattr(traffic, "origin", "") == "recorded":
            result.notes.append(Phrase(N_("gateway traffic: recorded Prometheus answers (window {window} up to "
                                          "{until}), not a live query"), window=traffic.window,
                                       until=rfc3339(traffic.query_time)))
            if parse_duration(config.prometheus.window) != traffic.window_seconds:
                result.notes.append(Phrase(N_("traffic window {asked} not applied: the recording covers {window}; "
                                              "pass --prometheus to query again"), asked=config.prometheus.window,
                                           window=traffic.window))
        if writer:
            if sources.asm_openapi:
                writer.extra("asm_openapi", sources.asm_openapi)
            if sources.networks:  # the fleet file's networks travel with the snapshot
                writer.extra("networks", sources.networks)
            if traffic is not None:  # live answers, or the recording carried over: the same finding offline
                writer.extra("prometheus", traffic.to_record())
            writer.finish(result.generated_at)
        return result
    except BaseException:
        if writer:
            writer.abort()
        raise
    finally:
        if isinstance(live_traffic, PrometheusSource):
            live_traffic.close()
        if owned:
            sources.close()


def traffic_provider_for(sources: SourceSet, config: Config, *, now: Any = None,
                         progress: Any = None) -> Callable[[Any, Config], Any] | None:
    """Gateway traffic: a live Prometheus when prometheus.url is set, else the snapshot's recording, else none
    (the traffic check is then UNKNOWN)."""
    if config.prometheus.url:
        return live_provider(config.prometheus, now=now, progress=progress)
    if sources.recorded_prometheus is not None:
        collected = parse_time(sources.collected_at)
        return recorded_provider(sources.recorded_prometheus,
                                 collected_at=collected.timestamp() if collected is not None else None)
    parse_duration(config.prometheus.window)  # a bad --traffic-window is an error even without Prometheus
    return None
