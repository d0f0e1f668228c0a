"""Retention deletes old bodies no alert needs, keeps those an alert refers to, and the chain still verifies;
`watcher run` prunes too (at start, then daily), not only `watcher check`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_pipeline_e2e import CONFIG, PAGE, moved, smith_retyped, without_mccalla
from watcher.chain import GENESIS, entry_hash
from watcher.config import load_config
from watcher.db.engine import open_engine
from watcher.db.tables import Snapshot
from watcher.evidence import BodyStore
from watcher.retention import prune_snapshots
from watcher.schedule import run_forever


def three_rounds(path: Path, farm: SourceFarm, env: dict[str, str]) -> None:
    """Round 2 changes only an unrelated row: its body is behind no alert and, after round 3, no cache."""
    for page in (PAGE, smith_retyped(PAGE), moved(smith_retyped(PAGE))):
        farm.set_routes(
            [Route("/cause-list", page.encode()), Route("/other", without_mccalla(PAGE).encode())]
        )
        assert run_cli("check", "-c", str(path), env=env).code == 0


def unrelated_snapshot(engine: Engine, bodies: BodyStore) -> Snapshot:
    with Session(engine) as s:
        snaps = s.exec(select(Snapshot).order_by(col(Snapshot.id))).all()
    return next(
        x
        for x in snaps
        if x.url.endswith("/cause-list")
        and b"Appeal against Sentence" in bodies.get(x.sha256)
        and b"2:15pm" not in bodies.get(x.sha256)
    )


def test_prune_keeps_evidence_of_alerts(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    env = {"TEST_NGO_URL": receiver.url}
    three_rounds(path, farm, env)
    config = load_config(path, environ=env)
    engine = open_engine(config.database_url)
    bodies = BodyStore(config.data_dir)
    with Session(engine) as s:
        snaps = s.exec(select(Snapshot).order_by(col(Snapshot.id))).all()
    unrelated = unrelated_snapshot(engine, bodies)
    pruned = prune_snapshots(engine, bodies, 30, datetime.now(UTC) + timedelta(days=31))
    assert pruned == 1, "only the body behind no alert and no cache entry goes"
    assert not bodies.path(unrelated.sha256).exists()
    for kept in snaps:
        if kept.id != unrelated.id:
            assert bodies.path(kept.sha256).exists()
    engine.dispose()
    assert run_cli("evidence", "verify", "-c", str(path), env=env).code == 0


def backdate(engine: Engine, days: int) -> None:
    """As if every round had run `days` ago: fetch times moved and the chain linked again over them."""
    with Session(engine) as s:
        prev = GENESIS
        for snap in s.exec(select(Snapshot).order_by(col(Snapshot.id))).all():
            snap.fetched_at = snap.fetched_at.replace(tzinfo=snap.fetched_at.tzinfo or UTC) - timedelta(
                days=days
            )
            snap.prev_hash = prev
            snap.chain_hash = prev = entry_hash(prev, snap.model_dump())
            s.add(snap)
        s.commit()


def test_watcher_run_prunes(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(
        CONFIG.replace("{base}", farm.base).replace(
            "backoff = 0\n", "backoff = 0\nkeep_snapshots_days = 30\n"
        )
    )
    env = {"TEST_NGO_URL": receiver.url}
    three_rounds(path, farm, env)
    config = load_config(path, environ=env)
    engine = open_engine(config.database_url)
    bodies = BodyStore(config.data_dir)
    backdate(engine, 40)
    unrelated = unrelated_snapshot(engine, bodies)
    assert bodies.path(unrelated.sha256).exists()

    async def run_until_pruned() -> bool:
        stop = asyncio.Event()
        service = asyncio.create_task(run_forever(config, stop=stop))
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline and not service.done():
                await asyncio.sleep(0.1)
                if not bodies.path(unrelated.sha256).exists():
                    return True
            return False
        finally:
            stop.set()
            await service

    assert asyncio.run(run_until_pruned()), "watcher run never pruned the old unreferenced body"
    with Session(engine) as s:
        pruned = s.exec(select(Snapshot.id).where(col(Snapshot.pruned_at).is_not(None))).all()
    engine.dispose()
    assert pruned == [unrelated.id]
    assert run_cli("evidence", "verify", "-c", str(path), env=env).code == 0
