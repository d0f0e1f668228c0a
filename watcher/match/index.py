"""The watchlist as an inverted index, so a record meets only plausible people, and cheaply.

A word's block (`keys.block`) is the coarse consonant classes of its spelling keys: what survives every
transliteration system, soft spelling variant and abjad spelling. Each distinct watched word is indexed
once: under its blocks behind its first letters (`compare` keeps the first letter, or swaps it softly,
once past its strong rules); under its spellings with one letter left out (`slips`: two words a
keyboard slip apart share one); and under the stems its keys leave without a suffix or a patronymic
ending, and their beginnings (`stems`: what the suffix, short-form and patronymic rules compare).

A published word is looked up once (`Hits`, cached per word: court lists and news repeat words); the
watched words it meets so are kept only if `compare` agrees, with the forms they stand in and where.

A form is a candidate when two published words meet two *different* words of it that can make a match
(given name and surname, `align.essentials`), one of them exactly (`judge` allows one typo, suffix or
short form in a name). A person sharing only a surname or a given name is never compared; nor is a
name whose two words meet one watched word (Ivan Ivanov against Ivan Petrov). Single-word forms, and
forms with initials, are met by one word; a published initial may stand for a watched word with its
first letter next to a published word meeting another exactly (Y. Hamad).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from watcher.match.align import Comparer, essentials
from watcher.match.cognates import group_of
from watcher.match.compare import (
    NATIONAL_SUFFIXES,
    PATRONYMIC_SUFFIXES,
    SOFT_FIRST_OF,
    SURNAME_SUFFIXES,
    compare,
)
from watcher.match.keys import SOFT, blocks
from watcher.match.normalize import Token, make_token
from watcher.match.text import text_compare


@lru_cache(maxsize=8192)  # a published word's blocks are asked once: its hits are cached
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


@lru_cache(maxsize=32768)
def slips(token: Token) -> frozenset[str]:
    """The word as typed, its first readings and its keys, each whole and with one letter left out
    (never the first): two words one keyboard slip apart share one of these (`compare.typo`)."""
    whole = {w for w in (token.plain, *token.keys, *token.readings[:2]) if len(w) >= 3}
    return frozenset(x for w in whole for x in (w, *(w[:i] + w[i + 1 :] for i in range(1, len(w)))))


def stems(token: Token, *, watched: bool) -> frozenset[str]:
    """What `compare.suffix` needs two keys to share (Sadyk, Sadykuly, Sadykov, Azamatovich, Azamat):
    a published key that begins a watched one ("<"); the stem left by a watched surname suffix and
    by a published national one ("="); the stems left by patronymic endings, or the whole key ("p")."""
    out: set[str] = set()
    for k in token.keys:
        if watched:
            out.update("<" + k[:n] for n in range(4, len(k) - 1))
            out.update("=" + k[: -len(e)] for e in SURNAME_SUFFIXES if k.endswith(e))
        else:
            out.add("<" + k)
            out.update("=" + k[: -len(e)] for e in NATIONAL_SUFFIXES if k.endswith(e))
        out.add("p" + k)
        out.update("p" + k[: -len(e)] for e in PATRONYMIC_SUFFIXES if k.endswith(e))
    return frozenset(x for x in out if len(x) >= 5)


def first_letters(token: Token) -> frozenset[str]:
    """First letters of a word under every reading and key (what `compare.initials` compares)."""
    return frozenset({k[0] for k in token.keys if k} | {r[0] for r in token.readings if r})


def _watched_letters(token: Token) -> frozenset[str]:
    """The first letters a published word must have for `compare` to go past its strong rules: the
    watched word's, or a soft partner; "*" for any, where `compare` skips that check (an abjad, or two
    words in the same other script)."""
    if token.script == "arabic":
        return frozenset("*")
    out = {b for a in token.firsts for b in SOFT_FIRST_OF.get(a, ())} | token.firsts
    return frozenset(out | ({"*"} if token.script not in ("latin", "cyrillic") else set()))


def _lettered(marks: Iterable[str], blocks_of: Iterable[str]) -> list[str]:
    """Posting keys: a block behind each first letter, except cognate groups (Hanna = Anna)."""
    out: list[str] = []
    for b in blocks_of:
        if b[:1] == "@":
            out.append(b)
        else:
            out.extend(f"{m}:{b}" for m in marks)
    return out


def _soft_letters(letters: frozenset[str]) -> set[str]:
    """Letters and their soft partners (`keys.SOFT`): an initial K. may stand for Gulnara."""
    out = set(letters)
    for pair in SOFT:
        if pair & letters:
            out |= pair
    return out


def words_of(tokens: Sequence[Token]) -> list[Token]:
    """Name words, and short words joined with their neighbour (Abdul-Lah, al Najjar, Hossein-Zadeh)."""
    return [w for w, _ in words_at(tokens)]


Placed = tuple[Token, tuple[int, ...]]  # a word and the positions of the tokens it is made of
JOIN_LENGTH = 6


def words_at(tokens: Sequence[Token]) -> list[Placed]:
    """`words_of`, each with the positions of the tokens it is made of."""
    named: list[Placed] = [(t, (i,)) for i, t in enumerate(tokens) if not t.particle and not t.initial]
    kept = [(i, t) for i, t in enumerate(tokens) if not t.initial]
    joined = [
        (make_token(a.text + b.text), (i, j))
        for (i, a), (j, b) in itertools.pairwise(kept)
        if a.script == b.script and not b.particle and (a.particle or len(b.plain) <= JOIN_LENGTH)
    ]
    return named + joined


Masks = dict[int, int]  # watched slot -> bit mask of the form's words met (bit i: words_of(form)[i])
Valid = tuple[tuple[int, int], ...] | None  # the word pairs (as bits) that can make a match; None: any


@dataclass(frozen=True, slots=True)
class Hits:
    """What one published word meets exactly (blocks intact): per slot, the form's words met; the same
    slots as a set, for intersections in C; and single-word forms (by blocks only). What it meets at
    all (`BlockIndex.loose`) is asked only next to a word met exactly: most words never need it."""

    exact: Masks
    exact_slots: frozenset[int]
    solo: frozenset[int]


NO_HITS = Hits({}, frozenset(), frozenset())


def _two(a: int, b: int, valid: Valid) -> bool:
    """Masks that pick two different watched words, one from each, that together can make a match."""
    if valid is None:
        return bool(a and b and (a != b or a & (a - 1)))
    return any((a & x and b & y) or (a & y and b & x) for x, y in valid)


def _valid_pairs(tokens: Sequence[Token], placed: Sequence[Placed]) -> Valid:
    """Word pairs that cover a given name and a surname (`align.essentials`): `judge` stops at once
    when either is not met, so a record meeting only a middle name and a surname is not compared."""
    options = essentials(tokens)
    pairs = list(itertools.combinations(range(len(placed)), 2))
    valid = [(x, y) for x, y in pairs if any(m <= {*placed[x][1], *placed[y][1]} for m in options)]
    return None if len(valid) == len(pairs) else tuple((1 << x, 1 << y) for x, y in valid)


def _gather(keys: Iterable[str], postings: dict[str, tuple[int, ...]]) -> set[int]:
    out: set[int] = set()
    for k in keys:
        out.update(postings.get(k, ()))
    return out


K = TypeVar("K")
V = TypeVar("V")


def _bounded(cache: dict[K, V], key: K, make: Callable[[K], V], size: int) -> V:
    """`cache[key]`, made on a miss; the whole cache is dropped once it holds `size` entries."""
    found = cache.get(key)
    if found is None:
        if len(cache) >= size:
            cache.clear()
        found = cache[key] = make(key)
    return found


def _merge(*masks: Masks) -> Masks:
    out: Masks = {}
    for m in masks:
        for slot, bits in m.items():
            out[slot] = out.get(slot, 0) | bits
    return out


class BlockIndex:
    """Watched words by blocking key; where each stands: (person, form) slots and places in them."""

    CACHE_SIZE = 50_000
    DIRECT_SLOTS = 8  # forms whose words are compared one by one before the slip and stem postings pay off

    def __init__(self, forms: Sequence[Sequence[tuple[Token, ...]]]) -> None:
        self.slots: list[tuple[int, int]] = [(p, f) for p, fs in enumerate(forms) for f in range(len(fs))]
        ids: dict[Token, int] = {}  # each distinct watched word once (forms share interned tokens)
        places: list[list[tuple[int, int]]] = []  # word id -> (slot, bit) where it stands
        solo: dict[str, set[int]] = defaultdict(set)
        self._valid: list[Valid] = []
        self._words: list[tuple[Token, ...]] = []
        self._alone: set[int] = set()
        for slot, tokens in enumerate(tokens for fs in forms for tokens in fs):
            placed = words_at(tokens)
            self._words.append(tuple(w for w, _ in placed))
            self._valid.append(_valid_pairs(tokens, placed))
            if len([t for t in tokens if not t.particle]) == 1 or any(t.initial for t in tokens):
                self._alone.add(slot)
                for b in {b for w, _ in placed for b in word_blocks(w)}:
                    solo[b].add(slot)
            for i, (w, _) in enumerate(placed):
                if w not in ids:
                    ids[w] = len(ids)
                    places.append([])
                places[ids[w]].append((slot, 1 << i))
        exact: dict[str, list[int]] = defaultdict(list)
        typos: dict[str, list[int]] = defaultdict(list)  # one slip apart
        starts: dict[str, list[int]] = defaultdict(list)
        for w, n in ids.items():
            marks = _watched_letters(w)
            for k in _lettered(marks, word_blocks(w)):
                exact[k].append(n)
            for k in slips(w):
                typos[k].append(n)
            for k in stems(w, watched=True):
                starts[k].append(n)
        self._vocabulary = list(ids)
        self._places = [tuple(p) for p in places]
        self._exact = {k: tuple(v) for k, v in exact.items()}
        self._typos = {k: tuple(v) for k, v in typos.items()}
        self._starts = {k: tuple(v) for k, v in starts.items()}
        soft = {w: frozenset(_soft_letters(first_letters(w))) for w in ids}
        self._initials = [tuple(soft[w] for w in words) for words in self._words]  # letters an initial may be
        self._marks = frozenset(k.partition(":")[0] for k in exact) - {""}
        self._solo = {k: frozenset(v) for k, v in solo.items()}
        self._cache: dict[Token, Hits] = {}
        self._loose_cache: dict[Token, Masks] = {}

    def name_candidates(self, tokens: Sequence[Token]) -> set[int]:
        """Slots that a published name meets with two words, one of them exactly; with one word
        (single-word forms); or with an initial and a word met exactly."""
        placed = words_at(tokens)
        found = self._blocked_name(tokens, placed)
        if not found:
            return found
        units = [*(w for w, _ in placed), *(t for t in tokens if t.initial)]
        return {s for s in found if self._confirm(s, units, compare)}

    def text_candidates(self, tokens: Sequence[Token], more: Callable[[Token], Sequence[Token]]) -> set[int]:
        """Slots that a capitalised run of text meets with two words, each met exactly and confirmed
        by `text.text_compare` (strong rules, or an inflected form).

        `more(word)`: more readings of a word (nominatives of an inflected word); a word and its own
        nominative never make a pair.
        """
        placed = words_at(tokens)
        found = self._blocked_text(placed, more)
        if not found:
            return found
        return {s for s in found if self._confirm(s, [w for w, _ in placed], text_compare)}

    def hits(self, token: Token) -> Hits:
        """What a published word meets exactly (cached: court lists and news repeat words)."""
        return _bounded(self._cache, token, self._hits, self.CACHE_SIZE)

    def _hits(self, token: Token) -> Hits:
        blocks_of = word_blocks(token)
        if not blocks_of:
            return NO_HITS
        solo = frozenset().union(*(self._solo.get(b, ()) for b in blocks_of))
        vocabulary = self._vocabulary
        met = [n for n in self._exact_words(token) if compare(vocabulary[n], token) is not None]
        if not (met or solo):
            return NO_HITS
        masks = self._masks(met)
        return Hits(masks, frozenset(masks), solo)

    def _masks(self, words: Iterable[int]) -> Masks:
        out: Masks = {}
        for n in words:
            for slot, bit in self._places[n]:
                out[slot] = out.get(slot, 0) | bit
        return out

    def loose(self, token: Token, slots: frozenset[int]) -> Masks:
        """What a published word meets at all (exactly, or by a typo, a suffix, a variant) in these slots.
        Few slots (the usual case): their words are compared directly. Many: the word's spellings one
        slip apart and its stems are looked up (cached), then compared."""
        if not token.keys or token.initial or token.particle:
            return {}
        if len(slots) <= self.DIRECT_SLOTS:
            out: Masks = {}
            for slot in slots:
                bits = sum(1 << i for i, w in enumerate(self._words[slot]) if compare(w, token) is not None)
                if bits:
                    out[slot] = bits
            return out
        found = _bounded(self._loose_cache, token, self._loose_all, self.CACHE_SIZE)
        return {s: found[s] for s in found.keys() & slots}

    def _loose_all(self, token: Token) -> Masks:
        near = (
            self._exact_words(token)
            | _gather(slips(token), self._typos)
            | _gather(stems(token, watched=False), self._starts)
        )
        vocabulary = self._vocabulary
        return self._masks(n for n in near if compare(vocabulary[n], token) is not None)

    def _exact_words(self, token: Token) -> set[int]:
        """Watched words sharing a block of the published word behind a first letter `compare` allows."""
        marks = self._marks if token.script == "arabic" else token.firsts | {"*"}
        return _gather(_lettered(marks, word_blocks(token)), self._exact)

    def _confirm(self, slot: int, units: Sequence[Token], comparer: Comparer) -> bool:
        """Do two different published words meet two watched words that can make a match (one, for a
        single-word form)? What `align.judge` checks first, without aligning."""
        words = self._words[slot]
        met = [sum(1 << j for j, u in enumerate(units) if comparer(x, u) is not None) for x in words]
        if slot in self._alone:
            return any(met)
        valid = self._valid[slot]
        if valid is None:
            return any(_two(met[x], met[y], None) for x, y in itertools.combinations(range(len(met)), 2))
        return any(_two(met[x.bit_length() - 1], met[y.bit_length() - 1], None) for x, y in valid)

    def _blocked_name(self, tokens: Sequence[Token], placed: Sequence[Placed]) -> set[int]:
        found: set[int] = set()
        words = [(w, self.hits(w), set(at)) for w, at in placed]
        for _, h, _ in words:
            found |= h.solo
        exact = [(w, h, at) for w, h, at in words if h.exact]
        if not exact:
            return found  # every pair needs one word met exactly
        for u_word, u, u_at in exact:
            for v_word, _, v_at in words:
                if v_word is not u_word and not u_at & v_at:  # a joined word and a word of it: one reading
                    found |= self._pairs(u, self.loose(v_word, u.exact_slots))
        if any(t.initial for t in tokens):
            for t in tokens:
                if t.initial:
                    found |= self._initial_pairs(t, [h for _, h, _ in exact])
        return found

    def _blocked_text(self, placed: Sequence[Placed], more: Callable[[Token], Sequence[Token]]) -> set[int]:
        found: set[int] = set()
        exact: list[tuple[Masks, set[int]]] = []
        for w, at in placed:
            all_hits = [self.hits(w), *(self.hits(m) for m in more(w))]
            for h in all_hits:
                found |= h.solo
            masks = [h.exact for h in all_hits if h.exact]
            if masks:
                exact.append((masks[0] if len(masks) == 1 else _merge(*masks), set(at)))
        for i, (u, u_at) in enumerate(exact):
            for v, v_at in exact[i + 1 :]:
                if not u_at & v_at:
                    found.update(s for s in u.keys() & v.keys() if _two(u[s], v[s], self._valid[s]))
        return found

    def _pairs(self, u: Hits, v_loose: Masks) -> set[int]:
        """Slots where a published word met exactly and another met at all meet two different words."""
        return {s for s, bits in v_loose.items() if _two(u.exact[s], bits, self._valid[s])}

    def _initial_pairs(self, initial: Token, words: Sequence[Hits]) -> set[int]:
        """Slots where an initial stands for one watched word and a published word meets another exactly
        (looked for among the few forms the word meets, not the many words the letter begins)."""
        letters = first_letters(initial)
        out: set[int] = set()
        for h in words:
            for s, bits in h.exact.items():
                if s not in out:
                    mask = sum(1 << i for i, found in enumerate(self._initials[s]) if found & letters)
                    if _two(mask, bits, self._valid[s]):
                        out.add(s)
        return out
