"""The config file: TOML validated into one typed model.

Every mistake is a ConfigError naming the file, the line and the dotted key. Unknown keys are
mistakes. Secrets (Apprise URLs carry tokens) come from the environment or a file, never inline.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from watcher.adapter import AdapterOptions
from watcher.errors import ConfigError, WatcherError
from watcher.models import Person, SourceKind
from watcher.registry import load_registry

__all__ = ["ChannelConfig", "Config", "SourceConfig", "SubscriptionConfig", "WatcherSettings", "load_config"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EventName = Literal[
    "new", "changed", "removed", "source_failed", "source_recovered", "source_stale", "task", "reminder"
]
EVENTS: tuple[str, ...] = get_args(EventName)


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '6h', '1d', '1w' -> timedelta."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration like '90s', '15m', '6h', '1d' or '1w'")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WatcherSettings(_Model):
    database: str = "sqlite:///watcher.db"
    data_dir: str = "data"
    user_agent: str = "watcher/0.1 (+https://github.com/watcher-org/watcher)"
    public_url: str | None = None
    timeout: float = Field(30.0, gt=0)
    max_body_mb: float = Field(64.0, gt=0)
    concurrency: int = Field(32, ge=1)
    per_host: int = Field(4, ge=1)
    retries: int = Field(2, ge=0)
    backoff: float = Field(1.0, ge=0)
    operator_channel: str | None = None
    delivery_max_age: str = "2d"
    failures_before_alert: int = Field(3, ge=1)
    never_send_names: bool = False  # refuse name-search sources that have no proxy
    keep_snapshots_days: int | None = Field(None, ge=1)  # delete bodies no alert refers to after this
    tsa_url: str | None = Field(None, pattern=r"^https?://")  # an RFC 3161 timestamp authority
    tsa_ca_file: str | None = None  # PEM/DER certificates a TSA's signer must be issued by

    @field_validator("delivery_max_age")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class SourceConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    adapter: str
    every: str | None = None
    cron: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    expect_min_records: int | None = Field(None, ge=0)
    keywords: tuple[str, ...] = ()
    user_agent: str | None = None  # instead of [watcher] user_agent for this source (e.g. a neutral one)
    jitter: str | None = None  # a random delay up to this long before each scheduled round
    min_interval: float | None = Field(None, ge=0)  # seconds between requests; default: the adapter's
    request_jitter: float = Field(0.0, ge=0)  # random gaps up to this many seconds between requests
    min_record_ratio: float = Field(0.5, ge=0, le=1)  # fewer than this share of the last count: a failure
    removal_grace: int | None = Field(None, ge=0)  # complete rounds missing before `removed`
    stale_after: str | None = None  # no success for this long: `source_stale` (default 3 x interval)
    enabled: bool = True
    proxy: str | None = None
    allow_private_redirects: bool = False  # follow redirects into private, loopback, link-local addresses

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("jitter")
    @classmethod
    def _jitter(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(socks5h?|https?)://", value):
            raise ValueError("a proxy URL starting socks5://, http:// or https://")
        return value

    @field_validator("stale_after")
    @classmethod
    def _stale(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a 5-field cron expression like '0 */6 * * *'")
        from apscheduler.triggers.cron import CronTrigger  # the scheduler's own parser: what it will run

        try:
            trigger = CronTrigger.from_crontab(value, timezone=UTC)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid cron expression: {exc}") from None
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise ValueError(f"{value!r} never fires (a day no month has, like 31 February)")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> SourceConfig:
        if self.every and self.cron:
            raise ValueError("give either 'every' or 'cron', not both")
        return self

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.every or "6h")


class ChannelConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: SecretStr | None = None
    url_env: str | None = None
    url_file: str | None = None
    format: Literal["text", "markdown", "html"] = "text"  # the body format Apprise is given
    template: str | None = None  # a Jinja2 template file, relative to the config file

    @model_validator(mode="after")
    def _one_url(self) -> ChannelConfig:
        given = [k for k in ("url", "url_env", "url_file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, url_env or url_file")
        return self


class SubscriptionConfig(_Model):
    channel: str
    people: tuple[str, ...] = ("*",)
    sources: tuple[str, ...] = ("*",)
    # A subscription with remind_before gets "reminder" added to its events (see _kinds_and_reminders).
    events: tuple[EventName, ...] = ("new", "changed", "removed")
    min_score: float = Field(0.0, ge=0, le=1)
    remind_before: tuple[int, ...] = ()  # days before each hearing to send a reminder, e.g. [7, 1]
    source_kinds: tuple[SourceKind, ...] = ()  # also written sources = ["kind:court"]
    confidential: bool = False  # messages carry an opaque reference, never names or record content
    mode: Literal["immediate", "daily", "weekly"] = "immediate"
    at: str = "08:00"  # local time of a daily or weekly digest
    timezone: str = "UTC"  # an IANA zone, e.g. "Europe/Brussels"
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"

    @model_validator(mode="before")
    @classmethod
    def _kinds_and_reminders(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        refs = data.get("sources")
        if isinstance(refs, list | tuple):
            # "kind:court" in `sources` routes by the adapter's kind; moved apart so `sources` holds ids.
            kinds = [r[5:] for r in refs if isinstance(r, str) and r.startswith("kind:")]
            if kinds:
                data["sources"] = [r for r in refs if not (isinstance(r, str) and r.startswith("kind:"))]
                data["source_kinds"] = [*data.get("source_kinds", ()), *kinds]
        if data.get("source_kinds") and "sources" not in data:
            data["sources"] = []  # source_kinds alone: only those kinds, not the default "*" (every source)
        events = data.get("events", cls.model_fields["events"].default)
        if data.get("remind_before") and isinstance(events, list | tuple) and "reminder" not in events:
            data["events"] = [*events, "reminder"]  # asking for reminders N days before is wanting them
        return data

    @model_validator(mode="after")
    def _no_contradiction(self) -> SubscriptionConfig:
        if "*" in self.sources and self.source_kinds:
            raise ValueError(
                'sources = ["*"] takes every source, so source_kinds would filter nothing:'
                " leave sources out to route by kind only, or list source ids"
            )
        if "reminder" in self.events and not self.remind_before:
            raise ValueError(
                'events asks for "reminder" but remind_before is empty:'
                " give the days before each hearing, e.g. remind_before = [7, 1]"
            )
        return self

    @field_validator("remind_before")
    @classmethod
    def _days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 1 for d in value):
            raise ValueError("reminders are whole days before the hearing: 1 or more")
        return value

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        m = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$", value)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59 or int(m.group(3) or 0) > 59:
            raise ValueError(f"{value!r} is not a time of day like '08:00' (or '08:00:30')")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone like 'Europe/Brussels' or 'UTC'") from None
        return value


class Config(_Model):
    watcher: WatcherSettings = WatcherSettings()
    person: tuple[Person, ...] = ()
    source: tuple[SourceConfig, ...] = ()
    channel: tuple[ChannelConfig, ...] = ()
    subscription: tuple[SubscriptionConfig, ...] = ()
    # Filled in by load_config, not by the file:
    path: str = ""
    channel_urls: dict[str, SecretStr] = Field(default_factory=dict)
    adapter_options: dict[str, AdapterOptions] = Field(default_factory=dict)

    def person_by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.person}

    def source_by_id(self, source_id: str) -> SourceConfig:
        for s in self.source:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.source)
        raise WatcherError(f"no source {source_id!r} in {self.path}; configured sources: {known}")

    @property
    def base_dir(self) -> Path:
        return Path(self.path).resolve().parent if self.path else Path.cwd()

    @property
    def data_dir(self) -> Path:
        return self.base_dir / self.watcher.data_dir

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL; a relative SQLite path is relative to the config file."""
        url = self.watcher.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.base_dir / url[len(prefix) :])
        return url


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and cross-check a config file."""
    env = os.environ if environ is None else environ
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (pass --config, set WATCHER_CONFIG, or run `watcher init`)", path=str(file)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", path=str(file)) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"not valid TOML: {exc}", path=str(file), line=int(m.group(1)) if m else None
        ) from None
    lines = key_lines(text)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc, str(file), lines, raw) from None
    return _cross_check(config.model_copy(update={"path": str(file)}), lines, env)


def _config_error(
    exc: ValidationError, path: str, lines: dict[tuple[Any, ...], int], raw: Any
) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    more = len(exc.errors()) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(message, path=path, line=_line_for(loc, lines), key=dotted(loc))


def dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(loc: Sequence[Any], lines: dict[tuple[Any, ...], int]) -> int | None:
    for n in range(len(loc), 0, -1):
        if tuple(loc[:n]) in lines:
            return lines[tuple(loc[:n])]
    return None


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Map each key path, e.g. ('source', 1, 'options', 'notice'), to its 1-based line in the file."""
    found: dict[tuple[Any, ...], int] = {}
    counts: dict[tuple[Any, ...], int] = {}
    table: tuple[Any, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if m := re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", stripped):
            *parents, last = _split_key(m.group(1))
            parts = (*_resolve(tuple(parents), counts), last)
            index = counts.get(parts, -1) + 1
            counts[parts] = index
            table = (*parts, index)
            found[parts] = found.get(parts, number)
            found[table] = number
        elif m := re.match(r"^\[\s*([^\]]+?)\s*\]", stripped):
            table = _resolve(tuple(_split_key(m.group(1))), counts)
            found.setdefault(table, number)
        elif m := re.match(r"^([A-Za-z0-9_\-.\"' ]+?)\s*=", stripped):
            found.setdefault((*table, *_split_key(m.group(1))), number)
    return found


def _resolve(parts: tuple[str, ...], counts: dict[tuple[Any, ...], int]) -> tuple[Any, ...]:
    # [source.options] after [[source]] means the options of the latest [[source]].
    out: list[Any] = []
    for part in parts:
        out.append(part)
        if tuple(out) in counts:
            out.append(counts[tuple(out)])
    return tuple(out)


def _split_key(key: str) -> list[str]:
    return [p.strip().strip("\"'") for p in key.split(".")]


def _cross_check(config: Config, lines: dict[tuple[Any, ...], int], env: Mapping[str, str]) -> Config:
    def fail(message: str, *loc: Any) -> ConfigError:
        return ConfigError(message, path=config.path, line=_line_for(loc, lines), key=dotted(loc))

    for table in ("person", "source", "channel"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(config, table)):
            if item.id in seen:
                raise fail(f"duplicate id {item.id!r}", table, i, "id")
            seen.add(item.id)
    people = config.person_by_id()
    tags = {t for p in config.person for t in p.tags}
    sources = {s.id for s in config.source}
    channels = {c.id for c in config.channel}
    for i, sub in enumerate(config.subscription):
        if sub.channel not in channels:
            raise fail(
                f"no channel {sub.channel!r}; channels: {', '.join(sorted(channels)) or 'none'}",
                "subscription",
                i,
                "channel",
            )
        for ref in sub.people:
            if ref != "*" and ref not in people and not (ref.startswith("tag:") and ref[4:] in tags):
                raise fail(f"no person or tag {ref!r}", "subscription", i, "people")
        for ref in sub.sources:
            if ref != "*" and ref not in sources:
                raise fail(f"no source {ref!r}", "subscription", i, "sources")
    if config.watcher.operator_channel and config.watcher.operator_channel not in channels:
        raise fail(f"no channel {config.watcher.operator_channel!r}", "watcher", "operator_channel")
    options = _adapter_options(config, fail)
    urls = {c.id: _channel_url(c, i, env, config, fail) for i, c in enumerate(config.channel)}
    for i, channel in enumerate(config.channel):
        problem = _template_problem(config.base_dir / channel.template) if channel.template else None
        if problem:
            raise fail(problem, "channel", i, "template")
    return config.model_copy(update={"channel_urls": urls, "adapter_options": options})


def _adapter_options(config: Config, fail: Any) -> dict[str, AdapterOptions]:
    registry = load_registry()
    out: dict[str, AdapterOptions] = {}
    for i, source in enumerate(config.source):
        if source.adapter not in registry.adapters:
            known = ", ".join(registry.names())
            raise fail(f"unknown adapter {source.adapter!r}; known adapters: {known}", "source", i, "adapter")
        if config.watcher.never_send_names and registry.get(source.adapter).sends_names and not source.proxy:
            raise fail(
                f"adapter {source.adapter!r} sends watched names to the source, and never_send_names is set:"
                ' give this source a proxy (e.g. Tor: proxy = "socks5://127.0.0.1:9050") or disable it',
                "source",
                i,
                "adapter",
            )
        try:
            out[source.id] = registry.get(source.adapter).Options.model_validate(source.options)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = f"unknown key {err['loc'][-1]!r}" if err["type"] == "extra_forbidden" else err["msg"]
            raise fail(msg, "source", i, "options", *err["loc"]) from None
    return out


def _channel_url(
    channel: ChannelConfig, i: int, env: Mapping[str, str], config: Config, fail: Any
) -> SecretStr:
    if channel.url is not None:
        return channel.url
    if channel.url_env is not None:
        value = env.get(channel.url_env, "").strip()
        if not value:
            raise fail(f"environment variable {channel.url_env} is not set or empty", "channel", i, "url_env")
        return SecretStr(value)
    file = config.base_dir / str(channel.url_file)
    try:
        value = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}", "channel", i, "url_file") from None
    if not value:
        raise fail(f"{file} is empty", "channel", i, "url_file")
    return SecretStr(value)


def _template_problem(path: Path) -> str | None:
    """Why an operator's Jinja2 template cannot be used: found at load, not at the first delivery."""
    from jinja2 import Environment, TemplateSyntaxError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return f"template file {path} not found"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read template {path}: {exc}"
    if not text.strip():
        return f"template {path} is empty; its first line is the message title, the rest the body"
    try:
        Environment().from_string(text)  # compiles: syntax, unknown filters and tests
    except TemplateSyntaxError as exc:
        return f"template {path}:{exc.lineno}: {exc.message}"
    return None
