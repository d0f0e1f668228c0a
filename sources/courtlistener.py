"""CourtListener adapter: REST v4 search for watched party names, queries and dockets (US courts)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from watcher.adapter import (
    AdapterOptions,
    Fetched,
    ParseError,
    ParseResult,
    Person,
    Query,
    Record,
    SourceAdapter,
    SourceRequest,
    parse_json,
)

_US = {"USA", "UNITED STATES", "UNITED STATES OF AMERICA"}  # the government is a party, never a match
_SPLIT_PARTIES = re.compile(r"\s+(?:v|vs)\.?\s+")
_ET_AL = re.compile(r",?\s+et\s+al\.?\s*$", re.I)
# "In re Extradition of Ivan Ivanov", "In the Matter of the Extradition of ..." -> the person's name
_IN_RE = re.compile(r"^(?:in re|in the matter of)\s+(?:the\s+)?(?:extradition of\s+)?", re.I)


class Options(AdapterOptions):
    base_url: str = "https://www.courtlistener.com"
    token_env: str = "COURTLISTENER_TOKEN"  # environment variable holding the API token; "" = anonymous
    type: Literal["r", "d", "o"] = "r"  # RECAP dockets with documents, dockets, opinions
    names_from_watchlist: bool = True  # one search per watched person, name forms as ORed phrases
    queries: tuple[str, ...] = ()  # extra searches in CourtListener syntax, e.g. 'caseName:"extradition"'
    dockets: tuple[int, ...] = ()  # watched docket ids, searched as docket_id:<id>
    court: str = ""  # space-separated court ids, e.g. "dcd nysd"
    order_by: str = "dateFiled desc"
    max_pages: int = 2  # 20 results a page; each page costs one request of a tight budget


class Courtlistener(SourceAdapter[Options]):
    """CourtListener (Free Law Project): US federal and state court dockets (RECAP) and opinions.

    Source: REST v4 search, `GET https://www.courtlistener.com/api/rest/v4/search/?q=...&type=r|d|o`
    (SOURCES.md 5.3). Response `{"count", "next": "...?cursor=...", "previous", "results": [...]}`, 20
    per page, cursor paging: `next` becomes a follow-up request, up to `max_pages` per search.
    RECAP/docket results carry `caseName`, `docketNumber`, `docket_id`, `court_id`, `dateFiled`,
    `dateTerminated`, `assignedTo`, `cause`, `party`, `docket_absolute_url` (and nested
    `recap_documents`); a record is one docket, key `docket:<docket_id>`. With `type="o"` a record is
    one opinion cluster, key `cluster:<cluster_id>`. `latest_entry` (the newest nested document the
    search returned) changing is how a new filing on a watched docket shows up [inferred].

    A search's pages are its whole result, so a round that followed every `next` cursor is complete for
    its searches: a docket or opinion that leaves the result (sealed, removed, re-captioned) is
    `removed`, after one round of grace (`removal_grace_rounds`: a search index can miss a hit for a
    while). When `max_pages` stops while a `next` cursor remains, the round is not complete.

    Auth: header `Authorization: Token <token>`; the token comes from the environment variable named by
    `token_env`, written here as the placeholder `{env:NAME}` that the fetch stage expands.
    Throttles (cl/settings/third_party/rest_framework.py): 5/min, 50/hour, 125/day per user; anonymous
    100/day. Ask Free Law Project for an NGO allowance; prefer their search/docket alerts where possible.

    No recorded response exists: the fixtures are synthetic, written from SOURCES.md 5.3.
    """

    name = "courtlistener"
    title = "CourtListener (Free Law Project)"
    kind = "court"
    homepage = "https://www.courtlistener.com"
    Options = Options
    licence = (
        "Free Law Project API terms apply; an API token is needed (read from the environment). Budget per "
        "token: 5 requests/min, 50/hour, 125/day (100/day anonymous); one round costs up to searches x "
        "max_pages requests. Ask Free Law Project for an NGO allowance, or use its alerts/webhooks."
    )
    sends_names = True
    # Per user token, as (requests, seconds). watcher.fetch spaces requests per host, which keeps the
    # 5/min window; the hour and day windows are a budget: searches x max_pages x rounds per day <= 125.
    rate_limits: ClassVar[tuple[tuple[int, int], ...]] = ((5, 60), (50, 3600), (125, 86400))
    min_interval_seconds: ClassVar[float] = 12.0
    removal_grace_rounds = 1
    removal_note: ClassVar[str] = (
        "The case is no longer in CourtListener's search result: it may have been sealed, removed or "
        "re-captioned, or the search index dropped it. Check the docket on CourtListener or PACER."
    )

    def covers(self, person: Person) -> bool:
        return self.options.names_from_watchlist  # `queries` and `dockets` name no watched person

    def requests(self, query: Query) -> list[SourceRequest]:
        qs = list(self.options.queries)
        if self.options.names_from_watchlist:
            qs += [" OR ".join(f'"{n.replace(chr(34), "")}"' for n in p.names) for p in query.people]
        qs += [f"docket_id:{d}" for d in self.options.dockets]
        return [self._search(q) for q in dict.fromkeys(qs)]

    def _headers(self) -> dict[str, str]:
        env = self.options.token_env
        return {"Authorization": f"Token {{env:{env}}}"} if env else {}

    def _search(self, q: str) -> SourceRequest:
        params = {"q": q, "type": self.options.type, "order_by": self.options.order_by}
        if self.options.court:
            params["court"] = self.options.court
        url = f"{self.options.base_url.rstrip('/')}/api/rest/v4/search/"
        return SourceRequest(url, params=params, headers=self._headers(), purpose="search:1")

    def parse(self, fetched: Fetched) -> ParseResult:
        data = parse_json(fetched)
        if isinstance(data, dict) and "detail" in data and "results" not in data:
            raise ParseError(f"{fetched.url}: CourtListener refused the search: {str(data['detail'])[:200]}")
        rows = data.get("results") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ParseError(f"{fetched.url}: expected CourtListener JSON with a 'results' list")
        records = [self._record(fetched, row) for row in rows]
        follow = self._next(fetched, data.get("next"))
        # The search's whole result is its pages: complete unless a next page exists and is not fetched.
        unread = isinstance(data.get("next"), str) and bool(data["next"]) and not follow
        return ParseResult(records=records, follow=follow, complete=not unread)

    def _next(self, fetched: Fetched, nxt: Any) -> list[SourceRequest]:
        label, _, page = fetched.request.purpose.partition(":")
        n = int(page) if page.isdigit() else 1
        if not isinstance(nxt, str) or not nxt or n >= self.options.max_pages:
            return []
        try:
            parts = urlsplit(nxt)  # our host (mirrors, tests), their path and cursor
        except ValueError:  # "http://host[..." and other links urllib refuses
            raise ParseError(f"{fetched.url}: 'next' is not a usable URL: {nxt[:200]!r}") from None
        url, params = f"{self.options.base_url.rstrip('/')}{parts.path}", dict(parse_qsl(parts.query))
        return [
            SourceRequest(url, params=params, headers=self._headers(), purpose=f"{label or 'search'}:{n + 1}")
        ]

    def _record(self, fetched: Fetched, row: Any) -> Record:
        if not isinstance(row, dict):
            raise ParseError(f"{fetched.url}: a search result is not an object")
        opinion = self.options.type == "o"
        ident = _s(row.get("cluster_id" if opinion else "docket_id"))
        if not ident:
            raise ParseError(f"{fetched.url}: a result has no {'cluster_id' if opinion else 'docket_id'}")
        case_name, number, court = (
            _s(row.get("caseName")),
            _s(row.get("docketNumber")),
            _s(row.get("court_id")),
        )
        path = _s(row.get("absolute_url" if opinion else "docket_absolute_url"))
        parties = (
            [_s(p) for p in row.get("party") or [] if _s(p)] if isinstance(row.get("party"), list) else []
        )
        return Record(
            key=f"{'cluster' if opinion else 'docket'}:{ident}",
            title=f"{case_name} ({', '.join(x for x in (number, court) if x)})",
            url=f"{self.options.base_url.rstrip('/')}{path}" if path.startswith("/") else path or None,
            names=tuple(
                dict.fromkeys(n for n in [*_case_parties(case_name), *parties] if n.upper() not in _US)
            ),
            # Search snippets are left out: they follow the query's highlighting, and would read as changes.
            text="\n".join(x for x in (case_name, _s(row.get("cause"))) if x),
            fields={k: v for k, v in self._fields(row, opinion).items() if v},
            kind="document",
        )

    def _fields(self, row: dict[str, Any], opinion: bool) -> dict[str, str]:
        fields = {
            "docket_number": _s(row.get("docketNumber")),
            "court": _s(row.get("court_id")),
            "date_filed": _s(row.get("dateFiled"))[:10],
        }
        if opinion:
            cites = row.get("citation") if isinstance(row.get("citation"), list) else []
            fields |= {"status": _s(row.get("status")), "judge": _s(row.get("judge"))}
            return fields | {"citation": "; ".join(_s(c) for c in cites or [])}
        return fields | {
            "date_terminated": _s(row.get("dateTerminated"))[:10],
            "assigned_to": _s(row.get("assignedTo")),
            "cause": _s(row.get("cause")),
            "latest_entry": _latest_entry(row.get("recap_documents")),
        }


def _latest_entry(docs: Any) -> str:
    """ "2024-03-01 #12 Order on Motion" for the newest nested document, "" without any."""
    entries = [d for d in docs if isinstance(d, dict)] if isinstance(docs, list) else []
    if not entries:
        return ""
    newest = max(entries, key=lambda d: (_s(d.get("entry_date_filed")), _s(d.get("document_number"))))
    desc = _s(newest.get("short_description")) or _s(newest.get("description"))
    number = _s(newest.get("document_number"))
    return " ".join(
        x for x in (_s(newest.get("entry_date_filed"))[:10], f"#{number}" if number else "", desc) if x
    )


def _case_parties(case_name: str) -> list[str]:
    sides = [_ET_AL.sub("", _IN_RE.sub("", s)).strip(" ,") for s in _SPLIT_PARTIES.split(case_name)]
    return [s for s in sides if s]


def _s(value: Any) -> str:
    return "" if value is None else str(value).strip()
