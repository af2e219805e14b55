"""WeCom (企业微信) group robot, markdown messages.

The URL carries the robot ``key`` (a secret). ``markdown.content`` must be at most 4,096 UTF-8
bytes (else errcode 40058), so the text is cut on a character boundary with a note. Refusals
come as HTTP 200 with ``errcode``: 45009 = over the 20-messages-a-minute limit (retry later),
93000 = invalid webhook URL (dead), -1 = system busy (retry).
"""

from __future__ import annotations

from typing import Any

from alerts.channels.base import (
    Outgoing,
    RobotChannel,
    truncate_utf8,
)
from alerts.render import render

MAX_CONTENT_BYTES = 4096
RETRYABLE_CODES = frozenset({-1, 45009, 45033})
RATE_LIMIT_CODES = frozenset({45009})


class WeComChannel(RobotChannel):
    retryable_codes = RETRYABLE_CODES
    rate_limit_codes = RATE_LIMIT_CODES

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
