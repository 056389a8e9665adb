"""`run`'s continuous-tracking options: --metrics-file, --pushgateway, --history, --notify.

Everything is checked before collection (a bad path, URL or database is exit 2 before the clusters are read).
After the reports are written, each output is attempted; a failure there is one warning line on stderr and never
changes the verdict or the exit code (the reports already hold the answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from auditor import metrics
from auditor.cli.common import err, escape
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.tracking import RunRecord, record_of

MetricsFileOpt = Annotated[Path | None, typer.Option(
    "--metrics-file", help="Write Prometheus metrics (text format) here, for node-exporter's textfile collector.")]
PushgatewayOpt = Annotated[str | None, typer.Option(
    "--pushgateway", help="Push the same metrics to this Prometheus Pushgateway URL.")]
PushgatewayJobOpt = Annotated[str, typer.Option(
    "--pushgateway-job", help="Pushgateway job label (one group per job: give each audited fleet its own).")]


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


@dataclass
class Tracking:
    metrics_file: Path | None = None
    pushgateway: str | None = None
    pushgateway_job: str = metrics.DEFAULT_JOB

    def check(self) -> None:
        """Refuse bad options before collection (UsageError: exit 2)."""
        if self.metrics_file is not None:
            metrics.check_metrics_file(self.metrics_file)
        if self.pushgateway is not None:
            metrics.check_pushgateway_url(self.pushgateway)
            if not self.pushgateway_job.strip() or "/" in self.pushgateway_job:
                raise UsageError("--pushgateway-job must be non-empty and without '/'")

    @property
    def wanted(self) -> bool:
        return self.metrics_file is not None or self.pushgateway is not None

    def publish(self, result: AuditResult) -> RunRecord | None:
        """Write every requested output; failures are warnings (the verdict and exit code stand)."""
        if not self.wanted:
            return None
        record = record_of(result)
        if self.metrics_file is not None:
            try:
                metrics.write_metrics_file(record, self.metrics_file)
            except OSError as exc:
                warn(f"--metrics-file {self.metrics_file}: not written: {exc.strerror or exc}")
        if self.pushgateway is not None:
            try:
                metrics.push_metrics(record, self.pushgateway, self.pushgateway_job)
            except Exception as exc:  # urllib/HTTP/socket errors of any kind: the push is best effort
                warn(f"--pushgateway {metrics.redact(self.pushgateway)}: push failed: {type(exc).__name__}: "
                     f"{str(exc).replace(self.pushgateway, '<url>')[:200]}")
        return record
