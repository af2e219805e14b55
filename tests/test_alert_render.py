"""Message text: hostile titles stay inert, users can override templates, English exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.render import environment, md, plain_title, render, safe_url, slack_escape
from alerts.sample import sample_payload


@pytest.mark.parametrize(
    ("hostile", "must_not_contain"),
    [
        ("[点我](http://evil.example)", "](http"),
        ("<script>alert(1)</script>", "<script"),
        ('<font color="red">红字</font>', "<font"),
        ("**加粗** _斜体_ `code`", "**"),
        ("# 标题\n\n> 引用", "\n"),
        ("![img](http://evil/x.png)", "!["),
        ("a & b", "&"),
    ],
)
def test_md_makes_hostile_text_inert(hostile: str, must_not_contain: str) -> None:
    escaped = md(hostile)
    assert must_not_contain not in escaped
    assert escaped.strip()  # still readable text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tieba.baidu.com/p/1?a=1", "https://tieba.baidu.com/p/1?a=1"),
        ("javascript:alert(1)", ""),
        ("http://x.example/a) [b](c", "http://x.example/a%29%20[b]%28c"),
        ("  ", ""),
    ],
)
def test_safe_url(url: str, expected: str) -> None:
    assert safe_url(url) == expected


def test_slack_escapes_control_characters() -> None:
    assert slack_escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x｜y&gt;"


def test_chinese_and_english_messages() -> None:
    payload = sample_payload()
    zh = render("markdown.md.j2", [payload], "zh")
    en = render("markdown.md.j2", [payload], "en")
    assert "新告警" in zh and "基线" in zh and "去处理" in zh
    assert "baseline" in en and "Review" in en and "新告警" not in en
    assert plain_title(payload, "zh").startswith("【舆情告警】")
    assert plain_title(dict(payload, kind="resolved", status="resolved"), "zh").startswith(
        "【舆情恢复】"
    )


def test_user_templates_override_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "markdown.md.j2").write_text(
        "{% for n in notifications %}自定义：{{ n.rule | md }} {{ n.current }}{% endfor %}",
        encoding="utf-8",
    )
    environment.cache_clear()
    text = render("markdown.md.j2", [sample_payload()], "zh", str(tmp_path))
    assert text == "自定义：test-channel 12"
    # templates not overridden still come from the package
    assert "test-channel" in render("slack.txt.j2", [sample_payload()], "zh", str(tmp_path))


def test_merged_message_lists_every_alert() -> None:
    payloads = [dict(sample_payload(), rule=f"rule-{i}") for i in range(3)]
    text = render("markdown.md.j2", payloads, "zh")
    assert all(f"rule-{i}" in text for i in range(3))
