"""One monitoring cycle: collect → analyze → alert → deliver.

Each step reads and writes only the database and is safe to re-run, so a step that fails is
logged and the later steps still run (a crawl that breaks must not hold back the delivery of
alerts already in the outbox). ``yuqing run`` calls ``run_cycle`` once under the cycle lock;
the daemon schedules the same step functions separately.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yuqing.settings import Settings
from yuqing.store.models import utcnow

log = logging.getLogger("yuqing.cycle")

STEPS = ("collect", "analyze", "alert", "deliver")


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: Any = None
    error: str | None = None


@dataclass
class CycleReport:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def lines(self) -> list[str]:
        out = []
        for step in self.steps:
            state = "ok" if step.ok else f"FAILED: {step.error}"
            detail = f" — {step.detail}" if step.ok and step.detail not in (None, "") else ""
            out.append(f"{step.name:<8} {state} ({step.seconds:.1f}s){detail}")
        return out


def collect_step(
    settings: Settings, stop: threading.Event | None = None, only: list[str] | None = None
) -> Any:
    """Crawl the sources that are due (or exactly ``only``), each in its own child process."""
    from yuqing.collect import crawl_sources, due_sources

    names = only if only is not None else due_sources(settings, utcnow())
    if not names:
        return "no source due"
    outcomes = crawl_sources(settings, names, stop)
    return _describe(outcomes)


def analyze_step(settings: Settings, stop: threading.Event | None = None) -> Any:
    from yuqing.analyze import analyze_pending

    return f"{analyze_pending(settings)} posts scored"


def alert_step(settings: Settings, stop: threading.Event | None = None) -> Any:
    from alerts.engine import evaluate

    return _summary(evaluate(settings))


def deliver_step(settings: Settings, stop: threading.Event | None = None) -> Any:
    from alerts.outbox import deliver_due

    return _summary(deliver_due(settings))


STEP_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "collect": collect_step,
    "analyze": analyze_step,
    "alert": alert_step,
    "deliver": deliver_step,
}


def run_step(
    name: str, settings: Settings, stop: threading.Event | None = None, **kwargs: Any
) -> StepResult:
    """Run one step; an exception becomes a failed ``StepResult`` (and a log line), not a crash."""
    started = time.monotonic()
    try:
        detail = STEP_FUNCTIONS[name](settings, stop, **kwargs)
    except Exception as error:  # noqa: BLE001 - a step's failure must not stop the others
        log.exception("step %s failed", name)
        return StepResult(
            name, False, time.monotonic() - started, error=f"{type(error).__name__}: {error}"
        )
    return StepResult(name, True, time.monotonic() - started, detail=detail)


def run_cycle(
    settings: Settings,
    stop: threading.Event | None = None,
    sources: list[str] | None = None,
    skip: tuple[str, ...] = (),
) -> CycleReport:
    """Run every step once, in order. ``sources`` forces which sources are crawled."""
    report = CycleReport()
    for name in STEPS:
        if name in skip:
            continue
        if stop is not None and stop.is_set():
            break
        kwargs = {"only": sources} if name == "collect" else {}
        report.steps.append(run_step(name, settings, stop, **kwargs))
    return report


def _summary(report: Any) -> Any:
    """A report's one-line ``summary()`` when it has one (what an operator reads in the log)."""
    summary = getattr(report, "summary", None)
    return summary() if callable(summary) else report


def _describe(outcomes: Any) -> str:
    parts = []
    for outcome in outcomes:
        run = f"run #{outcome.run_id}, " if getattr(outcome, "run_id", None) else ""
        message = f": {outcome.message}" if getattr(outcome, "message", "") else ""
        parts.append(f"{outcome.source} {outcome.status} ({run}{outcome.duration_s:.1f}s){message}")
    return "; ".join(parts)
