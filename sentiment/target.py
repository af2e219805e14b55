"""Is a negative text negative about *this* entity? A second small Bayes model, over context.

FinNSP shows the trap: in a negative news item about a collapsed platform, the bank that held
its deposits, the news site it was reported on and the parent group are mentioned too, and are
not the target. This model looks only at the characters around each mention (the entity itself
replaced by ``Ⓔ``, so it learns the *role* — "涉嫌…", "…旗下", "来源：…" — not the name) and
gives P(target | context). The analyzer pulls a negative score back towards neutral by how
unlikely the institution is to be the target.

Trained on the entities of negative texts only (``key_entities`` = targets), since a text that
is not negative has no target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import is_not

from sentiment.features import clean_folded, fold, ngrams
from sentiment.mentions import MentionTerms

_IS_NOT_NONE = partial(is_not, None)
MARK = "ⓔ"
"""Stands for the entity in its context (already in folded form: ``fold("Ⓔ") == "ⓔ"``)."""


def context_features(
    text: str, spans: Sequence[tuple[int, int]], window: int = 20, folded: bool = False
) -> set[str]:
    """Masked context n-grams around the (first four) mentions, plus position and count cues.

    ``folded``: ``text`` is already ``fold``-ed (offsets are the same either way).
    """
    text = text if folded else fold(text)
    out: set[str] = set()
    for start, end in spans[:4]:
        left = clean_folded(text[max(0, start - window) : start])
        right = clean_folded(text[end : end + window])
        out |= ngrams(left + MARK + right)
        out |= {"L:" + f for f in ngrams(left[-4:])}
        out |= {"R:" + f for f in ngrams(right[:4])}
    if spans:
        out.add(f"#n={min(len(spans), 5)}")
        out.add(f"#first={min(spans[0][0] // 50, 4)}")
    return out


@dataclass
class TargetModel:
    """Counts per class (0 = not the target, 1 = the target) and the fitted temperature."""

    docs: list[float] = field(default_factory=lambda: [0.0, 0.0])
    counts: dict[str, list[float]] = field(default_factory=dict)
    alpha: float = 0.5
    temperature: float = 1.0
    window: int = 20
    min_count: float = 2.0

    def add(self, feats: set[str], is_target: bool, weight: float = 1.0) -> None:
        index = int(is_target)
        self.docs[index] += weight
        for feature in feats:
            row = self.counts.get(feature)
            if row is None:
                row = self.counts[feature] = [0.0, 0.0]
            row[index] += weight

    def prepare(self) -> None:
        """Drop rare features and precompute log-ratios (call after counting, before scoring)."""
        self.counts = {f: r for f, r in self.counts.items() if sum(r) >= self.min_count}
        a = self.alpha
        d0, d1 = self.docs[0] + 2 * a, self.docs[1] + 2 * a
        self._ratio = {
            f: math.log((r[1] + a) / d1) - math.log((r[0] + a) / d0) for f, r in self.counts.items()
        }
        self._prior = math.log((self.docs[1] + 1) / (self.docs[0] + 1))

    def probability(
        self, text: str, spans: Sequence[tuple[int, int]], folded: bool = False
    ) -> float:
        """P(the entity at ``spans`` is what ``text`` is negative about | its context)."""
        return self.probability_of(context_features(text, spans, self.window, folded))

    def probability_of(self, feats: set[str]) -> float:
        ratios = list(filter(_IS_NOT_NONE, map(self._ratio.get, feats)))  # C loops
        logit = (sum(ratios) / math.sqrt(len(ratios)) if ratios else 0.0) + self._prior
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit / self.temperature))))

    def to_json(self) -> dict:
        return {
            "docs": self.docs,
            "alpha": self.alpha,
            "temperature": self.temperature,
            "window": self.window,
            "min_count": self.min_count,
            "counts": {f: [_compact(x) for x in r] for f, r in sorted(self.counts.items())},
        }

    @classmethod
    def from_json(cls, data: dict) -> TargetModel:
        model = cls(
            [float(x) for x in data["docs"]],
            {f: [float(x) for x in r] for f, r in data["counts"].items()},
            float(data["alpha"]),
            float(data["temperature"]),
            int(data["window"]),
            float(data.get("min_count", 2.0)),
        )
        model.prepare()
        return model


def entity_terms(entity: str, entities: Sequence[str]) -> MentionTerms:
    """Mention terms for one labelled entity: a longer listed entity containing it is another
    one (FinNSP lists both 众车 and 众车在线; only the longer one is the company)."""
    exclude = tuple(other for other in entities if other != entity and entity in other)
    return MentionTerms(name=entity, short_alias_max_len=0, exclude=exclude)


def _compact(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


def gate(score: float, target_probability: float) -> float:
    """Pull a negative-leaning score towards neutral (0.5) by how unlikely the entity is the target."""
    if score >= 0.5:
        return score
    return 0.5 - (0.5 - score) * target_probability
