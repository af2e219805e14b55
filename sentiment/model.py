"""The finance sentiment model: a three-class linear (softmax) model over character features.

We started from snownlp's recipe — its Bayes classifier retrained on finance text, fed by a
fast segmenter — and measured it against a logistic regression on the same features and data
(docs/benchmarks.md). On the FinNSP held-out split both reach ~0.93, but on complaint-style
posts about a lender the Bayes model called 24 of 31 neutral or positive posts negative:
finance words (借款, 还款) co-occur with negative labels in the training data and Bayes counts
every correlated character n-gram as fresh evidence. The regression weighs them jointly and
got 0.88 there. So the shipped model is the regression (trained with SciPy's L-BFGS by
``sentiment.train``); scoring is a dictionary lookup per feature, in pure Python.

* Three classes (negative / neutral / positive): most finance news is *neutral*, and a
  two-class shopping-review model calls a quarter of it negative.
* The file is gzip-compressed JSON of the weights (not ``marshal``): it loads on every Python.
* The score is ``P(positive) + ½·P(neutral)``: 0 clearly negative, 0.5 neutral, 1 clearly
  positive — snownlp's convention, extended to three classes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sentiment.features import features, features_folded
from sentiment.target import TargetModel

FORMAT = "yuqing-linear/1"
CLASSES = ("negative", "neutral", "positive")
CLASS_VALUE = {"negative": 0.0, "neutral": 0.5, "positive": 1.0}
SHIPPED_MODEL = Path(__file__).resolve().parent / "finance_model.json.gz"
"""The model trained by ``yuqing sentiment train`` on the shared finance data (see its note)."""


class ModelError(ValueError):
    """A model file that cannot be used (wrong format, corrupt, missing)."""


class SentimentModel:
    """Scores texts: softmax(bias + Σ weights of the text's features / √n)."""

    def __init__(
        self,
        weights: Mapping[str, Sequence[float]],
        bias: Sequence[float],
        classes: Sequence[str] = CLASSES,
        meta: dict[str, Any] | None = None,
        target: TargetModel | None = None,
    ) -> None:
        self.classes = tuple(classes)
        self.weights = {f: tuple(w) for f, w in weights.items()}
        self.bias = tuple(bias)
        self.meta = dict(meta or {})
        self.target = target
        """Optional: is an entity the one the text is negative about (``sentiment.target``)."""
        self._values = tuple(CLASS_VALUE[c] for c in self.classes)

    @property
    def version(self) -> str:
        """Stable id of this model (stored on every scored post as ``model_version``)."""
        return f"{self.meta.get('name', 'finance')}-{self.meta.get('digest', 'unsaved')[:10]}"

    def logits(self, text: str) -> list[float]:
        return self._logits(features(text))

    def score_folded(self, folded: str) -> float:
        """``score`` of a text already passed through ``sentiment.features.fold``."""
        return self.score_features(features_folded(folded))

    def score_features(self, feats: set[str]) -> float:
        """``score`` from a feature set (the analyzer builds windows from sentence sets)."""
        probs = _softmax(self._logits(feats))
        return sum(p * v for p, v in zip(probs, self._values, strict=True))

    def _logits(self, feats: set[str]) -> list[float]:
        rows = list(filter(None, map(self.weights.get, feats)))  # C loops; rows are non-empty
        if not rows:
            return list(self.bias)
        # √n scaling: a long article is not n times more certain than a short post
        scale = 1.0 / math.sqrt(len(rows))
        return [
            b + sum(column) * scale
            for b, column in zip(self.bias, zip(*rows, strict=True), strict=True)
        ]

    def probabilities(self, text: str) -> dict[str, float]:
        return dict(zip(self.classes, _softmax(self.logits(text)), strict=True))

    def score(self, text: str) -> float:
        """``P(positive) + ½·P(neutral)``: 0 = clearly negative, 1 = clearly positive."""
        probs = _softmax(self.logits(text))
        return sum(p * v for p, v in zip(probs, self._values, strict=True))

    def scores(self, texts: Iterable[str]) -> list[float]:
        return [self.score(t) for t in texts]

    # --- persistence -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "classes": list(self.classes),
            "bias": [round(b, 5) for b in self.bias],
            "meta": {k: v for k, v in self.meta.items() if k != "digest"},
            "weights": {f: [round(x, 4) for x in w] for f, w in sorted(self.weights.items())},
            "target": self.target.to_json() if self.target is not None else None,
        }

    def save(self, path: str | Path) -> Path:
        """Write gzip JSON to exactly ``path`` (unlike snownlp, which appends ``.3``)."""
        payload = json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # mtime=0: the same model gives the same bytes, so the file is diff- and cache-friendly
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle,
        ):
            handle.write(payload)
        self.meta["digest"] = hashlib.sha256(payload).hexdigest()
        return path


def _softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def load_model(path: str | Path) -> SentimentModel:
    """Read a model written by ``SentimentModel.save``; ``ModelError`` with one clear line otherwise."""
    path = Path(path)
    try:
        payload = gzip.decompress(path.read_bytes())
        data = json.loads(payload)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except (OSError, EOFError, ValueError) as exc:
        raise ModelError(f"not a yuqing model file: {path} ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"not a yuqing model file: {path} (expected format {FORMAT})")
    try:
        classes = tuple(data["classes"])
        if set(classes) - set(CLASS_VALUE) or len(classes) != len(data["bias"]):
            raise ModelError(f"unsupported classes in {path}: {classes}")
        meta = dict(data.get("meta") or {})
        meta["digest"] = hashlib.sha256(payload).hexdigest()
        target = TargetModel.from_json(data["target"]) if data.get("target") else None
        weights = {f: tuple(float(x) for x in w) for f, w in data["weights"].items()}
        if any(len(w) != len(classes) for w in weights.values()):
            raise ModelError(f"corrupt model file: {path} (weight rows do not match classes)")
        return SentimentModel(weights, [float(b) for b in data["bias"]], classes, meta, target)
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"corrupt model file: {path} ({type(exc).__name__}: {exc})") from None
