"""Shared building blocks for the typed config: strict models and human durations.

Every config model forbids unknown keys, so a typo (``shedule:``) is an error that names the
field instead of a setting that silently does nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(value: Any) -> timedelta:
    """Read ``90``, ``"90s"``, ``"10m"``, ``"1.5h"``, ``"7d"`` or a timedelta.

    A bare number means seconds. Compound forms (``1h30m``) are also accepted.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 7d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s, 10m, 1h or 7d")
    text = value.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", text)
    if parts and "".join(f"{n}{u}" for n, u in parts) == text.replace(" ", ""):
        return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"invalid duration {value!r}: use e.g. 30s, 10m, 1h or 7d")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNIT_SECONDS[unit])


def _format_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration, return_type=str)
]
"""A config duration: ``30s``, ``10m``, ``1h``, ``7d`` or seconds as a number."""
