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
from functools import lru_cache

_SPACES = frozenset(" \t\r\n\u3000\u00a0\u200b\u200c\u200d\ufeff")


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Single traditional character → single simplified character, from OpenCC's data."""
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
    return table


def _fold_char(char: str, table: dict[int, str]) -> str:
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII block
        char = chr(code - 0xFEE0)
    elif code == 0x3000:
        char = " "
    else:
        char = table.get(code, char)
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


def normalize_for_match(text: str) -> str:
    """The same text with simplified characters, half-width ASCII and lower case.

    Length-preserving: ``normalize_for_match(t)[i]`` is the folded form of ``t[i]``.
    """
    table = _t2s_table()
    return "".join(_fold_char(char, table) for char in text)


def normalize_with_offsets(text: str, drop_spaces: bool = True) -> tuple[str, list[int]]:
    """Normalised text (optionally without white space) and each character's original offset.

    Dropping white space lets ``砍 头 息`` match ``砍头息``; the offsets map a match back.
    """
    table = _t2s_table()
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if drop_spaces and char in _SPACES:
            continue
        folded = _fold_char(char, table)
        if drop_spaces and folded == " ":
            continue
        chars.append(folded)
        offsets.append(index)
    return "".join(chars), offsets


def normalize_term(term: str) -> str:
    """A configured term (name, alias, keyword) in the form it is searched for."""
    return normalize_with_offsets(term, drop_spaces=True)[0]
