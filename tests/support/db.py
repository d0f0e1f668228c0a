"""Databases for tests: a real SQLite file, and the machine's PostgreSQL (a fresh schema per test).

PostgreSQL is found at $WATCHER_TEST_PG (default postgresql://127.0.0.1:5432/test, trust auth); where
no server answers, PostgreSQL cases are skipped with that reason printed in the summary.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("WATCHER_TEST_PG", "postgresql://127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when a server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3, user=os.environ.get("PGUSER")) as conn:
            conn.execute("select 1")
    except Exception as exc:
        return f"no PostgreSQL at {PG_URL}: {exc.__class__.__name__}: {str(exc).strip()[:120]}"
    return None


def pg_schema_url() -> Iterator[str]:
    reason = postgres_available()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"
