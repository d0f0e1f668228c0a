"""The store and the outbox on both databases: SQLite (default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.config import Config, load_config
from watcher.db.tables import Alert, Delivery, RecordVersion, StoredRecord
from watcher.service import Service

PAGE = (Path(__file__).parent / "fixtures" / "pipeline" / "cath_daily-cause-list.html").read_text()

CONFIG = """
[watcher]
database = "{db}"
retries = 0
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[source]]
id = "roll"
adapter = "html_list"
[source.options]
url = "{base}/roll"
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)", time = "td:nth-child(3)" }}
[[channel]]
id = "team"
url = "{receiver}"
[[subscription]]
channel = "team"
"""


@pytest.fixture
def farm() -> Iterator[SourceFarm]:
    f = SourceFarm()
    f.set_routes([Route("/roll", PAGE.encode())])
    yield f
    f.stop()


@pytest.fixture
def config(tmp_path: Path, database_url: str, farm: SourceFarm, receiver: JsonReceiver) -> Config:
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(db=database_url, base=farm.base, receiver=receiver.url))
    return load_config(path, environ={})


def check(config: Config) -> None:
    async def go() -> None:
        async with Service(config) as svc:
            await svc.check()

    asyncio.run(go())


def test_rounds_store_versions_and_alert_once(
    config: Config, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    check(config)
    farm.set_routes(
        [
            Route(
                "/roll",
                PAGE.replace("202503277 A5</td>", "202503277 A5</td>")
                .replace(
                    '<td class="govuk-table__cell">Robert McCalla</td>',
                    '<td class="govuk-table__cell">Robert McCalla (in person)</td>',
                )
                .encode(),
            )
        ]
    )
    check(config)
    check(config)
    svc = Service(config)
    with Session(svc.engine) as s:
        record = s.exec(select(StoredRecord)).one()
        versions = s.exec(select(RecordVersion).where(RecordVersion.record_id == record.id)).all()
        alerts = s.exec(select(Alert)).all()
        deliveries = s.exec(select(Delivery)).all()
    svc.engine.dispose()
    assert record.key == "202503277 A5" and record.version == 2
    assert [v.event for v in versions] == ["new", "changed"]
    assert [a.event for a in alerts] == ["new", "changed"]
    assert {d.status for d in deliveries} == {"sent"} and len(deliveries) == 2
    assert len(receiver.messages) == 2


def test_one_lease_per_source(config: Config) -> None:
    svc = Service(config)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    try:
        assert svc.store.claim_source(
            "roll", "a", now=now, lease=timedelta(minutes=5), next_due=later, force=False
        )
        assert not svc.store.claim_source(
            "roll", "b", now=now, lease=timedelta(minutes=5), next_due=later, force=True
        )
        svc.store.release_source("roll", "a")
        # Released, but not due again for an hour: a second process does not poll it twice.
        assert not svc.store.claim_source(
            "roll", "b", now=now, lease=timedelta(minutes=5), next_due=later, force=False
        )
        assert svc.store.claim_source(
            "roll", "b", now=later, lease=timedelta(minutes=5), next_due=later, force=False
        )
    finally:
        svc.engine.dispose()


def test_two_outboxes_never_claim_the_same_delivery(config: Config, receiver: JsonReceiver) -> None:
    receiver.down = True
    check(config)
    a, b = Service(config), Service(config)
    try:
        now = datetime.now(UTC)
        first = a.outbox._claim(now, ignore_backoff=True)
        second = b.outbox._claim(now, ignore_backoff=True)
        assert len(first) == 1 and second == []
    finally:
        a.engine.dispose()
        b.engine.dispose()


def _open_at_once(url: str, barrier: Any, errors: Any) -> None:
    from watcher.db.engine import open_engine

    barrier.wait()
    try:
        open_engine(url).dispose()
    except Exception as exc:
        errors.put(repr(exc))


def test_processes_starting_together_on_a_new_sqlite_file_all_start(tmp_path: Path) -> None:
    """Two `watcher run` started at once on a new file once failed with "database is locked": their
    switches to WAL deadlocked on the lock upgrade, which SQLite reports at once instead of waiting."""
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    for attempt in range(25):
        url = f"sqlite:///{tmp_path / f'w{attempt}.db'}"
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_at_once, args=(url, barrier, errors)) for _ in range(4)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        assert errors.empty(), errors.get()
