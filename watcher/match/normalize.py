"""A name as written -> a list of tokens carrying every reading the matcher compares.

Handles Unicode normalisation, case, punctuation, hyphens and apostrophes, initials ("E.N.O."), particles
that may be written or not (al-, bin, von, de), patronymic markers (oğlu, qızı, uulu, кызы) and patronymics
by their suffix (-ovich, -ovna, -uly, -qyzy), which are optional when two names are compared.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

from watcher.match.chinese import is_chinese, pinyin_readings
from watcher.match.cognates import group_of
from watcher.match.keys import key, skeleton, undouble
from watcher.match.translit import arabic_consonants, readings, script_of, split_cjk

PARTICLES = frozenset(
    "al el ul bin ibn bint ben binti van von der den de da di du dos das la le del della ter ten "
    "ал аль эль бин ибн".split()
)
# Words between the given name and surname marking the one before them as a patronymic.
PATRONYMIC_MARKERS = frozenset(
    "oglu ogly ogli oghlu gizi qizi kizi kyzy qyzy uulu uly ulu оглы оглу кызы гызы қызы уулу улы ұлы".split()
)
TITLES = frozenset(
    "mr mrs ms miss dr prof sir mme mlle monsieur madame herr frau hr fr sheikh "
    "г-н г-жа господин госпожа гражданин гражданка".split()
)
_PATRONYMIC_KEY = re.compile(r"(oviC|eviC|aviC|ovna|evna|auna|euna|iCna|ivna|uli|ulu|kizi|kiSi)$")
_SPLIT = re.compile(r"[\s,;/()\[\]\"“”«»]+|(?<=\w)[-‐‑–—](?=\w)")
_APOSTROPHES = re.compile(r"['’ʼʻ`´]")
_RAW_SPLIT = re.compile(r"[\s,;]+")
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?\.?$|^[^\W\d_]$")
_ARABIC_ARTICLE = "ال"


@dataclass(frozen=True, slots=True, eq=False)
class Token:
    """One word of a name, with the forms the comparison rules use.

    Compared and hashed by identity: `make_token` hands out one Token per word, and caches keyed by
    tokens would otherwise hash every reading on every lookup.
    """

    text: str  # as written
    folded: str  # case and accents folded, same script
    plain: str  # letters only, as typed on that script's keyboard (for typos)
    script: str
    readings: tuple[str, ...]  # lower-case ASCII readings
    keys: tuple[str, ...]  # spelling keys of the readings
    initial: bool = False
    particle: bool = False
    patronymic: bool = False
    # Derived once here: every comparison asks for them.
    firsts: frozenset[str] = field(init=False)  # first letters under every reading and key
    group: int | None = field(init=False)  # the cognate group (Piotr = Pyotr = Petr), if listed

    def __post_init__(self) -> None:
        firsts = {k[0] for k in self.keys if k} | {r[0] for r in self.readings if r} | {self.plain[:1]}
        object.__setattr__(self, "firsts", frozenset(firsts))
        object.__setattr__(self, "group", _group(self.keys))

    @property
    def skeletons(self) -> frozenset[str]:
        return frozenset(skeleton(k) for k in self.keys) - {""}


def _group(keys: tuple[str, ...]) -> int | None:
    for k in keys:
        g = group_of(k)
        if g is not None:
            return g
    return None


def fold(text: str) -> str:
    """Lower case, accents stripped, in the token's own script."""
    if text.isascii():  # most words: nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@lru_cache(maxsize=32768)
def make_token(word: str, *, initial: bool = False) -> Token:
    """A token from one word (no spaces), with readings and keys."""
    script = script_of(word)
    folded = fold(word)
    if initial:
        letter = re.sub(r"\W", "", word)[:1]
        reads = readings(letter) if letter else ()
        first = tuple(dict.fromkeys(key(r)[:1] for r in reads))
        return Token(word, fold(letter), fold(letter), script, reads, first, True)
    reads = readings(word)
    if script == "arabic":
        keys: tuple[str, ...] = (arabic_consonants(word),)
    else:
        keys = tuple(dict.fromkeys(key(r) for r in reads if r))
    bare = undouble(folded.replace("-", ""))
    particle = bare in PARTICLES or bare in PATRONYMIC_MARKERS
    patronymic = bool(keys) and not particle and bool(_PATRONYMIC_KEY.search(keys[0])) and len(keys[0]) > 5
    plain = folded if folded.isalpha() else "".join(ch for ch in folded if ch.isalpha())
    return Token(word, folded, plain, script, reads, keys, False, particle, patronymic)


def words(text: str) -> list[str]:
    """Split a name into words: spaces, commas, hyphens between letters; apostrophes dropped."""
    if not text.isascii():  # ASCII is its own NFKC form
        text = unicodedata.normalize("NFKC", text).replace("\u200c", "")
    text = _APOSTROPHES.sub("", text)
    return [w for w in _SPLIT.split(text) if w and (w.isalpha() or any(c.isalpha() for c in w))]


@lru_cache(maxsize=32768)
def chinese_token(word: str) -> Token:
    """A word of a Chinese name in pinyin or Wade-Giles, with pinyin readings."""
    reads = pinyin_readings(word)
    folded = "".join(ch for ch in fold(word) if ch.isalpha())
    keys = tuple(dict.fromkeys(key(r) for r in reads if r))
    return Token(word, folded, folded, "latin", reads, keys)


@lru_cache(maxsize=4096)  # published names are cached whole by the matcher
def tokenize_name(name: str) -> tuple[Token, ...]:
    """The tokens of one name form, titles dropped, patronymic markers flagging the word before them."""
    text = name if name.isascii() else unicodedata.normalize("NFKC", name).replace("’", "'")
    raw = [w for w in _RAW_SPLIT.split(text) if w]
    if is_chinese(raw):
        return tuple(chinese_token(w) for w in raw)
    tokens: list[Token] = []
    for word in words(name):
        tokens.extend(_word_tokens(word))
    tokens = [t for t in tokens if t.folded.strip(".") not in TITLES or len(tokens) == 1]
    return tuple(_flag_patronymics(tokens))


# Between the parties of a caption (R v Ivan Petrov, Ablyazov c. France, Аблязов против России) and
# after a label (Applicant: Ivan Petrov). Only lower-case "v": "Ivanov V. P." is an initial.
_CAPTION = re.compile(r"\s+(?:v|vs|versus|-v-|c|contre|gegen|против)\.?\s+|\s*:\s*")
_LOWER_WORD = re.compile(r"(?:^|\s)([^\W\d_A-Z][\w'’-]*)")


def parties(name: str) -> tuple[str, ...]:
    """The names in a caption or a labelled field, or the name itself."""
    if not _CAPTION.search(name):
        return (name,)
    return tuple(p for p in (part.strip() for part in _CAPTION.split(name)) if p)


def has_words_around(name: str) -> bool:
    """Does a name field carry lower-case words that are not name particles (In re Extradition of)?"""
    for m in _LOWER_WORD.finditer(name):
        word = m.group(1)
        if not word[0].islower():
            continue
        token = make_token(word.split("-")[0].strip("'’"))
        if not token.particle and not any(k in PATRONYMIC_MARKERS for k in token.keys):
            return True
    return False


def _word_tokens(word: str) -> list[Token]:
    if _INITIALS.match(word) and script_of(word) != "cjk":
        return [make_token(letter, initial=True) for letter in word.replace(".", "")]
    script = script_of(word)
    if script == "cjk":
        return [make_token(part) for part in split_cjk(word)]
    if script == "arabic" and word.startswith(_ARABIC_ARTICLE) and len(word) > 3 and word != "الله":
        return [make_token("al"), make_token(word[2:])]
    return [make_token(word.rstrip("."))] if word.rstrip(".") else []


def _flag_patronymics(tokens: list[Token]) -> list[Token]:
    out = list(tokens)
    for i, tok in enumerate(tokens):
        if tok.particle and tok.folded not in PARTICLES and i > 0 and not out[i - 1].particle:
            prev = out[i - 1]
            out[i - 1] = replace(prev, patronymic=True)
    return out
