"""A realistic sample notification: for ``yuqing alerts test-channel`` and template previews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def sample_payload(
    institution: str = "北京中鼎经纬实业发展有限公司",
    base_url: str = "http://127.0.0.1:8780",
    posts: int = 3,
    kind: str = "new",
    now: datetime | None = None,
    title: str = "【测试】中鼎经纬 暴力催收，爆通讯录",
) -> dict[str, Any]:
    """A payload shaped like ``alerts.engine.build_payload`` output, marked as a test."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    started = now - timedelta(minutes=20)
    items = []
    for i in range(posts):
        published = now - timedelta(minutes=5 * (i + 1))
        items.append(
            {
                "id": 900000 + i,
                "title": f"{title} #{i + 1}",
                "source": "demo-forum",
                "url": f"{base_url}/posts/{900000 + i}",
                "published_at": published.isoformat(),
                "score": 0.05 + 0.01 * i,
                "label": "negative",
                "categories": ["collection"],
                "severity": "orange",
                "reposts": 1,
                "review_url": f"{base_url}/posts/{900000 + i}",
            }
        )
    return {
        "alert_id": 0,
        "rule": "test-channel",
        "rule_type": "spike",
        "key": "",
        "labels": {},
        "kind": kind,
        "status": "resolved" if kind == "resolved" else "firing",
        "severity": "orange",
        "institution": institution,
        "started_at": started.isoformat(),
        "ends_at": now.isoformat() if kind == "resolved" else None,
        "evaluated_at": now.isoformat(),
        "current": 12,
        "baseline": 1.5,
        "ratio": 8.0,
        "threshold": None,
        "window_seconds": 3600,
        "reason": "测试消息 / test message: 12 vs baseline 1.50",
        "filter": {"label": "negative"},
        "posts": items,
        "review_url": f"{base_url}/alerts",
        "console_url": base_url,
    }
