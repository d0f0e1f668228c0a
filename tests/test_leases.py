"""Dead-owner release tells a restarted process from the one before it: in a container the new process
often has the same host name and PID (PID 1), and its predecessor's leases must not wait to expire."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_store import CONFIG, PAGE
from watcher.config import Config, load_config
from watcher.db.tables import Delivery, SourceState
from watcher.leases import dead_local_owners, new_owner, process_start
from watcher.service import Service

HOST = socket.gethostname()
ME = os.getpid()


def _earlier(start: str) -> str:
    """The start of a process that ran before this one: same boot, earlier tick."""
    boot, ticks = start.split(".")
    return f"{boot}.{int(ticks) - 1}"


def _other_boot(start: str) -> str:
    boot, ticks = start.split(".")
    return f"{'0' * len(boot)}.{ticks}"


START = process_start(ME)
needs_proc = pytest.mark.skipif(not START, reason="no /proc/<pid>/stat here: only PIDs can be checked")

CASES = [
    ("this very process", new_owner(), False),
    ("same PID, started earlier (a restarted container's PID 1)", f"{HOST}:{ME}:{_earlier(START)}:a1", True),
    ("same PID and ticks, an earlier boot", f"{HOST}:{ME}:{_other_boot(START)}:a2", True),
    ("PID 1 of this host with another start", f"{HOST}:1:{_earlier(process_start(1) or START)}:a3", True),
    ("another host: its processes cannot be seen", f"elsewhere:{ME}:{_earlier(START)}:a4", False),
    ("legacy host:pid:token, live PID", f"{HOST}:{ME}:a5", False),
    ("legacy host:pid:token, gone PID", f"{HOST}:4194999:a6", True),
    ("not an owner string", "garbage", False),
] if START else []  # fmt: skip


@needs_proc
@pytest.mark.parametrize(("label", "owner", "dead"), CASES, ids=[c[0] for c in CASES])
def test_owner_identity(label: str, owner: str, dead: bool) -> None:
    assert (owner in dead_local_owners({owner})) is dead, label


@needs_proc
def test_restarted_process_releases_its_predecessors_leases(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """The predecessor had this PID, held the source's lease and was mid-send; the new process frees both
    at once, and the resend says it may be a repeat."""
    farm.set_routes([Route("/roll", PAGE.encode())])
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(db=f"sqlite:///{tmp_path / 'w.db'}", base=farm.base, receiver=receiver.url))
    config = load_config(path, environ={})
    receiver.down = True
    asyncio.run(_check(config))  # an alert, its delivery pending
    predecessor = f"{HOST}:{ME}:{_earlier(START)}:dead01"
    svc = Service(config)
    with Session(svc.engine) as s:
        s.execute(update(SourceState).values(lease_owner=predecessor, lease_until=None))
        s.execute(update(Delivery).values(claimed_by=predecessor))
        s.commit()
    svc.engine.dispose()
    receiver.down = False
    restarted = Service(config)  # start-up releases what dead owners held
    with Session(restarted.engine) as s:
        assert [st.lease_owner for st in s.exec(select(SourceState))] == [None]
        assert [(d.claimed_by, d.interrupted) for d in s.exec(select(Delivery))] == [(None, True)]
    restarted.engine.dispose()
    asyncio.run(_check(config))
    assert len(receiver.messages) == 1 and receiver.messages[0]["title"].endswith("(may repeat)")


async def _check(config: Config) -> None:
    async with Service(config) as svc:
        await svc.check()
