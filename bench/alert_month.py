"""A simulated month of negative posts with daily seasonality and injected bursts.

    python bench/alert_month.py [--seed 1] [--every 10m] [--json]

The stream: a quiet night (≈0.3 negative posts an hour), a busy day (≈3 an hour at 14:00),
weekends at 70 %, and 16 bursts of 4, 8, 15 and 30 extra posts (four of each) spread over
45 minutes at random times after the first two days. Detectors on the same stream:

* yuqing ``spike`` (ratio 3 and Poisson p < 0.001, min 3 posts, 6 baseline hours), evaluated by
  ``alerts.backtest`` — the real engine over a real SQLite file — every ``--every``;
* the same with ``seasonality: daily`` (baseline = the larger of the previous 6 hours and the
  same hour on the previous 7 days);
* ElastAlert2's two-window ``spike`` rule (``timeframe: 1h``, ``spike_height: 3``,
  ``spike_type: up``), re-implemented below from ``elastalert/ruletypes.py`` (``SpikeRule``,
  ``EventWindow``): events fed in order, ``garbage_collect`` at every run, windows cleared and
  the rule blind for 2 × timeframe after each match, state in memory — once with its defaults
  (``threshold_cur: 0``) and once tuned (``threshold_cur: 3``), and the tuned one again with a
  restart every day at 03:00 (a deploy or a cron'd process), which empties its windows.

A burst is *caught* when a detector fires between its start and one hour after its end;
*delay* is from the burst's start. Anything else that fires is a *false alert*.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.backtest import backtest  # noqa: E402
from yuqing.settings import parse_duration, settings_from_mapping  # noqa: E402

START = datetime(2026, 10, 1)
DAYS = 30
BURST_SIZES = (4, 8, 15, 30)
BURST_SPREAD = timedelta(minutes=45)


@dataclass
class Burst:
    start: datetime
    size: int

    @property
    def end(self) -> datetime:
        return self.start + BURST_SPREAD


def rate(moment: datetime) -> float:
    """Negative posts an hour: night ≈ 0.3, 14:00 ≈ 3, weekends at 70 %."""
    hour = moment.hour + moment.minute / 60
    day = 0.3 + 2.7 * max(0.0, math.sin(math.pi * (hour - 7) / 15)) ** 2 if 7 <= hour <= 22 else 0.3
    return day * (0.7 if moment.weekday() >= 5 else 1.0)


def stream(seed: int) -> tuple[list[datetime], list[Burst]]:
    rng = random.Random(seed)
    times: list[datetime] = []
    minute = START
    end = START + timedelta(days=DAYS)
    while minute < end:  # a Poisson process, thinned minute by minute
        if rng.random() < rate(minute) / 60:
            times.append(minute + timedelta(seconds=rng.random() * 60))
        minute += timedelta(minutes=1)
    bursts: list[Burst] = []
    sizes = [s for s in BURST_SIZES for _ in range(4)]
    rng.shuffle(sizes)
    for size in sizes:
        while True:
            at = (
                START
                + timedelta(days=2)
                + timedelta(minutes=rng.randrange(0, (DAYS - 3) * 24 * 60))
            )
            if all(abs((at - b.start).total_seconds()) > 8 * 3600 for b in bursts):
                break
        bursts.append(Burst(at, size))
        times += [at + BURST_SPREAD * rng.random() for _ in range(size)]
    return sorted(times), sorted(bursts, key=lambda b: b.start)


# -- ElastAlert2's SpikeRule, faithfully -----------------------------------------------------


class EventWindow:
    """``elastalert.ruletypes.EventWindow``: events sorted by time; the oldest leave (to
    ``on_removed``) while the span newest − oldest is at least ``timeframe``."""

    def __init__(self, timeframe: timedelta, on_removed: Any = None) -> None:
        self.timeframe = timeframe
        self.on_removed = on_removed
        self.data: list[tuple[datetime, int]] = []
        self.running_count = 0

    def clear(self) -> None:
        self.data = []
        self.running_count = 0

    def append(self, event: tuple[datetime, int]) -> None:
        bisect.insort(self.data, event)
        self.running_count += event[1]
        while self.data and self.data[-1][0] - self.data[0][0] >= self.timeframe:
            oldest = self.data.pop(0)
            self.running_count -= oldest[1]
            if self.on_removed:
                self.on_removed(oldest)

    def count(self) -> int:
        return self.running_count


@dataclass
class ElastAlertSpike:
    timeframe: timedelta = timedelta(hours=1)
    spike_height: float = 3.0
    threshold_cur: int = 0
    threshold_ref: int = 0
    matches: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A process restart: everything ElastAlert2 knew was in memory."""
        self.ref = EventWindow(self.timeframe)
        self.cur = EventWindow(self.timeframe, self.ref.append)
        self.first_event: datetime | None = None
        self.ref_window_filled_once = False

    def handle_event(self, ts: datetime, count: int) -> None:
        if self.first_event is None:
            self.first_event = ts
        self.cur.append((ts, count))
        if ts - self.first_event < self.timeframe * 2:
            # Without query_key, alert_on_new_data cannot apply: ElastAlert2 returns here both
            # before the first fill and after every match (until 2 × timeframe have passed).
            return
        self.ref_window_filled_once = True
        if self.find_matches(self.ref.count(), self.cur.count()):
            self.matches.append(ts)
            self.cur.clear()
            self.ref.clear()
            self.first_event = None

    def find_matches(self, ref: int, cur: int) -> bool:
        if cur < self.threshold_cur or ref < self.threshold_ref:
            return False
        return cur >= ref * self.spike_height  # spike_type: up

    def garbage_collect(self, ts: datetime) -> None:
        self.handle_event(ts, 0)  # the placeholder event


def run_elastalert(
    times: list[datetime], every: timedelta, threshold_cur: int, restart_hour: int | None = None
) -> list[datetime]:
    rule = ElastAlertSpike(threshold_cur=threshold_cur)
    tick = START + every
    index = 0
    last_restart_day = None
    while tick <= START + timedelta(days=DAYS):
        if (
            restart_hour is not None
            and tick.hour == restart_hour
            and tick.date() != last_restart_day
        ):
            rule.reset()
            last_restart_day = tick.date()
        while index < len(times) and times[index] < tick:  # this run's query results
            rule.handle_event(times[index], 1)
            index += 1
        rule.garbage_collect(tick)
        tick += every
    return rule.matches


# -- yuqing, through the real engine ---------------------------------------------------------


def run_yuqing(times: list[datetime], every: timedelta, seasonal: bool) -> list[datetime]:
    rule = {
        "name": "neg-spike",
        "type": "spike",
        "window": "1h",
        "baseline_windows": 6,
        "ratio": 3,
        "min_current": 3,
        "channels": ["hook"],
        "growth_step": 0,
        "repeat_interval": "1000h",
    }
    if seasonal:
        rule.update(seasonality="daily", seasonal_periods=7)
    settings = settings_from_mapping(
        {
            "institution": {"name": "北京中鼎经纬实业发展有限公司"},
            "alerts": {
                "rules": [rule],
                "channels": [{"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook"}],
            },
        }
    )
    posts = [{"published_at": t, "label": "negative", "source": "sim"} for t in times]
    result = backtest(
        settings, posts, every=every, start=START + every, end=START + timedelta(days=DAYS)
    )
    return [datetime.fromisoformat(n["at"]) for n in result.notifications if n["kind"] == "new"]


def score(fired: list[datetime], bursts: list[Burst]) -> dict[str, Any]:
    caught: dict[int, list[float]] = {size: [] for size in BURST_SIZES}
    used: set[datetime] = set()
    for burst in bursts:
        hits = [t for t in fired if burst.start <= t <= burst.end + timedelta(hours=1)]
        if hits:
            caught[burst.size].append((hits[0] - burst.start).total_seconds() / 60)
            used.update(hits)
    delays = [d for values in caught.values() for d in values]
    return {
        "caught": sum(len(v) for v in caught.values()),
        "bursts": len(bursts),
        "caught_by_size": {size: f"{len(v)}/4" for size, v in caught.items()},
        "median_delay_min": round(sorted(delays)[len(delays) // 2], 1) if delays else None,
        "false_alerts": len([t for t in fired if t not in used]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", default="10m")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    every = parse_duration(args.every)
    times, bursts = stream(args.seed)
    detectors = {
        "yuqing spike": lambda: run_yuqing(times, every, seasonal=False),
        "yuqing spike, seasonal": lambda: run_yuqing(times, every, seasonal=True),
        "ElastAlert2 spike (defaults)": lambda: run_elastalert(times, every, 0),
        "ElastAlert2 spike (threshold_cur 3)": lambda: run_elastalert(times, every, 3),
        "ElastAlert2 (threshold_cur 3), daily restart": lambda: run_elastalert(times, every, 3, 3),
    }
    results = {name: score(run(), bursts) for name, run in detectors.items()}
    if args.json:
        print(json.dumps({"posts": len(times), "seed": args.seed, "results": results}))
        return
    print(
        f"{len(times)} negative posts over {DAYS} days, {len(bursts)} bursts "
        f"(sizes {BURST_SIZES}, 4 each), cycle every {args.every}, seed {args.seed}"
    )
    print(f"{'detector':<46}{'caught':>8}  {'by size 4/8/15/30':<20}{'delay':>7}{'false':>7}")
    for name, r in results.items():
        sizes = " ".join(r["caught_by_size"][s] for s in BURST_SIZES)
        delay = "-" if r["median_delay_min"] is None else f"{r['median_delay_min']}m"
        print(
            f"{name:<46}{r['caught']:>5}/{r['bursts']:<2} {sizes:<20}{delay:>7}"
            f"{r['false_alerts']:>7}"
        )


if __name__ == "__main__":
    main()
