"""hudoc: RSS and JSON query requests, paging under the 10,000 cap by kpdate halves, itemids, dates."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from sources.hudoc import Hudoc, Options, _applicants, _iso_date, _itemid
from tests.test_uk_court_lists import FIXTURES, make_fetched, replay_scenario
from watcher.errors import ParseError
from watcher.models import ParseResult, Person, Query, SourceRequest

RSS = (FIXTURES / "hudoc" / "echr_rss_trimmed.xml").read_text()
ROWS = json.loads((FIXTURES / "hudoc" / "query_results_synthetic.json").read_text())["results"]
NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
PEOPLE = (Person(id="p1", name="Ivan Ivanov", aliases=('Ivan "Vanya" Ivanov',)),)


def test_rss_request_carries_the_hudoc_query() -> None:
    adapter = Hudoc(Options(base_url="http://127.0.0.1:9", respondents=("BEL", "RUS"), days_back=30))
    [request] = adapter.requests(Query(people=PEOPLE, now=NOW))
    assert request.url == "http://127.0.0.1:9/app/transform/rss"
    assert {k: v for k, v in request.params.items() if k != "query"} == {
        "library": "echreng",
        "sort": "",
        "start": "1",
    }
    q = request.params["query"]
    assert q.startswith("contentsitename:ECHR AND (NOT (doctype=PR OR doctype=HFCOMOLD OR doctype=HECOMOLD))")
    assert 'documentcollectionid2="COMMUNICATEDCASES"' in q
    assert '(respondent="BEL" OR respondent="RUS")' in q
    assert q.endswith('(kpdate>="2025-05-31" AND kpdate<="2025-06-30")')
    assert "Ivanov" not in q  # names are sent only when asked


def test_applicant_searches_send_each_persons_names_as_phrases() -> None:
    adapter = Hudoc(
        Options(mode="query", applicants_from_watchlist=True, from_date=date(2020, 1, 1), page_size=900)
    )
    [request] = adapter.requests(Query(people=PEOPLE, now=NOW))
    assert request.url == "https://hudoc.echr.coe.int/app/query/results"
    assert request.params["query"].count('("Ivan Ivanov") OR ("Ivan Vanya Ivanov")') == 1
    assert '(kpdate>="2020-01-01" AND kpdate<="2025-06-30")' in request.params["query"]
    assert (request.params["start"], request.params["length"]) == ("0", "500")  # never above 500
    assert request.params["sort"] == "kpdate Descending" and "itemid" in request.params["select"]


def query_result(
    total: int,
    start: int,
    lo: str = "2025-01-01",
    hi: str = "2025-06-30",
    rows: Any = None,
    from_date: date | None = None,
) -> ParseResult:
    adapter = Hudoc(Options(mode="query", from_date=from_date))
    q = f'contentsitename:ECHR AND (kpdate>="{lo}" AND kpdate<="{hi}")'
    request = adapter._request(q, start)
    body = json.dumps({"resultcount": total, "results": ROWS if rows is None else rows}).encode()
    return adapter.parse(make_fetched(request, body))


@pytest.mark.parametrize(
    ("total", "start", "next_start"),
    [(3, 0, None), (1203, 0, "500"), (1203, 1000, None), (10_000, 9000, "9500"), (10_000, 9500, None)],
)
def test_pages_stop_at_the_end_or_at_the_cap(total: int, start: int, next_start: str | None) -> None:
    result = query_result(total, start)
    assert len(result.records) == 3 and not result.complete
    assert [r.params["start"] for r in result.follow] == ([next_start] if next_start else [])


FIXED = date(2025, 1, 1)


@pytest.mark.parametrize(
    ("total", "start", "lo", "from_date", "complete"),
    [
        (3, 0, "2025-01-01", FIXED, True),
        (1203, 0, "2025-01-01", FIXED, True),
        (503, 500, "2025-01-01", FIXED, True),
        (1203, 1000, "2025-01-01", FIXED, False),
        (25_000, 0, "2025-01-01", FIXED, True),
        (25_000, 0, "2025-06-30", FIXED, True),
        (25_000, 9500, "2025-06-30", FIXED, False),
        (3, 0, "2025-01-01", None, False),
    ],
    ids=[
        "one page",
        "a first page whose next page is fetched",
        "the last page",
        "a page short of its rows",
        "split into halves",
        "one oversized day, paging on",
        "one oversized day, past the 10,000 cap",
        "a sliding days_back range",
    ],
)
def test_a_search_is_complete_when_every_row_is_fetched_over_a_fixed_range(
    total: int, start: int, lo: str, from_date: date | None, complete: bool
) -> None:
    """Documents that age out of a sliding range, or sit past the cap, must not read as removals."""
    hi = "2025-06-30"
    assert query_result(total, start, lo=lo, hi=hi, from_date=from_date).complete is complete
    assert Hudoc.removal_grace_rounds == 1 and "withdrawn" in Hudoc.removal_note


def test_rss_is_never_complete() -> None:
    request = Hudoc(Options(from_date=FIXED)).requests(Query(people=PEOPLE, now=NOW))[0]
    assert Hudoc(Options(from_date=FIXED)).parse(make_fetched(request, RSS.encode())).complete is False


def test_an_oversized_search_is_split_into_date_halves() -> None:
    result = query_result(25_000, 0)
    assert result.records == []
    ranges = [r.params["query"].split("AND (", 1)[1] for r in result.follow]
    assert ranges == [
        'kpdate>="2025-01-01" AND kpdate<="2025-04-01")',
        'kpdate>="2025-04-02" AND kpdate<="2025-06-30")',
    ]
    assert {r.params["start"] for r in result.follow} == {"0"}


def test_a_single_oversized_day_pages_to_the_cap_instead() -> None:
    result = query_result(25_000, 0, lo="2025-05-22", hi="2025-05-22")
    assert len(result.records) == 3 and [r.params["start"] for r in result.follow] == ["500"]


def test_a_communicated_case_is_marked() -> None:
    record = query_result(3, 0).records[2]
    assert (
        record.fields["collections"] == "CASELAW; COMMUNICATEDCASES; ENG"
        and record.fields["doctype"] == "HECOM"
    )
    assert "communicated case" in record.title and record.names == ("PETROV",)


@pytest.mark.parametrize(
    ("link", "itemid"),
    [
        ('http://hudoc.echr.coe.int/eng#{"itemid":["001-243188"]}', "001-243188"),
        ("https://hudoc.echr.coe.int/eng?i=001-243188", "001-243188"),
        ("http://hudoc.echr.coe.int/eng#{%22itemid%22:[%22001-57574%22]}", "001-57574"),
        ("http://hudoc.echr.coe.int/eng", ""),
    ],
)
def test_itemid_from_links(link: str, itemid: str) -> None:
    assert _itemid(link) == itemid


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("CASE OF GEVORGYAN v. ARMENIA", ("GEVORGYAN",)),
        ("CASE OF DE GALBERT DEFFOREY AND OTHERS v. FRANCE", ("DE GALBERT DEFFOREY",)),
        ("IVANOV AND PETROV v. RUSSIA", ("IVANOV", "PETROV")),
        ("Guide on Article 5", ()),
    ],
)
def test_applicants_from_titles(title: str, names: tuple[str, ...]) -> None:
    assert _applicants(title) == names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-02T00:00:00", "2024-01-02"),
        ("22/05/2025", "2025-05-22"),
        ("2/5/2025 12:00:00", "2025-05-02"),
        ("", ""),
    ],
)
def test_kpdate_normalisation(raw: str, expected: str) -> None:
    assert _iso_date(raw) == expected


def test_rss_dates_and_application_numbers() -> None:
    request = SourceRequest("https://hudoc.echr.coe.int/app/transform/rss", purpose="rss")
    records = Hudoc(Options()).parse(make_fetched(request, RSS.encode())).records
    assert [r.fields["date"] for r in records] == ["2025-05-22"] * 3 + ["2025-05-20"] * 3
    assert records[2].fields["appno"] == "45443/21; 45483/21; 8701/23"


@pytest.mark.parametrize(
    ("body", "purpose", "message"),
    [
        ("{}", "search", "expected HUDOC JSON"),
        ('{"resultcount": "many", "results": []}', "search", "expected HUDOC JSON"),
        (
            '{"resultcount": 1, "results": [{"columns": {"docname": "X v. Y"}}]}',
            "search",
            "no columns.itemid",
        ),
        ('{"resultcount": 1, "results": [7]}', "search", "no columns.itemid"),
        ("<html><body>Just a moment...</body></html>", "search", "expected an RSS"),
        ("<rss/>", "rss", "expected an RSS"),
        (RSS.replace('#{"itemid":["001-243188"]}', ""), "rss", "no HUDOC itemid"),
    ],
)
def test_broken_bodies_raise_parse_error_naming_the_url(body: str, purpose: str, message: str) -> None:
    request = SourceRequest("https://hudoc.echr.coe.int/app/query/results", purpose=purpose)
    with pytest.raises(ParseError, match=message) as err:
        Hudoc(Options(mode="query")).parse(make_fetched(request, body.encode()))
    assert "hudoc.echr.coe.int" in str(err.value)


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay_scenario("hudoc")
    replay_scenario("hudoc", "e2e-query")
