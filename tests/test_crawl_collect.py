"""The collect step: which sources are due, crawl children in parallel with a limit, a hard
timeout, and a stop event that kills children promptly and records them as killed. Also
``scrapy list`` / ``yuqing crawl`` from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fixtures.crawler.sitekit import REPO, Site, last_run, posts, write_config
from werkzeug.wrappers import Request, Response

from yuqing.settings import load_settings
from yuqing.store.models import utcnow

NEG = "北京中鼎经纬实业发展有限公司暴力催收，爆通讯录。"


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    site.active = 0  # type: ignore[attr-defined]
    site.peak = 0  # type: ignore[attr-defined]
    both = threading.Condition()

    def slow_feed(request: Request) -> Response:
        # hold each request until a second crawl is in flight too (or 5 s pass), so the peak
        # shows how many children ran at once whatever the machine's load
        with both:
            site.active += 1  # type: ignore[attr-defined]
            site.peak = max(site.peak, site.active)  # type: ignore[attr-defined]
            both.notify_all()
            both.wait_for(lambda: site.active >= 2 or site.release.is_set(), timeout=5)  # type: ignore[attr-defined]
        with both:
            site.active -= 1  # type: ignore[attr-defined]
        name = request.path.strip("/")
        return Response(
            f'<rss version="2.0"><channel><item><title>中鼎经纬 {name}</title>'
            f"<link>/n/{name}</link><description>{NEG}</description></item></channel></rss>",
            content_type="application/rss+xml",
        )

    for i in range(4):
        site.route(f"/feed{i}", slow_feed)
    site.route("/hang", lambda r: (site.release.wait(60), Response("late"))[1])
    yield site
    site.close()


@pytest.fixture
def settings(site: Site, db_url: str, tmp_path: Path) -> Any:
    sources = [
        {
            "name": f"feed{i}",
            "kind": "rss",
            "url": site.url(f"/feed{i}"),
            "allow_private": True,
            "obey_robots": False,
            "schedule": "10m",
        }
        for i in range(4)
    ]
    sources.append(
        {
            "name": "hang",
            "kind": "rss",
            "url": site.url("/hang"),
            "allow_private": True,
            "obey_robots": False,
            "timeout": "60s",
            "retries": 0,
        }
    )
    sources.append({"name": "off", "kind": "rss", "url": site.url("/feed0"), "enabled": False})
    path = write_config(
        tmp_path / "config.yaml",
        db_url,
        sources,
        scheduler={"max_parallel_crawls": 2, "crawl_every": "1h", "crawl_timeout": "60s"},
    )
    return load_settings(path)


@pytest.mark.postgres
def test_due_sources_follow_schedules(settings: Any, db_url: str) -> None:
    from yuqing.collect import due_sources
    from yuqing.store.posts import start_run

    assert due_sources(settings) == ["feed0", "feed1", "feed2", "feed3", "hang"]
    start_run(db_url, "feed0", pid=None, now=utcnow() - timedelta(minutes=5))
    start_run(db_url, "feed1", pid=None, now=utcnow() - timedelta(minutes=11))
    start_run(db_url, "hang", pid=None, now=utcnow() - timedelta(minutes=30))
    assert due_sources(settings) == ["feed1", "feed2", "feed3"]
    assert "hang" in due_sources(settings, utcnow() + timedelta(hours=1))


@pytest.mark.postgres
def test_crawl_sources_runs_in_parallel_within_the_limit(
    settings: Any, db_url: str, site: Site
) -> None:
    from yuqing.collect import crawl_sources

    outcomes = crawl_sources(settings, ["feed0", "feed1", "feed2", "feed3"])
    assert [o.status for o in outcomes] == ["ok"] * 4
    assert all(o.run_id is not None and o.returncode == 0 for o in outcomes)
    assert site.peak == 2  # type: ignore[attr-defined]
    assert len(posts(db_url)) == 4


@pytest.mark.postgres
def test_stop_kills_children_promptly_and_records_killed(
    settings: Any, db_url: str, site: Site
) -> None:
    from yuqing.collect import crawl_sources

    stop = threading.Event()
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("out", crawl_sources(settings, ["hang"], stop))
    )
    worker.start()
    deadline = time.monotonic() + 30
    while "/hang" not in site.hits and time.monotonic() < deadline:  # the crawl is mid-request
        time.sleep(0.05)
    assert "/hang" in site.hits
    stopped = time.monotonic()
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    assert time.monotonic() - stopped < 10
    [outcome] = result["out"]
    assert outcome.status == "killed"
    run = last_run(db_url, "hang")
    assert run.status == "killed" and run.finished_at is not None


@pytest.mark.postgres
def test_timeout_kills_child(settings: Any, db_url: str) -> None:
    from yuqing.collect import crawl_one
    from yuqing.store.db import session_scope
    from yuqing.store.models import SourceState

    started = time.monotonic()
    outcome = crawl_one(settings, "hang", timeout_s=3)
    assert outcome.status == "killed" and "timeout" in outcome.message
    assert time.monotonic() - started < 15
    run = last_run(db_url, "hang")
    assert run.status == "killed" and run.errors.get("killed") == 1
    with session_scope(db_url) as session:
        state = session.get(SourceState, "hang")
        assert state.consecutive_failures == 1 and state.status == "failing"


def _cli(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if config is not None:
        env["YUQING_CONFIG"] = str(config)
    return subprocess.run(list(args), capture_output=True, text=True, cwd=REPO, env=env, timeout=60)


def test_scrapy_list_and_crawl_from_repo_root(settings: Any, db_url: str) -> None:
    config = Path(settings.config_path)
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    listed = _cli(scrapy, "list", config=config)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["feed0", "feed1", "feed2", "feed3", "hang", "off"]
    crawled = _cli(scrapy, "crawl", "feed1", "-s", "LOG_LEVEL=WARNING", config=config)
    assert crawled.returncode == 0, crawled.stderr
    assert [p.source for p in posts(db_url)] == ["feed1"]
    assert last_run(db_url, "feed1").status == "ok"


def test_scrapy_list_with_a_broken_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "institution: {name: 中鼎经纬}\nsources:\n  - {name: x, kind: ftp}\n", encoding="utf-8"
    )
    listed = _cli(str(Path(sys.executable).with_name("scrapy")), "list", config=bad)
    assert listed.returncode == 2
    assert (
        "sources[0].kind: unknown kind 'ftp'" in listed.stderr and "Traceback" not in listed.stderr
    )


def test_yuqing_crawl_dry_run(settings: Any, db_url: str) -> None:
    done = _cli(
        sys.executable,
        "-m",
        "yuqing.cli",
        "crawl",
        "feed2",
        "--dry-run",
        "--config",
        settings.config_path,
    )
    assert done.returncode == 0, done.stderr
    assert '"title": "中鼎经纬 feed2"' in done.stdout and "pages 1" in done.stderr
    assert posts(db_url) == []
    unknown = _cli(
        sys.executable, "-m", "yuqing.cli", "crawl", "nope", "--config", settings.config_path
    )
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr
