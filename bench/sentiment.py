"""Benchmark: batch scoring by the shipped finance model vs plain ``SnowNLP(text).sentiments``.

Same texts, same run. Each side runs in its own child process so that its memory (peak RSS) is
its own: the analysis process never imports snownlp. Texts: the FinNSP held-out split when
``../shared/data/sentiment`` is present (finance news and posts, median ~150 characters), else
the repository's fixture posts.

    /work/venv/bin/python bench/sentiment.py [--texts 300] [--json]

Target (issue 4): the analyzer at least 60× snownlp's texts per second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this file's folder comes first on sys.path and would shadow the package
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent
]
SHARED = ROOT.parent / "shared" / "data" / "sentiment" / "finnsp_train.jsonl"
FIXTURE = ROOT / "tests" / "fixtures" / "sentiment" / "finance_posts.jsonl"
INSTITUTION = "中鼎经纬"


def load_texts(count: int) -> tuple[list[str], str]:
    from sentiment.datasets import is_validation, read_examples

    if SHARED.is_file():
        # each row's first listed entity becomes the institution, so the analyzer sees posts
        # that name "us" as often as FinNSP names its companies
        texts = [
            e.text.replace(e.entities[0], INSTITUTION) if e.entities else e.text
            for e in read_examples(SHARED)
            if is_validation(e.text)
        ]
        origin = "FinNSP held-out split"
    else:
        texts = [e.text for e in read_examples(FIXTURE)]
        origin = "tests/fixtures/sentiment/finance_posts.jsonl"
    while len(texts) < count:
        texts = texts + texts
    return texts[:count], origin


def _child(kind: str, texts_file: str) -> None:
    """Runs in a child process: load, warm up, time, report peak memory as JSON."""
    import resource

    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    started = time.perf_counter()
    if kind == "snownlp":
        from snownlp import SnowNLP

        SnowNLP("预热").sentiments  # noqa: B018 - loads every snownlp model
        load_s = time.perf_counter() - started

        def run() -> None:
            for text in texts:
                SnowNLP(text).sentiments  # noqa: B018

        rounds = 2
    else:
        from sentiment.analyzer import Analyzer
        from sentiment.mentions import MentionTerms
        from sentiment.model import SHIPPED_MODEL, load_model
        from sentiment.taxonomy import Taxonomy

        model = load_model(SHIPPED_MODEL)
        if kind == "model":
            load_s = time.perf_counter() - started

            def run() -> None:
                model.scores(texts)
        else:  # the whole analysis: mention windows, target model, taxonomy
            terms = MentionTerms(
                "北京中鼎经纬实业发展有限公司",
                (INSTITUTION, "中鼎"),
                context_words=("贷款", "借款", "催收", "还款", "逾期"),
            )
            analyzer = Analyzer(model, terms, Taxonomy.load())
            load_s = time.perf_counter() - started

            def run() -> None:
                analyzer.analyze_many(("", t) for t in texts)

        run()  # warm-up
        rounds = 5
    # best of several rounds (as timeit does): other processes on the machine only slow a
    # round down, never speed it up
    times = []
    for _ in range(rounds):
        timed = time.perf_counter()
        run()
        times.append(time.perf_counter() - timed)
    elapsed = min(times)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "kind": kind,
                "texts": len(texts),
                "seconds": elapsed,
                "texts_per_second": len(texts) / elapsed,
                "load_seconds": load_s,
                "peak_rss_mb": peak_kb / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.texts_file)
        return
    texts, origin = load_texts(args.texts)
    texts_file = Path("/tmp") / f"yuqing-bench-sentiment-{time.time_ns()}.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    results = {}
    try:
        for kind in ("snownlp", "model", "analyzer"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--texts-file", str(texts_file)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        texts_file.unlink(missing_ok=True)
    mean_len = sum(map(len, texts)) / len(texts)
    base = results["snownlp"]["texts_per_second"]
    report = {
        "texts": len(texts),
        "origin": origin,
        "mean_chars": round(mean_len, 1),
        "results": results,
        "speedup_model": results["model"]["texts_per_second"] / base,
        "speedup_analyzer": results["analyzer"]["texts_per_second"] / base,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    print(f"{len(texts)} texts from {origin}, mean {mean_len:.0f} characters")
    print(f"{'':<34}{'texts/s':>10}{'load s':>9}{'peak RSS MB':>13}")
    names = {
        "snownlp": "SnowNLP(text).sentiments",
        "model": "finance model, whole text",
        "analyzer": "analyzer (windows+target+taxonomy)",
    }
    for kind, name in names.items():
        r = results[kind]
        print(
            f"{name:<34}{r['texts_per_second']:>10.0f}{r['load_seconds']:>9.2f}"
            f"{r['peak_rss_mb']:>13.0f}"
        )
    print(
        f"speed-up: model {report['speedup_model']:.0f}×, analyzer {report['speedup_analyzer']:.0f}×"
        " (target ≥ 60×)"
    )


if __name__ == "__main__":
    main()
