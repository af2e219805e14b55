"""The collect step: crawl the sources that are due, each in its own child process.

A Twisted reactor cannot be restarted, so every crawl runs as ``python -m crawler.run`` (as
Scrapyd does): full isolation, a hard timeout by killing the child, and a daemon that never
holds a reactor. At most ``scheduler.max_parallel_crawls`` children run at once. When ``stop``
is set (SIGTERM in the daemon) the children get SIGTERM (Scrapy closes the spider cleanly), then
SIGKILL after a grace period; their runs are recorded as ``killed``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from yuqing.settings import Settings
from yuqing.store.models import CrawlRun, utcnow

logger = logging.getLogger(__name__)
TERMINATE_GRACE_S = 2.0
"""After SIGTERM, how long a crawl child may take to close its spider cleanly. Then a second
SIGTERM (Scrapy's "unclean shutdown": stop without waiting for in-flight downloads), and after
the same grace again SIGKILL."""
POLL_S = 0.1
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CrawlOutcome:
    """How one crawl child ended. ``status`` is the CrawlRun's (``ok`` … ``killed``)."""

    source: str
    status: str
    returncode: int | None
    run_id: int | None
    duration_s: float
    message: str = ""


def due_sources(settings: Settings, now: datetime | None = None) -> list[str]:
    """Enabled sources whose schedule has elapsed since their last crawl started."""
    from yuqing.store.posts import last_run_times

    now = now or utcnow()
    last = last_run_times(settings.database.url)
    due: list[str] = []
    for source in settings.sources:
        if not source.enabled:
            continue
        every = source.schedule or settings.scheduler.crawl_every
        started = last.get(source.name)
        if started is None or now - started >= every:
            due.append(source.name)
    return due


def crawl_command(
    settings: Settings,
    source: str,
    *,
    dry_run: bool = False,
    no_match: bool = False,
    log_level: str = "WARNING",
    extra: Sequence[str] = (),
) -> list[str]:
    """The child's command line (the same one ``yuqing crawl`` runs)."""
    command = [sys.executable, "-m", "crawler.run", "--log-level", log_level]
    if settings.config_path:
        command += ["--config", settings.config_path]
    if dry_run:
        command.append("--dry-run")
    if no_match:
        command.append("--no-match")
    return [*command, *extra, source]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)
    return env


def _run_status(db_url: str, source: str, pid: int) -> tuple[int | None, str | None]:
    from sqlalchemy import select

    from yuqing.store.db import session_scope

    with session_scope(db_url) as session:
        run = session.scalars(
            select(CrawlRun)
            .where(CrawlRun.source == source, CrawlRun.pid == pid)
            .order_by(CrawlRun.id.desc())
            .limit(1)
        ).first()
        return (run.id, run.status) if run is not None else (None, None)


def _stop_child(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    for attempt in (process.terminate, process.terminate, process.kill):
        attempt()
        try:
            process.wait(timeout=TERMINATE_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def crawl_one(
    settings: Settings,
    source: str,
    stop: threading.Event | None = None,
    timeout_s: float | None = None,
) -> CrawlOutcome:
    """Run one crawl child to its end, its timeout, or ``stop``."""
    from yuqing.store.posts import mark_killed

    timeout = (
        timeout_s if timeout_s is not None else settings.scheduler.crawl_timeout.total_seconds()
    )
    started_at = utcnow()
    started = time.monotonic()
    process = subprocess.Popen(
        crawl_command(settings, source),
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    stderr_tail: list[bytes] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            stderr_tail.append(line)
            del stderr_tail[:-20]

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    reason = ""
    while process.poll() is None:
        if stop is not None and stop.is_set():
            reason = "stopped (shutdown)"
        elif time.monotonic() - started > timeout:
            reason = f"killed after the {timeout:.0f}s crawl timeout"
        if reason:
            logger.warning("crawl of %s %s", source, reason)
            _stop_child(process)
            break
        if stop is not None:
            stop.wait(POLL_S)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=POLL_S)
    reader.join(timeout=2)
    duration = time.monotonic() - started
    db_url = settings.database.url
    if reason:
        run_id = mark_killed(
            db_url,
            source,
            process.pid,
            reason,
            started_at=started_at,
            count_failure=not reason.startswith("stopped"),
        )
        return CrawlOutcome(source, "killed", process.returncode, run_id, duration, reason)
    run_id, status = _run_status(db_url, source, process.pid)
    message = b"".join(stderr_tail[-5:]).decode("utf-8", "replace").strip()
    if status in (None, "running"):
        # the child died without closing its run (crash, OOM): record it, never leave it running
        run_id = mark_killed(
            db_url,
            source,
            process.pid,
            f"crawl process exited with {process.returncode}: {message[-300:]}",
            started_at=started_at,
        )
        status = "killed" if process.returncode != 2 else "failed"
    return CrawlOutcome(
        source, status, process.returncode, run_id, duration, message if process.returncode else ""
    )


def crawl_sources(
    settings: Settings, names: Sequence[str], stop: threading.Event | None = None
) -> list[CrawlOutcome]:
    """Crawl ``names``, at most ``scheduler.max_parallel_crawls`` at once, in the given order."""
    if not names:
        return []
    from yuqing.store.db import upgrade

    upgrade(settings.database.url)
    workers = min(settings.scheduler.max_parallel_crawls, len(names))

    def job(name: str) -> CrawlOutcome:
        if stop is not None and stop.is_set():
            return CrawlOutcome(name, "skipped", None, None, 0.0, "not started: stopping")
        return crawl_one(settings, name, stop)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl") as pool:
        return list(pool.map(job, names))
