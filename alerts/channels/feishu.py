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

import requests

from alerts.channels.base import (
    Masker,
    Outgoing,
    SendResult,
    classify_http,
    json_body,
    post_json,
    request_failure,
    truncate_utf8,
)
from alerts.render import plain_title, render

MAX_BODY_BYTES = 20_000
RETRYABLE_CODES = {11232, 9499, 99991400}
TEMPLATES = {"red": "red", "orange": "orange", "yellow": "yellow", None: "blue"}


def signature(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def classify_code(body: dict[str, Any] | None, text: str) -> SendResult:
    if body is None:
        return SendResult.failure(f"unreadable answer: {text[:200]}", True, text)
    code = body.get("code", body.get("StatusCode", 0))
    if code == 0:
        return SendResult.success(text)
    retry_after = 60.0 if code in RETRYABLE_CODES else None
    return SendResult.failure(
        f"code {code}: {body.get('msg', '')[:200]}", code in RETRYABLE_CODES, text, retry_after
    )


class FeishuChannel:
    def __init__(self, settings: Any, templates_dir: str | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.max_batch = settings.max_alerts_per_message
        self.templates_dir = templates_dir
        self.url = settings.url.get_secret_value()
        self.secret = settings.secret.get_secret_value() if settings.secret else None
        self.mask = Masker.for_url(self.url, self.secret)

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

    def send(self, batch: list[Outgoing]) -> SendResult:
        try:
            response = post_json(
                self.url, self.message(batch), self.settings.timeout.total_seconds()
            )
        except requests.RequestException as exc:
            return request_failure(exc, self.mask)
        verdict = classify_http(response, self.mask)
        if verdict is not None:
            return verdict
        return classify_code(json_body(response), self.mask(response.text[:1000]))
