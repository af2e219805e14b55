"""Alert message text from Jinja2 templates that a user can override.

Templates live in ``alerts/templates/<lang>/``; a file of the same name in
``alerts.templates_dir`` wins. Post titles are hostile input (anyone can post on a forum):
for chat markdown, the ``md`` filter HTML-escapes them and turns markdown syntax into harmless
full-width look-alikes, so a title like ``[点我](http://evil)`` or ``<font color=red>`` shows
as text and never becomes a link or markup; ``safe_url`` keeps only http(s) links and
percent-encodes what could close a markdown link. HTML email is autoescaped.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

_MD_REPLACEMENTS = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "#": "＃",
        "|": "｜",
        "~": "～",
        "!": "！",
        "\\": "＼",
        ">": "＞",
        "<": "＜",
        "\r": " ",
        "\n": " ",
    }
)
SEVERITY_NAMES = {
    "zh": {"red": "红", "orange": "橙", "yellow": "黄"},
    "en": {"red": "red", "orange": "orange", "yellow": "yellow"},
}
KIND_NAMES = {
    "zh": {"new": "新告警", "grown": "持续增长", "repeat": "仍在高位", "resolved": "已恢复"},
    "en": {"new": "new", "grown": "growing", "repeat": "still elevated", "resolved": "resolved"},
}
LABEL_NAMES = {
    "zh": {"negative": "负面", "neutral": "中性", "positive": "正面"},
    "en": {"negative": "negative", "neutral": "neutral", "positive": "positive"},
}
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


def md(value: Any, limit: int = 120) -> str:
    """Escape hostile text for chat markdown (DingTalk, WeCom, Feishu)."""
    text = "" if value is None else str(value)
    text = text.translate(_MD_REPLACEMENTS).replace("&", "＆")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(value: Any, limit: int = 150) -> str:
    """Slack mrkdwn: escape ``&``, ``<``, ``>`` (its control characters) and markup."""
    text = "" if value is None else " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.translate(str.maketrans({"*": "∗", "_": "＿", "~": "～", "`": "｀", "|": "｜"}))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(value: Any) -> str:
    """An http(s) URL with ``()<>|`` and spaces percent-encoded; anything else becomes ``""``."""
    text = "" if value is None else str(value).strip()
    if urlsplit(text).scheme not in ("http", "https"):
        return ""
    return quote(text, safe=":/?#@!$&'*+,;=%-._~[]")


def localtime(value: Any, fmt: str = "%m-%d %H:%M") -> str:
    """An ISO timestamp (UTC) shown in China time."""
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)) if not isinstance(value, datetime) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(DISPLAY_ZONE).strftime(fmt)


def duration(seconds: Any, lang: str = "zh") -> str:
    if not seconds:
        return ""
    seconds = int(seconds)
    if seconds % 86400 == 0:
        return f"{seconds // 86400}{'天' if lang == 'zh' else 'd'}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}{'小时' if lang == 'zh' else 'h'}"
    return f"{seconds // 60}{'分钟' if lang == 'zh' else 'min'}"


@lru_cache(maxsize=8)
def environment(templates_dir: str | None = None) -> Environment:
    loaders: list[Any] = []
    if templates_dir:
        loaders.append(FileSystemLoader(str(Path(templates_dir).expanduser())))
    loaders.append(PackageLoader("alerts", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        md=md,
        slack=slack_escape,
        safe_url=safe_url,
        localtime=localtime,
        duration=duration,
        plain=lambda v: " ".join(str(v or "").split()),
    )
    return env


def render(
    template: str,
    notifications: list[dict[str, Any]],
    language: str = "zh",
    templates_dir: str | None = None,
    **extra: Any,
) -> str:
    """Render ``<language>/<template>`` (user override first) for a batch of notifications."""
    env = environment(templates_dir)
    names = {
        "severity_names": SEVERITY_NAMES[language],
        "kind_names": KIND_NAMES[language],
        "label_names": LABEL_NAMES[language],
    }
    tmpl = env.get_template(f"{language}/{template}")
    return tmpl.render(notifications=notifications, lang=language, **names, **extra).strip()


def plain_title(
    notification: dict[str, Any], language: str = "zh", templates_dir: str | None = None
) -> str:
    return render("title.txt.j2", [notification], language, templates_dir, n=notification)


__all__ = ["environment", "html", "md", "render", "safe_url", "slack_escape"]
