"""Judge a text by what it says about one entity: windows around its mentions.

A news item that is negative about another lender and names ours in passing is not negative
for us. So the text is cut into sentences; every sentence that mentions the entity (grown to its
neighbours when it is too short to carry an opinion) is a *window*; each window is scored and
the scores are aggregated. The window that decided the result is kept, so that a reviewer sees
why a post was flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;…]*|[。！？!?；;\n]+")


@dataclass(frozen=True)
class Judgement:
    """The aggregated score and the window that decided it (``None`` for an empty text)."""

    score: float
    deciding: str | None
    windows: int
    deciding_score: float = 0.5
    """The deciding window's own score (to pick between two judgements' sentences)."""


@lru_cache(maxsize=32)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Start/end offsets of the sentences of ``text`` (punctuation kept with its sentence).

    Cached: judging one post asks for its sentences several times (windows, lead, whole).
    """
    return tuple((m.start(), m.end()) for m in _SENTENCE_RE.finditer(text) if m.group().strip())


def window_spans(
    text: str, spans: Sequence[tuple[int, int]], min_chars: int = 24, max_chars: int = 240
) -> list[tuple[int, int]]:
    """Distinct (start, end) sentence windows around ``spans`` (mention offsets), in order."""
    sentences = sentence_spans(text)
    if not sentences:
        return []
    chosen: set[tuple[int, int]] = set()
    for start, end in spans:
        first = last = _index_of(sentences, start)
        # grow a too-short sentence with its neighbours ("中鼎经纬。" alone says nothing)
        while sentences[last][1] - sentences[first][0] < min_chars:
            if last + 1 < len(sentences):
                last += 1
            elif first > 0:
                first -= 1
            else:
                break
        lo, hi = sentences[first][0], sentences[last][1]
        if hi - lo > max_chars:  # a wall of text without punctuation: centre on the mention
            half = max_chars // 2
            lo = max(lo, start - half)
            hi = min(hi, max(end + half, lo + max_chars))
        chosen.add((lo, hi))
    return sorted(chosen)


def windows(
    text: str, spans: Sequence[tuple[int, int]], min_chars: int = 24, max_chars: int = 240
) -> list[str]:
    """The distinct sentence windows around ``spans``, as text, in reading order."""
    out: list[str] = []
    for lo, hi in window_spans(text, spans, min_chars, max_chars):
        piece = text[lo:hi].strip()
        if piece and piece not in out:
            out.append(piece)
    return out


def _index_of(sentences: Sequence[tuple[int, int]], offset: int) -> int:
    for index, (_start, end) in enumerate(sentences):
        if offset < end:
            return index
    return len(sentences) - 1


def judge(pieces: Sequence[str], score: Callable[[str], float]) -> Judgement:
    """Score each piece and aggregate (see ``aggregate``)."""
    return aggregate([(score(piece), piece) for piece in pieces])


def aggregate(scored: Sequence[tuple[float, str]]) -> Judgement:
    """The mean of the window scores, pulled towards the most negative window.

    A complaint often says one damning thing among neutral ones ("客服态度很好，但是暴力催收"),
    so the most negative window counts as much as all the others together. The deciding
    sentence is the most negative window when the result leans negative, else the most positive.
    """
    if not scored:
        return Judgement(0.5, None, 0)
    lowest = min(scored)
    highest = max(scored)
    mean = sum(s for s, _ in scored) / len(scored)
    value = (mean + lowest[0]) / 2
    deciding = lowest if value < 0.5 else highest
    return Judgement(value, deciding[1], len(scored), deciding[0])
