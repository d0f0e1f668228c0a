"""US Treasury OFAC Specially Designated Nationals (SDN) list: the legacy `sdn.xml`, or the legacy CSV set.

Publisher: US Treasury, Office of Foreign Assets Control, through the Sanctions List Service
https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/<FILE> (the old
treasury.gov/ofac/downloads addresses redirect there). Irregular updates, several times a week
(SOURCES.md 4.3). A record is one SDN entry (person, entity, vessel or aircraft); key = `uid` in the
XML, which is `ent_num` in the CSV. New action: a new entry, a changed program list or entry, a removal.

format = "xml" (default): one request for SDN.XML, `sdnList/sdnEntry`, streamed with `iter_xml` and
matched namespace-agnostically (2018 files use http://tempuri.org/sdnList.xsd, the current service
another URI). Names are firstName + lastName and every `akaList/aka`; birth dates from
`dateOfBirthList` ("14 Jun 1975", "circa 1975" = that year +-1, "1960 to 1965" = every year);
nationalities from `nationalityList` and `citizenshipList` country names.

format = "csv": the legacy set sdn.csv + alt.csv + add.csv + sdn_comments.csv (no header row, `-0- `
is an empty cell). A record needs rows of all four files, but each parse() sees one response, and the
pipeline merges same-key records of one round last-wins (a per-file record would lose the join). So the
files are fetched as a chain: the parse of each file keeps its rows on this adapter instance and asks
for the next file as a follow request; the parse of the last file (sdn_comments.csv) emits the joined
records. Earlier parses return no records. This needs, from the pipeline: one adapter instance for the
whole round, and, when any file of the chain changed, every file of the chain parsed again (a parse
skipped for an unchanged body would leave the join without its rows: that raises ParseError, never a
half-empty list). In CSV mode birth dates, nationalities and weak a.k.a.s come from the Remarks text
("DOB 17 Apr 1993; nationality Russia; a.k.a. 'LOCKBITSUPP'"), completed by sdn_comments.csv.

Fixtures: shared/samples/ofac/sdn_xml_excerpt_2018-12-19.xml (real, from DarkSide666/SanctionsList)
and shared/samples/ofac/{sdn,alt,add,sdn_comments}.csv (real rows, from moov-io/watchman test data).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
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
    year_span,
)
from watcher.adapter import SourceRequest as Request
from watcher.countries import country_code

EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"
CHAIN = ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv")  # fetch order; the last one emits
COLUMNS = {"sdn.csv": 12, "alt.csv": 5, "add.csv": 6, "sdn_comments.csv": 2}
_KINDS = {"individual": "person", "vessel": "vessel", "aircraft": "aircraft"}
_AKA = re.compile(r"\b([afn]\.k\.a\.) '(.+?)'(?=[;.]|$)")


def _remark(label: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|; )(?:alt\. )?{label} ([^;]+)")


_DOB, _POB, _NATIONALITY, _CITIZEN = (_remark(x) for x in ("DOB", "POB", "nationality", "citizen"))


class Options(AdapterOptions):
    format: Literal["xml", "csv"] = "xml"
    url: str = EXPORTS + "SDN.XML"  # format = "xml"
    base_url: str = EXPORTS  # format = "csv": the four files are fetched from here


_Options = Options


class OfacSdn(SourceAdapter[Options]):
    __doc__ = __doc__
    name = "ofac_sdn"
    title = "US OFAC Specially Designated Nationals (SDN) list"
    kind = "sanctions"
    homepage = "https://ofac.treasury.gov/sanctions-list-service"
    Options = Options
    licence = "US federal government work: public domain (17 U.S.C. 105)."
    expect_min_records = 13575  # SOURCES.md 7b: at least 6,245 persons + 7,330 organisations
    parse_together = True  # CSV mode joins four files across parses (see the docstring)

    def __init__(self, options: _Options) -> None:
        super().__init__(options)
        self._rows: dict[str, list[list[str]]] = {}  # CSV mode: this round's rows, by file name

    def requests(self, query: Query) -> list[Request]:
        if self.options.format == "csv":
            return [self._csv_request(CHAIN[0])]
        return [Request(self.options.url, purpose="xml")]

    def _csv_request(self, file: str) -> Request:
        return Request(self.options.base_url.rstrip("/") + "/" + file, purpose=file)

    def parse(self, fetched: Fetched) -> ParseResult:
        purpose = fetched.request.purpose
        if purpose not in CHAIN:
            return ParseResult(records=self._parse_xml(fetched))
        step = CHAIN.index(purpose)
        missing = [f for f in CHAIN[:step] if f not in self._rows]
        if missing:
            raise ParseError(f"{fetched.url}: {', '.join(missing)} not parsed earlier in this round")
        self._rows[purpose] = _csv_rows(fetched, COLUMNS[purpose])
        if step + 1 < len(CHAIN):
            return ParseResult(follow=[self._csv_request(CHAIN[step + 1])])
        return ParseResult(records=self._join())

    # --- XML -------------------------------------------------------------------------------------

    def _parse_xml(self, fetched: Fetched) -> list[Record]:
        if root_tag(fetched) != "sdnList":
            raise ParseError(f"{fetched.url}: not an OFAC sdn.xml (root is not sdnList)")
        return [self._xml_record(fetched, el) for el in iter_xml(fetched, "sdnEntry")]

    def _xml_record(self, fetched: Fetched, el: etree._Element) -> Record:
        uid = _text(el, "uid")
        if not uid.isdigit():
            raise ParseError(f"{fetched.url}: an sdnEntry has no numeric uid ({uid!r})")
        aliases = [(_person_name(a), _text(a, "type"), _text(a, "category")) for a in _all(el, "akaList/aka")]
        dobs = [_text(d, "dateOfBirth") for d in _all(el, "dateOfBirthList/dateOfBirthItem")]
        nationality = [_text(n, "country") for n in _all(el, "nationalityList/nationality")]
        citizenship = [_text(n, "country") for n in _all(el, "citizenshipList/citizenship")]
        vessel = el.find("{*}vesselInfo")
        fields = {
            "title": _text(el, "title"),
            "remarks": _text(el, "remarks"),
            "ids": "; ".join(_id(i) for i in _all(el, "idList/id")),
            "aliases": "; ".join(f"{n} ({t}, {c})" if c else f"{n} ({t})" for n, t, c in aliases),
            "addresses": "; ".join(_address(a) for a in _all(el, "addressList/address")),
            "dates_of_birth": "; ".join(dobs),
            "places_of_birth": "; ".join(_text(p, "placeOfBirth") for p in _all(el, "placeOfBirthList/*")),
            "nationality": "; ".join(nationality),
            "citizenship": "; ".join(citizenship),
            "vessel": _line(vessel, "callSign", "vesselType", "vesselFlag", "vesselOwner", "tonnage")
            if vessel is not None
            else "",
        }
        programs = [_text(p, ".") for p in _all(el, "programList/program")]
        names = [_person_name(el), *(n for n, _, _ in aliases)]
        return _record(uid, _text(el, "sdnType"), programs, names, dobs, nationality + citizenship, fields)

    # --- CSV -------------------------------------------------------------------------------------

    def _join(self) -> list[Record]:
        alt: dict[str, list[tuple[str, str]]] = defaultdict(list)
        add: dict[str, list[str]] = defaultdict(list)
        notes: dict[str, str] = defaultdict(str)
        for row in self._rows["alt.csv"]:
            alt[row[0]].append((row[3], row[2]))
        for row in self._rows["add.csv"]:
            add[row[0]].append(", ".join(c for c in row[2:5] if c) + (f" ({row[5]})" if row[5] else ""))
        for row in self._rows["sdn_comments.csv"]:
            notes[row[0]] += "".join(row[1:])  # overflow of Remarks, continued mid-word
        return [
            self._csv_record(row, alt[row[0]], add[row[0]], row[11] + notes[row[0]])
            for row in self._rows["sdn.csv"]
        ]

    def _csv_record(self, row: list[str], alt: list[tuple[str, str]], add: list[str], remarks: str) -> Record:
        ent, name, sdn_type, program, title = row[:5]
        akas = [(m.group(2), m.group(1)) for m in _AKA.finditer(remarks)]
        dobs = _found(_DOB, remarks)
        countries = _found(_NATIONALITY, remarks) + _found(_CITIZEN, remarks)
        fields = {
            "title": title,
            "remarks": " ".join(remarks.split()),
            "aliases": "; ".join(f"{n} ({t})" for n, t in [*alt, *akas] if n),
            "addresses": "; ".join(a for a in add if a),
            "dates_of_birth": "; ".join(dobs),
            "places_of_birth": "; ".join(_found(_POB, remarks)),
            "nationality": "; ".join(_found(_NATIONALITY, remarks)),
            "citizenship": "; ".join(_found(_CITIZEN, remarks)),
            "vessel": ", ".join(c for c in (row[5], row[6], row[9], row[10], row[7]) if c),
        }
        programs = program.split("] [") if program else []
        names = [name, *(n for n, _ in alt), *(n for n, _ in akas)]
        return _record(ent, sdn_type, programs, names, dobs, countries, fields)


def _record(
    uid: str,
    sdn_type: str,
    programs: list[str],
    names: list[str],
    dobs: list[str],
    countries: list[str],
    fields: dict[str, str],
) -> Record:
    sdn_type = (sdn_type or "Entity").capitalize()
    names = _unique(names)
    fields = {"sdn_type": sdn_type, "programs": "; ".join(sorted(set(programs) - {""})), **fields}
    return Record(
        key=uid,
        title=f"OFAC SDN {uid}: {(names or ['(no name)'])[0]} ({fields['programs']})",
        url=f"https://sanctionssearch.ofac.treas.gov/Details.aspx?id={uid}",
        names=tuple(names),
        birth_dates=tuple(_unique(d for text in dobs for d in _dob_forms(text))),
        nationalities=tuple(_unique(country_code(c) or "" for c in countries)),
        fields={k: v for k, v in fields.items() if v},
        kind=_KINDS.get(sdn_type.lower(), "organization"),
    )


def _dob_forms(text: str) -> list[str]:
    """ "14 Jun 1975", "circa 1975" (that year +-1), "1960 to 1965" (every year) -> partial dates."""
    text = text.strip().rstrip(".")
    if m := re.match(r"^circa (.+)$", text, re.I):
        date = partial_date(m.group(1))
        return _unique([date, *year_span(date, date, slack=1)]) if date else []
    if m := re.match(r"^(.+?) to (.+)$", text):
        return year_span(partial_date(m.group(1)), partial_date(m.group(2)))
    date = partial_date(text)
    return [date] if date else []


def _csv_rows(fetched: Fetched, columns: int) -> list[list[str]]:
    rows = []
    reader = csv.reader(io.StringIO(fetched.text(), newline=""))
    try:
        for number, row in enumerate(reader, 1):
            if not any(c.strip().strip("\x1a") for c in row):
                continue  # blank lines and the legacy end-of-file character
            if len(row) < columns or not row[0].strip().isdigit():
                raise ParseError(f"{fetched.url}: line {number} is not a {columns}-column OFAC CSV row")
            # The last cell keeps its spaces: Remarks continue in sdn_comments.csv, maybe mid-sentence.
            cells = [c.strip() for c in row[: columns - 1]] + [",".join(row[columns - 1 :])]
            rows.append(["" if c.strip() == "-0-" else c for c in cells])
    except csv.Error as exc:
        raise ParseError(f"{fetched.url}: not CSV ({exc})") from None
    return rows


def _found(pattern: re.Pattern[str], remarks: str) -> list[str]:
    return [m.group(1).strip().rstrip(".") for m in pattern.finditer(remarks)]


def _all(el: etree._Element, path: str) -> list[etree._Element]:
    return list(el.iterfind("/".join(f"{{*}}{p}" if p != "*" else p for p in path.split("/"))))


def _text(el: etree._Element, tag: str) -> str:
    return " ".join(((el.text if tag == "." else el.findtext(f"{{*}}{tag}")) or "").split())


def _line(el: etree._Element | None, *tags: str) -> str:
    return ", ".join(v for t in tags if el is not None and (v := _text(el, t)))


def _id(el: etree._Element) -> str:
    extra = _line(el, "idCountry", "issueDate", "expirationDate")
    return f"{_text(el, 'idType')} {_text(el, 'idNumber')}" + (f" ({extra})" if extra else "")


def _person_name(el: etree._Element) -> str:
    return " ".join(p for p in (_text(el, "firstName"), _text(el, "lastName")) if p)


def _address(el: etree._Element) -> str:
    return _line(el, "address1", "address2", "address3", "city", "stateOrProvince", "postalCode", "country")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))
