"""uk_court_lists: CaTH summary page -> list pages -> one record per hearing row.

Also holds `replay_scenario`, which the court adapters' tests share: it replays an e2e/scenario.json
in-process with the pipeline's own merge and diff rules (watcher.diff), so the scenario data is checked
before the lead's CLI harness runs it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from icalendar import Calendar

from sources.uk_court_lists import Options, UkCourtLists
from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_adapters_e2e import alerts
from tests.test_adapters_e2e import write_config as write_scenario_config
from watcher.diff import Stored, Transition, diff_records
from watcher.errors import ParseError
from watcher.match import Matcher
from watcher.models import KEYWORD_MATCH, Fetched, Match, ParseResult, Person, Query, Record, SourceRequest
from watcher.registry import load_registry
from watcher.rounds import keyword_matches

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://www.court-tribunal-hearings.service.gov.uk"
PAGE = (FIXTURES / "uk_court_lists" / "cath_daily-cause-list.html").read_text()


def make_fetched(
    request: SourceRequest, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Fetched:
    """A response as watcher.fetch builds it: the final URL carries the request's params."""
    url = f"{request.url}?{urlencode(dict(request.params))}" if request.params else request.url
    return Fetched(
        request,
        url,
        status,
        headers or {},
        body,
        hashlib.sha256(body).hexdigest(),
        datetime(2026, 1, 1, tzinfo=UTC),
    )


# --- the e2e scenario, replayed as the pipeline would -------------------------------------------------


def _serve(routes: list[dict[str, Any]], folder: Path, base: str, request: SourceRequest) -> Fetched:
    """The harness's routing: equal path, subset query match, most params wins, else 404."""
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | dict(request.params)
    hits = [
        r
        for r in routes
        if r["path"] == parts.path and all(query.get(k) == v for k, v in r.get("query", {}).items())
    ]
    if not hits or not request.url.startswith(base):
        return make_fetched(request, b"", 404)
    route = max(hits, key=lambda r: len(r.get("query", {})))
    body = (folder / route["body"]).read_bytes().replace(b"{base}", base.encode())
    headers = {"content-type": route["content_type"]} if "content_type" in route else {}
    return make_fetched(request, body, route.get("status", 200), headers)


def _round(
    adapter: Any, routes: list[dict[str, Any]], folder: Path, base: str, query: Query
) -> list[ParseResult]:
    results, pending = [], list(adapter.requests(query))
    while pending:
        request = pending.pop(0)
        response = _serve(routes, folder, base, request)
        assert response.status in request.ok_statuses, (
            f"{request.url} {dict(request.params)} -> {response.status}"
        )
        result = adapter.parse(response)
        results.append(result)
        pending[:0] = result.follow
    return results


def replay_scenario(name: str, folder_name: str = "e2e") -> None:
    """Each step's alerts, computed in-process with the pipeline's own rules: the union of the responses,
    complete only when every response is, watched names or else the source's keywords
    (watcher.rounds.keyword_matches), removal grace, and watcher.diff. The CLI harness
    (tests/test_adapters_e2e.py) runs the same scenario for real; this finds a wrong scenario faster."""
    folder = FIXTURES / name / folder_name
    scenario = json.loads((folder / "scenario.json").read_text())
    base = "http://127.0.0.1:8765"
    options = json.loads(json.dumps(scenario.get("options", {})).replace("{base}", base))
    adapter_cls = load_registry().get(name)
    adapter = adapter_cls(adapter_cls.Options(**options))
    grace = scenario.get("source", {}).get("removal_grace", adapter.removal_grace_rounds)
    people = tuple(Person(**p) for p in scenario["people"])
    matcher, keywords = Matcher(people), tuple(scenario.get("keywords", ()))
    stored: dict[str, Stored] = {}
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for number, step in enumerate(scenario["steps"], start=1):
        results = _round(adapter, step["routes"], folder, base, Query(people, now=now))
        records: dict[str, Record] = {r.key: r for res in results for r in res.records}
        complete = all(res.complete for res in results)
        removed = [k for res in results for k in res.removed]
        current = {
            k: (r, matcher.match_record(r) or keyword_matches(r, keywords)) for k, r in records.items()
        }
        held = _hold(stored, current, complete, grace)
        transitions = diff_records(stored, current, complete=complete, removed_keys=removed, now=now)
        got = [(t.change.event, pid, t.change.record.key) for t in transitions for pid in t.person_ids]
        want = [(e["event"], e.get("person"), e["record"]) for e in step["expect"]]
        got = [(event, None if pid == KEYWORD_MATCH else pid, key) for event, pid, key in got]
        assert sorted(got, key=str) == sorted(want, key=str), f"{name} step {number}"
        for e in step["expect"]:
            if "field" in e:
                [t] = [
                    t
                    for t in transitions
                    if (t.change.event, t.change.record.key) == (e["event"], e["record"])
                ]
                assert f"fields.{e['field']}" in {d.field for d in t.change.delta}, (
                    f"{name} step {number}: {t.change.delta}"
                )
        stored = _stored_after(stored, transitions, held)


def _hold(
    stored: dict[str, Stored], current: dict[str, tuple[Record, list[Match]]], complete: bool, grace: int
) -> dict[str, int]:
    """watcher.rounds' anti-flap grace: a record missing from fewer than `grace` complete rounds is kept."""
    held = {}
    for key, old in stored.items():
        if complete and key not in current and old.missing_rounds < grace:
            current[key] = (old.record, [])
            held[key] = old.missing_rounds + 1
    return held


def _stored_after(
    stored: dict[str, Stored], transitions: list[Transition], held: dict[str, int]
) -> dict[str, Stored]:
    after = {k: replace(v, missing_rounds=held.get(k, 0)) for k, v in stored.items()}
    for t in transitions:
        key = t.change.record.key
        if t.change.event == "removed":
            after.pop(key, None)
        else:
            old = after[key].person_ids if key in after else frozenset()
            after[key] = Stored(t.change.record, t.change.record.content_hash(), old | set(t.person_ids))
    return after


# --- requests ----------------------------------------------------------------------------------------


def test_requests_ask_for_the_venue_summary() -> None:
    adapter = UkCourtLists(Options(location_id="42", base_url="http://127.0.0.1:9/"))
    [request] = adapter.requests(Query(people=()))
    assert (request.url, dict(request.params), request.purpose) == (
        "http://127.0.0.1:9/summary-of-publications",
        {"locationId": "42"},
        "summary",
    )


# --- summary page ------------------------------------------------------------------------------------

SUMMARY = """<html><body><ul>
<li><a href="/crown-daily-list?artefactId=a1">Crown Daily List 11 December 2025 - English (Saesneg)</a></li>
<li><a href="/crown-daily-list?artefactId=a2">Rhestr Ddyddiol 11 Rhagfyr 2025 - Cymraeg (Welsh)</a></li>
<li><a href="https://elsewhere.example/magistrates-public-list?artefactId=b1">Magistrates Public List</a></li>
<li><a href="/crown-daily-list?artefactId=a1">the same list linked twice</a></li>
<li><a href="/accessibility-statement">Accessibility</a></li>
</ul></body></html>"""


@pytest.mark.parametrize(
    ("list_types", "expected"),
    [
        ((), [("/crown-daily-list", "a1"), ("/magistrates-public-list", "b1")]),
        (("magistrates",), [("/magistrates-public-list", "b1")]),
    ],
    ids=["all English lists, once each, on our host", "filtered by list type"],
)
def test_summary_links_become_list_requests(
    list_types: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    adapter = UkCourtLists(Options(list_types=list_types))
    result = adapter.parse(
        make_fetched(SourceRequest(f"{BASE}/summary-of-publications", purpose="summary"), SUMMARY.encode())
    )
    assert result.records == []
    got = [(r.url.removeprefix(BASE), r.params["artefactId"]) for r in result.follow]
    assert got == expected
    assert all(r.purpose == "list" for r in result.follow)


ERROR_PAGE = (FIXTURES / "uk_court_lists" / "summary_error-page_synthetic.html").read_text()
# The sample summary after a layout change: the lists are reached by path, no artefactId in the links.
NEW_LAYOUT = SUMMARY.replace("?artefactId=", "/")


@pytest.mark.parametrize(
    ("body", "list_types", "message"),
    [
        (ERROR_PAGE, (), "links no hearing list \\(no"),
        (NEW_LAYOUT, (), "the page layout may have changed"),
        (SUMMARY, ("tribunal",), "links no hearing list of the types tribunal"),
    ],
    ids=["an error page served as 200", "a layout change", "no list of the configured types"],
)
def test_a_summary_without_list_links_is_a_parse_error(
    body: str, list_types: tuple[str, ...], message: str
) -> None:
    """Regression: such a summary parsed as a complete round of zero hearings, so every stored hearing
    became a `removed` alert and a CANCELLED calendar entry."""
    request = SourceRequest(f"{BASE}/summary-of-publications", {"locationId": "109"}, purpose="summary")
    with pytest.raises(ParseError, match=message) as err:
        UkCourtLists(Options(list_types=list_types)).parse(make_fetched(request, body.encode()))
    assert "summary-of-publications?locationId=109" in str(err.value)
    assert "nothing was marked removed" in str(err.value)


def test_a_summary_without_list_links_removes_nothing_through_the_cli(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """The e2e venue: McCalla's hearing is listed, then the summary is an error page served with 200. The
    round fails (exit 1, the error in `watcher status`), no `removed` alert is sent, the calendar keeps
    the hearing CONFIRMED, and the next good round finds it unchanged (no alert either)."""
    e2e = FIXTURES / "uk_court_lists" / "e2e"
    scenario = json.loads((e2e / "scenario.json").read_text())
    config = tmp_path / "watcher.toml"
    write_scenario_config(config, scenario, "uk_court_lists", farm.base)
    env = {"E2E_RECEIVER": receiver.url}
    venue = {"locationId": "109"}
    listed = Route(
        "/court-of-appeal-criminal-daily-cause-list",
        (e2e / "list_1.html").read_bytes(),
        query={"artefactId": "test-id-today"},
    )
    farm.set_routes(
        [Route("/summary-of-publications", (e2e / "summary_1.html").read_bytes(), query=venue), listed]
    )
    assert run_cli("check", "-c", str(config), env=env).code == 0
    listed_alerts = len(receiver.messages)
    assert listed_alerts and all(m["title"].startswith("[watcher] New") for m in receiver.messages)

    farm.set_routes([Route("/summary-of-publications", ERROR_PAGE.encode(), query=venue), listed])
    failed = run_cli("check", "-c", str(config), env=env)
    assert failed.code == 1 and "links no hearing list" in " ".join(failed.stdout.split())
    assert len(receiver.messages) == listed_alerts, [m["title"] for m in receiver.messages]
    status = run_cli("status", "-c", str(config), env=env)
    assert status.code == 1 and "links no hearing list" in " ".join(status.stdout.split())
    ics = tmp_path / "hearings.ics"
    assert run_cli("calendar", "--ics", str(ics), "-c", str(config), env=env).code == 0
    events = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert events and {str(e["status"]) for e in events} == {"CONFIRMED"}

    farm.set_routes(
        [Route("/summary-of-publications", (e2e / "summary_1.html").read_bytes(), query=venue), listed]
    )
    assert run_cli("check", "-c", str(config), env=env).code == 0
    assert len(receiver.messages) == listed_alerts
    events = [a["event"] for a in alerts(config, receiver)]
    assert "removed" not in events


# --- list page ---------------------------------------------------------------------------------------


def parse_list(body: str, artefact: str = "test-id-today") -> list[Record]:
    request = SourceRequest(
        f"{BASE}/court-of-appeal-criminal-daily-cause-list", {"artefactId": artefact}, purpose="list"
    )
    result = UkCourtLists(Options()).parse(make_fetched(request, body.encode()))
    assert result.complete
    return result.records


def test_blank_venue_and_judge_cells_repeat_the_row_above() -> None:
    zdx, mccalla, smith = parse_list(PAGE)
    assert mccalla.fields["venue"] == zdx.fields["venue"] == "RCJ - Court 5"
    assert mccalla.fields["judge"].startswith("Lord Justice Males")
    assert smith.fields["venue"] == "RCJ - Court 3" and smith.fields["judge"].startswith(
        "Lord Justice Holroyde"
    )
    assert "additional_information" not in smith.fields  # an empty cell is not carried down


def test_a_republished_list_changes_no_record() -> None:
    """A new artefactId (republication) keeps every key, so a moved hearing is `changed`, not removed+new;
    and every record as it was (regression: the url carried the artefactId, so each republished list was
    a `changed` alert for every watched hearing, moved or not)."""
    first = parse_list(PAGE, "test-id-today")
    again = parse_list(PAGE, "5f2e0c1a-republished")
    assert first == again
    assert first[1].key == "109/court-of-appeal-criminal-daily-cause-list/2025-12-11/202503277 A5"
    assert first[1].url == f"{BASE}/summary-of-publications?locationId=109"


def test_the_same_case_twice_in_one_list_gets_distinct_keys() -> None:
    row = PAGE[
        PAGE.index('<tr class="govuk-table__row">', PAGE.index("<tbody")) : PAGE.index(
            "</tr>", PAGE.index("<tbody")
        )
        + 5
    ]
    twice = PAGE.replace(row, row + row)
    keys = [r.key for r in parse_list(twice)]
    assert keys[:2] == [keys[0], keys[0] + "#2"]


@pytest.mark.parametrize(
    ("day", "time", "expected"),
    [
        ("11 December 2025", "10:30am", "2025-12-11T10:30:00+00:00"),
        ("11 December 2025", "2:00pm", "2025-12-11T14:00:00+00:00"),
        ("11 December 2025", "12:15pm", "2025-12-11T12:15:00+00:00"),
        ("11 December 2025", "10.30 a.m.", "2025-12-11T10:30:00+00:00"),
        ("11 December 2025", "14:30", "2025-12-11T14:30:00+00:00"),
        ("11 June 2026", "10:00am", "2026-06-11T10:00:00+01:00"),  # British Summer Time
        ("11 June 2026", "Not before 2pm", "2026-06-11T14:00:00+01:00"),
        ("11 June 2026", "", "2026-06-11"),
        ("11 June 2026", "25:99", "2026-06-11"),
    ],
)
def test_hearing_at_is_the_list_date_and_time_in_london(day: str, time: str, expected: str) -> None:
    body = PAGE.replace("11 December 2025", day).replace(">10:30am<", f">{time}<", 1)
    assert parse_list(body)[0].hearing_at == expected


@pytest.mark.parametrize(
    ("details", "names"),
    [
        ("R v ZDX", ("ZDX",)),
        ("Robert McCalla", ("Robert McCalla",)),
        ("Regina v SMITH, John", ("SMITH, John",)),
        (
            "Government of the Russian Federation -v- Ivan IVANOV",
            ("Government of the Russian Federation", "Ivan IVANOV"),
        ),
    ],
)
def test_names_come_from_the_case_details(details: str, names: tuple[str, ...]) -> None:
    record = parse_list(PAGE.replace(">R v ZDX<", f">{details}<"))[0]
    assert record.names == names and record.text == details and record.kind == "hearing"


def test_a_list_with_other_columns_keeps_them_as_fields() -> None:
    body = """<html><head><title>Westminster Magistrates' Court Public List</title></head><body>
    <h2>List for 3 March 2026</h2><p>Last updated 2 March 2026 at 4:05pm</p>
    <table class="govuk-table"><tr><th>Courtroom</th><th>Sitting at</th><th>Defendant name</th><th>URN</th>
    <th>Offence</th></tr><tr><td>Court 1</td><td>10am</td><td>IVANOV, Ivan</td><td>01XX1234526</td>
    <td>Extradition Act 2003 s.7</td></tr></table></body></html>"""
    [record] = parse_list(body)
    assert record.key == "109/court-of-appeal-criminal-daily-cause-list/2026-03-03/01XX1234526"
    assert record.hearing_at == "2026-03-03T10:00:00+00:00"
    assert record.fields["offence"] == "Extradition Act 2003 s.7" and record.names == ("IVANOV, Ivan",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty body"),
        (PAGE.replace("11 December 2025", "sometime"), "no list date"),
        (PAGE.replace("govuk-table overflow-table", "list"), "no hearing table"),
        (PAGE.replace("<th ", "<td ").replace("</th>", "</td>"), "no header row"),
        (PAGE.replace("11 December 2025", "31 February 2025"), "no list date"),
    ],
)
def test_broken_list_pages_raise_parse_error_naming_the_url(body: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse_list(body)
    assert "court-of-appeal-criminal-daily-cause-list" in str(err.value)


def test_a_removal_tells_what_it_may_mean() -> None:
    assert "republished" in UkCourtLists.removal_note


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay_scenario("uk_court_lists")
