"""A news article with no selectors: title, body and publish time by trafilatura.

trafilatura is a maintained extractor with good results on Chinese news pages; it is only asked
for what it is good at (the main text, the title, the date) and its date is re-read by our own
date parser so that the time zone rule stays the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura
from lxml import etree, html

from crawler.extract.text import clean_text, element_text


@dataclass(frozen=True)
class Article:
    title: str
    text: str
    author: str | None
    published: str | None


def extract_article(markup: str, url: str | None = None) -> Article | None:
    """The article on a page, or None when the page has no main text."""
    document = trafilatura.bare_extraction(
        markup,
        url=url,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        with_metadata=True,
    )
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    # trafilatura puts one newline between paragraphs; the rest of the crawler uses a blank line
    text = clean_text((data.get("text") or "").replace("\n", "\n\n"))
    if not text:
        return None
    return Article(
        title=clean_text(data.get("title") or ""),
        text=text,
        author=(data.get("author") or None),
        published=published_time(markup) or data.get("date") or None,
    )


_TIME_META = (
    "article:published_time",
    "og:article:published_time",
    "og:release_date",
    "pubdate",
    "publishdate",
    "publish_date",
    "datepublished",
    "weibo: article:create_at",
    "dc.date.issued",
    "dc.date",
    "sailthru.date",
    "article.published",
)
_VISIBLE_TIME = re.compile(
    r"20\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s+\d{1,2}[:：]\d{2}(?:[:：]\d{2})?"
)


def published_time(markup: str) -> str | None:
    """The publish time *with its clock time* when the page states one (trafilatura keeps only
    the day): a ``<meta>`` such as ``article:published_time``, else the first visible
    ``2026年11月28日 09:30``-like stamp in the page's head region."""
    try:
        root = html.document_fromstring(markup[:500_000])
    except (etree.ParserError, ValueError):
        return None
    for meta in root.iter("meta"):
        key = (
            (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        )
        if key in _TIME_META and meta.get("content"):
            return meta.get("content").strip()
    body = root.find("body")
    if body is None:
        return None
    match = _VISIBLE_TIME.search(element_text(body)[:3000])
    return match.group(0) if match else None
