"""The watchlist as an inverted index of blocking keys, so a record meets only plausible people.

A word's block (`keys.block`) is the coarse consonant classes of its spelling keys: what survives every
transliteration system, soft spelling variant and abjad spelling. A name is indexed under each *pair*
of its words' blocks (given name with surname, in any order), and, so that one typo still finds its
person, under pairs where one block has a consonant class deleted. Joined neighbours (Abdul-Lah) count
as words too. A record's words are looked up the same way, so a candidate shares two words with a watched
form: a person sharing only a surname or only a given name is never compared. Single-word forms and
records with initials (Y. Hamad) are looked up by single words.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

from watcher.match.cognates import group_of
from watcher.match.keys import blocks
from watcher.match.normalize import Token, make_token


@lru_cache(maxsize=131072)
def word_blocks(token: Token) -> frozenset[str]:
    """Blocking keys of one word: consonant classes of each key, and its cognate group."""
    if token.initial or token.particle:
        return frozenset()
    out = {b for k in token.keys for b in blocks(k)} - {""}
    if token.script == "arabic":  # the abjad writes no initial vowel: Aisha, عائشة
        out |= {"V" + b for b in out}
    for k in token.keys:
        g = group_of(k)
        if g is not None:
            out.add(f"@{g}")
    return frozenset(out)


@lru_cache(maxsize=131072)
def replaced_blocks(token: Token) -> frozenset[str]:
    """Blocks with one consonant class blanked: one struck key leaves the rest in place."""
    out: set[str] = set()
    for b in word_blocks(token):
        body = b.lstrip("V")
        if len(body) >= 3 and not b.startswith("@"):
            head = b[: len(b) - len(body)]
            out.update(head + body[:i] + "_" + body[i + 1 :] for i in range(len(body)))
    return frozenset(out)


@lru_cache(maxsize=131072)
def head_blocks(token: Token) -> frozenset[str]:
    """The proper beginnings of a watched word's blocks, marked "<": a published short form or a
    surname without its suffix is one of them (Bota, Sadyk for Botagoz, Sadykov)."""
    out: set[str] = set()
    for b in word_blocks(token):
        if b[:1] != "@":
            out.update("<" + b[:n] for n in range(2 + (b[:1] == "V"), len(b)))
    return frozenset(out)


@lru_cache(maxsize=131072)
def stem_blocks(token: Token) -> frozenset[str]:
    """The beginnings (three classes or more) of a published word's blocks: the watched surname when a
    national suffix or a patronymic ending was added (Maratuly, Azamatovich for Maratov, Azamat)."""
    out: set[str] = set()
    for b in word_blocks(token):
        if b[:1] != "@":
            out.update(b[:n] for n in range(3 + (b[:1] == "V"), len(b)))
    return frozenset(out)


@lru_cache(maxsize=131072)
def dropped_blocks(token: Token, shortest: int = 3) -> frozenset[str]:
    """Blocks with one consonant class dropped: a name that lost a consonant (or the published one
    that gained one by a slip: Msnsur, Shharifi)."""
    out: set[str] = set()
    for b in word_blocks(token):
        body = b.lstrip("V")
        if len(body) >= shortest and not b.startswith("@"):
            head = b[: len(b) - len(body)]
            out.update(head + body[:i] + body[i + 1 :] for i in range(len(body)))
    return frozenset(out)


def words_of(tokens: Sequence[Token]) -> list[Token]:
    """Name words, and short words joined with their neighbour (Abdul-Lah, al Najjar, Hossein-Zadeh)."""
    named = [t for t in tokens if not t.particle and not t.initial]
    joined = [
        make_token(a.text + b.text)
        for a, b in itertools.pairwise(t for t in tokens if not t.initial)
        if a.script == b.script and not b.particle and (a.particle or len(b.plain) <= JOIN_LENGTH)
    ]
    return named + joined


JOIN_LENGTH = 6


def _pair(a: str, b: str) -> str:
    return f"{a}|{b}" if a <= b else f"{b}|{a}"


def pair_keys(words: Sequence[Token], *, typos: bool, watched: bool = False) -> set[str]:
    """Keys for every two words: both blocks intact or, with `typos`, one of them changed: a consonant
    blanked (both sides), dropped or cut to a beginning (watched side), extended (published side)."""
    out: set[str] = set()
    for x, y in itertools.combinations(words, 2):
        bx, by = word_blocks(x), word_blocks(y)
        out.update(_pair(a, b) for a in bx for b in by)
        if not typos:
            continue
        for one, other in ((x, by), (y, bx)):
            changed = replaced_blocks(one)
            if watched:
                changed |= dropped_blocks(one) | head_blocks(one)
            else:
                changed |= stem_blocks(one) | dropped_blocks(one, 4)
                changed |= {"<" + b for b in word_blocks(one) if b[:1] != "@" and len(b) <= 3}
            out.update(_pair(a, b) for a in changed for b in other)
    return out


Slot = tuple[int, int]  # (person, form)


class BlockIndex:
    """Blocking key -> the watched (person, form) pairs that carry it."""

    def __init__(self, forms: Sequence[Sequence[tuple[Token, ...]]]) -> None:
        pairs: dict[str, set[Slot]] = defaultdict(set)
        singles: dict[str, set[Slot]] = defaultdict(set)
        for person, person_forms in enumerate(forms):
            for form, tokens in enumerate(person_forms):
                slot = (person, form)
                words = words_of(tokens)
                for key in pair_keys(words, typos=True, watched=True):
                    pairs[key].add(slot)
                for w in words:  # for records with initials, and single-word names
                    for b in word_blocks(w):
                        singles[b].add(slot)
                if len([t for t in tokens if not t.particle]) == 1:
                    for b in word_blocks(tokens[0]):
                        pairs["1|" + b].add(slot)
        self._pairs = {k: tuple(v) for k, v in pairs.items()}
        self._singles = {k: tuple(v) for k, v in singles.items()}

    def candidates(self, tokens: Sequence[Token], *, typos: bool, extra: Iterable[Token] = ()) -> set[Slot]:
        """Forms sharing two words with the record's name (one, for initials or single-word forms).

        `extra` are more readings of the same words (nominatives of inflected words in text).
        """
        words = words_of(tokens) + list(extra)
        found: set[Slot] = set()
        for key in pair_keys(words, typos=typos):
            found.update(self._pairs.get(key, ()))
        for w in words:
            for b in word_blocks(w):
                found.update(self._pairs.get("1|" + b, ()))
        if any(t.initial for t in tokens):
            for w in words:
                for b in word_blocks(w):
                    found.update(self._singles.get(b, ()))
        return found
