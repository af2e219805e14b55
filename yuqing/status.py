"""``yuqing status``: what an operator checks first — is every source crawling, is anything
stuck in the outbox. Secrets never appear: URLs are masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from yuqing.cli_common import mask_url
from yuqing.display import local_time
from yuqing.settings import Settings
from yuqing.store.db import session_scope
from yuqing.store.models import Alert, CrawlRun, Delivery, Post, SourceState


def collect_status(settings: Settings, url: str) -> dict[str, Any]:
    with session_scope(url) as session:
        sources = []
        for source in settings.sources:
            run = session.scalars(
                select(CrawlRun)
                .where(CrawlRun.source == source.name)
                .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                .limit(1)
            ).first()
            state = session.get(SourceState, source.name)
            sources.append(
                {
                    "name": source.name,
                    "kind": source.kind,
                    "enabled": source.enabled,
                    "health": state.status if state else "never crawled",
                    "consecutive_failures": state.consecutive_failures if state else 0,
                    "last_success_at": state.last_success_at if state else None,
                    "last_run": None
                    if run is None
                    else {
                        "id": run.id,
                        "started_at": run.started_at,
                        "status": run.status,
                        "pages": run.pages,
                        "items": run.items,
                        "new_posts": run.new_posts,
                        "updated_posts": run.updated_posts,
                        "errors": sum(int(v) for v in (run.errors or {}).values()),
                        "error_kinds": run.errors or {},
                        "duration_s": run.duration_s,
                    },
                }
            )
        deliveries = dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        )
        problems = session.scalars(
            select(Delivery)
            .where(Delivery.status.in_(("pending", "sending", "dead")))
            .order_by(Delivery.id.desc())
            .limit(20)
        ).all()
        posts_total = session.scalar(select(func.count()).select_from(Post)) or 0
        unscored = (
            session.scalar(select(func.count()).select_from(Post).where(Post.analyzed_at.is_(None)))
            or 0
        )
        failed = (
            session.scalar(
                select(func.count()).select_from(Post).where(Post.model_version.like("error:%"))
            )
            or 0
        )
        flagged_new = (
            session.scalar(
                select(func.count())
                .select_from(Post)
                .where(Post.label == "negative", Post.review_status == "new")
            )
            or 0
        )
        firing = (
            session.scalar(select(func.count()).select_from(Alert).where(Alert.state == "firing"))
            or 0
        )
        return {
            "database": mask_url(url),
            "sources": sources,
            "posts": {
                "total": posts_total,
                "unscored": unscored,
                "analysis_failed": failed,
                "flagged_unreviewed": flagged_new,
            },
            "alerts_firing": firing,
            "deliveries": deliveries,
            "delivery_problems": [
                {
                    "id": d.id,
                    "channel": d.channel,
                    "status": d.status,
                    "attempts": d.attempts,
                    "next_attempt_at": d.next_attempt_at,
                    "last_error": mask_url(d.last_error or "")[:200],
                }
                for d in problems
            ],
        }


def render_status(status: dict[str, Any]) -> str:
    lines = [f"database: {status['database']}", "", "sources (times in Beijing time):"]
    for source in status["sources"]:
        run = source["last_run"]
        if run is None:
            detail = "never crawled"
        else:
            started = local_time(run["started_at"])
            detail = (
                f"last {started} {run['status']}: {run['pages']} pages, {run['items']} items,"
                f" {run['new_posts']} new, {run['errors']} errors"
            )
        flag = "" if source["enabled"] else " (disabled)"
        failures = source["consecutive_failures"]
        health = source["health"] + (f", {failures} failures in a row" if failures else "")
        lines.append(f"  {source['name']:<18} [{health}]{flag} {detail}")
    posts = status["posts"]
    failed = (
        f", {posts['analysis_failed']} failed analysis (see `yuqing sentiment analyze --rescore`)"
        if posts["analysis_failed"]
        else ""
    )
    lines += [
        "",
        f"posts: {posts['total']} stored, {posts['unscored']} not yet scored{failed}, "
        f"{posts['flagged_unreviewed']} flagged and not reviewed",
        f"alerts firing: {status['alerts_firing']}",
        "deliveries: "
        + (", ".join(f"{k} {v}" for k, v in sorted(status["deliveries"].items())) or "none"),
    ]
    for problem in status["delivery_problems"]:
        lines.append(
            f"  #{problem['id']} {problem['channel']} {problem['status']} after "
            f"{problem['attempts']} attempts: {problem['last_error'] or '-'}"
        )
    return "\n".join(lines)
