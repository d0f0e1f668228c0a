"""Hearings become a calendar a standard parser reads back, and reminders arrive once, N days before.

The court list is the CaTH scenario of tests/fixtures/uk_court_lists/e2e (hearing dates moved to 2030
so they stay in the future): step 1 lists McCalla's hearing at 10:30, step 2 moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.config import load_config
from watcher.service import Service

E2E = Path(__file__).parent / "fixtures" / "uk_court_lists" / "e2e"

CONFIG = """
[watcher]
database = "sqlite:///w.db"
retries = 0
[[person]]
id = "mccalla"
name = "Robert McCalla"
[[source]]
id = "cacd"
adapter = "uk_court_lists"
expect_min_records = 0
[source.options]
base_url = "{base}"
location_id = "109"
[[channel]]
id = "lawyer"
url_env = "LAWYER"
[[subscription]]
channel = "lawyer"
people = ["mccalla"]
remind_before = [2]
"""


def step(farm: SourceFarm, n: int) -> None:
    summary = "summary_1.html" if n < 3 else "summary_2.html"
    farm.set_routes(
        [
            Route("/summary-of-publications", (E2E / summary).read_bytes(), query={"locationId": "109"}),
            Route(
                "/court-of-appeal-criminal-daily-cause-list",
                (E2E / f"list_{n}.html").read_bytes(),
                query={"artefactId": "test-id-today"},
            ),
        ]
    )


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, SourceFarm, JsonReceiver]]:
    farm, lawyer = SourceFarm(), JsonReceiver()
    config = tmp_path / "watcher.toml"
    config.write_text(CONFIG.replace("{base}", farm.base))
    yield config, farm, lawyer
    farm.stop()
    lawyer.stop()


def check_at(config: Path, lawyer: JsonReceiver, now: datetime) -> None:
    cfg = load_config(config, environ={"LAWYER": lawyer.url})

    async def go() -> None:
        async with Service(cfg) as svc:
            await svc.check(now=now)

    asyncio.run(go())


def test_calendar_file_reads_back(setup: tuple[Path, SourceFarm, JsonReceiver], tmp_path: Path) -> None:
    config, farm, lawyer = setup
    step(farm, 1)
    env = {"LAWYER": lawyer.url}
    assert run_cli("check", "-c", str(config), env=env).code == 0
    ics = tmp_path / "mccalla.ics"
    assert run_cli("calendar", "--person", "mccalla", "--ics", str(ics), "-c", str(config), env=env).code == 0
    events = [c for c in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")]
    assert len(events) == 1
    first = events[0].decoded("dtstart")
    assert (first.year, first.month, first.day, first.hour, first.minute) == (2030, 12, 11, 10, 30)
    assert "Robert McCalla" in str(events[0]["summary"]) and str(events[0]["status"]) == "CONFIRMED"

    step(farm, 2)  # the hearing moves
    assert run_cli("check", "-c", str(config), env=env).code == 0
    run_cli("calendar", "--person", "mccalla", "--ics", str(ics), "-c", str(config), env=env)
    moved = next(iter(Calendar.from_ical(ics.read_bytes()).walk("VEVENT")))
    assert moved.decoded("dtstart") != first and int(moved["sequence"]) == 2


def test_reminder_once_n_days_before(setup: tuple[Path, SourceFarm, JsonReceiver]) -> None:
    config, farm, lawyer = setup
    step(farm, 1)
    hearing = datetime(2030, 12, 11, 10, 30, tzinfo=UTC)
    check_at(config, lawyer, hearing - timedelta(days=10))
    assert [m["title"].split(":")[0] for m in lawyer.messages] == ["[watcher] New"]
    check_at(config, lawyer, hearing - timedelta(days=3))
    assert len(lawyer.messages) == 1, "no reminder 3 days before a 2-day reminder"
    check_at(config, lawyer, hearing - timedelta(days=1, hours=23))
    check_at(config, lawyer, hearing - timedelta(days=1))
    reminders = [m for m in lawyer.messages if "Hearing reminder" in m["title"]]
    assert len(reminders) == 1 and "hearing in 2 day(s)" in reminders[0]["message"]
