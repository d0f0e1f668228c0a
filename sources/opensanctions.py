"""OpenSanctions datasets: the full FollowTheMoney export first, then the published deltas."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin

from pydantic import Field

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

DEFAULT_BASE = "https://data.opensanctions.org"
ENTITY_PAGE = "https://www.opensanctions.org/entities/{id}/"
SCHEMAS = {
    "Person": "person",
    "Organization": "organization",
    "LegalEntity": "organization",
    "Company": "organization",
}
NAME_PROPS = ("name", "alias", "weakAlias")
# Floors from OpenSanctions' own crawler assertions (SOURCES.md 7b), per dataset that has them (Person +
# Organization/LegalEntity minimums): a full export below its floor is a source failure, never delistings.
MIN_RECORDS = {
    "interpol_red_notices": 6000,  # Person 6,000 (at most 10,000)
    "un_sc_sanctions": 750,  # Person 580 + LegalEntity 170
    "eu_fsf": 4370,  # Person 3,400 + Organization 970
    "us_ofac_sdn": 13575,  # Person 6,245 + Organization 7,330
    "gb_fcdo_sanctions": 3950,  # Person 3,060 + Organization 890
}
_VERSION = re.compile(r"^\d{14}")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


class Options(AdapterOptions):
    dataset: str = Field(default="sanctions", pattern=r"^[a-z0-9_]+$")
    base_url: str = DEFAULT_BASE
    max_deltas: int = Field(default=100, ge=1)  # more pending deltas than this: reload in full instead


_Options = Options


class OpenSanctions(SourceAdapter[Options]):
    """Any OpenSanctions dataset, from its FollowTheMoney export and its published deltas.

    Publisher: OpenSanctions (https://www.opensanctions.org), which rebuilds its datasets several times a day
    from official lists. Any dataset or collection works (option `dataset`): `interpol_red_notices`,
    `ru_fedsfm_terror` (Rosfinmonitoring's terrorists and extremists list, where Russia lists exiled critics),
    `ua_nsdc_sanctions`, `be_fod`, `un_sc_sanctions`, `eu_fsf`, `us_ofac_sdn`, `gb_fcdo_sanctions`, or the
    collections `sanctions`, `wanted` (no KZ, UA or RU police list) and `default` (SOURCES.md 4.5).

    Files, under `<base_url>/datasets/latest/<dataset>/`: `entities.ftm.json` (FtM JSON lines, one entity
    per line; every property value is a list of strings) and `delta.json`, an index
    `{"versions": {"<YYYYMMDDhhmmss-xxx>": "<url of entities.delta.json>"}}`; each delta line is
    `{"op": "ADD"|"MOD"|"DEL", "entity": {...}}` and holds the changes from the previous version to that one.

    A round without a cursor reads `delta.json`, then the full export (complete: a missing entity was
    removed); the newest indexed version becomes the cursor, because the export itself names no version. A
    round with a cursor reads `delta.json` and follows every newer delta in order (not complete; DEL gives
    `removed`); the cursor becomes the newest version applied. A cursor older than the index window (deltas
    lost), an index with no versions or more than `max_deltas` pending ones means a full load again. Replaying
    a delta already contained in the export is harmless: ADD/MOD of the same content changes nothing.

    Records: Person, Organization, LegalEntity and Company entities (addresses, sanctions, ownership links
    are skipped); key = the entity `id`; names from `name`, `alias`, `weakAlias` (a name is composed from
    firstName/middleName/fatherName/lastName only when an entity has none of those); `birthDate` kept
    partial; `nationality`/`citizenship`/`country` (ISO-2 lower case in FtM) upper-cased.

    Sanity bounds follow the `dataset` option (`MIN_RECORDS`, from OpenSanctions' own crawler assertions,
    SOURCES.md 7b): interpol_red_notices >= 6,000 (Person, at most 10,000); un_sc_sanctions >= 750 (580
    Person + 170 LegalEntity); eu_fsf >= 4,370 (3,400 Person + 970 Organization); us_ofac_sdn >= 13,575
    (6,245 Person + 7,330 Organization); gb_fcdo_sanctions >= 3,950 (3,060 Person + 890 Organization). A
    full load below its dataset's floor is a source failure; delta rounds are not complete lists and are
    never held to it. Other datasets and the collections have no documented floor (0): set the source's
    `expect_min_records`, which overrides the dataset's. Collections are far larger: raise the fetch cap.

    Fixtures: `shared/samples/opensanctions/` (yente's test data: real eu_fsf records of 2024 and the delta
    index and delta files built from them).
    """

    name = "opensanctions"
    title = "OpenSanctions dataset (FtM export and deltas)"
    kind = "sanctions"
    homepage = "https://www.opensanctions.org/datasets/"
    Options = Options
    licence = "CC BY-NC 4.0 (non-commercial use; commercial users need a licence from OpenSanctions)"

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        # The floor depends on the configured dataset. The round checks it only when complete, that is
        # on a full load: a round of deltas never is.
        self.expect_min_records = MIN_RECORDS.get(options.dataset, 0)  # type: ignore[misc]

    def _file(self, name: str) -> str:
        return f"{self.options.base_url.rstrip('/')}/datasets/latest/{self.options.dataset}/{name}"

    def requests(self, query: Query) -> list[SourceRequest]:
        cursor = query.cursor if query.cursor and _VERSION.match(query.cursor) else None
        # The cursor rides in `purpose` (never sent) so parse() knows which deltas are new.
        purpose = f"index:{cursor}" if cursor else "index"
        # 404: a dataset without deltas; parse() then asks for the full export.
        return [SourceRequest(self._file("delta.json"), purpose=purpose, ok_statuses=frozenset({200, 404}))]

    def parse(self, fetched: Fetched) -> ParseResult:
        what, _, version = fetched.request.purpose.partition(":")
        if what == "index":
            return self._parse_index(fetched, version or None)
        if what == "full":
            return self._parse_full(fetched, version or None)
        if what == "delta":
            return self._parse_delta(fetched, version)
        raise ParseError(f"{fetched.url}: unknown request purpose {fetched.request.purpose!r}")

    def _parse_index(self, fetched: Fetched, cursor: str | None) -> ParseResult:
        versions = {} if fetched.status == 404 else _versions(fetched)
        newer = sorted(v for v in versions if cursor is None or v > cursor)
        # Like yente: a cursor older than the index window may have missed deltas, so reload in full.
        if cursor and versions and cursor >= min(versions) and len(newer) <= self.options.max_deltas:
            follow = [
                SourceRequest(self._reroot(_delta_url(fetched, versions[v])), purpose=f"delta:{v}")
                for v in newer
            ]
            return ParseResult(follow=follow, complete=False, cursor=None if follow else cursor)
        newest = max(versions) if versions else ""
        full = SourceRequest(self._file("entities.ftm.json"), purpose=f"full:{newest}" if newest else "full")
        # complete=True: the round (complete only if all its responses are) is then the full list.
        return ParseResult(follow=[full], complete=True)

    def _parse_full(self, fetched: Fetched, version: str | None) -> ParseResult:
        if not fetched.body.strip():
            # Never legitimate, and a complete round of nothing would read as "everyone delisted".
            raise ParseError(f"{fetched.url}: the full export is empty")
        records: dict[str, Record] = {}
        for number, entity in _json_lines(fetched):
            record = self._record(fetched, number, entity)
            if record is not None:
                records[record.key] = record
        return ParseResult(records=list(records.values()), complete=True, cursor=version)

    def _parse_delta(self, fetched: Fetched, version: str) -> ParseResult:
        latest: dict[str, Record | None] = {}  # ops apply in file order: the last op on a key wins
        for number, op in _json_lines(fetched):
            action, entity = op.get("op"), op.get("entity")
            if action not in ("ADD", "MOD", "DEL") or not isinstance(entity, dict):
                raise ParseError(f"{fetched.url}: line {number} is not a delta op (op ADD/MOD/DEL + entity)")
            if action == "DEL":
                latest[_id(fetched, number, entity)] = None
            elif (record := self._record(fetched, number, entity)) is not None:
                latest[record.key] = record
        records = [r for r in latest.values() if r is not None]
        removed = tuple(k for k, r in latest.items() if r is None)
        return ParseResult(records=records, complete=False, removed=removed, cursor=version)

    def _record(self, fetched: Fetched, number: int, entity: dict[str, Any]) -> Record | None:
        key, schema = _id(fetched, number, entity), entity.get("schema")
        if not isinstance(schema, str):
            raise ParseError(f"{fetched.url}: line {number}: entity {key} has no schema")
        if schema not in SCHEMAS:
            return None
        vals = _values(fetched, number, key, entity.get("properties", {}))
        caption = entity.get("caption")
        names = _unique([caption if isinstance(caption, str) else "", *vals(*NAME_PROPS)]) or _compose(vals)
        codes = vals("nationality", "citizenship", "country")  # "suhh", "zz" and the like are not ISO-2
        countries = [c.upper() for c in codes if len(c) == 2 and c.isascii() and c.isalpha()]
        datasets = entity.get("datasets")
        fields = {
            "schema": schema,
            "topics": _join(vals("topics")),
            "datasets": _join(str(d) for d in datasets) if isinstance(datasets, list) else "",
            "position": _join(vals("position")),
            "birth_place": _join(vals("birthPlace")),
            "gender": _join(vals("gender")),
            "id_numbers": _join(vals("idNumber", "passportNumber", "taxNumber", "registrationNumber")),
            "notes": _join(vals("notes")),
            "target": "yes" if entity.get("target") is True else "no",
            "first_seen": str(entity.get("first_seen") or ""),
            "last_change": str(entity.get("last_change") or ""),  # no last_seen: it moves every build
        }
        return Record(
            key=key,
            title=f"OpenSanctions {self.options.dataset}: {names[0] if names else key} ({schema})",
            url=ENTITY_PAGE.format(id=key),
            names=tuple(names),
            birth_dates=tuple(_unique(d[:10] for d in vals("birthDate") if _DATE.match(d[:10]))),
            nationalities=tuple(_unique(c for c in countries if c != "ZZ")),
            fields={k: v for k, v in fields.items() if v},
            kind=SCHEMAS[schema],
        )

    def _reroot(self, url: str) -> str:
        # A mirror (or the test server) serves the same paths as the data host the index names.
        base = self.options.base_url.rstrip("/")
        if base != DEFAULT_BASE and url.startswith(DEFAULT_BASE + "/"):
            return base + url[len(DEFAULT_BASE) :]
        return url


Values = Callable[..., list[str]]


def _delta_url(fetched: Fetched, href: str) -> str:
    try:
        return urljoin(fetched.url, href)
    except ValueError:  # "http://host[..." and other links urllib refuses
        raise ParseError(f"{fetched.url}: the index names an unusable URL {href[:200]!r}") from None


def _versions(fetched: Fetched) -> dict[str, str]:
    data = parse_json(fetched)
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, dict) or not all(
        _VERSION.match(v) and isinstance(u, str) for v, u in versions.items()
    ):
        raise ParseError(f"{fetched.url}: not a delta index ({{'versions': {{version: url}}}} expected)")
    return versions


def _json_lines(fetched: Fetched) -> Iterator[tuple[int, dict[str, Any]]]:
    # Line by line from the body: a collection export is hundreds of MB, never a list of lines too.
    for number, raw in enumerate(io.BytesIO(fetched.body), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, RecursionError):
            raise ParseError(f"{fetched.url}: line {number} is not JSON (FtM JSON lines expected)") from None
        if not isinstance(item, dict):
            raise ParseError(f"{fetched.url}: line {number} is not a JSON object")
        yield number, item


def _id(fetched: Fetched, number: int, entity: dict[str, Any]) -> str:
    key = entity.get("id")
    if not isinstance(key, str) or not key.strip():
        raise ParseError(f"{fetched.url}: line {number}: entity without an id")
    return key


def _values(fetched: Fetched, number: int, key: str, props: object) -> Values:
    """A reader of FtM properties, which are lists of strings; anything else is a broken export."""
    if not isinstance(props, dict):
        raise ParseError(f"{fetched.url}: line {number}: properties of {key} is not an object")

    def vals(*names: str) -> list[str]:
        out: list[str] = []
        for name in names:
            value = props.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ParseError(f"{fetched.url}: line {number}: {key}.{name} is not a list of strings")
            out.extend(value)
        return out

    return vals


def _compose(vals: Values) -> list[str]:
    """One full name per script from the name parts, for entities that give no full name."""
    forms: dict[bool, dict[str, str]] = {}
    for part in ("firstName", "middleName", "fatherName", "lastName"):
        slot = "middleName" if part == "fatherName" else part
        for value in vals(part):
            forms.setdefault(bool(_CYRILLIC.search(value)), {}).setdefault(slot, value.strip())
    order = ("firstName", "middleName", "lastName")
    return _unique(" ".join(p for p in (f.get(s) for s in order) if p) for f in forms.values())


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _join(values: Iterable[str]) -> str:
    return "; ".join(sorted(set(values)))
