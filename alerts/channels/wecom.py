"""WeCom (企业微信) group robot, markdown messages.

The URL carries the robot ``key`` (a secret). ``markdown.content`` must be at most 4,096 UTF-8
bytes (else errcode 40058), so the text is cut on a character boundary with a note. Refusals
come as HTTP 200 with ``errcode``: 45009 = over the 20-messages-a-minute limit (retry later),
93000 = invalid webhook URL (dead), -1 = system busy (retry).
"""

from __future__ import annotations

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
from alerts.render import render

MAX_CONTENT_BYTES = 4096
RETRYABLE_CODES = {-1, 45009, 45033}


def classify_errcode(body: dict[str, Any] | None, text: str) -> SendResult:
    if body is None:
        return SendResult.failure(f"unreadable answer: {text[:200]}", True, text)
    code = body.get("errcode", 0)
    if code == 0:
        return SendResult.success(text)
    retry_after = 60.0 if code == 45009 else None
    return SendResult.failure(
        f"errcode {code}: {body.get('errmsg', '')[:200]}",
        code in RETRYABLE_CODES,
        text,
        retry_after,
    )


class WeComChannel:
    def __init__(self, settings: Any, templates_dir: str | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.max_batch = settings.max_alerts_per_message
        self.templates_dir = templates_dir
        self.url = settings.url.get_secret_value()
        self.mask = Masker.for_url(self.url)

    def message(self, batch: list[Outgoing]) -> dict[str, Any]:
        text = render(
            "markdown.md.j2", [i.payload for i in batch], self.settings.language, self.templates_dir
        )
        if self.settings.mentioned_mobiles:
            text += "\n" + " ".join(f"<@{m}>" for m in self.settings.mentioned_mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {"content": truncate_utf8(text, MAX_CONTENT_BYTES)},
        }

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
        return classify_errcode(json_body(response), self.mask(response.text[:1000]))
