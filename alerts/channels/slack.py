"""Slack incoming webhook: ``text`` (notification fallback) plus ``blocks`` of mrkdwn sections.

Slack answers ``200 ok`` on success and a 4xx/5xx with a plain-text reason otherwise
(``invalid_payload``, ``no_service``, ``channel_is_archived`` …: dead; 429 with
``Retry-After`` and 5xx: retry). A section's text is limited to 3,000 characters and a message
to 50 blocks, so long text is split over sections and cut beyond that.
"""

from __future__ import annotations

from typing import Any

import requests

from alerts.channels.base import HttpChannel, Outgoing, SendResult
from alerts.render import plain_title, render

SECTION_CHARS = 3000
MAX_BLOCKS = 50


def _sections(text: str) -> list[dict[str, Any]]:
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > SECTION_CHARS:
            chunks.append(current) if current else None
            current = ""
            chunks.append(line[:SECTION_CHARS])
            line = line[SECTION_CHARS:]
        if len(current) + len(line) > SECTION_CHARS:
            chunks.append(current)
            current = ""
        current += line
    if current.strip():
        chunks.append(current)
    chunks = [c for c in chunks if c.strip()][: MAX_BLOCKS - 1]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


class SlackChannel(HttpChannel):
    def message(self, batch: list[Outgoing]) -> dict[str, Any]:
        payloads = [i.payload for i in batch]
        lang = self.settings.language
        title = plain_title(payloads[0], lang, self.templates_dir)
        if len(payloads) > 1:
            title += f" 等 {len(payloads)} 条" if lang == "zh" else f" (+{len(payloads) - 1})"
        text = render("slack.txt.j2", payloads, lang, self.templates_dir)
        header = {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
        return {"text": title, "blocks": [header, *_sections(text)]}

    def verdict(self, response: requests.Response) -> SendResult:
        """Slack answers a plain ``ok``; anything else in a 2xx is not a delivery."""
        text = self.mask(response.text[:500])
        if text.strip() != "ok":
            return SendResult.failure(f"unexpected answer: {text[:200]}", False, text)
        return SendResult.success(text, response.status_code)
