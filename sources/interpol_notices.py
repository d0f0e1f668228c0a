"""INTERPOL public notices (Red, Yellow, UN): country and name queries, a detail fetch per matched notice."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

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
    cap is sliced by sex and then age bands (notices without a birth date fall outside age slices);
    a slice still over it is kept partial and not complete, so no removal is inferred from it.
    Each list notice carries a detail request the pipeline makes only for notices that matched a
    watched person; the detail adds arrest warrants (Red), the Yellow and UN fields, place of birth,
    languages. A detail answering 404 means the notice is gone: it yields no record and lists the
    key in `removed`.

    Fixtures: shared/samples/interpol/red_notices_list_page1_2021-12-11.json (real list page, kept in
    kelsonbatista/trybe-10-react-interpol), red_notice_detail_2019-114539.json and
    red_notice_detail_404.json (real responses pasted in sergiyshpak/InterpolParser's README).
    No Yellow or UN response was ever recorded: their fixtures are synthetic, written from the
    fields SOURCES.md section 1 documents (bundesAPI/interpol-api openapi), and named so.
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
    removal_note: ClassVar[str] = (
        "A notice that leaves INTERPOL's public list may have been deleted (for example after a CCF "
        "decision) or only made non-public: INTERPOL publishes only the notices member countries agree "
        "to make public, so its absence does not mean that no notice exists."
    )

    # -- requests -------------------------------------------------------------------------------

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

    def _detail_request(self, key: str) -> SourceRequest:
        base = self.options.base_url.rstrip("/")
        url = f"{base}/notices/v1/{LIST_PATHS[self.options.notice]}/{key.replace('/', '-')}"
        return SourceRequest(
            url,
            headers={"accept": "application/json"},
            purpose="detail",
            for_record=key,
            ok_statuses=frozenset({200, 404}),
        )

    # -- parse ----------------------------------------------------------------------------------

    def parse(self, fetched: Fetched) -> ParseResult:
        if fetched.request.purpose == "detail":
            return self._parse_detail(fetched)
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
        if total > CAP and page == 1:
            slices = self._slices(params)
            if slices:  # the slices cover this query; its own first 160 would only flap in and out
                return ParseResult(follow=slices)
            log.warning(
                "query over the 160-notice cap and cannot be sliced further: result is partial",
                extra={"url": fetched.url, "total": total},
            )
        records = {r.key: r for r in map(self._record, notices) if r is not None}  # last one wins
        follow = [self._detail_request(key) for key in records]
        links = data.get("_links")
        if isinstance(links, dict) and links.get("next") and page * per_page < min(total, CAP):
            follow.append(self._list({k: v for k, v in params.items() if k != "page"}, page + 1))
        return ParseResult(records=list(records.values()), follow=follow, complete=total <= CAP)

    def _slices(self, params: dict[str, str]) -> list[SourceRequest]:
        """Narrower queries that together return what this one would without the cap."""
        base = {k: v for k, v in params.items() if k not in ("page", "resultPerPage")}
        if self.options.notice == "un":
            return []  # the UN list documents no sex or age filter
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
        for field, source in EXTRA_FIELDS[self.options.notice].items():
            if item.get(source) not in (None, "", []):
                value = _text(item.get(source))
                fields[field] = (partial_date(value) or value) if "date" in field else value
        return fields


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
