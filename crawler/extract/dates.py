"""Chinese web dates → naive UTC.

Pages say ``刚刚``, ``5分钟前``, ``昨天 10:20``, ``11-28 09:30`` (no year), ``2026年11月28日``,
RFC 822 in feeds, ISO 8601 in APIs, Unix seconds or milliseconds in JSON. A time without a zone is
Asia/Shanghai. A date that cannot be (``2026-13-45``) or lies more than a day in the future
gives ``None``; the caller then uses the fetch time and counts the bad date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_FUTURE_SLACK = timedelta(days=1)
_NUM = r"(\d{1,2})"
_TIME = r"(?:\s*(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?)?"
_ABSOLUTE = re.compile(
    r"(\d{4})\s*[-/.年]\s*" + _NUM + r"\s*[-/.月]\s*" + _NUM + r"\s*日?(?:\s*|T)" + _TIME
)
_NO_YEAR = re.compile(_NUM + r"\s*[-/月]\s*" + _NUM + r"\s*日?" + _TIME)
_RELATIVE = re.compile(r"(\d+|半)\s*(秒|分钟|分|小时|个小时|天|日|周|个月|月)\s*前")
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
_UNIT_SECONDS = {
    "秒": 1,
    "分钟": 60,
    "分": 60,
    "小时": 3600,
    "个小时": 3600,
    "天": 86400,
    "日": 86400,
    "周": 604800,
    "个月": 2592000,
    "月": 2592000,
}


def to_utc_naive(moment: datetime) -> datetime:
    """Aware → UTC naive; naive is taken as Asia/Shanghai."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC).replace(tzinfo=None)


def parse_datetime(value: object, now: datetime | None = None) -> datetime | None:
    """Naive UTC for a date as pages write it, or None when there is none or it is impossible.

    ``now`` is naive UTC (the crawl's clock); relative dates count back from it.
    """
    now_utc = now or datetime.now(UTC).replace(tzinfo=None)
    result = _parse(value, now_utc)
    if result is None or result > now_utc + _FUTURE_SLACK or result.year < 1990:
        return None
    return result


def _parse(value: object, now_utc: datetime) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_timestamp(float(value))
    text = str(value).strip().replace("\u3000", " ")
    if not text:
        return None
    if re.fullmatch(r"\d{10}(\d{3})?(\.\d+)?", text):
        return _from_timestamp(float(text))
    local_now = now_utc.replace(tzinfo=UTC).astimezone(SHANGHAI)
    for parser in (_iso, _rfc822, _absolute, _relative, _day_word, _no_year):
        try:
            result = parser(text, local_now)
        except (ValueError, OverflowError):
            return None
        if result is not None:
            return to_utc_naive(result)
    return None


def _from_timestamp(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None


def _iso(text: str, _now: datetime) -> datetime | None:
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", text
    ):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc822(text: str, _now: datetime) -> datetime | None:
    if not re.match(r"^([A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise ValueError(text) from None


def _clock(match: re.Match[str], first: int) -> tuple[int, int, int]:
    hour, minute, second = (match.group(first + i) for i in range(3))
    return int(hour or 0), int(minute or 0), int(second or 0)


def _absolute(text: str, _now: datetime) -> datetime | None:
    match = _ABSOLUTE.search(text)
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    return datetime(year, month, day, *_clock(match, 4))


def _relative(text: str, now: datetime) -> datetime | None:
    if "刚刚" in text or "刚才" in text:
        return now.replace(tzinfo=None)
    match = _RELATIVE.search(text)
    if not match:
        return None
    amount = 0.5 if match.group(1) == "半" else int(match.group(1))
    return now.replace(tzinfo=None) - timedelta(seconds=amount * _UNIT_SECONDS[match.group(2)])


def _day_word(text: str, now: datetime) -> datetime | None:
    for word, days_back in _DAY_WORDS.items():
        if text.startswith(word):
            match = re.search(r"(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2}))?", text)
            day = (now - timedelta(days=days_back)).date()
            hour, minute, second = (int(g or 0) for g in match.groups()) if match else (0, 0, 0)
            return datetime(day.year, day.month, day.day, hour, minute, second)
    return None


def _no_year(text: str, now: datetime) -> datetime | None:
    match = _NO_YEAR.fullmatch(text.strip()) or _NO_YEAR.match(text)
    if not match:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    candidate = datetime(now.year, month, day, *_clock(match, 3))
    if candidate > now.replace(tzinfo=None) + _FUTURE_SLACK:
        candidate = candidate.replace(year=now.year - 1)
    return candidate
