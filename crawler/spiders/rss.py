"""Kind ``rss``: RSS 0.9x/1.0/2.0 and Atom, in any charset, with conditional GET.

The feed's ETag / Last-Modified are kept in ``source_states.http_cache``; a ``304`` is a
successful, empty crawl. ``follow_links`` fetches each new entry's page for the full article.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response

from crawler.extract.feeds import FeedError, parse_feed
from crawler.spiders.base import SourceSpider, article_from_html


class RssSpider(SourceSpider):
    async def start(self) -> Any:
        url = str(self.source.url)
        yield self.request(
            url,
            self.parse_feed,
            headers=self.cached_validators(url),
            meta={"handle_httpstatus_list": [304]},
        )

    def parse_feed(self, response: Response) -> Any:
        self.report.pages += 1
        if response.status == 304:
            self.report.not_modified += 1
            self.report.http_cache[response.request.url] = self.http_cache.get(
                response.request.url, {}
            )
            return
        try:
            entries = parse_feed(response.text)
        except (FeedError, AttributeError) as exc:
            self.report.error("parse", response.url, str(exc))
            return
        self.remember_validators(response)
        urls = {}
        for entry in entries:
            if not entry.link:
                self.report.error(
                    "parse", response.url, f"feed entry without link: {entry.title[:60]!r}"
                )
                continue
            urls[self.absolute(response, entry.link)] = entry
        known = self.known(urls) if self.source.follow_links else set()
        for url, entry in urls.items():
            if url in known:
                continue
            if self.source.follow_links:
                yield self.request(
                    url, self.parse_article, meta={"yuqing_entry": entry, "yuqing_url": url}
                )
            else:
                yield self.post(
                    url,
                    title=entry.title,
                    content=entry.content,
                    author=entry.author,
                    published=entry.published,
                )

    def parse_article(self, response: Response) -> Any:
        self.report.pages += 1
        entry = response.meta["yuqing_entry"]
        title, text, author, published = article_from_html(response.text, response.url)
        yield self.post(
            response.meta["yuqing_url"],
            title=entry.title or title,
            content=text or entry.content,
            author=entry.author or author,
            published=entry.published or published,
        )
