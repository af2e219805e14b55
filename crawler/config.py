"""Where a crawl gets the yuqing config: the ``YUQING_CONFIG`` Scrapy setting, else the
environment / default path rule of ``yuqing.settings.default_config_path``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from yuqing.settings import Settings, load_settings


@lru_cache(maxsize=4)
def _load(path: str | None) -> Settings:
    return load_settings(path)


def settings_for(scrapy_settings: Any) -> Settings:
    """The validated config for this Scrapy process (loaded once). Raises ``ConfigError``."""
    path = scrapy_settings.get("YUQING_CONFIG") if scrapy_settings is not None else None
    return _load(path or None)
