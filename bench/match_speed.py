"""Matcher throughput: 10,000 watched people against 100,000 published names and 10,000 news paragraphs.

Usage: python bench/match_speed.py [--people 10000] [--names 100000] [--paragraphs 10000] [--seed 7]

Names are generated (syllables with onset clusters and codas, 70 common given names, Slavic, Turkic,
Arabic, Persian and Georgian surname endings, a Cyrillic alias for a third of the people), so many people
share given names and surname endings, as on a real watchlist. About 2% of published names and paragraphs are variants of watched people (case,
order, transliteration, typo, inflected surname) so the matching path is exercised, not only the index.
Prints build time, throughput, matches found and peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    watchlist = people(args.people, rng)
    others = people(args.names // 5, random.Random(args.seed + 1))

    start = time.perf_counter()
    matcher = Matcher(watchlist)
    build = time.perf_counter() - start
    print(f"index of {len(watchlist):,} people built in {build:.2f} s")

    names = [variant(rng.choice(watchlist), rng) if rng.random() < 0.02 else rng.choice(others).name
             for _ in range(args.names)]  # fmt: skip
    start, found = time.perf_counter(), 0
    for i, name in enumerate(names):
        found += len(matcher.match_record(Record(key=str(i), title=name, names=(name,))))
    elapsed = time.perf_counter() - start
    print(f"{len(names):,} names: {elapsed:.2f} s, {len(names) / elapsed:,.0f} records/s, "
          f"{elapsed / len(names) * 1e6:.0f} µs per record, {found:,} matches")  # fmt: skip

    texts = []
    for _ in range(args.paragraphs):
        who = rng.choice(watchlist).name if rng.random() < 0.02 else rng.choice(others).name
        texts.append(rng.choice(TEMPLATES).format(name=who, other=rng.choice(others).name))
    start, found = time.perf_counter(), 0
    for i, text in enumerate(texts):
        found += len(matcher.match_record(Record(key=f"t{i}", title="news", text=text)))
    elapsed = time.perf_counter() - start
    print(f"{len(texts):,} paragraphs: {elapsed:.2f} s, {len(texts) / elapsed:,.0f} records/s, "
          f"{elapsed / len(texts) * 1e6:.0f} µs per record, {found:,} matches")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
