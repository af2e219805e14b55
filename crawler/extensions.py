"""The ``CrawlRun`` recorder: one row per crawl, and the source's health after it.

Opens a ``running`` row when the spider opens (so a killed crawl leaves a trace), counts every
response by HTTP status and every callback exception as a ``parse`` error, and on close writes
the counts, the status (ok / partial / failed / blocked / killed) and the source state.
"""

from __future__ import annotations

import logging
import os
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.report import RunReport, report_for

logger = logging.getLogger(__name__)


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.report: RunReport = report_for(crawler)
        config = getattr(crawler.spidercls, "yuqing", None)
        self.db_url = None
        if config is not None and not crawler.settings.getbool("YUQING_DRY_RUN"):
            self.db_url = config.database.url
        self.started = time.monotonic()
        self.final_status: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        recorder = cls(crawler)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(recorder.response_received, signal=signals.response_received)
        crawler.signals.connect(recorder.spider_error, signal=signals.spider_error)
        crawler.signals.connect(recorder.item_error, signal=signals.item_error)
        return recorder

    def spider_opened(self, spider: object) -> None:
        self.started = time.monotonic()
        self.report.source = getattr(spider, "name", self.report.source)
        if self.db_url:
            from yuqing.store.posts import start_run

            self.report.run_id = start_run(self.db_url, self.report.source, os.getpid())

    def response_received(self, response: Response, request: object, spider: object) -> None:
        if response.url.endswith("/robots.txt"):
            return
        self.report.http_status[str(response.status)] += 1

    def spider_error(self, failure: Failure, response: Response, spider: object) -> None:
        self.report.error("parse", response.url, f"{type(failure.value).__name__}: {failure.value}")

    def item_error(
        self, item: object, response: Response | None, spider: object, failure: Failure
    ) -> None:
        url = getattr(item, "url", "") or (response.url if response is not None else "")
        self.report.error("pipeline", url, f"{type(failure.value).__name__}: {failure.value}")

    def spider_closed(self, spider: object, reason: str) -> None:
        summary = self.report.summary()
        if reason in ("shutdown",):
            summary["status"] = "killed"
        self.final_status = summary["status"]
        duration = time.monotonic() - self.started
        if self.db_url and self.report.run_id is not None:
            from yuqing.store.posts import finish_run

            finish_run(
                self.db_url,
                self.report.run_id,
                summary,
                duration,
                seen_keys=self.report.seen_urls,
                http_cache=self.report.http_cache,
            )
        logger.info("crawl of %s: %s", self.report.source, summary)
