"""uk_sanctions (synthetic fixtures): XML and CSV agree, dates, names, broken bodies, e2e scenario data."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.uk_sanctions import BASE, UkSanctions
from watcher.errors import ParseError
from watcher.match.matcher import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

ADAPTER = UkSanctions
FIXTURES = Path(__file__).parent / "fixtures" / "uk_sanctions"


def _fetched(body: bytes, url: str = BASE + ".xml", purpose: str = "xml") -> Fetched:
    return Fetched(
        SourceRequest(url, purpose=purpose),
        url,
        200,
        {},
        body,
        hashlib.sha256(body).hexdigest(),
        datetime.now(UTC),
    )


def _parse(body: bytes, fmt: str = "xml") -> list[Record]:
    return UkSanctions(UkSanctions.Options(format=fmt)).parse(_fetched(body, BASE + "." + fmt, fmt)).records  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "url"),
    [
        ({}, BASE + ".xml"),
        ({"format": "csv"}, BASE + ".csv"),
        ({"url": "http://127.0.0.1:9/uk.xml"}, "http://127.0.0.1:9/uk.xml"),
    ],
    ids=["xml", "csv", "mirror"],
)
def test_requests(options: dict[str, str], url: str) -> None:
    adapter = UkSanctions(UkSanctions.Options(**options))
    assert [r.url for r in adapter.requests(Query(people=()))] == [url]
    assert not adapter.sends_names and adapter.expect_min_records == 3950


def test_xml_and_csv_give_the_same_records() -> None:
    xml = {r.key: r for r in _parse((FIXTURES / "uk_list_synthetic.xml").read_bytes())}
    csv = {r.key: r for r in _parse((FIXTURES / "uk_list_synthetic.csv").read_bytes(), "csv")}
    assert set(csv) == {"RUS9901", "AFG9902"}  # the CSV fixture has no ship
    for key, record in csv.items():
        assert record.names == xml[key].names
        assert record.birth_dates == xml[key].birth_dates
        assert record.fields["aliases"] == xml[key].fields["aliases"]


def test_person_gets_every_name_form_dates_and_nationalities() -> None:
    person = _parse((FIXTURES / "uk_list_synthetic.xml").read_bytes())[0]
    assert person.names == (
        "Anna Sergeyevna EXAMPLEVA",
        "Anna Sergeevna EKZAMPLEVA",
        "Anya EXAMPLE",
        "Экзамплева Анна Сергеевна",
    )
    assert person.birth_dates == ("1971-03-12", "1972")
    assert person.nationalities == ("RU",)  # "Atlantis" is not guessed ...
    assert person.fields["nationality"] == "Russia; Atlantis"  # ... but kept
    assert (
        person.fields["sanctions_imposed"] == "Asset freeze; Travel Ban; Director Disqualification Sanction"
    )


def _designation(inner: str) -> bytes:
    return (
        f"<Designations><Designation><UniqueID>RUS1</UniqueID>{inner}</Designation></Designations>".encode()
    )


@pytest.mark.parametrize(
    ("dob", "dates"),
    [("12/03/1971", ["1971-03-12"]), ("dd/mm/1945", ["1945"]), ("dd/07/1945", ["1945-07"]), ("unknown", [])],
)
def test_dates_of_birth(dob: str, dates: list[str]) -> None:
    (record,) = _parse(
        _designation(
            f"<IndividualDetails><Individual><DOBs><DOB>{dob}</DOB></DOBs></Individual></IndividualDetails>"
        )
    )
    assert list(record.birth_dates) == dates


def test_primary_name_comes_first_whatever_the_order() -> None:
    names = "<Names><Name><Name6>Alias One</Name6><NameType>Alias</NameType></Name>\
<Name><Name1>Ivan</Name1><Name6>PRIMARY</Name6><NameType>Primary Name</NameType></Name></Names>"
    (record,) = _parse(_designation(names))
    assert record.names == ("Ivan PRIMARY", "Alias One")


BROKEN = [
    ("xml", "empty", b""),
    ("xml", "wrong root", b"<CONSOLIDATED_LIST/>"),
    (
        "xml",
        "no UniqueID",
        b"<Designations><Designation><RegimeName>Russia</RegimeName></Designation></Designations>",
    ),
    ("xml", "truncated", b"<Designations><Designation><UniqueID>RUS1"),
    ("csv", "no metadata line", b"Unique ID,Name 6\nRUS1,X\n"),
    ("csv", "no Unique ID column", b"Last Updated,01/01/2026\nName 6,Name type\nX,Primary Name\n"),
    ("csv", "html", b"<html><body>Not found</body></html>"),
]


@pytest.mark.parametrize(
    ("fmt", "body"), [(f, b) for f, _, b in BROKEN], ids=[f"{f}-{n}" for f, n, _ in BROKEN]
)
def test_broken_bodies_raise_parse_error(fmt: str, body: bytes) -> None:
    with pytest.raises(ParseError):
        _parse(body, fmt)


# --- End-to-end scenario data, checked with the adapter and the matcher directly -------------------


def _step_records(
    folder: Path, step: dict[str, Any], options: dict[str, str], people: list[Person]
) -> dict[str, Record]:
    """One round as the pipeline runs it: requests, routes served by path and query, follow requests."""
    adapter = ADAPTER(ADAPTER.Options(**options))
    pending, records = adapter.requests(Query(people=tuple(people))), {}
    while pending:
        request = pending.pop(0)
        url = urlsplit(request.url)
        route = next(r for r in step["routes"] if r["path"] == url.path)
        assert all(parse_qs(url.query).get(k) == [v] for k, v in route["query"].items()), route
        parsed = adapter.parse(_fetched((folder / route["body"]).read_bytes(), request.url, request.purpose))
        records.update({r.key: r for r in parsed.records})
        pending += parsed.follow
    return records


@pytest.mark.parametrize("variant", ["e2e", "e2e-csv"])  # the XML list, and the CSV
def test_e2e_scenario_data_yields_the_expected_alerts(variant: str) -> None:
    """Diff by key and content hash, as the pipeline does; step 3 must change an unrelated record."""
    folder = FIXTURES / variant
    scenario = json.loads((folder / "scenario.json").read_text())
    options = {k: v.replace("{base}", "http://127.0.0.1:8000") for k, v in scenario["options"].items()}
    people = [Person(**p) for p in scenario["people"]]
    matcher = Matcher(people)
    before: dict[str, Record] = {}
    for number, step in enumerate(scenario["steps"], 1):
        records = _step_records(folder, step, options, people)
        got, changed_keys = [], []
        for key, record in records.items():
            old = before.get(key)
            if old is not None and old.content_hash() != record.content_hash():
                changed_keys.append(key)
            for match in matcher.match_record(record):
                if old is None:
                    got.append({"event": "new", "person": match.person_id, "record": key})
                elif key in changed_keys:
                    fields = sorted(
                        f for f in {*old.fields, *record.fields} if old.fields.get(f) != record.fields.get(f)
                    )
                    got += [
                        {"event": "changed", "person": match.person_id, "record": key, "field": f}
                        for f in fields
                    ]
        for key in before.keys() - records.keys():
            got += [
                {"event": "removed", "person": m.person_id, "record": key}
                for m in matcher.match_record(before[key])
            ]
        assert got == step["expect"], f"step {number}"
        if number == 3:
            assert changed_keys, "step 3 should change an unrelated record"
        before = records
