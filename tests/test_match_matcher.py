"""The matcher behind the pipeline: records against a watchlist, qualifiers, case numbers, the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.match import Matcher, match_pairs
from watcher.match.pairs import _person
from watcher.models import Person, Record

ABLYAZOV = Person(id="ablyazov", name="Mukhtar Ablyazov", aliases=("Мухтар Аблязов",), birth_date="1963-05-16",
                  nationalities=("KZ",))  # fmt: skip
HAMAD = Person(id="hamad", name="Youssef Ali Hamad", aliases=("يوسف علي حمد",), birth_date="1980-01-07")
KHALIL = Person(id="khalil", name="Abdullah Saeed Khalil", birth_date="1983")
CASE = Person(id="case", name="Ivan Petrov", case_numbers=("No. 12345/19",))
WATCHLIST = [ABLYAZOV, HAMAD, KHALIL, CASE]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(WATCHLIST)


def found(matcher: Matcher, **record: object) -> dict[str, str]:
    matches = matcher.match_record(Record(key="k", title="t", **record))  # type: ignore[arg-type]
    for m in matches:
        assert 0.0 <= m.score <= 1.0 and m.explanation
    return {m.person_id: m.explanation for m in matches}


@pytest.mark.parametrize(
    ("record", "expected", "words"),
    [
        ({"names": ("ABLYAZOV Mukhtar",)}, {"ablyazov"}, "exact"),
        ({"names": ("Аблязов Мухтар Кабулович",)}, {"ablyazov"}, "also names 'Кабулович'"),
        ({"names": ("ABLIAZOV Moukhtar",)}, {"ablyazov"}, "transliteration"),
        ({"names": ("HAMAD Yusuf",)}, {"hamad"}, "name equivalent"),
        ({"names": ("Y. Hamad",)}, {"hamad"}, "initial"),
        ({"names": ("Ali Hamad",)}, set(), ""),
        ({"names": ("Abdullah Ibrahim Khalil",)}, set(), ""),
        ({"names": ("Mukhtar Ablyazov",), "birth_dates": ("1963",)}, {"ablyazov"}, "agrees"),
        ({"names": ("Mukhtar Ablyazov",), "birth_dates": ("1971-02-03",)}, set(), ""),
        ({"text": "Суд заочно арестовал имущество Мухтара Аблязова в Лондоне."}, {"ablyazov"}, "case ending"),
        ({"text": "Мадина Аблязова дала интервью. Адвокат Аблязова промолчал."}, set(), ""),
        ({"text": "Border guards stopped Walid Hamad. Mr Hamad was released."}, set(), ""),
        ({"fields": {"case_number": "12345-19"}}, {"case"}, "case number"),
        ({"fields": {"case_number": "123456-19"}}, set(), ""),
        ({"text": "Application no. 12345/19 was communicated."}, {"case"}, "found in text"),
    ],
    ids=[
        "upper-surname-first", "cyrillic-with-patronymic", "french-transliteration", "arabic-given-name-variant", "initial",
        "same-surname", "other-middle-name", "birth-year-agrees", "namesake-other-birth-date",
        "russian-genitive-in-text", "same-surname-and-surname-only-in-text", "other-person-in-text",
        "case-number-in-field", "case-number-part-of-another", "case-number-in-text",
    ],
)  # fmt: skip
def test_match_record(matcher: Matcher, record: dict[str, object], expected: set[str], words: str) -> None:
    got = found(matcher, **record)
    assert set(got) == expected, got
    for explanation in got.values():
        assert words in explanation


def test_explanation_names_forms_rules_and_qualifiers(matcher: Matcher) -> None:
    d = matcher.decide(ABLYAZOV, name="Muchtar Abljasow", birth_date="1963-05-16", nationality="KZ")
    assert d.match and d.via == "Mukhtar Ablyazov" and d.matched == "Muchtar Abljasow"
    for words in (
        "'Muchtar' = 'Mukhtar'",
        "spelling variant",
        "birth date 1963-05-16 agrees",
        "nationality KZ",
    ):
        assert words in d.explanation


def test_nationality_conflict_lowers_the_score(matcher: Matcher) -> None:
    same = matcher.decide(ABLYAZOV, name="Mukhtar Ablyazov")
    other = matcher.decide(ABLYAZOV, name="Mukhtar Ablyazov", nationality="FR")
    assert other.match and other.score < same.score and "differs" in other.explanation
    weak = matcher.decide(ABLYAZOV, name="Mukhtar Ablyazow", nationality="FR")  # a variant, not exact
    assert weak.score < matcher.decide(ABLYAZOV, name="Mukhtar Ablyazow").score


def test_struck_surname_needs_an_agreeing_birth_date() -> None:
    person = Person(id="t", name="Farhad Taheri", birth_date="1995-12-27")
    m = Matcher([person])
    assert not m.decide(person, name="Farhad Taheti").match
    assert m.decide(person, name="Farhad Taheti", birth_date="1995-12-27").match


def test_decide_without_evidence(matcher: Matcher) -> None:
    d = matcher.decide(HAMAD)
    assert not d.match and d.score == 0.0


def test_pairs_contract_and_bad_lines() -> None:
    good = {"id": "a", "query": {"name": "Youssef Hamad"}, "candidate": {"name": "HAMAD Youssef"}}
    out = list(match_pairs([json.dumps(good), "", "not json", json.dumps({"id": "b", "query": {}})]))
    assert set(out[0]) == {"id", "match", "score", "explanation"} and out[0]["match"] is True
    assert [o["id"] for o in out] == ["a", "line-3", "b"]
    assert all("error" in o for o in out[1:])


def _name_cases() -> list[dict[str, object]]:
    path = Path(__file__).parent / "data" / "match_cases.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [c for c in cases if c["candidate"]["name"] or c["candidate"]["text"]]


@pytest.mark.parametrize("case", _name_cases(), ids=lambda c: str(c["id"]))
def test_index_finds_what_decide_accepts(case: dict[str, object]) -> None:
    """Blocking never loses a match: the pipeline path agrees with the direct judgement."""
    query, cand = case["query"], case["candidate"]
    assert isinstance(query, dict) and isinstance(cand, dict)
    person = _person(query)
    decoy = Person(id="decoy", name="Zzyzx Qwerty")
    m = Matcher([decoy, person])
    record = Record(
        key="k",
        title="t",
        names=(cand["name"],) if cand["name"] else (),
        text=cand["text"] or "",
        birth_dates=(cand["birth_date"],) if cand["birth_date"] else (),
    )
    direct = m.decide(person, name=cand["name"], text=cand["text"], birth_date=cand["birth_date"])
    assert bool(m.match_record(record)) is direct.match
