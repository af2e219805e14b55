"""RSS 0.9x / 1.0 (RDF) / 2.0 and Atom, parsed from decoded text.

Python's expat refuses GBK and GB2312 feeds, and lxml refuses a ``str`` that still carries an
encoding declaration: so the bytes are decoded first (``charset.decode_body``), the declaration is
dropped, and lxml parses the text in recover mode (a broken feed still yields its good entries).
Elements are matched by local name, so namespaces and versions do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from crawler.extract.text import html_to_text

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


@dataclass(frozen=True)
class FeedEntry:
    title: str
    link: str
    content: str
    author: str | None
    published: str | None
    guid: str | None


class FeedError(ValueError):
    """Not a feed at all (no rss/feed/RDF root)."""


def parse_feed(text: str) -> list[FeedEntry]:
    """The entries of an RSS or Atom document. Raises ``FeedError`` when it is not a feed."""
    text = _DECLARATION.sub("", text, count=1)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"unparseable feed: {exc}") from None
    if root is None or etree.QName(root).localname.lower() not in {"rss", "feed", "rdf"}:
        raise FeedError("not an RSS or Atom feed")
    atom = etree.QName(root).localname.lower() == "feed"
    nodes = [
        n
        for n in root.iter()
        if isinstance(n.tag, str) and etree.QName(n).localname == ("entry" if atom else "item")
    ]
    return [_atom_entry(n) if atom else _rss_item(n) for n in nodes]


def _child(node: etree._Element, *names: str) -> etree._Element | None:
    for name in names:
        for child in node:
            if isinstance(child.tag, str) and etree.QName(child).localname == name:
                return child
    return None


def _text(node: etree._Element | None) -> str:
    if node is None:
        return ""
    return "".join(node.itertext()).strip()


def _rss_item(node: etree._Element) -> FeedEntry:
    body = _child(node, "encoded", "description")
    author = _text(_child(node, "author", "creator")) or None
    link = _text(_child(node, "link"))
    guid = _text(_child(node, "guid")) or None
    if not link and guid and guid.startswith("http"):
        link = guid
    if not link:
        link = node.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about", "")
    return FeedEntry(
        title=html_to_text(_text(_child(node, "title"))),
        link=link,
        content=html_to_text(_text(body)),
        author=author,
        published=_text(_child(node, "pubDate", "date", "published", "updated")) or None,
        guid=guid,
    )


def _atom_entry(node: etree._Element) -> FeedEntry:
    link = ""
    for child in node:
        is_link = isinstance(child.tag, str) and etree.QName(child).localname == "link"
        if is_link and child.get("rel", "alternate") == "alternate":
            link = child.get("href", "")
            break
    author = _child(node, "author")
    return FeedEntry(
        title=html_to_text(_text(_child(node, "title"))),
        link=link,
        content=html_to_text(_text(_child(node, "content", "summary"))),
        author=(_text(_child(author, "name")) if author is not None else "") or None,
        published=_text(_child(node, "published", "updated")) or None,
        guid=_text(_child(node, "id")) or None,
    )
