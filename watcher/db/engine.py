"""Engines: SQLite in WAL mode with a busy timeout, or PostgreSQL. Schema created at start-up."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, col, create_engine

from watcher.db.tables import SCHEMA_VERSION, Meta
from watcher.errors import StoreError

log = logging.getLogger(__name__)

__all__ = ["is_postgres", "open_engine"]

BUSY_TIMEOUT_MS = 30_000


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def open_engine(url: str) -> Engine:
    """Open the database, create or check its schema; StoreError with a plain reason when it cannot."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        _prepare_sqlite_file(Path(url[len("sqlite:///") :]))
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "isolation_level": None}
    if url.startswith("postgresql") and "+" not in url.split("://")[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    try:
        _create_schema(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot use database {engine.url!r}: {exc.orig}") from None
    return engine


def _create_schema(engine: Engine) -> None:
    """Create missing tables and check the schema version. Processes starting together take turns
    (an advisory lock on PostgreSQL, the write lock on SQLite), so neither sees a half-made schema."""
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE holds the write lock
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(73510001)"))
        SQLModel.metadata.create_all(conn)
        version = conn.execute(select(col(Meta.value)).where(col(Meta.key) == "schema_version")).scalar()
        if version is None:
            conn.execute(insert(Meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {version} is newer than this watcher's ({SCHEMA_VERSION}): upgrade"
            )


def _prepare_sqlite_file(path: Path) -> None:
    if not path.parent.exists():
        raise StoreError(f"database folder {path.parent} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"database {path} is read-only; watcher needs to write to it")
    if not path.exists():
        old = os.umask(0o077)  # the watchlist is sensitive: owner-only
        try:
            path.touch()
        except OSError as exc:  # a read-only folder, a full disk
            raise StoreError(f"cannot create database {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
    _switch_to_wal(path)


def _switch_to_wal(path: Path) -> None:
    """Put the file in WAL mode once, before any pooled connection uses it. Two processes converting a
    new file at the same moment can deadlock on the lock upgrade, and SQLite then answers "database is
    locked" at once instead of waiting, so the switch is retried here until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":  # a file system without shared memory: it works, without concurrent readers
                log.warning("database %s stays in journal mode %s: WAL is not supported there", path, mode)
            return
        except sqlite3.DatabaseError as exc:  # not a database, disk full, locked...
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"cannot use database {path}: {exc}") from None
        finally:
            conn.close()
        time.sleep(0.05)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at the start: two processes never interleave a read-modify-write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
