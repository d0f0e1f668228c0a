"""Every adapter's parse on mutated recorded responses: a ParseResult or a ParseError, nothing else, fast.

For each golden case (tests/fixtures/<adapter>/*.case.json) hypothesis mutates the body: bit flips,
truncation, random or hostile bytes inserted, slices duplicated or cut, and, where the body is JSON or
XML, structural edits (a value swapped for a hostile one, an element dropped, doubled or emptied). Each
call must end within PARSE_SECONDS in a ParseResult of well-typed values the store can keep (text UTF-8
can encode), or in watcher.errors.ParseError. Derandomized and bounded, so CI runs the same ~2,000
examples in well under a minute; raise FUZZ_EXAMPLES locally to dig deeper.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import lxml.etree as etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hostile import billion_laughs
from tests.test_adapter_goldens import FIXTURES, REGISTRY, load_case
from watcher.adapter import ManualAdapter
from watcher.errors import ParseError
from watcher.models import Fetched, ParseResult, Record, SourceRequest

PARSE_SECONDS = 2.0
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))  # per case: ~49 cases, ~2,000 parses

# What broken and hostile servers actually send, as raw bytes and as JSON values.
TOKENS = [
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b'"',
    b"'",
    b"<",
    b">",
    b"</",
    b"/>",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xD800;",
    b"&bogus;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"-1",
    b"1e999",
    b"99999999999999999999",
    b"http://[",
    b"?page=99999999999999999999",
    b"31/02/99999",
    b"0000-00-00",
    b"\\ud800",
    b"\\u0000",
    b"\r\n",
    b"\t",
    b"<html><body>Sign in</body></html>",
]
JSON_VALUES = [
    None,
    True,
    0,
    -1,
    10**30,
    1e308,
    float("inf"),
    "",
    " ",
    "x",
    "\ud800",
    "\x00",
    "http://[x/",
    "9999-99-99",
    "1974-13-45",
    "99999999999",
    "31/02/1974",
    [],
    {},
    [None],
    [[]],
    {"": None},
    ["x"],
    {"a": {"b": []}},
]
# json.loads(bytes) decodes with "surrogatepass": UTF-8-encoded surrogates (ED A0..BF xx) become text the
# store cannot keep. parse_json refuses them; non-JSON adapters decode bodies themselves, so the
# encodability check skips bodies that carry such bytes (the round's own check catches what is left).
RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")
JSON_TEXTS = ["", " ", "http://[x/", "//[::1", "9999-99-99", "99999999999999999999", "\ud800", "\u202e"]
XML_TEXTS = ["", " ", "http://[x/", "//[::1", "9999-99-99", "99999999999999999999", "<b>x</b>", "\u202e"]


def _cases() -> list[Any]:
    params = []
    for name in REGISTRY.names():
        if issubclass(REGISTRY.get(name), ManualAdapter):
            params.append(pytest.param(name, None, marks=pytest.mark.skip(reason="manual adapter: no parse")))
            continue
        for case in sorted((FIXTURES / name).glob("*.case.json")):
            params.append(pytest.param(name, case, id=f"{name}/{case.name.removesuffix('.case.json')}"))
    return params


class ParseTimeout(BaseException):  # not an Exception: an adapter's `except Exception` cannot swallow it
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(_signum: int, _frame: object) -> None:
        raise ParseTimeout(f"parse ran longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- mutations ---------------------------------------------------------------------------------------


def byte_mutation(body: bytes) -> st.SearchStrategy[Callable[[bytes], bytes]]:
    size = max(len(body), 1)
    at = st.integers(0, size)
    span = st.integers(0, min(size, 400))

    def flip(i: int, bit: int) -> Callable[[bytes], bytes]:
        return lambda b: b[:i] + bytes([b[i] ^ (1 << bit)]) + b[i + 1 :] if i < len(b) else b

    return st.one_of(
        st.builds(flip, at, st.integers(0, 7)),
        st.builds(lambda i: lambda b: b[:i], at),  # truncation
        st.builds(lambda i, x: lambda b: b[:i] + x + b[i:], at, st.binary(min_size=1, max_size=16)),
        st.builds(lambda i, x: lambda b: b[:i] + x + b[i:], at, st.sampled_from(TOKENS)),
        st.builds(lambda i, n, j: lambda b: b[:j] + b[i : i + n] + b[j:], at, span, at),  # duplicate a slice
        st.builds(lambda i, n: lambda b: b[:i] + b[i + n :], at, span),  # cut a slice
    )


def _json_paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            found += _json_paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:20]):
            found += _json_paths(v, (*path, i))
    return found


def json_mutation(data: Any) -> st.SearchStrategy[Callable[[bytes], bytes]]:
    """Replace one value anywhere in the document (or drop a key) with a hostile one."""
    paths = _json_paths(data)

    def replace(path: tuple[Any, ...], value: Any, drop: bool) -> Callable[[bytes], bytes]:
        def apply(_: bytes) -> bytes:
            doc = json.loads(json.dumps(data))
            if not path:
                return json.dumps(value).encode()
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            if drop and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            return json.dumps(doc).encode("utf-8", "surrogatepass")

        return apply

    return st.builds(replace, st.sampled_from(paths), st.sampled_from(JSON_VALUES), st.booleans())


def json_text_mutation(data: Any) -> st.SearchStrategy[Callable[[bytes], bytes]]:
    """Splice a hostile fragment into one string value (links, dates, ids are where parsers trust most)."""
    texts = [path for path in _json_paths(data) if path and isinstance(_at(data, path), str)]
    if not texts:
        return st.nothing()

    def splice(path: tuple[Any, ...], fragment: str, where: int) -> Callable[[bytes], bytes]:
        def apply(_: bytes) -> bytes:
            doc = json.loads(json.dumps(data))
            parent = _at(doc, path[:-1])
            old = parent[path[-1]]
            parent[path[-1]] = [fragment + old, old + fragment, fragment][where]
            return json.dumps(doc).encode()

        return apply

    return st.builds(splice, st.sampled_from(texts), st.sampled_from(JSON_TEXTS), st.integers(0, 2))


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def xml_mutation(body: bytes, count: int) -> st.SearchStrategy[Callable[[bytes], bytes]]:
    """Drop, double or empty one element, or give it (or one of its attributes) hostile text."""

    def edit(index: int, how: int, text: str) -> Callable[[bytes], bytes]:
        def apply(_: bytes) -> bytes:
            root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, load_dtd=False))
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
            target = elements[index % len(elements)]
            parent = target.getparent()
            if how == 0 and parent is not None:
                parent.remove(target)
            elif how == 1 and parent is not None:
                parent.insert(parent.index(target), etree.fromstring(etree.tostring(target)))
            elif how == 2:
                target.clear()
            elif how == 3 and target.attrib:
                target.set(sorted(target.attrib)[len(text) % len(target.attrib)], text)
            else:
                target.text = text
            return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")

        return apply

    return st.builds(edit, st.integers(0, count - 1), st.integers(0, 4), st.sampled_from(XML_TEXTS))


@cache
def mutations(case: Path) -> st.SearchStrategy[list[Callable[[bytes], bytes]]]:
    _, fetched = load_case(case)
    body = fetched.body
    options = [byte_mutation(body)]
    try:
        data = json.loads(body)
        options += [json_mutation(data), json_text_mutation(data)]
    except ValueError:
        try:
            count = sum(1 for e in etree.fromstring(body).iter() if isinstance(e.tag, str))
            options.append(xml_mutation(body, count))
        except etree.XMLSyntaxError:
            pass  # HTML, CSV, JSON lines: bytes only
    return st.lists(st.one_of(*options), min_size=1, max_size=4)


# -- the contract ------------------------------------------------------------------------------------


def check_result(result: object, *, utf8: bool = True) -> None:
    """Well-typed values the store can keep; `utf8`: every text also encodes (the database needs it)."""

    def _text_ok(value: object) -> bool:
        if not isinstance(value, str):
            return False
        if utf8:
            value.encode("utf-8")  # a lone surrogate raises here, as it would in the database
        return True

    assert isinstance(result, ParseResult), f"parse returned {type(result).__name__}"
    for record in result.records:
        assert isinstance(record, Record)
        assert _text_ok(record.key) and record.key, f"bad key {record.key!r}"
        assert _text_ok(record.title) and _text_ok(record.text) and _text_ok(record.kind)
        assert record.url is None or _text_ok(record.url)
        assert record.hearing_at is None or _text_ok(record.hearing_at)
        for group in (record.names, record.birth_dates, record.nationalities):
            assert all(_text_ok(v) for v in group), group
        assert all(_text_ok(k) and _text_ok(v) for k, v in record.fields.items()), record.fields
    for request in result.follow:
        assert isinstance(request, SourceRequest) and _text_ok(request.url)
        assert all(_text_ok(k) and _text_ok(v) for k, v in request.params.items())
    assert all(_text_ok(k) for k in result.removed)
    assert result.cursor is None or _text_ok(result.cursor)


def parse_bounded(adapter: Any, fetched: Fetched) -> ParseResult | None:
    """Parse within PARSE_SECONDS: a ParseError (None), or a result that passes `check_result`."""
    started = time.monotonic()
    try:
        with time_limit(PARSE_SECONDS):
            result = adapter.parse(fetched)
    except ParseError:
        return None
    finally:
        elapsed = time.monotonic() - started
        assert elapsed < PARSE_SECONDS, f"{adapter.name}: parse took {elapsed:.2f}s"
    check_result(result, utf8=not RAW_SURROGATE.search(fetched.body))
    return result  # type: ignore[no-any-return]


@pytest.mark.parametrize(("name", "case"), _cases())
@settings(
    max_examples=EXAMPLES,
    deadline=int(PARSE_SECONDS * 1500),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_parse_survives_mutated_bodies(name: str, case: Path, data: st.DataObject) -> None:
    adapter, fetched = load_case(case)
    body = fetched.body
    for mutate in data.draw(mutations(case), label="mutations"):
        body = mutate(body)
    parse_bounded(adapter, dataclasses.replace(fetched, body=body))


@pytest.mark.parametrize(("name", "case"), _cases())
def test_parse_survives_hostile_bodies(name: str, case: Path) -> None:
    """The bodies every hostile server tries first: nothing, junk, the wrong format, a bomb."""
    adapter, fetched = load_case(case)
    bodies = [
        b"",
        b" \n",
        b"\x00" * 64,
        b"null",
        b"[]",
        b"{}",
        b'"x"',
        b"[" * 10_000 + b"]" * 10_000,
        b"<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b"/etc/passwd",
        fetched.body[: len(fetched.body) // 2],
        fetched.body.decode("utf-8", "replace").encode("utf-16"),
    ]
    if b"<title>" in fetched.body:  # feeds and pages: a billion laughs in their own clothes
        bodies.append(billion_laughs(fetched.body, b"<title>"))
    for body in bodies:
        parse_bounded(adapter, dataclasses.replace(fetched, body=body))
    # A body naming a local file (here: this very fixture) is text, never a file to open (feedparser
    # opens bytes as a path: "/dev/zero" would never end).
    local = str((case.parent / json.loads(case.read_text())["body"]).resolve()).encode()
    result = parse_bounded(adapter, dataclasses.replace(fetched, body=local))
    assert result is None or not result.records, "a local path in the body was opened and read"


# Crashes fuzzing found, pinned: (case, text in the body, its replacement). Each must now end in a
# ParseResult or a ParseError.
# fmt: off
REGRESSIONS = [
    ("courtlistener/search_recap_synthetic", b'"next": "https://www.courtlistener.com', b'"next": "http://[x'),
    ("opensanctions/index_with_cursor", b'"https://data.opensanctions.org/artifacts/sanctions/20240528074703', b'"http://[x'),
    ("ua_wanted_persons/resource_show_synthetic", b'"url": "https://data.gov.ua/dataset', b'"url": "http://[x'),
    ("uk_court_lists/cath_summary-page", b'href="/court-of-appeal', b'href="http://[x/court-of-appeal'),
    ("uk_find_case_law/atom_feed_openapi_example", b'href="https://caselaw.nationalarchives.gov.uk/atom.xml?page=2"', b'href="http://[x/?page=2"'),
    ("be_juportal/feed_extradition_synthetic", b"<pubDate>Mon, 06 May 2024", b"<pubDate>Mon, 06 May 99999999999"),
    ("be_juportal/feed_extradition_synthetic", b'encoding="UTF-8"', b'encoding="\x80UTF-8"'),
    ("google_news/search_en-US_synthetic", b'encoding="UTF-8"', b'encoding="\x80UTF-8"'),
    ("rss/pacer_cadc", b"encoding='ISO-8859-1'", b"encoding='\x80ISO-8859-1'"),
]
# fmt: on


@pytest.mark.parametrize(("case", "old", "new"), REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_parse_regressions_found_by_fuzzing(case: str, old: bytes, new: bytes) -> None:
    name, stem = case.split("/")
    adapter, fetched = load_case(FIXTURES / name / f"{stem}.case.json")
    assert old in fetched.body, f"{case}: the fixture changed; update the regression"
    parse_bounded(adapter, dataclasses.replace(fetched, body=fetched.body.replace(old, new, 1)))


def _json_cases() -> list[Path]:
    cases = []
    for param in _cases():
        case = param.values[1]
        if case is not None:
            try:
                json.loads(load_case(case)[1].body)
            except ValueError:
                continue
            cases.append(case)
    return cases


def _with_surrogates(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _with_surrogates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_with_surrogates(v) for v in data]
    return data + "\ud800" if isinstance(data, str) and data else data


def _escaped(data: Any) -> bytes:
    return json.dumps(data).encode()  # "\\ud800": the JSON escape


def _raw(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")  # bytes ED A0 80


@pytest.mark.parametrize(
    "encode",
    [_escaped, _raw],
)
def test_json_text_with_lone_surrogates_is_refused(encode: Callable[[Any], bytes]) -> None:
    """Every string of every JSON case gets a lone surrogate: each parse must refuse or drop it."""
    leaks = []
    for case in _json_cases():
        adapter, fetched = load_case(case)
        body = encode(_with_surrogates(json.loads(fetched.body)))
        try:
            check_result(adapter.parse(dataclasses.replace(fetched, body=body)))
        except ParseError:
            continue
        except UnicodeEncodeError:
            leaks.append(case.parent.name)
    assert not leaks, f"text UTF-8 cannot encode reached the result of: {sorted(set(leaks))}"
