"""Logging: one line per event with key=value fields, and secrets redacted from every record.

Channel URLs carry credentials in scheme-specific places: `mailtos://user:password@host`, a Telegram
bot token as the host (`tgram://123456:ABC-DEF.../chat`), Discord and Slack tokens as path segments, a
webhook's token or `+Authorization` header as a query value. `secret_parts` finds them all, starting
from what Apprise's own privacy mask hides; the filter replaces each of them (and its percent-encoded
forms) by '***' wherever it shows up: in the message, its arguments, and a traceback.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = ["RedactSecrets", "redactor_for", "secret_parts", "setup_logging"]

MIN_SECRET = 6  # shorter strings ("yes", "POST", a port) would blank out ordinary words of every line
_MASKED_CHUNKS = re.compile(r"[/:@?&=#]")
_OPTION_WORD = re.compile(r"^[A-Za-z]{1,8}$")  # ?format=markdown, ?mode=starttls: Apprise options, not keys


def secret_parts(url: str, masked: str) -> list[str]:
    """The secret-bearing parts of an Apprise URL: the whole URL, user and password (Apprise shows the
    user), host and port fields and path segments that Apprise's privacy mask hides (a bot token, a
    webhook id), and every query value but plain option words (Apprise shows `+Header` values).
    `masked` is the URL as Apprise's `url(privacy=True)` shows it."""
    parts = urlsplit(url)
    shown = {unquote(c) for c in _MASKED_CHUNKS.split(masked)}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    found = [parts.netloc if userinfo else "", userinfo, user, password]
    fields = hostport.split(":")
    found += [f for f in fields if f and unquote(f) not in shown]
    found += [hostport] if any(f and unquote(f) not in shown for f in fields) else []
    found += [s for s in parts.path.split("/") if s and unquote(s) not in shown]
    found += [v for _, v in parse_qsl(parts.query) if not _OPTION_WORD.match(v)]
    if not any(found):  # nothing secret in it (json://localhost:8080/hook): no need to hide the URL
        return []
    found += [url, url.partition("://")[2]]
    variants = {
        form for part in found if part for form in (part, unquote(part), quote(unquote(part), safe=""))
    }
    return sorted(variants, key=len, reverse=True)


class RedactSecrets(logging.Filter):
    """Replaces every known secret (channel URLs and their parts) in a log record by '***'."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:  # formatted here, so the traceback is redacted too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def redactor_for(url: str, masked: str) -> RedactSecrets:
    """A filter for one channel URL: `redactor_for(url, masked).redact(text)`."""
    return RedactSecrets(secret_parts(url, masked))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at each record, never to a stream swapped out since (a test
    runner's capture, closed after the command)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
