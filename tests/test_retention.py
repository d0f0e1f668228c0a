"""Retention deletes old bodies no alert needs, keeps those an alert refers to, and the chain still verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_pipeline_e2e import CONFIG, PAGE, moved, smith_retyped, without_mccalla
from watcher.config import load_config
from watcher.db.engine import open_engine
from watcher.db.tables import Snapshot
from watcher.evidence import BodyStore
from watcher.retention import prune_snapshots


def test_prune_keeps_evidence_of_alerts(tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver) -> None:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.replace("{base}", farm.base))
    env = {"TEST_NGO_URL": receiver.url}
    for page in (PAGE, smith_retyped(PAGE), moved(smith_retyped(PAGE))):  # 2nd: an unrelated change only
        farm.set_routes(
            [Route("/cause-list", page.encode()), Route("/other", without_mccalla(PAGE).encode())]
        )
        assert run_cli("check", "-c", str(path), env=env).code == 0
    config = load_config(path, environ=env)
    engine = open_engine(config.database_url)
    bodies = BodyStore(config.data_dir)
    with Session(engine) as s:
        snaps = s.exec(select(Snapshot).order_by(Snapshot.id)).all()  # type: ignore[arg-type]
    unrelated = next(
        x
        for x in snaps
        if x.url.endswith("/cause-list")
        and b"Appeal against Sentence" in bodies.get(x.sha256)
        and b"2:15pm" not in bodies.get(x.sha256)
    )
    pruned = prune_snapshots(engine, bodies, 30, datetime.now(UTC) + timedelta(days=31))
    assert pruned == 1, "only the body behind no alert and no cache entry goes"
    assert not bodies.path(unrelated.sha256).exists()
    for kept in snaps:
        if kept.id != unrelated.id:
            assert bodies.path(kept.sha256).exists()
    engine.dispose()
    assert run_cli("evidence", "verify", "-c", str(path), env=env).code == 0
