"""Quality on the held-out split of ../shared/data/sentiment (skipped when it is absent).

The split is the one ``yuqing sentiment train`` holds out: a seeded hash of the normalised text
(``sentiment.datasets.is_validation``), so the shipped model never saw these rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.analyzer import Analyzer
from sentiment.datasets import is_validation, read_examples
from sentiment.evaluate import evaluate_docs, evaluate_entities
from sentiment.mentions import find_mentions
from sentiment.model import SHIPPED_MODEL, load_model

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_model(SHIPPED_MODEL))


def _held_out(path: Path):
    return [e for e in read_examples(path) if is_validation(e.text)]


def test_finnsp_held_out_doc_and_entity(shared_data: Path, analyzer: Analyzer) -> None:
    rows = _held_out(shared_data / "finnsp_train.jsonl")
    assert 700 < len(rows) < 1000
    doc = evaluate_docs(rows, analyzer.model.score, 0.35, 0.65)
    assert doc["binary"]["accuracy"] >= 0.93
    assert doc["binary"]["per_class"]["negative"]["f1"] >= 0.93

    def towards(text, terms):  # noqa: ANN001, ANN202
        return analyzer.judge_entity(text, terms)[0] if find_mentions(text, terms) else 0.5

    entity = evaluate_entities(rows, towards, 0.35)
    assert entity is not None
    assert entity["accuracy"] >= 0.87
    assert entity["per_class"]["negative"]["f1"] >= 0.85


def test_finfe_held_out_three_classes(shared_data: Path, analyzer: Analyzer) -> None:
    rows = _held_out(shared_data / "finfe_train.jsonl")
    doc = evaluate_docs(rows, analyzer.model.score, 0.35, 0.65)
    assert doc["binary"]["accuracy"] >= 0.72
    assert doc["three_class"]["accuracy"] >= 0.62


def test_general_reviews_are_not_broken(shared_data: Path, analyzer: Analyzer) -> None:
    rows = _held_out(shared_data / "general" / "waimai_10k.csv")
    doc = evaluate_docs(rows, analyzer.model.score, 0.35, 0.65)
    assert doc["binary"]["accuracy"] >= 0.8
