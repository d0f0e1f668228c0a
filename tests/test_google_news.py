"""google_news: one query per name form and edition, RSS items with HTML descriptions, error pages."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import ValidationError

from sources.google_news import GoogleNews, Options
from tests.test_uk_court_lists import replay_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Person, Query, SourceRequest

NOW = datetime(2024, 9, 25, 9, 0, tzinfo=UTC)
BOTA = Person(id="p1", name="Bota Jardemalie", aliases=("Бота Жардемали",))


def fetched(body: bytes, ctype: str = "application/xml", request: SourceRequest | None = None) -> Fetched:
    request = request or SourceRequest("https://news.google.com/rss/search")
    url = request.url + ("?" + urlencode(request.params) if request.params else "")
    sha = hashlib.sha256(body).hexdigest()
    return Fetched(request, url, 200, {"content-type": ctype}, body, sha, NOW)


def rss(items: str) -> bytes:
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize(
    ("edition", "hl", "gl", "ceid"),
    [
        ("fr-BE", "fr", "BE", "BE:fr"),
        ("ru-KZ", "ru", "KZ", "KZ:ru"),
        ("en-GB", "en-GB", "GB", "GB:en"),
        ("en-us", "en-US", "US", "US:en"),
        ("uk-ua", "uk", "UA", "UA:uk"),
    ],
)
def test_edition_parameters(edition: str, hl: str, gl: str, ceid: str) -> None:
    person = Person(id="p1", name="Bota Jardemalie")
    (request,) = GoogleNews(Options(languages=(edition,))).requests(Query(people=(person,)))
    assert request.url == "https://news.google.com/rss/search"
    assert dict(request.params) == {"q": '"Bota Jardemalie"', "hl": hl, "gl": gl, "ceid": ceid}


def test_one_request_per_name_form_and_edition() -> None:
    options = Options(base_url="http://127.0.0.1:1/", languages=("en-US", "ru-RU", "fr-BE"), when="7d")
    requests = GoogleNews(options).requests(Query(people=(BOTA,), now=NOW))
    assert [(r.params["q"], r.params["hl"]) for r in requests] == [
        ('"Bota Jardemalie" when:7d', "en-US"),
        ('"Bota Jardemalie" when:7d', "ru"),
        ('"Bota Jardemalie" when:7d', "fr"),
        ('"Бота Жардемали" when:7d', "en-US"),
        ('"Бота Жардемали" when:7d', "ru"),
        ('"Бота Жардемали" when:7d', "fr"),
    ]
    assert {r.url for r in requests} == {"http://127.0.0.1:1/rss/search"}
    assert GoogleNews.sends_names and "personal, non-commercial use" in GoogleNews.licence


@pytest.mark.parametrize(
    "bad", [{"languages": ["english"]}, {"languages": []}, {"languages": ["fr_BE"]}, {"when": "1 week"}]
)
def test_bad_options_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Options(**bad)


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body><form action='https://consent.google.com/save'>Before you continue</form></body>"],
    ids=["empty", "consent-page"],
)
def test_non_feeds_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError, match="not an RSS feed"):
        GoogleNews(Options()).parse(fetched(body, "text/html"))


def test_items_without_guid_fall_back_to_link_and_keep_raw_dates() -> None:
    body = rss(
        "<item><title>A - P</title><link>https://news.google.com/rss/articles/X?oc=5</link>"
        "<pubDate>yesterday</pubDate><description>&lt;b&gt;Аблязову&lt;/b&gt; ответили</description></item>"
        "<item><title>no key at all</title></item>"
    )
    result = GoogleNews(Options()).parse(fetched(body))
    assert [(r.key, r.text, dict(r.fields)) for r in result.records] == [
        (
            "https://news.google.com/rss/articles/X?oc=5",
            "A - P Аблязову ответили",
            {"title": "A - P", "published": "yesterday"},
        )
    ]
    assert result.complete is False


def test_empty_channel_is_no_records() -> None:
    assert GoogleNews(Options()).parse(fetched(rss(""))).records == []


def test_e2e_scenario_alerts_as_expected() -> None:
    replay_scenario("google_news")
