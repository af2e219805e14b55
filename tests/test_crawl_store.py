"""yuqing.store.posts: batched upserts (new vs refreshed, never duplicated), stories, crawl runs
and source health — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from crawler.items import PostItem
from yuqing.store.db import session_scope
from yuqing.store.models import CrawlRun, Post, SourceState, Story, utcnow
from yuqing.store.posts import finish_run, load_source_state, mark_killed, start_run, store_batch

pytestmark = pytest.mark.postgres


def item(n: int, **extra: Any) -> PostItem:
    fields = {
        "url": f"https://forum.example/t/{n}",
        "source": "forum",
        "title": f"中鼎经纬 {n}",
        "content": f"内容 {n}",
        "matched_terms": ["中鼎经纬"],
        "content_hash": f"h{n}",
        **extra,
    }
    return PostItem(**fields)


def _summary(status: str = "ok", items: int = 10) -> dict[str, Any]:
    return {
        "status": status,
        "pages": 3,
        "items": items,
        "new_posts": items,
        "updated_posts": 0,
        "dropped": {"no_mention": 2},
        "http_status": {"200": 3},
        "errors": {},
        "error_samples": [],
        "not_modified": 0,
    }


def test_upsert_inserts_then_refreshes_engagement(db_url: str) -> None:
    first = store_batch(db_url, [item(1, replies=3), item(2)])
    assert (first.new, first.updated) == (2, 0)
    again = store_batch(
        db_url,
        [
            item(1, replies=9, views=100),
            item(3),
            PostItem(
                url="https://forum.example/t/2", source="forum", likes=5, engagement_only=True
            ),
            PostItem(
                url="https://forum.example/unknown", source="forum", replies=1, engagement_only=True
            ),
        ],
    )
    assert (again.new, again.updated) == (1, 2)
    with session_scope(db_url) as session:
        rows = {p.url.rsplit("/", 1)[1]: p for p in session.scalars(select(Post))}
        assert len(rows) == 3
        assert (rows["1"].replies, rows["1"].views) == (9, 100)
        assert rows["1"].title == "中鼎经纬 1"  # identity and text unchanged by a re-crawl
        assert rows["2"].likes == 5 and rows["1"].matched_terms == ["中鼎经纬"]
        assert rows["1"].published_at is not None  # no date on the page: the fetch time


def test_stories_group_reposts_across_batches(db_url: str) -> None:
    first = store_batch(db_url, [item(1), item(2, story_ref="https://forum.example/t/1")])
    second = store_batch(
        db_url,
        [item(3, story_ref="https://forum.example/t/1"), item(4)],
        story_by_url=first.story_by_url,
    )
    story = first.story_by_url["https://forum.example/t/1"]
    assert first.story_by_url["https://forum.example/t/2"] == story
    assert second.story_by_url["https://forum.example/t/3"] == story
    fresh = store_batch(db_url, [item(5, story_id=story)])  # matched a stored post directly
    assert fresh.story_by_url["https://forum.example/t/5"] == story
    with session_scope(db_url) as session:
        assert session.get(Story, story).repost_count == 4
        assert session.scalar(select(func.count()).select_from(Story)) == 2


def test_crawl_run_lifecycle_and_health(db_url: str) -> None:
    run_id = start_run(db_url, "forum", pid=123)
    assert (
        finish_run(
            db_url,
            run_id,
            _summary("partial"),
            1.5,
            seen_keys=["k1"],
            http_cache={"https://f/rss": {"etag": "v1", "last_modified": ""}},
        )
        == "ok"
    )
    for _ in range(2):
        assert (
            finish_run(db_url, start_run(db_url, "forum", 1), _summary("failed", 0), 1.0)
            == "failing"
        )
    assert (
        finish_run(db_url, start_run(db_url, "forum", 1), _summary("blocked", 0), 1.0) == "blocked"
    )
    with session_scope(db_url) as session:
        state = session.get(SourceState, "forum")
        assert state.consecutive_failures == 3 and state.last_success_at is not None
        run = session.get(CrawlRun, run_id)
        assert (run.status, run.pages, run.dropped, run.duration_s) == (
            "partial",
            3,
            {"no_mention": 2},
            1.5,
        )
    memory = load_source_state(db_url, "forum")
    assert memory["seen"] == ["k1"] and memory["urls"]["https://f/rss"]["etag"] == "v1"


def test_a_source_gone_quiet_is_silent(db_url: str) -> None:
    for _ in range(3):
        finish_run(db_url, start_run(db_url, "news", 1), _summary("ok", 20), 1.0)
    assert finish_run(db_url, start_run(db_url, "news", 1), _summary("ok", 0), 1.0) == "silent"
    assert finish_run(db_url, start_run(db_url, "news", 1), _summary("ok", 15), 1.0) == "ok"


def test_mark_killed_closes_a_running_row_or_creates_one(db_url: str) -> None:
    started = utcnow() - timedelta(seconds=5)
    run_id = start_run(db_url, "forum", pid=4242, now=started)
    assert mark_killed(db_url, "forum", 4242, "timeout", started_at=started) == run_id
    other = mark_killed(db_url, "forum", 4343, "crashed before opening", started_at=utcnow())
    assert other != run_id
    shutdown = mark_killed(db_url, "feed", 1, "stopped", started_at=utcnow(), count_failure=False)
    with session_scope(db_url) as session:
        assert session.get(CrawlRun, run_id).status == "killed"
        assert session.get(CrawlRun, other).errors == {"killed": 1}
        assert session.get(CrawlRun, shutdown).status == "killed"
        assert session.get(SourceState, "forum").consecutive_failures == 2
        assert session.get(SourceState, "feed").consecutive_failures == 0
