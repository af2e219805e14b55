"""Config of the analysis step (sentiment thresholds, model, taxonomy, severity rule table).

Owned by the sentiment work; the pure ``sentiment`` package never imports this — the analyze
step (``yuqing.analyze``) turns it into plain arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from sentiment.severity import SeverityTable
from sentiment.taxonomy import Taxonomy
from yuqing.settings._base import StrictModel

SEVERITY_LEVELS = ("red", "orange", "yellow")


class Tier(StrictModel):
    """``{at_least: 100, points: 2}``: an engagement tier."""

    at_least: int = Field(ge=0)
    points: float = Field(ge=0, le=100)


@lru_cache(maxsize=8)
def _load_taxonomy(path: str | None, extra_json: str) -> Taxonomy:
    return Taxonomy.load(path, json.loads(extra_json) or None)


_DEFAULTS = SeverityTable()
"""The shipped rule table lives in the pure core (``sentiment.severity``); the config's defaults
are read from it, so the two never drift apart."""


def _tiers(pairs: Sequence[tuple[int, float]]) -> list[Tier]:
    return [Tier(at_least=at_least, points=points) for at_least, points in pairs]


class SeveritySettings(StrictModel):
    """The rule table behind red / orange / yellow (see ``sentiment.severity``).

    points = negativity + categories (capped) + engagement (capped), × the source's weight;
    the first level whose threshold the points reach is the post's severity.
    """

    negative_points: float = Field(default=_DEFAULTS.negative_points, ge=0, le=100)
    only_negative: bool = _DEFAULTS.only_negative
    category_points: dict[str, float] = dict(_DEFAULTS.category_points)
    category_points_max: float = Field(default=_DEFAULTS.category_points_max, ge=0, le=100)
    replies: list[Tier] = _tiers(_DEFAULTS.replies)
    views: list[Tier] = _tiers(_DEFAULTS.views)
    reposts: list[Tier] = _tiers(_DEFAULTS.reposts)
    engagement_points_max: float = Field(default=_DEFAULTS.engagement_points_max, ge=0, le=100)
    thresholds: dict[str, float] = dict(_DEFAULTS.thresholds)

    @field_validator("thresholds")
    @classmethod
    def _known_levels(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(SEVERITY_LEVELS)
        if unknown:
            raise ValueError(f"unknown level {sorted(unknown)[0]!r} (expected red, orange, yellow)")
        present = [value[level] for level in SEVERITY_LEVELS if level in value]
        if present != sorted(present, reverse=True):
            raise ValueError("thresholds must not increase from red to orange to yellow")
        return value


class TaxonomyExtra(StrictModel):
    """Terms to add to a shipped category, or a new category (then ``name`` is required)."""

    name: str | None = None
    name_en: str | None = None
    terms: list[str | int] = []


class SentimentSettings(StrictModel):
    negative_below: float = Field(default=0.35, ge=0, le=1)
    """A post whose score (probability of positive, 0..1) is below this is ``negative``."""
    positive_above: float = Field(default=0.65, ge=0, le=1)
    batch_size: int = Field(default=256, ge=1, le=100_000)
    model_path: str | None = None
    """A model trained with ``yuqing sentiment train``; default: the shipped finance model."""
    taxonomy_file: str | None = None
    """Complaint categories; default: the shipped ``config/taxonomy.yaml``."""
    taxonomy_extra: dict[str, TaxonomyExtra] = {}
    """Extra terms per category id, or new categories, merged into the taxonomy file."""
    severity: SeveritySettings = SeveritySettings()

    @field_validator("model_path", "taxonomy_file")
    @classmethod
    def _file_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).expanduser().is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> SentimentSettings:
        if self.negative_below > self.positive_above:
            raise ValueError("negative_below must not be above positive_above")
        return self

    def taxonomy(self) -> Taxonomy:
        """The configured complaint taxonomy (file + ``taxonomy_extra``), loaded once per
        process: the analyze step tags with it, the console and alert messages name with it."""
        extra = {cid: row.model_dump(exclude_none=True) for cid, row in self.taxonomy_extra.items()}
        return _load_taxonomy(self.taxonomy_file, json.dumps(extra, sort_keys=True))

    @model_validator(mode="after")
    def _taxonomy_loads(self) -> SentimentSettings:
        """A custom taxonomy is read now, so check-config names its problems (the shipped one
        is tested)."""
        if self.taxonomy_file is None and not self.taxonomy_extra:
            return self
        from sentiment.taxonomy import Taxonomy, TaxonomyError

        extra = {cid: row.model_dump(exclude_none=True) for cid, row in self.taxonomy_extra.items()}
        try:
            Taxonomy.load(self.taxonomy_file, extra or None)
        except TaxonomyError as error:
            raise ValueError(str(error)) from None
        return self
