"""Hostile input, served locally through real Scrapy crawls: every case leaves the crawl running
(the control pages are still stored) and is counted on the ``CrawlRun`` with the right kind."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fixtures.crawler.sitekit import Site, crawl, last_run, posts, write_config
from werkzeug.wrappers import Request, Response

from yuqing.store.db import engine_for, upgrade

MENTION = "北京中鼎经纬实业发展有限公司的催收员天天打电话，还款后还在催收。"


def page(title: str, body: str, date: str = "2026-11-27 10:00", charset: str = "utf-8") -> str:
    return (
        f'<html><head><meta charset="{charset}"><title>{title}</title></head><body>'
        f'<h1>{title}</h1><div class="c">{body}</div><span class="t">{date}</span></body></html>'
    )


def _gzip_truncated() -> bytes:
    data = gzip.compress(page("中鼎经纬 截断", MENTION * 50).encode("utf-8"))
    return data[: len(data) // 2]


def _hang(site: Site) -> Any:
    def handler(_request: Request) -> Response:
        site.release.wait(30)
        return Response(page("中鼎经纬 迟到", MENTION))

    return handler


def _redirect(location: str, status: int = 302) -> Any:
    return lambda _r: Response("", status=status, headers={"Location": location})


def _chain(request: Request) -> Response:
    n = int(request.args.get("n", "0"))
    return Response("", status=302, headers={"Location": f"/d/chain?n={n + 1}"})


def _dataloss(_request: Request) -> Response:
    def body() -> Iterator[bytes]:
        yield b"<html><body><h1>"
        raise ConnectionError("server dropped the connection")

    return Response(body(), headers={"Content-Type": "text/html", "Content-Length": "50000"})


# (path, handler-or-bytes, content type, extra headers, status)
HOSTILE: dict[str, Any] = {
    "malformed": page(
        "中鼎经纬 催收 乱码页", f"<p>{MENTION}<b><i>未闭合<table><tr><td>乱</div></span></p>"
    ),
    "truncated-gzip": (_gzip_truncated(), "text/html", {"Content-Encoding": "gzip"}, 200),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "text/html", {}, 200),
    "huge": (b"<html>" + b"a" * (20 * 1024 * 1024), "text/html", {}, 200),
    "gzip-bomb": (
        gzip.compress(b" " * (30 * 1024 * 1024)),
        "text/html",
        {"Content-Encoding": "gzip"},
        200,
    ),
    "loop": "REDIRECT_LOOP",
    "chain": _chain,
    "rate-limited": ("slow down", "text/plain", {"Retry-After": "0"}, 429),
    "retry-after-too-long": ("maintenance", "text/plain", {"Retry-After": "3600"}, 503),
    "hang": "HANG",
    "gbk-wrong-meta": (
        page("中鼎经纬 GBK页面", MENTION + "（GBK编码，meta谎称utf-8）").encode("gbk"),
        "text/html",
        {},
        200,
    ),
    "utf8-stale-meta": (
        page(
            "中鼎经纬 陈旧meta", MENTION + "（UTF-8编码，meta写gb2312）", charset="gb2312"
        ).encode(),
        "text/html; charset=gb2312",
        {},
        200,
    ),
    "utf16-bom": (
        b"\xff\xfe" + page("中鼎经纬 UTF16", MENTION + "（UTF-16）").encode("utf-16-le"),
        "text/html",
        {},
        200,
    ),
    "invalid-utf8": (
        page("中鼎经纬 坏字节", MENTION).encode() + b"\xff\xfe\xfa tail",
        "text/html; charset=utf-8",
        {},
        200,
    ),
    "impossible-date": page("中鼎经纬 不可能的日期", MENTION, date="2026-02-30 25:61"),
    "future-date": page("中鼎经纬 未来日期", MENTION, date="2099-01-01 10:00"),
    "redirect-private": "REDIRECT_PRIVATE",
    "redirect-metadata": "REDIRECT_METADATA",
    "server-error": ("boom", "text/plain", {}, 500),
    "not-found": ("gone", "text/plain", {}, 404),
    "dataloss": _dataloss,
    "empty": ("", "text/html", {}, 200),
    "captcha": (
        "<html><head><title>安全验证</title></head><body>请输入验证码</body></html>",
        "text/html",
        {},
        200,
    ),
    "login-wall": (
        "<html><head><title>提示</title></head><body>请登录后查看本帖</body></html>",
        "text/html",
        {},
        200,
    ),
    "octet-stream": (
        page("中鼎经纬 类型错", MENTION).encode(),
        "application/octet-stream",
        {},
        200,
    ),
    "nul-bytes": (
        page("中鼎经纬 NUL", MENTION).encode().replace(b"<p>", b"\x00" * 600),
        "text/html",
        {},
        200,
    ),
    "script-injection": page(
        "中鼎经纬 <script>alert(1)</script>注入",
        f"<script>document.cookie</script><img src=x onerror=alert(1)>{MENTION}"
        "<style>body{{}}</style><iframe src=javascript:alert(2)></iframe>",
    ),
    "huge-text": page("中鼎经纬 超长", MENTION * 20_000),
    "deep-nesting": page("中鼎经纬 深层嵌套", "<div>" * 5000 + MENTION + "</div>" * 5000),
}
OUTSIDE_LINKS = [
    "http://10.0.0.1/admin",
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "mailto:a@example.invalid",
]


def _install(site: Site) -> None:
    other_port = site.port + 1 if site.port < 65535 else site.port - 1
    for name, spec in HOSTILE.items():
        path = f"/d/{name}"
        if spec == "REDIRECT_LOOP":
            site.route("/d/loop", _redirect("/d/loop2"))
            site.route("/d/loop2", _redirect("/d/loop"))
        elif spec == "HANG":
            site.route(path, _hang(site))
        elif spec == "REDIRECT_PRIVATE":
            site.route(path, _redirect(f"http://127.0.0.1:{other_port}/internal"))
        elif spec == "REDIRECT_METADATA":
            site.route(path, _redirect("http://169.254.169.254/latest/meta-data/"))
        elif callable(spec) or isinstance(spec, str):
            site.route(path, spec)
        else:
            body, content_type, headers, status = spec
            site.route(path, body, content_type, status, headers)
    for name in ("ok-1", "ok-2"):
        site.route(f"/d/{name}", page(f"中鼎经纬 正常帖 {name}", MENTION))
    items = [f"/d/{n}" for n in [*HOSTILE, "ok-1", "ok-2"]] + OUTSIDE_LINKS
    site.route(
        "/list",
        "<html><body><ul>"
        + "".join(f'<li class="x"><a href="{href}">t</a></li>' for href in items)
        + "</ul></body></html>",
    )
    site.route(
        "/many",
        "<html><body><ul>"
        + "".join(f'<li class="x"><a href="/m/{i}">t{i}</a></li>' for i in range(10_000))
        + "</ul></body></html>",
    )
    for i in range(10_000):
        site.route(f"/m/{i}", page(f"中鼎经纬 帖子{i}", MENTION + f"编号{i}"))
    site.route("/start-hang", _hang(site))
    site.route("/start-redirect", _redirect(f"http://127.0.0.1:{other_port}/"))
    site.route(
        "/feed-429",
        ("x", "text/plain", {"Retry-After": "0"}, 429)[0],
        "text/plain",
        429,
        {"Retry-After": "0"},
    )
    site.route("/captcha-list", HOSTILE["captcha"][0])
    site.route("/not-a-feed", "<html><body>这不是RSS</body></html>")


def source(site: Site, name: str, path: str, kind: str = "html", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "url": site.url(path),
        "private_allowlist": [f"127.0.0.1:{site.port}"],
        "timeout": "4s",
        "retries": 1,
        "max_body_mb": 5,
        "max_redirects": 3,
    }
    if kind == "html":
        spec["list"] = {"item": {"css": "li.x"}, "link": {"css": "a::attr(href)"}}
        spec["detail"] = {
            "title": {"css": "h1"},
            "content": {"css": "div.c"},
            "published_at": {"css": "span.t::text"},
        }
    spec.update(extra)
    return spec


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    site = Site()
    _install(site)
    folder = tmp_path_factory.mktemp("hostile")
    db_url = f"sqlite:///{folder / 'hostile.db'}"
    upgrade(db_url)
    config = write_config(
        folder / "hostile.yaml",
        db_url,
        [
            source(site, "hostile", "/list"),
            source(site, "many-links", "/many", max_links_per_page=20),
            source(site, "start-hang", "/start-hang"),
            source(site, "start-private", "/start-redirect"),
            source(site, "feed-429", "/feed-429", kind="rss"),
            source(site, "feed-garbage", "/not-a-feed", kind="rss"),
            source(site, "captcha-list", "/captcha-list"),
        ],
    )
    names = (
        "hostile",
        "start-hang",
        "many-links",
        "start-private",
        "feed-429",
        "feed-garbage",
        "captcha-list",
    )
    with ThreadPoolExecutor(max_workers=3) as pool:  # independent sources: crawl side by side
        results = dict(zip(names, pool.map(lambda n: crawl(config, n), names), strict=True))
    yield {
        "site": site,
        "db_url": db_url,
        "results": results,
    }
    site.close()
    engine_for(db_url).dispose()


def _run(hostile: dict[str, Any], name: str) -> Any:
    return last_run(hostile["db_url"], name)


def _stored(hostile: dict[str, Any], path: str) -> Any:
    url = hostile["site"].url(path)
    return next((p for p in posts(hostile["db_url"], "hostile") if p.url == url), None)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("truncated-gzip", "decode"),
        ("binary", "binary"),
        ("huge", "too_large"),
        ("gzip-bomb", "too_large"),
        ("loop", "redirect_limit"),
        ("chain", "redirect_limit"),
        ("rate-limited", "http_429"),
        ("retry-after-too-long", "rate_limited"),
        ("hang", "timeout"),
        ("impossible-date", "date"),
        ("future-date", "date"),
        ("redirect-private", "private_address"),
        ("redirect-metadata", "private_address"),
        ("server-error", "http_5xx"),
        ("not-found", "http_4xx"),
        ("dataloss", "connection"),
        ("empty", "parse"),
        ("captcha", "blocked"),
        ("login-wall", "blocked"),
        ("octet-stream", "not_text"),
        ("nul-bytes", "binary"),
    ],
)
def test_hostile_page_is_counted_and_crawl_goes_on(
    hostile: dict[str, Any], path: str, kind: str
) -> None:
    run = _run(hostile, "hostile")
    assert run.errors.get(kind, 0) >= 1, (path, run.errors, run.error_samples)
    assert _stored(hostile, "/d/ok-1") is not None and _stored(hostile, "/d/ok-2") is not None
    assert run.status == "partial"


@pytest.mark.parametrize(
    ("link", "kind"),
    [
        ("http://10.0.0.1/admin", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "private_address"),
        ("file:///etc/passwd", "bad_scheme"),
    ],
)
def test_links_out_of_bounds_are_refused(hostile: dict[str, Any], link: str, kind: str) -> None:
    run = _run(hostile, "hostile")
    assert run.errors.get(kind, 0) >= 1
    samples = [s["message"] for s in run.error_samples]
    assert hostile["site"].hits.get("/admin") is None
    assert samples  # messages are kept for the operator


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("gbk-wrong-meta", "GBK编码，meta谎称utf-8"),
        ("utf8-stale-meta", "UTF-8编码，meta写gb2312"),
        ("utf16-bom", "（UTF-16）"),
        ("invalid-utf8", "催收员天天打电话"),
        ("malformed", "未闭合"),
    ],
)
def test_mis_declared_pages_decode_and_are_stored(
    hostile: dict[str, Any], path: str, expected: str
) -> None:
    post = _stored(hostile, f"/d/{path}")
    assert post is not None, path
    assert expected in post.content
    assert "�" not in post.title


@pytest.mark.parametrize("path", ["impossible-date", "future-date"])
def test_bad_dates_fall_back_to_fetch_time(hostile: dict[str, Any], path: str) -> None:
    post = _stored(hostile, f"/d/{path}")
    assert post is not None
    assert abs((post.published_at - post.fetched_at).total_seconds()) < 5


def test_hostile_markup_is_stored_as_text_only(hostile: dict[str, Any]) -> None:
    post = _stored(hostile, "/d/script-injection")
    assert post is not None
    for needle in ("<script", "document.cookie", "onerror", "<iframe", "<style"):
        assert needle not in post.content
    assert "北京中鼎经纬" in post.content


def test_huge_text_is_cut_and_deep_nesting_survives(hostile: dict[str, Any]) -> None:
    huge = _stored(hostile, "/d/huge-text")
    assert huge is not None and len(huge.content) <= 100_000
    nested = _stored(hostile, "/d/deep-nesting")
    run = _run(hostile, "hostile")
    assert nested is not None or run.errors.get("parse", 0) >= 1


def test_ten_thousand_links_are_capped(hostile: dict[str, Any]) -> None:
    run = _run(hostile, "many-links")
    assert run.errors.get("link_limit") == 1
    assert len(posts(hostile["db_url"], "many-links")) == 20
    assert run.status == "partial"


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("start-hang", "failed", "timeout"),
        ("start-private", "failed", "private_address"),
        ("feed-429", "failed", "http_429"),
        ("feed-garbage", "partial", "parse"),
        ("captcha-list", "blocked", "blocked"),
    ],
)
def test_a_source_that_fails_is_recorded(
    hostile: dict[str, Any], name: str, status: str, kind: str
) -> None:
    run = _run(hostile, name)
    assert run.status == status, (run.status, run.errors)
    assert run.errors.get(kind, 0) >= 1
    assert run.finished_at is not None and run.duration_s is not None
    result = hostile["results"][name]
    assert result.returncode == (0 if status in ("ok", "partial") else 1), result.stderr[-500:]


def test_source_state_after_failures(hostile: dict[str, Any]) -> None:
    from yuqing.store.db import session_scope
    from yuqing.store.models import SourceState

    with session_scope(hostile["db_url"]) as session:
        states = {s.source: (s.status, s.consecutive_failures) for s in session.query(SourceState)}
    assert states["captcha-list"] == ("blocked", 1)
    assert states["start-hang"] == ("failing", 1)
    assert states["hostile"] == ("ok", 0)
