"""Each source kind through real Scrapy crawls into a real database: rss (GBK, 0.91, 1.0, Atom,
conditional GET), html (pagination, page limit, incremental stop, engagement refresh), json
(cursor pagination), search (GBK-encoded keywords), dry-run / no-match output, and repost
grouping into stories."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
import yaml
from fixtures.crawler.sitekit import Site, crawl, last_run, posts, write_config
from werkzeug.wrappers import Request, Response

NEG = "北京中鼎经纬实业发展有限公司暴力催收，爆通讯录，还款后仍在催收。"

RSS20_GBK = f"""<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>财经</title>
<item><title>中鼎经纬被投诉</title><link>/news/1?utm_source=rss</link>
<description><![CDATA[<p>{NEG}</p><script>x()</script>]]></description><author>记者甲</author>
<pubDate>Sat, 28 Nov 2026 01:00:00 +0000</pubDate></item>
<item><title>与我们无关</title><link>/news/2</link><description>今天股市上涨</description></item>
</channel></rss>"""
RSS091 = f"""<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "x">
<rss version="0.91"><channel><title>t</title><item><title>中鼎经纬 0.91</title><link>/news/091</link>
<description>{NEG}</description></item></channel></rss>"""
RSS10 = f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="x"><title>t</title></channel>
<item rdf:about="/news/10"><title>中鼎经纬 RSS 1.0</title><link>/news/10</link><description>{NEG}</description>
<dc:date>2026-11-28T09:00:00+08:00</dc:date><dc:creator>作者乙</dc:creator></item></rdf:RDF>"""
ATOM = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title type="html">中鼎经纬 Atom</title><link rel="alternate" href="/news/atom"/><id>urn:1</id>
<updated>2026-11-28T02:00:00Z</updated><author><name>作者丙</name></author>
<content type="html">&lt;p&gt;{NEG}&lt;/p&gt;</content></entry></feed>"""


TRAD_FEED = """<?xml version="1.0" encoding="big5"?><rss version="2.0"><channel>
<item><title>中鼎經緯暴力催收</title><link>/news/trad</link>
<description>ＡＰＰ借款後，中鼎經緯的催收員天天打電話。</description></item></channel></rss>"""


def forum_page(page: int, pages: int, replies: int) -> str:
    items = "".join(
        f'<li class="t"><a href="/thread/{page}-{i}?spm=a.b#top">中鼎经纬 帖子{page}-{i}</a>'
        f'<span class="r">回复 {replies}</span></li>'
        for i in range(3)
    )
    nxt = f'<a class="next" href="/forum?page={page + 1}">下一页</a>' if page < pages else ""
    return f"<html><body><ul>{items}</ul>{nxt}</body></html>"


def thread_page(request: Request) -> Response:
    tid = request.path.rsplit("/", 1)[1]
    return Response(
        f'<html><body><h1>中鼎经纬 帖子{tid}</h1><div class="c"><p>{NEG}帖子{tid}的正文。</p></div>'
        f'<span class="t">5分钟前</span></body></html>',
        content_type="text/html; charset=utf-8",
    )


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    site = Site()
    state = {"replies": 7}
    site.route("/rss-gbk", RSS20_GBK.encode("gbk"), "application/rss+xml")
    site.route("/rss091", RSS091, "text/xml")
    site.route("/rss10", RSS10, "application/rdf+xml")
    site.route("/rss-trad", TRAD_FEED.encode("big5"), "application/rss+xml; charset=big5")

    def atom(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(ATOM, headers={"Content-Type": "application/atom+xml", "ETag": '"v1"'})

    site.route("/atom", atom)
    site.route(
        "/forum",
        lambda r: Response(
            forum_page(int(r.args.get("page", 1)), 4, state["replies"]),
            content_type="text/html; charset=utf-8",
        ),
    )
    for page in range(1, 5):
        for i in range(3):
            site.route(f"/thread/{page}-{i}", thread_page)

    def api(request: Request) -> Response:
        cursor = request.args.get("cursor", "")
        pages = {"": (["a1", "a2"], "c2"), "c2": (["a3"], None)}
        ids, nxt = pages[cursor]
        items = [
            {
                "id": i,
                "t": f"中鼎经纬投诉{i}",
                "body": f"<p>{NEG}</p>",
                "ts": 1764295200,
                "stats": {"views": "1.5万"},
            }
            for i in ids
        ]
        return Response(
            json.dumps({"data": {"items": items, "next_cursor": nxt}}),
            content_type="application/json",
        )

    site.route("/api/list", api)

    def search(request: Request) -> Response:
        raw = request.query_string  # the bytes as sent: GBK percent-encoding
        keyword = unquote_to_bytes(raw.split(b"q=", 1)[1]).decode("gbk")
        site.hits.setdefault("keywords", []).append(keyword)  # type: ignore[arg-type]
        body = (
            f'<html><head><meta charset="gbk"></head><body><div class="r"><a href="/s/{len(keyword)}">{keyword}的结果</a>'
            f"<p>{NEG}</p><i>昨天 10:20</i></div></body></html>"
        )
        return Response(body.encode("gbk"), content_type="text/html")

    site.route("/search", search)
    reposts = [
        f"<p>{NEG}据多位借款人反映，该公司催收人员在逾期第二天即开始联系借款人的亲友和同事，言语粗暴，"
        f"并威胁上门。{suffix}</p>"
        for suffix in ("", "（转载）", "来源：某论坛")
    ]
    site.route(
        "/reposts",
        "<html><body>"
        + "".join(f'<li class="t"><a href="/repost/{i}">转帖{i}</a></li>' for i in range(3))
        + '<li class="t"><a href="/repost/x">别的</a></li></body></html>',
    )
    for i, body in enumerate(reposts):
        site.route(
            f"/repost/{i}",
            f'<html><body><h1>中鼎经纬催收 转帖{i}</h1><div class="c">{body}</div></body></html>',
        )
    site.route(
        "/repost/x",
        '<html><body><h1>中鼎经纬 另一件事</h1><div class="c"><p>中鼎经纬今天发布了新版APP，'
        "增加了提前还款功能，客服响应时间缩短到五分钟以内，用户评价普遍不错。</p></div></body></html>",
    )
    site.state = state  # type: ignore[attr-defined]
    yield site
    site.close()


def html_source(site: Site, name: str, path: str, **extra: Any) -> dict[str, Any]:
    spec = {
        "name": name,
        "kind": "html",
        "url": site.url(path),
        "allow_private": True,
        "list": {
            "item": {"css": "li.t"},
            "link": {"css": "a::attr(href)"},
            "replies": {"css": "span.r::text"},
            "next_page": {"css": "a.next::attr(href)"},
        },
        "detail": {
            "title": {"css": "h1::text"},
            "content": {"css": "div.c"},
            "published_at": {"css": "span.t::text"},
        },
    }
    spec.update(extra)
    return spec


@pytest.fixture
def config(site: Site, db_url: str, tmp_path: Path) -> Path:
    feeds = [
        {"name": n, "kind": "rss", "url": site.url(p), "allow_private": True}
        for n, p in (
            ("rss-gbk", "/rss-gbk"),
            ("rss091", "/rss091"),
            ("rss10", "/rss10"),
            ("atom", "/atom"),
        )
    ]
    return write_config(
        tmp_path / "config.yaml",
        db_url,
        [
            *feeds,
            html_source(site, "forum", "/forum?page=1", page_limit=3),
            html_source(site, "reposts", "/reposts"),
            {
                "name": "api",
                "kind": "json",
                "url": site.url("/api/list"),
                "allow_private": True,
                "items": "data.items",
                "url_template": site.url("/complaint/{id}"),
                "fields": {
                    "title": "t",
                    "content": "body",
                    "published_at": "ts",
                    "views": "stats.views",
                },
                "pagination": {"kind": "cursor", "param": "cursor", "next": "data.next_cursor"},
            },
            {
                "name": "search-gbk",
                "kind": "search",
                "url_template": site.url("/search?q={keyword}"),
                "charset": "gbk",
                "allow_private": True,
                "list": {
                    "item": {"css": "div.r"},
                    "link": {"css": "a::attr(href)"},
                    "title": {"css": "a"},
                    "content": {"css": "p"},
                    "published_at": {"css": "i::text"},
                },
            },
        ],
    )


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("source", "url", "title", "author", "published"),
    [
        ("rss-gbk", "/news/1", "中鼎经纬被投诉", "记者甲", "2026-11-28T01:00:00"),
        ("rss091", "/news/091", "中鼎经纬 0.91", None, None),
        ("rss10", "/news/10", "中鼎经纬 RSS 1.0", "作者乙", "2026-11-28T01:00:00"),
        ("atom", "/news/atom", "中鼎经纬 Atom", "作者丙", "2026-11-28T02:00:00"),
    ],
)
def test_feed_formats(
    config: Path,
    db_url: str,
    site: Site,
    source: str,
    url: str,
    title: str,
    author: str | None,
    published: str | None,
) -> None:
    result = crawl(config, source)
    assert result.returncode == 0, result.stderr
    [post] = posts(db_url, source)
    assert post.url == site.url(url) and post.title == title and post.author == author
    assert post.content == NEG
    assert post.matched_terms and post.story_id is not None
    if published:
        assert post.published_at.isoformat() == published
    run = last_run(db_url, source)
    assert run.status == "ok" and run.new_posts == 1


@pytest.mark.postgres
def test_feed_conditional_get(config: Path, db_url: str) -> None:
    assert crawl(config, "atom").returncode == 0
    assert crawl(config, "atom").returncode == 0
    run = last_run(db_url, "atom")
    assert run.status == "ok" and run.http_status == {"304": 1} and run.new_posts == 0
    assert len(posts(db_url, "atom")) == 1


@pytest.mark.postgres
def test_html_pagination_incremental_and_engagement(config: Path, db_url: str, site: Site) -> None:
    result = crawl(config, "forum")
    assert result.returncode == 0, result.stderr
    stored = posts(db_url, "forum")
    assert len(stored) == 9  # 3 pages (page_limit) × 3 threads
    assert all(p.replies == 7 and "#" not in p.url and "spm" not in p.url for p in stored)
    first = last_run(db_url, "forum")
    assert first.pages == 12 and first.new_posts == 9
    site.state["replies"] = 42  # type: ignore[attr-defined]
    assert crawl(config, "forum").returncode == 0
    again = posts(db_url, "forum")
    assert len(again) == 9
    assert sorted(p.replies for p in again) == [7] * 6 + [42] * 3  # page 1 was seen again
    second = last_run(db_url, "forum")
    assert second.pages == 1  # a page of known posts: no detail fetch, no next page
    assert second.new_posts == 0 and second.updated_posts == 3


@pytest.mark.postgres
def test_json_cursor_pagination(config: Path, db_url: str, site: Site) -> None:
    assert crawl(config, "api").returncode == 0
    stored = posts(db_url, "api")
    assert [p.url for p in stored] == [site.url(f"/complaint/a{i}") for i in (1, 2, 3)]
    assert stored[0].views == 15000 and stored[0].content == NEG
    assert stored[0].published_at.isoformat() == "2025-11-28T02:00:00"


@pytest.mark.postgres
def test_search_encodes_keywords_in_site_charset(config: Path, db_url: str, site: Site) -> None:
    assert crawl(config, "search-gbk").returncode == 0
    assert set(site.hits["keywords"]) == {"北京中鼎经纬实业发展有限公司", "中鼎经纬", "中鼎"}  # type: ignore[arg-type]
    titles = {p.title for p in posts(db_url, "search-gbk")}
    assert "中鼎经纬的结果" in titles


@pytest.mark.postgres
def test_reposts_become_one_story(config: Path, db_url: str) -> None:
    from yuqing.store.db import session_scope
    from yuqing.store.models import Story
    from yuqing.store.posts import story_appearances

    assert crawl(config, "reposts").returncode == 0
    stored = {p.url.rsplit("/", 1)[1]: p for p in posts(db_url, "reposts")}
    assert stored["0"].story_id == stored["1"].story_id == stored["2"].story_id
    assert stored["x"].story_id != stored["0"].story_id
    with session_scope(db_url) as session:
        story = session.get(Story, stored["0"].story_id)
        assert story.repost_count == 3
        assert len(story_appearances(session, story.id)) == 3


def test_dry_run_prints_and_stores_nothing(config: Path, db_url: str, site: Site) -> None:
    result = crawl(config, "rss-gbk", "--dry-run")
    assert result.returncode == 0
    [post] = result.posts
    assert post["url"] == site.url("/news/1") and post["published_at"] == "2026-11-28T01:00:00Z"
    assert post["text"] == NEG and post["matched_terms"] == [
        "中鼎经纬",
        "北京中鼎经纬实业发展有限公司",
    ]
    assert "dropped: no_mention=1" in result.stderr and "pages 1" in result.stderr
    assert posts(db_url) == [] and last_run(db_url, "rss-gbk") is None
    everything = crawl(config, "rss-gbk", "--dry-run", "--no-match")
    assert {p["title"] for p in everything.posts} == {"中鼎经纬被投诉", "与我们无关"}


@pytest.fixture
def flaky(site: Site, db_url: str, tmp_path: Path) -> tuple[Path, dict[str, list[float]]]:
    times: dict[str, list[float]] = {"/flaky-5xx": [], "/flaky-429": []}

    def flaky_handler(request: Request) -> Response:
        hits = times[request.path]
        hits.append(time.monotonic())
        if len(hits) < 3:
            headers = {"Retry-After": "1"} if request.path == "/flaky-429" else {}
            return Response(
                "busy", status=503 if request.path == "/flaky-5xx" else 429, headers=headers
            )
        return Response(RSS091, content_type="text/xml")

    site.route("/flaky-5xx", flaky_handler)
    site.route("/flaky-429", flaky_handler)
    config = write_config(
        tmp_path / "flaky.yaml",
        db_url,
        [
            {
                "name": name,
                "kind": "rss",
                "url": site.url(f"/{name}"),
                "allow_private": True,
                "retries": 2,
                "obey_robots": False,
            }
            for name in ("flaky-5xx", "flaky-429")
        ],
    )
    return config, times


@pytest.mark.parametrize(
    ("source", "gaps"),
    [
        ("flaky-5xx", (0.3, 0.6)),  # exponential backoff: 0.3 s, then 0.6 s
        ("flaky-429", (1.0, 1.0)),  # Retry-After: 1 is respected each time
    ],
)
def test_retries_back_off_and_respect_retry_after(
    flaky: tuple[Path, dict[str, list[float]]], db_url: str, source: str, gaps: tuple[float, float]
) -> None:
    config, times = flaky
    result = crawl(config, source, settings={"YUQING_RETRY_BACKOFF_S": 0.3})
    assert result.returncode == 0, result.stderr
    hits = times[f"/{source}"]
    assert len(hits) == 3
    assert hits[1] - hits[0] >= gaps[0] - 0.05 and hits[2] - hits[1] >= gaps[1] - 0.05
    assert len(posts(db_url, source)) == 1
    assert last_run(db_url, source).status == "ok"


@pytest.fixture
def manners(site: Site, db_url: str, tmp_path: Path) -> tuple[Path, list[Request]]:
    seen: list[Request] = []

    def record(request: Request) -> Response:
        seen.append(request)
        return Response(RSS091, content_type="text/xml")

    site.route("/robots.txt", "User-agent: *\nDisallow: /private\n", "text/plain")
    site.route("/private/feed", record)
    site.route("/open/feed", record)
    base = {"kind": "rss", "allow_private": True}
    config = write_config(
        tmp_path / "manners.yaml",
        db_url,
        [
            {**base, "name": "polite", "url": site.url("/private/feed")},
            {**base, "name": "rude", "url": site.url("/private/feed"), "obey_robots": False},
            {
                **base,
                "name": "dressed",
                "url": site.url("/open/feed"),
                "user_agent": "yuqing-test-agent/1.0",
                "headers": {"Referer": "https://example.invalid/", "X-Token": "t1"},
                "cookies": {"SESSION": "${YUQING_TEST_COOKIE}"},
            },
        ],
    )
    return config, seen


def test_robots_txt_is_obeyed_unless_overridden(
    manners: tuple[Path, list[Request]], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, seen = manners
    monkeypatch.setenv("YUQING_TEST_COOKIE", "x")
    polite = crawl(config, "polite")
    assert polite.returncode == 1 and seen == []
    assert last_run(db_url, "polite").errors == {"robots": 1}
    rude = crawl(config, "rude")
    assert rude.returncode == 0 and len(seen) == 1
    assert "ignores robots.txt" in rude.stderr


def test_headers_user_agent_and_cookies_from_env(
    manners: tuple[Path, list[Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, seen = manners
    monkeypatch.setenv("YUQING_TEST_COOKIE", "abc123")
    assert crawl(config, "dressed").returncode == 0
    [request] = seen
    assert request.headers["User-Agent"] == "yuqing-test-agent/1.0"
    assert (
        request.headers["Referer"] == "https://example.invalid/"
        and request.headers["X-Token"] == "t1"
    )
    assert request.cookies.get("SESSION") == "abc123"


def test_traditional_and_full_width_match_but_are_stored_as_published(
    config: Path, site: Site, tmp_path: Path
) -> None:
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["sources"].append(
        {"name": "trad", "kind": "rss", "url": site.url("/rss-trad"), "allow_private": True}
    )
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    [post] = crawl(config, "trad", "--dry-run").posts
    assert post["matched_terms"] == ["中鼎经纬"]
    assert post["title"] == "中鼎經緯暴力催收" and post["text"].startswith("ＡＰＰ借款後")
