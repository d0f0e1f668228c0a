"""pacer_rss: ISO-8859-1 feeds, double-escaped titles, local time zones, case numbers and parties."""

from __future__ import annotations

import pytest

from sources.pacer_rss import Options, PacerRss, _iso_datetime, _parties
from tests.test_uk_court_lists import make_fetched, replay_scenario
from watcher.errors import ParseError
from watcher.models import Query, Record, SourceRequest

URL = "https://ecf.dcd.uscourts.gov/cgi-bin/rss_outside.pl"


def feed(
    title: str, *, guid: str = "<guid>https://ecf.dcd.uscourts.gov/doc1/1</guid>", pub: str = ""
) -> bytes:
    item = (
        f"<item><title>{title}</title><link>https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?251234</link>"
        "<description>[Order on Motion for Release] (&lt;a href='https://ecf.dcd.uscourts.gov/doc1/04512'>12&lt;/a>)"
        f"</description>{guid}<pubDate>{pub or 'Mon, 10 Jul 2023 16:02:11 EDT'}</pubDate></item>"
    )
    head = "<?xml version='1.0' encoding='ISO-8859-1'?><rss version=\"2.0\"><channel><title>D.D.C.</title>"
    return (head + item + "</channel></rss>").encode("iso-8859-1")


def parse(body: bytes) -> list[Record]:
    result = PacerRss(Options(url=URL)).parse(make_fetched(SourceRequest(URL, purpose="feed"), body))
    assert result.complete is False  # a feed is a window of recent entries
    return result.records


def test_requests_fetch_the_configured_feed() -> None:
    [request] = PacerRss(Options(url="http://127.0.0.1:9/cgi-bin/rss_outside4.pl")).requests(Query(people=()))
    assert request.url == "http://127.0.0.1:9/cgi-bin/rss_outside4.pl"


def test_a_district_court_entry() -> None:
    [record] = parse(feed("1:23-mj-00042 In re Extradition of Société Générale &amp;amp; Jürgen Müller"))
    assert record.key == "https://ecf.dcd.uscourts.gov/doc1/1"
    assert record.fields == {
        "case_number": "1:23-mj-00042",
        "case_name": "In re Extradition of Société Générale & Jürgen Müller",
        "description": "Order on Motion for Release",
        "document": "12",
        "document_url": "https://ecf.dcd.uscourts.gov/doc1/04512",
        "filed_at": "2023-07-10T16:02:11-04:00",
    }
    assert record.names == ("Société Générale & Jürgen Müller",)
    assert "Jürgen Müller" in record.text


def test_without_guid_the_link_is_the_key() -> None:
    [record] = parse(feed("23-3014 USA v. Randy Koontz", guid=""))
    assert record.key == "https://ecf.dcd.uscourts.gov/cgi-bin/DktRpt.pl?251234"


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Fri, 03 Feb 2023 11:57:38 EST", "2023-02-03T11:57:38-05:00"),
        ("Mon, 10 Jul 2023 16:02:11 EDT", "2023-07-10T16:02:11-04:00"),
        ("Mon, 10 Jul 2023 16:02:11 CST", "2023-07-10T16:02:11-06:00"),
        ("Mon, 10 Jul 2023 16:02:11 PDT", "2023-07-10T16:02:11-07:00"),
        ("Mon, 10 Jul 2023 16:02:11 GMT", "2023-07-10T16:02:11+00:00"),
        ("Mon, 10 Jul 2023 16:02:11 -1000", "2023-07-10T16:02:11-10:00"),
        ("yesterday", ""),
        ("", ""),
    ],
)
def test_pubdate_becomes_iso_with_its_offset(raw: str, iso: str) -> None:
    assert _iso_datetime(raw) == iso


@pytest.mark.parametrize(
    ("case_name", "parties"),
    [
        ("USA v. Randy Koontz", ("Randy Koontz",)),
        ("Stephen Ollar, et al v. DC, et al", ("Stephen Ollar", "DC")),
        ("In the Matter of the Extradition of Ivan Ivanov", ("Ivan Ivanov",)),
        ("Ivanov v. United States of America", ("Ivanov",)),
    ],
)
def test_parties_from_the_case_name(case_name: str, parties: tuple[str, ...]) -> None:
    assert _parties(case_name) == parties


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>Service unavailable", "not well-formed"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "expected an RSS"),
        (b"<rss><channel><item><title>x</title></item></channel></rss>", "neither <guid> nor <link>"),
        (b'<!DOCTYPE r [<!ENTITY a "a">]><rss/>', "declares entities"),
    ],
)
def test_broken_bodies_raise_parse_error_naming_the_url(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse(body)
    assert "ecf.dcd.uscourts.gov" in str(err.value)


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay_scenario("pacer_rss")
