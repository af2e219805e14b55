"""The built-in offline demo site: a Chinese finance forum and a news feed on 127.0.0.1.

It behaves like the sites yuqing is pointed at in real life — paginated thread lists with a
"下一页" link, one stable URL per thread, reply floors, times written the way Chinese forums
write them (``刚刚``, ``5分钟前``, ``昨天 10:20``), an RSS 2.0 feed with RFC 822 dates and
conditional GET — so the demo exercises the real crawler, not a shortcut.

Publish times are relative to when the site starts, because the alert engine counts posts per
time window. A burst of negative complaints stays hidden until ``release_burst()`` (or
``POST /_demo/burst``) and then appears at the top of the forum with times in the last minutes.

Post content is hostile user input: everything is HTML-escaped when rendered.

Run it alone with ``python -m yuqing.demo.site --port 8765``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import logging
import math
import signal
import socket
import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

from yuqing.demo.content import DemoPost, assign_ids, load_posts

__all__ = ["DemoSite", "THREADS_PER_PAGE", "main", "render_forum_time", "render_news_time"]

log = logging.getLogger(__name__)

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China has had no daylight saving since 1991: a fixed offset is exact and needs no tzdata."""
THREADS_PER_PAGE = 10
FORUM_NAME = "金融生活论坛 · 借贷维权版"
NEWS_NAME = "京华财经 · 金融快讯"
Clock = Callable[[], datetime]
_POLL_SECONDS = 0.05
"""How often the serve loop checks for ``stop()`` (the stdlib default, 0.5 s, slows tests)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def render_forum_time(published: datetime, now: datetime) -> str:
    """A forum's way of writing a time: 刚刚, N分钟前, 今天/昨天 HH:MM, else the full date.

    Both arguments are aware datetimes; days are counted in Asia/Shanghai, as the readers do.
    """
    elapsed = now - published
    if elapsed < timedelta(minutes=1):
        return "刚刚"
    if elapsed < timedelta(hours=1):
        return f"{int(elapsed.total_seconds() // 60)}分钟前"
    local, today = published.astimezone(SHANGHAI), now.astimezone(SHANGHAI).date()
    if local.date() == today:
        return f"今天 {local:%H:%M}"
    if local.date() == today - timedelta(days=1):
        return f"昨天 {local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def render_news_time(published: datetime) -> str:
    """A news site's way: ``2026年11月28日 09:30`` in Asia/Shanghai."""
    local = published.astimezone(SHANGHAI)
    return f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M}"


@dataclass(frozen=True)
class _Visible:
    """A post as currently published: its id and absolute time."""

    post: DemoPost
    id: int
    published_at: datetime


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


class DemoSite:
    """The demo forum + news site, served from a background thread.

    ``DemoSite(port=0)`` picks a free port; ``start()`` returns once the socket listens;
    ``url`` is the base URL (no trailing slash). Use it as a context manager in tests.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        posts: tuple[DemoPost, ...] | None = None,
        clock: Clock = _utcnow,
        threads_per_page: int = THREADS_PER_PAGE,
    ) -> None:
        self.host = host
        self.port = port
        self.posts = posts if posts is not None else load_posts()
        self.threads_per_page = threads_per_page
        self._clock = clock
        self._ids = assign_ids(self.posts)
        self._by_id = {(p.section, self._ids[p.slug]): p for p in self.posts}
        self._lock = threading.Lock()
        self._started_at: datetime | None = None
        self._released_at: datetime | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> DemoSite:
        """Bind, listen and serve in a daemon thread. Returns when connections are accepted."""
        if self._server is not None:
            raise RuntimeError("the demo site is already running")
        self._started_at = self._clock()
        self._released_at = None
        server = _Server((self.host, self.port), _Handler)
        server.site = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"demo-site-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("demo site listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections, free the port."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:8765`` (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def started_at(self) -> datetime:
        if self._started_at is None:
            raise RuntimeError("the demo site has not been started")
        return self._started_at

    # ---------------------------------------------------------------------- burst
    def release_burst(self) -> int:
        """Publish the hidden burst now. Returns how many posts appeared (0 if already out)."""
        with self._lock:
            if self._released_at is not None:
                return 0
            self._released_at = self._clock()
        count = sum(1 for p in self.posts if p.burst)
        log.info("demo site: burst of %d posts released", count)
        return count

    @property
    def burst_released(self) -> bool:
        return self._released_at is not None

    # --------------------------------------------------------------- what is shown
    def post_url(self, slug: str) -> str:
        """The absolute URL of a post's page (stable across runs and before/after the burst)."""
        post = next(p for p in self.posts if p.slug == slug)
        return self.url + self._path(post)

    def published_at(self, slug: str) -> datetime | None:
        """When a post was published (aware UTC), or ``None`` while it is a hidden burst post."""
        post = next(p for p in self.posts if p.slug == slug)
        return self._published(post)

    def visible(self, section: str) -> list[_Visible]:
        """Published posts of a section, newest first (the order of the forum list)."""
        shown = [
            _Visible(p, self._ids[p.slug], when)
            for p in self.posts
            if p.section == section and (when := self._published(p)) is not None
        ]
        shown.sort(key=lambda v: (v.published_at, v.id), reverse=True)
        return shown

    def _published(self, post: DemoPost) -> datetime | None:
        anchor = self._released_at if post.burst else self.started_at
        if anchor is None:
            return None
        return anchor - timedelta(minutes=post.age)

    def _path(self, post: DemoPost) -> str:
        post_id = self._ids[post.slug]
        if post.section == "forum":
            return f"/forum/thread/{post_id}"
        return f"/news/article/{post_id}.html"

    def _lookup(self, section: str, post_id: int) -> _Visible | None:
        post = self._by_id.get((section, post_id))
        if post is None or (when := self._published(post)) is None:
            return None
        return _Visible(post, post_id, when)

    # ------------------------------------------------------------------- routing
    def handle(self, method: str, target: str, headers: dict[str, str]) -> _Response:
        """Answer one request (pure: no socket). ``headers`` have lower-case names."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/_demo/burst":
            if method != "POST":
                return _Response(
                    405, b"use POST\n", "text/plain; charset=utf-8", (("Allow", "POST"),)
                )
            released = self.release_burst()
            body = {
                "released": released,
                "burst_released": True,
                "released_at": self._released_at.isoformat() if self._released_at else None,
            }
            return _json(body)
        if method not in ("GET", "HEAD"):
            return _Response(
                405, b"method not allowed\n", "text/plain; charset=utf-8", (("Allow", "GET, HEAD"),)
            )
        if path == "/_demo/state":
            return _json(
                {
                    "started_at": self.started_at.isoformat(),
                    "burst_released": self.burst_released,
                    "forum_threads": len(self.visible("forum")),
                    "news_articles": len(self.visible("news")),
                }
            )
        if path == "/":
            return _Response(200, _index_page().encode())
        if path == "/robots.txt":
            return _Response(
                200, b"User-agent: *\nDisallow: /_demo/\n", "text/plain; charset=utf-8"
            )
        if path in ("/forum", "/forum/"):
            return _Response(302, b"", headers=(("Location", "/forum/list?page=1"),))
        if path == "/forum/list":
            return self._forum_list(query.get("page", ["1"])[-1])
        if path.startswith("/forum/thread/"):
            return self._thread_page(path.removeprefix("/forum/thread/"))
        if path in ("/news", "/news/"):
            return _Response(200, self._news_index().encode())
        if path == "/news/rss.xml":
            return self._rss(headers)
        if path.startswith("/news/article/") and path.endswith(".html"):
            return self._article_page(path.removeprefix("/news/article/").removesuffix(".html"))
        return _not_found()

    def _forum_list(self, raw_page: str) -> _Response:
        if not raw_page.isdigit() or int(raw_page) < 1:
            return _Response(400, _page("参数错误", '<p class="error">页码无效。</p>').encode())
        page = int(raw_page)
        threads = self.visible("forum")
        pages = max(1, math.ceil(len(threads) / self.threads_per_page))
        if page > pages:
            return _not_found()
        now = self._clock()
        chunk = threads[(page - 1) * self.threads_per_page : page * self.threads_per_page]
        items = "\n".join(_list_item(v, now) for v in chunk)
        body = (
            f'<h1 class="board-title">{_e(FORUM_NAME)}</h1>\n'
            f'<p class="board-stats">主题 {len(threads)} · 第 {page}/{pages} 页</p>\n'
            f'<ul class="thread-list">\n{items}\n</ul>\n{_pagination(page, pages)}'
        )
        extra = f'<link rel="next" href="/forum/list?page={page + 1}">' if page < pages else ""
        return _Response(200, _page(f"{FORUM_NAME} - 第{page}页", body, extra).encode())

    def _thread_page(self, raw_id: str) -> _Response:
        shown = self._lookup("forum", int(raw_id)) if raw_id.isdigit() else None
        if shown is None:
            return _not_found()
        return _Response(
            200,
            _thread_html(shown, self._clock()).encode(),
            headers=(("Last-Modified", _http_date(shown.published_at)),),
        )

    def _article_page(self, raw_id: str) -> _Response:
        shown = self._lookup("news", int(raw_id)) if raw_id.isdigit() else None
        if shown is None:
            return _not_found()
        return _Response(
            200,
            _article_html(shown).encode(),
            headers=(("Last-Modified", _http_date(shown.published_at)),),
        )

    def _news_index(self) -> str:
        rows = "\n".join(
            f'<li class="news-item"><a href="{self._path(v.post)}">{_e(v.post.title)}</a> '
            f'<span class="pub-time">{render_news_time(v.published_at)}</span></li>'
            for v in self.visible("news")
        )
        body = (
            f'<h1>{_e(NEWS_NAME)}</h1>\n<p><a href="/news/rss.xml">RSS 订阅</a></p>\n'
            f'<ul class="news-list">\n{rows}\n</ul>'
        )
        return _page(
            NEWS_NAME,
            body,
            '<link rel="alternate" type="application/rss+xml" href="/news/rss.xml">',
        )

    def _rss(self, headers: dict[str, str]) -> _Response:
        articles = self.visible("news")
        body = _rss_xml(articles, self.url, self._path)
        newest = max((v.published_at for v in articles), default=self.started_at)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        last_modified = _http_date(newest)
        cache = (("ETag", etag), ("Last-Modified", last_modified))
        if _not_modified(headers, etag, newest):
            return _Response(304, b"", "application/rss+xml; charset=utf-8", cache)
        return _Response(200, body, "application/rss+xml; charset=utf-8", cache)


# ------------------------------------------------------------------------- rendering
def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str, head_extra: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n{head_extra}\n</head>\n<body>\n"
        '<div class="nav"><a href="/">首页</a> | <a href="/forum/list?page=1">论坛</a> | '
        '<a href="/news/">新闻</a></div>\n'
        f'<div class="wrap">\n{body}\n</div>\n'
        '<div class="footer">本站为 yuqing 离线演示站点，内容均为虚构。</div>\n</body>\n</html>\n'
    )


def _index_page() -> str:
    body = (
        "<h1>离线演示站点</h1>\n<ul>\n"
        f'<li><a href="/forum/list?page=1">{_e(FORUM_NAME)}</a></li>\n'
        f'<li><a href="/news/">{_e(NEWS_NAME)}</a>(<a href="/news/rss.xml">RSS</a>)</li>\n'
        "</ul>"
    )
    return _page("yuqing 演示站点", body)


def _not_found() -> _Response:
    return _Response(
        404, _page("404", '<p class="error">您访问的页面不存在或已被删除。</p>').encode()
    )


def _stats(post: DemoPost) -> tuple[int, int]:
    """Replies and views: views are derived from the slug so they are the same on every run."""
    return len(post.replies), 60 + zlib.crc32(post.slug.encode()) % 2400


def _list_item(shown: _Visible, now: datetime) -> str:
    post = shown.post
    replies, views = _stats(post)
    return (
        f'<li class="thread-item" data-tid="{shown.id}">'
        f'<a class="thread-link" href="/forum/thread/{shown.id}">{_e(post.title)}</a> '
        f'<span class="thread-author">{_e(post.author)}</span> '
        f'<span class="thread-time">{render_forum_time(shown.published_at, now)}</span> '
        f'<span class="thread-stats">回复 {replies} / 查看 {views}</span></li>'
    )


def _pagination(page: int, pages: int) -> str:
    links = []
    if page > 1:
        links.append(f'<a class="prev-page" href="/forum/list?page={page - 1}">上一页</a>')
    for number in range(1, pages + 1):
        if number == page:
            links.append(f'<span class="current">{number}</span>')
        else:
            links.append(f'<a class="page-num" href="/forum/list?page={number}">{number}</a>')
    if page < pages:
        links.append(f'<a class="next-page" href="/forum/list?page={page + 1}">下一页</a>')
    else:
        links.append('<span class="next-page disabled">下一页</span>')
    return '<div class="pagination">' + " ".join(links) + "</div>"


def _paragraphs(text: str) -> str:
    return "\n".join(f"<p>{_e(p)}</p>" for p in text.split("\n\n") if p.strip())


def _floor(number: int, classes: str, author: str, when: str, content: str) -> str:
    return (
        f'<div class="floor {classes}" id="floor-{number}">\n'
        f'<div class="post-meta"><span class="author">{_e(author)}</span> '
        f'<span class="post-time">{when}</span> <span class="floor-no">{number}楼</span></div>\n'
        f'<div class="post-content">\n{content}\n</div>\n</div>'
    )


def _thread_html(shown: _Visible, now: datetime) -> str:
    post = shown.post
    replies, views = _stats(post)
    floors = [
        _floor(
            1,
            "main-post",
            post.author,
            render_forum_time(shown.published_at, now),
            _paragraphs(post.content),
        )
    ]
    # Replies arrive after the thread and before now, spread evenly: deterministic per start.
    gap = min(timedelta(hours=3), (now - shown.published_at) / (len(post.replies) + 1))
    for index, reply in enumerate(post.replies, start=2):
        when = shown.published_at + gap * (index - 1)
        floors.append(
            _floor(
                index, "reply", reply.author, render_forum_time(when, now), _paragraphs(reply.text)
            )
        )
    body = (
        f'<div class="breadcrumb"><a href="/forum/list?page=1">{_e(FORUM_NAME)}</a> &gt; 正文</div>\n'
        f'<div class="thread" data-tid="{shown.id}">\n'
        f'<h1 class="thread-title">{_e(post.title)}</h1>\n'
        f'<p class="thread-stats">回复 {replies} / 查看 {views}</p>\n'
        + "\n".join(floors)
        + "\n</div>"
    )
    return _page(f"{post.title} - {FORUM_NAME}", body)


def _article_html(shown: _Visible) -> str:
    post = shown.post
    local_iso = shown.published_at.astimezone(SHANGHAI).isoformat(timespec="minutes")
    body = (
        f'<div class="breadcrumb"><a href="/news/">{_e(NEWS_NAME)}</a> &gt; 正文</div>\n'
        '<article class="article">\n'
        f'<h1 class="article-title">{_e(post.title)}</h1>\n'
        f'<div class="article-meta"><span class="source">来源:{_e(post.source or NEWS_NAME)}</span> '
        f'<span class="author">{_e(post.author)}</span> '
        f'<time class="pub-time" datetime="{local_iso}">{render_news_time(shown.published_at)}</time></div>\n'
        f'<div class="article-body">\n{_paragraphs(post.content)}\n</div>\n</article>'
    )
    return _page(f"{post.title}_{NEWS_NAME}", body)


def _rss_xml(articles: list[_Visible], base_url: str, path_of: Callable[[DemoPost], str]) -> bytes:
    """RSS 2.0 built with ElementTree, so every text is escaped by the XML writer."""
    dc = "http://purl.org/dc/elements/1.1/"
    ET.register_namespace("dc", dc)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    newest = max((v.published_at for v in articles), default=None)
    for tag, text in (
        ("title", NEWS_NAME),
        ("link", f"{base_url}/news/"),
        ("description", "金融行业新闻(yuqing 离线演示)"),
        ("language", "zh-cn"),
    ):
        ET.SubElement(channel, tag).text = text
    if newest is not None:
        ET.SubElement(channel, "lastBuildDate").text = format_datetime(newest.astimezone(SHANGHAI))
    for shown in articles:
        post, link = shown.post, base_url + path_of(shown.post)
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = post.title
        ET.SubElement(item, "link").text = link
        ET.SubElement(item, "guid", isPermaLink="true").text = link
        ET.SubElement(item, "pubDate").text = format_datetime(
            shown.published_at.astimezone(SHANGHAI)
        )
        ET.SubElement(item, f"{{{dc}}}creator").text = post.author
        if post.source:
            ET.SubElement(item, "source", url=f"{base_url}/news/rss.xml").text = post.source
        ET.SubElement(item, "description").text = post.content
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified(headers: dict[str, str], etag: str, newest: datetime) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    if "if-none-match" in headers:
        tags = {t.strip() for t in headers["if-none-match"].split(",")}
        return etag in tags or "*" in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return newest.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _json(payload: dict[str, object]) -> _Response:
    return _Response(
        200, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8"
    )


# ------------------------------------------------------------------------ HTTP plumbing
class _Server(ThreadingHTTPServer):
    """A threaded server that remembers its open connections, so ``stop()`` can close
    keep-alive connections instead of leaving handler threads blocked on them."""

    daemon_threads = True
    site: DemoSite

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    timeout = 30
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        self._answer("POST")

    def _answer(self, method: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = self.server.site.handle(method, self.path, headers)
        except Exception:  # a bug in the demo must show as a 500, not kill the thread silently
            log.exception("demo site failed on %s %s", method, self.path)
            response = _Response(500, b"internal error\n", "text/plain; charset=utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s " + format, self.address_string(), *args)


# ------------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    """``python -m yuqing.demo.site [--host H] [--port N]``: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m yuqing.demo.site", description="Serve the yuqing offline demo site."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--burst", action="store_true", help="release the burst at once")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    site = DemoSite(args.host, args.port)
    try:
        site.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    if args.burst:
        site.release_burst()
    print(
        f"demo site: {site.url}/  (forum {site.url}/forum/list?page=1, "
        f"feed {site.url}/news/rss.xml; POST {site.url}/_demo/burst releases the burst)",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
