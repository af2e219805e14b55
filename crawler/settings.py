"""Scrapy settings of the yuqing crawler (``scrapy.cfg`` points here).

Per-source values (delay, concurrency, timeout, limits, UA, headers) come from the source's config
as the spider's ``custom_settings`` (see ``crawler.spiderloader``). The config file: the
``YUQING_CONFIG`` setting / environment variable, else the default rule.
"""

import os

BOT_NAME = "yuqing"
SPIDER_LOADER_CLASS = "crawler.spiderloader.SourceSpiderLoader"
YUQING_CONFIG = os.environ.get("YUQING_CONFIG") or None
YUQING_DRY_RUN = False
YUQING_NO_MATCH = False
YUQING_STORE_BATCH = 200
YUQING_RETRY_BACKOFF_S = 1.0  # first retry waits 1 s, then 2 s, 4 s … (at most 60 s)
YUQING_STORY_WINDOW_DAYS = 3
YUQING_STORY_SEED_LIMIT = 5000

# Off: Scrapy 2.19 turns on a localhost server that runs code; the telnet console likewise.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

USER_AGENT = "Mozilla/5.0 (compatible; yuqing-monitor/0.1; +https://example.invalid/bot)"
ROBOTSTXT_OBEY = True
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9",
}
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
CONCURRENT_ITEMS = 50
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 10 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SafetyMiddleware": 50,
    "crawler.middlewares.RetryAfterMiddleware": 560,
    "crawler.middlewares.DecodeMiddleware": 580,
    "crawler.middlewares.GzipCheckMiddleware": 595,
}
ITEM_PIPELINES = {
    "crawler.pipelines.CleanPipeline": 100,
    "crawler.pipelines.MatchPipeline": 200,
    "crawler.pipelines.DedupePipeline": 300,
    "crawler.pipelines.StorePipeline": 400,
    "crawler.pipelines.DryRunPipeline": 410,
}
EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 100,
}
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
