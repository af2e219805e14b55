"""Evaluate every enabled rule over the database and write the notify log (the alert step).

For each rule: counts from SQL (``alerts.queries``) → a decision per key (``alerts.rules``) →
the lifecycle decision (``alerts.rules_lifecycle``) → ``Alert`` row updated, and on a message a
``Notification`` (payload frozen) plus one ``Delivery`` per channel (the outbox), all in one
transaction per rule. Nothing is kept in memory between cycles: the baseline is recomputed from
stored posts every time, so a restart, a cron run or a backtest sees the same numbers.

Re-running ``evaluate`` at the same ``now`` writes nothing new (idempotent within a cycle).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import queries, rules
from alerts.queries import Key
from alerts.rules_lifecycle import (
    AlertMemory,
    keeps_firing,
    notify_kind,
    quiet_hours_end,
    severe_enough,
    silence_matches,
)
from yuqing.settings.alerting import (
    FlatlineRule,
    InstantRule,
    RuleSettings,
    SpikeRule,
    ThresholdRule,
)
from yuqing.store.db import session_scope
from yuqing.store.models import Alert, Delivery, Notification, Silence, utcnow

log = logging.getLogger(__name__)
SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}


@dataclass
class Observation:
    """One key's decision in this evaluation."""

    key: Key
    decision: rules.Decision
    post_ids: list[int] = field(default_factory=list)


@dataclass
class EvaluationReport:
    now: datetime
    rules: int = 0
    firing: int = 0
    notifications: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for item in self.notifications:
            kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
        return f"{self.rules} rules, {self.firing} alerts firing, notifications: {detail}" + (
            f", {len(self.errors)} errors" if self.errors else ""
        )


def evaluate(settings: Any, now: datetime | None = None) -> EvaluationReport:
    """Evaluate every enabled rule at ``now`` (naive UTC; default: the current time)."""
    now = _naive_utc(now) if now is not None else utcnow()
    report = EvaluationReport(now=now)
    url = settings.database.url
    for rule in settings.alerts.rules:
        if not rule.enabled:
            continue
        report.rules += 1
        try:
            with session_scope(url) as session:
                _evaluate_rule(session, settings, rule, now, report)
        except Exception as exc:  # one broken rule must not stop the others
            log.exception("rule %s failed", rule.name)
            report.errors.append(f"rule {rule.name}: {type(exc).__name__}: {exc}")
    return report


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def observe(
    session: Session, rule: RuleSettings, now: datetime, firing_keys: dict[str, dict[str, str]]
) -> list[Observation]:
    """Decisions for every key with data now, and for every key currently firing."""
    if isinstance(rule, FlatlineRule):
        observations = _observe_flatline(session, rule, now)
        seen = {o.key.text for o in observations}
        for text, labels in firing_keys.items():
            if text not in seen:  # the source was removed: resolve its alert
                key = Key((("source", labels.get("source", text)),))
                observations.append(Observation(key, rules.Decision(False, 0, None, "gone")))
        return observations
    window: timedelta = rule.window
    windows = rule.baseline_windows + 1 if isinstance(rule, SpikeRule) else 1
    counts = queries.window_counts(session, rule.filter, rule.group_by, now, window, windows)
    for text, labels in firing_keys.items():
        key = Key(tuple((name, labels.get(name, "")) for name in rule.group_by))
        if key.text == text:
            counts.setdefault(key, [0] * windows)
    observations: list[Observation] = []
    if isinstance(rule, SpikeRule):
        covered = _covered_windows(session, rule, now)
        params = rules.SpikeParams(
            ratio=rule.ratio,
            method=rule.method,
            p_value=rule.p_value,
            sigmas=rule.sigmas,
            min_current=rule.min_current,
            min_baseline=rule.min_baseline,
            baseline_floor=rule.baseline_floor,
            warmup_windows=rule.baseline_windows
            if rule.warmup_windows is None
            else rule.warmup_windows,
        )
        seasonal = _seasonal_counts(session, rule, now)
        for key, series in counts.items():
            season = (
                seasonal.get(key, [0] * rule.seasonal_periods) if seasonal is not None else None
            )
            key_covered = _covered_for_key(session, rule, key, now, covered)
            observations.append(
                Observation(key, rules.spike(series[-1], series[:-1], key_covered, params, season))
            )
    elif isinstance(rule, ThresholdRule):
        for key, series in counts.items():
            observations.append(Observation(key, rules.threshold(series[-1], rule.count)))
    elif isinstance(rule, InstantRule):
        for key, series in counts.items():
            decision = rules.threshold(series[-1], 1)
            ids = []
            if decision.firing:
                ids = queries.post_ids(session, rule.filter, key.as_dict(), now - window, now)
            observations.append(Observation(key, decision, ids))
    return observations


def _seasonal_counts(
    session: Session, rule: SpikeRule, now: datetime
) -> dict[Key, list[int]] | None:
    """Counts of the same window one period (day/week) back, for each of ``seasonal_periods``.

    ``None`` when the rule has no seasonality or the stored history does not reach back that far
    yet (then the recent windows alone are the baseline).
    """
    if rule.seasonality == "none":
        return None
    period = timedelta(days=1 if rule.seasonality == "daily" else 7)
    first = now - rule.window - period * rule.seasonal_periods
    start = queries.history_start(session, rule.filter, now)
    if start is None or start > first:
        return None
    starts = [now - rule.window - period * k for k in range(rule.seasonal_periods, 0, -1)]
    return queries.window_counts_at(session, rule.filter, rule.group_by, starts, rule.window)


def _covered_windows(session: Session, rule: SpikeRule, now: datetime) -> int:
    return _windows_since(queries.history_start(session, rule.filter, now), rule, now)


def _covered_for_key(
    session: Session, rule: SpikeRule, key: Key, now: datetime, covered: int
) -> int:
    """Warm-up per source: under ``group_by: [source]`` a newly added source has its own short
    history, and must not spike on its first posts just because other sources are old."""
    source = key.as_dict().get("source")
    if source is None:
        return covered
    return min(
        covered, _windows_since(queries.source_history_start(session, source, now), rule, now)
    )


def _windows_since(start: datetime | None, rule: SpikeRule, now: datetime) -> int:
    if start is None:
        return 0
    span = (now - rule.window) - start
    return max(0, int(span / rule.window)) if span > timedelta(0) else 0


def _observe_flatline(session: Session, rule: FlatlineRule, now: datetime) -> list[Observation]:
    silent_s = rule.silent_for.total_seconds() if rule.silent_for else None
    health: dict[str, rules.SourceHealth] = {}
    for state in queries.source_health(session, rule.filter.sources):
        since = None
        if state.last_success_at is not None:
            since = (now - state.last_success_at).total_seconds()
        elif state.last_run_at is not None:
            since = (now - state.last_run_at).total_seconds()
        health[state.source] = rules.SourceHealth(
            state.source, state.status or "unknown", state.consecutive_failures or 0, since
        )
    counts: dict[str, list[int]] = {}
    if rule.min_baseline is not None:
        windows = rule.baseline_windows + 1
        per_key = queries.window_counts(session, rule.filter, ["source"], now, rule.window, windows)
        counts = {key.as_dict()["source"]: series for key, series in per_key.items()}
        for source in counts:
            health.setdefault(source, rules.SourceHealth(source, "unknown", 0, None))
    observations = []
    for source, state in sorted(health.items()):
        series = counts.get(source, [0] * (rule.baseline_windows + 1))
        decision = rules.flatline(
            state,
            rule.max_failures,
            silent_s,
            rule.statuses,
            posts_now=series[-1],
            posts_baseline=series[:-1],
            min_baseline=rule.min_baseline,
        )
        observations.append(Observation(Key((("source", source),)), decision))
    return observations


def _evaluate_rule(
    session: Session, settings: Any, rule: RuleSettings, now: datetime, report: EvaluationReport
) -> None:
    firing = {
        a.key: a
        for a in session.scalars(
            select(Alert).where(Alert.rule == rule.name, Alert.state == "firing")
        )
    }
    observations = observe(session, rule, now, {k: dict(a.labels or {}) for k, a in firing.items()})
    silences = _active_silences(session, now)
    for obs in observations:
        alert = firing.get(obs.key.text)
        decision = obs.decision
        memory = None
        if alert is not None:
            memory = AlertMemory(
                True,
                alert.last_notified_at,
                alert.last_notified_count,
                frozenset(int(i) for i in alert.post_ids or []),
            )
        firing_now = keeps_firing(
            decision.firing,
            alert is not None,
            alert.condition_met_at if alert is not None else None,
            now,
            rule.keep_firing_for,
        )
        kind = notify_kind(
            memory,
            firing_now,
            decision.current,
            now,
            rule.growth_step,
            rule.repeat_interval,
            obs.post_ids,
            isinstance(rule, InstantRule),
        )
        if alert is None and not firing_now:
            continue
        if alert is None:
            alert = Alert(
                rule=rule.name,
                key=obs.key.text,
                labels=obs.key.as_dict(),
                state="firing",
                started_at=now,
                last_notified_count=0,
                post_ids=[],
            )
            session.add(alert)
        alert.last_evaluated_at = now
        alert.summary = decision.reason
        if decision.firing:
            alert.condition_met_at = now
        if firing_now:
            report.firing += 1
            alert.current_count = decision.current
            alert.baseline = decision.baseline
        else:
            alert.state = "resolved"
            alert.resolved_at = now
        if kind is None:
            continue
        session.flush()
        posts = _posts_for(session, rule, obs, now)
        severity = _alert_severity(rule, posts)
        alert.severity = severity
        payload = build_payload(settings, rule, alert, kind, decision, posts, now)
        notification = Notification(alert_id=alert.id, kind=kind, created_at=now, payload=payload)
        session.add(notification)
        session.flush()
        text = " ".join([decision.reason, *(p["title"] for p in posts)])
        silence = next(
            (
                s
                for s in silences
                if silence_matches(s.matchers or {}, rule.name, obs.key.text, text)
            ),
            None,
        )
        for channel_name in rule.channels:
            session.add(
                _delivery(settings, notification, alert, channel_name, severity, silence, now)
            )
        alert.last_notified_at = now
        alert.last_notified_count = decision.current
        known = [int(i) for i in alert.post_ids or []]
        new_ids = [i for i in (obs.post_ids or [p["id"] for p in posts]) if i not in known]
        alert.post_ids = (known + new_ids)[-500:]
        report.notifications.append(
            {
                "alert_id": alert.id,
                "rule": rule.name,
                "key": obs.key.text,
                "kind": kind,
                "current": decision.current,
                "baseline": decision.baseline,
                "at": now.isoformat(),
                "notification_id": notification.id,
            }
        )


def _posts_for(
    session: Session, rule: RuleSettings, obs: Observation, now: datetime
) -> list[dict[str, Any]]:
    if isinstance(rule, FlatlineRule):
        return []
    return queries.top_posts(
        session, rule.filter, obs.key.as_dict(), now - rule.window, now, rule.max_posts
    )


def _alert_severity(rule: RuleSettings, posts: list[dict[str, Any]]) -> str | None:
    """The rule's own severity, else the most severe of its posts."""
    if rule.severity:
        return rule.severity
    levels = [p["severity"] for p in posts if p.get("severity") in SEVERITY_RANK]
    return max(levels, key=SEVERITY_RANK.__getitem__) if levels else None


def _active_silences(session: Session, now: datetime) -> list[Silence]:
    query = select(Silence).where(
        Silence.starts_at <= now, Silence.ends_at > now, Silence.expired_at.is_(None)
    )
    return list(session.scalars(query))


def idempotency_key(alert_id: int, notification_id: int, channel: str) -> str:
    """Stable per (alert, message, channel): a repeat after a crash carries the same key."""
    return f"yq-{alert_id}-{notification_id}-{channel}"


def _delivery(
    settings: Any,
    notification: Notification,
    alert: Alert,
    channel_name: str,
    severity: str | None,
    silence: Silence | None,
    now: datetime,
) -> Delivery:
    delivery = Delivery(
        notification_id=notification.id,
        channel=channel_name,
        idempotency_key=idempotency_key(alert.id, notification.id, channel_name),
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    if silence is not None:
        delivery.status = "suppressed"
        delivery.last_error = f"silenced by #{silence.id} ({silence.created_by}: {silence.reason})"
        return delivery
    try:
        channel = settings.alerts.channel(channel_name)
    except KeyError:
        return delivery  # the outbox dead-letters it with a clear reason
    quiet = channel.quiet_hours
    if quiet is None or severe_enough(severity, quiet.let_through):
        return delivery
    start, end = quiet.times()
    until = quiet_hours_end(now, start, end, quiet.timezone)
    if until is None:
        return delivery
    if quiet.action == "drop":
        delivery.status = "suppressed"
        delivery.last_error = f"quiet hours {quiet.start}-{quiet.end} {quiet.timezone}"
    else:
        delivery.next_attempt_at = until
        delivery.last_error = f"deferred by quiet hours until {until.isoformat()}Z"
    return delivery


def _category_names(settings: Any) -> dict[str, str]:
    """Category id → the taxonomy's Chinese name (a PR group reads 催收, not ``collection``)."""
    try:
        taxonomy = settings.sentiment.taxonomy()
    except Exception:  # noqa: BLE001 - a message with ids beats no message
        log.warning("taxonomy not loaded; alert messages show category ids", exc_info=True)
        return {}
    return {cid: category.name for cid, category in taxonomy.categories.items()}


def build_payload(
    settings: Any,
    rule: RuleSettings,
    alert: Alert,
    kind: str,
    decision: rules.Decision,
    posts: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """Everything a template or the webhook needs, frozen at creation (JSON-safe)."""
    base = settings.console.base_url.rstrip("/")
    window_s = int(rule.window.total_seconds()) if hasattr(rule, "window") else None
    ratio = None
    if decision.baseline is not None:
        floor = getattr(rule, "baseline_floor", 0.5)
        ratio = round(decision.current / max(decision.baseline, floor), 2)
    names = _category_names(settings)
    for post in posts:
        post["review_url"] = f"{base}/posts/{post['id']}"
        post["category_names"] = [names.get(c, c) for c in post.get("categories") or []]
    return {
        "alert_id": alert.id,
        "rule": rule.name,
        "rule_type": rule.type,
        "key": alert.key,
        "labels": dict(alert.labels or {}),
        "kind": kind,
        "status": "resolved" if kind == "resolved" else "firing",
        "severity": alert.severity,
        "institution": settings.institution.name,
        "started_at": _iso(alert.started_at),
        "ends_at": _iso(alert.resolved_at) if kind == "resolved" else None,
        "evaluated_at": _iso(now),
        "current": decision.current,
        "baseline": None if decision.baseline is None else round(decision.baseline, 2),
        "ratio": ratio,
        "threshold": getattr(rule, "count", None),
        "window_seconds": window_s,
        "reason": decision.reason,
        "filter": rule.filter.model_dump(exclude_defaults=False),
        "posts": posts,
        "review_url": f"{base}/alerts/{alert.id}",
        "console_url": base,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()
