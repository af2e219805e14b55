"""A generic JSON-webhook receiver for the demo and the tests (a real HTTP server on 127.0.0.1).

It checks ``X-Yuqing-Signature`` (HMAC-SHA256 of the raw body) when given a secret, records
each accepted payload with its ``Idempotency-Key`` and counts repeats of a key, and can be told
to be *down* (the port refuses connections) or to answer 500 for a while — what the outage
tests and the demo need. ``wait_for(n)`` waits on a condition, never a sleep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    payload: dict[str, Any]
    idempotency_key: str | None
    headers: dict[str, str]
    body: bytes = field(repr=False, default=b"")


class WebhookReceiver:
    """Start with ``start()`` (or as a context manager); ``url`` is where to POST."""

    def __init__(
        self, secret: str | None = None, host: str = "127.0.0.1", port: int = 0, path: str = "/hook"
    ) -> None:
        self.secret = secret
        self.host = host
        self.port = port
        self.path = path
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.duplicates: dict[str, int] = {}
        self.requests = 0
        self._fail_remaining = 0
        self._fail_status = 500
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = receiver._handle(self.path, dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server and close the port: connections are refused (the receiver is down)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def down(self) -> None:
        self.stop()

    def up(self) -> None:
        """Come back on the same port."""
        if self._server is None:
            self.start()

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (and record nothing)."""
        with self._cond:
            self._fail_remaining = count
            self._fail_status = status

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what arrived ------------------------------------------------------------------------
    @property
    def keys(self) -> list[str | None]:
        return [r.idempotency_key for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` payloads were accepted."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.received) >= count, timeout)

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        with self._cond:
            self.requests += 1
            if self._fail_remaining > 0:
                self._fail_remaining -= 1
                return self._fail_status, {"error": "failing on purpose"}
        lowered = {k.lower(): v for k, v in headers.items()}
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, lowered.get("x-yuqing-signature", "")):
                with self._cond:
                    self.rejected.append("bad signature")
                return 401, {"error": "bad signature"}
        try:
            payload = json.loads(body)
        except ValueError:
            with self._cond:
                self.rejected.append("not JSON")
            return 400, {"error": "not JSON"}
        key = lowered.get("idempotency-key")
        with self._cond:
            if key is not None and key in self.keys:
                self.duplicates[key] = self.duplicates.get(key, 0) + 1
                return 200, {"status": "duplicate", "key": key}
            self.received.append(Received(payload, key, headers, body))
            self._cond.notify_all()
        return 200, {"status": "accepted", "key": key}


def main() -> None:  # pragma: no cover - a manual tool
    """``python -m yuqing.demo.receiver [PORT] [SECRET]``: print what arrives."""
    import sys
    import time

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8781
    secret = sys.argv[2] if len(sys.argv) > 2 else None
    receiver = WebhookReceiver(secret=secret, port=port).start()
    print(f"listening on {receiver.url}")
    seen = 0
    try:
        while True:
            if receiver.wait_for(seen + 1, timeout=1.0):
                for item in receiver.received[seen:]:
                    print(json.dumps(item.payload, ensure_ascii=False, indent=2))
                seen = len(receiver.received)
            else:
                time.sleep(0)
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
