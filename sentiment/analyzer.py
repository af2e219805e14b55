"""Text → score, label, categories and the deciding sentence, for one institution.

The analyzer is built once per process (the model is the expensive part) and then called on
batches. It holds no DB handle and reads no config: the analyze step passes plain values in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sentiment.features import features_folded, fold
from sentiment.mentions import MentionTerms, find_mentions
from sentiment.model import SentimentModel
from sentiment.target import gate
from sentiment.targeting import Judgement, aggregate, sentence_spans, window_spans
from sentiment.taxonomy import Taxonomy

LABELS = ("negative", "neutral", "positive")


def label_for(score: float, negative_below: float, positive_above: float) -> str:
    """``negative`` below ``negative_below``, ``positive`` above ``positive_above``, else neutral."""
    if score < negative_below:
        return "negative"
    if score > positive_above:
        return "positive"
    return "neutral"


@dataclass(frozen=True)
class Analysis:
    score: float
    """Probability the text is positive about the institution (0 = clearly negative)."""
    label: str
    categories: tuple[str, ...]
    deciding_sentence: str | None
    mentions: int
    """How many mentions the score was judged around (0: the whole text was judged)."""


class _Text:
    """One text being judged: sentences cut once, each sentence's features extracted once.

    Punctuation and line breaks end sentences and also break character bigrams, so a window of
    whole sentences has exactly the union of their features: scoring the mention windows and
    every sentence of a post costs about one extra pass over the text, not one per window.
    """

    def __init__(self, model: SentimentModel, text: str, folded: str) -> None:
        self.model = model
        self.text = text
        self.folded = folded
        self.sentences = sentence_spans(text)
        self._first = {start: i for i, (start, _end) in enumerate(self.sentences)}
        self._last = {end: i for i, (_start, end) in enumerate(self.sentences)}
        self._features: dict[int, set[str]] = {}
        self._scores: dict[tuple[int, int], float] = {}

    def overall(self) -> float:
        """The whole text's score, from the union of its sentences' features (identical to
        scoring the text at once except around a URL cut by a "?": 14 of 20,217 shared texts)."""
        if not self.sentences:
            return self.model.score_folded(self.folded)
        return self.score(self.sentences[0][0], self.sentences[-1][1])

    def score(self, lo: int, hi: int) -> float:
        key = (lo, hi)
        if key not in self._scores:
            self._scores[key] = self.model.score_features(self._window_features(lo, hi))
        return self._scores[key]

    def _window_features(self, lo: int, hi: int) -> set[str]:
        first, last = self._first.get(lo), self._last.get(hi)
        if first is None or last is None or last < first:  # a capped window inside a sentence
            return features_folded(self.folded[lo:hi])
        out: set[str] = set()
        for index in range(first, last + 1):
            feats = self._features.get(index)
            if feats is None:
                start, end = self.sentences[index]
                feats = self._features[index] = features_folded(self.folded[start:end])
            out |= feats
        return out


class Analyzer:
    """Scores texts about one institution with one model and one taxonomy."""

    def __init__(
        self,
        model: SentimentModel,
        terms: MentionTerms | None = None,
        taxonomy: Taxonomy | None = None,
        negative_below: float = 0.35,
        positive_above: float = 0.65,
        whole_text_chars: int = 240,
        window_weight: float = 0.5,
        min_window_chars: int = 8,
    ) -> None:
        self.model = model
        self.terms = terms
        self.taxonomy = taxonomy
        self.negative_below = negative_below
        self.positive_above = positive_above
        self.whole_text_chars = whole_text_chars
        self.window_weight = window_weight
        self.min_window_chars = min_window_chars

    @property
    def version(self) -> str:
        return self.model.version

    def judge_entity(
        self,
        text: str,
        terms: MentionTerms | None,
        folded: str | None = None,
        body_start: int = 0,
    ) -> tuple[float, str | None, int]:
        """(score, deciding sentence, mentions used) of ``text`` towards ``terms``.

        With mentions: the sentence windows around them. When the entity is named in the opening
        sentence of the title or of the body (which starts at ``body_start``) the post is *about*
        it and the whole text is blended in at ``1 - window_weight``; named later, it is a
        passing mention and only its windows count — a post negative about another lender that names ours in passing is not
        negative for us. A negative lean is then pulled towards neutral by the target model.
        Without mentions: the whole text (by sentences when longer than ``whole_text_chars``).
        ``folded`` is ``fold(text)`` when the caller has it (the text is normalised once).
        """
        folded = fold(text) if folded is None else folded
        doc = _Text(self.model, text, folded)
        mentions = find_mentions(text, terms, folded) if terms is not None else []
        if not mentions:
            whole = self._judge_whole(doc)
            return whole.score, whole.deciding, 0
        spans = [(m.start, m.end) for m in mentions]
        around = self._judge_spans(doc, window_spans(text, spans, self.min_window_chars))
        score = around.score
        deciding = around
        weight = self.window_weight if self._leads(text, spans[0][0], body_start) else 1.0
        if weight < 1.0:
            whole = self._judge_whole(doc)
            score = weight * score + (1 - weight) * whole.score
            if score < self.negative_below <= around.deciding_score:
                # the post is about us and reads negative, but not where it names us: show its
                # most negative sentence instead ("打了一上午电话没人接，这服务真不行")
                worst = self._judge_spans(
                    doc, window_spans(text, doc.sentences, self.min_window_chars)
                )
                deciding = min(around, whole, worst, key=lambda j: j.deciding_score)
        if self.model.target is not None and score < 0.5:  # the gate only moves negative leans
            score = gate(score, self.model.target.probability(folded, spans, folded=True))
        return score, deciding.deciding, len(mentions)

    @staticmethod
    def _leads(text: str, first_mention: int, body_start: int) -> bool:
        """Is the entity named in the opening sentence (of the title, or of the body)? Then the
        post is about it and its whole text counts; named later, it is a passing mention."""
        for start, end in sentence_spans(text):
            if start >= body_start:
                return first_mention < end
            if start == 0 and first_mention < end:
                return True
        return False

    def _judge_spans(self, doc: _Text, spans: list[tuple[int, int]]) -> Judgement:
        scored = [(doc.score(lo, hi), doc.text[lo:hi].strip()) for lo, hi in spans]
        return aggregate([(s, piece) for s, piece in scored if piece])

    def _judge_whole(self, doc: _Text) -> Judgement:
        if not doc.text.strip():
            return aggregate([])
        overall = doc.overall()
        if len(doc.text) <= self.whole_text_chars:
            return Judgement(overall, doc.text.strip(), 1, overall)
        # a longer text: every sentence is a window, so the deciding one can be shown
        result = self._judge_spans(
            doc, window_spans(doc.text, doc.sentences, self.min_window_chars)
        )
        return Judgement(
            (result.score + overall) / 2, result.deciding, result.windows, result.deciding_score
        )

    def analyze(self, title: str, content: str) -> Analysis:
        """Judge a post (title and body) about the configured institution."""
        text = join_title(title, content)
        folded = fold(text)
        body_start = max(0, len(text) - len((content or "").strip())) if title else 0
        score, deciding, used = self.judge_entity(text, self.terms, folded, body_start)
        score = min(1.0, max(0.0, score))
        categories = tuple(self.taxonomy.match_folded(folded)) if self.taxonomy is not None else ()
        label = label_for(score, self.negative_below, self.positive_above)
        return Analysis(round(score, 6), label, categories, _trim(deciding), used)

    def analyze_many(self, posts: Iterable[tuple[str, str]]) -> list[Analysis]:
        return [self.analyze(title, content) for title, content in posts]


def join_title(title: str, content: str) -> str:
    """Title and body as one text (the title is often the sharpest sentence)."""
    title, content = (title or "").strip(), (content or "").strip()
    if title and not content.startswith(title):
        return f"{title}。\n{content}" if content else title
    return content or title


def _trim(sentence: str | None, limit: int = 300) -> str | None:
    if sentence is None:
        return None
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def score_texts(model: SentimentModel, texts: Sequence[str]) -> list[float]:
    """Plain whole-text scores (what the benchmark and doc-level eval measure)."""
    return [model.score(t) for t in texts]
