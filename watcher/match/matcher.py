"""First matcher: folded, transliterated name tokens, blocked by token, scored with rapidfuzz."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from anyascii import anyascii
from rapidfuzz import fuzz

from watcher.models import Match, Person, Record

THRESHOLD = 0.88
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Decision:
    match: bool
    score: float
    matched: str
    via: str
    explanation: str


def fold(name: str) -> str:
    """Case, diacritics and script folded to plain lower-case ASCII words."""
    text = unicodedata.normalize("NFKC", name)
    ascii_text = anyascii(text).lower()
    return " ".join(_WORD.findall(ascii_text))


class Matcher:
    """Holds the watchlist as an index of folded name tokens."""

    def __init__(self, people: Sequence[Person], threshold: float = THRESHOLD) -> None:
        self.people = {p.id: p for p in people}
        self.threshold = threshold
        self._forms: dict[str, list[tuple[str, str]]] = {}
        self._index: dict[str, set[str]] = defaultdict(set)
        for person in people:
            forms = [(fold(n), n) for n in person.names if fold(n)]
            self._forms[person.id] = forms
            for folded, _ in forms:
                for token in folded.split():
                    self._index[token].add(person.id)

    def match_record(self, record: Record) -> list[Match]:
        best: dict[str, Decision] = {}
        candidates: set[str] = set()
        folded_names = [(fold(n), n) for n in record.names]
        for folded, _ in folded_names:
            for token in folded.split():
                candidates |= self._index.get(token, set())
        folded_text = fold(record.text) if record.text else ""
        if folded_text:
            for token in set(folded_text.split()):
                candidates |= self._index.get(token, set())
        for pid in candidates:
            person = self.people[pid]
            decision = self._decide(
                person, folded_names, folded_text, record.birth_dates, record.nationalities
            )
            if decision.match:
                best[pid] = decision
        return [Match(pid, d.score, d.matched, d.via, d.explanation) for pid, d in sorted(best.items())]

    def decide(
        self,
        person: Person,
        *,
        name: str | None = None,
        text: str | None = None,
        birth_date: str | None = None,
        nationality: str | None = None,
    ) -> Decision:
        names = [(fold(name), name)] if name else []
        return self._decide(
            person,
            names,
            fold(text) if text else "",
            (birth_date,) if birth_date else (),
            (nationality,) if nationality else (),
        )

    def _decide(
        self,
        person: Person,
        names: list[tuple[str, str]],
        folded_text: str,
        birth_dates: Sequence[str],
        nationalities: Sequence[str],
    ) -> Decision:
        forms = self._forms.get(person.id) or [(fold(n), n) for n in person.names]
        score, matched, via, rule = 0.0, "", "", ""
        for folded, original in names:
            for pform, poriginal in forms:
                s = fuzz.token_sort_ratio(folded, pform) / 100
                if s > score:
                    score, matched, via, rule = s, original, poriginal, "name similarity"
        if folded_text:
            padded = f" {folded_text} "
            for pform, poriginal in forms:
                if f" {pform} " in padded and score < 1.0:
                    score, matched, via, rule = 1.0, pform, poriginal, "full name in text"
        notes = [f"{rule} {score:.2f}: '{matched}' ~ '{via}'"] if rule else ["no name form met"]
        if person.birth_date and birth_dates:
            if any(_dates_agree(person.birth_date, d) for d in birth_dates):
                notes.append(f"birth date agrees ({person.birth_date})")
            else:
                score *= 0.5
                notes.append(f"birth date conflicts ({', '.join(birth_dates)} vs {person.birth_date})")
        if person.nationalities and nationalities and not set(person.nationalities) & set(nationalities):
            score *= 0.8
            notes.append(f"nationality differs ({', '.join(nationalities)})")
        return Decision(score >= self.threshold, round(score, 3), matched, via, "; ".join(notes))


def _dates_agree(a: str, b: str) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]
