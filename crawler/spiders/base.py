"""What every source spider shares: requests with the source's settings, error accounting,
selector helpers, post construction, and the "already known" check for incremental crawls."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extract.dates import parse_datetime
from crawler.extract.text import clean_text, element_text, html_to_text
from crawler.extract.urls import canonical_url
from crawler.items import PostItem
from crawler.report import RunReport, classify_failure, report_for

logger = logging.getLogger(__name__)
_COUNT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([万wW千kK亿]?)")
_UNITS = {
    "万": 10_000,
    "w": 10_000,
    "W": 10_000,
    "千": 1000,
    "k": 1000,
    "K": 1000,
    "亿": 100_000_000,
}


def url_key(url: str) -> str:
    """A short stable key of a canonical URL (the seen-set of incremental crawls)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


def parse_count(text: str | None) -> int | None:
    """``1.2万`` → 12000, ``回复 35`` → 35; None when there is no number."""
    if text is None:
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        return int(text)
    match = _COUNT_RE.search(str(text).replace(",", ""))
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS.get(match.group(2), 1))


def select(node: Any, selector: Any) -> list[Any]:
    """The parsel results of a config ``Selector`` under ``node``."""
    if selector is None:
        return []
    return list(node.css(selector.css) if selector.css else node.xpath(selector.xpath))


_COMMENT_MARKERS = re.compile(r"<!--|-->")


def select_page(response: Any, selector: Any) -> tuple[Any, list[Any]]:
    """(root, matches) of ``selector`` on a page; when nothing matches and the page hides its
    markup in HTML comments — BigPipe pages such as Baidu Tieba's thread list, served inside
    ``<code><!-- … --></code>`` and revealed by JavaScript — the comments are opened and the
    selector runs again. Later look-ups on the page (next page) should use the returned root."""
    found = select(response, selector)
    text = getattr(response, "text", "")
    if found or "<!--" not in text:
        return response, found
    from parsel import Selector

    opened = Selector(text=_COMMENT_MARKERS.sub("", text), base_url=response.url)
    return opened, select(opened, selector)


def texts(node: Any, selector: Any) -> list[str]:
    """Each match as text: elements rendered with paragraphs, strings as they are."""
    out: list[str] = []
    for result in select(node, selector):
        root = result.root
        value = clean_text(root) if isinstance(root, str) else element_text(root)
        if value:
            out.append(value)
    return out


def first_text(node: Any, selector: Any) -> str | None:
    values = texts(node, selector)
    return values[0] if values else None


def joined_text(node: Any, selector: Any) -> str:
    return "\n\n".join(texts(node, selector))


def links(node: Any, selector: Any) -> list[str]:
    """Link targets: ``@href`` strings as they are, elements by their (first) ``href``."""
    out: list[str] = []
    for result in select(node, selector):
        root = result.root
        if isinstance(root, str):
            value = root.strip()
        else:
            href = root.get("href")
            if href is None:
                found = root.xpath(".//@href")
                href = found[0] if found else None
            value = (href or "").strip()
        if value and not value.startswith(("javascript:", "#", "mailto:")):
            out.append(value)
    return out


class SourceSpider(scrapy.Spider):
    """Base of the per-kind spiders. ``source`` and ``yuqing`` are set by the spider loader."""

    source: Any = None
    yuqing: Any = None
    report: RunReport

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.report = report_for(crawler)
        spider.dry_run = crawler.settings.getbool("YUQING_DRY_RUN")
        spider.db_url = spider.yuqing.database.url if spider.yuqing is not None else None
        spider.now = datetime.now(UTC).replace(tzinfo=None)
        spider._seen_keys: set[str] = set()
        spider.http_cache: dict[str, dict[str, str]] = {}
        spider._state_loaded = False
        if not spider.source.obey_robots:
            logger.warning("source %s ignores robots.txt (obey_robots: false)", spider.name)
        return spider

    # --- requests -----------------------------------------------------------------------
    def request(
        self,
        url: str,
        callback: Any,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> scrapy.Request:
        """A request carrying the source's cookies and proxy, whose failures land on the run."""
        meta = dict(meta or {})
        if self.source.proxy:
            meta["proxy"] = self.source.proxy
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            meta=meta,
            headers=headers,
            cookies=dict(self.source.cookies) or None,
            **kwargs,
        )

    def on_error(self, failure: Failure) -> None:
        kind, message = classify_failure(failure)
        request = getattr(failure, "request", None)
        url = request.url if request is not None else ""
        self.report.error(kind, url, message)
        logger.info("%s: %s (%s)", kind, message, url)

    # --- incremental ----------------------------------------------------------------------
    def _load_state(self) -> None:
        if self._state_loaded or self.dry_run or not self.db_url:
            self._state_loaded = True
            return
        from yuqing.store.posts import load_source_state

        state = load_source_state(self.db_url, self.name)
        self._seen_keys = set(state.get("seen", []))
        self.http_cache = dict(state.get("urls", {}))
        self._state_loaded = True

    def cached_validators(self, url: str) -> dict[str, str]:
        """Conditional-GET headers remembered for ``url`` (ETag / Last-Modified)."""
        self._load_state()
        entry = getattr(self, "http_cache", {}).get(url, {})
        headers: dict[str, str] = {}
        if entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if entry.get("last_modified"):
            headers["If-Modified-Since"] = entry["last_modified"]
        return headers

    def remember_validators(self, response: Response) -> None:
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        if etag or modified:
            self.report.http_cache[response.request.url] = {
                "etag": etag.decode("latin-1") if etag else "",
                "last_modified": modified.decode("latin-1") if modified else "",
            }

    def known(self, urls: Iterable[str]) -> set[str]:
        """Which canonical URLs earlier crawls already saw (stored or dropped)."""
        urls = list(urls)
        self._load_state()
        if self.dry_run or not self.db_url or not urls:
            return set()
        from yuqing.store.posts import stored_urls

        found = {u for u in urls if url_key(u) in self._seen_keys}
        return found | stored_urls(self.db_url, [u for u in urls if u not in found])

    def mark_seen(self, url: str) -> None:
        self.report.seen_urls.add(url_key(url))

    # --- items ----------------------------------------------------------------------------
    def post(
        self,
        url: str,
        *,
        title: str | None = "",
        content: str | None = "",
        author: str | None = None,
        published: Any = None,
        **fields: Any,
    ) -> PostItem:
        """A ``PostItem`` with its date parsed (a bad date is counted, the post is kept)."""
        published_at = parse_datetime(published, self.now) if published not in (None, "") else None
        if published not in (None, "") and published_at is None:
            self.report.error("date", url, f"unreadable or impossible date {str(published)[:80]!r}")
        self.mark_seen(url.split("#", 1)[0])
        return PostItem(
            url=url,
            source=self.name,
            title=clean_text(title or ""),
            content=content or "",
            author=(author or None),
            published_at=published_at,
            **fields,
        )

    def absolute(self, response: Response, href: str) -> str:
        return canonical_url(response.urljoin(href))


def article_from_html(markup: str, url: str) -> tuple[str, str, str | None, str | None]:
    """``(title, text, author, published)`` of a page by the article extractor (auto mode)."""
    from crawler.extract.article import extract_article

    article = extract_article(markup, url)
    if article is None:
        return "", "", None, None
    return article.title, article.text, article.author, article.published


def markup_text(value: Any) -> str:
    """JSON/API content that may carry HTML, as plain text."""
    if value is None:
        return ""
    return html_to_text(str(value))
