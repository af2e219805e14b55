"""Downloader middlewares: safety, charset, captcha walls, ``Retry-After``.

* ``SafetyMiddleware`` refuses requests (also redirects: they come back through here) to private
  addresses unless the source allows them, and non-HTTP schemes.
* ``DecodeMiddleware`` decodes every text response by ``extract.charset`` (so a stale ``<meta>``
  cannot garble it), refuses binary bodies served as text, and flags captcha / login walls
  served with 200 as ``blocked``.
* ``RetryAfterMiddleware`` waits a ``429``'s ``Retry-After`` before Scrapy's retry re-sends it, or
  gives up when the wait is longer than the source accepts.
"""

from __future__ import annotations

import logging
import zlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from crawler.extract.charset import BinaryContent, decode_body
from crawler.extract.text import clean_text
from crawler.report import CrawlIgnore, report_for
from crawler.safety import refusal

logger = logging.getLogger(__name__)
_TEXT_TYPES = (
    b"text/",
    b"application/xhtml",
    b"application/xml",
    b"application/rss",
    b"application/atom",
    b"application/json",
    b"application/javascript",
    b"application/rdf",
)
SHORT_PAGE_CHARS = 200


def _source(crawler: Crawler) -> Any:
    return getattr(crawler.spidercls, "source", None)


class SafetyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        source = _source(crawler)
        self.allow_private = bool(getattr(source, "allow_private", False))
        self.allowlist = [h.lower() for h in getattr(source, "private_allowlist", [])]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            raise CrawlIgnore(f"refused scheme {parts.scheme!r}: {request.url}", "bad_scheme")
        reason = refusal(parts.hostname or "", parts.port, self.allow_private, self.allowlist)
        if reason:
            raise CrawlIgnore(
                f"refused {request.url}: {reason} (set allow_private)", "private_address"
            )
        return None


class GzipCheckMiddleware:
    """Refuse a gzip body cut short (Scrapy's gunzip silently returns what it could read).

    Runs before decompression; decompresses once to find the end-of-stream marker, bounded by
    ``DOWNLOAD_MAXSIZE`` (a bomb is left to Scrapy's own size check)."""

    def __init__(self, crawler: Crawler) -> None:
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> GzipCheckMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        encodings = [
            e.strip().lower()
            for e in b",".join(response.headers.getlist(b"Content-Encoding")).split(b",")
        ]
        if b"gzip" not in encodings and b"x-gzip" not in encodings:
            return response
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = decompressor.decompress(response.body, self.max_size + 1)
        except zlib.error as exc:
            raise CrawlIgnore(f"corrupt gzip body at {response.url}: {exc}", "decode") from None
        if not decompressor.eof and len(out) <= self.max_size:
            raise CrawlIgnore(f"truncated gzip body at {response.url}", "decode")
        return response


def _is_text(response: Response) -> bool:
    content_type = response.headers.get(b"Content-Type", b"") or b""
    if not content_type:
        return isinstance(response, TextResponse)
    return content_type.lower().startswith(_TEXT_TYPES)


def _title_and_text(text: str) -> tuple[str, str]:
    from lxml import html as lxml_html

    from crawler.extract.text import element_text

    try:
        root = lxml_html.document_fromstring(text[:300_000])
    except Exception:  # noqa: BLE001 - a page that does not parse has no wall to detect
        return "", ""
    title = clean_text(" ".join(root.xpath("//title//text()")))
    body = root.find("body")
    return title, (element_text(body) if body is not None else "")


def looks_blocked(text: str, markers: list[str], is_html: bool) -> str | None:
    """The marker that shows this page is a captcha or login wall, if it is one."""
    if not markers or not is_html:
        return None
    head = text[:20_000].lower()
    candidates = [m for m in markers if m.lower() in head]
    if not candidates:
        return None
    title, body = _title_and_text(text)
    for marker in candidates:
        if marker.lower() in title.lower():
            return marker
        if len(body) < SHORT_PAGE_CHARS and marker.lower() in body.lower():
            return marker
    return None


class DecodeMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        source = _source(crawler)
        self.markers = list(getattr(source, "blocked_markers", []))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DecodeMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("yuqing_robots") or urlsplit(response.url).path == "/robots.txt":
            return response
        if not response.body or not _is_text(response):
            if (
                response.body
                and response.status == 200
                and not request.meta.get("yuqing_binary_ok")
            ):
                raise CrawlIgnore(
                    f"not a text document ({response.headers.get(b'Content-Type', b'')!r})",
                    "not_text",
                )
            return response
        charset = None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if "charset=" in content_type.lower():
            charset = content_type.lower().split("charset=", 1)[1].split(";")[0].strip()
        try:
            text, encoding = decode_body(response.body, charset)
        except BinaryContent as exc:
            raise CrawlIgnore(f"{exc}: {response.url}", "binary") from None
        is_html = "html" in content_type.lower() or text.lstrip()[:200].lower().startswith(
            ("<!doctype html", "<html")
        )
        marker = looks_blocked(text, self.markers, is_html)
        if marker and response.status in (200, 401, 403):
            report_for(self.crawler).blocked_pages += 1
            raise CrawlIgnore(f"captcha/login wall ({marker!r}) at {response.url}", "blocked")
        if (
            encoding == "utf-8"
            and isinstance(response, TextResponse)
            and response.encoding == "utf-8"
        ):
            return response  # Scrapy already reads it as we do: no copy
        cls = response.__class__ if isinstance(response, TextResponse) else TextResponse
        return response.replace(cls=cls, body=text.encode("utf-8"), encoding="utf-8")


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait for a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    """Politeness around Scrapy's retries (which re-send at once): wait a ``429``/``503``'s
    ``Retry-After`` (or give up when it is longer than the source accepts), and back off
    exponentially (``YUQING_RETRY_BACKOFF_S`` × 2^attempt, at most 60 s) before a 5xx or a
    timeout is retried."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        source = _source(crawler)
        limit = getattr(source, "max_retry_after", None)
        self.max_wait = limit.total_seconds() if limit is not None else 60.0
        self.backoff = crawler.settings.getfloat("YUQING_RETRY_BACKOFF_S", 1.0)
        self.max_retries = crawler.settings.getint("RETRY_TIMES")
        self.retry_codes = set(crawler.settings.getlist("RETRY_HTTP_CODES"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def _sleep(self, seconds: float) -> None:
        from twisted.internet import reactor  # the one Scrapy installed

        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))

    def _backoff_for(self, request: Request) -> float:
        attempt = int(request.meta.get("retry_times", 0))
        if attempt >= int(request.meta.get("max_retry_times", self.max_retries)):
            return 0.0  # no retry follows: do not wait for nothing
        return min(60.0, self.backoff * (2**attempt))

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in self.retry_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None and wait > self.max_wait:
            raise CrawlIgnore(
                f"HTTP {response.status} with Retry-After {wait:.0f}s > max_retry_after at {response.url}",
                "rate_limited",
            )
        if wait is None:
            wait = self._backoff_for(request)
        elif self._backoff_for(request) == 0.0:
            wait = 0.0
        if wait > 0:
            logger.info(
                "HTTP %s at %s: waiting %.1fs before retrying", response.status, response.url, wait
            )
            await self._sleep(wait)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        from scrapy.exceptions import DownloadTimeoutError

        if isinstance(exception, DownloadTimeoutError | TimeoutError):
            wait = self._backoff_for(request)
            if wait > 0:
                await self._sleep(wait)
        return None
