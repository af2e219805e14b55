"""Config sections owned by the core: the institution, the database, the scheduler."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from yuqing.settings._base import Duration, StrictModel


class InstitutionSettings(StrictModel):
    """Who we monitor. Short aliases (``中鼎``) are ambiguous, so they only count as a mention
    when one of ``context_words`` appears within ``context_window`` characters of them."""

    name: str = Field(min_length=2)
    aliases: list[str] = []
    short_alias_max_len: int = Field(default=2, ge=1, le=10)
    context_words: list[str] = []
    context_window: int = Field(default=30, ge=1, le=500)
    exclude: list[str] = []
    """Names of other entities that contain our terms (``中鼎国际``): a match inside them is ignored."""

    @property
    def all_names(self) -> list[str]:
        """The full name first, then the aliases, without duplicates."""
        seen: dict[str, None] = {self.name: None}
        for alias in self.aliases:
            seen.setdefault(alias, None)
        return list(seen)


class DatabaseSettings(StrictModel):
    url: str = "sqlite:///yuqing.db"
    """SQLAlchemy URL. SQLite paths are relative to the working directory;
    PostgreSQL: ``postgresql+psycopg://user@host/db``."""
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value


class SchedulerSettings(StrictModel):
    """How often the daemon runs each step. Sources may set their own crawl schedule."""

    crawl_every: Duration = timedelta(minutes=15)
    analyze_every: Duration = timedelta(minutes=1)
    alert_every: Duration = timedelta(minutes=1)
    deliver_every: Duration = timedelta(seconds=30)
    crawl_timeout: Duration = timedelta(minutes=10)
    """A crawl still running after this is killed and recorded as failed."""
    max_parallel_crawls: int = Field(default=2, ge=1, le=64)
    lock_file: str | None = None
    """SQLite only: the file lock ``yuqing run`` and ``yuqing daemon`` hold so that two never
    overlap (default: beside the database file). PostgreSQL uses an advisory lock instead."""


class ConsoleSettings(StrictModel):
    """The review web console (see docs); users come from the environment, never the YAML."""

    host: str = "127.0.0.1"
    port: int = Field(default=8780, ge=1, le=65535)
    base_url: str = "http://127.0.0.1:8780"
    """Used for the review links inside alert messages."""
