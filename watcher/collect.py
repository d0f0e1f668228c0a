"""Fetch and parse one round's requests, and judge the records they hold.

Requests go out level by level: a follow-up after the response that asked for it, a detail request only
when its record is about a watched person. A response whose body is unchanged since the last good round
is not parsed again; and while the watchlist, the source's config and the adapter stay the same, a
record that is the same as last round keeps last round's decision: a stored record still matches whom
it matched, any other record still matches nobody (each response remembers a short digest of each
record that matched nobody). So a full list in which 1% changed costs 1% of the matching.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from watcher.adapter import SourceAdapter
from watcher.codec import request_from_json, request_to_json
from watcher.config import SourceConfig
from watcher.db.store import CacheEntry, RoundState
from watcher.errors import ParseError, SourceError
from watcher.evidence import BodyStore
from watcher.fetch import Fetcher, Validators
from watcher.match import Matcher
from watcher.models import Fetched, Match, ParseResult, Query, Record, SourceRequest

__all__ = ["MAX_REQUESTS_PER_ROUND", "Collector", "Page", "digest"]

log = logging.getLogger(__name__)
MAX_REQUESTS_PER_ROUND = 2000
DIGEST_BYTES = 8
AnyAdapter = SourceAdapter[Any]


@dataclass(slots=True)
class Page:
    """One response of the round and what became of it."""

    request_key: str
    fetched: Fetched
    cached: CacheEntry | None  # set when the body is unchanged since the last good round
    result: ParseResult | None = None


def digest(record: Record) -> bytes:
    """A short, stable fingerprint of a record's key and content (not Python's salted hash)."""
    parts = [record.key, record.title, record.url or "", record.text, record.kind, record.hearing_at or ""]
    parts += [*record.names, "\x1e", *record.birth_dates, "\x1e", *record.nationalities]
    parts += [f"{k}={v}" for k, v in record.fields.items()]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=DIGEST_BYTES).digest()


@dataclass
class Collector:
    """One source's round of requests. `matches` holds each parsed record's decision; `kept`, the
    stored records whose decision holds unchanged (not judged again, still followed)."""

    fetcher: Fetcher
    matcher: Matcher
    bodies: BodyStore
    adapter: AnyAdapter
    source: SourceConfig
    state: RoundState
    reparse: bool  # the watchlist, the source's config or the adapter changed: judge everything again
    matches: dict[str, list[Match]] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)

    async def collect(self, query: Query) -> list[Page]:
        """Fetch the adapter's requests level by level: follow-ups after the response that asked for them."""
        pages: list[Page] = []
        seen: set[str] = set()
        level = self.adapter.requests(query)
        while level:
            level = [r for r in level if r.cache_key() not in seen]
            seen.update(r.cache_key() for r in level)
            if len(seen) > MAX_REQUESTS_PER_ROUND:
                raise SourceError(
                    f"more than {MAX_REQUESTS_PER_ROUND} requests in one round; is paging looping?"
                )
            fetched = await self._fetch_all(level)
            level = []
            for request, got in fetched:
                page = self._page(request, got, pages)
                pages.append(page)
                level.extend(self._follow(page))
        return pages

    def parse_rest(self, pages: list[Page]) -> None:
        """Parse the unchanged responses too (another response changed: the round needs all records).
        Their records keep last round's decisions."""
        for page in pages:
            if page.result is None:
                page.result = self._parse(page)
                self.judge(page, remembered=True)

    def decision(self, record: Record) -> list[Match]:
        """The record's matches: as judged while collecting, else judged now."""
        found = self.matches.get(record.key)
        return found if found is not None else self.matcher.match_record(record)

    def meta(self, page: Page, unmatched: set[str]) -> dict[str, Any]:
        """What a later round needs of a response it does not parse again (its records are stored),
        and the digests of its records that matched nobody (`unmatched` keys)."""
        assert page.result is not None
        nobody = b"".join(digest(r) for r in page.result.records if r.key in unmatched)
        return {
            "follow": [request_to_json(r) for r in page.result.follow],
            "complete": page.result.complete,
            "removed": list(page.result.removed),
            "cursor": page.result.cursor,
            "reuse_token": page.fetched.request.reuse_token,
            "status": 200 if page.fetched.not_modified else page.fetched.status,
            "fetched_at": page.fetched.fetched_at.isoformat(),
            "nobody": base64.b64encode(nobody).decode(),
        }

    # -- fetching ---------------------------------------------------------------------------------

    async def _fetch_all(self, level: list[SourceRequest]) -> list[tuple[SourceRequest, Fetched]]:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._fetch(r)) for r in level]
        except ExceptionGroup as group_error:  # one failed request fails the round; the first says why
            raise group_error.exceptions[0] from None
        return [(r, t.result()) for r, t in zip(level, tasks, strict=True)]

    async def _fetch(self, request: SourceRequest) -> Fetched:
        entry = self.state.cache.get(request.cache_key())
        fetched_at = self._reusable(request, entry) if entry else None
        if entry and fetched_at:
            return Fetched(request, request.url, 304, {}, b"", entry.sha256, fetched_at, not_modified=True)
        validators = Validators(entry.etag, entry.last_modified, entry.sha256) if entry else None
        source = self.source
        if source.user_agent and "user-agent" not in {k.lower() for k in request.headers}:
            request = replace(request, headers={**request.headers, "User-Agent": source.user_agent})
        return await self.fetcher.fetch(
            request,
            validators=validators,
            retry_statuses=self.adapter.retry_statuses,
            proxy=source.proxy,
            allow_private=source.allow_private_redirects,
            min_interval=self._spacing(),
            jitter=source.request_jitter,
        )

    def _reusable(self, request: SourceRequest, entry: CacheEntry) -> datetime | None:
        """When the last answer to this request was fetched, if it stands in for a new one (no request
        is made): while the adapter's token is the same, for up to the adapter's `reuse_max_age` (a
        detail may change without its list entry: a new arrest warrant)."""
        if not request.reuse_token or entry.meta.get("reuse_token") != request.reuse_token:
            return None
        fetched_at = _fetched_at(entry)
        max_age: timedelta = self.adapter.reuse_max_age
        return fetched_at if fetched_at and datetime.now(UTC) - fetched_at < max_age else None

    def _spacing(self) -> float:
        """Seconds between two requests to the host: the config's, else the adapter's documented one."""
        if self.source.min_interval is not None:
            return self.source.min_interval
        return float(getattr(self.adapter, "min_interval_seconds", 0.0))

    # -- parsing and judging ------------------------------------------------------------------------

    def _page(self, request: SourceRequest, got: Fetched, earlier: list[Page]) -> Page:
        key = request.cache_key()
        entry = self.state.cache.get(key)
        unchanged = entry is not None and entry.adapter_version == self.adapter.version
        unchanged = unchanged and entry is not None and (got.not_modified or got.sha256 == entry.sha256)
        page = Page(key, got, entry if unchanged else None)
        if page.cached is None or self.reparse:
            if self.adapter.parse_together:  # parses that build on each other: what came before first
                for before in earlier:
                    if before.result is None:
                        before.result = self._parse(before)
                        self.judge(before, remembered=True)
            page.result = self._parse(page)
            self.judge(page, remembered=False)
        return page

    def judge(self, page: Page, *, remembered: bool) -> None:
        """Match the records of a parsed response, except those whose decision holds. `remembered`:
        the body is the one last round judged (a record not stored then matched nobody)."""
        assert page.result is not None
        nobody = set() if self.reparse or remembered else _digests(page, self.state)
        for record in page.result.records:
            stored = self.state.stored.get(record.key)
            if not self.reparse and stored is not None and stored.content_hash == record.content_hash():
                self.matches[record.key] = []  # the diff sees no change; its matches are stored
                self.kept.add(record.key)
            elif not self.reparse and stored is None and (remembered or digest(record) in nobody):
                self.matches[record.key] = []
            else:
                self.matches[record.key] = self.matcher.match_record(record)

    def _follow(self, page: Page) -> list[SourceRequest]:
        """Follow-ups of a response; a detail request only when its record is about a watched person."""
        if page.result is not None:
            follow = page.result.follow
        else:
            assert page.cached is not None
            follow = [request_from_json(r) for r in page.cached.meta.get("follow", [])]
        return [r for r in follow if r.for_record is None or self._watched(r.for_record)]

    def _watched(self, key: str) -> bool:
        """Is this record about a watched person: it matched now, or its stored decision holds, or it
        is stored and its list response was not parsed again."""
        judged = key in self.matches
        return bool(self.matches.get(key)) or key in self.kept or (not judged and key in self.state.stored)

    def _parse(self, page: Page) -> ParseResult:
        fetched = self._with_body(page)
        adapter = self.adapter
        try:
            result = adapter.parse(fetched)
        except ParseError:
            raise
        except Exception as exc:
            log.exception("adapter crashed adapter=%s url=%s", adapter.name, fetched.url)
            raise ParseError(
                f"{fetched.url}: adapter {adapter.name} could not read the body ({exc!r})"[:500]
            ) from None
        if not isinstance(result, ParseResult):
            raise ParseError(f"adapter {adapter.name} returned {type(result).__name__}, not a ParseResult")
        return result

    def _with_body(self, page: Page) -> Fetched:
        if not page.fetched.not_modified:
            return page.fetched
        body = self.bodies.get(page.fetched.sha256)
        f = page.fetched
        # The stored answer's own status: a reused 404 detail still means "gone", not a 200 to parse.
        status = int(page.cached.meta.get("status", 200)) if page.cached else 200
        return Fetched(f.request, f.url, status, f.headers, body, f.sha256, f.fetched_at, not_modified=True)


def _fetched_at(entry: CacheEntry) -> datetime | None:
    try:
        return datetime.fromisoformat(str(entry.meta.get("fetched_at")))
    except ValueError:  # an entry from before fetch times were kept: fetch again
        return None


def _digests(page: Page, state: RoundState) -> set[bytes]:
    """Digests of the records that matched nobody in the last good answer to this request."""
    entry = state.cache.get(page.request_key)
    raw = base64.b64decode(str(entry.meta.get("nobody", ""))) if entry else b""
    return {raw[i : i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES)}
