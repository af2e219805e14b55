"""DingTalk custom robot (自定义机器人), markdown messages.

加签: ``timestamp`` (ms) and ``sign = urlencode(base64(HMAC-SHA256(key=secret,
msg=timestamp + "\\n" + secret)))`` as query parameters, computed fresh for every request (the
robot refuses a timestamp more than an hour off). Refusals come as HTTP 200 with ``errcode``:
130101 = sending too fast (20 messages a minute per robot: retry later), 310000 = bad
signature / keyword / IP (dead), 300001 = bad token (dead), -1 = system busy (retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

from alerts.channels.base import (
    Outgoing,
    RobotChannel,
    truncate_utf8,
)
from alerts.render import plain_title, render

MAX_TEXT_BYTES = 20_000
RETRYABLE_CODES = frozenset({-1, 130101, 130102})
RATE_LIMIT_CODES = frozenset({130101, 130102})


def signature(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value (already URL-encoded)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secret: str | None, now: float | None = None) -> str:
    if not secret:
        return url
    timestamp = int((now if now is not None else time.time()) * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={signature(secret, timestamp)}"


class DingTalkChannel(RobotChannel):
    retryable_codes = RETRYABLE_CODES
    rate_limit_codes = RATE_LIMIT_CODES

    def message(self, batch: list[Outgoing]) -> dict[str, Any]:
        payloads = [item.payload for item in batch]
        lang = self.settings.language
        title = plain_title(payloads[0], lang, self.templates_dir)
        if len(payloads) > 1:
            title += f" 等 {len(payloads)} 条" if lang == "zh" else f" (+{len(payloads) - 1})"
        text = render("markdown.md.j2", payloads, lang, self.templates_dir)
        if self.settings.at_mobiles:
            text += "\n\n" + " ".join(f"@{m}" for m in self.settings.at_mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {"title": title[:64], "text": truncate_utf8(text, MAX_TEXT_BYTES)},
            "at": {"atMobiles": list(self.settings.at_mobiles), "isAtAll": self.settings.at_all},
        }

    def request(self, batch: list[Outgoing]) -> tuple[str, Any, dict[str, str]]:
        return signed_url(self.url, self.secret), self.message(batch), {}
