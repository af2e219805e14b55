"""The review console through Flask's test client over a real database: login gate, CSRF,
marks audited through ``yuqing.review``, hostile post content escaped, filters, throttling."""

from __future__ import annotations

import re
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from yuqing.cli_console import console
from yuqing.console import create_app
from yuqing.console.queries import ConsoleFilter, list_page
from yuqing.console.secret import ENV_VAR, SecretError, load_secret
from yuqing.console.throttle import LoginThrottle
from yuqing.console.users import set_user, usernames
from yuqing.review import history, mark
from yuqing.store.db import session_scope
from yuqing.store.models import Post, utcnow

pytestmark = pytest.mark.postgres
SECRET = {ENV_VAR: "test-signing-key-0123456789abcdef"}
PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 20, 2, 0)  # 10:00 Beijing
HOSTILE = {
    "title": "<script>alert(1)</script>中鼎经纬",
    "content": '第一段 <img src=x onerror="window.__xss=1"> 中鼎经纬 催收\n<b>第二段</b>',
    "author": "<svg onload=alert(1)>",
    "deciding_sentence": '中鼎经纬<iframe src="javascript:alert(1)">',
    "url": "javascript:alert(document.cookie)",
}


def add_post(db_url: str, n: int, **fields) -> int:
    values = {
        "url": f"http://forum.test/t/{n}",
        "source": "forum",
        "title": f"帖子{n}",
        "content": f"中鼎经纬 催收 第{n}帖",
        "published_at": T0 + timedelta(minutes=n),
        "label": "negative",
        "score": 0.12,
        "analyzed_at": T0,
        "severity": "orange",
        "categories": ["collection"],
        "matched_terms": ["中鼎经纬"],
        "deciding_sentence": "中鼎经纬的催收太过分了。",
    }
    values.update(fields)
    with session_scope(db_url) as session:
        post = Post(**values)
        session.add(post)
        session.flush()
        return post.id


@pytest.fixture
def app(make_settings, db_url: str) -> Flask:
    with session_scope(db_url) as session:
        set_user(session, "lisi", PASSWORD)
    app = create_app(make_settings(), environ=SECRET)
    app.testing = True
    return app


def token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client: FlaskClient, user: str = "lisi", password: str = PASSWORD, next_: str = ""):
    return client.post(
        "/login",
        data={"username": user, "password": password, "next": next_, "csrf_token": token(client)},
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert login(client).status_code == 302
    return client


def test_healthz_needs_no_login(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/", "/posts", "/posts/1", "/report", "/posts?status=new"])
def test_pages_require_login(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_mark_requires_login_even_with_a_csrf_token(app: Flask, db_url: str) -> None:
    post_id = add_post(db_url, 1)
    anonymous = app.test_client()
    response = anonymous.post(
        f"/posts/{post_id}/mark", data={"status": "handled", "csrf_token": token(anonymous)}
    )
    assert response.status_code == 401
    with session_scope(db_url) as session:
        assert history(session, post_id) == []


def test_login_redirects_to_next_and_sets_a_safe_cookie(app: Flask, db_url: str) -> None:
    post_id = add_post(db_url, 1)
    client = app.test_client()
    response = login(client, next_=f"/posts/{post_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/posts/{post_id}"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get(f"/posts/{post_id}").status_code == 200


@pytest.mark.parametrize("next_", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(app: Flask, next_: str) -> None:
    response = login(app.test_client(), next_=next_)
    assert response.headers["Location"] == "/posts"


@pytest.mark.parametrize(
    ("user", "password"),
    [("lisi", "wrong password"), ("nobody", PASSWORD), ("lisi", ""), ("<script>", "x")],
)
def test_bad_login_is_refused(app: Flask, user: str, password: str) -> None:
    client = app.test_client()
    response = login(client, user, password)
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/posts").status_code == 302


def test_failed_logins_are_throttled(make_settings, db_url: str) -> None:
    now = [1000.0]
    with session_scope(db_url) as session:
        set_user(session, "lisi", PASSWORD)
    app = create_app(
        make_settings(),
        environ=SECRET,
        throttle=LoginThrottle(max_failures=3, window_s=60, clock=lambda: now[0]),
    )
    client = app.test_client()
    for _ in range(3):
        assert login(client, password="guess").status_code == 401
    blocked = login(client)  # even the right password waits out the window
    assert blocked.status_code == 429
    assert "失败次数过多" in blocked.get_data(as_text=True)
    now[0] += 61
    assert login(client).status_code == 302


def test_logout_needs_csrf_and_ends_the_session(client: FlaskClient) -> None:
    assert client.post("/logout").status_code == 400
    assert client.get("/posts").status_code == 200
    assert client.post("/logout", data={"csrf_token": token(client, "/posts")}).status_code == 302
    assert client.get("/posts").status_code == 302


def test_removed_user_is_logged_out(client: FlaskClient, db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    config = _config_file(tmp_path, db_url)
    result = runner.invoke(console, ["remove-user", "lisi", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert client.get("/posts").status_code == 302


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_mark_without_the_right_csrf_token_is_rejected(
    client: FlaskClient, db_url: str, csrf: str | None
) -> None:
    post_id = add_post(db_url, 1)
    data = {"status": "handled", "note": "x"}
    if csrf is not None:
        data["csrf_token"] = csrf
    response = client.post(f"/posts/{post_id}/mark", data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert history(session, post_id) == []
        assert session.get(Post, post_id).review_status == "new"


def test_login_form_without_csrf_token_is_rejected(app: Flask) -> None:
    response = app.test_client().post("/login", data={"username": "lisi", "password": PASSWORD})
    assert response.status_code == 400


def test_marking_writes_an_audit_row_as_the_logged_in_user(
    client: FlaskClient, db_url: str
) -> None:
    post_id = add_post(db_url, 1)
    csrf = token(client, f"/posts/{post_id}")
    response = client.post(
        f"/posts/{post_id}/mark", data={"status": "escalated", "note": "转法务", "csrf_token": csrf}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/posts/{post_id}"
    client.post(
        f"/posts/{post_id}/mark",
        data={"status": "handled", "note": "已回电说明", "csrf_token": csrf},
    )
    with session_scope(db_url) as session:
        events = history(session, post_id)
        assert [(e.by, e.from_status, e.to_status, e.note) for e in events] == [
            ("lisi", "new", "escalated", "转法务"),
            ("lisi", "escalated", "handled", "已回电说明"),
        ]
        post = session.get(Post, post_id)
        assert post.review_status == "handled" and post.first_handled_at is not None
    page = client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "已回电说明" in page and "已升级 → 已处理" in page


@pytest.mark.parametrize(
    ("status", "note", "message"),
    [
        ("done", "", "未能标记"),
        ("handled", "长" * 2001, "备注过长"),
    ],
)
def test_bad_marks_change_nothing(
    client: FlaskClient, db_url: str, status: str, note: str, message: str
) -> None:
    post_id = add_post(db_url, 1)
    csrf = token(client, f"/posts/{post_id}")
    response = client.post(
        f"/posts/{post_id}/mark",
        data={"status": status, "note": note, "csrf_token": csrf},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    with session_scope(db_url) as session:
        assert history(session, post_id) == []


def test_unknown_post_is_404(client: FlaskClient) -> None:
    assert client.get("/posts/999999").status_code == 404
    csrf = token(client, "/posts")
    assert (
        client.post(
            "/posts/999999/mark", data={"status": "handled", "csrf_token": csrf}
        ).status_code
        == 404
    )


def test_hostile_content_is_escaped_everywhere(client: FlaskClient, db_url: str) -> None:
    post_id = add_post(
        db_url,
        1,
        **HOSTILE,
        extra={"<b>key</b>": "<script>x()</script>"},
        matched_terms=["中鼎经纬", "<script>"],
    )
    with session_scope(db_url) as session:
        mark(session, post_id, "escalated", "lisi", note="<img src=x onerror=alert(2)>")
    pages = [
        client.get(f"/posts/{post_id}").get_data(as_text=True),
        client.get("/posts").get_data(as_text=True),
    ]
    for html in pages:
        for raw in (
            "<script>alert",
            "<img src=x",
            "<svg",
            "<iframe",
            "<b>key",
            "<script>x()",
            'javascript:alert(document.cookie)"',
        ):
            assert raw not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    post_page = pages[0]
    assert "&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;" in post_page
    assert 'href="javascript:' not in post_page
    assert "<mark>中鼎经纬</mark>" in post_page  # highlighting still works on escaped text
    response = client.get(f"/posts/{post_id}")
    assert "script-src" not in response.headers["Content-Security-Policy"]  # none allowed
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_post_page_explains_why_it_was_flagged(client: FlaskClient, db_url: str) -> None:
    post_id = add_post(
        db_url, 1, severity="red", categories=["collection", "regulator"], score=0.07
    )
    html = client.get(f"/posts/{post_id}").get_data(as_text=True)
    for expected in (
        "0.07",
        "负面",
        ">红<",
        "催收",
        "<mark>中鼎经纬</mark>的催收太过分了",
        'href="http://forum.test/t/1"',
        "尚无处理记录",
    ):
        assert expected in html


def test_list_is_newest_first_and_paginated(client: FlaskClient, db_url: str) -> None:
    for n in range(55):
        add_post(db_url, n)
    add_post(db_url, 100, label="neutral", title="中性帖子")
    first = client.get("/posts").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r"<td class=\"num\">#(\d+)</td>", first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert "共 55 条" in first and "第 1 / 2 页" in first and "中性帖子" not in first
    second = client.get("/posts?page=2").get_data(as_text=True)
    assert len(re.findall(r"<td class=\"num\">#\d+</td>", second)) == 5
    assert "中性帖子" in client.get("/posts?label=all&page=1").get_data(
        as_text=True
    ) or "中性帖子" in client.get("/posts?label=all&page=2").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=handled", {"handled"}),
        ("source=news", {"news"}),
        ("severity=red", {"red"}),
        ("category=credit_report", {"credit"}),
        ("since=2026-11-21", {"late", "news"}),
        ("until=2026-11-20", {"handled", "red", "credit", "creditXreport", "plain"}),
        ("since=2026-11-20&until=2026-11-20&source=forum&severity=orange", {"handled", "plain"}),
    ],
)
def test_list_filters(client: FlaskClient, db_url: str, query: str, expected: set[str]) -> None:
    handled = add_post(db_url, 1, title="handled")
    add_post(db_url, 2, title="news", source="news", published_at=T0 + timedelta(days=3))
    add_post(db_url, 3, title="red", severity="red")
    add_post(db_url, 4, title="credit", categories=["credit_report"], severity=None)
    add_post(
        db_url,
        5,
        title="creditXreport",
        categories=["creditXreport"],
        severity=None,
        published_at=T0 - timedelta(days=9),
    )  # `_` must not act as a LIKE wildcard
    add_post(db_url, 6, title="late", published_at=T0 + timedelta(days=2))
    add_post(db_url, 7, title="plain")
    with session_scope(db_url) as session:
        mark(session, handled, "handled", "lisi")
    html = client.get(f"/posts?{query}").get_data(as_text=True)
    titles = set(re.findall(r'<td class="title"><a href="/posts/\d+">([^<]+)</a>', html))
    assert titles == expected


@pytest.mark.parametrize(
    "query", ["since=yesterday", "severity=purple", "status=done", "page=abc", "page=-3"]
)
def test_bad_filters_give_a_message_not_an_error(client: FlaskClient, query: str) -> None:
    response = client.get(f"/posts?{query}")
    assert response.status_code == 200


def test_report_page_compares_with_the_90_percent_target(client: FlaskClient, db_url: str) -> None:
    seen = utcnow() - timedelta(days=3)
    fast = add_post(db_url, 1, first_seen_at=seen)
    add_post(db_url, 2, first_seen_at=seen)  # still open after 3 days: overdue
    with session_scope(db_url) as session:
        mark(session, fast, "handled", "lisi", now=seen + timedelta(hours=2))
    html = client.get("/report").get_data(as_text=True)
    assert 'id="ratio">50%<' in html and "未达标" in html
    assert "按时处理</th><td>1" in html and "未处理且已超时</th><td>1" in html


def test_list_page_query_counts_all_matches(db_url: str) -> None:
    for n in range(7):
        add_post(db_url, n)
    with session_scope(db_url) as session:
        page = list_page(session, ConsoleFilter(per_page=3, page=3))
        assert page.total == 7 and page.pages == 3 and len(page.posts) == 1
        assert not page.has_next


def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'yuqing.db'}"
    (tmp_path / "data").mkdir()
    key, where = load_secret(url, None, environ={})
    path = Path(where)
    assert path == tmp_path / "data" / "yuqing.db.console-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(url, None, environ={}) == (key, where)
    path.chmod(0o644)
    assert load_secret(url, None, environ={})[0] == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(url, None, environ=SECRET) == (SECRET[ENV_VAR], f"${ENV_VAR}")
    with pytest.raises(SecretError, match="too short"):
        load_secret(url, None, environ={ENV_VAR: "short"})


def _config_file(folder: Path, db_url: str) -> Path:
    path = folder / "console-test.yaml"
    path.write_text(
        f'institution:\n  name: 北京中鼎经纬实业发展有限公司\ndatabase:\n  url: "{db_url}"\n',
        encoding="utf-8",
    )
    return path


def test_cli_add_user(tmp_path: Path, db_url: str) -> None:
    config = _config_file(tmp_path, db_url)
    runner = CliRunner()
    env = {"YUQING_CONSOLE_PASSWORD": PASSWORD}
    added = runner.invoke(console, ["add-user", "wangwu", "-c", str(config)], env=env)
    assert added.exit_code == 0 and "added console user wangwu" in added.output
    again = runner.invoke(console, ["add-user", "wangwu", "-c", str(config)], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(
        console, ["add-user", "zhao", "-c", str(config)], env={"YUQING_CONSOLE_PASSWORD": "short"}
    )
    assert weak.exit_code == 1 and "password too short" in weak.output
    bad = runner.invoke(console, ["add-user", "a b", "-c", str(config)], env=env)
    assert bad.exit_code == 1 and "invalid user name" in bad.output
    prompted = runner.invoke(
        console,
        ["add-user", "wangwu", "--reset", "-c", str(config)],
        input="another password\nanother password\n",
        env={"YUQING_CONSOLE_PASSWORD": ""},
    )
    assert prompted.exit_code == 0 and "updated" in prompted.output
    assert "another password" not in prompted.output
    with session_scope(db_url) as session:
        assert usernames(session) == ["wangwu"]


def test_unknown_page_and_trailing_slash(client: FlaskClient) -> None:
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "未找到" in missing.get_data(as_text=True)
    assert client.get("/healthz/").status_code in (308, 404)  # routing is not swallowed


def test_cli_add_user_with_a_bad_config_asks_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(console, ["add-user", "wangwu", "-c", str(tmp_path / "no.yaml")])
    assert result.exit_code == 2
    assert "config file not found" in result.output and "password" not in result.output


def add_alert(db_url: str, post_ids: list[int], **fields) -> int:
    from yuqing.store.models import Alert, Delivery, Notification

    with session_scope(db_url) as session:
        alert = Alert(
            rule="negative-spike",
            key="source=forum",
            state="firing",
            severity="red",
            started_at=T0,
            current_count=len(post_ids),
            baseline=0.5,
            post_ids=post_ids,
            summary="<script>alert(2)</script>负面激增",
            **fields,
        )
        session.add(alert)
        session.flush()
        note = Notification(alert_id=alert.id, kind="new", created_at=T0, payload={})
        session.add(note)
        session.flush()
        session.add(
            Delivery(
                notification_id=note.id,
                channel="pr_dingtalk",
                idempotency_key=f"k-{alert.id}",
                status="sent",
                attempts=1,
            )
        )
        return alert.id


@pytest.mark.parametrize("path", ["/alerts", "/alerts/1"])
def test_alert_pages_require_login(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_alert_page_lists_its_posts_and_deliveries(client: FlaskClient, db_url: str) -> None:
    ids = [add_post(db_url, n, **(HOSTILE if n == 2 else {})) for n in (1, 2)]
    other = add_post(db_url, 3)
    alert_id = add_alert(db_url, ids)
    html = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f'href="/posts/{ids[0]}"' in html and f'href="/posts/{ids[1]}"' in html
    assert f'href="/posts/{other}"' not in html
    assert "pr_dingtalk" in html and "新告警" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    listing = client.get("/alerts").get_data(as_text=True)
    assert f'href="/alerts/{alert_id}"' in listing and "告警中" in listing
    assert client.get("/alerts/999").status_code == 404
