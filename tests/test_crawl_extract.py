"""The crawler's pure helpers: charset, dates, HTML → text, canonical URLs, feeds, counts,
search URLs, Retry-After, the SSRF guard and the source config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extract.charset import BinaryContent, decode_body
from crawler.extract.dates import parse_datetime
from crawler.extract.feeds import FeedError, parse_feed
from crawler.extract.text import html_to_text
from crawler.extract.urls import canonical_url
from crawler.middlewares import looks_blocked, retry_after_seconds
from crawler.safety import refusal
from crawler.spiders.base import parse_count
from crawler.spiders.search import search_url
from yuqing.settings import ConfigError, settings_from_mapping

TEXT = "北京中鼎经纬实业发展有限公司的催收员天天打电话，还款后还在催收。"
NOW = datetime(2026, 11, 28, 4, 0)  # UTC; 12:00 in Shanghai


@pytest.mark.parametrize(
    ("body", "header", "expected_encoding"),
    [
        (TEXT.encode("utf-8"), None, "utf-8"),
        (TEXT.encode("gbk"), None, "gb18030"),
        (TEXT.encode("gbk"), "gb2312", "gb18030"),
        (b'<meta charset="gb2312">' + TEXT.encode("utf-8"), None, "utf-8"),  # stale meta
        (b'<meta charset="utf-8">' + TEXT.encode("gbk"), None, "gb18030"),  # wrong meta
        (TEXT.encode("utf-8"), "gbk", "utf-8"),  # wrong header
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), None, "utf-8"),
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), None, "utf-16-le"),
        (TEXT.encode("gb18030") + "𠀀".encode("gb18030"), "gb2312", "gb18030"),
        ("臺灣中鼎經緯公司的催收問題很嚴重，還款後還在催收。".encode("big5"), "big5", "big5"),
    ],
)
def test_charset_detection(body: bytes, header: str | None, expected_encoding: str) -> None:
    text, encoding = decode_body(body, header)
    assert encoding == expected_encoding
    assert "中鼎" in text and "\ufffd" not in text


@pytest.mark.parametrize(
    "body", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(500), bytes(range(32)) * 20]
)
def test_binary_is_refused(body: bytes) -> None:
    with pytest.raises(BinaryContent):
        decode_body(body)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28 09:30", "2026-11-28T01:30:00"),
        ("2026-11-28 09:30:15", "2026-11-28T01:30:15"),
        ("2026/11/28 09:30", "2026-11-28T01:30:00"),
        ("2026.11.28", "2026-11-27T16:00:00"),
        ("2026年11月28日", "2026-11-27T16:00:00"),
        ("2026年11月28日 09:30", "2026-11-28T01:30:00"),
        ("发表于 2026-11-27 22:10", "2026-11-27T14:10:00"),
        ("11-28 09:30", "2026-11-28T01:30:00"),
        ("11月27日 08:00", "2026-11-27T00:00:00"),
        ("12-25 10:00", "2025-12-25T02:00:00"),  # no year, would be in the future: last year
        ("刚刚", "2026-11-28T04:00:00"),
        ("30秒前", "2026-11-28T03:59:30"),
        ("5分钟前", "2026-11-28T03:55:00"),
        ("3小时前", "2026-11-28T01:00:00"),
        ("2天前", "2026-11-26T04:00:00"),
        ("今天 08:30", "2026-11-28T00:30:00"),
        ("昨天 10:20", "2026-11-27T02:20:00"),
        ("前天 23:59", "2026-11-26T15:59:00"),
        ("Sat, 28 Nov 2026 01:00:00 +0000", "2026-11-28T01:00:00"),
        ("Sat, 28 Nov 2026 09:00:00 GMT", "2026-11-28T09:00:00"),
        ("2026-11-28T09:30:00+08:00", "2026-11-28T01:30:00"),
        ("2026-11-28T01:30:00Z", "2026-11-28T01:30:00"),
        ("1764295200", "2025-11-28T02:00:00"),
        ("1764295200000", "2025-11-28T02:00:00"),
        (1764295200, "2025-11-28T02:00:00"),
    ],
)
def test_dates(text: object, expected: str) -> None:
    assert parse_datetime(text, NOW).isoformat() == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-45",
        "2026-02-30 10:00",
        "2026-11-28 25:61",
        "2099-01-01",
        "明天",
        "abc",
        "",
        None,
        "0000-00-00",
        "1900-01-01",
        True,
    ],
)
def test_impossible_dates_are_none(text: object) -> None:
    assert parse_datetime(text, NOW) is None


def test_dates_default_to_now() -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    assert parse_datetime("刚刚") >= before.replace(microsecond=0)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>一</p><p>二</p>", "一\n\n二"),
        ("<div>a<br>b</div>", "a\nb"),
        ("<p>x</p><script>alert(1)</script><style>p{}</style><nav>菜单</nav><p>y</p>", "x\n\ny"),
        (
            "<header>站点</header><article><h1>标题</h1><p>正文 &amp; 更多</p></article><footer>版权</footer>",
            "标题\n\n正文 & 更多",
        ),
        ("纯文本   多个空格", "纯文本 多个空格"),
        ("<p>\u3000\u3000首行缩进</p>", "首行缩进"),
        ("<p>未闭合<b>粗<i>斜", "未闭合粗斜"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a?b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
        ("https://x.cn/p/1?utm_source=wx&utm_medium=s&spm=a.b.c&id=5", "https://x.cn/p/1?id=5"),
        (
            "https://tieba.baidu.com/p/81?fr=frs&share_token=zz&pid=9",
            "https://tieba.baidu.com/p/81?pid=9",
        ),
        ("https://x.cn:8443/a", "https://x.cn:8443/a"),
        ("https://x.cn", "https://x.cn/"),
        ("https://x.cn/a?fbclid=1&gclid=2", "https://x.cn/a"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_feed_rejects_non_feeds() -> None:
    with pytest.raises(FeedError):
        parse_feed("<html><body>not a feed</body></html>")
    entries = parse_feed(
        "<rss><channel><item><title>R&D 未转义 & 符号</title><link>http://a/1</link></item>"
        "<item><title>好的</title><link>http://a/2</link></item></channel></rss>"
    )
    assert [e.link for e in entries] == ["http://a/1", "http://a/2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("35", 35),
        ("回复 1,024", 1024),
        ("1.2万", 12000),
        ("3w", 30000),
        ("5千", 5000),
        ("", None),
        (None, None),
        (7, 7),
    ],
)
def test_parse_count(text: object, expected: int | None) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    ("charset", "expected"),
    [
        ("gbk", "https://s.cn/s?q=%D6%D0%B6%A6&ie=gbk"),
        ("utf-8", "https://s.cn/s?q=%E4%B8%AD%E9%BC%8E&ie=gbk"),
    ],
)
def test_search_url_encodes_in_site_charset(charset: str, expected: str) -> None:
    assert search_url("https://s.cn/s?q={keyword}&ie=gbk", "中鼎", charset) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"120", 120.0),
        (b"0", 0.0),
        (None, None),
        (b"soon", None),
        (b"Sat, 28 Nov 2026 04:01:00 GMT", 60.0),
    ],
)
def test_retry_after(value: bytes | None, expected: float | None) -> None:
    assert retry_after_seconds(value, datetime(2026, 11, 28, 4, 0, tzinfo=UTC)) == expected


@pytest.mark.parametrize(
    ("host", "port", "allow", "allowlist", "refused"),
    [
        ("127.0.0.1", 80, False, [], True),
        ("localhost", 80, False, [], True),
        ("10.1.2.3", 80, False, [], True),
        ("192.168.0.1", 80, False, [], True),
        ("169.254.169.254", 80, False, [], True),
        ("::1", 80, False, [], True),
        ("::ffff:127.0.0.1", 80, False, [], True),
        ("0.0.0.0", 80, False, [], True),
        ("127.0.0.1", 80, True, [], False),
        ("127.0.0.1", 8080, False, ["127.0.0.1:8080"], False),
        ("127.0.0.1", 9090, False, ["127.0.0.1:8080"], True),
        ("8.8.8.8", 443, False, [], False),
    ],
)
def test_private_addresses_refused(
    host: str, port: int, allow: bool, allowlist: list[str], refused: bool
) -> None:
    assert (refusal(host, port, allow, allowlist) is not None) is refused


@pytest.mark.parametrize(
    ("markup", "blocked"),
    [
        ("<html><head><title>安全验证</title></head><body>请完成验证</body></html>", True),
        ("<html><head><title>提示</title></head><body>请登录后查看</body></html>", True),
        (
            "<html><head><title>帖子</title></head><body>"
            + "收不到验证码怎么办？" * 40
            + "</body></html>",
            False,
        ),
        ("<html><head><title>帖子</title></head><body>正常内容</body></html>", False),
    ],
)
def test_captcha_walls(markup: str, blocked: bool) -> None:
    assert (looks_blocked(markup, ["验证码", "安全验证", "请登录后"], True) is not None) is blocked


BASE = {"institution": {"name": "北京中鼎经纬实业发展有限公司"}}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            {"name": "a", "kind": "html", "url": "https://x.cn", "list": {"item": {"css": "li"}}},
            "sources[0].list.link: required",
        ),
        (
            {"name": "a", "kind": "json", "url": "https://x.cn", "items": "data", "fields": {}},
            "sources[0]: give fields.url or url_template so each post has a URL",
        ),
        (
            {
                "name": "a",
                "kind": "search",
                "url_template": "https://x.cn/s",
                "list": {"item": {"css": "li"}, "link": {"css": "a"}},
            },
            "sources[0].url_template: must contain {keyword}",
        ),
        (
            {
                "name": "a",
                "kind": "search",
                "url_template": "https://x.cn/s?q={keyword}",
                "charset": "klingon",
                "list": {"item": {"css": "li"}, "link": {"css": "a"}},
            },
            "sources[0].charset: unknown charset 'klingon'",
        ),
        (
            {
                "name": "a",
                "kind": "html",
                "url": "https://x.cn",
                "list": {"item": {"css": "li"}, "link": {"css": "a"}},
            },
            "sources[0]: without detail pages, list.title or list.content is required",
        ),
        (
            {
                "name": "a",
                "kind": "html",
                "url": "https://x.cn",
                "list": {"item": {"css": "li"}, "link": {"css": "a"}},
                "detail": {"title": {"css": "h1"}},
            },
            "sources[0].detail: give content, or floors for a forum thread",
        ),
        (
            {"name": "a", "kind": "rss", "url": "https://x.cn", "proxy": "socks5://x"},
            "sources[0].proxy: proxy must be an http:// or https:// URL",
        ),
        (
            {"name": "a", "kind": "rss", "url": "not a url"},
            "sources[0].url: Input should be a valid URL",
        ),
    ],
)
def test_source_config_errors_name_the_field(source: dict, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings_from_mapping({**BASE, "sources": [source]})
    assert any(line.startswith(problem) for line in error.value.problems), error.value.problems


def test_source_cookies_come_from_the_environment() -> None:
    settings = settings_from_mapping(
        {
            **BASE,
            "sources": [
                {
                    "name": "a",
                    "kind": "rss",
                    "url": "https://x.cn",
                    "cookies": {"BDUSS": "${TB_COOKIE}"},
                }
            ],
        },
        environ={"TB_COOKIE": "secret"},
    )
    assert settings.sources[0].cookies == {"BDUSS": "secret"}


@pytest.mark.parametrize(
    "text",
    [
        "北京中鼎经纬实业发展有限公司",
        "中 鼎 經 緯的催收",
        "中\u200b鼎经纬贷款",
        "ＺＤ　Ｆｉｎａｎｃｅ 催收",
        "中国人民银行",
        "北京欢迎你",
        "今天天气很好",
        "中鼎物流招聘",
        "",
    ],
)
def test_mention_prefilter_never_hides_a_mention(text: str) -> None:
    from crawler.pipelines import mention_prefilter
    from sentiment.mentions import MentionTerms, find_mentions

    terms = MentionTerms(
        name="北京中鼎经纬实业发展有限公司",
        aliases=("中鼎经纬", "中鼎", "ZD Finance"),
        context_words=("催收", "贷款"),
        exclude=("中鼎物流",),
    )
    if find_mentions(text, terms):
        assert mention_prefilter(terms).search(text) is not None
    if mention_prefilter(terms).search(text) is None:
        assert find_mentions(text, terms) == []
