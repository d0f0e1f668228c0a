"""be_juportal: saved RSS searches, ECLI keys, pudDate/pubDate, keyword-bearing text, broken bodies."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from sources.be_juportal import BeJuportal, Options, _iso_date
from tests.test_uk_court_lists import replay_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Query, SourceRequest

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


def test_e2e_scenario_alerts_on_keywords_as_expected() -> None:
    replay_scenario("be_juportal")
