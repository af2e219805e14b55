"""``yuqing demo``: the whole loop, offline, in about a minute.

It starts the built-in demo site (a forum and a news feed about the fictional lender
中鼎经纬) and a local webhook receiver, then runs real cycles — Scrapy crawls in child
processes, scoring, rule evaluation, signed delivery — into a real SQLite file. Between cycles a
burst of complaints appears on the forum; the spike alert the receiver gets is printed, with its
signature verified the way a receiving service would.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import click

from yuqing.cli_common import open_database, report_config_error, terminal_safe
from yuqing.settings import DEMO_CONFIG, ConfigError, Settings, load_settings

DEMO_SECRET = "demo-secret"


def _env_for(site_url: str, hook_url: str, db_path: Path) -> dict[str, str]:
    return {
        "YUQING_DEMO_URL": site_url.rstrip("/"),
        "YUQING_DEMO_WEBHOOK_URL": hook_url,
        "YUQING_DATABASE_URL": f"sqlite:///{db_path}",
        "YUQING_WEBHOOK_SECRET": DEMO_SECRET,
    }


def _print_report(title: str, report) -> None:  # noqa: ANN001 - a CycleReport
    click.secho(f"\n== {title}", bold=True)
    for line in report.lines():
        click.echo(f"   {line}")


def _print_alerts(received: list, already: int, directory: Path) -> int:
    """Show each new message as a PR person would read it; keep the full payload in a file."""
    severity_names = {"red": "红", "orange": "橙", "yellow": "黄"}
    for number, message in enumerate(received[already:], start=already + 1):
        payload = message.payload
        saved = directory / f"alert-{number}.json"
        saved.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        click.secho(
            f"\n== alert received by the webhook (HMAC signature verified, "
            f"Idempotency-Key {message.idempotency_key})",
            bold=True,
            fg="green",
        )
        for alert in payload.get("alerts", []):
            annotations = alert.get("annotations", {})
            click.echo(f"   {terminal_safe(annotations.get('summary', ''))}")
            if annotations.get("description"):
                click.echo(f"   {terminal_safe(annotations['description'])}")
        for post in payload.get("posts", [])[:5]:
            mark = severity_names.get(post.get("severity") or "", "·")
            categories = ", ".join(post.get("categories") or [])
            click.echo(
                f"     {mark} {terminal_safe(post.get('title', ''))[:40]}  "
                f"[{post.get('source')}; score {post.get('score')}; {categories}]"
            )
        click.echo(f"   full payload: {saved}")
    return len(received)


@click.command("demo")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    default="yuqing-demo",
    show_default=True,
    help="Where the demo's SQLite file and lock go.",
)
@click.option("--keep", is_flag=True, help="Keep the database of an earlier demo run.")
@click.option(
    "--cycles", default=2, show_default=True, help="Cycles to run after the burst appears."
)
def demo(workdir: str, keep: bool, cycles: int) -> None:
    """Run the offline demo: site, crawl, score, spike alert, signed webhook."""
    from yuqing.demo.receiver import WebhookReceiver
    from yuqing.demo.site import DemoSite

    directory = Path(workdir).resolve()
    if directory.exists() and not keep:
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "yuqing-demo.db"

    with DemoSite() as site, WebhookReceiver(secret=DEMO_SECRET) as receiver:
        os.environ.update(_env_for(site.url, receiver.url, db_path))
        try:
            settings = load_settings(DEMO_CONFIG)
        except ConfigError as error:
            report_config_error(error)
            raise SystemExit(2) from None
        open_database(settings)
        click.secho(f"demo site     {site.url}  (forum + RSS news about 中鼎经纬)", bold=True)
        click.secho(f"webhook       {receiver.url}  (checks the HMAC signature)", bold=True)
        click.secho(f"database      {db_path}", bold=True)
        seen = _run_demo_cycles(settings, site, receiver, cycles, directory)

    click.secho("\n== what next", bold=True)
    if seen == 0:
        click.secho("   no alert reached the receiver — see `yuqing status` below", fg="red")
    env = f"YUQING_DATABASE_URL=sqlite:///{db_path} {_yuqing_command()}"
    click.echo(f"   the posts are in {db_path}")
    click.echo(f"   review flagged posts:   {env} review list")
    click.echo(f"   read one:               {env} review show ID")
    click.echo(f"   mark it:                {env} review mark ID handled --note '已回电' --by 张三")
    click.echo(f"   source health, outbox:  {env} status")
    click.echo(f"   alerts and deliveries:  {env} alerts list")
    raise SystemExit(0 if seen else 1)


def _yuqing_command() -> str:
    """How the user can run ``yuqing`` again: the script beside this Python (``.venv/bin/yuqing``
    after ``make demo``, which is not on PATH), shown relative to the working directory."""
    script = Path(sys.executable).parent / "yuqing"
    if not script.exists() or shutil.which("yuqing") == str(script):
        return "yuqing"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _run_demo_cycles(
    settings: Settings,
    site,
    receiver,
    cycles: int,  # noqa: ANN001
    directory: Path,
) -> int:
    from sqlalchemy import func, select

    from yuqing.cycle import run_cycle
    from yuqing.locking import cycle_lock
    from yuqing.store.db import session_scope
    from yuqing.store.models import Post

    names = [source.name for source in settings.sources]
    with cycle_lock(settings):
        _print_report(
            "cycle 1: crawl the site as it is (3 days of history)",
            run_cycle(settings, sources=names),
        )
        with session_scope(settings.database.url) as session:
            total = session.scalar(select(func.count()).select_from(Post))
            negative = session.scalar(
                select(func.count()).select_from(Post).where(Post.label == "negative")
            )
        click.echo(f"   stored {total} posts about 中鼎经纬, {negative} negative")
        seen = _print_alerts(receiver.received, 0, directory)

        released = site.release_burst()
        count = f"{released} " if isinstance(released, int) else ""
        click.secho(f"\n** a burst of {count}complaints appears on the forum **", fg="yellow")
        for number in range(cycles):
            _print_report(
                f"cycle {number + 2}: crawl again, score, evaluate rules, deliver",
                run_cycle(settings, sources=names),
            )
            seen = _print_alerts(receiver.received, seen, directory)
    return seen
