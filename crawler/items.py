"""The item every spider yields: one post as it would be stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PostItem:
    """A thread, floor, 楼中楼 comment, article or complaint.

    ``url`` is canonical (a floor's is its thread's URL plus ``#floor-<id>``). ``published_at`` is
    naive UTC or None (unknown; the store uses the fetch time). An ``engagement_only`` item
    refreshes the replies/views of a known post without re-fetching it.
    """

    url: str
    source: str
    title: str = ""
    content: str = ""
    author: str | None = None
    published_at: datetime | None = None
    kind: str = "post"
    thread_url: str | None = None
    parent_url: str | None = None
    floor: int | None = None
    replies: int | None = None
    views: int | None = None
    likes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    engagement_only: bool = False
    # filled by the pipelines
    matched_terms: list[str] = field(default_factory=list)
    content_hash: str = ""
    story_id: int | None = None
    """An existing story this post is a near-duplicate of."""
    story_ref: str | None = None
    """The URL of an earlier post of this crawl this one is a near-duplicate of."""

    def for_output(self) -> dict[str, Any]:
        """What ``--dry-run`` prints: exactly the fields that would be stored."""
        return {
            "url": self.url,
            "kind": self.kind,
            "title": self.title,
            "text": self.content,
            "author": self.author,
            "published_at": self.published_at.isoformat() + "Z" if self.published_at else None,
            "thread": self.thread_url,
            "parent": self.parent_url,
            "floor": self.floor,
            "replies": self.replies,
            "views": self.views,
            "extra": self.extra,
            "matched_terms": self.matched_terms,
            "engagement_only": self.engagement_only,
        }
