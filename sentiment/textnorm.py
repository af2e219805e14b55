"""Text normalisation for matching: traditional → simplified, full-width → half-width, case.

Matching must see ``中鼎經緯`` and ``中鼎经纬``, ``ＡＰＰ`` and ``app``, ``砍 头 息`` and ``砍头息`` as
the same, while the stored text stays as published. So normalisation here is character by
character and returns, for every normalised character, its offset in the original text: a match
found in the normalised string maps back to the exact span the reader sees.

The traditional → simplified table is OpenCC's character table (opencc-python-reimplemented),
loaded lazily once; phrase-level conversions are not needed for matching names and keywords.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache

_SPACE_CHARS = " \t\r\n\u3000\u00a0\u200b\u200c\u200d\ufeff"
_SPACES = frozenset(_SPACE_CHARS)
_HAS_SPACE = re.compile(f"[{_SPACE_CHARS}]")
_SPACE_RUNS = re.compile(f"[{_SPACE_CHARS}]+")


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """One ``str.translate`` table: traditional → simplified (OpenCC's single characters),
    full-width ASCII → ASCII, ideographic space → space. Every entry maps one character to one
    character, so translating never changes offsets."""
    import opencc

    path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or len(parts[0]) != 1:
                continue
            simplified = parts[1].split(" ")[0]
            if len(simplified) == 1 and simplified != parts[0]:
                table[ord(parts[0])] = simplified
    for code in range(0xFF01, 0xFF5F):  # the full-width ASCII block
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "
    return table


def normalize_for_match(text: str) -> str:
    """The same text with simplified characters, half-width ASCII and lower case.

    Length-preserving: ``normalize_for_match(t)[i]`` is the folded form of ``t[i]``. Both steps
    run in C (``str.translate``, ``str.lower``), since every crawled and analysed text passes here.
    """
    folded = text.translate(_fold_table())
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # a rare character whose lower case is longer (e.g. "İ"): keep it as it is
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


def normalize_with_offsets(
    text: str, drop_spaces: bool = True, folded: str | None = None
) -> tuple[str, Sequence[int]]:
    """Normalised text (optionally without white space) and each character's original offset.

    Dropping white space lets ``砍 头 息`` match ``砍头息``; the offsets map a match back.
    ``folded``: ``normalize_for_match(text)`` when the caller already has it.
    """
    folded = normalize_for_match(text) if folded is None else folded
    if not drop_spaces or not _HAS_SPACE.search(folded):
        return folded, range(len(folded))
    return _SPACE_RUNS.sub("", folded), _OffsetMap(folded)


class _OffsetMap(Sequence[int]):
    """Original offset of each character of the space-stripped text, computed on demand from
    the (few) runs of white space — callers look up only the ends of a few matches."""

    def __init__(self, folded: str) -> None:
        self._starts: list[int] = []  # where each removed run begins, in stripped offsets
        self._shift: list[int] = []  # characters removed up to and including that run
        removed = 0
        for run in _SPACE_RUNS.finditer(folded):
            self._starts.append(run.start() - removed)
            removed += run.end() - run.start()
            self._shift.append(removed)
        self._length = len(folded) - removed

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - Sequence's overloads
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        run = bisect_right(self._starts, index) - 1
        return index + (self._shift[run] if run >= 0 else 0)


def normalize_term(term: str) -> str:
    """A configured term (name, alias, keyword) in the form it is searched for."""
    return normalize_with_offsets(term, drop_spaces=True)[0]
