"""interpol_notices: the requests a watchlist makes, the 160 cap, details, and what a broken body does.

`run_scenario` also lives here: it replays an adapter's e2e/scenario.json the way the pipeline will
(routes, follow-ups, details only for matched records, diff by key) so the scenario data is checked
before the real harness exists. test_rss, test_html_list and test_json_list import it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import ValidationError

from sources.interpol_notices import InterpolNotices, InterpolOptions, name_query, partial_date
from tests.support.cli import run_cli, write_config
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_adapters_e2e import _route as e2e_route
from tests.test_adapters_e2e import write_config as e2e_config
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


COUNTRIES = (FIXTURES / "interpol_notices" / "countries_synthetic.json").read_bytes()


def test_over_the_cap_slices_by_nationality_then_sex_then_age_then_halves() -> None:
    notices = SAMPLE["_embedded"]["notices"]
    ours = adapter(countries_url="http://127.0.0.1:8/countries")
    top = ours.parse(fetched(list_request(arrestWarrantCountryId="RU", page="1"), list_body(3000, notices)))
    assert not top.records, "a capped first page would flap in and out: the slices cover it"
    [countries] = top.follow
    assert countries.url == "http://127.0.0.1:8/countries" and not countries.params

    by_country = ours.parse(fetched(countries, COUNTRIES))
    assert [f.params["nationality"] for f in by_country.follow][:3] == ["BY", "GE", "KG"]
    assert len(by_country.follow) == 10
    assert all(f.params["arrestWarrantCountryId"] == "RU" for f in by_country.follow)

    russians = next(f for f in by_country.follow if f.params["nationality"] == "RU")
    by_nationality = ours.parse(fetched(russians, list_body(2900, notices)))
    assert [f.params["sexId"] for f in by_nationality.follow] == ["F", "M", "U"]
    assert all(f.params["nationality"] == "RU" for f in by_nationality.follow)

    by_sex = ours.parse(fetched(by_nationality.follow[1], list_body(2700, notices)))
    bands = [(f.params["ageMin"], f.params["ageMax"]) for f in by_sex.follow]
    assert bands[0] == ("0", "24") and bands[-1] == ("80", "120") and len(bands) == 13
    assert all(f.params["sexId"] == "M" and f.params["nationality"] == "RU" for f in by_sex.follow)

    band = ours.parse(fetched(by_sex.follow[1], list_body(300, notices)))
    assert [(f.params["ageMin"], f.params["ageMax"]) for f in band.follow] == [("25", "27"), ("28", "29")]


def test_a_nationality_filter_of_the_operator_is_sliced_by_sex() -> None:
    request = list_request(nationality="KZ", page="1")
    result = adapter().parse(fetched(request, list_body(400, SAMPLE["_embedded"]["notices"])))
    assert [(f.params["nationality"], f.params["sexId"]) for f in result.follow] == [
        ("KZ", "F"),
        ("KZ", "M"),
        ("KZ", "U"),
    ]


def _notices(ids: range, **fields: Any) -> list[dict[str, Any]]:
    """List entries in the recorded list's shape, with distinct ids (test data, not a recording)."""
    return [{**SAMPLE["_embedded"]["notices"][1], "entity_id": f"2026/{i}", **fields} for i in ids]


def _sliced_round(ours: InterpolNotices, root_total: int, slices: dict[str, list[dict[str, Any]]]) -> bool:
    """Parse a sliced query the way the round does (root, country list, each nationality slice, in
    order) and return whether the round is complete."""
    top = ours.parse(fetched(list_request(arrestWarrantCountryId="RU", page="1"), list_body(root_total)))
    countries = [f"[{', '.join(json.dumps({'value': c}) for c in slices)}]".encode()]
    results = [top, ours.parse(fetched(top.follow[0], countries[0]))]
    for request in results[1].follow:
        found = slices[request.params["nationality"]]
        results.append(ours.parse(fetched(request, list_body(len(found), found))))
    return all(r.complete for r in results)


@pytest.mark.parametrize(
    ("root_total", "slices", "complete"),
    [
        pytest.param(
            200, {"RU": _notices(range(150)), "UA": _notices(range(150, 200))}, True, id="all-found"
        ),
        pytest.param(
            200,
            {"RU": _notices(range(150)), "UA": _notices(range(140, 200), nationalities=["RU", "UA"])},
            True,
            id="dual-nationals-counted-once",
        ),
        pytest.param(
            200,
            {"RU": _notices(range(150)), "UA": _notices(range(140, 190), nationalities=["RU", "UA"])},
            False,
            id="ten-in-no-slice",
        ),
        pytest.param(200, {"RU": _notices(range(150)), "UA": []}, False, id="fifty-in-no-slice"),
    ],
)
def test_a_sliced_query_is_complete_only_if_its_slices_found_its_total(
    root_total: int, slices: dict[str, list[dict[str, Any]]], complete: bool
) -> None:
    assert _sliced_round(adapter(), root_total, slices) is complete


def test_undated_notices_in_no_age_slice_make_the_round_incomplete() -> None:
    """Regression: age bands cannot catch a notice without a birth date, yet the round said complete."""
    ours, dated = adapter(), _notices(range(170))
    top = ours.parse(fetched(list_request(nationality="KZ", page="1"), list_body(175)))  # 5 undated
    results = [top]
    for by_sex in top.follow:
        results.append(ours.parse(fetched(by_sex, list_body(170 if by_sex.params["sexId"] == "M" else 0))))
    in_band = {"25": dated[:85], "30": dated[85:]}  # the 170 dated notices, in two age bands
    for band in results[2].follow:
        found = in_band.get(band.params["ageMin"], [])
        results.append(ours.parse(fetched(band, list_body(len(found), found))))
    assert all(r.complete for r in results[:-1]) and results[-1].complete is False
    assert len({r.key for res in results for r in res.records}) == 170


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


@pytest.mark.parametrize(
    "body",
    [b"<html>Access Denied</html>", b'{"value": "KZ"}', b"[]", b'[{"value": "Kazakhstan"}, {"label": "KZ"}]'],
    ids=["bot-wall-html", "not-an-array", "empty", "no-iso-values"],
)
def test_a_country_list_without_iso_codes_is_a_parse_error(body: bytes) -> None:
    request = SourceRequest("https://www.interpol.int/en/notices/data/countries", purpose="countries:")
    with pytest.raises(ParseError, match=r"not JSON|country list"):
        adapter().parse(fetched(request, body))


def test_detail_requests_carry_the_hash_of_their_list_entry() -> None:
    """The round reuses a stored detail while its list entry is unchanged, and asks again once it changes."""
    notices = SAMPLE["_embedded"]["notices"]
    changed = [*notices[:2], {**notices[2], "nationalities": ["PL", "DE"]}]
    first, again, after = (
        {
            f.for_record: f.reuse_token
            for f in adapter().parse(fetched(list_request(), list_body(3, n))).follow
        }
        for n in (notices, [dict(reversed(list(i.items()))) for i in notices], changed)
    )
    assert all(first.values()) and first == again, "key order in the body must not matter"
    assert [k for k in first if first[k] != after[k]] == ["2021/15457"]


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


def run_scenario(name: str, variant: str = "e2e") -> None:
    """Replay tests/fixtures/<name>/<variant>/scenario.json and check every step's expected alerts."""
    folder = FIXTURES / name / variant
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


@pytest.mark.parametrize("variant", ["e2e", "e2e-yellow", "e2e-un"])
def test_e2e_scenario_data(variant: str) -> None:
    run_scenario("interpol_notices", variant)


# -- through the real CLI: a local INTERPOL, a real Apprise receiver, a real SQLite file -------------

E2E = FIXTURES / "interpol_notices" / "e2e"
DETAIL_RYBA = json.loads((E2E / "step1_detail_2021-15457_synthetic.json").read_text())
CLI_CONFIG = """
[watcher]
database = "sqlite:///{db}"
retries = 0
[[person]]
id = "ryba"
name = "Piotr Robert Ryba"
[[person]]
id = "pintos"
name = "Edgar Gonzalo Pintos Montero"
[[source]]
id = "interpol"
adapter = "interpol_notices"
[source.options]
base_url = "{base}"
countries_url = "{base}/countries"
arrest_warrant_country = "{country}"
by_name = false
[[channel]]
id = "team"
url_env = "TEAM"
[[subscription]]
channel = "team"
"""


def _cli_config(tmp_path: Path, farm: SourceFarm, country: str = "PL") -> Path:
    text = CLI_CONFIG.format(db=tmp_path / "w.db", base=farm.base, country=country)
    return write_config(tmp_path / "watcher.toml", text)


def _json_route(path: str, body: bytes | dict[str, Any], status: int = 200, **query: str) -> Route:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Route(path, raw, content_type="application/json", status=status, query=query)


def _check(config: Path, receiver: JsonReceiver) -> None:
    result = run_cli("check", "-c", str(config), env={"TEAM": receiver.url})
    assert result.code == 0, result.stdout + result.stderr


def _details(farm: SourceFarm) -> list[str]:
    return sorted(hit.split("?")[0] for hit in farm.hits if hit.startswith("/notices/v1/red/"))


def test_a_detail_is_fetched_only_for_a_new_or_changed_list_entry(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    pintos = {**DETAIL_RYBA, "entity_id": "2021/75051", "name": "PINTOS MONTERO", "forename": "EDGAR GONZALO"}
    pintos |= {"date_of_birth": "1979/01/17", "nationalities": ["UY"]}
    details = [
        _json_route("/notices/v1/red/2021-15457", DETAIL_RYBA),
        _json_route("/notices/v1/red/2021-75051", pintos),
    ]
    config = _cli_config(tmp_path, farm)
    for step, list_body_ in enumerate(["step1_list.json", "step1_list.json", "step2_list.json"]):
        farm.hits.clear()
        farm.set_routes([_json_route("/notices/v1/red", (E2E / list_body_).read_bytes()), *details])
        _check(config, receiver)
        assert (
            _details(farm)
            == [
                ["/notices/v1/red/2021-15457", "/notices/v1/red/2021-75051"],  # both watched, both new
                [],  # nothing changed: the stored details are reused
                ["/notices/v1/red/2021-15457"],  # only RYBA's list entry changed (a new photo)
            ][step]
        ), f"round {step + 1}"
    assert len(receiver.messages) == 2 and all("New:" in m["title"] for m in receiver.messages)


def test_a_reused_detail_is_fetched_again_after_its_max_age(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reuse is not forever: a new arrest warrant shows in the detail, not in the list entry."""
    farm.set_routes(
        [
            _json_route("/notices/v1/red", (E2E / "step1_list.json").read_bytes()),
            _json_route("/notices/v1/red/2021-15457", DETAIL_RYBA),
        ]
    )
    config = _cli_config(tmp_path, farm)
    _check(config, receiver)
    farm.hits.clear()
    _check(config, receiver)
    assert _details(farm) == [], "young and unchanged: reused"
    monkeypatch.setattr(InterpolNotices, "reuse_max_age", timedelta(0))
    _check(config, receiver)
    assert _details(farm) == ["/notices/v1/red/2021-15457"], "older than reuse_max_age: fetched again"


def test_two_refused_rounds_pause_the_source(tmp_path: Path, farm: SourceFarm) -> None:
    """INTERPOL sits behind bot protection: after two 403s in a row the source waits (circuit breaker)."""
    farm.set_routes([Route("/notices/v1/red", b"<html>Access Denied</html>", status=403)])
    config = _cli_config(tmp_path, farm)
    for _ in range(2):
        assert run_cli("check", "-c", str(config), env={"TEAM": "json://127.0.0.1:9/x"}).code == 1
    status = run_cli("status", "-c", str(config), env={"TEAM": "json://127.0.0.1:9/x", "COLUMNS": "300"})
    assert status.code == 1 and "failing" in status.stdout
    table = " ".join(status.stdout.replace("│", " ").split())  # the error cell may wrap over lines
    assert "HTTP 403" in table and "paused until" in table, status.stdout


@pytest.mark.parametrize("variant", ["e2e-yellow", "e2e-un"])
def test_a_removed_notice_alert_says_it_may_only_have_been_made_non_public(
    variant: str, tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """Steps 1 (new) and 4 (removed) of the Yellow and UN scenarios, through the CLI: the delivered
    `removed` alert carries the adapter's removal note (SOURCES.md section 0.2)."""
    folder = FIXTURES / "interpol_notices" / variant
    scenario = json.loads((folder / "scenario.json").read_text())
    config = tmp_path / "watcher.toml"
    e2e_config(config, scenario, "interpol_notices", farm.base)
    for step in (scenario["steps"][0], scenario["steps"][3]):
        farm.set_routes([e2e_route(folder, r, farm.base) for r in step["routes"]])
        assert run_cli("check", "-c", str(config), env={"E2E_RECEIVER": receiver.url}).code == 0
    new, removed = receiver.messages
    assert "New:" in new["title"] and "Removed:" in removed["title"]
    text = " ".join(removed["message"].split())
    assert " ".join(InterpolNotices.removal_note.split()) in text
    assert "deleted" in text and "only made non-public" in text and "non-public" not in new["message"]


def test_a_sliced_round_that_misses_undated_notices_reads_nothing_as_removed(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """Regression, through the CLI: RYBA's notice (here without a birth date or nationality) is stored
    while the RU query fits the cap; once the query is over the cap its slices cannot reach him, and
    the round must not read him as removed. When the slices do find every notice, his absence is a
    removal. List bodies are test data in the recorded list's shape."""
    ryba = {**SAMPLE["_embedded"]["notices"][2], "date_of_birth": None, "nationalities": []}
    others = _notices(range(170))
    by_country = {"RU": others[:100], "UA": others[100:]}  # the other 8 listed countries: none

    def publish(root: list[dict[str, Any]], total: int, sliced: dict[str, list[dict[str, Any]]]) -> None:
        slices = [
            _json_route("/notices/v1/red", list_body(len(n), n), arrestWarrantCountryId="RU", nationality=c)
            for c, n in sliced.items()
        ]
        farm.set_routes(
            [
                _json_route("/notices/v1/red", list_body(total, root), arrestWarrantCountryId="RU"),
                *slices,
                _json_route("/countries", COUNTRIES),
                _json_route("/notices/v1/red/2021-15457", {**DETAIL_RYBA, "date_of_birth": None}),
            ]
        )

    config = _cli_config(tmp_path, farm, country="RU")
    every = {c["value"]: [] for c in json.loads(COUNTRIES)}
    publish([ryba, *others[:2]], 3, {})
    _check(config, receiver)
    publish([], 171, {**every, **by_country})  # 171 notices, 170 in the slices: RYBA is in none
    _check(config, receiver)
    assert [m["title"].split(":")[0] for m in receiver.messages] == ["[watcher] New"]
    assert sum("nationality=" in hit for hit in farm.hits) == 10, "one request per listed nationality"
    publish([], 170, {**every, **by_country})  # now the slices find all 170: RYBA's notice is gone
    _check(config, receiver)
    assert [m["title"].split(":")[0] for m in receiver.messages] == ["[watcher] New", "[watcher] Removed"]


def test_a_reused_404_detail_still_reads_as_gone(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """Regression: a detail that answered 404 (the notice is being withdrawn, the list lags) was reused
    in the next round as if it had answered 200, and its 404 body failed the round as "not JSON"."""
    gone = (FIXTURES / "interpol_notices" / "red_detail_404.json").read_bytes()
    listing = json.loads((E2E / "step1_list.json").read_text())
    config = _cli_config(tmp_path, farm)
    for unrelated in (["BR"], ["BR", "PT"]):  # the second list differs, so the round is parsed again
        listing["_embedded"]["notices"][1]["nationalities"] = unrelated
        farm.set_routes(
            [
                _json_route("/notices/v1/red", listing),
                _json_route("/notices/v1/red/2021-15457", gone, status=404),
                _json_route("/notices/v1/red/2021-75051", b"not found", status=404),
            ]
        )
        farm.hits.clear()
        _check(config, receiver)
    assert _details(farm) == [], "the second round reuses both stored 404 answers"
    assert receiver.messages == []
