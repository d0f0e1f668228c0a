"""One source round: fetch -> parse -> sanity -> match -> diff -> store, with one error boundary.

A failed request, a body that does not parse, or an implausible parse fails the whole round: it is
recorded, the other sources go on, and nothing is diffed, so a broken page never reads as removals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from watcher.adapter import ManualAdapter, SourceAdapter
from watcher.budget import check_budget
from watcher.collect import Collector, Page
from watcher.config import Config, SourceConfig
from watcher.db.store import RoundOutcome, RoundState, Store
from watcher.diff import diff_records
from watcher.errors import ParseError, SanityError, SourceError, WatcherError
from watcher.evidence import BodyStore
from watcher.fetch import Fetcher
from watcher.match import VERSION as MATCHER_VERSION
from watcher.match import Matcher
from watcher.models import KEYWORD_MATCH, Match, Query, Record
from watcher.registry import AdapterRegistry
from watcher.schedule_math import next_due
from watcher.tasks import save_tasks

__all__ = ["RoundContext", "RunSummary", "run_round", "run_rounds"]

log = logging.getLogger(__name__)
MAX_REQUESTS_PER_ROUND = 2000
MIN_FOR_RATIO = 10  # the drop check needs a last count large enough to mean something
LEASE = timedelta(minutes=30)

Status = Literal["ok", "unchanged", "failed", "skipped"]
AnyAdapter = SourceAdapter[Any]


class GroupCommit:
    """Rounds finishing within a few milliseconds of each other commit in one transaction.

    Each round's changes and alerts stay atomic (they are in the one transaction); a thousand
    rounds cost a handful of commits instead of a thousand."""

    WINDOW_SECONDS = 0.05

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[RoundOutcome, asyncio.Future[int]]] = []
        self._flush: asyncio.Task[None] | None = None

    async def submit(self, outcome: RoundOutcome) -> int:
        """The number of alerts the round's commit created; raises what the commit raised."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._commit_soon())
        return await future

    async def _commit_soon(self) -> None:
        await asyncio.sleep(self.WINDOW_SECONDS)
        batch, self._pending, self._flush = self._pending, [], None
        try:
            counts = self.store.commit_rounds([outcome for outcome, _ in batch])
        except Exception:
            # One round's data the database refuses must not fail the others: commit them one by one.
            for outcome, future in batch:
                try:
                    future.set_result(self.store.commit_rounds([outcome])[0])
                except Exception as exc:
                    future.set_exception(exc)
            return
        for (_, future), count in zip(batch, counts, strict=True):
            future.set_result(count)


@dataclass
class RoundContext:
    config: Config
    store: Store
    fetcher: Fetcher
    matcher: Matcher
    bodies: BodyStore
    registry: AdapterRegistry
    owner: str
    fingerprints: dict[str, str] = field(default_factory=dict)
    committer: GroupCommit = field(init=False)
    watchlist_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.committer = GroupCommit(self.store)
        people = json.dumps([p.model_dump(mode="json") for p in self.config.person], sort_keys=True)
        self.watchlist_hash = hashlib.sha256(people.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RunSummary:
    source_id: str
    status: Status
    seconds: float = 0.0
    alerts: int = 0
    records: int = 0
    requests: int = 0
    not_modified: int = 0
    error: str | None = None


async def run_round(
    ctx: RoundContext, source: SourceConfig, *, force: bool, now: datetime | None = None
) -> RunSummary:
    """Run one round of one source unless another process holds it or (unless forced) it is not due."""
    return (await run_rounds(ctx, [source], force=force, now=now))[0]


async def run_rounds(
    ctx: RoundContext, sources: list[SourceConfig], *, force: bool, now: datetime | None = None
) -> list[RunSummary]:
    """Rounds of many sources at once. The bookkeeping is batched (one transaction claims every due
    source, one closes every unchanged round), so a thousand quiet sources cost two commits, not
    thousands; each source with changes commits its own transaction."""
    clock = now or datetime.now(UTC)
    claims = [(s.id, next_due(s, clock)) for s in sources]
    begun = ctx.store.begin_rounds(claims, ctx.owner, now=clock, lease=LEASE, force=force)
    summaries = await asyncio.gather(
        *(_guarded(ctx, s, *begun[s.id], clock) if s.id in begun else _skipped(s) for s in sources)
    )
    unchanged = [
        (s.source_id, begun[s.source_id][0], s.requests, s.not_modified)
        for s in summaries
        if s.status == "unchanged"
    ]
    if unchanged:
        ctx.store.finish_unchanged(unchanged, clock)
    return list(summaries)


async def _skipped(source: SourceConfig) -> RunSummary:
    return RunSummary(source.id, "skipped")


async def _guarded(
    ctx: RoundContext, source: SourceConfig, run_id: int, state: RoundState, clock: datetime
) -> RunSummary:
    """One source's round inside its error boundary: whatever goes wrong is recorded, never raised."""
    started = time.monotonic()
    try:
        return await _round(ctx, source, run_id, state, clock, started)
    except (SourceError, WatcherError) as exc:
        return _failed(ctx, source, run_id, clock, started, str(exc), getattr(exc, "status", None))
    except Exception as exc:  # an adapter or store bug must not stop the other sources
        log.exception("round crashed source=%s", source.id)
        return _failed(
            ctx, source, run_id, clock, started, f"internal error: {exc.__class__.__name__}: {exc}"
        )


def _failed(
    ctx: RoundContext,
    source: SourceConfig,
    run_id: int,
    now: datetime,
    started: float,
    error: str,
    status: int | None = None,
) -> RunSummary:
    log.warning("source failed source=%s run_id=%s error=%s", source.id, run_id, error)
    alert_after = ctx.config.watcher.failures_before_alert
    try:
        ctx.store.fail_round(source.id, run_id, now, error, alert_after, status, source.interval)
    except Exception as exc:  # the database itself refuses (disk full, read-only): say so, go on
        log.error("could not record the failure source=%s run_id=%s: %s", source.id, run_id, exc)
        error = f"{error}; and the failure could not be recorded: {_short(exc)}"
    return RunSummary(source.id, "failed", time.monotonic() - started, error=error)


def _short(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:300]  # the store's refusals are already plain StoreErrors


async def _round(
    ctx: RoundContext, source: SourceConfig, run_id: int, state: RoundState, now: datetime, started: float
) -> RunSummary:
    adapter_cls = ctx.registry.get(source.adapter)
    adapter: AnyAdapter = adapter_cls(ctx.config.adapter_options[source.id])
    if isinstance(adapter, ManualAdapter):
        created = save_tasks(ctx.store, source.id, adapter.tasks(Query(ctx.config.person, now=now)), now)
        ctx.store.finish_unchanged([(source.id, run_id, 0, 0)], now, status="ok")
        return RunSummary(source.id, "ok", time.monotonic() - started, alerts=created)
    fingerprint = _fingerprint(ctx, source)
    reparse = fingerprint != state.fingerprint or adapter.version != state.adapter_version
    query = Query(people=ctx.config.person, cursor=state.cursor, now=now)
    # Per-token request budgets (CourtListener 50/hour, 125/day): refuse a round that could exceed one.
    check_budget(ctx.store.engine, ctx.config, source, adapter, query, now)
    collector = Collector(ctx.fetcher, ctx.matcher, ctx.bodies, adapter, source, state, reparse)
    pages = await collector.collect(query)
    fresh = [p for p in pages if p.cached is None]
    not_modified = sum(1 for p in pages if p.fetched.not_modified)
    holding = any(old.missing_rounds for old in state.stored.values())  # grace counts need this round
    if not fresh and not reparse and not holding:  # closed in the batch by run_rounds
        return RunSummary(
            source.id, "unchanged", time.monotonic() - started, requests=len(pages), not_modified=not_modified
        )
    collector.parse_rest(pages)
    records, origin, complete, removed, cursor = _merge(pages, state.cursor)
    _sanity(adapter, source, records, complete, state.last_record_count)
    current: dict[str, tuple[Record, list[Match]]] = {}
    for key, rec in records.items():
        current[key] = (rec, collector.decision(rec) or keyword_matches(rec, source.keywords))
    nobody = {k for k, (_, found) in current.items() if not found and k not in state.stored}
    missing = _hold_missing(state, current, complete, removed, _grace(adapter, source))
    try:
        transitions = diff_records(state.stored, current, complete=complete, removed_keys=removed, now=now)
    except UnicodeEncodeError:
        raise ParseError(
            "a record carries text that is not valid Unicode (a lone surrogate?); refused"
        ) from None
    outcome = RoundOutcome(
        source_id=source.id,
        run_id=run_id,
        now=now,
        fingerprint=fingerprint,
        adapter_version=adapter.version,
        cursor=cursor,
        transitions=transitions,
        new_bodies=[(p.request_key, p.fetched) for p in fresh],
        cache_meta={p.request_key: collector.meta(p, nobody) for p in fresh if p.result is not None},
        origin=origin,
        requests=len(pages),
        not_modified=not_modified,
        records=len(records),
        notes={"removed": str(getattr(adapter, "removal_note", ""))},
        missing=missing,
    )
    for page in fresh:
        ctx.bodies.put(page.fetched.sha256, page.fetched.body)
    alerts = await ctx.committer.submit(outcome)
    log.info(
        "source done source=%s run_id=%s records=%d changes=%d",
        source.id,
        run_id,
        len(records),
        len(transitions),
    )
    return RunSummary(
        source.id, "ok", time.monotonic() - started, alerts, len(records), len(pages), not_modified
    )


def _merge(
    pages: list[Page], cursor: str | None
) -> tuple[dict[str, Record], dict[str, str], bool, list[str], str | None]:
    records: dict[str, Record] = {}
    origin: dict[str, str] = {}
    complete, removed = True, list[str]()
    for page in pages:
        assert page.result is not None
        for record in page.result.records:
            records[record.key] = record  # a detail response replaces the list entry of the same key
            origin[record.key] = page.request_key
        for key in page.result.removed:  # a later delta deleting a key wins over an earlier one adding it
            records.pop(key, None)
            origin.pop(key, None)
        complete = complete and page.result.complete
        removed.extend(page.result.removed)
        cursor = page.result.cursor or cursor
    return records, origin, complete, removed, cursor


def keyword_matches(record: Record, keywords: tuple[str, ...]) -> list[Match]:
    """A source's keywords (whole words, any case) in a record no watched name matched."""
    if not keywords:
        return []
    haystack = " ".join([record.title, record.text, *record.fields.values()])
    for keyword in keywords:
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", haystack, re.IGNORECASE):
            why = f"keyword {keyword!r} found in the record (no watched name matched)"
            return [Match(KEYWORD_MATCH, 1.0, keyword, keyword, why)]
    return []


def _grace(adapter: AnyAdapter, source: SourceConfig) -> int:
    return source.removal_grace if source.removal_grace is not None else adapter.removal_grace_rounds


def _hold_missing(
    state: RoundState,
    current: dict[str, tuple[Record, list[Match]]],
    complete: bool,
    removed: list[str],
    grace: int,
) -> dict[str, int]:
    """Anti-flap: a stored record missing from fewer than `grace` complete rounds in a row is held as
    it was (no alert); returns the new missing counts, 0 for records that came back."""
    counts = {key: 0 for key, old in state.stored.items() if old.missing_rounds and key in current}
    if not complete:
        return counts
    for key, old in state.stored.items():
        if key not in current and key not in removed and old.missing_rounds < grace:
            current[key] = (old.record, [])
            counts[key] = old.missing_rounds + 1
    return counts


def _sanity(
    adapter: AnyAdapter, source: SourceConfig, records: dict[str, Record], complete: bool, last: int | None
) -> None:
    minimum = (
        source.expect_min_records if source.expect_min_records is not None else adapter.expect_min_records
    )
    if complete and last and last >= MIN_FOR_RATIO and len(records) < last * source.min_record_ratio:
        raise SanityError(
            f"parsed {len(records)} records where the last good round had {last} (below"
            f" {source.min_record_ratio:.0%}): the source's format may have changed"
            " (nothing was marked removed)"
        )
    if complete and len(records) < minimum:
        raise SanityError(
            f"parsed {len(records)} records, expected at least {minimum}: the source's format may have"
            " changed (nothing was marked removed)"
        )


def _fingerprint(ctx: RoundContext, source: SourceConfig) -> str:
    """Changes when the watchlist, the source's config or the matcher's rules change: stored bodies are
    then judged again, and no decision made under the old ones is kept."""
    if source.id not in ctx.fingerprints:
        config = json.dumps(source.model_dump(mode="json"), sort_keys=True)
        blob = f"{ctx.watchlist_hash}|{MATCHER_VERSION}|{config}"
        ctx.fingerprints[source.id] = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return ctx.fingerprints[source.id]
