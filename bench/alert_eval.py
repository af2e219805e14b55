"""One rule evaluation with 1 M posts stored: the engine's bucketed SQL against a full scan.

    python bench/alert_eval.py                      # SQLite file in a temp folder
    createdb -h 127.0.0.1 -U root yuqing_bench   # once; the bench resets its schema each run
    python bench/alert_eval.py --postgres postgresql+psycopg://root@127.0.0.1/yuqing_bench
    python bench/alert_eval.py --posts 200000       # smaller, quicker

Posts: a month of traffic (about 1,400 an hour), 30 % negative, 10 sources, categories and
severities mixed in. Timed: ``alerts.engine.observe`` for a spike rule (current hour + 6
baseline hours), the same grouped by source, a seasonal (daily, 7 days) spike, and a
threshold rule — the median of 30 runs each — and, for comparison, one full scan that loads
every post and buckets in Python. Target: ≤ 50 ms and ≥ 100× faster than the scan.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts import queries  # noqa: E402
from alerts.engine import observe  # noqa: E402
from yuqing.settings.alerting import AlertSettings  # noqa: E402
from yuqing.store.db import engine_for, session_scope, upgrade  # noqa: E402
from yuqing.store.models import Post  # noqa: E402

END = datetime(2026, 11, 28, 12, 0)
SOURCES = [f"source{i}" for i in range(10)]
CATEGORIES = ["fees", "collection", "credit", "service", "app", "contract", "fraud", "regulator"]


def populate(url: str, total: int, seed: int = 1) -> float:
    rng = random.Random(seed)
    start = END - timedelta(days=30)
    span = (END - start).total_seconds()
    began = time.perf_counter()
    chunk = 20_000
    with session_scope(url) as session:
        for offset in range(0, total, chunk):
            rows = []
            for i in range(offset, min(total, offset + chunk)):
                published = start + timedelta(seconds=rng.random() * span)
                label = "negative" if rng.random() < 0.3 else rng.choice(("neutral", "positive"))
                rows.append(
                    {
                        "url": f"http://bench.invalid/p/{i}",
                        "source": rng.choice(SOURCES),
                        "title": "",
                        "content": "",
                        "published_at": published,
                        "fetched_at": published,
                        "first_seen_at": published,
                        "analyzed_at": published,
                        "matched_terms": [],
                        "content_hash": "",
                        "categories": rng.sample(CATEGORIES, rng.choice((0, 1, 1, 2))),
                        "label": label,
                        "score": rng.random(),
                        "severity": rng.choice((None, None, None, "yellow", "orange", "red")),
                    }
                )
            session.connection().execute(insert(Post.__table__), rows)
            session.commit()
    if url.startswith("postgresql"):
        with engine_for(url).begin() as connection:
            connection.execute(text("ANALYZE posts"))
    else:
        with engine_for(url).begin() as connection:
            connection.execute(text("ANALYZE"))
    return time.perf_counter() - began


def rules() -> dict[str, object]:
    settings = AlertSettings.model_validate(
        {
            "channels": [{"name": "x", "type": "webhook", "url": "http://127.0.0.1:9/x"}],
            "rules": [
                {
                    "name": "spike",
                    "type": "spike",
                    "window": "1h",
                    "baseline_windows": 6,
                    "channels": ["x"],
                },
                {
                    "name": "spike-by-source",
                    "type": "spike",
                    "window": "1h",
                    "baseline_windows": 6,
                    "group_by": ["source"],
                    "channels": ["x"],
                },
                {
                    "name": "spike-seasonal",
                    "type": "spike",
                    "window": "1h",
                    "baseline_windows": 6,
                    "seasonality": "daily",
                    "seasonal_periods": 7,
                    "channels": ["x"],
                },
                {
                    "name": "threshold-fees",
                    "type": "threshold",
                    "window": "1h",
                    "count": 50,
                    "filter": {"categories": ["fees"]},
                    "channels": ["x"],
                },
            ],
        }
    )
    return {rule.name: rule for rule in settings.rules}


def time_it(url: str, rule: object, runs: int) -> tuple[float, object]:
    timings = []
    result = None
    with session_scope(url) as session:
        observe(session, rule, END, {})  # warm the cache and the plan
        for _ in range(runs):
            began = time.perf_counter()
            result = observe(session, rule, END, {})
            timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings), result


def full_scan(url: str, rule: object) -> tuple[float, list[int]]:
    with session_scope(url) as session:
        began = time.perf_counter()
        counts = queries.full_scan_count(
            session, rule.filter, END, rule.window, rule.baseline_windows + 1
        )
        return (time.perf_counter() - began) * 1000, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", default=None, help="PostgreSQL URL (its posts table is reset)"
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-") as folder:
        if args.postgres:
            url = args.postgres
            with engine_for(url).begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine_for(url).dispose()
        else:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        backend = "postgresql" if args.postgres else "sqlite"
        load_s = populate(url, args.posts)
        print(f"{backend}: stored {args.posts:,} posts in {load_s:.1f} s")
        figures = {"backend": backend, "posts": args.posts, "rules": {}}
        all_rules = rules()
        scan_ms, scan_counts = full_scan(url, all_rules["spike"])
        for name, rule in all_rules.items():
            ms, observations = time_it(url, rule, args.runs)
            figures["rules"][name] = {"median_ms": round(ms, 2), "keys": len(observations)}
            print(
                f"  {name:<16} median {ms:7.2f} ms over {args.runs} runs ({len(observations)} keys)"
            )
        _, spike = time_it(url, all_rules["spike"], 1)
        engine_counts = spike[0].decision.current if spike else 0
        assert engine_counts == scan_counts[-1], (engine_counts, scan_counts)
        figures["full_scan_ms"] = round(scan_ms, 1)
        figures["speedup"] = round(scan_ms / figures["rules"]["spike"]["median_ms"], 1)
        print(f"  full scan        {scan_ms:9.1f} ms (same current count: {scan_counts[-1]})")
        print(f"  speed-up of the spike rule over the scan: {figures['speedup']}×")
        print(json.dumps(figures))
        engine_for(url).dispose()


if __name__ == "__main__":
    main()
