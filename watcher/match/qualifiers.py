"""What besides the name speaks for or against: birth dates, nationalities, case numbers.

Absent data is neutral. Dates are compared at the precision both sides have ("1974" agrees with
"1974-05-21"); a conflict makes a namesake, not a match. A nationality conflict lowers the score (people
change or add citizenship, sources get it wrong), an agreement raises it a little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

DATE_FULL_AGREES = 0.08
DATE_YEAR_AGREES = 0.05
DATE_CONFLICT_FACTOR = 0.5
NATIONALITY_AGREES = 0.02
NATIONALITY_CONFLICT_FACTOR = 0.85
CASE_LABELS = frozenset({"no", "nr", "n", "num", "number", "case", "application", "app", "docket", "notice"})


@dataclass(frozen=True, slots=True)
class Qualifier:
    """One qualifier's effect on the score and the words that say so."""

    add: float = 0.0
    factor: float = 1.0
    note: str = ""

    def apply(self, score: float) -> float:
        return min(1.0, max(0.0, score * self.factor + self.add))


def birth_date(watched: str | None, published: Sequence[str]) -> Qualifier:
    """Agreement of the watched birth date with any published one, at their common precision."""
    dates = [d for d in published if d]
    if not watched or not dates:
        return Qualifier()
    for date in dates:
        n = min(len(watched), len(date))
        if watched[:n] == date[:n]:
            add = DATE_FULL_AGREES if n >= 10 else DATE_YEAR_AGREES
            return Qualifier(add=add, note=f"birth date {date} agrees with {watched}")
    return Qualifier(
        factor=DATE_CONFLICT_FACTOR,
        note=f"birth date {', '.join(dates)} conflicts with {watched}: a namesake",
    )


def nationality(watched: Sequence[str], published: Sequence[str]) -> Qualifier:
    """Agreement of nationalities (ISO alpha-2); any shared one agrees."""
    mine = {n.upper() for n in watched}
    theirs = {n.upper() for n in published if n}
    if not mine or not theirs:
        return Qualifier()
    shared = sorted(mine & theirs)
    if shared:
        return Qualifier(add=NATIONALITY_AGREES, note=f"nationality {', '.join(shared)} agrees")
    return Qualifier(
        factor=NATIONALITY_CONFLICT_FACTOR,
        note=f"nationality {', '.join(sorted(theirs))} differs from {', '.join(sorted(mine))}",
    )


@lru_cache(maxsize=4096)
def case_number_pattern(number: str) -> re.Pattern[str] | None:
    """A case number as a pattern: any separators between its parts ("No. 12345/19" = "12345-19"),
    whole parts only (12345 is not found in 123456)."""
    parts = re.findall(r"[^\W_]+", number)
    while len(parts) > 1 and parts[0].casefold() in CASE_LABELS:
        parts = parts[1:]
    if sum(len(p) for p in parts) < 4:
        return None
    body = r"[\W_]*".join(re.escape(p) for p in parts)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def case_number_found(numbers: Iterable[str], fields: Mapping[str, str], text: str) -> tuple[str, str] | None:
    """The first watched case number found in a record's fields or text: (number, where)."""
    places = [(name, value) for name, value in fields.items() if value]
    if text:
        places.append(("text", text))
    for number in numbers:
        pattern = case_number_pattern(number)
        if pattern is None:
            continue
        for where, value in places:
            if pattern.search(value):
                return number, where
    return None
