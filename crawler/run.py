"""Run one source's crawl in this process: ``python -m crawler.run --config FILE SOURCE``.

The collect step starts one such child per crawl (a Twisted reactor cannot be restarted, and a
child can be killed on a hard timeout). ``--dry-run`` stores nothing and prints each post that
would be stored as a JSON line on stdout. A summary goes to stderr either way. Exit codes: 0 ok/partial,
1 failed/blocked/killed, 2 bad config or unknown source.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("source")
    parser.add_argument("--config", default=None, help="config file (default: $YUQING_CONFIG, …)")
    parser.add_argument("--dry-run", action="store_true", help="store nothing; print JSON lines")
    parser.add_argument("--no-match", action="store_true", help="keep posts that mention nobody")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting (tests, benchmarks)",
    )
    return parser.parse_args(argv)


def _load(path: str | None) -> Any:
    from yuqing.settings import ConfigError, load_settings

    try:
        return load_settings(path)
    except ConfigError as exc:
        where = f"{exc.path}: " if exc.path else ""
        for problem in exc.problems:
            print(f"{where}{problem}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None


def scrapy_settings(
    config_path: str, dry_run: bool, no_match: bool, log_level: str, overrides: list[str]
) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("YUQING_CONFIG", config_path, priority="cmdline")
    settings.set("YUQING_DRY_RUN", dry_run, priority="cmdline")
    settings.set("YUQING_NO_MATCH", no_match, priority="cmdline")
    settings.set("LOG_LEVEL", log_level.upper(), priority="cmdline")
    for override in overrides:
        name, _, value = override.partition("=")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        settings.set(name.strip(), parsed, priority="cmdline")
    return settings


def print_summary(summary: dict[str, Any], stream: Any) -> None:
    """A short human summary: pages, posts, drops, errors, HTTP statuses."""

    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(values.items())) or "none"

    print(
        f"source {summary['source']}: {summary['status']} — pages {summary['pages']}, "
        f"items {summary['items']}, stored/would store {summary['new_posts']}, "
        f"updated {summary['updated_posts']}",
        file=stream,
    )
    print(f"  dropped: {counts(summary['dropped'])}", file=stream)
    print(f"  errors: {counts(summary['errors'])}", file=stream)
    print(f"  http: {counts(summary['http_status'])}", file=stream)
    for sample in summary["error_samples"][:5]:
        print(f"  e.g. {sample['kind']}: {sample['message']}", file=stream)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    config = _load(args.config)
    try:
        config.source(args.source)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return EXIT_USAGE
    if not args.dry_run:
        from yuqing.store.db import upgrade

        upgrade(config.database.url)
    from scrapy.crawler import CrawlerProcess

    settings = scrapy_settings(
        config.config_path or args.config or "",
        args.dry_run,
        args.no_match,
        args.log_level,
        args.set,
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(args.source)
    process.crawl(crawler)
    process.start()
    from crawler.report import report_for

    summary = report_for(crawler).summary()
    recorder_status = None
    for extension in getattr(crawler.extensions, "middlewares", []):
        recorder_status = getattr(extension, "final_status", None) or recorder_status
    status = recorder_status or summary["status"]
    summary["status"] = status
    print_summary(summary, sys.stderr)
    return EXIT_OK if status in ("ok", "partial") else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
