"""Rule maths: counts in, decisions out. Pure: no DB, no network, no config loading.

The engine reads counts from SQL and calls these functions; the backtest and the benchmarks
call the very same functions, so what is tuned offline is what runs.

Why a baseline floor and minimum counts: a spike judged on ratio alone fires on 0 → 1 (ratio
infinite) and, as in ElastAlert2, even on 0 vs 0 (``0 >= 0 * height``). Here the current count
must reach ``min_current``, the baseline mean is floored, and with ``poisson`` the rise must
also be unlikely under the baseline rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SPIKE_METHODS = ("ratio", "poisson", "sigma", "ratio_and_poisson")


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a key is firing now, with the figures that explain it."""

    firing: bool
    current: int
    baseline: float | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SpikeParams:
    ratio: float = 3.0
    method: str = "ratio_and_poisson"
    p_value: float = 0.001
    sigmas: float = 3.0
    min_current: int = 3
    min_baseline: float = 0.0
    baseline_floor: float = 0.5
    warmup_windows: int = 6


def poisson_sf(k: int, mu: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mu), summed in log space (stable for large k and mu)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    # P(X >= k) = 1 - sum_{i<k} pmf(i); for k far above mu sum the upper tail directly.
    if k > mu:
        total = 0.0
        log_pmf = -mu + k * math.log(mu) - math.lgamma(k + 1)
        i = k
        while True:
            term = math.exp(log_pmf)
            total += term
            if term < total * 1e-15 or i > k + 10_000:
                break
            i += 1
            log_pmf += math.log(mu) - math.log(i)
        return min(1.0, total)
    cdf = 0.0
    for i in range(k):
        cdf += math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1))
    return max(0.0, 1.0 - cdf)


def spike(
    current: int,
    baseline_counts: Sequence[int],
    covered_windows: int,
    params: SpikeParams,
    seasonal_counts: Sequence[int] | None = None,
) -> Decision:
    """Judge ``current`` against the mean of ``baseline_counts`` (previous windows, oldest first).

    ``covered_windows`` is how many baseline windows the stored history actually spans: while it
    is below ``params.warmup_windows`` the rule stays quiet (warm-up), so a fresh install or a
    newly added source does not alert on its first posts.

    ``seasonal_counts`` (the same window on previous days or weeks) makes the baseline the larger
    of the two means, so the daily morning rise is judged against yesterday's morning, not
    against the quiet night just before it.
    """
    windows = len(baseline_counts)
    mean = sum(baseline_counts) / windows if windows else 0.0
    if seasonal_counts:
        mean = max(mean, sum(seasonal_counts) / len(seasonal_counts))
    if covered_windows < params.warmup_windows:
        return Decision(
            False, current, mean, f"warming up ({covered_windows}/{params.warmup_windows} windows)"
        )
    if current < params.min_current:
        return Decision(
            False, current, mean, f"current {current} < min_current {params.min_current}"
        )
    if mean < params.min_baseline:
        return Decision(
            False, current, mean, f"baseline {mean:.2f} < min_baseline {params.min_baseline}"
        )
    floored = max(mean, params.baseline_floor)
    ratio_ok = current >= params.ratio * floored
    method = params.method
    if method == "ratio":
        firing = ratio_ok
    elif method == "sigma":
        std = _stdev(list(baseline_counts) + list(seasonal_counts or []), mean)
        # Poisson-like floor on the spread: a flat baseline (σ = 0) must not make 1 extra post a spike.
        spread = max(std, math.sqrt(floored))
        firing = current > mean + params.sigmas * spread
    else:
        p = poisson_sf(current, floored)
        poisson_ok = p < params.p_value
        firing = poisson_ok if method == "poisson" else (ratio_ok and poisson_ok)
    reason = f"{current} vs baseline {mean:.2f} (×{current / floored:.1f})"
    return Decision(firing, current, mean, reason)


def threshold(count: int, minimum: int) -> Decision:
    """At least ``minimum`` matching posts within the window."""
    return Decision(count >= minimum, count, None, f"{count} posts (threshold {minimum})")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What the flatline rule sees of one source (from ``source_states``)."""

    source: str
    status: str
    consecutive_failures: int
    seconds_since_success: float | None
    """``None``: never succeeded."""


def flatline(
    health: SourceHealth,
    max_failures: int,
    silent_for_s: float | None,
    statuses: Sequence[str],
    posts_now: int | None = None,
    posts_baseline: Sequence[int] = (),
    min_baseline: float | None = None,
) -> Decision:
    """A source is unhealthy when failing N runs in a row, in a bad status, silent too long, or
    (with ``min_baseline``) storing nothing now where it used to store many posts."""
    reasons: list[str] = []
    if min_baseline is not None and posts_now == 0 and posts_baseline:
        usual = sum(posts_baseline) / len(posts_baseline)
        if usual >= min_baseline:
            reasons.append(f"no posts in the last window (usually {usual:.1f})")
    if health.consecutive_failures >= max_failures:
        reasons.append(f"{health.consecutive_failures} failed runs in a row")
    if health.status in statuses:
        reasons.append(f"status {health.status}")
    if (
        silent_for_s is not None
        and health.seconds_since_success is not None
        and health.seconds_since_success >= silent_for_s
    ):
        reasons.append(f"no successful crawl for {health.seconds_since_success / 3600:.1f} h")
    return Decision(bool(reasons), health.consecutive_failures, None, "; ".join(reasons))


def _stdev(values: Sequence[int], mean: float) -> float:
    if len(values) < 2:
        return 0.0
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
