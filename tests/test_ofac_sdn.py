"""ofac_sdn: XML in any namespace, the CSV chain and its join, dates, broken bodies, e2e scenario data."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.ofac_sdn import CHAIN, EXPORTS, OfacSdn, _dob_forms
from watcher.errors import ParseError
from watcher.match.matcher import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

ADAPTER = OfacSdn
FIXTURES = Path(__file__).parent / "fixtures" / "ofac_sdn"
SAMPLE_XML = (FIXTURES / "sdn_xml_excerpt.xml").read_text()


def _fetched(body: bytes, url: str = EXPORTS + "SDN.XML", purpose: str = "xml") -> Fetched:
    return Fetched(
        SourceRequest(url, purpose=purpose),
        url,
        200,
        {},
        body,
        hashlib.sha256(body).hexdigest(),
        datetime.now(UTC),
    )


def _csv_round(adapter: OfacSdn, bodies: dict[str, bytes]) -> list[Record]:
    """Run the CSV chain as the pipeline does: each follow request fetched after the response that asked."""
    pending, records = adapter.requests(Query(people=())), []
    while pending:
        request = pending.pop(0)
        result = adapter.parse(_fetched(bodies[request.purpose], request.url, request.purpose))
        records += result.records
        pending += result.follow
    return records


def _sample_csv() -> dict[str, bytes]:
    return {name: (FIXTURES / name).read_bytes() for name in CHAIN}


@pytest.mark.parametrize(
    ("options", "urls"),
    [
        ({}, [EXPORTS + "SDN.XML"]),
        ({"url": "http://127.0.0.1:9/sdn.xml"}, ["http://127.0.0.1:9/sdn.xml"]),
        ({"format": "csv"}, [EXPORTS + "sdn.csv"]),
        ({"format": "csv", "base_url": "http://127.0.0.1:9/ofac"}, ["http://127.0.0.1:9/ofac/sdn.csv"]),
        ({"format": "csv", "base_url": "http://127.0.0.1:9/ofac/"}, ["http://127.0.0.1:9/ofac/sdn.csv"]),
    ],
    ids=["xml", "xml-mirror", "csv", "csv-mirror", "csv-mirror-slash"],
)
def test_requests(options: dict[str, str], urls: list[str]) -> None:
    adapter = OfacSdn(OfacSdn.Options(**options))
    assert [r.url for r in adapter.requests(Query(people=(Person(id="p", name="X Y"),)))] == urls
    assert not adapter.sends_names and adapter.expect_min_records == 13575


@pytest.mark.parametrize(
    "namespace",
    [
        'xmlns="http://tempuri.org/sdnList.xsd"',
        'xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML"',
        "",
    ],
    ids=["2018", "current-service", "none"],
)
def test_xml_is_read_in_any_namespace(namespace: str) -> None:
    body = SAMPLE_XML.replace('xmlns="http://tempuri.org/sdnList.xsd"', namespace).encode()
    records = OfacSdn(OfacSdn.Options()).parse(_fetched(body)).records
    assert [(r.key, r.kind, r.names[0]) for r in records] == [
        ("36", "organization", "AEROCARIBBEAN AIRLINES"),
        ("26235", "person", "Alexander Aleksandrovich MALKEVICH"),
    ]


def test_xml_nationality_citizenship_and_dates() -> None:
    extra = """<nationalityList><nationality><uid>1</uid><country>Russia</country></nationality></nationalityList>
    <citizenshipList><citizenship><uid>2</uid><country>Ukraine</country></citizenship></citizenshipList>
    <dateOfBirthList><dateOfBirthItem><uid>3</uid><dateOfBirth>circa 1960</dateOfBirth></dateOfBirthItem>
    </dateOfBirthList>"""
    body = SAMPLE_XML.replace("<sdnType>Entity</sdnType>", "<sdnType>Entity</sdnType>" + extra).encode()
    record = OfacSdn(OfacSdn.Options()).parse(_fetched(body)).records[0]
    assert record.nationalities == ("RU", "UA")
    assert record.birth_dates == ("1960", "1959", "1961")
    assert record.fields["nationality"] == "Russia" and record.fields["citizenship"] == "Ukraine"


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("14 Jun 1975", ["1975-06-14"]),
        ("Jun 1975", ["1975-06"]),
        ("1975", ["1975"]),
        ("circa 1975", ["1975", "1974", "1976"]),
        ("1960 to 1962", ["1960", "1961", "1962"]),
        ("17 Apr 1993.", ["1993-04-17"]),
        ("unknown", []),
    ],
)
def test_dates_of_birth(text: str, dates: list[str]) -> None:
    assert _dob_forms(text) == dates


def test_csv_chain_joins_alt_add_and_comments_by_ent_num() -> None:
    records = {r.key: r for r in _csv_round(OfacSdn(OfacSdn.Options(format="csv")), _sample_csv())}
    assert len(records) == 17
    khoroshev = records["48603"]
    assert khoroshev.names == (
        "KHOROSHEV, Dmitry Yuryevich",
        "KHOROSHEV, Dmitriy Yurevich",
        "YURIEVICH, Dmitry",
        "KHOROSHEV, Dmitrii Yuryevich",
        "LOCKBITSUPP",
    )
    assert khoroshev.birth_dates == ("1993-04-17",) and khoroshev.nationalities == ("RU",)
    assert khoroshev.fields["addresses"] == "Russia" and khoroshev.kind == "person"
    suex = records["33151"]  # Remarks overflow into sdn_comments.csv, continued mid-word
    assert "XBT 1B64QRxfaa35MVkf7sDjuGUYAP5izQt7Qi;" in suex.fields["remarks"]
    assert "SUCCESSFUL EXCHANGE" in suex.names
    assert records["47371"].kind == "vessel" and records["48727"].kind == "aircraft"
    assert records["11195"].fields["programs"] == "IFSR; IRAN-CON-ARMS-EO; NPWMD"


def test_csv_without_the_earlier_files_of_the_chain_is_a_parse_error() -> None:
    adapter = OfacSdn(OfacSdn.Options(format="csv"))
    with pytest.raises(ParseError, match=r"sdn\.csv, alt\.csv, add\.csv not parsed"):
        adapter.parse(
            _fetched(_sample_csv()["sdn_comments.csv"], EXPORTS + "sdn_comments.csv", "sdn_comments.csv")
        )


BROKEN_CSV = [
    ("html", "sdn.csv", b"<html><body>Maintenance</body></html>"),
    ("short row", "sdn.csv", b'36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA"\n'),
    ("not a number", "alt.csv", b'X,1,"aka","NAME",-0- \n'),
]


@pytest.mark.parametrize(("file", "body"), [c[1:] for c in BROKEN_CSV], ids=[c[0] for c in BROKEN_CSV])
def test_broken_csv_raises_parse_error(file: str, body: bytes) -> None:
    with pytest.raises(ParseError):
        _csv_round(OfacSdn(OfacSdn.Options(format="csv")), {**_sample_csv(), file: body})


def test_csv_end_of_file_character_and_blank_lines_are_skipped() -> None:
    bodies = _sample_csv()
    bodies["sdn.csv"] += b"\n\x1a\n"
    assert len(_csv_round(OfacSdn(OfacSdn.Options(format="csv")), bodies)) == 17


BROKEN_XML = [
    ("empty", b""),
    ("wrong root", b"<export><sanctionEntity logicalId='1'/></export>"),
    ("no uid", b"<sdnList><sdnEntry><lastName>X</lastName></sdnEntry></sdnList>"),
    ("truncated", SAMPLE_XML[:900].encode()),
]


@pytest.mark.parametrize("body", [b for _, b in BROKEN_XML], ids=[n for n, _ in BROKEN_XML])
def test_broken_xml_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        OfacSdn(OfacSdn.Options()).parse(_fetched(body))


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


@pytest.mark.parametrize("variant", ["e2e", "e2e-csv"])  # sdn.xml, and the legacy CSV set
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
