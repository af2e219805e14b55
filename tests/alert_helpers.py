"""Shared helpers for the alert tests: insert posts, build alert configs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from yuqing.store.db import session_scope
from yuqing.store.models import Post

NOW = datetime(2026, 11, 28, 12, 0, 0)
_counter = {"n": 0}


def make_post(
    published_at: datetime,
    label: str = "negative",
    source: str = "forum",
    categories: Iterable[str] = (),
    severity: str | None = None,
    title: str | None = None,
    score: float | None = None,
) -> dict[str, Any]:
    _counter["n"] += 1
    n = _counter["n"]
    return {
        "url": f"http://127.0.0.1/post/{n}",
        "source": source,
        "title": title if title is not None else f"投诉中鼎经纬暴力催收 {n}",
        "content": "中鼎经纬 催收 电话轰炸",
        "published_at": published_at,
        "fetched_at": published_at,
        "first_seen_at": published_at,
        "matched_terms": ["中鼎经纬"],
        "categories": list(categories),
        "label": label,
        "score": score if score is not None else (0.1 if label == "negative" else 0.6),
        "severity": severity,
        "analyzed_at": published_at,
        "content_hash": f"h{n}",
    }


def insert_posts(db_url: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with session_scope(db_url) as session:
        session.execute(insert(Post), rows)


def steady_stream(db_url: str, end: datetime, hours: int, per_hour: int, **kw: Any) -> None:
    """``per_hour`` posts in every hour of the ``hours`` before ``end``, evenly spread."""
    rows = []
    for h in range(hours):
        start = end - timedelta(hours=h + 1)
        for i in range(per_hour):
            rows.append(make_post(start + timedelta(minutes=(i + 0.5) * 60 / per_hour), **kw))
    insert_posts(db_url, rows)


def burst(
    db_url: str, end: datetime, count: int, within: timedelta = timedelta(minutes=30), **kw: Any
) -> None:
    rows = [make_post(end - within + within * (i + 0.5) / count, **kw) for i in range(count)]
    insert_posts(db_url, rows)


def webhook_config(url: str, secret: str = "s3cret", **rule: Any) -> dict[str, Any]:
    base_rule = {
        "name": "neg-spike",
        "type": "spike",
        "channels": ["hook"],
        "window": "1h",
        "baseline_windows": 6,
        "min_current": 3,
    }
    base_rule.update(rule)
    return {
        "rules": [base_rule],
        "channels": [
            {"name": "hook", "type": "webhook", "url": url, "secret": secret, "timeout": "3s"}
        ],
        "delivery": {"backoff_base": "30s", "backoff_max": "10m", "max_attempts": 5},
    }
