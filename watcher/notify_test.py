"""`watcher notify-test`: a message that looks like a real alert, in the channel's format and template."""

from __future__ import annotations

import socket
from pathlib import Path

from watcher.config import ChannelConfig, Config
from watcher.render import AlertFacts, AlertMessage, render_alert

__all__ = ["sample_message"]


def sample_message(config: Config, channel: ChannelConfig) -> AlertMessage:
    """A made-up alert (no real person or record), rendered as this channel renders real ones."""
    facts = AlertFacts(
        alert_id=0,
        event="new",
        source_id="test",
        person_name="Test Person",
        content={
            "record": {"key": "TEST-1", "title": "Test message: this channel works", "url": None},
            "note": f"Sent by `watcher notify-test {channel.id}` on {socket.gethostname()}.",
        },
        public_url=config.watcher.public_url,
    )
    template = Path(config.base_dir) / channel.template if channel.template else None
    return render_alert(facts, channel.format, template=template)
