"""Severity: the points table (negativity, categories, engagement, source weight) → level."""

from __future__ import annotations

import pytest

from sentiment.severity import Engagement, SeverityTable, assess

TABLE = SeverityTable()


@pytest.mark.parametrize(
    ("score", "label", "categories", "weight", "engagement", "level"),
    [
        (0.5, "neutral", ["regulator", "media"], 3.0, Engagement(500, 10**6, 50), None),
        (0.3, "negative", [], 1.0, Engagement(), "yellow"),
        (0.0, "negative", [], 1.0, Engagement(), "yellow"),  # negativity alone: yellow
        (0.3, "negative", ["regulator"], 1.0, Engagement(), "orange"),
        (0.3, "negative", ["collection"], 1.0, Engagement(), "yellow"),
        (0.1, "negative", ["regulator", "legal", "media"], 1.0, Engagement(), "red"),
        (0.3, "negative", ["collection", "credit_report", "fees"], 1.0, Engagement(), "orange"),
        (0.1, "negative", ["regulator", "legal", "media"], 1.0, Engagement(replies=150), "red"),
        (0.3, "negative", ["service"], 1.0, Engagement(views=200_000, reposts=30), "orange"),
        (0.3, "negative", [], 0.5, Engagement(), None),  # a low-weight source
        (0.3, "negative", ["regulator"], 2.0, Engagement(), "red"),  # a high-weight source
    ],
)
def test_levels(
    score: float,
    label: str,
    categories: list[str],
    weight: float,
    engagement: Engagement,
    level: str | None,
) -> None:
    result = assess(
        TABLE,
        score=score,
        label=label,
        negative_below=0.35,
        categories=categories,
        source_weight=weight,
        engagement=engagement,
    )
    assert result.level == level, result


def test_explains_the_points_and_caps_them() -> None:
    result = assess(
        TABLE,
        score=0.0,
        label="negative",
        negative_below=0.35,
        categories=["regulator", "legal", "media", "group_action", "regulator"],
        engagement=Engagement(replies=10_000, views=10**7, reposts=10**4),
    )
    assert result.parts == {
        "negativity": 5.0,
        "categories": 5.0,
        "engagement": 3.0,
        "source_weight": 1.0,
    }
    assert result.points == 13.0
    assert result.level == "red"


def test_a_custom_table_can_rate_non_negative_posts() -> None:
    table = SeverityTable(only_negative=False, thresholds={"yellow": 3.0})
    result = assess(
        table, score=0.6, label="neutral", negative_below=0.35, categories=["regulator"]
    )
    assert result.level == "yellow"
