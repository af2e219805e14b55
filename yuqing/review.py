"""Compliance review: list flagged posts, change their status with an audit trail, report
how fast complaints were first handled (the target: 90 % within 24 h).

A *flagged* post is one the analysis labelled ``negative``. The first change away from ``new``
sets ``first_handled_at``; later changes never move it, so the handling-time report measures
the first response, as compliance reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yuqing.store.models import REVIEW_STATUSES, Post, ReviewEvent, utcnow

MARKABLE = ("handled", "false_positive", "escalated", "new")


class ReviewError(ValueError):
    """A review request that cannot be applied (unknown post, unknown status)."""


@dataclass(frozen=True)
class ListFilter:
    status: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    label: str | None = "negative"
    limit: int = 50


def flagged_query(flt: ListFilter) -> Select[tuple[Post]]:
    query = select(Post)
    if flt.label:
        query = query.where(Post.label == flt.label)
    if flt.status:
        query = query.where(Post.review_status == flt.status)
    if flt.source:
        query = query.where(Post.source == flt.source)
    if flt.since:
        query = query.where(Post.published_at >= flt.since)
    if flt.until:
        query = query.where(Post.published_at < flt.until)
    return query.order_by(Post.published_at.desc(), Post.id.desc()).limit(flt.limit)


def list_flagged(session: Session, flt: ListFilter) -> list[Post]:
    return list(session.scalars(flagged_query(flt)))


def get_post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise ReviewError(f"no post with id {post_id}")
    return post


def history(session: Session, post_id: int) -> list[ReviewEvent]:
    query = select(ReviewEvent).where(ReviewEvent.post_id == post_id).order_by(ReviewEvent.id)
    return list(session.scalars(query))


def mark(
    session: Session,
    post_id: int,
    status: str,
    by: str,
    note: str = "",
    now: datetime | None = None,
) -> ReviewEvent:
    """Change a post's review status and write the audit row (who, when, from, to, note)."""
    if status not in REVIEW_STATUSES:
        raise ReviewError(f"unknown status {status!r} (use one of: {', '.join(MARKABLE)})")
    if not by.strip():
        raise ReviewError("say who you are (--by NAME)")
    now = now or utcnow()
    post = get_post(session, post_id)
    event = ReviewEvent(
        post_id=post.id,
        at=now,
        by=by.strip(),
        from_status=post.review_status,
        to_status=status,
        note=note,
    )
    if post.first_handled_at is None and status != "new":
        post.first_handled_at = now
    post.review_status = status
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class HandlingReport:
    """How fast flagged posts were first handled, counted from when yuqing first saw them."""

    flagged: int
    handled_in_target: int
    handled_late: int
    open_overdue: int
    open_in_time: int
    target: timedelta
    median_hours: float | None

    @property
    def in_target_ratio(self) -> float | None:
        """Share handled within the target among those whose deadline has passed or that were
        handled; posts still open and not yet due are not counted either way."""
        due = self.handled_in_target + self.handled_late + self.open_overdue
        return None if due == 0 else self.handled_in_target / due


def handling_report(
    session: Session,
    since: datetime,
    until: datetime | None = None,
    target: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> HandlingReport:
    now = now or utcnow()
    query = select(Post.first_seen_at, Post.first_handled_at).where(
        Post.label == "negative", Post.first_seen_at >= since
    )
    if until:
        query = query.where(Post.first_seen_at < until)
    in_target = late = overdue = open_ok = 0
    durations: list[float] = []
    rows = session.execute(query).all()
    for seen, handled in rows:
        if handled is not None:
            took = handled - seen
            durations.append(took.total_seconds() / 3600)
            if took <= target:
                in_target += 1
            else:
                late += 1
        elif now - seen > target:
            overdue += 1
        else:
            open_ok += 1
    durations.sort()
    median = durations[len(durations) // 2] if durations else None
    return HandlingReport(len(rows), in_target, late, overdue, open_ok, target, median)


def count_by_status(session: Session) -> dict[str, int]:
    query = (
        select(Post.review_status, func.count())
        .where(Post.label == "negative")
        .group_by(Post.review_status)
    )
    return {status: count for status, count in session.execute(query).all()}
