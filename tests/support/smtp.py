"""An in-process SMTP server (aiosmtpd) that keeps every message it receives, for Apprise's mailto://."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    subject: str
    text: str  # every text part (plain and HTML), decoded
    html: str  # the HTML parts only
    raw: bytes


class _Keep:
    def __init__(self, box: list[Mail]) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
        text = "\n".join(p.get_content() for p in parts)
        html = "\n".join(p.get_content() for p in parts if p.get_content_subtype() == "html")
        subject = str(msg["subject"])
        self.box.append(
            Mail(envelope.mail_from, list(envelope.rcpt_tos), subject, text, html, envelope.content)
        )
        return "250 OK"


class SmtpReceiver:
    """`url` is an Apprise mailto:// URL for this server (plain SMTP, no login)."""

    def __init__(self, to: str = "lawyer@example.org") -> None:
        self.to = to
        self.messages: list[Mail] = []
        with socket.socket() as probe:  # aiosmtpd needs a concrete port to check it is up
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(_Keep(self.messages), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.org&to={self.to}&smtp=127.0.0.1"

    def everything(self) -> str:
        """All that arrived, headers and bodies decoded, for leak checks."""
        return "\n".join(f"{m.subject}\n{m.text}\n{m.raw.decode('utf-8', 'replace')}" for m in self.messages)

    def stop(self) -> None:
        self.controller.stop()
