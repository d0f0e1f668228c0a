"""courtlistener: searches built from the watchlist, the token placeholder, cursor paging, throttles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sources.courtlistener import Courtlistener, Options
from tests.support.servers import Route, SourceFarm
from tests.test_gdelt import paced_round
from tests.test_uk_court_lists import FIXTURES, make_fetched, replay_scenario
from watcher.errors import ParseError
from watcher.models import ParseResult, Person, Query, SourceRequest

RECAP = json.loads((FIXTURES / "courtlistener" / "search_recap_synthetic.json").read_text())
PEOPLE = (Person(id="p1", name="Aleksandr Volkov", aliases=("Александр Волков",)),)
SEARCH = "https://www.courtlistener.com/api/rest/v4/search/"


@pytest.mark.parametrize(
    ("options", "queries"),
    [
        ({}, ['"Aleksandr Volkov" OR "Александр Волков"']),
        ({"names_from_watchlist": False, "dockets": (68001234,)}, ["docket_id:68001234"]),
        (
            {"queries": ('caseName:"extradition"', 'caseName:"extradition"'), "dockets": (1, 2)},
            [
                'caseName:"extradition"',
                '"Aleksandr Volkov" OR "Александр Волков"',
                "docket_id:1",
                "docket_id:2",
            ],
        ),
    ],
    ids=["one search per person", "a watched docket", "queries, people, dockets; duplicates once"],
)
def test_searches(options: dict[str, object], queries: list[str]) -> None:
    requests = Courtlistener(Options(**options)).requests(Query(people=PEOPLE))
    assert [r.params["q"] for r in requests] == queries
    assert all(r.url == SEARCH and r.params["type"] == "r" and r.purpose == "search:1" for r in requests)


@pytest.mark.parametrize(
    ("token_env", "headers"),
    [
        ("COURTLISTENER_TOKEN", {"Authorization": "Token {env:COURTLISTENER_TOKEN}"}),
        ("NGO_CL_TOKEN", {"Authorization": "Token {env:NGO_CL_TOKEN}"}),
        ("", {}),
    ],
)
def test_the_token_is_a_placeholder_the_fetch_stage_expands(token_env: str, headers: dict[str, str]) -> None:
    [request] = Courtlistener(Options(token_env=token_env, court="dcd nysd")).requests(Query(people=PEOPLE))
    assert dict(request.headers) == headers  # the adapter never sees the secret
    assert request.params["court"] == "dcd nysd"


def parse(data: object, purpose: str = "search:1", **options: object) -> ParseResult:
    request = SourceRequest(SEARCH, {"q": "x", "type": "r"}, purpose=purpose)
    adapter = Courtlistener(Options(base_url="http://127.0.0.1:9", **options))
    return adapter.parse(make_fetched(request, json.dumps(data).encode()))


@pytest.mark.parametrize(
    ("purpose", "max_pages", "next_purpose"),
    [("search:1", 2, "search:2"), ("search:2", 2, None), ("search:2", 5, "search:3"), ("search:1", 1, None)],
)
def test_cursor_paging_up_to_max_pages(purpose: str, max_pages: int, next_purpose: str | None) -> None:
    result = parse(RECAP, purpose, max_pages=max_pages)
    assert [r.purpose for r in result.follow] == ([next_purpose] if next_purpose else [])
    for nxt in result.follow:
        assert nxt.url == "http://127.0.0.1:9/api/rest/v4/search/"  # our host, their cursor and terms
        assert dict(nxt.params) == {"cursor": "cz0xMi4zJnA9NjgwMDQ1Njc=", "order_by": "dateFiled desc",
                                    "q": '"Aleksandr Volkov"', "type": "r"}  # fmt: skip
        assert nxt.headers == {"Authorization": "Token {env:COURTLISTENER_TOKEN}"}


@pytest.mark.parametrize(
    ("nxt", "purpose", "complete"),
    [
        (None, "search:1", True),
        ("", "search:2", True),
        (RECAP["next"], "search:1", True),
        (RECAP["next"], "search:2", False),
    ],
    ids=["the only page", "the last page", "a next page that is fetched", "a next page past max_pages"],
)
def test_a_search_is_complete_when_every_page_is_fetched(
    nxt: str | None, purpose: str, complete: bool
) -> None:
    """A docket that leaves a fully paged search is removed; one past max_pages could be anywhere."""
    result = parse(RECAP | {"next": nxt}, purpose, max_pages=2)
    assert result.complete is complete
    assert [r.key for r in result.records] == ["docket:68001234", "docket:68004567"]
    assert Courtlistener.removal_grace_rounds == 1 and "sealed" in Courtlistener.removal_note


def test_a_new_filing_changes_latest_entry_not_the_metadata_noise() -> None:
    before = parse(RECAP).records[0]
    moved = json.loads(json.dumps(RECAP))
    moved["results"][0]["meta"] = {"timestamp": "2030-01-01T00:00:00Z", "score": {"bm25": 1.0}}
    assert parse(moved).records[0] == before
    moved["results"][0]["recap_documents"].append(
        {
            "document_number": 20,
            "entry_date_filed": "2024-07-01",
            "short_description": "Extradition certified",
        }
    )
    assert parse(moved).records[0].fields["latest_entry"] == "2024-07-01 #20 Extradition certified"


def test_the_government_is_never_a_name() -> None:
    record = parse(RECAP).records[0]
    assert record.names == ("Aleksandr Volkov",)  # "In re Extradition of" stripped, "USA" dropped


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"detail": "Unknown filter parameters are not allowed."}, "refused the search: Unknown filter"),
        ({"detail": "Request was throttled. Expected available in 41 seconds."}, "throttled"),
        ({"results": {"a": 1}}, "a 'results' list"),
        ([], "a 'results' list"),
        ({"results": [7]}, "not an object"),
        ({"results": [{"caseName": "A v. B"}]}, "no docket_id"),
    ],
)
def test_broken_bodies_raise_parse_error_naming_the_url(data: object, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse(data)
    assert "courtlistener.com" in str(err.value)


def test_the_throttles_are_declared_and_kept_per_minute() -> None:
    assert Courtlistener.rate_limits == ((5, 60), (50, 3600), (125, 86400))
    assert Courtlistener.min_interval_seconds >= 60 / 5
    assert Courtlistener.sends_names


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay_scenario("courtlistener")


# --- pacing: real fetches in a real round -------------------------------------------------------------

CL_ROUTE = Route(
    "/api/rest/v4/search/",
    (FIXTURES / "courtlistener" / "e2e" / "search_1_synthetic.json").read_bytes(),
    "application/json",
)


def test_a_round_spaces_its_searches_as_configured(farm: SourceFarm, tmp_path: Path) -> None:
    farm.set_routes([CL_ROUTE])
    people = [{"id": "p1", "name": "Aleksandr Volkov"}, {"id": "p2", "name": "Ivan Petrov"}]
    scenario = {"options": {"base_url": "{base}", "token_env": ""}, "people": people}
    gaps, spacings = paced_round(
        farm, tmp_path, "courtlistener", scenario | {"source": {"min_interval": 0.3}}
    )
    assert spacings == [0.3, 0.3] and len(gaps) == 1 and gaps[0] >= 0.27, gaps


def test_the_round_uses_the_documented_12_s_spacing(farm: SourceFarm, tmp_path: Path) -> None:
    """5 requests a minute per token: the round asks the fetch for 12 s between requests (one request
    here, so the test does not wait; the spacing itself is shown above and in test_gdelt)."""
    farm.set_routes([CL_ROUTE])
    scenario = {"options": {"base_url": "{base}", "token_env": ""}, "people": [{"id": "p1", "name": "X Y"}]}
    _, spacings = paced_round(farm, tmp_path, "courtlistener", scenario)
    assert spacings == [Courtlistener.min_interval_seconds] == [12.0]
