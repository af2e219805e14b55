"""Config loading: every bad input is one line naming the field; commands exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from yuqing.settings import ConfigError, load_settings, parse_duration

GOOD = """
institution:
  name: 北京中鼎经纬实业发展有限公司
  aliases: [中鼎经纬, 中鼎]
database:
  url: sqlite:///x.db
sources:
  - name: news
    kind: rss
    url: http://127.0.0.1:9/rss.xml
alerts:
  channels:
    - {name: pr, type: webhook, url: "http://127.0.0.1:9/hook", secret: "${HOOK_SECRET:-dev}"}
  rules:
    - {name: spike, type: spike, channels: [pr]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=env or {})
    return caught.value.problems


def test_good_config_loads_with_env_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), environ={})
    assert settings.alerts.channels[0].secret.get_secret_value() == "dev"
    assert settings.source("news").kind == "rss"
    assert "dev" not in repr(settings.alerts.channels[0])


def test_env_variable_wins_over_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), environ={"HOOK_SECRET": "s3cret"})
    assert settings.alerts.channels[0].secret.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("kind: rss", "kind: ftp"), "sources[0].kind: unknown kind 'ftp'"),
        (("url: http://127.0.0.1:9/rss.xml", "url: not a url"), "sources[0].url:"),
        (
            ("channels: [pr]", "channels: [ding]"),
            "alerts.rules[0].channels[0]: unknown channel 'ding'",
        ),
        (("name: news", "name: News Feed!"), "sources[0].name:"),
        (("  name: 北京中鼎经纬实业发展有限公司\n", ""), "institution.name: required"),
        (("type: spike", "type: wave"), "alerts.rules[0].type: unknown type 'wave'"),
        (("url: sqlite:///x.db", "url: mysql://x"), "database.url:"),
        (("kind: rss\n", "kind: rss\n    shedule: 10m\n"), "sources[0].shedule: unknown field"),
        (
            ("${HOOK_SECRET:-dev}", "${HOOK_SECRET}"),
            "alerts.channels[0].secret: environment variable HOOK_SECRET is not set",
        ),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    problems = problems_of(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_missing_selector_names_the_path(tmp_path: Path) -> None:
    text = GOOD.replace(
        "sources:\n",
        "sources:\n  - {name: forum, kind: html, url: 'http://127.0.0.1:9/',"
        " list: {link: {css: a}}, detail: {title: {css: h1}, content: {css: p}}}\n",
    )
    assert "sources[0].list.item: required" in problems_of(tmp_path, text)


def test_bad_yaml_gives_line_and_column(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "institution: [\n")
    assert problems[0].startswith("invalid YAML: line 2")


def test_duplicate_source_names(tmp_path: Path) -> None:
    text = GOOD.replace(
        "sources:\n", "sources:\n  - {name: news, kind: rss, url: 'http://a.cn/'}\n"
    )
    assert "sources[1].name: duplicate source name 'news'" in problems_of(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("1.5h", 5400), ("7d", 604800), (45, 45), ("1h30m", 5400)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["soon", "-5", "10 parsecs", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "command",
    [["check-config"], ["status", "--config"], ["run", "--config"], ["review", "list", "--config"]],
)
def test_every_command_reports_config_errors_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    bad = write(tmp_path, GOOD.replace("kind: rss", "kind: ftp"))
    result = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", *command, str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"config error: {bad}: sources[0].kind: unknown kind 'ftp' (expected one of: "
        + result.stderr.split("expected one of: ", 1)[1].strip()
    ]


def test_check_config_ok(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD)
    result = subprocess.run(
        [sys.executable, "-m", "yuqing.cli", "check-config", str(good)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


EXAMPLE_ENV = {
    name: "x" * 20
    for name in (
        "DINGTALK_TOKEN",
        "DINGTALK_SECRET",
        "WECOM_KEY",
        "FEISHU_HOOK",
        "FEISHU_SECRET",
        "YUQING_WEBHOOK_SECRET",
        "SMTP_PASSWORD",
    )
} | {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "example.yaml"
    settings = load_settings(example, environ=EXAMPLE_ENV)
    assert {s.kind for s in settings.sources} == {"rss", "html", "json", "search"}
    assert {c.type for c in settings.alerts.channels} == {
        "dingtalk",
        "wecom",
        "feishu",
        "slack",
        "webhook",
        "email",
    }


def test_the_example_config_names_missing_secrets() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "example.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(example, environ={})
    assert (
        "alerts.channels[0].url: environment variable DINGTALK_TOKEN is not set"
        in caught.value.problems
    )


def test_the_demo_config_is_valid() -> None:
    from yuqing.settings import DEMO_CONFIG

    settings = load_settings(DEMO_CONFIG, environ={})
    assert [s.name for s in settings.sources] == ["demo_forum", "demo_news"]
