"""The analyze step: score stored, unscored posts in batches (sentiment, categories, severity).

Idempotent and safe to re-run: it only reads posts with ``analyzed_at IS NULL`` (or, with
``rescore=True`` after a retrain, every post scored by another model version) and writes the
results back. The model and the taxonomy are loaded once per process and cached, so the daemon
pays the load once; nothing here is imported by the CLI until a command needs it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update

from sentiment.analyzer import Analyzer, join_title
from sentiment.mentions import MentionTerms
from sentiment.model import SHIPPED_MODEL, SentimentModel, load_model
from sentiment.severity import Engagement, SeverityTable, assess
from sentiment.taxonomy import Taxonomy
from yuqing.settings import Settings
from yuqing.settings.analysis import SentimentSettings, SeveritySettings
from yuqing.store.db import session_scope
from yuqing.store.models import Post, Story, utcnow

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def cached_model(path: str) -> SentimentModel:
    """The model at ``path``, loaded once per process."""
    return load_model(path)


def model_path(sentiment: SentimentSettings) -> Path:
    return Path(sentiment.model_path).expanduser() if sentiment.model_path else SHIPPED_MODEL


def taxonomy_for(sentiment: SentimentSettings) -> Taxonomy:
    return sentiment.taxonomy()


def severity_table(severity: SeveritySettings) -> SeverityTable:
    def tiers(rows: list[Any]) -> tuple[tuple[int, float], ...]:
        return tuple((row.at_least, row.points) for row in rows)

    return SeverityTable(
        negative_points=severity.negative_points,
        only_negative=severity.only_negative,
        category_points=dict(severity.category_points),
        category_points_max=severity.category_points_max,
        replies=tiers(severity.replies),
        views=tiers(severity.views),
        reposts=tiers(severity.reposts),
        engagement_points_max=severity.engagement_points_max,
        thresholds=dict(severity.thresholds),
    )


def build_analyzer(settings: Settings) -> Analyzer:
    """An analyzer for the configured institution (model and taxonomy from the process cache)."""
    sentiment = settings.sentiment
    return Analyzer(
        cached_model(str(model_path(sentiment).resolve())),
        terms=MentionTerms.from_config(settings.institution),
        taxonomy=taxonomy_for(sentiment),
        negative_below=sentiment.negative_below,
        positive_above=sentiment.positive_above,
    )


@dataclass(frozen=True)
class _Row:
    id: int
    source: str
    title: str
    content: str
    replies: int | None
    views: int | None
    reposts: int | None


def analyze_pending(settings: Settings, limit: int | None = None, rescore: bool = False) -> int:
    """Score unscored posts (or, with ``rescore``, posts of another model version); return how many.

    Batches of ``sentiment.batch_size``, walked by id so that a post that keeps failing cannot
    stall the step. Works the same on SQLite and PostgreSQL.
    """
    analyzer = build_analyzer(settings)
    table = severity_table(settings.sentiment.severity)
    weights = {source.name: source.weight for source in settings.sources}
    url = settings.database.url
    batch_size = settings.sentiment.batch_size
    done = 0
    last_id = 0
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        rows = _fetch(url, last_id, size, analyzer.version if rescore else None)
        if not rows:
            break
        last_id = rows[-1].id
        updates = [_score_or_record(analyzer, table, row, weights, settings) for row in rows]
        with session_scope(url) as session:
            session.execute(update(Post), updates)
        done += len(updates)
    if done:
        log.info("analyzed %d posts with %s", done, analyzer.version)
    return done


def _fetch(url: str, after_id: int, size: int, rescore_version: str | None) -> list[_Row]:
    query = (
        select(
            Post.id,
            Post.source,
            Post.title,
            Post.content,
            Post.replies,
            Post.views,
            Story.repost_count,
        )
        .outerjoin(Story, Story.id == Post.story_id)
        .where(Post.id > after_id)
        .order_by(Post.id)
        .limit(size)
    )
    if rescore_version is None:
        query = query.where(Post.analyzed_at.is_(None))
    else:
        query = query.where(
            or_(Post.model_version.is_(None), Post.model_version != rescore_version)
        )
    with session_scope(url) as session:
        return [_Row(*row) for row in session.execute(query).all()]


def _score_or_record(
    analyzer: Analyzer,
    table: SeverityTable,
    row: _Row,
    weights: dict[str, float],
    settings: Settings,
) -> dict[str, Any]:
    """Score one post; if the analysis itself fails, record why on the post instead of failing
    the batch — one pathological post must not stall every later cycle. Its model version reads
    ``error:…``, so ``sentiment analyze --rescore`` tries it again after a fix."""
    try:
        return _score(analyzer, table, row, weights, settings)
    except Exception as error:  # noqa: BLE001 - recorded on the post and logged
        log.exception("analysis of post %d failed", row.id)
        return _update(
            row.id,
            f"error:{analyzer.version}"[:64],
            deciding_sentence=f"analysis failed: {type(error).__name__}: {error}"[:300],
        )


def _update(
    post_id: int,
    model_version: str,
    score: float | None = None,
    label: str | None = None,
    categories: tuple[str, ...] | list[str] = (),
    severity: str | None = None,
    deciding_sentence: str | None = None,
) -> dict[str, Any]:
    """The analysis columns of one post, as one row of the batched UPDATE."""
    return {
        "id": post_id,
        "score": score,
        "label": label,
        "categories": list(categories),
        "severity": severity,
        "deciding_sentence": deciding_sentence,
        "model_version": model_version,
        "analyzed_at": utcnow(),
    }


def _score(
    analyzer: Analyzer,
    table: SeverityTable,
    row: _Row,
    weights: dict[str, float],
    settings: Settings,
) -> dict[str, Any]:
    result = analyzer.analyze(row.title or "", row.content or "")
    severity = assess(
        table,
        score=result.score,
        label=result.label,
        negative_below=settings.sentiment.negative_below,
        categories=result.categories,
        source_weight=weights.get(row.source, 1.0),
        engagement=Engagement(row.replies, row.views, row.reposts),
    )
    return _update(
        row.id,
        analyzer.version,
        score=result.score,
        label=result.label,
        categories=result.categories,
        severity=severity.level,
        deciding_sentence=result.deciding_sentence,
    )


FEEDBACK_LABELS = {"escalated": "negative", "false_positive": "not_negative"}


def export_feedback(url: str, out: Path) -> dict[str, int]:
    """Write compliance's ``escalated`` / ``false_positive`` marks as labelled JSONL.

    The lines are in the format ``sentiment train --feedback`` (and ``sentiment eval``) read:
    ``text``, ``title``, ``label``, plus where the post came from. Returns counts per label.
    """
    query = (
        select(Post.id, Post.url, Post.source, Post.title, Post.content, Post.review_status)
        .where(Post.review_status.in_(tuple(FEEDBACK_LABELS)))
        .order_by(Post.id)
    )
    counts: dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with session_scope(url) as session, open(tmp, "w", encoding="utf-8") as handle:
        for post_id, post_url, source, title, content, status in session.execute(query):
            label = FEEDBACK_LABELS[status]
            row = {
                "text": join_title(title or "", content or ""),
                "label": label,
                "review_status": status,
                "post_id": post_id,
                "url": post_url,
                "source": source,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            counts[label] = counts.get(label, 0) + 1
    tmp.replace(out)  # a crash mid-export never leaves a half-written training file
    return counts
