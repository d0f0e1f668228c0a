"""INTERPOL public notices (Red, Yellow, UN): country and name queries, a detail fetch per matched notice."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import field_validator, model_validator

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
from watcher.models import Person

__all__ = ["InterpolNotices", "InterpolOptions", "name_queries", "name_query", "partial_date"]

log = logging.getLogger(__name__)

CAP = 160  # the API never returns more than 160 records for one query, whatever `page` says
# Age slices for a sex slice still over the cap; a slice still over it is halved down to one year.
AGE_BANDS = [(0, 24), *((a, a + 4) for a in range(25, 80, 5)), (80, 120)]
LIST_PATHS = {"red": "red", "yellow": "yellow", "un": "un/persons"}
LABELS = {"red": "Red", "yellow": "Yellow", "un": "UN Security Council Special"}
PUBLIC_PAGES = {
    "red": "https://www.interpol.int/How-we-work/Notices/Red-Notices/View-Red-Notices",
    "yellow": "https://www.interpol.int/How-we-work/Notices/Yellow-Notices/View-Yellow-Notices",
    "un": "https://www.interpol.int/How-we-work/Notices/View-UN-Notices-Individuals",
}
# Detail fields beyond the list's, per notice type (SOURCES.md section 1, bundesAPI openapi).
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "red": {},
    "yellow": {
        "date_of_event": "date_of_event",
        "place": "place",
        "country": "country",
        "birth_name": "birth_name",
        "father_forename": "father_forename",
        "mother_forename": "mother_forename",
        "mother_name": "mother_name",
    },
    "un": {
        "un_reference": "un_reference",
        "un_reference_date": "un_reference_date",
        "un_resolution": "un_resolution",
        "summary": "summary",
        "main_activity": "main_activity",
        "profession": "profession",
        "identity_documents": "identity_documents",
        "associates": "associates",
        "addresses": "adresses",  # sic: the API's spelling
        "purposes": "purposes",
        "legal_form": "legal_form",
        "registration_number": "registration_number",
        "formerly_known_as": "formerly_known_as",
        "administrators": "administrators",
    },
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_WARRANT_COUNTRY = re.compile(r"^([A-Z]{2}|9\d\d)$")  # 914 ICC, 916 STL, 922 IRMCT
_DATE = re.compile(r"^(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?$")


class InterpolOptions(AdapterOptions):
    base_url: str = "https://ws-public.interpol.int"
    # The nationality values of the public notice search (SOURCES.md section 1), read when slicing.
    countries_url: str = "https://www.interpol.int/en/notices/data/countries"
    notice: Literal["red", "yellow", "un"] = "red"
    arrest_warrant_country: str | None = None
    nationality: str | None = None
    by_name: bool = True

    @field_validator("arrest_warrant_country", "nationality")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and not _WARRANT_COUNTRY.match(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 code (or 914/916/922 for tribunals)")
        return value.upper() if value else None

    @model_validator(mode="after")
    def _filters_fit_notice(self) -> InterpolOptions:
        if self.nationality and not _COUNTRY.match(self.nationality):
            raise ValueError(f"nationality: {self.nationality!r} is not an ISO 3166 alpha-2 code")
        if self.arrest_warrant_country and self.notice != "red":
            raise ValueError("arrest_warrant_country: only Red Notices carry arrest warrants")
        if self.nationality and self.notice == "un":
            raise ValueError("nationality: the UN notices API has no nationality filter")
        return self


class InterpolNotices(SourceAdapter[InterpolOptions]):
    """INTERPOL public notices API (ws-public.interpol.int): Red, Yellow and UN Security Council notices.

    Operator: INTERPOL General Secretariat, Lyon. A record is one public notice, keyed by its
    `entity_id` ("2019/114539"). Each round queries the filter the operator set (e.g.
    `arrestWarrantCountryId=KZ`) and, with `by_name`, each watched person's Latin-script name forms
    (`name` = surname, `forename` = given names; "SURNAME Given" or "Surname, Given" mark the split,
    else the last word is the surname). A query never returns more than 160 notices: one over the
    cap is sliced by nationality (Red and Yellow; the values come from `countries_url`), a slice
    still over it by sex, then age bands, then halved age bands, and the notices are de-duplicated
    by `entity_id`. The slices cannot reach every notice (one without a birth date is in no age
    slice, one without a nationality in no nationality slice), so a sliced query counts the distinct
    notices its slices found against its own `total`: short of it, the round is not complete and
    nothing is read as removed. A slice that cannot be cut further is kept partial, likewise. Slicing
    by nationality costs one request per listed country (about 200) for each query over the cap.
    Each list notice carries a detail request the pipeline makes only for notices that matched a
    watched person, and only when their list entry is new or changed (`reuse_token` = hash of the
    entry): the detail adds arrest warrants (Red), the Yellow and UN fields, place of birth,
    languages. A detail answering 404 means the notice is gone: it yields no record and lists the
    key in `removed`. A change that shows only in a detail (a new arrest warrant, the entry in the
    list unchanged) is therefore seen when the list entry next changes, not at once.

    Fixtures: shared/samples/interpol/red_notices_list_page1_2021-12-11.json (real list page, kept in
    kelsonbatista/trybe-10-react-interpol), red_notice_detail_2019-114539.json and
    red_notice_detail_404.json (real responses pasted in sergiyshpak/InterpolParser's README).
    No Yellow or UN response, and no answer of the countries list, was ever recorded: their
    fixtures are synthetic, written from what SOURCES.md section 1 documents (bundesAPI/interpol-api
    openapi; the countries list as "a JSON array of objects with `value`"), and named so.
    """

    name = "interpol_notices"
    title = "INTERPOL public notices (Red, Yellow, UN)"
    kind = "register"
    homepage = "https://www.interpol.int/How-we-work/Notices/Red-Notices/View-Red-Notices"
    Options = InterpolOptions
    licence = (
        "Public extracts INTERPOL publishes with the requesting country's consent; no open licence. "
        "The API sits behind bot protection: poll every 6-12 h and keep request counts low."
    )
    sends_names = True
    expect_min_records = 0  # per-query searches: zero hits is a normal answer
    retry_statuses = frozenset({403, 413, 429, 500, 502, 503, 504})
    # A slice is checked against the total of the query it came from: parse them in request order.
    parse_together = True
    removal_note: ClassVar[str] = (
        "A notice that leaves INTERPOL's public list may have been deleted (for example after a CCF "
        "decision) or only made non-public: INTERPOL publishes only the notices member countries agree "
        "to make public, so its absence does not mean that no notice exists."
    )

    def __init__(self, options: InterpolOptions) -> None:
        super().__init__(options)
        self._coverage: dict[str, _Coverage] = {}  # sliced query's request key -> what its slices found
        self._root: dict[str, str] = {}  # slice (or next page) request key -> its sliced query's key

    # -- requests -------------------------------------------------------------------------------

    def covers(self, person: Person) -> bool:
        return not self.options.by_name or any(name_query(n) is not None for n in person.names)  # Latin only

    def requests(self, query: Query) -> list[SourceRequest]:
        opts = self.options
        filters = {"arrestWarrantCountryId": opts.arrest_warrant_country, "nationality": opts.nationality}
        params = {k: v for k, v in filters.items() if v}
        requests = [self._list(params)] if params or not opts.by_name else []
        sent: set[tuple[str, str]] = set()
        for surname, forename in name_queries(query.people) if opts.by_name else ():
            if opts.notice == "un":
                forename = ""  # the UN list takes no forename
            if (surname.casefold(), forename.casefold()) not in sent:
                sent.add((surname.casefold(), forename.casefold()))
                by_name = {"name": surname, "forename": forename} if forename else {"name": surname}
                requests.append(self._list(by_name))
        return requests

    def _list(self, params: Mapping[str, str], page: int = 1) -> SourceRequest:
        url = f"{self.options.base_url.rstrip('/')}/notices/v1/{LIST_PATHS[self.options.notice]}"
        full = {**params, "resultPerPage": str(CAP), "page": str(page)}
        return SourceRequest(url, params=full, headers={"accept": "application/json"}, purpose="list")

    def _detail_request(self, key: str, entry: Mapping[str, Any]) -> SourceRequest:
        base = self.options.base_url.rstrip("/")
        url = f"{base}/notices/v1/{LIST_PATHS[self.options.notice]}/{key.replace('/', '-')}"
        # The list entry's hash: while it is unchanged the stored detail is reused, no request made.
        token = hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return SourceRequest(
            url,
            headers={"accept": "application/json"},
            purpose="detail",
            for_record=key,
            ok_statuses=frozenset({200, 404}),
            reuse_token=token[:32],
        )

    def _countries(self, params: Mapping[str, str]) -> SourceRequest:
        # The query to slice rides in `purpose` (never sent), so the answer knows what to narrow.
        purpose = "countries:" + urlencode(sorted(params.items()))
        return SourceRequest(
            self.options.countries_url, headers={"accept": "application/json"}, purpose=purpose
        )

    # -- parse ----------------------------------------------------------------------------------

    def parse(self, fetched: Fetched) -> ParseResult:
        if fetched.request.purpose == "detail":
            return self._parse_detail(fetched)
        if fetched.request.purpose.startswith("countries:"):
            return self._parse_countries(fetched)
        return self._parse_list(fetched)

    def _parse_list(self, fetched: Fetched) -> ParseResult:
        data = _object(parse_json(fetched), fetched.url, "list response")
        total = data.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise ParseError(f"{fetched.url}: list response has no numeric 'total'")
        embedded = data.get("_embedded") or {}
        notices = embedded.get("notices", []) if isinstance(embedded, dict) else None
        if not isinstance(notices, list):
            raise ParseError(f"{fetched.url}: list response has no '_embedded.notices' list")
        # Our requests carry their query in `params`; a hand-made one may have it in the URL.
        params = {**dict(parse_qsl(urlsplit(fetched.request.url).query)), **fetched.request.params}
        page, per_page = _int(params.get("page"), 1), _int(params.get("resultPerPage"), CAP)
        key, root = fetched.request.cache_key(), self._root.pop(fetched.request.cache_key(), None)
        if total > CAP and page == 1:
            slices = self._slices(params)
            if slices:  # the slices cover this query; its own first 160 would only flap in and out
                root = root or self._open(key, total)
                return ParseResult(follow=self._track(root, slices), complete=self._settle(root, key))
            log.warning(
                "query over the 160-notice cap and cannot be sliced further: result is partial",
                extra={"url": fetched.url, "total": total},
            )
        entries = {r.key: (r, n) for n in notices if (r := self._record(n)) is not None}  # last one wins
        follow = [self._detail_request(k, n) for k, (_, n) in entries.items()]
        links = data.get("_links")
        if isinstance(links, dict) and links.get("next") and page * per_page < min(total, CAP):
            more = [self._list({k: v for k, v in params.items() if k != "page"}, page + 1)]
            follow += self._track(root, more) if root else more
        if root:
            self._coverage[root].ids.update(entries)
        covered = self._settle(root, key) if root else True
        records = [r for r, _ in entries.values()]
        return ParseResult(records=records, follow=follow, complete=covered and total <= CAP)

    def _parse_countries(self, fetched: Fetched) -> ParseResult:
        """The nationality slices of the query in the request's purpose, one per listed country."""
        key, root = fetched.request.cache_key(), self._root.pop(fetched.request.cache_key(), None)
        data = parse_json(fetched)
        values = [i.get("value") for i in data if isinstance(i, dict)] if isinstance(data, list) else []
        codes = sorted({v.upper() for v in values if isinstance(v, str) and _COUNTRY.match(v.upper())})
        if not codes:
            raise ParseError(
                f"{fetched.url}: not the INTERPOL country list (a JSON array of {{'value': ISO-2}})"
            )
        base = dict(parse_qsl(fetched.request.purpose.partition(":")[2]))
        slices = [self._list({**base, "nationality": code}) for code in codes]
        if root is None:
            return ParseResult(follow=slices)
        return ParseResult(follow=self._track(root, slices), complete=self._settle(root, key))

    # -- coverage of a sliced query ---------------------------------------------------------------

    def _open(self, key: str, total: int) -> str:
        self._coverage[key] = _Coverage(total)
        return key

    def _track(self, root: str, requests: list[SourceRequest]) -> list[SourceRequest]:
        for request in requests:
            self._coverage[root].pending.add(request.cache_key())
            self._root[request.cache_key()] = root
        return requests

    def _settle(self, root: str, key: str) -> bool:
        """False when this was the sliced query's last slice and the slices found fewer notices than its
        total (notices without a birth date or nationality are in no slice): then nothing is removed."""
        coverage = self._coverage[root]
        coverage.pending.discard(key)
        if coverage.pending or len(coverage.ids) >= coverage.total:
            return True
        log.warning(
            "sliced query found %d of its %d notices (the rest are in no slice): round not complete",
            len(coverage.ids),
            coverage.total,
        )
        return False

    def _slices(self, params: dict[str, str]) -> list[SourceRequest]:
        """Narrower queries that together return what this one would without the cap."""
        base = {k: v for k, v in params.items() if k not in ("page", "resultPerPage")}
        if self.options.notice == "un":
            return []  # the UN list documents no nationality, sex or age filter
        if "nationality" not in base and "sexId" not in base:
            return [self._countries(base)]
        if "sexId" not in base:
            return [self._list({**base, "sexId": sex}) for sex in "FMU"]
        if "ageMin" not in base:
            return [self._list({**base, "ageMin": str(lo), "ageMax": str(hi)}) for lo, hi in AGE_BANDS]
        lo, hi = _int(base["ageMin"], 0), _int(base["ageMax"], 0)
        if hi <= lo:
            return []
        mid = (lo + hi) // 2
        return [
            self._list({**base, "ageMin": str(a), "ageMax": str(b)}) for a, b in ((lo, mid), (mid + 1, hi))
        ]

    def _parse_detail(self, fetched: Fetched) -> ParseResult:
        if fetched.status == 404:  # the notice is gone (deleted or made non-public): say so explicitly,
            gone = fetched.request.for_record  # or the list entry of this round would keep it alive
            return ParseResult(removed=(gone,) if gone else ())
        data = _object(parse_json(fetched), fetched.url, "notice detail")
        if not data.get("entity_id") and fetched.request.for_record:
            data = {**data, "entity_id": fetched.request.for_record}
        record = self._record(data, detail=True)
        if record is None:
            raise ParseError(f"{fetched.url}: notice detail has no entity_id")
        return ParseResult(records=[record])

    def _record(self, item: Any, detail: bool = False) -> Record | None:
        if not isinstance(item, dict) or not isinstance(item.get("entity_id"), str) or not item["entity_id"]:
            return None
        key = item["entity_id"]
        surname, forename = _text(item.get("name")), _forename(item.get("forename"))
        primary = " ".join(filter(None, (surname, forename)))
        birth = partial_date(item.get("date_of_birth"))
        countries = sorted(
            {c.upper() for c in _strings(item.get("nationalities")) if _COUNTRY.match(c.upper())}
        )
        fields = {
            "name": surname,
            "forename": forename,
            "date_of_birth": birth or _text(item.get("date_of_birth")),
            "nationalities": "; ".join(countries),
        }
        names = [primary]
        if detail:
            fields.update(self._detail_fields(item))
            names += _other_names(item)
        label = f"INTERPOL {LABELS[self.options.notice]} Notice {key}"
        return Record(
            key=key,
            title=f"{label}: {surname}, {forename}" if forename else f"{label}: {surname or '(no name)'}",
            url=f"{PUBLIC_PAGES[self.options.notice]}#{key.replace('/', '-')}",
            names=tuple(dict.fromkeys(n for n in names if n)),
            birth_dates=(birth,) if birth else (),
            nationalities=tuple(countries),
            fields=fields,
            kind="organization" if item.get("legal_form") or item.get("registration_number") else "person",
        )

    def _detail_fields(self, item: dict[str, Any]) -> dict[str, str]:
        fields = {
            "sex": _text(item.get("sex_id")),
            "place_of_birth": _text(item.get("place_of_birth")),
            "country_of_birth": _text(item.get("country_of_birth_id")),
            "languages": "; ".join(sorted(_strings(item.get("languages_spoken_ids")))),
        }
        if self.options.notice == "red":
            warrants = [w for w in _list(item.get("arrest_warrants")) if isinstance(w, dict)]
            fields["arrest_warrants"] = "; ".join(sorted(filter(None, map(_warrant, warrants))))
            countries = {_text(w.get("issuing_country_id")) for w in warrants}
            fields["arrest_warrant_countries"] = "; ".join(sorted(filter(None, countries)))
        for name, source in EXTRA_FIELDS[self.options.notice].items():
            if item.get(source) not in (None, "", []):
                value = _text(item.get(source))
                fields[name] = (partial_date(value) or value) if "date" in name else value
        return fields


@dataclass
class _Coverage:
    """A query over the cap, answered by its slices: `total` notices, `ids` found, slices `pending`."""

    total: int
    pending: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)


# -- helpers --------------------------------------------------------------------------------------


def name_queries(people: Iterable[Person]) -> list[tuple[str, str]]:
    """(surname, forename) for every Latin-script name form of every person, without repeats."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for person in people:
        for form in person.names:
            split = name_query(form)
            if split is not None:
                seen.setdefault((split[0].casefold(), split[1].casefold()), split)
    return list(seen.values())


def name_query(form: str) -> tuple[str, str] | None:
    """Split one name form into (surname, forename); None for non-Latin forms (the API holds Latin)."""
    letters = [c for c in form if c.isalpha()]
    if not letters or not all(unicodedata.name(c, "").startswith("LATIN") for c in letters):
        return None
    if "," in form:  # "Jardemalie, Bota"
        surname, _, forename = form.partition(",")
        return " ".join(surname.split()), " ".join(forename.split())
    tokens = form.split()
    caps = 0
    while caps < len(tokens) and len(tokens[caps]) > 1 and tokens[caps].isupper():
        caps += 1
    if 0 < caps < len(tokens) and not any(t.isupper() for t in tokens[caps:]):  # "JARDEMALIE Bota"
        return " ".join(tokens[:caps]), " ".join(tokens[caps:])
    return tokens[-1], " ".join(tokens[:-1])


def partial_date(value: Any) -> str | None:
    """'1982/12/02' -> '1982-12-02', '1982/12' -> '1982-12', '1982' and '1982/00/00' -> '1982', else None."""
    m = _DATE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    year, *rest = m.groups()
    parts = [year]
    for part, top in zip(rest, (12, 31), strict=True):
        if not part or int(part) == 0:  # "1982/00/00": only the year is known
            break
        if int(part) > top:
            return None
        parts.append(f"{int(part):02d}")
    return "-".join(parts)


def _warrant(warrant: dict[str, Any]) -> str:
    country, charge = _text(warrant.get("issuing_country_id")), _text(warrant.get("charge"))
    translation = _text(warrant.get("charge_translation"))
    text = f"{country}: {charge}" if country else charge
    return f"{text} ({translation})" if translation and translation != charge else text


def _other_names(item: dict[str, Any]) -> list[str]:
    """Original-script, birth and alias names of a detail (UN aliases come as strings or objects)."""
    names = [
        " ".join(filter(None, (_text(item.get(n)), _forename(item.get(f)))))
        for n, f in (
            ("name_in_original_script", "forename_in_original_script"),
            ("birth_name", "forename"),
            ("name_at_birth", "forename"),
        )
        if item.get(n)
    ]
    for alias in _list(item.get("aliases")):
        if isinstance(alias, dict):
            names.append(" ".join(filter(None, (_text(alias.get("name")), _forename(alias.get("forename"))))))
            names.append(_text(alias.get("name_in_original_script")))
        else:
            names.append(_text(alias))
    return names


def _forename(value: Any) -> str:
    text = _text(value)
    return "" if text == "-" else text  # the API writes a missing forename as "-" (or null)


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str | int | float):
        return " ".join(str(value).split())
    if isinstance(value, list):
        return "; ".join(filter(None, map(_text, value)))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v.strip() for v in value if isinstance(v, str) and v.strip()] if isinstance(value, list) else []


def _object(data: Any, url: str, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ParseError(f"{url}: {what} is not a JSON object")
    return data


def _int(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default
