"""html_list: selectors as an operator writes them, keys, links, option errors, and speed."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from cssselect import HTMLTranslator
from lxml import etree
from pydantic import ValidationError

from sources.html_list import HtmlList, HtmlListOptions, _css_to_xpath
from tests.test_interpol_notices import run_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Query, Record, SourceRequest

URL = "https://courts.example.org/lists/today"


def fetched(body: str | bytes, url: str = URL) -> Fetched:
    raw = body.encode() if isinstance(body, str) else body
    return Fetched(
        request=SourceRequest(url),
        url=url,
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def parse(body: str, **options: Any) -> list[Record]:
    defaults: dict[str, Any] = {
        "url": URL,
        "item": "tr",
        "fields": {"case": "td:nth-child(1)", "party": "td:nth-child(2)"},
        "key": "case",
    }
    return HtmlList(HtmlListOptions(**{**defaults, **options})).parse(fetched(body)).records


def table(*rows: str) -> str:
    return "<html><body><table>" + "".join(rows) + "</table></body></html>"


def test_requests_fetch_the_configured_url() -> None:
    options = HtmlListOptions(url="http://127.0.0.1:9/list", item="tr", fields={"a": "td"}, key="a")
    assert [r.url for r in HtmlList(options).requests(Query(()))] == ["http://127.0.0.1:9/list"]


DOC = etree.fromstring(
    "<html><body><table><tr><td>a</td><td>b<span>x</span><span>y</span></td><th>c</th><td>d</td></tr></table>"
    "<ul><li>1</li><li>2<ul><li>2.1</li><li>2.2</li></ul></li></ul><div><p>p1</p><span>s</span><p>p2</p></div>"
    "</body></html>",
    etree.HTMLParser(),
)


@pytest.mark.parametrize(
    "css",
    [
        "td:nth-child(2)",
        "tr > td:nth-child(4)",
        "td:nth-child(3)",
        ":nth-child(2)",
        "td:nth-of-type(3)",
        "td:first-child",
        "tr td:nth-child(2) span",
        "li:nth-child(2)",
        "ul li:nth-child(1)",
        "p:nth-of-type(2)",
        "body > :nth-child(2) > li:nth-child(2)",
        "div :nth-child(2)",
        "td:nth-child(2n+1)",
        "td.x:nth-child(2)",
    ],
)
def test_faster_positional_xpath_selects_what_cssselect_selects(css: str) -> None:
    expected = DOC.xpath(HTMLTranslator().css_to_xpath(css))
    assert DOC.xpath(_css_to_xpath(css)) == expected


def test_court_list_rows_with_links_resolved_against_the_page() -> None:
    body = table(
        "<tr><th>Case</th><th>Party</th></tr>",
        '<tr><td><a href="/case/1">2025/1</a></td><td>R v Ivanov</td></tr>',
        '<tr><td><a href="https://other.example/2">2025/2</a></td><td>R v Petrov</td></tr>',
        '<tr><td><a href="3">2025/3</a></td><td>R v Sidorov</td></tr>',
    )
    records = parse(body, link="case", name_fields=["party"])
    assert [(r.key, r.url, r.names) for r in records] == [
        ("2025/1", "https://courts.example.org/case/1", ("R v Ivanov",)),
        ("2025/2", "https://other.example/2", ("R v Petrov",)),
        ("2025/3", "https://courts.example.org/lists/3", ("R v Sidorov",)),
    ]
    assert records[0].title == "2025/1: R v Ivanov" and records[0].fields == {
        "case": "2025/1",
        "party": "R v Ivanov",
    }


def test_link_as_a_selector_and_base_href() -> None:
    body = '<html><head><base href="https://mirror.example/x/"></head><body><table>'
    body += '<tr><td>1</td><td>A</td><td><a class="doc" href="d1.pdf">pdf</a></td></tr></table></body></html>'
    [record] = parse(body, link="a.doc")
    assert record.url == "https://mirror.example/x/d1.pdf"


def test_without_link_the_record_points_at_the_page() -> None:
    [record] = parse(table("<tr><td>1</td><td>A</td></tr>"))
    assert record.url == URL


def test_several_matches_are_joined_and_whitespace_collapsed() -> None:
    body = table("<tr><td>1</td><td><span>Ivan\n   Ivanov</span> <span>Иван Иванов</span></td></tr>")
    [record] = parse(body, fields={"case": "td:nth-child(1)", "party": "td:nth-child(2) span"})
    assert record.fields["party"] == "Ivan Ivanov; Иван Иванов"


def test_name_fields_join_parts_with_plus() -> None:
    body = table("<tr><td>7</td><td>IVANOV</td><td>Ivan</td></tr>")
    fields = {"id": "td:nth-child(1)", "surname": "td:nth-child(2)", "given": "td:nth-child(3)"}
    [record] = parse(body, fields=fields, key="id", name_fields=["given+surname", "surname"])
    assert record.names == ("Ivan IVANOV", "IVANOV")


def test_default_names_are_every_field() -> None:
    [record] = parse(table("<tr><td>1</td><td>Ivan Ivanov</td></tr>"))
    assert record.names == ("1", "Ivan Ivanov")


def test_fill_down_repeats_the_row_above() -> None:
    body = table(
        "<tr><td>1</td><td>Court 5</td></tr>",
        "<tr><td>2</td><td></td></tr>",
        "<tr><td>3</td><td>Court 3</td></tr>",
    )
    records = parse(body, fields={"case": "td:nth-child(1)", "room": "td:nth-child(2)"}, fill_down=["room"])
    assert [r.fields["room"] for r in records] == ["Court 5", "Court 5", "Court 3"]


def test_items_without_key_are_skipped_and_repeats_kept_once() -> None:
    body = table("<tr><th>header</th></tr>", "<tr><td>1</td><td>A</td></tr>", "<tr><td>1</td><td>B</td></tr>")
    assert [(r.key, r.fields["party"]) for r in parse(body)] == [("1", "A")]


def test_every_item_without_key_is_a_parse_error_naming_the_selector() -> None:
    with pytest.raises(ParseError, match=r"td:nth-child\(1\)"):
        parse(table("<tr><th>a</th></tr>", "<tr><th>b</th></tr>"))


def test_no_items_is_an_empty_result_left_to_expect_min_records() -> None:
    assert parse("<html><body><p>We have moved.</p></body></html>") == []
    assert HtmlList.expect_min_records == 1


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        HtmlList(HtmlListOptions(url=URL, item="tr", fields={"a": "td"}, key="a")).parse(fetched(body))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"item": "tr[", "fields": {"a": "td"}, "key": "a"}, "invalid CSS selector 'tr['"),
        ({"item": "tr", "fields": {"a": "td:nth-child("}, "key": "a"}, "field 'a': invalid CSS selector"),
        ({"item": "tr", "fields": {"a": "td"}, "key": "a", "link": "a[href"}, "invalid CSS selector"),
        ({"item": "tr", "fields": {"a": "td"}, "key": "b"}, "key: 'b' is not one of the fields (a)"),
        ({"item": "tr", "fields": {"a": "td"}, "key": "a", "name_fields": ["a+x"]}, "name_fields: 'x'"),
        ({"item": "tr", "fields": {"a": "td"}, "key": "a", "fill_down": ["z"]}, "fill_down: 'z'"),
        ({"item": "tr", "fields": {}, "key": "a"}, "at least one field"),
        ({"item": "tr", "fields": {"a": "td"}, "key": "a", "colour": "red"}, "Extra inputs"),
    ],
)
def test_option_errors_say_what_is_wrong(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        HtmlListOptions(url=URL, **options)
    assert message in str(err.value)


def benchmark_page() -> bytes:
    rows = "\n".join(
        f'<tr class="govuk-table__row"><td class="govuk-table__cell">{10 + i % 3}:30am</td>'
        f'<td class="govuk-table__cell"><a href="/case/2025{i:05d}">2025{i:05d} A{i % 7}</a></td>'
        f'<td class="govuk-table__cell">R v Firstname{i} Surname{i * 7}</td>'
        f'<td class="govuk-table__cell">Appeal against Conviction</td></tr>'
        for i in range(50)
    )
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Daily cause list</title></head><body>'
        '<header><nav><a href="/">Home</a> <a href="/lists">Lists</a></nav></header><main><h1>Court of Appeal</h1>'
        '<table class="govuk-table"><thead><tr><th>Time</th><th>Case number</th><th>Case details</th>'
        f"<th>Hearing type</th></tr></thead><tbody>{rows}</tbody></table></main><footer>Crown copyright</footer>"
        "</body></html>"
    )
    return page.encode()


def test_a_13_kb_page_of_50_rows_parses_in_about_a_millisecond() -> None:
    options = HtmlListOptions(
        url=URL,
        item="table.govuk-table tbody tr",
        fields={
            "time": "td:nth-child(1)",
            "case": "td:nth-child(2)",
            "details": "td:nth-child(3)",
            "type": "td:nth-child(4)",
        },
        key="case",
        link="case",
        name_fields=["details"],
    )
    adapter, page = HtmlList(options), fetched(benchmark_page())
    assert 12_000 < len(page.body) < 15_000 and len(adapter.parse(page).records) == 50
    best = min(_timed(adapter, page) for _ in range(5))
    # About 1 ms on the 2-core CI box; the bound is loose so a busy machine does not fail it.
    assert best < 0.005, f"{best * 1e6:.0f} µs per page"


def _timed(adapter: HtmlList, page: Fetched, rounds: int = 50) -> float:
    start = time.process_time()
    for _ in range(rounds):
        adapter.parse(page)
    return (time.process_time() - start) / rounds


def test_e2e_scenario_data() -> None:
    run_scenario("html_list")
