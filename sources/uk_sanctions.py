"""UK Sanctions List (FCDO): every person, entity and ship designated under UK sanctions regulations.

Publisher: Foreign, Commonwealth & Development Office, https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List.xml
(and `.csv`), linked from https://www.gov.uk/government/publications/the-uk-sanctions-list. Since
28 January 2026 it is the single official UK list (OFSI's Consolidated List was retired). Updated
whenever designations change, often several times a week (SOURCES.md 4.4).

A record is one `Designation`; key = `UniqueID` (e.g. "RUS0251"). New action: a new designation, a
change (`LastUpdated`, a new alias, a new regime or measure), or a removal. format = "xml" (default):
`Designations/Designation` streamed with `iter_xml`; names from `Names/Name` (Name1..Name5 then Name6,
the family or organisation name; Primary Name first), `NonLatinNames`, birth dates from `DOBs/DOB`
("dd/mm/1945" is a year only), nationalities from `Nationalities` (country names mapped to ISO alpha-2;
others kept in the `nationality` field). format = "csv": the first line is `Last Updated,<date>`,
then a header row, then one row per name; rows are grouped by `Unique ID`.

NO RECORDED SAMPLE EXISTS (shared/samples/README.md). The fixtures are SYNTHETIC, written by hand from
the structure documented in SOURCES.md 4.4 (tests/fixtures/uk_sanctions/*synthetic*), with invented
people; check the adapter against a real download before relying on it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Literal

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
)
from watcher.adapter import SourceRequest as Request
from watcher.countries import country_code

BASE = "https://sanctionslist.fcdo.gov.uk/docs/UK-Sanctions-List"
_KINDS = {"individual": "person", "entity": "organization", "ship": "vessel"}
_PRIMARY = "primary name"


class Options(AdapterOptions):
    format: Literal["xml", "csv"] = "xml"
    url: str | None = None  # default: the FCDO address of the chosen format


class UkSanctions(SourceAdapter[Options]):
    __doc__ = __doc__
    name = "uk_sanctions"
    title = "UK Sanctions List (FCDO)"
    kind = "sanctions"
    homepage = "https://www.gov.uk/government/publications/the-uk-sanctions-list"
    Options = Options
    licence = "Crown copyright; Open Government Licence v3.0."
    expect_min_records = 3950  # SOURCES.md 7b: at least 3,060 persons + 890 organisations

    def requests(self, query: Query) -> list[Request]:
        url = self.options.url or f"{BASE}.{self.options.format}"
        return [Request(url, purpose=self.options.format)]

    def parse(self, fetched: Fetched) -> ParseResult:
        if self.options.format == "csv":
            return ParseResult(records=[_record(fetched, d) for d in _csv_designations(fetched)])
        if root_tag(fetched) != "Designations":
            raise ParseError(f"{fetched.url}: not a UK Sanctions List XML (root is not Designations)")
        designations = (_xml_designation(el) for el in iter_xml(fetched, "Designation"))
        return ParseResult(records=[_record(fetched, d) for d in designations])


# One designation in a format-neutral form: tag or field name -> values (one for single values).
Designation = dict[str, list[str]]
_SINGLE = (
    "UniqueID",
    "OFSIGroupID",
    "UNReferenceNumber",
    "RegimeName",
    "IndividualEntityShip",
    "DesignationSource",
    "SanctionsImposed",
    "OtherInformation",
    "UKStatementofReasons",
    "LastUpdated",
    "DateDesignated",
)
_MULTI = {
    "titles": "Title",
    "dobs": "DOB",
    "nationality": "Nationality",
    "positions": "Position",
    "town_of_birth": "TownOfBirth",
    "country_of_birth": "CountryOfBirth",
}


def _xml_designation(el: etree._Element) -> Designation:
    names = sorted(el.iterfind(".//{*}Names/{*}Name"), key=lambda n: _text(n, "NameType").lower() != _PRIMARY)
    found: Designation = {tag: [_text(el, tag)] for tag in _SINGLE}
    found["names"] = [_name([_text(n, f"Name{i}") for i in range(1, 7)]) for n in names]
    found["name_notes"] = [_note(_text(n, "NameType"), _text(n, "AliasStrength")) for n in names]
    scripts = [(_text(n, "."), n.getparent()) for n in el.iterfind(".//{*}NameNonLatinScript")]
    found["non_latin"] = [name for name, _ in scripts]
    found["non_latin_lang"] = [
        _text(p, "NonLatinScriptLanguage") if p is not None else "" for _, p in scripts
    ]
    for field, tag in _MULTI.items():
        found[field] = [_text(x, ".") for x in el.iterfind(f".//{{*}}{tag}")]
    found["addresses"] = [_address(a) for a in el.iterfind(".//{*}Addresses/{*}Address")]
    return found


def _address(el: etree._Element) -> str:
    tags = [f"AddressLine{i}" for i in range(1, 7)] + ["AddressPostalCode", "AddressCountry"]
    return ", ".join(v for t in tags if (v := _text(el, t)))


_CSV_SINGLE = {
    "Unique ID": "UniqueID",
    "OFSI Group ID": "OFSIGroupID",
    "UN Reference Number": "UNReferenceNumber",
    "Regime Name": "RegimeName",
    "Designation Type": "IndividualEntityShip",
    "Designation source": "DesignationSource",
    "Sanctions Imposed": "SanctionsImposed",
    "Other Information": "OtherInformation",
    "UK Statement of Reasons": "UKStatementofReasons",
    "Last Updated": "LastUpdated",
    "Date Designated": "DateDesignated",
}
_CSV_MULTI = {
    "dobs": "D.O.B",
    "nationality": "Nationality(/ies)",
    "positions": "Position",
    "town_of_birth": "Town of birth",
    "country_of_birth": "Country of birth",
    "non_latin": "Name non-latin script",
    "non_latin_lang": "Non-latin script language",
}


_CSV_ADDRESS = [f"Address Line {i}" for i in range(1, 7)] + ["Address Postal Code", "Address Country"]


def _csv_designations(fetched: Fetched) -> list[Designation]:
    lines = fetched.text().splitlines()
    if not lines or not lines[0].lower().startswith("last updated"):
        raise ParseError(f"{fetched.url}: not a UK Sanctions List CSV (first line is not 'Last Updated,...')")
    reader = csv.DictReader(io.StringIO("\n".join(lines[1:])))
    if "Unique ID" not in [f.strip() for f in reader.fieldnames or []]:
        raise ParseError(f"{fetched.url}: the header row has no 'Unique ID' column")
    groups: dict[str, Designation] = {}
    try:
        for row in reader:
            cell = {k.strip(): v.strip() for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}
            found = groups.setdefault(
                cell.get("Unique ID", ""), {t: [cell.get(c, "")] for c, t in _CSV_SINGLE.items()}
            )
            _add(found, "names", _name([cell.get(f"Name {i}", "") for i in range(1, 7)]))
            _add(found, "name_notes", _note(cell.get("Name type", ""), cell.get("Alias strength", "")))
            _add(
                found,
                "addresses",
                ", ".join(v for c in _CSV_ADDRESS if (v := cell.get(c, ""))),
            )
            for field, column in _CSV_MULTI.items():
                _add(found, field, cell.get(column, ""))
    except csv.Error as exc:
        raise ParseError(f"{fetched.url}: not CSV ({exc})") from None
    return list(groups.values())


def _add(found: Designation, field: str, value: str) -> None:
    found.setdefault(field, []).append(value)


def _note(name_type: str, strength: str) -> str:
    return ", ".join(p for p in (name_type, strength) if p)


def _record(fetched: Fetched, d: Designation) -> Record:
    def one(tag: str) -> str:
        return (d.get(tag) or [""])[0]

    def many(field: str) -> list[str]:
        return _unique(d.get(field, []))

    key = one("UniqueID")
    if not key:
        raise ParseError(f"{fetched.url}: a designation has no UniqueID")
    names = many("names")
    notes = [
        f"{n} ({t})" if t else n
        for n, t in zip(d.get("names", []), d.get("name_notes", []), strict=False)
        if n
    ]
    pairs = zip(d.get("non_latin", []), d.get("non_latin_lang", []), strict=False)
    non_latin = _unique(f"{n} ({lang})" if lang else n for n, lang in pairs if n)
    fields = {
        "unique_id": key,
        "ofsi_group_id": one("OFSIGroupID"),
        "un_reference_number": one("UNReferenceNumber"),
        "regime": one("RegimeName"),
        "designation_type": one("IndividualEntityShip"),
        "designation_source": one("DesignationSource"),
        "sanctions_imposed": "; ".join(p.strip() for p in one("SanctionsImposed").split("|") if p.strip()),
        "other_information": one("OtherInformation"),
        "statement_of_reasons": one("UKStatementofReasons"),
        "date_designated": partial_date(one("DateDesignated")) or one("DateDesignated"),
        "last_updated": partial_date(one("LastUpdated")) or one("LastUpdated"),
        "aliases": "; ".join(_unique(notes)),
        "non_latin_names": "; ".join(non_latin),
        "titles": "; ".join(many("titles")),
        "dates_of_birth": "; ".join(many("dobs")),
        "nationality": "; ".join(many("nationality")),
        "positions": "; ".join(many("positions")),
        "place_of_birth": ", ".join(many("town_of_birth") + many("country_of_birth")),
        "addresses": "; ".join(many("addresses")),
    }
    kind = one("IndividualEntityShip").lower()
    return Record(
        key=key,
        title=f"UK sanctions {key}: {(names or ['(no name)'])[0]} ({fields['regime'] or 'regime not given'})",
        url=f"{BASE}.{'csv' if fetched.request.purpose == 'csv' else 'xml'}",  # official, even from a mirror
        names=tuple(_unique([*names, *d.get("non_latin", [])])),
        birth_dates=tuple(_unique(partial_date(x) for x in many("dobs"))),
        nationalities=tuple(_unique(country_code(c) or "" for c in many("nationality"))),
        fields={k: v for k, v in fields.items() if v},
        kind=_KINDS.get(kind, kind or "person"),
    )


def _name(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


def _text(el: etree._Element, tag: str) -> str:
    return " ".join(((el.text if tag == "." else el.findtext(f"{{*}}{tag}")) or "").split())


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
