"""The Scrapy project of yuqing: a spider per configured source, pipelines that keep posts about
the institution, and a ``CrawlRun`` per crawl. Run one crawl with ``python -m crawler.run``."""
