"""UN Security Council Consolidated List (all sanctions committees), as one XML file.

Publisher: UN Security Council, https://scsanctions.un.org/resources/xml/en/consolidated.xml (about 2 MB,
no authentication; changes whenever a committee acts, several times a month). Root `CONSOLIDATED_LIST`
holds `INDIVIDUALS/INDIVIDUAL` and `ENTITIES/ENTITY` (SOURCES.md 4.1). A record is one listing: a new
listing, a changed entry (`LAST_DAY_UPDATED`, a new alias, ...) or a delisting (the entry disappears).

Key: `REFERENCE_NUMBER` (e.g. "QDi.290"). Both it and `DATAID` are stable (SOURCES.md 0.1); the reference
number is the one the UN publishes in press releases and narrative summaries and that the EU
(`unitedNationId`) and UK (`UNReferenceNumber`) lists repeat, so an alert can be looked up anywhere.
`DATAID` is kept in the fields, and is the key only for an entry without a reference number.
Birth dates: EXACT dates and years as given; APPROXIMATELY a year gives that year +-1; BETWEEN gives
every year of the range (the matcher reads each as a possible date, so a person born mid-range
agrees). Nationalities: country names mapped to ISO alpha-2 by a small table; a name not in it
("former Soviet Union") stays only in the `nationality` field, never guessed.

Fixture: shared/samples/un_sc/consolidated_trimmed_2026-02-27.xml (real, from moov-io/watchman
test data, trimmed to 3 individuals and 2 entities). Parsed streaming, in one pass over both tags.

Date and country helpers (`partial_date`, `year_span`, `country_code`) live in watcher.adapter and
watcher.countries, shared with eu_fsf, ofac_sdn and uk_sanctions.
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
from watcher.countries import country_code

URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"


class Options(AdapterOptions):
    url: str = URL


class UnConsolidated(SourceAdapter[Options]):
    __doc__ = __doc__
    name = "un_consolidated"
    title = "UN Security Council Consolidated List"
    kind = "sanctions"
    homepage = "https://www.un.org/securitycouncil/content/un-sc-consolidated-list"
    Options = Options
    licence = "UN public document; free to reuse with attribution (UN terms of use)."
    expect_min_records = 750  # SOURCES.md 7b: at least 580 persons + 170 entities

    def requests(self, query: Query) -> list[Request]:
        return [Request(self.options.url, purpose="list")]

    def parse(self, fetched: Fetched) -> ParseResult:
        if root_tag(fetched) != "CONSOLIDATED_LIST":
            raise ParseError(f"{fetched.url}: not a UN consolidated list (root is not CONSOLIDATED_LIST)")
        kinds = {"INDIVIDUAL": "person", "ENTITY": "organization"}
        listings = iter_xml(fetched, "INDIVIDUAL", "ENTITY")
        return ParseResult(
            records=[self._record(el, kinds[str(el.tag).rsplit("}", 1)[-1]]) for el in listings]
        )

    def _record(self, el: etree._Element, kind: str) -> Record:
        ref, dataid = _text(el, "REFERENCE_NUMBER"), _text(el, "DATAID")
        if not ref and not dataid:
            raise ParseError(f"{self.options.url}: a listing has neither REFERENCE_NUMBER nor DATAID")
        parts = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
        name = " ".join(filter(None, (_text(el, p) for p in parts)))
        alias_els = [*el.iterfind("INDIVIDUAL_ALIAS"), *el.iterfind("ENTITY_ALIAS")]
        aliases = [(_text(a, "ALIAS_NAME"), _alias_note(a)) for a in alias_els]
        script = _text(el, "NAME_ORIGINAL_SCRIPT")
        dobs = [_dob(d) for d in el.iterfind("INDIVIDUAL_DATE_OF_BIRTH")]
        dobs += [(d, [partial_date(d)]) for d in _values(el, "*/DATE_OF_BIRTH")]  # given with an alias
        countries = _values(el, "NATIONALITY/VALUE")
        updated = _values(el, "LAST_DAY_UPDATED/VALUE")
        fields = {
            "reference_number": ref,
            "dataid": dataid,
            "un_list_type": _text(el, "UN_LIST_TYPE"),
            "list_type": "; ".join(_values(el, "LIST_TYPE/VALUE")),
            "listed_on": _text(el, "LISTED_ON"),
            "last_updated": max(updated) if updated else "",
            "comments": _text(el, "COMMENTS1"),
            "gender": _text(el, "GENDER"),
            "titles": "; ".join(_values(el, "TITLE/VALUE")),
            "designations": "; ".join(_values(el, "DESIGNATION/VALUE")),
            "nationality": "; ".join(countries),
            "aliases": "; ".join(f"{n} ({note})" if note else n for n, note in aliases if n),
            "name_original_script": script,
            "birth_dates": "; ".join(_unique(text for text, _ in dobs if text)),
            "places_of_birth": "; ".join(_joined(el, "INDIVIDUAL_PLACE_OF_BIRTH")),
            "addresses": "; ".join(_joined(el, "INDIVIDUAL_ADDRESS") + _joined(el, "ENTITY_ADDRESS")),
            "documents": "; ".join(_joined(el, "INDIVIDUAL_DOCUMENT")),
        }
        return Record(
            key=ref or f"DATAID-{dataid}",
            title=f"UN {fields['un_list_type'] or 'sanctions'} list {ref or dataid}: {name}",
            url=URL,  # the official list, also when fetched from a mirror: the link stays stable
            names=tuple(_unique([name, *(n for n, _ in aliases), script])),
            birth_dates=tuple(_unique(d for _, forms in dobs for d in forms)),
            nationalities=tuple(_unique(country_code(c) for c in countries)),
            fields={k: v for k, v in fields.items() if v},
            kind=kind,
        )


def _alias_note(el: etree._Element) -> str:
    """Quality ("Good", "Low", "a.k.a.") and any birth date or note given with one alias."""
    born = _text(el, "DATE_OF_BIRTH")
    parts = [_text(el, "QUALITY"), f"born {born}" if born else "", _text(el, "NOTE")]
    return ", ".join(p for p in parts if p)


def _dob(el: etree._Element) -> tuple[str, list[str]]:
    """(as the list says it, the partial dates the matcher gets) for one INDIVIDUAL_DATE_OF_BIRTH."""
    how = _text(el, "TYPE_OF_DATE").upper()
    date, year = _text(el, "DATE"), _text(el, "YEAR")
    low, high = _text(el, "FROM_YEAR"), _text(el, "TO_YEAR")
    if low or high:
        return f"between {low} and {high}", year_span(low or high, high or low)
    exact = partial_date(date or year)
    if not exact:
        return (date or year, [])
    if how == "APPROXIMATELY":
        return f"approximately {exact}", [exact, *year_span(exact[:4], exact[:4], slack=1)]
    return exact, [exact]


def _text(el: etree._Element, path: str) -> str:
    return " ".join((el.findtext(path) or "").split())


def _values(el: etree._Element, path: str) -> list[str]:
    return [v for v in (" ".join((x.text or "").split()) for x in el.iterfind(path)) if v]


def _joined(el: etree._Element, tag: str) -> list[str]:
    """Each `tag` child as one line: its non-empty sub-elements joined with ", "."""
    return [line for line in (", ".join(_unique(_values(sub, "*"))) for sub in el.iterfind(tag)) if line]


def _unique(items: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
