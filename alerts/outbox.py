"""The durable outbox: send due deliveries, retry with backoff and jitter, dead-letter the rest.

A delivery moves ``pending → sending → sent``; a retryable failure puts it back to ``pending``
with ``next_attempt_at`` pushed out (exponential backoff, jitter, ``Retry-After`` honoured);
a permanent failure or the retry limit makes it ``dead`` with the reason. The claim
(``sending``, attempts + 1) is committed *before* the request and the result right after it,
so a crash in between leaves a ``sending`` row: after ``delivery.sending_lease`` it is sent
again with the same idempotency key — at most one repeat per crash, which the key identifies.

Chat robots refuse more than about 20 messages a minute, so due notifications for one channel
are merged into one message (up to ``max_alerts_per_message``) and a channel's messages in the
last minute (counted from ``sent_at`` in the table, so it holds across cron runs) are capped
at ``max_per_minute``; what does not fit waits for the next run.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from alerts.channels import Channel, build_channel
from alerts.channels.base import Outgoing, SendResult
from yuqing.store.db import session_scope
from yuqing.store.models import Delivery, Notification, utcnow

log = logging.getLogger(__name__)
STATUSES = ("pending", "sending", "sent", "dead", "suppressed")


@dataclass
class DeliveryReport:
    now: datetime
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0
    """Due but held back by a channel's per-minute limit."""
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sent} sent in {self.messages} messages, {self.retrying} to retry, "
            f"{self.dead} dead, {self.waiting} waiting for the rate limit"
        )


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    channel: str
    idempotency_key: str
    attempts: int
    payload: dict[str, Any]


def deliver_due(
    settings: Any,
    now: datetime | None = None,
    *,
    rng: random.Random | None = None,
    channels: dict[str, Channel] | None = None,
) -> DeliveryReport:
    """Send every due delivery once; returns what happened. Safe to call from cron or a loop.

    ``channels`` replaces the channel objects built from settings (tests, ``test-channel``).
    """
    now = now or utcnow()
    rng = rng or random.Random()
    policy = settings.alerts.delivery
    report = DeliveryReport(now=now)
    url = settings.database.url
    claimed = _claim(url, now, policy)
    report.claimed = len(claimed)
    by_channel: dict[str, list[_Claimed]] = {}
    for item in claimed:
        by_channel.setdefault(item.channel, []).append(item)
    for name, items in by_channel.items():
        try:
            channel = (channels or {}).get(name) or build_channel(
                settings.alerts.channel(name), settings.alerts.templates_dir
            )
            limit = settings.alerts.channel(name).max_per_minute
        except KeyError:
            _finish(
                url,
                items,
                SendResult.failure(f"channel {name!r} is not configured", False),
                now,
                policy,
                rng,
                report,
            )
            continue
        with session_scope(url) as session:
            budget = limit - _messages_last_minute(session, name, now)
        batches = [
            items[i : i + channel.max_batch] for i in range(0, len(items), channel.max_batch)
        ]
        for index, batch in enumerate(batches):
            if budget <= 0:
                _release(url, batch, now + timedelta(seconds=60), report)
                continue
            budget -= 1
            try:
                result = channel.send([Outgoing(i.id, i.idempotency_key, i.payload) for i in batch])
            except Exception as exc:  # a template or channel bug: keep the delivery, say why
                log.exception("channel %s failed", name)
                result = SendResult.failure(f"{type(exc).__name__}: {exc}", True)
            report.messages += 1
            _finish(url, batch, result, now + timedelta(microseconds=index), policy, rng, report)
    return report


def _claim(url: str, now: datetime, policy: Any) -> list[_Claimed]:
    """Mark due rows ``sending`` (attempts + 1) and commit before anything is sent."""
    lease_expired = now - policy.sending_lease
    with session_scope(url) as session:
        query = (
            select(Delivery, Notification.payload)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(
                or_(
                    (Delivery.status == "pending") & (Delivery.next_attempt_at <= now),
                    (Delivery.status == "sending") & (Delivery.next_attempt_at <= lease_expired),
                )
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(policy.batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Delivery)
        claimed = []
        for delivery, payload in session.execute(query):
            if delivery.status == "sending":
                delivery.last_error = "previous attempt was interrupted; sending again"
            delivery.status = "sending"
            delivery.attempts = (delivery.attempts or 0) + 1
            delivery.next_attempt_at = now
            claimed.append(
                _Claimed(
                    delivery.id,
                    delivery.channel,
                    delivery.idempotency_key,
                    delivery.attempts,
                    payload or {},
                )
            )
    return claimed


def backoff(
    attempts: int, policy: Any, rng: random.Random, retry_after: float | None = None
) -> timedelta:
    """Exponential backoff with jitter: base·2^(n−1), capped, scaled by [1−jitter, 1]."""
    base = policy.backoff_base.total_seconds()
    cap = policy.backoff_max.total_seconds()
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    delay *= 1 - policy.jitter * rng.random()
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return timedelta(seconds=delay)


def _finish(
    url: str,
    batch: list[_Claimed],
    result: SendResult,
    now: datetime,
    policy: Any,
    rng: random.Random,
    report: DeliveryReport,
) -> None:
    with session_scope(url) as session:
        for item in batch:
            delivery = session.get(Delivery, item.id)
            if delivery is None:
                continue
            delivery.response = (result.response or "")[:2000] or delivery.response
            if result.ok:
                delivery.status = "sent"
                delivery.sent_at = now
                delivery.last_error = None
                report.sent += 1
            elif result.retryable and delivery.attempts < policy.max_attempts:
                delivery.status = "pending"
                delivery.next_attempt_at = now + backoff(
                    delivery.attempts, policy, rng, result.retry_after
                )
                delivery.last_error = result.error
                report.retrying += 1
            else:
                delivery.status = "dead"
                reason = result.error or "failed"
                if result.retryable:
                    reason = f"gave up after {delivery.attempts} attempts: {reason}"
                delivery.last_error = reason
                report.dead += 1
                report.errors.append(f"delivery {item.id} ({item.channel}): {reason}")


def _release(url: str, batch: list[_Claimed], until: datetime, report: DeliveryReport) -> None:
    """Put back what the rate limit held: not an attempt, so it does not count toward the limit."""
    with session_scope(url) as session:
        for item in batch:
            delivery = session.get(Delivery, item.id)
            if delivery is None:
                continue
            delivery.status = "pending"
            delivery.attempts = max(0, delivery.attempts - 1)
            delivery.next_attempt_at = until
            report.waiting += 1


def _messages_last_minute(session: Session, channel: str, now: datetime) -> int:
    """Messages (not deliveries: a merged batch shares one ``sent_at``) sent in the last minute."""
    query = select(func.count(func.distinct(Delivery.sent_at))).where(
        Delivery.channel == channel,
        Delivery.status == "sent",
        Delivery.sent_at > now - timedelta(seconds=60),
        Delivery.sent_at <= now,
    )
    return int(session.execute(query).scalar() or 0)


def retry(session: Session, delivery_id: int, now: datetime | None = None) -> Delivery:
    """Put a dead (or suppressed) delivery back in the queue, due now, with a fresh count."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise LookupError(f"no delivery #{delivery_id}")
    if delivery.status not in ("dead", "suppressed"):
        raise ValueError(f"delivery #{delivery_id} is {delivery.status}, not dead")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    delivery.last_error = f"retried by hand (was: {delivery.last_error or ''})"[:2000]
    return delivery


def summary(session: Session) -> dict[str, Any]:
    """Counts by status and the deliveries that need attention (for ``yuqing status``)."""
    counts = {status: 0 for status in STATUSES}
    for status, count in session.execute(
        select(Delivery.status, func.count()).group_by(Delivery.status)
    ):
        counts[status] = int(count)
    attention = session.scalars(
        select(Delivery)
        .where(
            or_(
                Delivery.status == "dead",
                (Delivery.status.in_(("pending", "sending"))) & (Delivery.attempts > 0),
            )
        )
        .order_by(Delivery.id.desc())
        .limit(20)
    )
    problems = [
        {
            "id": d.id,
            "channel": d.channel,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "last_error": d.last_error,
        }
        for d in attention
    ]
    return {"counts": counts, "failing": problems}


def dead_letters(session: Session, limit: int = 100) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.status == "dead")
            .order_by(Delivery.id.desc())
            .limit(limit)
        )
    )
