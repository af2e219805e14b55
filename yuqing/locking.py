"""One cycle at a time: ``yuqing run`` (cron) and ``yuqing daemon`` never overlap.

SQLite: a file lock beside the database file (one host). PostgreSQL: a session-level advisory
lock, so several servers sharing one database also never overlap. Either way the lock dies with
the process, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from yuqing.settings import Settings
from yuqing.store.db import engine_for, normalise_url

ADVISORY_LOCK_KEY = 0x79757169  # "yuqi"


class AlreadyRunning(RuntimeError):
    """Another ``yuqing run`` or ``yuqing daemon`` holds the lock."""


def lock_path_for(settings: Settings) -> Path:
    """Where the SQLite file lock lives: ``scheduler.lock_file`` if set, else
    ``<database file>.lock``."""
    if settings.scheduler.lock_file:
        return Path(settings.scheduler.lock_file)
    database = make_url(normalise_url(settings.database.url)).database
    if not database or database == ":memory:":
        return Path("yuqing.lock")
    return Path(database + ".lock")


@contextmanager
def cycle_lock(settings: Settings) -> Iterator[None]:
    """Hold the cycle lock for the ``with`` block; ``AlreadyRunning`` if someone else has it."""
    url = normalise_url(settings.database.url)
    if make_url(url).get_backend_name() == "postgresql":
        with _advisory_lock(url):
            yield
        return
    from filelock import FileLock, Timeout

    path = lock_path_for(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AlreadyRunning(f"another yuqing run/daemon holds {path}") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    connection = engine_for(url).connect()
    try:
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
        ).scalar()
        connection.commit()
        if not got:
            raise AlreadyRunning("another yuqing run/daemon holds the database's advisory lock")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()
    finally:
        connection.close()
