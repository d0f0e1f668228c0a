"""interpol_notices: the requests a watchlist makes, the 160 cap, details, and what a broken body does.

`run_scenario` also lives here: it replays an adapter's e2e/scenario.json the way the pipeline will
(routes, follow-ups, details only for matched records, diff by key) so the scenario data is checked
before the real harness exists. test_rss, test_html_list and test_json_list import it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import ValidationError

from sources.interpol_notices import InterpolNotices, InterpolOptions, name_query, partial_date
from watcher.errors import ParseError
from watcher.match import Matcher
from watcher.models import Fetched, ParseResult, Person, Query, Record, SourceRequest
from watcher.registry import load_registry

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://ws-public.interpol.int"
SAMPLE = json.loads((FIXTURES / "interpol_notices" / "red_list_page1.json").read_text())


def fetched(request: SourceRequest, body: bytes | dict[str, Any], status: int = 200) -> Fetched:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    return Fetched(
        request=request,
        url=request.url,
        status=status,
        headers={"content-type": "application/json"},
        body=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def adapter(**options: Any) -> InterpolNotices:
    return InterpolNotices(InterpolOptions(**options))


def list_body(total: int, notices: list[dict[str, Any]] | None = None, more: bool = False) -> dict[str, Any]:
    links = {"self": {"href": "x"}, **({"next": {"href": "y"}} if more else {})}
    return {"total": total, "_embedded": {"notices": notices or []}, "_links": links}


def list_request(**params: str) -> SourceRequest:
    return SourceRequest(f"{BASE}/notices/v1/red", params=params, purpose="list")


# -- requests -------------------------------------------------------------------------------------

PEOPLE = (
    Person(id="p1", name="Bota Jardemalie", aliases=("JARDEMALIE Botagoz", "Жардемали Ботагоз")),
    Person(id="p2", name="Mukhtar Ablyazov", aliases=("Ablyazov, Mukhtar",)),  # same query twice: sent once
)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(
            {"arrest_warrant_country": "kz", "by_name": False},
            [{"arrestWarrantCountryId": "KZ"}],
            id="country-filter-only",
        ),
        pytest.param(
            {"nationality": "UA", "arrest_warrant_country": "RU", "by_name": False},
            [{"arrestWarrantCountryId": "RU", "nationality": "UA"}],
            id="both-filters-in-one-query",
        ),
        pytest.param({"by_name": False}, [{}], id="no-filter-no-names-is-the-whole-list"),
        pytest.param(
            {},
            [
                {"name": "Jardemalie", "forename": "Bota"},
                {"name": "JARDEMALIE", "forename": "Botagoz"},
                {"name": "Ablyazov", "forename": "Mukhtar"},
            ],
            id="names-only-latin-forms-deduplicated",
        ),
        pytest.param(
            {"arrest_warrant_country": "KZ"},
            [
                {"arrestWarrantCountryId": "KZ"},
                {"name": "Jardemalie", "forename": "Bota"},
                {"name": "JARDEMALIE", "forename": "Botagoz"},
                {"name": "Ablyazov", "forename": "Mukhtar"},
            ],
            id="filter-and-names",
        ),
        pytest.param(
            {"notice": "un"},
            [{"name": "Jardemalie"}, {"name": "Ablyazov"}],
            id="un-takes-no-forename",
        ),
    ],
)
def test_requests_from_options_and_watchlist(options: dict[str, Any], expected: list[dict[str, str]]) -> None:
    requests = adapter(**options).requests(Query(PEOPLE))
    assert [
        {k: v for k, v in r.params.items() if k not in ("page", "resultPerPage")} for r in requests
    ] == expected
    for r in requests:
        assert r.params["resultPerPage"] == "160" and r.params["page"] == "1" and r.purpose == "list"


@pytest.mark.parametrize(
    ("notice", "url"),
    [
        ("red", "http://127.0.0.1:8/notices/v1/red"),
        ("yellow", "http://127.0.0.1:8/notices/v1/yellow"),
        ("un", "http://127.0.0.1:8/notices/v1/un/persons"),
    ],
)
def test_base_url_and_notice_choose_the_endpoint(notice: str, url: str) -> None:
    [request] = adapter(base_url="http://127.0.0.1:8/", notice=notice, by_name=False).requests(Query(()))
    assert request.url == url


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("Bota Jardemalie", ("Jardemalie", "Bota")),
        ("JARDEMALIE Bota", ("JARDEMALIE", "Bota")),
        ("PINTOS MONTERO Edgar Gonzalo", ("PINTOS MONTERO", "Edgar Gonzalo")),
        ("Jardemalie, Bota", ("Jardemalie", "Bota")),
        ("Edgar Gonzalo Pintos Montero", ("Montero", "Edgar Gonzalo Pintos")),
        ("Ryba", ("Ryba", "")),
        ("Müller Jörg", ("Jörg", "Müller")),
        ("Жардемали Ботагоз", None),
        ("Bota Жардемали", None),
        ("   ", None),
    ],
)
def test_name_query_splits_latin_forms_and_skips_others(form: str, expected: tuple[str, str] | None) -> None:
    assert name_query(form) == expected


@pytest.mark.parametrize(
    "options",
    [
        {"arrest_warrant_country": "Kazakhstan"},
        {"nationality": "914"},
        {"notice": "yellow", "arrest_warrant_country": "KZ"},
        {"notice": "un", "nationality": "KZ"},
        {"notice": "blue"},
        {"unknown": 1},
    ],
)
def test_bad_options_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        InterpolOptions(**options)


def test_tribunal_codes_are_accepted_as_warrant_countries() -> None:
    assert InterpolOptions(arrest_warrant_country="914").arrest_warrant_country == "914"


# -- list parsing, cap and slicing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1982/12/02", "1982-12-02"),
        ("1982/12", "1982-12"),
        ("1982", "1982"),
        ("1982/00/00", "1982"),
        ("1982/13/01", None),
        ("02/12/1982", None),
        ("", None),
        (None, None),
        (1982, None),
    ],
)
def test_birth_dates_are_normalised(value: Any, expected: str | None) -> None:
    assert partial_date(value) == expected


def test_a_list_under_the_cap_is_complete_with_a_detail_request_per_notice() -> None:
    result = adapter().parse(
        fetched(list_request(arrestWarrantCountryId="PL"), list_body(3, SAMPLE["_embedded"]["notices"]))
    )
    assert result.complete and [r.key for r in result.records] == ["2021/75051", "2021/77523", "2021/15457"]
    details = [f for f in result.follow if f.purpose == "detail"]
    assert [(d.url, d.for_record) for d in details][2] == (f"{BASE}/notices/v1/red/2021-15457", "2021/15457")
    assert all(d.ok_statuses == {200, 404} for d in details)


def test_over_the_cap_slices_by_sex_then_age_then_halves() -> None:
    notices = SAMPLE["_embedded"]["notices"]
    top = adapter().parse(
        fetched(list_request(arrestWarrantCountryId="RU", page="1"), list_body(3000, notices))
    )
    assert not top.records, "a capped first page would flap in and out: the slices cover it"
    assert [f.params["sexId"] for f in top.follow] == ["F", "M", "U"]
    assert all(f.params["arrestWarrantCountryId"] == "RU" for f in top.follow)

    by_sex = adapter().parse(fetched(top.follow[1], list_body(2700, notices)))
    bands = [(f.params["ageMin"], f.params["ageMax"]) for f in by_sex.follow]
    assert bands[0] == ("0", "24") and bands[-1] == ("80", "120") and len(bands) == 13
    assert all(f.params["sexId"] == "M" for f in by_sex.follow)

    band = adapter().parse(fetched(by_sex.follow[1], list_body(300, notices)))
    assert [(f.params["ageMin"], f.params["ageMax"]) for f in band.follow] == [("25", "27"), ("28", "29")]


def test_a_slice_that_cannot_be_cut_further_is_kept_partial() -> None:
    request = list_request(sexId="M", ageMin="30", ageMax="30", page="1", resultPerPage="160")
    result = adapter().parse(fetched(request, list_body(400, SAMPLE["_embedded"]["notices"])))
    assert len(result.records) == 3 and result.complete is False


def test_un_lists_over_the_cap_are_partial_not_sliced() -> None:
    request = SourceRequest(
        f"{BASE}/notices/v1/un/persons", params={"name": "A", "page": "1"}, purpose="list"
    )
    result = adapter(notice="un").parse(fetched(request, list_body(500, SAMPLE["_embedded"]["notices"])))
    assert result.complete is False and all(f.purpose == "detail" for f in result.follow)


@pytest.mark.parametrize(
    ("page", "per_page", "total", "more", "next_page"),
    [
        ("1", "20", 100, True, "2"),  # the server clamped resultPerPage: follow `next`
        ("7", "20", 150, True, "8"),
        ("8", "20", 165, True, None),  # 8 x 20 = 160: the cap, stop even though `next` is there
        ("1", "160", 100, False, None),
        ("1", "20", 100, False, None),  # no `next` link: nothing to follow
    ],
)
def test_paging_follows_next_up_to_the_cap(
    page: str, per_page: str, total: int, more: bool, next_page: str | None
) -> None:
    request = list_request(sexId="M", ageMin="30", ageMax="30", page=page, resultPerPage=per_page)
    result = adapter().parse(fetched(request, list_body(total, SAMPLE["_embedded"]["notices"], more)))
    pages = [f.params["page"] for f in result.follow if f.purpose == "list"]
    assert pages == ([next_page] if next_page else [])


def test_repeated_notices_in_a_response_keep_one_record() -> None:
    notices = SAMPLE["_embedded"]["notices"]
    result = adapter().parse(fetched(list_request(), list_body(4, [*notices, notices[0]])))
    assert [r.key for r in result.records] == ["2021/75051", "2021/77523", "2021/15457"]


# -- details ---------------------------------------------------------------------------------------


def detail_request(key: str = "2019/114539") -> SourceRequest:
    return SourceRequest(f"{BASE}/notices/v1/red/{key.replace('/', '-')}", purpose="detail", for_record=key)


def test_detail_404_means_the_notice_is_gone() -> None:
    body = (FIXTURES / "interpol_notices" / "red_detail_404.json").read_bytes()
    result = adapter().parse(fetched(detail_request(), body, status=404))
    assert result.records == [] and result.removed == ("2019/114539",)


def test_detail_adds_arrest_warrants_and_keeps_the_key() -> None:
    body = json.loads((FIXTURES / "interpol_notices" / "red_detail_2019-114539.json").read_text())
    body["arrest_warrants"].append(
        {"issuing_country_id": "KZ", "charge": "Fraud", "charge_translation": "Мошенничество"}
    )
    del body["entity_id"]  # the key then comes from the request
    [record] = adapter().parse(fetched(detail_request(), body)).records
    assert record.key == "2019/114539"
    assert record.fields["arrest_warrant_countries"] == "KZ; RU"
    assert record.fields["arrest_warrants"] == (
        "KZ: Fraud (Мошенничество); RU: Participation in an illegal armed formation"
    )


def test_un_aliases_in_string_or_object_form_become_names() -> None:
    body = {
        "entity_id": "2099/1",
        "name": "X",
        "aliases": ["ALIAS ONE", {"name": "TWO", "forename": "ALIAS"}],
    }
    request = SourceRequest(f"{BASE}/notices/v1/un/persons/2099-1", purpose="detail", for_record="2099/1")
    [record] = adapter(notice="un").parse(fetched(request, body)).records
    assert record.names == ("X", "ALIAS ONE", "TWO ALIAS")


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        pytest.param(list_request(), b"<html>Access Denied</html>", id="bot-wall-html"),
        pytest.param(list_request(), b'{"total": 3, "_embedded": {"notices": {}}}', id="notices-not-a-list"),
        pytest.param(list_request(), b'{"_embedded": {"notices": []}}', id="no-total"),
        pytest.param(
            list_request(), b'{"total": true, "_embedded": {"notices": []}}', id="total-not-a-number"
        ),
        pytest.param(list_request(), b"[1, 2]", id="list-not-an-object"),
        pytest.param(detail_request(), b"[]", id="detail-not-an-object"),
        pytest.param(SourceRequest(f"{BASE}/x", purpose="detail"), b"{}", id="detail-without-any-key"),
    ],
)
def test_broken_bodies_raise_parse_error(request_: SourceRequest, body: bytes) -> None:
    with pytest.raises(ParseError):
        adapter().parse(fetched(request_, body))


def test_odd_items_are_skipped_not_fatal() -> None:
    notices = [
        None,
        3,
        {"entity_id": ""},
        {"entity_id": "2021/1", "name": None, "nationalities": "RU", "date_of_birth": 5},
    ]
    [record] = adapter().parse(fetched(list_request(), list_body(4, notices))).records  # type: ignore[arg-type]
    assert record.key == "2021/1" and record.nationalities == () and record.birth_dates == ()


def test_the_adapter_declares_what_the_pipeline_needs() -> None:
    assert InterpolNotices.sends_names is True
    assert {403, 413, 429, 503} <= InterpolNotices.retry_statuses
    assert "non-public" in InterpolNotices.removal_note and "deleted" in InterpolNotices.removal_note


# -- end-to-end scenario data ----------------------------------------------------------------------


def _serve(routes: list[dict[str, Any]], folder: Path, request: SourceRequest) -> tuple[int, bytes]:
    """The harness's routing: same path, route query a subset of the request's; most params wins."""
    parts = urlsplit(request.url)
    params = {**dict(parse_qsl(parts.query)), **request.params}
    fits = [r for r in routes if r["path"] == parts.path and r["query"].items() <= params.items()]
    if not fits:
        return 404, b""
    route = max(fits, key=lambda r: len(r["query"]))
    return route.get("status", 200), (folder / route["body"]).read_bytes()


def _round(
    adapter_: Any, routes: list[dict[str, Any]], folder: Path, matcher: Matcher, people: tuple[Person, ...]
) -> tuple[dict[str, Record], set[str], bool]:
    records: dict[str, Record] = {}
    removed: set[str] = set()
    complete = True
    queue = list(adapter_.requests(Query(people)))
    while queue:
        request = queue.pop(0)
        if request.for_record is not None:
            record = records.get(request.for_record)
            if record is None or not matcher.match_record(record):
                continue  # details only for records about a watched person
        status, body = _serve(routes, folder, request)
        assert status in request.ok_statuses, f"{request.url} {dict(request.params)} answered {status}"
        result: ParseResult = adapter_.parse(fetched(request, body, status))
        records.update((r.key, r) for r in result.records)  # a detail replaces the list entry
        for key in result.removed:
            records.pop(key, None)
            removed.add(key)
        queue.extend(result.follow)
        complete = complete and result.complete
    return records, removed, complete


def run_scenario(name: str) -> None:
    """Replay tests/fixtures/<name>/e2e/scenario.json and check every step's expected alerts."""
    folder = FIXTURES / name / "e2e"
    scenario = json.loads((folder / "scenario.json").read_text())
    options = json.loads(json.dumps(scenario["options"]).replace("{base}", "http://127.0.0.1:9"))
    adapter_cls = load_registry().get(name)
    adapter_ = adapter_cls(adapter_cls.Options(**options))
    people = tuple(Person(**p) for p in scenario["people"])
    matcher = Matcher(people)
    stored: dict[str, Record] = {}
    for number, step in enumerate(scenario["steps"], 1):
        records, removed, complete = _round(adapter_, step["routes"], folder, matcher, people)
        events = []
        for key, record in records.items():
            for match in matcher.match_record(record):
                if key not in stored:
                    events.append({"event": "new", "person": match.person_id, "record": key})
                elif record.content() != stored[key].content():
                    changed = {
                        f
                        for f in {*record.fields, *stored[key].fields}
                        if record.fields.get(f) != stored[key].fields.get(f)
                    }
                    events.append(
                        {"event": "changed", "person": match.person_id, "record": key, "fields": changed}
                    )
        for key in set(stored) - set(records) if complete else removed & set(stored):
            for match in matcher.match_record(stored[key]):
                events.append({"event": "removed", "person": match.person_id, "record": key})
        expected = step["expect"]
        got = [{k: v for k, v in e.items() if k != "fields"} for e in events]
        assert sorted(map(str, got)) == sorted(
            str({k: v for k, v in e.items() if k != "field"}) for e in expected
        ), f"step {number}"
        for e in expected:
            if "field" in e:
                assert any(e["field"] in g.get("fields", ()) for g in events), (
                    f"step {number}: {e['field']} unchanged"
                )
        stored = {**stored, **records} if not complete else records


def test_e2e_scenario_data() -> None:
    run_scenario("interpol_notices")
