"""The Flask app factory. Settings come in typed; the only environment read is the signing
key (see ``yuqing.console.secret``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from yuqing.console import display, security
from yuqing.console.secret import load_secret
from yuqing.console.throttle import LoginThrottle
from yuqing.settings import Settings

HERE = Path(__file__).resolve().parent


def create_app(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    throttle: LoginThrottle | None = None,
) -> Flask:
    """The console for ``settings.database.url``. The session cookie is signed with
    ``$YUQING_CONSOLE_SECRET`` or a generated key kept in a 0600 file beside the database;
    it is HttpOnly, SameSite=Lax, and Secure when ``console.base_url`` is https."""
    key, key_source = load_secret(settings.database.url, settings.config_path, environ)
    app = Flask(
        "yuqing.console",
        template_folder=str(HERE / "templates"),
        static_folder=str(HERE / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=key,
        SESSION_COOKIE_NAME="yuqing_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.console.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=64 * 1024,
        YUQING_SETTINGS=settings,
        YUQING_SECRET_SOURCE=key_source,
    )
    app.extensions["yuqing_throttle"] = throttle or LoginThrottle()
    app.select_jinja_autoescape = lambda _filename: True  # every template, whatever its name
    app.jinja_env.filters.update(
        local_time=display.local_time,
        clean=display.clean,
        highlight=display.highlight,
        percent=display.percent,
    )
    app.jinja_env.globals.update(
        STATUS_NAMES=display.STATUS_NAMES,
        SEVERITY_NAMES=display.SEVERITY_NAMES,
        LABEL_NAMES=display.LABEL_NAMES,
        safe_href=display.safe_href,
    )
    security.install(app, settings.database.url)

    from yuqing.console.views import bp

    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def _error(error: HTTPException):  # noqa: ANN202 - a Flask response tuple
        return render_template("error.html", error=error), error.code or 500

    return app
