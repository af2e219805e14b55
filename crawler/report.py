"""What one crawl saw, counted as it happens: the body of its ``CrawlRun`` row.

Every component of a crawl (spider, middlewares, pipelines, the recorder extension) reports into
the one ``RunReport`` attached to the crawler, so errors anywhere end up on the run and a bad page
is counted instead of stopping the crawl.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    DNSLookupError,
    TCPTimedOutError,
)
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

MAX_SAMPLES = 10


class CrawlIgnore(IgnoreRequest):
    """A request given up on purpose; ``kind`` names why (``private_address``, ``blocked`` …)."""

    kind = "ignored"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind:
            self.kind = kind


@dataclass
class RunReport:
    source: str
    pages: int = 0
    items: int = 0
    new_posts: int = 0
    updated_posts: int = 0
    not_modified: int = 0
    blocked_pages: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    http_status: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[dict[str, str]] = field(default_factory=list)
    http_cache: dict[str, dict[str, str]] = field(default_factory=dict)
    seen_urls: set[str] = field(default_factory=set)
    run_id: int | None = None

    def error(self, kind: str, url: str, message: str, count: int = 1) -> None:
        self.errors[kind] += count
        if len(self.error_samples) < MAX_SAMPLES:
            self.error_samples.append({"kind": kind, "url": url[:500], "message": message[:300]})

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def status(self) -> str:
        """``ok``, ``partial`` (errors but pages), ``failed`` (no page) or ``blocked``."""
        good = sum(n for code, n in self.http_status.items() if code.startswith(("2", "3")))
        if self.blocked_pages and self.blocked_pages * 2 >= max(good, 1):
            return "blocked"
        if good == 0 and not self.not_modified:
            return "failed"
        if self.errors:
            return "partial"
        return "ok"

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status(),
            "pages": self.pages,
            "items": self.items,
            "new_posts": self.new_posts,
            "updated_posts": self.updated_posts,
            "not_modified": self.not_modified,
            "dropped": dict(self.dropped),
            "http_status": dict(self.http_status),
            "errors": dict(self.errors),
            "error_samples": self.error_samples,
        }


def report_for(crawler: Any) -> RunReport:
    """The crawl's report, created on first use (components are built in no fixed order)."""
    report = getattr(crawler, "yuqing_report", None)
    if report is None:
        name = getattr(getattr(crawler, "spidercls", None), "name", "") or ""
        report = RunReport(source=name)
        crawler.yuqing_report = report
    return report


def classify_failure(failure: Failure) -> tuple[str, str]:
    """``(kind, message)`` for a failed request, the kinds counted on ``CrawlRun.errors``."""
    exc = failure.value
    message = str(exc) or type(exc).__name__
    if isinstance(exc, CrawlIgnore):
        return exc.kind, message
    if isinstance(exc, HttpError):
        status = exc.response.status
        if status == 429:
            return "http_429", f"HTTP 429 at {exc.response.url}"
        return f"http_{status // 100}xx", f"HTTP {status} at {exc.response.url}"
    if isinstance(exc, IgnoreRequest):
        lowered = message.lower()
        if "robots" in lowered:
            return "robots", message
        if "redirect" in lowered:
            return "redirect_limit", message
        if "download_maxsize" in lowered or "maxsize" in lowered:
            return "too_large", message
        return "ignored", message
    if isinstance(
        exc, DownloadTimeoutError | TwistedTimeoutError | TCPTimedOutError | TimeoutError
    ):
        return "timeout", message
    if isinstance(exc, CannotResolveHostError | DNSLookupError):
        return "dns", message
    if isinstance(exc, DownloadCancelledError):
        return ("too_large" if "maxsize" in message.lower() else "cancelled"), message
    if isinstance(exc, zlib.error | EOFError) or "decompress" in message.lower():
        return "decode", f"{type(exc).__name__}: {message}"
    if isinstance(exc, DownloadConnectionRefusedError | ConnectError | ConnectionRefusedError):
        return "connection", message
    if isinstance(
        exc,
        ResponseDataLossError
        | ResponseFailed
        | ResponseNeverReceived
        | ConnectionLost
        | DownloadFailedError,
    ):
        return "connection", f"{type(exc).__name__}: {message}"
    return "download", f"{type(exc).__name__}: {message}"
