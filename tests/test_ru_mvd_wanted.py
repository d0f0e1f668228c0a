"""ru_mvd_wanted: a manual source; each period yields one plain-language task per watched person."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from pydantic import ValidationError

from sources.ru_mvd_wanted import Options, RuMvdWanted
from watcher.adapter import ManualAdapter
from watcher.errors import ParseError
from watcher.models import Fetched, ManualTask, Person, Query, SourceRequest

IVAN = Person(
    id="p1", name="Ivan Petrov", aliases=("Ivan P.", "Петров Иван Петрович"), birth_date="1974-05-21"
)
BOTA = Person(id="p2", name="Bota Jardemalie", birth_date="1974")
NOBODY = Person(id="p3", name="Jane Doe")


def tasks(*people: Person, now: datetime | None = None, **options: Any) -> list[ManualTask]:
    now = now or datetime(2026, 1, 1, 12, tzinfo=UTC)  # a Thursday
    return RuMvdWanted(Options(**options)).tasks(Query(people, None, now))


def test_it_is_a_manual_source_that_sends_nothing() -> None:
    adapter = RuMvdWanted(Options())
    assert isinstance(adapter, ManualAdapter) and adapter.kind == "manual"
    assert adapter.sends_names is False
    assert adapter.requests(Query((IVAN,))) == []
    request = SourceRequest("https://мвд.рф/wanted")
    fetched = Fetched(request, request.url, 200, {}, b"", hashlib.sha256(b"").hexdigest(), datetime.now(UTC))
    with pytest.raises(ParseError, match="manual"):
        adapter.parse(fetched)


def test_one_task_per_person_pointing_at_the_search_page() -> None:
    found = tasks(IVAN, BOTA, NOBODY)
    assert [t.person_id for t in found] == ["p1", "p2", "p3"]
    assert {t.url for t in found} == {"https://мвд.рф/wanted"}
    assert tasks(IVAN, url="https://xn--b1aew.xn--p1ai/wanted")[0].url == "https://xn--b1aew.xn--p1ai/wanted"


@pytest.mark.parametrize(
    ("every_days", "now", "period_start"),
    [
        (7, datetime(2026, 1, 1, 12, tzinfo=UTC), "2025-12-29"),  # Thursday -> its ISO week's Monday
        (7, datetime(2025, 12, 29, 0, 0, tzinfo=UTC), "2025-12-29"),
        (7, datetime(2026, 1, 4, 23, 59, tzinfo=UTC), "2025-12-29"),
        (7, datetime(2026, 1, 5, 0, 0, tzinfo=UTC), "2026-01-05"),
        (1, datetime(2026, 1, 1, 12, tzinfo=UTC), "2026-01-01"),
        (14, datetime(2026, 1, 1, 12, tzinfo=UTC), "2025-12-22"),
    ],
    ids=["mid-week", "monday", "sunday-night", "next-monday", "daily", "fortnightly"],
)
def test_key_is_stable_per_person_and_period(every_days: int, now: datetime, period_start: str) -> None:
    [task] = tasks(IVAN, now=now, every_days=every_days)
    assert task.key == f"p1:{period_start}"


def test_every_day_of_a_period_gives_the_same_key_and_the_next_period_a_new_one() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    keys = {tasks(IVAN, now=start + timedelta(days=d), every_days=10)[0].key for d in range(30)}
    assert len(keys) in (3, 4)
    starts = sorted(date.fromisoformat(k.split(":")[1]) for k in keys)
    assert all((b - a).days == 10 for a, b in pairwise(starts))


def test_without_a_clock_the_current_period_is_used() -> None:
    [task] = RuMvdWanted(Options()).tasks(Query((IVAN,)))
    start = date.fromisoformat(task.key.split(":")[1])
    assert 0 <= (datetime.now(UTC).date() - start).days < 7 and start.weekday() == 0


def test_instructions_use_the_cyrillic_form() -> None:
    [task] = tasks(IVAN)
    assert "Петров Иван Петрович" in task.title
    assert "search for Петров Иван Петрович" in task.instructions
    assert "Фамилия, Имя and Отчество" in task.instructions
    assert "Warning" not in task.instructions
    assert "Born 21.05.1974" in task.instructions


def test_instructions_warn_when_no_cyrillic_form_is_configured() -> None:
    [task] = tasks(BOTA)
    assert "search for Bota Jardemalie" in task.instructions
    assert "no Cyrillic form of this name is configured" in task.instructions
    assert "accepts Cyrillic only" in task.instructions


@pytest.mark.parametrize(
    ("birth_date", "wording"),
    [
        ("1974-05-21", "Born 21.05.1974"),
        ("1974-05", "Only the birth year and month is known (1974-05)"),
        ("1974", "Only the birth year is known (1974)"),
        (None, "No birth date is configured"),
    ],
)
def test_birth_date_wording(birth_date: str | None, wording: str) -> None:
    [task] = tasks(Person(id="p9", name="Иван Петров", birth_date=birth_date))
    assert wording in task.instructions


def test_instructions_say_how_to_record_the_outcome_and_what_not_to_do() -> None:
    [task] = tasks(IVAN)
    assert f"watcher tasks done {task.key} --found" in task.instructions
    assert f"watcher tasks done {task.key} --not-found" in task.instructions
    assert "--note" in task.instructions
    assert "do not mark it --not-found" in task.instructions  # a blocked page is not a negative result
    assert "sends this name to the Russian MVD" in task.instructions


@pytest.mark.parametrize("every_days", [0, -7, 400])
def test_period_must_be_sensible(every_days: int) -> None:
    with pytest.raises(ValidationError):
        Options(every_days=every_days)


def test_unknown_options_are_refused() -> None:
    with pytest.raises(ValidationError):
        Options(every_day=7)  # type: ignore[call-arg]
