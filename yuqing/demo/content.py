"""The demo site's posts: loaded from ``posts.yaml`` (package data) and validated once.

The posts are fiction about 北京中鼎经纬实业发展有限公司. Each one carries what a correct
pipeline should conclude about it (``about_us``, ``expected_label``, ``causes``), so tests of
mention matching, scoring and alerting can compare against it instead of guessing. Times are
relative (``age`` in minutes), because the alert engine counts posts per window: the site turns
them into absolute times when it starts or when the burst is released.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "CAUSES",
    "DemoPost",
    "Reply",
    "assign_ids",
    "load_posts",
]

FORUM_FIRST_ID = 58201
"""Thread ids start here, like a forum that has been running for a while."""
NEWS_FIRST_ID = 7301

Cause = Literal[
    "fees",
    "contract",
    "repayment",
    "collection",
    "credit_report",
    "service",
    "disclosure",
    "app_failure",
    "scam",
    "regulator",
    "legal",
    "media",
    "group_action",
]
CAUSES: tuple[str, ...] = get_args(Cause)
"""Complaint categories used in ``causes``: the ids of the shipped taxonomy
(``sentiment/taxonomy.yaml``), so a post's expected categories compare directly."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reply(_Frozen):
    """A reply floor (楼) under a forum thread. Replies never name the institution, so a
    thread's verdict depends on its first floor only."""

    author: str = Field(min_length=1)
    text: str = Field(min_length=1)


class DemoPost(_Frozen):
    """One thread (forum) or article (news), with the verdict a correct pipeline reaches."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    section: Literal["forum", "news"]
    kind: Literal["complaint", "question", "praise", "news", "lookalike", "unrelated"]
    age: int = Field(ge=0, le=10 * 24 * 60)
    """Minutes before the site started (baseline) or before the burst was released (burst)."""
    burst: bool = False
    title: str = Field(min_length=1)
    author: str = Field(min_length=1)
    content: str = Field(min_length=40, max_length=400)
    replies: tuple[Reply, ...] = ()
    source: str | None = None
    """The news outlet (news only)."""
    about_us: bool
    expected_label: Literal["negative", "neutral", "positive"]
    causes: tuple[Cause, ...] = ()
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DemoPost:
        if self.burst and self.section != "forum":
            raise ValueError("burst posts are forum threads")
        if self.burst and not (self.about_us and self.expected_label == "negative"):
            raise ValueError("burst posts are negative complaints about the institution")
        if self.section == "news" and self.replies:
            raise ValueError("news articles have no replies")
        return self

    @property
    def text(self) -> str:
        """Title and body as one text: what mention matching and scoring look at."""
        return f"{self.title}\n{self.content}"

    @property
    def paragraphs(self) -> list[str]:
        """The body split at blank lines, as the site renders it (one ``<p>`` each)."""
        return [p.strip() for p in self.content.split("\n\n") if p.strip()]


def load_posts(path: str | Path | None = None) -> tuple[DemoPost, ...]:
    """All posts, baseline and burst. Raises ``ValueError`` naming the bad post and field."""
    if path is None:
        return _packaged_posts()
    return _parse(Path(path).read_text(encoding="utf-8"), str(path))


@cache
def _packaged_posts() -> tuple[DemoPost, ...]:
    text = resources.files("yuqing.demo").joinpath("posts.yaml").read_text(encoding="utf-8")
    return _parse(text, "yuqing/demo/posts.yaml")


def _parse(text: str, origin: str) -> tuple[DemoPost, ...]:
    raw = yaml.safe_load(text) or {}
    entries = raw.get("posts") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{origin}: expected a top-level 'posts:' list")
    posts: list[DemoPost] = []
    for index, entry in enumerate(entries):
        where = entry.get("slug", index) if isinstance(entry, dict) else index
        try:
            posts.append(DemoPost.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in first["loc"]) or "(post)"
            raise ValueError(f"{origin}: post {where}: {field}: {first['msg']}") from None
    slugs = [post.slug for post in posts]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise ValueError(f"{origin}: duplicate slugs: {', '.join(duplicates)}")
    return tuple(posts)


def assign_ids(posts: tuple[DemoPost, ...] | list[DemoPost]) -> dict[str, int]:
    """Numeric ids for the URLs, increasing with publication order like a real forum's.

    Burst threads come last (they are the newest). Ids depend only on the data, so a post's URL
    is the same on every run and before and after the burst.
    """

    def order(post: DemoPost) -> tuple[bool, int, str]:
        # Oldest first: baseline by descending age, then the burst by descending age.
        return (post.burst, -post.age, post.slug)

    ids: dict[str, int] = {}
    for section, first in (("forum", FORUM_FIRST_ID), ("news", NEWS_FIRST_ID)):
        chosen = sorted((p for p in posts if p.section == section), key=order)
        for offset, post in enumerate(chosen):
            ids[post.slug] = first + offset
    return ids
