"""EU Financial Sanctions Files (FSF): the consolidated list of persons and entities under EU sanctions.

Publisher: European Commission (DG FISMA), XML v1.1 at
https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=dG9rZW4tMjAxNw
(the token is the static public base64 of "token-2017"). The file is about 25 MB (a 2026 probe counted
6,239 `sanctionEntity` and 62,136 `nameAlias`), generated on the fly in over a minute, and the server
returns bursts of HTTP 500: use a long timeout and backoff (SOURCES.md 4.2). It is parsed streaming with
`iter_xml`, one `sanctionEntity` at a time, so the whole tree never lives in memory.

A record is one `sanctionEntity`; key = its `logicalId` (the EU reference number, e.g. "EU.36.64", is
in the fields). New action: a new logicalId, a new `regulation` child (an amendment: the `regulations`
and `programmes` fields change), or a removed entity. Names are every `nameAlias` (`wholeName`, or the
first/middle/last parts), in every language; birth dates are `birthdate` (full date, or year/month/day
parts; `circa="true"` widens the year by one either side; non-Gregorian calendars are kept only as
text); nationalities are `citizenship/@countryIso2Code` ("00" means unknown and is dropped).

Fixture: shared/samples/eu_fsf/xmlFullSanctionsList_1_1_excerpt_2018-12-21.xml (real, an excerpt kept
in DarkSide666/SanctionsList: one person EU.36.64 and one enterprise EU.3523.13 with 18 name aliases).
"""

from __future__ import annotations

from collections.abc import Iterable

import lxml.etree as etree

from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseError,
    ParseResult,
    Query,
    Record,
    SourceAdapter,
    iter_xml,
    partial_date,
    root_tag,
    year_span,
)
from watcher.adapter import SourceRequest as Request

URL = (
    "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=dG9rZW4tMjAxNw"
)
_KINDS = {"person": "person", "enterprise": "organization"}


class Options(AdapterOptions):
    url: str = URL


class EuFsf(SourceAdapter[Options]):
    __doc__ = __doc__
    name = "eu_fsf"
    title = "EU Financial Sanctions Files (consolidated list)"
    kind = "sanctions"
    homepage = (
        "https://data.europa.eu/data/datasets/"
        "consolidated-list-of-persons-groups-and-entities-subject-to-eu-financial-sanctions"
    )
    Options = Options
    licence = (
        "EU open data; reuse allowed with acknowledgement of the source (Commission Decision 2011/833/EU)."
    )
    expect_min_records = 4370  # SOURCES.md 7b: at least 3,400 persons + 970 organisations

    def requests(self, query: Query) -> list[Request]:
        return [Request(self.options.url, purpose="list")]

    def parse(self, fetched: Fetched) -> ParseResult:
        if root_tag(fetched) != "export":
            raise ParseError(f"{fetched.url}: not an EU FSF XML export (root is not <export>)")
        return ParseResult(records=[self._record(fetched, el) for el in iter_xml(fetched, "sanctionEntity")])

    def _record(self, fetched: Fetched, el: etree._Element) -> Record:
        key = el.get("logicalId", "").strip()
        if not key:
            raise ParseError(f"{fetched.url}: a sanctionEntity has no logicalId")
        aliases = [_alias(a) for a in el.iterfind("{*}nameAlias")]
        regs = sorted(el.iterfind("{*}regulation"), key=lambda r: r.get("publicationDate", ""))
        dobs = [_birthdate(b) for b in el.iterfind("{*}birthdate")]
        citizenships = list(el.iterfind("{*}citizenship"))
        subject = el.find("{*}subjectType")
        code = subject.get("code", "") if subject is not None else ""
        fields = {
            "eu_reference_number": el.get("euReferenceNumber", ""),
            "united_nation_id": el.get("unitedNationId", ""),
            "designation_date": el.get("designationDate", ""),
            "designation_details": el.get("designationDetails", ""),
            "subject_type": code,
            "programmes": "; ".join(sorted({r.get("programme", "") for r in regs} - {""})),
            "regulations": "; ".join(_regulation(r) for r in regs),
            "remark": "; ".join(_clean(r.text) for r in el.iterfind("{*}remark") if _clean(r.text)),
            "aliases": "; ".join(note for _, note in aliases if note),
            "functions": "; ".join(_unique(a.get("function", "") for a in el.iterfind("{*}nameAlias"))),
            "birth_dates": "; ".join(_unique(text for text, _ in dobs)),
            "places_of_birth": "; ".join(_unique(_place(b) for b in el.iterfind("{*}birthdate"))),
            "citizenships": "; ".join(_unique(_place(c) for c in citizenships)),
            "identifications": "; ".join(_identification(i) for i in el.iterfind("{*}identification")),
            "addresses": "; ".join(_unique(_place(a) for a in el.iterfind("{*}address"))),
        }
        names = _unique(name for name, _ in aliases)
        url = next((u for r in regs if (u := _clean(r.findtext("{*}publicationUrl")))), None)
        return Record(
            key=key,
            title=f"EU sanctions {fields['eu_reference_number'] or key}: {(names or ['(no name)'])[0]}",
            url=url,
            names=tuple(names),
            birth_dates=tuple(_unique(d for _, forms in dobs for d in forms)),
            nationalities=tuple(_unique(_iso2(c.get("countryIso2Code", "")) for c in citizenships)),
            fields={k: _clean(v) for k, v in fields.items() if _clean(v)},
            kind=_KINDS.get(code, code or "person"),
        )


def _alias(el: etree._Element) -> tuple[str, str]:
    """(name, description for the aliases field) of one nameAlias."""
    parts = (el.get("firstName", ""), el.get("middleName", ""), el.get("lastName", ""))
    name = _clean(el.get("wholeName")) or _clean(" ".join(parts))
    notes = [el.get("nameLanguage", ""), "" if el.get("strong", "true") == "true" else "weak"]
    notes = [n for n in notes if n]
    return name, f"{name} ({', '.join(notes)})" if notes and name else name


def _birthdate(el: etree._Element) -> tuple[str, list[str]]:
    """(as the list says it, the partial dates the matcher gets) for one birthdate element."""
    year, month, day = el.get("year", ""), el.get("monthOfYear", ""), el.get("dayOfMonth", "")
    raw = el.get("birthdate", "") or "-".join(p for p in (year, month, day) if p)
    calendar = el.get("calendarType", "GREGORIAN").upper() or "GREGORIAN"
    if raw and calendar != "GREGORIAN":
        return f"{raw} ({calendar.lower()} calendar)", []  # not a Gregorian year: text only
    date = partial_date(raw)
    if not date:
        return raw, []
    if el.get("circa", "false") == "true":
        return f"circa {date}", [date, *year_span(date, date, slack=1)]
    return date, [date]


def _regulation(el: etree._Element) -> str:
    parts = [el.get("numberTitle", ""), el.get("regulationType", ""), el.get("programme", "")]
    published = el.get("publicationDate", "")
    return ", ".join(p for p in parts if p) + (f", published {published}" if published else "")


def _identification(el: etree._Element) -> str:
    kind = el.get("identificationTypeDescription") or el.get("identificationTypeCode", "")
    country = el.get("countryDescription", "")
    flags = [
        f for f in ("knownFalse", "knownExpired", "reportedLost", "revokedByIssuer") if el.get(f) == "true"
    ]
    extra = [c for c in (country if country != "UNKNOWN" else "", *flags) if c]
    return f"{kind} {el.get('number', '')}".strip() + (f" ({', '.join(extra)})" if extra else "")


def _place(el: etree._Element) -> str:
    keys = ("street", "poBox", "zipCode", "city", "place", "region", "countryDescription")
    return ", ".join(v for k in keys if (v := _clean(el.get(k))) and v != "UNKNOWN")


def _iso2(code: str) -> str:
    code = code.strip().upper()
    return code if len(code) == 2 and code.isalpha() else ""


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
