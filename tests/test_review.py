"""Review: flagged posts listed newest first, marks audited, handling-time report."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from yuqing.review import ListFilter, ReviewError, handling_report, history, list_flagged, mark
from yuqing.store.db import session_scope
from yuqing.store.models import Post

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 11, 1, 8, 0)


def add_post(
    session,
    n: int,
    label: str = "negative",
    source: str = "forum",
    published: datetime | None = None,
    seen: datetime | None = None,
) -> Post:
    post = Post(
        url=f"http://example.test/{source}/{n}",
        source=source,
        title=f"帖子{n}",
        content="<script>alert(1)</script>中鼎经纬催收",
        published_at=published or T0,
        first_seen_at=seen or published or T0,
        label=label,
        score=0.1,
        analyzed_at=T0,
    )
    session.add(post)
    session.flush()
    return post


def test_list_filters_and_order(db_url: str) -> None:
    with session_scope(db_url) as session:
        for n in range(5):
            add_post(session, n, published=T0 + timedelta(hours=n))
        add_post(session, 10, label="neutral")
        add_post(session, 11, source="news", published=T0 + timedelta(hours=9))
    with session_scope(db_url) as session:
        posts = list_flagged(session, ListFilter())
        assert [p.title for p in posts][:2] == ["帖子11", "帖子4"]
        assert all(p.label == "negative" for p in posts)
        assert [p.title for p in list_flagged(session, ListFilter(source="news"))] == ["帖子11"]
        since = list_flagged(session, ListFilter(since=T0 + timedelta(hours=3), source="forum"))
        assert [p.title for p in since] == ["帖子4", "帖子3"]


def test_mark_writes_audit_rows_and_first_handled(db_url: str) -> None:
    with session_scope(db_url) as session:
        post_id = add_post(session, 1).id
    with session_scope(db_url) as session:
        mark(session, post_id, "escalated", "李四", "转法务", now=T0 + timedelta(hours=2))
        mark(session, post_id, "handled", "王五", "已回电", now=T0 + timedelta(hours=5))
    with session_scope(db_url) as session:
        post = session.get(Post, post_id)
        assert post.review_status == "handled"
        assert post.first_handled_at == T0 + timedelta(hours=2)
        events = history(session, post_id)
        assert [(e.by, e.from_status, e.to_status, e.note) for e in events] == [
            ("李四", "new", "escalated", "转法务"),
            ("王五", "escalated", "handled", "已回电"),
        ]
        assert list_flagged(session, ListFilter(status="handled"))[0].id == post_id


@pytest.mark.parametrize(
    ("post_id", "status", "by"), [(999, "handled", "x"), (1, "done", "x"), (1, "handled", " ")]
)
def test_bad_marks_are_refused(db_url: str, post_id: int, status: str, by: str) -> None:
    with session_scope(db_url) as session:
        add_post(session, 1)
    with session_scope(db_url) as session, pytest.raises(ReviewError):
        mark(session, post_id, status, by)


def test_handling_report_counts_24h_target(db_url: str) -> None:
    now = T0 + timedelta(days=3)
    with session_scope(db_url) as session:
        fast = add_post(session, 1)
        slow = add_post(session, 2)
        add_post(session, 3)  # still open, seen 3 days ago: overdue
        add_post(session, 4, seen=now - timedelta(hours=1))  # open but not yet due
        mark(session, fast.id, "handled", "a", now=T0 + timedelta(hours=3))
        mark(session, slow.id, "false_positive", "a", now=T0 + timedelta(hours=30))
    with session_scope(db_url) as session:
        report = handling_report(session, since=T0 - timedelta(days=1), now=now)
    assert (
        report.handled_in_target,
        report.handled_late,
        report.open_overdue,
        report.open_in_time,
    ) == (1, 1, 1, 1)
    assert report.in_target_ratio == pytest.approx(1 / 3)


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuqing.cli", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_review_cli_round_trip(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"institution: {{name: 中鼎经纬}}\ndatabase: {{url: '{db_url}'}}\n", encoding="utf-8"
    )
    with session_scope(db_url) as session:
        post_id = add_post(session, 1).id
    listed = _cli(config, "review", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.splitlines()[0])["id"] == post_id
    marked = _cli(
        config,
        "review",
        "mark",
        str(post_id),
        "handled",
        "--note",
        "已联系客户",
        "--by",
        "合规-张三",
    )
    assert marked.returncode == 0, marked.stderr
    shown = _cli(config, "review", "show", str(post_id), "--json")
    data = json.loads(shown.stdout)
    assert data["status"] == "handled"
    assert data["history"][0]["by"] == "合规-张三"
    missing = _cli(config, "review", "mark", "9999", "handled", "--by", "x")
    assert missing.returncode == 1 and "no post with id 9999" in missing.stderr
