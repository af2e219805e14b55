"""The ``yuqing`` command. Commands from other areas are imported only when used, so
``yuqing --help`` and ``yuqing check-config`` load neither Scrapy nor the sentiment model."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from yuqing.cli_common import (
    config_option,
    fail,
    load_or_exit,
    mask_url,
    open_database,
    report_config_error,
)

LAZY_COMMANDS = {
    "crawl": ("yuqing.cli_crawl", "crawl", "Crawl one source now (--dry-run to try selectors)."),
    "review": ("yuqing.cli_review", "review", "Review flagged posts: list, show, mark, report."),
    "sentiment": ("yuqing.cli_sentiment", "sentiment", "Train and evaluate the sentiment model."),
    "alerts": (
        "yuqing.cli_alerts",
        "alerts",
        "Alerts, silences, channels, dead letters, backtest.",
    ),
    "console": ("yuqing.cli_console", "console", "The review web console: serve, add-user."),
    "demo": ("yuqing.demo.runner", "demo", "Run the offline demo: site, crawl, alert, webhook."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands live in other modules, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attribute, _ = LAZY_COMMANDS[cmd_name]
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(60)) for name, cmd in self.commands.items()]
        rows += [(name, help_text) for name, (_, _, help_text) in LAZY_COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="yuqing")
def main(verbose: int) -> None:
    """yuqing — 舆情 monitoring: crawl, score, alert, review."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command("check-config")
@click.argument("path", required=False)
@config_option
def check_config(path: str | None, config_path: str | None) -> None:
    """Validate a config file: prints OK, or one line per problem and exits 2."""
    from yuqing.settings import ConfigError, load_settings

    try:
        load_settings(path or config_path)
    except ConfigError as error:
        report_config_error(error)
        sys.exit(2)
    click.echo("OK")


@main.group("db")
def db() -> None:
    """Database schema (Alembic migrations; applied automatically on start)."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: str | None) -> None:
    """Apply pending migrations."""
    from yuqing.store.db import current_revision

    settings = load_or_exit(config_path)
    url = open_database(settings)
    click.echo(f"{mask_url(url)} at revision {current_revision(url)}")


@main.command("run")
@config_option
@click.option("--source", "sources", multiple=True, help="Crawl these sources (default: due ones).")
@click.option(
    "--skip", multiple=True, type=click.Choice(["collect", "analyze", "alert", "deliver"])
)
def run_cmd(config_path: str | None, sources: tuple[str, ...], skip: tuple[str, ...]) -> None:
    """One cycle (collect, analyze, alert, deliver), then exit — for cron."""
    from yuqing.cycle import run_cycle
    from yuqing.locking import AlreadyRunning, cycle_lock

    settings = load_or_exit(config_path)
    open_database(settings)
    for name in sources:
        try:
            settings.source(name)
        except KeyError as error:
            fail(str(error).strip("'\""), 2)
    try:
        with cycle_lock(settings):
            report = run_cycle(settings, sources=list(sources) or None, skip=skip)
    except AlreadyRunning as error:
        click.echo(f"already running: {error}; nothing done", err=True)
        sys.exit(3)
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


@main.command("daemon")
@config_option
def daemon_cmd(config_path: str | None) -> None:
    """Run the steps on schedules until SIGTERM/SIGINT."""
    from yuqing.daemon import run_daemon
    from yuqing.locking import AlreadyRunning

    settings = load_or_exit(config_path)
    open_database(settings)
    logging.getLogger("yuqing").setLevel(min(logging.getLogger().level, logging.INFO))
    try:
        sys.exit(run_daemon(settings))
    except AlreadyRunning as error:
        click.echo(f"already running: {error}", err=True)
        sys.exit(3)


@main.command("status")
@config_option
@click.option("--json", "as_json", is_flag=True)
def status_cmd(config_path: str | None, as_json: bool) -> None:
    """Per source: last crawl, result, counts; pending and failed deliveries."""
    from yuqing.status import collect_status, render_status

    settings = load_or_exit(config_path)
    url = open_database(settings)
    status = collect_status(settings, url)
    if as_json:
        import json

        click.echo(json.dumps(status, ensure_ascii=False, default=str, indent=2))
    else:
        click.echo(render_status(status))


if __name__ == "__main__":  # pragma: no cover
    main()
