"""Tables of the alerting side: review decisions, and when each delivery is due (digests).

Imported at the end of watcher/db/tables.py, so SQLModel's metadata creates them with the rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

__all__ = ["DeliveryPlan", "Review"]


class Review(SQLModel, table=True):
    """A person's decision about a (person, source, record) pair: false positive or confirmed.

    The latest decision for a pair is the one that counts. `matched_hash` is the hash of the record's
    matched fields (names, birth dates, nationalities) when the decision was made: a dismissal holds
    only while they stay the same.
    """

    __table_args__ = (Index("ix_review_pair", "person_id", "source_id", "record_key"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int
    person_id: str
    source_id: str
    record_key: str = Field(sa_column=Column(Text, nullable=False))
    decision: str  # false_positive, confirmed
    matched_hash: str
    note: str | None = Field(default=None, sa_column=Column(Text))
    decided_by: str
    decided_at: datetime


class DeliveryPlan(SQLModel, table=True):
    """How and when one delivery goes out: at once, or held for its channel's digest at `due_at`.

    Written by the outbox the first time it sees a pending delivery; a delivery without a plan is
    never sent, so a digest delivery can never slip out early.
    """

    delivery_id: int = Field(primary_key=True)
    mode: str  # immediate, daily, weekly
    due_at: datetime = Field(index=True)
