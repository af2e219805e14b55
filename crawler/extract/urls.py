"""Canonical URLs: a post's identity, so the same page reached two ways is stored once.

Lower-case scheme and host, no default port, no fragment, no tracking parameters, sorted query.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "spm",
        "from",
        "fr",
        "share_token",
        "share_from",
        "sharer",
        "share_source",
        "shareid",
        "fbclid",
        "gclid",
        "msclkid",
        "igshid",
        "yclid",
        "dclid",
        "referer",
        "_t",
        "scene",
        "srcid",
        "wfr",
        "isappinstalled",
        "clicktime",
        "enterid",
        "sessionid",
        "vd_source",
        "ivk_sa",
        "bd_vid",
    }
)
TRACKING_PREFIXES = ("utm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "mkt_")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (tracking parameters and fragment stripped)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and not (
        scheme == "http" and parts.port == 80 or scheme == "https" and parts.port == 443
    ):
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    query.sort()
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))
