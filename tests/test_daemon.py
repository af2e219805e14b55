"""``yuqing daemon`` stops cleanly on SIGTERM, also in the middle of a crawl."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from yuqing.store.db import session_scope
from yuqing.store.models import CrawlRun

pytestmark = pytest.mark.postgres


class _SlowFeed(BaseHTTPRequestHandler):
    """Answers the feed only after a long time, so the crawl is still running at SIGTERM."""

    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.server.hits += 1  # type: ignore[attr-defined]
        self.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        self.wfile.write(b"<rss version='2.0'><channel><title>x</title></channel></rss>")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFeed)
    server.hits = 0  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    _SlowFeed.release.set()
    server.shutdown()
    server.server_close()


def _wait_for(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigterm_during_a_crawl_exits_cleanly(
    db_url: str, tmp_path: Path, slow_server: ThreadingHTTPServer
) -> None:
    port = slow_server.server_address[1]
    config = tmp_path / "daemon.yaml"
    config.write_text(
        f"""
institution: {{name: 北京中鼎经纬实业发展有限公司, aliases: [中鼎经纬]}}
database: {{url: '{db_url}'}}
scheduler: {{crawl_every: 1m, lock_file: '{tmp_path / "lock"}'}}
sources:
  - {{name: slow_feed, kind: rss, url: 'http://127.0.0.1:{port}/feed.xml', allow_private: true}}
""",
        encoding="utf-8",
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "yuqing.cli", "daemon", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: slow_server.hits > 0 or daemon.poll() is not None,
            60,
            "the crawl to reach the server",
        )
        assert daemon.poll() is None, daemon.communicate()[1]

        def run_recorded() -> bool:
            with session_scope(db_url) as session:
                return session.scalars(select(CrawlRun)).first() is not None

        _wait_for(run_recorded, 30, "the crawl run to be recorded")
        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=30)
        assert daemon.returncode == 0, stderr
        assert time.monotonic() - started < 20
        assert "Traceback" not in stderr
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGKILL)
    with session_scope(db_url) as session:
        runs = session.scalars(select(CrawlRun)).all()
    assert [run.status for run in runs] == ["killed"]
    assert runs[0].finished_at is not None
    # no crawl child left behind
    leftover = subprocess.run(
        ["pgrep", "-f", f"crawler.run.*{config}"], capture_output=True, text=True
    )
    assert leftover.stdout.strip() == ""
