"""``yuqing run`` never overlaps another run or the daemon: the second exits at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from yuqing.locking import AlreadyRunning, cycle_lock

pytestmark = pytest.mark.postgres


def test_second_holder_is_refused(make_settings) -> None:
    settings = make_settings()
    with cycle_lock(settings), pytest.raises(AlreadyRunning), cycle_lock(settings):
        pass
    with cycle_lock(settings):  # released: can be taken again
        pass


def test_second_run_exits_at_once_with_a_message(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    config = tmp_path / "c.yaml"
    config.write_text(
        f"institution: {{name: 中鼎经纬}}\ndatabase: {{url: '{settings.database.url}'}}\n",
        encoding="utf-8",
    )
    with cycle_lock(settings):
        result = subprocess.run(
            [sys.executable, "-m", "yuqing.cli", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3
    assert "already running" in result.stderr
    assert "Traceback" not in result.stderr
