"""Pure: keep confidential people's names and URL query strings out of health texts sent to channels.

A name-search source's failure text carries its request URL, and the URL carries the watched name
(`.../rss/search?q=%22Botagoz+Jardemalie%22`); the operator channel is often a third-party chat
service. So before a health event's text (a failing, recovered or stale source, a dead delivery) is
rendered for a channel, every URL loses its query string and every word of a confidential person's
name and aliases goes, also percent-encoded. The database and `watcher status` keep the full text:
they are local.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

from watcher.config import Config
from watcher.route import confidential_people

__all__ = ["HEALTH_EVENTS", "Redactor"]

HEALTH_EVENTS = frozenset({"source_failed", "source_recovered", "source_stale", "delivery_dead"})
# A URL's query, up to (not including) punctuation that ends the sentence around it.
_URL_QUERY = re.compile(
    r"(?i)\b([a-z][a-z0-9+.-]{1,15}://[^\s?#\"'<>]*)\?[^\s#\"'<>]*?(?=[.,;:)]*(?:[\s#\"'<>]|$))"
)
_WORD = re.compile(r"\w{3,}")  # initials ("B.") say little; every longer word of a name is a clue
REMOVED = "[removed]"
NOTICE = (
    "(Query strings and confidential names removed here; `watcher status` on the watcher host shows all.)"
)


class Redactor:
    """`Redactor(config)(text)`: the text with URL queries and confidential names removed."""

    def __init__(self, config: Config) -> None:
        people = confidential_people(config)
        words = {
            w
            for p in config.person
            if p.id in people
            for name in (p.name, *p.aliases)
            for w in _WORD.findall(name)
        }
        # Percent-encoding is case-sensitive ("Ж" is %D0%96, "ж" %D0%B6): encode each usual casing.
        cased = {c for w in words for c in (w, w.lower(), w.upper(), w.capitalize())}
        forms = {form for w in cased for form in (w, quote(w), quote_plus(w))}
        # Longest first, so a word is not half-removed by a shorter one it contains.
        alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        # Not inside a longer word; digits may touch it (the "22" of an encoded quote, %22Name).
        pattern = rf"(?i)(?<![^\W\d_])(?:{alternatives})(?![^\W\d_])"
        self._names = re.compile(pattern) if forms else None

    def __call__(self, text: str) -> str:
        out = _URL_QUERY.sub(rf"\1?{REMOVED}", text)
        if self._names is not None:
            out = self._names.sub(REMOVED, out)
        return out if out == text else f"{out}\n{NOTICE}"
