"""Kind ``html``: a list page → detail pages, by CSS or XPath; forum threads with floors.

A thread's first floor is the thread's own post (``kind=post``); later floors are ``reply``
posts and 楼中楼 are ``comment`` posts, each linked to the thread (``thread_url``) and, for a
comment, to its floor (``parent_url``). Their URLs are the thread's plus ``#floor-<id>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawler.items import PostItem
from crawler.spiders.base import (
    SourceSpider,
    article_from_html,
    first_text,
    joined_text,
    links,
    parse_count,
    select,
    select_page,
)


class DetailMixin:
    """Parse a detail page by ``source.detail`` (selectors, floors, or ``auto``)."""

    def detail_request(self: Any, url: str, context: dict[str, Any]) -> Any:
        return self.request(url, self.parse_detail, meta={"yuqing_context": context})

    def parse_detail(self: Any, response: Response) -> Iterator[Any]:
        self.report.pages += 1
        context: dict[str, Any] = response.meta.get("yuqing_context", {})
        detail = self.source.detail
        url = context.get("url") or self.absolute(response, response.url)
        if detail == "auto":
            title, text, author, published = article_from_html(response.text, response.url)
            if not text:
                self.report.error("parse", response.url, "no article text found")
                return
            yield self._with_context(
                self.post(
                    url,
                    title=context.get("title") or title,
                    content=text,
                    author=context.get("author") or author,
                    published=context.get("published") or published,
                ),
                context,
            )
            return
        if context.get("thread_page"):
            yield from self._floors(response, url, context, detail, first_page=False)
            return
        title = first_text(response, detail.title) or context.get("title") or ""
        extra = {name: first_text(response, sel) for name, sel in detail.extra.items()}
        extra = {k: v for k, v in extra.items() if v}
        fields = {
            "author": first_text(response, detail.author) or context.get("author"),
            "published": first_text(response, detail.published_at) or context.get("published"),
            "replies": parse_count(first_text(response, detail.replies))
            if detail.replies
            else context.get("replies"),
            "views": parse_count(first_text(response, detail.views))
            if detail.views
            else context.get("views"),
        }
        if detail.floors is None:
            content = joined_text(response, detail.content)
            if not content and not title:
                self.report.error("parse", response.url, "detail selectors matched nothing")
                return
            item = self.post(
                url,
                title=title,
                content=content,
                author=fields["author"],
                published=fields["published"],
                replies=fields["replies"],
                views=fields["views"],
            )
            item.extra.update({**context.get("extra", {}), **extra})
            yield self._with_context(item, context)
            return
        context = {**context, "title": title, "fields": fields, "extra": extra, "url": url}
        yield from self._floors(response, url, context, detail, first_page=True)

    def _with_context(self: Any, item: PostItem, context: dict[str, Any]) -> PostItem:
        if item.replies is None:
            item.replies = context.get("replies")
        if item.views is None:
            item.views = context.get("views")
        for key, value in context.get("extra", {}).items():
            item.extra.setdefault(key, value)
        return item

    def _floors(
        self: Any,
        response: Response,
        thread_url: str,
        context: dict[str, Any],
        detail: Any,
        first_page: bool,
    ) -> Iterator[Any]:
        spec = detail.floors
        nodes = select(response, spec.item)
        if not nodes and first_page:
            self.report.error("parse", response.url, "no floors matched floors.item")
            return
        offset = context.get("floor_offset", 0)
        for position, node in enumerate(nodes, start=1 + offset):
            number = parse_count(first_text(node, spec.floor)) if spec.floor else None
            number = number or position
            floor_id = (first_text(node, spec.id) if spec.id else None) or str(number)
            content = joined_text(node, spec.content)
            author = first_text(node, spec.author)
            published = first_text(node, spec.published_at)
            if first_page and position == 1 + offset:
                fields = context.get("fields", {})
                item = self.post(
                    thread_url,
                    title=context.get("title", ""),
                    content=content,
                    author=author or fields.get("author"),
                    published=published or fields.get("published"),
                    replies=fields.get("replies"),
                    views=fields.get("views"),
                    thread_url=thread_url,
                    floor=number,
                )
                item.extra.update(context.get("extra", {}))
                yield self._with_context(item, context)
                floor_url = thread_url
            else:
                floor_url = f"{thread_url}#floor-{floor_id}"
                yield self.post(
                    floor_url,
                    title=context.get("title", ""),
                    content=content,
                    author=author,
                    published=published,
                    kind="reply",
                    thread_url=thread_url,
                    parent_url=thread_url,
                    floor=number,
                )
            if spec.comments is not None:
                for index, comment in enumerate(select(node, spec.comments.item), start=1):
                    yield self.post(
                        f"{thread_url}#floor-{floor_id}-c{index}",
                        title=context.get("title", ""),
                        content=joined_text(comment, spec.comments.content),
                        author=first_text(comment, spec.comments.author),
                        published=first_text(comment, spec.comments.published_at),
                        kind="comment",
                        thread_url=thread_url,
                        parent_url=floor_url,
                        floor=number,
                    )
        page = context.get("thread_page_no", 1)
        if detail.next_page is not None and nodes and page < self.source.page_limit:
            for href in links(response, detail.next_page)[:1]:
                yield self.request(
                    response.urljoin(href),
                    self.parse_detail,
                    meta={
                        "yuqing_context": {
                            **context,
                            "thread_page": True,
                            "thread_page_no": page + 1,
                            "floor_offset": offset + len(nodes),
                            "url": thread_url,
                        }
                    },
                )


def _own_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Our keys of a response's meta (Scrapy's own, like download_latency, must not be copied)."""
    return {k: v for k, v in meta.items() if k.startswith("yuqing_")}


class ListMixin(DetailMixin):
    """Parse a list page by ``source.list``; follow unknown posts; stop on a page of known ones."""

    def parse_list(self: Any, response: Response) -> Iterator[Any]:
        self.report.pages += 1
        spec = self.source.list
        page = response.meta.get("yuqing_page", 1)
        root, nodes = select_page(response, spec.item)
        if not nodes:
            self.report.error("empty_list", response.url, "list.item matched nothing")
            return
        entries: list[tuple[str, Any]] = []
        for node in nodes:
            hrefs = links(node, spec.link)
            if hrefs:
                entries.append((self.absolute(response, hrefs[0]), node))
        limit = self.source.max_links_per_page
        if len(entries) > limit:
            self.report.error(
                "link_limit",
                response.url,
                f"{len(entries)} links on one page; followed the first {limit}",
                count=1,
            )
            entries = entries[:limit]
        entries = list({url: node for url, node in entries}.items())
        known = self.known(url for url, _ in entries)
        replies_before = self._stored_replies(known)
        grown = 0
        for url, node in entries:
            context = self._list_fields(node, url)
            if url in known and self._has_new_replies(context, replies_before.get(url)):
                grown += 1  # a known thread with new floors: fetch it again for them
                yield self.detail_request(url, context)
                continue
            if url in known:
                if context.get("replies") is not None or context.get("views") is not None:
                    yield self.post(
                        url,
                        replies=context.get("replies"),
                        views=context.get("views"),
                        engagement_only=True,
                    )
                continue
            if self.source.detail is None:
                yield self._with_context(
                    self.post(
                        url,
                        title=context.get("title"),
                        content=context.get("content"),
                        author=context.get("author"),
                        published=context.get("published"),
                    ),
                    context,
                )
            else:
                yield self.detail_request(url, context)
        if entries and len(known) == len(entries) and not grown:
            self.crawler.stats.inc_value("yuqing/incremental_stop")
            return
        if spec.next_page is not None and page < self.source.page_limit:
            for href in links(root, spec.next_page)[:1]:
                yield self.request(
                    response.urljoin(href),
                    self.parse_list,
                    meta={**_own_meta(response.meta), "yuqing_page": page + 1},
                )

    def _stored_replies(self: Any, urls: set[str]) -> dict[str, int | None]:
        """Stored reply counts of known threads (only for forum sources: floors + list replies)."""
        detail = self.source.detail
        if not urls or self.source.list.replies is None or not getattr(detail, "floors", None):
            return {}
        if self.dry_run or not self.db_url:
            return {}
        from yuqing.store.posts import stored_replies

        return stored_replies(self.db_url, urls)

    @staticmethod
    def _has_new_replies(context: dict[str, Any], before: int | None) -> bool:
        now = context.get("replies")
        return now is not None and before is not None and now > before

    def _list_fields(self: Any, node: Any, url: str) -> dict[str, Any]:
        spec = self.source.list
        context: dict[str, Any] = {"url": url}
        for name in ("title", "content", "author", "published_at"):
            selector = getattr(spec, name)
            if selector is not None:
                key = "published" if name == "published_at" else name
                context[key] = (
                    joined_text(node, selector) if name == "content" else first_text(node, selector)
                )
        for name in ("replies", "views"):
            selector = getattr(spec, name)
            if selector is not None:
                context[name] = parse_count(first_text(node, selector))
        return context


class HtmlSpider(ListMixin, SourceSpider):
    async def start(self) -> Any:
        yield self.request(str(self.source.url), self.parse_list, meta={"yuqing_page": 1})
