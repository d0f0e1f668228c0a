"""un_consolidated: requests, birth dates, nationalities, broken bodies, and the e2e scenario data."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.un_consolidated import URL, UnConsolidated
from watcher.adapter import partial_date, year_span
from watcher.countries import country_code
from watcher.errors import ParseError
from watcher.match.matcher import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

ADAPTER = UnConsolidated
FIXTURES = Path(__file__).parent / "fixtures" / "un_consolidated"


def _fetched(body: bytes, url: str = URL, purpose: str = "list") -> Fetched:
    return Fetched(
        SourceRequest(url, purpose=purpose),
        url,
        200,
        {},
        body,
        hashlib.sha256(body).hexdigest(),
        datetime.now(UTC),
    )


def _parse(body: str) -> list[Record]:
    return UnConsolidated(UnConsolidated.Options()).parse(_fetched(body.encode())).records


def _list(individual: str) -> str:
    return f"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>A</FIRST_NAME>\
<REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER>{individual}</INDIVIDUAL></INDIVIDUALS><ENTITIES/></CONSOLIDATED_LIST>"


@pytest.mark.parametrize(
    ("options", "url"),
    [({}, URL), ({"url": "http://127.0.0.1:9/un.xml"}, "http://127.0.0.1:9/un.xml")],
    ids=["default", "mirror"],
)
def test_one_request_for_the_whole_list(options: dict[str, str], url: str) -> None:
    adapter = UnConsolidated(UnConsolidated.Options(**options))
    people = (Person(id="p1", name="Doku Umarov"),)
    assert [r.url for r in adapter.requests(Query(people=people))] == [url]
    assert not adapter.sends_names and adapter.kind == "sanctions" and adapter.expect_min_records == 750


DOB_CASES = [
    ("exact date", "<TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1964-04-13</DATE>", ["1964-04-13"], "1964-04-13"),
    ("exact year", "<TYPE_OF_DATE>EXACT</TYPE_OF_DATE><YEAR>1971</YEAR>", ["1971"], "1971"),
    (
        "approximately",
        "<TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1955</YEAR>",
        ["1955", "1954", "1956"],
        "approximately 1955",
    ),
    (
        "between",
        "<TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1960</FROM_YEAR><TO_YEAR>1963</TO_YEAR>",
        ["1960", "1961", "1962", "1963"],
        "between 1960 and 1963",
    ),
    ("empty", "<TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE/>", [], None),
]


@pytest.mark.parametrize(("dob", "dates", "text"), [c[1:] for c in DOB_CASES], ids=[c[0] for c in DOB_CASES])
def test_birth_dates(dob: str, dates: list[str], text: str | None) -> None:
    (record,) = _parse(_list(f"<INDIVIDUAL_DATE_OF_BIRTH>{dob}</INDIVIDUAL_DATE_OF_BIRTH>"))
    assert list(record.birth_dates) == dates
    assert record.fields.get("birth_dates") == text


NATIONALITY_CASES = [
    ("Russian Federation", "RU"),
    ("Iran (Islamic Republic of)", "IR"),
    ("Democratic People's Republic of Korea", "KP"),
    ("Côte d'Ivoire", "CI"),
    ("Korea, North", "KP"),
    ("Russia", "RU"),
    ("former Soviet Union", None),
    ("Yugoslavia", None),
    ("", None),
]


@pytest.mark.parametrize(("name", "code"), NATIONALITY_CASES)
def test_country_names_map_to_iso2_or_nothing(name: str, code: str | None) -> None:
    assert country_code(name) == code


def test_unknown_nationality_is_kept_in_the_field_not_guessed() -> None:
    (record,) = _parse(
        _list(
            "<NATIONALITY><VALUE>Russian Federation</VALUE><VALUE>former Soviet Union</VALUE></NATIONALITY>"
        )
    )
    assert record.nationalities == ("RU",)
    assert record.fields["nationality"] == "Russian Federation; former Soviet Union"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("1974-05-21", "1974-05-21"),
        ("21.05.1974", "1974-05-21"),
        ("14 Jun 1975", "1975-06-14"),
        ("Jun 1975", "1975-06"),
        ("dd/mm/1945", "1945"),
        ("02/03/1958", "1958-03-02"),
        ("1964-04-13T00:00:00", "1964-04-13"),
        ("circa", ""),
        ("1964-13-01", "1964"),
        ("0000", ""),
    ],
)
def test_partial_dates(text: str, date: str) -> None:
    assert partial_date(text) == date


def test_year_span_is_capped() -> None:
    assert year_span("1900", "1990") == ["1900", "1990"]
    assert year_span("x", "1990") == []


def test_names_aliases_and_original_script_all_reach_the_matcher() -> None:
    records = {r.key: r for r in _parse((FIXTURES / "consolidated_trimmed.xml").read_text())}
    umarov = records["QDi.290"]
    assert umarov.names == (
        "DOKU KHAMATOVICH UMAROV",
        "Lom-ali Butayev (Butaev)",
        "Dokka Umarov",
        "Умаров Доку Хаматович",
    )
    assert umarov.fields["last_updated"] == "2021-11-15"
    assert records["CDe.001"].kind == "organization"


def test_dataid_is_the_key_only_without_a_reference_number() -> None:
    body = _list("").replace("<REFERENCE_NUMBER>QDi.1</REFERENCE_NUMBER>", "")
    assert [r.key for r in _parse(body)] == ["DATAID-1"]


BROKEN = [
    ("empty", b""),
    ("not xml", b"Service Unavailable"),
    ("html", b"<html><body>Maintenance</body></html>"),
    ("truncated", b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>"),
    (
        "no identifier",
        b"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL>"
        b"</INDIVIDUALS></CONSOLIDATED_LIST>",
    ),
    ("entities", b'<!DOCTYPE x [<!ENTITY a "b">]><CONSOLIDATED_LIST/>'),
]


@pytest.mark.parametrize("body", [b for _, b in BROKEN], ids=[n for n, _ in BROKEN])
def test_broken_bodies_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        UnConsolidated(UnConsolidated.Options()).parse(_fetched(body))


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


def test_e2e_scenario_data_yields_the_expected_alerts() -> None:
    """Diff by key and content hash, as the pipeline does; step 3 must change an unrelated record."""
    folder = FIXTURES / "e2e"
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
