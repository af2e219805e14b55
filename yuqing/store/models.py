"""The database schema: one table per concept in docs/architecture.md.

Names match the code, the CLI and the docs: ``Post``, ``Story``, ``CrawlRun``, ``SourceState``,
``Alert``, ``Notification``, ``Delivery``, ``ReviewEvent``, ``Silence``. All times are stored
as naive UTC (``utcnow()``), so SQLite and PostgreSQL compare them the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Now, as the naive UTC datetime every column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, list[str]: JSON}


REVIEW_STATUSES = ("new", "handled", "false_positive", "escalated")
LABELS = ("negative", "neutral", "positive")
SEVERITIES = ("red", "orange", "yellow")


class Story(Base):
    """A group of near-duplicate posts (reposts of one article): one story, reach = its posts."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    first_post_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    repost_count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Post(Base):
    """One collected text that mentions the institution: a thread, a floor, an article."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_published_label", "published_at", "label", "source"),
        Index("ix_posts_unscored", "analyzed_at", "id"),
        Index("ix_posts_review", "review_status", "published_at"),
        Index("ix_posts_source_published", "source", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    """Canonical URL (tracking parameters and fragment stripped): a post's identity."""
    source: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="post")
    """``post`` (a thread or article), ``reply`` (a floor), ``comment`` (楼中楼)."""
    thread_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    parent_url: Mapped[str | None] = mapped_column(String(2048))
    floor: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(256))
    published_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    """When it was published (UTC); the fetch time when the page gave none."""
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    matched_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), index=True, default="")
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    replies: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    likes: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Kind-specific fields (a complaint's object, demands and status …)."""

    # analysis (filled by the analyze step; NULL = not scored yet)
    analyzed_at: Mapped[datetime | None] = mapped_column(DateTime)
    score: Mapped[float | None] = mapped_column(Float)
    """Probability that the post is positive about the institution (0 = clearly negative)."""
    label: Mapped[str | None] = mapped_column(String(16))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str | None] = mapped_column(String(16))
    deciding_sentence: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(64))

    # review
    review_status: Mapped[str] = mapped_column(String(16), default="new")
    first_handled_at: Mapped[datetime | None] = mapped_column(DateTime)

    story: Mapped[Story | None] = relationship()


class SourceState(Base):
    """What the crawler remembers about a source between runs (health, conditional GET)."""

    __tablename__ = "source_states"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    """``ok``, ``failing``, ``blocked``, ``silent`` or ``unknown``."""
    http_cache: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """ETag / Last-Modified per URL, for conditional GET."""


class CrawlRun(Base):
    """One crawl of one source, with what it saw: the source-health record."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    """``running``, ``ok``, ``partial`` (errors but items), ``failed``, ``blocked``, ``killed``."""
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    new_posts: Mapped[int] = mapped_column(Integer, default=0)
    updated_posts: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Posts not stored, counted by reason (``no_mention``, ``duplicate``, ``excluded`` …)."""
    http_status: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Errors counted by kind (``parse``, ``timeout``, ``dns``, ``http_5xx`` …)."""
    error_samples: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """A few examples (url, kind, message) so an operator can see what broke."""
    duration_s: Mapped[float | None] = mapped_column(Float)
    pid: Mapped[int | None] = mapped_column(Integer)


class Alert(Base):
    """One firing (or resolved) alert. Identity: rule + key (the group-by values)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_key_state", "rule", "key", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(512), default="")
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="firing")
    """``firing`` or ``resolved``."""
    severity: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_evaluated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    condition_met_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The last evaluation at which the rule's condition held (``keep_firing_for`` counts from it)."""
    current_count: Mapped[int] = mapped_column(Integer, default=0)
    baseline: Mapped[float | None] = mapped_column(Float)
    last_notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_notified_count: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    post_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Notification(Base):
    """One message about an alert (new, grown, repeat, resolved): the persisted notify log."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Everything a template needs (counts, baseline, top posts), frozen at creation."""

    alert: Mapped[Alert] = relationship()


class Delivery(Base):
    """The outbox: one row per (notification, channel). Pending until sent or dead-lettered."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``sending`` (claimed), ``sent``, ``dead`` or ``suppressed`` (quiet hours)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)

    notification: Mapped[Notification] = relationship()


class Silence(Base):
    """Mute notifications that match (rule, key, text) until ``ends_at``."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReviewEvent(Base):
    """The audit trail: every review-status change, who made it, when, from what to what."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(128))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class ConsoleUser(Base):
    """A web-console login (password stored as a salted scrypt hash)."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
