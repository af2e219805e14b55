"""``yuqing alerts …`` through click, with a real config file and database."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from alert_helpers import NOW, burst, steady_stream
from chat_emulators import DingTalkEmulator
from click.testing import CliRunner
from conftest import INSTITUTION
from sqlalchemy import select

from alerts.engine import evaluate
from yuqing.cli_alerts import alerts
from yuqing.settings import load_settings
from yuqing.store.db import session_scope
from yuqing.store.models import Delivery

pytestmark = pytest.mark.postgres
TOKEN = "dt-token-0123456789"


@pytest.fixture
def dingtalk():  # noqa: ANN201
    emulator = DingTalkEmulator(token=TOKEN, secret="SECgood").start()
    yield emulator
    emulator.stop()


def write_config(tmp_path: Path, db_url: str, dingtalk_url: str, secret: str = "SECgood") -> str:
    config = {
        "institution": INSTITUTION,
        "database": {"url": db_url},
        "alerts": {
            "rules": [
                {
                    "name": "neg-spike",
                    "type": "spike",
                    "window": "1h",
                    "baseline_windows": 6,
                    "channels": ["dt"],
                },
                {
                    "name": "neg-threshold",
                    "type": "threshold",
                    "window": "1h",
                    "count": 8,
                    "channels": ["dt"],
                },
            ],
            "channels": [{"name": "dt", "type": "dingtalk", "url": dingtalk_url, "secret": secret}],
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path)


def run(*args: str) -> object:
    return CliRunner().invoke(alerts, list(args), catch_exceptions=False)


def test_test_channel_accepted_and_refused(
    tmp_path: Path, db_url: str, dingtalk: DingTalkEmulator
) -> None:
    good = write_config(tmp_path, db_url, dingtalk.url)
    result = run("test-channel", "dt", "--config", good)
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output and '"errcode":0' in result.output.replace(" ", "")
    assert len(dingtalk.messages) == 1

    bad = write_config(tmp_path, db_url, dingtalk.url, secret="SECwrong")
    result = run("test-channel", "dt", "--config", bad)
    assert result.exit_code == 1
    assert "REFUSED" in result.output and "310000" in result.output
    assert TOKEN not in result.output and "SECwrong" not in result.output

    result = run("test-channel", "nope", "--config", good)
    assert result.exit_code == 1 and "unknown channel 'nope'" in result.output


def test_list_show_dead_letters_and_retry(
    tmp_path: Path, db_url: str, dingtalk: DingTalkEmulator
) -> None:
    path = write_config(tmp_path, db_url, dingtalk.url)
    settings = load_settings(path)
    steady_stream(db_url, NOW, 8, 1)
    burst(db_url, NOW, 10)
    evaluate(settings, NOW)
    listed = run("list", "--config", path)
    assert "neg-spike" in listed.output and "firing" in listed.output
    as_json = [
        json.loads(line) for line in run("list", "--json", "--config", path).output.splitlines()
    ]
    assert {a["rule"] for a in as_json} == {"neg-spike", "neg-threshold"}
    shown = run("show", str(as_json[0]["id"]), "--config", path)
    assert "message #" in shown.output and "dt: pending" in shown.output
    assert run("show", "999", "--config", path).exit_code == 1

    with session_scope(db_url) as session:
        delivery = session.scalars(select(Delivery)).first()
        delivery.status, delivery.attempts = "dead", 10
        delivery.last_error = f"errcode 310000 at {dingtalk.url}"
        dead_id = delivery.id
    dead = run("dead-letters", "--config", path)
    assert f"#{dead_id}" in dead.output and "310000" in dead.output
    assert TOKEN not in dead.output
    assert run("retry", str(dead_id), "--config", path).exit_code == 0
    assert run("retry", str(dead_id), "--config", path).exit_code == 1  # no longer dead
    with session_scope(db_url) as session:
        assert session.get(Delivery, dead_id).status == "pending"


def test_silence_add_list_expire(tmp_path: Path, db_url: str, dingtalk: DingTalkEmulator) -> None:
    path = write_config(tmp_path, db_url, dingtalk.url)
    added = run(
        "silence",
        "add",
        "--rule",
        "neg-*",
        "--for",
        "2h",
        "--by",
        "李四",
        "--reason",
        "已知系统故障",
        "--config",
        path,
    )
    assert added.exit_code == 0 and "silence #1" in added.output
    assert "neg-*" in run("silence", "list", "--config", path).output
    assert run("silence", "expire", "1", "--config", path).exit_code == 0
    assert "no silences" in run("silence", "list", "--config", path).output
    assert "expired" in run("silence", "list", "--all", "--config", path).output
    missing = run("silence", "add", "--for", "2h", "--by", "x", "--reason", "y", "--config", path)
    assert missing.exit_code == 2


def _csv(path: Path, rows: list[dict]) -> str:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_backtest_csv(tmp_path: Path, db_url: str, dingtalk: DingTalkEmulator) -> None:
    path = write_config(tmp_path, db_url, dingtalk.url)
    rows = []
    start = NOW - timedelta(hours=12)
    for i in range(24):  # one negative post every 30 minutes
        rows.append(
            {
                "published_at": (start + timedelta(minutes=30 * i)).isoformat() + "Z",
                "label": "negative",
                "source": "tieba",
                "category": "fees",
            }
        )
    for i in range(12):  # then 12 within 20 minutes
        rows.append(
            {
                "published_at": (NOW + timedelta(minutes=i * 1.5)).isoformat() + "Z",
                "label": "negative",
                "source": "tieba",
                "category": "fees;collection",
            }
        )
    posts = _csv(tmp_path / "posts.csv", rows)
    result = run(
        "backtest", "--posts", posts, "--rule", "neg-spike", "--every", "10m", "--config", path
    )
    assert result.exit_code == 0, result.output
    lines = [
        line for line in result.output.splitlines() if "neg-spike" in line and "current" in line
    ]
    assert [line.split()[3] for line in lines] == ["new", "resolved"]
    as_json = json.loads(
        run("backtest", "--posts", posts, "--rule", "neg-spike", "--json", "--config", path).output
    )
    assert as_json["summary"]["by_rule"] == {"neg-spike": {"new": 1, "resolved": 1}}
    first = as_json["notifications"][0]
    assert first["at"] >= NOW.isoformat() and first["current"] >= 5
    with session_scope(db_url) as session:  # the backtest never touches the real database
        assert session.scalars(select(Delivery)).all() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when\n2026-01-01\n", "line 1: a published_at column is required"),
        ("published_at\nyesterday\n", "line 2: published_at: not ISO 8601"),
        ("published_at,label\n2026-11-28T10:00:00Z,angry\n", "line 2: label: expected one of"),
    ],
)
def test_backtest_bad_csv_is_one_line(
    tmp_path: Path, db_url: str, content: str, message: str
) -> None:
    path = write_config(tmp_path, db_url, "http://127.0.0.1:9/robot/send?access_token=x")
    posts = tmp_path / "bad.csv"
    posts.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(alerts, ["backtest", "--posts", str(posts), "--config", path])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_backtest_since_database_history(
    tmp_path: Path, db_url: str, dingtalk: DingTalkEmulator
) -> None:
    path = write_config(tmp_path, db_url, dingtalk.url)
    steady_stream(db_url, NOW, 10, 1)
    burst(db_url, NOW, 10)
    since = (NOW - timedelta(hours=10)).isoformat()
    result = run(
        "backtest", "--since", since, "--rule", "neg-threshold", "--json", "--config", path
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["summary"]
    assert summary["by_rule"]["neg-threshold"]["new"] == 1
