"""The SQL the engine needs: time-bucketed counts, top posts, source health.

Counts are one ``GROUP BY bucket, key`` query over ``posts`` bounded by ``published_at``, so
the index ``ix_posts_published_label (published_at, label, source)`` serves it and one
evaluation touches only the rows of its windows, never the whole table. Buckets are computed
from epoch seconds in SQL (SQLite ``strftime('%s')``, PostgreSQL ``extract(epoch)``); both read
the naive-UTC column the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from yuqing.settings.alerting import RuleFilter
from yuqing.store.models import Post, SourceState, Story

EPOCH = datetime(1970, 1, 1)
SEVERITY_ORDER = {"red": 0, "orange": 1, "yellow": 2}


@dataclass(frozen=True, slots=True)
class Key:
    """One group-by key: its labels and the stored string (values joined by ``|``)."""

    labels: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        return "|".join(value for _, value in self.labels)

    def as_dict(self) -> dict[str, str]:
        return dict(self.labels)


def epoch_seconds(moment: datetime) -> int:
    return int((moment.replace(tzinfo=None) - EPOCH).total_seconds())


def _json_list_contains(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """``column`` (a JSON list of strings) contains any of ``values``.

    A LIKE on the JSON text works the same on SQLite and PostgreSQL; each value is matched as a
    whole JSON string (quotes included), in both its ASCII-escaped and its raw UTF-8 spelling.
    """
    text_col = cast(column, String)
    clauses = []
    for value in values:
        for spelling in {json.dumps(value), json.dumps(value, ensure_ascii=False)}:
            escaped = spelling.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(text_col.like(f"%{escaped}%", escape="\\"))
    return or_(*clauses) if clauses else false()


def filter_clauses(rule_filter: RuleFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if rule_filter.label:
        clauses.append(Post.label == rule_filter.label)
    if rule_filter.sources:
        clauses.append(Post.source.in_(rule_filter.sources))
    if rule_filter.severity:
        clauses.append(Post.severity.in_(rule_filter.severity))
    if rule_filter.categories:
        clauses.append(_json_list_contains(Post.categories, rule_filter.categories))
    if rule_filter.terms:
        clauses.append(_json_list_contains(Post.matched_terms, rule_filter.terms))
    return clauses


def key_clauses(labels: dict[str, str]) -> list[ColumnElement[bool]]:
    """Restrict to the posts of one key (for top posts)."""
    clauses: list[ColumnElement[bool]] = []
    for name, value in labels.items():
        if name == "source":
            clauses.append(Post.source == value)
        elif name == "severity":
            clauses.append(Post.severity.is_(None) if value == "none" else Post.severity == value)
        elif name == "category":
            clauses.append(_json_list_contains(Post.categories, [value]))
    return clauses


def _bucket_expr(session: Session, start_s: int, width_s: int) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.floor(func.extract("epoch", Post.published_at))
        return cast(func.floor((seconds - start_s) / width_s), Integer)
    seconds = cast(func.strftime("%s", Post.published_at), Integer)
    return (seconds - literal(start_s)) / literal(width_s)  # integer division in SQLite


def _category_values(session: Session) -> Any:
    """A table-valued function giving one row per category of a post (for group_by category)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(Post.categories).table_valued("value").lateral()
    return func.json_each(Post.categories).table_valued("value")


def window_counts(
    session: Session,
    rule_filter: RuleFilter,
    group_by: Sequence[str],
    now: datetime,
    width: timedelta,
    windows: int,
) -> dict[Key, list[int]]:
    """Posts per key in ``windows`` consecutive windows ending at ``now`` (oldest first).

    The last element is the current window ``[now - width, now)``.
    """
    width_s = max(1, int(width.total_seconds()))
    start = now - timedelta(seconds=width_s * windows)
    start_s = epoch_seconds(start)
    bucket = _bucket_expr(session, start_s, width_s).label("bucket")
    key_columns, joins = _key_columns(session, group_by)
    query = select(bucket, *key_columns, func.count().label("n")).select_from(Post)
    for joined in joins:
        query = query.join(joined, true())
    query = query.where(
        Post.published_at >= start, Post.published_at < now, *filter_clauses(rule_filter)
    )
    query = query.group_by(bucket, *key_columns)
    result: dict[Key, list[int]] = {}
    for row in session.execute(query):
        index = min(max(int(row.bucket), 0), windows - 1)
        labels = tuple((name, str(getattr(row, f"k_{name}"))) for name in group_by)
        result.setdefault(Key(labels), [0] * windows)[index] += int(row.n)
    return result


def window_counts_at(
    session: Session,
    rule_filter: RuleFilter,
    group_by: Sequence[str],
    starts: Sequence[datetime],
    width: timedelta,
) -> dict[Key, list[int]]:
    """Posts per key in the windows ``[start, start + width)`` for each start (in that order).

    For seasonal baselines (the same hour on each of the last 7 days): one query whose WHERE is
    an OR of the index ranges, so only those windows' rows are read, never the days between.
    """
    ranges = [(start, start + width) for start in starts]
    bucket = case(
        *[
            (and_(Post.published_at >= a, Post.published_at < b), i)
            for i, (a, b) in enumerate(ranges)
        ],
        else_=-1,
    ).label("bucket")
    key_columns, joins = _key_columns(session, group_by)
    query = select(bucket, *key_columns, func.count().label("n")).select_from(Post)
    for joined in joins:
        query = query.join(joined, true())
    query = query.where(
        or_(*[and_(Post.published_at >= a, Post.published_at < b) for a, b in ranges]),
        *filter_clauses(rule_filter),
    )
    query = query.group_by(bucket, *key_columns)
    result: dict[Key, list[int]] = {}
    for row in session.execute(query):
        if int(row.bucket) < 0:
            continue
        labels = tuple((name, str(getattr(row, f"k_{name}"))) for name in group_by)
        result.setdefault(Key(labels), [0] * len(ranges))[int(row.bucket)] += int(row.n)
    return result


def _key_columns(session: Session, group_by: Sequence[str]) -> tuple[list[Any], list[Any]]:
    key_columns: list[Any] = []
    joins: list[Any] = []
    for name in group_by:
        if name == "source":
            key_columns.append(Post.source.label("k_source"))
        elif name == "severity":
            key_columns.append(func.coalesce(Post.severity, "none").label("k_severity"))
        elif name == "category":
            values = _category_values(session)
            joins.append(values)
            key_columns.append(values.c.value.label("k_category"))
    return key_columns, joins


def history_start(session: Session, rule_filter: RuleFilter, now: datetime) -> datetime | None:
    """The oldest stored post the rule could count (any label): where its baseline begins."""
    query = select(func.min(Post.published_at)).where(Post.published_at < now)
    if rule_filter.sources:
        query = query.where(Post.source.in_(rule_filter.sources))
    return session.execute(query).scalar()


def source_history_start(session: Session, source: str, now: datetime) -> datetime | None:
    """The oldest stored post of one source: where that source's own baseline begins (an index
    seek on ``(source, published_at)``)."""
    query = select(func.min(Post.published_at)).where(
        Post.source == source, Post.published_at < now
    )
    return session.execute(query).scalar()


def post_ids(
    session: Session,
    rule_filter: RuleFilter,
    labels: dict[str, str],
    start: datetime,
    end: datetime,
    limit: int = 200,
) -> list[int]:
    query = (
        select(Post.id)
        .where(
            Post.published_at >= start,
            Post.published_at < end,
            *filter_clauses(rule_filter),
            *key_clauses(labels),
        )
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def top_posts(
    session: Session,
    rule_filter: RuleFilter,
    labels: dict[str, str],
    start: datetime,
    end: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    """The posts a message shows: most severe, then most negative, then newest."""
    query = (
        select(Post, Story.repost_count)
        .outerjoin(Story, Story.id == Post.story_id)
        .where(
            Post.published_at >= start,
            Post.published_at < end,
            *filter_clauses(rule_filter),
            *key_clauses(labels),
        )
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(max(limit * 20, 200))
    )
    rows = list(session.execute(query))
    rows.sort(
        key=lambda r: (
            SEVERITY_ORDER.get(r[0].severity or "", 3),
            r[0].score if r[0].score is not None else 1.0,
            -r[0].published_at.timestamp(),
        )
    )
    return [post_summary(post, reposts) for post, reposts in rows[:limit]]


def post_summary(post: Post, repost_count: int | None = None) -> dict[str, Any]:
    """What a message shows of a post (frozen into the notification payload)."""
    return {
        "id": post.id,
        "title": (post.title or post.content[:60] or "").strip(),
        "source": post.source,
        "url": post.url,
        "published_at": post.published_at.replace(tzinfo=UTC).isoformat(),
        "score": None if post.score is None else round(post.score, 3),
        "label": post.label,
        "categories": list(post.categories or []),
        "severity": post.severity,
        "reposts": repost_count or 1,
    }


def source_health(session: Session, sources: Sequence[str]) -> list[SourceState]:
    query = select(SourceState)
    if sources:
        query = query.where(SourceState.source.in_(sources))
    return list(session.scalars(query))


def full_scan_count(
    session: Session, rule_filter: RuleFilter, now: datetime, width: timedelta, windows: int
) -> list[int]:
    """The naive way (load every post, bucket in Python): only for the benchmark's comparison."""
    start = now - width * windows
    counts = [0] * windows
    query = select(Post.published_at, Post.label, Post.source, Post.severity, Post.categories)
    for published, label, source, severity, categories in session.execute(query):
        if published < start or published >= now:
            continue
        if rule_filter.label and label != rule_filter.label:
            continue
        if rule_filter.sources and source not in rule_filter.sources:
            continue
        if rule_filter.severity and severity not in rule_filter.severity:
            continue
        if rule_filter.categories and not set(categories or []) & set(rule_filter.categories):
            continue
        counts[int((published - start) / width)] += 1
    return counts


__all__ = [
    "Key",
    "filter_clauses",
    "full_scan_count",
    "history_start",
    "source_history_start",
    "post_ids",
    "source_health",
    "top_posts",
    "window_counts",
]
