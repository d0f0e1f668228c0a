"""uk_find_case_law: Atom feed searches, paging by feed links, parties, licence and rate limit."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from sources.uk_find_case_law import Options, UkFindCaseLaw, _parties
from tests.support.servers import Route, SourceFarm
from tests.test_gdelt import JITTER, paced_round
from tests.test_uk_court_lists import FIXTURES, make_fetched, replay_scenario
from watcher.errors import ParseError
from watcher.models import ParseResult, Person, Query, SourceRequest

FEED = (FIXTURES / "uk_find_case_law" / "atom_feed_openapi_example.xml").read_text()
PEOPLE = (Person(id="p1", name="Ivan Ivanov", aliases=("Иван Иванов",)), Person(id="p2", name="Ivan Ivanov"))


def pairs(request: SourceRequest) -> list[tuple[str, str]]:
    """The query as sent: the URL's own pairs (repeated `court`) or the params."""
    return parse_qsl(urlsplit(request.url).query) + list(request.params.items())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [[("order", "-transformation"), ("per_page", "50")]]),
        (
            {"query": '"extradition"', "courts": ("ewhc/admin", "uksc"), "per_page": 20},
            [[("query", '"extradition"'), ("court", "ewhc/admin"), ("court", "uksc"),
              ("order", "-transformation"), ("per_page", "20")]],
        ),
        (
            {"party_from_watchlist": True},
            [[("party", "Ivan Ivanov"), ("order", "-transformation"), ("per_page", "50")],
             [("party", "Иван Иванов"), ("order", "-transformation"), ("per_page", "50")]],
        ),
    ],
    ids=["latest changes", "court and phrase search", "one party search per distinct name form"],
)  # fmt: skip
def test_requests(options: dict[str, object], expected: list[list[tuple[str, str]]]) -> None:
    adapter = UkFindCaseLaw(Options(base_url="http://127.0.0.1:9", **options))
    requests = adapter.requests(Query(people=PEOPLE))
    assert [pairs(r) for r in requests] == expected
    assert all(r.url.startswith("http://127.0.0.1:9/atom.xml") for r in requests)


def parse(body: str, url: str, **options: object) -> ParseResult:
    adapter = UkFindCaseLaw(Options(**options))
    return adapter.parse(make_fetched(SourceRequest(url, purpose="feed"), body.encode()))


@pytest.mark.parametrize(
    ("page", "max_pages", "follows"),
    [("", 2, True), ("&page=2", 2, False), ("&page=2", 3, True), ("&page=x", 3, False)],
)
def test_paging_follows_the_next_link_up_to_max_pages(page: str, max_pages: int, follows: bool) -> None:
    body = FEED.replace("atom.xml?page=2", "atom.xml?court=uksc&amp;page=2")
    result = parse(body, f"http://mirror.test/atom.xml?court=ewhc%2Fadmin&court=uksc{page}", max_pages=max_pages,
                   base_url="http://mirror.test")  # fmt: skip
    assert bool(result.follow) is follows
    if follows:
        [nxt] = result.follow
        assert nxt.url.startswith("http://mirror.test/atom.xml")  # never the link's own host
        assert pairs(nxt) == [("court", "uksc"), ("page", "2")]  # the link's params win


@pytest.mark.parametrize(
    ("body", "page", "complete"),
    [
        (FEED, "", True),
        (FEED, "?page=2", False),
        (FEED.replace('<link href="https://caselaw.nationalarchives.gov.uk/atom.xml?page=2" rel="next"/>', ""),
         "?page=2", True),
    ],
    ids=["page 1, its next page fetched", "max_pages reached, a next page unread", "the last page"],
)  # fmt: skip
def test_a_search_is_complete_when_every_page_is_fetched(body: str, page: str, complete: bool) -> None:
    """A judgment that leaves a fully paged search is removed; one past max_pages could be anywhere."""
    result = parse(body, f"https://caselaw.nationalarchives.gov.uk/atom.xml{page}", max_pages=2)
    assert result.complete is complete and len(result.records) == 1
    assert UkFindCaseLaw.removal_grace_rounds == 1 and "withdrawn" in UkFindCaseLaw.removal_note


def test_contenthash_is_a_field_so_a_new_text_is_a_change() -> None:
    one = parse(FEED, "https://caselaw.nationalarchives.gov.uk/atom.xml").records[0]
    two = parse(FEED.replace("d1b2a59f", "00000000"), "https://x/atom.xml").records[0]
    assert one.key == two.key == "d-9b51d493-65ba-471f-8f08-c369ec66e3f8"
    assert one.fields["contenthash"] != two.fields["contenthash"]


def test_summary_html_becomes_searchable_text() -> None:
    body = FEED.replace(
        '<summary type="html"/>',
        '<summary type="html">&lt;p&gt;Appeal of &lt;b&gt;Ivan Ivanov&lt;/b&gt; against extradition&lt;/p&gt;</summary>',
    )
    [record] = parse(body, "https://x/atom.xml").records
    assert record.text == "Jarndyce v. Jarndyce\nAppeal of Ivan Ivanov against extradition"


@pytest.mark.parametrize(
    ("title", "parties"),
    [
        ("Jarndyce v. Jarndyce", ("Jarndyce",)),
        ("R (on the application of Ivan Ivanov) v Secretary of State for the Home Department",
         ("Ivan Ivanov", "Secretary of State for the Home Department")),
        ("Government of the Russian Federation v Ivanov & Ors", ("Government of the Russian Federation", "Ivanov")),
        ("Ivanov v Westminster Magistrates' Court and Another", ("Ivanov", "Westminster Magistrates' Court")),
        ("Re X (A Child)", ("Re X (A Child)",)),
    ],
)  # fmt: skip
def test_parties_from_titles(title: str, parties: tuple[str, ...]) -> None:
    assert _parties(title) == parties


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not xml", "not well-formed"),
        ("<rss><channel/></rss>", "expected an Atom <feed>"),
        (FEED.replace("<tna:uri>d-9b51d493-65ba-471f-8f08-c369ec66e3f8</tna:uri>", ""), "no <tna:uri>"),
        ('<!DOCTYPE f [<!ENTITY a "aa">]><feed xmlns="http://www.w3.org/2005/Atom"/>', "declares entities"),
    ],
)
def test_broken_bodies_raise_parse_error_naming_the_url(body: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse(body, "https://caselaw.nationalarchives.gov.uk/atom.xml")
    assert "caselaw.nationalarchives.gov.uk" in str(err.value)


def test_terms_and_rate_limit_are_declared() -> None:
    assert "computational analysis" in UkFindCaseLaw.licence
    assert UkFindCaseLaw.rate_limits == ((1000, 300),)
    assert UkFindCaseLaw.min_interval_seconds * 1000 >= 300  # the spacing alone keeps the window


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay_scenario("uk_find_case_law")


# --- pacing: real fetches in a real round -------------------------------------------------------------


@pytest.mark.parametrize("configured", [None, 0.5], ids=["the documented 0.3 s", "a configured 0.5 s"])
def test_a_round_spaces_its_searches(farm: SourceFarm, tmp_path: Path, configured: float | None) -> None:
    """Two party searches (two name forms), fired together; the fetch spaces them by the config's
    `min_interval`, else by the adapter's 0.3 s (1,000 requests per 5 minutes)."""
    body = (FIXTURES / "uk_find_case_law" / "e2e" / "feed_1.xml").read_bytes()
    farm.set_routes([Route("/atom.xml", body, "application/atom+xml")])
    source = {} if configured is None else {"min_interval": configured}
    scenario = {
        "options": {"base_url": "{base}", "party_from_watchlist": True},
        "people": [{"id": "p1", "name": "Jarndyce", "aliases": ["Jarndyce Smith"]}],
        "source": source,
    }
    [gap], spacings = paced_round(farm, tmp_path, "uk_find_case_law", scenario)
    interval = configured or UkFindCaseLaw.min_interval_seconds
    assert spacings == [interval, interval] and gap >= interval - JITTER, gap
