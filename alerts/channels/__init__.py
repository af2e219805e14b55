"""One module per channel; ``build_channel`` makes the right one from its settings."""

from __future__ import annotations

from typing import Any, Protocol

from alerts.channels.base import Outgoing, SendResult


class Channel(Protocol):
    name: str
    max_batch: int
    """How many notifications one message may merge (1 for the generic webhook)."""

    def send(self, batch: list[Outgoing]) -> SendResult: ...


def build_channel(settings: Any, templates_dir: str | None = None) -> Channel:
    """The channel object for one ``alerts.channels[]`` entry."""
    from alerts.channels import dingtalk, email, feishu, slack, webhook, wecom

    kinds = {
        "webhook": webhook.WebhookChannel,
        "dingtalk": dingtalk.DingTalkChannel,
        "wecom": wecom.WeComChannel,
        "feishu": feishu.FeishuChannel,
        "slack": slack.SlackChannel,
        "email": email.EmailChannel,
    }
    return kinds[settings.type](settings, templates_dir)


__all__ = ["Channel", "Outgoing", "SendResult", "build_channel"]
