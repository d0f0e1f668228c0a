"""be_juportal: saved RSS searches, ECLI keys, pudDate/pubDate, keyword-bearing text, broken bodies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from pydantic import ValidationError

from sources.be_juportal import BeJuportal, Options, _iso_date
from watcher.errors import ParseError
from watcher.match import Matcher
from watcher.models import Fetched, Person, Query, Record, SourceRequest

E2E = Path(__file__).parent / "fixtures" / "be_juportal" / "e2e"
NOW = datetime(2024, 10, 16, 6, 0, tzinfo=UTC)
FEED = "https://juportal.be/moteur/Flux-RSS.rss?eJxLtDKyqi62MjS1UnIO8gwJcY0ICHINDvb091OyBgobWSlpp1aU="


def fetched(body: bytes, ctype: str = "application/rss+xml", request: SourceRequest | None = None) -> Fetched:
    request = request or SourceRequest(FEED)
    url = request.url + ("?" + urlencode(request.params) if request.params else "")
    sha = hashlib.sha256(body).hexdigest()
    return Fetched(request, url, 200, {"content-type": ctype}, body, sha, NOW)


def rss(items: str) -> bytes:
    return f'<rss version="2.0"><channel><title>Juportal</title>{items}</channel></rss>'.encode()


def test_the_saved_search_is_fetched_exactly_as_configured() -> None:
    (request,) = BeJuportal(Options(url=FEED)).requests(Query(people=(), now=NOW))
    assert (request.url, dict(request.params)) == (FEED, {})
    assert not BeJuportal.sends_names and "DG_JUSTICE_CRAWLER" in BeJuportal.licence
    assert "PSEUDONYMISED" in BeJuportal.provenance()


def test_url_is_required() -> None:
    with pytest.raises(ValidationError):
        Options()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Tue, 06 May 2025 00:00:00 +0200", "2025-05-06"),
        ("06/05/2025", "2025-05-06"),
        ("6.5.2025", "2025-05-06"),
        ("2025-05-06T10:00:00", "2025-05-06"),
        ("31/02/2025", "31/02/2025"),
        ("mardi", "mardi"),
        ("", ""),
    ],
)
def test_item_dates(raw: str, iso: str) -> None:
    assert _iso_date(raw) == iso


def test_ecli_from_encoded_link_court_from_ecli_and_fallback_keys() -> None:
    body = rss(
        "<item><title>Arrêt du 5 juin 2024</title>"
        "<link>https://juportal.just.fgov.be/content/ViewDecision.php?id=ECLI%3ABE%3ACASS%3A2024%3AARR.20240605.2F.7"
        "&amp;lang=fr</link><description>Uitlevering - Kazachstan</description></item>"
        "<item><title>Sans ECLI</title><link>https://juportal.be/content/x</link></item>"
        "<item><title>ECLI:BE:CASS:2024:ARR.20240605.2F.7</title><author>Cour de cassation</author></item>"
        "<item><description>neither an ECLI nor a link</description></item>"
    )
    result = BeJuportal(Options(url=FEED)).parse(fetched(body))
    assert [(r.key, r.fields.get("court"), r.fields.get("decision_date")) for r in result.records] == [
        ("ECLI:BE:CASS:2024:ARR.20240605.2F.7", "CASS", "2024-06-05"),
        ("https://juportal.be/content/x", None, None),
    ]
    assert "Kazachstan" in result.records[0].text and result.complete is False


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>Une erreur est survenue.</body></html>", b"{}"], ids=["empty", "html", "json"]
)
def test_non_feeds_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError, match="not an RSS feed"):
        BeJuportal(Options(url=FEED)).parse(fetched(body, "text/html"))


def replay(folder: Path) -> list[list[dict[str, Any]]]:
    """Run a scenario's steps through requests/parse/match and a minimal diff: the alerts each step makes."""
    scenario = json.loads((folder / "scenario.json").read_text())
    options = json.loads(json.dumps(scenario["options"]).replace("{base}", "http://127.0.0.1:9"))
    adapter = BeJuportal(Options(**options))
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
    query = {**dict(parse_qsl(url.query, keep_blank_values=True)), **request.params}
    fits = [r for r in routes if r["path"] == url.path and r["query"].items() <= query.items()]
    assert fits, f"no route for {request.url} {query}"
    return max(fits, key=lambda r: len(r["query"]))


def test_e2e_scenario_alerts_on_keywords_as_expected() -> None:
    scenario = json.loads((E2E / "scenario.json").read_text())
    got = replay(E2E)
    for step, events in zip(scenario["steps"], got, strict=True):
        assert sorted(map(json.dumps, events)) == sorted(map(json.dumps, step["expect"]))
