"""Default snownlp, for comparison in ``sentiment eval`` and the benchmark.

Imported only when asked for: ``import snownlp`` costs 2–2.5 s and ~420 MB.
"""

from __future__ import annotations


def snownlp_score(text: str) -> float:
    """``SnowNLP(text).sentiments`` — snownlp's shopping-review model, as shipped."""
    from snownlp import SnowNLP

    if not text.strip():
        return 0.5
    return float(SnowNLP(text).sentiments)
