"""``yuqing review``: compliance lists flagged posts, reads one, marks it, reports handling time."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta

import click

from yuqing.cli_common import config_option, fail, load_or_exit, open_database, terminal_safe
from yuqing.display import LOCAL, SEVERITY_NAMES, STATUS_NAMES, local_time


def _parse_day(value: str | None) -> datetime | None:
    """``2026-11-28`` or an ISO time, read in Asia/Shanghai, as naive UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-28") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL)
    return parsed.astimezone(UTC).replace(tzinfo=None)


@click.group("review")
def review() -> None:
    """Review flagged (negative) posts: list, show, mark, report."""


@review.command("list")
@config_option
@click.option("--status", type=click.Choice(["new", "handled", "false_positive", "escalated"]))
@click.option("--source", help="Only this source.")
@click.option("--since", help="Published on or after this day (YYYY-MM-DD, Beijing time).")
@click.option("--until", help="Published before this day.")
@click.option("--all-labels", is_flag=True, help="Every stored post, not only negative ones.")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_cmd(
    config_path: str | None,
    status: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    all_labels: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Flagged posts, newest first."""
    from yuqing.review import ListFilter, list_flagged
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    flt = ListFilter(
        status=status,
        source=source,
        since=_parse_day(since),
        until=_parse_day(until),
        label=None if all_labels else "negative",
        limit=limit,
    )
    with session_scope(url) as session:
        posts = list_flagged(session, flt)
        if as_json:
            for post in posts:
                click.echo(json.dumps(_post_dict(post), ensure_ascii=False))
            return
        if not posts:
            click.echo("no flagged posts match")
            return
        for post in posts:
            severity = SEVERITY_NAMES.get(post.severity or "", "-")
            title = terminal_safe(post.title or post.content[:40]).replace("\n", " ")[:48]
            click.echo(
                f"#{post.id:<6} {local_time(post.published_at)}  {severity}  "
                f"{STATUS_NAMES.get(post.review_status, post.review_status):<4} "
                f"{post.source:<14} {title}"
            )


@review.command("show")
@config_option
@click.argument("post_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show_cmd(config_path: str | None, post_id: int, as_json: bool) -> None:
    """One post in full, with why it was flagged and its review history."""
    from yuqing.review import ReviewError, get_post, history
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        try:
            post = get_post(session, post_id)
        except ReviewError as error:
            fail(str(error))
        events = history(session, post_id)
        if as_json:
            data = _post_dict(post)
            data["content"] = post.content
            data["history"] = [
                {
                    "at": e.at.isoformat() + "Z",
                    "by": e.by,
                    "from": e.from_status,
                    "to": e.to_status,
                    "note": e.note,
                }
                for e in events
            ]
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        lines = [
            f"#{post.id}  {terminal_safe(post.title)}",
            f"来源 source:     {post.source}   {post.url}",
            f"作者 author:     {terminal_safe(post.author) or '-'}",
            f"发布 published:  {local_time(post.published_at)} (北京时间)",
            f"情感 sentiment:  {post.label or '未分析'}  score={_fmt(post.score)}",
            f"级别 severity:   {SEVERITY_NAMES.get(post.severity or '', '-')}",
            f"类别 categories: {_category_text(settings, post.categories)}",
            f"命中 matched:    {', '.join(post.matched_terms or []) or '-'}",
            f"依据 deciding:   {terminal_safe(post.deciding_sentence) or '-'}",
            f"状态 status:     {STATUS_NAMES.get(post.review_status, post.review_status)}",
            "",
            terminal_safe(post.content),
            "",
            "处理记录 history:",
        ]
        lines += [
            f"  {local_time(e.at)}  {terminal_safe(e.by)}: {e.from_status} → {e.to_status}"
            f"  {terminal_safe(e.note)}"
            for e in events
        ] or ["  (none)"]
        click.echo("\n".join(lines))


@review.command("mark")
@config_option
@click.argument("post_id", type=int)
@click.argument("status", type=click.Choice(["handled", "false_positive", "escalated", "new"]))
@click.option("--note", default="", help="Why (kept in the audit trail).")
@click.option("--by", "by", default=None, help="Who (default: the login name).")
def mark_cmd(config_path: str | None, post_id: int, status: str, note: str, by: str | None) -> None:
    """Mark a post handled, false_positive or escalated (every change is audited)."""
    from yuqing.review import ReviewError, mark
    from yuqing.store.db import session_scope

    settings = load_or_exit(config_path)
    url = open_database(settings)
    who = by or getpass.getuser()
    try:
        with session_scope(url) as session:
            event = mark(session, post_id, status, who, note)
            click.echo(f"#{post_id}: {event.from_status} → {event.to_status} by {event.by}")
    except ReviewError as error:
        fail(str(error))


@review.command("report")
@config_option
@click.option("--days", default=30, show_default=True, help="Posts first seen in the last N days.")
@click.option("--target-hours", default=24, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def report_cmd(config_path: str | None, days: int, target_hours: int, as_json: bool) -> None:
    """How fast flagged posts were first handled (target: 90 % within 24 h)."""
    from yuqing.review import count_by_status, handling_report
    from yuqing.store.db import session_scope
    from yuqing.store.models import utcnow

    settings = load_or_exit(config_path)
    url = open_database(settings)
    with session_scope(url) as session:
        rep = handling_report(
            session, since=utcnow() - timedelta(days=days), target=timedelta(hours=target_hours)
        )
        statuses = count_by_status(session)
    ratio = rep.in_target_ratio
    data = {
        "days": days,
        "flagged": rep.flagged,
        "handled_in_target": rep.handled_in_target,
        "handled_late": rep.handled_late,
        "open_overdue": rep.open_overdue,
        "open_not_yet_due": rep.open_in_time,
        "in_target_ratio": ratio,
        "median_hours_to_first_handling": rep.median_hours,
        "by_status": statuses,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    pct = "n/a" if ratio is None else f"{ratio:.0%}"
    verdict = "" if ratio is None else ("  ✓ meets 90 %" if ratio >= 0.9 else "  ✗ below 90 %")
    click.echo(f"last {days} days: {rep.flagged} flagged posts")
    click.echo(f"first handled within {target_hours} h: {pct}{verdict}")
    click.echo(
        f"  in time {rep.handled_in_target}, late {rep.handled_late}, "
        f"open and overdue {rep.open_overdue}, open not yet due {rep.open_in_time}"
    )
    median = "-" if rep.median_hours is None else f"{rep.median_hours:.1f} h"
    click.echo(f"median time to first handling: {median}")


def _category_text(settings, categories: list[str] | None) -> str:  # noqa: ANN001
    """``催收 (collection), 利率/费用 (fees)``: the taxonomy's names, with the ids filters use."""
    if not categories:
        return "-"
    try:
        taxonomy = settings.sentiment.taxonomy()
    except Exception:  # noqa: BLE001 - the ids alone still say it
        return ", ".join(categories)
    return ", ".join(f"{taxonomy.display_name(c)} ({c})" for c in categories)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _post_dict(post) -> dict:  # noqa: ANN001 - a Post
    return {
        "id": post.id,
        "url": post.url,
        "source": post.source,
        "title": post.title,
        "author": post.author,
        "published_at": post.published_at.isoformat() + "Z" if post.published_at else None,
        "label": post.label,
        "score": post.score,
        "severity": post.severity,
        "categories": post.categories,
        "status": post.review_status,
        "deciding_sentence": post.deciding_sentence,
        "matched_terms": post.matched_terms,
    }
