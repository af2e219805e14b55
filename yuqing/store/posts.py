"""Writing what a crawl found: posts (batched upserts), stories, crawl runs, source state.

* Posts are inserted in batches with ``INSERT … ON CONFLICT (url) DO NOTHING RETURNING`` (SQLite
  and PostgreSQL alike); a post already stored gets its engagement (replies, views, likes)
  refreshed and is never duplicated. Per-item commits would cost a third of the crawl rate.
* Every new post belongs to a ``Story``: its own, or the story of the near-duplicate it reposts
  (found by the crawler's dedupe pipeline). ``repost_count`` is the story's reach.
* ``SourceState.http_cache`` holds ``{"urls": {url: {etag, last_modified}}, "seen": [key …]}``:
  the conditional-GET validators and the keys of the URLs recently seen (stored or dropped), so
  an incremental crawl stops at a list page of posts it already knows.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.store.db import session_scope
from yuqing.store.models import CrawlRun, Post, SourceState, Story, utcnow

SEEN_LIMIT = 5000
"""URL keys remembered per source for incremental crawls (most recent first)."""
SILENT_MIN_TYPICAL = 5
"""A source whose recent runs typically brought ≥ this many items and now brings 0 is ``silent``."""
_CHUNK = 500


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    story_by_url: dict[str, int] = field(default_factory=dict)


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Post)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def stored_urls(db_url: str, urls: Iterable[str]) -> set[str]:
    """Which of ``urls`` are stored posts."""
    urls = list(dict.fromkeys(urls))
    found: set[str] = set()
    if not urls:
        return found
    with session_scope(db_url) as session:
        for chunk in _chunks(urls):
            found.update(session.scalars(select(Post.url).where(Post.url.in_(chunk))))
    return found


def stored_replies(db_url: str, urls: Iterable[str]) -> dict[str, int | None]:
    """The reply counts stored for these posts (a thread whose list count grew has new floors)."""
    urls = list(dict.fromkeys(urls))
    found: dict[str, int | None] = {}
    with session_scope(db_url) as session:
        for chunk in _chunks(urls):
            rows = session.execute(select(Post.url, Post.replies).where(Post.url.in_(chunk)))
            found.update((url, replies) for url, replies in rows)
    return found


def _story_of(session: Session, urls: Iterable[str]) -> dict[str, int]:
    urls = [u for u in dict.fromkeys(urls) if u]
    result: dict[str, int] = {}
    for chunk in _chunks(urls):
        for url, story_id in session.execute(
            select(Post.url, Post.story_id).where(Post.url.in_(chunk))
        ):
            if story_id is not None:
                result[url] = story_id
    return result


def _post_row(item: Any, now: datetime, story_id: int | None) -> dict[str, Any]:
    return {
        "url": item.url,
        "source": item.source,
        "kind": item.kind,
        "thread_url": item.thread_url,
        "parent_url": item.parent_url,
        "floor": item.floor,
        "title": item.title,
        "content": item.content,
        "author": (item.author or None) and item.author[:256],
        "published_at": item.published_at or now,
        "fetched_at": now,
        "first_seen_at": now,
        "matched_terms": list(item.matched_terms),
        "content_hash": item.content_hash,
        "story_id": story_id,
        "replies": item.replies,
        "views": item.views,
        "likes": item.likes,
        "extra": dict(item.extra),
        "review_status": "new",
        "categories": [],
    }


def store_batch(
    db_url: str,
    items: Sequence[Any],
    story_by_url: dict[str, int] | None = None,
    now: datetime | None = None,
) -> StoreResult:
    """Store a batch of ``PostItem``s in one transaction. New posts are inserted with their story;
    known ones get their engagement refreshed. ``story_by_url`` (url → story id of posts stored
    earlier in this crawl) resolves ``story_ref``s and is extended with this batch."""
    now = now or utcnow()
    result = StoreResult(story_by_url=dict(story_by_url or {}))
    with session_scope(db_url) as session:
        full = [i for i in items if not i.engagement_only]
        existing = set()
        for chunk in _chunks([i.url for i in items]):
            existing.update(session.scalars(select(Post.url).where(Post.url.in_(chunk))))
        new_items = [i for i in full if i.url not in existing]
        refresh = [i for i in items if i.url in existing]
        missing_refs = {
            i.story_ref for i in new_items if i.story_ref and i.story_ref not in result.story_by_url
        }
        result.story_by_url.update(_story_of(session, missing_refs))

        # story per new post: its own, or the one of the post it reposts (a stored post's story,
        # or an earlier post of this batch that opened a story)
        opener: dict[str, str] = {}  # url → url of the post that opened its story in this batch
        known_story: dict[str, int] = {}
        for item in new_items:
            ref = item.story_id or result.story_by_url.get(item.story_ref or "")
            if ref is not None:
                known_story[item.url] = ref
            elif item.story_ref in opener:
                opener[item.url] = opener[item.story_ref]
            else:
                opener[item.url] = item.url
        openers = [i for i in new_items if opener.get(i.url) == i.url]
        story_ids: dict[str, int] = {}
        if openers:
            reach = Counter(opener.values())
            rows = [
                {
                    "fingerprint": i.content_hash[:64],
                    "title": i.title[:500],
                    "repost_count": reach[i.url],
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for i in openers
            ]
            ids = session.scalars(
                insert(Story).returning(Story.id, sort_by_parameter_order=True), rows
            ).all()
            story_ids = {i.url: sid for i, sid in zip(openers, ids, strict=True)}
        for url, first in opener.items():
            known_story[url] = story_ids[first]

        post_rows = [_post_row(item, now, known_story[item.url]) for item in new_items]
        inserted: dict[str, int] = {}
        if post_rows:
            # executemany form: one cached statement, batched by SQLAlchemy's insertmanyvalues
            statement = (
                _insert(session)
                .on_conflict_do_nothing(index_elements=["url"])
                .returning(Post.id, Post.url)
            )
            inserted = {url: post_id for post_id, url in session.execute(statement, post_rows)}
        result.new = len(inserted)
        stories = Story.__table__
        grown = Counter(known_story[u] for u in inserted if opener.get(u) is None)
        lost = Counter(
            known_story[i.url] for i in new_items if i.url not in inserted
        )  # lost a race
        for sid in lost:
            grown[sid] -= lost[sid]
        if grown:
            session.connection().execute(
                update(stories)
                .where(stories.c.id == bindparam("sid"))
                .values(repost_count=stories.c.repost_count + bindparam("n"), last_seen_at=now),
                [{"sid": sid, "n": n} for sid, n in grown.items() if n],
            )
        firsts = [{"sid": story_ids[u], "pid": inserted[u]} for u in story_ids if u in inserted]
        if firsts:
            session.connection().execute(
                update(stories)
                .where(stories.c.id == bindparam("sid"))
                .values(first_post_id=bindparam("pid")),
                firsts,
            )
        for url in inserted:
            result.story_by_url[url] = known_story[url]
        if refresh:
            table = Post.__table__
            session.connection().execute(
                update(table)
                .where(table.c.url == bindparam("u"))
                .values(
                    replies=func.coalesce(bindparam("r"), table.c.replies),
                    views=func.coalesce(bindparam("v"), table.c.views),
                    likes=func.coalesce(bindparam("l"), table.c.likes),
                    fetched_at=now,
                ),
                [{"u": i.url, "r": i.replies, "v": i.views, "l": i.likes} for i in refresh],
            )
            result.updated = len({i.url for i in refresh})
    return result


def story_seed(db_url: str, since: datetime, limit: int) -> list[tuple[str, str, str, int | None]]:
    """Recent posts ``(url, title, content, story_id)`` for the near-duplicate index."""
    with session_scope(db_url) as session:
        rows = session.execute(
            select(Post.url, Post.title, Post.content, Post.story_id)
            .where(Post.first_seen_at >= since, Post.kind == "post")
            .order_by(Post.first_seen_at.desc())
            .limit(limit)
        )
        return [(u, t or "", c or "", s) for u, t, c, s in rows]


def story_appearances(session: Session, story_id: int) -> list[dict[str, Any]]:
    """Where a story appeared: its posts' source, URL, title and time, earliest first."""
    rows = session.execute(
        select(Post.id, Post.source, Post.url, Post.title, Post.published_at)
        .where(Post.story_id == story_id)
        .order_by(Post.published_at, Post.id)
    )
    return [
        {"post_id": i, "source": s, "url": u, "title": t, "published_at": p}
        for i, s, u, t, p in rows
    ]


# --- crawl runs and source state ---------------------------------------------------------------


def _state(session: Session, source: str) -> SourceState:
    state = session.get(SourceState, source)
    if state is None:
        state = SourceState(source=source, consecutive_failures=0, status="unknown", http_cache={})
        session.add(state)
    return state


def load_source_state(db_url: str, source: str) -> dict[str, Any]:
    """The crawler's memory of a source: ``{"urls": {...validators}, "seen": [...keys]}``."""
    with session_scope(db_url) as session:
        state = session.get(SourceState, source)
        cache = dict(state.http_cache or {}) if state is not None else {}
    return {"urls": dict(cache.get("urls", {})), "seen": list(cache.get("seen", []))}


def start_run(db_url: str, source: str, pid: int | None, now: datetime | None = None) -> int:
    """A ``running`` CrawlRun row (so a killed crawl still leaves a trace)."""
    now = now or utcnow()
    with session_scope(db_url) as session:
        run = CrawlRun(
            source=source,
            started_at=now,
            status="running",
            pid=pid,
            dropped={},
            http_status={},
            errors={},
            error_samples=[],
        )
        session.add(run)
        _state(session, source).last_run_at = now
        session.flush()
        return run.id


def _typical_items(session: Session, source: str, exclude_id: int) -> float:
    recent = session.scalars(
        select(CrawlRun.items)
        .where(
            CrawlRun.source == source,
            CrawlRun.id != exclude_id,
            CrawlRun.status.in_(("ok", "partial")),
        )
        .order_by(CrawlRun.started_at.desc())
        .limit(5)
    ).all()
    return statistics.median(recent) if len(recent) >= 3 else 0.0


def finish_run(
    db_url: str,
    run_id: int,
    summary: dict[str, Any],
    duration_s: float,
    seen_keys: Iterable[str] = (),
    http_cache: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Close a CrawlRun with its counts and update the source's health. Returns the state status.

    Health: ``ok`` resets the failure count; ``failed``/``blocked`` add one; a run that brings
    nothing where the last runs typically brought ``SILENT_MIN_TYPICAL``+ items is ``silent``.
    """
    now = now or utcnow()
    status = summary["status"]
    with session_scope(db_url) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            raise KeyError(f"no crawl run {run_id}")
        for name in (
            "pages",
            "items",
            "new_posts",
            "updated_posts",
            "dropped",
            "http_status",
            "errors",
            "error_samples",
        ):
            setattr(run, name, summary.get(name, getattr(run, name)))
        run.status = status
        run.finished_at = now
        run.duration_s = round(duration_s, 3)
        state = _state(session, run.source)
        if status in ("ok", "partial"):
            state.consecutive_failures = 0
            state.last_success_at = now
            typical = _typical_items(session, run.source, run.id)
            silent = (
                run.items == 0 and typical >= SILENT_MIN_TYPICAL and not summary.get("not_modified")
            )
            state.status = "silent" if silent else "ok"
        elif status == "killed":
            pass  # shut down mid-crawl: says nothing about the source's health
        else:
            state.consecutive_failures = (state.consecutive_failures or 0) + 1
            state.status = "blocked" if status == "blocked" else "failing"
        cache = dict(state.http_cache or {})
        urls = dict(cache.get("urls", {}))
        urls.update(http_cache or {})
        seen_new = list(dict.fromkeys(seen_keys))
        old = [k for k in cache.get("seen", []) if k not in set(seen_new)]
        state.http_cache = {"urls": urls, "seen": (seen_new + old)[:SEEN_LIMIT]}
        return state.status


def mark_killed(
    db_url: str,
    source: str,
    pid: int | None,
    message: str,
    started_at: datetime | None = None,
    now: datetime | None = None,
    count_failure: bool = True,
) -> int:
    """Record a crawl child that was killed. Returns the run id.

    A timeout or a crash counts as a failure of the source; a shutdown (``count_failure=False``)
    does not: the daemon stopping says nothing about the site's health."""
    now = now or utcnow()
    with session_scope(db_url) as session:
        query = select(CrawlRun).where(CrawlRun.source == source)
        if pid is not None:
            query = query.where(CrawlRun.pid == pid)
        if started_at is not None:
            query = query.where(CrawlRun.started_at >= started_at - timedelta(seconds=1))
        else:
            query = query.where(CrawlRun.status == "running")
        runs = list(session.scalars(query.order_by(CrawlRun.id.desc())))
        closed = [r for r in runs if r.status != "running"]
        runs = [r for r in runs if r.status == "running"]
        if not runs and closed:  # the child closed its run itself (e.g. as killed on SIGTERM)
            return closed[0].id
        if not runs:
            run = CrawlRun(
                source=source,
                started_at=started_at or now,
                pid=pid,
                dropped={},
                http_status={},
                errors={},
                error_samples=[],
            )
            session.add(run)
            runs = [run]
        for run in runs:
            run.status = "killed"
            run.finished_at = now
            run.duration_s = round((now - (run.started_at or now)).total_seconds(), 3)
            errors = dict(run.errors or {})
            errors["killed"] = errors.get("killed", 0) + 1
            run.errors = errors
            run.error_samples = [
                *(run.error_samples or []),
                {"kind": "killed", "url": "", "message": message},
            ][:10]
        state = _state(session, source)
        if count_failure:
            state.consecutive_failures = (state.consecutive_failures or 0) + 1
            state.status = "failing"
        state.last_run_at = max(state.last_run_at or now, runs[0].started_at or now)
        session.flush()
        return runs[0].id


def last_run_times(db_url: str) -> dict[str, datetime]:
    """When each source's last crawl started."""
    with session_scope(db_url) as session:
        rows = session.execute(
            select(CrawlRun.source, func.max(CrawlRun.started_at)).group_by(CrawlRun.source)
        )
        result = {source: started for source, started in rows if started is not None}
        for state in session.scalars(select(SourceState)):
            if state.last_run_at and (
                state.source not in result or state.last_run_at > result[state.source]
            ):
                result[state.source] = state.last_run_at
        return result


def since(days: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)
