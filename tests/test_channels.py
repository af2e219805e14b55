"""Each channel against a local emulator of its platform, through real HTTP requests."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from chat_emulators import DingTalkEmulator, FeishuEmulator, SlackEmulator, WeComEmulator

from alerts.channels import build_channel
from alerts.channels.base import Outgoing
from alerts.sample import sample_payload
from yuqing.settings.alerting import AlertSettings

HOSTILE = '<script>alert(1)</script>[点我](http://evil.example) **粗** <font color="red">x</font>'


def channel_for(spec: dict) -> object:
    settings = AlertSettings.model_validate({"channels": [spec]})
    return build_channel(settings.channels[0])


def batch(n: int = 1, posts: int = 3, title: str = HOSTILE) -> list[Outgoing]:
    return [
        Outgoing(i + 1, f"yq-{i}-{i}-x", sample_payload(posts=posts, title=title)) for i in range(n)
    ]


@pytest.fixture
def dingtalk() -> Iterator[DingTalkEmulator]:
    emulator = DingTalkEmulator(per_minute=3).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def wecom() -> Iterator[WeComEmulator]:
    emulator = WeComEmulator(per_minute=3).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def feishu() -> Iterator[FeishuEmulator]:
    emulator = FeishuEmulator(per_minute=3).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(per_minute=3).start()
    yield emulator
    emulator.stop()


# -- DingTalk -------------------------------------------------------------------------------


def test_dingtalk_signed_markdown_is_accepted(dingtalk: DingTalkEmulator) -> None:
    channel = channel_for(
        {"name": "dt", "type": "dingtalk", "url": dingtalk.url, "secret": dingtalk.secret}
    )
    result = channel.send(batch(2))
    assert result.ok, result.error
    message = dingtalk.messages[0]
    assert message["msgtype"] == "markdown"
    text = message["markdown"]["text"]
    assert "2 条" in message["markdown"]["title"]
    assert "<script>" not in text and "](http://evil" not in text and "<font" not in text
    assert "test-channel" in text and "去处理" in text


def test_dingtalk_signature_is_fresh_per_request(dingtalk: DingTalkEmulator) -> None:
    channel = channel_for(
        {"name": "dt", "type": "dingtalk", "url": dingtalk.url, "secret": dingtalk.secret}
    )
    assert channel.send(batch()).ok
    assert channel.send(batch()).ok
    assert len(dingtalk.messages) == 2


@pytest.mark.parametrize(
    ("secret", "code", "retryable"),
    [
        ("wrong-secret", 310000, False),
        (None, 310000, False),
    ],
)
def test_dingtalk_refusals_in_a_200_body_are_failures(
    dingtalk: DingTalkEmulator, secret: str | None, code: int, retryable: bool
) -> None:
    spec = {"name": "dt", "type": "dingtalk", "url": dingtalk.url}
    if secret:
        spec["secret"] = secret
    result = channel_for(spec).send(batch())
    assert not result.ok and result.retryable is retryable
    assert f"errcode {code}" in result.error
    assert dingtalk.messages == []


def test_dingtalk_bad_token_is_dead(dingtalk: DingTalkEmulator) -> None:
    url = dingtalk.url.replace(dingtalk.token, "nope-token-123")
    result = channel_for(
        {"name": "dt", "type": "dingtalk", "url": url, "secret": dingtalk.secret}
    ).send(batch())
    assert not result.ok and not result.retryable and "300001" in result.error


def test_dingtalk_rate_limit_is_retryable(dingtalk: DingTalkEmulator) -> None:
    channel = channel_for(
        {"name": "dt", "type": "dingtalk", "url": dingtalk.url, "secret": dingtalk.secret}
    )
    results = [channel.send(batch()) for _ in range(4)]
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[-1].retryable and "130101" in results[-1].error
    assert results[-1].retry_after == 60.0


# -- WeCom ----------------------------------------------------------------------------------


def test_wecom_markdown_is_accepted(wecom: WeComEmulator) -> None:
    result = channel_for({"name": "wc", "type": "wecom", "url": wecom.url}).send(batch())
    assert result.ok, result.error
    content = wecom.messages[0]["markdown"]["content"]
    assert "<script>" not in content and "](http://evil" not in content


def test_wecom_long_message_is_cut_to_4096_bytes(wecom: WeComEmulator) -> None:
    channel = channel_for({"name": "wc", "type": "wecom", "url": wecom.url})
    result = channel.send(batch(10, posts=30, title="很长的标题" * 20))
    assert result.ok, result.error
    content = wecom.messages[0]["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith("已截断）")


def test_wecom_rate_limit_and_bad_key(wecom: WeComEmulator) -> None:
    channel = channel_for({"name": "wc", "type": "wecom", "url": wecom.url})
    results = [channel.send(batch()) for _ in range(4)]
    assert not results[-1].ok and results[-1].retryable and "45009" in results[-1].error
    bad = channel_for(
        {"name": "wc", "type": "wecom", "url": wecom.url.replace(wecom.key, "bad-key-000")}
    ).send(batch())
    assert not bad.ok and not bad.retryable and "93000" in bad.error


# -- Feishu ---------------------------------------------------------------------------------


def test_feishu_signed_card_is_accepted(feishu: FeishuEmulator) -> None:
    channel = channel_for(
        {"name": "fs", "type": "feishu", "url": feishu.url, "secret": feishu.secret}
    )
    result = channel.send(batch(3))
    assert result.ok, result.error
    card = feishu.messages[0]["card"]
    assert feishu.messages[0]["msg_type"] == "interactive"
    assert "<script>" not in card["elements"][0]["content"]


def test_feishu_bad_signature_and_size(feishu: FeishuEmulator) -> None:
    bad = channel_for(
        {"name": "fs", "type": "feishu", "url": feishu.url, "secret": "not-the-secret"}
    ).send(batch())
    assert not bad.ok and not bad.retryable and "19021" in bad.error
    channel = channel_for(
        {"name": "fs", "type": "feishu", "url": feishu.url, "secret": feishu.secret}
    )
    big = channel.send(batch(10, posts=40, title="超长标题" * 30))
    assert big.ok, big.error  # cut under the 20 KB body limit, not refused
    assert len(json.dumps(feishu.messages[-1], ensure_ascii=False).encode()) <= 20 * 1024


def test_feishu_rate_limit_is_retryable(feishu: FeishuEmulator) -> None:
    channel = channel_for(
        {"name": "fs", "type": "feishu", "url": feishu.url, "secret": feishu.secret}
    )
    results = [channel.send(batch()) for _ in range(4)]
    assert not results[-1].ok and results[-1].retryable and "11232" in results[-1].error


# -- Slack ----------------------------------------------------------------------------------


def test_slack_blocks_are_accepted_and_escaped(slack: SlackEmulator) -> None:
    result = channel_for({"name": "sl", "type": "slack", "url": slack.url}).send(batch(2))
    assert result.ok, result.error
    text = json.dumps(slack.messages[0], ensure_ascii=False)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_slack_long_text_is_split_into_sections(slack: SlackEmulator) -> None:
    channel = channel_for(
        {"name": "sl", "type": "slack", "url": slack.url, "max_alerts_per_message": 20}
    )
    result = channel.send(batch(20, posts=20, title="长" * 100))
    assert result.ok, result.error
    assert len(slack.messages[0]["blocks"]) <= 50


def test_slack_errors(slack: SlackEmulator) -> None:
    channel = channel_for({"name": "sl", "type": "slack", "url": slack.url})
    results = [channel.send(batch()) for _ in range(4)]
    assert not results[-1].ok and results[-1].retryable and results[-1].retry_after == 30
    wrong = channel_for(
        {"name": "sl", "type": "slack", "url": slack.base + "/services/T0/B0/wrongtoken0000000"}
    ).send(batch())
    assert not wrong.ok and not wrong.retryable and "no_service" in wrong.error


# -- secrets --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "feishu", "slack"])
def test_connection_errors_are_retryable_and_mask_the_token(kind: str) -> None:
    token = "SUPERSECRETTOKEN0123456789"
    urls = {
        "dingtalk": f"http://127.0.0.1:9/robot/send?access_token={token}",
        "wecom": f"http://127.0.0.1:9/cgi-bin/webhook/send?key={token}",
        "feishu": f"http://127.0.0.1:9/open-apis/bot/v2/hook/{token}",
        "slack": f"http://127.0.0.1:9/services/T0/B0/{token}",
    }
    channel = channel_for({"name": "x", "type": kind, "url": urls[kind], "timeout": "2s"})
    result = channel.send(batch())
    assert not result.ok and result.retryable
    assert token not in (result.error or "")


def test_secrets_are_masked_in_settings_repr() -> None:
    settings = AlertSettings.model_validate(
        {
            "channels": [
                {
                    "name": "dt",
                    "type": "dingtalk",
                    "url": "https://oapi.dingtalk.com/robot/send?access_token=abc123secret",
                    "secret": "SECxyz",
                }
            ]
        }
    )
    shown = repr(settings) + settings.model_dump_json()
    assert "abc123secret" not in shown and "SECxyz" not in shown


# -- email ----------------------------------------------------------------------------------


class _Inbox:
    """aiosmtpd handler that keeps every message, or answers a fixed SMTP error."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        if self.reply:
            return self.reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, int, _Inbox]]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd cannot start on port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


def _email_spec(host: str, port: int) -> dict:
    return {
        "name": "mail",
        "type": "email",
        "host": host,
        "port": port,
        "sender": "yuqing@example.com",
        "recipients": ["pr@example.com", "legal@example.com"],
        "timeout": "3s",
    }


def test_email_is_sent_with_escaped_html(smtp: tuple[str, int, _Inbox]) -> None:
    import email
    from email import policy

    host, port, inbox = smtp
    result = channel_for(_email_spec(host, port)).send(batch(2))
    assert result.ok, result.error
    sender, recipients, raw = inbox.messages[0]
    assert sender == "yuqing@example.com"
    assert recipients == ["pr@example.com", "legal@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert "等 2 条" in message["Subject"]
    assert message["Message-ID"] == "<yq-0-0-x@yuqing.alerts>"
    html_part = message.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "<script>" in message.get_body(("plain",)).get_content()  # plain text is inert


@pytest.mark.parametrize(("reply", "retryable"), [("451 try later", True), ("554 rejected", False)])
def test_email_smtp_errors(smtp: tuple[str, int, _Inbox], reply: str, retryable: bool) -> None:
    host, port, inbox = smtp
    inbox.reply = reply
    result = channel_for(_email_spec(host, port)).send(batch())
    assert not result.ok and result.retryable is retryable
    assert reply.split()[0] in result.error


def test_email_server_down_is_retryable() -> None:
    result = channel_for(_email_spec("127.0.0.1", 9)).send(batch())
    assert not result.ok and result.retryable
