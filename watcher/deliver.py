"""The only Apprise import: send one message to one channel and say plainly what happened."""

from __future__ import annotations

from dataclasses import dataclass

import apprise
from pydantic import SecretStr

from watcher.logs import redactor_for

__all__ = ["DeliveryResult", "mask_url", "send"]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    error: str | None = None


def mask_url(url: SecretStr) -> str:
    """The channel URL with its secrets masked, as Apprise shows it, less what Apprise leaves showing (the
    user, `+Header` values): safe for logs, errors and status."""
    obj = apprise.Apprise.instantiate(url.get_secret_value(), suppress_exceptions=True)
    if obj is None:
        return url.get_secret_value().split("://", 1)[0] + "://(unrecognised URL)"
    masked = str(obj.url(privacy=True))  # type: ignore[no-untyped-call]
    return redactor_for(url.get_secret_value(), masked).redact(masked)


FORMATS = {
    "text": apprise.NotifyFormat.TEXT,
    "markdown": apprise.NotifyFormat.MARKDOWN,
    "html": apprise.NotifyFormat.HTML,
}


def send(url: SecretStr, title: str, body: str, body_format: str = "text") -> DeliveryResult:
    """Notify one channel; never raises for a channel problem, returns the reason instead."""
    sender = apprise.Apprise()
    if not sender.add(url.get_secret_value()):
        return DeliveryResult(False, f"Apprise does not understand the channel URL {mask_url(url)}")
    with apprise.LogCapture(level=apprise.logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        ok = sender.notify(title=title, body=body, body_format=FORMATS[body_format])
    if ok:
        return DeliveryResult(True)
    reason = " ".join(captured.getvalue().split())[-500:] or "Apprise reported a failure"
    masked = mask_url(url)
    reason = reason.replace(url.get_secret_value(), masked)  # the error is stored and shown: no secret part
    return DeliveryResult(False, redactor_for(url.get_secret_value(), masked).redact(reason))
