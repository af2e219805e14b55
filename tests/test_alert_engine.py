"""The alert engine over a real database (SQLite, or PostgreSQL with YUQING_TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from alert_helpers import NOW, burst, insert_posts, make_post, steady_stream, webhook_config
from sqlalchemy import select

from alerts.channels.webhook import verify
from alerts.engine import evaluate
from alerts.outbox import deliver_due
from yuqing.demo.receiver import WebhookReceiver
from yuqing.store import db as store_db
from yuqing.store.db import session_scope
from yuqing.store.models import Alert, Delivery, Notification, Silence, SourceState

pytestmark = pytest.mark.postgres
SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=SECRET) as rx:
        yield rx


def _notifications(db_url: str) -> list[tuple[str, str, str]]:
    with session_scope(db_url) as session:
        rows = session.execute(
            select(Alert.rule, Alert.key, Notification.kind)
            .join(Notification, Notification.alert_id == Alert.id)
            .order_by(Notification.id)
        )
        return [tuple(r) for r in rows]


def test_end_to_end_signed_webhook(db_url: str, make_settings, receiver: WebhookReceiver) -> None:
    settings = make_settings(alerts=webhook_config(receiver.url, SECRET))
    steady_stream(db_url, NOW, 8, 2)
    burst(db_url, NOW, 12, title='<img src=x onerror=alert(1)> 中鼎经纬 "爆通讯录"')
    report = evaluate(settings, NOW)
    assert [n["kind"] for n in report.notifications] == ["new"]
    assert report.notifications[0]["current"] == 14
    assert report.notifications[0]["baseline"] == pytest.approx(2.0)
    assert evaluate(settings, NOW).notifications == []  # idempotent within a cycle

    sent = deliver_due(settings, NOW)
    assert sent.sent == 1 and sent.dead == 0
    assert receiver.wait_for(1)
    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert verify(SECRET, got.body, headers["x-yuqing-signature"])
    assert headers["idempotency-key"] == got.payload["idempotencyKey"]
    assert headers["x-yuqing-timestamp"].isdigit()
    payload = got.payload
    assert payload["version"] == "1" and payload["status"] == "firing"
    assert payload["alerts"][0]["labels"]["alertname"] == "neg-spike"
    assert payload["alerts"][0]["startsAt"].startswith("2026-11-28T12:00:00")
    assert payload["counts"]["current"] == 14
    assert len(payload["posts"]) == 5
    assert payload["posts"][0]["title"].startswith("<img")  # raw in JSON; receivers escape
    assert deliver_due(settings, NOW + timedelta(hours=1)).claimed == 0  # never sent again


def test_baseline_survives_a_restart(db_url: str, make_settings, receiver: WebhookReceiver) -> None:
    """The baseline comes from stored posts: a new process sees it at once, no re-warm-up."""
    settings = make_settings(alerts=webhook_config(receiver.url, SECRET))
    steady_stream(db_url, NOW, 8, 4)
    assert evaluate(settings, NOW).notifications == []
    # "restart": drop every engine and connection, build settings again from scratch
    store_db._cached_engine.cache_clear()
    settings = make_settings(alerts=webhook_config(receiver.url, SECRET))
    burst(db_url, NOW + timedelta(minutes=30), 20)
    report = evaluate(settings, NOW + timedelta(minutes=30))
    assert [n["kind"] for n in report.notifications] == ["new"]
    assert report.notifications[0]["baseline"] == pytest.approx(4.0, abs=0.5)


def test_empty_database_and_quiet_baseline_never_fire(db_url: str, make_settings) -> None:
    settings = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    assert evaluate(settings, NOW).notifications == []  # 0 vs 0
    steady_stream(db_url, NOW, 8, 0)
    insert_posts(db_url, [make_post(NOW - timedelta(minutes=m)) for m in (5, 10)])
    assert evaluate(settings, NOW).notifications == []  # 0 -> 2 and no history


def test_warm_up_holds_a_fresh_install(db_url: str, make_settings) -> None:
    settings = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    burst(db_url, NOW, 30)  # a busy first hour, no history before it
    assert evaluate(settings, NOW).notifications == []
    with session_scope(db_url) as session:
        assert session.scalars(select(Alert)).all() == []


def test_lifecycle_new_grown_repeat_resolved(db_url: str, make_settings) -> None:
    settings = make_settings(
        alerts=webhook_config(
            "http://127.0.0.1:9/x", SECRET, growth_step=5, repeat_interval="2h", window="1h"
        )
    )
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    kinds = lambda t: [n["kind"] for n in evaluate(settings, t).notifications]  # noqa: E731
    assert kinds(NOW) == ["new"]
    assert kinds(NOW + timedelta(minutes=1)) == []
    burst(db_url, NOW + timedelta(minutes=10), 6, within=timedelta(minutes=5))
    assert kinds(NOW + timedelta(minutes=10)) == ["grown"]
    assert kinds(NOW + timedelta(minutes=11)) == []
    # keep it elevated: posts every 10 minutes for three hours
    insert_posts(db_url, [make_post(NOW + timedelta(minutes=10 * i + 15)) for i in range(18)])
    burst(db_url, NOW + timedelta(hours=2, minutes=20), 8, within=timedelta(minutes=50))
    assert kinds(NOW + timedelta(hours=2, minutes=20)) == ["repeat"]
    assert kinds(NOW + timedelta(hours=8)) == ["resolved"]
    assert kinds(NOW + timedelta(hours=9)) == []
    with session_scope(db_url) as session:
        alerts = session.scalars(select(Alert)).all()
        assert len(alerts) == 1 and alerts[0].state == "resolved"
        assert session.query(Notification).count() == 4
        keys = [d.idempotency_key for d in session.scalars(select(Delivery))]
        assert len(keys) == len(set(keys)) == 4


def test_group_by_source_alerts_each_key_on_its_own(db_url: str, make_settings) -> None:
    settings = make_settings(
        alerts=webhook_config("http://127.0.0.1:9/x", SECRET, group_by=["source"])
    )
    for source in ("tieba", "weibo"):
        steady_stream(db_url, NOW, 8, 2, source=source)
    burst(db_url, NOW, 15, source="tieba")
    report = evaluate(settings, NOW)
    assert [(n["key"], n["kind"]) for n in report.notifications] == [("tieba", "new")]
    with session_scope(db_url) as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.labels == {"source": "tieba"}
        payload = session.scalars(select(Notification)).one().payload
        assert {p["source"] for p in payload["posts"]} == {"tieba"}


def test_category_filter_and_group_by(db_url: str, make_settings) -> None:
    rule = {
        "name": "by-cat",
        "type": "threshold",
        "count": 4,
        "window": "1h",
        "channels": ["hook"],
        "group_by": ["category"],
        "filter": {"categories": ["fees", "collection"]},
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    burst(db_url, NOW, 5, categories=["collection", "credit"])
    burst(db_url, NOW, 3, categories=["fees"])
    burst(db_url, NOW, 9, categories=["credit"])
    burst(db_url, NOW, 9, label="neutral", categories=["fees"])
    report = evaluate(settings, NOW)
    assert sorted((n["key"], n["current"]) for n in report.notifications) == [
        ("collection", 5),
        ("credit", 5),
    ]


def test_threshold_and_severity_filter(db_url: str, make_settings) -> None:
    rule = {
        "name": "many-red",
        "type": "threshold",
        "count": 3,
        "window": "30m",
        "channels": ["hook"],
        "filter": {"severity": ["red", "orange"]},
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    burst(db_url, NOW, 2, severity="red", within=timedelta(minutes=20))
    burst(db_url, NOW, 5, severity="yellow", within=timedelta(minutes=20))
    assert evaluate(settings, NOW).notifications == []
    burst(db_url, NOW, 1, severity="orange", within=timedelta(minutes=20))
    report = evaluate(settings, NOW)
    assert [(n["kind"], n["current"]) for n in report.notifications] == [("new", 3)]


def test_instant_rule_one_message_per_new_post(db_url: str, make_settings) -> None:
    rule = {
        "name": "red-post",
        "type": "instant",
        "window": "2h",
        "channels": ["hook"],
        "filter": {"label": None, "severity": ["red"]},
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    insert_posts(db_url, [make_post(NOW - timedelta(minutes=3), severity="red", title="集体维权")])
    assert [n["kind"] for n in evaluate(settings, NOW).notifications] == ["new"]
    assert evaluate(settings, NOW + timedelta(minutes=1)).notifications == []
    insert_posts(db_url, [make_post(NOW + timedelta(minutes=2), severity="red", title="报警")])
    report = evaluate(settings, NOW + timedelta(minutes=5))
    assert [n["kind"] for n in report.notifications] == ["grown"]
    with session_scope(db_url) as session:
        last = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
        assert [p["title"] for p in last.payload["posts"]] == ["报警", "集体维权"]
        assert last.payload["severity"] == "red"


def test_flatline_rule_on_source_health(db_url: str, make_settings) -> None:
    rule = {
        "name": "source-health",
        "type": "flatline",
        "channels": ["hook"],
        "max_failures": 3,
        "silent_for": "12h",
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    with session_scope(db_url) as session:
        session.add_all(
            [
                SourceState(
                    source="tieba",
                    status="failing",
                    consecutive_failures=4,
                    last_success_at=NOW - timedelta(hours=2),
                ),
                SourceState(
                    source="news",
                    status="ok",
                    consecutive_failures=0,
                    last_success_at=NOW - timedelta(minutes=5),
                ),
                SourceState(
                    source="forum",
                    status="ok",
                    consecutive_failures=0,
                    last_success_at=NOW - timedelta(hours=13),
                ),
            ]
        )
    report = evaluate(settings, NOW)
    assert sorted(n["key"] for n in report.notifications) == ["forum", "tieba"]
    with session_scope(db_url) as session:
        state = session.get(SourceState, "tieba")
        state.status, state.consecutive_failures = "ok", 0
        state.last_success_at = NOW + timedelta(minutes=5)
    report = evaluate(settings, NOW + timedelta(minutes=10))
    assert [(n["key"], n["kind"]) for n in report.notifications] == [("tieba", "resolved")]


def test_silence_suppresses_deliveries_but_keeps_the_log(db_url: str, make_settings) -> None:
    settings = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    with session_scope(db_url) as session:
        session.add(
            Silence(
                matchers={"rule": "neg-*"},
                created_by="li",
                reason="已知事件",
                starts_at=NOW - timedelta(hours=1),
                ends_at=NOW + timedelta(hours=1),
            )
        )
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    assert [n["kind"] for n in evaluate(settings, NOW).notifications] == ["new"]
    with session_scope(db_url) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == "suppressed"
        assert "li" in delivery.last_error and "已知事件" in delivery.last_error
    assert deliver_due(settings, NOW).claimed == 0


def test_expired_silence_does_not_apply(db_url: str, make_settings) -> None:
    settings = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    with session_scope(db_url) as session:
        session.add(
            Silence(
                matchers={"rule": "neg-spike"},
                created_by="li",
                reason="",
                starts_at=NOW - timedelta(hours=2),
                ends_at=NOW + timedelta(hours=1),
                expired_at=NOW - timedelta(minutes=1),
            )
        )
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    with session_scope(db_url) as session:
        assert session.scalars(select(Delivery)).one().status == "pending"


@pytest.mark.parametrize(
    ("action", "rule_severity", "status", "deferred"),
    [
        ("defer", None, "pending", True),
        ("drop", None, "suppressed", False),
        ("defer", "red", "pending", False),  # the most severe goes through
    ],
)
def test_quiet_hours(
    db_url: str, make_settings, action: str, rule_severity: str | None, status: str, deferred: bool
) -> None:
    config = webhook_config("http://127.0.0.1:9/x", SECRET, severity=rule_severity)
    config["channels"][0]["quiet_hours"] = {
        "start": "22:00",
        "end": "08:00",
        "action": action,
        "let_through": "red",
    }
    settings = make_settings(alerts=config)
    night = NOW.replace(hour=15)  # 23:00 in Shanghai
    steady_stream(db_url, night, 8, 1)
    burst(db_url, night, 10)
    evaluate(settings, night)
    with session_scope(db_url) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.status == status
        expected = night.replace(hour=0) + timedelta(days=1) if deferred else night
        assert delivery.next_attempt_at == expected


def test_seasonal_baseline_uses_previous_days(db_url: str, make_settings) -> None:
    """Busy every day at this hour: today's busy hour is not a spike against yesterday's."""
    settings = make_settings(
        alerts=webhook_config(
            "http://127.0.0.1:9/x", SECRET, seasonality="daily", seasonal_periods=3
        )
    )
    for day in range(0, 4):
        steady_stream(db_url, NOW - timedelta(days=day, hours=1), 6, 1)  # quiet hours before
        burst(db_url, NOW - timedelta(days=day), 12, within=timedelta(minutes=59))
    assert evaluate(settings, NOW).notifications == []
    plain = make_settings(alerts=webhook_config("http://127.0.0.1:9/x", SECRET))
    assert [n["kind"] for n in evaluate(plain, NOW).notifications] == ["new"]


def test_a_broken_rule_does_not_stop_the_others(db_url: str, make_settings, monkeypatch) -> None:
    config = webhook_config("http://127.0.0.1:9/x", SECRET)
    config["rules"].append({"name": "thr", "type": "threshold", "count": 1, "channels": ["hook"]})
    settings = make_settings(alerts=config)
    burst(db_url, NOW, 2)
    from alerts import engine

    original = engine.rules.spike

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.rules, "spike", broken)
    steady_stream(db_url, NOW - timedelta(hours=1), 8, 1)
    report = evaluate(settings, NOW)
    monkeypatch.setattr(engine.rules, "spike", original)
    assert report.errors and "neg-spike" in report.errors[0]
    assert [n["rule"] for n in report.notifications] == ["thr"]


def test_group_by_severity_includes_unrated_posts(db_url: str, make_settings) -> None:
    rule = {
        "name": "by-sev",
        "type": "threshold",
        "count": 3,
        "window": "1h",
        "channels": ["hook"],
        "group_by": ["severity"],
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    burst(db_url, NOW, 3, severity="red")
    burst(db_url, NOW, 4)
    report = evaluate(settings, NOW)
    assert sorted((n["key"], n["current"]) for n in report.notifications) == [
        ("none", 4),
        ("red", 3),
    ]
    with session_scope(db_url) as session:
        for note in session.scalars(select(Notification)):
            assert len(note.payload["posts"]) >= 3  # top posts found for the NULL key too


def test_flatline_rule_on_posts_that_stopped(db_url: str, make_settings) -> None:
    """Crawls "succeed" but store nothing where the source used to bring many posts."""
    rule = {
        "name": "went-quiet",
        "type": "flatline",
        "channels": ["hook"],
        "window": "6h",
        "baseline_windows": 4,
        "min_baseline": 5,
        "silent_for": None,
    }
    settings = make_settings(alerts={**webhook_config("http://127.0.0.1:9/x"), "rules": [rule]})
    for source in ("tieba", "weibo"):
        steady_stream(db_url, NOW - timedelta(hours=6), 24, 2, source=source, label="neutral")
    steady_stream(db_url, NOW, 6, 2, source="weibo", label="neutral")
    with session_scope(db_url) as session:
        session.add(
            SourceState(
                source="tieba",
                status="ok",
                consecutive_failures=0,
                last_success_at=NOW - timedelta(minutes=5),
            )
        )
    report = evaluate(settings, NOW)
    assert [(n["key"], n["kind"]) for n in report.notifications] == [("tieba", "new")]
    with session_scope(db_url) as session:
        assert "usually 12.0" in session.scalars(select(Alert)).one().summary


def test_messages_name_categories_the_taxonomy_way(db_url: str, make_settings) -> None:
    """A PR group reads 催收 and 利率/费用, not ``collection``; custom categories too."""
    from alerts.render import render

    settings = make_settings(
        alerts=webhook_config("http://127.0.0.1:9/hook", SECRET),
        sentiment={"taxonomy_extra": {"insurance": {"name": "捆绑保险", "terms": ["强制保险"]}}},
    )
    steady_stream(db_url, NOW, 8, 1)
    insert_posts(
        db_url,
        [
            make_post(NOW - timedelta(minutes=m), categories=["collection", "fees", "insurance"])
            for m in range(1, 9)
        ],
    )
    evaluate(settings, NOW)
    with session_scope(db_url) as session:
        payload = session.scalars(select(Notification)).one().payload
    assert payload["posts"][0]["category_names"] == [
        settings.sentiment.taxonomy().display_name("collection"),
        settings.sentiment.taxonomy().display_name("fees"),
        "捆绑保险",
    ]
    text = render("markdown.md.j2", [payload], "zh", None)
    assert "捆绑保险" in text and "collection" not in text


@pytest.mark.parametrize(
    ("keep_firing_for", "expected"),
    [
        ("30m", [(0, "new"), (80, "resolved")]),
        ("0s", [(0, "new"), (10, "resolved"), (20, "new"), (80, "resolved")]),  # flapping
    ],
)
def test_a_count_hovering_at_its_threshold_does_not_flap(
    db_url: str, make_settings, keep_firing_for: str, expected: list[tuple[int, str]]
) -> None:
    """Above, below, above again within minutes: with ``keep_firing_for`` one "new" and one
    "resolved" once the condition stayed false that long; without it, a resolved/new pair."""
    config = webhook_config(
        "http://127.0.0.1:9/hook",
        SECRET,
        type="threshold",
        count=5,
        window="1h",
        keep_firing_for=keep_firing_for,
    )
    del config["rules"][0]["baseline_windows"], config["rules"][0]["min_current"]
    settings = make_settings(alerts=config)
    insert_posts(db_url, [make_post(NOW - timedelta(minutes=55 - m)) for m in range(5)])
    kinds = []
    for minutes in (0, 10, 20, 40, 80):  # the first posts leave the 1 h window before +10 min
        if minutes == 20:  # five more posts: above the threshold again until +75 min
            insert_posts(db_url, [make_post(NOW + timedelta(minutes=15 + m)) for m in range(5)])
        report = evaluate(settings, NOW + timedelta(minutes=minutes))
        kinds += [(minutes, n["kind"]) for n in report.notifications]
    assert kinds == expected


def test_warm_up_is_per_source_under_group_by_source(db_url: str, make_settings) -> None:
    """A source added today has no baseline of its own: its first busy hour is not a spike,
    while the same burst on a source with eight hours of history is."""
    settings = make_settings(
        alerts=webhook_config("http://127.0.0.1:9/x", SECRET, group_by=["source"])
    )
    steady_stream(db_url, NOW, 8, 1, source="forum")
    burst(db_url, NOW, 12, source="forum")
    burst(db_url, NOW, 12, source="new_site")  # first posts ever from this source
    report = evaluate(settings, NOW)
    assert [(n["key"], n["kind"]) for n in report.notifications] == [("forum", "new")]
