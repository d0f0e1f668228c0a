"""Name mentions in running text (news, judgments) in English, French, German, Russian, Ukrainian, Kazakh.

A mention is a run of consecutive capitalised words (particles such as al-, de, оглы may be lower
case) inside one sentence; each run is judged like a published name, with two differences: words may
carry a Slavic or Kazakh case ending (Аблязова, Аблязову, Аблязовым, Аблязовтың) or a German/English
genitive -s, and initials, typos and short forms are not trusted (M. is "Monsieur", Mr Hamad is anyone
called Hamad). A surname alone never makes a mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from watcher.match.compare import STRONG, TokenMatch, compare
from watcher.match.normalize import PARTICLES, PATRONYMIC_MARKERS, TITLES, Token, make_token, words

# Case endings of East Slavic nouns, surnames and adjectival surnames, longest first, and Kazakh
# case suffixes (which follow the nominative unchanged).
SLAVIC_ENDINGS = (
    "ого", "его", "ому", "ему", "ыми", "ими", "ова", "ева", "ової", "евої",
    "ой", "ей", "ою", "ею", "ым", "им", "ом", "ем", "ую", "юю", "ии", "ию", "ия", "ие", "ої", "ій", "ові",
    "ай", "ам", "ах",
    "а", "я", "у", "ю", "е", "ы", "и", "і",
)  # fmt: skip
KAZAKH_ENDINGS = (
    "тың", "тің", "дың", "дің", "ның", "нің", "нан", "нен", "дан", "ден", "тан", "тен", "нда", "нде",
    "мен", "бен", "пен", "ға", "ге", "қа", "ке", "на", "не", "ны", "ні", "ды", "ді", "ты", "ті",
    "да", "де", "та", "те",
)  # fmt: skip
# What a stem may end with in the nominative: Аблязов-, Аблязов-а, Юли-я, Юр-ий, Игор-ь, Шиманск-ий.
NOMINATIVE = ("", "а", "я", "й", "ь", "ий", "ый", "ой", "ая", "ия", "о")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?;:»«\"“”()\[\]]|,")
_GENITIVE = re.compile(r"['’]s$")
MAX_RUN = 7


@dataclass(frozen=True, slots=True)
class Run:
    """A run of capitalised words: a possible name mention."""

    tokens: tuple[Token, ...]
    text: str


def runs(text: str) -> list[Run]:
    """The capitalised runs of a text, split at punctuation and titles."""
    out: list[Run] = []
    current: list[tuple[str, int, int]] = []
    last_end = 0
    for m in _WORD.finditer(text):
        start, end = m.span()
        if current and _SENTENCE_END.search(text, last_end, start):
            out.extend(_to_runs(text, current))
            current = []
        last_end = end
        word = m.group()
        if "'" in word or "’" in word:
            word = _GENITIVE.sub("", word)
        lower = word[0].islower()
        if lower and not current:  # most words of a text: nothing to close, nothing to start
            continue
        bare = word.casefold().strip("-")
        if bare not in TITLES and (not lower or _joins(bare)):
            current.append((word, start, end))
        elif current:
            out.extend(_to_runs(text, current))
            current = []
    if current:
        out.extend(_to_runs(text, current))
    return out


def _joins(bare: str) -> bool:
    """A lower-case word that may stand inside a name: a particle or a patronymic marker."""
    return bare in PARTICLES or bare in PATRONYMIC_MARKERS or bare.split("-")[0] in PARTICLES


def _to_runs(text: str, words_at: list[tuple[str, int, int]]) -> list[Run]:
    out = []
    for start in range(0, len(words_at), MAX_RUN - 2):
        chunk = words_at[start : start + MAX_RUN]
        tokens = tuple(t for w, _, _ in chunk for t in _tokens(w))
        if sum(not t.particle for t in tokens) >= 2:
            out.append(Run(tokens, text[chunk[0][1] : chunk[-1][2]]))
        if start + MAX_RUN >= len(words_at):
            break
    return out


@lru_cache(maxsize=65536)
def _tokens(word: str) -> tuple[Token, ...]:
    return tuple(make_token(w) for w in words(word))


@lru_cache(maxsize=65536)
def nominatives(word: str) -> tuple[tuple[str, Token], ...]:
    """Nominative hypotheses for a word that may carry a case ending: (ending, token)."""
    lower = word.casefold()
    out: list[tuple[str, Token]] = []
    if lower[:1].isascii():
        if lower.endswith("s") and len(lower) > 4:
            out.append(("-s", make_token(word[:-1])))
        return tuple(out)
    for ending in SLAVIC_ENDINGS + KAZAKH_ENDINGS:
        if lower.endswith(ending) and len(lower) - len(ending) >= 3:
            stem = lower[: -len(ending)]
            out.extend((ending, make_token(stem + nom)) for nom in NOMINATIVE if stem + nom != lower)
    return tuple(out)


def text_compare(q: Token, c: Token) -> TokenMatch | None:
    """`compare` for a word of running text: strong rules only, case endings undone."""
    found = compare(q, c)
    if found is not None and found.rule in STRONG:
        return found
    if q.initial or c.initial:
        return None
    for ending, hypothesis in nominatives(c.text):
        found = compare(q, hypothesis)
        if found is not None and found.rule in STRONG:
            return TokenMatch("inflected", min(found.score, 0.95), f"case ending '-{ending.lstrip('-')}'")
    return None
