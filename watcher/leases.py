"""Who holds what: lease owners are "host:pid:token", so a process that died on this host can be told.

A killed process leaves its source leases and delivery claims behind; waiting for them to expire
would hold alerts back for minutes. At start-up a process releases the leases of dead processes of
its own host (another host's processes it cannot see; theirs expire). A delivery released this way
may already have reached its channel before the process died: it is marked `interrupted`, and the
resend says it may be a repeat (at-least-once, never silently twice).
"""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import update
from sqlalchemy.engine import Engine

from watcher.db.tables import Delivery, SourceState

__all__ = ["new_owner", "release_dead_owners"]


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_local_owners(owners: set[str]) -> set[str]:
    host = socket.gethostname()
    dead = set()
    for owner in owners:
        parts = owner.split(":")
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _alive(int(parts[1])):
            dead.add(owner)
    return dead


def release_dead_owners(engine: Engine) -> tuple[int, int]:
    """Release what dead processes of this host held; (source leases, delivery claims) released."""
    state, delivery = SourceState.__table__, Delivery.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        owners = {o for (o,) in conn.execute(state.select().with_only_columns(state.c.lease_owner)) if o}
        owners |= {
            o for (o,) in conn.execute(delivery.select().with_only_columns(delivery.c.claimed_by)) if o
        }
        dead = dead_local_owners(owners)
        if not dead:
            return 0, 0
        leases = conn.execute(
            update(state).where(state.c.lease_owner.in_(dead)).values(lease_owner=None, lease_until=None)
        ).rowcount
        claims = conn.execute(
            update(delivery)
            .where(delivery.c.claimed_by.in_(dead), delivery.c.status == "pending")
            .values(claimed_by=None, claimed_until=None, interrupted=True)
        ).rowcount
    return int(leases), int(claims)
