"""Issue acceptance: a Russian news item that names a watched person only in an oblique case is
found; an item naming a different person with the same surname is not. The feed is the google_news
fixture (synthetic, written from the documented Google News RSS format)."""

from __future__ import annotations

from pathlib import Path

from tests.test_adapter_goldens import load_case
from watcher.match import Matcher
from watcher.models import Person

CASE = Path(__file__).parent / "fixtures" / "google_news" / "search_ru-KZ_synthetic.case.json"
PEOPLE = [
    Person(id="ablyazov", name="Mukhtar Ablyazov", aliases=("Мухтар Аблязов",)),
    Person(id="bota", name="Bota Jardemalie"),  # Latin only: the item writes her name in Cyrillic, genitive
]


def matched_titles() -> dict[str, list[str]]:
    adapter, fetched = load_case(CASE)
    matcher = Matcher(PEOPLE)
    found: dict[str, list[str]] = {}
    for record in adapter.parse(fetched).records:
        for match in matcher.match_record(record):
            found.setdefault(match.person_id, []).append(record.title)
    return found


def test_oblique_cases_found_and_namesake_not() -> None:
    found = matched_titles()
    ablyazov = " | ".join(found["ablyazov"])
    assert "Мухтара Аблязова" in ablyazov  # genitive
    assert "Мухтару Аблязову" in ablyazov  # dative
    assert "Ерлан Аблязов" not in ablyazov  # same surname, another person
    assert any("Боты Жардемали" in t for t in found["bota"])  # genitive, other script than configured
