"""json_list: dotted paths, keys, links, option errors and documents that are not the expected list."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from sources.json_list import JsonList, JsonListOptions, values_at
from tests.test_interpol_notices import run_scenario
from watcher.errors import ParseError
from watcher.models import Fetched, Query, Record, SourceRequest

URL = "https://registry.example.org/api/list.json"


def fetched(body: Any) -> Fetched:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Fetched(
        request=SourceRequest(URL),
        url=URL,
        status=200,
        headers={"content-type": "application/json"},
        body=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def parse(body: Any, **options: Any) -> list[Record]:
    defaults: dict[str, Any] = {
        "url": URL,
        "items": "data.results",
        "fields": {"id": "id", "name": "name"},
        "key": "id",
    }
    return JsonList(JsonListOptions(**{**defaults, **options})).parse(fetched(body)).records


def test_requests_fetch_the_configured_url() -> None:
    options = JsonListOptions(url="http://127.0.0.1:9/l.json", fields={"id": "id"}, key="id")
    assert [r.url for r in JsonList(options).requests(Query(()))] == ["http://127.0.0.1:9/l.json"]


ITEM = {
    "id": 7,
    "person": {"name": "Ivanov", "aliases": [{"name": "Ivanoff"}, {"name": "Иванов"}]},
    "tags": ["a", "b"],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", [7]),
        ("person.name", ["Ivanov"]),
        ("person.aliases.name", ["Ivanoff", "Иванов"]),
        ("person.aliases.1.name", ["Иванов"]),
        ("tags", ["a", "b"]),
        ("tags.0", ["a"]),
        ("tags.9", []),
        ("missing.path", []),
        ("", [ITEM]),
    ],
)
def test_values_at_dotted_paths(path: str, expected: list[Any]) -> None:
    assert values_at(ITEM, path) == expected


def test_fields_join_lists_and_render_scalars() -> None:
    body = {
        "data": {
            "results": [
                {
                    "id": 1,
                    "name": ["Ivan", " Ivanov "],
                    "active": True,
                    "n": 2.5,
                    "x": None,
                    "o": {"b": 1, "a": 2},
                }
            ]
        }
    }
    fields = {"id": "id", "name": "name", "active": "active", "n": "n", "x": "x", "o": "o"}
    [record] = parse(body, fields=fields)
    assert record.fields == {
        "id": "1",
        "name": "Ivan; Ivanov",
        "active": "true",
        "n": "2.5",
        "x": "",
        "o": '{"a": 2, "b": 1}',
    }


def test_root_list_link_as_path_and_names_joined() -> None:
    body = [{"id": "a1", "first": "Ivan", "last": "IVANOV", "links": {"self": "https://r.example/a1"}}]
    [record] = parse(
        body,
        items="",
        fields={"id": "id", "first": "first", "last": "last"},
        link="links.self",
        name_fields=["first+last"],
    )
    assert (record.key, record.url, record.names, record.title) == (
        "a1",
        "https://r.example/a1",
        ("Ivan IVANOV",),
        "a1: Ivan IVANOV",
    )


def test_link_as_a_field_and_default_url() -> None:
    body = {"data": {"results": [{"id": 1, "name": "A", "u": "https://r.example/1"}, {"id": 2, "name": "B"}]}}
    records = parse(body, fields={"id": "id", "name": "name", "u": "u"}, link="u")
    assert [r.url for r in records] == ["https://r.example/1", URL]


def test_items_without_key_are_skipped_and_repeats_kept_once() -> None:
    body = {"data": {"results": [{"name": "no id"}, "junk", {"id": 1, "name": "A"}, {"id": 1, "name": "B"}]}}
    assert [(r.key, r.fields["name"]) for r in parse(body)] == [("1", "A")]


def test_every_item_without_key_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="key field 'id'"):
        parse({"data": {"results": [{"name": "A"}, {"name": "B"}]}})


def test_an_empty_list_is_an_empty_result() -> None:
    assert parse({"data": {"results": []}}) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>502 Bad Gateway</html>", id="not-json"),
        pytest.param({"data": {"items": []}}, id="path-missing"),
        pytest.param({"data": {"results": {"id": 1}}}, id="an-object-not-a-list"),
        pytest.param({"data": "results"}, id="a-string-on-the-way"),
        pytest.param([1, 2], id="root-list-but-path-expected"),
    ],
)
def test_documents_of_another_shape_raise_parse_error(body: Any) -> None:
    with pytest.raises(ParseError):
        parse(body)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fields": {"id": "id"}, "key": "nope"}, "key: 'nope' is not one of the fields (id)"),
        ({"fields": {"id": "id"}, "key": "id", "name_fields": ["id+x"]}, "name_fields: 'x'"),
        ({"fields": {"id": "a..b"}, "key": "id"}, "field 'id': 'a..b' is not a dotted path"),
        ({"fields": {"id": "id"}, "key": "id", "items": ".data"}, "is not a dotted path"),
        ({"fields": {}, "key": "id"}, "at least one field"),
    ],
)
def test_option_errors_say_what_is_wrong(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        JsonListOptions(url=URL, **options)
    assert message in str(err.value)


def test_e2e_scenario_data() -> None:
    run_scenario("json_list")
