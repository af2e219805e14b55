"""How stored values are shown to reviewers: Chinese names, Beijing time, and hostile post text
made safe. Every helper that returns ``Markup`` escapes the post's text itself first."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from yuqing.display import (  # noqa: F401 - re-exported for the templates
    LABEL_NAMES,
    LOCAL,
    SEVERITY_NAMES,
    STATUS_NAMES,
    clean,
    local_time,
)


def safe_href(url: str | None) -> str | None:
    """The URL if it is plain http(s), else None: a stored ``javascript:`` link never becomes
    clickable."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def highlight(text: str | None, terms: Iterable[str] | None) -> Markup:
    """Escaped ``text`` with each of ``terms`` wrapped in ``<mark>`` (longest term first)."""
    text = clean(text)
    wanted = sorted({t for t in (terms or []) if t}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in wanted))
    parts: list[Markup] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup("<mark>{}</mark>").format(match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
