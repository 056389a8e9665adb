"""`run`'s continuous-tracking options: --metrics-file, --pushgateway, --history, --notify.

Everything is checked before collection (a bad path, URL or database is exit 2 before the clusters are read).
After the reports are written, each output is attempted; a failure there is one warning line on stderr and never
changes the verdict or the exit code (the reports already hold the answer).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from auditor import metrics
from auditor.cli.common import err, escape
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.history import History, PreviousRun
from auditor.tracking import RunRecord, record_of

MetricsFileOpt = Annotated[Path | None, typer.Option(
    "--metrics-file", help="Write Prometheus metrics (text format) here, for node-exporter's textfile collector.")]
PushgatewayOpt = Annotated[str | None, typer.Option(
    "--pushgateway", help="Push the same metrics to this Prometheus Pushgateway URL.")]
HistoryOpt = Annotated[Path | None, typer.Option(
    "--history", help="Append this audit to an SQLite history (created when missing); the reports then show "
    "the burn-down over time.")]
PushgatewayJobOpt = Annotated[str, typer.Option(
    "--pushgateway-job", help="Pushgateway job label (one group per job: give each audited fleet its own).")]


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


@dataclass
class Tracking:
    metrics_file: Path | None = None
    pushgateway: str | None = None
    pushgateway_job: str = metrics.DEFAULT_JOB
    history_path: Path | None = None
    history: History | None = field(default=None, init=False)
    previous: PreviousRun | None = field(default=None, init=False)   # the last run before this one
    record: RunRecord | None = field(default=None, init=False)

    def check(self) -> None:
        """Refuse bad options before collection (UsageError: exit 2); opens (creates) the history."""
        if self.metrics_file is not None:
            metrics.check_metrics_file(self.metrics_file)
        if self.pushgateway is not None:
            metrics.check_pushgateway_url(self.pushgateway)
            if not self.pushgateway_job.strip() or "/" in self.pushgateway_job:
                raise UsageError("--pushgateway-job must be non-empty and without '/'")
        if self.history_path is not None:
            self.history = History(self.history_path)

    def close(self) -> None:
        if self.history is not None:
            self.history.close()
            self.history = None

    @property
    def wanted(self) -> bool:
        return any(x is not None for x in (self.metrics_file, self.pushgateway, self.history))

    def before_reports(self, result: AuditResult) -> None:
        """Append the run to the history and give the reports its burn-down (a failure is a warning)."""
        if not self.wanted:
            return
        self.record = record_of(result)
        if self.history is None:
            return
        try:
            self.previous = self.history.previous()
            self.history.append(self.record)
            result.history = self.history.burndown()
        except sqlite3.Error as exc:
            warn(f"--history {self.history_path}: this run was not recorded: {exc}")

    def after_reports(self) -> None:
        """Write the metrics; failures are warnings (the verdict and exit code stand)."""
        record = self.record
        if record is None:
            return
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
