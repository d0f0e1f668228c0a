"""Russia, MVD federal wanted list (мвд.рф/wanted): an assisted manual check, never polled."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from pydantic import Field

from watcher.adapter import AdapterOptions, ManualAdapter, ManualTask, Query
from watcher.models import Person

SEARCH_PAGE = "https://мвд.рф/wanted"  # punycode https://xn--b1aew.xn--p1ai/wanted
# Periods start on Mondays counted from this one, so every_days=7 gives ISO weeks.
EPOCH = date(1970, 1, 5)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


class Options(AdapterOptions):
    url: str = SEARCH_PAGE
    every_days: int = Field(default=7, ge=1, le=366)


class RuMvdWanted(ManualAdapter[Options]):
    """Russia, Ministry of Internal Affairs (MVD): the federal wanted persons search at https://мвд.рф/wanted.

    There is no open data and no API (SOURCES.md 3). The search form takes surname (`s_family`), first
    name (`fio`), patronymic (`s_patr`) and birth date, in Cyrillic only; every search needs a text
    captcha bound to the session plus a CSRF token, searches are rate-limited per session, and foreign
    addresses are blocked (a `/403.jpg` picture). Captcha solving is out of the question, so this source
    is an assisted manual check: each round (every `every_days` days, default 7: SOURCES.md 7 suggests a
    weekly task) makes one task per watched person, keyed `<person id>:<period start date>`, telling the
    operator what to search and how to record the outcome (`watcher tasks done <ID> --found|--not-found`).
    The outcome is stored and alerted like a record of this source. A hit is a `bs-item-title` with the
    person's name in the `b-search-result` block, or a `bs-count` above zero.

    The instructions use a Cyrillic name form from the person's name or aliases; with none configured
    they say so and give the Latin form with a warning. No request is made by watcher (`sends_names` is
    False), but the operator's search does send the name to the MVD: the instructions say so.

    Fixtures: none (no recorded search-result page exists, and a manual source has no response to
    parse); see tests/fixtures/ru_mvd_wanted/NO_FIXTURE.md. Related machine-readable Russian list:
    Rosfinmonitoring's terrorists and extremists list, via the `opensanctions` adapter with
    dataset `ru_fedsfm_terror`.
    """

    name = "ru_mvd_wanted"
    title = "Russia MVD wanted persons (manual check)"
    homepage = "https://мвд.рф/wanted"
    Options = Options
    licence = "Official website of the MVD of Russia; captcha-gated search, checked by hand only"
    sends_names = False

    def tasks(self, query: Query) -> list[ManualTask]:
        start = self.period_start(query.now or datetime.now(UTC))
        return [self._task(person, start) for person in query.people]

    def period_start(self, now: datetime) -> date:
        days = (now.date() - EPOCH).days
        return EPOCH + timedelta(days=days - days % self.options.every_days)

    def _task(self, person: Person, start: date) -> ManualTask:
        key = f"{person.id}:{start.isoformat()}"
        cyrillic = next((n for n in person.names if _CYRILLIC.search(n)), None)
        shown = cyrillic or person.name
        lines = [f"Open {self.options.url} and search for {shown}."]
        if cyrillic:
            lines.append(
                "Type the surname, first name and patronymic into the fields Фамилия, Имя and Отчество."
            )
        else:
            lines.append(
                f"Warning: no Cyrillic form of this name is configured, and the site accepts Cyrillic only. "
                f"Write {person.name} in Russian Cyrillic yourself, and add that form to the person's "
                f"aliases in the watchlist so the next task shows it."
            )
        lines.append(_birth_line(person.birth_date))
        lines += [
            "A hit is a result entry (under the result count) with this name and birth date.",
            "If the site shows a 403 picture, a wrong-code message or 'технические работы', the check "
            "could not be made: leave the task open and try again later, do not mark it --not-found.",
            "Note: the search sends this name to the Russian MVD from your connection; "
            "think about who runs the check and from where.",
            f"Record the outcome with `watcher tasks done {key} --found` or "
            f'`watcher tasks done {key} --not-found`, adding `--note "..."` for what you saw.',
        ]
        return ManualTask(
            key=key,
            person_id=person.id,
            title=f"Check мвд.рф/wanted for {shown} (period from {start.isoformat()})",
            instructions="\n".join(lines),
            url=self.options.url,
        )


def _birth_line(birth: str | None) -> str:
    if not birth:
        return "No birth date is configured: search by name only and compare each result by hand."
    parts = birth.split("-")
    if len(parts) == 3:
        return f"Born {parts[2]}.{parts[1]}.{parts[0]}: set the day, month and year fields to it."
    return f"Only the birth year{' and month' if len(parts) == 2 else ''} is known ({birth}): set the year."
