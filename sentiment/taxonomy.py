"""Complaint categories: which of the taxonomy's topics a post talks about.

The taxonomy is data (``taxonomy.yaml`` beside this module; ``config/taxonomy.yaml`` points at
it): each category has a short English ``id`` (stored in ``posts.categories`` and used by alert
filters and severity rules), a Chinese display ``name`` and its ``terms``. Matching is one pass
of an Aho–Corasick automaton (pyahocorasick) over the normalised text — traditional characters,
full-width letters, case and spaces inside a term (``砍 头 息``) do not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.textnorm import normalize_term, normalize_with_offsets

DEFAULT_TAXONOMY = Path(__file__).resolve().parent / "taxonomy.yaml"
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SPACES_RE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


class TaxonomyError(ValueError):
    """An unusable taxonomy; the message names the category and field."""


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    terms: tuple[str, ...]
    name_en: str = ""


class Taxonomy:
    """Categories and the automaton that finds their terms."""

    def __init__(self, categories: Iterable[Category]) -> None:
        import ahocorasick  # a C extension, cheap; imported here to keep `import sentiment` light

        self.categories: dict[str, Category] = {}
        for category in categories:
            self.categories[category.id] = category
        self._automaton = ahocorasick.Automaton()
        owners: dict[str, list[tuple[str, str]]] = {}
        for category in self.categories.values():
            for term in category.terms:
                folded = normalize_term(term)
                if folded:
                    owners.setdefault(folded, []).append((category.id, term))
        for folded, owned in owners.items():
            self._automaton.add_word(folded, tuple(owned))
        self._empty = not owners
        if not self._empty:
            self._automaton.make_automaton()

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
        where: str = "taxonomy",
    ) -> Taxonomy:
        """Build from parsed YAML; ``extra`` adds categories or terms (``{id: {name, terms}}``)."""
        rows = data.get("categories") if isinstance(data, Mapping) else None
        if not isinstance(rows, list):
            raise TaxonomyError(f"{where}: categories: required (a list)")
        merged: dict[str, dict[str, Any]] = {}
        for index, row in enumerate(rows):
            category = _check_row(row, f"{where}: categories[{index}]")
            if category["id"] in merged:
                raise TaxonomyError(
                    f"{where}: categories[{index}].id: duplicate {category['id']!r}"
                )
            merged[category["id"]] = category
        for cid, row in (extra or {}).items():
            row = dict(row or {})
            row.setdefault("id", cid)
            if cid in merged:
                base = merged[cid]
                terms = [*base["terms"], *(row.get("terms") or [])]
                merged[cid] = {**base, **row, "terms": terms}
            else:
                merged[cid] = row
            merged[cid] = _check_row(merged[cid], f"{where}: extra.{cid}")
        return cls(
            Category(c["id"], c["name"], tuple(c["terms"]), c.get("name_en", ""))
            for c in merged.values()
        )

    @classmethod
    def load(
        cls, path: str | Path | None = None, extra: Mapping[str, Any] | None = None
    ) -> Taxonomy:
        """Read a taxonomy YAML file (default: the shipped one)."""
        import yaml

        path = Path(path) if path else DEFAULT_TAXONOMY
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TaxonomyError(f"taxonomy file not found: {path}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TaxonomyError(f"{path}: cannot read taxonomy: {first}") from None
        return cls.from_mapping(data or {}, extra, where=str(path))

    def hits(self, text: str) -> dict[str, list[str]]:
        """Category id → the configured terms found, in taxonomy order."""
        if self._empty or not text:
            return {}
        return self._hits(normalize_with_offsets(text)[0])

    def match_folded(self, folded: str) -> list[str]:
        """``match`` of a text already passed through ``normalize_for_match`` (spaces are
        dropped here), so the analyzer normalises each post once."""
        if self._empty or not folded:
            return []
        return list(self._hits(_SPACES_RE.sub("", folded)))

    def _hits(self, folded: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for _end, owned in self._automaton.iter(folded):
            for cid, term in owned:
                terms = found.setdefault(cid, [])
                if term not in terms:
                    terms.append(term)
        return {cid: found[cid] for cid in self.categories if cid in found}

    def match(self, text: str) -> list[str]:
        """The ids of the categories whose terms occur in ``text``."""
        return list(self.hits(text))

    def display_name(self, cid: str) -> str:
        category = self.categories.get(cid)
        return category.name if category else cid


def _check_row(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise TaxonomyError(f"{where}: expected a mapping with id, name, terms")
    cid = row.get("id")
    if not isinstance(cid, str) or not _ID_RE.match(cid):
        raise TaxonomyError(f"{where}.id: required, lower-case letters, digits and _ (e.g. fees)")
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TaxonomyError(f"{where}.name: required")
    terms = row.get("terms")
    if isinstance(terms, list):  # YAML reads 12378 and 315 as numbers: they are terms too
        terms = [str(t) if isinstance(t, int) and not isinstance(t, bool) else t for t in terms]
    if (
        not isinstance(terms, list)
        or not terms
        or not all(isinstance(t, str) and t.strip() for t in terms)
    ):
        raise TaxonomyError(f"{where}.terms: required, a non-empty list of non-empty strings")
    unknown = set(row) - {"id", "name", "name_en", "terms"}
    if unknown:
        raise TaxonomyError(f"{where}.{sorted(unknown)[0]}: unknown field")
    return {"id": cid, "name": name, "name_en": row.get("name_en", ""), "terms": list(terms)}
