"""`run`'s continuous-tracking options: --metrics-file, --pushgateway, --history, --notify.

Everything is checked before collection (a bad path, URL or database is exit 2 before the clusters are read).
After the reports are written, each output is attempted; a failure there is one warning line on stderr and never
changes the verdict or the exit code (the reports already hold the answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor import metrics, notify
from auditor.cli.common import OUTPUTS, err, escape
from auditor.engine import AuditResult
from auditor.errors import UsageError
from auditor.tracking import RunRecord, record_of

if TYPE_CHECKING:  # sqlite3 is loaded only for --history
    from auditor.history import History, PreviousRun

MetricsFileOpt = Annotated[Path | None, typer.Option(
    "--metrics-file", help="Write Prometheus metrics (text format) here, for node-exporter's textfile collector.",
    rich_help_panel=OUTPUTS)]
PushgatewayOpt = Annotated[str | None, typer.Option(
    "--pushgateway", help="Push the same metrics to this Prometheus Pushgateway URL.", rich_help_panel=OUTPUTS)]
HistoryOpt = Annotated[Path | None, typer.Option(
    "--history", help="Append this audit to an SQLite history (created when missing); the reports then show "
    "the burn-down over time.", rich_help_panel=OUTPUTS)]
NotifyOpt = Annotated[str | None, typer.Option(
    "--notify", help="Post the summary to a chat webhook given as env:NAME or file:PATH (the URL holds a token).",
    rich_help_panel=OUTPUTS)]
NotifyFormatOpt = Annotated[str | None, typer.Option(
    "--notify-format", help="slack, dingtalk, lark or wecom (default: from the webhook's host).",
    rich_help_panel=OUTPUTS)]
NotifyOnOpt = Annotated[str | None, typer.Option(
    "--notify-on", help="change (default with --history: verdicts or blockers differ from the last run), nogo, "
    "or always (default without --history).", rich_help_panel=OUTPUTS)]
NotifySecretFileOpt = Annotated[Path | None, typer.Option(
    "--notify-secret-file", help=f"DingTalk/Lark signing secret (default: ${notify.SECRET_ENV}).",
    rich_help_panel=OUTPUTS)]
PushgatewayJobOpt = Annotated[str, typer.Option(
    "--pushgateway-job", help="Pushgateway job label (one group per job: give each audited fleet its own).",
    rich_help_panel=OUTPUTS)]


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


@dataclass
class Tracking:
    metrics_file: Path | None = None
    pushgateway: str | None = None
    pushgateway_job: str = metrics.DEFAULT_JOB
    history_path: Path | None = None
    notify_spec: str | None = None
    notify_format: str | None = None
    notify_on: str | None = None
    notify_secret_file: Path | None = None
    quiet: bool = False
    webhook: notify.Webhook | None = field(default=None, init=False)
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
        if self.notify_spec is not None:
            self._check_notify()
        elif self.notify_format or self.notify_on or self.notify_secret_file:
            raise UsageError("--notify-format, --notify-on and --notify-secret-file need --notify")
        if self.history_path is not None:
            from auditor.history import History

            self.history = History(self.history_path)

    def _check_notify(self) -> None:
        assert self.notify_spec is not None
        when = (self.notify_on or ("change" if self.history_path else "always")).strip().lower()
        if when not in notify.WHEN:
            raise UsageError(f"unknown --notify-on {self.notify_on!r}; choose one of: {', '.join(notify.WHEN)}")
        if when == "change" and self.history_path is None:
            raise UsageError("--notify-on change needs --history (the last run to compare with)")
        self.notify_on = when
        self.webhook = notify.webhook_of(self.notify_spec, self.notify_format, self.notify_secret_file)

    def close(self) -> None:
        if self.history is not None:
            self.history.close()
            self.history = None

    @property
    def wanted(self) -> bool:
        return any(x is not None for x in (self.metrics_file, self.pushgateway, self.history, self.webhook))

    def before_reports(self, result: AuditResult) -> None:
        """Append the run to the history and give the reports its burn-down (a failure is a warning)."""
        if not self.wanted:
            return
        self.record = record_of(result)
        if self.history is None:
            return
        import sqlite3

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
        if self.webhook is not None and notify.should_post(self.notify_on or "always", record, self.previous):
            title, lines = notify.summary_lines(record, self.previous, has_history=self.history is not None)
            try:
                notify.post(self.webhook, title, lines)
            except notify.NotifyError as exc:
                warn(f"--notify {self.webhook.where}: not posted: {exc}")
            else:
                if not self.quiet:
                    err.print(f"posted the summary to {escape(self.webhook.where)} ({self.webhook.format})")
