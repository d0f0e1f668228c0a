"""Spelling keys: fold the transliteration families of a Latin reading onto one string.

A key writes each sound the way every romanisation system agrees on, with one symbol per sound:
zh/j/dzh/dj -> J, sh/sch/ş -> S, ch/tch/tsch -> C, kh -> H, ts/tz -> c, y -> i, w -> v, q -> k, doubled
letters once, ye/ie after a vowel -> e, yo/io (ё) -> e. Two readings with the same key are the same
spelling under different systems. What keys cannot fold (a/o in Belarusian, g/h in Ukrainian, German s for
з) are "soft" substitutions that `compare` allows a few of.

`skeleton` keeps consonant classes only: it is how an Arabic-script name, written without short vowels,
meets its Latin spelling, and (coarser still) what `block` indexes the watchlist by.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGRAPHS = (
    ("shch", "S"), ("sch", "S"), ("tsch", "C"), ("tsh", "C"), ("tch", "C"), ("dzh", "J"), ("dsh", "J"),
    ("zh", "J"), ("sh", "S"), ("ch", "C"), ("kh", "H"), ("ts", "c"), ("tz", "c"), ("ph", "f"),
    ("gh", "g"), ("th", "t"), ("dh", "d"), ("ck", "k"),
)  # fmt: skip
_HAS_DIGRAPH = re.compile(r"[szcdkpgt]h|ts|tz|ck")
_SINGLE = str.maketrans({"y": "i", "w": "v", "q": "k", "j": "J", "x": "ks"})
_DOUBLE = re.compile(r"(.)\1+")


def undouble(text: str) -> str:
    """Doubled letters once (a callable replacement: a template string is parsed on every call)."""
    return _DOUBLE.sub(_first, text) if _DOUBLE.search(text) else text


def _first(m: re.Match[str]) -> str:
    return m.group(1)


_VOWEL_GLIDE = re.compile(r"(?<=[aeiou])ie")  # Dadayev, Dadaev, Dadaïev
_OFF = re.compile(r"of(?=a?$)")  # French and old German -of/-off/-ofa for -ов/-ова: Iskenderof
_FINAL_H = re.compile(r"(?<=[aeiou])h$")  # Persian and Arabic silent final h: Kaveh, Abdullah
_EV = re.compile(r"ev(?=a?$|iC|na$)")

# Pairs of key symbols that transliteration systems and neighbouring languages swap for one sound.
SOFT: frozenset[frozenset[str]] = frozenset(
    frozenset(p)
    for p in (
        "ae", "ao", "ei", "ou", "uv",  # ə, akanye and Uzbek o, е/и, Persian o/u, Belarusian ŭ
        "sz", "cz", "Ss", "Cc", "SC",  # German s/z and z/ts, lost cedillas, French ch
        "gh", "Hh", "gJ", "kg",  # Ukrainian and Belarusian h, kh/h, Egyptian g, Azerbaijani g for к
    )
)  # fmt: skip
SOFT_INDEL = frozenset("i")  # a glide (й, ь, ye/e) written or not
SOFT_FIRST = SOFT - {frozenset("kg"), frozenset("gJ")}  # Gao is not Cao


@lru_cache(maxsize=32768)
def key(reading: str) -> str:
    """The spelling key of one lower-case ASCII reading."""
    text = reading
    if _HAS_DIGRAPH.search(text):
        for src, dst in _DIGRAPHS:
            if src in text:
                text = text.replace(src, dst)
    text = text.translate(_SINGLE)
    text = undouble(text)
    if text.startswith("ie") and len(text) > 3:
        text = text[1:]  # Yerlan, Erlan, Ierlan
    # Each rewrite is tried only where its letters occur: most keys need none of them.
    if "ie" in text:
        text = _VOWEL_GLIDE.sub("e", text)
    text = text.replace("io", "e")
    # -ev after soft consonants is -ov in Azerbaijani (Orudzhev, Orucov); -of is old French -ov.
    if "of" in text:
        text = _OFF.sub("ov", text)
    if "ev" in text:
        text = _EV.sub("ov", text)
    if text.endswith("h"):
        text = _FINAL_H.sub("", text)
    if text.endswith("ie") and len(text) > 4 and text[-3] not in "aeiou":
        text = text[:-1]  # final -ie, -i, -y: Jardemalie, Zhardemali
    return undouble(text)


_SKELETON_CLASSES = str.maketrans({"C": "S", "J": "J", "g": "J", "c": "s", "z": "s", "k": "k", "H": "h"})


@lru_cache(maxsize=32768)
def skeleton(k: str, collapse: bool = True) -> str:
    """Consonant classes of a key, vowels and glides dropped: how abjad spellings meet Latin ones."""
    text = "".join(ch for ch in k if ch not in "aeiouv").translate(_SKELETON_CLASSES)
    if collapse:
        text = undouble(text)
    return text[:-1] if len(text) > 1 and text.endswith("h") else text


_BLOCK_CLASSES = str.maketrans(
    {"z": "s", "c": "s", "J": "S", "C": "S", "g": "k", "h": "k", "H": "k", "k": "k"}
)


@lru_cache(maxsize=32768)
def blocks(k: str) -> frozenset[str]:
    """The coarse blocking keys of a token key: "V" for an initial vowel, then its consonant classes,
    with S (sh, ch, zh) also read as s, because a lost cedilla or hacek turns one into the other."""
    consonants = "".join(ch for ch in k if ch not in "aeiouv").translate(_BLOCK_CLASSES)
    consonants = undouble(consonants)
    if len(consonants) > 1 and consonants.endswith("k") and k.endswith("h"):
        consonants = consonants[:-1]  # final h (Abdullah, Kaveh, ة)
    coarse = ("V" if k[:1] in "aeiou" and k else "") + consonants
    if "S" not in coarse:
        return frozenset({coarse})
    return frozenset({coarse, undouble(coarse.replace("S", "s"))})
