"""Is this word the same name as that one? One watched token against one published token.

Rules, strongest first: exact after folding; same spelling key (another transliteration system); same
consonant skeleton across an abjad script; listed cognate (Piatro = Pyotr); spelling variants
(ə as a or e, Belarusian a for o, Ukrainian h for g, German s for z: `keys.SOFT`); one keyboard typo
(a letter dropped, doubled, two swapped, a neighbouring key struck; never the first letter); a dropped
or national surname suffix (Sadyk, Sadykuly for Sadykov); a patronymic form (Azamat uulu = Azamatovich);
an initial. Any other difference, however small, makes a different name: Khalil is not Khalid, Dudayev is
not Dadayev, Zubkova is not Zubova.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import OSA, Levenshtein

from watcher.match.keys import SOFT, SOFT_FIRST, SOFT_INDEL
from watcher.match.normalize import Token

KEYBOARD_ROWS = (
    ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"),
)
SURNAME_SUFFIXES = frozenset({"ov", "ova", "in", "ina", "ian"})
NATIONAL_SUFFIXES = frozenset({"uli", "iuli", "ulu", "uulu", "kizi", "kiSi", "zade"})  # -uly for -ov
PATRONYMIC_SUFFIXES = frozenset({"oviC", "aviC", "iC", "ovna", "auna", "iCna", "ivna", "uli", "ulu", "kizi"})
STRONG = frozenset({"exact", "transliteration", "cognate", "variant", "skeleton"})


def _neighbours() -> dict[str, frozenset[str]]:
    near: dict[str, set[str]] = {}
    for rows in KEYBOARD_ROWS:
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                cells = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c), (r + 1, c - 1)]
                near[ch] = {rows[i][j] for i, j in cells if 0 <= i < 3 and 0 <= j < len(rows[i])}
    return {ch: frozenset(n) for ch, n in near.items()}


KEYBOARD = _neighbours()
_MISSING = object()
_NONE: frozenset[str] = frozenset()
SOFT_FIRST_OF = {
    a: frozenset(b for pair in SOFT_FIRST if a in pair for b in pair if b != a) for p in SOFT_FIRST for a in p
}


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """How one watched token met one published token."""

    rule: str  # exact, transliteration, skeleton, cognate, variant, typo, suffix, patronymic, initial
    score: float
    detail: str = ""


_CACHE: dict[tuple[str, bool, tuple[str, ...], str, bool, tuple[str, ...]], TokenMatch | None] = {}
CACHE_SIZE = 100_000


def compare(q: Token, c: Token) -> TokenMatch | None:
    """The strongest rule under which published token `c` is watched token `q`, or None."""
    # Text, initial flag and keys identify a token's readings; hashing whole tokens would cost more.
    cache_key = (q.text, q.initial, q.keys, c.text, c.initial, c.keys)
    found = _CACHE.get(cache_key, _MISSING)
    if found is _MISSING:
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.clear()
        found = _CACHE[cache_key] = _compare(q, c)
    return found  # type: ignore[return-value]


def _compare(q: Token, c: Token) -> TokenMatch | None:
    if q.initial or c.initial:
        return initials(q, c)
    if q.folded == c.folded:
        return TokenMatch("exact", 1.0)
    if q.script == c.script and q.script not in ("latin", "cyrillic"):
        return typo(q.plain, c.plain) if q.script != "arabic" else _abjad_typo(q.plain, c.plain)
    if "arabic" in (q.script, c.script):
        return skeleton_match(q, c)
    if set(q.keys) & set(c.keys):
        detail = f"{q.script} to {c.script}" if q.script != c.script else "another spelling system"
        return TokenMatch("transliteration", 0.97, detail)
    group = q.group
    if group is not None and group == c.group:
        return TokenMatch("cognate", 0.93, "same name in a neighbouring language")
    if not q.firsts & c.firsts and not any(q.firsts & SOFT_FIRST_OF.get(b, _NONE) for b in c.firsts):
        return None  # every remaining rule keeps the first letter (or swaps it softly)
    return variant(q.keys, c.keys) or _any_typo(q, c) or suffix(q.keys, c.keys)


def initials(q: Token, c: Token) -> TokenMatch | None:
    """An initial against a word (or another initial): first letters agree under some reading."""
    if not q.keys or not c.keys:
        return None
    q_first = {k[0] for k in q.keys} | {r[0] for r in q.readings if r}
    c_first = {k[0] for k in c.keys} | {r[0] for r in c.readings if r}
    if q_first & c_first or any(frozenset((a, b)) in SOFT for a in q_first for b in c_first):
        return TokenMatch("initial", 0.8)
    return None


def skeleton_match(q: Token, c: Token) -> TokenMatch | None:
    """Across an abjad: the same consonants in the same order."""
    if q.skeletons & c.skeletons:
        return TokenMatch("skeleton", 0.88, "same consonants across scripts")
    return None


def variant(q_keys: tuple[str, ...], c_keys: tuple[str, ...]) -> TokenMatch | None:
    """Keys that differ only by a few soft substitutions or glides (ə/a/e, Belarusian a/o, h/g, s/z)."""
    best: TokenMatch | None = None
    for qk in q_keys:
        for ck in c_keys:
            limit = 1 + len(qk) // 4
            if abs(len(qk) - len(ck)) > 2 or min(len(qk), len(ck)) < 3:
                continue
            if Levenshtein.distance(qk, ck, score_cutoff=limit) > limit:
                continue
            found = _soft_edits(qk, ck)
            if found is not None and (best is None or found.score > best.score):
                best = found
    return best


def _soft_edits(a: str, b: str) -> TokenMatch | None:
    if a[0] != b[0] and frozenset((a[0], b[0])) not in SOFT_FIRST:
        return None
    notes = []
    for op in Levenshtein.editops(a, b):
        if op.tag == "replace" and frozenset((a[op.src_pos], b[op.dest_pos])) in SOFT:
            notes.append(f"{a[op.src_pos]}/{b[op.dest_pos]}")
        elif op.tag == "delete" and a[op.src_pos] in SOFT_INDEL:
            notes.append(f"'{a[op.src_pos]}' dropped")
        elif op.tag == "insert" and b[op.dest_pos] in SOFT_INDEL:
            notes.append(f"'{b[op.dest_pos]}' added")
        else:
            return None
    if not notes or len(notes) > 1 + len(a) // 4:
        return None
    return TokenMatch("variant", 0.95 - 0.02 * len(notes), ", ".join(notes))


def _any_typo(q: Token, c: Token) -> TokenMatch | None:
    """One typo between the words as typed, or between any two of their readings or keys."""
    pairs = [(q.plain, c.plain), *zip(q.keys, c.keys, strict=False)]
    pairs += [(qr, cr) for qr in q.readings[:2] for cr in c.readings[:2]]
    for a, b in dict.fromkeys(pairs):
        if abs(len(a) - len(b)) > 1 or a[:1] != b[:1] or OSA.distance(a, b, score_cutoff=1) > 1:
            continue
        found = typo(a, b)
        if found is not None:
            return found
    return None


def typo(a: str, b: str) -> TokenMatch | None:
    """One slip of the keyboard turning watched `a` into published `b`, never on the first letter."""
    if len(a) < 4 or len(b) < 3 or a == b or a[0] != b[0]:
        return None
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1 and b[diff[0]] in KEYBOARD.get(a[diff[0]], ()):
            return TokenMatch("typo", 0.86, f"'{b[diff[0]]}' struck for '{a[diff[0]]}'")
        if (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        ):
            return TokenMatch("typo", 0.86, f"'{a[diff[0]]}{a[diff[1]]}' swapped")
        return None
    if len(a) == len(b) + 1:
        i = _first_diff(a, b)
        if a[:i] + a[i + 1 :] == b:
            return TokenMatch("typo", 0.86, f"'{a[i]}' dropped")
    if len(b) == len(a) + 1:
        j = _first_diff(a, b)
        if b[:j] + b[j + 1 :] == a and (b[j - 1] == b[j] or (j + 1 < len(b) and b[j + 1] == b[j])):
            return TokenMatch("typo", 0.86, f"'{b[j]}' doubled")
    return None


def _abjad_typo(a: str, b: str) -> TokenMatch | None:
    """In an abjad a dropped letter is usually a dropped vowel, which makes another name: swaps only."""
    found = typo(a, b)
    return found if found is not None and "swapped" in found.detail else None


def _first_diff(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def suffix(q_keys: tuple[str, ...], c_keys: tuple[str, ...]) -> TokenMatch | None:
    """A surname without its suffix (Sadyk), with a national one (Sadykuly), or a patronymic form."""
    for qk in q_keys:
        for ck in c_keys:
            if qk[:4] != ck[:4]:
                continue
            stem = _common_prefix(qk, ck)
            if len(stem) < 4:
                continue
            q_end, c_end = qk[len(stem) :], ck[len(stem) :]
            if c_end == "" and q_end in SURNAME_SUFFIXES:
                return TokenMatch("suffix", 0.85, f"'-{q_end}' dropped")
            if q_end in SURNAME_SUFFIXES and c_end in NATIONAL_SUFFIXES:
                return TokenMatch("suffix", 0.87, f"'-{q_end}' written '-{c_end}'")
            if {q_end, c_end} - {""} and {q_end, c_end} <= PATRONYMIC_SUFFIXES | {""}:
                return TokenMatch("patronymic", 0.9, f"'-{q_end or c_end}' as patronymic")
            if c_end == "" and len(q_end) >= 2:
                return TokenMatch("short", 0.82, "given name cut short")
    return None


def _common_prefix(a: str, b: str) -> str:
    i = _first_diff(a, b)
    return a[:i]
