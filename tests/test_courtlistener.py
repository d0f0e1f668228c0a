"""courtlistener: searches built from the watchlist, the token placeholder, cursor paging, throttles: the
5/min spacing on real fetches, and the 50/hour and 125/day budget (watcher.budget) counted from real rounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sources.courtlistener import Courtlistener, Options
from tests.support.cli import run_cli
from tests.support.servers import Route, SourceFarm
from tests.test_gdelt import JITTER, paced_round
from tests.test_uk_court_lists import FIXTURES, make_fetched, replay_scenario
from watcher.budget import Window, budget_windows, check_budget, over_budget
from watcher.config import load_config
from watcher.db.engine import open_engine
from watcher.errors import ParseError, SourceError
from watcher.models import ParseResult, Person, Query, SourceRequest
from watcher.registry import load_registry

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
        farm, tmp_path, "courtlistener", scenario | {"source": {"min_interval": 0.5}}
    )
    assert spacings == [0.5, 0.5] and len(gaps) == 1 and gaps[0] >= 0.5 - JITTER, gaps


def test_the_round_uses_the_documented_12_s_spacing(farm: SourceFarm, tmp_path: Path) -> None:
    """5 requests a minute per token: the round asks the fetch for 12 s between requests (one request
    here, so the test does not wait; the spacing itself is shown above and in test_gdelt)."""
    farm.set_routes([CL_ROUTE])
    scenario = {"options": {"base_url": "{base}", "token_env": ""}, "people": [{"id": "p1", "name": "X Y"}]}
    _, spacings = paced_round(farm, tmp_path, "courtlistener", scenario)
    assert spacings == [Courtlistener.min_interval_seconds] == [12.0]


# --- the per-token budget: 50 requests an hour, 125 a day ---------------------------------------------

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR, DAY = Window(50, 3600), Window(125, 86400)


@pytest.mark.parametrize(
    ("spent", "planned", "said"),
    [
        ([], 3, None),
        ([(T0 - timedelta(minutes=61), 50)], 3, None),
        ([(T0 - timedelta(minutes=30), 47)], 3, None),
        (
            [(T0 - timedelta(minutes=30), 48)],
            3,
            "budget of 50 requests/hour used (48 spent, this round needs up to 3); next request allowed at"
            " 2026-03-02T12:30+00:00",
        ),
        (
            [(T0 - timedelta(minutes=50), 20), (T0 - timedelta(minutes=10), 28)],
            5,
            "budget of 50 requests/hour used (48 spent, this round needs up to 5); next request allowed at"
            " 2026-03-02T12:10+00:00",
        ),
        (
            [(T0 - timedelta(hours=23), 100), (T0 - timedelta(hours=2), 20)],
            6,
            "budget of 125 requests/day used (120 spent, this round needs up to 6); next request allowed at"
            " 2026-03-02T13:00+00:00",
        ),
        ([], 51, "one round needs up to 51 requests, more than the budget of 50 requests/hour"),
    ],
    ids=["nothing spent", "spent before the hour", "fits exactly", "the hour is used", "the oldest run frees it",
         "the day is used", "a round larger than the budget"],
)  # fmt: skip
def test_a_round_over_budget_is_refused_with_the_time_it_is_allowed(
    spent: list[tuple[datetime, int]], planned: int, said: str | None
) -> None:
    got = over_budget([HOUR, DAY], spent, planned, T0)
    assert got == said if said is None else (got or "").startswith(said), got


def test_only_the_windows_the_spacing_cannot_keep_are_budgets() -> None:
    assert budget_windows(Courtlistener) == [HOUR, DAY]  # 5/min: kept by the 12 s spacing
    assert budget_windows(load_registry().get("gdelt")) == []  # 1 per 5 s: the spacing
    assert budget_windows(load_registry().get("uk_find_case_law")) == []  # 1,000 per 5 min: the spacing


def budget_config(tmp_path: Path, farm: SourceFarm, sources: int = 1) -> Path:
    """25 watched queries (one request each, one page): two rounds spend the hour's 50 requests."""
    queries = [f'caseName:"case {n}"' for n in range(25)]
    lines = ['[watcher]\ndatabase = "sqlite:///w.db"\nretries = 0\n', '[[person]]\nid = "p1"\nname = "X Y"']
    for n in range(sources):
        lines += [f'[[source]]\nid = "cl{n}"\nadapter = "courtlistener"\nmin_interval = 0']
        lines += [f'[source.options]\nbase_url = "{farm.base}"\ntoken_env = ""\nmax_pages = 1']
        lines += [f"names_from_watchlist = false\nqueries = {json.dumps(queries)}"]
    config = tmp_path / "watcher.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def test_the_budget_spent_is_counted_from_real_rounds_and_shown_in_status(
    farm: SourceFarm, tmp_path: Path
) -> None:
    farm.set_routes([CL_ROUTE])
    config = budget_config(tmp_path, farm)
    assert run_cli("check", "-c", str(config)).code == 0
    status = run_cli("status", "-c", str(config))
    assert "budget cl0 (courtlistener): 25/50 requests in the last hour, 25/125 requests in the last day" in (
        " ".join(status.stdout.split())
    )
    assert run_cli("check", "-c", str(config)).code == 0
    assert len(farm.hits) == 50
    status = run_cli("status", "-c", str(config))
    assert (
        "budget cl0 (courtlistener): 50/50 requests in the last hour, 50/125 requests in the last day; a round"
        " now would be refused: budget of 50 requests/hour used (50 spent, this round needs up to 25); next"
        " request allowed at "
    ) in " ".join(status.stdout.split())
    cfg = load_config(config)
    engine = open_engine(cfg.database_url)
    try:
        adapter = Courtlistener(cfg.adapter_options["cl0"])
        with pytest.raises(SourceError, match=r"budget of 50 requests/hour used \(50 spent, this round needs up"
                           r" to 25\); next request allowed at \d{4}-\d\d-\d\dT\d\d:\d\d"):  # fmt: skip
            check_budget(engine, cfg, cfg.source_by_id("cl0"), adapter, Query(cfg.person), datetime.now(UTC))
        later = datetime.now(UTC) + timedelta(hours=1, minutes=1)  # the hour's runs have aged out
        check_budget(engine, cfg, cfg.source_by_id("cl0"), adapter, Query(cfg.person), later)
    finally:
        engine.dispose()


def test_sources_with_the_same_token_share_one_budget(farm: SourceFarm, tmp_path: Path) -> None:
    farm.set_routes([CL_ROUTE])
    config = budget_config(tmp_path, farm, sources=2)
    assert run_cli("check", "-c", str(config), "-s", "cl0").code == 0
    status = " ".join(run_cli("status", "-c", str(config)).stdout.split())
    assert "budget cl1 (courtlistener, shared with cl0): 25/50 requests in the last hour" in status


def test_the_round_refuses_to_exceed_the_budget_through_the_cli(farm: SourceFarm, tmp_path: Path) -> None:
    farm.set_routes([CL_ROUTE])
    config = budget_config(tmp_path, farm)
    assert run_cli("check", "-c", str(config)).code == 0
    assert run_cli("check", "-c", str(config)).code == 0
    refused = run_cli("check", "-c", str(config))
    assert refused.code == 1 and len(farm.hits) == 50, "the third round must not send a request"
    status = " ".join(run_cli("status", "-c", str(config)).stdout.split())
    assert "a round now would be refused: budget of 50 requests/hour used" in status
