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

from sentiment.textnorm import normalize_for_match

_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|\?{2,}|\s+")
_DIGITS_RE = re.compile(r"\d+")
_PUNCT = frozenset("，。！？；：、,.!?;:\"'“”‘’（）()[]【】《》<>「」『』—-_~…·#@/\\|*&^%$+=")
_BREAKS = _PUNCT | {" "}
_BREAK_RE = re.compile("[" + re.escape("".join(sorted(_BREAKS))) + "]+")


def fold(text: str) -> str:
    """Normalised text, offsets preserved (``sentiment.textnorm.normalize_for_match``)."""
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
    return ngrams(clean_folded(folded))


def ngrams(cleaned: str) -> set[str]:
    """Unigrams and bigrams of an already cleaned string (punctuation and spaces break them)."""
    out = set(cleaned) - _BREAKS
    # split at breaks, then pair neighbours with map(str.__add__): the whole loop runs in C
    for segment in _BREAK_RE.split(cleaned):
        if len(segment) > 1:
            out.update(map(str.__add__, segment, segment[1:]))
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
