"""Replay a stream of posts through the rules exactly as the cycles would have run them.

The posts go into a scratch SQLite database and ``alerts.engine.evaluate`` runs at every tick
(``--every``) with ``now`` set to the tick: the same SQL, the same rule maths, the same
lifecycle. Because every window is bounded by ``now``, posts "from the future" are invisible
at each tick. Nothing is delivered: the notifications that would have been sent are listed.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from alerts.engine import evaluate
from yuqing.settings.core import DatabaseSettings
from yuqing.store.db import engine_for, session_scope, upgrade
from yuqing.store.models import LABELS, SEVERITIES, Post

CSV_COLUMNS = ("published_at", "label", "category", "source", "severity", "title", "url", "score")


class BacktestInputError(ValueError):
    """Bad input file: the message names the line and the column."""


@dataclass
class BacktestResult:
    start: datetime
    end: datetime
    every: timedelta
    ticks: int = 0
    posts: int = 0
    notifications: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        by_rule: dict[str, Counter[str]] = {}
        for item in self.notifications:
            by_rule.setdefault(item["rule"], Counter())[item["kind"]] += 1
        return {
            "start": self.start.isoformat() + "Z",
            "end": self.end.isoformat() + "Z",
            "every_seconds": int(self.every.total_seconds()),
            "ticks": self.ticks,
            "posts": self.posts,
            "notifications": len(self.notifications),
            "by_rule": {rule: dict(kinds) for rule, kinds in sorted(by_rule.items())},
            "errors": self.errors,
        }


def parse_time(text: str, naive_zone: str = "Asia/Shanghai") -> datetime:
    """ISO 8601 to naive UTC; a time without zone is read in ``naive_zone`` (as pages are)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(naive_zone))
    return moment.astimezone(UTC).replace(tzinfo=None)


def read_posts_csv(path: str | Path, naive_zone: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """Rows of a CSV with ``published_at`` and optional ``label``, ``category`` (``;``-separated),
    ``source``, ``severity``, ``title``, ``url``, ``score``. A missing label means negative."""
    rows: list[dict[str, Any]] = []
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        raise BacktestInputError(f"{path}: cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "published_at" not in reader.fieldnames:
            raise BacktestInputError(f"{path}: line 1: a published_at column is required")
        for number, raw in enumerate(reader, start=2):
            rows.append(_row(path, number, raw, naive_zone))
    return rows


def _row(
    path: str | Path, number: int, raw: dict[str, str | None], naive_zone: str
) -> dict[str, Any]:
    where = f"{path}: line {number}"
    text = (raw.get("published_at") or "").strip()
    try:
        published = parse_time(text, naive_zone)
    except ValueError:
        raise BacktestInputError(f"{where}: published_at: not ISO 8601: {text!r}") from None
    label = (raw.get("label") or "negative").strip().lower()
    if label not in LABELS:
        raise BacktestInputError(f"{where}: label: expected one of {', '.join(LABELS)}")
    severity = (raw.get("severity") or "").strip().lower() or None
    if severity is not None and severity not in SEVERITIES:
        raise BacktestInputError(f"{where}: severity: expected one of {', '.join(SEVERITIES)}")
    categories = [
        c.strip() for c in (raw.get("category") or "").replace("|", ";").split(";") if c.strip()
    ]
    score_text = (raw.get("score") or "").strip()
    try:
        score = float(score_text) if score_text else None
    except ValueError:
        raise BacktestInputError(f"{where}: score: not a number: {score_text!r}") from None
    return {
        "published_at": published,
        "label": label,
        "categories": categories,
        "source": (raw.get("source") or "csv").strip() or "csv",
        "severity": severity,
        "title": (raw.get("title") or "").strip(),
        "url": (raw.get("url") or "").strip(),
        "score": score,
    }


def posts_from_database(
    url: str,
    since: datetime,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The stored posts since ``since`` (the database's own history)."""
    query = select(
        Post.published_at,
        Post.label,
        Post.categories,
        Post.source,
        Post.severity,
        Post.title,
        Post.url,
        Post.score,
        Post.matched_terms,
    ).where(Post.published_at >= since)
    if until is not None:
        query = query.where(Post.published_at < until)
    with session_scope(url) as session:
        return [dict(row._mapping) for row in session.execute(query.order_by(Post.published_at))]


def _post_rows(posts: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for number, post in enumerate(posts):
        published = post["published_at"]
        yield {
            "url": post.get("url") or f"backtest://post/{number}",
            "source": post.get("source") or "csv",
            "title": post.get("title") or "",
            "content": "",
            "published_at": published,
            "fetched_at": published,
            "first_seen_at": published,
            "analyzed_at": published,
            "matched_terms": list(post.get("matched_terms") or []),
            "categories": list(post.get("categories") or []),
            "label": post.get("label"),
            "severity": post.get("severity"),
            "score": post.get("score"),
            "content_hash": "",
        }


def backtest(
    settings: Any,
    posts: list[dict[str, Any]],
    rules: list[str] | None = None,
    every: timedelta = timedelta(minutes=10),
    start: datetime | None = None,
    end: datetime | None = None,
    workdir: str | None = None,
) -> BacktestResult:
    """Evaluate the (selected) rules at every tick over ``posts``; nothing is delivered."""
    if not posts:
        raise BacktestInputError("no posts to replay")
    selected = [r for r in settings.alerts.rules if not rules or r.name in rules]
    unknown = sorted(set(rules or []) - {r.name for r in settings.alerts.rules})
    if unknown:
        known = ", ".join(r.name for r in settings.alerts.rules) or "none"
        raise BacktestInputError(f"unknown rule {unknown[0]!r} (known: {known})")
    selected = [r.model_copy(update={"enabled": True}) for r in selected]
    times = [p["published_at"] for p in posts]
    longest = max(
        (getattr(r, "window", timedelta(hours=1)) for r in selected), default=timedelta(hours=1)
    )
    start = start or _ceil(min(times), every)
    end = end or max(times) + longest + every
    with tempfile.TemporaryDirectory(dir=workdir, prefix="yuqing-backtest-") as folder:
        url = f"sqlite:///{Path(folder) / 'backtest.db'}"
        upgrade(url)
        rows = list(_post_rows(posts))
        with session_scope(url) as session:
            for i in range(0, len(rows), 5000):
                session.execute(insert(Post), rows[i : i + 5000])
        replay = settings.model_copy(
            update={
                "database": DatabaseSettings(url=url),
                "alerts": settings.alerts.model_copy(update={"rules": selected}),
            }
        )
        result = BacktestResult(start=start, end=end, every=every, posts=len(rows))
        tick = start
        while tick <= end:
            report = evaluate(replay, tick)
            result.ticks += 1
            result.notifications.extend(report.notifications)
            result.errors.extend(f"{tick.isoformat()}: {e}" for e in report.errors)
            tick += every
        engine_for(url).dispose()
    return result


def _ceil(moment: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds()) or 1
    epoch = int((moment - datetime(1970, 1, 1)).total_seconds())
    return datetime(1970, 1, 1) + timedelta(seconds=-(-epoch // seconds) * seconds)
