"""The adapter API: what a source adapter is, and the parse helpers it may use.

An adapter is sans-IO. It turns a query into `SourceRequest`s and a `Fetched` response into a
`ParseResult` of typed `Record`s (plus follow-up requests for paging or details). It never opens a
socket, a file or a database: `watcher.fetch` does the HTTP, `watcher.rounds` does the rest, so
every adapter is tested offline against a recorded response.

Writing one (see README, "Adding an adapter"):

    class Options(AdapterOptions):
        url: str = "https://example.org/list.json"

    class ExampleList(SourceAdapter[Options]):
        '''Provenance: who publishes it, what a record means, where the fixture came from.'''
        name = "example_list"          # = the module name
        title = "Example list"
        kind = "register"
        homepage = "https://example.org"
        Options = Options

        def requests(self, query): return [SourceRequest(self.options.url)]
        def parse(self, fetched): return ParseResult(records=[...])
"""

from __future__ import annotations

import inspect
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

import lxml.etree as etree
import lxml.html
from pydantic import BaseModel, ConfigDict

from watcher.errors import ParseError
from watcher.models import (
    Fetched,
    ManualTask,
    ParseResult,
    Person,
    Query,
    Record,
    SourceKind,
    SourceRequest,
)

__all__ = [
    "AdapterOptions",
    "Fetched",
    "ManualAdapter",
    "ManualTask",
    "ParseError",
    "ParseResult",
    "Person",
    "Query",
    "Record",
    "SourceAdapter",
    "SourceRequest",
    "iter_xml",
    "parse_html",
    "parse_json",
    "parse_xml",
    "partial_date",
    "root_tag",
    "text_of",
    "year_span",
]

MAX_JSON_DEPTH = 200
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")  # escaped, or raw UTF-8 bytes


class AdapterOptions(BaseModel):
    """Base of every adapter's options model: unknown keys are config errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OptionsT = TypeVar("OptionsT", bound=AdapterOptions)


class SourceAdapter(ABC, Generic[OptionsT]):
    """One source format. Subclasses set the class attributes and implement two methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[SourceKind]
    homepage: ClassVar[str]
    Options: ClassVar[type[AdapterOptions]] = AdapterOptions
    licence: ClassVar[str] = ""  # licence or terms-of-use note shown by `watcher sources`
    sends_names: ClassVar[bool] = False  # True when watched names go to the source in requests
    expect_min_records: ClassVar[int] = 0  # fewer records in a complete round is a source failure
    retry_statuses: ClassVar[frozenset[int]] = frozenset({429, 500, 502, 503, 504})
    version: ClassVar[str] = "1"  # bump when parse() output changes: stored bodies are parsed again
    # True when parse() of one response builds on the parses before it in the same round (one adapter
    # instance per round, responses in request order): then no response of a changed round is skipped.
    parse_together: ClassVar[bool] = False
    # Complete rounds a record may be missing before it is `removed` (anti-flap for unsteady sources).
    removal_grace_rounds: ClassVar[int] = 0
    # How long a response may stand in for a request with the same `reuse_token` (a detail page whose
    # list entry is unchanged) before it is fetched again: the detail may change on its own.
    reuse_max_age: ClassVar[timedelta] = timedelta(hours=24)

    def __init__(self, options: OptionsT) -> None:
        self.options = options

    @classmethod
    def provenance(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "").strip()

    @abstractmethod
    def requests(self, query: Query) -> list[SourceRequest]:
        """The requests for one round. Name-search adapters build one per watched name."""

    @abstractmethod
    def parse(self, fetched: Fetched) -> ParseResult:
        """Records (and follow-up requests) from one response; raise ParseError if it is not the format."""

    def covers(self, person: Person) -> bool:
        """Whether this source's rounds look for `person`, so that no alert from it says something about
        them (`watcher status` shows it per person). A downloaded list covers everyone: the default. A
        name search covers only the people it queries; override where the options decide, and when
        unsure say False: under-stated coverage is safe, over-stated coverage is a silent gap."""
        return True


class ManualAdapter(SourceAdapter[OptionsT]):
    """A source that cannot be polled: each round yields tasks for a person to do by hand.

    `requests()` is empty and `parse()` is never called; `tasks()` says what to check. The
    operator's recorded outcome is stored and alerted like a record of this source.
    """

    kind: ClassVar[SourceKind] = "manual"

    def requests(self, query: Query) -> list[SourceRequest]:
        return []

    def parse(self, fetched: Fetched) -> ParseResult:
        raise ParseError(f"{self.name} is a manual source: it has no responses to parse")

    @abstractmethod
    def tasks(self, query: Query) -> list[ManualTask]:
        """The checks to make this round, one per watched person (or per name form)."""


def parse_json(fetched: Fetched) -> Any:
    """The body as JSON; ParseError when it is not, or nests deeper than anyone legitimate would."""
    try:
        data = json.loads(fetched.body)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{fetched.url}: body is not JSON ({exc.__class__.__name__}: {exc})"[:300]) from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise ParseError(f"{fetched.url}: JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(fetched.body):  # rare: check only then that the text is real Unicode
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(f"{fetched.url}: JSON text holds a lone surrogate; refused") from None
    return data


def _depth(data: Any) -> int:
    depth, level = 0, [data]
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return depth
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        level = nxt
    return depth


def _xml_parser() -> etree.XMLParser:
    # No DTD loading, no entity expansion, no network: billion laughs and XXE stay inert.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def parse_xml(fetched: Fetched) -> etree._Element:
    """The body as an XML tree, parsed without entity expansion or external access."""
    try:
        root = etree.fromstring(fetched.body, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise _xml_error(fetched, exc) from None
    _refuse_entities(fetched, root)
    return root


def _xml_error(fetched: Fetched, exc: etree.XMLSyntaxError) -> ParseError:
    # Newer libxml2 stops an entity bomb itself, before the DTD can be looked at: the same refusal.
    if "amplification" in str(exc):
        return ParseError(f"{fetched.url}: XML declares entities; refused (entity expansion attacks: {exc})")
    return ParseError(f"{fetched.url}: body is not well-formed XML ({exc})")


def _refuse_entities(fetched: Fetched, element: etree._Element) -> None:
    """Refuse a document whose DTD declares entities (billion laughs, XXE), however it hides them:
    the parsed DTD is checked, not the bytes, so padding or another encoding changes nothing."""
    dtd = element.getroottree().docinfo.internalDTD
    if dtd is not None and next(iter(dtd.iterentities()), None) is not None:  # type: ignore[attr-defined]
        raise ParseError(f"{fetched.url}: XML declares entities; refused (entity expansion attacks)")


def iter_xml(fetched: Fetched, *tags: str) -> Iterator[etree._Element]:
    """Stream the elements named by `tags` (namespace-agnostic), in document order, in bounded memory.

    Each yielded element is cleared after the caller moves on, so a 25 MB list never lives as a tree.
    """
    root_tag(fetched)  # refuses entity declarations, wherever and however encoded, before streaming
    events = etree.iterparse(
        io.BytesIO(fetched.body),
        events=("end",),
        tag=tuple(t for tag in tags for t in ("{*}" + tag, tag)),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    try:
        for _, element in events:
            yield element
            element.clear(keep_tail=False)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise _xml_error(fetched, exc) from None


def root_tag(fetched: Fetched) -> str:
    """Local name of the document element, read from the first start event (no tree is built)."""
    events = etree.iterparse(
        io.BytesIO(fetched.body), events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        for _, element in events:
            _refuse_entities(fetched, element)
            return str(element.tag).rsplit("}", 1)[-1]
    except etree.XMLSyntaxError as exc:
        raise _xml_error(fetched, exc) from None
    raise ParseError(f"{fetched.url}: empty body where an XML list was expected")


_MONTHS = {m: i for i, m in enumerate(re.findall("...", "janfebmaraprmayjunjulaugsepoctnovdec"), 1)}
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_DMY = re.compile(r"^(\d{1,2}|dd)[./](\d{1,2}|mm)[./](\d{4})$", re.I)  # UK "dd/mm/1945" = year only
_WORDS = re.compile(r"^(?:(\d{1,2}) )?([A-Za-z]{3})[a-z]* (\d{4})$")  # OFAC "14 Jun 1975", "Jun 1975"


def partial_date(text: str) -> str:
    """ "YYYY", "YYYY-MM" or "YYYY-MM-DD" from the date forms the sanctions lists use; "" if none."""
    text = text.strip()
    if m := _ISO.match(text):
        year, month, day = m.groups()
    elif m := _DMY.match(text):
        day, month, year = (None if p.isalpha() else p for p in m.groups())
    elif (m := _WORDS.match(text)) and m.group(2).lower() in _MONTHS:
        day, month, year = m.group(1), str(_MONTHS[m.group(2).lower()]), m.group(3)
    else:
        return ""
    if not year or int(year) < 1800:
        return ""
    if not month or not 1 <= int(month) <= 12:
        return year
    if not day or not 1 <= int(day) <= 31:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


def year_span(low: str, high: str, slack: int = 0) -> list[str]:
    """Every year from low to high (widened by slack), capped at 30 years; [] if not years."""
    if not (low[:4].isdigit() and high[:4].isdigit()):
        return []
    start, end = sorted((int(low[:4]) - slack, int(high[:4]) + slack))
    if end - start > 30:
        return [str(start), str(end)]
    return [str(y) for y in range(start, end + 1)]


def parse_html(fetched: Fetched) -> lxml.html.HtmlElement:
    """The body as an HTML tree (lxml; forgiving, as browsers are)."""
    if not fetched.body.strip():
        raise ParseError(f"{fetched.url}: empty body where an HTML page was expected")
    try:
        parser = lxml.html.HTMLParser(encoding=fetched.charset or None, remove_comments=True)
        return lxml.html.fromstring(fetched.body, parser=parser)
    except (etree.ParserError, LookupError, ValueError) as exc:
        raise ParseError(f"{fetched.url}: body is not parseable HTML ({exc})") from None


def text_of(element: etree._Element | None) -> str:
    """Whitespace-normalised text content of an element ("" for None)."""
    if element is None:
        return ""
    return " ".join("".join(str(t) for t in element.itertext()).split())
