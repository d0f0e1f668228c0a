"""Chinese names in Latin letters: pinyin, and Wade-Giles (Taiwanese passports, older Western sources).

A name is taken as Chinese when every word is one or two syllables of either system (Cao Dongbin,
Ts'ao Tung-pin, Su Yu-p'eng). Its words then get pinyin readings only: Wade-Giles initials mapped with
and without the aspiration mark that sources often drop (p -> b or p, t -> d or t, ch -> j/zh or q/ch,
ts -> z or c, hs -> x, j -> r) and finals rewritten (ung -> ong, ien -> ian, ieh -> ie, ih -> i). The
readings of other languages' letters (c as k, j as y) are not applied, so Cao never becomes Gao.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

_INITIAL = r"(ch'|ch|k'|p'|t'|ts'|tz'|ts|tz|hs|sh|zh|[bcdfghjklmnpqrstwxyz])?"
_FINAL = (
    r"(iang|iung|iong|uang|ueng|erh|ang|eng|ing|ong|ung|ien|ian|ieh|iao|uai|uan|uei|uo|ai|an|ao|ei|en|er"
    r"|ia|ie|ih|in|io|iu|ou|ua|ui|un|ue|a|e|i|o|u|v)"
)
_WHOLE = re.compile(f"^{_INITIAL}{_FINAL}$")
_ONE_OR_TWO = re.compile(f"^(?:{_INITIAL}{_FINAL}){{1,2}}$")  # one regex call rejects most words at once
_INITIALS: dict[str, tuple[str, ...]] = {
    "ch'": ("q", "ch"), "ch": ("j", "zh", "q", "ch"), "k'": ("k",), "k": ("g", "k"), "p'": ("p",),
    "p": ("b", "p"), "t'": ("t",), "t": ("d", "t"), "ts'": ("c",), "tz'": ("c",), "ts": ("z", "c"),
    "tz": ("z", "c"), "hs": ("x",), "j": ("r", "j"),
}  # fmt: skip
_FINALS = {"ung": "ong", "iung": "iong", "ien": "ian", "ieh": "ie", "ih": "i", "uei": "ui", "erh": "er"}


@lru_cache(maxsize=16384)
def syllables(word: str) -> list[str] | None:
    """A word (hyphens allowed) as one or two syllables of pinyin or Wade-Giles, else None."""
    out: list[str] = []
    for part in word.lower().replace("ü", "u").split("-"):
        split = _split(part)
        if split is None:
            return None
        out += split
    return out if 1 <= len(out) <= 3 else None


def _split(part: str) -> list[str] | None:
    if not _ONE_OR_TWO.match(part):
        return None
    if _WHOLE.match(part):
        return [part]
    for i in range(1, len(part)):
        if _WHOLE.match(part[:i]) and _WHOLE.match(part[i:]):
            return [part[:i], part[i:]]
    return None


def is_chinese(words: list[str]) -> bool:
    """Every word of a Latin-script name is one or two Chinese syllables (2 to 3 words), one of them a
    single syllable (the surname)."""
    if not 2 <= len(words) <= 3 or not all(w.isascii() or "ü" in w for w in words):
        return False
    split = [syllables(w) for w in words]
    return all(s is not None for s in split) and any(s is not None and len(s) == 1 for s in split)


@lru_cache(maxsize=16384)
def pinyin_readings(word: str) -> tuple[str, ...]:
    """Pinyin readings of a word written in pinyin or Wade-Giles."""
    parts = syllables(word)
    if parts is None:
        return (re.sub(r"[^a-z]", "", word.lower()),)
    options = [_syllable_readings(s) for s in parts]
    out = ["".join(combo) for combo in itertools.product(*options)]
    return tuple(dict.fromkeys(out))[:16]


def _syllable_readings(syllable: str) -> tuple[str, ...]:
    m = _WHOLE.match(syllable)
    if m is None:
        return (syllable.replace("'", ""),)
    initial, final = m.group(1) or "", m.group(2)
    plain = (initial + final).replace("'", "")
    initials = _INITIALS.get(initial, (initial.replace("'", ""),))
    if initial in ("tz", "ts", "tz'", "ts'", "s", "ss") and final == "u":
        final = "i"  # tzu -> zi, ssu -> si
    if initial in ("k", "k'", "h") and final == "o":
        final = "e"  # ko -> ge, ho -> he
    final = _FINALS.get(final, final)
    return tuple(dict.fromkeys([plain, *(i + final for i in initials)]))
