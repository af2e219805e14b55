"""``yuqing status``: per-source health and the outbox, with secrets masked."""

from __future__ import annotations

from datetime import datetime

import pytest

from yuqing.cli_common import mask_url
from yuqing.status import collect_status, render_status
from yuqing.store.db import session_scope
from yuqing.store.models import Alert, CrawlRun, Delivery, Notification, SourceState

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 28, 1, 0)
SOURCES = {
    "sources": [
        {"name": "forum", "kind": "rss", "url": "http://127.0.0.1:9/a.xml"},
        {"name": "news", "kind": "rss", "url": "http://127.0.0.1:9/b.xml"},
    ]
}


def test_status_shows_health_runs_and_stuck_deliveries(make_settings, db_url: str) -> None:
    settings = make_settings(**SOURCES)
    with session_scope(db_url) as session:
        session.add(
            CrawlRun(
                source="forum",
                started_at=T0,
                finished_at=T0,
                status="partial",
                pages=12,
                items=40,
                new_posts=7,
                errors={"parse": 2, "timeout": 1},
            )
        )
        session.add(SourceState(source="forum", status="failing", consecutive_failures=3))
        alert = Alert(rule="spike", key="", started_at=T0)
        session.add(alert)
        session.flush()
        note = Notification(alert_id=alert.id, kind="new")
        session.add(note)
        session.flush()
        session.add(
            Delivery(
                notification_id=note.id,
                channel="ding",
                idempotency_key="k1",
                status="dead",
                attempts=10,
                last_error="HTTP 500 from https://oapi.dingtalk.com/robot/send?access_token=abc123secret",
            )
        )
        session.add(
            Delivery(
                notification_id=note.id,
                channel="hook",
                idempotency_key="k2",
                status="sent",
                attempts=1,
            )
        )
    status = collect_status(settings, db_url)
    forum, news = status["sources"]
    assert forum["last_run"]["errors"] == 3 and forum["last_run"]["new_posts"] == 7
    assert forum["health"] == "failing" and forum["consecutive_failures"] == 3
    assert news["last_run"] is None and news["health"] == "never crawled"
    assert status["deliveries"] == {"dead": 1, "sent": 1}
    assert status["posts"]["analysis_failed"] == 0
    text = render_status(status)
    assert "3 failures in a row" in text
    assert "never crawled" in text
    assert "abc123secret" not in text and "access_token=***" in text
    assert "2026-11-28 09:00" in text  # shown in Beijing time


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://yuqing:pa55@db/yuqing", "postgresql+psycopg://yuqing:***@db/yuqing"),
        (
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K3Y",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        ),
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/services/***"),
        ("sqlite:///yuqing.db", "sqlite:///yuqing.db"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
