"""Text → sentiment about the institution, complaint categories and severity. Pure core.

No I/O at import, no database, no network, no config: ``import sentiment`` is cheap (no model,
no snownlp, no jieba). The pieces, one job each:

* ``features`` — normalised character unigrams/bigrams; ``model`` — the shipped finance model
  (gzip JSON, ``load_model``); ``train`` — how it is trained (NumPy/SciPy, imported there only);
* ``mentions`` / ``textnorm`` — where a text names the institution; ``targeting`` — sentence
  windows around those mentions; ``target`` — is the institution what a negative text is about;
* ``analyzer`` — all of it for one post: score, label, categories, deciding sentence;
* ``taxonomy`` — complaint categories (``taxonomy.yaml``); ``severity`` — red / orange / yellow;
* ``datasets`` / ``evaluate`` / ``baseline`` — labelled files, metrics, default snownlp.
"""
