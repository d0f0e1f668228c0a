"""GDELT DOC 2.0 adapter: world news articles that mention a watched name."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

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

_SEENDATE = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")


class Options(AdapterOptions):
    base_url: str = "https://api.gdeltproject.org"
    languages: tuple[str, ...] = ()  # sourcelang: values, e.g. ("english", "russian"); () = all
    countries: tuple[str, ...] = ()  # sourcecountry: values, e.g. ("KZ", "RS", "BE"); () = all
    timespan: str = Field(default="1d", pattern=r"^\d+(min|h|d|w|m)$")
    max_records: int = Field(default=250, ge=1, le=250)


class Gdelt(SourceAdapter[Options]):
    """GDELT DOC 2.0 API (The GDELT Project): news articles worldwide, about the last 3 months.

    Source: `<base_url>/api/v2/doc/doc?query=<q>&mode=artlist&format=json&maxrecords=&timespan=&sort=`
    (SOURCES.md 6.3). One request per watched name form (Latin and original-script forms alike), as a
    quoted phrase, narrowed by `languages` (`sourcelang:`) and `countries` (`sourcecountry:`; FIPS
    codes such as KZ, RS, UP, BE or country names: which form the API takes is unverified).

    A record is one article, keyed by its URL (fragment dropped, scheme and host lower-cased): title,
    seendate (ISO UTC), domain, language and sourcecountry as GDELT reports them. GDELT returns no
    article text, so `text` is the title: the matcher finds the name there, in any script and, for
    Russian, in its case forms. An article that names the person only in its body reaches GDELT's
    search but not an alert.

    Never complete: a search covers `timespan` (a window), so an article that ages out of it leaves
    silently (no alert; it stays stored as last seen) and is not a removal. `{}` is "no match". A query
    GDELT rejects comes back as HTTP 200 with an HTML or plain-text message; rate limiting as 429 or 200
    with "Please limit requests to one every 5 seconds": both are ParseErrors quoting the message. At
    most one request per 5 seconds (`min_interval_seconds`, which the round's fetch applies per host);
    watched names are sent to GDELT.

    Fixture: synthetic (no recorded sample exists; shared/samples/README.md), written from the documented
    response `{"articles": [{url, url_mobile, title, seendate, socialimage, domain, language,
    sourcecountry}]}`; domains are example.* placeholders and headlines are written for the test.
    """

    name = "gdelt"
    title = "GDELT DOC 2.0 news search"
    kind = "news"
    homepage = "https://www.gdeltproject.org"
    Options = Options
    licence = (
        "Public API of The GDELT Project; no terms are recorded in SOURCES.md. GDELT asks for at most "
        "one request every 5 seconds. Watched names are sent to GDELT in each query."
    )
    sends_names = True
    # The pipeline's fetch spaces requests to this host by at least this much (SOURCES.md 6.3).
    min_interval_seconds: ClassVar[float] = 5.0
    rate_limits: ClassVar[tuple[tuple[int, int], ...]] = ((1, 5),)  # the same, as (requests, seconds)

    def requests(self, query: Query) -> list[SourceRequest]:
        url = self.options.base_url.rstrip("/") + "/api/v2/doc/doc"
        return [SourceRequest(url, params=self._params(form), purpose="search") for form in _forms(query)]

    def _params(self, name: str) -> dict[str, str]:
        terms = [f'"{name}"']
        terms += _any_of("sourcelang", self.options.languages)
        terms += _any_of("sourcecountry", self.options.countries)
        return {
            "query": " ".join(terms),
            "mode": "artlist",
            "format": "json",
            "maxrecords": str(self.options.max_records),
            "timespan": self.options.timespan,
            "sort": "datedesc",
        }

    def parse(self, fetched: Fetched) -> ParseResult:
        data = _json(fetched)
        if not isinstance(data, dict):
            raise ParseError(f"{fetched.url}: expected a JSON object with 'articles'")
        articles = data.get("articles", [])  # `{}` means no match
        if not isinstance(articles, list):
            raise ParseError(f"{fetched.url}: 'articles' is not a list")
        records: dict[str, Record] = {}
        for article in articles:
            record = _record(article) if isinstance(article, dict) else None
            if record is not None:
                records.setdefault(record.key, record)
        return ParseResult(records=list(records.values()), complete=False)


def _forms(query: Query) -> list[str]:
    """Every distinct name form of every watched person (quotes removed: they end the phrase)."""
    seen: dict[str, str] = {}
    for person in query.people:
        for name in person.names:
            form = " ".join(name.replace('"', " ").split())
            if form:
                seen.setdefault(form.casefold(), form)
    return list(seen.values())


def _any_of(operator: str, values: tuple[str, ...]) -> list[str]:
    terms = [f"{operator}:{v}" for v in values]
    # GDELT accepts parentheses only around OR'd terms.
    return [f"({' OR '.join(terms)})"] if len(terms) > 1 else terms


def _json(fetched: Fetched) -> Any:
    try:
        return parse_json(fetched)
    except ParseError:
        said = " ".join(fetched.text()[:200].split()) or "an empty body"
        raise ParseError(f"{fetched.url}: GDELT answered with no JSON: {said!r}") from None


def _record(article: dict[str, Any]) -> Record | None:
    url = _canonical(_str(article.get("url")))
    if not url:
        return None
    title = _str(article.get("title"))
    fields = {
        "title": title,
        "seendate": _iso(_str(article.get("seendate"))),
        "domain": _str(article.get("domain")),
        "language": _str(article.get("language")),
        "sourcecountry": _str(article.get("sourcecountry")),
    }
    return Record(
        key=url,
        title=title or url,
        url=url,
        text=title,
        fields={k: v for k, v in fields.items() if v},
        kind="article",
    )


def _str(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _canonical(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def _iso(seendate: str) -> str:
    """`20240923T101500Z` -> `2024-09-23T10:15:00Z`; anything else kept as written."""
    m = _SEENDATE.match(seendate)
    return "{}-{}-{}T{}:{}:{}Z".format(*m.groups()) if m else seendate
