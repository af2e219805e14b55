"""``yuqing alerts …``: list and show alerts, try a channel, silences, dead letters, backtest.

Every command loads config through ``load_or_exit`` (one line per problem, exit 2) and prints
no secret: channel URLs and errors are masked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from yuqing.cli_common import config_option, fail, load_or_exit, mask_url, open_database
from yuqing.settings import parse_duration


def _mask(settings: Any, text: str | None) -> str:
    """Mask URL secrets and every configured channel secret in ``text``."""
    out = mask_url(text or "")
    for channel in settings.alerts.channels:
        for name in ("url", "secret", "password"):
            value = getattr(channel, name, None)
            raw = value.get_secret_value() if hasattr(value, "get_secret_value") else None
            if raw:
                out = out.replace(raw, "***")
    return out


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _parse_when(text: str) -> datetime:
    from alerts.backtest import parse_time

    try:
        return parse_time(text, "UTC")
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}") from None


@click.group("alerts")
def alerts() -> None:
    """Alerts, silences, channels, dead letters, backtest."""


@alerts.command("list")
@click.option(
    "--state", type=click.Choice(["firing", "resolved", "all"]), default="all", show_default=True
)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def list_alerts(state: str, limit: int, as_json: bool, config_path: str | None) -> None:
    """Alerts, newest first."""
    from sqlalchemy import select

    from yuqing.store.db import session_scope
    from yuqing.store.models import Alert

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        query = select(Alert).order_by(Alert.id.desc()).limit(limit)
        if state != "all":
            query = query.where(Alert.state == state)
        rows = session.scalars(query).all()
        if not rows and not as_json:
            click.echo("no alerts")
        for a in rows:
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "id": a.id,
                            "rule": a.rule,
                            "key": a.key,
                            "state": a.state,
                            "severity": a.severity,
                            "started_at": _time(a.started_at),
                            "resolved_at": _time(a.resolved_at),
                            "current": a.current_count,
                            "baseline": a.baseline,
                            "last_notified_at": _time(a.last_notified_at),
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                baseline = "" if a.baseline is None else f" baseline {a.baseline:.1f}"
                click.echo(
                    f"#{a.id:<5} {a.state:<8} {a.rule}{'/' + a.key if a.key else ''}  "
                    f"{a.current_count} posts{baseline}  since {_time(a.started_at)}"
                )


@alerts.command("show")
@click.argument("alert_id", type=int)
@config_option
def show(alert_id: int, config_path: str | None) -> None:
    """One alert: its figures, its messages and where each was delivered."""
    from sqlalchemy import select

    from yuqing.store.db import session_scope
    from yuqing.store.models import Alert, Delivery, Notification

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            fail(f"no alert #{alert_id}")
        click.echo(
            f"alert #{alert.id}: rule {alert.rule}, key {alert.key or '(none)'}, "
            f"{alert.state}, severity {alert.severity or '-'}"
        )
        click.echo(
            f"  started {_time(alert.started_at)}, last evaluated "
            f"{_time(alert.last_evaluated_at)}, resolved {_time(alert.resolved_at)}"
        )
        click.echo(f"  current {alert.current_count}, baseline {alert.baseline}, {alert.summary}")
        notes = session.scalars(
            select(Notification).where(Notification.alert_id == alert.id).order_by(Notification.id)
        ).all()
        for note in notes:
            click.echo(
                f"  message #{note.id} {note.kind} at {_time(note.created_at)}: "
                f"{note.payload.get('current')} posts"
            )
            for post in note.payload.get("posts", [])[:5]:
                title = " ".join(str(post.get("title", "")).split())[:60]
                click.echo(f"      - #{post.get('id')} {title} ({post.get('source')})")
            for d in session.scalars(select(Delivery).where(Delivery.notification_id == note.id)):
                error = f" — {_mask(settings, d.last_error)[:160]}" if d.last_error else ""
                click.echo(f"      → {d.channel}: {d.status}, {d.attempts} attempts{error}")


@alerts.command("test-channel")
@click.argument("name")
@click.option("--english", is_flag=True, help="Render the sample in English.")
@config_option
def test_channel(name: str, english: bool, config_path: str | None) -> None:
    """Send a sample message through channel NAME; exit 1 when the platform refuses it."""
    from alerts.channels import build_channel
    from alerts.channels.base import Outgoing
    from alerts.sample import sample_payload

    settings = load_or_exit(config_path)
    try:
        channel_settings = settings.alerts.channel(name)
    except KeyError as exc:
        fail(str(exc.args[0]))
    if english:
        channel_settings = channel_settings.model_copy(update={"language": "en"})
    channel = build_channel(channel_settings, settings.alerts.templates_dir)
    payload = sample_payload(settings.institution.name, settings.console.base_url)
    key = f"yq-test-{int(datetime.now(UTC).timestamp())}-{name}"
    result = channel.send([Outgoing(0, key, payload)])
    answer = _mask(settings, result.response).strip() or "(empty)"
    click.echo(
        f"channel {name} ({channel_settings.type}): {'accepted' if result.ok else 'REFUSED'}"
    )
    click.echo(f"  platform answer: {answer[:500]}")
    if not result.ok:
        kind = "retryable" if result.retryable else "permanent"
        click.echo(f"  error ({kind}): {_mask(settings, result.error)}", err=True)
        raise SystemExit(1)


@alerts.group("silence")
def silence() -> None:
    """Mute notifications by rule, key or text for a while."""


@silence.command("add")
@click.option("--rule", default=None, help="Rule name or pattern (fees-*).")
@click.option("--key", default=None, help="Alert key or pattern (tieba*).")
@click.option("--text", default=None, help="Text in the alert or its posts' titles.")
@click.option("--for", "duration", default=None, help="How long, e.g. 2h or 3d.")
@click.option("--until", default=None, help="Until this time (ISO 8601, UTC if no zone).")
@click.option("--by", "author", required=True, help="Who silences (kept for the audit).")
@click.option("--reason", required=True, help="Why.")
@config_option
def silence_add(
    rule: str | None,
    key: str | None,
    text: str | None,
    duration: str | None,
    until: str | None,
    author: str,
    reason: str,
    config_path: str | None,
) -> None:
    """Add a silence (at least one of --rule, --key, --text; one of --for, --until)."""
    from yuqing.store.db import session_scope
    from yuqing.store.models import Silence, utcnow

    if not any((rule, key, text)):
        fail("give at least one of --rule, --key, --text", 2)
    if bool(duration) == bool(until):
        fail("give exactly one of --for and --until", 2)
    now = utcnow()
    try:
        ends = now + parse_duration(duration) if duration else _parse_when(until or "")
    except (ValueError, click.BadParameter) as exc:
        fail(str(exc), 2)
    if ends <= now:
        fail("the silence would already be over", 2)
    settings = load_or_exit(config_path)
    url = open_database(settings)
    matchers = {k: v for k, v in {"rule": rule, "key": key, "text": text}.items() if v}
    with session_scope(url) as session:
        item = Silence(
            matchers=matchers, created_by=author, reason=reason, starts_at=now, ends_at=ends
        )
        session.add(item)
        session.flush()
        click.echo(
            f"silence #{item.id} until {_time(ends)} UTC: {json.dumps(matchers, ensure_ascii=False)}"
        )


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@config_option
def silence_list(show_all: bool, config_path: str | None) -> None:
    """Active silences (all with --all)."""
    from sqlalchemy import select

    from yuqing.store.db import session_scope
    from yuqing.store.models import Silence, utcnow

    settings = load_or_exit(config_path)
    url = open_database(settings)
    now = utcnow()
    with session_scope(url) as session:
        rows = session.scalars(select(Silence).order_by(Silence.id)).all()
        shown = 0
        for s in rows:
            active = s.expired_at is None and s.starts_at <= now < s.ends_at
            if not active and not show_all:
                continue
            shown += 1
            state = "active" if active else "expired"
            click.echo(
                f"#{s.id:<4} {state:<8} until {_time(s.ends_at)} by {s.created_by}: "
                f"{json.dumps(s.matchers, ensure_ascii=False)} — {s.reason}"
            )
        if not shown:
            click.echo("no silences")


@silence.command("expire")
@click.argument("silence_id", type=int)
@config_option
def silence_expire(silence_id: int, config_path: str | None) -> None:
    """End a silence now."""
    from yuqing.store.db import session_scope
    from yuqing.store.models import Silence, utcnow

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        item = session.get(Silence, silence_id)
        if item is None:
            fail(f"no silence #{silence_id}")
        if item.expired_at is None:
            item.expired_at = utcnow()
        click.echo(f"silence #{silence_id} expired")


@alerts.command("dead-letters")
@config_option
def dead_letters(config_path: str | None) -> None:
    """Deliveries that gave up, with the reason (re-send one with `alerts retry ID`)."""
    from alerts.outbox import dead_letters as load
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        rows = load(session)
        if not rows:
            click.echo("no dead letters")
        for d in rows:
            click.echo(
                f"#{d.id:<5} {d.channel:<12} {d.attempts} attempts, "
                f"created {_time(d.created_at)}: {_mask(settings, d.last_error)[:200]}"
            )


@alerts.command("retry")
@click.argument("delivery_id", type=int)
@config_option
def retry(delivery_id: int, config_path: str | None) -> None:
    """Queue a dead delivery again (sent by the next deliver step)."""
    from alerts.outbox import retry as requeue
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    try:
        with session_scope(url) as session:
            delivery = requeue(session, delivery_id)
            channel = delivery.channel
    except (LookupError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"delivery #{delivery_id} to {channel} queued again")


@alerts.command("backtest")
@click.option(
    "--posts",
    "posts_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="CSV with published_at (ISO 8601) and optional label, category, source, "
    "severity, title, url, score.",
)
@click.option("--since", default=None, help="Replay the database's own posts since this time.")
@click.option("--until", default=None, help="Stop at this time (default: the last post).")
@click.option("--rule", "rule_names", multiple=True, help="Only this rule (repeatable).")
@click.option("--every", default="10m", show_default=True, help="Cycle interval to simulate.")
@click.option(
    "--naive-tz",
    default="Asia/Shanghai",
    show_default=True,
    help="Time zone of CSV times written without one.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object (notifications+summary).")
@config_option
def backtest_cmd(
    posts_file: str | None,
    since: str | None,
    until: str | None,
    rule_names: tuple[str, ...],
    every: str,
    naive_tz: str,
    as_json: bool,
    config_path: str | None,
) -> None:
    """Replay posts through the rules as every cycle would have, and list what would be sent."""
    from alerts.backtest import BacktestInputError, backtest, posts_from_database, read_posts_csv

    if bool(posts_file) == bool(since):
        fail("give exactly one of --posts FILE.csv and --since TIME", 2)
    try:
        step = parse_duration(every)
    except ValueError as exc:
        fail(f"--every: {exc}", 2)
    if step < timedelta(seconds=1):
        fail("--every: must be at least 1s", 2)
    settings = load_or_exit(config_path)
    end = _parse_when(until) if until else None
    try:
        if posts_file:
            posts = read_posts_csv(posts_file, naive_tz)
        else:
            url = open_database(settings)
            posts = posts_from_database(url, _parse_when(since or ""), end)
        result = backtest(settings, posts, list(rule_names) or None, step, end=end)
    except BacktestInputError as exc:
        fail(str(exc), 2)
    if as_json:
        click.echo(
            json.dumps(
                {"notifications": result.notifications, "summary": result.summary()},
                ensure_ascii=False,
                default=str,
            )
        )
        return
    for item in result.notifications:
        baseline = "-" if item["baseline"] is None else f"{item['baseline']:.2f}"
        click.echo(
            f"{item['at']}Z  {item['rule']:<20} {item['key'] or '-':<14} "
            f"{item['kind']:<9} current {item['current']:<5} baseline {baseline}"
        )
    summary = result.summary()
    click.echo(
        f"\n{summary['posts']} posts, {summary['ticks']} cycles every {every} "
        f"from {summary['start']} to {summary['end']}: "
        f"{summary['notifications']} notifications"
    )
    for rule, kinds in summary["by_rule"].items():
        click.echo(f"  {rule}: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    for error in summary["errors"][:5]:
        click.echo(f"  error: {error}", err=True)
