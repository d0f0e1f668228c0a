"""opensanctions: requests per cursor, the index -> full export / deltas chain, FtM entity mapping."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from sources.opensanctions import OpenSanctions, Options
from tests.support.cli import run_cli
from tests.support.servers import JsonReceiver, Route, SourceFarm
from watcher.errors import ParseError
from watcher.match import Matcher
from watcher.models import Fetched, ParseResult, Person, Query, Record, SourceRequest

FIXTURES = Path(__file__).parent / "fixtures" / "opensanctions"
BASE = "https://data.opensanctions.org"
INDEX = f"{BASE}/datasets/latest/sanctions/delta.json"


def adapter(**options: Any) -> OpenSanctions:
    return OpenSanctions(Options(**{"dataset": "sanctions", **options}))


def fetched(request: SourceRequest, body: bytes | str, status: int = 200) -> Fetched:
    raw = body.encode() if isinstance(body, str) else body
    return Fetched(request, request.url, status, {}, raw, hashlib.sha256(raw).hexdigest(), datetime.now(UTC))


def parse(
    body: bytes | str, purpose: str, url: str = INDEX, status: int = 200, **options: Any
) -> ParseResult:
    return adapter(**options).parse(fetched(SourceRequest(url, purpose=purpose), body, status))


def index(*versions: str, base: str = BASE) -> str:
    urls = {v: f"{base}/artifacts/sanctions/{v}/entities.delta.json" for v in versions}
    return json.dumps({"versions": urls, "updated_at": "2024-05-28T14:47:29Z"})


def entity(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "e1", "caption": "Ivan Petrov", "schema": "Person", "properties": {}}
    return {**base, **overrides}


def lines(*items: dict[str, Any]) -> str:
    return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)


V1, V2, V3 = "20240527134702-zbn", "20240527194702-wnk", "20240528014702-pfh"


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cursor", "purpose"),
    [(None, "index"), (V2, f"index:{V2}"), ("not-a-version", "index"), ("", "index")],
    ids=["first-round", "with-cursor", "garbage-cursor-means-full-load", "empty-cursor"],
)
def test_every_round_starts_with_the_delta_index(cursor: str | None, purpose: str) -> None:
    [request] = adapter(dataset="interpol_red_notices").requests(Query((), cursor))
    assert request.url == f"{BASE}/datasets/latest/interpol_red_notices/delta.json"
    assert request.purpose == purpose
    assert 404 in request.ok_statuses  # a dataset without deltas: full loads only


def test_base_url_points_at_a_mirror() -> None:
    [request] = adapter(base_url="http://127.0.0.1:8080/").requests(Query(()))
    assert request.url == "http://127.0.0.1:8080/datasets/latest/sanctions/delta.json"


def test_no_names_are_sent_and_the_licence_is_stated() -> None:
    assert OpenSanctions.sends_names is False
    assert OpenSanctions.licence.startswith("CC BY-NC 4.0")
    assert OpenSanctions.expect_min_records == 0


@pytest.mark.parametrize(
    ("dataset", "floor"),
    [
        ("interpol_red_notices", 6000),
        ("un_sc_sanctions", 750),
        ("eu_fsf", 4370),
        ("us_ofac_sdn", 13575),
        ("gb_fcdo_sanctions", 3950),
        ("ru_fedsfm_terror", 0),  # no documented floor: the operator sets expect_min_records
        ("sanctions", 0),
    ],
)
def test_the_floor_follows_the_dataset(dataset: str, floor: int) -> None:
    assert adapter(dataset=dataset).expect_min_records == floor


# --- the index decides: full export or deltas -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "purpose", "follows", "cursor"),
    [
        (index(V1, V2), 200, "index", [f"full:{V2}"], None),
        (index(V1, V2, V3), 200, f"index:{V1}", [f"delta:{V2}", f"delta:{V3}"], None),
        (index(V1, V2, V3), 200, f"index:{V3}", [], V3),
        # A cursor without a delta of its own (a build with no changes) still counts, as in yente.
        (index(V1, V3), 200, f"index:{V2}", [f"delta:{V3}"], None),
        (index(V2, V3), 200, f"index:{V1}", [f"full:{V3}"], None),
        (index(), 200, f"index:{V1}", ["full"], None),
        ("<html>Not Found</html>", 404, f"index:{V1}", ["full"], None),
        ("", 404, "index", ["full"], None),
    ],
    ids=[
        "first-round-full-load",
        "newer-deltas-oldest-first",
        "up-to-date-keeps-cursor",
        "cursor-between-versions",
        "cursor-older-than-window-full-load",
        "empty-index-full-load",
        "no-index-with-cursor-full-load",
        "no-index-first-round",
    ],
)
def test_index_chooses_full_load_or_deltas(
    body: str, status: int, purpose: str, follows: list[str], cursor: str | None
) -> None:
    result = parse(body, purpose, status=status)
    assert [r.purpose for r in result.follow] == follows
    assert result.cursor == cursor
    assert result.complete == any(p.startswith("full") for p in follows)  # only a full load is complete
    assert result.records == []


def test_too_many_pending_deltas_mean_a_full_load() -> None:
    result = parse(index(V1, V2, V3), f"index:{V1}", max_deltas=1)
    assert [r.purpose for r in result.follow] == [f"full:{V3}"]


def test_delta_urls_are_rerooted_on_a_mirror_and_relative_ones_resolved() -> None:
    mirror = "http://127.0.0.1:9000"
    body = json.dumps(
        {"versions": {V1: "", V2: f"{BASE}/artifacts/sanctions/{V2}/entities.delta.json", V3: "x.json"}}
    )
    result = parse(body, f"index:{V1}", url=f"{mirror}/datasets/latest/sanctions/delta.json", base_url=mirror)
    assert [r.url for r in result.follow] == [
        f"{mirror}/artifacts/sanctions/{V2}/entities.delta.json",
        f"{mirror}/datasets/latest/sanctions/x.json",
    ]


def test_full_export_is_complete_and_carries_the_cursor() -> None:
    result = parse((FIXTURES / "full_export.ftm.json").read_bytes(), f"full:{V3}")
    assert result.complete is True and result.cursor == V3
    assert len(result.records) == 3


# --- entity mapping ---------------------------------------------------------------------------


def one(item: dict[str, Any]) -> Record:
    [record] = parse(lines(item), "full:" + V1).records
    return record


@pytest.mark.parametrize(
    ("props", "birth_dates", "nationalities"),
    [
        ({"birthDate": ["1974-05-21"], "nationality": ["kz"]}, ("1974-05-21",), ("KZ",)),
        (
            {"birthDate": ["1974", "1974-05"], "citizenship": ["ru"], "country": ["by"]},
            ("1974", "1974-05"),
            ("RU", "BY"),
        ),
        ({"birthDate": ["circa 1970", "1974-05-21T00:00:00"]}, ("1974-05-21",), ()),
        ({"nationality": ["zz", "suhh", "ru", "RU"]}, (), ("RU",)),
    ],
    ids=["exact", "partial-dates-several-countries", "junk-date-and-datetime", "unknown-and-non-iso-codes"],
)
def test_birth_dates_and_nationalities(
    props: dict[str, list[str]], birth_dates: tuple[str, ...], nationalities: tuple[str, ...]
) -> None:
    record = one(entity(properties=props))
    assert record.birth_dates == birth_dates
    assert record.nationalities == nationalities


def test_names_caption_first_then_names_aliases_weak_aliases_deduplicated() -> None:
    props = {"name": ["Ivan Petrov", "Иван Петров"], "alias": ["Vanya"], "weakAlias": ["Иван Петров", "IP"]}
    assert one(entity(properties=props)).names == ("Ivan Petrov", "Иван Петров", "Vanya", "IP")


def test_names_composed_per_script_only_when_no_full_name() -> None:
    props = {
        "firstName": ["Иван", "Ivan"],
        "fatherName": ["Петрович"],
        "middleName": ["Petrovich"],
        "lastName": ["Петров", "Petrov"],
    }
    record = one(entity(caption="", properties=props))
    assert record.names == ("Иван Петрович Петров", "Ivan Petrovich Petrov")


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ("Person", "person"),
        ("Organization", "organization"),
        ("Company", "organization"),
        ("LegalEntity", "organization"),
    ],
)
def test_people_and_organisations_become_records(schema: str, kind: str) -> None:
    assert one(entity(schema=schema)).kind == kind


def test_other_schemas_are_skipped() -> None:
    body = lines(entity(id="a", schema="Address"), entity(id="s", schema="Sanction"), entity(id="p"))
    assert [r.key for r in parse(body, "full").records] == ["p"]


def test_fields_are_stable_and_leave_out_last_seen() -> None:
    item = entity(
        properties={"topics": ["sanction", "crime"], "position": ["B", "A"], "passportNumber": ["N1"]},
        datasets=["eu_fsf", "be_fod"],
        target=True,
        first_seen="2023-01-01T00:00:00",
        last_seen="2026-01-01T00:00:00",
        last_change="2024-01-01T00:00:00",
    )
    record = one(item)
    assert record.fields == {
        "schema": "Person",
        "topics": "crime; sanction",
        "datasets": "be_fod; eu_fsf",
        "position": "A; B",
        "id_numbers": "N1",
        "target": "yes",
        "first_seen": "2023-01-01T00:00:00",
        "last_change": "2024-01-01T00:00:00",
    }
    assert record.url == "https://www.opensanctions.org/entities/e1/"
    assert record.title == "OpenSanctions sanctions: Ivan Petrov (Person)"


# --- deltas ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ops", "keys", "removed"),
    [
        ([("ADD", entity(id="a")), ("MOD", entity(id="b"))], ["a", "b"], ()),
        ([("ADD", entity(id="a")), ("DEL", {"id": "a"})], [], ("a",)),
        ([("DEL", {"id": "a"}), ("ADD", entity(id="a"))], ["a"], ()),
        ([("MOD", entity(id="a", caption="Old")), ("MOD", entity(id="a", caption="New"))], ["a"], ()),
        ([("DEL", {"id": "addr-1"})], [], ("addr-1",)),
    ],
    ids=["add-and-mod", "add-then-del", "del-then-add", "last-mod-wins", "del-of-any-schema"],
)
def test_delta_ops_apply_in_file_order(
    ops: list[tuple[str, dict[str, Any]]], keys: list[str], removed: tuple[str, ...]
) -> None:
    body = lines(*({"op": op, "entity": ent} for op, ent in ops))
    result = parse(body, f"delta:{V2}")
    assert [r.key for r in result.records] == keys
    assert result.removed == removed
    assert result.complete is False and result.cursor == V2
    if keys == ["a"] and ops[-1][1].get("caption") == "New":
        assert result.records[0].names == ("New",)


# --- broken bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "purpose"),
    [
        ("<html>maintenance</html>", "index"),
        ('["20240527134702-zbn"]', "index"),
        ('{"versions": ["20240527134702-zbn"]}', "index"),
        ('{"versions": {"latest": "https://x/entities.delta.json"}}', "index"),
        ('{"versions": {"20240527134702-zbn": 5}}', "index"),
        ("", "full"),
        ("<html><body>Not found</body></html>", "full"),
        ('{"id": "a", "schema": "Person"}\n[1, 2]\n', "full"),
        ('{"schema": "Person", "properties": {}}\n', "full"),
        ('{"id": "a", "properties": {}}\n', "full"),
        ('{"id": "a", "schema": "Person", "properties": []}\n', "full"),
        ('{"id": "a", "schema": "Person", "properties": {"name": "Ivan"}}\n', "full"),
        ('{"id": "a", "schema": "Person", "properties": {"birthDate": [1974]}}\n', "full"),
        ('{"op": "UPSERT", "entity": {"id": "a"}}\n', f"delta:{V1}"),
        ('{"op": "DEL", "entity": "a"}\n', f"delta:{V1}"),
        ('{"op": "DEL", "entity": {}}\n', f"delta:{V1}"),
        ('{"op": "ADD", "entity": {"id": "a"}}\n', f"delta:{V1}"),
        ("{}", "listing"),
    ],
    ids=[
        "index-html",
        "index-list",
        "index-versions-list",
        "index-bad-version",
        "index-url-not-string",
        "full-empty",
        "full-html",
        "full-line-not-object",
        "full-no-id",
        "full-no-schema",
        "full-properties-not-object",
        "full-property-not-list",
        "full-property-not-strings",
        "delta-unknown-op",
        "delta-entity-not-object",
        "delta-del-without-id",
        "delta-add-without-schema",
        "unknown-purpose",
    ],
)
def test_broken_bodies_raise_parse_error_naming_the_url(body: str, purpose: str) -> None:
    with pytest.raises(ParseError, match=r"data\.opensanctions\.org"):
        parse(body, purpose)


# --- the end-to-end scenario, replayed in-process --------------------------------------------


def serve(routes: list[dict[str, Any]], folder: Path, base: str, request: SourceRequest) -> Fetched:
    """The harness's route matching: equal path, subset query match, most params wins, else 404."""
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query)) | dict(request.params)
    hits = [
        r
        for r in routes
        if r["path"] == parts.path and all(query.get(k) == v for k, v in r.get("query", {}).items())
    ]
    if not hits or not request.url.startswith(base):
        return fetched(request, b"", 404)
    route = max(hits, key=lambda r: len(r.get("query", {})))
    return fetched(request, (folder / route["body"]).read_bytes(), route.get("status", 200))


def run_round(
    source: Any, routes: list[dict[str, Any]], folder: Path, base: str, query: Query
) -> list[ParseResult]:
    """Fetch depth-first in the order given (a follow right after its parent), as the pipeline must."""
    results: list[ParseResult] = []
    pending = list(source.requests(query))
    while pending:
        request = pending.pop(0)
        response = serve(routes, folder, base, request)
        assert response.status in request.ok_statuses, f"{request.url} -> {response.status}"
        result = source.parse(response)
        results.append(result)
        pending[:0] = result.follow
    return results


def apply(stored: dict[str, Record], results: list[ParseResult]) -> tuple[dict[str, Record], str | None]:
    """As watcher.rounds merges a round: records in order, complete only if every response is,
    removals from `removed` (unless the round has the key) and, in a complete round, from absence."""
    records: dict[str, Record] = {}
    removed: set[str] = set()
    complete, cursor = True, None
    for result in results:
        records.update((r.key, r) for r in result.records)
        removed.update(result.removed)
        complete = complete and result.complete
        cursor = result.cursor or cursor
    current = {**stored, **records} if not complete else dict(records)
    for key in removed - records.keys():
        current.pop(key, None)
    return current, cursor


def alerts(matcher: Matcher, old: dict[str, Record], new: dict[str, Record]) -> list[dict[str, str]]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        record = after or before
        assert record is not None
        event = "new" if before is None else "removed" if after is None else "changed"
        for match in matcher.match_record(record):
            alert = {"event": event, "person": match.person_id, "record": key}
            if before and after:
                changed = {
                    f
                    for f in before.fields.keys() | after.fields.keys()
                    if before.fields.get(f) != after.fields.get(f)
                }
                alert["fields"] = ";".join(sorted(changed))
            out.append(alert)
    return out


def replay(name: str, source_cls: Any, options_cls: Any) -> None:
    folder = Path(__file__).parent / "fixtures" / name / "e2e"
    scenario = json.loads((folder / "scenario.json").read_text())
    base = "http://127.0.0.1:8765"
    options = {
        k: v.replace("{base}", base) if isinstance(v, str) else v for k, v in scenario["options"].items()
    }
    source = source_cls(options_cls(**options))
    people = tuple(Person(**p) for p in scenario["people"])
    matcher = Matcher(people)
    stored: dict[str, Record] = {}
    cursor: str | None = None
    for number, step in enumerate(scenario["steps"], start=1):
        results = run_round(source, step["routes"], folder, base, Query(people, cursor))
        current, new_cursor = apply(stored, results)
        got = alerts(matcher, stored, current)
        want = step["expect"]
        assert [{k: a[k] for k in ("event", "person", "record")} for a in got] == [
            {k: e[k] for k in ("event", "person", "record")} for e in want
        ], f"step {number}"
        for alert, expected in zip(got, want, strict=True):
            if "field" in expected:
                assert expected["field"] in alert["fields"].split(";"), f"step {number}: {alert}"
        stored, cursor = current, new_cursor or cursor


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    replay("opensanctions", OpenSanctions, Options)


# --- through the real CLI: the dataset's floor holds full loads, never deltas -------------------

E2E = FIXTURES / "e2e"
FLOOR_CONFIG = """
[watcher]
database = "sqlite:///{db}"
retries = 0
[[person]]
id = "p1"
name = "Vladimir Nikolaevich Plotnikov"
birth_date = "1961-11-30"
[[person]]
id = "p2"
name = "Vitaly Yurievich Kuzmenko"
birth_date = "1971-01-22"
[[source]]
id = "os"
adapter = "opensanctions"
{override}
[source.options]
dataset = "eu_fsf"
base_url = "{base}"
[[channel]]
id = "team"
url_env = "TEAM"
[[subscription]]
channel = "team"
"""


def test_a_full_load_below_the_datasets_floor_fails_and_deltas_are_never_held_to_it(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """dataset eu_fsf (floor 4,370): the recorded export (3 entities) as a full load is a source failure,
    not a list of 3; loaded with the operator's override, the next round's deltas pass without it."""
    config = tmp_path / "watcher.toml"

    def check(override: str, *files: tuple[str, str]) -> tuple[int, str]:
        config.write_text(FLOOR_CONFIG.format(db=tmp_path / "w.db", base=farm.base, override=override))
        farm.set_routes(
            [Route(path, (E2E / body).read_bytes(), content_type="application/json") for path, body in files]
        )
        result = run_cli("check", "-c", str(config), env={"TEAM": receiver.url})
        return result.code, " ".join(result.stdout.replace("│", " ").split())

    full = [
        ("/datasets/latest/eu_fsf/delta.json", "index_step1.json"),
        ("/datasets/latest/eu_fsf/entities.ftm.json", "entities_step1.ftm.json"),
    ]
    code, out = check("", *full)
    assert code == 1 and "expected at least 4370" in out and receiver.messages == [], out
    code, out = check("expect_min_records = 0", *full)
    assert code == 0 and len(receiver.messages) == 1 and "Kuzmenko" in receiver.messages[0]["title"], out
    deltas = [
        (f"/artifacts/sanctions/{v}/entities.delta.json", f"delta_{v}.json")
        for v in ("20240528014702-pfh", "20240528074703-npf", "20240528134729-3iv")
    ]
    code, out = check("", ("/datasets/latest/eu_fsf/delta.json", "index_step2.json"), *deltas)
    assert code == 0, out
    assert len(receiver.messages) == 2 and "Plotnikov" in receiver.messages[1]["title"]
