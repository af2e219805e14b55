"""``yuqing crawl SOURCE [--dry-run] [--no-match] [--config FILE]``: crawl one source now.

Runs the same child process as the collect step (``python -m crawler.run``), with its output
passed through: with ``--dry-run`` each post that would be stored is a JSON line on stdout and
the summary (pages, errors, drop reasons) is on stderr — the way to debug selectors for a new
site. Importing this module loads no Scrapy.
"""

from __future__ import annotations

import subprocess

import click

from yuqing.cli_common import config_option, load_or_exit


@click.command("crawl")
@click.argument("source")
@click.option(
    "--dry-run", is_flag=True, help="Store nothing; print what would be stored as JSON lines."
)
@click.option("--no-match", is_flag=True, help="Keep posts that do not mention the institution.")
@click.option("--verbose", "-v", is_flag=True, help="Show Scrapy's log (INFO) on stderr.")
@config_option
def crawl(
    source: str, dry_run: bool, no_match: bool, verbose: bool, config_path: str | None
) -> None:
    """Crawl SOURCE now (a source name from the config)."""
    from yuqing.collect import child_env, crawl_command

    settings = load_or_exit(config_path)
    names = [s.name for s in settings.sources]
    if source not in names:
        click.echo(f"unknown source {source!r} (known: {', '.join(names) or 'none'})", err=True)
        raise SystemExit(2)
    if not dry_run:
        from yuqing.cli_common import open_database

        open_database(settings)
    command = crawl_command(
        settings,
        source,
        dry_run=dry_run,
        no_match=no_match,
        log_level="INFO" if verbose else "WARNING",
    )
    try:
        code = subprocess.call(command, env=child_env())
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
