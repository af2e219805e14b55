"""Kind ``json``: API endpoints. Items and fields by JMESPath; pages by number or cursor.

Complaint platforms serve their lists from such APIs. An item's URL comes from a field or a
template over its fields (``https://tousu.example/complaints/{id}``); with ``detail`` the item's
page is fetched too and its fields win.
"""

from __future__ import annotations

import json
import string
from typing import Any

import jmespath
from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from crawler.spiders.base import SourceSpider, markup_text, parse_count
from crawler.spiders.html import DetailMixin


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _search(expression: str | None, data: Any) -> Any:
    if not expression:
        return None
    return jmespath.search(expression, data)


def _flat(item: Any) -> dict[str, Any]:
    """Top-level scalar fields of an item, for ``url_template``."""
    if not isinstance(item, dict):
        return {}
    return {k: v for k, v in item.items() if isinstance(v, str | int | float)}


class JsonSpider(DetailMixin, SourceSpider):
    async def start(self) -> Any:
        url = str(self.source.url)
        pagination = self.source.pagination
        if pagination is not None and pagination.kind == "page":
            url = add_or_replace_parameter(url, pagination.param, str(pagination.start))
        yield self.request(
            url, self.parse_api, meta={"yuqing_page": 1}, headers={"Accept": "application/json"}
        )

    def parse_api(self, response: Response) -> Any:
        self.report.pages += 1
        try:
            data = json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            self.report.error("parse", response.url, f"not JSON: {exc}")
            return
        try:
            items = _search(self.source.items, data)
        except jmespath.exceptions.JMESPathError as exc:
            self.report.error("parse", response.url, f"items path: {exc}")
            return
        if not isinstance(items, list):
            self.report.error("parse", response.url, f"{self.source.items!r} is not a list")
            return
        posts = []
        for raw in items:
            url = self._item_url(raw, response)
            if url:
                posts.append((url, raw))
        known = self.known(url for url, _ in posts)
        for url, raw in posts:
            yield from self._item(url, raw, url in known)
        yield from self._next_page(response, data, bool(posts) and len(known) < len(posts))

    def _item_url(self, raw: Any, response: Response) -> str | None:
        fields = self.source.fields
        href = _search(fields.url, raw) if fields.url else None
        if not href and self.source.url_template:
            href = string.Formatter().vformat(self.source.url_template, (), _Fields(_flat(raw)))
        if not href or not isinstance(href, str):
            self.report.error("parse", response.url, "API item without a URL")
            return None
        return self.absolute(response, href)

    def _item(self, url: str, raw: Any, known: bool) -> Any:
        fields = self.source.fields
        replies = parse_count(_search(fields.replies, raw))
        views = parse_count(_search(fields.views, raw))
        if known:
            if replies is not None or views is not None:
                yield self.post(url, replies=replies, views=views, engagement_only=True)
            return
        extra = {name: _search(path, raw) for name, path in fields.extra.items()}
        context = {
            "url": url,
            "title": markup_text(_search(fields.title, raw)),
            "content": markup_text(_search(fields.content, raw)),
            "author": (str(_search(fields.author, raw) or "") or None),
            "published": _search(fields.published_at, raw),
            "replies": replies,
            "views": views,
            "extra": {k: v for k, v in extra.items() if v not in (None, "")},
        }
        if self.source.detail is not None:
            yield self.detail_request(url, context)
            return
        item = self.post(
            url,
            title=context["title"],
            content=context["content"],
            author=context["author"],
            published=context["published"],
            replies=replies,
            views=views,
            likes=parse_count(_search(fields.likes, raw)),
        )
        item.extra.update(context["extra"])
        yield item

    def _next_page(self, response: Response, data: Any, has_new: bool) -> Any:
        pagination = self.source.pagination
        page = response.meta.get("yuqing_page", 1)
        if pagination is None or not has_new or page >= self.source.page_limit:
            return
        if pagination.kind == "page":
            current = int(response.meta.get("yuqing_page_value", pagination.start))
            value = str(current + pagination.step)
            meta = {"yuqing_page": page + 1, "yuqing_page_value": value}
        else:
            cursor = _search(pagination.next, data)
            if cursor in (None, "", 0, False):
                return
            value, meta = str(cursor), {"yuqing_page": page + 1}
        yield self.request(
            add_or_replace_parameter(response.url, pagination.param, value),
            self.parse_api,
            meta=meta,
            headers={"Accept": "application/json"},
        )
