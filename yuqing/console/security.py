"""Login gate, CSRF tokens and response headers for every console request.

Every page except ``/login``, ``/healthz`` and the stylesheet needs a logged-in user, checked
against ``console_users`` on each request (a removed user is out at once). Every POST must carry
the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``). The CSP allows
no script at all: the console needs none, so a post's HTML that slipped through escaping still
could not run.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from yuqing.console.users import user_exists
from yuqing.store.db import session_scope

PUBLIC_ENDPOINTS = {"console.login", "console.healthz", "static"}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def csrf_token() -> str:
    """The session's token, created on first use (also before login: the login form needs it)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")


def _require_login() -> Response | None:
    g.user = None
    username = session.get("user")
    if username:
        with session_scope(g.database_url) as db:
            if user_exists(db, username):
                g.user = username
            else:
                session.pop("user", None)
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.method in UNSAFE_METHODS:
            abort(401, description="请先登录。")
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    return None


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask, database_url: str) -> None:
    @app.before_request
    def _gate() -> Response | None:
        g.database_url = database_url
        _check_csrf()
        return _require_login()

    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token


def safe_next(target: str | None) -> str:
    """A post-login redirect only to a path on this site (no ``//evil``, no scheme)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("console.posts")
