"""Prometheus options shared by `run` and `snapshot`: URL, window, auth, TLS, timeout.

They mirror the config file's `prometheus:` keys; a value given on the command line wins over the file.
Secrets are read from files only (a token on the command line would end up in shell history and `ps`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.config import Config

# --help: their own panel; metavars short, so the longest name stays whole at 80 columns.
PANEL = "Prometheus"
TrafficWindowOpt = Annotated[str | None, typer.Option(
    "--traffic-window", metavar="TIME", rich_help_panel=PANEL,
    help="Window over which gateway traffic must be zero (Prometheus duration, default 24h).")]
TokenFileOpt = Annotated[Path | None, typer.Option(
    "--prometheus-bearer-token-file", metavar="FILE", rich_help_panel=PANEL,
    help="File holding a bearer token for Prometheus.")]
UsernameOpt = Annotated[str | None, typer.Option(
    "--prometheus-username", metavar="USER", rich_help_panel=PANEL,
    help="Basic-auth user for Prometheus (with --prometheus-password-file).")]
PasswordFileOpt = Annotated[Path | None, typer.Option(
    "--prometheus-password-file", metavar="FILE", rich_help_panel=PANEL,
    help="File holding the basic-auth password for Prometheus.")]
CaFileOpt = Annotated[Path | None, typer.Option(
    "--prometheus-ca-file", metavar="FILE", rich_help_panel=PANEL,
    help="CA bundle (PEM) that signed Prometheus' TLS certificate.")]
InsecureOpt = Annotated[bool, typer.Option(
    "--prometheus-insecure-skip-verify", metavar="", rich_help_panel=PANEL,
    help="Do not verify Prometheus' TLS certificate.")]
PromTimeoutOpt = Annotated[float | None, typer.Option(
    "--prometheus-timeout", metavar="SECS", rich_help_panel=PANEL, help="Seconds per Prometheus query (default 30).")]


def apply_prometheus_options(cfg: Config, *, url: str | None = None, window: str | None = None,
                             bearer_token_file: Path | None = None, username: str | None = None,
                             password_file: Path | None = None, ca_file: Path | None = None,
                             insecure_skip_verify: bool = False, timeout: float | None = None) -> Config:
    prom = cfg.prometheus
    if url:
        prom.url = url
    if window:
        prom.window = window
    if bearer_token_file:
        prom.bearer_token_file, prom.bearer_token = str(bearer_token_file), None
    if username:
        prom.username = username
    if password_file:
        prom.password_file = str(password_file)
    if ca_file:
        prom.ca_file = str(ca_file)
    if insecure_skip_verify:
        prom.insecure_skip_verify = True
    if timeout is not None:
        prom.timeout = timeout
    return cfg
