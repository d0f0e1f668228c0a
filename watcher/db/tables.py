"""SQLModel tables. The same models run on SQLite (default) and PostgreSQL (scale-out).

Times are aware UTC datetimes (SQLModel's UTC type stores them on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 1


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class SourceState(SQLModel, table=True):
    """Per source: schedule, lease (one process polls it), health, adapter cursor."""

    source_id: str = Field(primary_key=True)
    next_due_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    failure_alerted: bool = False
    stale_alerted: bool = False
    first_run_at: datetime | None = None
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    watch_fingerprint: str | None = None
    adapter_version: str | None = None
    last_record_count: int | None = None


class Run(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # running, ok, unchanged, failed
    error: str | None = Field(default=None, sa_column=Column(Text))
    requests: int = 0
    not_modified: int = 0
    records: int = 0
    changes: int = 0


class Snapshot(SQLModel, table=True):
    """One response body kept as evidence (bytes in data_dir, content-addressed by SHA-256)."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True)
    run_id: int | None = None
    url: str = Field(sa_column=Column(Text, nullable=False))
    method: str = "GET"
    status: int
    request_headers: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    response_headers: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    sha256: str = Field(index=True)
    size: int
    fetched_at: datetime
    # Tamper evidence: each entry's hash covers the previous entry's (see watcher/chain.py).
    prev_hash: str = ""
    chain_hash: str = ""
    pruned_at: datetime | None = None  # the body was deleted by retention; the chain entry stays


class TimestampToken(SQLModel, table=True):
    """An RFC 3161 token over one chain entry's hash: it dates that entry and every one before it."""

    __tablename__ = "timestamp_token"
    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(index=True)  # the chain head that was stamped
    chain_hash: str  # that entry's chain_hash when stamped: the token's message imprint
    tsa: str = Field(sa_column=Column(Text, nullable=False))  # the TSA's URL without credentials
    gen_time: datetime  # the time the TSA signed
    token: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # DER TimeStampToken (CMS)
    created_at: datetime


class RequestCache(SQLModel, table=True):
    """What the last successful round got for one request: validators, body hash, follow-ups."""

    source_id: str = Field(primary_key=True)
    request_key: str = Field(primary_key=True)
    etag: str | None = None
    last_modified: str | None = None
    sha256: str
    snapshot_id: int
    adapter_version: str
    result_meta: str = Field(
        sa_column=Column(Text, nullable=False)
    )  # JSON: follow, complete, removed, cursor


class StoredRecord(SQLModel, table=True):
    """A record about a watched person, as last seen (current version)."""

    __tablename__ = "record"
    __table_args__ = (UniqueConstraint("source_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: str
    key: str = Field(sa_column=Column(Text, nullable=False))
    version: int = 1
    content_hash: str
    content: str = Field(sa_column=Column(Text, nullable=False))  # JSON of Record.content()
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None = None
    missing_rounds: int = 0


class RecordVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("record_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(index=True)
    version: int
    event: str
    content_hash: str
    content: str = Field(sa_column=Column(Text, nullable=False))
    snapshot_id: int | None = None
    seen_at: datetime


class MatchRow(SQLModel, table=True):
    __tablename__ = "match"
    __table_args__ = (UniqueConstraint("record_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(index=True)
    person_id: str = Field(index=True)
    score: float
    matched: str = Field(sa_column=Column(Text, nullable=False))
    via: str = Field(sa_column=Column(Text, nullable=False))
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    first_at: datetime


class Alert(SQLModel, table=True):
    """One event about one watched person (or about a source, for operators)."""

    __table_args__ = (UniqueConstraint("dedupe_key"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str
    created_at: datetime
    event: str
    source_id: str = Field(index=True)
    person_id: str | None = Field(default=None, index=True)
    record_id: int | None = None
    record_key: str | None = Field(default=None, sa_column=Column(Text))
    record_version: int | None = None
    snapshot_id: int | None = None
    score: float | None = None
    content: str = Field(sa_column=Column(Text, nullable=False))  # JSON: record content, match, delta, note


class Delivery(SQLModel, table=True):
    """One alert for one channel: the outbox row, claimed and sent at least once."""

    __table_args__ = (
        UniqueConstraint("alert_id", "channel_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(index=True)
    channel_id: str
    status: str = "pending"  # pending, sent, dead
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    # Its sender died while it was claimed: it may have gone out; the resend says so.
    interrupted: bool = False
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class Attempt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    at: datetime
    ok: bool
    error: str | None = Field(default=None, sa_column=Column(Text))


class Task(SQLModel, table=True):
    """A manual check (captcha-gated sources): created by a round, closed by an operator."""

    __table_args__ = (UniqueConstraint("source_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: str
    key: str
    person_id: str
    title: str = Field(sa_column=Column(Text, nullable=False))
    instructions: str = Field(sa_column=Column(Text, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    status: str = "open"  # open, found, not_found
    note: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = None
    done_by: str | None = None


from watcher.db.review_tables import DeliveryPlan, Review  # noqa: E402, F401  (alerting tables)
