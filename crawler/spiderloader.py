"""A spider per configured source: ``scrapy list`` lists source names, ``scrapy crawl NAME`` works.

Scrapy's default loader imports spider modules; ours reads the yuqing config instead and builds
a class per source with the source's politeness and safety limits as its ``custom_settings``.
"""

from __future__ import annotations

import sys
from typing import Any

from scrapy import Request, Spider

from crawler.config import settings_for
from crawler.spiders.base import SourceSpider
from crawler.spiders.html import HtmlSpider
from crawler.spiders.json_api import JsonSpider
from crawler.spiders.rss import RssSpider
from crawler.spiders.search import SearchSpider
from yuqing.settings import ConfigError

SPIDER_CLASSES: dict[str, type[SourceSpider]] = {
    "rss": RssSpider,
    "html": HtmlSpider,
    "json": JsonSpider,
    "search": SearchSpider,
}


def source_scrapy_settings(source: Any) -> dict[str, Any]:
    """The Scrapy settings one source asks for (delay, concurrency, limits, headers, UA)."""
    custom: dict[str, Any] = {
        "DOWNLOAD_DELAY": source.delay.total_seconds(),
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency,
        "DOWNLOAD_TIMEOUT": max(1, int(source.timeout.total_seconds())),
        "RETRY_TIMES": source.retries,
        "ROBOTSTXT_OBEY": source.obey_robots,
        "DOWNLOAD_MAXSIZE": int(source.max_body_mb * 1024 * 1024),
        "DOWNLOAD_WARNSIZE": int(source.max_body_mb * 1024 * 1024),
        "REDIRECT_MAX_TIMES": source.max_redirects,
    }
    if source.user_agent:
        custom["USER_AGENT"] = source.user_agent
    if source.headers:
        custom["DEFAULT_REQUEST_HEADERS"] = {
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "zh-CN,zh;q=0.9",
            **source.headers,
        }
    return custom


def spider_class(source: Any, settings: Any) -> type[SourceSpider]:
    base = SPIDER_CLASSES[source.kind]
    return type(
        f"{base.__name__}_{source.name.replace('-', '_')}",
        (base,),
        {
            "name": source.name,
            "source": source,
            "yuqing": settings,
            "custom_settings": source_scrapy_settings(source),
        },
    )


class SourceSpiderLoader:
    """Implements Scrapy's spider-loader protocol over the config's sources."""

    def __init__(self, scrapy_settings: Any) -> None:
        try:
            self.settings = settings_for(scrapy_settings)
        except ConfigError as exc:
            for problem in exc.problems:
                where = f"{exc.path}: " if exc.path else ""
                print(f"{where}{problem}", file=sys.stderr)
            raise SystemExit(2) from None
        self._spiders = {s.name: spider_class(s, self.settings) for s in self.settings.sources}

    @classmethod
    def from_settings(cls, settings: Any) -> SourceSpiderLoader:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return list(self._spiders)

    def find_by_request(self, request: Request) -> list[str]:
        return []
