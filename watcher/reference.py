"""Opaque references for confidential alerts: the alert number and an HMAC only this instance can make.

The key is made once per database (random, kept in the `meta` table), so a reference cannot be
guessed from the number, and an operator can check one someone read out over the phone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from watcher.db.tables import Meta

__all__ = ["alert_reference", "check_reference"]

KEY = "alert_reference_key"


def alert_reference(s: Session, alert_id: int) -> str:
    digest = hmac.new(_key(s), f"alert:{alert_id}".encode(), hashlib.sha256).hexdigest()
    return f"{alert_id}-{digest[:10]}"


def check_reference(engine: Engine, reference: str) -> int | None:
    """The alert number a reference stands for, or None when it is not one of ours."""
    number, _, _ = reference.partition("-")
    if not number.isdigit():
        return None
    with Session(engine) as s:
        good = hmac.compare_digest(alert_reference(s, int(number)), reference.strip())
        s.commit()
    return int(number) if good else None


def _key(s: Session) -> bytes:
    value = s.exec(select(Meta.value).where(Meta.key == KEY)).first()
    if value is None:
        # Two processes may make the first key at once: the first insert wins, both read it back.
        dialect_insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(dialect_insert(Meta).values(key=KEY, value=secrets.token_hex(32)).on_conflict_do_nothing())
        value = s.exec(select(Meta.value).where(Meta.key == KEY)).one()
    return bytes.fromhex(value)
