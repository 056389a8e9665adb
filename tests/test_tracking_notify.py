"""--notify: the summary in each chat's own format, posted to a local receiver; failures never change the verdict."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from auditor.api import demo_snapshot_path
from auditor.cli.main import main
from tests import factory as f
from tests.prometheus_server import free_port
from tests.test_tracking_history import burn_down_snapshots

SECRET = "SECtest-signing-secret-9f3a"


class Receiver:
    """A webhook on 127.0.0.1 that keeps every POST (path, query, JSON body) and answers `status`/`answer`."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                split = urllib.parse.urlsplit(self.path)
                receiver.posts.append({"path": split.path, "query": dict(urllib.parse.parse_qsl(split.query)),
                                       "body": json.loads(self.rfile.read(length)),
                                       "content_type": self.headers.get("Content-Type")})
                raw = json.dumps(receiver.answer).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?access_token=tok-abc123"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def run_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["run", "--snapshot", str(demo_snapshot_path()), "--out", str(tmp_path / "out"), "--format",
                 "json,md", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def everything_written(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_dingtalk_markdown_is_signed_with_the_secret_from_a_file(tmp_path, capsys, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    code, output = run_demo(tmp_path, capsys, "--notify", "env:HOOK", "--notify-format", "dingtalk",
                            "--notify-secret-file", str(secret_file))
    assert code == 1
    assert len(receiver.posts) == 1
    sent = receiver.posts[0]
    assert sent["path"] == "/robot/send" and sent["query"]["access_token"] == "tok-abc123"
    stamp = sent["query"]["timestamp"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert sent["query"]["sign"] == expected.decode()
    assert sent["body"]["msgtype"] == "markdown"
    text = sent["body"]["markdown"]["text"]
    assert "NO-GO" in text and "gate uninstall" in text and "blockers 27" in text
    assert "Istio-sidecar pods left 24" in text and "istio-sidecars-remaining x13" in text
    assert "clusters: asm GO, cluster-a NO-GO, cluster-b NO-GO" in text
    for leaked in (SECRET, "tok-abc123", "/robot/send"):
        assert leaked not in output and leaked not in everything_written(tmp_path)
    assert f"posted the summary to http://127.0.0.1:{receiver.server.server_address[1]} (dingtalk)" in output


@pytest.mark.parametrize(("fmt", "text_of"), [
    ("slack", lambda body: body["text"]),
    ("wecom", lambda body: body["markdown"]["content"]),
    ("lark", lambda body: body["content"]["text"]),
])
def test_each_chat_gets_its_own_format(tmp_path, capsys, receiver, monkeypatch, fmt, text_of):
    hook = tmp_path / "hook"
    hook.write_text(receiver.url)
    monkeypatch.setenv("ASM_AUDIT_NOTIFY_SECRET", SECRET)
    code, _ = run_demo(tmp_path, capsys, "--notify", f"file:{hook}", "--notify-format", fmt, "--quiet")
    assert code == 1
    assert len(receiver.posts) == 1
    body = receiver.posts[0]["body"]
    assert "NO-GO" in text_of(body) and "blockers 27" in text_of(body)
    if fmt == "lark":
        stamp = body["timestamp"]
        digest = hmac.new(f"{stamp}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
        assert body["sign"] == base64.b64encode(digest).decode() and body["msg_type"] == "text"
    if fmt == "wecom":
        assert body["msgtype"] == "markdown"


@pytest.mark.parametrize(("status", "answer"), [
    (500, {"error": "boom"}),
    (200, {"errcode": 310000, "errmsg": "sign not match"}),
])
def test_a_failed_post_is_one_warning_and_the_verdict_stands(tmp_path, capsys, receiver, monkeypatch, status,
                                                              answer):
    receiver.status, receiver.answer = status, answer
    monkeypatch.setenv("HOOK", receiver.url)
    code, output = run_demo(tmp_path, capsys, "--notify", "env:HOOK", "--notify-format", "dingtalk", "--quiet")
    assert code == 1
    warnings = [line for line in output.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "not posted" in warnings[0]
    assert "tok-abc123" not in output
    assert (tmp_path / "out" / "findings.json").is_file()


def test_an_unreachable_webhook_is_a_warning_and_the_verdict_stands(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOOK", f"http://127.0.0.1:{free_port()}/hook/tok-zz9")
    code, output = run_demo(tmp_path, capsys, "--notify", "env:HOOK", "--notify-format", "slack", "--quiet")
    assert code == 1
    assert "not posted" in output and "tok-zz9" not in output


def test_notify_on_change_posts_only_when_verdicts_or_blockers_move(tmp_path, capsys, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    config = tmp_path / "only.yaml"
    config.write_text(json.dumps(f.only_checks("istio-sidecars-remaining")))
    db = tmp_path / "h.db"
    for i, snapshot in enumerate(burn_down_snapshots(tmp_path / "snaps", (6, 6, 3, 0))):
        main(["run", "--snapshot", str(snapshot), "--phase", "uninstall", "--config", str(config), "--out",
              str(tmp_path / f"o{i}"), "--format", "json", "--quiet", "--history", str(db), "--notify", "env:HOOK",
              "--notify-format", "wecom"])
    capsys.readouterr()
    texts = [p["body"]["markdown"]["content"] for p in receiver.posts]
    # Run 1 is news; run 2 changed nothing (same verdict, same blockers: no post); run 3 has the same NO-GO and
    # one blocker (pods left moved, not a change); run 4 turned GO.
    assert len(texts) == 2
    assert "first run recorded in this history" in texts[0]
    assert "verdict NO-GO -> GO, blockers 1 -> 0, Istio-sidecar pods 3 -> 0" in texts[1]


def test_notify_on_nogo_stays_quiet_on_go(tmp_path, capsys, receiver, monkeypatch):
    monkeypatch.setenv("HOOK", receiver.url)
    config = tmp_path / "only.yaml"
    config.write_text(json.dumps(f.only_checks("istio-sidecars-remaining")))
    (done,) = burn_down_snapshots(tmp_path / "snaps", (0,))
    code = main(["run", "--snapshot", str(done), "--phase", "uninstall", "--config", str(config), "--out",
                 str(tmp_path / "o"), "--format", "json", "--quiet", "--notify", "env:HOOK", "--notify-format",
                 "slack", "--notify-on", "nogo"])
    capsys.readouterr()
    assert code == 0 and receiver.posts == []


@pytest.mark.parametrize(("argv", "says"), [
    (["--notify", "https://oapi.dingtalk.com/robot/send?access_token=tok-abc123"], "carries its token"),
    (["--notify", "https://hooks.slack.com/services/T0/B0/tok-abc123"], "carries its token"),
    (["--notify", "https://relay.example/hook?token=tok-abc123", "--notify-format", "slack"], "carries its token"),
    (["--notify", "env:ASM_AUDIT_TEST_UNSET_HOOK"], "not set"),
    (["--notify", "https://relay.example/hook", "--notify-format", "teams"], "unknown --notify-format"),
    (["--notify", "https://relay.example/hook"], "cannot tell the chat"),
    (["--notify", "https://relay.example/hook", "--notify-format", "slack", "--notify-on", "change"],
     "needs --history"),
    (["--notify", "https://relay.example/hook", "--notify-format", "slack", "--notify-on", "weekly"],
     "unknown --notify-on"),
    (["--notify-on", "nogo"], "need --notify"),
])
def test_bad_notify_options_are_exit_2_before_collection_and_never_echo_a_token(tmp_path, capsys, argv, says):
    code, output = run_demo(tmp_path, capsys, *argv)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
    assert "tok-abc123" not in output
    assert not (tmp_path / "out").exists()
