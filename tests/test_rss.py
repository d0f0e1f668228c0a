"""rss: real feeds' quirks, keys, the never-complete rule, and bodies that are not feeds."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sources.rss import Rss, RssOptions, entry_record, feed_records, plain_text
from tests.test_interpol_notices import run_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Query, Record, SourceRequest
from watcher.registry import load_registry

FIXTURES = Path(__file__).parent / "fixtures" / "rss"


def fetched(body: bytes, content_type: str = "application/rss+xml") -> Fetched:
    return Fetched(
        request=SourceRequest("https://example.org/feed"),
        url="https://example.org/feed",
        status=200,
        headers={"content-type": content_type},
        body=body,
        sha256=hashlib.sha256(body).hexdigest(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def parse(body: bytes) -> list[Record]:
    result = Rss(RssOptions(url="https://example.org/feed")).parse(fetched(body))
    assert result.complete is False, "items fall off feeds: a feed never proves a removal"
    return result.records


def rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


def test_requests_fetch_the_configured_url() -> None:
    [request] = Rss(RssOptions(url="http://127.0.0.1:9/feed.xml")).requests(Query(()))
    assert request.url == "http://127.0.0.1:9/feed.xml"


def test_pacer_feed_latin1_double_escaped_est_times() -> None:
    records = parse((FIXTURES / "pacer_cadc.xml").read_bytes())
    first = records[0]
    assert first.title == "22-1214 Food & Water Watch v. FERC"  # `&amp;amp;` decoded twice
    assert first.fields["summary"] == "[Order Filed (CLERK)] (Document)"  # HTML stripped
    assert first.fields["published"] == "2023-02-03T16:57:38Z"  # 11:57:38 EST
    assert first.key.endswith("caseNum=22-1214&partId=1984499")  # the guid, not the shared docket link
    assert "Randy Koontz" in records[2].text


def test_latin1_characters_survive() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>t</title>'
    body += "<item><title>Müller v. Société Générale</title><guid>g1</guid></item></channel></rss>"
    [record] = parse(body.encode("iso-8859-1"))
    assert record.title == "Müller v. Société Générale"


def test_atom_feed_uses_entry_id() -> None:
    [record] = parse((FIXTURES.parent / "uk_find_case_law" / "atom_feed_openapi_example.xml").read_bytes())
    assert record.key == "https://caselaw.nationalarchives.gov.uk/id/d-9b51d493-65ba-471f-8f08-c369ec66e3f8"
    assert record.title == "Jarndyce v. Jarndyce" and record.fields["published"] == "2025-04-30T00:00:00Z"


@pytest.mark.parametrize(
    ("item", "key"),
    [
        ("<item><guid>abc</guid><link>https://x/1</link><title>T</title></item>", "abc"),
        ("<item><link>https://x/1</link><title>T</title></item>", "https://x/1"),
        ("<item><title>Only a title</title></item>", "Only a title"),
    ],
)
def test_key_is_guid_else_link_else_title(item: str, key: str) -> None:
    assert [r.key for r in parse(rss(item))] == [key]


def test_relative_links_are_resolved_against_the_feed() -> None:
    [record] = parse(rss("<item><guid>g</guid><link>/news/1</link></item>"))
    assert record.url == "https://example.org/news/1" and record.key == "g"


def test_items_without_any_identity_are_skipped_and_repeats_kept_once() -> None:
    items = (
        "<item><description>no id</description></item>" + "<item><guid>a</guid><title>x</title></item>" * 2
    )
    assert [r.key for r in parse(rss(items))] == ["a"]


def test_an_empty_feed_is_an_empty_result() -> None:
    assert parse(rss("")) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<p>Hello <b>Ivan</b>&nbsp;Ivanov</p>", "Hello Ivan Ivanov"),
        ("Food &amp; Water", "Food & Water"),  # feedparser already undid one level of `&amp;amp;`
        ("a < b and c > d", "a < b and c > d"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text(value: str | None, expected: str) -> None:
    assert plain_text(value) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param((FIXTURES / "error_page_synthetic.html").read_bytes(), id="html-error-page"),
        pytest.param(b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title><it", id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"items": []}', id="json"),
        pytest.param(b"/etc/passwd", id="a-path-is-not-opened"),
        pytest.param(b"https://example.org/other-feed", id="a-url-is-not-fetched"),
    ],
)
def test_bodies_that_are_not_feeds_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)


def test_a_variant_reshapes_records_in_a_few_lines() -> None:
    class Docket(Rss):
        def record(self, entry: Any, base: str) -> Record | None:
            plain = entry_record(entry, base)
            if plain is None:
                return None
            number = plain.title.split(" ", 1)[0]
            return Record(key=plain.key, title=plain.title, fields={**plain.fields, "case_number": number})

    result = Docket(RssOptions(url="u")).parse(fetched((FIXTURES / "pacer_cadc.xml").read_bytes()))
    assert result.records[0].fields["case_number"] == "22-1214"
    assert len(feed_records(fetched((FIXTURES / "hudoc_echr.xml").read_bytes()))) == 6


def test_e2e_scenario_data() -> None:
    run_scenario("rss")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<rss version="2.0"><channel><title>&b;</title><item><title>&b;</title></item></channel></rss>"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BILLION_LAUGHS, "feed declares XML entities; refused"),
        ((FIXTURES / "error_page_synthetic.html").read_bytes(), "is not an RSS feed or an Atom feed"),
    ],
    ids=["entities", "error-page"],
)
@pytest.mark.parametrize("adapter", ["rss", "google_news", "be_juportal"])
def test_every_feedparser_adapter_shares_one_guarded_parse(adapter: str, body: bytes, message: str) -> None:
    """One piece of code (sources.rss.parse_feed) parses every feedparser feed: the entity guard and the
    errors cannot drift apart between copies."""
    cls = load_registry().get(adapter)
    options = {"google_news": {}}.get(adapter, {"url": "https://example.org/feed"})
    with pytest.raises(ParseError, match=message):
        cls(cls.Options(**options)).parse(fetched(body))
