"""Who holds what: lease owners are "host:pid:start:token", so a process that died on this host can be told.

A killed process leaves its source leases and delivery claims behind; waiting for them to expire
would hold alerts back for minutes. At start-up a process releases the leases of dead processes of
its own host (another host's processes it cannot see; theirs expire). A delivery released this way
may already have reached its channel before the process died: it is marked `interrupted`, and the
resend says it may be a repeat (at-least-once, never silently twice).

A PID alone does not name a process: a restarted container runs watcher as PID 1 again, and PIDs are
reused. `start` is the kernel's boot id with the process's start time in clock ticks since boot
(/proc/<pid>/stat, field 22), so a live process with the owner's PID but another start is a new
process, and the owner is dead. Where /proc is missing (not Linux), `start` is empty and only the PID
is checked. Host names are taken to be one process table each (one machine, or one container).
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import lru_cache
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine

from watcher.db.tables import Delivery, SourceState

__all__ = ["dead_local_owners", "new_owner", "process_start", "release_dead_owners"]

PROC = Path("/proc")


def new_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start(pid)}:{uuid.uuid4().hex[:6]}"


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:12]
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """'<boot id>.<start ticks>' of a live process, or '' where the system does not say."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    boot = _boot_id()
    return f"{boot}.{fields[19]}" if boot and len(fields) > 19 else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead(parts: list[str]) -> bool:
    """For an owner of this host: is the process that took it gone?"""
    pid = int(parts[1])
    if not _alive(pid):
        return True
    if len(parts) == 4 and parts[2]:  # legacy "host:pid:token" owners have no start: PID only
        return process_start(pid) != parts[2]
    return False


def dead_local_owners(owners: set[str]) -> set[str]:
    host = socket.gethostname()
    dead = set()
    for owner in owners:
        parts = owner.split(":")
        if len(parts) in (3, 4) and parts[0] == host and parts[1].isdigit() and _dead(parts):
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
