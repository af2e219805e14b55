"""Config of alert rules, channels, quiet hours and delivery. Owned by the alerts work.

Secrets (robot secrets, SMTP passwords, and webhook URLs that carry an access token) are
``SecretStr`` so that ``repr``, logs, ``yuqing status`` and the CLI show them masked.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, HttpUrl, SecretStr, field_validator, model_validator

from yuqing.settings._base import Duration, StrictModel

NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
Severity = Literal["red", "orange", "yellow"]
SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}
"""Higher is more severe; used by quiet hours (``let_through``) and instant rules."""


def _check_secret_url(value: SecretStr) -> SecretStr:
    """A robot URL is secret (it carries the token) but must still be a valid http(s) URL."""
    raw = value.get_secret_value()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


SecretUrl = Annotated[SecretStr, AfterValidator(_check_secret_url)]


class RuleFilter(StrictModel):
    """Which posts a rule counts. Every list is "any of"; an empty list means "no filter"."""

    label: Literal["negative", "neutral", "positive"] | None = "negative"
    categories: list[str] = []
    sources: list[str] = []
    severity: list[Severity] = []
    terms: list[str] = []
    """Matched institution terms (``posts.matched_terms``): e.g. only posts naming a subsidiary."""


class RuleBase(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    enabled: bool = True
    filter: RuleFilter = RuleFilter()
    group_by: list[Literal["source", "category", "severity"]] = []
    channels: list[str] = Field(min_length=1)
    repeat_interval: Duration = timedelta(hours=4)
    keep_firing_for: Duration = timedelta(minutes=15)
    """After the condition lapses, stay firing this long before "resolved" (no flapping)."""
    """While firing, say "still elevated" at most this often."""
    growth_step: int = Field(default=5, ge=0)
    """Notify again when the count has grown by this much since the last message (0 = never)."""
    severity: Severity | None = None
    """The alert's own severity (quiet hours may let the most severe through)."""
    max_posts: int = Field(default=5, ge=1, le=50)
    """How many top posts one message lists."""


class SpikeRule(RuleBase):
    """Current window against the mean of ``baseline_windows`` previous windows."""

    type: Literal["spike"]
    window: Duration = timedelta(hours=1)
    baseline_windows: int = Field(default=6, ge=1, le=1000)
    method: Literal["ratio", "poisson", "sigma", "ratio_and_poisson"] = "ratio_and_poisson"
    ratio: float = Field(default=3.0, gt=1)
    p_value: float = Field(default=0.001, gt=0, lt=1)
    """Poisson: fire when P(X ≥ current | baseline mean) is below this."""
    sigmas: float = Field(default=3.0, gt=0)
    min_current: int = Field(default=3, ge=1)
    min_baseline: float = Field(default=0.0, ge=0)
    """Mean per window; with 0 a quiet baseline still needs ``min_current`` and the ratio."""
    baseline_floor: float = Field(default=0.5, gt=0)
    """A baseline mean below this counts as this (so 0 → 3 is judged against 0.5, not 0)."""
    warmup_windows: int | None = Field(default=None, ge=0)
    """The stored history must cover this many baseline windows first (default: all)."""
    seasonality: Literal["none", "daily", "weekly"] = "none"
    """Also compare with the same window on previous days (weeks); the baseline is the larger
    mean, so the morning rise after a quiet night is not a spike."""
    seasonal_periods: int = Field(default=7, ge=1, le=60)

    @model_validator(mode="after")
    def _window_fits_season(self) -> SpikeRule:
        if self.seasonality != "none":
            period = 86400 if self.seasonality == "daily" else 7 * 86400
            if self.window.total_seconds() > period:
                raise ValueError(f"window is longer than the {self.seasonality} season")
        return self


class ThresholdRule(RuleBase):
    type: Literal["threshold"]
    window: Duration = timedelta(hours=1)
    count: int = Field(ge=1)


class InstantRule(RuleBase):
    """One post matching the filter is enough (e.g. severity 红). New posts notify at once."""

    type: Literal["instant"]
    window: Duration = timedelta(hours=1)
    """How far back a new post still counts (a little more than the crawl interval)."""
    growth_step: int = Field(default=1, ge=0)


class FlatlineRule(RuleBase):
    """Source health: a source failing N runs in a row, blocked, or silent for too long."""

    type: Literal["flatline"]
    keep_firing_for: Duration = timedelta(0)
    """A source that works again is healthy at once."""
    filter: RuleFilter = RuleFilter(label=None)
    group_by: list[Literal["source", "category", "severity"]] = ["source"]
    max_failures: int = Field(default=3, ge=1)
    silent_for: Duration | None = timedelta(hours=24)
    """No successful crawl for this long."""
    statuses: list[Literal["failing", "blocked", "silent"]] = ["failing", "blocked", "silent"]
    growth_step: int = Field(default=0, ge=0)
    window: Duration = timedelta(hours=6)
    baseline_windows: int = Field(default=4, ge=1, le=1000)
    min_baseline: float | None = Field(default=None, gt=0)
    """Also fire when a source that stored at least this many posts per ``window`` on average
    over the previous ``baseline_windows`` stored none in the current one (crawls "succeed" but
    the site changed its markup); ``null`` turns the check off."""

    @field_validator("group_by")
    @classmethod
    def _by_source(cls, value: list[str]) -> list[str]:
        if value != ["source"]:
            raise ValueError("a flatline rule is always grouped by source")
        return value


RuleSettings = Annotated[
    SpikeRule | ThresholdRule | InstantRule | FlatlineRule, Field(discriminator="type")
]
RULE_TYPES = ("spike", "threshold", "instant", "flatline")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class QuietHours(StrictModel):
    """Hold messages between ``start`` and ``end`` (local time); ``end`` may be past midnight."""

    start: str
    end: str
    timezone: str = "Asia/Shanghai"
    action: Literal["defer", "drop"] = "defer"
    """``defer``: send when quiet hours end (merged); ``drop``: record as suppressed."""
    let_through: Severity | None = "red"
    """Alerts at least this severe are sent anyway (``null``: nothing is)."""

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("use HH:MM (24 h), e.g. 22:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def times(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class ChannelBase(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    timeout: Duration = timedelta(seconds=10)
    language: Literal["zh", "en"] = "zh"
    quiet_hours: QuietHours | None = None
    max_per_minute: int = Field(default=20, ge=1, le=10000)
    """Messages per minute; notifications beyond it are merged or wait (robots refuse more)."""
    max_alerts_per_message: int = Field(default=10, ge=1, le=100)


class WebhookChannel(ChannelBase):
    """Generic JSON webhook (Alertmanager-like payload, HMAC-SHA256 signature header)."""

    type: Literal["webhook"]
    url: HttpUrl
    secret: SecretStr | None = None
    headers: dict[str, str] = {}
    max_per_minute: int = Field(default=600, ge=1, le=10000)


class DingTalkChannel(ChannelBase):
    """DingTalk custom robot: ``url`` carries ``access_token``; ``secret`` enables 加签."""

    type: Literal["dingtalk"]
    url: SecretUrl
    secret: SecretStr | None = None
    at_mobiles: list[str] = []
    at_all: bool = False


class WeComChannel(ChannelBase):
    """WeCom (企业微信) group robot: ``url`` carries ``key``. Markdown content ≤ 4096 bytes."""

    type: Literal["wecom"]
    url: SecretUrl
    mentioned_mobiles: list[str] = []


class FeishuChannel(ChannelBase):
    """Feishu/Lark custom bot: ``url`` is the hook; ``secret`` enables 签名校验. Body ≤ 20 KB."""

    type: Literal["feishu"]
    url: SecretUrl
    secret: SecretStr | None = None
    max_per_minute: int = Field(default=100, ge=1, le=10000)


class SlackChannel(ChannelBase):
    """Slack incoming webhook."""

    type: Literal["slack"]
    url: SecretUrl
    max_per_minute: int = Field(default=60, ge=1, le=10000)


class EmailChannel(ChannelBase):
    """Email over SMTP (STARTTLS or implicit TLS); one message per batch to all recipients."""

    type: Literal["email"]
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    security: Literal["none", "starttls", "ssl"] = "none"
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    max_per_minute: int = Field(default=30, ge=1, le=10000)

    @model_validator(mode="after")
    def _password_with_user(self) -> EmailChannel:
        if self.password is not None and not self.username:
            raise ValueError("password given without username")
        return self


ChannelSettings = Annotated[
    WebhookChannel | DingTalkChannel | WeComChannel | FeishuChannel | SlackChannel | EmailChannel,
    Field(discriminator="type"),
]
CHANNEL_TYPES = ("webhook", "dingtalk", "wecom", "feishu", "slack", "email")


class DeliverySettings(StrictModel):
    max_attempts: int = Field(default=10, ge=1, le=1000)
    backoff_base: Duration = timedelta(seconds=30)
    backoff_max: Duration = timedelta(hours=1)
    jitter: float = Field(default=0.5, ge=0, le=1)
    """Each wait is scaled by a random factor in ``[1 - jitter, 1]`` (spreads retries)."""
    sending_lease: Duration = timedelta(minutes=2)
    """A delivery left ``sending`` longer than this (a crash mid-send) is tried again, once,
    with the same idempotency key."""
    batch_size: int = Field(default=200, ge=1, le=10000)


class AlertSettings(StrictModel):
    rules: list[RuleSettings] = []
    channels: list[ChannelSettings] = []
    delivery: DeliverySettings = DeliverySettings()
    templates_dir: str | None = None
    """A folder whose ``*.j2`` files override the shipped templates of the same name."""
    default_language: Literal["zh", "en"] = "zh"

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        raise KeyError(f"unknown channel {name!r} (known: {known})")

    def rule(self, name: str) -> RuleSettings:
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules) or "none"
        raise KeyError(f"unknown rule {name!r} (known: {known})")
