"""Prometheus metrics of one audit: a textfile for node-exporter's collector, or a push to a Pushgateway.

Written with prometheus_client (never by string formatting). Label values are bounded: clusters, gates, check
ids, statuses and severities are finite by construction; namespaces are capped at `NAMESPACE_CAP` per cluster,
the rest summed into namespace="other" (so a sum over namespaces is always the cluster's total).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import UsageError
from auditor.model import EXIT_CODES, Verdict
from auditor.tracking import RunRecord

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

NAMESPACE_CAP = 50
OTHER_NAMESPACES = "other"
DEFAULT_JOB = "asm-audit"
PUSH_TIMEOUT_S = 30.0

# Every metric name we export (the Grafana dashboard test holds the dashboard to this list).
VERDICT = "asm_audit_verdict"
FINDINGS = "asm_audit_findings"
BLOCKERS = "asm_audit_blockers"
SIDECAR_PODS = "asm_audit_istio_sidecar_pods"
LAST_RUN = "asm_audit_last_run_timestamp_seconds"
METRIC_NAMES: tuple[str, ...] = (VERDICT, FINDINGS, BLOCKERS, SIDECAR_PODS, LAST_RUN)

VERDICT_VALUES: dict[str, int] = {v.value: code for v, code in EXIT_CODES.items()}  # 0 GO, 1 NO-GO, 3 INCOMPLETE


def capped_namespaces(per_namespace: dict[str, int], cap: int = NAMESPACE_CAP) -> dict[str, int]:
    """The `cap` namespaces with most pods left, the rest summed under "other" (a real "other" joins it)."""
    ranked = sorted(((n, ns) for ns, n in per_namespace.items() if ns != OTHER_NAMESPACES), key=lambda t: (-t[0], t[1]))
    kept = {ns: n for n, ns in ranked[:cap]}
    rest = sum(n for n, _ in ranked[cap:]) + per_namespace.get(OTHER_NAMESPACES, 0)
    if rest or len(ranked) > cap or OTHER_NAMESPACES in per_namespace:
        kept[OTHER_NAMESPACES] = rest
    return kept


def registry_of(record: RunRecord) -> CollectorRegistry:
    # imported here: a run without --metrics-file or --pushgateway never loads prometheus_client
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    verdict = Gauge(VERDICT, "Verdict of the audit per cluster and gate: 0 GO, 1 NO-GO, 3 INCOMPLETE.",
                    ["cluster", "gate"], registry=registry)
    for (cluster, gate), value in sorted(record.verdicts.items()):
        verdict.labels(cluster, gate).set(VERDICT_VALUES[Verdict(value).value])
    findings = Gauge(FINDINGS, "Findings of the audit per check, status and severity.",
                     ["cluster", "gate", "check_id", "status", "severity"], registry=registry)
    for c in record.checks:
        findings.labels(c.cluster, c.gate, c.check_id, c.status, c.severity).set(c.count)
    blockers = Gauge(BLOCKERS, "Non-exempt blocker/major FAIL findings per check (with --strict any FAIL or WARN): "
                     "what keeps a gate NO-GO.",
                     ["cluster", "gate", "check_id"], registry=registry)
    for b in record.blockers:
        blockers.labels(b.cluster, b.gate, b.check_id).set(b.count)
    sidecars = Gauge(SIDECAR_PODS, "Active pods still on Istio's sidecar, per cluster and namespace (top "
                     f"{NAMESPACE_CAP} namespaces, the rest as namespace=\"{OTHER_NAMESPACES}\"); absent for a "
                     "cluster whose pods could not be read.", ["cluster", "namespace"], registry=registry)
    for cluster, per_namespace in sorted(record.sidecar_pods.items()):
        for namespace, n in capped_namespaces(per_namespace).items():
            sidecars.labels(cluster, namespace).set(n)
    last = Gauge(LAST_RUN, "When the audit ran (its generated_at), in Unix seconds.", registry=registry)
    last.set(record.timestamp)
    return registry


def check_metrics_file(path: Path) -> None:
    """Refuse, before collection, a --metrics-file that cannot be written (exit 2)."""
    if path.is_dir():
        raise UsageError(f"--metrics-file {path} is a directory")
    if not path.parent.is_dir():
        raise UsageError(f"--metrics-file {path}: directory {path.parent} does not exist")


def check_pushgateway_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"--pushgateway {redact(url)}: expected an http(s) URL")
    if parsed.username or parsed.password:
        raise UsageError("--pushgateway: credentials in the URL would show in the process list; use a proxy or "
                         "the Pushgateway's network policy instead")
    return url


def redact(url: str) -> str:
    """scheme://host[:port] of a URL: what may appear in messages (paths and queries can carry tokens)."""
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc.rpartition('@')[2]}" if parsed.netloc else "the URL"


def write_metrics_file(record: RunRecord, path: Path) -> None:
    """Atomic (prometheus_client writes a temporary file and renames it): the collector never reads half."""
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), registry_of(record))


def push_metrics(record: RunRecord, url: str, job: str = DEFAULT_JOB) -> None:
    """Replace this job's group on the Pushgateway with this run's metrics (PUT: stale series go)."""
    from prometheus_client import push_to_gateway

    push_to_gateway(url, job=job, registry=registry_of(record), timeout=PUSH_TIMEOUT_S)
