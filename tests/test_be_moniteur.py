"""be_moniteur: summary requests per day and edition in Brussels time, acts by NUMAC, empty editions."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from pydantic import ValidationError

from sources.be_moniteur import BeMoniteur, Options
from watcher.errors import ParseError
from watcher.match import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

E2E = Path(__file__).parent / "fixtures" / "be_moniteur" / "e2e"
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


def replay(folder: Path) -> list[list[dict[str, Any]]]:
    """Run a scenario's steps through requests/parse/match and a minimal diff: the alerts each step makes."""
    scenario = json.loads((folder / "scenario.json").read_text())
    options = json.loads(json.dumps(scenario["options"]).replace("{base}", "http://127.0.0.1:9"))
    adapter = BeMoniteur(Options(**options))
    people = tuple(Person(**p) for p in scenario["people"])
    matcher, keywords = Matcher(people), [k.lower() for k in scenario.get("keywords", [])]
    seen: dict[tuple[str | None, str], Record] = {}
    alerts = []
    for step in scenario["steps"]:
        records: dict[str, Record] = {}
        for request in adapter.requests(Query(people=people, now=NOW)):
            route = route_for(step["routes"], request)
            body = (folder / route["body"]).read_bytes()
            for record in adapter.parse(fetched(body, route["content_type"], request)).records:
                records.setdefault(record.key, record)
        events = []
        for record in records.values():
            who: list[str | None] = [m.person_id for m in matcher.match_record(record)]
            who += [None] if any(k in record.text.lower() for k in keywords) else []
            for pid in who:
                old, seen[(pid, record.key)] = seen.get((pid, record.key)), record
                if old is None:
                    events.append({"event": "new", "person": pid, "record": record.key})
                    continue
                for name in sorted(set(old.fields) | set(record.fields)):
                    if old.fields.get(name) != record.fields.get(name):
                        events.append(
                            {"event": "changed", "person": pid, "record": record.key, "field": name}
                        )
        alerts.append(events)
    return alerts


def route_for(routes: list[dict[str, Any]], request: SourceRequest) -> dict[str, Any]:
    url = urlsplit(request.url)
    query = {**dict(parse_qsl(url.query)), **request.params}
    fits = [r for r in routes if r["path"] == url.path and r["query"].items() <= query.items()]
    assert fits, f"no route for {request.url} {query}"
    return max(fits, key=lambda r: len(r["query"]))


def test_e2e_scenario_alerts_on_keywords_as_expected() -> None:
    scenario = json.loads((E2E / "scenario.json").read_text())
    got = replay(E2E)
    for step, events in zip(scenario["steps"], got, strict=True):
        assert sorted(map(json.dumps, events)) == sorted(map(json.dumps, step["expect"]))
