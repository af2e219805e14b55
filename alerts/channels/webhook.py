"""Generic JSON webhook: an Alertmanager-like payload, signed with HMAC-SHA256.

Headers: ``X-Yuqing-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``,
``X-Yuqing-Timestamp`` (unix seconds, also inside the signed body as ``sentAt`` so a receiver
can refuse replays), ``Idempotency-Key`` (the same on every retry of one delivery, so a receiver
can drop the one repeat a crash between sending and recording may cause). Payload: see
``alerts/README.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from alerts.channels.base import HttpChannel, Outgoing
from alerts.render import plain_title

PAYLOAD_VERSION = "1"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Yuqing-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a ``X-Yuqing-Signature`` header (for receivers)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def build_body(
    receiver: str,
    item: Outgoing,
    now: float,
    language: str = "zh",
    templates_dir: str | None = None,
) -> dict[str, Any]:
    n = item.payload
    labels = {"alertname": n["rule"], **{k: str(v) for k, v in (n.get("labels") or {}).items()}}
    if n.get("severity"):
        labels["severity"] = n["severity"]
    return {
        "version": PAYLOAD_VERSION,
        "receiver": receiver,
        "status": n["status"],
        "kind": n["kind"],
        "groupKey": f"{n['rule']}:{n['key']}",
        "idempotencyKey": item.idempotency_key,
        "sentAt": int(now),
        "externalURL": n.get("console_url"),
        "institution": n.get("institution"),
        "commonLabels": labels,
        "alerts": [
            {
                "status": n["status"],
                "labels": labels,
                "annotations": {
                    "summary": plain_title(n, language, templates_dir),
                    "description": n.get("reason", ""),
                    "review_url": n.get("review_url"),
                },
                "startsAt": n.get("started_at"),
                "endsAt": n.get("ends_at"),
                "fingerprint": f"{n['alert_id']}",
            }
        ],
        "counts": {
            "current": n.get("current"),
            "baseline": n.get("baseline"),
            "ratio": n.get("ratio"),
            "threshold": n.get("threshold"),
            "window_seconds": n.get("window_seconds"),
        },
        "posts": n.get("posts", []),
    }


class WebhookChannel(HttpChannel):
    """One notification per request, so a receiver's idempotency key names exactly one."""

    def __init__(self, settings: Any, templates_dir: str | None = None) -> None:
        super().__init__(settings, templates_dir)
        self.max_batch = 1

    def request(self, batch: list[Outgoing]) -> tuple[str, Any, dict[str, str]]:
        assert len(batch) == 1, "the webhook sends one notification per request"
        item = batch[0]
        now = time.time()
        body = json.dumps(
            build_body(self.name, item, now, self.settings.language, self.templates_dir),
            ensure_ascii=False,
        ).encode()
        headers = {
            **self.settings.headers,
            "Idempotency-Key": item.idempotency_key,
            "X-Yuqing-Timestamp": str(int(now)),
        }
        if self.secret:
            headers["X-Yuqing-Signature"] = sign(self.secret, body)
        return self.url, body, headers
