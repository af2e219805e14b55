"""Does a text mention the institution, and where?

Rules, in the order a reader would apply them:

1. The full name and the aliases match after normalisation (traditional characters, full-width
   letters, case and white space do not matter).
2. A *short* alias (``len <= short_alias_max_len``, e.g. ``中鼎``) is ambiguous — a person, a
   place, another company — so it only counts when a context word (``贷款``, ``催收`` …) appears
   within ``context_window`` characters of it.
3. A match that lies inside an exclusion phrase (``中鼎国际物流``) is another entity: ignored.
4. Overlapping matches keep the longest (``中鼎经纬`` beats the ``中鼎`` inside it).

Pure: no I/O. Spans are offsets into the original text, so callers can cut windows around them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sentiment.textnorm import normalize_term, normalize_with_offsets


@dataclass(frozen=True)
class MentionTerms:
    """What to look for; built once from the institution config and reused for every text."""

    name: str
    aliases: tuple[str, ...] = ()
    short_alias_max_len: int = 2
    context_words: tuple[str, ...] = ()
    context_window: int = 30
    exclude: tuple[str, ...] = ()
    _normalised: tuple[tuple[str, str, bool], ...] = field(init=False, repr=False, compare=False)
    _context: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms: dict[str, tuple[str, str, bool]] = {}
        for term in (self.name, *self.aliases):
            folded = normalize_term(term)
            if folded and folded not in terms:
                terms[folded] = (term, folded, len(folded) <= self.short_alias_max_len)
        # longest first, so that overlap resolution prefers the most specific term
        ordered = tuple(sorted(terms.values(), key=lambda t: -len(t[1])))
        object.__setattr__(self, "_normalised", ordered)
        object.__setattr__(self, "_context", _fold_all(self.context_words))
        object.__setattr__(self, "_exclude", _fold_all(self.exclude))

    @classmethod
    def from_config(cls, institution: object) -> MentionTerms:
        """From anything with the institution config's attributes (keeps this module config-free)."""
        return cls(
            name=institution.name,  # type: ignore[attr-defined]
            aliases=tuple(institution.aliases),  # type: ignore[attr-defined]
            short_alias_max_len=institution.short_alias_max_len,  # type: ignore[attr-defined]
            context_words=tuple(institution.context_words),  # type: ignore[attr-defined]
            context_window=institution.context_window,  # type: ignore[attr-defined]
            exclude=tuple(institution.exclude),  # type: ignore[attr-defined]
        )

    @property
    def searched_terms(self) -> tuple[tuple[str, str, bool], ...]:
        """(configured term, normalised form, is short) — longest first."""
        return self._normalised


@dataclass(frozen=True)
class Mention:
    """One mention: the configured term that matched and its span in the original text."""

    term: str
    start: int
    end: int


def _fold_all(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(folded for folded in (normalize_term(w) for w in words) if folded)


def _occurrences(haystack: str, needle: str) -> list[int]:
    positions: list[int] = []
    start = haystack.find(needle)
    while start != -1:
        positions.append(start)
        start = haystack.find(needle, start + 1)
    return positions


def _excluded_spans(folded: str, exclude: tuple[str, ...]) -> list[tuple[int, int]]:
    return [(p, p + len(w)) for w in exclude for p in _occurrences(folded, w)]


def _has_context(folded: str, start: int, end: int, terms: MentionTerms) -> bool:
    lo = max(0, start - terms.context_window)
    hi = min(len(folded), end + terms.context_window)
    window = folded[lo:hi]
    return any(word in window for word in terms._context)


def find_mentions(text: str, terms: MentionTerms, folded: str | None = None) -> list[Mention]:
    """Every mention of the institution in ``text``, in reading order.

    ``folded``: ``normalize_for_match(text)`` when the caller has it (the analyzer folds once).
    """
    if not text:
        return []
    folded, offsets = normalize_with_offsets(text, folded=folded)
    excluded = _excluded_spans(folded, terms._exclude)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, int, str]] = []
    for original, needle, is_short in terms.searched_terms:
        for start in _occurrences(folded, needle):
            end = start + len(needle)
            if any(lo <= start and end <= hi for lo, hi in excluded):
                continue
            if any(start < hi and lo < end for lo, hi in taken):
                continue
            if is_short and not _has_context(folded, start, end, terms):
                continue
            taken.append((start, end))
            found.append((start, end, original))
    found.sort()
    return [Mention(term, offsets[s], offsets[e - 1] + 1) for s, e, term in found]


def matched_terms(mentions: Iterable[Mention]) -> list[str]:
    """The distinct configured terms that matched, in first-seen order (stored on the post)."""
    return list(dict.fromkeys(m.term for m in mentions))
