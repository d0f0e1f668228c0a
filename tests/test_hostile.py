"""Hostile servers through the real CLI: every bad response is a recorded source failure in bounded time.

One config, one round: a good source that must alert as usual beside one source per bad response (slow
drip, endless body, gzip bomb, XML bomb, XXE, redirects into loopback/link-local/private addresses and
out of HTTP, invalid UTF-8, a lone surrogate, 10,000-deep JSON, truncated XML, a login page instead of
the list, a billion-laughs feed, a feed body naming a local file). Round 1 serves every
source its real body, so each holds a matched record: a bad round that read as "the list is empty" would
alert `removed`. Round 2 turns them hostile: exit 1, every bad source failed with a clear message in
`watcher status`, the good source's change alerted, nothing removed, no local file content anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.hostile import HostileServer, billion_laughs, deep_json, gzip_bomb, xxe
from tests.support.servers import JsonReceiver, Route, SourceFarm
from tests.test_adapter_goldens import load_case

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = (FIXTURES / "html_list" / "cath_daily_cause_list.html").read_bytes()
RED_LIST = (FIXTURES / "json_list" / "interpol_red_list.json").read_bytes()
UN_LIST = (FIXTURES / "un_consolidated" / "consolidated_trimmed.xml").read_bytes()
FIRST_DECISION = b"ECLI:BE:CASS:2024:ARR.20240605.2F.7"
FEED = (
    (FIXTURES / "be_juportal" / "feed_extradition_synthetic.xml")
    .read_bytes()
    .replace(b"Personne reconnue", b"Robert McCalla, personne reconnue", 1)
)
TIMEOUT = 2.0  # [watcher] timeout: the bound of every request, body included
SECRET_FILE = Path("/etc/passwd")
LOGIN_PAGE = b"""<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/login"><h1>Please verify you are a human</h1>
<div class="g-recaptcha" data-sitekey="6Lc_aX0UAAAAABx"></div>
<input name="username"><input name="password" type="password"><button>Sign in</button></form>
</body></html>"""
HTML_OPTIONS = """
item = "table.govuk-table tbody tr"
key = "case_number"
name_fields = ["case_details"]
[source.options.fields]
case_number = "td:nth-child(4)"
case_details = "td:nth-child(5)"
time = "td:nth-child(3)"
"""
JSON_OPTIONS = """
items = "_embedded.notices"
key = "entity_id"
name_fields = ["forename+name"]
[source.options.fields]
entity_id = "entity_id"
name = "name"
forename = "forename"
"""


@dataclass(frozen=True)
class Hostile:
    """One source that turns hostile in round 2, and what its failure must say."""

    id: str
    adapter: str  # html_list, json_list, un_consolidated or be_juportal
    path: str  # on the farm, or on the hostile server when it starts with "hostile:"
    bad: Route | None  # the farm's round-2 answer (None: the hostile server's own behaviour)
    error: str  # a phrase the recorded failure must contain
    seconds: float  # the time bound of this source's round


def redirect(to: str) -> Route:
    return Route("", b"", status=302, headers={"Location": to})


def _cases(hostile_port: int, local_feed: Path) -> list[Hostile]:
    cap = "exceeds the cap"
    refused = "redirect into a private or local address refused"
    xml, js, html, rss = (
        "application/xml",
        "application/json",
        "text/html; charset=utf-8",
        "application/rss+xml",
    )
    slow = TIMEOUT + 1.5
    return [
        Hostile("drip", "html_list", "hostile:/drip", None, f"timed out after {TIMEOUT:g}s", slow),
        Hostile("drip-head", "html_list", "hostile:/drip-head", None, f"timed out after {TIMEOUT:g}s", slow),
        Hostile("endless", "html_list", "hostile:/endless", None, cap, slow),
        Hostile(
            "gzip-bomb",
            "html_list",
            "/gzip-bomb",
            Route("", gzip_bomb(), content_type=html, headers={"Content-Encoding": "gzip"}),
            "after decompression",
            slow,
        ),
        Hostile(
            "xml-bomb",
            "un_consolidated",
            "/xml-bomb",
            Route("", billion_laughs(UN_LIST, b"<FIRST_NAME>"), content_type=xml),
            "XML declares entities; refused",
            1.5,
        ),
        Hostile(
            "xxe",
            "un_consolidated",
            "/xxe",
            Route("", xxe(UN_LIST, b"<FIRST_NAME>"), content_type=xml),
            "XML declares entities; refused",
            1.5,
        ),
        Hostile(
            "xml-truncated",
            "un_consolidated",
            "/truncated",
            Route("", UN_LIST[: len(UN_LIST) * 2 // 3], content_type=xml),
            "not well-formed XML",
            1.5,
        ),
        Hostile(
            "feed-bomb",  # feedparser's expat expands nested entities: 30 s and 1 GB for a 1 MB feed
            "be_juportal",
            "/feed-bomb.rss",
            Route("", billion_laughs(FEED, b"<description>"), content_type=rss),
            "feed declares XML entities; refused",
            1.5,
        ),
        Hostile(
            "feed-local-path",  # feedparser opens a bytes "body" as a local file name ("/dev/zero")
            "be_juportal",
            "/feed-path.rss",
            Route("", str(local_feed).encode(), content_type=rss),
            "not an RSS feed",
            1.5,
        ),
        Hostile(
            "json-bad-utf8",
            "json_list",
            "/bad-utf8.json",
            Route("", RED_LIST.replace(b'"RYBA"', b'"RY\xff\xfeBA"'), content_type=js),
            "body is not JSON",
            1.5,
        ),
        Hostile(
            "json-lone-surrogate",  # valid JSON, but "\\ud800" is no character: UTF-8 cannot store it
            "json_list",
            "/surrogate.json",
            Route("", RED_LIST.replace(b'"RYBA"', b'"RYBA\\ud800"'), content_type=js),
            "surrogate",
            1.5,
        ),
        Hostile(
            "json-deep", "json_list", "/deep.json", Route("", deep_json(), content_type=js), "not JSON", 1.5
        ),
        Hostile("login-page", "html_list", "/login", Route("", LOGIN_PAGE), "parsed 0 records", 1.5),
        Hostile(
            "to-loopback-port",  # the farm is on 127.0.0.1 too: a redirect to another port still is refused
            "html_list",
            "/to-loopback",
            redirect(f"http://127.0.0.1:{hostile_port}/good"),
            refused,
            1.5,
        ),
        Hostile(
            "to-metadata",
            "html_list",
            "/to-metadata",
            redirect("http://169.254.169.254/latest/meta-data/"),
            refused,
            1.5,
        ),
        Hostile(
            "to-localhost",
            "html_list",
            "/to-localhost",
            redirect(f"http://localhost:{hostile_port}/good"),
            refused,
            1.5,
        ),
        Hostile(
            "to-decimal-ip",
            "html_list",
            "/to-decimal",
            redirect(f"http://2130706433:{hostile_port}/good"),
            refused,
            1.5,
        ),
        Hostile("to-private", "html_list", "/to-private", redirect("http://10.0.0.8/admin"), refused, 1.5),
        Hostile(
            "to-file", "html_list", "/to-file", redirect("file:///etc/passwd"), "non-HTTP URL refused", 1.5
        ),
    ]


GOOD_BODY = {"html_list": PAGE, "json_list": RED_LIST, "un_consolidated": UN_LIST, "be_juportal": FEED}
CONTENT_TYPE = {
    "html_list": "text/html; charset=utf-8",
    "json_list": "application/json",
    "un_consolidated": "application/xml",
    "be_juportal": "application/rss+xml",
}
OPTIONS = {"html_list": HTML_OPTIONS, "json_list": JSON_OPTIONS, "un_consolidated": "", "be_juportal": ""}


def config_text(farm: SourceFarm, hostile_base: str, cases: list[Hostile]) -> str:
    sources = [("good", "html_list", f"{farm.base}/good")]
    for case in cases:
        base = hostile_base if case.path.startswith("hostile:") else farm.base
        sources.append((case.id, case.adapter, base + case.path.removeprefix("hostile:")))
    text = f"""
[watcher]
database = "sqlite:///watcher.db"
data_dir = "data"
timeout = {TIMEOUT}
max_body_mb = 5
retries = 0
backoff = 0

[[person]]
id = "mccalla"
name = "Robert McCalla"

[[person]]
id = "ryba"
name = "Piotr Robert Ryba"

[[person]]
id = "badege"
name = "Eric Badege"

[[channel]]
id = "ngo-team"
url_env = "TEST_NGO_URL"

[[subscription]]
channel = "ngo-team"
"""
    for source_id, adapter, url in sources:
        text += f'\n[[source]]\nid = "{source_id}"\nadapter = "{adapter}"\nexpect_min_records = 1\n'
        text += f'[source.options]\nurl = "{url}"\n{OPTIONS[adapter]}'
    return text


def moved(page: bytes) -> bytes:
    """McCalla's hearing moves from 10:30am to 2:15pm: the good source's change in round 2."""
    row = (
        b'<td class="govuk-table__cell">10:30am</td>\n            <td class="govuk-table__cell">202503277 A5'
    )
    assert row in page
    return page.replace(row, row.replace(b"10:30am", b"2:15pm"))


def rows(printed: str, first: str) -> dict[str, dict[str, str]]:
    """The rich table whose first header is `first`, as {first cell: {header: cell}}; wrapped cells joined."""
    out: dict[str, dict[str, str]] = {}
    headers: list[str] = []
    current: list[str] | None = None
    for line in printed.splitlines():
        cells = [c.strip() for c in line.strip()[1:-1].split(line.strip()[:1])] if line.strip() else []
        if line.startswith("┃"):
            headers = cells if cells[0] == first else []
        elif line.startswith("│") and headers:
            if cells[0]:
                current = cells
                out[cells[0]] = {}
            elif current is not None:
                current[:] = [f"{a} {b}".strip() for a, b in zip(current, cells, strict=True)]
            if current is not None:
                out[current[0]] = dict(zip(headers, current, strict=True))
        elif not line.startswith(("│", "┡", "┏", "└", "├")):
            headers = []
    return out


def squash(text: str) -> str:
    """Whitespace-free, so text wrapped by the table (even inside a URL) still compares."""
    return "".join(text.split())


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    h = HostileServer(interval=0.5)
    yield h
    h.stop()


def test_hostile_responses_fail_their_source_only(
    tmp_path: Path, farm: SourceFarm, hostile: HostileServer, receiver: JsonReceiver
) -> None:
    # A feed on this machine, naming a new decision: read, it would alert from a source that failed.
    local_feed = tmp_path / "local-feed.xml"
    local_feed.write_bytes(FEED.replace(FIRST_DECISION, FIRST_DECISION + b"9"))
    cases = _cases(hostile.port, local_feed)
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(farm, hostile.base, cases), encoding="utf-8")
    env = {"TEST_NGO_URL": receiver.url}

    # Round 1: every source publishes its real list, so each holds a record about a watched person.
    hostile.calm = PAGE
    farm.set_routes(
        [Route("/good", PAGE)]
        + [
            Route(c.path, GOOD_BODY[c.adapter], content_type=CONTENT_TYPE[c.adapter])
            for c in cases
            if not c.path.startswith("hostile:")
        ]
    )
    first = run_cli("check", "--config", str(config), env=env)
    assert first.code == 0, first.stdout
    before = len(receiver.messages)
    assert before >= len(cases) + 1, "every source's round 1 must alert a watched person"

    # Round 2: the good source changes; every other source turns hostile.
    hostile.calm = None
    farm.set_routes(
        [Route("/good", moved(PAGE))]
        + [
            Route(c.path, c.bad.body, c.bad.content_type, c.bad.status, headers=c.bad.headers)
            for c in cases
            if c.bad
        ]
    )
    started = time.monotonic()
    second = run_cli("check", "--config", str(config), env=env)
    elapsed = time.monotonic() - started
    assert second.code == 1, second.stdout
    assert elapsed < TIMEOUT + 4, f"the round took {elapsed:.1f}s; every request is bounded by {TIMEOUT}s"

    ran = rows(second.stdout, "source")
    assert ran["good"]["status"] == "ok" and ran["good"]["alerts"] == "1", ran["good"]
    assert float(ran["good"]["seconds"]) < TIMEOUT, "the good source must not wait for the hostile ones"
    for case in cases:
        row = ran[case.id]
        assert row["status"] == "failed", (case.id, row)
        assert squash(case.error) in squash(row["error"]), (case.id, row["error"])
        assert float(row["seconds"]) < case.seconds, (
            f"{case.id} took {row['seconds']}s, bound {case.seconds}s"
        )

    # The good source alerted its change; no bad source alerted anything, least of all a removal.
    new = [m["title"] for m in receiver.messages[before:]]
    assert len(new) == 1 and "Changed: Robert McCalla in good" in new[0], new
    log = run_cli("alerts", "--config", str(config), "--json", "--limit", "500", env=env)
    alerts = [json.loads(line) for line in log.stdout.splitlines() if line.strip()]
    assert not [a for a in alerts if a["event"] == "removed"]
    assert {a["source"] for a in alerts if a["event"] == "changed"} == {"good"}

    # `watcher status` shows every failure with its message, and the good source healthy.
    status = run_cli("status", "--config", str(config), env=env)
    assert status.code == 1
    table = rows(status.stdout, "source")
    assert table["good"]["failures"] == "0", table["good"]
    for case in cases:
        row = table[case.id]
        assert row["failures"] == "1", (case.id, row)
        assert squash(case.error) in squash(row["last error"]), (case.id, row["last error"])

    # The hostile server saw the requests, and the redirect target never did: refused before connecting.
    assert {"/drip", "/drip-head", "/endless"} <= set(hostile.hits)
    assert hostile.hits.count("/good") == 0

    # XXE: the local file's content is nowhere: not in the database, the evidence store, or any alert.
    secret_lines = [line for line in SECRET_FILE.read_text().splitlines() if len(line) > 12][:5]
    assert secret_lines
    stored = b"".join(
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p not in (config, local_feed)
    )
    sent = json.dumps(receiver.messages)
    for line in secret_lines:
        assert line.encode() not in stored and line not in sent


def test_invalid_utf8_in_html_is_read_as_browsers_do(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """HTML is forgiving by design: a stray invalid byte costs one character, never the source."""
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(farm, "", []), encoding="utf-8")
    assert b"RCJ - Court 5" in PAGE
    farm.set_routes([Route("/good", PAGE.replace(b"RCJ - Court 5", b"RCJ \xff\xfe Court 5", 1))])
    result = run_cli("check", "--config", str(config), env={"TEST_NGO_URL": receiver.url})
    assert result.code == 0, result.stdout
    assert [m["title"] for m in receiver.messages if "Robert McCalla" in m["title"]]


# Entity declarations hidden from a byte scan: past the first 64 KiB (a long comment before the DOCTYPE)
# or in UTF-16. They must be refused, and even where a parser accepted them nothing may leak or expand.
PADDED = {
    "padded": xxe(UN_LIST, b"<FIRST_NAME>", pad=70_000),
    "utf-16": xxe(UN_LIST, b"<FIRST_NAME>")
    .decode()
    .replace('encoding="UTF-8"', 'encoding="UTF-16"')
    .encode("utf-16"),
    "padded-bomb": billion_laughs(
        UN_LIST.replace(b"?>", b"?><!--" + b"x" * 70_000 + b"-->", 1), b"<FIRST_NAME>"
    ),
}


@pytest.mark.parametrize("variant", PADDED)
def test_hidden_entity_declarations_leak_nothing(variant: str) -> None:
    adapter, fetched = load_case(FIXTURES / "un_consolidated" / "consolidated_trimmed.case.json")
    body = PADDED[variant]
    try:
        result = adapter.parse(dataclasses.replace(fetched, body=body))
    except Exception as exc:
        assert type(exc).__name__ == "ParseError", exc
        return
    dump = repr(result)
    assert not any(line in dump for line in SECRET_FILE.read_text().splitlines() if len(line) > 12)
    assert "lollol" not in dump


@pytest.mark.parametrize("variant", ["padded", "utf-16"])
def test_hidden_entity_declarations_are_refused(variant: str) -> None:
    adapter, fetched = load_case(FIXTURES / "un_consolidated" / "consolidated_trimmed.case.json")
    with pytest.raises(Exception, match="entities; refused"):
        adapter.parse(dataclasses.replace(fetched, body=PADDED[variant]))


def test_unstorable_text_fails_only_its_source(
    tmp_path: Path, farm: SourceFarm, receiver: JsonReceiver
) -> None:
    """A lone surrogate ("\\ud800") is valid JSON but no UTF-8, so the database cannot store it. Rounds
    that finish together commit in one transaction: the bad one must fail alone, not take the good along."""
    bad = next(c for c in _cases(0, tmp_path) if c.id == "json-lone-surrogate")
    assert bad.bad is not None
    config = tmp_path / "watcher.toml"
    config.write_text(config_text(farm, "", [bad]), encoding="utf-8")
    farm.set_routes([Route("/good", PAGE), Route(bad.path, bad.bad.body, content_type=bad.bad.content_type)])
    result = run_cli("check", "--config", str(config), env={"TEST_NGO_URL": receiver.url})
    ran = rows(result.stdout, "source")
    assert ran["json-lone-surrogate"]["status"] == "failed"
    assert ran["good"]["status"] == "ok", ran["good"]
    assert [m["title"] for m in receiver.messages if "Robert McCalla in good" in m["title"]]
