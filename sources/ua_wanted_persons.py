"""Ukraine MVS wanted persons, from the open-data portal data.gov.ua (CKAN)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseError,
    ParseResult,
    Query,
    Record,
    SourceAdapter,
    SourceRequest,
    parse_json,
)

DEFAULT_BASE = "https://data.gov.ua"
DETAIL_PAGE = "https://wanted.mvs.gov.ua/searchperson/details/?id={id}"
SCRIPTS = ("U", "R", "E")  # Ukrainian first (the list's own language), then Russian, then Latin
FIELDS = {
    "ovd": "OVD",
    "category": "CATEGORY",
    "lost_date": "LOST_DATE",
    "lost_place": "LOST_PLACE",
    "article_crim": "ARTICLE_CRIM",
    "restraint": "RESTRAINT",
}
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})")


class Options(AdapterOptions):
    base_url: str = DEFAULT_BASE
    dataset_id: str = "7c51c4a0-104b-4540-a166-e9fc58485c1b"


class UaWantedPersons(SourceAdapter[Options]):
    """Ukraine, Ministry of Internal Affairs (MVS): persons hiding from the authorities (wanted list).

    Dataset "Інформація про осіб, які переховуються від органів влади" on data.gov.ua (CKAN), id
    7c51c4a0-104b-4540-a166-e9fc58485c1b (SOURCES.md 2a). Each round is a chain: `package_show`
    (purpose "package") gives the resource id, `resource_show` (purpose "resource") gives its URL, and
    that URL (purpose "data") returns the whole list as one JSON array: complete, so an ID that
    disappears means the search was ended. A record is one wanted person: key = `ID`; names in
    Ukrainian (`*_U`), Russian (`*_R`) and Latin (`*_E`) as "surname first-name patronymic"; `BIRTH_DATE`
    (a timestamp) cut to a date; fields ovd, category, lost_date, lost_place, article_crim, restraint.
    The link is the person's page on wanted.mvs.gov.ua.

    Cost: the array is large and re-downloaded each round (poll daily, SOURCES.md 7). `metadata_modified`
    in package_show tells whether anything changed; the pipeline's conditional GET and its
    unchanged-body check (same sha256, no parse) already make an unchanged day cheap to process.

    The web search at wanted.mvs.gov.ua is reCAPTCHA-gated and often blocked from abroad: it is NOT
    automated. `expect_min_records` = 100 is a floor against a truncated or emptied file, far below
    any real national list; SOURCES.md 7b gives no bound for this list.

    Fixtures: NO recorded sample exists. The fixtures are synthetic, written from the documented field
    list (SOURCES.md 2a), with invented people.
    """

    name = "ua_wanted_persons"
    title = "Ukraine MVS wanted persons (data.gov.ua)"
    kind = "register"
    homepage = "https://data.gov.ua/dataset/7c51c4a0-104b-4540-a166-e9fc58485c1b"
    Options = Options
    licence = "Ukrainian open data (data.gov.ua); the wanted.mvs.gov.ua web search is captcha-gated"
    expect_min_records = 100

    def _action(self, action: str) -> str:
        return f"{self.options.base_url.rstrip('/')}/api/3/action/{action}"

    def requests(self, query: Query) -> list[SourceRequest]:
        params = {"id": self.options.dataset_id}
        return [SourceRequest(self._action("package_show"), params=params, purpose="package")]

    def parse(self, fetched: Fetched) -> ParseResult:
        purpose = fetched.request.purpose
        if purpose == "package":
            resources = _ckan_result(fetched).get("resources")
            if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict):
                raise ParseError(f"{fetched.url}: package_show lists no resources")
            # SOURCES.md names resources[0]; prefer a JSON one should the package grow other formats.
            json_ones = [
                r for r in resources if isinstance(r, dict) and str(r.get("format")).upper() == "JSON"
            ]
            resource_id = (json_ones or resources)[0].get("id")
            if not isinstance(resource_id, str) or not resource_id:
                raise ParseError(f"{fetched.url}: package_show resource has no id")
            request = SourceRequest(
                self._action("resource_show"), params={"id": resource_id}, purpose="resource"
            )
            # complete=True on the way: a round is complete only if all its responses are.
            return ParseResult(follow=[request])
        if purpose == "resource":
            url = _ckan_result(fetched).get("url")
            if not isinstance(url, str) or not url.strip():
                raise ParseError(f"{fetched.url}: resource_show gives no download url")
            try:
                data = SourceRequest(self._reroot(urljoin(fetched.url, url)), purpose="data")
            except ValueError:  # "http://host[..." and other links urllib refuses
                raise ParseError(f"{fetched.url}: resource_show gives a bad url {url[:200]!r}") from None
            return ParseResult(follow=[data])
        if purpose == "data":
            return ParseResult(records=self._records(fetched), complete=True)
        raise ParseError(f"{fetched.url}: unknown request purpose {purpose!r}")

    def _records(self, fetched: Fetched) -> list[Record]:
        rows = parse_json(fetched)
        if not isinstance(rows, list):
            raise ParseError(f"{fetched.url}: expected the wanted list as one JSON array")
        records: dict[str, Record] = {}
        for index, row in enumerate(rows):
            if not isinstance(row, dict) or _text(row.get("ID")) == "":
                raise ParseError(f"{fetched.url}: item {index} is not a person object with an ID")
            record = _record(row)
            records[record.key] = record
        return list(records.values())

    def _reroot(self, url: str) -> str:
        # A mirror (or the test server) serves the same paths as the portal the resource names.
        base = self.options.base_url.rstrip("/")
        if base != DEFAULT_BASE and urlsplit(url).netloc == urlsplit(DEFAULT_BASE).netloc:
            parts = urlsplit(url)
            return base + parts.path + (f"?{parts.query}" if parts.query else "")
        return url


def _ckan_result(fetched: Fetched) -> dict[str, Any]:
    data = parse_json(fetched)
    if (
        not isinstance(data, dict)
        or data.get("success") is not True
        or not isinstance(data.get("result"), dict)
    ):
        raise ParseError(f"{fetched.url}: not a successful CKAN action response (success/result)")
    result: dict[str, Any] = data["result"]
    return result


def _record(row: dict[str, Any]) -> Record:
    key = _text(row["ID"])
    names = []
    for script in SCRIPTS:
        parts = (_text(row.get(f"{p}_NAME_{script}")) for p in ("LAST", "FIRST", "MIDDLE"))
        names.append(" ".join(p for p in parts if p))
    names = list(dict.fromkeys(n for n in names if n))
    birth = _date(row.get("BIRTH_DATE"))
    fields = {name: _text(row.get(column)) for name, column in FIELDS.items()}
    fields["lost_date"] = _date(row.get("LOST_DATE")) or fields["lost_date"]
    return Record(
        key=key,
        title=f"Ukraine MVS wanted person {key}: {names[0] if names else '(no name given)'}",
        url=DETAIL_PAGE.format(id=key),
        names=tuple(names),
        birth_dates=(birth,) if birth else (),
        fields={k: v for k, v in fields.items() if v},
    )


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric ID read as a float must not become "3023314580705560.0"
    return " ".join(str(value).split())


def _date(value: object) -> str:
    """ISO date from "1985-03-12T00:00:00", "1985-03-12 00:00:00" or "12.03.1985"; "" when not a date."""
    text = _text(value)
    if m := _ISO.match(text):
        year, month, day = m.groups()
    elif m := _DOTTED.match(text):
        day, month, year = m.groups()
    else:
        return ""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""
