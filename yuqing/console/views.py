"""The console's pages. ``/posts/<id>`` is the address alert messages link to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import text
from werkzeug.wrappers import Response

from yuqing.console import display
from yuqing.console.queries import ConsoleFilter, list_page, sources
from yuqing.console.security import csrf_token, safe_next
from yuqing.console.users import authenticate
from yuqing.review import (
    ReviewError,
    count_by_status,
    get_post,
    handling_report,
    history,
    mark,
)
from yuqing.store.db import engine_for, session_scope
from yuqing.store.models import REVIEW_STATUSES, SEVERITIES, utcnow

bp = Blueprint("console", __name__)
TARGET_RATIO = 0.9
MARK_CHOICES = ("handled", "false_positive", "escalated", "new")
MAX_NOTE = 2000


def _settings() -> Any:
    return current_app.config["YUQING_SETTINGS"]


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """For load balancers and monitors: no login, no post data, 503 when the DB is unreachable."""
    try:
        with engine_for(g.database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any driver error means "not healthy"
        return jsonify(status="error", database=type(error).__name__), 503
    return jsonify(status="ok", database="ok"), 200


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        csrf_token()
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    next_url = request.form.get("next", "")
    throttle = current_app.extensions["yuqing_throttle"]
    keys = (f"ip:{request.remote_addr}", f"user:{username.lower()}")
    wait = throttle.retry_after(*keys)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        return render_template(
            "login.html",
            next=next_url,
            username=username,
            error=f"失败次数过多，请 {minutes} 分钟后再试。",
        ), 429
    with session_scope(g.database_url) as db:
        user = authenticate(db, username, password) if username and password else None
    if user is None:
        throttle.failed(*keys)
        return render_template(
            "login.html", next=next_url, username=username, error="用户名或密码错误。"
        ), 401
    throttle.succeeded(*keys)
    session.clear()  # a fresh session (and CSRF token) at login: no fixation
    session.permanent = True
    session["user"] = user
    csrf_token()
    return redirect(safe_next(next_url))


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("console.login"))


def _day(name: str, errors: list[str], end_of_day: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` query argument read as a Beijing day, as naive UTC."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=display.LOCAL)
    except ValueError:
        errors.append(f"日期格式应为 2026-11-28：{value}")
        return None
    if end_of_day:
        day += timedelta(days=1)
    return day.astimezone(UTC).replace(tzinfo=None)


def _choice(name: str, allowed: tuple[str, ...], errors: list[str]) -> str | None:
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        errors.append(f"未知的筛选值 {name}={value}")
        return None
    return value or None


@bp.get("/")
def index() -> Response:
    return redirect(url_for("console.posts"))


@bp.get("/posts")
def posts() -> str:
    """Flagged (negative) posts, newest first, filtered and paginated."""
    errors: list[str] = []
    label = request.args.get("label", "negative")
    flt = ConsoleFilter(
        status=_choice("status", REVIEW_STATUSES, errors),
        source=request.args.get("source", "").strip() or None,
        since=_day("since", errors),
        until=_day("until", errors, end_of_day=True),
        severity=_choice("severity", SEVERITIES, errors),
        category=request.args.get("category", "").strip() or None,
        label=None
        if label == "all"
        else (_choice("label", ("negative", "neutral", "positive"), errors) or "negative"),
        page=max(1, request.args.get("page", 1, type=int) or 1),
    )
    with session_scope(g.database_url) as db:
        page = list_page(db, flt)
        return render_template(
            "posts.html",
            page=page,
            errors=errors,
            args=request.args,
            sources=sources(db),
            categories=_category_names(),
            severities=SEVERITIES,
            statuses=REVIEW_STATUSES,
        )


@bp.get("/posts/<int:post_id>")
def post(post_id: int) -> str:
    """One post in full: text (escaped), why it was flagged, the review buttons and history."""
    with session_scope(g.database_url) as db:
        try:
            item = get_post(db, post_id)
        except ReviewError:
            abort(404, description=f"没有编号为 {post_id} 的帖子。")
        return render_template(
            "post.html",
            post=item,
            events=history(db, post_id),
            categories=_category_names(),
            choices=MARK_CHOICES,
        )


@bp.post("/posts/<int:post_id>/mark")
def mark_post(post_id: int) -> Response:
    """Change the review status as the logged-in user; the audit row is ``yuqing.review``'s."""
    status = request.form.get("status", "")
    note = request.form.get("note", "").strip()
    if len(note) > MAX_NOTE:
        flash(f"备注过长（最多 {MAX_NOTE} 字），未保存。", "error")
        return redirect(url_for("console.post", post_id=post_id))
    with session_scope(g.database_url) as db:
        try:
            get_post(db, post_id)
        except ReviewError:
            abort(404, description=f"没有编号为 {post_id} 的帖子。")
        try:
            event = mark(db, post_id, status, g.user, note)
        except ReviewError as error:
            flash(f"未能标记：{error}", "error")
        else:
            flash(f"已将 #{post_id} 标记为「{display.STATUS_NAMES[event.to_status]}」。")
    return redirect(url_for("console.post", post_id=post_id))


@bp.get("/report")
def report() -> str:
    """Share of flagged posts first handled within the target (24 h) against the 90 % goal."""
    days = min(max(request.args.get("days", 30, type=int) or 30, 1), 3650)
    hours = min(max(request.args.get("target_hours", 24, type=int) or 24, 1), 24 * 30)
    with session_scope(g.database_url) as db:
        rep = handling_report(
            db, since=utcnow() - timedelta(days=days), target=timedelta(hours=hours)
        )
        statuses = count_by_status(db)
    return render_template(
        "report.html", rep=rep, days=days, hours=hours, statuses=statuses, target_ratio=TARGET_RATIO
    )


def _category_names() -> dict[str, str]:
    """Category id → Chinese name from the configured taxonomy; ids alone if it cannot load."""
    cached = current_app.extensions.get("yuqing_categories")
    if cached is not None:
        return cached
    names: dict[str, str] = {}
    try:
        taxonomy = _settings().sentiment.taxonomy()
        names = {cid: cat.name for cid, cat in taxonomy.categories.items()}
    except Exception:  # noqa: BLE001 - names are a nicety; the ids still show
        current_app.logger.warning("taxonomy not loaded; showing category ids", exc_info=True)
    current_app.extensions["yuqing_categories"] = names
    return names


ALERT_STATE_NAMES = {"firing": "告警中", "resolved": "已恢复"}
NOTIFICATION_KIND_NAMES = {"new": "新告警", "grown": "升级", "repeat": "持续", "resolved": "恢复"}


@bp.get("/alerts")
def alerts() -> str:
    """Recent alerts, firing first: where a PR or compliance person lands from a chat message."""
    from sqlalchemy import case, select

    from yuqing.store.models import Alert

    with session_scope(g.database_url) as db:
        firing_first = case((Alert.state == "firing", 0), else_=1)
        rows = db.scalars(select(Alert).order_by(firing_first, Alert.started_at.desc()).limit(100))
        return render_template("alerts.html", alerts=list(rows), states=ALERT_STATE_NAMES)


@bp.get("/alerts/<int:alert_id>")
def alert(alert_id: int) -> str:
    """One alert: its counts against the baseline, the messages sent, and its posts to review."""
    from sqlalchemy import select

    from yuqing.store.models import Alert, Delivery, Notification, Post

    with session_scope(g.database_url) as db:
        item = db.get(Alert, alert_id)
        if item is None:
            abort(404, description=f"没有编号为 {alert_id} 的告警。")
        ids = [int(i) for i in (item.post_ids or []) if str(i).isdigit()][:200]
        posts = (
            list(
                db.scalars(select(Post).where(Post.id.in_(ids)).order_by(Post.published_at.desc()))
            )
            if ids
            else []
        )
        notes = list(
            db.scalars(
                select(Notification)
                .where(Notification.alert_id == alert_id)
                .order_by(Notification.id)
            )
        )
        deliveries = (
            list(
                db.scalars(
                    select(Delivery)
                    .where(Delivery.notification_id.in_([n.id for n in notes]))
                    .order_by(Delivery.id)
                )
            )
            if notes
            else []
        )
        return render_template(
            "alert.html",
            alert=item,
            posts=posts,
            notifications=notes,
            deliveries=deliveries,
            states=ALERT_STATE_NAMES,
            kinds=NOTIFICATION_KIND_NAMES,
            categories=_category_names(),
        )
