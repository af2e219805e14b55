"""Accuracy, per-class precision/recall/F1 and confusion matrices, doc-level and entity-level.

Every file is judged on the product's question — *negative or not* — and, when its labels have
three classes (FinFE), on negative / neutral / positive too. Entity-level (FinNSP's
``entities`` / ``key_entities``): an entity is negative iff it is in ``key_entities``; the
prediction scores the text *towards that entity* (windows around its mentions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sentiment.analyzer import label_for
from sentiment.datasets import Example
from sentiment.mentions import MentionTerms
from sentiment.target import entity_terms

BINARY = ("negative", "not_negative")
THREE = ("negative", "neutral", "positive")


def metrics(
    gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, per-class P/R/F1/support, macro F1 and the confusion matrix (rows = gold)."""
    confusion = {g: {p: 0 for p in classes} for g in classes}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    per_class: dict[str, dict[str, float]] = {}
    for c in classes:
        tp = confusion[c][c]
        predicted_c = sum(confusion[g][c] for g in classes)
        support = sum(confusion[c].values())
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    total = len(gold)
    correct = sum(confusion[c][c] for c in classes)
    return {
        "n": total,
        "accuracy": round(correct / total, 4) if total else 0.0,
        "macro_f1": round(sum(v["f1"] for v in per_class.values()) / len(classes), 4),
        "per_class": per_class,
        "confusion": confusion,
    }


def _binary(label: str) -> str:
    return "negative" if label == "negative" else "not_negative"


def evaluate_docs(
    examples: Sequence[Example],
    score: Callable[[str], float],
    negative_below: float,
    positive_above: float,
) -> dict[str, Any]:
    """Doc-level figures for one scorer, plus its speed (texts per second)."""
    started = time.perf_counter()
    scores = [score(e.text) for e in examples]
    elapsed = time.perf_counter() - started
    labels = [label_for(s, negative_below, positive_above) for s in scores]
    out: dict[str, Any] = {
        "binary": metrics(
            [_binary(e.label) for e in examples], [_binary(x) for x in labels], BINARY
        ),
        "texts_per_second": round(len(examples) / elapsed, 1) if elapsed > 0 else None,
    }
    if (
        examples
        and all(e.label in THREE for e in examples)
        and {e.label for e in examples} - {"negative"} == {"neutral", "positive"}
    ):
        out["three_class"] = metrics([e.label for e in examples], labels, THREE)
    return out


def evaluate_entities(
    examples: Sequence[Example],
    judge_entity: Callable[[str, MentionTerms], float],
    negative_below: float,
) -> dict[str, Any] | None:
    """Entity-level figures, or ``None`` when the file has no entity labels."""
    gold: list[str] = []
    predicted: list[str] = []
    for example in examples:
        for entity in example.entities:
            terms = entity_terms(entity, example.entities)
            gold.append("negative" if entity in example.key_entities else "not_negative")
            predicted.append(
                "negative" if judge_entity(example.text, terms) < negative_below else "not_negative"
            )
    if not gold:
        return None
    return metrics(gold, predicted, BINARY)
