"""eu_fsf: requests, birth dates, citizenship, regulations, broken bodies, and the e2e scenario data."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sources.eu_fsf import URL, EuFsf
from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.errors import ParseError
from watcher.match.matcher import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

ADAPTER = EuFsf
FIXTURES = Path(__file__).parent / "fixtures" / "eu_fsf"
NS = 'xmlns="http://eu.europa.ec/fpi/fsd/export"'


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


def _entity(children: str, attrs: str = 'logicalId="5" euReferenceNumber="EU.5.1"') -> Record:
    entity = f'<sanctionEntity {attrs}><subjectType code="person"/>{children}</sanctionEntity>'
    body = f"<export {NS}>{entity}</export>"
    (record,) = EuFsf(EuFsf.Options()).parse(_fetched(body.encode())).records
    return record


def test_one_request_for_the_whole_file() -> None:
    adapter = EuFsf(EuFsf.Options(url="http://127.0.0.1:9/fsf.xml?token=x"))
    assert [r.url for r in adapter.requests(Query(people=()))] == ["http://127.0.0.1:9/fsf.xml?token=x"]
    assert EuFsf.Options().url == URL and "token=dG9rZW4tMjAxNw" in URL
    assert not adapter.sends_names and adapter.expect_min_records == 4370


BIRTHDATES = [
    (
        "full",
        'birthdate="1924-02-21" year="1924" circa="false" calendarType="GREGORIAN"',
        ["1924-02-21"],
        "1924-02-21",
    ),
    ("year only", 'year="1955"', ["1955"], "1955"),
    ("year and month", 'year="1955" monthOfYear="7"', ["1955-07"], "1955-07"),
    ("circa", 'year="1955" circa="true"', ["1955", "1954", "1956"], "circa 1955"),
    ("islamic calendar", 'year="1380" calendarType="ISLAMIC"', [], "1380 (islamic calendar)"),
    ("nothing", 'city="Kabul"', [], None),
]


@pytest.mark.parametrize(
    ("attrs", "dates", "text"), [c[1:] for c in BIRTHDATES], ids=[c[0] for c in BIRTHDATES]
)
def test_birth_dates(attrs: str, dates: list[str], text: str | None) -> None:
    record = _entity(f"<birthdate {attrs}/>")
    assert list(record.birth_dates) == dates
    assert record.fields.get("birth_dates") == text


def test_citizenship_codes_and_unknown_00() -> None:
    record = _entity(
        '<citizenship countryIso2Code="RU" countryDescription="RUSSIAN FEDERATION"/>'
        '<citizenship countryIso2Code="00" countryDescription="UNKNOWN"/>'
    )
    assert record.nationalities == ("RU",)
    assert record.fields["citizenships"] == "RUSSIAN FEDERATION"


def test_names_from_whole_name_or_parts_with_language() -> None:
    record = _entity(
        '<nameAlias wholeName="Ivan IVANOV" nameLanguage="" strong="true"/>'
        '<nameAlias firstName="Иван" lastName="Иванов" wholeName="" nameLanguage="RU" strong="false"/>'
    )
    assert record.names == ("Ivan IVANOV", "Иван Иванов")
    assert record.fields["aliases"] == "Ivan IVANOV; Иван Иванов (RU, weak)"
    assert record.title == "EU sanctions EU.5.1: Ivan IVANOV"


def test_a_new_regulation_changes_regulations_and_programmes() -> None:
    reg = '<regulation numberTitle="{n}" programme="{p}" publicationDate="{d}" regulationType="amendment">\
<publicationUrl>http://eur-lex/{n}</publicationUrl></regulation>'
    one = _entity(reg.format(n="2014/1", p="UKR", d="2014-03-17"))
    two = _entity(
        reg.format(n="2022/2", p="RUS", d="2022-02-25") + reg.format(n="2014/1", p="UKR", d="2014-03-17")
    )
    assert one.fields["programmes"] == "UKR" and two.fields["programmes"] == "RUS; UKR"
    assert two.fields["regulations"].startswith("2014/1, amendment, UKR, published 2014-03-17; 2022/2")
    assert one.url == two.url == "http://eur-lex/2014/1"  # the listing act, stable across amendments


BROKEN = [
    ("empty", b""),
    ("html error page", b"<html><body><h1>500 Internal Server Error</h1></body></html>"),
    ("wrong root", b"<sdnList><sdnEntry><uid>1</uid></sdnEntry></sdnList>"),
    ("truncated", f'<export {NS}><sanctionEntity logicalId="1"><nameAlias wholeName="A"/>'.encode()),
    ("no logicalId", f'<export {NS}><sanctionEntity euReferenceNumber="EU.1"/></export>'.encode()),
]


@pytest.mark.parametrize("body", [b for _, b in BROKEN], ids=[n for n, _ in BROKEN])
def test_broken_bodies_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        EuFsf(EuFsf.Options()).parse(_fetched(body))


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


# --- An unchanged download costs no parse (through the real CLI) ----------------------------------

FSF_CONFIG = """
[watcher]
database = "sqlite:///{db}"
retries = 0
[[person]]
id = "p1"
name = "Robert Gabriel Mugabe"
birth_date = "1924-02-21"
[[source]]
id = "eu"
adapter = "eu_fsf"
expect_min_records = 0
[source.options]
url = "{base}/fsf.xml"
[[channel]]
id = "team"
url_env = "TEAM"
[[subscription]]
channel = "team"
"""


def test_an_unchanged_download_same_hash_or_304_is_not_parsed(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 25 MB list must not be parsed again when nothing changed: neither when the body's sha256 is
    the stored one, nor when the server answers 304 to the conditional GET. A changed body is parsed."""
    parses: list[str] = []
    real_parse = EuFsf.parse

    def counted(self: EuFsf, fetched: Fetched) -> Any:
        parses.append(fetched.sha256)
        return real_parse(self, fetched)

    monkeypatch.setattr(EuFsf, "parse", counted)
    config = tmp_path / "watcher.toml"
    config.write_text(FSF_CONFIG.format(db=tmp_path / "w.db", base=farm.base))
    first, changed = ((FIXTURES / "e2e" / f"step{n}.xml").read_bytes() for n in (1, 2))
    rounds = [
        (Route("/fsf.xml", first, "application/xml", headers={"ETag": '"v1"'}), 1),  # first sight: parsed
        (Route("/fsf.xml", first, "application/xml", headers={"ETag": '"v1"'}), 0),  # same sha256
        (Route("/fsf.xml", b"", "application/xml", status=304), 0),  # the server says: not modified
        (Route("/fsf.xml", changed, "application/xml", headers={"ETag": '"v2"'}), 1),  # a real change
    ]
    for number, (route, parsed) in enumerate(rounds, 1):
        farm.set_routes([route])
        before = len(parses)
        result = run_cli("check", "-c", str(config), env={"TEAM": receiver.url})
        assert result.code == 0, result.stdout
        assert len(parses) - before == parsed, f"round {number}"
    assert len(farm.hits) == 4, "every round asked the source"
    assert [m["title"].split(":")[0] for m in receiver.messages] == ["[watcher] New", "[watcher] Changed"]
