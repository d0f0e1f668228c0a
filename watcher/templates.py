"""Escaping for each body format, and operators' own Jinja2 templates.

Everything a source published is hostile until escaped: a page can carry `<script>`, an HTML link or a
Markdown `[x](https://evil)`. Each format gets its own escaper, and bare URLs in source text are
defanged (`https[:]//`) so a chat app cannot turn them into links. Only the record's own link (http or
https, checked) and watcher's own values are written unescaped; they are marked `Safe`.

In operators' templates `|e` is escaping for HTML only, so in a Markdown or text template its output is
escaped again for that format; `|safe` and `|urlize` change nothing (a source's value stays text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, TemplateError
from markupsafe import Markup

from watcher.errors import DeliveryError

__all__ = ["FORMATS", "Safe", "defang", "escape_for", "render_template", "safe_link", "title_safe"]

FORMATS = ("text", "markdown", "html")
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}):(//)")
_WWW = re.compile(r"(?i)\bwww\.")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Inline Markdown syntax (CommonMark and Python-Markdown, which Apprise uses to turn Markdown into HTML).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>!|~&#])")
_TITLE_MARKUP = re.compile(r"[<>\[\]`]")


class Safe(str):
    """A value watcher wrote itself (a checked link, an alert number): never escaped."""

    __slots__ = ()


def defang(text: str) -> str:
    """Source text can name URLs, but must not become a link: `https://x` -> `https[:]//x`."""
    text = _CONTROL.sub("", text)
    return _WWW.sub("www[.]", _SCHEME.sub(r"\1[:]\2", text))


def _markdown(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", defang(text))


def _html(text: str) -> str:
    return html.escape(defang(text), quote=True)


_ESCAPERS: dict[str, Callable[[str], str]] = {"text": defang, "markdown": _markdown, "html": _html}


def escape_for(fmt: str) -> Callable[[str], str]:
    return _ESCAPERS[fmt]


def title_safe(text: str) -> str:
    """Titles are plain text everywhere: no markup characters at all, whatever the channel does with them."""
    return " ".join(defang(_TITLE_MARKUP.sub("", text)).split())


def safe_link(url: object) -> Safe | None:
    """The record's link if it is a plain http(s) URL, made safe to write inside markup; else None."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return Safe(quote(url.strip(), safe=":/?#@!$&'()*+,;=%~-._"))


def _finalizer(fmt: str) -> Callable[[Any], Any]:
    escape = _ESCAPERS[fmt]

    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Safe):
            return Markup(value) if fmt == "html" else str(value)
        if isinstance(value, Markup):
            if fmt == "html":
                return value  # HTML already escaped (`|e`, a macro's output)
            # `|e` escapes for HTML, not Markdown: `[x](https://evil)` would pass. Escape it for this format.
            value = value.unescape()
        text = str(value)
        return defang(text) if fmt == "html" else escape(text)  # html: autoescape does the rest

    return finalize


def _escaped(value: Any) -> Any:
    """`|e` as watcher escapes: a source's URLs defanged too, or a mail client would link them."""
    if isinstance(value, Safe | Markup):
        return Markup(value)
    return Markup(html.escape(defang("" if value is None else str(value)), quote=True))


def _as_text(value: Any) -> Any:
    """`|safe` and `|urlize` on a source's value would write its markup or its links: nothing from a
    source is safe, so both leave the value to be escaped like any other."""
    return value if isinstance(value, Safe) or value is None else str(value)


@lru_cache(maxsize=32)
def _environment(folder: str, fmt: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=fmt == "html",
        finalize=_finalizer(fmt),
        keep_trailing_newline=False,
    )
    env.filters["safe"] = env.filters["urlize"] = _as_text
    env.filters["e"] = env.filters["escape"] = _escaped
    return env


def render_template(path: Path, fmt: str, context: dict[str, Any]) -> tuple[str, str]:
    """An operator's template: its first line is the title (made plain text), the rest the body."""
    try:
        template = _environment(str(path.parent), fmt).get_template(path.name)
        text = template.render(context)
    except TemplateError as exc:
        raise DeliveryError(f"template {path} cannot be rendered: {exc}") from None
    title, _, body = text.strip("\n").partition("\n")
    return _plain_title(title, fmt), body.strip("\n")


def _plain_title(title: str, fmt: str) -> str:
    """A template's first line, escaped for its format, as the plain text every title is."""
    if fmt == "html":
        title = html.unescape(title)
    elif fmt == "markdown":
        title = re.sub(r"\\(.)", r"\1", title)
    return title_safe(title)
