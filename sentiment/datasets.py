"""Read labelled sentiment files into ``Example`` rows, and split them reproducibly.

Accepted formats (those of ``../shared/data/sentiment`` and of ``yuqing sentiment
export-feedback``):

* JSONL with ``text`` (and/or ``title``) and either ``negative`` (0/1, FinNSP) or ``label``
  (0/1/2 = negative/neutral/positive as in FinFE, or the words ``negative``/``neutral``/
  ``positive``); FinNSP's ``entities`` / ``key_entities`` give entity-level labels;
* CSV with ``label,review`` (1 positive, 0 negative, ChnSentiCorp style).

Labels are one of ``negative``, ``neutral``, ``positive`` or ``not_negative`` (FinNSP says only
whether a text is negative; the rest may be neutral or positive).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sentiment.features import clean

LABELS = ("negative", "neutral", "positive", "not_negative")
_INT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
_CSV_LABELS = {"0": "negative", "1": "positive"}


class DatasetError(ValueError):
    """A labelled file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    entities: tuple[str, ...] = ()
    key_entities: tuple[str, ...] = ()
    weight: float = 1.0
    origin: str = field(default="", compare=False)

    @property
    def is_negative(self) -> bool:
        return self.label == "negative"


def read_examples(path: str | Path) -> list[Example]:
    """All labelled rows of a ``.jsonl`` / ``.json`` / ``.csv`` file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return list(_read_csv(path))
    return list(_read_jsonl(path))


def _read_jsonl(path: Path) -> Iterator[Example]:
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{number}: expected a JSON object")
            yield _example_from_row(row, f"{path}:{number}")


def _example_from_row(row: dict, where: str) -> Example:
    title = str(row.get("title") or "").strip()
    text = str(row.get("text") or row.get("content") or row.get("review") or "").strip()
    if title and title not in text:
        text = f"{title}\n{text}" if text else title
    if not text:
        raise DatasetError(f"{where}: no text or title")
    label = _label_of(row, where)
    entities = tuple(str(e) for e in row.get("entities") or () if str(e).strip())
    keys = tuple(str(e) for e in row.get("key_entities") or () if str(e).strip())
    weight = float(row.get("weight", 1.0))
    return Example(text, label, entities, keys, weight, where)


def _label_of(row: dict, where: str) -> str:
    if "negative" in row and row["negative"] not in (None, ""):
        try:
            return "negative" if int(row["negative"]) == 1 else "not_negative"
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: 'negative' must be 0 or 1") from None
    value = row.get("label")
    if isinstance(value, str) and value.strip().lower() in LABELS:
        return value.strip().lower()
    try:
        return _INT_LABELS[int(value)]
    except (TypeError, ValueError, KeyError):
        raise DatasetError(
            f"{where}: need 'negative' (0/1) or 'label' (0/1/2 or negative/neutral/positive)"
        ) from None


def _read_csv(path: Path) -> Iterator[Example]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        if not {"label", "review"} <= fields:
            raise DatasetError(f"{path}: a CSV needs the columns label,review")
        for number, row in enumerate(reader, 2):
            text = (row.get("review") or "").strip()
            label = _CSV_LABELS.get((row.get("label") or "").strip())
            if label is None:
                raise DatasetError(f"{path}:{number}: label must be 0 or 1")
            if text:
                yield Example(text, label, origin=f"{path}:{number}")


def is_validation(text: str, fraction: float = 0.2, seed: str = "yuqing-v1") -> bool:
    """Whether a text belongs to the held-out split.

    A seeded hash of the *normalised* text: the same text (also in traditional characters or
    with other spacing) always lands on the same side, so duplicates cannot leak across.
    """
    digest = hashlib.sha1(f"{seed}:{clean(text)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split(
    examples: list[Example], fraction: float = 0.2, seed: str = "yuqing-v1"
) -> tuple[list[Example], list[Example]]:
    """(train, validation) by ``is_validation``."""
    train: list[Example] = []
    held: list[Example] = []
    for example in examples:
        (held if is_validation(example.text, fraction, seed) else train).append(example)
    return train, held
