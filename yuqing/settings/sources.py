"""Config of crawl sources. One model per source ``kind``; the crawler builds a spider from it.

Owned by the crawler work. A source's ``name`` is also its Scrapy spider name. Every knob a
user needs to point the crawler at a new site lives here, so that adding a site is config only:
selectors, pagination, headers, cookies (``${ENV}`` expanded by the loader), politeness and
safety limits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from yuqing.settings._base import Duration, StrictModel

NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
DEFAULT_BLOCK_MARKERS = (
    "验证码",
    "安全验证",
    "人机验证",
    "请完成验证",
    "访问过于频繁",
    "请登录后",
    "登录后查看",
    "captcha",
)
"""Words of a captcha / login wall. A short page or a page title containing one is *blocked*."""


class Selector(StrictModel):
    """A CSS or XPath selector. Give exactly one of ``css`` / ``xpath``.

    Elements are turned into text (paragraphs kept); ``::text`` / ``::attr(x)`` / ``@x`` give
    strings as they are.
    """

    css: str | None = None
    xpath: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Selector:
        if bool(self.css) == bool(self.xpath):
            raise ValueError("give exactly one of css or xpath")
        return self


class SourceBase(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    enabled: bool = True
    schedule: Duration | None = None
    """How often to crawl; default: ``scheduler.crawl_every``."""
    weight: float = Field(default=1.0, ge=0, le=100)
    """How much a post here counts for severity (a big news site > a small forum)."""
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    """Sent with every request; put secrets in the environment: ``{SESSDATA: "${TIEBA_COOKIE}"}``."""
    user_agent: str | None = None
    proxy: str | None = None
    """``http://user:pass@host:port``; the same for every request of this source."""
    delay: Duration = timedelta(seconds=0)
    concurrency: int = Field(default=8, ge=1, le=64)
    page_limit: int = Field(default=5, ge=1, le=10_000)
    """At most this many list (or API) pages per crawl; also the pages of one thread."""
    timeout: Duration = timedelta(seconds=30)
    retries: int = Field(default=2, ge=0, le=10)
    obey_robots: bool = True
    """``false`` ignores robots.txt for this source (a warning is logged on every crawl)."""
    allow_private: bool = False
    """Allow loopback/private addresses (the demo and tests); refused otherwise (SSRF guard)."""
    private_allowlist: list[str] = []
    """``host`` or ``host:port`` entries that may be private (an intranet server) even when
    ``allow_private`` is false; every other private address stays refused."""
    max_body_mb: float = Field(default=10.0, gt=0, le=200)
    max_redirects: int = Field(default=5, ge=0, le=20)
    max_links_per_page: int = Field(default=300, ge=1, le=100_000)
    """Links followed from one list page; the rest are counted as ``link_limit``."""
    max_retry_after: Duration = timedelta(seconds=60)
    """A ``429`` whose ``Retry-After`` is longer than this gives up instead of waiting."""
    blocked_markers: list[str] = list(DEFAULT_BLOCK_MARKERS)

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("proxy must be an http:// or https:// URL")
        return value


class ListSettings(StrictModel):
    """The list page: which elements are items and where each links to its detail page.

    The optional per-item fields are read from the list itself: engagement shown in a thread
    list (``replies``, ``views``), or whole posts when a source has no detail pages (search
    results, complaint lists).
    """

    item: Selector
    link: Selector
    next_page: Selector | None = None
    title: Selector | None = None
    content: Selector | None = None
    author: Selector | None = None
    published_at: Selector | None = None
    replies: Selector | None = None
    views: Selector | None = None


class CommentSettings(StrictModel):
    """楼中楼: replies nested under one floor, searched inside the floor element."""

    item: Selector
    content: Selector
    author: Selector | None = None
    published_at: Selector | None = None


class FloorSettings(StrictModel):
    """A thread's floors (楼). The first floor is the thread's own post; the others are replies."""

    item: Selector
    content: Selector
    author: Selector | None = None
    published_at: Selector | None = None
    floor: Selector | None = None
    """The floor number as shown (``2楼``); default: the position on the thread."""
    id: Selector | None = None
    """A stable id of the floor (``data-pid``); default: the floor number."""
    comments: CommentSettings | None = None


class DetailSettings(StrictModel):
    title: Selector
    content: Selector | None = None
    author: Selector | None = None
    published_at: Selector | None = None
    replies: Selector | None = None
    views: Selector | None = None
    extra: dict[str, Selector] = {}
    """Kind-specific fields stored in ``posts.extra`` (a complaint's object, demands, status)."""
    floors: FloorSettings | None = None
    next_page: Selector | None = None
    """The thread's next page of floors (followed up to ``page_limit``)."""

    @model_validator(mode="after")
    def _content_or_floors(self) -> DetailSettings:
        if self.content is None and self.floors is None:
            raise ValueError("give content, or floors for a forum thread")
        return self


DetailSpec = DetailSettings | Literal["auto"] | None
"""``auto``: no selectors, an article extractor (trafilatura) finds title, body and time."""


def _check_list_only(list_settings: ListSettings, detail: DetailSpec) -> None:
    if detail is None and list_settings.title is None and list_settings.content is None:
        raise ValueError("without detail pages, list.title or list.content is required")


class RssSource(SourceBase):
    kind: Literal["rss"]
    url: HttpUrl
    follow_links: bool = False
    """Fetch each entry's link and extract the article (feeds that carry only a summary)."""


class HtmlSource(SourceBase):
    kind: Literal["html"]
    url: HttpUrl
    list: ListSettings
    detail: DetailSpec = None

    @model_validator(mode="after")
    def _list_only(self) -> HtmlSource:
        _check_list_only(self.list, self.detail)
        return self


class PageNumberPagination(StrictModel):
    kind: Literal["page"]
    param: str = "page"
    start: int = 1
    step: int = 1


class CursorPagination(StrictModel):
    kind: Literal["cursor"]
    param: str = "cursor"
    next: str
    """JSON path (JMESPath) of the next cursor in the response; empty/null = last page."""


class JsonFields(StrictModel):
    """JMESPath expressions evaluated on each item (``data.title``, ``author.nick``)."""

    url: str | None = None
    id: str | None = None
    title: str | None = None
    content: str | None = None
    author: str | None = None
    published_at: str | None = None
    replies: str | None = None
    views: str | None = None
    likes: str | None = None
    extra: dict[str, str] = {}


class JsonSource(SourceBase):
    kind: Literal["json"]
    url: HttpUrl
    items: str
    """JMESPath of the list of items in a response (``data.list``)."""
    fields: JsonFields
    url_template: str | None = None
    """Build an item's URL from its fields: ``https://tousu.example/complaints/{id}``."""
    pagination: (
        Annotated[PageNumberPagination | CursorPagination, Field(discriminator="kind")] | None
    ) = None
    detail: DetailSpec = None
    """Fetch each item's page too and take these fields from it (they win over the API's)."""

    @model_validator(mode="after")
    def _has_url(self) -> JsonSource:
        if not self.fields.url and not self.url_template:
            raise ValueError("give fields.url or url_template so each post has a URL")
        if self.url_template and "{" not in self.url_template:
            raise ValueError("url_template must use an item field, e.g. {id}")
        return self


class SearchSource(SourceBase):
    kind: Literal["search"]
    url_template: str
    """A search URL with ``{keyword}``: ``https://tieba.example/f/search/res?qw={keyword}``."""
    charset: str = "utf-8"
    """How the site encodes the query (``gbk`` for GBK sites)."""
    keywords: list[str] = []
    """Default: the institution's name and aliases."""
    list: ListSettings
    detail: DetailSpec = None

    @field_validator("url_template")
    @classmethod
    def _has_keyword(cls, value: str) -> str:
        if "{keyword}" not in value:
            raise ValueError("must contain {keyword}")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("charset")
    @classmethod
    def _known_charset(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown charset {value!r}") from None
        return value

    @model_validator(mode="after")
    def _list_only(self) -> SearchSource:
        _check_list_only(self.list, self.detail)
        return self


SourceSettings = Annotated[
    RssSource | HtmlSource | JsonSource | SearchSource, Field(discriminator="kind")
]
SOURCE_KINDS = ("rss", "html", "json", "search")


def check_unique_names(sources: list) -> list[tuple[str, str]]:
    """Problems (path, message) for duplicate source names."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, source in enumerate(sources):
        if source.name in seen:
            problems.append((f"sources[{index}].name", f"duplicate source name {source.name!r}"))
        seen.add(source.name)
    return problems
