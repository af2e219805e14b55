"""What every channel shares: the batch it is given, the result it returns, HTTP and masking.

A channel turns a batch of notifications (one or several merged into one message) into one
request and classifies the answer. The platforms answer **HTTP 200 with an error code in the
body** when they refuse; each channel reads its own code, so a refusal is never taken for a
success. ``retryable`` separates rate limits, 5xx and timeouts (try again later) from bad
signatures, bad payloads and revoked tokens (dead-letter with the reason).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

USER_AGENT = "yuqing-alerts/0.1"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery in a batch: its idempotency key and the notification payload."""

    delivery_id: int
    idempotency_key: str
    payload: dict[str, Any]


@dataclass(slots=True)
class SendResult:
    ok: bool
    retryable: bool = False
    error: str | None = None
    response: str = ""
    retry_after: float | None = None
    """Seconds the platform asked us to wait (``Retry-After``), if any."""
    status: int | None = None

    @classmethod
    def success(cls, response: str, status: int | None = 200) -> SendResult:
        return cls(ok=True, response=response, status=status)

    @classmethod
    def failure(
        cls,
        error: str,
        retryable: bool,
        response: str = "",
        retry_after: float | None = None,
        status: int | None = None,
    ) -> SendResult:
        return cls(
            ok=False,
            retryable=retryable,
            error=error,
            response=response,
            retry_after=retry_after,
            status=status,
        )


@dataclass
class Masker:
    """Replaces secrets (tokens in URLs, signing secrets, passwords) with ``***`` in any text."""

    secrets: list[str] = field(default_factory=list)

    @classmethod
    def for_url(cls, url: str, *others: str | None) -> Masker:
        parts = urlsplit(url)
        values = [url, parts.path + ("?" + parts.query if parts.query else "")]
        values += [v for _, v in parse_qsl(parts.query) if len(v) >= 4]
        values += [seg for seg in parts.path.split("/") if len(seg) >= 16]
        values += [o for o in others if o]
        return cls(sorted({v for v in values if v}, key=len, reverse=True))

    def __call__(self, text: str | None) -> str:
        out = text or ""
        for secret in self.secrets:
            out = out.replace(secret, "***")
        return out


def post_json(
    url: str,
    body: Any,
    timeout: float,
    headers: dict[str, str] | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    """POST ``body`` as UTF-8 JSON (``ensure_ascii=False``: Chinese counts as the platform counts it)."""
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    sender = session or requests
    return sender.post(
        url,
        data=data,
        timeout=timeout,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        },
    )


def classify_http(response: requests.Response, mask: Masker) -> SendResult | None:
    """The verdict from the HTTP status alone; ``None`` when the body must be read (2xx)."""
    status = response.status_code
    text = mask(response.text[:1000])
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or status >= 500 or status == 408:
        return SendResult.failure(f"HTTP {status}: {text[:200]}", True, text, retry_after, status)
    return SendResult.failure(f"HTTP {status}: {text[:200]}", False, text, None, status)


def request_failure(exc: requests.RequestException, mask: Masker) -> SendResult:
    """Timeouts and connection errors are retryable; a malformed request is not."""
    kind = type(exc).__name__
    retryable = isinstance(exc, requests.Timeout | requests.ConnectionError)
    return SendResult.failure(f"{kind}: {mask(str(exc))[:300]}", retryable)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def json_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def classify_code(
    body: dict[str, Any] | None,
    text: str,
    *,
    code_keys: tuple[str, ...] = ("errcode",),
    message_key: str = "errmsg",
    retryable: frozenset[int] = frozenset(),
    rate_limited: frozenset[int] = frozenset(),
) -> SendResult:
    """The verdict of a chat robot's HTTP 200 answer, read from its error code.

    ``retryable`` codes (busy, rate limits) are tried again; every other non-zero code is a
    refusal that dead-letters with the reason. A rate limit waits a minute (the robots count
    per minute).
    """
    if body is None:
        return SendResult.failure(f"unreadable answer: {text[:200]}", True, text)
    code = next((body[key] for key in code_keys if key in body), 0)
    if code == 0:
        return SendResult.success(text)
    retry_after = 60.0 if code in rate_limited else None
    message = f"{code_keys[0]} {code}: {str(body.get(message_key, ''))[:200]}"
    return SendResult.failure(message, code in retryable, text, retry_after)


class HttpChannel:
    """What every HTTP channel shares: one POST per batch, the HTTP status judged first, then
    the platform's own verdict from the body (the robots refuse with HTTP 200 + a code).

    Subclasses say what to send (``request``) and how to read a 2xx answer (``verdict``).
    """

    def __init__(self, settings: Any, templates_dir: str | None = None) -> None:
        self.settings = settings
        self.name: str = settings.name
        self.max_batch: int = settings.max_alerts_per_message
        self.templates_dir = templates_dir
        url = settings.url
        self.url: str = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
        secret = getattr(settings, "secret", None)
        self.secret: str | None = secret.get_secret_value() if secret else None
        self.mask = Masker.for_url(self.url, self.secret)

    def message(self, batch: list[Outgoing]) -> Any:
        """The platform's message body for ``batch``."""
        raise NotImplementedError

    def request(self, batch: list[Outgoing]) -> tuple[str, Any, dict[str, str]]:
        """(URL, JSON body or raw bytes, extra headers) of the one request for ``batch``."""
        return self.url, self.message(batch), {}

    def verdict(self, response: requests.Response) -> SendResult:
        """The verdict of a 2xx answer (default: any 2xx is a success)."""
        return SendResult.success(self.mask(response.text[:500]), response.status_code)

    def send(self, batch: list[Outgoing]) -> SendResult:
        url, body, headers = self.request(batch)
        try:
            response = post_json(url, body, self.settings.timeout.total_seconds(), headers)
        except requests.RequestException as exc:
            return request_failure(exc, self.mask)
        return classify_http(response, self.mask) or self.verdict(response)


class RobotChannel(HttpChannel):
    """A chat robot that answers HTTP 200 with ``{errcode, errmsg}``-style bodies; subclasses
    name their fields and which codes are worth retrying (rate limits, busy)."""

    code_keys: tuple[str, ...] = ("errcode",)
    message_key: str = "errmsg"
    retryable_codes: frozenset[int] = frozenset()
    rate_limit_codes: frozenset[int] = frozenset()

    def verdict(self, response: requests.Response) -> SendResult:
        return classify_code(
            json_body(response),
            self.mask(response.text[:1000]),
            code_keys=self.code_keys,
            message_key=self.message_key,
            retryable=self.retryable_codes,
            rate_limited=self.rate_limit_codes,
        )


def truncate_utf8(text: str, limit: int, marker: str = "\n\n…（内容过长，已截断）") -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes, on a character boundary, with a marker."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    room = max(0, limit - len(marker.encode()))
    return raw[:room].decode(errors="ignore") + marker


def first_line(texts: Iterable[str]) -> str:
    for text in texts:
        if text.strip():
            return text.strip().splitlines()[0]
    return ""
