"""Severity (red / orange / yellow / none) from a rule table of points.

A post earns points for how negative it is, for its categories (regulator, legal, media and
group-action words weigh most: they mean the complaint is leaving the building), and for its
engagement (replies, views, reposts); the sum is multiplied by the source's weight and read
against the level thresholds. The table is plain data from the config, so compliance can tune
it without code, and ``explain`` shows the arithmetic for any post.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

LEVELS = ("red", "orange", "yellow")


@dataclass(frozen=True)
class SeverityTable:
    negative_points: float = 2.5
    """Points for a post labelled negative; scaled up to ×2 as the score falls to 0."""
    only_negative: bool = True
    """Posts that are not negative get no severity at all."""
    category_points: Mapping[str, float] = field(
        default_factory=lambda: {
            "regulator": 3.5,
            "legal": 3.5,
            "media": 3.5,
            "group_action": 3.5,
            "scam": 2.0,
            "collection": 2.0,
            "credit_report": 1.0,
            "fees": 1.0,
            "disclosure": 1.0,
            "contract": 0.5,
            "repayment": 0.5,
            "service": 0.5,
            "app_failure": 0.5,
        }
    )
    category_points_max: float = 5.0
    replies: Sequence[tuple[int, float]] = ((20, 1.0), (100, 2.0))
    """(at least N replies, points) — the highest tier reached counts."""
    views: Sequence[tuple[int, float]] = ((1_000, 0.5), (10_000, 1.0), (100_000, 2.0))
    reposts: Sequence[tuple[int, float]] = ((5, 1.0), (20, 2.0))
    engagement_points_max: float = 3.0
    thresholds: Mapping[str, float] = field(
        default_factory=lambda: {"red": 9.0, "orange": 6.0, "yellow": 2.5}
    )
    """Minimum points (after the source weight) for each level."""


@dataclass(frozen=True)
class Engagement:
    replies: int | None = None
    views: int | None = None
    reposts: int | None = None


@dataclass(frozen=True)
class SeverityResult:
    level: str | None
    points: float
    parts: Mapping[str, float]


def _tier(value: int | None, tiers: Sequence[tuple[int, float]]) -> float:
    if not value:
        return 0.0
    return max((points for at_least, points in tiers if value >= at_least), default=0.0)


def assess(
    table: SeverityTable,
    *,
    score: float,
    label: str,
    negative_below: float,
    categories: Sequence[str],
    source_weight: float = 1.0,
    engagement: Engagement = Engagement(),
) -> SeverityResult:
    """The level and the points behind it."""
    if table.only_negative and label != "negative":
        return SeverityResult(None, 0.0, {})
    negativity = 0.0
    if label == "negative":
        depth = 1.0 - score / negative_below if negative_below > 0 else 1.0
        negativity = table.negative_points * (1.0 + max(0.0, min(1.0, depth)))
    category = min(
        table.category_points_max,
        sum(table.category_points.get(c, 0.0) for c in dict.fromkeys(categories)),
    )
    engaged = min(
        table.engagement_points_max,
        _tier(engagement.replies, table.replies)
        + _tier(engagement.views, table.views)
        + _tier(engagement.reposts, table.reposts),
    )
    points = (negativity + category + engaged) * source_weight
    parts = {
        "negativity": round(negativity, 3),
        "categories": category,
        "engagement": engaged,
        "source_weight": source_weight,
    }
    for level in LEVELS:
        threshold = table.thresholds.get(level)
        if threshold is not None and points >= threshold:
            return SeverityResult(level, round(points, 3), parts)
    return SeverityResult(None, round(points, 3), parts)
