"""Hearings become a calendar a standard parser reads back, and reminders arrive once, N days before.

The court list is the CaTH scenario of tests/fixtures/uk_court_lists/e2e (hearing dates moved to 2030
so they stay in the future): step 1 lists McCalla's hearing at 10:30 on 11 December 2030, step 2 moves
it, step 4 is the list without it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar

from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.config import load_config
from watcher.diff import Stored, diff_records
from watcher.hearings import cancelled, time_left
from watcher.models import Record
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


HEARING = datetime(2030, 12, 11, 10, 30, tzinfo=UTC)


def step(farm: SourceFarm, n: int) -> None:
    summary, artefact = (
        ("summary_1.html", "test-id-today") if n < 3 else ("summary_2.html", "test-id-today-v2")
    )
    farm.set_routes(
        [
            Route("/summary-of-publications", (E2E / summary).read_bytes(), query={"locationId": "109"}),
            Route(
                "/court-of-appeal-criminal-daily-cause-list",
                (E2E / f"list_{n}.html").read_bytes(),
                query={"artefactId": artefact},
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


def calendar_events(config: Path, lawyer: JsonReceiver, ics: Path) -> list[Any]:
    result = run_cli(
        "calendar", "--person", "mccalla", "--ics", str(ics), "-c", str(config), env={"LAWYER": lawyer.url}
    )
    assert result.code == 0, result.stdout
    return list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))


def titles(lawyer: JsonReceiver) -> list[str]:
    return [m["title"].split(":")[0] for m in lawyer.messages]


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
    [moved] = calendar_events(config, lawyer, ics)
    assert moved.decoded("dtstart") != first and int(moved["sequence"]) == 2
    assert str(moved["status"]) == "CONFIRMED"


def test_a_hearing_removed_before_its_day_is_cancelled(
    setup: tuple[Path, SourceFarm, JsonReceiver], tmp_path: Path
) -> None:
    config, farm, lawyer = setup
    step(farm, 1)
    check_at(config, lawyer, HEARING - timedelta(days=10))
    step(farm, 4)  # the republished list no longer has it, ten days ahead: vacated
    check_at(config, lawyer, HEARING - timedelta(days=9))
    assert titles(lawyer) == ["[watcher] New", "[watcher] Removed"]
    [event] = calendar_events(config, lawyer, tmp_path / "mccalla.ics")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2


@pytest.mark.parametrize(
    "gone", [timedelta(days=1), timedelta(hours=14)], ids=["the next morning", "just after midnight"]
)
def test_a_hearing_that_took_place_is_a_past_event_not_cancelled(
    setup: tuple[Path, SourceFarm, JsonReceiver], tmp_path: Path, gone: timedelta
) -> None:
    """Regression: the list of the day after no longer has the hearing; watcher.diff retires it quietly,
    but the store's `removed_at` made the calendar show it CANCELLED."""
    config, farm, lawyer = setup
    step(farm, 1)
    check_at(config, lawyer, HEARING - timedelta(days=10))
    step(farm, 4)
    check_at(config, lawyer, HEARING + gone)
    assert titles(lawyer) == ["[watcher] New"], "no removal alert for a hearing whose day has passed"
    [event] = calendar_events(config, lawyer, tmp_path / "mccalla.ics")
    assert str(event["status"]) == "CONFIRMED" and event.decoded("dtstart") == HEARING


@pytest.mark.parametrize(
    ("hearing_at", "removed_at"),
    [
        ("2030-12-11T10:30:00+00:00", datetime(2030, 12, 11, 9, 0, tzinfo=UTC)),
        ("2030-12-11T10:30:00+00:00", datetime(2030, 12, 11, 23, 0, tzinfo=UTC)),
        ("2030-12-11T10:30:00+00:00", datetime(2030, 12, 12, 0, 30, tzinfo=UTC)),
        ("2030-06-11T10:30:00+01:00", datetime(2030, 6, 11, 23, 30, tzinfo=UTC)),  # 00:30 in London
        ("2030-12-11", datetime(2030, 12, 11, 18, 0, tzinfo=UTC)),
        ("2030-12-11", datetime(2030, 12, 12, 8, 0, tzinfo=UTC)),
        ("2030-12-11", datetime(2030, 11, 1, tzinfo=UTC)),
    ],
)
def test_cancelled_is_exactly_a_removal_the_diff_alerted(hearing_at: str, removed_at: datetime) -> None:
    """The calendar and the alerts tell one story: CANCELLED where watcher.diff sent `removed`."""
    record = Record(key="k", title="hearing", kind="hearing", hearing_at=hearing_at)
    stored = {"k": Stored(record, record.content_hash(), frozenset({"mccalla"}))}
    [t] = diff_records(stored, {}, complete=True, now=removed_at)
    assert cancelled(hearing_at, removed_at) == bool(t.person_ids)
    assert not cancelled(hearing_at, None)


def test_reminder_once_n_days_before(setup: tuple[Path, SourceFarm, JsonReceiver]) -> None:
    config, farm, lawyer = setup
    step(farm, 1)
    check_at(config, lawyer, HEARING - timedelta(days=10))
    assert titles(lawyer) == ["[watcher] New"]
    check_at(config, lawyer, HEARING - timedelta(days=3))
    assert len(lawyer.messages) == 1, "no reminder 3 days before a 2-day reminder"
    check_at(config, lawyer, HEARING - timedelta(days=1, hours=23))
    check_at(config, lawyer, HEARING - timedelta(days=1))
    reminders = [m for m in lawyer.messages if "Hearing reminder" in m["title"]]
    assert len(reminders) == 1 and "hearing in 2 day(s)" in reminders[0]["message"]


@pytest.mark.parametrize("remind_before", ["[2]", "[7, 2]", "[2, 7, 3]"])
def test_a_hearing_first_seen_late_gets_one_reminder_with_the_days_left(
    setup: tuple[Path, SourceFarm, JsonReceiver], remind_before: str
) -> None:
    """Regression: first seen 1 day before, `remind_before = [2]` said "in 2 day(s)", and every overdue
    N sent its own reminder at once."""
    config, farm, lawyer = setup
    config.write_text(config.read_text().replace("remind_before = [2]", f"remind_before = {remind_before}"))
    step(farm, 1)
    check_at(config, lawyer, HEARING - timedelta(days=1))
    check_at(config, lawyer, HEARING - timedelta(hours=20))
    reminders = [m for m in lawyer.messages if "Hearing reminder" in m["title"]]
    assert titles(lawyer) == ["[watcher] New", "[watcher] Hearing reminder"]
    assert "hearing in 1 day(s), 2030-12-11T10:30:00+00:00" in reminders[0]["message"]


def test_each_larger_n_reminds_in_its_time(setup: tuple[Path, SourceFarm, JsonReceiver]) -> None:
    config, farm, lawyer = setup
    config.write_text(config.read_text().replace("remind_before = [2]", "remind_before = [7, 2]"))
    step(farm, 1)
    for before in (timedelta(days=10), timedelta(days=6, hours=20), timedelta(days=2), timedelta(hours=5)):
        check_at(config, lawyer, HEARING - before)
    notes = [m["message"] for m in lawyer.messages if "Hearing reminder" in m["title"]]
    assert len(notes) == 2
    assert "hearing in 7 day(s)" in notes[0] and "hearing in 2 day(s)" in notes[1]


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (timedelta(days=2), "2 day(s)"),
        (timedelta(days=1, hours=23), "2 day(s)"),
        (timedelta(days=1, hours=1), "1 day(s)"),
        (timedelta(hours=12), "1 day(s)"),
        (timedelta(hours=5, minutes=40), "6 hour(s)"),
        (timedelta(minutes=10), "1 hour(s)"),
    ],
)
def test_time_left_reads_as_people_count(left: timedelta, said: str) -> None:
    assert time_left(left) == said
