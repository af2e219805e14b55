"""Local HTTP servers that speak each chat platform's robot protocol, the platform's way.

Each emulator checks what the real platform checks — token or key in the URL, the signature
computed its own way from a timestamp that must be within an hour, the size limit — and
refuses the way the platform does: **HTTP 200 with an error code in the body** (DingTalk
``errcode``, WeCom ``errcode``, Feishu ``code``), or for Slack a 4xx/429 with a plain-text
reason. Each keeps a per-minute (and Feishu per-second) message budget like the robot does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _RateWindow:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds, self.times = limit, seconds, deque()

    def allow(self, now: float) -> bool:
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return False
        self.times.append(now)
        return True


class Emulator:
    """Base: a threaded server on 127.0.0.1; ``messages`` holds each accepted message body."""

    def __init__(self, per_minute: int = 20) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refusals: list[Any] = []
        self.requests = 0
        self.rate = _RateWindow(per_minute, 60.0)
        self.clock = time.time
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Emulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with emulator._lock:
                    emulator.requests += 1
                    answer = emulator.handle(self.path, dict(self.headers.items()), body)
                    if answer.status != 200 or emulator.refused(answer.body):
                        emulator.refusals.append(answer.body)
                data = (
                    answer.body
                    if isinstance(answer.body, bytes)
                    else (
                        answer.body.encode()
                        if isinstance(answer.body, str)
                        else json.dumps(answer.body).encode()
                    )
                )
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def refused(self, body: Any) -> bool:
        return False

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        raise NotImplementedError


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class DingTalkEmulator(Emulator):
    """``POST /robot/send?access_token=…&timestamp=…&sign=…`` (markdown or text)."""

    MAX_TEXT_BYTES = 20_000

    def __init__(
        self,
        token: str = "dt-token-0123456789",
        secret: str | None = "SECdingtalk",
        per_minute: int = 20,
    ) -> None:
        super().__init__(per_minute)
        self.token, self.secret = token, secret

    @property
    def url(self) -> str:
        return f"{self.base}/robot/send?access_token={self.token}"

    def refused(self, body: Any) -> bool:
        return isinstance(body, dict) and body.get("errcode") != 0

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/robot/send" or query.get("access_token") != self.token:
            return Answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
        if self.secret:
            try:
                timestamp = int(query["timestamp"])
            except (KeyError, ValueError):
                return Answer(
                    200, {"errcode": 310000, "errmsg": "sign not match, more: timestamp missing"}
                )
            if abs(self.clock() * 1000 - timestamp) > 3600_000:
                return Answer(200, {"errcode": 310000, "errmsg": "timestamp expired"})
            expected = base64.b64encode(
                hmac.new(
                    self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            if not hmac.compare_digest(expected, query.get("sign", "")):
                return Answer(200, {"errcode": 310000, "errmsg": "sign not match"})
        message = _json(body)
        if message is None or message.get("msgtype") not in ("markdown", "text"):
            return Answer(200, {"errcode": 40035, "errmsg": "缺少参数 json"})
        if message["msgtype"] == "markdown":
            md = message.get("markdown") or {}
            if not md.get("title") or not md.get("text"):
                return Answer(200, {"errcode": 40035, "errmsg": "缺少参数 markdown.title/text"})
            if len(md["text"].encode()) > self.MAX_TEXT_BYTES:
                return Answer(200, {"errcode": 460101, "errmsg": "message too long"})
        if not self.rate.allow(self.clock()):
            return Answer(
                200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            )
        self.messages.append(message)
        return Answer(200, {"errcode": 0, "errmsg": "ok"})


class WeComEmulator(Emulator):
    """``POST /cgi-bin/webhook/send?key=…``; markdown content at most 4,096 bytes."""

    def __init__(self, key: str = "wecom-key-0123456789", per_minute: int = 20) -> None:
        super().__init__(per_minute)
        self.key = key

    @property
    def url(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={self.key}"

    def refused(self, body: Any) -> bool:
        return isinstance(body, dict) and body.get("errcode") != 0

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/cgi-bin/webhook/send" or query.get("key") != self.key:
            return Answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        message = _json(body)
        if message is None:
            return Answer(200, {"errcode": 40001, "errmsg": "invalid json"})
        if message.get("msgtype") == "markdown":
            content = (message.get("markdown") or {}).get("content", "")
            if len(content.encode()) > 4096:
                return Answer(
                    200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
                )
        elif message.get("msgtype") != "text":
            return Answer(200, {"errcode": 40008, "errmsg": "invalid message type"})
        if not self.rate.allow(self.clock()):
            return Answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
        self.messages.append(message)
        return Answer(200, {"errcode": 0, "errmsg": "ok"})


class FeishuEmulator(Emulator):
    """``POST /open-apis/bot/v2/hook/<token>``; signed body; at most 20 KB; 5/s and 100/min."""

    MAX_BODY = 20 * 1024

    def __init__(
        self,
        token: str = "fs-hook-0123456789abcdef",
        secret: str | None = "fs-secret",
        per_minute: int = 100,
        per_second: int = 5,
    ) -> None:
        super().__init__(per_minute)
        self.token, self.secret = token, secret
        self.per_second = _RateWindow(per_second, 1.0)

    @property
    def url(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/{self.token}"

    def refused(self, body: Any) -> bool:
        return isinstance(body, dict) and body.get("code") != 0

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if urlsplit(path).path != f"/open-apis/bot/v2/hook/{self.token}":
            return Answer(
                200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
            )
        if len(body) > self.MAX_BODY:
            return Answer(200, {"code": 9499, "msg": "Bad Request", "data": {}})
        message = _json(body)
        if message is None or "msg_type" not in message:
            return Answer(200, {"code": 9499, "msg": "Bad Request", "data": {}})
        if self.secret:
            try:
                timestamp = int(message.get("timestamp", ""))
            except ValueError:
                timestamp = 0
            key = f"{timestamp}\n{self.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if abs(self.clock() - timestamp) > 3600 or not hmac.compare_digest(
                expected, str(message.get("sign", ""))
            ):
                return Answer(
                    200,
                    {
                        "code": 19021,
                        "data": {},
                        "msg": "sign match fail or timestamp is not within one hour from current time",
                    },
                )
        now = self.clock()
        if not self.per_second.allow(now) or not self.rate.allow(now):
            return Answer(200, {"code": 11232, "data": {}, "msg": "frequency limited"})
        self.messages.append(message)
        return Answer(
            200,
            {"code": 0, "data": {}, "msg": "success", "StatusCode": 0, "StatusMessage": "success"},
        )


class SlackEmulator(Emulator):
    """``POST /services/T…/B…/…``; ``ok`` or a 4xx/429 with a plain-text reason."""

    def __init__(
        self, path: str = "/services/T0000/B0000/slacktoken0123456789", per_minute: int = 60
    ) -> None:
        super().__init__(per_minute)
        self.hook_path = path

    @property
    def url(self) -> str:
        return f"{self.base}{self.hook_path}"

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if urlsplit(path).path != self.hook_path:
            return Answer(404, "no_service")
        message = _json(body)
        if message is None:
            return Answer(400, "invalid_payload")
        if not message.get("text") and not message.get("blocks"):
            return Answer(400, "no_text")
        blocks = message.get("blocks") or []
        if len(blocks) > 50:
            return Answer(400, "invalid_blocks")
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            limit = 150 if block.get("type") == "header" else 3000
            if len(text) > limit:
                return Answer(400, "invalid_blocks")
        if not self.rate.allow(self.clock()):
            return Answer(429, "rate_limited", {"Retry-After": "30"})
        self.messages.append(message)
        return Answer(200, "ok")
