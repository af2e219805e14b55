"""Typed, validated configuration: read the YAML once, expand ``${ENV}``, validate, pass down.

Nobody below the composition layer re-reads YAML or ``os.environ``: they get a ``Settings``.
Every problem is reported as one line ``field.path: message`` (``sources[2].list.item:
required``), so ``check-config`` and every other command can print it and exit 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from yuqing.settings._base import Duration, StrictModel, parse_duration
from yuqing.settings.alerting import CHANNEL_TYPES, RULE_TYPES, AlertSettings
from yuqing.settings.analysis import SentimentSettings
from yuqing.settings.core import (
    ConsoleSettings,
    DatabaseSettings,
    InstitutionSettings,
    SchedulerSettings,
)
from yuqing.settings.sources import SOURCE_KINDS, SourceSettings, check_unique_names

__all__ = [
    "ConfigError",
    "Duration",
    "Settings",
    "default_config_path",
    "load_settings",
    "parse_duration",
    "settings_from_mapping",
]

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DISCRIMINATOR_TAGS = {*SOURCE_KINDS, *RULE_TYPES, *CHANNEL_TYPES}
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "demo" / "demo.yaml"


class Settings(StrictModel):
    """The whole config, validated."""

    institution: InstitutionSettings
    database: DatabaseSettings = DatabaseSettings()
    sources: list[SourceSettings] = []
    sentiment: SentimentSettings = SentimentSettings()
    alerts: AlertSettings = AlertSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    console: ConsoleSettings = ConsoleSettings()
    config_path: str | None = Field(default=None, exclude=True)
    """Where this was loaded from (child crawl processes re-load the same file)."""

    def source(self, name: str) -> Any:
        """The source called ``name``; ``KeyError`` listing the known ones otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"unknown source {name!r} (known: {known})")


class ConfigError(Exception):
    """The config is unusable. ``problems`` holds one ``path: message`` line each."""

    def __init__(self, problems: list[str], path: str | None = None) -> None:
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(problems))


def default_config_path() -> Path:
    """``$YUQING_CONFIG``, else ``./config/yuqing.yaml`` if present, else the built-in demo."""
    env = os.environ.get("YUQING_CONFIG")
    if env:
        return Path(env)
    local = Path("config/yuqing.yaml")
    if local.exists():
        return local
    return DEMO_CONFIG


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read, expand and validate a config file. Raises ``ConfigError``."""
    config_path = Path(path) if path is not None else default_config_path()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"config file not found: {config_path}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read config file {config_path}: {exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"invalid YAML: {where}{problem}"], str(config_path)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(["the config must be a mapping of sections"], str(config_path))
    raw["config_path"] = str(config_path.resolve())
    return settings_from_mapping(raw, environ, source=str(config_path))


def settings_from_mapping(
    raw: dict[str, Any], environ: Mapping[str, str] | None = None, source: str | None = None
) -> Settings:
    """Validate an already-parsed config (tests build configs in code this way)."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    expanded = _expand_env(raw, env, "", problems)
    if problems:
        raise ConfigError(problems, source)
    try:
        settings = Settings.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc), source) from None
    problems = [f"{p}: {m}" for p, m in _cross_checks(settings)]
    if problems:
        raise ConfigError(problems, source)
    return settings


def _expand_env(node: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _expand_env(v, env, _join(path, str(k)), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, env, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path}: environment variable {name} is not set")
            return ""

        return _ENV_RE.sub(substitute, node)
    return node


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in _DISCRIMINATOR_TAGS:
            pass  # pydantic puts the union tag in the path; users never wrote it
        elif isinstance(part, str) and part.startswith(("function-", "tagged-union")):
            pass
        else:
            out = _join(out, str(part))
        previous = part
    return out or "(top level)"


def _format_errors(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = _format_loc(tuple(error["loc"]))
        kind = error["type"]
        if kind == "missing":
            message = "required"
        elif kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "union_tag_invalid":
            ctx = error.get("ctx", {})
            field = ctx.get("discriminator", "kind").strip("'")
            loc = _join(loc, field)
            message = (
                f"unknown {field} {ctx.get('tag')!r} (expected one of: {ctx.get('expected_tags')})"
            )
        elif kind == "union_tag_not_found":
            field = error.get("ctx", {}).get("discriminator", "kind").strip("'")
            loc = _join(loc, field)
            message = "required"
        else:
            message = error["msg"].removeprefix("Value error, ")
        line = f"{loc}: {message}"
        if line not in lines:
            lines.append(line)
    return lines


def _cross_checks(settings: Settings) -> list[tuple[str, str]]:
    problems = check_unique_names(settings.sources)
    channel_names = [c.name for c in settings.alerts.channels]
    for index, channel in enumerate(settings.alerts.channels):
        if channel_names.count(channel.name) > 1 and channel_names.index(channel.name) != index:
            problems.append(
                (f"alerts.channels[{index}].name", f"duplicate channel {channel.name!r}")
            )
    rule_names: set[str] = set()
    for index, rule in enumerate(settings.alerts.rules):
        if rule.name in rule_names:
            problems.append((f"alerts.rules[{index}].name", f"duplicate rule {rule.name!r}"))
        rule_names.add(rule.name)
        for position, channel in enumerate(rule.channels):
            if channel not in channel_names:
                known = ", ".join(channel_names) or "none defined"
                problems.append(
                    (
                        f"alerts.rules[{index}].channels[{position}]",
                        f"unknown channel {channel!r} (known: {known})",
                    )
                )
        source_names = {s.name for s in settings.sources}
        for position, source in enumerate(rule.filter.sources):
            if source not in source_names:
                problems.append(
                    (
                        f"alerts.rules[{index}].filter.sources[{position}]",
                        f"unknown source {source!r}",
                    )
                )
    return problems
