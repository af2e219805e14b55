"""Train the finance model from labelled examples (what ``yuqing sentiment train`` runs).

Recipe, chosen on the held-out split of the shared data (docs/benchmarks.md):

* finance data at weight 1 (FinNSP ``not_negative`` counts as neutral), the general review
  sets as *background* at weight 0.3 (they teach everyday complaint and praise words — 太慢,
  态度好 — that finance news lacks), reviewers' feedback at a higher weight;
* character unigram/bigram features seen in at least two training texts;
* a three-class softmax regression with L2 penalty ``l2``, fitted by SciPy's L-BFGS on sparse
  matrices (NumPy and SciPy are imported here only: scoring needs neither);
* the entity-target model (``sentiment.target``) from FinNSP's ``key_entities``, its temperature
  fitted on a calibration slice carved from the training side — never on the held-out split.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sentiment.datasets import Example, split
from sentiment.features import features
from sentiment.mentions import find_mentions
from sentiment.model import CLASSES, SentimentModel
from sentiment.target import TargetModel, context_features, entity_terms

_TEMPERATURES = (0.3, 0.5, 0.7, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class TrainOptions:
    l2: float = 0.1
    min_count: int = 2
    max_iterations: int = 300
    calibration_fraction: float = 0.1
    target_alpha: float = 0.5
    target_window: int = 20


def _class_index(example: Example) -> int:
    return CLASSES.index("neutral" if example.label == "not_negative" else example.label)


def fit_softmax(
    examples: Sequence[Example], options: TrainOptions = TrainOptions()
) -> tuple[dict[str, tuple[float, ...]], list[float]]:
    """Weights per feature and class biases of an L2-penalised softmax regression."""
    import numpy as np
    import scipy.optimize
    import scipy.sparse

    sets = [features(e.text) for e in examples]
    frequency = Counter(f for s in sets for f in s)
    vocabulary = {
        f: i
        for i, f in enumerate(sorted(f for f, n in frequency.items() if n >= options.min_count))
    }
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, feature_set in enumerate(sets):
        index = [vocabulary[f] for f in feature_set if f in vocabulary]
        if index:
            rows += [r] * len(index)
            cols += index
            vals += [1.0 / math.sqrt(len(index))] * len(index)
    n, d, k = len(examples), len(vocabulary), len(CLASSES)
    x = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, d))
    y = np.zeros((n, k))
    y[np.arange(n), [_class_index(e) for e in examples]] = 1.0
    w = np.array([e.weight for e in examples])
    l2 = options.l2

    def loss_and_gradient(theta):  # noqa: ANN001, ANN202 - numpy arrays
        weights, bias = theta[: d * k].reshape(d, k), theta[d * k :]
        z = x @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -(w * np.log((p * y).sum(axis=1) + 1e-12)).sum() + l2 / 2 * (weights**2).sum()
        g = (p - y) * w[:, None]
        return loss, np.concatenate([(x.T @ g + l2 * weights).ravel(), g.sum(axis=0)])

    result = scipy.optimize.minimize(
        loss_and_gradient,
        np.zeros(d * k + k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": options.max_iterations},
    )
    weights = result.x[: d * k].reshape(d, k)
    names = sorted(vocabulary, key=vocabulary.__getitem__)
    table = {
        name: tuple(float(v) for v in weights[i])
        for i, name in enumerate(names)
        if float(np.abs(weights[i]).max()) >= 1e-3
    }
    return table, [float(b) for b in result.x[d * k :]]


def train_model(
    examples: Sequence[Example], options: TrainOptions = TrainOptions(), meta: dict | None = None
) -> SentimentModel:
    """A model (doc-level regression + entity-target model) from weighted examples."""
    if not examples:
        raise ValueError("no training examples")
    weights, bias = fit_softmax(examples, options)
    model = SentimentModel(weights, bias, CLASSES, meta, train_target(examples, options))
    model.meta.setdefault("name", "finance")
    model.meta["examples"] = len(examples)
    model.meta["l2"] = options.l2
    return model


def _target_rows(examples: Iterable[Example], window: int) -> list[tuple[set[str], bool, float]]:
    rows = []
    for example in examples:
        if not example.is_negative or not example.key_entities:
            continue
        for entity in example.entities:
            spans = [
                (m.start, m.end)
                for m in find_mentions(example.text, entity_terms(entity, example.entities))
            ]
            if spans:
                rows.append(
                    (
                        context_features(example.text, spans, window),
                        entity in example.key_entities,
                        example.weight,
                    )
                )
    return rows


def train_target(
    examples: Sequence[Example], options: TrainOptions = TrainOptions()
) -> TargetModel | None:
    """The entity-target model from negative texts with ``key_entities``; None without any."""
    window = options.target_window
    fit, calibration = split(list(examples), options.calibration_fraction, seed="yuqing-calib")
    fit_rows, calibration_rows = _target_rows(fit, window), _target_rows(calibration, window)
    if not fit_rows:
        return None
    probe = TargetModel(alpha=options.target_alpha, window=window, min_count=options.min_count)
    for feats, is_target, weight in fit_rows:
        probe.add(feats, is_target, weight)
    probe.prepare()
    best = (math.inf, 1.0)
    for temperature in _TEMPERATURES:
        probe.temperature = temperature
        loss = 0.0
        for feats, is_target, weight in calibration_rows:
            p = probe.probability_of(feats)
            loss -= weight * math.log(max(p if is_target else 1.0 - p, 1e-9))
        best = min(best, (loss, temperature))
    final = TargetModel(
        alpha=options.target_alpha, temperature=best[1], window=window, min_count=options.min_count
    )
    for feats, is_target, weight in fit_rows + calibration_rows:
        final.add(feats, is_target, weight)
    final.prepare()
    return final
