"""Decode a page's bytes the way a Chinese browser would, not the way its ``<meta>`` claims.

Order: BOM, then valid (or all but a few bytes valid) UTF-8 (a UTF-8 page with a stale ``gb2312`` meta is common, and GBK bytes
are almost never valid UTF-8), then the HTTP header, then ``<meta>``/XML declaration, then byte
sniffing by charset-normalizer. GB2312 and GBK are read as GB18030, their superset, because sites
that declare GB2312 routinely use characters outside it.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-]+)|<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-]+)""",
    re.IGNORECASE,
)
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
}


class BinaryContent(ValueError):
    """The bytes are not text (an image or archive served as text/html)."""


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when unknown."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charset(body: bytes) -> str | None:
    """The charset a ``<meta>`` tag or XML declaration names in the first 4 KB."""
    match = _META_RE.search(body[:4096])
    if not match:
        return None
    raw = match.group(1) or match.group(2)
    return normalise_charset(raw.decode("ascii", "ignore"))


def looks_binary(body: bytes) -> bool:
    """NUL bytes or many control characters in the first 2 KB: not a text document."""
    head = body[:2048]
    if not head:
        return False
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * 0.1


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_utf8(body: bytes) -> bool:
    """UTF-8 with a few broken bytes (a truncated or spliced page), not another charset: GBK
    read as UTF-8 breaks on nearly every character, so a low error rate is a safe test."""
    text = body.decode("utf-8", "replace")
    errors = text.count("\ufffd")
    wide = sum(1 for ch in text if ord(ch) > 127) - errors
    return wide >= 10 and errors <= max(3, wide // 20)


def decode_body(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """``(text, encoding)`` for a document's bytes. Raises ``BinaryContent`` for non-text."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, "replace"), encoding
    if looks_binary(body):
        raise BinaryContent("binary content served as text")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8"
    if _mostly_utf8(body):
        return body.decode("utf-8", "replace"), "utf-8"
    for candidate in (normalise_charset(header_charset), declared_charset(body)):
        if candidate and candidate != "utf-8":
            text = _strict(body, candidate)
            if text is not None:
                return text, candidate
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        encoding = normalise_charset(best.encoding) or best.encoding
        return body.decode(encoding, "replace"), encoding
    return body.decode("gb18030", "replace"), "gb18030"
