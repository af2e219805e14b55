"""The whole loop on real parts: the demo site crawled by real Scrapy child processes into a real
database, scored, rules evaluated, and a signed alert delivered to a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from yuqing.cycle import run_cycle
from yuqing.demo.receiver import WebhookReceiver
from yuqing.demo.site import DemoSite
from yuqing.review import ListFilter, list_flagged
from yuqing.settings import DEMO_CONFIG, Settings, load_settings
from yuqing.store.db import session_scope
from yuqing.store.models import Delivery, Post

pytestmark = pytest.mark.postgres
SECRET = "e2e-secret"


@dataclass
class World:
    site: DemoSite
    receiver: WebhookReceiver
    settings: Settings
    sources: list[str]

    def cycle(self) -> None:
        report = run_cycle(self.settings, sources=self.sources)
        assert report.ok, report.lines()


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with DemoSite() as site, WebhookReceiver(secret=SECRET) as receiver:
        # the crawl children inherit these, exactly as `yuqing demo` passes them
        monkeypatch.setenv("YUQING_DEMO_URL", site.url.rstrip("/"))
        monkeypatch.setenv("YUQING_DEMO_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("YUQING_DATABASE_URL", db_url)
        monkeypatch.setenv("YUQING_WEBHOOK_SECRET", SECRET)
        settings = load_settings(DEMO_CONFIG)
        yield World(site, receiver, settings, [s.name for s in settings.sources])


def _count(url: str, *where) -> int:  # noqa: ANN002
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(Post).where(*where)) or 0


def test_burst_fires_one_signed_spike_alert(world: World) -> None:
    url = world.settings.database.url
    world.cycle()
    stored = _count(url)
    assert stored > 10
    # posts about look-alike companies and unrelated posts were not kept
    with session_scope(url) as session:
        texts = [p.title + p.content for p in session.scalars(select(Post))]
    assert not any("中鼎国际物流" in text for text in texts)
    assert _count(url, Post.analyzed_at.is_(None)) == 0
    # hostile markup a user typed is stored as the text the page showed, never run or dropped
    with session_scope(url) as session:
        hostile = session.scalars(select(Post).where(Post.title.contains("APP还款页面乱码"))).one()
    assert "<script>alert('xss')" in hostile.content
    assert '<b onmouseover="alert(1)">点击领取免息券</b>' in hostile.content
    assert hostile.author.startswith("<img src=x onerror=alert(1)>")
    assert world.receiver.received == []  # three days of ordinary complaints: no spike

    world.site.release_burst()
    world.cycle()
    spikes = [
        m
        for m in world.receiver.received
        if m.payload["commonLabels"]["alertname"] == "negative-spike"
    ]
    assert len(spikes) == 1
    message = spikes[0]
    expected = hmac.new(SECRET.encode(), message.body, hashlib.sha256).hexdigest()
    assert message.headers["X-Yuqing-Signature"] == f"sha256={expected}"
    assert json.loads(message.body) == message.payload
    assert message.payload["status"] == "firing"
    # 10 burst complaints; the finance model must call most of them negative (8 today)
    assert message.payload["counts"]["current"] >= 6
    assert any("催收" in post["title"] for post in message.payload["posts"])

    after_burst = _count(url)
    assert after_burst >= stored + 8

    # re-running the cycle neither duplicates posts nor re-sends the alert
    world.cycle()
    assert _count(url) == after_burst
    assert (
        len(
            [
                m
                for m in world.receiver.received
                if m.payload["commonLabels"]["alertname"] == "negative-spike"
            ]
        )
        == 1
    )
    assert len(set(world.receiver.keys)) == len(world.receiver.keys)

    # compliance sees the burst first in the review list
    with session_scope(url) as session:
        newest = list_flagged(session, ListFilter(limit=5))
    assert all(post.label == "negative" for post in newest)
    assert newest[0].published_at >= newest[-1].published_at


def test_receiver_down_then_back_gets_each_alert_exactly_once(world: World) -> None:
    url = world.settings.database.url
    world.cycle()
    world.receiver.down()
    world.site.release_burst()
    world.cycle()
    with session_scope(url) as session:
        statuses = session.scalars(select(Delivery.status)).all()
        errors = session.scalars(select(Delivery.last_error)).all()
    assert statuses and set(statuses) == {"pending"}
    assert all(errors)
    assert world.receiver.received == []

    world.receiver.up()
    world.receiver.fail_next(1, status=500)  # the first attempt after the outage fails too
    _deliver_until_sent(world, len(statuses))
    keys = world.receiver.keys
    assert len(keys) == len(statuses)
    assert len(set(keys)) == len(keys)
    world.cycle()
    assert world.receiver.keys == keys  # nothing is sent twice


def _deliver_until_sent(world: World, expected: int) -> None:
    """Run the deliver step as the scheduler would, with its backoff clock moved forward."""
    from datetime import timedelta

    from alerts.outbox import deliver_due
    from yuqing.store.models import utcnow

    now = utcnow()
    for attempt in range(10):
        deliver_due(world.settings, now=now + timedelta(hours=attempt + 1))
        if len(world.receiver.received) >= expected:
            return
    raise AssertionError(f"only {len(world.receiver.received)} of {expected} delivered")
