"""Text → score, label, categories and the deciding sentence, for one institution.

The analyzer is built once per process (the model is the expensive part) and then called on
batches. It holds no DB handle and reads no config: the analyze step passes plain values in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sentiment.features import fold
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
        lead_sentences: int = 2,
    ) -> None:
        self.model = model
        self.terms = terms
        self.taxonomy = taxonomy
        self.negative_below = negative_below
        self.positive_above = positive_above
        self.whole_text_chars = whole_text_chars
        self.window_weight = window_weight
        self.min_window_chars = min_window_chars
        self.lead_sentences = lead_sentences

    @property
    def version(self) -> str:
        return self.model.version

    def judge_entity(
        self, text: str, terms: MentionTerms | None, folded: str | None = None
    ) -> tuple[float, str | None, int]:
        """(score, deciding sentence, mentions used) of ``text`` towards ``terms``.

        With mentions: the sentence windows around them only (``window_weight`` < 1 blends in the
        whole text: +0.5 points entity accuracy on FinNSP, but a post that is negative about
        another lender and names ours in passing then reads negative for us), pulled towards
        neutral by the target model. Without: the whole text, by sentence windows when long.
        ``folded`` is ``fold(text)`` when the caller has it (the text is normalised once).
        """
        folded = fold(text) if folded is None else folded
        mentions = find_mentions(text, terms) if terms is not None else []
        if not mentions:
            whole = self._judge_whole(text, folded)
            return whole.score, whole.deciding, 0
        spans = [(m.start, m.end) for m in mentions]
        around = self._judge_spans(text, folded, window_spans(text, spans, self.min_window_chars))
        score = around.score
        weight = self.window_weight if self._leads(text, spans[0][0]) else 1.0
        if weight < 1.0:
            whole = self._judge_whole(text, folded)
            score = weight * score + (1 - weight) * whole.score
        if self.model.target is not None and score < 0.5:  # the gate only moves negative leans
            score = gate(score, self.model.target.probability(folded, spans, folded=True))
        return score, around.deciding, len(mentions)

    def _leads(self, text: str, first_mention: int) -> bool:
        """Is the institution named in the first ``lead_sentences`` (the title is one)? Then the
        post is about it and its whole text counts; otherwise it is named in passing."""
        sentences = sentence_spans(text)[: self.lead_sentences]
        return bool(sentences) and first_mention < sentences[-1][1]

    def _judge_spans(self, text: str, folded: str, spans: list[tuple[int, int]]) -> Judgement:
        scored = [(self.model.score_folded(folded[lo:hi]), text[lo:hi].strip()) for lo, hi in spans]
        return aggregate([(s, piece) for s, piece in scored if piece])

    def _judge_whole(self, text: str, folded: str) -> Judgement:
        if not text.strip():
            return aggregate([])
        overall = self.model.score_folded(folded)
        if len(text) <= self.whole_text_chars:
            return Judgement(overall, text.strip(), 1)
        # a long article: every sentence is a window, so the deciding one can be shown
        sentences = sentence_spans(text)
        result = self._judge_spans(text, folded, window_spans(text, sentences))
        return Judgement((result.score + overall) / 2, result.deciding, result.windows)

    def analyze(self, title: str, content: str) -> Analysis:
        """Judge a post (title and body) about the configured institution."""
        text = join_title(title, content)
        folded = fold(text)
        score, deciding, used = self.judge_entity(text, self.terms, folded)
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
