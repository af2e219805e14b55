"""The data layer: SQLAlchemy models, engines and sessions, Alembic migrations, queries."""

from yuqing.store.db import engine_for, session_factory, session_scope, upgrade
from yuqing.store.models import (
    Alert,
    Base,
    CrawlRun,
    Delivery,
    Notification,
    Post,
    ReviewEvent,
    Silence,
    SourceState,
    Story,
    utcnow,
)

__all__ = [
    "Alert",
    "Base",
    "CrawlRun",
    "Delivery",
    "Notification",
    "Post",
    "ReviewEvent",
    "Silence",
    "SourceState",
    "Story",
    "engine_for",
    "session_factory",
    "session_scope",
    "upgrade",
    "utcnow",
]
