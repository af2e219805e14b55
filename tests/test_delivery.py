"""The outbox: outages, crashes, retries, dead letters, rate limits and merging."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alert_helpers import NOW, burst, steady_stream, webhook_config
from chat_emulators import DingTalkEmulator, SlackEmulator
from sqlalchemy import select

from alerts import outbox
from alerts.channels import build_channel
from alerts.channels.base import Outgoing
from alerts.engine import evaluate
from alerts.outbox import backoff, deliver_due
from alerts.sample import sample_payload
from yuqing.demo.receiver import WebhookReceiver
from yuqing.settings.alerting import DeliverySettings
from yuqing.store.db import session_scope
from yuqing.store.models import Alert, Delivery, Notification

pytestmark = pytest.mark.postgres
SECRET = "hook-secret"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as rx:
        yield rx


def _fire_two_alerts(db_url: str, settings) -> None:  # noqa: ANN001
    for source in ("tieba", "weibo"):
        steady_stream(db_url, NOW, 8, 1, source=source)
        burst(db_url, NOW, 10, source=source)
    assert len(evaluate(settings, NOW).notifications) == 2


def _statuses(db_url: str) -> list[tuple[str, int]]:
    with session_scope(db_url) as session:
        return [
            (d.status, d.attempts) for d in session.scalars(select(Delivery).order_by(Delivery.id))
        ]


def test_receiver_down_then_500_then_back_delivers_each_exactly_once(
    db_url: str, make_settings, receiver: WebhookReceiver
) -> None:
    settings = make_settings(alerts=webhook_config(receiver.url, SECRET, group_by=["source"]))
    _fire_two_alerts(db_url, settings)
    rng = random.Random(7)

    receiver.down()
    report = deliver_due(settings, NOW, rng=rng)
    assert report.retrying == 2 and report.sent == 0
    assert _statuses(db_url) == [("pending", 1), ("pending", 1)]
    # not due yet: the next cycle a second later sends nothing
    assert deliver_due(settings, NOW + timedelta(seconds=1), rng=rng).claimed == 0

    receiver.up()
    receiver.fail_next(2, 500)
    report = deliver_due(settings, NOW + timedelta(minutes=1), rng=rng)
    assert report.retrying == 2 and receiver.received == []
    assert _statuses(db_url) == [("pending", 2), ("pending", 2)]

    report = deliver_due(settings, NOW + timedelta(minutes=5), rng=rng)
    assert report.sent == 2
    assert receiver.wait_for(2)
    for later in (10, 60, 600):
        assert deliver_due(settings, NOW + timedelta(minutes=later), rng=rng).claimed == 0
    assert len(receiver.keys) == len(set(receiver.keys)) == 2
    assert receiver.duplicates == {}
    assert _statuses(db_url) == [("sent", 3), ("sent", 3)]


def test_crash_between_send_and_record_repeats_at_most_once(
    db_url: str, make_settings, receiver: WebhookReceiver
) -> None:
    settings = make_settings(alerts=webhook_config(receiver.url, SECRET))
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    # the process claims, sends, and dies before recording the result
    claimed = outbox._claim(db_url, NOW, settings.alerts.delivery)
    channel = build_channel(settings.alerts.channel("hook"))
    assert channel.send([Outgoing(c.id, c.idempotency_key, c.payload) for c in claimed]).ok
    assert receiver.wait_for(1)
    assert _statuses(db_url) == [("sending", 1)]
    # within the lease nobody touches it (it may still be in flight)
    assert deliver_due(settings, NOW + timedelta(seconds=30)).claimed == 0
    # after the lease it is sent again, with the same idempotency key
    report = deliver_due(settings, NOW + timedelta(minutes=3))
    assert report.sent == 1
    assert receiver.duplicates == {claimed[0].idempotency_key: 1}
    assert len(receiver.received) == 1
    assert deliver_due(settings, NOW + timedelta(hours=1)).claimed == 0
    assert _statuses(db_url) == [("sent", 2)]


def test_retry_limit_then_dead_letter_then_manual_retry(
    db_url: str, make_settings, receiver: WebhookReceiver
) -> None:
    config = webhook_config(receiver.url, SECRET)
    config["delivery"]["max_attempts"] = 3
    settings = make_settings(alerts=config)
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    receiver.fail_next(10, 503)
    for minutes in (0, 30, 60):
        deliver_due(settings, NOW + timedelta(minutes=minutes))
    assert _statuses(db_url) == [("dead", 3)]
    with session_scope(db_url) as session:
        dead = outbox.dead_letters(session)
        assert "gave up after 3 attempts" in dead[0].last_error and "503" in dead[0].last_error
        summary = outbox.summary(session)
        assert summary["counts"]["dead"] == 1 and summary["failing"][0]["status"] == "dead"
        outbox.retry(session, dead[0].id, NOW + timedelta(hours=2))
    receiver.fail_next(0)
    assert deliver_due(settings, NOW + timedelta(hours=2)).sent == 1
    assert receiver.wait_for(1)


def test_refusal_is_dead_at_once_with_the_reason(
    db_url: str, make_settings, receiver: WebhookReceiver
) -> None:
    settings = make_settings(alerts=webhook_config(receiver.url, "not-the-receivers-secret"))
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    report = deliver_due(settings, NOW)
    assert report.dead == 1
    with session_scope(db_url) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "dead" and "HTTP 401" in delivery.last_error
    assert receiver.rejected == ["bad signature"]


def test_unknown_channel_is_dead_letter(db_url: str, make_settings) -> None:
    settings = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    with session_scope(db_url) as session:
        session.scalars(select(Delivery)).one().channel = "removed"
    assert deliver_due(settings, NOW).dead == 1
    with session_scope(db_url) as session:
        assert "not configured" in session.scalars(select(Delivery)).one().last_error


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = DeliverySettings(backoff_base="10s", backoff_max="5m", jitter=0.5)
    rng = random.Random(1)
    for attempt, full in [(1, 10), (2, 20), (3, 40), (6, 300), (20, 300)]:
        waits = [backoff(attempt, policy, rng).total_seconds() for _ in range(50)]
        assert all(full * 0.5 <= w <= full for w in waits)
        assert len(set(waits)) > 1  # jittered
    assert backoff(1, policy, rng, retry_after=60).total_seconds() == 60


def _queue(db_url: str, channel: str, count: int) -> None:
    """``count`` firing notifications waiting for ``channel``."""
    with session_scope(db_url) as session:
        for i in range(count):
            alert = Alert(
                rule="r",
                key=f"k{i}",
                labels={},
                state="firing",
                started_at=NOW,
                last_evaluated_at=NOW,
                current_count=5,
            )
            session.add(alert)
            session.flush()
            payload = sample_payload(posts=2, now=NOW.replace(tzinfo=None))
            payload.update(alert_id=alert.id, rule="r", key=f"k{i}")
            note = Notification(alert_id=alert.id, kind="new", created_at=NOW, payload=payload)
            session.add(note)
            session.flush()
            session.add(
                Delivery(
                    notification_id=note.id,
                    channel=channel,
                    idempotency_key=f"yq-{alert.id}-{note.id}-{channel}",
                    status="pending",
                    attempts=0,
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
            )


@pytest.fixture
def dingtalk() -> Iterator[DingTalkEmulator]:
    emulator = DingTalkEmulator(per_minute=20).start()
    yield emulator
    emulator.stop()


def test_many_notifications_are_merged_under_the_robot_limit(
    db_url: str, make_settings, dingtalk: DingTalkEmulator
) -> None:
    settings = make_settings(
        alerts={
            "channels": [
                {
                    "name": "dt",
                    "type": "dingtalk",
                    "url": dingtalk.url,
                    "secret": dingtalk.secret,
                    "max_alerts_per_message": 10,
                }
            ]
        }
    )
    _queue(db_url, "dt", 45)
    report = deliver_due(settings, NOW)
    assert report.sent == 45 and report.messages == 5
    assert len(dingtalk.messages) == 5 and dingtalk.refusals == []
    assert "等 10 条" in dingtalk.messages[0]["markdown"]["title"]


def test_per_minute_cap_holds_across_runs(
    db_url: str, make_settings, dingtalk: DingTalkEmulator
) -> None:
    settings = make_settings(
        alerts={
            "channels": [
                {
                    "name": "dt",
                    "type": "dingtalk",
                    "url": dingtalk.url,
                    "secret": dingtalk.secret,
                    "max_alerts_per_message": 1,
                    "max_per_minute": 3,
                }
            ]
        }
    )
    _queue(db_url, "dt", 5)
    first = deliver_due(settings, NOW)
    assert first.sent == 3 and first.waiting == 2
    second = deliver_due(settings, NOW + timedelta(seconds=20))
    assert second.claimed == 0  # held until the minute has passed
    third = deliver_due(settings, NOW + timedelta(seconds=61))
    assert third.sent == 2
    assert _statuses(db_url) == [("sent", 1)] * 5  # waiting is not an attempt
    assert dingtalk.refusals == []


def test_platform_rate_limit_answer_is_retried_after_retry_after(
    db_url: str, make_settings
) -> None:
    slack = SlackEmulator(per_minute=1).start()
    try:
        settings = make_settings(
            alerts={
                "channels": [
                    {"name": "sl", "type": "slack", "url": slack.url, "max_alerts_per_message": 1}
                ]
            }
        )
        _queue(db_url, "sl", 2)
        report = deliver_due(settings, NOW)
        assert report.sent == 1 and report.retrying == 1
        with session_scope(db_url) as session:
            waiting = session.scalars(select(Delivery).where(Delivery.status == "pending")).one()
            assert waiting.next_attempt_at >= NOW + timedelta(seconds=30)
            assert "429" in waiting.last_error
    finally:
        slack.stop()
