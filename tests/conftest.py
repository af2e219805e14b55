"""Shared fixtures: a fresh, migrated database (SQLite file, or PostgreSQL when
``YUQING_TEST_DATABASE_URL`` is set) and settings built from a dict."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from yuqing.settings import Settings, settings_from_mapping
from yuqing.store.db import engine_for, normalise_url, upgrade

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
INSTITUTION = {
    "name": "北京中鼎经纬实业发展有限公司",
    "aliases": ["中鼎经纬", "中鼎"],
    "context_words": ["贷款", "借款", "催收", "还款", "利息", "逾期", "APP", "客服"],
    "exclude": ["中鼎国际", "中鼎物流", "中鼎经纬科技"],
}


def _reset_postgres(url: str) -> None:
    engine = engine_for(url)
    engine.dispose()  # connections from the previous test must not hold locks
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A private PostgreSQL database for this test process, created from
    ``YUQING_TEST_DATABASE_URL`` (so parallel runs never share tables) and dropped at the end."""
    base = os.environ.get("YUQING_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    base = normalise_url(base)
    name = f"yuqing_test_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    engine_for(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(tmp_path: Path, postgres_url: str | None) -> Iterator[str]:
    """A migrated, empty database. PostgreSQL if ``YUQING_TEST_DATABASE_URL`` is set."""
    url = postgres_url
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(url)
    yield url
    engine_for(url).dispose()


@pytest.fixture
def make_settings(db_url: str):
    """Build validated ``Settings`` from a partial dict (institution and database filled in)."""

    def build(**sections: Any) -> Settings:
        raw: dict[str, Any] = {"institution": INSTITUTION, "database": {"url": db_url}}
        raw.update(sections)
        return settings_from_mapping(raw)

    return build


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data/sentiment``; the test is skipped when it is absent (a fresh clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data/sentiment is not present")
    return SHARED_DATA
