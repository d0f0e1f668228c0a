"""The matcher: watched people, indexed; records judged against the few the index proposes.

A decision takes the best of: each watched name form against each published name (`align.judge`), and
against each capitalised run of the record's text (`text`); then the qualifiers (`qualifiers`) raise or
lower the score; a watched case number found in the record's fields or text is a match of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from watcher.match.align import NameResult, judge, middle_words, units
from watcher.match.compare import compare
from watcher.match.index import BlockIndex
from watcher.match.normalize import Token, has_words_around, parties, tokenize_name
from watcher.match.qualifiers import Qualifier, birth_date, case_number_found, nationality
from watcher.match.text import Run, nominatives, runs, text_compare
from watcher.models import Match, Person, Record

THRESHOLD = 0.75
# Bump when a change to the rules changes decisions: rounds then judge every stored body again once,
# instead of keeping decisions the old rules made.
VERSION = "1"
CASE_NUMBER_SCORE = 0.98


@dataclass(frozen=True, slots=True)
class Decision:
    match: bool
    score: float
    matched: str  # the published name or text excerpt
    via: str  # the watched name form (or case number) it met
    explanation: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision before its explanation is written (most candidates are rejected unexplained)."""

    match: bool
    score: float
    matched: str
    via: str
    result: NameResult | None = None
    in_text: bool = False
    quals: tuple[Qualifier, ...] = ()
    note: str = ""

    def decision(self) -> Decision:
        if self.result is None:
            return Decision(self.match, self.score, self.matched, self.via, self.note)
        text = _explain(self.result, self.matched, self.via, self.in_text, self.quals, self.score, self.match)
        return Decision(self.match, self.score, self.matched, self.via, text)


@dataclass(frozen=True, slots=True)
class Watched:
    """A person with their name forms tokenized once."""

    person: Person
    forms: tuple[tuple[str, tuple[Token, ...]], ...]
    middles: tuple[Token, ...]
    vocabulary: tuple[Token, ...]  # every word and joined pair of every form, particles too
    related: dict[Token, bool] = field(default_factory=dict, compare=False, repr=False)  # a cache

    @classmethod
    def of(cls, person: Person) -> Watched:
        forms = tuple((n, tokenize_name(n)) for n in dict.fromkeys(person.names) if tokenize_name(n))
        words = {id(u): u for _, tokens in forms for u in (*tokens, *(u for _, u in units(tokens)))}
        return cls(person, forms, tuple(middle_words([t for _, t in forms])), tuple(words.values()))

    def alien(self, c_tokens: tuple[Token, ...]) -> bool:
        """Does a published name carry a word that no rule relates to any of this person's words (nor
        joined with a neighbour)? With middle names known, `judge` rejects such a name ('Bekova' where
        the watched name has 'Chernova'); this says so without aligning."""
        if not self.middles:
            return False
        cover: dict[int, bool] = {}
        for at, unit in units(c_tokens):
            if self._related(unit):
                cover.update(dict.fromkeys(at, True))
            else:
                cover.update((i, cover.get(i, False)) for i in at)
        return any(not met and not c_tokens[i].particle for i, met in cover.items())

    def _related(self, unit: Token) -> bool:
        found = self.related.get(unit)
        if found is None:
            if len(self.related) >= 4096:
                self.related.clear()
            found = self.related[unit] = any(compare(q, unit) is not None for q in self.vocabulary)
        return found


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a record offers the matcher, prepared once per record."""

    names: tuple[tuple[str, tuple[Token, ...]], ...]
    runs: tuple[Run, ...]
    birth_dates: tuple[str, ...]
    nationalities: tuple[str, ...]
    fields: dict[str, str]
    text: str


class Matcher:
    """Holds the watchlist as a blocking index; judges records against the candidates it proposes."""

    def __init__(self, people: Sequence[Person], threshold: float = THRESHOLD) -> None:
        self.people = {p.id: p for p in people}
        self.threshold = threshold
        self._watched = [Watched.of(p) for p in people]
        self._index = BlockIndex([[t for _, t in w.forms] for w in self._watched])
        self._with_cases = [i for i, w in enumerate(self._watched) if w.person.case_numbers]

    def match_record(self, record: Record) -> list[Match]:
        evidence = _evidence(
            record.names, record.text, record.birth_dates, record.nationalities, record.fields
        )
        found: list[Match] = []
        for i, forms in sorted(self._candidates(evidence).items()):
            verdict = self._verdict(self._watched[i], evidence, forms, quick=True)
            if verdict.match:
                d = verdict.decision()
                found.append(Match(self._watched[i].person.id, d.score, d.matched, d.via, d.explanation))
        return found

    def decide(
        self,
        person: Person,
        *,
        name: str | None = None,
        text: str | None = None,
        birth_date: str | None = None,
        nationality: str | None = None,
    ) -> Decision:
        """One explained judgement of one person against a name and/or a text."""
        watched = next((w for w in self._watched if w.person == person), None) or Watched.of(person)
        evidence = _evidence(
            (name,) if name else (),
            text or "",
            (birth_date,) if birth_date else (),
            (nationality,) if nationality else (),
            {},
        )
        return self._judge(watched, evidence)

    def _candidates(self, ev: Evidence) -> dict[int, set[int] | None]:
        """Candidate people, each with the forms the index found (None: all forms)."""
        slots: set[int] = set()
        for _, tokens in ev.names:
            slots |= self._index.name_candidates(tokens)
        for run in ev.runs:
            slots |= self._index.text_candidates(run.tokens, _nominative_tokens)
        out: dict[int, set[int] | None] = {i: None for i in self._with_cases}
        if not slots:
            return out
        for person, form in map(self._index.slots.__getitem__, slots):
            forms = out.setdefault(person, set())
            if forms is not None:
                forms.add(form)
        return out

    def _judge(self, w: Watched, ev: Evidence) -> Decision:
        return self._verdict(w, ev).decision()

    def _verdict(
        self, w: Watched, ev: Evidence, forms: set[int] | None = None, *, quick: bool = False
    ) -> Verdict:
        """`quick`: skip names that cannot match unexplained (the pipeline reports only matches)."""
        case = case_number_found(w.person.case_numbers, ev.fields, ev.text)
        if case is not None:
            number, where = case
            return Verdict(
                True,
                CASE_NUMBER_SCORE,
                number,
                number,
                note=f"watched case number '{number}' found in {where}",
            )
        best = self._best_name(w, ev, forms, quick)
        if best is None:
            return Verdict(False, 0.0, "", "", note="no name or text to compare")
        result, matched, via, in_text = best
        quals = (
            birth_date(w.person.birth_date, ev.birth_dates),
            nationality(w.person.nationalities, ev.nationalities),
        )
        score = result.score
        for q in quals:
            score = q.apply(score)
        ok = result.ok and score >= self.threshold
        return Verdict(ok, round(score, 3), matched, via, result, in_text, quals)

    def _best_name(
        self, w: Watched, ev: Evidence, forms: set[int] | None, quick: bool = False
    ) -> tuple[NameResult, str, str, bool] | None:
        best: tuple[NameResult, str, str, bool] | None = None
        names = [n for n in ev.names if not w.alien(n[1])] if quick else ev.names
        for f, (via, q_tokens) in enumerate(w.forms):
            if forms is not None and f not in forms:
                continue
            for name, c_tokens in names:
                r = judge(q_tokens, c_tokens, middles=w.middles)
                if best is None or (r.ok, r.score) > (best[0].ok, best[0].score):
                    best = (r, name, via, False)
            for run in ev.runs:
                r = judge(q_tokens, run.tokens, in_text=True, comparer=text_compare)
                if best is None or (r.ok, r.score) > (best[0].ok, best[0].score):
                    best = (r, run.text, via, True)
        return best


def _evidence(
    names: Sequence[str],
    text: str,
    birth_dates: Sequence[str],
    nationalities: Sequence[str],
    fields: Mapping[str, str],
) -> Evidence:
    if len(names) == 1:  # the common case, spared the merging
        tokenized = _published(names[0])
    else:
        tokenized = tuple(dict.fromkeys(n for name in dict.fromkeys(names) for n in _published(name)))
    found_runs = tuple(runs(text)) if text else ()
    return Evidence(tokenized, found_runs, tuple(birth_dates), tuple(nationalities), dict(fields), text)


@lru_cache(maxsize=32768)
def _published(name: str) -> tuple[tuple[str, tuple[Token, ...]], ...]:
    """The names in a published name field: one per party of a caption (R v Amina Abenov), and the
    capitalised runs of a name carrying other words (In re Extradition of Ivan Petrov), as names too."""
    if not name:
        return ()
    found = list(parties(name))
    found += [r.text for p in found if has_words_around(p) for r in runs(p)]
    named = tuple((n, t) for n in dict.fromkeys(found) if (t := tokenize_name(n)))
    if len(named) == 1:
        return named
    return tuple((n, t) for n, t in named if any(not w.initial and not w.particle for w in t))  # not "R"


def _nominative_tokens(word: Token) -> list[Token]:
    return [t for _, t in nominatives(word.text)]


def _explain(
    result: NameResult,
    matched: str,
    via: str,
    in_text: bool,
    quals: Sequence[Qualifier],
    score: float,
    ok: bool,
) -> str:
    where = "text mentions" if in_text else "name"
    if result.ok:
        parts = [f"{where} '{matched}' meets watched name '{via}': {result.describe()}"]
        if result.extra:
            parts.append(f"also names {', '.join(repr(e) for e in result.extra)} (not on the watchlist)")
        if result.weak:
            parts.append(result.weak)
    else:
        parts = [f"no match: {where} '{matched}' against watched name '{via}': {result.reason}"]
        if result.pairs:
            parts.append(f"met: {result.describe()}")
    parts += [q.note for q in quals if q.note]
    verdict = "match" if ok else "below threshold" if result.ok else "not a match"
    parts.append(f"score {score:.2f} ({verdict})")
    return "; ".join(parts)
