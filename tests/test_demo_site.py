"""The offline demo site: a real threaded HTTP server on 127.0.0.1, fetched with ``requests``.

Pages are read with the selectors of the shipped demo config, so a markup change that would
break the demo crawl fails here first. The post data is checked against the demo config's
institution block: every ``about_us`` verdict must follow from the names, context words and
exclusions the config gives, so the lead's matching tests can trust the labels.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import opencc
import parsel
import pytest
import requests
import yaml

import yuqing.demo
from yuqing.demo.content import CAUSES, DemoPost, assign_ids, load_posts
from yuqing.demo.site import SHANGHAI, THREADS_PER_PAGE, DemoSite, render_forum_time
from yuqing.settings import Settings, load_settings
from yuqing.settings.core import InstitutionSettings

DEMO_YAML = Path(yuqing.demo.__file__).with_name("demo.yaml")
POSTS = load_posts()
BASELINE = [p for p in POSTS if not p.burst]
BURST = [p for p in POSTS if p.burst]
FORUM_TIME = re.compile(
    r"^(刚刚|\d{1,2}分钟前|今天 \d\d:\d\d|昨天 \d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d)$"
)
_T2S = opencc.OpenCC("t2s")


@pytest.fixture(scope="module")
def demo_settings() -> Settings:
    return load_settings(DEMO_YAML, environ={})


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


class FakeClock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _get(url: str, **kwargs: object) -> requests.Response:
    response = requests.get(url, timeout=5, **kwargs)  # type: ignore[arg-type]
    return response


def _walk_forum(site: DemoSite, settings: Settings) -> list[list[str]]:
    """Follow 下一页 from page 1 with the demo config's selectors; thread URLs per page."""
    source = settings.source("demo_forum")
    url: str | None = f"{site.url}/forum/list?page=1"
    pages: list[list[str]] = []
    while url is not None:
        response = _get(url)
        assert response.status_code == 200, url
        selector = parsel.Selector(response.text)
        items = selector.css(source.list.item.css)
        pages.append(
            [requests.compat.urljoin(url, i.css(source.list.link.css).get()) for i in items]
        )
        next_href = selector.css(source.list.next_page.css).get()
        url = requests.compat.urljoin(url, next_href) if next_href else None
        assert len(pages) < 20, "pagination does not end"
    return pages


def _mentions_us(text: str, institution: InstitutionSettings, window: int) -> bool:
    """A plain reference reading of the institution block: traditional → simplified, excluded
    names blanked out, full names and long aliases anywhere, short aliases only with a
    context word within ``window`` characters."""
    text = _T2S.convert(text)
    for excluded in institution.exclude:
        text = text.replace(excluded, "□" * len(excluded))
    short = [n for n in institution.all_names if len(n) <= institution.short_alias_max_len]
    if any(n in text for n in institution.all_names if n not in short):
        return True
    for alias in short:
        for match in re.finditer(re.escape(alias), text):
            around = text[max(0, match.start() - window) : match.end() + window]
            if any(word in around for word in institution.context_words):
                return True
    return False


# ---------------------------------------------------------------------------- the server


def test_start_listens_and_stop_frees_the_port() -> None:
    site = DemoSite(port=0).start()
    port = site.port
    try:
        assert site.url == f"http://127.0.0.1:{port}"
        response = _get(site.url + "/")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert '<meta charset="utf-8">' in response.text
        with (
            requests.Session() as keep_alive
        ):  # an open keep-alive connection must not block stop()
            assert keep_alive.get(site.url + "/robots.txt", timeout=5).status_code == 200
            site.stop()
    finally:
        site.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_forum_is_paginated_with_a_next_link(site: DemoSite, demo_settings: Settings) -> None:
    pages = _walk_forum(site, demo_settings)
    forum = [p for p in BASELINE if p.section == "forum"]
    assert len(pages) >= 3
    assert all(len(page) == THREADS_PER_PAGE for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= THREADS_PER_PAGE
    urls = [url for page in pages for url in page]
    assert len(urls) == len(set(urls)) == len(forum)
    assert set(urls) == {site.post_url(p.slug) for p in forum}


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=1", 200),
        ("page=4", 200),
        ("page=5", 404),
        ("page=0", 400),
        ("page=abc", 400),
        ("", 200),
    ],
)
def test_forum_list_page_numbers(site: DemoSite, query: str, status: int) -> None:
    assert _get(f"{site.url}/forum/list?{query}").status_code == status


def test_newest_threads_come_first(site: DemoSite) -> None:
    shown = site.visible("forum")
    times = [v.published_at for v in shown]
    assert times == sorted(times, reverse=True)
    ids = [v.id for v in shown]
    assert ids == sorted(ids, reverse=True), "thread ids grow with publication, like a forum's"


def test_every_thread_page_gives_title_author_time_content(
    site: DemoSite, demo_settings: Settings
) -> None:
    detail = demo_settings.source("demo_forum").detail
    for post in (p for p in BASELINE if p.section == "forum"):
        response = _get(site.post_url(post.slug))
        assert response.status_code == 200, post.slug
        page = parsel.Selector(response.text)
        assert page.css(detail.title.css).get() == post.title
        assert page.css(detail.author.css).get() == post.author
        assert FORUM_TIME.match(page.css(detail.published_at.css).get() or ""), post.slug
        content = page.css(detail.content.css)
        assert len(content) == 1
        paragraphs = [" ".join(p.css("::text").getall()) for p in content.css("p")]
        assert paragraphs == post.paragraphs
        assert len(page.css("div.floor")) == 1 + len(post.replies)
        assert page.css("div.floor.reply div.post-content p::text").getall() == [
            r.text for r in post.replies
        ]


def test_thread_urls_are_stable_and_unknown_ids_404(site: DemoSite) -> None:
    assert site.post_url("contract-rate-unclear") == f"{site.url}/forum/thread/58202"
    assert assign_ids(POSTS) == assign_ids(load_posts())
    for path in ("/forum/thread/1", "/forum/thread/x", "/news/article/9.html", "/nope"):
        assert _get(site.url + path).status_code == 404, path


def test_hostile_post_is_served_as_escaped_text(site: DemoSite) -> None:
    post = next(p for p in POSTS if p.slug == "hostile-app-page")
    raw = _get(site.post_url(post.slug)).text
    for dangerous in ("<script", "<img src=x", "<b onmouseover", "</div></div><h1>"):
        assert dangerous not in raw
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)" in raw
    page = parsel.Selector(raw)
    assert page.css("script, img, b").getall() == []
    assert len(page.css("h1")) == 1
    assert page.css("div.main-post span.author::text").get() == post.author
    assert "<script>alert('xss');" in " ".join(page.css("div.main-post p::text").getall())
    listing = _get(f"{site.url}/forum/list?page=1").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in listing and "<img" not in listing


# ----------------------------------------------------------------------------------- RSS


def test_rss_feed_parses_and_links_to_articles(site: DemoSite) -> None:
    response = _get(site.url + "/news/rss.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    news = {p.slug: p for p in BASELINE if p.section == "news"}
    assert len(items) == len(news)
    by_url = {site.post_url(slug): post for slug, post in news.items()}
    for item in items:
        link = item.findtext("link")
        post = by_url[link]
        assert item.findtext("title") == post.title
        assert item.findtext("description") == post.content
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published == site.published_at(post.slug).replace(microsecond=0)
        article = parsel.Selector(_get(link).text)
        assert article.css("h1.article-title::text").get() == post.title
        assert article.css("div.article-body p::text").getall() == post.paragraphs


def test_rss_conditional_get(site: DemoSite) -> None:
    first = _get(site.url + "/news/rss.xml")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    by_etag = _get(site.url + "/news/rss.xml", headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.content == b""
    by_date = _get(site.url + "/news/rss.xml", headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304
    stale = _get(site.url + "/news/rss.xml", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.content == first.content
    older = format_datetime(parsedate_to_datetime(last_modified) - timedelta(hours=1), usegmt=True)
    assert _get(site.url + "/news/rss.xml", headers={"If-Modified-Since": older}).status_code == 200


# --------------------------------------------------------------------------------- burst


def _release_by_http(site: DemoSite) -> int:
    response = requests.post(site.url + "/_demo/burst", timeout=5)
    assert response.status_code == 200
    return response.json()["released"]


@pytest.mark.parametrize(
    "release", [DemoSite.release_burst, _release_by_http], ids=["python", "http"]
)
def test_burst_is_hidden_until_released(site: DemoSite, demo_settings: Settings, release) -> None:
    burst_urls = {site.post_url(p.slug) for p in BURST}
    before = {url for page in _walk_forum(site, demo_settings) for url in page}
    assert not burst_urls & before
    assert all(_get(url).status_code == 404 for url in burst_urls)
    assert _get(site.url + "/_demo/state").json()["burst_released"] is False

    assert release(site) == len(BURST)

    first_page = parsel.Selector(_get(f"{site.url}/forum/list?page=1").text)
    top = first_page.css("li.thread-item")[: len(BURST)]
    assert {
        requests.compat.urljoin(site.url, li.css("a.thread-link::attr(href)").get()) for li in top
    } == burst_urls
    for li in top:
        shown = li.css("span.thread-time::text").get()
        assert shown == "刚刚" or (shown.endswith("分钟前") and int(shown[:-3]) <= 9), shown
    now = datetime.now(UTC)
    for post in BURST:
        published = site.published_at(post.slug)
        assert timedelta(0) <= now - published <= timedelta(minutes=10)
        assert _get(site.post_url(post.slug)).status_code == 200
    after = [url for page in _walk_forum(site, demo_settings) for url in page]
    assert set(after) == before | burst_urls

    released_times = {p.slug: site.published_at(p.slug) for p in BURST}
    assert release(site) == 0, "a second release changes nothing"
    assert {p.slug: site.published_at(p.slug) for p in BURST} == released_times
    assert _get(site.url + "/_demo/state").json()["burst_released"] is True


def test_burst_times_are_anchored_at_release_not_start() -> None:
    clock = FakeClock(datetime(2026, 11, 28, 1, 30, tzinfo=UTC))
    with DemoSite(clock=clock) as site:
        start = clock.now
        assert site.published_at("fund-loss") == start - timedelta(minutes=300)
        assert site.published_at("burst-contacts-blasted") is None
        clock.now = start + timedelta(minutes=42)
        site.release_burst()
        assert site.published_at("burst-contacts-blasted") == clock.now
        assert site.published_at("burst-real-apr") == clock.now - timedelta(minutes=8)
        clock.now += timedelta(minutes=3)
        page = parsel.Selector(_get(f"{site.url}/forum/list?page=1").text)
        assert page.css("li.thread-item span.thread-time::text").get() == "3分钟前"


def test_burst_release_rejects_get(site: DemoSite) -> None:
    response = _get(site.url + "/_demo/burst")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert not site.burst_released


# ------------------------------------------------------------------------------- times

NOW = datetime(2026, 11, 28, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(seconds=0), "刚刚"),
        (timedelta(seconds=59), "刚刚"),
        (timedelta(minutes=1), "1分钟前"),
        (timedelta(minutes=59, seconds=59), "59分钟前"),
        (timedelta(hours=1), "今天 09:30"),
        (timedelta(hours=10, minutes=30), "今天 00:00"),  # Shanghai midnight, UTC the day before
        (timedelta(hours=10, minutes=31), "昨天 23:59"),
        (timedelta(hours=34, minutes=30), "昨天 00:00"),
        (timedelta(hours=34, minutes=31), "2026-11-26 23:59"),
        (timedelta(days=3), "2026-11-25 10:30"),
    ],
)
def test_forum_times_read_like_a_chinese_forum(ago: timedelta, expected: str) -> None:
    assert render_forum_time(NOW - ago, NOW) == expected


def test_news_pages_show_the_full_date_and_an_iso_datetime(site: DemoSite) -> None:
    post = next(p for p in BASELINE if p.slug == "news-charity-fund")
    page = parsel.Selector(_get(site.post_url(post.slug)).text)
    local = site.published_at(post.slug).astimezone(SHANGHAI)
    shown = page.css("time.pub-time::text").get()
    assert shown == f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M}"
    assert datetime.fromisoformat(page.css("time.pub-time::attr(datetime)").get()) == (
        local.replace(second=0, microsecond=0)
    )


# ----------------------------------------------------------------------- the post data


@pytest.mark.parametrize("post", POSTS, ids=[p.slug for p in POSTS])
def test_about_us_label_follows_the_institution_config(
    post: DemoPost, demo_settings: Settings
) -> None:
    institution = demo_settings.institution
    # A margin both ways, so a matcher with a somewhat different window agrees too.
    if post.about_us:
        assert _mentions_us(post.text, institution, window=15), post.slug
    else:
        assert not _mentions_us(post.text, institution, window=60), post.slug
    for reply in post.replies:
        assert "中鼎" not in _T2S.convert(reply.text), "replies never name anyone like us"


def test_the_lead_matcher_agrees_with_every_label(demo_settings: Settings) -> None:
    """The shipped matcher (``sentiment.mentions``) reads the demo config the same way."""
    from sentiment.mentions import MentionTerms, find_mentions

    terms = MentionTerms.from_config(demo_settings.institution)
    wrong = [p.slug for p in POSTS if bool(find_mentions(p.text, terms)) != p.about_us]
    assert wrong == []


def test_causes_are_ids_of_the_shipped_taxonomy() -> None:
    import sentiment

    taxonomy = yaml.safe_load(
        Path(sentiment.__file__).with_name("taxonomy.yaml").read_text(encoding="utf-8")
    )
    assert set(CAUSES) <= {c["id"] for c in taxonomy["categories"]}


def test_the_data_covers_what_the_demo_must_show(demo_settings: Settings) -> None:
    complaints = [p for p in POSTS if p.about_us and p.expected_label == "negative"]
    every_cause = {
        "fees",
        "contract",
        "repayment",
        "collection",
        "credit_report",
        "service",
        "disclosure",
        "app_failure",
        "scam",
        "regulator",
    }
    assert every_cause <= {c for p in complaints for c in p.causes}
    assert {p.expected_label for p in POSTS if p.about_us} == {"negative", "neutral", "positive"}
    lookalikes = [p for p in POSTS if p.kind == "lookalike"]
    assert all(not p.about_us for p in lookalikes)
    for excluded in demo_settings.institution.exclude:
        assert any(excluded in p.text for p in lookalikes), excluded
    # 中鼎 as a place, a person, a hotel: no exclusion entry, only missing context words.
    bare = [
        p for p in lookalikes if not any(e in p.text for e in demo_settings.institution.exclude)
    ]
    assert len(bare) >= 3
    unrelated = [p for p in POSTS if p.kind == "unrelated"]
    assert len(unrelated) >= 8 and not any("中鼎" in p.text for p in unrelated)
    assert any(re.search(r"<script>", p.content) for p in POSTS)
    assert 45 <= len(POSTS) <= 70
    assert 8 <= len(BURST) <= 12
    assert all(p.about_us and p.expected_label == "negative" and p.causes for p in BURST)


def test_baseline_timing_leaves_room_for_the_spike() -> None:
    """The spike rule (1 h window, min_current 3) must stay quiet until the burst."""
    assert max(p.age for p in BURST) < min(p.age for p in BASELINE)
    assert max(p.age for p in BASELINE) <= 3 * 24 * 60
    negatives = sorted(p.age for p in BASELINE if p.about_us and p.expected_label == "negative")
    assert len(negatives) >= 9, "a few negatives a day over three days"
    assert all(
        later - earlier >= 120 for earlier, later in zip(negatives, negatives[1:], strict=False)
    )
    assert min(p.age for p in BASELINE if p.about_us) >= 120


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("posts: 3\n", "expected a top-level 'posts:' list"),
        ("posts:\n  - {slug: a, section: blog}\n", "post a: section"),
        (
            "posts:\n  - {slug: b, section: forum, kind: unrelated, age: 1, title: t, author: x,"
            " content: short, about_us: false, expected_label: neutral}\n",
            "post b: content",
        ),
    ],
)
def test_bad_post_data_gives_one_line_naming_the_post(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    path = tmp_path / "posts.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        load_posts(path)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------------ config and CLI


def test_demo_config_is_complete(demo_settings: Settings) -> None:
    assert demo_settings.institution.name == "北京中鼎经纬实业发展有限公司"
    assert demo_settings.database.url == "sqlite:///yuqing-demo.db"
    forum, news = demo_settings.source("demo_forum"), demo_settings.source("demo_news")
    assert (forum.kind, news.kind) == ("html", "rss")
    assert forum.allow_private and news.allow_private
    assert str(news.url) == "http://127.0.0.1:8765/news/rss.xml"
    assert {r.type for r in demo_settings.alerts.rules} == {"spike", "instant"}
    spike = next(r for r in demo_settings.alerts.rules if r.type == "spike")
    assert (spike.window, spike.min_current) == (timedelta(hours=1), 3)
    channel = demo_settings.alerts.channels[0]
    assert (channel.name, channel.type) == ("demo_webhook", "webhook")
    assert channel.secret.get_secret_value() == "demo-secret"


def test_demo_config_takes_urls_from_the_environment() -> None:
    settings = load_settings(
        DEMO_YAML,
        environ={
            "YUQING_DEMO_URL": "http://127.0.0.1:9999",
            "YUQING_DATABASE_URL": "sqlite:///x.db",
            "YUQING_DEMO_WEBHOOK_URL": "http://127.0.0.1:9998/hook",
        },
    )
    assert str(settings.source("demo_forum").url) == "http://127.0.0.1:9999/forum/list?page=1"
    assert settings.database.url == "sqlite:///x.db"
    assert str(settings.alerts.channels[0].url) == "http://127.0.0.1:9998/hook"


def test_module_entry_point_serves_until_sigterm() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "yuqing.demo.site", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = child.stdout.readline()  # printed once the socket listens
        found = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert found, f"no URL in {banner!r}; stderr: {child.stderr.read() if not banner else ''}"
        url = found.group(0)
        assert _get(url + "/forum/list?page=2").status_code == 200
        assert requests.post(url + "/_demo/burst", timeout=5).json()["released"] == len(BURST)
        child.terminate()
        assert child.wait(timeout=10) == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_module_entry_point_reports_a_busy_port() -> None:
    with DemoSite() as site:
        result = subprocess.run(
            [sys.executable, "-m", "yuqing.demo.site", "--port", str(site.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: cannot listen on 127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_head_answers_headers_without_a_body(site: DemoSite) -> None:
    response = requests.head(site.url + "/news/rss.xml", timeout=5)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["Content-Length"]) > 1000
    assert response.headers["ETag"] == _get(site.url + "/news/rss.xml").headers["ETag"]
