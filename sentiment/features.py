"""Text → features for the finance model: character unigrams and bigrams of normalised text.

Why characters and not words: snownlp's own word segmenter is 97 % of its sentiment time, and
on finance text (platform names, 逾期, 砍头息) a segmenter trained on news splits the words that
matter. Character bigrams need no dictionary, cost microseconds, and carry most of the signal
that words carry for a Bayes classifier. Text is normalised first (traditional → simplified,
full-width → half-width, lower case), runs of ``?`` (characters lost upstream in the shared
data) and URLs are dropped, and digits fold to ``0`` so that amounts and dates do not become
thousands of one-off features.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sentiment.textnorm import _t2s_table, normalize_for_match

_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|\?{2,}|\s+")
_DIGITS_RE = re.compile(r"\d+")
_PUNCT = frozenset("，。！？；：、,.!?;:\"'“”‘’（）()[]【】《》<>「」『』—-_~…·#@/\\|*&^%$+=")
_BREAKS = _PUNCT | {" "}


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    table: dict[int, str] = dict(_t2s_table())
    table.update({code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)})
    table[0x3000] = " "
    return table


def fold(text: str) -> str:
    """``normalize_for_match(text)``, computed by ``str.translate`` (C speed; same result).

    Length-preserving, so offsets into ``text`` stay valid. Falls back to the character loop
    in the rare case where lower-casing changes the length (``İ``).
    """
    translated = text.translate(_fold_table())
    lowered = translated.lower()
    if len(lowered) == len(translated):
        return lowered
    return normalize_for_match(text)


def clean(text: str) -> str:
    """Normalised text without URLs, ``?`` runs and white space; digits folded to ``0``."""
    return clean_folded(fold(text))


def clean_folded(folded: str) -> str:
    return _DIGITS_RE.sub("0", _NOISE_RE.sub(" ", folded)).strip()


def features(text: str) -> set[str]:
    """The distinct character unigrams and bigrams of ``text`` (punctuation breaks bigrams).

    A set, not counts: presence works better than frequency for short texts, and it caps the
    influence of a word repeated 20 times in a rant.
    """
    return features_folded(fold(text))


def features_folded(folded: str) -> set[str]:
    """``features`` of a text already passed through ``fold`` (the analyzer folds once)."""
    cleaned = clean_folded(folded)
    out = set(cleaned) - _BREAKS
    # set comprehensions over zip run in C loops: ~3× the speed of a character loop
    out.update(
        a + b
        for a, b in zip(cleaned, cleaned[1:], strict=False)
        if a not in _BREAKS and b not in _BREAKS
    )
    return out


def _features_reference(folded: str) -> set[str]:
    """The plain loop ``features_folded`` must agree with (kept for the tests)."""
    out: set[str] = set()
    previous = ""
    for char in clean_folded(folded):
        if char == " " or char in _PUNCT:
            previous = ""
            continue
        out.add(char)
        if previous:
            out.add(previous + char)
        previous = char
    return out
