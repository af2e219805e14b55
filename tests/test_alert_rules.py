"""Rule maths and lifecycle decisions on synthetic numbers and streams (pure: no DB)."""

from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta

import pytest

from alerts import rules
from alerts.rules_lifecycle import (
    AlertMemory,
    in_quiet_hours,
    notify_kind,
    quiet_hours_end,
    severe_enough,
    silence_matches,
)

P = rules.SpikeParams(
    ratio=3.0, method="ratio_and_poisson", p_value=0.001, min_current=3, warmup_windows=6
)
T0 = datetime(2026, 11, 28, 12, 0)


@pytest.mark.parametrize(
    ("k", "mu", "expected"),
    [
        (0, 2.0, 1.0),
        (3, 0.5, 1 - math.exp(-0.5) * (1 + 0.5 + 0.125)),
        (1, 3.0, 1 - math.exp(-3.0)),
        (30, 5.0, None),  # far tail: tiny but positive
    ],
)
def test_poisson_sf(k: int, mu: float, expected: float | None) -> None:
    value = rules.poisson_sf(k, mu)
    if expected is None:
        assert 0 < value < 1e-10
    else:
        assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("current", "baseline", "covered", "params", "firing", "why"),
    [
        (0, [0] * 6, 6, P, False, "0 vs 0 is never a spike (ElastAlert2 fires here)"),
        (2, [0] * 6, 6, P, False, "0 -> 2 is below min_current"),
        (3, [0] * 6, 6, P, False, "0 -> 3: P(X>=3 | 0.5) = 1.4 % is not rare enough"),
        (4, [0] * 6, 6, P, False, "0 -> 4: P(X>=4 | 0.5) = 0.18 % is not rare enough"),
        (5, [0] * 6, 6, P, True, "0 -> 5 is a spike (P = 0.017 %)"),
        (40, [0] * 6, 3, P, False, "warming up: history covers 3 of 6 windows"),
        (14, [10, 9, 11, 10, 12, 8], 6, P, False, "steady 10/h, 14 now: noise"),
        (40, [10, 9, 11, 10, 12, 8], 6, P, True, "steady 10/h, 40 now"),
        (25, [10, 9, 11, 10, 12, 8], 6, P, False, "×2.5 is under ratio 3 even though unlikely"),
        (
            25,
            [10, 9, 11, 10, 12, 8],
            6,
            rules.SpikeParams(method="poisson", warmup_windows=6),
            True,
            "poisson alone fires",
        ),
        (
            8,
            [1, 1, 1, 1, 1, 1],
            6,
            rules.SpikeParams(method="ratio", ratio=3, warmup_windows=6),
            True,
            "ratio alone",
        ),
        (
            9,
            [2, 2, 2, 2, 2, 2],
            6,
            rules.SpikeParams(method="sigma", sigmas=3, warmup_windows=6),
            True,
            "sigma: flat baseline uses sqrt(mean) as spread (2 + 3*1.41 = 6.2)",
        ),
        (
            6,
            [2, 2, 2, 2, 2, 2],
            6,
            rules.SpikeParams(method="sigma", sigmas=3, warmup_windows=6),
            False,
            "sigma: 6 < 6.2",
        ),
        (
            30,
            [0, 0, 0, 0, 0, 1],
            6,
            rules.SpikeParams(min_baseline=2, warmup_windows=6),
            False,
            "min_baseline not met",
        ),
    ],
)
def test_spike_table(
    current: int,
    baseline: list[int],
    covered: int,
    params: rules.SpikeParams,
    firing: bool,
    why: str,
) -> None:
    decision = rules.spike(current, baseline, covered, params)
    assert decision.firing is firing, why
    assert decision.current == current
    assert decision.baseline == pytest.approx(sum(baseline) / len(baseline))


@pytest.mark.parametrize(
    ("count", "minimum", "firing"), [(0, 1, False), (4, 5, False), (5, 5, True), (9, 5, True)]
)
def test_threshold(count: int, minimum: int, firing: bool) -> None:
    assert rules.threshold(count, minimum).firing is firing


@pytest.mark.parametrize(
    ("health", "firing", "reason"),
    [
        (rules.SourceHealth("a", "ok", 0, 3600), False, ""),
        (rules.SourceHealth("a", "ok", 3, 3600), True, "3 failed runs"),
        (rules.SourceHealth("a", "blocked", 1, 3600), True, "status blocked"),
        (rules.SourceHealth("a", "ok", 0, 90000), True, "no successful crawl for 25.0 h"),
        (rules.SourceHealth("a", "unknown", 0, None), False, ""),
    ],
)
def test_flatline(health: rules.SourceHealth, firing: bool, reason: str) -> None:
    decision = rules.flatline(health, 3, 86400, ["failing", "blocked", "silent"])
    assert decision.firing is firing
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("now", "baseline", "minimum", "firing"),
    [
        (0, [12, 10, 11, 13], 5, True),
        (1, [12, 10, 11, 13], 5, False),
        (0, [2, 1, 0, 1], 5, False),
        (0, [12, 10, 11, 13], None, False),
    ],
)
def test_flatline_on_post_counts(
    now: int, baseline: list[int], minimum: float | None, firing: bool
) -> None:
    health = rules.SourceHealth("a", "ok", 0, 60)
    decision = rules.flatline(health, 3, 86400, ["failing"], now, baseline, minimum)
    assert decision.firing is firing


def _poisson(rng: random.Random, mu: float) -> int:
    """Knuth's method: enough for small rates in a synthetic stream."""
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_synthetic_stream_with_daily_cycle(seed: int) -> None:
    """Four weeks of hourly Poisson noise with a daily cycle and one burst of +20.

    The burst fires either way. With the seasonal baseline (same hour on the previous 7 days)
    noise gives at most 2 false alerts in 4 weeks, and fewer than with the 6 previous hours
    alone, which mistake every morning rise after a quiet night for a spike.
    """
    rng = random.Random(seed)
    hours = 24 * 28
    counts = [
        _poisson(rng, 2.0 + 1.5 * math.sin(2 * math.pi * (h % 24) / 24)) for h in range(hours)
    ]
    burst_at = hours - 10
    counts[burst_at] += 20

    def fired(seasonal: bool) -> list[int]:
        out = []
        for h in range(24 * 7, hours):
            season = [counts[h - 24 * k] for k in range(1, 8)] if seasonal else None
            if rules.spike(counts[h], counts[h - 6 : h], 6, P, season).firing:
                out.append(h)
        return out

    plain, seasonal = fired(False), fired(True)
    assert burst_at in plain and burst_at in seasonal
    false_plain = len(plain) - 1
    false_seasonal = len(seasonal) - 1
    assert false_seasonal <= 2
    assert false_seasonal <= false_plain


# -- lifecycle ------------------------------------------------------------------------------

HOUR = timedelta(hours=1)
FIRING = AlertMemory(True, T0, 10)


@pytest.mark.parametrize(
    ("previous", "firing", "current", "now", "kind"),
    [
        (None, True, 10, T0, "new"),
        (None, False, 0, T0, None),
        (AlertMemory(False, T0, 10), True, 10, T0, "new"),
        (FIRING, True, 10, T0, None),
        (FIRING, True, 14, T0 + timedelta(minutes=5), None),
        (FIRING, True, 15, T0 + timedelta(minutes=5), "grown"),
        (FIRING, True, 11, T0 + 4 * HOUR, "repeat"),
        (FIRING, True, 3, T0 + 4 * HOUR, "repeat"),
        (FIRING, False, 2, T0 + timedelta(minutes=1), "resolved"),
    ],
)
def test_notify_kind(
    previous: AlertMemory | None, firing: bool, current: int, now: datetime, kind: str | None
) -> None:
    assert notify_kind(previous, firing, current, now, 5, 4 * HOUR) == kind


def test_instant_rule_notifies_on_new_posts_not_counts() -> None:
    memory = AlertMemory(True, T0, 2, frozenset({1, 2}))
    later = T0 + timedelta(minutes=5)
    assert notify_kind(memory, True, 2, later, 1, 4 * HOUR, [1, 2], True) is None
    # one post left the window and a new one came: the count is the same, the post is new
    assert notify_kind(memory, True, 2, later, 1, 4 * HOUR, [2, 3], True) == "grown"


@pytest.mark.parametrize(
    ("matchers", "rule", "key", "text", "matches"),
    [
        ({"rule": "neg-spike"}, "neg-spike", "", "x", True),
        ({"rule": "neg-*"}, "neg-spike", "", "x", True),
        ({"rule": "neg-spike"}, "other", "", "x", False),
        ({"rule": "neg-spike", "key": "tieba"}, "neg-spike", "weibo", "x", False),
        ({"key": "tieba*"}, "r", "tieba|fees", "x", True),
        ({"text": "演习"}, "r", "", "消防演习 中鼎经纬", True),
        ({"text": "REPAIR"}, "r", "", "system repair notice", True),
        ({}, "r", "", "x", False),
        ({"rule": ""}, "r", "", "x", False),
    ],
)
def test_silence_matches(matchers: dict, rule: str, key: str, text: str, matches: bool) -> None:
    assert silence_matches(matchers, rule, key, text) is matches


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        (time(23, 0), time(22, 0), time(8, 0), True),
        (time(7, 59), time(22, 0), time(8, 0), True),
        (time(8, 0), time(22, 0), time(8, 0), False),
        (time(12, 0), time(22, 0), time(8, 0), False),
        (time(13, 0), time(12, 0), time(14, 0), True),
        (time(14, 0), time(12, 0), time(14, 0), False),
        (time(3, 0), time(0, 0), time(0, 0), False),
    ],
)
def test_in_quiet_hours(local: time, start: time, end: time, quiet: bool) -> None:
    assert in_quiet_hours(local, start, end) is quiet


def test_quiet_hours_end_in_shanghai() -> None:
    # 15:00 UTC = 23:00 in Shanghai: quiet until 08:00 local = 00:00 UTC next day
    end = quiet_hours_end(datetime(2026, 11, 28, 15, 0), time(22, 0), time(8, 0), "Asia/Shanghai")
    assert end == datetime(2026, 11, 29, 0, 0)
    # 23:30 UTC = 07:30 local (same night, after midnight): 08:00 local = 00:00 UTC
    assert quiet_hours_end(
        datetime(2026, 11, 28, 23, 30), time(22, 0), time(8, 0), "Asia/Shanghai"
    ) == datetime(2026, 11, 29, 0, 0)
    assert (
        quiet_hours_end(datetime(2026, 11, 28, 4, 0), time(22, 0), time(8, 0), "Asia/Shanghai")
        is None
    )


@pytest.mark.parametrize(
    ("severity", "at_least", "passes"),
    [
        ("red", "red", True),
        ("orange", "red", False),
        ("red", "orange", True),
        (None, "red", False),
        ("red", None, False),
    ],
)
def test_severe_enough(severity: str | None, at_least: str | None, passes: bool) -> None:
    assert severe_enough(severity, at_least) is passes


@pytest.mark.parametrize(
    ("condition", "was_firing", "met_minutes_ago", "expected"),
    [
        (True, False, None, True),  # a new alert
        (False, False, None, False),  # nothing
        (False, True, 5, True),  # lapsed 5 min ago: keep firing (15 min)
        (False, True, 15, False),  # lapsed for the whole 15 min: resolve
        (False, True, None, False),
    ],
)
def test_keeps_firing(condition, was_firing, met_minutes_ago, expected) -> None:
    from datetime import datetime, timedelta

    from alerts.rules_lifecycle import keeps_firing

    now = datetime(2026, 11, 28, 12, 0)
    met = None if met_minutes_ago is None else now - timedelta(minutes=met_minutes_ago)
    assert keeps_firing(condition, was_firing, met, now, timedelta(minutes=15)) is expected
