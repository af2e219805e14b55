"""Email over SMTP: one message per batch (plain text + HTML alternative) to all recipients.

The ``Message-ID`` is derived from the first delivery's idempotency key, so a repeat after a
crash between sending and recording carries the same id and mail tools can spot it. SMTP 4xx
replies, timeouts and refused connections are retried; 5xx replies and failed logins are dead.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from alerts.channels.base import Masker, Outgoing, SendResult
from alerts.render import plain_title, render


class EmailChannel:
    def __init__(self, settings: Any, templates_dir: str | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.max_batch = settings.max_alerts_per_message
        self.templates_dir = templates_dir
        password = settings.password.get_secret_value() if settings.password else None
        self.password = password
        self.mask = Masker([password] if password else [])

    def message(self, batch: list[Outgoing]) -> EmailMessage:
        payloads = [i.payload for i in batch]
        lang = self.settings.language
        subject = plain_title(payloads[0], lang, self.templates_dir)
        if len(payloads) > 1:
            subject += f" 等 {len(payloads)} 条" if lang == "zh" else f" (+{len(payloads) - 1})"
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{batch[0].idempotency_key}@yuqing.alerts>"
        message["X-Yuqing-Idempotency-Keys"] = " ".join(i.idempotency_key for i in batch)
        message.set_content(render("email.txt.j2", payloads, lang, self.templates_dir))
        message.add_alternative(
            render("email.html.j2", payloads, lang, self.templates_dir), subtype="html"
        )
        return message

    def send(self, batch: list[Outgoing]) -> SendResult:
        s = self.settings
        timeout = s.timeout.total_seconds()
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, self.password or "")
                refused = client.send_message(self.message(batch))
        except smtplib.SMTPAuthenticationError as exc:
            return SendResult.failure(f"SMTP login refused: {exc.smtp_code}", False)
        except smtplib.SMTPResponseException as exc:
            text = self.mask(str(exc.smtp_error)[:200])
            return SendResult.failure(f"SMTP {exc.smtp_code}: {text}", 400 <= exc.smtp_code < 500)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = all(400 <= c < 500 for c in codes)
            return SendResult.failure(f"SMTP recipients refused: {codes}", retryable)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return SendResult.failure(f"{type(exc).__name__}: {self.mask(str(exc))[:200]}", True)
        if refused:
            return SendResult.success(f"sent; refused by some recipients: {sorted(refused)}")
        return SendResult.success("250 sent")
