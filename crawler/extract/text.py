"""HTML → readable text: paragraphs kept, scripts, styles and navigation dropped.

Post content is hostile HTML; only its text is kept (whatever displays it escapes that text).
"""

from __future__ import annotations

import re

from lxml import etree, html

DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "iframe",
        "object",
        "embed",
        "svg",
        "canvas",
        "button",
        "select",
        "input",
        "textarea",
        "head",
    }
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "tr",
        "table",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figure",
        "figcaption",
        "hr",
        "address",
        "center",
        "td",
        "th",
        "tbody",
        "thead",
    }
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(markup: str) -> str:
    """The text of an HTML fragment or document, one blank line between paragraphs."""
    if not markup or not markup.strip():
        return ""
    if "<" not in markup:
        return clean_text(markup)
    try:
        root = html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", markup))
    return element_text(root)


def element_text(root: etree._Element) -> str:
    """The text of a parsed element, as :func:`html_to_text` renders it."""
    parts: list[str] = []
    _walk(root, parts)
    return clean_text("".join(parts))


def _walk(root: etree._Element, parts: list[str]) -> None:
    """Render text iteratively (a hostile page may nest 100,000 elements; no recursion)."""
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if closing:
            if tag in BLOCK_TAGS:
                parts.append("\n\n")
            if element.tail and element is not root:
                parts.append(element.tail)
            continue
        if not tag or tag in DROP_TAGS:
            if element.tail and element is not root:
                parts.append(element.tail)
            continue
        if tag in BLOCK_TAGS:
            parts.append("\n\n")
        elif tag == "br":
            parts.append("\n")
        if element.text:
            parts.append(element.text)
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def clean_text(text: str) -> str:
    """Collapse runs of spaces, keep single newlines and paragraph breaks, trim each line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANKS.sub("\n\n", text)
    return text.strip()
