"""What every CLI command shares: the ``--config`` option, loading config the one way, opening
the database (migrations applied), and masking secrets in anything printed.

Kept free of heavy imports (no Scrapy, no model) so ``yuqing --help`` is instant.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from yuqing.settings import ConfigError, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])
EXIT_CONFIG = 2


def config_option(func: F) -> F:
    """``--config FILE`` (default: $YUQING_CONFIG, ./config/yuqing.yaml, else the demo config)."""
    return click.option(
        "--config",
        "-c",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        envvar="YUQING_CONFIG",
        show_envvar=True,
        help="Config file (default: ./config/yuqing.yaml, else the built-in demo config).",
    )(func)


def load_or_exit(path: str | None) -> Settings:
    """Settings, or one line per problem on stderr and exit code 2 — never a traceback."""
    try:
        return load_settings(path)
    except ConfigError as error:
        report_config_error(error)
        raise SystemExit(EXIT_CONFIG) from None


def report_config_error(error: ConfigError) -> None:
    prefix = f"{error.path}: " if error.path else ""
    for problem in error.problems:
        click.echo(f"config error: {prefix}{problem}", err=True)


def open_database(settings: Settings) -> str:
    """Apply pending migrations (idempotent) and return the database URL."""
    from yuqing.store.db import upgrade

    try:
        upgrade(settings.database.url)
    except Exception as error:  # noqa: BLE001 - any driver error is reported as one line
        click.echo(
            f"database error: {mask_url(settings.database.url)}: {_first_line(error)}", err=True
        )
        raise SystemExit(1) from None
    return settings.database.url


_URL_SECRET = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@", re.IGNORECASE
)
_QUERY_SECRET = re.compile(
    r"(?P<key>(?:access_token|token|key|secret|sign|password)=)[^&\s]+", re.IGNORECASE
)


def mask_url(url: str) -> str:
    """Hide passwords and token query parameters in a URL before it is printed or logged."""
    masked = _URL_SECRET.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)
    masked = _QUERY_SECRET.sub(lambda m: f"{m['key']}***", masked)
    return re.sub(r"(hooks\.slack\.com/services/)[^\s\"']+", r"\1***", masked)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def fail(message: str, code: int = 1) -> None:
    """Print ``error: message`` and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def terminal_safe(text: str | None) -> str:
    """Post text is hostile: drop control characters (ANSI escapes, bidi overrides) before it
    reaches a terminal."""
    from yuqing.display import clean

    return clean(text)
