"""ua_wanted_persons: the CKAN chain package_show -> resource_show -> JSON array, and the person rows."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sources.ua_wanted_persons import Options, UaWantedPersons
from watcher.errors import ParseError
from watcher.models import Fetched, ParseResult, Query, Record, SourceRequest

# The in-process e2e replay lives in test_opensanctions.py (loaded by path: tests/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "_os_replay", Path(__file__).with_name("test_opensanctions.py")
)
assert _spec and _spec.loader
_replay_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_replay_module)

PKG = "7c51c4a0-104b-4540-a166-e9fc58485c1b"
API = "https://data.gov.ua/api/3/action"


def parse(body: Any, purpose: str, url: str = f"{API}/x", **options: Any) -> ParseResult:
    raw = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode()
    request = SourceRequest(url, purpose=purpose)
    fetched = Fetched(request, url, 200, {}, raw, hashlib.sha256(raw).hexdigest(), datetime.now(UTC))
    return UaWantedPersons(Options(**options)).parse(fetched)


def ckan(result: Any, success: bool = True) -> dict[str, Any]:
    return {"help": f"{API}/help_show", "success": success, "result": result}


def row(**overrides: Any) -> dict[str, Any]:
    base = {"ID": 1, "LAST_NAME_U": "ВИГАДАНЕНКО", "FIRST_NAME_U": "ОЛЕКСАНДР", "MIDDLE_NAME_U": "ПЕТРОВИЧ"}
    return {**base, **overrides}


def person(**overrides: Any) -> Record:
    [record] = parse([row(**overrides)], "data").records
    return record


@pytest.mark.parametrize(
    ("options", "url", "params"),
    [
        ({}, f"{API}/package_show", {"id": PKG}),
        (
            {"base_url": "http://127.0.0.1:8000/", "dataset_id": "abc"},
            "http://127.0.0.1:8000/api/3/action/package_show",
            {"id": "abc"},
        ),
    ],
    ids=["defaults", "mirror-and-dataset"],
)
def test_a_round_starts_with_package_show(options: dict[str, str], url: str, params: dict[str, str]) -> None:
    [request] = UaWantedPersons(Options(**options)).requests(Query(()))
    assert (request.url, dict(request.params), request.purpose) == (url, params, "package")


def test_register_facts() -> None:
    assert UaWantedPersons.kind == "register" and UaWantedPersons.sends_names is False
    provenance = " ".join(UaWantedPersons.provenance().split())
    assert "NOT automated" in provenance and "synthetic" in provenance


@pytest.mark.parametrize(
    ("resources", "chosen"),
    [
        ([{"id": "r1", "format": "JSON"}], "r1"),
        ([{"id": "r1", "format": "XML"}, {"id": "r2", "format": "json"}], "r2"),
        ([{"id": "r1", "format": "CSV"}, {"id": "r2"}], "r1"),
    ],
    ids=["single", "prefers-json", "first-when-none-is-json"],
)
def test_package_show_follows_resource_show(resources: list[dict[str, str]], chosen: str) -> None:
    result = parse(ckan({"resources": resources, "metadata_modified": "2026-01-05T06:10:00"}), "package")
    [follow] = result.follow
    assert (follow.url, dict(follow.params), follow.purpose) == (
        f"{API}/resource_show",
        {"id": chosen},
        "resource",
    )
    # Chain steps say complete: the pipeline calls a round complete only if all its responses are.
    assert result.complete is True and result.records == []


@pytest.mark.parametrize(
    ("options", "url", "expected"),
    [
        (
            {},
            "https://data.gov.ua/dataset/p/resource/r/download/w.json",
            "https://data.gov.ua/dataset/p/resource/r/download/w.json",
        ),
        (
            {"base_url": "http://127.0.0.1:8000"},
            "https://data.gov.ua/dataset/p/download/w.json?v=2",
            "http://127.0.0.1:8000/dataset/p/download/w.json?v=2",
        ),
        (
            {"base_url": "http://127.0.0.1:8000"},
            "https://wanted.mvs.gov.ua/open/w.json",
            "https://wanted.mvs.gov.ua/open/w.json",
        ),
        ({}, "/dataset/p/download/w.json", "https://data.gov.ua/dataset/p/download/w.json"),
    ],
    ids=["portal", "rerooted-on-mirror", "other-host-kept", "relative"],
)
def test_resource_show_follows_the_download(options: dict[str, str], url: str, expected: str) -> None:
    result = parse(ckan({"id": "r", "url": url}), "resource", **options)
    [follow] = result.follow
    assert (follow.url, follow.purpose) == (expected, "data")
    assert result.complete is True


def test_the_array_is_a_complete_list() -> None:
    result = parse([row(ID=1), row(ID=2)], "data")
    assert result.complete is True and [r.key for r in result.records] == ["1", "2"]


def test_every_script_becomes_a_name_ukrainian_first() -> None:
    record = person(
        LAST_NAME_R="ВЫГАДАНЕНКО", FIRST_NAME_R="АЛЕКСАНДР", MIDDLE_NAME_R="ПЕТРОВИЧ",
        LAST_NAME_E="VYHADANENKO", FIRST_NAME_E="OLEKSANDR", MIDDLE_NAME_E="",
    )  # fmt: skip
    assert record.names == (
        "ВИГАДАНЕНКО ОЛЕКСАНДР ПЕТРОВИЧ",
        "ВЫГАДАНЕНКО АЛЕКСАНДР ПЕТРОВИЧ",
        "VYHADANENKO OLEKSANDR",
    )


def test_identical_forms_are_given_once() -> None:
    record = person(LAST_NAME_R="ВИГАДАНЕНКО", FIRST_NAME_R="ОЛЕКСАНДР", MIDDLE_NAME_R="ПЕТРОВИЧ")
    assert record.names == ("ВИГАДАНЕНКО ОЛЕКСАНДР ПЕТРОВИЧ",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1980-02-29T00:00:00", ("1980-02-29",)),
        ("1980-02-29 00:00:00.000", ("1980-02-29",)),
        ("1980-02-29", ("1980-02-29",)),
        ("29.02.1980", ("1980-02-29",)),
        ("1981-02-29T00:00:00", ()),
        ("", ()),
        (None, ()),
        ("невідомо", ()),
    ],
    ids=["timestamp", "space-timestamp", "date", "dotted", "impossible-date", "empty", "null", "text"],
)
def test_birth_date_normalised(raw: str | None, expected: tuple[str, ...]) -> None:
    assert person(BIRTH_DATE=raw).birth_dates == expected


def test_fields_title_and_link() -> None:
    record = person(
        ID=3023314580705560.0,
        OVD="ВІДДІЛ ПОЛІЦІЇ",
        CATEGORY="ОСОБА, ЯКА ПЕРЕХОВУЄТЬСЯ",
        LOST_DATE="2023-11-14T00:00:00",
        LOST_PLACE="  М.   КИЇВ ",
        ARTICLE_CRIM="ст.190 ч.4",
        RESTRAINT=None,
        CONTACT="102",
        SEX="ЧОЛОВІЧА",
    )
    assert record.key == "3023314580705560"
    assert record.fields == {
        "ovd": "ВІДДІЛ ПОЛІЦІЇ",
        "category": "ОСОБА, ЯКА ПЕРЕХОВУЄТЬСЯ",
        "lost_date": "2023-11-14",
        "lost_place": "М. КИЇВ",
        "article_crim": "ст.190 ч.4",
    }
    assert record.url == "https://wanted.mvs.gov.ua/searchperson/details/?id=3023314580705560"
    assert record.title == "Ukraine MVS wanted person 3023314580705560: ВИГАДАНЕНКО ОЛЕКСАНДР ПЕТРОВИЧ"


def test_an_undated_lost_date_is_kept_as_written() -> None:
    assert person(LOST_DATE="2023").fields["lost_date"] == "2023"


@pytest.mark.parametrize(
    ("body", "purpose"),
    [
        ("<html>captcha</html>", "package"),
        (ckan(None, success=False), "package"),
        (ckan({"resources": []}), "package"),
        (ckan({"resources": ["r1"]}), "package"),
        (ckan({"resources": [{"format": "JSON"}]}), "package"),
        (ckan({"id": "r"}), "resource"),
        (ckan({"url": 5}), "resource"),
        ({"success": True, "result": []}, "resource"),
        ({"records": []}, "data"),
        ([row(), "text"], "data"),
        ([row(ID=None)], "data"),
        ([row(ID="")], "data"),
        ("[{", "data"),
        ([], "detail"),
    ],
    ids=[
        "html",
        "ckan-failure",
        "no-resources",
        "resource-not-object",
        "resource-without-id",
        "no-url",
        "url-not-string",
        "result-not-object",
        "data-not-array",
        "row-not-object",
        "row-null-id",
        "row-empty-id",
        "truncated-json",
        "unknown-purpose",
    ],
)
def test_broken_bodies_raise_parse_error(body: Any, purpose: str) -> None:
    with pytest.raises(ParseError, match=r"data\.gov\.ua"):
        parse(body, purpose)


def test_e2e_scenario_replays_as_the_pipeline_would() -> None:
    _replay_module.replay("ua_wanted_persons", UaWantedPersons, Options)
