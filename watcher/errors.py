"""The exception tree. Every error carries a message a user can act on.

WatcherError
├── ConfigError          the config file is wrong: names file, line and key
├── SourceError          one source failed for one run; the round goes on
│   ├── FetchError       network, timeout, HTTP status, size cap, redirect policy
│   ├── ParseError       the body is not what the adapter expects
│   └── SanityError      the parse looks wrong (too few records): never a mass removal
├── StoreError           the database refused (read-only, full disk, locked too long)
└── DeliveryError        a notification channel refused or could not be reached
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "FetchError",
    "ParseError",
    "SanityError",
    "SourceError",
    "StoreError",
    "WatcherError",
]


class WatcherError(Exception):
    """Base of every error watcher raises on purpose."""


class ConfigError(WatcherError):
    """A mistake in the config; the message names the file, line and dotted key."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None, key: str = "") -> None:
        self.path = path
        self.line = line
        self.key = key
        where = path
        if line is not None:
            where = f"{where}:{line}"
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(WatcherError):
    """One source failed for one run."""


class FetchError(SourceError):
    """A request could not be completed (network, timeout, status, size, redirect)."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)


class ParseError(SourceError):
    """A response body is not in the format the adapter expects."""


class SanityError(SourceError):
    """A parse succeeded but its result is implausible (e.g. fewer records than expected)."""


class StoreError(WatcherError):
    """The database could not be used."""


class DeliveryError(WatcherError):
    """A channel could not deliver a message."""
