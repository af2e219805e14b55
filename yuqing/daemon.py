"""``yuqing daemon``: the cycle's steps on APScheduler schedules until SIGTERM/SIGINT.

Design (a) of design.md: every crawl runs in a child process, so the daemon itself never runs a
Twisted reactor and APScheduler's plain ``BackgroundScheduler`` is enough. On SIGTERM the daemon
sets a stop event (the collect step kills its crawl children and records them as ``killed``),
then shuts the scheduler down waiting for running jobs, and exits 0. Each step is one job with
``max_instances=1`` and ``coalesce=True``: a slow step is never run twice at once, and missed
runs collapse into one.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType

from yuqing.cycle import run_step
from yuqing.locking import cycle_lock
from yuqing.settings import Settings

log = logging.getLogger("yuqing.daemon")
COLLECT_CHECK_EVERY = timedelta(seconds=60)
"""How often the daemon asks which sources are due (each source keeps its own schedule)."""


def step_intervals(settings: Settings) -> dict[str, timedelta]:
    scheduler = settings.scheduler
    schedules = [s.schedule for s in settings.sources if s.enabled and s.schedule]
    collect = min([COLLECT_CHECK_EVERY, scheduler.crawl_every, *schedules])
    return {
        "collect": collect,
        "analyze": scheduler.analyze_every,
        "alert": scheduler.alert_every,
        "deliver": scheduler.deliver_every,
    }


def run_daemon(
    settings: Settings, stop: threading.Event | None = None, install_signal_handlers: bool = True
) -> int:
    """Run until ``stop`` is set (by SIGTERM/SIGINT when handlers are installed). Exit code."""
    from apscheduler.schedulers.background import BackgroundScheduler

    stop = stop or threading.Event()
    if install_signal_handlers:
        _install_handlers(stop)
    with cycle_lock(settings):
        scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 3600},
        )
        for name, every in step_intervals(settings).items():
            scheduler.add_job(
                _job,
                "interval",
                seconds=max(1, int(every.total_seconds())),
                args=(name, settings, stop),
                id=name,
                name=name,
                next_run_time=_aware_now(),
            )
        scheduler.start()
        log.info(
            "daemon started: %s",
            ", ".join(
                f"{n} every {int(e.total_seconds())}s" for n, e in step_intervals(settings).items()
            ),
        )
        stop.wait()
        log.info("stopping: waiting for running steps to finish")
        scheduler.shutdown(wait=True)
    log.info("daemon stopped")
    return 0


def _aware_now():  # noqa: ANN202
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _job(name: str, settings: Settings, stop: threading.Event) -> None:
    if stop.is_set():
        return
    result = run_step(name, settings, stop)
    if result.ok:
        log.info("%s ok (%.1fs) %s", name, result.seconds, result.detail or "")
    else:
        log.error("%s failed (%.1fs): %s", name, result.seconds, result.error)


def _install_handlers(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
