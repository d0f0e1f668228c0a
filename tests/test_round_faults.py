"""A database that refuses writes in the middle of a round (disk full) fails the round plainly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.config import load_config
from watcher.service import Service

ROW = "<tr><td>RCJ</td><td>10:30am</td><td>x</td><td>2025{n:05d} A1</td><td>R v Robert McCalla</td></tr>"
PAGE = (
    '<table class="govuk-table"><tbody>' + "".join(ROW.format(n=n) for n in range(300)) + "</tbody></table>"
).encode()

CONFIG = """
[watcher]
database = "sqlite:///{db}"
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
fields = {{ case_number = "td:nth-child(4)", case_details = "td:nth-child(5)" }}
[[channel]]
id = "team"
url = "{receiver}"
[[subscription]]
channel = "team"
"""


def test_disk_full_mid_round_is_a_failed_round_not_a_crash(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    farm.set_routes([Route("/roll", PAGE)])
    path = tmp_path / "watcher.toml"
    path.write_text(CONFIG.format(db=tmp_path / "w.db", base=farm.base, receiver=receiver.url))
    config = load_config(path, environ={})

    async def go() -> Any:
        async with Service(config) as svc:
            svc.engine.pool.dispose()  # new connections, each capped at the file's current size

            @event.listens_for(svc.engine, "connect")
            def _full(dbapi: Any, _record: Any) -> None:
                pages = dbapi.execute("PRAGMA page_count").fetchone()[0]
                dbapi.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"

            return await svc.run_sources()

    (summary,) = asyncio.run(go())
    assert summary.status == "failed"
    assert summary.error == "the database refused the change: database or disk is full"  # no SQL, no names
    assert receiver.messages == []
