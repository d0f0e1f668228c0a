"""One watched name form against one published name: align the words, then apply the name rules.

Words align in any order (surname first, upper-case surname), a word may meet two joined words
(Abdul-Lah = Abdullah, al Najjar = Alnajjar). Then:
- the watched given name and surname must both be met (the first and last words, or the first two
  when the form ends in a patronymic: "Zhukovskaya Maria Nikolaevna"); middle names and patronymics may
  be missing (short form) or present only in the published name;
- a middle word present on both sides but different is another person (Abdullah Saeed Khalil is not
  Abdullah Ibrahim Khalil);
- at most one typo and one dropped suffix in the whole name; initials only next to a full surname.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from watcher.match.chinese import is_chinese
from watcher.match.compare import STRONG, TokenMatch, compare
from watcher.match.normalize import PARTICLES, Token, make_token

RULE_TEXT = {
    "exact": "exact after folding case and accents",
    "transliteration": "transliteration",
    "skeleton": "consonant skeleton",
    "cognate": "name equivalent",
    "variant": "spelling variant",
    "typo": "typo",
    "suffix": "surname suffix",
    "patronymic": "patronymic form",
    "initial": "initial",
    "short": "short form",
    "inflected": "inflected form",
}
Comparer = Callable[[Token, Token], "TokenMatch | None"]


@dataclass(frozen=True, slots=True)
class Pair:
    q: tuple[int, ...]  # indices into the watched tokens
    c: tuple[int, ...]  # indices into the published tokens
    q_text: str
    c_text: str
    how: TokenMatch


@dataclass(frozen=True, slots=True)
class NameResult:
    ok: bool
    score: float
    pairs: tuple[Pair, ...] = ()
    reason: str = ""
    extra: tuple[str, ...] = field(default=())  # published words met by nothing (middle names)
    weak: str = ""  # why the name alone is not enough (needs an agreeing birth date)

    def describe(self) -> str:
        parts = []
        for p in self.pairs:
            how = RULE_TEXT.get(p.how.rule, p.how.rule) + (f" ({p.how.detail})" if p.how.detail else "")
            parts.append(f"'{p.c_text}' = '{p.q_text}' by {how}")
        return "; ".join(parts)


@lru_cache(maxsize=65536)
def units(tokens: tuple[Token, ...]) -> tuple[tuple[tuple[int, ...], Token], ...]:
    """Single words, and each word joined with the next (Abdul-Lah, al Najjar, PierreClaver)."""
    out: list[tuple[tuple[int, ...], Token]] = []
    for i, tok in enumerate(tokens):
        if not tok.particle or tok.initial:
            out.append(((i,), tok))
        if i + 1 == len(tokens) or tok.initial or tokens[i + 1].initial or tokens[i + 1].particle:
            continue
        nxt = tokens[i + 1]
        if (tok.folded in PARTICLES or not tok.particle) and tok.script == nxt.script:
            out.append(((i, i + 1), make_token(tok.text + nxt.text)))
    return tuple(out)


def essentials(tokens: Sequence[Token]) -> list[frozenset[int]]:
    return _essentials(tuple(tokens))


@lru_cache(maxsize=65536)
def _essentials(tokens: tuple[Token, ...]) -> list[frozenset[int]]:
    """Sets of watched words, any of which must be met in full: given name and surname.

    Usually the first and last words. A form ending in a patronymic is in official Russian order
    (Zhukovskaya Maria Nikolaevna). With three words or more, the surname may also be the last but one:
    a second (maternal) surname or the father's name is often left out (Julio Suarez, Abdullah Saeed).
    """
    named = [i for i, t in enumerate(tokens) if not t.particle]
    if len(named) <= 2:
        return [frozenset(named)]
    if tokens[named[-1]].patronymic and not tokens[named[1]].patronymic:
        return [frozenset({named[0], named[1]})]
    options = [frozenset({named[0], named[-1]})]
    if not tokens[named[-2]].patronymic and not tokens[named[-2]].initial:
        options.append(frozenset({named[0], named[-2]}))
    return options


def edges_between(
    q_tokens: Sequence[Token],
    c_tokens: Sequence[Token],
    comparer: Comparer,
    q_only: set[int] | None = None,
    q_skip: set[int] | None = None,
) -> list[Pair]:
    """Every word pair that some rule accepts (joined words only by the strong rules); `q_only` and
    `q_skip` restrict the watched words considered."""
    out: list[Pair] = []
    for qi, qt in units(tuple(q_tokens)):
        if (q_only is not None and not q_only.intersection(qi)) or (q_skip and q_skip.intersection(qi)):
            continue
        for ci, ct in units(tuple(c_tokens)):
            if qt.initial and ct.initial:
                continue
            how = comparer(qt, ct)
            if how is not None and (len(qi) == len(ci) == 1 or how.rule in STRONG):
                out.append(Pair(qi, ci, _shown(q_tokens, qi), _shown(c_tokens, ci), how))
    return out


def _shown(tokens: Sequence[Token], at: tuple[int, ...]) -> str:
    return " ".join(tokens[i].text for i in at)


def align(
    q_tokens: Sequence[Token],
    c_tokens: Sequence[Token],
    comparer: Comparer = compare,
    edges: list[Pair] | None = None,
) -> tuple[Pair, ...]:
    """The best disjoint set of word pairs between watched and published words."""
    pool = edges_between(q_tokens, c_tokens, comparer) if edges is None else edges
    if len(pool) > MAX_EDGES:  # keep the search bounded: the strongest edges first
        pool = sorted(pool, key=lambda p: -p.how.score)[:MAX_EDGES]
    must = essentials(q_tokens)
    best: tuple[tuple[float, ...], tuple[Pair, ...]] = ((-1.0,), ())

    def value(chosen: list[Pair]) -> tuple[float, ...]:
        covered = {i for p in chosen for i in p.q}
        typos = sum(p.how.rule in ("typo", "suffix", "short") for p in chosen)
        met = max(len(covered & m) - len(m) for m in must)
        return (met, len(covered), -typos, sum(p.how.score for p in chosen))

    def search(k: int, chosen: list[Pair], used_q: set[int], used_c: set[int]) -> None:
        nonlocal best
        if k == len(pool):
            v = value(chosen)
            if v > best[0]:
                best = (v, tuple(chosen))
            return
        edge = pool[k]
        if not used_q.intersection(edge.q) and not used_c.intersection(edge.c):
            chosen.append(edge)
            search(k + 1, chosen, used_q | set(edge.q), used_c | set(edge.c))
            chosen.pop()
        search(k + 1, chosen, used_q, used_c)

    search(0, [], set(), set())
    return best[1]


MAX_EDGES = 14


def judge(
    q_tokens: Sequence[Token],
    c_tokens: Sequence[Token],
    *,
    in_text: bool = False,
    comparer: Comparer = compare,
    middles: Sequence[Token] = (),
) -> NameResult:
    """Apply the name rules to the best alignment of a watched form and a published name.

    `middles` are the person's middle names and patronymics from all their forms: a published middle
    name must be one of them, when any is known.
    """
    options = essentials(q_tokens)
    wanted = set().union(*options)
    first = edges_between(q_tokens, c_tokens, comparer, wanted)
    met = {i for p in first for i in p.q}
    if not any(m <= met for m in options):  # given name or surname met by nothing: stop early
        missing_words = sorted(min(options, key=lambda m: len(m - met)) - met)
        reason = f"'{' '.join(q_tokens[i].text for i in missing_words)}' not met"
        return NameResult(False, 0.3 * len(met) / max(len(wanted), 1), tuple(first[:3]), reason)
    else:
        rest = edges_between(q_tokens, c_tokens, comparer, q_skip=wanted)
        pairs = align(q_tokens, c_tokens, comparer, first + rest)
    covered_q = {i for p in pairs for i in p.q}
    covered_c = {i for p in pairs for i in p.c}
    named_q = [i for i, t in enumerate(q_tokens) if not t.particle]
    must = min(options, key=lambda m: (len(m - covered_q), sorted(m)))
    missing = [q_tokens[i].text for i in sorted(must - covered_q)]
    score = sum(p.how.score for p in pairs) / max(len(pairs), 1)
    if missing:
        return NameResult(False, score * 0.5, pairs, f"'{' '.join(missing)}' not met")
    if len(named_q) >= 2 and len(pairs) < 2:
        return NameResult(False, score * 0.5, pairs, "only one word met")
    rules = [p.how.rule for p in pairs]
    problem = _rule_problem(rules, in_text)
    if any(p.how.rule == "patronymic" and set(p.q) & must for p in pairs):
        problem = "a patronymic form where the given name or surname should be"
    surname, certain = surname_index(q_tokens, must)
    if certain and any(p.how.rule == "short" and surname in p.q for p in pairs):
        problem = "the surname cut short"
    if problem:
        return NameResult(False, score * 0.6, pairs, problem)
    left_q = [q_tokens[i] for i in named_q if i not in covered_q]
    span = range(min(covered_c), max(covered_c) + 1) if in_text and covered_c else range(len(c_tokens))
    left_c = [c_tokens[i] for i in span if i not in covered_c and not c_tokens[i].particle]
    known = [*left_q, *middles] if not in_text else left_q
    markers = [t for t in q_tokens if t.particle]
    conflict = [t.text for t in left_c if known and not _fits(t, known + markers * t.initial)]
    if conflict:
        other = ", ".join(dict.fromkeys(t.text for t in known))
        return NameResult(
            False, score * 0.6, pairs, f"'{' '.join(conflict)}' where the watched name has '{other}'"
        )
    score -= 0.02 * len(left_q) + (0 if in_text else 0.02 * len([t for t in left_c if not t.initial]))
    weak = _weak_surname(q_tokens, must, pairs)
    if weak:
        score = min(score, WEAK_SCORE)
    return NameResult(True, max(score, 0.0), pairs, extra=tuple(t.text for t in left_c), weak=weak)


WEAK_SCORE = 0.72


def surname_index(q_tokens: Sequence[Token], must: frozenset[int]) -> tuple[int, bool]:
    return _surname_index(tuple(q_tokens), must)


@lru_cache(maxsize=65536)
def _surname_index(q_tokens: tuple[Token, ...], must: frozenset[int]) -> tuple[int, bool]:
    """Which watched word is the surname, and whether that is certain (`surname_index`).

    Certain: the one word in capitals, the first word in official Russian order and in Chinese names,
    the one word with a surname ending (-ov, -enko, -shvili, ...). Otherwise the last word that must be met.
    """
    named = [i for i, t in enumerate(q_tokens) if not t.particle]
    capitals = [i for i in must if q_tokens[i].text.isupper() and len(q_tokens[i].text) > 1]
    if len(capitals) == 1:
        return capitals[0], True
    if (len(named) > 2 and must == {named[0], named[1]}) or is_chinese([t.text for t in q_tokens]):
        return named[0], True
    endings = [i for i in must if q_tokens[i].keys and SURNAME_ENDING.search(q_tokens[i].keys[0])]
    if len(endings) == 1:
        return endings[0], True
    return max(must), False


SURNAME_ENDING = re.compile(r"(ov|ova|in|ina|ski|ska|skaia|enko|uk|ian|uli|zade|Svili|aev|iev)$")


def _weak_surname(q_tokens: Sequence[Token], must: frozenset[int], pairs: Sequence[Pair]) -> str:
    """One surname letter replaced by a neighbouring key is as likely another family (Sabirova, Sabitova)."""
    surname, _ = surname_index(q_tokens, must)
    for p in pairs:
        if surname in p.q and p.how.rule == "typo" and "struck" in p.how.detail:
            return (
                f"surname '{p.c_text}' differs from '{p.q_text}' by one letter, which may be another family"
            )
    return ""


def _rule_problem(rules: list[str], in_text: bool) -> str:
    if rules.count("typo") + rules.count("suffix") + rules.count("short") > 1:
        return "more than one typo, dropped suffix or short form"
    if all(r == "initial" for r in rules):
        return "initials only"
    if in_text and any(r in ("initial", "typo", "suffix", "short") for r in rules):
        return "initials, typos and short forms are not trusted in running text"
    if rules.count("initial") and not any(r in STRONG for r in rules):
        return "initials without a surname met exactly"
    return ""


def middle_words(forms: Sequence[Sequence[Token]]) -> list[Token]:
    """The middle names and patronymics a person's forms carry."""
    out: list[Token] = []
    for tokens in forms:
        main = essentials(tokens)[0]
        out += [t for i, t in enumerate(tokens) if not t.particle and i not in main]
    return out


def _fits(word: Token, known: list[Token]) -> bool:
    """A published middle word agrees with one of the person's middle names (or initials)."""
    return any(compare(t, word) is not None for t in known)
