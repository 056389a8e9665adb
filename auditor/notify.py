"""Chat notifications: the run's summary posted to a Slack, DingTalk, Lark/Feishu or WeCom webhook.

A webhook URL is itself a credential (Slack's path, DingTalk's access_token, Lark's hook id, WeCom's key), so it
is given as `env:NAME` or `file:PATH`; a literal URL that carries a token is refused (argv shows in `ps` and shell
history). DingTalk's and Lark's signing secret comes from $ASM_AUDIT_NOTIFY_SECRET or --notify-secret-file.
Neither the URL's path or query nor the secret is ever printed: messages name the scheme and host only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import UsageError
from auditor.secretfile import read_secret_file
from auditor.tracking import RunRecord

if TYPE_CHECKING:  # annotations only: sqlite3 is loaded only for --history
    from auditor.history import PreviousRun

FORMATS = ("slack", "dingtalk", "lark", "wecom")
WHEN = ("change", "nogo", "always")
HOST_FORMATS = {"hooks.slack.com": "slack", "oapi.dingtalk.com": "dingtalk", "open.feishu.cn": "lark",
                "open.larksuite.com": "lark", "qyapi.weixin.qq.com": "wecom"}
TOKEN_QUERY_KEYS = {"access_token", "token", "key", "secret", "sign"}
SECRET_ENV = "ASM_AUDIT_NOTIFY_SECRET"
POST_TIMEOUT_S = 15.0
TOP_BLOCKERS = 5


class NotifyError(Exception):
    """A post that did not go through (its message is safe to print: no URL path, no secret)."""


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str
    secret: str | None = None

    @property
    def where(self) -> str:
        return redacted(self.url)


def redacted(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.hostname or '?'}" + (f":{parsed.port}" if parsed.port else "")


def resolve_url(spec: str) -> str:
    """`env:NAME`, `file:PATH` or a literal URL without a token; UsageError (never echoing a token) otherwise."""
    if spec.startswith("env:"):
        name = spec[4:]
        url = os.environ.get(name, "").strip()
        if not url:
            raise UsageError(f"--notify env:{name}: the variable is not set or empty")
    elif spec.startswith("file:"):
        url = read_secret_file(Path(spec[5:]), "--notify file:")
    else:
        url = spec.strip()
        parsed = urllib.parse.urlsplit(url)
        query_keys = {k.lower() for k, _ in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)}
        if (parsed.hostname or "").lower() in HOST_FORMATS or query_keys & TOKEN_QUERY_KEYS or parsed.password:
            raise UsageError(f"--notify {redacted(url)}/...: the webhook URL carries its token and would show in "
                             "the process list; pass it as env:NAME or file:PATH")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError("--notify: the webhook is not an http(s) URL")
    return url


def detect_format(url: str, explicit: str | None) -> str:
    if explicit:
        fmt = explicit.strip().lower()
        if fmt == "feishu":
            fmt = "lark"
        if fmt not in FORMATS:
            raise UsageError(f"unknown --notify-format {explicit!r}; choose one of: {', '.join(FORMATS)}")
        return fmt
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host in HOST_FORMATS:
        return HOST_FORMATS[host]
    raise UsageError(f"--notify {redacted(url)}: cannot tell the chat from the host; give --notify-format "
                     f"{'|'.join(FORMATS)}")


def webhook_of(spec: str, fmt: str | None, secret_file: Path | None) -> Webhook:
    url = resolve_url(spec)
    secret = read_secret_file(secret_file, "--notify-secret-file") if secret_file else (
        os.environ.get(SECRET_ENV, "").strip() or None)
    return Webhook(url=url, format=detect_format(url, fmt), secret=secret)


# ---------------------------------------------------------------- when
def changed(record: RunRecord, previous: PreviousRun | None) -> bool:
    """A different verdict (run, gate or any cluster/gate) or blocker count than the last recorded run."""
    if previous is None:
        return True
    return (record.verdict != previous.verdict or record.gate != previous.gate
            or record.verdicts != previous.verdicts or record.blockers_total() != previous.blockers)


def should_post(when: str, record: RunRecord, previous: PreviousRun | None) -> bool:
    if when == "always":
        return True
    if when == "nogo":
        return record.verdict != "GO"
    return changed(record, previous)


# ---------------------------------------------------------------- what
def summary_lines(record: RunRecord, previous: PreviousRun | None, has_history: bool) -> tuple[str, list[str]]:
    """A title and plain lines: verdict, gate, counts, per-cluster verdicts, top blockers, the change."""
    clusters = sorted({c for c, _ in record.verdicts})
    title = f"asm-audit: {record.verdict} at gate {record.gate}"
    sidecars = record.sidecar_pods_total()
    lines = [f"{record.verdict} - gate {record.gate} - {len(clusters)} cluster(s) - {record.generated_at}",
             f"blockers {record.blockers_total()}, UNKNOWN {record.status_total('UNKNOWN')}, WARN "
             f"{record.status_total('WARN')}, Istio-sidecar pods left "
             f"{sidecars if sidecars is not None else 'not read'}"]
    worst: dict[str, str] = {}
    rank = {"GO": 0, "INCOMPLETE": 1, "NO-GO": 2}
    for (cluster, _gate), verdict in sorted(record.verdicts.items()):
        if rank.get(verdict, 3) >= rank.get(worst.get(cluster, "GO"), 0):
            worst[cluster] = verdict
    if worst:
        lines.append("clusters: " + ", ".join(f"{c} {v}" for c, v in sorted(worst.items())))
    by_check = Counter()
    for b in record.blockers:
        by_check[b.check_id] += b.count
    if by_check:
        top = sorted(by_check.items(), key=lambda item: (-item[1], item[0]))[:TOP_BLOCKERS]
        lines.append("top blockers: " + ", ".join(f"{check} x{n}" for check, n in top))
    if previous is not None:
        before = previous.istio_sidecar_pods
        lines.append(f"since the last run ({previous.generated_at}): verdict {previous.verdict} -> {record.verdict}, "
                     f"blockers {previous.blockers} -> {record.blockers_total()}, Istio-sidecar pods "
                     f"{before if before is not None else '-'} -> {sidecars if sidecars is not None else '-'}")
    elif has_history:
        lines.append("first run recorded in this history")
    return title, lines


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(hook: Webhook, title: str, lines: list[str], now: float | None = None) -> tuple[str, dict[str, Any]]:
    """(URL to post to, JSON body) in the chat's own format, signed when a secret is given."""
    now = time.time() if now is None else now
    url = hook.url
    if hook.format == "slack":
        return url, {"text": _slack_escape(title + "\n" + "\n".join(lines))}
    if hook.format == "dingtalk":
        if hook.secret:
            stamp = str(int(now * 1000))
            digest = hmac.new(hook.secret.encode(), f"{stamp}\n{hook.secret}".encode(), hashlib.sha256).digest()
            sign = base64.b64encode(digest).decode()
            url += ("&" if urllib.parse.urlsplit(url).query else "?") + urllib.parse.urlencode(
                {"timestamp": stamp, "sign": sign})
        text = f"### {title}\n\n" + "\n\n".join(f"- {line}" for line in lines)
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    if hook.format == "lark":
        body: dict[str, Any] = {"msg_type": "text", "content": {"text": title + "\n" + "\n".join(lines)}}
        if hook.secret:
            stamp = str(int(now))
            digest = hmac.new(f"{stamp}\n{hook.secret}".encode(), b"", hashlib.sha256).digest()
            body = {"timestamp": stamp, "sign": base64.b64encode(digest).decode(), **body}
        return url, body
    text = f"**{title}**\n" + "\n".join(f"> {line}" for line in lines)
    return url, {"msgtype": "markdown", "markdown": {"content": text}}


def post(hook: Webhook, title: str, lines: list[str]) -> None:
    """POST the message; NotifyError on any failure (HTTP error, or the chat's own error code in a 200)."""
    import urllib.error  # imported here: a run without --notify never loads http.client and the email package
    import urllib.request

    url, body = payload(hook, title, lines)
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as answer:
            raw = answer.read(65536)
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise NotifyError(f"{type(exc).__name__}: {str(reason).replace(hook.url, '<url>')[:160]}") from None
    try:
        answer_json = json.loads(raw) if raw.strip().startswith(b"{") else None
    except ValueError:
        answer_json = None
    if isinstance(answer_json, dict):
        # DingTalk/WeCom: errcode; Lark: code (or StatusCode in older answers); 0 means delivered.
        for key in ("errcode", "code", "StatusCode"):
            if answer_json.get(key) not in (None, 0):
                message = str(answer_json.get("errmsg") or answer_json.get("msg") or "")[:160]
                raise NotifyError(f"the chat refused the message: {key} {answer_json.get(key)} {message}".strip())
