"""Lifecycle decisions, silences and quiet hours: pure functions (no DB, no network, no config).

Modelled on Alertmanager: an alert's identity is rule + key; it notifies once when new, again
when it has grown by a step, at a repeat interval while it keeps firing, and once when resolved.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

NOTIFY_KINDS = ("new", "grown", "repeat", "resolved")


@dataclass(frozen=True, slots=True)
class AlertMemory:
    """What the store remembers of an alert's last message (the persisted notify log)."""

    firing: bool
    last_notified_at: datetime | None
    last_notified_count: int
    notified_post_ids: frozenset[int] = field(default_factory=frozenset)


def notify_kind(
    previous: AlertMemory | None,
    firing: bool,
    current: int,
    now: datetime,
    growth_step: int,
    repeat_interval: timedelta,
    post_ids: Iterable[int] = (),
    by_new_posts: bool = False,
) -> str | None:
    """Which message (if any) this evaluation should produce for one alert.

    ``by_new_posts`` (instant rules): growth means "posts not yet in any message", not a count.
    """
    was_firing = previous is not None and previous.firing
    if not firing:
        return "resolved" if was_firing else None
    if not was_firing:
        return "new"
    assert previous is not None
    if by_new_posts:
        if growth_step > 0 and set(post_ids) - previous.notified_post_ids:
            return "grown"
    elif growth_step > 0 and current >= previous.last_notified_count + growth_step:
        return "grown"
    if previous.last_notified_at is None or now - previous.last_notified_at >= repeat_interval:
        return "repeat"
    return None


def keeps_firing(
    condition: bool,
    was_firing: bool,
    condition_met_at: datetime | None,
    now: datetime,
    keep_firing_for: timedelta,
) -> bool:
    """Whether an alert counts as firing now (Prometheus's ``keep_firing_for``).

    A firing alert whose condition lapses stays firing until the condition has been false for
    ``keep_firing_for``: a count hovering around its threshold then sends one alert and one
    "resolved", not a resolved/new pair every few minutes — the flapping that makes a PR group
    mute the robot.
    """
    if condition:
        return True
    if not was_firing or condition_met_at is None:
        return False
    return now - condition_met_at < keep_firing_for


def silence_matches(matchers: Mapping[str, str], rule: str, key: str, text: str) -> bool:
    """A silence matches when every matcher it has matches.

    ``rule`` and ``key`` are shell-style patterns (``fees-*``); ``text`` is a case-insensitive
    substring of the alert's summary and top-post titles. A silence without matchers matches
    nothing (muting everything by accident is worse than one extra message).
    """
    checks = {k: v for k, v in matchers.items() if v not in (None, "")}
    if not checks:
        return False
    if "rule" in checks and not fnmatch.fnmatchcase(rule, checks["rule"]):
        return False
    if "key" in checks and not fnmatch.fnmatchcase(key, checks["key"]):
        return False
    return not ("text" in checks and checks["text"].casefold() not in text.casefold())


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether ``local`` falls in [start, end); a span past midnight (22:00–08:00) wraps."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now_utc: datetime, start: time, end: time, zone: str) -> datetime | None:
    """If ``now_utc`` (naive UTC) is in quiet hours, the naive-UTC moment they end; else None."""
    tz = ZoneInfo(zone)
    local = now_utc.replace(tzinfo=UTC).astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return None
    candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = candidate + timedelta(days=1)
        candidate = candidate.replace(tzinfo=None).replace(tzinfo=tz)  # re-resolve the offset
    return candidate.astimezone(UTC).replace(tzinfo=None)


SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}


def severe_enough(severity: str | None, at_least: str | None) -> bool:
    """Whether an alert of ``severity`` passes a ``let_through`` level."""
    if at_least is None or severity is None:
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[at_least]
