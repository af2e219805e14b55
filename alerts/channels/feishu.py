"""Feishu / Lark custom bot (自定义机器人), interactive card with a markdown element.

签名校验: ``timestamp`` (seconds) and ``sign = base64(HMAC-SHA256(key=timestamp + "\\n" +
secret, msg=""))`` go in the JSON body, fresh per request. The request body must stay under
20 KB. Refusals come as HTTP 200 with ``code``: 19021 = bad signature or stale timestamp
(dead), 19022 = IP not allowed (dead), 19024 = keyword missing (dead), 11232 / 9499 = rate
limited (retry later; 100 a minute, 5 a second per bot).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from alerts.channels.base import (
    Outgoing,
    RobotChannel,
    truncate_utf8,
)
from alerts.render import plain_title, render

MAX_BODY_BYTES = 20_000
RETRYABLE_CODES = frozenset({11232, 9499, 99991400})
TEMPLATES = {"red": "red", "orange": "orange", "yellow": "yellow", None: "blue"}


def signature(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(RobotChannel):
    code_keys = ("code", "StatusCode")
    message_key = "msg"
    retryable_codes = RETRYABLE_CODES
    rate_limit_codes = RETRYABLE_CODES

    def message(self, batch: list[Outgoing], now: float | None = None) -> dict[str, Any]:
        payloads = [i.payload for i in batch]
        lang = self.settings.language
        title = plain_title(payloads[0], lang, self.templates_dir)
        if len(payloads) > 1:
            title += f" 等 {len(payloads)} 条" if lang == "zh" else f" (+{len(payloads) - 1})"
        resolved = all(p["status"] == "resolved" for p in payloads)
        color = "green" if resolved else TEMPLATES.get(payloads[0].get("severity"), "blue")
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": title[:100]},
                    "template": color,
                },
                "elements": [{"tag": "markdown", "content": ""}],
            },
        }
        text = render("markdown.md.j2", payloads, lang, self.templates_dir)
        room = MAX_BODY_BYTES - len(json.dumps(body, ensure_ascii=False).encode()) - 200
        # JSON escaping can grow the text (quotes, newlines): leave a margin for it.
        body["card"]["elements"][0]["content"] = truncate_utf8(text, int(room * 0.9))
        if self.secret:
            timestamp = int(now if now is not None else time.time())
            body = {"timestamp": str(timestamp), "sign": signature(self.secret, timestamp), **body}
        return body
