"""How stored values are named and shown to people — one copy for the CLI, the console and the
demo: Chinese names of statuses, severities and labels, Beijing time, and hostile post text
stripped of the control characters that can disguise it (ANSI escapes, bidi overrides)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
STATUS_NAMES = {
    "new": "待处理",
    "handled": "已处理",
    "false_positive": "误报",
    "escalated": "已升级",
}
SEVERITY_NAMES = {"red": "红", "orange": "橙", "yellow": "黄"}
LABEL_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def local_time(value: datetime | None) -> str:
    """Naive UTC from the database as Beijing time."""
    if value is None:
        return "-"
    return value.replace(tzinfo=UTC).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def clean(text: str | None) -> str:
    """Drop control and bidi-override characters; escaping for HTML is the template's job."""
    return _CONTROL.sub("", text or "")
