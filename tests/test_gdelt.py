"""gdelt: one quoted-name query per name form, JSON article lists, GDELT's non-JSON error answers, and
the one-request-per-5-s pacing on real fetches (`paced_round`, shared by the other paced adapters)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from sources.gdelt import Gdelt, Options
from tests.support.servers import Route, SourceFarm
from tests.test_adapters_e2e import write_config as write_scenario_config
from tests.test_uk_court_lists import replay_scenario
from watcher.config import load_config
from watcher.errors import ParseError
from watcher.fetch import Fetcher, FetchSettings
from watcher.models import Fetched, Person, Query, SourceRequest
from watcher.service import Service

NOW = datetime(2024, 9, 25, 9, 0, tzinfo=UTC)
BOTA = Person(id="p1", name="Bota Jardemalie", aliases=("Бота Жардемали", "bota jardemalie", 'Bota "B." J'))


def fetched(
    body: bytes, content_type: str = "application/json", request: SourceRequest | None = None
) -> Fetched:
    request = request or SourceRequest("https://api.gdeltproject.org/api/v2/doc/doc")
    url = request.url + ("?" + urlencode(request.params) if request.params else "")
    return Fetched(
        request, url, 200, {"content-type": content_type}, body, hashlib.sha256(body).hexdigest(), NOW
    )


def test_one_request_per_distinct_name_form() -> None:
    requests = Gdelt(Options()).requests(Query(people=(BOTA,), now=NOW))
    assert [r.params["query"] for r in requests] == ['"Bota Jardemalie"', '"Бота Жардемали"', '"Bota B. J"']
    assert requests[0].url == "https://api.gdeltproject.org/api/v2/doc/doc"
    assert {k: v for k, v in requests[0].params.items() if k != "query"} == {
        "mode": "artlist",
        "format": "json",
        "maxrecords": "250",
        "timespan": "1d",
        "sort": "datedesc",
    }


@pytest.mark.parametrize(
    ("options", "query"),
    [
        ({"languages": ["russian"]}, '"Bota Jardemalie" sourcelang:russian'),
        (
            {"languages": ["english", "russian"], "countries": ["KZ"]},
            '"Bota Jardemalie" (sourcelang:english OR sourcelang:russian) sourcecountry:KZ',
        ),
        ({"countries": ["KZ", "RS"]}, '"Bota Jardemalie" (sourcecountry:KZ OR sourcecountry:RS)'),
    ],
    ids=["one-language-no-parentheses", "languages-and-country", "two-countries"],
)
def test_language_and_country_filters(options: dict[str, Any], query: str) -> None:
    person = Person(id="p1", name="Bota Jardemalie")
    (request,) = Gdelt(Options(**options)).requests(Query(people=(person,)))
    assert request.params["query"] == query


def test_options_and_rate_limit_are_declared() -> None:
    request = Gdelt(Options(base_url="http://127.0.0.1:1/", timespan="7d", max_records=50)).requests(
        Query(people=(Person(id="p1", name="X Y"),))
    )[0]
    assert request.url == "http://127.0.0.1:1/api/v2/doc/doc"
    assert (request.params["timespan"], request.params["maxrecords"]) == ("7d", "50")
    assert Gdelt.min_interval_seconds == 5.0 and Gdelt.sends_names and Gdelt.kind == "news"
    assert Gdelt(Options()).requests(Query(people=())) == []


@pytest.mark.parametrize(
    "bad", [{"timespan": "1 day"}, {"max_records": 251}, {"languages": "english"}, {"x": 1}]
)
def test_bad_options_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Options(**bad)


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (b"<html><body>Your query was too short or too long.</body></html>", "text/html", "too short"),
        (
            b"Please limit requests to one every 5 seconds or contact us.",
            "text/plain",
            "Please limit requests",
        ),
        (b"", "application/json", "empty body"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'{"articles": {"url": "x"}}', "application/json", "not a list"),
    ],
    ids=["query-rejected", "rate-limited", "empty", "json-list", "articles-not-list"],
)
def test_error_answers_are_parse_errors(body: bytes, content_type: str, said: str) -> None:
    with pytest.raises(ParseError, match=said):
        Gdelt(Options()).parse(fetched(body, content_type))


def test_odd_articles_are_skipped_or_kept_raw() -> None:
    body = json.dumps(
        {
            "articles": [
                "not an object",
                {"url": "ftp://example.org/x", "title": "not a web article"},
                {"url": "http://[broken", "title": "bad url"},
                {
                    "url": "https://example.org/a",
                    "title": 7,
                    "seendate": "2024-09-23 10:15",
                    "language": None,
                },
            ]
        }
    ).encode()
    result = Gdelt(Options()).parse(fetched(body))
    assert [(r.key, r.title, r.text, dict(r.fields)) for r in result.records] == [
        ("https://example.org/a", "https://example.org/a", "", {"seendate": "2024-09-23 10:15"})
    ]
    assert result.complete is False


def test_e2e_scenario_alerts_as_expected() -> None:
    replay_scenario("gdelt")


# --- pacing: real fetches in a real round, spaced per host --------------------------------------------

E2E_BODIES = Path(__file__).parent / "fixtures"


class RecordingFetcher(Fetcher):
    """The real Fetcher (it does every request); it also notes the spacing the round asked for."""

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings)
        self.spacings: list[float] = []

    async def fetch(self, request: SourceRequest, **kwargs: Any) -> Fetched:
        self.spacings.append(kwargs.get("min_interval", 0.0))
        return await super().fetch(request, **kwargs)


def paced_round(
    farm: SourceFarm, tmp_path: Path, adapter: str, scenario: dict[str, Any]
) -> tuple[list[float], list[float]]:
    """One real round of `adapter` (Service, real fetch, SQLite file) against the farm's routes: the
    seconds between the farm's hits, and the spacing each fetch was given."""
    config = tmp_path / "watcher.toml"
    write_scenario_config(config, {"people": [], "source": {}} | scenario, adapter, farm.base)
    cfg = load_config(config, environ={"E2E_RECEIVER": "json://127.0.0.1:9/notify"})

    async def go() -> list[float]:
        async with Service(cfg) as svc:
            recorder = svc.ctx.fetcher = RecordingFetcher(svc.fetcher.settings)
            try:
                [run] = await svc.run_sources()
            finally:
                await recorder.__aexit__(None, None, None)
        assert run.status == "ok", run.error
        return recorder.spacings

    spacings = asyncio.run(go())
    times = sorted(farm.hit_times)
    return [later - earlier for earlier, later in pairwise(times)], spacings


# The fetch spaces when requests are sent; the farm sees when they arrive, and the first one builds its
# HTTP client after its slot: arrivals may come this much closer together than the spacing.
JITTER = 0.1

GDELT_ROUTE = Route(
    "/api/v2/doc/doc",
    (E2E_BODIES / "gdelt" / "e2e" / "step1_latin_synthetic.json").read_bytes(),
    "application/json",
)
TWO_FORMS = [{"id": "p1", "name": "Bota Jardemalie", "aliases": ["Бота Жардемали"]}]


@pytest.mark.parametrize(("interval", "spaced"), [(0.5, True), (0.0, False)], ids=["0.5 s", "none"])
def test_a_round_spaces_its_requests_to_gdelt(
    farm: SourceFarm, tmp_path: Path, interval: float, spaced: bool
) -> None:
    """Two name forms, two requests fired together; the fetch holds the second back by `min_interval`.
    Without a spacing they arrive together, which shows the measurement can tell."""
    farm.set_routes([GDELT_ROUTE])
    scenario = {"options": {"base_url": "{base}"}, "people": TWO_FORMS, "source": {"min_interval": interval}}
    [gap], spacings = paced_round(farm, tmp_path, "gdelt", scenario)
    assert spacings == [interval, interval]
    assert (gap >= interval - JITTER) if spaced else (gap < 0.2), gap


def test_the_round_uses_gdelts_documented_spacing(farm: SourceFarm, tmp_path: Path) -> None:
    """No `min_interval` in the config: the round asks the fetch for the adapter's 5 s (one request
    here, so the test does not wait for it; the spacing itself is shown above)."""
    farm.set_routes([GDELT_ROUTE])
    scenario = {"options": {"base_url": "{base}"}, "people": [{"id": "p1", "name": "Bota Jardemalie"}]}
    _, spacings = paced_round(farm, tmp_path, "gdelt", scenario)
    assert spacings == [Gdelt.min_interval_seconds] == [5.0]
