"""The console's list query: ``yuqing.review.flagged_query`` plus the filters only the console
offers (severity, category) and pagination. Review logic itself stays in ``yuqing.review``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session

from yuqing.review import ListFilter, flagged_query
from yuqing.store.models import Post

PER_PAGE = 50


@dataclass(frozen=True)
class ConsoleFilter:
    status: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    severity: str | None = None
    category: str | None = None
    label: str | None = "negative"
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _query(flt: ConsoleFilter) -> Select[tuple[Post]]:
    query = flagged_query(
        ListFilter(
            status=flt.status,
            source=flt.source,
            since=flt.since,
            until=flt.until,
            label=flt.label,
            limit=flt.per_page,
        )
    )
    if flt.severity:
        query = query.where(Post.severity == flt.severity)
    if flt.category:
        # categories is a JSON list on both backends; match the quoted id as it is serialised.
        needle = (
            json.dumps(flt.category).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        )
        query = query.where(cast(Post.categories, String).like(f"%{needle}%", escape="\\"))
    return query


def list_page(session: Session, flt: ConsoleFilter) -> Page:
    """One page of flagged posts, newest first, and how many match in all."""
    query = _query(flt)
    total = (
        session.scalar(
            select(func.count()).select_from(query.limit(None).order_by(None).subquery())
        )
        or 0
    )
    page = max(1, flt.page)
    posts = list(session.scalars(query.offset((page - 1) * flt.per_page)))
    return Page(posts, total, page, flt.per_page)


def sources(session: Session) -> list[str]:
    """Source names that have posts, for the filter menu (``posts.source`` is indexed)."""
    return list(session.scalars(select(Post.source).distinct().order_by(Post.source)))
