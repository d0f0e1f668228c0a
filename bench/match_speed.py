"""Matcher throughput: 10,000 watched people against 100,000 published names and 10,000 news paragraphs.

Usage: python bench/match_speed.py [--people 10000] [--names 100000] [--paragraphs 10000] [--seed 7]
                                   [--farm] [--caption "R v "]

Names are generated (syllables with onset clusters and codas, 70 common given names, Slavic, Turkic,
Arabic, Persian and Georgian surname endings, a Cyrillic alias for a third of the people), so many people
share given names and surname endings, as on a real watchlist. About 2% of published names and paragraphs are variants of watched people (case,
order, transliteration, typo, inflected surname) so the matching path is exercised, not only the index.
With --farm the watchlist is low-diversity instead: people drawn from bench/farm.py's 20 given names x
24 x 24 surnames (`person_name`), and so are the published names. --caption puts words before every
published name, as court lists do ("R v Amina Abenov").
Prints build time, throughput (with the time per record that matched nobody and per record that
matched someone), matches found and peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.farm import person_name
from watcher.match import Matcher
from watcher.models import Person, Record

GIVEN = (
    "Ivan Sergei Aleksandr Dmitry Andrei Nikolai Pavel Yury Oleg Igor Viktor Roman Maksim Timur Ruslan "
    "Marat Askar Nurlan Yerlan Daniyar Azamat Bakhyt Aidar Murat Emin Orkhan Ramiz Zaur Rashad Elnur "
    "Ali Omar Ahmed Youssef Ibrahim Khaled Hassan Hussein Mahmoud Karim Farhad Reza Hamid Majid Behrouz "
    "Olga Natalia Elena Irina Svetlana Tatyana Maria Yulia Anna Dinara Aigerim Gulnara Leyla Aytan "
    "Fatima Aisha Zainab Maryam Zahra Leila Nadia Rana Salma Khadija"
).split()
ONSETS = "b d f g k l m n p r s t v z sh kh ch zh ts br dr gr kr st tr sm sn pl"
VOWELS = "a e i o u y a e o"
CODAS = ("", "", "", "n", "r", "l", "m", "s", "k", "t", "sh", "d")
ENDINGS = ("ov", "ev", "in", "enko", "uk", "ski", "zade", "yan", "shvili", "i", "bekov", "ullin", "")
CYR = dict(zip("abvgdezijklmnoprstufhc", "абвгдезийклмнопрстуфхц", strict=True))
TEMPLATES = (
    "Border guards stopped {name} at the airport on Monday. He was released after questioning.",
    "Selon ses avocats, {name} risque l'extradition. La défense dénonce une procédure politique.",
    "Суд заочно арестовал имущество {name}. Адвокат назвал решение политически мотивированным.",
    "The ministry said on Tuesday that {name} and {other} would attend the conference in Vienna.",
)


def surname(rng: random.Random) -> str:
    onsets, vowels = ONSETS.split(), VOWELS.split()
    syllables = [
        rng.choice(onsets) + rng.choice(vowels) + rng.choice(CODAS) for _ in range(rng.randint(2, 3))
    ]
    stem = "".join(syllables)
    return (stem + rng.choice(ENDINGS)).capitalize()


def cyrillic(name: str) -> str:
    out = name.lower()
    for lat, cyr in (("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("y", "ы")):
        out = out.replace(lat, cyr)
    return " ".join(w.capitalize() for w in "".join(CYR.get(c, c) for c in out).split())


def people(n: int, rng: random.Random) -> list[Person]:
    out = []
    for i in range(n):
        name = f"{rng.choice(GIVEN)} {surname(rng)}"
        aliases = (cyrillic(name),) if i % 3 == 0 else ()
        year = rng.randint(1950, 2000)
        out.append(Person(id=f"p{i}", name=name, aliases=aliases, birth_date=f"{year}"))
    return out


def variant(person: Person, rng: random.Random) -> str:
    given, family = person.name.split(" ", 1)
    choice = rng.randrange(4)
    if choice == 0:
        return f"{family.upper()} {given}"
    if choice == 1 and person.aliases:
        return person.aliases[0]
    if choice == 2:
        i = rng.randrange(2, len(family))
        return f"{given} {family[:i]}{family[i]}{family[i:]}"  # doubled letter
    return f"{given[0]}. {family}"


def farm_people(n: int, rng: random.Random) -> list[Person]:
    return [Person(id=f"p{i}", name=person_name(i)) for i in rng.sample(range(11_520), n)]


def timed(matcher: Matcher, records: list[Record]) -> tuple[float, float, int, float, int]:
    """Total seconds; seconds and count of records matching nobody; of records matching someone."""
    clock, total, idle, idle_n, busy, found = time.perf_counter, 0.0, 0.0, 0, 0.0, 0
    for record in records:
        start = clock()
        n = len(matcher.match_record(record))
        took = clock() - start
        total += took
        found += n
        if n:
            busy += took
        else:
            idle, idle_n = idle + took, idle_n + 1
    return total, idle / max(idle_n, 1), found, busy / max(len(records) - idle_n, 1), len(records) - idle_n


def report(what: str, count: int, figures: tuple[float, float, int, float, int]) -> None:
    total, idle, found, busy, matched = figures
    print(
        f"{count:,} {what}: {total:.2f} s, {count / total:,.0f} records/s, {total / count * 1e6:.0f} µs per record "
        f"({idle * 1e6:.0f} µs matching nobody, {busy * 1e6:.0f} µs for each of {matched:,} matching), "
        f"{found:,} matches"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--farm", action="store_true", help="a low-diversity watchlist (bench/farm.py names)")
    parser.add_argument("--caption", default="", help='words before each published name, e.g. "R v "')
    args = parser.parse_args()
    rng = random.Random(args.seed)
    make = farm_people if args.farm else people
    watchlist = make(args.people, rng)
    others = make(
        min(args.names // 5, 11_520) if args.farm else args.names // 5, random.Random(args.seed + 1)
    )

    start = time.perf_counter()
    matcher = Matcher(watchlist)
    build = time.perf_counter() - start
    print(f"index of {len(watchlist):,} people built in {build:.2f} s")

    names = [variant(rng.choice(watchlist), rng) if rng.random() < 0.02 else rng.choice(others).name
             for _ in range(args.names)]  # fmt: skip
    records = [Record(key=str(i), title=n, names=(args.caption + n,)) for i, n in enumerate(names)]
    report("names", len(records), timed(matcher, records))

    texts = []
    for _ in range(args.paragraphs):
        who = rng.choice(watchlist).name if rng.random() < 0.02 else rng.choice(others).name
        texts.append(rng.choice(TEMPLATES).format(name=who, other=rng.choice(others).name))
    records = [Record(key=f"t{i}", title="news", text=text) for i, text in enumerate(texts)]
    report("paragraphs", len(records), timed(matcher, records))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
