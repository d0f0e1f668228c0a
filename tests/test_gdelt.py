"""gdelt: one quoted-name query per name form, JSON article lists, GDELT's non-JSON error answers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from sources.gdelt import Gdelt, Options
from tests.test_uk_court_lists import replay_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Person, Query, SourceRequest

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
