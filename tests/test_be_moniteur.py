"""be_moniteur: summary requests per day and edition in Brussels time, acts by NUMAC, empty editions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from sources.be_moniteur import BeMoniteur, Options
from tests.test_uk_court_lists import replay_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Query, SourceRequest

NOW = datetime(2024, 9, 23, 7, 0, tzinfo=UTC)
SUMMARY = "https://www.ejustice.just.fgov.be/cgi/summary.pl"


def fetched(
    body: bytes, ctype: str = "text/html", request: SourceRequest | None = None, status: int = 200
) -> Fetched:
    request = request or SourceRequest(SUMMARY, params={"sum_date": "2024-09-23", "s_editie": "1"})
    url = request.url + ("?" + urlencode(request.params) if request.params else "")
    sha = hashlib.sha256(body).hexdigest()
    return Fetched(request, url, status, {"content-type": ctype}, body, sha, NOW)


def page(items: str) -> bytes:
    return f"<html><body><h2>Lois</h2><h3>SPF Justice</h3>{items}</body></html>".encode()


def test_today_and_previous_days_in_brussels_time_every_edition() -> None:
    late_evening_utc = datetime(2024, 9, 23, 22, 30, tzinfo=UTC)  # 00:30 on the 24th in Brussels
    requests = BeMoniteur(Options(days_back=1)).requests(Query(people=(), now=late_evening_utc))
    assert [(r.params["sum_date"], r.params["s_editie"]) for r in requests] == [
        ("2024-09-24", "1"),
        ("2024-09-24", "2"),
        ("2024-09-23", "1"),
        ("2024-09-23", "2"),
    ]
    assert requests[0].url == SUMMARY
    assert dict(requests[0].params) == {
        "language": "fr",
        "sum_date": "2024-09-24",
        "s_editie": "1",
        "view_numac": "",
    }
    assert all(404 in r.ok_statuses for r in requests)


def test_options_shape_the_requests() -> None:
    options = Options(base_url="http://127.0.0.1:1/", language="nl", days_back=0, editions=(1,))
    (request,) = BeMoniteur(options).requests(Query(people=(), now=NOW))
    assert request.url == "http://127.0.0.1:1/cgi/summary.pl"
    assert (request.params["language"], request.params["sum_date"]) == ("nl", "2024-09-23")


@pytest.mark.parametrize("bad", [{"language": "en"}, {"days_back": -1}, {"days_back": 32}, {"url": "x"}])
def test_bad_options_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Options(**bad)


def test_missing_edition_is_an_empty_incomplete_result() -> None:
    result = BeMoniteur(Options()).parse(fetched(b"Not Found", status=404))
    assert (result.records, result.complete) == ([], False)


def test_links_without_title_or_with_broken_urls() -> None:
    body = page(
        '<div class="list-item"><a href="article.pl?numac_search=2024000001">2024000001</a></div>'
        '<a href="http://[broken/article.pl?x=1">2024000002</a>'
        '<a href="article.pl?language=fr">Recherche</a>'
    )
    records = BeMoniteur(Options()).parse(fetched(body)).records
    assert [(r.key, r.fields["title"], r.url) for r in records] == [
        (
            "2024000001",
            "NUMAC 2024000001",
            "https://www.ejustice.just.fgov.be/cgi/article.pl?numac_search=2024000001",
        ),
        ("2024000002", "NUMAC 2024000002", None),
    ]
    assert records[0].fields["section"] == "Lois / SPF Justice"


def test_publication_date_comes_from_the_request_and_is_required() -> None:
    request = SourceRequest(SUMMARY, params={"s_editie": "1"})
    with pytest.raises(ParseError, match="sum_date"):
        BeMoniteur(Options()).parse(fetched(page(""), request=request))
    with pytest.raises(ParseError, match="empty body"):
        BeMoniteur(Options()).parse(fetched(b"  "))


def test_e2e_scenario_alerts_on_keywords_as_expected() -> None:
    replay_scenario("be_moniteur")
