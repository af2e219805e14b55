"""The key that signs the console's session cookie.

Taken from ``$YUQING_CONSOLE_SECRET`` when set. Otherwise generated once and kept in a file
readable only by its owner (mode 0600) beside the SQLite database (``<db>.console-secret``), or,
for PostgreSQL, beside the config file (else in the working directory) — so sessions survive a
restart and every console process serving the same database agrees on the key. The key itself is
never printed; only where it lives.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

ENV_VAR = "YUQING_CONSOLE_SECRET"
FILE_SUFFIX = ".console-secret"
MIN_ENV_LENGTH = 16
log = logging.getLogger(__name__)


class SecretError(ValueError):
    """No usable signing key (too short in the environment, unreadable file)."""


def secret_file_for(database_url: str, config_path: str | None) -> Path:
    """Where the generated key is kept for this database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db_path = Path(url.database).expanduser()
        return db_path.with_name(db_path.name + FILE_SUFFIX)
    folder = Path(config_path).resolve().parent if config_path else Path.cwd()
    return folder / f"yuqing{FILE_SUFFIX}"


def load_secret(
    database_url: str, config_path: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """``(key, where it came from)``: the environment, else the 0600 file (created if absent)."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_VAR, "").strip()
    if value:
        if len(value) < MIN_ENV_LENGTH:
            raise SecretError(f"{ENV_VAR} is too short (use at least {MIN_ENV_LENGTH} characters)")
        return value, f"${ENV_VAR}"
    path = secret_file_for(database_url, config_path)
    return _read_or_create(path), str(path)


def _read_or_create(path: Path) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing(path)
    except OSError as exc:
        raise SecretError(f"cannot create {path}: {exc.strerror}") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    log.info("generated the console signing key in %s", path)
    return key


def _read_existing(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); set it to 0600", path, mode)
        path.chmod(0o600)
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read {path}: {exc}") from None
    if len(key) < MIN_ENV_LENGTH:
        raise SecretError(f"{path} holds no usable key; delete it to generate a new one")
    return key
